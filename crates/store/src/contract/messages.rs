//! The checks of [`MessageStore`]: messages recorded once, their states, the findings they
//! carry, disclosures and tickets.

use crate::{MessageFinding, MessageKind, MessageRecord, MessageState, MessageStore, now};

/// One check of [`MessageStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn MessageStore);

/// The checks of [`MessageStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "states_and_kinds_are_read_back_as_written",
        states_and_kinds_are_read_back_as_written,
    ),
    (
        "a_recorded_message_is_not_replaced",
        a_recorded_message_is_not_replaced,
    ),
    (
        "messages_name_their_findings_and_tickets_stay",
        messages_name_their_findings_and_tickets_stay,
    ),
];

fn a_recorded_message_is_not_replaced(store: &mut dyn MessageStore) {
    let m = MessageRecord {
        key: "k1".into(),
        ticket: None,
        round: 1,
        kind: MessageKind::First,
        incident: "i".into(),
        recipient: "soc@a.example".into(),
        party: "org-1".into(),
        path: "organisation".into(),
        findings: 3,
        state: MessageState::Pending,
        detail: None,
        created_at: now(),
        sent_at: None,
    };
    store.record_message(&m, &[]).unwrap();
    store
        .set_message_state("k1", MessageState::Sent, "outbox/k1.eml")
        .unwrap();
    let again = store.record_message(&m, &[]).unwrap();
    assert_eq!(again.state, MessageState::Sent);
    assert!(again.sent_at.is_some());
    assert_eq!(store.messages(Some("i")).unwrap().len(), 1);
    assert!(store.messages(Some("other")).unwrap().is_empty());
}

fn messages_name_their_findings_and_tickets_stay(store: &mut dyn MessageStore) {
    let t = store.ticket("open.port", "org-1").unwrap();
    assert_eq!(store.ticket("open.port", "org-1").unwrap(), t);
    let other = store.ticket("open-port", "org-1").unwrap();
    assert_ne!(t, other, "incidents are told apart exactly");
    let m = |key: &str, round: u32, incident: &str| MessageRecord {
        key: key.into(),
        ticket: Some(t),
        round,
        kind: if round == 1 {
            MessageKind::First
        } else {
            MessageKind::FollowUp
        },
        incident: incident.into(),
        recipient: "soc@a.example".into(),
        party: "org-1".into(),
        path: "direct".into(),
        findings: 2,
        state: MessageState::Pending,
        detail: None,
        created_at: now(),
        sent_at: None,
    };
    let carried = |ids: &[i64]| -> Vec<MessageFinding> {
        ids.iter()
            .map(|&finding| MessageFinding {
                finding,
                form: "full".into(),
            })
            .collect()
    };
    store
        .record_message(&m("a", 1, "open.port"), &carried(&[1, 2]))
        .unwrap();
    // recorded again (a rerun after a crash): the findings stay those of the first record
    store
        .record_message(&m("a", 1, "open.port"), &carried(&[3]))
        .unwrap();
    store
        .record_message(&m("b", 2, "open.port"), &carried(&[3]))
        .unwrap();
    store
        .set_message_state("a", MessageState::Sent, "outbox")
        .unwrap();
    assert_eq!(store.message_findings("a").unwrap(), carried(&[1, 2]));
    let d = store.disclosures("open.port").unwrap();
    let seen: Vec<_> = d
        .iter()
        .map(|d| (d.message.as_str(), d.finding, d.state))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a", 1, MessageState::Sent),
            ("a", 2, MessageState::Sent),
            ("b", 3, MessageState::Pending)
        ]
    );
    assert!(store.disclosures("open-port").unwrap().is_empty());
    let of_ticket = store.ticket_messages(t).unwrap();
    assert_eq!(
        of_ticket
            .iter()
            .map(|m| (m.round, m.kind))
            .collect::<Vec<_>>(),
        vec![(1, MessageKind::First), (2, MessageKind::FollowUp)]
    );
}

fn message(key: &str, kind: MessageKind, created_at: &str) -> MessageRecord {
    MessageRecord {
        key: key.into(),
        ticket: None,
        round: 1,
        kind,
        incident: "i".into(),
        recipient: "soc@a.example".into(),
        party: "org-1".into(),
        path: "organisation".into(),
        findings: 1,
        state: MessageState::Pending,
        detail: None,
        created_at: created_at.into(),
        sent_at: None,
    }
}

/// A state read back as another (a `sent` message read as `pending`) would send it again.
fn states_and_kinds_are_read_back_as_written(store: &mut dyn MessageStore) {
    let kinds = [
        MessageKind::First,
        MessageKind::FollowUp,
        MessageKind::Reminder,
        MessageKind::Escalation,
        MessageKind::Compromise,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let m = message(
            &format!("k{i}"),
            kind,
            &format!("2026-03-24T06:00:0{i}.000000Z"),
        );
        let stored = store.record_message(&m, &[]).unwrap();
        assert_eq!(stored, m, "recorded as given");
    }
    let states = [
        MessageState::Pending,
        MessageState::Sending,
        MessageState::Sent,
        MessageState::Failed,
    ];
    for (i, state) in states.into_iter().enumerate() {
        let key = format!("k{i}");
        store
            .set_message_state(&key, state, &format!("detail {i}"))
            .unwrap();
        let m = store.message(&key).unwrap().unwrap();
        assert_eq!(m.state, state);
        assert_eq!(m.detail, Some(format!("detail {i}")));
        assert_eq!(
            m.sent_at.is_some(),
            state == MessageState::Sent,
            "{state:?}"
        );
    }
    // k0 pending, k1 sending, k2 sent, k3 failed, k4 pending as recorded
    assert_eq!(
        store.message_states().unwrap(),
        [
            (MessageState::Pending, 2),
            (MessageState::Sending, 1),
            (MessageState::Sent, 1),
            (MessageState::Failed, 1),
        ]
    );
    let all = store.messages(None).unwrap();
    let read: Vec<_> = all.iter().map(|m| (m.key.as_str(), m.kind)).collect();
    let written: Vec<_> = ["k0", "k1", "k2", "k3", "k4"]
        .into_iter()
        .zip(kinds)
        .collect();
    assert_eq!(read, written, "oldest first");
    assert_eq!(store.message("nobody").unwrap(), None);
}
