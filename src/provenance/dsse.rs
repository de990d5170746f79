//! DSSE (Dead Simple Signing Envelope, v1.0.2): the statement as a base64 payload, and
//! signatures over its pre-authentication encoding (PAE), so that what is signed is exactly
//! the bytes that are read back, with their type.
//!
//! Each `sig` is the base64 of the armored signature the signer makes: an `ssh-keygen -Y
//! sign` signature (namespace `SSH_NAMESPACE`) or an OpenPGP detached signature, so that
//! `ssh-keygen -Y verify` and `gpg --verify` check it over the PAE bytes as they are.

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Serialize};

use super::{Statement, PAYLOAD_TYPE, SSH_NAMESPACE};
use crate::error::{Error, Result};
use crate::sign::Signer;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Signature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

impl Envelope {
    /// The statement, signed by `signer` when there is one; with no signature otherwise.
    pub fn seal(statement: &Statement, signer: Option<&Signer>) -> Result<Envelope> {
        let body = serde_json::to_vec(statement)
            .map_err(|e| Error::Internal(format!("cannot write the provenance: {e}")))?;
        let mut signatures = Vec::new();
        if let Some(signer) = signer {
            let armored = signer.sign_in(SSH_NAMESPACE, &pae(PAYLOAD_TYPE, &body))?;
            signatures.push(Signature {
                keyid: signer.key_id(),
                sig: Base64::encode_string(armored.as_bytes()),
            });
        }
        Ok(Envelope {
            payload: Base64::encode_string(&body),
            payload_type: PAYLOAD_TYPE.to_string(),
            signatures,
        })
    }

    /// The note's text: one line of JSON.
    pub fn to_note(&self) -> Result<String> {
        serde_json::to_string(self)
            .map(|s| s + "\n")
            .map_err(|e| Error::Internal(format!("cannot write the provenance: {e}")))
    }

    /// An envelope read from a note; `Err` says what is wrong with it, in one line.
    pub fn from_note(text: &[u8]) -> std::result::Result<Envelope, String> {
        serde_json::from_slice(text).map_err(|e| format!("the note is not a DSSE envelope ({e})"))
    }

    /// The payload's bytes, as signed.
    pub fn body(&self) -> std::result::Result<Vec<u8>, String> {
        Base64::decode_vec(self.payload.trim())
            .map_err(|_| "the envelope's payload is not base64".to_string())
    }
}

/// A signature's armored text, from its base64.
pub fn armored(sig: &Signature) -> std::result::Result<Vec<u8>, String> {
    Base64::decode_vec(sig.sig.trim()).map_err(|_| "a signature is not base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_specification_s_example() {
        // DSSE protocol.md's test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
