//! IntelMQ events, one JSON object a line, as IntelMQ's file output writes them (flat
//! field names), for an IntelMQ installation to read with its JSON parser.
//!
//! An observation leaves as the event it was when ingested (the store reads every kept row
//! again as that event). What a recipient may know only as counts leaves as one event per
//! sector without any address: `classification.taxonomy` `vulnerable`, `classification.type`
//! `vulnerable-system`, `classification.identifier` the incident, `extra.sector`,
//! `extra.organisations`, `extra.findings`.

use baken_model::Event;

use crate::Export;

/// The events of `export`'s counts.
pub fn count_events(export: &Export) -> Vec<Event> {
    export
        .counts
        .iter()
        .map(|c| {
            let mut e = Event::new();
            e.insert("feed.name", "baken");
            e.insert("feed.provider", export.producer.clone());
            e.insert("classification.taxonomy", "vulnerable");
            e.insert("classification.type", "vulnerable-system");
            e.insert("classification.identifier", export.incident.clone());
            if let Some(cve) = export.cve() {
                e.insert("product.vulnerabilities", cve.to_ascii_lowercase());
            }
            e.insert(
                "time.observation",
                export
                    .generated_at
                    .format("%Y-%m-%dT%H:%M:%S+00:00")
                    .to_string(),
            );
            e.insert("tlp", export.tlp.label().trim_start_matches("TLP:"));
            e.insert("extra.sector", c.sector.clone());
            // a number, or `<k` below the small-count threshold, as the mail publishes it
            for (key, n) in [
                ("extra.organisations", &c.organisations),
                ("extra.findings", &c.findings),
            ] {
                match n.parse::<u64>() {
                    Ok(n) => e.insert(key, n),
                    Err(_) => e.insert(key, n.clone()),
                }
            }
            e.insert(
                "comment",
                "counts only: the sharing policy lets the recipient know no more",
            );
            e
        })
        .collect()
}

/// `events` as JSON lines.
pub fn lines(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        e.write_json_line(&mut out);
        out.push(b'\n');
    }
    out
}
