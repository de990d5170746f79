//! Temporary repositories are removed on every way out that a process can act on: a normal
//! return (their `TempDir` drops), a budget crossed (the watchdog ends the process), and
//! SIGTERM, SIGINT or SIGHUP (a cancelled CI job). SIGKILL leaves them, as it leaves
//! everything. They hold the GitOps repository's files, so they are also private (0700).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A private (0700) temporary directory, removed if the process is ended early, with what
/// `fill` makes in it. The directory is made, filled and registered under one lock, so a
/// signal in between neither misses it nor removes it while it is being filled.
pub fn tempdir<T>(
    prefix: &str,
    fill: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<(tempfile::TempDir, T), String> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs = DIRS.lock().map_err(|_| "a lock was poisoned".to_string())?;
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let filled = fill(tmp.path())?;
    dirs.push(tmp.path().to_path_buf());
    Ok((tmp, filled))
}

/// The directory was removed the ordinary way.
pub fn unregister(dir: &Path) {
    if let Ok(mut d) = DIRS.lock() {
        d.retain(|p| p != dir);
    }
}

/// Removes every registered directory; for a process about to end.
pub fn remove_all() {
    let dirs = match DIRS.lock() {
        Ok(mut d) => std::mem::take(&mut *d),
        Err(_) => return,
    };
    // The work goes on while this runs (a fetch may still write): a few passes, until
    // nothing is left.
    for d in dirs {
        for _ in 0..5 {
            if std::fs::remove_dir_all(&d).is_ok() || !d.exists() {
                break;
            }
        }
    }
}

/// Handles SIGTERM, SIGINT and SIGHUP on a thread of its own: they are blocked here, before
/// any other thread exists, so every thread inherits the mask and only `sigwait` sees them.
/// On one, the temporary repositories go and the process ends with 128 + the signal.
pub fn on_signals() {
    // SAFETY: plain libc calls on a sigset_t we own; sigwait runs on a normal thread, so
    // what follows it need not be async-signal-safe.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sig: libc::c_int = 0;
                if libc::sigwait(&set, &mut sig) == 0 {
                    remove_all();
                    eprintln!("gitops-update: ended by signal {sig}; nothing more was done");
                    std::process::exit(128 + sig);
                }
            });
        if spawned.is_err() {
            // No thread to wait on them: let them end the process as they would have.
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}
