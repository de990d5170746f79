//! The provenance notes (`src/provenance`): the notes ref fetched beside the tip, one note
//! added on top of it, and pushed as a compare-and-swap over the tip that was fetched.

use git2::{Oid, Signature};

use super::{Git, Push, NOTES_LOCAL};
use crate::error::{Error, Result};
use crate::model::Person;
use crate::provenance::NOTES_REF;

impl Git {
    /// Fetches the notes ref alone (depth 1 where the transport allows): after another
    /// writer's note moved it. `None` when the server has none yet.
    pub fn fetch_notes(&mut self) -> Result<Option<Oid>> {
        let tip = self.download_ref(NOTES_REF, NOTES_LOCAL, None)?;
        self.keep_notes(tip)?;
        Ok(tip)
    }

    /// Records the notes tip the server advertised on the last fetch (or none).
    pub(super) fn keep_notes(&mut self, tip: Option<Oid>) -> Result<()> {
        if let Some(t) = tip.filter(|t| self.repo.find_commit(*t).is_err()) {
            return Err(Error::Repo(format!(
                "{NOTES_REF} in {} is {}, not a notes commit: repair or delete that ref, or pass --no-provenance",
                self.url,
                crate::model::short(&t.to_string())
            )));
        }
        self.notes_tip = tip;
        match tip {
            Some(tip) => self
                .repo
                .reference(NOTES_LOCAL, tip, true, "gitops-update: fetch notes")
                .map(|_| ())
                .map_err(|e| Error::Internal(format!("cannot record the notes: {}", e.message()))),
            None => {
                if let Ok(mut r) = self.repo.find_reference(NOTES_LOCAL) {
                    let _ = r.delete();
                }
                Ok(())
            }
        }
    }

    /// A notes commit on the fetched notes tip that adds `text` as the note of `commit`
    /// (replacing a note it had: the tool's own, from an attempt whose answer was lost).
    pub fn add_note(&self, commit: Oid, text: &str, who: &Person) -> Result<Oid> {
        let internal =
            |e: git2::Error| Error::Internal(format!("cannot write the note: {}", e.message()));
        let repo = &self.repo;
        let base = self
            .notes_tip
            .map(|t| repo.find_commit(t))
            .transpose()
            .map_err(internal)?;
        let root = base.as_ref().map(|c| c.tree_id());
        let blob = repo.blob(text.as_bytes()).map_err(internal)?;
        let root = self.set_note(root, commit, blob).map_err(internal)?;
        let tree = repo.find_tree(root).map_err(internal)?;
        let sig = Signature::now(&who.name, &who.email).map_err(internal)?;
        let parents: Vec<&git2::Commit> = base.iter().collect();
        let message = format!("gitops-update: provenance of {commit}\n");
        repo.commit(None, &sig, &sig, &message, &tree, &parents)
            .map_err(internal)
    }

    /// The message of `commit`, when the repository has it.
    pub fn message_of(&self, commit: &str) -> Option<String> {
        let c = self.repo.find_commit(Oid::from_str(commit).ok()?).ok()?;
        Some(String::from_utf8_lossy(c.message_bytes()).into_owned())
    }

    /// Whether the branch's history at `tip` holds `commit`. The history is fetched
    /// deeper first when the shallow fetch has not got that far (only when a rollback is
    /// suspected, which is rare); a commit beyond 1,000 commits counts as not held.
    pub fn reaches(&self, tip: Oid, commit: &str) -> bool {
        let Ok(commit) = Oid::from_str(commit) else {
            return false;
        };
        let held = |repo: &git2::Repository| {
            repo.find_commit(commit).is_ok()
                && (tip == commit || repo.graph_descendant_of(tip, commit).unwrap_or(false))
        };
        if held(&self.repo) {
            return true;
        }
        if self.local_transport || !self.shallow_fetch {
            return false;
        }
        let branch = format!("refs/heads/{}", self.branch);
        let fetched = self.download_ref(&branch, super::TIP_REF, Some(1000));
        fetched.is_ok() && held(&self.repo)
    }

    /// Every note at the fetched notes tip, with the commit it is on (its path in the notes
    /// tree, fan-out directories joined), in no particular order.
    pub fn notes(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let internal =
            |e: git2::Error| Error::Internal(format!("cannot read the notes: {}", e.message()));
        let Some(tip) = self.notes_tip else {
            return Ok(Vec::new());
        };
        let tree = self.commit_tree(tip)?;
        let mut out = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                if let Ok(blob) = self.repo.find_blob(entry.id()) {
                    let on = format!("{}{}", dir.replace('/', ""), entry.name().unwrap_or(""));
                    out.push((on, blob.content().to_vec()));
                }
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(internal)?;
        Ok(out)
    }

    /// The notes tree `root` with `blob` as the note of `commit`. Notes go under a
    /// two-digit fan-out directory (`ab/cdef…`), as git lays out a large notes tree, so that
    /// each update writes a tree of 1/256th of the notes, not one of all of them; git and
    /// libgit2 find a note at any fan-out. A note at the root, as a small tree written by git
    /// has it, is moved.
    fn set_note(
        &self,
        root: Option<Oid>,
        commit: Oid,
        blob: Oid,
    ) -> std::result::Result<Oid, git2::Error> {
        let repo = &self.repo;
        let root = root.map(|t| repo.find_tree(t)).transpose()?;
        let hex = commit.to_string();
        let (dir, rest) = hex.split_at(2);
        let mut top = repo.treebuilder(root.as_ref())?;
        if top.get(&hex)?.is_some() {
            top.remove(&hex)?;
        }
        let sub = match top.get(dir)? {
            Some(e) if e.kind() == Some(git2::ObjectType::Tree) => Some(repo.find_tree(e.id())?),
            _ => None,
        };
        let mut inner = repo.treebuilder(sub.as_ref())?;
        inner.insert(rest, blob, i32::from(git2::FileMode::Blob))?;
        top.insert(dir, inner.write()?, i32::from(git2::FileMode::Tree))?;
        top.write()
    }

    /// Pushes a notes commit over the notes tip that was fetched, never forced: a note
    /// another writer added meanwhile is kept, by fetching and adding ours again.
    pub fn push_notes(&self, notes: Oid) -> Result<Push> {
        self.push_ref(notes, NOTES_REF, false, self.notes_tip, &[])
            .map(|(push, _)| push)
    }
}
