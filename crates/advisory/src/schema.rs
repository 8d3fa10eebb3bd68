//! CSAF 2.0 documents validated against the CSAF JSON schema (draft 2020-12).
//!
//! The caller reads the schema file (the standard's `csaf_json_schema.json`) and hands its
//! JSON over; [`CsafSchema::new`] compiles it once, [`CsafSchema::validate`] reports every
//! violation with the JSON pointer of the offending value. `format` (date-time, uri) is
//! asserted, not only annotated.
//!
//! The CSAF schema refers to FIRST's CVSS v2.0/v3.0/v3.1 JSON schemas by URL. No network
//! is used: those references resolve to small local stand-ins that only tell the versions
//! apart (so `cvss_v3`'s `oneOf` still works) and require `version`, `vectorString` and
//! `baseScore`; the vector, the scores and the severities are checked by the mandatory
//! tests 6.1.8 and 6.1.9 in [`crate::checks`] instead.

use serde_json::{Value, json};

use crate::model::Problem;

/// The `$id` of the CSAF 2.0 JSON schema, used when the schema given has none.
pub const CSAF_SCHEMA_ID: &str = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json";

/// A compiled CSAF JSON schema.
pub struct CsafSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl std::fmt::Debug for CsafSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsafSchema").finish_non_exhaustive()
    }
}

/// A schema that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("the CSAF JSON schema does not compile: {0}; pass the standard's csaf_json_schema.json")]
pub struct SchemaError(String);

impl CsafSchema {
    /// Compiles the CSAF JSON schema.
    pub fn new(schema: &Value) -> Result<Self, SchemaError> {
        let id = schema
            .get("$id")
            .and_then(Value::as_str)
            .unwrap_or(CSAF_SCHEMA_ID)
            .to_string();
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        let err = |e: boon::CompileError| SchemaError(e.to_string());
        for (url, version, required) in [
            (
                "https://www.first.org/cvss/cvss-v2.0.json",
                "2.0",
                &["version", "vectorString", "baseScore"][..],
            ),
            (
                "https://www.first.org/cvss/cvss-v3.0.json",
                "3.0",
                &["version", "vectorString", "baseScore", "baseSeverity"][..],
            ),
            (
                "https://www.first.org/cvss/cvss-v3.1.json",
                "3.1",
                &["version", "vectorString", "baseScore", "baseSeverity"][..],
            ),
        ] {
            let stand_in = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "version": {"const": version},
                    "vectorString": {"type": "string"},
                    "baseScore": {"type": "number", "minimum": 0, "maximum": 10},
                },
                "required": required,
            });
            compiler.add_resource(url, stand_in).map_err(err)?;
        }
        compiler.add_resource(&id, schema.clone()).map_err(err)?;
        let mut schemas = boon::Schemas::new();
        let index = compiler.compile(&id, &mut schemas).map_err(err)?;
        Ok(CsafSchema { schemas, index })
    }

    /// Every schema violation of a document, each at the JSON pointer of its value.
    /// Empty when the document is valid.
    pub fn validate(&self, doc: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Err(e) = self.schemas.validate(doc, self.index) {
            leaves(&e, &mut out);
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup();
        out
    }
}

fn leaves(e: &boon::ValidationError<'_, '_>, out: &mut Vec<Problem>) {
    if e.causes.is_empty() {
        out.push(Problem::new(
            e.instance_location.to_string(),
            "schema",
            e.kind.to_string(),
        ));
    } else {
        for c in &e.causes {
            leaves(c, out);
        }
    }
}
