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
    /// when exploitation of each CVE became known was recorded, entry by entry.
    Exploited {
        /// The catalogue's title and version.
        catalog: String,
        /// Entries read (`cves` + `rejected`).
        read: usize,
        /// CVEs recorded.
        cves: usize,
        /// Stored advisories covering one of those CVEs, each marked exploited too.
        advisories: Vec<String>,
        /// Entries rejected, each with its JSON path and reason.
        rejected: Vec<String>,
    },
    /// A page of NVD CVE API 2.0 records (or one record), stored record by record.
    Records {
        /// Entries read (`imported` + `rejected`).
        read: usize,
        /// Each record stored: its id, revision and what storing it did.
        imported: Vec<(String, Option<String>, AdvisoryPut)>,
        /// CVEs whose `cisaExploitAdd` was recorded as the day exploitation was known.
        exploited: usize,
        /// Entries rejected, each with its JSON path and reason.
        rejected: Vec<String>,
        /// Parts of stored records that could not be read.
        warnings: Vec<String>,
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
    if baken_advisory::kev::is_catalog(&doc) {
        return import_kev(store, &doc, source);
    }
    if baken_advisory::detect(&doc) == Some(Format::Nvd) {
        return import_nvd(store, &doc, source);
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

/// Records, for every CVE of a KEV catalogue, that exploitation was known from its
/// `dateAdded` (midnight UTC), and the same for every stored advisory that covers it; an
/// entry that cannot be read is rejected with its JSON path and field, the others are
/// recorded. What was recorded is audited (`exploited`). Rejected whole when no entry
/// could be read.
fn import_kev(
    store: &mut dyn Store,
    doc: &serde_json::Value,
    source: &str,
) -> Result<ImportOutcome, PipelineError> {
    let catalog = baken_advisory::kev::read(doc);
    let rejected: Vec<String> = catalog.rejected.iter().map(problem_line).collect();
    let read = catalog.entries.len() + rejected.len();
    if catalog.entries.is_empty() && !rejected.is_empty() {
        return Ok(ImportOutcome::Rejected { problems: rejected });
    }
    let from = format!("{} ({source})", catalog.name);
    let dated: Vec<(String, i64)> = catalog
        .entries
        .iter()
        .map(|e| (e.cve.clone(), midnight(e.date_added)))
        .collect();
    let advisories = record_exploited(store, &dated, &from)?;
    Ok(ImportOutcome::Exploited {
        catalog: catalog.name,
        read,
        cves: dated.len(),
        advisories,
        rejected,
    })
}

/// Stores each record of an NVD CVE API 2.0 page as an advisory (its own `{"cve": …}` as
/// the document) and records `cisaExploitAdd` as the day exploitation was known; an entry
/// that cannot be read is rejected with its JSON path and field. Rejected whole when no
/// entry could be read.
fn import_nvd(
    store: &mut dyn Store,
    doc: &serde_json::Value,
    source: &str,
) -> Result<ImportOutcome, PipelineError> {
    let page = baken_advisory::nvd::read_page(doc);
    let rejected: Vec<String> = page.rejected.iter().map(problem_line).collect();
    let read = page.records.len() + rejected.len();
    if page.records.is_empty() {
        return Ok(ImportOutcome::Rejected {
            problems: if rejected.is_empty() {
                vec!["/vulnerabilities: an NVD page without records".into()]
            } else {
                rejected
            },
        });
    }
    let mut imported = Vec::with_capacity(page.records.len());
    let mut warnings = Vec::new();
    let mut dated = Vec::new();
    for r in &page.records {
        let bytes = serde_json::to_vec(&r.document).expect("JSON values serialise");
        let a = &r.parsed.advisory;
        let where_ = if r.path.is_empty() {
            source.to_string()
        } else {
            format!("{source}#{}", r.path)
        };
        let put = store.put_advisory(&record(a, &bytes, &where_))?;
        imported.push((a.id.clone(), a.revision.clone(), put));
        warnings.extend(
            r.parsed
                .problems
                .iter()
                .map(|p| format!("{} {}: {}", a.id, p.path, p.message)),
        );
        if let Some(day) = r.exploited {
            dated.push((a.id.clone(), midnight(day)));
        }
    }
    if !dated.is_empty() {
        record_exploited(store, &dated, &format!("NVD cisaExploitAdd ({source})"))?;
    }
    Ok(ImportOutcome::Records {
        read,
        imported,
        exploited: dated.len(),
        rejected,
        warnings,
    })
}

/// `path: message` of a rejected entry.
fn problem_line(p: &baken_advisory::Problem) -> String {
    format!("{}: {}", p.path, p.message)
}

/// Midnight UTC of `day`, in Unix seconds.
fn midnight(day: chrono::NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

/// Records that exploitation of each CVE was known from its time, and of every stored
/// advisory covering one of them (from the earliest such time); audits what was recorded.
/// Returns the advisories marked.
fn record_exploited(
    store: &mut dyn Store,
    dated: &[(String, i64)],
    from: &str,
) -> Result<Vec<String>, PipelineError> {
    let mut by_advisory: std::collections::BTreeMap<String, i64> = Default::default();
    let wanted: std::collections::HashMap<String, i64> = dated
        .iter()
        .map(|(cve, since)| (cve.to_ascii_uppercase(), *since))
        .collect();
    for stored in store.advisories()? {
        let Ok(parsed) = baken_advisory::read(&stored.document) else {
            continue;
        };
        for cve in &parsed.advisory.cves {
            if let Some(&since) = wanted.get(&cve.to_ascii_uppercase())
                && !stored.id.eq_ignore_ascii_case(cve)
            {
                let at = by_advisory.entry(stored.id.clone()).or_insert(since);
                *at = (*at).min(since);
            }
        }
    }
    for (cve, since) in dated {
        store.put_exploitation(cve, *since, from)?;
    }
    for (id, since) in &by_advisory {
        store.put_exploitation(id, *since, from)?;
    }
    store.append_audit(&[baken_store::audit::NewAuditEntry {
        kind: "exploited".into(),
        subject: from.to_string(),
        body: serde_json::json!({
            "cves": dated
                .iter()
                .map(|(cve, since)| serde_json::json!({"cve": cve, "since": baken_store::keys::format_time(*since)}))
                .collect::<Vec<_>>(),
            "advisories": by_advisory.keys().collect::<Vec<_>>(),
        }).to_string(),
    }])?;
    Ok(by_advisory.into_keys().collect())
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
            Format::Nvd => "nvd",
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
                Ok(None)
                    if serde_json::from_slice(&bytes)
                        .is_ok_and(|d| baken_advisory::kev::is_catalog(&d)) =>
                {
                    None
                }
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

/// Publishes the latest revision of each advisory in `ids` (CSAF documents, TLP:WHITE) into
/// the CSAF provider directory `dir` served at `base_url`, signed with the unprotected
/// OpenPGP secret key `key` (see [`baken_csaf_sync::publish`]); audited
/// (`advisory-published`, with each document's path and SHA-256 and the key's
/// fingerprint). Nothing is written when one advisory cannot be published.
pub fn publish(
    store: &mut dyn Store,
    ids: &[String],
    dir: &Path,
    base_url: &str,
    key: &[u8],
) -> Result<baken_csaf_sync::publish::Report, PipelineError> {
    use baken_csaf_sync::publish;
    if ids.is_empty() {
        return Err(PipelineError::Usage(
            "name the advisories to publish (advisory list shows them)".into(),
        ));
    }
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(PipelineError::Usage(format!(
            "--base-url {base_url:?}: give the URL the directory is served at, https://DOMAIN/.well-known/csaf"
        )));
    }
    let signer = publish::Signer::from_bytes(key)
        .map_err(|e| PipelineError::Usage(format!("--key: {e}")))?;
    let mut documents = Vec::with_capacity(ids.len());
    let mut publisher = None;
    for id in ids {
        let Some((_, history)) = show(store, id)? else {
            return Err(PipelineError::Usage(format!(
                "no advisory {id}; advisory list shows the stored ones"
            )));
        };
        let latest = history.last().expect("show returns a revision");
        if latest.format != "csaf" {
            return Err(PipelineError::Usage(format!(
                "{id} is stored as {}, not CSAF: only CSAF advisories are published (advisory new writes one)",
                latest.format
            )));
        }
        let doc: serde_json::Value = serde_json::from_slice(&latest.document)
            .map_err(|e| PipelineError::Usage(format!("stored advisory {id} is not JSON: {e}")))?;
        if publisher.is_none() {
            publisher = doc.pointer("/document/publisher").cloned();
        }
        documents.push(latest.document.clone());
    }
    let provider = publish::Provider {
        base_url: base_url.trim_end_matches('/').to_string(),
        publisher: publisher.unwrap_or_default(),
    };
    let report = publish::write_directory(dir, &provider, &documents, &signer, chrono::Utc::now())
        .map_err(PipelineError::Usage)?;
    store.append_audit(&[baken_store::audit::NewAuditEntry {
        kind: "advisory-published".into(),
        subject: provider.base_url.clone(),
        body: serde_json::json!({
            "directory": dir.display().to_string(),
            "documents": report.published,
            "key": report.fingerprint,
        })
        .to_string(),
    }])?;
    Ok(report)
}

/// Stores an advisory baken authored (validated like any import); the document, or why
/// it is not valid.
pub fn author(
    store: &mut dyn Store,
    doc: &serde_json::Value,
    schema: &CsafSchema,
) -> Result<ImportOutcome, PipelineError> {
    let bytes = serde_json::to_vec_pretty(doc).expect("JSON values serialise");
    import_bytes(store, &bytes, "baken advisory new", schema)
}
