//! The integration tests: one binary, one file per command or stage it specifies (`eval`,
//! `run`, `dispatch`; `edit_*` for the edit engine, `run_*` for the update run's status,
//! faults and bad input), fixtures in `common/`.

mod budgets;
mod checkout;
mod common;
mod contents;
mod dispatch;
mod downgrade;
mod edit_golden;
mod edit_sweep;
mod eval;
mod eval_cli;
mod exit_codes;
mod fuzz_replay;
mod hostile;
mod layout;
mod limitations;
mod local;
mod mistakes;
mod policy;
mod provenance;
mod pull_request;
mod receiver;
mod run;
mod run_bad_input;
mod run_faults;
mod run_status;
mod server_matrix;
mod signing;
mod workflows;
mod yq_attributes;
mod yq_functions;
mod yq_scenarios;
mod yq_semantics;
mod yq_syntax;
