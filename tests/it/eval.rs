//! The `eval` command through the real binary, with a scrubbed environment.

use std::fs;

use crate::common::{assert_same_text, bin, run, run_with_stdin, testdata};

const VALUES: &str =
    "# values\nimage:\n  repository: app\n  tag: \"1.2.3\" # bumped by CI\nreplicas: 2\n";

fn values_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("values.yaml");
    fs::write(&path, VALUES).unwrap();
    (dir, path)
}

#[test]
fn prints_the_file_with_only_the_value_changed() {
    let (_d, path) = values_file();
    let r = run(bin()
        .args([
            "eval",
            ".image.tag = \"{{VERSION}}\"",
            "--arg",
            "VERSION",
            "2.0.0",
        ])
        .arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text("stdout", &VALUES.replace("1.2.3", "2.0.0"), &r.stdout);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        VALUES,
        "printing does not write"
    );
}

#[test]
fn reads_standard_input() {
    let r = run_with_stdin(
        bin().args(["eval", ".replicas = 3"]),
        Some(VALUES.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text(
        "stdout",
        &VALUES.replace("replicas: 2", "replicas: 3"),
        &r.stdout,
    );
}

#[test]
fn diff_is_a_unified_diff_of_the_changed_line() {
    let (dir, _path) = values_file();
    let r = run(bin()
        .current_dir(dir.path())
        .args([
            "eval",
            "--diff",
            ".image.tag = \"{{VERSION}}\"",
            "values.yaml",
        ])
        .env("VERSION", "2.0.0"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text(
        "diff",
        "--- a/values.yaml\n+++ b/values.yaml\n@@ -1,5 +1,5 @@\n # values\n image:\n   repository: app\n-  tag: \"1.2.3\" # bumped by CI\n+  tag: \"2.0.0\" # bumped by CI\n replicas: 2\n",
        &r.stdout,
    );
}

#[test]
fn in_place_writes_atomically_and_keeps_mode() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = values_file();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let r = run(bin().args(["eval", "-i", ".replicas = 5"]).arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "", "-i prints nothing");
    assert_same_text(
        "file",
        &VALUES.replace("replicas: 2", "replicas: 5"),
        &fs::read_to_string(&path).unwrap(),
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn in_place_through_a_symlink_writes_the_target() {
    let (dir, path) = values_file();
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let r = run(bin().args(["eval", "-i", ".replicas = 7"]).arg(&link));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(fs::read_to_string(&path).unwrap().contains("replicas: 7"));
}

#[test]
fn in_place_without_change_leaves_the_file_alone() {
    use std::os::unix::fs::MetadataExt;
    let (_d, path) = values_file();
    let before = fs::metadata(&path).unwrap().ino();
    let r = run(bin().args(["eval", "-i", ".replicas = 2"]).arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs::metadata(&path).unwrap().ino(), before, "not replaced");
}

#[test]
fn a_query_prints_the_value_as_yq_does() {
    let (_d, path) = values_file();
    let r = run(bin().args(["eval", ".image.tag"]).arg(&path));
    assert_eq!((r.code, r.stdout.as_str()), (0, "1.2.3\n"), "{}", r.stderr);
    let r = run(bin().args(["eval", ".image"]).arg(&path));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "repository: app\ntag: 1.2.3\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn in_place_refuses_a_query() {
    let (_d, path) = values_file();
    let r = run(bin().args(["eval", "-i", ".image.tag"]).arg(&path));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("the expression yields the string \"1.2.3\" (the value at .image.tag), not the updated document, so nothing was changed; to set it, write `.image.tag = \"{{VERSION}}\"`"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), VALUES);
}

#[test]
fn yaml_syntax_error_shows_a_caret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    fs::write(&path, "a: 1\nb: [1, 2\nc: 3\n").unwrap();
    let r = run(bin()
        .current_dir(dir.path())
        .args(["eval", "-i", ".a = 2", "bad.yaml"]));
    assert_eq!(r.code, 2);
    assert_same_text(
        "stderr",
        "error: invalid YAML in bad.yaml at line 3, column 2: illegal placement of ':' indicator\n  3 | c: 3\n    |  ^\n",
        &r.stderr,
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "a: 1\nb: [1, 2\nc: 3\n");
}

#[test]
fn expression_syntax_error_shows_a_caret_in_the_template() {
    let (_d, path) = values_file();
    let r = run(bin()
        .args([
            "eval",
            ".image.tag = \"{{VERSION}}\" |",
            "--arg",
            "VERSION",
            "1",
        ])
        .arg(&path));
    assert_eq!(r.code, 2);
    assert_same_text(
        "stderr",
        "error: expression error at line 1, column 29: expected term, found the end of the expression\n  1 | .image.tag = \"{{VERSION}}\" |\n    |                             ^\n",
        &r.stderr,
    );
}

#[test]
fn a_version_cannot_inject_code() {
    let (_d, path) = values_file();
    let evil = "1\" | .pwned = \"yes";
    let r = run(bin()
        .args(["eval", "-i", ".image.tag = \"{{VERSION}}\""])
        .arg(&path)
        .env("VERSION", evil));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(
            "error: invalid version \"1\\\" | .pwned = \\\"yes\": it contains white space"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert_eq!(fs::read_to_string(&path).unwrap(), VALUES);
    // Through --arg with $VERSION (no placeholder), the value is data: it lands as a string.
    let r = run(bin()
        .args(["eval", ".image.tag = $VERSION", "--arg", "VERSION", evil])
        .arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(r#"tag: "1\" | .pwned = \"yes" # bumped by CI"#),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("pwned: yes"));
}

#[test]
fn arg_version_wins_over_the_environment() {
    let (_d, path) = values_file();
    let r = run(bin()
        .args([
            "eval",
            ".image.tag = \"{{VERSION}}\"",
            "--arg",
            "VERSION",
            "3.0.0",
        ])
        .arg(&path)
        .env("VERSION", "9.9.9"));
    assert!(r.stdout.contains("tag: \"3.0.0\""), "{}", r.stdout);
}

#[test]
fn secrets_in_the_environment_stay_hidden() {
    let (_d, path) = values_file();
    let secret = "s3cr3t-t0ken-value";
    for expr in ["$ENV", "env", ".t = env.GITEA_TOKEN", ".t = $ENV.MY_SECRET"] {
        let r = run(bin()
            .args(["eval", expr])
            .arg(&path)
            .env("GITEA_TOKEN", secret)
            .env("MY_SECRET", secret)
            .env("VISIBLE", "ok"));
        assert_eq!(r.code, 0, "{expr}: {}", r.stderr);
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{expr} leaked: {}",
            r.stdout
        );
    }
    let r = run(bin()
        .args(["eval", ".t = strenv(GITEA_TOKEN)"])
        .arg(&path)
        .env("GITEA_TOKEN", secret));
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains(secret), "{}", r.stderr);
    let r = run(bin()
        .args(["eval", ".t = strenv(VISIBLE)"])
        .arg(&path)
        .env("VISIBLE", "ok"));
    assert!(r.stdout.contains("t: ok"), "{}", r.stdout);
}

#[test]
fn anchor_edit_is_noted_on_stderr() {
    let r = run_with_stdin(bin().args(["eval", ".a = 2"]), Some(b"a: &x 1\nb: *x\n"));
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, "a: &x 2\nb: *x\n");
    assert!(
        r.stderr
            .contains("note: <stdin>: line 2: the alias *x follows the edited anchor"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_files_get_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let nonutf8 = dir.path().join("latin1.yaml");
    fs::write(&nonutf8, b"a: caf\xe9\n").unwrap();
    let big = dir.path().join("big.yaml");
    fs::File::create(&big).unwrap().set_len(33 << 20).unwrap();
    let cases: [(&std::path::Path, &str); 4] = [
        (
            &dir.path().join("missing.yaml"),
            "missing.yaml: no such file",
        ),
        (dir.path(), "it is a directory"),
        (&nonutf8, "not UTF-8 text"),
        (&big, "larger than 32 MiB"),
    ];
    for (path, want) in cases {
        let r = run(bin().args(["eval", "-i", ".a = 1"]).arg(path));
        assert_eq!(r.code, 2, "{path:?}");
        assert!(r.stderr.contains(want), "{path:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert_eq!(r.stdout, "");
    }
    assert_eq!(fs::read(&nonutf8).unwrap(), b"a: caf\xe9\n");
}

#[test]
fn in_place_needs_a_file() {
    let r = run_with_stdin(bin().args(["eval", "-i", ".a = 1"]), Some(b"a: 0\n"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("required"), "{}", r.stderr);
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let r = run(bin().args(["eval", "--help"]));
    assert_eq!(r.code, 0);
    for want in [
        "Exit codes:",
        "2  invalid input",
        "--arg VERSION 1.4.2 --diff",
        "strenv(NAME)",
    ] {
        assert!(r.stdout.contains(want), "missing {want:?}");
    }
    let r = run(bin().arg("--version"));
    assert_eq!(
        r.stdout,
        format!("gitops-update {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// A 1 MB+ values file: one value changes, and every other byte is the same.
#[test]
fn one_megabyte_file_changes_only_the_value() {
    let mut src = String::from("# generated\nimage:\n  tag: \"1.0.0\"\n");
    let mut i = 0;
    while src.len() < 1_100_000 {
        src.push_str(&format!("svc{i}:\n  enabled: true   # c{i}\n  ports: [80, 443]\n  env:\n    - name: K{i}\n      value: 'v{i}'\n\n"));
        i += 1;
    }
    let r = run_with_stdin(
        bin().args([
            "eval",
            ".image.tag = \"1.0.1\" | .svc777.env[0].value = \"w\"",
        ]),
        Some(src.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = src
        .replacen("tag: \"1.0.0\"", "tag: \"1.0.1\"", 1)
        .replacen("value: 'v777'", "value: 'w'", 1);
    assert!(r.stdout == want, "bytes outside the two values changed");
}

/// The repo's own example data, as the README's quick start runs it.
#[test]
fn example_data_quick_start() {
    let r = run(bin()
        .args([
            "eval",
            "--diff",
            ".image.tag = \"{{VERSION}}\"",
            "--arg",
            "VERSION",
            "1.4.2",
        ])
        .arg(testdata().join("examples/values.yaml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("+  tag: \"1.4.2\""), "{}", r.stdout);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count(),
        1
    );
}

/// The rule that tells an update from a query does not depend on the root's kind: a
/// document whose root is a scalar is updated and spliced like any other, and identity
/// returns any input byte for byte.
#[test]
fn scalar_roots_are_documents_too() {
    for (input, expr, want) in [
        ("--- text\n", ".", "--- text\n"),
        ("\"x\"  # c\n", ". = \"x # y\"", "\"x # y\"  # c\n"),
        ("text # c\n", ". = 5", "5 # c\n"),
        ("--- 'x'\n...\n", ". |= ascii_upcase", "--- 'X'\n...\n"),
        ("a: 1\n", ".a", "1\n"),
        ("a: [1, 2]\n", ".a | length", "2\n"),
    ] {
        let r = run_with_stdin(bin().args(["eval", expr]), Some(input.as_bytes()));
        assert_eq!(r.code, 0, "{input:?} {expr}: {}", r.stderr);
        assert_same_text(&format!("{input:?} with {expr}"), want, &r.stdout);
    }
}
