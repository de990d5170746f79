//! `dispatch`'s inputs. Everything that ends up in a step output, a status or a URL is
//! checked here, before anything is sent: a line break, a malformed owner/name or sha is a
//! usage error.

use std::time::{Duration, Instant};

use super::{component_name, output_files, parse_duration, Env};

use crate::cli::DispatchArgs;
use crate::error::{Error, Result};
use crate::forge::{self, ApiError, Gitea};
use crate::model::{git_ref_ok, id_char, shown, RepoPath, SafeUrl, Token, Version};

#[derive(Debug)]
pub struct DispatchConfig {
    pub repo: String,
    pub file: String,
    pub expression: String,
    pub version: Version,
    pub tag_prefix: Option<String>,
    pub api_url: SafeUrl,
    pub source_repo: String,
    pub source_commit: String,
    pub workflow: String,
    pub branch: Option<String>,
    pub dispatch_id: String,
    pub component: String,
    pub wait_timeout: Duration,
    /// Wait for the pull request the GitOps run opened to be merged.
    pub wait_merged: bool,
    /// The receiver's `deploy_name` input: which component its run deploys.
    pub deploy_name: Option<String>,
    pub poll_interval: Duration,
    pub lost_after: Duration,
    pub timeout: Duration,
    pub gitops_token: Token,
    pub status_token: Option<Token>,
    pub output_files: Vec<std::path::PathBuf>,
}

/// `--env-json` / `ENV_JSON`: the JSON object of a pipeline's config that the shared
/// workflows pass along. Each input it names by its variable fills the input when no flag
/// or variable gave one (an empty one counts as none); other keys are the pipeline's own
/// and are left alone. The text is never echoed: it may hold more than this needs.
fn env_json(args: &mut DispatchArgs, env: &Env) -> Result<()> {
    let Some(text) = args.env_json.take().filter(|t| !t.trim().is_empty()) else {
        return Ok(());
    };
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(&text) else {
        return Err(Error::Usage(
            "ENV_JSON is not a JSON object: pass the pipeline's config as one object, such as {\"GITEA_API_URL\": \"https://git.example.com/api/v1\"}".into(),
        ));
    };
    let workflow_default = args.workflow == "gitops-service.yaml"
        && env.get("GITOPS_WORKFLOW").is_none_or(|v| v.is_empty());
    let mut workflow = None;
    let slots: [(&str, &mut Option<String>); 12] = [
        ("GITOPS_REPO", &mut args.repo),
        ("GITOPS_FILE", &mut args.file),
        ("GITOPS_YQ_TPL", &mut args.expression),
        ("VERSION", &mut args.version),
        ("GIT_TAG_PREFIX", &mut args.tag_prefix),
        ("GITEA_API_URL", &mut args.server),
        ("GITHUB_REPOSITORY", &mut args.source_repo),
        ("GITHUB_SHA", &mut args.source_commit),
        ("GITOPS_BRANCH", &mut args.branch),
        ("DISPATCH_ID", &mut args.dispatch_id),
        ("GITOPS_WORKFLOW", &mut workflow),
        ("GITOPS_DEPLOY_NAME", &mut args.deploy_name),
    ];
    for (key, slot) in slots {
        let value = match obj.get(key) {
            None | Some(serde_json::Value::Null) => continue,
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(_) => return Err(Error::Usage(format!("ENV_JSON's {key} must be a string"))),
        };
        if slot.as_deref().is_none_or(str::is_empty) {
            *slot = Some(value);
        }
    }
    if let Some(w) = workflow.filter(|_| workflow_default) {
        args.workflow = w;
    }
    Ok(())
}

/// A new dispatch id: unique across runners and retries, URL-safe.
fn new_dispatch_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}-{}",
        now.as_millis(),
        crate::model::random_hex().get(..16).unwrap_or_default()
    )
}

impl DispatchConfig {
    /// What this dispatch looks for in the GitOps repo.
    pub fn asked(&self) -> crate::record::Asked<'_> {
        crate::record::Asked {
            dispatch_id: &self.dispatch_id,
            version: self.version.as_str(),
            source_commit: &self.source_commit,
            component: &self.component,
            file: &self.file,
        }
    }

    /// The forge of the GitOps repository, built once. --wait-timeout is a hard deadline over
    /// everything the dispatch does from here, every request included.
    pub fn forge(&self) -> std::result::Result<Gitea, ApiError> {
        forge::connect(&self.api_url, self.gitops_token.clone(), self.timeout)
            .map(|g| g.with_deadline(Instant::now() + self.wait_timeout))
    }

    /// The forge that sets the status on the consumer's commit, with the consumer's token;
    /// `None` without one.
    pub fn status_forge(&self) -> Option<std::result::Result<Gitea, ApiError>> {
        let token = self.status_token.clone()?;
        Some(forge::connect(&self.api_url, token, self.timeout))
    }

    /// Every input validated, in the order the errors are reported. Longer than a screen only
    /// by the struct it fills, a field a line.
    pub fn resolve(mut args: DispatchArgs, env: &Env) -> Result<DispatchConfig> {
        env_json(&mut args, env)?;
        let repo = super::repo_slug(
            "GITOPS_REPO",
            Some(need(
                args.repo,
                "GitOps repository: set GITOPS_REPO (owner/name) or pass --repo",
            )?),
        )?
        .unwrap_or_default();
        let file = need(args.file, "file: set GITOPS_FILE or pass --file")?;
        RepoPath::parse(&file)?;
        let expression = need(
            args.expression,
            "expression: set GITOPS_YQ_TPL or pass --expression",
        )?;
        let version = Version::parse(&need(
            args.version,
            "version: set VERSION or pass --version",
        )?)?;
        let api_url = api_url(args.server)?;
        let (source_repo, source_commit) = source(args.source_repo, args.source_commit)?;
        let (gitops_token, status_token) = tokens(env)?;
        let dispatch_id =
            super::dispatch_id("DISPATCH_ID", args.dispatch_id)?.unwrap_or_else(new_dispatch_id);
        let tag_prefix = super::report_field("GIT_TAG_PREFIX", args.tag_prefix)?;
        let component = super::report_field("--component", args.component)?
            .unwrap_or_else(|| component_name(&source_repo, tag_prefix.as_deref()));
        if args.workflow.is_empty() || !args.workflow.chars().all(id_char) {
            return Err(Error::Usage(format!(
                "GITOPS_WORKFLOW {} must be a workflow file name, such as gitops-service.yaml",
                shown(&args.workflow)
            )));
        }
        let branch = branch(args.branch)?;
        let deploy_name = deploy_name(args.deploy_name)?;
        Ok(DispatchConfig {
            deploy_name,
            repo,
            file,
            expression,
            version,
            tag_prefix,
            api_url,
            source_repo,
            source_commit,
            workflow: args.workflow,
            branch,
            dispatch_id,
            component,
            wait_timeout: parse_duration(&args.wait_timeout)?,
            wait_merged: args.wait_merged,
            poll_interval: parse_duration(&args.poll_interval)?,
            lost_after: parse_duration(&args.lost_after)?,
            timeout: parse_duration(&args.timeout)?,
            gitops_token,
            status_token,
            output_files: output_files(env),
        })
    }
}

/// A required input: given and not empty, or a usage error naming how to give it.
fn need(v: Option<String>, what: &str) -> Result<String> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Usage(format!("no {what}")))
}

fn api_url(arg: Option<String>) -> Result<SafeUrl> {
    let api_url = SafeUrl::new(need(arg, "server: set GITEA_API_URL or pass --server")?);
    if !api_url.is_http() || api_url.expose().chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "GITEA_API_URL {} must be an https:// or http:// URL",
            shown(&api_url.to_string())
        )));
    }
    Ok(api_url)
}

/// The consumer's repository and commit, which the status goes on.
fn source(repo: Option<String>, commit: Option<String>) -> Result<(String, String)> {
    let repo = super::repo_slug(
        "GITHUB_REPOSITORY",
        Some(need(
            repo,
            "source repository: set GITHUB_REPOSITORY or pass --source-repo",
        )?),
    )?
    .unwrap_or_default();
    let commit = super::commit_sha(
        "GITHUB_SHA",
        Some(need(
            commit,
            "source commit: set GITHUB_SHA or pass --source-commit",
        )?),
    )?
    .unwrap_or_default();
    Ok((repo, commit))
}

/// The token that dispatches in the GitOps repository, and the consumer's own, which sets
/// the status on its commit.
fn tokens(env: &Env) -> Result<(Token, Option<Token>)> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    let gitops = get("GITOPS_DISPATCH_TOKEN")
        .map(Token::new)
        .ok_or_else(|| {
            Error::Usage("no token for the GitOps repository: set GITOPS_DISPATCH_TOKEN".into())
        })?;
    let status = get("GITHUB_TOKEN")
        .or_else(|| get("GITEA_TOKEN"))
        .map(Token::new);
    Ok((gitops, status))
}

fn branch(arg: Option<String>) -> Result<Option<String>> {
    match arg.filter(|b| !b.is_empty()) {
        Some(b) if git_ref_ok(&b) => Ok(Some(b)),
        Some(b) => Err(Error::Usage(format!("invalid GITOPS_BRANCH {}", shown(&b)))),
        None => Ok(None),
    }
}

fn deploy_name(arg: Option<String>) -> Result<Option<String>> {
    super::matching(
        "GITOPS_DEPLOY_NAME",
        arg,
        crate::workflow::valid_name,
        "a component of the GitOps repo's .gitops-update.yaml (letters, digits, _ and -)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_ids_are_unique_and_url_safe() {
        let (a, b) = (new_dispatch_id(), new_dispatch_id());
        assert_ne!(a, b);
        assert!(a.chars().all(id_char), "{a}");
    }
}
