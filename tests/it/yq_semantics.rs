//! Where yq v4 and jq read the same text differently, the templates mean what they meant in
//! yq. These pin what `eval` prints (the golden cases `testdata/edits/yq-sem-*` pin edits);
//! each names the yq source its expectation comes from.

use std::fs;

use crate::common::{bin, run};

const NODES: &str = "nodes:\n  n1: {cpu: 1}\n  n2: {cpu: 2}\nstatus:\n  ready: true\n";
const DOCS: &str = "a: 1\n---\na: 2\n---\na: 3\n";

fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.yaml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn eval(expr: &str, text: &str) -> (i32, String, String) {
    let (_d, path) = file(text);
    let r = run(bin().args(["eval", expr]).arg(&path));
    (r.code, r.stdout, r.stderr)
}

/// yq's printer (pkg/yqlib/printer.go, `PrintResults`) prints every result; scalars come
/// one per line.
#[test]
fn several_scalars_from_one_document_print_one_per_line() {
    assert_eq!(
        eval(".nodes | keys | .[]", NODES),
        (0, "n1\nn2\n".into(), String::new())
    );
}

/// `PrintResults` writes `---` only when the document index changes: mappings from one
/// document follow each other with no separator.
#[test]
fn several_mappings_from_one_document_print_without_a_separator() {
    assert_eq!(
        eval(".nodes[]", NODES),
        (0, "cpu: 1\ncpu: 2\n".into(), String::new())
    );
    assert_eq!(
        eval(".a, .a", DOCS),
        (0, "1\n1\n---\n2\n2\n---\n3\n3\n".into(), String::new())
    );
}

/// A document for which the expression yields nothing prints nothing ("no matching
/// results, nothing to print" in `PrintResults`), and no separator stands for it.
#[test]
fn a_document_that_yields_nothing_prints_nothing() {
    assert_eq!(
        eval("select(.a != 2)", DOCS),
        (0, "a: 1\n---\na: 3\n".into(), String::new())
    );
    assert_eq!(
        eval("select(.status.ready == false)", NODES),
        (0, String::new(), String::new())
    );
}

/// `{}` and `.status // {}` are values, printed as yq prints them, not the document.
#[test]
fn an_empty_mapping_prints_as_itself() {
    assert_eq!(eval("{}", NODES), (0, "{}\n".into(), String::new()));
    assert_eq!(
        eval(".missing // {}", NODES),
        (0, "{}\n".into(), String::new())
    );
    assert_eq!(
        eval(".status // {}", NODES),
        (0, "ready: true\n".into(), String::new())
    );
}

/// Writing keeps issue 25's rule: what is not the updated document is refused.
#[test]
fn writing_in_place_still_refuses_several_values_and_none() {
    for expr in [".nodes | keys | .[]", "select(.a == 9)"] {
        let (_d, path) = file(NODES);
        let r = run(bin().args(["eval", "-i", expr]).arg(&path));
        assert_eq!(r.code, 2, "{expr}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{expr}: {}", r.stderr);
        assert_eq!(fs::read_to_string(&path).unwrap(), NODES, "{expr}");
    }
}

/// yq's `==` globs (pkg/yqlib/operator_equals_test.go, `.[] | (. == "*at")`).
#[test]
fn equals_with_a_star_or_question_mark_is_a_glob() {
    let pets = "- cat\n- goat\n- dog\n- ca\n";
    assert_eq!(eval(r#".[] | select(. == "*at")"#, pets).1, "cat\ngoat\n");
    assert_eq!(eval(r#".[] | select(. != "*at")"#, pets).1, "dog\nca\n");
    assert_eq!(eval(r#".[] | select(. == "ca?")"#, pets).1, "cat\n");
    assert_eq!(eval(r#".[] | select(. == "ca")"#, pets).1, "ca\n");
}

/// yq's `env` decodes the variable as YAML (pkg/yqlib/operator_env.go); `strenv` does not.
#[test]
fn env_reads_a_list_or_a_mapping_as_yaml() {
    let (_d, path) = file("a: 1\n");
    let r = run(bin()
        .args([
            "eval",
            ".hosts = env(HOSTS) | .raw = strenv(HOSTS) | .m = env(M)",
        ])
        .arg(&path)
        .env("HOSTS", "[a.example, b.example]")
        .env("M", "{x: 1}"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "a: 1\nhosts:\n  - a.example\n  - b.example\nraw: \"[a.example, b.example]\"\nm:\n  x: 1\n"
    );
    let r = run(bin()
        .args(["eval", ".hosts = env(HOSTS)"])
        .arg(&path)
        .env("HOSTS", "[a"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("env(HOSTS) reads its value as YAML"),
        "{}",
        r.stderr
    );
}

/// `|=` keeps what its right side drops (pkg/yqlib/operator_assign.go), in a print too.
#[test]
fn an_update_that_selects_keeps_the_other_items() {
    let k = "images:\n  - name: app\n    newTag: v1\n  - name: db\n    newTag: v9\n";
    assert_eq!(
        eval(
            r#".images[] |= (select(.name == "app") | .newTag = "v2")"#,
            k
        )
        .1,
        k.replace("v1", "v2")
    );
}
