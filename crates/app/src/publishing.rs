//! Advisories the national CSIRT authors and publishes: a CSAF 2.0 document made from a
//! CVE and the products it affects (or an edited one), stored like any import, and a
//! CSAF provider directory of the public ones, signed, for others to sync.

use std::path::Path;

use baken_advisory::author::{self, Draft};
use baken_csaf_sync::publish::Report;
use baken_pipeline::advisories::{self, ImportOutcome};

use crate::{App, AppError, Result};

/// What authoring an advisory did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Authored {
    /// The CSAF document as stored.
    pub document: serde_json::Value,
    /// Storing it: new, or unchanged when the same document is stored already.
    pub outcome: ImportOutcome,
}

impl App {
    /// Makes the CSAF 2.0 document of `draft`, validates it (the CSAF schema at `schema`,
    /// or the one found beside the data, and the mandatory tests) and stores it.
    pub fn author_advisory(&mut self, draft: &Draft, schema: Option<&Path>) -> Result<Authored> {
        let document = author::csaf(draft).map_err(AppError::Usage)?;
        self.store_authored(document, schema)
    }

    /// Validates and stores an edited CSAF document as an advisory baken authored.
    pub fn author_advisory_from(
        &mut self,
        document: serde_json::Value,
        schema: Option<&Path>,
    ) -> Result<Authored> {
        if baken_advisory::detect(&document) != Some(baken_advisory::Format::Csaf) {
            return Err(AppError::Usage(
                "not a CSAF 2.0 document (no document.csaf_version)".into(),
            ));
        }
        self.store_authored(document, schema)
    }

    fn store_authored(
        &mut self,
        document: serde_json::Value,
        schema: Option<&Path>,
    ) -> Result<Authored> {
        let schema = advisories::load_csaf_schema(schema)?;
        let outcome = advisories::author(&mut *self.store, &document, &schema)?;
        if let ImportOutcome::Rejected { problems } = &outcome {
            return Err(AppError::Usage(format!(
                "the advisory is not valid CSAF 2.0, nothing stored: {}",
                problems.join("; ")
            )));
        }
        Ok(Authored { document, outcome })
    }

    /// Publishes the stored advisories `ids` (CSAF, TLP:WHITE) into the CSAF provider
    /// directory `dir`, served at `base_url`, signed with the OpenPGP secret key in
    /// `key`; audited.
    pub fn publish_advisories(
        &mut self,
        ids: &[String],
        dir: &Path,
        base_url: &str,
        key: &Path,
    ) -> Result<Report> {
        let key = std::fs::read(key)
            .map_err(|e| AppError::Usage(format!("--key {}: {e}", key.display())))?;
        Ok(advisories::publish(
            &mut *self.store,
            ids,
            dir,
            base_url,
            &key,
        )?)
    }
}
