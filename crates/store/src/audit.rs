//! The append-only audit log: every disclosure decision and every delivery, hash-chained.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash, its sequence number, time,
//! kind, subject and body. Editing, deleting, inserting or reordering entries breaks the
//! chain at the first entry touched, which [`verify`] names. Removing entries from the end,
//! or editing an entry and recomputing every hash after it, leaves a valid chain: that is
//! found against a head written down elsewhere. Two kinds of such heads are checked:
//!
//! * a signed [`Checkpoint`] (seq, hash, time, Ed25519 signature and public key), made by
//!   `baken audit checkpoint` and checked by [`check_checkpoint`];
//! * a [`Witness`]: the head a recipient holds, which every outgoing message carries in its
//!   `X-Baken-Audit-Head: SEQ HASH` header, checked by [`check_witness`].
//!
//! ```
//! use baken_store::audit::{self, Witness};
//! let w: Witness = "3 ab12".parse().unwrap();
//! assert_eq!((w.seq, w.hash.as_str()), (3, "ab12"));
//! // an empty log no longer holds entry 3
//! assert!(audit::check_witness(&[], &w).unwrap_err().to_string().contains("truncated"));
//! ```

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// What happened: `decision`, `delivery`, `delivery-failed`, …
    pub kind: String,
    /// Whom or what it concerns (message key, organisation id).
    pub subject: String,
    /// The details: one JSON object, as text (serialised once, by whoever makes the entry,
    /// and stored and hashed as it is).
    pub body: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When (RFC 3339, UTC, microseconds).
    pub at: String,
    /// What happened.
    pub kind: String,
    /// Whom or what it concerns.
    pub subject: String,
    /// The details, as canonical JSON text.
    pub body: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hash of an entry given its predecessor's hash.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    kind: &str,
    subject: &str,
    body: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash.as_bytes(),
        &seq.to_be_bytes(),
        at.as_bytes(),
        kind.as_bytes(),
        subject.as_bytes(),
        body.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// A sound log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Number of entries.
    pub entries: u64,
    /// The hash of the last entry ([`GENESIS`] for an empty log).
    pub head: String,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("audit log broken at entry {seq}: {reason}")]
pub struct AuditBreak {
    /// The first entry that does not fit (its stored sequence number, or the expected one).
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// Checks a log read in storage order (by `seq`).
pub fn verify(entries: &[AuditEntry]) -> Result<Verified, AuditBreak> {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(AuditBreak {
                seq: e.seq,
                reason: format!(
                    "expected entry {expected_seq} here: an entry was deleted, inserted or renumbered"
                ),
            });
        }
        if e.prev_hash != prev {
            return Err(AuditBreak {
                seq: e.seq,
                reason: "does not follow the entry before it: an entry was deleted, inserted or reordered".into(),
            });
        }
        let hash = entry_hash(&e.prev_hash, e.seq, &e.at, &e.kind, &e.subject, &e.body);
        if hash != e.hash {
            return Err(AuditBreak {
                seq: e.seq,
                reason: "its content does not match its hash: the entry was edited".into(),
            });
        }
        prev = e.hash.clone();
    }
    Ok(Verified {
        entries: entries.len() as u64,
        head: prev,
    })
}

/// A head written down outside the log: entry `seq` had hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    /// The entry's sequence number (0: the log was empty).
    pub seq: i64,
    /// Its hash ([`GENESIS`] for an empty log).
    pub hash: String,
}

impl std::fmt::Display for Witness {
    /// `SEQ HASH`, as the `X-Baken-Audit-Head` header writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Witness {
    type Err = String;

    /// Reads `SEQ HASH` (the header's form) or `SEQ:HASH`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (seq, hash) = text
            .split_once([' ', ':'])
            .ok_or_else(|| format!("{text:?}: expected SEQ:HASH, e.g. 12:3f9a…"))?;
        let seq: i64 = seq
            .trim()
            .parse()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| format!("{text:?}: {seq:?} is not an entry number"))?;
        let hash = hash.trim();
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{text:?}: {hash:?} is not a hexadecimal hash"));
        }
        Ok(Witness {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// The head of a log: its last entry's seq and hash, or `(0, GENESIS)` when it is empty.
pub fn head(entries: &[AuditEntry]) -> Witness {
    entries.last().map_or_else(
        || Witness {
            seq: 0,
            hash: GENESIS.into(),
        },
        |e| Witness {
            seq: e.seq,
            hash: e.hash.clone(),
        },
    )
}

/// Why a head written down elsewhere does not fit the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum WitnessBreak {
    /// The log ends before the entry.
    #[error(
        "truncated below {by}: it holds entry {seq}, the log ends at entry {last}: entries were removed from its end"
    )]
    Truncated {
        /// What held the head (`checkpoint 2`, `the witness`).
        by: String,
        /// The entry it holds.
        seq: i64,
        /// The log's last entry.
        last: i64,
    },
    /// The entry is there with another hash.
    #[error(
        "entry {seq} rewritten since {by}: its hash is now {now}, {by} holds {held}: it or an entry before it was changed and the hashes recomputed"
    )]
    Rewritten {
        /// What held the head.
        by: String,
        /// The entry.
        seq: i64,
        /// Its hash in the log now.
        now: String,
        /// The hash that was held.
        held: String,
    },
    /// A checkpoint whose signature does not verify.
    #[error("{by} is not validly signed: {reason}")]
    BadSignature {
        /// The checkpoint.
        by: String,
        /// What is wrong.
        reason: String,
    },
}

/// Checks that `entries` (the log in order) still holds `witness`'s entry with its hash;
/// `by` names the witness in the error.
fn check_head(entries: &[AuditEntry], witness: &Witness, by: &str) -> Result<(), WitnessBreak> {
    if witness.seq == 0 {
        return Ok(());
    }
    let Some(entry) = entries.iter().find(|e| e.seq == witness.seq) else {
        return Err(WitnessBreak::Truncated {
            by: by.into(),
            seq: witness.seq,
            last: entries.last().map_or(0, |e| e.seq),
        });
    };
    if entry.hash != witness.hash {
        return Err(WitnessBreak::Rewritten {
            by: by.into(),
            seq: witness.seq,
            now: entry.hash.clone(),
            held: witness.hash.clone(),
        });
    }
    Ok(())
}

/// Checks a head a recipient holds (from a message's `X-Baken-Audit-Head`) against the log.
pub fn check_witness(entries: &[AuditEntry], witness: &Witness) -> Result<(), WitnessBreak> {
    check_head(entries, witness, "the witness")
}

/// A signed head: whoever holds the signing key vouches that entry `seq` had hash `hash`
/// at time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The entry (0: the log was empty).
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed (RFC 3339, UTC).
    pub at: String,
    /// The Ed25519 signature over [`Checkpoint::signed_text`], hex.
    pub signature: String,
    /// The Ed25519 public key that verifies it, hex.
    pub public_key: String,
}

impl Checkpoint {
    /// What is signed: `baken-audit-checkpoint`, seq, hash and time, one a line.
    pub fn signed_text(seq: i64, hash: &str, at: &str) -> String {
        format!("baken-audit-checkpoint\n{seq}\n{hash}\n{at}\n")
    }

    /// Signs head `head` at time `at` with `key`.
    pub fn sign(key: &SigningKey, head: &Witness, at: &str) -> Checkpoint {
        let text = Self::signed_text(head.seq, &head.hash, at);
        Checkpoint {
            seq: head.seq,
            hash: head.hash.clone(),
            at: at.into(),
            signature: hex::encode(key.sign(text.as_bytes()).to_bytes()),
            public_key: hex::encode(key.verifying_key().as_bytes()),
        }
    }

    /// Whether the signature verifies under the checkpoint's public key.
    pub fn verify_signature(&self) -> Result<(), String> {
        let key: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("its public key is not 32 bytes of hex")?;
        let key = VerifyingKey::from_bytes(&key).map_err(|e| format!("its public key: {e}"))?;
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("its signature is not 64 bytes of hex")?;
        let text = Self::signed_text(self.seq, &self.hash, &self.at);
        key.verify(text.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| "the signature does not match its seq, hash and time".to_string())
    }
}

/// Checks checkpoint number `n` (from 1, in the order made): its signature, and that the log
/// still holds its entry with its hash.
pub fn check_checkpoint(
    entries: &[AuditEntry],
    checkpoint: &Checkpoint,
    n: usize,
) -> Result<(), WitnessBreak> {
    let by = format!("checkpoint {n}");
    checkpoint
        .verify_signature()
        .map_err(|reason| WitnessBreak::BadSignature {
            by: by.clone(),
            reason,
        })?;
    check_head(
        entries,
        &Witness {
            seq: checkpoint.seq,
            hash: checkpoint.hash.clone(),
        },
        &by,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let at = "2026-01-01T00:00:00.000000Z";
                let hash = entry_hash(&prev, seq, at, "decision", "s", "{}");
                AuditEntry {
                    seq,
                    at: at.into(),
                    kind: "decision".into(),
                    subject: "s".into(),
                    body: "{}".into(),
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            })
            .collect()
    }

    #[test]
    fn a_checkpoint_verifies_and_names_truncation_and_rewriting() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let entries = log(5);
        let c = Checkpoint::sign(&key, &head(&entries), "2026-01-02T00:00:00Z");
        assert_eq!(c.seq, 5);
        check_checkpoint(&entries, &c, 1).unwrap();
        let e = check_checkpoint(&entries[..3], &c, 1).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "truncated below checkpoint 1: it holds entry 5, the log ends at entry 3"
            ),
            "{e}"
        );
        // a rewritten log with every hash recomputed is a sound chain of another head
        let mut other = log(5);
        other[1].subject = "x".into();
        let mut prev = GENESIS.to_string();
        for e in &mut other {
            e.prev_hash = prev;
            e.hash = entry_hash(&e.prev_hash, e.seq, &e.at, &e.kind, &e.subject, &e.body);
            prev = e.hash.clone();
        }
        verify(&other).unwrap();
        let e = check_checkpoint(&other, &c, 2).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("entry 5 rewritten since checkpoint 2"),
            "{e}"
        );
        let w: Witness = format!("5:{}", c.hash).parse().unwrap();
        assert!(check_witness(&other, &w).is_err());
        check_witness(&entries, &w).unwrap();
    }

    #[test]
    fn a_forged_checkpoint_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let entries = log(3);
        let mut c = Checkpoint::sign(&key, &head(&entries), "2026-01-02T00:00:00Z");
        c.seq = 2;
        c.hash = entries[1].hash.clone();
        let e = check_checkpoint(&entries, &c, 1).unwrap_err();
        assert!(matches!(e, WitnessBreak::BadSignature { .. }), "{e}");
        c.signature = "zz".into();
        assert!(check_checkpoint(&entries, &c, 1).is_err());
    }

    #[test]
    fn witnesses_read_both_forms() {
        let a: Witness = "12 ABcd".parse().unwrap();
        let b: Witness = "12:abcd".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "12 abcd");
        for bad in ["", "12", "x:ab", "-1:ab", "3:xyz"] {
            assert!(bad.parse::<Witness>().is_err(), "{bad}");
        }
    }
}
