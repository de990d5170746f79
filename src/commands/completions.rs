//! `gitops-update completions SHELL`: shell completions, generated from the clap definition.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{exit, Error, Result};
use crate::report;

pub fn execute(shell: clap_complete::Shell) -> Result<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "gitops-update", &mut out);
    report::stdout(&String::from_utf8_lossy(&out)).map_err(|source| Error::Write {
        path: "<stdout>".into(),
        source,
    })?;
    Ok(exit::OK)
}
