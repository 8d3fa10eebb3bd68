//! Who owns an address: an event's IP address, AS number and host name to the organisation
//! that must be told, or to the abuse contact of whoever holds the network.
//!
//! * [`registry`] reads the registry of organisations (TOML, JSON, JSON lines, CSV).
//! * [`routing`] reads prefix-to-AS tables (CAIDA pfx2as, iptoasn, `prefix<TAB>asn`).
//! * [`rpsl`] reads RIPE database dumps and resolves abuse mailboxes.
//! * [`Attributor`] is the lookup index that applies the rules below.
//! * [`snapshot`] is its binary form: [`Attributor::snapshot`] writes a built index,
//!   [`Attributor::from_snapshot`] loads it in milliseconds instead of building it again.
//!
//! Parsing is the only IO: the loaders read the files they are handed; the [`Attributor`]
//! does none.
//!
//! ```
//! use baken_attribute::Attributor;
//! use baken_model::{OrgId, Organisation, Owner, RoutedPrefix, Rule};
//!
//! let org: Organisation = toml::from_str(r#"
//!     id = "org-17"
//!     name = "Example Zorg BV"
//!     networks = ["198.18.4.0/24"]
//!     asns = [64496]
//!     domains = ["zorg.example"]
//! "#).unwrap();
//! let routed = vec![RoutedPrefix { net: "198.19.0.0/16".parse().unwrap(), asn: 64496 }];
//! let attributor = Attributor::new(vec![org], routed, vec![]).unwrap();
//!
//! let a = attributor.attribute(Some("198.18.4.7".parse().unwrap()), None, None);
//! assert_eq!(a.rule, Rule::Prefix);
//! assert_eq!(a.reason, "198.18.4.7 is in 198.18.4.0/24, registered to org-17 (Example Zorg BV)");
//!
//! let a = attributor.attribute(Some("198.19.0.1".parse().unwrap()), None, None);
//! assert_eq!(a.rule, Rule::Asn);
//!
//! let a = attributor.attribute(None, None, Some("www.zorg.example"));
//! assert_eq!(a.owner, Owner::Organisation { id: OrgId("org-17".into()) });
//! assert_eq!(a.reason, "www.zorg.example is under zorg.example, registered to org-17 (Example Zorg BV)");
//! ```
//!
//! # The rules, in order
//!
//! 1. **prefix** — the longest registered network containing the IP address (IPv4 and IPv6).
//!    Overlapping networks are fine: the most specific wins. Two organisations registering
//!    the exact same network is a registry error ([`AttributorError`]).
//! 2. **asn** — the event's AS number if an organisation registered it, else the AS the
//!    routing table gives for the address, if registered.
//! 3. **domain** — the longest registered domain that is a suffix of the host name at a label
//!    boundary: `a.example` matches `a.example` and `www.a.example`, not `xa.example`.
//! 4. **registry-abuse** — the abuse mailbox of the longest RPSL inetnum/inet6num containing
//!    the address, else of the aut-num of the event's AS, else of the routed AS.
//! 5. **none** — [`baken_model::Attribution::unknown`], with a reason listing what was tried.
//!
//! The reason is one line naming what matched and the organisation, e.g.
//! `198.18.4.7 is in 198.18.4.0/24, registered to org-17 (Example Zorg BV)`.
//!
//! Lookups are a bucket read and a short binary search over precomputed disjoint ranges;
//! see `benches/lookup.rs` for the figure on a 1 M-prefix table.
//!
//! # Registry file formats
//!
//! The format follows from the file extension. Every format carries the fields of
//! [`baken_model::Organisation`]; only `id` and `name` are required.
//!
//! | field | meaning |
//! |---|---|
//! | `id` | stable identifier, unique in the registry |
//! | `name` | display name, not empty |
//! | `kind` | `organisation` (default), `cert`, `hoster`, `supervisor`, `dtc`, `national-csirt` |
//! | `sector` | free text, e.g. `health` |
//! | `vital` | vital provider (default false) |
//! | `wbni` | `report` and `care` duties (default false) |
//! | `supervisor` | the sector supervisor's name or id |
//! | `cert` | the id of the CERT that represents it |
//! | `networks` | IPv4/IPv6 networks in CIDR notation |
//! | `asns` | AS numbers |
//! | `domains` | domain names; each covers every name under it |
//! | `contacts` | `{email, role, language, pgp_key, report_format}` with role `security` (default), `abuse` or `general`, and the language messages to it are written in: `en` or `nl` (default: the sharing policy's `[messages] language`); `pgp_key`: the contact's OpenPGP public key — the armored key itself, or the path of a file holding it relative to the registry file — that messages to it are encrypted to (checked at import: a key that is expired, revoked or has no encryption subkey is refused, naming the field `contacts[N].pgp_key`; the store keeps the armored key); `report_format`: `csv` (default) or `xarf`, the form of the findings it prefers (TOML and JSON only) |
//!
//! **TOML** (`.toml`): one `[[organisation]]` table per organisation.
//!
//! ```toml
//! [[organisation]]
//! id = "org-17"
//! name = "Example Zorg BV"
//! kind = "organisation"
//! sector = "health"
//! vital = true
//! wbni = { report = true, care = true }
//! cert = "z-cert"
//! networks = ["198.18.4.0/24", "2001:db8:17::/48"]
//! asns = [64496]
//! domains = ["zorg.example"]
//! contacts = [
//!   { email = "soc@zorg.example", role = "security", language = "nl" },
//!   { email = "abuse@zorg.example", role = "abuse" },
//! ]
//! ```
//!
//! **JSON** (`.json`): an array of organisation objects with the same fields, or an object
//! `{"organisations": [...]}`. **JSON lines** (`.jsonl`, `.ndjson`): one organisation object
//! per line; blank lines are skipped.
//!
//! **CSV** (`.csv`): a header row naming the columns, then one row per organisation. The
//! columns are `id,name,kind,sector,vital,wbni_report,wbni_care,supervisor,cert,networks,asns,domains,contacts,language`;
//! any order, only `id` and `name` required, unknown columns rejected. Cells are trimmed and
//! rows starting with `#` are comments. Multi-valued cells (`networks`, `asns`, `domains`,
//! `contacts`) separate values by spaces, `;` or `,` (quote the cell when using `,`). AS
//! numbers are written `64496` or `AS64496`; contacts `role:email`, or a bare e-mail
//! address for a security contact; `language` (`en`, `nl`, or empty for the policy's
//! default) is the language of every contact of the row; yes/no cells accept `true/false`, `yes/no`, `1/0` and
//! empty (false); empty text cells mean "none".
//!
//! ```csv
//! id,name,kind,sector,vital,wbni_report,wbni_care,supervisor,cert,networks,asns,domains,contacts
//! org-17,Example Zorg BV,organisation,health,yes,yes,yes,igj,z-cert,198.18.4.0/24 2001:db8:17::/48,AS64496,zorg.example,security:soc@zorg.example abuse:abuse@zorg.example
//! ```
//!
//! Checks, in every format: ids are unique and names not empty; networks are written
//! without host bits — `198.18.4.7/24` is rejected, because it is ambiguous (the /24 or the
//! single address?), with a message proposing `198.18.4.0/24` or `198.18.4.7/32`; e-mail
//! addresses need one `@` with text on both sides; domains are lower-cased and a trailing dot
//! is removed, `*.` wildcards are rejected (a domain already covers every name under it); no
//! text (id, name, sector, supervisor, cert, domains, contact addresses) holds a control
//! character — CR, LF, tab, NUL, DEL, NEL or any other of Unicode's category Cc — or a line or
//! paragraph separator (U+2028, U+2029), which would break the mail headers of every message
//! for the organisation; a contact's language is `en` or `nl` (an empty or other value is
//! rejected, naming the field `language`).
//! Errors name the file, the line (CSV, JSON lines, TOML; JSON syntax errors), the
//! organisation and the field. [`registry::load_registry`] lists every invalid entry;
//! [`registry::RegistryReader`] streams CSV and JSON lines for very large registries.
//!
//! # Routing table formats
//!
//! [`routing::load_routing`] recognises the format from the first data line. Lines starting
//! with `#` or `;` are comments; fields are separated by tabs (or, failing that, spaces).
//! Compressed files must be decompressed first.
//!
//! * **CAIDA pfx2as**: `198.18.0.0<TAB>16<TAB>64496`. A multi-origin AS field `64496_64497`
//!   or an AS set `64496,64497` counts as its first AS.
//! * **iptoasn**: `198.18.0.0<TAB>198.18.2.255<TAB>64496<TAB>NL<TAB>EXAMPLE-AS`. A range is
//!   split into the CIDRs that cover it exactly (here `198.18.0.0/23` and `198.18.2.0/24`);
//!   AS 0 marks unrouted space and is skipped.
//! * **plain**: `198.18.0.0/24<TAB>4200000001` (also pyasn's IPASN text format).
//!
//! A bad line is reported with its line number and the rest of the file is read.
//!
//! # RPSL dumps
//!
//! [`rpsl::load_rpsl`] reads RIPE database split dumps (`ripe.db.inetnum`,
//! `ripe.db.inet6num`, `ripe.db.aut-num`, `ripe.db.role`, `ripe.db.organisation`), in any
//! order. Objects are separated by blank lines; attributes are `key: value`, continued on
//! lines starting with a space, tab or `+`; `#` and `%` lines are comments. An inetnum,
//! inet6num or aut-num's own `abuse-c:`, else its `org:`'s `abuse-c:`, names a role whose
//! `abuse-mailbox:` becomes the contact; inetnum ranges become the CIDRs covering them
//! exactly. The contact's `via` names the object
//! (`inetnum 198.18.0.0 - 198.18.255.255 (netname EXAMPLE-NET)`), its `holder` the netname
//! or as-name, else the organisation's org-name.

mod attributor;
mod domains;
mod lpm;
mod orgs;
pub mod registry;
pub mod routing;
pub mod rpsl;
pub mod securitytxt;
pub mod snapshot;

pub use attributor::{
    Attributor, AttributorBuilder, AttributorError, Candidate, Conflict, Lookup, Query, QueryError,
    Stats,
};
pub use snapshot::SnapshotError;
