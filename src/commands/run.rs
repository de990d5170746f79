//! `gitops-update run`: the update (`update::run`), then its report: step outputs, the step
//! summary, the commit status on the GitOps commit, and stdout.

use crate::config::PullRequestMode;
use crate::config::RunConfig;
use crate::error::{self, Error, Result};
use crate::forge::{self, Forge};
use crate::git::{AgitPush, DirectPush, Landing, PullRequestBranch};
use crate::record::pull_request_branch;
use crate::update::{self, Outcome};
use crate::{model, report};

pub fn execute(cfg: &RunConfig) -> Result<u8> {
    let repo = cfg
        .target
        .slug
        .clone()
        .unwrap_or_else(|| cfg.target.url.clone());
    crate::budget::set_limits(cfg.limits);
    if !cfg.dry_run {
        // A budget crossed ends the process mid-evaluation: the pipeline still gets its
        // failure line, as on any other failure.
        let (files, version, component, repo) = (
            cfg.output_files.clone(),
            cfg.version.as_str().to_string(),
            cfg.component.clone(),
            repo.clone(),
        );
        let edited: Vec<String> = cfg.edits.iter().map(|(p, _)| p.to_string()).collect();
        let json = cfg.json;
        crate::budget::on_exceeded(move |line| {
            let report = report::RunReport {
                outcome: None,
                version: &version,
                component: &component,
                repo: &repo,
                branch: "",
                files: edited.clone(),
                attempts: 1,
                pull: None,
                failure: Some(report::Failure {
                    message: line.trim_start_matches("error: ").to_string(),
                    exit_code: error::exit::INPUT,
                }),
            };
            let _ = report.write_outputs(&files);
            if json {
                let _ = report::stdout(&report.json());
            }
        });
    }
    if let (Some(signer), false) = (&cfg.signer, cfg.dry_run) {
        // What Gitea checks before it calls a signature verified
        // (models/asymkey/ssh_key_commit_verification.go, gpg_key_commit_verification.go):
        // said once, before the first push.
        let kind = if signer.emails().is_some() {
            "GPG"
        } else {
            "verified SSH"
        };
        report::progress(&format!(
            "signing commits with {}; Gitea verifies them when that key is a {kind} key of the account with the activated email {}",
            signer.describe(),
            cfg.committer.email
        ));
        if let Some(emails) = signer.emails() {
            // Gitea matches the committer email to the key's own addresses, unless the key
            // was verified by a signed token and the email is activated on its account.
            if cfg.committer.email != model::BOT.1
                && !emails
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(&cfg.committer.email))
            {
                report::warn(&format!(
                    "the commits carry the committer email {}, which is not in the signing key's user IDs ({}): Gitea shows them as unverified unless the key is verified on an account with that email; set GIT_COMMITTER_EMAIL to one of the key's addresses",
                    cfg.committer.email,
                    if emails.is_empty() { "none".to_string() } else { emails.join(", ") }
                ));
            }
        }
        if cfg.committer.email == model::BOT.1 {
            report::warn(&format!(
                "the commits carry the committer email {}, which no Gitea account has, so they will show as unverified: set GIT_COMMITTER_EMAIL to an email of the key's account",
                model::BOT.1
            ));
        }
    }
    if let (Some(signer), false) = (&cfg.signer, cfg.dry_run) {
        check_signing_account(cfg, signer);
    }
    let agit = cfg
        .pull_request
        .as_ref()
        .filter(|m| m.agit)
        .map(|_| agit_push(cfg));
    let landing: &dyn Landing = match (&cfg.pull_request, &agit) {
        (_, Some(agit)) => agit,
        (Some(_), None) => &PullRequestBranch {
            component: cfg.component.clone(),
        },
        (None, None) => &DirectPush,
    };
    let (result, attempts, branch) = match update::run(cfg, landing) {
        Ok(done) => {
            let (attempts, branch) = (done.attempts, done.branch.clone());
            (Ok(done), attempts, branch)
        }
        Err(failed) => (Err(failed.error), failed.attempts, failed.branch),
    };
    // The pushed branch becomes a pull request; when that fails, the run fails.
    let (result, pull) = match (result, &cfg.pull_request) {
        (Ok(done), Some(mode)) if matches!(done.outcome, Outcome::Pushed { .. }) => {
            let pulled = match &agit {
                Some(agit) => agit_pulled(cfg, &done, agit, mode),
                None => open_pull_request(cfg, &done, mode),
            };
            match pulled {
                Ok(pull) => (Ok(done), Some(pull)),
                Err(e) => (Err(e), None),
            }
        }
        (other, _) => (other, None),
    };
    let write_err = |source| Error::Write {
        path: "<stdout>".into(),
        source,
    };
    let report = report::RunReport {
        outcome: result.as_ref().ok().map(|d| &d.outcome),
        version: cfg.version.as_str(),
        component: &cfg.component,
        repo: &repo,
        branch: &branch,
        files: cfg.edits.iter().map(|(p, _)| p.to_string()).collect(),
        attempts,
        pull: pull.as_ref(),
        failure: result.as_ref().err().map(|e| report::Failure {
            message: e.to_string(),
            exit_code: e.exit_code(),
        }),
    };
    // Outputs are written on failure too, so the pipeline's report still gets its line.
    if !cfg.dry_run {
        report
            .write_outputs(&cfg.output_files)
            .map_err(|(path, source)| Error::Write { path, source })?;
        if let Some(f) = &cfg.step_summary {
            report
                .write_step_summary(f)
                .map_err(|source| Error::Write {
                    path: f.clone(),
                    source,
                })?;
        }
    }
    let done = match &result {
        Ok(done) => done,
        Err(_) => {
            // A pipeline that reads stdout as JSON gets its object on failure too.
            if cfg.json {
                report::stdout(&report.json()).map_err(write_err)?;
            }
            return result.map(|_| error::exit::OK);
        }
    };
    let status = match &done.outcome {
        Outcome::Pushed { commit, .. } => Some(commit.to_string()),
        Outcome::UpToDate { tip } => Some(tip.to_string()),
        Outcome::DryRun { .. } => None,
    };
    // A dry run writes nothing, a commit status included, even when nothing would change.
    if let (Some(sha), false) = (status, cfg.dry_run) {
        commit_status(cfg, &sha)?;
    }
    if cfg.json {
        report::stdout(&report.json()).map_err(write_err)?;
    } else if let Outcome::DryRun { .. } = done.outcome {
        let color = report::color_stdout();
        let diffs: String = done
            .changes
            .iter()
            .map(|c| report::unified_diff(c.path.as_str(), &c.before, &c.after, color))
            .collect();
        report::stdout(&diffs).map_err(write_err)?;
    } else {
        report::stdout(&report.text()).map_err(write_err)?;
    }
    Ok(error::exit::OK)
}

/// Before the first push, what Gitea will check of the signatures, as far as the token's
/// account shows it: the committer email among its activated addresses, the key among its
/// keys (models/asymkey/*_commit_verification.go). The committer's account may not be the
/// token's, so a miss is a warning, and an account the token cannot read (a job token) is
/// one line.
fn check_signing_account(cfg: &RunConfig, signer: &crate::sign::Signer) {
    use crate::sign::AccountKey;
    let (Some(api), Some(token)) = (cfg.api_url.as_ref(), cfg.token.clone()) else {
        return;
    };
    let checked = forge::connect(api, token, cfg.timeout).and_then(|g| {
        let emails = g.my_emails()?;
        let (kind, has_key) = match signer.account_key() {
            AccountKey::Ssh(fp) => ("SSH", g.my_ssh_fingerprints()?.contains(&fp)),
            AccountKey::Gpg(id) => (
                "GPG",
                g.my_gpg_key_ids()?
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&id)),
            ),
        };
        Ok((emails, kind, has_key))
    });
    let email = &cfg.committer.email;
    match checked {
        Err(e) => report::progress(&format!(
            "the signing key was not checked against the token's Gitea account ({e})"
        )),
        Ok((emails, kind, has_key)) => {
            let activated = emails
                .iter()
                .any(|(e, verified)| *verified && e.eq_ignore_ascii_case(email));
            if !activated {
                let listed: Vec<&str> = emails
                    .iter()
                    .filter(|(_, v)| *v)
                    .map(|(e, _)| e.as_str())
                    .collect();
                report::warn(&format!(
                    "the committer email {email} is not an activated email of the token's Gitea account ({}): Gitea shows the commits as verified only when the key's account has it activated",
                    if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
                ));
            }
            if !has_key {
                report::warn(&format!(
                    "{} is not among the {kind} keys of the token's Gitea account: Gitea shows the commits as verified only when the committer's account has it",
                    signer.describe()
                ));
            }
            if activated && has_key {
                report::progress(&format!(
                    "the token's Gitea account has {} and the activated email {email}: Gitea will show the commits as verified",
                    signer.describe()
                ));
            }
        }
    }
}

/// Marks the GitOps commit that carries the version with a commit status, so the GitOps
/// repo's history shows which source commit each update came from. Failures are warnings
/// unless `--require-status`; a missing server or token skips it with one line.
fn commit_status(cfg: &RunConfig, sha: &str) -> Result<()> {
    let skip = |why: &str| {
        report::progress(&format!("commit status skipped: {why}"));
        Ok(())
    };
    let Some(api) = cfg.api_url.as_ref() else {
        return skip("no GITEA_API_URL");
    };
    let Some(token) = cfg.token.clone() else {
        return skip("no GITEA_TOKEN");
    };
    let Some(repo) = cfg.target.slug.as_deref() else {
        return skip("the GitOps repository is not an owner/name on a server");
    };
    let record = cfg.record(&cfg.edits.iter().map(|(p, _)| p).collect::<Vec<_>>());
    let context = record.status_context(cfg.tag_prefix.as_deref());
    let target_url = match (&record.source_repo, &record.source_commit) {
        (Some(r), Some(c)) => Some(format!("{}/{r}/commit/{c}", api.base())),
        _ => None,
    };
    let description = record.status_description();
    let status = forge::Status {
        state: "success",
        context,
        target_url,
        description,
    };
    let outcome =
        forge::connect(api, token, cfg.timeout).and_then(|g| g.set_status(repo, sha, &status));
    match outcome {
        Ok(()) => {
            report::progress(&format!(
                "commit status {} set on {}",
                status.context,
                model::short(sha)
            ));
            Ok(())
        }
        Err(e) if cfg.require_status => Err(Error::Status(e.to_string())),
        Err(e) => {
            report::note(&format!(
                "the commit status could not be set ({e}); the update itself is done"
            ));
            Ok(())
        }
    }
}

/// Gitea's API for the GitOps repository: its URL, the token and the owner/name.
fn api_of(cfg: &RunConfig) -> Option<(&model::SafeUrl, crate::model::Token, &str)> {
    Some((
        cfg.api_url.as_ref()?,
        cfg.token.clone()?,
        cfg.target.slug.as_deref()?,
    ))
}

/// The AGit landing: the topic names the component and target branch as our own branch does;
/// the title and description are the ones a pull request of ours gets, the description in
/// one line, since push options cannot hold a newline and only recent Gitea releases decode
/// a `{base64}` value (services/agit/agit.go).
fn agit_push(cfg: &RunConfig) -> AgitPush {
    let files: Vec<_> = cfg.edits.iter().map(|(p, _)| p).collect();
    let message = cfg.record(&files).message();
    let title = message.lines().next().unwrap_or_default().to_string();
    let files: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
    let mut description = format!(
        "gitops-update records {} {} in {}.",
        cfg.component,
        cfg.version,
        files.join(", ")
    );
    if let (Some(repo), Some(sha)) = (&cfg.source_repo, &cfg.source_commit) {
        match cfg.api_url.as_ref() {
            Some(api) => {
                description.push_str(&format!(" Built from {}/{repo}/commit/{sha}.", api.base()))
            }
            None => description.push_str(&format!(" Built from {repo}@{sha}.")),
        }
    }
    AgitPush {
        // The branch is already in the ref (refs/for/<branch>); Gitea prefixes the pusher's
        // name to the topic to make the head branch.
        topic: crate::record::agit_topic(&cfg.component),
        title,
        description: description.replace(['\n', '\r'], " "),
        said_url: Default::default(),
    }
}

/// The pull request an AGit push opened or updated, as the server named it; then the
/// auto-merge, through the API.
fn agit_pulled(
    cfg: &RunConfig,
    done: &update::Done,
    agit: &AgitPush,
    mode: &PullRequestMode,
) -> Result<report::Pulled> {
    let url = agit.said_url.borrow().clone();
    let number = url.as_deref().and_then(crate::git::pull_number);
    match &url {
        Some(url) => report::progress(&format!(
            "pushed for review to refs/for/{} (topic {}): {url}",
            done.branch, agit.topic
        )),
        None => report::note(&format!(
            "pushed for review to refs/for/{} (topic {}); the server did not say which pull request it opened or updated",
            done.branch, agit.topic
        )),
    }
    // Gitea keeps an AGit pull request's title and description when a push updates it
    // (services/agit/agit.go): with the API at hand, they are set to this version's, with
    // the diff, as for a pull request of ours. Without it, the pull request is still right.
    if let (Some((api, token, repo)), Some(number), Outcome::Pushed { commit, .. }) =
        (api_of(cfg), number, &done.outcome)
    {
        let message = cfg
            .record(&done.changes.iter().map(|c| &c.path).collect::<Vec<_>>())
            .message();
        let edited = forge::connect(api, token, cfg.timeout).and_then(|g| {
            let (title, body) = describe(&message, &commit.to_string(), Some(done), cfg, g.base());
            g.edit_pull(repo, number, &title, &body)
        });
        if let Err(e) = edited {
            report::note(&format!(
                "pull request #{number} carries the new commit, but its title and description could not be updated ({e})"
            ));
        }
    }
    let mut merged = false;
    if let Some(style) = mode.auto_merge {
        let Some((api, token, repo)) = api_of(cfg) else {
            return Err(Error::Usage(
                "--auto-merge needs GITEA_API_URL, GITEA_TOKEN and an owner/name".into(),
            ));
        };
        let Some(number) = number else {
            return Err(Error::Api(
                "--auto-merge: the server did not name the pull request of the AGit push (PULL_REQUEST_PUSH_MESSAGE off?), so it cannot be merged".into(),
            ));
        };
        let g = forge::connect(api, token, cfg.timeout).map_err(|e| Error::Api(e.to_string()))?;
        merged = auto_merge(&g, repo, number, style)?;
    }
    Ok(report::Pulled {
        number,
        url: url.unwrap_or_default(),
        merged,
    })
}

/// `--auto-merge`: merged now (true), or scheduled for when the checks succeed. A merge an
/// earlier run scheduled still holds for the new head: Gitea answers 409 "already scheduled"
/// for it (routers/api/v1/repo/pull.go); any other 409, a conflict, fails the run.
fn auto_merge(g: &dyn Forge, repo: &str, number: u64, style: &str) -> Result<bool> {
    let merged = match g.merge_pull(repo, number, style) {
        Ok(forge::Merge::Merged) => true,
        Ok(forge::Merge::Scheduled) => false,
        Err(forge::ApiError::Refused {
            status: 409,
            message,
        }) if message.contains("already scheduled") => false,
        Err(e) => {
            return Err(Error::Api(format!(
                "cannot merge pull request #{number}: {e}"
            )))
        }
    };
    report::progress(&format!(
        "pull request #{number} {}",
        if merged {
            "merged"
        } else {
            "will merge when its checks succeed"
        }
    ));
    Ok(merged)
}

/// Opens the pull request of the pushed branch, or updates the open one (Gitea answers 409
/// for a second pull request of the same head and base): its branch was just rebuilt on the
/// base's current tip, and its title and body are set to this version's. Then the auto-merge.
fn open_pull_request(
    cfg: &RunConfig,
    done: &update::Done,
    mode: &PullRequestMode,
) -> Result<report::Pulled> {
    let Some((api, token, repo)) = api_of(cfg) else {
        return Err(Error::Usage(
            "--pull-request needs GITEA_API_URL, GITEA_TOKEN and an owner/name".into(),
        ));
    };
    let Outcome::Pushed { commit, .. } = &done.outcome else {
        return Err(Error::Internal("no commit for the pull request".into()));
    };
    fn api_err(what: &str) -> impl Fn(forge::ApiError) -> Error + '_ {
        move |e| Error::Api(format!("{what}: {e}"))
    }
    let g = forge::connect(api, token, cfg.timeout).map_err(|e| Error::Api(e.to_string()))?;
    let head = pull_request_branch(&done.branch, &cfg.component);
    let base = &done.branch;
    let ours = commit.to_string();
    let message = cfg
        .record(&done.changes.iter().map(|c| &c.path).collect::<Vec<_>>())
        .message();
    let (title, body) = describe(&message, &ours, Some(done), cfg, g.base());
    let (mut pull, updated) =
        match g
            .create_pull(repo, &head, base, &title, &body)
            .map_err(api_err(&format!(
                "cannot open a pull request of {head} into {base}"
            )))? {
            Some(p) => (p, false),
            None => {
                let p = g
                    .open_pull(repo, &head, base)
                    .map_err(api_err("cannot list the open pull requests"))?
                    .ok_or_else(|| {
                        Error::Api(format!(
                        "Gitea says a pull request of {head} into {base} is open, and lists none"
                    ))
                    })?;
                (p, true)
            }
        };
    // Concurrent updaters of one component push in one order and edit in another: the
    // description is always made from the branch's head as Gitea reports it, and made again
    // until the head did not move meanwhile, so the last edit describes the last push.
    // A new pull request was described from this run's commit; an open one not yet.
    let mut described = if updated { String::new() } else { ours.clone() };
    for _ in 0..10 {
        let head_sha = pull.head_sha.clone();
        if head_sha == described {
            break;
        }
        let (title, body) = if head_sha == ours || head_sha.is_empty() {
            (title.clone(), body.clone())
        } else {
            let theirs = g
                .commit_message(repo, &head_sha)
                .map_err(api_err("cannot read the pull request's head commit"))?;
            describe(&theirs, &head_sha, None, cfg, g.base())
        };
        pull = g
            .edit_pull(repo, pull.number, &title, &body)
            .map_err(api_err(&format!(
                "cannot update pull request #{}",
                pull.number
            )))?;
        described = head_sha;
    }
    report::progress(&format!(
        "{} pull request #{} ({}) of {head} into {base}",
        if updated { "updated" } else { "opened" },
        pull.number,
        pull.html_url
    ));
    let merged = match mode.auto_merge {
        None => false,
        Some(style) => auto_merge(&g, repo, pull.number, style)?,
    };
    Ok(report::Pulled {
        number: Some(pull.number),
        url: pull.html_url,
        merged,
    })
}

/// A pull request's title and description, from its head commit's message: the title is
/// the message's first line; the description says what is recorded, lists the trailers,
/// links the source commit, and, for the run's own commit, shows the diff.
fn describe(
    message: &str,
    head: &str,
    ours: Option<&update::Done>,
    cfg: &RunConfig,
    server: &str,
) -> (String, String) {
    let record = crate::record::Record::parse(message);
    let title = message.lines().next().unwrap_or_default().to_string();
    let trailers = record.trailers();
    let files: Vec<String> = record.files.iter().map(|f| format!("`{f}`")).collect();
    let version = &record.version;
    let component = Some(record.component).filter(|c| !c.is_empty());
    let mut body = format!(
        "gitops-update records {} {version} in {}.\n\n",
        component.unwrap_or_else(|| cfg.component.clone()),
        files.join(", ")
    );
    if let (Some(repo), Some(sha)) = (&record.source_repo, &record.source_commit) {
        body.push_str(&format!("Built from {server}/{repo}/commit/{sha}\n\n"));
    }
    if let Some(done) = ours {
        let mut diff: String = done
            .changes
            .iter()
            .map(|c| report::unified_diff(c.path.as_str(), &c.before, &c.after, false))
            .collect();
        // A description is for reading: a huge diff is cut, the branch has all of it.
        if diff.len() > 20_000 {
            let mut end = 20_000;
            while !diff.is_char_boundary(end) {
                end -= 1;
            }
            diff.truncate(end);
            diff.push_str("\n... (cut; the branch has the whole change)\n");
        }
        body.push_str(&format!("```diff\n{diff}```\n\n"));
    }
    body.push_str(&format!("```\n{trailers}```\n\nHead commit: {head}\n"));
    (title, body)
}
