//! A run inside a developer's checkout (issue 25): the update is made on the remote's tip,
//! and the checkout is never left worse than it was. It follows by fast-forward where that
//! loses nothing (behind, equal, a detached HEAD at the tip); a branch with commits the
//! remote lacks, or local changes in the way, is left as it was with a note; uncommitted
//! changes to the edited file refuse the run. A dry run writes nothing anywhere.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::git::{git_out, Faults, Remote};
use crate::common::run::{http_remote, remote, VALUES};
use crate::common::{bin, run, Run};

const FILE: &str = "charts/app/values.yaml";

fn clone(url: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let work = dir.join("deploy");
    let mut args = vec!["clone", "-q"];
    args.extend_from_slice(extra);
    args.extend([url, work.to_str().unwrap()]);
    git_out(dir, &args);
    work
}

/// `gitops-update` in the checkout, as a developer types it: no repository, no token.
fn update(work: &Path, extra: &[&str]) -> Run {
    update_to(work, "2.0.0", extra)
}

fn update_to(work: &Path, version: &str, extra: &[&str]) -> Run {
    let mut cmd = bin();
    cmd.current_dir(work).args([
        "--file",
        FILE,
        "--expression",
        ".image.tag = \"{{VERSION}}\"",
        "--version",
        version,
    ]);
    run(cmd.args(extra))
}

/// A commit of the developer's own, not pushed: README.md becomes `text`.
fn commit_locally(work: &Path, text: &str) -> String {
    fs::write(work.join("README.md"), text).unwrap();
    git_out(work, &["commit", "-qam", "local work"]);
    head(work)
}

fn head(work: &Path) -> String {
    git_out(work, &["rev-parse", "HEAD"]).trim().to_string()
}

fn status(work: &Path) -> String {
    git_out(work, &["status", "--porcelain=v1", "--branch"])
}

/// No ref of ours, no FETCH_HEAD, in the checkout.
#[track_caller]
fn nothing_of_ours(work: &Path) {
    assert_eq!(git_out(work, &["for-each-ref", "refs/gitops-update"]), "");
    assert!(!work.join(".git/FETCH_HEAD").exists(), "FETCH_HEAD written");
}

#[test]
fn a_clean_checkout_follows_the_push_and_stays_clean() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    // Another pipeline changed another file since the clone.
    remote.commit_elsewhere("README.md", "deploy, moved\n", "other");
    let r = update(&work, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tip = remote.tip("main");
    assert_eq!(head(&work), tip);
    assert_eq!(status(&work), "## main...origin/main\n", "clean, not ahead");
    assert_eq!(git_out(&work, &["rev-parse", "origin/main"]).trim(), tip);
    // The other pipeline's change is in the work tree, not reverted in the index.
    assert_eq!(
        fs::read_to_string(work.join("README.md")).unwrap(),
        "deploy, moved\n"
    );
    assert!(fs::read_to_string(work.join(FILE))
        .unwrap()
        .contains("tag: \"2.0.0\""));
    nothing_of_ours(&work);
}

#[test]
fn a_branch_ahead_keeps_its_commit_and_is_told() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    let mine = commit_locally(&work, "local\n");
    let r = update(&work, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tip = remote.tip("main");
    assert_eq!(head(&work), mine, "the local commit is still the branch");
    assert_eq!(git_out(&work, &["rev-parse", "origin/main"]).trim(), tip);
    assert_eq!(status(&work), "## main...origin/main [ahead 1, behind 1]\n");
    assert_eq!(remote.show("main", "README.md"), "deploy\n", "not pushed");
    assert!(
        r.stderr.contains(
            "note: your branch main has commits that the remote's main lacks, so it was left at"
        ) && r.stderr.contains("`git pull --rebase` brings it in"),
        "{}",
        r.stderr
    );
    nothing_of_ours(&work);
}

#[test]
fn a_diverged_branch_is_left_as_it_was() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    let mine = commit_locally(&work, "local\n");
    remote.commit_elsewhere(FILE, &VALUES.replace("replicas: 2", "replicas: 3"), "scale");
    let r = update(&work, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(head(&work), mine);
    assert_eq!(
        fs::read_to_string(work.join("README.md")).unwrap(),
        "local\n"
    );
    assert_eq!(status(&work), "## main...origin/main [ahead 1, behind 2]\n");
    let pushed = remote.show("main", FILE);
    assert!(
        pushed.contains("replicas: 3") && pushed.contains("tag: \"2.0.0\""),
        "{pushed}"
    );
}

#[test]
fn a_detached_head_at_the_tip_follows_and_one_with_its_own_commit_does_not() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    git_out(&work, &["checkout", "-q", "--detach"]);
    let r = update(&work, &["--branch", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(head(&work), remote.tip("main"));
    assert_eq!(status(&work), "## HEAD (no branch)\n");

    let mine = commit_locally(&work, "detached work\n");
    let r = update_to(&work, "2.0.1", &["--branch", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(head(&work), mine);
    assert!(
        r.stderr
            .contains("note: the detached HEAD has commits that the remote's main lacks"),
        "{}",
        r.stderr
    );
    assert!(remote.show("main", FILE).contains("\"2.0.1\""));
}

#[test]
fn another_branch_checked_out_is_none_of_the_updates_business() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    git_out(&work, &["checkout", "-q", "-b", "feature"]);
    let r = update(&work, &["--branch", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tip = remote.tip("main");
    assert_ne!(head(&work), tip, "feature did not move");
    assert_eq!(git_out(&work, &["rev-parse", "origin/main"]).trim(), tip);
    assert_eq!(git_out(&work, &["rev-parse", "main"]).trim(), head(&work));
    assert_eq!(git_out(&work, &["status", "--porcelain"]), "");
}

#[test]
fn uncommitted_changes_to_the_file_refuse_the_run() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    let before = remote.tip("main");
    let edited = VALUES.replace("replicas: 2", "replicas: 9");
    fs::write(work.join(FILE), &edited).unwrap();
    let r = update(&work, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.lines().last().unwrap().contains(
            "charts/app/values.yaml has uncommitted changes in this checkout, and the update is made on the remote's tip without them"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), before);
    assert_eq!(fs::read_to_string(work.join(FILE)).unwrap(), edited);
    // A dry run only reads: it shows the diff against the remote's tip.
    let r = update(&work, &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("+  tag: \"2.0.0\""), "{}", r.stdout);
    assert_eq!(fs::read_to_string(work.join(FILE)).unwrap(), edited);
}

#[test]
fn local_changes_elsewhere_are_kept_and_in_the_way_leave_the_branch() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    // A change the update does not touch: kept, and the branch follows.
    fs::write(work.join("charts/app/Chart.yaml"), "name: app # local\n").unwrap();
    let r = update(&work, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(head(&work), remote.tip("main"));
    assert_eq!(
        git_out(&work, &["status", "--porcelain"]),
        " M charts/app/Chart.yaml\n"
    );
    // Upstream changes that file too: the fast-forward would overwrite it, so nothing moves.
    remote.commit_elsewhere("charts/app/Chart.yaml", "name: app\nversion: 2\n", "chart");
    let at = head(&work);
    let r = update_to(&work, "2.0.1", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(head(&work), at);
    assert_eq!(
        fs::read_to_string(work.join("charts/app/Chart.yaml")).unwrap(),
        "name: app # local\n"
    );
    assert_eq!(
        git_out(&work, &["status", "--porcelain"]),
        " M charts/app/Chart.yaml\n"
    );
    assert!(
        r.stderr.contains(
            "note: your branch main was left where it was: local changes stand in the way"
        ),
        "{}",
        r.stderr
    );
    assert!(remote.show("main", FILE).contains("\"2.0.1\""));
}

/// Every file under `.git` but the object store, with its bytes: what a dry run may not
/// change.
fn git_dir_snapshot(work: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with("objects") {
                continue;
            }
            if p.is_dir() {
                out.push((rel, Vec::new()));
                walk(&p, root, out);
            } else {
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    let root = work.join(".git");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

#[test]
fn a_dry_run_changes_nothing_in_a_full_or_shallow_clone_over_http() {
    for depth in [None, Some("--depth=1")] {
        let (remote, server, _root) = http_remote();
        server.inject(Faults {
            public: true,
            ..Faults::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let extra: Vec<&str> = depth.into_iter().collect();
        let work = clone(&server.url("acme/deploy.git"), dir.path(), &extra);
        remote.commit_elsewhere(FILE, &VALUES.replace("replicas: 2", "replicas: 3"), "scale");
        let shallow = git_out(&work, &["rev-parse", "--is-shallow-repository"]);
        let before = git_dir_snapshot(&work);
        let r = update(&work, &["--dry-run"]);
        assert_eq!(r.code, 0, "{depth:?}: {}", r.stderr);
        assert!(
            r.stdout.contains("+  tag: \"2.0.0\"") && r.stdout.contains(" replicas: 3"),
            "{depth:?}: the diff is against the remote's tip: {}",
            r.stdout
        );
        assert_eq!(
            git_out(&work, &["rev-parse", "--is-shallow-repository"]),
            shallow
        );
        let after = git_dir_snapshot(&work);
        let changed: Vec<_> = after
            .iter()
            .filter(|f| !before.contains(f))
            .map(|(p, _)| p)
            .chain(before.iter().filter(|f| !after.contains(f)).map(|(p, _)| p))
            .collect();
        assert!(changed.is_empty(), "{depth:?}: .git changed: {changed:?}");
        assert!(
            server
                .requests()
                .iter()
                .all(|q| !q.path.contains("receive-pack")),
            "nothing pushed"
        );
    }
}

#[test]
fn a_dry_run_makes_no_api_call_that_writes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Answers 404 to everything and records every request.
    let api = rt.block_on(wiremock::MockServer::start());
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = clone(&remote.file_url(), dir.path(), &[]);
    let head_before = head(&work);
    for version in ["1.0.0", "2.0.0"] {
        let mut cmd = bin();
        cmd.current_dir(&work)
            .env("GITEA_API_URL", api.uri())
            .env("GITEA_TOKEN", "t0k3n")
            .env("GITHUB_OUTPUT", dir.path().join("out"))
            .args([
                "--dry-run",
                "--file",
                FILE,
                "--expression",
                ".image.tag = \"{{VERSION}}\"",
                "--version",
                version,
                "--source-repo",
                "acme/app",
            ]);
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{version}: {}", r.stderr);
    }
    let seen = rt.block_on(api.received_requests()).unwrap_or_default();
    assert!(
        seen.iter().all(|q| q.method.as_str() == "GET"),
        "{:?}",
        seen.iter()
            .map(|q| (q.method.to_string(), q.url.path().to_string()))
            .collect::<Vec<_>>()
    );
    assert!(
        !dir.path().join("out").exists(),
        "no step outputs from a dry run"
    );
    assert_eq!(head(&work), head_before);
    assert_eq!(git_out(&work, &["status", "--porcelain"]), "");
    nothing_of_ours(&work);
}

/// A remote whose `main` was force-pushed back between the run's fetch and its push: the
/// run starts again from the new tip, and what was pushed away stays away.
#[test]
fn a_force_push_between_fetch_and_push_is_a_retry_not_a_resurrection() {
    let (remote, server, _root) = http_remote();
    let seed = remote.tip("main");
    remote.commit_elsewhere("README.md", "mistake\n", "pushed by mistake");
    let mistake = remote.tip("main");
    server.inject(Faults {
        rewind_before_push: Some(seed.clone()),
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let r = run(
        crate::common::run::workflow(cwd.path(), &server.url("acme/deploy.git"))
            .env("GITEA_TOKEN", crate::common::git::TOKEN),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("not at"), "{}", r.stderr);
    let log = remote.log("main");
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].ends_with(&seed), "built on the rewound tip: {log:?}");
    assert!(
        !git_out(&remote.bare(), &["rev-list", "main"]).contains(&mistake),
        "the commit pushed away came back"
    );
    assert_eq!(remote.show("main", "README.md"), "deploy\n");
}

#[test]
fn a_local_remote_with_receive_hooks_is_refused_not_bypassed() {
    for hook in ["pre-receive", "update", "post-receive"] {
        let remote = remote();
        remote.hook(hook, "#!/bin/sh\nexit 1\n");
        let before = remote.tip("main");
        let cwd = tempfile::tempdir().unwrap();
        let r = run(&mut crate::common::run::workflow(
            cwd.path(),
            &remote.file_url(),
        ));
        assert_eq!(r.code, 2, "{hook}: {}", r.stderr);
        let last = r.stderr.lines().last().unwrap();
        assert!(
            last.contains(&format!(
                "has receive hooks ({hook}), which a push to a local path would not run"
            )),
            "{last}"
        );
        assert_eq!(remote.tip("main"), before);
        // Reading is fine: a dry run still shows the diff.
        let r = run(crate::common::run::workflow(cwd.path(), &remote.file_url()).arg("--dry-run"));
        assert_eq!(r.code, 0, "{hook}: {}", r.stderr);
    }
}

/// A hook that only git's own reading of the configuration finds: `core.hooksPath` set
/// through `includeIf`, which libgit2 does not follow.
#[test]
fn a_hook_set_through_include_if_is_refused_too() {
    let remote = remote();
    let hooks = remote.dir.path().join("elsewhere-hooks");
    fs::create_dir_all(&hooks).unwrap();
    let hook = hooks.join("pre-receive");
    fs::write(&hook, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let included = remote.dir.path().join("hooks.cfg");
    fs::write(
        &included,
        format!("[core]\n\thooksPath = {}\n", hooks.display()),
    )
    .unwrap();
    let key = format!("includeIf.gitdir:{}/.path", remote.bare().display());
    git_out(
        &remote.bare(),
        &["config", &key, included.to_str().unwrap()],
    );
    let before = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let r = run(&mut crate::common::run::workflow(
        cwd.path(),
        &remote.file_url(),
    ));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("has receive hooks (pre-receive)"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), before);
}

#[test]
fn a_failed_run_reports_like_a_successful_one() {
    let remote = Remote::new(&[("values.yaml", "image:\n  tag: 1.0.0\n")]);
    let cwd = tempfile::tempdir().unwrap();
    let (outputs, summary) = (cwd.path().join("out"), cwd.path().join("summary.md"));
    let r = run(crate::common::run::workflow(cwd.path(), &remote.file_url())
        .env("INPUT_FILE", "values.yaml")
        .env("YQ_TPL", ".image.tag")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["run", "--output", "json", "--component", "web-app"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    let json = r.stdout.trim();
    assert!(
        json.starts_with("{\"status\":\"failure\",\"error\":\"expression error: for values.yaml, the expression yields the string \\\"1.0.0\\\"")
            && json.contains("\"exit_code\":2,\"outcome\":\"failed\"")
            && json.contains("\"attempts\":1"),
        "{json}"
    );
    let out = fs::read_to_string(&outputs).unwrap();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("summary="))
        .unwrap();
    assert_eq!(line.split('|').count(), 5, "{line}");
    assert!(line.starts_with("web-app|1.2.3|failure||"), "{line}");
    let md = fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| outcome | failed |")
            && md.contains("| attempts | 1 |")
            && md.contains("| error | expression error: for values.yaml, the expression yields")
            && md.contains("| exit code | 2 |"),
        "{md}"
    );
}

#[test]
fn inputs_refused_before_the_run_still_give_json_and_outputs() {
    let cwd = tempfile::tempdir().unwrap();
    let (outputs, summary) = (cwd.path().join("out"), cwd.path().join("summary.md"));
    let r = run(
        crate::common::run::workflow(cwd.path(), "file:///nonexistent")
            .env("VERSION", "1.2.3; rm -rf /")
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .args(["run", "--output", "json", "--component", "<b>app</b>"]),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("{\"status\":\"failure\",\"error\":\"invalid version ")
            && r.stdout.contains("\"exit_code\":2,")
            && r.stdout.ends_with("}\n")
            && r.stdout.lines().count() == 1,
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1
    );
    let out = fs::read_to_string(&outputs).unwrap();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("summary="))
        .unwrap();
    assert_eq!(
        line,
        "<b>app</b>|1.2.3; rm -rf /|failure||file:///nonexistent"
    );
    let md = fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("### gitops-update: &lt;b&gt;app&lt;/b&gt; ")
            && md.contains("| error | invalid version"),
        "{md}"
    );
    // Words that do not parse: the JSON object and the outputs all the same.
    let r = run(
        crate::common::run::workflow(cwd.path(), "file:///nonexistent")
            .env("GITHUB_OUTPUT", &outputs)
            .args(["run", "--output", "json", "--bogus"]),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(
            "{\"status\":\"failure\",\"error\":\"unexpected argument '--bogus' found\""
        ),
        "{}",
        r.stdout
    );
}

/// actions/checkout's default: a depth-1 clone. Behind the remote by a commit, a run
/// pushes, and the clone stays a working shallow clone at the pushed commit, over a local
/// remote (fetched into a repository of its own) and over HTTP (a depth-1 fetch into it).
#[test]
fn a_shallow_checkout_behind_the_remote_stays_whole() {
    for http in [false, true] {
        let (remote, server, _root) = http_remote();
        server.inject(Faults {
            public: true,
            ..Faults::default()
        });
        let url = if http {
            server.url("acme/deploy.git")
        } else {
            remote.file_url()
        };
        let dir = tempfile::tempdir().unwrap();
        let work = clone(&url, dir.path(), &["--depth=1"]);
        remote.commit_elsewhere("README.md", "moved\n", "other");
        let mut cmd = bin();
        cmd.current_dir(&work)
            .env("GITEA_TOKEN", crate::common::git::TOKEN)
            .args([
                "--file",
                FILE,
                "--expression",
                ".image.tag = \"{{VERSION}}\"",
                "--version",
                "2.0.0",
            ]);
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "http={http}: {}", r.stderr);
        assert_eq!(head(&work), remote.tip("main"), "http={http}: {}", r.stderr);
        assert_eq!(
            git_out(&work, &["rev-parse", "--is-shallow-repository"]),
            "true\n"
        );
        assert_eq!(status(&work), "## main...origin/main\n", "http={http}");
        git_out(&work, &["log", "--oneline"]);
        git_out(&work, &["fsck", "--no-dangling"]);
        assert_eq!(
            fs::read_to_string(work.join("README.md")).unwrap(),
            "moved\n"
        );
    }
}
