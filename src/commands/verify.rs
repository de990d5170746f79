//! `gitops-update verify`: each commit of a range against its provenance note.

use git2::{Oid, Repository};

use crate::config::VerifyConfig;
use crate::error::{exit, Error, Result};
use crate::provenance::{verify, NOTES_REF};
use crate::report::{self, VerifyReport};

pub fn execute(cfg: &VerifyConfig) -> Result<u8> {
    let repo = Repository::discover(&cfg.workdir).map_err(|_| {
        Error::Usage(format!(
            "{} is not in a git repository: run verify in a clone of the GitOps repo",
            cfg.workdir.display()
        ))
    })?;
    let notes = repo.find_reference(NOTES_REF).map_err(|_| {
        Error::Usage(format!(
            "this clone has no {NOTES_REF}: fetch the notes with git fetch origin {NOTES_REF}:{NOTES_REF}"
        ))
    })?;
    if notes.peel_to_commit().is_err() {
        return Err(Error::Usage(format!(
            "{NOTES_REF} is not a notes commit: fetch it again with git fetch origin +{NOTES_REF}:{NOTES_REF}"
        )));
    }
    let commits = commits(&repo, &cfg.rev)?;
    let mut out = VerifyReport::default();
    for commit in commits {
        out.push(commit, verify::check(&repo, NOTES_REF, commit, &cfg.keys));
    }
    out.print(cfg.json)?;
    Ok(if out.failed() {
        exit::UNPROVEN
    } else {
        exit::OK
    })
}

/// The commits `rev` names, newest first: one commit, or those of `A..B`.
fn commits(repo: &Repository, rev: &str) -> Result<Vec<Oid>> {
    let bad = |e: git2::Error| {
        // `main~50..main` on a branch of fewer commits: say how to name the whole branch.
        let shorter = rev.contains("..") && e.message().contains("does not exist");
        Error::Usage(format!(
            "{}: not a commit or range of this clone ({}){}",
            report::escape(rev),
            e.message(),
            if shorter {
                "; the branch may have fewer commits than that: start the range at its first commit (git rev-list --max-parents=0 HEAD)"
            } else {
                ""
            }
        ))
    };
    let spec = repo.revparse(rev).map_err(bad)?;
    if !spec.mode().contains(git2::RevparseMode::RANGE) {
        let one = spec
            .from()
            .ok_or_else(|| bad(git2::Error::from_str("empty")))?;
        return Ok(vec![one.peel_to_commit().map_err(bad)?.id()]);
    }
    let mut walk = repo.revwalk().map_err(bad)?;
    walk.push_range(rev).map_err(bad)?;
    walk.collect::<std::result::Result<Vec<_>, _>>()
        .map_err(bad)
}
