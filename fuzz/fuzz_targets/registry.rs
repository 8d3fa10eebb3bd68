//! Registry files: the first byte picks the format (TOML, JSON, JSON lines, CSV), the rest
//! is the file, written to a temporary file since the reader takes a path.
#![no_main]

use std::io::Write;

use baken_attribute::registry::RegistryReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let ext = ["toml", "json", "jsonl", "csv"][pick as usize % 4];
    let mut file = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
        .expect("a temporary file");
    file.write_all(text).expect("written");
    if let Ok(reader) = RegistryReader::open(file.path()) {
        for org in reader {
            let _ = org;
        }
    }
});
