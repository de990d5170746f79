//! The keys `verify` accepts: an OpenSSH allowed-signers file (ssh-keygen(1), "ALLOWED
//! SIGNERS", the same file git's `gpg.ssh.allowedSignersFile` names), and OpenPGP public
//! keys.

use ssh_key::{HashAlg, PublicKey, SshSig};

use super::verify::Signed;

/// One line of an allowed-signers file.
pub struct AllowedSigner {
    pub principals: String,
    /// `namespaces="…"`: the signature's namespace must be one of them.
    pub namespaces: Option<Vec<String>>,
    pub key: PublicKey,
}

/// The file's lines. A line with options this tool does not check (`cert-authority`,
/// `valid-after`, `valid-before`) is left out, and said: a key is never trusted beyond what
/// its line allows. Err names the line that cannot be read.
pub fn parse_allowed_signers(text: &str) -> Result<(Vec<AllowedSigner>, Vec<usize>), String> {
    let mut signers = Vec::new();
    let mut skipped = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_words(line);
        // The first word is always the principals, whatever it looks like (`ssh-deployer@…`).
        let key_at = (1..words.len().min(3))
            .find(|&i| is_key_type(&words[i]))
            .ok_or_else(|| {
                format!(
                    "line {}: expected `principals [options] key`{}",
                    n + 1,
                    if words.first().is_some_and(|w| is_key_type(w)) {
                        " (a public key alone: put the signer's email before it)"
                    } else {
                        ""
                    }
                )
            })?;
        let options = if key_at == 2 { words[1].as_str() } else { "" };
        let mut namespaces = None;
        let mut unsupported = false;
        for option in split_options(options) {
            match option.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("namespaces") => {
                    let v = v.trim_matches('"');
                    namespaces = Some(v.split(',').map(str::to_string).collect());
                }
                _ => unsupported = true,
            }
        }
        let key_text = words[key_at..]
            .iter()
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let key = PublicKey::from_openssh(&key_text)
            .map_err(|_| format!("line {}: the public key cannot be read", n + 1))?;
        if unsupported {
            skipped.push(n + 1);
            continue;
        }
        signers.push(AllowedSigner {
            principals: words[0].trim_matches('"').to_string(),
            namespaces,
            key,
        });
    }
    Ok((signers, skipped))
}

fn is_key_type(word: &str) -> bool {
    ["ssh-", "ecdsa-sha2-", "sk-", "rsa-sha2-"]
        .iter()
        .any(|p| word.starts_with(p))
}

/// Words split at blanks, a double-quoted stretch kept whole.
fn split_words(line: &str) -> Vec<String> {
    split_unquoted(line, char::is_whitespace, false)
}

/// Options split at commas outside double quotes (an empty option, `a,,b`, is kept, and
/// read as one this tool does not check).
fn split_options(options: &str) -> Vec<String> {
    split_unquoted(options, |c| c == ',', true)
}

/// `text` cut at the characters `sep` takes, outside double quotes (which stay in the
/// pieces); empty pieces between two separators kept when `keep_empty`.
fn split_unquoted(text: &str, sep: impl Fn(char) -> bool, keep_empty: bool) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted) = (String::new(), false);
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
            cur.push(c);
        } else if sep(c) && !quoted {
            if keep_empty || !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// An sshsig over `data` in `namespace`, made by a key of `allowed` that allows it.
pub fn verify_ssh(
    allowed: &[AllowedSigner],
    namespace: &str,
    data: &[u8],
    armored: &[u8],
) -> Result<(Signed, Vec<String>), String> {
    let sig =
        SshSig::from_pem(armored).map_err(|_| "the SSH signature cannot be read".to_string())?;
    if sig.namespace() != namespace {
        return Err(format!(
            "the SSH signature is for `{}`, not for provenance",
            crate::report::escape(sig.namespace())
        ));
    }
    let key = PublicKey::from(sig.public_key().clone());
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    if allowed.is_empty() {
        return Err(format!(
            "an SSH signature by {fingerprint}, and no --allowed-signers"
        ));
    }
    let listed: Vec<&AllowedSigner> = allowed
        .iter()
        .filter(|a| a.key.key_data() == sig.public_key())
        .collect();
    if listed.is_empty() {
        return Err(format!("{fingerprint} is not in the allowed signers"));
    }
    let signer = listed
        .into_iter()
        .find(|a| {
            a.namespaces
                .as_ref()
                .is_none_or(|ns| ns.iter().any(|n| glob(n, namespace)))
        })
        .ok_or_else(|| {
            format!("{fingerprint} is allowed to sign other namespaces only, not {namespace}")
        })?;
    signer
        .key
        .verify(namespace, data, &sig)
        .map_err(|_| format!("the signature by {fingerprint} does not match the statement"))?;
    let signed = Signed::Verified {
        key: format!("{} {fingerprint}", key.algorithm()),
        by: signer.principals.clone(),
    };
    Ok((signed, vec![fingerprint]))
}

/// OpenSSH's pattern match (match.c): `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether the principals of a line (comma-separated patterns) allow `name`.
pub fn allows(principals: &str, name: &str) -> bool {
    principals.split(',').any(|p| glob(p.trim(), name))
}

/// An OpenPGP detached signature over `data` by a key of `keyring`, whose user IDs allow
/// `principal` when one is asked for; with the ids of the key (primary and signing key).
pub fn verify_openpgp(
    keyring: &[u8],
    data: &[u8],
    armored: &[u8],
    principal: Option<&str>,
) -> Result<(Signed, Vec<String>), String> {
    let v = crate::sign::verify_openpgp(keyring, data, armored)?;
    if let Some(name) = principal {
        let email = |uid: &str| {
            uid.rsplit_once('<').map_or(uid.to_string(), |(_, e)| {
                e.trim_end_matches('>').to_string()
            })
        };
        if !v
            .user_ids
            .iter()
            .any(|u| glob(name, &email(u)) || glob(name, u))
        {
            return Err(format!(
                "signed by OpenPGP {}, whose user IDs are not {name}",
                v.primary
            ));
        }
    }
    let signed = Signed::Verified {
        key: format!("OpenPGP {}", v.signing_key),
        by: if v.user_ids.is_empty() {
            v.primary.clone()
        } else {
            v.user_ids.join(", ")
        },
    };
    Ok((signed, vec![v.primary, v.signing_key]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZjgWlBUq2oyaVd7ewfbNLPkNbKTvWK9P4gDq7oRzTk";

    #[test]
    fn allowed_signers_lines() {
        let text = format!(
            "# who may sign\n\nci@acme.example {KEY} ci key\n\"a@x,b@y\" namespaces=\"git,gitops-update-provenance\" {KEY}\nold@acme valid-before=20200101 {KEY}\n"
        );
        let (signers, skipped) = parse_allowed_signers(&text).unwrap();
        assert_eq!(signers.len(), 2);
        assert_eq!(signers[0].principals, "ci@acme.example");
        assert!(signers[0].namespaces.is_none());
        assert_eq!(signers[1].principals, "a@x,b@y");
        assert_eq!(
            signers[1].namespaces.as_deref(),
            Some(&["git".to_string(), "gitops-update-provenance".to_string()][..])
        );
        assert_eq!(skipped, vec![5]);
        let err = parse_allowed_signers("just-a-principal\n").err().unwrap();
        assert!(err.starts_with("line 1:"), "{err}");
        let (signers, _) = parse_allowed_signers(&format!("ssh-deployer@acme {KEY}\n")).unwrap();
        assert_eq!(signers[0].principals, "ssh-deployer@acme");
        let err = parse_allowed_signers(&format!("{KEY}\n")).err().unwrap();
        assert!(err.contains("put the signer's email before it"), "{err}");
        assert!(
            glob("*", "gitops-update-provenance") && glob("gitops-*", "gitops-update-provenance")
        );
        assert!(!glob("git", "gitops-update-provenance") && glob("g?t", "git"));
        assert!(allows("a@x,*@acme.example", "ci@acme.example") && !allows("a@x", "b@x"));
        let err = parse_allowed_signers("a@b ssh-ed25519 AAAAnotakey\n")
            .err()
            .unwrap();
        assert!(err.contains("cannot be read"), "{err}");
    }
}
