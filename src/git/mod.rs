//! Git through libgit2: the workspace (the checkout the command runs in, or a temporary bare
//! repository), reading files from the branch tip, building commits from trees in memory,
//! fetching and pushing.
//!
//! No work tree is needed: a file is read from the tip's tree and the new commit's tree is
//! built from the old one with the new blobs, so a repository of 10,000 files costs one
//! shallow fetch. The token reaches libgit2 only through the credentials callback; it is
//! never put in a URL, a config file or a message.

use std::path::{Path, PathBuf};

use git2::{Cred, CredentialType, ErrorClass, ErrorCode, RemoteCallbacks, Repository};

mod checkout;
mod commit;
mod fetch;
mod local;
mod notes;
mod push;
mod stream;

pub use push::Push;

use crate::error::{Error, Result};
use crate::model::{redact_url, SafeUrl, Target, Token};

/// What opening the workspace needs: where the repository is, how to authenticate, which
/// branch, where a checkout may be, and how long to wait on the network.
pub struct Options<'a> {
    pub target: &'a Target,
    pub token: Option<&'a Token>,
    pub branch: Option<&'a str>,
    pub workdir: &'a Path,
    pub timeout: std::time::Duration,
    /// Which of the user's and the machine's git configuration to read.
    pub config: ConfigScope,
    /// A dry run: nothing the user owns may change, not even a checkout's shallowness.
    pub dry_run: bool,
}

/// git's own switches, honoured the same way: `GIT_CONFIG_NOSYSTEM` skips the machine's
/// configuration, `GIT_CONFIG_GLOBAL` the user's (libgit2 cannot read a file named there,
/// so a run that sets it reads none). The tests run hermetic this way, as cargo's do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigScope {
    pub skip_system: bool,
    pub skip_global: bool,
}

fn set_search_paths(scope: ConfigScope) -> Result<()> {
    use git2::ConfigLevel;
    let mut skip = Vec::new();
    if scope.skip_system {
        skip.extend([ConfigLevel::System, ConfigLevel::ProgramData]);
    }
    if scope.skip_global {
        skip.extend([ConfigLevel::Global, ConfigLevel::XDG]);
    }
    for level in skip {
        // An empty search path: no directory to look in.
        unsafe { git2::opts::set_search_path(level, "") }.map_err(|e| {
            Error::Internal(format!(
                "cannot set git's config search path: {}",
                e.message()
            ))
        })?;
    }
    Ok(())
}

/// Where the fetched tip is kept, so that nothing the user owns is touched.
const TIP_REF: &str = "refs/gitops-update/tip";
/// Where `fetch_branch` keeps the tip of another branch it fetched.
const PENDING_REF: &str = "refs/gitops-update/pending";
/// Where the provenance notes fetched from the server are kept, and our note is added.
const NOTES_LOCAL: &str = "refs/gitops-update/notes";
/// The commit to push: libgit2 pushes references, not bare object ids.
const PUSH_REF: &str = "refs/gitops-update/push";

pub struct Git {
    repo: Repository,
    url: SafeUrl,
    user: String,
    token: Option<Token>,
    /// `AUTHORIZATION: ...` persisted by actions/checkout in the checkout's config.
    extra_header: Option<String>,
    /// libgit2 cannot fetch shallow over file:// or a path.
    local_transport: bool,
    /// Whether a fetch may be shallow (depth 1): in a repository of ours, or a checkout that
    /// is shallow already; never one that would become shallow.
    shallow_fetch: bool,
    pub branch: String,
    /// Whether a fetch of the tip also fetches the provenance notes.
    pub with_notes: bool,
    /// The notes tip the server advertised on the last fetch.
    notes_tip: Option<git2::Oid>,
    /// The work tree, when running in a checkout of the target.
    pub checkout: Option<PathBuf>,
    /// The checkout's repository, when fetches go to a repository of their own (`repo`).
    user_repo: Option<Repository>,
    _tmp: Option<tempfile::TempDir>,
}

fn set_timeouts(timeout: std::time::Duration) -> Result<()> {
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // Both, always: libgit2 1.9 breaks every HTTP operation when only the connect timeout is set.
    unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(ms)
            .and_then(|_| git2::opts::set_server_timeout_in_milliseconds(ms))
            .map_err(|e| Error::Internal(format!("cannot set git timeouts: {}", e.message())))?;
    }
    // Sockets with TCP_NODELAY and the same timeouts (see stream.rs).
    stream::register(timeout).map_err(Error::Internal)
}

/// A URL as a key: no user info, no trailing `/` or `.git`, scheme and host as the url
/// crate normalises them (lower case, no default port). A path is its canonical form.
fn url_key(url: &str) -> String {
    // User info is cut as messages cut it, before parsing: a password with an unencoded
    // `/` or `@` would otherwise be parsed as the host.
    let u = redact_url(url);
    let key = |u: &str| u.trim_end_matches('/').trim_end_matches(".git").to_string();
    if !u.contains("://") {
        let u = key(&u);
        return std::fs::canonicalize(&u).map_or(u, |p| p.display().to_string());
    }
    key(url::Url::parse(&u).as_ref().map_or(&*u, url::Url::as_str))
}

/// The `origin` of the checkout at or above `dir`: where a local dry run with no `--repo`
/// updates. A relative path is taken from the checkout's root, as git takes it.
pub fn origin_url(dir: &Path) -> Option<String> {
    let repo = Repository::discover(dir).ok()?;
    let root = repo.workdir()?.to_path_buf();
    let url = repo.find_remote("origin").ok()?.url().ok()?.to_string();
    let is_path = !(url.contains("://") || (url.contains('@') && url.contains(':')));
    if is_path && Path::new(&url).is_relative() {
        return Some(root.join(&url).display().to_string());
    }
    Some(url)
}

/// The checkout at or above `dir` whose `origin` is `url`, if there is one.
fn find_checkout(dir: &Path, url: &str) -> Option<(Repository, PathBuf)> {
    let repo = Repository::discover(dir).ok()?;
    let root = repo.workdir()?.to_path_buf();
    let origin = repo.find_remote("origin").ok()?;
    let origin_url = origin.url().ok()?.to_string();
    drop(origin);
    (url_key(&origin_url) == url_key(url)).then_some((repo, root))
}

/// The `http.<url>.extraheader` that actions/checkout persisted for this remote.
fn extra_header(repo: &Repository, url: &str) -> Option<String> {
    let config = repo.config().ok()?;
    let mut entries = config.entries(Some(r"^http\..*\.extraheader$")).ok()?;
    let key = url_key(url);
    let mut found = None;
    while let Some(Ok(entry)) = entries.next() {
        let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else {
            continue;
        };
        let Some(prefix) = name
            .strip_prefix("http.")
            .and_then(|n| n.strip_suffix(".extraheader"))
        else {
            continue;
        };
        if key.starts_with(&url_key(prefix)) && !value.is_empty() {
            found = Some(value.to_string());
        }
    }
    found
}

/// A libgit2 error as one line. Authentication failures are told apart: retrying them is
/// pointless.
fn transport(what: &str, url: &SafeUrl, e: &git2::Error) -> Error {
    let msg = e.message().trim_end_matches('.').to_string();
    let lower = msg.to_ascii_lowercase();
    let auth = e.code() == ErrorCode::Auth
        || [
            "authentication",
            "credentials",
            "401",
            "403",
            "unauthorized",
            "forbidden",
        ]
        .iter()
        .any(|w| lower.contains(w));
    if auth {
        return Error::Auth(format!(
            "{what} {url}: {msg}; check that GITEA_TOKEN is set, valid, and may write to the repository"
        ));
    }
    // Gitea answers 404 for a private repository the token may not read
    // (routers/web/repo/githttp.go): not the network, and no retry will help.
    if lower.contains("status code: 404") {
        return Error::Auth(format!(
            "{what} {url}: {msg}; the repository does not exist or the token may not read it (a job token reaches only its own repository, and from Gitea 1.26 only what the workflow's `permissions:` grant: the update needs `contents: write`)"
        ));
    }
    let hint = match e.class() {
        _ if lower.contains("status code: 5") => {
            "; the server failed on its side: retry later, or see the server's log"
        }
        ErrorClass::Ssl | ErrorClass::Net if lower.contains("certificate") => {
            "; the server's certificate is not trusted: SSL_CERT_FILE may name a CA bundle that holds its issuer"
        }
        ErrorClass::Net | ErrorClass::Os | ErrorClass::Http | ErrorClass::Ssl => {
            "; check the URL and the network (the timeout is --timeout)"
        }
        _ => "",
    };
    Error::Transport(format!("{what} {url}: {msg}{hint}"))
}

/// An empty bare repository in a temporary directory, removed with it.
fn temporary_repository() -> Result<(Repository, tempfile::TempDir)> {
    // Private from its creation (the umask would make it 0755), and the repository inside
    // it rather than as it: libgit2's init opens its own directory to everyone. It holds
    // the GitOps repo's files.
    let (tmp, repo) = crate::cleanup::tempdir("gitops-update.", |dir| {
        Repository::init_bare(dir.join("repo"))
            .map_err(|e| format!("cannot create a repository: {}", e.message()))
    })
    .map_err(Error::Internal)?;
    Ok((repo, tmp))
}

/// A checkout keeps none of the refs a run works with.
impl Drop for Git {
    fn drop(&mut self) {
        if let Some(tmp) = &self._tmp {
            crate::cleanup::unregister(tmp.path());
            return;
        }
        for name in [TIP_REF, PUSH_REF, PENDING_REF, NOTES_LOCAL] {
            if let Ok(mut r) = self.repo.find_reference(name) {
                let _ = r.delete();
            }
        }
        let _ = std::fs::remove_dir(self.repo.path().join("refs/gitops-update"));
    }
}

impl Git {
    /// Opens the workspace: the checkout in `cfg.workdir` when its `origin` is the target,
    /// else an empty bare repository in a temporary directory that is removed on drop.
    pub fn open(cfg: &Options) -> Result<Git> {
        set_timeouts(cfg.timeout)?;
        set_search_paths(cfg.config)?;
        let url = cfg.target.remote.clone();
        let local_transport = !url.is_http();
        if let Some((host, port)) = url::Url::parse(url.expose())
            .ok()
            .filter(|_| !local_transport)
            .and_then(|u| Some((u.host_str()?.to_string(), u.port_or_known_default()?)))
        {
            stream::pin_origin(&host, port);
        }
        let user = cfg
            .target
            .userinfo
            .as_ref()
            .map_or("gitops-update".to_string(), |(u, _)| u.clone());
        if local_transport && !cfg.dry_run {
            local::refuse_hooks(&url)?;
        }
        let (repo, checkout, tmp) = match find_checkout(cfg.workdir, url.expose()) {
            Some((repo, root)) => (repo, Some(root), None),
            None => {
                let (repo, tmp) = temporary_repository()?;
                (repo, None, Some(tmp))
            }
        };
        // An explicit token wins over the job token that actions/checkout persisted: that
        // one cannot push to a protected branch on Gitea releases before the 2026 fix
        // (go-gitea/gitea#34567), which is why a workflow configures a bot token at all.
        let extra_header = match cfg.token {
            Some(_) => None,
            None => checkout
                .as_ref()
                .and_then(|_| extra_header(&repo, url.expose())),
        };
        let shallow_fetch = checkout.is_none() || repo.is_shallow();
        let mut git = Git {
            repo,
            url,
            user,
            token: cfg.token.cloned(),
            extra_header,
            local_transport,
            shallow_fetch,
            branch: String::new(),
            with_notes: false,
            notes_tip: None,
            checkout,
            user_repo: None,
            _tmp: tmp,
        };
        git.branch = match cfg.branch {
            Some(b) => b.to_string(),
            // Empty: the first fetch asks the remote, on the connection it fetches over.
            None => git.local_default_branch().unwrap_or_default(),
        };
        // A shallow checkout is fetched into a repository of its own, which reads the
        // checkout's objects, when a fetch into it would change its shallow list: any dry
        // run, and a local remote (libgit2 cannot fetch shallow there, and a full fetch
        // into a shallow clone drops its shallow file while the history stays missing).
        // After a push, what the checkout needs is imported (`follow_in_checkout`).
        if git.checkout.is_some() && git.repo.is_shallow() && (cfg.dry_run || local_transport) {
            let objects = git.repo.path().join("objects");
            let (repo, tmp) = temporary_repository()?;
            repo.odb()
                .and_then(|odb| odb.add_disk_alternate(&objects.display().to_string()))
                .map_err(|e| {
                    Error::Internal(format!(
                        "cannot read the checkout's objects: {}",
                        e.message()
                    ))
                })?;
            git.user_repo = Some(std::mem::replace(&mut git.repo, repo));
            git._tmp = Some(tmp);
            git.shallow_fetch = true;
        }
        Ok(git)
    }

    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// The checkout's own repository (`repo` itself, unless fetches go elsewhere).
    fn user(&self) -> &Repository {
        self.user_repo.as_ref().unwrap_or(&self.repo)
    }

    /// Credentials for libgit2: the token, offered once per connection (libgit2 asks again
    /// and again when it is refused). The callback owns its copies and its counter.
    pub(super) fn callbacks(&self) -> RemoteCallbacks<'static> {
        let (user, token) = (self.user.clone(), self.token.clone());
        let mut asked = false;
        let mut cb = RemoteCallbacks::new();
        cb.credentials(move |_url, username, allowed| {
            if std::mem::replace(&mut asked, true) {
                return Err(git2::Error::from_str(
                    "authentication failed: the server refused the credentials",
                ));
            }
            match &token {
                Some(t) if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) => {
                    Cred::userpass_plaintext(username.unwrap_or(&user), t.expose())
                }
                _ => Err(git2::Error::from_str(
                    "the server asks for credentials: set GITEA_TOKEN",
                )),
            }
        });
        cb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keys_ignore_credentials_and_suffix() {
        assert_eq!(
            url_key("https://u:p@Git.Example.com/a/b.git/"),
            "https://git.example.com/a/b"
        );
        assert_eq!(
            url_key("https://git.example.com/a/b"),
            "https://git.example.com/a/b"
        );
    }
}
