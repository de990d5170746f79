//! Hermetic git for tests: bare remotes seeded with the real `git` CLI (no user or system
//! config), served over `file://` and over smart HTTP: `git http-backend` run as CGI behind a
//! small HTTP/1.1 server on 127.0.0.1, with basic auth and a log of every request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `git` CLI with no user, global or system configuration.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// Runs `git` and returns its stdout, failing the test with its stderr.
#[track_caller]
pub fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = git(dir).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository with a first commit holding `files`, on branch `main`.
pub struct Remote {
    pub dir: tempfile::TempDir,
}

impl Remote {
    pub fn new(files: &[(&str, &str)]) -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("repo.git");
        git_out(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        );
        let work = dir.path().join("seed");
        git_out(
            dir.path(),
            &["init", "-q", "-b", "main", work.to_str().unwrap()],
        );
        for (path, content) in files {
            let p = work.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        git_out(&work, &["add", "-A"]);
        git_out(&work, &["commit", "-q", "-m", "seed"]);
        git_out(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
        Remote { dir }
    }

    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("repo.git")
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    /// The commit the branch points at.
    pub fn tip(&self, branch: &str) -> String {
        git_out(
            &self.bare(),
            &["rev-parse", &format!("refs/heads/{branch}")],
        )
        .trim()
        .to_string()
    }

    /// A file's content at the branch tip.
    pub fn show(&self, branch: &str, path: &str) -> String {
        git_out(&self.bare(), &["show", &format!("{branch}:{path}")])
    }

    /// The commit's full message.
    pub fn message(&self, rev: &str) -> String {
        git_out(&self.bare(), &["log", "-1", "--format=%B", rev])
    }

    /// Commits on the branch, newest first.
    pub fn log(&self, branch: &str) -> Vec<String> {
        git_out(&self.bare(), &["log", "--format=%H %P", branch])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every object in the repository, as `git cat-file` prints them.
    pub fn all_objects_text(&self) -> String {
        let list = git_out(
            &self.bare(),
            &[
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objectname)",
            ],
        );
        let mut child = git(&self.bare())
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(list.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds a commit that changes `path`, as another writer would.
    pub fn commit_elsewhere(&self, path: &str, content: &str, message: &str) {
        let work = self.dir.path().join(format!("other-{}", rand_suffix()));
        git_out(
            self.dir.path(),
            &[
                "clone",
                "-q",
                self.bare().to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        std::fs::write(work.join(path), content).unwrap();
        git_out(&work, &["commit", "-q", "-am", message]);
        git_out(&work, &["push", "-q", "origin", "HEAD:main"]);
    }

    /// Makes the next push lose its race once: its hook moves `main` on by another
    /// writer's empty commit just before the push's own update; `marker` records that it
    /// happened.
    pub fn lose_the_next_push_once(&self, marker: &Path) {
        self.hook(
            "pre-receive",
            &format!(
                "#!/bin/sh\n[ -e {m} ] && exit 0\ntouch {m}\n\
                 unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
                 export GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@x GIT_COMMITTER_NAME=o GIT_COMMITTER_EMAIL=o@x\n\
                 c=$(git commit-tree 'refs/heads/main^{{tree}}' -p refs/heads/main -m other)\n\
                 git update-ref refs/heads/main \"$c\"\nexit 0\n",
                m = marker.display()
            ),
        );
    }

    /// Installs a server-side hook.
    pub fn hook(&self, name: &str, script: &str) {
        let p = self.bare().join("hooks").join(name);
        std::fs::write(&p, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[track_caller]
    pub fn fsck(&self) {
        git_out(&self.bare(), &["fsck", "--strict", "--no-dangling"]);
    }
}

fn rand_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .elapsed()
            .map_or(0, |d| d.as_nanos() as u64),
    );
    format!("{:x}", h.finish())
}

/// One request the HTTP server saw.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub status: u16,
}

/// `git http-backend` behind a basic-auth HTTP server on 127.0.0.1, serving the bare
/// repositories under `root` at `http://127.0.0.1:PORT/<name>.git`.
pub struct HttpServer {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Request>>>,
    faults: Arc<Mutex<Faults>>,
    auth: Arc<Mutex<Option<Authorize>>>,
    stop: Arc<AtomicBool>,
}

/// What a git request asks for, as the server's owner judges it.
#[derive(Debug)]
pub struct GitAccess<'a> {
    /// The password of the basic authorization: the token.
    pub token: Option<&'a str>,
    /// The repository's path under the root, e.g. `acme/deploy.git`.
    pub repo: &'a str,
}

/// Judges a git request: `Ok` with more environment for `git http-backend` (and so for the
/// repository's hooks), or `Err` with the HTTP status to answer (401, 404).
pub type Authorize = Arc<dyn Fn(&GitAccess) -> Result<Vec<(String, String)>, u16> + Send + Sync>;

/// Failures to inject: each count applies to that many of the next matching requests.
#[derive(Debug, Default)]
pub struct Faults {
    /// Pushes (`git-receive-pack` POSTs): close the connection before applying the push.
    pub drop_before: usize,
    /// Pushes: apply the push, then close the connection without answering: the push
    /// landed but the client never hears so.
    pub drop_after: usize,
    /// Pushes: answer `500 Internal Server Error` without applying them.
    pub fail_push: usize,
    /// Fetches (`git-upload-pack` POSTs): send the headers and half of the pack, then
    /// close: the server dies mid-fetch.
    pub cut_fetch: usize,
    /// A public repository: fetches need no credentials, pushes still do. Gitea's
    /// routers/web/repo/githttp.go (httpBase): "Only public pull don't need auth".
    pub public: bool,
    /// Every request: wait this long between doing the work and answering, to widen the
    /// windows between a run's steps (a push has landed, its answer is not sent yet).
    pub delay: Duration,
    /// Once, when a push starts (before the refs are advertised to it): force `main` of the
    /// repository to this commit, as another writer's `git push --force` between the run's
    /// fetch and its push.
    pub rewind_before_push: Option<String>,
    /// Every request: answer `302 Found` to the same path under this base URL, as a moved
    /// or hostile server would (Gitea itself redirects a renamed repository's git URLs,
    /// services/context/repo.go, RedirectToRepo).
    pub redirect_to: Option<String>,
}

pub const USER: &str = "bot";
pub const TOKEN: &str = "t0k3n-s3cr3t-value";

impl HttpServer {
    pub fn start(root: &Path) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(Mutex::new(Faults::default()));
        let auth: Arc<Mutex<Option<Authorize>>> = Arc::new(Mutex::new(None));
        let (root, log2, stop2, faults2, auth2) = (
            root.to_path_buf(),
            log.clone(),
            stop.clone(),
            faults.clone(),
            auth.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, log, faults) = (root.clone(), log2.clone(), faults2.clone());
                let auth = auth2.lock().unwrap().clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &root, &log, &faults, auth.as_ref());
                });
            }
        });
        HttpServer {
            port,
            log,
            faults,
            auth,
            stop,
        }
    }

    pub fn inject(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    /// From now on, `judge` decides who may fetch and push, instead of "[`TOKEN`] only".
    pub fn authorize(&self, judge: Authorize) {
        *self.auth.lock().unwrap() = Some(judge);
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The password of a `Basic` authorization header.
fn password(header: &str) -> Option<String> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // The scheme is case-insensitive: actions/checkout writes `basic`.
    let (scheme, b64) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let b64 = b64.trim().trim_end_matches('=');
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in b64.bytes() {
        bits = (bits << 6) | T.iter().position(|&t| t == c)? as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    let text = String::from_utf8(out).ok()?;
    Some(text.split_once(':')?.1.to_string())
}

/// One HTTP/1.1 request head: the method, the target, and the headers with their names in
/// lower case; `None` when the client closed the connection instead.
pub(super) type Head = (String, String, Vec<(String, String)>);

pub(super) fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<Head>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(Some((method, target, headers)))
}

fn serve(
    conn: TcpStream,
    root: &Path,
    log: &Mutex<Vec<Request>>,
    faults: &Mutex<Faults>,
    auth: Option<&Authorize>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let Some((method, target, headers)) = read_head(&mut reader)? else {
            return Ok(());
        };
        let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body
        } else {
            let n: usize = header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; n];
            reader.read_exact(&mut body)?;
            body
        };
        let authorization = header("authorization");
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        // Like Gitea: any user name, the token as the password.
        let token = authorization.as_deref().and_then(password);
        let is_push = method == "POST" && path.ends_with("git-receive-pack");
        let verdict = match auth {
            Some(judge) => {
                let repo = path.trim_start_matches('/');
                let repo = repo.find(".git").map_or(repo, |i| &repo[..i + 4]);
                judge(&GitAccess {
                    token: token.as_deref(),
                    repo,
                })
            }
            None if token.as_deref() == Some(TOKEN) => Ok(Vec::new()),
            None => Err(401),
        };
        let authorized = verdict.is_ok();
        let is_fetch = method == "POST" && path.ends_with("git-upload-pack");
        let redirect = faults.lock().unwrap().redirect_to.clone();
        if let Some(base) = redirect {
            log.lock().unwrap().push(Request {
                method: method.clone(),
                path: target.clone(),
                authorization,
                status: 302,
            });
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {base}{target}\r\nContent-Length: 0\r\n\r\n"
            );
            conn.write_all(head.as_bytes())?;
            conn.flush()?;
            continue;
        }
        let push_starts = method == "GET" && query.contains("service=git-receive-pack");
        let rewind = {
            let mut f = faults.lock().unwrap();
            if push_starts && authorized {
                f.rewind_before_push.take()
            } else {
                None
            }
        };
        if let Some(sha) = rewind {
            let repo = root.join(path.trim_start_matches('/').trim_end_matches("/info/refs"));
            git_out(&repo, &["update-ref", "refs/heads/main", &sha]);
        }
        let (before, after, fail, cut, delay, public) = {
            let mut f = faults.lock().unwrap();
            let before = is_push && authorized && f.drop_before > 0;
            let after = is_push && authorized && !before && f.drop_after > 0;
            let fail = is_push && authorized && !before && !after && f.fail_push > 0;
            let cut = is_fetch && authorized && f.cut_fetch > 0;
            f.drop_before -= usize::from(before);
            f.drop_after -= usize::from(after);
            f.fail_push -= usize::from(fail);
            f.cut_fetch -= usize::from(cut);
            let pull = is_fetch || (method == "GET" && query.contains("service=git-upload-pack"));
            (before, after, fail, cut, f.delay, f.public && pull)
        };
        if fail {
            log.lock().unwrap().push(Request {
                method: method.clone(),
                path: target.clone(),
                authorization,
                status: 500,
            });
            conn.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\nInternal Server Error")?;
            conn.flush()?;
            continue;
        }
        if cut {
            let env = verdict.clone().unwrap_or_default();
            let (_, response) = cgi(root, &method, path, query, &headers, &body, &env)?;
            let head = response
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(0, |n| n + 4);
            let keep = head + (response.len() - head) / 2;
            log.lock().unwrap().push(Request {
                method: method.clone(),
                path: target.clone(),
                authorization,
                status: 0,
            });
            conn.write_all(&response[..keep])?;
            conn.flush()?;
            return Ok(());
        }
        if before || after {
            if after {
                let env = verdict.clone().unwrap_or_default();
                cgi(root, &method, path, query, &headers, &body, &env)?;
            }
            log.lock().unwrap().push(Request {
                method: method.clone(),
                path: target.clone(),
                authorization,
                status: 0,
            });
            // The server dies mid-push: no answer, the connection closes.
            return Ok(());
        }
        let (status, response) = match verdict {
            Ok(env) => cgi(root, &method, path, query, &headers, &body, &env)?,
            Err(_) if public => cgi(root, &method, path, query, &headers, &body, &[])?,
            // routers/web/repo/githttp.go (httpBase): a token without access to the
            // repository's code is told the repository does not exist.
            Err(404) => (
                404,
                b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\nRepository not found".to_vec(),
            ),
            Err(_) => (
                401,
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ),
        };
        log.lock().unwrap().push(Request {
            method: method.clone(),
            path: target.clone(),
            authorization,
            status,
        });
        // After the work and before the answer: a push has landed, the client waits.
        std::thread::sleep(delay);
        conn.write_all(&response)?;
        conn.flush()?;
    }
}

fn cgi(
    root: &Path,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    env: &[(String, String)],
) -> std::io::Result<(u16, Vec<u8>)> {
    let header = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", root)
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REMOTE_USER", USER)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let body = body.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let out = child.wait_with_output()?;
    let _ = writer.join();
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, sep)) = split else {
        return Ok((
            500,
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ));
    };
    let head = String::from_utf8_lossy(&raw[..at]).into_owned();
    let content = &raw[at + sep..];
    let mut status = 200;
    let mut resp_headers = String::new();
    for line in head.lines() {
        if let Some(s) = line.strip_prefix("Status:") {
            status = s
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(200);
        } else if !line.is_empty() {
            resp_headers.push_str(line);
            resp_headers.push_str("\r\n");
        }
    }
    let mut resp = format!(
        "HTTP/1.1 {status} X\r\n{resp_headers}Content-Length: {}\r\n\r\n",
        content.len()
    )
    .into_bytes();
    resp.extend_from_slice(content);
    Ok((status, resp))
}
