//! Imports of the registry and of public routing and registry data into the store.

use std::borrow::Cow;
use std::path::Path;

use baken_attribute::registry::{RegistryError, RegistryReader};
use baken_attribute::routing::load_routing;
use baken_attribute::rpsl::load_rpsl;
use baken_attribute::{Attributor, AttributorBuilder};
use baken_model::{OrgId, Organisation};
use baken_store::Store;
use serde::Serialize;

use crate::PipelineError;

/// What a registry import changed, organisation by organisation (matched by id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RegistryImport {
    /// Organisations in the registry after the import.
    pub organisations: u64,
    /// Organisations that were not registered before.
    pub added: u64,
    /// Registered organisations the file does not have, now gone.
    pub removed: u64,
    /// Organisations in both whose entry changed.
    pub changed: u64,
    /// Organisations in both with the same entry.
    pub unchanged: u64,
}

/// Loads a registry file (TOML, JSON, JSON lines or CSV), checks it for conflicts, and
/// replaces the stored registry with it. Returns what changed.
///
/// An import that would leave the registry empty, or remove more than half of the
/// registered organisations (a file that is empty, truncated or the wrong one), is refused
/// with [`PipelineError::RegistryShrinks`] and changes nothing, unless `replace_all` says that
/// this is meant.
pub fn import_registry(
    store: &mut dyn Store,
    path: &Path,
    replace_all: bool,
) -> Result<RegistryImport, PipelineError> {
    let started = std::time::Instant::now();
    let registered = registered(store)?;
    // read as it is indexed: each organisation compared with the registered one of its id
    // and encoded for the index, never all held as they were read
    let mut builder = AttributorBuilder::new().sorted_by_id();
    let mut change = RegistryImport::default();
    let mut errors = Vec::new();
    for item in RegistryReader::open(path)? {
        match item {
            Err(e) => errors.push(e),
            // after an invalid entry the rest is only checked
            Ok(_) if !errors.is_empty() => {}
            Ok(mut org) => {
                match registered.get(&org.id) {
                    None => change.added += 1,
                    Some(before) => {
                        keep_discovered_contacts(&before, &mut org);
                        if *before == org {
                            change.unchanged += 1;
                        } else {
                            change.changed += 1;
                        }
                    }
                }
                builder.add(&org);
            }
        }
    }
    if !errors.is_empty() {
        return Err(RegistryError::Invalid {
            path: path.to_path_buf(),
            errors,
        }
        .into());
    }
    let read_ms = started.elapsed().as_millis() as u64;
    let before = registered.len() as u64;
    drop(registered);
    change.organisations = builder.len() as u64;
    // an organisation given twice is refused below, when the index is built
    change.removed = before.saturating_sub(change.changed + change.unchanged);
    let shrinks = change.removed > 0 && (builder.is_empty() || change.removed * 2 > before);
    if shrinks && !replace_all {
        return Err(PipelineError::RegistryShrinks {
            path: path.display().to_string(),
            incoming: change.organisations,
            registered: before,
            removed: change.removed,
        });
    }
    // Building the index finds duplicate ids and doubly registered networks, ASNs and
    // domains before anything is replaced; built with the stored routing table and abuse
    // records, it is then saved as it is, not built a second time.
    let attributor = builder.build(store.routing()?, store.abuse_records()?)?;
    let indexed_ms = started.elapsed().as_millis() as u64;
    store.replace_organisations(&mut attributor.each_organisation())?;
    let stored_ms = started.elapsed().as_millis() as u64;
    store.put_attribution_index(&attributor.snapshot())?;
    tracing::debug!(
        organisations = change.organisations,
        read_ms,
        indexed_ms,
        stored_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "registry imported"
    );
    Ok(change)
}

/// Carries the contacts baken discovered (from `security.txt`, with their provenance) over to
/// the same organisation in an incoming registry, after the registry's own contacts and
/// unless it names the same address itself: a registry file knows nothing of them, and
/// importing it again must not drop them.
fn keep_discovered_contacts(previous: &Organisation, org: &mut Organisation) {
    for c in previous.contacts.iter().filter(|c| c.source.is_some()) {
        if !org
            .contacts
            .iter()
            .any(|own| own.email.eq_ignore_ascii_case(&c.email))
        {
            org.contacts.push(c.clone());
        }
    }
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
    // read before the replacement drops it
    let saved = saved_index(store)?;
    store.replace_routing(&source, &table.prefixes)?;
    let entries = table.prefixes.len() as u64;
    drop(table.prefixes);
    reindex_sources(store, saved)?;
    Ok(DataImport {
        entries,
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
    // read before the replacement drops it
    let saved = saved_index(store)?;
    store.replace_abuse("rpsl", &data.records)?;
    reindex_sources(store, saved)?;
    Ok(DataImport {
        entries: data.records.len() as u64,
        skipped: data.problems.iter().map(ToString::to_string).collect(),
        without_contact: data.without_contact as u64,
    })
}

/// The saved attribution index, when there is one that loads: read before a routing table
/// or abuse records are replaced, which drops it.
fn saved_index(store: &dyn Store) -> Result<Option<Attributor>, PipelineError> {
    Ok(store
        .attribution_index()?
        .and_then(|bytes| Attributor::from_snapshot(&bytes).ok()))
}

/// Saves the attribution index over the stored routing table and abuse records: `saved`, the
/// index saved before they were replaced, with those replaced (a national registry is neither
/// decoded nor checked again for a new routing table), else one built from the store.
fn reindex_sources(store: &mut dyn Store, saved: Option<Attributor>) -> Result<(), PipelineError> {
    let started = std::time::Instant::now();
    let rebuilt = saved.is_none();
    let attributor = match saved {
        Some(index) => index.with_sources(store.routing()?, store.abuse_records()?),
        None => crate::attributor_from_store(store)?,
    };
    store.put_attribution_index(&attributor.snapshot())?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        rebuilt,
        "attribution index saved with new routing or abuse records"
    );
    Ok(())
}

/// The registered organisations: from the saved attribution index when there is one (a
/// national registry decodes from it in a fraction of the time its JSON rows take), else
/// from the store.
fn registered(store: &dyn Store) -> Result<Registered, PipelineError> {
    if let Some(bytes) = store.attribution_index()?
        && let Ok(index) = Attributor::from_snapshot(&bytes)
    {
        return Ok(Registered::Index(Box::new(index)));
    }
    Ok(Registered::Rows(store.organisations()?))
}

/// The registered organisations, as [`registered`] found them: in a loaded index (decoded
/// one at a time as asked for, not kept), or as the store's rows (by id).
enum Registered {
    Index(Box<Attributor>),
    Rows(Vec<Organisation>),
}

impl Registered {
    fn len(&self) -> usize {
        match self {
            Registered::Index(index) => index.stats().organisations,
            Registered::Rows(rows) => rows.len(),
        }
    }

    fn get(&self, id: &OrgId) -> Option<Cow<'_, Organisation>> {
        match self {
            Registered::Index(index) => index.organisation_once(id),
            // the store lists them by id, compared byte by byte
            Registered::Rows(rows) => rows
                .binary_search_by(|o| o.id.0.as_str().cmp(id.0.as_str()))
                .ok()
                .map(|i| Cow::Borrowed(&rows[i])),
        }
    }
}

fn source_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
