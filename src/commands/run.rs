//! `gitops-update run`: the update (`update::run`), then its report: step outputs, the step
//! summary, the commit status on the GitOps commit, and stdout.

use crate::config::RunConfig;
use crate::error::{self, Error, Result};
use crate::forge::{self, Forge};
use crate::model::Outcome;
use crate::{land, model, report, update};

pub fn execute(cfg: &RunConfig) -> Result<u8> {
    let repo = cfg
        .target
        .slug
        .clone()
        .unwrap_or_else(|| cfg.target.remote.to_string());
    crate::budget::set_limits(cfg.limits);
    if !cfg.dry_run {
        report_budget_exceeded(cfg, &repo);
    }
    // A dry run sends nothing to the server: no client is built for it.
    let forge = if cfg.dry_run { None } else { cfg.forge()? };
    let landed = land_update(cfg, forge.as_deref());
    let report = report::RunReport {
        outcome: landed.result.as_ref().ok().map(|d| &d.outcome),
        version: cfg.version.as_str(),
        component: &cfg.component,
        repo: &repo,
        branch: &landed.branch,
        files: cfg.edits.iter().map(|(p, _)| p.to_string()).collect(),
        attempts: landed.attempts,
        pull: landed.pull.as_ref(),
        failure: landed.result.as_ref().err().map(|e| report::Failure {
            message: e.to_string(),
            exit_code: e.exit_code(),
        }),
    };
    // Outputs are written on failure too, so the pipeline's report still gets its line.
    if !cfg.dry_run {
        write_ci(cfg, &report)?;
    }
    let done = match &landed.result {
        Ok(done) => done,
        Err(_) => {
            // A pipeline that reads stdout as JSON gets its object on failure too.
            if cfg.json {
                report::print(&report.json())?;
            }
            return landed.result.map(|_| error::exit::OK);
        }
    };
    // A dry run writes nothing, a commit status included, even when nothing would change.
    if !cfg.dry_run {
        record_outcome(cfg, forge.as_deref(), &done.outcome)?;
    }
    if cfg.json {
        report::print(&report.json())?;
    } else if let Outcome::DryRun { .. } = done.outcome {
        let color = report::color_stdout();
        let diffs: String = done
            .changes
            .iter()
            .map(|c| report::unified_diff(c.path.as_str(), &c.before, &c.after, color))
            .collect();
        report::print(&diffs)?;
    } else {
        report::print(&report.text())?;
    }
    Ok(match done.outcome {
        Outcome::Superseded { .. } => error::exit::SUPERSEDED,
        _ => error::exit::OK,
    })
}

/// A budget crossed ends the process mid-evaluation: the pipeline still gets its failure
/// line, as on any other failure.
fn report_budget_exceeded(cfg: &RunConfig, repo: &str) {
    let (files, version, component, repo) = (
        cfg.output_files.clone(),
        cfg.version.as_str().to_string(),
        cfg.component.clone(),
        repo.to_string(),
    );
    let edited: Vec<String> = cfg.edits.iter().map(|(p, _)| p.to_string()).collect();
    let json = cfg.json;
    crate::budget::on_exceeded(move |line| {
        let report = report::RunReport {
            outcome: None,
            version: &version,
            component: &component,
            repo: &repo,
            branch: "",
            files: edited.clone(),
            attempts: 1,
            pull: None,
            failure: Some(report::Failure {
                message: line.trim_start_matches("error: ").to_string(),
                exit_code: error::exit::INPUT,
            }),
        };
        let _ = report.write_outputs(&files);
        if json {
            let _ = report::stdout(&report.json());
        }
    });
}

/// How far the update got: its result, with the pull request a landing opened.
struct Landed {
    result: Result<update::Done>,
    attempts: u32,
    branch: String,
    pull: Option<model::Pulled>,
}

/// The update, landed the way the inputs ask, and the landing's follow-up: a pushed
/// branch becomes a pull request; when that fails, the run fails.
fn land_update(cfg: &RunConfig, forge: Option<&dyn Forge>) -> Landed {
    let api = forge.and_then(|forge| {
        let repo = cfg.target.slug.as_deref()?;
        Some(land::Api { forge, repo })
    });
    if let (Some(signer), false) = (&cfg.signer, cfg.dry_run) {
        land::announce_signing(cfg, signer, forge);
    }
    let landing = land::for_run(cfg, api);
    let (result, attempts, branch) = match update::run(cfg, landing.as_ref()) {
        Ok(done) => {
            let (attempts, branch) = (done.attempts, done.branch.clone());
            (Ok(done), attempts, branch)
        }
        Err(failed) => (Err(failed.error), failed.attempts, failed.branch),
    };
    let (result, pull) = match result {
        Ok(done) if matches!(done.outcome, Outcome::Pushed { .. }) => {
            match landing.follow_up(&done) {
                Ok(pull) => (Ok(done), pull),
                Err(e) => (Err(e), None),
            }
        }
        other => (other, None),
    };
    Landed {
        result,
        attempts,
        branch,
        pull,
    }
}

/// The step outputs and the step summary.
fn write_ci(cfg: &RunConfig, report: &report::RunReport) -> Result<()> {
    report
        .write_outputs(&cfg.output_files)
        .map_err(|(path, source)| Error::Write { path, source })?;
    if let Some(f) = &cfg.step_summary {
        report
            .write_step_summary(f)
            .map_err(|source| Error::Write {
                path: f.clone(),
                source,
            })?;
    }
    Ok(())
}

/// Sets the run's record (`status_of`) on the commit the outcome names, if any.
fn record_outcome(cfg: &RunConfig, forge: Option<&dyn Forge>, outcome: &Outcome) -> Result<()> {
    let (sha, superseded_by) = match outcome {
        Outcome::Pushed { commit, .. } => (commit.to_string(), None),
        Outcome::UpToDate { tip } => (tip.to_string(), None),
        // The tip's `gitops/` status is the newer run's: this run records itself beside it,
        // so that its dispatch learns at once that it ended superseded.
        Outcome::Superseded { tip, newer } => (tip.to_string(), Some(newer.recorded.as_str())),
        Outcome::DryRun { .. } => return Ok(()),
    };
    // A superseded run's record is the only sign its dispatch gets: without it, a run that
    // ended well would look to it like one that found its version already there. So a
    // dispatched run that cannot set it fails (exit 6) rather than mislead.
    let required = cfg.require_status || (superseded_by.is_some() && cfg.dispatch_id.is_some());
    let status = status_of(cfg, superseded_by);
    commit_status(cfg, forge, &sha, &status, required)
}

/// The run's record on the GitOps commit: the commit that carries the version, so the
/// GitOps repo's history shows which source commit each update came from; or, when a newer
/// version (`superseded_by`) was already there, the tip it found, under a context of its own.
fn status_of(cfg: &RunConfig, superseded_by: Option<&str>) -> forge::Status {
    let record = cfg.record(&cfg.edits.iter().map(|(p, _)| p).collect::<Vec<_>>());
    let prefix = cfg.tag_prefix.as_deref();
    let target_url = match (&cfg.api_url, &record.source_repo, &record.source_commit) {
        (Some(api), Some(r), Some(c)) => Some(format!("{}/{r}/commit/{c}", api.base())),
        _ => None,
    };
    let (context, description) = match superseded_by {
        None => (record.status_context(prefix), record.status_description()),
        Some(newer) => (
            record.superseded_context(prefix),
            record.superseded_description(newer),
        ),
    };
    forge::Status {
        state: "success",
        context,
        target_url,
        description,
    }
}

/// Sets the run's record (`status_of`) on `sha`. Failures are warnings unless `required`;
/// a missing server or token skips it with one line.
fn commit_status(
    cfg: &RunConfig,
    forge: Option<&dyn Forge>,
    sha: &str,
    status: &forge::Status,
    required: bool,
) -> Result<()> {
    let skip = |why: &str| {
        report::progress(&format!("commit status skipped: {why}"));
        Ok(())
    };
    if cfg.api_url.is_none() {
        return skip("no GITEA_API_URL");
    }
    let Some(forge) = forge else {
        return skip("no GITEA_TOKEN");
    };
    let Some(repo) = cfg.target.slug.as_deref() else {
        return skip("the GitOps repository is not an owner/name on a server");
    };
    let outcome = forge.set_status(repo, sha, status);
    match outcome {
        Ok(()) => {
            report::progress(&format!(
                "commit status {} set on {}",
                status.context,
                model::short(sha)
            ));
            Ok(())
        }
        Err(e) if required => Err(Error::Status(e.to_string())),
        Err(e) => {
            report::note(&format!(
                "the commit status could not be set ({e}); the update itself is done"
            ));
            Ok(())
        }
    }
}
