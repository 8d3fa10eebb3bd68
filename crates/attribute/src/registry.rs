//! The registry of organisations: reading TOML, JSON, JSON lines and CSV files, and checking
//! every entry. The formats are described in the crate documentation.
//!
//! [`load_registry`] reads a whole file and fails with every invalid entry listed;
//! [`RegistryReader`] streams a CSV, JSON-lines or JSON file one organisation at a time, for
//! registries too large to hold in memory.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use baken_model::{Contact, ContactRole, Language, OrgId, OrgKind, Organisation};
use ipnet::IpNet;
use serde::Deserialize;

/// A registry file format, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryFormat {
    /// `.toml`: `[[organisation]]` tables.
    Toml,
    /// `.json`: an array of organisations, or `{"organisations": [...]}`.
    Json,
    /// `.jsonl` or `.ndjson`: one organisation object per line.
    JsonLines,
    /// `.csv`: one organisation per row.
    Csv,
}

impl RegistryFormat {
    /// The format a file's extension names.
    pub fn from_path(path: &Path) -> Result<Self, RegistryError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Ok(RegistryFormat::Toml),
            "json" => Ok(RegistryFormat::Json),
            "jsonl" | "ndjson" => Ok(RegistryFormat::JsonLines),
            "csv" => Ok(RegistryFormat::Csv),
            _ => Err(RegistryError::UnknownFormat {
                path: path.to_path_buf(),
                extension: ext,
            }),
        }
    }
}

/// Why a registry file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be opened or read.
    #[error("cannot read registry {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The extension names no format this crate reads.
    #[error(
        "{}: unknown registry format `.{extension}`; name the file .toml, .json, .jsonl or .csv",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its extension, lower-cased.
        extension: String,
    },
    /// The file as a whole is malformed (TOML or JSON syntax, CSV header).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line, when the parser gives it.
        line: Option<usize>,
        /// What is wrong and what to do.
        message: String,
    },
    /// Some organisations are invalid; all of them are listed.
    #[error("{}{}", errors[0], if errors.len() > 1 { format!(" (and {} more errors)", errors.len() - 1) } else { String::new() })]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every invalid entry, in file order (never empty).
        errors: Vec<EntryError>,
    },
}

/// One invalid organisation entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct EntryError {
    /// The file.
    pub path: PathBuf,
    /// The line the entry starts on, when known (CSV, JSON lines, TOML; JSON parse errors).
    pub line: Option<usize>,
    /// The organisation's id, when it could be read.
    pub id: Option<String>,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(id) = &self.id {
            // an id with control characters is itself the error: shown escaped
            if control_character(id).is_some() {
                write!(f, ": organisation {id:?}")?;
            } else {
                write!(f, ": organisation {id}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A field-level problem found by [`validate_organisation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, by its model name (`networks`, `domains`, `contacts`, …).
    pub field: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// Reads a whole registry file, choosing the format by extension, and checks every entry.
///
/// Fails with [`RegistryError::Invalid`] listing every invalid entry (ids must be unique,
/// networks must be written without host bits, e-mail addresses need an `@`); domains come
/// back lower-cased without a trailing dot.
pub fn load_registry(path: &Path) -> Result<Vec<Organisation>, RegistryError> {
    let reader = RegistryReader::open(path)?;
    let mut orgs = Vec::new();
    let mut errors = Vec::new();
    for item in reader {
        match item {
            Ok(org) => orgs.push(org),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(orgs)
    } else {
        Err(RegistryError::Invalid {
            path: path.to_path_buf(),
            errors,
        })
    }
}

/// Checks one organisation and normalises it in place: trims e-mail addresses, lower-cases
/// domains and strips their trailing dot. Returns the first problem found.
///
/// No text may hold a control character (CR, LF, tab, NUL, DEL, NEL and the rest of Unicode's
/// category Cc) or a line or paragraph separator (U+2028, U+2029): names, sectors and
/// addresses end up in mail headers, where such a character makes every message for the
/// organisation fail at sending time.
pub fn validate_organisation(org: &mut Organisation) -> Result<(), FieldError> {
    let err = |field, message: String| Err(FieldError { field, message });
    let texts = [
        ("id", Some(&org.id.0)),
        ("name", Some(&org.name)),
        ("sector", org.sector.as_ref()),
        ("supervisor", org.supervisor.as_ref()),
        ("cert", org.cert.as_ref()),
    ];
    for (field, text) in texts {
        if let Some(message) = text.and_then(|t| control_character(t)) {
            return err(field, message);
        }
    }
    for domain in &org.domains {
        if let Some(message) = control_character(domain) {
            return err("domains", message);
        }
    }
    for contact in &org.contacts {
        if let Some(message) = control_character(&contact.email) {
            return err("contacts", message);
        }
    }
    if org.id.0.trim().is_empty() {
        return err(
            "id",
            "the id is empty; give every organisation a stable id".into(),
        );
    }
    if let Some(message) = baken_model::Party::reserved_id(&org.id.0) {
        return err("id", message);
    }
    if org.name.trim().is_empty() {
        return err(
            "name",
            "the name is empty; give the organisation a display name".into(),
        );
    }
    for net in &org.networks {
        if net.trunc() != *net {
            return err(
                "networks",
                format!(
                    "network {net} has host bits set; write {} for the network, or {}/{} for the single address",
                    net.trunc(),
                    net.addr(),
                    net.max_prefix_len()
                ),
            );
        }
    }
    for domain in &mut org.domains {
        match normalise_domain(domain) {
            Ok(d) => *domain = d,
            Err(message) => return err("domains", message),
        }
    }
    for contact in &mut org.contacts {
        let email = contact.email.trim();
        if !is_email(email) {
            return err(
                "contacts",
                format!(
                    "`{}` is not an e-mail address; write it as name@domain",
                    contact.email
                ),
            );
        }
        contact.email = email.to_string();
    }
    Ok(())
}

/// What is wrong with `text` if it holds a character that must not reach a mail header: a
/// control character (Unicode category Cc: C0 controls, DEL, C1 controls including NEL) or a
/// line or paragraph separator (U+2028, U+2029).
fn control_character(text: &str) -> Option<String> {
    let (position, c) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))?;
    let name = match c {
        '\0' => " (NUL)",
        '\t' => " (tab)",
        '\n' => " (line feed)",
        '\r' => " (carriage return)",
        '\u{7f}' => " (DEL)",
        '\u{85}' => " (next line, NEL)",
        '\u{2028}' => " (line separator)",
        '\u{2029}' => " (paragraph separator)",
        _ => "",
    };
    Some(format!(
        "{:?} holds the control character U+{:04X}{name} at character {}; remove it: it would \
         break the mail headers of every message for this organisation",
        text,
        u32::from(c),
        position + 1
    ))
}

/// Lower-cases a domain and strips one trailing dot; rejects what cannot be a host name suffix.
pub fn normalise_domain(domain: &str) -> Result<String, String> {
    let d = domain.trim();
    let d = d.strip_suffix('.').unwrap_or(d).to_lowercase();
    if d.is_empty() {
        return Err("a domain is empty; remove it or write the name, e.g. a.example".into());
    }
    if let Some(rest) = d.strip_prefix("*.") {
        return Err(format!(
            "`{domain}`: write the domain without `*.`; `{rest}` already covers every name under it"
        ));
    }
    if d.split('.').any(str::is_empty)
        || d.chars()
            .any(|c| c.is_whitespace() || matches!(c, '@' | '/' | ':' | '*' | ',' | ';'))
    {
        return Err(format!(
            "`{domain}` is not a domain name; write labels separated by single dots, e.g. a.example"
        ));
    }
    Ok(d)
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Streams the organisations of a registry file one at a time, each checked with
/// [`validate_organisation`] and for a unique id.
///
/// CSV, JSON-lines and JSON files are read record by record, so memory stays flat for a
/// registry of millions of organisations (only the ids seen are kept, to find duplicates); a
/// JSON document is parsed on a thread of its own, and its first syntax error ends the
/// stream. TOML documents are parsed whole when opened, then handed out one by one.
///
/// ```no_run
/// use baken_attribute::registry::RegistryReader;
/// # fn main() -> Result<(), baken_attribute::registry::RegistryError> {
/// let mut vital = 0;
/// for org in RegistryReader::open("registry.csv".as_ref())? {
///     match org {
///         Ok(org) if org.vital => vital += 1,
///         Ok(_) => {}
///         Err(e) => eprintln!("skipped: {e}"),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct RegistryReader {
    path: PathBuf,
    source: Source,
    seen: HashSet<String>,
}

enum Source {
    Loaded(std::vec::IntoIter<(Option<usize>, Organisation)>),
    /// The organisations of a JSON document as [`stream_json`] parses them; after an error,
    /// nothing more.
    Json(JsonThread),
    Lines {
        reader: Box<dyn BufRead>,
        line: usize,
        buf: String,
    },
    Csv {
        reader: Box<csv::Reader<File>>,
        columns: Vec<Column>,
        record: csv::StringRecord,
        done: bool,
    },
}

/// The thread parsing a JSON registry and what it sends. Dropped, it stops the thread (its
/// next send fails) and waits for it: the file is closed and nothing runs on once a reader
/// is gone.
struct JsonThread {
    rx: Option<std::sync::mpsc::Receiver<Result<Organisation, serde_json::Error>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for JsonThread {
    fn drop(&mut self) {
        drop(self.rx.take());
        if let Some(thread) = self.thread.take() {
            // a panic on that thread already ended the organisations the reader gave
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for RegistryReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RegistryReader {
    /// Opens a registry file; the format follows from the extension. TOML syntax errors and
    /// bad CSV headers are reported here, entry errors and JSON syntax errors by the
    /// iterator.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let format = RegistryFormat::from_path(path)?;
        let io_err = |source| RegistryError::Io {
            path: path.to_path_buf(),
            source,
        };
        let source = match format {
            RegistryFormat::Toml => {
                let text = std::fs::read_to_string(path).map_err(io_err)?;
                Source::Loaded(parse_toml(path, &text)?.into_iter())
            }
            RegistryFormat::Json => {
                // parsed as it is read, element by element, on a thread of its own: neither
                // a national registry's text nor all its organisations are ever held
                let file = File::open(path).map_err(io_err)?;
                let reader = BufReader::with_capacity(1 << 20, file);
                let (tx, rx) = std::sync::mpsc::sync_channel(1024);
                let thread = std::thread::Builder::new()
                    .name("registry-json".into())
                    .spawn(move || stream_json(reader, &tx))
                    .map_err(io_err)?;
                Source::Json(JsonThread {
                    rx: Some(rx),
                    thread: Some(thread),
                })
            }
            RegistryFormat::JsonLines => Source::Lines {
                reader: Box::new(BufReader::new(File::open(path).map_err(io_err)?)),
                line: 0,
                buf: String::new(),
            },
            RegistryFormat::Csv => {
                let file = File::open(path).map_err(io_err)?;
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .trim(csv::Trim::All)
                    .comment(Some(b'#'))
                    .from_reader(file);
                let headers = reader.headers().map_err(|e| RegistryError::Syntax {
                    path: path.to_path_buf(),
                    line: Some(1),
                    message: format!("cannot read the CSV header: {e}"),
                })?;
                let columns = csv_columns(path, headers)?;
                Source::Csv {
                    reader: Box::new(reader),
                    columns,
                    record: csv::StringRecord::new(),
                    done: false,
                }
            }
        };
        Ok(RegistryReader {
            path: path.to_path_buf(),
            source,
            seen: HashSet::new(),
        })
    }

    fn entry_error(
        &self,
        line: Option<usize>,
        id: Option<&str>,
        field: Option<&str>,
        message: String,
    ) -> EntryError {
        EntryError {
            path: self.path.clone(),
            line,
            id: id.map(str::to_string),
            field: field.map(str::to_string),
            message,
        }
    }

    /// Reads each contact's `pgp_key` — the armored key itself, or the path of a file holding
    /// it, relative to the registry file — and checks that messages can be encrypted to it
    /// now; the contact keeps the armored key. Fails with the field and why.
    fn resolve_keys(&self, org: &mut Organisation) -> Result<(), (String, String)> {
        let now = std::time::SystemTime::now();
        for (i, contact) in org.contacts.iter_mut().enumerate() {
            let Some(given) = &contact.pgp_key else {
                continue;
            };
            let field = format!("contacts[{i}].pgp_key");
            let armored = if given.trim_start().starts_with("-----BEGIN PGP") {
                given.clone()
            } else {
                let file = self
                    .path
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join(given.trim());
                std::fs::read_to_string(&file).map_err(|e| {
                    (
                        field.clone(),
                        format!(
                            "contact {}: cannot read the key file {}: {e}; give the armored key \
                             or a path relative to the registry file",
                            contact.email,
                            file.display()
                        ),
                    )
                })?
            };
            baken_openpgp::PublicKey::for_encryption(&armored, now).map_err(|e| {
                (
                    field.clone(),
                    format!("contact {}: unusable OpenPGP key: {e}", contact.email),
                )
            })?;
            contact.pgp_key = Some(armored);
        }
        Ok(())
    }

    /// Validates and de-duplicates one parsed organisation.
    fn check(
        &mut self,
        line: Option<usize>,
        mut org: Organisation,
    ) -> Result<Organisation, EntryError> {
        if let Err(e) = validate_organisation(&mut org) {
            return Err(self.entry_error(line, Some(&org.id.0), Some(e.field), e.message));
        }
        if let Err((field, message)) = self.resolve_keys(&mut org) {
            return Err(self.entry_error(line, Some(&org.id.0), Some(&field), message));
        }
        if !self.seen.insert(org.id.0.clone()) {
            return Err(self.entry_error(
                line,
                Some(&org.id.0),
                Some("id"),
                "the id is used by an earlier organisation; ids must be unique, merge the two entries or rename one".into(),
            ));
        }
        Ok(org)
    }

    /// The next raw item, before validation.
    fn next_raw(&mut self) -> Option<Result<(Option<usize>, Organisation), EntryError>> {
        match &mut self.source {
            Source::Loaded(items) => items.next().map(Ok),
            Source::Json(json) => match json.rx.as_ref()?.recv().ok()? {
                Ok(org) => Some(Ok((None, org))),
                Err(e) => {
                    self.source = Source::Loaded(Vec::new().into_iter());
                    Some(Err(self.entry_error(
                        Some(e.line()),
                        None,
                        None,
                        format!(
                            "{e}; a JSON registry is an array of organisations or {{\"organisations\": [...]}}"
                        ),
                    )))
                }
            },
            Source::Lines { reader, line, buf } => loop {
                buf.clear();
                *line += 1;
                match reader.read_line(buf) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => {
                        let n = *line;
                        self.source = Source::Loaded(Vec::new().into_iter());
                        return Some(Err(self.entry_error(
                            Some(n),
                            None,
                            None,
                            format!("cannot read the line: {e}"),
                        )));
                    }
                }
                let text = buf.trim();
                if text.is_empty() {
                    continue;
                }
                let n = *line;
                return Some(match serde_json::from_str::<Organisation>(text) {
                    Ok(org) => Ok((Some(n), org)),
                    Err(e) => {
                        let id = json_id(text);
                        Err(self.entry_error(
                            Some(n),
                            id.as_deref(),
                            None,
                            format!("{e}; each line must be one organisation as a JSON object"),
                        ))
                    }
                });
            },
            Source::Csv {
                reader,
                columns,
                record,
                done,
            } => {
                if *done {
                    return None;
                }
                match reader.read_record(record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map(|p| p.line() as usize);
                        Some(
                            csv_organisation(columns, record)
                                .map(|org| (line, org))
                                .map_err(|(id, field, message)| EntryError {
                                    path: self.path.clone(),
                                    line,
                                    id,
                                    field: Some(field.to_string()),
                                    message,
                                }),
                        )
                    }
                    Err(e) => {
                        let line = e.position().map(|p| p.line() as usize);
                        if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                            *done = true;
                        }
                        Some(Err(EntryError {
                            path: self.path.clone(),
                            line,
                            id: None,
                            field: None,
                            message: format!("malformed CSV row: {e}"),
                        }))
                    }
                }
            }
        }
    }
}

impl Iterator for RegistryReader {
    type Item = Result<Organisation, EntryError>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.next_raw()?;
        Some(raw.and_then(|(line, org)| self.check(line, org)))
    }
}

/// The `id` of a JSON object that failed to parse as an organisation, for the message.
fn json_id(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("id")?.as_str().map(str::to_string)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn parse_toml(
    path: &Path,
    text: &str,
) -> Result<Vec<(Option<usize>, Organisation)>, RegistryError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TomlFile {
        #[serde(default)]
        organisation: Vec<toml::Spanned<Organisation>>,
    }
    let file: TomlFile = toml::from_str(text).map_err(|e| RegistryError::Syntax {
        path: path.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: format!(
            "{}; organisations are `[[organisation]]` tables with the fields id, name, kind, sector, vital, wbni, supervisor, cert, networks, asns, domains, contacts (each with email, role, language, pgp_key, report_format)",
            e.message().trim_end()
        ),
    })?;
    Ok(file
        .organisation
        .into_iter()
        .map(|s| {
            let line = line_of(text, s.span().start);
            (Some(line), s.into_inner())
        })
        .collect())
}

/// Parses a JSON registry — an array of organisations, or `{"organisations": [...]}` — and
/// sends each organisation as it is parsed, then the first error if there is one. Stops when
/// the receiver is gone.
fn stream_json(reader: impl io::Read, tx: &SyncSender<Result<Organisation, serde_json::Error>>) {
    use serde::Deserializer as _;
    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    /// The array of organisations: each sent as it is parsed.
    struct Elements<'a>(&'a SyncSender<Result<Organisation, serde_json::Error>>);

    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of organisations or {\"organisations\": [...]}")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(org) = seq.next_element::<Organisation>()? {
                if self.0.send(Ok(org)).is_err() {
                    return Err(de::Error::custom("the reader stopped"));
                }
            }
            Ok(())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = false;
            while let Some(key) = map.next_key::<String>()? {
                if key != "organisations" {
                    return Err(de::Error::unknown_field(&key, &["organisations"]));
                }
                if seen {
                    return Err(de::Error::duplicate_field("organisations"));
                }
                seen = true;
                map.next_value_seed(Elements(self.0))?;
            }
            if !seen {
                return Err(de::Error::missing_field("organisations"));
            }
            Ok(())
        }
    }

    impl<'de> DeserializeSeed<'de> for Elements<'_> {
        type Value = ();

        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = (&mut de)
        .deserialize_any(Elements(tx))
        .and_then(|()| de.end());
    if let Err(e) = parsed {
        // nobody listens any more when the reader stopped
        let _ = tx.send(Err(e));
    }
}

/// The CSV columns, in the documented order.
const CSV_COLUMNS: [&str; 14] = [
    "id",
    "name",
    "kind",
    "sector",
    "vital",
    "wbni_report",
    "wbni_care",
    "supervisor",
    "cert",
    "networks",
    "asns",
    "domains",
    "contacts",
    "language",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Column(usize);

fn csv_columns(path: &Path, headers: &csv::StringRecord) -> Result<Vec<Column>, RegistryError> {
    let mut columns = Vec::new();
    for name in headers {
        let name = name.trim().to_ascii_lowercase();
        match CSV_COLUMNS.iter().position(|c| *c == name) {
            Some(i) if columns.contains(&Column(i)) => {
                return Err(RegistryError::Syntax {
                    path: path.to_path_buf(),
                    line: Some(1),
                    message: format!("column `{name}` appears twice in the header; keep one"),
                });
            }
            Some(i) => columns.push(Column(i)),
            None => {
                return Err(RegistryError::Syntax {
                    path: path.to_path_buf(),
                    line: Some(1),
                    message: format!(
                        "unknown column `{name}` in the header; the columns are {}",
                        CSV_COLUMNS.join(",")
                    ),
                });
            }
        }
    }
    for required in [0, 1] {
        if !columns.contains(&Column(required)) {
            return Err(RegistryError::Syntax {
                path: path.to_path_buf(),
                line: Some(1),
                message: format!(
                    "the header has no `{}` column; the first line must name the columns, e.g. {}",
                    CSV_COLUMNS[required],
                    CSV_COLUMNS.join(",")
                ),
            });
        }
    }
    Ok(columns)
}

/// The values of a multi-valued cell: separated by white space, `;` or `,`.
fn values(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .filter(|v| !v.is_empty())
}

fn parse_bool(cell: &str) -> Result<bool, String> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        _ => Err(format!(
            "`{cell}` is not a yes/no value; write true/false, yes/no or 1/0"
        )),
    }
}

fn parse_kind(cell: &str) -> Result<OrgKind, String> {
    Ok(match cell.to_ascii_lowercase().as_str() {
        "" | "organisation" => OrgKind::Organisation,
        "cert" => OrgKind::Cert,
        "hoster" => OrgKind::Hoster,
        "supervisor" => OrgKind::Supervisor,
        "dtc" => OrgKind::Dtc,
        "national-csirt" => OrgKind::NationalCsirt,
        _ => {
            return Err(format!(
                "unknown kind `{cell}`; use organisation, cert, hoster, supervisor, dtc or national-csirt"
            ));
        }
    })
}

/// Parses an ASN written `64496` or `AS64496`.
pub(crate) fn parse_asn(text: &str) -> Option<u32> {
    let t = text.trim();
    let digits = t
        .strip_prefix("AS")
        .or_else(|| t.strip_prefix("as"))
        .or_else(|| t.strip_prefix("As"))
        .unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_contact(value: &str) -> Result<Contact, String> {
    let (role, email) = match value.split_once(':') {
        Some((role, email)) => {
            let role = match role.to_ascii_lowercase().as_str() {
                "security" => ContactRole::Security,
                "abuse" => ContactRole::Abuse,
                "general" => ContactRole::General,
                _ => {
                    return Err(format!(
                        "unknown contact role `{role}` in `{value}`; write role:email with role security, abuse or general"
                    ));
                }
            };
            (role, email)
        }
        None => (ContactRole::Security, value),
    };
    Ok(Contact {
        email: email.to_string(),
        role,
        ..Default::default()
    })
}

type CsvError = (Option<String>, &'static str, String);

fn csv_organisation(
    columns: &[Column],
    record: &csv::StringRecord,
) -> Result<Organisation, CsvError> {
    let mut org = Organisation {
        id: OrgId(String::new()),
        name: String::new(),
        kind: OrgKind::default(),
        sector: None,
        vital: false,
        wbni: Default::default(),
        supervisor: None,
        cert: None,
        networks: Vec::new(),
        asns: Vec::new(),
        domains: Vec::new(),
        contacts: Vec::new(),
    };
    // The id first, so that every later error can name the organisation.
    if let Some(i) = columns.iter().position(|c| c.0 == 0) {
        org.id = OrgId(record.get(i).unwrap_or("").to_string());
    }
    let id = Some(org.id.0.clone()).filter(|s| !s.is_empty());
    let opt = |cell: &str| Some(cell.to_string()).filter(|s| !s.is_empty());
    let mut language = None;
    for (i, column) in columns.iter().enumerate() {
        let cell = record.get(i).unwrap_or("");
        let name = CSV_COLUMNS[column.0];
        let fail = |message: String| (id.clone(), name, message);
        match column.0 {
            0 => {}
            1 => org.name = cell.to_string(),
            2 => org.kind = parse_kind(cell).map_err(fail)?,
            3 => org.sector = opt(cell),
            4 => org.vital = parse_bool(cell).map_err(fail)?,
            5 => org.wbni.report = parse_bool(cell).map_err(fail)?,
            6 => org.wbni.care = parse_bool(cell).map_err(fail)?,
            7 => org.supervisor = opt(cell),
            8 => org.cert = opt(cell),
            9 => {
                for v in values(cell) {
                    let net: IpNet = v.parse().map_err(|_| {
                        fail(if v.parse::<std::net::IpAddr>().is_ok() {
                            format!(
                                "`{v}` is an address, not a network; write {v}/{} for the single address",
                                if v.contains(':') { 128 } else { 32 }
                            )
                        } else {
                            format!("`{v}` is not a network; write CIDR notation, e.g. 198.18.4.0/24 or 2001:db8::/32")
                        })
                    })?;
                    org.networks.push(net);
                }
            }
            10 => {
                for v in values(cell) {
                    let asn = parse_asn(v).ok_or_else(|| {
                        fail(format!("`{v}` is not an AS number; write 64496 or AS64496"))
                    })?;
                    org.asns.push(asn);
                }
            }
            11 => org.domains.extend(values(cell).map(str::to_string)),
            12 => {
                for v in values(cell) {
                    org.contacts.push(parse_contact(v).map_err(fail)?);
                }
            }
            13 if cell.is_empty() => {}
            13 => {
                language = Some(cell.parse::<Language>().map_err(|_| {
                    fail(format!(
                        "unknown message language `{cell}`; write en (English) or nl (Dutch), or leave the cell empty for the policy's default"
                    ))
                })?)
            }
            _ => unreachable!("CSV_COLUMNS has 14 entries"),
        }
    }
    // the row's language is its contacts' (the contacts cell may come after it)
    for contact in &mut org.contacts {
        contact.language = language;
    }
    Ok(org)
}
