//! The checks of [`IncidentReportStore`]: stages appended in order, each document once, each
//! audited.

use crate::{IncidentReportStore, NewReportStage};

/// One check of [`IncidentReportStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn IncidentReportStore);

/// The checks of [`IncidentReportStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "stages_are_kept_in_order_each_document_once",
        stages_are_kept_in_order_each_document_once,
    ),
    ("every_stage_is_audited", every_stage_is_audited),
];

fn stage(stage: &str, body: &str) -> NewReportStage {
    NewReportStage {
        organisation: "org-a".into(),
        reference: "A-1".into(),
        stage: stage.into(),
        by: "org-a (API)".into(),
        tlp: "AMBER".into(),
        body: body.into(),
    }
}

fn stages_are_kept_in_order_each_document_once(store: &mut dyn IncidentReportStore) {
    assert!(store.report_stages().unwrap().is_empty());
    let a = store
        .add_report_stage(&stage("early-warning", "{\"x\":1}"))
        .unwrap()
        .expect("new");
    assert_eq!(
        store
            .add_report_stage(&stage("early-warning", "{\"x\":1}"))
            .unwrap(),
        None,
        "the same document again"
    );
    let b = store
        .add_report_stage(&stage("intermediate", "{\"x\":2}"))
        .unwrap()
        .expect("new");
    let c = store
        .add_report_stage(&stage("intermediate", "{\"x\":3}"))
        .unwrap()
        .expect("another intermediate report");
    let all = store.report_stages().unwrap();
    assert_eq!(all.iter().map(|s| s.id).collect::<Vec<_>>(), [a, b, c]);
    assert_eq!(all[0].stage, "early-warning");
    assert_eq!(all[0].body, "{\"x\":1}");
    assert_eq!(
        (
            all[0].organisation.as_str(),
            all[0].reference.as_str(),
            all[0].tlp.as_str()
        ),
        ("org-a", "A-1", "AMBER")
    );
    assert!(!all[0].at.is_empty());
}

fn every_stage_is_audited(store: &mut dyn IncidentReportStore) {
    let before = store.audit_log().unwrap().len();
    store
        .add_report_stage(&stage("notification", "{}"))
        .unwrap()
        .unwrap();
    store
        .add_report_stage(&stage("notification", "{}"))
        .unwrap();
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), before + 1, "once, for the stored stage");
    let e = log.last().unwrap();
    assert_eq!(
        (e.kind.as_str(), e.subject.as_str()),
        ("incident-report", "org-a")
    );
    assert!(
        e.body.contains("notification") && e.body.contains("A-1"),
        "{}",
        e.body
    );
}
