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

const COMMENTED: &str = "# the chart\n\nname: app # its name\nbase: &defaults\n  replicas: 1\nother: *defaults\n# above version\nversion: 1.0.0\n\n# the end\n";

/// yq's `head_comment`, `foot_comment` and `line_comment` read as yq reads them
/// (`getCommentsOperator`): the `# ` of each line taken off; `""` where there is none.
#[test]
fn comments_read_as_yq_reads_them() {
    for (expr, want) in [
        (". | head_comment", "the chart\n"),
        (".version | headComment", "above version\n"),
        (".name | line_comment", "its name\n"),
        (". | foot_comment", "the end\n"),
        (".version | line_comment", "\n"),
        (".name line_comment=\"set\" | .name | line_comment", "set\n"),
    ] {
        let (code, out, err, _) = eval(&[expr], COMMENTED);
        assert_eq!((code, out.as_str(), err.as_str()), (0, want, ""), "{expr}");
    }
}

/// yq's `anchor` and `alias` read the names the file writes.
#[test]
fn anchors_and_aliases_read_their_names() {
    let (_, out, _, _) = eval(&[".base | anchor"], COMMENTED);
    assert_eq!(out, "defaults\n");
    let (_, out, _, _) = eval(&[".other | alias"], COMMENTED);
    assert_eq!(out, "defaults\n");
    let (_, out, _, _) = eval(&[".name | anchor"], COMMENTED);
    assert_eq!(out, "\n");
}

/// Head and foot comments replace the comment lines where they stood; every other byte,
/// the blank line after the head included, stays.
#[test]
fn head_and_foot_comments_replace_the_lines_they_name() {
    let (code, out, _, _) = eval(&[". head_comment=\"chart v2\""], COMMENTED);
    assert_eq!(code, 0);
    assert_eq!(out, COMMENTED.replace("# the chart\n\n", "# chart v2\n"));
    let (_, out, _, _) = eval(&[".version head_comment=\"\""], COMMENTED);
    assert_eq!(out, COMMENTED.replace("# above version\n", ""));
    let (_, out, _, _) = eval(&[". foot_comment=\"bye\""], COMMENTED);
    assert_eq!(out, COMMENTED.replace("\n# the end\n", "# bye\n"));
}

/// An alias must name an anchor before it; an anchor that aliases use cannot be renamed or
/// removed: each refused in one line, nothing written.
#[test]
fn anchors_and_aliases_that_would_dangle_are_refused() {
    for expr in [
        ".name alias = \"nope\"",
        ".name alias = \"later\" | .version anchor = \"later\"",
        ".base anchor = \"\"",
        ".base anchor = \"renamed\"",
        ".name anchor = \"a b\"",
        ".name tag = \"not a tag\"",
    ] {
        let (code, out, err, after) = eval(&["-i", expr], COMMENTED);
        assert_eq!((code, out.as_str()), (2, ""), "{expr}: {err}");
        assert_eq!(err.lines().count(), 1, "{expr}: {err}");
        assert_eq!(after, COMMENTED, "{expr}");
    }
}

/// yq's `...` recurses into map keys too (`operator_recursive_descent.go`); a key is not a
/// node of a jq value, so here `...` is `..`: `... style="double"` leaves keys plain.
#[test]
#[ignore = "known limitation: `...` does not reach map keys (keys are not nodes of a jq value)"]
fn three_dots_style_reaches_keys() {
    let (_, out, _, _) = eval(&["... style=\"double\""], "a: cat\n");
    assert_eq!(out, "\"a\": \"cat\"\n");
}

/// yq's `style="tagged"` writes every node's tag (`!!map`, `!!str`, ...); gitops-update
/// writes only tags a value needs, so that a style change never rewrites the whole file.
#[test]
#[ignore = "known limitation: style=\"tagged\" is refused (it would write a tag on every node)"]
fn tagged_style_writes_every_tag() {
    let (_, out, _, _) = eval(&[".a style=\"tagged\""], "a: cat\n");
    assert_eq!(out, "a: !!str cat\n");
}

/// yq's `(.a.x | key) = "meow"` renames a key where it stands (`operator_keys_test.go`
/// "Update map key"): only the key's bytes change. A key the mapping has already is
/// refused, as the rename would merge two entries.
#[test]
fn assigning_a_key_renames_it_where_it_stands() {
    let text = "a:\n  x: 3 # three\n  y: 4\n";
    let (code, out, _, _) = eval(&["(.a.x | key) = \"meow\""], text);
    assert_eq!((code, out.as_str()), (0, "a:\n  meow: 3 # three\n  y: 4\n"));
    let (code, _, err, after) = eval(&["-i", "(.a.x | key) = \"y\""], text);
    assert_eq!((code, err.lines().count()), (2, 1), "{err}");
    assert_eq!(after, text);
}

/// yq sets attributes anywhere in an expression, inside a function's arguments too
/// (`with_entries(.key headComment= .value)`, operator_entries); here only where `.` is a
/// known path of the document, and the others are refused at compile time.
#[test]
#[ignore = "known limitation: attributes cannot be set inside a function's arguments (with_entries)"]
fn head_comment_inside_with_entries() {
    let (_, out, _, _) = eval(&["with_entries(.key headComment= .value)"], "a: 1\nb: 2\n");
    assert_eq!(out, "# 1\na: 1\n# 2\nb: 2\n");
}

/// yq writes a foot comment on any node, after it; here only the document's is written
/// (after its last line), others are noted on stderr: between two entries it would read
/// back as the next entry's head comment.
#[test]
#[ignore = "known limitation: a foot comment is written only after the document"]
fn foot_comment_of_an_entry() {
    let (_, out, _, _) = eval(&[".a foot_comment=\"after a\""], "a: 1\nb: 2\n");
    assert_eq!(out, "a: 1\n# after a\nb: 2\n");
}

/// yq's attribute `|=` evaluates the right side on each node leniently (`.c` of a string
/// is null, so the alias is blank and nothing changes), and so does this form, which jq
/// does not have.
#[test]
fn alias_update_with_a_missing_field_does_nothing() {
    let text = "{b: &meow purr, a: cat}\n";
    let (code, out, _, _) = eval(&[".a alias |= .c"], text);
    assert_eq!((code, out.as_str()), (0, text));
}

/// A block scalar's text that reads like a comment is the scalar's, not the next entry's
/// head comment: a head comment set on that entry leaves it where it is.
#[test]
fn a_head_comment_leaves_a_block_scalars_text_alone() {
    let text = "script: |\n  make\n  # not a comment\nnext: 2\n";
    let (code, out, err, _) = eval(&[".next head_comment=\"the next\""], text);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, text.replace("next: 2", "# the next\nnext: 2"));
}

/// An attribute read where `.` is no path of the document (inside a function's arguments)
/// is one line that says where it works, and the file is left as it was; `key` says how
/// it is used.
#[test]
fn a_misplaced_attribute_says_where_it_works() {
    for (expr, says) in [
        (
            "[.a | head_comment]",
            "needs a path of the document before it",
        ),
        ("map(key)", "`(.a.x | key) = \"y\"`"),
    ] {
        let (code, out, err, after) = eval(&["-i", expr], CHART);
        assert_eq!((code, out.as_str()), (2, ""), "{expr}: {err}");
        assert!(
            err.lines().next().unwrap_or("").contains(says),
            "{expr}: {err}"
        );
        assert_eq!(after, CHART, "{expr} wrote the file");
    }
}
