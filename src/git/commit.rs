//! A commit built from trees in memory: the parent's tree with the new blobs, no work tree.

use git2::{FileMode, Oid, Signature};

use super::Git;
use crate::error::{Error, Result};
use crate::model::{Person, RepoPath};

impl Git {
    /// A commit on `parent` whose tree is the parent's with `files` replaced.
    pub fn commit(
        &self,
        parent: Oid,
        files: &[(RepoPath, Vec<u8>, i32)],
        message: &str,
        author: &Person,
        committer: &Person,
        signer: Option<&crate::sign::Signer>,
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
        let Some(signer) = signer else {
            return self
                .repo
                .commit(None, &a, &c, message, &tree, &[&parent_commit])
                .map_err(internal);
        };
        // The signature covers the commit's text exactly as it is stored, without the
        // header that carries it, as git itself signs.
        let buffer = self
            .repo
            .commit_create_buffer(&a, &c, message, &tree, &[&parent_commit])
            .map_err(internal)?;
        let content = std::str::from_utf8(&buffer)
            .map_err(|_| Error::Internal("a commit that is not UTF-8".into()))?;
        let signature = signer.sign(content.as_bytes())?;
        self.repo
            .commit_signed(content, &signature, Some("gpgsig"))
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

    pub fn parent(&self, commit: Oid) -> Option<Oid> {
        self.repo.find_commit(commit).ok()?.parent_id(0).ok()
    }
}
