//! The GitOps repo's receiver workflow, generated from `.gitops-update.yaml`:
//!
//! ```yaml
//! workflow:                 # optional: where the update job runs
//!   runs_on: gitops         # default: gitops, a runner label mapped to the CI image
//!   image: registry.local/platform/gitops-ci:0.1.0   # default: none (the label's image)
//! components:
//!   payments:
//!     on_update:
//!       deploy:
//!         workflow: ./.gitea/workflows/deploy.yaml   # or owner/repo/.gitea/workflows/x.yml@ref
//!         environment: production                   # optional
//! files: { ... }            # the policy (src/policy.rs); not read here
//! ```
//!
//! Without any `on_update`, the output is the record-only receiver, and nothing else in the
//! config can change a byte of it: teams diff it against the shipped template, and
//! `--check` in their CI must not flap on a comment or a reordered `files:`.

use jaq_json::Val;

use crate::error::{Error, Result};
use crate::json::json_str;
use crate::yaml;

pub const CONFIG: &str = crate::policy::FILE;
/// Where the receiver lives in the GitOps repo; `dispatch`'s default `--workflow`.
pub const RECEIVER: &str = ".gitea/workflows/gitops-service.yaml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub component: String,
    pub workflow: String,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    pub runs_on: String,
    pub image: Option<String>,
    pub deploys: Vec<Deploy>,
    /// The secret holding the token the update pushes with; none: the job token
    /// (`secrets.GITEA_TOKEN`).
    pub token_secret: Option<String>,
    /// `--pull-request` for the update: `true` (a branch of ours) or `agit`.
    pub pull_request: Option<String>,
    /// `--auto-merge` for that pull request.
    pub auto_merge: bool,
    /// The secret holding the signing key (`GITOPS_SIGNING_KEY`), and its passphrase's.
    pub signing_key_secret: Option<String>,
    pub signing_passphrase_secret: Option<String>,
}

impl Default for Receiver {
    fn default() -> Receiver {
        Receiver {
            runs_on: "gitops".into(),
            image: None,
            deploys: Vec::new(),
            token_secret: None,
            pull_request: None,
            auto_merge: false,
            signing_key_secret: None,
            signing_passphrase_secret: None,
        }
    }
}

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::Refused {
        file: CONFIG.to_string(),
        msg: msg.to_string(),
    }
}

fn text(v: &Val) -> Option<String> {
    match v {
        Val::TStr(s) | Val::BStr(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn get<'v>(v: &'v Val, key: &str) -> Option<&'v Val> {
    match v {
        Val::Obj(o) => o.get(&Val::from(key.to_string())),
        _ => None,
    }
}

/// The keys of a mapping, refusing any but `known` (a misspelt `on_update` must not quietly
/// give a receiver that never deploys).
fn only_keys(v: &Val, known: &[&str], what: &str) -> Result<()> {
    let Val::Obj(o) = v else {
        return Err(invalid(format!("{what} must be a mapping")));
    };
    for k in o.keys() {
        let k = text(k).unwrap_or_else(|| k.to_string());
        if !known.contains(&k.as_str()) {
            return Err(invalid(format!(
                "{what} has an unknown key `{k}`; it takes only {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn string(v: &Val, what: &str) -> Result<String> {
    let s = text(v).ok_or_else(|| invalid(format!("{what} must be a string")))?;
    if s.contains(['\n', '\r']) || s.contains("${{") {
        return Err(invalid(format!(
            "{what} must be one line with no `${{{{` expression"
        )));
    }
    Ok(s)
}

/// A job id is letters, digits, `_` and `-`; the job is `deploy_<name>`, so the name may
/// start with a digit.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn workflow_file(path: &str) -> bool {
    let Some(file) = path
        .strip_prefix(".gitea/workflows/")
        .or_else(|| path.strip_prefix(".github/workflows/"))
    else {
        return false;
    };
    (file.ends_with(".yml") || file.ends_with(".yaml"))
        && !file.contains('/')
        && file.len() > 4
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// `./.gitea/workflows/x.yaml` in this repository, or `owner/repo/.gitea/workflows/x.yml@ref`
/// (`.github/workflows/` too): the two forms a job's `uses:` takes for a reusable workflow.
pub fn reusable_reference(r: &str) -> bool {
    if let Some(local) = r.strip_prefix("./") {
        return workflow_file(local);
    }
    let Some((path, git_ref)) = r.rsplit_once('@') else {
        return false;
    };
    let mut parts = path.splitn(3, '/');
    let (Some(owner), Some(repo), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    word(owner)
        && word(repo)
        && workflow_file(file)
        && !git_ref.is_empty()
        && git_ref
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

/// A component's deploy job, when its settings ask for one (`on_update.deploy`).
fn deploy_of(name: String, settings: &Val) -> Result<Option<Deploy>> {
    let Some(on_update) = get(settings, "on_update") else {
        return Ok(None);
    };
    let at = |what: &str| format!("component `{name}`: {what}");
    if !valid_name(&name) {
        return Err(invalid(at(
            "the name becomes the job id deploy_<name>, so it may use only letters, digits, _ and - (at most 64)",
        )));
    }
    only_keys(on_update, &["deploy"], &at("`on_update:`"))?;
    let Some(deploy) = get(on_update, "deploy") else {
        return Err(invalid(at("`on_update:` needs `deploy: {workflow: ...}`")));
    };
    only_keys(
        deploy,
        &["workflow", "environment"],
        &at("`on_update.deploy:`"),
    )?;
    let Some(workflow) = get(deploy, "workflow") else {
        return Err(invalid(at(
            "`on_update.deploy` needs `workflow:`, the reusable workflow to call",
        )));
    };
    let workflow = string(workflow, &at("`on_update.deploy.workflow`"))?;
    if !reusable_reference(&workflow) {
        return Err(invalid(at(&format!(
            "`on_update.deploy.workflow` {} is not a reusable workflow: use ./.gitea/workflows/<file>.yaml or <owner>/<repo>/.gitea/workflows/<file>.yaml@<ref>",
            json_str(&workflow)
        ))));
    }
    let environment = match get(deploy, "environment") {
        None | Some(Val::Null) => None,
        Some(e) => Some(string(e, &at("`on_update.deploy.environment`"))?),
    };
    Ok(Some(Deploy {
        component: name,
        workflow,
        environment,
    }))
}

impl Receiver {
    /// The receiver a config asks for. `bytes` is the config's text.
    pub fn parse(bytes: &[u8]) -> Result<Receiver> {
        let src = yaml::decode(bytes, CONFIG)?;
        let parsed = yaml::parse(src, CONFIG)?;
        let mut receiver = Receiver::default();
        let root = match parsed.values.first() {
            None | Some(Val::Null) => return Ok(receiver),
            Some(root @ Val::Obj(_)) => root,
            Some(_) => return Err(invalid("the config must be a mapping")),
        };
        if let Some(w) = get(root, "workflow") {
            receiver.workflow_settings(w)?;
        }
        let components = match get(root, "components") {
            None | Some(Val::Null) => return Ok(receiver),
            Some(Val::Obj(c)) => c,
            Some(_) => {
                return Err(invalid(
                    "`components:` must map component names to their settings",
                ))
            }
        };
        for (name, settings) in components.iter() {
            let name = text(name).unwrap_or_else(|| name.to_string());
            if let Some(deploy) = deploy_of(name, settings)? {
                receiver.deploys.push(deploy);
            }
        }
        Ok(receiver)
    }

    /// `workflow:`: the runner label and the job's image.
    fn workflow_settings(&mut self, w: &Val) -> Result<()> {
        only_keys(
            w,
            &[
                "runs_on",
                "image",
                "token_secret",
                "pull_request",
                "auto_merge",
                "signing_key_secret",
                "signing_passphrase_secret",
            ],
            "`workflow:`",
        )?;
        self.landing_settings(w)?;
        if let Some(r) = get(w, "runs_on") {
            self.runs_on = string(r, "`workflow.runs_on`")?;
            if !valid_label(&self.runs_on) {
                return Err(invalid(
                    "`workflow.runs_on` must be a runner label: letters, digits and . _ -",
                ));
            }
        }
        if let Some(i) = get(w, "image") {
            let image = string(i, "`workflow.image`")?;
            if image.is_empty() || image.contains(char::is_whitespace) {
                return Err(invalid(
                    "`workflow.image` must be an image reference such as registry.local/gitops-ci:0.1.0",
                ));
            }
            self.image = Some(image);
        }
        Ok(())
    }

    /// How the update lands and with which secrets: a protected branch wants a bot token
    /// (the job token may push to it only from Gitea 1.27, and only without a push
    /// whitelist), a pull request, or a signature; all come from the config, so the
    /// generated file needs no hand edits and `--check` stays true.
    fn landing_settings(&mut self, w: &Val) -> Result<()> {
        self.token_secret = secret_name(w, "token_secret")?;
        self.signing_key_secret = secret_name(w, "signing_key_secret")?;
        self.signing_passphrase_secret = secret_name(w, "signing_passphrase_secret")?;
        if self.signing_passphrase_secret.is_some() && self.signing_key_secret.is_none() {
            return Err(invalid(
                "`workflow.signing_passphrase_secret` goes with `workflow.signing_key_secret`",
            ));
        }
        if let Some(p) = get(w, "pull_request") {
            let mode = match p {
                Val::Bool(true) => "true".to_string(),
                Val::Bool(false) => String::new(),
                other => string(other, "`workflow.pull_request`")?,
            };
            if !["", "true", "agit"].contains(&mode.as_str()) {
                return Err(invalid(
                    "`workflow.pull_request` must be true (a branch of ours), agit or false",
                ));
            }
            self.pull_request = Some(mode).filter(|m| !m.is_empty());
        }
        match get(w, "auto_merge") {
            None | Some(Val::Bool(false)) => {}
            Some(Val::Bool(true)) if self.pull_request.is_some() => self.auto_merge = true,
            Some(Val::Bool(true)) => {
                return Err(invalid(
                    "`workflow.auto_merge` merges the pull request `workflow.pull_request` opens: set that too",
                ))
            }
            Some(_) => return Err(invalid("`workflow.auto_merge` must be true or false")),
        }
        Ok(())
    }

    /// The update job's environment lines these settings add.
    fn landing_env(&self) -> String {
        let mut env = String::new();
        if let Some(mode) = &self.pull_request {
            env.push_str(&format!(
                "          GITOPS_PULL_REQUEST: {}\n",
                json_str(mode)
            ));
        }
        if self.auto_merge {
            env.push_str("          GITOPS_AUTO_MERGE: \"true\"\n");
        }
        for (name, secret) in [
            ("GITOPS_SIGNING_KEY", &self.signing_key_secret),
            (
                "GITOPS_SIGNING_KEY_PASSPHRASE",
                &self.signing_passphrase_secret,
            ),
        ] {
            if let Some(secret) = secret {
                env.push_str(&format!("          {name}: ${{{{ secrets.{secret} }}}}\n"));
            }
        }
        env
    }

    /// The workflow's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(HEAD);
        if !self.deploys.is_empty() {
            out.push_str(DEPLOY_INPUT);
        }
        out.push_str(MIDDLE);
        out.push_str(&format!("    runs-on: {}\n", self.runs_on));
        if let Some(image) = &self.image {
            out.push_str(&format!("    container:\n      image: {}\n", scalar(image)));
        }
        let token = self.token_secret.as_deref().unwrap_or("GITEA_TOKEN");
        // From Gitea 1.26 the job token gets only what `permissions:` names: opening a pull
        // request needs the pull-request unit (routers/api/v1/api.go `mustAllowPulls`), an
        // AGit push too (routers/private/hook_pre_receive.go `preReceiveFor`), and updating
        // its description, write (routers/api/v1/repo/pull.go `EditPullRequest`).
        // A bot token does all of that itself.
        let update = if self.pull_request.is_some() && self.token_secret.is_none() {
            UPDATE.replace(
                "      statuses: write\n",
                "      statuses: write\n      pull-requests: write\n",
            )
        } else {
            UPDATE.to_string()
        };
        out.push_str(&update.replace(
            "GITEA_TOKEN: ${{ secrets.GITEA_TOKEN }}",
            &format!("GITEA_TOKEN: ${{{{ secrets.{token} }}}}"),
        ));
        out.push_str(&self.landing_env());
        for d in &self.deploys {
            out.push_str(&deploy_job(d));
        }
        out
    }
}

/// A secret's name as Gitea takes it: letters, digits and `_`, not starting with a digit,
/// nor with `GITEA_` or `GITHUB_`, which are reserved (services/secrets/validation.go; the job
/// token itself is `GITEA_TOKEN`, models/secret/secret.go).
fn secret_name(w: &Val, key: &str) -> Result<Option<String>> {
    let Some(v) = get(w, key) else {
        return Ok(None);
    };
    let name = string(v, &format!("`workflow.{key}`"))?;
    let upper = name.to_ascii_uppercase();
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !upper.starts_with("GITEA_")
        && !upper.starts_with("GITHUB_");
    if !ok {
        return Err(invalid(format!(
            "`workflow.{key}` must name a secret: letters, digits and _, not starting with a digit, GITEA_ or GITHUB_"
        )));
    }
    Ok(Some(name))
}

fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A value as YAML reads it back as the same string: plain when that is safe, else quoted.
fn scalar(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        && !s.contains(": ")
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        s.to_string()
    } else {
        json_str(s)
    }
}

fn deploy_job(d: &Deploy) -> String {
    let name = &d.component;
    let mut job = format!(
        "
  # Record-then-deploy (.gitops-update.yaml's on_update): in the same run as the update,
  # only when the update succeeded and the dispatch's deploy_name is {name}; not when it
  # was superseded, since the newer build's own run deploys.
  deploy_{name}:
    needs: update
    if: success() && inputs.deploy_name == '{name}' && needs.update.outputs.outcome != 'superseded'
    permissions:
      contents: read
    uses: {workflow}{ignore}
    with:
",
        workflow = d.workflow,
        // zizmor prefers GitHub's `$/` for this repository's own workflows, which Gitea's
        // runner does not understand.
        ignore = if d.workflow.starts_with("./") {
            "  # zizmor: ignore[self-repository] Gitea knows only ./"
        } else {
            ""
        }
    );
    if let Some(env) = &d.environment {
        job.push_str(&format!("      environment: {}\n", scalar(env)));
    }
    job.push_str(&format!(
        "      sha: ${{{{ needs.update.outputs.commit_sha }}}}
      version: ${{{{ needs.update.outputs.version }}}}
      deploy_name: {name}
    # The deploy workflow is the GitOps repo's own choice, declared in its config.
    secrets: inherit  # zizmor: ignore[secrets-inherit]
"
    ));
    job
}

const HEAD: &str = r#"# The GitOps repo's receiver (.gitea/workflows/gitops-service.yaml), generated by
# `gitops-update workflow` from .gitops-update.yaml: regenerate it rather than edit it, and
# run `gitops-update workflow --check` in the repo's CI. Consumers dispatch it with
# `gitops-update dispatch`, or the reusable gitops-dispatch.yml.
name: gitops-service
# The run's title carries the dispatch id (Gitea 1.25+), so `gitops-update dispatch` can tell
# its own run from the others: see it fail at once, or see it cancelled and dispatch again.
run-name: "GitOps (${{ inputs.dispatch_id || 'manual' }})"

on:
  workflow_dispatch:
    inputs:
      file:
        description: File to edit, relative to the repository root
        required: true
      yq_tpl:
        description: Expression, e.g. .image.tag = "{{VERSION}}"
        required: true
      version:
        description: Version to record
        required: true
      source_repo:
        description: Repository that built the version (owner/name)
        required: true
      source_commit:
        description: Commit that built the version
        required: true
      dispatch_id:
        description: Correlates the update's commit with the dispatch
        required: false
        default: ""
      git_tag_prefix:
        description: Tag prefix, for monorepos
        required: false
        default: ""
"#;

const DEPLOY_INPUT: &str = r#"      deploy_name:
        description: The component to deploy once its version is recorded (empty for none)
        required: false
        default: ""
"#;

const MIDDLE: &str = r#"
# No `concurrency:` block: Gitea ignores it before 1.26, and on 1.26 a group still drops
# the waiting runs when a new one arrives, so it cannot keep updates from being lost. The
# tool does: each run re-applies its edit on the newest tip when another pushed first, and
# `gitops-update dispatch` dispatches a cancelled run again (the update is idempotent).

permissions: {}

jobs:
  update:
"#;

const UPDATE: &str = r#"    permissions:
      contents: write
      statuses: write
    outputs:
      changed: ${{ steps.update.outputs.changed }}
      commit_sha: ${{ steps.update.outputs.commit_sha }}
      version: ${{ steps.update.outputs.version }}
      summary: ${{ steps.update.outputs.summary }}
      outcome: ${{ steps.update.outputs.outcome }}
    steps:
      # No checkout: the tool fetches the branch's tip itself and builds the commit from
      # trees in memory. Inputs reach it as environment variables, never pasted into a script.
      # Exit 8 is "superseded": an older build finished last and the file already holds a
      # newer version. That is no failure, so the job succeeds, with outcome=superseded.
      - id: update
        run: gitops-update || [ "$?" -eq 8 ]
        env:
          INPUT_FILE: ${{ inputs.file }}
          YQ_TPL: ${{ inputs.yq_tpl }}
          VERSION: ${{ inputs.version }}
          SOURCE_REPO: ${{ inputs.source_repo }}
          SOURCE_COMMIT: ${{ inputs.source_commit }}
          DISPATCH_ID: ${{ inputs.dispatch_id }}
          GIT_TAG_PREFIX: ${{ inputs.git_tag_prefix }}
          GITOPS_REPO: ${{ github.repository }}
          GITEA_API_URL: ${{ github.api_url }}
          GITEA_TOKEN: ${{ secrets.GITEA_TOKEN }}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reusable_references() {
        for ok in [
            "./.gitea/workflows/deploy.yaml",
            "./.github/workflows/deploy.yml",
            "acme/deploy-lib/.gitea/workflows/deploy.yml@v1",
            "acme/lib/.github/workflows/d.yaml@refs/heads/main",
        ] {
            assert!(reusable_reference(ok), "{ok}");
        }
        for bad in [
            "deploy.sh",
            "./deploy.yaml",
            "./.gitea/workflows/sub/deploy.yaml",
            "./.gitea/workflows/deploy.txt",
            "acme/lib/.gitea/workflows/deploy.yml",
            "acme/lib/.gitea/workflows/deploy.yml@",
            "acme/.gitea/workflows/deploy.yml@v1",
            "actions/checkout@v4",
            "docker://alpine",
            "./.gitea/workflows/../x.yaml",
            "acme/lib/.gitea/workflows/d.yml@v1 # x",
        ] {
            assert!(!reusable_reference(bad), "{bad}");
        }
    }

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for (s, want) in [
            ("production", "production"),
            ("on", "\"on\""),
            ("prod eu", "\"prod eu\""),
            ("1.0", "\"1.0\""),
            ("registry.local:5000/ci:1", "registry.local:5000/ci:1"),
        ] {
            assert_eq!(scalar(s), want);
            let back = yaml::parse(&format!("k: {}\n", scalar(s)), "t").unwrap();
            assert_eq!(get(&back.values[0], "k").and_then(text).as_deref(), Some(s));
        }
    }
}
