//! Fetches CSAF 2.0 advisories from a provider, following the discovery of CSAF 2.0
//! section 7, and only what changed since the last sync.
//!
//! 1. **Where to start** ([`provider_metadata_url`]): an `https://…` (or loopback
//!    `http://…`) URL is taken as the URL of the provider's `provider-metadata.json`; a
//!    bare domain `csaf.example` becomes
//!    `https://csaf.example/.well-known/csaf/provider-metadata.json`. When that answers 404,
//!    the `CSAF:` fields of `https://csaf.example/.well-known/security.txt` are tried in
//!    order. (The DNS path `csaf.data.security.domain.tld` is not followed.)
//! 2. **What the provider lists**: every `distributions[]` entry of the metadata — its
//!    ROLIE feeds (`rolie.feeds[].url`: each `feed.entry[]` names its document in
//!    `content.src`, its `updated` time and its hash files as `rel: hash` links) and its
//!    directory (`directory_url`: `changes.csv`, rows of `"path","timestamp"`, and
//!    `index.txt`, one path a line; a document only in `index.txt` has no timestamp).
//! 3. **What changed**: a document whose listed timestamp equals the one in the previous
//!    [`SyncState`] is *unchanged* and not fetched. A document without a timestamp is
//!    unchanged when its `.sha256` file names the SHA-256 seen last time. A document whose
//!    timestamp moved but whose bytes did not is counted unchanged too (its new timestamp
//!    is kept).
//! 4. **Checks, per document**: its hash files (the ROLIE `hash` links, else
//!    `<url>.sha256`, then `<url>.sha512` if there is no `.sha256`; each `<hex>  <name>`)
//!    must match the bytes; the bytes must be JSON and look like CSAF
//!    (`document.csaf_version`, see [`baken_advisory::detect`]). A document failing any of
//!    these is [`Skipped`] with a [`SkipReason`]; the new state keeps what the previous one
//!    said about it (if anything), so the next sync tries it again. Validation against the
//!    CSAF schema is the importer's job.
//! 5. **Signature** (CSAF 2.0 requirements 19 and 20): the document's OpenPGP signature
//!    (the ROLIE `signature` link, else `<url>.asc`) must verify against one of the keys
//!    the provider metadata publishes under `public_openpgp_keys`. Those keys are fetched
//!    once per sync, when the first signature is found, and each is used only if the key
//!    served has the published fingerprint ([`SyncReport::keys`] says what became of each).
//!    A document with a signature that does not verify — tampered with, signed by another
//!    key, or no published key usable — is refused ([`SkipReason::BadSignature`]); one
//!    without a signature is fetched with [`FetchedDoc::signed_by`] `None`, or refused
//!    ([`SkipReason::Unsigned`]) with [`Options::require_signatures`].
//!
//! A key or signing subkey that has expired (by its latest self-signature or binding), or
//! had expired when the signature was made, is not used, and the refusal names its
//! fingerprint and the day it expired.
//!
//! [`publish`] is the other side: it writes a provider directory that this sync reads.
//!
//! The sync never fails on one document, one feed or one malformed row: those are reported
//! in [`SyncReport::skipped`]. Only an unusable start (bad URL, metadata that cannot be
//! fetched or read) is a [`SyncError`].
//!
//! **Network policy** ([`Options`]): every request carries `User-Agent: baken/<version>`,
//! a connect timeout and an overall timeout per request; bodies are capped
//! ([`Options::max_document_size`], 20 MiB by default); plain `http://` is refused except
//! to loopback addresses unless [`Options::allow_http`] is set, for every URL and every
//! redirect. Documents with no hash file are skipped unless [`Options::accept_unhashed`]
//! is set.
//!
//! The caller persists the state (it is `serde`-serialisable) and imports the bytes:
//!
//! ```no_run
//! use baken_csaf_sync::{sync, Options, SyncState};
//!
//! let previous = SyncState::default(); // or read back from the last run
//! let report = sync("csaf.example", &previous, &Options::default()).unwrap();
//! for doc in &report.fetched {
//!     // hand doc.bytes to the advisory importer
//!     println!("{} {}", doc.url, doc.sha256);
//! }
//! for skipped in &report.skipped {
//!     eprintln!("skipped {}: {}", skipped.url, skipped.reason);
//! }
//! let saved = serde_json::to_string(&report.state).unwrap();
//! # let _ = saved;
//! ```
//!
//! ```
//! assert_eq!(
//!     baken_csaf_sync::provider_metadata_url("csaf.example").unwrap().as_str(),
//!     "https://csaf.example/.well-known/csaf/provider-metadata.json"
//! );
//! ```

mod http;
mod openpgp;
mod parse;
pub mod publish;
pub mod wellknown;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use url::Url;

use crate::http::{Client, FetchError};
use crate::parse::Listed;

/// How a sync talks to the network and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Accept a document that has no hash file (neither listed nor at `<url>.sha256` /
    /// `<url>.sha512`). Off by default: CSAF 2.0 requirement 18 asks every provider for
    /// one, so a missing hash file is skipped with [`SkipReason::HashMissing`]. When on,
    /// such a document is fetched with an empty [`FetchedDoc::verified_by`].
    pub accept_unhashed: bool,
    /// Allow plain `http://` to any host. Off by default: only `https://`, and `http://`
    /// to loopback addresses (127.0.0.0/8, `::1`, `localhost`) for local mirrors and
    /// tests.
    pub allow_http: bool,
    /// The largest document accepted, in bytes (20 MiB by default). Larger ones are
    /// skipped with [`SkipReason::TooLarge`].
    pub max_document_size: u64,
    /// The largest provider metadata, ROLIE feed, `changes.csv` or `index.txt` accepted,
    /// in bytes (256 MiB by default: a large vendor's feed lists tens of thousands of
    /// entries).
    pub max_listing_size: u64,
    /// Time allowed to open a connection (10 s by default).
    pub connect_timeout: Duration,
    /// Time allowed for one request from start to the last byte (120 s by default).
    pub timeout: Duration,
    /// Use a proxy from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` (honouring `NO_PROXY`)
    /// if set. On by default.
    pub use_env_proxy: bool,
    /// Refuse a document that has no OpenPGP signature ([`SkipReason::Unsigned`]). Off by
    /// default: an unsigned document is fetched with [`FetchedDoc::signed_by`] `None`,
    /// for the caller to report. A signature that does not verify is refused either way.
    pub require_signatures: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            accept_unhashed: false,
            allow_http: false,
            max_document_size: 20 * 1024 * 1024,
            max_listing_size: 256 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            use_env_proxy: true,
            require_signatures: false,
        }
    }
}

/// Hash files are small; anything larger is not one.
const MAX_HASH_FILE_SIZE: u64 = 4096;

/// The largest signature file (`.asc`) or published key accepted, in bytes.
const MAX_OPENPGP_SIZE: u64 = 1024 * 1024;

/// What the previous sync saw, to fetch only what changed. Persisted by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncState {
    /// The `provider-metadata.json` the state was last synced from.
    #[serde(default)]
    pub provider_metadata: Option<String>,
    /// Per document URL, what was accepted last. Documents the provider no longer lists
    /// are kept (a feed that is down for a day must not cause a full refetch).
    #[serde(default)]
    pub documents: BTreeMap<String, DocState>,
}

/// One accepted document in a [`SyncState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocState {
    /// The provider's timestamp for it (`changes.csv` or ROLIE `updated`), if it gave one.
    pub updated: Option<DateTime<Utc>>,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
}

/// The outcome of one sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The `provider-metadata.json` followed.
    pub provider_metadata: String,
    /// Documents that are new or changed, checked, for the caller to import.
    pub fetched: Vec<FetchedDoc>,
    /// Documents, feeds and listing rows that were not used, each with why.
    pub skipped: Vec<Skipped>,
    /// Documents the provider lists that did not change since the previous sync.
    pub unchanged: usize,
    /// What became of each key the provider metadata publishes; empty when no document
    /// had a signature to check (the keys are fetched only then).
    pub keys: Vec<KeyReport>,
    /// The state to persist and pass to the next sync.
    pub state: SyncState,
}

impl SyncReport {
    /// The documents refused for their signature: a signature that does not verify, or
    /// none with [`Options::require_signatures`].
    pub fn refused(&self) -> impl Iterator<Item = &Skipped> {
        self.skipped.iter().filter(|s| s.reason.is_refusal())
    }

    /// The fetched documents that carry no signature.
    pub fn unsigned(&self) -> impl Iterator<Item = &FetchedDoc> {
        self.fetched.iter().filter(|d| d.signed_by.is_none())
    }
}

/// A key of the provider metadata's `public_openpgp_keys`, and whether it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    /// Where the provider publishes it.
    pub url: String,
    /// The fingerprint the provider metadata gives for it, upper-case hex.
    pub published_fingerprint: Option<String>,
    /// The fingerprint of the key used, or why it is not used (not found, not a key, a
    /// fingerprint other than the published one, revoked).
    pub outcome: Result<String, String>,
}

/// A new or changed document that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedDoc {
    /// Where it was fetched from.
    pub url: String,
    /// Its bytes, as served.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The provider's timestamp for it, if it gave one.
    pub updated: Option<DateTime<Utc>>,
    /// The hash files that matched; empty only with [`Options::accept_unhashed`].
    pub verified_by: Vec<HashAlgorithm>,
    /// The fingerprint (upper-case hex) of the published key whose signature verified;
    /// `None` when the document has no signature (only without
    /// [`Options::require_signatures`]).
    pub signed_by: Option<String>,
}

/// A document (or feed, or listing) that was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The URL of the document, feed or listing file.
    pub url: String,
    /// Why.
    pub reason: SkipReason,
}

/// A hash algorithm of CSAF hash files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// `.sha256`.
    Sha256,
    /// `.sha512`.
    Sha512,
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha512 => "SHA-512",
        })
    }
}

/// Why a document, feed or listing was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The server answered with a status other than 200 (404: not found).
    Http {
        /// The HTTP status.
        status: u16,
    },
    /// Connection, TLS, timeout or protocol failure.
    Network(String),
    /// The URL is plain `http://` to a host that is not loopback, and
    /// [`Options::allow_http`] is off.
    Insecure,
    /// The URL (or a redirect target) is not usable.
    BadUrl(String),
    /// The body is larger than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// No hash file was found and [`Options::accept_unhashed`] is off.
    HashMissing,
    /// A hash file exists but could not be fetched or read.
    HashUnusable {
        /// The hash file's URL.
        url: String,
        /// What was wrong with it.
        problem: String,
    },
    /// The bytes do not match a hash file.
    HashMismatch {
        /// Which hash.
        algorithm: HashAlgorithm,
        /// What the hash file says, lower-case hex.
        expected: String,
        /// What the bytes hash to, lower-case hex.
        actual: String,
    },
    /// The bytes are not JSON.
    NotJson(String),
    /// The bytes are JSON but not a CSAF document (no `document.csaf_version`).
    NotCsaf,
    /// A ROLIE feed, `changes.csv` or `index.txt` (or a row of it) could not be read.
    BadListing(String),
    /// The document has no OpenPGP signature and [`Options::require_signatures`] is on.
    Unsigned,
    /// The document's OpenPGP signature does not verify against a key the provider
    /// publishes (the document was altered, another key signed it, no published key is
    /// usable, or the signature file cannot be read): refused.
    BadSignature(String),
}

impl SkipReason {
    /// Whether the document was refused for its signature, as opposed to skipped for
    /// now.
    pub fn is_refusal(&self) -> bool {
        matches!(self, SkipReason::Unsigned | SkipReason::BadSignature(_))
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Http { status: 404 } => f.write_str("not found (http 404)"),
            SkipReason::Http { status } => write!(f, "http status {status}"),
            SkipReason::Network(e) => write!(f, "network error: {e}"),
            SkipReason::Insecure => f.write_str(
                "plain http to a non-loopback host is refused: use https, or allow http explicitly",
            ),
            SkipReason::BadUrl(e) => write!(f, "unusable url: {e}"),
            SkipReason::TooLarge { limit } => write!(f, "larger than the limit of {limit} bytes"),
            SkipReason::HashMissing => f.write_str(
                "no .sha256 or .sha512 hash file: the provider must publish one, or accept unhashed documents explicitly",
            ),
            SkipReason::HashUnusable { url, problem } => {
                write!(f, "hash file {url} is unusable: {problem}")
            }
            SkipReason::HashMismatch {
                algorithm,
                expected,
                actual,
            } => write!(
                f,
                "{algorithm} mismatch: the hash file says {expected}, the document hashes to {actual}"
            ),
            SkipReason::NotJson(e) => write!(f, "not JSON: {e}"),
            SkipReason::NotCsaf => f.write_str("JSON but not a CSAF document (no document.csaf_version)"),
            SkipReason::BadListing(e) => write!(f, "unreadable listing: {e}"),
            SkipReason::Unsigned => f.write_str(
                "no OpenPGP signature (.asc) and signatures are required",
            ),
            SkipReason::BadSignature(e) => write!(f, "refused: {e}"),
        }
    }
}

impl From<FetchError> for SkipReason {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Status(status) => SkipReason::Http { status },
            FetchError::Insecure(_) => SkipReason::Insecure,
            FetchError::BadUrl(e) => SkipReason::BadUrl(e),
            FetchError::TooLarge(limit) => SkipReason::TooLarge { limit },
            FetchError::TooManyRedirects => SkipReason::Network(e.to_string()),
            FetchError::Network(e) => SkipReason::Network(e),
        }
    }
}

/// Why a sync could not start.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The source is neither a URL nor a domain.
    #[error(
        "{input:?} is neither a provider-metadata.json URL nor a domain: {problem}; give https://…/provider-metadata.json or a domain such as csaf.example"
    )]
    BadSource {
        /// What was given.
        input: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The provider metadata could not be fetched.
    #[error("cannot fetch provider metadata {url}: {problem}")]
    Fetch {
        /// The URL tried (the last one, where several were).
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// The provider metadata is not a readable provider-metadata.json.
    #[error(
        "provider metadata {url} is not a CSAF provider-metadata.json: {problem}; check the URL"
    )]
    BadMetadata {
        /// Its URL.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The URL of the provider metadata for `source`: an `http(s)://` URL as it is, a bare
/// domain (optionally with a port) as `https://DOMAIN/.well-known/csaf/provider-metadata.json`.
pub fn provider_metadata_url(source: &str) -> Result<Url, SyncError> {
    let source = source.trim();
    let bad = |problem: String| SyncError::BadSource {
        input: source.to_string(),
        problem,
    };
    if source.contains("://") {
        let url = Url::parse(source).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        return Ok(url);
    }
    if source.is_empty()
        || source.contains(['/', '?', '#', '@'])
        || source.contains(char::is_whitespace)
    {
        return Err(bad("not a domain".into()));
    }
    let url = Url::parse(&format!(
        "https://{source}/.well-known/csaf/provider-metadata.json"
    ))
    .map_err(|e| bad(e.to_string()))?;
    Ok(url)
}

/// Syncs from `source` (a provider-metadata.json URL or a domain, see
/// [`provider_metadata_url`]), fetching only what changed since `previous`.
pub fn sync(
    source: &str,
    previous: &SyncState,
    options: &Options,
) -> Result<SyncReport, SyncError> {
    let client = Client::new(options);
    let start = provider_metadata_url(source)?;
    let is_domain = !source.contains("://");
    let (metadata_url, bytes) = fetch_metadata(&client, &start, is_domain, options)?;
    let metadata: parse::ProviderMetadata =
        serde_json::from_slice(&bytes).map_err(|e| SyncError::BadMetadata {
            url: metadata_url.to_string(),
            problem: e.to_string(),
        })?;
    tracing::info!(provider_metadata = %metadata_url, distributions = metadata.distributions.len(), "csaf sync");

    let mut sync = Sync {
        client: &client,
        options,
        previous,
        metadata_url: metadata_url.clone(),
        published_keys: metadata.public_openpgp_keys.clone(),
        keys: None,
        report: SyncReport {
            provider_metadata: metadata_url.to_string(),
            fetched: Vec::new(),
            skipped: Vec::new(),
            unchanged: 0,
            keys: Vec::new(),
            state: SyncState {
                provider_metadata: Some(metadata_url.to_string()),
                documents: previous.documents.clone(),
            },
        },
    };
    let listed = sync.list(&metadata_url, &metadata);
    let mut seen = HashSet::new();
    for doc in listed {
        if seen.insert(doc.url.clone()) {
            sync.document(doc);
        }
    }
    Ok(sync.report)
}

/// Fetches the provider metadata; for a domain whose well-known URL answers 404, tries the
/// `CSAF:` fields of its `security.txt`.
fn fetch_metadata(
    client: &Client,
    start: &Url,
    is_domain: bool,
    options: &Options,
) -> Result<(Url, Vec<u8>), SyncError> {
    let fetch_error = |url: &Url, e: FetchError| SyncError::Fetch {
        url: url.to_string(),
        problem: e.to_string(),
    };
    match client.get(start, options.max_listing_size) {
        Ok(bytes) => return Ok((start.clone(), bytes)),
        Err(FetchError::Status(404)) if is_domain => {}
        Err(e) => return Err(fetch_error(start, e)),
    }
    let security_txt = start
        .join("/.well-known/security.txt")
        .expect("a fixed path joins");
    let text = client
        .get(&security_txt, MAX_HASH_FILE_SIZE * 16)
        .map_err(|e| SyncError::Fetch {
            url: start.to_string(),
            problem: format!("not found (http 404), and {security_txt} gave {e}"),
        })?;
    let candidates = parse::security_txt(&security_txt, &String::from_utf8_lossy(&text));
    let mut last = fetch_error(&security_txt, FetchError::BadUrl("no CSAF: field".into()));
    for url in candidates {
        match client.get(&url, options.max_listing_size) {
            Ok(bytes) => return Ok((url, bytes)),
            Err(e) => last = fetch_error(&url, e),
        }
    }
    Err(last)
}

struct Sync<'a> {
    client: &'a Client,
    options: &'a Options,
    previous: &'a SyncState,
    /// The provider metadata's URL, which key URLs are relative to.
    metadata_url: Url,
    /// `public_openpgp_keys` of the provider metadata.
    published_keys: Vec<parse::PublishedKey>,
    /// The published keys that are usable, with their fingerprints; fetched when the
    /// first signature is checked.
    keys: Option<Vec<(pgp::composed::SignedPublicKey, String)>>,
    report: SyncReport,
}

impl Sync<'_> {
    fn skip(&mut self, url: impl Into<String>, reason: SkipReason) {
        let url = url.into();
        tracing::warn!(%url, %reason, "csaf sync skipped");
        self.report.skipped.push(Skipped { url, reason });
    }

    /// Every document the distributions list, ROLIE first, in the providers' order.
    fn list(&mut self, metadata_url: &Url, metadata: &parse::ProviderMetadata) -> Vec<Listed> {
        let mut listed = Vec::new();
        for dist in &metadata.distributions {
            for feed in dist.rolie.iter().flat_map(|r| &r.feeds) {
                listed.extend(self.rolie_feed(metadata_url, &feed.url));
            }
            if let Some(dir) = &dist.directory_url {
                listed.extend(self.directory(metadata_url, dir));
            }
        }
        listed
    }

    fn rolie_feed(&mut self, base: &Url, href: &str) -> Vec<Listed> {
        let url = match base.join(href) {
            Ok(url) => url,
            Err(e) => {
                self.skip(href, SkipReason::BadUrl(e.to_string()));
                return Vec::new();
            }
        };
        let bytes = match self.client.get(&url, self.options.max_listing_size) {
            Ok(b) => b,
            Err(e) => {
                self.skip(url, e.into());
                return Vec::new();
            }
        };
        match parse::rolie_feed(&url, &bytes) {
            Ok((listed, problems)) => {
                for p in problems {
                    self.skip(url.as_str(), SkipReason::BadListing(p));
                }
                listed
            }
            Err(e) => {
                self.skip(
                    url,
                    SkipReason::BadListing(format!("not a ROLIE feed: {e}")),
                );
                Vec::new()
            }
        }
    }

    /// `changes.csv` (with timestamps), then whatever only `index.txt` lists.
    fn directory(&mut self, base: &Url, href: &str) -> Vec<Listed> {
        let mut href = href.to_string();
        if !href.ends_with('/') {
            href.push('/');
        }
        let dir = match base.join(&href) {
            Ok(url) => url,
            Err(e) => {
                self.skip(href, SkipReason::BadUrl(e.to_string()));
                return Vec::new();
            }
        };
        let mut listed = Vec::new();
        let changes = dir.join("changes.csv").expect("a fixed name joins");
        match self.client.get(&changes, self.options.max_listing_size) {
            Ok(bytes) => {
                let (rows, problems) = parse::changes_csv(&dir, &bytes);
                for p in problems {
                    self.skip(changes.as_str(), SkipReason::BadListing(p));
                }
                listed = rows;
            }
            Err(e) => self.skip(changes.as_str(), e.into()),
        }
        let index = dir.join("index.txt").expect("a fixed name joins");
        match self.client.get(&index, self.options.max_listing_size) {
            Ok(bytes) => {
                let (rows, problems) = parse::index_txt(&dir, &String::from_utf8_lossy(&bytes));
                for p in problems {
                    self.skip(index.as_str(), SkipReason::BadListing(p));
                }
                let known: HashSet<Url> = listed.iter().map(|l| l.url.clone()).collect();
                listed.extend(rows.into_iter().filter(|r| !known.contains(&r.url)));
            }
            // index.txt is optional where changes.csv was read
            Err(FetchError::Status(404)) if !listed.is_empty() => {}
            Err(e) => self.skip(index.as_str(), e.into()),
        }
        listed
    }

    fn document(&mut self, doc: Listed) {
        let key = doc.url.to_string();
        let before = self.previous.documents.get(&key);
        if let (Some(before), Some(updated)) = (before, doc.updated)
            && before.updated == Some(updated)
        {
            self.report.unchanged += 1;
            return;
        }

        let hashes = match self.hashes(&doc) {
            Ok(h) => h,
            Err(reason) => return self.skip(key, reason),
        };
        // no timestamp to go by: the .sha256 file tells whether it changed
        if doc.updated.is_none()
            && let Some(before) = before
            && hashes
                .iter()
                .any(|(a, hex)| *a == HashAlgorithm::Sha256 && *hex == before.sha256)
        {
            self.report.unchanged += 1;
            return;
        }

        let bytes = match self.client.get(&doc.url, self.options.max_document_size) {
            Ok(b) => b,
            Err(e) => return self.skip(key, e.into()),
        };
        if hashes.is_empty() && !self.options.accept_unhashed {
            return self.skip(key, SkipReason::HashMissing);
        }
        let sha256 = hex(&Sha256::digest(&bytes));
        let mut verified_by = Vec::new();
        for (algorithm, expected) in hashes {
            let actual = match algorithm {
                HashAlgorithm::Sha256 => sha256.clone(),
                HashAlgorithm::Sha512 => hex(&Sha512::digest(&bytes)),
            };
            if actual != expected {
                return self.skip(
                    key,
                    SkipReason::HashMismatch {
                        algorithm,
                        expected,
                        actual,
                    },
                );
            }
            if !verified_by.contains(&algorithm) {
                verified_by.push(algorithm);
            }
        }
        let value: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return self.skip(key, SkipReason::NotJson(e.to_string())),
        };
        if baken_advisory::detect(&value) != Some(baken_advisory::Format::Csaf) {
            return self.skip(key, SkipReason::NotCsaf);
        }
        let signed_by = match self.signature(&doc, &bytes) {
            Ok(Some(fingerprint)) => Some(fingerprint),
            Ok(None) if self.options.require_signatures => {
                return self.skip(key, SkipReason::Unsigned);
            }
            Ok(None) => {
                tracing::warn!(url = %key, "csaf document has no OpenPGP signature");
                None
            }
            Err(reason) => return self.skip(key, reason),
        };

        let same_bytes = before.is_some_and(|b| b.sha256 == sha256);
        self.report.state.documents.insert(
            key.clone(),
            DocState {
                updated: doc.updated,
                sha256: sha256.clone(),
            },
        );
        if same_bytes {
            self.report.unchanged += 1;
            return;
        }
        tracing::debug!(url = %key, %sha256, "csaf sync fetched");
        self.report.fetched.push(FetchedDoc {
            url: key,
            bytes,
            sha256,
            updated: doc.updated,
            verified_by,
            signed_by,
        });
    }

    /// The document's signature, checked: the fingerprint of the published key that made
    /// it, `None` when there is no signature file, or why it is refused.
    fn signature(&mut self, doc: &Listed, bytes: &[u8]) -> Result<Option<String>, SkipReason> {
        let url = match &doc.signature {
            Some(url) => url.clone(),
            None => Url::parse(&format!("{}.asc", doc.url))
                .map_err(|e| SkipReason::BadUrl(e.to_string()))?,
        };
        let asc = match self.client.get(&url, MAX_OPENPGP_SIZE) {
            Ok(b) => b,
            Err(FetchError::Status(404)) => return Ok(None),
            Err(e) => {
                return Err(SkipReason::BadSignature(format!(
                    "signature {url} could not be fetched: {e}"
                )));
            }
        };
        let keys = self.keys();
        if keys.is_empty() {
            let why = if self.report.keys.is_empty() {
                "the provider metadata publishes no public_openpgp_keys".to_string()
            } else {
                self.report
                    .keys
                    .iter()
                    .filter_map(|k| k.outcome.as_ref().err().map(|e| format!("{}: {e}", k.url)))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            return Err(SkipReason::BadSignature(format!(
                "signature {url} cannot be checked: no published key is usable ({why})"
            )));
        }
        openpgp::verify(keys, bytes, &asc)
            .map(Some)
            .map_err(|e| SkipReason::BadSignature(format!("signature {url}: {e}")))
    }

    /// The usable published keys, fetched and checked on first use.
    fn keys(&mut self) -> &[(pgp::composed::SignedPublicKey, String)] {
        if self.keys.is_none() {
            let mut usable = Vec::new();
            for published in &self.published_keys {
                let fingerprint = published
                    .fingerprint
                    .as_deref()
                    .map(openpgp::normalise_fingerprint);
                let outcome = self
                    .metadata_url
                    .join(&published.url)
                    .map_err(|e| format!("unusable url: {e}"))
                    .and_then(|url| {
                        self.client
                            .get(&url, MAX_OPENPGP_SIZE)
                            .map_err(|e| e.to_string())
                    })
                    .and_then(|bytes| openpgp::published_key(&bytes, fingerprint.as_deref()));
                let outcome = match outcome {
                    Ok((key, fp)) => {
                        usable.push((key, fp.clone()));
                        Ok(fp)
                    }
                    Err(e) => {
                        tracing::warn!(url = %published.url, problem = %e, "csaf provider key unusable");
                        Err(e)
                    }
                };
                self.report.keys.push(KeyReport {
                    url: published.url.clone(),
                    published_fingerprint: fingerprint,
                    outcome,
                });
            }
            self.keys = Some(usable);
        }
        self.keys.as_deref().unwrap_or_default()
    }

    /// The digests the document's hash files name. Listed hash links must all be
    /// usable; without any, `<url>.sha256` is probed, then `<url>.sha512`. Empty when
    /// there is none.
    fn hashes(&self, doc: &Listed) -> Result<Vec<(HashAlgorithm, String)>, SkipReason> {
        let mut found = Vec::new();
        if !doc.hashes.is_empty() {
            for url in &doc.hashes {
                match self.hash_file(url)? {
                    Some(h) => found.push(h),
                    None => {
                        return Err(SkipReason::HashUnusable {
                            url: url.to_string(),
                            problem: "listed in the feed but not found (http 404)".into(),
                        });
                    }
                }
            }
            return Ok(found);
        }
        for ext in ["sha256", "sha512"] {
            let url = Url::parse(&format!("{}.{ext}", doc.url))
                .map_err(|e| SkipReason::BadUrl(e.to_string()))?;
            if let Some(h) = self.hash_file(&url)? {
                found.push(h);
                break;
            }
        }
        Ok(found)
    }

    /// One hash file: `None` when it answers 404.
    fn hash_file(&self, url: &Url) -> Result<Option<(HashAlgorithm, String)>, SkipReason> {
        let unusable = |problem: String| SkipReason::HashUnusable {
            url: url.to_string(),
            problem,
        };
        let bytes = match self.client.get(url, MAX_HASH_FILE_SIZE) {
            Ok(b) => b,
            Err(FetchError::Status(404)) => return Ok(None),
            Err(e) => return Err(unusable(e.to_string())),
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| unusable(e.to_string()))?;
        let (algorithm, hex) = parse::hash_file(text).map_err(unusable)?;
        let named = if url.path().ends_with(".sha512") {
            HashAlgorithm::Sha512
        } else if url.path().ends_with(".sha256") {
            HashAlgorithm::Sha256
        } else {
            algorithm
        };
        if named != algorithm {
            return Err(unusable(format!(
                "named for {named} but holds a {algorithm} digest"
            )));
        }
        Ok(Some((algorithm, hex)))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let url = |s: &str| provider_metadata_url(s).map(String::from);
        assert_eq!(
            url("csaf.example").unwrap(),
            "https://csaf.example/.well-known/csaf/provider-metadata.json"
        );
        assert_eq!(
            url("csaf.example:8443").unwrap(),
            "https://csaf.example:8443/.well-known/csaf/provider-metadata.json"
        );
        assert_eq!(
            url("https://csaf.example/x/provider-metadata.json").unwrap(),
            "https://csaf.example/x/provider-metadata.json"
        );
        assert!(url("").is_err());
        assert!(url("csaf.example/provider-metadata.json").is_err());
        assert!(url("ftp://csaf.example/pm.json").is_err());
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut state = SyncState::default();
        state.documents.insert(
            "https://csaf.example/white/a.json".into(),
            DocState {
                updated: parse::timestamp("2020-01-01T00:00:00Z"),
                sha256: "ab".repeat(32),
            },
        );
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<SyncState>(&json).unwrap(), state);
    }
}
