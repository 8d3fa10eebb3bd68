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
use std::sync::OnceLock;

use baken_model::{OrgId, OrgKind, Organisation};

use crate::snapshot::{self, Reader, SnapshotError, Writer};

/// A map to organisation or record numbers. foldhash, not SipHash: loading a snapshot builds
/// the maps again and SipHash was a tenth of it (`benches/snapshot.rs`); the keys are the
/// registry's and public registry data's, not an attacker's.
pub(crate) type Map<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// The organisations, all decoded.
type Full = Vec<Organisation>;

/// An organisation's id and name, for reasons and notes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
}

/// The organisations, in registry order.
#[derive(Debug, Clone)]
pub(crate) struct Orgs {
    /// The text of all their strings, as a snapshot holds it.
    text: String,
    /// Per organisation, where its id starts in `text`, where it ends (and the name starts:
    /// a snapshot has the name's text right after the id's) and where the name ends.
    labels: Vec<[usize; 3]>,
    /// Per organisation, its kind.
    kinds: Vec<OrgKind>,
    /// Decoded from `records` and `text` when all are asked for.
    full: OnceLock<Full>,
    /// The organisations as a snapshot encodes them: checked when a snapshot was loaded,
    /// encoded from valid ones by [`OrgsBuilder`].
    records: Vec<u8>,
    /// Per organisation, where its record starts in `records`.
    starts: Vec<usize>,
    /// The organisation numbers by the hash of their ids (the ids themselves are in `text`),
    /// made as they are read or added, which is where ids given twice are found.
    by_id: IdTable,
    /// Organisations decoded one at a time, while not all are.
    one: OnceLock<Vec<OnceLock<Box<Organisation>>>>,
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

impl Orgs {
    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The id and name of organisation `i`.
    #[inline]
    pub(crate) fn label(&self, i: u32) -> Label<'_> {
        let [start, id_end, name_end] = self.labels[i as usize];
        Label {
            id: &self.text[start..id_end],
            name: &self.text[id_end..name_end],
        }
    }

    fn full(&self) -> &[Organisation] {
        self.full.get_or_init(|| {
            let mut r = Reader::section(&self.records, &self.text);
            (0..self.len())
                .map(|_| {
                    snapshot::read_organisation(&mut r)
                        .expect("organisations checked when read or encoded from valid ones")
                })
                .collect()
        })
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
        let mut r = Reader::section(
            &self.records[self.starts[i]..],
            &self.text[self.labels[i][0]..],
        );
        snapshot::read_organisation(&mut r)
            .expect("organisations checked when read or encoded from valid ones")
    }

    /// The snapshot's section of organisations, as their count, their encoded bytes and the
    /// text of their strings (decoding and encoding them again gives the same).
    pub(crate) fn encoded(&self) -> (u32, &[u8], &str) {
        let count = u32::try_from(self.len()).expect("fewer than 2^32 organisations");
        (count, &self.records, &self.text)
    }

    /// Reads a snapshot's section of organisations, checking every one as
    /// [`snapshot::read_organisation`] would read it, and that no id appears twice; the
    /// organisations themselves are decoded when first needed.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, SnapshotError> {
        let n = r.count(snapshot::MIN_ORGANISATION)?;
        let (start, text_start) = (r.offset(), r.text_offset());
        let mut labels = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);
        let mut starts = Vec::with_capacity(n);
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
            starts.push(at - start);
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
            labels.push([label_start, id_end, id_end + name.len()]);
        }
        Ok(Orgs {
            text: r.text_since(text_start).to_string(),
            labels,
            kinds,
            full: OnceLock::new(),
            records: r.since(start).to_vec(),
            starts,
            by_id,
            one: OnceLock::new(),
        })
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
        Orgs {
            text: String::from_utf8(text).expect("written from text"),
            labels: self.labels,
            kinds: self.kinds,
            full: OnceLock::new(),
            records,
            starts: self.starts,
            by_id: self.by_id,
            one: OnceLock::new(),
        }
    }
}
