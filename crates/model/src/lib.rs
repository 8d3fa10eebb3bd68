//! baken's shared vocabulary: the types every stage of the chain passes on.
//!
//! * [`Event`] — one normalised observation, keyed by IntelMQ's field names
//!   (`source.ip`, `classification.type`, `extra.*`, …), serialised as a flat JSON object
//!   exactly as IntelMQ writes it.
//! * [`Organisation`] — an entry of the registry: sector, vital or not, Wbni duties,
//!   supervisor, representing CERT, networks, ASNs, domains and contacts.
//! * [`Party`] — who a finding is about or a message goes to: a registry entry or a stand-in.
//! * [`Attribution`] — who owns an event's address and by which rule that was decided.
//! * [`Tlp`] — a Traffic Light Protocol 2.0 label.
//! * [`Language`] — a language messages are written in (English, Dutch).
//!
//! This crate does no IO and knows nothing of databases, files or the network.
//!
//! ```
//! use baken_model::Event;
//! let mut event = Event::new();
//! event.insert("source.ip", "198.18.0.1");
//! event.insert("source.port", 443);
//! assert_eq!(event.source_ip(), Some("198.18.0.1".parse().unwrap()));
//! assert_eq!(event.to_json_line(), r#"{"source.ip":"198.18.0.1","source.port":443}"#);
//! ```

mod event;
mod language;
mod net;
mod org;
mod party;
mod tlp;

pub use event::Event;
pub use language::{Language, ParseLanguageError};
pub use net::{DottedQuad, network_text, parse_ip, push_network_text};
pub use org::{
    AbuseContact, AbuseRecord, AbuseScope, Attribution, Contact, ContactRole, ContactSource, OrgId,
    OrgKind, Organisation, Owner, ReportFormat, RoutedPrefix, Rule, WbniDuties,
};
pub use party::Party;
pub use tlp::{ParseTlpError, Tlp};
