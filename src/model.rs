//! The validated values every stage passes on: a version, a path inside the repository, a
//! secret, the repository to update, a person. Each type can only hold a valid value, so a
//! stage that takes one need not check it again.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// A version as consumers publish it: `1.4.2`, `v2.0.0-rc.1+build.7`; pinned to an image
/// digest, `1.4.2@sha256:<64 hex>`; or a bare digest, `sha256:<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(String);

/// The digest algorithms a version may carry, with the hex digits each takes.
const DIGESTS: [(&str, usize); 2] = [("sha256", 64), ("sha512", 128)];

impl Version {
    /// The longest version, not counting a digest.
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Version> {
        let bad = |why: String| Error::Version {
            shown: shown(s),
            why,
        };
        if s.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if s.chars().any(|c| c.is_whitespace()) {
            return Err(bad("it contains white space".into()));
        }
        let (tag, digest) = match s.split_once('@') {
            Some((tag, digest)) => {
                if tag.is_empty() {
                    return Err(bad("nothing stands before the `@`".into()));
                }
                let why = digest_problem(digest).map(|why| format!("after the `@`, {why}"));
                (tag, why)
            }
            // A `:` makes it a bare digest, or nothing.
            None if s.contains(':') => {
                return digest_problem(s).map_or(Ok(Version(s.into())), |why| Err(bad(why)))
            }
            None => (s, None),
        };
        if let Some(why) = digest {
            return Err(bad(why));
        }
        if tag.chars().count() > Self::MAX_LEN {
            return Err(bad("it is longer than 128 characters".into()));
        }
        if !tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        {
            return Err(bad(
                "it contains a character other than letters, digits and . _ + - (and one @ before a digest)".into(),
            ));
        }
        Ok(Version(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest it carries or is (`sha256:<hex>`), if any.
    pub fn digest(&self) -> Option<&str> {
        match self.0.split_once('@') {
            Some((_, digest)) => Some(digest),
            None => self.0.contains(':').then_some(self.0.as_str()),
        }
    }
}

/// What is wrong with `s` as a digest, `sha256:<64 lowercase hex>` or
/// `sha512:<128 lowercase hex>`; `None` when nothing is.
pub fn digest_problem(s: &str) -> Option<String> {
    let Some((alg, hex)) = s.split_once(':') else {
        return Some(format!(
            "{} is not a digest: expected sha256:<64 hex digits> or sha512:<128 hex digits>",
            shown(s)
        ));
    };
    let Some(&(_, len)) = DIGESTS.iter().find(|(a, _)| *a == alg) else {
        return Some(format!(
            "the digest algorithm {} is not sha256 or sha512",
            shown(alg)
        ));
    };
    if let Some(c) = hex
        .chars()
        .find(|c| !(c.is_ascii_digit() || ('a'..='f').contains(c)))
    {
        let what = if c.is_ascii_hexdigit() {
            "an upper-case hex digit".to_string()
        } else {
            format!("{}, not a hex digit", shown(&c.to_string()))
        };
        return Some(format!(
            "the {alg} digest holds {what}; it takes {len} lowercase hex digits"
        ));
    }
    let found = hex.len();
    (found != len).then(|| format!("a {alg} digest has {len} hex digits, not {found}"))
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
                ".." => return Err(bad("a path in the repository may not contain `..`")),
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
    let Some((scheme, rest)) = url.split_once("://") else {
        // `user:pass@host:path`, the scp-like form (a `:` before any `/`, as git tells it
        // from a path): everything up to its last `@`. A path is a path, `@` and all.
        let scp_like = url
            .find(':')
            .is_some_and(|colon| url.find('/').is_none_or(|slash| colon < slash));
        // A user name alone (`git@`) is no secret, and says which account is meant.
        return match url
            .rfind('@')
            .filter(|at| scp_like && url[..*at].contains(':'))
        {
            Some(at) => url[at + 1..].to_string(),
            None => url.to_string(),
        };
    };
    match userinfo_end(rest) {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Where the user info of a URL's remainder after `://` ends: its last `@`, wherever it
/// is. Not the last before the first `/`, `?` or `#`: a password pasted with one of those
/// unencoded (which no valid URL holds, and people paste anyway) would then be shown as
/// the host, path or query. The price, an `@` in a path or query shown cut short, is no
/// leak; no Gitea owner or repository name has one.
fn userinfo_end(rest: &str) -> Option<usize> {
    rest.rfind('@')
}

/// The GitOps repository to update.
#[derive(Debug, Clone)]
pub struct Target {
    /// The address git talks to: user info the address carried is in `userinfo` instead,
    /// except in an SSH origin a dry run only reads from.
    pub remote: SafeUrl,
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

/// An address from outside (`GITEA_API_URL`, `--server`, `--repo`, a checkout's origin)
/// that cannot print its user info, as uv's `DisplaySafeUrl`: its `Display` and `Debug`
/// show it redacted, so a config that holds one can be shown, logged or panicked with. The
/// text as given is reached only through `expose`. It is kept as text, not as a `url::Url`:
/// a path or an scp-like `user@host:path` is no URL to the url crate, and a password pasted
/// unencoded with a `/` or `@` would be parsed as host or path, then shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl(String);

impl SafeUrl {
    pub fn new(url: impl Into<String>) -> SafeUrl {
        SafeUrl(url.into())
    }

    /// The address as given, user info and all: for libgit2, never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether git reaches it over http(s), rather than as a path or `file://`.
    pub fn is_http(&self) -> bool {
        self.0.starts_with("http://") || self.0.starts_with("https://")
    }

    /// The server's web root, from an API URL that may end in `/api/v1` and a slash: no user
    /// info, no `/api/v1`, no trailing `/`. Never with the user info: the base goes into
    /// commit statuses' links and pull requests' descriptions, which anyone who can read
    /// the repository sees.
    pub fn base(&self) -> String {
        let redacted = self.to_string();
        let t = redacted.trim_end_matches('/');
        t.strip_suffix("/api/v1")
            .unwrap_or(t)
            .trim_end_matches('/')
            .to_string()
    }
}

impl std::fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl std::fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

impl Target {
    pub fn parse(repo: &str, server: Option<&str>) -> Result<Target> {
        for (what, text) in [
            ("GITOPS_REPO (--repo)", Some(repo)),
            ("GITEA_API_URL (--server)", server),
        ] {
            if text.is_some_and(|t| {
                t.chars()
                    .any(|c| c.is_control() || crate::chars::is_bidi(c))
            }) {
                return Err(Error::Usage(format!(
                    "{what} contains a control or bidirectional character: give the repository's address as plain text"
                )));
            }
        }
        if is_slug(repo) {
            let Some(server) = server.filter(|s| !s.is_empty()) else {
                return Err(Error::Usage(format!(
                    "GITOPS_REPO is {}, a owner/name slug, but no server is known: set GITEA_API_URL or --server, or give the repository's full URL",
                    shown(repo)
                )));
            };
            let server = SafeUrl::new(server);
            if !server.is_http() {
                return Err(Error::Usage(format!(
                    "the server URL {} must start with https:// or http://",
                    shown(&server.to_string())
                )));
            }
            return Ok(Target::new(
                SafeUrl::new(format!("{}/{repo}.git", server.base())),
                Some(repo.to_string()),
                None,
            ));
        }
        let split = repo.split_once("://");
        let scheme = split.map(|(scheme, _)| scheme);
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
        // Cut where `redact_url` cuts, not where the url crate would: see `userinfo_end`.
        let userinfo = split.and_then(|(_, rest)| {
            let info = &rest[..userinfo_end(rest)?];
            let (user, pass) = info.split_once(':').unwrap_or((info, ""));
            Some((user.to_string(), Token(pass.to_string())))
        });
        // Git is given the address without its user info, which it asks for instead.
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
        Ok(Target::new(SafeUrl::new(url), slug, userinfo))
    }

    /// A remote taken as it is, as a dry run reads an SSH origin it cannot fetch from.
    pub fn new(remote: SafeUrl, slug: Option<String>, userinfo: Option<(String, Token)>) -> Target {
        Target {
            remote,
            slug,
            userinfo,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pushed {
        commit: git2::Oid,
        previous: git2::Oid,
    },
    UpToDate {
        tip: git2::Oid,
    },
    DryRun {
        tip: git2::Oid,
    },
    /// A newer version than the one asked for is already in the file: nothing was written
    /// (issue 30, out-of-order pipelines). Not a failure.
    Superseded {
        tip: git2::Oid,
        newer: Newer,
    },
}

/// Why a run writes nothing though its edit changes the file (issue 30): the file, the
/// value's path, the newer version recorded for it, and, when the value was moved back
/// below that version since, what it holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newer {
    pub file: String,
    pub path: String,
    pub recorded: String,
    /// Set when the file no longer holds `recorded` but this older version: someone moved
    /// it back after the tool recorded `recorded`, and that rollback is kept.
    pub rolled_back_to: Option<String>,
}

impl Newer {
    /// The value and why `version` is not written over it, for the report's line and the
    /// run's progress line alike.
    pub fn why(&self, version: &str) -> String {
        let Newer {
            file,
            path,
            recorded,
            rolled_back_to,
        } = self;
        match rolled_back_to {
            Some(held) => format!(
                "{file} {path} holds {held}, older than the {recorded} gitops-update recorded there before (a rollback, kept); {version} is not newer than {recorded}"
            ),
            None => format!("{file} {path} already holds {recorded}, newer than {version}"),
        }
    }
}

/// A pull request the run opened or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// None when an AGit push's server did not say which pull request it was.
    pub number: Option<u64>,
    pub url: String,
    /// Merged by `--auto-merge` at once; otherwise it waits for review or checks.
    pub merged: bool,
}

/// Who a commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

pub const BOT: (&str, &str) = ("gitops-update", "gitops-update@noreply.localhost");

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

/// A character of a dispatch id: letters, digits and `- _ .`, safe in URLs, titles and
/// output lines.
pub fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// The first seven characters of a commit id, for people. Never slices inside a character,
/// whatever a server sent.
pub fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// 128 bits from the standard library's per-process random keys and the clock.
pub fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_u64(salt);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// A jittered, capped exponential back-off: `base`, doubling `doublings` times, at most
/// `cap`, and then anything between half of that and all of it, so that writers who
/// collided do not collide again in step.
pub fn backoff(base: Duration, doublings: u32, cap: Duration) -> Duration {
    let cap_ms = (base.as_millis() as u64)
        .saturating_mul(1 << doublings.min(30))
        .min(cap.as_millis() as u64);
    let r = u64::from_str_radix(random_hex().get(..12).unwrap_or("0"), 16).unwrap_or(0);
    Duration::from_millis(cap_ms / 2 + r % (cap_ms / 2 + 1))
}

/// What `verify` found of one commit's provenance (src/provenance/verify.rs).
pub enum Verdict {
    /// A commit the tool did not make (no update title): nothing to check.
    NotAnUpdate,
    Verified(Chain),
    Failed {
        chain: Option<Chain>,
        why: String,
    },
}

/// `source repo@commit → version → GitOps commit → files`, and who signed it.
#[derive(Debug, Clone)]
pub struct Chain {
    pub source_repo: Option<String>,
    pub source_commit: Option<String>,
    pub version: String,
    pub component: String,
    pub dispatch_id: Option<String>,
    pub run: Option<String>,
    pub files: Vec<String>,
    pub signature: Signed,
}

#[derive(Debug, Clone)]
pub enum Signed {
    /// The envelope carries no signature, as the statement says.
    Unsigned,
    /// Signed by this key id; not checked, since no keys were given.
    Unchecked(String),
    /// Verified with this key, allowed for these principals (or the OpenPGP user IDs).
    Verified { key: String, by: String },
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
        assert_eq!(
            t.remote.to_string(),
            "https://git.example.com/acme/deploy.git"
        );
        assert_eq!(t.slug.as_deref(), Some("acme/deploy"));
        let t = Target::parse("https://bot:s3cret@git.example.com/acme/deploy.git", None).unwrap();
        assert_eq!(
            t.remote.to_string(),
            "https://git.example.com/acme/deploy.git"
        );
        assert_eq!(t.userinfo.as_ref().unwrap().1.expose(), "s3cret");
        assert!(!format!("{t:?}").contains("s3cret"), "{t:?}");
        assert!(Target::parse("acme/deploy", None).is_err());
        assert!(Target::parse("git@host:acme/deploy.git", None).is_err());
        assert!(Target::parse("ftp://host/x", None).is_err());
        assert_eq!(
            Target::parse("/srv/git/deploy.git", None)
                .unwrap()
                .remote
                .to_string(),
            "/srv/git/deploy.git"
        );
    }

    #[test]
    fn a_safe_url_never_shows_its_user_info() {
        let u = SafeUrl::new("https://bot:s3/cr3t@git.example.com/api/v1");
        assert_eq!(u.to_string(), "https://git.example.com/api/v1");
        assert_eq!(format!("{u:?}"), "\"https://git.example.com/api/v1\"");
        assert_eq!(u.base(), "https://git.example.com");
    }

    #[test]
    fn a_remote_shows_no_password_but_gives_it_to_git() {
        for (given, shown) in [
            ("bot:S3/cr3t@h:o/r.git", "h:o/r.git"),
            ("ssh://bot:s3cr3t@h/o/r.git", "ssh://h/o/r.git"),
            ("git@h:o/r.git", "git@h:o/r.git"),
        ] {
            let t = Target::new(SafeUrl::new(given), None, None);
            assert_eq!(t.remote.to_string(), shown);
            assert_eq!(t.remote.expose(), given);
            assert!(!format!("{t:?}").contains("cr3t"), "{t:?}");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_url("https://u:p@h/x"), "https://h/x");
        assert_eq!(redact_url("http://h:8080/x"), "http://h:8080/x");
        // Passwords pasted with an unencoded / or @ are not shown as host or path.
        assert_eq!(
            redact_url("https://bot:s3/cr3t@h/o/r.git"),
            "https://h/o/r.git"
        );
        assert_eq!(
            redact_url("https://bot:a@b/c@h/o/r.git"),
            "https://h/o/r.git"
        );
        assert_eq!(
            redact_url("https://bot:S3#cr3t@h/o/r.git"),
            "https://h/o/r.git"
        );
        assert_eq!(
            redact_url("https://bot:S3?cr3t@h/o/r.git"),
            "https://h/o/r.git"
        );
        assert_eq!(redact_url("bot:S3/cr3t@h:o/r.git"), "h:o/r.git");
        assert_eq!(redact_url("/srv/git/a@b.git"), "/srv/git/a@b.git");
        assert_eq!(
            SafeUrl::new("https://bot:s3cr3t@git.example.com/api/v1/").base(),
            "https://git.example.com"
        );
        let t = Target::parse("https://bot:s3/cr3t@h/o/r.git", None).unwrap();
        assert_eq!(t.remote.to_string(), "https://h/o/r.git");
        assert_eq!(
            t.userinfo.map(|(u, p)| (u, p.expose().to_string())),
            Some(("bot".into(), "s3/cr3t".into()))
        );
    }

    #[test]
    fn branch_names() {
        assert!(git_ref_ok("main") && git_ref_ok("release/1.x"));
        for bad in ["", "-x", "a..b", "a b", "a~1", "x.lock", "a/", "@{u}x"] {
            assert!(!git_ref_ok(bad), "{bad}");
        }
    }

    #[test]
    fn short_shas_never_slice_inside_a_character() {
        assert_eq!(short("0123456789"), "0123456");
        assert_eq!(short("ab"), "ab");
        assert_eq!(short("ééééé"), "ééééé", "byte 7 is inside a character");
    }
}
