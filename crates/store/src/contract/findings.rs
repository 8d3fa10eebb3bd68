//! The checks of [`FindingStore`]: runs and batches, findings and observations, kept rows,
//! the lifecycle and its audit entries, absences, exploitation dates and pruning.

use std::sync::Arc;

use baken_model::{AbuseContact, Event, OrgId, Owner, Rule, Tlp};

use crate::{
    Batch, Cause, ChunkKind, FindingQuery, FindingState, FindingStore, KeptChunk, Label, Observed,
    QuarantinedRow, RunSource, Transition, TransitionOutcome,
};

/// One check of [`FindingStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn FindingStore);

/// The checks of [`FindingStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "runs_keep_their_source_and_label",
        runs_keep_their_source_and_label,
    ),
    (
        "rows_become_findings_and_observations",
        rows_become_findings_and_observations,
    ),
    (
        "a_row_seen_again_is_a_duplicate",
        a_row_seen_again_is_a_duplicate,
    ),
    (
        "a_part_offered_again_is_stored_once_and_counted_as_before",
        a_part_offered_again_is_stored_once_and_counted_as_before,
    ),
    (
        "a_row_of_two_incidents_is_counted_once",
        a_row_of_two_incidents_is_counted_once,
    ),
    (
        "an_older_row_moves_first_seen_only",
        an_older_row_moves_first_seen_only,
    ),
    (
        "kept_rows_come_back_as_they_went_in",
        kept_rows_come_back_as_they_went_in,
    ),
    (
        "quarantined_rows_are_kept_once",
        quarantined_rows_are_kept_once,
    ),
    (
        "findings_are_selected_by_every_condition",
        findings_are_selected_by_every_condition,
    ),
    ("linking_copies_findings_once", linking_copies_findings_once),
    (
        "transitions_follow_the_lifecycle_and_are_audited",
        transitions_follow_the_lifecycle_and_are_audited,
    ),
    (
        "a_later_report_without_a_finding_verifies_it_fixed",
        a_later_report_without_a_finding_verifies_it_fixed,
    ),
    (
        "fixes_need_as_many_reports_in_a_row_as_asked",
        fixes_need_as_many_reports_in_a_row_as_asked,
    ),
    (
        "the_earliest_exploitation_date_is_kept",
        the_earliest_exploitation_date_is_kept,
    ),
    (
        "prune_removes_old_rows_and_orphaned_findings",
        prune_removes_old_rows_and_orphaned_findings,
    ),
];

fn event(ip: &str, port: u16, time: &str) -> Event {
    let mut e = Event::new();
    e.insert("source.ip", ip);
    e.insert("source.port", port);
    e.insert("protocol.transport", "tcp");
    e.insert("time.source", time);
    e
}

fn org(id: &str) -> Owner {
    Owner::Organisation {
        id: OrgId(id.into()),
    }
}

fn observed(e: &Event, row: u32, owner: &Owner, incidents: &[&str]) -> Observed {
    let attribution = baken_model::Attribution {
        owner: owner.clone(),
        rule: Rule::Prefix,
        reason: String::new(),
    };
    let incidents: Arc<[String]> = incidents.iter().map(|s| s.to_string()).collect();
    Observed::of(e, row, &attribution, incidents)
}

/// A batch of `events` kept as events, each owned by `owner`, in `incidents`.
fn batch(events: &[Event], owner: &Owner, incidents: &[&str]) -> Batch {
    let observed = events
        .iter()
        .enumerate()
        .map(|(i, e)| observed(e, i as u32, owner, incidents))
        .collect();
    let list: Vec<&Event> = events.iter().collect();
    Batch {
        chunks: vec![KeptChunk::events(1, &list, observed).unwrap()],
        quarantined: Vec::new(),
        part: None,
    }
}

fn run(store: &mut dyn FindingStore) -> i64 {
    store
        .begin_run("f.csv", &RunSource::default(), &Label::default())
        .unwrap()
}

fn all(store: &dyn FindingStore) -> Vec<crate::FindingRecord> {
    store.finding_records(&FindingQuery::default()).unwrap()
}

const T0: &str = "2026-03-23T06:00:00+00:00";

const T1: &str = "2026-03-24T06:00:00+00:00";

const T2: &str = "2026-03-25T06:00:00+00:00";

fn quarantined(line: u64) -> QuarantinedRow {
    QuarantinedRow {
        file: "f.csv".into(),
        line,
        field: Some("ip".into()),
        reason: "not an IP address".into(),
        raw: "x,y".into(),
    }
}

fn shadowserver_run(store: &mut dyn FindingStore, report: &str) -> i64 {
    let source = RunSource {
        feed: "shadowserver".into(),
        report: Some(report.into()),
        ..RunSource::default()
    };
    store
        .begin_run("day.csv", &source, &Label::default())
        .unwrap()
}

fn change(finding: i64, to: Option<FindingState>, cause: Cause) -> Transition {
    Transition {
        finding,
        to,
        cause,
        reference: Some("ref".into()),
        by: Some("analyst@ncsc.example".into()),
        note: None,
    }
}

fn runs_keep_their_source_and_label(store: &mut dyn FindingStore) {
    let source = RunSource {
        feed: "shadowserver".into(),
        report: Some("scan_http_vulnerable".into()),
        header: "timestamp,ip\n".into(),
        header_lines: 1,
        observation_time: Some("2026-03-24T07:00:00+00:00".into()),
        raw: false,
    };
    let label = Label {
        tlp: Tlp::Green,
        supplied_by: Some("CERT-EU".into()),
    };
    let id = store.begin_run("day.csv", &source, &label).unwrap();
    let run = store.run(id).unwrap();
    assert_eq!(run.source, source);
    assert_eq!(run.label, label);
    assert_eq!(run.file, "day.csv");
    assert_eq!(
        run.provenance(),
        "shadowserver day.csv (supplied by CERT-EU)"
    );
}

fn rows_become_findings_and_observations(store: &mut dyn FindingStore) {
    let r = run(store);
    let a = event("198.18.0.1", 443, T1);
    let b = event("198.18.0.2", 443, T1);
    let c = store
        .store_batch(r, &batch(&[a, b], &org("org-1"), &["cve-2019-19781"]))
        .unwrap();
    assert_eq!((c.stored, c.duplicate, c.new_findings), (2, 0, 2));
    // the next day: the same hosts again, one more
    let r2 = run(store);
    let a2 = event("198.18.0.1", 443, T2);
    let d = event("198.18.0.3", 443, T2);
    let c = store
        .store_batch(r2, &batch(&[a2, d], &org("org-1"), &["cve-2019-19781"]))
        .unwrap();
    assert_eq!((c.stored, c.duplicate, c.new_findings), (2, 0, 1));
    let f = all(store);
    assert_eq!(f.len(), 3);
    let first = f.iter().find(|f| f.addr == "198.18.0.1").unwrap();
    assert_eq!(first.times_seen, 2);
    assert_eq!(first.port, 443);
    assert_eq!(first.transport, "tcp");
    assert_eq!(first.state, FindingState::Open);
    assert_eq!(first.first_seen, crate::keys::parse_time(T1).unwrap());
    assert_eq!(first.last_seen, crate::keys::parse_time(T2).unwrap());
    assert_eq!(first.run, r2, "the latest row is of the second run");
    assert_eq!(first.attribution.owner, org("org-1"));
    let obs = store.observations(first.id).unwrap();
    assert_eq!(obs.len(), 2);
    assert!(obs[0].seen_at < obs[1].seen_at, "oldest first");
    let t = store.totals().unwrap();
    assert_eq!((t.findings, t.observations, t.quarantined), (3, 4, 0));
    assert_eq!(
        store.incidents().unwrap(),
        vec![("cve-2019-19781".to_string(), 3)]
    );
}

fn a_row_seen_again_is_a_duplicate(store: &mut dyn FindingStore) {
    let r = run(store);
    let rows = [event("198.18.0.1", 443, T1), event("198.18.0.2", 80, T1)];
    let b = batch(&rows, &org("org-1"), &["open-http"]);
    store.store_batch(r, &b).unwrap();
    let again = store.store_batch(r, &b).unwrap();
    assert_eq!(
        (again.stored, again.duplicate, again.new_findings),
        (0, 2, 0)
    );
    let f = all(store);
    assert!(f.iter().all(|f| f.times_seen == 1), "{f:?}");
    assert_eq!(store.totals().unwrap().observations, 2);
}

fn a_part_offered_again_is_stored_once_and_counted_as_before(store: &mut dyn FindingStore) {
    let r = run(store);
    let rows = [event("198.18.0.1", 443, T1), event("198.18.0.2", 80, T1)];
    let mut b = batch(&rows, &org("org-1"), &["open-http"]);
    b.quarantined.push(QuarantinedRow {
        file: "f.csv".into(),
        line: 3,
        field: Some("source.ip".into()),
        reason: "not an address".into(),
        raw: "x".into(),
    });
    b.part = Some(7);
    let first = store.store_batch(r, &b).unwrap();
    assert_eq!(
        (
            first.stored,
            first.duplicate,
            first.quarantined,
            first.new_findings
        ),
        (2, 0, 1, 2)
    );
    let chunks_before = store.totals().unwrap();
    // delivered again (a worker died after its commit): the counts of the first time, and
    // nothing stored twice
    let again = store.store_batch(r, &b).unwrap();
    assert_eq!(again, first);
    assert_eq!(store.totals().unwrap(), chunks_before);
    // the same rows as another part are rows seen again: duplicates
    b.part = Some(8);
    let other = store.store_batch(r, &b).unwrap();
    assert_eq!(
        (other.stored, other.duplicate, other.new_findings),
        (0, 2, 0)
    );
    // and in another run, the same part number is a part of its own
    let r2 = run(store);
    b.part = Some(7);
    let in_r2 = store.store_batch(r2, &b).unwrap();
    assert_eq!((in_r2.stored, in_r2.duplicate), (0, 2));
}

fn a_row_of_two_incidents_is_counted_once(store: &mut dyn FindingStore) {
    let r = run(store);
    let c = store
        .store_batch(
            r,
            &batch(
                &[event("198.18.0.1", 443, T1)],
                &org("org-1"),
                &["cve-2023-46805", "cve-2024-21887"],
            ),
        )
        .unwrap();
    assert_eq!((c.stored, c.new_findings), (1, 2));
    assert_eq!(store.incidents().unwrap().len(), 2);
}

fn an_older_row_moves_first_seen_only(store: &mut dyn FindingStore) {
    let r = run(store);
    store
        .store_batch(
            r,
            &batch(&[event("198.18.0.1", 443, T1)], &org("org-1"), &["i"]),
        )
        .unwrap();
    let latest = all(store)[0].last_row;
    // yesterday's file, ingested late, attributed to someone else then
    store
        .store_batch(
            r,
            &batch(&[event("198.18.0.1", 443, T0)], &org("org-2"), &["i"]),
        )
        .unwrap();
    let f = &all(store)[0];
    assert_eq!(f.times_seen, 2);
    assert_eq!(f.first_seen, crate::keys::parse_time(T0).unwrap());
    assert_eq!(f.last_seen, crate::keys::parse_time(T1).unwrap());
    assert_eq!(f.last_row, latest, "the latest row stays the latest");
    assert_eq!(f.attribution.owner, org("org-1"), "the latest owner stays");
}

fn kept_rows_come_back_as_they_went_in(store: &mut dyn FindingStore) {
    let r = run(store);
    let text = b"2026-03-24 06:00:00,198.18.0.1,443\n2026-03-24 06:00:01,198.18.0.2,443\n";
    let e = event("198.18.0.2", 443, T1);
    let chunk =
        KeptChunk::text(7, 1, 1, text, vec![observed(&e, 0, &org("org-1"), &["i"])]).unwrap();
    assert!(chunk.data.len() < text.len() + 64, "compressed");
    store
        .store_batch(
            r,
            &Batch {
                chunks: vec![chunk],
                quarantined: Vec::new(),
                part: None,
            },
        )
        .unwrap();
    let f = &all(store)[0];
    let c = store.chunk(f.last_row.chunk).unwrap();
    assert_eq!(c.kind, ChunkKind::Text);
    assert_eq!((c.first_line, c.skip, c.rows, c.run), (7, 1, 1, r));
    assert_eq!(c.data, text);
    assert_eq!(f.last_row.row, 0);

    let events = [event("198.18.0.9", 22, T1)];
    store
        .store_batch(r, &batch(&events, &Owner::Unknown, &["j"]))
        .unwrap();
    let f = store
        .finding_records(&FindingQuery {
            incident: Some("j".into()),
            ..FindingQuery::default()
        })
        .unwrap();
    let c = store.chunk(f[0].last_row.chunk).unwrap();
    assert_eq!(c.kind, ChunkKind::Events);
    let line = String::from_utf8(c.data).unwrap();
    let back: Event = serde_json::from_str(line.trim_end()).unwrap();
    assert_eq!(back, events[0]);
    assert_eq!(f[0].attribution.owner, Owner::Unknown);
}

fn quarantined_rows_are_kept_once(store: &mut dyn FindingStore) {
    let r = run(store);
    let b = Batch {
        chunks: Vec::new(),
        quarantined: vec![quarantined(4), quarantined(5)],
        part: None,
    };
    assert_eq!(store.store_batch(r, &b).unwrap().quarantined, 2);
    assert_eq!(store.store_batch(r, &b).unwrap().quarantined, 2);
    assert_eq!(
        store.totals().unwrap().quarantined,
        2,
        "the quarantine does not grow"
    );
    let (rows, total) = store.quarantined(1).unwrap();
    assert_eq!(total, 2);
    assert_eq!(rows.len(), 1, "no more than asked for");
    assert_eq!(rows[0].line, 5, "newest first");
    assert_eq!(
        (rows[0].run, rows[0].reason.as_str()),
        (r, quarantined(5).reason.as_str())
    );
    assert_eq!(store.quarantined(10).unwrap().0.len(), 2);
}

fn findings_are_selected_by_every_condition(store: &mut dyn FindingStore) {
    let r = run(store);
    let abuse = Owner::Abuse(AbuseContact {
        email: "abuse@hoster.example".into(),
        via: "RIPE".into(),
        holder: Some("hoster".into()),
        country: None,
    });
    store
        .store_batch(
            r,
            &batch(&[event("198.18.0.1", 443, T1)], &org("org-1"), &["a"]),
        )
        .unwrap();
    store
        .store_batch(
            r,
            &batch(&[event("198.18.0.2", 443, T2)], &org("org-2"), &["a"]),
        )
        .unwrap();
    store
        .store_batch(r, &batch(&[event("198.18.0.3", 443, T2)], &abuse, &["b"]))
        .unwrap();
    let q = |q: FindingQuery| -> Vec<String> {
        let mut v: Vec<String> = store
            .finding_records(&q)
            .unwrap()
            .into_iter()
            .map(|f| f.addr)
            .collect();
        v.sort();
        v
    };
    assert_eq!(q(FindingQuery::default()).len(), 3);
    assert_eq!(store.finding_states().unwrap(), [(FindingState::Open, 3)]);
    let by_incident = q(FindingQuery {
        incident: Some("a".into()),
        ..FindingQuery::default()
    });
    assert_eq!(by_incident, ["198.18.0.1", "198.18.0.2"]);
    let by_org = q(FindingQuery {
        org: Some("org-2".into()),
        ..FindingQuery::default()
    });
    assert_eq!(by_org, ["198.18.0.2"]);
    let since = q(FindingQuery {
        since: crate::keys::parse_time(T2),
        ..FindingQuery::default()
    });
    assert_eq!(since, ["198.18.0.2", "198.18.0.3"]);
    let open_a = q(FindingQuery {
        incident: Some("a".into()),
        state: Some(FindingState::Open),
        since: crate::keys::parse_time(T2),
        ..FindingQuery::default()
    });
    assert_eq!(open_a, ["198.18.0.2"]);
    let id = store.finding_records(&FindingQuery::default()).unwrap()[2].id;
    let one = store
        .finding_records(&FindingQuery {
            id: Some(id),
            ..FindingQuery::default()
        })
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].attribution.owner, abuse,
        "an abuse contact comes back whole"
    );
}

fn linking_copies_findings_once(store: &mut dyn FindingStore) {
    let r = run(store);
    store
        .store_batch(
            r,
            &batch(
                &[event("198.18.0.1", 443, T1), event("198.18.0.2", 443, T1)],
                &org("org-1"),
                &["cve-2019-19781"],
            ),
        )
        .unwrap();
    let ids: Vec<i64> = all(store).iter().map(|f| f.id).collect();
    store.link_incident("demo-2020-0001", &ids[..1]).unwrap();
    store.link_incident("demo-2020-0001", &ids[..1]).unwrap();
    let linked = store
        .finding_records(&FindingQuery {
            incident: Some("demo-2020-0001".into()),
            ..FindingQuery::default()
        })
        .unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].addr, "198.18.0.1");
    assert_eq!(linked[0].attribution.owner, org("org-1"));
    assert_eq!(store.observations(linked[0].id).unwrap().len(), 1);
}

fn transitions_follow_the_lifecycle_and_are_audited(store: &mut dyn FindingStore) {
    let r = run(store);
    store
        .store_batch(
            r,
            &batch(&[event("198.18.0.1", 443, T1)], &org("org-1"), &["i"]),
        )
        .unwrap();
    let id = all(store)[0].id;
    let audit_before = store.audit_log().unwrap().len();
    use FindingState::*;
    let outcomes = store
        .transition(&[
            change(id, Some(Acknowledged), Cause::Analyst),
            change(id, Some(Notified), Cause::Message),
            change(id, None, Cause::Analyst),
            change(id, Some(MitigationClaimed), Cause::Reply),
            change(id, Some(Acknowledged), Cause::Reply),
            change(id + 100, Some(Acknowledged), Cause::Analyst),
        ])
        .unwrap();
    assert_eq!(outcomes[0], TransitionOutcome::Applied { from: Open });
    assert!(
        matches!(&outcomes[1], TransitionOutcome::Refused { from: Acknowledged, why } if why.contains("does not become notified")),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(
        outcomes[2],
        TransitionOutcome::Applied { from: Acknowledged }
    );
    assert_eq!(
        outcomes[3],
        TransitionOutcome::Applied { from: Acknowledged }
    );
    assert!(
        matches!(outcomes[4], TransitionOutcome::Refused { .. }),
        "a late acknowledgement does not undo a claim"
    );
    assert_eq!(outcomes[5], TransitionOutcome::NoSuchFinding);
    assert_eq!(all(store)[0].state, MitigationClaimed);
    let history = store.transitions(id).unwrap();
    let steps: Vec<_> = history.iter().map(|t| (t.from, t.to, t.cause)).collect();
    assert_eq!(
        steps,
        vec![
            (Open, Acknowledged, Cause::Analyst),
            (Acknowledged, Acknowledged, Cause::Analyst),
            (Acknowledged, MitigationClaimed, Cause::Reply),
        ]
    );
    assert_eq!(history[0].by.as_deref(), Some("analyst@ncsc.example"));
    assert_eq!(store.incident_transitions("i").unwrap(), history);
    assert!(store.incident_transitions("other").unwrap().is_empty());
    let audit = store.audit_log().unwrap();
    let kinds: Vec<&str> = audit[audit_before..]
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, vec!["transition", "finding-note", "transition"]);
    assert!(audit.last().unwrap().subject.ends_with(&format!("/{id}")));
    // states filter findings
    let q = |state| FindingQuery {
        state: Some(state),
        ..FindingQuery::default()
    };
    assert_eq!(
        store.finding_records(&q(MitigationClaimed)).unwrap().len(),
        1
    );
    assert!(store.finding_records(&q(Open)).unwrap().is_empty());
}

fn a_later_report_without_a_finding_verifies_it_fixed(store: &mut dyn FindingStore) {
    let rows = |time: &str, ips: &[&str]| -> Vec<Event> {
        ips.iter().map(|ip| event(ip, 443, time)).collect()
    };
    let day = |store: &mut dyn FindingStore, report: &str, time: &str, ips: &[&str]| {
        let r = shadowserver_run(store, report);
        let c = store
            .store_batch(r, &batch(&rows(time, ips), &org("org-1"), &["i"]))
            .unwrap();
        (r, c)
    };
    let (_, _) = day(store, "scan_citrix", T0, &["198.18.0.1", "198.18.0.2"]);
    // another report type says nothing about these
    let (other, _) = day(store, "scan_http", T1, &["198.18.9.9"]);
    assert_eq!(store.count_absences(other, 1).unwrap().missing, 0);
    let (r1, _) = day(store, "scan_citrix", T1, &["198.18.0.1"]);
    let gone = store.count_absences(r1, 1).unwrap();
    let fixed_id = all(store)
        .iter()
        .find(|f| f.addr == "198.18.0.2")
        .unwrap()
        .id;
    assert_eq!(gone.missing, 1);
    assert_eq!(gone.verified_fixed, vec![fixed_id]);
    let state = |store: &dyn FindingStore, ip: &str| {
        all(store)
            .iter()
            .find(|f| f.addr == ip)
            .map(|f| f.state)
            .unwrap()
    };
    assert_eq!(state(store, "198.18.0.2"), FindingState::VerifiedFixed);
    assert_eq!(state(store, "198.18.0.1"), FindingState::Open);
    // the same report counted again, or stored again, changes nothing
    assert_eq!(store.count_absences(r1, 1).unwrap().missing, 0);
    let (again, c) = day(store, "scan_citrix", T1, &["198.18.0.1"]);
    assert_eq!(c.duplicate, 1);
    assert_eq!(store.count_absences(again, 1).unwrap().missing, 0);
    // an older report ingested late verifies nothing and reopens nothing
    let (old, c) = day(store, "scan_citrix", T0, &["198.18.0.2"]);
    assert_eq!((c.duplicate, c.reopened), (1, 0));
    assert_eq!(store.count_absences(old, 1).unwrap().missing, 0);
    // seen again later: reopened, with the report as its cause
    let (_, c) = day(store, "scan_citrix", T2, &["198.18.0.1", "198.18.0.2"]);
    assert_eq!(c.reopened, 1);
    assert_eq!(state(store, "198.18.0.2"), FindingState::Reopened);
    let history = store.transitions(fixed_id).unwrap();
    let steps: Vec<_> = history.iter().map(|t| (t.to, t.cause)).collect();
    assert_eq!(
        steps,
        vec![
            (FindingState::VerifiedFixed, Cause::Report),
            (FindingState::Reopened, Cause::Report)
        ]
    );
    assert_eq!(history[0].reference.as_deref(), Some(&*format!("run {r1}")));
}

fn fixes_need_as_many_reports_in_a_row_as_asked(store: &mut dyn FindingStore) {
    let day = |store: &mut dyn FindingStore, time: &str, ips: &[&str]| {
        let r = shadowserver_run(store, "scan_citrix");
        let events: Vec<Event> = ips.iter().map(|ip| event(ip, 443, time)).collect();
        store
            .store_batch(r, &batch(&events, &org("org-1"), &["i"]))
            .unwrap();
        store.count_absences(r, 2).unwrap()
    };
    day(store, T0, &["198.18.0.1", "198.18.0.2"]);
    let a = day(store, T1, &["198.18.0.1"]);
    assert_eq!((a.missing, a.verified_fixed.len()), (1, 0), "one of two");
    // seen again: the count starts over
    let b = day(store, T2, &["198.18.0.1", "198.18.0.2"]);
    assert_eq!(b.missing, 0);
    let c = day(store, "2026-03-26T06:00:00+00:00", &["198.18.0.1"]);
    assert_eq!((c.missing, c.verified_fixed.len()), (1, 0));
    let d = day(store, "2026-03-27T06:00:00+00:00", &["198.18.0.1"]);
    assert_eq!((d.missing, d.verified_fixed.len()), (1, 1));
}

fn the_earliest_exploitation_date_is_kept(store: &mut dyn FindingStore) {
    assert_eq!(store.exploitation("CVE-2019-19781").unwrap(), None);
    store
        .put_exploitation("CVE-2019-19781", 1_578_528_000, "CISA KEV")
        .unwrap();
    store
        .put_exploitation("cve-2019-19781", 1_579_000_000, "later")
        .unwrap();
    assert_eq!(
        store.exploitation("cve-2019-19781").unwrap(),
        Some((1_578_528_000, "CISA KEV".to_string())),
        "a later date does not replace an earlier one; names in any case"
    );
    store
        .put_exploitation("CVE-2019-19781", 1_578_000_000, "analyst")
        .unwrap();
    assert_eq!(
        store.exploitation("CVE-2019-19781").unwrap(),
        Some((1_578_000_000, "analyst".to_string()))
    );
}

/// Retention counts from the data's own time (`time.source`), not from when it was
/// ingested: a report ingested late is kept as long as its rows are recent.
fn prune_removes_old_rows_and_orphaned_findings(store: &mut dyn FindingStore) {
    // a later run first, holding the older rows: the order of ingest does not matter
    let r = run(store);
    store
        .store_batch(
            r,
            &batch(&[event("198.18.0.1", 443, T2)], &org("org-1"), &["i"]),
        )
        .unwrap();
    let r1 = run(store);
    store
        .store_batch(
            r1,
            &batch(
                &[event("198.18.0.1", 443, T1), event("198.18.0.2", 443, T1)],
                &org("org-1"),
                &["i"],
            ),
        )
        .unwrap();
    store
        .store_batch(
            r1,
            &Batch {
                chunks: Vec::new(),
                quarantined: vec![quarantined(9)],
                part: None,
            },
        )
        .unwrap();
    let old_chunk = all(store)
        .into_iter()
        .find(|f| f.addr == "198.18.0.2")
        .unwrap()
        .last_row
        .chunk;
    // nothing seen before a time long past
    let none = store.prune("2000-01-01T00:00:00Z", false).unwrap();
    assert_eq!(none, crate::Pruned::default());
    // between T1 and T2: the rows of T1 go, though their run is the later one
    let cutoff = "2026-03-24T12:00:00Z";
    let dry = store.prune(cutoff, true).unwrap();
    assert_eq!(
        (dry.findings, dry.observations, dry.chunks, dry.quarantined),
        (1, 2, 1, 0),
        "the quarantined row's run started after the cut-off"
    );
    assert_eq!(all(store).len(), 2, "a dry run changes nothing");
    assert!(store.chunk(old_chunk).is_ok(), "a dry run changes nothing");
    let p = store.prune(cutoff, false).unwrap();
    assert_eq!(p, dry, "a dry run counts what a prune deletes");
    let f = all(store);
    assert_eq!(f.len(), 1, "the finding seen since stays");
    assert_eq!(f[0].addr, "198.18.0.1");
    assert_eq!(store.observations(f[0].id).unwrap().len(), 1);
    assert!(store.chunk(f[0].last_row.chunk).is_ok());
    assert!(
        store.chunk(old_chunk).is_err(),
        "a chunk left with no row goes"
    );
    assert_eq!(store.totals().unwrap().quarantined, 1);
    // past every run's start: the rest goes, the quarantined row with its run
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let p = store.prune(&later, false).unwrap();
    assert_eq!(
        (p.findings, p.observations, p.chunks, p.quarantined),
        (1, 1, 1, 1)
    );
    assert!(all(store).is_empty());
}
