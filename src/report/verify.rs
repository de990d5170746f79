//! What `verify` prints: one line per commit with its chain, or one JSON object per commit;
//! a count on stderr.

use git2::Oid;
use serde_json::json;

use crate::model::{short, Chain, Signed, Verdict};

#[derive(Default)]
pub(crate) struct VerifyReport {
    rows: Vec<(Oid, Verdict)>,
}

impl VerifyReport {
    pub(crate) fn push(&mut self, commit: Oid, verdict: Verdict) {
        self.rows.push((commit, verdict));
    }

    pub(crate) fn failed(&self) -> bool {
        self.rows
            .iter()
            .any(|(_, v)| matches!(v, Verdict::Failed { .. }))
    }

    pub(crate) fn print(&self, json: bool) -> crate::Result<()> {
        let text = if json {
            let rows: Vec<_> = self.rows.iter().map(|(c, v)| as_json(c, v)).collect();
            serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
        } else {
            self.rows.iter().map(|(c, v)| line(c, v)).collect()
        };
        super::print(&text)?;
        let count = |word: &str| self.rows.iter().filter(|(_, v)| state(v) == word).count();
        super::progress(&format!(
            "update commits: {} verified, {} unsigned, {} with a signature not checked, {} failed; {} other commits skipped",
            count("verified"),
            count("unsigned"),
            count("unchecked"),
            count("failed"),
            count("skipped"),
        ));
        Ok(())
    }
}

/// `source repo@commit → version → GitOps commit → files`.
fn chain_text(commit: &Oid, c: &Chain) -> String {
    let source = match (&c.source_repo, &c.source_commit) {
        (Some(r), Some(s)) => format!("{r}@{}", short(s)),
        (Some(r), None) => r.clone(),
        (None, Some(s)) => short(s).to_string(),
        (None, None) => "(no source)".into(),
    };
    let text = format!(
        "{source} → {} {} → {} → {}",
        c.component,
        c.version,
        short(&commit.to_string()),
        c.files.join(", ")
    );
    super::escape(&text)
}

fn signed_text(s: &Signed) -> String {
    super::escape(&match s {
        Signed::Unsigned => "no signature: nothing vouches for it".to_string(),
        Signed::Unchecked(key) => format!(
            "claims a signature by {key}; give --allowed-signers or --gpg-keyring to check it"
        ),
        Signed::Verified { key, by } => format!("signed by {key} ({by})"),
    })
}

/// The word a commit's line starts with: `verified` only when a key given checked it.
fn state(v: &Verdict) -> &'static str {
    match v {
        Verdict::NotAnUpdate => "skipped",
        Verdict::Failed { .. } => "failed",
        Verdict::Verified(c) => match c.signature {
            Signed::Verified { .. } => "verified",
            Signed::Unsigned => "unsigned",
            Signed::Unchecked(_) => "unchecked",
        },
    }
}

fn line(commit: &Oid, v: &Verdict) -> String {
    let id = short(&commit.to_string()).to_string();
    match v {
        Verdict::NotAnUpdate => format!("skipped   {id}  not an update commit\n"),
        Verdict::Verified(c) => format!(
            "{:<9} {id}  {}  [{}]\n",
            state(v),
            chain_text(commit, c),
            signed_text(&c.signature)
        ),
        Verdict::Failed { chain, why } => match chain {
            Some(c) => format!(
                "FAILED    {id}  {}: {}\n",
                chain_text(commit, c),
                super::escape(why)
            ),
            None => format!("FAILED    {id}  {}\n", super::escape(why)),
        },
    }
}

fn as_json(commit: &Oid, v: &Verdict) -> serde_json::Value {
    let chain = |c: &Chain| {
        json!({
            "component": c.component,
            "version": c.version,
            "source_repo": c.source_repo,
            "source_commit": c.source_commit,
            "dispatch_id": c.dispatch_id,
            "run": c.run,
            "files": c.files,
            "signature": match &c.signature {
                Signed::Unsigned => json!({"state": "unsigned"}),
                Signed::Unchecked(k) => json!({"state": "unchecked", "key": k}),
                Signed::Verified { key, by } => json!({"state": "verified", "key": key, "signer": by}),
            },
        })
    };
    let (chain, why) = match v {
        Verdict::NotAnUpdate => (None, None),
        Verdict::Verified(c) => (Some(chain(c)), None),
        Verdict::Failed { chain: c, why } => (c.as_ref().map(chain), Some(why)),
    };
    json!({"commit": commit.to_string(), "state": state(v), "provenance": chain, "error": why})
}
