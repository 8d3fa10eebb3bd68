//! Names to check, read from what a CERT has at hand: a plain list (one name a line),
//! certificate-transparency entries as certstream writes them (JSON lines, the names under
//! `data.leaf_cert.all_domains`), or the lines of a zone file or of a difference between two
//! (the owner name of each record; `$ORIGIN` and `@` understood; in a unified diff only the
//! added lines). The kind is told line by line, so files can be mixed.
//!
//! Bad input is data: a line that cannot be read is a [`LineError`] naming its line and
//! field, and reading goes on.

use std::borrow::Cow;
use std::io::BufRead;

use serde::Deserialize;

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", .field.map(|f| format!(", field {f}")).unwrap_or_default())]
pub struct LineError {
    /// Line number, from 1.
    pub line: usize,
    /// The field, for JSON lines.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    message_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow, default)]
    leaf_cert: Option<Leaf<'a>>,
}

#[derive(Deserialize)]
struct Leaf<'a> {
    #[serde(borrow, default)]
    all_domains: Option<Vec<Cow<'a, str>>>,
}

/// Reads names from `reader`, calling `f` with each and its line number; returns the lines
/// that could not be read. A name repeated on consecutive records (a zone's owner) is given
/// once.
pub fn read_names<R: BufRead>(
    mut reader: R,
    mut f: impl FnMut(usize, &str),
) -> std::io::Result<Vec<LineError>> {
    let mut errors = Vec::new();
    let mut line = String::new();
    let mut number = 0;
    let mut origin = String::new();
    let mut last = String::new();
    let mut give = |n: usize, name: &str, last: &mut String| {
        if name != last {
            f(n, name);
            last.clear();
            last.push_str(name);
        }
    };
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        number += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('{') {
            match serde_json::from_str::<Message<'_>>(trimmed) {
                Err(e) => errors.push(LineError {
                    line: number,
                    field: None,
                    message: format!("not a JSON object: {e}"),
                }),
                Ok(m)
                    if m.message_type
                        .as_deref()
                        .is_some_and(|t| t != "certificate_update") => {}
                Ok(m) => match m.data.and_then(|d| d.leaf_cert).and_then(|l| l.all_domains) {
                    Some(names) => names.iter().for_each(|n| give(number, n, &mut last)),
                    None => errors.push(LineError {
                        line: number,
                        field: Some("data.leaf_cert.all_domains"),
                        message: "missing: a certstream entry lists its names there".into(),
                    }),
                },
            }
            continue;
        }
        // a unified or `diff` difference: added lines only
        let record = if text.starts_with("+++") || text.starts_with("---") || text.starts_with("@@")
        {
            continue;
        } else if let Some(rest) = text.strip_prefix('+').or_else(|| text.strip_prefix("> ")) {
            rest
        } else if text.starts_with('-') || text.starts_with("< ") {
            continue;
        } else {
            text
        };
        // a record without an owner (white space first) belongs to the one before
        if record.starts_with([' ', '\t']) {
            continue;
        }
        let record = record.split(';').next().unwrap_or("");
        let mut fields = record.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if first.eq_ignore_ascii_case("$ORIGIN") {
            match fields.next() {
                Some(o) => origin = o.trim_end_matches('.').to_ascii_lowercase(),
                None => errors.push(LineError {
                    line: number,
                    field: Some("$ORIGIN"),
                    message: "no name after $ORIGIN".into(),
                }),
            }
            continue;
        }
        if first.starts_with('$') {
            continue; // $TTL, $INCLUDE, $GENERATE
        }
        let is_record = fields.next().is_some();
        let name = if first == "@" {
            if origin.is_empty() {
                errors.push(LineError {
                    line: number,
                    field: Some("owner"),
                    message: "@ before any $ORIGIN".into(),
                });
                continue;
            }
            origin.clone()
        } else if is_record && !first.ends_with('.') && !origin.is_empty() {
            format!("{first}.{origin}")
        } else {
            first.to_string()
        };
        give(number, &name, &mut last);
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<String>, Vec<LineError>) {
        let mut names = Vec::new();
        let errors = read_names(text.as_bytes(), |_, n| names.push(n.to_string())).unwrap();
        (names, errors)
    }

    #[test]
    fn plain_lists() {
        let (names, errors) = read("# new today\nrivm-info.example\n\nrivm.nl.login.test.\r\n");
        assert_eq!(names, ["rivm-info.example", "rivm.nl.login.test."]);
        assert!(errors.is_empty());
    }

    #[test]
    fn certstream_lines() {
        let text = concat!(
            r#"{"message_type":"heartbeat","timestamp":1}"#,
            "\n",
            r#"{"message_type":"certificate_update","data":{"leaf_cert":{"all_domains":["rivm-corona.example","*.rivm-corona.example"],"subject":{}},"cert_index":7}}"#,
            "\n",
            r#"{"message_type":"certificate_update","data":{}}"#,
            "\n{not json\n"
        );
        let (names, errors) = read(text);
        assert_eq!(names, ["rivm-corona.example", "*.rivm-corona.example"]);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 3);
        assert_eq!(errors[0].field, Some("data.leaf_cert.all_domains"));
        assert_eq!(errors[1].line, 4);
        assert!(
            errors[0]
                .to_string()
                .starts_with("line 3, field data.leaf_cert.all_domains")
        );
    }

    #[test]
    fn zone_files_and_differences() {
        let zone = "$ORIGIN example.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n\
                    rivm-info 3600 IN NS ns1.host.test.\n          IN NS ns2.host.test.\n\
                    rivm-info IN DS 1 2 3 abc\nrivm.nl.login.test. IN A 192.0.2.1 ; full name\n";
        let (names, errors) = read(zone);
        assert_eq!(
            names,
            ["example", "rivm-info.example", "rivm.nl.login.test."]
        );
        assert!(errors.is_empty());
        let diff = "--- old.zone\n+++ new.zone\n@@ -1,2 +1,2 @@\n-old-name.example. NS ns1.\n+rivm-corona.example. NS ns1.\n";
        assert_eq!(read(diff).0, ["rivm-corona.example."]);
        assert_eq!(
            read("> rivm-x.example. NS a.\n< gone.example. NS a.\n").0,
            ["rivm-x.example."]
        );
    }
}
