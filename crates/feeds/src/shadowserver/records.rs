//! CSV records straight out of one read buffer: the report's bytes are read once into a
//! buffer that `csv-core` splits in place, so a record's fields and its bytes as read (for
//! `raw`, line numbers and the quarantine) are slices of that buffer, not copies.
//!
//! The stream is the report as IntelMQ sees it: `raw_report.strip()` and
//! `.translate({0: None})`, i.e. white space at either end dropped and NUL bytes removed.

use std::io::{self, Read};

/// Python's `str.strip()` white space, for the ASCII range.
pub(super) fn is_strip_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

/// A reader that applies `strip()` and the NUL removal to the byte stream.
struct Source<R> {
    inner: R,
    chunk: Box<[u8]>,
    /// White space held back until something other than white space follows.
    pending: Vec<u8>,
    started: bool,
    /// Newlines dropped before the first non-space byte.
    leading_newlines: u64,
    eof: bool,
}

impl<R: Read> Source<R> {
    fn new(inner: R) -> Self {
        Source {
            inner,
            chunk: vec![0u8; 64 * 1024].into_boxed_slice(),
            pending: Vec::new(),
            started: false,
            leading_newlines: 0,
            eof: false,
        }
    }

    /// Appends the next bytes of the stripped stream to `out`; appends nothing only at the
    /// end of the stream.
    fn fill_into(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let before = out.len();
        while out.len() == before && !self.eof {
            let n = self.inner.read(&mut self.chunk)?;
            if n == 0 {
                self.eof = true;
                break;
            }
            let mut chunk = &self.chunk[..n];
            if !self.started {
                // leading white space is dropped; its newlines are counted
                let first = chunk.iter().position(|&b| !is_strip_space(b));
                let skipped = &chunk[..first.unwrap_or(chunk.len())];
                self.leading_newlines += memchr::memchr_iter(b'\n', skipped).count() as u64;
                match first {
                    Some(i) => {
                        chunk = &chunk[i..];
                        self.started = true;
                    }
                    None => continue,
                }
            }
            // white space is held back until something other than white space follows it
            match chunk.iter().rposition(|&b| !is_strip_space(b)) {
                None => self.pending.extend_from_slice(chunk),
                Some(last) => {
                    out.append(&mut self.pending);
                    let body = &chunk[..=last];
                    if memchr::memchr(0, body).is_some() {
                        out.extend(body.iter().copied().filter(|&b| b != 0));
                    } else {
                        out.extend_from_slice(body);
                    }
                    self.pending.extend_from_slice(&chunk[last + 1..]);
                }
            }
        }
        Ok(())
    }
}

/// CSV records (`csv`'s default dialect: comma, double quotes, any line ending) read from a
/// stripped stream.
pub(super) struct Records<R> {
    source: Source<R>,
    core: csv_core::Reader,
    /// Bytes of the stripped stream from stream offset `base`.
    buf: Vec<u8>,
    base: u64,
    /// The current record: `buf[start..end]`.
    start: usize,
    end: usize,
    /// Its unescaped fields, one after the other, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    n_fields: usize,
    source_done: bool,
    done: bool,
}

impl<R: Read> Records<R> {
    pub(super) fn new(inner: R) -> Self {
        Records {
            source: Source::new(inner),
            core: csv_core::Reader::new(),
            buf: Vec::with_capacity(128 * 1024),
            base: 0,
            start: 0,
            end: 0,
            fields: vec![0; 4096],
            ends: vec![0; 64],
            n_fields: 0,
            source_done: false,
            done: false,
        }
    }

    /// Reads the next record; `false` at the end of the stream.
    pub(super) fn advance(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let mut start = self.end;
        let mut scan = start;
        let (mut n_out, mut n_ends) = (0, 0);
        loop {
            if scan == self.buf.len() && !self.source_done {
                // the buffer is used up: drop what earlier records used, read more
                if start > 0 {
                    self.buf.drain(..start);
                    self.base += start as u64;
                    scan -= start;
                    start = 0;
                }
                let before = self.buf.len();
                self.source.fill_into(&mut self.buf)?;
                self.source_done = self.buf.len() == before;
                continue;
            }
            // an empty input tells csv-core that the stream has ended
            let (result, n_in, out, ends) = self.core.read_record(
                &self.buf[scan..],
                &mut self.fields[n_out..],
                &mut self.ends[n_ends..],
            );
            scan += n_in;
            n_out += out;
            n_ends += ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.start = start;
                    self.end = scan;
                    self.n_fields = n_ends;
                    return Ok(true);
                }
                csv_core::ReadRecordResult::End => {
                    self.start = scan;
                    self.end = scan;
                    self.n_fields = 0;
                    self.done = true;
                    return Ok(false);
                }
            }
        }
    }

    /// The current record's bytes as read, line ending included.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The stream offset just past the current record.
    #[cfg(test)]
    fn position(&self) -> u64 {
        self.base + self.end as u64
    }

    /// The current record's fields, unescaped, one after the other, and where each ends.
    pub(super) fn fields(&self) -> (&[u8], &[usize]) {
        let ends = &self.ends[..self.n_fields];
        let len = ends.last().copied().unwrap_or(0);
        (&self.fields[..len], ends)
    }

    /// Newlines dropped from the start of the stream (so far).
    pub(super) fn leading_newlines(&self) -> u64 {
        self.source.leading_newlines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], chunk: usize) -> Vec<(Vec<String>, String, u64)> {
        /// Hands out at most `n` bytes per read, to cross buffer edges everywhere.
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = Records::new(Trickle(input, chunk));
        let mut out = Vec::new();
        while r.advance().unwrap() {
            let (text, ends) = r.fields();
            let mut at = 0;
            let fields = ends
                .iter()
                .map(|&e| {
                    let f = String::from_utf8(text[at..e].to_vec()).unwrap();
                    at = e;
                    f
                })
                .collect();
            out.push((
                fields,
                String::from_utf8(r.bytes().to_vec()).unwrap(),
                r.position(),
            ));
        }
        assert!(!r.advance().unwrap(), "the end stays the end");
        out
    }

    #[test]
    fn records_fields_and_bytes_match_the_csv_crate_at_every_buffer_size() {
        let input = b"\n \r\na,b,c\r\n\"x,\"\"y\"\"\",2,\"multi\nline\"\n\n\nlast,\0row,  \n\t ";
        let mut expected = Vec::new();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&b"a,b,c\r\n\"x,\"\"y\"\"\",2,\"multi\nline\"\n\n\nlast,row,"[..]);
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            expected.push(
                rec.iter()
                    .map(|f| String::from_utf8(f.to_vec()).unwrap())
                    .collect::<Vec<_>>(),
            );
        }
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            let got = all(input, chunk);
            let fields: Vec<Vec<String>> = got.iter().map(|g| g.0.clone()).collect();
            assert_eq!(fields, expected, "chunk {chunk}");
            // where a `\r\n` is split depends on the reads (as with `csv`'s own buffer);
            // together the records' bytes are the stripped stream, and the offsets add up
            let joined: String = got.iter().map(|g| g.1.as_str()).collect();
            assert_eq!(
                joined, "a,b,c\r\n\"x,\"\"y\"\"\",2,\"multi\nline\"\n\n\nlast,row,",
                "chunk {chunk}"
            );
            let mut at = 0;
            for g in &got {
                at += g.1.len() as u64;
                assert_eq!(g.2, at, "chunk {chunk}");
            }
            if chunk > input.len() {
                let bytes: Vec<&str> = got.iter().map(|g| g.1.as_str()).collect();
                assert_eq!(
                    bytes,
                    // csv-core ends a record at `\r`; the `\n` opens the next one
                    [
                        "a,b,c\r",
                        "\n\"x,\"\"y\"\"\",2,\"multi\nline\"\n",
                        "\n\nlast,row,"
                    ]
                );
            }
        }
    }

    #[test]
    fn leading_newlines_are_counted_and_an_empty_stream_has_no_record() {
        let mut r = Records::new(&b"\n\r\n \n"[..]);
        assert!(!r.advance().unwrap());
        assert_eq!(r.leading_newlines(), 3);
    }
}
