//! `gitops-update dispatch` against wiremock with Gitea's real paths, methods and bodies.

use std::fs;

use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{bin, run, Run};

const GITOPS_TOKEN: &str = "d1spatch-t0ken";
const STATUS_TOKEN: &str = "st4tus-t0ken";
const SOURCE_SHA: &str = "89abcdef0123456789abcdef0123456789abcdef";
const OURS: &str = "1111111111111111111111111111111111111111";
const OTHER: &str = "2222222222222222222222222222222222222222";
const OLD: &str = "3333333333333333333333333333333333333333";

fn commit(sha: &str, message: &str) -> String {
    let message = message.replace('\n', "\\n");
    format!(
        r#"{{"url":"","sha":"{sha}","created":"2026-11-22T00:00:00Z","html_url":"https://git.example.com/acme/deploy/commit/{sha}","commit":{{"url":"","author":{{"name":"gitops-update","email":"b@x","date":"2026-11-22T00:00:00Z"}},"committer":{{"name":"gitops-update","email":"b@x","date":"2026-11-22T00:00:00Z"}},"message":"{message}","tree":{{"url":"","sha":"{sha}"}}}},"parents":[]}}"#
    )
}

fn update(sha: &str, dispatch: &str) -> String {
    commit(sha, &format!("[skip ci] gitops: update version to 1.2.3\n\nSource-Repo: acme/app\nDispatch-Id: {dispatch}\nFile: values.yaml\n"))
}

struct Api {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    cwd: tempfile::TempDir,
}

impl Api {
    fn new() -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(MockServer::start());
        let api = Api {
            rt,
            server,
            cwd: tempfile::tempdir().unwrap(),
        };
        api.mount(
            Mock::given(method("GET"))
                .and(path("/api/v1/repos/acme/deploy"))
                .respond_with(json(200, r#"{"id":1,"name":"deploy","full_name":"acme/deploy","default_branch":"main","private":true}"#)),
        );
        api.mount(
            Mock::given(method("POST"))
                .and(path_regex(
                    r"^/api/v1/repos/acme/app/statuses/[0-9a-f]{40}$",
                ))
                .and(header(
                    "authorization",
                    format!("token {STATUS_TOKEN}").as_str(),
                ))
                .respond_with(json(201, r#"{"id":1,"status":"success"}"#)),
        );
        api
    }

    fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    /// The commit list answers in turn, the last one forever.
    fn commits(&self, answers: &[&str]) {
        for (i, a) in answers.iter().enumerate() {
            let mut m = Mock::given(method("GET"))
                .and(path("/api/v1/repos/acme/deploy/commits"))
                .and(query_param("sha", "main"))
                .respond_with(json(200, a))
                .with_priority(1 + i as u8);
            if i + 1 < answers.len() {
                m = m.up_to_n_times(1);
            }
            self.mount(m);
        }
    }

    fn run(&self, extra: &[&str]) -> Run {
        let r = run(bin()
            .current_dir(self.cwd.path())
            .env("GITOPS_REPO", "acme/deploy")
            .env("GITOPS_FILE", "values.yaml")
            .env("GITOPS_YQ_TPL", ".image.tag = \"{{VERSION}}\"")
            .env("VERSION", "1.2.3")
            .env("GITEA_API_URL", format!("{}/api/v1", self.server.uri()))
            .env("GITOPS_DISPATCH_TOKEN", GITOPS_TOKEN)
            .env("GITHUB_TOKEN", STATUS_TOKEN)
            .env("GITHUB_REPOSITORY", "acme/app")
            .env("GITHUB_SHA", SOURCE_SHA)
            .env("GITHUB_OUTPUT", self.cwd.path().join("out"))
            .args([
                "dispatch",
                "--dispatch-id",
                "d-42",
                "--poll-interval",
                "50ms",
            ])
            .args(extra));
        for t in [GITOPS_TOKEN, STATUS_TOKEN] {
            assert!(
                !r.stdout.contains(t) && !r.stderr.contains(t),
                "token leaked: {}",
                r.stderr
            );
        }
        r
    }

    fn requests(&self, method: &str, path_end: &str) -> Vec<wiremock::Request> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == method && r.url.path().ends_with(path_end))
            .collect()
    }

    fn output(&self) -> String {
        fs::read_to_string(self.cwd.path().join("out")).unwrap_or_default()
    }
}

fn json(code: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_raw(body.to_string(), "application/json")
}

fn parse(body: &[u8]) -> jaq_json::Val {
    jaq_json::read::parse_single(body).expect("JSON")
}

fn dispatch_ok() -> Mock {
    Mock::given(method("POST"))
        .and(path(
            "/api/v1/repos/acme/deploy/actions/workflows/gitops-service.yaml/dispatches",
        ))
        .and(header(
            "authorization",
            format!("token {GITOPS_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(204))
}

#[test]
fn finds_its_commit_by_trailer_not_another_dispatch_of_the_same_version() {
    let api = Api::new();
    api.mount(dispatch_ok());
    let old = format!("[{}]", commit(OLD, "seed"));
    let other_first = format!("[{},{}]", update(OTHER, "d-other"), commit(OLD, "seed"));
    let ours_too = format!(
        "[{},{},{}]",
        update(OURS, "d-42"),
        update(OTHER, "d-other"),
        commit(OLD, "seed")
    );
    api.commits(&[&old, &other_first, &ours_too]);
    let r = api.run(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("app|1.2.3|success|{OURS}|acme/deploy\n"));
    assert!(
        api.output()
            .contains(&format!("summary=app|1.2.3|success|{OURS}|acme/deploy\n")),
        "{}",
        api.output()
    );
    let dispatches = api.requests("POST", "/dispatches");
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].url.query(), Some("return_run_details=true"));
    assert_eq!(
        parse(&dispatches[0].body),
        parse(format!(r#"{{"ref":"main","inputs":{{"file":"values.yaml","yq_tpl":".image.tag = \"{{{{VERSION}}}}\"","version":"1.2.3","source_repo":"acme/app","source_commit":"{SOURCE_SHA}","dispatch_id":"d-42","git_tag_prefix":""}}}}"#).as_bytes())
    );
    let statuses = api.requests("POST", &format!("/statuses/{SOURCE_SHA}"));
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        parse(&statuses[0].body),
        parse(format!(r#"{{"state":"success","context":"gitops/deploy","target_url":"https://git.example.com/acme/deploy/commit/{OURS}","description":"app 1.2.3 deployed to acme/deploy at 1111111"}}"#).as_bytes())
    );
    assert!(
        api.requests("GET", "/commits").len() >= 3,
        "it polled past the other dispatch's commit"
    );
}

#[test]
fn a_timeout_reports_failure_everywhere() {
    let api = Api::new();
    api.mount(dispatch_ok());
    api.commits(&[&format!("[{}]", commit(OLD, "seed"))]);
    let r = api.run(&["--wait-timeout", "1s", "--tag-prefix", "api/"]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no commit for dispatch d-42 appeared on main of acme/deploy within 1s"),
        "{}",
        r.stderr
    );
    assert!(
        api.output()
            .contains("summary=app-api|1.2.3|failure||acme/deploy\n"),
        "{}",
        api.output()
    );
    let statuses = api.requests("POST", &format!("/statuses/{SOURCE_SHA}"));
    assert_eq!(statuses.len(), 1);
    let body = String::from_utf8_lossy(&statuses[0].body).into_owned();
    assert!(
        body.contains(r#""state":"failure""#) && body.contains(r#""context":"gitops/deploy/api""#),
        "{body}"
    );
}

#[test]
fn a_failed_run_fails_fast() {
    let api = Api::new();
    api.mount(
        Mock::given(method("POST"))
            .and(path(
                "/api/v1/repos/acme/deploy/actions/workflows/gitops-service.yaml/dispatches",
            ))
            .respond_with(json(
                200,
                r#"{"workflow_run_id":9,"run_url":"","html_url":""}"#,
            )),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/repos/acme/deploy/actions/runs/9"))
            .respond_with(json(
                200,
                r#"{"id":9,"status":"completed","conclusion":"failure"}"#,
            )),
    );
    api.commits(&[&format!("[{}]", commit(OLD, "seed"))]);
    let r = api.run(&["--wait-timeout", "10m"]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the GitOps run 9 in acme/deploy ended with failure"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_successful_run_with_nothing_to_commit_resolves_to_the_tip() {
    let api = Api::new();
    api.mount(
        Mock::given(method("POST"))
            .and(path(
                "/api/v1/repos/acme/deploy/actions/workflows/gitops-service.yaml/dispatches",
            ))
            .respond_with(json(200, r#"{"workflow_run_id":5}"#)),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/repos/acme/deploy/actions/runs/5"))
            .respond_with(json(
                200,
                r#"{"id":5,"status":"completed","conclusion":"success"}"#,
            )),
    );
    api.commits(&[&format!("[{}]", commit(OLD, "seed"))]);
    let r = api.run(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("app|1.2.3|success|{OLD}|acme/deploy\n"));
}

#[test]
fn a_refused_dispatch_quotes_gitea_and_exits_3() {
    let api = Api::new();
    api.mount(
        Mock::given(method("POST"))
            .and(path(
                "/api/v1/repos/acme/deploy/actions/workflows/gitops-service.yaml/dispatches",
            ))
            .respond_with(json(
                404,
                r#"{"message":"workflow gitops-service.yaml not found","url":""}"#,
            )),
    );
    api.commits(&[&format!("[{}]", commit(OLD, "seed"))]);
    let r = api.run(&[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("cannot dispatch gitops-service.yaml in acme/deploy: Gitea answered 404: workflow gitops-service.yaml not found"), "{}", r.stderr);
    assert!(api.output().contains("|failure||"), "{}", api.output());
}

/// The dispatch endpoint runs the real updater, as the GitOps workflow would: inputs as
/// environment variables, against the smart-HTTP remote.
struct RunsTheUpdater {
    git_url: String,
    api_url: String,
    /// The updater's output, once it has run.
    done: std::sync::Arc<std::sync::Mutex<Option<std::process::Output>>>,
}

impl wiremock::Respond for RunsTheUpdater {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body = parse(&req.body);
        let input = |k: &str| {
            let inputs = match &body {
                jaq_json::Val::Obj(o) => o.get(&jaq_json::Val::from("inputs".to_string())).cloned(),
                _ => None,
            };
            match inputs {
                Some(jaq_json::Val::Obj(i)) => match i.get(&jaq_json::Val::from(k.to_string())) {
                    Some(jaq_json::Val::TStr(s)) => String::from_utf8_lossy(s).into_owned(),
                    _ => String::new(),
                },
                _ => String::new(),
            }
        };
        // Like Gitea: answer the dispatch at once, run the workflow afterwards.
        let mut cmd = bin();
        cmd.env("INPUT_FILE", input("file"))
            .env("YQ_TPL", input("yq_tpl"))
            .env("VERSION", input("version"))
            .env("SOURCE_REPO", input("source_repo"))
            .env("SOURCE_COMMIT", input("source_commit"))
            .env("DISPATCH_ID", input("dispatch_id"))
            .env("GIT_TAG_PREFIX", input("git_tag_prefix"))
            .env("GITOPS_REPO", &self.git_url)
            .env("GITEA_API_URL", &self.api_url)
            .env("GITEA_TOKEN", crate::common::git::TOKEN);
        let done = self.done.clone();
        std::thread::spawn(move || {
            let cwd = tempfile::tempdir().unwrap();
            let out = cmd.current_dir(cwd.path()).output().unwrap();
            *done.lock().unwrap() = Some(out);
        });
        ResponseTemplate::new(204)
    }
}

/// The commits endpoint, answered from the real repository.
struct GitLog(std::path::PathBuf);

impl wiremock::Respond for GitLog {
    fn respond(&self, _req: &wiremock::Request) -> ResponseTemplate {
        let log = crate::common::git::git_out(
            &self.0,
            &["log", "-n", "50", "--format=%H%x00%B%x01", "main"],
        );
        let items: Vec<String> = log
            .split('\u{1}')
            .filter_map(|e| e.trim_start_matches('\n').split_once('\0'))
            .map(|(sha, msg)| {
                commit(sha, msg).replace(
                    &msg.replace('\n', "\\n"),
                    &gitops_update::report::json_str(msg)
                        [1..gitops_update::report::json_str(msg).len() - 1],
                )
            })
            .collect();
        json(200, &format!("[{}]", items.join(",")))
    }
}

#[test]
fn end_to_end_dispatch_runs_the_updater_and_the_consumer_finds_its_commit() {
    use crate::common::git::{HttpServer, Remote};
    let api = Api::new();
    let remote = Remote::new(&[("values.yaml", "image:\n  tag: \"1.0.0\"  # keep me\n")]);
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("acme")).unwrap();
    std::os::unix::fs::symlink(remote.bare(), root.path().join("acme/deploy.git")).unwrap();
    let git = HttpServer::start(root.path());
    let done = std::sync::Arc::new(std::sync::Mutex::new(None));
    api.mount(
        Mock::given(method("POST"))
            .and(path(
                "/api/v1/repos/acme/deploy/actions/workflows/gitops-service.yaml/dispatches",
            ))
            .and(header(
                "authorization",
                format!("token {GITOPS_TOKEN}").as_str(),
            ))
            .respond_with(RunsTheUpdater {
                git_url: git.url("acme/deploy.git"),
                api_url: format!("{}/api/v1", api.server.uri()),
                done: done.clone(),
            }),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path("/api/v1/repos/acme/deploy/commits"))
            .respond_with(GitLog(remote.bare())),
    );
    api.mount(
        Mock::given(method("POST"))
            .and(path_regex(
                r"^/api/v1/repos/acme/deploy/statuses/[0-9a-f]{40}$",
            ))
            .respond_with(json(201, r#"{"id":2,"status":"success"}"#)),
    );
    let before = remote.tip("main");
    let r = api.run(&["--wait-timeout", "60s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The updater may still be setting its own status when the consumer is done.
    for _ in 0..200 {
        if done.lock().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let updater = done.lock().unwrap().take().expect("the updater ran");
    assert!(
        updater.status.success(),
        "updater: {}",
        String::from_utf8_lossy(&updater.stderr)
    );
    let tip = remote.tip("main");
    assert_ne!(tip, before);
    assert_eq!(r.stdout, format!("app|1.2.3|success|{tip}|acme/deploy\n"));
    assert_eq!(
        remote.show("main", "values.yaml"),
        "image:\n  tag: \"1.2.3\"  # keep me\n"
    );
    assert!(
        remote.message("main").contains("Dispatch-Id: d-42\n"),
        "{}",
        remote.message("main")
    );
    let gitops_status = api.requests("POST", &format!("/repos/acme/deploy/statuses/{tip}"));
    assert_eq!(gitops_status.len(), 1, "the updater marked its commit");
    let consumer = api.requests("POST", &format!("/statuses/{SOURCE_SHA}"));
    assert_eq!(consumer.len(), 1);
    let body = String::from_utf8_lossy(&consumer[0].body).into_owned();
    assert!(
        body.contains(r#""state":"success""#) && body.contains(&tip),
        "{body}"
    );
}
