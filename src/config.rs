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

/// A secret. It prints as `***` in every `Debug` and `Display`, so no log line, error or
/// panic message can carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: String) -> Token {
        Token(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A path inside the repository: relative, normalised, never into `.git`, never `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

impl RepoPath {
    pub fn parse(s: &str) -> Result<RepoPath> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "invalid file {}: {why}; give a path relative to the repository root, such as charts/app/values.yaml",
                shown(s)
            ))
        };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.contains('\0') || s.chars().any(char::is_control) {
            return Err(bad("it contains a control character"));
        }
        if s.starts_with('/') || s.starts_with('\\') || s.get(1..3) == Some(":\\") {
            return Err(bad("it is absolute"));
        }
        let mut parts = Vec::new();
        for part in s.split('/') {
            match part {
                "" | "." => continue,
                ".." => return Err(bad("it leaves the repository (`..`)")),
                p if p.eq_ignore_ascii_case(".git") => return Err(bad("it points into .git")),
                p => parts.push(p),
            }
        }
        if parts.is_empty() || s.ends_with('/') {
            return Err(bad("it names a directory"));
        }
        Ok(RepoPath(parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Removes user info from a URL (`https://user:secret@host/x` becomes `https://host/x`), for
/// every message that shows one.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The GitOps repository to update.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL git talks to, without user info.
    pub url: String,
    /// `owner/name`, when known (for the commit status and the summary line).
    pub slug: Option<String>,
    /// Credentials that were written into the URL, moved out of it.
    pub userinfo: Option<(String, Token)>,
}

pub(crate) fn is_slug(s: &str) -> bool {
    let mut parts = s.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                && p != "."
                && p != ".."
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The server's web root from `GITEA_API_URL`, which may end in `/api/v1` and a slash.
pub fn server_base(api_url: &str) -> String {
    let t = api_url.trim_end_matches('/');
    t.strip_suffix("/api/v1")
        .unwrap_or(t)
        .trim_end_matches('/')
        .to_string()
}

impl Target {
    pub fn parse(repo: &str, server: Option<&str>) -> Result<Target> {
        if is_slug(repo) {
            let Some(server) = server.filter(|s| !s.is_empty()) else {
                return Err(Error::Usage(format!(
                    "GITOPS_REPO is {}, a owner/name slug, but no server is known: set GITEA_API_URL or --server, or give the repository's full URL",
                    shown(repo)
                )));
            };
            if !(server.starts_with("https://") || server.starts_with("http://")) {
                return Err(Error::Usage(format!(
                    "the server URL {} must start with https:// or http://",
                    shown(&redact_url(server))
                )));
            }
            return Ok(Target {
                url: format!("{}/{repo}.git", server_base(&redact_url(server))),
                slug: Some(repo.to_string()),
                userinfo: None,
            });
        }
        let scheme = repo.split("://").next().filter(|_| repo.contains("://"));
        match scheme {
            Some("https" | "http") => {}
            Some("file") => {}
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unsupported repository URL scheme `{other}`: use https://, http://, file://, a path, or owner/name"
                )))
            }
            None if repo.contains('@') && repo.contains(':') => {
                return Err(Error::Usage(
                    "SSH repository addresses are not supported: use https:// with GITEA_TOKEN".into(),
                ))
            }
            None => {}
        }
        let userinfo = scheme.and_then(|_| {
            let rest = &repo[repo.find("://")? + 3..];
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            let info = &authority[..authority.rfind('@')?];
            let (user, pass) = info.split_once(':').unwrap_or((info, ""));
            Some((user.to_string(), Token(pass.to_string())))
        });
        let url = redact_url(repo);
        // Only a server URL names an owner/name; a path's last two parts need not.
        let slug = if scheme.is_some_and(|s| s.starts_with("http")) {
            let path = url.trim_end_matches('/').trim_end_matches(".git");
            let mut it = path.rsplit('/');
            match (it.next(), it.next()) {
                (Some(name), Some(owner)) if is_slug(&format!("{owner}/{name}")) => {
                    Some(format!("{owner}/{name}"))
                }
                _ => None,
            }
        } else {
            None
        };
        Ok(Target {
            url,
            slug,
            userinfo,
        })
    }
}

/// Who a commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

pub const BOT: (&str, &str) = ("gitops-update", "gitops-update@noreply.localhost");

/// Everything `gitops-update run` needs, validated.
#[derive(Debug)]
pub struct RunConfig {
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
    /// `GITEA_API_URL`, for the commit status.
    pub api_url: Option<String>,
    pub json: bool,
    pub workdir: PathBuf,
    pub bindings: Bindings,
    /// `$GITHUB_OUTPUT` and `$GITEA_OUTPUT`, whichever are set.
    pub output_files: Vec<PathBuf>,
    pub step_summary: Option<PathBuf>,
}

/// The component in the summary line: the repository's name, with `-<prefix>` for a tag
/// prefix (`api/` gives `app-api`), so that one monorepo's components stay apart.
pub fn component_name(repo: &str, tag_prefix: Option<&str>) -> String {
    let base = repo
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(repo);
    match tag_prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{base}-{}", p.replace('/', "-")),
        None => base.to_string(),
    }
}

/// The step output files: `$GITHUB_OUTPUT` and `$GITEA_OUTPUT`, whichever are set, once each.
pub fn output_files(env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for k in ["GITHUB_OUTPUT", "GITEA_OUTPUT"] {
        if let Some(p) = env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from) {
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    files
}

/// Names an expression may read in the update run, besides those given with --allow-env.
pub const RUN_ENV_ALLOWLIST: [&str; 5] = [
    "VERSION",
    "SOURCE_REPO",
    "SOURCE_COMMIT",
    "DISPATCH_ID",
    "GIT_TAG_PREFIX",
];

pub fn parse_duration(s: &str) -> Result<std::time::Duration> {
    let bad = || {
        Error::Usage(format!(
            "invalid --timeout {}: use a number with ms, s or m, such as 30s",
            shown(s)
        ))
    };
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        _ => return Err(bad()),
    };
    if ms == 0 || ms > 3_600_000 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// A free-text input that ends up in a commit message or an output line: one line, bounded.
pub(crate) fn one_line(name: &str, v: Option<String>) -> Result<Option<String>> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().any(char::is_control) || v.len() > 256 {
        return Err(Error::Usage(format!(
            "{name} {} must be one line of at most 256 characters",
            shown(&v)
        )));
    }
    Ok(Some(v))
}

impl RunConfig {
    pub fn resolve(args: crate::cli::RunArgs, env: BTreeMap<String, String>) -> Result<RunConfig> {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let version = match args.version.filter(|v| !v.is_empty()) {
            Some(v) => Version::parse(&v)?,
            None => {
                return Err(Error::Usage(
                    "no version: set VERSION or pass --version X.Y.Z".into(),
                ))
            }
        };
        let mut edits = Vec::new();
        match (args.file.filter(|f| !f.is_empty()), args.expression.filter(|e| !e.is_empty())) {
            (Some(f), Some(e)) => edits.push((RepoPath::parse(&f)?, e)),
            (Some(_), None) => return Err(Error::Usage("INPUT_FILE is set but YQ_TPL is not: give the expression with YQ_TPL or --expression".into())),
            (None, Some(_)) => return Err(Error::Usage("YQ_TPL is set but INPUT_FILE is not: give the file with INPUT_FILE or --file".into())),
            (None, None) => {}
        }
        for set in &args.set {
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
        let server = args.server.filter(|s| !s.is_empty());
        let Some(repo) = args.repo.filter(|r| !r.is_empty()) else {
            return Err(Error::Usage(
                "no repository: set GITOPS_REPO or pass --repo (owner/name, or a git URL or path)"
                    .into(),
            ));
        };
        let target = Target::parse(&repo, server.as_deref())?;
        let branch = match args.branch.filter(|b| !b.is_empty()) {
            Some(b) => {
                let b = b.strip_prefix("refs/heads/").unwrap_or(&b).to_string();
                if !git_ref_ok(&b) {
                    return Err(Error::Usage(format!("invalid branch name {}", shown(&b))));
                }
                Some(b)
            }
            None => None,
        };
        let source_repo = one_line("SOURCE_REPO", args.source_repo)?;
        let source_commit = one_line("SOURCE_COMMIT", args.source_commit)?;
        let dispatch_id = one_line("DISPATCH_ID", args.dispatch_id)?;
        let tag_prefix = one_line("GIT_TAG_PREFIX", args.tag_prefix)?;
        let component = match one_line("--component", args.component)? {
            Some(c) => c,
            None => {
                let repo = source_repo
                    .as_deref()
                    .or(target.slug.as_deref())
                    .unwrap_or("gitops");
                component_name(repo, tag_prefix.as_deref())
            }
        };
        let person = |name: Option<String>,
                      email: Option<String>,
                      fallback: Option<&Person>|
         -> Result<Person> {
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
        };
        let author = person(args.author_name, args.author_email, None)?;
        let committer = person(args.committer_name, args.committer_email, Some(&author))?;
        if args.max_attempts == 0 || args.max_attempts > 100 {
            return Err(Error::Usage(
                "--max-attempts must be between 1 and 100".into(),
            ));
        }
        let timeout = parse_duration(&args.timeout)?;
        let mut allowed: Vec<String> = RUN_ENV_ALLOWLIST.iter().map(|s| s.to_string()).collect();
        for name in args.allow_env {
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
        // The expressions see the inputs as they were resolved, whether from flags or env.
        let mut expr_env = env.clone();
        expr_env.insert("VERSION".into(), version.to_string());
        for (k, v) in [
            ("SOURCE_REPO", &source_repo),
            ("SOURCE_COMMIT", &source_commit),
            ("DISPATCH_ID", &dispatch_id),
            ("GIT_TAG_PREFIX", &tag_prefix),
        ] {
            if let Some(v) = v {
                expr_env.insert(k.into(), v.clone());
            }
        }
        let output_files = output_files(&env);
        let token = get("GITEA_TOKEN")
            .map(Token)
            .or_else(|| target.userinfo.as_ref().map(|(_, t)| t.clone()));
        Ok(RunConfig {
            edits,
            bindings: Bindings {
                args: vec![("VERSION".into(), version.to_string())],
                env: expr_env,
                policy: EnvPolicy::Allow(allowed),
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
            api_url: server.clone(),
            json: args.output == crate::cli::Format::Json,
            workdir: args.workdir.unwrap_or_else(|| PathBuf::from(".")),
            output_files,
            step_summary: get("GITHUB_STEP_SUMMARY")
                .or_else(|| get("GITEA_STEP_SUMMARY"))
                .map(PathBuf::from),
        })
    }
}

/// The rules of `git check-ref-format` that matter for a branch given in a workflow.
pub(crate) fn git_ref_ok(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= 200
        && !b.starts_with(['-', '/', '.'])
        && !b.ends_with(['/', '.'])
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("//")
        && !b.contains("@{")
        && !b.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c))
}

#[cfg(test)]
mod run_tests {
    use super::*;

    #[test]
    fn repo_paths() {
        assert_eq!(
            RepoPath::parse("./charts//app/values.yaml")
                .unwrap()
                .as_str(),
            "charts/app/values.yaml"
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            ".git/config",
            "a/.GIT/hooks/x",
            "dir/",
            "a\0b",
            "C:\\x",
        ] {
            assert!(RepoPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn targets() {
        let t = Target::parse("acme/deploy", Some("https://git.example.com/api/v1/")).unwrap();
        assert_eq!(t.url, "https://git.example.com/acme/deploy.git");
        assert_eq!(t.slug.as_deref(), Some("acme/deploy"));
        let t = Target::parse("https://bot:s3cret@git.example.com/acme/deploy.git", None).unwrap();
        assert_eq!(t.url, "https://git.example.com/acme/deploy.git");
        assert_eq!(t.userinfo.as_ref().unwrap().1.expose(), "s3cret");
        assert!(!format!("{t:?}").contains("s3cret"), "{t:?}");
        assert!(Target::parse("acme/deploy", None).is_err());
        assert!(Target::parse("git@host:acme/deploy.git", None).is_err());
        assert!(Target::parse("ftp://host/x", None).is_err());
        assert_eq!(
            Target::parse("/srv/git/deploy.git", None).unwrap().url,
            "/srv/git/deploy.git"
        );
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_url("https://u:p@h/x@y"), "https://h/x@y");
        assert_eq!(redact_url("http://h:8080/x"), "http://h:8080/x");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap().as_millis(), 30_000);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_duration("2m").unwrap().as_millis(), 120_000);
        assert_eq!(parse_duration("5").unwrap().as_millis(), 5_000);
        for bad in ["", "0s", "x", "5h", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn component_names() {
        assert_eq!(component_name("acme/app", None), "app");
        assert_eq!(component_name("acme/app", Some("api/")), "app-api");
        assert_eq!(component_name("acme/app", Some("svc/api/")), "app-svc-api");
        assert_eq!(component_name("app", Some("")), "app");
    }

    #[test]
    fn branch_names() {
        assert!(git_ref_ok("main") && git_ref_ok("release/1.x"));
        for bad in ["", "-x", "a..b", "a b", "a~1", "x.lock", "a/", "@{u}x"] {
            assert!(!git_ref_ok(bad), "{bad}");
        }
    }
}
