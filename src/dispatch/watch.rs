//! The wait, as a state machine. `Watch::next` takes what one look showed, with the time it
//! was taken, and answers what to do: look again, dispatch again, read one more thing, or
//! end (landed, waiting in a pull request, not landed). It reads no clock and sends no
//! request, so each rule is a unit test. `drive` is the loop around it: it observes through
//! the `Forge` (`runs::Runs` for the run, `proof::Search` for the landing), sleeps, dispatches.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::proof::Search;
use super::runs::{Look, Runs, Seen};
use super::{Landed, Links, Waiting};
use crate::config::DispatchConfig;
use crate::error::{Error, Result};
use crate::forge::{Commit, PullState};
use crate::model::short;
use crate::{record, report};

/// What the loop saw, for `Watch::next`.
#[derive(Debug)]
pub enum Observation {
    /// Proof: our commit, the run's record, or our commit in an open pull request.
    Found(Landed),
    /// No proof this round: the commits since the start (newest first), and the run.
    Run {
        now: Instant,
        new: Vec<Commit>,
        look: Look,
    },
    /// The dispatch was sent again.
    Dispatched { now: Instant },
    /// After `Action::CheckClosedPulls`: a closed, unmerged pull request that carried ours.
    ClosedPull(Option<String>),
    /// `--wait-merged`: the pull request as it is now.
    Pull { now: Instant, pull: PullState },
    /// After `Action::ReadHead`: the pull request's new head commit.
    Head { now: Instant, commit: Commit },
}

/// What `Watch::next` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Look again at once.
    Look,
    /// Nothing proven yet: wait one poll interval, saying every 30 s what is awaited.
    Pause { waited: Duration, awaited: String },
    /// Due to dispatch again once this has passed: wait that long, then look.
    Wait(Duration),
    /// Send the dispatch again now, then tell `Observation::Dispatched`.
    Dispatch,
    /// Ours succeeded twice with nothing to show: read the closed pull requests, then tell
    /// `Observation::ClosedPull`.
    CheckClosedPulls,
    /// The version was already there: the branch's tip has it.
    LandAtTip,
    /// Read the pull request's new head commit, then tell `Observation::Head`.
    ReadHead(String),
    /// Proven: landed, or waiting in a pull request (no `--wait-merged`).
    Done(Landed),
    /// Waiting in a pull request, and `--wait-merged`: the consumer's commit says pending,
    /// then each look reads the pull request (`Observation::Pull`).
    AwaitMerge(Landed),
    /// Not landed (exit 7), and why.
    Fail(String),
}

/// Where the wait is. The ends (landed, failed, superseded, merged, past the deadline) are
/// not phases: they are `Action`s, after which the loop stops asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Not dispatched yet: a run of the workflow is active, and on this server a dispatch
    /// would cancel it (Gitea 1.24/1.25), losing its update and the runner time it took.
    Gated,
    /// Dispatched: waiting for a proof or news of the run.
    Waiting,
    /// Our run is gone (cancelled, overtaken by a later dispatch, no trace): dispatch again
    /// once past `at` with the workflow idle.
    Lost { at: Instant },
    /// Due to dispatch again, after one more look at the commits: the run may have landed,
    /// or a later build been recorded, since the look that made it due.
    Redispatching,
    /// In a pull request, waiting for its merge; `head` is the newest head known to be ours.
    Merging { pull: Waiting, head: String },
}

/// The wait's state and rules.
pub struct Watch<'a> {
    cfg: &'a DispatchConfig,
    branch: String,
    /// The GitOps repository's page.
    repo_html: Option<String>,
    phase: Phase,
    begun: Instant,
    dispatched_at: Instant,
    dispatches: u32,
    /// Ours was seen succeeded, with no proof, since the latest dispatch: seen so again, it
    /// left nothing to find.
    succeeded_once: bool,
    /// The commits that had landed when the latest dispatch was sent.
    before_dispatch: HashSet<String>,
    /// Progress lines for the loop to print.
    said: Vec<String>,
    /// The wait before dispatching again: jittered, the one input that is not observed, so
    /// that a test can fix it.
    delay: fn(u32, bool) -> Duration,
}

/// The wait before dispatching again. Where the server shows the workflow's runs, the
/// dispatch waits for the workflow to be idle anyway, so consumers that come back at once
/// cost nothing but runs cancelled before a runner took them, and one of them always runs:
/// a short jitter only spreads their requests. Where it does not, nothing but time keeps
/// them apart: a back-off that grows with each lost run (1 to 2 s, doubling to 30 s).
fn redispatch_delay(lost: u32, shows_runs: bool) -> Duration {
    if shows_runs {
        crate::model::backoff(Duration::from_millis(500), 0, Duration::from_millis(500))
    } else {
        crate::model::backoff(Duration::from_secs(2), lost.min(4), Duration::from_secs(30))
    }
}

impl<'a> Watch<'a> {
    /// The watch of a dispatch sent at `now`.
    pub fn new(
        cfg: &'a DispatchConfig,
        branch: &str,
        repo_html: Option<String>,
        now: Instant,
    ) -> Watch<'a> {
        Watch {
            cfg,
            branch: branch.to_string(),
            repo_html,
            phase: Phase::Waiting,
            begun: now,
            dispatched_at: now,
            dispatches: 1,
            succeeded_once: false,
            before_dispatch: HashSet::new(),
            said: Vec::new(),
            delay: redispatch_delay,
        }
    }

    /// The watch of a dispatch not sent yet: it is sent once the workflow is idle.
    pub fn gated(
        cfg: &'a DispatchConfig,
        branch: &str,
        repo_html: Option<String>,
        now: Instant,
    ) -> Watch<'a> {
        Watch {
            phase: Phase::Gated,
            dispatches: 0,
            ..Watch::new(cfg, branch, repo_html, now)
        }
    }

    #[cfg(test)]
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The pull request whose merge is awaited.
    pub fn awaited(&self) -> Option<&Waiting> {
        match &self.phase {
            Phase::Merging { pull, .. } => Some(pull),
            _ => None,
        }
    }

    /// The progress lines said since the last call.
    pub fn said(&mut self) -> Vec<String> {
        std::mem::take(&mut self.said)
    }

    pub fn next(&mut self, observation: Observation) -> Action {
        match observation {
            Observation::Found(landed) => self.found(landed),
            Observation::Run { now, new, look } => self.run(now, &new, &look),
            Observation::Dispatched { now } => self.dispatched(now),
            Observation::ClosedPull(url) => self.closed_pull(url),
            Observation::Pull { now, pull } => self.pull(now, pull),
            Observation::Head { now, commit } => self.head(now, commit),
        }
    }

    fn found(&mut self, landed: Landed) -> Action {
        match landed.pull.clone() {
            Some(pull) if self.cfg.wait_merged => {
                self.phase = Phase::Merging {
                    pull,
                    head: landed.sha.clone(),
                };
                Action::AwaitMerge(landed)
            }
            _ => Action::Done(landed),
        }
    }

    fn run(&mut self, now: Instant, new: &[Commit], look: &Look) -> Action {
        if self.phase == Phase::Gated {
            if !look.idle {
                return self.deadline(now);
            }
            self.before_dispatch = new.iter().map(|c| c.sha.clone()).collect();
            return Action::Dispatch;
        }
        match &look.ours {
            Seen::Failed(url) => return Action::Fail(self.failed(url)),
            Seen::Succeeded if self.succeeded_once => return Action::CheckClosedPulls,
            Seen::Succeeded => self.succeeded_once = true,
            _ => {}
        }
        let lost = self.lost(now, look);
        // A cancelled run is dispatched again only while no later build of the same
        // component has been recorded since: re-applying ours would go back to an older
        // version. Unless ours is known to be the newer version: then the run writes it.
        if lost.is_some() || matches!(self.phase, Phase::Lost { .. } | Phase::Redispatching) {
            if let Some(c) = new.iter().find(|c| {
                !self.before_dispatch.contains(&c.sha)
                    && self.cfg.asked().superseded_by(&c.message)
                    && !self.newer_than(&c.message)
            }) {
                return Action::Done(self.superseded(c));
            }
        }
        match (&self.phase, lost) {
            (Phase::Redispatching, _) => {
                self.before_dispatch = new.iter().map(|c| c.sha.clone()).collect();
                return Action::Dispatch;
            }
            (Phase::Waiting, Some(why)) => {
                let delay = (self.delay)(self.dispatches, look.shows_runs);
                self.said.push(format!(
                    "the run for dispatch {} {why}; dispatching it again once the workflow is idle (in {} ms at the earliest)",
                    self.cfg.dispatch_id,
                    delay.as_millis()
                ));
                self.phase = Phase::Lost { at: now + delay };
            }
            _ => {}
        }
        match self.phase {
            Phase::Lost { at } if look.idle && now >= at => {
                self.phase = Phase::Redispatching;
                Action::Look
            }
            // Idle already: a full poll interval would only leave the runner idle.
            Phase::Lost { at } if look.idle => Action::Wait(at - now),
            _ => self.deadline(now),
        }
    }

    /// Why our run is gone, if it is.
    fn lost(&self, now: Instant, look: &Look) -> Option<&'static str> {
        match look.ours {
            Seen::Cancelled => Some("was cancelled"),
            Seen::Nothing if look.overtaken => Some("was cancelled by a later dispatch"),
            Seen::Nothing
                if look.idle
                    && now.saturating_duration_since(self.dispatched_at) >= self.cfg.lost_after =>
            {
                Some("left no trace within --lost-after")
            }
            _ => None,
        }
    }

    fn dispatched(&mut self, now: Instant) -> Action {
        self.dispatches += 1;
        self.dispatched_at = now;
        self.phase = Phase::Waiting;
        self.succeeded_once = false;
        self.said.push(if self.dispatches == 1 {
            format!(
                "the workflow is idle: dispatched {} (dispatch {})",
                self.cfg.workflow, self.cfg.dispatch_id
            )
        } else {
            format!(
                "dispatched {} again (dispatch {}, {} dispatches)",
                self.cfg.workflow, self.cfg.dispatch_id, self.dispatches
            )
        });
        self.deadline(now)
    }

    fn closed_pull(&mut self, url: Option<String>) -> Action {
        match url {
            // A pull request of the run that was closed before we saw it open: the version
            // is not there.
            Some(url) => Action::Fail(format!(
                "the GitOps run put {} {} in a pull request of {} that was closed without merging: {url}",
                self.cfg.component, self.cfg.version, self.cfg.repo
            )),
            // The run ended well, yet left neither a commit nor a record (its status could
            // not be set): the version was already there, and the tip has it.
            None => Action::LandAtTip,
        }
    }

    /// Past `--wait-timeout`, the end; before it, a pause.
    fn deadline(&self, now: Instant) -> Action {
        let waited = now.saturating_duration_since(self.begun);
        if waited < self.cfg.wait_timeout {
            let awaited = match &self.phase {
                Phase::Merging { pull, .. } => format!("pull request #{} to merge", pull.number),
                _ => "the GitOps commit".to_string(),
            };
            return Action::Pause { waited, awaited };
        }
        let cfg = self.cfg;
        Action::Fail(match &self.phase {
            Phase::Gated => format!(
                "a run of {} in {} was still active after {}s; nothing was dispatched, since on this server a dispatch cancels the runs before it",
                cfg.workflow,
                cfg.repo,
                cfg.wait_timeout.as_secs()
            ),
            Phase::Merging { pull, .. } => format!(
                "pull request #{} of {} ({}) was not merged within {}s",
                pull.number,
                cfg.repo,
                pull.url,
                cfg.wait_timeout.as_secs()
            ),
            _ => format!(
                "no commit for dispatch {} appeared on {} of {} within {}s ({} dispatch{})",
                cfg.dispatch_id,
                self.branch,
                cfg.repo,
                cfg.wait_timeout.as_secs(),
                self.dispatches,
                if self.dispatches == 1 { "" } else { "es" }
            ),
        })
    }

    fn failed(&self, url: &str) -> String {
        format!(
            "the GitOps run for dispatch {} in {} failed; see its log: {}",
            self.cfg.dispatch_id,
            self.cfg.repo,
            if url.is_empty() {
                self.repo_html.clone().unwrap_or_default() + "/actions"
            } else {
                url.to_string()
            }
        )
    }

    /// Whether our version is known to be newer than the one the commit with this message
    /// records (`crate::order`): a later build that is an older version does not stop ours.
    fn newer_than(&self, message: &str) -> bool {
        let theirs = record::Record::parse(message).version;
        crate::order::compare(&theirs, self.cfg.version.as_str())
            == Some(std::cmp::Ordering::Greater)
    }

    /// Our run was cancelled and commit `c` has recorded a later build since: superseded,
    /// by the version `c` records.
    fn superseded(&mut self, c: &Commit) -> Landed {
        let cfg = self.cfg;
        let newer = record::Record::parse(&c.message).version;
        // The title is the GitOps repo's text: shown as a version only when it is one.
        let newer = match crate::model::Version::parse(&newer) {
            Ok(_) => newer,
            Err(_) => crate::model::shown(&newer),
        };
        self.said.push(format!(
            "the run for dispatch {} in {} was cancelled, and {} {newer} has been recorded since (dispatch {}, {}); not dispatching again, which would go back to an older version",
            cfg.dispatch_id,
            cfg.repo,
            cfg.component,
            record::dispatch_id_of(&c.message).unwrap_or(""),
            short(&c.sha)
        ));
        Landed {
            link: c
                .html_url
                .clone()
                .or_else(|| {
                    self.repo_html
                        .as_ref()
                        .map(|r| format!("{r}/commit/{}", c.sha))
                })
                .unwrap_or_default(),
            sha: c.sha.clone(),
            changed: false,
            pull: None,
            superseded_by: Some(newer),
        }
    }

    fn pull(&mut self, now: Instant, p: PullState) -> Action {
        let Phase::Merging { pull, head } = &self.phase else {
            // Only a merge wait reads a pull request; anything else is a bug, said plainly
            // rather than a panic.
            return Action::Fail("internal error: a pull request was read while no merge was awaited; please report it".into());
        };
        let cfg = self.cfg;
        if p.merged {
            let sha = p.merge_commit.unwrap_or_else(|| head.clone());
            self.said.push(format!(
                "pull request #{} merged as {}",
                pull.number,
                short(&sha)
            ));
            return Action::Done(Landed {
                link: self
                    .repo_html
                    .as_ref()
                    .map(|r| format!("{r}/commit/{sha}"))
                    .unwrap_or_else(|| pull.url.clone()),
                sha,
                changed: true,
                pull: None,
                superseded_by: None,
            });
        }
        if p.state == "closed" {
            return Action::Fail(format!(
                "pull request #{} of {} ({}) was closed without merging: {} {} is not in {}",
                pull.number, cfg.repo, pull.url, cfg.component, cfg.version, cfg.repo
            ));
        }
        if !p.pull.head_sha.is_empty() && p.pull.head_sha != *head {
            return Action::ReadHead(p.pull.head_sha);
        }
        self.deadline(now)
    }

    fn head(&mut self, now: Instant, c: Commit) -> Action {
        let Phase::Merging { pull, head } = &mut self.phase else {
            return Action::Fail(
                "internal error: a head was read while no merge was awaited; please report it"
                    .into(),
            );
        };
        let cfg = self.cfg;
        if !cfg.asked().is_ours(&c.message) {
            return Action::Fail(format!(
                "pull request #{} of {} now carries another update ({}, dispatch {}): {} {} was superseded before it merged",
                pull.number,
                cfg.repo,
                c.message.lines().next().unwrap_or(""),
                record::dispatch_id_of(&c.message).unwrap_or("none"),
                cfg.component,
                cfg.version
            ));
        }
        *head = c.sha;
        self.deadline(now)
    }
}

/// How `drive` ended.
pub enum Ended {
    Proven(Landed),
    /// Waiting in a pull request for `--wait-merged`: the watch goes on with its merge.
    InPullRequest(Landed),
}

/// The loop around `Watch`: observes what it asks for, acts, and sleeps between looks.
pub fn drive(
    watch: &mut Watch,
    runs: &mut Runs,
    search: &mut Search,
    links: &mut Links,
) -> Result<Ended> {
    let cfg = watch.cfg;
    let mut last_report = Instant::now();
    let mut action = Action::Look;
    loop {
        action = match action {
            Action::Look => {
                let observed = observe(watch, runs, search, links)?;
                watch.next(observed)
            }
            Action::Pause { waited, awaited } => {
                pause(cfg, waited, &mut last_report, &awaited);
                Action::Look
            }
            Action::Wait(d) => {
                std::thread::sleep(d);
                Action::Look
            }
            Action::Dispatch => {
                runs.dispatch()?;
                watch.next(Observation::Dispatched {
                    now: Instant::now(),
                })
            }
            Action::CheckClosedPulls => {
                watch.next(Observation::ClosedPull(search.in_closed_pull_request()))
            }
            Action::ReadHead(sha) => {
                let commit = search.head(&sha)?;
                let now = Instant::now();
                watch.next(Observation::Head { now, commit })
            }
            Action::LandAtTip => return search.at_tip(links).map(Ended::Proven),
            Action::Done(landed) => return Ok(Ended::Proven(landed)),
            Action::AwaitMerge(landed) => return Ok(Ended::InPullRequest(landed)),
            Action::Fail(why) => return Err(Error::NotLanded(why)),
        };
        for line in watch.said() {
            report::progress(&line);
        }
    }
}

/// One look at what the watch awaits: the pull request while merging; otherwise the
/// landing's proof, or, with none yet, the run.
fn observe(
    watch: &Watch,
    runs: &mut Runs,
    search: &mut Search,
    links: &mut Links,
) -> Result<Observation> {
    if let Some(w) = watch.awaited() {
        let pull = search.pull(w.number)?;
        return Ok(Observation::Pull {
            now: Instant::now(),
            pull,
        });
    }
    // The run first: one that has ended by now left its commit or record where the search
    // that follows finds it, so a run seen ended without a proof is truly lost.
    let look = runs.look(links)?;
    let new = search.commits()?;
    if let Some(landed) = search.find(&new, links)? {
        return Ok(Observation::Found(landed));
    }
    Ok(Observation::Run {
        now: Instant::now(),
        new,
        look,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SafeUrl, Token, Version};

    const SOURCE: &str = "0123456789abcdef0123456789abcdef01234567";
    const OTHER_SOURCE: &str = "fedcba9876543210fedcba9876543210fedcba98";

    fn cfg(wait_merged: bool) -> DispatchConfig {
        DispatchConfig {
            repo: "acme/deploy".into(),
            file: "apps/app/values.yaml".into(),
            expression: ".image.tag = \"{{version}}\"".into(),
            version: Version::parse("1.2.3").unwrap(),
            tag_prefix: None,
            api_url: SafeUrl::new("http://gitea.example.test/api/v1"),
            source_repo: "acme/app".into(),
            source_commit: SOURCE.into(),
            workflow: "gitops-service.yaml".into(),
            branch: None,
            dispatch_id: "d-1".into(),
            component: "app".into(),
            wait_timeout: Duration::from_secs(600),
            wait_merged,
            deploy_name: None,
            poll_interval: Duration::from_secs(2),
            lost_after: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            gitops_token: Token::new("t".into()),
            status_token: None,
            output_files: Vec::new(),
        }
    }

    /// A watch begun at `t0`, whose wait before dispatching again is always one second.
    fn watch(cfg: &DispatchConfig, t0: Instant) -> Watch<'_> {
        let mut w = Watch::new(
            cfg,
            "main",
            Some("http://gitea.example.test/acme/deploy".into()),
            t0,
        );
        w.delay = |_, _| Duration::from_secs(1);
        w
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    fn look(ours: Seen, idle: bool, overtaken: bool) -> Look {
        Look {
            ours,
            idle,
            overtaken,
            shows_runs: true,
        }
    }

    fn run(now: Instant, new: Vec<Commit>, look: Look) -> Observation {
        Observation::Run { now, new, look }
    }

    fn commit(sha: &str, message: &str) -> Commit {
        Commit {
            sha: sha.into(),
            message: message.into(),
            html_url: None,
        }
    }

    /// A later build's update of the same component and file.
    fn newer_build() -> Commit {
        commit(
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            &format!(
                "[skip ci] gitops: update version to 1.2.4\n\nSource-Repo: acme/app\nSource-Commit: {OTHER_SOURCE}\nDispatch-Id: d-2\nComponent: app\nFile: apps/app/values.yaml\n"
            ),
        )
    }

    fn pause(waited: u64) -> Action {
        Action::Pause {
            waited: Duration::from_secs(waited),
            awaited: "the GitOps commit".into(),
        }
    }

    /// Loses the run with `why` at t0+10 s, then dispatches again once idle at t0+12 s.
    fn lose_and_dispatch_again(w: &mut Watch, t0: Instant, lost: Look, why: &str) {
        // Idle already, the dispatch is due once the delay has passed, not a poll later.
        let due = if lost.idle {
            Action::Wait(Duration::from_secs(1))
        } else {
            pause(10)
        };
        assert_eq!(w.next(run(secs(t0, 10), vec![], lost)), due);
        assert_eq!(
            w.said(),
            [format!("the run for dispatch d-1 {why}; dispatching it again once the workflow is idle (in 1000 ms at the earliest)")]
        );
        assert_eq!(w.phase(), &Phase::Lost { at: secs(t0, 11) });
        let busy = look(Seen::Nothing, false, false);
        assert_eq!(w.next(run(secs(t0, 12), vec![], busy)), pause(12));
        let idle = look(Seen::Nothing, true, false);
        assert_eq!(
            w.next(run(secs(t0, 13), vec![], idle.clone())),
            Action::Look
        );
        assert_eq!(w.phase(), &Phase::Redispatching);
        assert_eq!(w.next(run(secs(t0, 14), vec![], idle)), Action::Dispatch);
        let now = secs(t0, 15);
        assert_eq!(w.next(Observation::Dispatched { now }), pause(15));
        assert_eq!(
            w.said(),
            ["dispatched gitops-service.yaml again (dispatch d-1, 2 dispatches)"]
        );
        assert_eq!(w.phase(), &Phase::Waiting);
    }

    #[test]
    fn a_gated_dispatch_is_sent_once_the_workflow_is_idle_and_not_before() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = Watch::gated(&cfg, "main", None, t0);
        let busy = look(Seen::Nothing, false, true);
        assert_eq!(w.next(run(secs(t0, 2), vec![], busy.clone())), pause(2));
        assert_eq!(w.phase(), &Phase::Gated);
        let idle = look(Seen::Nothing, true, true);
        assert_eq!(w.next(run(secs(t0, 4), vec![], idle)), Action::Dispatch);
        assert_eq!(
            w.next(Observation::Dispatched { now: secs(t0, 4) }),
            pause(4)
        );
        assert_eq!(
            w.said(),
            ["the workflow is idle: dispatched gitops-service.yaml (dispatch d-1)"]
        );
        // The runs before ours are no news of ours.
        assert_eq!(w.phase(), &Phase::Waiting);
        let mut w = Watch::gated(&cfg, "main", None, t0);
        assert_eq!(
            w.next(run(secs(t0, 600), vec![], busy)),
            Action::Fail("a run of gitops-service.yaml in acme/deploy was still active after 600s; nothing was dispatched, since on this server a dispatch cancels the runs before it".into())
        );
    }

    #[test]
    fn an_active_run_is_waited_for() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let active = look(Seen::Active, false, false);
        assert_eq!(w.next(run(secs(t0, 5), vec![], active)), pause(5));
        assert!(w.said().is_empty());
    }

    #[test]
    fn a_cancelled_run_is_dispatched_again_once_the_workflow_is_idle() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let cancelled = look(Seen::Cancelled, true, false);
        lose_and_dispatch_again(&mut w, t0, cancelled, "was cancelled");
    }

    #[test]
    fn a_run_overtaken_by_a_later_dispatch_is_dispatched_again() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let overtaken = look(Seen::Nothing, false, true);
        lose_and_dispatch_again(&mut w, t0, overtaken, "was cancelled by a later dispatch");
    }

    #[test]
    fn a_run_with_no_trace_is_lost_only_after_lost_after_and_when_idle() {
        let t0 = Instant::now();
        let cfg = DispatchConfig {
            lost_after: Duration::from_secs(10),
            ..cfg(false)
        };
        let mut w = watch(&cfg, t0);
        let nothing = look(Seen::Nothing, true, false);
        assert_eq!(w.next(run(secs(t0, 9), vec![], nothing.clone())), pause(9));
        let busy = look(Seen::Nothing, false, false);
        assert_eq!(w.next(run(secs(t0, 11), vec![], busy)), pause(11));
        assert_eq!(w.phase(), &Phase::Waiting);
        let mut w = watch(&cfg, t0);
        let why = "left no trace within --lost-after";
        lose_and_dispatch_again(&mut w, t0, nothing, why);
    }

    /// `newer_build`'s commit as the superseded outcome names it.
    fn superseded_by_newer_build() -> Landed {
        Landed {
            sha: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            link: "http://gitea.example.test/acme/deploy/commit/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            changed: false,
            pull: None,
            superseded_by: Some("1.2.4".into()),
        }
    }

    #[test]
    fn a_run_superseded_by_a_newer_build_is_not_dispatched_again() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        // Not lost: a newer build landing is no reason to stop waiting for ours.
        let active = look(Seen::Active, false, false);
        let newer = vec![newer_build()];
        assert_eq!(w.next(run(secs(t0, 5), newer.clone(), active)), pause(5));
        let cancelled = look(Seen::Cancelled, true, false);
        // Superseded, not failed: the newer version is there.
        assert_eq!(
            w.next(run(secs(t0, 6), newer, cancelled)),
            Action::Done(superseded_by_newer_build())
        );
        assert_eq!(w.said(), ["the run for dispatch d-1 in acme/deploy was cancelled, and app 1.2.4 has been recorded since (dispatch d-2, bbbbbbb); not dispatching again, which would go back to an older version"]);
    }

    /// A later build whose version is known to be older than ours (builds finish out of
    /// order) does not stop ours: dispatched again, the run writes the newer version.
    #[test]
    fn a_later_build_of_an_older_version_does_not_stop_a_dispatch_again() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let older = commit(
            "cccccccccccccccccccccccccccccccccccccccc",
            &newer_build()
                .message
                .replace("version to 1.2.4", "version to 1.2.2"),
        );
        let cancelled = look(Seen::Cancelled, true, false);
        let due = Action::Wait(Duration::from_secs(1));
        assert_eq!(
            w.next(run(secs(t0, 1), vec![older.clone()], cancelled)),
            due
        );
        let idle = look(Seen::Nothing, true, false);
        let again = w.next(run(secs(t0, 3), vec![older.clone()], idle.clone()));
        assert_eq!(again, Action::Look);
        assert_eq!(
            w.next(run(secs(t0, 4), vec![older], idle)),
            Action::Dispatch
        );
        // Versions that cannot be ordered: the later build wins, as before.
        let mut w = watch(&cfg, t0);
        let sha_tagged = commit(
            "cccccccccccccccccccccccccccccccccccccccc",
            &newer_build()
                .message
                .replace("version to 1.2.4", "version to sha-0a1b2c3"),
        );
        let cancelled = look(Seen::Cancelled, true, false);
        let stopped = w.next(run(secs(t0, 1), vec![sha_tagged], cancelled));
        assert!(
            matches!(&stopped, Action::Done(l) if l.superseded_by.as_deref() == Some("sha-0a1b2c3")),
            "{stopped:?}"
        );
    }

    #[test]
    fn a_newer_build_seen_while_due_to_dispatch_again_stops_it() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let cancelled = look(Seen::Cancelled, true, false);
        let due = Action::Wait(Duration::from_secs(1));
        assert_eq!(w.next(run(secs(t0, 1), vec![], cancelled)), due);
        let idle = look(Seen::Nothing, true, false);
        assert_eq!(w.next(run(secs(t0, 3), vec![], idle.clone())), Action::Look);
        let stopped = w.next(run(secs(t0, 4), vec![newer_build()], idle));
        assert_eq!(stopped, Action::Done(superseded_by_newer_build()));
    }

    #[test]
    fn another_dispatch_of_the_same_build_does_not_stop_a_dispatch_again() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let (cancelled, idle) = (
            look(Seen::Cancelled, true, false),
            look(Seen::Nothing, true, false),
        );
        let due = Action::Wait(Duration::from_secs(1));
        assert_eq!(w.next(run(secs(t0, 1), vec![], cancelled)), due);
        assert_eq!(w.next(run(secs(t0, 3), vec![], idle.clone())), Action::Look);
        // The same build dispatched for another file or tag: never a newer version.
        let same_build = commit(
            "cccccccccccccccccccccccccccccccccccccccc",
            &format!("t 1.2.3\n\nSource-Commit: {SOURCE}\nDispatch-Id: d-0\nComponent: app\nFile: apps/app/values.yaml\n"),
        );
        let action = w.next(run(secs(t0, 4), vec![same_build], idle));
        assert_eq!(action, Action::Dispatch);
    }

    #[test]
    fn a_failed_run_ends_the_wait_with_its_link() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let failed = look(
            Seen::Failed("http://g/acme/deploy/actions/runs/7".into()),
            true,
            false,
        );
        assert_eq!(
            w.next(run(secs(t0, 1), vec![], failed)),
            Action::Fail("the GitOps run for dispatch d-1 in acme/deploy failed; see its log: http://g/acme/deploy/actions/runs/7".into())
        );
        let unlinked = look(Seen::Failed(String::new()), true, false);
        assert_eq!(
            w.next(run(secs(t0, 1), vec![], unlinked)),
            Action::Fail("the GitOps run for dispatch d-1 in acme/deploy failed; see its log: http://gitea.example.test/acme/deploy/actions".into())
        );
    }

    #[test]
    fn a_run_that_succeeded_twice_unproven_ends_at_the_tip_or_a_closed_pull_request() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let succeeded = look(Seen::Succeeded, true, false);
        assert_eq!(
            w.next(run(secs(t0, 1), vec![], succeeded.clone())),
            pause(1)
        );
        assert_eq!(
            w.next(run(secs(t0, 3), vec![], succeeded)),
            Action::CheckClosedPulls
        );
        assert_eq!(w.next(Observation::ClosedPull(None)), Action::LandAtTip);
        assert_eq!(
            w.next(Observation::ClosedPull(Some("http://g/pulls/4".into()))),
            Action::Fail("the GitOps run put app 1.2.3 in a pull request of acme/deploy that was closed without merging: http://g/pulls/4".into())
        );
    }

    fn landed(changed: bool, pull: Option<Waiting>) -> Landed {
        Landed {
            sha: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            link: "http://g/acme/deploy/commit/aaaaaaa".into(),
            changed,
            pull,
            superseded_by: None,
        }
    }

    fn waiting() -> Waiting {
        Waiting {
            number: 3,
            url: "http://g/acme/deploy/pulls/3".into(),
        }
    }

    #[test]
    fn a_commit_or_a_record_proves_the_landing() {
        let (cfg, t0) = (cfg(true), Instant::now());
        let mut w = watch(&cfg, t0);
        let ours = Commit {
            html_url: Some("http://g/acme/deploy/commit/aaaaaaa".into()),
            ..commit(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "[skip ci] gitops: update version to 1.2.3\n\nDispatch-Id: d-1\n",
            )
        };
        let links = Links::default();
        let by_commit = crate::dispatch::proof::by_commit;
        let found = by_commit(&cfg, &[newer_build(), ours], &links);
        assert_eq!(found, Some(landed(true, None)));
        let found = Observation::Found(found.unwrap());
        assert_eq!(w.next(found), Action::Done(landed(true, None)));
        // The run's record: the version was already there.
        let recorded = Observation::Found(landed(false, None));
        assert_eq!(w.next(recorded), Action::Done(landed(false, None)));
        assert_eq!(by_commit(&cfg, &[newer_build()], &links), None);
    }

    #[test]
    fn a_pull_request_ends_the_wait_unless_its_merge_is_awaited() {
        let t0 = Instant::now();
        let (no_wait, wait) = (cfg(false), cfg(true));
        let in_pull = landed(true, Some(waiting()));
        let found = Observation::Found(in_pull.clone());
        assert_eq!(
            watch(&no_wait, t0).next(found),
            Action::Done(in_pull.clone())
        );
        let mut w = watch(&wait, t0);
        let found = Observation::Found(in_pull.clone());
        assert_eq!(w.next(found), Action::AwaitMerge(in_pull.clone()));
        assert_eq!(w.awaited(), Some(&waiting()));
        let pull = pull_state("open", false, &in_pull.sha);
        assert_eq!(
            w.next(Observation::Pull {
                now: secs(t0, 9),
                pull
            }),
            Action::Pause {
                waited: Duration::from_secs(9),
                awaited: "pull request #3 to merge".into()
            }
        );
    }

    fn pull_state(state: &str, merged: bool, head: &str) -> PullState {
        PullState {
            pull: crate::forge::Pull {
                number: 3,
                html_url: "http://g/acme/deploy/pulls/3".into(),
                head_sha: head.into(),
            },
            state: state.into(),
            merged,
            merge_commit: merged.then(|| "dddddddddddddddddddddddddddddddddddddddd".into()),
            head_ref: "gitops-update/main/app".into(),
            title: "[skip ci] gitops: update version to 1.2.3".into(),
        }
    }

    fn merging(cfg: &DispatchConfig, t0: Instant) -> Watch<'_> {
        let mut w = watch(cfg, t0);
        w.next(Observation::Found(landed(true, Some(waiting()))));
        w
    }

    #[test]
    fn a_merged_pull_request_lands_as_its_merge_commit() {
        let (cfg, t0) = (cfg(true), Instant::now());
        let mut w = merging(&cfg, t0);
        let pull = pull_state("closed", true, "");
        let merge = "dddddddddddddddddddddddddddddddddddddddd";
        assert_eq!(
            w.next(Observation::Pull {
                now: secs(t0, 1),
                pull
            }),
            Action::Done(Landed {
                sha: merge.into(),
                link: format!("http://gitea.example.test/acme/deploy/commit/{merge}"),
                changed: true,
                pull: None,
                superseded_by: None,
            })
        );
        assert_eq!(w.said(), ["pull request #3 merged as ddddddd"]);
    }

    #[test]
    fn a_pull_request_closed_unmerged_is_not_landed() {
        let (cfg, t0) = (cfg(true), Instant::now());
        let mut w = merging(&cfg, t0);
        let pull = pull_state("closed", false, "");
        assert_eq!(
            w.next(Observation::Pull { now: secs(t0, 1), pull }),
            Action::Fail("pull request #3 of acme/deploy (http://g/acme/deploy/pulls/3) was closed without merging: app 1.2.3 is not in acme/deploy".into())
        );
    }

    #[test]
    fn a_pull_request_whose_head_is_another_update_is_superseded() {
        let (cfg, t0) = (cfg(true), Instant::now());
        let mut w = merging(&cfg, t0);
        let ours = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
        let pull = pull_state("open", false, ours);
        let read = w.next(Observation::Pull {
            now: secs(t0, 1),
            pull,
        });
        assert_eq!(read, Action::ReadHead(ours.into()));
        let commit_ours = commit(ours, "x 1.2.3\n\nDispatch-Id: d-1\n");
        let now = secs(t0, 2);
        let action = w.next(Observation::Head {
            now,
            commit: commit_ours,
        });
        assert!(matches!(action, Action::Pause { .. }), "{action:?}");
        // Its head is now known, so the same head is not read again.
        let pull = pull_state("open", false, ours);
        let again = w.next(Observation::Pull {
            now: secs(t0, 3),
            pull,
        });
        assert!(matches!(again, Action::Pause { .. }), "{again:?}");
        let newer = newer_build();
        let now = secs(t0, 4);
        assert_eq!(
            w.next(Observation::Head { now, commit: newer }),
            Action::Fail("pull request #3 of acme/deploy now carries another update ([skip ci] gitops: update version to 1.2.4, dispatch d-2): app 1.2.3 was superseded before it merged".into())
        );
    }

    #[test]
    fn the_deadline_ends_the_wait() {
        let (cfg, t0) = (cfg(false), Instant::now());
        let mut w = watch(&cfg, t0);
        let active = look(Seen::Active, false, false);
        assert_eq!(
            w.next(run(secs(t0, 600), vec![], active.clone())),
            Action::Fail("no commit for dispatch d-1 appeared on main of acme/deploy within 600s (1 dispatch)".into())
        );
        let mut w = watch(&cfg, t0);
        let cancelled = look(Seen::Cancelled, true, false);
        lose_and_dispatch_again(&mut w, t0, cancelled, "was cancelled");
        assert_eq!(
            w.next(run(secs(t0, 601), vec![], active)),
            Action::Fail("no commit for dispatch d-1 appeared on main of acme/deploy within 600s (2 dispatches)".into())
        );
        let merge = cfg_merging_deadline(t0);
        assert_eq!(merge, Action::Fail("pull request #3 of acme/deploy (http://g/acme/deploy/pulls/3) was not merged within 600s".into()));
    }

    fn cfg_merging_deadline(t0: Instant) -> Action {
        let cfg = cfg(true);
        let mut w = merging(&cfg, t0);
        let pull = pull_state("open", false, "");
        w.next(Observation::Pull {
            now: secs(t0, 600),
            pull,
        })
    }

    #[test]
    fn redispatch_delays_are_jittered_and_capped() {
        for lost in 1..10 {
            let d = redispatch_delay(lost, false).as_millis() as u64;
            let cap = (2_000u64 << lost.min(4)).min(30_000);
            assert!(d >= cap / 2 && d <= cap, "{lost}: {d}");
            // Where the runs are seen, the dispatch waits for an idle workflow anyway.
            let d = redispatch_delay(lost, true).as_millis() as u64;
            assert!((250..=500).contains(&d), "{lost}: {d}");
        }
    }
}
