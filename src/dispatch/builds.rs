//! Before the first dispatch (issue 30): the order of builds, for versions that cannot be
//! ordered by their text (digests, shas, free text). When the GitOps repo's newest record
//! of this component and file holds such a version, and the source commit it records
//! descends from ours in the consumer's checkout, it is a newer build: ours is superseded,
//! and nothing is dispatched. Versions that order (SemVer, dotted numbers) are left to the
//! run, which compares them in the file itself.

use git2::{Oid, Repository};

use super::Landed;
use crate::config::DispatchConfig;
use crate::forge::Forge;
use crate::model::short;
use crate::record::Record;
use crate::report;

/// The newer build's record, when one descends from ours; `None` when there is none, the
/// versions order, or the checkout cannot tell (then the run decides, as before).
pub(super) fn newer_recorded(
    forge: &dyn Forge,
    cfg: &DispatchConfig,
    branch: &str,
    link: impl Fn(&str) -> String,
) -> Option<Landed> {
    // A server that cannot list commits leaves the decision to the run.
    let recent = forge.recent_commits(&cfg.repo, branch).ok()?;
    let (sha, record) = recent.iter().find_map(|c| {
        let r = Record::parse(&c.message);
        let same = r.component == cfg.component && r.files.contains(&cfg.file);
        same.then(|| (c.sha.clone(), r))
    })?;
    let version = cfg.version.as_str();
    if record.version == version || crate::order::compare(&record.version, version).is_some() {
        return None;
    }
    let theirs = record.source_commit.as_deref()?;
    if theirs.eq_ignore_ascii_case(&cfg.source_commit) {
        return None;
    }
    match descends(theirs, &cfg.source_commit) {
        Some(true) => {
            report::progress(&format!(
                "{} records {} {} from {}, a later commit than {}: not dispatching",
                cfg.repo,
                cfg.component,
                record.version,
                short(theirs),
                short(&cfg.source_commit)
            ));
            Some(Landed {
                link: link(&sha),
                sha,
                changed: false,
                pull: None,
                superseded_by: Some(record.version),
            })
        }
        Some(false) => None,
        None => {
            report::progress(&format!(
                "{} records {} from {}, which this checkout does not have: whether that build is newer is left to the run (a checkout with full history, fetch-depth: 0, lets dispatch tell)",
                cfg.repo,
                record.version,
                short(theirs)
            ));
            None
        }
    }
}

/// Whether `theirs` descends from `ours` in the checkout of the current directory; `None`
/// when there is no checkout or it lacks either commit (a shallow clone).
fn descends(theirs: &str, ours: &str) -> Option<bool> {
    let repo = Repository::discover(".").ok()?;
    let (theirs, ours) = (Oid::from_str(theirs).ok()?, Oid::from_str(ours).ok()?);
    repo.find_commit(theirs).ok()?;
    repo.find_commit(ours).ok()?;
    repo.graph_descendant_of(theirs, ours).ok()
}
