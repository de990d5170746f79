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

/// A GitOps server that redirects git to another address (another port of the same host,
/// which libgit2 itself would follow): neither the token nor the extraheader that
/// actions/checkout persisted reaches it, and the error names where it was sent.
#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    use crate::common::git::{git_out, Faults, TOKEN};
    use crate::common::run::{http_remote, workflow};
    let (remote, elsewhere, _root) = http_remote();
    let (_other, server, _root2) = http_remote();
    let before = remote.tip("main");
    server.inject(Faults {
        redirect_to: Some(format!("http://127.0.0.1:{}", elsewhere.port)),
        ..Faults::default()
    });
    let url = server.url("acme/deploy.git");
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &url).env("GITEA_TOKEN", TOKEN));
    assert_eq!(r.code, 3, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains(&format!(
            "the server redirected to 127.0.0.1:{}, not the repository's 127.0.0.1:{}",
            elsewhere.port, server.port
        )),
        "{last}"
    );
    // A checkout whose persisted extraheader would be sent with every request.
    let work = cwd.path().join("deploy");
    git_out(
        cwd.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    git_out(&work, &["remote", "add", "origin", &url]);
    let header = format!("http.{url}.extraheader");
    git_out(
        &work,
        &[
            "config",
            &header,
            "AUTHORIZATION: basic Ym90OnQwazNuLXMzY3IzdC12YWx1ZQ==",
        ],
    );
    let r = run(bin().current_dir(&work).args([
        "--file",
        "charts/app/values.yaml",
        "--expression",
        ".image.tag = \"{{VERSION}}\"",
        "--version",
        "2.0.0",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        elsewhere.requests().is_empty(),
        "the other address was reached: {:?}",
        elsewhere.requests()
    );
    assert_eq!(remote.tip("main"), before);
}

/// A YAML error on a very long line quotes a bounded excerpt around the spot, not the line
/// (a 20 MB line was 42 MB of stderr; issue 26, item 10).
#[test]
fn a_yaml_error_on_a_long_line_quotes_an_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    let line = format!("a: [{}, \"x\" y]\n", "1, ".repeat(500_000));
    std::fs::write(&file, line).unwrap();
    let r = run(bin().args(["eval", "."]).arg(&file));
    assert_eq!(r.code, 2, "{}", &r.stderr[..r.stderr.len().min(500)]);
    assert!(r.stderr.len() < 1000, "{} bytes of stderr", r.stderr.len());
    assert!(r.stderr.contains("invalid YAML in"), "{}", r.stderr);
}
