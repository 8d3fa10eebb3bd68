//! Shadowserver CSV (`scan_http_vulnerable`, the schema from $BAKEN_SHADOWSERVER_SCHEMA):
//! the first byte picks strict (bit 0) and raw (bit 1), the rest is the report's text.
#![no_main]

use std::path::Path;

use baken_feeds::{FeedKind, Options, read_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let options = Options {
        strict: flags & 1 == 1,
        raw: flags & 2 == 2,
        observation_time: Some("2026-03-24T00:00:00+00:00".into()),
        ..Options::default()
    };
    let name = Path::new("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    if let Ok(rows) = read_text(FeedKind::Shadowserver, name, text.to_vec(), &options) {
        for row in rows {
            let _ = row.outcome;
        }
    }
});
