//! One file per command: each turns its validated configuration into work and reports it.
//! `main_with_args` is the whole program: parse, resolve, execute.

mod completions;
pub mod dispatch;
pub mod eval;
mod run;
mod verify;
mod workflow;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{self, DispatchConfig, EvalConfig, RunConfig, VerifyConfig, WorkflowConfig};
use crate::error::Result;

/// Without a subcommand, the flags are `run`'s: bare `gitops-update` in a workflow step,
/// `gitops-update --dry-run --file F --expression E --version V` in a checkout. Only
/// `--version`, `-V`, `--help` or `-h` alone are the tool's own flags.
fn implicit_run(args: &[OsString]) -> bool {
    let is_subcommand = |name: &str| {
        name == "help"
            || <Cli as clap::CommandFactory>::command()
                .get_subcommands()
                .any(|c| c.get_name() == name)
    };
    match args.get(1).and_then(|a| a.to_str()) {
        None => args.len() <= 1,
        Some(first) if is_subcommand(first) => false,
        Some("--version" | "-V" | "--help" | "-h") if args.len() == 2 => false,
        Some(_) => true,
    }
}

/// A run refused before it began is reported as any failed run: step outputs (a five-field
/// `summary=` from the inputs as given), the step summary, and the JSON object.
fn refused(
    env: &config::Env,
    (version, component, repo): &(String, String, String),
    e: &crate::Error,
    json: bool,
) {
    let report = crate::report::RunReport {
        outcome: None,
        version,
        component,
        repo,
        branch: "",
        files: Vec::new(),
        attempts: 0,
        pull: None,
        failure: Some(crate::report::Failure {
            message: e.to_string(),
            exit_code: e.exit_code(),
        }),
    };
    // Best effort: the error itself is what the step shows.
    let _ = report.write_outputs(&config::output_files(env));
    if let Some(f) = config::step_summary(env) {
        let _ = report.write_step_summary(&f);
    }
    if json {
        let _ = crate::report::stdout(&report.json());
    }
}

/// The inputs as given, for the report of a run refused before it began: redacted and with
/// control characters escaped, since they were not validated (that is why it was refused).
fn as_given(
    version: Option<&str>,
    component: Option<&str>,
    repo: Option<&str>,
) -> (String, String, String) {
    let shown = |v: Option<&str>| crate::report::escape(v.unwrap_or_default());
    (
        shown(version),
        shown(component),
        shown(Some(&crate::model::redact_url(repo.unwrap_or_default()))),
    )
}

/// `--output json` (or `--output=json`) among the words: a parse error is then one JSON
/// object on stdout too.
fn wants_json(args: &[OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json")
}

/// Parses the command line and runs the command; the `Ok` value is the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> Result<u8> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if implicit_run(&args) {
        args.insert(1.min(args.len()), "run".into());
    }
    let env = config::env_snapshot();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // A run's words that do not parse are a failed run to its pipeline too.
            if e.use_stderr() && args.get(1).is_some_and(|a| a == "run") {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                let why = crate::Error::Usage(first.trim_start_matches("error: ").to_string());
                // The flags did not parse: what the environment gives is all there is.
                let given = as_given(
                    env.get("VERSION").map(String::as_str),
                    None,
                    env.get("GITOPS_REPO").map(String::as_str),
                );
                refused(&env, &given, &why, wants_json(&args));
            }
            if args.get(1).is_some_and(|a| a == "eval") {
                if let Some(flag) = eval::yq_flag(&e) {
                    return Err(crate::Error::Usage(format!(
                        "{flag} is a yq flag that gitops-update eval does not support"
                    )));
                }
            }
            e.exit()
        }
    };
    match cli.command {
        Command::Eval(args) => eval::execute(EvalConfig::resolve(args, &env)?),
        Command::Run(args) => {
            let json = args.output == crate::cli::Format::Json;
            let raw = as_given(
                args.version.as_deref(),
                args.component.as_deref(),
                args.repo.as_deref(),
            );
            match RunConfig::resolve(*args, &env) {
                Ok(cfg) => run::execute(&cfg),
                Err(e) => {
                    refused(&env, &raw, &e, json);
                    Err(e)
                }
            }
        }
        Command::Dispatch(args) => dispatch::execute(&DispatchConfig::resolve(*args, &env)?),
        Command::Completions { shell } => completions::execute(shell),
        Command::Workflow(args) => workflow::execute(&WorkflowConfig::resolve(args)?),
        Command::Verify(args) => verify::execute(&VerifyConfig::resolve(args)?),
    }
}
