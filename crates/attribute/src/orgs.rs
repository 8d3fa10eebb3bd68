//! The registry's organisations inside an [`Attributor`](crate::Attributor): the id, name and
//! kind of each, which attribution needs, always at hand; the organisations themselves decoded
//! from a snapshot's bytes when first asked for: one at a time by id, or all at once for
//! `organisations`.
//!
//! Decoding 100 k organisations is a million small allocations: most of the time of loading a
//! snapshot if done up front (`benches/snapshot.rs`), and nothing `attribute` uses. Decoded
//! one by one, a national notification holds the organisations it speaks of (a third of 1.3 million
//! in the demo's fan-out), not the whole registry.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock};

use baken_model::{OrgId, OrgKind, Organisation};

use crate::snapshot::{self, Reader, SnapshotError, Writer};

/// A map to organisation or record numbers. foldhash, not SipHash: loading a snapshot builds
/// the maps again and SipHash was a tenth of it (`benches/snapshot.rs`); the keys are the
/// registry's and public registry data's, not an attacker's.
pub(crate) type Map<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// The organisations, all decoded.
type Full = Vec<Organisation>;

/// Organisations per compressed block. A block of the demo's national registry is about
/// 6 KB before compression; decoding one organisation decompresses its block (a few
/// microseconds), and a reader that goes through them in order decompresses each block once.
const BLOCK: usize = 32;

/// The zstd level blocks are compressed at: loading a snapshot compresses every block, and
/// level 1 does that at hundreds of MB/s.
const LEVEL: i32 = 1;

/// An organisation's id and name, for reasons and notes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
}

/// The organisations, in registry order.
///
/// Their ids, names and kinds, which attribution reads for every event, are at hand. The
/// rest, as a snapshot encodes it, is kept compressed [`BLOCK`] organisations at a time and
/// decoded when asked for: encoded, a national registry of 1.3 million took 243 MB of the
/// index's 470 (heaptrack of `registry lookup` on the demo's store); compressed, an
/// estimated eighth to a sixth of that (zlib at level 1 on samples of it).
#[derive(Debug, Clone)]
pub(crate) struct Orgs {
    /// Each organisation's id followed by its name, one organisation after the other.
    labels_text: String,
    /// Per organisation, where its id starts in `labels_text` and where it ends (and the
    /// name starts; the name ends where the next organisation's id starts).
    labels: Vec<[u32; 2]>,
    /// Per organisation, its kind.
    kinds: Vec<OrgKind>,
    /// Decoded from the blocks when all are asked for.
    full: OnceLock<Full>,
    /// The organisations as a snapshot encodes them, [`BLOCK`] at a time: checked when a
    /// snapshot was loaded, encoded from valid ones by [`OrgsBuilder`].
    blocks: Vec<Block>,
    /// Per organisation, where its record and its text start in its block.
    starts: Vec<[u32; 2]>,
    /// The length of all records and of all their text, as a snapshot holds them.
    encoded_len: (usize, usize),
    /// The organisation numbers by the hash of their ids (the ids themselves are in
    /// `labels_text`), made as they are read or added, which is where ids given twice are
    /// found.
    by_id: IdTable,
    /// Organisations decoded one at a time, while not all are.
    one: OnceLock<Vec<OnceLock<Box<Organisation>>>>,
    /// The block decompressed last.
    last: LastBlock,
}

/// The encoded records of [`BLOCK`] organisations followed by their text, compressed.
#[derive(Debug, Clone)]
struct Block {
    zstd: Box<[u8]>,
    /// Length of the records, which the text follows.
    records: u32,
    /// Length of records and text.
    len: u32,
}

/// The block decompressed last and its number: organisations are mostly asked for in order
/// (a plan goes through its subjects by id, as they are numbered).
#[derive(Default)]
struct LastBlock(Mutex<Option<(usize, Arc<[u8]>)>>);

impl Clone for LastBlock {
    fn clone(&self) -> Self {
        LastBlock::default()
    }
}

impl std::fmt::Debug for LastBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LastBlock")
    }
}

/// Numbers by the hash of the id they stand for.
#[derive(Clone, Default)]
struct IdTable {
    hasher: foldhash::fast::RandomState,
    table: hashbrown::HashTable<u32>,
}

impl std::fmt::Debug for IdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTable")
            .field("ids", &self.table.len())
            .finish()
    }
}

/// An offset into a block or the labels' text.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("under 4 GiB of organisation ids and names")
}

impl Orgs {
    /// The organisations encoded in `records` and `text` (a snapshot's section), organisation
    /// `i`'s record starting at `record_starts[i]` and its text at `text_starts[i]` with its
    /// id and name (`labels[i]`: where the id ends and the name ends); `by_id` numbers them.
    fn pack(
        records: &[u8],
        text: &str,
        record_starts: &[usize],
        text_starts: &[usize],
        labels: &[[usize; 2]],
        kinds: Vec<OrgKind>,
        by_id: IdTable,
    ) -> Self {
        let n = record_starts.len();
        let mut labels_text =
            String::with_capacity(labels.iter().zip(text_starts).map(|(l, &s)| l[1] - s).sum());
        let mut own_labels = Vec::with_capacity(n);
        for (&[id_end, name_end], &start) in labels.iter().zip(text_starts) {
            let at = labels_text.len();
            labels_text.push_str(&text[start..name_end]);
            own_labels.push([offset(at), offset(at + id_end - start)]);
        }
        let mut blocks = Vec::with_capacity(n.div_ceil(BLOCK));
        let mut starts = Vec::with_capacity(n);
        let mut raw = Vec::new();
        let mut compressor =
            zstd::bulk::Compressor::new(LEVEL).expect("a zstd compressor at level 1");
        for first in (0..n).step_by(BLOCK) {
            let end = (first + BLOCK).min(n);
            let record_end = record_starts.get(end).copied().unwrap_or(records.len());
            let text_end = text_starts.get(end).copied().unwrap_or(text.len());
            let (r0, t0) = (record_starts[first], text_starts[first]);
            raw.clear();
            raw.extend_from_slice(&records[r0..record_end]);
            raw.extend_from_slice(&text.as_bytes()[t0..text_end]);
            for i in first..end {
                starts.push([offset(record_starts[i] - r0), offset(text_starts[i] - t0)]);
            }
            let zstd = compressor
                .compress(&raw)
                .expect("compressing into a buffer zstd sizes");
            blocks.push(Block {
                zstd: zstd.into_boxed_slice(),
                records: offset(record_end - r0),
                len: offset(raw.len()),
            });
        }
        Orgs {
            labels_text,
            labels: own_labels,
            kinds,
            full: OnceLock::new(),
            blocks,
            starts,
            encoded_len: (records.len(), text.len()),
            by_id,
            one: OnceLock::new(),
            last: LastBlock::default(),
        }
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The id and name of organisation `i`.
    #[inline]
    pub(crate) fn label(&self, i: u32) -> Label<'_> {
        let i = i as usize;
        let [start, id_end] = self.labels[i];
        let name_end = self
            .labels
            .get(i + 1)
            .map_or(self.labels_text.len(), |l| l[0] as usize);
        Label {
            id: &self.labels_text[start as usize..id_end as usize],
            name: &self.labels_text[id_end as usize..name_end],
        }
    }

    /// Block `k`, decompressed.
    fn block(&self, k: usize) -> Arc<[u8]> {
        let mut last = self.last.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, bytes)) = last.as_ref()
            && *at == k
        {
            return bytes.clone();
        }
        let block = &self.blocks[k];
        let bytes: Arc<[u8]> = zstd::bulk::decompress(&block.zstd, block.len as usize)
            .expect("blocks are compressed here from checked organisations")
            .into();
        *last = Some((k, bytes.clone()));
        bytes
    }

    fn full(&self) -> &[Organisation] {
        self.full
            .get_or_init(|| (0..self.len() as u32).map(|i| self.decode(i)).collect())
    }

    /// Every organisation, in registry order.
    pub(crate) fn all(&self) -> &[Organisation] {
        self.full()
    }

    /// The number of the organisation with this id.
    fn number(&self, id: &str) -> Option<u32> {
        self.by_id
            .table
            .find(self.by_id.hasher.hash_one(id), |&i| self.label(i).id == id)
            .copied()
    }

    /// Whether there is one with this id.
    pub(crate) fn contains(&self, id: &OrgId) -> bool {
        self.number(&id.0).is_some()
    }

    /// The organisation with this id: from all of them when they are decoded, else decoded
    /// alone.
    pub(crate) fn get(&self, id: &OrgId) -> Option<&Organisation> {
        self.number(&id.0).map(|i| self.nth(i))
    }

    /// The organisation with this id, decoded for the caller alone unless all are decoded:
    /// what [`Orgs::get`] gives without keeping it.
    pub(crate) fn get_once(&self, id: &OrgId) -> Option<Cow<'_, Organisation>> {
        self.number(&id.0).map(|i| self.nth_once(i))
    }

    /// Organisation `i`, as [`Orgs::get`] gives it.
    pub(crate) fn nth(&self, i: u32) -> &Organisation {
        match self.full.get() {
            Some(orgs) => &orgs[i as usize],
            None => self.decoded(i),
        }
    }

    /// Organisation `i`, as [`Orgs::get_once`] gives it.
    pub(crate) fn nth_once(&self, i: u32) -> Cow<'_, Organisation> {
        if let Some(orgs) = self.full.get() {
            return Cow::Borrowed(&orgs[i as usize]);
        }
        if let Some(org) = self.one.get().and_then(|one| one[i as usize].get()) {
            return Cow::Borrowed(org);
        }
        Cow::Owned(self.decode(i))
    }

    /// The numbers of the organisations of these kinds, in registry order.
    pub(crate) fn of_kinds<'a>(&'a self, kinds: &'a [OrgKind]) -> impl Iterator<Item = u32> + 'a {
        (0..self.len() as u32).filter(|&i| kinds.contains(&self.kinds[i as usize]))
    }

    fn decoded(&self, i: u32) -> &Organisation {
        let one = self
            .one
            .get_or_init(|| (0..self.len()).map(|_| OnceLock::new()).collect());
        one[i as usize].get_or_init(|| Box::new(self.decode(i)))
    }

    fn decode(&self, i: u32) -> Organisation {
        let i = i as usize;
        let k = i / BLOCK;
        let bytes = self.block(k);
        let records = self.blocks[k].records as usize;
        let [record, text] = self.starts[i];
        let text = std::str::from_utf8(&bytes[records + text as usize..])
            .expect("a block's text is cut where an organisation's starts");
        let mut r = Reader::section(&bytes[record as usize..records], text);
        snapshot::read_organisation(&mut r)
            .expect("organisations checked when read or encoded from valid ones")
    }

    /// The snapshot's section of organisations: their count, and the length of their
    /// encoded bytes and of the text of their strings.
    pub(crate) fn encoded_len(&self) -> (u32, usize, usize) {
        let count = u32::try_from(self.len()).expect("fewer than 2^32 organisations");
        (count, self.encoded_len.0, self.encoded_len.1)
    }

    /// Appends the organisations' encoded text (`text`) or bytes to `out`, as a snapshot
    /// holds them (decoding and encoding them again gives the same).
    pub(crate) fn write_encoded(&self, text: bool, out: &mut Vec<u8>) {
        let mut decompressor = zstd::bulk::Decompressor::new().expect("a zstd decompressor");
        let mut raw = Vec::new();
        for block in &self.blocks {
            raw.clear();
            raw.reserve(block.len as usize);
            decompressor
                .decompress_to_buffer(&block.zstd, &mut raw)
                .expect("blocks are compressed here from checked organisations");
            let records = block.records as usize;
            out.extend_from_slice(if text {
                &raw[records..]
            } else {
                &raw[..records]
            });
        }
    }

    /// Reads a snapshot's section of organisations, checking every one as
    /// [`snapshot::read_organisation`] would read it, and that no id appears twice; the
    /// organisations themselves are decoded when first needed.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, SnapshotError> {
        let n = r.count(snapshot::MIN_ORGANISATION)?;
        let (start, text_start) = (r.offset(), r.text_offset());
        let mut labels = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);
        let mut record_starts = Vec::with_capacity(n);
        let mut text_starts = Vec::with_capacity(n);
        let mut by_id = IdTable::default();
        by_id
            .table
            .reserve(n, |_| unreachable!("room for every id was reserved"));
        let mut ids: Vec<&str> = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.offset();
            let label_start = r.text_offset() - text_start;
            let (id, name, kind) = snapshot::check_organisation(r)?;
            kinds.push(kind);
            record_starts.push(at - start);
            text_starts.push(label_start);
            let hash = by_id.hasher.hash_one(id);
            if by_id.table.find(hash, |&j| ids[j as usize] == id).is_some() {
                let what = format!("organisation id {id} appears twice");
                return Err(Reader::corrupt_at(at, what));
            }
            by_id.table.insert_unique(hash, ids.len() as u32, |&j| {
                by_id.hasher.hash_one(ids[j as usize])
            });
            ids.push(id);
            let id_end = label_start + id.len();
            labels.push([id_end, id_end + name.len()]);
        }
        drop(ids);
        Ok(Orgs::pack(
            r.since(start),
            r.text_since(text_start),
            &record_starts,
            &text_starts,
            &labels,
            kinds,
            by_id,
        ))
    }
}

/// Organisations added one at a time, each encoded as a snapshot holds it when it is added:
/// a registry of millions is never held as structs while its index is built.
pub(crate) struct OrgsBuilder {
    w: Writer,
    labels: Vec<[usize; 3]>,
    kinds: Vec<OrgKind>,
    starts: Vec<usize>,
    by_id: IdTable,
    /// Whether every id so far came after the one before.
    sorted: bool,
}

impl OrgsBuilder {
    pub(crate) fn new() -> Self {
        OrgsBuilder {
            w: Writer::section(),
            labels: Vec::new(),
            kinds: Vec::new(),
            starts: Vec::new(),
            by_id: IdTable::default(),
            sorted: true,
        }
    }

    /// How many were added.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The id of organisation `i`.
    pub(crate) fn id(&self, i: u32) -> &str {
        let [start, id_end, _] = self.labels[i as usize];
        std::str::from_utf8(&self.w.written().1[start..id_end]).expect("ids are written from text")
    }

    /// Adds an organisation and gives its number; or, when an earlier one has the same id,
    /// adds nothing and gives that one's number as the error.
    pub(crate) fn push(&mut self, org: &Organisation) -> Result<u32, u32> {
        let id = org.id.0.as_str();
        let hash = self.by_id.hasher.hash_one(id);
        if let Some(&j) = self.by_id.table.find(hash, |&j| self.id(j) == id) {
            return Err(j);
        }
        let i = self.len() as u32;
        if i > 0 && self.id(i - 1) > id {
            self.sorted = false;
        }
        let (records, text) = self.w.written();
        let (at, label_start) = (records.len(), text.len());
        snapshot::write_organisation(&mut self.w, org);
        let id_end = label_start + id.len();
        self.labels
            .push([label_start, id_end, id_end + org.name.len()]);
        self.kinds.push(org.kind);
        self.starts.push(at);
        let OrgsBuilder {
            w, labels, by_id, ..
        } = self;
        let text = w.written().1;
        let hasher = &by_id.hasher;
        by_id.table.insert_unique(hash, i, |&j| {
            let [start, end, _] = labels[j as usize];
            hasher.hash_one(std::str::from_utf8(&text[start..end]).expect("ids are text"))
        });
        Ok(i)
    }

    /// Numbers the organisations in the order of their ids (by their bytes, as the store
    /// lists them), unless they already are; gives each one's new number by its old one when
    /// that changed anything.
    pub(crate) fn sort_by_id(&mut self) -> Option<Vec<u32>> {
        if self.sorted {
            return None;
        }
        let n = self.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        let (records, text) = self.w.written();
        // an organisation's record and text run from its start to the next one's
        let record_end = |i: usize| self.starts.get(i + 1).copied().unwrap_or(records.len());
        let text_end = |i: usize| self.labels.get(i + 1).map_or(text.len(), |l| l[0]);
        let mut sorted = OrgsBuilder::new();
        let mut new_number = vec![0u32; n];
        let (mut new_records, mut new_text) = (
            Vec::with_capacity(records.len()),
            Vec::with_capacity(text.len()),
        );
        for (k, &old) in order.iter().enumerate() {
            let old = old as usize;
            new_number[old] = k as u32;
            let [start, id_end, name_end] = self.labels[old];
            let shift = new_text.len() as isize - start as isize;
            let at = |x: usize| (x as isize + shift) as usize;
            sorted.labels.push([at(start), at(id_end), at(name_end)]);
            sorted.kinds.push(self.kinds[old]);
            sorted.starts.push(new_records.len());
            new_records.extend_from_slice(&records[self.starts[old]..record_end(old)]);
            new_text.extend_from_slice(&text[start..text_end(old)]);
        }
        let hasher = sorted.by_id.hasher.clone();
        sorted.by_id.table.reserve(n, |_| unreachable!("empty"));
        for (k, label) in sorted.labels.iter().enumerate() {
            let id = std::str::from_utf8(&new_text[label[0]..label[1]]).expect("ids are text");
            sorted
                .by_id
                .table
                .insert_unique(hasher.hash_one(id), k as u32, |_| {
                    unreachable!("room was reserved")
                });
        }
        sorted.w = Writer::from_parts(new_records, new_text);
        *self = sorted;
        Some(new_number)
    }

    /// The organisations added, in the order they are numbered.
    pub(crate) fn finish(self) -> Orgs {
        let (records, text) = self.w.into_parts();
        let text = String::from_utf8(text).expect("written from text");
        let text_starts: Vec<usize> = self.labels.iter().map(|l| l[0]).collect();
        let labels: Vec<[usize; 2]> = self.labels.iter().map(|l| [l[1], l[2]]).collect();
        drop(self.labels);
        Orgs::pack(
            &records,
            &text,
            &self.starts,
            &text_starts,
            &labels,
            self.kinds,
            self.by_id,
        )
    }
}
