//! One file per command: each turns its validated configuration into work and reports it.
//! `main_with_args` is the whole program: parse, resolve, execute.

mod completions;
pub mod dispatch;
pub mod eval;
mod run;
mod workflow;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{self, DispatchConfig, EvalConfig, RunConfig, WorkflowConfig};
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

/// Parses the command line and runs the command; the `Ok` value is the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> Result<u8> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if implicit_run(&args) {
        args.insert(1.min(args.len()), "run".into());
    }
    let cli = Cli::parse_from(args);
    let env = config::env_snapshot();
    match cli.command {
        Command::Eval(args) => eval::execute(EvalConfig::resolve(args, &env)?),
        Command::Run(args) => {
            let json = args.output == crate::cli::Format::Json;
            match RunConfig::resolve(*args, &env) {
                Ok(cfg) => run::execute(&cfg),
                // Inputs refused before the run began: the JSON reader still gets its object.
                Err(e) if json => {
                    let _ = crate::report::stdout(&crate::report::failure_json(
                        &e.to_string(),
                        e.exit_code(),
                    ));
                    Err(e)
                }
                Err(e) => Err(e),
            }
        }
        Command::Dispatch(args) => dispatch::execute(&DispatchConfig::resolve(*args, &env)?),
        Command::Completions { shell } => completions::execute(shell),
        Command::Workflow(args) => workflow::execute(&WorkflowConfig::resolve(args)?),
    }
}
