//! `eval`'s yq habits through the real binary: several files, `-`, `-o json`, `-n`, `-e`,
//! `-r`, `-I`, `-P`, and yq flags that are refused by name.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{assert_same_text, bin, run, run_with_stdin};

const A: &str = "a: 1 # one\nb: x\n";
const B: &str = "a: 2\n---\na: 3\n";

/// a.yaml and b.yaml in a fresh directory, which is also the working directory of `eval`.
fn two_files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    fs::write(&a, A).unwrap();
    fs::write(&b, B).unwrap();
    (dir, a, b)
}

fn eval_in(dir: &Path, args: &[&str]) -> crate::common::Run {
    run(bin().current_dir(dir).arg("eval").args(args))
}

/// Exit 2, nothing on stdout, and one error line that contains `needle`.
fn refused(r: &crate::common::Run, needle: &str) {
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains(needle), "{needle:?} in {}", r.stderr);
}

#[test]
fn several_files_print_in_turn_with_a_separator_between_files() {
    let (dir, _, _) = two_files();
    let r = eval_in(dir.path(), &[".a", "a.yaml", "b.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text("query", "1\n---\n2\n---\n3\n", &r.stdout);

    let r = eval_in(dir.path(), &[".a = 5", "a.yaml", "b.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text(
        "update",
        "a: 5 # one\nb: x\n---\na: 5\n---\na: 5\n",
        &r.stdout,
    );
}

#[test]
fn a_file_that_starts_with_its_own_marker_gets_no_second_one() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), "a: 1").unwrap();
    fs::write(dir.path().join("c.yaml"), "--- # c\na: 2\n").unwrap();
    let r = eval_in(dir.path(), &[".a = 9", "a.yaml", "c.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // a.yaml has no final newline: one is added before the next file's output.
    assert_same_text("stdout", "a: 9\n--- # c\na: 9\n", &r.stdout);
}

#[test]
fn in_place_writes_every_file() {
    let (dir, a, b) = two_files();
    let r = eval_in(dir.path(), &["-i", ".a = 5", "a.yaml", "b.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_same_text(
        "a.yaml",
        "a: 5 # one\nb: x\n",
        &fs::read_to_string(a).unwrap(),
    );
    assert_same_text(
        "b.yaml",
        "a: 5\n---\na: 5\n",
        &fs::read_to_string(b).unwrap(),
    );
}

#[test]
fn in_place_writes_nothing_when_the_second_file_fails() {
    let (dir, a, b) = two_files();
    // The expression fails on b.yaml's string: neither file is written.
    fs::write(&b, "a: text\n").unwrap();
    let r = eval_in(dir.path(), &["-i", ".a |= . + 1", "a.yaml", "b.yaml"]);
    refused(&r, "b.yaml");
    assert_eq!(fs::read(&a).unwrap(), A.as_bytes(), "a.yaml is unchanged");
    assert_eq!(fs::read(&b).unwrap(), b"a: text\n", "b.yaml is unchanged");

    // A result that is not an update (the writers' rule) in the second file: the same.
    fs::write(&b, "- 1\n").unwrap();
    let r = eval_in(
        dir.path(),
        &[
            "-i",
            "if type == \"object\" then .a = 5 else length end",
            "a.yaml",
            "b.yaml",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("b.yaml"), "{}", r.stderr);
    assert_eq!(fs::read(&a).unwrap(), A.as_bytes(), "a.yaml is unchanged");

    // Invalid YAML in the second file: the same.
    fs::write(&b, "a: [\n").unwrap();
    let r = eval_in(dir.path(), &["-i", ".a = 5", "a.yaml", "b.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("b.yaml"), "{}", r.stderr);
    assert_eq!(fs::read(&a).unwrap(), A.as_bytes(), "a.yaml is unchanged");
}

#[test]
fn in_place_refuses_one_file_given_twice() {
    let (dir, a, _) = two_files();
    let r = eval_in(dir.path(), &["-i", ".a = 5", "a.yaml", "./a.yaml"]);
    refused(&r, "same file");
    assert_eq!(fs::read(&a).unwrap(), A.as_bytes());
}

#[test]
fn dash_is_standard_input_among_files() {
    let (dir, _, _) = two_files();
    let r = run_with_stdin(
        bin()
            .current_dir(dir.path())
            .args(["eval", ".a", "b.yaml", "-"]),
        Some(A.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text("stdout", "2\n---\n3\n---\n1\n", &r.stdout);

    let r = run_with_stdin(bin().args(["eval", ".b", "-"]), Some(A.as_bytes()));
    assert_eq!((r.code, r.stdout.as_str()), (0, "x\n"), "{}", r.stderr);
}

#[test]
fn dash_with_in_place_or_twice_is_refused() {
    let r = run_with_stdin(bin().args(["eval", "-i", ".a = 1", "-"]), Some(b"a: 0\n"));
    refused(&r, "standard input");
    let r = run_with_stdin(bin().args(["eval", ".a", "-", "-"]), Some(b"a: 0\n"));
    refused(&r, "more than once");
}

#[test]
fn output_json_in_every_spelling_yq_accepts() {
    let (dir, _, _) = two_files();
    let want = "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n";
    for flags in [
        &["-o", "json"][..],
        &["-o=json"],
        &["-oj"],
        &["-o", "j"],
        &["--output-format", "json"],
        &["--output-format=json"],
    ] {
        let mut args = flags.to_vec();
        args.extend([".", "a.yaml"]);
        let r = eval_in(dir.path(), &args);
        assert_eq!(r.code, 0, "{flags:?}: {}", r.stderr);
        assert_same_text(&format!("{flags:?}"), want, &r.stdout);
    }
    // Each result is its own JSON text; no separators between documents or files.
    let r = eval_in(dir.path(), &["-o", "json", ".a", "a.yaml", "b.yaml"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "1\n2\n3\n"),
        "{}",
        r.stderr
    );
    // An update prints the whole updated document.
    let r = eval_in(dir.path(), &["-oj", ".a = [1, {\"c\": null}]", "a.yaml"]);
    assert_same_text(
        "update",
        "{\n  \"a\": [\n    1,\n    {\n      \"c\": null\n    }\n  ],\n  \"b\": \"x\"\n}\n",
        &r.stdout,
    );
    // -oy and -o yaml are the default.
    for flag in ["-oy", "-o=yaml", "-oyml"] {
        let r = eval_in(dir.path(), &[flag, ".a = 5", "a.yaml"]);
        assert_eq!(r.code, 0, "{flag}: {}", r.stderr);
        assert_same_text(flag, "a: 5 # one\nb: x\n", &r.stdout);
    }
}

#[test]
fn json_indent_and_unwrap() {
    let (dir, _, _) = two_files();
    let r = eval_in(dir.path(), &["-o", "json", "-I", "0", ".", "a.yaml"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"a\":1,\"b\":\"x\"}\n"),
        "{}",
        r.stderr
    );
    let r = eval_in(dir.path(), &["-o", "json", "-I4", ".", "a.yaml"]);
    assert_same_text("-I4", "{\n    \"a\": 1,\n    \"b\": \"x\"\n}\n", &r.stdout);
    // JSON quotes a string unless -r unwraps it, as yq does.
    let r = eval_in(dir.path(), &["-o", "json", ".b", "a.yaml"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "\"x\"\n"), "{}", r.stderr);
    for r_flag in ["-r", "-r=true", "--unwrapScalar"] {
        let r = eval_in(dir.path(), &["-o", "json", r_flag, ".b", "a.yaml"]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "x\n"),
            "{r_flag}: {}",
            r.stderr
        );
    }
}

#[test]
fn unwrap_scalar_is_yamls_default_and_false_is_refused() {
    let (dir, _, _) = two_files();
    fs::write(dir.path().join("q.yaml"), "v: \"1.2\"\n").unwrap();
    for flags in [&[][..], &["-r"], &["-r=true"]] {
        let mut args = flags.to_vec();
        args.extend([".v", "q.yaml"]);
        let r = eval_in(dir.path(), &args);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "1.2\n"),
            "{flags:?}: {}",
            r.stderr
        );
    }
    let r = eval_in(dir.path(), &["-r=false", ".v", "q.yaml"]);
    refused(&r, "-r=false");
}

#[test]
fn yaml_indent_applies_to_printed_values() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.yaml"), "m:\n  k:\n    v: 1\n").unwrap();
    let r = eval_in(dir.path(), &["-I", "4", ".m", "m.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text("-I 4", "k:\n    v: 1\n", &r.stdout);
    let r = eval_in(dir.path(), &["-I", "1", ".m", "m.yaml"]);
    refused(&r, "2 to 9");
}

#[test]
fn pretty_print_prints_values_in_block_style() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f.yaml"), "a: {b: 1, c: [p, q]} # flow\n").unwrap();
    for flag in ["-P", "--prettyPrint"] {
        let r = eval_in(dir.path(), &[flag, ".", "f.yaml"]);
        assert_eq!(r.code, 0, "{flag}: {}", r.stderr);
        assert_same_text(flag, "a:\n  b: 1\n  c:\n    - p\n    - q\n", &r.stdout);
    }
    // Without -P the update keeps the file's own text.
    let r = eval_in(dir.path(), &[".a.b = 2", "f.yaml"]);
    assert_same_text("no -P", "a: {b: 2, c: [p, q]} # flow\n", &r.stdout);
    let r = eval_in(dir.path(), &["-P", "-i", ".a.b = 2", "f.yaml"]);
    refused(&r, "-P");
    assert_eq!(
        fs::read_to_string(dir.path().join("f.yaml")).unwrap(),
        "a: {b: 1, c: [p, q]} # flow\n"
    );
}

#[test]
fn null_input_evaluates_against_null() {
    for flag in ["-n", "--null-input"] {
        let r = run(bin().args(["eval", flag, ".a = 1"]));
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "a: 1\n"),
            "{flag}: {}",
            r.stderr
        );
    }
    let r = run(bin().args(["eval", "-n", "-o", "json", ".a.b = \"x\""]));
    assert_same_text(
        "json",
        "{\n  \"a\": {\n    \"b\": \"x\"\n  }\n}\n",
        &r.stdout,
    );
    // stdin is not read with -n, even when it is there.
    let r = run_with_stdin(bin().args(["eval", "-n", "."]), Some(b"a: 1\n"));
    assert_eq!((r.code, r.stdout.as_str()), (0, "null\n"), "{}", r.stderr);
    let (dir, _, _) = two_files();
    let r = eval_in(dir.path(), &["-n", ".a", "a.yaml"]);
    refused(&r, "-n");
}

#[test]
fn exit_status_is_1_for_null_false_or_no_result() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("e.yaml"), "t: true\nf: false\nz: null\n").unwrap();
    for (expr, out, code) in [
        (".z", "null\n", 1),
        (".missing", "null\n", 1),
        (".f", "false\n", 1),
        (".t", "true\n", 0),
        (".f | not", "true\n", 0),
    ] {
        for flag in ["-e", "--exit-status"] {
            let r = eval_in(dir.path(), &[flag, expr, "e.yaml"]);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (code, out),
                "{flag} {expr}: {}",
                r.stderr
            );
        }
        // Without -e, null and false exit 0.
        let r = eval_in(dir.path(), &[expr, "e.yaml"]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, out),
            "{expr}: {}",
            r.stderr
        );
    }
    // No output at all, and yq's rule for several results: any that is not null or false.
    let r = run(bin().args(["eval", "-e", "-n", "empty"]));
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{}", r.stderr);
    fs::write(dir.path().join("t.yaml"), "f: 1\n").unwrap();
    let r = eval_in(dir.path(), &["-e", ".f", "e.yaml", "t.yaml"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "false\n---\n1\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn json_and_in_place_or_diff_are_refused() {
    let (dir, a, _) = two_files();
    for flags in [&["-i", "-o", "json"][..], &["--diff", "-oj"]] {
        let mut args = flags.to_vec();
        args.extend([".a = 5", "a.yaml"]);
        let r = eval_in(dir.path(), &args);
        refused(&r, "-o json");
    }
    assert_eq!(fs::read(&a).unwrap(), A.as_bytes());
}

#[test]
fn output_formats_other_than_yaml_and_json_are_refused() {
    let (dir, _, _) = two_files();
    for format in ["xml", "props", "csv", "toml", "auto"] {
        let r = eval_in(dir.path(), &["-o", format, ".", "a.yaml"]);
        refused(&r, "not supported");
    }
}

#[test]
fn unsupported_yq_flags_get_one_line_naming_them() {
    let (dir, _, _) = two_files();
    for (flags, named) in [
        (&["--from-file", "x.yq"][..], "--from-file"),
        (&["--from-file=x.yq"], "--from-file"),
        (&["-s", "$index"], "-s"),
        (&["--split-exp", "$index"], "--split-exp"),
        (&["-p", "xml"], "-p"),
        (&["--input-format=xml"], "--input-format"),
        (&["--front-matter", "extract"], "--front-matter"),
        (&["-N"], "-N"),
        (&["-C"], "-C"),
        (&["--xml-attribute-prefix", "+"], "--xml-attribute-prefix"),
        (
            &["--security-disable-env-ops"],
            "--security-disable-env-ops",
        ),
    ] {
        let mut args = flags.to_vec();
        args.extend([".", "a.yaml"]);
        let r = eval_in(dir.path(), &args);
        refused(&r, &format!("{named} is a yq flag"));
        assert!(r.stderr.contains("not support"), "{}", r.stderr);
    }
}

#[test]
fn readme_lists_the_yq_flags() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("## `gitops-update eval`").unwrap();
    let section = &readme[start..start + readme[start..].find("### The expression").unwrap()];
    for flag in [
        "`-o json`",
        "`-n`",
        "`-e`",
        "`-r`",
        "`-I N`",
        "`-P`",
        "`-`",
        "not supported",
    ] {
        assert!(section.contains(flag), "README's eval section lists {flag}");
    }
}
