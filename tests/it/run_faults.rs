//! Fault injection against the update run over smart HTTP: the remote dies mid-fetch,
//! answers pushes with HTTP 500, and the process is killed with SIGKILL at points spread
//! over a run (and right after its push lands). Each time: a clear exit code, a remote that
//! `git fsck` finds clean, and a re-run that converges to exactly one update commit.
//! (Mid-push deaths, lost answers and silent servers are in run.rs.)

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::git::{Faults, TOKEN};
use crate::common::run;
use crate::common::run::{http_remote, ok, receive_packs, workflow, VALUES};

#[test]
fn the_remote_dying_mid_fetch_fails_cleanly_and_a_rerun_converges() {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        cut_fetch: 1,
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let url = server.url("acme/deploy.git");
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &url)
        .env("GITEA_TOKEN", TOKEN)
        .arg("run"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot fetch from http://127.0.0.1"),
        "{}",
        r.stderr
    );
    assert_eq!(receive_packs(&server), 0, "no push after a failed fetch");
    assert_eq!(remote.tip("main"), before);
    remote.fsck();

    let r = run(workflow(cwd.path(), &url).env("GITEA_TOKEN", TOKEN));
    ok(&r);
    assert_eq!(remote.log("main").len(), 2, "one commit after the re-run");
    remote.fsck();
}

#[test]
fn an_http_500_on_receive_pack_is_retried_and_lands_once() {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        fail_push: 1,
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITEA_TOKEN", TOKEN)
        .arg("run"));
    ok(&r);
    // The provenance note's push fails, then the note and the commit land.
    assert_eq!(receive_packs(&server), 3, "{}", r.stderr);
    assert_eq!(remote.log("main").len(), 2, "exactly one commit");
    assert!(remote
        .show("main", "charts/app/values.yaml")
        .contains("tag: \"1.2.3\""));
    remote.fsck();
}

#[test]
fn a_server_that_always_answers_500_stops_after_the_second_same_answer_with_exit_3() {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        fail_push: 100,
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let before = remote.tip("main");
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITEA_TOKEN", TOKEN)
        .args(["run", "--max-attempts", "5"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .last()
            .is_some_and(|l| l.contains("status code: 500; the server failed on its side")),
        "says what the server said: {}",
        r.stderr
    );
    // The same answer from the same tip twice is the server's final word, not a lost one.
    assert_eq!(receive_packs(&server), 2);
    assert_eq!(remote.tip("main"), before);
    remote.fsck();
}

/// Where a killed run left the remote.
#[derive(Debug, PartialEq)]
enum Left {
    Untouched,
    Landed,
}

/// Starts a run against a server that pauses 40 ms before each answer, kills it with
/// SIGKILL when `kill` says so, checks the remote, re-runs to completion and checks that
/// exactly one update commit exists. Also returns how long the first run lived.
fn kill_then_rerun(kill: &dyn Fn(Duration, &dyn Fn() -> bool) -> bool) -> (Left, Duration) {
    let (remote, server, _root) = http_remote();
    server.inject(Faults {
        delay: Duration::from_millis(40),
        ..Faults::default()
    });
    let cwd = tempfile::tempdir().unwrap();
    let url = server.url("acme/deploy.git");
    let seed = remote.tip("main");
    let mut child = workflow(cwd.path(), &url)
        .env("GITEA_TOKEN", TOKEN)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let landed = || remote.tip("main") != seed;
    while child.try_wait().unwrap().is_none() && !kill(start.elapsed(), &landed) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let lived = start.elapsed();
    let _ = child.kill(); // SIGKILL
    child.wait().unwrap();
    remote.fsck();
    let left = match remote.log("main").len() {
        1 => Left::Untouched,
        2 => Left::Landed,
        n => panic!("{n} commits after one killed run"),
    };

    server.inject(Faults::default());
    let r = run(workflow(cwd.path(), &url)
        .env("GITEA_TOKEN", TOKEN)
        .arg("run"));
    ok(&r);
    let log = remote.log("main");
    assert_eq!(log.len(), 2, "exactly one update commit: {log:?}");
    assert_ne!(remote.tip("main"), seed);
    let content = remote.show("main", "charts/app/values.yaml");
    assert_eq!(content, VALUES.replace("\"1.0.0\"", "\"1.2.3\""));
    remote.fsck();
    (left, lived)
}

#[test]
fn sigkill_at_points_spread_over_a_run_then_a_rerun_converges() {
    // How long an undisturbed run lives against the slowed server; then kills at tenths of
    // that: in start-up, ref discovery, the fetch, the push, and after the push landed.
    let (left, full) = kill_then_rerun(&|_, _| false);
    assert_eq!(left, Left::Landed);
    let mut seen = Vec::new();
    for i in 0..10u32 {
        let at = full * i / 10;
        seen.push(kill_then_rerun(&move |t, _| t >= at).0);
    }
    eprintln!("kills left the remote: {seen:?}");
    assert!(
        seen.contains(&Left::Untouched),
        "no kill fell before the push: {seen:?}"
    );
}

#[test]
fn sigkill_right_after_the_push_lands_then_a_rerun_adds_no_duplicate() {
    // The server holds the push's answer for 40 ms after updating the ref: the kill falls
    // between the push landing and the run hearing of it.
    let (left, _) = kill_then_rerun(&|_, landed| landed());
    assert_eq!(left, Left::Landed);
}
