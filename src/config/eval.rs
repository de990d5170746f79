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

/// How results are printed: YAML (the file's own text for an update) or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

/// Where a document stream comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

#[derive(Debug)]
pub struct EvalConfig {
    pub expression: String,
    /// Evaluated in turn; empty with `null_input`.
    pub inputs: Vec<Input>,
    /// yq's -n: one evaluation against null, no input read.
    pub null_input: bool,
    pub output: Output,
    pub format: Format,
    /// yq's -P: every result is printed as a value, never as the file's text.
    pub pretty: bool,
    /// yq's -e.
    pub exit_status: bool,
    /// yq's -r: with JSON, strings print bare (YAML always unwraps scalars).
    pub unwrap: bool,
    /// yq's -I, when given: JSON's indent, and YAML's for printed values.
    pub indent: Option<usize>,
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
        let format = output_format(&args.output_format)?;
        let inputs = inputs(&args.files, args.null_input, output)?;
        let writes = match output {
            Output::InPlace => Some("-i"),
            Output::Diff => Some("--diff"),
            Output::Print => None,
        };
        if let Some(flag) = writes {
            if format == Format::Json {
                return Err(Error::Usage(format!(
                    "-o json cannot be used with {flag}: they keep the file's own YAML text; print the JSON without {flag}"
                )));
            }
            if args.pretty_print {
                return Err(Error::Usage(format!(
                    "-P cannot be used with {flag}: it would restyle the whole file, and {flag} keeps every byte that does not change"
                )));
            }
        }
        if format == Format::Yaml && args.unwrap_scalar == Some(false) {
            return Err(Error::Usage(
                "-r=false (--unwrapScalar=false) is not supported with YAML output: scalars print unquoted, as yq prints them by default".into(),
            ));
        }
        let indent = args.indent.map(usize::from);
        if let (Format::Yaml, Some(n)) = (format, indent) {
            if !(2..=9).contains(&n) {
                return Err(Error::Usage(format!(
                    "-I {n}: YAML output is indented by 2 to 9 spaces (0 makes JSON one line, with -o json)"
                )));
            }
        }
        Ok(EvalConfig {
            limits: super::limits(&args.budget)?,
            expression: args.expression,
            inputs,
            null_input: args.null_input,
            output,
            format,
            pretty: args.pretty_print,
            exit_status: args.exit_status,
            unwrap: format == Format::Yaml || args.unwrap_scalar == Some(true),
            indent,
            bindings: Bindings {
                args: pairs,
                env: env.clone(),
                policy: EnvPolicy::DenySecrets,
                placeholders: Placeholders::Args,
            },
        })
    }
}

/// yq's output formats: yaml and json are printed here; yq's others are refused by name.
fn output_format(name: &str) -> Result<Format> {
    match name {
        "yaml" | "y" | "yml" => Ok(Format::Yaml),
        "json" | "j" => Ok(Format::Json),
        _ => Err(Error::Usage(format!(
            "-o {}: output format not supported by gitops-update eval; use yaml (y) or json (j)",
            shown(name)
        ))),
    }
}

/// The inputs in order: FILEs, `-` for standard input, and standard input alone when no
/// FILE is given and it is not a terminal (as yq reads it).
fn inputs(files: &[PathBuf], null_input: bool, output: Output) -> Result<Vec<Input>> {
    use std::io::IsTerminal;
    if null_input {
        if !files.is_empty() {
            return Err(Error::Usage(
                "-n (--null-input) reads no file: give the FILEs without -n, or -n without FILEs"
                    .into(),
            ));
        }
        if output != Output::Print {
            return Err(Error::Usage(
                "-n (--null-input) has no file for -i or --diff".into(),
            ));
        }
        return Ok(Vec::new());
    }
    let inputs: Vec<Input> = if files.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "no input: give a FILE, - for standard input, or -n for none".into(),
            ));
        }
        vec![Input::Stdin]
    } else {
        files
            .iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(f.clone())
                }
            })
            .collect()
    };
    if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        return Err(Error::Usage(
            "- (standard input) is given more than once; it can be read once".into(),
        ));
    }
    if output == Output::InPlace && inputs.contains(&Input::Stdin) {
        return Err(Error::Usage(
            "-i: a FILE is required for each input; standard input (-) cannot be written in place"
                .into(),
        ));
    }
    Ok(inputs)
}
