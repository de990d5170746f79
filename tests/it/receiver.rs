//! `gitops-update workflow`: the GitOps repo's receiver generated from `.gitops-update.yaml`,
//! compared as bytes with golden files; `--check` both ways; every bad config refused.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{bin, run, testdata, text_diff, Run};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The shipped record-only template: the golden file for every config without `on_update`.
fn record_only() -> String {
    fs::read_to_string(root().join("examples/workflows/gitops-service.yaml")).unwrap()
}

fn golden(name: &str) -> String {
    fs::read_to_string(testdata().join("workflow").join(name)).unwrap()
}

/// Runs `workflow` in `dir`, with `config` as its `.gitops-update.yaml` (None: no file).
fn generate(dir: &Path, config: Option<&str>, args: &[&str]) -> Run {
    let path = dir.join(".gitops-update.yaml");
    match config {
        Some(c) => fs::write(&path, c).unwrap(),
        None => {
            let _ = fs::remove_file(&path);
        }
    }
    run(bin().current_dir(dir).arg("workflow").args(args))
}

fn same(expected: &str, actual: &str, what: &str) {
    if let Some(d) = text_diff(expected, actual) {
        panic!("{what}:\n{d}");
    }
}

#[test]
fn without_a_config_it_is_the_shipped_record_only_template() {
    let dir = tempfile::tempdir().unwrap();
    let r = generate(dir.path(), None, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    same(&record_only(), &r.stdout, "no config");
    assert!(r.stderr.contains("record-only"), "{}", r.stderr);
    // The template declares no deploy input and no job but the update.
    assert!(!r.stdout.contains("deploy_name"));
}

#[test]
fn golden_receivers_with_deploy_jobs() {
    let dir = tempfile::tempdir().unwrap();
    for case in ["one-deploy", "two-deploys"] {
        let config = golden(&format!("{case}.config.yaml"));
        let r = generate(dir.path(), Some(&config), &[]);
        assert_eq!(r.code, 0, "{case}: {}", r.stderr);
        same(&golden(&format!("{case}.workflow.yaml")), &r.stdout, case);
        // The deploy output is the record-only text with the input and the jobs added:
        // every line of the template is in it, in order.
        let mut lines = r.stdout.lines();
        let unchanged_head = record_only()
            .lines()
            .filter(|l| !l.starts_with("    runs-on:"))
            .all(|t| lines.any(|l| l == t));
        assert!(unchanged_head, "{case}: the record-only text is not kept");
    }
    // A remote reference not pinned to a commit is allowed, with a note saying why it matters.
    let r = generate(
        dir.path(),
        Some("components:\n  api:\n    on_update:\n      deploy:\n        workflow: acme/lib/.gitea/workflows/d.yml@v1\n"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .contains("    uses: acme/lib/.gitea/workflows/d.yml@v1\n"));
    assert!(r.stderr.contains("not pinned to a commit"), "{}", r.stderr);
}

/// Components without `on_update`, `files:` in any order, comments anywhere: the record-only
/// receiver never changes by a byte.
#[test]
fn nothing_but_on_update_changes_the_record_only_receiver() {
    let want = record_only();
    let dir = tempfile::tempdir().unwrap();
    let files = [
        "  \"charts/*/values.yaml\": [.image.tag]  # the tag only\n",
        "  dev/Chart.yaml: [.version, .appVersion]\n",
        "  \"**/kustomization.yaml\": ['.images[0].newTag']\n",
    ];
    let components = [
        "  web: {}\n",
        "  api:\n    description: the public API   # not read by the generator\n",
        "  # a comment between components\n  worker:\n",
        "  agent-platform-docker:\n    file: dev/Chart.yaml\n    owners: [team-a]\n",
    ];
    let mut checked = 0;
    for mask in 0u32..(1 << components.len()) {
        for order in 0..files.len() {
            for with_files in [true, false] {
                if mask == 0 && !with_files {
                    continue;
                }
                let mut config = String::from("# The GitOps repo's policy.\n");
                if with_files {
                    config.push_str("files:\n");
                    for i in 0..files.len() {
                        config.push_str(files[(i + order) % files.len()]);
                    }
                }
                if mask != 0 {
                    config.push_str("\ncomponents:   # what the repo records\n");
                    for (i, c) in components.iter().enumerate() {
                        if mask & (1 << i) != 0 {
                            config.push_str(c);
                        }
                    }
                }
                let r = generate(dir.path(), Some(&config), &[]);
                assert_eq!(r.code, 0, "{config}\n{}", r.stderr);
                same(&want, &r.stdout, &config);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 16 * 3 * 2 - 3);
}

#[test]
fn check_passes_when_fresh_and_fails_with_a_diff_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    let committed = dir.path().join(".gitea/workflows/gitops-service.yaml");
    let config = golden("one-deploy.config.yaml");
    // --write makes the folders and the file; --check then agrees.
    let r = generate(dir.path(), Some(&config), &["--write"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
    same(
        &golden("one-deploy.workflow.yaml"),
        &fs::read_to_string(&committed).unwrap(),
        "written",
    );
    let r = generate(dir.path(), Some(&config), &["--check"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);

    // A component gains a deploy: the committed file is stale.
    let more = format!(
        "{config}  ledger:\n    on_update:\n      deploy:\n        workflow: ./.gitea/workflows/deploy.yaml\n"
    );
    let before = fs::read(&committed).unwrap();
    let r = generate(dir.path(), Some(&more), &["--check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("--- a/.gitea/workflows/gitops-service.yaml\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n+  deploy_ledger:\n"), "{}", r.stdout);
    assert!(
        r.stderr.contains("gitops-update workflow --write"),
        "{}",
        r.stderr
    );
    assert_eq!(
        fs::read(&committed).unwrap(),
        before,
        "--check writes nothing"
    );

    // A hand edit of the committed file is stale too, and so is a missing file.
    fs::write(
        &committed,
        format!("{}# edited\n", String::from_utf8_lossy(&before)),
    )
    .unwrap();
    let r = generate(dir.path(), Some(&config), &["--check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("\n-# edited\n"), "{}", r.stdout);
    fs::remove_file(&committed).unwrap();
    let r = generate(dir.path(), Some(&config), &["--check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Another file, by --file.
    let other = dir.path().join("elsewhere.yaml");
    fs::write(&other, golden("one-deploy.workflow.yaml")).unwrap();
    let r = generate(
        dir.path(),
        Some(&config),
        &["--check", "--file", "elsewhere.yaml"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn bad_configs_exit_2_naming_the_component_and_write_nothing() {
    let deploy =
        |body: &str| format!("components:\n  web: {{}}\n  payments:\n    on_update:\n{body}");
    let cases: Vec<(String, &str)> = vec![
        (
            deploy("      deploy:\n        environment: production\n"),
            "component `payments`: `on_update.deploy` needs `workflow:`",
        ),
        (
            deploy("      deploy:\n        workflow: ./deploy.sh\n"),
            "component `payments`: `on_update.deploy.workflow` \"./deploy.sh\" is not a reusable workflow",
        ),
        (
            deploy("      deploy:\n        workflow: actions/checkout@v4\n"),
            "component `payments`: `on_update.deploy.workflow` \"actions/checkout@v4\" is not a reusable workflow",
        ),
        (
            deploy("      deploy:\n        workflow: acme/lib/.gitea/workflows/d.yml\n"),
            "is not a reusable workflow",
        ),
        (
            deploy("      deploy:\n        workflow: \"./.gitea/workflows/${{ inputs.x }}.yaml\"\n"),
            "component `payments`: `on_update.deploy.workflow` must be one line with no `${{` expression",
        ),
        (
            deploy("      deploy:\n        workflow: ./.gitea/workflows/d.yaml\n        environmnet: prod\n"),
            "component `payments`: `on_update.deploy:` has an unknown key `environmnet`",
        ),
        (
            deploy("      depoly:\n        workflow: ./.gitea/workflows/d.yaml\n"),
            "component `payments`: `on_update:` has an unknown key `depoly`",
        ),
        (deploy("      {}\n"), "component `payments`: `on_update:` needs `deploy"),
        (
            deploy("      deploy: ./.gitea/workflows/d.yaml\n"),
            "component `payments`: `on_update.deploy:` must be a mapping",
        ),
        (
            deploy("      deploy:\n        workflow: ./.gitea/workflows/d.yaml\n        environment: \"a\\nb\"\n"),
            "component `payments`: `on_update.deploy.environment` must be one line",
        ),
        (
            "components:\n  \"pay ments\":\n    on_update:\n      deploy:\n        workflow: ./.gitea/workflows/d.yaml\n".into(),
            "component `pay ments`: the name becomes the job id deploy_<name>",
        ),
        (
            "components:\n  pay.ments:\n    on_update:\n      deploy:\n        workflow: ./.gitea/workflows/d.yaml\n".into(),
            "component `pay.ments`: the name becomes the job id",
        ),
        ("components: [web, payments]\n".into(), "`components:` must map component names"),
        ("workflow:\n  image: \"\"\n".into(), "`workflow.image` must be an image reference"),
        ("workflow:\n  runs_on: \"a b\"\n".into(), "`workflow.runs_on` must be a runner label"),
        ("workflow:\n  runson: gitops\n".into(), "`workflow:` has an unknown key `runson`"),
        (
            "workflow:\n  token_secret: GITEA_BOT\n".into(),
            "`workflow.token_secret` must name a secret",
        ),
        (
            "workflow:\n  signing_key_secret: \"KEY }} x\"\n".into(),
            "`workflow.signing_key_secret` must name a secret",
        ),
        (
            "workflow:\n  signing_passphrase_secret: PASS\n".into(),
            "`workflow.signing_passphrase_secret` goes with `workflow.signing_key_secret`",
        ),
        (
            "workflow:\n  pull_request: yes-please\n".into(),
            "`workflow.pull_request` must be true (a branch of ours), agit or false",
        ),
        (
            "workflow:\n  auto_merge: true\n".into(),
            "`workflow.auto_merge` merges the pull request `workflow.pull_request` opens",
        ),
        // The same file is the update's policy: what the update refuses is refused here.
        ("files:\n  a.yaml: .x\n".into(), "must map to a list of paths"),
        ("components: {web: {}\n".into(), "invalid YAML in .gitops-update.yaml"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let committed = dir.path().join(".gitea/workflows/gitops-service.yaml");
    fs::create_dir_all(committed.parent().unwrap()).unwrap();
    fs::write(&committed, "committed\n").unwrap();
    for (config, want) in &cases {
        let r = generate(dir.path(), Some(config), &["--write"]);
        assert_eq!(r.code, 2, "{config}\n{}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{config}\nwant {want:?} in\n{}",
            r.stderr
        );
        if !want.starts_with("invalid YAML") {
            assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        }
        assert_eq!(r.stdout, "", "{config}");
        assert_eq!(
            fs::read_to_string(&committed).unwrap(),
            "committed\n",
            "{config}"
        );
    }
    // A config named on the command line must exist.
    let r = run(bin()
        .current_dir(dir.path())
        .args(["workflow", "--config", "missing.yaml"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot read missing.yaml"),
        "{}",
        r.stderr
    );
}

/// A protected branch needs a bot token, a pull request or a signature: all come from the
/// config, so the generated receiver needs no hand edits and `--check` stays true. The text
/// is the record-only template with only the token line changed and the lines added.
#[test]
fn landing_options_come_from_the_config_and_check_stays_true() {
    let config = "workflow:\n  token_secret: GITOPS_BOT_TOKEN\n  pull_request: agit\n  auto_merge: true\n  signing_key_secret: GITOPS_SIGNING_KEY\n  signing_passphrase_secret: GITOPS_SIGNING_PASS\n";
    let dir = tempfile::tempdir().unwrap();
    let r = generate(dir.path(), Some(config), &["--write"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written =
        fs::read_to_string(dir.path().join(".gitea/workflows/gitops-service.yaml")).unwrap();
    let expected = record_only().replace(
        "          GITEA_TOKEN: ${{ secrets.GITEA_TOKEN }}\n",
        "          GITEA_TOKEN: ${{ secrets.GITOPS_BOT_TOKEN }}\n          GITOPS_PULL_REQUEST: \"agit\"\n          GITOPS_AUTO_MERGE: \"true\"\n          GITOPS_SIGNING_KEY: ${{ secrets.GITOPS_SIGNING_KEY }}\n          GITOPS_SIGNING_KEY_PASSPHRASE: ${{ secrets.GITOPS_SIGNING_PASS }}\n",
    );
    assert_ne!(
        expected,
        record_only(),
        "the token line is where the template has it"
    );
    same(&expected, &written, "landing options");
    let r = generate(dir.path(), Some(config), &["--check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A branch of ours, without the other options: only that line is added.
    let r = generate(dir.path(), Some("workflow:\n  pull_request: true\n"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // With the job token, which from Gitea 1.26 needs the pull-request unit for it.
    same(
        &record_only()
            .replace(
                "          GITEA_TOKEN: ${{ secrets.GITEA_TOKEN }}\n",
                "          GITEA_TOKEN: ${{ secrets.GITEA_TOKEN }}\n          GITOPS_PULL_REQUEST: \"true\"\n",
            )
            .replace(
                "      statuses: write\n",
                "      statuses: write\n      pull-requests: write\n",
            ),
        &r.stdout,
        "pull_request: true",
    );
}
