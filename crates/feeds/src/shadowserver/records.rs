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

/// The positions of the commas, quotes and carriage returns in a line, eight bytes at a
/// time: fields are short, so these bytes are dense and a search call per byte found
/// (`memchr3`) costs more than looking at every word once.
struct Marks<'a> {
    line: &'a [u8],
    /// Where the current word starts, and its marks not yet handed out (the high bit of
    /// each marked byte).
    base: usize,
    bits: u64,
}

impl<'a> Marks<'a> {
    fn new(line: &'a [u8]) -> Self {
        let mut marks = Marks {
            line,
            base: 0,
            bits: 0,
        };
        marks.bits = marks.word_marks(0);
        marks
    }

    /// The marked bytes of the word at `at` (zero-padded past the end of the line).
    fn word_marks(&self, at: usize) -> u64 {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let mut word = [0u8; 8];
        let rest = &self.line[at.min(self.line.len())..];
        let n = rest.len().min(8);
        word[..n].copy_from_slice(&rest[..n]);
        let x = u64::from_le_bytes(word);
        // the high bit of every byte of `v` that is zero, exactly (no borrow between bytes)
        let zeros = |v: u64| !(((v & LOW7) + LOW7) | v | LOW7);
        zeros(x ^ (ONES * u64::from(b',')))
            | zeros(x ^ (ONES * u64::from(b'"')))
            | zeros(x ^ (ONES * u64::from(b'\r')))
    }
}

impl Iterator for Marks<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.base += 8;
            if self.base >= self.line.len() {
                return None;
            }
            self.bits = self.word_marks(self.base);
        }
        let at = self.base + (self.bits.trailing_zeros() / 8) as usize;
        self.bits &= self.bits - 1;
        Some(at)
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
    /// `csv-core`'s output: the unescaped fields one after the other, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// The current record's fields: where each starts and ends in `buf` (a line read by
    /// [`Records::simple_line`]) or in `fields` (a record `csv-core` read).
    spans: Vec<(usize, usize)>,
    /// The spans are of `buf[text.0..text.1]` (else of `fields`).
    in_buf: bool,
    text: (usize, usize),
    source_done: bool,
    done: bool,
    /// Records split already (a chunk of [`super::par_chunks`]): `buf` holds them all.
    pre: Option<Split>,
}

/// Records a reader thread split already, for a worker thread: their lengths one after the
/// other, and for each line split in place its text and fields, so that the worker does not
/// look at the bytes again.
#[derive(Debug, Default)]
pub(super) struct Split {
    records: Vec<SplitRecord>,
    /// The fields of all records split in place, relative to each record's text.
    spans: Vec<(u32, u32)>,
    next: usize,
}

#[derive(Debug)]
struct SplitRecord {
    len: usize,
    /// The text relative to the record's start and the record's range of `Split::spans`;
    /// `None`: `csv-core` reads the record again.
    place: Option<((usize, usize), std::ops::Range<usize>)>,
}

impl Split {
    /// Appends the current record of `records`.
    pub(super) fn push<R: Read>(&mut self, records: &Records<R>) {
        let place = records.in_buf.then(|| {
            let from = self.spans.len();
            self.spans
                .extend(records.spans.iter().map(|&(a, b)| (a as u32, b as u32)));
            (
                (
                    records.text.0 - records.start,
                    records.text.1 - records.start,
                ),
                from..self.spans.len(),
            )
        });
        self.records.push(SplitRecord {
            len: records.end - records.start,
            place,
        });
    }
}

impl Records<std::io::Empty> {
    /// The records of a chunk: `bytes` are the records `split` describes, one after the
    /// other.
    pub(super) fn split(bytes: Vec<u8>, split: Split) -> Self {
        // nothing is read from the source: the records are all in `buf`
        let mut records = Self::new(std::io::empty());
        records.buf = bytes;
        records.source_done = true;
        records.pre = Some(split);
        records
    }
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
            spans: Vec::with_capacity(64),
            in_buf: false,
            text: (0, 0),
            source_done: false,
            done: false,
            pre: None,
        }
    }

    /// [`Records::advance`] over records split already.
    fn advance_split(&mut self) -> io::Result<bool> {
        let Some(pre) = self.pre.as_mut() else {
            return Ok(false);
        };
        let Some(record) = pre.records.get(pre.next) else {
            self.done = true;
            return Ok(false);
        };
        pre.next += 1;
        let (start, end) = (self.end, self.end + record.len);
        self.start = start;
        self.end = end;
        if let Some(((from, to), spans)) = &record.place {
            self.spans.clear();
            self.spans.extend(
                pre.spans[spans.clone()]
                    .iter()
                    .map(|&(a, b)| (a as usize, b as usize)),
            );
            self.text = (start + from, start + to);
            self.in_buf = true;
            return Ok(true);
        }
        // one record as `csv-core` read it on the reader thread: the same bytes, then the end
        self.core.reset();
        let (mut scan, mut out) = (start, (0, 0));
        loop {
            match self.feed_core(&mut scan, end, &mut out) {
                csv_core::ReadRecordResult::Record => return Ok(true),
                csv_core::ReadRecordResult::End => {
                    return Err(io::Error::other(
                        "a record split on the reader thread is no record on its own",
                    ));
                }
                _ => {}
            }
        }
    }

    /// Feeds `buf[*scan..limit]` to `csv-core` (an empty slice tells it the stream has
    /// ended), growing the output as it asks; `out` counts the bytes and field ends written
    /// for the record so far. Returns at a record (its fields then are the spans), at the
    /// end, or when the input is used up.
    fn feed_core(
        &mut self,
        scan: &mut usize,
        limit: usize,
        out: &mut (usize, usize),
    ) -> csv_core::ReadRecordResult {
        loop {
            let (result, n_in, bytes, ends) = self.core.read_record(
                &self.buf[*scan..limit],
                &mut self.fields[out.0..],
                &mut self.ends[out.1..],
            );
            *scan += n_in;
            out.0 += bytes;
            out.1 += ends;
            match result {
                csv_core::ReadRecordResult::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.spans.clear();
                    let mut from = 0;
                    for &to in &self.ends[..out.1] {
                        self.spans.push((from, to));
                        from = to;
                    }
                    self.in_buf = false;
                    return result;
                }
                other => return other,
            }
        }
    }

    /// Reads the next record; `false` at the end of the stream.
    pub(super) fn advance(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        if self.pre.is_some() {
            return self.advance_split();
        }
        if self.simple_line() {
            return Ok(true);
        }
        let mut start = self.end;
        let mut scan = start;
        let mut out = (0, 0);
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
            let limit = self.buf.len();
            match self.feed_core(&mut scan, limit, &mut out) {
                csv_core::ReadRecordResult::Record => {
                    self.start = start;
                    self.end = scan;
                    return Ok(true);
                }
                csv_core::ReadRecordResult::End => {
                    self.start = scan;
                    self.end = scan;
                    self.spans.clear();
                    self.done = true;
                    return Ok(false);
                }
                _ => {}
            }
        }
    }

    /// The next record when it is one line whose quoting is plain (what nearly every line
    /// of a report is): fields separated by commas, each either without quotes or wholly
    /// quoted without inner quotes. Its fields are then spans of the line itself, found in
    /// one vectorised pass over its commas and quotes: what `csv-core` would make of it,
    /// without copying. Anything else (doubled or stray quotes, a quoted line break, a lone
    /// `\r`, no line end in the buffer yet, an empty line, which `csv-core` skips) is left
    /// to `csv-core`, which stays at the start of a record throughout.
    fn simple_line(&mut self) -> bool {
        let rest = &self.buf[self.end..];
        // the `\n` of a `\r\n` whose `\r` ended the last record belongs to no record
        let skip = usize::from(
            rest.first() == Some(&b'\n') && self.end > 0 && self.buf[self.end - 1] == b'\r',
        );
        let Some(nl) = memchr::memchr(b'\n', &rest[skip..]).map(|i| i + skip) else {
            return false;
        };
        let line = &rest[skip..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return false;
        }
        self.spans.clear();
        // the field being read starts at `at`; `quoted`: it opened with a quote at `at`
        let (mut at, mut quoted, mut closed) = (0, line[0] == b'"', None);
        let mut marks = Marks::new(line);
        if quoted {
            marks.next();
        }
        for m in marks {
            match (line[m], quoted, closed) {
                (b'\r', ..) => return false,
                // a comma inside quotes is text
                (b',', true, None) => {}
                (b',', false, _) => {
                    self.spans.push((at, m));
                    at = m + 1;
                    quoted = line.get(at) == Some(&b'"');
                    closed = None;
                }
                (b',', true, Some(q)) => {
                    // a closing quote must be right before the comma
                    if q + 1 != m {
                        return false;
                    }
                    self.spans.push((at + 1, q));
                    at = m + 1;
                    quoted = line.get(at) == Some(&b'"');
                    closed = None;
                }
                (b'"', true, None) if m > at => closed = Some(m),
                // the opening quote of the next field, which the comma arm saw
                (b'"', true, None) => {}
                // a quote inside an unquoted field, a doubled or a stray one
                _ => return false,
            }
        }
        match (quoted, closed) {
            (false, _) => self.spans.push((at, line.len())),
            (true, Some(q)) if q + 1 == line.len() => {
                self.spans.push((at + 1, q));
            }
            _ => return false,
        }
        let line_start = self.end + skip;
        self.text = (line_start, line_start + line.len());
        self.start = self.end;
        self.end += nl + 1;
        self.in_buf = true;
        true
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

    /// The current record's fields: a text and where each field starts and ends in it.
    pub(super) fn fields(&self) -> (&[u8], &[(usize, usize)]) {
        let text = if self.in_buf {
            &self.buf[self.text.0..self.text.1]
        } else {
            &self.fields[..self.spans.last().map_or(0, |s| s.1)]
        };
        (text, &self.spans)
    }

    /// Whether the current record's fields are spans of its line as read: they then start
    /// and end next to an ASCII comma or quote or at the line's ends, so in valid UTF-8 they
    /// are on character boundaries.
    pub(super) fn split_in_place(&self) -> bool {
        self.in_buf
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
            let (text, spans) = r.fields();
            let fields = spans
                .iter()
                .map(|&(from, to)| String::from_utf8(text[from..to].to_vec()).unwrap())
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
    fn the_one_line_fast_path_equals_csv_core() {
        // lines with and without quotes, CRLF and LF, blank lines, a lone CR, empty fields
        let input =
            b"h1,h2,h3\r\na,,c\r\n\"q\",2,3\r\n\r\nx,y\nlone\rcr,1\n,,\n\"multi\nline\",z\n\
              \"\",\"\"\"\",\"a,\"\"b\"\"\",\"\"\nbad\"quote,\"x\"y,z\nlast,1";
        let mut expected = Vec::new();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&input[..]);
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            expected.push(
                rec.iter()
                    .map(|f| String::from_utf8(f.to_vec()).unwrap())
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(expected.len(), 11, "{expected:?}");
        for chunk in [1, 5, 13, 1 << 20] {
            let got = all(input, chunk);
            let fields: Vec<Vec<String>> = got.iter().map(|g| g.0.clone()).collect();
            assert_eq!(fields, expected, "chunk {chunk}");
            let joined: String = got.iter().map(|g| g.1.as_str()).collect();
            assert_eq!(joined.as_bytes(), &input[..], "chunk {chunk}");
        }
    }

    #[test]
    fn marks_are_every_comma_quote_and_carriage_return() {
        let mut line: Vec<u8> = Vec::new();
        for i in 0..300u32 {
            line.push(match i % 7 {
                0 => b',',
                3 if i % 3 == 0 => b'"',
                5 if i % 5 == 0 => b'\r',
                _ => (i % 251) as u8 + 1,
            });
            let want: Vec<usize> = line
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, b',' | b'"' | b'\r'))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(
                Marks::new(&line).collect::<Vec<_>>(),
                want,
                "{} bytes",
                line.len()
            );
        }
    }

    #[test]
    fn leading_newlines_are_counted_and_an_empty_stream_has_no_record() {
        let mut r = Records::new(&b"\n\r\n \n"[..]);
        assert!(!r.advance().unwrap());
        assert_eq!(r.leading_newlines(), 3);
    }
}
