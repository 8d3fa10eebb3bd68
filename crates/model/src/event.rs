//! The normalised event: a flat map of IntelMQ field names to JSON values.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One normalised observation, keyed by IntelMQ's field names.
///
/// Values are JSON values, typed the way IntelMQ types them (`source.port` is a number,
/// `time.source` an ISO 8601 string, `extra.*` anything). An event serialises as IntelMQ's
/// flat JSON object, keys sorted.
///
/// Inside, the fields are one vector sorted by name, names unique (a binary search finds a
/// key; an event has a few dozen fields). A name is a `Cow<'static, str>`: names known when
/// compiling are stored without copying ([`Event::insert_static`]). A reader that fills one
/// event per row can take the vector out ([`Event::into_fields`]), refill it and put it
/// back ([`Event::from_sorted_fields`]) without allocating.
///
/// ```
/// use baken_model::Event;
/// let mut event = Event::new();
/// event.insert("source.port", 443);
/// event.insert_static("source.ip", "198.18.0.1");
/// assert_eq!(event.get_str("source.ip"), Some("198.18.0.1"));
/// let names: Vec<&str> = event.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["source.ip", "source.port"]);
/// ```
#[derive(Default, Clone, PartialEq)]
pub struct Event {
    /// Sorted by name, names unique.
    fields: Vec<(Cow<'static, str>, Value)>,
}

impl fmt::Debug for Event {
    /// As the map it is: `Event { fields: {"source.ip": String("198.18.0.1")} }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Fields<'a>(&'a Event);
        impl fmt::Debug for Fields<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.iter()).finish()
            }
        }
        f.debug_struct("Event")
            .field("fields", &Fields(self))
            .finish()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
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
        }
    }

    /// The event of `fields`, which must be sorted by name, names unique: as
    /// [`Event::into_fields`] gives them, and as a reader that knows its names in order
    /// writes them. They are taken as they are, unchecked outside debug builds (a check
    /// would cost a reader that fills an event per row a tenth of its time): fields out of
    /// order are a logic error that makes lookups miss them and the JSON out of order. For
    /// fields in any order, collect them ([`FromIterator`]).
    ///
    /// ```
    /// use baken_model::Event;
    /// let e = Event::from_sorted_fields(vec![
    ///     ("source.ip".into(), "198.18.0.1".into()),
    ///     ("source.port".into(), 443.into()),
    /// ]);
    /// assert_eq!(e.get_str("source.ip"), Some("198.18.0.1"));
    /// // the vector moves out and back in, its room kept
    /// let mut fields = e.into_fields();
    /// fields.truncate(1);
    /// let e = Event::from_sorted_fields(fields);
    /// assert_eq!(e.to_json_line(), r#"{"source.ip":"198.18.0.1"}"#);
    /// ```
    pub fn from_sorted_fields(fields: Vec<(Cow<'static, str>, Value)>) -> Self {
        debug_assert!(
            fields.windows(2).all(|w| w[0].0 < w[1].0),
            "Event::from_sorted_fields: names out of order or repeated"
        );
        Event { fields }
    }

    /// The fields, sorted by name, names unique: the vector the event keeps them in.
    pub fn into_fields(self) -> Vec<(Cow<'static, str>, Value)> {
        self.fields
    }

    /// Where `key` is, or where it would go.
    #[inline]
    fn position(&self, key: &str) -> Result<usize, usize> {
        position_in(&self.fields, key)
    }

    /// Sets `key` to `value`, replacing what was there.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key: String = key.into();
        match self.position(&key) {
            Ok(i) => self.fields[i].1 = value.into(),
            Err(i) => self.fields.insert(i, (Cow::Owned(key), value.into())),
        }
    }

    /// Sets `key` to `value`, replacing what was there, without copying the key: for
    /// names known when compiling.
    pub fn insert_static(&mut self, key: &'static str, value: impl Into<Value>) {
        match self.position(key) {
            Ok(i) => self.fields[i].1 = value.into(),
            Err(i) => self.fields.insert(i, (Cow::Borrowed(key), value.into())),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key).ok()?;
        Some(self.fields.remove(i).1)
    }

    /// Keeps only the fields whose names `keep` accepts, and gives back the room the others
    /// took: for an event held long after it was read, of which only some fields are used.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.fields.retain(|(name, _)| keep(name));
        self.fields.shrink_to_fit();
    }

    /// Removes every field, keeping the room they took.
    pub fn clear(&mut self) {
        self.fields.clear();
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
        self.fields.iter().map(|(k, v)| (&**k, v))
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
                k.len()
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
            write_json_str(out, k);
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

    /// The fields as a JSON object's map.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

/// Where `key` is in `fields` (sorted by name), or where it would go: a binary search by
/// `str`'s order. Most names are eight bytes or longer and most probes differ in the first
/// eight, so those are compared as one number, the key's read once, and only names that
/// share them are compared further; a call into `memcmp` per probe took three times as
/// long (`bench/vs-intelmq.sh`: the lookup and filter stages search every event for
/// `source.ip` and `source.asn`, and a tenth of their time went to it).
#[inline]
fn position_in(fields: &[(Cow<'static, str>, Value)], key: &str) -> Result<usize, usize> {
    let key = key.as_bytes();
    let Some(head) = key.first_chunk::<8>().map(|w| u64::from_be_bytes(*w)) else {
        return fields.binary_search_by(|(k, _)| k.as_bytes().cmp(key));
    };
    fields.binary_search_by(|(k, _)| {
        let k = k.as_bytes();
        match k.first_chunk::<8>() {
            Some(w) => u64::from_be_bytes(*w)
                .cmp(&head)
                .then_with(|| k[8..].cmp(&key[8..])),
            None => k.cmp(key),
        }
    })
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
                .map(|(k, v)| (Cow::Owned(k), v))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        e.clear();
        assert!(e.is_empty());
        assert_eq!(e.to_json_line(), "{}");
    }

    /// Field names and values of a few kinds, names often equal.
    fn fields() -> impl Strategy<Value = Vec<(String, Value)>> {
        let name = prop_oneof![
            proptest::sample::select(vec!["a", "b", "source.ip", "source.ipa", "é", ""])
                .prop_map(String::from),
            "[a-z.é]{0,12}",
        ];
        let value = prop_oneof![
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
            Just(Value::Null),
        ];
        proptest::collection::vec((name, value), 0..12)
    }

    proptest! {
        /// Whatever order fields come in, an event holds what a map of them holds, and the
        /// ways in agree: inserted one by one, collected, from a map, from sorted fields.
        #[test]
        fn an_event_is_the_map_of_its_fields(fields in fields()) {
            let map: BTreeMap<String, Value> = fields.iter().cloned().collect();
            let sorted = map.iter().map(|(k, v)| (Cow::Owned(k.clone()), v.clone())).collect();
            let from_vec = Event::from_sorted_fields(sorted);
            prop_assert_eq!(from_vec.to_map(), map.clone());
            prop_assert_eq!(from_vec.iter().count(), map.len());
            let mut inserted = Event::new();
            for (k, v) in &fields {
                inserted.insert(k.as_str(), v.clone());
            }
            prop_assert_eq!(&inserted, &from_vec);
            let collected: Event = fields.iter().cloned().collect();
            prop_assert_eq!(&collected, &from_vec);
            prop_assert_eq!(&Event::from(map.clone()), &from_vec);
            for (k, v) in &map {
                prop_assert_eq!(from_vec.get(k), Some(v));
            }
            prop_assert_eq!(from_vec.get("not a name in any test"), None);
            // out and in again: the same event
            let again = Event::from_sorted_fields(from_vec.clone().into_fields());
            prop_assert_eq!(&again, &from_vec);
            // removing: gone, the others kept
            for k in map.keys() {
                let mut e = from_vec.clone();
                let removed = e.remove(k);
                prop_assert_eq!(removed.as_ref(), map.get(k));
                prop_assert!(!e.contains(k));
                prop_assert_eq!(e.len(), map.len() - 1);
            }
        }
    }

    proptest! {
        /// The search finds what the standard library's search by `str`'s order finds.
        #[test]
        fn position_is_that_of_a_plain_search(
            names in proptest::collection::btree_set("(source|sourcf|a)?[.a-zé\\x00]{0,12}", 0..24),
            key in "(source|sourcf|a)?[.a-zé\\x00]{0,12}",
        ) {
            let fields: Vec<(Cow<'static, str>, Value)> =
                names.iter().map(|n| (Cow::Owned(n.clone()), Value::Null)).collect();
            for key in names.iter().map(String::as_str).chain([key.as_str()]) {
                let plain = fields.binary_search_by(|(k, _)| (**k).cmp(key));
                prop_assert_eq!(position_in(&fields, key), plain, "{:?}", key);
            }
        }
    }

    #[test]
    fn sorted_fields_are_taken_as_they_are() {
        let fields: Vec<(Cow<'static, str>, Value)> = vec![
            ("a".into(), 1.into()),
            ("b".into(), 2.into()),
            (String::from("c").into(), 3.into()),
        ];
        let at = fields.as_ptr();
        let e = Event::from_sorted_fields(fields);
        assert_eq!(e.to_json_line(), r#"{"a":1,"b":2,"c":3}"#);
        let back = e.into_fields();
        assert_eq!(back.as_ptr(), at, "the same vector");
        assert!(matches!(back[0].0, Cow::Borrowed("a")));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "out of order")]
    fn fields_out_of_order_are_refused_in_debug_builds() {
        Event::from_sorted_fields(vec![("b".into(), 1.into()), ("a".into(), 2.into())]);
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
        assert_eq!(e.to_map(), map);
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
                serde_json::to_string(&one.to_map()).unwrap(),
                "{c:?}"
            );
        }
        assert_eq!(
            e.to_json_line(),
            serde_json::to_string(&e.to_map()).unwrap()
        );
        // escapes at every offset of the eight-byte scan, UTF-8 around them
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é'] {
            for before in 0..20 {
                for after in [0, 1, 7, 8, 9, 17] {
                    let text = format!("{}{special}{}", "a".repeat(before), "é".repeat(after));
                    let mut one = Event::new();
                    one.insert("s", text.clone());
                    let want = serde_json::to_string(&one.to_map()).unwrap();
                    assert_eq!(one.to_json_line(), want, "{text:?}");
                }
            }
        }
    }
}
