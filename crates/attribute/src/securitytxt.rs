//! `security.txt` (RFC 9116): the contacts an organisation publishes at
//! `https://<domain>/.well-known/security.txt`.
//!
//! [`parse`] reads a file as it was served — LF or CRLF line endings, `#` comments, field
//! names in any case, an OpenPGP cleartext signature around it or not — into the fields baken
//! uses (`Contact`, `Expires`, `Encryption`, `Preferred-Languages`, `Canonical`) and a list of
//! problems with their lines. Bad input is data: a malformed line is a [`Problem`], never a
//! failure. [`SecurityTxt::usable_at`] says whether its contacts may be used at a given time:
//! `Contact` and exactly one `Expires` present (RFC 9116 section 2.5), not expired, and not
//! badly signed. No IO: the caller reads or fetches the bytes and hands over the keys.
//!
//! ```
//! use baken_attribute::securitytxt::{Signature, parse};
//!
//! let file = "# our security contacts\r\n\
//!             Contact: mailto:security@zorg.example\r\n\
//!             Contact: https://zorg.example/report\r\n\
//!             Expires: 2099-12-31T23:00:00.000Z\r\n\
//!             Preferred-Languages: nl, en\r\n";
//! let txt = parse(file, &[]);
//! assert!(txt.problems.is_empty());
//! assert_eq!(txt.mailto_contacts(), ["security@zorg.example"]);
//! assert_eq!(txt.preferred_languages, ["nl", "en"]);
//! assert_eq!(txt.signature, Signature::Unsigned);
//! assert!(txt.usable_at(chrono::Utc::now()).is_ok());
//! ```

use baken_openpgp::{Cleartext, PublicKey};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How the file was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Signature {
    /// No OpenPGP cleartext signature.
    Unsigned,
    /// A good signature by the key with this fingerprint.
    Good {
        /// The primary key's fingerprint.
        fingerprint: String,
    },
    /// Signed, but by none of the keys known for it: it could not be checked.
    UnknownKey,
    /// Signed, and the signature does not verify (or cannot be read): the file is not used.
    Bad {
        /// Why.
        reason: String,
    },
}

/// One problem of a file, with the line it is on (1-based; 0 for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What a `security.txt` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityTxt {
    /// `Contact` URIs, in order (`mailto:…`, `https://…`, `tel:…`).
    pub contacts: Vec<String>,
    /// `Expires`, when present and readable.
    pub expires: Option<DateTime<Utc>>,
    /// `Encryption` URIs (where the team's key is).
    pub encryption: Vec<String>,
    /// `Preferred-Languages`, split at commas.
    pub preferred_languages: Vec<String>,
    /// `Canonical` URIs.
    pub canonical: Vec<String>,
    /// How it was signed.
    pub signature: Signature,
    /// Malformed lines and missing fields.
    pub problems: Vec<Problem>,
}

impl SecurityTxt {
    /// The e-mail addresses of the `mailto:` contacts (query parts dropped), in order.
    pub fn mailto_contacts(&self) -> Vec<String> {
        self.contacts
            .iter()
            .filter_map(|c| {
                let rest = c
                    .get(..7)?
                    .eq_ignore_ascii_case("mailto:")
                    .then(|| &c[7..])?;
                let address = rest.split('?').next()?.trim();
                (address.contains('@') && !address.contains(char::is_whitespace))
                    .then(|| address.to_string())
            })
            .collect()
    }

    /// Whether its contacts may be used at `now`; else why not.
    pub fn usable_at(&self, now: DateTime<Utc>) -> Result<(), String> {
        if let Signature::Bad { reason } = &self.signature {
            return Err(format!("its signature does not verify ({reason})"));
        }
        if self.contacts.is_empty() {
            return Err("it has no Contact field (RFC 9116 requires one)".into());
        }
        let Some(expires) = self.expires else {
            return Err("it has no readable Expires field (RFC 9116 requires exactly one)".into());
        };
        if self.problems.iter().any(|p| p.message.contains("Expires")) {
            return Err("its Expires field is given more than once".into());
        }
        if expires <= now {
            return Err(format!(
                "it expired on {}",
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        Ok(())
    }
}

/// The header line of an OpenPGP cleartext signature.
const SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";

/// Reads a `security.txt`; a cleartext-signed file is checked against `keys` (see
/// [`Signature`]) and its signed text read.
pub fn parse(text: &str, keys: &[PublicKey]) -> SecurityTxt {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Vec::new();
    let (body, signature) = if text.trim_start().starts_with(SIGNED) {
        match Cleartext::parse(text.trim_start()) {
            Ok(signed) => {
                let signature = match signed.verified_by(keys) {
                    Some(key) => Signature::Good {
                        fingerprint: key.fingerprint().to_string(),
                    },
                    // signed by a key it names and that key does not verify it: bad
                    None if signed.names_one_of(keys) => Signature::Bad {
                        reason: "the signing key does not verify it: the text was changed \
                                 or the signature is not over it"
                            .into(),
                    },
                    // signed by a key nobody gave us: it could not be checked
                    None => Signature::UnknownKey,
                };
                (signed.text(), signature)
            }
            Err(e) => (
                String::new(),
                Signature::Bad {
                    reason: e.to_string(),
                },
            ),
        }
    } else {
        (text.to_string(), Signature::Unsigned)
    };
    let mut txt = SecurityTxt {
        contacts: Vec::new(),
        expires: None,
        encryption: Vec::new(),
        preferred_languages: Vec::new(),
        canonical: Vec::new(),
        signature,
        problems: Vec::new(),
    };
    let mut expires_seen = 0;
    for (i, raw) in body.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            problems.push(Problem {
                line: line_no,
                message: format!("{line:?} is not `Field: value`"),
            });
            continue;
        };
        let value = value.trim().to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "contact" => txt.contacts.push(value),
            "encryption" => txt.encryption.push(value),
            "canonical" => txt.canonical.push(value),
            "preferred-languages" => txt.preferred_languages.extend(
                value
                    .split(',')
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
            ),
            "expires" => {
                expires_seen += 1;
                if expires_seen > 1 {
                    problems.push(Problem {
                        line: line_no,
                        message: "a second Expires field; RFC 9116 allows one".into(),
                    });
                    continue;
                }
                match DateTime::parse_from_rfc3339(&value) {
                    Ok(t) => txt.expires = Some(t.with_timezone(&Utc)),
                    Err(e) => problems.push(Problem {
                        line: line_no,
                        message: format!(
                            "Expires {value:?} is not an RFC 3339 date-time ({e}); write e.g. 2027-01-01T00:00:00Z"
                        ),
                    }),
                }
            }
            // other fields (Acknowledgments, Policy, Hiring, extensions) are not used here
            _ => {}
        }
    }
    if txt.contacts.is_empty() {
        problems.push(Problem {
            line: 0,
            message: "no Contact field".into(),
        });
    }
    if expires_seen == 0 {
        problems.push(Problem {
            line: 0,
            message: "no Expires field".into(),
        });
    }
    txt.problems = problems;
    txt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn lf_crlf_comments_and_case_read_alike() {
        let lf = "contact: mailto:a@x.example\n# note\nEXPIRES: 2030-01-01T00:00:00Z\n";
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(parse(lf, &[]), parse(&crlf, &[]));
        let txt = parse(lf, &[]);
        assert_eq!(txt.mailto_contacts(), ["a@x.example"]);
        assert_eq!(txt.expires, Some(at("2030-01-01T00:00:00Z")));
        assert!(txt.problems.is_empty(), "{:?}", txt.problems);
    }

    #[test]
    fn missing_and_expired_files_are_not_usable_saying_why() {
        let now = at("2026-06-01T00:00:00Z");
        let expired = parse(
            "Contact: mailto:a@x.example\nExpires: 2025-01-01T00:00:00Z\n",
            &[],
        );
        let why = expired.usable_at(now).unwrap_err();
        assert!(why.contains("expired on 2025-01-01"), "{why}");
        let no_expires = parse("Contact: mailto:a@x.example\n", &[]);
        assert!(no_expires.usable_at(now).unwrap_err().contains("Expires"));
        let no_contact = parse("Expires: 2030-01-01T00:00:00Z\n", &[]);
        assert!(no_contact.usable_at(now).unwrap_err().contains("Contact"));
        let twice = parse(
            "Contact: mailto:a@x.example\nExpires: 2030-01-01T00:00:00Z\nExpires: 2031-01-01T00:00:00Z\n",
            &[],
        );
        assert_eq!(twice.problems[0].line, 3);
        assert!(twice.usable_at(now).is_err());
        let garbled = parse(
            "Contact: mailto:a@x.example\nExpires: soon\nnonsense\n",
            &[],
        );
        assert_eq!(garbled.problems[0].line, 2);
        assert_eq!(garbled.problems[1].line, 3);
    }

    proptest::proptest! {
        /// Any text reads without a panic, and line endings and field-name case never
        /// change what a file says.
        #[test]
        fn any_text_reads_and_line_endings_and_case_do_not_matter(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    "(Contact|CONTACT|contact): mailto:[a-z]{1,5}@[a-z]{1,5}\\.example",
                    "(Expires|expires): 20[0-9]{2}-0[1-9]-1[0-9]T0[0-9]:00:00Z",
                    "(Preferred-Languages|Encryption|Canonical): [ -~]{0,20}",
                    "#[ -~]{0,20}",
                    "[ -~]{0,30}",
                ],
                0..12,
            )
        ) {
            let lf = lines.join("\n");
            let crlf = lines.join("\r\n");
            let a = parse(&lf, &[]);
            proptest::prop_assert_eq!(&a, &parse(&crlf, &[]));
            let contacts = lines
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once(':'))
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("contact"))
                .count();
            proptest::prop_assert_eq!(a.contacts.len(), contacts);
            proptest::prop_assert!(a.mailto_contacts().len() <= a.contacts.len());
        }
    }

    #[test]
    fn only_mailto_contacts_are_addresses() {
        let txt = parse(
            "Contact: https://x.example/report\nContact: tel:+31-70-000\n\
             Contact: MAILTO:sec@x.example?subject=hi\nContact: mailto:not an address\n\
             Expires: 2030-01-01T00:00:00Z\n",
            &[],
        );
        assert_eq!(txt.mailto_contacts(), ["sec@x.example"]);
        assert_eq!(txt.contacts.len(), 4);
    }
}
