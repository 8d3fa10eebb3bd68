//! Routing tables: CAIDA pfx2as, iptoasn, prefix<TAB>asn.
#![no_main]

use baken_attribute::routing::RoutingReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for prefix in RoutingReader::new("fuzz.txt", data) {
        let _ = prefix;
    }
});
