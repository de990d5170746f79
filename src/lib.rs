//! gitops-update: byte-preserving version bumps for GitOps repositories.
//!
//! Data flows one way: inputs (`cli` → `config`, into `model` types) → plan → edit (`expr`,
//! `yaml`, `edit`) → git (`update`, `git`) → report (`report`, `gitea`). `commands` holds one
//! file per command; only `report` writes to stdout.

pub mod budget;
mod chars;
pub mod cleanup;
mod cli;
mod commands;
mod config;
mod dispatch;
pub mod edit;
pub mod error;
pub mod expr;
mod forge;
mod git;
pub mod json;
mod land;
mod model;
mod order;
mod path;
mod policy;
mod provenance;
mod record;
pub mod report;
pub mod sign;
pub mod stack;
mod update;
pub mod workflow;
mod write;
pub mod yaml;

pub use commands::main_with_args;
pub use error::{Error, Result};
