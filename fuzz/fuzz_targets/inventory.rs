//! Inventories: the first byte picks the name (`.csv`, else JSON told apart by content:
//! CycloneDX or SPDX), the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = if pick & 1 == 0 {
        "org-1.csv"
    } else {
        "org-1.json"
    };
    let _ = baken_matching::inventory::read("org-1", name, bytes);
});
