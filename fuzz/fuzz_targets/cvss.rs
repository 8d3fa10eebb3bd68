//! CVSS v2 to v4.0 vectors, scored and explained.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = baken_advisory::cvss::compute(text);
    }
});
