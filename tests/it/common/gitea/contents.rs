//! Gitea's contents API on the emulator's real bare repositories: `GET /contents/{path}`
//! (routers/api/v1/repo/file.go `GetContents`, services/repository/files/content.go) and
//! `POST /contents` (`ChangeFiles`, services/repository/files/update.go `ChangeRepoFiles`).
//! A change is made as Gitea makes it: the branch tip read once as the base, the files
//! checked against it, a commit written with git plumbing, then the branch moved only if it
//! is still the base (Gitea's non-forced push; no lock is taken anywhere on its path).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64ct::{Base64, Encoding};
use serde_json::{json, Value};

use super::{error, gitea_at_least, json as answer, Answer, Protection, State, APP_URL, PUSHER};
use crate::common::git::git;

/// A change of files, checked under the state lock and committed outside it, so that two
/// changes can race as they do on Gitea.
pub(super) struct Pending {
    bare: PathBuf,
    full: String,
    branch: String,
    message: String,
    author: (String, String),
    committer: (String, String),
    files: Vec<Value>,
    signs: bool,
    /// 1.25+: a missing file is 404 (500 before).
    missing_is_404: bool,
    /// The test's racer (`Gitea::race_next_change`), run between the checks and the push.
    race: Option<Box<dyn FnOnce() + Send>>,
}

/// One tree entry: mode, type, id, size.
struct Entry {
    mode: String,
    kind: String,
    sha: String,
    size: u64,
}

/// The entry at `path` in `rev`, read with literal pathspecs.
fn entry(bare: &Path, rev: &str, path: &str) -> Option<Entry> {
    let out = git(bare)
        .env("GIT_LITERAL_PATHSPECS", "1")
        .args(["ls-tree", "-l", "-z", rev, "--", path])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split('\0').find_map(|line| {
        let (meta, name) = line.split_once('\t')?;
        let f: Vec<&str> = meta.split_whitespace().collect();
        (name == path && f.len() == 4).then(|| Entry {
            mode: f[0].into(),
            kind: f[1].into(),
            sha: f[2].into(),
            size: f[3].parse().unwrap_or(0),
        })
    })
}

fn run(bare: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Option<String> {
    let mut child = git(bare)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(stdin).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The 404 of a missing ref or path, as each release words it (facts §1 "404 bodies";
/// services/context/api.go `NotFound`, 1.27 `APIErrorAuto`).
fn not_found(s: &State, id: &str, path: &str) -> Answer {
    let detail = format!("object does not exist [id: {id}, rel_path: {path}]");
    if gitea_at_least(s, 27) {
        return error(404, &detail);
    }
    let message = match (id.is_empty(), gitea_at_least(s, 24), gitea_at_least(s, 25)) {
        (true, _, _) | (false, false, _) => "GetContentsOrList",
        (false, true, false) => "The target couldn't be found.",
        (false, true, true) => "not found",
    };
    let body =
        json!({"message": message, "url": format!("{APP_URL}/api/swagger"), "errors": [detail]});
    answer(404, body.to_string())
}

/// The commit `git_ref` names. 1.24+ (routers/api/v1/utils/git.go `ResolveRefCommit`): a
/// branch, a tag, or a full commit id; 1.22/1.23 (`GetCommit`) any revision.
fn resolve(s: &State, bare: &Path, git_ref: &str) -> Option<String> {
    let commit = |rev: &str| super::rev_parse(bare, rev);
    if !gitea_at_least(s, 24) {
        return commit(git_ref);
    }
    let full_id =
        matches!(git_ref.len(), 40 | 64) && git_ref.chars().all(|c| c.is_ascii_hexdigit());
    commit(&format!("refs/heads/{git_ref}"))
        .or_else(|| commit(&format!("refs/tags/{git_ref}")))
        .or_else(|| full_id.then(|| commit(git_ref)).flatten())
}

/// `GET /repos/{o}/{r}/contents/{path}?ref=`.
pub(super) fn get(
    s: &State,
    full: &str,
    path: &str,
    p: &std::collections::BTreeMap<String, String>,
) -> Answer {
    let repo = &s.repos[full];
    let git_ref = p
        .get("ref")
        .filter(|r| !r.is_empty())
        .unwrap_or(&repo.default_branch);
    let Some(commit) = resolve(s, &repo.bare, git_ref) else {
        return not_found(s, git_ref, "");
    };
    let Some(e) = entry(&repo.bare, &commit, path) else {
        return not_found(s, "", path);
    };
    if e.kind == "tree" {
        return answer(
            200,
            dir_json(s, full, &repo.bare, &commit, git_ref, path).to_string(),
        );
    }
    answer(
        200,
        content_json(s, full, &repo.bare, &commit, git_ref, path, &e).to_string(),
    )
}

/// A directory: the list of its entries, without content (content.go `GetContentsOrList`).
fn dir_json(s: &State, full: &str, bare: &Path, commit: &str, git_ref: &str, dir: &str) -> Value {
    let out = run(
        bare,
        &[
            "ls-tree",
            "--name-only",
            "-z",
            commit,
            "--",
            &format!("{dir}/"),
        ],
        &[],
        b"",
    )
    .unwrap_or_default();
    let list: Vec<Value> = out
        .split('\0')
        .filter(|n| !n.is_empty())
        .filter_map(|name| {
            let e = entry(bare, commit, name)?;
            let mut v = content_json(s, full, bare, commit, git_ref, name, &e);
            v["content"] = Value::Null;
            v["encoding"] = Value::Null;
            Some(v)
        })
        .collect();
    Value::Array(list)
}

/// One entry as modules/structs/repo_file.go `ContentsResponse` (services/repository/files/
/// content.go `GetContents`): `sha` is the blob id; content only for a file within `[api]
/// DEFAULT_MAX_BLOB_SIZE` (`GetBlobBySHA`): above it "" on 1.22/1.23, null on 1.24+.
fn content_json(
    s: &State,
    full: &str,
    bare: &Path,
    commit: &str,
    git_ref: &str,
    path: &str,
    e: &Entry,
) -> Value {
    let kind = match (e.mode.as_str(), e.kind.as_str()) {
        ("120000", _) => "symlink",
        (_, "commit") => "submodule",
        (_, "tree") => "dir",
        _ => "file",
    };
    let last = run(
        bare,
        &["log", "-1", "--format=%H", commit, "--", path],
        &[],
        b"",
    )
    .unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut v = json!({
        "name": name, "path": path, "sha": e.sha, "last_commit_sha": last, "type": kind,
        "size": e.size, "encoding": null, "content": null, "target": null,
        "url": format!("{}/repos/{full}/contents/{path}?ref={git_ref}", s.api_url),
        "html_url": format!("{APP_URL}/{full}/src/branch/{git_ref}/{path}"),
        "git_url": format!("{}/repos/{full}/git/blobs/{}", s.api_url, e.sha),
        "download_url": format!("{APP_URL}/{full}/raw/branch/{git_ref}/{path}"),
        "submodule_git_url": null,
    });
    if gitea_at_least(s, 24) {
        // #32921: always present on 1.24; pointers, still filled by GetContents, on 1.25+.
        v["last_committer_date"] = json!("2026-01-01T00:00:00Z");
        v["last_author_date"] = json!("2026-01-01T00:00:00Z");
    }
    match kind {
        "file" if e.size <= s.opts.max_blob_size => {
            let blob = git(bare)
                .args(["cat-file", "blob", &e.sha])
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default();
            v["encoding"] = json!("base64");
            v["content"] = json!(Base64::encode_string(&blob));
        }
        "file" if !gitea_at_least(s, 24) => {
            v["encoding"] = json!("base64");
            v["content"] = json!("");
        }
        "symlink" => {
            let target = run(bare, &["cat-file", "blob", &e.sha], &[], b"").unwrap_or_default();
            v["target"] = json!(target);
        }
        _ => {}
    }
    v
}

/// `POST /repos/{o}/{r}/contents`, the part Gitea does before it clones: the body bound,
/// the branch found, its protection verified. Either an answer now, or the change to make.
pub(super) fn prepare(
    s: &mut State,
    full: &str,
    job: Option<usize>,
    body: &str,
) -> Result<Pending, Answer> {
    let v: Value = serde_json::from_str(body).map_err(|_| error(422, "[Body]: Json"))?;
    // modules/structs/repo_file.go: `files` is `binding:"Required"`.
    let files = match v.get("files") {
        Some(Value::Array(f)) if !f.is_empty() => f.clone(),
        _ => return Err(error(422, "[Files]: Required")),
    };
    let repo = &s.repos[full];
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let branch = Some(text("branch"))
        .filter(|b| !b.is_empty())
        .unwrap_or(repo.default_branch.clone());
    check_writer(s, full, job)?;
    // update.go: the branch must exist; 1.24+ look it up in the database (git_model).
    if super::rev_parse(&repo.bare, &format!("refs/heads/{branch}")).is_none() {
        let which = if gitea_at_least(s, 24) {
            format!("repo_id: 1 name: {branch}")
        } else {
            format!("name: {branch}")
        };
        return Err(error(404, &format!("branch does not exist [{which}]")));
    }
    verify_protection(&s.opts.protected, &branch, job.is_some())?;
    let doer = if job.is_some() {
        // models/user/user_system.go: the Actions user, its email kept private.
        (
            "Gitea Actions".to_string(),
            "gitea-actions@noreply.example.org".to_string(),
        )
    } else {
        (PUSHER.to_string(), format!("{PUSHER}@noreply.example.org"))
    };
    let (author, committer) = identities(v.get("author"), v.get("committer"), &doer);
    Ok(Pending {
        bare: repo.bare.clone(),
        full: full.to_string(),
        branch,
        message: text("message"),
        author,
        committer,
        files,
        signs: s.opts.signs,
        missing_is_404: gitea_at_least(s, 25),
        race: s.race.take(),
    })
}

/// A job token needs code write: `reqRepoBranchWriter` (1.22–1.24) or
/// `ReqChangeRepoFileOptionsAndCheck` (1.25+), routers/api/v1/api.go.
fn check_writer(s: &State, full: &str, job: Option<usize>) -> Result<(), Answer> {
    let Some(i) = job else { return Ok(()) };
    if super::job_access(s, &s.runs[i], full)["code"] >= super::Access::Write {
        return Ok(());
    }
    let target = if gitea_at_least(s, 25) {
        "the target branch"
    } else {
        "this branch"
    };
    Err(error(
        403,
        &format!("user should have a permission to write to {target}"),
    ))
}

/// update.go `VerifyBranchProtection`, models/git/protected_branch.go `CanUserPush`: the
/// Actions user never qualifies (it is not resolved by `GetIndividualUserRepoPermission`).
fn verify_protection(rules: &[Protection], branch: &str, job: bool) -> Result<(), Answer> {
    let Some(rule) = rules.iter().find(|p| p.branch == branch) else {
        return Ok(());
    };
    let user = if job { "gitea-actions" } else { PUSHER };
    let can_push = !job
        && rule
            .push_whitelist
            .as_ref()
            .is_none_or(|w| w.contains(&PUSHER));
    if can_push {
        return Ok(());
    }
    Err(error(
        403,
        &format!("user cannot commit to repo [user: {user}]"),
    ))
}

/// 1.24+ temp_repo.go `makeGitUserSignature`: name and email each fall back to the other
/// identity's, then to the doer's.
fn identities(
    a: Option<&Value>,
    c: Option<&Value>,
    doer: &(String, String),
) -> ((String, String), (String, String)) {
    let get = |v: Option<&Value>, k: &str| {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let pick = |mine: Option<&Value>, other: Option<&Value>, k: &str, d: &str| {
        get(mine, k)
            .or_else(|| get(other, k))
            .unwrap_or_else(|| d.to_string())
    };
    (
        (pick(a, c, "name", &doer.0), pick(a, c, "email", &doer.1)),
        (pick(c, a, "name", &doer.0), pick(c, a, "email", &doer.1)),
    )
}

/// Makes the change as `ChangeRepoFiles` does, outside the state lock.
pub(super) fn commit(mut p: Pending, api_url: &str) -> Answer {
    let Some(base) = super::rev_parse(&p.bare, &format!("refs/heads/{}", p.branch)) else {
        return error(404, &format!("branch does not exist [name: {}]", p.branch));
    };
    // A fresh index of Gitea's temporary clone: a path with no file yet.
    let Ok(tmp) = tempfile::tempdir() else {
        return error(500, "");
    };
    let idx = tmp.path().join("index").to_string_lossy().into_owned();
    let env = [("GIT_INDEX_FILE", idx.as_str())];
    // temp_repo.go `SetDefaultIndex`: `git read-tree HEAD` of the clone.
    if run(&p.bare, &["read-tree", &base], &env, b"").is_none() {
        return error(500, "");
    }
    let mut paths = Vec::new();
    for f in &p.files {
        if let Err(a) = stage(&p, &base, f, &env) {
            return a;
        }
        paths.push(
            f.get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        );
    }
    let Some(commit) = write_commit(&p, &base, &paths, &env) else {
        return error(500, "");
    };
    if let Some(race) = p.race.take() {
        race();
    }
    // temp_repo.go `Push`: not forced, so a branch that moved since the clone refuses it;
    // modules/git/repo.go `Push` makes that ErrPushOutOfDate, which no handler maps: 500,
    // with no message for a non-admin (services/context/api.go `apiErrorInternal`).
    let ref_name = format!("refs/heads/{}", p.branch);
    if run(
        &p.bare,
        &["update-ref", &ref_name, &commit, &base],
        &[],
        b"",
    )
    .is_none()
    {
        return error(500, "");
    }
    answer(
        201,
        response(&p, api_url, &commit, &base, &paths).to_string(),
    )
}

/// One file into the temporary index, after `handleCheckErrors`: the per-file sha check
/// (update.go: an exact string compare with the blob id the base has).
fn stage(p: &Pending, base: &str, f: &Value, env: &[(&str, &str)]) -> Result<(), Answer> {
    let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
    let (op, path, sha) = (s("operation"), s("path"), s("sha"));
    if path.is_empty() {
        return Err(error(422, "[Files[0].Path]: Required"));
    }
    if op != "update" {
        // The emulator makes updates only; it says so rather than answer as Gitea might.
        return Err(error(
            500,
            &format!("emulator: operation {op:?} is not emulated"),
        ));
    }
    let Some(from) = entry(&p.bare, base, path) else {
        // 1.25+ 404 `object does not exist`; 1.22–1.24 an unmapped git.ErrNotExist: 500.
        return Err(if p.missing_is_404 {
            error(
                404,
                &format!("object does not exist [id: , rel_path: {path}]"),
            )
        } else {
            error(500, "")
        });
    };
    if !sha.is_empty() && sha != from.sha {
        return Err(error(
            422,
            &format!("sha does not match [given: {sha}, expected: {}]", from.sha),
        ));
    }
    let content = s("content");
    let bytes = Base64::decode_vec(content).map_err(|_| {
        let at = content
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
            .unwrap_or(0);
        error(422, &format!("illegal base64 data at input byte {at}"))
    })?;
    let blob = run(&p.bare, &["hash-object", "-w", "--stdin"], &[], &bytes)
        .ok_or_else(|| error(500, ""))?;
    // update.go keeps the executable bit of the entry it replaces.
    let info = format!("{},{blob},{path}", from.mode);
    run(
        &p.bare,
        &["update-index", "--add", "--cacheinfo", &info],
        env,
        b"",
    )
    .ok_or_else(|| error(500, ""))?;
    Ok(())
}

/// write-tree and commit-tree on the base. The message is trimmed and ends in one "\n"
/// (temp_repo.go `CommitTree`); an empty one becomes `Update a, b` (routers/api/v1/repo/
/// file.go `changeFilesCommitMessage`).
fn write_commit(p: &Pending, base: &str, paths: &[String], env: &[(&str, &str)]) -> Option<String> {
    let tree = run(&p.bare, &["write-tree"], env, b"")?;
    let trimmed = p.message.trim();
    let message = if trimmed.is_empty() {
        format!("Update {}\n", paths.join(", "))
    } else {
        format!("{trimmed}\n")
    };
    let ids = [
        ("GIT_AUTHOR_NAME", p.author.0.as_str()),
        ("GIT_AUTHOR_EMAIL", p.author.1.as_str()),
        ("GIT_COMMITTER_NAME", p.committer.0.as_str()),
        ("GIT_COMMITTER_EMAIL", p.committer.1.as_str()),
    ];
    run(
        &p.bare,
        &["commit-tree", &tree, "-p", base, "-F", "-"],
        &ids,
        message.as_bytes(),
    )
}

/// modules/structs/repo_file.go `FilesResponse`: the files read back from the new commit
/// (1.24+), the commit (services/repository/files/file.go `GetFileCommitResponse`:
/// `created` never set), and `verification` (services/repository/files/commit.go).
fn response(p: &Pending, api_url: &str, commit: &str, base: &str, paths: &[String]) -> Value {
    let field = |f: &str| {
        run(
            &p.bare,
            &["show", "-s", &format!("--format={f}"), commit],
            &[],
            b"",
        )
        .unwrap_or_default()
    };
    let zero = "0001-01-01T00:00:00Z";
    let url = |kind: &str, sha: &str| format!("{api_url}/repos/{}/git/{kind}/{sha}", p.full);
    let files: Vec<Value> = paths
        .iter()
        .map(|path| {
            let sha = entry(&p.bare, commit, path)
                .map(|e| e.sha)
                .unwrap_or_default();
            json!({"name": path.rsplit('/').next(), "path": path, "sha": sha, "type": "file",
                   "last_commit_sha": commit})
        })
        .collect();
    let person =
        |n: &str, e: &str, d: &str| json!({"name": field(n), "email": field(e), "date": field(d)});
    json!({
        "files": files,
        "commit": {
            "url": url("commits", commit), "sha": commit, "created": zero,
            "html_url": format!("{APP_URL}/{}/commit/{commit}", p.full),
            "author": person("%an", "%ae", "%aI"), "committer": person("%cn", "%ce", "%cI"),
            "parents": [{"url": url("commits", base), "sha": base, "created": zero}],
            "message": format!("{}\n", field("%B").trim_end()),
            "tree": {"url": url("trees", &field("%T")), "sha": field("%T"), "created": zero},
        },
        "verification": verification(p.signs),
    })
}

/// `GetPayloadCommitVerification`: unsigned as the 1.26.3 integration test expects; a
/// signing server (`Options::signs`, `[repository.signing] CRUD_ACTIONS = always` with an
/// instance key) as services/asymkey verifies its own key: `<signer> / <KEYID>`. The commit
/// is not really signed here; only the answer says it is.
fn verification(signs: bool) -> Value {
    if signs {
        json!({"verified": true, "reason": "Gitea / 5A1B2C3D4E5F6A7B",
               "signature": "-----BEGIN PGP SIGNATURE-----\n(emulated)\n-----END PGP SIGNATURE-----\n",
               "signer": {"name": "Gitea", "email": "gitea@gitea.example.test", "username": ""},
               "payload": ""})
    } else {
        json!({"verified": false, "reason": "gpg.error.not_signed_commit", "signature": "",
               "signer": null, "payload": ""})
    }
}

/// A path from the URL, its segments percent-decoded (`+` is a plus in a path).
pub(super) fn path_of(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect::<Vec<_>>()
        .join("/")
}
