//! The GitOps repo's policy (`.gitops-update.yaml`) through real runs: refused edits exit 2
//! naming the rule, before anything is committed.

use crate::common::git::Remote;
use crate::common::{bin, run, Run};

const POLICY: &str = "# Only version bumps, please.\nfiles:\n  dev/Chart.yaml: [.version, .appVersion]\n  \"*/values.yaml\": [.image.tag]\n";
const VALUES: &str = "image:\n  tag: \"1.0.0\"\nreplicas: 2\n";
const CHART: &str = "name: app\nversion: 1.0.0\nappVersion: \"1.0.0\"\n";

fn remote() -> Remote {
    Remote::new(&[
        (".gitops-update.yaml", POLICY),
        ("dev/values.yaml", VALUES),
        ("dev/Chart.yaml", CHART),
        ("prod/Chart.yaml", CHART),
    ])
}

fn update(remote: &Remote, sets: &[&str]) -> Run {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.current_dir(cwd.path())
        .args(["run", "--repo", &remote.file_url(), "--version", "2.0.0"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    run(&mut cmd)
}

#[test]
fn allowed_paths_pass() {
    let remote = remote();
    let r = update(
        &remote,
        &[
            "dev/values.yaml=.image.tag = \"{{VERSION}}\"",
            "dev/Chart.yaml=.version = \"{{VERSION}}\" | .appVersion = \"{{VERSION}}\"",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(remote
        .show("main", "dev/values.yaml")
        .contains("tag: \"2.0.0\""));
}

#[test]
fn a_path_outside_the_rule_is_refused_and_nothing_is_committed() {
    let remote = remote();
    let before = remote.tip("main");
    // The allowed edit in the same run does not land either: one commit or none.
    let r = update(
        &remote,
        &[
            "dev/Chart.yaml=.version = \"{{VERSION}}\"",
            "dev/values.yaml=.image.tag = \"{{VERSION}}\" | .replicas = 0",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().last().unwrap(),
        "error: dev/values.yaml: refused: .gitops-update.yaml allows `*/values.yaml` to change only .image.tag, and this update changes .replicas"
    );
    assert_eq!(remote.tip("main"), before);
}

#[test]
fn every_spelling_of_an_assignment_is_caught() {
    let remote = remote();
    for expr in [
        "with(.image; .pullPolicy = \"Always\")",
        "del(.replicas)",
        ".replicas |= . + 1",
        ". + {\"x\": 1}",
    ] {
        let r = update(&remote, &[&format!("dev/values.yaml={expr}")]);
        assert_eq!(r.code, 2, "{expr}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("allows `*/values.yaml` to change only .image.tag"),
            "{expr}: {}",
            r.stderr
        );
    }
}

#[test]
fn a_file_the_policy_does_not_list_is_refused() {
    let remote = remote();
    let r = update(&remote, &["prod/Chart.yaml=.version = \"{{VERSION}}\""]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("prod/Chart.yaml: refused: .gitops-update.yaml does not list this file"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_policy_file_is_never_a_target() {
    let remote = remote();
    let r = update(&remote, &[".gitops-update.yaml=.files[\"**\"] = [\".\"]"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the policy file can never be changed by an update"),
        "{}",
        r.stderr
    );
    assert_eq!(remote.show("main", ".gitops-update.yaml"), POLICY);
}

#[test]
fn a_malformed_policy_stops_every_update() {
    let remote = Remote::new(&[
        (".gitops-update.yaml", "files: [dev/values.yaml]\n"),
        ("dev/values.yaml", VALUES),
    ]);
    let r = update(&remote, &["dev/values.yaml=.image.tag = \"{{VERSION}}\""]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(".gitops-update.yaml: refused: it has no `files:` mapping"),
        "{}",
        r.stderr
    );
}
