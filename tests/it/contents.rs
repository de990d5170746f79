//! The emulator's contents API (`common/gitea/contents.rs`), driven with raw HTTP as the
//! client (`forge::Gitea::contents`, `change_files`, private to the crate) will call it:
//! what Gitea answers, and what each answer leaves in the real bare repository.

use base64ct::{Base64, Encoding};
use serde_json::{json, Value};

use crate::common::git::{git_out, Remote, TOKEN};
use crate::common::gitea::{Gitea, Options, Protection, PUSHER};

const REPO: &str = "org/gitops";

struct World {
    remote: Remote,
    gitea: Gitea,
}

fn world(opts: Options) -> World {
    let remote = Remote::new(&[
        ("dev/a.yaml", "a: 1\n"),
        ("dev/b.yaml", "b: 1\n"),
        ("dev/with space+plus.yaml", "c: 1\n"),
    ]);
    let gitea = Gitea::start(opts, &[(REPO, &remote)]);
    World { remote, gitea }
}

impl World {
    /// One API request with the user's token: status and JSON body.
    fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/repos/{REPO}/{path}", self.gitea.api_url());
        let req = ureq::request(method, &url).set("Authorization", &format!("token {TOKEN}"));
        let answer = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let (code, r) = match answer {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(code, r)) => (code, r),
            Err(e) => panic!("{method} {url}: {e}"),
        };
        let text = r.into_string().unwrap();
        (code, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The blob id git has for `path` on main.
    fn blob(&self, path: &str) -> String {
        git_out(&self.remote.bare(), &["rev-parse", &format!("main:{path}")])
            .trim()
            .to_string()
    }

    fn change(&self, files: Value, message: &str) -> (u16, Value) {
        let body = json!({
            "files": files, "branch": "main", "message": message,
            "author": {"name": "Alice Author", "email": "alice@example.com"},
            "committer": {"name": "Deploy Bot", "email": "bot@example.com"},
        });
        self.api("POST", "contents", Some(body))
    }
}

fn update(path: &str, content: &str, sha: &str) -> Value {
    json!({"operation": "update", "path": path, "content": Base64::encode_string(content.as_bytes()), "sha": sha})
}

#[test]
fn contents_answer_the_blob_sha_and_its_bytes() {
    let w = world(Options::default());
    let (code, v) = w.api(
        "GET",
        "contents/dev/with%20space%2Bplus.yaml?ref=main",
        None,
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["sha"],
        w.blob("dev/with space+plus.yaml"),
        "the blob id, not a commit id"
    );
    assert_eq!(v["sha"].as_str().unwrap().len(), 40);
    assert_ne!(v["sha"], w.remote.tip("main"));
    assert_eq!(
        (v["type"].as_str(), v["encoding"].as_str()),
        (Some("file"), Some("base64"))
    );
    let bytes = Base64::decode_vec(v["content"].as_str().unwrap()).unwrap();
    assert_eq!(bytes, b"c: 1\n");
    assert_eq!(v["last_commit_sha"], w.remote.tip("main"));
    // A directory is a list, its entries without content.
    let (code, dir) = w.api("GET", "contents/dev", None);
    assert_eq!(code, 200);
    let list = dir.as_array().expect("a list");
    assert_eq!(list.len(), 3);
    assert!(list
        .iter()
        .all(|e| e["content"].is_null() && e["type"] == "file"));
}

#[test]
fn a_missing_path_or_ref_is_404_as_each_release_words_it() {
    let w = world(Options::default());
    let (code, v) = w.api("GET", "contents/dev/nope.yaml?ref=main", None);
    assert_eq!(code, 404);
    assert_eq!(v["message"], "GetContentsOrList");
    assert_eq!(
        v["errors"][0],
        "object does not exist [id: , rel_path: dev/nope.yaml]"
    );
    let (code, v) = w.api("GET", "contents/dev/a.yaml?ref=nobranch", None);
    assert_eq!((code, v["message"].as_str()), (404, Some("not found")));
    // 1.24+ take only full commit ids; 1.22/1.23 any revision.
    let short = &w.remote.tip("main")[..10];
    let (code, _) = w.api("GET", &format!("contents/dev/a.yaml?ref={short}"), None);
    assert_eq!(code, 404);
    let old = world(Options {
        version: "1.23.8",
        ..Options::default()
    });
    let short = &old.remote.tip("main")[..10];
    let (code, _) = old.api("GET", &format!("contents/dev/a.yaml?ref={short}"), None);
    assert_eq!(code, 200);
}

#[test]
fn a_blob_over_the_size_limit_has_its_content_left_out() {
    for (version, content) in [("1.23.8", json!("")), ("1.24.7", Value::Null)] {
        let w = world(Options {
            version,
            max_blob_size: 4,
            ..Options::default()
        });
        let (code, v) = w.api("GET", "contents/dev/a.yaml", None);
        assert_eq!(code, 200);
        assert_eq!(
            (&v["content"], &v["size"]),
            (&content, &json!(5)),
            "{version}: {v}"
        );
    }
}

#[test]
fn a_change_is_a_real_commit_with_the_message_author_and_committer_given() {
    let w = world(Options::default());
    let before = w.remote.tip("main");
    let (code, v) = w.change(
        json!([update("dev/a.yaml", "a: 2\n", &w.blob("dev/a.yaml"))]),
        "  Bump a to 2\n\nWhy: test\n\n",
    );
    assert_eq!(code, 201, "{v}");
    let tip = w.remote.tip("main");
    assert_eq!(v["commit"]["sha"], tip);
    assert_eq!(v["commit"]["parents"][0]["sha"], before);
    assert_eq!(v["commit"]["created"], "0001-01-01T00:00:00Z");
    assert_eq!(v["commit"]["message"], "Bump a to 2\n\nWhy: test\n");
    assert_eq!(v["files"][0]["sha"], w.blob("dev/a.yaml"));
    assert_eq!(
        v["verification"],
        json!({"verified": false, "reason": "gpg.error.not_signed_commit", "signature": "", "signer": null, "payload": ""})
    );
    assert_eq!(w.remote.show("main", "dev/a.yaml"), "a: 2\n");
    assert_eq!(w.remote.show("main", "dev/b.yaml"), "b: 1\n");
    let who = git_out(
        &w.remote.bare(),
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", "main"],
    );
    assert_eq!(who, "Alice Author <alice@example.com>|Deploy Bot <bot@example.com>|Bump a to 2\n\nWhy: test\n\n");
    w.remote.fsck();
}

#[test]
fn a_stale_sha_is_422_and_the_branch_is_unchanged() {
    let w = world(Options::default());
    let stale = w.blob("dev/a.yaml");
    w.remote
        .commit_elsewhere("dev/a.yaml", "a: 9\n", "another writer");
    let tip = w.remote.tip("main");
    let (code, v) = w.change(json!([update("dev/a.yaml", "a: 2\n", &stale)]), "Bump a");
    assert_eq!(code, 422);
    let expected = format!(
        "sha does not match [given: {stale}, expected: {}]",
        w.blob("dev/a.yaml")
    );
    assert_eq!(v["message"], expected);
    assert_eq!(w.remote.tip("main"), tip);
    assert_eq!(w.remote.show("main", "dev/a.yaml"), "a: 9\n");
    // One stale file refuses the whole change.
    let files = json!([
        update("dev/b.yaml", "b: 2\n", &w.blob("dev/b.yaml")),
        update("dev/a.yaml", "a: 2\n", &stale)
    ]);
    assert_eq!(w.change(files, "both").0, 422);
    assert_eq!(
        (w.remote.tip("main"), w.remote.show("main", "dev/b.yaml")),
        (tip, "b: 1\n".into())
    );
}

#[test]
fn two_updates_of_different_files_both_land_on_a_moved_branch() {
    let w = world(Options::default());
    let (a, b) = (w.blob("dev/a.yaml"), w.blob("dev/b.yaml"));
    assert_eq!(
        w.change(json!([update("dev/a.yaml", "a: 2\n", &a)]), "a").0,
        201
    );
    let moved = w.remote.tip("main");
    // b's sha was read before the branch moved; b did not change, so Gitea commits on the
    // new tip (there is no last-commit precondition in the API).
    let (code, v) = w.change(json!([update("dev/b.yaml", "b: 2\n", &b)]), "b");
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["commit"]["parents"][0]["sha"], moved);
    assert_eq!(w.remote.show("main", "dev/a.yaml"), "a: 2\n");
    assert_eq!(w.remote.show("main", "dev/b.yaml"), "b: 2\n");
    assert_eq!(w.remote.log("main").len(), 3);
}

#[test]
fn a_racing_push_makes_the_change_500_and_keeps_the_racer() {
    let w = world(Options::default());
    let bare = w.remote.bare();
    let a = w.blob("dev/a.yaml");
    // The racer lands between the change's checks and its push: both saw the same tip.
    let racer = Remote {
        dir: tempfile::tempdir().unwrap(),
    };
    let racer_dir = racer.dir.path().to_path_buf();
    w.gitea.race_next_change(move || {
        let work = racer_dir.join("w");
        git_out(
            &racer_dir,
            &[
                "clone",
                "-q",
                bare.to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        std::fs::write(work.join("dev/b.yaml"), "b: racer\n").unwrap();
        git_out(&work, &["commit", "-q", "-am", "racer"]);
        git_out(&work, &["push", "-q", "origin", "HEAD:main"]);
    });
    let (code, v) = w.change(json!([update("dev/a.yaml", "a: 2\n", &a)]), "loser");
    assert_eq!((code, v["message"].as_str()), (500, Some("")), "never 409");
    assert_eq!(w.remote.message("main").trim(), "racer");
    assert_eq!(w.remote.show("main", "dev/a.yaml"), "a: 1\n");
    // Re-read and re-applied, the change lands on the racer's commit.
    let (code, _) = w.change(
        json!([update("dev/a.yaml", "a: 2\n", &w.blob("dev/a.yaml"))]),
        "retry",
    );
    assert_eq!(code, 201);
    assert_eq!(w.remote.show("main", "dev/b.yaml"), "b: racer\n");
}

#[test]
fn a_protected_branch_refuses_who_cannot_push() {
    let rule = |w: Option<Vec<&'static str>>| Options {
        protected: vec![Protection {
            branch: "main",
            push_whitelist: w,
        }],
        ..Options::default()
    };
    let w = world(rule(Some(vec!["someone-else"])));
    let tip = w.remote.tip("main");
    let (code, v) = w.change(
        json!([update("dev/a.yaml", "a: 2\n", &w.blob("dev/a.yaml"))]),
        "a",
    );
    assert_eq!(code, 403);
    assert_eq!(
        v["message"],
        format!("user cannot commit to repo [user: {PUSHER}]")
    );
    assert_eq!(w.remote.tip("main"), tip);
    // Whitelisted, or no whitelist: code write is enough.
    for list in [Some(vec![PUSHER]), None] {
        let w = world(rule(list));
        let (code, _) = w.change(
            json!([update("dev/a.yaml", "a: 2\n", &w.blob("dev/a.yaml"))]),
            "a",
        );
        assert_eq!(code, 201);
    }
}

#[test]
fn a_signing_server_answers_verified() {
    let w = world(Options {
        signs: true,
        ..Options::default()
    });
    let (code, v) = w.change(
        json!([update("dev/a.yaml", "a: 2\n", &w.blob("dev/a.yaml"))]),
        "a",
    );
    assert_eq!(code, 201);
    assert_eq!(v["verification"]["verified"], true);
    assert_eq!(v["verification"]["signer"]["name"], "Gitea");
    assert!(v["verification"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("Gitea / "));
}

#[test]
fn bad_requests_are_refused_before_anything_is_written() {
    let w = world(Options::default());
    let tip = w.remote.tip("main");
    let (code, v) = w.api("POST", "contents", Some(json!({"branch": "main"})));
    assert_eq!(
        (code, v["message"].as_str()),
        (422, Some("[Files]: Required"))
    );
    let body = json!({"files": [update("dev/a.yaml", "a", "")], "branch": "nope"});
    let (code, v) = w.api("POST", "contents", Some(body));
    assert_eq!(
        (code, v["message"].as_str()),
        (404, Some("branch does not exist [repo_id: 1 name: nope]"))
    );
    // 1.25+: a missing file is 404.
    let (code, _) = w.change(json!([update("dev/gone.yaml", "x", "")]), "x");
    assert_eq!(code, 404);
    assert_eq!(w.remote.tip("main"), tip);
}
