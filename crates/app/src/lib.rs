//! baken's application core: every command and query a front end offers, answered here and
//! returned as plain, documented output types made for presentation.
//!
//! The command line is argument parsing, progress and printing over these calls; a service
//! is routing, authentication and rendering over the same calls. Nothing a user can ask of
//! baken is decided in a front end: which party a finding stands for, what a policy would
//! change, how a party fared, what an analyst's word does to a finding — all of it is here or
//! below, in `baken-pipeline`.
//!
//! An [`App`] holds one data directory: its store, and the state built from it that every
//! call shares — the attribution index over the registry (built once, rebuilt when an import
//! through the app changes the registry) and the sharing policies by name.
//!
//! ```no_run
//! use baken_app::App;
//! use baken_model::Tlp;
//! let mut app = App::open("baken-data".as_ref())?;
//! let coverage = app.coverage("cve-2019-19781", "nl-2020", Tlp::Amber)?;
//! println!("{} of {} affected parties reached", coverage.reached, coverage.affected);
//! # Ok::<(), baken_app::AppError>(())
//! ```
//!
//! The output types serialise to the JSON the command line prints with `--json`; the README
//! describes each shape.

mod access;
mod audit;
mod commands;
pub mod contacts;
mod exercise;
mod exports;
mod incident_reports;
mod intake;
mod lookalikes;
mod plans;
mod publishing;
mod records;
mod tokens;
mod webhooks;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use baken_attribute::Attributor;
use baken_pipeline::PipelineError;
use baken_policy::Policy;
use baken_store::{Store, StoreError, StoreUrl};

pub use access::{Viewer, Visible, VisibleCounts, VisibleFinding};
pub use audit::AuditVerification;
pub use commands::{
    DailyDigest, NotifyReport, NotifyRequest, PruneOutcome, Said, SaidOutcome, SaidResult,
    labelled, parse_since,
};
pub use exercise::{
    ExerciseEnd, ExerciseReport, ExerciseRequest, ExerciseRun, ExerciseSummary, GroupResult,
    Participant, ParticipantResult, SCENARIOS, Scenario, ShippedScenario, Started, scenarios,
};
pub use exports::{ExportFormat, ExportRequest, Exported};
pub use incident_reports::{VisibleReports, filed_by};
pub use intake::IntakePass;
pub use lookalikes::{KEYWORDS_FILE, PROTECT_FILE, flagged, lookalike_scanner, read_protected};
pub use plans::{CoverageReport, Gained, Lost, Moved, WhatIf, Why, WhyFinding, coverage_line};
pub use publishing::Authored;
pub use records::InventorySource;
pub use tokens::{TOKEN_PREFIX, token_hash};
pub use webhooks::{WebhookPass, backoff};

/// What went wrong in a call. Front ends map the kinds to exit codes or HTTP statuses:
/// [`AppError::NotFound`], [`AppError::Usage`] and [`AppError::Unauthorized`] are the
/// caller's to fix, the rest are not.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// What the call names does not exist (a finding, an incident's findings, an
    /// organisation).
    #[error("{0}")]
    NotFound(String),
    /// The call cannot be carried out as given.
    #[error("{0}")]
    Usage(String),
    /// Who asks cannot be told who it is (an unknown, revoked or expired token).
    #[error("{0}")]
    Unauthorized(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stage of the chain failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// Results of the application core.
pub type Result<T> = std::result::Result<T, AppError>;

/// The environment variable naming the store when no `--store` is given.
pub const STORE_ENV: &str = "BAKEN_STORE";

/// The store every [`App::open`] of this process uses, once chosen.
static SELECTED_STORE: std::sync::OnceLock<StoreUrl> = std::sync::OnceLock::new();

/// Chooses the store every later [`App::open`] of this process opens (the command line's
/// `--store`); the first choice stays.
pub fn select_store(url: StoreUrl) {
    let _ = SELECTED_STORE.set(url);
}

/// The store [`App::open`] opens for the data directory `data`: the one [`select_store`]
/// chose, else `$BAKEN_STORE`, else the embedded SQLite file `DATA/baken.db`.
pub fn store_url(data: &Path) -> Result<StoreUrl> {
    Ok(match SELECTED_STORE.get() {
        Some(url) => url.clone(),
        None => match std::env::var(STORE_ENV) {
            Ok(text) if !text.is_empty() => {
                StoreUrl::parse(&text).map_err(|e| AppError::Usage(format!("{STORE_ENV}: {e}")))?
            }
            _ => StoreUrl::default_in(data),
        },
    })
}

/// One data directory and the state every call over it shares.
pub struct App {
    data: PathBuf,
    store: Box<dyn Store + Send>,
    attributor: Option<Arc<Attributor>>,
    policies: HashMap<String, Arc<Policy>>,
    /// Plans kept for the reads of the service, by incident, policy and label, with the
    /// findings stamp and attribution index they were made from.
    plans: HashMap<(String, String, baken_model::Tlp), PlanKept>,
    /// The sender's OpenPGP key for notify rounds (see [`App::set_signing_key`]).
    signer: Option<Arc<baken_deliver::SigningKey>>,
}

/// A plan kept, and what it was made from.
struct PlanKept {
    stamp: [i64; 3],
    attributor: Arc<Attributor>,
    plan: Arc<baken_pipeline::plan::Plan>,
}

impl App {
    /// Opens (creating where needed) the data directory `data` and the store: the one
    /// [`select_store`] chose for this process, else `$BAKEN_STORE`, else the embedded
    /// SQLite file `DATA/baken.db`.
    pub fn open(data: &Path) -> Result<App> {
        App::open_at(data, &store_url(data)?)
    }

    /// Opens the data directory `data` with the store at `url`.
    pub fn open_at(data: &Path, url: &StoreUrl) -> Result<App> {
        std::fs::create_dir_all(data).map_err(|source| {
            AppError::Store(StoreError::Io {
                path: data.display().to_string(),
                source,
            })
        })?;
        Ok(App::with_store(data, url.open()?))
    }

    /// An application over `store`, keeping its files (outbox, keys) in `data`.
    pub fn with_store(data: &Path, store: Box<dyn Store + Send>) -> App {
        App {
            data: data.to_path_buf(),
            store,
            attributor: None,
            policies: HashMap::new(),
            plans: HashMap::new(),
            signer: None,
        }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The store, for the calls that page through its records as they are.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The store, for commands of the pipeline the core passes on unchanged.
    pub fn store_mut(&mut self) -> &mut dyn Store {
        &mut *self.store
    }

    /// The attribution index over the registry, routing table and abuse records: built once
    /// and shared, and built again after the registry changed through [`App::registry_changed`].
    pub fn attributor(&mut self) -> Result<Arc<Attributor>> {
        if let Some(a) = &self.attributor {
            return Ok(a.clone());
        }
        let a = Arc::new(baken_pipeline::attributor_from_store(&*self.store)?);
        self.attributor = Some(a.clone());
        Ok(a)
    }

    /// Says that the registry, routing table or abuse records changed: the next call builds
    /// the attribution index again.
    pub fn registry_changed(&mut self) {
        self.attributor = None;
    }

    /// The sharing policy named `spec` (a shipped one, e.g. `nl-2020`, or a TOML file), read
    /// once per application.
    pub fn policy(&mut self, spec: &str) -> Result<Arc<Policy>> {
        if let Some(p) = self.policies.get(spec) {
            return Ok(p.clone());
        }
        let p = Arc::new(baken_pipeline::load_policy(spec)?);
        self.policies.insert(spec.to_string(), p.clone());
        Ok(p)
    }

    /// The key that pseudonymises organisations in aggregates (see
    /// [`baken_pipeline::pseudonym_key`]).
    pub fn pseudonym_key(&self) -> Result<Vec<u8>> {
        Ok(baken_pipeline::pseudonym_key(&self.data)?)
    }
}
