//! security.txt files (RFC 9116), cleartext-signed or not: every field read, none may panic.
#![no_main]

use baken_attribute::securitytxt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file = securitytxt::parse(text, &[]);
        let _ = file.mailto_contacts();
        let _ = file.usable_at(chrono::DateTime::UNIX_EPOCH);
    }
});
