//! The checks of [`TimelineStore`]: an incident's steps and the shared ones, in order.

use crate::{TimelineStep, TimelineStore};

/// One check of [`TimelineStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn TimelineStore);

/// The checks of [`TimelineStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[(
    "a_timeline_holds_its_incidents_steps_and_the_shared_ones_in_order",
    a_timeline_holds_its_incidents_steps_and_the_shared_ones_in_order,
)];

fn step(incident: &str, step: &str, at: &str) -> TimelineStep {
    TimelineStep {
        incident: incident.into(),
        step: step.into(),
        at: at.into(),
        detail: format!("{step} of {incident}"),
    }
}

fn a_timeline_holds_its_incidents_steps_and_the_shared_ones_in_order(
    store: &mut dyn TimelineStore,
) {
    assert!(store.timeline("cve-2019-19781").unwrap().is_empty());
    let received = step("*", "feed-received", "2026-03-24T07:00:00.000000Z");
    let stored = step("cve-2019-19781", "ingested", "2026-03-24T07:00:05.000000Z");
    let other = step("open-http", "ingested", "2026-03-24T07:00:05.000000Z");
    let written = step(
        "cve-2019-19781",
        "digest-written",
        "2026-03-24T07:10:00.000000Z",
    );
    // a step of the same time as another: in the order added
    let sent = step(
        "cve-2019-19781",
        "digest-sent",
        "2026-03-24T07:10:00.000000Z",
    );
    // added out of order: read back by time
    for s in [&written, &sent, &received, &other, &stored] {
        store.add_step(s).unwrap();
    }
    assert_eq!(
        store.timeline("cve-2019-19781").unwrap(),
        [received.clone(), stored, written, sent]
    );
    assert_eq!(store.timeline("open-http").unwrap(), [received, other]);
    assert_eq!(
        store.timeline("CVE-2019-19781").unwrap().len(),
        1,
        "incidents are told apart exactly: only the shared step"
    );
}
