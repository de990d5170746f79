//! `gitops-update dispatch`: the consumer's side. Dispatch the GitOps repo's workflow, find
//! the commit the update made, and report it on the consumer's own commit.
//!
//! The commit is found by its `Dispatch-Id:` trailer among the commits that appeared after
//! the dispatch, so another dispatch's commit for the same version (the race the old
//! first-line match lost) is never taken for ours. Only commits without any trailer are
//! matched by their first line, for updaters that predate the trailers.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::cli::DispatchArgs;
use crate::config::{parse_duration, shown, Token, Version};
use crate::error::{Error, Result};
use crate::gitea::{ApiError, Commit, Gitea, Status};
use crate::report;

#[derive(Debug)]
pub struct DispatchConfig {
    pub repo: String,
    pub file: String,
    pub expression: String,
    pub version: Version,
    pub tag_prefix: Option<String>,
    pub api_url: String,
    pub source_repo: String,
    pub source_commit: String,
    pub workflow: String,
    pub branch: Option<String>,
    pub dispatch_id: String,
    pub component: String,
    pub wait_timeout: Duration,
    pub poll_interval: Duration,
    pub timeout: Duration,
    pub gitops_token: Token,
    pub status_token: Option<Token>,
    pub output_files: Vec<std::path::PathBuf>,
}

/// A new dispatch id: unique across runners and retries, URL-safe.
fn new_dispatch_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    format!("{}-{:016x}", now.as_millis(), h.finish())
}

impl DispatchConfig {
    pub fn resolve(
        args: DispatchArgs,
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<DispatchConfig> {
        let need = |v: Option<String>, what: &str| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| Error::Usage(format!("no {what}")))
        };
        let repo = need(
            args.repo,
            "GitOps repository: set GITOPS_REPO (owner/name) or pass --repo",
        )?;
        if repo.split('/').count() != 2 || repo.contains("://") {
            return Err(Error::Usage(format!(
                "GITOPS_REPO {} must be owner/name",
                shown(&repo)
            )));
        }
        let file = need(args.file, "file: set GITOPS_FILE or pass --file")?;
        crate::config::RepoPath::parse(&file)?;
        let expression = need(
            args.expression,
            "expression: set GITOPS_YQ_TPL or pass --expression",
        )?;
        let version = Version::parse(&need(
            args.version,
            "version: set VERSION or pass --version",
        )?)?;
        let api_url = need(args.server, "server: set GITEA_API_URL or pass --server")?;
        let source_repo = need(
            args.source_repo,
            "source repository: set GITHUB_REPOSITORY or pass --source-repo",
        )?;
        let source_commit = need(
            args.source_commit,
            "source commit: set GITHUB_SHA or pass --source-commit",
        )?;
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let gitops_token = get("GITOPS_DISPATCH_TOKEN")
            .map(Token::new)
            .ok_or_else(|| {
                Error::Usage("no token for the GitOps repository: set GITOPS_DISPATCH_TOKEN".into())
            })?;
        let status_token = get("GITHUB_TOKEN")
            .or_else(|| get("GITEA_TOKEN"))
            .map(Token::new);
        let dispatch_id = match args.dispatch_id.filter(|d| !d.is_empty()) {
            Some(d)
                if d.len() <= 100
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
            {
                d
            }
            Some(d) => {
                return Err(Error::Usage(format!(
                    "DISPATCH_ID {} must be letters, digits and - _ . (at most 100)",
                    shown(&d)
                )))
            }
            None => new_dispatch_id(),
        };
        let tag_prefix = args.tag_prefix.filter(|p| !p.is_empty());
        let component = args
            .component
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| crate::config::component_name(&source_repo, tag_prefix.as_deref()));
        let output_files = crate::config::output_files(env);
        Ok(DispatchConfig {
            repo,
            file,
            expression,
            version,
            tag_prefix,
            api_url,
            source_repo,
            source_commit,
            workflow: args.workflow,
            branch: args.branch.filter(|b| !b.is_empty()),
            dispatch_id,
            component,
            wait_timeout: parse_duration(&args.wait_timeout)?,
            poll_interval: parse_duration(&args.poll_interval)?,
            timeout: parse_duration(&args.timeout)?,
            gitops_token,
            status_token,
            output_files,
        })
    }
}

/// Whether `commit` is the one this dispatch made.
pub fn is_ours(commit: &Commit, dispatch_id: &str, version: &str) -> bool {
    let trailer = |name: &str| {
        commit
            .message
            .lines()
            .filter_map(move |l| l.strip_prefix(name))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    let ids = trailer("Dispatch-Id:");
    if !ids.is_empty() {
        return ids.contains(&dispatch_id);
    }
    let first = commit.message.lines().next().unwrap_or("");
    first.ends_with(&format!("gitops: update version to {version}"))
}

fn api(what: &str, e: ApiError) -> Error {
    Error::Api(format!("{what}: {e}"))
}

/// Dispatches, waits, reports. The summary line is written whatever happens.
pub fn run(cfg: &DispatchConfig) -> Result<u8> {
    let result = dispatch_and_wait(cfg);
    let (status, sha) = match &result {
        Ok(c) => ("success", c.sha.clone()),
        Err(_) => ("failure", String::new()),
    };
    let summary = format!(
        "{}|{}|{status}|{sha}|{}",
        cfg.component, cfg.version, cfg.repo
    );
    let outputs = [
        ("summary", summary.as_str()),
        ("commit_sha", sha.as_str()),
        ("dispatch_id", cfg.dispatch_id.as_str()),
    ];
    report::append_outputs(&cfg.output_files, &outputs)
        .map_err(|(path, source)| Error::Write { path, source })?;
    consumer_status(cfg, &result);
    let commit = result?;
    report::stdout(&format!("{summary}\n")).map_err(|source| Error::Write {
        path: "<stdout>".into(),
        source,
    })?;
    report::progress(&format!(
        "{} {} landed in {} as {}",
        cfg.component,
        cfg.version,
        cfg.repo,
        &commit.sha[..7.min(commit.sha.len())]
    ));
    Ok(crate::error::exit::OK)
}

/// The status on the consumer's own commit: success with a link to the GitOps commit, or
/// failure. Problems here are warnings: the outcome is already decided.
fn consumer_status(cfg: &DispatchConfig, result: &Result<Commit>) {
    let Some(token) = cfg.status_token.clone() else {
        report::progress("commit status skipped: no GITHUB_TOKEN or GITEA_TOKEN");
        return;
    };
    let name = cfg.repo.rsplit('/').next().unwrap_or(&cfg.repo);
    let context = match cfg
        .tag_prefix
        .as_deref()
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("gitops/{name}/{p}"),
        None => format!("gitops/{name}"),
    };
    let base = crate::config::server_base(&cfg.api_url);
    let status = match result {
        Ok(c) => Status {
            state: "success",
            context,
            target_url: Some(
                c.html_url
                    .clone()
                    .unwrap_or_else(|| format!("{base}/{}/commit/{}", cfg.repo, c.sha)),
            ),
            description: format!(
                "{} {} deployed to {} at {}",
                cfg.component,
                cfg.version,
                cfg.repo,
                &c.sha[..7.min(c.sha.len())]
            ),
        },
        Err(e) => Status {
            state: "failure",
            context,
            target_url: Some(format!("{base}/{}/actions", cfg.repo)),
            description: e.to_string().chars().take(140).collect(),
        },
    };
    let set = Gitea::new(&cfg.api_url, token, cfg.timeout)
        .map_err(ApiError::Unavailable)
        .and_then(|g| g.set_status(&cfg.source_repo, &cfg.source_commit, &status));
    if let Err(e) = set {
        report::note(&format!(
            "the status on {}@{} could not be set ({e})",
            cfg.source_repo, cfg.source_commit
        ));
    }
}

fn dispatch_and_wait(cfg: &DispatchConfig) -> Result<Commit> {
    let gitea =
        Gitea::new(&cfg.api_url, cfg.gitops_token.clone(), cfg.timeout).map_err(Error::Api)?;
    let branch = match &cfg.branch {
        Some(b) => b.clone(),
        None => gitea
            .default_branch(&cfg.repo)
            .map_err(|e| api(&format!("cannot read {}", cfg.repo), e))?,
    };
    // What is there before the dispatch can never be the answer.
    let before: HashSet<String> = gitea
        .commits(&cfg.repo, &branch, 50)
        .map_err(|e| api(&format!("cannot list the commits of {}", cfg.repo), e))?
        .into_iter()
        .map(|c| c.sha)
        .collect();
    let inputs = [
        ("file", cfg.file.as_str()),
        ("yq_tpl", cfg.expression.as_str()),
        ("version", cfg.version.as_str()),
        ("source_repo", cfg.source_repo.as_str()),
        ("source_commit", cfg.source_commit.as_str()),
        ("dispatch_id", cfg.dispatch_id.as_str()),
        ("git_tag_prefix", cfg.tag_prefix.as_deref().unwrap_or("")),
    ];
    let run = gitea
        .dispatch(&cfg.repo, &cfg.workflow, &branch, &inputs)
        .map_err(|e| {
            api(
                &format!("cannot dispatch {} in {}", cfg.workflow, cfg.repo),
                e,
            )
        })?;
    report::progress(&format!(
        "dispatched {} in {} on {branch} (dispatch {}{})",
        cfg.workflow,
        cfg.repo,
        cfg.dispatch_id,
        run.map(|r| format!(", run {r}")).unwrap_or_default()
    ));
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let commits = gitea
            .commits(&cfg.repo, &branch, 50)
            .map_err(|e| api(&format!("cannot list the commits of {}", cfg.repo), e))?;
        if let Some(c) = commits.iter().find(|c| {
            !before.contains(&c.sha) && is_ours(c, &cfg.dispatch_id, cfg.version.as_str())
        }) {
            return Ok(c.clone());
        }
        if let Some(run) = run {
            let (state, conclusion) = gitea
                .run_state(&cfg.repo, run)
                .map_err(|e| api(&format!("cannot read run {run} of {}", cfg.repo), e))?;
            match conclusion.as_deref() {
                Some("success") if state == "completed" => {
                    // Nothing to commit: the version was already there. The tip carries it.
                    if let Some(tip) = commits.first() {
                        return Ok(tip.clone());
                    }
                }
                Some(other) if state == "completed" => {
                    return Err(Error::NotLanded(format!(
                        "the GitOps run {run} in {} ended with {other}; see its log",
                        cfg.repo
                    )))
                }
                _ => {}
            }
        }
        let waited = start.elapsed();
        if waited >= cfg.wait_timeout {
            return Err(Error::NotLanded(format!(
                "no commit for dispatch {} appeared on {branch} of {} within {}s",
                cfg.dispatch_id,
                cfg.repo,
                cfg.wait_timeout.as_secs()
            )));
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            report::progress(&format!(
                "still waiting for the GitOps commit ({}s of {}s)",
                waited.as_secs(),
                cfg.wait_timeout.as_secs()
            ));
            last_report = Instant::now();
        }
        std::thread::sleep(
            cfg.poll_interval
                .min(cfg.wait_timeout.saturating_sub(waited)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(message: &str) -> Commit {
        Commit {
            sha: "a".repeat(40),
            message: message.into(),
            html_url: None,
        }
    }

    #[test]
    fn ours_by_trailer_first() {
        let msg = "[skip ci] gitops: update version to 1.2.3\n\nDispatch-Id: d-1\nFile: v.yaml\n";
        assert!(is_ours(&commit(msg), "d-1", "1.2.3"));
        assert!(
            !is_ours(&commit(msg), "d-2", "1.2.3"),
            "another dispatch of the same version"
        );
        assert!(
            is_ours(
                &commit("[skip ci] gitops: update version to 1.2.3"),
                "d-2",
                "1.2.3"
            ),
            "old updaters have no trailer"
        );
        assert!(!is_ours(
            &commit("[skip ci] gitops: update version to 1.2.30"),
            "d-2",
            "1.2.3"
        ));
    }

    #[test]
    fn dispatch_ids_are_unique_and_url_safe() {
        let (a, b) = (new_dispatch_id(), new_dispatch_id());
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }
}
