//! Landing a commit on the branch. `Landing` is the seam: today a direct push, never forced;
//! a pull-request landing goes behind the same trait.

use git2::{ErrorCode, Oid, PushOptions};

use super::{transport, Git, PUSH_REF};
use crate::error::{Error, Result};
use crate::record::pull_request_branch;

/// What the server said to a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    Accepted,
    /// Someone else pushed first: fetch, re-apply, try again.
    Stale(String),
    /// Refused for good (a hook, a protected branch, a permission).
    Rejected(String),
}

/// How a commit reaches the branch. The update loop asks it once per attempt and acts on
/// the answer: accepted, stale (re-apply on the new tip), or rejected for good.
pub trait Landing {
    fn land(&self, git: &Git, commit: Oid) -> Result<Push>;

    /// Whether a landed commit is the branch's new tip, so that a checkout follows it.
    fn moves_branch(&self) -> bool {
        true
    }

    /// Where a commit for `branch` is pushed, for the progress line.
    fn target(&self, branch: &str) -> String {
        branch.to_string()
    }
}

/// Push the commit to the branch itself.
pub struct DirectPush;

impl Landing for DirectPush {
    /// Only from the tip the commit was built on: a branch that moved since the fetch,
    /// even backwards (a force-push), is a retry from its new tip, never a fast-forward
    /// that brings back what was pushed away.
    fn land(&self, git: &Git, commit: Oid) -> Result<Push> {
        let expect = git.parent(commit);
        git.push_ref(
            commit,
            &format!("refs/heads/{}", git.branch),
            false,
            expect,
            &[],
        )
        .map(|(push, _)| push)
    }
}

/// Push the commit to a branch of the tool's own, for a pull request into the branch. The
/// commit is always built on the branch's current tip, so the pull request's branch is
/// replaced, never merged into: force is right there, and only there.
pub struct PullRequestBranch {
    pub component: String,
}

/// Push the commit for review the AGit way, to `refs/for/<branch>` with push options: the
/// server opens or updates the pull request of the topic itself, so the token needs no
/// right to create branches (services/agit/agit.go). The commit is built on the branch's
/// current tip each time, so `force-push` is always asked for, as on our own branch.
pub struct AgitPush {
    pub topic: String,
    pub title: String,
    pub description: String,
    /// The pull request's address, when the server said it on the sideband.
    pub said_url: std::cell::RefCell<Option<String>>,
}

impl Landing for AgitPush {
    fn land(&self, git: &Git, commit: Oid) -> Result<Push> {
        let options = [
            format!("topic={}", self.topic),
            format!("title={}", self.title),
            format!("description={}", self.description),
            "force-push=true".to_string(),
        ];
        let (push, said) = git.push_ref(
            commit,
            &format!("refs/for/{}", git.branch),
            true,
            None,
            &options,
        )?;
        *self.said_url.borrow_mut() = pull_request_url(&said);
        Ok(push)
    }

    fn moves_branch(&self) -> bool {
        false
    }

    fn target(&self, branch: &str) -> String {
        format!("refs/for/{branch}")
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
pub fn pull_number(url: &str) -> Option<u64> {
    url.trim_end_matches('/')
        .rsplit_once("/pulls/")?
        .1
        .parse()
        .ok()
}

impl Landing for PullRequestBranch {
    fn land(&self, git: &Git, commit: Oid) -> Result<Push> {
        let target = format!(
            "refs/heads/{}",
            pull_request_branch(&git.branch, &self.component)
        );
        git.push_ref(commit, &target, true, None, &[])
            .map(|(push, _)| push)
    }

    fn moves_branch(&self) -> bool {
        false
    }

    fn target(&self, branch: &str) -> String {
        pull_request_branch(branch, &self.component)
    }
}

/// The server's own words from the sideband, one line, without git's progress chatter.
fn server_said(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(|l| l.trim().trim_start_matches("remote:").trim())
        .filter(|l| !l.is_empty())
        .filter(|l| {
            ![
                "Resolving deltas",
                "Processing",
                "Counting",
                "Compressing",
                "Writing",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect();
    let joined: String = lines
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    (!joined.is_empty()).then_some(joined)
}

/// Whether a server's refusal means "someone pushed first": then the edit is re-applied.
pub(super) fn is_stale(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "cannot lock ref",
        "incorrect old value",
        "stale info",
        "failed to update ref",
        "not a fast forward",
        "fast-forward",
        // libgit2 and git when another writer holds `<ref>.lock`.
        "failed to create locked file",
        "unable to create",
        "is locked",
    ]
    .iter()
    .any(|p| m.contains(p))
}

impl Git {
    /// Pushes `commit` to the ref `target` with push options; also returns what the server
    /// said on the sideband, without git's progress lines. Forced only for our own branches;
    /// otherwise only over `expect`, the remote ref's value when the edit started.
    fn push_ref(
        &self,
        commit: Oid,
        target: &str,
        force: bool,
        expect: Option<Oid>,
        options: &[String],
    ) -> Result<(Push, String)> {
        if self.local_transport {
            return self
                .push_local(commit, target, force, expect)
                .map(|push| (push, String::new()));
        }
        self.repo
            .reference(PUSH_REF, commit, true, "gitops-update push")
            .map_err(|e| Error::Internal(e.message().to_string()))?;
        let refused: std::cell::RefCell<Option<String>> = Default::default();
        // A protected-branch refusal reaches the client only as sideband text; the ref
        // status just says "pre-receive hook declined" (routers/private/hook_pre_receive.go).
        let said: std::cell::RefCell<Vec<u8>> = Default::default();
        let mut remote = self
            .repo
            .remote_anonymous(self.url.expose())
            .map_err(|e| transport("cannot open", &self.url, &e))?;
        let mut cb = self.callbacks();
        cb.sideband_progress(|data| {
            let mut said = said.borrow_mut();
            if said.len() < 4096 {
                said.extend_from_slice(data);
            }
            true
        });
        // The advertised value is what receive-pack compares the ref with when it moves it
        // (the command's old id): checked here, the push is a compare-and-swap.
        let moved: std::cell::Cell<Option<Oid>> = Default::default();
        if let (false, Some(want)) = (force, expect) {
            let moved = &moved;
            cb.push_negotiation(
                move |updates| match updates.iter().find(|u| u.src() != want) {
                    Some(u) => {
                        moved.set(Some(u.src()));
                        Err(git2::Error::from_str(
                            "the branch moved since it was fetched",
                        ))
                    }
                    None => Ok(()),
                },
            );
        }
        cb.push_update_reference(|_name, status| {
            if let Some(msg) = status {
                *refused.borrow_mut() = Some(msg.to_string());
            }
            Ok(())
        });
        let mut po = PushOptions::new();
        po.remote_callbacks(cb);
        let headers: Vec<&str> = self.extra_header.iter().map(String::as_str).collect();
        po.custom_headers(&headers);
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        if !options.is_empty() {
            po.remote_push_options(&options);
        }
        let plus = if force { "+" } else { "" };
        let refspec = format!("{plus}{PUSH_REF}:{target}");
        let result = remote.push(&[&refspec], Some(&mut po));
        drop(po);
        let raw = said.into_inner();
        let lines = String::from_utf8_lossy(&raw).replace('\r', "\n");
        let said = server_said(&raw);
        let with_said = |msg: &str| match &said {
            Some(s) => format!("{msg}; the server said: {s}"),
            None => msg.to_string(),
        };
        if let Some(now) = moved.get() {
            return Ok((
                Push::Stale(format!(
                    "{target} is at {}, not at {} where the edit started",
                    crate::model::short(&now.to_string()),
                    crate::model::short(&expect.unwrap_or(now).to_string())
                )),
                lines,
            ));
        }
        match result {
            // libgit2 finds a stale push before sending anything.
            Err(e) if e.code() == ErrorCode::NotFastForward => {
                Ok(Push::Stale(e.message().to_string()))
            }
            Err(e) if is_stale(e.message()) => Ok(Push::Stale(e.message().to_string())),
            Err(e)
                if e.message().contains("pre-receive hook declined")
                    || e.message().contains("hook declined") =>
            {
                Ok(Push::Rejected(with_said(e.message())))
            }
            Err(e) => Err(transport("cannot push to", &self.url, &e)),
            Ok(()) => match refused.into_inner() {
                None => Ok(Push::Accepted),
                Some(msg) if is_stale(&msg) => Ok(Push::Stale(msg)),
                Some(msg) => Ok(Push::Rejected(with_said(&msg))),
            },
        }
        .map(|push| (push, lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_messages() {
        for m in [
            "non-fast-forward",
            "failed to update ref",
            "cannot lock ref 'refs/heads/main'",
            "incorrect old value provided",
            "stale info",
            "! [rejected] main -> main (fetch first)",
        ] {
            assert!(is_stale(m), "{m}");
        }
        for m in [
            "pre-receive hook declined",
            "protected branch",
            "permission denied",
        ] {
            assert!(!is_stale(m), "{m}");
        }
    }

    #[test]
    fn sideband_text_without_progress() {
        assert_eq!(
            server_said(
                b"Resolving deltas: 100% (1/1)\r\nNot allowed to push to protected branch main\n"
            ),
            Some("Not allowed to push to protected branch main".into())
        );
        assert_eq!(server_said(b"\n\r"), None);
    }
}
