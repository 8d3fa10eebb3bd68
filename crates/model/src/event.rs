//! The normalised event: a flat map of IntelMQ field names to JSON values.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One normalised observation, keyed by IntelMQ's field names.
///
/// Keys are kept sorted so that serialisation, fingerprints and comparisons are stable.
/// Values are JSON values, typed the way IntelMQ types them (`source.port` is a number,
/// `time.source` an ISO 8601 string, `extra.*` anything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Event {
    fields: BTreeMap<String, Value>,
}

impl Event {
    /// An event with no fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing what was there.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.fields.insert(key.into(), value.into());
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.fields.remove(key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The value of `key` when it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
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
        self.get_str("source.ip").and_then(|s| s.parse().ok())
    }

    /// `source.asn`, when it is a number.
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
        serde_json::to_string(&self.fields).expect("a map of JSON values always serialises")
    }

    /// The fields as a JSON object.
    pub fn as_map(&self) -> &BTreeMap<String, Value> {
        &self.fields
    }
}

impl FromIterator<(String, Value)> for Event {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Self {
            fields: iter.into_iter().collect(),
        }
    }
}

impl From<BTreeMap<String, Value>> for Event {
    fn from(fields: BTreeMap<String, Value>) -> Self {
        Self { fields }
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
}
