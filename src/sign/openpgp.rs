//! OpenPGP signatures from an armored secret key (`gpg --armor --export-secret-keys`), as
//! `git commit -S` makes them with gpg: a detached v4 binary-document signature (RFC 4880
//! §5.2.3) over the commit's text. Only what that needs is here: reading v4 secret keys
//! (RSA, EdDSA on Ed25519, ECDSA on P-256 and P-384), unlocking gpg's passphrase protection
//! (iterated and salted S2K, AES, SHA-1 check), and writing one signature packet.
//!
//! Every refusal is a fixed sentence: nothing read from the key is ever put in one.

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// Why a key cannot sign: one sentence, for `source: why`.
pub type Refusal = String;

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

// Public-key algorithm numbers (RFC 4880 §9.1, RFC 6637, RFC 9580 §9.1).
const RSA: u8 = 1;
const RSA_SIGN: u8 = 3;
const ECDSA: u8 = 19;
const EDDSA: u8 = 22;

const OID_ED25519: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01];
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];

const DAMAGED: &str =
    "the OpenPGP private key cannot be read (truncated, or a line lost in the secret?)";

impl Key {
    pub fn parse(text: &str, passphrase: Option<&str>) -> Result<Key, Refusal> {
        let data = dearmor(text).ok_or(DAMAGED)?;
        let packets = packets(&data).ok_or(DAMAGED)?;
        if !packets.iter().any(|p| p.tag == 5) {
            return Err(if packets.iter().any(|p| p.tag == 6) {
                "an OpenPGP public key, not a secret key: export it with gpg --armor --export-secret-keys".into()
            } else {
                DAMAGED.into()
            });
        }
        let emails = packets
            .iter()
            .filter(|p| p.tag == 13)
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

    /// The armored detached signature of `payload`, made now.
    pub fn sign(&self, payload: &[u8], now: u32) -> Result<String, String> {
        let (algo, hash) = match self.secret {
            Secret::Rsa(_) => (RSA, 10),
            Secret::Ed25519(_) => (EDDSA, 10),
            Secret::P256(_) => (ECDSA, 8),
            Secret::P384(_) => (ECDSA, 9),
        };
        // Hashed: the creation time and the issuer's fingerprint; unhashed: its key ID, which
        // Gitea looks up first.
        let mut hashed = vec![5, 2];
        hashed.extend(now.to_be_bytes());
        hashed.extend([22, 33, 4]);
        hashed.extend(self.fingerprint);
        let mut head = vec![4, 0x00, algo, hash];
        head.extend((hashed.len() as u16).to_be_bytes());
        head.extend(&hashed);
        let mut trailer = vec![4, 0xFF];
        trailer.extend((head.len() as u32).to_be_bytes());
        let parts = [payload, &head, &trailer];
        let digest = match hash {
            8 => digest::<Sha256>(&parts),
            9 => digest::<Sha384>(&parts),
            _ => digest::<Sha512>(&parts),
        };
        fn failed<E>(_: E) -> String {
            "signing failed".into()
        }
        let mpis: Vec<Vec<u8>> = match &self.secret {
            Secret::Rsa(key) => vec![key
                .sign(rsa::Pkcs1v15Sign::new::<Sha512>(), &digest)
                .map_err(failed)?],
            Secret::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                let sig = key.sign(&digest);
                vec![sig.r_bytes().to_vec(), sig.s_bytes().to_vec()]
            }
            Secret::P256(key) => {
                use p256::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).map_err(failed)?;
                vec![sig.r().to_bytes().to_vec(), sig.s().to_bytes().to_vec()]
            }
            Secret::P384(key) => {
                use p384::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p384::ecdsa::Signature = key.sign_prehash(&digest).map_err(failed)?;
                vec![sig.r().to_bytes().to_vec(), sig.s().to_bytes().to_vec()]
            }
        };
        let mut body = head;
        body.extend([0, 10, 9, 16]);
        body.extend(&self.fingerprint[12..]);
        body.extend(&digest[..2]);
        for m in &mpis {
            put_mpi(&mut body, m);
        }
        let mut packet = vec![0xC2];
        put_length(&mut packet, body.len());
        packet.extend(body);
        Ok(armor(&packet))
    }
}

/// The hash of the signed data, its signature's header and trailer (RFC 4880 §5.2.4).
fn digest<H: Digest>(parts: &[&[u8]]) -> Vec<u8> {
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

struct Packet<'a> {
    tag: u8,
    body: &'a [u8],
}

/// The packets of a transferable key (RFC 4880 §4.2), old and new headers alike.
fn packets(mut data: &[u8]) -> Option<Vec<Packet<'_>>> {
    let mut out = Vec::new();
    while let Some((&first, rest)) = data.split_first() {
        if first & 0x80 == 0 {
            return None;
        }
        let (tag, len, rest) = if first & 0x40 != 0 {
            let (&o, rest) = rest.split_first()?;
            match o {
                0..=191 => (first & 0x3F, o as usize, rest),
                192..=223 => {
                    let (&o2, rest) = rest.split_first()?;
                    (
                        first & 0x3F,
                        ((o as usize - 192) << 8) + o2 as usize + 192,
                        rest,
                    )
                }
                255 => (first & 0x3F, be32(rest)? as usize, rest.get(4..)?),
                _ => return None, // partial lengths: never in a key
            }
        } else {
            let tag = (first >> 2) & 0x0F;
            match first & 3 {
                0 => (tag, *rest.first()? as usize, rest.get(1..)?),
                1 => (
                    tag,
                    u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize,
                    rest.get(2..)?,
                ),
                2 => (tag, be32(rest)? as usize, rest.get(4..)?),
                _ => (tag, rest.len(), rest),
            }
        };
        out.push(Packet {
            tag,
            body: rest.get(..len)?,
        });
        data = &rest[len..];
    }
    Some(out)
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
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
            5 | 7 => keys.push((p, Vec::new())),
            2 => {
                if let Some((_, sigs)) = keys.last_mut() {
                    sigs.push(p);
                }
            }
            _ => {}
        }
    }
    let mut stub = false;
    let mut usable = |key: &Packet, sigs: &[&Packet], primary: bool| -> Option<u32> {
        let created = be32(key.body.get(1..)?)?;
        let mut flags = None;
        let mut expires = None;
        for sig in sigs {
            let info = SigInfo::read(sig.body)?;
            match info.kind {
                0x20 | 0x28 => return None,
                0x10..=0x13 if primary => {}
                0x18 if !primary => {}
                _ => continue,
            }
            flags = info.flags.or(flags);
            expires = info.expires.or(expires);
        }
        let may_sign = flags.map_or(primary, |f| f & 0x02 != 0);
        let expired = expires.is_some_and(|e| e != 0 && u64::from(created) + u64::from(e) <= now);
        let material = Material::read(key.body)?;
        if material.is_stub() {
            stub |= may_sign;
            return None;
        }
        (may_sign && !expired && material.supported()).then_some(created)
    };
    let primary = keys.first().ok_or(DAMAGED)?;
    let best = keys[1..]
        .iter()
        .filter_map(|(k, s)| usable(k, s, false).map(|t| (t, *k)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, k)| k)
        .or_else(|| usable(primary.0, &primary.1, true).map(|_| primary.0));
    if let Some(k) = best {
        return Ok(k);
    }
    if stub {
        return Err("the OpenPGP key's signing secret is not in this export (a stub: on a smartcard, or exported without it); export it with gpg --armor --export-secret-keys".into());
    }
    let unsupported = keys
        .iter()
        .filter_map(|(k, _)| Material::read(k.body))
        .any(|m| !m.supported());
    Err(if unsupported {
        "the OpenPGP key cannot sign here: its algorithm is not RSA, Ed25519, ECDSA P-256 or P-384, or it is not a v4 key".into()
    } else {
        "the OpenPGP key has no subkey that may sign and has not expired or been revoked".into()
    })
}

/// What a self-signature says about its key.
struct SigInfo {
    kind: u8,
    flags: Option<u8>,
    /// Seconds after the key's creation.
    expires: Option<u32>,
}

impl SigInfo {
    fn read(body: &[u8]) -> Option<SigInfo> {
        if body.first()? != &4 {
            return Some(SigInfo {
                kind: *body.get(2)?,
                flags: None,
                expires: None,
            });
        }
        let kind = *body.get(1)?;
        let len = u16::from_be_bytes(body.get(4..6)?.try_into().ok()?) as usize;
        let mut sub = body.get(6..6 + len)?;
        let (mut flags, mut expires) = (None, None);
        while !sub.is_empty() {
            let (&o, rest) = sub.split_first()?;
            let (n, rest) = match o {
                0..=191 => (o as usize, rest),
                192..=254 => {
                    let (&o2, rest) = rest.split_first()?;
                    (((o as usize - 192) << 8) + o2 as usize + 192, rest)
                }
                255 => (be32(rest)? as usize, rest.get(4..)?),
            };
            let packet = rest.get(..n)?;
            sub = &rest[n..];
            match packet.split_first() {
                Some((t, data)) if t & 0x7F == 27 => flags = data.first().copied(),
                Some((t, data)) if t & 0x7F == 9 => expires = be32(data),
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

/// A secret-key packet's fields (RFC 4880 §5.5.3).
struct Material<'a> {
    version: u8,
    algo: u8,
    /// The public part, which the fingerprint covers.
    public: &'a [u8],
    /// The public key's fields: RSA `n`, `e`; EC the curve's OID and the point.
    fields: Vec<&'a [u8]>,
    /// From the S2K usage octet on.
    protection: &'a [u8],
}

impl<'a> Material<'a> {
    fn read(body: &'a [u8]) -> Option<Material<'a>> {
        let version = *body.first()?;
        let algo = *body.get(5)?;
        if version != 4 {
            return Some(Material {
                version,
                algo,
                public: body,
                fields: Vec::new(),
                protection: &[],
            });
        }
        let mut rest = body.get(6..)?;
        let mut fields = Vec::new();
        match algo {
            RSA | RSA_SIGN => {
                fields.push(mpi(&mut rest)?);
                fields.push(mpi(&mut rest)?);
            }
            ECDSA | EDDSA => {
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
        self.version == 4
            && match self.algo {
                RSA | RSA_SIGN => true,
                EDDSA => self.fields.first() == Some(&OID_ED25519),
                ECDSA => matches!(self.fields.first(), Some(&OID_P256) | Some(&OID_P384)),
                _ => false,
            }
    }

    /// gpg's stub for a secret it does not have (GNU S2K extension 101).
    fn is_stub(&self) -> bool {
        matches!(self.protection.first(), Some(254 | 255)) && self.protection.get(2) == Some(&101)
    }

    fn fingerprint(&self) -> [u8; 20] {
        let mut h = Sha1::new();
        h.update([0x99]);
        h.update((self.public.len() as u16).to_be_bytes());
        h.update(self.public);
        h.finalize().into()
    }

    fn unlock(&self, passphrase: Option<&str>) -> Result<Secret, Refusal> {
        let (&usage, rest) = self.protection.split_first().ok_or(DAMAGED)?;
        let clear: Zeroizing<Vec<u8>> = match usage {
            0 => {
                let (body, sum) = rest.split_at(rest.len().checked_sub(2).ok_or(DAMAGED)?);
                if checksum(body) != sum {
                    return Err(DAMAGED.into());
                }
                Zeroizing::new(body.to_vec())
            }
            254 | 255 => {
                let Some(pass) = passphrase.filter(|p| !p.is_empty()) else {
                    return Err(
                        "the key is protected by a passphrase: set GITOPS_SIGNING_KEY_PASSPHRASE"
                            .into(),
                    );
                };
                let plain = decrypt(rest, pass)?;
                let wrong = || -> Refusal {
                    "the passphrase in GITOPS_SIGNING_KEY_PASSPHRASE does not unlock the key"
                        .into()
                };
                let (body, check) = if usage == 254 {
                    let at = plain.len().checked_sub(20).ok_or_else(wrong)?;
                    let body = &plain[..at];
                    (body, Sha1::digest(body).to_vec())
                } else {
                    let at = plain.len().checked_sub(2).ok_or_else(wrong)?;
                    let body = &plain[..at];
                    (body, checksum(body).to_vec())
                };
                if check != plain[body.len()..] {
                    return Err(wrong());
                }
                Zeroizing::new(body.to_vec())
            }
            _ => return Err("the OpenPGP key is protected in a way older than gpg 2 writes; re-export it with gpg --armor --export-secret-keys".into()),
        };
        let mut rest: &[u8] = &clear;
        let int = |b: &[u8]| rsa::BigUint::from_bytes_be(b);
        let secret = match self.algo {
            RSA | RSA_SIGN => {
                let d = mpi(&mut rest).ok_or(DAMAGED)?;
                let p = mpi(&mut rest).ok_or(DAMAGED)?;
                let q = mpi(&mut rest).ok_or(DAMAGED)?;
                let key = rsa::RsaPrivateKey::from_components(
                    int(self.fields[0]),
                    int(self.fields[1]),
                    int(d),
                    vec![int(p), int(q)],
                )
                .map_err(|_| DAMAGED)?;
                key.validate().map_err(|_| DAMAGED)?;
                Secret::Rsa(Box::new(key))
            }
            EDDSA => {
                let seed = padded::<32>(mpi(&mut rest).ok_or(DAMAGED)?).ok_or(DAMAGED)?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                // The point is 0x40 and the 32-byte public key.
                if self.fields[1].get(1..) != Some(key.verifying_key().as_bytes()) {
                    return Err(DAMAGED.into());
                }
                Secret::Ed25519(key)
            }
            _ if self.fields[0] == OID_P256 => {
                let d = padded::<32>(mpi(&mut rest).ok_or(DAMAGED)?).ok_or(DAMAGED)?;
                let key = p256::ecdsa::SigningKey::from_slice(d.as_slice()).map_err(|_| DAMAGED)?;
                let point = key.verifying_key().to_encoded_point(false);
                if point.as_bytes() != self.fields[1] {
                    return Err(DAMAGED.into());
                }
                Secret::P256(key)
            }
            _ => {
                let d = padded::<48>(mpi(&mut rest).ok_or(DAMAGED)?).ok_or(DAMAGED)?;
                let key = p384::ecdsa::SigningKey::from_slice(d.as_slice()).map_err(|_| DAMAGED)?;
                let point = key.verifying_key().to_encoded_point(false);
                if point.as_bytes() != self.fields[1] {
                    return Err(DAMAGED.into());
                }
                Secret::P384(key)
            }
        };
        Ok(secret)
    }
}

/// The sum of the octets modulo 65536, the check of a clear or legacy-protected secret.
fn checksum(body: &[u8]) -> [u8; 2] {
    let sum = body.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
    sum.to_be_bytes()
}

/// A big-endian integer left-padded to N octets, or None when longer.
fn padded<const N: usize>(b: &[u8]) -> Option<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    let at = N.checked_sub(b.len())?;
    out[at..].copy_from_slice(b);
    Some(out)
}

/// The protected secret: cipher, S2K specifier, IV, then the ciphertext (RFC 4880 §3.7, §5.5.3).
fn decrypt(spec: &[u8], pass: &str) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let unsupported = || -> Refusal {
        "the OpenPGP key's passphrase protection uses a cipher or hash other than AES and SHA-1/SHA-2; re-export it with gpg 2".into()
    };
    let (&cipher, rest) = spec.split_first().ok_or(DAMAGED)?;
    let key_len = match cipher {
        7 => 16,
        8 => 24,
        9 => 32,
        _ => return Err(unsupported()),
    };
    let (&kind, rest) = rest.split_first().ok_or(DAMAGED)?;
    let (&hash, mut rest) = rest.split_first().ok_or(DAMAGED)?;
    let (salt, count): (&[u8], usize) = match kind {
        0 => (&[], 0),
        1 => {
            let salt = rest.get(..8).ok_or(DAMAGED)?;
            rest = &rest[8..];
            (salt, 0)
        }
        3 => {
            let salt = rest.get(..8).ok_or(DAMAGED)?;
            let c = *rest.get(8).ok_or(DAMAGED)? as usize;
            rest = &rest[9..];
            (salt, (16 + (c & 15)) << ((c >> 4) + 6))
        }
        _ => return Err(unsupported()),
    };
    let material = Zeroizing::new([salt, pass.as_bytes()].concat());
    let key = match hash {
        2 => s2k::<Sha1>(&material, count, key_len),
        8 => s2k::<Sha256>(&material, count, key_len),
        10 => s2k::<Sha512>(&material, count, key_len),
        _ => return Err(unsupported()),
    };
    let iv = rest.get(..16).ok_or(DAMAGED)?;
    let mut data = Zeroizing::new(rest[16..].to_vec());
    let bad = |_| -> Refusal { DAMAGED.into() };
    match cipher {
        7 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(&key, iv)
            .map_err(bad)?
            .decrypt(&mut data),
        8 => cfb_mode::Decryptor::<aes::Aes192>::new_from_slices(&key, iv)
            .map_err(bad)?
            .decrypt(&mut data),
        _ => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
            .map_err(bad)?
            .decrypt(&mut data),
    }
    Ok(data)
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

/// One multiprecision integer: a bit count, then the octets.
fn mpi<'b>(rest: &mut &'b [u8]) -> Option<&'b [u8]> {
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

fn put_length(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=191 => out.push(len as u8),
        192..=8383 => {
            let l = len - 192;
            out.extend([((l >> 8) + 192) as u8, l as u8]);
        }
        _ => {
            out.push(255);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

/// The CRC-24 of ASCII armor (RFC 4880 §6.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xB7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= 0x186_4CFB;
            }
        }
    }
    crc & 0xFF_FFFF
}

fn armor(packet: &[u8]) -> String {
    use base64ct::{Base64, Encoding};
    let body = Base64::encode_string(packet);
    let mut out = String::from("-----BEGIN PGP SIGNATURE-----\n\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push('=');
    out.push_str(&Base64::encode_string(&crc24(packet).to_be_bytes()[1..]));
    out.push_str("\n-----END PGP SIGNATURE-----\n");
    out
}

/// The octets of an armored private key block, its CRC checked when it has one.
fn dearmor(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64ct::{Base64, Encoding};
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| *l == "-----BEGIN PGP PRIVATE KEY BLOCK-----")?;
    // Headers (`Comment: ...`) end at the first blank line.
    let mut lines = lines.skip_while(|l| !l.is_empty());
    let mut body = Zeroizing::new(String::new());
    let mut crc = None;
    for line in lines.by_ref() {
        if line.starts_with("-----END PGP PRIVATE KEY BLOCK-----") {
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
