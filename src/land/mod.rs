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
        Some(mode) => Box::new(branch::PullRequestBranch { cfg, api, mode }),
    }
}

fn api_err(what: &str) -> impl Fn(forge::ApiError) -> Error + '_ {
    move |e| Error::Api(format!("{what}: {e}"))
}

/// `--auto-merge`: merged now (true), or scheduled for when the checks succeed. A merge an
/// earlier run scheduled still holds for the new head: Gitea answers 409 "already scheduled"
/// for it (routers/api/v1/repo/pull.go); any other 409, a conflict, fails the run.
fn auto_merge(api: Api, number: u64, style: &str) -> Result<bool> {
    let merged = match api.forge.merge_pull(api.repo, number, style) {
        Ok(forge::Merge::Merged) => true,
        Ok(forge::Merge::Scheduled) => false,
        Err(forge::ApiError::Refused {
            status: 409,
            message,
        }) if message.contains("already scheduled") => false,
        Err(e) => {
            return Err(Error::Api(format!(
                "cannot merge pull request #{number}: {e}"
            )))
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
