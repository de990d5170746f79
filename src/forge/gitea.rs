//! Gitea's API, the first `Forge`: a small blocking client on the same OpenSSL as libgit2
//! (git2 points OpenSSL at the system CA bundle when it starts, and honours SSL_CERT_FILE).
//! Forgejo speaks the same API with a few differences, which `Server` names.

use std::time::Duration;

use jaq_json::Val;

use super::{ApiError, Commit, Forge, Listed, Merge, Pull, PullState, Repo, Status, Task};
use crate::model::{redact_url, SafeUrl, Token};

pub struct Gitea {
    /// The server's web root, without `/api/v1`.
    base: String,
    token: Token,
    agent: ureq::Agent,
    tries: u32,
    /// No request starts, or runs, past this: a server that pages a huge commit count
    /// slowly cannot keep a wait past its timeout.
    deadline: Option<std::time::Instant>,
}

/// An answer below 300, with the total count of a paged list when the server gave one.
struct Reply {
    body: String,
    code: u16,
    total: Option<u64>,
}

/// Gitea's `{"message": "..."}`, or the start of the body when it is not that: at most 300
/// characters, with line breaks, escape sequences and bidi controls shown escaped, since a
/// misconfigured or hostile server's text ends up in a terminal, a log or Markdown.
fn message_of(body: &str) -> String {
    let text = match jaq_json::read::parse_single(body.as_bytes()) {
        Ok(Val::Obj(o)) => match o.get(&Val::from("message".to_string())) {
            Some(Val::TStr(m)) => String::from_utf8_lossy(m).into_owned(),
            _ => body.trim().to_string(),
        },
        _ => body.trim().to_string(),
    };
    let shown: String = text.chars().take(300).collect();
    crate::report::escape(&shown)
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    &url[..end]
}

impl Gitea {
    pub fn new(api_url: &SafeUrl, token: Token, timeout: Duration) -> Result<Gitea, ApiError> {
        let tls = native_tls::TlsConnector::new()
            .map_err(|e| ApiError::Unavailable(format!("cannot set up TLS: {e}")))?;
        let agent = ureq::AgentBuilder::new()
            .tls_connector(std::sync::Arc::new(tls))
            .timeout_connect(timeout)
            .timeout(timeout)
            .redirects(0)
            .build();
        Ok(Gitea {
            base: api_url.base(),
            token,
            agent,
            tries: 3,
            deadline: None,
        })
    }

    /// Every request after this ends by `at`, or is not sent.
    pub fn with_deadline(mut self, at: std::time::Instant) -> Gitea {
        self.deadline = Some(at);
        self
    }

    /// Sends a request. 502/503/504 and network errors are retried with a short back-off;
    /// a 3xx is followed for a read on the same server (the token never goes elsewhere)
    /// and is an error for a write; 4xx and 500 are answers, not retried.
    fn send(&self, method: &str, path: &str, body: Option<&str>) -> Result<Reply, ApiError> {
        let mut url = format!("{}/api/v1{path}", self.base);
        let mut last = String::new();
        let mut hops = 0;
        let mut attempt = 0;
        while attempt < self.tries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << attempt));
            }
            attempt += 1;
            let left = match self.deadline {
                Some(at) => match at.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(ApiError::Deadline),
                },
                None => None,
            };
            let mut req = self
                .agent
                .request(method, &url)
                .set("Authorization", &format!("token {}", self.token.expose()))
                .set("Accept", "application/json");
            if let Some(left) = left {
                req = req.timeout(left);
            }
            let answer = match body {
                Some(b) => req.set("Content-Type", "application/json").send_string(b),
                None => req.call(),
            };
            match answer {
                Ok(r) if (300..400).contains(&r.status()) => {
                    let code = r.status();
                    let location = r.header("location").unwrap_or("").to_string();
                    let next = if location.starts_with('/') {
                        format!("{}{location}", origin(&self.base))
                    } else {
                        location.clone()
                    };
                    if method != "GET" || location.is_empty() {
                        return Err(ApiError::Moved {
                            status: code,
                            location: redact_url(&next),
                        });
                    }
                    if origin(&next) != origin(&self.base) || hops >= 3 {
                        return Err(ApiError::Refused {
                            status: code,
                            message: format!(
                                "redirected to {}, which is not followed",
                                redact_url(&next)
                            ),
                        });
                    }
                    hops += 1;
                    attempt -= 1;
                    url = next;
                }
                Ok(r) => {
                    let code = r.status();
                    let total = r
                        .header("x-total-count")
                        .and_then(|t| t.trim().parse().ok());
                    return Ok(Reply {
                        code,
                        total,
                        body: r.into_string().unwrap_or_default(),
                    });
                }
                Err(ureq::Error::Status(code, r)) if code < 500 => {
                    return Err(ApiError::Refused {
                        status: code,
                        message: message_of(&r.into_string().unwrap_or_default()),
                    })
                }
                Err(ureq::Error::Status(500, r)) => {
                    return Err(ApiError::Failed {
                        message: message_of(&r.into_string().unwrap_or_default()),
                    })
                }
                Err(ureq::Error::Status(code, r)) => {
                    last = format!(
                        "{code}: {}",
                        message_of(&r.into_string().unwrap_or_default())
                    );
                }
                Err(ureq::Error::Transport(t)) => last = t.to_string(),
            }
        }
        Err(ApiError::Unavailable(last))
    }

    fn post(&self, path: &str, body: &str) -> Result<Reply, ApiError> {
        self.send("POST", path, Some(body))
    }

    fn get_paged(&self, path: &str) -> Result<(Val, Option<u64>), ApiError> {
        let reply = self.send("GET", path, None)?;
        let v = jaq_json::read::parse_single(reply.body.as_bytes()).map_err(|_| {
            ApiError::Unavailable(format!("not JSON from {path}: {}", message_of(&reply.body)))
        })?;
        Ok((v, reply.total))
    }

    fn get(&self, path: &str) -> Result<Val, ApiError> {
        self.get_paged(path).map(|(v, _)| v)
    }

    fn commits_page(
        &self,
        repo: &str,
        query: &str,
    ) -> Result<(Vec<Commit>, Option<u64>), ApiError> {
        let (v, total) = self.get_paged(&format!(
            "/repos/{repo}/commits?{query}&stat=false&verification=false&files=false"
        ))?;
        let Val::Arr(items) = v else {
            return Err(ApiError::Unavailable(
                "the commits answer is not a list".into(),
            ));
        };
        let commits = items
            .iter()
            .map(|c| {
                // A commit the listing names by something else than a sha is an answer
                // that cannot be trusted at all, not an entry to pass over.
                let sha = field_sha(c, "sha").ok_or_else(|| {
                    ApiError::Unavailable(format!(
                        "the commits answer names a commit by {}, which is not a sha",
                        crate::report::escape(
                            &field_str(c, "sha")
                                .unwrap_or_default()
                                .chars()
                                .take(80)
                                .collect::<String>()
                        )
                    ))
                })?;
                Ok(Commit {
                    sha,
                    message: field(c, "commit")
                        .and_then(|m| field_str(m, "message"))
                        .unwrap_or_default(),
                    html_url: field_url(c, "html_url"),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok((commits, total))
    }
}

fn pull_state_of(v: &Val) -> Option<PullState> {
    Some(PullState {
        pull: pull_of(v)?,
        state: field_str(v, "state").unwrap_or_default(),
        merged: matches!(field(v, "merged"), Some(Val::Bool(true))),
        merge_commit: field_sha(v, "merge_commit_sha"),
        head_ref: field(v, "head")
            .and_then(|h| field_str(h, "ref"))
            .unwrap_or_default(),
        title: field_str(v, "title").unwrap_or_default(),
    })
}

fn pull_of(v: &Val) -> Option<Pull> {
    Some(Pull {
        number: field_u64(v, "number")?,
        html_url: field_url(v, "html_url").unwrap_or_default(),
        head_sha: field(v, "head")
            .and_then(|h| field_sha(h, "sha"))
            .unwrap_or_default(),
    })
}

impl Forge for Gitea {
    fn base(&self) -> &str {
        &self.base
    }

    /// The addresses of the token's account, and whether each is activated
    /// (routers/api/v1/user/email.go, ListEmails: `email`, `verified`).
    fn my_emails(&self) -> Result<Vec<(String, bool)>, ApiError> {
        let v = self.get("/user/emails")?;
        Ok(items(&v)
            .filter_map(|e| {
                Some((
                    field_str(e, "email")?,
                    matches!(field(e, "verified"), Some(Val::Bool(true))),
                ))
            })
            .collect())
    }

    /// The fingerprints (`SHA256:...`) of the token's account's SSH keys
    /// (routers/api/v1/user/key.go, ListMyPublicKeys; models/asymkey/ssh_key_fingerprint.go).
    fn my_ssh_fingerprints(&self) -> Result<Vec<String>, ApiError> {
        let v = self.get("/user/keys?limit=50")?;
        Ok(items(&v)
            .filter_map(|k| field_str(k, "fingerprint"))
            .collect())
    }

    /// The key IDs of the token's account's GPG keys and their subkeys
    /// (routers/api/v1/user/gpg_key.go, ListMyGPGKeys: `key_id`, `subkeys`).
    fn my_gpg_key_ids(&self) -> Result<Vec<String>, ApiError> {
        let v = self.get("/user/gpg_keys?limit=50")?;
        let mut ids = Vec::new();
        for k in items(&v) {
            ids.extend(field_str(k, "key_id"));
            if let Some(subs) = field(k, "subkeys") {
                ids.extend(items(subs).filter_map(|s| field_str(s, "key_id")));
            }
        }
        Ok(ids)
    }

    /// The server's version string.
    fn version(&self) -> Result<String, ApiError> {
        let v = self.get("/version")?;
        field_str(&v, "version")
            .ok_or_else(|| ApiError::Unavailable("no version in the answer to /version".into()))
    }

    fn repo(&self, repo: &str) -> Result<Repo, ApiError> {
        let v = self.get(&format!("/repos/{repo}"))?;
        let default_branch = field_str(&v, "default_branch")
            .ok_or_else(|| ApiError::Unavailable("no default_branch in the repository".into()))?;
        let html_url = field_url(&v, "html_url").unwrap_or_default();
        Ok(Repo {
            default_branch,
            html_url: html_url.trim_end_matches('/').to_string(),
        })
    }

    /// Dispatches a workflow. Gitea answers 204 with no body on every release; Forgejo,
    /// asked with `return_run_info`, answers 201 with the run (Forgejo's
    /// routers/api/v1/repo/action.go), whose id is returned.
    fn dispatch(
        &self,
        repo: &str,
        workflow: &str,
        branch: &str,
        inputs: &[(&str, &str)],
        return_run_info: bool,
    ) -> Result<Option<u64>, ApiError> {
        use crate::report::json_str;
        let inputs: Vec<String> = inputs
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let info = if return_run_info {
            ",\"return_run_info\":true"
        } else {
            ""
        };
        let body = format!(
            "{{\"ref\":{},\"inputs\":{{{}}}{info}}}",
            json_str(branch),
            inputs.join(",")
        );
        let reply = self.post(
            &format!("/repos/{repo}/actions/workflows/{workflow}/dispatches"),
            &body,
        )?;
        if reply.code != 201 {
            return Ok(None);
        }
        let run = jaq_json::read::parse_single(reply.body.as_bytes()).ok();
        Ok(run.and_then(|v| field_u64(&v, "id")))
    }

    /// The commits of `branch` that `not` does not reach, newest first, every page of them.
    /// Pages are asked for by number: the `Link` header names the server's public ROOT_URL
    /// (services/context/api.go, `genAPILinks`), which a runner may not reach.
    fn commits_since(&self, repo: &str, branch: &str, not: &str) -> Result<Vec<Commit>, ApiError> {
        // setting.Git.CommitsRangeSize: Gitea never sends more than 50 a page.
        const PAGE: u64 = 50;
        let mut all = Vec::new();
        for page in 1.. {
            let (items, total) = self.commits_page(
                repo,
                &format!(
                    "sha={}&not={}&limit={PAGE}&page={page}",
                    encode(branch),
                    encode(not)
                ),
            )?;
            let n = items.len() as u64;
            all.extend(items);
            let more = match total {
                Some(t) => (all.len() as u64) < t,
                None => n == PAGE,
            };
            if n == 0 || !more || page >= 1000 {
                break;
            }
        }
        Ok(all)
    }

    /// The newest commit of `branch`.
    fn tip(&self, repo: &str, branch: &str) -> Result<Commit, ApiError> {
        let (items, _) = self.commits_page(repo, &format!("sha={}&limit=1", encode(branch)))?;
        items
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Unavailable(format!("no commits on {branch}")))
    }

    /// The newest statuses of a commit (routers/api/v1/repo/status.go; newest first).
    fn statuses(&self, repo: &str, sha: &str) -> Result<Vec<Listed>, ApiError> {
        let v = self.get(&format!("/repos/{repo}/statuses/{sha}?limit=50"))?;
        let Val::Arr(items) = v else {
            return Err(ApiError::Unavailable(
                "the statuses answer is not a list".into(),
            ));
        };
        Ok(items
            .iter()
            .map(|s| Listed {
                state: field_str(s, "status")
                    .or_else(|| field_str(s, "state"))
                    .unwrap_or_default(),
                context: field_str(s, "context").unwrap_or_default(),
                description: field_str(s, "description").unwrap_or_default(),
            })
            .collect())
    }

    /// The newest tasks (jobs picked up by a runner) of the repository.
    fn tasks(&self, repo: &str) -> Result<Vec<Task>, ApiError> {
        let v = self.get(&format!("/repos/{repo}/actions/tasks?limit=50"))?;
        let Some(Val::Arr(items)) = field(&v, "workflow_runs") else {
            return Err(ApiError::Unavailable(
                "the tasks answer has no workflow_runs".into(),
            ));
        };
        Ok(items
            .iter()
            .filter_map(|t| {
                Some(Task {
                    id: field_u64(t, "id")?,
                    display_title: field_str(t, "display_title").unwrap_or_default(),
                    status: field_str(t, "status").unwrap_or_default(),
                    workflow_id: field_str(t, "workflow_id").unwrap_or_default(),
                    url: field_url(t, "url").unwrap_or_default(),
                })
            })
            .collect())
    }

    /// A run's status as Forgejo gives it (`GET /repos/{o}/{r}/actions/runs/{id}`:
    /// success, failure, cancelled, running, waiting, ...), and its page.
    fn run_status(&self, repo: &str, run: u64) -> Result<(String, Option<String>), ApiError> {
        let v = self.get(&format!("/repos/{repo}/actions/runs/{run}"))?;
        Ok((
            field_str(&v, "status").unwrap_or_default(),
            field_url(&v, "html_url"),
        ))
    }

    fn set_status(&self, repo: &str, sha: &str, status: &Status) -> Result<(), ApiError> {
        use crate::report::json_str;
        let target = status
            .target_url
            .as_deref()
            .map(|u| format!(",\"target_url\":{}", json_str(u)))
            .unwrap_or_default();
        let body = format!(
            "{{\"state\":{},\"context\":{}{target},\"description\":{}}}",
            json_str(status.state),
            json_str(&status.context),
            json_str(&status.description)
        );
        self.post(&format!("/repos/{repo}/statuses/{sha}"), &body)
            .map(|_| ())
    }

    /// Opens a pull request of `head` into `base`. `Ok(None)`: one is already open for
    /// them (409, routers/api/v1/repo/pull.go `CreatePullRequest`).
    fn create_pull(
        &self,
        repo: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<Option<Pull>, ApiError> {
        use crate::report::json_str;
        let req = format!(
            "{{\"head\":{},\"base\":{},\"title\":{},\"body\":{}}}",
            json_str(head),
            json_str(base),
            json_str(title),
            json_str(body)
        );
        match self.post(&format!("/repos/{repo}/pulls"), &req) {
            Ok(reply) => jaq_json::read::parse_single(reply.body.as_bytes())
                .ok()
                .as_ref()
                .and_then(pull_of)
                .map(Some)
                .ok_or_else(|| ApiError::Unavailable("no pull request in the answer".into())),
            Err(ApiError::Refused { status: 409, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The open pull request of `head` into `base`, from the list of open ones.
    fn open_pull(&self, repo: &str, head: &str, base: &str) -> Result<Option<Pull>, ApiError> {
        const PAGE: u64 = 50;
        for page in 1..=20 {
            let (list, total) = self.get_paged(&format!(
                "/repos/{repo}/pulls?state=open&base_branch={}&page={page}&limit={PAGE}",
                encode(base)
            ))?;
            let Val::Arr(items) = &list else {
                return Ok(None);
            };
            let found = items.iter().find(|p| {
                let branch = |side: &str| field(p, side).and_then(|s| field_str(s, "ref"));
                branch("head").as_deref() == Some(head) && branch("base").as_deref() == Some(base)
            });
            if let Some(p) = found {
                return Ok(pull_of(p));
            }
            if (items.len() as u64) < PAGE || total.is_some_and(|t| page * PAGE >= t) {
                break;
            }
        }
        Ok(None)
    }

    /// One pull request as it is now (routers/api/v1/repo/pull.go, GetPullRequest).
    fn pull(&self, repo: &str, number: u64) -> Result<PullState, ApiError> {
        let v = self.get(&format!("/repos/{repo}/pulls/{number}"))?;
        pull_state_of(&v).ok_or_else(|| ApiError::Unavailable(format!("no pull request #{number}")))
    }

    /// The pull requests into `base` in `state` (open, closed), newest first: the first
    /// page (50).
    fn pulls_into(&self, repo: &str, base: &str, state: &str) -> Result<Vec<PullState>, ApiError> {
        let v = self.get(&format!(
            "/repos/{repo}/pulls?state={state}&base_branch={}&page=1&limit=50",
            encode(base)
        ))?;
        Ok(match &v {
            Val::Arr(items) => items.iter().filter_map(pull_state_of).collect(),
            _ => Vec::new(),
        })
    }

    /// Sets a pull request's title and body, and answers it as it now is. Gitea answers 201
    /// (`EditPullRequest`).
    fn edit_pull(
        &self,
        repo: &str,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<Pull, ApiError> {
        use crate::report::json_str;
        let req = format!(
            "{{\"title\":{},\"body\":{}}}",
            json_str(title),
            json_str(body)
        );
        let reply = self.send(
            "PATCH",
            &format!("/repos/{repo}/pulls/{number}"),
            Some(&req),
        )?;
        jaq_json::read::parse_single(reply.body.as_bytes())
            .ok()
            .as_ref()
            .and_then(pull_of)
            .ok_or_else(|| ApiError::Unavailable("no pull request in the answer".into()))
    }

    /// A commit's message (`GET /repos/{o}/{r}/commits?sha=`, its first entry).
    fn commit_message(&self, repo: &str, sha: &str) -> Result<String, ApiError> {
        let v = self.get(&format!(
            "/repos/{repo}/commits?sha={sha}&limit=1&stat=false&verification=false&files=false"
        ))?;
        match &v {
            Val::Arr(items) => items
                .first()
                .and_then(|c| field(c, "commit"))
                .and_then(|c| field_str(c, "message"))
                .ok_or_else(|| ApiError::Unavailable(format!("no commit {sha}"))),
            _ => Err(ApiError::Unavailable(format!("no commit {sha}"))),
        }
    }

    /// Merges, or schedules the merge for when the checks succeed.
    fn merge_pull(&self, repo: &str, number: u64, style: &str) -> Result<Merge, ApiError> {
        use crate::report::json_str;
        let req = format!(
            "{{\"Do\":{},\"merge_when_checks_succeed\":true,\"delete_branch_after_merge\":true}}",
            json_str(style)
        );
        let reply = self.post(&format!("/repos/{repo}/pulls/{number}/merge"), &req)?;
        Ok(if reply.code == 201 {
            Merge::Scheduled
        } else {
            Merge::Merged
        })
    }
}

/// The elements of a JSON array; nothing for anything else.
fn items(v: &Val) -> impl Iterator<Item = &Val> {
    match v {
        Val::Arr(a) => a.iter(),
        _ => [].iter(),
    }
}

fn field<'v>(v: &'v Val, name: &str) -> Option<&'v Val> {
    match v {
        Val::Obj(o) => o.get(&Val::from(name.to_string())),
        _ => None,
    }
}

/// A commit id from the server: 40 (SHA-1) or 64 (SHA-256) hex digits, or nothing. What
/// else a server says there is never a sha, and would reach refs, URLs and the terminal.
fn field_sha(v: &Val, name: &str) -> Option<String> {
    field_str(v, name)
        .filter(|s| matches!(s.len(), 40 | 64) && s.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A link from the server: an http(s) URL with no white space or control characters, or
/// nothing; it is printed on the run's line and in the step summary.
fn field_url(v: &Val, name: &str) -> Option<String> {
    field_str(v, name).filter(|u| {
        (u.starts_with("https://") || u.starts_with("http://"))
            && !u
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || crate::model::is_bidi(c))
    })
}

fn field_str(v: &Val, name: &str) -> Option<String> {
    match field(v, name)? {
        Val::TStr(s) | Val::BStr(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn field_u64(v: &Val, name: &str) -> Option<u64> {
    match field(v, name)? {
        Val::Num(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_shas_and_links_are_checked() {
        let v = jaq_json::read::parse_single(
            br#"{"a":"0123456789abcdef0123456789abcdef01234567","b":"main\u001b[31m","c":"https://g/x/pulls/1","d":"javascript:alert(1)","e":"https://g/\nforged"}"#,
        )
        .unwrap();
        assert!(field_sha(&v, "a").is_some());
        assert_eq!(field_sha(&v, "b"), None);
        assert!(field_url(&v, "c").is_some());
        assert_eq!(field_url(&v, "d"), None);
        assert_eq!(field_url(&v, "e"), None);
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("http://127.0.0.1:3000/api/v1/x"),
            "http://127.0.0.1:3000"
        );
        assert_eq!(origin("https://git.example.com"), "https://git.example.com");
    }

    #[test]
    fn gitea_messages() {
        assert_eq!(
            message_of(r#"{"message":"token is required","url":"x"}"#),
            "token is required"
        );
        assert_eq!(
            message_of("  <html>bad gateway</html>\n"),
            "<html>bad gateway</html>"
        );
    }
}
