//! One file per command: each turns its validated configuration into work and reports it.
//! `main_with_args` is the whole program: parse, resolve, execute.

mod completions;
pub mod dispatch;
pub mod eval;
mod run;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{self, DispatchConfig, EvalConfig, RunConfig};
use crate::error::Result;

/// Parses the command line and runs the command; the `Ok` value is the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> Result<u8> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    // Bare `gitops-update` is `gitops-update run`, its inputs from the environment.
    if args.len() == 1 {
        args.push("run".into());
    }
    let cli = Cli::parse_from(args);
    let env = config::env_snapshot();
    match cli.command {
        Command::Eval(args) => eval::execute(EvalConfig::resolve(args, &env)?),
        Command::Run(args) => run::execute(&RunConfig::resolve(*args, &env)?),
        Command::Dispatch(args) => dispatch::execute(&DispatchConfig::resolve(*args, &env)?),
        Command::Completions { shell } => completions::execute(shell),
    }
}
