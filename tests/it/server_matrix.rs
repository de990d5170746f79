//! The Gitea emulator (`common::gitea`) release by release, where the receiver's run depends
//! on it: `concurrency:` from 1.26 (blocked and cancelled runs), the job token's
//! `permissions:` from 1.26 (push, commit status, fetch, dispatch, runs), pushes by the job
//! token to a protected branch (refused up to 1.26, allowed from 1.27.0 without a push
//! whitelist), and Forgejo 11 to 13's answers. Runs are dispatched with the bot token as a
//! consumer would, and run the real updater with their own job token; a held runner
//! (`Options::hold_jobs`) lets a test act while a run runs, so nothing depends on timing.

use std::path::Path;
use std::time::Duration;

use crate::common::git::{git, Remote, TOKEN};
use crate::common::gitea::{Gitea, Options, Protection, RunView, PUSHER};
use crate::common::{bin, run};

const VALUES: &str = "image:\n  tag: \"1.0.0\"  # keep me\n";
const LIMIT: Duration = Duration::from_secs(60);

/// The shipped receiver (`contents: write`, `statuses: write` on its job).
fn shipped_receiver() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows/gitops-service.yaml"),
    )
    .unwrap()
}

/// A receiver like the shipped one, with this workflow-level `concurrency:` block (or none)
/// and these lines as its job's `permissions:` (or none at all).
fn receiver(concurrency: &str, permissions: Option<&str>) -> String {
    let mut wf = String::from(
        r#"name: gitops-service
run-name: "GitOps (${{ inputs.dispatch_id || 'manual' }})"
on:
  workflow_dispatch:
    inputs:
      file:
        required: true
      yq_tpl:
        required: true
      version:
        required: true
      source_repo:
        required: true
      source_commit:
        required: true
      dispatch_id:
        default: ""
"#,
    );
    wf.push_str(concurrency);
    wf.push_str("jobs:\n  update:\n    runs-on: gitops\n");
    if let Some(p) = permissions {
        wf.push_str("    permissions:\n");
        for line in p.lines() {
            wf.push_str(&format!("      {line}\n"));
        }
    }
    wf.push_str("    steps:\n      - id: update\n        run: gitops-update || [ \"$?\" -eq 8 ]\n");
    wf
}

struct World {
    gitea: Gitea,
    deploy: Remote,
    _app: Remote,
    source_sha: String,
}

fn world(opts: Options, workflow: &str) -> World {
    let deploy = Remote::new(&[
        ("values.yaml", VALUES),
        (".gitea/workflows/gitops-service.yaml", workflow),
    ]);
    let app = Remote::new(&[("README", "app\n")]);
    let source_sha = app.tip("main");
    let gitea = Gitea::start(opts, &[("acme/deploy", &deploy), ("acme/app", &app)]);
    World {
        gitea,
        deploy,
        _app: app,
        source_sha,
    }
}

fn opts(version: &'static str) -> Options {
    Options {
        version,
        pickup: Duration::from_millis(10),
        startup: Duration::from_millis(10),
        ..Options::default()
    }
}

fn held(version: &'static str) -> Options {
    Options {
        hold_jobs: true,
        ..opts(version)
    }
}

/// One API request: its status and body. `token` as Gitea's `token X` header.
fn api(method: &str, url: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let req = ureq::request(method, url).set("Authorization", &format!("token {token}"));
    let answer = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    match answer {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}/repos/{path}", self.gitea.api_url())
    }

    /// Dispatches the receiver with the bot token, as a consumer does; the new run's id.
    fn dispatch(&self, id: &str, version: &str) -> u64 {
        let body = format!(
            r#"{{"ref":"main","inputs":{{"file":"values.yaml","yq_tpl":".image.tag = \"{{{{VERSION}}}}\"","version":"{version}","source_repo":"acme/app","source_commit":"{}","dispatch_id":"{id}"}}}}"#,
            self.source_sha
        );
        let (status, answer) = api(
            "POST",
            &self.url("acme/deploy/actions/workflows/gitops-service.yaml/dispatches"),
            TOKEN,
            Some(&body),
        );
        assert!(status < 300, "{status} {answer}");
        self.gitea.runs().last().map(|r| r.id).unwrap()
    }

    fn run(&self, id: u64) -> RunView {
        self.gitea.runs().into_iter().find(|r| r.id == id).unwrap()
    }

    /// `GET /actions/runs/{id}` with the bot token.
    fn run_json(&self, id: u64) -> (u16, String) {
        api(
            "GET",
            &self.url(&format!("acme/deploy/actions/runs/{id}")),
            TOKEN,
            None,
        )
    }

    /// The task ids `/actions/tasks` lists, newest first.
    fn task_titles(&self) -> Vec<String> {
        let (status, body) = api("GET", &self.url("acme/deploy/actions/tasks"), TOKEN, None);
        assert_eq!(status, 200, "{body}");
        let v = jaq_json::read::parse_single(body.as_bytes()).unwrap();
        let jaq_json::Val::Obj(o) = v else {
            panic!("{body}")
        };
        let Some(jaq_json::Val::Arr(runs)) =
            o.get(&jaq_json::Val::from("workflow_runs".to_string()))
        else {
            panic!("{body}")
        };
        runs.iter()
            .map(|r| match r {
                jaq_json::Val::Obj(t) => t
                    .get(&jaq_json::Val::from("display_title".to_string()))
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .collect()
    }

    /// Lets held run `id` go and waits for its end; its exit code and stderr.
    fn finish(&self, id: u64) -> (i32, String) {
        self.gitea.release(id);
        let start = std::time::Instant::now();
        loop {
            let r = self.run(id);
            if let Some(result) = r.result.clone() {
                if !matches!(r.status, "running" | "waiting" | "blocked") {
                    return result;
                }
            }
            assert!(start.elapsed() < LIMIT, "run {id} did not end: {r:#?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn values(&self) -> String {
        self.deploy.show("main", "values.yaml")
    }
}

// ---- concurrency: (1.26+) -------------------------------------------------------------

const GROUP: &str = "concurrency: gitops-${{ inputs.file }}\n";
const CANCEL: &str =
    "concurrency:\n  group: gitops-${{ inputs.file }}\n  cancel-in-progress: true\n";

/// Without cancel-in-progress a new run of a running group is blocked (no task, `waiting`
/// in `/actions/runs`); the next one cancels the blocked one; the last starts when the
/// running one ends.
#[test]
fn a_concurrency_group_blocks_new_runs_while_one_runs_on_1_26() {
    let w = world(held("1.26.0"), &receiver(GROUP, Some("contents: write")));
    let a = w.dispatch("a", "1.1.0");
    w.gitea.wait_for(a, "running", LIMIT);
    assert_eq!(
        w.run(a).concurrency,
        Some(("gitops-values.yaml".to_string(), false))
    );
    let b = w.dispatch("b", "1.2.0");
    assert_eq!(w.run(b).status, "blocked");
    let (code, body) = w.run_json(b);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""status":"waiting""#), "{body}");
    assert!(!body.contains("conclusion"), "{body}");
    let (_, body) = w.run_json(a);
    assert!(body.contains(r#""status":"in_progress""#), "{body}");
    // The next run of the group drops the blocked one and is blocked in its place.
    let c = w.dispatch("c", "1.3.0");
    assert_eq!(w.run(b).status, "cancelled");
    assert_eq!(w.run(c).status, "blocked");
    let (_, body) = w.run_json(b);
    assert!(
        body.contains(r#""status":"completed","conclusion":"cancelled""#),
        "{body}"
    );
    // A blocked run has no task: the runner never took it.
    assert_eq!(w.task_titles(), vec!["\"GitOps (a)\"".to_string()]);
    assert_eq!(w.finish(a).0, 0);
    assert_eq!(w.run(a).status, "success");
    w.gitea.wait_for(c, "running", LIMIT);
    assert_eq!(w.finish(c).0, 0);
    assert!(w.values().contains("1.3.0"), "{}", w.values());
    assert_eq!(w.run(b).result, None, "the cancelled run never ran");
    let (_, body) = w.run_json(c);
    assert!(body.contains(r#""conclusion":"success""#), "{body}");
}

/// With cancel-in-progress the new run cancels the running one and is not blocked.
#[test]
fn cancel_in_progress_cancels_the_running_run_on_1_26() {
    let w = world(held("1.26.3"), &receiver(CANCEL, Some("contents: write")));
    let a = w.dispatch("a", "1.1.0");
    w.gitea.wait_for(a, "running", LIMIT);
    let b = w.dispatch("b", "1.2.0");
    assert_eq!(w.run(a).status, "cancelled");
    assert_eq!(
        w.run(a).concurrency,
        Some(("gitops-values.yaml".into(), true))
    );
    w.gitea.wait_for(b, "running", LIMIT);
    assert_eq!(w.finish(b).0, 0);
    assert!(w.values().contains("1.2.0"));
    assert_eq!(w.run(a).result, None, "the cancelled run's step never ran");
}

/// Groups are separate: a run of another group (another file here) neither blocks nor
/// cancels.
#[test]
fn other_concurrency_groups_do_not_interact() {
    let w = world(held("1.26.0"), &receiver(GROUP, Some("contents: write")));
    let a = w.dispatch("a", "1.1.0");
    w.gitea.wait_for(a, "running", LIMIT);
    let body = format!(
        r#"{{"ref":"main","inputs":{{"file":"other.yaml","yq_tpl":".a = 1","version":"2.0.0","source_repo":"acme/app","source_commit":"{}"}}}}"#,
        w.source_sha
    );
    let (status, answer) = api(
        "POST",
        &w.url("acme/deploy/actions/workflows/gitops-service.yaml/dispatches"),
        TOKEN,
        Some(&body),
    );
    assert_eq!(status, 204, "{answer}");
    let other = w.gitea.runs().last().unwrap().clone();
    assert_eq!(other.status, "waiting");
    assert_eq!(
        other.concurrency,
        Some(("gitops-other.yaml".to_string(), false))
    );
    assert_eq!(w.run(a).status, "running");
}

/// Before 1.26 `concurrency:` is ignored and a dispatch cancels the workflow's runs on the
/// ref (CancelPreviousJobs); on 1.26 only a group cancels, so without one both runs stay;
/// Forgejo (v13 honours cancel-in-progress for push and pull-request runs only) cancels
/// nothing on dispatch.
#[test]
fn concurrency_is_ignored_before_1_26_and_by_forgejo_dispatches() {
    for version in ["1.24.7", "1.25.4"] {
        let w = world(held(version), &receiver(GROUP, Some("contents: write")));
        let a = w.dispatch("a", "1.1.0");
        w.gitea.wait_for(a, "running", LIMIT);
        let b = w.dispatch("b", "1.2.0");
        assert_eq!(w.run(a).status, "cancelled", "{version}");
        assert_eq!(w.run(a).concurrency, None, "{version}");
        assert_eq!(w.run(b).status, "waiting", "{version}: never blocked");
    }
    for (version, wf) in [
        ("1.26.0", receiver("", Some("contents: write"))),
        ("13.0.1+gitea-1.22.0", receiver(CANCEL, None)),
        ("12.0.1+gitea-1.22.0", receiver(GROUP, None)),
    ] {
        let w = world(held(version), &wf);
        let a = w.dispatch("a", "1.1.0");
        w.gitea.wait_for(a, "running", LIMIT);
        let b = w.dispatch("b", "1.2.0");
        assert_eq!(w.run(a).status, "running", "{version}");
        assert_eq!(w.run(b).status, "waiting", "{version}");
        assert_eq!(w.run(b).concurrency, None, "{version}");
        assert_eq!(w.finish(a).0, 0, "{version}");
        w.gitea.wait_for(b, "running", LIMIT);
        assert_eq!(w.finish(b).0, 0, "{version}");
        assert!(w.values().contains("1.2.0"), "{version}");
    }
}

// ---- the job token's permissions (1.26+) ------------------------------------------------

/// `statuses: write` alone gives a 1.26 job token no unit at all (a mapping sets what it
/// does not name to none, and `statuses` is ignored): on a private repository the API and
/// git answer 404, so the run cannot even fetch. With `contents: read` it fetches, but the
/// pre-receive hook refuses the push and a commit status is 403. On 1.25 the same
/// token writes.
#[test]
fn a_statuses_write_token_can_neither_push_nor_set_a_status_on_1_26() {
    let wf = receiver("", Some("statuses: write"));
    let status = r#"{"state":"success","context":"gitops/app","description":"x"}"#;
    let w = world(held("1.26.0"), &wf);
    let tip = w.deploy.tip("main");
    let a = w.dispatch("a", "1.2.3");
    let token = w.gitea.wait_for(a, "running", LIMIT).token;
    assert_ne!(token, TOKEN, "each run has its own job token");
    let (code, body) = api(
        "POST",
        &w.url(&format!("acme/deploy/statuses/{tip}")),
        &token,
        Some(status),
    );
    assert_eq!(code, 404, "{body}");
    let (code, stderr) = w.finish(a);
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("status code: 404"), "{stderr}");
    // Said as what it is: the token's permissions, not the network.
    assert!(
        stderr.contains("the token may not read it")
            && stderr.contains("the update needs `contents: write`")
            && !stderr.contains("check the URL and the network"),
        "{stderr}"
    );
    assert_eq!(w.run(a).status, "failure");
    assert_eq!(w.deploy.tip("main"), tip, "nothing pushed");
    assert!(w.gitea.statuses("acme/deploy").is_empty());

    let w = world(
        held("1.26.0"),
        &receiver("", Some("contents: read\nstatuses: write")),
    );
    let tip = w.deploy.tip("main");
    let a = w.dispatch("a", "1.2.3");
    let token = w.gitea.wait_for(a, "running", LIMIT).token;
    let (code, body) = api(
        "POST",
        &w.url(&format!("acme/deploy/statuses/{tip}")),
        &token,
        Some(status),
    );
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("user should have a permission to write to a repo"),
        "{body}"
    );
    let (code, stderr) = w.finish(a);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("User permission denied for writing."),
        "{stderr}"
    );
    assert_eq!(w.deploy.tip("main"), tip, "nothing pushed");
    assert!(w.gitea.statuses("acme/deploy").is_empty());

    let w = world(held("1.25.4"), &wf);
    let tip = w.deploy.tip("main");
    let a = w.dispatch("a", "1.2.3");
    let token = w.gitea.wait_for(a, "running", LIMIT).token;
    let (code, body) = api(
        "POST",
        &w.url(&format!("acme/deploy/statuses/{tip}")),
        &token,
        Some(status),
    );
    assert_eq!(code, 201, "{body}");
    let (code, stderr) = w.finish(a);
    assert_eq!(code, 0, "{stderr}");
    assert!(w.values().contains("1.2.3"));
}

/// `contents: write` (the shipped receiver) pushes and sets its status on 1.25 and 1.26.
#[test]
fn contents_write_pushes_and_sets_a_status_on_1_25_and_1_26() {
    for version in ["1.25.4", "1.26.0", "1.26.3"] {
        let w = world(opts(version), &shipped_receiver());
        let a = w.dispatch("a", "1.2.3");
        w.gitea.settle(LIMIT);
        let run = w.run(a);
        assert_eq!(run.status, "success", "{version}: {run:#?}");
        let tip = w.deploy.tip("main");
        assert!(w.values().contains("1.2.3"), "{version}");
        let statuses = w.gitea.statuses("acme/deploy");
        assert!(
            statuses
                .iter()
                .any(|s| s.sha == tip && s.state == "success"),
            "{version}: {statuses:?}"
        );
        // The updater used the run's job token, not the bot's.
        let set = w
            .gitea
            .requests()
            .into_iter()
            .find(|q| q.method == "POST" && q.path.contains("/statuses/"))
            .unwrap();
        assert_eq!(
            set.authorization,
            Some(format!("token {}", run.token)),
            "{version}"
        );
    }
}

/// A 1.26 job token reaches its own repository only, with what its `permissions:` grant:
/// Actions read for runs and tasks, Actions write to dispatch, code read to fetch. Once
/// its run has ended it authenticates no one.
#[test]
fn the_job_token_reaches_what_its_permissions_grant_on_its_own_repository() {
    let w = world(held("1.26.0"), &receiver("", Some("contents: read")));
    let a = w.dispatch("a", "1.2.3");
    let token = w.gitea.wait_for(a, "running", LIMIT).token;
    let get = |path: &str| api("GET", &w.url(path), &token, None).0;
    assert_eq!(get("acme/deploy"), 200);
    assert_eq!(get("acme/deploy/commits?sha=main"), 200);
    assert_eq!(get("acme/deploy/actions/tasks"), 403);
    assert_eq!(get(&format!("acme/deploy/actions/runs/{a}")), 403);
    assert_eq!(get("acme/app"), 404, "another repository");
    let dispatch = r#"{"ref":"main","inputs":{}}"#;
    let post = |path: &str| api("POST", &w.url(path), &token, Some(dispatch)).0;
    assert_eq!(
        post("acme/deploy/actions/workflows/gitops-service.yaml/dispatches"),
        403
    );
    assert_eq!(
        post("acme/app/actions/workflows/gitops-service.yaml/dispatches"),
        404
    );
    // git: its own repository fetches, another is not found.
    assert!(ls_with(&w, "acme/deploy", &token).0);
    let (ok, said) = ls_with(&w, "acme/app", &token);
    assert!(!ok && said.contains("not found"), "{said}");
    // contents: read cannot push.
    let (code, stderr) = w.finish(a);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("User permission denied for writing."),
        "{stderr}"
    );
    assert_eq!(get("acme/deploy"), 401, "an ended run's token");

    // Without code read the repository's git is not found, and the run fails to fetch.
    let w = world(held("1.26.0"), &receiver("", Some("actions: write")));
    let a = w.dispatch("a", "1.2.3");
    let token = w.gitea.wait_for(a, "running", LIMIT).token;
    assert_eq!(
        api("GET", &w.url("acme/deploy/actions/tasks"), &token, None).0,
        200
    );
    let (ok, said) = ls_with(&w, "acme/deploy", &token);
    assert!(!ok && said.contains("not found"), "{said}");
    let (code, _) = w.finish(a);
    assert_ne!(code, 0);

    // 1.25: write on its own repository whatever `permissions:` says.
    let w = world(held("1.25.4"), &receiver("", Some("contents: read")));
    let a = w.dispatch("a", "1.2.3");
    let token = w.gitea.wait_for(a, "running", LIMIT).token;
    assert_eq!(
        api("GET", &w.url("acme/deploy/actions/tasks"), &token, None).0,
        200
    );
    assert_eq!(api("GET", &w.url("acme/app"), &token, None).0, 404);
    assert_eq!(w.finish(a).0, 0);
}

fn ls_with(w: &World, repo: &str, token: &str) -> (bool, String) {
    let url = w
        .gitea
        .git_url(repo)
        .replace("http://", &format!("http://x:{token}@"));
    let out = git(w.deploy.dir.path())
        .args(["ls-remote", &url])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---- protected branches -----------------------------------------------------------------

fn protect(version: &'static str, whitelist: Option<Vec<&'static str>>) -> Options {
    Options {
        protected: vec![Protection {
            branch: "main",
            push_whitelist: whitelist,
        }],
        ..opts(version)
    }
}

/// What cmd/hook.go prints when the internal API answers 500 with no message for users
/// (modules/private/request.go).
const INTERNAL: &str = "Internal Server Error (no message for end users)";

/// The shipped receiver's job token pushes to a protected `main`: refused up to 1.26 (the
/// hook cannot look up the Actions user: an internal error, go-gitea/gitea#34567); from
/// 1.27.0 allowed without a push whitelist, refused with one.
#[test]
fn a_job_token_push_to_a_protected_branch_by_release() {
    // (version, push whitelist, what the run says: None when it lands)
    let cases = [
        ("1.24.7", None, Some(INTERNAL)),
        ("1.25.4", None, Some(INTERNAL)),
        ("1.26.0", None, Some(INTERNAL)),
        ("1.26.3", None, Some(INTERNAL)),
        ("1.26.3", Some(vec![PUSHER]), Some(INTERNAL)),
        ("1.27.0-rc0", None, Some(INTERNAL)),
        ("1.27.0", None, None),
        (
            "1.27.0",
            Some(vec![PUSHER]),
            Some("Not allowed to push to protected branch main"),
        ),
    ];
    for (version, whitelist, want) in cases {
        let what = format!("{version} whitelist {whitelist:?}");
        let w = world(protect(version, whitelist), &shipped_receiver());
        let tip = w.deploy.tip("main");
        let a = w.dispatch("a", "1.2.3");
        w.gitea.settle(LIMIT);
        let run = w.run(a);
        let (code, stderr) = run.result.clone().unwrap();
        match want {
            None => {
                assert_eq!(code, 0, "{what}: {stderr}");
                assert!(w.values().contains("1.2.3"), "{what}");
            }
            Some(said) => {
                assert_ne!(code, 0, "{what}");
                assert!(stderr.contains(said), "{what}: {stderr}");
                assert_eq!(w.deploy.tip("main"), tip, "{what}");
            }
        }
    }
}

/// A bot token (a user's) pushes to a protected branch when the rule has no whitelist or
/// whitelists it, on every release; a whitelist without it refuses.
#[test]
fn a_bot_token_push_to_a_protected_branch_follows_the_whitelist() {
    for version in ["1.25.4", "1.26.3", "1.27.0"] {
        for (whitelist, ok) in [
            (None, true),
            (Some(vec![PUSHER]), true),
            (Some(vec!["release-manager"]), false),
        ] {
            let what = format!("{version} whitelist {whitelist:?}");
            let w = world(protect(version, whitelist), &shipped_receiver());
            let cwd = tempfile::tempdir().unwrap();
            let r = run(bin()
                .current_dir(cwd.path())
                .env("INPUT_FILE", "values.yaml")
                .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
                .env("VERSION", "1.2.3")
                .env("SOURCE_REPO", "acme/app")
                .env("SOURCE_COMMIT", &w.source_sha)
                .env("GITOPS_REPO", w.gitea.git_url("acme/deploy"))
                .env("GITEA_API_URL", w.gitea.api_url())
                .env("GITEA_TOKEN", TOKEN));
            if ok {
                assert_eq!(r.code, 0, "{what}: {}", r.stderr);
                assert!(w.values().contains("1.2.3"), "{what}");
            } else {
                assert_ne!(r.code, 0, "{what}");
                assert!(
                    r.stderr
                        .contains("Not allowed to push to protected branch main"),
                    "{what}: {}",
                    r.stderr
                );
                assert!(w.values().contains("1.0.0"), "{what}");
            }
        }
    }
}

// ---- Forgejo 11 to 13 --------------------------------------------------------------------

/// Forgejo: `return_run_info` in the body answers 201 with the run; `/actions/runs/{id}`
/// exists from v12 with the run's own status and no conclusion; the job token writes its
/// own repository (no `permissions:`), whatever the workflow says.
#[test]
fn forgejo_answers_by_release() {
    for (version, has_runs) in [
        ("11.0.1+gitea-1.22.0", false),
        ("12.0.1+gitea-1.22.0", true),
        ("13.0.1+gitea-1.22.0", true),
    ] {
        let w = world(held(version), &receiver("", Some("statuses: write")));
        let body = format!(
            r#"{{"ref":"main","return_run_info":true,"inputs":{{"file":"values.yaml","yq_tpl":".image.tag = \"{{{{VERSION}}}}\"","version":"1.2.3","source_repo":"acme/app","source_commit":"{}"}}}}"#,
            w.source_sha
        );
        let (code, answer) = api(
            "POST",
            &w.url("acme/deploy/actions/workflows/gitops-service.yaml/dispatches"),
            TOKEN,
            Some(&body),
        );
        assert_eq!(code, 201, "{version}: {answer}");
        assert!(
            answer.starts_with(r#"{"id":1,"run_number":1,"jobs":"#),
            "{version}: {answer}"
        );
        w.gitea.wait_for(1, "running", LIMIT);
        let (code, answer) = w.run_json(1);
        if has_runs {
            assert_eq!(code, 200, "{version}: {answer}");
            assert!(
                answer.contains(r#""status":"running""#),
                "{version}: {answer}"
            );
            assert!(!answer.contains("conclusion"), "{version}: {answer}");
        } else {
            assert_eq!(code, 404, "{version}: {answer}");
        }
        let (code, stderr) = w.finish(1);
        assert_eq!(code, 0, "{version}: {stderr}");
        if has_runs {
            let (_, answer) = w.run_json(1);
            assert!(
                answer.contains(r#""status":"success""#),
                "{version}: {answer}"
            );
            assert!(!answer.contains("conclusion"), "{version}: {answer}");
        }
    }
}
