//! How a commit lands, one file per way, each behind `update::Landing` and each owning its
//! push *and* what the server must do after it:
//! - `direct.rs`: push to the branch itself, never forced;
//! - `branch.rs`: push a branch of ours, then open or update its pull request;
//! - `agit.rs`: push for review to `refs/for/<branch>`; the server opens the pull request;
//! - `signing.rs`: what Gitea will check of the signatures, said before the first push.
//!
//! A new landing (the contents API, a merge queue) is one more file here and one arm in
//! `for_run`.

mod agit;
mod branch;
mod direct;
mod signing;

pub use signing::announce as announce_signing;

use std::time::{Duration, Instant};

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::forge::{self, Forge};
use crate::report;
use crate::update::{Done, Landing};

/// The server side of a landing: the forge and the GitOps repository on it, when the run
/// has an API URL, a token and an owner/name.
#[derive(Clone, Copy)]
pub struct Api<'a> {
    pub forge: &'a dyn Forge,
    pub repo: &'a str,
}

/// The landing the run's inputs ask for.
pub fn for_run<'a>(cfg: &'a RunConfig, api: Option<Api<'a>>) -> Box<dyn Landing + 'a> {
    match &cfg.pull_request {
        None => Box::new(direct::DirectPush),
        Some(mode) if mode.agit => Box::new(agit::AgitPush::new(cfg, api, mode)),
        Some(mode) => Box::new(branch::PullRequestBranch {
            cfg,
            api,
            mode,
            seen: std::cell::Cell::new(None),
        }),
    }
}

fn api_err(what: &str) -> impl Fn(forge::ApiError) -> Error + '_ {
    move |e| Error::Api(format!("{what}: {e}"))
}

/// `--auto-merge`: merged now (true), or scheduled for when the checks succeed (false). A
/// merge an earlier run scheduled still holds for the new head: Gitea answers 409 "already
/// scheduled" for it (routers/api/v1/repo/pull.go). A refusal that may clear leaves the pull
/// request pending, with a warning, rather than failing an update that is recorded: 405
/// "Please try again later" while Gitea checks mergeability (services/pull/check.go
/// `ErrNotMergeableState`, right after a push) is retried with back-off within `--timeout`;
/// a work-in-progress title or missing approvals (405) wait for people; 409 "head out of
/// date" means a later update's push, whose own run merges it. Any other refusal, a
/// conflict among them, fails the run.
fn auto_merge(api: Api, number: u64, style: &str, head: &str, within: Duration) -> Result<bool> {
    let start = Instant::now();
    let mut tries = 0;
    let merged = loop {
        let head = Some(head).filter(|h| !h.is_empty());
        let refused = match api.forge.merge_pull(api.repo, number, style, head) {
            Ok(forge::Merge::Merged) => break true,
            Ok(forge::Merge::Scheduled) => break false,
            Err(forge::ApiError::Refused { status, message }) => (status, message),
            Err(e) => return Err(merge_failed(number, e)),
        };
        match merge_refusal(&refused) {
            Refusal::Scheduled => break false,
            Refusal::Merged => break true,
            Refusal::Checking if start.elapsed() < within => {
                tries += 1;
                let pause = crate::model::backoff(
                    Duration::from_millis(500),
                    tries,
                    Duration::from_secs(5),
                );
                std::thread::sleep(pause.min(within.saturating_sub(start.elapsed())));
            }
            Refusal::Checking | Refusal::Pending => {
                report::warn(&format!(
                    "pull request #{number} is open, but its auto-merge was not scheduled: Gitea answered {}: {}; merge it, or schedule its auto-merge, once that clears",
                    refused.0,
                    crate::report::escape(&refused.1)
                ));
                return Ok(false);
            }
            Refusal::Fails => {
                let (status, message) = refused;
                return Err(merge_failed(
                    number,
                    forge::ApiError::Refused { status, message },
                ));
            }
        }
    };
    report::progress(&format!(
        "pull request #{number} {}",
        if merged {
            "merged"
        } else {
            "will merge when its checks succeed"
        }
    ));
    Ok(merged)
}

fn merge_failed(number: u64, e: forge::ApiError) -> Error {
    Error::Api(format!("cannot merge pull request #{number}: {e}"))
}

/// What a refused merge request means for an update that is already recorded.
enum Refusal {
    /// An earlier run's auto-merge holds for this head too.
    Scheduled,
    /// Someone merged it meanwhile.
    Merged,
    /// Gitea is still checking whether it can merge: ask again shortly.
    Checking,
    /// It waits for people (a draft, approvals) or for a later update's run.
    Pending,
    Fails,
}

/// The refusals of routers/api/v1/repo/pull.go `MergePullRequest`, by status and message.
fn merge_refusal((status, message): &(u16, String)) -> Refusal {
    let m = message.to_ascii_lowercase();
    match status {
        409 if m.contains("already scheduled") => Refusal::Scheduled,
        409 if m.contains("head out of date") => Refusal::Pending,
        405 if m.contains("try again later") => Refusal::Checking,
        405 if m.contains("already merged") => Refusal::Merged,
        // ErrIsWorkInProgress, and ErrNotReadyToMerge (approvals, protected files).
        405 if m.contains("work in progress") || m.contains("not ready") => Refusal::Pending,
        _ => Refusal::Fails,
    }
}

/// A pull request's title and description, from its head commit's message: the title is
/// the message's first line; the description says what is recorded, lists the trailers,
/// links the source commit, and, for the run's own commit, shows the diff.
fn describe(
    message: &str,
    head: &str,
    ours: Option<&Done>,
    cfg: &RunConfig,
    server: &str,
) -> (String, String) {
    let record = crate::record::Record::parse(message);
    let title = message.lines().next().unwrap_or_default().to_string();
    let files: Vec<String> = record.files.iter().map(|f| format!("`{f}`")).collect();
    let component = Some(record.component.as_str()).filter(|c| !c.is_empty());
    let mut body = format!(
        "gitops-update records {} {} in {}.\n\n",
        component.unwrap_or(&cfg.component),
        record.version,
        files.join(", ")
    );
    if let (Some(repo), Some(sha)) = (&record.source_repo, &record.source_commit) {
        body.push_str(&format!("Built from {server}/{repo}/commit/{sha}\n\n"));
    }
    if let Some(done) = ours {
        body.push_str(&format!("```diff\n{}```\n\n", diff_for_reading(done)));
    }
    body.push_str(&format!(
        "```\n{}```\n\nHead commit: {head}\n",
        record.trailers()
    ));
    (title, body)
}

/// The run's diff for a description, which is for reading: a huge one is cut, the branch
/// has all of it.
fn diff_for_reading(done: &Done) -> String {
    let mut diff: String = done
        .changes
        .iter()
        .map(|c| report::unified_diff(c.path.as_str(), &c.before, &c.after, false))
        .collect();
    if diff.len() > 20_000 {
        let mut end = 20_000;
        while !diff.is_char_boundary(end) {
            end -= 1;
        }
        diff.truncate(end);
        diff.push_str("\n... (cut; the branch has the whole change)\n");
    }
    diff
}

/// The message of the commit the run landed: what it records is the files it changed.
fn landed_message(cfg: &RunConfig, done: &Done) -> String {
    cfg.record(&done.changes.iter().map(|c| &c.path).collect::<Vec<_>>())
        .message()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_refusals_that_may_clear_are_not_failures() {
        let r = |status: u16, m: &str| merge_refusal(&(status, m.to_string()));
        assert!(matches!(
            r(405, "Please try again later"),
            Refusal::Checking
        ));
        assert!(matches!(
            r(405, "The PR is already merged"),
            Refusal::Merged
        ));
        assert!(matches!(
            r(405, "Work in progress PRs cannot be merged"),
            Refusal::Pending
        ));
        assert!(matches!(r(405, "not ready to merge"), Refusal::Pending));
        assert!(matches!(r(409, "head out of date"), Refusal::Pending));
        assert!(matches!(
            r(
                409,
                "pull request is already scheduled to auto merge when checks succeed [pull_id: 3]"
            ),
            Refusal::Scheduled
        ));
        assert!(matches!(
            r(405, "User not allowed to merge PR"),
            Refusal::Fails
        ));
        assert!(matches!(r(409, "merge conflict"), Refusal::Fails));
        assert!(matches!(
            r(403, "token does not have scope"),
            Refusal::Fails
        ));
    }
}
