//! The provider side of CSAF 2.0 section 7: a directory a web server can serve as
//! `https://DOMAIN/.well-known/csaf/`, holding
//!
//! * `provider-metadata.json` (requirement 7) naming the distribution, its ROLIE feed and
//!   the signing key (`public_openpgp_keys`, requirement 20);
//! * `openpgp/<FINGERPRINT>.asc`, the public key (requirement 19);
//! * per TLP label one folder (`white/`), the only one a public provider may serve without
//!   access control (requirements 4 and 8): the documents under `YYYY/` of their initial
//!   release (requirement 11) named as section 5.1 says (the tracking id in lower case,
//!   every character outside `+-a-z0-9` written `_`), each with `.sha256`, `.sha512`
//!   (requirement 18) and a detached armored OpenPGP signature `.asc` (requirement 19);
//!   `index.txt` and `changes.csv` (requirements 12 and 13, newest first); and the ROLIE
//!   feed `csaf-feed-tlp-white.json` (requirement 15).
//!
//! Publishing adds to what the directory holds: the listings are made anew from every
//! document under the TLP folder, so publishing again is the same as publishing once.
//!
//! Signing uses rpgp with an unprotected secret key (armored, as `gpg --export-secret-keys
//! --armor` writes it); the primary key signs, else its first subkey that may sign.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use pgp::composed::{Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

/// The TLP folder and label a public provider serves.
const TLP_FOLDER: &str = "white";
/// The ROLIE feed of that folder.
const FEED: &str = "csaf-feed-tlp-white.json";

/// A secret key that signs the published documents.
pub struct Signer {
    key: SignedSecretKey,
    fingerprint: String,
}

impl Signer {
    /// Reads an armored (or binary) secret key without a passphrase.
    pub fn from_bytes(bytes: &[u8]) -> Result<Signer, String> {
        let key = match SignedSecretKey::from_armor_single(bytes) {
            Ok((key, _)) => key,
            Err(_) => SignedSecretKey::from_bytes(bytes)
                .map_err(|e| format!("not an OpenPGP secret key: {e}"))?,
        };
        key.verify_bindings()
            .map_err(|e| format!("the secret key's self-signatures do not verify: {e}"))?;
        let fingerprint = format!("{:X}", key.primary_key.fingerprint());
        let signer = Signer { key, fingerprint };
        // a signature made now shows the key is usable (not protected by a passphrase)
        signer.sign(b"")?;
        Ok(signer)
    }

    /// The primary key's fingerprint, hex in upper case.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public key, armored.
    pub fn public_key(&self) -> Result<String, String> {
        self.key
            .to_public_key()
            .to_armored_string(Default::default())
            .map_err(|e| format!("cannot write the public key: {e}"))
    }

    /// A detached armored signature of `data`.
    pub fn sign(&self, data: &[u8]) -> Result<String, String> {
        let rng = rand::thread_rng();
        let password = Password::empty();
        let primary_signs = self
            .key
            .details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter())
            .chain(self.key.details.direct_signatures.iter())
            .any(|s| s.key_flags().sign());
        let signature = if primary_signs {
            DetachedSignature::sign_binary_data(
                rng,
                &self.key.primary_key,
                &password,
                HashAlgorithm::Sha256,
                data,
            )
        } else {
            let sub = self
                .key
                .secret_subkeys
                .iter()
                .find(|s| s.signatures.iter().any(|b| b.key_flags().sign()))
                .ok_or_else(|| "the key has no signing key or subkey".to_string())?;
            DetachedSignature::sign_binary_data(
                rng,
                &sub.key,
                &password,
                HashAlgorithm::Sha256,
                data,
            )
        };
        signature
            .map_err(|e| {
                format!("cannot sign (a key protected by a passphrase is not supported): {e}")
            })?
            .to_armored_string(Default::default())
            .map_err(|e| format!("cannot write the signature: {e}"))
    }
}

/// Who publishes, and where the directory is served.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The URL the directory is served at (`https://csirt.example/.well-known/csaf`),
    /// without a trailing slash.
    pub base_url: String,
    /// `publisher` of the provider metadata: `{"category", "name", "namespace"}`, as in
    /// the documents.
    pub publisher: Value,
}

/// One document written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    /// Its tracking id.
    pub id: String,
    /// Its path under the directory (`white/2020/syn-2019-0001.json`).
    pub path: String,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// What a publication wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The documents written now.
    pub published: Vec<Published>,
    /// Every document the TLP folder lists after it (earlier publications included).
    pub listed: usize,
    /// The fingerprint of the signing key.
    pub fingerprint: String,
    /// The provider metadata's path.
    pub provider_metadata: PathBuf,
}

/// The file name section 5.1 gives a document with this tracking id.
pub fn file_name(id: &str) -> String {
    let name: String = id
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.json")
}

/// What publishing needs of a document.
struct Meta {
    id: String,
    title: String,
    initial: DateTime<Utc>,
    current: DateTime<Utc>,
}

fn meta(doc: &Value) -> Result<Meta, String> {
    let text = |p: &str| doc.pointer(p).and_then(Value::as_str);
    let id = text("/document/tracking/id").ok_or("no /document/tracking/id")?;
    let time = |p: &str| -> Result<DateTime<Utc>, String> {
        let t = text(p).ok_or_else(|| format!("no {p}"))?;
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{p}: not an RFC 3339 time: {e}"))
    };
    Ok(Meta {
        id: id.to_string(),
        title: text("/document/title").unwrap_or(id).to_string(),
        initial: time("/document/tracking/initial_release_date")?,
        current: time("/document/tracking/current_release_date")?,
    })
}

/// The TLP label of a CSAF document, upper case; `None` when it has none.
pub fn tlp_label(doc: &Value) -> Option<String> {
    doc.pointer("/document/distribution/tlp/label")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
}

/// Writes `documents` (CSAF 2.0 JSON, each already valid) into the provider directory
/// `dir`, signs them with `signer`, and makes the listings, the feed and the provider
/// metadata anew. A document whose TLP label is not WHITE (CLEAR) is refused before
/// anything is written: a public directory serves TLP:WHITE only.
pub fn write_directory(
    dir: &Path,
    provider: &Provider,
    documents: &[Vec<u8>],
    signer: &Signer,
    now: DateTime<Utc>,
) -> Result<Report, String> {
    let mut parsed = Vec::with_capacity(documents.len());
    for bytes in documents {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("a document is not JSON: {e}"))?;
        let m = meta(&doc)?;
        match tlp_label(&doc).as_deref() {
            Some("WHITE" | "CLEAR") => {}
            other => {
                return Err(format!(
                    "{} is TLP:{}: a public provider directory serves TLP:WHITE documents only (CSAF 2.0 section 7.1.8); publish others through an access-controlled distribution",
                    m.id,
                    other.unwrap_or("(none)")
                ));
            }
        }
        parsed.push((m, bytes));
    }
    let base = provider.base_url.trim_end_matches('/');
    let folder = dir.join(TLP_FOLDER);
    let mut published = Vec::new();
    for (m, bytes) in &parsed {
        let year = m.initial.format("%Y").to_string();
        let name = file_name(&m.id);
        let rel = format!("{TLP_FOLDER}/{year}/{name}");
        let path = folder.join(&year).join(&name);
        write(&path, bytes)?;
        let sha256 = hex(&Sha256::digest(bytes));
        write(
            &with_suffix(&path, ".sha256"),
            format!("{sha256}  {name}\n").as_bytes(),
        )?;
        write(
            &with_suffix(&path, ".sha512"),
            format!("{}  {name}\n", hex(&Sha512::digest(bytes))).as_bytes(),
        )?;
        write(&with_suffix(&path, ".asc"), signer.sign(bytes)?.as_bytes())?;
        published.push(Published {
            id: m.id.clone(),
            path: rel,
            sha256,
        });
    }

    // every document the folder holds, for the listings
    let mut all = Vec::new();
    collect(&folder, &folder, &mut all)?;
    let mut listed = Vec::new();
    for rel in all {
        let bytes = std::fs::read(folder.join(&rel)).map_err(|e| format!("{rel}: {e}"))?;
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        if let Ok(m) = meta(&doc) {
            listed.push((rel, m));
        }
    }
    listed.sort_by(|a, b| b.1.current.cmp(&a.1.current).then(a.0.cmp(&b.0)));
    let stamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);

    let mut index: Vec<&str> = listed.iter().map(|(rel, _)| rel.as_str()).collect();
    index.sort();
    write(
        &folder.join("index.txt"),
        index
            .iter()
            .map(|r| format!("{r}\n"))
            .collect::<String>()
            .as_bytes(),
    )?;
    let changes: String = listed
        .iter()
        .map(|(rel, m)| format!("\"{rel}\",\"{}\"\n", stamp(&m.current)))
        .collect();
    write(&folder.join("changes.csv"), changes.as_bytes())?;

    let folder_url = format!("{base}/{TLP_FOLDER}");
    let entries: Vec<Value> = listed
        .iter()
        .map(|(rel, m)| {
            let url = format!("{folder_url}/{rel}");
            json!({
                "id": m.id,
                "title": m.title,
                "link": [
                    {"rel": "self", "href": url},
                    {"rel": "hash", "href": format!("{url}.sha256")},
                    {"rel": "hash", "href": format!("{url}.sha512")},
                    {"rel": "signature", "href": format!("{url}.asc")},
                ],
                "published": stamp(&m.initial),
                "updated": stamp(&m.current),
                "summary": {"content": m.title},
                "content": {"type": "application/json", "src": url},
                "format": {
                    "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json",
                    "version": "2.0"
                },
            })
        })
        .collect();
    let feed_url = format!("{folder_url}/{FEED}");
    let feed = json!({"feed": {
        "id": format!("{}-tlp-white", namespace_id(&provider.publisher)),
        "title": format!("{} CSAF feed (TLP:WHITE)", publisher_name(&provider.publisher)),
        "link": [{"rel": "self", "href": feed_url}],
        "category": [
            {"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}
        ],
        "updated": stamp(&now),
        "entry": entries,
    }});
    write(&folder.join(FEED), &pretty(&feed))?;

    let key_rel = format!("openpgp/{}.asc", signer.fingerprint());
    write(&dir.join(&key_rel), signer.public_key()?.as_bytes())?;
    let metadata = json!({
        "canonical_url": format!("{base}/provider-metadata.json"),
        "distributions": [{
            "directory_url": format!("{folder_url}/"),
            "rolie": {"feeds": [{
                "summary": "TLP:WHITE advisories",
                "tlp_label": "WHITE",
                "url": feed_url,
            }]},
        }],
        "last_updated": stamp(&now),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "public_openpgp_keys": [{
            "fingerprint": signer.fingerprint(),
            "url": format!("{base}/{key_rel}"),
        }],
        "publisher": provider.publisher,
        "role": "csaf_provider",
    });
    let provider_metadata = dir.join("provider-metadata.json");
    write(&provider_metadata, &pretty(&metadata))?;
    Ok(Report {
        published,
        listed: listed.len(),
        fingerprint: signer.fingerprint().to_string(),
        provider_metadata,
    })
}

fn publisher_name(publisher: &Value) -> &str {
    publisher["name"].as_str().unwrap_or("CSAF provider")
}

/// A feed id from the publisher's namespace: `csirt-example`.
fn namespace_id(publisher: &Value) -> String {
    let ns = publisher["namespace"].as_str().unwrap_or("csaf");
    let host = ns.split("://").nth(1).unwrap_or(ns).trim_end_matches('/');
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The JSON documents under `folder` (the feed excepted), as paths relative to `root`.
fn collect(root: &Path, folder: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let entries = match std::fs::read_dir(folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", folder.display())),
    };
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: {e}", folder.display()))?
            .path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "json")
            && path.file_name().is_some_and(|n| n != FEED)
            && let Ok(rel) = path.strip_prefix(root)
        {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes a file whole: a temporary file beside it, then renamed over it.
fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let tmp = with_suffix(path, ".tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).expect("JSON values serialise");
    out.push(b'\n');
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_section_5_1() {
        assert_eq!(file_name("SYN-2019-0001"), "syn-2019-0001.json");
        assert_eq!(file_name("RHSA-2021:5186"), "rhsa-2021_5186.json");
        assert_eq!(
            file_name("cisco-sa-20180328 smi2"),
            "cisco-sa-20180328_smi2.json"
        );
    }
}
