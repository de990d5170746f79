//! The update run against real repositories, over `file://` and smart HTTP, checked with the
//! `git` CLI.

use std::fs;

use crate::common::git::{git_out, Faults, Remote, TOKEN, USER};
use crate::common::run::{http_remote, ok, receive_packs, remote, workflow, VALUES};
use crate::common::{bin, run, Run};

fn changed_files(remote: &Remote, rev: &str) -> Vec<String> {
    git_out(
        &remote.bare(),
        &["diff-tree", "--no-commit-id", "--name-only", "-r", rev],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn environment_driven_run_commits_and_pushes() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let outputs = cwd.path().join("outputs");
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &remote.file_url()).env("GITHUB_OUTPUT", &outputs));
    ok(&r);
    let tip = remote.tip("main");
    assert_ne!(tip, before);
    assert_eq!(
        remote.message("main"),
        "[skip ci] gitops: update version to 1.2.3\n\nSource-Repo: acme/app\nSource-Commit: 0123456789abcdef0123456789abcdef01234567\nDispatch-Id: d-42\nComponent: app\nFile: charts/app/values.yaml\n\n"
    );
    assert_eq!(changed_files(&remote, "main"), ["charts/app/values.yaml"]);
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.2.3\"")
    );
    assert_eq!(remote.log("main").len(), 2);
    assert_eq!(
        remote.log("main")[0],
        format!("{tip} {before}"),
        "parent is the old tip"
    );
    let out = fs::read_to_string(&outputs).unwrap();
    assert_eq!(
        out,
        format!("changed=true\ncommit_sha={tip}\nprevious_sha={before}\nversion=1.2.3\nsummary=app|1.2.3|success|{tip}|{}\noutcome=pushed\nlanding=push\npr_number=\npr_url=\n", remote.file_url())
    );
    assert_eq!(
        r.stdout,
        format!(
            "pushed {} to main of {}: charts/app/values.yaml\n",
            &tip[..7],
            remote.file_url()
        )
    );
    remote.fsck();
}

#[test]
fn a_second_run_is_already_up_to_date() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    ok(&run(&mut workflow(cwd.path(), &remote.file_url())));
    let tip = remote.tip("main");
    let outputs = cwd.path().join("out");
    let r = run(workflow(cwd.path(), &remote.file_url())
        .env("GITEA_OUTPUT", &outputs)
        .args(["run", "--output", "json"]));
    ok(&r);
    assert_eq!(remote.tip("main"), tip, "no empty commit");
    assert!(
        r.stdout
            .starts_with("{\"status\":\"success\",\"error\":null,\"exit_code\":0,\"outcome\":\"up_to_date\",\"changed\":false"),
        "{}",
        r.stdout
    );
    assert!(fs::read_to_string(&outputs)
        .unwrap()
        .starts_with("changed=false\n"));
}

#[test]
fn several_files_in_one_commit() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let r = run(bin().current_dir(cwd.path()).args([
        "run",
        "--repo",
        &remote.file_url(),
        "--version",
        "2.0.0",
        "--set",
        "charts/app/Chart.yaml=.version = \"{{VERSION}}\" | .appVersion = \"{{VERSION}}\"",
        "--set",
        "charts/app/values.yaml=.image.tag = \"{{VERSION}}\"",
    ]));
    ok(&r);
    let mut files = changed_files(&remote, "main");
    files.sort();
    assert_eq!(files, ["charts/app/Chart.yaml", "charts/app/values.yaml"]);
    assert!(
        remote
            .message("main")
            .ends_with("File: charts/app/Chart.yaml\nFile: charts/app/values.yaml\n\n"),
        "{}",
        remote.message("main")
    );
    assert_eq!(
        remote.show("main", "charts/app/Chart.yaml"),
        "apiVersion: v2\nname: app\nversion: 2.0.0\nappVersion: \"2.0.0\"\n"
    );
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let outputs = cwd.path().join("outputs");
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &remote.file_url())
        .env("GITHUB_OUTPUT", &outputs)
        .args(["run", "--dry-run"]));
    ok(&r);
    assert_eq!(remote.tip("main"), before);
    assert_eq!(
        r.stdout,
        "--- a/charts/app/values.yaml\n+++ b/charts/app/values.yaml\n@@ -1,5 +1,5 @@\n # app values\n image:\n   repository: ghcr.io/acme/app\n-  tag: \"1.0.0\"  # bumped by CI\n+  tag: \"1.2.3\"  # bumped by CI\n replicas: 2\n"
    );
    assert!(!outputs.exists(), "a dry run writes no step outputs");
}

#[test]
fn a_missing_file_or_branch_is_an_input_error() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &remote.file_url()).env("INPUT_FILE", "charts/nope.yaml"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("charts/nope.yaml does not exist on branch main"),
        "{}",
        r.stderr
    );
    let r = run(workflow(cwd.path(), &remote.file_url()).env("GITOPS_BRANCH", "release"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("the branch release does not exist"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), before);
}

#[test]
fn checkout_mode_pushes_and_moves_the_local_branch() {
    let remote = remote();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("deploy");
    git_out(
        dir.path(),
        &["clone", "-q", &remote.file_url(), work.to_str().unwrap()],
    );
    let r = run(&mut workflow(&work, &remote.file_url()));
    ok(&r);
    let tip = remote.tip("main");
    assert_eq!(
        git_out(&work, &["rev-parse", "HEAD"]).trim(),
        tip,
        "local branch at the pushed commit"
    );
    assert_eq!(
        fs::read_to_string(work.join("charts/app/values.yaml")).unwrap(),
        VALUES.replace("\"1.0.0\"", "\"1.2.3\"")
    );
    assert_eq!(
        git_out(&work, &["status", "--porcelain"]),
        "",
        "work tree clean"
    );
    // Uncommitted changes to the file are never overwritten.
    fs::write(work.join("charts/app/values.yaml"), "local: edit\n").unwrap();
    let r = run(workflow(&work, &remote.file_url()).env("VERSION", "1.2.4"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("has uncommitted changes"), "{}", r.stderr);
    assert_eq!(remote.tip("main"), tip);
}

#[test]
fn a_stale_tip_is_fetched_and_the_edit_reapplied() {
    // Another writer changes the same file between our runs: the edit applies on top of
    // theirs and both changes survive.
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    remote.commit_elsewhere(
        "charts/app/values.yaml",
        &VALUES.replace("replicas: 2", "replicas: 5"),
        "scale",
    );
    ok(&run(&mut workflow(cwd.path(), &remote.file_url())));
    let content = remote.show("main", "charts/app/values.yaml");
    assert!(
        content.contains("replicas: 5") && content.contains("tag: \"1.2.3\""),
        "{content}"
    );
}

fn no_token_anywhere(r: &Run, remote: &Remote) {
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "token leaked:\n{}\n{}",
        r.stdout,
        r.stderr
    );
    assert!(
        !remote.all_objects_text().contains(TOKEN),
        "token in an object"
    );
    assert!(!fs::read_to_string(remote.bare().join("config"))
        .unwrap()
        .contains(TOKEN));
}

#[test]
fn smart_http_with_a_token_from_a_slug() {
    let (remote, server, _root) = http_remote();
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), "acme/deploy")
        .env(
            "GITEA_API_URL",
            format!("http://127.0.0.1:{}/api/v1/", server.port),
        )
        .env("GITEA_TOKEN", TOKEN));
    ok(&r);
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.2.3\"")
    );
    let reqs = server.requests();
    let pushes: Vec<_> = reqs
        .iter()
        .filter(|q| q.path.ends_with("git-receive-pack") && q.method == "POST")
        .collect();
    // The provenance note, then the commit (issue 30).
    assert_eq!(pushes.len(), 2, "{reqs:?}");
    assert!(pushes.iter().all(|p| p.status == 200), "{reqs:?}");
    assert!(
        pushes[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic ")),
        "credentials sent"
    );
    no_token_anywhere(&r, &remote);
}

#[test]
fn a_wrong_token_fails_fast_with_exit_3() {
    let (remote, server, _root) = http_remote();
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let wrong = "wr0ng-t0ken-value";
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git")).env("GITEA_TOKEN", wrong));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("GITEA_TOKEN"), "{}", r.stderr);
    assert!(!r.stderr.contains(wrong) && !r.stdout.contains(wrong));
    assert!(
        server.requests().len() <= 4,
        "libgit2 must not retry a refused token: {:?}",
        server.requests()
    );
    assert_eq!(remote.tip("main"), before);
}

#[test]
fn a_hook_declined_push_exits_4_without_retrying() {
    let (remote, server, _root) = http_remote();
    // What Gitea's pre-receive hook prints for a protected branch
    // (routers/private/hook_pre_receive.go); it reaches the client only as sideband text.
    remote.hook(
        "pre-receive",
        "#!/bin/sh\necho 'Not allowed to push to protected branch main' >&2\nexit 1\n",
    );
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git")).env("GITEA_TOKEN", TOKEN));
    assert_eq!(r.code, 4, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains("rejected the push")
            && last.contains("pre-receive hook declined")
            && last.contains("the server said: Not allowed to push to protected branch main"),
        "{last}"
    );
    let pushes = server
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("git-receive-pack") && q.method == "POST")
        .count();
    assert_eq!(pushes, 1, "no retry");
    assert_eq!(remote.tip("main"), before);
}

/// Sixteen updaters at once, each setting its own key of the same file, against one
/// smart-HTTP remote: every update lands, history stays linear.
#[test]
fn sixteen_parallel_writers_lose_nothing() {
    let (remote, server, _root) = http_remote();
    parallel_writers(&remote, &server.url("acme/deploy.git"));
}

/// The same against a `file://` remote, where libgit2's own local push forces the ref and
/// fails on another writer's lock: every update lands there too (issue 25).
#[test]
fn sixteen_parallel_writers_to_a_local_path_lose_nothing() {
    let remote = remote();
    parallel_writers(&remote, &remote.file_url());
}

fn parallel_writers(remote: &Remote, url: &str) {
    // The soak (scripts/soak.sh) in small: even writers set their own key, odd writers all
    // set image.tag, each to its own version; the tool's default attempts.
    let cwd = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..16)
        .map(|i| {
            let expr = if i % 2 == 0 {
                format!(".writers.w{i} = \"{{{{VERSION}}}}\"")
            } else {
                ".image.tag = \"{{VERSION}}\"".to_string()
            };
            let mut cmd = workflow(cwd.path(), url);
            cmd.env("GITEA_TOKEN", TOKEN)
                .env("YQ_TPL", expr)
                .env("VERSION", format!("1.0.{i}"))
                .arg("run")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    // An odd writer whose version is older than one already written ends superseded
    // (exit 8, issue 30) and writes nothing; every other writer lands.
    let mut landed = Vec::new();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        let code = out.status.code();
        let superseded = i % 2 == 1 && code == Some(8);
        assert!(
            out.status.success() || superseded,
            "writer {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            landed.push(i);
        }
    }
    assert!(landed.contains(&15), "the newest version always lands");
    let log = remote.log("main");
    assert_eq!(
        log.len(),
        landed.len() + 1,
        "a commit per landed writer and the seed"
    );
    assert!(
        log.iter().all(|l| l.split(' ').count() <= 2),
        "linear history: {log:?}"
    );
    let subjects = git_out(&remote.bare(), &["log", "--format=%s", "main"]);
    for i in 0..16 {
        let subject = format!("[skip ci] gitops: update version to 1.0.{i}");
        let want = usize::from(landed.contains(&i));
        assert_eq!(
            subjects.lines().filter(|l| *l == subject).count(),
            want,
            "writer {i}'s commit:\n{subjects}"
        );
    }
    let content = remote.show("main", "charts/app/values.yaml");
    for i in (0..16).step_by(2) {
        assert!(
            content.contains(&format!("  w{i}: 1.0.{i}\n")),
            "w{i} lost:\n{content}"
        );
    }
    // Every landed commit keeps its provenance note (issue 30), and only those have one:
    // the notes of commits that lost their race were removed again.
    let r = crate::common::run(
        crate::common::bin()
            .args(["verify", "-C"])
            .arg(remote.bare())
            .arg(format!("main~{}..main", landed.len())),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("unsigned"))
            .count(),
        landed.len(),
        "{}",
        r.stdout
    );
    let notes = git_out(
        &remote.bare(),
        &["notes", "--ref", "refs/notes/gitops-update", "list"],
    );
    assert_eq!(notes.lines().count(), landed.len(), "{notes}");
    // image.tag holds the newest version, whatever order the writers finished in, and the
    // original bytes around it are kept.
    assert!(
        content.starts_with(&VALUES.replace("\"1.0.0\"", "\"1.0.15\"")),
        "image.tag is not the newest 1.0.15, or the original bytes changed:\n{content}"
    );
    remote.fsck();
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(2).collect();
        std::thread::sleep(std::time::Duration::from_secs(20));
        drop(conns);
    });
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(
        cwd.path(),
        &format!("http://127.0.0.1:{port}/acme/deploy.git"),
    )
    .env("GITOPS_BRANCH", "main")
    .args(["run", "--timeout", "1s"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot fetch from http://127.0.0.1"),
        "{}",
        r.stderr
    );
    drop(held);
}

#[test]
fn a_push_whose_answer_is_lost_is_found_on_the_next_fetch() {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        drop_after: 1,
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITEA_TOKEN", TOKEN)
        .args(["run", "--output", "json"]));
    ok(&r);
    // The provenance note's push, whose answer is lost and whose landing the notes' tip
    // shows, then the commit's: neither is pushed again.
    assert_eq!(
        receive_packs(&server),
        2,
        "the landed push is not pushed again"
    );
    let log = remote.log("main");
    assert_eq!(log.len(), 2, "exactly one commit: {log:?}");
    assert!(r.stdout.contains(&format!("\"outcome\":\"pushed\",\"changed\":true,\"commit_sha\":\"{}\",\"previous_sha\":\"{before}\"", remote.tip("main"))), "{}", r.stdout);
    remote.fsck();
}

#[test]
fn a_server_dying_mid_push_fails_cleanly_and_a_rerun_converges() {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        drop_before: 3,
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITEA_TOKEN", TOKEN)
        .args(["run", "--max-attempts", "3"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot push to http://127.0.0.1"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), before, "nothing landed");
    remote.fsck();
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git")).env("GITEA_TOKEN", TOKEN));
    ok(&r);
    assert_eq!(remote.log("main").len(), 2, "one commit after the re-run");
    remote.fsck();
}

#[test]
fn a_checkout_made_by_actions_checkout_needs_no_token() {
    // actions/checkout persists the token as an extra header in the checkout's config.
    let (remote, server, _root) = http_remote();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("deploy");
    let url = server.url("acme/deploy.git");
    let header = format!(
        "AUTHORIZATION: basic {}",
        base64(&format!("x-access-token:{TOKEN}"))
    );
    git_out(
        dir.path(),
        &[
            "-c",
            &format!("http.extraheader={header}"),
            "clone",
            "-q",
            &url,
            work.to_str().unwrap(),
        ],
    );
    git_out(
        &work,
        &[
            "config",
            "--local",
            &format!("http.http://127.0.0.1:{}/.extraheader", server.port),
            &header,
        ],
    );
    let r = run(&mut workflow(&work, &url));
    ok(&r);
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.2.3\"")
    );
    assert!(!r.stderr.contains(TOKEN) && !r.stdout.contains(TOKEN));
}

/// actions/checkout persisted the job token, and the workflow configured a bot token: the
/// bot token wins, because the job token cannot push to a protected branch on Gitea
/// releases before the 2026 fix (go-gitea/gitea#34567).
#[test]
fn an_explicit_token_wins_over_the_persisted_extra_header() {
    let (remote, server, _root) = http_remote();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("deploy");
    let url = server.url("acme/deploy.git");
    let job_header = format!(
        "AUTHORIZATION: basic {}",
        base64("x-access-token:j0b-t0ken-value")
    );
    git_out(
        dir.path(),
        &[
            "clone",
            "-q",
            &url.replace("http://", &format!("http://{USER}:{TOKEN}@")),
            work.to_str().unwrap(),
        ],
    );
    git_out(&work, &["remote", "set-url", "origin", &url]);
    for (key, value) in [
        (
            format!("http.http://127.0.0.1:{}/.extraheader", server.port),
            job_header.as_str(),
        ),
        // A key that matched the old, unanchored pattern with a non-ASCII subsection: its
        // slicing used to panic.
        ("a.aaé.http..extraheader".to_string(), "x"),
    ] {
        git_out(&work, &["config", "--local", &key, value]);
    }
    let first = server.requests().len();
    let r = run(workflow(&work, &url).env("GITEA_TOKEN", TOKEN));
    ok(&r);
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.2.3\"")
    );
    let sent: Vec<Option<String>> = server.requests()[first..]
        .iter()
        .map(|q| q.authorization.clone())
        .collect();
    let job = job_header.split_once(": ").unwrap().1;
    assert!(
        sent.iter().all(|a| a.as_deref() != Some(job)),
        "the persisted header was sent: {sent:?}"
    );
    assert!(
        sent.iter().any(|a| a.is_some()),
        "the token was sent: {sent:?}"
    );
}

/// The binary honours git's GIT_CONFIG_GLOBAL as git does: a user-level header is used
/// normally and ignored when the variable is set, which is how every test here runs.
#[test]
fn the_users_git_config_is_read_unless_git_config_global_is_set() {
    let (remote, server, _root) = http_remote();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("deploy");
    let url = server.url("acme/deploy.git");
    git_out(
        dir.path(),
        &[
            "clone",
            "-q",
            &url.replace("http://", &format!("http://{USER}:{TOKEN}@")),
            work.to_str().unwrap(),
        ],
    );
    git_out(&work, &["remote", "set-url", "origin", &url]);
    let xdg = dir.path().join("xdg");
    fs::create_dir_all(xdg.join("git")).unwrap();
    fs::write(
        xdg.join("git/config"),
        format!(
            "[http \"http://127.0.0.1:{}/\"]\n\textraheader = AUTHORIZATION: basic {}\n",
            server.port,
            base64(&format!("x:{TOKEN}"))
        ),
    )
    .unwrap();
    let hermetic = run(workflow(&work, &url).env("XDG_CONFIG_HOME", &xdg));
    assert_eq!(hermetic.code, 3, "{}", hermetic.stderr);
    assert!(
        hermetic.stderr.contains("set GITEA_TOKEN"),
        "{}",
        hermetic.stderr
    );
    let before = remote.tip("main");
    let users = run(workflow(&work, &url)
        .env("XDG_CONFIG_HOME", &xdg)
        .env_remove("GIT_CONFIG_GLOBAL"));
    ok(&users);
    assert_ne!(remote.tip("main"), before);
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn completions_and_help() {
    let r = run(bin().args(["completions", "bash"]));
    ok(&r);
    assert!(
        r.stdout.contains("gitops-update") && r.stdout.contains("--max-attempts"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    let r = run(bin().args(["run", "--help"]));
    ok(&r);
    for want in [
        "INPUT_FILE",
        "gitops-update run --dry-run",
        "5  gave up after --max-attempts",
    ] {
        assert!(r.stdout.contains(want), "missing {want:?}");
    }
}

#[test]
fn bare_invocation_without_inputs_says_what_is_missing() {
    let r = run(&mut bin());
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: no version: set VERSION or pass --version X.Y.Z\n"
    );
}

#[test]
fn an_expression_cannot_read_the_token() {
    let (remote, server, _root) = http_remote();
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITEA_TOKEN", TOKEN)
        .env("YQ_TPL", ".image.tag = strenv(GITEA_TOKEN)"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the environment variable GITEA_TOKEN cannot be read here"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), before);
    assert!(server.requests().is_empty(), "refused before any network");
    no_token_anywhere(&r, &remote);
}

#[test]
fn author_and_committer_come_from_the_environment() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    ok(&run(workflow(cwd.path(), &remote.file_url())
        .env("GIT_AUTHOR_NAME", "Release Bot")
        .env("GIT_AUTHOR_EMAIL", "release@acme.test")));
    assert_eq!(
        git_out(
            &remote.bare(),
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"]
        ),
        "Release Bot <release@acme.test>|Release Bot <release@acme.test>\n",
        "the committer defaults to the author"
    );
    let remote = self::remote();
    ok(&run(&mut workflow(cwd.path(), &remote.file_url())));
    assert_eq!(
        git_out(&remote.bare(), &["log", "-1", "--format=%an <%ae>", "main"]),
        "gitops-update <gitops-update@noreply.localhost>\n"
    );
}

#[test]
fn credentials_in_the_url_are_used_and_never_shown() {
    let (remote, server, _root) = http_remote();
    let cwd = tempfile::tempdir().unwrap();
    let outputs = cwd.path().join("out");
    let url = format!(
        "http://bot:{TOKEN}@127.0.0.1:{}/acme/deploy.git",
        server.port
    );
    let r = run(workflow(cwd.path(), &url).env("GITHUB_OUTPUT", &outputs));
    ok(&r);
    no_token_anywhere(&r, &remote);
    let out = fs::read_to_string(&outputs).unwrap();
    assert!(
        !out.contains(TOKEN) && out.contains("|acme/deploy\n"),
        "{out}"
    );
    // And in messages: a failing run shows the URL without them.
    let r = run(workflow(cwd.path(), &url).env("INPUT_FILE", "nope.yaml"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "of http://127.0.0.1:{}/acme/deploy.git",
            server.port
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(TOKEN));
}

#[test]
fn tag_prefix_names_the_component_and_the_step_summary_is_written() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let (outputs, summary) = (cwd.path().join("out"), cwd.path().join("summary.md"));
    ok(&run(workflow(cwd.path(), &remote.file_url())
        .env("GIT_TAG_PREFIX", "api/")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)));
    let tip = remote.tip("main");
    assert!(fs::read_to_string(&outputs)
        .unwrap()
        .contains(&format!("summary=app-api|1.2.3|success|{tip}|")));
    let md = fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("### gitops-update: app-api 1.2.3\n"), "{md}");
    assert!(
        md.contains(&format!("| commit | `{tip}` |")) && md.contains("| outcome | pushed |"),
        "{md}"
    );
}

#[test]
fn losing_every_race_gives_up_with_exit_5() {
    let (remote, server, _root) = http_remote();
    // Another writer always gets there first: the hook moves the branch before our update.
    remote.hook(
        "pre-receive",
        "#!/bin/sh\nunset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
         export GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@x GIT_COMMITTER_NAME=o GIT_COMMITTER_EMAIL=o@x\n\
         c=$(git commit-tree 'refs/heads/main^{tree}' -p refs/heads/main -m other)\n\
         git update-ref refs/heads/main \"$c\"\nexit 0\n",
    );
    let cwd = tempfile::tempdir().unwrap();
    let outputs = cwd.path().join("out");
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITEA_TOKEN", TOKEN)
        .env("GITHUB_OUTPUT", &outputs)
        .args(["run", "--max-attempts", "3"]));
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("gave up after 3 attempts"),
        "{}",
        r.stderr
    );
    // A note follows only a commit that landed (issue 30): three pushes, no note.
    assert_eq!(receive_packs(&server), 3);
    assert!(
        !remote
            .show("main", "charts/app/values.yaml")
            .contains("1.2.3"),
        "never landed"
    );
    assert_eq!(
        git_out(
            &remote.bare(),
            &["notes", "--ref", "refs/notes/gitops-update", "list"]
        ),
        "",
        "no note of a commit that never landed"
    );
    assert!(
        fs::read_to_string(&outputs)
            .unwrap()
            .contains("|1.2.3|failure||"),
        "the summary says so"
    );
    remote.fsck();
}

/// HTTPS through libgit2's TLS stream, which wraps the TCP_NODELAY stream gitops-update
/// registers: a TLS terminator on the vendored OpenSSL in front of the test server, with a
/// certificate made here.
#[test]
fn https_works_and_checks_the_certificate() {
    let (remote, server, _root) = http_remote();
    let tls = crate::common::tls::Terminator::start(server.port);
    let (port, cert) = (tls.port, tls.cert.clone());
    let url = format!("https://127.0.0.1:{port}/acme/deploy.git");
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let untrusted = run(workflow(cwd.path(), &url).env("GITEA_TOKEN", TOKEN));
    let trusted = run(workflow(cwd.path(), &url)
        .env("GITEA_TOKEN", TOKEN)
        .env("SSL_CERT_FILE", &cert));
    drop(tls);
    assert_eq!(untrusted.code, 3, "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("certificate"),
        "{}",
        untrusted.stderr
    );
    ok(&trusted);
    assert_ne!(remote.tip("main"), before);
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES.replace("\"1.0.0\"", "\"1.2.3\"")
    );
    no_token_anywhere(&trusted, &remote);
}
