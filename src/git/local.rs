//! A remote that is a path or a `file://` URL. libgit2's local transport writes the pack and
//! moves the ref with neither git's hooks nor a compare-and-swap of the ref (transports/
//! local.c, local_push_update_remote_ref: a plain forced create), so two writers can
//! overwrite each other there. Here the objects are copied and the ref moved only if it is
//! still where the edit started, under the ref's lock; a repository with receive hooks,
//! which `git push` would run, is refused rather than bypassed.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Odb, Oid, Repository};

use super::{Git, Push};
use crate::error::{Error, Result};
use crate::model::SafeUrl;

/// The hooks `git receive-pack` runs (githooks(5)): any of them present and executable
/// means a push from git would obey or trigger something that a push from here would not.
const RECEIVE_HOOKS: [&str; 7] = [
    "pre-receive",
    "update",
    "proc-receive",
    "reference-transaction",
    "post-receive",
    "post-update",
    "push-to-checkout",
];

/// The directory of a path or `file://` remote.
pub(super) fn local_path(url: &str) -> Option<PathBuf> {
    if url.starts_with("file:") {
        return url::Url::parse(url).ok()?.to_file_path().ok();
    }
    (!url.contains("://")).then(|| PathBuf::from(url))
}

/// The receive hooks the repository at `dir` would run, by name: where libgit2 reads its
/// configuration to put them, and where git itself does (it also follows `includeIf` and
/// `GIT_CONFIG_GLOBAL`, which libgit2 does not), when there is a git to ask.
fn receive_hooks(dir: &Path) -> Vec<&'static str> {
    let Ok(repo) = Repository::open(dir) else {
        return Vec::new();
    };
    let configured = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    let hooks = match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.path().join(p),
        None => repo.path().join("hooks"),
    };
    let by_git = hooks_git_would_run(repo.path());
    RECEIVE_HOOKS
        .into_iter()
        .enumerate()
        .filter(|(i, name)| {
            is_executable(&hooks.join(name)) || by_git.get(*i).is_some_and(|p| is_executable(p))
        })
        .map(|(_, name)| name)
        .collect()
}

/// Where `git receive-pack` would look for each of `RECEIVE_HOOKS` in the repository at
/// `git_dir`, as git says (`rev-parse --git-path`); empty without a git.
fn hooks_git_would_run(git_dir: &Path) -> Vec<PathBuf> {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("--git-dir").arg(git_dir).arg("rev-parse");
    for name in RECEIVE_HOOKS {
        cmd.arg("--git-path").arg(format!("hooks/{name}"));
    }
    let out = cmd
        .current_dir(git_dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| git_dir.join(l))
            .collect(),
        _ => Vec::new(),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Refuses a local remote with receive hooks: pushing to it here would skip them.
pub(super) fn refuse_hooks(url: &SafeUrl) -> Result<()> {
    let Some(dir) = local_path(url.expose()) else {
        return Ok(());
    };
    let hooks = receive_hooks(&dir);
    if hooks.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{url} has receive hooks ({}), which a push to a local path would not run (git runs them in receive-pack; libgit2 cannot): serve the repository over http(s) (git http-backend, or Gitea) or push with git itself",
        hooks.join(", ")
    )))
}

/// Writes `oid` and what it needs into `to`, stopping at objects `to` already has: the
/// remote has the tip the commit was built on, so only the new commit, its new trees and
/// its new blobs are copied.
pub(super) fn copy_missing(
    repo: &Repository,
    from: &Odb,
    to: &Odb,
    oid: Oid,
) -> Result<(), git2::Error> {
    if to.exists(oid) {
        return Ok(());
    }
    let object = from.read(oid)?;
    match object.kind() {
        ObjectType::Commit => {
            let commit = repo.find_commit(oid)?;
            copy_missing(repo, from, to, commit.tree_id())?;
            for parent in commit.parent_ids() {
                copy_missing(repo, from, to, parent)?;
            }
        }
        ObjectType::Tree => {
            for entry in repo.find_tree(oid)?.iter() {
                // A gitlink (submodule) names a commit of another repository.
                if matches!(entry.kind(), Some(ObjectType::Blob | ObjectType::Tree)) {
                    copy_missing(repo, from, to, entry.id())?;
                }
            }
        }
        _ => {}
    }
    to.write(object.kind(), object.data())?;
    Ok(())
}

impl Git {
    /// Pushes `commit` to the ref `target` of a local remote: objects first, then the ref,
    /// which moves only from `expect` (when given), or anywhere when `force`.
    pub(super) fn push_local(
        &self,
        commit: Oid,
        target: &str,
        force: bool,
        expect: Option<Oid>,
    ) -> Result<Push> {
        let fail = |e: git2::Error| super::transport("cannot push to", &self.url, &e);
        let dir = local_path(self.url.expose())
            .ok_or_else(|| Error::Usage(format!("{} is not a local path", self.url)))?;
        let remote = Repository::open_bare(&dir).map_err(fail)?;
        let (from, to) = (self.repo.odb().map_err(fail)?, remote.odb().map_err(fail)?);
        copy_missing(&self.repo, &from, &to, commit).map_err(fail)?;
        let log = "gitops-update: push";
        // `expect` is a lease, forced or not: the ref moves only from that value.
        let moved = match (force, expect) {
            // A zero lease: the ref may only be created.
            (_, Some(old)) if old.is_zero() => remote.reference(target, commit, false, log),
            (_, Some(old)) => remote.reference_matching(target, commit, true, old, log),
            (false, None) => remote.reference(target, commit, false, log),
            (true, None) => remote.reference(target, commit, true, log),
        };
        match moved {
            Ok(_) => Ok(Push::Accepted),
            Err(e) if e.code() == ErrorCode::Modified || e.code() == ErrorCode::Exists => {
                Ok(Push::Stale(format!("{target} moved since it was fetched")))
            }
            Err(e) if e.code() == ErrorCode::Locked || super::push::is_stale(e.message()) => Ok(
                Push::Stale(format!("another writer holds the lock of {target}")),
            ),
            Err(e) => Err(fail(e)),
        }
    }
}
