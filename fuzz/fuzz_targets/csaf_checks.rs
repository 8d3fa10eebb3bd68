//! The CSAF 2.0 tests of section 6.1 (mandatory) and 6.2 (optional) over any JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = baken_advisory::checks::report(&doc);
    }
});
