//! Raw flags, as clap parses them. `config` turns them into validated values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const TOP_HELP: &str = "\
Without a subcommand, the flags are `run`'s and its other inputs come from the environment:
a workflow step is just `run: gitops-update`, and a dry run in a checkout is
  gitops-update --dry-run --file F --expression E --version V
`--version` (or -V) alone prints the tool's version; followed by anything, it is the
version to record.";

#[derive(Debug, Parser)]
#[command(
    name = "gitops-update",
    version,
    about = "Byte-preserving version bumps for GitOps repositories",
    long_about = "Edits YAML files with a jq/yq expression, changing only the bytes of the values \
that change: comments, blank lines, indentation, quoting, key order, document markers, CRLF, BOM \
and a missing final newline stay as they were.",
    after_help = format!("{TOP_HELP}\n\n{}", crate::error::exit::help(None))
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Edit files in the GitOps repo, commit and push, re-applying the edit when another
    /// writer pushed first (the default command)
    #[command(after_help = format!("{RUN_HELP}\n\n{}", crate::error::exit::help(Some("run"))))]
    Run(Box<RunArgs>),

    /// From a consumer's pipeline: dispatch the GitOps update, wait for its commit, and set a
    /// commit status on the consumer's own commit
    #[command(after_help = format!("{DISPATCH_HELP}\n\n{}", crate::error::exit::help(Some("dispatch"))))]
    Dispatch(Box<DispatchArgs>),

    /// Print shell completions for bash, zsh or fish
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Evaluate an expression on every document of a YAML file, as yq does
    #[command(after_help = format!("{EVAL_HELP}\n\n{}", crate::error::exit::help(Some("eval"))))]
    Eval(EvalArgs),

    /// In a clone of the GitOps repo: check the provenance notes of update commits and print
    /// the chain source repo@commit → version → GitOps commit → files
    #[command(after_help = format!("{VERIFY_HELP}\n\n{}", crate::error::exit::help(Some("verify"))))]
    Verify(VerifyArgs),

    /// In the GitOps repo: generate its receiver workflow from .gitops-update.yaml, with a
    /// deploy job per component that declares `on_update.deploy`
    #[command(after_help = format!("{WORKFLOW_HELP}\n\n{}", crate::error::exit::help(Some("workflow"))))]
    Workflow(WorkflowArgs),
}

const VERIFY_HELP: &str = "\
The notes travel apart from the branches; fetch them first:
  git fetch origin refs/notes/gitops-update:refs/notes/gitops-update

Examples:
  gitops-update verify                                   # HEAD
  gitops-update verify --allowed-signers .allowed_signers origin/main~20..origin/main
  gitops-update verify --gpg-keyring release-bot.asc --output json HEAD~5..HEAD

Commits that are not updates (no `gitops: update version to` title) are listed and skipped.
Without keys, the notes are checked against the commits and the signatures are not.";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The commit, or a range A..B [default: HEAD]
    #[arg(value_name = "COMMIT|RANGE")]
    pub rev: Option<String>,

    /// OpenSSH allowed-signers file (as git's gpg.ssh.allowedSignersFile) whose keys may sign
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,

    /// OpenPGP public keys (armored or binary, as gpg --export writes them) that may sign
    #[arg(long, value_name = "FILE")]
    pub gpg_keyring: Option<PathBuf>,

    /// Only a key listed for this identity may sign (as ssh-keygen -Y verify -I; for an
    /// OpenPGP key, one of its user IDs or their email)
    #[arg(long, value_name = "NAME")]
    pub principal: Option<String>,

    /// The clone to check [default: the current directory]
    #[arg(short = 'C', long = "workdir", value_name = "DIR")]
    pub workdir: Option<PathBuf>,

    /// text, or json: one object per commit
    #[arg(long, value_enum, default_value = "text")]
    pub output: Format,
}

const WORKFLOW_HELP: &str = "\
Run at the GitOps repo's root. Without `on_update` in any component the output is the
record-only receiver, the same bytes whatever else the config holds.

Examples:
  gitops-update workflow --write   # writes .gitea/workflows/gitops-service.yaml
  gitops-update workflow --check   # in the repo's CI: exit 1 and a diff when it is stale";

#[derive(Debug, Args)]
pub struct WorkflowArgs {
    /// The config [default: .gitops-update.yaml; when it does not exist, the record-only
    /// receiver]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Compare with the workflow file; exit 1 with a diff when they differ
    #[arg(long, conflicts_with = "write")]
    pub check: bool,

    /// Write the workflow file instead of printing the workflow
    #[arg(long)]
    pub write: bool,

    /// The workflow file that --check and --write use
    #[arg(long, value_name = "FILE", default_value = crate::workflow::RECEIVER)]
    pub file: PathBuf,
}

const EVAL_HELP: &str = "\
Examples:
  gitops-update eval '.image.tag = \"{{VERSION}}\"' values.yaml --arg VERSION 1.4.2 --diff
  VERSION=1.4.2 gitops-update eval -i '.version = \"{{VERSION}}\"' Chart.yaml
  gitops-update eval '(.dependencies[] | select(.name == \"redis\") | .version) = \"19.0.1\"' Chart.yaml
  gitops-update eval '.appVersion' Chart.yaml
  gitops-update eval -i '.image.tag = \"1.4.2\"' staging/values.yaml prod/values.yaml
  cat values.yaml | gitops-update eval -o json '.image' -
  gitops-update eval -n '.a = 1'

Several FILEs are evaluated in turn; with -i every one is checked before any is written.
yq flags this command does not take (--from-file, -s, -p, --front-matter, ...) are refused.

{{VERSION}} and <<VERSION>> in the expression stand for the version, which is bound as data
(never pasted into the expression): from --arg VERSION X, else from the VERSION variable.
yq's strenv(NAME) and env(NAME) read environment variables, except names that contain
TOKEN, SECRET, PASSWORD or KEY.";

/// What evaluating the expression may use (issue 16).
#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// Wall time for evaluating the expression, each attempt (e.g. 10s, 500ms)
    #[arg(long, env = "GITOPS_MAX_EVAL_TIME", default_value = "10s")]
    pub max_eval_time: String,

    /// Memory for evaluating the expression, beyond the document's (e.g. 512MiB, 2GiB)
    #[arg(long, env = "GITOPS_MAX_EVAL_MEMORY", default_value = "512MiB")]
    pub max_eval_memory: String,

    /// The largest file an edit may write or print (e.g. 64MiB) [default: ten times the
    /// input, at least 1 MiB, at most 32 MiB]
    #[arg(long, env = "GITOPS_MAX_OUTPUT_SIZE", value_name = "SIZE")]
    pub max_output_size: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The jq/yq expression, e.g. '.image.tag = "{{VERSION}}"'
    pub expression: String,

    #[command(flatten)]
    pub budget: BudgetArgs,

    /// The YAML files, evaluated in turn; `-` is standard input, which is also read when no
    /// FILE is given and standard input is not a terminal
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write each result back to its FILE (atomically, keeping its permissions); every FILE
    /// is checked before any is written
    #[arg(short = 'i', long, conflicts_with = "diff")]
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

    /// yaml (y, yml) or json (j): json prints each result as JSON, as yq -o json does
    #[arg(
        short = 'o',
        long = "output-format",
        value_name = "FORMAT",
        default_value = "yaml"
    )]
    pub output_format: String,

    /// Print each result as a value in block style (yq's -P), not the file's own text
    #[arg(short = 'P', long = "prettyPrint")]
    pub pretty_print: bool,

    /// Evaluate the expression against null, reading no file (yq's -n)
    #[arg(short = 'n', long = "null-input")]
    pub null_input: bool,

    /// Exit 1 when no result is printed or every result is null or false (yq's -e)
    #[arg(short = 'e', long = "exit-status")]
    pub exit_status: bool,

    /// Print scalars without quotes (yq's -r): YAML output always does; with -o json, a
    /// string prints bare
    #[arg(
        short = 'r',
        long = "unwrapScalar",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub unwrap_scalar: Option<bool>,

    /// Indentation of printed values (yq's -I): JSON's (0 is one line), and YAML's for
    /// selected values and -P (2 to 9); an updated file keeps its own [default: 2]
    #[arg(short = 'I', long = "indent", value_name = "N")]
    pub indent: Option<u8>,
}

const RUN_HELP: &str = "\
Every input is a flag or the environment variable the GitOps workflow already sets:
INPUT_FILE, YQ_TPL, VERSION, DIGEST, SOURCE_REPO, SOURCE_COMMIT, DISPATCH_ID, GIT_TAG_PREFIX,
GITOPS_REPO, GITOPS_BRANCH, GITEA_API_URL, and GITEA_TOKEN (the token is read from the
environment only, never from a flag). GITOPS_SIGNING_KEY, an OpenSSH private key's text
(with GITOPS_SIGNING_KEY_PASSPHRASE when it has one), signs every commit.

Examples:
  # What the GitOps repo's workflow runs (inputs from the environment):
  gitops-update
  # A developer's dry run in a checkout: prints the diff, changes nothing:
  gitops-update run --dry-run --file charts/app/values.yaml \\
      --expression '.image.tag = \"{{VERSION}}\"' --version 1.4.2
  # Chart version and image tag in one commit:
  gitops-update run --version 1.4.2 --repo acme/deploy \\
      --set 'charts/app/Chart.yaml=.version = \"{{VERSION}}\"' \\
      --set 'charts/app/values.yaml=.image.tag = \"{{VERSION}}\"'";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MergeStyle {
    Merge,
    Rebase,
    Squash,
    FastForwardOnly,
}

impl MergeStyle {
    /// The `Do` of Gitea's merge form (services/forms/repo_form.go).
    pub fn gitea(self) -> &'static str {
        match self {
            MergeStyle::Merge => "merge",
            MergeStyle::Rebase => "rebase",
            MergeStyle::Squash => "squash",
            MergeStyle::FastForwardOnly => "fast-forward-only",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub budget: BudgetArgs,

    /// The file to edit, relative to the repository root
    #[arg(long, env = "INPUT_FILE")]
    pub file: Option<String>,

    /// The expression for --file, e.g. '.image.tag = "{{VERSION}}"'
    #[arg(long, env = "YQ_TPL")]
    pub expression: Option<String>,

    /// One more edit in the same commit, as FILE=EXPR (repeatable)
    #[arg(long = "set", value_name = "FILE=EXPR")]
    pub set: Vec<String>,

    /// The version the commit records and {{VERSION}} stands for
    #[arg(
        id = "release",
        long = "version",
        env = "VERSION",
        value_name = "VERSION"
    )]
    pub version: Option<String>,

    /// The image digest {{DIGEST}} stands for, sha256:<64 hex> or sha512:<128 hex>
    /// [default: the one the version carries after its @]
    #[arg(long, env = "DIGEST")]
    pub digest: Option<String>,

    /// The GitOps repository: owner/name on the server, or a git URL or path
    #[arg(long, env = "GITOPS_REPO")]
    pub repo: Option<String>,

    /// The branch to update [default: the remote's default branch]
    #[arg(long, env = "GITOPS_BRANCH")]
    pub branch: Option<String>,

    /// The Gitea server (with or without /api/v1), for owner/name repositories
    #[arg(long, env = "GITEA_API_URL")]
    pub server: Option<String>,

    /// The repository whose build produced the version (owner/name)
    #[arg(long, env = "SOURCE_REPO")]
    pub source_repo: Option<String>,

    /// The commit whose build produced the version
    #[arg(long, env = "SOURCE_COMMIT")]
    pub source_commit: Option<String>,

    /// The dispatch that asked for this update, recorded in the commit
    #[arg(long, env = "DISPATCH_ID")]
    pub dispatch_id: Option<String>,

    /// The source repo's tag prefix, for monorepos with several components
    #[arg(long, env = "GIT_TAG_PREFIX")]
    pub tag_prefix: Option<String>,

    /// The component in the summary line [default: the source repo's name, with -<prefix>]
    #[arg(long)]
    pub component: Option<String>,

    /// Let expressions read this environment variable too (repeatable)
    #[arg(long = "allow-env", value_name = "NAME")]
    pub allow_env: Vec<String>,

    #[arg(long, env = "GIT_AUTHOR_NAME", hide_env_values = true)]
    pub author_name: Option<String>,
    #[arg(long, env = "GIT_AUTHOR_EMAIL", hide_env_values = true)]
    pub author_email: Option<String>,
    #[arg(long, env = "GIT_COMMITTER_NAME", hide_env_values = true)]
    pub committer_name: Option<String>,
    #[arg(long, env = "GIT_COMMITTER_EMAIL", hide_env_values = true)]
    pub committer_email: Option<String>,

    /// Land through a pull request: push to the tool's branch gitops-update/<branch>/<component>
    /// and open (or update) a pull request into the branch; =agit pushes to refs/for/<branch>
    /// instead, for tokens that may not create branches
    #[arg(
        long,
        env = "GITOPS_PULL_REQUEST",
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub pull_request: Option<String>,

    /// With --pull-request: merge it when the required checks succeed
    #[arg(long, env = "GITOPS_AUTO_MERGE")]
    pub auto_merge: bool,

    /// How --auto-merge merges
    #[arg(long, value_enum, default_value = "merge", requires = "auto_merge")]
    pub merge_style: MergeStyle,

    /// Sign every commit with the OpenSSH or armored OpenPGP private key in this file (or its text in
    /// GITOPS_SIGNING_KEY, never a flag; a passphrase in GITOPS_SIGNING_KEY_PASSPHRASE)
    #[arg(long, value_name = "PATH")]
    pub signing_key_file: Option<PathBuf>,

    /// Push attempts before giving up when other writers keep pushing first
    // 20: the soak (scripts/soak.sh) saw 50 simultaneous writers need up to 9; with the
    // back-off capped at 5 s, 20 attempts give up after about a minute, not sooner.
    #[arg(long, default_value_t = 20)]
    pub max_attempts: u32,

    /// Network timeout for connecting and for each read (e.g. 30s, 500ms, 2m)
    #[arg(long, default_value = "30s")]
    pub timeout: String,

    /// Do everything up to the commit and print the diff; write and push nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Fail (exit 6) when the commit status cannot be set, instead of warning
    #[arg(long)]
    pub require_status: bool,

    /// Write an older version than the file holds (a deliberate rollback); without it such a
    /// run writes nothing and ends superseded (exit 8)
    #[arg(long, env = "GITOPS_ALLOW_DOWNGRADE")]
    pub allow_downgrade: bool,

    /// Write no provenance note (refs/notes/gitops-update) on the update commit: for a server
    /// whose hooks refuse notes refs
    #[arg(long, env = "GITOPS_NO_PROVENANCE")]
    pub no_provenance: bool,

    /// How to report on stdout
    #[arg(long, value_enum, default_value = "text")]
    pub output: Format,

    /// Where to look for a checkout of the GitOps repo [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<std::path::PathBuf>,
}

const DISPATCH_HELP: &str = "\
Replaces the consumer's dispatch script: it dispatches the GitOps repo's workflow with the
inputs file, yq_tpl, version, source_repo, source_commit, dispatch_id and git_tag_prefix,
waits until the update is proven (its commit, found by the Dispatch-Id trailer, or the
updater's record that the version was already there, or that a newer one was: superseded,
exit 8, not a failure), sets the status
gitops/<consumer repo name>[/<prefix>] on the consumer's commit, and writes the summary line
component|version|status|commit_sha|repo (and commit_sha, changed, dispatch_id) to
$GITHUB_OUTPUT / $GITEA_OUTPUT, also on failure.

A run that Gitea cancelled (every dispatch cancels the runs before it on 1.24 and 1.25) is
dispatched again with the same dispatch id once the workflow is idle; the update is
idempotent. Needs Gitea 1.24 or newer; 1.25 or newer, whose runs carry the workflow's
run-name, to see a failed run at once.

Tokens come from the environment only: GITOPS_DISPATCH_TOKEN for the GitOps repo,
GITHUB_TOKEN or GITEA_TOKEN for the status on the consumer's commit.";

#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// The GitOps repository, owner/name
    #[arg(long, env = "GITOPS_REPO")]
    pub repo: Option<String>,

    /// The file the update edits
    #[arg(long, env = "GITOPS_FILE")]
    pub file: Option<String>,

    /// The expression the update applies
    #[arg(long, env = "GITOPS_YQ_TPL")]
    pub expression: Option<String>,

    /// The version to deploy
    #[arg(
        id = "release",
        long = "version",
        env = "VERSION",
        value_name = "VERSION"
    )]
    pub version: Option<String>,

    /// The tag prefix, for monorepos with several components
    #[arg(long, env = "GIT_TAG_PREFIX")]
    pub tag_prefix: Option<String>,

    /// The Gitea server, with or without /api/v1
    #[arg(long, env = "GITEA_API_URL")]
    pub server: Option<String>,

    /// This repository (owner/name)
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub source_repo: Option<String>,

    /// This commit
    #[arg(long, env = "GITHUB_SHA")]
    pub source_commit: Option<String>,

    /// The GitOps repo's workflow file
    #[arg(long, env = "GITOPS_WORKFLOW", default_value = "gitops-service.yaml")]
    pub workflow: String,

    /// The GitOps branch [default: the repository's default branch]
    #[arg(long, env = "GITOPS_BRANCH")]
    pub branch: Option<String>,

    /// The dispatch's id [default: a new unique one]
    #[arg(long, env = "DISPATCH_ID")]
    pub dispatch_id: Option<String>,

    /// The component in the summary line [default: this repo's name, with -<prefix>]
    #[arg(long)]
    pub component: Option<String>,

    /// How long to wait for the update's commit (e.g. 10m, 90s)
    #[arg(long, env = "GITOPS_WAIT_TIMEOUT", default_value = "10m")]
    pub wait_timeout: String,

    /// When the GitOps run opened a pull request, wait (within --wait-timeout) until it is
    /// merged, and report success with its merge commit
    #[arg(long, env = "GITOPS_WAIT_MERGED")]
    pub wait_merged: bool,

    /// The component the GitOps run deploys once the version is recorded (its receiver's
    /// deploy_<name> job, from `gitops-update workflow`)
    #[arg(long, env = "GITOPS_DEPLOY_NAME", value_name = "NAME")]
    pub deploy_name: Option<String>,

    /// How often to look for it
    #[arg(long, default_value = "5s")]
    pub poll_interval: String,

    /// Dispatch again when the run left no trace (no task, commit or record) this long
    /// while no run of the workflow was active
    #[arg(long, default_value = "60s")]
    pub lost_after: String,

    /// Timeout for each API request
    #[arg(long, default_value = "30s")]
    pub timeout: String,

    /// The pipeline's config as one JSON object (the shared workflows' env_json): its
    /// GITEA_API_URL, GIT_TAG_PREFIX or any other input by its variable name fill what no
    /// flag or variable gave
    #[arg(long, env = "ENV_JSON", value_name = "JSON")]
    pub env_json: Option<String>,
}
