//! Advisories: CSAF 2.0, CVE JSON 5 and OSV, told apart by their content and read into the
//! one model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = baken_advisory::read(data);
});
