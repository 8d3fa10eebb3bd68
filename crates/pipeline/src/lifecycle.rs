//! Deadlines: findings still seen after the policy's deadline become `overdue`, and overdue
//! ones still seen well past it `escalated`, before a notify round decides what to send.
//!
//! The deadline runs from when a finding's owner side was told (its latest change to
//! `notified`): `deadline_hours_vital` for a vital provider, `deadline_hours` for any other
//! owner (the policy's `[lifecycle]`). A finding is overdue when a report saw it after the
//! deadline (its `last_seen`, the scan's time, is later), not merely when the deadline has
//! passed: a host nobody has scanned since is not known to be still vulnerable. It is
//! escalated when a report saw it `escalate_after_hours` after the deadline. Each change is
//! a [`Transition`] with cause `deadline`, so it is recorded and audited like any other.

use std::collections::BTreeMap;

use baken_attribute::Attributor;
use baken_model::Owner;
use baken_policy::Lifecycle;
use baken_store::{Cause, FindingQuery, FindingState, Store, Transition, keys};
use serde::Serialize;

use crate::PipelineError;

/// What a review changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Review {
    /// Findings that became overdue.
    pub overdue: Vec<i64>,
    /// Findings that became escalated.
    pub escalated: Vec<i64>,
}

/// The deadline of a finding told at `told` (Unix seconds) whose owner is `vital`.
pub fn deadline(lifecycle: &Lifecycle, told: i64, vital: bool) -> i64 {
    let hours = if vital {
        lifecycle.deadline_hours_vital
    } else {
        lifecycle.deadline_hours
    };
    told + i64::from(hours) * 3600
}

/// Moves `incident`'s findings past their deadline to `overdue` and, past the escalation
/// time, to `escalated` (see the module docs).
pub fn review(
    store: &mut dyn Store,
    attributor: &Attributor,
    lifecycle: &Lifecycle,
    incident: &str,
) -> Result<Review, PipelineError> {
    let findings = store.finding_records(&FindingQuery {
        incident: Some(incident.to_string()),
        ..FindingQuery::default()
    })?;
    let mut told: BTreeMap<i64, i64> = BTreeMap::new();
    for t in store.incident_transitions(incident)? {
        if t.to == FindingState::Notified
            && t.from != t.to
            && let Some(at) = keys::parse_time(&t.at)
        {
            told.insert(t.finding, at);
        }
    }
    let mut changes = Vec::new();
    let mut review = Review::default();
    for f in &findings {
        let Some(&told_at) = told.get(&f.id) else {
            continue;
        };
        let vital = match &f.attribution.owner {
            Owner::Organisation { id } => attributor.is_vital(id),
            _ => false,
        };
        let due = deadline(lifecycle, told_at, vital);
        let escalate_at = due + i64::from(lifecycle.escalate_after_hours) * 3600;
        let hours_after = |t: i64| (f.last_seen - t) / 3600;
        let whose = if vital {
            format!(
                "{} hours for a vital provider",
                lifecycle.deadline_hours_vital
            )
        } else {
            format!("{} hours", lifecycle.deadline_hours)
        };
        let mut push = |to: FindingState, note: String| {
            changes.push(Transition {
                finding: f.id,
                to: Some(to),
                cause: Cause::Deadline,
                reference: Some(format!("deadline {}", keys::format_time(due))),
                by: None,
                note: Some(note),
            });
        };
        let overdue_now = f.state.may_become(FindingState::Overdue).is_ok() && f.last_seen > due;
        if overdue_now {
            push(
                FindingState::Overdue,
                format!(
                    "still seen at {}, {} hours after it was told (deadline {whose})",
                    keys::format_time(f.last_seen),
                    hours_after(told_at)
                ),
            );
            review.overdue.push(f.id);
        }
        let overdue = overdue_now || f.state == FindingState::Overdue;
        if overdue && f.last_seen > escalate_at {
            push(
                FindingState::Escalated,
                format!(
                    "still seen at {}, {} hours past the deadline",
                    keys::format_time(f.last_seen),
                    hours_after(due)
                ),
            );
            review.escalated.push(f.id);
        }
    }
    store.transition(&changes)?;
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vital_providers_have_the_shorter_deadline() {
        let l = Lifecycle::default();
        assert_eq!(deadline(&l, 0, true), 72 * 3600);
        assert_eq!(deadline(&l, 0, false), 14 * 24 * 3600);
    }
}
