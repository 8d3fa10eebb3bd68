//! The checks of [`WebhookStore`]: webhooks added and removed, each event queued once per
//! webhook, due when its retry time comes, gone from the queue only when delivered.

use crate::WebhookStore;

/// One check of [`WebhookStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn WebhookStore);

/// The checks of [`WebhookStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "webhooks_are_listed_until_removed",
        webhooks_are_listed_until_removed,
    ),
    (
        "an_event_is_queued_once_and_leaves_only_when_delivered",
        an_event_is_queued_once_and_leaves_only_when_delivered,
    ),
];

fn webhooks_are_listed_until_removed(store: &mut dyn WebhookStore) {
    let a = store
        .add_webhook("org-a", "https://a.example/hook", "whsec_a")
        .unwrap();
    let b = store
        .add_webhook("org-b", "https://b.example/hook", "whsec_b")
        .unwrap();
    let all = store.webhooks().unwrap();
    assert_eq!(all.iter().map(|w| w.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(all[0].party, "org-a");
    assert_eq!(all[0].url, "https://a.example/hook");
    assert_eq!(all[0].secret, "whsec_a");
    assert!(store.remove_webhook(a).unwrap());
    assert!(!store.remove_webhook(a).unwrap(), "removed already");
    assert_eq!(
        store
            .webhooks()
            .unwrap()
            .iter()
            .map(|w| w.id)
            .collect::<Vec<_>>(),
        [b]
    );
}

fn an_event_is_queued_once_and_leaves_only_when_delivered(store: &mut dyn WebhookStore) {
    let a = store
        .add_webhook("org-a", "https://a.example/h", "s")
        .unwrap();
    let b = store
        .add_webhook("org-b", "https://b.example/h", "s")
        .unwrap();
    assert!(store.enqueue_webhook_event(a, "e1", "{\"n\":1}").unwrap());
    assert!(
        !store.enqueue_webhook_event(a, "e1", "{\"n\":2}").unwrap(),
        "queued once"
    );
    assert!(
        store.enqueue_webhook_event(b, "e1", "{\"n\":1}").unwrap(),
        "per webhook"
    );
    assert!(store.enqueue_webhook_event(a, "e2", "{}").unwrap());
    let due = store.due_webhook_events(100, 10).unwrap();
    let ids: Vec<(i64, &str)> = due
        .iter()
        .map(|d| (d.webhook, d.event_id.as_str()))
        .collect();
    assert_eq!(ids, [(a, "e1"), (b, "e1"), (a, "e2")]);
    assert_eq!(due[0].payload, "{\"n\":1}", "the first payload stays");
    assert_eq!(
        store.due_webhook_events(100, 1).unwrap().len(),
        1,
        "limited"
    );

    // failed: due again at its retry time, not before
    store
        .webhook_attempted(due[0].id, Err(("503", 200)))
        .unwrap();
    let early: Vec<i64> = store
        .due_webhook_events(150, 10)
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert!(!early.contains(&due[0].id));
    let later = store.due_webhook_events(200, 10).unwrap();
    let retried = later
        .iter()
        .find(|d| d.id == due[0].id)
        .expect("due at its retry time");
    assert_eq!(retried.attempts, 1);
    // delivered: gone
    store.webhook_attempted(due[0].id, Ok(())).unwrap();
    assert!(
        !store
            .due_webhook_events(1000, 10)
            .unwrap()
            .iter()
            .any(|d| d.id == due[0].id)
    );
    // a removed webhook's events are not due
    store.remove_webhook(b).unwrap();
    let left: Vec<&str> = store
        .due_webhook_events(1000, 10)
        .unwrap()
        .iter()
        .map(|d| if d.webhook == a { "a" } else { "b" })
        .collect();
    assert_eq!(left, ["a"]);
}
