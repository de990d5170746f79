//! yq's functions that jq lacks, written in jq or natively (`src/expr/yq.jq`,
//! `src/expr/natives.rs`): what `eval` prints for each, and the one error line bad input
//! gets. Each names the yq source its expectation comes from; the golden cases
//! `testdata/edits/yq-fn-*` pin the edits' bytes.

use std::fs;

use crate::common::{bin, run};

fn eval(expr: &str, text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.yaml");
    fs::write(&path, text).unwrap();
    let r = run(bin().args(["eval", expr]).arg(&path));
    (r.code, r.stdout, r.stderr)
}

fn ok(expr: &str, text: &str) -> String {
    let (code, out, err) = eval(expr, text);
    assert_eq!(code, 0, "{expr}: {err}");
    out
}

fn fails(expr: &str, text: &str) -> String {
    let (code, out, err) = eval(expr, text);
    assert_ne!(code, 0, "{expr} printed {out}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    err
}

/// pkg/yqlib/operator_sort_keys.go: each mapping the argument selects is sorted by key
/// (byte order), recursively with `..`; sequences keep their order.
#[test]
fn sort_keys_sorts_the_mappings_it_selects() {
    let doc = "{b: {d: 1, c: 2}, a: [3, 1], c: {z: 1, y: 2}}\n";
    assert_eq!(
        ok("sort_keys(..) | tojson", doc),
        "{\"a\":[3,1],\"b\":{\"c\":2,\"d\":1},\"c\":{\"y\":2,\"z\":1}}\n"
    );
    assert_eq!(
        ok("sort_keys(.b) | keys_unsorted | tojson", doc),
        "[\"b\",\"a\",\"c\"]\n"
    );
    assert_eq!(
        ok("sort_keys(.) | .b | keys_unsorted | tojson", doc),
        "[\"d\",\"c\"]\n"
    );
    // Nothing there, or not a mapping: the input as it was.
    assert_eq!(
        ok("sort_keys(.x, .a) | tojson", "{a: [2, 1]}\n"),
        "{\"a\":[2,1]}\n"
    );
}

/// pkg/yqlib/operator_encoder_decoder.go: `to_yaml` writes block style, 2 columns a level
/// (or as told), ending in a line break; `@yaml` is `to_yaml`.
#[test]
fn to_yaml_writes_block_yaml() {
    let doc = "a:\n  cool:\n    bob: dylan\n  list: [1, two]\n";
    let want = "cool:\n  bob: dylan\nlist:\n  - 1\n  - two\n";
    assert_eq!(ok(".a | to_yaml", doc), format!("{want}\n"));
    assert_eq!(ok(".a | @yaml", doc), format!("{want}\n"));
    assert_eq!(
        ok(".a | to_yaml(4)", doc),
        "cool:\n    bob: dylan\nlist:\n    - 1\n    - two\n\n"
    );
    // A scalar is quoted when YAML would read it as something else (go-yaml quotes so too).
    assert_eq!(
        ok("\"yes\" | to_yaml | tojson", "{}\n"),
        "\"\\\"yes\\\"\\n\"\n"
    );
    assert_eq!(ok("{} | to_yaml | tojson", "{}\n"), "\"{}\\n\"\n");
}

/// pkg/yqlib/operator_encoder_decoder.go: `from_yaml` (`@yamld`) reads the first document of
/// a string; `.a |= (from_yaml | ... | to_yaml)` keeps a string without a final line break so.
#[test]
fn from_yaml_reads_a_string_and_round_trips() {
    assert_eq!(ok(".a | from_yaml | .foo", "a: \"foo: bar\"\n"), "bar\n");
    assert_eq!(ok(".a | @yamld | .x[1]", "a: 'x: [1, 2]'\n"), "2\n");
    assert_eq!(
        ok(
            ".a |= (from_yaml | .foo = \"cat\" | to_yaml)",
            "a: |-\n  foo: bar\n  baz: dog\n"
        ),
        "a: |-\n  foo: cat\n  baz: dog\n"
    );
    assert_eq!(
        ok(
            ".a |= (from_yaml | .foo = \"cat\" | to_yaml)",
            "a: |\n  foo: bar\n"
        ),
        "a: |\n  foo: cat\n"
    );
    assert_eq!(
        ok(
            ".a |= (from_yaml | .foo = \"cat\" | to_yaml)",
            "a: 'foo: bar'\n"
        ),
        "a: 'foo: cat'\n"
    );
}

#[test]
fn encoders_refuse_bad_input_in_one_line() {
    let err = fails(".a | from_yaml", "a: 'x: ['\n");
    assert!(err.contains("from_yaml: cannot read"), "{err}");
    let err = fails(".a | from_yaml", "a: 3\n");
    assert!(err.contains("from_yaml needs a string"), "{err}");
    let err = fails(".a | to_yaml(-2)", "a: 3\n");
    assert!(err.contains("the indent must be"), "{err}");
}

/// pkg/yqlib/lexer_participle.go: `to_json` indents 2, `to_json(0)` and `@json` print one
/// line; `from_json` (`@jsond`) reads JSON (YAML's flow style).
#[test]
fn json_encoders() {
    let doc = "a: {x: [1, \"two\"]}\n";
    assert_eq!(
        ok(".a | to_json", doc),
        "{\n  \"x\": [\n    1,\n    \"two\"\n  ]\n}\n\n"
    );
    assert_eq!(ok(".a | to_json(0)", doc), "{\"x\":[1,\"two\"]}\n");
    assert_eq!(ok(".a | @json", doc), "{\"x\":[1,\"two\"]}\n");
    assert_eq!(ok(".a | @json | from_json | .x[0]", doc), "1\n");
}

/// pkg/yqlib/lexer_participle.go (`upcase`, `downcase`), operator_kind.go, operator_tag.go.
#[test]
fn upcase_downcase_kind_and_tag() {
    assert_eq!(ok(".a | upcase", "a: cAt\n"), "CAT\n");
    assert_eq!(ok(".a | downcase", "a: cAt\n"), "cat\n");
    let doc = "{m: {k: v}, s: [1], str: x, i: 5, f: 3.2, b: true, n: null}\n";
    assert_eq!(
        ok("[.[] | kind] | join(\",\")", doc),
        "map,seq,scalar,scalar,scalar,scalar,scalar\n"
    );
    assert_eq!(
        ok("[.[] | tag] | join(\",\")", doc),
        "!!map,!!seq,!!str,!!int,!!float,!!bool,!!null\n"
    );
}

/// pkg/yqlib/operator_add.go (`addDateTimes`), operator_subtract.go (`subtractDateTime`),
/// operator_datetime.go (`parseDateTime`): a Go duration moves an RFC 3339 timestamp (or a
/// date alone, read as midnight UTC); the result is RFC 3339 in whole seconds, in the
/// timestamp's offset. Anything else adds as before (strings concatenate).
#[test]
fn durations_move_timestamps() {
    let cases = [
        (
            "\"2021-01-01T00:00:00Z\" + \"3h10m\"",
            "2021-01-01T03:10:00Z",
        ),
        ("\"2021-01-01\" + \"24h\"", "2021-01-02T00:00:00Z"),
        ("\"2021-01-01\" - \"24h\"", "2020-12-31T00:00:00Z"),
        ("\"2021-01-01T03:10:00Z\" - \"-5m\"", "2021-01-01T03:15:00Z"),
        (
            "\"2021-03-01T00:30:00+02:00\" + \"-1h\"",
            "2021-02-28T23:30:00+02:00",
        ),
        (
            "\"2020-02-28T23:59:59.5Z\" + \"1.5s\"",
            "2020-02-29T00:00:01Z",
        ),
        (
            "\"2021-01-01T00:00:00Z\" + \"300ms\"",
            "2021-01-01T00:00:00Z",
        ),
        (
            "\"2021-01-01T00:00:00Z\" + \"1.5h\"",
            "2021-01-01T01:30:00Z",
        ),
        (
            "\"2021-01-01T00:00:00+00:00\" + \"0\"",
            "2021-01-01T00:00:00Z",
        ),
        // Not a timestamp and a duration: jq's string concatenation.
        (
            "\"2021-01-01T00:00:00Z\" + \"3 hours\"",
            "2021-01-01T00:00:00Z3 hours",
        ),
        ("\"2021-02-30\" + \"1h\"", "2021-02-301h"),
        (
            "\"2021-01-01T24:00:00Z\" + \"1h\"",
            "2021-01-01T24:00:00Z1h",
        ),
        ("\"2021-01-01T00:00:00\" + \"1h\"", "2021-01-01T00:00:001h"),
        ("\"v1.2.3\" + \"5\"", "v1.2.35"),
        (
            "\"2021-01-01T00:00:00Z\" + \"9999999999h\"",
            "2021-01-01T00:00:00Z9999999999h",
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(ok(expr, "{}\n"), format!("{want}\n"), "{expr}");
    }
    // A plain timestamp stays plain, as yq writes it (keeping its `!!timestamp` tag).
    assert_eq!(
        ok(".a += \"3h10m\"", "a: 2021-01-01T00:00:00Z # when\n"),
        "a: 2021-01-01T03:10:00Z # when\n"
    );
    let err = fails(".a -= \"soon\"", "a: 2021-01-01T00:00:00Z\n");
    assert!(err.contains("cannot calculate"), "{err}");
}

/// pkg/yqlib/operator_multiply.go (`multiply`): a null right side keeps the left, a sequence
/// replaces a sequence (`*+` would append; it does not parse here), a mapping or sequence
/// merged into null is itself; mappings merge deeply as in jq.
#[test]
fn star_merges_as_yq_does() {
    let doc = "a: {x: 1, l: [1, 2]}\nb: {y: 2, l: [3]}\n";
    assert_eq!(ok(".a * .b | tojson", doc), "{\"x\":1,\"l\":[3],\"y\":2}\n");
    assert_eq!(ok(".a * null | tojson", doc), "{\"x\":1,\"l\":[1,2]}\n");
    assert_eq!(ok("null * .b | tojson", doc), "{\"y\":2,\"l\":[3]}\n");
    assert_eq!(ok(".a.l * .b.l | tojson", doc), "[3]\n");
    assert_eq!(
        ok(".a.l = .a.l * [5, 6]", "a: {l: [1]} # keep\n"),
        "a: {l: [5, 6]} # keep\n"
    );
    // Numbers multiply and strings repeat, as in jq; a mapping times a number fails.
    assert_eq!(ok("3 * 4, \"ab\" * 2", "{}\n"), "12\nabab\n");
    let err = fails(".a * 2", doc);
    assert!(err.contains("cannot calculate"), "{err}");
}

/// pkg/yqlib/decoder_csv_object.go: the first row names the columns; cells read as YAML
/// scalars; Go's `encoding/csv` quoting.
#[test]
fn csv_and_tsv_decode_to_a_list_of_mappings() {
    assert_eq!(
        ok(
            ".a | @csvd | tojson",
            "a: \"name,port,note\\napp,8080,\\\"a, b \\\"\\\"c\\\"\\\"\\\"\\nweb,true,\\n\"\n"
        ),
        "[{\"name\":\"app\",\"port\":8080,\"note\":\"a, b \\\"c\\\"\"},{\"name\":\"web\",\"port\":true,\"note\":\"\"}]\n"
    );
    assert_eq!(
        ok(".a | @tsvd | tojson", "a: \"k\\tv\\nx\\ty z\"\n"),
        "[{\"k\":\"x\",\"v\":\"y z\"}]\n"
    );
    let err = fails(".a | @csvd", "a: \"k\\n\\\"open\"\n");
    assert!(err.contains("does not end"), "{err}");
    let err = fails(".a | @csvd", "a: [1]\n");
    assert!(err.contains("need a string"), "{err}");
}

/// pkg/yqlib/encoder_properties.go, decoder_properties.go: `path = value` lines; decoded
/// values are strings, numbers in a path are indices.
#[test]
fn properties_encode_and_decode() {
    let doc = "a: {cool: thing, list: [1, x], n: null}\n";
    assert_eq!(
        ok(".a | to_props", doc),
        "cool = thing\nlist.0 = 1\nlist.1 = x\nn = null\n\n"
    );
    assert_eq!(ok(".a | @props | @propsd | .list[1]", doc), "x\n");
    assert_eq!(
        ok(
            ".a | @propsd | tojson",
            "a: \"# c\\ncats=great\\ndogs: cool as well\\n  x.y = 5\\n\"\n"
        ),
        "{\"cats\":\"great\",\"dogs\":\"cool as well\",\"x\":{\"y\":\"5\"}}\n"
    );
}

/// pkg/yqlib/operator_strings.go (`toStringOperator`): collections become flow YAML.
#[test]
fn to_string_writes_collections_as_flow_yaml() {
    assert_eq!(
        ok(
            "[.[] | to_string] | join(\"|\")",
            "[1, true, null, cat, {an: object, m: [1, \"yes\"]}, [array, 2]]\n"
        ),
        "1|true|null|cat|{an: object, m: [1, \"yes\"]}|[array, 2]\n"
    );
}

/// pkg/yqlib/operator_datetime.go (`withDateTimeFormat`, `formatDateTime`, `tzOp`): the
/// scenarios of yq's docs, with Go's layouts, and both of yq's argument separators.
#[test]
fn with_dtf_reads_and_writes_dates_in_go_layouts() {
    let doc = "a: Saturday, 15-Dec-01 at 2:59AM GMT\n";
    let dtf = "with_dtf(\"Monday, 02-Jan-06 at 3:04PM MST\"";
    let cases = [
        (
            format!(".a | {dtf}; tz(\"Australia/Sydney\"))"),
            "Saturday, 15-Dec-01 at 1:59PM AEDT",
        ),
        (
            format!(".a | {dtf}, tz(\"Australia/Sydney\"))"),
            "Saturday, 15-Dec-01 at 1:59PM AEDT",
        ),
        (
            format!("{dtf}; .a + \"3h1m\")"),
            "Saturday, 15-Dec-01 at 6:00AM GMT",
        ),
        (
            format!("{dtf}; .a - \"-3h1m\")"),
            "Saturday, 15-Dec-01 at 6:00AM GMT",
        ),
        (
            format!("{dtf}; .a + \"3h1m\" | tz(\"Australia/Perth\"))"),
            "Saturday, 15-Dec-01 at 2:00PM AWST",
        ),
        (
            format!(".a | {dtf}; format_datetime(\"2006-01-02T15:04:05Z07:00\"))"),
            "2001-12-15T02:59:00Z",
        ),
        (format!(".a | {dtf}; to_unix)"), "1008385140"),
        // Outside with_dtf the layout is RFC 3339 again.
        (
            format!("{dtf}; .a) as $x | \"2021-01-01T00:00:00Z\" + \"1h\""),
            "2021-01-01T01:00:00Z",
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(ok(&expr, doc), format!("{want}\n"), "{expr}");
    }
}

/// pkg/yqlib/operator_datetime.go: `format_datetime` reads RFC 3339 (or a date alone) by
/// default; a result that reads as a number is one (`parseSnippet`); `from_unix` and `tz`
/// give RFC 3339, in the zone's offset.
#[test]
fn format_datetime_tz_and_unix_times() {
    let doc = "a: 2001-12-15T02:59:43.1Z\nd: 2001-12-15\n";
    let cases = [
        (
            ".a | format_datetime(\"Monday, 02-Jan-06 at 3:04PM\")",
            "Saturday, 15-Dec-01 at 2:59AM",
        ),
        (".d | format_datetime(\"Monday\")", "Saturday"),
        (".a | format_datetime(\"2006\") | type", "number"),
        (
            ".a | format_datetime(\"15:04:05.000 Jan _2\")",
            "02:59:43.100 Dec 15",
        ),
        (".a | tz(\"Asia/Kolkata\")", "2001-12-15T08:29:43+05:30"),
        (".a | tz(\"UTC\")", "2001-12-15T02:59:43Z"),
        ("1675301929 | from_unix", "2023-02-02T01:38:49Z"),
        (
            "1675301929 | from_unix | tz(\"America/New_York\")",
            "2023-02-01T20:38:49-05:00",
        ),
        (".a | to_unix", "1008385183"),
    ];
    for (expr, want) in cases {
        assert_eq!(ok(expr, doc), format!("{want}\n"), "{expr}");
    }
}

/// An unknown zone, a layout without a field, a date that does not read in the layout and a
/// bad duration each give one error line and exit code 2, and `eval -i` writes nothing.
#[test]
fn date_errors_are_one_line_and_write_nothing() {
    let doc = "a: Saturday, 15-Dec-01 at 2:59AM GMT # kept\n";
    let cases = [
        (
            ".a |= tz(\"Mars/Olympus_Mons\")",
            "could not load the time zone \"Mars/Olympus_Mons\"",
        ),
        (".a |= tz(\"Local\")", "name the zone"),
        (
            ".a |= with_dtf(\"YYYY-MM-DD\"; tz(\"UTC\"))",
            "has no field of Go's reference time",
        ),
        (
            ".a |= format_datetime(\"2006\")",
            "cannot parse \"Saturday, 15-Dec-01 at 2:59AM GMT\" as \"2006\"",
        ),
        (
            "with_dtf(\"Monday, 02-Jan-06 at 3:04PM MST\"; .a += \"3 hours\")",
            "unable to parse duration \"3 hours\"",
        ),
        (
            ".a |= (1 | from_unix | format_datetime(\"Monday\")) | .a |= (\"x\" | from_unix)",
            "from_unix only works on numbers",
        ),
    ];
    for (expr, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.yaml");
        fs::write(&path, doc).unwrap();
        let r = run(bin().args(["eval", "-i", expr]).arg(&path));
        assert_eq!(r.code, 2, "{expr}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{expr}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{expr}: {}", r.stderr);
        assert!(
            !r.stderr.contains("\\\""),
            "{expr}: quotes doubled: {}",
            r.stderr
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            doc,
            "{expr} wrote the file"
        );
    }
}

/// yq's `now` is an RFC 3339 timestamp (`.updated = now` writes a date), and jq's
/// `now | todate` still gives that text.
#[test]
fn now_is_an_rfc3339_timestamp_as_in_yq() {
    assert_eq!(ok("now | type", "a: 1\n"), "string\n");
    let stamp = ok("now | todate", "a: 1\n");
    let shape = ok(
        &format!(
            "{:?} | test(\"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}Z$\")",
            stamp.trim()
        ),
        "a: 1\n",
    );
    assert_eq!(shape, "true\n", "{stamp}");
}

/// Known limitation: yq's `format_datetime("2006-01-02")` gives a `!!timestamp`, written
/// plain; a value here has no tag, so a string a reader would type as a timestamp is
/// quoted, unless it replaces a plain timestamp (`testdata/edits/yq-fn-date-with-dtf-format`).
#[test]
#[ignore = "known limitation: values carry no tag, so a formatted date that replaces a string is quoted"]
fn formatted_date_is_written_plain_as_in_yq() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.yaml");
    fs::write(&path, "a: Saturday, 15-Dec-01 at 2:59AM\n").unwrap();
    let expr = ".a |= with_dtf(\"Monday, 02-Jan-06 at 3:04PM\"; format_datetime(\"2006-01-02\"))";
    let r = run(bin().args(["eval", "-i", expr]).arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs::read_to_string(&path).unwrap(), "a: 2001-12-15\n");
}

/// Known limitation: Go's `time.Parse` gives a zone abbreviation the machine's own zone
/// knows that zone's offset (`AEDT` is +11:00 on a machine in Sydney); here the machine's
/// zone is taken to be UTC, so an abbreviation other than UTC reads as offset 0, as Go
/// reads it on a UTC machine, and the same input gives the same bytes everywhere.
#[test]
#[ignore = "known limitation: zone abbreviations read as on a UTC machine, not the local zone"]
fn abbreviation_of_the_local_zone_reads_with_its_offset() {
    let expr = ".a | with_dtf(\"Jan 2 2006 15:04 MST\"; to_unix)";
    // 1:59 PM AEDT is 02:59 UTC on a machine in Sydney.
    assert_eq!(ok(expr, "a: Dec 15 2001 13:59 AEDT\n"), "1008385140\n");
}
