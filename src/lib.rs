//! gitops-update: byte-preserving version bumps for GitOps repositories.
//!
//! Data flows one way: inputs (`cli` → `config`, into `model` types) → plan → edit (`expr`,
//! `yaml`, `edit`) → git (`update`, `git`) → report (`report`, `gitea`). `commands` holds one
//! file per command; only `report` writes to stdout.

pub mod cli;
pub mod commands;
pub mod config;
pub mod edit;
pub mod error;
pub mod expr;
pub mod git;
pub mod gitea;
pub mod model;
pub mod policy;
pub mod report;
pub mod update;
pub mod write;
pub mod yaml;

pub use commands::main_with_args;
pub use error::{Error, Result};
