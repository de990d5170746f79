//! Our run as the server shows it (the tasks runners picked up, or the run Forgejo
//! returned), and the dispatch that starts it. What a server tells about runs, and how, is
//! decided here from `Server`'s capabilities; `watch` only reads the `Look`.

use super::{api, Links};
use crate::config::DispatchConfig;
use crate::error::Result;
use crate::forge::{Forge, Server, Task};
use crate::report;

/// What the server shows of our run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// No task of ours: not picked up yet, or cancelled before a runner took it, or a
    /// server that does not title runs.
    Nothing,
    Active,
    Succeeded,
    /// Failed, with the run's page (empty when the server gave none).
    Failed(String),
    Cancelled,
}

/// One look at the run: how ours is doing, whether any run of the workflow is active, and
/// whether a later dispatch's run has been picked up (on servers that cancel on dispatch,
/// that proves ours is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    pub ours: Seen,
    pub idle: bool,
    pub overtaken: bool,
    /// The server lists the workflow's runs to us, so `idle` is known, not assumed.
    pub shows_runs: bool,
}

/// The workflow's runs as the server shows them, and the dispatch that starts one.
pub struct Runs<'a> {
    forge: &'a dyn Forge,
    cfg: &'a DispatchConfig,
    server: Server,
    branch: &'a str,
    /// The Forgejo run id, when the dispatch returned one.
    run: Option<u64>,
    /// The newest task id before the latest dispatch.
    baseline: u64,
    tasks_visible: bool,
}

impl<'a> Runs<'a> {
    pub fn new(
        forge: &'a dyn Forge,
        cfg: &'a DispatchConfig,
        server: Server,
        branch: &'a str,
    ) -> Runs<'a> {
        Runs {
            forge,
            cfg,
            server,
            branch,
            run: None,
            baseline: 0,
            tasks_visible: true,
        }
    }

    pub fn run(&self) -> Option<u64> {
        self.run
    }

    /// No run of the workflow is active, as far as the server shows (a run not yet taken by
    /// a runner has no task, so it is not seen).
    pub fn idle(&mut self) -> bool {
        !self.tasks().iter().any(Task::is_active)
    }

    /// Sends the dispatch, having noted where the task list stands.
    pub fn dispatch(&mut self) -> Result<()> {
        self.baseline = self.tasks().iter().map(|t| t.id).max().unwrap_or(0);
        let cfg = self.cfg;
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
        let run_id = self.server.capabilities().run_id;
        self.run = self
            .forge
            .dispatch(&cfg.repo, &cfg.workflow, self.branch, &inputs, run_id)
            .map_err(|e| {
                api(
                    &format!("cannot dispatch {} in {}", cfg.workflow, cfg.repo),
                    e,
                )
            })?;
        Ok(())
    }

    fn tasks(&mut self) -> Vec<Task> {
        if !self.tasks_visible {
            return Vec::new();
        }
        match self.forge.tasks(&self.cfg.repo) {
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

    /// How our run is doing; learns its page on the way.
    pub fn look(&mut self, links: &mut Links) -> Result<Look> {
        let tasks = self.tasks();
        let idle = !tasks.iter().any(Task::is_active);
        let shows_runs = self.tasks_visible;
        if let Some(run) = self.run {
            let ours = self.run_status(run, links)?;
            return Ok(Look {
                ours,
                idle,
                overtaken: false,
                shows_runs,
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
        Ok(Look {
            ours: seen(&ours),
            idle,
            overtaken: self.server.cancels_on_dispatch() && overtaken(titled, &others),
            shows_runs,
        })
    }

    /// The server's word on the run the dispatch named (Gitea 1.26+, Forgejo): known at once
    /// when it fails or is cancelled; a run merely queued is waited for, never dispatched
    /// again.
    fn run_status(&self, run: u64, links: &mut Links) -> Result<Seen> {
        let (status, url) = self
            .forge
            .run_status(&self.cfg.repo, run)
            .map_err(|e| api(&format!("cannot read run {run} of {}", self.cfg.repo), e))?;
        if let Some(u) = url {
            links.run = Some(u);
        }
        Ok(match status.as_str() {
            "success" => Seen::Succeeded,
            // A run that completed with no conclusion did not succeed either.
            "failure" | "skipped" | "completed" => {
                Seen::Failed(links.run.clone().unwrap_or_default())
            }
            "cancelled" => Seen::Cancelled,
            _ => Seen::Active,
        })
    }
}

/// Whether, on a server where every dispatch cancels the runs before it (at most one run of
/// a workflow and ref is alive), the tasks picked up since our dispatch prove ours gone. Such
/// a task was not cancelled by our dispatch, so it is ours or a later one's. Where runs are
/// titled, one that is not ours and was not cancelled proves it at once. Where they are not
/// (1.24), one that ended without being cancelled does: had it been ours, the proof that the
/// search reads after this look would have been found.
fn overtaken(titled: bool, picked_up: &[&Task]) -> bool {
    picked_up
        .iter()
        .any(|t| t.status != "cancelled" && (titled || !t.is_active()))
}

/// How our run is doing, from its tasks.
fn seen(ours: &[&Task]) -> Seen {
    if ours.is_empty() {
        Seen::Nothing
    } else if ours.iter().any(|t| t.is_active()) {
        Seen::Active
    } else if let Some(t) = ours.iter().find(|t| t.status == "failure") {
        Seen::Failed(t.url.clone())
    } else if ours.iter().any(|t| t.status == "success") {
        Seen::Succeeded
    } else {
        Seen::Cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_tell_how_our_run_is_doing() {
        let task = |status: &str| Task {
            id: 1,
            display_title: "d-1".into(),
            status: status.into(),
            workflow_id: "gitops-service.yaml".into(),
            url: format!("http://g/runs/{status}"),
        };
        let (running, failed, ok, cancelled) = (
            task("running"),
            task("failure"),
            task("success"),
            task("cancelled"),
        );
        assert_eq!(seen(&[]), Seen::Nothing);
        assert_eq!(seen(&[&failed, &running]), Seen::Active);
        assert_eq!(
            seen(&[&ok, &failed]),
            Seen::Failed("http://g/runs/failure".into())
        );
        assert_eq!(seen(&[&cancelled, &ok]), Seen::Succeeded);
        assert_eq!(seen(&[&cancelled]), Seen::Cancelled);
    }

    #[test]
    fn a_task_since_our_dispatch_proves_ours_cancelled_only_when_it_can() {
        let task = |status: &str| Task {
            id: 2,
            display_title: "update values".into(),
            status: status.into(),
            workflow_id: "gitops-service.yaml".into(),
            url: String::new(),
        };
        let (running, ok, failed, cancelled) = (
            task("running"),
            task("success"),
            task("failure"),
            task("cancelled"),
        );
        // Titled (1.25): another dispatch's run, alive, is news at once.
        assert!(overtaken(true, &[&running]));
        assert!(!overtaken(true, &[&cancelled]));
        // Untitled (1.24): a running one may be ours; one that ended without our proof is not.
        assert!(!overtaken(false, &[&running]));
        assert!(overtaken(false, &[&ok]));
        assert!(overtaken(false, &[&failed]));
        // Cancelled: maybe the run our own dispatch cancelled as it was picked up.
        assert!(!overtaken(false, &[&cancelled]));
        assert!(!overtaken(false, &[]));
    }
}
