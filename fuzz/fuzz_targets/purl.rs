//! Package URLs.
#![no_main]

use baken_matching::purl::Purl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(purl) = text.parse::<Purl>() {
            let _ = purl.to_string();
        }
    }
});
