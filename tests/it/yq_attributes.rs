//! yq's node attributes (`pkg/yqlib/operator_style.go`): `.a style="double"` sets how a
//! node is written. jq values carry no style, so the evaluator records each request beside
//! the values and the splice re-renders exactly those nodes: nothing else in the file
//! changes. The golden cases `testdata/edits/yq-attr-*` pin more edits, each naming the yq
//! scenario it comes from.

use std::fs;

use crate::common::run::{ok, remote, workflow, VALUES};
use crate::common::{bin, run};

const CHART: &str = "# the chart\napiVersion: v2\nname: app   # its name\nversion: 1.0.0\nappVersion: 1.10\nkeywords:\n  - gitops\n  - 'helm'\n";

fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Chart.yaml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn eval(args: &[&str], text: &str) -> (i32, String, String, String) {
    let (_d, path) = file(text);
    let r = run(bin().arg("eval").args(args).arg(&path));
    let after = fs::read_to_string(&path).unwrap();
    (r.code, r.stdout, r.stderr, after)
}

/// yq's "Set double quote style": the one value is quoted, and YAML reads `1.10` as the
/// string it is, not the float 1.1; every other byte stays.
#[test]
fn a_style_change_writes_only_that_nodes_bytes() {
    let (code, out, err, _) = eval(&[".appVersion style=\"double\""], CHART);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        CHART.replace("appVersion: 1.10", "appVersion: \"1.10\"")
    );
    let (code, out, _, _) = eval(&[".keywords[] style=\"double\""], CHART);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        CHART
            .replace("- gitops", "- \"gitops\"")
            .replace("- 'helm'", "- \"helm\"")
    );
    // Plain where the value reads back the same; a comment after it stays where it was.
    let (_, out, _, _) = eval(&[".name style=\"single\""], CHART);
    assert_eq!(out, CHART.replace("name: app ", "name: 'app' "));
}

/// An update and a style in one expression, as a release pipeline writes it.
#[test]
fn an_update_then_a_style_quotes_the_new_value() {
    let (code, out, _, _) = eval(
        &[".appVersion = \"2.0\" | .appVersion style=\"single\""],
        CHART,
    );
    assert_eq!(code, 0);
    assert_eq!(out, CHART.replace("appVersion: 1.10", "appVersion: '2.0'"));
    // yq's "using path variables": inside with(...), the path is the with's.
    let (_, out, _, _) = eval(&["with(.name; . = \"web\" | . style=\"double\")"], CHART);
    assert_eq!(out, CHART.replace("name: app ", "name: \"web\" "));
}

/// yq's parseStyle refuses a name it does not know; here in one line, exit 2, nothing
/// written.
#[test]
fn an_unknown_style_is_refused_in_one_line() {
    let (code, out, err, after) = eval(&["-i", ".appVersion style=\"bold\""], CHART);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot use \"bold\" as a style"), "{err}");
    assert_eq!(after, CHART);
}

/// Where `.` is not a path of the document (a function's arguments), the style cannot be
/// placed: refused at compile time with a caret, rather than applied to the wrong node.
#[test]
fn a_style_inside_a_functions_arguments_is_refused() {
    let (code, _, err, _) = eval(&["[.name style=\"double\"]"], CHART);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`style` can be set here only"), "{err}");
}

/// `eval -i` takes a change of style alone as an update and writes it.
#[test]
fn eval_in_place_writes_a_style_change() {
    let (code, out, err, after) = eval(&["-i", ".appVersion style=\"double\""], CHART);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(
        after,
        CHART.replace("appVersion: 1.10", "appVersion: \"1.10\"")
    );
}

/// The update run commits a style change beside the version, and only those bytes change.
#[test]
fn run_commits_a_style_change() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &remote.file_url()).env(
        "YQ_TPL",
        ".image.tag = \"{{VERSION}}\" | .image.repository style=\"double\"",
    ));
    ok(&r);
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES
            .replace("\"1.0.0\"", "\"1.2.3\"")
            .replace("ghcr.io/acme/app", "\"ghcr.io/acme/app\"")
    );
}

/// yq's `style` read (`getStyleOperator`): the name of each node's style as the file
/// writes it, or as the expression set it before; `""` for plain and block style.
#[test]
fn reading_style_names_each_nodes_style() {
    let text = "a: \"x\"\nb: 'y'\nc: |\n  z\nd: [1]\ne: plain\n";
    let (code, out, err, _) = eval(&[".[] | style"], text);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "double\nsingle\nliteral\nflow\n\n");
    let (_, out, _, _) = eval(&[".a style=\"single\" | .a | style"], text);
    assert_eq!(out, "single\n");
    let (_, out, _, _) = eval(&["with(.c; . = style)"], text);
    assert_eq!(out, text.replace("c: |\n  z\n", "c: |-\n  literal\n"));
}

/// yq's `line_comment` (`operator_comments.go`): set, replaced where it stood, removed;
/// only the comment's bytes change.
#[test]
fn line_comments_are_set_replaced_and_removed() {
    let (code, out, _, _) = eval(&[".name line_comment=\"the chart\""], CHART);
    assert_eq!(code, 0);
    assert_eq!(out, CHART.replace("# its name", "# the chart"));
    let (_, out, _, _) = eval(&[".version line_comment=\"semver\""], CHART);
    assert_eq!(
        out,
        CHART.replace("version: 1.0.0\n", "version: 1.0.0 # semver\n")
    );
    let (_, out, _, _) = eval(&[".name line_comment=\"\""], CHART);
    assert_eq!(out, CHART.replace("name: app   # its name", "name: app"));
    let (code, _, err, _) = eval(&[".name line_comment=\"a\\nb\""], CHART);
    assert_eq!((code, err.lines().count()), (2, 1), "{err}");
}
