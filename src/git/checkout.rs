//! A checkout the command runs in. The update is always made on the remote's tip; the
//! checkout follows it only where that loses nothing: its remote-tracking branch is set to
//! what was pushed, and its own branch (or a detached HEAD) is fast-forwarded when it has
//! nothing the remote lacks and no local change stands in the way. Anything else is left as
//! it was, with a note that says what to do.

use std::path::Path;

use git2::{build::CheckoutBuilder, ErrorCode, Oid};

use super::Git;
use crate::error::{Error, Result};
use crate::model::{short, RepoPath};
use crate::report;

/// Whether `commit` descends from `at` by the parents its object names, whatever the shallow
/// file says: a depth-1 fetch marks the fetched tip shallow even when its parent, the
/// checkout's HEAD, is right there. Walks at most 10,000 commits the repository has.
fn descends_past_grafts(repo: &git2::Repository, commit: Oid, at: Oid) -> bool {
    let Ok(odb) = repo.odb() else { return false };
    let mut todo = vec![commit];
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = todo.pop() {
        if id == at {
            return true;
        }
        if !seen.insert(id) || seen.len() > 10_000 {
            continue;
        }
        let Ok(object) = odb.read(id) else { continue };
        let text = String::from_utf8_lossy(object.data());
        let header = text.split("\n\n").next().unwrap_or_default();
        todo.extend(
            header
                .lines()
                .filter_map(|l| l.strip_prefix("parent "))
                .filter_map(|hex| Oid::from_str(hex.trim()).ok()),
        );
    }
    false
}

impl Git {
    /// The checkout's HEAD commit: what a dry run compares with when the remote is out of
    /// reach.
    pub fn checkout_head(&self) -> Option<Oid> {
        self.checkout.as_ref()?;
        Some(self.user().head().ok()?.peel_to_commit().ok()?.id())
    }

    /// In a checkout: refuses when a file to edit has uncommitted changes, which the update
    /// (made on the remote's tip) would not carry and the fast-forward could not keep.
    pub fn check_clean(&self, files: &[RepoPath]) -> Result<()> {
        if self.checkout.is_none() {
            return Ok(());
        }
        for f in files {
            let status = self.user().status_file(Path::new(f.as_str()));
            if let Ok(s) = status {
                if !(s.is_empty()
                    || s == git2::Status::CURRENT
                    || s.contains(git2::Status::IGNORED))
                {
                    return Err(Error::Repo(format!(
                        "{f} has uncommitted changes in this checkout, and the update is made on the remote's tip without them: commit and push them, or discard them, first"
                    )));
                }
            }
        }
        Ok(())
    }

    /// In a checkout, after `commit` landed on (or already was) the remote branch: the
    /// remote-tracking branch records it, and the checkout's branch follows when it can.
    pub fn follow_in_checkout(&self, commit: Oid) -> Result<()> {
        if self.checkout.is_none() {
            return Ok(());
        }
        let internal = |e: git2::Error| {
            Error::Internal(format!("cannot update the checkout: {}", e.message()))
        };
        if let Some(user) = &self.user_repo {
            // Fetched elsewhere: the commit and the history down to what the checkout has.
            let (from, to) = (self.repo.odb(), user.odb());
            from.and_then(|from| super::local::copy_missing(&self.repo, &from, &to?, commit))
                .map_err(internal)?;
        }
        self.set_tracking(commit).map_err(internal)?;
        let head = match self.user().head() {
            Ok(h) => h,
            // An unborn branch: nothing to fast-forward.
            Err(e) if e.code() == ErrorCode::UnbornBranch => return Ok(()),
            Err(e) => return Err(internal(e)),
        };
        let branch = head
            .is_branch()
            .then(|| head.shorthand().unwrap_or_default().to_string());
        let at = head.peel_to_commit().map_err(internal)?.id();
        drop(head);
        let name = match &branch {
            Some(b) if *b != self.branch => {
                // Another branch is checked out: it is none of this update's business.
                return Ok(());
            }
            Some(b) => format!("your branch {b}"),
            None => "the detached HEAD".to_string(),
        };
        if at == commit {
            return Ok(());
        }
        let descends = self
            .user()
            .graph_descendant_of(commit, at)
            .map_err(internal)?
            || (self.user().is_shallow() && descends_past_grafts(self.user(), commit, at));
        if !descends {
            if self.user().is_shallow() {
                report::note(&format!(
                    "{name} was left at {}: this shallow clone lacks the history that would show the update {} follows from it; `git pull` brings it in",
                    short(&at.to_string()),
                    short(&commit.to_string())
                ));
                return Ok(());
            }
            report::note(&format!(
                "{name} has commits that the remote's {} lacks, so it was left at {}; the update is {} on the remote: `git pull --rebase` brings it in",
                self.branch,
                short(&at.to_string()),
                short(&commit.to_string())
            ));
            return Ok(());
        }
        self.fast_forward(branch.as_deref(), commit, &name)
    }

    /// Moves the checkout to `commit`, a descendant of its HEAD: the files that differ,
    /// unless one of them has a local change, which leaves everything as it was.
    fn fast_forward(&self, branch: Option<&str>, commit: Oid, name: &str) -> Result<()> {
        let internal = |e: git2::Error| {
            Error::Internal(format!("cannot update the checkout: {}", e.message()))
        };
        let target = self.user().find_object(commit, None).map_err(internal)?;
        // Safe, not forced: libgit2 finds every conflict before it writes anything.
        let mut co = CheckoutBuilder::new();
        co.safe();
        match self.user().checkout_tree(&target, Some(&mut co)) {
            Ok(()) => {}
            Err(e) if e.code() == ErrorCode::Conflict => {
                report::note(&format!(
                    "{name} was left where it was: local changes stand in the way of the update's files ({}); `git stash && git pull --ff-only` brings it in",
                    e.message().trim_end_matches('.')
                ));
                return Ok(());
            }
            Err(e) => return Err(internal(e)),
        }
        match branch {
            Some(b) => {
                self.user()
                    .reference(
                        &format!("refs/heads/{b}"),
                        commit,
                        true,
                        "gitops-update: fast-forward",
                    )
                    .map_err(internal)?;
            }
            None => self.user().set_head_detached(commit).map_err(internal)?,
        }
        Ok(())
    }

    /// `refs/remotes/origin/<branch>`, or wherever origin's fetch refspecs put the branch.
    fn set_tracking(&self, commit: Oid) -> Result<(), git2::Error> {
        let origin = match self.user().find_remote("origin") {
            Ok(o) => o,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let src = format!("refs/heads/{}", self.branch);
        let mut names: Vec<String> = Vec::new();
        for spec in origin.refspecs() {
            if spec.direction() == git2::Direction::Fetch && spec.src_matches(&src) {
                if let Ok(buf) = spec.transform(&src) {
                    if let Ok(name) = buf.as_str() {
                        names.push(name.to_string());
                    }
                }
            }
        }
        drop(origin);
        for name in names {
            self.user()
                .reference(&name, commit, true, "gitops-update: pushed")?;
        }
        Ok(())
    }
}
