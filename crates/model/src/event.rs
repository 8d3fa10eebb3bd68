//! The normalised event: a flat map of IntelMQ field names to JSON values.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A field name as an [`Event`] stores it: borrowed when `'static` (see
/// [`Event::insert_static`]), else owned.
#[derive(Clone)]
enum FieldName {
    Static(&'static str),
    Owned(Box<str>),
}

impl FieldName {
    fn as_str(&self) -> &str {
        match self {
            FieldName::Static(s) => s,
            FieldName::Owned(s) => s,
        }
    }
}

impl From<String> for FieldName {
    fn from(s: String) -> Self {
        FieldName::Owned(s.into_boxed_str())
    }
}

/// One normalised observation, keyed by IntelMQ's field names.
///
/// Keys are kept sorted so that serialisation, fingerprints and comparisons are stable.
/// Values are JSON values, typed the way IntelMQ types them (`source.port` is a number,
/// `time.source` an ISO 8601 string, `extra.*` anything).
///
/// Inside, the fields are one vector sorted by name (a binary search finds a key; an event
/// has a few dozen fields), and `'static` names are stored without copying them (see
/// [`Event::insert_static`]).
#[derive(Default)]
pub struct Event {
    /// Sorted by name, names unique.
    fields: Vec<(FieldName, Value)>,
    /// The fields as a `BTreeMap`, built on the first [`Event::as_map`] call and dropped on
    /// every change.
    map: OnceLock<BTreeMap<String, Value>>,
    /// Strings of values [`Event::reshape`] dropped or [`FieldValues`] overwrote, kept for
    /// the values of later rows: a reader that fills one event per row then allocates
    /// nothing once the first rows are read, even when fields come and go.
    spare: Vec<String>,
}

impl Clone for Event {
    fn clone(&self) -> Self {
        Event {
            fields: self.fields.clone(),
            ..Event::default()
        }
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.fields.len() == other.fields.len()
            && self
                .fields
                .iter()
                .zip(&other.fields)
                .all(|((ka, va), (kb, vb))| ka.as_str() == kb.as_str() && va == vb)
    }
}

impl fmt::Debug for Event {
    /// As the map it is: `Event { fields: {"source.ip": String("198.18.0.1")} }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Fields<'a>(&'a [(FieldName, Value)]);
        impl fmt::Debug for Fields<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, v)| (k.as_str(), v)))
                    .finish()
            }
        }
        f.debug_struct("Event")
            .field("fields", &Fields(&self.fields))
            .finish()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.fields.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Value>::deserialize(deserializer).map(Event::from)
    }
}

impl Event {
    /// An event with no fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// An event with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Event {
            fields: Vec::with_capacity(n),
            ..Event::default()
        }
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        position_in(&self.fields, key)
    }

    fn changed(&mut self) {
        if self.map.get().is_some() {
            self.map = OnceLock::new();
        }
    }

    /// Sets `key` to `value`, replacing what was there.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key: String = key.into();
        let value = value.into();
        self.changed();
        match self.position(&key) {
            Ok(i) => self.replace_at(i, value),
            Err(i) => self.fields.insert(i, (FieldName::from(key), value)),
        }
    }

    /// Sets `key` to `value`, replacing what was there, without copying the key: for
    /// parsers that know their field names before reading the rows.
    pub fn insert_static(&mut self, key: &'static str, value: impl Into<Value>) {
        let value = value.into();
        self.changed();
        match self.fields.last() {
            // names often come in order: append without searching
            Some((last, _))
                if cmp_bytes(last.as_str().as_bytes(), key.as_bytes()) == Ordering::Less =>
            {
                self.fields.push((FieldName::Static(key), value));
            }
            None => self.fields.push((FieldName::Static(key), value)),
            Some(_) => match self.position(key) {
                Ok(i) => self.replace_at(i, value),
                Err(i) => self.fields.insert(i, (FieldName::Static(key), value)),
            },
        }
    }

    /// Replaces the value at `i`, keeping its string for a later value.
    fn replace_at(&mut self, i: usize, value: Value) {
        let old = std::mem::replace(&mut self.fields[i].1, value);
        keep_string(&mut self.spare, old);
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key).ok()?;
        self.changed();
        Some(self.fields.remove(i).1)
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).ok().map(|i| &self.fields[i].1)
    }

    /// The value of `key` when it is a string.
    #[inline]
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// All fields in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the event has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `source.ip`, parsed.
    pub fn source_ip(&self) -> Option<IpAddr> {
        self.get_str("source.ip").and_then(crate::net::parse_ip)
    }

    /// `source.asn`, when it is a number.
    #[inline]
    pub fn source_asn(&self) -> Option<u32> {
        self.get("source.asn")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// The best domain name the event has: `source.fqdn`, else `source.reverse_dns`.
    pub fn source_domain(&self) -> Option<&str> {
        self.get_str("source.fqdn")
            .or_else(|| self.get_str("source.reverse_dns"))
    }

    /// The CVE identifiers in `product.vulnerabilities` (IntelMQ writes them comma separated),
    /// lower case.
    pub fn vulnerabilities(&self) -> Vec<String> {
        self.get_str("product.vulnerabilities")
            .map(|s| {
                s.split([',', ';'])
                    .map(|v| v.trim().to_ascii_lowercase())
                    .filter(|v| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The event as one line of JSON, keys sorted, no trailing newline.
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::with_capacity(64 * self.fields.len());
        self.write_json_line(&mut out);
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Appends the event as one line of JSON (the bytes of [`Self::to_json_line`]) to
    /// `out`, without a trailing newline; for writers that reuse one buffer.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        // Written here rather than through serde's serialiser (a hot path of every writer);
        // strings are escaped exactly as serde_json escapes them, the rest is serde_json's.
        // Room for the whole line once, rather than growing it field by field.
        let size: usize = self
            .fields
            .iter()
            .map(|(k, v)| {
                k.as_str().len()
                    + 6
                    + match v {
                        Value::String(s) => s.len(),
                        _ => 24,
                    }
            })
            .sum();
        out.reserve(size + 2);
        out.push(b'{');
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, k.as_str());
            out.push(b':');
            match v {
                Value::String(s) => write_json_str(out, s),
                Value::Null => out.extend_from_slice(b"null"),
                Value::Bool(true) => out.extend_from_slice(b"true"),
                Value::Bool(false) => out.extend_from_slice(b"false"),
                other => {
                    serde_json::to_writer(&mut *out, other).expect("a JSON value always serialises")
                }
            }
        }
        out.push(b'}');
    }

    /// The fields as a JSON object.
    pub fn as_map(&self) -> &BTreeMap<String, Value> {
        self.map.get_or_init(|| {
            self.fields
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
    }
}

impl Event {
    /// An empty string, in the buffer of a string value the event dropped before when it
    /// kept one (see [`FieldValues::set`]): for a stage that adds a string to every event
    /// of a stream ([`Event::route_source_ip`]), so that it allocates nothing row after row.
    fn spare_string(&mut self) -> String {
        take_string(&mut self.spare)
    }
}

impl Event {
    /// What a routing lookup such as IntelMQ's `asn_lookup` expert does to an event, with
    /// one search for the address: `route` is given `source.ip`, parsed, and an empty string
    /// (a spare one) to write the text of the routed network into, and gives the AS number
    /// announcing it. The event then has `source.asn` and `source.network` as two
    /// [`Event::insert_static`]s would set them. `false`, and the event unchanged,
    /// when it has no address or `route` gives `None`.
    ///
    /// ```
    /// use baken_model::Event;
    /// let mut e = Event::new();
    /// e.insert("source.ip", "198.18.0.1");
    /// assert!(e.route_source_ip(|_ip, network| {
    ///     network.push_str("198.18.0.0/15");
    ///     Some(64496)
    /// }));
    /// assert_eq!(
    ///     e.to_json_line(),
    ///     r#"{"source.asn":64496,"source.ip":"198.18.0.1","source.network":"198.18.0.0/15"}"#
    /// );
    /// ```
    pub fn route_source_ip(
        &mut self,
        route: impl FnOnce(IpAddr, &mut String) -> Option<u32>,
    ) -> bool {
        const ASN: &str = "source.asn";
        const NETWORK: &str = "source.network";
        // the names are constants here, and so are their first eight bytes in the searches
        let Ok(ip_at) = find_name(&self.fields, "source.ip") else {
            return false;
        };
        let Some(ip) = self.fields[ip_at].1.as_str().and_then(crate::net::parse_ip) else {
            return false;
        };
        let mut network = self.spare_string();
        let Some(asn) = route(ip, &mut network) else {
            keep_string(&mut self.spare, Value::String(network));
            return false;
        };
        self.changed();
        // `source.asn` sorts before `source.ip`, and few names sort between them (those of the
        // geolocation, `source.fqdn`): a few steps back from the address, then a search of
        // the fields before those when there are more
        let before = &self.fields[..ip_at];
        let mut asn_at = ip_at;
        while let Some((k, _)) = asn_at.checked_sub(1).map(|i| &before[i]) {
            if ip_at - asn_at == 8 {
                asn_at = match position_in(&before[..asn_at], ASN) {
                    Ok(i) | Err(i) => i,
                };
                break;
            }
            if sorts_before(k.as_str().as_bytes(), ASN) {
                break;
            }
            asn_at -= 1;
        }
        // `source.network` sorts after `source.ip`, and few names sort between them
        let after = &self.fields[ip_at + 1..];
        let network_at = ip_at
            + 1
            + after
                .iter()
                .position(|(k, _)| !sorts_before(k.as_str().as_bytes(), NETWORK))
                .unwrap_or(after.len());
        // the later place first, so that the earlier one stays where it is
        self.put_static(network_at, NETWORK, Value::String(network));
        self.put_static(asn_at, ASN, asn.into());
        true
    }

    /// Sets `key` at `at`, where it is or where it goes: the value of a field of that name
    /// there is replaced (its string kept for a later value), else the field is inserted.
    fn put_static(&mut self, at: usize, key: &'static str, value: Value) {
        match self.fields.get_mut(at) {
            Some((k, _)) if same_text(k.as_str().as_bytes(), key.as_bytes()) => {
                self.replace_at(at, value)
            }
            _ => self.fields.insert(at, (FieldName::Static(key), value)),
        }
    }
}

/// [`position_in`] for a name of eight bytes or more known where it is called (inlined
/// there). The search compares the first eight bytes of each name, as one number, with those
/// of `name`, a constant: it finds the first name not before them; names that start with them
/// but sort before `name` (few if any) are then stepped over one by one.
#[inline(always)]
fn find_name(fields: &[(FieldName, Value)], name: &'static str) -> Result<usize, usize> {
    let Some(start) = name.as_bytes().first_chunk::<8>() else {
        return position_in(fields, name);
    };
    let name = name.as_bytes();
    let head = u64::from_be_bytes(*start);
    let mut at = fields.partition_point(|(k, _)| {
        let k = k.as_str().as_bytes();
        match k.first_chunk::<8>() {
            Some(w) => u64::from_be_bytes(*w) < head,
            // shorter than eight bytes: before `name` if before its first eight
            None => cmp_bytes(k, start).is_lt(),
        }
    });
    while let Some((k, _)) = fields.get(at) {
        let k = k.as_str().as_bytes();
        if same_text(k, name) {
            return Ok(at);
        }
        if cmp_bytes(k, name).is_gt() {
            break;
        }
        at += 1;
    }
    Err(at)
}

/// `a < b` as [`position_in`] compares names: the first eight bytes as one number, then the
/// rest.
#[inline(always)]
fn sorts_before(a: &[u8], b: &'static str) -> bool {
    let b = b.as_bytes();
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(x), Some(y)) => {
            let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
            if x == y {
                cmp_bytes(&a[8..], &b[8..]).is_lt()
            } else {
                x < y
            }
        }
        _ => cmp_bytes(a, b).is_lt(),
    }
}

/// The names an [`Event`] may be refilled with, in order: made once per input format (a
/// report's header, say) so that [`Event::refill`] can rebuild an event row after row
/// without comparing names.
#[derive(Debug, Clone)]
pub struct FieldOrder {
    /// Sorted, unique.
    names: Vec<FieldName>,
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl FieldOrder {
    /// The order of `names` (sorted, duplicates dropped). `'static` names are kept without
    /// copying, as by [`Event::insert_static`].
    pub fn new<I>(names: I) -> FieldOrder
    where
        I: IntoIterator<Item = std::borrow::Cow<'static, str>>,
    {
        let mut names: Vec<FieldName> = names
            .into_iter()
            .map(|n| match n {
                std::borrow::Cow::Borrowed(s) => FieldName::Static(s),
                std::borrow::Cow::Owned(s) => FieldName::from(s),
            })
            .collect();
        names.sort_by(|a, b| cmp_bytes(a.as_str().as_bytes(), b.as_str().as_bytes()));
        names.dedup_by(|a, b| a.as_str() == b.as_str());
        FieldOrder { names }
    }

    /// The position of `name`, if it is one of the names.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names
            .binary_search_by(|k| cmp_bytes(k.as_str().as_bytes(), name.as_bytes()))
            .ok()
    }

    /// The name at `index`.
    pub fn name(&self, index: usize) -> &str {
        self.names[index].as_str()
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl Event {
    /// Replaces all fields with `fields`: pairs of an index into `order` and a value, in
    /// ascending index order. The values are moved in by swapping: each of the caller's
    /// values is left holding what was at its place in the event (or `null`), so a reader
    /// that refills one event per row from its own reused values moves buffers back and
    /// forth and allocates nothing once the first rows have been read.
    ///
    /// # Panics
    ///
    /// When the indices do not ascend or one is out of `order`'s range: a caller's bug that
    /// would otherwise break the event's order.
    pub fn refill<'v, I>(&mut self, order: &FieldOrder, fields: I)
    where
        I: IntoIterator<Item = (usize, &'v mut Value)>,
    {
        self.changed();
        let mut n = 0;
        let mut last: Option<usize> = None;
        for (index, value) in fields {
            assert!(
                last.is_none_or(|l| l < index) && index < order.names.len(),
                "Event::refill: field indices must ascend within the order"
            );
            last = Some(index);
            let name = &order.names[index];
            match self.fields.get_mut(n) {
                Some((k, v)) => {
                    let same = match (&*k, name) {
                        (FieldName::Static(a), FieldName::Static(b)) => std::ptr::eq(*a, *b),
                        (a, b) => a.as_str() == b.as_str(),
                    };
                    if !same {
                        *k = name.clone();
                    }
                    std::mem::swap(v, value);
                }
                None => self
                    .fields
                    .push((name.clone(), std::mem::replace(value, Value::Null))),
            }
            n += 1;
        }
        self.fields.truncate(n);
    }

    /// Gives the event the fields `indices` of `order` (ascending) and hands out their
    /// values by position, to be overwritten: a reader that fills one event per row
    /// writes each row's values into the buffers the last row left, without moving any.
    /// The value at a position is whatever was at that position before (`null` past the
    /// old end), not necessarily the value of the field now named there: every value
    /// must be written, best through [`FieldValues::set`] and [`FieldValues::set_str`],
    /// which reuse the strings of values dropped or overwritten.
    ///
    /// # Panics
    ///
    /// When the indices do not ascend or one is out of `order`'s range.
    pub fn reshape(&mut self, order: &FieldOrder, indices: &[usize]) -> FieldValues<'_> {
        let mut last = None;
        let names = indices.iter().map(|&i| {
            assert!(
                last.is_none_or(|l| l < i) && i < order.names.len(),
                "Event::reshape: field indices must ascend within the order"
            );
            last = Some(i);
            &order.names[i]
        });
        self.rename(names)
    }

    /// [`Event::reshape`] with names picked out of an order once ([`FieldOrder::list`]),
    /// for a reader that gives its events the same few lists of fields row after row.
    pub fn reshape_to(&mut self, list: &FieldList) -> FieldValues<'_> {
        match &list.statics {
            Some(names) => self.rename_static(names),
            None => self.rename(list.names.iter()),
        }
    }

    /// [`Event::rename`] with `'static` names only (the names of most lists): each is
    /// written over the name in place, whatever that was, without telling the two kinds of
    /// name apart first.
    fn rename_static(&mut self, names: &[&'static str]) -> FieldValues<'_> {
        self.changed();
        let n = names.len();
        for (_, v) in self.fields.drain(n.min(self.fields.len())..) {
            keep_string(&mut self.spare, v);
        }
        let kept = self.fields.len();
        for ((k, _), &name) in self.fields.iter_mut().zip(names) {
            *k = FieldName::Static(name);
        }
        for &name in &names[kept..] {
            self.fields.push((FieldName::Static(name), Value::Null));
        }
        FieldValues {
            fields: &mut self.fields,
            spare: &mut self.spare,
        }
    }

    /// Gives the event the fields `names` (ascending), keeping the values by position.
    #[inline]
    fn rename<'n>(
        &mut self,
        names: impl ExactSizeIterator<Item = &'n FieldName>,
    ) -> FieldValues<'_> {
        self.changed();
        let n = names.len();
        for (_, v) in self.fields.drain(n.min(self.fields.len())..) {
            keep_string(&mut self.spare, v);
        }
        // the fields the event has, renamed in place; then new ones, null
        let kept = self.fields.len();
        let mut names = names;
        for ((k, _), name) in self.fields.iter_mut().zip(names.by_ref()) {
            match (k, name) {
                (FieldName::Static(a), FieldName::Static(b)) => *a = b,
                (k, name) => *k = name.clone(),
            }
        }
        debug_assert_eq!(self.fields.len(), kept);
        for name in names {
            self.fields.push((name.clone(), Value::Null));
        }
        FieldValues {
            fields: &mut self.fields,
            spare: &mut self.spare,
        }
    }
}

/// Names of a [`FieldOrder`], ascending, picked out once by [`FieldOrder::list`] for
/// [`Event::reshape_to`].
#[derive(Debug, Clone, Default)]
pub struct FieldList {
    names: Vec<FieldName>,
    /// The same names when all are `'static`.
    statics: Option<Vec<&'static str>>,
}

impl FieldList {
    /// How many names there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl FieldOrder {
    /// The names at `indices`, for [`Event::reshape_to`].
    ///
    /// # Panics
    ///
    /// When the indices do not ascend or one is out of range, as [`Event::reshape`].
    pub fn list(&self, indices: &[usize]) -> FieldList {
        let mut last = None;
        let names: Vec<FieldName> = indices
            .iter()
            .map(|&i| {
                assert!(
                    last.is_none_or(|l| l < i) && i < self.names.len(),
                    "FieldOrder::list: field indices must ascend within the order"
                );
                last = Some(i);
                self.names[i].clone()
            })
            .collect();
        let statics = names
            .iter()
            .map(|n| match n {
                FieldName::Static(s) => Some(*s),
                FieldName::Owned(_) => None,
            })
            .collect();
        FieldList { names, statics }
    }
}

/// Strings an [`Event`] keeps at most for later values.
const SPARE_STRINGS: usize = 16;

/// An empty string: one kept in `spare`, or a new one.
fn take_string(spare: &mut Vec<String>) -> String {
    let mut s = spare.pop().unwrap_or_default();
    s.clear();
    s
}

/// Keeps `value`'s string, if it is one and there is room, for a later value.
fn keep_string(spare: &mut Vec<String>, value: Value) {
    if let Value::String(s) = value
        && spare.len() < SPARE_STRINGS
    {
        spare.push(s);
    }
}

/// The values of an event's fields by position, as [`Event::reshape`] hands them out.
pub struct FieldValues<'a> {
    fields: &'a mut [(FieldName, Value)],
    spare: &'a mut Vec<String>,
}

impl FieldValues<'_> {
    /// The value of the field at `position` (the position in the `indices` given to
    /// [`Event::reshape`]).
    #[inline]
    pub fn get(&mut self, position: usize) -> &mut Value {
        &mut self.fields[position].1
    }

    /// Sets the value at `position` to a copy of `value`, into the string already there
    /// or one kept from a value dropped before when `value` is a string.
    #[inline(always)]
    pub fn set(&mut self, position: usize, value: &Value) {
        match value {
            Value::String(s) => self.set_str(position, s),
            value => {
                let old = std::mem::replace(&mut self.fields[position].1, value.clone());
                keep_string(self.spare, old);
            }
        }
    }

    /// Sets the value at `position` to the string `text`, as [`FieldValues::set`] does.
    #[inline(always)]
    pub fn set_str(&mut self, position: usize, text: &str) {
        let dst = &mut self.fields[position].1;
        if let Value::String(d) = dst {
            // rows often repeat a value at the same place: a comparison inline is cheaper
            // than a copy through `memcpy`
            if !same_text(d.as_bytes(), text.as_bytes()) {
                d.clear();
                push_short(d, text);
            }
            return;
        }
        let mut s = take_string(self.spare);
        push_short(&mut s, text);
        *dst = Value::String(s);
    }

    /// Puts `value` at `position`. A string moves in, and leaves in `value` the string that
    /// was there, or an empty one kept from a value dropped before (or a new one); any other
    /// value is copied in, its string kept, as by [`FieldValues::set`]. For a writer that
    /// works strings out in its own buffers and trades them for the event's, so that
    /// strings go back and forth rather than being dropped and made anew.
    #[inline]
    pub fn trade(&mut self, position: usize, value: &mut Value) {
        if !matches!(value, Value::String(_)) {
            self.set(position, value);
            return;
        }
        let dst = &mut self.fields[position].1;
        std::mem::swap(dst, value);
        if !matches!(value, Value::String(_)) {
            *value = Value::String(take_string(self.spare));
        }
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Where `key` is in `fields` (sorted by name), or where it would go.
fn position_in(fields: &[(FieldName, Value)], key: &str) -> Result<usize, usize> {
    let key = key.as_bytes();
    // Most names are eight bytes or longer and most probes differ in the first eight: those
    // are compared as one number, the key's read once (a search in an event of 30 fields:
    // about 210 instructions with `cmp_bytes` per probe, 150 so).
    let Some(head) = key.first_chunk::<8>().map(|w| u64::from_be_bytes(*w)) else {
        return fields.binary_search_by(|(k, _)| cmp_bytes(k.as_str().as_bytes(), key));
    };
    fields.binary_search_by(|(k, _)| {
        let k = k.as_str().as_bytes();
        match k.first_chunk::<8>() {
            Some(w) => match u64::from_be_bytes(*w).cmp(&head) {
                Ordering::Equal => cmp_bytes(&k[8..], &key[8..]),
                other => other,
            },
            None => cmp_bytes(k, key),
        }
    })
}

/// `a == b`, eight bytes at a time and inline: field values and cell texts are short, where
/// a call into `memcmp` per comparison costs more than the comparison. The last bytes are compared as
/// one (overlapping) word rather than one by one.
#[inline]
pub fn same_text(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // the first `N` bytes and the last `N` (which may overlap), as numbers
    fn ends<const N: usize>(x: &[u8]) -> ([u8; N], [u8; N]) {
        let first = x.first_chunk::<N>().copied().unwrap_or([0; N]);
        let last = x.last_chunk::<N>().copied().unwrap_or([0; N]);
        (first, last)
    }
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => ends::<2>(a) == ends::<2>(b),
        4..=7 => ends::<4>(a) == ends::<4>(b),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                let (x, _) = ends::<8>(&a[i..]);
                let (y, _) = ends::<8>(&b[i..]);
                if x != y {
                    return false;
                }
                i += 8;
            }
            ends::<8>(a).1 == ends::<8>(b).1
        }
    }
}

/// `out.push_str(text)`, with the copy of a text of up to 24 bytes (most values) written
/// inline for its length rather than through a call into `memcpy`.
#[inline(always)]
fn push_short(out: &mut String, text: &str) {
    macro_rules! by_length {
        ($($n:literal)*) => {
            match text.len() {
                $($n => out.push_str(&text[..$n]),)*
                _ => out.push_str(text),
            }
        };
    }
    by_length!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24)
}

/// `a.cmp(b)` (the order of `str`), eight bytes at a time: field names are short and share
/// long prefixes (`source.geolocation.`), where a call into `memcmp` per probe costs more.
fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        let (x, y) = (u64::from_be_bytes(x), u64::from_be_bytes(y));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, control characters as `\\n`
/// and the like or `\\u00XX`, everything else (UTF-8 included) as it is.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(b, start) {
        out.extend_from_slice(&b[start..i]);
        write_escape(out, b[i]);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Whether JSON needs the byte escaped: control characters, `"` and `\\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The index of the first byte at or after `from` that JSON needs escaped.
fn next_escape(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    // eight bytes at a time: is any byte < 0x20, == '"' or == '\\'?
    while i + 8 <= b.len() {
        let mut chunk = [0u8; 8];
        chunk.copy_from_slice(&b[i..i + 8]);
        let x = u64::from_le_bytes(chunk);
        let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        if below_space
            | zero_in(x ^ (ONES * u64::from(b'"')))
            | zero_in(x ^ (ONES * u64::from(b'\\')))
            != 0
        {
            break;
        }
        i += 8;
    }
    while i < b.len() {
        if NEEDS_ESCAPE[usize::from(b[i])] {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn write_escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match c {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => 0,
    };
    if short == 0 {
        out.extend_from_slice(b"\\u00");
        out.push(HEX[usize::from(c >> 4)]);
        out.push(HEX[usize::from(c & 0xf)]);
    } else {
        out.push(b'\\');
        out.push(short);
    }
}

impl FromIterator<(String, Value)> for Event {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        // as a map collects them: the last of equal keys wins
        iter.into_iter().collect::<BTreeMap<_, _>>().into()
    }
}

impl From<BTreeMap<String, Value>> for Event {
    fn from(fields: BTreeMap<String, Value>) -> Self {
        Event {
            fields: fields
                .into_iter()
                .map(|(k, v)| (FieldName::from(k), v))
                .collect(),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vulnerabilities_are_split_and_lowercased() {
        let mut e = Event::new();
        e.insert("product.vulnerabilities", "CVE-2019-19781, cve-2020-1");
        assert_eq!(e.vulnerabilities(), vec!["cve-2019-19781", "cve-2020-1"]);
    }

    #[test]
    fn domain_prefers_fqdn_over_reverse_dns() {
        let mut e = Event::new();
        e.insert("source.reverse_dns", "host.a.example");
        assert_eq!(e.source_domain(), Some("host.a.example"));
        e.insert("source.fqdn", "www.b.example");
        assert_eq!(e.source_domain(), Some("www.b.example"));
    }

    #[test]
    fn asn_out_of_range_is_none() {
        let mut e = Event::new();
        e.insert("source.asn", 1u64 << 40);
        assert_eq!(e.source_asn(), None);
        e.insert("source.asn", 64496);
        assert_eq!(e.source_asn(), Some(64496));
    }

    #[test]
    fn refill_rebuilds_in_order_and_equals_inserting() {
        let order = FieldOrder::new(
            [
                "source.port",
                "source.ip",
                "extra.tag",
                "source.ip",
                "time.source",
            ]
            .map(std::borrow::Cow::Borrowed),
        );
        assert_eq!(order.len(), 4);
        let ip = order.index("source.ip").unwrap();
        let port = order.index("source.port").unwrap();
        let tag = order.index("extra.tag").unwrap();
        assert_eq!(order.index("nope"), None);
        assert!(tag < ip && ip < port);
        let mut e = Event::new();
        e.insert("stale", "gone");
        let mut v1 = Value::from("198.18.0.1");
        let mut v2 = Value::from(443);
        let mut v3 = Value::from("citrix");
        e.refill(&order, [(tag, &mut v3), (ip, &mut v1), (port, &mut v2)]);
        // what was at each place comes back
        assert_eq!(v3, Value::from("gone"));
        assert_eq!(v1, Value::Null);
        let mut expected = Event::new();
        expected.insert("source.ip", "198.18.0.1");
        expected.insert("source.port", 443);
        expected.insert("extra.tag", "citrix");
        assert_eq!(e, expected);
        assert_eq!(e.to_json_line(), expected.to_json_line());
        // a shorter row after a longer one: nothing of the first is left
        let mut v4 = Value::from("198.18.0.2");
        e.refill(&order, [(ip, &mut v4)]);
        assert_eq!(e.to_json_line(), r#"{"source.ip":"198.18.0.2"}"#);
        assert_eq!(e.get_str("source.ip"), Some("198.18.0.2"));
        assert!(!e.contains("extra.tag"));
    }

    #[test]
    fn reshape_names_the_fields_and_hands_out_every_value_to_overwrite() {
        let order = FieldOrder::new(
            ["extra.tag", "source.ip", "source.port", "time.source"]
                .map(std::borrow::Cow::Borrowed),
        );
        let [tag, ip, port, time] = ["extra.tag", "source.ip", "source.port", "time.source"]
            .map(|n| order.index(n).unwrap());
        let mut e = Event::new();
        e.insert("source.ip", "198.18.0.1");
        e.insert_static("source.asn", 64496);
        e.insert("zzz", true);
        // three fields become four: the old values stay by position, the new one is null
        let mut values = e.reshape(&order, &[tag, ip, port, time]);
        assert_eq!(values.len(), 4);
        assert_eq!(*values.get(0), Value::from(64496));
        assert_eq!(*values.get(3), Value::Null);
        for (at, v) in [
            Value::from("citrix"),
            Value::from("198.18.0.2"),
            Value::from(443),
            Value::from("2026-03-24T00:00:00+00:00"),
        ]
        .into_iter()
        .enumerate()
        {
            *values.get(at) = v;
        }
        let mut expected = Event::new();
        expected.insert("extra.tag", "citrix");
        expected.insert("source.ip", "198.18.0.2");
        expected.insert("source.port", 443);
        expected.insert("time.source", "2026-03-24T00:00:00+00:00");
        assert_eq!(e, expected);
        assert_eq!(e.to_json_line(), expected.to_json_line());
        // fewer fields; then none
        let mut values = e.reshape(&order, &[port]);
        *values.get(0) = Value::from(80);
        assert_eq!(e.to_json_line(), r#"{"source.port":80}"#);
        assert_eq!(e.get("source.port"), Some(&Value::from(80)));
        assert!(e.reshape(&order, &[]).is_empty());
        assert!(e.is_empty());
        // owned names are replaced by the order's
        let mut e = Event::new();
        e.insert(String::from("a"), 1);
        *e.reshape(&order, &[ip]).get(0) = Value::from("198.18.0.3");
        assert_eq!(e.to_json_line(), r#"{"source.ip":"198.18.0.3"}"#);
    }

    #[test]
    fn strings_dropped_or_overwritten_are_reused_for_later_values() {
        let order = FieldOrder::new(["a", "b", "c"].map(std::borrow::Cow::Borrowed));
        let mut e = Event::new();
        let mut values = e.reshape(&order, &[0, 1, 2]);
        values.set_str(0, "a string of row one");
        values.set(1, &Value::from(7));
        values.set_str(2, "another string of row one");
        let c = e.get_str("c").unwrap().as_ptr();
        // `c` is dropped: its string is kept, and `b`, a number until now, takes it
        let mut values = e.reshape(&order, &[0, 1]);
        values.set_str(1, "b of row two");
        assert_eq!(e.get_str("b").unwrap().as_ptr(), c);
        assert_eq!(e.get_str("b"), Some("b of row two"));
        // a string overwritten by a number is kept too, for `c` when it is back
        let a = e.get_str("a").unwrap().as_ptr();
        let mut values = e.reshape(&order, &[0, 1, 2]);
        values.set(0, &Value::Null);
        values.set(1, &Value::from("b of row three"));
        values.set(2, &Value::from("c of row three"));
        assert_eq!(e.get_str("c").unwrap().as_ptr(), a);
        assert_eq!(
            e.to_json_line(),
            r#"{"a":null,"b":"b of row three","c":"c of row three"}"#
        );
        // a later stage's string: a dropped one's buffer, and the one it replaces is kept
        let dropped = ["b", "c"].map(|k| e.get_str(k).unwrap().as_ptr());
        e.reshape(&order, &[0]);
        let mut text = e.spare_string();
        assert!(text.is_empty() && dropped.contains(&text.as_ptr()));
        text.push_str("198.18.0.0/15");
        let d = text.as_ptr();
        e.insert_static("d", text);
        e.insert_static("d", Value::Null);
        let again = e.spare_string();
        assert_eq!(again.as_ptr(), d);
    }

    #[test]
    fn traded_strings_go_back_and_forth_and_numbers_are_copied() {
        let order = FieldOrder::new(["a", "b"].map(std::borrow::Cow::Borrowed));
        let mut e = Event::new();
        let mut values = e.reshape(&order, &[0, 1]);
        values.set_str(0, "the event's a");
        values.set(1, &Value::from(7));
        let a = e.get_str("a").unwrap().as_ptr();
        // a string moves in, and the one it replaces moves out
        let mut mine = Value::from("my a");
        let m = mine.as_str().unwrap().as_ptr();
        let mut values = e.reshape(&order, &[0, 1]);
        values.trade(0, &mut mine);
        assert_eq!(mine.as_str().map(str::as_ptr), Some(a));
        assert_eq!(e.get_str("a").map(str::as_ptr), Some(m));
        // where the event has no string, a kept one comes out: `a`'s, overwritten by a number
        let mut values = e.reshape(&order, &[0, 1]);
        values.set(0, &Value::from(1));
        let mut values = e.reshape(&order, &[0, 1]);
        let mut again = Value::from("b now");
        values.trade(1, &mut again);
        assert_eq!(again.as_str().map(|s| (s, s.as_ptr())), Some(("", m)));
        // a number is copied in and stays the trader's; the string it replaces is kept
        let b = e.get_str("b").unwrap().as_ptr();
        let mut values = e.reshape(&order, &[0, 1]);
        let mut number = Value::from(8);
        values.trade(1, &mut number);
        assert_eq!(number, Value::from(8));
        let kept = e.spare_string();
        assert_eq!(kept.as_ptr(), b);
        assert_eq!(e.to_json_line(), r#"{"a":1,"b":8}"#);
    }

    #[test]
    fn same_text_is_byte_equality_at_every_length_and_every_differing_byte() {
        for n in 0..=40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_text(&a, &a.clone()), "length {n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_text(&a, &b), "length {n}, byte {at} differs");
            }
            let mut longer = a.clone();
            longer.push(b'a');
            assert!(
                !same_text(&a, &longer) && !same_text(&longer, &a),
                "lengths {n}, {}",
                n + 1
            );
        }
    }

    #[test]
    fn short_strings_are_pushed_whole_at_every_length() {
        for n in 0..40 {
            for text in ["a".repeat(n), "é".repeat(n / 2), "x€".repeat(n / 4)] {
                let mut out = String::from("before ");
                push_short(&mut out, &text);
                assert_eq!(out, format!("before {text}"), "length {}", text.len());
            }
        }
    }

    #[test]
    fn reshape_to_a_list_is_reshape_by_indices() {
        let order = FieldOrder::new(
            ["a", "b", "c", "d"]
                .map(std::borrow::Cow::Borrowed)
                .into_iter()
                .chain([std::borrow::Cow::Owned("extra.e".to_string())]),
        );
        let lists: [&[usize]; 6] = [&[0, 1, 2, 3, 4], &[1, 3], &[], &[0, 4], &[2], &[0, 1, 2, 3]];
        let (mut by_indices, mut by_list) = (Event::new(), Event::new());
        for (row, indices) in lists.iter().enumerate() {
            // a later stage's fields, with names of its own, are renamed over or dropped
            by_indices.insert(format!("0{row}"), 1);
            by_list.insert(format!("0{row}"), 1);
            let list = order.list(indices);
            assert_eq!(list.len(), indices.len());
            let mut a = by_indices.reshape(&order, indices);
            let mut b = by_list.reshape_to(&list);
            assert_eq!(a.len(), b.len());
            for pos in 0..a.len() {
                a.set_str(pos, &format!("{row}.{pos}"));
                b.set_str(pos, &format!("{row}.{pos}"));
            }
            assert_eq!(by_indices, by_list);
            let names: Vec<&str> = by_list.iter().map(|(k, _)| k).collect();
            let wanted: Vec<&str> = indices.iter().map(|&i| order.name(i)).collect();
            assert_eq!(names, wanted);
        }
    }

    #[test]
    #[should_panic(expected = "must ascend")]
    fn a_list_refuses_indices_out_of_order() {
        let order = FieldOrder::new(["a", "b"].map(std::borrow::Cow::Borrowed));
        order.list(&[1, 0]);
    }

    #[test]
    #[should_panic(expected = "must ascend")]
    fn reshape_refuses_indices_out_of_order() {
        let order = FieldOrder::new(["a", "b"].map(std::borrow::Cow::Borrowed));
        Event::new().reshape(&order, &[1, 0]);
    }

    #[test]
    #[should_panic(expected = "must ascend")]
    fn refill_refuses_indices_out_of_order() {
        let order = FieldOrder::new(["a", "b"].map(std::borrow::Cow::Borrowed));
        let (mut a, mut b) = (Value::from(1), Value::from(2));
        Event::new().refill(&order, [(1, &mut a), (0, &mut b)]);
    }

    #[test]
    fn fields_stay_sorted_and_unique_whatever_the_insert_order() {
        let mut e = Event::new();
        e.insert("c", 3);
        e.insert_static("b.x", 2);
        e.insert_static("a", 1);
        e.insert("b.x", 4);
        e.insert_static("d", 5);
        let keys: Vec<&str> = e.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b.x", "c", "d"]);
        assert_eq!(e.get("b.x"), Some(&Value::from(4)));
        assert_eq!(e.len(), 4);
        assert_eq!(e.remove("c"), Some(Value::from(3)));
        assert!(!e.contains("c"));
        assert_eq!(e.to_json_line(), r#"{"a":1,"b.x":4,"d":5}"#);
    }

    #[test]
    fn json_map_and_debug_are_those_of_a_btreemap() {
        let map: BTreeMap<String, Value> = [
            ("source.ip", Value::from("198.18.0.1")),
            ("extra.note", Value::from("a \"quoted\"\n\u{e9}")),
            ("source.port", Value::from(443)),
            ("feed.accuracy", Value::from(100.0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let e = Event::from(map.clone());
        assert_eq!(e.to_json_line(), serde_json::to_string(&map).unwrap());
        let mut buf = b"x".to_vec();
        e.write_json_line(&mut buf);
        assert_eq!(&buf[1..], e.to_json_line().as_bytes());
        assert_eq!(e.as_map(), &map);
        mod before {
            /// The representation before the sorted vector.
            #[derive(Debug)]
            pub struct Event {
                #[allow(dead_code)] // read by Debug only
                pub fields: std::collections::BTreeMap<String, serde_json::Value>,
            }
        }
        assert_eq!(
            format!("{e:?}"),
            format!(
                "{:?}",
                before::Event {
                    fields: map.clone()
                }
            )
        );
        let back: super::Event = serde_json::from_str(&e.to_json_line()).unwrap();
        assert_eq!(back, e);
        let collected: super::Event = map.into_iter().collect();
        assert_eq!(collected, e);
    }

    #[test]
    fn routing_the_address_equals_inserting_both_fields() {
        // names around and between the three, and the three themselves
        let names = [
            "a",
            "source.as",
            "source.asn",
            "source.asn.x",
            "source.geolocation.cc",
            "source.ip",
            "source.ip_x",
            "source.local_ip",
            "source.network",
            "source.networks",
            "source.port",
            "time.source",
        ];
        let ip_at = names.iter().position(|&n| n == "source.ip").unwrap();
        for present in 0..(1u32 << names.len()) {
            let mut e = Event::new();
            for (i, n) in names.iter().enumerate() {
                if present & (1 << i) != 0 {
                    let value = if i == ip_at {
                        "198.18.7.10".to_string()
                    } else {
                        format!("old {n}")
                    };
                    e.insert(*n, value);
                }
            }
            let _ = e.as_map();
            let before = e.clone();
            let mut routed = e.clone();
            let mut seen = None;
            let done = routed.route_source_ip(|ip, network| {
                seen = Some(ip);
                network.push_str("198.18.0.0/15");
                Some(64496)
            });
            assert_eq!(done, present & (1 << ip_at) != 0, "{present:b}");
            if done {
                assert_eq!(seen, Some("198.18.7.10".parse().unwrap()));
                e.insert_static("source.asn", 64496);
                e.insert_static("source.network", "198.18.0.0/15");
                assert_eq!(routed.as_map().len(), e.len(), "the map follows");
            }
            assert_eq!(routed, e, "{present:b}");
            // no route: nothing changes
            let mut unrouted = before.clone();
            assert!(!unrouted.route_source_ip(|_, network| {
                network.push_str("spoilt");
                None
            }));
            assert_eq!(unrouted, before);
        }
        // an address that is not one
        let mut e = Event::new();
        e.insert("source.ip", "198.18.0.256");
        assert!(!e.route_source_ip(|_, _| Some(1)));
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn routing_finds_the_fields_however_many_names_are_between() {
        // from none to many names between `source.asn` and `source.ip` (the steps back from
        // the address, then the search), and before them
        for between in 0..20 {
            for before in 0..4 {
                for with_asn in [false, true] {
                    for with_network in [false, true] {
                        let mut e = Event::new();
                        for i in 0..before {
                            e.insert(format!("source.abuse{i}"), "x");
                        }
                        for i in 0..between {
                            e.insert(format!("source.geolocation.f{i:02}"), "x");
                        }
                        if with_asn {
                            e.insert("source.asn", 1);
                        }
                        if with_network {
                            e.insert("source.network", "old");
                        }
                        e.insert("source.ip", "198.18.7.10");
                        e.insert("time.source", "x");
                        let mut expected = e.clone();
                        expected.insert_static("source.asn", 64496);
                        expected.insert_static("source.network", "198.18.0.0/15");
                        assert!(e.route_source_ip(|_, network| {
                            network.push_str("198.18.0.0/15");
                            Some(64496)
                        }));
                        assert_eq!(e, expected, "{between} {before} {with_asn}");
                    }
                }
            }
        }
    }

    /// Fields of `names`, null, sorted as an event keeps them.
    fn sorted_fields(names: impl Iterator<Item = &'static str>) -> Vec<(FieldName, Value)> {
        let mut fields: Vec<(FieldName, Value)> =
            names.map(|k| (FieldName::Static(k), Value::Null)).collect();
        fields.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        fields
    }

    /// Where `key` is in `fields`, by the standard library's search and `str`'s order.
    fn plain_search(fields: &[(FieldName, Value)], key: &str) -> Result<usize, usize> {
        fields.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    #[test]
    fn position_is_that_of_a_plain_search() {
        let names = [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefgg",
            "abcdefgi",
            "extra.http",
            "extra.http_code",
            "source.geolocation.cc",
            "source.geolocation.city",
            "source.ip",
            "source.ipa",
            "source.i",
            "source.",
            "é",
            "zzzzzzzzz",
        ];
        for n in 0..names.len() {
            let fields = sorted_fields(names[..n].iter().copied());
            for key in names
                .iter()
                .chain(&["abcdefgh\0", "source.h", "source.j", "zz"])
            {
                let plain = plain_search(&fields, key);
                assert_eq!(position_in(&fields, key), plain, "{key:?} in {n} names");
            }
        }
    }

    #[test]
    fn find_name_is_that_of_a_plain_search() {
        // names around `source.ip` and `source.asn`: sharing their first eight bytes or not,
        // shorter than eight bytes, with bytes below and above theirs
        let names = [
            "",
            "sourc",
            "source.",
            "source.a",
            "source.as",
            "source.asn",
            "source.asn\0",
            "source.asz",
            "source.h",
            "source.i",
            "source.i\0",
            "source.iface",
            "source.ip",
            "source.ip_x",
            "source.ipa",
            "source.iz",
            "source.j",
            "é",
        ];
        for present in (0..1u32 << names.len()).step_by(3) {
            let fields = sorted_fields(
                (0..names.len())
                    .filter(|i| present & (1 << i) != 0)
                    .map(|i| names[i]),
            );
            for key in names
                .iter()
                .chain(&["source.ip\0", "source.b", "abcdefghi", "zzz"])
            {
                let plain = plain_search(&fields, key);
                assert_eq!(find_name(&fields, key), plain, "{key:?} in {present:b}");
            }
        }
    }

    #[test]
    fn as_map_follows_changes() {
        let mut e = Event::new();
        e.insert("a", 1);
        assert_eq!(e.as_map().len(), 1);
        e.insert_static("b", 2);
        assert_eq!(e.as_map().len(), 2);
        e.remove("a");
        assert_eq!(e.as_map().keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all: String = (0u32..0x300).filter_map(char::from_u32).collect();
        all.push_str("\u{2028}\u{2029}\u{feff}\u{10ffff}\u{7f}é😀\"\\/");
        let mut e = Event::new();
        e.insert("all", all.clone());
        e.insert("k\"ey\n", Value::Null);
        e.insert("num", 1.5);
        e.insert("neg", -7);
        e.insert("big", u64::MAX);
        e.insert("t", true);
        e.insert("arr", serde_json::json!([1, "x\u{1}", {"a": null}]));
        for c in all.chars() {
            let mut one = Event::new();
            one.insert("c", c.to_string());
            assert_eq!(
                one.to_json_line(),
                serde_json::to_string(one.as_map()).unwrap(),
                "{c:?}"
            );
        }
        assert_eq!(e.to_json_line(), serde_json::to_string(e.as_map()).unwrap());
        // escapes at every offset of the eight-byte scan, UTF-8 around them
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é'] {
            for before in 0..20 {
                for after in [0, 1, 7, 8, 9, 17] {
                    let text = format!("{}{special}{}", "a".repeat(before), "é".repeat(after));
                    let mut one = Event::new();
                    one.insert("s", text.clone());
                    let want = serde_json::to_string(one.as_map()).unwrap();
                    assert_eq!(one.to_json_line(), want, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn name_order_is_str_order() {
        let names = [
            "",
            "a",
            "b",
            "ab",
            "source.geolocation.cc",
            "source.geolocation.city",
            "source.geolocation",
            "source.geolocation.c",
            "extra.http",
            "extra.http_code",
            "extra.httpa",
            "é",
            "z\u{7f}",
            "zz",
            "source.asn",
            "source.as_name",
            "time.source",
            "time.observation",
        ];
        for a in names {
            for b in names {
                assert_eq!(
                    cmp_bytes(a.as_bytes(), b.as_bytes()),
                    a.cmp(b),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
