//! Git through libgit2: the workspace (the checkout the command runs in, or a temporary bare
//! repository), reading files from the branch tip, building commits from trees in memory,
//! fetching and pushing.
//!
//! No work tree is needed: a file is read from the tip's tree and the new commit's tree is
//! built from the old one with the new blobs, so a repository of 10,000 files costs one
//! shallow fetch. The token reaches libgit2 only through the credentials callback; it is
//! never put in a URL, a config file or a message.

use std::path::{Path, PathBuf};

use git2::{
    AutotagOption, Cred, CredentialType, Direction, ErrorClass, ErrorCode, FetchOptions, FileMode,
    ObjectType, Oid, PushOptions, RemoteCallbacks, RemoteUpdateFlags, Repository, Signature, Tree,
};

mod stream;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::model::{redact_url, Person, RepoPath, Token};

/// Where the fetched tip is kept, so that nothing the user owns is touched.
const TIP_REF: &str = "refs/gitops-update/tip";
/// The commit to push: libgit2 pushes references, not bare object ids.
const PUSH_REF: &str = "refs/gitops-update/push";

/// What the server said to a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    Accepted,
    /// Someone else pushed first: fetch, re-apply, try again.
    Stale(String),
    /// Refused for good (a hook, a protected branch, a permission).
    Rejected(String),
}

pub struct Git {
    repo: Repository,
    url: String,
    user: String,
    token: Option<Token>,
    /// `AUTHORIZATION: ...` persisted by actions/checkout in the checkout's config.
    extra_header: Option<String>,
    /// libgit2 cannot fetch shallow over file:// or a path.
    local_transport: bool,
    pub branch: String,
    /// The work tree, when running in a checkout of the target.
    pub checkout: Option<PathBuf>,
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

/// A URL as a key: no user info, no trailing `/` or `.git`, host in lower case.
fn url_key(url: &str) -> String {
    let u = redact_url(url);
    let u = u.trim_end_matches('/').trim_end_matches(".git").to_string();
    match u.find("://") {
        Some(i) => {
            let rest = &u[i + 3..];
            let host_end = rest.find('/').unwrap_or(rest.len());
            format!(
                "{}://{}{}",
                &u[..i].to_ascii_lowercase(),
                rest[..host_end].to_ascii_lowercase(),
                &rest[host_end..]
            )
        }
        None => std::fs::canonicalize(&u).map_or(u, |p| p.display().to_string()),
    }
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
fn transport(what: &str, url: &str, e: &git2::Error) -> Error {
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
            "{what} {}: {msg}; check that GITEA_TOKEN is set, valid, and may write to the repository",
            redact_url(url)
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
    Error::Transport(format!("{what} {}: {msg}{hint}", redact_url(url)))
}

/// The server's own words from the sideband, one line, without git's progress chatter.
fn server_said(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(|l| l.trim().trim_start_matches("remote:").trim())
        .filter(|l| !l.is_empty())
        .filter(|l| {
            ![
                "Resolving deltas",
                "Processing",
                "Counting",
                "Compressing",
                "Writing",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect();
    let joined: String = lines
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    (!joined.is_empty()).then_some(joined)
}

/// Whether a server's refusal means "someone pushed first": then the edit is re-applied.
fn is_stale(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "cannot lock ref",
        "incorrect old value",
        "stale info",
        "failed to update ref",
        "not a fast forward",
        "fast-forward",
    ]
    .iter()
    .any(|p| m.contains(p))
}

impl Git {
    /// Opens the workspace: the checkout in `cfg.workdir` when its `origin` is the target,
    /// else an empty bare repository in a temporary directory that is removed on drop.
    pub fn open(cfg: &RunConfig) -> Result<Git> {
        set_timeouts(cfg.timeout)?;
        let url = cfg.target.url.clone();
        let local_transport = !(url.starts_with("http://") || url.starts_with("https://"));
        let user = cfg
            .target
            .userinfo
            .as_ref()
            .map_or("gitops-update".to_string(), |(u, _)| u.clone());
        let (repo, checkout, tmp) = match find_checkout(&cfg.workdir, &url) {
            Some((repo, root)) => (repo, Some(root), None),
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("gitops-update.")
                    .tempdir()
                    .map_err(|e| {
                        Error::Internal(format!("cannot create a temporary directory: {e}"))
                    })?;
                let repo = Repository::init_bare(tmp.path()).map_err(|e| {
                    Error::Internal(format!("cannot create a repository: {}", e.message()))
                })?;
                (repo, None, Some(tmp))
            }
        };
        // An explicit token wins over the job token that actions/checkout persisted: that
        // one cannot push to a protected branch on Gitea releases before the 2026 fix
        // (go-gitea/gitea#34567), which is why a workflow configures a bot token at all.
        let extra_header = match cfg.token {
            Some(_) => None,
            None => checkout.as_ref().and_then(|_| extra_header(&repo, &url)),
        };
        let mut git = Git {
            repo,
            url,
            user,
            token: cfg.token.clone(),
            extra_header,
            local_transport,
            branch: String::new(),
            checkout,
            _tmp: tmp,
        };
        git.branch = match &cfg.branch {
            Some(b) => b.clone(),
            // Empty: the first fetch asks the remote, on the connection it fetches over.
            None => git.local_default_branch().unwrap_or_default(),
        };
        Ok(git)
    }

    pub fn url(&self) -> String {
        redact_url(&self.url)
    }

    /// Credentials for libgit2: the token, offered once per connection (libgit2 asks again
    /// and again when it is refused). The callback owns its copies and its counter.
    fn callbacks(&self) -> RemoteCallbacks<'static> {
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

    /// In a checkout: its current branch, or what `origin/HEAD` points at.
    fn local_default_branch(&self) -> Option<String> {
        self.checkout.as_ref()?;
        if let Ok(head) = self.repo.head() {
            if head.is_branch() {
                if let Ok(name) = head.shorthand() {
                    return Some(name.to_string());
                }
            }
        }
        let r = self.repo.find_reference("refs/remotes/origin/HEAD").ok()?;
        let target = r.symbolic_target().ok()??;
        Some(
            target
                .trim_start_matches("refs/remotes/origin/")
                .to_string(),
        )
    }

    /// Fetches the branch tip (depth 1 where the transport allows) and returns it. When no
    /// branch is known yet, the remote's default branch is read from the same connection.
    pub fn fetch_tip(&mut self) -> Result<Oid> {
        if let Ok(mut r) = self.repo.find_reference(TIP_REF) {
            let _ = r.delete();
        }
        let url = self.url.clone();
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(self.callbacks());
        if !self.local_transport {
            fo.depth(1);
        }
        let headers: Vec<&str> = self.extra_header.iter().map(String::as_str).collect();
        fo.custom_headers(&headers);
        let mut remote = self
            .repo
            .remote_anonymous(&url)
            .map_err(|e| transport("cannot open", &url, &e))?;
        let fetch_err = |e: git2::Error| transport("cannot fetch from", &url, &e);
        let branch = if self.branch.is_empty() {
            let mut conn = remote
                .connect_auth(Direction::Fetch, Some(self.callbacks()), None)
                .map_err(|e| transport("cannot connect to", &url, &e))?;
            let head = conn.default_branch().map_err(|e| {
                Error::Usage(format!(
                    "cannot tell the default branch of {} ({}); is the repository empty? Give the branch with --branch or GITOPS_BRANCH",
                    redact_url(&url),
                    e.message()
                ))
            })?;
            let head = head.as_str().unwrap_or_default();
            let branch = head.strip_prefix("refs/heads/").unwrap_or(head).to_string();
            let refspec = format!("+refs/heads/{branch}:{TIP_REF}");
            let remote = conn.remote();
            remote
                .download(&[&refspec], Some(&mut fo))
                .map_err(fetch_err)?;
            remote
                .update_tips(None, RemoteUpdateFlags::empty(), AutotagOption::None, None)
                .map_err(fetch_err)?;
            branch
        } else {
            let refspec = format!("+refs/heads/{}:{TIP_REF}", self.branch);
            remote
                .fetch(&[&refspec], Some(&mut fo), None)
                .map_err(fetch_err)?;
            self.branch.clone()
        };
        drop(remote);
        drop(fo);
        self.branch = branch;
        self.repo.refname_to_id(TIP_REF).map_err(|_| {
            Error::Usage(format!(
                "the branch {} does not exist in {}; give an existing branch with --branch or GITOPS_BRANCH",
                self.branch,
                redact_url(&self.url)
            ))
        })
    }

    /// The bytes and mode of `path` in the commit `tip`; `None` when there is no such file.
    pub fn read(&self, tip: Oid, path: &RepoPath) -> Result<Option<(Vec<u8>, i32)>> {
        let tree = self.commit_tree(tip)?;
        let entry = match tree.get_path(Path::new(path.as_str())) {
            Ok(e) => e,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(Error::Internal(e.message().to_string())),
        };
        match entry.kind() {
            Some(ObjectType::Blob) if entry.filemode() != i32::from(FileMode::Link) => {
                let size = self
                    .repo
                    .find_blob(entry.id())
                    .map(|b| b.size())
                    .unwrap_or(0) as u64;
                if size > crate::edit::MAX_INPUT {
                    return Err(Error::Usage(format!(
                        "{path} is larger than {} MiB; gitops-update edits configuration files, not data",
                        crate::edit::MAX_INPUT >> 20
                    )));
                }
                let blob = self
                    .repo
                    .find_blob(entry.id())
                    .map_err(|e| Error::Internal(e.message().to_string()))?;
                Ok(Some((blob.content().to_vec(), entry.filemode())))
            }
            Some(ObjectType::Blob) => Err(Error::Usage(format!(
                "{path} is a symbolic link in the repository; edit the file it points to"
            ))),
            _ => Err(Error::Usage(format!(
                "{path} is a directory in the repository, not a file"
            ))),
        }
    }

    fn commit_tree(&self, oid: Oid) -> Result<Tree<'_>> {
        self.repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| Error::Internal(e.message().to_string()))
    }

    /// A commit on `parent` whose tree is the parent's with `files` replaced.
    pub fn commit(
        &self,
        parent: Oid,
        files: &[(RepoPath, Vec<u8>, i32)],
        message: &str,
        author: &Person,
        committer: &Person,
    ) -> Result<Oid> {
        let internal = |e: git2::Error| Error::Internal(e.message().to_string());
        let parent_commit = self.repo.find_commit(parent).map_err(internal)?;
        let mut tree = parent_commit.tree().map_err(internal)?.id();
        for (path, bytes, mode) in files {
            let blob = self.repo.blob(bytes).map_err(internal)?;
            let parts: Vec<&str> = path.components().collect();
            tree = self
                .replace(Some(tree), &parts, blob, *mode)
                .map_err(internal)?;
        }
        let tree = self.repo.find_tree(tree).map_err(internal)?;
        let sig = |p: &Person| Signature::now(&p.name, &p.email);
        let (a, c) = (
            sig(author).map_err(internal)?,
            sig(committer).map_err(internal)?,
        );
        self.repo
            .commit(None, &a, &c, message, &tree, &[&parent_commit])
            .map_err(internal)
    }

    /// The tree `tree` with the blob at `path` replaced, subtrees rebuilt on the way up.
    fn replace(
        &self,
        tree: Option<Oid>,
        path: &[&str],
        blob: Oid,
        mode: i32,
    ) -> std::result::Result<Oid, git2::Error> {
        let old = tree.map(|t| self.repo.find_tree(t)).transpose()?;
        let mut builder = self.repo.treebuilder(old.as_ref())?;
        match path {
            [name] => {
                builder.insert(name, blob, mode)?;
            }
            [dir, rest @ ..] => {
                let sub = old.as_ref().and_then(|t| t.get_name(dir)).map(|e| e.id());
                let new_sub = self.replace(sub, rest, blob, mode)?;
                builder.insert(dir, new_sub, i32::from(FileMode::Tree))?;
            }
            [] => return Err(git2::Error::from_str("empty path")),
        }
        builder.write()
    }

    /// Pushes `commit` to the branch, never forced.
    pub fn push(&self, commit: Oid) -> Result<Push> {
        self.repo
            .reference(PUSH_REF, commit, true, "gitops-update push")
            .map_err(|e| Error::Internal(e.message().to_string()))?;
        let refused: std::cell::RefCell<Option<String>> = Default::default();
        // A protected-branch refusal reaches the client only as sideband text; the ref
        // status just says "pre-receive hook declined" (routers/private/hook_pre_receive.go).
        let said: std::cell::RefCell<Vec<u8>> = Default::default();
        let mut remote = self
            .repo
            .remote_anonymous(&self.url)
            .map_err(|e| transport("cannot open", &self.url, &e))?;
        let mut cb = self.callbacks();
        cb.sideband_progress(|data| {
            let mut said = said.borrow_mut();
            if said.len() < 4096 {
                said.extend_from_slice(data);
            }
            true
        });
        cb.push_update_reference(|_name, status| {
            if let Some(msg) = status {
                *refused.borrow_mut() = Some(msg.to_string());
            }
            Ok(())
        });
        let mut po = PushOptions::new();
        po.remote_callbacks(cb);
        let headers: Vec<&str> = self.extra_header.iter().map(String::as_str).collect();
        po.custom_headers(&headers);
        let refspec = format!("{PUSH_REF}:refs/heads/{}", self.branch);
        let result = remote.push(&[&refspec], Some(&mut po));
        drop(po);
        let said = server_said(&said.into_inner());
        let with_said = |msg: &str| match &said {
            Some(s) => format!("{msg}; the server said: {s}"),
            None => msg.to_string(),
        };
        match result {
            // libgit2 finds a stale push before sending anything.
            Err(e) if e.code() == ErrorCode::NotFastForward => {
                Ok(Push::Stale(e.message().to_string()))
            }
            Err(e) if is_stale(e.message()) => Ok(Push::Stale(e.message().to_string())),
            Err(e)
                if e.message().contains("pre-receive hook declined")
                    || e.message().contains("hook declined") =>
            {
                Ok(Push::Rejected(with_said(e.message())))
            }
            Err(e) => Err(transport("cannot push to", &self.url, &e)),
            Ok(()) => match refused.into_inner() {
                None => Ok(Push::Accepted),
                Some(msg) if is_stale(&msg) => Ok(Push::Stale(msg)),
                Some(msg) => Ok(Push::Rejected(with_said(&msg))),
            },
        }
    }

    pub fn parent(&self, commit: Oid) -> Option<Oid> {
        self.repo.find_commit(commit).ok()?.parent_id(0).ok()
    }

    /// In a checkout: refuses when a file to edit has uncommitted changes.
    pub fn check_clean(&self, files: &[RepoPath]) -> Result<()> {
        if self.checkout.is_none() {
            return Ok(());
        }
        for f in files {
            let status = self.repo.status_file(Path::new(f.as_str()));
            if let Ok(s) = status {
                if !(s.is_empty()
                    || s == git2::Status::CURRENT
                    || s.contains(git2::Status::IGNORED))
                {
                    return Err(Error::Usage(format!(
                        "{f} has uncommitted changes in this checkout; commit or discard them first"
                    )));
                }
            }
        }
        Ok(())
    }

    /// In a checkout: moves the current branch (or a detached HEAD) to `commit` and updates
    /// the edited files in the work tree, leaving everything else as it was.
    pub fn advance_checkout(&self, commit: Oid, files: &[RepoPath]) -> Result<()> {
        if self.checkout.is_none() {
            return Ok(());
        }
        let internal = |e: git2::Error| {
            Error::Internal(format!("cannot update the checkout: {}", e.message()))
        };
        let obj = self.repo.find_object(commit, None).map_err(internal)?;
        let mut co = git2::build::CheckoutBuilder::new();
        co.force();
        for f in files {
            co.path(f.as_str());
        }
        self.repo
            .checkout_tree(&obj, Some(&mut co))
            .map_err(internal)?;
        let head = self.repo.head().ok();
        let branch = head
            .as_ref()
            .filter(|h| h.is_branch())
            .and_then(|h| h.name().ok().map(str::to_string));
        match branch {
            Some(name) => {
                self.repo
                    .reference(&name, commit, true, "gitops-update")
                    .map_err(internal)?;
            }
            None => self.repo.set_head_detached(commit).map_err(internal)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_messages() {
        for m in [
            "non-fast-forward",
            "failed to update ref",
            "cannot lock ref 'refs/heads/main'",
            "incorrect old value provided",
            "stale info",
            "! [rejected] main -> main (fetch first)",
        ] {
            assert!(is_stale(m), "{m}");
        }
        for m in [
            "pre-receive hook declined",
            "protected branch",
            "permission denied",
        ] {
            assert!(!is_stale(m), "{m}");
        }
    }

    #[test]
    fn sideband_text_without_progress() {
        assert_eq!(
            server_said(
                b"Resolving deltas: 100% (1/1)\r\nNot allowed to push to protected branch main\n"
            ),
            Some("Not allowed to push to protected branch main".into())
        );
        assert_eq!(server_said(b"\n\r"), None);
    }

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
