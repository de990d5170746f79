//! Fetching the branch tip (depth 1 where the transport allows) and reading files from it.

use std::path::Path;

use git2::{Direction, ErrorCode, FetchOptions, FileMode, ObjectType, Oid, Tree};

use super::{transport, Git, NOTES_LOCAL, PENDING_REF, TIP_REF};
use crate::error::{Error, Result};
use crate::model::RepoPath;
use crate::provenance::NOTES_REF;

/// What the remote said `refs/heads/<branch>` is, on the connection just used.
fn advertised(remote: &git2::Remote, branch: &str) -> Option<Oid> {
    advertised_ref(remote, &format!("refs/heads/{branch}"))
}

/// What the remote said the ref `name` is, on the connection just used.
pub(super) fn advertised_ref(remote: &git2::Remote, name: &str) -> Option<Oid> {
    let heads = remote.list().ok()?;
    heads.iter().find(|h| h.name() == name).map(|h| h.oid())
}

impl Git {
    /// In a checkout: its current branch, or what `origin/HEAD` points at.
    pub(super) fn local_default_branch(&self) -> Option<String> {
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
        let mut fo = self.fetch_options();
        let mut remote = self
            .repo
            .remote_anonymous(url.expose())
            .map_err(|e| transport("cannot open", &url, &e))?;
        let fetch_err = |e: git2::Error| transport("cannot fetch from", &url, &e);
        let notes;
        // Download only, and set the tip from the remote's own list: libgit2's update_tips
        // truncates FETCH_HEAD whatever it is told (remote.c, git_remote_update_tips), and in
        // a checkout FETCH_HEAD is the user's.
        let (branch, tip) = if self.branch.is_empty() {
            let mut conn = remote
                .connect_auth(Direction::Fetch, Some(self.callbacks()), None)
                .map_err(|e| transport("cannot connect to", &url, &e))?;
            let head = conn.default_branch().map_err(|e| {
                Error::Repo(format!(
                    "cannot tell the default branch of {url} ({}); is the repository empty? Give the branch with --branch or GITOPS_BRANCH",
                    e.message()
                ))
            })?;
            let head = head.as_str().unwrap_or_default();
            let branch = head.strip_prefix("refs/heads/").unwrap_or(head).to_string();
            let refspecs = self.tip_refspecs(&branch);
            let remote = conn.remote();
            remote
                .download(&refspecs, Some(&mut fo))
                .map_err(fetch_err)?;
            let tip = advertised(remote, &branch);
            notes = advertised_ref(remote, NOTES_REF);
            (branch, tip)
        } else {
            let refspecs = self.tip_refspecs(&self.branch);
            remote
                .download(&refspecs, Some(&mut fo))
                .map_err(fetch_err)?;
            let tip = advertised(&remote, &self.branch);
            notes = advertised_ref(&remote, NOTES_REF);
            let _ = remote.disconnect();
            (self.branch.clone(), tip)
        };
        drop(remote);
        drop(fo);
        self.branch = branch;
        if self.with_notes {
            self.keep_notes(notes)?;
        }
        let tip = tip.ok_or_else(|| {
            Error::Repo(format!(
                "the branch {} does not exist in {}; give an existing branch with --branch or GITOPS_BRANCH",
                self.branch,
                self.url
            ))
        })?;
        self.repo
            .reference(TIP_REF, tip, true, "gitops-update: fetch")
            .map_err(|e| {
                Error::Internal(format!("cannot record the fetched tip: {}", e.message()))
            })?;
        Ok(tip)
    }

    /// The branch's tip, and the provenance notes in the same fetch when the run writes
    /// them: one round trip for both.
    fn tip_refspecs(&self, branch: &str) -> Vec<String> {
        let mut specs = vec![format!("+refs/heads/{branch}:{TIP_REF}")];
        if self.with_notes {
            specs.push(format!("+{NOTES_REF}:{NOTES_LOCAL}"));
        }
        specs
    }

    /// How every fetch goes: the credentials and extra header, depth 1 where the transport
    /// allows.
    pub(super) fn fetch_options(&self) -> FetchOptions<'_> {
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(self.callbacks());
        if !self.local_transport && self.shallow_fetch {
            fo.depth(1);
        }
        let headers: Vec<&str> = self.extra_header.iter().map(String::as_str).collect();
        fo.custom_headers(&headers);
        fo
    }

    /// Fetches another branch's tip (depth 1 where the transport allows), such as the
    /// tool's own pull-request branch; `None` when the remote has no such branch.
    pub fn fetch_branch(&self, branch: &str) -> Result<Option<Oid>> {
        let head = self.download_ref(&format!("refs/heads/{branch}"), PENDING_REF, None)?;
        if let Some(head) = head {
            // Keeps the fetched objects reachable while the attempt reads them.
            self.repo
                .reference(PENDING_REF, head, true, "gitops-update: fetch")
                .map_err(|e| {
                    Error::Internal(format!("cannot record a fetched tip: {}", e.message()))
                })?;
        }
        Ok(head)
    }

    /// Downloads the remote ref `name` into `local` (depth 1 where the transport allows, or
    /// `depth`), and returns what the remote said `name` is; `None` when it has no such ref.
    pub(super) fn download_ref(
        &self,
        name: &str,
        local: &str,
        depth: Option<i32>,
    ) -> Result<Option<Oid>> {
        let url = &self.url;
        let mut fo = self.fetch_options();
        if let Some(depth) = depth {
            fo.depth(depth);
        }
        let mut remote = self
            .repo
            .remote_anonymous(url.expose())
            .map_err(|e| transport("cannot open", url, &e))?;
        remote
            .download(&[format!("+{name}:{local}")], Some(&mut fo))
            .map_err(|e| transport("cannot fetch from", url, &e))?;
        let tip = advertised_ref(&remote, name);
        let _ = remote.disconnect();
        Ok(tip)
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
                    return Err(Error::Repo(format!(
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
            Some(ObjectType::Blob) => Err(Error::Repo(format!(
                "{path} is a symbolic link in the repository; edit the file it points to"
            ))),
            _ => Err(Error::Repo(format!(
                "{path} is a directory in the repository, not a file"
            ))),
        }
    }

    pub(super) fn commit_tree(&self, oid: Oid) -> Result<Tree<'_>> {
        self.repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| Error::Internal(e.message().to_string()))
    }
}
