//! Wires baken's stages together: ingest (parse → attribute → store), notify (compose →
//! deliver → record), and the Citrix 2020 demo that runs the whole chain.
//!
//! The pipeline talks to storage only through [`baken_store::Store`] and to delivery only
//! through [`baken_deliver::Transport`], so the embedded defaults (SQLite, an outbox
//! directory) and the scale-out backends are interchangeable.
//!
//! ```no_run
//! use baken_pipeline::{attributor_from_store, ingest::{ingest_file, Input, DEFAULT_BATCH}, NoProgress};
//! use baken_store::SqliteStore;
//! let mut store = SqliteStore::open("baken-data".as_ref())?;
//! let attributor = attributor_from_store(&store)?;
//! let input = Input { path: "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv".into(), feed: baken_feeds::FeedKind::Shadowserver };
//! let summary = ingest_file(&mut store, &attributor, &input, &Default::default(), DEFAULT_BATCH, &NoProgress)?;
//! assert!(summary.reconciles());
//! # Ok::<(), baken_pipeline::PipelineError>(())
//! ```

pub mod advisories;
pub mod demo;
pub mod imports;
pub mod ingest;
pub mod notify;

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
    /// The request cannot be carried out as given.
    #[error("{0}")]
    Usage(String),
}

/// Receives progress of long steps (the CLI shows it as a bar).
pub trait Progress {
    /// `n` more units (rows, messages) are done.
    fn advance(&self, n: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _n: u64) {}
}

/// Builds the attribution index from the registry, routing table and abuse records in `store`.
pub fn attributor_from_store(store: &dyn Store) -> Result<Attributor, PipelineError> {
    Ok(Attributor::new(
        store.organisations()?,
        store.routing()?,
        store.abuse_records()?,
    )?)
}

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.display().to_string();
    move |source| PipelineError::Io { path, source }
}
