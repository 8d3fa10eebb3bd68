//! Queries over the record and the imports beside it: advisories and exposure, inventories,
//! the evaluation of an incident (report, timeline, indicators), recipients' replies.

use std::path::{Path, PathBuf};

use baken_pipeline::Progress;
use baken_pipeline::advisories::{self, ImportOutcome};
use baken_pipeline::exposure::{self, ExposureReport, InventoryImport};
use baken_pipeline::inbox::{self, Imported};
use baken_pipeline::inventories::{self, BulkInventoryImport};
use baken_pipeline::report::{self, Entry, Indicators, Report, ReportOptions};
use baken_store::{TimelineStep, prelude::*};

use crate::{App, Result};

/// Where a bulk inventory import finds its files.
#[derive(Debug, Clone)]
pub enum InventorySource {
    /// A directory of files named after their organisations (`org-42.csv`,
    /// `org-42.cdx.json`, `org-42.spdx.json`, `org-42.json`).
    Dir(PathBuf),
    /// A manifest: CSV with the columns `org,file`, or TOML (`.toml`) with
    /// `[[inventory]]` tables of `org` and `file`; paths relative to the manifest.
    Manifest(PathBuf),
}

impl App {
    /// Imports one CSAF advisory document (validated against the CSAF 2.0 schema at
    /// `schema`, or the one found beside the data), `source` naming where it came from.
    pub fn import_advisory_bytes(
        &mut self,
        bytes: &[u8],
        source: &str,
        schema: Option<&Path>,
    ) -> Result<ImportOutcome> {
        let schema = advisories::load_csaf_schema(schema)?;
        Ok(advisories::import_bytes(
            &mut self.store,
            bytes,
            source,
            &schema,
        )?)
    }

    /// Imports every advisory under `path` (a file or a directory).
    pub fn import_advisories(
        &mut self,
        path: &Path,
        schema: Option<&Path>,
    ) -> Result<Vec<(PathBuf, ImportOutcome)>> {
        let schema = advisories::load_csaf_schema(schema)?;
        Ok(advisories::import_path(&mut self.store, path, &schema)?)
    }

    /// Replaces what organisation `org` declared it runs (its inventory) with `path`.
    pub fn import_inventory(&mut self, org: &str, path: &Path) -> Result<InventoryImport> {
        let attributor = self.attributor()?;
        Ok(exposure::import_inventory(
            &mut self.store,
            &attributor,
            org,
            path,
        )?)
    }

    /// Replaces the inventories of many organisations at once, in one transaction: those
    /// of `source`, a directory of files named after their organisations or a manifest.
    /// All or nothing: when a file is refused (organisation unknown, file unreadable or
    /// no inventory, badly named), nothing is imported and every refusal is returned.
    pub fn import_inventories(
        &mut self,
        source: &InventorySource,
        progress: &dyn Progress,
    ) -> Result<BulkInventoryImport> {
        let (files, problems) = match source {
            InventorySource::Dir(dir) => inventories::files_in_dir(dir)?,
            InventorySource::Manifest(path) => inventories::files_in_manifest(path)?,
        };
        let attributor = self.attributor()?;
        Ok(inventories::import_inventories(
            &mut self.store,
            &attributor,
            &files,
            problems,
            progress,
        )?)
    }

    /// Who is exposed to `advisory` by scans and declared inventories; with `record`, the
    /// matches become findings of the advisory's incident.
    pub fn exposure(&mut self, advisory: &str, record: bool) -> Result<ExposureReport> {
        let attributor = self.attributor()?;
        Ok(exposure::exposure(
            &mut self.store,
            &attributor,
            advisory,
            record,
        )?)
    }

    /// The evaluation of `incident` under `policy`: who was affected, reached, told when,
    /// fixed when.
    pub fn report(
        &mut self,
        incident: &str,
        policy: &str,
        options: &ReportOptions,
    ) -> Result<Report> {
        let attributor = self.attributor()?;
        let policy = self.policy(policy)?;
        Ok(report::report(
            &self.store,
            &attributor,
            &policy,
            incident,
            options,
        )?)
    }

    /// Everything that happened in `incident`, in order.
    pub fn timeline(&self, incident: &str) -> Result<Vec<Entry>> {
        Ok(report::timeline(&self.store, incident)?)
    }

    /// The indicators over every incident, nationwide or for one sector.
    pub fn indicators(&mut self, sector: Option<&str>) -> Result<Indicators> {
        let attributor = self.attributor()?;
        Ok(report::indicators(&self.store, &attributor, sector)?)
    }

    /// Reads recipients' replies (Maildir, mbox or `.eml` files) and records what they say
    /// about the findings their tickets carried.
    pub fn import_replies(&mut self, paths: &[PathBuf]) -> Result<Imported> {
        Ok(inbox::import(&mut self.store, paths)?)
    }

    /// Adds a step to an incident's timeline (e.g. the disclosure, a decision taken outside
    /// baken).
    pub fn add_step(&mut self, step: &TimelineStep) -> Result<()> {
        Ok(self.store.add_step(step)?)
    }
}
