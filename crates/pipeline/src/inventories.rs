//! Bulk inventory import: many organisations' inventories, named by a directory (each file
//! after its organisation: `org-42.csv`, `org-42.cdx.json`, `org-42.spdx.json`) or by a
//! manifest (CSV `org,file` or TOML `[[inventory]] org = … file = …`), imported in one
//! store transaction.
//!
//! **All or nothing**: every file is read and checked first; when an organisation is not
//! in the registry, or a file cannot be read or is no inventory, nothing is imported and
//! every such problem is returned with its file and reason. Entries that cannot be read
//! inside a file that can are skipped and reported, as by the single import.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use baken_attribute::Attributor;
use baken_matching::inventory::Location;
use baken_model::OrgId;
use baken_store::{InventoryRecord, InventoryReplacement, Store};
use serde::{Deserialize, Serialize};

use crate::{PipelineError, Progress};

/// One inventory file and the organisation whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryFile {
    /// The organisation's registry id.
    pub org: String,
    /// The file.
    pub path: PathBuf,
}

/// A file (or manifest line) that stops a bulk import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    /// The file, or the manifest and its line.
    pub file: String,
    /// The organisation, where known.
    pub org: Option<String>,
    /// What is wrong and what to do.
    pub reason: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.org {
            Some(org) => write!(f, "{} ({org}): {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// What a bulk import did.
#[derive(Debug, Clone, Serialize)]
pub struct BulkInventoryImport {
    /// Per file imported: organisation, file, entries stored, entries skipped (with file,
    /// place and field). Empty when anything was refused.
    pub imported: Vec<ImportedFile>,
    /// Entries stored in all.
    pub entries: usize,
    /// The files that stopped the import; when not empty, nothing was imported.
    pub refused: Vec<FileProblem>,
}

/// One file of a bulk import that was imported.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedFile {
    /// The organisation.
    pub org: String,
    /// The file.
    pub file: String,
    /// Entries stored.
    pub entries: usize,
    /// Entries that could not be read, with file, place and field.
    pub problems: Vec<String>,
}

/// The extensions of inventory files in a directory, longest first: what is left of the
/// name is the organisation's id.
const EXTENSIONS: &[&str] = &[".cdx.json", ".spdx.json", ".csv", ".json"];

/// The organisation a file in an inventory directory belongs to, by its name: `org-42.csv`
/// → `org-42`. `None` for a name without one of the inventory extensions.
pub fn org_of_file_name(name: &str) -> Option<&str> {
    let lower = name.to_ascii_lowercase();
    EXTENSIONS.iter().find_map(|ext| {
        lower
            .ends_with(ext)
            .then(|| &name[..name.len() - ext.len()])
            .filter(|org| !org.is_empty())
    })
}

/// The inventory files of `dir` (not its subdirectories; hidden files ignored), each named
/// after its organisation, in name order; files with other names are problems.
pub fn files_in_dir(dir: &Path) -> Result<(Vec<InventoryFile>, Vec<FileProblem>), PipelineError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        PipelineError::Usage(format!("cannot read the directory {}: {e}", dir.display()))
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            PipelineError::Usage(format!("cannot read the directory {}: {e}", dir.display()))
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || entry.path().is_dir() {
            continue;
        }
        paths.push((name, entry.path()));
    }
    paths.sort();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for (name, path) in paths {
        match org_of_file_name(&name) {
            Some(org) => files.push(InventoryFile {
                org: org.to_string(),
                path,
            }),
            None => problems.push(FileProblem {
                file: path.display().to_string(),
                org: None,
                reason: "not named ORG.csv, ORG.cdx.json, ORG.spdx.json or ORG.json after its organisation; rename it or move it out of the directory".into(),
            }),
        }
    }
    Ok((files, problems))
}

/// `[[inventory]]` of a TOML manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlManifest {
    #[serde(default)]
    inventory: Vec<ManifestEntry>,
}

/// One manifest entry: an organisation and a file, relative to the manifest's directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    org: String,
    file: PathBuf,
}

/// The files a manifest names: CSV with the header `org,file`, or TOML (`.toml`) with
/// `[[inventory]]` tables of `org` and `file`. Relative paths are taken from the
/// manifest's directory. A line that cannot be read is a problem naming it.
pub fn files_in_manifest(
    manifest: &Path,
) -> Result<(Vec<InventoryFile>, Vec<FileProblem>), PipelineError> {
    let name = manifest.display().to_string();
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| PipelineError::Usage(format!("cannot read the manifest {name}: {e}")))?;
    let base = manifest.parent().unwrap_or(Path::new(""));
    let place = |path: PathBuf| {
        if path.is_absolute() {
            path
        } else {
            base.join(path)
        }
    };
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let is_toml = manifest
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml {
        let parsed: TomlManifest = toml::from_str(&text).map_err(|e| {
            PipelineError::Usage(format!(
                "{name}: not a manifest of [[inventory]] tables with org and file: {e}"
            ))
        })?;
        for entry in parsed.inventory {
            files.push(InventoryFile {
                org: entry.org,
                path: place(entry.file),
            });
        }
        return Ok((files, problems));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| PipelineError::Usage(format!("{name}: line 1: {e}")))?
        .clone();
    let column = |want: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(want));
    let (Some(org_col), Some(file_col)) = (column("org"), column("file")) else {
        return Err(PipelineError::Usage(format!(
            "{name}: line 1: the header must name the columns org and file (e.g. `org,file`), not {:?}",
            headers.iter().collect::<Vec<_>>()
        )));
    };
    for record in reader.records() {
        let line_of = |r: &csv::StringRecord| r.position().map_or(0, |p| p.line());
        match record {
            Ok(r) => {
                let org = r.get(org_col).unwrap_or("");
                let file = r.get(file_col).unwrap_or("");
                if org.is_empty() || file.is_empty() {
                    problems.push(FileProblem {
                        file: format!("{name}: line {}", line_of(&r)),
                        org: (!org.is_empty()).then(|| org.to_string()),
                        reason: "both org and file must be given".into(),
                    });
                    continue;
                }
                files.push(InventoryFile {
                    org: org.to_string(),
                    path: place(PathBuf::from(file)),
                });
            }
            Err(e) => problems.push(FileProblem {
                file: name.clone(),
                org: None,
                reason: e.to_string(),
            }),
        }
    }
    Ok((files, problems))
}

/// Reads every file of `files`, then — when none was refused and `listing_problems` is
/// empty — replaces each organisation's inventory from that file in one transaction.
/// `progress` counts files read.
pub fn import_inventories(
    store: &mut dyn Store,
    attributor: &Attributor,
    files: &[InventoryFile],
    listing_problems: Vec<FileProblem>,
    progress: &dyn Progress,
) -> Result<BulkInventoryImport, PipelineError> {
    progress.expect(files.len() as u64);
    let mut refused = listing_problems;
    let mut seen = BTreeSet::new();
    let mut read = Vec::with_capacity(files.len());
    for f in files {
        let file = f.path.display().to_string();
        let problem = |reason: String| FileProblem {
            file: file.clone(),
            org: Some(f.org.clone()),
            reason,
        };
        progress.advance(1);
        if !seen.insert((f.org.as_str(), file.clone())) {
            refused.push(problem("named twice for the same organisation".into()));
            continue;
        }
        if !attributor.is_registered(&OrgId(f.org.clone())) {
            refused.push(problem(
                "organisation not in the registry; import the registry first or check the id (the file name or manifest)".into(),
            ));
            continue;
        }
        match baken_matching::inventory::read_path(&f.org, &f.path) {
            Ok(inventory) => {
                let records: Vec<InventoryRecord> = inventory
                    .entries
                    .iter()
                    .map(|e| InventoryRecord {
                        org: f.org.clone(),
                        source: file.clone(),
                        cpe: e.cpe.clone(),
                        purl: e.purl.clone(),
                        name: e.name.clone(),
                        version: e.version.clone(),
                        host: e.host.clone(),
                        place: e.source.clone(),
                    })
                    .collect();
                let problems = inventory.problems.iter().map(ToString::to_string).collect();
                read.push((f, file, records, problems));
            }
            Err(e) => refused.push(problem(match e.location {
                Location::File => e.message,
                _ => e.to_string(),
            })),
        }
    }
    if !refused.is_empty() {
        return Ok(BulkInventoryImport {
            imported: Vec::new(),
            entries: 0,
            refused,
        });
    }
    let batch: Vec<InventoryReplacement<'_>> = read
        .iter()
        .map(|(f, file, records, _)| InventoryReplacement {
            org: &f.org,
            source: file,
            entries: records,
        })
        .collect();
    store.replace_inventories(&batch)?;
    let entries = read.iter().map(|(_, _, r, _)| r.len()).sum();
    tracing::info!(files = read.len(), entries, "inventories imported");
    Ok(BulkInventoryImport {
        imported: read
            .into_iter()
            .map(|(f, file, records, problems)| ImportedFile {
                org: f.org.clone(),
                file,
                entries: records.len(),
                problems,
            })
            .collect(),
        entries,
        refused: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_from_file_name() {
        for (name, org) in [
            ("org-42.csv", Some("org-42")),
            ("org-42.CSV", Some("org-42")),
            ("org-42.cdx.json", Some("org-42")),
            ("org-42.spdx.json", Some("org-42")),
            ("zorg.example.json", Some("zorg.example")),
            (".csv", None),
            ("org-42.txt", None),
            ("README.md", None),
        ] {
            assert_eq!(org_of_file_name(name), org, "{name}");
        }
    }
}
