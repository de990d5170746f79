//! Push the commit for review the AGit way, to `refs/for/<branch>` with push options: the
//! server opens or updates the pull request of the topic itself, so the token needs no
//! right to create branches (services/agit/agit.go). The commit is built on the branch's
//! current tip each time, so `force-push` is always asked for, as on our own branch.

use git2::Oid;

use super::{auto_merge, describe, landed_message, Api};
use crate::config::{PullRequestMode, RunConfig};
use crate::error::{Error, Result};
use crate::git::Git;
use crate::model::{Outcome, Pulled};
use crate::report;
use crate::update::{Done, Landed, Landing};

pub struct AgitPush<'a> {
    cfg: &'a RunConfig,
    api: Option<Api<'a>>,
    mode: &'a PullRequestMode,
    topic: String,
    title: String,
    description: String,
}

impl<'a> AgitPush<'a> {
    /// The topic names the component and target branch as our own branch does (the branch
    /// is already in the ref; Gitea prefixes the pusher's name to the topic to make the head
    /// branch); the title and description are the ones a pull request of ours gets, the
    /// description in one line, since push options cannot hold a newline and only recent
    /// Gitea releases decode a `{base64}` value (services/agit/agit.go).
    pub fn new(cfg: &'a RunConfig, api: Option<Api<'a>>, mode: &'a PullRequestMode) -> Self {
        let record = cfg.record(&cfg.edits.iter().map(|(p, _)| p).collect::<Vec<_>>());
        let files: Vec<String> = record.files.iter().map(|f| format!("`{f}`")).collect();
        let mut description = format!(
            "gitops-update records {} {} in {}.",
            cfg.component,
            cfg.version,
            files.join(", ")
        );
        if let (Some(repo), Some(sha)) = (&cfg.source_repo, &cfg.source_commit) {
            description.push_str(&match cfg.api_url.as_ref() {
                Some(api) => format!(" Built from {}/{repo}/commit/{sha}.", api.base()),
                None => format!(" Built from {repo}@{sha}."),
            });
        }
        AgitPush {
            cfg,
            api,
            mode,
            topic: crate::record::agit_topic(&cfg.component),
            title: record.title(),
            description: description.replace(['\n', '\r'], " "),
        }
    }

    /// Gitea keeps an AGit pull request's title and description when a push updates it
    /// (services/agit/agit.go): with the API at hand, they are set to this version's, with
    /// the diff, as for a pull request of ours. Without it, the pull request is still right.
    fn redescribe(&self, api: Api, number: u64, done: &Done, commit: Oid) {
        let (title, body) = describe(
            &landed_message(self.cfg, done),
            &commit.to_string(),
            Some(done),
            self.cfg,
            api.forge.base(),
        );
        if let Err(e) = api.forge.edit_pull(api.repo, number, &title, &body) {
            report::note(&format!(
                "pull request #{number} carries the new commit, but its title and description could not be updated ({e})"
            ));
        }
    }
}

impl Landing for AgitPush<'_> {
    fn land(&self, git: &Git, commit: Oid) -> Result<Landed> {
        let options = [
            format!("topic={}", self.topic),
            format!("title={}", self.title),
            format!("description={}", self.description),
            "force-push=true".to_string(),
        ];
        let target = format!("refs/for/{}", git.branch);
        let (push, said) = git.push_ref(commit, &target, true, None, &options)?;
        Ok(Landed { push, said })
    }

    fn moves_branch(&self) -> bool {
        false
    }

    fn target(&self, branch: &str) -> String {
        format!("refs/for/{branch}")
    }

    /// The pull request the push opened or updated, as the server named it; then the
    /// auto-merge, through the API.
    fn follow_up(&self, done: &Done) -> Result<Option<Pulled>> {
        let url = pull_request_url(&done.said);
        let number = url.as_deref().and_then(pull_number);
        let (branch, topic) = (&done.branch, &self.topic);
        match &url {
            Some(url) => report::progress(&format!(
                "pushed for review to refs/for/{branch} (topic {topic}): {url}"
            )),
            None => report::note(&format!(
                "pushed for review to refs/for/{branch} (topic {topic}); the server did not say which pull request it opened or updated"
            )),
        }
        if let (Some(api), Some(number), Outcome::Pushed { commit, .. }) =
            (self.api, number, &done.outcome)
        {
            self.redescribe(api, number, done, *commit);
        }
        let mut merged = false;
        if let Some(style) = self.mode.auto_merge {
            let Some(api) = self.api else {
                return Err(Error::Usage(
                    "--auto-merge needs GITEA_API_URL, GITEA_TOKEN and an owner/name".into(),
                ));
            };
            let Some(number) = number else {
                return Err(Error::Api(
                    "--auto-merge: the server did not name the pull request of the AGit push (PULL_REQUEST_PUSH_MESSAGE off?), so it cannot be merged".into(),
                ));
            };
            let head = match &done.outcome {
                Outcome::Pushed { commit, .. } => commit.to_string(),
                _ => String::new(),
            };
            merged = auto_merge(api, number, style, &head, self.cfg.timeout)?;
        }
        Ok(Some(Pulled {
            number,
            url: url.unwrap_or_default(),
            merged,
        }))
    }
}

/// The address Gitea's hook prints after a push to a branch with an open pull request, and
/// after every AGit push (cmd/hook.go, hookPrintResults: "Visit the existing pull request:"
/// and the URL on the next line).
fn pull_request_url(said: &str) -> Option<String> {
    let mut lines = said
        .lines()
        .map(|l| l.trim().trim_start_matches("remote:").trim());
    lines.find(|l| l.starts_with("Visit the existing pull request:"))?;
    let url = lines.find(|l| !l.is_empty())?.split_whitespace().next()?;
    (url.starts_with("http") && pull_number(url).is_some()).then(|| url.to_string())
}

/// `.../pulls/7` → 7.
fn pull_number(url: &str) -> Option<u64> {
    url.trim_end_matches('/')
        .rsplit_once("/pulls/")?
        .1
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pull_request_is_read_from_what_the_hook_printed() {
        let said = "remote: \nremote: Visit the existing pull request:\nremote:   https://git.example.com/acme/gitops/pulls/7 \nremote: \n";
        assert_eq!(
            pull_request_url(said).as_deref(),
            Some("https://git.example.com/acme/gitops/pulls/7")
        );
        assert_eq!(pull_request_url("remote: Processing 1 references\n"), None);
        let forged = "Visit the existing pull request:\njavascript:alert(1)/pulls/7\n";
        assert_eq!(pull_request_url(forged), None);
        assert_eq!(pull_number("https://g/a/b/pulls/12/"), Some(12));
        assert_eq!(pull_number("https://g/a/b/pulls/x"), None);
    }
}
