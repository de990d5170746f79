//! Pushing a commit to a ref: as a compare-and-swap over the tip it was built on, or forced
//! to a ref of our own, with push options; and what the server said. Which ref, and what
//! follows, is a landing's (`src/land/`).

use git2::{ErrorCode, Oid, PushOptions};

use super::{transport, Git, PUSH_REF};
use crate::error::{Error, Result};

/// What the server said to a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    Accepted,
    /// Someone else pushed first: fetch, re-apply, try again.
    Stale(String),
    /// Refused for good (a hook, a protected branch, a permission).
    Rejected(String),
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
    pub(crate) fn push_ref(
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
        let heard = Heard::default();
        let mut remote = self
            .repo
            .remote_anonymous(self.url.expose())
            .map_err(|e| transport("cannot open", &self.url, &e))?;
        let mut po = PushOptions::new();
        po.remote_callbacks(self.push_callbacks(&heard, expect));
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
        let lines = String::from_utf8_lossy(&heard.said.borrow()).replace('\r', "\n");
        self.answer(result, heard, target, expect)
            .map(|push| (push, lines))
    }

    /// The callbacks that hear what the server says: its sideband text, each ref's status,
    /// and, for a push over `expect`, whether the branch moved since it was fetched.
    fn push_callbacks<'h>(
        &self,
        heard: &'h Heard,
        expect: Option<Oid>,
    ) -> git2::RemoteCallbacks<'h> {
        let mut cb = self.callbacks();
        cb.sideband_progress(|data| {
            let mut said = heard.said.borrow_mut();
            if said.len() < 4096 {
                said.extend_from_slice(data);
            }
            true
        });
        // The advertised value is what receive-pack compares the ref with when it moves it
        // (the command's old id): checked here, the push is a compare-and-swap; forced too
        // (a lease: a pull-request branch is replaced only from the tip its run saw).
        if let Some(want) = expect {
            cb.push_negotiation(
                move |updates| match updates.iter().find(|u| u.src() != want) {
                    Some(u) => {
                        heard.moved.set(Some(u.src()));
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
                *heard.refused.borrow_mut() = Some(msg.to_string());
            }
            Ok(())
        });
        cb
    }

    /// What the push came to, from libgit2's result and what the server said.
    fn answer(
        &self,
        result: std::result::Result<(), git2::Error>,
        heard: Heard,
        target: &str,
        expect: Option<Oid>,
    ) -> Result<Push> {
        let said = server_said(&heard.said.into_inner());
        let with_said = |msg: &str| match &said {
            Some(s) => format!("{msg}; the server said: {s}"),
            None => msg.to_string(),
        };
        if let Some(now) = heard.moved.get() {
            return Ok(Push::Stale(format!(
                "{target} is at {}, not at {} where the edit started",
                crate::model::short(&now.to_string()),
                crate::model::short(&expect.unwrap_or(now).to_string())
            )));
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
            Ok(()) => match heard.refused.into_inner() {
                None => Ok(Push::Accepted),
                Some(msg) if is_stale(&msg) => Ok(Push::Stale(msg)),
                Some(msg) => Ok(Push::Rejected(with_said(&msg))),
            },
        }
    }
}

/// What the server said during a push, as the callbacks heard it. A protected-branch
/// refusal reaches the client only as sideband text; the ref status just says "pre-receive
/// hook declined" (routers/private/hook_pre_receive.go).
#[derive(Default)]
struct Heard {
    said: std::cell::RefCell<Vec<u8>>,
    refused: std::cell::RefCell<Option<String>>,
    moved: std::cell::Cell<Option<Oid>>,
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
