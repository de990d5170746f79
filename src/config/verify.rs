//! `verify`'s inputs: the clone, the commits, and the keys a signature may be made with,
//! read and parsed before any commit is looked at.

use std::path::{Path, PathBuf};

use crate::cli::{Format, VerifyArgs};
use crate::error::{Error, Result};
use crate::provenance::keys::{allows, parse_allowed_signers};
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

/// Why `ring` is no OpenPGP public key, said before any commit is looked at: a secret key
/// or another file is a mistake in the command, not a signature that fails.
fn not_a_keyring(ring: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&ring[..ring.len().min(4096)]);
    if text.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
        return Some("a secret key: pass the public key (gpg --armor --export)");
    }
    if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        return None;
    }
    // A binary public-key packet: tag 6, old format (0x98 to 0x9b) or new (0xc6).
    match ring.first() {
        Some(0x98..=0x9b | 0xc6) => None,
        _ => Some("not an OpenPGP public key (gpg --armor --export writes one)"),
    }
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
            let signers: Vec<_> = match &args.principal {
                Some(name) => signers
                    .into_iter()
                    .filter(|s| allows(&s.principals, name))
                    .collect(),
                None => signers,
            };
            if signers.is_empty() {
                return Err(Error::Usage(format!(
                    "--allowed-signers {}: no key this tool can check{}",
                    path.display(),
                    args.principal
                        .as_deref()
                        .map(|n| format!(" for {}", report::escape(n)))
                        .unwrap_or_default()
                )));
            }
            keys.ssh = signers;
        }
        if let Some(path) = &args.gpg_keyring {
            let ring = read(path)?;
            if let Some(why) = not_a_keyring(&ring) {
                return Err(Error::Usage(format!(
                    "--gpg-keyring {}: {why}",
                    path.display()
                )));
            }
            keys.openpgp = Some(ring);
        }
        keys.principal = args.principal.filter(|p| !p.is_empty());
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
