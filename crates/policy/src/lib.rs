//! Who may receive what: baken's sharing policy as a pure function.
//!
//! Every piece of information baken shares is an [`Item`] with a TLP 2.0 label and a
//! provenance. [`decide`] says what of it may go to a [`Recipient`] — the [`Form`], the
//! policy rule, the legal basis and one line of explanation, which is what `baken why`
//! prints. [`route`] applies it along the paths a finding can take: the owner, its CERT,
//! the DTC, its hosting provider, its supervisor; and says why when nobody may be told.
//! [`aggregate`] counts findings per sector under keyed pseudonyms with small counts
//! suppressed.
//!
//! This crate does no IO: callers read policy files and hand over their text, and reach
//! the registry through the [`RegistryView`] trait.
//!
//! ```
//! use baken_model::{Organisation, Tlp};
//! use baken_policy::{Form, Item, MemoryRegistry, Policy, Provenance, Reach, route};
//!
//! let orgs: Vec<Organisation> = vec![
//!     toml::from_str("id = 'shop'\nname = 'Bakery B.V.'").unwrap(),
//!     toml::from_str("id = 'dtc'\nname = 'Digital Trust Center'\nkind = 'dtc'").unwrap(),
//! ];
//! let registry = MemoryRegistry::new(orgs);
//! let shop = &registry.organisations()[0];
//! let finding = Item::finding(
//!     shop,
//!     Tlp::Amber,
//!     Provenance { source: "shadowserver scan_http".into(), supplied_by: None },
//!     ["198.18.0.7".parse().unwrap()],
//! );
//!
//! // 2020: nobody may tell the bakery; the DTC sees it only in an aggregate.
//! let r2020 = route(&Policy::builtin("nl-2020")?, &finding, &registry);
//! assert!(matches!(r2020.reach, Reach::Unreachable(_)));
//! assert_eq!(r2020.steps[1].decision.form, Form::Aggregate);
//!
//! // With the DTC designated as OKTT it receives the finding and can pass it on.
//! let oktt = route(&Policy::builtin("nl-dtc-oktt")?, &finding, &registry);
//! assert_eq!(oktt.steps[1].decision.form, Form::Full);
//! println!("{}", oktt.steps[1].decision.explanation);
//! # Ok::<(), baken_policy::PolicyError>(())
//! ```
//!
//! # The policy file
//!
//! A policy is TOML. Its top level:
//!
//! | key | meaning |
//! |---|---|
//! | `name` | short name, e.g. `nl-2020` |
//! | `description` | the situation it describes |
//! | `retention_days` | days raw findings are kept; `baken prune` deletes older ones (≥ 1) |
//! | `min_count` | the small-count threshold k of aggregates (≥ 1; see below) |
//! | `[oktt]` | OKTT designations: `ids` (registry ids) and `kinds` (`dtc`, `cert`, …) |
//! | `[[rule]]` | the rules, any number |
//! | `[lifecycle]` | reports to verify a fix, deadlines, escalation ([`Lifecycle`]) |
//! | `[red]` | `recipients` named for every TLP:RED item |
//! | `[messages]` | `language`: `en` (default) or `nl`, for contacts whose registry entry names none ([`Messages`]) |
//!
//! Each `[[rule]]` has a unique `name`, a `class`, a `tlp` and a `role` — each a name, a
//! list of names, or `"*"` for all — and the `form` that may go out for every combination,
//! with the legal `basis` to quote:
//!
//! * `class` — [`InfoClass`]: `own-asset-finding` (the recipient's own systems),
//!   `third-party-finding-vital` and `third-party-finding-non-vital` (a finding about a vital
//!   or non-vital organisation, told to somebody else: its CERT, an OKTT, the DTC, its
//!   hoster, its supervisor), `advisory`, `sector-aggregate`.
//! * `tlp` — `CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`.
//! * `role` — [`Role`]: `vital`, `non-vital`, `cert`, `oktt`, `dtc`, `supervisor`, `hoster`,
//!   `peer-csirt`. An organisation's roles follow from its kind and `vital` flag and the
//!   `[oktt]` list ([`roles`]); with several roles, the widest form any of them allows wins.
//! * `form` — [`Form`]: `full`, `own-assets` (only the recipient's own addresses: its
//!   systems, or addresses in networks it holds as hoster), `aggregate` (only as counts in a
//!   pseudonymised sector aggregate), `nothing`. Advisories go out `full` or `nothing`,
//!   sector aggregates only as `aggregate` or `nothing`.
//!
//! **Every case is decided exactly once.** The 200 cases (5 classes × 5 TLP labels ×
//! 8 roles) must each be covered by a rule, and rules covering the same case must give the
//! same form (the first one's name and basis are then quoted). A policy that leaves a case
//! undecided, contradicts itself, names an unknown class, TLP, role, form or kind, repeats a
//! rule name or gives a class a form it cannot take is rejected with every problem listed,
//! naming the rules and their lines ([`PolicyError::Invalid`]).
//!
//! **TLP 2.0 is enforced on top of the policy, which can only narrow it.** Whatever the
//! rules say, [`decide`] gives nothing of a TLP:RED item to anybody its source did not name,
//! nothing of a TLP:AMBER+STRICT item to anybody but the organisation it is about (and never
//! another organisation's address with it), and an own-assets form never carries another
//! organisation's address. TLP:CLEAR, GREEN and AMBER limit what the recipient may do with
//! it (FIRST's definitions, [`baken_model::Tlp::sharing_rule`]); the label goes out with the
//! item. A CERT or supervisor hears about findings in its own constituency only, a hoster
//! about addresses in its own networks only.
//!
//! **Small counts are suppressed (k-anonymity style).** In aggregates a count below
//! `min_count` k — organisations or findings, per sector or per organisation — is shown as
//! `<k` (both shipped policies use k = 5), and a sector with fewer than k affected
//! organisations lists no per-organisation rows. Organisations appear only under keyed
//! pseudonyms (HMAC-SHA-256 with a secret the caller supplies; [`Pseudonymiser`]).
//!
//! # The shipped policies
//!
//! [`Policy::builtin`] gives either. They differ in four places: under `nl-dtc-oktt` the DTC
//! is an OKTT and receives findings about organisations no CERT reaches (under `nl-2020`
//! an aggregate), the CERT of a non-vital sector receives IP-level findings about its
//! constituency (under `nl-2020` an aggregate), a hosting provider receives the findings in
//! its own networks (under `nl-2020` nothing), and the DTC receives TLP:AMBER advisories.
//!
//! ## `nl-2020`
//!
//! ```toml
#![doc = include_str!("../policies/nl-2020.toml")]
//! ```
//!
//! ## `nl-dtc-oktt`
//!
//! ```toml
#![doc = include_str!("../policies/nl-dtc-oktt.toml")]
//! ```

mod aggregate;
mod decide;
mod policy;
mod route;
mod vocab;

pub use aggregate::{
    Count, MIN_SECRET_LEN, NO_SECTOR, Pseudonymiser, SectorAggregate, ShortSecret, aggregate,
};
pub use decide::{
    Asset, Decision, Invariant, Item, ItemKind, Provenance, Recipient, Subject, decide, disclose,
};
pub use policy::{
    Case, Designations, Lifecycle, Messages, Policy, PolicyError, PolicySpec, Problem, RuleSpec,
};
pub use route::{MemoryRegistry, Path, Reach, RegistryView, Route, RouteStep, route};
pub use vocab::{Form, InfoClass, Role, roles};
