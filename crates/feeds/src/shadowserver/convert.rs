//! The conversion functions of IntelMQ's Shadowserver parser (`_config.py`), by name.

use std::borrow::Cow;

use base64::Engine;

use super::harmonize;
use super::pydate;
use super::pyval::{PyVal, is_py_space, py_float, py_int};

/// A conversion function named in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversion {
    /// `add_UTC_to_timestamp`: appends `" UTC"`.
    AddUtcToTimestamp,
    /// `convert_bool`: yes/no words to a boolean, else `None`.
    ConvertBool,
    /// `validate_to_none`: `""`, `"0"` and `"unknown"` to `None`.
    ValidateToNone,
    /// `convert_int`: an integer, `None` when empty.
    ConvertInt,
    /// `convert_float`: a float, `None` when empty.
    ConvertFloat,
    /// `convert_http_host_and_url`: a URL from the row's host and path columns.
    ConvertHttpHostAndUrl,
    /// `invalidate_zero`: an integer, `None` when empty or zero.
    InvalidateZero,
    /// `validate_ip`: the value when it is a single valid IP address.
    ValidateIp,
    /// `validate_network`: the value when it is a valid network with a `/`.
    ValidateNetwork,
    /// `validate_fqdn`: the value when it is a valid domain name.
    ValidateFqdn,
    /// `convert_date`: IntelMQ's date-time sanitisation.
    ConvertDate,
    /// `convert_date_utc`: the same after appending `+00:00`.
    ConvertDateUtc,
    /// `force_base64`: base64-encodes the value unless it already is base64.
    ForceBase64,
    /// `scan_exchange_taxonomy`.
    ScanExchangeTaxonomy,
    /// `scan_exchange_type`.
    ScanExchangeType,
    /// `scan_exchange_identifier`.
    ScanExchangeIdentifier,
    /// `category_or_detail`: the row's `category`, else its `detail`.
    CategoryOrDetail,
    /// `extract_cve_from_tag`: the sorted CVE identifiers in a `;`-separated tag list.
    ExtractCveFromTag,
    /// A name this version does not know. IntelMQ skips it for optional fields and fails
    /// the row for required ones.
    Unknown(String),
}

impl Conversion {
    /// The conversion called `name` in the schema.
    pub fn from_name(name: &str) -> Conversion {
        match name {
            "add_UTC_to_timestamp" => Conversion::AddUtcToTimestamp,
            "convert_bool" => Conversion::ConvertBool,
            "validate_to_none" => Conversion::ValidateToNone,
            "convert_int" => Conversion::ConvertInt,
            "convert_float" => Conversion::ConvertFloat,
            "convert_http_host_and_url" => Conversion::ConvertHttpHostAndUrl,
            "invalidate_zero" => Conversion::InvalidateZero,
            "validate_ip" => Conversion::ValidateIp,
            "validate_network" => Conversion::ValidateNetwork,
            "validate_fqdn" => Conversion::ValidateFqdn,
            "convert_date" => Conversion::ConvertDate,
            "convert_date_utc" => Conversion::ConvertDateUtc,
            "force_base64" => Conversion::ForceBase64,
            "scan_exchange_taxonomy" => Conversion::ScanExchangeTaxonomy,
            "scan_exchange_type" => Conversion::ScanExchangeType,
            "scan_exchange_identifier" => Conversion::ScanExchangeIdentifier,
            "category_or_detail" => Conversion::CategoryOrDetail,
            "extract_cve_from_tag" => Conversion::ExtractCveFromTag,
            other => Conversion::Unknown(other.to_string()),
        }
    }

    /// Whether the name is one IntelMQ 3.5.0 knows.
    pub fn is_known(&self) -> bool {
        !matches!(self, Conversion::Unknown(_))
    }
}

/// Read access to the current row, as the Python `row` dict: `None` when the column is not
/// in the header, `Some(None)` when the row is too short to have it.
pub(crate) trait RowLookup {
    fn get(&self, column: &str) -> Option<Option<&str>>;
}

/// Why a conversion raised (IntelMQ fails the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConvertError(pub String);

/// Applies `conv` to `value`; `row` is passed to the functions that take it.
pub(crate) fn apply<'a>(
    conv: &Conversion,
    value: &'a str,
    row: &'a dyn RowLookup,
    with_row: bool,
) -> Result<PyVal<'a>, ConvertError> {
    Ok(match conv {
        Conversion::AddUtcToTimestamp => {
            let mut s = String::with_capacity(value.len() + 4);
            s.push_str(value);
            s.push_str(" UTC");
            PyVal::string(s)
        }
        Conversion::ConvertBool => match value.to_lowercase().as_str() {
            "y" | "yes" | "true" | "enabled" | "1" => PyVal::Bool(true),
            "n" | "no" | "false" | "disabled" | "0" => PyVal::Bool(false),
            _ => PyVal::None,
        },
        Conversion::ValidateToNone => match value {
            "" | "0" | "unknown" => PyVal::None,
            v => PyVal::str(v),
        },
        Conversion::ConvertInt => {
            if value.is_empty() {
                PyVal::None
            } else {
                PyVal::Int(int(value)?)
            }
        }
        Conversion::ConvertFloat => {
            if value.is_empty() {
                PyVal::None
            } else {
                PyVal::Float(py_float(value).ok_or_else(|| {
                    ConvertError(format!("could not convert string to float: {value:?}"))
                })?)
            }
        }
        Conversion::InvalidateZero => {
            if value.is_empty() {
                PyVal::None
            } else {
                match int(value)? {
                    0 => PyVal::None,
                    i => PyVal::Int(i),
                }
            }
        }
        Conversion::ValidateIp => {
            // a dotted quad is its own sanitised form: valid unless it is 0.0.0.0
            if let Some(a) = super::net::parse_v4(value) {
                return Ok(if a != 0 {
                    PyVal::str(value)
                } else {
                    PyVal::None
                });
            }
            let ok = value != "0.0.0.0"
                && !value.contains('/')
                && harmonize::ip_sanitize(PyVal::str(value))
                    .is_some_and(|s| harmonize::ip_is_valid(&PyVal::string(s)));
            if ok { PyVal::str(value) } else { PyVal::None }
        }
        Conversion::ValidateNetwork => {
            let ok =
                value.contains('/') && harmonize::network_sanitize(PyVal::str(value)).is_some();
            if ok { PyVal::str(value) } else { PyVal::None }
        }
        Conversion::ValidateFqdn => {
            let ok = !value.is_empty()
                && harmonize::fqdn_sanitize(PyVal::str(value))
                    .is_some_and(|s| harmonize::fqdn_is_valid(&PyVal::string(s)));
            if ok { PyVal::str(value) } else { PyVal::None }
        }
        Conversion::ConvertDate => date(value),
        Conversion::ConvertDateUtc => date(&format!("{value}+00:00")),
        Conversion::ForceBase64 => force_base64(value)?,
        Conversion::ScanExchangeTaxonomy => PyVal::str(if value.contains("webshell") {
            "intrusions"
        } else {
            "vulnerable"
        }),
        Conversion::ScanExchangeType => PyVal::str(if value.contains("webshell") {
            "system-compromise"
        } else {
            "vulnerable-system"
        }),
        Conversion::ScanExchangeIdentifier => PyVal::str(if value.contains("webshell") {
            "exchange-server-webshell"
        } else {
            "vulnerable-exchange-server"
        }),
        Conversion::ExtractCveFromTag => extract_cve_from_tag(value),
        Conversion::ConvertHttpHostAndUrl => {
            if !with_row {
                return Err(ConvertError(
                    "missing 1 required positional argument: 'row'".into(),
                ));
            }
            http_host_and_url(value, row)
        }
        Conversion::CategoryOrDetail => {
            if !with_row {
                return Err(ConvertError(
                    "missing 1 required positional argument: 'row'".into(),
                ));
            }
            match row.get("category") {
                Some(None) => PyVal::None,
                Some(Some(c)) if !c.is_empty() => PyVal::str(c),
                _ => match row.get("detail") {
                    None => PyVal::str(""),
                    Some(None) => PyVal::None,
                    Some(Some(d)) => PyVal::str(d),
                },
            }
        }
        Conversion::Unknown(name) => {
            return Err(ConvertError(format!(
                "unknown conversion function {name:?}"
            )));
        }
    })
}

fn int(value: &str) -> Result<i64, ConvertError> {
    py_int(value)
        .ok_or_else(|| ConvertError(format!("invalid literal for int() with base 10: {value:?}")))
}

fn date(value: &str) -> PyVal<'static> {
    match pydate::sanitize(value) {
        Some(s) => PyVal::string(s),
        None => PyVal::None,
    }
}

/// `force_base64`: `binascii.a2b_base64(value, strict_mode=True)` of Python 3.11 decides.
fn force_base64(value: &str) -> Result<PyVal<'_>, ConvertError> {
    if value.is_empty() {
        return Ok(PyVal::None);
    }
    if !value.is_ascii() {
        return Err(ConvertError(
            "string argument should contain only ASCII characters".into(),
        ));
    }
    if is_strict_base64(value.as_bytes()) {
        Ok(PyVal::str(value))
    } else {
        Ok(PyVal::string(
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes()),
        ))
    }
}

fn is_strict_base64(b: &[u8]) -> bool {
    let mut quad_pos = 0;
    let mut pads = 0;
    let mut padding_started = false;
    for (i, &c) in b.iter().enumerate() {
        if c == b'=' {
            padding_started = true;
            if i == 0 {
                return false;
            }
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return i + 1 == b.len();
                }
            }
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/') || padding_started {
            return false;
        }
        pads = 0;
        quad_pos = (quad_pos + 1) % 4;
    }
    quad_pos == 0
}

/// `extract_cve_from_tag`.
fn extract_cve_from_tag(tag: &str) -> PyVal<'static> {
    let mut cves: Vec<&str> = tag
        .split(';')
        .filter(|t| {
            // re.match('^cve-[0-9]+-[0-9]+$', t); `$` also matches before a final newline
            let t = t.strip_suffix('\n').unwrap_or(t);
            t.strip_prefix("cve-")
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().all(|c| c.is_ascii_digit())
                        && b.bytes().all(|c| c.is_ascii_digit())
                })
        })
        .collect();
    if cves.is_empty() {
        return PyVal::None;
    }
    cves.sort_unstable();
    cves.dedup();
    PyVal::string(cves.join(";"))
}

/// `convert_http_host_and_url`.
fn http_host_and_url<'a>(value: &'a str, row: &'a dyn RowLookup) -> PyVal<'a> {
    // Python: hostname = '' then overwritten by row.get(...) which may be None (short row)
    let mut hostname: Option<&str> = Some("");
    let falsy = |h: Option<&str>| h.is_none_or(str::is_empty);
    if let Some(v) = row.get("cc_dns") {
        hostname = v;
    }
    for key in ["http_host", "hostname", "ip"] {
        if falsy(hostname)
            && let Some(v) = row.get(key)
        {
            hostname = v;
        }
    }
    let path: Option<&str> = match (row.get("url"), row.get("http_url")) {
        (Some(v), _) => v,
        (None, Some(v)) => v,
        (None, None) => Some(""),
    };
    match (hostname, path) {
        (Some(h), Some(p)) if !h.is_empty() && !p.is_empty() => {
            // re.sub(r'^[^/]*', '', path)
            let p = &p[p.find('/').unwrap_or(p.len())..];
            let p = strip_from_space_to_end(p);
            let application = match row.get("application") {
                Some(Some(a)) if a == "http" || a == "https" => a,
                _ => "http",
            };
            PyVal::string(format!("{application}://{h}{p}"))
        }
        _ => PyVal::str(value),
    }
}

/// `re.sub(r'\s.*$', '', s)`: cut at the first white space from which `.*` (which cannot
/// cross a newline) reaches the end or a final newline.
fn strip_from_space_to_end(s: &str) -> Cow<'_, str> {
    for (i, c) in s.char_indices() {
        if !is_py_space(c) {
            continue;
        }
        let rest = &s[i + c.len_utf8()..];
        match rest.find('\n') {
            Some(k) if k + 1 != rest.len() => continue,
            _ => return Cow::Owned(s[..i].to_string()),
        }
    }
    Cow::Borrowed(s)
}
