//! Shadowserver CSV reports (to be written).

use std::path::{Path, PathBuf};

use crate::{FeedError, Options, Rows};

/// Shadowserver's report schema (placeholder).
pub struct Schema;

impl Schema {
    /// Where the schema is looked for when none is given.
    pub fn default_path() -> PathBuf {
        PathBuf::from("../shared/data/shadowserver/shadowserver-schema.json")
    }
}

/// Opens a Shadowserver CSV report.
pub fn open(path: &Path, _options: &Options) -> Result<Rows, FeedError> {
    Err(FeedError::Format {
        path: path.to_path_buf(),
        message: "not implemented yet".into(),
    })
}
