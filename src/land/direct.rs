//! Push the commit to the branch itself.

use git2::Oid;

use crate::error::Result;
use crate::git::Git;
use crate::update::{Landed, Landing};

pub struct DirectPush;

impl Landing for DirectPush {
    /// Only from the tip the commit was built on: a branch that moved since the fetch,
    /// even backwards (a force-push), is a retry from its new tip, never a fast-forward
    /// that brings back what was pushed away.
    fn land(&self, git: &Git, commit: Oid) -> Result<Landed> {
        let expect = git.parent(commit);
        let target = format!("refs/heads/{}", git.branch);
        let (push, said) = git.push_ref(commit, &target, false, expect, &[])?;
        Ok(Landed { push, said })
    }
}
