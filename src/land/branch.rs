//! Push the commit to a branch of the tool's own, then open a pull request of it into the
//! branch, or update the open one. The commit is always built on the branch's current tip,
//! so the pull request's branch is replaced, never merged into: force is right there, and
//! only there.

use git2::Oid;

use super::{api_err, auto_merge, describe, landed_message, Api};
use crate::config::{PullRequestMode, RunConfig};
use crate::error::{Error, Result};
use crate::forge::Pull;
use crate::git::Git;
use crate::model::{Outcome, Pulled};
use crate::record::pull_request_branch;
use crate::report;
use crate::update::{Done, Landed, Landing};

pub struct PullRequestBranch<'a> {
    pub cfg: &'a RunConfig,
    pub api: Option<Api<'a>>,
    pub mode: &'a PullRequestMode,
    /// The branch's tip when this attempt looked (`pending`): the push replaces that tip
    /// only, so a newer update pushed meanwhile is seen on the next attempt, not lost.
    pub seen: std::cell::Cell<Option<Oid>>,
}

impl Landing for PullRequestBranch<'_> {
    fn land(&self, git: &Git, commit: Oid) -> Result<Landed> {
        let target = format!("refs/heads/{}", self.target(&git.branch));
        let (push, said) = git.push_ref(commit, &target, true, self.seen.get(), &[])?;
        Ok(Landed { push, said })
    }

    fn pending(&self, git: &Git) -> Result<Option<(String, Oid)>> {
        let branch = self.target(&git.branch);
        // Over stateless HTTP a fetch fails when the branch moves between the server's list
        // and the pack (another updater's push): look again, a few times.
        let mut tries = 0;
        let head = loop {
            tries += 1;
            match git.fetch_branch(&branch) {
                Ok(head) => break head,
                Err(_) if tries < 5 => std::thread::sleep(crate::model::backoff(
                    std::time::Duration::from_millis(50),
                    tries,
                    std::time::Duration::from_secs(1),
                )),
                Err(e) => return Err(e),
            }
        };
        // No branch yet: the push may only create it (a zero lease), so that an update whose
        // branch another updater created meanwhile is looked at again, not pushed over.
        self.seen.set(Some(head.unwrap_or(Oid::ZERO_SHA1)));
        Ok(head.map(|h| (branch, h)))
    }

    fn moves_branch(&self) -> bool {
        false
    }

    fn target(&self, branch: &str) -> String {
        pull_request_branch(branch, &self.cfg.component)
    }

    /// Opens the pull request of the pushed branch, or updates the open one (Gitea answers
    /// 409 for a second pull request of the same head and base): its branch was just rebuilt
    /// on the base's current tip, and its title and body are set to this version's. Then
    /// the auto-merge.
    fn follow_up(&self, done: &Done) -> Result<Option<Pulled>> {
        let Some(api) = self.api else {
            return Err(Error::Usage(
                "--pull-request needs GITEA_API_URL, GITEA_TOKEN and an owner/name".into(),
            ));
        };
        let Outcome::Pushed { commit, .. } = &done.outcome else {
            return Err(Error::Internal("no commit for the pull request".into()));
        };
        let (head, base) = (self.target(&done.branch), &done.branch);
        let ours = commit.to_string();
        let text = describe(
            &landed_message(self.cfg, done),
            &ours,
            Some(done),
            self.cfg,
            api.forge.base(),
        );
        let (pull, updated) = self.open(api, base, &head, &text)?;
        let pull = self.describe_head(api, pull, updated, &ours, &text)?;
        report::progress(&format!(
            "{} pull request #{} ({}) of {head} into {base}",
            if updated { "updated" } else { "opened" },
            pull.number,
            pull.html_url
        ));
        let merged = match self.mode.auto_merge {
            None => false,
            Some(style) => auto_merge(api, pull.number, style, &pull.head_sha, self.cfg.timeout)?,
        };
        Ok(Some(Pulled {
            number: Some(pull.number),
            url: pull.html_url,
            merged,
        }))
    }
}

impl PullRequestBranch<'_> {
    /// A new pull request described from this run's commit, or the open one (true).
    fn open(
        &self,
        api: Api,
        base: &str,
        head: &str,
        (title, body): &(String, String),
    ) -> Result<(Pull, bool)> {
        let created = api
            .forge
            .create_pull(api.repo, head, base, title, body)
            .map_err(api_err(&format!(
                "cannot open a pull request of {head} into {base}"
            )))?;
        if let Some(p) = created {
            return Ok((p, false));
        }
        let open = api
            .forge
            .open_pull(api.repo, head, base)
            .map_err(api_err("cannot list the open pull requests"))?;
        let p = open.ok_or_else(|| {
            Error::Api(format!(
                "Gitea says a pull request of {head} into {base} is open, and lists none"
            ))
        })?;
        Ok((p, true))
    }

    /// Concurrent updaters of one component push in one order and edit in another: the
    /// description is always made from the branch's head as Gitea reports it, and made
    /// again until the head did not move meanwhile, so the last edit describes the last
    /// push. A new pull request was described from this run's commit; an open one not yet.
    fn describe_head(
        &self,
        api: Api,
        mut pull: Pull,
        updated: bool,
        ours: &str,
        text: &(String, String),
    ) -> Result<Pull> {
        let mut described = if updated {
            String::new()
        } else {
            ours.to_string()
        };
        for _ in 0..10 {
            let head_sha = pull.head_sha.clone();
            if head_sha == described {
                break;
            }
            let (title, body) = if head_sha == ours || head_sha.is_empty() {
                text.clone()
            } else {
                let theirs = api
                    .forge
                    .commit_message(api.repo, &head_sha)
                    .map_err(api_err("cannot read the pull request's head commit"))?;
                describe(&theirs, &head_sha, None, self.cfg, api.forge.base())
            };
            pull = api
                .forge
                .edit_pull(api.repo, pull.number, &title, &body)
                .map_err(api_err(&format!(
                    "cannot update pull request #{}",
                    pull.number
                )))?;
            described = head_sha;
        }
        Ok(pull)
    }
}
