//! `gitops-update completions SHELL`: shell completions, generated from the clap definition.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{exit, Result};
use crate::report;

pub fn execute(shell: clap_complete::Shell) -> Result<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "gitops-update", &mut out);
    report::print(&String::from_utf8_lossy(&out))?;
    Ok(exit::OK)
}
