//! Queries over the record and the imports beside it: advisories and exposure, inventories,
//! the evaluation of an incident (report, timeline, indicators), recipients' replies, the
//! dependency picture.

use std::path::{Path, PathBuf};

use baken_model::Organisation;
use baken_pipeline::Progress;
use baken_pipeline::advisories::{self, ImportOutcome};
use baken_pipeline::dependencies::{self, Dependencies, DependencyOptions, VendorTable};
use baken_pipeline::exposure::{self, ExposureReport, InventoryImport};
use baken_pipeline::inbox::{self, Imported};
use baken_pipeline::inventories::{self, BulkInventoryImport};
use baken_pipeline::notify::AdvisoryContext;
use baken_pipeline::report::{self, Entry, Indicators, Report, ReportOptions};
use baken_store::{QuarantineRecord, TimelineStep};

use crate::{App, AppError, Result};

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
    /// The domain names each organisation of the registry holds, by registry id.
    pub fn registered_domains(&self) -> Result<std::collections::HashMap<String, Vec<String>>> {
        Ok(self
            .store
            .organisations()?
            .into_iter()
            .map(|o| (o.id.0, o.domains))
            .collect())
    }

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
            &mut *self.store,
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
        Ok(advisories::import_path(&mut *self.store, path, &schema)?)
    }

    /// Replaces what organisation `org` declared it runs (its inventory) with `path`.
    pub fn import_inventory(&mut self, org: &str, path: &Path) -> Result<InventoryImport> {
        let attributor = self.attributor()?;
        Ok(exposure::import_inventory(
            &mut *self.store,
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
            &mut *self.store,
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
            &mut *self.store,
            &attributor,
            advisory,
            record,
        )?)
    }

    /// The dependency picture from the declared inventories, the registry and the routing
    /// data: vendors, countries, concentration, non-vital suppliers of vital providers and,
    /// when `options` names a vendor, its blast radius planned under `policy`. `vendors` is
    /// a table whose rows add to the shipped one or replace its rows.
    pub fn dependencies(
        &mut self,
        options: &DependencyOptions,
        vendors: Option<&Path>,
        policy: &str,
    ) -> Result<Dependencies> {
        let mut table = VendorTable::shipped();
        if let Some(path) = vendors {
            let text = std::fs::read_to_string(path).map_err(|e| {
                AppError::Usage(format!(
                    "cannot read the vendor table {}: {e}",
                    path.display()
                ))
            })?;
            let (mine, problems) = VendorTable::parse(&text, &path.display().to_string());
            if !problems.is_empty() {
                return Err(AppError::Usage(format!(
                    "the vendor table has rows baken cannot read; fix them:\n{}",
                    problems.join("\n")
                )));
            }
            table = table.with(mine);
        }
        let attributor = self.attributor()?;
        if let Some(sector) = &options.sector
            && !attributor
                .organisations()
                .iter()
                .any(|o| o.sector.as_deref() == Some(sector.as_str()))
        {
            let sectors: std::collections::BTreeSet<&str> = attributor
                .organisations()
                .iter()
                .filter_map(|o| o.sector.as_deref())
                .collect();
            return Err(AppError::NotFound(format!(
                "no organisation of the registry is in sector {sector:?}; its sectors are: {}",
                sectors.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        let policy = self.policy(policy)?;
        let inventory = self.store.inventory()?;
        Ok(dependencies::dependencies(
            &attributor,
            &inventory,
            &table,
            &policy,
            options,
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
            &*self.store,
            &attributor,
            &policy,
            incident,
            options,
        )?)
    }

    /// Everything that happened in `incident`, in order.
    pub fn timeline(&self, incident: &str) -> Result<Vec<Entry>> {
        Ok(report::timeline(&*self.store, incident)?)
    }

    /// The indicators over every incident, nationwide or for one sector.
    pub fn indicators(&mut self, sector: Option<&str>) -> Result<Indicators> {
        let attributor = self.attributor()?;
        Ok(report::indicators(&*self.store, &attributor, sector)?)
    }

    /// Reads recipients' replies (Maildir, mbox or `.eml` files) and records what they say
    /// about the findings their tickets carried.
    pub fn import_replies(&mut self, paths: &[PathBuf]) -> Result<Imported> {
        let attributor = self.attributor()?;
        Ok(inbox::import(&mut *self.store, &attributor, paths)?)
    }

    /// The latest `limit` quarantined rows, newest first, and how many there are in all.
    pub fn quarantined(&self, limit: usize) -> Result<(Vec<QuarantineRecord>, u64)> {
        Ok(self.store.quarantined(limit)?)
    }

    /// What the advisory behind `incident` says (title, CVEs, score, remediations), when
    /// one is imported: the "what to do" a message carries.
    pub fn advisory_context(&self, incident: &str) -> Result<Option<AdvisoryContext>> {
        Ok(baken_pipeline::notify::advisory_context(
            &*self.store,
            incident,
        )?)
    }

    /// Registered organisations whose id, name, sector, domain, network or contact address
    /// contains `text` (case-insensitive), at most `limit`, and how many matched in all.
    pub fn search_registry(
        &mut self,
        text: &str,
        limit: usize,
    ) -> Result<(Vec<Organisation>, usize)> {
        let attributor = self.attributor()?;
        let needle = text.trim().to_lowercase();
        let matches = |o: &Organisation| {
            needle.is_empty()
                || o.id.0.to_lowercase().contains(&needle)
                || o.name.to_lowercase().contains(&needle)
                || o.sector
                    .as_deref()
                    .is_some_and(|s| s.to_lowercase().contains(&needle))
                || o.domains.iter().any(|d| d.to_lowercase().contains(&needle))
                || o.networks.iter().any(|n| n.to_string().contains(&needle))
                || o.contacts
                    .iter()
                    .any(|c| c.email.to_lowercase().contains(&needle))
        };
        let mut found = Vec::new();
        let mut total = 0;
        for o in attributor.organisations() {
            if matches(o) {
                total += 1;
                if found.len() < limit {
                    found.push(o.clone());
                }
            }
        }
        Ok((found, total))
    }

    /// Adds a step to an incident's timeline (e.g. the disclosure, a decision taken outside
    /// baken).
    pub fn add_step(&mut self, step: &TimelineStep) -> Result<()> {
        Ok(self.store.add_step(step)?)
    }
}
