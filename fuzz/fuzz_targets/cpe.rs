//! CPE 2.3 names (formatted strings and URIs), and name matching of two of them (the input
//! split at its first newline).
#![no_main]

use baken_matching::cpe::{self, Cpe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\n').unwrap_or((text, text));
    if let (Ok(a), Ok(b)) = (a.parse::<Cpe>(), b.parse::<Cpe>()) {
        let _ = cpe::compare(&a, &b);
        let _ = cpe::matches(&a, &b);
        let _ = a.to_string();
    }
});
