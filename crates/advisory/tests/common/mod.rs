//! Helpers shared by the integration tests.

use std::path::PathBuf;

use serde_json::Value;

/// `../shared/data/csaf` beside the repository.
pub fn shared_csaf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/csaf")
}

/// Every CSAF example of the shared data, without the schema: `(file name, JSON)`.
pub fn csaf_examples() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(shared_csaf())
        .expect("../shared/data/csaf is readable")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().contains("schema"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 5, "expected the shared CSAF examples");
    out
}

/// A fixture of `tests/data`.
#[allow(dead_code)] // each test binary compiles this module; not all read fixtures
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The CSAF 2.0 JSON schema of the shared data.
#[allow(dead_code)] // each test binary compiles this module; only some read the schema
pub fn csaf_schema() -> Value {
    serde_json::from_slice(&std::fs::read(shared_csaf().join("csaf_schema_2.0.json")).unwrap())
        .unwrap()
}
