//! gitops-update: byte-preserving version bumps for GitOps repositories.
//!
//! Data flows one way: inputs (`cli`, `config`) → plan → edit (`jq`, `yaml`) → report.
//! Only `report` writes to stdout.

pub mod cli;
pub mod config;
pub mod edit;
pub mod error;
pub mod eval;
pub mod git;
pub mod jq;
pub mod report;
pub mod run;
mod stream;
pub mod template;
pub mod write;
pub mod yaml;

pub use error::{Error, Result};

use std::ffi::OsString;

use clap::Parser;

/// Parses the command line and runs the command; the `Ok` value is the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> Result<u8> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    // Bare `gitops-update` is `gitops-update run`, its inputs from the environment.
    if args.len() == 1 {
        args.push("run".into());
    }
    let cli = cli::Cli::parse_from(args);
    match cli.command {
        cli::Command::Eval(args) => {
            let cfg = config::EvalConfig::resolve(args, config::env_snapshot())?;
            eval::run(cfg)
        }
        cli::Command::Run(args) => {
            let cfg = config::RunConfig::resolve(*args, config::env_snapshot())?;
            run_command(&cfg)
        }
        cli::Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cli::Cli::command(), "gitops-update", &mut out);
            report::stdout(&String::from_utf8_lossy(&out)).map_err(|source| Error::Write {
                path: "<stdout>".into(),
                source,
            })?;
            Ok(0)
        }
    }
}

fn run_command(cfg: &config::RunConfig) -> Result<u8> {
    let repo = cfg
        .target
        .slug
        .clone()
        .unwrap_or_else(|| cfg.target.url.clone());
    let result = run::run(cfg);
    let write_err = |source| Error::Write {
        path: "<stdout>".into(),
        source,
    };
    let (outcome, commit, previous, changed) = match &result {
        Ok(done) => match &done.outcome {
            run::Outcome::Pushed { commit, previous } => {
                ("pushed", commit.to_string(), previous.to_string(), true)
            }
            run::Outcome::UpToDate { tip } => {
                ("up_to_date", tip.to_string(), tip.to_string(), false)
            }
            run::Outcome::DryRun { tip } => ("dry_run", tip.to_string(), tip.to_string(), false),
        },
        Err(_) => ("failed", String::new(), String::new(), false),
    };
    let branch = result.as_ref().map_or(String::new(), |d| d.branch.clone());
    let report = report::RunReport {
        status: if result.is_ok() { "success" } else { "failure" },
        changed,
        commit,
        previous,
        version: cfg.version.as_str(),
        component: &cfg.component,
        repo: &repo,
        branch: &branch,
        files: cfg.edits.iter().map(|(p, _)| p.to_string()).collect(),
        attempts: result.as_ref().map_or(0, |d| d.attempts),
        outcome,
    };
    // Outputs are written on failure too, so the pipeline's report still gets its line.
    if !cfg.dry_run {
        report
            .write_outputs(&cfg.output_files)
            .map_err(|source| Error::Write {
                path: cfg.output_files.first().cloned().unwrap_or_default(),
                source,
            })?;
        if let Some(f) = &cfg.step_summary {
            report
                .write_step_summary(f)
                .map_err(|source| Error::Write {
                    path: f.clone(),
                    source,
                })?;
        }
    }
    let done = result?;
    if cfg.json {
        report::stdout(&report.json()).map_err(write_err)?;
    } else if let run::Outcome::DryRun { .. } = done.outcome {
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
