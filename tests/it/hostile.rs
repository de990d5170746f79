//! Hostile input, round two (issue 26): the file, the expression and the source fields come
//! from whoever can commit or dispatch; each test here failed on the binary before it.

use crate::common::git::Remote;
use crate::common::{bin, run};

/// A value that YAML 1.2 reads as one string and a YAML 1.1 reader (go-yaml: Helm, Argo CD,
/// kustomize, Flux) would read as three lines, i.e. two new top-level keys, when written
/// raw into a block scalar: it is written escaped, so both read the one string.
#[test]
fn a_line_separator_never_reaches_a_block_scalar_raw() {
    let policy = "files:\n  values.yaml: [.image.tag, .config]\n";
    let values = "image:\n  tag: \"1.0.0\"\nconfig: |\n  log_level = info\n";
    let remote = Remote::new(&[(".gitops-update.yaml", policy), ("values.yaml", values)]);
    let cwd = tempfile::tempdir().unwrap();
    let r = run(bin().current_dir(cwd.path()).args([
        "run",
        "--repo",
        &remote.file_url(),
        "--version",
        "2.0.0",
        "--set",
        "values.yaml=.config = \"log_level = debug\\u2028hostNetwork: true\\u2029hostPID: true\\u0085x\"",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = remote.show("main", "values.yaml");
    assert_eq!(
        file,
        "image:\n  tag: \"1.0.0\"\nconfig: \"log_level = debug\\u2028hostNetwork: true\\u2029hostPID: true\\x85x\"\n"
    );
    assert!(
        !file.contains(['\u{85}', '\u{2028}', '\u{2029}']),
        "{file:?}"
    );
}

/// A GitOps server that redirects git to another address (another port of the same host,
/// which libgit2 itself would follow): neither the token nor the extraheader that
/// actions/checkout persisted reaches it, and the error names where it was sent.
#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    use crate::common::git::{git_out, Faults, TOKEN};
    use crate::common::run::{http_remote, workflow};
    let (remote, elsewhere, _root) = http_remote();
    let (_other, server, _root2) = http_remote();
    let before = remote.tip("main");
    server.inject(Faults {
        redirect_to: Some(format!("http://127.0.0.1:{}", elsewhere.port)),
        ..Faults::default()
    });
    let url = server.url("acme/deploy.git");
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &url).env("GITEA_TOKEN", TOKEN));
    assert_eq!(r.code, 3, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains(&format!(
            "the server redirected to 127.0.0.1:{}, not the repository's 127.0.0.1:{}",
            elsewhere.port, server.port
        )),
        "{last}"
    );
    // A checkout whose persisted extraheader would be sent with every request.
    let work = cwd.path().join("deploy");
    git_out(
        cwd.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    git_out(&work, &["remote", "add", "origin", &url]);
    let header = format!("http.{url}.extraheader");
    git_out(
        &work,
        &[
            "config",
            &header,
            "AUTHORIZATION: basic Ym90OnQwazNuLXMzY3IzdC12YWx1ZQ==",
        ],
    );
    let r = run(bin().current_dir(&work).args([
        "--file",
        "charts/app/values.yaml",
        "--expression",
        ".image.tag = \"{{VERSION}}\"",
        "--version",
        "2.0.0",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        elsewhere.requests().is_empty(),
        "the other address was reached: {:?}",
        elsewhere.requests()
    );
    assert_eq!(remote.tip("main"), before);
}

/// A YAML error on a very long line quotes a bounded excerpt around the spot, not the line
/// (a 20 MB line was 42 MB of stderr; issue 26, item 10).
#[test]
fn a_yaml_error_on_a_long_line_quotes_an_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    let line = format!("a: [{}, \"x\" y]\n", "1, ".repeat(500_000));
    std::fs::write(&file, line).unwrap();
    let r = run(bin().args(["eval", "."]).arg(&file));
    assert_eq!(r.code, 2, "{}", &r.stderr[..r.stderr.len().min(500)]);
    assert!(r.stderr.len() < 1000, "{} bytes of stderr", r.stderr.len());
    assert!(r.stderr.contains("invalid YAML in"), "{}", r.stderr);
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// A cancelled job (SIGTERM) and a budget crossed both end the process early: the
/// temporary repository goes with it, and while it lives only its owner can read it
/// (issue 26, item 9).
#[test]
fn temporary_repositories_are_private_and_go_on_every_way_out() {
    use std::os::unix::fs::PermissionsExt;
    // A server that takes the connection and never answers: the run waits in its fetch.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(std::time::Duration::from_secs(60));
        drop(held);
    });
    let tmp = tempfile::tempdir().unwrap();
    let child = bin()
        .env("TMPDIR", tmp.path())
        .args([
            "run",
            "--repo",
            &format!("http://127.0.0.1:{port}/acme/deploy.git"),
        ])
        .args([
            "--file",
            "values.yaml",
            "--expression",
            ".a = \"{{VERSION}}\"",
        ])
        .args(["--version", "1.2.3", "--timeout", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Waits for the repository to exist (a condition, bounded), not for a time.
    let mut found = Vec::new();
    for _ in 0..500 {
        found = entries(tmp.path());
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(found.len(), 1, "{found:?}");
    let mode = std::fs::metadata(&found[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{mode:o}");
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        entries(tmp.path()).is_empty(),
        "left behind: {:?}",
        entries(tmp.path())
    );

    // A budget crossed in the middle of the edit.
    let remote = Remote::new(&[("values.yaml", "a: 1\n")]);
    let r = run(bin()
        .env("TMPDIR", tmp.path())
        .args(["run", "--repo", &remote.file_url(), "--version", "1.2.3"])
        .args([
            "--set",
            "values.yaml=def f: f; .a = f",
            "--max-eval-time",
            "1s",
        ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("budget"), "{}", r.stderr);
    assert!(
        entries(tmp.path()).is_empty(),
        "left behind: {:?}",
        entries(tmp.path())
    );
}

/// Depth is a budget: a file and an expression nest at most 1000 levels, checked before
/// anything recurses, and a recursion jq itself makes ends as a crossed budget does, never
/// as a stack overflow (exit 134) (issue 26, item 3).
#[test]
fn nothing_deep_overflows_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let at_limit = file("1000.yaml", format!("{}x\n", "- ".repeat(1000)));
    let past = file("1001.yaml", format!("{}x\n", "- ".repeat(1001)));
    let far = file("deep.yaml", format!("{}x\n", "- ".repeat(10_000)));
    let flat = file("flat.yaml", "a: 1\n".to_string());
    let r = run(bin().args(["eval", "."]).arg(&at_limit));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for p in [&past, &far] {
        let r = run(bin().args(["eval", "."]).arg(p));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("collections nest deeper than 1000 levels"),
            "{}",
            r.stderr
        );
    }
    let nested = |n: usize| format!(".a = {}1{}", "(".repeat(n), ")".repeat(n));
    let r = run(bin().args(["eval", &nested(999)]).arg(&flat));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for n in [1001, 4000] {
        let r = run(bin().args(["eval", &nested(n)]).arg(&flat));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("the expression nests deeper than 1000 levels"),
            "{}",
            r.stderr
        );
    }
    for expr in [
        "def f: 1 + f; .a = f",
        ".a = (\"[\" * 100000 | fromjson)",
        ".a = (null | setpath([range(200000) | 0]; 1))",
    ] {
        let r = run(bin().args(["eval", expr]).arg(&flat));
        assert_eq!(r.code, 2, "{expr}: {}", r.stderr);
        assert!(!r.stderr.contains("overflowed"), "{expr}: {}", r.stderr);
        assert_eq!(
            r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{expr}: {}",
            r.stderr
        );
    }
}

/// In `run`, an overflow ends the run as a failure the pipeline sees: its outputs written,
/// its temporary repository gone.
#[test]
fn a_run_whose_expression_recurses_forever_reports_and_cleans_up() {
    let remote = Remote::new(&[("values.yaml", "a: 1\n")]);
    let before = remote.tip("main");
    let tmp = tempfile::tempdir().unwrap();
    let outputs = tmp.path().join("out");
    let r = run(bin()
        .env("TMPDIR", tmp.path())
        .env("GITHUB_OUTPUT", &outputs)
        .args(["run", "--repo", &remote.file_url(), "--version", "1.2.3"])
        .args(["--set", "values.yaml=def f: 1 + f; .a = f"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("nests deeper than the 256 MiB stack allows"),
        "{}",
        r.stderr
    );
    let out = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        out.contains("summary=values|1.2.3|failure||") || out.contains("|1.2.3|failure||"),
        "{out}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "out")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(remote.tip("main"), before);
}

/// A password pasted into a URL with an unencoded `/`, `?` or `#`, or in the scp-like form,
/// and inputs with escape sequences: none of it reaches stderr, stdout, the step outputs or
/// the step summary, whether the run fails at the network or is refused before it begins
/// (issue 26, item 8).
#[test]
fn no_credential_or_escape_reaches_any_output() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let cwd = tempfile::tempdir().unwrap();
    let (outputs, summary) = (cwd.path().join("out"), cwd.path().join("summary.md"));
    for repo in [
        format!("http://bot:S3/cr3t@127.0.0.1:{port}/o/r.git"),
        format!("http://bot:S3#cr3t@127.0.0.1:{port}/o/r.git"),
        format!("http://bot:S3?cr3t@127.0.0.1:{port}/o/r.git"),
        "bot:S3/cr3t@127.0.0.1:o/r.git".to_string(),
        "o/r\u{1b}]0;title\u{7}".to_string(),
    ] {
        let r = run(bin()
            .current_dir(cwd.path())
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("VERSION", "2.0.0")
            .args(["run", "--repo", &repo, "--output", "json", "--timeout", "2"])
            .args([
                "--file",
                "values.yaml",
                "--expression",
                ".a = \"{{VERSION}}\"",
            ]));
        assert_ne!(r.code, 0, "{repo}");
        let files = [
            std::fs::read_to_string(&outputs).unwrap_or_default(),
            std::fs::read_to_string(&summary).unwrap_or_default(),
        ];
        for text in [&r.stdout, &r.stderr, &files[0], &files[1]] {
            assert!(
                !text.contains("cr3t"),
                "{repo:?}: a credential leaked: {text}"
            );
            assert!(
                !text.contains(['\u{1b}', '\u{7}']),
                "{repo:?}: a raw escape: {text:?}"
            );
        }
    }
}

/// The evaluation budgets count across all documents of a file (and all files of a run's
/// attempt): 40 MB kept per document is within a 64 MiB budget once, not three times
/// (issue 26, item 2).
#[test]
fn budgets_are_per_invocation_not_per_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("three.yaml");
    std::fs::write(&file, "a: 1\n---\na: 2\n---\na: 3\n").unwrap();
    let eval = |expr: &str| {
        run(bin()
            .args([
                "eval",
                "--max-eval-memory",
                "64MiB",
                "--max-output-size",
                "1GiB",
                expr,
            ])
            .arg(&file))
    };
    // What each document frees again is no use of the budget.
    let r = eval(".a = (\"x\" * 40000000) | .a |= length");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = eval(".a = (\"x\" * 40000000)");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("more than its 64 MiB memory budget"),
        "{}",
        r.stderr
    );
    // The output budget is checked as each document's result is made: the first one
    // already crosses the default (1 MiB for a small file).
    let r = run(bin().args(["eval", ".a = (\"x\" * 40000000)"]).arg(&file));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("past its 1.0 MiB output budget"),
        "{}",
        r.stderr
    );
    // In a run, with its failure outputs and nothing pushed.
    let remote = Remote::new(&[("three.yaml", "a: 1\n---\na: 2\n---\na: 3\n")]);
    let before = remote.tip("main");
    let r = run(bin()
        .env("GITHUB_OUTPUT", dir.path().join("out"))
        .args(["run", "--repo", &remote.file_url(), "--version", "1.2.3"])
        .args(["--max-eval-memory", "64MiB", "--max-output-size", "1GiB"])
        .args([
            "--set",
            "three.yaml=.a = (\"x\" * 40000000) | .v = \"{{VERSION}}\"",
        ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("memory budget"), "{}", r.stderr);
    assert_eq!(remote.tip("main"), before);
    let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
    assert!(out.contains("|1.2.3|failure||"), "{out}");
}
