//! nmap XML (-oX): every host read, none may panic.
#![no_main]

use std::path::Path;

use baken_feeds::{FeedKind, Options, read_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = Options {
        observation_time: Some("2026-03-24T00:00:00+00:00".into()),
        ..Options::default()
    };
    if let Ok(rows) = read_text(
        FeedKind::Nmap,
        Path::new("fuzz.xml"),
        data.to_vec(),
        &options,
    ) {
        for row in rows {
            let _ = row.outcome;
        }
    }
});
