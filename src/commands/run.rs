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
        .unwrap_or_else(|| cfg.target.url.clone());
    crate::budget::set_limits(cfg.limits);
    if !cfg.dry_run {
        // A budget crossed ends the process mid-evaluation: the pipeline still gets its
        // failure line, as on any other failure.
        let (files, version, component, repo) = (
            cfg.output_files.clone(),
            cfg.version.as_str().to_string(),
            cfg.component.clone(),
            repo.clone(),
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
    let forge = cfg.forge()?;
    let api = forge.as_deref().and_then(|forge| {
        let repo = cfg.target.slug.as_deref()?;
        Some(land::Api { forge, repo })
    });
    if let (Some(signer), false) = (&cfg.signer, cfg.dry_run) {
        land::announce_signing(cfg, signer, forge.as_deref());
    }
    let landing = land::for_run(cfg, api);
    let (result, attempts, branch) = match update::run(cfg, landing.as_ref()) {
        Ok(done) => {
            let (attempts, branch) = (done.attempts, done.branch.clone());
            (Ok(done), attempts, branch)
        }
        Err(failed) => (Err(failed.error), failed.attempts, failed.branch),
    };
    // A pushed branch becomes a pull request; when that fails, the run fails.
    let (result, pull) = match result {
        Ok(done) if matches!(done.outcome, Outcome::Pushed { .. }) => {
            match landing.follow_up(&done) {
                Ok(pull) => (Ok(done), pull),
                Err(e) => (Err(e), None),
            }
        }
        other => (other, None),
    };
    let write_err = |source| Error::Write {
        path: "<stdout>".into(),
        source,
    };
    let report = report::RunReport {
        outcome: result.as_ref().ok().map(|d| &d.outcome),
        version: cfg.version.as_str(),
        component: &cfg.component,
        repo: &repo,
        branch: &branch,
        files: cfg.edits.iter().map(|(p, _)| p.to_string()).collect(),
        attempts,
        pull: pull.as_ref(),
        failure: result.as_ref().err().map(|e| report::Failure {
            message: e.to_string(),
            exit_code: e.exit_code(),
        }),
    };
    // Outputs are written on failure too, so the pipeline's report still gets its line.
    if !cfg.dry_run {
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
    }
    let done = match &result {
        Ok(done) => done,
        Err(_) => {
            // A pipeline that reads stdout as JSON gets its object on failure too.
            if cfg.json {
                report::stdout(&report.json()).map_err(write_err)?;
            }
            return result.map(|_| error::exit::OK);
        }
    };
    let status = match &done.outcome {
        Outcome::Pushed { commit, .. } => Some(commit.to_string()),
        Outcome::UpToDate { tip } => Some(tip.to_string()),
        Outcome::DryRun { .. } => None,
    };
    // A dry run writes nothing, a commit status included, even when nothing would change.
    if let (Some(sha), false) = (status, cfg.dry_run) {
        commit_status(cfg, forge.as_deref(), &sha)?;
    }
    if cfg.json {
        report::stdout(&report.json()).map_err(write_err)?;
    } else if let Outcome::DryRun { .. } = done.outcome {
        let color = report::color_stdout();
        let diffs: String = done
            .changes
            .iter()
            .map(|c| report::unified_diff(c.path.as_str(), &c.before, &c.after, color))
            .collect();
        report::stdout(&diffs).map_err(write_err)?;
    } else {
        report::stdout(&report.text()).map_err(write_err)?;
    }
    Ok(error::exit::OK)
}

/// Marks the GitOps commit that carries the version with a commit status, so the GitOps
/// repo's history shows which source commit each update came from. Failures are warnings
/// unless `--require-status`; a missing server or token skips it with one line.
fn commit_status(cfg: &RunConfig, forge: Option<&dyn Forge>, sha: &str) -> Result<()> {
    let skip = |why: &str| {
        report::progress(&format!("commit status skipped: {why}"));
        Ok(())
    };
    let Some(api) = cfg.api_url.as_ref() else {
        return skip("no GITEA_API_URL");
    };
    let Some(forge) = forge else {
        return skip("no GITEA_TOKEN");
    };
    let Some(repo) = cfg.target.slug.as_deref() else {
        return skip("the GitOps repository is not an owner/name on a server");
    };
    let record = cfg.record(&cfg.edits.iter().map(|(p, _)| p).collect::<Vec<_>>());
    let context = record.status_context(cfg.tag_prefix.as_deref());
    let target_url = match (&record.source_repo, &record.source_commit) {
        (Some(r), Some(c)) => Some(format!("{}/{r}/commit/{c}", api.base())),
        _ => None,
    };
    let description = record.status_description();
    let status = forge::Status {
        state: "success",
        context,
        target_url,
        description,
    };
    let outcome = forge.set_status(repo, sha, &status);
    match outcome {
        Ok(()) => {
            report::progress(&format!(
                "commit status {} set on {}",
                status.context,
                model::short(sha)
            ));
            Ok(())
        }
        Err(e) if cfg.require_status => Err(Error::Status(e.to_string())),
        Err(e) => {
            report::note(&format!(
                "the commit status could not be set ({e}); the update itself is done"
            ));
            Ok(())
        }
    }
}
