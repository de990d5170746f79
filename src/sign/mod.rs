//! Signed commits (issue 14), natively: a static binary in a bare image has no `ssh-keygen`,
//! `gpg` or agent. An OpenSSH private key signs as `git -c gpg.format=ssh` does: an sshsig
//! signature, namespace `git`, SHA-512, in the commit's `gpgsig` header. An armored OpenPGP
//! secret key signs as `git commit -S` with gpg does (openpgp.rs).
//!
//! The key is a secret: its text is never shown, not in errors, not in `Debug`. The parsed
//! key zeroizes itself when dropped (ssh-key's `PrivateKey`, the RustCrypto keys).

mod openpgp;
mod openpgp_verify;

use std::fmt;

use ssh_key::{HashAlg, LineEnding, PrivateKey};

use crate::error::{Error, Result};

pub use openpgp_verify::{verify_openpgp, PgpVerified};

pub enum Signer {
    Ssh(PrivateKey),
    OpenPgp(openpgp::Key),
}

/// Where the key came from, for the one line an error prints.
fn refuse(source: &str, why: &str) -> Error {
    Error::Usage(format!("{source}: {why}"))
}

impl Signer {
    /// Parses the private key in `text` (`source` names it in errors: the variable or the
    /// file, never the text). `passphrase` unlocks an encrypted key.
    pub fn parse(text: &str, passphrase: Option<&str>, source: &str) -> Result<Signer> {
        let text = text.trim();
        if text.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            return openpgp::Key::parse(text, passphrase)
                .map(Signer::OpenPgp)
                .map_err(|why| refuse(source, why.0));
        }
        if text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            return Err(refuse(
                source,
                "an OpenPGP public key, not a secret key: export it with gpg --armor --export-secret-keys",
            ));
        }
        if !text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
            return Err(refuse(
                source,
                "not an OpenSSH or OpenPGP private key (-----BEGIN OPENSSH PRIVATE KEY----- or -----BEGIN PGP PRIVATE KEY BLOCK-----); pass the private key's text, not the public key or a path",
            ));
        }
        let key = PrivateKey::from_openssh(text).map_err(|_| match algorithm_of(text) {
            // A well-formed key of an algorithm left out of the binary may not parse at all
            // (P-521 keys, depending on their bytes): say why, not that it is damaged. Only
            // a name OpenSSH defines is said: any other is text from the secret, and the key
            // is damaged (found by fuzzing, fuzz/findings/signkey).
            Some(alg) if !SIGNS.contains(&alg.as_str()) && is_openssh_name(&alg) => {
                refuse(source, &cannot_sign(&alg))
            }
            _ => refuse(
                source,
                "the OpenSSH private key cannot be read (truncated, or a line lost in the secret?)",
            ),
        })?;
        let key = if key.is_encrypted() {
            let Some(pass) = passphrase.filter(|p| !p.is_empty()) else {
                return Err(refuse(
                    source,
                    "the key is protected by a passphrase: set GITOPS_SIGNING_KEY_PASSPHRASE",
                ));
            };
            key.decrypt(pass).map_err(|_| {
                refuse(
                    source,
                    "the passphrase in GITOPS_SIGNING_KEY_PASSPHRASE does not unlock the key",
                )
            })?
        } else {
            key
        };
        let alg = key.algorithm();
        let signer = Signer::Ssh(key);
        // An algorithm that reads but cannot sign here (DSA, security keys, P-521, left out
        // to keep the binary under 12 MiB) is refused now, not at the first commit.
        signer
            .sign(b"gitops-update")
            .map_err(|_| refuse(source, &cannot_sign(alg.as_str())))?;
        Ok(signer)
    }

    /// The armored signature of `payload` (a commit's text), for its `gpgsig` header.
    pub fn sign(&self, payload: &[u8]) -> Result<String> {
        self.sign_in("git", payload)
    }

    /// The armored signature of `payload` in an sshsig `namespace` (git's is `git`), so that
    /// a signature made for one purpose never verifies for another. OpenPGP has no
    /// namespaces: its signatures are the same whatever they sign.
    pub fn sign_in(&self, namespace: &str, payload: &[u8]) -> Result<String> {
        let key = match self {
            Signer::Ssh(key) => key,
            Signer::OpenPgp(key) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as u32);
                return key
                    .sign(payload, now)
                    .map_err(|e| Error::Internal(format!("OpenPGP {e}")));
            }
        };
        let failed = |e: ssh_key::Error| Error::Internal(format!("signing failed: {e}"));
        let sig = match key.key_data().rsa() {
            Some(rsa) => rsa_sshsig(rsa, key.public_key(), namespace, payload).map_err(failed)?,
            None => key
                .sign(namespace, HashAlg::Sha512, payload)
                .map_err(failed)?,
        };
        sig.to_pem(LineEnding::LF)
            .map_err(|e| Error::Internal(format!("signing failed: {e}")))
    }

    /// `ssh-ed25519 SHA256:...`, as `ssh-keygen -l` and Gitea's key list show it; for
    /// OpenPGP the fingerprint as gpg prints it.
    pub fn describe(&self) -> String {
        match self {
            Signer::Ssh(key) => format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256)),
            Signer::OpenPgp(key) => {
                format!("the OpenPGP {} key {}", key.algorithm(), key.fingerprint())
            }
        }
    }

    /// The key as a DSSE signature names it: an SSH key's SHA-256 fingerprint as
    /// `ssh-keygen -l` prints it, an OpenPGP key's fingerprint in hex.
    pub fn key_id(&self) -> String {
        match self {
            Signer::Ssh(key) => key.fingerprint(HashAlg::Sha256).to_string(),
            Signer::OpenPgp(key) => key.fingerprint(),
        }
    }

    /// How Gitea's account lists the key: an SSH key by its SHA-256 fingerprint, a GPG key by
    /// its 16-digit key ID (models/asymkey/gpg_key.go, KeyIdString).
    pub fn account_key(&self) -> AccountKey {
        match self {
            Signer::Ssh(key) => AccountKey::Ssh(key.fingerprint(HashAlg::Sha256).to_string()),
            Signer::OpenPgp(key) => AccountKey::Gpg(key.fingerprint()[24..].to_string()),
        }
    }

    /// The addresses an OpenPGP key's user IDs carry (None for SSH keys, which carry none).
    pub fn emails(&self) -> Option<&[String]> {
        match self {
            Signer::Ssh(_) => None,
            Signer::OpenPgp(key) => Some(&key.emails),
        }
    }
}

/// The signing key as an account lists it.
pub enum AccountKey {
    Ssh(String),
    Gpg(String),
}

/// The algorithms this binary signs with.
const SIGNS: [&str; 4] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ssh-rsa",
];

/// The refusal of a key whose algorithm cannot sign here. It names the algorithm only when
/// OpenSSH defines it: the name is read from the key, and a key may name any algorithm
/// (`name@domain`), so another name would put text from the secret in the message.
fn cannot_sign(alg: &str) -> String {
    if is_openssh_name(alg) {
        format!("{alg} keys cannot sign here; use ed25519, ECDSA (P-256 or P-384) or RSA")
    } else {
        "the key's algorithm cannot sign here; use ed25519, ECDSA (P-256 or P-384) or RSA".into()
    }
}

/// Whether `name` is one of the algorithm names OpenSSH defines (ssh-key's own list).
fn is_openssh_name(name: &str) -> bool {
    matches!(ssh_key::Algorithm::new(name), Ok(alg) if !matches!(alg, ssh_key::Algorithm::Other(_)))
}

/// The algorithm an OpenSSH private key names in its public part, read from the container
/// alone (`openssh-key-v1`, cipher, KDF, KDF options, key count, then the public key, which
/// starts with the algorithm's name). Only the name is returned: never key material.
fn algorithm_of(text: &str) -> Option<String> {
    use base64ct::{Base64, Encoding};
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    let blob = zeroize::Zeroizing::new(Base64::decode_vec(&body).ok()?);
    let mut rest: &[u8] = blob.strip_prefix(b"openssh-key-v1\0")?;
    fn field<'b>(rest: &mut &'b [u8]) -> Option<&'b [u8]> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let value = rest.get(4..4usize.checked_add(len)?)?;
        *rest = &rest[4 + len..];
        Some(value)
    }
    for _ in 0..3 {
        field(&mut rest)?; // cipher, KDF, KDF options
    }
    rest = rest.get(4..)?; // the key count
    let mut public = field(&mut rest)?;
    let name = field(&mut public)?;
    std::str::from_utf8(name).ok().map(str::to_string)
}

/// An RSA sshsig, rsa-sha2-512 as ssh-keygen makes it. ssh-key 0.6.7 builds the RSA key from
/// the primes p and p instead of p and q (fixed in its 0.7 line, not yet released), so every
/// RSA signature it makes fails; this builds the key from the right components.
fn rsa_sshsig(
    keypair: &ssh_key::private::RsaKeypair,
    public: &ssh_key::PublicKey,
    namespace: &str,
    payload: &[u8],
) -> ssh_key::Result<ssh_key::SshSig> {
    use rsa::signature::{SignatureEncoding, Signer as _};
    let int = |m: &ssh_key::Mpint| {
        m.as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or(ssh_key::Error::Crypto)
    };
    let key = rsa::RsaPrivateKey::from_components(
        int(&keypair.public.n)?,
        int(&keypair.public.e)?,
        int(&keypair.private.d)?,
        vec![int(&keypair.private.p)?, int(&keypair.private.q)?],
    )
    .map_err(|_| ssh_key::Error::Crypto)?;
    let signed = ssh_key::SshSig::signed_data(namespace, HashAlg::Sha512, payload)?;
    let data = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(key)
        .try_sign(&signed)
        .map_err(|_| ssh_key::Error::Crypto)?
        .to_vec();
    let signature = ssh_key::Signature::new(
        ssh_key::Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        data,
    )?;
    ssh_key::SshSig::new(
        public.key_data().clone(),
        namespace,
        HashAlg::Sha512,
        signature,
    )
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({})", self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_or_garbage_is_refused_without_echoing_it() {
        for (text, says) in [
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv1 me@host", "not an OpenSSH or OpenPGP private key"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END OPENSSH PRIVATE KEY-----\n", "cannot be read"),
            ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nc2VjcmV0\n-----END PGP PRIVATE KEY BLOCK-----\n", "OpenPGP"),
        ] {
            let err = Signer::parse(text, None, "GITOPS_SIGNING_KEY").unwrap_err().to_string();
            assert!(err.starts_with("GITOPS_SIGNING_KEY: ") && err.contains(says), "{err}");
            for secret in ["AAAAC3NzaC1lZDI1NTE5AAAAIBv1", "c2VjcmV0"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
    }
}
