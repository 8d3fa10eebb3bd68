//! RPSL dumps (inetnum, inet6num, aut-num, role, organisation objects) and abuse-contact
//! resolution over them.
#![no_main]

use baken_attribute::rpsl::RpslLoader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut loader = RpslLoader::new();
    if loader.add_reader("fuzz.db", data).is_ok() {
        let _ = loader.finish();
    }
});
