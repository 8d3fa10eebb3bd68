//! OpenPGP for baken's mail and contacts: the recipients' public keys checked for use, the
//! sender's signing key, detached signatures, encryption to a recipient, and cleartext
//! signatures (`-----BEGIN PGP SIGNED MESSAGE-----`) checked against a key.
//!
//! Pure Rust (rpgp), no IO: the caller reads the key files and hands over the bytes. The
//! MIME around signatures and ciphertext (PGP/MIME, RFC 3156) is `baken-deliver`'s; the
//! registry's checks of a contact's `pgp_key` are `baken-attribute`'s, both through this
//! crate so that what import accepts is what delivery can use.
//!
//! ```
//! use std::time::SystemTime;
//! use baken_openpgp::{PublicKey, SigningKey};
//!
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../deliver/tests/data/");
//! # let recipient_armored = std::fs::read_to_string(format!("{dir}recipient.pub.asc")).unwrap();
//! # let sender_armored = std::fs::read(format!("{dir}sender.sec.asc")).unwrap();
//! let now = SystemTime::now();
//! // a registry contact's key: usable to encrypt to now, or an error that says why not
//! let recipient = PublicKey::for_encryption(&recipient_armored, now).unwrap();
//! // the sender's key, unlocked with its passphrase
//! let sender = SigningKey::parse(&sender_armored, Some("test-passphrase"), now).unwrap();
//! let signature = sender.sign_detached(b"Dear colleagues,\r\n", now).unwrap();
//! assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----"));
//! let ciphertext = recipient.encrypt(b"Dear colleagues,\r\n").unwrap();
//! assert!(ciphertext.starts_with("-----BEGIN PGP MESSAGE-----"));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, Deserializable, DetachedSignature, MessageBuilder,
    SignedPublicKey, SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{Signature, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, KeyVersion, Password, Timestamp};

/// Why a key, a signature or an encryption could not be used; the text says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

fn err(text: impl Into<String>) -> KeyError {
    KeyError(text.into())
}

/// A fingerprint as upper-case hex without spaces.
fn fingerprint_of(key: &impl KeyDetails) -> String {
    format!("{:X}", key.fingerprint())
}

fn to_system(t: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(t.as_secs()))
}

fn timestamp(t: SystemTime) -> Timestamp {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Timestamp::from_secs(u32::try_from(secs).unwrap_or(u32::MAX))
}

/// When a key (created at `created`) expires by the newest of `signatures` that speaks of it
/// (a key expiration time of zero or none: never).
fn expiry(created: Timestamp, signatures: &[&Signature]) -> Option<SystemTime> {
    let newest = signatures
        .iter()
        .filter(|s| s.created().is_some())
        .max_by_key(|s| s.created().map(|t| t.as_secs()))?;
    let secs = newest.key_expiration_time()?.as_secs();
    (secs != 0).then(|| to_system(created) + Duration::from_secs(u64::from(secs)))
}

/// An RFC 3339-like UTC date for messages (`2020-01-02`).
fn day(t: SystemTime) -> String {
    let days = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A public key (a transferable public key: primary key, user ids, subkeys), its
/// self-signatures checked.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: SignedPublicKey,
    fingerprint: String,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// Reads exactly one public key, armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or
    /// binary, and checks its self-signatures.
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyError> {
        let (keys, _) = SignedPublicKey::from_reader_many(bytes)
            .map_err(|e| err(format!("not an OpenPGP public key: {e}")))?;
        let mut found = Vec::new();
        for key in keys {
            found.push(key.map_err(|e| err(format!("not an OpenPGP public key: {e}")))?);
        }
        if found.len() != 1 {
            return Err(err(format!(
                "holds {} OpenPGP public keys; give exactly one",
                found.len()
            )));
        }
        let key = found.remove(0);
        let fingerprint = fingerprint_of(&key);
        key.verify_bindings().map_err(|e| {
            err(format!(
                "key {fingerprint}: its self-signatures do not verify: {e}"
            ))
        })?;
        Ok(Self { key, fingerprint })
    }

    /// [`parse`](Self::parse), then [`check_encryption`](Self::check_encryption) at `now`.
    pub fn for_encryption(armored: &str, now: SystemTime) -> Result<Self, KeyError> {
        let key = Self::parse(armored.as_bytes())?;
        key.check_encryption(now)?;
        Ok(key)
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// When the primary key expires, if it does.
    pub fn expires(&self) -> Option<SystemTime> {
        let sigs: Vec<&Signature> = self
            .key
            .details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter())
            .chain(self.key.details.direct_signatures.iter())
            .collect();
        expiry(self.key.primary_key.created_at(), &sigs)
    }

    /// Whether the key as a whole may be used at `now`: not revoked, not expired.
    pub fn check_valid(&self, now: SystemTime) -> Result<(), KeyError> {
        let fp = &self.fingerprint;
        if !self.key.details.revocation_signatures.is_empty() {
            return Err(err(format!(
                "key {fp} is revoked; ask the contact for its current key"
            )));
        }
        if let Some(at) = self.expires()
            && at <= now
        {
            return Err(err(format!(
                "key {fp} expired on {}; ask the contact for a key that is valid now",
                day(at)
            )));
        }
        Ok(())
    }

    /// The index of the subkey to encrypt to at `now`: not revoked, not expired, flagged for
    /// encryption, of an algorithm that encrypts.
    fn encryption_subkey(&self, now: SystemTime) -> Option<usize> {
        self.key.public_subkeys.iter().position(|sub| {
            let bindings: Vec<&Signature> = sub
                .signatures
                .iter()
                .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
                .collect();
            let revoked = sub
                .signatures
                .iter()
                .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
            let newest = bindings
                .iter()
                .max_by_key(|s| s.created().map(|t| t.as_secs()));
            let flagged = newest.is_some_and(|s| {
                let flags = s.key_flags();
                flags.encrypt_comms() || flags.encrypt_storage()
            });
            let live = expiry(sub.key.created_at(), &bindings).is_none_or(|at| at > now);
            !revoked && flagged && live && sub.key.algorithm().can_encrypt()
        })
    }

    /// Whether messages can be encrypted to this key at `now`: valid (see
    /// [`check_valid`](Self::check_valid)) with a live encryption subkey.
    pub fn check_encryption(&self, now: SystemTime) -> Result<(), KeyError> {
        self.check_valid(now)?;
        if self.encryption_subkey(now).is_none() {
            return Err(err(format!(
                "key {} has no subkey usable for encryption (none flagged for encryption that is \
                 unexpired and unrevoked); ask the contact for a key with an encryption subkey",
                self.fingerprint
            )));
        }
        Ok(())
    }

    /// Encrypts `data` to the key's encryption subkey (SEIPD v1, AES-256), armored
    /// (`-----BEGIN PGP MESSAGE-----`). The message key is random: each call differs.
    pub fn encrypt(&self, data: &[u8]) -> Result<String, KeyError> {
        let index = self
            .encryption_subkey(SystemTime::now())
            .ok_or_else(|| err(format!("key {} cannot encrypt now", self.fingerprint)))?;
        let subkey = &self.key.public_subkeys[index];
        let mut rng = rand::thread_rng();
        let mut builder = MessageBuilder::from_bytes("", data.to_vec())
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        builder
            .encrypt_to_key(&mut rng, subkey)
            .map_err(|e| err(format!("cannot encrypt to {}: {e}", self.fingerprint)))?;
        builder
            .to_armored_string(&mut rng, ArmorOptions::default())
            .map_err(|e| err(format!("cannot encrypt to {}: {e}", self.fingerprint)))
    }

    /// Checks a detached signature (armored or binary) of `data` made by this key or one of
    /// its subkeys.
    pub fn verify_detached(&self, data: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let (sig, _) = DetachedSignature::from_reader_single(signature)
            .map_err(|e| err(format!("unreadable signature: {e}")))?;
        if sig.verify(&self.key, data).is_ok() {
            return Ok(());
        }
        for sub in &self.key.public_subkeys {
            if sig.verify(&sub.key, data).is_ok() {
                return Ok(());
            }
        }
        Err(err(format!(
            "the signature does not verify with key {}",
            self.fingerprint
        )))
    }

    fn verify_signature(&self, message: &CleartextSignedMessage) -> bool {
        message.verify(&self.key).is_ok()
            || self
                .key
                .public_subkeys
                .iter()
                .any(|sub| message.verify(&sub.key).is_ok())
    }
}

/// A text with an OpenPGP cleartext signature (RFC 9580 section 7), as read.
#[derive(Debug, Clone)]
pub struct Cleartext {
    message: CleartextSignedMessage,
}

impl Cleartext {
    /// Reads `-----BEGIN PGP SIGNED MESSAGE-----` … `-----END PGP SIGNATURE-----`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (message, _) = CleartextSignedMessage::from_string(text)
            .map_err(|e| err(format!("unreadable cleartext signature: {e}")))?;
        Ok(Self { message })
    }

    /// The signed text, dash-escaping removed.
    pub fn text(&self) -> String {
        self.message.signed_text()
    }

    /// Whether one of the signatures names one of `keys` (its primary key or a subkey) as
    /// its issuer: a signature that then does not verify is bad, not merely unchecked.
    pub fn names_one_of(&self, keys: &[PublicKey]) -> bool {
        self.message.signatures().iter().any(|sig| {
            keys.iter().any(|k| {
                let mut ids = vec![(
                    k.key.primary_key.fingerprint(),
                    k.key.primary_key.legacy_key_id(),
                )];
                ids.extend(
                    k.key
                        .public_subkeys
                        .iter()
                        .map(|s| (s.key.fingerprint(), s.key.legacy_key_id())),
                );
                ids.iter().any(|(fp, id)| {
                    sig.issuer_fingerprint().contains(&fp) || sig.issuer_key_id().contains(&id)
                })
            })
        })
    }

    /// The fingerprint of the first of `keys` that made a good signature over the text.
    pub fn verified_by<'k>(&self, keys: &'k [PublicKey]) -> Option<&'k PublicKey> {
        keys.iter().find(|k| k.verify_signature(&self.message))
    }
}

/// The sender's secret key, unlocked with its passphrase, and the key that signs: the
/// primary key when it may sign, else the first signing subkey.
#[derive(Debug)]
pub struct SigningKey {
    key: SignedSecretKey,
    password: Password,
    /// `None`: the primary key signs; else the index of the secret subkey that does.
    subkey: Option<usize>,
    fingerprint: String,
}

impl SigningKey {
    /// Reads one secret key (armored or binary) and checks that it can sign at `now` with
    /// `passphrase` (none for a key that is not protected): a wrong passphrase, an expired
    /// or revoked key, or a key without a signing key is refused, saying which.
    pub fn parse(
        bytes: &[u8],
        passphrase: Option<&str>,
        now: SystemTime,
    ) -> Result<Self, KeyError> {
        let (key, _) = SignedSecretKey::from_reader_single(bytes).map_err(|e| {
            err(format!(
                "not an OpenPGP secret key: {e}; export it with `gpg --armor --export-secret-keys`"
            ))
        })?;
        let fingerprint = fingerprint_of(&key.primary_key);
        key.verify_bindings().map_err(|e| {
            err(format!(
                "key {fingerprint}: its self-signatures do not verify: {e}"
            ))
        })?;
        let public = PublicKey {
            key: key.to_public_key(),
            fingerprint: fingerprint.clone(),
        };
        public.check_valid(now)?;
        let primary_signs = key
            .details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter())
            .max_by_key(|s| s.created().map(|t| t.as_secs()))
            .is_none_or(|s| s.key_flags().sign())
            && key.primary_key.algorithm().can_sign();
        let subkey = if primary_signs {
            None
        } else {
            let found = key.secret_subkeys.iter().position(|sub| {
                let revoked = sub
                    .signatures
                    .iter()
                    .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
                let bindings: Vec<&Signature> = sub
                    .signatures
                    .iter()
                    .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
                    .collect();
                let signs = bindings
                    .iter()
                    .max_by_key(|s| s.created().map(|t| t.as_secs()))
                    .is_some_and(|s| s.key_flags().sign());
                let live = expiry(sub.key.created_at(), &bindings).is_none_or(|at| at > now);
                !revoked && signs && live
            });
            Some(found.ok_or_else(|| {
                err(format!(
                    "key {fingerprint} has no key that may sign (neither the primary key nor an \
                     unexpired signing subkey); give a key with signing capability"
                ))
            })?)
        };
        let signer = Self {
            key,
            password: passphrase.map(Password::from).unwrap_or_default(),
            subkey,
            fingerprint,
        };
        // a wrong passphrase shows here, once, not on the first message
        signer.sign_detached(b"baken", now).map_err(|e| {
            err(format!(
                "cannot sign with key {}: {} (a wrong or missing passphrase?)",
                signer.fingerprint, e.0
            ))
        })?;
        Ok(signer)
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public half, armored, for recipients to import.
    pub fn public_key_armored(&self) -> String {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .expect("a parsed key serialises")
    }

    /// A detached binary signature (SHA-256) over `data`, made at `created` (or when the
    /// signing key was made, if that is later: no verifier accepts a signature older than its
    /// key), armored (`-----BEGIN PGP SIGNATURE-----`). For a v4 key with EdDSA or RSA the
    /// same input and time give the same signature.
    pub fn sign_detached(&self, data: &[u8], created: SystemTime) -> Result<String, KeyError> {
        let (signer, version): (&dyn pgp::types::SigningKey, KeyVersion) = match self.subkey {
            None => (&self.key.primary_key, self.key.primary_key.version()),
            Some(i) => {
                let sub = &self.key.secret_subkeys[i].key;
                (sub, sub.version())
            }
        };
        let created = timestamp(created).max(signer.created_at());
        let hashed = vec![
            Subpacket::regular(SubpacketData::IssuerFingerprint(signer.fingerprint()))
                .map_err(|e| err(e.to_string()))?,
            Subpacket::regular(SubpacketData::SignatureCreationTime(created))
                .map_err(|e| err(e.to_string()))?,
        ];
        let mut unhashed = Vec::new();
        if version <= KeyVersion::V4 {
            unhashed.push(
                Subpacket::regular(SubpacketData::IssuerKeyId(signer.legacy_key_id()))
                    .map_err(|e| err(e.to_string()))?,
            );
        }
        let signature = DetachedSignature::sign_binary_data_with_subpackets(
            rand::thread_rng(),
            &Box::new(signer),
            &self.password,
            HashAlgorithm::Sha256,
            data,
            SubpacketConfig::UserDefined { hashed, unhashed },
        )
        .map_err(|e| err(format!("cannot sign: {e}")))?;
        signature
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| err(format!("cannot armor the signature: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../deliver/tests/data/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day(UNIX_EPOCH), "1970-01-01");
        assert_eq!(
            day(UNIX_EPOCH + Duration::from_secs(1_577_923_200)),
            "2020-01-02"
        );
    }

    #[test]
    fn a_recipient_key_with_an_encryption_subkey_is_usable() {
        let text = String::from_utf8(data("recipient.pub.asc")).unwrap();
        let key = PublicKey::for_encryption(&text, SystemTime::now()).unwrap();
        assert_eq!(key.fingerprint().len(), 40);
        assert!(
            key.encrypt(b"x")
                .unwrap()
                .starts_with("-----BEGIN PGP MESSAGE-----")
        );
    }

    #[test]
    fn expired_and_sign_only_keys_are_refused_saying_why() {
        let expired = String::from_utf8(data("expired.pub.asc")).unwrap();
        let e = PublicKey::for_encryption(&expired, SystemTime::now()).unwrap_err();
        assert!(e.0.contains("expired on 2020-01-02"), "{e}");
        let sign_only = String::from_utf8(data("sender.pub.asc")).unwrap();
        let e = PublicKey::for_encryption(&sign_only, SystemTime::now()).unwrap_err();
        assert!(e.0.contains("no subkey usable for encryption"), "{e}");
        let e = PublicKey::for_encryption("hello", SystemTime::now()).unwrap_err();
        assert!(e.0.contains("not an OpenPGP public key"), "{e}");
    }

    #[test]
    fn signatures_verify_and_a_changed_text_does_not() {
        let now = SystemTime::now();
        let signer =
            SigningKey::parse(&data("sender.sec.asc"), Some("test-passphrase"), now).unwrap();
        let sig = signer.sign_detached(b"hello\r\n", now).unwrap();
        let public = PublicKey::parse(signer.public_key_armored().as_bytes()).unwrap();
        public
            .verify_detached(b"hello\r\n", sig.as_bytes())
            .unwrap();
        assert!(
            public
                .verify_detached(b"hellO\r\n", sig.as_bytes())
                .is_err()
        );
    }

    #[test]
    fn a_wrong_passphrase_is_refused_at_load() {
        let e = SigningKey::parse(&data("sender.sec.asc"), Some("wrong"), SystemTime::now())
            .unwrap_err();
        assert!(e.0.contains("passphrase"), "{e}");
    }
}
