//! `gitops-update dispatch`: the consumer's side. Dispatch the GitOps repo's workflow, prove
//! that the update landed, and report it on the consumer's own commit.
//!
//! Gitea gives no run id (its dispatch answers 204 on every release) and, on 1.24 and 1.25,
//! cancels the running and waiting runs of a workflow when the next dispatch arrives
//! (`../shared/gitea-facts.md`). So the outcome is proven from the GitOps repo itself:
//! - its own commit, found by the `Dispatch-Id:` trailer among the commits that the tip
//!   before the dispatch does not reach;
//! - or the updater's record that the version was already there: a commit status whose
//!   description names the dispatch (`run` writes it on the tip it found up to date).
//!
//! The run is watched where the server shows it: tasks carry the run's title, which the
//! workflow's `run-name:` makes hold the dispatch id (1.25+), so a failed run ends the wait
//! at once and a cancelled one is dispatched again with the same id. Dispatching again is
//! safe because the update is idempotent: a run that finds the edit already made records
//! the dispatch and commits nothing.

use std::time::{Duration, Instant};

use crate::config::DispatchConfig;
use crate::error::{Error, Result};
use crate::forge::{self, ApiError, Commit, Forge, Server, Status, Task};
use crate::model::{short, shown};
use crate::{record, report};

/// The update as it landed.
#[derive(Debug)]
pub struct Landed {
    pub sha: String,
    /// The commit's page, under the server's public URL.
    pub link: String,
    /// Whether this dispatch made the commit (false: the version was already there).
    pub changed: bool,
    /// The pull request the GitOps run opened or updated for it (its receiver runs with
    /// `--pull-request`): recorded, not yet merged.
    pub pull: Option<Waiting>,
}

/// A pull request that carries the update and waits for its merge.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub number: u64,
    pub url: String,
}

/// Where the failure status links to, learnt on the way.
#[derive(Default)]
struct Links {
    repo: Option<String>,
    run: Option<String>,
}

fn api(what: &str, e: ApiError) -> Error {
    match e {
        // The wait's own deadline: nothing proved the landing in time (exit 7).
        ApiError::Deadline => Error::NotLanded(format!("{what}: {e}")),
        e => Error::Api(format!("{what}: {e}")),
    }
}

/// Dispatches, waits, reports. The summary line is written whatever happens.
pub fn execute(cfg: &DispatchConfig) -> Result<u8> {
    let mut links = Links::default();
    let result = dispatch_and_wait(cfg, &mut links);
    let report = report::DispatchReport {
        component: &cfg.component,
        version: cfg.version.as_str(),
        repo: &cfg.repo,
        dispatch_id: &cfg.dispatch_id,
        proven: result.as_ref().ok().map(|l| report::Proven {
            sha: &l.sha,
            changed: l.changed,
            pull_url: l.pull.as_ref().map(|p| p.url.as_str()),
        }),
    };
    report
        .write_outputs(&cfg.output_files)
        .map_err(|(path, source)| Error::Write { path, source })?;
    consumer_status(cfg, &result, &links);
    let (text, done) = (report.text(), report.done());
    result?;
    report::stdout(&text).map_err(|source| Error::Write {
        path: "<stdout>".into(),
        source,
    })?;
    if let Some(line) = done {
        report::progress(&line);
    }
    Ok(crate::error::exit::OK)
}

/// Our commit in an open pull request of the GitOps run: on the branch of ours
/// (`run --pull-request`), or at the head of an AGit pull request (`--pull-request=agit`),
/// whose head is refs/pull/N/head (services/convert/pull.go). An AGit pull request keeps the
/// title it was opened with when a push updates it (services/agit/agit.go), so its head
/// commit is what tells; heads already read and not ours are in `not_ours`.
fn in_pull_request(
    gitea: &dyn Forge,
    cfg: &DispatchConfig,
    base: &str,
    start: &str,
    not_ours: &mut std::collections::HashSet<String>,
) -> Option<Landed> {
    let pending = |sha: &str, number: u64, url: &str| Landed {
        sha: sha.to_string(),
        link: url.to_string(),
        changed: true,
        pull: Some(Waiting {
            number,
            url: url.to_string(),
        }),
    };
    let head = record::pull_request_branch(base, &cfg.component);
    // No such branch is an answer too (Gitea: 404 or 500 for an unknown sha).
    if let Ok(commits) = gitea.commits_since(&cfg.repo, &head, start) {
        if let Some(c) = commits.iter().find(|c| cfg.asked().is_ours(&c.message)) {
            let pull = gitea.open_pull(&cfg.repo, &head, base).ok().flatten()?;
            return Some(pending(&c.sha, pull.number, &pull.html_url));
        }
    }
    let pulls = gitea.pulls_into(&cfg.repo, base, "open").ok()?;
    for p in pulls
        .iter()
        .filter(|p| p.head_ref.starts_with("refs/pull/"))
    {
        if p.pull.head_sha.is_empty() || not_ours.contains(&p.pull.head_sha) {
            continue;
        }
        let Ok(c) = head_commit(gitea, cfg, &p.pull.head_sha) else {
            continue;
        };
        if cfg.asked().is_ours(&c.message) {
            return Some(pending(&c.sha, p.pull.number, &p.pull.html_url));
        }
        not_ours.insert(c.sha);
    }
    None
}

/// A pull request's head commit with its message, for `is_ours`.
fn head_commit(gitea: &dyn Forge, cfg: &DispatchConfig, sha: &str) -> Result<Commit, ApiError> {
    Ok(Commit {
        sha: sha.to_string(),
        message: gitea.commit_message(&cfg.repo, sha)?,
        html_url: None,
    })
}

/// A pull request that carried our commit and was closed without merging: its address.
fn in_closed_pull_request(gitea: &dyn Forge, cfg: &DispatchConfig, base: &str) -> Option<String> {
    let pulls = gitea.pulls_into(&cfg.repo, base, "closed").ok()?;
    pulls
        .iter()
        .filter(|p| !p.merged && record::is_update_title(&p.title))
        .find_map(|p| {
            let c = head_commit(gitea, cfg, &p.pull.head_sha).ok()?;
            cfg.asked()
                .is_ours(&c.message)
                .then(|| p.pull.html_url.clone())
        })
}

/// `--wait-merged`: polls the pull request until it is merged, and answers its merge
/// commit. Closed unmerged, or its head replaced by another update (a newer version of the
/// component in the same pull request), it will never carry ours: not landed.
fn wait_merged(
    gitea: &dyn Forge,
    cfg: &DispatchConfig,
    waiting: &Waiting,
    ours: &str,
    begun: Instant,
    repo_html: Option<&str>,
) -> Result<Landed> {
    let mut head = ours.to_string();
    let mut last_report = Instant::now();
    report::progress(&format!(
        "{} {} waits in pull request #{} of {} ({}); waiting for its merge",
        cfg.component, cfg.version, waiting.number, cfg.repo, waiting.url
    ));
    loop {
        let p = gitea
            .pull(&cfg.repo, waiting.number)
            .map_err(|e| api(&format!("cannot read pull request #{}", waiting.number), e))?;
        if p.merged {
            let sha = p.merge_commit.unwrap_or(head);
            report::progress(&format!(
                "pull request #{} merged as {}",
                waiting.number,
                short(&sha)
            ));
            return Ok(Landed {
                link: repo_html
                    .map(|r| format!("{r}/commit/{sha}"))
                    .unwrap_or_else(|| waiting.url.clone()),
                sha,
                changed: true,
                pull: None,
            });
        }
        if p.state == "closed" {
            return Err(Error::NotLanded(format!(
                "pull request #{} of {} ({}) was closed without merging: {} {} is not in {}",
                waiting.number, cfg.repo, waiting.url, cfg.component, cfg.version, cfg.repo
            )));
        }
        if !p.pull.head_sha.is_empty() && p.pull.head_sha != head {
            let c = head_commit(gitea, cfg, &p.pull.head_sha)
                .map_err(|e| api("cannot read the pull request's head commit", e))?;
            if !cfg.asked().is_ours(&c.message) {
                return Err(Error::NotLanded(format!(
                    "pull request #{} of {} now carries another update ({}, dispatch {}): {} {} was superseded before it merged",
                    waiting.number,
                    cfg.repo,
                    c.message.lines().next().unwrap_or(""),
                    record::dispatch_id_of(&c.message).unwrap_or("none"),
                    cfg.component,
                    cfg.version
                )));
            }
            head = c.sha;
        }
        let waited = begun.elapsed();
        if waited >= cfg.wait_timeout {
            return Err(Error::NotLanded(format!(
                "pull request #{} of {} ({}) was not merged within {}s",
                waiting.number,
                cfg.repo,
                waiting.url,
                cfg.wait_timeout.as_secs()
            )));
        }
        let what = format!("pull request #{} to merge", waiting.number);
        pause(cfg, waited, &mut last_report, &what);
    }
}

/// Between two looks: a line every 30 s saying what is awaited, then one poll interval
/// (never past the deadline).
fn pause(cfg: &DispatchConfig, waited: Duration, last_report: &mut Instant, what: &str) {
    if last_report.elapsed() >= Duration::from_secs(30) {
        report::progress(&format!(
            "still waiting for {what} ({}s of {}s)",
            waited.as_secs(),
            cfg.wait_timeout.as_secs()
        ));
        *last_report = Instant::now();
    }
    std::thread::sleep(
        cfg.poll_interval
            .min(cfg.wait_timeout.saturating_sub(waited)),
    );
}

/// The status on the consumer's own commit: success with a link to the GitOps commit, or
/// failure with a link to the run. Problems here are warnings: the outcome is decided.
fn consumer_status(cfg: &DispatchConfig, result: &Result<Landed>, links: &Links) {
    let Some(token) = cfg.status_token.clone() else {
        report::progress("commit status skipped: no GITHUB_TOKEN or GITEA_TOKEN");
        return;
    };
    let context = record::consumer_status_context(&cfg.source_repo, cfg.tag_prefix.as_deref());
    let status = match result {
        Ok(Landed {
            pull: Some(Waiting { url, .. }),
            sha,
            ..
        }) => Status {
            state: "pending",
            context,
            target_url: Some(url.clone()),
            description: format!(
                "{} {} waits in a pull request of {} (head {})",
                cfg.component,
                cfg.version,
                cfg.repo,
                short(sha)
            ),
        },
        Ok(l) => Status {
            state: "success",
            context,
            target_url: Some(l.link.clone()),
            description: format!(
                "{} {} {} {} at {}",
                cfg.component,
                cfg.version,
                if l.changed {
                    "deployed to"
                } else {
                    "already in"
                },
                cfg.repo,
                short(&l.sha)
            ),
        },
        Err(e) => Status {
            state: "failure",
            context,
            target_url: links
                .run
                .clone()
                .or_else(|| links.repo.as_ref().map(|r| format!("{r}/actions"))),
            description: e.to_string().chars().take(140).collect(),
        },
    };
    let set = forge::connect(&cfg.api_url, token, cfg.timeout)
        .and_then(|g| g.set_status(&cfg.source_repo, &cfg.source_commit, &status));
    if let Err(e) = set {
        report::note(&format!(
            "the status on {}@{} could not be set ({e})",
            cfg.source_repo, cfg.source_commit
        ));
    }
}

/// What the server shows of our run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// No task of ours: not picked up yet, or cancelled before a runner took it, or a
    /// server that does not title runs.
    Nothing,
    Active,
    Succeeded,
    Failed(String),
    Cancelled,
}

/// One look at the run: how ours is doing, whether any run of the workflow is active, and
/// whether a later dispatch's run has been picked up (on servers that cancel on dispatch,
/// that proves ours is gone).
struct Look {
    ours: Seen,
    idle: bool,
    overtaken: bool,
}

struct Watch<'a> {
    cfg: &'a DispatchConfig,
    gitea: &'a dyn Forge,
    server: Server,
    /// The Forgejo run id, when the dispatch returned one.
    run: Option<u64>,
    /// The newest task id before the latest dispatch.
    baseline: u64,
    tasks_visible: bool,
}

impl Watch<'_> {
    fn tasks(&mut self) -> Vec<Task> {
        if !self.tasks_visible {
            return Vec::new();
        }
        match self.gitea.tasks(&self.cfg.repo) {
            Ok(t) => t
                .into_iter()
                .filter(|t| t.workflow_id == self.cfg.workflow)
                .collect(),
            Err(e) => {
                report::note(&format!(
                    "cannot list the Actions tasks of {} ({e}); a failed or cancelled run will only be noticed after --lost-after or --wait-timeout",
                    self.cfg.repo
                ));
                self.tasks_visible = false;
                Vec::new()
            }
        }
    }

    /// Remembers where the task list stands, just before a dispatch.
    fn mark(&mut self) {
        self.baseline = self.tasks().iter().map(|t| t.id).max().unwrap_or(0);
    }

    fn look(&mut self, links: &mut Links) -> Result<Look> {
        let tasks = self.tasks();
        let idle = !tasks.iter().any(Task::is_active);
        if let Some(run) = self.run {
            let (status, url) = self
                .gitea
                .run_status(&self.cfg.repo, run)
                .map_err(|e| api(&format!("cannot read run {run} of {}", self.cfg.repo), e))?;
            if let Some(u) = url {
                links.run = Some(u);
            }
            let ours = match status.as_str() {
                "success" => Seen::Succeeded,
                "failure" | "skipped" => Seen::Failed(links.run.clone().unwrap_or_default()),
                "cancelled" => Seen::Cancelled,
                _ => Seen::Active,
            };
            return Ok(Look {
                ours,
                idle,
                overtaken: false,
            });
        }
        let titled = self.server.titles_runs();
        // Only a task picked up after the latest dispatch can be that dispatch's: an earlier
        // one of ours is the run that was cancelled.
        let (ours, others): (Vec<&Task>, Vec<&Task>) = tasks
            .iter()
            .filter(|t| t.id > self.baseline)
            .partition(|t| titled && self.cfg.asked().names_run(&t.display_title));
        if let Some(t) = ours.first() {
            links.run = Some(t.url.clone()).filter(|u| !u.is_empty());
        }
        let seen = if ours.is_empty() {
            Seen::Nothing
        } else if ours.iter().any(|t| t.is_active()) {
            Seen::Active
        } else if let Some(t) = ours.iter().find(|t| t.status == "failure") {
            Seen::Failed(t.url.clone())
        } else if ours.iter().any(|t| t.status == "success") {
            Seen::Succeeded
        } else {
            Seen::Cancelled
        };
        // A run picked up after our dispatch was not cancelled by it, so it was dispatched
        // after ours, and its dispatch cancelled ours (1.24/1.25: at most one run of a
        // workflow and ref is alive). Only a server that titles runs tells ours apart.
        let overtaken = titled
            && self.server.cancels_on_dispatch()
            && others.iter().any(|t| t.status != "cancelled");
        Ok(Look {
            ours: seen,
            idle,
            overtaken,
        })
    }
}

/// A jittered wait before dispatching again, growing with each lost run, so that the
/// consumers whose runs one dispatch cancelled do not all dispatch again at once.
fn redispatch_delay(lost: u32) -> Duration {
    crate::model::backoff(Duration::from_secs(2), lost.min(4), Duration::from_secs(30))
}

fn dispatch_and_wait(cfg: &DispatchConfig, links: &mut Links) -> Result<Landed> {
    // --wait-timeout is a hard deadline over everything this does, every request included.
    let gitea = forge::connect(&cfg.api_url, cfg.gitops_token.clone(), cfg.timeout)
        .map_err(|e| Error::Api(e.to_string()))?
        .with_deadline(Instant::now() + cfg.wait_timeout);
    let version = gitea
        .version()
        .map_err(|e| api(&format!("cannot read the version of {}", gitea.base()), e))?;
    let server = Server::parse(&version).unwrap_or_else(|| {
        report::note(&format!(
            "unknown server version {}; assuming Gitea 1.24's behaviour",
            shown(&version)
        ));
        Server::Gitea {
            major: 1,
            minor: 24,
        }
    });
    if !server.can_dispatch() {
        return Err(Error::Api(format!(
            "{} runs Gitea {version}, which has no workflow dispatch API: dispatch needs Gitea 1.24 or newer (1.25 or newer to see a failed run before --wait-timeout)",
            gitea.base()
        )));
    }
    let repo = gitea
        .repo(&cfg.repo)
        .map_err(|e| api(&format!("cannot read {}", cfg.repo), e))?;
    links.repo = Some(repo.html_url.clone()).filter(|u| !u.is_empty());
    let branch = cfg.branch.clone().unwrap_or(repo.default_branch);
    let list_err = |e| api(&format!("cannot list the commits of {}", cfg.repo), e);
    // Nothing that this tip reaches can be the answer.
    let start = gitea.tip(&cfg.repo, &branch).map_err(list_err)?.sha;
    let mut inputs = vec![
        ("file", cfg.file.as_str()),
        ("yq_tpl", cfg.expression.as_str()),
        ("version", cfg.version.as_str()),
        ("source_repo", cfg.source_repo.as_str()),
        ("source_commit", cfg.source_commit.as_str()),
        ("dispatch_id", cfg.dispatch_id.as_str()),
        ("git_tag_prefix", cfg.tag_prefix.as_deref().unwrap_or("")),
    ];
    // Sent only when asked for: a receiver that does not declare it drops it anyway
    // (services/actions/workflow.go), and the body stays as it always was.
    if let Some(name) = &cfg.deploy_name {
        inputs.push(("deploy_name", name.as_str()));
    }
    let forgejo = matches!(server, Server::Forgejo { .. });
    let dispatch = |gitea: &dyn Forge| {
        gitea
            .dispatch(&cfg.repo, &cfg.workflow, &branch, &inputs, forgejo)
            .map_err(|e| {
                api(
                    &format!("cannot dispatch {} in {}", cfg.workflow, cfg.repo),
                    e,
                )
            })
    };
    let mut watch = Watch {
        cfg,
        gitea: &gitea,
        server,
        run: None,
        baseline: 0,
        tasks_visible: true,
    };
    watch.mark();
    watch.run = dispatch(&gitea)?;
    let mut dispatches = 1u32;
    report::progress(&format!(
        "dispatched {} in {} on {branch} ({server}; dispatch {}{})",
        cfg.workflow,
        cfg.repo,
        cfg.dispatch_id,
        watch.run.map(|r| format!(", run {r}")).unwrap_or_default()
    ));
    let repo_html = links.repo.clone();
    let link = |sha: &str, api_link: Option<&str>| {
        api_link
            .map(str::to_string)
            .or_else(|| repo_html.as_ref().map(|r| format!("{r}/commit/{sha}")))
            .unwrap_or_default()
    };
    let begun = Instant::now();
    let mut dispatched_at = Instant::now();
    let mut last_report = Instant::now();
    let mut succeeded_before = false;
    let mut redispatch_at: Option<Instant> = None;
    // The commits that had landed when the latest dispatch was sent.
    let mut before_dispatch: std::collections::HashSet<String> = Default::default();
    let mut ready = false;
    let mut not_ours = std::collections::HashSet::new();
    loop {
        let new = gitea
            .commits_since(&cfg.repo, &branch, &start)
            .map_err(list_err)?;
        if let Some(c) = new.iter().find(|c| cfg.asked().is_ours(&c.message)) {
            return Ok(Landed {
                link: link(&c.sha, c.html_url.as_deref()),
                sha: c.sha.clone(),
                changed: true,
                pull: None,
            });
        }
        // The record sits on the tip the updater found up to date: the tip before the
        // dispatch or one that came after it. The ten newest are enough: the record is
        // made within one poll of a run's end.
        let candidates = new
            .iter()
            .take(10)
            .map(|c| (c.sha.as_str(), c.html_url.as_deref()))
            .chain(std::iter::once((start.as_str(), None)));
        for (sha, html) in candidates {
            let statuses = gitea
                .statuses(&cfg.repo, sha)
                .map_err(|e| api(&format!("cannot list the statuses of {}", short(sha)), e))?;
            if statuses.iter().any(|s| {
                cfg.asked()
                    .recorded_by(&s.state, &s.context, &s.description)
            }) {
                return Ok(Landed {
                    link: link(sha, html),
                    sha: sha.to_string(),
                    changed: false,
                    pull: None,
                });
            }
        }
        // A receiver that lands through a pull request leaves the commit on its branch
        // (`run --pull-request`), not on this one; the dispatch id tells ours apart.
        if let Some(l) = in_pull_request(&gitea, cfg, &branch, &start, &mut not_ours) {
            let Some(waiting) = l.pull.clone().filter(|_| cfg.wait_merged) else {
                return Ok(l);
            };
            // The consumer's commit says pending meanwhile, linking the pull request.
            let ours = l.sha.clone();
            consumer_status(cfg, &Ok(l), links);
            return wait_merged(&gitea, cfg, &waiting, &ours, begun, links.repo.as_deref());
        }
        let look = watch.look(links)?;
        let mut lost = None;
        match &look.ours {
            Seen::Failed(url) => {
                return Err(Error::NotLanded(format!(
                    "the GitOps run for dispatch {} in {} failed; see its log: {}",
                    cfg.dispatch_id,
                    cfg.repo,
                    if url.is_empty() {
                        links.repo.clone().unwrap_or_default() + "/actions"
                    } else {
                        url.clone()
                    }
                )))
            }
            Seen::Succeeded if succeeded_before => {
                // A pull request of the run that was closed before we saw it open: the
                // version is not there.
                if let Some(url) = in_closed_pull_request(&gitea, cfg, &branch) {
                    return Err(Error::NotLanded(format!(
                        "the GitOps run put {} {} in a pull request of {} that was closed without merging: {url}",
                        cfg.component, cfg.version, cfg.repo
                    )));
                }
                // The run ended well, yet left neither a commit nor a record (its status
                // could not be set): the version was already there, and the tip has it.
                let tip = gitea.tip(&cfg.repo, &branch).map_err(list_err)?;
                return Ok(Landed {
                    link: link(&tip.sha, tip.html_url.as_deref()),
                    sha: tip.sha,
                    changed: false,
                    pull: None,
                });
            }
            Seen::Succeeded => succeeded_before = true,
            Seen::Cancelled => lost = Some("was cancelled"),
            Seen::Nothing if look.overtaken => lost = Some("was cancelled by a later dispatch"),
            Seen::Nothing if look.idle && dispatched_at.elapsed() >= cfg.lost_after => {
                lost = Some("left no trace within --lost-after")
            }
            Seen::Nothing | Seen::Active => {}
        }
        // A cancelled run is dispatched again only while no later build of the same
        // component has been recorded since: re-applying ours would go back to an older
        // version.
        if lost.is_some() || redispatch_at.is_some() {
            if let Some(c) = new.iter().find(|c| {
                !before_dispatch.contains(&c.sha) && cfg.asked().superseded_by(&c.message)
            }) {
                return Err(Error::NotLanded(format!(
                    "the run for dispatch {} in {} was cancelled, and {} {} has been recorded since (dispatch {}, {}); not dispatching again, which would go back to an older version",
                    cfg.dispatch_id,
                    cfg.repo,
                    cfg.component,
                    c.message.lines().next().unwrap_or("").rsplit(' ').next().unwrap_or(""),
                    record::dispatch_id_of(&c.message).unwrap_or(""),
                    short(&c.sha)
                )));
            }
        }
        if ready {
            ready = false;
            before_dispatch = new.iter().map(|c| c.sha.clone()).collect();
            watch.mark();
            watch.run = dispatch(&gitea)?;
            dispatches += 1;
            dispatched_at = Instant::now();
            redispatch_at = None;
            succeeded_before = false;
            report::progress(&format!(
                "dispatched {} again (dispatch {}, {dispatches} dispatches)",
                cfg.workflow, cfg.dispatch_id
            ));
            lost = None;
        }
        if let (Some(why), None) = (lost, redispatch_at) {
            let delay = redispatch_delay(dispatches);
            report::progress(&format!(
                "the run for dispatch {} {why}; dispatching it again once the workflow is idle (in {} ms at the earliest)",
                cfg.dispatch_id,
                delay.as_millis()
            ));
            redispatch_at = Some(Instant::now() + delay);
        }
        if let Some(at) = redispatch_at {
            if Instant::now() >= at && look.idle {
                // Dispatched at the top of the next round, after a fresh look at the
                // commits: the run may have landed, or a later build been recorded, since
                // this round listed them.
                ready = true;
                continue;
            }
        }
        let waited = begun.elapsed();
        if waited >= cfg.wait_timeout {
            return Err(Error::NotLanded(format!(
                "no commit for dispatch {} appeared on {branch} of {} within {}s ({dispatches} dispatch{})",
                cfg.dispatch_id,
                cfg.repo,
                cfg.wait_timeout.as_secs(),
                if dispatches == 1 { "" } else { "es" }
            )));
        }
        pause(cfg, waited, &mut last_report, "the GitOps commit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redispatch_delays_are_jittered_and_capped() {
        for lost in 1..10 {
            let d = redispatch_delay(lost).as_millis() as u64;
            let cap = (2_000u64 << lost.min(4)).min(30_000);
            assert!(d >= cap / 2 && d <= cap, "{lost}: {d}");
        }
    }
}
