//! intelmq feed (to be written).

use std::path::Path;

use crate::{FeedError, Options, Rows};

/// Opens a intelmq file.
pub fn open(path: &Path, _options: &Options) -> Result<Rows, FeedError> {
    Err(FeedError::Format {
        path: path.to_path_buf(),
        message: "the intelmq feed is not implemented yet".into(),
    })
}
