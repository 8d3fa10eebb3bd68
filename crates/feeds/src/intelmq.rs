//! IntelMQ events, one JSON object per line, as IntelMQ's file output bot writes them.
//!
//! Both of the file output's shapes are read:
//!
//! * flat (the default): `{"source.ip": "198.51.100.7", "extra.tag": "x", …}`;
//! * hierarchical (`hierarchical_output: true`): `{"source": {"ip": "198.51.100.7"}, …}`.
//!
//! Nested objects are flattened with dots, except below `extra`: like IntelMQ, whose only
//! JSON-dict field is `extra`, a nested `extra` object becomes `extra.<key>` one level deep and
//! each value is kept as it is (an object stays an object). `extra` written as a JSON string
//! (`message_jsondict_as_string`) is decoded the same way.
//!
//! `__type` (written with `message_with_type`) is dropped, as IntelMQ's own JSON parser does;
//! a line whose `__type` is not `Event` (a `Report`) is rejected. Null and empty-string values
//! are dropped, as IntelMQ ignores them.
//!
//! The fields baken relies on are checked and normalised; a bad value rejects the line with a
//! [`RowError`](crate::RowError) naming the field:
//!
//! | field                                  | rule                                             |
//! |----------------------------------------|--------------------------------------------------|
//! | `source.ip`, `destination.ip`          | an IPv4 or IPv6 address (written canonically)    |
//! | `source.asn`, `destination.asn`        | an integer 0–4294967295 (a numeric string is accepted) |
//! | `source.port`, `destination.port`      | an integer 0–65535 (a numeric string is accepted)|
//! | `time.source`, `time.observation`      | an ISO 8601 time, rewritten in UTC with `+00:00` |
//!
//! Defaults, as IntelMQ's JSON parser applies them: `classification.type` is `undetermined`
//! when missing. `time.observation` is kept when the event has one (it is the upstream
//! observation) and set from [`Options::observation_time`](crate::Options) or the current
//! time otherwise. `feed.name` is kept, or set to `intelmq`. `raw` is kept only when
//! [`Options::raw`](crate::Options) is set; then an event without one gets the base64 of the
//! line.

use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value};

use self::jsonl::Reject;
use crate::{Event, FeedError, Options, Rows};

/// `feed.name` of events that carry none.
pub const FEED_NAME: &str = "intelmq";

/// Opens a file of IntelMQ events, one JSON object per line.
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::open(path, move |line| parse_line(line, &stamp).map(|e| vec![e]))
}

/// Parses IntelMQ events from `text`, as [`open`] parses a file.
pub fn read_text(text: Vec<u8>, options: &Options) -> Rows {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::read(Box::new(std::io::Cursor::new(text)), move |line| {
        parse_line(line, &stamp).map(|e| vec![e])
    })
}

/// Parses one line into an event.
fn parse_line(line: &str, stamp: &jsonl::Stamp) -> Result<Event, Reject> {
    let object = jsonl::parse_object(line)?;
    let mut event = Event::new();
    for (key, value) in object {
        match key.as_str() {
            "__type" => match value.as_str() {
                Some(t) if t.eq_ignore_ascii_case("event") => {}
                _ => {
                    return Err(Reject::field(
                        "__type",
                        format!("not an event but {value}; only IntelMQ events are read"),
                    ));
                }
            },
            "extra" => add_extra(&mut event, value)?,
            _ => flatten(&mut event, key, value),
        }
    }
    if event.is_empty() {
        return Err(Reject::line("the event has no fields"));
    }
    for field in ["source.ip", "destination.ip"] {
        if let Some(value) = event.get(field) {
            let ip = value
                .as_str()
                .and_then(|s| s.trim().parse::<IpAddr>().ok())
                .ok_or_else(|| Reject::field(field, format!("not an ip address: {value}")))?;
            event.insert(field, ip.to_string());
        }
    }
    for (field, max) in [
        ("source.asn", u64::from(u32::MAX)),
        ("destination.asn", u64::from(u32::MAX)),
        ("source.port", u64::from(u16::MAX)),
        ("destination.port", u64::from(u16::MAX)),
    ] {
        if let Some(value) = event.get(field) {
            let n = integer(value)
                .filter(|n| *n <= max)
                .ok_or_else(|| Reject::field(field, format!("not an integer 0-{max}: {value}")))?;
            event.insert(field, n);
        }
    }
    for field in ["time.source", "time.observation"] {
        if let Some(value) = event.get(field) {
            let time = value
                .as_str()
                .and_then(jsonl::normalise_time)
                .ok_or_else(|| Reject::field(field, format!("not an iso 8601 time: {value}")))?;
            event.insert(field, time);
        }
    }
    if !event.contains("classification.type") {
        event.insert("classification.type", "undetermined");
    }
    if !event.contains("feed.name") {
        event.insert("feed.name", FEED_NAME);
    }
    if !event.contains("time.observation") {
        event.insert("time.observation", stamp.observation.clone());
    }
    if !stamp.raw {
        event.remove("raw");
    } else if !event.contains("raw") {
        event.insert("raw", jsonl::base64(line));
    }
    Ok(event)
}

/// Adds `value` under `key`, flattening nested objects with dots (not below `extra.<key>`);
/// drops empty values.
fn flatten(event: &mut Event, key: String, value: Value) {
    match value {
        // `extra.<key>` values are anything, objects included
        v if key.starts_with("extra.") => event.insert(key, v),
        Value::Object(map) => {
            for (sub, v) in map {
                flatten(event, format!("{key}.{sub}"), v);
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        v => event.insert(key, v),
    }
}

/// Adds IntelMQ's `extra` dictionary (an object, or an object encoded as a JSON string) as
/// `extra.<key>` fields, values unchanged.
fn add_extra(event: &mut Event, value: Value) -> Result<(), Reject> {
    let map: Map<String, Value> = match value {
        Value::Object(map) => map,
        Value::String(s) => match serde_json::from_str(&s) {
            Ok(Value::Object(map)) => map,
            _ => return Err(Reject::field("extra", "not a json object")),
        },
        Value::Null => return Ok(()),
        _ => return Err(Reject::field("extra", "not a json object")),
    };
    for (key, value) in map {
        event.insert(format!("extra.{key}"), value);
    }
    Ok(())
}

/// A non-negative integer from a JSON number or a numeric string.
fn integer(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What the JSON-lines feeds (nuclei, zgrab2, IntelMQ) share: reading lines, rejecting them,
/// time stamps.
pub(crate) mod jsonl {
    use std::collections::VecDeque;
    use std::fs::File;
    use std::io::{BufRead, BufReader};
    use std::path::Path;

    use base64::Engine as _;
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde_json::{Map, Value};

    use crate::{Event, FeedError, Options, Row, RowError, Rows};

    /// Why a line was rejected; the reader adds the raw line to make a [`RowError`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Reject {
        /// The input field at fault, when one is.
        pub(crate) field: Option<String>,
        /// What is wrong, lower case, no trailing period.
        pub(crate) message: String,
    }

    impl Reject {
        /// A rejection naming the input field at fault.
        pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
            Self {
                field: Some(field.into()),
                message: message.into(),
            }
        }

        /// A rejection of the whole line.
        pub(crate) fn line(message: impl Into<String>) -> Self {
            Self {
                field: None,
                message: message.into(),
            }
        }
    }

    /// The fields every event of a file gets.
    #[derive(Debug, Clone)]
    pub(crate) struct Stamp {
        /// `time.observation`.
        pub(crate) observation: String,
        /// Whether to add `raw`.
        pub(crate) raw: bool,
        /// `feed.name`.
        pub(crate) feed_name: &'static str,
    }

    impl Stamp {
        /// The stamp for one file, taking the observation time once.
        pub(crate) fn new(options: &Options, feed_name: &'static str) -> Self {
            Self {
                observation: options
                    .observation_time
                    .clone()
                    .unwrap_or_else(|| format_utc(Utc::now())),
                raw: options.raw,
                feed_name,
            }
        }

        /// Adds `time.observation`, `feed.name` and, when asked for, `raw`.
        pub(crate) fn apply(&self, event: &mut Event, line: &str) {
            event.insert("time.observation", self.observation.clone());
            event.insert("feed.name", self.feed_name);
            if self.raw {
                event.insert("raw", base64(line));
            }
        }
    }

    /// Base64 of a line, as IntelMQ's `raw` field holds it.
    pub(crate) fn base64(line: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(line)
    }

    /// Parses a line as one JSON object.
    pub(crate) fn parse_object(line: &str) -> Result<Map<String, Value>, Reject> {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Reject::line("not a json object")),
            // serde_json says `EOF while parsing …`; the quoted input is not part of the message
            Err(e) => Err(Reject::line(format!(
                "invalid json: {}",
                e.to_string().to_lowercase()
            ))),
        }
    }

    /// A time in IntelMQ's form: UTC, `+00:00`, microseconds only when not zero (as Python's
    /// `isoformat` writes them).
    pub(crate) fn format_utc(time: DateTime<Utc>) -> String {
        let micros = time.timestamp_subsec_micros();
        if micros == 0 {
            time.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
        } else {
            format!("{}.{micros:06}+00:00", time.format("%Y-%m-%dT%H:%M:%S"))
        }
    }

    /// Parses an ISO 8601 / RFC 3339 time (any offset; none means UTC) into IntelMQ's form.
    pub(crate) fn normalise_time(text: &str) -> Option<String> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(format_utc(t.with_timezone(&Utc)));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
            if let Ok(t) = DateTime::parse_from_str(text, format) {
                return Some(format_utc(t.with_timezone(&Utc)));
            }
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Some(format_utc(t.and_utc()));
            }
        }
        None
    }

    /// Opens `path` and streams its non-empty lines through `parse`, which turns one line
    /// into one or more events (all reported with the line's number) or a rejection.
    pub(crate) fn open<F>(path: &Path, parse: F) -> Result<Rows, FeedError>
    where
        F: FnMut(&str) -> Result<Vec<Event>, Reject> + Send + 'static,
    {
        let file = File::open(path).map_err(|source| FeedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(read(Box::new(BufReader::new(file)), parse))
    }

    /// [`open`], passing over the lines `skip` says hold no row (a format's frame: the `[`
    /// and `]` around masscan's records, its comment lines).
    pub(crate) fn open_skipping<F>(
        path: &Path,
        skip: fn(&str) -> bool,
        parse: F,
    ) -> Result<Rows, FeedError>
    where
        F: FnMut(&str) -> Result<Vec<Event>, Reject> + Send + 'static,
    {
        let file = File::open(path).map_err(|source| FeedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(read_skipping(Box::new(BufReader::new(file)), skip, parse))
    }

    /// [`read`], passing over the lines `skip` says hold no row.
    pub(crate) fn read_skipping<F>(
        reader: Box<dyn BufRead + Send>,
        skip: fn(&str) -> bool,
        parse: F,
    ) -> Rows
    where
        F: FnMut(&str) -> Result<Vec<Event>, Reject> + Send + 'static,
    {
        Box::new(Lines {
            reader,
            buf: Vec::new(),
            line: 0,
            pending: VecDeque::new(),
            parse,
            skip,
            done: false,
        })
    }

    /// Streams the non-empty lines of `reader` through `parse`, as [`open`] does a file's.
    pub(crate) fn read<F>(reader: Box<dyn BufRead + Send>, parse: F) -> Rows
    where
        F: FnMut(&str) -> Result<Vec<Event>, Reject> + Send + 'static,
    {
        Box::new(Lines {
            reader,
            buf: Vec::new(),
            line: 0,
            pending: VecDeque::new(),
            parse,
            skip: |_| false,
            done: false,
        })
    }

    /// The row iterator behind [`open`].
    struct Lines<F> {
        reader: Box<dyn BufRead + Send>,
        buf: Vec<u8>,
        line: u64,
        pending: VecDeque<Row>,
        parse: F,
        /// Lines that hold no row.
        skip: fn(&str) -> bool,
        done: bool,
    }

    impl<F> crate::RowStream for Lines<F> where F: FnMut(&str) -> Result<Vec<Event>, Reject> + Send {}

    impl<F> Iterator for Lines<F>
    where
        F: FnMut(&str) -> Result<Vec<Event>, Reject>,
    {
        type Item = Row;

        fn next(&mut self) -> Option<Row> {
            loop {
                if let Some(row) = self.pending.pop_front() {
                    return Some(row);
                }
                if self.done {
                    return None;
                }
                self.buf.clear();
                match self.reader.read_until(b'\n', &mut self.buf) {
                    Ok(0) => {
                        self.done = true;
                        return None;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.done = true;
                        return Some(Row {
                            line: self.line + 1,
                            outcome: Err(RowError {
                                field: None,
                                message: format!("cannot read the line, reading stops: {e}"),
                                raw: String::new(),
                            }),
                        });
                    }
                }
                self.line += 1;
                let line = self.line;
                while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                    self.buf.pop();
                }
                let text = match std::str::from_utf8(&self.buf) {
                    Ok(text) => text,
                    Err(e) => {
                        return Some(Row {
                            line,
                            outcome: Err(RowError {
                                field: None,
                                message: format!("not valid utf-8: {e}"),
                                raw: String::from_utf8_lossy(&self.buf).into_owned(),
                            }),
                        });
                    }
                };
                if text.trim().is_empty() || (self.skip)(text) {
                    continue;
                }
                let reject = |r: Reject| Row {
                    line,
                    outcome: Err(RowError {
                        field: r.field,
                        message: r.message,
                        raw: text.to_owned(),
                    }),
                };
                match (self.parse)(text) {
                    Ok(events) if events.is_empty() => {
                        return Some(reject(Reject::line("the line holds no event")));
                    }
                    Ok(events) => self.pending.extend(events.into_iter().map(|e| Row {
                        line,
                        outcome: Ok(e),
                    })),
                    Err(r) => return Some(reject(r)),
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn times_are_normalised_to_utc() {
            let cases = [
                ("2024-05-15T00:02:49-07:00", "2024-05-15T07:02:49+00:00"),
                ("2018-04-06T19:38:09Z", "2018-04-06T19:38:09+00:00"),
                (
                    "2026-03-24T10:15:02.123456789+01:00",
                    "2026-03-24T09:15:02.123456+00:00",
                ),
                ("2026-03-24 10:15:02", "2026-03-24T10:15:02+00:00"),
                ("2026-03-24T10:15:02+0200", "2026-03-24T08:15:02+00:00"),
            ];
            for (input, expected) in cases {
                assert_eq!(normalise_time(input).as_deref(), Some(expected), "{input}");
            }
            assert_eq!(normalise_time("yesterday"), None);
            assert_eq!(normalise_time("2026-13-01T00:00:00Z"), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(raw: bool) -> jsonl::Stamp {
        jsonl::Stamp {
            observation: "2026-03-24T12:00:00+00:00".into(),
            raw,
            feed_name: FEED_NAME,
        }
    }

    #[test]
    fn hierarchical_and_flat_agree() {
        let flat = r#"{"source.ip": "198.51.100.7", "source.port": 443, "extra.tag": {"a": 1}, "feed.name": "x"}"#;
        let tree = r#"{"source": {"ip": "198.51.100.7", "port": 443}, "extra": {"tag": {"a": 1}}, "feed": {"name": "x"}}"#;
        let a = parse_line(flat, &stamp(false)).unwrap();
        let b = parse_line(tree, &stamp(false)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get("extra.tag"), Some(&serde_json::json!({"a": 1})));
    }

    #[test]
    fn raw_is_kept_only_when_asked_for() {
        let line = r#"{"source.ip": "198.51.100.7", "raw": "b3JpZ2luYWw="}"#;
        assert!(!parse_line(line, &stamp(false)).unwrap().contains("raw"));
        let e = parse_line(line, &stamp(true)).unwrap();
        assert_eq!(e.get_str("raw"), Some("b3JpZ2luYWw="));
        let e = parse_line(r#"{"source.ip": "198.51.100.7"}"#, &stamp(true)).unwrap();
        assert_eq!(
            e.get_str("raw"),
            Some(jsonl::base64(r#"{"source.ip": "198.51.100.7"}"#).as_str())
        );
    }

    #[test]
    fn reports_are_rejected() {
        let r = parse_line(r#"{"__type": "Report", "raw": "eA=="}"#, &stamp(false)).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("__type"));
    }
}
