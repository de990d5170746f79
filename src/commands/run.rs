//! `gitops-update run`: the update (`update::run`), then its report: step outputs, the step
//! summary, the commit status on the GitOps commit, and stdout.

use crate::config::RunConfig;
use crate::error::{self, Error, Result};
use crate::git::DirectPush;
use crate::update::{self, Outcome};
use crate::{gitea, model, report};

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
        crate::budget::on_exceeded(move |_| {
            let report = report::RunReport {
                outcome: None,
                version: &version,
                component: &component,
                repo: &repo,
                branch: "",
                files: edited.clone(),
                attempts: 0,
            };
            let _ = report.write_outputs(&files);
        });
    }
    if let (Some(signer), false) = (&cfg.signer, cfg.dry_run) {
        // What Gitea checks before it calls a signature verified
        // (models/asymkey/ssh_key_commit_verification.go): said once, before the first push.
        report::progress(&format!(
            "signing commits with {}; Gitea verifies them when that key is a verified SSH key of the account with the activated email {}",
            signer.describe(),
            cfg.committer.email
        ));
        if cfg.committer.email == model::BOT.1 {
            report::warn(&format!(
                "the commits carry the committer email {}, which no Gitea account has, so they will show as unverified: set GIT_COMMITTER_EMAIL to an email of the key's account",
                model::BOT.1
            ));
        }
    }
    let result = update::run(cfg, &DirectPush);
    let write_err = |source| Error::Write {
        path: "<stdout>".into(),
        source,
    };
    let branch = result.as_ref().map_or(String::new(), |d| d.branch.clone());
    let report = report::RunReport {
        outcome: result.as_ref().ok().map(|d| &d.outcome),
        version: cfg.version.as_str(),
        component: &cfg.component,
        repo: &repo,
        branch: &branch,
        files: cfg.edits.iter().map(|(p, _)| p.to_string()).collect(),
        attempts: result.as_ref().map_or(0, |d| d.attempts),
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
        Err(_) => return result.map(|_| error::exit::OK),
    };
    let status = match &done.outcome {
        Outcome::Pushed { commit, .. } => Some(commit.to_string()),
        Outcome::UpToDate { tip } => Some(tip.to_string()),
        Outcome::DryRun { .. } => None,
    };
    if let Some(sha) = status {
        commit_status(cfg, &sha)?;
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
fn commit_status(cfg: &RunConfig, sha: &str) -> Result<()> {
    let skip = |why: &str| {
        report::progress(&format!("commit status skipped: {why}"));
        Ok(())
    };
    let Some(api) = cfg.api_url.as_deref() else {
        return skip("no GITEA_API_URL");
    };
    let Some(token) = cfg.token.clone() else {
        return skip("no GITEA_TOKEN");
    };
    let Some(repo) = cfg.target.slug.as_deref() else {
        return skip("the GitOps repository is not an owner/name on a server");
    };
    let source = cfg.source_repo.as_deref();
    let prefix = cfg
        .tag_prefix
        .as_deref()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty());
    let context = match prefix {
        Some(p) => format!("gitops/{}/{p}", source.unwrap_or(&cfg.component)),
        None => format!("gitops/{}", source.unwrap_or(&cfg.component)),
    };
    let base = model::server_base(api);
    let target_url = match (source, cfg.source_commit.as_deref()) {
        (Some(r), Some(c)) => Some(format!("{base}/{r}/commit/{c}")),
        _ => None,
    };
    let mut description = match (source, cfg.source_commit.as_deref()) {
        (Some(r), Some(c)) => format!(
            "{} {} from {r}@{}",
            cfg.component,
            cfg.version,
            model::short(c)
        ),
        (Some(r), None) => format!("{} {} from {r}", cfg.component, cfg.version),
        _ => format!("{} {}", cfg.component, cfg.version),
    };
    // The record `dispatch` looks for when the version was already there and no commit
    // carries its trailer (dispatch::recorded).
    if let Some(id) = &cfg.dispatch_id {
        description.push_str(&format!(" (dispatch {id})"));
    }
    let status = gitea::Status {
        state: "success",
        context,
        target_url,
        description,
    };
    let outcome = gitea::Gitea::new(api, token, cfg.timeout)
        .map_err(gitea::ApiError::Unavailable)
        .and_then(|g| g.set_status(repo, sha, &status));
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
