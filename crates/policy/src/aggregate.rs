//! Pseudonymised sector aggregates with small-count suppression.
//!
//! Organisations appear only as pseudonyms: the first 64 bits of HMAC-SHA-256 (RFC 2104)
//! of their id under a secret the caller supplies per policy or per run. Without the secret
//! a pseudonym cannot be linked to an id by hashing candidate ids, and pseudonyms from runs
//! with different secrets cannot be linked to each other.
//!
//! A count below the policy's `min_count` k is shown as `<k`. A sector with fewer than k
//! affected organisations lists no per-organisation rows, since the number of rows would
//! give the count away.

use std::collections::BTreeMap;
use std::fmt;

use baken_model::OrgId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::policy::Policy;

/// The shortest secret [`Pseudonymiser::new`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The secret was too short to key pseudonyms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the pseudonymisation secret has {0} bytes; give at least {MIN_SECRET_LEN} random bytes")]
pub struct ShortSecret(pub usize);

/// Turns organisation ids into keyed pseudonyms.
#[derive(Clone)]
pub struct Pseudonymiser {
    inner: Sha256,
    outer: Sha256,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser(..)")
    }
}

const BLOCK: usize = 64;

impl Pseudonymiser {
    /// A pseudonymiser keyed with `secret` (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: &[u8]) -> Result<Pseudonymiser, ShortSecret> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(ShortSecret(secret.len()));
        }
        let mut key = [0u8; BLOCK];
        if secret.len() > BLOCK {
            key[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        let pad = |byte: u8| {
            let mut h = Sha256::new();
            h.update(key.map(|k| k ^ byte));
            h
        };
        Ok(Pseudonymiser {
            inner: pad(0x36),
            outer: pad(0x5c),
        })
    }

    /// HMAC-SHA-256 of `message`.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        inner.update(message);
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }

    /// The pseudonym of an organisation: `p-` and 16 hex digits.
    pub fn pseudonym(&self, org: &OrgId) -> String {
        let mac = self.mac(org.0.as_bytes());
        let mut out = String::with_capacity(18);
        out.push_str("p-");
        for byte in &mac[..8] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }
}

/// A count as published: exact, or suppressed below the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Count {
    /// The count, at least the threshold.
    Exact(u64),
    /// Some count from 1 to `below - 1`, shown as `<below`.
    Below(u32),
}

impl Count {
    fn suppressed(n: u64, k: u32) -> Count {
        if n < u64::from(k) {
            Count::Below(k)
        } else {
            Count::Exact(n)
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Below(k) => write!(f, "<{k}"),
        }
    }
}

/// The findings of one sector, pseudonymised and suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectorAggregate {
    /// The sector (`(no sector)` for organisations without one).
    pub sector: String,
    /// How many organisations are affected.
    pub organisations: Count,
    /// How many findings there are.
    pub findings: Count,
    /// Findings per organisation by pseudonym, sorted by pseudonym; empty when the sector
    /// has fewer affected organisations than the threshold.
    pub by_organisation: Vec<(String, Count)>,
}

/// The name aggregates give findings of organisations without a sector.
pub const NO_SECTOR: &str = "(no sector)";

/// Counts findings per sector: one `(sector, organisation)` pair per finding. Counts below
/// the policy's `min_count` are suppressed; sectors are sorted by name.
pub fn aggregate<'a>(
    policy: &Policy,
    findings: impl IntoIterator<Item = (Option<&'a str>, &'a OrgId)>,
    pseudonymiser: &Pseudonymiser,
) -> Vec<SectorAggregate> {
    let k = policy.min_count();
    let mut sectors: BTreeMap<&str, BTreeMap<&OrgId, u64>> = BTreeMap::new();
    for (sector, org) in findings {
        *sectors
            .entry(sector.unwrap_or(NO_SECTOR))
            .or_default()
            .entry(org)
            .or_default() += 1;
    }
    sectors
        .into_iter()
        .map(|(sector, orgs)| {
            let total: u64 = orgs.values().sum();
            let organisations = orgs.len() as u64;
            let mut by_organisation = Vec::new();
            if organisations >= u64::from(k) {
                by_organisation = orgs
                    .iter()
                    .map(|(org, &n)| (pseudonymiser.pseudonym(org), Count::suppressed(n, k)))
                    .collect();
                by_organisation.sort_by(|a, b| a.0.cmp(&b.0));
            }
            SectorAggregate {
                sector: sector.to_string(),
                organisations: Count::suppressed(organisations, k),
                findings: Count::suppressed(total, k),
                by_organisation,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 has a 4-byte key, below our minimum; cases 3 and 6 are long enough.
        let p = Pseudonymiser::new(&[0xaa; 20]).unwrap();
        assert_eq!(
            hex(&p.mac(&[0xdd; 50])),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        );
        let p = Pseudonymiser::new(&[0xaa; 131]).unwrap();
        assert_eq!(
            hex(&p.mac(b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(Pseudonymiser::new(b"short").unwrap_err(), ShortSecret(5));
    }
}
