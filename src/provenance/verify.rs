//! Checking an update commit against its provenance note: the note is there, its statement
//! is about this commit, the files it names are the blobs the commit and its parent hold and
//! the only files the commit changes, the commit message agrees with it, and, when keys are
//! given, its envelope is signed by one of them.

use std::collections::BTreeSet;

use git2::{Oid, Repository};

use super::dsse::{self, Envelope};
use super::{Statement, PAYLOAD_TYPE, PREDICATE_TYPE, SSH_NAMESPACE, STATEMENT_TYPE};
pub use crate::model::{Chain, Signed, Verdict};
use crate::record::{self, Record};

/// A note larger than this is not ours (ours are a few KiB).
const MAX_NOTE: usize = 1 << 20;

/// The keys a signature may be made with.
#[derive(Default)]
pub struct Keys {
    pub ssh: Vec<super::keys::AllowedSigner>,
    pub openpgp: Option<Vec<u8>>,
    /// `--principal`: the signer's identity the keys must be listed for.
    pub principal: Option<String>,
}

impl Keys {
    pub fn any(&self) -> bool {
        !self.ssh.is_empty() || self.openpgp.is_some()
    }
}

/// Checks `commit` against its note in `notes_ref`.
pub fn check(repo: &Repository, notes_ref: &str, commit: Oid, keys: &Keys) -> Verdict {
    let Ok(c) = repo.find_commit(commit) else {
        return failed(None, format!("{commit} is not a commit of this repository"));
    };
    let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
    if !record::is_update_title(message.lines().next().unwrap_or_default()) {
        return Verdict::NotAnUpdate;
    }
    let statement = match read_note(repo, notes_ref, commit) {
        Ok(s) => s,
        Err(why) => return failed(None, why),
    };
    let (statement, envelope, body) = statement;
    let mut chain = chain_of(&statement);
    if let Err(why) = matches_commit(repo, &c, &statement, &message) {
        return failed(Some(chain), why);
    }
    match signature(&envelope, &body, &statement, keys) {
        Ok(signed) => {
            chain.signature = signed;
            Verdict::Verified(chain)
        }
        Err(why) => failed(Some(chain), why),
    }
}

fn failed(chain: Option<Chain>, why: String) -> Verdict {
    Verdict::Failed { chain, why }
}

/// The note's statement, its envelope and the payload's bytes as signed.
fn read_note(
    repo: &Repository,
    notes_ref: &str,
    commit: Oid,
) -> Result<(Statement, Envelope, Vec<u8>), String> {
    let note = repo
        .find_note(Some(notes_ref), commit)
        .map_err(|_| {
            // A commit newer than the notes the clone fetched: fetch them again.
            let newer = repo
                .find_reference(notes_ref)
                .and_then(|r| r.peel_to_commit())
                .and_then(|n| Ok(repo.find_commit(commit)?.time() >= n.time()))
                .unwrap_or(false);
            match newer {
                true => format!(
                    "no provenance note in {notes_ref}, whose notes are older than this commit: fetch them again (git fetch origin +{notes_ref}:{notes_ref})"
                ),
                false => format!("no provenance note in {notes_ref}"),
            }
        })?;
    let text = note.message_bytes();
    if text.len() > MAX_NOTE {
        return Err("the note is larger than 1 MiB: not a provenance note".into());
    }
    let envelope = Envelope::from_note(text)?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(format!(
            "the envelope's payload is not an in-toto statement ({PAYLOAD_TYPE})"
        ));
    }
    let body = envelope.body()?;
    let statement: Statement = serde_json::from_slice(&body)
        .map_err(|e| format!("the envelope's payload is not a statement this tool wrote ({e})"))?;
    if statement.kind != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(format!(
            "the statement is not an update's provenance ({STATEMENT_TYPE}, {PREDICATE_TYPE})"
        ));
    }
    Ok((statement, envelope, body))
}

fn chain_of(s: &Statement) -> Chain {
    let p = &s.predicate;
    Chain {
        source_repo: p.source.as_ref().and_then(|s| s.repository.clone()),
        source_commit: p.source.as_ref().and_then(|s| s.commit.clone()),
        version: p.version.clone(),
        component: p.component.clone(),
        dispatch_id: p.dispatch_id.clone(),
        run: p.run.as_ref().map(|r| {
            let number = r.run_number.as_deref().unwrap_or(&r.run_id);
            format!(
                "{}/{}/actions/runs/{number}",
                r.server.trim_end_matches('/'),
                r.repository
            )
        }),
        files: p.files.iter().map(|f| f.path.clone()).collect(),
        signature: Signed::Unsigned,
    }
}

/// The statement describes this commit: its id, its parent, the blobs of the files it
/// names before and after, no other file changed, and the same record as its message.
fn matches_commit(
    repo: &Repository,
    c: &git2::Commit,
    s: &Statement,
    message: &str,
) -> Result<(), String> {
    let id = c.id().to_string();
    if s.commit() != Some(id.as_str()) {
        return Err(format!(
            "the note's statement is about commit {}, not this one",
            s.commit().unwrap_or("(none)")
        ));
    }
    let p = &s.predicate;
    let tree = c.tree().map_err(|e| e.message().to_string())?;
    let parent = c.parent(0).ok().and_then(|p| p.tree().ok());
    for f in &p.files {
        let after = blob_at(&tree, &f.path);
        if f.after.get("gitBlob") != after.as_ref() || !in_subject(s, &f.path, after.as_deref()) {
            return Err(format!(
                "{} in the commit is not the blob its provenance names (changed after the note was written?)",
                f.path
            ));
        }
        if let Some(parent) = &parent {
            if f.before.get("gitBlob") != blob_at(parent, &f.path).as_ref() {
                return Err(format!(
                    "{} in the parent commit is not the blob the provenance says the update started from",
                    f.path
                ));
            }
        }
    }
    if let (Some(parent), Ok(parent_commit)) = (&parent, c.parent(0)) {
        if parent_commit.id().to_string() != p.gitops.parent {
            return Err(format!(
                "the commit's parent is {}, the provenance says it was made on {}",
                parent_commit.id(),
                p.gitops.parent
            ));
        }
        let named: BTreeSet<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
        for changed in changed_paths(repo, parent, &tree)? {
            if !named.contains(changed.as_str()) {
                return Err(format!(
                    "the commit also changes {changed}, which its provenance does not name"
                ));
            }
        }
    }
    agrees_with_message(s, message)
}

fn in_subject(s: &Statement, path: &str, blob: Option<&str>) -> bool {
    s.subject
        .iter()
        .any(|x| x.name == path && x.digest.get("gitBlob").map(String::as_str) == blob)
}

fn blob_at(tree: &git2::Tree, path: &str) -> Option<String> {
    tree.get_path(std::path::Path::new(path))
        .ok()
        .map(|e| e.id().to_string())
}

fn changed_paths(
    repo: &Repository,
    old: &git2::Tree,
    new: &git2::Tree,
) -> Result<Vec<String>, String> {
    let diff = repo
        .diff_tree_to_tree(Some(old), Some(new), None)
        .map_err(|e| e.message().to_string())?;
    Ok(diff
        .deltas()
        .filter_map(|d| d.new_file().path().or(d.old_file().path()))
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}

/// The message's record (title and trailers) is the statement's.
fn agrees_with_message(s: &Statement, message: &str) -> Result<(), String> {
    let r = Record::parse(message);
    let p = &s.predicate;
    let source = p.source.as_ref();
    let disagree = |what: &str| {
        Err(format!(
            "the commit message and its provenance disagree on the {what}"
        ))
    };
    if r.version != p.version {
        return disagree("version");
    }
    if r.source_repo != source.and_then(|s| s.repository.clone()) {
        return disagree("source repository");
    }
    if r.source_commit != source.and_then(|s| s.commit.clone()) {
        return disagree("source commit");
    }
    if r.dispatch_id != p.dispatch_id {
        return disagree("dispatch id");
    }
    let files: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
    if r.files.iter().map(String::as_str).ne(files.iter().copied()) {
        return disagree("files");
    }
    Ok(())
}

/// Who signed the envelope, checked with `keys` when there are any.
fn signature(
    envelope: &Envelope,
    body: &[u8],
    s: &Statement,
    keys: &Keys,
) -> Result<Signed, String> {
    let Some(_) = envelope.signatures.first() else {
        if keys.any() {
            return Err("the provenance is unsigned, and keys were given to check it".into());
        }
        return Ok(Signed::Unsigned);
    };
    if !keys.any() {
        // What the statement claims, not the envelope's unauthenticated key id.
        let claimed = s.predicate.signed_by.clone().unwrap_or_default();
        return Ok(Signed::Unchecked(claimed));
    }
    let pae = dsse::pae(&envelope.payload_type, body);
    let mut why = String::new();
    // One signature that does not read or verify does not hide another that does.
    for sig in &envelope.signatures {
        match dsse::armored(sig).and_then(|armored| verify_one(&armored, &pae, keys)) {
            Ok((signed, ids)) => return signed_as_claimed(s, signed, &ids),
            Err(e) => why = e,
        }
    }
    Err(format!("the signature does not verify: {why}"))
}

/// The key that signed is the one the statement names (`signedBy`): a statement that
/// claims another signer is refused, whoever else the keys allow.
fn signed_as_claimed(s: &Statement, signed: Signed, ids: &[String]) -> Result<Signed, String> {
    match s.predicate.signed_by.as_deref() {
        Some(claimed) if ids.iter().any(|i| i.eq_ignore_ascii_case(claimed)) => Ok(signed),
        Some(claimed) => Err(format!(
            "the statement says it is signed by {claimed}, but {} signed it",
            ids.first().map_or("another key", String::as_str)
        )),
        None => Err("the statement says it is unsigned, yet it carries a signature".into()),
    }
}

fn verify_one(armored: &[u8], pae: &[u8], keys: &Keys) -> Result<(Signed, Vec<String>), String> {
    if armored.starts_with(b"-----BEGIN SSH SIGNATURE-----") {
        return super::keys::verify_ssh(&keys.ssh, SSH_NAMESPACE, pae, armored);
    }
    if armored.starts_with(b"-----BEGIN PGP SIGNATURE-----") {
        let Some(ring) = &keys.openpgp else {
            return Err("an OpenPGP signature, and no --gpg-keyring".into());
        };
        return super::keys::verify_openpgp(ring, pae, armored, keys.principal.as_deref());
    }
    Err("a signature of a kind this tool does not write".into())
}
