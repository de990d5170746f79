//! Hostile input, round two (issue 26): the file, the expression and the source fields come
//! from whoever can commit or dispatch; each test here failed on the binary before it.

use crate::common::git::Remote;
use crate::common::{bin, run};

/// A value that YAML 1.2 reads as one string and a YAML 1.1 reader (go-yaml: Helm, Argo CD,
/// kustomize, Flux) would read as three lines, i.e. two new top-level keys, when written
/// raw into a block scalar: it is written escaped, so both read the one string.
#[test]
fn a_line_separator_never_reaches_a_block_scalar_raw() {
    let policy = "files:\n  values.yaml: [.image.tag, .config]\n";
    let values = "image:\n  tag: \"1.0.0\"\nconfig: |\n  log_level = info\n";
    let remote = Remote::new(&[(".gitops-update.yaml", policy), ("values.yaml", values)]);
    let cwd = tempfile::tempdir().unwrap();
    let r = run(bin().current_dir(cwd.path()).args([
        "run",
        "--repo",
        &remote.file_url(),
        "--version",
        "2.0.0",
        "--set",
        "values.yaml=.config = \"log_level = debug\\u2028hostNetwork: true\\u2029hostPID: true\\u0085x\"",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = remote.show("main", "values.yaml");
    assert_eq!(
        file,
        "image:\n  tag: \"1.0.0\"\nconfig: \"log_level = debug\\u2028hostNetwork: true\\u2029hostPID: true\\x85x\"\n"
    );
    assert!(
        !file.contains(['\u{85}', '\u{2028}', '\u{2029}']),
        "{file:?}"
    );
}
