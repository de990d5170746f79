//! A sweep over every scalar of every YAML file in testdata/: each is assigned awkward values
//! (strings that YAML would retype, indicators, line breaks, quotes, numbers, null), and each
//! mapping key is deleted. Every edit must either be refused with a clear error (aliases,
//! merge keys) or read back as intended (the engine checks that) with every byte outside the
//! changed node's lines untouched (checked here).

use std::fs;
use std::path::{Path, PathBuf};

use gitops_update::edit;
use gitops_update::expr::Program;
use gitops_update::yaml::index::{self, Keep};

use crate::common::testdata;
use crate::fuzz_replay::checks::{
    bindings, changed_range, refused_by_design, scalars, Scalar, AWKWARD as VALUES,
};

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
    let identity = Program::compile(".", &bindings(&[])).unwrap();
    if edit::edit(&bytes, "f", &identity).is_err() {
        return 0; // invalid on purpose (an error case)
    }
    let mut checked = 0;
    for (di, doc) in idx.docs.iter().enumerate() {
        let Some(root) = &doc.root else { continue };
        let mut found = Vec::new();
        scalars(root, &mut Vec::new(), src, &mut found);
        for Scalar { path: p, lines } in found {
            if p == "." {
                continue;
            }
            for v in VALUES {
                let expr = format!("if documentIndex == {di} then {p} = {v} else . end");
                checked += 1;
                let Ok(program) = Program::compile(&expr, &bindings(&[])) else {
                    failures.push(format!("{}: {expr}: does not compile", path.display()));
                    continue;
                };
                match edit::edit(&bytes, "f", &program) {
                    Ok(e) => {
                        let changed = changed_range(&bytes, e.text.as_bytes());
                        if e.changed && (changed.start < lines.start || changed.end > lines.end) {
                            failures.push(format!(
                                "{}: {expr}: bytes {changed:?} changed, outside the node's lines {lines:?}\n{}",
                                path.display(),
                                e.text
                            ));
                        }
                    }
                    Err(err) if refused_by_design(&err.to_string()) => {}
                    Err(err) => failures.push(format!("{}: {expr}: {err}", path.display())),
                }
            }
            // Deleting the scalar's key or item must read back too.
            let expr = format!("if documentIndex == {di} then del({p}) else . end");
            if let Ok(program) = Program::compile(&expr, &bindings(&[])) {
                checked += 1;
                if let Err(err) = edit::edit(&bytes, "f", &program) {
                    if !refused_by_design(&err.to_string()) {
                        failures.push(format!("{}: {expr}: {err}", path.display()));
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
