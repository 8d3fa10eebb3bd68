//! What identifies a finding and an observation, whatever the engine: the finding key of an
//! event, the time it was seen, and how an owner is written down.

use baken_model::{AbuseContact, Attribution, Event, OrgId, Owner, Rule};

use crate::{Result, StoreError};

/// The finding key of an event, without its incident: the address (`source.ip`, else
/// `source.fqdn`, else empty), the port (`source.port`, else 0) and the transport
/// (`protocol.transport`, else empty).
pub fn finding_key(event: &Event) -> (&str, u16, &str) {
    let addr = event
        .get_str("source.ip")
        .or_else(|| event.get_str("source.fqdn"))
        .unwrap_or("");
    let port = event
        .get("source.port")
        .and_then(|v| v.as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(0);
    let transport = event.get_str("protocol.transport").unwrap_or("");
    (addr, port, transport)
}

/// `time.source` of an event as Unix seconds, when it has one that reads as a time.
pub fn seen_at(event: &Event) -> Option<i64> {
    event.get_str("time.source").and_then(parse_time)
}

/// An RFC 3339 time (IntelMQ writes `2026-03-24T06:00:00+00:00`) as Unix seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    fast_utc(text.as_bytes()).or_else(|| {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp())
    })
}

/// `YYYY-MM-DDTHH:MM:SS+00:00` (IntelMQ's form, and nearly every `time.source`) without a
/// general parser; anything else is `None` and goes to chrono.
fn fast_utc(b: &[u8]) -> Option<i64> {
    if b.len() != 25 || &b[19..] != b"+00:00" || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp() + hh * 3600 + mm * 60 + ss)
}

/// Unix seconds as stored times are shown: RFC 3339, UTC.
pub fn format_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

/// How an owner is stored: its kind and the organisation id or abuse contact (JSON).
pub(crate) fn owner_columns(owner: &Owner) -> (&'static str, Option<String>) {
    match owner {
        Owner::Organisation { id } => ("organisation", Some(id.0.clone())),
        Owner::Abuse(c) => (
            "abuse",
            Some(serde_json::to_string(c).expect("an abuse contact always serialises")),
        ),
        Owner::Unknown => ("unknown", None),
    }
}

/// The attribution stored as `owner_columns` and a rule and reason, in the row of finding
/// `finding`.
pub(crate) fn attribution_from_columns(
    finding: i64,
    kind: &str,
    owner: Option<String>,
    rule: &str,
    reason: String,
) -> Result<Attribution> {
    let unreadable = |column, value: &str| {
        StoreError::unreadable("finding owner", "finding", finding, column, value)
    };
    let owner = match (kind, owner) {
        ("organisation", Some(id)) => Owner::Organisation { id: OrgId(id) },
        ("abuse", Some(json)) => Owner::Abuse(
            serde_json::from_str::<AbuseContact>(&json).map_err(|_| unreadable("owner", &json))?,
        ),
        ("unknown", _) => Owner::Unknown,
        ("organisation" | "abuse", None) => {
            return Err(unreadable("owner", "NULL"));
        }
        (kind, _) => return Err(unreadable("owner_kind", kind)),
    };
    let rule: Rule = serde_json::from_value(serde_json::Value::String(rule.to_string()))
        .map_err(|_| unreadable("rule", rule))?;
    Ok(Attribution {
        owner,
        rule,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_time_reader_agrees_with_chrono() {
        for t in [
            "2026-03-24T06:00:00+00:00",
            "2020-02-29T23:59:59+00:00",
            "1970-01-01T00:00:00+00:00",
            "2019-12-17T12:34:56+00:00",
        ] {
            let want = chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp();
            assert_eq!(fast_utc(t.as_bytes()), Some(want), "{t}");
            assert_eq!(parse_time(t), Some(want));
        }
        // not the fast form: chrono decides
        assert_eq!(
            parse_time("2026-03-24T08:00:00+02:00"),
            parse_time("2026-03-24T06:00:00+00:00")
        );
        for bad in [
            "2026-02-30T00:00:00+00:00",
            "2026-03-24T24:00:00+00:00",
            "yesterday",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_key_is_address_port_and_transport() {
        let mut e = Event::new();
        assert_eq!(finding_key(&e), ("", 0, ""));
        e.insert("source.fqdn", "www.zorg.example");
        assert_eq!(finding_key(&e), ("www.zorg.example", 0, ""));
        e.insert("source.ip", "198.18.4.7");
        e.insert("source.port", 443);
        e.insert("protocol.transport", "tcp");
        assert_eq!(finding_key(&e), ("198.18.4.7", 443, "tcp"));
    }
}
