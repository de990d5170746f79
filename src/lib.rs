//! gitops-update: byte-preserving version bumps for GitOps repositories.
//!
//! Data flows one way: inputs (`cli`, `config`) → plan → edit (`jq`, `yaml`) → report.
//! Only `report` writes to stdout.

pub mod cli;
pub mod config;
pub mod edit;
pub mod error;
pub mod eval;
pub mod jq;
pub mod report;
pub mod template;
pub mod write;
pub mod yaml;

pub use error::{Error, Result};

use std::ffi::OsString;

use clap::Parser;

/// Parses the command line and runs the command; the `Ok` value is the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> Result<u8> {
    let cli = cli::Cli::parse_from(args);
    match cli.command {
        cli::Command::Eval(args) => {
            let cfg = config::EvalConfig::resolve(args, config::env_snapshot())?;
            eval::run(cfg)
        }
    }
}
