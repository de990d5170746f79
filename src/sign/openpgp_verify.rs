//! Verifying OpenPGP detached signatures natively, for `gitops-update verify`: the binary
//! ships in images that have no `gpg`. A v4 binary-document signature (RFC 4880 §5.2.4) is
//! checked as `gpg --verify` checks it: the hash of the data and the signature's hashed part,
//! its left 16 bits, the signature by a key of the keyring given; and that key's standing:
//! the primary key's self-signatures, a signing subkey's binding and back-signature,
//! revocations, expiry.
//!
//! The algorithms are the signer's (openpgp.rs): RSA PKCS#1 v1.5, EdDSA on Ed25519, ECDSA on
//! P-256 and P-384, over SHA-256, SHA-384 or SHA-512. MD5 and SHA-1 are refused, in a key's
//! self-signatures too: collisions in them can be made, so a signature by them proves nothing.
//!
//! Trust is the caller's: the keyring is the keys it trusts, and no web of trust is consulted.
//! Every refusal is one line; what it quotes of the input is fingerprints, numbers and
//! algorithm names, never text. Section numbers are RFC 4880's unless another RFC is named.

use std::borrow::Cow;

use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

use super::openpgp::{
    be32, dearmor_next, digest, fingerprint, mpi, packets, padded, subpackets, Material, Subpacket,
    ECDSA, EDDSA, FINGERPRINT_PREFIX, HASH_SHA1, HASH_SHA256, HASH_SHA384, HASH_SHA512,
    HEADER_ALWAYS, KEY_CREATED_AT, KEY_FLAG_SIGN, KEY_ID_AT, OID_ED25519, OID_P256, OID_P384, RSA,
    RSA_SIGN, SIG_BINARY, SIG_CERTIFICATION_FIRST, SIG_CERTIFICATION_LAST, SIG_KEY_REVOCATION,
    SIG_SUBKEY_BINDING, SIG_SUBKEY_REVOCATION, SUBPACKET_CREATION_TIME, SUBPACKET_ISSUER,
    SUBPACKET_ISSUER_FPR, SUBPACKET_KEY_EXPIRATION, SUBPACKET_KEY_FLAGS, TAG_PUBLIC_KEY,
    TAG_SECRET_KEY, TAG_SECRET_SUBKEY, TAG_SIGNATURE, TAG_USER_ID, V4_TRAILER, VERSION_4,
};

/// A signature that verified: the fingerprint of the primary key (40 hex, uppercase as gpg
/// prints), the fingerprint of the (sub)key that made it, and the primary key's user IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgpVerified {
    pub primary: String,
    pub signing_key: String,
    /// The user IDs the primary key certifies (a valid, unrevoked self-signature), as text.
    pub user_ids: Vec<String>,
}

// Packet tags (§4.3) that only a public keyring holds.
const TAG_PUBLIC_SUBKEY: u8 = 14; // §5.5.1.2
const TAG_USER_ATTRIBUTE: u8 = 17; // §5.12

// Signature types (§5.2.1) besides the signer's.
const SIG_TEXT: u8 = 0x01;
const SIG_PRIMARY_BINDING: u8 = 0x19;
const SIG_DIRECT_KEY: u8 = 0x1F;
const SIG_CERTIFICATION_REVOCATION: u8 = 0x30;

// Subpacket types (§5.2.3.1) besides the signer's.
const SUBPACKET_SIG_EXPIRATION: u8 = 3; // §5.2.3.10
const SUBPACKET_EMBEDDED: u8 = 32; // §5.2.3.26

/// The subpacket types whose meaning is honoured here, or is a preference, a hint or a note
/// that changes nothing about validity: creation and expiration times, exportable, revocable,
/// preferred algorithms and keyserver, issuers, primary user ID, policy URI, key flags,
/// signer's user ID, revocation reason, features, embedded signature, preferred AEAD (34 as
/// gpg 2.4 writes it, 39 as RFC 9580 §5.2.3.15 does). A critical subpacket of any other type
/// voids its signature (§5.2.3.1).
const UNDERSTOOD: [u8; 21] = [
    2, 3, 4, 7, 9, 11, 16, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 32, 33, 34, 39,
];

// Hash algorithm numbers (§9.4) refused by name.
const HASH_MD5: u8 = 1;

// How a user ID is framed in the hash of a certification over it (§5.2.4).
const USER_ID_FRAME: u8 = 0xB4;

/// More signatures than a detached signature of one document ever holds: each is tried
/// against the keyring, so a file of thousands would only be a cost.
const MAX_SIGNATURES: usize = 16;

/// Shorter RSA moduli are refused: 1024 bits is within reach of factoring. The longest are
/// the rsa crate's limit, and gpg's.
const RSA_MIN_BITS: usize = 2048;

const MISMATCH: &str = "the signature does not match the data";
/// gpg signs text with its line endings made CRLF; the bytes of an envelope are not text.
const TEXT_MODE: &str = concat!(
    "the signature is a text-mode one (type 0x01), not of a binary document: ",
    "sign without --textmode"
);

/// Verifies `signature` (an ASCII-armored, or binary, OpenPGP detached signature, type 0x00
/// binary document) over `data` with the keys in `keyring` (one or more ASCII-armored public
/// key blocks, concatenated, as `gpg --armor --export` writes; also binary). Err is one line
/// saying why (no key in the keyring made it; the signature does not match; unsupported
/// algorithm X; the keyring cannot be read).
pub fn verify_openpgp(
    keyring: &[u8],
    data: &[u8],
    signature: &[u8],
) -> Result<PgpVerified, String> {
    let signature = unarmor(signature, "SIGNATURE")
        .map_err(|why| format!("the signature cannot be read: {why}"))?;
    let sigs = signature_packets(&signature)
        .map_err(|why| format!("the signature cannot be read: {why}"))?;
    let ring = unarmor(keyring, "PUBLIC KEY BLOCK")
        .map_err(|why| format!("the keyring cannot be read: {why}"))?;
    let certs = certs(&ring).map_err(|why| format!("the keyring cannot be read: {why}"))?;
    let now = now();
    let mut refusal = String::new();
    for body in sigs {
        match verify_one(&certs, data, body, now) {
            Ok(verified) => return Ok(verified),
            // When several signatures all fail, the first one's reason is the one given.
            Err(why) if refusal.is_empty() => refusal = why,
            Err(_) => {}
        }
    }
    Err(refusal)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The packets of `input`: binary as given (its first octet has bit 7 set, which no text's
/// has), or every armored block labelled `label`, decoded and joined, since a keyring
/// exported key by key is several blocks.
fn unarmor<'i>(input: &'i [u8], label: &str) -> Result<Cow<'i, [u8]>, String> {
    if input.first().is_some_and(|b| b & HEADER_ALWAYS != 0) {
        return Ok(Cow::Borrowed(input));
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| "it is neither binary OpenPGP nor ASCII armor".to_string())?;
    let begin = format!("-----BEGIN PGP {label}-----");
    let blocks = text.lines().filter(|l| l.trim() == begin).count();
    if blocks == 0 {
        return Err(format!("it has no {begin} block"));
    }
    let mut lines = text.lines().map(str::trim);
    let mut out = Vec::new();
    for _ in 0..blocks {
        let block = dearmor_next(&mut lines, label)
            .ok_or("its armor is damaged (a line lost or changed, or its checksum wrong)")?;
        out.extend_from_slice(&block);
    }
    Ok(Cow::Owned(out))
}

/// The bodies of a detached signature's packets, which are all signatures.
fn signature_packets(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let packets = packets(bytes).ok_or("a packet is truncated or malformed")?;
    if packets.is_empty() || packets.iter().any(|p| p.tag != TAG_SIGNATURE) {
        return Err("it is not a detached signature (its packets are not all signatures)".into());
    }
    if packets.len() > MAX_SIGNATURES {
        return Err(format!("it holds {} signatures", packets.len()));
    }
    Ok(packets.into_iter().map(|p| p.body).collect())
}

/// Checks one signature packet: by the keys it names as its issuer, the first that verifies
/// it, else the first reason.
fn verify_one(certs: &[Cert], data: &[u8], body: &[u8], now: u64) -> Result<PgpVerified, String> {
    let sig = Sig::read(body)?;
    match sig.kind {
        SIG_BINARY => {}
        SIG_TEXT => return Err(TEXT_MODE.into()),
        kind => {
            return Err(format!(
                "the signature is not of a document but of type 0x{kind:02X}"
            ))
        }
    }
    sig.in_force(now)?;
    let mut refusal = None;
    for cert in certs {
        let keys = std::iter::once((&cert.primary, None))
            .chain(cert.subkeys.iter().map(|s| (&s.key, Some(s))));
        for (key, subkey) in keys {
            if !sig.names(key) {
                continue;
            }
            match cert.verify(subkey, &sig, data, now) {
                Ok(verified) => return Ok(verified),
                Err(why) => {
                    refusal.get_or_insert(why);
                }
            }
        }
    }
    Err(refusal.unwrap_or_else(|| {
        format!(
            "no key in the keyring made it (the signature's issuer is {})",
            sig.issuer()
        )
    }))
}

/// A key as a keyring holds it (§11.1): the primary key and what follows it, up to the next.
struct Cert<'a> {
    primary: Key<'a>,
    /// Signatures over the primary key alone: revocations, direct-key signatures.
    direct: Vec<&'a [u8]>,
    user_ids: Vec<UserId<'a>>,
    subkeys: Vec<Subkey<'a>>,
}

struct UserId<'a> {
    text: &'a [u8],
    sigs: Vec<&'a [u8]>,
}

struct Subkey<'a> {
    key: Key<'a>,
    sigs: Vec<&'a [u8]>,
}

/// A public-key or public-subkey packet.
struct Key<'a> {
    body: &'a [u8],
    /// 0x99 and the body's two-octet length: the key's frame in the hashes over it (§5.2.4).
    frame: [u8; 3],
    fingerprint: [u8; 20],
    created: u32,
}

impl<'a> Key<'a> {
    fn read(body: &'a [u8]) -> Result<Key<'a>, String> {
        // The hashes over a key count its length in two octets (§5.2.4, §12.2).
        let len = u16::try_from(body.len()).map_err(|_| "a key packet is too long")?;
        let created = body
            .get(KEY_CREATED_AT..)
            .and_then(be32)
            .ok_or("a key packet is truncated")?;
        let [hi, lo] = len.to_be_bytes();
        Ok(Key {
            body,
            frame: [FINGERPRINT_PREFIX, hi, lo],
            fingerprint: fingerprint(body),
            created,
        })
    }

    fn framed(&self) -> [&[u8]; 2] {
        [&self.frame, self.body]
    }

    fn name(&self) -> String {
        hex(&self.fingerprint)
    }
}

/// Where the signatures that follow a packet of a keyring belong.
#[derive(Clone, Copy)]
enum Place {
    Direct,
    UserId,
    Subkey,
    Nowhere,
}

/// The keys of a keyring, each with its user IDs, subkeys and their signatures.
fn certs(ring: &[u8]) -> Result<Vec<Cert<'_>>, String> {
    const SECRET: &str = "it holds a secret key; give the public key (gpg --armor --export)";
    let packets = packets(ring).ok_or("a packet is truncated or malformed")?;
    let mut certs: Vec<Cert> = Vec::new();
    let mut place = Place::Nowhere;
    for p in &packets {
        if matches!(p.tag, TAG_SECRET_KEY | TAG_SECRET_SUBKEY) {
            return Err(SECRET.into());
        }
        if p.tag == TAG_PUBLIC_KEY {
            certs.push(Cert::new(Key::read(p.body)?));
            place = Place::Direct;
            continue;
        }
        let cert = certs
            .last_mut()
            .ok_or("it does not start with a public key")?;
        match p.tag {
            TAG_USER_ID => {
                cert.user_ids.push(UserId {
                    text: p.body,
                    sigs: Vec::new(),
                });
                place = Place::UserId;
            }
            TAG_PUBLIC_SUBKEY => {
                cert.subkeys.push(Subkey {
                    key: Key::read(p.body)?,
                    sigs: Vec::new(),
                });
                place = Place::Subkey;
            }
            // A photo's certifications say nothing of the key.
            TAG_USER_ATTRIBUTE => place = Place::Nowhere,
            TAG_SIGNATURE => cert.file(place, p.body),
            // Trust and marker packets say nothing of the key either.
            _ => {}
        }
    }
    if certs.is_empty() {
        return Err("it holds no public key".into());
    }
    Ok(certs)
}

/// What the primary key's valid self-signatures say of it.
struct Standing {
    user_ids: Vec<String>,
    flags: Option<u8>,
}

impl<'a> Cert<'a> {
    fn new(primary: Key<'a>) -> Cert<'a> {
        Cert {
            primary,
            direct: Vec::new(),
            user_ids: Vec::new(),
            subkeys: Vec::new(),
        }
    }

    fn file(&mut self, place: Place, sig: &'a [u8]) {
        match place {
            Place::Direct => self.direct.push(sig),
            Place::UserId => {
                if let Some(uid) = self.user_ids.last_mut() {
                    uid.sigs.push(sig);
                }
            }
            Place::Subkey => {
                if let Some(subkey) = self.subkeys.last_mut() {
                    subkey.sigs.push(sig);
                }
            }
            Place::Nowhere => {}
        }
    }

    /// Checks `sig` over `data` as made by the primary key (`subkey` None) or by `subkey`.
    fn verify(
        &self,
        subkey: Option<&Subkey>,
        sig: &Sig,
        data: &[u8],
        now: u64,
    ) -> Result<PgpVerified, String> {
        let standing = self.standing(now)?;
        let key = match subkey {
            Some(subkey) => {
                self.subkey_may_sign(subkey, now)?;
                &subkey.key
            }
            None if standing.flags.is_some_and(|f| f & KEY_FLAG_SIGN == 0) => {
                return Err(format!(
                    "the key {} may only certify, not sign (its key flags)",
                    self.primary.name()
                ));
            }
            None => &self.primary,
        };
        if sig.created().is_some_and(|t| t < key.created) {
            return Err(format!(
                "the signature is older than the key {} that made it",
                key.name()
            ));
        }
        sig.check(key, &[data])?;
        Ok(PgpVerified {
            primary: self.primary.name(),
            signing_key: key.name(),
            user_ids: standing.user_ids,
        })
    }

    /// The primary key's standing: not revoked; its newest self-signature (over a user ID, or
    /// direct) valid and not past the key's expiry; the user IDs it certifies. Revocations by
    /// a designated revoker (§5.2.3.15) are not looked for: gpg exports them only with
    /// their revoker's key.
    fn standing(&self, now: u64) -> Result<Standing, String> {
        let primary = &self.primary;
        let framed = primary.framed();
        let on_key = |kind| by_primary(primary, &self.direct, |k| k == kind, &framed, now);
        if !on_key(SIG_KEY_REVOCATION).is_empty() {
            return Err(format!("the key {} has been revoked", primary.name()));
        }
        let (user_ids, certifications) = self.certified_user_ids(now);
        let newest = newest_of(on_key(SIG_DIRECT_KEY).into_iter().chain(certifications))
            .ok_or_else(|| {
                format!(
                    "the key {} has no valid self-signature (by SHA-256 or stronger)",
                    primary.name()
                )
            })?;
        unexpired(primary, &newest, now)?;
        Ok(Standing {
            user_ids,
            flags: newest.key_flags(),
        })
    }

    /// The user IDs the primary key certifies, with the certifications. The newest statement
    /// on a user ID stands: a revocation, or a certification made after one.
    fn certified_user_ids(&self, now: u64) -> (Vec<String>, Vec<Sig<'a>>) {
        let [frame, body] = self.primary.framed();
        let states = |k: u8| {
            matches!(
                k,
                SIG_CERTIFICATION_FIRST..=SIG_CERTIFICATION_LAST | SIG_CERTIFICATION_REVOCATION
            )
        };
        let mut out = (Vec::new(), Vec::new());
        for uid in &self.user_ids {
            let len = (uid.text.len() as u32).to_be_bytes();
            let over = [frame, body, &[USER_ID_FRAME], &len, uid.text];
            match newest_of(by_primary(&self.primary, &uid.sigs, states, &over, now)) {
                Some(sig) if sig.kind != SIG_CERTIFICATION_REVOCATION => {
                    out.0.push(String::from_utf8_lossy(uid.text).into_owned());
                    out.1.push(sig);
                }
                _ => {}
            }
        }
        out
    }

    /// A subkey signs for its primary key when the primary key binds it (0x18, the newest
    /// binding flagging it for signing, not past its expiry) and has not revoked it (0x28),
    /// and the subkey signs back (0x19, embedded in the binding): a binding alone is the
    /// primary key's claim, and anyone can claim someone else's subkey; gpg requires both.
    fn subkey_may_sign(&self, subkey: &Subkey, now: u64) -> Result<(), String> {
        let [p, pk] = self.primary.framed();
        let [s, sk] = subkey.key.framed();
        let over = [p, pk, s, sk];
        let name = subkey.key.name();
        let revokes = |k: u8| k == SIG_SUBKEY_REVOCATION;
        if !by_primary(&self.primary, &subkey.sigs, revokes, &over, now).is_empty() {
            return Err(format!("the subkey {name} has been revoked"));
        }
        let binds = |k: u8| k == SIG_SUBKEY_BINDING;
        let binding = newest_of(by_primary(&self.primary, &subkey.sigs, binds, &over, now))
            .ok_or_else(|| {
                format!("the subkey {name} is not bound to its primary key (no valid binding)")
            })?;
        if binding.key_flags().is_none_or(|f| f & KEY_FLAG_SIGN == 0) {
            return Err(format!("the subkey {name} may not sign (its key flags)"));
        }
        unexpired(&subkey.key, &binding, now)?;
        let back = binding
            .sub(SUBPACKET_EMBEDDED, Area::Either)
            .and_then(|body| Sig::read(body).ok())
            .filter(|b| b.kind == SIG_PRIMARY_BINDING && b.in_force(now).is_ok());
        match back {
            Some(back) if back.check(&subkey.key, &over).is_ok() => Ok(()),
            _ => Err(format!(
                "the subkey {name} has no valid back-signature (cross-certification) on its binding"
            )),
        }
    }
}

/// The signatures among `sigs` of a kind `kind` accepts that `primary` made over `over` and
/// that are in force. Those naming another issuer (third-party certifications) are passed
/// over unchecked.
fn by_primary<'s>(
    primary: &Key,
    sigs: &[&'s [u8]],
    kind: impl Fn(u8) -> bool,
    over: &[&[u8]],
    now: u64,
) -> Vec<Sig<'s>> {
    sigs.iter()
        .filter_map(|body| Sig::read(body).ok())
        .filter(|s| kind(s.kind) && s.names(primary) && s.in_force(now).is_ok())
        .filter(|s| s.check(primary, over).is_ok())
        .collect()
}

fn newest_of<'s>(sigs: impl IntoIterator<Item = Sig<'s>>) -> Option<Sig<'s>> {
    sigs.into_iter().max_by_key(|s| s.created())
}

/// Refuses a key past the expiry its self-signature `sig` gives. Now, not at the signature's
/// making: its creation time is the signer's own claim, so whoever holds an expired key
/// could backdate one.
fn unexpired(key: &Key, sig: &Sig, now: u64) -> Result<(), String> {
    match sig.key_expires() {
        Some(after) if after != 0 && u64::from(key.created) + u64::from(after) <= now => {
            Err(format!("the key {} has expired", key.name()))
        }
        _ => Ok(()),
    }
}

/// Which subpacket area a subpacket may come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    /// The signed one: what the signature states.
    Hashed,
    /// Also the unhashed one: hints the signature's own check confirms or refutes (the
    /// issuer, an embedded back-signature).
    Either,
}

/// A v4 signature packet (§5.2.3).
struct Sig<'a> {
    kind: u8,
    algo: u8,
    hash: u8,
    /// From the version to the end of the hashed subpackets: what the hash covers after the
    /// data signed (§5.2.4).
    hashed_part: &'a [u8],
    hashed: Vec<Subpacket<'a>>,
    unhashed: Vec<Subpacket<'a>>,
    left16: &'a [u8],
    /// The algorithm's MPIs.
    mpis: &'a [u8],
}

impl<'a> Sig<'a> {
    fn read(body: &'a [u8]) -> Result<Sig<'a>, String> {
        match body.first() {
            Some(&VERSION_4) => {}
            Some(version) => {
                return Err(format!(
                    "the signature is a version {version} signature; only version 4 is supported"
                ))
            }
            None => return Err("the signature packet is empty".into()),
        }
        Sig::read_v4(body).ok_or_else(|| "the signature packet is truncated or malformed".into())
    }

    fn read_v4(body: &'a [u8]) -> Option<Sig<'a>> {
        let be16 = |at: usize| {
            Some(usize::from(u16::from_be_bytes(
                body.get(at..at + 2)?.try_into().ok()?,
            )))
        };
        let hashed_end = 6 + be16(4)?;
        let unhashed_end = hashed_end + 2 + be16(hashed_end)?;
        Some(Sig {
            kind: *body.get(1)?,
            algo: *body.get(2)?,
            hash: *body.get(3)?,
            hashed_part: body.get(..hashed_end)?,
            hashed: subpackets(body.get(6..hashed_end)?)?,
            unhashed: subpackets(body.get(hashed_end + 2..unhashed_end)?)?,
            left16: body.get(unhashed_end..unhashed_end + 2)?,
            mpis: body.get(unhashed_end + 2..)?,
        })
    }

    fn sub(&self, kind: u8, area: Area) -> Option<&'a [u8]> {
        let unhashed = self.unhashed.iter().filter(|_| area == Area::Either);
        self.hashed
            .iter()
            .chain(unhashed)
            .find(|s| s.kind == kind)
            .map(|s| s.data)
    }

    fn created(&self) -> Option<u32> {
        be32(self.sub(SUBPACKET_CREATION_TIME, Area::Hashed)?)
    }

    fn key_flags(&self) -> Option<u8> {
        self.sub(SUBPACKET_KEY_FLAGS, Area::Hashed)?
            .first()
            .copied()
    }

    fn key_expires(&self) -> Option<u32> {
        be32(self.sub(SUBPACKET_KEY_EXPIRATION, Area::Hashed)?)
    }

    fn revokes(&self) -> bool {
        matches!(
            self.kind,
            SIG_KEY_REVOCATION | SIG_SUBKEY_REVOCATION | SIG_CERTIFICATION_REVOCATION
        )
    }

    /// What voids a signature whatever its key: a hash refused, no creation time (§5.2.3.4),
    /// a critical subpacket not understood (§5.2.3.1; only the hashed area's, as anyone can
    /// add to the unhashed one), its own expiry passed (§5.2.3.10).
    fn in_force(&self, now: u64) -> Result<(), String> {
        let weak_but_revokes = self.hash == HASH_SHA1 && self.revokes();
        if !matches!(self.hash, HASH_SHA256 | HASH_SHA384 | HASH_SHA512) && !weak_but_revokes {
            return Err(refused_hash(self.hash));
        }
        let created = self.created().ok_or("the signature has no creation time")?;
        if let Some(s) = self
            .hashed
            .iter()
            .find(|s| s.critical && !UNDERSTOOD.contains(&s.kind))
        {
            return Err(format!(
                "the signature has a critical subpacket of type {} that is not understood here",
                s.kind
            ));
        }
        match self
            .sub(SUBPACKET_SIG_EXPIRATION, Area::Hashed)
            .and_then(be32)
        {
            Some(after) if after != 0 && u64::from(created) + u64::from(after) <= now => {
                Err("the signature has expired".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether the signature names `key` as its issuer, by fingerprint or else key ID, or
    /// names none (then any key is tried). Only a hint: the signature's check decides.
    fn names(&self, key: &Key) -> bool {
        if let Some(fpr) = self.sub(SUBPACKET_ISSUER_FPR, Area::Either) {
            return fpr.split_first() == Some((&VERSION_4, &key.fingerprint[..]));
        }
        match self.sub(SUBPACKET_ISSUER, Area::Either) {
            Some(id) => id == &key.fingerprint[KEY_ID_AT..],
            None => true,
        }
    }

    /// The issuer the signature names, for a refusal.
    fn issuer(&self) -> String {
        let fpr = self
            .sub(SUBPACKET_ISSUER_FPR, Area::Either)
            .and_then(|f| f.get(1..));
        match fpr.or_else(|| self.sub(SUBPACKET_ISSUER, Area::Either)) {
            Some(id) => hex(id),
            None => "not named".into(),
        }
    }

    /// Checks the signature by `key` over `over` (the data, or the key material and user ID
    /// a key signature is over): the hash's left 16 bits, then the algorithm's check.
    fn check(&self, key: &Key, over: &[&[u8]]) -> Result<(), String> {
        let verifier = Verifier::of(key)?;
        if !verifier.makes(self.algo) {
            return Err(MISMATCH.into());
        }
        let mut trailer = vec![VERSION_4, V4_TRAILER];
        trailer.extend((self.hashed_part.len() as u32).to_be_bytes());
        let mut parts = over.to_vec();
        parts.extend([self.hashed_part, &trailer]);
        let digest = match self.hash {
            HASH_SHA256 => digest::<Sha256>(&parts),
            HASH_SHA384 => digest::<Sha384>(&parts),
            HASH_SHA512 => digest::<Sha512>(&parts),
            HASH_SHA1 if self.revokes() => digest::<Sha1>(&parts),
            hash => return Err(refused_hash(hash)),
        };
        if digest.get(..2) != Some(self.left16) {
            return Err(MISMATCH.into());
        }
        verifier.verify(self.hash, &digest, self.mpis)
    }
}

/// Why a signature's hash is refused. A revocation by SHA-1 (as gpg 1.4 made them) is still
/// honoured: a forged one could only refuse a key.
fn refused_hash(hash: u8) -> String {
    let name = match hash {
        HASH_MD5 => "MD5",
        HASH_SHA1 => "SHA-1",
        _ => {
            return format!(
                "unsupported hash algorithm {hash}: only SHA-256, SHA-384 and SHA-512 are"
            )
        }
    };
    format!("the signature is made with {name}, which is refused: collisions in it can be made")
}

/// A public key, ready to check signatures.
enum Verifier {
    Rsa(rsa::RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl Verifier {
    fn of(key: &Key) -> Result<Verifier, String> {
        let material = Material::read(key.body).ok_or("a key packet is truncated")?;
        if material.version != VERSION_4 {
            return Err(format!(
                "unsupported key version {}: only v4 keys are",
                material.version
            ));
        }
        let invalid = || format!("the key {} is not a valid key of its algorithm", key.name());
        Ok(match (material.algo, material.fields.as_slice()) {
            (RSA | RSA_SIGN, [n, e]) => Verifier::Rsa(rsa_key(n, e, key)?),
            // The point is 0x40 then the 32-octet key (RFC 9580 §5.5.5.5).
            (EDDSA, [oid, point]) if *oid == OID_ED25519 => {
                let raw = match point.split_first() {
                    Some((&0x40, raw)) => <[u8; 32]>::try_from(raw).map_err(|_| invalid())?,
                    _ => return Err(invalid()),
                };
                let key = ed25519_dalek::VerifyingKey::from_bytes(&raw);
                Verifier::Ed25519(key.map_err(|_| invalid())?)
            }
            (ECDSA, [oid, point]) if *oid == OID_P256 => Verifier::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| invalid())?,
            ),
            (ECDSA, [oid, point]) if *oid == OID_P384 => Verifier::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| invalid())?,
            ),
            (EDDSA, _) => {
                return Err("unsupported algorithm: EdDSA on a curve other than Ed25519".into())
            }
            (ECDSA, _) => {
                return Err(
                    "unsupported algorithm: ECDSA on a curve other than P-256 and P-384".into(),
                )
            }
            (algo, _) => return Err(format!("unsupported algorithm {}", algorithm_name(algo))),
        })
    }

    /// Whether a signature of algorithm `algo` can be this key's.
    fn makes(&self, algo: u8) -> bool {
        match self {
            Verifier::Rsa(_) => matches!(algo, RSA | RSA_SIGN),
            Verifier::Ed25519(_) => algo == EDDSA,
            Verifier::P256(_) | Verifier::P384(_) => algo == ECDSA,
        }
    }

    /// Checks the algorithm's MPIs (§5.2.2; RFC 6637 §5; RFC 9580 §5.2.3) over `digest`:
    /// RSA's one, PKCS#1 v1.5; EdDSA's and ECDSA's `r` and `s`, over the digest itself.
    fn verify(&self, hash: u8, digest: &[u8], mpis: &[u8]) -> Result<(), String> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        use rsa::traits::PublicKeyParts;
        let good = match self {
            Verifier::Rsa(key) => {
                let scheme = pkcs1(hash)?;
                let s = read_mpis::<1>(mpis).and_then(|[s]| left_pad(s, key.size()));
                s.is_some_and(|s| key.verify(scheme, digest, &s).is_ok())
            }
            Verifier::Ed25519(key) => scalars::<32>(mpis)
                .and_then(|rs| ed25519_dalek::Signature::from_slice(&rs).ok())
                .is_some_and(|sig| key.verify_strict(digest, &sig).is_ok()),
            Verifier::P256(key) => scalars::<32>(mpis)
                .and_then(|rs| p256::ecdsa::Signature::from_slice(&rs).ok())
                .is_some_and(|sig| key.verify_prehash(digest, &sig).is_ok()),
            Verifier::P384(key) => scalars::<48>(mpis)
                .and_then(|rs| p384::ecdsa::Signature::from_slice(&rs).ok())
                .is_some_and(|sig| key.verify_prehash(digest, &sig).is_ok()),
        };
        if good {
            Ok(())
        } else {
            Err(MISMATCH.into())
        }
    }
}

/// An RSA public key from its MPIs, refused when too short to trust or too long to check.
fn rsa_key(n: &[u8], e: &[u8], key: &Key) -> Result<rsa::RsaPublicKey, String> {
    let n = rsa::BigUint::from_bytes_be(n);
    if n.bits() < RSA_MIN_BITS {
        return Err(format!(
            "the RSA key {} is shorter than {RSA_MIN_BITS} bits, which is refused",
            key.name()
        ));
    }
    rsa::RsaPublicKey::new(n, rsa::BigUint::from_bytes_be(e)).map_err(|_| {
        format!(
            "the RSA key {} is not valid, or longer than {} bits",
            key.name(),
            rsa::RsaPublicKey::MAX_SIZE
        )
    })
}

fn pkcs1(hash: u8) -> Result<rsa::Pkcs1v15Sign, String> {
    match hash {
        HASH_SHA256 => Ok(rsa::Pkcs1v15Sign::new::<Sha256>()),
        HASH_SHA384 => Ok(rsa::Pkcs1v15Sign::new::<Sha384>()),
        HASH_SHA512 => Ok(rsa::Pkcs1v15Sign::new::<Sha512>()),
        hash => Err(refused_hash(hash)),
    }
}

/// Exactly N MPIs, nothing after them.
fn read_mpis<const N: usize>(mut rest: &[u8]) -> Option<[&[u8]; N]> {
    let mut out = [&[][..]; N];
    for slot in &mut out {
        *slot = mpi(&mut rest)?;
    }
    rest.is_empty().then_some(out)
}

/// `r` and `s`, each left-padded to N octets, one after the other.
fn scalars<const N: usize>(mpis: &[u8]) -> Option<Vec<u8>> {
    let [r, s] = read_mpis(mpis)?;
    Some([&padded::<N>(r)?[..], &padded::<N>(s)?[..]].concat())
}

/// A big-endian integer left-padded to `len` octets, as RSA's check takes it: an MPI drops
/// leading zeros.
fn left_pad(b: &[u8], len: usize) -> Option<Vec<u8>> {
    let at = len.checked_sub(b.len())?;
    let mut out = vec![0; len];
    out[at..].copy_from_slice(b);
    Some(out)
}

/// The public-key algorithms (§9.1, RFC 9580 §9.1) a key may have that are not checked here.
fn algorithm_name(algo: u8) -> String {
    let name = match algo {
        2 => "RSA (encrypt-only)",
        16 => "Elgamal",
        17 => "DSA",
        18 => "ECDH (encryption only)",
        27 => "Ed25519 (RFC 9580's form)",
        28 => "Ed448",
        _ => "",
    };
    if name.is_empty() {
        format!("number {algo}")
    } else {
        format!("{name} ({algo})")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Bytes as a DSSE envelope's pre-authentication encoding holds them: binary, not text.
    const DATA: &[u8] = b"DSSEv1 28 application/vnd.in-toto+json 9 {\"a\":1}\r\n\x00\xff\xfe";

    /// gpg in a home of its own, whose agent is stopped when the test ends.
    struct Gpg {
        home: tempfile::TempDir,
    }

    impl Gpg {
        /// None, said on stderr, when gpg is not installed.
        fn new() -> Option<Gpg> {
            if Command::new("gpg").arg("--version").output().is_err() {
                eprintln!("skipped: gpg is not installed");
                return None;
            }
            Some(Gpg {
                home: tempfile::tempdir().unwrap(),
            })
        }

        fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
            let mut child = Command::new("gpg")
                .env("GNUPGHOME", self.home.path())
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(input).unwrap();
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "gpg {args:?}: {err}");
            out.stdout
        }

        /// A new key (`--quick-gen-key uid algo usage never`), by its fingerprint.
        fn key(&self, uid: &str, algo: &str, usage: &str) -> String {
            self.run(&["--quick-gen-key", uid, algo, usage, "never"], b"");
            self.fingerprints(uid).remove(0)
        }

        /// The fingerprints of `uid`'s key: the primary key's, then its subkeys'.
        fn fingerprints(&self, uid: &str) -> Vec<String> {
            let list = self.run(&["--with-colons", "--list-keys", uid], b"");
            String::from_utf8_lossy(&list)
                .lines()
                .filter_map(|l| l.strip_prefix("fpr:"))
                .map(|l| l.split(':').nth(8).unwrap().to_string())
                .collect()
        }

        fn sign(&self, key: &str, armor: bool, extra: &[&str]) -> Vec<u8> {
            let mut args = vec!["--local-user", key, "--detach-sign"];
            args.extend(armor.then_some("--armor"));
            args.extend(extra);
            self.run(&args, DATA)
        }

        fn export(&self, key: &str, armor: bool) -> Vec<u8> {
            let mut args = vec!["--export"];
            args.extend(armor.then_some("--armor"));
            args.push(key);
            self.run(&args, b"")
        }
    }

    impl Drop for Gpg {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .env("GNUPGHOME", self.home.path())
                .args(["--kill", "gpg-agent"])
                .output();
        }
    }

    /// A key kind to test: its user ID, and gpg's algorithm and usage for the primary key; a
    /// primary key that only certifies gets an encryption and a signing subkey.
    const KINDS: [(&str, &str, &str); 5] = [
        ("Ed <ed@example.com>", "ed25519", "sign"),
        ("Rsa <rsa@example.com>", "rsa3072", "sign"),
        ("P256 <p256@example.com>", "nistp256", "sign"),
        ("P384 <p384@example.com>", "nistp384", "sign"),
        ("Sub <sub@example.com>", "nistp384", "cert"),
    ];

    /// Makes the key of each kind: its primary key's fingerprint, and the fingerprint of the
    /// (sub)key that signs.
    fn make_keys(gpg: &Gpg, kinds: &[(&str, &str, &str)]) -> Vec<(String, String)> {
        kinds
            .iter()
            .map(|(uid, algo, usage)| {
                let primary = gpg.key(uid, algo, usage);
                if *usage == "cert" {
                    for (algo, usage) in [("cv25519", "encr"), ("ed25519", "sign")] {
                        gpg.run(&["--quick-add-key", &primary, algo, usage, "never"], b"");
                    }
                }
                let signer = gpg.fingerprints(uid).pop().unwrap();
                let signer = if *usage == "cert" {
                    signer
                } else {
                    primary.clone()
                };
                (primary, signer)
            })
            .collect()
    }

    #[test]
    fn gpg_signatures_by_every_key_kind_verify_and_altered_ones_do_not() {
        let Some(gpg) = Gpg::new() else { return };
        let keys = make_keys(&gpg, &KINDS);
        let everyone: Vec<u8> = keys
            .iter()
            .flat_map(|(primary, _)| gpg.export(primary, true))
            .collect();
        for (i, ((uid, algo, _), (primary, signer))) in KINDS.iter().zip(&keys).enumerate() {
            let other = &keys[(i + 1) % keys.len()].0;
            let rings = [
                gpg.export(primary, true),
                gpg.export(primary, false),
                everyone.clone(),
            ];
            for armor in [true, false] {
                let what = format!("{algo}, armor {armor}");
                let sig = gpg.sign(primary, armor, &[]);
                for ring in &rings {
                    let got =
                        verify_openpgp(ring, DATA, &sig).unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(got.primary, *primary, "{what}");
                    assert_eq!(got.signing_key, *signer, "{what}");
                    assert_eq!(got.user_ids, [uid.to_string()], "{what}");
                }
                let refused = |ring: &[u8], data: &[u8], sig: &[u8], says: &str| {
                    let err = verify_openpgp(ring, data, sig).unwrap_err();
                    assert!(err.contains(says), "{what}: {err}");
                    assert!(!err.contains('\n'), "{what}: {err}");
                };
                let mut tampered = DATA.to_vec();
                tampered[7] ^= 1;
                refused(&rings[0], &tampered, &sig, "does not match");
                refused(&rings[0], b"", &sig, "does not match");
                refused(
                    &gpg.export(other, true),
                    DATA,
                    &sig,
                    "no key in the keyring made it",
                );
                refused(&rings[0], DATA, &sig[..sig.len() - 40], "cannot be read");
            }
        }
    }

    #[test]
    fn rsa_signatures_verify_by_sha2_and_are_refused_by_sha1() {
        let Some(gpg) = Gpg::new() else { return };
        let key = gpg.key("Rsa2 <rsa2@example.com>", "rsa2048", "sign");
        let ring = gpg.export(&key, true);
        for hash in ["SHA256", "SHA384", "SHA512"] {
            let sig = gpg.sign(&key, true, &["--digest-algo", hash]);
            let got = verify_openpgp(&ring, DATA, &sig).unwrap_or_else(|e| panic!("{hash}: {e}"));
            assert_eq!(got.signing_key, key);
        }
        let sig = gpg.sign(&key, true, &["--digest-algo", "SHA1"]);
        let err = verify_openpgp(&ring, DATA, &sig).unwrap_err();
        assert!(err.contains("SHA-1, which is refused"), "{err}");
        let sig = gpg.sign(&key, true, &["--textmode"]);
        let err = verify_openpgp(&ring, DATA, &sig).unwrap_err();
        assert!(err.contains("text-mode"), "{err}");
    }

    #[test]
    fn signatures_by_the_crates_own_signer_verify() {
        let Some(gpg) = Gpg::new() else { return };
        let kinds = [
            ("Own Ed <own-ed@example.com>", "ed25519", "sign"),
            ("Own Rsa <own-rsa@example.com>", "rsa2048", "sign"),
            ("Own P256 <own-p256@example.com>", "nistp256", "sign"),
            ("Own P384 <own-p384@example.com>", "nistp384", "sign"),
            ("Own Sub <own-sub@example.com>", "ed25519", "cert"),
        ];
        for ((_, algo, _), (primary, signer)) in kinds.iter().zip(make_keys(&gpg, &kinds)) {
            let secret = gpg.run(&["--armor", "--export-secret-keys", &primary], b"");
            let secret = String::from_utf8(secret).unwrap();
            let ours = crate::sign::Signer::parse(&secret, None, "test").unwrap();
            let sig = ours.sign(DATA).unwrap();
            let ring = gpg.export(&primary, true);
            let got = verify_openpgp(&ring, DATA, sig.as_bytes())
                .unwrap_or_else(|e| panic!("{algo}: {e}"));
            assert_eq!((got.primary, got.signing_key), (primary, signer), "{algo}");
            assert!(
                verify_openpgp(&ring, b"other", sig.as_bytes()).is_err(),
                "{algo}"
            );
        }
    }

    /// A packet with a new-format header and a five-octet length (§4.2.2.3).
    fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        [&[0xC0 | tag, 0xFF][..], &len, body].concat()
    }

    /// `body`, a signature packet's, without the subkey's back-signature gpg puts in its
    /// unhashed area.
    fn without_back_signature(body: &[u8]) -> Vec<u8> {
        let sig = Sig::read(body).unwrap();
        let mut unhashed = Vec::new();
        for sub in sig.unhashed.iter().filter(|s| s.kind != SUBPACKET_EMBEDDED) {
            unhashed.extend([sub.data.len() as u8 + 1, sub.kind]);
            unhashed.extend(sub.data);
        }
        let len = (unhashed.len() as u16).to_be_bytes();
        [sig.hashed_part, &len, &unhashed, sig.left16, sig.mpis].concat()
    }

    fn refused(ring: &[u8], sig: &[u8], says: &str) {
        let err = verify_openpgp(ring, DATA, sig).unwrap_err();
        assert!(err.contains(says), "{says}: {err}");
    }

    #[test]
    fn expired_and_revoked_keys_are_refused() {
        let Some(gpg) = Gpg::new() else { return };
        // Made and used in 2020, for a year.
        let old = "Old <old@example.com>";
        let then = ["--faked-system-time", "20200101T000000"];
        gpg.run(
            &[
                &then[..],
                &["--quick-gen-key", old, "ed25519", "sign", "1y"],
            ]
            .concat(),
            b"",
        );
        let key = gpg.fingerprints(old).remove(0);
        let sig = gpg.sign(&key, true, &["--faked-system-time", "20200102T000000"]);
        refused(
            &gpg.export(&key, true),
            &sig,
            &format!("the key {key} has expired"),
        );
        // Revoked by the certificate gpg stores, its first line defused by a colon.
        let key = gpg.key("Gone <gone@example.com>", "ed25519", "sign");
        let sig = gpg.sign(&key, true, &[]);
        assert!(verify_openpgp(&gpg.export(&key, true), DATA, &sig).is_ok());
        let rev = gpg.home.path().join(format!("openpgp-revocs.d/{key}.rev"));
        let rev = std::fs::read_to_string(rev)
            .unwrap()
            .replace(":-----BEGIN", "-----BEGIN");
        gpg.run(&["--import"], rev.as_bytes());
        refused(
            &gpg.export(&key, true),
            &sig,
            &format!("the key {key} has been revoked"),
        );
    }

    #[test]
    fn a_signing_subkey_needs_its_binding_and_back_signature() {
        let Some(gpg) = Gpg::new() else { return };
        let keys = make_keys(&gpg, &[("Sub2 <sub2@example.com>", "ed25519", "cert")]);
        let (primary, signer) = &keys[0];
        let sig = gpg.sign(primary, false, &[]);
        let ring = gpg.export(primary, false);
        let packets = packets(&ring).unwrap();
        let subkey = packets
            .iter()
            .position(|p| p.tag == TAG_PUBLIC_SUBKEY && hex(&fingerprint(p.body)) == *signer)
            .unwrap();
        let binding = subkey + 1;
        let with = |i: usize, body: Option<Vec<u8>>| -> Vec<u8> {
            let mut out = Vec::new();
            for (at, p) in packets.iter().enumerate() {
                match (&body, at == i) {
                    (None, true) => {}
                    (Some(b), true) => out.extend(frame(p.tag, b)),
                    _ => out.extend(frame(p.tag, p.body)),
                }
            }
            out
        };
        let as_is = with(binding, Some(packets[binding].body.to_vec()));
        assert_eq!(
            verify_openpgp(&as_is, DATA, &sig).unwrap().signing_key,
            *signer
        );
        refused(
            &with(binding, None),
            &sig,
            "is not bound to its primary key",
        );
        let mut broken = packets[binding].body.to_vec();
        *broken.last_mut().unwrap() ^= 1;
        refused(
            &with(binding, Some(broken)),
            &sig,
            "is not bound to its primary key",
        );
        let unbacked = without_back_signature(packets[binding].body);
        refused(
            &with(binding, Some(unbacked)),
            &sig,
            "no valid back-signature",
        );
        // Another key claims the subkey, its binding copied along.
        let thief = gpg.key("Thief <thief@example.com>", "ed25519", "sign");
        let mut theirs = gpg.export(&thief, false);
        for p in &packets[subkey..=binding] {
            theirs.extend(frame(p.tag, p.body));
        }
        refused(&theirs, &sig, "is not bound to its primary key");
    }

    /// Which octets of `sig`, a binary signature, are signed: its hashed part, the hash's left
    /// 16 bits, the MPIs' octets. Not an MPI's bit count: the signature does not cover it, and
    /// one that names the same number of octets reads the same MPI (gpg reads it so too).
    fn signed_octets(sig: &[u8]) -> Vec<bool> {
        let body = packets(sig).unwrap()[0].body;
        let parsed = Sig::read(body).unwrap();
        let at_body = sig.len() - body.len();
        let hashed = at_body..at_body + parsed.hashed_part.len();
        let tail = sig.len() - parsed.mpis.len() - 2;
        let mut signed: Vec<bool> = (0..sig.len())
            .map(|at| hashed.contains(&at) || at >= tail)
            .collect();
        let mut rest = parsed.mpis;
        while !rest.is_empty() {
            let at = sig.len() - rest.len();
            signed[at..at + 2].fill(false);
            mpi(&mut rest).unwrap();
        }
        signed
    }

    /// Every variant of a good signature and keyring returns, Ok or Err; none verifies
    /// with a signed octet of its signature changed.
    #[test]
    fn altered_signatures_and_keyrings_never_panic() {
        let Some(gpg) = Gpg::new() else { return };
        let keys = make_keys(&gpg, &[("Fuzz <fuzz@example.com>", "ed25519", "cert")]);
        let primary = &keys[0].0;
        let (sig, ring) = (gpg.sign(primary, false, &[]), gpg.export(primary, false));
        let armored = gpg.export(primary, true);
        assert!(verify_openpgp(&ring, DATA, &sig).is_ok());
        let mut variants = 0;
        let mut try_one = |ring: &[u8], sig: &[u8]| {
            variants += 1;
            verify_openpgp(ring, DATA, sig).is_ok()
        };
        for (at, signed) in signed_octets(&sig).into_iter().enumerate() {
            try_one(&ring, &sig[..at]);
            let change = if at % 2 == 0 { 0x01 } else { 0xFF };
            let mut s = sig.clone();
            s[at] ^= change;
            let verified = try_one(&ring, &s);
            assert!(
                !(verified && signed),
                "octet {at} ^ {change:#x} still verifies"
            );
        }
        for at in (0..ring.len()).step_by(ring.len() / 60 + 1) {
            try_one(&ring[..at], &sig);
            for change in [0x01, 0xFF] {
                let mut r = ring.clone();
                r[at] ^= change;
                try_one(&r, &sig);
            }
        }
        // Four octets at once, where a fixed pseudo-random sequence (xorshift) says.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..60 {
            let (mut r, mut s) = (armored.clone(), sig.clone());
            let target = if round % 2 == 0 { &mut r } else { &mut s };
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = x as usize % target.len();
                target[at] = (x >> 32) as u8;
            }
            try_one(&r, &s);
        }
        assert!(variants > 400, "{variants}");
    }

    /// A bare Ed25519 key packet, created at 1: no user ID, no self-signature.
    fn bare_key() -> Vec<u8> {
        let point = [&[1, 7, 0x40][..], &[9; 32]].concat();
        [&[4u8, 0, 0, 0, 1, EDDSA, 9][..], OID_ED25519, &point].concat()
    }

    /// A signature packet naming `key` by its ID, with `hashed` subpackets and `mpis`.
    fn bare_sig(key: &[u8], hashed: &[u8], mpis: &[u8]) -> Vec<u8> {
        let issuer = [&[9u8, SUBPACKET_ISSUER][..], &fingerprint(key)[KEY_ID_AT..]].concat();
        let hashed_len = (hashed.len() as u16).to_be_bytes();
        let unhashed_len = (issuer.len() as u16).to_be_bytes();
        let head = [4u8, SIG_BINARY, EDDSA, 10];
        let body = [
            &head[..],
            &hashed_len,
            hashed,
            &unhashed_len,
            &issuer,
            &[0, 0],
            mpis,
        ];
        frame(TAG_SIGNATURE, &body.concat())
    }

    /// A creation time subpacket: a hashed area that is in force.
    const CREATED: [u8; 6] = [5, SUBPACKET_CREATION_TIME, 0, 0, 0, 2];

    /// A five-octet length of 4 GiB after `first`, a packet header's first octet or a
    /// subpacket's type.
    fn huge(first: u8) -> Vec<u8> {
        vec![first, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 4]
    }

    #[test]
    fn hostile_signatures_are_refused_without_panicking() {
        let key = bare_key();
        let ring = frame(TAG_PUBLIC_KEY, &key);
        let sig = |hashed: &[u8], mpis: &[u8]| bare_sig(&key, hashed, mpis);
        let critical = [&CREATED[..], &[2, 0x80 | 20, 0]].concat();
        for (sig, says) in [
            (Vec::new(), "the signature cannot be read: it has no"),
            (
                huge(0xC0 | TAG_SIGNATURE),
                "cannot be read: a packet is truncated",
            ),
            (vec![0x8B, 4, 0], "the signature packet is truncated"),
            (vec![0xC2, 1, 3], "version 3 signature"),
            (sig(&huge(2)[1..], &[]), "the signature packet is truncated"),
            (sig(&[], &[0xFF, 0xFF, 1]), "no creation time"),
            (sig(&critical, &[]), "critical subpacket of type 20"),
            (
                sig(&CREATED, &[0xFF, 0xFF, 1]),
                "has no valid self-signature",
            ),
            (frame(TAG_SIGNATURE, &[]).repeat(17), "holds 17 signatures"),
        ] {
            let err = verify_openpgp(&ring, DATA, &sig).unwrap_err();
            assert!(err.contains(says), "{says}: {err}");
        }
    }

    #[test]
    fn hostile_keyrings_are_refused_without_panicking() {
        let key = bare_key();
        let sig = bare_sig(&key, &CREATED, &[]);
        let armor = |label: &str, body: &str| {
            format!("-----BEGIN PGP {label}-----\n\n{body}\n-----END PGP {label}-----\n")
        };
        for (ring, says) in [
            (frame(TAG_SECRET_KEY, &key), "it holds a secret key"),
            (huge(0xC0 | TAG_PUBLIC_KEY), "a packet is truncated"),
            (vec![0xFF; 3], "a packet is truncated"),
            (
                frame(TAG_USER_ID, b"x"),
                "it does not start with a public key",
            ),
            (
                armor("PUBLIC KEY BLOCK", "!!").into_bytes(),
                "its armor is damaged",
            ),
            (
                armor("PRIVATE KEY BLOCK", "AAAA").into_bytes(),
                "it has no -----BEGIN PGP PUBLIC",
            ),
        ] {
            let err = verify_openpgp(&ring, DATA, &sig).unwrap_err();
            let want = format!("the keyring cannot be read: {says}");
            assert!(err.starts_with(&want), "{want}: {err}");
        }
    }
}
