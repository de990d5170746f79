//! The statement of one update commit, from the run's inputs and what it wrote.

use git2::{ObjectType, Oid};

use super::{
    digest, FileChange, Gitops, Predicate, Source, Statement, Subject, Tool, PREDICATE_TYPE,
    STATEMENT_TYPE,
};
use crate::sign::Signer;

/// What the run was asked to record, as its inputs gave it.
pub struct Asked<'a> {
    pub component: &'a str,
    pub version: &'a str,
    pub digest: Option<&'a str>,
    pub source_repo: Option<&'a str>,
    pub source_commit: Option<&'a str>,
    pub dispatch_id: Option<&'a str>,
    pub run: Option<&'a super::RunOrigin>,
    /// Each file's expressions, as given.
    pub edits: Vec<(&'a str, &'a str)>,
    pub signer: Option<&'a Signer>,
}

/// One file as the commit wrote it.
pub struct Written<'a> {
    pub path: &'a str,
    pub before: &'a [u8],
    pub after: &'a [u8],
}

/// Where the commit was made: the GitOps repository (without credentials), its branch, the
/// tip it was built on, and the commit.
pub struct Made<'a> {
    pub repository: &'a str,
    pub branch: &'a str,
    pub parent: Oid,
    pub commit: Oid,
}

fn blob_id(bytes: &[u8]) -> String {
    Oid::hash_object(ObjectType::Blob, bytes).map_or_else(|_| String::new(), |o| o.to_string())
}

/// The statement: the commit and each file's new blob as subjects; what asked for the
/// update, which run made it, and each file's blob before and after as the predicate.
pub fn statement(cfg: &Asked, made: &Made, files: &[Written]) -> Statement {
    let mut subject = vec![Subject {
        name: format!("{}@{}", made.repository, made.branch),
        digest: digest("gitCommit", &made.commit.to_string()),
    }];
    let mut changes = Vec::new();
    for f in files {
        let after = blob_id(f.after);
        subject.push(Subject {
            name: f.path.to_string(),
            digest: digest("gitBlob", &after),
        });
        changes.push(FileChange {
            path: f.path.to_string(),
            expressions: cfg
                .edits
                .iter()
                .filter(|(p, _)| *p == f.path)
                .map(|(_, e)| e.to_string())
                .collect(),
            before: digest("gitBlob", &blob_id(f.before)),
            after: digest("gitBlob", &after),
        });
    }
    let source = (cfg.source_repo.is_some() || cfg.source_commit.is_some()).then(|| Source {
        repository: cfg.source_repo.map(str::to_string),
        commit: cfg.source_commit.map(str::to_string),
    });
    Statement {
        kind: STATEMENT_TYPE.to_string(),
        subject,
        predicate_type: PREDICATE_TYPE.to_string(),
        predicate: Predicate {
            component: cfg.component.to_string(),
            version: cfg.version.to_string(),
            digest: cfg.digest.map(str::to_string),
            source,
            dispatch_id: cfg.dispatch_id.map(str::to_string),
            run: cfg.run.cloned(),
            gitops: Gitops {
                repository: made.repository.to_string(),
                branch: made.branch.to_string(),
                parent: made.parent.to_string(),
            },
            files: changes,
            signed_by: cfg.signer.map(Signer::key_id),
            tool: Tool {
                name: env!("CARGO_PKG_NAME").to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            created: jiff::Timestamp::now().to_string(),
        },
    }
}
