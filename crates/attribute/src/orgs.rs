//! The registry's organisations inside an [`Attributor`](crate::Attributor): the id, name and
//! kind of each, which attribution needs, always at hand; the organisations themselves decoded
//! from a snapshot's bytes when first asked for: one at a time by id, or all at once for
//! `organisations`.
//!
//! Decoding 100 k organisations is a million small allocations: most of the time of loading a
//! snapshot if done up front (`benches/snapshot.rs`), and nothing `attribute` uses. Decoded
//! one by one, a national notification holds the organisations it speaks of (a third of 1.3 million
//! in the demo's fan-out), not the whole registry.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use baken_model::{OrgId, OrgKind, Organisation};

use crate::snapshot::{self, Reader, SnapshotError, Writer};

/// A map to organisation or record numbers. foldhash, not SipHash: loading a snapshot builds
/// the maps again and SipHash was a tenth of it (`benches/snapshot.rs`); the keys are the
/// registry's and public registry data's, not an attacker's.
pub(crate) type Map<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// The organisations, and each one's number by id.
type Full = (Vec<Organisation>, Map<OrgId>);

/// An organisation's id and name, for reasons and notes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
}

/// The organisations, in registry order.
#[derive(Debug, Clone)]
pub(crate) struct Orgs {
    /// Holds each organisation's id and name: for organisations given to [`Orgs::new`], only
    /// those; for a snapshot's, the text of all their strings.
    text: String,
    /// Per organisation, where its id starts in `text`, where it ends (and the name starts:
    /// a snapshot has the name's text right after the id's) and where the name ends.
    labels: Vec<[usize; 3]>,
    /// Per organisation, its kind.
    kinds: Vec<OrgKind>,
    /// Given to [`Orgs::new`], or decoded from `records` and `text` when all are asked for.
    full: OnceLock<Full>,
    /// The organisations as a snapshot encodes them, checked when it was loaded; empty for
    /// organisations given to [`Orgs::new`].
    records: Vec<u8>,
    /// Per organisation of a snapshot, where its record starts in `records`.
    starts: Vec<usize>,
    /// A snapshot's organisation numbers by the hash of their ids (the ids themselves are in
    /// `text`), made when the snapshot is loaded, where it finds ids given twice.
    by_id: IdTable,
    /// A snapshot's organisations decoded one at a time, while not all are.
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
    /// The organisations and their numbers by id (already checked to be unique).
    pub(crate) fn new(orgs: Vec<Organisation>, by_id: Map<OrgId>) -> Self {
        let mut text = String::new();
        let labels = orgs
            .iter()
            .map(|org| {
                let start = text.len();
                text.push_str(&org.id.0);
                let id_end = text.len();
                text.push_str(&org.name);
                [start, id_end, text.len()]
            })
            .collect();
        Orgs {
            text,
            labels,
            kinds: orgs.iter().map(|o| o.kind).collect(),
            full: OnceLock::from((orgs, by_id)),
            records: Vec::new(),
            starts: Vec::new(),
            by_id: IdTable::default(),
            one: OnceLock::new(),
        }
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The bytes and text [`Orgs::write`] writes when they were read from a snapshot (it
    /// writes them as read), else none known.
    pub(crate) fn encoded_len(&self) -> (usize, usize) {
        (self.records.len(), self.text.len())
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

    fn full(&self) -> &Full {
        self.full.get_or_init(|| {
            let mut r = Reader::section(&self.records, &self.text);
            let mut orgs = Vec::with_capacity(self.len());
            let mut by_id = Map::with_capacity_and_hasher(self.len(), Default::default());
            for i in 0..self.len() {
                let org = snapshot::read_organisation(&mut r)
                    .expect("organisations checked when the snapshot was loaded");
                by_id.insert(org.id.clone(), i as u32);
                orgs.push(org);
            }
            (orgs, by_id)
        })
    }

    /// Every organisation, in registry order.
    pub(crate) fn all(&self) -> &[Organisation] {
        &self.full().0
    }

    /// The organisation with this id: from all of them when they are decoded, else decoded
    /// alone.
    pub(crate) fn get(&self, id: &OrgId) -> Option<&Organisation> {
        if let Some((orgs, by_id)) = self.full.get() {
            return by_id.get(id).map(|&i| &orgs[i as usize]);
        }
        let id = id.0.as_str();
        let &i = self
            .by_id
            .table
            .find(self.by_id.hasher.hash_one(id), |&i| self.label(i).id == id)?;
        Some(self.decoded(i))
    }

    /// Organisation `i`, as [`Orgs::get`] gives it.
    pub(crate) fn nth(&self, i: u32) -> &Organisation {
        match self.full.get() {
            Some((orgs, _)) => &orgs[i as usize],
            None => self.decoded(i),
        }
    }

    /// The numbers of the organisations of these kinds, in registry order.
    pub(crate) fn of_kinds<'a>(&'a self, kinds: &'a [OrgKind]) -> impl Iterator<Item = u32> + 'a {
        (0..self.len() as u32).filter(|&i| kinds.contains(&self.kinds[i as usize]))
    }

    fn decoded(&self, i: u32) -> &Organisation {
        let one = self
            .one
            .get_or_init(|| (0..self.len()).map(|_| OnceLock::new()).collect());
        one[i as usize].get_or_init(|| {
            let i = i as usize;
            let mut r = Reader::section(
                &self.records[self.starts[i]..],
                &self.text[self.labels[i][0]..],
            );
            Box::new(
                snapshot::read_organisation(&mut r)
                    .expect("organisations checked when the snapshot was loaded"),
            )
        })
    }

    /// Writes the snapshot's section of organisations.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.count(self.len());
        match self.full.get() {
            // given to `new`
            Some((orgs, _)) if self.records.is_empty() => {
                // measured first: the section is most of a snapshot
                let mut measure = Writer::measuring();
                for org in orgs {
                    snapshot::write_organisation(&mut measure, org);
                }
                let (buf, text) = measure.counted();
                w.reserve(buf, text);
                for org in orgs {
                    snapshot::write_organisation(w, org);
                }
            }
            // loaded: as read (decoding and encoding again gives the same)
            _ => w.encoded(&self.records, &self.text),
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
