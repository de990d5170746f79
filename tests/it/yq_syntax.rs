//! yq's spellings through the real binary: path elements with dashes (`.ingress-nginx`),
//! the spelling an error suggests when jq's reading remains, and versions pinned to a digest.

use std::fs;

use crate::common::run::{ok, remote, workflow, VALUES};
use crate::common::{assert_same_text, bin, run};

const UMBRELLA: &str = "# umbrella\ningress-nginx:\n  controller:\n    image:\n      tag: \"1.9.4\" # CI\ncert-manager:\n  installCRDs: false\n";

const HEX64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn umbrella() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("values.yaml");
    fs::write(&path, UMBRELLA).unwrap();
    (dir, path)
}

#[test]
fn eval_reads_dashed_path_elements_as_keys() {
    let (_d, path) = umbrella();
    let r = run(bin()
        .args([
            "eval",
            ".ingress-nginx.controller.image.tag = \"{{VERSION}}\" | .cert-manager.installCRDs = true",
            "--arg",
            "VERSION",
            "2.0.0",
        ])
        .arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same_text(
        "stdout",
        &UMBRELLA
            .replace("1.9.4", "2.0.0")
            .replace("installCRDs: false", "installCRDs: true"),
        &r.stdout,
    );
}

#[test]
fn subtraction_is_spelled_with_parentheses_or_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.yaml");
    fs::write(&path, "a: 5\na-1: key\n").unwrap();
    for (expr, want) in [(".a-1", "key\n"), ("(.a) - 1", "4\n"), (".a - 1", "4\n")] {
        let r = run(bin().args(["eval", expr]).arg(&path));
        assert_eq!(r.code, 0, "{expr}: {}", r.stderr);
        assert_eq!(r.stdout, want, "{expr}");
    }
}

/// The first line of stderr, which must carry the whole message.
fn first_line(stderr: &str) -> &str {
    stderr.lines().next().unwrap_or_default()
}

#[test]
fn a_dash_jq_still_reads_as_subtraction_gets_the_spelling_that_works() {
    let (_d, path) = umbrella();
    let r = run(bin()
        .args(["eval", ".\"ingress\"-nginx.controller = 1"])
        .arg(&path));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let line = first_line(&r.stderr);
    assert!(
        line.contains("undefined function `nginx`")
            && line.contains("for the key ingress-nginx write .\"ingress-nginx\""),
        "{}",
        r.stderr
    );
    assert!(
        line.contains("column 12"),
        "the caret stays on the user's text: {line}"
    );
}

/// yq reads `.containers.0` as the first item of a sequence and the key "0" of a mapping
/// (pkg/yqlib/operator_traverse_path.go); jq cannot parse it. Only that item's bytes change.
#[test]
fn a_numeric_path_element_is_an_index_or_a_key_as_in_yq() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.yaml");
    let text = "spec:\n  containers:\n    - name: app   # main\n      image: app:1.0\n    - name: side\n      image: side:1.0\nports: {\"0\": http}\n";
    fs::write(&path, text).unwrap();
    let r = run(bin()
        .args(["eval", "-i", ".spec.containers.0.image = \"app:2.0\""])
        .arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        text.replace("app:1.0", "app:2.0")
    );
    let r = run(bin()
        .args(["eval", ".ports.0, .spec.containers.1.name"])
        .arg(&path));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "http\nside\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_version_pinned_to_a_digest_is_written_and_feeds_digest() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let version = format!("1.2.3@sha256:{HEX64}");
    let r = run(workflow(cwd.path(), &remote.file_url())
        .env("VERSION", &version)
        .env(
            "YQ_TPL",
            ".image.tag = \"{{VERSION}}\" | .image.digest = \"{{DIGEST}}\"",
        ));
    ok(&r);
    // The quoted value stays quoted; the new one is plain, which YAML reads back the same.
    assert_eq!(
        remote.show("main", "charts/app/values.yaml"),
        VALUES.replace(
            "  tag: \"1.0.0\"  # bumped by CI\n",
            &format!("  tag: \"{version}\"  # bumped by CI\n  digest: sha256:{HEX64}\n")
        )
    );
    assert!(
        remote
            .message("main")
            .starts_with(&format!("[skip ci] gitops: update version to {version}\n")),
        "{}",
        remote.message("main")
    );
}

#[test]
fn a_bare_digest_and_the_digest_flag_are_accepted() {
    for (version, digest) in [
        (format!("sha256:{HEX64}"), None),
        ("1.2.3".to_string(), Some(format!("sha256:{HEX64}"))),
        (
            format!("1.2.3@sha256:{HEX64}"),
            Some(format!("sha256:{HEX64}")),
        ),
        ("1.2.3".to_string(), Some(format!("sha512:{HEX64}{HEX64}"))),
    ] {
        let remote = remote();
        let cwd = tempfile::tempdir().unwrap();
        let mut cmd = workflow(cwd.path(), &remote.file_url());
        cmd.env("VERSION", &version)
            .env("YQ_TPL", ".image.digest = \"{{DIGEST}}\"");
        if let Some(d) = &digest {
            cmd.args(["run", "--digest", d]);
        }
        let r = run(&mut cmd);
        ok(&r);
        let want = digest.clone().unwrap_or_else(|| version.clone());
        assert!(
            remote
                .show("main", "charts/app/values.yaml")
                .contains(&format!("\n  digest: {want}\n")),
            "{version} {digest:?}"
        );
    }
}

#[test]
fn malformed_digests_are_refused_naming_what_is_wrong() {
    let short = &HEX64[1..];
    let upper = HEX64.to_uppercase();
    for (version, digest, want) in [
        (
            format!("1.2.3@sha256:{short}"),
            None,
            "after the `@`, a sha256 digest has 64 hex digits, not 63",
        ),
        (
            format!("1.2.3@md5:{HEX64}"),
            None,
            "after the `@`, the digest algorithm \"md5\" is not sha256 or sha512",
        ),
        (
            format!("1.2.3@sha256:{upper}"),
            None,
            "the sha256 digest holds an upper-case hex digit",
        ),
        (
            format!("1.2.3@sha256:{}g", short),
            None,
            "the sha256 digest holds \"g\", not a hex digit",
        ),
        (
            "1.2.3@latest".to_string(),
            None,
            "after the `@`, \"latest\" is not a digest",
        ),
        (
            format!("@sha256:{HEX64}"),
            None,
            "nothing stands before the `@`",
        ),
        (
            format!("sha512:{HEX64}"),
            None,
            "a sha512 digest has 128 hex digits, not 64",
        ),
        (
            "1.2.3".to_string(),
            Some("sha1:abc".to_string()),
            "invalid digest \"sha1:abc\": the digest algorithm \"sha1\" is not sha256 or sha512",
        ),
        (
            format!("1.2.3@sha256:{HEX64}"),
            Some(format!("sha256:{}0", short)),
            "differs from the digest the version",
        ),
    ] {
        let remote = remote();
        let before = remote.tip("main");
        let cwd = tempfile::tempdir().unwrap();
        let mut cmd = workflow(cwd.path(), &remote.file_url());
        cmd.env("VERSION", &version);
        if let Some(d) = &digest {
            cmd.args(["run", "--digest", d]);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 2, "{version}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        assert!(r.stderr.contains(want), "{version}: {}", r.stderr);
        assert_eq!(remote.tip("main"), before, "{version}: nothing pushed");
    }
}

#[test]
fn digest_placeholder_without_a_digest_says_how_to_give_one() {
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let r =
        run(workflow(cwd.path(), &remote.file_url())
            .env("YQ_TPL", ".image.digest = \"{{DIGEST}}\""));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--digest"), "{}", r.stderr);
}

/// yq's `{.name: .age}` takes the key from a path (jq's `{(.name): .age}`), and `~` is null
/// (pkg/yqlib/operator_collect_object.go, lexer_participle.go); jq parses neither.
#[test]
fn yq_object_keys_from_paths_and_the_null_tilde() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.yaml");
    fs::write(&path, "name: app\nage: 3\nx: 1  # kept\n").unwrap();
    let r = run(bin()
        .args(["eval", "-o", "json", "-I", "0", "{.name: .age}"])
        .arg(&path));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"app\":3}\n"),
        "{}",
        r.stderr
    );
    let r = run(bin()
        .args(["eval", "-i", "select(.x != ~) | .x = ~"])
        .arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "name: app\nage: 3\nx: null  # kept\n"
    );
}
