//! Provenance of every update commit (issue 30): an in-toto Statement v1 saying which build,
//! dispatch and run made the commit and what it changed, in a DSSE envelope signed with the
//! commit's own signing key (unsigned, and saying so, without one), stored as a git note on
//! the commit under `refs/notes/gitops-update`. `verify` reads it back (verify.rs).
//!
//! The note binds the update to the dispatch and the key that made it. It does not vouch
//! for the artifact: the version and digest are what the consumer said it built.

pub mod dsse;
pub mod keys;
mod make;
pub mod verify;

pub use make::{statement, Asked, Made, Written};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The notes ref on the server. Not git's default `refs/notes/commits`, which people write
/// by hand: this one holds only what the tool wrote.
pub const NOTES_REF: &str = "refs/notes/gitops-update";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate's schema (docs/provenance.md). A URN: the project has no address of its own
/// to name it by, and a URL it does not control would be a promise it cannot keep.
pub const PREDICATE_TYPE: &str = "urn:gitops-update:update:v1";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The sshsig namespace of the envelope's signature: not git's `git`, so that a signature
/// over a statement can never pass for a commit's, nor a commit's for a statement's.
pub const SSH_NAMESPACE: &str = "gitops-update-provenance";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub kind: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Predicate,
}

/// An in-toto resource descriptor: the commit (`gitCommit`) or a file it wrote (`gitBlob`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Predicate {
    pub component: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The build that asked for the update, as its dispatch said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_id: Option<String>,
    /// The CI run that made the commit; none for a run by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunOrigin>,
    pub gitops: Gitops,
    pub files: Vec<FileChange>,
    /// The key that signs the envelope and the commit, or none: then the statement says
    /// itself that nobody vouches for it.
    #[serde(default)]
    pub signed_by: Option<String>,
    pub tool: Tool,
    pub created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The job's own account of itself, from the variables the runner sets (Gitea's act_runner
/// sets GitHub's names: GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, …).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunOrigin {
    pub server: String,
    pub repository: String,
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_attempt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
}

/// The GitOps repository and the commit the update was made on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Gitops {
    pub repository: String,
    pub branch: String,
    pub parent: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    /// The expressions applied to the file, in order, as given (before `{{VERSION}}` and
    /// the other placeholders were filled in).
    pub expressions: Vec<String>,
    pub before: BTreeMap<String, String>,
    pub after: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// `{"gitBlob": sha}` and friends, in-toto's names for git's object ids.
pub fn digest(kind: &str, oid: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(kind.to_string(), oid.to_string())])
}

/// The run the variables describe, when they describe one: a server, a repository and a
/// run id, each a plain one-line value (no credentials in the server's URL).
pub fn run_origin(get: impl Fn(&str) -> Option<String>) -> Option<RunOrigin> {
    let one_line = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty() && !v.chars().any(char::is_control) && v.len() <= 1024)
    };
    Some(RunOrigin {
        server: crate::model::redact_url(&one_line("GITHUB_SERVER_URL")?),
        repository: one_line("GITHUB_REPOSITORY")?,
        run_id: one_line("GITHUB_RUN_ID")?,
        run_number: one_line("GITHUB_RUN_NUMBER"),
        run_attempt: one_line("GITHUB_RUN_ATTEMPT"),
        workflow: one_line("GITHUB_WORKFLOW"),
    })
}

/// The versions the notes record for `component` in `file` through the same `expressions`
/// (another expression may write another value, of another scheme), each with the commit
/// the note is on. A note is decoded only when its payload names the component, since
/// every update reads all of them.
pub fn recorded(
    notes: &[(String, Vec<u8>)],
    component: &str,
    file: &str,
    expressions: &[&str],
) -> Vec<(String, String)> {
    let named = format!("\"component\":{}", serde_json::Value::from(component));
    let ours: Vec<String> = expressions.iter().map(|e| unspaced(e)).collect();
    notes
        .iter()
        .filter_map(|(on, text)| {
            let body = dsse::Envelope::from_note(text).ok()?.body().ok()?;
            if !body.windows(named.len()).any(|w| w == named.as_bytes()) {
                return None;
            }
            let s: Statement = serde_json::from_slice(&body).ok()?;
            // A note moved or copied to another commit than its statement's says nothing.
            let commit = s.commit().filter(|c| c == on)?.to_string();
            let p = s.predicate;
            let same = |f: &FileChange| {
                f.path == file
                    && f.expressions
                        .iter()
                        .map(|e| unspaced(e))
                        .eq(ours.iter().cloned())
            };
            (p.component == component && p.files.iter().any(same)).then_some((p.version, commit))
        })
        .collect()
}

/// An expression without its blanks: `.a="x"` and `.a = "x"` are one expression.
fn unspaced(e: &str) -> String {
    e.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Statement {
    /// The commit id the statement is about.
    pub fn commit(&self) -> Option<&str> {
        self.subject
            .iter()
            .find_map(|s| s.digest.get("gitCommit"))
            .map(String::as_str)
    }
}
