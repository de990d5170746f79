//! Golden edits: `testdata/edits/<case>/` holds `in.yaml`, `expr`, optionally `vars`
//! (`NAME=VALUE` lines, bound as `--arg`), and either `out.yaml` (the expected bytes) or
//! `error` (text the error message must contain). Set `GOLDEN_BLESS=1` to write missing
//! `out.yaml` files, then review every one of them by eye before committing.

use std::fs;
use std::path::{Path, PathBuf};

use gitops_update::edit;
use gitops_update::expr::{Bindings, EnvPolicy, Program};

use crate::common::{assert_same_text, testdata, text_diff};

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(testdata().join("edits"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn bindings(case: &Path) -> Bindings {
    let mut args: Vec<(String, String)> = fs::read_to_string(case.join("vars"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').expect("vars lines are NAME=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect();
    // The version every case's {{VERSION}} stands for, as the CLI binds it.
    args.insert(0, ("VERSION".to_string(), "9.9.9".to_string()));
    Bindings {
        args,
        env: [("VERSION".to_string(), "9.9.9".to_string())].into(),
        policy: EnvPolicy::DenySecrets,
        placeholders: Default::default(),
    }
}

fn run_case(case: &Path) -> Result<edit::Edited, gitops_update::Error> {
    let input = fs::read(case.join("in.yaml")).unwrap();
    let expr = fs::read_to_string(case.join("expr")).unwrap();
    let program = Program::compile(expr.trim_end_matches('\n'), &bindings(case))?;
    edit::edit(&input, "in.yaml", &program)
}

/// The fast way (values built only where the expression can reach) gives exactly what the
/// whole load gives, on every case it takes; and it takes most of them.
#[test]
fn the_reach_edit_matches_the_whole_load() {
    let mut taken = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let input = fs::read(case.join("in.yaml")).unwrap();
        let expr = fs::read_to_string(case.join("expr")).unwrap();
        let Ok(program) = Program::compile(expr.trim_end_matches('\n'), &bindings(&case)) else {
            continue;
        };
        let Some(fast) = edit::edit_reach(&input, "in.yaml", &program) else {
            continue;
        };
        let whole = edit::edit_whole(&input, "in.yaml", &program).unwrap_or_else(|e| {
            panic!("{name}: the fast way succeeded where the whole load failed: {e}")
        });
        if let Some(diff) = text_diff(&whole.text, &fast.text) {
            panic!("{name}: the fast way wrote other bytes\n{diff}");
        }
        assert_eq!(
            (fast.changed, &fast.notes),
            (whole.changed, &whole.notes),
            "{name}"
        );
        taken.push(name);
    }
    eprintln!("{} of the cases took the fast way", taken.len());
    assert!(
        taken.len() >= 40,
        "only {} cases took the fast way: {taken:?}",
        taken.len()
    );
}

/// A values file long enough for the verifier's sync points (one every 4 KiB of the root
/// mapping): edits at its start, middle and end, keys added, items selected, several
/// updates at once. The fast way must take each and write the whole load's bytes.
#[test]
fn the_reach_edit_matches_the_whole_load_on_a_long_file() {
    let mut src = String::from(
        "# values\nimage:\n  repository: ghcr.io/acme/app\n  tag: \"1.0.0\"  # bumped by CI\n\n",
    );
    for i in 0..600 {
        src.push_str(&format!(
            "svc{i}:\n  enabled: true   # service {i}\n  image: {{repository: ghcr.io/acme/svc{i}, tag: 'v{i}.0.1'}}\n  env:\n    - name: KEY_{i}\n      value: \"value-{i}\"\n\n"
        ));
    }
    src.push_str(
        "last:\n  images:\n    - name: app\n      newTag: v1\n    - name: db\n      newTag: v2\n",
    );
    let b = Bindings {
        args: vec![("VERSION".into(), "9.9.9".into())],
        env: Default::default(),
        policy: EnvPolicy::DenySecrets,
        placeholders: Default::default(),
    };
    for expr in [
        r#".image.tag = "{{VERSION}}""#,
        r#".svc300.image.tag = "v300.0.2""#,
        r#".svc599.env[0].value = "changed" | .image.tag = "2""#,
        r#"(.last.images[] | select(.name == "db")).newTag = "{{VERSION}}""#,
        r#".image.digest = "sha256:abc""#,
        r#".newkey = {"a": [1, 2]}"#,
        r#".svc10.enabled |= not"#,
        r#".image.tag = "1.0.0""#,
    ] {
        let program = Program::compile(expr, &b).unwrap();
        let fast = edit::edit_reach(src.as_bytes(), "values.yaml", &program)
            .unwrap_or_else(|| panic!("{expr}: the fast way was not taken"));
        let whole = edit::edit_whole(src.as_bytes(), "values.yaml", &program).unwrap();
        if let Some(diff) = text_diff(&whole.text, &fast.text) {
            panic!("{expr}: the fast way wrote other bytes\n{diff}");
        }
        assert_eq!(fast.changed, whole.changed, "{expr}");
    }
}

#[test]
fn golden_edits() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} golden cases", cases.len());
    let bless = std::env::var_os("GOLDEN_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let result = run_case(case);
        let error_file = case.join("error");
        let out_file = case.join("out.yaml");
        match (result, error_file.exists()) {
            (Ok(edited), false) => {
                if bless && !out_file.exists() {
                    fs::write(&out_file, &edited.text).unwrap();
                }
                let expected = fs::read_to_string(&out_file)
                    .unwrap_or_else(|_| panic!("{name}: no out.yaml (GOLDEN_BLESS=1 writes it)"));
                if let Some(diff) = text_diff(&expected, &edited.text) {
                    failures.push(format!(
                        "{name}: output differs from the expected bytes\n{diff}"
                    ));
                }
            }
            (Ok(edited), true) => failures.push(format!(
                "{name}: expected an error, got output:\n{}",
                edited.text
            )),
            (Err(e), true) => {
                let want = fs::read_to_string(&error_file).unwrap();
                let msg = e.to_string();
                if !msg.contains(want.trim_end()) {
                    failures.push(format!("{name}: error {msg:?} does not contain {want:?}"));
                }
                if e.exit_code() != 2 {
                    failures.push(format!(
                        "{name}: exit code {} for {msg:?}, expected 2",
                        e.exit_code()
                    ));
                }
            }
            (Err(e), false) => failures.push(format!("{name}: unexpected error: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Every YAML file under testdata/ comes back byte for byte from `.` and from assigning a
/// value to itself, whatever its comments, quoting, layout or encoding.
#[test]
fn identity_and_noop_keep_every_byte() {
    let noop =
        "if type == \"object\" and length > 0 then (keys_unsorted[0]) as $k | .[$k] = .[$k] \
                elif type == \"array\" and length > 0 then .[0] = .[0] else . end";
    let b = Bindings {
        args: vec![],
        env: Default::default(),
        policy: EnvPolicy::DenySecrets,
        placeholders: Default::default(),
    };
    let identity = Program::compile(".", &b).unwrap();
    let noop = Program::compile(noop, &b).unwrap();
    let mut files = Vec::new();
    collect_yaml(&testdata(), &mut files);
    let mut checked = 0;
    for f in &files {
        let bytes = fs::read(f).unwrap();
        let Ok(edited) = edit::edit(&bytes, "f", &identity) else {
            continue; // invalid on purpose (error cases)
        };
        let name = f.display().to_string();
        assert_same_text(
            &format!("{name} with `.`"),
            &String::from_utf8_lossy(&bytes),
            &edited.text,
        );
        assert!(!edited.changed, "{name}");
        let again = edit::edit(&bytes, "f", &noop).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_text(
            &format!("{name} with a no-op assignment"),
            &String::from_utf8_lossy(&bytes),
            &again.text,
        );
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} YAML files checked");
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}
