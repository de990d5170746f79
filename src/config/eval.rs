//! `eval`'s inputs: the expression, the file, how to show the result, and the bindings.

use super::Env;
use std::path::PathBuf;

use crate::cli::EvalArgs;
use crate::error::{Error, Result};
use crate::expr::{template, Bindings, EnvPolicy, Placeholders};
use crate::model::{shown, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Print,
    Diff,
    InPlace,
}

#[derive(Debug)]
pub struct EvalConfig {
    pub expression: String,
    pub file: Option<PathBuf>,
    pub output: Output,
    pub bindings: Bindings,
    pub limits: crate::budget::Limits,
}

impl EvalConfig {
    pub fn resolve(args: EvalArgs, env: &Env) -> Result<EvalConfig> {
        let mut pairs = Vec::new();
        for pair in args.arg.chunks(2) {
            let [name, value] = pair else {
                return Err(Error::Usage("--arg takes a NAME and a VALUE".into()));
            };
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || name.starts_with("__") || name == "ENV" {
                return Err(Error::Usage(format!(
                    "--arg {}: a variable name is letters, digits and _, not starting with a digit or __ (and not ENV)",
                    shown(name)
                )));
            }
            pairs.push((name.clone(), value.clone()));
        }
        let mut known: Vec<String> = pairs.iter().map(|(n, _)| n.clone()).collect();
        known.push("VERSION".into());
        let uses_version = template::rewrite(&args.expression, &known).uses("VERSION");
        if uses_version {
            let given = pairs
                .iter()
                .rev()
                .find(|(n, _)| n == "VERSION")
                .map(|(_, v)| v.clone());
            match (given, args.version_env) {
                (Some(v), _) => {
                    Version::parse(&v)?;
                }
                (None, Some(v)) => {
                    Version::parse(&v)?;
                    pairs.push(("VERSION".into(), v));
                }
                (None, None) => {}
            }
        }
        let output = if args.in_place {
            Output::InPlace
        } else if args.diff {
            Output::Diff
        } else {
            Output::Print
        };
        Ok(EvalConfig {
            limits: super::limits(&args.budget)?,
            expression: args.expression,
            file: args.file,
            output,
            bindings: Bindings {
                args: pairs,
                env: env.clone(),
                policy: EnvPolicy::DenySecrets,
                placeholders: Placeholders::Args,
            },
        })
    }
}
