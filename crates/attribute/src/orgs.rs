//! The registry's organisations inside an [`Attributor`](crate::Attributor): the id, name,
//! kind and vital flag of each, which attribution and planning read, always at hand; the
//! organisations themselves kept compressed as a snapshot holds them, and decoded when first
//! asked for: one at a time by id, or all at once for `organisations`.
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

/// A block's head in a snapshot: the length of its records, of its records and text, and of
/// what they compress to.
const BLOCK_HEAD: usize = 12;

/// More than any block of organisations compresses by: a snapshot's block that claims more
/// is damaged.
const MAX_RATIO: usize = 256;

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
/// Their ids, names, kinds and vital flags, which attribution reads for every event, are at
/// hand. The rest is kept compressed [`BLOCK`] organisations at a time, in the blocks a
/// snapshot holds, and decoded when asked for: encoded, a national registry of 1.3 million
/// took 243 MB of the index's 470 (heaptrack of `registry lookup` on the demo's store);
/// compressed, about 46 MB (heaptrack of the demo's fan-out).
#[derive(Debug, Clone)]
pub(crate) struct Orgs {
    /// Each organisation's id followed by its name, one organisation after the other.
    labels_text: String,
    /// Per organisation, where its id starts in `labels_text` and where it ends (and the
    /// name starts; the name ends where the next organisation's id starts).
    labels: Vec<[u32; 2]>,
    /// Per organisation, its kind and whether it is a vital provider.
    kinds: Vec<(OrgKind, bool)>,
    /// Decoded from the blocks when all are asked for.
    full: OnceLock<Full>,
    /// The organisations as a snapshot encodes them, [`BLOCK`] at a time: checked when a
    /// snapshot was loaded, encoded from valid ones by [`OrgsBuilder`].
    blocks: Vec<Block>,
    /// Per organisation, where its record and its text start in its block.
    starts: Vec<[u32; 2]>,
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
    /// The organisations encoded in `records` and `text` (a builder's buffers), numbered as
    /// `span` gives them: `span(k)` is where the `k`-th
    /// organisation's record and text are, whichever order they were written in; `by_id`
    /// numbers them the same way.
    fn pack(
        records: &[u8],
        text: &str,
        n: usize,
        span: impl Fn(usize) -> Span,
        kinds: Vec<(OrgKind, bool)>,
        by_id: IdTable,
    ) -> Self {
        let mut labels_text = String::with_capacity((0..n).map(|k| span(k).label_len()).sum());
        let mut labels = Vec::with_capacity(n);
        let mut blocks = Vec::with_capacity(n.div_ceil(BLOCK));
        let mut starts = Vec::with_capacity(n);
        let mut raw = Vec::new();
        let mut compressor =
            zstd::bulk::Compressor::new(LEVEL).expect("a zstd compressor at level 1");
        for first in (0..n).step_by(BLOCK) {
            let end = (first + BLOCK).min(n);
            raw.clear();
            let mut text_at = 0;
            for k in first..end {
                let s = span(k);
                starts.push([offset(raw.len()), offset(text_at)]);
                raw.extend_from_slice(&records[s.record]);
                text_at += s.text.len();
                let at = labels_text.len();
                labels_text.push_str(&text[s.text.start..s.name_end]);
                labels.push([offset(at), offset(at + s.id_end - s.text.start)]);
            }
            let record_len = raw.len();
            for k in first..end {
                raw.extend_from_slice(&text.as_bytes()[span(k).text]);
            }
            let zstd = compressor
                .compress(&raw)
                .expect("compressing into a buffer zstd sizes");
            blocks.push(Block {
                zstd: zstd.into_boxed_slice(),
                records: offset(record_len),
                len: offset(raw.len()),
            });
        }
        Orgs {
            labels_text,
            labels,
            kinds,
            full: OnceLock::new(),
            blocks,
            starts,
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
        (0..self.len() as u32).filter(|&i| kinds.contains(&self.kinds[i as usize].0))
    }

    /// Whether the organisation with this id is a vital provider (false for one not here).
    pub(crate) fn is_vital(&self, id: &OrgId) -> bool {
        self.number(&id.0).is_some_and(|i| self.kinds[i as usize].1)
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

    /// The snapshot's section of organisations: their count, and the length of the blocks
    /// that follow it.
    pub(crate) fn encoded_len(&self) -> (u32, usize) {
        let count = u32::try_from(self.len()).expect("fewer than 2^32 organisations");
        let blocks = self.blocks.iter().map(|b| BLOCK_HEAD + b.zstd.len()).sum();
        (count, blocks)
    }

    /// Appends the organisations' blocks to `out`, as a snapshot holds them: compressed as
    /// they are kept.
    pub(crate) fn write_blocks(&self, out: &mut Vec<u8>) {
        for block in &self.blocks {
            out.extend_from_slice(&block.records.to_le_bytes());
            out.extend_from_slice(&block.len.to_le_bytes());
            out.extend_from_slice(&offset(block.zstd.len()).to_le_bytes());
            out.extend_from_slice(&block.zstd);
        }
    }

    /// Reads a snapshot's section of organisations, decompressing every block and checking
    /// every organisation in it as [`snapshot::read_organisation`] would read it, and that no
    /// id appears twice; the blocks are kept as they were read, and the organisations
    /// themselves decoded when first needed.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, SnapshotError> {
        let at = r.offset();
        let n = r.u32()? as usize;
        let left = r.left();
        if n.div_ceil(BLOCK).saturating_mul(BLOCK_HEAD) > left {
            return Err(Reader::corrupt_at(
                at,
                format!("{n} organisations, more than the {left} bytes left hold"),
            ));
        }
        let mut labels_text = String::new();
        let mut labels: Vec<[u32; 2]> = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);
        let mut starts = Vec::with_capacity(n);
        let mut blocks = Vec::with_capacity(n.div_ceil(BLOCK));
        let mut by_id = IdTable::default();
        by_id
            .table
            .reserve(n, |_| unreachable!("room for every id was reserved"));
        let mut decompressor = zstd::bulk::Decompressor::new().expect("a zstd decompressor");
        let mut raw = Vec::new();
        for first in (0..n).step_by(BLOCK) {
            let end = (first + BLOCK).min(n);
            let at = r.offset();
            let records = r.u32()?;
            let len = r.u32()?;
            let zstd = {
                let z = r.count(1)?;
                r.take(z)?
            };
            let corrupt = |what: String| {
                let last = end - 1;
                Reader::corrupt_at(
                    at,
                    format!("the block of organisations {first} to {last}: {what}"),
                )
            };
            // what a block of organisations compresses to is known: a length far beyond it
            // is damage, not a block to allocate for
            if records > len || len as usize > zstd.len().saturating_mul(MAX_RATIO) + 4096 {
                return Err(corrupt(format!(
                    "{records} bytes of records in {len} from {} compressed",
                    zstd.len()
                )));
            }
            raw.clear();
            raw.reserve_exact(len as usize);
            match decompressor.decompress_to_buffer(zstd, &mut raw) {
                Ok(got) if got == len as usize => {}
                Ok(got) => return Err(corrupt(format!("{got} bytes, not {len}"))),
                Err(e) => return Err(corrupt(format!("it does not decompress: {e}"))),
            }
            let text = std::str::from_utf8(&raw[records as usize..])
                .map_err(|e| corrupt(format!("text that is not UTF-8: {e}")))?;
            let mut br = Reader::section(&raw[..records as usize], text);
            for _ in first..end {
                starts.push([offset(br.offset()), offset(br.text_offset())]);
                let (id, name, kind, vital) =
                    snapshot::check_organisation(&mut br).map_err(|e| corrupt(e.to_string()))?;
                kinds.push((kind, vital));
                let hash = by_id.hasher.hash_one(id);
                let id_of = |j: u32| {
                    let [start, id_end] = labels[j as usize];
                    &labels_text[start as usize..id_end as usize]
                };
                if by_id.table.find(hash, |&j| id_of(j) == id).is_some() {
                    return Err(corrupt(format!("organisation id {id} appears twice")));
                }
                by_id.table.insert_unique(hash, offset(labels.len()), |_| {
                    unreachable!("room for every id was reserved")
                });
                let start = labels_text.len();
                labels_text.push_str(id);
                labels_text.push_str(name);
                labels.push([offset(start), offset(start + id.len())]);
            }
            br.end().map_err(|e| corrupt(e.to_string()))?;
            blocks.push(Block {
                zstd: zstd.into(),
                records,
                len,
            });
        }
        labels_text.shrink_to_fit();
        Ok(Orgs {
            labels_text,
            labels,
            kinds,
            full: OnceLock::new(),
            blocks,
            starts,
            by_id,
            one: OnceLock::new(),
            last: LastBlock::default(),
        })
    }
}

/// Where one organisation's encoded record and text are in the buffers [`Orgs::pack`]
/// reads, and where in the text its id and its name end.
struct Span {
    record: std::ops::Range<usize>,
    text: std::ops::Range<usize>,
    id_end: usize,
    name_end: usize,
}

impl Span {
    /// The length of its id and name.
    fn label_len(&self) -> usize {
        self.name_end - self.text.start
    }
}

/// Organisations added one at a time, each encoded as a snapshot holds it when it is added:
/// a registry of millions is never held as structs while its index is built.
pub(crate) struct OrgsBuilder {
    w: Writer,
    labels: Vec<[usize; 3]>,
    kinds: Vec<(OrgKind, bool)>,
    starts: Vec<usize>,
    by_id: IdTable,
    /// Whether every id so far came after the one before.
    sorted: bool,
    /// Once numbered by id: the number each organisation was added under, by its new one.
    /// The encoded organisations stay where they were written and are packed in this order.
    order: Option<Vec<u32>>,
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
            order: None,
        }
    }

    /// How many were added.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The id of organisation `i`.
    pub(crate) fn id(&self, i: u32) -> &str {
        let i = self.order.as_ref().map_or(i, |order| order[i as usize]);
        self.added_id(i)
    }

    /// The id of the organisation added as number `i`.
    fn added_id(&self, i: u32) -> &str {
        let [start, id_end, _] = self.labels[i as usize];
        std::str::from_utf8(&self.w.written().1[start..id_end]).expect("ids are written from text")
    }

    /// Adds an organisation and gives its number; or, when an earlier one has the same id,
    /// adds nothing and gives that one's number as the error.
    pub(crate) fn push(&mut self, org: &Organisation) -> Result<u32, u32> {
        assert!(
            self.order.is_none(),
            "organisations are added before they are numbered by id"
        );
        let id = org.id.0.as_str();
        let hash = self.by_id.hasher.hash_one(id);
        if let Some(&j) = self.by_id.table.find(hash, |&j| self.added_id(j) == id) {
            return Err(j);
        }
        let i = self.len() as u32;
        if i > 0 && self.added_id(i - 1) > id {
            self.sorted = false;
        }
        let (records, text) = self.w.written();
        let (at, label_start) = (records.len(), text.len());
        snapshot::write_organisation(&mut self.w, org);
        let id_end = label_start + id.len();
        self.labels
            .push([label_start, id_end, id_end + org.name.len()]);
        self.kinds.push((org.kind, org.vital));
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
    /// that changed anything. The organisations are not moved: [`OrgsBuilder::finish`]
    /// packs them in the new order, so a national registry is not held twice.
    pub(crate) fn sort_by_id(&mut self) -> Option<Vec<u32>> {
        if self.sorted || self.order.is_some() {
            return None;
        }
        let n = self.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|&a, &b| self.added_id(a).cmp(self.added_id(b)));
        let mut new_number = vec![0u32; n];
        for (k, &old) in order.iter().enumerate() {
            new_number[old as usize] = k as u32;
        }
        // the table hashes ids, which stay the same: only the numbers change
        for i in self.by_id.table.iter_mut() {
            *i = new_number[*i as usize];
        }
        self.kinds = order.iter().map(|&old| self.kinds[old as usize]).collect();
        self.order = Some(order);
        Some(new_number)
    }

    /// The organisations added, in the order they are numbered.
    pub(crate) fn finish(self) -> Orgs {
        let (records, text) = self.w.into_parts();
        let text = String::from_utf8(text).expect("written from text");
        let n = self.labels.len();
        let (starts, labels) = (&self.starts, &self.labels);
        let span = |i: usize| {
            let [start, id_end, name_end] = labels[i];
            Span {
                record: starts[i]..starts.get(i + 1).copied().unwrap_or(records.len()),
                text: start..labels.get(i + 1).map_or(text.len(), |l| l[0]),
                id_end,
                name_end,
            }
        };
        match &self.order {
            Some(order) => Orgs::pack(
                &records,
                &text,
                n,
                |k| span(order[k] as usize),
                self.kinds,
                self.by_id,
            ),
            None => Orgs::pack(&records, &text, n, span, self.kinds, self.by_id),
        }
    }
}
