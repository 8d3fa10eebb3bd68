//! OpenPGP signatures of CSAF documents (CSAF 2.0 section 7.1.19, requirement 19: a
//! detached signature `<document>.asc`; section 7.1.20, requirement 20: the signing keys
//! published in `provider-metadata.json` under `public_openpgp_keys`, each with its URL and
//! fingerprint). No IO: the sync fetches the bytes and hands them here.
//!
//! A published key is used only when the key served at its URL has the published
//! fingerprint (a key file holding several keys contributes the one that matches), carries
//! no revocation, has not expired and its self-signatures verify. A signature verifies
//! against the primary key or a signing subkey whose binding (with its back-signature)
//! verifies, that is not revoked, and that — with its primary key — had not expired when
//! the signature was made and has not expired now. A key expires where its latest
//! self-signature (for a subkey: its latest binding) says, counted from the key's creation.

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Timestamp, VerifyingKey};

/// A fingerprint as hex in upper case, without spaces, for comparison and display.
pub(crate) fn normalise_fingerprint(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn fingerprint_of(key: &impl KeyDetails) -> String {
    format!("{:X}", key.fingerprint())
}

/// The key in `bytes` (armored or binary, one or more keys) whose primary fingerprint is
/// `published`, checked: not revoked, self-signatures sound. `published: None` (the
/// provider named no fingerprint) accepts a file of exactly one key. Returns the key and
/// its fingerprint.
pub(crate) fn published_key(
    bytes: &[u8],
    published: Option<&str>,
) -> Result<(SignedPublicKey, String), String> {
    let (keys, _) = SignedPublicKey::from_reader_many(bytes)
        .map_err(|e| format!("not an OpenPGP public key: {e}"))?;
    let mut found = Vec::new();
    for key in keys {
        match key {
            Ok(key) => found.push(key),
            Err(e) => return Err(format!("not an OpenPGP public key: {e}")),
        }
    }
    let key = match published {
        Some(published) => {
            let want = normalise_fingerprint(published);
            let served: Vec<String> = found.iter().map(fingerprint_of).collect();
            match found.into_iter().find(|k| fingerprint_of(k) == want) {
                Some(key) => key,
                None if served.is_empty() => return Err("holds no OpenPGP key".into()),
                None => {
                    return Err(format!(
                        "fingerprint mismatch: the provider metadata publishes {want}, the key served is {}",
                        served.join(", ")
                    ));
                }
            }
        }
        None => {
            if found.len() != 1 {
                return Err(format!(
                    "holds {} keys and the provider metadata names no fingerprint to choose one",
                    found.len()
                ));
            }
            found.remove(0)
        }
    };
    let fingerprint = fingerprint_of(&key);
    if !key.details.revocation_signatures.is_empty() {
        return Err(format!("key {fingerprint} is revoked"));
    }
    key.details
        .verify_bindings(&key.primary_key)
        .map_err(|e| format!("key {fingerprint}: its self-signatures do not verify: {e}"))?;
    if let Some(expired) = primary_expiry(&key).filter(|&at| at <= now()) {
        return Err(format!(
            "key {fingerprint} expired on {}: ask the provider for a renewed key",
            day(expired)
        ));
    }
    Ok((key, fingerprint))
}

/// Now, in Unix seconds.
fn now() -> u64 {
    u64::from(Timestamp::now().as_secs())
}

/// A time in Unix seconds as `2020-01-10 00:00:00 UTC`.
fn day(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{secs} (Unix time)"))
}

/// When a key created at `created` expires by the latest of `signatures` (its
/// self-signatures or bindings); `None` when it never does.
fn expiry<'a>(created: Timestamp, signatures: impl Iterator<Item = &'a Signature>) -> Option<u64> {
    let latest = signatures.max_by_key(|s| s.created().map_or(0, |t| t.as_secs()))?;
    let valid_for = latest.key_expiration_time()?.as_secs();
    (valid_for > 0).then(|| u64::from(created.as_secs()) + u64::from(valid_for))
}

/// When the primary key expires: by its latest self-signature (user id certifications and
/// direct-key signatures made by itself).
fn primary_expiry(key: &SignedPublicKey) -> Option<u64> {
    let own = key
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .chain(key.details.direct_signatures.iter())
        .filter(|s| made_by(s, &key.primary_key));
    expiry(key.primary_key.created_at(), own)
}

/// When a subkey expires: by its latest binding signature.
fn subkey_expiry(sub: &SignedPublicSubKey) -> Option<u64> {
    let bindings = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding));
    expiry(sub.key.created_at(), bindings)
}

/// Refuses a signature made, or checked now, outside the life of the key that made it:
/// `expires` is when `what` (`key FPR`, `subkey FPR of key FPR`) expires.
fn in_lifetime(signature: &Signature, what: &str, expires: Option<u64>) -> Result<(), String> {
    let Some(expires) = expires else {
        return Ok(());
    };
    let made = signature.created().map(|t| u64::from(t.as_secs()));
    if let Some(made) = made.filter(|&m| m >= expires) {
        return Err(format!(
            "made on {} by {what}, which had expired on {}",
            day(made),
            day(expires)
        ));
    }
    if expires <= now() {
        return Err(format!(
            "{what} expired on {}: a signature it made is no longer accepted",
            day(expires)
        ));
    }
    Ok(())
}

/// The fingerprints (primary and signing subkeys) of the keys a signature may be checked
/// against, for messages.
fn issuers(signature: &Signature) -> String {
    let mut named: Vec<String> = signature
        .issuer_fingerprint()
        .iter()
        .map(|f| format!("{f:X}"))
        .collect();
    if named.is_empty() {
        named = signature
            .issuer_key_id()
            .iter()
            .map(|id| id.to_string().to_ascii_uppercase())
            .collect();
    }
    if named.is_empty() {
        "an unnamed key".into()
    } else {
        format!("key {}", named.join(", "))
    }
}

/// Whether `signature` names `key` as its issuer (by fingerprint or key id).
fn made_by(signature: &Signature, key: &impl KeyDetails) -> bool {
    let fingerprint = key.fingerprint();
    let id = key.legacy_key_id();
    signature.issuer_fingerprint().contains(&&fingerprint)
        || signature.issuer_key_id().contains(&&id)
}

/// Verifies the detached signature(s) `asc` of `document` against `keys` (each already
/// checked by [`published_key`], with its primary fingerprint). Returns the primary
/// fingerprint of the key that made a good signature, else why not.
pub(crate) fn verify(
    keys: &[(SignedPublicKey, String)],
    document: &[u8],
    asc: &[u8],
) -> Result<String, String> {
    let (signatures, _) = DetachedSignature::from_reader_many(asc)
        .map_err(|e| format!("unreadable signature file: {e}"))?;
    let mut problems = Vec::new();
    let mut any = false;
    for signature in signatures {
        let signature = signature.map_err(|e| format!("unreadable signature file: {e}"))?;
        any = true;
        let signature = signature.signature;
        let mut by_published_key = false;
        for (key, fingerprint) in keys {
            let mut outcome = None;
            if made_by(&signature, key) {
                outcome = Some(
                    in_lifetime(
                        &signature,
                        &format!("key {fingerprint}"),
                        primary_expiry(key),
                    )
                    .map_err(Failure::Refused)
                    .and_then(|()| check(&signature, key, document)),
                );
            }
            for sub in &key.public_subkeys {
                if outcome.as_ref().is_some_and(Result::is_ok) || !made_by(&signature, sub) {
                    continue;
                }
                let what = format!("subkey {} of key {fingerprint}", fingerprint_of(sub));
                let revoked = sub
                    .signatures
                    .iter()
                    .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
                outcome = Some(
                    sub.verify_bindings(&key.primary_key)
                        .map_err(|e| {
                            format!(
                                "subkey {} is not bound to {fingerprint}: {e}",
                                fingerprint_of(sub)
                            )
                        })
                        .and_then(|()| {
                            if revoked {
                                Err(format!("{what} is revoked"))
                            } else {
                                Ok(())
                            }
                        })
                        .and_then(|()| in_lifetime(&signature, &what, subkey_expiry(sub)))
                        .and_then(|()| {
                            in_lifetime(
                                &signature,
                                &format!("key {fingerprint}"),
                                primary_expiry(key),
                            )
                        })
                        .map_err(Failure::Refused)
                        .and_then(|()| check(&signature, sub, document)),
                );
            }
            match outcome {
                Some(Ok(())) => return Ok(fingerprint.clone()),
                Some(Err(e)) => {
                    by_published_key = true;
                    problems.push(match e {
                        Failure::Bad(bad) => format!(
                            "BAD signature by {}: the document is not what key {fingerprint} signed ({bad})",
                            issuers(&signature)
                        ),
                        Failure::Refused(why) => {
                            format!("signature by {} refused: {why}", issuers(&signature))
                        }
                    });
                }
                None => {}
            }
        }
        if !by_published_key {
            let published: Vec<&str> = keys.iter().map(|(_, f)| f.as_str()).collect();
            problems.push(format!(
                "signed by {}, which is not a key the provider publishes ({})",
                issuers(&signature),
                published.join(", ")
            ));
        }
    }
    if !any {
        return Err("the signature file holds no OpenPGP signature".into());
    }
    Err(problems.join("; "))
}

/// Why a signature by a published key is not accepted.
enum Failure {
    /// It does not verify: the document is not what was signed.
    Bad(String),
    /// The key that made it may not be used for it (expired, revoked, not bound).
    Refused(String),
}

fn check(signature: &Signature, key: &impl VerifyingKey, document: &[u8]) -> Result<(), Failure> {
    signature
        .verify(key, document)
        .map_err(|e| Failure::Bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compare_without_case_or_spaces() {
        assert_eq!(
            normalise_fingerprint("a891 4ca2 f111 39c6 a69a  0018 fb3c d9b1 5de6 1596"),
            "A8914CA2F11139C6A69A0018FB3CD9B15DE61596"
        );
    }

    #[test]
    fn garbage_is_neither_key_nor_signature() {
        assert!(published_key(b"not a key", Some("AB")).is_err());
        assert!(verify(&[], b"{}", b"not a signature").is_err());
        assert!(
            verify(
                &[],
                b"{}",
                b"-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"
            )
            .is_err()
        );
    }
}
