//! Wires baken's stages together: ingest (parse → attribute → store), notify (compose →
//! deliver → record), inbox (recipients' replies → findings acknowledged or claimed fixed).
//!
//! The pipeline talks to storage only through [`baken_store::Store`] and to delivery only
//! through [`baken_deliver::Transport`], so the embedded defaults (SQLite, an outbox
//! directory) and the scale-out backends are interchangeable.
//!
//! ```no_run
//! use baken_pipeline::{attributor_from_store, ingest::{ingest_file, Input}, NoProgress};
//! use baken_store::SqliteStore;
//! let mut store = SqliteStore::open("baken-data".as_ref())?;
//! let attributor = attributor_from_store(&store)?;
//! let input = Input { path: "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv".into(), feed: baken_feeds::FeedKind::Shadowserver };
//! let summary = ingest_file(&mut store, &attributor, &input, &Default::default(), &Default::default(), &NoProgress)?;
//! assert!(summary.reconciles());
//! # Ok::<(), baken_pipeline::PipelineError>(())
//! ```

pub mod advisories;
pub mod audit;
pub mod dependencies;
pub mod exercise;
pub mod exposure;
pub mod findings;
pub mod imports;
pub mod inbox;
pub mod incident_reports;
pub mod ingest;
pub mod inventories;
pub mod lifecycle;
pub mod lookalikes;
pub mod message;
pub mod notify;
pub mod plan;
pub mod report;
pub mod xarf;

use baken_attribute::Attributor;
use baken_store::Store;

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// An input file as a whole could not be read.
    #[error(transparent)]
    Feed(#[from] baken_feeds::FeedError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] baken_store::StoreError),
    /// The registry is inconsistent.
    #[error(transparent)]
    Conflicts(#[from] baken_attribute::AttributorError),
    /// The registry file could not be read.
    #[error(transparent)]
    Registry(#[from] baken_attribute::registry::RegistryError),
    /// A routing table could not be read.
    #[error(transparent)]
    Routing(#[from] baken_attribute::routing::RoutingError),
    /// An RPSL dump could not be read.
    #[error(transparent)]
    Rpsl(#[from] baken_attribute::rpsl::RpslError),
    /// Delivery failed in a way that stops the run.
    #[error(transparent)]
    Deliver(#[from] baken_deliver::DeliverError),
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The sharing policy is invalid or unknown.
    #[error(transparent)]
    Policy(#[from] baken_policy::PolicyError),
    /// The request cannot be carried out as given.
    #[error("{0}")]
    Usage(String),
    /// A message template failed to render (a bug in a template).
    #[error(transparent)]
    Template(#[from] crate::message::TemplateError),
    /// A registry import would empty the registry, or remove more than half of it, and was
    /// not told to replace it all (see [`imports::import_registry`]).
    #[error(
        "{path} holds {incoming} organisations: importing it would remove {removed} of the \
         {registered} registered organisations, so nothing was changed; check that it is the \
         right and complete file"
    )]
    RegistryShrinks {
        /// The registry file.
        path: String,
        /// Organisations in the file.
        incoming: u64,
        /// Organisations registered now.
        registered: u64,
        /// Registered organisations the file does not have.
        removed: u64,
    },
}

/// Receives progress of long steps (the CLI shows it as a bar).
pub trait Progress {
    /// `n` more units (rows, messages) are done.
    fn advance(&self, n: u64);
    /// `n` more units are to be done (the total, as far as known, grows by `n`).
    fn expect(&self, _n: u64) {}
    /// Whether anyone sees the total: when not, work to find it (counting a file's lines)
    /// is skipped.
    fn shows_total(&self) -> bool {
        false
    }
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _n: u64) {}
}

/// The attribution index over the registry, routing table and abuse records in `store`: the
/// one saved at the last import, else built from them.
pub fn attributor_from_store(store: &dyn Store) -> Result<Attributor, PipelineError> {
    // The index saved at the last import loads in milliseconds; building it from the
    // registry, routing table and abuse records takes seconds at national size.
    if let Some(bytes) = store.attribution_index()? {
        match Attributor::from_snapshot(&bytes) {
            Ok(attributor) => return Ok(attributor),
            // written by another release, or damaged: built again below
            Err(e) => {
                tracing::warn!(error = %e, "the saved attribution index is not usable; building it")
            }
        }
    }
    build_attributor(store)
}

/// Builds the attribution index from the store's registry, routing table and abuse records.
fn build_attributor(store: &dyn Store) -> Result<Attributor, PipelineError> {
    Ok(Attributor::new(
        store.organisations()?,
        store.routing()?,
        store.abuse_records()?,
    )?)
}

/// The text of the policy `spec` names: a shipped one's, or a policy file's.
pub fn policy_text(spec: &str) -> Result<String, PipelineError> {
    if let Some(text) = baken_policy::Policy::builtin_text(spec) {
        return Ok(text.to_string());
    }
    let path = std::path::Path::new(spec);
    std::fs::read_to_string(path).map_err(io_error(path))
}

/// The sharing policy named `spec`: a shipped one (`nl-2020`, `nl-dtc-oktt`) or a TOML file.
pub fn load_policy(spec: &str) -> Result<baken_policy::Policy, PipelineError> {
    if baken_policy::Policy::builtin_text(spec).is_some() {
        return Ok(baken_policy::Policy::builtin(spec)?);
    }
    let path = std::path::Path::new(spec);
    if !path.exists() {
        return Err(PipelineError::Usage(format!(
            "no policy {spec:?}: name a shipped one ({}) or a policy file",
            baken_policy::Policy::builtin_names()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    baken_policy::Policy::parse(&text)
        .map_err(|e| match e {
            baken_policy::PolicyError::Invalid { problems, .. } => {
                baken_policy::PolicyError::Invalid {
                    policy: path.display().to_string(),
                    problems,
                }
            }
            other => other,
        })
        .map_err(PipelineError::from)
}

/// The key that pseudonymises organisations in aggregates, kept in `DATA/pseudonym.key`
/// (created with 32 random bytes on first use, readable by the owner only).
pub fn pseudonym_key(data: &std::path::Path) -> Result<Vec<u8>, PipelineError> {
    let path = data.join("pseudonym.key");
    if let Ok(key) = std::fs::read(&path) {
        if key.len() >= 16 {
            return Ok(key);
        }
        return Err(PipelineError::Usage(format!(
            "{}: the key is shorter than 16 bytes; remove it to make a new one",
            path.display()
        )));
    }
    std::fs::create_dir_all(data).map_err(io_error(data))?;
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io_error(&path))?;
    std::io::Write::write_all(&mut file, &key).map_err(io_error(&path))?;
    file.sync_all().map_err(io_error(&path))?;
    Ok(key.to_vec())
}

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.display().to_string();
    move |source| PipelineError::Io { path, source }
}
