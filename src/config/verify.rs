//! `verify`'s inputs: the clone, the commits, and the keys a signature may be made with,
//! read and parsed before any commit is looked at.

use std::path::{Path, PathBuf};

use crate::cli::{Format, VerifyArgs};
use crate::error::{Error, Result};
use crate::provenance::keys::parse_allowed_signers;
use crate::provenance::verify::Keys;
use crate::report;

pub struct VerifyConfig {
    pub workdir: PathBuf,
    /// `HEAD`, a commit, or `A..B`.
    pub rev: String,
    pub keys: Keys,
    pub json: bool,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

impl VerifyConfig {
    pub fn resolve(args: VerifyArgs) -> Result<VerifyConfig> {
        let mut keys = Keys::default();
        if let Some(path) = &args.allowed_signers {
            let text = String::from_utf8(read(path)?).map_err(|_| {
                Error::Usage(format!("--allowed-signers {}: not text", path.display()))
            })?;
            let (signers, skipped) = parse_allowed_signers(&text).map_err(|why| {
                Error::Usage(format!("--allowed-signers {}: {why}", path.display()))
            })?;
            for line in skipped {
                report::warn(&format!(
                    "--allowed-signers {} line {line}: cert-authority, valid-after and valid-before are not checked here, so its key is not trusted; verify that one with ssh-keygen -Y verify",
                    path.display()
                ));
            }
            if signers.is_empty() {
                return Err(Error::Usage(format!(
                    "--allowed-signers {}: no key this tool can check",
                    path.display()
                )));
            }
            keys.ssh = signers;
        }
        if let Some(path) = &args.gpg_keyring {
            keys.openpgp = Some(read(path)?);
        }
        let rev = args
            .rev
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "HEAD".into());
        Ok(VerifyConfig {
            workdir: args.workdir.unwrap_or_else(|| PathBuf::from(".")),
            rev,
            keys,
            json: args.output == Format::Json,
        })
    }
}
