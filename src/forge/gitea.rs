//! Gitea's API, the first `Forge`: a small blocking client on the same OpenSSL as libgit2
//! (git2 points OpenSSL at the system CA bundle when it starts, and honours SSL_CERT_FILE).
//! Forgejo speaks the same API with a few differences, which `Server` names.

use std::io::Read;
use std::time::Duration;

use base64ct::{Base64, Encoding};

use percent_encoding::{utf8_percent_encode as encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{
    ApiError, ChangeFiles, Changed, Commit, FileAt, Forge, Identity, Listed, Merge, Pull,
    PullState, Repo, RunId, Status, Task, Verification,
};
use crate::model::{redact_url, SafeUrl, Token};

pub struct Gitea {
    /// The server's web root, without `/api/v1`.
    base: String,
    /// `base` parsed, to resolve and judge redirects against.
    root: Option<url::Url>,
    token: Token,
    agent: ureq::Agent,
    tries: u32,
    /// No request starts, or runs, past this: a server that pages a huge commit count
    /// slowly cannot keep a wait past its timeout.
    deadline: Option<std::time::Instant>,
}

/// What one request came to: an answer, a redirect to consider, or a failure worth another
/// try (502/503/504, the network).
enum Answer {
    Done(Reply),
    Redirect { status: u16, location: String },
    Retry(String),
}

/// An answer below 300, with the total count of a paged list when the server gave one.
struct Reply {
    body: String,
    code: u16,
    total: Option<u64>,
}

/// The HTTP methods the API is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// An answer's body. One that cannot be read (not UTF-8, over ureq's 10 MB, cut off) is
/// read as empty: an error's text is only shown, and a success's is then not JSON.
fn text(r: ureq::Response) -> String {
    r.into_string().unwrap_or_default()
}

/// ureq's own bound on a body read as text, which every answer had before the contents API.
const ANSWER_CAP: u64 = 10 * 1024 * 1024;

/// A success's body, at most `cap` bytes: a larger one is an error rather than read as
/// empty, since a caller must not take a cut-off answer for "not JSON" and retry.
fn bounded(r: ureq::Response, cap: u64) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    r.into_reader()
        .take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ApiError::Unavailable(format!("the answer was cut off: {e}")))?;
    if buf.len() as u64 > cap {
        return Err(ApiError::Unusable(format!(
            "the answer is larger than {} MiB",
            cap / (1024 * 1024)
        )));
    }
    String::from_utf8(buf).map_err(|_| ApiError::Unusable("the answer is not UTF-8".into()))
}

/// Gitea's `{"message": "..."}`, or the start of the body when it is not that: at most 300
/// characters, with line breaks, escape sequences and bidi controls shown escaped, since a
/// misconfigured or hostile server's text ends up in a terminal, a log or Markdown.
fn message_of(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(o)) => match o.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => body.trim().to_string(),
        },
        _ => body.trim().to_string(),
    };
    let shown: String = text.chars().take(300).collect();
    crate::report::escape(&shown)
}

/// What a query value keeps as it is: RFC 3986's unreserved characters, and the `/` of
/// branch names.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

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
        let base = api_url.base();
        Ok(Gitea {
            root: url::Url::parse(&base).ok(),
            base,
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

    /// Sends a request. 502/503/504 and network errors are retried with a short, jittered
    /// back-off; a 3xx is followed for a read on the same server (the token never goes
    /// elsewhere) and is an error for a write; 4xx and 500 are answers, not retried.
    fn send(&self, method: Method, path: &str, body: Option<&str>) -> Result<Reply, ApiError> {
        self.send_capped(method, path, body, ANSWER_CAP)
    }

    /// `send`, with a success's body bounded by `cap` bytes.
    fn send_capped(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        cap: u64,
    ) -> Result<Reply, ApiError> {
        let mut url = format!("{}/api/v1{path}", self.base);
        let mut hops = 0;
        // Failed attempts: a redirect followed is not one.
        let mut failed = 0;
        loop {
            let why = match self.once(method, &url, body, cap)? {
                Answer::Done(reply) => return Ok(reply),
                Answer::Redirect { status, location } => {
                    url = self.follow(method, status, &location, hops)?;
                    hops += 1;
                    continue;
                }
                Answer::Retry(why) => why,
            };
            failed += 1;
            if failed >= self.tries {
                return Err(ApiError::Unavailable(why));
            }
            // At most 400 ms, then 800 ms, as before; jittered below that so that runners
            // a restarted server turned away do not come back in step.
            std::thread::sleep(crate::model::backoff(
                Duration::from_millis(200),
                failed,
                Duration::from_secs(2),
            ));
        }
    }

    /// One request, within the deadline, and what its answer means.
    fn once(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
        cap: u64,
    ) -> Result<Answer, ApiError> {
        let left = match self.deadline {
            Some(at) => match at.checked_duration_since(std::time::Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(ApiError::Deadline),
            },
            None => None,
        };
        let mut req = self
            .agent
            .request(method.as_str(), url)
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
            Ok(r) if (300..400).contains(&r.status()) => Ok(Answer::Redirect {
                status: r.status(),
                location: r.header("location").unwrap_or("").to_string(),
            }),
            Ok(r) => {
                let code = r.status();
                let total = r
                    .header("x-total-count")
                    .and_then(|t| t.trim().parse().ok());
                Ok(Answer::Done(Reply {
                    code,
                    total,
                    body: bounded(r, cap)?,
                }))
            }
            Err(ureq::Error::Status(code, r)) if code < 500 => Err(ApiError::Refused {
                status: code,
                message: message_of(&text(r)),
            }),
            Err(ureq::Error::Status(500, r)) => Err(ApiError::Failed {
                message: message_of(&text(r)),
            }),
            Err(ureq::Error::Status(code, r)) => {
                Ok(Answer::Retry(format!("{code}: {}", message_of(&text(r)))))
            }
            Err(ureq::Error::Transport(t)) => Ok(Answer::Retry(t.to_string())),
        }
    }

    /// Where a redirect leads, when it is followed: only for a read, only on this server
    /// (the token never goes elsewhere), at most three times. A write is never re-sent to
    /// another address on our own.
    fn follow(
        &self,
        method: Method,
        status: u16,
        location: &str,
        hops: u32,
    ) -> Result<String, ApiError> {
        // A path on this server, as Gitea redirects a renamed repository
        // (services/context/repo.go, `RedirectToRepo`).
        let next = match &self.root {
            Some(root) if location.starts_with('/') => root
                .join(location)
                .map_or_else(|_| location.to_string(), String::from),
            _ => location.to_string(),
        };
        if method != Method::Get || location.is_empty() {
            return Err(ApiError::Moved {
                status,
                location: redact_url(&next),
            });
        }
        let same_server = self
            .root
            .as_ref()
            .is_some_and(|root| url::Url::parse(&next).is_ok_and(|n| n.origin() == root.origin()));
        if !same_server || hops >= 3 {
            return Err(ApiError::Refused {
                status,
                message: format!("redirected to {}, which is not followed", redact_url(&next)),
            });
        }
        Ok(next)
    }

    fn post(&self, path: &str, body: &impl Serialize) -> Result<Reply, ApiError> {
        self.send(Method::Post, path, Some(&to_json(body)?))
    }

    fn get_paged(&self, path: &str) -> Result<(Value, Option<u64>), ApiError> {
        let reply = self.send(Method::Get, path, None)?;
        let v = serde_json::from_str(&reply.body).map_err(|_| {
            ApiError::Unavailable(format!("not JSON from {path}: {}", message_of(&reply.body)))
        })?;
        Ok((v, reply.total))
    }

    fn get(&self, path: &str) -> Result<Value, ApiError> {
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
        let Value::Array(items) = v else {
            return Err(ApiError::Unavailable(
                "the commits answer is not a list".into(),
            ));
        };
        let commits = items
            .into_iter()
            .map(|c| {
                let c: CommitJson = read(c);
                // A commit the listing names by something else than a sha is an answer
                // that cannot be trusted at all, not an entry to pass over.
                let sha = c.sha.clone().filter(|s| is_sha(s)).ok_or_else(|| {
                    ApiError::Unavailable(format!(
                        "the commits answer names a commit by {}, which is not a sha",
                        crate::report::escape(
                            &c.sha
                                .unwrap_or_default()
                                .chars()
                                .take(80)
                                .collect::<String>()
                        )
                    ))
                })?;
                Ok(Commit {
                    sha,
                    message: c.commit.message.unwrap_or_default(),
                    html_url: c.html_url,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok((commits, total))
    }
}

impl Forge for Gitea {
    fn base(&self) -> &str {
        &self.base
    }

    /// The addresses of the token's account, and whether each is activated
    /// (routers/api/v1/user/email.go, ListEmails: `email`, `verified`).
    fn my_emails(&self) -> Result<Vec<(String, bool)>, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Email {
            #[serde(deserialize_with = "loose")]
            email: Option<String>,
            #[serde(deserialize_with = "loose")]
            verified: Option<bool>,
        }
        let v = self.get("/user/emails")?;
        Ok(items::<Email>(v)
            .into_iter()
            .filter_map(|e| Some((e.email?, e.verified == Some(true))))
            .collect())
    }

    /// The fingerprints (`SHA256:...`) of the token's account's SSH keys
    /// (routers/api/v1/user/key.go, ListMyPublicKeys; models/asymkey/ssh_key_fingerprint.go).
    fn my_ssh_fingerprints(&self) -> Result<Vec<String>, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Key {
            #[serde(deserialize_with = "loose")]
            fingerprint: Option<String>,
        }
        let v = self.get("/user/keys?limit=50")?;
        Ok(items::<Key>(v)
            .into_iter()
            .filter_map(|k| k.fingerprint)
            .collect())
    }

    /// The key IDs of the token's account's GPG keys and their subkeys
    /// (routers/api/v1/user/gpg_key.go, ListMyGPGKeys: `key_id`, `subkeys`).
    fn my_gpg_key_ids(&self) -> Result<Vec<String>, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct SubKey {
            #[serde(deserialize_with = "loose")]
            key_id: Option<String>,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct GpgKey {
            #[serde(deserialize_with = "loose")]
            key_id: Option<String>,
            #[serde(deserialize_with = "list")]
            subkeys: Vec<SubKey>,
        }
        let v = self.get("/user/gpg_keys?limit=50")?;
        let mut ids = Vec::new();
        for k in items::<GpgKey>(v) {
            ids.extend(k.key_id);
            ids.extend(k.subkeys.into_iter().filter_map(|s| s.key_id));
        }
        Ok(ids)
    }

    /// The server's version string.
    fn version(&self) -> Result<String, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Version {
            #[serde(deserialize_with = "loose")]
            version: Option<String>,
        }
        read::<Version>(self.get("/version")?)
            .version
            .ok_or_else(|| ApiError::Unavailable("no version in the answer to /version".into()))
    }

    fn repo(&self, repo: &str) -> Result<Repo, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct RepoJson {
            #[serde(deserialize_with = "loose")]
            default_branch: Option<String>,
            #[serde(deserialize_with = "link")]
            html_url: Option<String>,
        }
        let v: RepoJson = read(self.get(&format!("/repos/{repo}"))?);
        let default_branch = v
            .default_branch
            .ok_or_else(|| ApiError::Unavailable("no default_branch in the repository".into()))?;
        let html_url = v.html_url.unwrap_or_default();
        Ok(Repo {
            default_branch,
            html_url: html_url.trim_end_matches('/').to_string(),
        })
    }

    /// Dispatches a workflow. Gitea answers 204 with no body, unless 1.26+ is asked with
    /// `?return_run_details=true`: then 200 with `workflow_run_id` (routers/api/v1/repo/
    /// action.go `ActionsDispatchWorkflow`, modules/structs/repo_actions.go `RunDetails`).
    /// Forgejo, asked with the body field `return_run_info`, answers 201 with the run, whose
    /// `id` it is (Forgejo's routers/api/v1/repo/action.go).
    fn dispatch(
        &self,
        repo: &str,
        workflow: &str,
        branch: &str,
        inputs: &[(&str, &str)],
        run_id: RunId,
    ) -> Result<Option<u64>, ApiError> {
        #[derive(Serialize)]
        struct Dispatch<'a> {
            #[serde(rename = "ref")]
            branch: &'a str,
            /// In the order given, as an object.
            #[serde(serialize_with = "pairs")]
            inputs: &'a [(&'a str, &'a str)],
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            return_run_info: bool,
            /// GitHub's spelling, beside Gitea's query parameter: Gitea binds the body with
            /// go-chi/binding (modules/web/router.go `Bind`), which ignores a field it does
            /// not know, and a server that reads the body form is asked the same way.
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            return_run_details: bool,
        }
        fn pairs<S: Serializer>(p: &&[(&str, &str)], s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(p.iter().copied())
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Run {
            #[serde(deserialize_with = "loose")]
            id: Option<u64>,
            #[serde(deserialize_with = "loose")]
            workflow_run_id: Option<u64>,
        }
        let query = if run_id == RunId::Query {
            "?return_run_details=true"
        } else {
            ""
        };
        let reply = self.post(
            &format!("/repos/{repo}/actions/workflows/{workflow}/dispatches{query}"),
            &Dispatch {
                branch,
                inputs,
                return_run_info: run_id == RunId::Body,
                return_run_details: run_id == RunId::Query,
            },
        )?;
        let run = match (run_id, reply.code) {
            (RunId::Query, 200) | (RunId::Body, 201) => serde_json::from_str(&reply.body).ok(),
            _ => None,
        };
        Ok(run.map(read::<Run>).and_then(|r| match run_id {
            RunId::Query => r.workflow_run_id,
            _ => r.id,
        }))
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
                    encode(branch, QUERY),
                    encode(not, QUERY)
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

    fn recent_commits(&self, repo: &str, branch: &str) -> Result<Vec<Commit>, ApiError> {
        self.commits_page(repo, &format!("sha={}&limit=50", encode(branch, QUERY)))
            .map(|(commits, _)| commits)
    }

    /// The newest commit of `branch`.
    fn tip(&self, repo: &str, branch: &str) -> Result<Commit, ApiError> {
        let (items, _) =
            self.commits_page(repo, &format!("sha={}&limit=1", encode(branch, QUERY)))?;
        items
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Unavailable(format!("no commits on {branch}")))
    }

    /// The newest statuses of a commit (routers/api/v1/repo/status.go; newest first).
    fn statuses(&self, repo: &str, sha: &str) -> Result<Vec<Listed>, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct StatusJson {
            #[serde(deserialize_with = "loose")]
            status: Option<String>,
            #[serde(deserialize_with = "loose")]
            state: Option<String>,
            #[serde(deserialize_with = "loose")]
            context: Option<String>,
            #[serde(deserialize_with = "loose")]
            description: Option<String>,
        }
        let v = self.get(&format!("/repos/{repo}/statuses/{sha}?limit=50"))?;
        let Value::Array(items) = v else {
            return Err(ApiError::Unavailable(
                "the statuses answer is not a list".into(),
            ));
        };
        Ok(items
            .into_iter()
            .map(|s| {
                let s: StatusJson = read(s);
                Listed {
                    state: s.status.or(s.state).unwrap_or_default(),
                    context: s.context.unwrap_or_default(),
                    description: s.description.unwrap_or_default(),
                }
            })
            .collect())
    }

    /// The newest tasks (jobs picked up by a runner) of the repository.
    fn tasks(&self, repo: &str) -> Result<Vec<Task>, ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct TaskJson {
            #[serde(deserialize_with = "loose")]
            id: Option<u64>,
            #[serde(deserialize_with = "loose")]
            display_title: Option<String>,
            #[serde(deserialize_with = "loose")]
            status: Option<String>,
            #[serde(deserialize_with = "loose")]
            workflow_id: Option<String>,
            #[serde(deserialize_with = "link")]
            url: Option<String>,
        }
        let v = self.get(&format!("/repos/{repo}/actions/tasks?limit=50"))?;
        let Some(Value::Array(items)) = v.get("workflow_runs").cloned() else {
            return Err(ApiError::Unavailable(
                "the tasks answer has no workflow_runs".into(),
            ));
        };
        Ok(items
            .into_iter()
            .filter_map(|t| {
                let t: TaskJson = read(t);
                Some(Task {
                    id: t.id?,
                    display_title: t.display_title.unwrap_or_default(),
                    status: t.status.unwrap_or_default(),
                    workflow_id: t.workflow_id.unwrap_or_default(),
                    url: t.url.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// A run's status as Forgejo gives it (`GET /repos/{o}/{r}/actions/runs/{id}`:
    /// success, failure, cancelled, running, waiting, ...), and its page.
    fn run_status(&self, repo: &str, run: u64) -> Result<(String, Option<String>), ApiError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct RunJson {
            #[serde(deserialize_with = "loose")]
            status: Option<String>,
            #[serde(deserialize_with = "loose")]
            conclusion: Option<String>,
            #[serde(deserialize_with = "link")]
            html_url: Option<String>,
        }
        let v: RunJson = read(self.get(&format!("/repos/{repo}/actions/runs/{run}"))?);
        // Gitea's run is `completed` with a `conclusion` (services/convert/convert.go
        // `ToActionsStatus`); Forgejo's `status` is the outcome itself.
        let status = match (v.status, v.conclusion) {
            (Some(s), Some(c)) if s == "completed" && !c.is_empty() => c,
            (s, _) => s.unwrap_or_default(),
        };
        Ok((status, v.html_url))
    }

    fn set_status(&self, repo: &str, sha: &str, status: &Status) -> Result<(), ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            state: &'a str,
            context: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            target_url: Option<&'a str>,
            description: &'a str,
        }
        let body = Body {
            state: status.state,
            context: &status.context,
            target_url: status.target_url.as_deref(),
            description: &status.description,
        };
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
        #[derive(Serialize)]
        struct Create<'a> {
            head: &'a str,
            base: &'a str,
            title: &'a str,
            body: &'a str,
        }
        let req = Create {
            head,
            base,
            title,
            body,
        };
        match self.post(&format!("/repos/{repo}/pulls"), &req) {
            Ok(reply) => pull_in(&reply.body)
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
                encode(base, QUERY)
            ))?;
            let Value::Array(items) = list else {
                return Ok(None);
            };
            let n = items.len() as u64;
            let found = items.into_iter().map(read::<PullJson>).find(|p| {
                p.head.ref_.as_deref() == Some(head) && p.base.ref_.as_deref() == Some(base)
            });
            if let Some(p) = found {
                return Ok(p.pull());
            }
            if n < PAGE || total.is_some_and(|t| page * PAGE >= t) {
                break;
            }
        }
        Ok(None)
    }

    /// One pull request as it is now (routers/api/v1/repo/pull.go, GetPullRequest).
    fn pull(&self, repo: &str, number: u64) -> Result<PullState, ApiError> {
        let v = self.get(&format!("/repos/{repo}/pulls/{number}"))?;
        read::<PullJson>(v)
            .state()
            .ok_or_else(|| ApiError::Unavailable(format!("no pull request #{number}")))
    }

    /// The pull requests into `base` in `state` (open, closed), newest first: the first
    /// page (50).
    fn pulls_into(&self, repo: &str, base: &str, state: &str) -> Result<Vec<PullState>, ApiError> {
        let v = self.get(&format!(
            "/repos/{repo}/pulls?state={state}&base_branch={}&page=1&limit=50",
            encode(base, QUERY)
        ))?;
        Ok(items::<PullJson>(v)
            .into_iter()
            .filter_map(PullJson::state)
            .collect())
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
        #[derive(Serialize)]
        struct Edit<'a> {
            title: &'a str,
            body: &'a str,
        }
        let reply = self.send(
            Method::Patch,
            &format!("/repos/{repo}/pulls/{number}"),
            Some(&to_json(&Edit { title, body })?),
        )?;
        pull_in(&reply.body)
            .ok_or_else(|| ApiError::Unavailable("no pull request in the answer".into()))
    }

    /// A commit's message (`GET /repos/{o}/{r}/commits?sha=`, its first entry).
    fn commit_message(&self, repo: &str, sha: &str) -> Result<String, ApiError> {
        let v = self.get(&format!(
            "/repos/{repo}/commits?sha={sha}&limit=1&stat=false&verification=false&files=false"
        ))?;
        items::<CommitJson>(v)
            .into_iter()
            .next()
            .and_then(|c| c.commit.message)
            .ok_or_else(|| ApiError::Unavailable(format!("no commit {sha}")))
    }

    /// Merges, or schedules the merge for when the checks succeed.
    fn merge_pull(
        &self,
        repo: &str,
        number: u64,
        style: &str,
        head: Option<&str>,
    ) -> Result<Merge, ApiError> {
        #[derive(Serialize)]
        struct MergeBody<'a> {
            #[serde(rename = "Do")]
            style: &'a str,
            merge_when_checks_succeed: bool,
            delete_branch_after_merge: bool,
            // A merge made now checks it (services/pull/merge_prepare.go, 409 "head out of
            // date"); a scheduled one merges whatever head passes the checks.
            #[serde(skip_serializing_if = "Option::is_none")]
            head_commit_id: Option<&'a str>,
        }
        let req = MergeBody {
            style,
            merge_when_checks_succeed: true,
            delete_branch_after_merge: true,
            head_commit_id: head,
        };
        let reply = self.post(&format!("/repos/{repo}/pulls/{number}/merge"), &req)?;
        Ok(if reply.code == 201 {
            Merge::Scheduled
        } else {
            Merge::Merged
        })
    }

    /// A file at `git_ref` (routers/api/v1/repo/file.go `GetContents`).
    fn contents(&self, repo: &str, path: &str, git_ref: &str) -> Result<Option<FileAt>, ApiError> {
        let mut url = format!("/repos/{repo}/contents/{}", segments(path)?);
        // An empty ref means the default branch to Gitea; `?ref=` would say the same.
        if !git_ref.is_empty() {
            url.push_str(&format!("?ref={}", encode(git_ref, QUERY)));
        }
        match self.send_capped(Method::Get, &url, None, CONTENTS_CAP) {
            Ok(reply) => file_at(&reply.body, path).map(Some),
            Err(ApiError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Commits `change` in one `POST /repos/{o}/{r}/contents` (routers/api/v1/repo/file.go
    /// `ChangeFiles`; 201).
    fn change_files(&self, repo: &str, change: &ChangeFiles) -> Result<Changed, ApiError> {
        let body = to_json(&ChangeBody::of(change))?;
        // Gitea echoes every changed file's content back (`files`), up to its own 100 MiB
        // (`DEFAULT_MAX_RESPONSE_SIZE`): the commit has landed by then, so the bound must
        // not turn a landed change into an error.
        let reply = self.send_capped(
            Method::Post,
            &format!("/repos/{repo}/contents"),
            Some(&body),
            CHANGED_CAP,
        )?;
        changed(&reply.body)
    }
}

/// The largest contents answer read: a blob at Gitea's default `[api]
/// DEFAULT_MAX_BLOB_SIZE` (10 MiB, modules/setting/api.go) is 13.4 MiB of base64.
const CONTENTS_CAP: u64 = 16 * 1024 * 1024;

/// The largest answer to a change of files read: Gitea's `DEFAULT_MAX_RESPONSE_SIZE`
/// (100 MiB) of echoed files, and the commit and verification around them.
const CHANGED_CAP: u64 = 104 * 1024 * 1024;

/// What a path segment keeps as it is: RFC 3986's unreserved characters. Everything else,
/// `%`, `?`, `#` and spaces included, is escaped, so the path reaches Gitea as written.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A repository path as URL path segments. An empty, `.` or `..` segment is refused here:
/// URL parsing would drop or resolve it (`%2e` too, per the WHATWG URL rules), and ask
/// for another file than the one named.
fn segments(path: &str) -> Result<String, ApiError> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.iter().any(|p| matches!(*p, "" | "." | "..")) {
        return Err(ApiError::Unusable(format!(
            "{path:?} is not a file path in the repository"
        )));
    }
    Ok(parts
        .iter()
        .map(|p| encode(p, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/"))
}

/// One entry of a contents answer (modules/structs/repo_file.go `ContentsResponse`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ContentJson {
    #[serde(rename = "type", deserialize_with = "loose")]
    kind: Option<String>,
    #[serde(deserialize_with = "sha")]
    sha: Option<String>,
    #[serde(deserialize_with = "loose")]
    size: Option<u64>,
    #[serde(deserialize_with = "loose")]
    encoding: Option<String>,
    #[serde(deserialize_with = "loose")]
    content: Option<String>,
    /// 1.25+: set when the blob is an LFS pointer, whose text is not the file.
    #[serde(deserialize_with = "loose")]
    lfs_oid: Option<String>,
}

/// A file from a contents answer, or why it is not one.
fn file_at(body: &str, path: &str) -> Result<FileAt, ApiError> {
    let shown = crate::report::escape(path);
    let v: Value = serde_json::from_str(body)
        .map_err(|_| ApiError::Unusable(format!("the contents of {shown} are not JSON")))?;
    if v.is_array() {
        return Err(ApiError::Unusable(format!("{shown} is a directory")));
    }
    let c: ContentJson = read(v);
    match c.kind.as_deref() {
        Some("file") => {}
        Some(kind) => {
            return Err(ApiError::Unusable(format!(
                "{shown} is a {}, not a file",
                crate::report::escape(kind)
            )))
        }
        None => return Err(ApiError::Unusable(format!("no type for {shown}"))),
    }
    if c.lfs_oid.as_deref().is_some_and(|o| !o.is_empty()) {
        return Err(ApiError::Unusable(format!("{shown} is stored in Git LFS")));
    }
    let content = decoded(&c, &shown)?;
    let sha = c
        .sha
        .ok_or_else(|| ApiError::Unusable(format!("no blob sha for {shown}")))?;
    Ok(FileAt { content, sha })
}

/// The file's bytes. Gitea leaves them out of a blob over `[api] DEFAULT_MAX_BLOB_SIZE`:
/// 1.24+ as null, 1.22/1.23 as `""` (services/repository/files/content.go
/// `GetBlobBySHA`), which is only an empty file when `size` is 0.
fn decoded(c: &ContentJson, shown: &str) -> Result<Vec<u8>, ApiError> {
    let size = c.size.unwrap_or(0);
    let too_large = || {
        ApiError::Unusable(format!(
            "Gitea left out the content of {shown} ({size} bytes): it is larger than the \
             server's [api] DEFAULT_MAX_BLOB_SIZE"
        ))
    };
    let text = c.content.as_deref().ok_or_else(too_large)?;
    if text.is_empty() && size > 0 {
        return Err(too_large());
    }
    if c.encoding.as_deref() != Some("base64") {
        return Err(ApiError::Unusable(format!(
            "the content of {shown} is not in base64"
        )));
    }
    // Gitea writes StdEncoding on one line; other servers wrap it.
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = Base64::decode_vec(&compact)
        .map_err(|_| ApiError::Unusable(format!("the content of {shown} is not base64")))?;
    if c.size.is_some_and(|n| n != bytes.len() as u64) {
        return Err(ApiError::Unusable(format!(
            "the content of {shown} is {} bytes, but Gitea says {size}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// The request of `POST /contents` (modules/structs/repo_file.go `ChangeFilesOptions`).
/// No `new_branch`, and never `force_push` (1.26+), which would overwrite a racing commit.
#[derive(Serialize)]
struct ChangeBody<'a> {
    files: Vec<FileOp<'a>>,
    branch: &'a str,
    message: &'a str,
    author: IdentityJson<'a>,
    committer: IdentityJson<'a>,
}

#[derive(Serialize)]
struct FileOp<'a> {
    operation: &'static str,
    path: &'a str,
    /// StdEncoding, padded: Gitea decodes with `base64.StdEncoding` (422 otherwise).
    content: String,
    sha: &'a str,
}

#[derive(Serialize)]
struct IdentityJson<'a> {
    name: &'a str,
    email: &'a str,
}

impl<'a> ChangeBody<'a> {
    fn of(c: &'a ChangeFiles) -> ChangeBody<'a> {
        let who = |i: &'a Identity| IdentityJson {
            name: &i.name,
            email: &i.email,
        };
        ChangeBody {
            files: c
                .files
                .iter()
                .map(|f| FileOp {
                    operation: "update",
                    path: &f.path,
                    content: Base64::encode_string(&f.content),
                    sha: &f.sha,
                })
                .collect(),
            branch: &c.branch,
            message: &c.message,
            author: who(&c.author),
            committer: who(&c.committer),
        }
    }
}

/// The answer to `POST /contents` (modules/structs/repo_file.go `FilesResponse`); `files`
/// is not read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ChangedJson {
    #[serde(deserialize_with = "object")]
    commit: Branch,
    #[serde(deserialize_with = "object")]
    verification: VerificationJson,
}

/// modules/structs/repo_commit.go `PayloadCommitVerification`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct VerificationJson {
    #[serde(deserialize_with = "loose")]
    verified: Option<bool>,
    #[serde(deserialize_with = "loose")]
    reason: Option<String>,
    #[serde(deserialize_with = "loose")]
    signer: Option<SignerJson>,
}

/// `signer`: a `PayloadUser` (name, email, username), null when unsigned.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SignerJson {
    #[serde(deserialize_with = "loose")]
    name: Option<String>,
    #[serde(deserialize_with = "loose")]
    email: Option<String>,
}

/// The server's words, as `message_of` shows them: cut to 300 characters and escaped.
fn shown(s: Option<String>) -> String {
    let cut: String = s.unwrap_or_default().chars().take(300).collect();
    crate::report::escape(&cut)
}

/// The commit a change made, and whether Gitea signed it.
fn changed(body: &str) -> Result<Changed, ApiError> {
    let v: Value = serde_json::from_str(body)
        .map_err(|_| ApiError::Unusable("the answer to the change is not JSON".into()))?;
    let c: ChangedJson = read(v);
    let commit = c
        .commit
        .sha
        .ok_or_else(|| ApiError::Unusable("no commit sha in the answer to the change".into()))?;
    let v = c.verification;
    Ok(Changed {
        commit,
        verification: Verification {
            verified: v.verified == Some(true),
            reason: shown(v.reason),
            signer: v.signer.map(|s| Identity {
                name: shown(s.name),
                email: shown(s.email),
            }),
        },
    })
}

/// A commit as `GET /repos/{o}/{r}/commits` lists it (services/convert/git_commit.go,
/// `ToCommit`). The sha is kept as sent: one that is not a sha fails the whole answer.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CommitJson {
    #[serde(deserialize_with = "loose")]
    sha: Option<String>,
    #[serde(deserialize_with = "object")]
    commit: CommitText,
    #[serde(deserialize_with = "link")]
    html_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CommitText {
    #[serde(deserialize_with = "loose")]
    message: Option<String>,
}

/// A pull request as Gitea describes it (services/convert/pull.go, `ToAPIPullRequest`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct PullJson {
    #[serde(deserialize_with = "loose")]
    number: Option<u64>,
    #[serde(deserialize_with = "link")]
    html_url: Option<String>,
    #[serde(deserialize_with = "object")]
    head: Branch,
    #[serde(deserialize_with = "object")]
    base: Branch,
    #[serde(deserialize_with = "loose")]
    state: Option<String>,
    #[serde(deserialize_with = "loose")]
    merged: Option<bool>,
    #[serde(deserialize_with = "sha")]
    merge_commit_sha: Option<String>,
    #[serde(deserialize_with = "loose")]
    title: Option<String>,
}

/// A side of a pull request (`head`, `base`): its branch, and its tip.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Branch {
    #[serde(rename = "ref", deserialize_with = "loose")]
    ref_: Option<String>,
    #[serde(deserialize_with = "sha")]
    sha: Option<String>,
}

impl PullJson {
    fn pull(&self) -> Option<Pull> {
        Some(Pull {
            number: self.number?,
            html_url: self.html_url.clone().unwrap_or_default(),
            head_sha: self.head.sha.clone().unwrap_or_default(),
        })
    }

    fn state(self) -> Option<PullState> {
        Some(PullState {
            pull: self.pull()?,
            state: self.state.unwrap_or_default(),
            merged: self.merged == Some(true),
            merge_commit: self.merge_commit_sha,
            head_ref: self.head.ref_.unwrap_or_default(),
            title: self.title.unwrap_or_default(),
        })
    }
}

/// The pull request a write answered with.
fn pull_in(body: &str) -> Option<Pull> {
    serde_json::from_str(body)
        .ok()
        .and_then(|v| read::<PullJson>(v).pull())
}

/// A request body. Ours are structs of strings, numbers and flags, which serde_json always
/// writes; should one ever fail, the request is not sent and the caller hears why.
fn to_json(body: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(body)
        .map_err(|e| ApiError::Unavailable(format!("cannot write the request body: {e}")))
}

/// An answer, or one entry of it, as `T`: what is not an object has none of its fields.
/// Every field reads `loose`, so an object always reads.
fn read<T: DeserializeOwned + Default>(v: Value) -> T {
    match v {
        Value::Object(_) => serde_json::from_value(v).unwrap_or_default(),
        _ => T::default(),
    }
}

/// The entries of a list answer; none for anything else.
fn items<T: DeserializeOwned + Default>(v: Value) -> Vec<T> {
    match v {
        Value::Array(a) => a.into_iter().map(read).collect(),
        _ => Vec::new(),
    }
}

/// A field as Gitea sends it, or nothing: missing, null or of another type, it reads as
/// absent rather than failing the whole answer, since one release's or Forgejo's answer
/// need not have every field another has.
fn loose<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(T::deserialize(Value::deserialize(d)?).ok())
}

/// A nested object field, read as `read` reads an answer.
fn object<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    Ok(read(Value::deserialize(d)?))
}

/// A nested list field, read as `items` reads an answer.
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(items(Value::deserialize(d)?))
}

/// A commit id from the server: 40 (SHA-1) or 64 (SHA-256) hex digits, or nothing. What
/// else a server says there is never a sha, and would reach refs, URLs and the terminal.
fn is_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn sha<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(loose::<D, String>(d)?.filter(|s| is_sha(s)))
}

/// A link from the server: an http(s) URL with no white space or control characters, or
/// nothing; it is printed on the run's line and in the step summary.
fn link<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(loose::<D, String>(d)?.filter(|u| {
        (u.starts_with("https://") || u.starts_with("http://"))
            && !u
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || crate::chars::is_bidi(c))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_shas_and_links_are_checked() {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct T {
            #[serde(deserialize_with = "sha")]
            a: Option<String>,
            #[serde(deserialize_with = "sha")]
            b: Option<String>,
            #[serde(deserialize_with = "link")]
            c: Option<String>,
            #[serde(deserialize_with = "link")]
            d: Option<String>,
            #[serde(deserialize_with = "link")]
            e: Option<String>,
        }
        let v: T = read(
            serde_json::from_str(
                r#"{"a":"0123456789abcdef0123456789abcdef01234567","b":"main\u001b[31m","c":"https://g/x/pulls/1","d":"javascript:alert(1)","e":"https://g/\nforged"}"#,
            )
            .unwrap(),
        );
        assert!(v.a.is_some());
        assert_eq!(v.b, None);
        assert!(v.c.is_some());
        assert_eq!(v.d, None);
        assert_eq!(v.e, None);
    }

    #[test]
    fn missing_null_and_mistyped_fields_read_as_absent() {
        let pulls: Vec<PullJson> = items(
            serde_json::from_str(
                r#"[{"number":1,"head":{"ref":"a","sha":null},"merged":"yes","extra":[1]},
                   {"number":"2","title":"t"}, 3, {"number":4,"head":"h","merge_commit_sha":7}]"#,
            )
            .unwrap(),
        );
        let states: Vec<_> = pulls.into_iter().map(PullJson::state).collect();
        assert_eq!(states.len(), 4);
        let first = states[0].as_ref().unwrap();
        assert_eq!((first.pull.number, first.head_ref.as_str()), (1, "a"));
        assert!(!first.merged && first.pull.head_sha.is_empty());
        assert!(states[1].is_none() && states[2].is_none());
        let last = states[3].as_ref().unwrap();
        assert_eq!((last.pull.number, last.merge_commit.clone()), (4, None));
        assert!(items::<PullJson>(serde_json::json!({"number": 1})).is_empty());
    }

    #[test]
    fn query_values_are_encoded_as_before() {
        assert_eq!(
            encode("release/1.x ü&=+%", QUERY).to_string(),
            "release/1.x%20%C3%BC%26%3D%2B%25"
        );
        assert_eq!(encode("A-z_0.9~", QUERY).to_string(), "A-z_0.9~");
    }

    /// A one-request HTTP server on 127.0.0.1 that answers `status` with `body`; the join
    /// handle gives back the request it got, head and body.
    fn answer_once(status: u16, body: String) -> (Gitea, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut req = vec![0; length];
            reader.read_exact(&mut req).unwrap();
            let mut conn = conn;
            write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            head + &String::from_utf8(req).unwrap()
        });
        let url = SafeUrl::new(format!("http://127.0.0.1:{port}/api/v1"));
        let g = Gitea::new(&url, Token::new("s3cret".into()), Duration::from_secs(5)).unwrap();
        (g, seen)
    }

    const BLOB: &str = "0123456789abcdef0123456789abcdef01234567";

    fn content_json(extra: &str) -> String {
        format!(
            r#"{{"name":"a.yaml","path":"dev/a.yaml","sha":"{BLOB}","type":"file","size":5,{extra}}}"#
        )
    }

    #[test]
    fn contents_decodes_the_blob_and_encodes_the_path() {
        let (g, seen) = answer_once(
            200,
            content_json(r#""encoding":"base64","content":"YTogMQo=""#),
        );
        let file = g
            .contents("o/r", "dev/a b%?#.yaml", "release/1.x")
            .unwrap()
            .unwrap();
        assert_eq!(
            (file.content.as_slice(), file.sha.as_str()),
            (&b"a: 1\n"[..], BLOB)
        );
        let req = seen.join().unwrap();
        assert!(
            req.starts_with(
                "GET /api/v1/repos/o/r/contents/dev/a%20b%25%3F%23.yaml?ref=release/1.x HTTP/1.1"
            ),
            "{req}"
        );
        // Debug never shows the bytes, only how many.
        assert!(!format!("{file:?}").contains("a: 1"));
    }

    #[test]
    fn contents_404_is_none_and_dot_segments_are_refused() {
        let (g, seen) = answer_once(
            404,
            r#"{"message":"GetContentsOrList","url":"x","errors":["object does not exist [id: , rel_path: a]"]}"#.into(),
        );
        assert_eq!(g.contents("o/r", "a", "main"), Ok(None));
        seen.join().unwrap();
        for bad in ["../secret", "a//b", "a/./b", "", "a/"] {
            assert!(
                matches!(g.contents("o/r", bad, "main"), Err(ApiError::Unusable(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn what_is_not_a_whole_file_is_refused() {
        let cases = [
            // A directory: a list (services/repository/files/content.go, GetContentsOrList).
            (
                r#"[{"type":"file","sha":"x"}]"#.to_string(),
                "is a directory",
            ),
            (
                format!(r#"{{"type":"symlink","sha":"{BLOB}","target":"b","content":null}}"#),
                "is a symlink",
            ),
            (
                format!(r#"{{"type":"submodule","sha":"{BLOB}"}}"#),
                "is a submodule",
            ),
            // Over DEFAULT_MAX_BLOB_SIZE: null on 1.24+, "" on 1.22/1.23.
            (
                content_json(r#""encoding":null,"content":null"#),
                "left out",
            ),
            (
                content_json(r#""encoding":"base64","content":"""#),
                "left out",
            ),
            // A cut-off or altered answer must not pass for the file.
            (
                content_json(r#""encoding":"base64","content":"YTo=""#),
                "Gitea says 5",
            ),
            (
                content_json(r#""encoding":"base64","content":"%%%""#),
                "not base64",
            ),
            (
                content_json(r#""encoding":"base64","content":"YTogMQo=","lfs_oid":"ab""#),
                "LFS",
            ),
        ];
        for (body, why) in cases {
            let (g, seen) = answer_once(200, body.clone());
            match g.contents("o/r", "a.yaml", "main") {
                Err(ApiError::Unusable(m)) => assert!(m.contains(why), "{body}: {m}"),
                other => panic!("{body}: {other:?}"),
            }
            seen.join().unwrap();
        }
        // An empty file is not a left-out one.
        let (g, seen) = answer_once(
            200,
            format!(
                r#"{{"type":"file","sha":"{BLOB}","size":0,"encoding":"base64","content":""}}"#
            ),
        );
        assert_eq!(g.contents("o/r", "e", "").unwrap().unwrap().content, b"");
        assert!(seen
            .join()
            .unwrap()
            .starts_with("GET /api/v1/repos/o/r/contents/e HTTP/1.1"));
    }

    fn change() -> ChangeFiles {
        let who = |n: &str| Identity {
            name: n.into(),
            email: format!("{n}@example.com"),
        };
        ChangeFiles {
            branch: "main".into(),
            message: "Bump app to 1.2.3".into(),
            author: who("alice"),
            committer: who("bot"),
            files: vec![super::super::FileChange {
                path: "dev/a.yaml".into(),
                content: b"a: 2\n".to_vec(),
                sha: BLOB.into(),
            }],
        }
    }

    #[test]
    fn change_files_sends_updates_with_their_shas() {
        let commit = "1111111111111111111111111111111111111111";
        let answer = format!(
            r#"{{"files":[{{"content":"YTogMgo="}}],"commit":{{"sha":"{commit}","message":"Bump\n"}},
               "verification":{{"verified":false,"reason":"gpg.error.not_signed_commit","signature":"","signer":null,"payload":""}}}}"#
        );
        let (g, seen) = answer_once(201, answer);
        let done = g.change_files("o/r", &change()).unwrap();
        assert_eq!(done.commit, commit);
        assert_eq!(
            done.verification,
            Verification {
                verified: false,
                reason: "gpg.error.not_signed_commit".into(),
                signer: None
            }
        );
        let req = seen.join().unwrap();
        assert!(
            req.starts_with("POST /api/v1/repos/o/r/contents HTTP/1.1"),
            "{req}"
        );
        let body: Value = serde_json::from_str(req.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "files": [{"operation": "update", "path": "dev/a.yaml", "content": "YTogMgo=", "sha": BLOB}],
                "branch": "main",
                "message": "Bump app to 1.2.3",
                "author": {"name": "alice", "email": "alice@example.com"},
                "committer": {"name": "bot", "email": "bot@example.com"},
            })
        );
        // Debug of the change never shows the content.
        assert!(!format!("{:?}", change()).contains("a: 2"));
    }

    #[test]
    fn a_signed_change_reports_its_signer() {
        let answer = r#"{"commit":{"sha":"2222222222222222222222222222222222222222"},
            "verification":{"verified":true,"reason":"Gitea / 0123ABCD","signer":{"name":"Gitea","email":"gitea@example.com","username":""}}}"#;
        let (g, seen) = answer_once(201, answer.into());
        let v = g.change_files("o/r", &change()).unwrap().verification;
        seen.join().unwrap();
        assert!(v.verified);
        assert_eq!(v.reason, "Gitea / 0123ABCD");
        assert_eq!(
            v.signer,
            Some(Identity {
                name: "Gitea".into(),
                email: "gitea@example.com".into()
            })
        );
    }

    #[test]
    fn change_refusals_keep_gitea_words() {
        let (g, seen) = answer_once(
            422,
            r#"{"message":"sha does not match [given: a, expected: b]","url":"x"}"#.into(),
        );
        assert_eq!(
            g.change_files("o/r", &change()),
            Err(ApiError::Refused {
                status: 422,
                message: "sha does not match [given: a, expected: b]".into()
            })
        );
        seen.join().unwrap();
        // An answer without a commit sha is not taken for a landed change.
        let (g, seen) = answer_once(201, r#"{"commit":{"sha":"main"}}"#.into());
        assert!(matches!(
            g.change_files("o/r", &change()),
            Err(ApiError::Unusable(_))
        ));
        seen.join().unwrap();
    }

    #[test]
    fn an_answer_past_its_bound_is_an_error_not_an_empty_one() {
        let r = |n: usize| ureq::Response::new(200, "OK", &"x".repeat(n)).unwrap();
        assert_eq!(bounded(r(10), 10).unwrap().len(), 10);
        assert!(matches!(bounded(r(11), 10), Err(ApiError::Unusable(_))));
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
