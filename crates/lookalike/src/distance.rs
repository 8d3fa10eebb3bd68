//! Small edit distances between labels, and the index that finds the few protected labels
//! within reach of a name's label without comparing it with all of them.
//!
//! The index is a *deletion neighbourhood* (symmetric delete): every protected label is
//! stored with each string made by deleting up to its allowed distance of characters, and a
//! name's label is looked up by its own deletions. Two labels within distance `k` (insertions,
//! deletions, substitutions, adjacent transpositions) share a string each reaches in at most
//! `k` deletions, so the index never misses one; it can offer labels further away, which
//! [`osa`] then rules out. The scanner's speed rests on this (`bench/lookalike.sh`,
//! BENCHMARKS.md); `tests::index_equals_brute_force` compares it with trying every label.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// The optimal-string-alignment distance (Damerau–Levenshtein with each substring edited
/// once): insertions, deletions, substitutions and swaps of neighbours, each costing one.
pub fn osa(a: &[u8], b: &[u8]) -> usize {
    let (n, m) = (a.len(), b.len());
    // three rows: two back for transpositions
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// Calls `f` with `s` and every string made by deleting up to `depth` (at most 2)
/// characters of it; a string may come more than once.
pub fn deletions(s: &[u8], depth: usize, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])) {
    f(s);
    if depth == 0 {
        return;
    }
    for i in 0..s.len() {
        buf.clear();
        buf.extend_from_slice(&s[..i]);
        buf.extend_from_slice(&s[i + 1..]);
        f(buf);
        if depth >= 2 {
            for j in i + 1..s.len() {
                buf.clear();
                buf.extend_from_slice(&s[..i]);
                buf.extend_from_slice(&s[i + 1..j]);
                buf.extend_from_slice(&s[j + 1..]);
                f(buf);
            }
        }
    }
}

/// The distance allowed for a protected label of `len` characters: none up to 3 (a
/// three-letter label is one edit from thousands of others), 1 up to 8, 2 from 9.
pub fn allowed(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=8 => 1,
        _ => 2,
    }
}

/// Protected labels by the strings their deletions make.
#[derive(Debug, Default)]
pub struct Index {
    by_deletion: HashMap<u64, Vec<u32>, foldhash::fast::RandomState>,
    hasher: foldhash::fast::FixedState,
    labels: Vec<(Box<[u8]>, usize)>,
}

impl Index {
    /// Adds label `id` with its allowed distance.
    pub fn add(&mut self, label: &[u8]) -> u32 {
        let id = self.labels.len() as u32;
        let d = allowed(label.len());
        self.labels.push((label.into(), d));
        if d == 0 {
            return id;
        }
        let mut buf = Vec::new();
        let (map, hasher) = (&mut self.by_deletion, &self.hasher);
        deletions(label, d, &mut buf, &mut |v| {
            let ids = map.entry(hasher.hash_one(v)).or_default();
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        });
        id
    }

    /// Calls `f` with each label id within its allowed distance of `label` (not equal to
    /// it) and the distance; an id may come more than once.
    pub fn near(&self, label: &[u8], buf: &mut Vec<u8>, f: &mut dyn FnMut(u32, usize)) {
        if label.len() < 3 || self.by_deletion.is_empty() {
            return;
        }
        // a protected label allowed 2 has 9 characters or more, so this one has 7 or more
        let depth = if label.len() >= 7 { 2 } else { 1 };
        deletions(label, depth, buf, &mut |v| {
            if let Some(ids) = self.by_deletion.get(&self.hasher.hash_one(v)) {
                for &id in ids {
                    let (p, d) = &self.labels[id as usize];
                    if p.len().abs_diff(label.len()) <= *d {
                        let dist = osa(p, label);
                        if dist > 0 && dist <= *d {
                            f(id, dist);
                        }
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn distances() {
        assert_eq!(osa(b"rivm", b"rivm"), 0);
        assert_eq!(osa(b"rivm", b"rivn"), 1);
        assert_eq!(osa(b"rivm", b"irvm"), 1);
        assert_eq!(osa(b"rivm", b"rvm"), 1);
        assert_eq!(osa(b"rivm", b"rivmm"), 1);
        assert_eq!(osa(b"government", b"govermnent"), 1);
        assert_eq!(osa(b"government", b"guvernmant"), 2);
        assert_eq!(osa(b"ca", b"abc"), 3); // OSA, not full Damerau–Levenshtein
        assert_eq!(osa(b"", b"abc"), 3);
    }

    fn brute(labels: &[Vec<u8>], label: &[u8]) -> Vec<(u32, usize)> {
        let mut v: Vec<(u32, usize)> = labels
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let d = osa(p, label);
                (d > 0 && d <= allowed(p.len())).then_some((i as u32, d))
            })
            .collect();
        v.sort();
        v
    }

    proptest! {
        #[test]
        fn index_equals_brute_force(
            labels in prop::collection::vec("[abc]{1,11}", 1..12),
            probe in "[abc]{0,13}",
        ) {
            let labels: Vec<Vec<u8>> = labels.into_iter().map(String::into_bytes).collect();
            let mut index = Index::default();
            for l in &labels {
                index.add(l);
            }
            let mut found = Vec::new();
            index.near(probe.as_bytes(), &mut Vec::new(), &mut |id, d| found.push((id, d)));
            found.sort();
            found.dedup();
            prop_assert_eq!(found, brute(&labels, probe.as_bytes()));
        }
    }
}
