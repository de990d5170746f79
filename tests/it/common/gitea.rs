//! A Gitea emulator: one HTTP server on 127.0.0.1 that keeps state and answers only as Gitea
//! answers (`../shared/gitea-facts.md`; each behaviour names the Gitea file it copies). Its
//! repositories are real bare repositories, served for git by `git http-backend`
//! ([`HttpServer`]); its Actions runner runs the update job's step as the workflow writes
//! it, in the shell act gives it, with the real `gitops-update` on the PATH and the
//! workflow's inputs as its environment, as the GitOps workflow does.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use gitops_update::json::json_str;
use jaq_json::Val;

use super::git::{git, git_out, GitAccess, HttpServer, Remote, TOKEN};

mod contents;
use super::permissions::{self, Access};

/// The server's public ROOT_URL. It is not where the API listens, and nothing listens
/// there: a link built from it works for people, and a client that follows it breaks.
pub const APP_URL: &str = "http://gitea.example.test";

/// How the emulated server behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// What `GET /version` answers: `1.23.8`, `1.24.7`, `1.25.4`, `1.26.0+dev-1-g0`, or
    /// Forgejo's `11.0.1+gitea-1.22.0`.
    pub version: &'static str,
    /// How long a run waits before a runner takes it.
    pub pickup: Duration,
    /// How long a job takes to start once taken (pulling the image, checking out).
    pub startup: Duration,
    pub runners: usize,
    /// The base branch requires checks that have not passed yet, so an auto-merge waits.
    pub checks_pending: bool,
    /// How many merge requests of a pull request Gitea answers 405 "Please try again later"
    /// after it is opened or its head moves, while it checks mergeability: the pull request
    /// is `PullRequestStatusChecking` until the check queue reaches it (services/pull/check.go,
    /// `CheckPullMergeable` → `ErrNotMergeableState`; routers/api/v1/repo/pull.go).
    pub merge_checking_rounds: u32,
    /// More environment for the receiver's update step, e.g. `GITOPS_PULL_REQUEST=true` for
    /// a receiver that lands through pull requests.
    pub updater_env: Vec<(&'static str, &'static str)>,
    /// The token's account: its emails, SSH and GPG keys.
    pub account: Account,
    /// Branch protection rules, on every repository.
    pub protected: Vec<Protection>,
    /// A test's hand on the runner: a taken job stays `running` and starts its step only
    /// once [`Gitea::release`] lets it, so a test can act while a run runs, without timing.
    pub hold_jobs: bool,
    /// The server signs the commits of the contents API (`[repository.signing]
    /// CRUD_ACTIONS = always` with an instance key): `verification` answers verified. The
    /// emulator does not really sign; only the answer says so.
    pub signs: bool,
    /// `[api] DEFAULT_MAX_BLOB_SIZE` (modules/setting/api.go, default 10 MiB): a larger
    /// blob's content is left out of a contents answer.
    pub max_blob_size: u64,
}

/// A branch protection rule (models/git/protected_branch.go `ProtectedBranch`): pushes are
/// enabled (`CanPush`), for everyone with code write, or only for the whitelisted users
/// (`EnableWhitelist`, `WhitelistUserIDs`).
#[derive(Clone, Debug)]
pub struct Protection {
    pub branch: &'static str,
    /// `None`: anyone with code write may push; `Some(users)`: only these users (by name;
    /// [`PUSHER`] is the user of [`TOKEN`]).
    pub push_whitelist: Option<Vec<&'static str>>,
}

/// What `/user/emails`, `/user/keys` and `/user/gpg_keys` list for the token's user.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// (email, activated)
    pub emails: Vec<(String, bool)>,
    /// `SHA256:...`, as models/asymkey/ssh_key_fingerprint.go computes it.
    pub ssh_fingerprints: Vec<String>,
    /// (key ID, subkey IDs), 16 upper-case hex digits each (KeyIdString).
    pub gpg_keys: Vec<(String, Vec<String>)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            version: "1.25.4",
            pickup: Duration::from_millis(50),
            startup: Duration::from_millis(100),
            runners: 1,
            checks_pending: false,
            merge_checking_rounds: 0,
            updater_env: Vec::new(),
            account: Account::default(),
            protected: Vec::new(),
            hold_jobs: false,
            signs: false,
            max_blob_size: 10_485_760,
        }
    }
}

/// One request the emulator answered.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: String,
    pub status: u16,
}

/// A workflow run, as the tests may inspect it.
#[derive(Debug, Clone)]
pub struct RunView {
    /// The instance-wide run id.
    pub id: u64,
    /// waiting, blocked, running, success, failure, cancelled (models/actions/status.go).
    pub status: &'static str,
    pub title: String,
    /// The updater's exit code and stderr, once it ran to its end.
    pub result: Option<(i32, String)>,
    /// The step outputs the updater wrote.
    pub outputs: String,
    /// The inputs the run got: those its workflow declares, defaults filled.
    pub inputs: BTreeMap<String, String>,
    /// The run's job token (`secrets.GITEA_TOKEN`), which the updater gets.
    pub token: String,
    /// The evaluated workflow-level concurrency group and cancel-in-progress (1.26+).
    pub concurrency: Option<(String, bool)>,
}

#[derive(Debug, Clone)]
pub struct StatusView {
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
}

struct Repo {
    bare: PathBuf,
    git_url: String,
    default_branch: String,
}

struct Run {
    id: u64,
    index: u64,
    repo: String,
    workflow: String,
    git_ref: String,
    inputs: BTreeMap<String, String>,
    title: String,
    status: &'static str,
    created: Instant,
    task: Option<u64>,
    kill: Arc<AtomicBool>,
    result: Option<(i32, String)>,
    outputs: String,
    /// The workflow-level `concurrency:`, evaluated: group and cancel-in-progress
    /// (models/actions/run.go `ConcurrencyGroup`, `ConcurrencyCancel`; 1.26+).
    concurrency: Option<(String, bool)>,
    /// The job token (models/actions/task.go `Token`): one per run here, as the emulated
    /// workflow has one job.
    token: String,
    /// What the job token may do on 1.26+, from the job's `permissions:`, else the
    /// workflow's (services/actions/permission_parser.go).
    access: BTreeMap<&'static str, Access>,
    /// Whether the step may start (`Options::hold_jobs`).
    go: Arc<AtomicBool>,
    /// The update job's step, read from the workflow at dispatch.
    step: Result<StepScript, String>,
}

struct TaskRec {
    id: u64,
    run: u64,
    created_at: String,
}

struct StatusRec {
    id: u64,
    repo: String,
    sha: String,
    state: String,
    context: String,
    description: String,
    target_url: String,
    created_at: String,
}

struct State {
    opts: Options,
    api_url: String,
    repos: BTreeMap<String, Repo>,
    /// Renamed repositories: old full name → new.
    moved: BTreeMap<String, String>,
    runs: Vec<Run>,
    tasks: Vec<TaskRec>,
    statuses: Vec<StatusRec>,
    log: Vec<Req>,
    next_task: u64,
    next_status: u64,
    /// `Gitea::hold_commit_lists`.
    hold_commits: bool,
    pulls: Vec<PullRec>,
    /// `Gitea::race_next_change`.
    race: Option<Box<dyn FnOnce() + Send>>,
    /// A change of files `route` checked, to commit once the lock is let go.
    pending: Option<contents::Pending>,
}

/// A pull request (models/issues/pull.go); its number is the repository's next issue index.
#[derive(Debug, Clone)]
pub struct PullRec {
    pub repo: String,
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    /// open, closed
    pub state: &'static str,
    pub merged: bool,
    /// The merge style when an auto-merge is scheduled (models/pull/automerge.go).
    pub auto_merge: Option<String>,
    /// Opened by an AGit push (PullRequestFlowAGit): its head is refs/pull/N/head, not a
    /// branch, and `head` is `<pusher>/<topic>`.
    pub agit: bool,
    /// The merge commit, once merged (`merge_commit_sha`).
    pub merge_commit: Option<String>,
    /// The head whose mergeability is being checked, and the merge requests still answered
    /// 405 for it (`Options::merge_checking_rounds`).
    pub checking: Option<(String, u32)>,
}

impl PullRec {
    /// Where the head commit is: the branch, or for AGit the pull request's own ref
    /// (models/issues/pull.go, GetGitHeadRefName).
    fn head_ref(&self) -> String {
        if self.agit {
            format!("refs/pull/{}/head", self.number)
        } else {
            format!("refs/heads/{}", self.head)
        }
    }
}

/// The user the emulator's token belongs to: the AGit pusher.
pub const PUSHER: &str = "deploy-bot";

pub struct Gitea {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    _git: HttpServer,
    _root: tempfile::TempDir,
}

impl Gitea {
    /// Starts the emulator with these repositories, each under its `owner/name`.
    pub fn start(opts: Options, repos: &[(&str, &Remote)]) -> Gitea {
        let root = tempfile::tempdir().unwrap();
        let mut map = BTreeMap::new();
        for (name, remote) in repos {
            let link = root.path().join(format!("{name}.git"));
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(remote.bare(), &link).unwrap();
            map.insert(
                name.to_string(),
                Repo {
                    bare: remote.bare(),
                    git_url: String::new(),
                    default_branch: "main".into(),
                },
            );
        }
        let git = HttpServer::start(root.path());
        for (name, repo) in map.iter_mut() {
            repo.git_url = git.url(&format!("{name}.git"));
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for (name, remote) in repos {
            agit_hook(name, remote, port);
            pre_receive_hook(name, remote, port);
        }
        let state = Arc::new(Mutex::new(State {
            opts: opts.clone(),
            api_url: format!("http://127.0.0.1:{port}/api/v1"),
            repos: map,
            moved: BTreeMap::new(),
            runs: Vec::new(),
            tasks: Vec::new(),
            statuses: Vec::new(),
            log: Vec::new(),
            next_task: 100,
            next_status: 1,
            hold_commits: false,
            pulls: Vec::new(),
            race: None,
            pending: None,
        }));
        {
            let state = state.clone();
            git.authorize(Arc::new(move |a: &GitAccess| git_access(&state, a)));
        }
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = serve(conn, &state);
                    });
                }
            });
        }
        for _ in 0..opts.runners {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || runner(&state, &stop));
        }
        Gitea {
            port,
            state,
            stop,
            _git: git,
            _root: root,
        }
    }

    /// A reviewer merges pull request `n` of `repo` (the merge button: MergePullRequest).
    pub fn merge(&self, repo: &str, n: u64) {
        let mut s = self.state.lock().unwrap();
        let a = merge_pull(&mut s, repo, &n.to_string(), "{\"Do\":\"merge\"}");
        assert_eq!(a.status, 200, "{}", a.body);
    }

    /// A reviewer closes pull request `n` of `repo` without merging it.
    pub fn close(&self, repo: &str, n: u64) {
        let mut s = self.state.lock().unwrap();
        let p = s
            .pulls
            .iter_mut()
            .find(|p| p.repo == repo && p.number == n)
            .expect("the pull request");
        p.state = "closed";
    }

    /// `GITEA_API_URL` as a runner sees it: the address the API listens on.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.port)
    }

    /// Where git reaches a repository (`git http-backend`, the token required).
    pub fn git_url(&self, repo: &str) -> String {
        self.state.lock().unwrap().repos[repo].git_url.clone()
    }

    /// From now on, `old` answers with a redirect to `new` (a renamed repository).
    pub fn rename(&self, old: &str, new: &str) {
        let mut s = self.state.lock().unwrap();
        let repo = s.repos.remove(old).expect("a repository to rename");
        s.repos.insert(new.to_string(), repo);
        s.moved.insert(old.to_string(), new.to_string());
    }

    pub fn requests(&self) -> Vec<Req> {
        self.state.lock().unwrap().log.clone()
    }

    /// The dispatches Gitea accepted.
    pub fn dispatches(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/dispatches") && r.status < 300)
            .count()
    }

    pub fn runs(&self) -> Vec<RunView> {
        let s = self.state.lock().unwrap();
        s.runs
            .iter()
            .map(|r| RunView {
                id: r.id,
                status: r.status,
                title: r.title.clone(),
                result: r.result.clone(),
                outputs: r.outputs.clone(),
                inputs: r.inputs.clone(),
                token: r.token.clone(),
                concurrency: r.concurrency.clone(),
            })
            .collect()
    }

    pub fn pulls(&self, repo: &str) -> Vec<PullRec> {
        let s = self.state.lock().unwrap();
        s.pulls.iter().filter(|p| p.repo == repo).cloned().collect()
    }

    pub fn statuses(&self, repo: &str) -> Vec<StatusView> {
        let s = self.state.lock().unwrap();
        s.statuses
            .iter()
            .filter(|st| st.repo == repo)
            .map(|st| StatusView {
                sha: st.sha.clone(),
                state: st.state.clone(),
                context: st.context.clone(),
                description: st.description.clone(),
                target_url: st.target_url.clone(),
            })
            .collect()
    }

    /// While on, a request listing a branch's commits is answered only once it is off again:
    /// what a consumer sees on its next look is then decided by the test, not by timing.
    pub fn hold_commit_lists(&self, on: bool) {
        self.state.lock().unwrap().hold_commits = on;
    }

    /// The next `POST /contents` runs `racer` after its checks and before it moves the
    /// branch: a writer that lands in that window makes it lose the race, as on Gitea.
    pub fn race_next_change(&self, racer: impl FnOnce() + Send + 'static) {
        self.state.lock().unwrap().race = Some(Box::new(racer));
    }

    /// Lets held run `id` (`Options::hold_jobs`) start its step.
    pub fn release(&self, id: u64) {
        if let Some(r) = self.state.lock().unwrap().runs.iter().find(|r| r.id == id) {
            r.go.store(true, Ordering::SeqCst);
        }
    }

    /// Waits until run `id` has this status, and returns the run.
    #[track_caller]
    pub fn wait_for(&self, id: u64, status: &str, limit: Duration) -> RunView {
        let start = Instant::now();
        loop {
            if let Some(r) = self.runs().into_iter().find(|r| r.id == id) {
                if r.status == status {
                    return r;
                }
            }
            assert!(
                start.elapsed() < limit,
                "run {id} not {status} after {limit:?}: {:#?}",
                self.runs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until no run is waiting, blocked or running, so that a test's last updater is
    /// done.
    pub fn settle(&self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            let busy = self
                .state
                .lock()
                .unwrap()
                .runs
                .iter()
                .any(|r| matches!(r.status, "waiting" | "blocked" | "running"));
            if !busy {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("runs still active after {limit:?}: {:#?}", self.runs());
    }
}

impl Drop for Gitea {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for r in self.state.lock().unwrap().runs.iter() {
            r.kill.store(true, Ordering::SeqCst);
        }
    }
}

/// A timestamp as Gitea writes it (`2026-12-01T21:06:28Z`).
fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn field<'v>(v: &'v Val, k: &str) -> Option<&'v Val> {
    match v {
        Val::Obj(o) => o.get(&Val::from(k.to_string())),
        _ => None,
    }
}

fn text(v: &Val) -> Option<String> {
    match v {
        Val::TStr(s) | Val::BStr(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Answer {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

fn json(status: u16, body: impl Into<String>) -> Answer {
    Answer {
        status,
        body: body.into(),
        headers: Vec::new(),
    }
}

/// Gitea's error body (services/context/api.go, `APIError`).
fn error(status: u16, message: &str) -> Answer {
    json(
        status,
        format!(
            "{{\"message\":{},\"url\":\"{APP_URL}/api/swagger\"}}",
            json_str(message)
        ),
    )
}

fn serve(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let Some((method, target, headers)) = super::git::read_head(&mut reader)? else {
        return Ok(());
    };
    let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let n: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; n];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let authorization = header("authorization");
    // `Gitea::hold_commit_lists`: a look at the commits waits until the test lets it go.
    while method == "GET" && path.ends_with("/commits") && state.lock().unwrap().hold_commits {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (answer, pending, api_url) = {
        let mut s = state.lock().unwrap();
        let a = route(
            &mut s,
            &method,
            path,
            query,
            authorization.as_deref(),
            &body,
        );
        (a, s.pending.take(), s.api_url.clone())
    };
    // A change of files commits without the lock, so that two can race as on Gitea.
    let answer = match pending {
        Some(p) => contents::commit(p, &api_url),
        None => answer,
    };
    state.lock().unwrap().log.push(Req {
        method: method.clone(),
        path: path.to_string(),
        query: query.to_string(),
        authorization: authorization.clone(),
        body: body.clone(),
        status: answer.status,
    });
    let reason = match answer.status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        _ => "X",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", answer.status);
    if answer.status != 204 {
        head.push_str("Content-Type: application/json;charset=utf-8\r\n");
    }
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        answer.body.len()
    ));
    conn.write_all(head.as_bytes())?;
    conn.write_all(answer.body.as_bytes())?;
    conn.flush()
}

fn params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// utils.GetListOptions: `limit` defaults to setting.API.DefaultPagingNum (30) and is capped
/// at setting.API.MaxResponseItems (50); `page` is 1-based.
fn paging(p: &BTreeMap<String, String>) -> (usize, usize) {
    let page = p
        .get("page")
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let limit = p
        .get("limit")
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(30)
        .min(50);
    (page, limit)
}

/// Who a token is: a user of the instance (any token that is not a job token, as the
/// emulator has one user), or the Actions user with a run's job token.
enum Who {
    User,
    /// The run, by its index in `State::runs`.
    Job(usize),
    /// The job token of a run that is not running: Gitea finds a job token only while its
    /// task runs (models/actions/task.go `GetRunningTaskByToken`), so it authenticates no one.
    Expired,
}

fn who(s: &State, token: &str) -> Who {
    match s.runs.iter().position(|r| r.token == token) {
        Some(i) if s.runs[i].status == "running" => Who::Job(i),
        Some(_) => Who::Expired,
        None => Who::User,
    }
}

/// What a run's job token may do in repository `full`. Its own repository: on Gitea 1.26+
/// what its `permissions:` grant (models/perm/access/repo_permission.go
/// `GetActionsUserRepoPermission`, services/actions/permission_parser.go); before 1.26, and
/// on Forgejo (whose job token has no `permissions:`, Forgejo routers/api/v1/api.go), write.
/// Another repository: nothing, as ours are private (on 1.26+ at most read, and only when
/// public or listed by its owner).
fn job_access(s: &State, run: &Run, full: &str) -> BTreeMap<&'static str, Access> {
    if run.repo != full {
        permissions::all(Access::None)
    } else if gitea_at_least(s, 26) {
        run.access.clone()
    } else {
        permissions::all(Access::Write)
    }
}

/// The git HTTP server asks: may this token fetch from (or start a push to) this
/// repository? routers/web/repo/githttp.go (httpBase): a token is required; with
/// proc-receive (git 2.29+) even a push needs only code read here, its write access is
/// checked by the pre-receive hook; without code read, 404 "Repository not found". A push
/// carries its pusher to the hooks (modules/repository/env.go `DoerPushingEnvironment`:
/// GITEA_PUSHER_ID, GITEA_PUSHER_NAME, and for the Actions user GITEA_ACTIONS_TASK_ID).
fn git_access(state: &Mutex<State>, a: &GitAccess) -> Result<Vec<(String, String)>, u16> {
    let Ok(s) = state.lock() else {
        return Err(500);
    };
    let Some(token) = a.token.filter(|t| !t.is_empty()) else {
        return Err(401);
    };
    let full = a.repo.trim_end_matches(".git");
    let env = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<Vec<_>>()
    };
    match who(&s, token) {
        Who::User if token == TOKEN => Ok(env(&[
            ("GITEA_PUSHER_ID", "1".into()),
            ("GITEA_PUSHER_NAME", PUSHER.into()),
        ])),
        Who::User | Who::Expired => Err(401),
        Who::Job(i) => {
            let run = &s.runs[i];
            if job_access(&s, run, full)["code"] < Access::Read {
                return Err(404);
            }
            Ok(env(&[
                // models/user/user_system.go: ActionsUserID = -2, "gitea-actions".
                ("GITEA_PUSHER_ID", "-2".into()),
                ("GITEA_PUSHER_NAME", "gitea-actions".into()),
                ("GITEA_ACTIONS_TASK_ID", run.task.unwrap_or(0).to_string()),
            ]))
        }
    }
}

/// Gitea's pre-receive hook (cmd/hook.go `runHookPreReceive`) sends the pushed refs and the
/// pusher to its internal API (routers/private/hook_pre_receive.go) and, when that refuses,
/// fails with its message (cmd/serv.go `fail`: `error:` lines on stderr, which git sends to
/// the client as sideband text; the ref's status is "pre-receive hook declined"). Here a
/// bash hook does the same over /dev/tcp. A push that did not come through the HTTP server
/// (a test's own writer, over file://) has no pusher and passes, as Gitea's internal pushes do.
fn pre_receive_hook(name: &str, remote: &Remote, port: u16) {
    remote.hook(
        "pre-receive",
        &format!(
            r#"#!/bin/bash
[ -z "$GITEA_PUSHER_ID" ] && exit 0
body="pusher $GITEA_PUSHER_ID"$'\n'"task ${{GITEA_ACTIONS_TASK_ID:-0}}"$'\n'
while read -r old new ref; do body+="ref $old $new $ref"$'\n'; done
len=$(printf '%s' "$body" | wc -c)
exec 3<>/dev/tcp/127.0.0.1/{port}
printf 'POST /api/internal/hook/pre-receive/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$len" "$body" >&3
resp=$(cat <&3)
case "$resp" in "HTTP/1.1 200"*) exit 0 ;; esac
echo ""
printf 'error:\nerror: %s\nerror:\n' "${{resp#*$'\r\n\r\n'}}" >&2
exit 1
"#
        ),
    );
}

/// routers/private/hook_pre_receive.go, HookPreReceive, for the pusher the hook names: the
/// message a refusal shows (its `UserMsg`; a 500 with only `Err` shows as cmd/hook.go
/// prints it, "Internal Server Error (no message for end users)", from
/// modules/private/request.go).
fn pre_receive(s: &State, full: &str, body: &str) -> Answer {
    let mut pusher = "";
    let mut task = 0u64;
    let mut refs = Vec::new();
    for line in body.lines() {
        if let Some(p) = line.strip_prefix("pusher ") {
            pusher = p;
        } else if let Some(t) = line.strip_prefix("task ") {
            task = t.parse().unwrap_or(0);
        } else if let Some(r) = line.strip_prefix("ref ") {
            if let Some(name) = r.split(' ').nth(2) {
                refs.push(name.to_string());
            }
        }
    }
    let refuse = |status: u16, msg: &str| Answer {
        status,
        body: msg.to_string(),
        headers: Vec::new(),
    };
    let job = (pusher == "-2").then(|| s.runs.iter().find(|r| r.task == Some(task)));
    let access = match job {
        // loadPusherAndPermission: the Actions user with its task's permission
        // (GetActionsUserRepoPermission); a task that is not found is a 500.
        Some(None) => return refuse(500, "Internal Server Error (no message for end users)"),
        Some(Some(run)) => job_access(s, run, full),
        None => permissions::all(Access::Write),
    };
    for name in refs {
        if name.starts_with("refs/for/") {
            // preReceiveFor: CanCreatePullRequest, pull requests read.
            if access["pull_requests"] < Access::Read {
                return refuse(403, "User permission denied for creating pull-request.");
            }
            continue;
        }
        // preReceiveBranch and preReceiveTag start with assertCanWriteRef: code write.
        if access["code"] < Access::Write {
            return refuse(403, "User permission denied for writing.");
        }
        let Some(branch) = name.strip_prefix("refs/heads/") else {
            continue;
        };
        let Some(rule) = s.opts.protected.iter().find(|p| p.branch == branch) else {
            continue;
        };
        let not_allowed = format!("Not allowed to push to protected branch {branch}");
        if job.is_some() {
            // Up to 1.26 (and 1.27.0-rc0) step 5 looks the pusher up with GetUserByID, which
            // has no row for the Actions user (ID -2): a 500 with only `Err`. From 1.27.0
            // (go-gitea/gitea#38284, backport #38293 to release/v1.27) the Actions user is
            // judged by its token's permission: CanUserPush, so it may push when the rule has
            // no whitelist (code write was asserted above), and never with one, as it cannot
            // be whitelisted.
            if !protected_push_fixed(s) {
                return refuse(500, "Internal Server Error (no message for end users)");
            }
            if rule.push_whitelist.is_some() {
                return refuse(403, &not_allowed);
            }
        } else if let Some(users) = &rule.push_whitelist {
            // models/git/protected_branch.go CanUserPush: a whitelisted user.
            if !users.contains(&PUSHER) {
                return refuse(403, &not_allowed);
            }
        }
    }
    json(200, "")
}

/// Whether a job token may push to a protected branch without a whitelist: Gitea 1.27.0 and
/// later (not 1.27.0-rc0, which predates go-gitea/gitea#38284). Forgejo: not known to us; it
/// keeps the pre-1.27 lookup here.
fn protected_push_fixed(s: &State) -> bool {
    gitea_at_least(s, 27) && !s.opts.version.contains("-rc")
}

fn route(
    s: &mut State,
    method: &str,
    path: &str,
    query: &str,
    authorization: Option<&str>,
    body: &str,
) -> Answer {
    if let Some(full) = path.strip_prefix("/api/internal/hook/proc-receive/") {
        if s.repos.contains_key(full) {
            return proc_receive(s, full, body);
        }
    }
    if let Some(full) = path.strip_prefix("/api/internal/hook/pre-receive/") {
        if s.repos.contains_key(full) {
            return pre_receive(s, full, body);
        }
    }
    let Some(rest) = path.strip_prefix("/api/v1") else {
        return error(404, "not found");
    };
    // Both `token X` and `Bearer X` (modules/auth/httpauth/httpauth.go); any token that a
    // user of this instance holds.
    let token = authorization.and_then(|a| {
        a.strip_prefix("token ")
            .or_else(|| a.strip_prefix("Bearer "))
            .map(str::to_string)
    });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return error(401, "token is required");
    };
    let job = match who(s, &token) {
        Who::User => None,
        Who::Job(i) => Some(i),
        // services/auth: a token that matches nothing is refused.
        Who::Expired => return error(401, "invalid username, password or token"),
    };
    let p = params(query);
    if rest == "/version" && method == "GET" {
        // routers/api/v1/misc/version.go
        return json(200, format!("{{\"version\":{}}}", json_str(s.opts.version)));
    }
    if method == "GET" {
        if let Some(a) = account(&s.opts.account, rest) {
            return a;
        }
    }
    let Some(repo_path) = rest.strip_prefix("/repos/") else {
        return error(404, "not found");
    };
    let mut segs = repo_path.splitn(3, '/');
    let (owner, name, sub) = (
        segs.next().unwrap_or(""),
        segs.next().unwrap_or(""),
        segs.next().unwrap_or(""),
    );
    let full = format!("{owner}/{name}");
    if let Some(new) = s.moved.get(&full) {
        // services/context/repo.go, RedirectToRepo: the same request under the new name,
        // as a path on this server.
        let mut location = format!("/api/v1/repos/{new}");
        if !sub.is_empty() {
            location.push('/');
            location.push_str(sub);
        }
        if !query.is_empty() {
            location.push('?');
            location.push_str(query);
        }
        let mut a = json(301, "");
        a.headers.push(("Location".into(), location));
        return a;
    }
    if !s.repos.contains_key(&full) {
        return error(404, "The target couldn't be found.");
    }
    let segments: Vec<&str> = sub.split('/').filter(|x| !x.is_empty()).collect();
    if let Some(i) = job {
        if let Some(refused) = job_refusal(s, &s.runs[i], &full, method, &segments) {
            return refused;
        }
    }
    match (method, segments.as_slice()) {
        ("GET", []) => repo_json(s, &full),
        ("POST", ["actions", "workflows", wf, "dispatches"]) => dispatch(s, &full, wf, &p, body),
        ("GET", ["actions", "tasks"]) => tasks(s, &full, &p),
        ("GET", ["actions", "runs", id]) => run_json(s, &full, id),
        ("GET", ["commits"]) => commits(s, &full, &p),
        ("POST", ["statuses", sha]) => create_status(s, &full, sha, body),
        ("GET", ["statuses", sha]) => list_statuses(s, &full, sha, &p),
        ("GET", ["commits", reference, "statuses"]) => {
            let sha = rev_parse(&s.repos[&full].bare, reference).unwrap_or_default();
            list_statuses(s, &full, &sha, &p)
        }
        ("POST", ["pulls"]) => create_pull(s, &full, body),
        ("GET", ["pulls"]) => list_pulls(s, &full, &p),
        // GetPullRequest: 200 with the pull request, 404 for an unknown index.
        ("GET", ["pulls", n]) => match s
            .pulls
            .iter()
            .find(|r| r.repo == full && r.number.to_string() == *n)
        {
            Some(r) => json(200, pull_json(s, r)),
            None => error(404, "The target couldn't be found."),
        },
        ("PATCH", ["pulls", n]) => edit_pull(s, &full, n, body),
        ("POST", ["pulls", n, "merge"]) => merge_pull(s, &full, n, body),
        ("GET", ["contents", path @ ..]) if !path.is_empty() => {
            contents::get(s, &full, &contents::path_of(path), &p)
        }
        ("POST", ["contents"]) => match contents::prepare(s, &full, job, body) {
            Ok(pending) => {
                s.pending = Some(pending);
                json(0, "")
            }
            Err(refused) => refused,
        },
        _ => error(404, "not found"),
    }
}

/// What a job token is refused in repository `full` (routers/api/v1/api.go): repoAssignment
/// answers 404 without any unit's access (`HasAnyUnitAccessOrPublicAccess`);
/// `reqRepoReader(unit)` 403 "user should have specific read permission ...";
/// `reqRepoWriter(unit)` 403 "user should have a permission to write to a repo". The
/// dispatch route is in a group that reads Actions and itself writes them; runs and tasks
/// read Actions; commits, statuses and pulls read code, a new status writes it.
fn job_refusal(
    s: &State,
    run: &Run,
    full: &str,
    method: &str,
    segments: &[&str],
) -> Option<Answer> {
    let access = job_access(s, run, full);
    if access.values().all(|a| *a == Access::None) {
        return Some(error(404, "The target couldn't be found."));
    }
    let needs: &[(&str, Access)] = match (method, segments) {
        ("POST", ["actions", "workflows", _, "dispatches"]) => {
            &[("actions", Access::Read), ("actions", Access::Write)]
        }
        (_, ["actions", ..]) => &[("actions", Access::Read)],
        ("POST", ["statuses", _]) => &[("code", Access::Read), ("code", Access::Write)],
        // The `/contents` group's reqRepoReader(unit.TypeCode); a write's own check is
        // contents::prepare's.
        (_, ["statuses", ..] | ["commits", ..] | ["pulls", ..] | ["contents", ..]) => {
            &[("code", Access::Read)]
        }
        _ => &[],
    };
    needs
        .iter()
        .find(|(unit, level)| access[unit] < *level)
        .map(|(_, level)| {
            if *level == Access::Write {
                error(403, "user should have a permission to write to a repo")
            } else {
                error(
                    403,
                    "user should have specific read permission or be a repo admin or a site admin",
                )
            }
        })
}

/// The token's user: routers/api/v1/user/email.go (ListEmails: modules/structs/user_email.go),
/// key.go (ListMyPublicKeys: user_key.go, `fingerprint`), gpg_key.go (ListMyGPGKeys:
/// user_gpgkey.go, `key_id`, `subkeys`).
fn account(a: &Account, rest: &str) -> Option<Answer> {
    let path = rest.split('?').next().unwrap_or(rest);
    let body = match path {
        "/user/emails" => a
            .emails
            .iter()
            .enumerate()
            .map(|(i, (e, v))| {
                format!(
                    "{{\"email\":{},\"verified\":{v},\"primary\":{},\"user_id\":1,\"username\":\"{PUSHER}\"}}",
                    json_str(e),
                    i == 0
                )
            })
            .collect::<Vec<_>>(),
        "/user/keys" => a
            .ssh_fingerprints
            .iter()
            .enumerate()
            .map(|(i, f)| {
                format!(
                    "{{\"id\":{},\"key\":\"ssh-ed25519 AAAA\",\"title\":\"bot\",\"fingerprint\":{},\"key_type\":\"user\"}}",
                    i + 1,
                    json_str(f)
                )
            })
            .collect(),
        "/user/gpg_keys" => a
            .gpg_keys
            .iter()
            .enumerate()
            .map(|(i, (id, subs))| {
                let subs: Vec<String> = subs
                    .iter()
                    .map(|s| format!("{{\"key_id\":{},\"primary_key_id\":{}}}", json_str(s), json_str(id)))
                    .collect();
                format!(
                    "{{\"id\":{},\"primary_key_id\":\"\",\"key_id\":{},\"emails\":[],\"subkeys\":[{}],\"can_sign\":true}}",
                    i + 1,
                    json_str(id),
                    subs.join(",")
                )
            })
            .collect(),
        _ => return None,
    };
    Some(json(200, format!("[{}]", body.join(","))))
}

/// services/convert/pull.go, ToAPIPullRequest: the fields a client reads. An AGit pull
/// request's head ref is refs/pull/N/head and its head name empty; a merged one carries
/// `merge_commit_sha` (modules/structs/pull.go).
fn pull_json(s: &State, p: &PullRec) -> String {
    let bare = &s.repos[&p.repo].bare;
    let head_ref = if p.agit { p.head_ref() } else { p.head.clone() };
    format!(
        "{{\"id\":{n},\"number\":{n},\"html_url\":\"{APP_URL}/{repo}/pulls/{n}\",\"title\":{},\"body\":{},\"state\":\"{}\",\"merged\":{},\"merge_commit_sha\":{},\"head\":{{\"ref\":{},\"sha\":\"{}\"}},\"base\":{{\"ref\":{},\"sha\":\"{}\"}}}}",
        json_str(&p.title),
        json_str(&p.body),
        p.state,
        p.merged,
        p.merge_commit.as_deref().map_or("null".to_string(), json_str),
        json_str(&head_ref),
        rev_parse(bare, &p.head_ref()).unwrap_or_default(),
        json_str(&p.base),
        rev_parse(bare, &format!("refs/heads/{}", p.base)).unwrap_or_default(),
        n = p.number,
        repo = p.repo,
    )
}

/// Gitea's git config makes receive-pack advertise push options and hand refs/for/* to its
/// proc-receive hook (modules/git/git.go, syncGitConfig), which calls Gitea's internal API
/// (routers/private/hook_proc_receive.go → services/agit/agit.go) and prints what it
/// answers. Here a post-receive hook does the same over bash's /dev/tcp: git itself has
/// already stored the ref by then, which the emulator removes, as proc-receive never
/// creates it. What differs: a refusal (`request force-push push option`) is printed, not
/// sent as the ref's status, since post-receive cannot refuse.
fn agit_hook(name: &str, remote: &Remote, port: u16) {
    git_out(
        &remote.bare(),
        &["config", "receive.advertisePushOptions", "true"],
    );
    remote.hook(
        "post-receive",
        &format!(
            r#"#!/bin/bash
body=""
while read -r old new ref; do
  case "$ref" in refs/for/*) body+="ref $ref $new"$'\n' ;; esac
done
[ -z "$body" ] && exit 0
i=0
while [ "$i" -lt "${{GIT_PUSH_OPTION_COUNT:-0}}" ]; do
  v="GIT_PUSH_OPTION_$i"; body+="option ${{!v}}"$'\n'; i=$((i+1))
done
len=$(printf '%s' "$body" | wc -c)
exec 3<>/dev/tcp/127.0.0.1/{port}
printf 'POST /api/internal/hook/proc-receive/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$len" "$body" >&3
resp=$(cat <&3)
printf '%s\n' "${{resp#*$'\r\n\r\n'}}" >&2
"#
        ),
    );
}

/// services/agit/agit.go, ProcReceive: the head branch is `<pusher>/<topic>`; an unmerged
/// AGit pull request of that head and base is updated (refused when the new head is the
/// old one, or does not descend from it without `force-push`), else one is opened with the
/// `title` and `description` options, or the commit's subject and body. The answer is
/// what cmd/hook.go (hookPrintResults) prints: "Visit the existing pull request:" and the
/// URL.
fn proc_receive(s: &mut State, full: &str, body: &str) -> Answer {
    let mut options = BTreeMap::new();
    let mut refs = Vec::new();
    for line in body.lines() {
        if let Some(kv) = line.strip_prefix("option ") {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            options.insert(k.to_string(), v.to_string());
        } else if let Some(r) = line.strip_prefix("ref ") {
            if let Some((name, new)) = r.split_once(' ') {
                refs.push((name.to_string(), new.to_string()));
            }
        }
    }
    let bare = s.repos[full].bare.clone();
    let mut said = String::new();
    for (name, new) in refs {
        let _ = git(&bare).args(["update-ref", "-d", &name]).status();
        let base = name.trim_start_matches("refs/for/").to_string();
        let Some(topic) = options.get("topic").filter(|t| !t.is_empty()) else {
            said.push_str(
                "error: topic-branch is not set
",
            );
            continue;
        };
        let head = if topic.starts_with(&format!("{PUSHER}/")) {
            topic.clone()
        } else {
            format!("{PUSHER}/{topic}")
        };
        let force = options
            .get("force-push")
            .is_some_and(|v| v == "true" || v.is_empty());
        let existing = s.pulls.iter().position(|p| {
            p.repo == full && p.agit && p.head == head && p.base == base && !p.merged
        });
        let number = match existing {
            Some(i) => {
                let old = rev_parse(&bare, &s.pulls[i].head_ref()).unwrap_or_default();
                if old == new {
                    said.push_str(
                        "error: new commit is same with old commit
",
                    );
                    continue;
                }
                let descends = git(&bare)
                    .args(["merge-base", "--is-ancestor", &old, &new])
                    .status()
                    .is_ok_and(|st| st.success());
                if !force && !descends {
                    said.push_str(
                        "error: request `force-push` push option
",
                    );
                    continue;
                }
                s.pulls[i].number
            }
            None => {
                let message = git_out(&bare, &["log", "-1", "--format=%B", &new]);
                let (subject, rest) = message
                    .split_once(
                        "

",
                    )
                    .unwrap_or((&message, ""));
                let number = s.pulls.iter().filter(|p| p.repo == full).count() as u64 + 1;
                let title = options
                    .get("title")
                    .filter(|t| !t.is_empty())
                    .cloned()
                    .unwrap_or_else(|| subject.trim().to_string());
                let description = options
                    .get("description")
                    .filter(|t| !t.is_empty())
                    .cloned()
                    .unwrap_or_else(|| rest.trim().to_string());
                s.pulls.push(PullRec {
                    repo: full.to_string(),
                    number,
                    head,
                    base,
                    title,
                    body: description,
                    state: "open",
                    merged: false,
                    auto_merge: None,
                    agit: true,
                    merge_commit: None,
                    checking: None,
                });
                number
            }
        };
        git_out(
            &bare,
            &["update-ref", &format!("refs/pull/{number}/head"), &new],
        );
        said.push_str(&format!(
            "\nVisit the existing pull request:\n  {APP_URL}/{full}/pulls/{number}\n"
        ));
    }
    Answer {
        status: 200,
        headers: Vec::new(),
        body: said,
    }
}

/// routers/api/v1/repo/pull.go, CreatePullRequest: 422 for head == base, 404 for a branch
/// that does not exist (parseCompareInfo), 409 when an unmerged pull request of the same
/// head and base exists, with `issue_id` holding its index; 201 with the pull request.
fn create_pull(s: &mut State, full: &str, body: &str) -> Answer {
    let Ok(req) = jaq_json::read::parse_single(body.as_bytes()) else {
        return error(422, "invalid JSON");
    };
    let get = |k: &str| field(&req, k).and_then(text).unwrap_or_default();
    let (head, base) = (get("head"), get("base"));
    if head == base {
        return error(
            422,
            "Invalid PullRequest: There are no changes between the head and the base",
        );
    }
    let bare = s.repos[full].bare.clone();
    for b in [&head, &base] {
        if rev_parse(&bare, &format!("refs/heads/{b}")).is_none() {
            return error(404, "The target couldn't be found.");
        }
    }
    if let Some(p) = s.pulls.iter().find(|p| {
        p.repo == full && p.head == head && p.base == base && !p.merged && p.state == "open"
    }) {
        return error(
            409,
            &format!(
                "pull request already exists for these targets [id: {n}, issue_id: {n}, head_repo_id: 1, base_repo_id: 1, head_branch: {}, base_branch: {}]",
                p.head,
                p.base,
                n = p.number
            ),
        );
    }
    let number = s.pulls.iter().filter(|p| p.repo == full).count() as u64 + 1;
    let rec = PullRec {
        repo: full.to_string(),
        number,
        head,
        base,
        title: get("title"),
        body: get("body"),
        state: "open",
        merged: false,
        auto_merge: None,
        agit: false,
        merge_commit: None,
        checking: None,
    };
    let body = pull_json(s, &rec);
    s.pulls.push(rec);
    json(201, body)
}

/// ListPullRequests: `state` (default open) and `base_branch` filter; paged, with the total
/// in X-Total-Count.
fn list_pulls(s: &State, full: &str, p: &BTreeMap<String, String>) -> Answer {
    let state = p.get("state").map(String::as_str).unwrap_or("open");
    let base = p.get("base_branch").filter(|b| !b.is_empty());
    let mine: Vec<&PullRec> = s
        .pulls
        .iter()
        .rev()
        .filter(|r| r.repo == full)
        .filter(|r| state == "all" || r.state == state)
        .filter(|r| base.is_none_or(|b| &r.base == b))
        .collect();
    let (page, limit) = paging(p);
    let items: Vec<String> = mine
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|r| pull_json(s, r))
        .collect();
    let mut a = json(200, format!("[{}]", items.join(",")));
    a.headers
        .push(("X-Total-Count".into(), mine.len().to_string()));
    a
}

/// EditPullRequest: title and body; answers 201, not 200 (a TODO in Gitea's source).
fn edit_pull(s: &mut State, full: &str, n: &str, body: &str) -> Answer {
    let Ok(req) = jaq_json::read::parse_single(body.as_bytes()) else {
        return error(422, "invalid JSON");
    };
    let Some(i) = s
        .pulls
        .iter()
        .position(|p| p.repo == full && p.number.to_string() == n)
    else {
        return error(404, "The target couldn't be found.");
    };
    if let Some(t) = field(&req, "title")
        .and_then(text)
        .filter(|t| !t.is_empty())
    {
        s.pulls[i].title = t;
    }
    if let Some(b) = field(&req, "body").and_then(text) {
        s.pulls[i].body = b;
    }
    let rec = s.pulls[i].clone();
    json(201, pull_json(s, &rec))
}

/// MergePullRequest (routers/api/v1/repo/pull.go). While the pull request is being checked,
/// 405 "Please try again later". With `merge_when_checks_succeed` while required checks are pending
/// (`Options::checks_pending`), the merge is scheduled: 201 (services/automerge); a second
/// schedule is 409. Otherwise it merges now: 200; the head branch is deleted when asked; a
/// conflict is 409, a merged or closed pull request 405 or 404.
fn merge_pull(s: &mut State, full: &str, n: &str, body: &str) -> Answer {
    let Ok(req) = jaq_json::read::parse_single(body.as_bytes()) else {
        return error(422, "invalid JSON");
    };
    let Some(i) = s
        .pulls
        .iter()
        .position(|p| p.repo == full && p.number.to_string() == n)
    else {
        return error(404, "The target couldn't be found.");
    };
    if s.pulls[i].merged {
        return error(405, "");
    }
    let bare = s.repos[full].bare.clone();
    let head_now = rev_parse(&bare, &s.pulls[i].head_ref()).unwrap_or_default();
    let rounds = s.opts.merge_checking_rounds;
    let checking = s.pulls[i]
        .checking
        .get_or_insert((head_now.clone(), rounds));
    if checking.0 != head_now {
        *checking = (head_now.clone(), rounds);
    }
    if checking.1 > 0 {
        checking.1 -= 1;
        return error(405, "Please try again later");
    }
    let style = field(&req, "Do")
        .and_then(text)
        .unwrap_or_else(|| "merge".into());
    let when_checks = matches!(
        field(&req, "merge_when_checks_succeed"),
        Some(Val::Bool(true))
    );
    if when_checks && s.opts.checks_pending {
        if s.pulls[i].auto_merge.is_some() {
            // models/pull/automerge.go, ErrAlreadyScheduledToAutoMerge.
            let id = s.pulls[i].number;
            return error(
                409,
                &format!(
                    "pull request is already scheduled to auto merge when checks succeed [pull_id: {id}]"
                ),
            );
        }
        s.pulls[i].auto_merge = Some(style);
        return json(201, "");
    }
    let (head, base) = (s.pulls[i].head.clone(), s.pulls[i].base.clone());
    let (Some(h), Some(b)) = (
        rev_parse(&bare, &s.pulls[i].head_ref()),
        rev_parse(&bare, &format!("refs/heads/{base}")),
    ) else {
        return error(404, "The target couldn't be found.");
    };
    // A merge made now is of the head the caller expects, when it names one
    // (services/pull/merge_prepare.go, ErrSHADoesNotMatch; 409 "head out of date").
    if let Some(want) = field(&req, "head_commit_id").and_then(text) {
        if !want.is_empty() && want != h {
            return error(409, "head out of date");
        }
    }
    let tree = git(&bare)
        .args(["merge-tree", "--write-tree", &b, &h])
        .output()
        .unwrap();
    if !tree.status.success() {
        return json(409, "{\"message\":\"merge conflict\"}");
    }
    let tree = String::from_utf8_lossy(&tree.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let merge = git_out(
        &bare,
        &[
            "-c",
            "user.name=gitea",
            "-c",
            "user.email=gitea@example.test",
            "commit-tree",
            &tree,
            "-p",
            &b,
            "-p",
            &h,
            "-m",
            &format!("Merge pull request '{}' (#{n})", s.pulls[i].title),
        ],
    );
    git_out(
        &bare,
        &[
            "update-ref",
            &format!("refs/heads/{base}"),
            merge.trim(),
            &b,
        ],
    );
    if !s.pulls[i].agit
        && matches!(
            field(&req, "delete_branch_after_merge"),
            Some(Val::Bool(true))
        )
    {
        git_out(&bare, &["update-ref", "-d", &format!("refs/heads/{head}")]);
    }
    s.pulls[i].merged = true;
    s.pulls[i].state = "closed";
    s.pulls[i].merge_commit = Some(merge.trim().to_string());
    json(200, "")
}

fn version(s: &State) -> (bool, u32, u32) {
    let v = s.opts.version;
    let forgejo = v.contains("+gitea-");
    let mut it = v.split(['.', '+', '-']);
    let major = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let minor = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    (forgejo, major, minor)
}

fn gitea_at_least(s: &State, minor: u32) -> bool {
    let (forgejo, major, m) = version(s);
    !forgejo && (major, m) >= (1, minor)
}

fn repo_json(s: &State, full: &str) -> Answer {
    // services/convert/repository.go, innerToRepo: html_url from ROOT_URL.
    let repo = &s.repos[full];
    let name = full.rsplit('/').next().unwrap_or(full);
    json(
        200,
        format!(
            "{{\"id\":1,\"name\":{},\"full_name\":{},\"html_url\":\"{APP_URL}/{full}\",\"clone_url\":\"{APP_URL}/{full}.git\",\"default_branch\":{},\"private\":true}}",
            json_str(name),
            json_str(full),
            json_str(&repo.default_branch)
        ),
    )
}

fn rev_parse(bare: &Path, rev: &str) -> Option<String> {
    let out = git(bare)
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The workflow file, from `.gitea/workflows` then `.github/workflows`
/// (services/actions/workflow.go).
fn workflow_file(bare: &Path, git_ref: &str, wf: &str) -> Option<Val> {
    for dir in [".gitea/workflows", ".github/workflows"] {
        let out = git(bare)
            .args(["show", &format!("{git_ref}:{dir}/{wf}")])
            .output()
            .ok()?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            return gitops_update::yaml::parse(&text, wf)
                .ok()?
                .values
                .into_iter()
                .next();
        }
    }
    None
}

/// `${{ inputs.X }}` and `${{ inputs.X || 'literal' }}`, the forms a run-name uses.
fn evaluate(template: &str, inputs: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let expr = rest[i + 3..i + j].trim();
        let value = expr.split("||").map(str::trim).find_map(|alt| {
            if let Some(name) = alt.strip_prefix("inputs.") {
                inputs.get(name).filter(|v| !v.is_empty()).cloned()
            } else {
                alt.strip_prefix('\'')
                    .and_then(|a| a.strip_suffix('\''))
                    .map(str::to_string)
            }
        });
        out.push_str(&value.unwrap_or_default());
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    out
}

/// A workflow-level `concurrency:` as act's jobparser `EvaluateConcurrency` reads it: a
/// string is the group, with cancel-in-progress false; a mapping has `group` and
/// `cancel-in-progress` (a boolean, or a string that evaluates to "true"). Expressions are
/// evaluated only as far as [`evaluate`] goes: `inputs.X`, `||`, quoted literals; any other
/// context (`github.workflow`, `github.ref`) evaluates to "" here. An empty group is none.
fn run_concurrency(c: &Val, inputs: &BTreeMap<String, String>) -> Option<(String, bool)> {
    let (group, cancel) = match c {
        Val::Obj(_) => {
            let cancel = match field(c, "cancel-in-progress") {
                Some(Val::Bool(b)) => *b,
                Some(v) => text(v).is_some_and(|t| evaluate(&t, inputs) == "true"),
                None => false,
            };
            (field(c, "group").and_then(text).unwrap_or_default(), cancel)
        }
        other => (text(other)?, false),
    };
    let group = evaluate(&group, inputs);
    (!group.is_empty()).then_some((group, cancel))
}

/// The receiver's job that the emulated runner runs: `update`, else the first.
fn update_job(workflow: &Val) -> Option<&Val> {
    let jobs = field(workflow, "jobs");
    match jobs {
        Some(Val::Obj(o)) => jobs
            .and_then(|j| field(j, "update"))
            .or_else(|| o.iter().next().map(|(_, v)| v)),
        _ => None,
    }
}

/// The receiver's job token access on 1.26+: the `update` job's (else the first job's)
/// `permissions:`, else the workflow's (services/actions/permission_parser.go).
fn receiver_permissions(workflow: &Val) -> BTreeMap<&'static str, Access> {
    let job_level = update_job(workflow).and_then(|j| field(j, "permissions"));
    permissions::token_access(job_level.or_else(|| field(workflow, "permissions")))
}

/// The update job's step, as the runner runs it: its `run:` script and the shell command.
#[derive(Clone, Debug)]
struct StepScript {
    /// The command, with `{0}` for the script's path.
    shell: Vec<&'static str>,
    script: String,
}

/// The update job's step `update` (else its first `run:` step) as act, which Gitea's runner
/// embeds (Gitea's fork gitea.com/gitea/act, go.mod's replace), runs it. The shell
/// (pkg/runner/step_run.go `setupShell`): the step's `shell:`, else the job's then the
/// workflow's `defaults.run.shell`, else `sh` in a job container with an image and `bash`
/// on the host. Its command (pkg/model/workflow.go `Step.ShellCommand`): `bash --noprofile
/// --norc -e -o pipefail {0}` or `sh -e {0}`, so a failing command ends the script. Other
/// shells are not emulated: an error, which fails the run.
fn update_step(workflow: &Val) -> Result<StepScript, String> {
    let job = update_job(workflow).ok_or("the workflow has no job")?;
    let Some(Val::Arr(steps)) = field(job, "steps") else {
        return Err("the update job has no steps".into());
    };
    let id = |s: &Val| field(s, "id").and_then(text);
    let step = steps
        .iter()
        .find(|s| id(s).as_deref() == Some("update"))
        .or_else(|| steps.iter().find(|s| field(s, "run").is_some()))
        .ok_or("the update job has no run step")?;
    let script = field(step, "run").and_then(text).unwrap_or_default();
    let default_shell = |v: &Val| {
        field(v, "defaults")
            .and_then(|d| field(d, "run"))
            .and_then(|r| field(r, "shell"))
            .and_then(text)
    };
    let in_container = field(job, "container").is_some_and(|c| match c {
        Val::Obj(_) => field(c, "image")
            .and_then(text)
            .is_some_and(|i| !i.is_empty()),
        other => text(other).is_some_and(|i| !i.is_empty()),
    });
    let shell = field(step, "shell")
        .and_then(text)
        .or_else(|| default_shell(job))
        .or_else(|| default_shell(workflow))
        .unwrap_or_else(|| if in_container { "sh" } else { "bash" }.into());
    let shell = match shell.as_str() {
        "bash" => vec![
            "bash",
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "{0}",
        ],
        "sh" => vec!["sh", "-e", "{0}"],
        other => return Err(format!("the emulated runner has no shell {other:?}")),
    };
    Ok(StepScript { shell, script })
}

fn dispatch(
    s: &mut State,
    full: &str,
    wf: &str,
    p: &BTreeMap<String, String>,
    body: &str,
) -> Answer {
    // The route exists from 1.24 (routers/api/v1/api.go).
    let (forgejo, _, _) = version(s);
    if !forgejo && !gitea_at_least(s, 24) {
        return error(404, "not found");
    }
    let Ok(req) = jaq_json::read::parse_single(body.as_bytes()) else {
        return error(422, "invalid JSON");
    };
    let git_ref = field(&req, "ref").and_then(text).unwrap_or_default();
    let bare = s.repos[full].bare.clone();
    let Some(head) = rev_parse(&bare, &git_ref) else {
        return error(404, &format!("ref {git_ref} not found"));
    };
    let Some(workflow) = workflow_file(&bare, &head, wf) else {
        return error(404, &format!("workflow {wf:?} not found"));
    };
    // services/actions/workflow.go: inputs the workflow does not declare are dropped,
    // defaults are filled, `required` is not enforced; values must be strings.
    let declared = field(&workflow, "on")
        .and_then(|on| field(on, "workflow_dispatch"))
        .and_then(|d| field(d, "inputs"));
    let mut inputs = BTreeMap::new();
    if let Some(Val::Obj(decl)) = declared {
        for (k, spec) in decl.iter() {
            let k = text(k).unwrap_or_default();
            let given = field(&req, "inputs")
                .and_then(|i| field(i, &k))
                .and_then(text);
            let default = field(spec, "default").and_then(text);
            // Forgejo enforces `required` (400) and drops an input left empty without a
            // default (Forgejo services/actions/workflows.go); Gitea does neither.
            let required = matches!(field(spec, "required"), Some(Val::Bool(true)));
            if forgejo && given.as_deref().unwrap_or("").is_empty() && default.is_none() {
                if required {
                    let named = field(spec, "description").and_then(text).unwrap_or(k);
                    return error(400, &format!("input required for '{named}'"));
                }
                continue;
            }
            if let Some(v) = given.or(default) {
                inputs.insert(k, v);
            }
        }
    }
    let (_, major, minor) = version(s);
    // 1.24 and 1.25: a dispatch cancels every running, waiting and blocked run of the same
    // workflow on the same ref (services/actions/workflow.go → CancelPreviousJobs in
    // models/actions/run.go). Forgejo and 1.26 do not.
    if !forgejo && major == 1 && (minor == 24 || minor == 25) {
        for r in s.runs.iter_mut() {
            if r.repo == full
                && r.workflow == wf
                && r.git_ref == git_ref
                && matches!(r.status, "waiting" | "running")
            {
                r.status = "cancelled";
                r.kill.store(true, Ordering::SeqCst);
            }
        }
    }
    // From 1.25 the title is the evaluated run-name (services/actions/workflow.go); before,
    // and without one, the head commit's subject.
    // Forgejo has no run-name: a dispatched run's title is the workflow's `name:`, else its
    // path (Forgejo services/actions/workflows.go).
    let run_name = field(&workflow, "run-name").and_then(text);
    let title = match run_name {
        _ if forgejo => field(&workflow, "name")
            .and_then(text)
            .unwrap_or_else(|| format!(".gitea/workflows/{wf}")),
        Some(t) if gitea_at_least(s, 25) => evaluate(&t, &inputs),
        _ => git_out(&bare, &["log", "-1", "--format=%s", &head])
            .trim()
            .to_string(),
    };
    let id = s.runs.len() as u64 + 1;
    let index = s.runs.iter().filter(|r| r.repo == full).count() as u64 + 1;
    // 1.26+: the workflow-level `concurrency:` (services/actions/concurrency.go
    // `EvaluateRunConcurrencyFillModel`), then services/actions/clear_tasks.go
    // `PrepareToStartRunWithConcurrency` as services/actions/run.go `InsertRun` calls it.
    // Gitea 1.24/1.25 ignore the key; Forgejo v13 honours cancel-in-progress only for push
    // and pull-request runs (Forgejo services/actions/notifier_helper.go
    // `ConfigureActionRunConcurrency`), so not for a dispatch, and v11/v12 not at all.
    let concurrency = if gitea_at_least(s, 26) {
        field(&workflow, "concurrency").and_then(|c| run_concurrency(c, &inputs))
    } else {
        None
    };
    let mut status = "waiting";
    if let Some((group, cancel)) = &concurrency {
        // shouldBlockRunByConcurrency: without cancel-in-progress, blocked while a run of
        // the group (in this repository) is running.
        let running = s.runs.iter().any(|r| {
            r.repo == full
                && r.status == "running"
                && r.concurrency.as_ref().is_some_and(|(g, _)| g == group)
        });
        if running && !cancel {
            status = "blocked";
        }
        // models/actions/run.go CancelPreviousJobsByRunConcurrency: the group's waiting and
        // blocked runs, and with cancel-in-progress its running ones too, are cancelled,
        // even when the new run is itself blocked.
        for r in s.runs.iter_mut() {
            let same = r.repo == full && r.concurrency.as_ref().is_some_and(|(g, _)| g == group);
            let cancels =
                matches!(r.status, "waiting" | "blocked") || (*cancel && r.status == "running");
            if same && cancels {
                r.status = "cancelled";
                r.kill.store(true, Ordering::SeqCst);
            }
        }
    }
    let access = receiver_permissions(&workflow);
    let step = update_step(&workflow);
    s.runs.push(Run {
        id,
        index,
        repo: full.to_string(),
        workflow: wf.to_string(),
        git_ref,
        inputs,
        title,
        status,
        created: Instant::now(),
        task: None,
        kill: Arc::new(AtomicBool::new(false)),
        result: None,
        outputs: String::new(),
        concurrency,
        token: format!("{:040x}", 0x6a6f_6200_0000_u64 + id),
        access,
        go: Arc::new(AtomicBool::new(!s.opts.hold_jobs)),
        step,
    });
    let wants_info = matches!(field(&req, "return_run_info"), Some(Val::Bool(true)));
    if forgejo && wants_info {
        // Forgejo routers/api/v1/repo/action.go: 201 with the run.
        return json(
            201,
            format!("{{\"id\":{id},\"run_number\":{index},\"jobs\":[\"update\"]}}"),
        );
    }
    // Gitea 1.26+, asked with `return_run_details` (read with ctx.FormBool): 200 with the
    // instance-wide run id and its links (routers/api/v1/repo/action.go
    // `ActionsDispatchWorkflow`, modules/structs/repo_actions.go `RunDetails`).
    let details = p
        .get("return_run_details")
        .is_some_and(|v| ["true", "1", "t", "on"].contains(&v.as_str()));
    if !forgejo && gitea_at_least(s, 26) && details {
        return json(
            200,
            format!(
                "{{\"workflow_run_id\":{id},\"run_url\":\"{APP_URL}/api/v1/repos/{full}/actions/runs/{id}\",\"html_url\":\"{APP_URL}/{full}/actions/runs/{id}\"}}"
            ),
        );
    }
    // Gitea: 204, no body, otherwise (routers/api/v1/repo/action.go).
    json(204, "")
}

/// A task exists only once a runner has picked the job up (routers/api/v1/repo/action.go,
/// ListActionTasks; services/convert/convert.go ToActionTask). Newest first.
fn tasks(s: &State, full: &str, p: &BTreeMap<String, String>) -> Answer {
    let (page, limit) = paging(p);
    let mine: Vec<&TaskRec> = s
        .tasks
        .iter()
        .rev()
        .filter(|t| s.runs[(t.run - 1) as usize].repo == full)
        .collect();
    let items: Vec<String> = mine
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|t| {
            let r = &s.runs[(t.run - 1) as usize];
            format!(
                "{{\"id\":{},\"name\":\"update\",\"head_branch\":{},\"head_sha\":\"\",\"run_number\":{},\"event\":\"workflow_dispatch\",\"display_title\":{},\"status\":{},\"workflow_id\":{},\"url\":\"{APP_URL}/{full}/actions/runs/{}\",\"created_at\":\"{}\",\"updated_at\":\"{}\",\"run_started_at\":\"{}\"}}",
                t.id,
                json_str(&r.git_ref),
                r.index,
                json_str(&r.title),
                json_str(r.status),
                json_str(&r.workflow),
                r.index,
                t.created_at,
                t.created_at,
                t.created_at
            )
        })
        .collect();
    json(
        200,
        format!(
            "{{\"workflow_runs\":[{}],\"total_count\":{}}}",
            items.join(","),
            mine.len()
        ),
    )
}

fn run_json(s: &State, full: &str, id: &str) -> Answer {
    let (forgejo, _, _) = version(s);
    let run = id
        .parse::<u64>()
        .ok()
        .and_then(|id| s.runs.iter().find(|r| r.id == id && r.repo == full));
    // Gitea has this route from 1.25 (routers/api/v1/api.go); Forgejo from v12 (Forgejo's
    // routers/api/v1/api.go on the v12.0 branch).
    let (_, major, _) = version(s);
    if (!forgejo && !gitea_at_least(s, 25)) || (forgejo && major < 12) {
        return error(404, "not found");
    }
    let Some(r) = run else {
        return error(404, "not found");
    };
    if forgejo {
        // Forgejo: `status` is the run's own status string.
        return json(
            200,
            format!(
                "{{\"id\":{},\"run_number\":{},\"status\":{},\"html_url\":\"{APP_URL}/{full}/actions/runs/{}\"}}",
                r.id,
                r.index,
                json_str(r.status),
                r.index
            ),
        );
    }
    // Run pages are by run number up to 1.25, by the instance-wide run id from 1.26
    // (models/actions/run.go `HTMLURL`).
    let page = if gitea_at_least(s, 26) { r.id } else { r.index };
    // services/convert/convert.go, ToActionsStatus: a blocked run is `waiting`; the
    // conclusion is omitted until the run completes (modules/structs/repo_actions.go
    // `ActionWorkflowRun`, `conclusion,omitempty`).
    let (status, conclusion) = match r.status {
        "waiting" => ("queued", String::new()),
        "blocked" => ("waiting", String::new()),
        "running" => ("in_progress", String::new()),
        other => ("completed", format!(",\"conclusion\":\"{other}\"")),
    };
    json(
        200,
        format!(
            "{{\"id\":{},\"run_number\":{},\"status\":\"{status}\"{conclusion},\"display_title\":{},\"html_url\":\"{APP_URL}/{full}/actions/runs/{}\"}}",
            r.id,
            r.index,
            json_str(&r.title),
            page
        ),
    )
}

/// routers/api/v1/repo/commits.go, GetAllCommits: at most 50 a page
/// (setting.Git.CommitsRangeSize), `not` excludes a commit's ancestors, paging headers with
/// links under ROOT_URL (services/context/api.go, genAPILinks). An unknown `sha` is a 500.
fn commits(s: &State, full: &str, p: &BTreeMap<String, String>) -> Answer {
    let bare = &s.repos[full].bare;
    let (page, limit) = paging(p);
    let base = p
        .get("sha")
        .cloned()
        .unwrap_or_else(|| s.repos[full].default_branch.clone());
    let Some(base) = rev_parse(bare, &base) else {
        return error(500, "");
    };
    let mut range = vec![base];
    if let Some(not) = p.get("not").filter(|n| !n.is_empty()) {
        range.push(format!("^{not}"));
    }
    let range: Vec<&str> = range.iter().map(String::as_str).collect();
    let mut count = vec!["rev-list", "--count"];
    count.extend(&range);
    let total: usize = git_out(bare, &count).trim().parse().unwrap_or(0);
    let skip = format!("--skip={}", (page - 1) * limit);
    let max = format!("--max-count={limit}");
    let mut log = vec!["log", "--format=%H%x00%P%x00%B%x01", &skip, &max];
    log.extend(&range);
    let out = git_out(bare, &log);
    let items: Vec<String> = out
        .split('\u{1}')
        .filter_map(|e| {
            let mut f = e.trim_start_matches('\n').splitn(3, '\0');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .filter(|(sha, _, _)| !sha.is_empty())
        .map(|(sha, parents, msg)| {
            let parents: Vec<String> = parents
                .split_whitespace()
                .map(|p| format!("{{\"sha\":\"{p}\"}}"))
                .collect();
            format!(
                "{{\"url\":\"\",\"sha\":\"{sha}\",\"created\":\"\",\"html_url\":\"{APP_URL}/{full}/commit/{sha}\",\"commit\":{{\"message\":{},\"tree\":{{\"sha\":\"\"}}}},\"parents\":[{}]}}",
                json_str(msg),
                parents.join(",")
            )
        })
        .collect();
    let pages = total.div_ceil(limit).max(1);
    let mut a = json(200, format!("[{}]", items.join(",")));
    let link = |n: usize| {
        let mut q = p.clone();
        q.insert("page".into(), n.to_string());
        let q: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("<{APP_URL}/api/v1/repos/{full}/commits?{}>", q.join("&"))
    };
    let mut links = Vec::new();
    if page < pages {
        links.push(format!("{}; rel=\"next\"", link(page + 1)));
        links.push(format!("{}; rel=\"last\"", link(pages)));
    }
    if !links.is_empty() {
        a.headers.push(("Link".into(), links.join(",")));
    }
    for (k, v) in [
        ("X-Total-Count", total.to_string()),
        ("X-Page", page.to_string()),
        ("X-PerPage", limit.to_string()),
        ("X-Total", total.to_string()),
        ("X-PageCount", pages.to_string()),
        ("X-HasMore", (page < pages).to_string()),
    ] {
        a.headers.push((k.into(), v));
    }
    a
}

/// routers/api/v1/repo/status.go, NewCommitStatus → 201. A sha Gitea does not have is a
/// 500 whose message production servers hide from non-admins (services/context/api.go).
fn create_status(s: &mut State, full: &str, sha: &str, body: &str) -> Answer {
    if rev_parse(&s.repos[full].bare, sha).as_deref() != Some(sha) {
        return error(500, "");
    }
    let Ok(req) = jaq_json::read::parse_single(body.as_bytes()) else {
        return error(422, "invalid JSON");
    };
    let get = |k: &str| field(&req, k).and_then(text).unwrap_or_default();
    let id = s.next_status;
    s.next_status += 1;
    let rec = StatusRec {
        id,
        repo: full.to_string(),
        sha: sha.to_string(),
        state: get("state"),
        context: get("context"),
        description: get("description"),
        target_url: get("target_url"),
        created_at: rfc3339(SystemTime::now()),
    };
    let answer = json(201, status_json(&rec));
    s.statuses.push(rec);
    answer
}

/// services/convert/status.go, ToCommitStatus: the state is sent as `status`.
fn status_json(st: &StatusRec) -> String {
    format!(
        "{{\"id\":{},\"status\":{},\"target_url\":{},\"description\":{},\"context\":{},\"created_at\":\"{}\",\"updated_at\":\"{}\"}}",
        st.id,
        json_str(&st.state),
        json_str(&st.target_url),
        json_str(&st.description),
        json_str(&st.context),
        st.created_at,
        st.created_at
    )
}

/// routers/api/v1/repo/status.go, getCommitStatuses: newest first, paged, X-Total-Count.
fn list_statuses(s: &State, full: &str, sha: &str, p: &BTreeMap<String, String>) -> Answer {
    let (page, limit) = paging(p);
    let all: Vec<&StatusRec> = s
        .statuses
        .iter()
        .rev()
        .filter(|st| st.repo == full && st.sha == sha)
        .collect();
    let items: Vec<String> = all
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|st| status_json(st))
        .collect();
    let mut a = json(200, format!("[{}]", items.join(",")));
    a.headers
        .push(("X-Total-Count".into(), all.len().to_string()));
    a
}

/// A job a runner took: what its step needs.
struct Job {
    id: u64,
    inputs: BTreeMap<String, String>,
    kill: Arc<AtomicBool>,
    go: Arc<AtomicBool>,
    api_url: String,
    startup: Duration,
    git_url: String,
    extra: Vec<(&'static str, &'static str)>,
    token: String,
    step: Result<StepScript, String>,
}

/// One runner: takes the oldest waiting run once its pickup delay has passed, creates its
/// task, starts the job, and runs the update step as the workflow says. A cancelled run's
/// processes are killed.
fn runner(state: &Mutex<State>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
        let Some(job) = take_job(state) else {
            continue;
        };
        let stopped = || job.kill.load(Ordering::SeqCst);
        while !job.go.load(Ordering::SeqCst) && !stopped() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        while started.elapsed() < job.startup && !stopped() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if stopped() {
            if let Ok(mut s) = state.lock() {
                release_group(&mut s, job.id);
            }
            continue;
        }
        let (code, log, outputs) = run_step(&job);
        let mut s = state.lock().unwrap();
        let r = &mut s.runs[(job.id - 1) as usize];
        r.outputs = outputs;
        if let Some(code) = code {
            r.result = Some((code, log));
            if r.status == "running" {
                r.status = if code == 0 { "success" } else { "failure" };
            }
        }
        release_group(&mut s, job.id);
    }
}

/// The oldest waiting run past its pickup delay, now running, with its task.
fn take_job(state: &Mutex<State>) -> Option<Job> {
    let mut s = state.lock().unwrap();
    let pickup = s.opts.pickup;
    let i = s
        .runs
        .iter()
        .position(|r| r.status == "waiting" && r.created.elapsed() >= pickup)?;
    let task = s.next_task;
    s.next_task += 1;
    let run = s.runs[i].id;
    s.tasks.push(TaskRec {
        id: task,
        run,
        created_at: rfc3339(SystemTime::now()),
    });
    let (api_url, startup) = (s.api_url.clone(), s.opts.startup);
    let extra = s.opts.updater_env.clone();
    let git_url = s.repos[&s.runs[i].repo].git_url.clone();
    let r = &mut s.runs[i];
    r.status = "running";
    r.task = Some(task);
    Some(Job {
        id: r.id,
        inputs: r.inputs.clone(),
        kill: r.kill.clone(),
        go: r.go.clone(),
        api_url,
        startup,
        git_url,
        extra,
        token: r.token.clone(),
        step: r.step.clone(),
    })
}

/// Runs the job's step: its script in its shell, `gitops-update` on the PATH, the inputs as
/// the receiver's `env:` gives them. Its exit code (`None` when cancelled), its stderr, and
/// the step outputs it wrote.
fn run_step(job: &Job) -> (Option<i32>, String, String) {
    let step = match &job.step {
        Ok(step) => step,
        Err(e) => return (Some(1), e.clone(), String::new()),
    };
    let work = tempfile::tempdir().unwrap();
    let out_file = work.path().join("output");
    let script = work.path().join("step.sh");
    // act writes the script between an empty prepend and append (step_run.go).
    std::fs::write(&script, format!("\n{}\n", step.script)).unwrap();
    let script = script.to_string_lossy().into_owned();
    let argv: Vec<String> = step
        .shell
        .iter()
        .map(|a| a.replace("{0}", &script))
        .collect();
    let input = |k: &str| job.inputs.get(k).cloned().unwrap_or_default();
    let mut cmd = super::scrubbed(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(work.path())
        .env("PATH", super::path_with_bin())
        .env("INPUT_FILE", input("file"))
        .env("YQ_TPL", input("yq_tpl"))
        .env("VERSION", input("version"))
        .env("SOURCE_REPO", input("source_repo"))
        .env("SOURCE_COMMIT", input("source_commit"))
        .env("DISPATCH_ID", input("dispatch_id"))
        .env("GIT_TAG_PREFIX", input("git_tag_prefix"))
        .env("GITOPS_REPO", &job.git_url)
        .env("GITEA_API_URL", &job.api_url)
        // The job token, `secrets.GITEA_TOKEN` (the shipped receiver passes it).
        .env("GITEA_TOKEN", &job.token)
        .env("GITHUB_OUTPUT", &out_file)
        .envs(job.extra.iter().copied());
    let (code, log) = supervise(cmd, &job.kill);
    let outputs = std::fs::read_to_string(&out_file).unwrap_or_default();
    (code, log, outputs)
}

/// Runs `cmd` in a process group of its own until it exits or `kill` is set; then the whole
/// group is killed, the shell and the tool it started, as a cancelled job's container is.
fn supervise(mut cmd: std::process::Command, kill: &AtomicBool) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the step's shell");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let code = loop {
        if kill.load(Ordering::SeqCst) {
            // SAFETY: kill(2) on the group this child leads; no memory is involved.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (code, reader.join().unwrap_or_default())
}

/// Run `id` has ended: the blocked run of its concurrency group, if any, may start
/// (services/actions/job_emitter.go `checkRunConcurrency`, `findBlockedRunByConcurrency`:
/// at most one is blocked), unless another run of the group still runs.
fn release_group(s: &mut State, id: u64) {
    let Some(ended) = s.runs.iter().find(|r| r.id == id) else {
        return;
    };
    let (repo, Some((group, _))) = (ended.repo.clone(), ended.concurrency.clone()) else {
        return;
    };
    let in_group =
        |r: &Run| r.repo == repo && r.concurrency.as_ref().is_some_and(|(g, _)| *g == group);
    if s.runs.iter().any(|r| in_group(r) && r.status == "running") {
        return;
    }
    if let Some(r) = s
        .runs
        .iter_mut()
        .find(|r| in_group(r) && r.status == "blocked")
    {
        r.status = "waiting";
        r.created = Instant::now();
    }
}
