//! Atomic in-place writes: a reader never sees half a file, and a failure leaves the original.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file a write to `path` must change: a symlink is followed to its target, so the link
/// stays a link and the target gets the new bytes.
pub fn resolve_target(path: &Path) -> Result<PathBuf> {
    fs::canonicalize(path).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// Writes `data` to a temporary file beside the target, with the target's permissions,
/// flushes it to disk, then renames it over the target.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let target = resolve_target(path)?;
    let fail = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let perms = fs::metadata(&target).map_err(fail)?.permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".gitops-update.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(data).map_err(fail)?;
    tmp.as_file().set_permissions(perms).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(&target).map_err(|e| fail(e.error))?;
    Ok(())
}

/// As [`write_atomic`], but a file that does not exist yet is made, with its folders.
pub fn write_creating(path: &Path, data: &[u8]) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return write_atomic(path, data);
    }
    let fail = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".gitops-update.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(data).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    // A workflow file is for everyone to read: 0644, not tempfile's private 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
    }
    tmp.persist_noclobber(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.yaml");
        fs::write(&p, "a: 1\n").unwrap();
        #[cfg(unix)]
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"a: 2\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a: 2\n");
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("link.yaml");
        fs::write(&real, "a: 1\n").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"a: 2\n").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "a: 2\n");
    }
}
