//! The bad-input matrix: every row is a wrong input to the update run. Each must exit with
//! its documented code, end with one `error:` line that says what to do, never panic, leave
//! the remote's branch and file untouched, and show the token nowhere.

use std::fs;
use std::process::Command;

use crate::common::git::{git_out, HttpServer, Remote, TOKEN};
use crate::common::{bin, run};

const VALUES: &str = "image:\n  tag: \"1.0.0\"  # keep\n";

struct Row {
    name: &'static str,
    /// Arguments after `run`.
    args: Vec<String>,
    /// Environment on top of the valid base; `None` removes the variable.
    env: Vec<(&'static str, Option<String>)>,
    code: i32,
    message: &'static str,
}

fn row(name: &'static str, code: i32, message: &'static str) -> Row {
    Row {
        name,
        args: Vec::new(),
        env: Vec::new(),
        code,
        message,
    }
}

impl Row {
    fn arg(mut self, a: &str) -> Row {
        self.args.push(a.to_string());
        self
    }
    fn env(mut self, k: &'static str, v: &str) -> Row {
        self.env.push((k, Some(v.to_string())));
        self
    }
    fn unset(mut self, k: &'static str) -> Row {
        self.env.push((k, None));
        self
    }
}

#[test]
fn every_bad_input_fails_cleanly_and_changes_nothing() {
    let remote = Remote::new(&[
        ("values.yaml", VALUES),
        ("charts/app/values.yaml", VALUES),
        ("bad/syntax.yaml", "a: [1, 2\n"),
        ("bad/tabs.yaml", "a:\n\tb: 1\n"),
        ("bad/dupes.yaml", "a: 1\na: 2\n"),
        ("bad/latin1.yaml", "a: caf\u{e9}\n"),
    ]);
    // A symlink and a non-UTF-8 file, made with the CLI so they are exactly that in git.
    let work = remote.dir.path().join("more");
    git_out(
        remote.dir.path(),
        &[
            "clone",
            "-q",
            remote.bare().to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    std::os::unix::fs::symlink("/etc/passwd", work.join("link.yaml")).unwrap();
    fs::write(work.join("bad/latin1.yaml"), b"a: caf\xe9\n").unwrap();
    let big: String = "k: v\n".repeat(33 << 18);
    fs::write(work.join("bad/big.yaml"), big).unwrap();
    git_out(&work, &["add", "-A"]);
    git_out(&work, &["commit", "-qm", "fixtures"]);
    git_out(&work, &["push", "-q", "origin", "main"]);
    let empty = tempfile::tempdir().unwrap();
    git_out(
        empty.path(),
        &["init", "-q", "--bare", "-b", "main", "e.git"],
    );
    let empty_url = format!("file://{}/e.git", empty.path().display());

    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("acme")).unwrap();
    std::os::unix::fs::symlink(remote.bare(), root.path().join("acme/deploy.git")).unwrap();
    let server = HttpServer::start(root.path());
    let http = server.url("acme/deploy.git");
    let closed = format!(
        "http://127.0.0.1:{}/x.git",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );

    let tpl = |e: &str| e.to_string();
    let rows = vec![
        // flags and environment: missing, empty, conflicting
        row("no version", 2, "no version: set VERSION").unset("VERSION"),
        row("empty version", 2, "no version: set VERSION").env("VERSION", ""),
        row("no repository", 2, "no repository: set GITOPS_REPO").unset("GITOPS_REPO"),
        row(
            "file without expression",
            2,
            "a file to edit (INPUT_FILE or --file) but no expression",
        )
        .unset("YQ_TPL"),
        row(
            "expression without file",
            2,
            "an expression (YQ_TPL or --expression) but no file to edit",
        )
        .unset("INPUT_FILE"),
        row("nothing to edit", 2, "nothing to edit")
            .unset("INPUT_FILE")
            .unset("YQ_TPL"),
        row("--set without =", 2, "expected FILE=EXPR")
            .arg("--set")
            .arg("values.yaml"),
        row(
            "--set with an empty expression",
            2,
            "the expression is empty",
        )
        .arg("--set")
        .arg("values.yaml= "),
        row(
            "zero attempts",
            2,
            "--max-attempts must be between 1 and 100",
        )
        .arg("--max-attempts")
        .arg("0"),
        row("zero timeout", 2, "invalid --timeout")
            .arg("--timeout")
            .arg("0s"),
        row("timeout in hours", 2, "invalid --timeout")
            .arg("--timeout")
            .arg("2h"),
        row("slug without server", 2, "no server is known").env("GITOPS_REPO", "acme/deploy"),
        row("ssh URL", 2, "SSH repository addresses are not supported")
            .env("GITOPS_REPO", "git@host:acme/deploy.git"),
        row("ftp URL", 2, "unsupported repository URL scheme")
            .env("GITOPS_REPO", "ftp://host/x.git"),
        row("bad branch name", 2, "invalid branch name").env("GITOPS_BRANCH", "a..b"),
        row(
            "exposing a credential",
            2,
            "cannot be exposed to expressions",
        )
        .arg("--allow-env")
        .arg("GITEA_TOKEN"),
        row("author with a line break", 2, "must be one line").env("GIT_AUTHOR_NAME", "a\nb"),
        row("author with angle brackets", 2, "cannot contain < or >")
            .env("GIT_AUTHOR_EMAIL", "<a@b>"),
        // versions
        row("version with a quote", 2, "invalid version").env("VERSION", "1\" | .x = \"y"),
        row("version with a line break", 2, "invalid version").env("VERSION", "1\n2"),
        row("version with a control character", 2, "invalid version").env("VERSION", "1\u{1}2"),
        row("version with a space", 2, "it contains white space").env("VERSION", "1 2"),
        row("129-character version", 2, "longer than 128").env("VERSION", &"9".repeat(129)),
        row("shell in the version", 2, "invalid version").env("VERSION", "$(id)"),
        // paths
        row("leaving the repository", 2, "may not contain `..`").env("INPUT_FILE", "../x.yaml"),
        row("absolute path", 2, "it is absolute").env("INPUT_FILE", "/etc/passwd"),
        row(".git/config", 2, "it points into .git").env("INPUT_FILE", ".git/config"),
        row("under .git", 2, "it points into .git").env("INPUT_FILE", "charts/.git/hooks/x"),
        row("a directory path", 2, "it names a directory").env("INPUT_FILE", "charts/"),
        row(
            "a directory in the repository",
            2,
            "is a directory in the repository",
        )
        .env("INPUT_FILE", "charts"),
        row("a symlink pointing outside", 2, "is a symbolic link").env("INPUT_FILE", "link.yaml"),
        row("a missing file", 2, "does not exist on branch main").env("INPUT_FILE", "nope.yaml"),
        // YAML
        row(
            "YAML syntax error",
            2,
            "invalid YAML in bad/syntax.yaml at line",
        )
        .env("INPUT_FILE", "bad/syntax.yaml"),
        row("tabs as indentation", 2, "invalid YAML in bad/tabs.yaml")
            .env("INPUT_FILE", "bad/tabs.yaml"),
        row("duplicate keys", 2, "duplicate key `a`")
            .env("INPUT_FILE", "bad/dupes.yaml")
            .env("YQ_TPL", ".b = 1"),
        row("not UTF-8", 2, "not UTF-8 text").env("INPUT_FILE", "bad/latin1.yaml"),
        row("over 32 MiB", 2, "larger than 32 MiB").env("INPUT_FILE", "bad/big.yaml"),
        // the fields dispatch validates, validated alike (issue 26)
        row(
            "a source repo that forges a dispatch record",
            2,
            "SOURCE_REPO \"x (dispatch d-2)\" must be owner/name",
        )
        .env("SOURCE_REPO", "x (dispatch d-2)"),
        row(
            "a source commit that is not a sha",
            2,
            "SOURCE_COMMIT \"main\" must be a full commit sha",
        )
        .env("SOURCE_COMMIT", "main"),
        row(
            "a dispatch id with spaces",
            2,
            "DISPATCH_ID \"a b\" must be letters, digits",
        )
        .env("DISPATCH_ID", "a b"),
        row(
            "a tag prefix with |",
            2,
            "GIT_TAG_PREFIX \"api|success\" contains `|`",
        )
        .env("GIT_TAG_PREFIX", "api|success"),
        row(
            "a component with a bidi override",
            2,
            "has a bidirectional control character",
        )
        .arg("--component")
        .arg("app\u{202e}dlrow"),
        row(
            "a repository with a line break",
            2,
            "GITOPS_REPO (--repo) contains a control or bidirectional character",
        )
        .env("GITOPS_REPO", "/tmp/x.git\nsummary=forged"),
        // expressions
        row("expression syntax error", 2, "expression error at line 1")
            .env("YQ_TPL", &tpl(".image.tag = (")),
        row("several outputs", 2, "yields several values").env("YQ_TPL", ".image.tag, .image"),
        row(
            "a runaway expression",
            2,
            "the expression ran past its 1 s budget",
        )
        .arg("--max-eval-time")
        .arg("1s")
        .env("YQ_TPL", "def f: f; .image.tag = f"),
        row(
            "an expression that eats memory",
            2,
            "more than its 64 MiB memory budget",
        )
        .arg("--max-eval-memory")
        .arg("64MiB")
        .env("YQ_TPL", ".image.tag = ([range(1e8)] | length)"),
        row("a bad time budget", 2, "invalid --max-eval-time")
            .arg("--max-eval-time")
            .arg("soon"),
        row("no output", 2, "yields no value").env("YQ_TPL", "empty"),
        row("yq-only function", 2, "`to_xml` is a yq function").env("YQ_TPL", ".image | to_xml"),
        row("reading the token", 2, "GITEA_TOKEN cannot be read here")
            .env("YQ_TPL", ".image.tag = strenv(GITEA_TOKEN)"),
        row("an unset variable", 2, "the environment variable NOPE")
            .env("YQ_TPL", ".image.tag = strenv(NOPE)"),
        // git
        row("missing branch", 2, "the branch release does not exist")
            .env("GITOPS_BRANCH", "release"),
        row("empty repository", 2, "is the repository empty?").env("GITOPS_REPO", &empty_url),
        row("unreachable server", 3, "cannot connect to").env("GITOPS_REPO", &closed),
        row("wrong token", 3, "check that GITEA_TOKEN is set, valid")
            .env("GITOPS_REPO", &http)
            .env("GITEA_TOKEN", "wr0ng"),
        // API
        row(
            "status required, API unreachable",
            6,
            "the commit status could not be set",
        )
        .env("GITOPS_REPO", &http)
        .env("GITEA_API_URL", &closed)
        .arg("--require-status")
        .env("INPUT_FILE", "charts/app/values.yaml"),
    ];
    assert!(rows.len() >= 40, "{} rows", rows.len());

    let tip = remote.tip("main");
    let mut failures = Vec::new();
    for r in &rows {
        let cwd = tempfile::tempdir().unwrap();
        let mut cmd: Command = bin();
        cmd.current_dir(cwd.path())
            .env("INPUT_FILE", "values.yaml")
            .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
            .env("VERSION", "1.2.3")
            .env("GITOPS_REPO", remote.file_url())
            .env("GITEA_TOKEN", TOKEN)
            .env("GITHUB_OUTPUT", cwd.path().join("out"))
            .arg("run")
            .args(&r.args);
        if !r.args.iter().any(|a| a == "--timeout") {
            cmd.args(["--timeout", "2s"]);
        }
        for (k, v) in &r.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = run(&mut cmd);
        let last = out
            .stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("");
        let problems: Vec<String> = [
            (out.code != r.code).then(|| format!("exit {} instead of {}", out.code, r.code)),
            (!last.contains(r.message))
                .then(|| format!("error line {last:?} lacks {:?}", r.message)),
            (out.stdout.contains(TOKEN) || out.stderr.contains(TOKEN))
                .then(|| "the token leaked".to_string()),
            (r.code != 6 && remote.tip("main") != tip).then(|| "the remote moved".to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                r.name,
                problems.join("; "),
                out.stderr.trim()
            ));
        }
        if r.code == 6 {
            // This row's update itself is valid: it lands, then the status fails. Put it back.
            git_out(&remote.bare(), &["update-ref", "refs/heads/main", &tip]);
        }
    }
    assert_eq!(remote.show("main", "values.yaml"), VALUES);
    assert!(!fs::read_to_string(remote.bare().join("config"))
        .unwrap()
        .contains(TOKEN));
    assert!(
        !remote.all_objects_text().contains(TOKEN),
        "the token is in an object"
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
