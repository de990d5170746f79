//! The Gitea API: commit statuses. A small blocking client on the same OpenSSL as libgit2
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

    /// POSTs JSON, retrying 5xx answers and network errors with a short back-off.
    fn post(&self, path: &str, body: &str) -> Result<u16, ApiError> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut last = String::new();
        for attempt in 0..self.tries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << attempt));
            }
            let answer = self
                .agent
                .post(&url)
                .set("Authorization", &format!("token {}", self.token.expose()))
                .set("Content-Type", "application/json")
                .set("Accept", "application/json")
                .send_string(body);
            match answer {
                Ok(r) => return Ok(r.status()),
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
