//! Signing: what Gitea checks before it calls a signature verified
//! (models/asymkey/ssh_key_commit_verification.go, gpg_key_commit_verification.go), said
//! once, before the first push, with what the token's account shows of it.

use crate::config::RunConfig;
use crate::forge::{ApiError, Forge};
use crate::model;
use crate::report;
use crate::sign::{AccountKey, Signer};

/// Says how the commits are signed and what Gitea will make of it; warns of what will make
/// them show as unverified.
pub fn announce(cfg: &RunConfig, signer: &Signer, forge: Option<&dyn Forge>) {
    // What Gitea checks before it calls a signature verified
    // (models/asymkey/ssh_key_commit_verification.go, gpg_key_commit_verification.go):
    // said once, before the first push.
    let kind = if signer.emails().is_some() {
        "GPG"
    } else {
        "verified SSH"
    };
    report::progress(&format!(
        "signing commits with {}; Gitea verifies them when that key is a {kind} key of the account with the activated email {}",
        signer.describe(),
        cfg.committer.email
    ));
    if let Some(emails) = signer.emails() {
        // Gitea matches the committer email to the key's own addresses, unless the key
        // was verified by a signed token and the email is activated on its account.
        if cfg.committer.email != model::BOT.1
            && !emails
                .iter()
                .any(|e| e.eq_ignore_ascii_case(&cfg.committer.email))
        {
            report::warn(&format!(
                "the commits carry the committer email {}, which is not in the signing key's user IDs ({}): Gitea shows them as unverified unless the key is verified on an account with that email; set GIT_COMMITTER_EMAIL to one of the key's addresses",
                cfg.committer.email,
                if emails.is_empty() { "none".to_string() } else { emails.join(", ") }
            ));
        }
    }
    if cfg.committer.email == model::BOT.1 {
        report::warn(&format!(
            "the commits carry the committer email {}, which no Gitea account has, so they will show as unverified: set GIT_COMMITTER_EMAIL to an email of the key's account",
            model::BOT.1
        ));
    }
    if let Some(forge) = forge {
        check_signing_account(cfg, signer, forge);
    }
}

/// Before the first push, what Gitea will check of the signatures, as far as the token's
/// account shows it: the committer email among its activated addresses, the key among its
/// keys (models/asymkey/*_commit_verification.go). The committer's account may not be the
/// token's, so a miss is a warning, and an account the token cannot read (a job token) is
/// one line.
fn check_signing_account(cfg: &RunConfig, signer: &Signer, g: &dyn Forge) {
    let checked = account(g, signer);
    let email = &cfg.committer.email;
    match checked {
        Err(e) => report::progress(&format!(
            "the signing key was not checked against the token's Gitea account ({e})"
        )),
        Ok(Account {
            emails,
            kind,
            has_key,
        }) => {
            let activated = emails
                .iter()
                .any(|(e, verified)| *verified && e.eq_ignore_ascii_case(email));
            if !activated {
                let listed: Vec<&str> = emails
                    .iter()
                    .filter(|(_, v)| *v)
                    .map(|(e, _)| e.as_str())
                    .collect();
                report::warn(&format!(
                    "the committer email {email} is not an activated email of the token's Gitea account ({}): Gitea shows the commits as verified only when the key's account has it activated",
                    if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
                ));
            }
            if !has_key {
                report::warn(&format!(
                    "{} is not among the {kind} keys of the token's Gitea account: Gitea shows the commits as verified only when the committer's account has it",
                    signer.describe()
                ));
            }
            if activated && has_key {
                report::progress(&format!(
                    "the token's Gitea account has {} and the activated email {email}: Gitea will show the commits as verified",
                    signer.describe()
                ));
            }
        }
    }
}

/// What the token's account shows: its emails (and whether each is activated), the kind of
/// the signing key, and whether the account has it.
struct Account {
    emails: Vec<(String, bool)>,
    kind: &'static str,
    has_key: bool,
}

fn account(g: &dyn Forge, signer: &Signer) -> Result<Account, ApiError> {
    let emails = g.my_emails()?;
    let (kind, has_key) = match signer.account_key() {
        AccountKey::Ssh(fp) => ("SSH", g.my_ssh_fingerprints()?.contains(&fp)),
        AccountKey::Gpg(id) => (
            "GPG",
            g.my_gpg_key_ids()?
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&id)),
        ),
    };
    Ok(Account {
        emails,
        kind,
        has_key,
    })
}
