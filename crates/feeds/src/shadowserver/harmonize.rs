//! IntelMQ's harmonisation (`intelmq/lib/harmonization.py`, `etc/harmonization.conf`) and
//! `Message.add()`: how a value is sanitised, validated and stored in an event.

use std::borrow::Cow;

use base64::Engine;
use serde_json::Value;

use super::net;
use super::pydate;
use super::pyval::{
    PyVal, float_repr, is_lowercase, is_py_space, is_uppercase, py_float, py_int, py_strip,
};

/// A harmonisation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Accuracy,
    Asn,
    Base64,
    Boolean,
    ClassificationTaxonomy,
    ClassificationType,
    DateTime,
    Float,
    Fqdn,
    Integer,
    IpAddress,
    IpNetwork,
    Json,
    JsonDict,
    LowercaseString,
    Registry,
    String,
    Tlp,
    UppercaseString,
    Url,
}

/// The `regex`/`iregex` constraints harmonization.conf uses, hand-compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `^.*[^\.]$`
    NoTrailingDot,
    /// `^[a-zA-Z0-9]{2}$`
    TwoAlnum,
    /// `^[ -~]+$`
    PrintableAscii,
    /// `^(critical|high|medium|low|info|undefined)$`
    Severity,
    /// `^[A-F0-9./]+$`
    EventHash,
    /// the MISP UUID patterns
    Uuid,
    /// the `protocol.transport` iregex (IANA protocol keywords)
    Transport,
}

/// One field of the harmonisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spec {
    pub kind: Kind,
    pub length: Option<usize>,
    pub pattern: Option<Pattern>,
}

const fn spec(kind: Kind) -> Spec {
    Spec {
        kind,
        length: None,
        pattern: None,
    }
}

const fn spec_c(kind: Kind, length: Option<usize>, pattern: Option<Pattern>) -> Spec {
    Spec {
        kind,
        length,
        pattern,
    }
}

/// The event harmonisation of IntelMQ 3.5.0 (`etc/harmonization.conf`, section `event`).
pub(crate) fn event_spec(key: &str) -> Option<Spec> {
    use Kind::*;
    use Pattern::*;
    Some(match key {
        "classification.identifier" => spec(String),
        "classification.taxonomy" => spec_c(ClassificationTaxonomy, Some(100), None),
        "classification.type" => spec(ClassificationType),
        "comment" | "constituency" => spec(String),
        "destination.abuse_contact" | "source.abuse_contact" => spec(LowercaseString),
        "destination.account" | "source.account" => spec(String),
        "destination.allocated" | "source.allocated" => spec(DateTime),
        "destination.as_name" | "source.as_name" => spec(String),
        "destination.asn" | "source.asn" => spec(Asn),
        "destination.domain_suffix" | "source.domain_suffix" => spec(Fqdn),
        "destination.fqdn" | "source.fqdn" | "destination.reverse_dns" | "source.reverse_dns" => {
            spec_c(Fqdn, None, Some(NoTrailingDot))
        }
        "destination.geolocation.cc"
        | "source.geolocation.cc"
        | "source.geolocation.cymru_cc"
        | "source.geolocation.geoip_cc" => spec_c(UppercaseString, Some(2), Some(TwoAlnum)),
        "destination.geolocation.city"
        | "destination.geolocation.country"
        | "destination.geolocation.region"
        | "destination.geolocation.state"
        | "source.geolocation.city"
        | "source.geolocation.country"
        | "source.geolocation.region"
        | "source.geolocation.state" => spec(String),
        "destination.geolocation.latitude"
        | "destination.geolocation.longitude"
        | "source.geolocation.latitude"
        | "source.geolocation.longitude" => spec(Float),
        "destination.ip" | "destination.local_ip" | "source.ip" | "source.local_ip" => {
            spec(IpAddress)
        }
        "destination.local_hostname" | "source.local_hostname" => spec(String),
        "destination.network" | "source.network" => spec(IpNetwork),
        "destination.port" => spec(Integer),
        "source.port" => spec_c(Integer, Some(5), None),
        "destination.registry" | "source.registry" => spec_c(Registry, Some(7), None),
        "destination.tor_node" | "source.tor_node" => spec(Boolean),
        "destination.url" | "source.url" => spec(Url),
        "destination.urlpath" | "source.urlpath" => spec(String),
        "event_description.target" | "event_description.text" => spec(String),
        "event_description.url" => spec(Url),
        "event_hash" => spec_c(UppercaseString, Some(40), Some(EventHash)),
        "extra" => spec(JsonDict),
        "feed.accuracy" => spec(Accuracy),
        "feed.code" => spec_c(String, Some(100), None),
        "feed.documentation" | "feed.name" | "feed.provider" => spec(String),
        "feed.url" => spec(Url),
        "malware.hash.md5" | "malware.hash.sha1" | "malware.hash.sha256" => {
            spec_c(String, Some(200), Some(PrintableAscii))
        }
        "malware.name" => spec_c(LowercaseString, None, Some(PrintableAscii)),
        "malware.version" => spec_c(String, None, Some(PrintableAscii)),
        "misp.attribute_uuid" | "misp.event_uuid" => spec_c(LowercaseString, Some(36), Some(Uuid)),
        "output" => spec(Json),
        "product.full_name" => spec(String),
        "product.name" | "product.vendor" | "product.version" | "product.vulnerabilities" => {
            spec(LowercaseString)
        }
        "protocol.application" => spec_c(LowercaseString, Some(100), Some(PrintableAscii)),
        "protocol.transport" => spec_c(LowercaseString, Some(11), Some(Transport)),
        "raw" => spec(Base64),
        "rtir_id" => spec(Integer),
        "screenshot_url" => spec(Url),
        "severity" => spec_c(LowercaseString, Some(10), Some(Severity)),
        "status" => spec(String),
        "time.observation" | "time.source" => spec(DateTime),
        "tlp" => spec(Tlp),
        _ => return None,
    })
}

/// A field name fixed before the rows are read (the harmonisation's names, a report's keys
/// and columns): interned once, so that events store it without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Name {
    Static(&'static str),
    /// Past the interning limit.
    Owned(String),
}

/// At most this many distinct names are interned for the life of the process; later ones
/// are copied into each event, so hostile headers cannot grow the set without bound.
const INTERN_LIMIT: usize = 16 * 1024;

impl Name {
    /// The interned name.
    pub(crate) fn new(name: &str) -> Name {
        use std::collections::HashSet;
        use std::sync::{Mutex, OnceLock};
        static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let names = NAMES.get_or_init(Default::default);
        // a poisoned lock still holds a valid set: nothing panics while holding it
        let mut names = names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = names.get(name) {
            return Name::Static(n);
        }
        if names.len() >= INTERN_LIMIT {
            return Name::Owned(name.to_string());
        }
        let n: &'static str = Box::leak(name.into());
        names.insert(n);
        Name::Static(n)
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Owned(s) => s,
        }
    }

    /// The name as [`super::fields::FieldOrder::new`] takes it: borrowed when interned.
    pub(crate) fn to_cow(&self) -> Cow<'static, str> {
        match self {
            Name::Static(s) => Cow::Borrowed(s),
            Name::Owned(s) => Cow::Owned(s.clone()),
        }
    }
}

/// How `Message.__is_valid_key` classifies a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyKind {
    /// A field of the harmonisation.
    Field(Spec),
    /// `extra.<name>` (or below another JSONDict field) matching IntelMQ's key format.
    Subitem,
    /// A sub key of a field that is not a JSONDict: IntelMQ fails with an AttributeError.
    BrokenSubitem,
    /// Not allowed: `InvalidKey`.
    Invalid,
    /// A key that is not a string (`False` in the required list): IntelMQ fails with an
    /// AttributeError.
    NotAString,
}

/// `^[a-z_][a-z_0-9]+(\.[a-z_0-9]+)*$`
fn key_format_ok(key: &str) -> bool {
    let b = key.as_bytes();
    if b.len() < 2 || !(b[0].is_ascii_lowercase() || b[0] == b'_') {
        return false;
    }
    let mut parts = key.split('.');
    let first = parts.next().unwrap_or("");
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    };
    first.len() >= 2 && ok_part(first) && parts.all(ok_part)
}

/// Classifies `key` as `Message.add` would.
pub(crate) fn key_kind(key: &str) -> KeyKind {
    if let Some(spec) = event_spec(key) {
        return KeyKind::Field(spec);
    }
    let parent = key.split('.').next().unwrap_or("");
    match event_spec(parent) {
        None => KeyKind::Invalid,
        Some(_) if !key_format_ok(key) => KeyKind::Invalid,
        Some(p) if p.kind == Kind::JsonDict => KeyKind::Subitem,
        Some(_) => KeyKind::BrokenSubitem,
    }
}

/// Why `Message.add` refused a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddError {
    /// `InvalidKey`.
    InvalidKey,
    /// `InvalidValue`.
    InvalidValue,
    /// `KeyExists`.
    KeyExists,
    /// Any other exception (IntelMQ crashes on the row).
    Other(&'static str),
}

/// What `Message.add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// Stored (`True`).
    Yes,
    /// The value was `None`/`""`/`"-"`/`"N/A"` (`None`).
    Ignored,
    /// Invalid and `raise_failure=False`, or present and `overwrite=False` (`False`).
    No,
}

/// The `overwrite` argument of `Message.add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overwrite {
    /// `None`: raise `KeyExists`.
    Raise,
    /// `False`: keep the existing value.
    Keep,
    /// `True`: replace it.
    Replace,
}

/// What `Message.add` makes of a value once it is past the check for an existing key: the
/// part of `add` that depends on the key's kind and the value alone, so that a parser can
/// work it out once per distinct value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Eval {
    /// `None`, `""`, `"-"` or `"N/A"`: nothing is stored ([`Added::Ignored`]); with
    /// `overwrite=True` an existing value is removed.
    Ignored,
    /// Stored as this value.
    Store(Value),
    /// Sanitising gave `None` or the value is not valid: `InvalidValue`, or [`Added::No`]
    /// when `raise_failure=False`.
    Invalid,
    /// Another error: `InvalidKey`, or one where IntelMQ crashes on the row.
    Fails(AddError),
}

/// The value-dependent part of `Message.add(key, value, sanitize, …)`; `kind` is
/// `key_kind(key)`.
pub(crate) fn evaluate(kind: &KeyKind, value: PyVal<'_>, sanitize: bool) -> Eval {
    let ignored = match &value {
        PyVal::None => true,
        PyVal::Str(s) => matches!(s.as_ref(), "" | "-" | "N/A"),
        _ => false,
    };
    if ignored {
        return Eval::Ignored;
    }
    let spec = match kind {
        KeyKind::Field(spec) => *spec,
        // JSONDict.sanitize_subitem / is_valid_subitem accept anything
        KeyKind::Subitem => return Eval::Store(value.into_json()),
        KeyKind::BrokenSubitem => {
            return Eval::Fails(AddError::Other("sub key of a field that is not a JSONDict"));
        }
        KeyKind::NotAString => return Eval::Fails(AddError::Other("field name is not a string")),
        KeyKind::Invalid => return Eval::Fails(AddError::InvalidKey),
    };
    if spec.kind == Kind::JsonDict {
        return Eval::Fails(AddError::Other("setting a JSONDict field as a whole"));
    }
    let value = if sanitize {
        match sanitize_value(spec.kind, value) {
            Ok(Some(v)) => v,
            Ok(None) => return Eval::Invalid,
            Err(e) => return Eval::Fails(e),
        }
    } else {
        value
    };
    if !is_valid_value(&spec, &value) {
        return Eval::Invalid;
    }
    Eval::Store(value.into_json())
}

/// `GenericType.sanitize`: falsy → `None`, strings stripped, others `str()`.
fn generic_sanitize(v: PyVal<'_>) -> Option<String> {
    if !v.truthy() {
        return None;
    }
    Some(match v {
        // an owned string that needs no stripping is reused, not copied
        PyVal::Str(Cow::Owned(s)) if py_strip(&s).len() == s.len() => s,
        PyVal::Str(s) => py_strip(&s).to_string(),
        other => other.py_str().into_owned(),
    })
}

fn lowercase_sanitize(v: PyVal<'_>) -> Option<String> {
    match v {
        PyVal::Str(s) => generic_sanitize(PyVal::string(s.to_lowercase())),
        _ => None,
    }
}

fn uppercase_sanitize(v: PyVal<'_>) -> Option<String> {
    match v {
        PyVal::Str(s) => generic_sanitize(PyVal::string(s.to_uppercase())),
        _ => None,
    }
}

const TAXONOMIES: &[&str] = &[
    "abusive-content",
    "availability",
    "fraud",
    "information-content-security",
    "information-gathering",
    "intrusion-attempts",
    "intrusions",
    "malicious-code",
    "other",
    "test",
    "vulnerable",
];

const TYPES: &[&str] = &[
    "application-compromise",
    "blacklist",
    "brute-force",
    "burglary",
    "c2-server",
    "copyright",
    "data-leak",
    "data-loss",
    "ddos",
    "ddos-amplifier",
    "dga-domain",
    "dos",
    "exploit",
    "harmful-speech",
    "ids-alert",
    "infected-system",
    "information-disclosure",
    "malware",
    "malware-configuration",
    "malware-distribution",
    "masquerade",
    "misconfiguration",
    "other",
    "outage",
    "phishing",
    "potentially-unwanted-accessible",
    "privileged-account-compromise",
    "proxy",
    "sabotage",
    "scanner",
    "sniffing",
    "social-engineering",
    "spam",
    "system-compromise",
    "test",
    "tor",
    "unauthorised-information-access",
    "unauthorised-information-modification",
    "unauthorized-use-of-resources",
    "undetermined",
    "unprivileged-account-compromise",
    "violence",
    "vulnerable-system",
    "weak-crypto",
];

/// `IPAddress.sanitize`.
pub(crate) fn ip_sanitize(v: PyVal<'_>) -> Option<String> {
    let s = match v {
        PyVal::Int(i) => return net::Addr::from_int(i).map(|a| a.to_string()),
        PyVal::Bool(b) => return net::Addr::from_int(i64::from(b)).map(|a| a.to_string()),
        other => generic_sanitize(other)?,
    };
    // a dotted quad as Python writes it (no leading zeros) comes back unchanged: neither an
    // integer nor a scoped or masked address, it is its own `str(ip_address(s))`
    if net::parse_v4(&s).is_some() {
        return Some(s);
    }
    // decimal integers given as strings
    if let Some(i) = py_int(&s)
        && s == i.to_string()
    {
        return net::Addr::from_int(i).map(|a| a.to_string());
    }
    let s = s.split('%').next().unwrap_or("");
    match net::ip_network(s, true) {
        Some((a, p))
            if p == if matches!(a, net::Addr::V4(_)) {
                32
            } else {
                128
            } =>
        {
            Some(a.to_string())
        }
        _ => None,
    }
}

/// `IPAddress.is_valid(value)` without sanitising.
pub(crate) fn ip_is_valid(v: &PyVal<'_>) -> bool {
    let PyVal::Str(s) = v else { return false };
    if let Some(a) = net::parse_v4(s) {
        // the general checks below, for a plain IPv4 address
        return a != 0;
    }
    if s.is_empty() || !net::ip_address_with_scope_ok(s) {
        return false;
    }
    if net::ip_address(s).is_some_and(net::Addr::is_unspecified_v4) {
        return false;
    }
    !s.contains('%')
}

/// `IPNetwork.sanitize`.
pub(crate) fn network_sanitize(v: PyVal<'_>) -> Option<String> {
    let s = generic_sanitize(v)?;
    let (a, p) = net::ip_network(&s, false)?;
    Some(format!("{a}/{p}"))
}

fn network_is_valid(v: &PyVal<'_>) -> bool {
    matches!(v, PyVal::Str(s) if !s.is_empty() && net::ip_network(s, true).is_some())
}

/// `FQDN.sanitize`.
pub(crate) fn fqdn_sanitize(v: PyVal<'_>) -> Option<String> {
    let s = generic_sanitize(v)?;
    let s = s.trim_matches('.');
    if s.is_empty() {
        return None;
    }
    net::idna_encode(s).map(|mut e| {
        if e.is_ascii() {
            e.make_ascii_lowercase();
            e
        } else {
            e.to_lowercase()
        }
    })
}

/// [`fqdn_is_valid`] for the common case, a plain lower-case ASCII host name: letters,
/// digits, hyphens and dots, at least one letter, labels of 1 to 63 characters. Such a name
/// is no IP address (a letter), has no URL parts (no `:`, `/`, `?` or `#`), is lower case
/// (a letter and no capital) and is its own IDNA form. `None`: not of that form.
#[inline]
pub(crate) fn plain_host_name(s: &str) -> Option<bool> {
    let b = s.as_bytes();
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if (16..=64).contains(&b.len()) {
        return plain_host_name_sse2(b);
    }
    plain_host_name_bytes(b)
}

/// [`plain_host_name`] one byte at a time, for any length (and where SSE2 is not at hand).
fn plain_host_name_bytes(b: &[u8]) -> Option<bool> {
    let mut letter = false;
    let mut label = 0usize;
    for &c in b {
        match c {
            b'a'..=b'z' => letter = true,
            b'0'..=b'9' | b'-' => {}
            b'.' if label > 0 => {
                label = 0;
                continue;
            }
            _ => return None,
        }
        label += 1;
        if label > 63 {
            return None;
        }
    }
    (letter && label > 0).then_some(true)
}

/// [`plain_host_name`] for a name of 16 to 64 bytes, sixteen bytes at a time with SSE2
/// (through `safe_arch`, as `std::arch` would need `unsafe` here): one bit per byte for
/// the bytes of the name's alphabet, the letters and the dots, then the labels from the dots.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn plain_host_name_sse2(b: &[u8]) -> Option<bool> {
    use safe_arch::{
        bitand_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, cmp_gt_mask_i8_m128i,
        cmp_lt_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let n = b.len();
    assert!((16..=64).contains(&n), "a name of 16 to 64 bytes");
    // bytes from `lo` to `hi` (ASCII): bytes from 0x80 are negative as `i8`, below both
    let range = |v, lo: u8, hi: u8| {
        let above = cmp_gt_mask_i8_m128i(v, set_splat_i8_m128i(lo as i8 - 1));
        bitand_m128i(
            above,
            cmp_lt_mask_i8_m128i(v, set_splat_i8_m128i(hi as i8 + 1)),
        )
    };
    let bits = |mask| u64::from(move_mask_i8_m128i(mask) as u16);
    let (mut alphabet, mut letters, mut dots) = (0u64, 0u64, 0u64);
    let mut next = 0;
    while next < n {
        // the last block ends at the name's end, over part of the one before it
        let at = next.min(n - 16);
        let v = load_unaligned_m128i(b[at..at + 16].try_into().expect("16 bytes"));
        let letter = range(v, b'a', b'z');
        let dot = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'.' as i8));
        let digit_or_hyphen = bitor_m128i(
            range(v, b'0', b'9'),
            cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'-' as i8)),
        );
        alphabet |= bits(bitor_m128i(bitor_m128i(letter, dot), digit_or_hyphen)) << at;
        letters |= bits(letter) << at;
        dots |= bits(dot) << at;
        next += 16;
    }
    let all = u64::MAX >> (64 - n);
    // no dot first, last or after a dot: labels of at least one byte; and of at most 63,
    // as all are when the name is shorter than 64 bytes or has a dot
    let labels = dots & 1 == 0 && dots >> (n - 1) == 0 && dots & (dots >> 1) == 0;
    (alphabet == all && letters != 0 && labels && (n < 64 || dots != 0)).then_some(true)
}

/// `FQDN.is_valid(value)` without sanitising.
pub(crate) fn fqdn_is_valid(v: &PyVal<'_>) -> bool {
    let PyVal::Str(s) = v else { return false };
    if let Some(valid) = plain_host_name(s) {
        return valid;
    }
    fqdn_is_valid_general(s)
}

/// [`fqdn_is_valid`] step by step, as IntelMQ checks.
pub(crate) fn fqdn_is_valid_general(s: &str) -> bool {
    let v = &PyVal::str(s);
    if s.is_empty() || s.trim_matches('.') != s || !is_lowercase(s) {
        return false;
    }
    if s.contains(':') || ip_is_valid(v) {
        return false;
    }
    match net::urlsplit(s) {
        Some(u)
            if u.scheme.is_empty()
                && u.netloc.is_empty()
                && u.query.is_empty()
                && u.fragment.is_empty()
                && !u.path.contains('/') => {}
        _ => return false,
    }
    net::idna_encode(s).as_deref() == Some(s)
}

/// `URL.sanitize`.
fn url_sanitize(v: PyVal<'_>) -> Option<String> {
    let s = generic_sanitize(v)?;
    if s.is_empty() {
        return None;
    }
    let mut s = s
        .replace("hxxp://", "http://")
        .replace("hxxps://", "https://");
    let mut split = net::urlsplit(&s)?;
    if split.scheme == "file" && split.netloc.is_empty() {
        // urlunsplit with netloc 'localhost'
        let mut u = String::from("file://localhost");
        if !split.path.is_empty() && !split.path.starts_with('/') {
            u.push('/');
        }
        u.push_str(&split.path);
        if !split.query.is_empty() {
            u.push('?');
            u.push_str(&split.query);
        }
        if !split.fragment.is_empty() {
            u.push('#');
            u.push_str(&split.fragment);
        }
        s = u;
        split = net::urlsplit(&s)?;
    }
    (!split.netloc.is_empty()).then_some(s)
}

fn url_is_valid(v: &PyVal<'_>) -> bool {
    let PyVal::Str(s) = v else { return false };
    let Some(first) = s.chars().next() else {
        return false;
    };
    if matches!(first, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
        return false;
    }
    net::urlsplit(s).is_some_and(|u| !u.netloc.is_empty())
}

/// `<Type>.sanitize(value)`; `Err` where Python raises something other than returning `None`.
fn sanitize_value(kind: Kind, v: PyVal<'_>) -> Result<Option<PyVal<'static>>, AddError> {
    let s = |o: Option<String>| o.map(PyVal::string);
    Ok(match kind {
        Kind::String | Kind::Json => s(generic_sanitize(v)),
        Kind::Base64 => match v {
            PyVal::Str(t) => Some(PyVal::string(
                base64::engine::general_purpose::STANDARD.encode(t.as_bytes()),
            )),
            _ => None,
        },
        Kind::Boolean => match v {
            PyVal::Str(t) => match py_strip(&t).to_lowercase().as_str() {
                "true" => Some(PyVal::Bool(true)),
                "false" => Some(PyVal::Bool(false)),
                _ => None,
            },
            PyVal::Int(0) | PyVal::Bool(false) => Some(PyVal::Bool(false)),
            PyVal::Int(1) | PyVal::Bool(true) => Some(PyVal::Bool(true)),
            _ => None,
        },
        Kind::ClassificationTaxonomy => {
            let Some(t) = lowercase_sanitize(v).filter(|t| !t.is_empty()) else {
                return Ok(None);
            };
            let t = match t.as_str() {
                "abusive content" => "abusive-content".to_string(),
                "information gathering" => "information-gathering".to_string(),
                "intrusion attempts" => "intrusion-attempts".to_string(),
                "malicious code" => "malicious-code".to_string(),
                _ => t,
            };
            s(generic_sanitize(PyVal::string(t)))
        }
        Kind::ClassificationType => {
            let Some(t) = lowercase_sanitize(v).filter(|t| !t.is_empty()) else {
                return Ok(None);
            };
            let mapped = match t.as_str() {
                "botnet drone" | "infected system" | "ransomware" => "infected-system",
                "ids alert" => "ids-alert",
                "c&c" | "c2server" => "c2-server",
                "malware configuration" => "malware-configuration",
                "vulnerable client" | "vulnerable service" => "vulnerable-system",
                "leak" => "data-leak",
                "unknown" => "undetermined",
                "dga domain" => "dga-domain",
                "unauthorized-login" | "unauthorized-command" | "compromised" | "backdoor" => {
                    "system-compromise"
                }
                "defacement" => "unauthorised-information-modification",
                "dropzone" => "other",
                other => other,
            };
            s(generic_sanitize(PyVal::string(mapped.to_string())))
        }
        Kind::DateTime => match v {
            PyVal::Str(t) => {
                s(pydate::sanitize(&t).and_then(|d| generic_sanitize(PyVal::string(d))))
            }
            _ => None,
        },
        Kind::Float => match v {
            PyVal::Str(t) => py_float(&t).map(PyVal::Float),
            PyVal::Int(i) => Some(PyVal::Float(i as f64)),
            PyVal::Float(f) => Some(PyVal::Float(f)),
            PyVal::Bool(b) => Some(PyVal::Float(if b { 1.0 } else { 0.0 })),
            PyVal::None => None,
        },
        Kind::Accuracy => {
            let f = match v {
                PyVal::Bool(b) => return Ok(Some(PyVal::Float(if b { 100.0 } else { 0.0 }))),
                PyVal::Str(t) => py_float(&t),
                PyVal::Int(i) => Some(i as f64),
                PyVal::Float(f) => Some(f),
                PyVal::None => None,
            };
            f.filter(|f| (0.0..=100.0).contains(f)).map(PyVal::Float)
        }
        Kind::Fqdn => s(fqdn_sanitize(v)),
        Kind::Integer => integer_sanitize(v)?,
        Kind::Asn => {
            let v = match v {
                PyVal::Str(t)
                    if t.len() >= 2
                        && t.is_char_boundary(2)
                        && t[..2].eq_ignore_ascii_case("as") =>
                {
                    PyVal::string(t[2..].to_string())
                }
                other => other,
            };
            match integer_sanitize(v)? {
                Some(PyVal::Int(i)) if (1..=4_294_967_295).contains(&i) => Some(PyVal::Int(i)),
                _ => None,
            }
        }
        Kind::IpAddress => s(ip_sanitize(v)),
        Kind::IpNetwork => s(network_sanitize(v)),
        Kind::JsonDict => return Err(AddError::Other("JSONDict")),
        Kind::LowercaseString => s(lowercase_sanitize(v)),
        Kind::UppercaseString => s(uppercase_sanitize(v)),
        Kind::Registry => {
            let u = uppercase_sanitize(v);
            s(u.map(|u| {
                if u == "RIPENCC" || u == "RIPE-NCC" {
                    "RIPE".into()
                } else {
                    u
                }
            }))
        }
        Kind::Tlp => {
            let u = uppercase_sanitize(v).filter(|u| !u.is_empty());
            s(u.map(|u| {
                let rest = u
                    .strip_prefix("TLP")
                    .map_or(u.as_str(), |r| r.strip_prefix(':').unwrap_or(r));
                let rest = rest.trim_start_matches(is_py_space);
                if rest == "YELLOW" {
                    "AMBER".to_string()
                } else {
                    rest.to_string()
                }
            }))
        }
        Kind::Url => s(url_sanitize(v)),
    })
}

fn integer_sanitize(v: PyVal<'_>) -> Result<Option<PyVal<'static>>, AddError> {
    Ok(match v {
        PyVal::Str(t) => py_int(&t).map(PyVal::Int),
        PyVal::Int(i) => Some(PyVal::Int(i)),
        PyVal::Bool(b) => Some(PyVal::Int(i64::from(b))),
        PyVal::Float(f) if f.is_finite() => Some(PyVal::Int(f.trunc() as i64)),
        PyVal::Float(_) => {
            return Err(AddError::Other(
                "cannot convert float infinity or NaN to integer",
            ));
        }
        PyVal::None => None,
    })
}

/// `Message.__is_valid_value`: the type's `is_valid` and the length and regex constraints.
fn is_valid_value(spec: &Spec, v: &PyVal<'_>) -> bool {
    let nonempty_str = matches!(v, PyVal::Str(s) if !s.is_empty());
    let ok = match spec.kind {
        Kind::String | Kind::Base64 => nonempty_str,
        Kind::Json => matches!(v, PyVal::Str(s) if serde_json::from_str::<Value>(s).is_ok()),
        Kind::JsonDict => false,
        Kind::Boolean => matches!(v, PyVal::Bool(_)),
        Kind::ClassificationTaxonomy => {
            matches!(v, PyVal::Str(s) if TAXONOMIES.contains(&s.as_ref()))
        }
        Kind::ClassificationType => matches!(v, PyVal::Str(s) if TYPES.contains(&s.as_ref())),
        Kind::DateTime => matches!(v, PyVal::Str(s) if pydate::is_valid(s)),
        Kind::Float => matches!(v, PyVal::Int(_) | PyVal::Float(_)),
        Kind::Accuracy => match v {
            PyVal::Bool(_) => true,
            PyVal::Int(i) => (0..=100).contains(i),
            PyVal::Float(f) => (0.0..=100.0).contains(f),
            _ => false,
        },
        Kind::Fqdn => fqdn_is_valid(v),
        Kind::Integer => matches!(v, PyVal::Int(_)),
        Kind::Asn => matches!(v, PyVal::Int(i) if (1..=4_294_967_295).contains(i)),
        Kind::IpAddress => ip_is_valid(v),
        Kind::IpNetwork => network_is_valid(v),
        Kind::LowercaseString => {
            matches!(v, PyVal::Str(s) if !s.is_empty() && is_lowercase(s))
        }
        Kind::UppercaseString => {
            matches!(v, PyVal::Str(s) if !s.is_empty() && is_uppercase(s))
        }
        Kind::Registry => {
            matches!(v, PyVal::Str(s) if ["AFRINIC", "APNIC", "ARIN", "LACNIC", "RIPE"].contains(&s.as_ref()))
        }
        Kind::Tlp => {
            matches!(v, PyVal::Str(s) if ["WHITE", "GREEN", "AMBER", "RED"].contains(&s.as_ref()))
        }
        Kind::Url => url_is_valid(v),
    };
    if !ok {
        return false;
    }
    if spec.length.is_none() && spec.pattern.is_none() {
        return true;
    }
    let text: Cow<'_, str> = match v {
        PyVal::Float(f) => Cow::Owned(float_repr(*f)),
        other => other.py_str(),
    };
    if let Some(max) = spec.length
        && text.chars().count() > max
    {
        return false;
    }
    match spec.pattern {
        None => true,
        Some(p) => pattern_matches(p, &text),
    }
}

/// `$` in Python matches at the end and before a final newline.
fn without_final_newline(s: &str) -> &str {
    s.strip_suffix('\n').unwrap_or(s)
}

fn pattern_matches(p: Pattern, s: &str) -> bool {
    match p {
        Pattern::NoTrailingDot => {
            // ^.*[^\.]$ : one line (the final newline aside) not ending in a dot, or ending
            // in the newline itself
            let candidates = [s, without_final_newline(s)];
            candidates.iter().any(|c| {
                let mut chars = c.chars();
                match chars.next_back() {
                    Some(last) if last != '.' => !chars.as_str().contains('\n'),
                    _ => false,
                }
            })
        }
        Pattern::TwoAlnum => {
            let t = without_final_newline(s);
            t.len() == 2 && t.bytes().all(|c| c.is_ascii_alphanumeric())
        }
        Pattern::PrintableAscii => {
            let t = without_final_newline(s);
            !t.is_empty() && t.bytes().all(|c| (b' '..=b'~').contains(&c))
        }
        Pattern::Severity => matches!(
            without_final_newline(s),
            "critical" | "high" | "medium" | "low" | "info" | "undefined"
        ),
        Pattern::EventHash => {
            let t = without_final_newline(s);
            !t.is_empty()
                && t.bytes().all(|c| {
                    c.is_ascii_digit() || (b'A'..=b'F').contains(&c) || c == b'.' || c == b'/'
                })
        }
        Pattern::Uuid => {
            let t = without_final_newline(s);
            let groups: Vec<&str> = t.split('-').collect();
            groups.len() == 5
                && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
                    g.len() == n
                        && g.bytes()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
        }
        Pattern::Transport => transport_ok(&without_final_newline(s).to_ascii_lowercase()),
    }
}

const TRANSPORTS: &[&str] = &[
    "ip",
    "icmp",
    "igmp",
    "ggp",
    "ipencap",
    "st2",
    "tcp",
    "cbt",
    "egp",
    "igp",
    "bbn-rcc",
    "nvp",
    "nvp-ii",
    "pup",
    "argus",
    "emcon",
    "xnet",
    "chaos",
    "udp",
    "mux",
    "dcn",
    "hmp",
    "prm",
    "xns-idp",
    "trunk-1",
    "trunk-2",
    "leaf-1",
    "leaf-2",
    "rdp",
    "irtp",
    "iso-tp4",
    "netblt",
    "mfe-nsp",
    "merit-inp",
    "sep",
    "3pc",
    "idpr",
    "xtp",
    "ddp",
    "idpr-cmtp",
    "tp++",
    "il",
    "ipv6",
    "sdrp",
    "ipv6-route",
    "ipv6-frag",
    "idrp",
    "rsvp",
    "gre",
    "mhrp",
    "bna",
    "esp",
    "ah",
    "i-nlsp",
    "swipe",
    "narp",
    "mobile",
    "tlsp",
    "skip",
    "ipv6-icmp",
    "ipv6-nonxt",
    "ipv6-opts",
    "cftp",
    "sat-expak",
    "kryptolan",
    "rvd",
    "ippc",
    "sat-mon",
    "visa",
    "ipcv",
    "cpnx",
    "cphb",
    "wsn",
    "pvp",
    "br-sat-mon",
    "sun-nd",
    "wb-mon",
    "wb-expak",
    "iso-ip",
    "vmtp",
    "secure-vmtp",
    "vines",
    "ttp",
    "nsfnet-igp",
    "dgp",
    "tcf",
    "eigrp",
    "ospf",
    "sprite-rpc",
    "larp",
    "mtp",
    "ipip",
    "micp",
    "scc-sp",
    "etherip",
    "encap",
    "gmtp",
    "ifmp",
    "pnni",
    "pim",
    "aris",
    "scps",
    "qnx",
    "a/n",
    "ipcomp",
    "snp",
    "compaq-peer",
    "ipx-in-ip",
    "vrrp",
    "pgm",
    "l2tp",
    "ddx",
    "iatp",
    "st",
    "srp",
    "uti",
    "smp",
    "sm",
    "ptp",
    "isis",
    "fire",
    "crtp",
    "crdup",
    "sscopmce",
    "iplt",
    "sps",
    "pipe",
    "sctp",
    "fc",
    "divert",
];

fn transport_ok(s: &str) -> bool {
    if TRANSPORTS.contains(&s) {
        return true;
    }
    // `ax.25`: the dot matches any character but a newline
    let c: Vec<char> = s.chars().collect();
    c.len() == 5 && c[0] == 'a' && c[1] == 'x' && c[2] != '\n' && c[3] == '2' && c[4] == '5'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shadowserver::tests::every_char;

    /// Checks [`plain_host_name`] against [`plain_host_name_bytes`] (the same on machines
    /// without SSE2).
    fn check_host_name(name: &str) -> Option<bool> {
        let got = plain_host_name(name);
        assert_eq!(got, plain_host_name_bytes(name.as_bytes()), "{name:?}");
        got
    }

    #[test]
    fn plain_host_names_in_blocks_equal_byte_by_byte() {
        let mut plain = 0;
        for len in 1..=80 {
            // letters, digits and hyphens, with dots every few bytes or none
            for every in [0, 2, 5, 16, 63, 64] {
                let name: String = (0..len)
                    .map(|i| match i % 7 {
                        _ if every > 0 && i % (every + 1) == every => '.',
                        0 => 'a',
                        1 => 'z',
                        2 => '0',
                        3 => '9',
                        4 => '-',
                        5 => 'q',
                        _ => '5',
                    })
                    .collect();
                plain += usize::from(check_host_name(&name) == Some(true));
                // every character in every place
                for at in 0..len {
                    for c in every_char() {
                        let mut other = name.clone();
                        other.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
                        check_host_name(&other);
                    }
                }
            }
            // one dot or two in every place (first, last, doubled), around labels of 63
            // and 64 bytes
            let name = "x".repeat(len);
            for i in 0..len {
                for j in i..len {
                    let mut other = name.clone().into_bytes();
                    other[i] = b'.';
                    other[j] = b'.';
                    check_host_name(std::str::from_utf8(&other).unwrap());
                }
            }
            // no letter
            check_host_name(&"7".repeat(len));
            check_host_name(&"1.".repeat(len)[..len]);
        }
        assert!(plain > 200, "{plain}");
        // every byte, not only those of UTF-8 text, in every place of the SSE2 path's names
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        for len in 16..=64 {
            let name: Vec<u8> = b"a0-z.9q".iter().copied().cycle().take(len).collect();
            assert_eq!(plain_host_name_sse2(&name), plain_host_name_bytes(&name));
            for at in 0..len {
                for c in 0..=255 {
                    let mut other = name.clone();
                    other[at] = c;
                    let got = plain_host_name_sse2(&other);
                    assert_eq!(got, plain_host_name_bytes(&other), "{other:?}");
                }
            }
        }
        for (name, plain) in [
            ("a".repeat(63), true),
            ("a".repeat(64), false),
            (format!("{}.{}", "a".repeat(63), "b".repeat(63)), true),
            (format!("{}.{}", "a".repeat(64), "b".repeat(3)), false),
            (format!("{}.{}", "a".repeat(3), "b".repeat(64)), false),
            (format!("{}.{}", "a".repeat(31), "b".repeat(32)), true),
            (format!("{}-{}", "a".repeat(31), "b".repeat(32)), false),
            ("host-198-51-100-7.example.net".to_string(), true),
            ("host-198-51-100-7.Example.net".to_string(), false),
            ("198-51-100-7.0123456789.net".to_string(), true),
            ("198-51-100-7.0123456789.123".to_string(), false),
        ] {
            assert_eq!(check_host_name(&name), plain.then_some(true), "{name:?}");
        }
    }
}
