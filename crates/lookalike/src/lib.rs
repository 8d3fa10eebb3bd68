//! baken's lookalike domains: the names that imitate the ones people trust.
//!
//! * [`generate()`] lists the permutations of a name the way dnstwist makes them — addition,
//!   bitsquatting, homoglyphs (ASCII and IDN), hyphenation, insertion, omission, plural,
//!   repetition, keyboard replacement, subdomain, transposition, vowel swap, dictionary
//!   words, TLD swap and dnstwist's "various" — each in ASCII (punycode) form with its
//!   [`Kind`].
//! * [`Scanner`] flags names that imitate protected ones: a permutation, the protected
//!   label inside a longer name or in front of another, an IDN homograph (compared by the
//!   skeleton of [`confusables`]), or a small edit distance; crisis keywords raise the
//!   score. It is built for a certificate-transparency stream: hash lookups of precomputed
//!   permutations, one Aho–Corasick pass, and a deletion index for edit distance.
//! * [`input::read_names`] reads names from plain lists, certstream JSON lines and zone
//!   files or their differences; [`protect`] reads and writes the protected list.
//!
//! **This crate does no IO** beyond reading what it is handed, has no database and no
//! network: it never resolves a name.
//!
//! ```
//! use baken_lookalike::{Config, Protected, Rule, Scanner, generate};
//!
//! let protected = [Protected { name: "rivm.nl".into(), owner: Some("rivm".into()) }];
//! let config = Config {
//!     keywords: vec!["corona".into()],
//!     allowed: vec!["rivm.example".into()], // the owner's other registered domain
//!     ..Config::default()
//! };
//! let scanner = Scanner::new(&protected, &config).unwrap();
//!
//! // every permutation is flagged
//! for p in generate("rivm.nl") {
//!     assert!(scanner.scan(&p.domain).is_some(), "{}", p.domain);
//! }
//! // a Cyrillic і in place of the Latin i
//! let flag = scanner.scan("rіvm.nl").unwrap();
//! assert!(flag.kinds.contains(&Rule::Homograph) && flag.kinds.contains(&Rule::MixedScript));
//! // the protected name's label in front of another name, with a keyword
//! let flag = scanner.scan("rivm.nl.corona-login.example").unwrap();
//! assert_eq!(flag.kinds, [Rule::AsSubdomain, Rule::Keyword]);
//! // never the protected names or the owner's domains, nor their subdomains
//! assert!(scanner.scan("www.rivm.nl").is_none());
//! assert!(scanner.scan("login.rivm.example").is_none());
//! ```

#![deny(missing_docs)]

pub mod confusables;
pub mod distance;
pub mod domain;
pub mod generate;
pub mod input;
pub mod protect;
pub mod scan;

pub use generate::{Kind, Options, Permutation, generate, generate_with};
pub use scan::{BadName, Config, Flag, Protected, Rule, Scanner};
