//! OpenPGP signatures from an armored secret key (`gpg --armor --export-secret-keys`), as
//! `git commit -S` makes them with gpg: a detached v4 binary-document signature (RFC 4880
//! §5.2.3) over the commit's text. Only what that needs is here: reading v4 secret keys
//! (RSA, EdDSA on Ed25519, ECDSA on P-256 and P-384), unlocking gpg's passphrase protection
//! (iterated and salted S2K, AES, SHA-1 check), and writing one signature packet.
//!
//! Every refusal is a fixed sentence (`Refusal` holds a `&'static str`): nothing read from
//! the key is ever put in one. Section numbers are RFC 4880's unless another RFC is named.

use std::fmt;

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// Why a key cannot sign, or why signing failed: one fixed sentence, for `source: why`. It
/// can only hold a `&'static str`, so no byte of the key can end up in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

pub struct Key {
    secret: Secret,
    /// The signing (sub)key's v4 fingerprint: the issuer that gpg and Gitea look up.
    fingerprint: [u8; 20],
    /// The addresses in the key's user IDs: Gitea verifies a commit whose committer email is
    /// one of them (models/asymkey/gpg_key_commit_verification.go).
    pub emails: Vec<String>,
}

enum Secret {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

// Public-key algorithm numbers (§9.1, RFC 6637 §5, RFC 9580 §9.1).
pub(super) const RSA: u8 = 1;
pub(super) const RSA_SIGN: u8 = 3;
pub(super) const ECDSA: u8 = 19;
pub(super) const EDDSA: u8 = 22;

// The curves' OIDs, as a key packet holds them: without the DER tag and length (RFC 6637
// §11, RFC 9580 §9.2).
pub(super) const OID_ED25519: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01];
pub(super) const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
pub(super) const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];

// Hash algorithm numbers (§9.4).
pub(super) const HASH_SHA1: u8 = 2;
pub(super) const HASH_SHA256: u8 = 8;
pub(super) const HASH_SHA384: u8 = 9;
pub(super) const HASH_SHA512: u8 = 10;

// Symmetric cipher numbers (§9.2), and AES's block size, the length of the IV (§13.9).
const CIPHER_AES128: u8 = 7;
const CIPHER_AES192: u8 = 8;
const CIPHER_AES256: u8 = 9;
const AES_BLOCK: usize = 16;

// Packet tags (§4.3).
pub(super) const TAG_SIGNATURE: u8 = 2; // §5.2
pub(super) const TAG_SECRET_KEY: u8 = 5; // §5.5.1.3
pub(super) const TAG_PUBLIC_KEY: u8 = 6; // §5.5.1.1
pub(super) const TAG_SECRET_SUBKEY: u8 = 7; // §5.5.1.4
pub(super) const TAG_USER_ID: u8 = 13; // §5.11

// The first octet of a packet header (§4.2): bit 7 is always set; bit 6 marks the new
// format, whose tag is bits 5-0; the old format has the tag in bits 5-2 and the length type
// in bits 1-0 (§4.2.1).
pub(super) const HEADER_ALWAYS: u8 = 0x80;
const HEADER_NEW: u8 = 0x40;
const HEADER_NEW_TAG: u8 = 0x3F;
const HEADER_OLD_TAG: u8 = 0x3C;
const HEADER_OLD_LENGTH: u8 = 0x03;

// Lengths, by their first octet: below 192 one octet; up to `LENGTH_TWO_LAST` two octets
// (§4.2.2.2); 255 then four octets (§4.2.2.3). In a packet header, 224 to 254 are partial
// lengths (§4.2.2.4); in a subpacket, two octets go up to 254 (§5.2.3.1).
const LENGTH_TWO: u8 = 192;
const LENGTH_TWO_LAST: u8 = 223;
const LENGTH_FIVE: u8 = 255;

// Key and signature packet versions (§5.2.3, §5.5.2).
pub(super) const VERSION_4: u8 = 4;
// Where a v4 key packet's fields start: version, creation time, algorithm, then the public
// key's fields (§5.5.2).
pub(super) const KEY_CREATED_AT: usize = 1;
const KEY_ALGORITHM_AT: usize = 5;
const KEY_FIELDS_AT: usize = 6;

// Signature types (§5.2.1).
pub(super) const SIG_BINARY: u8 = 0x00;
pub(super) const SIG_CERTIFICATION_FIRST: u8 = 0x10; // generic certification of a user ID
pub(super) const SIG_CERTIFICATION_LAST: u8 = 0x13; // positive certification
pub(super) const SIG_SUBKEY_BINDING: u8 = 0x18;
pub(super) const SIG_KEY_REVOCATION: u8 = 0x20;
pub(super) const SIG_SUBKEY_REVOCATION: u8 = 0x28;
// A v3 signature's type, after its version and the length 5 (§5.2.2).
const SIG_V3_TYPE_AT: usize = 2;

// Signature subpacket types (§5.2.3.1); bit 7 of the type octet marks one critical.
pub(super) const SUBPACKET_CREATION_TIME: u8 = 2; // §5.2.3.4
pub(super) const SUBPACKET_KEY_EXPIRATION: u8 = 9; // §5.2.3.6
pub(super) const SUBPACKET_ISSUER: u8 = 16; // §5.2.3.5
pub(super) const SUBPACKET_KEY_FLAGS: u8 = 27; // §5.2.3.21
pub(super) const SUBPACKET_ISSUER_FPR: u8 = 33; // RFC 9580 §5.2.3.35
const SUBPACKET_CRITICAL: u8 = 0x80;
// The key flag "this key may be used to sign data" (§5.2.3.21).
pub(super) const KEY_FLAG_SIGN: u8 = 0x02;

// The octet that ends a v4 signature's hashed data, before its length (§5.2.4).
pub(super) const V4_TRAILER: u8 = 0xFF;
// The octet a v4 fingerprint's hash starts with, before the key's two-octet length (§12.2).
pub(super) const FINGERPRINT_PREFIX: u8 = 0x99;
// A key ID is the low 64 bits of a v4 fingerprint (§12.2).
pub(super) const KEY_ID_AT: usize = 12;

// S2K usage, the octet after a secret key's public fields (§5.5.3): the secret in the
// clear with a checksum, or encrypted and checked by SHA-1 or by a checksum.
const S2K_USAGE_CLEAR: u8 = 0;
const S2K_USAGE_SHA1: u8 = 254;
const S2K_USAGE_CHECKSUM: u8 = 255;
// S2K specifier types (§3.7.1), and GnuPG's "gnu-dummy" extension, a stub for a secret
// that is not in the export (GnuPG doc/DETAILS).
const S2K_SIMPLE: u8 = 0;
const S2K_SALTED: u8 = 1;
const S2K_ITERATED: u8 = 3;
const S2K_GNU: u8 = 101;
const S2K_SALT_LEN: usize = 8;
// An iterated S2K counts `(16 + (c & 15)) << ((c >> 4) + EXPBIAS)` octets (§3.7.1.3).
const S2K_EXPBIAS: usize = 6;

// ASCII armor (§6): gpg's line width, and the CRC-24's initial value and generator (§6.1).
const ARMOR_LINE: usize = 64;
const CRC24_INIT: u32 = 0xB7_04CE;
const CRC24_POLY: u32 = 0x186_4CFB;

const DAMAGED: Refusal =
    Refusal("the OpenPGP private key cannot be read (truncated, or a line lost in the secret?)");
const PUBLIC_ONLY: Refusal = Refusal(
    "an OpenPGP public key, not a secret key: export it with gpg --armor --export-secret-keys",
);
const STUB: Refusal = Refusal("the OpenPGP key's signing secret is not in this export (a stub: on a smartcard, or exported without it); export it with gpg --armor --export-secret-keys");
const UNSUPPORTED_KEY: Refusal = Refusal("the OpenPGP key cannot sign here: its algorithm is not RSA, Ed25519, ECDSA P-256 or P-384, or it is not a v4 key");
const NO_SIGNING_KEY: Refusal =
    Refusal("the OpenPGP key has no subkey that may sign and has not expired or been revoked");
const NEEDS_PASSPHRASE: Refusal =
    Refusal("the key is protected by a passphrase: set GITOPS_SIGNING_KEY_PASSPHRASE");
const WRONG_PASSPHRASE: Refusal =
    Refusal("the passphrase in GITOPS_SIGNING_KEY_PASSPHRASE does not unlock the key");
const LEGACY_PROTECTION: Refusal = Refusal("the OpenPGP key is protected in a way older than gpg 2 writes; re-export it with gpg --armor --export-secret-keys");
const UNSUPPORTED_PROTECTION: Refusal = Refusal("the OpenPGP key's passphrase protection uses a cipher or hash other than AES and SHA-1/SHA-2; re-export it with gpg 2");
const SIGNING_FAILED: Refusal = Refusal("signing failed");

impl Key {
    pub fn parse(text: &str, passphrase: Option<&str>) -> Result<Key, Refusal> {
        let data = dearmor(text, "PRIVATE KEY BLOCK").ok_or(DAMAGED)?;
        let packets = packets(&data).ok_or(DAMAGED)?;
        if !packets.iter().any(|p| p.tag == TAG_SECRET_KEY) {
            return Err(if packets.iter().any(|p| p.tag == TAG_PUBLIC_KEY) {
                PUBLIC_ONLY
            } else {
                DAMAGED
            });
        }
        let emails = packets
            .iter()
            .filter(|p| p.tag == TAG_USER_ID)
            .filter_map(|p| email_of(&String::from_utf8_lossy(p.body)))
            .collect();
        let chosen = choose(&packets)?;
        let material = Material::read(chosen.body).ok_or(DAMAGED)?;
        let secret = material.unlock(passphrase)?;
        Ok(Key {
            secret,
            fingerprint: material.fingerprint(),
            emails,
        })
    }

    /// The fingerprint in upper-case hex, as `gpg --list-keys` and `git log --show-signature`
    /// print it.
    pub fn fingerprint(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    pub fn algorithm(&self) -> &'static str {
        match self.secret {
            Secret::Rsa(_) => "rsa",
            Secret::Ed25519(_) => "ed25519",
            Secret::P256(_) => "nistp256",
            Secret::P384(_) => "nistp384",
        }
    }

    /// The armored detached signature of `payload`, made now: a v4 signature packet
    /// (§5.2.3) of type binary document.
    pub fn sign(&self, payload: &[u8], now: u32) -> Result<String, Refusal> {
        let (algo, hash) = match self.secret {
            Secret::Rsa(_) => (RSA, HASH_SHA512),
            Secret::Ed25519(_) => (EDDSA, HASH_SHA512),
            Secret::P256(_) => (ECDSA, HASH_SHA256),
            Secret::P384(_) => (ECDSA, HASH_SHA384),
        };
        // Hashed: the creation time and the issuer's fingerprint; unhashed: its key ID, which
        // Gitea looks up first.
        let mut hashed = Vec::new();
        put_subpacket(&mut hashed, SUBPACKET_CREATION_TIME, &[&now.to_be_bytes()]);
        put_subpacket(
            &mut hashed,
            SUBPACKET_ISSUER_FPR,
            &[&[VERSION_4], &self.fingerprint],
        );
        let mut unhashed = Vec::new();
        put_subpacket(
            &mut unhashed,
            SUBPACKET_ISSUER,
            &[&self.fingerprint[KEY_ID_AT..]],
        );
        let mut head = vec![VERSION_4, SIG_BINARY, algo, hash];
        head.extend((hashed.len() as u16).to_be_bytes());
        head.extend(&hashed);
        let mut trailer = vec![VERSION_4, V4_TRAILER];
        trailer.extend((head.len() as u32).to_be_bytes());
        let parts = [payload, &head, &trailer];
        let digest = match hash {
            HASH_SHA256 => digest::<Sha256>(&parts),
            HASH_SHA384 => digest::<Sha384>(&parts),
            _ => digest::<Sha512>(&parts),
        };
        let mut body = head;
        body.extend((unhashed.len() as u16).to_be_bytes());
        body.extend(&unhashed);
        // The hash's first two octets, a quick check for a verifier (§5.2.3).
        body.extend(&digest[..2]);
        for m in &self.signature_mpis(&digest)? {
            put_mpi(&mut body, m);
        }
        let mut packet = vec![HEADER_ALWAYS | HEADER_NEW | TAG_SIGNATURE];
        put_length(&mut packet, body.len());
        packet.extend(body);
        Ok(armor(&packet))
    }

    /// The signature of `digest` as the algorithm's MPIs (§5.2.2): RSA's `m^d mod n`
    /// (PKCS#1 v1.5 with SHA-512), EdDSA's and ECDSA's `r` and `s` (RFC 6637 §5, RFC 9580
    /// §5.2.3).
    fn signature_mpis(&self, digest: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
        let failed = |_| SIGNING_FAILED;
        Ok(match &self.secret {
            Secret::Rsa(key) => vec![key
                .sign(rsa::Pkcs1v15Sign::new::<Sha512>(), digest)
                .map_err(|_| SIGNING_FAILED)?],
            Secret::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                let sig = key.sign(digest);
                vec![sig.r_bytes().to_vec(), sig.s_bytes().to_vec()]
            }
            Secret::P256(key) => {
                use p256::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p256::ecdsa::Signature = key.sign_prehash(digest).map_err(failed)?;
                vec![sig.r().to_bytes().to_vec(), sig.s().to_bytes().to_vec()]
            }
            Secret::P384(key) => {
                use p384::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p384::ecdsa::Signature = key.sign_prehash(digest).map_err(failed)?;
                vec![sig.r().to_bytes().to_vec(), sig.s().to_bytes().to_vec()]
            }
        })
    }
}

/// One signature subpacket (§5.2.3.1): its length, its type, then `data`. Every subpacket
/// written here is shorter than 192 octets, so its length is one octet.
fn put_subpacket(out: &mut Vec<u8>, kind: u8, data: &[&[u8]]) {
    let len = 1 + data.iter().map(|d| d.len()).sum::<usize>();
    debug_assert!(len < usize::from(LENGTH_TWO));
    out.push(len as u8);
    out.push(kind);
    for d in data {
        out.extend_from_slice(d);
    }
}

/// The hash of the signed data, its signature's header and trailer (§5.2.4).
pub(super) fn digest<H: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = H::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// `Name (comment) <a@b>` → `a@b`; a bare address is itself.
fn email_of(uid: &str) -> Option<String> {
    let inner = match (uid.rfind('<'), uid.rfind('>')) {
        (Some(a), Some(b)) if a < b => &uid[a + 1..b],
        _ => uid.trim(),
    };
    (inner.contains('@') && !inner.contains(char::is_whitespace)).then(|| inner.to_string())
}

pub(super) struct Packet<'a> {
    pub(super) tag: u8,
    pub(super) body: &'a [u8],
}

/// The packets of a transferable key (§11.2) or a detached signature, old and new headers
/// alike (§4.2).
pub(super) fn packets(mut data: &[u8]) -> Option<Vec<Packet<'_>>> {
    let mut out = Vec::new();
    while let Some((&first, rest)) = data.split_first() {
        if first & HEADER_ALWAYS == 0 {
            return None;
        }
        let (tag, len, rest) = if first & HEADER_NEW != 0 {
            let (len, rest) = new_length(rest)?;
            (first & HEADER_NEW_TAG, len, rest)
        } else {
            let (len, rest) = old_length(first & HEADER_OLD_LENGTH, rest)?;
            ((first & HEADER_OLD_TAG) >> 2, len, rest)
        };
        out.push(Packet {
            tag,
            body: rest.get(..len)?,
        });
        data = &rest[len..];
    }
    Some(out)
}

/// A new-format packet length and what follows it (§4.2.2). Partial lengths are refused:
/// they never occur in a key.
fn new_length(rest: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = rest.split_first()?;
    match first {
        0..LENGTH_TWO => Some((usize::from(first), rest)),
        LENGTH_TWO..=LENGTH_TWO_LAST => two_octet_length(first, rest),
        LENGTH_FIVE => Some((be32(rest)? as usize, rest.get(4..)?)),
        _ => None,
    }
}

/// An old-format packet length of length type `kind` (§4.2.1): one, two or four octets, or
/// the rest of the data (3, indeterminate).
fn old_length(kind: u8, rest: &[u8]) -> Option<(usize, &[u8])> {
    match kind {
        0 => Some((usize::from(*rest.first()?), rest.get(1..)?)),
        1 => Some((
            usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            rest.get(2..)?,
        )),
        2 => Some((be32(rest)? as usize, rest.get(4..)?)),
        _ => Some((rest.len(), rest)),
    }
}

/// A two-octet length whose first octet is `first` (§4.2.2.2, §5.2.3.1).
fn two_octet_length(first: u8, rest: &[u8]) -> Option<(usize, &[u8])> {
    let (&second, rest) = rest.split_first()?;
    let len = ((usize::from(first) - usize::from(LENGTH_TWO)) << 8)
        + usize::from(second)
        + usize::from(LENGTH_TWO);
    Some((len, rest))
}

pub(super) fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// What one key of the export can do for signing.
enum Fit {
    /// It may sign, here and now; created at this time.
    Signs(u32),
    /// It may sign, but its secret is a stub.
    Stub,
    No,
}

/// The key that signs, as gpg picks it: the newest subkey flagged for signing whose secret is
/// here, else the primary key when it may sign. Revoked and expired keys are passed over.
fn choose<'a>(packets: &'a [Packet<'a>]) -> Result<&'a Packet<'a>, Refusal> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Each key with the self-signatures that follow it, up to the next key.
    let mut keys: Vec<(&Packet, Vec<&Packet>)> = Vec::new();
    for p in packets {
        match p.tag {
            TAG_SECRET_KEY | TAG_SECRET_SUBKEY => keys.push((p, Vec::new())),
            TAG_SIGNATURE => {
                if let Some((_, sigs)) = keys.last_mut() {
                    sigs.push(p);
                }
            }
            _ => {}
        }
    }
    let (primary, subkeys) = keys.split_first().ok_or(DAMAGED)?;
    let subkeys: Vec<(&Packet, Fit)> = subkeys
        .iter()
        .map(|(k, sigs)| (*k, fit(k, sigs, false, now)))
        .collect();
    let newest = subkeys
        .iter()
        .filter_map(|(k, f)| match f {
            Fit::Signs(created) => Some((*created, *k)),
            _ => None,
        })
        .max_by_key(|(created, _)| *created);
    if let Some((_, k)) = newest {
        return Ok(k);
    }
    let primary_fit = fit(primary.0, &primary.1, true, now);
    if let Fit::Signs(_) = primary_fit {
        return Ok(primary.0);
    }
    if matches!(primary_fit, Fit::Stub) || subkeys.iter().any(|(_, f)| matches!(f, Fit::Stub)) {
        return Err(STUB);
    }
    let unsupported = keys
        .iter()
        .filter_map(|(k, _)| Material::read(k.body))
        .any(|m| !m.supported());
    Err(if unsupported {
        UNSUPPORTED_KEY
    } else {
        NO_SIGNING_KEY
    })
}

/// Whether `key` may sign, by its self-signatures `sigs`: not revoked, flagged for signing
/// (a primary key without flags may), not expired at `now`, of an algorithm this signs with.
fn fit(key: &Packet, sigs: &[&Packet], primary: bool, now: u64) -> Fit {
    let assess = || -> Option<Fit> {
        let created = be32(key.body.get(KEY_CREATED_AT..)?)?;
        let mut flags = None;
        let mut expires = None;
        for sig in sigs {
            let info = SigInfo::read(sig.body)?;
            match info.kind {
                SIG_KEY_REVOCATION | SIG_SUBKEY_REVOCATION => return Some(Fit::No),
                SIG_CERTIFICATION_FIRST..=SIG_CERTIFICATION_LAST if primary => {}
                SIG_SUBKEY_BINDING if !primary => {}
                _ => continue,
            }
            flags = info.flags.or(flags);
            expires = info.expires.or(expires);
        }
        let may_sign = flags.map_or(primary, |f| f & KEY_FLAG_SIGN != 0);
        let expired = expires.is_some_and(|e| e != 0 && u64::from(created) + u64::from(e) <= now);
        let material = Material::read(key.body)?;
        Some(if material.is_stub() {
            if may_sign {
                Fit::Stub
            } else {
                Fit::No
            }
        } else if may_sign && !expired && material.supported() {
            Fit::Signs(created)
        } else {
            Fit::No
        })
    };
    assess().unwrap_or(Fit::No)
}

/// What a self-signature says about its key.
struct SigInfo {
    kind: u8,
    flags: Option<u8>,
    /// Seconds after the key's creation.
    expires: Option<u32>,
}

impl SigInfo {
    /// A v4 signature (§5.2.3): version, type, algorithms, then the hashed subpackets, whose
    /// key flags and expiration time are read. Any other version gives its type alone.
    fn read(body: &[u8]) -> Option<SigInfo> {
        if body.first()? != &VERSION_4 {
            return Some(SigInfo {
                kind: *body.get(SIG_V3_TYPE_AT)?,
                flags: None,
                expires: None,
            });
        }
        let kind = *body.get(1)?;
        let len = u16::from_be_bytes(body.get(4..6)?.try_into().ok()?) as usize;
        let (mut flags, mut expires) = (None, None);
        for sub in subpackets(body.get(6..6 + len)?)? {
            match sub.kind {
                SUBPACKET_KEY_FLAGS => flags = sub.data.first().copied(),
                SUBPACKET_KEY_EXPIRATION => expires = be32(sub.data),
                _ => {}
            }
        }
        Some(SigInfo {
            kind,
            flags,
            expires,
        })
    }
}

/// One signature subpacket (§5.2.3.1).
pub(super) struct Subpacket<'a> {
    /// The type, without the critical bit.
    pub(super) kind: u8,
    pub(super) critical: bool,
    pub(super) data: &'a [u8],
}

/// The subpackets of a signature's hashed or unhashed area, or None when one runs past the
/// area's end or has no type octet.
pub(super) fn subpackets(mut area: &[u8]) -> Option<Vec<Subpacket<'_>>> {
    let mut out = Vec::new();
    while !area.is_empty() {
        let (n, rest) = subpacket_length(area)?;
        let (&kind, data) = rest.get(..n)?.split_first()?;
        out.push(Subpacket {
            kind: kind & !SUBPACKET_CRITICAL,
            critical: kind & SUBPACKET_CRITICAL != 0,
            data,
        });
        area = &rest[n..];
    }
    Some(out)
}

/// A subpacket's length and what follows it (§5.2.3.1): one, two or five octets.
fn subpacket_length(sub: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = sub.split_first()?;
    match first {
        0..LENGTH_TWO => Some((usize::from(first), rest)),
        LENGTH_FIVE => Some((be32(rest)? as usize, rest.get(4..)?)),
        _ => two_octet_length(first, rest),
    }
}

/// A secret-key packet's fields (§5.5.3); of a public-key packet, the same without a secret
/// (§5.5.2).
pub(super) struct Material<'a> {
    pub(super) version: u8,
    pub(super) algo: u8,
    /// The public part, which the fingerprint covers.
    public: &'a [u8],
    /// The public key's fields: RSA `n`, `e`; EC the curve's OID and the point.
    pub(super) fields: Vec<&'a [u8]>,
    /// From the S2K usage octet on.
    protection: &'a [u8],
}

impl<'a> Material<'a> {
    pub(super) fn read(body: &'a [u8]) -> Option<Material<'a>> {
        let version = *body.first()?;
        let algo = *body.get(KEY_ALGORITHM_AT)?;
        if version != VERSION_4 {
            return Some(Material {
                version,
                algo,
                public: body,
                fields: Vec::new(),
                protection: &[],
            });
        }
        let mut rest = body.get(KEY_FIELDS_AT..)?;
        let mut fields = Vec::new();
        match algo {
            RSA | RSA_SIGN => {
                fields.push(mpi(&mut rest)?);
                fields.push(mpi(&mut rest)?);
            }
            ECDSA | EDDSA => {
                // The OID with its one-octet length (RFC 6637 §9), then the point as an MPI.
                let (&n, r) = rest.split_first()?;
                fields.push(r.get(..n as usize)?);
                rest = &r[n as usize..];
                fields.push(mpi(&mut rest)?);
            }
            _ => {}
        }
        let public_len = body.len() - rest.len();
        Some(Material {
            version,
            algo,
            public: &body[..public_len],
            fields,
            protection: rest,
        })
    }

    fn supported(&self) -> bool {
        self.version == VERSION_4
            && match self.algo {
                RSA | RSA_SIGN => true,
                EDDSA => self.fields.first() == Some(&OID_ED25519),
                ECDSA => matches!(self.fields.first(), Some(&OID_P256) | Some(&OID_P384)),
                _ => false,
            }
    }

    /// gpg's stub for a secret it does not have: S2K usage, cipher, then the GNU S2K type.
    fn is_stub(&self) -> bool {
        matches!(
            self.protection.first(),
            Some(&(S2K_USAGE_SHA1 | S2K_USAGE_CHECKSUM))
        ) && self.protection.get(2) == Some(&S2K_GNU)
    }

    fn fingerprint(&self) -> [u8; 20] {
        fingerprint(self.public)
    }

    fn unlock(&self, passphrase: Option<&str>) -> Result<Secret, Refusal> {
        let clear = self.clear_secret(passphrase)?;
        let mut rest: &[u8] = &clear;
        let mut next = || mpi(&mut rest).ok_or(DAMAGED);
        match self.algo {
            RSA | RSA_SIGN => {
                let int = |b: &[u8]| rsa::BigUint::from_bytes_be(b);
                let (d, p, q) = (next()?, next()?, next()?);
                let key = rsa::RsaPrivateKey::from_components(
                    int(self.fields[0]),
                    int(self.fields[1]),
                    int(d),
                    vec![int(p), int(q)],
                )
                .map_err(|_| DAMAGED)?;
                key.validate().map_err(|_| DAMAGED)?;
                Ok(Secret::Rsa(Box::new(key)))
            }
            EDDSA => {
                let seed = padded::<32>(next()?).ok_or(DAMAGED)?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                // The point is 0x40 and the 32-byte public key (RFC 9580 §5.5.5.5).
                if self.fields[1].get(1..) != Some(key.verifying_key().as_bytes()) {
                    return Err(DAMAGED);
                }
                Ok(Secret::Ed25519(key))
            }
            _ if self.fields[0] == OID_P256 => {
                let d = padded::<32>(next()?).ok_or(DAMAGED)?;
                let key = p256::ecdsa::SigningKey::from_slice(d.as_slice()).map_err(|_| DAMAGED)?;
                let point = key.verifying_key().to_encoded_point(false);
                if point.as_bytes() != self.fields[1] {
                    return Err(DAMAGED);
                }
                Ok(Secret::P256(key))
            }
            _ => {
                let d = padded::<48>(next()?).ok_or(DAMAGED)?;
                let key = p384::ecdsa::SigningKey::from_slice(d.as_slice()).map_err(|_| DAMAGED)?;
                let point = key.verifying_key().to_encoded_point(false);
                if point.as_bytes() != self.fields[1] {
                    return Err(DAMAGED);
                }
                Ok(Secret::P384(key))
            }
        }
    }

    /// The secret fields in the clear, their check verified (§5.5.3): a checksum after a
    /// clear secret; a SHA-1 hash or a checksum inside an encrypted one.
    fn clear_secret(&self, passphrase: Option<&str>) -> Result<Zeroizing<Vec<u8>>, Refusal> {
        let (&usage, rest) = self.protection.split_first().ok_or(DAMAGED)?;
        match usage {
            S2K_USAGE_CLEAR => {
                let (body, sum) = rest.split_at(rest.len().checked_sub(2).ok_or(DAMAGED)?);
                if checksum(body) != sum {
                    return Err(DAMAGED);
                }
                Ok(Zeroizing::new(body.to_vec()))
            }
            S2K_USAGE_SHA1 | S2K_USAGE_CHECKSUM => {
                let pass = passphrase
                    .filter(|p| !p.is_empty())
                    .ok_or(NEEDS_PASSPHRASE)?;
                let plain = decrypt(rest, pass)?;
                let (body, check) = if usage == S2K_USAGE_SHA1 {
                    let at = plain.len().checked_sub(20).ok_or(WRONG_PASSPHRASE)?;
                    let body = &plain[..at];
                    (body, Sha1::digest(body).to_vec())
                } else {
                    let at = plain.len().checked_sub(2).ok_or(WRONG_PASSPHRASE)?;
                    let body = &plain[..at];
                    (body, checksum(body).to_vec())
                };
                if check != plain[body.len()..] {
                    return Err(WRONG_PASSPHRASE);
                }
                Ok(Zeroizing::new(body.to_vec()))
            }
            _ => Err(LEGACY_PROTECTION),
        }
    }
}

/// The v4 fingerprint of a key's public part (§12.2).
pub(super) fn fingerprint(public: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update([FINGERPRINT_PREFIX]);
    h.update((public.len() as u16).to_be_bytes());
    h.update(public);
    h.finalize().into()
}

/// The sum of the octets modulo 65536, the check of a clear or legacy-protected secret.
fn checksum(body: &[u8]) -> [u8; 2] {
    let sum = body.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
    sum.to_be_bytes()
}

/// A big-endian integer left-padded to N octets, or None when longer.
pub(super) fn padded<const N: usize>(b: &[u8]) -> Option<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    let at = N.checked_sub(b.len())?;
    out[at..].copy_from_slice(b);
    Some(out)
}

/// The protected secret: cipher, S2K specifier, IV, then the ciphertext (§3.7, §5.5.3),
/// decrypted with AES in OpenPGP's CFB mode (§13.9).
fn decrypt(spec: &[u8], pass: &str) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let (&cipher, rest) = spec.split_first().ok_or(DAMAGED)?;
    let key_len = match cipher {
        CIPHER_AES128 => 16,
        CIPHER_AES192 => 24,
        CIPHER_AES256 => 32,
        _ => return Err(UNSUPPORTED_PROTECTION),
    };
    let (key, rest) = s2k_key(rest, pass, key_len)?;
    let iv = rest.get(..AES_BLOCK).ok_or(DAMAGED)?;
    let mut data = Zeroizing::new(rest[AES_BLOCK..].to_vec());
    let bad = |_| DAMAGED;
    match cipher {
        CIPHER_AES128 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(&key, iv)
            .map_err(bad)?
            .decrypt(&mut data),
        CIPHER_AES192 => cfb_mode::Decryptor::<aes::Aes192>::new_from_slices(&key, iv)
            .map_err(bad)?
            .decrypt(&mut data),
        _ => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
            .map_err(bad)?
            .decrypt(&mut data),
    }
    Ok(data)
}

/// The key of `key_len` octets that an S2K specifier (§3.7.1) makes of `pass`, and what
/// follows the specifier.
fn s2k_key<'s>(
    spec: &'s [u8],
    pass: &str,
    key_len: usize,
) -> Result<(Zeroizing<Vec<u8>>, &'s [u8]), Refusal> {
    let (&kind, rest) = spec.split_first().ok_or(DAMAGED)?;
    let (&hash, mut rest) = rest.split_first().ok_or(DAMAGED)?;
    let (salt, count): (&[u8], usize) = match kind {
        S2K_SIMPLE => (&[], 0),
        S2K_SALTED => {
            let salt = rest.get(..S2K_SALT_LEN).ok_or(DAMAGED)?;
            rest = &rest[S2K_SALT_LEN..];
            (salt, 0)
        }
        S2K_ITERATED => {
            let salt = rest.get(..S2K_SALT_LEN).ok_or(DAMAGED)?;
            let c = *rest.get(S2K_SALT_LEN).ok_or(DAMAGED)? as usize;
            rest = &rest[S2K_SALT_LEN + 1..];
            (salt, (16 + (c & 15)) << ((c >> 4) + S2K_EXPBIAS))
        }
        _ => return Err(UNSUPPORTED_PROTECTION),
    };
    let material = Zeroizing::new([salt, pass.as_bytes()].concat());
    let key = match hash {
        HASH_SHA1 => s2k::<Sha1>(&material, count, key_len),
        HASH_SHA256 => s2k::<Sha256>(&material, count, key_len),
        HASH_SHA512 => s2k::<Sha512>(&material, count, key_len),
        _ => return Err(UNSUPPORTED_PROTECTION),
    };
    Ok((key, rest))
}

/// The S2K key: the salted passphrase hashed, repeated to `count` octets (at least once
/// whole); more contexts, each preloaded with one more zero, when one hash is too short.
fn s2k<H: Digest>(material: &[u8], count: usize, len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 64));
    let count = count.max(material.len());
    let mut zeros = 0;
    while key.len() < len {
        let mut h = H::new();
        h.update(vec![0u8; zeros]);
        let mut left = count;
        while left > 0 {
            let n = left.min(material.len());
            h.update(&material[..n]);
            left -= n;
        }
        key.extend_from_slice(&h.finalize());
        zeros += 1;
    }
    key.truncate(len);
    key
}

/// One multiprecision integer (§3.2): a two-octet bit count, then the octets.
pub(super) fn mpi<'b>(rest: &mut &'b [u8]) -> Option<&'b [u8]> {
    let bits = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize;
    let n = bits.div_ceil(8);
    let value = rest.get(2..2 + n)?;
    *rest = &rest[2 + n..];
    Some(value)
}

fn put_mpi(out: &mut Vec<u8>, value: &[u8]) {
    let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let value = &value[start..];
    let bits = value.first().map_or(0, |&b| {
        (value.len() - 1) * 8 + (8 - b.leading_zeros() as usize)
    });
    out.extend((bits as u16).to_be_bytes());
    out.extend(value);
}

/// A new-format packet length (§4.2.2): one, two or five octets.
fn put_length(out: &mut Vec<u8>, len: usize) {
    let two = usize::from(LENGTH_TWO);
    match len {
        0..192 => out.push(len as u8),
        192..=8383 => {
            let l = len - two;
            out.extend([((l >> 8) + two) as u8, l as u8]);
        }
        _ => {
            out.push(LENGTH_FIVE);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

/// The CRC-24 of ASCII armor (§6.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = CRC24_INIT;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= CRC24_POLY;
            }
        }
    }
    crc & 0xFF_FFFF
}

/// A signature packet in ASCII armor (§6.2): base64 in lines, then `=` and the CRC-24.
fn armor(packet: &[u8]) -> String {
    use base64ct::{Base64, Encoding};
    let body = Base64::encode_string(packet);
    let mut out = String::from("-----BEGIN PGP SIGNATURE-----\n\n");
    for line in body.as_bytes().chunks(ARMOR_LINE) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push('=');
    out.push_str(&Base64::encode_string(&crc24(packet).to_be_bytes()[1..]));
    out.push_str("\n-----END PGP SIGNATURE-----\n");
    out
}

/// The octets of the first armored block labelled `label` (`PRIVATE KEY BLOCK`, `SIGNATURE`)
/// in `text`, its CRC checked when it has one (§6.2).
fn dearmor(text: &str, label: &str) -> Option<Zeroizing<Vec<u8>>> {
    dearmor_next(&mut text.lines().map(str::trim), label)
}

/// The next armored block labelled `label` in `lines`, which are left after its end: a
/// keyring may hold several blocks, one after the other.
pub(super) fn dearmor_next<'t>(
    lines: &mut impl Iterator<Item = &'t str>,
    label: &str,
) -> Option<Zeroizing<Vec<u8>>> {
    use base64ct::{Base64, Encoding};
    let begin = format!("-----BEGIN PGP {label}-----");
    let end = format!("-----END PGP {label}-----");
    lines.find(|l| *l == begin)?;
    // Headers (`Comment: ...`) end at the first blank line.
    let lines = lines.skip_while(|l| !l.is_empty());
    let mut body = Zeroizing::new(String::new());
    let mut crc = None;
    for line in lines {
        if line.starts_with(&end) {
            let data = Zeroizing::new(Base64::decode_vec(&body).ok()?);
            if let Some(crc) = crc {
                let sum: Vec<u8> = Base64::decode_vec(crc).ok()?;
                if sum.len() != 3 || sum[..] != crc24(&data).to_be_bytes()[1..] {
                    return None;
                }
            }
            return Some(data);
        }
        if let Some(sum) = line.strip_prefix('=') {
            crc = Some(sum);
        } else {
            body.push_str(line);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ed25519 and ECDSA (RFC 6979) signatures are deterministic: the same key, time and
    /// payload give the same packet, byte for byte. The expected armor was made by the
    /// signer before its numbers were named, so the names changed no byte.
    #[test]
    fn signature_packets_are_as_they_were() {
        let fingerprint: [u8; 20] = std::array::from_fn(|i| i as u8 * 13);
        let key = |secret| Key {
            secret,
            fingerprint,
            emails: Vec::new(),
        };
        let payload = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmessage\n";
        for (name, secret, want) in [
            (
                "ed25519",
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7; 32])),
                "-----BEGIN PGP SIGNATURE-----\n\nwnUEABYKAB0FAmVT8QAWIQQADRonNEFOW2h1go+cqbbD0N3q9wAKCRCcqbbD0N3q\n9yoAAQDfckufKAPLxPR2kJ5Napp/wFvVdlXXgu3Sj1pK3Q+NDgD/egmeuIbpJsIY\nkOSmoPPJ1HC+kC9U/ssMQc/Ev+GgegE=\n=TebN\n-----END PGP SIGNATURE-----\n",
            ),
            (
                "p256",
                Secret::P256(p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap()),
                "-----BEGIN PGP SIGNATURE-----\n\nwnUEABMIAB0FAmVT8QAWIQQADRonNEFOW2h1go+cqbbD0N3q9wAKCRCcqbbD0N3q\n98lKAP4rN9MZt1JexOaNeEUm1xHz/r5Ovsds/r8Ek5Z5R+P4EQD5Ab+t49Ixwztq\nP843ddlyZaVTSO6tSw7MOISeIqz24CY=\n=eqzN\n-----END PGP SIGNATURE-----\n",
            ),
            (
                "p384",
                Secret::P384(p384::ecdsa::SigningKey::from_slice(&[7; 48]).unwrap()),
                "-----BEGIN PGP SIGNATURE-----\n\nwpUEABMJAB0FAmVT8QAWIQQADRonNEFOW2h1go+cqbbD0N3q9wAKCRCcqbbD0N3q\n95EKAYDj1wN9c7i1P2q8v0kJPGj7JLJrh9plOjBStF413/BnN2t52MJwtq0QLug5\nyaFSbl8BgLIiIu5a2xwYIqip3uQslcf7TJq2eCNg1x1ojwQXgGX6/i3RRe5m0USF\nnVKY3QboBQ==\n=rQ5A\n-----END PGP SIGNATURE-----\n",
            ),
        ] {
            let got = key(secret).sign(payload, 1_700_000_000).unwrap();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn the_armor_checksum_is_rfc_4880s() {
        // RFC 4880 §6.1's CRC-24 of nothing is its initial value; of "123456789" 0x21CF02.
        assert_eq!(crc24(b""), 0xB704CE);
        assert_eq!(crc24(b"123456789"), 0x21CF02);
    }

    #[test]
    fn mpis_carry_their_bit_count_without_leading_zeros() {
        let mut out = Vec::new();
        put_mpi(&mut out, &[0, 0, 0x01, 0xFF]);
        assert_eq!(out, [0, 9, 0x01, 0xFF]);
        let mut rest = &out[..];
        assert_eq!(mpi(&mut rest), Some(&[0x01, 0xFF][..]));
        assert!(rest.is_empty());
    }

    #[test]
    fn the_iterated_s2k_counts_octets_not_rounds() {
        // The count byte 0x60 is 65536 octets; a short count still hashes the material once.
        let c = 0x60usize;
        assert_eq!((16 + (c & 15)) << ((c >> 4) + 6), 65536);
        let once = s2k::<Sha1>(b"saltsaltpass", 1, 16);
        assert_eq!(&once[..], &Sha1::digest(b"saltsaltpass")[..16]);
        // A key longer than the hash takes a second context preloaded with one zero.
        let long = s2k::<Sha1>(b"x", 0, 32);
        assert_eq!(&long[20..], &Sha1::digest(b"\0x")[..12]);
    }

    #[test]
    fn user_ids_give_their_address() {
        assert_eq!(
            email_of("Deploy Bot (ci) <bot@example.com>").as_deref(),
            Some("bot@example.com")
        );
        assert_eq!(
            email_of("bot@example.com").as_deref(),
            Some("bot@example.com")
        );
        assert_eq!(email_of("Just A Name"), None);
    }
}
