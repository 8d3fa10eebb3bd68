//! The store contract: what every engine must do, as checks run against any engine, part by
//! part.
//!
//! Each part of the store (one trait per concern, see [`Store`]) has its checks here, in the
//! module of the same name. A check takes a fresh, empty store and panics with what went
//! wrong. An engine built part by part runs the checks of the parts it has; once it has
//! them all, [`check_all`] runs every check. The SQLite store runs them on disk and in
//! memory in `tests/contract.rs`.
//!
//! ```
//! use baken_store::{SqliteStore, contract};
//! // one part, on an engine that has only that part so far
//! for (name, check) in contract::REGISTRY {
//!     let mut store = SqliteStore::in_memory().unwrap();
//!     check(&mut store);
//!     # let _ = name;
//! }
//! // every part
//! contract::check_all(|_name| SqliteStore::in_memory().unwrap(), |_name, _store| {});
//! ```

pub mod advisories;
pub mod audit;
pub mod findings;
pub mod incident_reports;
pub mod inventory;
pub mod messages;
pub mod registry;
pub mod sync_state;
pub mod timeline;
pub mod tokens;
pub mod webhooks;

use crate::Store;

/// The checks of [`RegistryStore`](crate::RegistryStore).
pub const REGISTRY: &[(&str, registry::Check)] = registry::CHECKS;
/// The checks of [`FindingStore`](crate::FindingStore), which needs an
/// [`AuditStore`](crate::AuditStore): a finding's change of state is audited in the same
/// transaction.
pub const FINDINGS: &[(&str, findings::Check)] = findings::CHECKS;
/// The checks of [`MessageStore`](crate::MessageStore).
pub const MESSAGES: &[(&str, messages::Check)] = messages::CHECKS;
/// The checks of [`AdvisoryStore`](crate::AdvisoryStore).
pub const ADVISORIES: &[(&str, advisories::Check)] = advisories::CHECKS;
/// The checks of [`InventoryStore`](crate::InventoryStore).
pub const INVENTORY: &[(&str, inventory::Check)] = inventory::CHECKS;
/// The checks of [`AuditStore`](crate::AuditStore).
pub const AUDIT: &[(&str, audit::Check)] = audit::CHECKS;
/// The checks of [`TimelineStore`](crate::TimelineStore).
pub const TIMELINE: &[(&str, timeline::Check)] = timeline::CHECKS;
/// The checks of [`SyncStateStore`](crate::SyncStateStore).
pub const SYNC_STATE: &[(&str, sync_state::Check)] = sync_state::CHECKS;
/// The checks of [`TokenStore`](crate::TokenStore).
pub const TOKENS: &[(&str, tokens::Check)] = tokens::CHECKS;
/// The checks of [`IncidentReportStore`](crate::IncidentReportStore).
pub const INCIDENT_REPORTS: &[(&str, incident_reports::Check)] = incident_reports::CHECKS;
/// The checks of [`WebhookStore`](crate::WebhookStore).
pub const WEBHOOKS: &[(&str, webhooks::Check)] = webhooks::CHECKS;

/// How many checks there are over all parts: what [`check_all`] runs.
pub fn count() -> usize {
    REGISTRY.len()
        + FINDINGS.len()
        + MESSAGES.len()
        + ADVISORIES.len()
        + INVENTORY.len()
        + AUDIT.len()
        + TIMELINE.len()
        + SYNC_STATE.len()
        + TOKENS.len()
        + WEBHOOKS.len()
        + INCIDENT_REPORTS.len()
}

/// Runs every check of every part, each on a fresh store made by `fresh` (given the check's
/// name, `part/check`), then hands the store to `after` (for an engine's own checks, such as
/// an integrity check). Returns how many checks ran.
pub fn check_all<S: Store>(
    mut fresh: impl FnMut(&str) -> S,
    mut after: impl FnMut(&str, &mut S),
) -> usize {
    let mut ran = 0;
    let mut each = |name: String, check: &dyn Fn(&mut S)| {
        let mut store = fresh(&name);
        check(&mut store);
        after(&name, &mut store);
        ran += 1;
    };
    for (name, check) in REGISTRY {
        each(format!("registry/{name}"), &|s| check(s));
    }
    for (name, check) in FINDINGS {
        each(format!("findings/{name}"), &|s| check(s));
    }
    for (name, check) in MESSAGES {
        each(format!("messages/{name}"), &|s| check(s));
    }
    for (name, check) in ADVISORIES {
        each(format!("advisories/{name}"), &|s| check(s));
    }
    for (name, check) in INVENTORY {
        each(format!("inventory/{name}"), &|s| check(s));
    }
    for (name, check) in AUDIT {
        each(format!("audit/{name}"), &|s| check(s));
    }
    for (name, check) in TIMELINE {
        each(format!("timeline/{name}"), &|s| check(s));
    }
    for (name, check) in SYNC_STATE {
        each(format!("sync_state/{name}"), &|s| check(s));
    }
    for (name, check) in TOKENS {
        each(format!("tokens/{name}"), &|s| check(s));
    }
    for (name, check) in WEBHOOKS {
        each(format!("webhooks/{name}"), &|s| check(s));
    }
    for (name, check) in INCIDENT_REPORTS {
        each(format!("incident_reports/{name}"), &|s| check(s));
    }
    ran
}
