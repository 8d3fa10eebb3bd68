//! `vers:` version ranges, and whether a version (after the first newline) is in one.
#![no_main]

use baken_matching::version::Vers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (range, version) = text.split_once('\n').unwrap_or((text, "1.0"));
    if let Ok(vers) = range.parse::<Vers>() {
        let _ = vers.contains(version);
    }
});
