//! Raw flags, as clap parses them. `config` turns them into validated values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  done: the result was printed or written, or nothing needed to change
  1  unexpected failure (a bug, or an I/O error such as a full disk)
  2  invalid input: flags, version, path, expression, YAML, or a refused edit";

#[derive(Debug, Parser)]
#[command(
    name = "gitops-update",
    version,
    about = "Byte-preserving version bumps for GitOps repositories",
    long_about = "Edits YAML files with a jq/yq expression, changing only the bytes of the values \
that change: comments, blank lines, indentation, quoting, key order, document markers, CRLF, BOM \
and a missing final newline stay as they were.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate an expression on every document of a YAML file, as yq does
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
}

const EVAL_HELP: &str = "\
Examples:
  gitops-update eval '.image.tag = \"{{VERSION}}\"' values.yaml --arg VERSION 1.4.2 --diff
  VERSION=1.4.2 gitops-update eval -i '.version = \"{{VERSION}}\"' Chart.yaml
  gitops-update eval '(.dependencies[] | select(.name == \"redis\") | .version) = \"19.0.1\"' Chart.yaml
  gitops-update eval '.appVersion' Chart.yaml

{{VERSION}} and <<VERSION>> in the expression stand for the version, which is bound as data
(never pasted into the expression): from --arg VERSION X, else from the VERSION variable.
yq's strenv(NAME) and env(NAME) read environment variables, except names that contain
TOKEN, SECRET, PASSWORD or KEY.

Exit codes:
  0  done (also when nothing changed)
  1  unexpected failure (a bug, or an I/O error such as a full disk)
  2  invalid input: flags, version, file, expression, YAML, or a refused edit";

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The jq/yq expression, e.g. '.image.tag = "{{VERSION}}"'
    pub expression: String,

    /// The YAML file; standard input when absent
    pub file: Option<PathBuf>,

    /// Write the result back to FILE (atomically, keeping its permissions)
    #[arg(short = 'i', long, requires = "file", conflicts_with = "diff")]
    pub in_place: bool,

    /// Print a unified diff against the input instead of the result
    #[arg(long)]
    pub diff: bool,

    /// Bind $NAME to the string VALUE, as jq does (repeatable)
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append)]
    pub arg: Vec<String>,

    /// The version for {{VERSION}} when no --arg VERSION is given
    #[arg(long = "version-from-env", hide = true, env = "VERSION")]
    pub version_env: Option<String>,
}
