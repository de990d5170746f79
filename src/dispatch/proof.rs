//! Finding the landing in the GitOps repo: our own commit (its `Dispatch-Id:` trailer), the
//! updater's record (a commit status naming the dispatch), our commit in a pull request, and
//! then that pull request's merge.

use std::collections::HashSet;

use super::runs::Runs;
use super::watch::{self, Ended, Watch};
use super::{api, Landed, Links, Waiting};
use crate::config::DispatchConfig;
use crate::error::Result;
use crate::forge::{ApiError, Commit, Forge, PullState};
use crate::model::short;
use crate::{record, report};

/// Our own commit among the commits since the start.
pub(super) fn by_commit(cfg: &DispatchConfig, new: &[Commit], links: &Links) -> Option<Landed> {
    let c = new.iter().find(|c| cfg.asked().is_ours(&c.message))?;
    Some(Landed {
        link: links.commit(&c.sha, c.html_url.as_deref()),
        sha: c.sha.clone(),
        changed: true,
        pull: None,
        superseded_by: None,
    })
}

/// What the GitOps repo shows of one dispatch's update: the commits on the branch since the
/// tip before the dispatch, the statuses on them, and the pull requests into it.
pub(super) struct Search<'a> {
    forge: &'a dyn Forge,
    cfg: &'a DispatchConfig,
    branch: &'a str,
    /// The tip before the dispatch.
    start: String,
    /// AGit pull requests' heads already read and not ours.
    not_ours: HashSet<String>,
}

impl<'a> Search<'a> {
    /// Reads the branch's tip: nothing that it reaches can be the answer.
    pub(super) fn new(
        forge: &'a dyn Forge,
        cfg: &'a DispatchConfig,
        branch: &'a str,
    ) -> Result<Search<'a>> {
        let start = forge.tip(&cfg.repo, branch).map_err(|e| list_err(cfg, e))?;
        Ok(Search {
            forge,
            cfg,
            branch,
            start: start.sha,
            not_ours: HashSet::new(),
        })
    }

    /// The commits of the branch since the start, newest first.
    pub(super) fn commits(&self) -> Result<Vec<Commit>> {
        self.forge
            .commits_since(&self.cfg.repo, self.branch, &self.start)
            .map_err(|e| list_err(self.cfg, e))
    }

    /// Proof of the landing, if there is one yet: our commit, the run's record, or our
    /// commit in an open pull request.
    pub(super) fn find(&mut self, new: &[Commit], links: &Links) -> Result<Option<Landed>> {
        if let Some(l) = by_commit(self.cfg, new, links) {
            return Ok(Some(l));
        }
        if let Some(l) = self.by_record(new, links)? {
            return Ok(Some(l));
        }
        // A receiver that lands through a pull request leaves the commit on its branch
        // (`run --pull-request`), not on this one; the dispatch id tells ours apart.
        Ok(self.in_pull_request())
    }

    /// The record sits on the tip the updater found up to date, or holding a newer version
    /// (superseded): the tip before the dispatch or one that came after it. The ten newest
    /// are enough: the record is made within one poll of a run's end.
    fn by_record(&self, new: &[Commit], links: &Links) -> Result<Option<Landed>> {
        let candidates = new
            .iter()
            .take(10)
            .map(|c| (c.sha.as_str(), c.html_url.as_deref()))
            .chain(std::iter::once((self.start.as_str(), None)));
        let asked = self.cfg.asked();
        for (sha, html) in candidates {
            let statuses = self
                .forge
                .statuses(&self.cfg.repo, sha)
                .map_err(|e| api(&format!("cannot list the statuses of {}", short(sha)), e))?;
            // Newest first: a later run's record of the same dispatch is its last word.
            // `Some(None)`: the version was there; `Some(Some(v))`: the newer `v` was.
            let found = statuses.iter().find_map(|s| {
                if asked.recorded_by(&s.state, &s.context, &s.description) {
                    return Some(None);
                }
                let newer = asked.superseded_record(&s.state, &s.context, &s.description)?;
                Some(Some(newer.to_string()))
            });
            if let Some(superseded_by) = found {
                return Ok(Some(Landed {
                    link: links.commit(sha, html),
                    sha: sha.to_string(),
                    changed: false,
                    pull: None,
                    superseded_by,
                }));
            }
        }
        Ok(None)
    }

    /// Our commit in an open pull request of the GitOps run: on the branch of ours
    /// (`run --pull-request`), or at the head of an AGit pull request
    /// (`--pull-request=agit`), whose head is refs/pull/N/head (services/convert/pull.go).
    /// An AGit pull request keeps the title it was opened with when a push updates it
    /// (services/agit/agit.go), so its head commit is what tells; heads already read and
    /// not ours are in `not_ours`.
    fn in_pull_request(&mut self) -> Option<Landed> {
        let (forge, cfg, base) = (self.forge, self.cfg, self.branch);
        let head = record::pull_request_branch(base, &cfg.component);
        // No such branch is an answer too (Gitea: 404 or 500 for an unknown sha).
        if let Ok(commits) = forge.commits_since(&cfg.repo, &head, &self.start) {
            if let Some(c) = commits.iter().find(|c| cfg.asked().is_ours(&c.message)) {
                let pull = forge.open_pull(&cfg.repo, &head, base).ok().flatten()?;
                return Some(pending(&c.sha, pull.number, &pull.html_url));
            }
        }
        let pulls = forge.pulls_into(&cfg.repo, base, "open").ok()?;
        for p in pulls
            .iter()
            .filter(|p| p.head_ref.starts_with("refs/pull/"))
        {
            if p.pull.head_sha.is_empty() || self.not_ours.contains(&p.pull.head_sha) {
                continue;
            }
            let Ok(c) = self.head_commit(&p.pull.head_sha) else {
                continue;
            };
            if cfg.asked().is_ours(&c.message) {
                return Some(pending(&c.sha, p.pull.number, &p.pull.html_url));
            }
            self.not_ours.insert(c.sha);
        }
        None
    }

    /// A pull request's head commit with its message, for `is_ours`.
    fn head_commit(&self, sha: &str) -> std::result::Result<Commit, ApiError> {
        Ok(Commit {
            sha: sha.to_string(),
            message: self.forge.commit_message(&self.cfg.repo, sha)?,
            html_url: None,
        })
    }

    /// A pull request that carried our commit and was closed without merging: its address.
    pub(super) fn in_closed_pull_request(&self) -> Option<String> {
        let pulls = self
            .forge
            .pulls_into(&self.cfg.repo, self.branch, "closed")
            .ok()?;
        pulls
            .iter()
            .filter(|p| !p.merged && record::is_update_title(&p.title))
            .find_map(|p| {
                let c = self.head_commit(&p.pull.head_sha).ok()?;
                self.cfg
                    .asked()
                    .is_ours(&c.message)
                    .then(|| p.pull.html_url.clone())
            })
    }

    /// The branch's tip, as where the version already was.
    pub(super) fn at_tip(&self, links: &Links) -> Result<Landed> {
        let tip = self
            .forge
            .tip(&self.cfg.repo, self.branch)
            .map_err(|e| list_err(self.cfg, e))?;
        Ok(Landed {
            link: links.commit(&tip.sha, tip.html_url.as_deref()),
            sha: tip.sha,
            changed: false,
            pull: None,
            superseded_by: None,
        })
    }

    /// The pull request as it is now.
    pub(super) fn pull(&self, number: u64) -> Result<PullState> {
        self.forge
            .pull(&self.cfg.repo, number)
            .map_err(|e| api(&format!("cannot read pull request #{number}"), e))
    }

    /// The pull request's new head commit.
    pub(super) fn head(&self, sha: &str) -> Result<Commit> {
        self.head_commit(sha)
            .map_err(|e| api("cannot read the pull request's head commit", e))
    }
}

fn list_err(cfg: &DispatchConfig, e: ApiError) -> crate::Error {
    api(&format!("cannot list the commits of {}", cfg.repo), e)
}

/// Our commit, waiting in a pull request.
fn pending(sha: &str, number: u64, url: &str) -> Landed {
    Landed {
        sha: sha.to_string(),
        link: url.to_string(),
        changed: true,
        pull: Some(Waiting {
            number,
            url: url.to_string(),
        }),
        superseded_by: None,
    }
}

/// `--wait-merged`: polls the pull request `watch` waits on until it is merged, and answers
/// its merge commit. Closed unmerged, or its head replaced by another update (a newer
/// version of the component in the same pull request), it will never carry ours: not
/// landed.
pub(super) fn wait_merged(
    watch: &mut Watch,
    runs: &mut Runs,
    search: &mut Search,
    links: &mut Links,
) -> Result<Landed> {
    if let Some(w) = watch.awaited() {
        let cfg = search.cfg;
        report::progress(&format!(
            "{} {} waits in pull request #{} of {} ({}); waiting for its merge",
            cfg.component, cfg.version, w.number, cfg.repo, w.url
        ));
    }
    match watch::drive(watch, runs, search, links)? {
        Ended::Proven(landed) | Ended::InPullRequest(landed) => Ok(landed),
    }
}
