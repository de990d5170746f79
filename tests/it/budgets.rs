//! Budgets for hostile input (issue 16): a document whose aliases expand it far beyond its
//! text is refused at once, and ordinary anchor reuse is not. Time bounds here are generous
//! guards against a hang, not measurements.

use std::time::{Duration, Instant};

use crate::common::{bin, run_with_stdin};

/// The billion-laughs shape: `levels` levels of ten aliases of the level below.
fn bomb(levels: usize) -> String {
    let mut s = String::from("a0: &a0 \"lol\"\n");
    for i in 1..=levels {
        let items = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    s.push_str("version: 1\n");
    s
}

#[test]
fn an_alias_bomb_is_refused_at_once_naming_the_alias() {
    for levels in [9, 12] {
        let input = bomb(levels);
        let started = Instant::now();
        let r = run_with_stdin(bin().args(["eval", ".version = 2"]), Some(input.as_bytes()));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{levels} levels took {:?}",
            started.elapsed()
        );
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("line 4: the alias *a2 expands the document")
                && r.stderr.contains("alias bomb"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn ordinary_anchor_reuse_loads_and_edits() {
    // A 40-key block merged into 60 services, and three levels of modest nesting: far more
    // reuse than Helm values have, and still well inside the budget.
    let mut input = String::from("base: &base\n");
    for k in 0..40 {
        input.push_str(&format!("  k{k}: v{k}\n"));
    }
    for s in 0..60 {
        input.push_str(&format!("svc{s}:\n  <<: *base\n  name: s{s}\n"));
    }
    input.push_str("l1: &l1 [x, y, z]\nl2: &l2 [*l1, *l1, *l1]\nl3: [*l2, *l2, *l2]\nversion: 1\n");
    let r = run_with_stdin(bin().args(["eval", ".version = 2"]), Some(input.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, input.replace("version: 1", "version: 2"));
}

#[test]
fn runaway_expressions_end_at_their_budget_in_eval() {
    for (flags, expr, says) in [
        (
            ["--max-eval-time", "1s"],
            "def f: f; .a = f",
            "ran past its 1 s budget",
        ),
        (
            ["--max-eval-time", "1s"],
            ".a = last(repeat(1))",
            "ran past its 1 s budget",
        ),
        (
            ["--max-eval-memory", "64MiB"],
            ".a = ([range(1e8)] | length)",
            "more than its 64 MiB memory budget",
        ),
    ] {
        let started = Instant::now();
        let r = run_with_stdin(bin().arg("eval").args(flags).arg(expr), Some(b"a: 1\n"));
        assert!(started.elapsed() < Duration::from_secs(30), "{expr}");
        assert_eq!(r.code, 2, "{expr}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{expr}");
        assert_eq!(r.stderr.lines().count(), 1, "{expr}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{expr}: {}", r.stderr);
    }
}

#[test]
fn a_runaway_expression_in_run_leaves_the_remote_and_writes_the_failure_line() {
    use crate::common::git::{Remote, TOKEN};
    let remote = Remote::new(&[("values.yaml", "image:\n  tag: \"1.0.0\"\n")]);
    let tip = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let r = crate::common::run(
        bin()
            .current_dir(cwd.path())
            .env("INPUT_FILE", "values.yaml")
            .env("YQ_TPL", "def f: f; .image.tag = f")
            .env("VERSION", "1.2.3")
            .env("GITOPS_REPO", remote.file_url())
            .env("GITEA_TOKEN", TOKEN)
            .env("GITHUB_OUTPUT", &out)
            .args(["run", "--max-eval-time", "1s"]),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .last()
            .unwrap_or("")
            .contains("ran past its 1 s budget"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.tip("main"), tip);
    let outputs = std::fs::read_to_string(&out).unwrap();
    assert!(
        outputs.contains("summary=") && outputs.contains("|failure|"),
        "{outputs}"
    );
}

#[test]
fn an_output_far_larger_than_its_file_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.yaml");
    // 100 MB into a 5-byte file: refused before the text is even rendered.
    std::fs::write(&file, "a: 1\n").unwrap();
    let started = Instant::now();
    let r = crate::common::run(
        bin()
            .args(["eval", "-i", ".a = (\"x\" * 100000000)"])
            .arg(&file),
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the result would be at least 95.4 MiB, past its 1.0 MiB output budget")
            && r.stderr.contains("raise it with --max-output-size"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a: 1\n");
    // A query that prints as much is refused the same way.
    let r = crate::common::run(bin().args(["eval", "\"x\" * 100000000"]).arg(&file));
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{}", r.stderr);

    // Just past the 1 MiB floor: refused; raised with the flag (or its variable): written.
    let grow = ".a = (\"x\" * 1100000)";
    let r = crate::common::run(bin().args(["eval", "-i", grow]).arg(&file));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("past its 1.0 MiB output budget"),
        "{}",
        r.stderr
    );
    let r = crate::common::run(
        bin()
            .env("GITOPS_MAX_OUTPUT_SIZE", "2MiB")
            .args(["eval", "-i", grow])
            .arg(&file),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 1_100_004);
    // Ten times the input is the rule above the floor: 1.1 MB may grow to 11 MB, not more.
    let r = crate::common::run(
        bin()
            .args(["eval", "-i", ".b = (\"y\" * 12000000)"])
            .arg(&file),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("past its 10.5 MiB output budget (ten times the input's 1.0 MiB"),
        "{}",
        r.stderr
    );
    // An ordinary growth, a block added to a small file, is well inside.
    std::fs::write(&file, "a: 1\n").unwrap();
    let r = crate::common::run(
        bin()
            .args([
                "eval",
                "-i",
                ".hosts = [range(2000) | \"host-\\(.).example.com\"]",
            ])
            .arg(&file),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for bad in ["0", "lots", "1TB"] {
        let r = crate::common::run(
            bin()
                .args(["eval", ".a", "--max-output-size", bad])
                .arg(&file),
        );
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(
            r.stderr.contains("invalid --max-output-size"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn an_oversized_result_in_run_leaves_the_remote_and_writes_the_failure_line() {
    use crate::common::git::{Remote, TOKEN};
    let remote = Remote::new(&[("values.yaml", "image:\n  tag: \"1.0.0\"\n")]);
    let tip = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let r = crate::common::run(
        bin()
            .current_dir(cwd.path())
            .env("INPUT_FILE", "values.yaml")
            .env("YQ_TPL", ".image.tag = (\"x\" * 100000000)")
            .env("VERSION", "1.2.3")
            .env("GITOPS_REPO", remote.file_url())
            .env("GITEA_TOKEN", TOKEN)
            .env("GITHUB_OUTPUT", &out)
            .arg("run"),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("output budget"), "{}", r.stderr);
    assert_eq!(remote.tip("main"), tip);
    let outputs = std::fs::read_to_string(&out).unwrap();
    assert!(outputs.contains("|failure|"), "{outputs}");
}
