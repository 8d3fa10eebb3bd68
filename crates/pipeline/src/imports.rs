//! Imports of the registry and of public routing and registry data into the store.

use std::cmp::Ordering;
use std::path::Path;

use baken_attribute::Attributor;
use baken_attribute::registry::load_registry;
use baken_attribute::routing::load_routing;
use baken_attribute::rpsl::load_rpsl;
use baken_model::Organisation;
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

impl RegistryImport {
    /// Compares the registered organisations with the incoming ones; both sorted by id.
    fn between(before: &[Organisation], after: &[Organisation]) -> Self {
        let mut change = RegistryImport {
            organisations: after.len() as u64,
            ..RegistryImport::default()
        };
        let (mut old, mut new) = (before.iter().peekable(), after.iter().peekable());
        loop {
            match (old.peek(), new.peek()) {
                (None, None) => break,
                (Some(_), None) => {
                    change.removed += 1;
                    old.next();
                }
                (None, Some(_)) => {
                    change.added += 1;
                    new.next();
                }
                (Some(a), Some(b)) => match a.id.0.cmp(&b.id.0) {
                    Ordering::Less => {
                        change.removed += 1;
                        old.next();
                    }
                    Ordering::Greater => {
                        change.added += 1;
                        new.next();
                    }
                    Ordering::Equal => {
                        if a == b {
                            change.unchanged += 1;
                        } else {
                            change.changed += 1;
                        }
                        old.next();
                        new.next();
                    }
                },
            }
        }
        change
    }
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
    let mut orgs = load_registry(path)?;
    let read_ms = started.elapsed().as_millis() as u64;
    // in the order the store gives them back, so that the saved index and one built from
    // the store list them alike
    orgs.sort_by(|a, b| a.id.0.cmp(&b.id.0));
    let registered = registered(store)?;
    let mut before = std::borrow::Cow::Borrowed(registered.organisations());
    if !before.is_sorted_by(|a, b| a.id.0 <= b.id.0) {
        before.to_mut().sort_by(|a, b| a.id.0.cmp(&b.id.0));
    }
    keep_discovered_contacts(&before, &mut orgs);
    let change = RegistryImport::between(&before, &orgs);
    let shrinks =
        change.removed > 0 && (orgs.is_empty() || change.removed * 2 > before.len() as u64);
    if shrinks && !replace_all {
        return Err(PipelineError::RegistryShrinks {
            path: path.display().to_string(),
            incoming: orgs.len() as u64,
            registered: before.len() as u64,
            removed: change.removed,
        });
    }
    drop(before);
    drop(registered);
    // Building the index checks for duplicate ids and doubly registered networks, ASNs and
    // domains before anything is replaced; built with the stored routing table and abuse
    // records, it is then saved as it is, not built a second time.
    let attributor = Attributor::new(orgs, store.routing()?, store.abuse_records()?)?;
    let indexed_ms = started.elapsed().as_millis() as u64;
    let orgs = attributor.organisations();
    store.replace_organisations(orgs)?;
    let stored_ms = started.elapsed().as_millis() as u64;
    store.put_attribution_index(&attributor.snapshot())?;
    tracing::debug!(
        organisations = orgs.len(),
        read_ms,
        indexed_ms,
        stored_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "registry imported"
    );
    Ok(change)
}

/// Carries the contacts baken discovered (from `security.txt`, with their provenance) over to
/// the same organisations in an incoming registry, after the registry's own contacts and
/// unless it names the same address itself: a registry file knows nothing of them, and
/// importing it again must not drop them. Both lists are sorted by id.
fn keep_discovered_contacts(before: &[Organisation], incoming: &mut [Organisation]) {
    let mut old = before.iter().peekable();
    for org in incoming.iter_mut() {
        while old.peek().is_some_and(|o| o.id.0 < org.id.0) {
            old.next();
        }
        let Some(previous) = old.peek().filter(|o| o.id == org.id) else {
            continue;
        };
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
    reindex_sources(store)?;
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
    reindex_sources(store)?;
    Ok(DataImport {
        entries: data.records.len() as u64,
        skipped: data.problems.iter().map(ToString::to_string).collect(),
        without_contact: data.without_contact as u64,
    })
}

/// Saves the attribution index over the stored routing table and abuse records: the saved
/// index with those replaced, its organisations as they were saved (a national registry is
/// neither decoded nor checked again for a new routing table), else one built from the store.
fn reindex_sources(store: &mut dyn Store) -> Result<(), PipelineError> {
    let started = std::time::Instant::now();
    let attributor =
        crate::attributor_from_store(store)?.with_sources(store.routing()?, store.abuse_records()?);
    store.put_attribution_index(&attributor.snapshot())?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
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

/// The registered organisations, as [`registered`] found them: in a loaded index (read from
/// it, not copied out), or as the store's rows.
enum Registered {
    Index(Box<Attributor>),
    Rows(Vec<Organisation>),
}

impl Registered {
    fn organisations(&self) -> &[Organisation] {
        match self {
            Registered::Index(index) => index.organisations(),
            Registered::Rows(rows) => rows,
        }
    }
}

fn source_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
