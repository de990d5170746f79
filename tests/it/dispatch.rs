//! `gitops-update dispatch` against the Gitea emulator (`common::gitea`): dispatches answered
//! 204 with no run id, runs that wait for a runner and run the real updater, runs cancelled
//! by the next dispatch, tasks titled by the workflow's run-name, commits 50 a page. wiremock
//! stays only where a fixed answer is the point.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::git::{git_out, Remote};
use crate::common::gitea::{Gitea, Options, Req, RunView, APP_URL};
use crate::common::{bin, run, Run};

const GITOPS_TOKEN: &str = "d1spatch-t0ken";
const STATUS_TOKEN: &str = "st4tus-t0ken";

/// The GitOps repo's receiver, exactly as the example ships it.
fn receiver() -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows/gitops-service.yaml"),
    )
    .unwrap()
}

struct World {
    gitea: Gitea,
    deploy: Remote,
    app: Remote,
    source_sha: String,
    cwd: tempfile::TempDir,
}

fn world(opts: Options, values: &str) -> World {
    world_with(opts, values, &receiver())
}

fn world_with(opts: Options, values: &str, workflow: &str) -> World {
    let deploy = Remote::new(&[
        ("values.yaml", values),
        (".gitea/workflows/gitops-service.yaml", workflow),
    ]);
    let app = Remote::new(&[("README", "app\n")]);
    let source_sha = app.tip("main");
    let gitea = Gitea::start(opts, &[("acme/deploy", &deploy), ("acme/app", &app)]);
    World {
        gitea,
        deploy,
        app,
        source_sha,
        cwd: tempfile::tempdir().unwrap(),
    }
}

/// The values of `n` components, each at tag "0", for `svc_consumer`.
fn svc_values(n: usize) -> String {
    (0..n).map(|i| format!("svc{i}:\n  tag: \"0\"\n")).collect()
}

const VALUES: &str = "image:\n  tag: \"1.0.0\"  # keep me\n";

impl World {
    fn consumer(&self, id: &str, version: &str, expr: &str) -> std::process::Command {
        let mut cmd = self.consumer_polling(id, version, expr, "100ms");
        cmd.args(["--wait-timeout", "90s"]);
        cmd
    }

    fn consumer_polling(
        &self,
        id: &str,
        version: &str,
        expr: &str,
        poll: &str,
    ) -> std::process::Command {
        let mut cmd = bin();
        cmd.current_dir(self.cwd.path())
            .env("GITOPS_REPO", "acme/deploy")
            .env("GITOPS_FILE", "values.yaml")
            .env("GITOPS_YQ_TPL", expr)
            .env("VERSION", version)
            .env("GITEA_API_URL", self.gitea.api_url())
            .env("GITOPS_DISPATCH_TOKEN", GITOPS_TOKEN)
            .env("GITHUB_TOKEN", STATUS_TOKEN)
            .env("GITHUB_REPOSITORY", "acme/app")
            .env("GITHUB_SHA", &self.source_sha)
            .env("GITHUB_OUTPUT", self.output_file(id))
            .args(["dispatch", "--dispatch-id", id, "--poll-interval", poll]);
        cmd
    }

    /// Consumer `i` of one monorepo into a GitOps repo of `svc_values`: dispatch `c-{i}`
    /// of version `1.0.{i}` to its own key, its tag prefix naming the component.
    fn svc_consumer_polling(&self, i: usize, poll: &str) -> std::process::Command {
        let mut cmd = self.consumer_polling(
            &format!("c-{i}"),
            &format!("1.0.{i}"),
            &format!(".svc{i}.tag = \"{{{{VERSION}}}}\""),
            poll,
        );
        cmd.env("GIT_TAG_PREFIX", format!("svc{i}/"));
        cmd
    }

    /// `svc_consumer_polling` with the test defaults of `consumer`.
    fn svc_consumer(&self, i: usize) -> std::process::Command {
        let mut cmd = self.svc_consumer_polling(i, "100ms");
        cmd.args(["--wait-timeout", "90s"]);
        cmd
    }

    fn dispatch(&self, id: &str, version: &str, extra: &[&str]) -> Run {
        let r = run(self
            .consumer(id, version, ".image.tag = \"{{VERSION}}\"")
            .args(extra));
        no_token(&r);
        r
    }

    fn output_file(&self, id: &str) -> PathBuf {
        self.cwd.path().join(format!("out-{id}"))
    }

    fn output(&self, id: &str) -> String {
        fs::read_to_string(self.output_file(id)).unwrap_or_default()
    }

    fn consumer_statuses(&self) -> Vec<crate::common::gitea::StatusView> {
        self.gitea.statuses("acme/app")
    }
}

fn no_token(r: &Run) {
    for t in [GITOPS_TOKEN, STATUS_TOKEN, crate::common::git::TOKEN] {
        assert!(
            !r.stdout.contains(t) && !r.stderr.contains(t),
            "token leaked: {}",
            r.stderr
        );
    }
}

fn update_commits(remote: &Remote) -> Vec<String> {
    remote
        .log("main")
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .filter(|sha| remote.message(sha).contains("gitops: update version to"))
        .collect()
}

#[test]
fn lands_and_reports_its_own_commit_with_links_for_people() {
    let w = world(Options::default(), VALUES);
    let r = w.dispatch("d-1", "1.2.3", &[]);
    assert_eq!(r.code, 0, "{}\n{:#?}", r.stderr, w.gitea.runs());
    let tip = w.deploy.tip("main");
    assert_eq!(r.stdout, format!("app|1.2.3|success|{tip}|acme/deploy\n"));
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        "image:\n  tag: \"1.2.3\"  # keep me\n"
    );
    assert!(w.deploy.message("main").contains("Dispatch-Id: d-1\n"));
    let out = w.output("d-1");
    for line in [
        format!("summary=app|1.2.3|success|{tip}|acme/deploy\n"),
        format!("commit_sha={tip}\n"),
        "changed=true\n".to_string(),
        "dispatch_id=d-1\n".to_string(),
    ] {
        assert!(out.contains(&line), "{line:?} in {out}");
    }
    // The dispatch: Gitea's body, no query string, and the run titled by the run-name.
    let dispatches: Vec<_> = w
        .gitea
        .requests()
        .into_iter()
        .filter(|q| q.path.ends_with("/dispatches"))
        .collect();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].query, "");
    assert_eq!(
        dispatches[0].authorization.as_deref(),
        Some(format!("token {GITOPS_TOKEN}").as_str())
    );
    let body = jaq_json::read::parse_single(dispatches[0].body.as_bytes()).unwrap();
    let want = format!(
        r#"{{"ref":"main","inputs":{{"file":"values.yaml","yq_tpl":".image.tag = \"{{{{VERSION}}}}\"","version":"1.2.3","source_repo":"acme/app","source_commit":"{}","dispatch_id":"d-1","git_tag_prefix":""}}}}"#,
        w.source_sha
    );
    assert_eq!(body, jaq_json::read::parse_single(want.as_bytes()).unwrap());
    w.gitea.settle(Duration::from_secs(30));
    let runs = w.gitea.runs();
    assert_eq!(runs[0].title, "GitOps (d-1)");
    assert_eq!(runs[0].result.as_ref().map(|r| r.0), Some(0), "{runs:#?}");
    assert!(
        runs[0].outputs.contains("changed=true\n"),
        "{}",
        runs[0].outputs
    );
    // The consumer's status links to the commit under the public URL, never the API's.
    let statuses = w.consumer_statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].sha, w.source_sha);
    assert_eq!(statuses[0].state, "success");
    // Named after the consumer (acme/app), not the GitOps repo (acme/deploy).
    assert_eq!(statuses[0].context, "gitops/app");
    assert_eq!(
        statuses[0].target_url,
        format!("{APP_URL}/acme/deploy/commit/{tip}")
    );
    // The updater's own status names the dispatch.
    let record = w.gitea.statuses("acme/deploy");
    assert!(
        record
            .iter()
            .any(|s| s.sha == tip && s.description.ends_with("(dispatch d-1)")),
        "{record:?}"
    );
}

/// The commonest re-run: the version is already recorded, the updater commits nothing,
/// and Gitea gives no run id. The updater's record on the tip confirms it.
fn recorded_version_is_confirmed(version: &'static str) {
    let w = world(
        Options {
            version,
            ..Options::default()
        },
        VALUES,
    );
    let first = w.dispatch("d-1", "1.2.3", &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let tip = w.deploy.tip("main");
    w.gitea.settle(Duration::from_secs(30));
    let started = Instant::now();
    let again = w.dispatch("d-2", "1.2.3", &[]);
    let took = started.elapsed();
    assert_eq!(again.code, 0, "{}\n{:#?}", again.stderr, w.gitea.runs());
    assert_eq!(
        again.stdout,
        format!("app|1.2.3|success|{tip}|acme/deploy\n")
    );
    assert!(
        w.output("d-2").contains("changed=false\n"),
        "{}",
        w.output("d-2")
    );
    assert!(
        again.stderr.contains("was already in acme/deploy"),
        "{}",
        again.stderr
    );
    assert_eq!(w.deploy.tip("main"), tip, "nothing committed twice");
    assert_eq!(update_commits(&w.deploy).len(), 1);
    assert_eq!(
        w.gitea.dispatches(),
        2,
        "no re-dispatch for a recorded version"
    );
    // A bound with a wide margin, not a benchmark: the wait timeout is 90 s.
    assert!(took < Duration::from_secs(30), "{took:?}");
    let last = w.consumer_statuses().pop().unwrap();
    assert_eq!(
        (last.state.as_str(), last.sha.as_str()),
        ("success", w.source_sha.as_str())
    );
    assert!(
        last.description.contains("already in acme/deploy"),
        "{}",
        last.description
    );
}

#[test]
fn a_recorded_version_is_confirmed_without_a_run_id_on_1_25() {
    recorded_version_is_confirmed("1.25.4");
}

#[test]
fn a_recorded_version_is_confirmed_without_a_run_id_on_1_24() {
    recorded_version_is_confirmed("1.24.7");
}

/// Consumers dispatching at once into one GitOps repo, each its own key: on 1.24 and 1.25
/// every dispatch cancels the runs before it; elsewhere the runs queue.
fn consumers_at_once(version: &'static str, n: usize, extra: &'static [&'static str]) -> World {
    let w = consumers_into(version, n, extra, &receiver());
    let cancelled = w.gitea.runs().iter().any(|r| r.status == "cancelled");
    if ["1.24.", "1.25."].iter().any(|v| version.starts_with(v)) {
        assert!(
            cancelled,
            "the race was real: some run was cancelled by a later dispatch"
        );
    } else {
        // No cancel on dispatch: every run is waited for, none dispatched twice.
        assert!(!cancelled, "{:#?}", w.gitea.runs());
        assert_eq!(w.gitea.dispatches(), n, "one dispatch each");
    }
    w
}

/// The consumers of `consumers_at_once`, into a GitOps repo whose receiver is `workflow`:
/// all land, each proves its own commit, and no update is committed twice.
fn consumers_into(
    version: &'static str,
    n: usize,
    extra: &'static [&'static str],
    workflow: &str,
) -> World {
    let values = svc_values(n);
    let w = world_with(
        Options {
            version,
            ..Options::default()
        },
        &values,
        workflow,
    );
    let results: Vec<(String, Run)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let w = &w;
                scope.spawn(move || {
                    // One monorepo's components: the tag prefix names each.
                    (format!("c-{i}"), run(w.svc_consumer(i).args(extra)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut shas = std::collections::BTreeSet::new();
    for (id, r) in &results {
        assert_eq!(r.code, 0, "{id}: {}\n{:#?}", r.stderr, w.gitea.runs());
        let sha = r.stdout.trim().split('|').nth(3).unwrap().to_string();
        assert!(
            w.deploy
                .message(&sha)
                .contains(&format!("Dispatch-Id: {id}\n")),
            "{id} reported a commit that is not its own"
        );
        assert!(w.output(id).contains("changed=true\n"), "{id}");
        shas.insert(sha);
    }
    assert_eq!(shas.len(), n, "each reports its own commit");
    assert_eq!(
        update_commits(&w.deploy).len(),
        n,
        "exactly {n} update commits"
    );
    let file = w.deploy.show("main", "values.yaml");
    for i in 0..n {
        assert!(
            file.contains(&format!("svc{i}:\n  tag: \"1.0.{i}\"\n")),
            "{file}"
        );
    }
    w.deploy.fsck();
    w
}

#[test]
fn five_consumers_at_once_all_land_with_one_dispatch_each_on_1_26_and_1_27() {
    for version in ["1.26.3", "1.27.0"] {
        consumers_at_once(version, 5, &[]);
    }
}

/// A receiver with a `concurrency:` group on 1.26+: each new run cancels the group's
/// waiting one (services/actions/clear_tasks.go), so consumers lose runs as on 1.25, see it
/// at once by the run's id, and dispatch again until all have landed.
#[test]
fn five_consumers_at_once_all_land_through_a_concurrency_group_on_1_26() {
    let wf = receiver().replace(
        "\npermissions:",
        "\nconcurrency:\n  group: gitops\n\npermissions:",
    );
    assert_ne!(wf, receiver());
    let w = consumers_into("1.26.3", 5, &[], &wf);
    assert!(
        w.gitea.runs().iter().any(|r| r.status == "cancelled"),
        "the group cancelled waiting runs"
    );
    assert!(w.gitea.dispatches() > 5);
}

#[test]
fn five_consumers_at_once_all_land_with_one_dispatch_each_on_forgejo() {
    for version in [
        "11.0.1+gitea-1.22.0",
        "12.0.1+gitea-1.22.0",
        "13.0.0+gitea-1.22.0",
    ] {
        consumers_at_once(version, 5, &[]);
    }
}

#[test]
fn five_consumers_at_once_all_land_on_1_25() {
    let w = consumers_at_once("1.25.4", 5, &[]);
    assert!(w.gitea.dispatches() >= 5);
}

#[test]
fn five_consumers_at_once_all_land_on_1_24_without_titled_runs() {
    // 1.24 titles runs by the head commit, so ours cannot be told apart; a run taken after
    // our dispatch that ended without our proof tells that ours was cancelled. Waiting for
    // --lost-after (60 s) instead would outlast the consumers' --wait-timeout (90 s).
    let w = consumers_at_once("1.24.7", 5, &[]);
    assert!(w.gitea.dispatches() >= 5);
}

/// On 1.24 and 1.25 a dispatch cancels the workflow's running run, pushed or not, deploying
/// or not: a consumer that finds one active waits for it to end, and neither is lost. The
/// runs are held (`hold_jobs`) until the second consumer has said it waits, so what it saw
/// does not depend on how fast it started.
fn waits_for_an_active_run(version: &'static str) {
    use std::io::{BufRead, BufReader, Read};
    let opts = Options {
        version,
        hold_jobs: true,
        ..Options::default()
    };
    let w = world(opts, &svc_values(2));
    let limit = Duration::from_secs(60);
    let consumer = |i: usize| w.svc_consumer(i);
    let (first, second_code, second_err) = std::thread::scope(|scope| {
        let first = scope.spawn(|| run(&mut consumer(0)));
        w.gitea.wait_for(1, "running", limit);
        let mut child = consumer(1)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        while !said.contains("is active; dispatching once it has ended") {
            let mut line = String::new();
            assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "{said}");
            said.push_str(&line);
        }
        assert_eq!(w.gitea.dispatches(), 1, "nothing sent while run 1 runs");
        w.gitea.release(1);
        w.gitea.wait_for(2, "running", limit);
        w.gitea.release(2);
        stderr.read_to_string(&mut said).unwrap();
        let code = child.wait().unwrap().code();
        (first.join().unwrap(), code, said)
    });
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second_code, Some(0), "{second_err}");
    assert!(
        second_err.contains(
            "a run of gitops-service.yaml in acme/deploy is active; dispatching once it has ended"
        ),
        "{second_err}"
    );
    // A consumer ends once its commit is there, which can be before its run's step has
    // exited: the runs are read once they have ended.
    for id in [1, 2] {
        assert_eq!(w.gitea.wait_for(id, "success", limit).status, "success");
    }
    assert!(
        !w.gitea.runs().iter().any(|r| r.status == "cancelled"),
        "nothing cancelled"
    );
    assert_eq!(update_commits(&w.deploy).len(), 2);
}

#[test]
fn a_dispatch_waits_for_an_active_run_instead_of_cancelling_it_on_1_25() {
    waits_for_an_active_run("1.25.4");
}

#[test]
fn a_dispatch_waits_for_an_active_run_instead_of_cancelling_it_on_1_24() {
    waits_for_an_active_run("1.24.7");
}

/// Two merges a minute apart: two builds of one component. The newer build's dispatch
/// cancels the older one's run; dispatching the older one again would put its older
/// version back over the newer one, so it is not dispatched again: it ends superseded by
/// the newer build's commit (exit 8, no failure).
#[test]
fn an_older_build_cancelled_by_a_newer_one_is_not_dispatched_again() {
    let w = world(
        Options {
            pickup: Duration::from_millis(600),
            ..Options::default()
        },
        VALUES,
    );
    w.app
        .commit_elsewhere("README", "app 2\n", "the next merge");
    let newer_build = w.app.tip("main");
    let (older, newer) = std::thread::scope(|scope| {
        let older = scope.spawn(|| w.dispatch("d-old", "1.0.1", &[]));
        std::thread::sleep(Duration::from_millis(200));
        let newer = scope.spawn(|| {
            let r = run(w
                .consumer("d-new", "1.0.2", ".image.tag = \"{{VERSION}}\"")
                .env("GITHUB_SHA", &newer_build));
            no_token(&r);
            r
        });
        (older.join().unwrap(), newer.join().unwrap())
    });
    assert_eq!(newer.code, 0, "{}", newer.stderr);
    assert_eq!(older.code, 8, "{}", older.stderr);
    assert!(
        older.stderr.contains("the run for dispatch d-old in acme/deploy was cancelled, and app 1.0.2 has been recorded since (dispatch d-new")
            && older.stderr.contains("not dispatching again, which would go back to an older version"),
        "{}", older.stderr
    );
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        "image:\n  tag: \"1.0.2\"  # keep me\n"
    );
    let commits = update_commits(&w.deploy);
    assert_eq!(commits.len(), 1);
    assert_eq!(w.gitea.dispatches(), 2);
    let summary = format!("app|1.0.1|superseded|{}|acme/deploy", commits[0]);
    assert_eq!(older.stdout, format!("{summary}\n"));
    assert!(w.output("d-old").contains(&format!("summary={summary}\n")));
}

/// Builds finish out of order: the newer build's version lands first, then the older
/// build's run finds it and ends superseded, writing nothing but its record. Its dispatch
/// ends at once on that record (one dispatch, no wait for a commit that never comes):
/// superseded, exit 8, the summary line naming the commit that holds the newer version,
/// and a success status on the consumer's commit saying so. On every server: the record
/// is in the repository, whatever the server shows of the run.
#[test]
fn an_older_build_finishing_last_is_reported_superseded_on_its_runs_record() {
    for version in ["1.24.7", "1.25.4", "1.26.0", "11.0.1+gitea-1.22.0"] {
        let w = world(
            Options {
                version,
                ..Options::default()
            },
            VALUES,
        );
        let r = w.dispatch("d-new", "1.0.2", &[]);
        assert_eq!(r.code, 0, "{version}: {}", r.stderr);
        let tip = w.deploy.tip("main");
        w.gitea.settle(Duration::from_secs(30));
        let r = w.dispatch("d-old", "1.0.1", &[]);
        assert_eq!(r.code, 8, "{version}: {}", r.stderr);
        let summary = format!("app|1.0.1|superseded|{tip}|acme/deploy");
        assert_eq!(r.stdout, format!("{summary}\n"), "{version}");
        let out = w.output("d-old");
        for line in [
            format!("summary={summary}\n"),
            format!("commit_sha={tip}\n"),
            "changed=false\n".into(),
        ] {
            assert!(out.contains(&line), "{version}: {line:?} in {out}");
        }
        assert!(
            r.stderr
                .contains("app 1.0.1 was superseded: acme/deploy already holds 1.0.2 at"),
            "{version}: {}",
            r.stderr
        );
        assert_eq!(w.gitea.dispatches(), 2, "{version}: dispatched once each");
        assert_eq!(w.deploy.tip("main"), tip, "{version}: nothing written");
        assert!(w.deploy.show("main", "values.yaml").contains("\"1.0.2\""));
        // The consumer's commit: green, saying why nothing was written.
        let ours = w.consumer_statuses();
        let last = ours.last().unwrap();
        assert_eq!(
            (last.state.as_str(), last.description.as_str()),
            (
                "success",
                format!(
                    "app 1.0.1 superseded: acme/deploy already holds 1.0.2 at {}",
                    &tip[..7]
                )
                .as_str()
            ),
            "{version}"
        );
        assert_eq!(
            last.target_url,
            format!("{APP_URL}/acme/deploy/commit/{tip}")
        );
        // The tip's own status is still the newer run's; the older one's sits beside it.
        let on_tip: Vec<_> = w
            .gitea
            .statuses("acme/deploy")
            .into_iter()
            .filter(|s| s.sha == tip)
            .collect();
        let newest = |context: &str| on_tip.iter().rev().find(|s| s.context == context);
        assert!(
            newest("gitops/acme/app").is_some_and(|s| s.description.ends_with("(dispatch d-new)")),
            "{version}: {on_tip:?}"
        );
        assert!(
            newest("gitops-superseded/acme/app").is_some_and(|s| s.description
                == format!(
                    "app 1.0.1 from acme/app@{} superseded by 1.0.2 (dispatch d-old)",
                    &w.source_sha[..7]
                )),
            "{version}: {on_tip:?}"
        );
    }
}

#[test]
fn a_failing_run_ends_the_wait_at_once_with_its_link() {
    let w = world(Options::default(), VALUES);
    let started = Instant::now();
    let r = run(w
        .consumer("d-9", "1.2.3", ".image.tag = \"{{VERSION}}\"")
        .env("GITOPS_FILE", "missing.yaml"));
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_failed_at_once(&w, &r, "d-9", 1, 1);
}

/// A failed run as the consumer sees it: one line with the run's page, the summary line's
/// failure, the failure status linking that page, and no dispatch again.
fn assert_failed_at_once(w: &World, r: &Run, id: &str, run: u64, dispatches: usize) {
    let url = format!("{APP_URL}/acme/deploy/actions/runs/{run}");
    assert!(
        r.stderr.contains(&format!(
            "the GitOps run for dispatch {id} in acme/deploy failed; see its log: {url}"
        )),
        "{}",
        r.stderr
    );
    assert!(
        w.output(id)
            .lines()
            .any(|l| l.starts_with("summary=app|") && l.ends_with("|failure||acme/deploy")),
        "{}",
        w.output(id)
    );
    let status = w.consumer_statuses().pop().unwrap();
    assert_eq!(
        (status.state.as_str(), status.target_url.as_str()),
        ("failure", url.as_str())
    );
    assert_eq!(
        w.gitea.dispatches(),
        dispatches,
        "a failed run is not dispatched again"
    );
}

/// Sixty commits land on top of the update before the consumer's next look: it pages
/// through them to find its own. The run is held, and the consumer's looks at the commits
/// wait, until all sixty are there, so the order does not depend on timing.
#[test]
fn sixty_commits_landing_during_the_wait_are_paged_through() {
    let w = world(
        Options {
            hold_jobs: true,
            ..Options::default()
        },
        VALUES,
    );
    let limit = Duration::from_secs(60);
    let r = std::thread::scope(|scope| {
        let consumer = scope.spawn(|| {
            run(&mut w.consumer_polling("d-60", "1.2.3", ".image.tag = \"{{VERSION}}\"", "100ms"))
        });
        w.gitea.wait_for(1, "running", limit);
        w.gitea.hold_commit_lists(true);
        w.gitea.release(1);
        w.gitea.wait_for(1, "success", limit);
        let bare = w.deploy.bare();
        let mut parent = w.deploy.tip("main");
        let tree = crate::common::git::git_out(&bare, &["rev-parse", "main^{tree}"]);
        for i in 0..60 {
            parent = crate::common::git::git_out(
                &bare,
                &[
                    "commit-tree",
                    tree.trim(),
                    "-p",
                    &parent,
                    "-m",
                    &format!("other {i}"),
                ],
            )
            .trim()
            .to_string();
        }
        crate::common::git::git_out(&bare, &["update-ref", "refs/heads/main", &parent]);
        w.gitea.hold_commit_lists(false);
        consumer.join().unwrap()
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ours = w.deploy.log("main")[60]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert!(w.deploy.message(&ours).contains("Dispatch-Id: d-60\n"));
    assert_eq!(r.stdout, format!("app|1.2.3|success|{ours}|acme/deploy\n"));
    assert!(
        w.gitea
            .requests()
            .iter()
            .any(|q| q.path.ends_with("/commits") && q.query.contains("page=2")),
        "the second page was read"
    );
}

#[test]
fn gitea_1_23_is_refused_naming_the_release_needed() {
    let w = world(
        Options {
            version: "1.23.8",
            ..Options::default()
        },
        VALUES,
    );
    let r = w.dispatch("d-1", "1.2.3", &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains("Gitea 1.23.8")
            && last.contains("needs Gitea 1.24 or newer")
            && last.contains("1.25"),
        "{last}"
    );
    assert_eq!(w.gitea.dispatches(), 0);
    assert!(w
        .output("d-1")
        .contains("summary=app|1.2.3|failure||acme/deploy\n"));
}

/// A world on the server `version`, and the requests it saw for one successful dispatch:
/// the dispatch itself, and all of them.
fn dispatched_on(version: &'static str) -> (World, Run, Req, Vec<Req>) {
    let w = world(
        Options {
            version,
            ..Options::default()
        },
        VALUES,
    );
    let r = w.dispatch("d-1", "1.2.3", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reqs = w.gitea.requests();
    let dispatch = reqs
        .iter()
        .find(|q| q.path.ends_with("/dispatches"))
        .unwrap()
        .clone();
    (w, r, dispatch, reqs)
}

/// Gitea 1.26+ names the run a dispatch started when asked (`?return_run_details=true`,
/// 200): the wait reads that run, not tasks by their titles, and a run that fails is known
/// at once, with its own page as the status link.
#[test]
fn on_gitea_1_26_the_dispatch_watches_the_run_it_started() {
    let (w, _, dispatch, reqs) = dispatched_on("1.26.3");
    assert_eq!(
        (dispatch.query.as_str(), dispatch.status),
        ("return_run_details=true", 200)
    );
    assert!(
        !dispatch.body.contains("return_run_info"),
        "{}",
        dispatch.body
    );
    // GitHub's body form too, which Gitea's binding ignores: the 200 above came anyway.
    assert!(
        dispatch.body.contains("\"return_run_details\":true"),
        "{}",
        dispatch.body
    );
    assert!(reqs
        .iter()
        .any(|q| q.path == "/api/v1/repos/acme/deploy/actions/runs/1"));

    let r = run(w
        .consumer("d-2", "1.2.4", ".image.tag = \"{{VERSION}}\"")
        .env("GITOPS_FILE", "missing.yaml"));
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_failed_at_once(&w, &r, "d-2", 2, 2);
}

/// Forgejo v11 has no `/actions/runs/{id}` (from v12): it is not asked for the run, which
/// it could not show, and the update is proven from the repository as on Gitea 1.24.
#[test]
fn forgejo_11_is_not_asked_for_a_run_it_cannot_show() {
    let (w, _, dispatch, reqs) = dispatched_on("11.0.1+gitea-1.22.0");
    assert!(!dispatch.body.contains("return_run_"), "{}", dispatch.body);
    assert_eq!(dispatch.status, 204);
    assert!(!reqs.iter().any(|q| q.path.contains("/actions/runs/")));
    assert!(
        w.output("d-1").contains("summary=app|1.2.3|success|"),
        "{}",
        w.output("d-1")
    );
}

#[test]
fn forgejo_returns_the_run_and_it_is_watched() {
    let (_w, r, dispatch, reqs) = dispatched_on("12.0.1+gitea-1.22.0");
    assert!(
        dispatch.body.contains("\"return_run_info\":true"),
        "{}",
        dispatch.body
    );
    assert_eq!(dispatch.status, 201);
    assert!(reqs
        .iter()
        .any(|q| q.path == "/api/v1/repos/acme/deploy/actions/runs/1"));
    assert!(r.stderr.contains("run 1"), "{}", r.stderr);
}

#[test]
fn a_renamed_repository_is_followed_for_reads_and_refused_for_writes() {
    let w = world(Options::default(), VALUES);
    w.gitea.rename("acme/deploy", "acme/deploy-new");
    let r = w.dispatch("d-1", "1.2.3", &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains("Gitea answered 301: the repository has moved to")
            && last.contains(
                "/repos/acme/deploy-new/actions/workflows/gitops-service.yaml/dispatches"
            ),
        "{last}"
    );
    assert!(w.gitea.runs().is_empty(), "a 301 is never success");
    let reqs = w.gitea.requests();
    assert!(reqs
        .iter()
        .any(|q| q.path == "/api/v1/repos/acme/deploy-new" && q.status == 200));
}

#[test]
fn a_status_on_an_unknown_sha_is_not_retried() {
    let w = world(Options::default(), VALUES);
    let unknown = "f".repeat(40);
    let r = run(w
        .consumer("d-1", "1.2.3", ".image.tag = \"{{VERSION}}\"")
        .env("GITHUB_SHA", &unknown));
    assert_eq!(r.code, 0, "the update landed: {}", r.stderr);
    let posts = w
        .gitea
        .requests()
        .into_iter()
        .filter(|q| {
            q.method == "POST" && q.path == format!("/api/v1/repos/acme/app/statuses/{unknown}")
        })
        .count();
    assert_eq!(
        posts, 1,
        "Gitea's 500 for an unknown sha is an answer, not an outage"
    );
    assert!(r.stderr.contains("Gitea answered 500"), "{}", r.stderr);
}

#[test]
fn a_line_break_in_any_input_is_refused_before_anything_is_sent() {
    let w = world(Options::default(), VALUES);
    let rows: [(&str, &str); 6] = [
        ("GITOPS_REPO", "acme/deploy\nchanged=true"),
        ("GIT_TAG_PREFIX", "docker/\nchanged=true"),
        ("GITOPS_BRANCH", "main\nchanged=true"),
        ("GITHUB_REPOSITORY", "acme/app\nchanged=true"),
        (
            "GITHUB_SHA",
            "0123456789abcdef0123456789abcdef01234567\nchanged=true",
        ),
        ("GITOPS_WORKFLOW", "gitops-service.yaml\nchanged=true"),
    ];
    for (name, value) in rows {
        let r = run(w
            .consumer("row", "1.2.3", ".image.tag = \"{{VERSION}}\"")
            .env(name, value));
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        let last = r.stderr.lines().last().unwrap_or("");
        assert!(last.starts_with("error: "), "{name}: {}", r.stderr);
        assert!(
            !w.output("row").contains("changed=true"),
            "{name} injected an output"
        );
    }
    let mut cmd = w.consumer("row", "1.2.3", ".image.tag = \"{{VERSION}}\"");
    let r = run(cmd.args(["--component", "app\nchanged=true"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(w.gitea.requests().is_empty(), "nothing was sent");
}

/// A Gitea that answers with fixed bodies, for the cases where the answer is the point.
struct Fixed {
    rt: tokio::runtime::Runtime,
    server: wiremock::MockServer,
    cwd: tempfile::TempDir,
}

impl Fixed {
    fn new(commits: &str, dispatch: wiremock::ResponseTemplate) -> Fixed {
        Fixed::answering(fixed_json(200, commits), dispatch)
    }

    fn answering(
        commits: wiremock::ResponseTemplate,
        dispatch: wiremock::ResponseTemplate,
    ) -> Fixed {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer};
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(MockServer::start());
        let mocks = [
            // routers/api/v1/misc/version.go
            Mock::given(method("GET"))
                .and(path("/api/v1/version"))
                .respond_with(fixed_json(200, r#"{"version":"1.25.4"}"#)),
            // services/convert/repository.go
            Mock::given(method("GET"))
                .and(path("/api/v1/repos/acme/deploy"))
                .respond_with(fixed_json(200, r#"{"id":1,"full_name":"acme/deploy","default_branch":"main","html_url":"https://git.example.com/acme/deploy"}"#)),
            // routers/api/v1/repo/commits.go
            Mock::given(method("GET"))
                .and(path("/api/v1/repos/acme/deploy/commits"))
                .respond_with(commits),
            // routers/api/v1/repo/action.go, ListActionTasks
            Mock::given(method("GET"))
                .and(path("/api/v1/repos/acme/deploy/actions/tasks"))
                .respond_with(fixed_json(200, r#"{"workflow_runs":[],"total_count":0}"#)),
            // routers/api/v1/repo/status.go: nothing recorded.
            Mock::given(method("GET"))
                .and(wiremock::matchers::path_regex(r"^/api/v1/repos/acme/deploy/statuses/"))
                .respond_with(fixed_json(200, "[]")),
            Mock::given(method("POST"))
                .and(path("/api/v1/repos/acme/deploy/actions/workflows/gitops-service.yaml/dispatches"))
                .respond_with(dispatch),
        ];
        for m in mocks {
            rt.block_on(m.mount(&server));
        }
        Fixed {
            rt,
            server,
            cwd: tempfile::tempdir().unwrap(),
        }
    }

    fn dispatch(&self) -> Run {
        self.dispatch_with(&[])
    }

    fn dispatch_with(&self, extra: &[&str]) -> Run {
        let _keep = &self.rt;
        run(bin()
            .current_dir(self.cwd.path())
            .env("GITOPS_REPO", "acme/deploy")
            .env("GITOPS_FILE", "values.yaml")
            .env("GITOPS_YQ_TPL", ".image.tag = \"{{VERSION}}\"")
            .env("VERSION", "1.2.3")
            .env("GITEA_API_URL", format!("{}/api/v1", self.server.uri()))
            .env("GITOPS_DISPATCH_TOKEN", GITOPS_TOKEN)
            .env("GITHUB_REPOSITORY", "acme/app")
            .env("GITHUB_SHA", "89abcdef0123456789abcdef0123456789abcdef")
            .env("GITHUB_OUTPUT", self.cwd.path().join("out"))
            .args([
                "dispatch",
                "--dispatch-id",
                "d-42",
                "--poll-interval",
                "50ms",
            ])
            .args(extra))
    }

    fn output(&self) -> String {
        fs::read_to_string(self.cwd.path().join("out")).unwrap_or_default()
    }
}

fn fixed_json(code: u16, body: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(code).set_body_raw(body.to_string(), "application/json")
}

fn seed_commits() -> String {
    let tip = "3".repeat(40);
    format!(
        r#"[{{"sha":"{tip}","html_url":"https://git.example.com/acme/deploy/commit/{tip}","commit":{{"message":"seed"}}}}]"#
    )
}

/// Gitea refusing the dispatch token.
#[test]
fn a_refused_dispatch_quotes_gitea_and_exits_3() {
    // routers/api/v1/api.go, reqRepoWriter: a token without write access to the repository.
    let api = Fixed::new(
        &seed_commits(),
        fixed_json(
            403,
            r#"{"message":"user should have a permission to write to a repo","url":""}"#,
        ),
    );
    let r = api.dispatch();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot dispatch gitops-service.yaml in acme/deploy: Gitea answered 403: user should have a permission to write to a repo"),
        "{}",
        r.stderr
    );
    assert!(
        api.output()
            .contains("summary=app|1.2.3|failure||acme/deploy\n"),
        "{}",
        api.output()
    );
}

/// A sha that is not what a sha should be (a proxy, a broken server): no panic (byte 7 of
/// this one falls inside a character, which once did), and no use of it either: it would
/// reach the summary line, the terminal and URLs (issue 26, item 6).
#[test]
fn a_malformed_sha_from_the_server_is_refused() {
    // As JSON text: the escape is decoded into an ESC by the client.
    let sha = r"ééééé-not-a-sha\u001b[31m";
    let commits = format!(
        r#"[{{"sha":"{sha}","html_url":"","commit":{{"message":"[skip ci] gitops: update version to 1.2.3\n\nDispatch-Id: d-42\n"}}}}]"#
    );
    let api = Fixed::new(&commits, wiremock::ResponseTemplate::new(204));
    let r = api.dispatch();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "the commits answer names a commit by ééééé-not-a-sha\\u{1b}[31m, which is not a sha"
        ),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stdout.contains("not-a-sha"),
        "{}",
        r.stdout
    );
}

/// A server that announces a billion commits and answers each page slowly (a proxy in
/// trouble, or a hostile one): each poll would walk up to 1,000 pages, but --wait-timeout is
/// a hard deadline over every request, so the wait ends as a wait that proved nothing
/// (exit 7), soon after its deadline (issue 26, item 10). The bound is a generous guard.
#[test]
fn a_huge_commit_count_cannot_keep_the_wait_past_its_deadline() {
    let page: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"sha":"{i:040x}","html_url":"","commit":{{"message":"[skip ci] gitops: update version to 0.0.{i}\n"}}}}"#
            )
        })
        .collect();
    // Gitea sends the list's size as X-Total-Count (routers/api/v1/repo/commits.go);
    // here a hostile or broken count.
    let commits = fixed_json(200, &format!("[{}]", page.join(",")))
        .insert_header("x-total-count", "1000000000")
        .set_delay(std::time::Duration::from_millis(200));
    let api = Fixed::answering(commits, wiremock::ResponseTemplate::new(204));
    let started = std::time::Instant::now();
    let r = api.dispatch_with(&["--wait-timeout", "2s"]);
    let took = started.elapsed();
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the deadline (--wait-timeout) passed first"),
        "{}",
        r.stderr
    );
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    assert!(
        api.output()
            .contains("summary=app|1.2.3|failure||acme/deploy\n"),
        "{}",
        api.output()
    );
}

/// Figures for the README, printed, never asserted: `scripts/bench-dispatch.sh` runs this.
/// One runner that takes a run 1 s after it is queued (act_runner polls every 2 s) and a job
/// that starts 2 s after that; the consumer polls at its default interval unless said.
#[test]
#[ignore = "benchmark: scripts/bench-dispatch.sh runs it"]
fn bench_dispatch() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    println!("| server | confirm a recorded version | report a failing run | 5 consumers one after another | 5 consumers at once | ratio | dispatches at once |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    // SERVERS=1.25,Forgejo measures only the servers whose names contain one of those.
    let only = std::env::var("SERVERS").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| name.contains(o));
    for (name, version) in BENCH_SERVERS.into_iter().filter(|(n, _)| wanted(n)) {
        let mut rows: [Vec<f64>; 5] = Default::default();
        for _ in 0..rounds {
            rows[0].push(bench_confirm(version));
            rows[1].push(bench_failing(version));
            rows[2].push(bench_consumers(version, false).0);
            let (t, dispatches) = bench_consumers(version, true);
            rows[3].push(t);
            rows[4].push(dispatches as f64);
        }
        let [confirm, failing, serial, at_once, dispatches] = rows.map(median);
        println!(
            "| {name} | {} | {} | {} | {} | {:.2}× | {} |",
            seconds(confirm),
            seconds(failing),
            seconds(serial),
            seconds(at_once),
            at_once.0 / serial.0,
            dispatches.0
        );
    }
}

/// The servers of the matrix, as `GET /version` names them.
const BENCH_SERVERS: [(&str, &str); 7] = [
    ("Gitea 1.24", "1.24.7"),
    ("Gitea 1.25", "1.25.4"),
    ("Gitea 1.26", "1.26.3"),
    ("Gitea 1.27", "1.27.0"),
    ("Forgejo 11", "11.0.1+gitea-1.22.0"),
    ("Forgejo 12", "12.0.1+gitea-1.22.0"),
    ("Forgejo 13", "13.0.0+gitea-1.22.0"),
];

/// One runner that takes a run 1 s after it is queued (act_runner polls every 2 s) and a
/// job that starts 2 s after that.
fn bench_world(version: &'static str, values: &str) -> World {
    let opts = Options {
        version,
        pickup: Duration::from_secs(1),
        startup: Duration::from_secs(2),
        runners: 1,
        ..Options::default()
    };
    world(opts, values)
}

/// The median and the range.
fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn seconds((m, lo, hi): (f64, f64, f64)) -> String {
    if hi - lo < 0.05 {
        format!("{m:.1} s")
    } else {
        format!("{m:.1} s ({lo:.1}–{hi:.1})")
    }
}

/// A dispatch of a version the GitOps repo already records, at the default poll interval.
fn bench_confirm(version: &'static str) -> f64 {
    let w = bench_world(version, VALUES);
    let expr = ".image.tag = \"{{VERSION}}\"";
    let first = run(&mut w.consumer_polling("d-1", "1.2.3", expr, "5s"));
    assert_eq!(first.code, 0, "{}", first.stderr);
    w.gitea.settle(Duration::from_secs(60));
    let started = Instant::now();
    let again = run(&mut w.consumer_polling("d-2", "1.2.3", expr, "5s"));
    assert_eq!(again.code, 0, "{}", again.stderr);
    started.elapsed().as_secs_f64()
}

/// A dispatch whose run fails (the file is not in the GitOps repo), until exit 7; where the
/// server cannot tell ours apart, that is `--wait-timeout` (30 s here).
fn bench_failing(version: &'static str) -> f64 {
    let w = bench_world(version, VALUES);
    let expr = ".image.tag = \"{{VERSION}}\"";
    let mut cmd = w.consumer_polling("d-1", "1.2.3", expr, "5s");
    cmd.env("GITOPS_FILE", "missing.yaml")
        .args(["--wait-timeout", "30s"]);
    let started = Instant::now();
    let r = run(&mut cmd);
    assert_eq!(r.code, 7, "{}", r.stderr);
    started.elapsed().as_secs_f64()
}

/// Five consumers of one GitOps repo, each its own key and tag prefix, at the default poll
/// interval: all at once, or each after the one before has landed. The time until all have
/// landed, and the dispatches it took.
fn bench_consumers(version: &'static str, at_once: bool) -> (f64, usize) {
    const N: usize = 5;
    let values = svc_values(N);
    let w = bench_world(version, &values);
    let consumer = |i: usize| run(&mut w.svc_consumer_polling(i, "5s")).code;
    let started = Instant::now();
    let codes: Vec<i32> = if at_once {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..N).map(|i| scope.spawn(move || consumer(i))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    } else {
        (0..N).map(consumer).collect()
    };
    assert!(codes.iter().all(|&c| c == 0), "{version}: {codes:?}");
    assert_eq!(update_commits(&w.deploy).len(), N);
    (started.elapsed().as_secs_f64(), w.gitea.dispatches())
}

#[test]
fn env_json_supplies_the_server_and_prefix_and_a_variable_wins() {
    let w = world(Options::default(), VALUES);
    // The shared workflows pass the pipeline's config as one object; other keys are its own.
    let env_json = format!(
        r#"{{"GITEA_API_URL": "{}", "GIT_TAG_PREFIX": "docker/", "REPLICAS": 3, "GITOPS_FILE": "other.yaml"}}"#,
        w.gitea.api_url()
    );
    let r = run(w
        .consumer("j-1", "1.2.3", ".image.tag = \"{{VERSION}}\"")
        .env_remove("GITEA_API_URL")
        .env("ENV_JSON", &env_json));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // GITOPS_FILE from the environment won over the object's.
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        "image:\n  tag: \"1.2.3\"  # keep me\n"
    );
    let statuses = w.consumer_statuses();
    assert_eq!(statuses[0].context, "gitops/app/docker");
    assert!(
        r.stdout.starts_with("app-docker|1.2.3|success|"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_malformed_env_json_is_refused_naming_the_key_before_anything_is_sent() {
    let w = world(Options::default(), VALUES);
    for (json, says) in [
        (r#"{"GITEA_API_URL": "#, "ENV_JSON is not a JSON object"),
        (r#"["x"]"#, "ENV_JSON is not a JSON object"),
        (
            r#"{"GIT_TAG_PREFIX": 1}"#,
            "ENV_JSON's GIT_TAG_PREFIX must be a string",
        ),
    ] {
        let r = run(w
            .consumer("bad", "1.2.3", ".image.tag = \"{{VERSION}}\"")
            .env("ENV_JSON", json));
        assert_eq!(r.code, 2, "{json}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{json}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{json}: {}", r.stderr);
    }
    assert!(w.gitea.requests().is_empty(), "{:?}", w.gitea.requests());
}

/// The receiver `gitops-update workflow` generates for `config`.
fn generated_receiver(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".gitops-update.yaml"), config).unwrap();
    let r = run(bin().current_dir(dir.path()).arg("workflow"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

/// What a job's `if:` and `with:` see after the update job: the run's inputs, the update
/// job's result and outputs. The generator's conditions are conjunctions of `success()`,
/// `X == 'literal'` and `X != 'literal'`; anything else fails the test, so a change of form
/// is noticed here.
struct JobContext<'a> {
    run: &'a crate::common::gitea::RunView,
    /// The update job's `outputs:`: each job output and the step output it reads.
    outputs: &'a std::collections::BTreeMap<String, String>,
}

impl JobContext<'_> {
    fn value(&self, expr: &str) -> String {
        let expr = expr.trim();
        if let Some(name) = expr.strip_prefix("inputs.") {
            return self.run.inputs.get(name).cloned().unwrap_or_default();
        }
        if let Some(name) = expr.strip_prefix("needs.update.outputs.") {
            // A job output the update job does not declare is empty.
            let Some(step_output) = self.outputs.get(name) else {
                return String::new();
            };
            let prefix = format!("{step_output}=");
            return self
                .run
                .outputs
                .lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or_default()
                .to_string();
        }
        if expr == "needs.update.result" {
            return if self.succeeded() {
                "success"
            } else {
                "failure"
            }
            .into();
        }
        if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
            return lit.to_string();
        }
        panic!("an expression the test does not know: {expr}")
    }

    fn succeeded(&self) -> bool {
        self.run.result.as_ref().map(|r| r.0) == Some(0)
    }

    fn condition(&self, cond: &str) -> bool {
        cond.split("&&").all(|term| {
            let term = term.trim();
            if term == "success()" {
                return self.succeeded();
            }
            if let Some((a, b)) = term.split_once("!=") {
                return self.value(a) != self.value(b);
            }
            let (a, b) = term
                .split_once("==")
                .unwrap_or_else(|| panic!("a condition the test does not know: {term}"));
            self.value(a) == self.value(b)
        })
    }

    /// `${{ X }}` in a `with:` value.
    fn interpolate(&self, v: &str) -> String {
        match v
            .trim()
            .strip_prefix("${{")
            .and_then(|v| v.strip_suffix("}}"))
        {
            Some(expr) => self.value(expr),
            None => v.to_string(),
        }
    }
}

/// A deploy job of a generated receiver: name, `if:`, `with:`.
type DeployJob = (String, String, Vec<(String, String)>);

fn key(k: &str) -> jaq_json::Val {
    jaq_json::Val::from(k.to_string())
}

fn text(v: &jaq_json::Val) -> String {
    match v {
        jaq_json::Val::TStr(s) | jaq_json::Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => other.to_string(),
    }
}

/// A receiver's jobs.
fn jobs_of(workflow: &str) -> jaq_json::Val {
    let parsed = gitops_update::yaml::parse(workflow, "receiver").unwrap();
    let jaq_json::Val::Obj(root) = &parsed.values[0] else {
        panic!("not a mapping")
    };
    root[&key("jobs")].clone()
}

/// The update job's `outputs:`: each job output and the step output it reads, from its
/// `${{ steps.update.outputs.X }}`.
fn update_outputs(workflow: &str) -> std::collections::BTreeMap<String, String> {
    let jaq_json::Val::Obj(jobs) = jobs_of(workflow) else {
        panic!("no jobs")
    };
    let jaq_json::Val::Obj(update) = &jobs[&key("update")] else {
        panic!("no update job")
    };
    let jaq_json::Val::Obj(outputs) = &update[&key("outputs")] else {
        panic!("no outputs")
    };
    outputs
        .iter()
        .map(|(k, v)| {
            let v = text(v);
            let step = v
                .trim()
                .strip_prefix("${{ steps.update.outputs.")
                .and_then(|v| v.strip_suffix(" }}"))
                .unwrap_or_else(|| panic!("an output the test does not know: {v}"));
            (text(k), step.to_string())
        })
        .collect()
}

fn deploy_jobs(workflow: &str) -> Vec<DeployJob> {
    let jaq_json::Val::Obj(jobs) = jobs_of(workflow) else {
        panic!("no jobs")
    };
    let mut out = Vec::new();
    for (name, job) in jobs.iter() {
        let jaq_json::Val::Obj(job) = job else {
            continue;
        };
        if text(name) == "update" {
            continue;
        }
        assert_eq!(job.get(&key("needs")).map(text).as_deref(), Some("update"));
        let cond = text(&job[&key("if")]);
        let jaq_json::Val::Obj(with) = &job[&key("with")] else {
            panic!("no with")
        };
        let with = with.iter().map(|(k, v)| (text(k), text(v))).collect();
        out.push((text(name), cond, with));
    }
    out
}

/// Record-then-deploy end to end: a receiver generated with one deploy job, dispatched for
/// that component, for another, and with no deploy name. The deploy job would run for its
/// component only, with the commit that records the version.
#[test]
fn a_generated_receiver_deploys_only_the_component_the_dispatch_names() {
    let config = "components:\n  app:\n    on_update:\n      deploy:\n        workflow: ./.gitea/workflows/deploy.yaml\n        environment: production\n  web: {}\n";
    let workflow = generated_receiver(config);
    let jobs = deploy_jobs(&workflow);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].0, "deploy_app");
    let w = world_with(Options::default(), VALUES, &workflow);

    let r = w.dispatch("e-1", "2.0.0", &["--deploy-name", "app"]);
    assert_eq!(r.code, 0, "{}\n{:#?}", r.stderr, w.gitea.runs());
    // Each run ends before the next dispatch: on 1.24/1.25 a dispatch cancels the runs still
    // going (its deploy job), and which components deploy is the point here, not that.
    w.gitea.settle(Duration::from_secs(30));
    let r = w.dispatch("e-2", "2.0.1", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    w.gitea.settle(Duration::from_secs(30));
    let r = run(w
        .consumer("e-3", "2.0.2", ".image.tag = \"{{VERSION}}\"")
        .env("GITOPS_DEPLOY_NAME", "web"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    w.gitea.settle(Duration::from_secs(30));
    let runs = w.gitea.runs();
    let tips: Vec<String> = update_commits(&w.deploy);
    let (_, cond, with) = &jobs[0];
    let outputs = update_outputs(&workflow);
    // What the user sees is one run per dispatch that recorded it: under load a run may be
    // cancelled by the next dispatch (1.24/1.25) and dispatched again, so how many runs it
    // took is not the point; which of the recording runs would deploy is.
    for (id, deploys) in [("e-1", true), ("e-2", false), ("e-3", false)] {
        let recorded: Vec<&RunView> = runs
            .iter()
            .filter(|r| r.inputs.get("dispatch_id").map(String::as_str) == Some(id))
            .filter(|r| {
                JobContext {
                    run: r,
                    outputs: &outputs,
                }
                .succeeded()
            })
            .collect();
        assert!(!recorded.is_empty(), "{id}: {runs:#?}");
        for run_view in recorded {
            let ctx = JobContext {
                run: run_view,
                outputs: &outputs,
            };
            assert_eq!(
                ctx.condition(cond),
                deploys,
                "{cond} for {:?}",
                run_view.inputs
            );
            if deploys {
                let with: std::collections::BTreeMap<_, _> = with
                    .iter()
                    .map(|(k, v)| (k.as_str(), ctx.interpolate(v)))
                    .collect();
                assert_eq!(with["environment"], "production");
                assert_eq!(with["version"], "2.0.0");
                assert_eq!(with["deploy_name"], "app");
                assert!(tips.contains(&with["sha"].to_string()), "{with:?} {tips:?}");
                assert!(w
                    .deploy
                    .message(&with["sha"])
                    .contains("Dispatch-Id: e-1\n"));
            }
        }
    }
    // The input is sent only when asked for, by every dispatch (and dispatch again) of each.
    let bodies = |id: &str| -> Vec<String> {
        w.gitea
            .requests()
            .into_iter()
            .filter(|q| q.path.ends_with("/dispatches") && q.body.contains(id))
            .map(|q| q.body)
            .collect()
    };
    let (e1, e2, e3) = (bodies(r#""e-1""#), bodies(r#""e-2""#), bodies(r#""e-3""#));
    assert!(!e1.is_empty() && !e2.is_empty() && !e3.is_empty());
    assert!(
        e1.iter().all(|b| b.contains(r#""deploy_name":"app""#)),
        "{e1:?}"
    );
    assert!(e2.iter().all(|b| !b.contains("deploy_name")), "{e2:?}");
    assert!(
        e3.iter().all(|b| b.contains(r#""deploy_name":"web""#)),
        "{e3:?}"
    );
}

/// Issue 30 end to end, through a generated receiver that the emulator runs step by step:
/// two builds of one component dispatched at once (Gitea 1.26: the runs queue, two
/// runners), the older build's run held until the newer one's has landed, so it finishes
/// last. Its job succeeds (exit 8 is no failure) and would not deploy; its dispatch reports
/// superseded, naming the commit with the newer version, which stays and deploys.
#[test]
fn an_older_build_finishing_last_reports_superseded_and_does_not_deploy() {
    let config = "components:\n  app:\n    on_update:\n      deploy:\n        workflow: ./.gitea/workflows/deploy.yaml\n";
    let workflow = generated_receiver(config);
    let opts = Options {
        version: "1.26.0",
        runners: 2,
        hold_jobs: true,
        ..Options::default()
    };
    let w = world_with(opts, VALUES, &workflow);
    w.app
        .commit_elsewhere("README", "app 2\n", "the next merge");
    let newer_build = w.app.tip("main");
    let limit = Duration::from_secs(60);
    let (older, newer) = std::thread::scope(|scope| {
        let older = scope.spawn(|| w.dispatch("d-old", "1.0.1", &["--deploy-name", "app"]));
        w.gitea.wait_for(1, "running", limit);
        let newer = scope.spawn(|| {
            run(w
                .consumer("d-new", "1.0.2", ".image.tag = \"{{VERSION}}\"")
                .env("GITHUB_SHA", &newer_build)
                .args(["--deploy-name", "app"]))
        });
        w.gitea.wait_for(2, "running", limit);
        w.gitea.release(2);
        let newer = newer.join().unwrap();
        w.gitea.release(1);
        (older.join().unwrap(), newer)
    });
    assert_eq!(newer.code, 0, "{}", newer.stderr);
    assert_eq!(older.code, 8, "{}", older.stderr);
    let commits = update_commits(&w.deploy);
    assert_eq!(commits.len(), 1, "only the newer build wrote");
    let tip = w.deploy.tip("main");
    assert_eq!(commits[0], tip);
    assert_eq!(
        older.stdout,
        format!("app|1.0.1|superseded|{tip}|acme/deploy\n")
    );
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        "image:\n  tag: \"1.0.2\"  # keep me\n"
    );
    assert_eq!(w.gitea.dispatches(), 2, "each dispatched once");
    let runs = w.gitea.runs();
    assert_eq!(
        (runs[0].inputs["dispatch_id"].as_str(), runs[0].status),
        ("d-old", "success"),
        "exit 8 is no failure: {runs:#?}"
    );
    assert!(
        runs[0].outputs.contains("\noutcome=superseded\n"),
        "{runs:#?}"
    );
    // The deploy job: the newer run's deploys its commit, the superseded one's does not.
    let jobs = deploy_jobs(&workflow);
    let (_, cond, with) = &jobs[0];
    let outputs = update_outputs(&workflow);
    let ctx = |run| JobContext {
        run,
        outputs: &outputs,
    };
    assert!(!ctx(&runs[0]).condition(cond), "{cond}");
    assert!(ctx(&runs[1]).condition(cond), "{cond}");
    let sha = with.iter().find(|(k, _)| k == "sha").unwrap();
    assert_eq!(ctx(&runs[1]).interpolate(&sha.1), tip);
}

/// A record-only receiver does not declare `deploy_name`: Gitea drops it, the run records.
#[test]
fn a_deploy_name_sent_to_a_record_only_receiver_is_dropped() {
    let w = world(Options::default(), VALUES);
    let r = w.dispatch("r-1", "3.0.0", &["--deploy-name", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    w.gitea.settle(Duration::from_secs(30));
    let runs = w.gitea.runs();
    assert!(!runs[0].inputs.contains_key("deploy_name"), "{runs:#?}");
    assert_eq!(runs[0].inputs["version"], "3.0.0");
}

#[test]
fn a_malformed_deploy_name_is_refused_before_anything_is_sent() {
    let w = world(Options::default(), VALUES);
    for bad in ["pay ments", "a'b", "x\ny"] {
        let r = run(w
            .consumer("bad", "1.2.3", ".image.tag = \"{{VERSION}}\"")
            .args(["--deploy-name", bad]));
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("GITOPS_DEPLOY_NAME"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    assert!(w.gitea.requests().is_empty(), "{:?}", w.gitea.requests());
}

/// A receiver that lands through pull requests (`run --pull-request`): the commit sits on
/// the pull request's branch, and the consumer hears `pending` with the pull request's link,
/// not a success for a version that is not on the branch yet.
#[test]
fn a_receiver_that_opens_a_pull_request_is_reported_pending_with_its_link() {
    let w = world(
        Options {
            updater_env: vec![("GITOPS_PULL_REQUEST", "true")],
            ..Options::default()
        },
        VALUES,
    );
    let main = w.deploy.tip("main");
    let r = w.dispatch("p-1", "1.2.3", &[]);
    assert_eq!(r.code, 0, "{}\n{:#?}", r.stderr, w.gitea.runs());
    assert_eq!(w.deploy.tip("main"), main, "nothing on the branch itself");
    let head = w.deploy.tip("gitops-update/main/app");
    assert!(w.deploy.message(&head).contains("Dispatch-Id: p-1\n"));
    assert_eq!(r.stdout, format!("app|1.2.3|pending|{head}|acme/deploy\n"));
    let pr = format!("{APP_URL}/acme/deploy/pulls/1");
    assert!(
        w.output("p-1").contains(&format!("pr_url={pr}\n")),
        "{}",
        w.output("p-1")
    );
    let statuses = w.consumer_statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].state, "pending");
    assert_eq!(statuses[0].target_url, pr);
    assert!(
        statuses[0].description.contains("waits in a pull request"),
        "{statuses:?}"
    );
}

/// Waits until the emulator has an open pull request in acme/deploy; its number.
fn an_open_pull(w: &World) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(p) = w
            .gitea
            .pulls("acme/deploy")
            .iter()
            .find(|p| p.state == "open")
        {
            return p.number;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pull request opened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the consumer's commit has a pending status: dispatch saw the pull request.
fn pending_seen(w: &World) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !w.consumer_statuses().iter().any(|s| s.state == "pending") {
        assert!(std::time::Instant::now() < deadline, "no pending status");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pull_request_world(mode: &'static str) -> World {
    world(
        Options {
            updater_env: vec![("GITOPS_PULL_REQUEST", mode)],
            ..Options::default()
        },
        VALUES,
    )
}

/// `--wait-merged`: pending while the pull request waits for a reviewer, then success with
/// the merge commit, which is what main carries.
#[test]
fn wait_merged_reports_the_merge_commit_once_a_reviewer_merges() {
    for mode in ["true", "agit"] {
        let w = pull_request_world(mode);
        let r = std::thread::scope(|scope| {
            let d = scope.spawn(|| w.dispatch("m-1", "1.2.3", &["--wait-merged"]));
            let n = an_open_pull(&w);
            // The consumer hears pending before the merge.
            pending_seen(&w);
            w.gitea.merge("acme/deploy", n);
            d.join().unwrap()
        });
        assert_eq!(r.code, 0, "{mode}: {}", r.stderr);
        let merge = w.deploy.tip("main");
        assert!(
            w.deploy
                .show("main", "values.yaml")
                .contains("tag: \"1.2.3\""),
            "{mode}"
        );
        assert_eq!(
            r.stdout,
            format!("app|1.2.3|success|{merge}|acme/deploy\n"),
            "{mode}"
        );
        assert!(r.stderr.contains("merged as"), "{mode}: {}", r.stderr);
        let statuses = w.consumer_statuses();
        let last = statuses.last().unwrap();
        assert_eq!(last.state, "success", "{mode}: {statuses:?}");
        assert!(
            last.target_url.ends_with(&format!("/commit/{merge}")),
            "{mode}: {statuses:?}"
        );
        assert!(w.output("m-1").contains("|success|"), "{mode}");
    }
}

#[test]
fn wait_merged_fails_when_the_pull_request_is_closed_or_superseded() {
    let w = pull_request_world("true");
    let r = std::thread::scope(|scope| {
        let d = scope.spawn(|| w.dispatch("c-1", "1.2.3", &["--wait-merged"]));
        let n = an_open_pull(&w);
        pending_seen(&w);
        w.gitea.close("acme/deploy", n);
        d.join().unwrap()
    });
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains("pull request #1 of acme/deploy (http://gitea.example.test/acme/deploy/pulls/1) was closed without merging"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        w.output("c-1").contains("app|1.2.3|failure||"),
        "{}",
        w.output("c-1")
    );

    // A newer build of the component updates the same pull request before it merges.
    let w = pull_request_world("agit");
    let r = std::thread::scope(|scope| {
        let d = scope.spawn(|| w.dispatch("s-1", "1.2.3", &["--wait-merged"]));
        an_open_pull(&w);
        let newer = w.dispatch("s-2", "1.2.4", &[]);
        assert_eq!(newer.code, 0, "{}", newer.stderr);
        assert!(newer.stdout.contains("|pending|"), "{}", newer.stdout);
        d.join().unwrap()
    });
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "now carries another update ([skip ci] gitops: update version to 1.2.4, dispatch s-2)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(w.gitea.pulls("acme/deploy").len(), 1);
}

/// A receiver that lands through AGit: the pull request's head is refs/pull/N/head, no branch
/// of ours; dispatch finds its commit there and reports pending with the link.
#[test]
fn a_receiver_that_lands_through_agit_is_reported_pending_with_its_link() {
    let w = pull_request_world("agit");
    let main = w.deploy.tip("main");
    let r = w.dispatch("a-1", "1.2.3", &[]);
    assert_eq!(r.code, 0, "{}\n{:#?}", r.stderr, w.gitea.runs());
    assert_eq!(w.deploy.tip("main"), main);
    let head = git_out(&w.deploy.bare(), &["rev-parse", "refs/pull/1/head"])
        .trim()
        .to_string();
    assert_eq!(r.stdout, format!("app|1.2.3|pending|{head}|acme/deploy\n"));
    assert!(w
        .output("a-1")
        .contains(&format!("pr_url={APP_URL}/acme/deploy/pulls/1\n")));
}

/// Closed before the consumer ever saw it open (it polls slowly here): not landed, rather
/// than "already there" because the run succeeded and main did not change.
#[test]
fn a_pull_request_closed_before_it_was_seen_is_not_a_success() {
    let w = pull_request_world("true");
    let r = std::thread::scope(|scope| {
        let d = scope.spawn(|| {
            run(w
                .consumer_polling("q-1", "1.2.3", ".image.tag = \"{{VERSION}}\"", "2s")
                .args(["--wait-timeout", "60s"]))
        });
        let n = an_open_pull(&w);
        w.gitea.close("acme/deploy", n);
        d.join().unwrap()
    });
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains("in a pull request of acme/deploy that was closed without merging: http://gitea.example.test/acme/deploy/pulls/1"),
        "{}",
        r.stderr
    );
}

/// From Gitea 1.26 the job token gets only what the receiver's `permissions:` names, and an
/// AGit push needs the pull-request unit (routers/private/hook_pre_receive.go
/// `preReceiveFor`): the receiver generated for `pull_request: agit` asks for it, and the
/// record-only one, which does not, cannot land that way.
#[test]
fn a_generated_agit_receiver_lands_with_the_job_token_on_1_26() {
    let opts = || Options {
        version: "1.26.3",
        updater_env: vec![("GITOPS_PULL_REQUEST", "agit")],
        ..Options::default()
    };
    let generated = generated_receiver("workflow:\n  pull_request: agit\n");
    let w = world_with(opts(), VALUES, &generated);
    let r = w.dispatch("p-1", "1.2.3", &[]);
    assert_eq!(r.code, 0, "{}\n{:#?}", r.stderr, w.gitea.runs());
    assert!(r.stdout.starts_with("app|1.2.3|pending|"), "{}", r.stdout);
    assert_eq!(w.gitea.pulls("acme/deploy").len(), 1);

    let w = world_with(opts(), VALUES, &receiver());
    let r = w.dispatch("p-2", "1.2.3", &[]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    let runs = w.gitea.runs();
    let log = &runs[0].result.as_ref().unwrap().1;
    assert!(
        log.contains("permission denied for creating pull-request"),
        "{log}"
    );
    assert!(w.gitea.pulls("acme/deploy").is_empty());
}

/// Forgejo enforces `required` inputs (Gitea does not): a receiver that requires one the
/// dispatch does not send is refused with 400, and the consumer says which, in one line,
/// having dispatched nothing.
#[test]
fn forgejo_refusing_a_required_input_is_said_in_one_line() {
    let wf = receiver().replace(
        "      git_tag_prefix:\n",
        "      environment:\n        description: Environment to deploy\n        required: true\n      git_tag_prefix:\n",
    );
    assert_ne!(wf, receiver());
    let opts = Options {
        version: "12.0.1+gitea-1.22.0",
        ..Options::default()
    };
    let w = world_with(opts, VALUES, &wf);
    let r = w.dispatch("d-1", "1.2.3", &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains("cannot dispatch gitops-service.yaml in acme/deploy")
            && last.contains("400")
            && last.contains("input required for 'Environment to deploy'"),
        "{}",
        r.stderr
    );
    assert!(w.gitea.runs().is_empty());
}

/// A version pinned by digest travels through the dispatch's `version` input: the receiver
/// writes it whole for `{{VERSION}}` and its digest for `{{DIGEST}}`, and the consumer's
/// summary line and status name it whole.
#[test]
fn a_version_with_a_digest_is_dispatched_and_recorded_whole() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let version = format!("1.2.3@{digest}");
    let w = world(
        Options::default(),
        "image:\n  tag: \"1.0.0\"\n  digest: \"\"\n",
    );
    let r = run(&mut w.consumer(
        "g-1",
        &version,
        ".image.tag = \"{{VERSION}}\" | .image.digest = \"{{DIGEST}}\"",
    ));
    assert_eq!(r.code, 0, "{}\n{:#?}", r.stderr, w.gitea.runs());
    assert_eq!(
        w.deploy.show("main", "values.yaml"),
        format!("image:\n  tag: \"{version}\"\n  digest: \"{digest}\"\n")
    );
    assert!(
        r.stdout.starts_with(&format!("app|{version}|success|")),
        "{}",
        r.stdout
    );
}

/// Issue 30: versions that cannot be ordered by their text (here a sha tag) are ordered by
/// their builds. A consumer whose commit is older than the one the GitOps repo records for
/// the component is superseded before it dispatches, when its checkout has both commits;
/// a shallow checkout cannot tell, and leaves it to the run, which writes.
#[test]
fn an_older_build_of_an_unorderable_version_is_superseded_before_it_dispatches() {
    let w = world(
        Options::default(),
        "image:\n  tag: \"sha-0000000\"  # keep me\n",
    );
    let older = w.source_sha.clone();
    w.app
        .commit_elsewhere("README", "app, later\n", "a later commit");
    let newer = w.app.tip("main");
    let full = tempfile::tempdir().unwrap();
    git_out(
        full.path(),
        &["clone", "-q", w.app.bare().to_str().unwrap(), "app"],
    );
    let checkout = full.path().join("app");
    let from = |sha: &str, id: &str, version: &str, dir: &Path| {
        let mut cmd = w.consumer(id, version, ".image.tag = \"{{VERSION}}\"");
        cmd.current_dir(dir).env("GITHUB_SHA", sha);
        run(&mut cmd)
    };
    let r = from(&newer, "d-new", "sha-bbbbbbb", &checkout);
    assert_eq!(r.code, 0, "{}", r.stderr);
    w.gitea.settle(Duration::from_secs(30));
    let tip = w.deploy.tip("main");
    let dispatched = w.gitea.dispatches();

    let r = from(&older, "d-old", "sha-aaaaaaa", &checkout);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!("app|sha-aaaaaaa|superseded|{tip}|acme/deploy\n")
    );
    assert!(
        r.stderr.contains(&format!(
            "acme/deploy records app sha-bbbbbbb from {}, a later commit than {}: not dispatching",
            &newer[..7],
            &older[..7]
        )),
        "{}",
        r.stderr
    );
    assert_eq!(w.gitea.dispatches(), dispatched, "nothing dispatched");
    assert!(w.deploy.show("main", "values.yaml").contains("sha-bbbbbbb"));
    let last = w.consumer_statuses().pop().unwrap();
    assert_eq!(last.state, "success");

    // A depth-1 checkout of the newer commit lacks the older one: the run decides.
    let shallow = tempfile::tempdir().unwrap();
    git_out(
        shallow.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", w.app.bare().display()),
            "app",
        ],
    );
    let r = from(
        &older,
        "d-old-2",
        "sha-aaaaaaa",
        &shallow.path().join("app"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is left to the run"), "{}", r.stderr);
    assert_eq!(w.gitea.dispatches(), dispatched + 1);
}
