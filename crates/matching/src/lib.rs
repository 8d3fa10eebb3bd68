//! baken's matching: which organisations run what an advisory says is affected.
//!
//! * [`version`] — versions compared by each ecosystem's rules (semver, Debian, RPM,
//!   generic), `vers:` ranges, OSV and CVE 5 ranges; every answer three-valued
//!   ([`version::Verdict`]): affected, not affected, or unknown with the reason.
//! * [`cpe`] — CPE 2.3 formatted strings and CPE 2.2 URIs, name matching per NISTIR 7696.
//! * [`purl`] — package URLs, normalised per type and matched with the type's version scheme.
//! * [`inventory`] — what organisations declare they run: CSV, CycloneDX 1.5/1.6 and
//!   SPDX 2.3 JSON readers into [`inventory::InventoryEntry`].
//! * [`matcher`] — the index of advisory products, matched against inventory entries and
//!   scan observations into [`matcher::Match`]es with their evidence.
//!
//! **This crate does no IO** beyond reading the inventory files it is handed, and has no
//! database and no network.
//!
//! ```
//! use baken_advisory::{Advisory, Format, Product, VersionSpec, Vulnerability};
//! use baken_matching::inventory::InventoryEntry;
//! use baken_matching::matcher::{Evidence, MatchStatus, Matcher};
//!
//! let advisory = Advisory {
//!     format: Format::Cve5, id: "CVE-2019-19781".into(), title: None, publisher: None,
//!     tlp: None, cves: vec!["CVE-2019-19781".into()], aliases: vec![],
//!     initial_release: None, current_release: None, revision: None,
//!     revision_history: vec![], references: vec![],
//!     vulnerabilities: vec![Vulnerability {
//!         cve: Some("CVE-2019-19781".into()),
//!         affected: vec![Product {
//!             name: "Citrix ADC 13.0".into(),
//!             cpes: vec!["cpe:2.3:a:citrix:application_delivery_controller:13.0:*:*:*:*:*:*:*".into()],
//!             versions: vec![VersionSpec::Range { scheme: Some("custom".into()),
//!                 introduced: Some("13.0".into()), fixed: Some("13.0.47.24".into()),
//!                 last_affected: None }],
//!             ..Product::default()
//!         }],
//!         ..Vulnerability::default()
//!     }],
//! };
//! let entry = InventoryEntry {
//!     org: "waterschap-1".into(), host: Some("198.18.0.10".into()),
//!     cpe: Some("cpe:2.3:a:citrix:application_delivery_controller:13.0:*:*:*:*:*:*:*".into()),
//!     purl: None, name: None, version: Some("13.0-47.22".into()), source: "inventory.csv:2".into(),
//! };
//! let advisories = [advisory];
//! let matches = Matcher::new(&advisories).match_all(&[entry], &[]);
//! assert_eq!(matches.len(), 1);
//! assert_eq!(matches[0].status, MatchStatus::Affected);
//! assert_eq!(matches[0].evidence, Evidence::InventoryDeclared);
//! ```

pub mod cpe;
pub mod inventory;
pub mod matcher;
pub mod purl;
pub mod version;

pub use inventory::InventoryEntry;
pub use matcher::{Evidence, Match, MatchStatus, Matcher, ScanObservation};
pub use version::{Scheme, Verdict};
