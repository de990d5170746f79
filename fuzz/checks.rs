#![allow(dead_code)] // each fuzz target uses one of the checks
//! The properties the fuzz targets check. `cargo test` compiles this file too
//! (tests/it/fuzz_replay.rs) and replays the committed corpora through the same functions,
//! so a finding, once its input is in the corpus, stays fixed. Public API only.

use gitops_update::edit;
use gitops_update::expr::{Bindings, EnvPolicy, Program};
use gitops_update::yaml::{self, index, index::Keep, index::Kind, index::Node};
use jaq_json::Val;

/// The binary's evaluation budgets, for a fuzz target (`fuzz_target!(init: ...)`): an input
/// that makes a check evaluate past 5 s or 1 GiB aborts at once, and libFuzzer saves it as a
/// crash, instead of the fuzzer hanging until its own timeout (20 minutes by default). The
/// output budget is left open: what a check may produce is the checks' business. The replay
/// in `cargo test` does not call it, so that no test process can end this way.
pub fn budgets() {
    use gitops_update::budget;
    budget::set_limits(budget::Limits {
        time: std::time::Duration::from_secs(5),
        memory: 1 << 30,
        output: Some(usize::MAX),
    });
    budget::on_exceeded(|why| {
        eprintln!("gitops-update: {why}");
        std::process::abort();
    });
}

/// Values whose YAML form is awkward: strings YAML would retype, indicators, line breaks,
/// quotes, numbers, null. As jq literals.
pub const AWKWARD: &[&str] = &[
    r#""yes""#,
    r#""1.20""#,
    r#""a: b""#,
    r#""""#,
    r#""two\nlines""#,
    r##""#x""##,
    r#""- x""#,
    r#""it's""#,
    r#""say \"hi\"""#,
    r#""ünï ✓""#,
    r#""trailing ""#,
    r#""nginx:1.27""#,
    "42",
    "-1.5",
    "true",
    "null",
    r#""{a}""#,
    r#""x\n""#,
];

pub fn bindings(args: &[(&str, &str)]) -> Bindings {
    Bindings {
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        env: Default::default(),
        policy: EnvPolicy::DenySecrets,
        placeholders: Default::default(),
    }
}

/// A jq string literal for `s`.
pub fn jq_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar of the file: its jq path and the byte range of the lines it stands on.
pub struct Scalar {
    pub path: String,
    pub lines: std::ops::Range<usize>,
}

/// Every scalar under `node` (merge keys and aliases left out: edits through them are
/// refused by design).
pub fn scalars(node: &Node, path: &mut Vec<String>, src: &str, out: &mut Vec<Scalar>) {
    match &node.kind {
        Kind::Scalar { .. } => {
            let start = src[..node.start].rfind('\n').map_or(0, |n| n + 1);
            let end = src[node.end..]
                .find('\n')
                .map_or(src.len(), |n| node.end + n + 1);
            out.push(Scalar {
                path: format!(".{}", path.concat()),
                lines: start..end,
            });
        }
        Kind::Map { entries, .. } => {
            let mut empty = false;
            for e in entries {
                if let Kind::Scalar { value, .. } = &e.key.kind {
                    // A repeated empty key is not in jq's object (the first one is).
                    if value == "<<" || (value.is_empty() && std::mem::replace(&mut empty, true)) {
                        continue;
                    }
                    path.push(format!("[{}]", jq_string(value)));
                    scalars(&e.value, path, src, out);
                    path.pop();
                }
            }
        }
        Kind::Seq { items, .. } => {
            for (i, it) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                scalars(&it.node, path, src, out);
                path.pop();
            }
        }
        Kind::Alias(_) => {}
    }
}

/// The byte range where `a` and `b` differ, as positions in `a`.
pub fn changed_range(a: &[u8], b: &[u8]) -> std::ops::Range<usize> {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let max_suf = a.len().min(b.len()) - pre;
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suf)
        .take_while(|(x, y)| x == y)
        .count();
    pre..a.len() - suf
}

/// Refusals that are by design: edits through aliases and merge keys, entries that jq cannot
/// address (complex keys, repeated empty keys), and a value for an explicit key that has
/// none (a known limitation, tests/it/limitations.rs).
pub fn refused_by_design(msg: &str) -> bool {
    msg.contains("alias")
        || msg.contains("merge key")
        || msg.contains("explicit key (`? key`)")
        || msg.contains("jq cannot tell apart")
        // `. = x` that would turn a mapping, sequence or scalar document into another kind.
        || msg.contains("in place of the document's")
}

fn split_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// Identity gives any input that loads back byte for byte: the text and its index, or
/// `None` when the input does not load.
fn identity_holds(bytes: &[u8]) -> Option<(String, index::Index)> {
    let identity = Program::compile(".", &bindings(&[])).expect("identity compiles");
    let same = edit::edit(bytes, "f", &identity).ok()?;
    assert!(
        same.text.as_bytes() == bytes && !same.changed,
        "identity changed the bytes:\n{:?}\n{:?}",
        String::from_utf8_lossy(bytes),
        same.text
    );
    let idx = index::index(&same.text, "f", Keep::All).expect("a file that loads can be indexed");
    Some((same.text, idx))
}

/// What `collect` finds under each document's root, with the document's index.
fn per_document<T>(idx: &index::Index, collect: impl Fn(&Node, &mut Vec<T>)) -> Vec<(usize, T)> {
    let mut found = Vec::new();
    for (di, doc) in idx.docs.iter().enumerate() {
        if let Some(root) = &doc.root {
            let mut here = Vec::new();
            collect(root, &mut here);
            found.extend(here.into_iter().map(|t| (di, t)));
        }
    }
    found
}

/// The fast way (values built only where the program can reach, the rest verified by
/// digest) writes exactly what loading the whole document writes, whenever it succeeds.
pub fn reach_agrees(bytes: &[u8], program: &Program, expr: &str) {
    let Some(fast) = edit::edit_reach(bytes, "f", program) else {
        return;
    };
    match edit::edit_whole(bytes, "f", program) {
        Ok(whole) => assert!(
            whole.text == fast.text && whole.changed == fast.changed && whole.notes == fast.notes,
            "{expr}: the fast way wrote other bytes\nwhole: {:?}\nfast:  {:?}",
            whole.text,
            fast.text
        ),
        Err(e) => panic!("{expr}: the fast way succeeded where the whole load failed: {e}"),
    }
}

/// The splice engine on arbitrary bytes. Input: a scalar selector byte, a value selector
/// byte, then YAML, optionally followed by NUL and a string value.
///
/// - never a panic;
/// - identity gives the input back byte for byte;
/// - assigning a value to one scalar reads back as exactly that value, and no byte outside
///   the lines of that scalar changes; or the edit is refused by design (alias, merge key).
pub fn splice(data: &[u8]) {
    let [sel, pick, rest @ ..] = data else { return };
    let (bytes, tail) = split_nul(rest);
    // Not YAML this engine accepts: an error, which is all that is asked.
    let Some((src, idx)) = identity_holds(bytes) else {
        return;
    };
    let src = src.as_str();
    let found = per_document(&idx, |root, out| scalars(root, &mut Vec::new(), src, out));
    let found: Vec<_> = found.into_iter().filter(|(_, s)| s.path != ".").collect();
    if found.is_empty() {
        return;
    }
    let (di, target) = &found[*sel as usize % found.len()];
    let value = tail.map(|t| String::from_utf8_lossy(t).into_owned());
    let (rhs, args): (String, Vec<(&str, &str)>) = match &value {
        Some(v) if *pick as usize % (AWKWARD.len() + 1) == AWKWARD.len() => {
            ("$v".into(), vec![("v", v.as_str())])
        }
        _ => (AWKWARD[*pick as usize % AWKWARD.len()].into(), vec![]),
    };
    let path = &target.path;
    // A key holding `{{NAME}}` or `<<NAME>>` is a template placeholder once in an
    // expression (the tool expands them anywhere in it): that path names another key, or
    // needs an argument.
    if path.contains("{{") || path.contains("<<") {
        return;
    }
    let expr = format!("if documentIndex == {di} then {path} = {rhs} else . end");
    let program = Program::compile(&expr, &bindings(&args)).expect("the edit compiles");
    let want = Program::compile(&rhs, &bindings(&args))
        .expect("the value compiles")
        .run(Val::Null, 0)
        .expect("the value evaluates")
        .remove(0);
    reach_agrees(bytes, &program, &expr);
    let edited = match edit::edit(bytes, "f", &program) {
        Ok(e) => e,
        Err(e) if refused_by_design(&e.to_string()) => return,
        Err(e) => panic!("{expr}: refused: {e}\n{src:?}"),
    };
    let changed = changed_range(bytes, edited.text.as_bytes());
    assert!(
        !edited.changed || (changed.start >= target.lines.start && changed.end <= target.lines.end),
        "{expr}: bytes {changed:?} changed, outside the node's lines {:?}\n{src:?}\n{:?}",
        target.lines,
        edited.text
    );
    let back = yaml::parse(
        yaml::decode(edited.text.as_bytes(), "f").expect("decodes"),
        "f",
    )
    .unwrap_or_else(|e| panic!("{expr}: the output does not load: {e}\n{:?}", edited.text));
    let got = Program::compile(path, &bindings(&[]))
        .expect("the path compiles")
        .run(back.values[*di].clone(), *di)
        .expect("the path evaluates")
        .remove(0);
    assert!(
        yaml::schema::same(&got, &want),
        "{expr}: reads back as {got} instead of {want}\n{src:?}\n{:?}",
        edited.text
    );
}

/// How a YAML 1.1 reader (go-yaml, libyaml: Helm, Argo CD, kustomize, Flux) splits lines:
/// as a YAML 1.2 reader does, and also at U+0085, U+2028 and U+2029.
pub fn as_yaml_1_1(text: &str) -> String {
    text.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n")
}

/// The writer against a YAML 1.1 reading. Input: a scalar selector byte, YAML, then NUL and
/// a value in which the bytes 1, 2 and 3 stand for U+2028, U+2029 and U+0085.
///
/// - never a panic;
/// - the value is written so that a YAML 1.1 reader and a YAML 1.2 reader read the same
///   value at that path (no raw U+0085, U+2028 or U+2029 in what is written), or the edit is
///   refused, for whatever reason.
pub fn yaml11(data: &[u8]) {
    let [sel, rest @ ..] = data else { return };
    let (bytes, Some(tail)) = split_nul(rest) else {
        return;
    };
    let Some((src, idx)) = identity_holds(bytes) else {
        return;
    };
    // A file that a YAML 1.1 reader already reads otherwise (a raw U+0085 in a comment, say)
    // is not the writer's doing.
    let Ok(model_in) = yaml::parse(&as_yaml_1_1(&src), "f") else {
        return;
    };
    let Ok(as_is) = yaml::parse(&src, "f") else {
        return;
    };
    let agree = model_in.values.len() == as_is.values.len()
        && model_in
            .values
            .iter()
            .zip(&as_is.values)
            .all(|(a, b)| yaml::schema::same(a, b));
    if !agree {
        return;
    }
    let src = src.as_str();
    let found = per_document(&idx, |root, out| scalars(root, &mut Vec::new(), src, out));
    let found: Vec<_> = found
        .into_iter()
        .filter(|(_, s)| s.path != "." && !s.path.contains("{{") && !s.path.contains("<<"))
        .collect();
    if found.is_empty() || model_in.values.len() != idx.docs.len() {
        return;
    }
    let (di, target) = &found[*sel as usize % found.len()];
    let value: String = String::from_utf8_lossy(tail)
        .chars()
        .map(|c| match c {
            '\u{1}' => '\u{2028}',
            '\u{2}' => '\u{2029}',
            '\u{3}' => '\u{85}',
            c => c,
        })
        .collect();
    let path = &target.path;
    let expr = format!("if documentIndex == {di} then {path} = $v else . end");
    let program = Program::compile(&expr, &bindings(&[("v", &value)])).expect("the edit compiles");
    // A refusal writes nothing, which is all this property asks: that the splice refuses
    // less is the `splice` and `structure` targets' business.
    let Ok(edited) = edit::edit(bytes, "f", &program) else {
        return;
    };
    let read = |text: &str| {
        let back = yaml::parse(text, "f").ok()?;
        Program::compile(path, &bindings(&[]))
            .ok()?
            .run(back.values.get(*di)?.clone(), *di)
            .ok()?
            .pop()
    };
    let want = Val::from(value.clone());
    let as_1_2 = read(&edited.text);
    let as_1_1 = read(&as_yaml_1_1(&edited.text));
    assert!(
        as_1_2.as_ref().is_some_and(|v| yaml::schema::same(v, &want))
            && as_1_1.as_ref().is_some_and(|v| yaml::schema::same(v, &want)),
        "{expr} with $v = {value:?}: YAML 1.2 reads {as_1_2:?}, YAML 1.1 reads {as_1_1:?}\n{src:?}\n{:?}",
        edited.text
    );
}

/// The template front end on arbitrary text. Input: a template, optionally followed by NUL
/// and a version.
///
/// - never a panic;
/// - the version cannot change the program: a template compiles, or fails with the same
///   message, whatever the version;
/// - the template's text used as a string (`.v = "<text>"`) evaluates to the text with each
///   placeholder replaced by the version, byte for byte: the version is data, never code.
pub fn template(data: &[u8]) {
    let (tpl, version) = split_nul(data);
    let tpl = String::from_utf8_lossy(tpl);
    let version = version.map_or_else(|| "1.2.3".into(), String::from_utf8_lossy);
    // jaq's parser recurses; a template deeper than a person writes is not what this checks.
    if tpl.len() > 4096 {
        return;
    }

    let with_version = Program::compile(&tpl, &bindings(&[("VERSION", &version)]));
    let with_plain = Program::compile(&tpl, &bindings(&[("VERSION", "0")]));
    match (&with_version, &with_plain) {
        (Ok(_), Ok(_)) => {}
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "the version changed the error of {tpl:?}"
        ),
        _ => panic!("the version {version:?} changed whether {tpl:?} compiles"),
    }

    let expr = format!(".v = {}", jq_string(&tpl));
    let compiled = Program::compile(&expr, &bindings(&[("VERSION", &version)]));
    let Some(want) = substitute(&tpl, &version) else {
        let e = compiled.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("unknown placeholder"),
            "{expr}: an unknown placeholder must be refused, not written: {e:?}"
        );
        return;
    };
    let program =
        compiled.unwrap_or_else(|e| panic!("{expr}: a string assignment must compile: {e}"));
    let out = program
        .run(Val::obj(Default::default()), 0)
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    let got = Program::compile(".v", &bindings(&[]))
        .unwrap()
        .run(out[0].clone(), 0)
        .unwrap()
        .remove(0);
    assert!(
        out.len() == 1 && yaml::schema::same(&got, &Val::from(want.clone())),
        "{expr} with VERSION={version:?} gave {got}, expected {want:?}"
    );
}

/// A placeholder at the start of `s`, as the README's table defines them: `<<VERSION>>`, or
/// `{{NAME}}` with optional spaces inside the braces. Its length, and whether it is
/// the version's (`Some(true)`) or a name that must be refused (`Some(false)`: any other
/// upper-case name, or `version` in another case); `None` for text.
fn placeholder(s: &str) -> Option<(usize, bool)> {
    if s.starts_with("<<VERSION>>") {
        return Some((11, true));
    }
    let rest = s.strip_prefix("{{")?;
    let body = rest.trim_start_matches(' ');
    let len = body
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    if len == 0 || body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let (name, after) = body.split_at(len);
    let tail = after.trim_start_matches(' ');
    if !tail.starts_with("}}") {
        return None;
    }
    let whole = s.len() - tail.len() + 2;
    let upper = name
        .bytes()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    match (
        name == "VERSION",
        upper || name.eq_ignore_ascii_case("VERSION"),
    ) {
        (true, _) => Some((whole, true)),
        (false, true) => Some((whole, false)),
        (false, false) => None,
    }
}

/// Replaces each placeholder, left to right, in one pass: a version that itself contains a
/// placeholder is not expanded again. `None` when the text names a placeholder that must be
/// refused.
fn substitute(tpl: &str, version: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = tpl;
    while !rest.is_empty() {
        match placeholder(rest) {
            Some((len, true)) => {
                out.push_str(version);
                rest = &rest[len..];
            }
            Some((_, false)) => return None,
            None => {
                let c = rest.chars().next().unwrap();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Some(out)
}

/// Values a structural edit puts in place: collections of several shapes, and the awkward
/// scalars. As jq literals.
pub const STRUCT_VALUES: &[&str] = &[
    r#"{"n": 1}"#,
    r#"{"a": {"b": [1, "x"]}, "c": "yes"}"#,
    "[]",
    "{}",
    r#"[1, "two", {"k": "v"}]"#,
    r#"[[1, 2], {"a": null}]"#,
    r##"{"k: v": "#x", "- y": [true]}"##,
    r#""multi\nline\n""#,
    r#"[{"name": "app", "tag": "1.0"}]"#,
];

/// A node a structural edit can aim at: its jq path, what it is, and the bytes it owns
/// (from its key or dash, to the end of its last line and the blank or comment lines after).
pub struct Aim {
    pub path: String,
    pub owned: std::ops::Range<usize>,
    /// 0: scalar, 1: mapping, 2: sequence.
    pub shape: u8,
    pub keys: Vec<String>,
    pub len: usize,
}

fn owned(src: &str, from: usize, end: usize) -> std::ops::Range<usize> {
    let start = src[..from].rfind('\n').map_or(0, |n| n + 1);
    let mut stop = src[end..].find('\n').map_or(src.len(), |n| end + n + 1);
    while stop < src.len() {
        let next = src[stop..].find('\n').map_or(src.len(), |n| stop + n + 1);
        let t = src[stop..next].trim();
        if !(t.is_empty() || t.starts_with('#')) {
            break;
        }
        stop = next;
    }
    start..stop
}

/// Every node under `node` that an edit may aim at (aliases, merge keys, complex keys and
/// what is under them left out).
pub fn aims(node: &Node, from: usize, path: &mut Vec<String>, src: &str, out: &mut Vec<Aim>) {
    let (shape, keys, len) = match &node.kind {
        Kind::Scalar { .. } => (0, Vec::new(), 0),
        Kind::Map { entries, .. } => {
            let keys: Vec<String> = entries
                .iter()
                .filter_map(|e| match &e.key.kind {
                    Kind::Scalar { value, .. } if value != "<<" => Some(value.clone()),
                    _ => None,
                })
                .collect();
            (1, keys, entries.len())
        }
        Kind::Seq { items, .. } => (2, Vec::new(), items.len()),
        Kind::Alias(_) => return,
    };
    out.push(Aim {
        path: if path.is_empty() {
            ".".into()
        } else {
            format!(".{}", path.concat())
        },
        owned: owned(src, from.min(node.start), node.end.max(node.start)),
        shape,
        keys,
        len,
    });
    match &node.kind {
        Kind::Map { entries, .. } => {
            if entries.iter().any(|e| is_merge_key_node(&e.key)) {
                return;
            }
            let mut empty = false;
            for e in entries {
                if let Kind::Scalar { value, .. } = &e.key.kind {
                    if value.is_empty() && std::mem::replace(&mut empty, true) {
                        continue;
                    }
                    path.push(format!("[{}]", jq_string(value)));
                    aims(&e.value, e.key.start, path, src, out);
                    path.pop();
                }
            }
        }
        Kind::Seq { items, .. } => {
            for (i, it) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                aims(&it.node, it.dash, path, src, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn is_merge_key_node(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, .. } if value == "<<")
}

/// A structural program for `aim`, chosen by `op` and `pick`.
pub fn structural_program(aim: &Aim, op: u8, pick: u8) -> (String, bool) {
    let p = &aim.path;
    let v = STRUCT_VALUES
        .iter()
        .chain(AWKWARD)
        .nth(pick as usize % (STRUCT_VALUES.len() + AWKWARD.len()))
        .unwrap();
    let key = |n: u8| -> Option<String> {
        (!aim.keys.is_empty()).then(|| jq_string(&aim.keys[n as usize % aim.keys.len()]))
    };
    let sub = |s: &str| {
        if p == "." {
            format!(".{s}")
        } else {
            format!("{p}{s}")
        }
    };
    let i = pick as usize % (aim.len + 1);
    // The second value says whether the change stays within the aimed node's bytes.
    match op % 12 {
        0 => (format!("{p} = {v}"), true),
        1 => match (key(pick), key(pick / 3 + 1)) {
            (Some(a), Some(b)) => (
                format!(
                    "del({}, {})",
                    sub(&format!("[{a}]")),
                    sub(&format!("[{b}]"))
                ),
                true,
            ),
            _ => (format!("{p} |= {v}"), true),
        },
        2 if aim.shape == 1 => (
            format!(
                "{} = {v} | {} = {{\"deep\": {v}}}",
                sub("[\"gu_new\"]"),
                sub("[\"gu_two\"][\"x\"]")
            ),
            true,
        ),
        3 if aim.shape == 2 => (format!("{p} += [{v}]"), true),
        4 if aim.shape == 2 => (format!("{p} |= .[:{i}] + [{v}] + .[{i}:]"), true),
        5 => (format!("{p} |= sort"), true),
        6 => (format!("{p} |= sort_by(tostring)"), true),
        7 => (format!("{p} |= reverse"), true),
        8 => (format!("{p} |= (to_entries | from_entries)"), true),
        9 => (
            format!("{p} |= with_entries(.key |= \"k_\" + tostring)"),
            true,
        ),
        10 if aim.shape == 1 && !aim.keys.is_empty() => (
            format!(
                "{p} |= with_entries(select(.key != {}))",
                key(pick).unwrap()
            ),
            true,
        ),
        11 => (format!("({p}) as $v | del(.. | select(. == $v))"), false),
        _ => (format!("{p} = {v}"), true),
    }
}

/// The structural half: an arbitrary YAML input (after three selector bytes) and a program
/// of structural operations on one of its nodes.
///
/// - never a panic; identity gives the input back byte for byte;
/// - the output reads back as jq's result (unless aliases follow an edited anchor, which
///   the edit says in a note), and no byte outside the aimed node's lines changes; or the
///   edit is refused by design;
/// - no line the edit wrote ends with a space.
pub fn structure(data: &[u8]) {
    let [op, sel, pick, bytes @ ..] = data else {
        return;
    };
    if bytes.len() > 8192 {
        return;
    }
    // Not YAML this engine accepts: an error, which is all that is asked.
    let Some((src, idx)) = identity_holds(bytes) else {
        return;
    };
    let src = src.as_str();
    let found = per_document(&idx, |root, out| {
        aims(root, root.start, &mut Vec::new(), src, out)
    });
    if found.is_empty() {
        return;
    }
    let (di, aim) = &found[*sel as usize % found.len()];
    let (body, local) = structural_program(aim, *op, *pick);
    let expr = format!("if documentIndex == {di} then {body} else . end");
    let program = Program::compile(&expr, &bindings(&[])).expect("the program compiles");
    let parsed = yaml::parse(src, "f").expect("loads, as identity did");
    let Ok(want) = edit::evaluate(&parsed, &program, "f") else {
        return; // jq refuses it too (sort of a mapping, and so on): nothing to check
    };
    reach_agrees(bytes, &program, &expr);
    let edited = match edit::edit(bytes, "f", &program) {
        Ok(e) => e,
        Err(e) if refused_by_design(&e.to_string()) => return,
        Err(e) => panic!("{expr}: refused: {e}\n{src:?}"),
    };
    let out = edited.text.as_str();
    let back = yaml::parse(out, "f")
        .unwrap_or_else(|e| panic!("{expr}: the output does not load: {e}\n{src:?}\n{out:?}"));
    if edited.notes.is_empty() {
        assert_eq!(
            back.values.len(),
            want.len(),
            "{expr}: document count\n{src:?}\n{out:?}"
        );
        for (got, want) in back.values.iter().zip(&want) {
            assert!(
                yaml::schema::same(got, want),
                "{expr}: reads back as {got} instead of {want}\n{src:?}\n{out:?}"
            );
        }
    }
    let changed = changed_range(bytes, out.as_bytes());
    let (head, tail) = (&src[..aim.owned.start], &src[aim.owned.end..]);
    let kept = out.len() >= head.len() + tail.len() && out.starts_with(head) && out.ends_with(tail);
    assert!(
        !local || kept,
        "{expr}: bytes outside the node's lines {:?} changed\n{src:?}\n{out:?}",
        aim.owned
    );
    if edited.changed {
        // The lines the edit wrote, in the output.
        let suffix = bytes.len() - changed.end;
        let (from, to) = (changed.start, out.len() - suffix);
        let line_start = out[..from].rfind('\n').map_or(0, |n| n + 1);
        let line_end = out[to..].find('\n').map_or(out.len(), |n| to + n);
        let mut at = line_start;
        for line in out[line_start..line_end].split('\n') {
            let text = line.strip_suffix('\r').unwrap_or(line);
            let blanks = text.len() - text.trim_end_matches([' ', '\t']).len();
            // Blanks the file had before or after the changed bytes are its own (a scalar
            // edited in place keeps what followed it).
            assert!(
                blanks == 0
                    || at + text.len() <= from
                    || at + text.len() - blanks >= to
                    || src.lines().any(|l| l == text),
                "{expr}: wrote a line that ends with a space: {text:?}\n{src:?}\n{out:?}"
            );
            at += line.len() + 1;
        }
    }
}

/// Every sentence the key reader (`sign::Signer::parse`) may refuse a key with, after
/// `source: `. A refusal is one of these, or a name of the list below with
/// `keys cannot sign here; ...`: never anything read from the key.
pub const KEY_REFUSALS: &[&str] = &[
    "the OpenPGP private key cannot be read (truncated, or a line lost in the secret?)",
    "an OpenPGP public key, not a secret key: export it with gpg --armor --export-secret-keys",
    "the key is protected by a passphrase: set GITOPS_SIGNING_KEY_PASSPHRASE",
    "the passphrase in GITOPS_SIGNING_KEY_PASSPHRASE does not unlock the key",
    "the OpenPGP key is protected in a way older than gpg 2 writes; re-export it with gpg --armor --export-secret-keys",
    "the OpenPGP key's passphrase protection uses a cipher or hash other than AES and SHA-1/SHA-2; re-export it with gpg 2",
    "the OpenPGP key's signing secret is not in this export (a stub: on a smartcard, or exported without it); export it with gpg --armor --export-secret-keys",
    "the OpenPGP key cannot sign here: its algorithm is not RSA, Ed25519, ECDSA P-256 or P-384, or it is not a v4 key",
    "the OpenPGP key has no subkey that may sign and has not expired or been revoked",
    "not an OpenSSH or OpenPGP private key (-----BEGIN OPENSSH PRIVATE KEY----- or -----BEGIN PGP PRIVATE KEY BLOCK-----); pass the private key's text, not the public key or a path",
    "the OpenSSH private key cannot be read (truncated, or a line lost in the secret?)",
    "the key's algorithm cannot sign here; use ed25519, ECDSA (P-256 or P-384) or RSA",
];

/// The OpenSSH algorithm names a refusal may give (ssh-key's own list, not the key's bytes).
pub const SSH_ALGORITHMS: &[&str] = &[
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-ed25519",
    "ssh-rsa",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
];

/// The passphrases a `signkey` input may give: none, empty, the one the seeds were made
/// with, and a wrong one.
const PASSPHRASES: [Option<&str>; 4] = [
    None,
    Some(""),
    Some("correct horse"),
    Some("battery staple"),
];

/// The armor around `body` (base64 in lines of 64), with the OpenPGP CRC-24 when `crc`.
fn armored(label: &str, body: &[u8], crc: bool) -> String {
    use base64ct::{Base64, Encoding};
    let mut out = format!("-----BEGIN {label}-----\n\n");
    for line in Base64::encode_string(body).as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    if crc {
        let mut sum: u32 = 0xB7_04CE;
        for &b in body {
            sum ^= u32::from(b) << 16;
            for _ in 0..8 {
                sum <<= 1;
                if sum & 0x100_0000 != 0 {
                    sum ^= 0x186_4CFB;
                }
            }
        }
        out.push('=');
        out.push_str(&Base64::encode_string(&sum.to_be_bytes()[1..]));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A hostile signing key (the secret of `GITOPS_SIGNING_KEY`). The first byte picks the
/// form (bits 0-1: the rest as text; as the octets of an OpenPGP key, armored, with its
/// CRC when bit 2 is set; as the octets of an OpenSSH key, armored) and the passphrase
/// (bits 4-5). Then:
///
/// - never a panic, never a hang (libFuzzer's `-timeout`);
/// - a refusal is `source: ` and a fixed sentence (`KEY_REFUSALS`, or an algorithm name
///   that cannot sign): never a byte of the key or of the passphrase;
/// - a key that reads describes itself and signs without a panic.
///
/// An OpenSSH key is read without a passphrase: its bcrypt-pbkdf rounds are the key's own
/// choice (`ssh-keygen -a`, up to 2^32), so a fuzzed one would only time ssh-key's KDF.
pub fn signkey(data: &[u8]) {
    use gitops_update::sign::Signer;
    let [form, bytes @ ..] = data else {
        return;
    };
    if bytes.len() > 16384 {
        return;
    }
    let text = match form & 3 {
        1 | 3 => armored("PGP PRIVATE KEY BLOCK", bytes, form & 4 != 0),
        2 => armored("OPENSSH PRIVATE KEY", bytes, false),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    let pass = match PASSPHRASES[usize::from(form >> 4 & 3)] {
        Some(_) if text.contains("OPENSSH PRIVATE KEY") => None,
        pass => pass,
    };
    match Signer::parse(&text, pass, "GITOPS_SIGNING_KEY") {
        Ok(signer) => {
            let _ = signer.sign(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nfuzz\n");
            let _ = (signer.describe(), signer.account_key(), signer.emails());
        }
        Err(e) => {
            let msg = e.to_string();
            let why = msg
                .strip_prefix("GITOPS_SIGNING_KEY: ")
                .unwrap_or_else(|| panic!("a refusal without its source: {msg:?}"));
            let named = why
                .strip_suffix(" keys cannot sign here; use ed25519, ECDSA (P-256 or P-384) or RSA")
                .is_some_and(|alg| SSH_ALGORITHMS.contains(&alg));
            assert!(
                KEY_REFUSALS.contains(&why) || named,
                "a refusal that is not one of the fixed sentences: {msg:?}"
            );
        }
    }
}
