//! The third way the tool is used (issue 13 #6): a developer's dry run in a checkout, with
//! no subcommand, no `--repo` and no token, online and offline.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::git::{git_out, Faults, Remote};
use crate::common::run::{http_remote, ok, remote, VALUES};
use crate::common::{bin, run, Run};

const EXPR: &str = ".image.tag = \"{{VERSION}}\"";

fn clone(url: &str, dir: &Path) -> PathBuf {
    let work = dir.join("deploy");
    git_out(dir, &["clone", "-q", url, work.to_str().unwrap()]);
    work
}

/// The three flags and `--dry-run`, nothing else: no subcommand, no repository, no token.
fn dry_run(work: &Path) -> Run {
    run(bin().current_dir(work).args([
        "--dry-run",
        "--file",
        "charts/app/values.yaml",
        "--expression",
        EXPR,
        "--version",
        "2.0.0",
        "--timeout",
        "3",
    ]))
}

fn diff(before: &str, after: &str) -> String {
    let mut d = String::from("--- a/charts/app/values.yaml\n+++ b/charts/app/values.yaml\n");
    d.push_str("@@ -1,5 +1,5 @@\n # app values\n image:\n   repository: ghcr.io/acme/app\n");
    d.push_str(&format!("-  tag: \"{before}\"  # bumped by CI\n"));
    d.push_str(&format!("+  tag: \"{after}\"  # bumped by CI\n"));
    d.push_str(" replicas: 3\n");
    d
}

#[track_caller]
fn assert_untouched(work: &Path, head: &str) {
    assert_eq!(
        git_out(work, &["status", "--porcelain"]),
        "",
        "the checkout changed"
    );
    assert_eq!(git_out(work, &["rev-parse", "HEAD"]).trim(), head);
}

fn moved_on(remote: &Remote) {
    remote.commit_elsewhere(
        "charts/app/values.yaml",
        &VALUES.replace("replicas: 2", "replicas: 3"),
        "scale",
    );
}

#[test]
fn a_dry_run_in_a_checkout_diffs_against_the_remote_tip() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path());
    let head = git_out(&work, &["rev-parse", "HEAD"]).trim().to_string();
    // The remote has moved on since the clone: the diff shows the remote's file.
    moved_on(&remote);
    let tip = remote.tip("main");
    let r = dry_run(&work);
    ok(&r);
    assert_eq!(r.stdout, diff("1.0.0", "2.0.0"));
    assert!(
        r.stderr.contains(&format!(
            "dry run: the diff is against the remote's tip, main at {}",
            &tip[..7]
        )),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), tip, "nothing pushed");
    assert_untouched(&work, &head);
}

#[test]
fn an_offline_dry_run_diffs_against_the_checkouts_head() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path());
    let head = git_out(&work, &["rev-parse", "HEAD"]).trim().to_string();
    // HEAD carries a change the remote will never see; the remote then goes away.
    fs::write(
        work.join("charts/app/values.yaml"),
        VALUES.replace("replicas: 2", "replicas: 3"),
    )
    .unwrap();
    git_out(&work, &["commit", "-q", "-am", "local"]);
    let head_now = git_out(&work, &["rev-parse", "HEAD"]).trim().to_string();
    assert_ne!(head_now, head);
    fs::rename(remote.bare(), remote.dir.path().join("gone.git")).unwrap();
    let r = dry_run(&work);
    ok(&r);
    assert_eq!(r.stdout, diff("1.0.0", "2.0.0"));
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("dry run:"))
        .unwrap_or_else(|| panic!("no line says what the diff is against: {}", r.stderr));
    assert!(
        line.contains("is out of reach")
            && line.ends_with(&format!(
                "the diff is against the checkout's HEAD, {}",
                &head_now[..7]
            )),
        "{line}"
    );
    assert_untouched(&work, &head_now);
}

#[test]
fn an_ssh_origin_gives_a_dry_run_against_head() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path());
    let head = git_out(&work, &["rev-parse", "HEAD"]).trim().to_string();
    git_out(
        &work,
        &[
            "remote",
            "set-url",
            "origin",
            "git@127.0.0.1:acme/deploy.git",
        ],
    );
    let r = dry_run(&work);
    ok(&r);
    assert_eq!(
        r.stdout,
        diff("1.0.0", "2.0.0").replace("replicas: 3", "replicas: 2")
    );
    assert!(
        r.stderr
            .contains("git@127.0.0.1:acme/deploy.git is out of reach")
            && r.stderr
                .contains(&format!("the checkout's HEAD, {}", &head[..7])),
        "{}",
        r.stderr
    );
    // Only a dry run reads an SSH origin; an update says what to use instead.
    let r = run(bin().current_dir(&work).args([
        "--file",
        "charts/app/values.yaml",
        "--expression",
        EXPR,
        "--version",
        "2.0.0",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("SSH repository addresses are not supported"),
        "{}",
        r.stderr
    );
    assert_untouched(&work, &head);
}

#[test]
fn a_public_http_remote_needs_no_token() {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        public: true,
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&server.url("acme/deploy.git"), dir.path());
    let head = git_out(&work, &["rev-parse", "HEAD"]).trim().to_string();
    moved_on(&remote);
    let seen = server.requests().len();
    let r = dry_run(&work);
    ok(&r);
    assert_eq!(r.stdout, diff("1.0.0", "2.0.0"));
    assert!(
        r.stderr
            .contains("the diff is against the remote's tip, main at"),
        "{}",
        r.stderr
    );
    let requests = &server.requests()[seen..];
    assert!(!requests.is_empty(), "the dry run fetched");
    assert!(
        requests.iter().all(|q| q.authorization.is_none()
            && q.status == 200
            && !q.path.contains("receive-pack")),
        "{requests:?}"
    );
    assert_untouched(&work, &head);
}

#[test]
fn version_alone_is_the_tools_version_and_followed_by_anything_is_runs() {
    for flag in ["--version", "-V"] {
        let r = run(bin().arg(flag));
        ok(&r);
        assert_eq!(
            r.stdout,
            format!("gitops-update {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let r = run(bin().current_dir(dir.path()).args(["--version", "1.2.3"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nothing to edit"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
}

#[test]
fn outside_a_checkout_the_repository_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(bin().current_dir(dir.path()).args([
        "--dry-run",
        "--file",
        "values.yaml",
        "--expression",
        EXPR,
        "--version",
        "2.0.0",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: no repository: set GITOPS_REPO or pass --repo (owner/name, or a git URL or path), or run in a checkout that has an origin\n"
    );
    assert_eq!(r.stdout, "");
}
