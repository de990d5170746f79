//! A checkout the command runs in: refuse to overwrite uncommitted work, and move the
//! branch and the edited files along after the push.

use std::path::Path;

use git2::Oid;

use super::Git;
use crate::error::{Error, Result};
use crate::model::RepoPath;

impl Git {
    /// The checkout's HEAD commit: what a dry run compares with when the remote is out of
    /// reach.
    pub fn checkout_head(&self) -> Option<Oid> {
        self.checkout.as_ref()?;
        Some(self.repo.head().ok()?.peel_to_commit().ok()?.id())
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
                    return Err(Error::Repo(format!(
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
