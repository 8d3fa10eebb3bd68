//! What the feeds that come as one JSON document (STIX bundles, MISP events) share: the
//! document read whole, each element of a list located by the line it starts on, and the
//! rows handed out from a list.

use std::path::Path;

use serde_json::value::RawValue;

use crate::{Alterations, Event, FeedError, Row, RowError, RowStream, Rows};

/// The largest document read (a bundle or event is read whole).
pub(crate) const MAX_DOCUMENT: u64 = 512 << 20;

/// The text of a document file, or why it cannot be read.
pub(crate) fn read(path: &Path) -> Result<String, FeedError> {
    let io = |source| FeedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_DOCUMENT {
        return Err(FeedError::Format {
            path: path.to_path_buf(),
            message: format!(
                "{len} bytes: larger than the {MAX_DOCUMENT} bytes a document may have; split it"
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    text(path, bytes)
}

/// `bytes` as UTF-8 text.
pub(crate) fn text(path: &Path, bytes: Vec<u8>) -> Result<String, FeedError> {
    String::from_utf8(bytes).map_err(|e| FeedError::Format {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 at byte {}: a JSON document must be UTF-8",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// The 1-based line of `part`, a slice of `text`, where it starts.
pub(crate) fn line_of(text: &str, part: &RawValue) -> u64 {
    let start = part.get().as_ptr() as usize;
    let base = text.as_ptr() as usize;
    let offset = start.saturating_sub(base).min(text.len());
    1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..offset]).count() as u64
}

/// The raw text kept with a rejected element: at most 4 KiB of it.
pub(crate) fn raw(part: &RawValue) -> String {
    let text = part.get();
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// A rejected element as a row.
pub(crate) fn reject(line: u64, field: String, message: String, raw: String) -> Row {
    Row {
        line,
        outcome: Err(RowError {
            field: Some(field),
            message,
            raw,
        }),
    }
}

/// An accepted event as a row.
pub(crate) fn accept(line: u64, event: Event) -> Row {
    Row {
        line,
        outcome: Ok(event),
    }
}

/// Rows read from a whole document, handed out in order.
pub(crate) struct ListRows(std::vec::IntoIter<Row>);

impl ListRows {
    /// The rows, sorted by line (stable: rows of one element keep their order).
    pub(crate) fn boxed(mut rows: Vec<Row>) -> Rows {
        rows.sort_by_key(|r| r.line);
        Box::new(ListRows(rows.into_iter()))
    }
}

impl Iterator for ListRows {
    type Item = Row;
    fn next(&mut self) -> Option<Row> {
        self.0.next()
    }
}

impl RowStream for ListRows {
    fn take_alterations(&mut self) -> Alterations {
        Alterations::default()
    }
}
