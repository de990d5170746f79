//! Signed commits (issue 14): keys made by `ssh-keygen` and `gpg`, commits signed by the
//! binary alone, and checked by `git verify-commit` (with `gpg.format=ssh` and an
//! allowed-signers file, or with gpg and a temporary `GNUPGHOME`), as a reviewer or Gitea
//! would. The key's text never appears anywhere it could leak.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::git::{git_out, Remote, TOKEN};
use crate::common::run::{http_remote, remote, workflow};
use crate::common::{bin, run, Run};

pub(crate) const EMAIL: &str = "deploy-bot@example.com";

/// Whether `tool` (the key maker and checker these tests drive) is installed. Missing, the
/// test says so and passes on a workstation, so `cargo test` needs only git; under CI
/// (`CI=true`, where `.ci/run` installs it) a missing tool fails the test.
pub(crate) fn tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed, and CI needs it"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

pub(crate) struct Key {
    pub(crate) private: String,
    pub(crate) public: String,
    _dir: tempfile::TempDir,
}

pub(crate) fn keygen(kind: &[&str], passphrase: &str) -> Key {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-C", "test"])
        .args(kind)
        .args(["-N", passphrase, "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Key {
        private: fs::read_to_string(&path).unwrap(),
        public: fs::read_to_string(path.with_extension("pub")).unwrap(),
        _dir: dir,
    }
}

/// The private key's body: what must never be shown.
fn secret_lines(key: &Key) -> Vec<String> {
    key.private
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_string)
        .collect()
}

/// `git verify-commit` for `rev`, trusting `key` for EMAIL; its output and whether it passed.
fn verify(remote: &Remote, rev: &str, key: &Key) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed_signers");
    let public = key
        .public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    fs::write(&allowed, format!("{EMAIL} namespaces=\"git\" {public}\n")).unwrap();
    let out = crate::common::git::git(&remote.bare())
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("gpg.ssh.allowedSignersFile={}", allowed.display()))
        .args(["verify-commit", "-v", rev])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub(crate) fn signed_run(cwd: &Path, repo: &str, key: &Key) -> Command {
    let mut cmd = workflow(cwd, repo);
    cmd.env("GITOPS_SIGNING_KEY", &key.private)
        .env("GIT_COMMITTER_EMAIL", EMAIL)
        .env("GIT_AUTHOR_EMAIL", EMAIL);
    cmd
}

pub(crate) fn no_secret(r: &Run, key: &Key, remote: &Remote) {
    let objects = remote.all_objects_text();
    let config = fs::read_to_string(remote.bare().join("config")).unwrap_or_default();
    for line in secret_lines(key) {
        for (what, text) in [
            ("stdout", &r.stdout),
            ("stderr", &r.stderr),
            ("objects", &objects),
            ("config", &config),
        ] {
            assert!(!text.contains(&line), "the private key is in {what}");
        }
    }
}

#[test]
fn every_key_kind_signs_commits_that_git_verifies() {
    if !tool("ssh-keygen") {
        return;
    }
    for kind in [
        &["-t", "ed25519"][..],
        &["-t", "ecdsa", "-b", "256"],
        &["-t", "ecdsa", "-b", "384"],
        &["-t", "rsa", "-b", "2048"],
    ] {
        let key = keygen(kind, "");
        let remote = remote();
        let cwd = tempfile::tempdir().unwrap();
        let r = run(&mut signed_run(cwd.path(), &remote.file_url(), &key));
        assert_eq!(r.code, 0, "{kind:?}: {}", r.stderr);
        let (good, text) = verify(&remote, "main", &key);
        assert!(good, "{kind:?}: {text}");
        assert!(
            text.contains(&format!("Good \"git\" signature for {EMAIL}")),
            "{kind:?}: {text}"
        );
        // `git log --show-signature` names the key, by the fingerprint ssh-keygen gives it.
        let fingerprint = Command::new("ssh-keygen")
            .args(["-l", "-f", "/dev/stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(key.public.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        let fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        assert!(
            text.contains(&fingerprint),
            "{kind:?}: {fingerprint} in {text}"
        );
        assert!(
            r.stderr.contains(&fingerprint),
            "the run says which key: {}",
            r.stderr
        );
        // The commit is otherwise the commit it always was.
        assert!(remote
            .message("main")
            .starts_with("[skip ci] gitops: update version to 1.2.3\n"));
        no_secret(&r, &key, &remote);
        remote.fsck();
    }
}

#[test]
fn a_passphrase_protected_key_is_unlocked_and_a_wrong_one_refused() {
    if !tool("ssh-keygen") {
        return;
    }
    let key = keygen(&["-t", "ed25519"], "correct horse");
    let remote = remote();
    let before = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let r = run(signed_run(cwd.path(), &remote.file_url(), &key)
        .env("GITOPS_SIGNING_KEY_PASSPHRASE", "battery staple"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("does not unlock the key"), "{}", r.stderr);
    assert!(!r.stderr.contains("battery"), "{}", r.stderr);
    assert_eq!(remote.tip("main"), before, "nothing pushed");
    let r = run(&mut signed_run(cwd.path(), &remote.file_url(), &key));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("GITOPS_SIGNING_KEY_PASSPHRASE"),
        "{}",
        r.stderr
    );
    let r = run(signed_run(cwd.path(), &remote.file_url(), &key)
        .env("GITOPS_SIGNING_KEY_PASSPHRASE", "correct horse"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (good, text) = verify(&remote, "main", &key);
    assert!(good, "{text}");
    no_secret(&r, &key, &remote);
}

/// A run over smart HTTP whose first push loses a race once; `key` is the signing key's text.
fn raced_run(key: &str) -> (Remote, Run) {
    let (remote, server, root) = http_remote();
    // The first push loses: another writer moves the branch just before it, once.
    let marker: PathBuf = root.path().join("raced");
    remote.lose_the_next_push_once(&marker);
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &server.url("acme/deploy.git"))
        .env("GITOPS_SIGNING_KEY", key)
        .env("GIT_COMMITTER_EMAIL", EMAIL)
        .env("GITEA_TOKEN", TOKEN));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("attempt 1:"),
        "it lost the first race: {}",
        r.stderr
    );
    assert_eq!(remote.message("main~1").trim(), "other");
    (remote, r)
}

/// The commit re-made on the new tip after a lost race is signed too.
#[test]
fn the_commit_remade_after_a_lost_race_is_signed() {
    if !tool("ssh-keygen") {
        return;
    }
    let key = keygen(&["-t", "ed25519"], "");
    let (remote, r) = raced_run(&key.private);
    let (good, text) = verify(&remote, "main", &key);
    assert!(good, "{text}");
    no_secret(&r, &key, &remote);
}

#[test]
fn bad_keys_exit_2_in_one_line_and_push_nothing() {
    if !tool("ssh-keygen") {
        return;
    }
    let key = keygen(&["-t", "ed25519"], "");
    let truncated: String = key.private.lines().take(3).collect::<Vec<_>>().join("\n");
    let remote = remote();
    let before = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    let key_file = cwd.path().join("signing-key");
    fs::write(&key_file, &key.private).unwrap();
    for (env, file, says) in [
        (Some(key.public.as_str()), None, "not an OpenSSH or OpenPGP private key"),
        (Some(truncated.as_str()), None, "cannot be read"),
        (
            Some("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQVYBGV\n-----END PGP PRIVATE KEY BLOCK-----\n"),
            None,
            "the OpenPGP private key cannot be read",
        ),
        (Some(key.private.as_str()), Some(key_file.as_path()), "keep one"),
        (None, Some(cwd.path().join("missing").as_path()), "cannot read"),
    ] {
        let mut cmd = workflow(cwd.path(), &remote.file_url());
        if let Some(text) = env {
            cmd.env("GITOPS_SIGNING_KEY", text);
        }
        if let Some(f) = file {
            cmd.arg("run").arg("--signing-key-file").arg(f);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 2, "{says}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{says}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{says}: {}", r.stderr);
        no_secret(&r, &key, &remote);
        assert!(!r.stderr.contains("lQVYBGV"), "{}", r.stderr);
    }
    // P-521 is left out of the binary: refused at once, not at the first commit, and named
    // whether or not the key's bytes happen to parse without P-521 support (some do not), so
    // several keys are tried.
    for _ in 0..6 {
        let p521 = keygen(&["-t", "ecdsa", "-b", "521"], "");
        let r =
            run(workflow(cwd.path(), &remote.file_url()).env("GITOPS_SIGNING_KEY", &p521.private));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("ecdsa-sha2-nistp521 keys cannot sign here"),
            "{}",
            r.stderr
        );
        no_secret(&r, &p521, &remote);
    }
    assert_eq!(remote.tip("main"), before);
    // The file form signs as the variable does.
    let r = run(workflow(cwd.path(), &remote.file_url())
        .env("GIT_COMMITTER_EMAIL", EMAIL)
        .arg("run")
        .arg("--signing-key-file")
        .arg(&key_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(verify(&remote, "main", &key).0);
}

#[test]
fn the_default_committer_email_is_warned_about_and_a_dry_run_signs_nothing() {
    if !tool("ssh-keygen") {
        return;
    }
    let key = keygen(&["-t", "ed25519"], "");
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let r = run(bin()
        .current_dir(cwd.path())
        .env("GITOPS_SIGNING_KEY", &key.private)
        .args(["run", "--repo", &remote.file_url(), "--version", "1.2.3"])
        .args([
            "--file",
            "charts/app/values.yaml",
            "--expression",
            ".image.tag = \"{{VERSION}}\"",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "warning: the commits carry the committer email gitops-update@noreply.localhost"
        ),
        "{}",
        r.stderr
    );
    // Signed all the same: only Gitea's account check would fail.
    let log = git_out(&remote.bare(), &["cat-file", "commit", "main"]);
    assert!(
        log.contains("gpgsig -----BEGIN SSH SIGNATURE-----"),
        "{log}"
    );
    let before = remote.tip("main");
    let r = run(bin()
        .current_dir(cwd.path())
        .env("GITOPS_SIGNING_KEY", &key.private)
        .args([
            "run",
            "--dry-run",
            "--repo",
            &remote.file_url(),
            "--version",
            "1.2.4",
        ])
        .args([
            "--file",
            "charts/app/values.yaml",
            "--expression",
            ".image.tag = \"{{VERSION}}\"",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("signing commits"), "{}", r.stderr);
    assert_eq!(remote.tip("main"), before);
}

/// A temporary `GNUPGHOME` with the keys `gpg` made in it; its agent is stopped with it.
pub(crate) struct Gpg {
    pub(crate) home: tempfile::TempDir,
}

impl Gpg {
    pub(crate) fn new() -> Gpg {
        Gpg {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn run(&self, passphrase: &str, args: &[&str]) -> String {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
            ])
            .args(args)
            .output()
            .expect("gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new key for `uid` (`gpg --quick-gen-key uid algo usage`), its armored secret export.
    pub(crate) fn key(&self, uid: &str, algo: &str, usage: &str, passphrase: &str) -> String {
        self.run(passphrase, &["--quick-gen-key", uid, algo, usage, "never"]);
        self.export(uid, passphrase)
    }

    pub(crate) fn export(&self, uid: &str, passphrase: &str) -> String {
        self.run(passphrase, &["--armor", "--export-secret-keys", uid])
    }

    /// The fingerprint of the key gpg itself signs with for `uid`: the newest key (primary
    /// or subkey) that may sign.
    pub(crate) fn signing_fingerprint(&self, uid: &str) -> String {
        let list = self.run("", &["--with-colons", "--list-secret-keys", uid]);
        let mut last = None;
        let mut signs = false;
        for line in list.lines() {
            let f: Vec<&str> = line.split(':').collect();
            match f[0] {
                "sec" | "ssb" => signs = f[11].contains('s'),
                "fpr" if signs => last = Some(f[9].to_string()),
                _ => {}
            }
        }
        last.expect("a signing key")
    }

    fn signing_fingerprint_of_primary(&self, uid: &str) -> String {
        let list = self.run("", &["--with-colons", "--list-secret-keys", uid]);
        list.lines()
            .find(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_string())
            .expect("a primary key")
    }

    /// `git verify-commit rev` against this keyring, and `git log --show-signature` of it.
    fn verify(&self, remote: &Remote, rev: &str) -> (bool, String) {
        let out = crate::common::git::git(&remote.bare())
            .env("GNUPGHOME", self.home.path())
            .args(["verify-commit", "-v", rev])
            .output()
            .unwrap();
        let log = crate::common::git::git(&remote.bare())
            .env("GNUPGHOME", self.home.path())
            .args(["log", "-1", "--show-signature", rev])
            .output()
            .unwrap();
        let text = format!(
            "{}{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&log.stdout),
            String::from_utf8_lossy(&log.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .status();
    }
}

/// The armored key's body lines: what must never be shown.
fn armored_secret_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("-----") && !l.starts_with('=') && l.len() > 20)
        .map(str::to_string)
        .collect()
}

pub(crate) fn no_armored_secret(r: &Run, text: &str, remote: &Remote) {
    let objects = remote.all_objects_text();
    let config = fs::read_to_string(remote.bare().join("config")).unwrap_or_default();
    for line in armored_secret_lines(text) {
        for (what, out) in [
            ("stdout", &r.stdout),
            ("stderr", &r.stderr),
            ("objects", &objects),
            ("config", &config),
        ] {
            assert!(!out.contains(&line), "the private key is in {what}");
        }
    }
}

#[test]
fn every_openpgp_key_kind_signs_commits_that_gpg_verifies() {
    if !tool("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let uid = |n: &str| format!("{n} <{EMAIL}>");
    // (uid, algorithm, usage, passphrase): gpg 2's own choices, a protected RSA key (AES-128,
    // iterated and salted SHA-1 S2K, SHA-1 check), and a primary that only certifies, with
    // an encryption subkey and a signing subkey added later.
    let cases = [
        (uid("Ed"), "ed25519", "sign", ""),
        (uid("Rsa"), "rsa2048", "sign", "correct horse"),
        (uid("P256"), "nistp256", "sign", ""),
        (uid("P384"), "nistp384", "sign", ""),
        (uid("Sub"), "ed25519", "cert", ""),
    ];
    for (uid, algo, usage, pass) in &cases {
        let mut secret = gpg.key(uid, algo, usage, pass);
        if *usage == "cert" {
            let primary = gpg.signing_fingerprint_of_primary(uid);
            gpg.run(
                pass,
                &["--quick-add-key", &primary, "cv25519", "encr", "never"],
            );
            gpg.run(
                pass,
                &["--quick-add-key", &primary, "ed25519", "sign", "never"],
            );
            secret = gpg.export(uid, pass);
        }
        let expected = gpg.signing_fingerprint(uid);
        let remote = remote();
        let cwd = tempfile::tempdir().unwrap();
        let mut cmd = workflow(cwd.path(), &remote.file_url());
        cmd.env("GITOPS_SIGNING_KEY", &secret)
            .env("GIT_COMMITTER_EMAIL", EMAIL);
        if !pass.is_empty() {
            cmd.env("GITOPS_SIGNING_KEY_PASSPHRASE", pass);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{algo}: {}", r.stderr);
        let (good, text) = gpg.verify(&remote, "main");
        assert!(good, "{algo}: {text}");
        assert!(text.contains("Good signature from"), "{algo}: {text}");
        assert!(text.contains(&expected), "{algo}: {expected} in {text}");
        assert!(r.stderr.contains(&expected), "{algo}: {}", r.stderr);
        assert!(!r.stderr.contains("warning"), "{algo}: {}", r.stderr);
        assert!(remote
            .message("main")
            .starts_with("[skip ci] gitops: update version to 1.2.3\n"));
        no_armored_secret(&r, &secret, &remote);
        remote.fsck();
    }
}

#[test]
fn an_openpgp_commit_remade_after_a_lost_race_is_signed() {
    if !tool("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let secret = gpg.key(&format!("Bot <{EMAIL}>"), "ed25519", "sign", "");
    let (remote, r) = raced_run(&secret);
    let (good, text) = gpg.verify(&remote, "main");
    assert!(good, "{text}");
    no_armored_secret(&r, &secret, &remote);
}

#[test]
fn bad_openpgp_keys_exit_2_in_one_line_and_push_nothing() {
    if !tool("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let uid = format!("Bot <{EMAIL}>");
    let secret = gpg.key(&uid, "ed25519", "sign", "correct horse");
    let public = gpg.run("", &["--armor", "--export", &uid]);
    // A secret-subkeys export keeps only a stub of the primary, here the only signing key.
    let stub = gpg.run(
        "correct horse",
        &["--armor", "--export-secret-subkeys", &uid],
    );
    // One base64 character changed: the armor's checksum no longer matches.
    let damaged = {
        let mut lines: Vec<String> = secret.lines().map(str::to_string).collect();
        let i = lines.iter().position(|l| l.len() > 40).unwrap();
        let c = if lines[i].ends_with('A') { 'B' } else { 'A' };
        lines[i].pop();
        lines[i].push(c);
        lines.join("\n")
    };
    let remote = remote();
    let before = remote.tip("main");
    let cwd = tempfile::tempdir().unwrap();
    for (text, pass, says) in [
        (
            &secret,
            None,
            "protected by a passphrase: set GITOPS_SIGNING_KEY_PASSPHRASE",
        ),
        (&secret, Some("battery staple"), "does not unlock the key"),
        (&public, None, "an OpenPGP public key, not a secret key"),
        (
            &stub,
            Some("correct horse"),
            "signing secret is not in this export",
        ),
        (
            &damaged,
            Some("correct horse"),
            "the OpenPGP private key cannot be read",
        ),
    ] {
        let mut cmd = workflow(cwd.path(), &remote.file_url());
        cmd.env("GITOPS_SIGNING_KEY", text);
        if let Some(p) = pass {
            cmd.env("GITOPS_SIGNING_KEY_PASSPHRASE", p);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 2, "{says}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{says}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{says}: {}", r.stderr);
        assert!(!r.stderr.contains("battery"), "{}", r.stderr);
        no_armored_secret(&r, text, &remote);
    }
    assert_eq!(remote.tip("main"), before, "nothing pushed");
}

#[test]
fn a_committer_email_not_in_the_openpgp_key_is_warned_about() {
    if !tool("gpg") {
        return;
    }
    let gpg = Gpg::new();
    let secret = gpg.key("Bot (ci) <bot@example.org>", "ed25519", "sign", "");
    let remote = remote();
    let cwd = tempfile::tempdir().unwrap();
    let r = run(workflow(cwd.path(), &remote.file_url())
        .env("GITOPS_SIGNING_KEY", &secret)
        .env("GIT_COMMITTER_EMAIL", EMAIL));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "warning: the commits carry the committer email {EMAIL}, which is not in the signing key's user IDs (bot@example.org)"
        )),
        "{}",
        r.stderr
    );
    // Signed all the same: gpg, which checks no emails, verifies it.
    assert!(gpg.verify(&remote, "main").0);
}

/// With the API at hand, the run checks the key and the committer email against the token's
/// account before the first push, as Gitea will check them (the emulator lists the account
/// as routers/api/v1/user/*.go do).
#[test]
fn the_key_and_email_are_checked_against_the_tokens_account() {
    use crate::common::gitea::{Account, Gitea, Options};
    if !tool("ssh-keygen") || !tool("gpg") {
        return;
    }
    let ssh = keygen(&["-t", "ed25519"], "");
    let fingerprint = {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pub");
        fs::write(&p, &ssh.public).unwrap();
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    let gpg = Gpg::new();
    let uid = format!("Bot <{EMAIL}>");
    gpg.key(&uid, "ed25519", "cert", "");
    let primary = gpg.signing_fingerprint_of_primary(&uid);
    // Gitea lists a signing subkey under its primary key: the subkey's ID must be found.
    gpg.run(
        "",
        &["--quick-add-key", &primary, "ed25519", "sign", "never"],
    );
    let secret = gpg.export(&uid, "");
    let subkey = gpg.signing_fingerprint(&uid)[24..].to_string();
    let run_against = |account: Account, key: &str| {
        let remote = remote();
        let g = Gitea::start(
            Options {
                account,
                ..Options::default()
            },
            &[("acme/deploy", &remote)],
        );
        let cwd = tempfile::tempdir().unwrap();
        run(workflow(cwd.path(), &g.git_url("acme/deploy"))
            .env("GITEA_API_URL", g.api_url())
            .env("GITEA_TOKEN", TOKEN)
            .env("GITOPS_SIGNING_KEY", key)
            .env("GIT_COMMITTER_EMAIL", EMAIL))
    };
    let activated = vec![
        ("other@example.com".to_string(), true),
        (EMAIL.to_string(), true),
    ];
    // All there: one line says so, no warning.
    for (account, key) in [
        (
            Account {
                emails: activated.clone(),
                ssh_fingerprints: vec![fingerprint.clone()],
                ..Account::default()
            },
            ssh.private.as_str(),
        ),
        (
            Account {
                emails: activated.clone(),
                gpg_keys: vec![(primary[24..].to_string(), vec![subkey.clone()])],
                ..Account::default()
            },
            secret.as_str(),
        ),
    ] {
        let r = run_against(account, key);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("Gitea will show the commits as verified"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    }
    // The email unactivated and the key elsewhere: two warnings, and the update lands.
    for key in [ssh.private.as_str(), secret.as_str()] {
        let r = run_against(
            Account {
                emails: vec![
                    (EMAIL.to_string(), false),
                    ("bot@example.org".to_string(), true),
                ],
                ssh_fingerprints: vec!["SHA256:someoneelse".into()],
                gpg_keys: vec![("0123456789ABCDEF".into(), vec![])],
            },
            key,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "warning: the committer email {EMAIL} is not an activated email of the token's Gitea account (bot@example.org)"
            )),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("keys of the token's Gitea account"),
            "{}",
            r.stderr
        );
    }
}

/// Every landing signs: the commit on the pull request's branch of ours and the one pushed
/// for review through AGit verify as the direct push's do.
#[test]
fn the_pull_request_landings_sign_their_commits() {
    use crate::common::gitea::{Gitea, Options};
    if !tool("ssh-keygen") {
        return;
    }
    let key = keygen(&["-t", "ed25519"], "");
    for (mode, head) in [
        ("true", "refs/heads/gitops-update/main/app"),
        ("agit", "refs/pull/1/head"),
    ] {
        let remote = remote();
        let g = Gitea::start(Options::default(), &[("acme/deploy", &remote)]);
        let cwd = tempfile::tempdir().unwrap();
        let r = run(signed_run(cwd.path(), &g.git_url("acme/deploy"), &key)
            .env("GITEA_API_URL", g.api_url())
            .env("GITEA_TOKEN", TOKEN)
            .env("GITOPS_PULL_REQUEST", mode));
        assert_eq!(r.code, 0, "{mode}: {}", r.stderr);
        let (good, text) = verify(&remote, head, &key);
        assert!(good, "{mode}: {text}");
        no_secret(&r, &key, &remote);
    }
}
