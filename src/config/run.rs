//! `run`'s inputs: every edit, the target, the people, the limits, validated before
//! anything touches the network.

use std::path::PathBuf;

use super::{component_name, one_line, output_files, parse_duration, Env, RUN_ENV_ALLOWLIST};
use crate::error::{Error, Result};
use crate::expr::{Bindings, EnvPolicy, Placeholders};
use crate::model::{git_ref_ok, shown, Person, RepoPath, SafeUrl, Target, Token, Version, BOT};

/// Everything `gitops-update run` needs, validated.
#[derive(Debug)]
pub struct RunConfig {
    pub limits: crate::budget::Limits,
    pub edits: Vec<(RepoPath, String)>,
    pub version: Version,
    pub target: Target,
    pub branch: Option<String>,
    pub source_repo: Option<String>,
    pub source_commit: Option<String>,
    pub dispatch_id: Option<String>,
    pub tag_prefix: Option<String>,
    pub component: String,
    pub token: Option<Token>,
    pub author: Person,
    pub committer: Person,
    pub max_attempts: u32,
    pub timeout: std::time::Duration,
    pub dry_run: bool,
    pub require_status: bool,
    /// `--allow-downgrade`: a value may move to an older version (issue 30).
    pub allow_downgrade: bool,
    /// Write a provenance note on the update commit (src/provenance).
    pub provenance: bool,
    /// The digest the version is built as (`{{DIGEST}}`), for the provenance.
    pub digest: Option<String>,
    /// The CI run this is, from the runner's variables, for the provenance.
    pub run_origin: Option<crate::provenance::RunOrigin>,
    /// `GITEA_API_URL`, for the commit status.
    pub api_url: Option<SafeUrl>,
    pub json: bool,
    pub workdir: PathBuf,
    pub bindings: Bindings,
    /// `$GITHUB_OUTPUT` and `$GITEA_OUTPUT`, whichever are set.
    pub output_files: Vec<PathBuf>,
    pub step_summary: Option<PathBuf>,
    pub git_config: crate::git::ConfigScope,
    /// Signs every commit; from GITOPS_SIGNING_KEY or --signing-key-file.
    pub signer: Option<crate::sign::Signer>,
    /// Land through a pull request instead of a push to the branch.
    pub pull_request: Option<PullRequestMode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestMode {
    /// Gitea's merge style, when the pull request merges itself once its checks pass.
    pub auto_merge: Option<&'static str>,
    /// Through AGit (`refs/for/<branch>` with push options) rather than a branch of ours.
    pub agit: bool,
}

/// `git@host:owner/name.git` or `ssh://...`.
fn is_ssh(url: &str) -> bool {
    url.starts_with("ssh://") || (!url.contains("://") && url.contains('@') && url.contains(':'))
}

/// The signing key: its text in GITOPS_SIGNING_KEY (as CI secrets are passed), or a file.
fn signer(file: Option<&std::path::Path>, env: &Env) -> Result<Option<crate::sign::Signer>> {
    let text = env
        .get("GITOPS_SIGNING_KEY")
        .filter(|v| !v.trim().is_empty());
    let passphrase = env.get("GITOPS_SIGNING_KEY_PASSPHRASE").map(String::as_str);
    match (text, file) {
        (Some(_), Some(_)) => Err(Error::Usage(
            "GITOPS_SIGNING_KEY and --signing-key-file both give a signing key: keep one".into(),
        )),
        (Some(text), None) => {
            crate::sign::Signer::parse(text, passphrase, "GITOPS_SIGNING_KEY").map(Some)
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?;
            let text = zeroize::Zeroizing::new(text);
            let source = format!("--signing-key-file {}", path.display());
            crate::sign::Signer::parse(&text, passphrase, &source).map(Some)
        }
        (None, None) => Ok(None),
    }
}

impl RunConfig {
    /// The GitOps repository's server, when the run has its API URL and a token: built once,
    /// for the signing check, the landing's follow-up and the commit status.
    pub fn forge(&self) -> Result<Option<Box<dyn crate::forge::Forge>>> {
        let (Some(api), Some(token)) = (&self.api_url, &self.token) else {
            return Ok(None);
        };
        let forge = crate::forge::connect(api, token.clone(), self.timeout)
            .map_err(|e| Error::Api(e.to_string()))?;
        Ok(Some(Box::new(forge)))
    }

    /// What an update of `files` records: the commit message, the pull request's title,
    /// the commit status.
    pub fn record(&self, files: &[&RepoPath]) -> crate::record::Record {
        crate::record::Record {
            version: self.version.to_string(),
            component: self.component.clone(),
            files: files.iter().map(|f| f.to_string()).collect(),
            source_repo: self.source_repo.clone(),
            source_commit: self.source_commit.clone(),
            dispatch_id: self.dispatch_id.clone(),
        }
    }

    /// Every input validated, in the order the errors are reported: the first wrong input
    /// is the one named. Longer than a screen only by the struct it fills, a field a line.
    pub fn resolve(args: crate::cli::RunArgs, env: &Env) -> Result<RunConfig> {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let version = version(args.version)?;
        let digest = digest(args.digest, &version)?;
        let edits = edits(args.file, args.expression, &args.set)?;
        let server = args.server.filter(|s| !s.is_empty());
        let workdir = args.workdir.unwrap_or_else(|| PathBuf::from("."));
        let target = target(args.repo, server.as_deref(), &workdir, args.dry_run)?;
        let branch = branch(args.branch)?;
        // The same rules as `dispatch`, which passes these on.
        let source_repo = super::repo_slug("SOURCE_REPO", args.source_repo)?;
        let source_commit = super::commit_sha("SOURCE_COMMIT", args.source_commit)?;
        let dispatch_id = super::dispatch_id("DISPATCH_ID", args.dispatch_id)?;
        let tag_prefix = super::report_field("GIT_TAG_PREFIX", args.tag_prefix)?;
        // The component is named after the source repo, or else the GitOps repo.
        let component = super::report_field("--component", args.component)?.unwrap_or_else(|| {
            let repo = source_repo.as_deref().or(target.slug.as_deref());
            component_name(repo.unwrap_or("gitops"), tag_prefix.as_deref())
        });
        let author = person(args.author_name, args.author_email, None)?;
        let committer = person(args.committer_name, args.committer_email, Some(&author))?;
        if args.max_attempts == 0 || args.max_attempts > 100 {
            return Err(Error::Usage(
                "--max-attempts must be between 1 and 100".into(),
            ));
        }
        let timeout = parse_duration(&args.timeout)?;
        let allowed = allowed_env(args.allow_env)?;
        let (expr_env, placeholder_args) = inputs_for_expressions(
            env,
            &version,
            [
                ("DIGEST", &digest),
                ("SOURCE_REPO", &source_repo),
                ("SOURCE_COMMIT", &source_commit),
                ("DISPATCH_ID", &dispatch_id),
                ("GIT_TAG_PREFIX", &tag_prefix),
            ],
        );
        let signer = signer(args.signing_key_file.as_deref(), env)?;
        let pull_request = pull_request_mode(
            args.pull_request.as_deref(),
            args.auto_merge.then(|| args.merge_style.gitea()),
            &component,
        )?;
        let token = get("GITEA_TOKEN")
            .map(Token::new)
            .or_else(|| target.userinfo.as_ref().map(|(_, t)| t.clone()));
        let has_api = server.is_some() && token.is_some() && target.slug.is_some();
        if !has_api && !args.dry_run {
            needs_no_api(pull_request.as_ref())?;
        }
        Ok(RunConfig {
            limits: super::limits(&args.budget)?,
            edits,
            bindings: Bindings {
                args: placeholder_args,
                env: expr_env,
                policy: EnvPolicy::Allow(allowed),
                placeholders: Placeholders::Run,
            },
            version,
            target,
            branch,
            source_repo,
            source_commit,
            dispatch_id,
            tag_prefix,
            component,
            token,
            author,
            committer,
            max_attempts: args.max_attempts,
            timeout,
            dry_run: args.dry_run,
            require_status: args.require_status,
            allow_downgrade: args.allow_downgrade,
            provenance: !args.no_provenance,
            digest,
            run_origin: crate::provenance::run_origin(|k| env.get(k).cloned()),
            api_url: server.clone().map(SafeUrl::new),
            json: args.output == crate::cli::Format::Json,
            workdir,
            output_files: output_files(env),
            git_config: git_config(env),
            signer,
            pull_request,
            step_summary: super::step_summary(env),
        })
    }
}

fn version(arg: Option<String>) -> Result<Version> {
    match arg.filter(|v| !v.is_empty()) {
        Some(v) => Version::parse(&v),
        None => Err(Error::Usage(
            "no version: set VERSION or pass --version X.Y.Z".into(),
        )),
    }
}

/// The digest `{{DIGEST}}` stands for: `--digest`, or the one the version carries. Only
/// `run` takes it; `dispatch` and the workflows pass a version, which may carry one.
fn digest(arg: Option<String>, version: &Version) -> Result<Option<String>> {
    let Some(given) = arg.filter(|d| !d.is_empty()) else {
        return Ok(version.digest().map(str::to_string));
    };
    if let Some(why) = crate::model::digest_problem(&given) {
        return Err(Error::Usage(format!(
            "invalid digest {}: {why}",
            shown(&given)
        )));
    }
    match version.digest() {
        Some(carried) if carried != given => Err(Error::Usage(format!(
            "--digest {} differs from the digest the version {} carries",
            shown(&given),
            shown(version.as_str())
        ))),
        _ => Ok(Some(given)),
    }
}

/// The file and expression of the dispatch's inputs, then each `--set FILE=EXPR`.
fn edits(
    file: Option<String>,
    expression: Option<String>,
    sets: &[String],
) -> Result<Vec<(RepoPath, String)>> {
    let mut edits = Vec::new();
    match (file.filter(|f| !f.is_empty()), expression.filter(|e| !e.is_empty())) {
        (Some(f), Some(e)) => edits.push((RepoPath::parse(&f)?, e)),
        (Some(_), None) => return Err(Error::Usage("a file to edit (INPUT_FILE or --file) but no expression: give it with YQ_TPL or --expression".into())),
        (None, Some(_)) => return Err(Error::Usage("an expression (YQ_TPL or --expression) but no file to edit: give it with INPUT_FILE or --file".into())),
        (None, None) => {}
    }
    for set in sets {
        let Some((f, e)) = set.split_once('=') else {
            return Err(Error::Usage(format!(
                "--set {}: expected FILE=EXPR",
                shown(set)
            )));
        };
        if e.trim().is_empty() {
            return Err(Error::Usage(format!(
                "--set {}: the expression is empty",
                shown(set)
            )));
        }
        edits.push((RepoPath::parse(f)?, e.to_string()));
    }
    if edits.is_empty() {
        return Err(Error::Usage(
            "nothing to edit: set INPUT_FILE and YQ_TPL, or pass --file and --expression, or --set FILE=EXPR".into(),
        ));
    }
    Ok(edits)
}

/// The repository to update: as given, or, in a checkout, where it came from.
fn target(
    repo: Option<String>,
    server: Option<&str>,
    workdir: &std::path::Path,
    dry_run: bool,
) -> Result<Target> {
    if let Some(repo) = repo.filter(|r| !r.is_empty()) {
        return Target::parse(&repo, server);
    }
    match crate::git::origin_url(workdir) {
        // A dry run only reads: an SSH origin, which the tool cannot fetch, still gives a
        // diff against the checkout's HEAD.
        Some(url) if dry_run && is_ssh(&url) => Ok(Target::new(SafeUrl::new(url), None, None)),
        Some(url) => Target::parse(&url, server),
        None => Err(Error::Usage(
            "no repository: set GITOPS_REPO or pass --repo (owner/name, or a git URL or path), or run in a checkout that has an origin"
                .into(),
        )),
    }
}

fn branch(arg: Option<String>) -> Result<Option<String>> {
    let Some(b) = arg.filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let b = b.strip_prefix("refs/heads/").unwrap_or(&b).to_string();
    if !git_ref_ok(&b) {
        return Err(Error::Usage(format!("invalid branch name {}", shown(&b))));
    }
    Ok(Some(b))
}

/// The author, or the committer, who defaults to the author.
fn person(
    name: Option<String>,
    email: Option<String>,
    fallback: Option<&Person>,
) -> Result<Person> {
    let (dn, de) = fallback.map_or((BOT.0.to_string(), BOT.1.to_string()), |p| {
        (p.name.clone(), p.email.clone())
    });
    let name = one_line("author name", name)?.unwrap_or(dn);
    let email = one_line("author email", email)?.unwrap_or(de);
    if name.contains(['<', '>']) || email.contains(['<', '>']) {
        return Err(Error::Usage(
            "author and committer names and emails cannot contain < or >".into(),
        ));
    }
    Ok(Person { name, email })
}

/// The variables expressions may read: the allowlist and `--allow-env`, never one that
/// looks like a credential.
fn allowed_env(extra: Vec<String>) -> Result<Vec<String>> {
    let mut allowed: Vec<String> = RUN_ENV_ALLOWLIST.iter().map(|s| s.to_string()).collect();
    for name in extra {
        let up = name.to_ascii_uppercase();
        if ["TOKEN", "SECRET", "PASSWORD", "KEY"]
            .iter()
            .any(|w| up.contains(w))
        {
            return Err(Error::Usage(format!(
                "--allow-env {}: variables that look like credentials cannot be exposed to expressions",
                shown(&name)
            )));
        }
        allowed.push(name);
    }
    Ok(allowed)
}

/// The expressions see the inputs as they were resolved, whether from flags or env; the
/// same values feed the placeholders: {{SOURCE_COMMIT}} as {{VERSION}}.
fn inputs_for_expressions(
    env: &Env,
    version: &Version,
    inputs: [(&str, &Option<String>); 5],
) -> (Env, Vec<(String, String)>) {
    let mut expr_env = env.clone();
    expr_env.insert("VERSION".into(), version.to_string());
    let mut placeholder_args = vec![("VERSION".to_string(), version.to_string())];
    for (k, v) in inputs {
        if let Some(v) = v {
            expr_env.insert(k.into(), v.clone());
            placeholder_args.push((k.into(), v.clone()));
        }
    }
    (expr_env, placeholder_args)
}

/// `--pull-request` (a branch of ours, or AGit) and `--auto-merge`. The component names the
/// pull request's branch, so it must be a safe ref component.
fn pull_request_mode(
    arg: Option<&str>,
    auto_merge: Option<&'static str>,
    component: &str,
) -> Result<Option<PullRequestMode>> {
    let agit = match arg.map(str::trim) {
        None | Some("" | "false" | "0" | "no") => None,
        Some("true" | "1" | "yes" | "branch") => Some(false),
        Some("agit") => Some(true),
        Some(other) => {
            return Err(Error::Usage(format!(
                "--pull-request={}: expected true (a branch of ours), agit or false",
                shown(other)
            )))
        }
    };
    let Some(agit) = agit else {
        if auto_merge.is_some() {
            return Err(Error::Usage(
                "--auto-merge merges the pull request that --pull-request opens: add --pull-request".into(),
            ));
        }
        return Ok(None);
    };
    let component_ok = component
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !component.starts_with('.')
        && !component.contains("..");
    if !component_ok {
        return Err(Error::Usage(format!(
            "--pull-request: the component {} names the pull request's branch, so it may use only letters, digits and . _ -; set --component",
            shown(component)
        )));
    }
    Ok(Some(PullRequestMode { auto_merge, agit }))
}

/// A pull request of ours is opened through the API; AGit opens it in the push itself, and
/// only its auto-merge needs the API.
fn needs_no_api(mode: Option<&PullRequestMode>) -> Result<()> {
    if mode.is_some_and(|m| !m.agit || m.auto_merge.is_some()) {
        return Err(Error::Usage(
            "--pull-request opens the pull request through Gitea's API: it needs GITEA_API_URL, GITEA_TOKEN and the repository as owner/name".into(),
        ));
    }
    Ok(())
}

/// git's own switches, read as git reads them.
fn git_config(env: &Env) -> crate::git::ConfigScope {
    crate::git::ConfigScope {
        skip_system: env.get("GIT_CONFIG_NOSYSTEM").is_some_and(|v| {
            !v.is_empty() && !["0", "false", "no", "off"].contains(&v.to_ascii_lowercase().as_str())
        }),
        skip_global: env.contains_key("GIT_CONFIG_GLOBAL"),
    }
}
