//! The consumer's side of an update: dispatch the GitOps repo's workflow, prove that the
//! update landed, and say so on the consumer's own commit.
//!
//! Gitea gives no run id (its dispatch answers 204 on every release) and, on 1.24 and 1.25,
//! cancels the running and waiting runs of a workflow when the next dispatch arrives
//! (`../shared/gitea-facts.md`). So the outcome is proven from the GitOps repo itself
//! (`proof`):
//! - its own commit, found by the `Dispatch-Id:` trailer among the commits that the tip
//!   before the dispatch does not reach;
//! - or the updater's record that the version was already there: a commit status whose
//!   description names the dispatch (`run` writes it on the tip it found up to date);
//! - or the updater's record that a newer version was already there: a commit status of
//!   its own context naming the dispatch and that version (`run` writes it on the tip when
//!   it ends superseded, exit 8). The dispatch then ends superseded too: nothing landed,
//!   and nothing failed.
//! - or, before it dispatches, a newer build of a version its text cannot order
//!   (`builds`): the order of the source commits in the consumer's checkout.
//!
//! The run is watched where the server shows it (`runs`): tasks carry the run's title,
//! which the workflow's `run-name:` makes hold the dispatch id (1.25+), so a failed run ends
//! the wait at once and a cancelled one is dispatched again with the same id. Dispatching
//! again is safe because the update is idempotent: a run that finds the edit already made
//! records the dispatch and commits nothing. What to do after each look is `watch::Watch`'s
//! decision, made without a server; the loop around it only observes and acts.

mod builds;
mod proof;
mod runs;
mod watch;

use std::time::Instant;

use crate::config::DispatchConfig;
use crate::error::{Error, Result};
use crate::forge::{ApiError, Forge, Gitea, Server, Status};
use crate::model::{short, shown};
use crate::{record, report};

/// The update as it was proven: landed, waiting in a pull request, or superseded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub sha: String,
    /// The commit's page, under the server's public URL.
    pub link: String,
    /// Whether this dispatch made the commit (false: the version was already there).
    pub changed: bool,
    /// The pull request the GitOps run opened or updated for it (its receiver runs with
    /// `--pull-request`): recorded, not yet merged.
    pub pull: Option<Waiting>,
    /// Not landed, and no failure: the branch already holds this newer version, at `sha`
    /// (an older build finished last; writing it would go backwards).
    pub superseded_by: Option<String>,
}

/// A pull request that carries the update and waits for its merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub number: u64,
    pub url: String,
}

/// Where the failure status links to, learnt on the way.
#[derive(Debug, Default, Clone)]
pub struct Links {
    /// The GitOps repository's page.
    pub repo: Option<String>,
    /// Our run's page, once a task or the run showed it.
    pub run: Option<String>,
}

impl Links {
    /// A commit's page: the server's own link for it, or one under the repository's page.
    fn commit(&self, sha: &str, api_link: Option<&str>) -> String {
        api_link
            .map(str::to_string)
            .or_else(|| self.repo.as_ref().map(|r| format!("{r}/commit/{sha}")))
            .unwrap_or_default()
    }
}

fn api(what: &str, e: ApiError) -> Error {
    match e {
        // The wait's own deadline: nothing proved the landing in time (exit 7).
        ApiError::Deadline => Error::NotLanded(format!("{what}: {e}")),
        e => Error::Api(format!("{what}: {e}")),
    }
}

/// One dispatch, from the consumer's side. It alone sets the status on the consumer's commit:
/// pending while the update waits in a pull request for `--wait-merged`, then the outcome
/// (`finish`).
pub struct Dispatch<'a> {
    cfg: &'a DispatchConfig,
    /// The forge with the consumer's token; `None` without one.
    status_forge: Option<std::result::Result<Gitea, ApiError>>,
    links: Links,
}

impl<'a> Dispatch<'a> {
    pub fn new(cfg: &'a DispatchConfig) -> Dispatch<'a> {
        Dispatch {
            cfg,
            status_forge: cfg.status_forge(),
            links: Links::default(),
        }
    }

    /// Dispatches and waits until the update is proven: landed, or waiting in a pull request
    /// (with `--wait-merged`, until that is merged).
    pub fn land(&mut self, forge: &dyn Forge) -> Result<Landed> {
        let cfg = self.cfg;
        let server = server(forge)?;
        let repo = forge
            .repo(&cfg.repo)
            .map_err(|e| api(&format!("cannot read {}", cfg.repo), e))?;
        self.links.repo = Some(repo.html_url.clone()).filter(|u| !u.is_empty());
        let branch = cfg.branch.clone().unwrap_or(repo.default_branch);
        let links = self.links.clone();
        let link = |sha: &str| links.commit(sha, None);
        if let Some(newer) = builds::newer_recorded(forge, cfg, &branch, link) {
            return Ok(newer);
        }
        // Nothing that this tip reaches can be the answer.
        let mut search = proof::Search::new(forge, cfg, &branch)?;
        let mut runs = runs::Runs::new(forge, cfg, server, &branch);
        let html = self.links.repo.clone();
        let mut watch = if server.cancels_on_dispatch() && !runs.idle() {
            // Dispatching now would cancel that run, pushed or not, deploying or not.
            report::progress(&format!(
                "a run of {} in {} is active; dispatching once it has ended, since on {server} a dispatch cancels the runs before it",
                cfg.workflow, cfg.repo
            ));
            watch::Watch::gated(cfg, &branch, html, Instant::now())
        } else {
            runs.dispatch()?;
            report::progress(&format!(
                "dispatched {} in {} on {branch} ({server}; dispatch {}{})",
                cfg.workflow,
                cfg.repo,
                cfg.dispatch_id,
                runs.run().map(|r| format!(", run {r}")).unwrap_or_default()
            ));
            watch::Watch::new(cfg, &branch, html, Instant::now())
        };
        match watch::drive(&mut watch, &mut runs, &mut search, &mut self.links)? {
            watch::Ended::Proven(landed) => Ok(landed),
            watch::Ended::InPullRequest(landed) => {
                // The consumer's commit says pending meanwhile, linking the pull request.
                self.finish(&Ok(landed));
                proof::wait_merged(&mut watch, &mut runs, &mut search, &mut self.links)
            }
        }
    }

    /// Sets the status on the consumer's commit: success with a link to the GitOps commit,
    /// pending with a link to the pull request, or failure with a link to the run. Problems
    /// here are warnings: the outcome is decided.
    pub fn finish(&self, result: &Result<Landed>) {
        let set = match &self.status_forge {
            None => {
                report::progress("commit status skipped: no GITHUB_TOKEN or GITEA_TOKEN");
                return;
            }
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(forge)) => forge
                .set_status(
                    &self.cfg.source_repo,
                    &self.cfg.source_commit,
                    &consumer_status(self.cfg, result, &self.links),
                )
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = set {
            report::note(&format!(
                "the status on {}@{} could not be set ({e})",
                self.cfg.source_repo, self.cfg.source_commit
            ));
        }
    }
}

/// What the server is, from its version; a server without the dispatch API is refused.
fn server(forge: &dyn Forge) -> Result<Server> {
    let version = forge
        .version()
        .map_err(|e| api(&format!("cannot read the version of {}", forge.base()), e))?;
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
            forge.base()
        )));
    }
    Ok(server)
}

/// The status the consumer's commit gets for an outcome.
fn consumer_status(cfg: &DispatchConfig, result: &Result<Landed>, links: &Links) -> Status {
    let context = record::consumer_status_context(&cfg.source_repo, cfg.tag_prefix.as_deref());
    let (component, version, repo) = (&cfg.component, &cfg.version, &cfg.repo);
    match result {
        Ok(Landed {
            pull: Some(Waiting { url, .. }),
            sha,
            ..
        }) => Status {
            state: "pending",
            context,
            target_url: Some(url.clone()),
            description: format!(
                "{component} {version} waits in a pull request of {repo} (head {})",
                short(sha)
            ),
        },
        // Superseded is no failure: the consumer's commit is green, and says why nothing
        // was written.
        Ok(Landed {
            superseded_by: Some(newer),
            sha,
            link,
            ..
        }) => Status {
            state: "success",
            context,
            target_url: Some(link.clone()),
            description: format!(
                "{component} {version} superseded: {repo} already holds {newer} at {}",
                short(sha)
            ),
        },
        Ok(l) => Status {
            state: "success",
            context,
            target_url: Some(l.link.clone()),
            description: format!(
                "{component} {version} {} {repo} at {}",
                if l.changed {
                    "deployed to"
                } else {
                    "already in"
                },
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
    }
}
