//! Test support: a scrubbed environment for the binary, and readable diffs on failure.

pub mod git;
pub mod gitea;
pub mod permissions;
pub mod run;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The binary with an environment that holds nothing from the machine or CI running the
/// tests: no GITHUB_*/GITEA_*, no VERSION, no user or system git config, no colours.
pub fn bin() -> Command {
    scrubbed(env!("CARGO_BIN_EXE_gitops-update"))
}

/// The PATH with the binary's directory first, as a job on the CI image finds
/// `gitops-update`.
pub fn path_with_bin() -> std::ffi::OsString {
    let dir = Path::new(env!("CARGO_BIN_EXE_gitops-update"))
        .parent()
        .expect("the binary's directory");
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .expect("a PATH")
}

/// `program` with the environment `bin` gives the binary.
pub fn scrubbed(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("HOME", "/nonexistent");
    // libgit2 reads neither the machine's nor a user's git configuration.
    cmd.env("GIT_CONFIG_NOSYSTEM", "1");
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd.env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    run_with_stdin(cmd, None)
}

pub fn run_with_stdin(cmd: &mut Command, stdin: Option<&[u8]>) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn gitops-update");
    if let Some(data) = stdin {
        // The process may refuse its arguments and exit before reading: a closed pipe is
        // its answer, not a failure of the test.
        if let Err(e) = child.stdin.take().unwrap().write_all(data) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "the binary panicked:\n{}",
        run.stderr
    );
    run
}

/// A line diff of two texts, or `None` when they are the same bytes.
pub fn text_diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let diff = similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string();
    Some(format!(
        "{diff}\nexpected: {expected:?}\nactual:   {actual:?}"
    ))
}

/// Asserts byte equality and, on failure, shows a line diff instead of two walls of text.
#[track_caller]
pub fn assert_same_text(what: &str, expected: &str, actual: &str) {
    if let Some(diff) = text_diff(expected, actual) {
        panic!("{what}: output differs from the expected bytes\n{diff}");
    }
}
