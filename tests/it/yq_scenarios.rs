//! yq's own scenarios as the yardstick: every single-document update scenario of yq's test
//! tables (`testdata/yq-scenarios/`, extracted by `scripts/yq-scenarios.py`) replayed
//! through `gitops-update eval '<expr>' sample.yml`, and compared with yq's output.
//!
//! Each scenario is `same bytes`, `same data` (both outputs load to the same values: quoting,
//! key order or comments differ), `differs` or `error` (refused or not supported). The replay
//! prints a table by yq test file (`cargo test --test it yq_scenarios -- --nocapture`) and
//! fails when the agreement (`same bytes` + `same data`) falls below [`THRESHOLD`].
//! Notable differences are kept below as ignored tests, one per yq scenario.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{bin, testdata};

/// The target ("yq's own scenarios as the yardstick": at least 95% of the update
/// scenarios), which the replay now meets (212 of 223, 95.1%): a regression guard.
const THRESHOLD: f64 = 95.0;

/// Sorts maps' keys and prints JSON: two YAML texts hold the same data when this agrees.
const NORMALISE: &str = "walk(if type == \"object\" then to_entries | sort_by(.key | tostring) | from_entries else . end) | tojson";

#[derive(Clone)]
struct Scenario {
    file: String,
    description: String,
    document: String,
    expression: String,
    expected: String,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Verdict {
    SameBytes,
    SameData,
    Differs,
    Error,
}

impl Verdict {
    fn agrees(self) -> bool {
        matches!(self, Verdict::SameBytes | Verdict::SameData)
    }
}

fn scenarios() -> Vec<Scenario> {
    let dir = testdata().join("yq-scenarios");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "summary.json")
        .collect();
    names.sort();
    let mut all = Vec::new();
    for name in names {
        let text = fs::read_to_string(dir.join(&name)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let file = name.trim_end_matches(".json").to_string();
        for s in json["scenarios"].as_array().unwrap() {
            let field = |k: &str| {
                s[k].as_str()
                    .unwrap_or_else(|| panic!("{name}: {k}"))
                    .to_string()
            };
            all.push(Scenario {
                file: file.clone(),
                description: field("description"),
                document: field("document"),
                expression: field("expression"),
                expected: field("expected"),
            });
        }
    }
    all
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with a time limit: a scenario that loops is an error, not a hung test.
fn eval(expr: &str, file: Option<&Path>, stdin: &str) -> Out {
    let mut cmd = bin();
    cmd.arg("eval").arg(expr);
    if let Some(f) = file {
        cmd.arg(f);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn gitops-update");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    writer.join().unwrap();
    let stdout = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked on {expr:?}:\n{stderr}"
    );
    Out {
        code,
        stdout,
        stderr,
    }
}

fn data(text: &str) -> Option<String> {
    let out = eval(NORMALISE, None, text);
    (out.code == Some(0)).then_some(out.stdout)
}

/// The verdict on one scenario, and a line that says why when it does not agree.
fn judge(s: &Scenario) -> (Verdict, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.yml");
    fs::write(&path, &s.document).unwrap();
    let out = eval(&s.expression, Some(&path), "");
    match out.code {
        None => return (Verdict::Error, "timed out".into()),
        Some(0) => {}
        Some(c) => {
            let first = out.stderr.lines().next().unwrap_or_default();
            return (Verdict::Error, format!("exit {c}: {first}"));
        }
    }
    if out.stdout == s.expected {
        return (Verdict::SameBytes, String::new());
    }
    let why = format!("got {:?} want {:?}", out.stdout, s.expected);
    match (data(&out.stdout), data(&s.expected)) {
        (Some(a), Some(b)) if a == b => (Verdict::SameData, why),
        _ => (Verdict::Differs, why),
    }
}

#[test]
fn yq_scenarios_agreement() {
    let all = scenarios();
    assert!(
        all.len() > 200,
        "only {} scenarios: is testdata/yq-scenarios there?",
        all.len()
    );
    let mut table: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut misses = Vec::new();
    for s in &all {
        let (v, why) = judge(s);
        table.entry(s.file.clone()).or_default()[v as usize] += 1;
        let line = format!(
            "{v:?} {}: {:?} ({}) -- {why}",
            s.file, s.expression, s.description
        );
        if v.agrees() {
            // The same values in other bytes: what the output's layout still misses.
            if v == Verdict::SameData {
                println!("{line}");
            }
        } else {
            misses.push(line);
        }
    }
    for line in &misses {
        println!("{line}");
    }
    // How many scenarios each file has in all, to show what the selection kept.
    let summary: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(testdata().join("yq-scenarios/summary.json")).unwrap(),
    )
    .unwrap();
    let found = |file: &str| summary["files"][file]["found"].as_u64().unwrap_or(0);
    println!(
        "\n{:32} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
        "yq test file", "found", "run", "bytes", "data", "diff", "error"
    );
    let mut sum = [0usize; 4];
    for (file, c) in &table {
        let total: usize = c.iter().sum();
        println!(
            "{file:32} {:5} {total:5} {:5} {:5} {:5} {:5}",
            found(file),
            c[0],
            c[1],
            c[2],
            c[3]
        );
        for (a, b) in sum.iter_mut().zip(c) {
            *a += b;
        }
    }
    let all_found: u64 = summary["files"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["found"].as_u64().unwrap())
        .sum();
    let total: usize = sum.iter().sum();
    let agree = (sum[0] + sum[1]) as f64 * 100.0 / total as f64;
    println!(
        "{:32} {all_found:5} {total:5} {:5} {:5} {:5} {:5}\nagreement: {agree:.1}% of {total} (threshold {THRESHOLD}%, target 95%)",
        "total", sum[0], sum[1], sum[2], sum[3]
    );
    assert!(
        agree >= THRESHOLD,
        "agreement with yq's scenarios fell to {agree:.1}%, below {THRESHOLD}%:\n{}",
        misses.join("\n")
    );
}

/// The extraction's own bookkeeping: every selected scenario is in a data file.
#[test]
fn yq_scenarios_summary_matches_the_data() {
    let text = fs::read_to_string(testdata().join("yq-scenarios/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files = summary["files"].as_object().unwrap();
    let selected: u64 = files
        .values()
        .map(|f| f["selected"].as_u64().unwrap())
        .sum();
    let found: u64 = files.values().map(|f| f["found"].as_u64().unwrap()).sum();
    assert_eq!(selected as usize, scenarios().len());
    assert!(
        found > 1000 && selected * 4 < found,
        "found {found}, selected {selected}"
    );
}

/// One scenario, named by its yq test file, description and expression, must agree.
fn assert_agrees(file: &str, description: &str, expression: &str) {
    let all = scenarios();
    let s = all
        .iter()
        .find(|s| s.file == file && s.description == description && s.expression == expression)
        .unwrap_or_else(|| panic!("no scenario {file}: {description:?} {expression:?}"));
    let (v, why) = judge(s);
    assert!(v.agrees(), "{v:?}: {why}");
}

/// `style="double"` re-quotes the node, and only its bytes change.
#[test]
fn yq_scenario_set_double_quote_style() {
    assert_agrees(
        "operator_style",
        "Set double quote style",
        ".. style=\"double\"",
    );
}

/// `line_comment=` writes the comment after the scalar, as yq spells it.
#[test]
fn yq_scenario_set_line_comment() {
    assert_agrees(
        "operator_comments",
        "Set line comment",
        ".a line_comment=\"single\"",
    );
}

#[test]
#[ignore = "known limitation: yq's node-attribute assignments (style, tag, anchor, alias, comments) do not parse"]
fn yq_scenario_set_custom_tag() {
    assert_agrees("operator_tag", "Set custom tag", ".a tag = \"!!mikefarah\"");
}

/// The values agree; the file keeps its key order (the splice writes no reordering).
#[test]
fn yq_scenario_sort_keys_recursively() {
    assert_agrees(
        "operator_sort_keys",
        "Sort keys recursively",
        "sort_keys(..)",
    );
}

#[test]
fn yq_scenario_update_a_multiline_encoded_yaml_string() {
    assert_agrees(
        "operator_encoder_decoder",
        "Update a multiline encoded yaml string",
        ".a |= (from_yaml | .foo = \"cat\" | to_yaml)",
    );
}

/// `==` against a pattern with `*` matches as yq's wildcards do.
#[test]
fn yq_scenario_update_array_values_by_wildcard() {
    assert_agrees(
        "operator_assign",
        "Update array values",
        "(.[] | select(. == \"*andy\")) = \"bogs\"",
    );
}

/// The values agree; the splice quotes the new timestamp, where yq writes it plain.
#[test]
fn yq_scenario_date_addition() {
    assert_agrees("operator_add", "Date addition", ".a += \"3h10m\"");
}

/// A computed whole float prints as yq (and jq) print it, `2`.
#[test]
fn yq_scenario_number_modulo_float() {
    assert_agrees("operator_modulo", "Number modulo - float", ".a = .a % .b");
}

#[test]
#[ignore = "known limitation: an alternative (//) whose right side assigns is not a path expression"]
fn yq_scenario_update_or_create() {
    assert_agrees(
        "operator_alternative",
        "Update or create - entity does not exist",
        "(.a // (.a = 0)) += 1",
    );
}

/// `has` on a scalar is false, as in yq, so `..` walks past the strings.
#[test]
fn yq_scenario_recursively_delete_matching_keys() {
    assert_agrees(
        "operator_delete",
        "Recursively delete matching keys",
        "del(.. | select(has(\"name\")).name)",
    );
}

/// yq's `ireduce` is jq's `reduce`.
#[test]
fn yq_scenario_convert_an_array_to_an_object() {
    assert_agrees(
        "operator_reduce",
        "Convert an array to an object",
        ".[] as $item ireduce ({}; .[$item | .name] = ($item | .has) )",
    );
}

/// A mapping interpolated into a string is written as flow YAML, as yq writes it.
#[test]
fn yq_scenario_interpolation_not_a_string() {
    assert_agrees(
        "operator_strings",
        "Interpolation - not a string",
        ".message = \"I like \\(.value)\"",
    );
}

/// `*+` merges and appends sequences, and a document merged into `{}` comes back unchanged.
#[test]
fn yq_scenario_merge_with_flags_keeps_the_document() {
    assert_agrees(
        "operator_anchors_aliases",
        "direct *+ preserves explicit !!merge tag on << key (regression for issue 2677)",
        ". as $d | {} *+ $d",
    );
}

/// `.blah.0` is the first item of a sequence.
#[test]
fn yq_scenario_numeric_path_element_indexes_a_sequence() {
    assert_agrees("operator_traverse_path", "", ".blah.0 = \"cool\"");
}

#[test]
#[ignore = "known limitation, deliberate: a division by zero is written .inf (YAML's infinity); yq writes +Inf, which YAML reads as a string"]
fn yq_scenario_number_division_by_zero() {
    assert_agrees(
        "operator_divide",
        "Number division by zero",
        ".a = .a / 0 | .b = .b / 0",
    );
}

#[test]
#[ignore = "known limitation: to_yaml of a flow mapping writes block style; yq keeps the node's flow style and quotes"]
fn yq_scenario_to_yaml_keeps_flow_style() {
    assert_agrees("operator_encoder_decoder", "", ".b = (.a | to_yaml)");
}

/// `ref` binds a path; the variable reads and assigns through it.
#[test]
fn yq_scenario_ref_variable() {
    assert_agrees(
        "operator_variables",
        "Use ref to reference a path repeatedly",
        ".a.b ref $x | $x = \"new\" | $x style=\"double\"",
    );
}

/// `=c` assigns and copies the tag the right side has in the file.
#[test]
fn yq_scenario_assign_clobbering_custom_tags() {
    assert_agrees("operator_assign", "Custom types: clobber", ".a =c .b");
}

#[test]
#[ignore = "known limitation: explode(.) (aliases written out as copies) is not supported; the splice keeps aliases and edits follow their anchors"]
fn yq_scenario_explode_after_update() {
    assert_agrees(
        "operator_assign",
        "",
        ".c = .b | .a.x = \"ModifiedValue\" | explode(.)",
    );
}
