//! The append-only audit log: every disclosure decision and every delivery, hash-chained.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash, its sequence number, time,
//! kind, subject and body. Editing, deleting, inserting or reordering entries breaks the
//! chain at the first entry touched, which [`verify`] names. Removing entries from the end
//! leaves a shorter valid chain: compare the head ([`Verified::head`]) with one recorded
//! elsewhere (an export, a ticket) to detect that.

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
    /// The details, as JSON.
    pub body: serde_json::Value,
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
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
