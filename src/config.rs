//! Validated inputs. Raw flags and environment variables go in; types that cannot hold a bad
//! value come out. Every error here is a usage error (exit 2), raised before anything is read
//! or written.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::cli::EvalArgs;
use crate::error::{Error, Result};
use crate::jq::{Bindings, EnvPolicy};
use crate::template;

/// A version as consumers publish it: `1.4.2`, `v2.0.0-rc.1+build.7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(String);

impl Version {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Version> {
        let why = if s.is_empty() {
            Some("it is empty")
        } else if s.chars().count() > Self::MAX_LEN {
            Some("it is longer than 128 characters")
        } else if s.chars().any(|c| c.is_whitespace()) {
            Some("it contains white space")
        } else if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        {
            Some("it contains a character other than letters, digits and . _ + -")
        } else {
            None
        };
        match why {
            Some(why) => Err(Error::Version {
                shown: shown(s),
                why,
            }),
            None => Ok(Version(s.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value quoted for a message: escaped, and cut so a 50 MB argument stays one line.
pub fn shown(s: &str) -> String {
    let escaped: String = s.chars().take(60).flat_map(char::escape_debug).collect();
    if s.chars().count() > 60 {
        format!("\"{escaped}…\"")
    } else {
        format!("\"{escaped}\"")
    }
}

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
}

/// The environment with names that cannot be jq strings (non-UTF-8) left out.
pub fn env_snapshot() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

impl EvalConfig {
    pub fn resolve(args: EvalArgs, env: BTreeMap<String, String>) -> Result<EvalConfig> {
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
        let uses_version = template::rewrite(&args.expression).uses_version;
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
            expression: args.expression,
            file: args.file,
            output,
            bindings: Bindings {
                args: pairs,
                env,
                policy: EnvPolicy::DenySecrets,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in ["1.2.3", "v1.2.3-rc.1+build.5", "2024.01.15", "a_b"] {
            assert!(Version::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1 2",
            "1\"",
            "1\n2",
            "1\u{0}2",
            "$(id)",
            &"9".repeat(129),
        ] {
            let err = Version::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert!(Version::parse(&"9".repeat(128)).is_ok());
    }

    #[test]
    fn shown_escapes_and_truncates() {
        assert_eq!(shown("a\nb\""), "\"a\\nb\\\"\"");
        assert!(shown(&"x".repeat(1000)).len() < 80);
    }
}
