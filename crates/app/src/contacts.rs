//! Security contacts from `security.txt` (RFC 9116): for every registered domain of an
//! organisation without a live security contact, read its `security.txt` (from a directory,
//! or fetched over HTTPS by `baken-csaf-sync`), decide whether its contacts may be used, and
//! record the `mailto:` ones as security contacts with their provenance and expiry, audited.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use baken_attribute::securitytxt::{self, Signature};
use baken_model::{Contact, ContactRole, ContactSource, OrgId};
use baken_openpgp::PublicKey;
use baken_store::audit::NewAuditEntry;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{App, AppError, Result};

/// The largest security.txt read, in bytes (RFC 9116 files are a few hundred bytes).
pub const MAX_SIZE: u64 = 32 * 1024;

/// Where security.txt files come from.
pub trait SecurityTxtSource {
    /// The file of `domain` and where it was read (a URL or a path); `Ok(None)` when there is
    /// none; `Err` says why it could not be read.
    fn read(&self, domain: &str) -> std::result::Result<Option<(Vec<u8>, String)>, String>;
}

/// Files in a directory, named by domain: `DIR/<domain>/security.txt`, else
/// `DIR/<domain>.txt`.
#[derive(Debug, Clone)]
pub struct DirSource(pub PathBuf);

impl SecurityTxtSource for DirSource {
    fn read(&self, domain: &str) -> std::result::Result<Option<(Vec<u8>, String)>, String> {
        if domain.contains(['/', '\\']) || domain.starts_with('.') {
            return Err(format!("{domain:?} is not a domain name"));
        }
        for path in [
            self.0.join(domain).join("security.txt"),
            self.0.join(format!("{domain}.txt")),
        ] {
            match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_SIZE => {
                    return Err(format!(
                        "{} is larger than {MAX_SIZE} bytes",
                        path.display()
                    ));
                }
                Ok(_) => {
                    return std::fs::read(&path)
                        .map(|b| Some((b, path.display().to_string())))
                        .map_err(|e| format!("cannot read {}: {e}", path.display()));
                }
                Err(_) => continue,
            }
        }
        Ok(None)
    }
}

/// What was decided for one domain.
#[derive(Debug, Clone, Serialize)]
pub struct DomainOutcome {
    /// The organisation.
    pub organisation: String,
    /// The domain.
    pub domain: String,
    /// Where the file was read, when there was one.
    pub location: Option<String>,
    /// The addresses recorded as security contacts (none when the file was not used).
    pub added: Vec<String>,
    /// Why nothing was recorded, when nothing was.
    pub skipped: Option<String>,
    /// How the file was signed, when there was one.
    pub signature: Option<Signature>,
    /// Its `Expires`, when readable.
    pub expires: Option<DateTime<Utc>>,
    /// Its problems (`line N: …`) and contacts that are not addresses.
    pub notes: Vec<String>,
}

/// What `discover-contacts` did.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoverReport {
    /// Organisations with registered domains that had no live security contact.
    pub organisations_without_contact: usize,
    /// Security contacts recorded.
    pub added: usize,
    /// Per domain looked at.
    pub domains: Vec<DomainOutcome>,
}

/// Reads a keyring file (one or more armored public keys) for checking signed files.
pub fn read_keyring(path: &Path) -> Result<Vec<PublicKey>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::Usage(format!("cannot read keyring {}: {e}", path.display())))?;
    let mut keys = Vec::new();
    let end = "-----END PGP PUBLIC KEY BLOCK-----";
    for block in text.split_inclusive(end).filter(|b| b.contains(end)) {
        keys.push(
            PublicKey::parse(block.trim().as_bytes())
                .map_err(|e| AppError::Usage(format!("keyring {}: {e}", path.display())))?,
        );
    }
    if keys.is_empty() {
        return Err(AppError::Usage(format!(
            "keyring {} holds no armored public key",
            path.display()
        )));
    }
    Ok(keys)
}

impl App {
    /// For each organisation with registered domains and no live security contact, reads
    /// each domain's security.txt from `source` and records its `mailto:` contacts as
    /// security contacts (provenance: `security.txt`, where it was read, when; expiry: the
    /// file's `Expires`). A file is not used when it lacks `Contact` or exactly one
    /// `Expires`, has expired, or is signed and the signature does not verify against
    /// `keyring`; each such domain says why. Every recorded contact is audited
    /// (`contact-discovered`). A later `registry import` replaces the registry, discovered
    /// contacts included.
    pub fn discover_contacts(
        &mut self,
        source: &dyn SecurityTxtSource,
        keyring: &[PublicKey],
    ) -> Result<DiscoverReport> {
        let now = DateTime::parse_from_rfc3339(&baken_store::now())
            .map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc));
        let mut orgs = self.store.organisations()?;
        let mut report = DiscoverReport {
            organisations_without_contact: 0,
            added: 0,
            domains: Vec::new(),
        };
        let mut audit = Vec::new();
        for org in &mut orgs {
            let has_contact = org
                .contacts
                .iter()
                .any(|c| c.role == ContactRole::Security && c.live_at(now));
            if has_contact || org.domains.is_empty() {
                continue;
            }
            report.organisations_without_contact += 1;
            for domain in org.domains.clone() {
                let outcome = discover_one(&org.id, &domain, source, keyring, now);
                for email in &outcome.added {
                    let already = org
                        .contacts
                        .iter()
                        .any(|c| c.email.eq_ignore_ascii_case(email) && c.live_at(now));
                    if already {
                        continue;
                    }
                    let location = outcome.location.clone().unwrap_or_default();
                    org.contacts.push(Contact {
                        email: email.clone(),
                        role: ContactRole::Security,
                        source: Some(ContactSource {
                            via: "security.txt".into(),
                            location: location.clone(),
                            fetched: now,
                        }),
                        expires: outcome.expires,
                        ..Default::default()
                    });
                    report.added += 1;
                    audit.push(NewAuditEntry {
                        kind: "contact-discovered".into(),
                        subject: org.id.0.clone(),
                        body: serde_json::json!({
                            "email": email,
                            "via": "security.txt",
                            "location": location,
                            "fetched": now,
                            "expires": outcome.expires,
                            "signature": outcome.signature,
                        })
                        .to_string(),
                    });
                }
                report.domains.push(outcome);
            }
        }
        if report.added > 0 {
            self.store
                .replace_organisations(&mut orgs.iter().map(Cow::Borrowed))?;
            self.store.append_audit(&audit)?;
            self.registry_changed();
        }
        Ok(report)
    }
}

fn discover_one(
    org: &OrgId,
    domain: &str,
    source: &dyn SecurityTxtSource,
    keyring: &[PublicKey],
    now: DateTime<Utc>,
) -> DomainOutcome {
    let mut outcome = DomainOutcome {
        organisation: org.0.clone(),
        domain: domain.to_string(),
        location: None,
        added: Vec::new(),
        skipped: None,
        signature: None,
        expires: None,
        notes: Vec::new(),
    };
    let (bytes, location) = match source.read(domain) {
        Ok(Some(found)) => found,
        Ok(None) => {
            outcome.skipped = Some("no security.txt".into());
            return outcome;
        }
        Err(e) => {
            outcome.skipped = Some(format!("cannot read its security.txt: {e}"));
            return outcome;
        }
    };
    outcome.location = Some(location);
    let Ok(text) = String::from_utf8(bytes) else {
        outcome.skipped = Some("its security.txt is not UTF-8 text".into());
        return outcome;
    };
    let txt = securitytxt::parse(&text, keyring);
    outcome.signature = Some(txt.signature.clone());
    outcome.expires = txt.expires;
    outcome.notes = txt
        .problems
        .iter()
        .map(|p| match p.line {
            0 => p.message.clone(),
            n => format!("line {n}: {}", p.message),
        })
        .collect();
    // RFC 9116 section 2.5.2: a file read elsewhere than its Canonical URIs may be a copy
    if let Some(location) = &outcome.location
        && !txt.canonical.is_empty()
        && location.starts_with("https://")
        && !txt.canonical.iter().any(|c| c == location)
    {
        outcome.notes.push(format!(
            "read at {location}, which is not among its Canonical URIs ({})",
            txt.canonical.join(", ")
        ));
    }
    let addresses = txt.mailto_contacts();
    for c in &txt.contacts {
        if !addresses.iter().any(|a| c.contains(a.as_str())) {
            outcome.notes.push(format!(
                "contact {c} is not an e-mail address; not recorded"
            ));
        }
    }
    if let Err(why) = txt.usable_at(now) {
        outcome.skipped = Some(format!("its contacts are not used: {why}"));
        return outcome;
    }
    if addresses.is_empty() {
        outcome.skipped = Some("it names no mailto: contact".into());
        return outcome;
    }
    outcome.added = addresses;
    outcome
}

/// Files fetched over HTTPS from each domain (`baken_csaf_sync::wellknown`).
pub struct FetchSource(pub baken_csaf_sync::wellknown::WellKnown);

impl SecurityTxtSource for FetchSource {
    fn read(&self, domain: &str) -> std::result::Result<Option<(Vec<u8>, String)>, String> {
        self.0.fetch(domain)
    }
}
