//! The discovery formats of CSAF 2.0 section 7, read into what the sync needs: the
//! provider metadata's distributions, ROLIE feed entries, `changes.csv` rows, `index.txt`
//! lines, hash files and `security.txt`. No IO.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use crate::HashAlgorithm;

/// `provider-metadata.json`, only the parts the sync follows.
#[derive(Debug, Deserialize)]
pub(crate) struct ProviderMetadata {
    #[serde(default)]
    pub distributions: Vec<Distribution>,
    /// The keys the provider signs its documents with (CSAF 2.0 section 7.1.20).
    #[serde(default)]
    pub public_openpgp_keys: Vec<PublishedKey>,
}

/// `public_openpgp_keys[]`: where a signing key is published, and its fingerprint.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PublishedKey {
    pub url: String,
    pub fingerprint: Option<String>,
}

/// One entry of `distributions`: a directory, ROLIE feeds, or both.
#[derive(Debug, Deserialize)]
pub(crate) struct Distribution {
    pub directory_url: Option<String>,
    pub rolie: Option<Rolie>,
}

/// `distributions[].rolie`.
#[derive(Debug, Deserialize)]
pub(crate) struct Rolie {
    #[serde(default)]
    pub feeds: Vec<RolieFeedRef>,
}

/// `distributions[].rolie.feeds[]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RolieFeedRef {
    pub url: String,
}

/// A document the provider lists, before it is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The document's URL.
    pub url: Url,
    /// When the provider says it last changed, where it says so.
    pub updated: Option<DateTime<Utc>>,
    /// Hash files the listing names (ROLIE `rel: hash` links); empty means "probe
    /// `<url>.sha256`, then `<url>.sha512`".
    pub hashes: Vec<Url>,
    /// The signature the listing names (a ROLIE `rel: signature` link); `None` means
    /// "probe `<url>.asc`".
    pub signature: Option<Url>,
}

#[derive(Debug, Deserialize)]
struct FeedDoc {
    feed: Feed,
}

#[derive(Debug, Deserialize)]
struct Feed {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    link: Vec<Link>,
    updated: Option<String>,
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
struct Link {
    rel: String,
    href: String,
}

#[derive(Debug, Deserialize)]
struct Content {
    src: String,
}

/// Reads a ROLIE feed (`{"feed": {"entry": [...]}}`). Each entry's document is
/// `content.src` (the `self` link where there is no content); its hash files are the
/// `hash` links. An entry whose URL cannot be read is returned as an error string beside
/// the entries that could.
pub(crate) fn rolie_feed(base: &Url, bytes: &[u8]) -> Result<(Vec<Listed>, Vec<String>), String> {
    let doc: FeedDoc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut listed = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in doc.feed.entry.into_iter().enumerate() {
        let href = entry.content.map(|c| c.src).or_else(|| {
            entry
                .link
                .iter()
                .find(|l| l.rel == "self")
                .map(|l| l.href.clone())
        });
        let Some(href) = href else {
            problems.push(format!(
                "feed.entry[{i}] has neither content.src nor a self link"
            ));
            continue;
        };
        let url = match base.join(&href) {
            Ok(url) => url,
            Err(e) => {
                problems.push(format!("feed.entry[{i}].content.src {href:?}: {e}"));
                continue;
            }
        };
        let hashes = entry
            .link
            .iter()
            .filter(|l| l.rel == "hash")
            .filter_map(|l| base.join(&l.href).ok())
            .collect();
        let signature = entry
            .link
            .iter()
            .find(|l| l.rel == "signature")
            .and_then(|l| base.join(&l.href).ok());
        let updated = entry.updated.as_deref().and_then(timestamp);
        listed.push(Listed {
            url,
            updated,
            hashes,
            signature,
        });
    }
    Ok((listed, problems))
}

/// Reads `changes.csv`: rows of `"path","timestamp"`, paths relative to the directory.
/// Rows that cannot be read come back as error strings naming their line.
pub(crate) fn changes_csv(directory: &Url, bytes: &[u8]) -> (Vec<Listed>, Vec<String>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut listed = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("changes.csv: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let (Some(path), Some(ts)) = (record.get(0), record.get(1)) else {
            problems.push(format!(
                "changes.csv line {line}: expected \"path\",\"timestamp\""
            ));
            continue;
        };
        let path = path.trim();
        if path.is_empty() {
            continue;
        }
        let Some(updated) = timestamp(ts.trim()) else {
            problems.push(format!(
                "changes.csv line {line}: timestamp {ts:?} is not RFC 3339"
            ));
            continue;
        };
        match directory.join(path) {
            Ok(url) => listed.push(Listed {
                url,
                updated: Some(updated),
                hashes: Vec::new(),
                signature: None,
            }),
            Err(e) => problems.push(format!("changes.csv line {line}: path {path:?}: {e}")),
        }
    }
    (listed, problems)
}

/// Reads `index.txt`: one document path per line, relative to the directory.
pub(crate) fn index_txt(directory: &Url, text: &str) -> (Vec<Listed>, Vec<String>) {
    let mut listed = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let path = line.trim();
        if path.is_empty() {
            continue;
        }
        match directory.join(path) {
            Ok(url) => listed.push(Listed {
                url,
                updated: None,
                hashes: Vec::new(),
                signature: None,
            }),
            Err(e) => problems.push(format!("index.txt line {}: path {path:?}: {e}", i + 1)),
        }
    }
    (listed, problems)
}

/// Reads a hash file: `<hex>  <filename>` (the output of `sha256sum`); only the hex is
/// used. The algorithm is told by the length of the hex.
pub(crate) fn hash_file(text: &str) -> Result<(HashAlgorithm, String), String> {
    let hex = text.split_whitespace().next().unwrap_or("");
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{:?} is not a hex digest", truncate(hex)));
    }
    let algorithm = match hex.len() {
        64 => HashAlgorithm::Sha256,
        128 => HashAlgorithm::Sha512,
        0 => return Err("the hash file is empty".into()),
        n => {
            return Err(format!(
                "a digest of {n} hex digits is neither SHA-256 nor SHA-512"
            ));
        }
    };
    Ok((algorithm, hex.to_ascii_lowercase()))
}

/// The provider-metadata URLs a `security.txt` names in its `CSAF:` fields, in order.
pub(crate) fn security_txt(base: &Url, text: &str) -> Vec<Url> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("csaf")
                .then(|| base.join(value.trim()).ok())?
        })
        .collect()
}

/// An RFC 3339 timestamp in UTC.
pub(crate) fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn truncate(s: &str) -> &str {
    s.char_indices().nth(40).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://csaf.example/white/").unwrap()
    }

    #[test]
    fn changes_csv_rows_join_the_directory() {
        let csv = b"\"2023/a-1.json\",\"2023-05-01T10:00:00+02:00\"\n\"b.json\",\"2020-01-01T00:00:00Z\"\n\"c.json\",\"yesterday\"\n";
        let (listed, problems) = changes_csv(&base(), csv);
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed[0].url.as_str(),
            "https://csaf.example/white/2023/a-1.json"
        );
        assert_eq!(
            listed[0].updated.unwrap().to_rfc3339(),
            "2023-05-01T08:00:00+00:00"
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("line 3"), "{problems:?}");
    }

    #[test]
    fn index_txt_skips_blank_lines() {
        let (listed, problems) = index_txt(&base(), "a.json\n\n 2024/b.json \n");
        assert!(problems.is_empty());
        let urls: Vec<_> = listed.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://csaf.example/white/a.json",
                "https://csaf.example/white/2024/b.json"
            ]
        );
    }

    #[test]
    fn hash_files_tell_their_algorithm() {
        let h256 = "AB".repeat(32);
        assert_eq!(
            hash_file(&format!("{h256}  a.json\n")).unwrap(),
            (HashAlgorithm::Sha256, "ab".repeat(32))
        );
        let h512 = "0f".repeat(64);
        assert_eq!(hash_file(&h512).unwrap().0, HashAlgorithm::Sha512);
        assert!(hash_file("").is_err());
        assert!(hash_file("xyz  a.json").is_err());
        assert!(hash_file("abcd  a.json").is_err());
    }

    #[test]
    fn rolie_entries_use_content_src_and_hash_links() {
        let feed = br#"{"feed": {"entry": [
            {"link": [{"rel": "self", "href": "x.json"},
                      {"rel": "hash", "href": "https://csaf.example/white/d.json.sha512"},
                      {"rel": "signature", "href": "d.json.asc"}],
             "updated": "2021-02-03T04:05:06Z",
             "content": {"type": "application/json", "src": "d.json"}},
            {"link": [{"rel": "self", "href": "e.json"}]},
            {"link": []}
        ]}}"#;
        let (listed, problems) = rolie_feed(&base(), feed).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].url.as_str(), "https://csaf.example/white/d.json");
        assert_eq!(listed[0].hashes.len(), 1);
        assert!(listed[0].updated.is_some());
        assert_eq!(listed[1].url.as_str(), "https://csaf.example/white/e.json");
        assert_eq!(problems.len(), 1);
        assert!(rolie_feed(&base(), b"[]").is_err());
    }

    #[test]
    fn security_txt_csaf_fields() {
        let base = Url::parse("https://csaf.example/.well-known/security.txt").unwrap();
        let text = "Contact: mailto:cert@csaf.example\nCSAF: https://csaf.example/pm.json\ncsaf: /provider-metadata.json\n";
        let urls: Vec<_> = security_txt(&base, text)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            urls,
            [
                "https://csaf.example/pm.json",
                "https://csaf.example/provider-metadata.json"
            ]
        );
    }
}
