//! The scanner: which protected name, if any, an input name imitates, by which rules, and
//! how strongly.
//!
//! Built once from the protected names, it answers each name with a few hash lookups and one
//! pass of an Aho–Corasick automaton:
//!
//! 1. a name that is a protected name, an owner's registered domain or a subdomain of either
//!    is never flagged;
//! 2. the name and each parent of it are looked up among the permutations of every
//!    protected name (all kinds, ASCII look-alikes in two rounds) — precomputed as 64-bit
//!    hashes of the names, about 16 bytes a permutation;
//! 3. a name with IDN labels is turned into its skeleton (`confusables::skeleton`), which is
//!    looked up as a protected name (a homograph) and among the permutations, and its labels
//!    are checked for mixed scripts;
//! 4. one automaton over the protected labels finds them inside the name: as the
//!    registered label under another suffix (TLD swap), as a label in front of another
//!    registered name (`rivm.nl.login.example`), or inside a longer label
//!    (`rivm-info-corona.example`; a label of four or five letters must start or end at a
//!    hyphen or dot there, one of three or fewer must be a whole hyphenated word);
//! 5. the registered label is compared with the protected labels within edit distance 1
//!    (4 to 8 letters) or 2 (9 or more) through a deletion index (`distance::Index`);
//! 6. keywords found anywhere in the name raise the score of a name flagged by the rules
//!    above, never flag one on their own.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use aho_corasick::AhoCorasick;
use serde::Serialize;

use crate::confusables;
use crate::distance;
use crate::domain;
use crate::generate::{self, Kind, Options};

/// A name to protect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protected {
    /// The name (`rivm.nl`).
    pub name: String,
    /// The registry id of its owner, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A rule by which a name was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// One of the permutations `generate` makes, of this kind.
    Permutation(Kind),
    /// Its skeleton is the protected name: IDN letters that look like the protected ones.
    Homograph,
    /// A label mixes scripts, or is written in letters of another script that look Latin.
    MixedScript,
    /// The protected label in front of another registered name (`rivm.nl.login.example`).
    AsSubdomain,
    /// The protected label inside a longer label (`rivm-info-corona.example`).
    Embedded,
    /// The registered label within a small edit distance of the protected label.
    EditDistance,
    /// One of the crisis keywords appears in the name.
    Keyword,
}

impl Rule {
    /// The rule's name as printed: a permutation's kind (`replacement`), else `homograph`,
    /// `mixed-script`, `as-subdomain`, `embedded`, `edit-distance`, `keyword`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Permutation(k) => k.name(),
            Rule::Homograph => "homograph",
            Rule::MixedScript => "mixed-script",
            Rule::AsSubdomain => "as-subdomain",
            Rule::Embedded => "embedded",
            Rule::EditDistance => "edit-distance",
            Rule::Keyword => "keyword",
        }
    }

    /// How strongly the rule alone says a name imitates (0–100).
    fn weight(self) -> u32 {
        match self {
            Rule::Homograph => 95,
            Rule::Permutation(Kind::Homoglyph) => 90,
            Rule::AsSubdomain => 85,
            Rule::Permutation(Kind::Dictionary) => 80,
            Rule::Permutation(Kind::TldSwap | Kind::Bitsquatting | Kind::Various) => 65,
            Rule::Permutation(_) => 75,
            Rule::Embedded => 70,
            Rule::EditDistance => 55,
            Rule::MixedScript | Rule::Keyword => 0,
        }
    }
}

/// A flagged name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// The name as read, normalised, in ASCII (punycode) form.
    pub domain: String,
    /// Its Unicode form, when it has IDN labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicode: Option<String>,
    /// The protected name it imitates.
    pub protected: String,
    /// The protected name's owner, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Every rule that matched, in order.
    #[serde(serialize_with = "rule_names")]
    pub kinds: Vec<Rule>,
    /// The keywords found in it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// How likely an imitation (0–100): the strongest rule's weight, 5 more for each other
    /// rule (at most 95), 10 more for each keyword (at most 100).
    pub score: u32,
}

fn rule_names<S: serde::Serializer>(rules: &[Rule], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(rules.iter().map(|r| r.name()))
}

/// What a scanner knows besides the protected names.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Crisis keywords (`corona`, `vaccin`): they raise the score of a flagged name.
    pub keywords: Vec<String>,
    /// Names never flagged, with their subdomains: the owners' registered domains.
    pub allowed: Vec<String>,
    /// What permutations to precompute (dictionary words, TLDs); `unicode` is ignored:
    /// IDN look-alikes are found by their skeleton.
    pub permutations: Options,
}

/// A protected name the scanner refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a domain name that could be registered: {why}")]
pub struct BadName {
    /// The name.
    pub name: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Where a protected name's permutation points.
#[derive(Debug, Clone, Copy)]
struct Hit {
    protected: u32,
    kinds: u32,
}

struct Entry {
    name: String,
    owner: Option<String>,
    /// Byte range of the registered label in `name`.
    label: (usize, usize),
    suffix_start: usize,
}

impl Entry {
    fn label(&self) -> &str {
        &self.name[self.label.0..self.label.1]
    }
    fn suffix(&self) -> &str {
        &self.name[self.suffix_start..]
    }
}

/// Flags names that imitate protected ones; see the module documentation for the rules.
pub struct Scanner {
    entries: Vec<Entry>,
    hasher: foldhash::fast::FixedState,
    /// Hashes of the protected names → their index.
    names: HashMap<u64, u32, foldhash::fast::RandomState>,
    /// Hashes of the names never flagged.
    allowed: HashSet<u64, foldhash::fast::RandomState>,
    /// Hashes of permutations → the protected name and kinds; a second protected name with
    /// the same permutation goes to `more`.
    perms: HashMap<u64, Hit, foldhash::fast::RandomState>,
    more: HashMap<u64, Vec<Hit>, foldhash::fast::RandomState>,
    /// Protected labels; pattern i is `labels[i]`, shared by `label_owners[i]`.
    labels: AhoCorasick,
    label_owners: Vec<Vec<u32>>,
    /// The deletion index over the same labels (same ids as the patterns).
    near: distance::Index,
    keywords: Option<AhoCorasick>,
    keyword_list: Vec<String>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("protected", &self.entries.len())
            .field("permutations", &(self.perms.len() + self.more.len()))
            .finish_non_exhaustive()
    }
}

impl Scanner {
    /// Builds a scanner for `protected` names.
    ///
    /// ```
    /// use baken_lookalike::{Config, Protected, Rule, Scanner};
    /// let scanner = Scanner::new(
    ///     &[Protected { name: "rivm.nl".into(), owner: Some("rivm".into()) }],
    ///     &Config { keywords: vec!["corona".into()], ..Config::default() },
    /// ).unwrap();
    /// let flag = scanner.scan("rivm-corona-info.example").unwrap();
    /// assert_eq!(flag.protected, "rivm.nl");
    /// assert!(flag.kinds.contains(&Rule::Embedded));
    /// assert!(scanner.scan("www.rivm.nl").is_none());
    /// ```
    pub fn new(protected: &[Protected], config: &Config) -> Result<Scanner, BadName> {
        let hasher = foldhash::fast::FixedState::with_seed(0x0062_616b_656e);
        let mut s = Scanner {
            entries: Vec::new(),
            hasher,
            names: HashMap::default(),
            allowed: HashSet::default(),
            perms: HashMap::default(),
            more: HashMap::default(),
            labels: AhoCorasick::new(Vec::<&str>::new()).expect("an empty automaton builds"),
            label_owners: Vec::new(),
            near: distance::Index::default(),
            keywords: None,
            keyword_list: Vec::new(),
        };
        let mut label_ids: HashMap<String, u32> = HashMap::new();
        let mut label_list: Vec<String> = Vec::new();
        let options = Options {
            unicode: false,
            ..config.permutations.clone()
        };
        for p in protected {
            let name = checked(&p.name)?;
            let parts = domain::split(&name);
            if parts.suffix.is_empty() {
                return Err(BadName {
                    name: p.name.clone(),
                    why: "it has no suffix",
                });
            }
            let start = parts.label_start();
            let entry = Entry {
                label: (start, start + parts.label.len()),
                suffix_start: name.len() - parts.suffix.len(),
                name,
                owner: p.owner.clone(),
            };
            let id = s.entries.len() as u32;
            let h = s.hash(&entry.name);
            s.allowed.insert(h);
            s.names.insert(h, id);
            let label = entry.label().to_string();
            let lid = *label_ids.entry(label.clone()).or_insert_with(|| {
                label_list.push(label.clone());
                s.label_owners.push(Vec::new());
                s.near.add(label.as_bytes())
            });
            s.label_owners[lid as usize].push(id);
            generate::each(&entry.name, &options, |kind, perm| {
                let h = s.hasher.hash_one(perm);
                s.add_perm(h, id, kind);
            });
            s.entries.push(entry);
        }
        for a in &config.allowed {
            if let Some(n) =
                domain::normalise(a).and_then(|n| domain::to_ascii(&n).map(|a| a.into_owned()))
            {
                s.allowed.insert(s.hash(&n));
            }
        }
        s.labels = AhoCorasick::new(&label_list).expect("labels of host names build an automaton");
        let keywords: Vec<String> = config
            .keywords
            .iter()
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        if !keywords.is_empty() {
            s.keywords = Some(AhoCorasick::new(&keywords).expect("keywords build an automaton"));
        }
        s.keyword_list = keywords;
        Ok(s)
    }

    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    fn add_perm(&mut self, h: u64, protected: u32, kind: Kind) {
        if self.allowed.contains(&h) {
            return;
        }
        match self.perms.get_mut(&h) {
            None => {
                self.perms.insert(
                    h,
                    Hit {
                        protected,
                        kinds: kind.bit(),
                    },
                );
            }
            Some(hit) if hit.protected == protected => hit.kinds |= kind.bit(),
            Some(_) => {
                let more = self.more.entry(h).or_default();
                match more.iter_mut().find(|m| m.protected == protected) {
                    Some(m) => m.kinds |= kind.bit(),
                    None => more.push(Hit {
                        protected,
                        kinds: kind.bit(),
                    }),
                }
            }
        }
    }

    /// The number of protected names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no protected names.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `name` (normalised ASCII) or a parent of it is never flagged.
    fn is_allowed(&self, name: &str) -> bool {
        suffixes(name).any(|s| self.allowed.contains(&self.hash(s)))
    }

    /// The permutations `name` or a parent of it is.
    fn permutations(&self, name: &str, found: &mut Found) {
        for s in suffixes(name) {
            let h = self.hash(s);
            if let Some(hit) = self.perms.get(&h) {
                found.kinds(hit.protected, hit.kinds);
                if let Some(more) = self.more.get(&h) {
                    for hit in more {
                        found.kinds(hit.protected, hit.kinds);
                    }
                }
            }
        }
    }

    /// Protected labels inside `name`.
    fn embedded(&self, name: &str, found: &mut Found) {
        let parts = domain::split(name);
        let label_start = parts.label_start();
        let bytes = name.as_bytes();
        for m in self.labels.find_overlapping_iter(name) {
            let (start, end) = (m.start(), m.end());
            let len = end - start;
            let at = |i: usize| bytes.get(i).copied();
            let dot_left = start == 0 || at(start - 1) == Some(b'.');
            let dot_right = end == bytes.len() || at(end) == Some(b'.');
            let word_left = dot_left || at(start - 1) == Some(b'-');
            let word_right = dot_right || at(end) == Some(b'-');
            let owners = &self.label_owners[m.pattern().as_usize()];
            if dot_left && dot_right {
                if start == label_start {
                    for &p in owners {
                        if self.entries[p as usize].suffix() != parts.suffix {
                            found.rule(p, Rule::Permutation(Kind::TldSwap));
                        }
                    }
                } else if start < label_start {
                    owners
                        .iter()
                        .for_each(|&p| found.rule(p, Rule::AsSubdomain));
                }
                continue;
            }
            let ok = match len {
                0..=3 => word_left && word_right,
                4..=5 => word_left || word_right,
                _ => true,
            };
            if ok && end <= name.len() - parts.suffix.len() {
                owners.iter().for_each(|&p| found.rule(p, Rule::Embedded));
            }
        }
    }

    /// Protected labels within a small edit distance of `name`'s registered label.
    fn near(&self, name: &str, found: &mut Found, buf: &mut Vec<u8>) {
        let label = domain::split(name).label;
        self.near.near(label.as_bytes(), buf, &mut |lid, _| {
            for &p in &self.label_owners[lid as usize] {
                found.rule(p, Rule::EditDistance);
            }
        });
    }

    /// Whether `name` imitates a protected name: the best match, or `None`.
    pub fn scan(&self, raw: &str) -> Option<Flag> {
        let name = domain::normalise(raw)?;
        let ascii = domain::to_ascii(&name)?;
        if self.is_allowed(&ascii) {
            return None;
        }
        let mut found = Found::default();
        let mut buf = Vec::new();
        self.permutations(&ascii, &mut found);
        let unicode = domain::to_unicode(&ascii);
        // an IDN name is compared by its skeleton: what its letters look like
        let compare = match &unicode {
            Some(u) => std::borrow::Cow::Owned(confusables::skeleton(u)),
            None => std::borrow::Cow::Borrowed(&*ascii),
        };
        let through_idn = unicode.as_deref().is_some_and(|u| *compare != *u);
        if through_idn {
            for s in suffixes(&compare) {
                if let Some(&p) = self.names.get(&self.hash(s)) {
                    found.rule(p, Rule::Homograph);
                }
            }
            self.permutations(&compare, &mut found);
        }
        self.embedded(&compare, &mut found);
        self.near(&compare, &mut found, &mut buf);
        let mixed = unicode
            .as_deref()
            .is_some_and(|u| u.split('.').any(confusables::mixed_script));
        for h in &mut found.hits {
            if through_idn && !h.rules.contains(&Rule::Homograph) {
                // a look-alike made with IDN letters is a homoglyph, whatever else it is
                h.rules.insert(Rule::Permutation(Kind::Homoglyph));
            }
            if mixed {
                h.rules.insert(Rule::MixedScript);
            }
        }
        if found.hits.is_empty() {
            return None;
        }
        let keywords: Vec<String> = match &self.keywords {
            Some(ac) => {
                let text = unicode.as_deref().unwrap_or(&ascii);
                let mut k: Vec<String> = ac
                    .find_overlapping_iter(text)
                    .map(|m| self.keyword_list[m.pattern().as_usize()].clone())
                    .collect();
                k.sort();
                k.dedup();
                k
            }
            None => Vec::new(),
        };
        let best = found
            .hits
            .into_iter()
            .map(|h| {
                let mut rules: Vec<Rule> = h.rules.into_iter().collect();
                if !keywords.is_empty() {
                    rules.push(Rule::Keyword);
                }
                rules.sort();
                rules.dedup();
                (score(&rules, keywords.len()), h.protected, rules)
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))?;
        let entry = &self.entries[best.1 as usize];
        Some(Flag {
            domain: ascii.into_owned(),
            unicode,
            protected: entry.name.clone(),
            owner: entry.owner.clone(),
            kinds: best.2,
            keywords,
            score: best.0,
        })
    }
}

/// The score of a set of rules and a number of keywords.
fn score(rules: &[Rule], keywords: usize) -> u32 {
    let strongest = rules.iter().map(|r| r.weight()).max().unwrap_or(0);
    let others = rules
        .iter()
        .filter(|r| r.weight() > 0)
        .count()
        .saturating_sub(1) as u32;
    let base = (strongest + 5 * others).min(95).max(strongest);
    (base + 10 * keywords as u32).min(100)
}

/// A name and each parent with at least two labels (`a.b.c.nl`, `b.c.nl`, `c.nl`).
fn suffixes(name: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(name);
    std::iter::from_fn(move || {
        let s = rest?;
        let dot = s.find('.')?;
        rest = Some(&s[dot + 1..]);
        Some(s)
    })
}

/// A protected name normalised to ASCII and checked.
fn checked(raw: &str) -> Result<String, BadName> {
    let bad = |why| BadName {
        name: raw.to_string(),
        why,
    };
    let name = domain::normalise(raw).ok_or_else(|| bad("it is empty"))?;
    let ascii = domain::to_ascii(&name).ok_or_else(|| bad("IDNA refuses it"))?;
    if !domain::is_host_name(&ascii) {
        return Err(bad(
            "a host name has labels of letters, digits and inner hyphens, and a suffix",
        ));
    }
    Ok(ascii.into_owned())
}

#[derive(Default)]
struct Found {
    hits: Vec<Candidate>,
}

struct Candidate {
    protected: u32,
    rules: std::collections::BTreeSet<Rule>,
}

impl Found {
    fn entry(&mut self, protected: u32) -> &mut Candidate {
        let i = match self.hits.iter().position(|h| h.protected == protected) {
            Some(i) => i,
            None => {
                self.hits.push(Candidate {
                    protected,
                    rules: Default::default(),
                });
                self.hits.len() - 1
            }
        };
        &mut self.hits[i]
    }

    fn rule(&mut self, protected: u32, rule: Rule) {
        self.entry(protected).rules.insert(rule);
    }

    fn kinds(&mut self, protected: u32, bits: u32) {
        let c = self.entry(protected);
        for k in Kind::ALL {
            if bits & k.bit() != 0 {
                c.rules.insert(Rule::Permutation(k));
            }
        }
    }
}

#[cfg(test)]
mod tests;
