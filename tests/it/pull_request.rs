//! `--pull-request` against the Gitea emulator (`common::gitea`, pulls as Gitea's
//! routers/api/v1/repo/pull.go answers them: 201, 409, 201 for an edit, 200/201/405/409 for
//! a merge) and the real `git http-backend`: the branch is the tool's own, rebuilt on the
//! base's current tip; one pull request per component and base, updated by newer versions.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::git::{git_out, Remote, TOKEN};
use crate::common::gitea::{Gitea, Options, APP_URL};
use crate::common::{bin, run, Run};

const VALUES: &str = "image:\n  tag: \"1.0.0\"  # keep me\nreplicas: 2\n";
const BRANCH: &str = "gitops-update/main/app";

struct World {
    gitea: Gitea,
    deploy: Remote,
    cwd: tempfile::TempDir,
}

fn world(opts: Options) -> World {
    let deploy = Remote::new(&[("values.yaml", VALUES), ("README.md", "deploy\n")]);
    let gitea = Gitea::start(opts, &[("acme/deploy", &deploy)]);
    World {
        gitea,
        deploy,
        cwd: tempfile::tempdir().unwrap(),
    }
}

impl World {
    fn update(&self, version: &str, out: &str) -> std::process::Command {
        let mut cmd = bin();
        cmd.current_dir(self.cwd.path())
            .env("INPUT_FILE", "values.yaml")
            .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
            .env("VERSION", version)
            .env("SOURCE_REPO", "acme/app")
            .env("SOURCE_COMMIT", "0123456789abcdef0123456789abcdef01234567")
            .env("GITOPS_REPO", self.gitea.git_url("acme/deploy"))
            .env("GITEA_API_URL", self.gitea.api_url())
            .env("GITEA_TOKEN", TOKEN)
            .env("GITHUB_OUTPUT", self.cwd.path().join(out))
            .env("GITOPS_PULL_REQUEST", "true");
        cmd
    }

    fn outputs(&self, out: &str) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.cwd.path().join(out))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[track_caller]
fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
}

#[test]
fn opens_a_pull_request_and_reports_it_pending() {
    let w = world(Options::default());
    let main = w.deploy.tip("main");
    let r = run(&mut w.update("1.2.3", "out"));
    ok(&r);
    assert_eq!(w.deploy.tip("main"), main, "the branch itself is untouched");
    let head = w.deploy.tip(BRANCH);
    assert_eq!(
        git_out(&w.deploy.bare(), &["rev-parse", &format!("{head}^")]).trim(),
        main
    );
    assert_eq!(
        w.deploy.show(BRANCH, "values.yaml"),
        VALUES.replace("1.0.0", "1.2.3")
    );
    let pulls = w.gitea.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let p = &pulls[0];
    assert_eq!(
        (p.head.as_str(), p.base.as_str(), p.state),
        (BRANCH, "main", "open")
    );
    assert_eq!(p.title, "[skip ci] gitops: update version to 1.2.3");
    for want in [
        "gitops-update records app 1.2.3 in `values.yaml`.",
        "Built from http://127.0.0.1:",
        "/acme/app/commit/0123456789abcdef0123456789abcdef01234567",
        "+  tag: \"1.2.3\"  # keep me",
        "Source-Commit: 0123456789abcdef0123456789abcdef01234567",
        &format!("Head commit: {head}"),
    ] {
        assert!(p.body.contains(want), "{want:?} in\n{}", p.body);
    }
    let out = w.outputs("out");
    assert_eq!(out["landing"], "pull-request");
    assert_eq!(out["pr_number"], "1");
    assert_eq!(out["pr_url"], format!("{APP_URL}/acme/deploy/pulls/1"));
    assert_eq!(
        out["summary"],
        format!("app|1.2.3|pending|{head}|acme/deploy")
    );
    assert_eq!(out["commit_sha"], head);
    assert!(
        r.stdout
            .starts_with("pull request #1 into main of acme/deploy: "),
        "{}",
        r.stdout
    );
    // The status goes on the pull request's head commit.
    assert!(w
        .gitea
        .statuses("acme/deploy")
        .iter()
        .any(|s| s.sha == head));
}

#[test]
fn a_newer_version_updates_the_same_pull_request_on_the_moved_base() {
    let w = world(Options::default());
    ok(&run(&mut w.update("1.2.3", "out1")));
    // The base moves meanwhile: another file and another key of ours change on main.
    w.deploy
        .commit_elsewhere("README.md", "moved\n", "someone else");
    w.deploy.commit_elsewhere(
        "values.yaml",
        &VALUES.replace("replicas: 2", "replicas: 3"),
        "scale",
    );
    let main = w.deploy.tip("main");
    ok(&run(&mut w.update("1.2.4", "out2")));
    let pulls = w.gitea.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "the same pull request: {pulls:?}");
    assert_eq!(pulls[0].title, "[skip ci] gitops: update version to 1.2.4");
    assert!(
        pulls[0].body.contains("+  tag: \"1.2.4\""),
        "{}",
        pulls[0].body
    );
    let head = w.deploy.tip(BRANCH);
    // Rebuilt from the current tip, never the stale base: the others' changes are there.
    assert_eq!(
        git_out(&w.deploy.bare(), &["rev-parse", &format!("{head}^")]).trim(),
        main
    );
    assert_eq!(
        w.deploy.show(BRANCH, "values.yaml"),
        VALUES
            .replace("1.0.0", "1.2.4")
            .replace("replicas: 2", "replicas: 3")
    );
    assert_eq!(w.deploy.show(BRANCH, "README.md"), "moved\n");
    let out = w.outputs("out2");
    assert_eq!(
        (out["landing"].as_str(), out["pr_number"].as_str()),
        ("pull-request", "1")
    );
    let codes: Vec<(String, u16)> = w
        .gitea
        .requests()
        .into_iter()
        .filter(|q| q.path.contains("/pulls"))
        .map(|q| {
            (
                format!(
                    "{} {}",
                    q.method,
                    q.path.trim_start_matches("/api/v1/repos/acme/deploy")
                ),
                q.status,
            )
        })
        .collect();
    assert!(codes.contains(&("POST /pulls".into(), 409)), "{codes:?}");
    assert!(codes.contains(&("PATCH /pulls/1".into(), 201)), "{codes:?}");
}

#[test]
fn two_components_get_two_pull_requests() {
    let w = world(Options::default());
    ok(&run(w.update("1.2.3", "a").args([
        "run",
        "--component",
        "web",
    ])));
    ok(&run(w
        .update("2.0.0", "b")
        .env("YQ_TPL", ".replicas = 5")
        .args(["run", "--component", "worker"])));
    let mut heads: Vec<String> = w
        .gitea
        .pulls("acme/deploy")
        .into_iter()
        .map(|p| p.head)
        .collect();
    heads.sort();
    assert_eq!(
        heads,
        ["gitops-update/main/web", "gitops-update/main/worker"]
    );
}

#[test]
fn auto_merge_merges_now_or_when_the_checks_succeed() {
    // No required checks pending: Gitea merges at once (200), and deletes the branch.
    let w = world(Options::default());
    let r = run(w.update("1.2.3", "out").args(["run", "--auto-merge"]));
    ok(&r);
    let p = &w.gitea.pulls("acme/deploy")[0];
    assert!(p.merged, "{p:?}");
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        VALUES.replace("1.0.0", "1.2.3")
    );
    assert!(git_out(&w.deploy.bare(), &["branch", "--list", BRANCH])
        .trim()
        .is_empty());
    let out = w.outputs("out");
    assert_eq!(out["landing"], "merged");
    assert!(out["summary"].starts_with("app|1.2.3|success|"), "{out:?}");
    let merges: Vec<String> = w
        .gitea
        .requests()
        .into_iter()
        .filter(|q| q.path.ends_with("/merge"))
        .map(|q| q.body)
        .collect();
    // The merge made now is of the head the run pushed, which the merge commit's second
    // parent is.
    let head = git_out(&w.deploy.bare(), &["rev-parse", "main^2"]);
    assert_eq!(
        merges,
        [format!(
            r#"{{"Do":"merge","merge_when_checks_succeed":true,"delete_branch_after_merge":true,"head_commit_id":"{}"}}"#,
            head.trim()
        )]
    );

    // Required checks pending: the merge is scheduled (201) and the run says pending.
    let w = world(Options {
        checks_pending: true,
        ..Options::default()
    });
    ok(&run(w
        .update("1.2.3", "out")
        .env("GITOPS_AUTO_MERGE", "true")
        .args(["run", "--merge-style", "squash"])));
    let p = &w.gitea.pulls("acme/deploy")[0];
    assert_eq!((p.merged, p.auto_merge.as_deref()), (false, Some("squash")));
    let out = w.outputs("out");
    assert_eq!(out["landing"], "pull-request");
    assert!(out["summary"].contains("|pending|"), "{out:?}");
    // A newer version: the same pull request, whose merge is already scheduled (409).
    ok(&run(w
        .update("1.2.4", "out2")
        .env("GITOPS_AUTO_MERGE", "true")
        .args(["run", "--merge-style", "squash"])));
    assert_eq!(w.gitea.pulls("acme/deploy").len(), 1);
}

#[test]
fn without_the_api_it_is_refused_and_a_protected_branch_names_the_option() {
    let w = world(Options::default());
    let r = run(w.update("1.2.3", "out").env_remove("GITEA_API_URL"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--pull-request opens the pull request through Gitea's API"),
        "{}",
        r.stderr
    );
    // A direct push refused for a protected branch says that --pull-request exists.
    w.deploy.hook(
        "pre-receive",
        // Gitea refuses the protected branch alone: the provenance note needs only the
        // right to write code (routers/private/hook_pre_receive.go, preReceiveBranch and
        // the default case).
        "#!/bin/sh\nwhile read o n ref; do [ \"$ref\" = refs/heads/main ] && { echo 'Not allowed to push to protected branch main' >&2; exit 1; }; done\nexit 0\n",
    );
    let r = run(w.update("1.2.3", "out").env_remove("GITOPS_PULL_REQUEST"));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--pull-request opens a pull request instead"),
        "{}",
        r.stderr
    );
}

/// Eight updaters of one component at once: one pull request, whose branch sits on the
/// newest base and whose title names the version its branch carries.
#[test]
fn eight_concurrent_updaters_end_with_one_consistent_pull_request() {
    let w = world(Options::default());
    let mut children = Vec::new();
    for i in 1..=8 {
        let mut cmd = w.update(&format!("1.0.{i}"), &format!("out{i}"));
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        children.push(cmd.spawn().unwrap());
    }
    // An updater older than the version already waiting in the pull request ends
    // superseded (exit 8, issue 30); the newest always lands.
    let mut landed = Vec::new();
    for (i, c) in (1..=8).zip(children) {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success() || out.status.code() == Some(8),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            landed.push(i);
        }
    }
    assert!(landed.contains(&8), "the newest lands: {landed:?}");
    std::thread::sleep(Duration::from_millis(50));
    let pulls = w.gitea.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(pulls[0].title, "[skip ci] gitops: update version to 1.0.8");
    let head = w.deploy.tip(BRANCH);
    let main = w.deploy.tip("main");
    assert_eq!(
        git_out(&w.deploy.bare(), &["rev-parse", &format!("{head}^")]).trim(),
        main
    );
    let content = w.deploy.show(BRANCH, "values.yaml");
    let version = pulls[0].title.rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        content,
        VALUES.replace("1.0.0", &version),
        "title and branch agree"
    );
    assert!(
        pulls[0].body.contains(&format!("Head commit: {head}")),
        "{}",
        pulls[0].body
    );
    // The pull request's head keeps its provenance note (issue 30).
    let r = crate::common::run(
        crate::common::bin()
            .args(["verify", "-C"])
            .arg(w.deploy.bare())
            .arg(&head),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("unsigned"), "{}", r.stdout);
}

/// AGit is how a reader proposes a change: a server that refuses it the notes ref (Gitea
/// asks for code write there, routers/private/hook_pre_receive.go) gets the update for
/// review, and a warning that the note was not stored.
#[test]
fn agit_without_the_right_to_write_notes_goes_for_review_with_a_warning() {
    let (remote, server, root) = agit_server(None);
    remote.hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\nwhile read old new ref; do case $ref in refs/notes/*) echo 'You do not have permission to write code'; exit 1;; esac; echo \"ref $ref $new\" >> {j}; done\nexit 0\n",
            j = root.path().join("agit.log").display()
        ),
    );
    let cwd = tempfile::tempdir().unwrap();
    let r = run(
        crate::common::run::workflow(cwd.path(), &server.url("acme/deploy.git"))
            .env("GITEA_TOKEN", TOKEN)
            .args(["run", "--pull-request=agit"]),
    );
    ok(&r);
    assert!(
        r.stderr.contains("warning: the provenance note of ")
            && r.stderr.contains("was not stored")
            && r.stderr.contains("the commit was pushed without it"),
        "{}",
        r.stderr
    );
    assert!(
        journal(&root)
            .iter()
            .any(|l| l.starts_with("ref refs/for/main ")),
        "{:?}",
        journal(&root)
    );
}

/// A server that takes AGit pushes as Gitea does, as far as git can see: it advertises push
/// options (Gitea sets receive.advertisePushOptions), its hook records the options and the
/// commit pushed to refs/for/<branch>, and answers with the lines Gitea's hook prints after
/// an AGit push (cmd/hook.go, hookPrintResults). `url` None: a server with
/// PULL_REQUEST_PUSH_MESSAGE off, which prints nothing.
fn agit_server(url: Option<&str>) -> (Remote, crate::common::git::HttpServer, tempfile::TempDir) {
    let (remote, server, root) = crate::common::run::http_remote();
    crate::common::git::git(&remote.bare())
        .args(["config", "receive.advertisePushOptions", "true"])
        .status()
        .unwrap();
    let journal = root.path().join("agit.log");
    let say = url.map_or(String::new(), |u| {
        format!("echo; echo 'Visit the existing pull request:'; echo '  {u}'; echo\n")
    });
    remote.hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\nwhile read old new ref; do echo \"ref $ref $new\" >> {j}; done\n\
             i=0; while [ $i -lt \"${{GIT_PUSH_OPTION_COUNT:-0}}\" ]; do\n\
             eval \"echo \\\"option \\$GIT_PUSH_OPTION_$i\\\"\" >> {j}; i=$((i+1)); done\n\
             {say}exit 0\n",
            j = journal.display()
        ),
    );
    (remote, server, root)
}

fn journal(root: &tempfile::TempDir) -> Vec<String> {
    std::fs::read_to_string(root.path().join("agit.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn agit_pushes_for_review_with_the_topic_title_and_description() {
    let url = "http://gitea.example.test/acme/deploy/pulls/7";
    let (remote, server, root) = agit_server(Some(url));
    let main = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let run_one = |version: &str| {
        run(
            crate::common::run::workflow(cwd.path(), &server.url("acme/deploy.git"))
                .env("GITEA_TOKEN", TOKEN)
                .env("VERSION", version)
                .env("GITHUB_OUTPUT", &out)
                .args(["run", "--pull-request=agit"]),
        )
    };
    let r = run_one("1.2.3");
    ok(&r);
    assert_eq!(remote.tip("main"), main, "the branch itself is untouched");
    let log = journal(&root);
    let pushed = log
        .iter()
        .find_map(|l| l.strip_prefix("ref refs/for/main "))
        .unwrap_or_else(|| panic!("a push to refs/for/main: {log:?}"))
        .to_string();
    assert_eq!(
        git_out(&remote.bare(), &["rev-parse", &format!("{pushed}^")]).trim(),
        main
    );
    // The commit pushed for review carries its provenance note (issue 30).
    let note = git_out(
        &remote.bare(),
        &[
            "notes",
            "--ref",
            "refs/notes/gitops-update",
            "show",
            &pushed,
        ],
    );
    assert!(
        note.contains("\"payloadType\":\"application/vnd.in-toto+json\""),
        "{note}"
    );
    let options: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("option "))
        .collect();
    assert_eq!(
        options,
        [
            "topic=gitops-update/app",
            "title=[skip ci] gitops: update version to 1.2.3",
            "description=gitops-update records app 1.2.3 in `charts/app/values.yaml`. Built from acme/app@0123456789abcdef0123456789abcdef01234567.",
            "force-push=true",
        ]
    );
    let outputs = std::fs::read_to_string(&out).unwrap();
    for line in [
        "landing=pull-request",
        "pr_number=7",
        &format!("pr_url={url}"),
        &format!("summary=app|1.2.3|pending|{pushed}|"),
    ] {
        assert!(outputs.contains(line), "{line} in {outputs}");
    }
    assert!(
        r.stdout.contains("pull request #7 into main"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains(TOKEN));

    // Main moves; the next version is rebuilt on its new tip and force-pushed for review.
    remote.commit_elsewhere("README.md", "moved\n", "someone else");
    let moved = remote.tip("main");
    std::fs::remove_file(root.path().join("agit.log")).unwrap();
    ok(&run_one("1.2.4"));
    let log = journal(&root);
    let second = log
        .iter()
        .find_map(|l| l.strip_prefix("ref refs/for/main "))
        .unwrap()
        .to_string();
    assert_eq!(
        git_out(&remote.bare(), &["rev-parse", &format!("{second}^")]).trim(),
        moved,
        "never a stale base"
    );
    assert!(git_out(
        &remote.bare(),
        &["show", &format!("{second}:charts/app/values.yaml")]
    )
    .contains("tag: \"1.2.4\"  # bumped by CI"));
    assert!(
        log.contains(&"option force-push=true".to_string()),
        "{log:?}"
    );
}

#[test]
fn agit_needs_no_api_and_says_when_the_server_names_no_pull_request() {
    let (remote, server, root) = agit_server(None);
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let r = run(
        crate::common::run::workflow(cwd.path(), &server.url("acme/deploy.git"))
            .env("GITEA_TOKEN", TOKEN)
            .env("GITOPS_PULL_REQUEST", "agit")
            .env("GITHUB_OUTPUT", &out)
            .args(["run", "--output", "json"]),
    );
    ok(&r);
    assert!(journal(&root)
        .iter()
        .any(|l| l.starts_with("ref refs/for/main ")));
    assert!(
        r.stderr
            .contains("the server did not say which pull request"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("\"landing\":\"pull-request\""),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\"pr_number\":null"), "{}", r.stdout);
    let outputs = std::fs::read_to_string(&out).unwrap();
    assert!(outputs.contains("pr_number=\n"), "{outputs}");
    assert!(outputs.contains("|pending|"), "{outputs}");
    let _ = remote;
}

#[test]
fn a_pull_request_mode_that_is_not_one_is_refused() {
    let cwd = tempfile::tempdir().unwrap();
    let r = run(
        crate::common::run::workflow(cwd.path(), "file:///nonexistent")
            .env("GITOPS_PULL_REQUEST", "gerrit"),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("expected true (a branch of ours), agit or false"),
        "{}",
        r.stderr
    );
    let r = run(
        crate::common::run::workflow(cwd.path(), "file:///nonexistent")
            .env("GITOPS_AUTO_MERGE", "true"),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("add --pull-request"), "{}", r.stderr);
}

/// A run with AGit against the emulator, whose git server takes AGit pushes as Gitea's
/// proc-receive hook does (`common::gitea`, agit_hook).
fn agit_update(w: &World, version: &str, out: &str) -> std::process::Command {
    let mut cmd = w.update(version, out);
    cmd.env("GITOPS_PULL_REQUEST", "agit");
    cmd
}

#[test]
fn agit_opens_then_updates_one_pull_request_on_the_moved_base() {
    use crate::common::gitea::PUSHER;
    let w = world(Options::default());
    let main = w.deploy.tip("main");
    let r = run(&mut agit_update(&w, "1.2.3", "out1"));
    ok(&r);
    assert_eq!(w.deploy.tip("main"), main, "the branch itself is untouched");
    let pulls = w.gitea.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let p = &pulls[0];
    assert!(p.agit);
    assert_eq!(
        (p.head.as_str(), p.base.as_str(), p.state),
        (
            format!("{PUSHER}/gitops-update/app").as_str(),
            "main",
            "open"
        )
    );
    assert_eq!(p.title, "[skip ci] gitops: update version to 1.2.3");
    // Opened with the one-line description of the push option, then described in full
    // through the API, diff included, as a pull request of ours is.
    assert!(
        p.body.contains("+  tag: \"1.2.3\"  # keep me"),
        "{}",
        p.body
    );
    let head = git_out(&w.deploy.bare(), &["rev-parse", "refs/pull/1/head"])
        .trim()
        .to_string();
    assert_eq!(
        git_out(&w.deploy.bare(), &["rev-parse", &format!("{head}^")]).trim(),
        main
    );
    let out = w.outputs("out1");
    assert_eq!(out["landing"], "pull-request");
    assert_eq!(out["pr_number"], "1");
    assert_eq!(out["pr_url"], format!("{APP_URL}/acme/deploy/pulls/1"));
    assert_eq!(
        out["summary"],
        format!("app|1.2.3|pending|{head}|acme/deploy")
    );
    // No branch of ours: the token needed no right to create one.
    let branches = git_out(&w.deploy.bare(), &["for-each-ref", "--format=%(refname)"]);
    assert!(!branches.contains("refs/heads/gitops-update"), "{branches}");
    assert!(w
        .gitea
        .statuses("acme/deploy")
        .iter()
        .any(|s| s.sha == head));

    w.deploy
        .commit_elsewhere("README.md", "moved\n", "someone else");
    let moved = w.deploy.tip("main");
    ok(&run(&mut agit_update(&w, "1.2.4", "out2")));
    let pulls = w.gitea.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "the same pull request: {pulls:?}");
    // Gitea keeps an AGit pull request's title on a push; the run sets it.
    assert_eq!(pulls[0].title, "[skip ci] gitops: update version to 1.2.4");
    assert!(
        pulls[0].body.contains("+  tag: \"1.2.4\""),
        "{}",
        pulls[0].body
    );
    let head = git_out(&w.deploy.bare(), &["rev-parse", "refs/pull/1/head"])
        .trim()
        .to_string();
    assert_eq!(
        git_out(&w.deploy.bare(), &["rev-parse", &format!("{head}^")]).trim(),
        moved,
        "rebuilt on the moved base, force-pushed"
    );
    assert_eq!(
        git_out(&w.deploy.bare(), &["show", "refs/pull/1/head:values.yaml"]),
        VALUES.replace("1.0.0", "1.2.4")
    );
    assert_eq!(w.outputs("out2")["pr_number"], "1");
}

#[test]
fn agit_auto_merge_merges_now_or_when_the_checks_succeed() {
    let w = world(Options::default());
    let r = run(agit_update(&w, "1.2.3", "out")
        .arg("run")
        .arg("--auto-merge"));
    ok(&r);
    let p = &w.gitea.pulls("acme/deploy")[0];
    assert!(p.merged && p.agit, "{p:?}");
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        VALUES.replace("1.0.0", "1.2.3")
    );
    let out = w.outputs("out");
    assert_eq!(out["landing"], "merged");
    assert!(out["summary"].contains("|success|"), "{}", out["summary"]);

    let w = world(Options {
        checks_pending: true,
        ..Options::default()
    });
    ok(&run(agit_update(&w, "1.2.3", "out1").args([
        "run",
        "--auto-merge",
        "--merge-style",
        "squash",
    ])));
    ok(&run(agit_update(&w, "1.2.4", "out2").args([
        "run",
        "--auto-merge",
        "--merge-style",
        "squash",
    ])));
    let pulls = w.gitea.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(pulls[0].auto_merge.as_deref(), Some("squash"));
    assert!(!pulls[0].merged);
    let out = w.outputs("out2");
    assert_eq!(out["landing"], "pull-request");
    assert!(out["summary"].contains("|pending|"), "{}", out["summary"]);
}

#[test]
fn the_progress_line_names_the_ref_the_commit_went_to() {
    let w = world(Options::default());
    let r = run(&mut w.update("1.2.3", "out"));
    ok(&r);
    assert!(
        r.stderr.contains(&format!("to {BRANCH} (attempt 1)")),
        "{}",
        r.stderr
    );
    let r = run(&mut agit_update(&w, "1.2.4", "out2"));
    ok(&r);
    assert!(
        r.stderr.contains("to refs/for/main (attempt 1)"),
        "{}",
        r.stderr
    );
}

/// Right after a push Gitea is still checking whether the pull request can merge, and
/// answers 405 "Please try again later" to the merge request (services/pull/check.go): the
/// run asks again until the auto-merge is accepted, and the update merges.
#[test]
fn auto_merge_is_asked_again_while_gitea_checks_mergeability() {
    let w = world(Options {
        merge_checking_rounds: 2,
        ..Options::default()
    });
    let r = run(w.update("1.2.3", "out").args(["run", "--auto-merge"]));
    ok(&r);
    assert!(w.gitea.pulls("acme/deploy")[0].merged);
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        VALUES.replace("1.0.0", "1.2.3")
    );
    assert_eq!(w.outputs("out")["landing"], "merged");
}

/// A refusal that may clear (the check has not ended within --timeout) leaves the update
/// recorded in its pull request: the run succeeds, says in one warning that the auto-merge
/// was not scheduled and why, and reports the pull request as pending, not merged.
#[test]
fn an_auto_merge_gitea_cannot_take_yet_leaves_the_pull_request_pending() {
    let w = world(Options {
        merge_checking_rounds: u32::MAX,
        ..Options::default()
    });
    let r = run(w
        .update("1.2.3", "out")
        .args(["run", "--auto-merge", "--timeout", "2s"]));
    ok(&r);
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("auto-merge was not scheduled"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].starts_with("warning: pull request #1 is open"),
        "{}",
        r.stderr
    );
    assert!(
        warnings[0].contains("Please try again later"),
        "{}",
        r.stderr
    );
    let p = &w.gitea.pulls("acme/deploy")[0];
    assert!(!p.merged && p.state == "open", "{p:?}");
    assert_eq!(w.deploy.show("main", "values.yaml"), VALUES);
    let out = w.outputs("out");
    assert_eq!(out["landing"], "pull-request", "{out:?}");
    assert!(out["summary"].starts_with("app|1.2.3|pending|"), "{out:?}");
}

/// Issue 30: an older build does not replace a newer update still waiting in the pull
/// request; the run ends superseded (exit 8) and the branch keeps the newer version.
#[test]
fn an_older_build_does_not_replace_the_pending_pull_request() {
    let w = world(Options::default());
    ok(&run(&mut w.update("1.3.0", "out1")));
    let head = w.deploy.tip(BRANCH);
    let r = run(&mut w.update("1.2.0", "out2"));
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(&format!(
            "superseded: values.yaml (in the pending {BRANCH}) .image.tag already holds 1.3.0, newer than 1.2.0"
        )),
        "{}",
        r.stdout
    );
    assert_eq!(
        w.deploy.tip(BRANCH),
        head,
        "the pull request's branch is kept"
    );
    assert_eq!(w.outputs("out2")["changed"], "false");
    ok(&run(&mut w.update("1.3.1", "out3")));
    assert!(w
        .deploy
        .show(BRANCH, "values.yaml")
        .contains("tag: \"1.3.1\""));
}
