//! The registered domains inside an [`Attributor`](crate::Attributor): each domain's text in
//! one string and a hash table of where it is and whose it is.
//!
//! A national registry registers a domain per organisation or more. As a `HashMap<String,
//! u32>` each took a 32-byte slot and an allocation of its own, about 100 MB at 1.3 million
//! (heaptrack of `registry lookup` on the demo's store); here a slot is 12 bytes and the text
//! is packed, under half of that.

use std::fmt;
use std::hash::BuildHasher;

/// Domains to organisation numbers.
#[derive(Clone, Default)]
pub(crate) struct Domains {
    hasher: foldhash::fast::RandomState,
    /// The domains' text, one after the other.
    text: String,
    /// Per domain: where its text starts and ends, and its organisation's number.
    table: hashbrown::HashTable<[u32; 3]>,
}

impl fmt::Debug for Domains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Domains")
            .field("domains", &self.table.len())
            .finish()
    }
}

impl Domains {
    /// Room for `n` domains.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut d = Domains::default();
        d.table.reserve(n, |_| unreachable!("empty"));
        d
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    fn text_of(&self, [start, end, _]: [u32; 3]) -> &str {
        &self.text[start as usize..end as usize]
    }

    /// The organisation number of `domain`.
    pub(crate) fn get(&self, domain: &str) -> Option<u32> {
        self.table
            .find(self.hasher.hash_one(domain), |&e| self.text_of(e) == domain)
            .map(|e| e[2])
    }

    /// Registers `domain` to organisation `org`, unless it is registered already: then gives
    /// the number it is registered to and changes nothing.
    pub(crate) fn insert(&mut self, domain: &str, org: u32) -> Result<(), u32> {
        let hash = self.hasher.hash_one(domain);
        let Domains {
            hasher,
            text,
            table,
        } = self;
        let at = |e: &[u32; 3]| &text[e[0] as usize..e[1] as usize];
        if let Some(e) = table.find(hash, |e| at(e) == domain) {
            return Err(e[2]);
        }
        let offset = |n: usize| u32::try_from(n).expect("under 4 GiB of registered domain names");
        let start = offset(text.len());
        text.push_str(domain);
        let entry = [start, offset(text.len()), org];
        let text = &*text;
        table.insert_unique(hash, entry, |e| {
            hasher.hash_one(&text[e[0] as usize..e[1] as usize])
        });
        Ok(())
    }

    /// Every domain with its organisation number, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.table.iter().map(|&e| (self.text_of(e), e[2]))
    }

    /// Gives every organisation number a new one.
    pub(crate) fn renumber(&mut self, new: impl Fn(u32) -> u32) {
        for e in self.table.iter_mut() {
            e[2] = new(e[2]);
        }
    }

    /// Memory it holds, in bytes (text and table, without the allocator's rounding).
    #[cfg(test)]
    fn footprint(&self) -> usize {
        self.text.capacity() + self.table.capacity() * (std::mem::size_of::<[u32; 3]>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn answers_as_a_map_of_strings_would() {
        let mut d = Domains::with_capacity(4);
        let mut reference: HashMap<String, u32> = HashMap::new();
        for i in 0..5_000u32 {
            let name = format!("org-{}.example", i % 3_000);
            let got = d.insert(&name, i);
            match reference.get(&name) {
                Some(&j) => assert_eq!(got, Err(j), "{name} twice"),
                None => {
                    assert_eq!(got, Ok(()));
                    reference.insert(name, i);
                }
            }
        }
        assert_eq!(d.len(), reference.len());
        for (name, &i) in &reference {
            assert_eq!(d.get(name), Some(i), "{name}");
        }
        assert_eq!(d.get("org-3000.example"), None);
        assert_eq!(d.get("org-1.exampl"), None);
        assert_eq!(d.get(""), None);
        let mut listed: Vec<(String, u32)> = d.iter().map(|(s, i)| (s.to_string(), i)).collect();
        let mut expected: Vec<(String, u32)> = reference.into_iter().collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);

        d.renumber(|i| i + 10);
        assert_eq!(d.get("org-7.example"), Some(17));
    }

    #[test]
    fn a_domain_takes_under_half_the_memory_of_a_string_map() {
        let mut d = Domains::default();
        for i in 0..100_000 {
            d.insert(&format!("org-{i}.example"), i).unwrap();
        }
        // a `HashMap<String, u32>` slot alone is 32 bytes, before each string's allocation
        let per_domain = d.footprint() / d.len();
        assert!(per_domain < 40, "{per_domain} bytes per domain");
    }
}
