//! Shadowserver's published report schema (IntelMQ's `intelmq.json`), loaded at run time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::convert::Conversion;

/// The environment variable that names the schema file.
pub const SCHEMA_ENV: &str = "BAKEN_SHADOWSERVER_SCHEMA";

/// A problem with the schema file.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("{path}: cannot read the shadowserver schema: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a schema.
    #[error("{path}: not a shadowserver schema: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No schema file was found where one is looked for.
    #[error(
        "shadowserver schema not found; tried {}; set {SCHEMA_ENV} or pass the schema path",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotFound {
        /// The paths tried, in order.
        tried: Vec<PathBuf>,
    },
}

/// Where a column's value goes (the first element of a schema field rule).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An IntelMQ field such as `source.ip` (or `extra.name`).
    Key(String),
    /// `false`: the column is consumed and dropped.
    Ignore,
    /// Any other JSON value: IntelMQ fails on it when the value is used.
    Broken,
}

/// One `[intelmq key, column, conversion?, pass row?]` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    /// Where the value goes.
    pub target: Target,
    /// The CSV column.
    pub column: String,
    /// The conversion function, if any.
    pub conversion: Option<Conversion>,
    /// Whether the conversion also receives the whole row.
    pub with_row: bool,
}

/// One report type of the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The schema's key for the report.
    pub id: String,
    /// `file_name`: the report part of the CSV file name (`scan_http_vulnerable`).
    pub file_name: String,
    /// `feed_name`: the name IntelMQ puts into `feed.name`.
    pub feed_name: String,
    /// `url`: the documentation page, put into `feed.documentation`.
    pub url: Option<String>,
    /// Rules whose failure fails the row.
    pub required: Vec<FieldRule>,
    /// Rules whose invalid values go to `extra`.
    pub optional: Vec<FieldRule>,
    /// Fields set on every event, in schema order.
    pub constants: Vec<(String, Value)>,
}

/// The whole schema: report types by `file_name` and `feed_name`.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    reports: Vec<Report>,
    by_file_name: HashMap<String, usize>,
    by_feed_name: HashMap<String, usize>,
    created: Option<String>,
}

impl Schema {
    /// Reads the schema from `path`.
    pub fn load(path: &Path) -> Result<Schema, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Schema::from_json(&text).map_err(|message| SchemaError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Reads the schema from the file [`Schema::default_path`] finds.
    pub fn load_default() -> Result<Schema, SchemaError> {
        Schema::load(&Schema::default_path()?)
    }

    /// Where the schema is looked for when none is given, in this order: the file named by
    /// `BAKEN_SHADOWSERVER_SCHEMA`; `../shared/data/shadowserver/shadowserver-schema.json`
    /// relative to the current directory; the same beside the source tree baken was built
    /// from. The first that exists wins.
    pub fn default_path() -> Result<PathBuf, SchemaError> {
        let mut tried = Vec::new();
        if let Some(p) = std::env::var_os(SCHEMA_ENV) {
            tried.push(PathBuf::from(p));
        }
        tried.push(PathBuf::from(
            "../shared/data/shadowserver/shadowserver-schema.json",
        ));
        tried.push(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/shadowserver/shadowserver-schema.json"
        )));
        match tried.iter().find(|p| p.is_file()) {
            Some(p) => Ok(p.clone()),
            None => Err(SchemaError::NotFound { tried }),
        }
    }

    /// Parses a schema from its JSON text.
    pub fn from_json(text: &str) -> Result<Schema, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Value::Object(map) = root else {
            return Err("the top level is not an object".into());
        };
        let mut schema = Schema::default();
        for (id, body) in &map {
            if id == "_meta" {
                schema.created = body
                    .get("date_created")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                continue;
            }
            let report = parse_report(id, body).map_err(|e| format!("report {id:?}: {e}"))?;
            let idx = schema.reports.len();
            // later entries win, as in IntelMQ's dicts
            schema.by_file_name.insert(report.file_name.clone(), idx);
            schema.by_feed_name.insert(report.feed_name.clone(), idx);
            schema.reports.push(report);
        }
        Ok(schema)
    }

    /// All report types, in schema order.
    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    /// The schema's `_meta.date_created`.
    pub fn created(&self) -> Option<&str> {
        self.created.as_deref()
    }

    /// The report whose `file_name` is `name`.
    pub fn by_file_name(&self, name: &str) -> Option<&Report> {
        self.by_file_name.get(name).map(|&i| &self.reports[i])
    }

    /// The report whose `feed_name` is `name`.
    pub fn by_feed_name(&self, name: &str) -> Option<&Report> {
        self.by_feed_name.get(name).map(|&i| &self.reports[i])
    }

    /// The report named `name`, by `file_name` or else by `feed_name`.
    pub fn report(&self, name: &str) -> Option<&Report> {
        self.by_file_name(name).or_else(|| self.by_feed_name(name))
    }

    /// The report a CSV file name stands for, as IntelMQ detects it (see
    /// [`report_name_from_file_name`]).
    pub fn detect(&self, file_name: &str) -> Option<&Report> {
        report_name_from_file_name(file_name).and_then(|n| self.by_file_name(n))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The report part of a Shadowserver file name, as IntelMQ's
/// `^(?:\d{4}-\d{2}-\d{2}-)?(\w+)(-\w+)*\.csv$` captures it:
/// `2026-03-24-scan_http_vulnerable-nl-geo-asn.csv` → `scan_http_vulnerable`.
pub fn report_name_from_file_name(name: &str) -> Option<&str> {
    let rest = name.strip_suffix(".csv")?;
    let b = rest.as_bytes();
    let has_date = b.len() > 11
        && b[..11].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 | 10 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    let body = if has_date { &rest[11..] } else { rest };
    let mut parts = body.split('-');
    let first = parts.next()?;
    let words_ok = |p: &str| !p.is_empty() && p.chars().all(is_word_char);
    if !words_ok(first) || !parts.all(words_ok) {
        return None;
    }
    Some(first)
}

fn parse_rules(body: &Value, key: &str) -> Result<Vec<FieldRule>, String> {
    let Some(list) = body.get(key) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| format!("{key} is not a list"))?;
    list.iter()
        .map(|item| {
            let a = item
                .as_array()
                .filter(|a| a.len() >= 2)
                .ok_or_else(|| format!("{key}: {item} is not a list of at least two"))?;
            let target = match &a[0] {
                Value::String(s) => Target::Key(s.clone()),
                Value::Bool(false) => Target::Ignore,
                _ => Target::Broken,
            };
            let column = a[1]
                .as_str()
                .ok_or_else(|| format!("{key}: column {} is not a string", a[1]))?
                .to_string();
            let conversion = match a.get(2) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(Conversion::from_name(s)),
                Some(other) => Some(Conversion::Unknown(other.to_string())),
            };
            let with_row = a.len() == 4 && a[3].as_bool().unwrap_or(!a[3].is_null());
            Ok(FieldRule {
                target,
                column,
                conversion,
                with_row,
            })
        })
        .collect()
}

fn parse_report(id: &str, body: &Value) -> Result<Report, String> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let constants = match body.get("constant_fields") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    };
    Ok(Report {
        id: id.to_string(),
        file_name: s("file_name").ok_or("no file_name")?,
        feed_name: s("feed_name").ok_or("no feed_name")?,
        url: s("url"),
        required: parse_rules(body, "required_fields")?,
        optional: parse_rules(body, "optional_fields")?,
        constants,
    })
}
