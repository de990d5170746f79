//! `workflow`'s inputs: which config, and whether to print, check or write the receiver.

use std::path::PathBuf;

use crate::cli::WorkflowArgs;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Print,
    Check,
    Write,
}

#[derive(Debug)]
pub struct WorkflowConfig {
    pub config: PathBuf,
    /// Given with --config: a missing file is an error, not the record-only receiver.
    pub config_given: bool,
    pub mode: Mode,
    pub file: PathBuf,
}

impl WorkflowConfig {
    pub fn resolve(args: WorkflowArgs) -> Result<WorkflowConfig> {
        let mode = match (args.check, args.write) {
            (true, _) => Mode::Check,
            (false, true) => Mode::Write,
            (false, false) => Mode::Print,
        };
        Ok(WorkflowConfig {
            config_given: args.config.is_some(),
            config: args
                .config
                .unwrap_or_else(|| PathBuf::from(crate::workflow::CONFIG)),
            mode,
            file: args.file,
        })
    }
}
