//! The integration tests: one binary, one module per area.

mod bad_input;
mod common;
mod dispatch_cmd;
mod eval_cli;
mod examples;
mod exit_codes;
mod faults;
mod fuzz_replay;
mod gitea_status;
mod golden;
mod limitations;
mod policy;
mod run_cmd;
mod sweep;
