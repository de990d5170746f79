//! Raw flags and environment variables in, validated configuration out: one
//! `resolve(args, &Env)` per command (`eval`, `run`, `dispatch`). Every error here is raised
//! before anything is read or written.

mod dispatch;
mod eval;
mod run;
mod verify;
mod workflow;

pub use dispatch::DispatchConfig;
pub use eval::{EvalConfig, Format as EvalFormat, Input, Output};
pub use run::{PullRequestMode, RunConfig};
pub use verify::VerifyConfig;
pub use workflow::{Mode as WorkflowMode, WorkflowConfig};

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::shown;

/// The process environment, as the commands read it.
pub type Env = BTreeMap<String, String>;

/// The environment with names that cannot be jq strings (non-UTF-8) left out.
pub fn env_snapshot() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The component in the summary line: the repository's name, with `-<prefix>` for a tag
/// prefix (`api/` gives `app-api`), so that one monorepo's components stay apart.
pub fn component_name(repo: &str, tag_prefix: Option<&str>) -> String {
    let base = repo
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(repo);
    match tag_prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{base}-{}", p.replace('/', "-")),
        None => base.to_string(),
    }
}

/// The step output files: `$GITHUB_OUTPUT` and `$GITEA_OUTPUT`, whichever are set, once each.
pub fn output_files(env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for k in ["GITHUB_OUTPUT", "GITEA_OUTPUT"] {
        if let Some(p) = env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from) {
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    files
}

/// `$GITHUB_STEP_SUMMARY`, else `$GITEA_STEP_SUMMARY`.
pub fn step_summary(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    ["GITHUB_STEP_SUMMARY", "GITEA_STEP_SUMMARY"]
        .iter()
        .find_map(|k| env.get(*k).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
}

/// Names an expression may read in the update run, besides those given with --allow-env.
pub const RUN_ENV_ALLOWLIST: [&str; 5] = [
    "VERSION",
    "SOURCE_REPO",
    "SOURCE_COMMIT",
    "DISPATCH_ID",
    "GIT_TAG_PREFIX",
];

/// `--max-eval-time` and `--max-eval-memory`.
pub fn limits(args: &crate::cli::BudgetArgs) -> Result<crate::budget::Limits> {
    let time = parse_duration(&args.max_eval_time).map_err(|_| {
        Error::Usage(format!(
            "invalid --max-eval-time {}: use a number with ms, s or m, such as 10s",
            crate::model::shown(&args.max_eval_time)
        ))
    })?;
    let memory = crate::budget::parse_size(&args.max_eval_memory)
        .filter(|&m| m > 0)
        .ok_or_else(|| {
            Error::Usage(format!(
                "invalid --max-eval-memory {}: use a size such as 512MiB or 2GiB",
                crate::model::shown(&args.max_eval_memory)
            ))
        })?;
    let output = match args.max_output_size.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(size) => Some(
            crate::budget::parse_size(size)
                .filter(|&m| m > 0)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "invalid --max-output-size {}: use a size such as 64MiB",
                        crate::model::shown(size)
                    ))
                })?,
        ),
    };
    Ok(crate::budget::Limits {
        time,
        memory,
        output,
    })
}

pub fn parse_duration(s: &str) -> Result<std::time::Duration> {
    let bad = || {
        Error::Usage(format!(
            "invalid --timeout {}: use a number with ms, s or m, such as 30s",
            shown(s)
        ))
    };
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        _ => return Err(bad()),
    };
    if ms == 0 || ms > 3_600_000 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// A free-text input that ends up in a commit message or an output line: one line, bounded.
pub(crate) fn one_line(name: &str, v: Option<String>) -> Result<Option<String>> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let why = if v.chars().any(char::is_control) {
        Some("a control character or line break")
    } else if v.chars().any(crate::chars::is_bidi) {
        Some("a bidirectional control character")
    } else if v.len() > 256 {
        Some("more than 256 characters")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::Usage(format!(
            "{name} {} has {why}: it must be one line of plain text",
            shown(&v)
        ))),
        None => Ok(Some(v)),
    }
}

/// A field of the report line `component|version|status|commit_sha|repo`: one line, and no
/// `|`, which would move the fields after it (a failure could read as a success).
pub(crate) fn report_field(name: &str, v: Option<String>) -> Result<Option<String>> {
    match one_line(name, v)? {
        Some(v) if v.contains('|') => Err(Error::Usage(format!(
            "{name} {} contains `|`, which separates the fields of the pipeline's report line",
            shown(&v)
        ))),
        v => Ok(v),
    }
}

/// An input that must follow a rule: none when empty, else `{name} {value} must be {rule}`.
pub(crate) fn matching(
    name: &str,
    v: Option<String>,
    ok: impl Fn(&str) -> bool,
    rule: &str,
) -> Result<Option<String>> {
    match v.filter(|v| !v.is_empty()) {
        Some(v) if ok(&v) => Ok(Some(v)),
        Some(v) => Err(Error::Usage(format!("{name} {} must be {rule}", shown(&v)))),
        None => Ok(None),
    }
}

/// `owner/name`, as `run` and `dispatch` both take a source repository.
pub(crate) fn repo_slug(name: &str, v: Option<String>) -> Result<Option<String>> {
    matching(
        name,
        v,
        crate::model::is_slug,
        "owner/name (letters, digits and . _ -)",
    )
}

/// A full commit sha: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub(crate) fn commit_sha(name: &str, v: Option<String>) -> Result<Option<String>> {
    let sha = |v: &str| matches!(v.len(), 40 | 64) && v.chars().all(|c| c.is_ascii_hexdigit());
    matching(name, v, sha, "a full commit sha (40 or 64 hex digits)")
}

/// A dispatch id: letters, digits and `- _ .`, at most 100.
pub(crate) fn dispatch_id(name: &str, v: Option<String>) -> Result<Option<String>> {
    let id = |v: &str| v.len() <= 100 && v.chars().all(crate::model::id_char);
    matching(name, v, id, "letters, digits and - _ . (at most 100)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap().as_millis(), 30_000);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_duration("2m").unwrap().as_millis(), 120_000);
        assert_eq!(parse_duration("5").unwrap().as_millis(), 5_000);
        for bad in ["", "0s", "x", "5h", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn component_names() {
        assert_eq!(component_name("acme/app", None), "app");
        assert_eq!(component_name("acme/app", Some("api/")), "app-api");
        assert_eq!(component_name("acme/app", Some("svc/api/")), "app-svc-api");
        assert_eq!(component_name("app", Some("")), "app");
    }
}
