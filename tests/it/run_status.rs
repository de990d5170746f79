//! The commit status the update run sets through Gitea's API, against wiremock with Gitea's
//! real path, method, headers and bodies.

use std::fs;

use wiremock::matchers::{header, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::git::{HttpServer, Remote, TOKEN};
use crate::common::{bin, run, Run};

const VALUES: &str = "image:\n  tag: \"1.0.0\"\n";
const STATUS_PATH: &str = r"^/api/v1/repos/acme/deploy/statuses/[0-9a-f]{40}$";

/// Gitea's answer to a created status (201), as its API documents it.
const CREATED: &str = r#"{"id":7,"status":"success","target_url":"","description":"","url":"","context":"","creator":{"id":1,"login":"bot"},"created_at":"2026-11-22T00:00:00Z","updated_at":"2026-11-22T00:00:00Z"}"#;

struct Setup {
    rt: tokio::runtime::Runtime,
    api: MockServer,
    remote: Remote,
    git: HttpServer,
    _root: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(MockServer::start());
    let remote = Remote::new(&[("values.yaml", VALUES)]);
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("acme")).unwrap();
    std::os::unix::fs::symlink(remote.bare(), root.path().join("acme/deploy.git")).unwrap();
    let git = HttpServer::start(root.path());
    Setup {
        rt,
        api,
        remote,
        git,
        _root: root,
        cwd: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.api));
    }

    fn run(&self, extra: &[&str], api: bool) -> Run {
        let mut cmd = bin();
        cmd.current_dir(self.cwd.path())
            .env("INPUT_FILE", "values.yaml")
            .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
            .env("VERSION", "1.2.3")
            .env("SOURCE_REPO", "acme/app")
            .env("SOURCE_COMMIT", "0123456789abcdef0123456789abcdef01234567")
            .env("GIT_TAG_PREFIX", "api/")
            .env("GITEA_TOKEN", TOKEN)
            .env("GITOPS_REPO", self.git.url("acme/deploy.git"))
            .arg("run")
            .args(extra);
        if api {
            cmd.env("GITEA_API_URL", format!("{}/api/v1/", self.api.uri()));
        }
        let r = run(&mut cmd);
        assert!(
            !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
            "token leaked"
        );
        r
    }

    fn requests(&self) -> Vec<wiremock::Request> {
        self.rt
            .block_on(self.api.received_requests())
            .unwrap_or_default()
    }
}

fn status_mock(code: u16) -> Mock {
    Mock::given(method("POST"))
        .and(path_regex(STATUS_PATH))
        .and(header("authorization", format!("token {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(code).set_body_raw(
            if code == 201 {
                CREATED.to_string()
            } else {
                format!("{{\"message\":\"status {code} from the mock\",\"url\":\"\"}}")
            },
            "application/json",
        ))
}

fn json(body: &[u8]) -> jaq_json::Val {
    jaq_json::read::parse_single(body).expect("a JSON body")
}

#[test]
fn the_pushed_commit_gets_a_success_status() {
    let s = setup();
    s.mount(status_mock(201));
    let r = s.run(&[], true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tip = s.remote.tip("main");
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        reqs[0].url.path(),
        format!("/api/v1/repos/acme/deploy/statuses/{tip}")
    );
    assert_eq!(
        reqs[0].headers.get("content-type").unwrap(),
        "application/json"
    );
    let want = json(
        format!(
            r#"{{"state":"success","context":"gitops/acme/app/api","target_url":"{}/acme/app/commit/0123456789abcdef0123456789abcdef01234567","description":"app-api 1.2.3 from acme/app@0123456"}}"#,
            s.api.uri()
        )
        .as_bytes(),
    );
    assert_eq!(json(&reqs[0].body), want);
    assert!(
        r.stderr
            .contains("commit status gitops/acme/app/api set on"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_up_to_date_run_marks_the_tip() {
    let s = setup();
    s.mount(status_mock(201));
    assert_eq!(s.run(&[], true).code, 0);
    let r = s.run(&[], true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].url.path().ends_with(&s.remote.tip("main")));
}

/// An older build finishing last (exit 8) writes nothing, yet records itself on the tip it
/// found, so that its dispatch ends at once: under a context of its own, since the tip's
/// `gitops/` status is the newer run's and must stay so.
#[test]
fn a_superseded_run_records_itself_beside_the_newer_runs_status() {
    let s = setup();
    s.mount(status_mock(201));
    s.remote
        .commit_elsewhere("values.yaml", "image:\n  tag: \"2.0.0\"\n", "newer build");
    let tip = s.remote.tip("main");
    let r = s.run(&["--dispatch-id", "d-7"], true);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(s.remote.tip("main"), tip, "nothing pushed");
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        reqs[0].url.path(),
        format!("/api/v1/repos/acme/deploy/statuses/{tip}")
    );
    let want = json(
        format!(
            r#"{{"state":"success","context":"gitops-superseded/acme/app/api","target_url":"{}/acme/app/commit/0123456789abcdef0123456789abcdef01234567","description":"app-api 1.2.3 from acme/app@0123456 superseded by 2.0.0 (dispatch d-7)"}}"#,
            s.api.uri()
        )
        .as_bytes(),
    );
    assert_eq!(json(&reqs[0].body), want);
    assert!(
        r.stderr
            .contains("commit status gitops-superseded/acme/app/api set on"),
        "{}",
        r.stderr
    );
    // A dry run still sets nothing.
    let r = s.run(&["--dispatch-id", "d-7", "--dry-run"], true);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(s.requests().len(), 1);
}

/// Without its record, a dispatched superseded run would look to its dispatch like one that
/// found its version there: it fails (exit 6) instead. Not dispatched, a warning as ever.
#[test]
fn a_dispatched_superseded_run_that_cannot_record_itself_fails() {
    let s = setup();
    s.mount(status_mock(403));
    s.remote
        .commit_elsewhere("values.yaml", "image:\n  tag: \"2.0.0\"\n", "newer build");
    let tip = s.remote.tip("main");
    let r = s.run(&["--dispatch-id", "d-7"], true);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("the commit status could not be set") && r.stderr.contains("403"),
        "{}",
        r.stderr
    );
    let r = s.run(&[], true);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(r.stderr.contains("could not be set"), "{}", r.stderr);
    assert_eq!(s.remote.tip("main"), tip, "nothing pushed");
}

#[test]
fn server_errors_are_retried() {
    let s = setup();
    s.mount(status_mock(502).up_to_n_times(2).with_priority(1));
    s.mount(status_mock(201).with_priority(2));
    let r = s.run(&[], true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(s.requests().len(), 3, "two 502s, then 201");
    assert!(!r.stderr.contains("could not be set"), "{}", r.stderr);
}

#[test]
fn a_refusal_is_a_warning_quoting_gitea_unless_required() {
    let s = setup();
    s.mount(status_mock(403));
    let r = s.run(&[], true);
    assert_eq!(r.code, 0, "the update itself is done: {}", r.stderr);
    assert!(
        r.stderr
            .contains("Gitea answered 403: status 403 from the mock"),
        "{}",
        r.stderr
    );
    assert_eq!(s.requests().len(), 1, "a 4xx is not retried");
    let before = s.remote.tip("main");
    let r = s.run(&["--require-status"], true);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("error: the commit status could not be set: Gitea answered 403"),
        "{}",
        r.stderr
    );
    assert_eq!(
        s.remote.tip("main"),
        before,
        "already up to date: nothing pushed again"
    );
}

#[test]
fn an_unreachable_api_fails_only_with_require_status() {
    let s = setup();
    let dead = format!(
        "http://127.0.0.1:{}/api/v1",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let r = run(bin()
        .current_dir(s.cwd.path())
        .env("INPUT_FILE", "values.yaml")
        .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
        .env("VERSION", "1.2.3")
        .env("GITEA_TOKEN", TOKEN)
        .env("GITEA_API_URL", &dead)
        .env("GITOPS_REPO", s.git.url("acme/deploy.git"))
        .args(["run", "--require-status"]));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("Gitea did not answer"), "{}", r.stderr);
    assert!(
        s.remote.show("main", "values.yaml").contains("1.2.3"),
        "the push happened first"
    );
}

#[test]
fn no_server_means_no_status_and_one_line_saying_so() {
    let s = setup();
    let r = s.run(&[], false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("gitops-update: commit status skipped: no GITEA_API_URL\n"),
        "{}",
        r.stderr
    );
    assert!(s.requests().is_empty());
}

/// Credentials written into GITEA_API_URL never reach the status's public link, the
/// request's URL, or the run's output (issue 26, item 8).
#[test]
fn credentials_in_the_api_url_stay_out_of_the_status() {
    let s = setup();
    s.mount(status_mock(201));
    let with_creds = s.api.uri().replace("http://", "http://bot:s3/cr3t@");
    let mut cmd = bin();
    cmd.current_dir(s.cwd.path())
        .env("INPUT_FILE", "values.yaml")
        .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
        .env("VERSION", "1.2.3")
        .env("SOURCE_REPO", "acme/app")
        .env("SOURCE_COMMIT", "0123456789abcdef0123456789abcdef01234567")
        .env("GITEA_TOKEN", TOKEN)
        .env("GITEA_API_URL", format!("{with_creds}/api/v1"))
        .env("GITOPS_REPO", s.git.url("acme/deploy.git"))
        .arg("run");
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let body = String::from_utf8_lossy(&reqs[0].body).into_owned();
    assert!(
        body.contains(&format!(
            "\"target_url\":\"{}/acme/app/commit/",
            s.api.uri()
        )),
        "{body}"
    );
    for text in [&body, &r.stdout, &r.stderr, &reqs[0].url.to_string()] {
        assert!(!text.contains("cr3t"), "a credential leaked: {text}");
    }
}

/// A server whose error text would drive the terminal (colours, a cursor move, a fake log
/// line, a bidi override): it reaches stderr escaped, and bounded (issue 26, item 6).
#[test]
fn server_text_reaches_the_terminal_escaped() {
    let s = setup();
    let hostile = format!(
        "{{\"message\":\"no\\u001b[2K\\u001b[1Agitops-update: pushed 0000000 to main\\ngitops-update: forged\\u202egnp.exe{}\"}}",
        "x".repeat(5000)
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path_regex(STATUS_PATH))
            .respond_with(ResponseTemplate::new(403).set_body_raw(hostile, "application/json")),
    );
    for extra in [&[][..], &["--require-status"][..]] {
        let r = s.run(extra, true);
        assert!(
            !r.stderr.contains(['\u{1b}', '\u{202e}']),
            "raw escapes reached the terminal: {:?}",
            r.stderr
        );
        assert!(
            r.stderr.contains("Gitea answered 403: no\\u{1b}[2K\\u{1b}[1Agitops-update: pushed 0000000 to main\\u{a}gitops-update: forged\\u{202e}gnp.exe"),
            "{}",
            r.stderr
        );
        assert!(
            !r.stderr
                .lines()
                .any(|l| l.starts_with("gitops-update: forged")),
            "a server line passed for ours: {}",
            r.stderr
        );
        assert!(r.stderr.len() < 2000, "unbounded: {} bytes", r.stderr.len());
    }
}
