//! The Gitea API: commit statuses, workflow dispatch, commits and runs. A small blocking client on the same OpenSSL as libgit2
//! (git2 points OpenSSL at the system CA bundle when it starts, and honours SSL_CERT_FILE).

use std::time::Duration;

use jaq_json::Val;

use crate::config::{server_base, Token};

/// What Gitea answered, or why nothing was answered.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiError {
    /// 4xx: the request is wrong (bad token, no such repo, no permission). Not retried.
    Refused { status: u16, message: String },
    /// 5xx or a network error, still failing after the retries.
    Unavailable(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Refused { status, message } => {
                write!(f, "Gitea answered {status}: {message}")
            }
            ApiError::Unavailable(why) => write!(f, "Gitea did not answer: {why}"),
        }
    }
}

/// A commit status, as `POST /repos/{owner}/{repo}/statuses/{sha}` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// pending, success, error, failure or warning.
    pub state: &'static str,
    pub context: String,
    pub target_url: Option<String>,
    pub description: String,
}

pub struct Gitea {
    /// The server's web root, without `/api/v1`.
    pub base: String,
    token: Token,
    agent: ureq::Agent,
    tries: u32,
}

/// Gitea's `{"message": "..."}`, or the start of the body when it is not that.
fn message_of(body: &str) -> String {
    if let Ok(Val::Obj(o)) = jaq_json::read::parse_single(body.as_bytes()) {
        if let Some(Val::TStr(m)) = o.get(&Val::from("message".to_string())) {
            return String::from_utf8_lossy(m).into_owned();
        }
    }
    let t = body.trim();
    t.chars().take(200).collect()
}

impl Gitea {
    pub fn new(api_url: &str, token: Token, timeout: Duration) -> Result<Gitea, String> {
        let tls = native_tls::TlsConnector::new().map_err(|e| format!("cannot set up TLS: {e}"))?;
        let agent = ureq::AgentBuilder::new()
            .tls_connector(std::sync::Arc::new(tls))
            .timeout_connect(timeout)
            .timeout(timeout)
            .redirects(0)
            .build();
        Ok(Gitea {
            base: server_base(api_url),
            token,
            agent,
            tries: 3,
        })
    }

    /// Sends a request, retrying 5xx answers and network errors with a short back-off, and
    /// returns the status code and body of the first answer below 500.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), ApiError> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut last = String::new();
        for attempt in 0..self.tries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << attempt));
            }
            let req = self
                .agent
                .request(method, &url)
                .set("Authorization", &format!("token {}", self.token.expose()))
                .set("Accept", "application/json");
            let answer = match body {
                Some(b) => req.set("Content-Type", "application/json").send_string(b),
                None => req.call(),
            };
            match answer {
                Ok(r) => {
                    let code = r.status();
                    return Ok((code, r.into_string().unwrap_or_default()));
                }
                Err(ureq::Error::Status(code, r)) if code < 500 => {
                    return Err(ApiError::Refused {
                        status: code,
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

    fn post(&self, path: &str, body: &str) -> Result<(u16, String), ApiError> {
        self.send("POST", path, Some(body))
    }

    fn get(&self, path: &str) -> Result<Val, ApiError> {
        let (_, body) = self.send("GET", path, None)?;
        jaq_json::read::parse_single(body.as_bytes()).map_err(|_| {
            ApiError::Unavailable(format!("not JSON from {path}: {}", message_of(&body)))
        })
    }

    /// The repository's default branch.
    pub fn default_branch(&self, repo: &str) -> Result<String, ApiError> {
        let v = self.get(&format!("/repos/{repo}"))?;
        field_str(&v, "default_branch")
            .ok_or_else(|| ApiError::Unavailable("no default_branch in the repository".into()))
    }

    /// Dispatches a workflow; the run's id when the server says (newer Gitea, asked with
    /// `return_run_details=true`, answers 200 with it; older ones answer 204).
    pub fn dispatch(
        &self,
        repo: &str,
        workflow: &str,
        branch: &str,
        inputs: &[(&str, &str)],
    ) -> Result<Option<u64>, ApiError> {
        use crate::report::json_str;
        let inputs: Vec<String> = inputs
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let body = format!(
            "{{\"ref\":{},\"inputs\":{{{}}}}}",
            json_str(branch),
            inputs.join(",")
        );
        let (code, answer) = self.post(
            &format!(
                "/repos/{repo}/actions/workflows/{workflow}/dispatches?return_run_details=true"
            ),
            &body,
        )?;
        if code != 200 {
            return Ok(None);
        }
        let run = jaq_json::read::parse_single(answer.as_bytes()).ok();
        Ok(run.and_then(|v| field_u64(&v, "workflow_run_id").or_else(|| field_u64(&v, "id"))))
    }

    /// The newest commits of a branch: (sha, message, html_url).
    pub fn commits(&self, repo: &str, branch: &str, limit: u32) -> Result<Vec<Commit>, ApiError> {
        let v = self.get(&format!(
            "/repos/{repo}/commits?sha={}&limit={limit}&stat=false&verification=false&files=false",
            encode(branch)
        ))?;
        let Val::Arr(items) = v else {
            return Err(ApiError::Unavailable(
                "the commits answer is not a list".into(),
            ));
        };
        Ok(items
            .iter()
            .filter_map(|c| {
                Some(Commit {
                    sha: field_str(c, "sha")?,
                    message: field(c, "commit")
                        .and_then(|m| field_str(m, "message"))
                        .unwrap_or_default(),
                    html_url: field_str(c, "html_url"),
                })
            })
            .collect())
    }

    /// A workflow run's (status, conclusion).
    pub fn run_state(&self, repo: &str, run: u64) -> Result<(String, Option<String>), ApiError> {
        let v = self.get(&format!("/repos/{repo}/actions/runs/{run}"))?;
        Ok((
            field_str(&v, "status").unwrap_or_default(),
            field_str(&v, "conclusion").filter(|c| !c.is_empty()),
        ))
    }

    pub fn set_status(&self, repo: &str, sha: &str, status: &Status) -> Result<(), ApiError> {
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
}

/// A commit as Gitea lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    pub html_url: Option<String>,
}

fn field<'v>(v: &'v Val, name: &str) -> Option<&'v Val> {
    match v {
        Val::Obj(o) => o.get(&Val::from(name.to_string())),
        _ => None,
    }
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
