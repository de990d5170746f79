//! A sweep over every scalar of every YAML file in testdata/: each is assigned awkward values
//! (strings that YAML would retype, indicators, line breaks, quotes, numbers, null), and each
//! mapping key is deleted. Every edit must either be refused with a clear error (aliases,
//! merge keys) or read back as intended (the engine checks that) with every byte outside the
//! changed node's lines untouched (checked here).

use std::fs;
use std::path::{Path, PathBuf};

use gitops_update::edit;
use gitops_update::jq::{Bindings, EnvPolicy, Program};
use gitops_update::yaml::index::{self, Keep, Kind, Node};

use crate::common::testdata;

const VALUES: &[&str] = &[
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

fn bindings() -> Bindings {
    Bindings {
        args: vec![],
        env: Default::default(),
        policy: EnvPolicy::DenySecrets,
    }
}

/// Every scalar with its jq path and the byte range of its lines.
fn scalars(node: &Node, path: &mut Vec<String>, src: &str, out: &mut Vec<(String, usize, usize)>) {
    match &node.kind {
        Kind::Scalar { .. } => {
            let start = src[..node.start].rfind('\n').map_or(0, |n| n + 1);
            let end = src[node.end..]
                .find('\n')
                .map_or(src.len(), |n| node.end + n + 1);
            out.push((format!(".{}", path.concat()), start, end));
        }
        Kind::Map { entries, .. } => {
            for e in entries {
                if let Kind::Scalar { value, .. } = &e.key.kind {
                    if value == "<<" {
                        continue;
                    }
                    path.push(format!("[{}]", serde_string(value)));
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

fn serde_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inputs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(testdata().join("edits"))
        .unwrap()
        .map(|e| e.unwrap().path().join("in.yaml"))
        .chain(
            fs::read_dir(testdata().join("examples"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        )
        .filter(|p| p.exists())
        .collect();
    files.sort();
    files
}

fn check_file(path: &Path, failures: &mut Vec<String>) -> usize {
    let bytes = fs::read(path).unwrap();
    let Ok(src) = std::str::from_utf8(&bytes) else {
        return 0;
    };
    let Ok(idx) = index::index(src, "f", Keep::All) else {
        return 0;
    };
    let identity = Program::compile(".", &bindings()).unwrap();
    if edit::edit(&bytes, "f", &identity).is_err() {
        return 0; // invalid on purpose (an error case)
    }
    let mut checked = 0;
    for (di, doc) in idx.docs.iter().enumerate() {
        let Some(root) = &doc.root else { continue };
        let mut found = Vec::new();
        scalars(root, &mut Vec::new(), src, &mut found);
        for (p, line_start, line_end) in found {
            if p == "." {
                continue;
            }
            for v in VALUES {
                let expr = format!("if documentIndex == {di} then {p} = {v} else . end");
                checked += 1;
                let Ok(program) = Program::compile(&expr, &bindings()) else {
                    failures.push(format!("{}: {expr}: does not compile", path.display()));
                    continue;
                };
                match edit::edit(&bytes, "f", &program) {
                    Ok(e) => {
                        let out = e.text.as_bytes();
                        let pre = bytes.iter().zip(out).take_while(|(a, b)| a == b).count();
                        let max_suf = bytes.len().min(out.len()) - pre;
                        let suf = bytes
                            .iter()
                            .rev()
                            .zip(out.iter().rev())
                            .take(max_suf)
                            .take_while(|(a, b)| a == b)
                            .count();
                        let changed = pre..bytes.len() - suf;
                        if e.changed && (changed.start < line_start || changed.end > line_end) {
                            failures.push(format!(
                                "{}: {expr}: bytes {changed:?} changed, outside the node's lines {line_start}..{line_end}\n{}",
                                path.display(),
                                e.text
                            ));
                        }
                    }
                    Err(err) => {
                        let msg = err.to_string();
                        if !(msg.contains("alias") || msg.contains("merge key")) {
                            failures.push(format!("{}: {expr}: {msg}", path.display()));
                        }
                    }
                }
            }
            // Deleting the scalar's key or item must read back too.
            let expr = format!("if documentIndex == {di} then del({p}) else . end");
            if let Ok(program) = Program::compile(&expr, &bindings()) {
                checked += 1;
                if let Err(err) = edit::edit(&bytes, "f", &program) {
                    let msg = err.to_string();
                    if !(msg.contains("alias") || msg.contains("merge key")) {
                        failures.push(format!("{}: {expr}: {msg}", path.display()));
                    }
                }
            }
        }
    }
    checked
}

#[test]
fn every_scalar_takes_every_awkward_value() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in inputs() {
        checked += check_file(&f, &mut failures);
    }
    assert!(checked > 5000, "only {checked} edits checked");
    if let Ok(dump) = std::env::var("SWEEP_DUMP") {
        fs::write(dump, failures.join("\n\n")).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} edits failed; the first ones:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
