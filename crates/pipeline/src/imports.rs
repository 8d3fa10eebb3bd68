//! Imports of the registry and of public routing and registry data into the store.

use std::path::Path;

use baken_attribute::Attributor;
use baken_attribute::registry::load_registry;
use baken_attribute::routing::load_routing;
use baken_attribute::rpsl::load_rpsl;
use baken_store::Store;
use serde::Serialize;

use crate::PipelineError;

/// Loads a registry file (TOML, JSON, JSON lines or CSV), checks it for conflicts, and
/// replaces the stored registry with it. Returns the number of organisations.
pub fn import_registry(store: &mut dyn Store, path: &Path) -> Result<u64, PipelineError> {
    let orgs = load_registry(path)?;
    // Building the index checks for duplicate ids and doubly registered networks, ASNs and
    // domains before anything is replaced.
    Attributor::new(orgs.clone(), Vec::new(), Vec::new())?;
    store.replace_organisations(&orgs)?;
    crate::save_attribution_index(store)?;
    Ok(orgs.len() as u64)
}

/// What a routing or RPSL import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataImport {
    /// Entries stored.
    pub entries: u64,
    /// Lines or objects skipped, with where and why.
    pub skipped: Vec<String>,
    /// Objects without an abuse mailbox (RPSL only).
    pub without_contact: u64,
}

/// Loads a prefix-to-AS table (CAIDA pfx2as, iptoasn, or `prefix<TAB>asn`) and replaces the
/// entries previously imported from a file of the same name.
pub fn import_routing(store: &mut dyn Store, path: &Path) -> Result<DataImport, PipelineError> {
    let table = load_routing(path)?;
    let source = source_name(path);
    store.replace_routing(&source, &table.prefixes)?;
    crate::save_attribution_index(store)?;
    Ok(DataImport {
        entries: table.prefixes.len() as u64,
        skipped: table.errors.iter().map(ToString::to_string).collect(),
        without_contact: 0,
    })
}

/// Loads RPSL split dumps (read together, since objects refer across files) and replaces the
/// abuse records previously imported from RPSL.
pub fn import_rpsl(
    store: &mut dyn Store,
    paths: &[impl AsRef<Path>],
) -> Result<DataImport, PipelineError> {
    let data = load_rpsl(paths)?;
    store.replace_abuse("rpsl", &data.records)?;
    crate::save_attribution_index(store)?;
    Ok(DataImport {
        entries: data.records.len() as u64,
        skipped: data.problems.iter().map(ToString::to_string).collect(),
        without_contact: data.without_contact as u64,
    })
}

fn source_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
