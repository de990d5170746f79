//! The fuzz targets' properties (fuzz/checks.rs), replayed on stable Rust: over seeds made
//! from testdata/ and over the committed corpora that cargo-fuzz grew from them, findings
//! included. `cargo +nightly fuzz run <target>` explores; this keeps what it found fixed.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::testdata;

#[path = "../../fuzz/checks.rs"]
pub mod checks;

/// The corpus cargo-fuzz grew, and the inputs that once failed (fuzz/findings).
fn corpus(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files: Vec<PathBuf> = ["corpus", "findings"]
        .iter()
        .flat_map(|d| {
            fs::read_dir(fuzz.join(d).join(target))
                .map(|rd| rd.map(|e| e.unwrap().path()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    files.sort();
    files
}

/// Every YAML file under testdata/, and every expression of the golden cases.
fn testdata_files(name: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![testdata()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if name(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs `check` over the inputs on a thread with the binary's stack (`stack::SIZE`): the
/// engine takes files and expressions 1,000 levels deep, which a test thread's default
/// stack does not hold in a debug build.
fn replay(inputs: impl IntoIterator<Item = Vec<u8>>, check: fn(&[u8])) -> usize {
    let inputs: Vec<Vec<u8>> = inputs.into_iter().collect();
    std::thread::Builder::new()
        .stack_size(gitops_update::stack::SIZE)
        .spawn(move || {
            for input in &inputs {
                check(input);
            }
            inputs.len()
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

#[test]
fn splice_properties_hold_on_seeds_and_corpus() {
    let yaml = testdata_files(|p| p.extension().is_some_and(|e| e == "yaml"));
    assert!(yaml.len() >= 100, "only {} YAML files", yaml.len());
    // Seeds: each file with a few selectors, and with a string value after NUL.
    let seeds = yaml.iter().flat_map(|p| {
        let bytes = fs::read(p).unwrap();
        (0u8..4).map(move |sel| {
            let mut v = vec![sel.wrapping_mul(7), sel.wrapping_mul(5)];
            v.extend_from_slice(&bytes);
            if sel % 2 == 1 {
                v.extend_from_slice(b"\0it's: a #value\n");
            }
            v
        })
    });
    let from_seeds = replay(seeds, checks::splice);
    let from_corpus = replay(
        corpus("splice").iter().map(|p| fs::read(p).unwrap()),
        checks::splice,
    );
    eprintln!("splice: {from_seeds} seeds, {from_corpus} corpus inputs");
}

#[test]
fn yaml_1_1_readers_read_what_was_written_on_seeds_and_corpus() {
    let mut yaml = testdata_files(|p| p.extension().is_some_and(|e| e == "yaml"))
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect::<Vec<_>>();
    // Every scalar style that the writer keeps, the block styles first among them.
    yaml.push(
        b"config: |\n  log_level = info\nfolded: >-\n  a\n  b\nq: 'x'\nd: \"y\"\np: z\n".to_vec(),
    );
    // The value after NUL: bytes 1, 2, 3 stand for U+2028, U+2029, U+0085.
    const VALUES: &[&[u8]] = &[
        b"log_level = debug\x01hostNetwork: true\x01hostPID: true",
        b"a\x02b\x03c\n",
        b"\x01",
        b"x\ny\x01z\n",
    ];
    let seeds = yaml.iter().flat_map(|bytes| {
        (0u8..8).map(move |sel| {
            let mut v = vec![sel.wrapping_mul(3)];
            v.extend_from_slice(bytes);
            v.push(0);
            v.extend_from_slice(VALUES[sel as usize % VALUES.len()]);
            v
        })
    });
    let from_seeds = replay(seeds, checks::yaml11);
    let from_corpus = replay(
        corpus("yaml11").iter().map(|p| fs::read(p).unwrap()),
        checks::yaml11,
    );
    eprintln!("yaml11: {from_seeds} seeds, {from_corpus} corpus inputs");
}

#[test]
fn template_properties_hold_on_seeds_and_corpus() {
    let exprs = testdata_files(|p| p.file_name().is_some_and(|n| n == "expr"));
    assert!(exprs.len() >= 50, "only {} expressions", exprs.len());
    const VERSIONS: &[&str] = &[
        "1.2.3",
        "\") | .x = (\"",
        "\\(1+1)",
        "{{VERSION}}",
        "$VERSION",
        "a\nb",
        "\u{0}",
    ];
    let seeds = exprs.iter().flat_map(|p| {
        let tpl = fs::read(p).unwrap();
        VERSIONS.iter().map(move |v| {
            let mut s = tpl.clone();
            s.push(0);
            s.extend_from_slice(v.as_bytes());
            s
        })
    });
    let from_seeds = replay(seeds, checks::template);
    let from_corpus = replay(
        corpus("template").iter().map(|p| fs::read(p).unwrap()),
        checks::template,
    );
    eprintln!("template: {from_seeds} seeds, {from_corpus} corpus inputs");
}

#[test]
fn structure_properties_hold_on_seeds_and_corpus() {
    let yaml = testdata_files(|p| p.extension().is_some_and(|e| e == "yaml"));
    // Seeds: each file under every structural operation, each aimed at another node.
    let seeds = yaml.iter().flat_map(|p| {
        let bytes = fs::read(p).unwrap();
        (0u8..12).map(move |op| {
            let mut v = vec![op, op.wrapping_mul(5), op.wrapping_mul(7)];
            v.extend_from_slice(&bytes);
            v
        })
    });
    let from_seeds = replay(seeds, checks::structure);
    let from_corpus = replay(
        corpus("structure").iter().map(|p| fs::read(p).unwrap()),
        checks::structure,
    );
    eprintln!("structure: {from_seeds} seeds, {from_corpus} corpus inputs");
}

#[test]
fn signing_keys_are_refused_in_fixed_sentences_on_corpus() {
    // The corpus holds its seeds (throwaway keys gpg and ssh-keygen made for it, and their
    // truncations) and fuzz/findings/signkey.
    let inputs = corpus("signkey");
    assert!(inputs.len() >= 20, "only {} signkey inputs", inputs.len());
    let n = replay(inputs.iter().map(|p| fs::read(p).unwrap()), checks::signkey);
    eprintln!("signkey: {n} corpus inputs");
}
