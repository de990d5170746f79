//! The update run: fetch the tip, edit, commit, push; when another writer pushed first,
//! fetch the new tip and re-apply the edit to it. Re-applying, not rebasing, is what makes
//! concurrent writers safe: two updaters changing different keys of one file both land.

use std::time::Duration;

use git2::Oid;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::expr::Program;
use crate::git::{self, Git, Push};
use crate::model::{short, Newer, Outcome, Pulled, RepoPath};
use crate::policy::{self, Policy};
use crate::{edit, report};

/// How a commit reaches the branch: one implementation per way in `src/land/`. The loop asks
/// it once per attempt and acts on the answer: accepted, stale (re-apply on the new tip), or
/// rejected for good; once a push is accepted, `follow_up` does what the server must do
/// with it.
pub trait Landing {
    fn land(&self, git: &Git, commit: Oid) -> Result<Landed>;

    /// Whether a landed commit is the branch's new tip, so that a checkout follows it.
    fn moves_branch(&self) -> bool {
        true
    }

    /// Where a commit for `branch` is pushed, for the progress line.
    fn target(&self, branch: &str) -> String {
        branch.to_string()
    }

    /// The branch an earlier update waits on (the tool's pull-request branch), fetched with
    /// its tip, so that an older build does not replace a newer one still under review
    /// (issue 30). The landing remembers the tip as the push's lease. None for landings
    /// that push to the branch itself.
    fn pending(&self, _git: &Git) -> Result<Option<(String, Oid)>> {
        Ok(None)
    }

    /// After the update pushed: open or update the pull request, describe it, merge it. A
    /// push to the branch itself has nothing left to do.
    fn follow_up(&self, _done: &Done) -> Result<Option<Pulled>> {
        Ok(None)
    }
}

/// A push's answer, with the server's own words on the sideband (where an AGit push is told
/// its pull request's address).
pub struct Landed {
    pub push: Push,
    pub said: String,
}

/// One file's change at a given tip.
pub struct Change {
    pub path: RepoPath,
    pub before: String,
    pub after: String,
    pub mode: i32,
}

pub struct Done {
    pub outcome: Outcome,
    pub attempts: u32,
    pub changes: Vec<Change>,
    pub branch: String,
    /// What the server said to the push that landed.
    pub said: String,
}

/// A run that failed, with how far it got: the report names the attempts it made.
pub struct Failed {
    pub error: Error,
    pub attempts: u32,
    pub branch: String,
}

/// How far a run got, kept as it goes.
#[derive(Default)]
struct Tally {
    attempts: u32,
    branch: String,
}

/// Applies every edit to the files at `tip`. Several edits of one file apply in order. The
/// repository's policy, read from the same tip, is checked before and after.
fn apply(git: &Git, tip: Oid, programs: &[(RepoPath, Program)]) -> Result<Applied> {
    let policy_path = RepoPath::parse(policy::FILE)?;
    let policy = match git.read(tip, &policy_path)? {
        Some((bytes, _)) => Some(Policy::parse(&bytes)?),
        None => None,
    };
    let mut changes: Vec<Change> = Vec::new();
    for (path, program) in programs {
        if path == &policy_path {
            return Err(Error::Refused {
                file: path.to_string(),
                msg: "the policy file can never be changed by an update".into(),
            });
        }
        if let Some(p) = &policy {
            p.check_file(path)?;
        }
        let (current, mode) = match changes.iter().position(|c| &c.path == path) {
            Some(i) => (changes[i].after.clone().into_bytes(), changes[i].mode),
            None => match git.read(tip, path)? {
                Some(found) => found,
                None => {
                    return Err(Error::Repo(format!(
                        "{path} does not exist on branch {} of {}; check INPUT_FILE or --file",
                        git.branch,
                        git.url()
                    )))
                }
            },
        };
        let edited = edit::edit(&current, path.as_str(), program)?;
        for n in &edited.notes {
            report::note(n);
        }
        match changes.iter_mut().find(|c| &c.path == path) {
            Some(c) => c.after = edited.text,
            None => changes.push(Change {
                path: path.clone(),
                before: String::from_utf8_lossy(&current).into_owned(),
                after: edited.text,
                mode,
            }),
        }
    }
    changes.retain(|c| c.before != c.after);
    for c in &changes {
        edit::check_placeholders(&c.before, &c.after, c.path.as_str())?;
    }
    if let Some(p) = &policy {
        for c in &changes {
            p.check_edit(&c.path, &c.before, &c.after)?;
        }
    }
    Ok(Applied {
        changes,
        allow_downgrade: policy.is_some_and(|p| p.allow_downgrade),
    })
}

/// The changes an attempt would make, and whether the repository's policy lets them move a
/// value to an older version.
struct Applied {
    changes: Vec<Change>,
    allow_downgrade: bool,
}

/// The first change that would move a value to an older version than the file holds
/// (`order::downgrade`).
fn superseded(changes: &[Change], version: &str) -> Result<Option<Newer>> {
    for c in changes {
        let found = crate::order::downgrade(c.path.as_str(), &c.before, &c.after, version)?;
        if let Some(d) = found {
            return Ok(Some(Newer {
                file: c.path.to_string(),
                path: d.path,
                recorded: d.recorded,
                rolled_back_to: None,
            }));
        }
    }
    Ok(None)
}

/// The first change that would write a version no newer than one the tool recorded for
/// the component in that file, over a value someone moved back below it since: a
/// rollback, by a person or by `--allow-downgrade`, that writing would undo. `recorded`
/// gives, by file, the versions the provenance notes record with their commits; `landed`
/// says whether the branch reaches a commit that records that version (a note's commit may
/// never have landed: a run killed between its note and its commit; and a note anyone can
/// push counts only on the update commit of its own version).
fn undoes_rollback(
    changes: &[Change],
    version: &str,
    recorded: impl Fn(&str) -> Vec<(String, String)>,
    landed: impl Fn(&str, &str) -> bool,
) -> Result<Option<Newer>> {
    use std::cmp::Ordering::Greater;
    for c in changes {
        let held = crate::order::held(c.path.as_str(), &c.before, &c.after, version)?;
        for (was, commit) in recorded(c.path.as_str()) {
            if crate::order::compare(&was, version) == Some(Greater) {
                continue;
            }
            let below = held
                .iter()
                .find(|(_, h)| crate::order::compare(h, &was) == Some(Greater));
            if let Some((path, h)) = below.filter(|_| landed(&commit, &was)) {
                return Ok(Some(Newer {
                    file: c.path.to_string(),
                    path: path.clone(),
                    recorded: was,
                    rolled_back_to: Some(h.clone()),
                }));
            }
        }
    }
    Ok(None)
}

/// A jittered, capped exponential back-off: 100 ms, 200 ms, … up to 5 s, each between half
/// and all of that, so that writers who collided do not collide again in step.
fn backoff(attempt: u32) -> Duration {
    crate::model::backoff(
        Duration::from_millis(100),
        attempt.min(6),
        Duration::from_secs(5),
    )
}

/// Runs the update; on failure, says how many attempts it made.
pub fn run(cfg: &RunConfig, landing: &dyn Landing) -> Result<Done, Box<Failed>> {
    let mut tally = Tally::default();
    attempts(cfg, landing, &mut tally).map_err(|error| {
        Box::new(Failed {
            error,
            attempts: tally.attempts,
            branch: tally.branch,
        })
    })
}

/// Says so when an expression never names the version: the commit will still say "update
/// version to X", which is then untrue.
fn warn_unused_version(cfg: &RunConfig) {
    for (path, expr) in &cfg.edits {
        if !expr.contains("VERSION") {
            report::warn(&format!(
                "the expression for {path} does not use the version ({{{{VERSION}}}}), yet the commit will say \"update version to {}\"",
                cfg.version
            ));
        }
    }
}

fn attempts(cfg: &RunConfig, landing: &dyn Landing, tally: &mut Tally) -> Result<Done> {
    let mut run = Run::start(cfg, landing)?;
    run.until_done(tally)
}

/// What an attempt came to: the run is done, or another attempt starts from a new tip
/// (with the error of a push whose answer was lost, which is the run's error if no attempt
/// is left).
enum Step {
    Done(Done),
    Retry(Option<Error>),
}

/// One update run, across its attempts.
struct Run<'a> {
    cfg: &'a RunConfig,
    landing: &'a dyn Landing,
    git: Git,
    programs: Vec<(RepoPath, Program)>,
    attempt: u32,
    /// A push whose answer was lost may have landed: the next fetch tells.
    pushed: Option<Oid>,
    /// The last push that failed without an answer: its tip and its message.
    failed: Option<(Oid, String)>,
    /// The provenance note of the commit last pushed, to store once it has landed: right
    /// after the push, or when a push whose answer was lost is found on the branch.
    note: Option<(Oid, String)>,
}

impl<'a> Run<'a> {
    fn start(cfg: &'a RunConfig, landing: &'a dyn Landing) -> Result<Self> {
        // Every expression compiles before anything touches the network.
        let programs = cfg
            .edits
            .iter()
            .map(|(p, e)| Ok((p.clone(), Program::compile(e, &cfg.bindings)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut git = Git::open(&git::Options {
            target: &cfg.target,
            token: cfg.token.as_ref(),
            branch: cfg.branch.as_deref(),
            workdir: &cfg.workdir,
            timeout: cfg.timeout,
            config: cfg.git_config,
            dry_run: cfg.dry_run,
        })?;
        // A dry run reads the notes too, to say what the run would: a rollback it keeps.
        git.with_notes = cfg.provenance;
        warn_unused_version(cfg);
        let files: Vec<RepoPath> = programs.iter().map(|(p, _)| p.clone()).collect();
        if !cfg.dry_run {
            git.check_clean(&files)?;
        }
        let names: Vec<&str> = files.iter().map(RepoPath::as_str).collect();
        report::progress(&format!("updating {} in {}", names.join(", "), git.url()));
        Ok(Run {
            cfg,
            landing,
            git,
            programs,
            attempt: 0,
            pushed: None,
            failed: None,
            note: None,
        })
    }

    fn target(&self) -> String {
        format!("{} of {}", self.git.branch, self.git.url())
    }

    fn until_done(&mut self, tally: &mut Tally) -> Result<Done> {
        loop {
            self.attempt += 1;
            tally.attempts = self.attempt;
            let tip = self.tip();
            tally.branch = self.git.branch.clone();
            let lost = match self.attempt(tip?)? {
                Step::Done(done) => return Ok(done),
                Step::Retry(lost) => lost,
            };
            if self.attempt >= self.cfg.max_attempts {
                return Err(lost.unwrap_or_else(|| Error::GaveUp {
                    attempts: self.attempt,
                    target: self.target(),
                }));
            }
            std::thread::sleep(backoff(self.attempt));
        }
    }

    /// The tip this attempt edits: the remote branch's. A developer's dry run offline, or
    /// on a remote the tool cannot fetch, still shows what the edit would do to what they
    /// have, against the checkout's HEAD.
    fn tip(&mut self) -> Result<Oid> {
        let (git, dry_run) = (&mut self.git, self.cfg.dry_run);
        match git.fetch_tip() {
            Ok(tip) if dry_run => {
                report::progress(&format!(
                    "dry run: the diff is against the remote's tip, {} at {}",
                    git.branch,
                    short(&tip.to_string())
                ));
                Ok(tip)
            }
            Ok(tip) => {
                if self.attempt == 1 {
                    report::progress(&format!("{} is at {}", git.branch, short(&tip.to_string())));
                }
                Ok(tip)
            }
            Err(e) if dry_run => match git.checkout_head() {
                Some(head) => {
                    report::progress(&format!(
                        "dry run: {} is out of reach ({e}); the diff is against the checkout's HEAD, {}",
                        git.url(),
                        short(&head.to_string())
                    ));
                    Ok(head)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn done(&self, outcome: Outcome, changes: Vec<Change>, said: String) -> Done {
        Done {
            outcome,
            attempts: self.attempt,
            changes,
            branch: self.git.branch.clone(),
            said,
        }
    }

    /// A newer version than ours in the update still waiting on the landing's own branch
    /// (`Landing::pending`): the file, the value's path and the version it holds.
    fn pending_newer(&self, changes: &[Change]) -> Result<Option<Newer>> {
        let Some((branch, head)) = self.landing.pending(&self.git)? else {
            return Ok(None);
        };
        let version = self.cfg.version.as_str();
        for c in changes {
            let Some((bytes, _)) = self.git.read(head, &c.path)? else {
                continue;
            };
            let held = String::from_utf8_lossy(&bytes);
            let path = c.path.as_str();
            if let Some(d) = crate::order::downgrade(path, &held, &c.after, version)? {
                return Ok(Some(Newer {
                    file: format!("{path} (in the pending {branch})"),
                    path: d.path,
                    recorded: d.recorded,
                    rolled_back_to: None,
                }));
            }
        }
        Ok(None)
    }

    /// Whether the branch at `tip` holds `commit` as the update commit of `version`.
    fn records(&self, tip: Oid, commit: &str, version: &str) -> bool {
        self.git.reaches(tip, commit)
            && self.git.message_of(commit).is_some_and(|m| {
                crate::record::is_update_title(m.lines().next().unwrap_or_default())
                    && crate::record::Record::parse(&m).version == version
            })
    }

    /// The versions the provenance notes record for the run's component in `file`, with
    /// their commits; only those ours orders against. None without notes
    /// (`--no-provenance`, none written yet).
    fn recorded(&self, file: &str) -> Vec<(String, String)> {
        let Some(notes) = self.git.with_notes.then(|| self.git.notes().ok()).flatten() else {
            return Vec::new();
        };
        let cfg = self.cfg;
        let expressions: Vec<&str> = cfg
            .edits
            .iter()
            .filter(|(p, _)| p.as_str() == file)
            .map(|(_, e)| e.as_str())
            .collect();
        let ours = cfg.version.as_str();
        crate::provenance::recorded(&notes, &cfg.component, file, &expressions)
            .into_iter()
            .filter(|(v, _)| crate::order::compare(v, ours).is_some())
            .collect()
    }

    /// The run ends without writing: `tip` already holds a newer version (issue 30).
    fn superseded(&mut self, tip: Oid, newer: Newer) -> Result<Step> {
        report::progress(&format!(
            "{}: nothing to write",
            newer.why(self.cfg.version.as_str())
        ));
        if !self.cfg.dry_run {
            self.git.follow_in_checkout(tip)?;
        }
        let outcome = Outcome::Superseded { tip, newer };
        Ok(Step::Done(self.done(outcome, Vec::new(), String::new())))
    }

    /// Edits the files at `tip`; commits and lands the change, if there is one.
    fn attempt(&mut self, tip: Oid) -> Result<Step> {
        let (changes, newer) = self.edit(tip)?;
        if let Some(newer) = newer {
            return self.superseded(tip, newer);
        }
        if changes.is_empty() {
            // A push whose answer was lost may have landed: then this is that push.
            let outcome = match self.pushed {
                Some(c) if c == tip => {
                    self.store_note(c);
                    Outcome::Pushed {
                        commit: c,
                        previous: self.git.parent(c).unwrap_or(tip),
                    }
                }
                _ => Outcome::UpToDate { tip },
            };
            if !self.cfg.dry_run {
                self.git.follow_in_checkout(tip)?;
            }
            return Ok(Step::Done(self.done(outcome, Vec::new(), String::new())));
        }
        if self.cfg.dry_run {
            let done = self.done(Outcome::DryRun { tip }, changes, String::new());
            return Ok(Step::Done(done));
        }
        let commit = self.commit(tip, &changes)?;
        self.land(tip, commit, changes)
    }

    /// The changes the edits make at `tip`, and why not to write them when an older build
    /// finished last, a rollback would be undone, or a newer update waits on the landing's
    /// branch (issue 30).
    fn edit(&self, tip: Oid) -> Result<(Vec<Change>, Option<Newer>)> {
        // One evaluation budget for every file and document of this attempt.
        let (changes, newer) = {
            let _budget = crate::budget::session();
            let applied = apply(&self.git, tip, &self.programs)?;
            let version = self.cfg.version.as_str();
            let newer = match self.cfg.allow_downgrade || applied.allow_downgrade {
                true => None,
                false => match superseded(&applied.changes, version)? {
                    Some(newer) => Some(newer),
                    None => undoes_rollback(
                        &applied.changes,
                        version,
                        |f| self.recorded(f),
                        |c, v| self.records(tip, c, v),
                    )?,
                },
            };
            (applied.changes, newer)
        };
        if newer.is_none() && !changes.is_empty() && !self.cfg.allow_downgrade {
            let pending = self.pending_newer(&changes)?;
            return Ok((changes, pending));
        }
        Ok((changes, newer))
    }

    /// The commit of `changes` on `tip`, and its provenance note to store once it lands.
    fn commit(&mut self, tip: Oid, changes: &[Change]) -> Result<Oid> {
        let changed: Vec<&RepoPath> = changes.iter().map(|c| &c.path).collect();
        let blobs: Vec<(RepoPath, Vec<u8>, i32)> = changes
            .iter()
            .map(|c| (c.path.clone(), c.after.clone().into_bytes(), c.mode))
            .collect();
        let cfg = self.cfg;
        let commit = self.git.commit(
            tip,
            &blobs,
            &cfg.record(&changed).message(),
            &cfg.author,
            &cfg.committer,
            cfg.signer.as_ref(),
        )?;
        self.note = match cfg.provenance {
            true => Some((
                commit,
                provenance_note(cfg, &self.git, tip, commit, changes)?,
            )),
            false => None,
        };
        Ok(commit)
    }

    /// Stores the provenance note of `commit`, which has landed, on the notes ref: a notes
    /// ref that moved meanwhile is fetched again and the note added on top, never forced.
    /// The note follows the commit: libgit2 has no atomic push, and a note pushed first made
    /// the notes ref a second race that every losing writer ran too (the 50-writer soak
    /// went from 12 to 43 seconds a round). A refused note is a warning: the update landed.
    fn store_note(&mut self, commit: Oid) {
        let Some((_, text)) = self.note.take().filter(|(c, _)| *c == commit) else {
            return;
        };
        if let Err(why) = self.push_note(commit, &text) {
            report::warn(&format!(
                "the provenance note of {} was not stored ({why}); the commit was pushed without it: allow pushes to {}, or pass --no-provenance",
                short(&commit.to_string()),
                crate::provenance::NOTES_REF
            ));
        }
    }

    /// The note's compare-and-swap, again on the new notes tip while another writer's note
    /// moved it; `Err` says why it was not stored.
    fn push_note(&mut self, commit: Oid, text: &str) -> std::result::Result<(), String> {
        let cfg = self.cfg;
        let target = format!("{} of {}", crate::provenance::NOTES_REF, self.git.url());
        let mut why = String::new();
        for round in 1..=cfg.max_attempts {
            if round > 1 {
                std::thread::sleep(backoff(round.min(3)));
                self.git.fetch_notes().map_err(|e| e.to_string())?;
            }
            let notes = self
                .git
                .add_note(commit, text, &cfg.committer)
                .map_err(|e| e.to_string())?;
            why = match self.git.push_notes(notes) {
                Ok(Push::Accepted) => return Ok(()),
                Ok(Push::Stale(why)) => why,
                Ok(Push::Rejected(msg)) => return Err(format!("{target} refused it: {msg}")),
                // The answer was lost, not necessarily the push: the notes tip tells.
                Err(_) if self.git.fetch_notes().ok().flatten() == Some(notes) => return Ok(()),
                Err(e) => e.to_string(),
            };
        }
        Err(format!("{} attempts: {why}", cfg.max_attempts))
    }

    /// Lands `commit`, built on `tip`, and says what comes next.
    fn land(&mut self, tip: Oid, commit: Oid, changes: Vec<Change>) -> Result<Step> {
        let attempt = self.attempt;
        let retry = |why: &str| {
            report::progress(&format!(
                "attempt {attempt}: {why}; fetching the new tip to re-apply the edit"
            ));
        };
        match self.landing.land(&self.git, commit) {
            Ok(Landed {
                push: Push::Accepted,
                said,
            }) => {
                report::progress(&format!(
                    "pushed {} to {} (attempt {attempt})",
                    short(&commit.to_string()),
                    self.landing.target(&self.git.branch)
                ));
                self.store_note(commit);
                if self.landing.moves_branch() {
                    self.git.follow_in_checkout(commit)?;
                }
                let outcome = Outcome::Pushed {
                    commit,
                    previous: tip,
                };
                Ok(Step::Done(self.done(outcome, changes, said)))
            }
            Ok(Landed {
                push: Push::Rejected(msg),
                ..
            }) => {
                let hint = if self.landing.moves_branch() && msg.contains("protected branch") {
                    "; for a protected branch, --pull-request opens a pull request instead"
                } else {
                    ""
                };
                Err(Error::Rejected {
                    target: self.target(),
                    message: format!("{msg}{hint}"),
                })
            }
            Ok(Landed {
                push: Push::Stale(why),
                ..
            }) => {
                retry(&format!("another writer pushed first ({why})"));
                Ok(Step::Retry(None))
            }
            Err(e @ Error::Auth(_)) => Err(e),
            Err(e) => {
                // The answer was lost, not necessarily the push: the next fetch tells.
                self.pushed = Some(commit);
                self.unanswered(tip, e)
            }
        }
    }

    /// A push that failed without an answer: another attempt, from a new fetch. The same
    /// failure from the same tip twice is no lost answer but a refusal that will not
    /// change: said now, not after a minute of retries.
    fn unanswered(&mut self, tip: Oid, e: Error) -> Result<Step> {
        let again = (tip, e.to_string());
        if self.failed.as_ref() == Some(&again) {
            return Err(e);
        }
        self.failed = Some(again);
        report::progress(&format!(
            "attempt {}: {e}; fetching the new tip to re-apply the edit",
            self.attempt
        ));
        Ok(Step::Retry(Some(e)))
    }
}

/// The note of `commit`, built on `tip`: its statement in a DSSE envelope, signed with the
/// commit's key when there is one.
fn provenance_note(
    cfg: &RunConfig,
    git: &Git,
    tip: Oid,
    commit: Oid,
    changes: &[Change],
) -> Result<String> {
    use crate::provenance::{dsse::Envelope, Asked, Made, Written};
    let files: Vec<Written> = changes
        .iter()
        .map(|c| Written {
            path: c.path.as_str(),
            before: c.before.as_bytes(),
            after: c.after.as_bytes(),
        })
        .collect();
    let url = git.url();
    let made = Made {
        repository: &url,
        branch: &git.branch,
        parent: tip,
        commit,
    };
    let asked = Asked {
        component: &cfg.component,
        version: cfg.version.as_str(),
        digest: cfg.digest.as_deref(),
        source_repo: cfg.source_repo.as_deref(),
        source_commit: cfg.source_commit.as_deref(),
        dispatch_id: cfg.dispatch_id.as_deref(),
        run: cfg.run_origin.as_ref(),
        edits: cfg
            .edits
            .iter()
            .map(|(p, e)| (p.as_str(), e.as_str()))
            .collect(),
        signer: cfg.signer.as_ref(),
    };
    let statement = crate::provenance::statement(&asked, &made, &files);
    Envelope::seal(&statement, cfg.signer.as_ref())?.to_note()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt).as_millis() as u64;
            let cap = (100u64 << attempt.min(6)).min(5_000);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d} ms");
        }
    }
}
