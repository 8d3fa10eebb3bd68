//! Advisory import: CSAF 2.0 (validated against the schema and mandatory tests), CVE JSON 5
//! and OSV documents into the store, every revision kept so severity changes stay visible.

use std::path::{Path, PathBuf};

use baken_advisory::schema::CsafSchema;
use baken_advisory::{Advisory, Format};
use baken_store::{AdvisoryPut, AdvisoryRecord, Store, now};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{PipelineError, io_error};

/// The environment variable naming the CSAF 2.0 JSON schema file.
pub const CSAF_SCHEMA_ENV: &str = "BAKEN_CSAF_SCHEMA";

/// Where the CSAF schema is looked for: `$BAKEN_CSAF_SCHEMA`, then
/// `../shared/data/csaf/csaf_schema_2.0.json` from the current directory and from the
/// source tree.
pub fn csaf_schema_candidates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os(CSAF_SCHEMA_ENV) {
        v.push(PathBuf::from(p));
    }
    v.push(PathBuf::from("../shared/data/csaf/csaf_schema_2.0.json"));
    v.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/csaf/csaf_schema_2.0.json"
    )));
    v
}

/// Loads the CSAF schema from `path`, or from the first candidate that exists.
pub fn load_csaf_schema(path: Option<&Path>) -> Result<CsafSchema, PipelineError> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => csaf_schema_candidates()
            .into_iter()
            .find(|p| p.exists())
            .ok_or_else(|| {
                PipelineError::Usage(format!(
                    "no CSAF 2.0 JSON schema found (tried {}); pass --schema FILE or set {CSAF_SCHEMA_ENV}",
                    csaf_schema_candidates()
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
    };
    let text = std::fs::read(&path).map_err(io_error(&path))?;
    let json: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| PipelineError::Usage(format!("{}: not JSON: {e}", path.display())))?;
    CsafSchema::new(&json)
        .map_err(|e| PipelineError::Usage(format!("{}: not a usable schema: {e}", path.display())))
}

/// What importing one document did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ImportOutcome {
    /// Stored (or found already stored).
    Imported {
        /// The advisory id.
        id: String,
        /// Its revision.
        revision: Option<String>,
        /// New, another revision, or unchanged.
        put: AdvisoryPut,
        /// Parts of the document that could not be read (the rest was imported).
        warnings: Vec<String>,
    },
    /// Found in a directory but not an advisory (provider metadata, feeds, other JSON).
    Skipped {
        /// Why.
        reason: String,
    },
    /// A catalogue of exploited vulnerabilities (CISA's Known Exploited Vulnerabilities):
    /// when exploitation of each CVE became known was recorded.
    Exploited {
        /// The catalogue's title and version.
        catalog: String,
        /// CVEs recorded.
        cves: usize,
    },
    /// Rejected whole; nothing was stored.
    Rejected {
        /// Each problem with its JSON path.
        problems: Vec<String>,
    },
}

/// Imports one document's bytes. CSAF documents must pass the schema and the mandatory tests.
pub fn import_bytes(
    store: &mut dyn Store,
    bytes: &[u8],
    source: &str,
    schema: &CsafSchema,
) -> Result<ImportOutcome, PipelineError> {
    let doc: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => {
            return Ok(ImportOutcome::Rejected {
                problems: vec![format!("not JSON: {e}")],
            });
        }
    };
    if is_kev(&doc) {
        return import_kev(store, &doc, source);
    }
    if baken_advisory::detect(&doc) == Some(Format::Csaf) {
        let problems = baken_advisory::validate_csaf(schema, &doc);
        if !problems.is_empty() {
            return Ok(ImportOutcome::Rejected {
                problems: problems
                    .iter()
                    .map(|p| format!("{} [{}]: {}", p.path, p.test, p.message))
                    .collect(),
            });
        }
    }
    let parsed = match baken_advisory::read_value(&doc) {
        Ok(p) => p,
        Err(e) => {
            return Ok(ImportOutcome::Rejected {
                problems: vec![e.to_string()],
            });
        }
    };
    let a = &parsed.advisory;
    let record = record(a, bytes, source);
    let put = store.put_advisory(&record)?;
    Ok(ImportOutcome::Imported {
        id: a.id.clone(),
        revision: a.revision.clone(),
        put,
        warnings: parsed
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
    })
}

/// Whether `doc` is CISA's Known Exploited Vulnerabilities catalogue (JSON feed:
/// `catalogVersion`, `vulnerabilities[].cveID` and `dateAdded`).
fn is_kev(doc: &serde_json::Value) -> bool {
    doc.get("catalogVersion").is_some()
        && doc
            .get("vulnerabilities")
            .and_then(|v| v.as_array())
            .is_some_and(|v| v.iter().all(|e| e.get("cveID").is_some()))
}

/// Records, for every CVE of a KEV catalogue, that exploitation was known from its
/// `dateAdded` (midnight UTC): the date exploitation began as far as the catalogue tells.
/// An entry without a readable date rejects the whole catalogue, naming it.
fn import_kev(
    store: &mut dyn Store,
    doc: &serde_json::Value,
    source: &str,
) -> Result<ImportOutcome, PipelineError> {
    let catalog = format!(
        "{} {}",
        doc.get("title")
            .and_then(|t| t.as_str())
            .unwrap_or("CISA Known Exploited Vulnerabilities"),
        doc.get("catalogVersion")
            .and_then(|t| t.as_str())
            .unwrap_or("")
    )
    .trim()
    .to_string();
    let entries = doc["vulnerabilities"].as_array().map_or(&[][..], |v| v);
    let mut dated = Vec::with_capacity(entries.len());
    let mut problems = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let cve = e["cveID"].as_str().unwrap_or("");
        let date = e["dateAdded"].as_str().unwrap_or("");
        match (
            cve.to_ascii_uppercase().starts_with("CVE-"),
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d"),
        ) {
            (true, Ok(d)) => dated.push((
                cve.to_string(),
                d.and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp(),
            )),
            (false, _) => {
                problems.push(format!("/vulnerabilities/{i}/cveID: not a CVE id: {cve:?}"))
            }
            (_, Err(_)) => problems.push(format!(
                "/vulnerabilities/{i}/dateAdded: not a date (YYYY-MM-DD): {date:?}"
            )),
        }
    }
    if !problems.is_empty() {
        return Ok(ImportOutcome::Rejected { problems });
    }
    let from = format!("{catalog} ({source})");
    for (cve, since) in &dated {
        store.put_exploitation(cve, *since, &from)?;
    }
    Ok(ImportOutcome::Exploited {
        catalog,
        cves: dated.len(),
    })
}

fn record(a: &Advisory, bytes: &[u8], source: &str) -> AdvisoryRecord {
    let top = a.highest_score();
    AdvisoryRecord {
        id: a.id.clone(),
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        revision: a.revision.clone(),
        format: match a.format {
            Format::Csaf => "csaf",
            Format::Cve5 => "cve5",
            Format::Osv => "osv",
        }
        .into(),
        released: a
            .current_release
            .or(a.initial_release)
            .map(|d| d.to_rfc3339()),
        title: a.title.clone(),
        tlp: a
            .tlp
            .map(|t| t.label().trim_start_matches("TLP:").to_string()),
        highest_score: top.map(|s| s.value()),
        highest_vector: top.map(|s| s.vector.clone()),
        source: source.into(),
        imported_at: now(),
        document: bytes.to_vec(),
    }
}

/// Imports a file, or every `.json` file under a directory (recursively, sorted). In a
/// directory, files that are not advisories at all (not JSON, or JSON of no advisory format,
/// such as CSAF provider metadata and ROLIE feeds) are skipped with the reason; a file named
/// directly must be an advisory.
pub fn import_path(
    store: &mut dyn Store,
    path: &Path,
    schema: &CsafSchema,
) -> Result<Vec<(PathBuf, ImportOutcome)>, PipelineError> {
    let mut files = Vec::new();
    collect_json(path, &mut files)?;
    files.sort();
    let in_directory = path.is_dir();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let bytes = std::fs::read(&file).map_err(io_error(&file))?;
        if in_directory {
            let kind = serde_json::from_slice::<serde_json::Value>(&bytes)
                .map(|doc| baken_advisory::detect(&doc));
            let reason = match kind {
                Err(e) => Some(format!("not JSON ({e})")),
                Ok(None) if serde_json::from_slice(&bytes).is_ok_and(|d| is_kev(&d)) => None,
                Ok(None) => Some("JSON, but not a CSAF, CVE JSON 5 or OSV document".into()),
                Ok(Some(_)) => None,
            };
            if let Some(reason) = reason {
                out.push((file, ImportOutcome::Skipped { reason }));
                continue;
            }
        }
        let outcome = import_bytes(store, &bytes, &file.display().to_string(), schema)?;
        out.push((file, outcome));
    }
    Ok(out)
}

fn collect_json(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), PipelineError> {
    let meta = std::fs::metadata(path).map_err(io_error(path))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(io_error(path))? {
        let p = entry.map_err(io_error(path))?.path();
        if p.is_dir() {
            collect_json(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "json")
            && !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("schema"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The latest revision of an advisory, re-read from its stored document, with the stored
/// history of every revision.
pub fn show(
    store: &dyn Store,
    id: &str,
) -> Result<Option<(Advisory, Vec<AdvisoryRecord>)>, PipelineError> {
    // ids in any case: `cve-2019-19781` finds `CVE-2019-19781`
    let mut history = store.advisory_revisions(id)?;
    if history.is_empty()
        && let Some(stored) = store
            .advisories()?
            .into_iter()
            .find(|a| a.id.eq_ignore_ascii_case(id))
    {
        history = store.advisory_revisions(&stored.id)?;
    }
    let Some(latest) = history.last() else {
        return Ok(None);
    };
    let parsed = baken_advisory::read(&latest.document).map_err(|e| {
        PipelineError::Usage(format!("stored advisory {id} cannot be re-read: {e}"))
    })?;
    Ok(Some((parsed.advisory, history)))
}

/// What a sync of an advisory source did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSummary {
    /// The provider metadata followed.
    pub provider_metadata: String,
    /// Documents fetched (new or changed) and what importing each did.
    pub fetched: Vec<(String, ImportOutcome)>,
    /// Documents skipped for now (tried again by the next sync), with the reason.
    pub skipped: Vec<(String, String)>,
    /// Documents refused for their OpenPGP signature (one that does not verify against a
    /// published key, or none when signatures are required), with the reason; never
    /// imported.
    pub refused: Vec<(String, String)>,
    /// Fetched documents that carry no OpenPGP signature (imported, but worth a warning).
    pub unsigned: Vec<String>,
    /// The provider's published keys, each with the fingerprint of the key used or why
    /// it is not used; empty when no document had a signature to check.
    pub keys: Vec<(String, Result<String, String>)>,
    /// Documents unchanged since the last sync (not fetched).
    pub unchanged: usize,
}

/// Follows CSAF 2.0 discovery from `source` (a provider-metadata.json URL or a domain),
/// fetches what changed since the last sync of that source, checks each document's hash
/// and OpenPGP signature, imports it (validated like `import`), and saves where the sync left off.
pub fn sync(
    store: &mut dyn Store,
    source: &str,
    schema: &CsafSchema,
    options: &baken_csaf_sync::Options,
) -> Result<SyncSummary, PipelineError> {
    let previous: baken_csaf_sync::SyncState = match store.sync_state(source)? {
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            PipelineError::Usage(format!(
                "the saved sync state of {source} is unreadable: {e}"
            ))
        })?,
        None => Default::default(),
    };
    let report = baken_csaf_sync::sync(source, &previous, options)
        .map_err(|e| PipelineError::Usage(e.to_string()))?;
    let mut fetched = Vec::with_capacity(report.fetched.len());
    for doc in &report.fetched {
        let outcome = import_bytes(store, &doc.bytes, &doc.url, schema)?;
        fetched.push((doc.url.clone(), outcome));
    }
    // Saved only after every fetched document was imported: a crash in between means the
    // next sync fetches them again, and re-importing the same bytes is a no-op.
    store.put_sync_state(
        source,
        &serde_json::to_string(&report.state).expect("sync state serialises"),
    )?;
    Ok(SyncSummary {
        provider_metadata: report.provider_metadata.clone(),
        fetched,
        skipped: report
            .skipped
            .iter()
            .filter(|s| !s.reason.is_refusal())
            .map(|s| (s.url.clone(), s.reason.to_string()))
            .collect(),
        refused: report
            .refused()
            .map(|s| (s.url.clone(), s.reason.to_string()))
            .collect(),
        unsigned: report.unsigned().map(|d| d.url.clone()).collect(),
        keys: report
            .keys
            .iter()
            .map(|k| (k.url.clone(), k.outcome.clone()))
            .collect(),
        unchanged: report.unchanged,
    })
}
