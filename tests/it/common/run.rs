//! Fixtures for the update run: a GitOps repository with a chart, served over `file://`
//! or smart HTTP, and the binary as the GitOps workflow runs it.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::git::{HttpServer, Remote};
use super::{bin, Run};

pub const VALUES: &str = "# app values\nimage:\n  repository: ghcr.io/acme/app\n  tag: \"1.0.0\"  # bumped by CI\nreplicas: 2\n";
const CHART: &str = "apiVersion: v2\nname: app\nversion: 1.0.0\nappVersion: \"1.0.0\"\n";

pub fn remote() -> Remote {
    Remote::new(&[
        ("charts/app/values.yaml", VALUES),
        ("charts/app/Chart.yaml", CHART),
        ("README.md", "deploy\n"),
    ])
}

/// The binary as the GitOps workflow runs it: inputs from the environment only.
pub fn workflow(cwd: &Path, repo: &str) -> Command {
    let mut cmd = bin();
    cmd.current_dir(cwd)
        .env("INPUT_FILE", "charts/app/values.yaml")
        .env("YQ_TPL", ".image.tag = \"{{VERSION}}\"")
        .env("VERSION", "1.2.3")
        .env("SOURCE_REPO", "acme/app")
        .env("SOURCE_COMMIT", "0123456789abcdef0123456789abcdef01234567")
        .env("DISPATCH_ID", "d-42")
        .env("GITOPS_REPO", repo);
    cmd
}

#[track_caller]
pub fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

pub fn http_remote() -> (Remote, HttpServer, tempfile::TempDir) {
    let remote = remote();
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("acme")).unwrap();
    std::os::unix::fs::symlink(remote.bare(), root.path().join("acme/deploy.git")).unwrap();
    let server = HttpServer::start(root.path());
    (remote, server, root)
}

/// The pushes the server received.
pub fn receive_packs(server: &HttpServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("git-receive-pack") && q.method == "POST")
        .count()
}
