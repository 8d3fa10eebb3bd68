//! CSV records straight out of one read buffer: the report's bytes are read once into a
//! buffer that `csv-core` splits in place, so a record's fields and its bytes as read (for
//! `raw`, line numbers and the quarantine) are slices of that buffer, not copies.
//!
//! The stream is the report as IntelMQ sees it: `decode('utf-8', 'ignore')`, then
//! `raw_report.strip()` and `.translate({0: None})`, i.e. bytes that are not UTF-8 dropped
//! (before the CSV is split, so a quote next to such a byte is read as IntelMQ reads it),
//! white space at either end dropped and NUL bytes removed.

use std::io::{self, Read};

/// Python's `str.strip()` white space, for the ASCII range.
pub(super) fn is_strip_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

/// A reader that applies the UTF-8 decoding, `strip()` and the NUL removal to the byte
/// stream, reading straight into the records' buffer (a copy from a buffer of its own cost
/// an instruction per byte).
struct Source<R> {
    inner: R,
    /// White space held back until something other than white space follows: the bytes of
    /// the buffer right after the stream read so far.
    held: usize,
    started: bool,
    /// Newlines dropped before the first non-space byte.
    leading_newlines: u64,
    /// NUL bytes removed since [`Records::take_nul_bytes`] last took them.
    nul_bytes: u64,
    /// Bytes that are not UTF-8 dropped since [`Records::take_invalid_utf8`] last took them.
    invalid_utf8: u64,
    /// The start of a UTF-8 sequence that the last read cut off, read again before the
    /// next read's bytes: `carry[..carried]`.
    carry: [u8; 3],
    carried: usize,
    eof: bool,
}

impl<R: Read> Source<R> {
    fn new(inner: R) -> Self {
        Source {
            inner,
            held: 0,
            started: false,
            leading_newlines: 0,
            nul_bytes: 0,
            invalid_utf8: 0,
            carry: [0; 3],
            carried: 0,
            eof: false,
        }
    }

    /// Reads the next bytes of the stripped stream into `buf` from `*filled` on (where the
    /// white space held back is) and moves `*filled` past them; reads nothing only at the
    /// end of the stream. `buf` is all initialised and is grown when the room after the
    /// bytes held is short of a quarter of it, so that reads stay large.
    fn fill(&mut self, buf: &mut Vec<u8>, filled: &mut usize) -> io::Result<()> {
        let before = *filled;
        while *filled == before && !self.eof {
            let at = *filled + self.held;
            let carried = self.carried;
            if buf.len() - at < (buf.len() / 4).max(1) + carried {
                buf.resize((2 * buf.len()).max(at + carried + 1), 0);
            }
            buf[at..at + carried].copy_from_slice(&self.carry[..carried]);
            self.carried = 0;
            let n = self.inner.read(&mut buf[at + carried..])?;
            if n == 0 {
                // a sequence cut off by the end of the stream is not UTF-8
                self.invalid_utf8 += carried as u64;
                self.eof = true;
                break;
            }
            let mut to = self.valid_utf8(buf, at, at + carried + n);
            if !self.started {
                // leading white space is dropped; its newlines are counted (nothing is held
                // yet, so `at` is where the stream goes on)
                let first = buf[at..to].iter().position(|&b| !is_strip_space(b));
                let skipped = &buf[at..first.map_or(to, |i| at + i)];
                self.leading_newlines += memchr::memchr_iter(b'\n', skipped).count() as u64;
                let Some(i) = first else {
                    continue;
                };
                buf.copy_within(at + i..to, at);
                to -= i;
                self.started = true;
            }
            self.take(buf, filled, at, to);
        }
        Ok(())
    }

    /// Drops from `buf[from..to]` what is not UTF-8, as `decode('utf-8', 'ignore')` does,
    /// and keeps a sequence cut off at `to` for the next read; returns the new end.
    fn valid_utf8(&mut self, buf: &mut [u8], from: usize, to: usize) -> usize {
        if simdutf8::basic::from_utf8(&buf[from..to]).is_ok() {
            return to;
        }
        let (mut read, mut end) = (from, from);
        loop {
            let error = match simdutf8::compat::from_utf8(&buf[read..to]) {
                Ok(_) if read == end => return to,
                Ok(_) => {
                    buf.copy_within(read..to, end);
                    return end + (to - read);
                }
                Err(error) => error,
            };
            let valid = error.valid_up_to();
            buf.copy_within(read..read + valid, end);
            end += valid;
            read += valid;
            match error.error_len() {
                Some(len) => {
                    self.invalid_utf8 += len as u64;
                    read += len;
                }
                None => {
                    // at most three bytes: the start of a sequence the next read completes
                    self.carried = to - read;
                    self.carry[..self.carried].copy_from_slice(&buf[read..to]);
                    return end;
                }
            }
        }
    }

    /// Takes the bytes just read, `buf[from..to]`, right after those held: up to the last
    /// that is not white space (a NUL is not) they join the stream, NULs dropped; the white
    /// space after it is held back.
    fn take(&mut self, buf: &mut [u8], filled: &mut usize, from: usize, to: usize) {
        let Some(last) = buf[from..to].iter().rposition(|&b| !is_strip_space(b)) else {
            self.held += to - from;
            return;
        };
        let body_end = from + last + 1;
        let mut end = body_end;
        if memchr::memchr(0, &buf[from..body_end]).is_some() {
            end = from;
            for i in from..body_end {
                let b = buf[i];
                buf[end] = b;
                end += usize::from(b != 0);
            }
            self.nul_bytes += (body_end - end) as u64;
            buf.copy_within(body_end..to, end);
        }
        *filled = end;
        self.held = to - body_end;
    }
}

/// The commas and quotes of a 64-byte block of a line, one bit per byte (bit `i`: byte
/// `i`). A line is split from these bits rather than byte by byte: fields are short, so
/// commas are dense, and a look at each one's byte (or a search call per byte found, as
/// with `memchr3`) costs more than finding all of a block's at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct BlockMarks {
    comma: u64,
    quote: u64,
}

/// The [`BlockMarks`] of a block, sixteen bytes at a time with SSE2, which every x86_64
/// processor has (through `safe_arch`, as `std::arch` would need `unsafe` here).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn block_marks(block: &[u8; 64]) -> BlockMarks {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let (comma, quote) = (
        set_splat_i8_m128i(b',' as i8),
        set_splat_i8_m128i(b'"' as i8),
    );
    let mut marks = BlockMarks::default();
    for (i, lane) in block.chunks_exact(16).enumerate() {
        let v = load_unaligned_m128i(lane.try_into().expect("16 bytes"));
        // one bit per byte, in the low 16 bits
        let bits = |c| u64::from(move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, c)) as u16);
        marks.comma |= bits(comma) << (16 * i);
        marks.quote |= bits(quote) << (16 * i);
    }
    marks
}

/// The [`BlockMarks`] of a block, where SSE2 is not at hand.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn block_marks(block: &[u8; 64]) -> BlockMarks {
    block_marks_swar(block)
}

/// [`BlockMarks`] eight bytes at a time in a plain `u64`, without SIMD (on x86_64 only for
/// the tests, against the SSE2 version).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn block_marks_swar(block: &[u8; 64]) -> BlockMarks {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // the high bit of every byte of `v` that is zero, exactly (no borrow between bytes)
    let zeros = |v: u64| !(((v & LOW7) + LOW7) | v | LOW7);
    // those high bits gathered into the low eight bits, byte `k`'s to bit `k`: the product
    // puts each at bit 56 + k, and no two of its terms meet, so nothing carries
    let gather = |high: u64| ((high >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
    let mut marks = BlockMarks::default();
    for (i, lane) in block.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(lane);
        let x = u64::from_le_bytes(bytes);
        marks.comma |= gather(zeros(x ^ (ONES * u64::from(b',')))) << (8 * i);
        marks.quote |= gather(zeros(x ^ (ONES * u64::from(b'"')))) << (8 * i);
    }
    marks
}

/// Bit `i` of the result is the parity of the set bits `0..=i` of `x`: whether byte `i`
/// is inside quotes, when `x` marks the quotes.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// [`prefix_xor`] of a block's quotes, the cheap way when there are at most two (those of
/// one quoted field, mostly): ones from the lower bit up to the higher, or to the end.
fn quote_parity(x: u64) -> u64 {
    let low = x & x.wrapping_neg();
    let high = x ^ low;
    if high & high.wrapping_sub(1) == 0 {
        high.wrapping_sub(low)
    } else {
        prefix_xor(x)
    }
}

/// The fields ending at the separators `seps` of the block from byte `from` on, where no
/// quote is near them: each from `at` (the start of the first) to its separator, written
/// into `slots`. Where the next field starts, and how many were written.
#[inline(always)]
fn plain_fields(
    mut seps: u64,
    from: usize,
    mut at: usize,
    slots: &mut [(usize, usize)],
) -> (usize, usize) {
    let mut k = 0;
    while seps != 0 {
        let end = from + seps.trailing_zeros() as usize;
        seps &= seps - 1;
        slots[k] = (at, end);
        k += 1;
        at = end + 1;
    }
    (at, k)
}

/// A line being split by [`Records::simple_line`], between its 64-byte blocks.
///
/// Quotes open and close in turn, so the bytes inside quotes are those after an odd number
/// of quotes, and the commas outside them separate the fields. The quoting is plain when
/// every opening quote starts a field and every closing one ends it.
struct LineSplit {
    /// Whether the end of the last block is inside quotes (all ones then).
    inside: u64,
    /// Whether the last block's last byte separates fields (or is before the line).
    sep_before: u64,
    /// Whether the last block's last byte closes quotes.
    close_before: u64,
    /// Where the field being read starts, past its opening quote if it has one.
    at: usize,
    /// Fields written so far.
    count: usize,
}

impl Default for LineSplit {
    fn default() -> Self {
        LineSplit {
            inside: 0,
            sep_before: 1,
            close_before: 0,
            at: 0,
            count: 0,
        }
    }
}

impl LineSplit {
    /// Takes the block of the line from byte `from` on, `here` its bits that are the
    /// line's: writes the fields ending in it into `spans` from `count` on (which has a
    /// slot for each of its bytes) and returns its closing quotes; `None` when the quoting
    /// is not plain. Inlined, so that the blocks with all bits `here` lose that mask.
    #[inline(always)]
    fn block(
        &mut self,
        marks: BlockMarks,
        from: usize,
        here: u64,
        spans: &mut [(usize, usize)],
    ) -> Option<u64> {
        let (comma, quote) = (marks.comma & here, marks.quote & here);
        if quote | self.inside | self.close_before == 0 {
            // no quotes in the block or open at its start, nor one closed just before it,
            // what most blocks are: every comma separates fields
            self.sep_before = comma >> 63;
            let slots = &mut spans[self.count..self.count + 64];
            let (at, k) = plain_fields(comma, from, self.at, slots);
            self.at = at;
            self.count += k;
            return Some(0);
        }
        let odd = if quote == 0 {
            self.inside
        } else {
            quote_parity(quote) ^ self.inside
        };
        self.inside = 0u64.wrapping_sub(odd >> 63);
        let sep = comma & !odd;
        let (opens, closes) = (quote & odd, quote & !odd);
        // bit `b`: byte `b - 1` closes quotes
        let closed = (closes << 1) | self.close_before;
        // a closing quote in the line's last byte is followed by its end, which is not
        // among the bytes `here`
        if opens & !((sep << 1) | self.sep_before) != 0 || closed & here & !sep != 0 {
            return None;
        }
        // a field quoted from the block's first byte on (after a separator at the end of
        // the last block, or at the line's start)
        let at = self.at + (opens & self.sep_before) as usize;
        self.sep_before = sep >> 63;
        self.close_before = closes >> 63;
        // the fields ending in this block, their quotes left out: those before the first
        // separator next to a quote as in a block without quotes, the others with a look
        // at the bits around their separator
        let slots = &mut spans[self.count..self.count + 64];
        let next_to_quote = sep & (closed | (opens >> 1));
        let before = sep & (next_to_quote & next_to_quote.wrapping_neg()).wrapping_sub(1);
        let (mut at, mut k) = plain_fields(before, from, at, slots);
        let mut seps = sep ^ before;
        while seps != 0 {
            let b = seps.trailing_zeros();
            seps &= seps - 1;
            let end = from + b as usize;
            slots[k] = (at, end - ((closed >> b) & 1) as usize);
            k += 1;
            at = end + 1 + ((opens >> b >> 1) & 1) as usize;
        }
        self.at = at;
        self.count += k;
        Some(closes)
    }
}

/// CSV records (`csv`'s default dialect: comma, double quotes, any line ending) read from a
/// stripped stream.
pub(super) struct Records<R> {
    source: Source<R>,
    core: csv_core::Reader,
    /// Bytes of the stripped stream from stream offset `base`: `buf[..filled]` (after them
    /// the white space the source holds back, then room to read into).
    buf: Vec<u8>,
    filled: usize,
    base: u64,
    /// The current record: `buf[start..end]`.
    start: usize,
    end: usize,
    /// `csv-core`'s output: the unescaped fields one after the other, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// The current record's fields, `spans[..n_spans]`: where each starts and ends in `buf`
    /// (a line read by [`Records::simple_line`]) or in `fields` (a record `csv-core` read).
    /// Slots past those are kept, so that the fast path writes into them by index, without
    /// a capacity check per field or a count of the fields first.
    spans: Vec<(usize, usize)>,
    n_spans: usize,
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
            self.spans.extend(
                records.spans[..records.n_spans]
                    .iter()
                    .map(|&(a, b)| (a as u32, b as u32)),
            );
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
        records.filled = bytes.len();
        records.buf = bytes;
        records.source_done = true;
        records.pre = Some(split);
        records
    }
}

impl<R: Read> Records<R> {
    pub(super) fn new(inner: R) -> Self {
        Self::with_buffer(inner, 128 * 1024)
    }

    /// Records read into a buffer of `len` bytes at first (the tests start small, so that
    /// it moves and grows often).
    fn with_buffer(inner: R, len: usize) -> Self {
        Records {
            source: Source::new(inner),
            core: csv_core::Reader::new(),
            buf: vec![0; len],
            filled: 0,
            base: 0,
            start: 0,
            end: 0,
            fields: vec![0; 4096],
            ends: vec![0; 64],
            spans: Vec::with_capacity(64),
            n_spans: 0,
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
            self.n_spans = self.spans.len();
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
                    self.n_spans = self.spans.len();
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
            if scan == self.filled && !self.source_done {
                // the buffer is used up: drop what earlier records used, read more
                if start > 0 {
                    self.buf
                        .copy_within(start..self.filled + self.source.held, 0);
                    self.filled -= start;
                    self.base += start as u64;
                    scan -= start;
                    start = 0;
                }
                let before = self.filled;
                self.source.fill(&mut self.buf, &mut self.filled)?;
                self.source_done = self.filled == before;
                continue;
            }
            let limit = self.filled;
            match self.feed_core(&mut scan, limit, &mut out) {
                csv_core::ReadRecordResult::Record => {
                    self.start = start;
                    self.end = scan;
                    return Ok(true);
                }
                csv_core::ReadRecordResult::End => {
                    self.start = scan;
                    self.end = scan;
                    self.n_spans = 0;
                    self.done = true;
                    return Ok(false);
                }
                _ => {}
            }
        }
    }

    /// The next record when it is one line whose quoting is plain (what nearly every line
    /// of a report is): fields separated by commas, each either without quotes or wholly
    /// quoted without inner quotes. Its fields are then spans of the line itself, found
    /// from the [`BlockMarks`] of its blocks: what `csv-core` would make of it, without
    /// copying. Anything else (doubled or stray quotes, a quoted line break, a lone `\r`,
    /// no line end in the buffer yet, an empty line, which `csv-core` skips) is left to
    /// `csv-core`, which stays at the start of a record throughout.
    fn simple_line(&mut self) -> bool {
        let rest = &self.buf[self.end..self.filled];
        // the `\n` of a `\r\n` whose `\r` ended the last record belongs to no record
        let skip = usize::from(
            rest.first() == Some(&b'\n') && self.end > 0 && self.buf[self.end - 1] == b'\r',
        );
        let rest = &rest[skip..];
        // the line ends at its first `\n` or `\r`: a `\r` anywhere but before the `\n` is
        // for `csv-core`
        let Some(len) = memchr::memchr2(b'\n', b'\r', rest) else {
            return false;
        };
        let ending = match &rest[len..] {
            [b'\n', ..] => 1,
            [b'\r', b'\n', ..] => 2,
            _ => return false,
        };
        if len == 0 {
            return false;
        }
        // the line's blocks: all the bytes of those before the last are the line's; the
        // last (1 to 64 of the line's bytes) has the bytes after it too, left out of `here`
        let blocks = len.div_ceil(64);
        let last = 64 * (blocks - 1);
        // a slot per byte and one for the line's last field, so that the blocks write their
        // fields into them without growing them on the way
        let spans = &mut self.spans;
        if spans.len() < last + 65 {
            spans.resize(last + 65, (0, 0));
        }
        let mut split = LineSplit::default();
        for (i, block) in rest[..last].chunks_exact(64).enumerate() {
            let marks = block_marks(block.try_into().expect("64 bytes"));
            if split.block(marks, 64 * i, !0, spans).is_none() {
                return false;
            }
        }
        let marks = match rest.get(last..last + 64) {
            Some(block) => block_marks(block.try_into().expect("64 bytes")),
            None => {
                // near the end of the buffer: zeros after it, which mark nothing
                let mut padded = [0u8; 64];
                padded[..rest.len() - last].copy_from_slice(&rest[last..]);
                block_marks(&padded)
            }
        };
        let n = len - last;
        let Some(closes) = split.block(marks, last, !0 >> (64 - n), spans) else {
            return false;
        };
        if split.inside != 0 {
            return false;
        }
        // a closing quote in the line's last byte is followed by its end
        let closes_at_end = (closes >> (n - 1)) & 1;
        spans[split.count] = (split.at, len - closes_at_end as usize);
        self.n_spans = split.count + 1;
        let line_start = self.end + skip;
        self.text = (line_start, line_start + len);
        self.start = self.end;
        self.end += skip + len + ending;
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
            &self.fields[..self.n_spans.checked_sub(1).map_or(0, |i| self.spans[i].1)]
        };
        (text, &self.spans[..self.n_spans])
    }

    /// Whether the current record's fields are spans of its line as read: they then start
    /// and end next to an ASCII comma or quote or at the line's ends, so in valid UTF-8 they
    /// are on character boundaries.
    pub(super) fn split_in_place(&self) -> bool {
        self.in_buf
    }

    /// Whether the current record is one line read by the fast path: its bytes are that
    /// line and its ending (`\n` or `\r\n`), after the `\n` of a `\r\n` whose `\r` ended
    /// the record before, if there is one. It holds one line break then, its last, which a
    /// caller counting lines need not look for.
    pub(super) fn is_one_line(&self) -> bool {
        self.in_buf
    }

    /// Newlines dropped from the start of the stream (so far).
    pub(super) fn leading_newlines(&self) -> u64 {
        self.source.leading_newlines
    }

    /// NUL bytes removed from the stream read since the last call.
    pub(super) fn take_nul_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.source.nul_bytes)
    }

    /// Bytes that are not UTF-8 dropped from the stream read since the last call.
    pub(super) fn take_invalid_utf8(&mut self) -> u64 {
        std::mem::take(&mut self.source.invalid_utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records the `csv` crate reads from `input` (its default dialect, any number of
    /// fields), each field as its bytes.
    fn csv_fields(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut rec = csv::ByteRecord::new();
        let mut records = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            records.push(rec.iter().map(<[u8]>::to_vec).collect());
        }
        records
    }

    /// [`csv_fields`] as text.
    fn csv_texts(input: &[u8]) -> Vec<Vec<String>> {
        (csv_fields(input).into_iter())
            .map(|r| {
                r.into_iter()
                    .map(|f| String::from_utf8(f).unwrap())
                    .collect()
            })
            .collect()
    }

    /// The current record's fields, each as its bytes.
    fn field_bytes<R: Read>(r: &Records<R>) -> Vec<Vec<u8>> {
        let (text, spans) = r.fields();
        spans.iter().map(|&(a, b)| text[a..b].to_vec()).collect()
    }

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

    fn all(input: &[u8], chunk: usize) -> Vec<(Vec<String>, String, u64)> {
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
        let expected = csv_texts(&b"a,b,c\r\n\"x,\"\"y\"\"\",2,\"multi\nline\"\n\n\nlast,row,"[..]);
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
        let expected = csv_texts(&input[..]);
        assert_eq!(expected.len(), 11, "{expected:?}");
        for chunk in [1, 5, 13, 1 << 20] {
            let got = all(input, chunk);
            let fields: Vec<Vec<String>> = got.iter().map(|g| g.0.clone()).collect();
            assert_eq!(fields, expected, "chunk {chunk}");
            let joined: String = got.iter().map(|g| g.1.as_str()).collect();
            assert_eq!(joined.as_bytes(), &input[..], "chunk {chunk}");
        }
    }

    /// The commas, quotes and carriage returns of a line, from its blocks' marks (the
    /// carriage returns, which end a line for the fast path, from `memchr`).
    struct Marks(std::vec::IntoIter<usize>);

    impl Iterator for Marks {
        type Item = usize;

        fn next(&mut self) -> Option<usize> {
            self.0.next()
        }
    }

    impl Marks {
        fn new(line: &[u8]) -> Self {
            let mut all: Vec<usize> = memchr::memchr_iter(b'\r', line).collect();
            for (i, block) in line.chunks(64).enumerate() {
                let mut padded = [0u8; 64];
                padded[..block.len()].copy_from_slice(block);
                let m = block_marks(&padded);
                let mut bits = m.comma | m.quote;
                while bits != 0 {
                    all.push(64 * i + bits.trailing_zeros() as usize);
                    bits &= bits - 1;
                }
            }
            all.sort_unstable();
            Marks(all.into_iter())
        }
    }

    /// A small deterministic generator (xorshift), for random lines.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        /// A line of `len` bytes mostly from `alphabet`, now and then any byte at all.
        fn line(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
            (0..len)
                .map(|_| match self.below(16) {
                    0 => self.below(256) as u8,
                    _ => alphabet[self.below(alphabet.len())],
                })
                .collect()
        }
    }

    #[test]
    fn block_marks_are_the_commas_and_quotes_with_and_without_simd() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // the marked bytes, their neighbours and their high-bit twins (0x80 | b',' ...)
        let alphabet = b",\"\r\n+-!#\x0c\x0e\xac\xa2\x8d\x8a\xff\x00ax";
        for round in 0..20_000 {
            let len = round % 65;
            let bytes = rng.line(len, alphabet);
            let bit = |c: u8| {
                bytes
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == c)
                    .fold(0u64, |m, (i, _)| m | 1 << i)
            };
            let want = BlockMarks {
                comma: bit(b','),
                quote: bit(b'"'),
            };
            let mut block = [0u8; 64];
            block[..len].copy_from_slice(&bytes);
            assert_eq!(block_marks(&block), want, "{bytes:?}");
            assert_eq!(block_marks_swar(&block), want, "{bytes:?}");
            assert_eq!(block_marks_swar(&block), want, "{bytes:?}");
        }
    }

    #[test]
    fn prefix_xor_is_the_parity_of_the_bits_up_to_each() {
        let mut rng = Rng(7);
        for _ in 0..1000 {
            let x = (rng.below(1 << 32) as u64) << 32 | rng.below(1 << 32) as u64;
            let want = (0..64).fold(0u64, |m, i| {
                m | u64::from((x & (u64::MAX >> (63 - i))).count_ones() % 2 == 1) << i
            });
            assert_eq!(prefix_xor(x), want, "{x:#x}");
        }
    }

    #[test]
    fn quote_parity_is_prefix_xor_with_few_bits_and_many() {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        let mut cases = vec![0, 1, 1 << 63, u64::MAX, (1 << 63) | 1];
        for a in 0..64 {
            for b in a..64 {
                cases.push((1u64 << a) | (1u64 << b));
            }
        }
        for _ in 0..2000 {
            let x = (rng.below(1 << 32) as u64) << 32 | rng.below(1 << 32) as u64;
            // its lowest one, two and three bits, and all of it
            let low = |v: u64| v & v.wrapping_neg();
            let (b1, b2) = (low(x), low(x ^ low(x)));
            let b3 = low(x ^ b1 ^ b2);
            cases.extend([b1, b1 | b2, b1 | b2 | b3, x]);
        }
        for x in cases {
            assert_eq!(quote_parity(x), prefix_xor(x), "{x:#x}");
        }
    }

    /// The fields of `line` when its quoting is plain (the one-line fast path's promise),
    /// read byte by byte.
    fn plain_fields(line: &[u8]) -> Option<Vec<Vec<u8>>> {
        enum State {
            Start,
            Bare,
            Quoted,
            Closed,
        }
        let (mut state, mut fields, mut field) = (State::Start, Vec::new(), Vec::new());
        for &b in line {
            state = match (state, b) {
                (_, b'\r') => return None,
                (State::Start | State::Bare | State::Closed, b',') => {
                    fields.push(std::mem::take(&mut field));
                    State::Start
                }
                (State::Start, b'"') => State::Quoted,
                (State::Quoted, b'"') => State::Closed,
                (State::Bare, b'"') | (State::Closed, _) => return None,
                (State::Start | State::Bare, _) => {
                    field.push(b);
                    State::Bare
                }
                (State::Quoted, _) => {
                    field.push(b);
                    State::Quoted
                }
            };
        }
        match state {
            State::Quoted => None,
            _ if line.is_empty() => None,
            _ => {
                fields.push(field);
                Some(fields)
            }
        }
    }

    #[test]
    fn the_one_line_fast_path_takes_exactly_the_plainly_quoted_lines() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut plain, mut other) = (0, 0);
        for round in 0..6_000 {
            let len = round % 200;
            // quotes rarer than commas, as in reports (else few lines would be plain)
            let alphabet: &[u8] = match round % 4 {
                0 => b"aaaaaaa,,,\"\xc3\xa9 ",
                1 => b"aaaaaaa,,,\xc3\xa9 ",
                2 => b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,,,,,,\"",
                _ => b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,,,,,,\"\"\r\x00",
            };
            let mut line = rng.line(len, alphabet);
            line.retain(|&b| b != b'\n');
            // now and then a wholly quoted field somewhere, commas inside
            if round % 2 == 0 && len > 7 {
                let at = rng.below(len - 7);
                line[at..at + 7].copy_from_slice(b",\"a,b\",");
            }
            for (ending, after) in [(&b"\n"[..], &b"next"[..]), (b"\r\n", b""), (b"\n", b"")] {
                // the record, as `csv-core` would end it: at the `\n`, a `\r` before it left
                // out (any other `\r` ends it earlier, which the fast path leaves alone)
                let record = [&line[..], ending].concat();
                let record = &record[..record.len() - 1];
                let record = record.strip_suffix(b"\r").unwrap_or(record);
                let want = plain_fields(record);
                let mut r = Records::new(io::empty());
                r.buf = [&line[..], ending, after].concat();
                r.filled = r.buf.len();
                r.source_done = true;
                let took = r.simple_line();
                assert_eq!(took, want.is_some(), "{line:?}");
                let Some(want) = want else {
                    other += 1;
                    continue;
                };
                plain += 1;
                let got = field_bytes(&r);
                assert_eq!(got, want, "{line:?}");
                assert_eq!(r.bytes(), [&line[..], ending].concat(), "{line:?}");
                // and the fields are what `csv` reads
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(record);
                let mut rec = csv::ByteRecord::new();
                assert!(rdr.read_byte_record(&mut rec).unwrap());
                let expected: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
                assert_eq!(&got, &expected, "{line:?}");
            }
        }
        assert!(plain > 4_000 && other > 4_000, "{plain} plain, {other} not");
    }

    #[test]
    fn quoted_fields_at_every_offset_across_block_edges_are_read_in_place() {
        // a quoted field (with a comma inside) at every offset, so that its quotes and the
        // commas around it fall on either side of the 64-byte block edges
        for before in 0..140 {
            for after in [
                &b""[..],
                b",tail",
                b",\"q\"",
                b",b,b,b,b,b,b,b,b,b,b,b,b,b,b,b",
            ] {
                let mut line = vec![b'a'; before];
                line.extend_from_slice(b",\"q,q\"");
                line.extend_from_slice(after);
                let mut r = Records::new(io::empty());
                r.buf = [&line[..], b"\r\n"].concat();
                r.filled = r.buf.len();
                r.source_done = true;
                assert!(r.simple_line(), "{before}");
                let (text, spans) = r.fields();
                let got: Vec<&[u8]> = spans.iter().map(|&(a, b)| &text[a..b]).collect();
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(&line[..]);
                let mut rec = csv::ByteRecord::new();
                assert!(rdr.read_byte_record(&mut rec).unwrap());
                assert_eq!(got, rec.iter().collect::<Vec<_>>(), "{before}");
            }
        }
    }

    #[test]
    fn lines_of_separators_only_fill_every_slot_of_the_fast_path() {
        // up to a field per byte in every block, between records `csv-core` reads (which
        // leave fewer slots behind)
        for len in 1..300 {
            let commas = ",".repeat(len);
            let input = format!("{commas}\n\"a\"\"b\",c\n{commas}\r\n\"\",{commas}\"\"\nx");
            let expected = csv_texts(input.as_bytes());
            let got: Vec<Vec<String>> = all(input.as_bytes(), 1 << 20)
                .into_iter()
                .map(|g| g.0)
                .collect();
            assert_eq!(got, expected, "{len}");
        }
    }

    #[test]
    fn random_reports_read_as_the_csv_crate_reads_them() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut one_line = 0;
        for round in 0..300 {
            let mut input = Vec::new();
            for _ in 0..rng.below(20) {
                let len = rng.below(150);
                input.extend(rng.line(len, b"aaaaaaaaaaaaaaaaaaaa,,,,,\"\r\xc3"));
                input.extend_from_slice(if rng.below(2) == 0 { b"\n" } else { b"\r\n" });
            }
            // what `Source` leaves of it: bytes that are not UTF-8 (a lone 0xc3) dropped,
            // white space at either end stripped, NULs dropped
            let raw = input.clone();
            let mut input: Vec<u8> = input
                .utf8_chunks()
                .flat_map(|c| c.valid().as_bytes().to_vec())
                .collect();
            input.retain(|&b| b != 0);
            let Some(first) = input.iter().position(|&b| !is_strip_space(b)) else {
                continue;
            };
            let last = input.iter().rposition(|&b| !is_strip_space(b)).unwrap();
            let stripped = &input[first..=last];
            let expected = csv_fields(stripped);
            // reads of every size into buffers that start too small and grow
            for (chunk, len) in [(1, 1), (7, 2), (7, 100), (64, 5), (64, 64), (1 << 20, 3)]
                .into_iter()
                .chain([1 << 20, 1].map(|chunk| (chunk, 128 * 1024)))
            {
                let mut r = Records::with_buffer(Trickle(&raw, chunk), len);
                let mut got = Vec::new();
                let mut bytes = Vec::new();
                let mut after_cr = false;
                while r.advance().unwrap() {
                    // a record read as one line has exactly one line break, at its end
                    let breaks = super::super::line_breaks(r.bytes(), after_cr);
                    if r.is_one_line() {
                        assert_eq!(breaks, (1, 0, false), "round {round} chunk {chunk}");
                        one_line += 1;
                    }
                    after_cr = breaks.2;
                    got.push(field_bytes(&r));
                    bytes.extend_from_slice(r.bytes());
                }
                assert_eq!(got, expected, "round {round} chunk {chunk} buffer {len}");
                assert_eq!(bytes, stripped, "round {round} chunk {chunk} buffer {len}");
            }
        }
        assert!(one_line > 1_000, "{one_line} records read as one line");
    }

    #[test]
    fn plainly_quoted_lines_of_every_length_read_as_the_csv_crate_reads_them() {
        // lines of bare, empty and quoted fields (commas inside some), so that the quotes
        // and separators of lines the fast path takes fall everywhere in and around its
        // 64-byte blocks (blocks with and without quotes, quotes open across a block edge,
        // a quote closed in a block's last byte or the line's), with LF and CRLF endings and
        // NULs the source drops
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let (mut one_line, mut quoted) = (0, 0);
        for round in 0..1_200 {
            let mut input = Vec::new();
            // (the first record is read before the buffer is filled, by `csv-core`)
            for _ in 0..2 + rng.below(10) {
                let target = rng.below(260);
                let mut line = Vec::new();
                loop {
                    match rng.below(6) {
                        0 => {}
                        1 => line.extend_from_slice(b"\"\""),
                        2 | 3 => {
                            line.push(b'"');
                            let n = rng.below(40);
                            line.extend((0..n).map(|_| b"ab ,,;:\0"[rng.below(8)]));
                            line.push(b'"');
                        }
                        _ => {
                            let n = 1 + rng.below(12);
                            line.extend((0..n).map(|_| b"abcdef 0123.;-\0"[rng.below(15)]));
                        }
                    }
                    if line.len() >= target {
                        break;
                    }
                    line.push(b',');
                }
                input.extend(line);
                input.extend_from_slice(if rng.below(3) == 0 { b"\r\n" } else { b"\n" });
            }
            // what `Source` leaves of it: white space at either end stripped, NULs dropped
            let Some(first) = input.iter().position(|&b| !is_strip_space(b)) else {
                continue;
            };
            let last = input.iter().rposition(|&b| !is_strip_space(b)).unwrap();
            let stripped: Vec<u8> = input[first..=last]
                .iter()
                .copied()
                .filter(|&b| b != 0)
                .collect();
            let expected = csv_fields(&stripped[..]);
            for (chunk, len) in [(1 << 20, 128 * 1024), (61, 64), (64, 1), (1 << 20, 100)] {
                let mut r = Records::with_buffer(Trickle(&input, chunk), len);
                let (mut got, mut bytes) = (Vec::new(), Vec::new());
                while r.advance().unwrap() {
                    if r.is_one_line() {
                        one_line += 1;
                        quoted += usize::from(r.bytes().contains(&b'"'));
                    }
                    got.push(field_bytes(&r));
                    bytes.extend_from_slice(r.bytes());
                }
                assert_eq!(got, expected, "round {round} chunk {chunk} buffer {len}");
                assert_eq!(bytes, stripped, "round {round} chunk {chunk} buffer {len}");
            }
        }
        assert!(
            one_line > 6_000 && quoted > 6_000,
            "{one_line} records read as one line, {quoted} with quotes"
        );
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
    fn the_source_is_the_stream_decoded_stripped_then_without_nuls_at_every_read_size() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for _ in 0..2_000 {
            let len = rng.below(40);
            // white space of every kind (and NULs, which are not white space) at both ends
            // and inside
            // bytes that are not UTF-8 alone (0xff, 0x80) and with others (é is c3 a9)
            let raw = rng.line(len, b" \t\r\n\x0b\x0c\x1c\x1f\0\0a,\xff\x80\xc3\xa9\xe2");
            // Python's `decode('utf-8', 'ignore')`, `strip()`, then `translate({0: None})`
            let input: Vec<u8> = raw
                .utf8_chunks()
                .flat_map(|c| c.valid().as_bytes().to_vec())
                .collect();
            let invalid = raw.len() - input.len();
            let first = input.iter().position(|&b| !is_strip_space(b));
            let want: Vec<u8> = match first {
                None => Vec::new(),
                Some(first) => {
                    let last = input.iter().rposition(|&b| !is_strip_space(b)).unwrap();
                    input[first..=last]
                        .iter()
                        .copied()
                        .filter(|&b| b != 0)
                        .collect()
                }
            };
            // NULs between the first and last byte that is not white space are removed
            let nuls = first.map_or(0, |first| {
                let last = input.iter().rposition(|&b| !is_strip_space(b)).unwrap();
                input[first..=last].iter().filter(|&&b| b == 0).count()
            });
            let newlines = input[..first.unwrap_or(input.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            for chunk in [1, 2, 3, 5, 8, 64] {
                for start in [1, 2, 7, 64] {
                    let mut source = Source::new(Trickle(&raw, chunk));
                    let (mut buf, mut filled) = (vec![0; start], 0);
                    loop {
                        let before = filled;
                        source.fill(&mut buf, &mut filled).unwrap();
                        if filled == before {
                            break;
                        }
                    }
                    assert_eq!(
                        buf[..filled],
                        want,
                        "{input:?} chunk {chunk} buffer {start}"
                    );
                    assert_eq!(source.leading_newlines, newlines, "{input:?}");
                    assert_eq!(
                        source.nul_bytes as usize, nuls,
                        "NUL bytes removed: {input:?} chunk {chunk} buffer {start}"
                    );
                    assert_eq!(
                        source.invalid_utf8 as usize, invalid,
                        "invalid UTF-8 dropped: {raw:?} chunk {chunk} buffer {start}"
                    );
                }
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
