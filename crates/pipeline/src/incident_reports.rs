//! Incident reports of obligated organisations (the Wbni's meldplicht; NIS2 article 23): an
//! organisation, or its CERT on its behalf, files a report stage by stage — an early warning
//! within 24 hours of becoming aware, an incident notification within 72 hours, intermediate
//! reports on request, a final report within a month of the notification — and the CSIRT
//! answers the early warning within 24 hours. Each stage is a document ([`ReportDocument`],
//! JSON or TOML) stored as filed; a report is read back with every stage's deadline and
//! whether it was met ([`IncidentReport`]).
//!
//! Deadlines are instants: 24 hours after awareness is 24 hours later whatever the clocks
//! did in between (a daylight-saving change makes it 23 or 25 hours on a wall clock); "a
//! month" is a calendar month in UTC (31 January + 1 month = 28 or 29 February).

use std::collections::{BTreeMap, BTreeSet};

use baken_attribute::Attributor;
use baken_model::{OrgId, Tlp};
use baken_store::{FindingQuery, FindingState, NewReportStage, ReportStageRecord, Store};
use chrono::{DateTime, Duration, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// A stage a report's document fills.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ReportStage {
    /// Within 24 hours of becoming aware: whether unlawful or malicious acts are suspected,
    /// whether it may have a cross-border impact.
    EarlyWarning,
    /// Within 72 hours: an initial assessment, severity and impact, indicators of compromise.
    Notification,
    /// On the CSIRT's request: an update.
    Intermediate,
    /// Within a month of the notification: the root cause, mitigations, cross-border impact.
    Final,
    /// The CSIRT's answer to the early warning, within 24 hours of it.
    CsirtReply,
}

impl ReportStage {
    /// Its name, as documents and the store write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStage::EarlyWarning => "early-warning",
            ReportStage::Notification => "notification",
            ReportStage::Intermediate => "intermediate",
            ReportStage::Final => "final",
            ReportStage::CsirtReply => "csirt-reply",
        }
    }

    fn parse(text: &str) -> Option<ReportStage> {
        [
            ReportStage::EarlyWarning,
            ReportStage::Notification,
            ReportStage::Intermediate,
            ReportStage::Final,
            ReportStage::CsirtReply,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What the organisation suspects caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SuspectedCause {
    /// Unlawful acts (e.g. a criminal intrusion).
    Unlawful,
    /// Malicious acts.
    Malicious,
    /// A failure, an error, nature: no unlawful or malicious act.
    Accidental,
    /// Not known yet.
    Unknown,
}

/// One stage of a report as the organisation files it (JSON or TOML). Every field but
/// `organisation`, `reference` and `stage` may be left out; a later stage repeats only what
/// changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportDocument {
    /// The organisation the incident hit (registry id).
    pub organisation: String,
    /// Its own reference of the report; every stage of the report repeats it.
    pub reference: String,
    /// `early-warning`, `notification`, `intermediate` or `final`.
    pub stage: ReportStage,
    /// The TLP label of what it tells (CLEAR, GREEN, AMBER, AMBER+STRICT, RED); AMBER when
    /// left out.
    #[serde(default)]
    pub tlp: Option<String>,
    /// When the organisation became aware of the incident (RFC 3339, with its offset):
    /// needed on the first stage filed.
    #[serde(default)]
    pub aware_at: Option<String>,
    /// What happened, in a few sentences.
    #[serde(default)]
    pub summary: Option<String>,
    /// Whether unlawful or malicious acts are suspected.
    #[serde(default)]
    pub suspected_cause: Option<SuspectedCause>,
    /// Whether it may have an impact in other member states.
    #[serde(default)]
    pub cross_border: Option<bool>,
    /// The services affected.
    #[serde(default)]
    pub services: Vec<String>,
    /// How many users are affected (an estimate).
    #[serde(default, deserialize_with = "whole_number")]
    pub users_affected: Option<u64>,
    /// Indicators of compromise (addresses, names, hashes).
    #[serde(default)]
    pub iocs: Vec<String>,
    /// What was done about it.
    #[serde(default)]
    pub mitigations: Vec<String>,
    /// The vulnerabilities involved (CVE ids): the report joins those incidents' record.
    #[serde(default)]
    pub cves: Vec<String>,
    /// The advisories involved (their ids).
    #[serde(default)]
    pub advisories: Vec<String>,
    /// Whether systems were compromised (not only found vulnerable).
    #[serde(default)]
    pub compromised: Option<bool>,
}

/// A count as JSON may write it: `1200` or `1200.0` (JSON does not tell the two apart).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n: Option<f64> = Option::deserialize(d)?;
    match n {
        None => Ok(None),
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= u64::MAX as f64 => Ok(Some(x as u64)),
        Some(x) => Err(serde::de::Error::custom(format!(
            "{x} is not a count (a whole number, 0 or more)"
        ))),
    }
}

impl ReportDocument {
    /// Reads a document from `text` (JSON when it starts with `{`, else TOML); an error
    /// names `origin` and the line and field at fault.
    pub fn parse(text: &str, origin: &str) -> Result<ReportDocument, String> {
        let doc: ReportDocument = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("{origin}: {e}"))?
        } else {
            toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?
        };
        doc.check().map_err(|e| format!("{origin}: {e}"))?;
        Ok(doc)
    }

    /// Checks what serde cannot: the label, the time, the ids.
    pub fn check(&self) -> Result<(), String> {
        if self.organisation.trim().is_empty() || self.reference.trim().is_empty() {
            return Err("organisation and reference must not be empty".into());
        }
        if self.reference.chars().any(char::is_control) || self.reference.len() > 200 {
            return Err(format!(
                "reference {:?}: at most 200 characters, no control characters",
                self.reference
            ));
        }
        if let Some(t) = &self.tlp {
            t.parse::<Tlp>().map_err(|e| format!("tlp {t:?}: {e}"))?;
        }
        if let Some(at) = &self.aware_at {
            DateTime::parse_from_rfc3339(at).map_err(|_| {
                format!(
                    "aware_at {at:?} is not an RFC 3339 time; write e.g. 2026-03-24T06:00:00+01:00"
                )
            })?;
        }
        if self.stage == ReportStage::CsirtReply {
            return Err(
                "csirt-reply is the CSIRT's own stage: `baken incident-report reply`".into(),
            );
        }
        for c in &self.cves {
            let ok = c.len() > 8
                && c[..4].eq_ignore_ascii_case("cve-")
                && c[4..].split('-').count() == 2
                && c[4..].chars().all(|ch| ch.is_ascii_digit() || ch == '-');
            if !ok {
                return Err(format!("cves: {c:?} is not a CVE id (CVE-YYYY-NNNN)"));
            }
        }
        Ok(())
    }

    /// The label, AMBER when none was given.
    pub fn label(&self) -> Tlp {
        self.tlp
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(Tlp::Amber)
    }
}

/// Whether a stage was filed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// Filed by its deadline.
    Complete,
    /// Filed after its deadline.
    Late,
    /// Not filed, and its deadline has passed.
    Overdue,
    /// Not filed; its deadline is still ahead.
    Due,
    /// Filed, with no deadline of its own (an intermediate report).
    Filed,
}

/// One stage of a report: its deadline and when it was filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StageView {
    /// The stage.
    pub stage: ReportStage,
    /// Its deadline (RFC 3339, UTC), when it has one.
    pub due: Option<String>,
    /// When it was first filed.
    pub filed: Option<String>,
    /// Who filed it.
    pub by: Option<String>,
    /// In time, late, overdue or still due.
    pub status: StageStatus,
}

/// An incident report with every stage filed so far, read as of one moment.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IncidentReport {
    /// The organisation (registry id).
    pub organisation: String,
    /// Its name in the registry.
    pub name: Option<String>,
    /// Its sector.
    pub sector: Option<String>,
    /// Whether it is a vital provider.
    pub vital: bool,
    /// The organisation's reference.
    pub reference: String,
    /// The label of the latest stage.
    pub tlp: String,
    /// When it became aware (RFC 3339, UTC).
    pub aware_at: String,
    /// The incidents it joins: its CVEs and advisories, in lower case.
    pub incidents: Vec<String>,
    /// Whether any stage says systems were compromised.
    pub compromised: bool,
    /// The latest suspected cause.
    pub suspected_cause: Option<SuspectedCause>,
    /// Whether any stage says it may cross borders.
    pub cross_border: Option<bool>,
    /// Every service named.
    pub services: Vec<String>,
    /// The latest estimate of users affected.
    pub users_affected: Option<u64>,
    /// Every indicator of compromise named.
    pub iocs: Vec<String>,
    /// Every mitigation named.
    pub mitigations: Vec<String>,
    /// The latest summary.
    pub summary: Option<String>,
    /// The organisation's findings of those incidents that are not verified fixed.
    pub open_findings: u64,
    /// The stages: early warning, the CSIRT's reply, notification, intermediate reports,
    /// final report.
    pub stages: Vec<StageView>,
    /// Whether a stage is overdue.
    pub overdue: bool,
}

/// Files one stage of a report, `by` naming who (and through which channel). Returns the
/// report as it stands at `now`, and whether the document was new (the same document filed
/// again changes nothing).
pub fn submit(
    store: &mut dyn Store,
    attributor: &Attributor,
    doc: &ReportDocument,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(IncidentReport, bool), PipelineError> {
    doc.check().map_err(PipelineError::Usage)?;
    if attributor
        .organisation(&OrgId(doc.organisation.clone()))
        .is_none()
    {
        return Err(PipelineError::Usage(format!(
            "organisation {}: no organisation with that id in the registry",
            doc.organisation
        )));
    }
    let earlier = store
        .report_stages()?
        .into_iter()
        .any(|s| s.organisation == doc.organisation && s.reference == doc.reference);
    if !earlier && doc.aware_at.is_none() {
        return Err(PipelineError::Usage(format!(
            "report {} of {} has no earlier stage: its first stage needs aware_at, when the \
             organisation became aware of the incident",
            doc.reference, doc.organisation
        )));
    }
    let body = serde_json::to_string(doc).map_err(|e| PipelineError::Usage(e.to_string()))?;
    let new = store
        .add_report_stage(&NewReportStage {
            organisation: doc.organisation.clone(),
            reference: doc.reference.clone(),
            stage: doc.stage.as_str().into(),
            by: by.into(),
            tlp: doc.label().to_string(),
            body,
        })?
        .is_some();
    let report = reports(store, attributor, now)?
        .into_iter()
        .find(|r| r.organisation == doc.organisation && r.reference == doc.reference)
        .ok_or_else(|| PipelineError::Usage("the report was filed but cannot be read".into()))?;
    Ok((report, new))
}

/// Records the CSIRT's reply to report `reference` of `organisation`.
pub fn reply(
    store: &mut dyn Store,
    attributor: &Attributor,
    organisation: &str,
    reference: &str,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<IncidentReport, PipelineError> {
    let Some(first) = store
        .report_stages()?
        .into_iter()
        .find(|s| s.organisation == organisation && s.reference == reference)
    else {
        return Err(PipelineError::Usage(format!(
            "no report {reference} of {organisation}; `baken incident-report list` lists them"
        )));
    };
    store.add_report_stage(&NewReportStage {
        organisation: organisation.into(),
        reference: reference.into(),
        stage: ReportStage::CsirtReply.as_str().into(),
        by: by.into(),
        tlp: first.tlp,
        body: serde_json::json!({ "note": note, "at": now.to_rfc3339() }).to_string(),
    })?;
    reports(store, attributor, now)?
        .into_iter()
        .find(|r| r.organisation == organisation && r.reference == reference)
        .ok_or_else(|| PipelineError::Usage("the reply was recorded but cannot be read".into()))
}

fn utc(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn status(due: DateTime<Utc>, filed: Option<DateTime<Utc>>, now: DateTime<Utc>) -> StageStatus {
    match filed {
        Some(f) if f <= due => StageStatus::Complete,
        Some(_) => StageStatus::Late,
        None if now > due => StageStatus::Overdue,
        None => StageStatus::Due,
    }
}

/// The deadlines of a report's stages, from when the organisation became aware and when its
/// early warning and notification were filed.
pub fn deadlines(
    aware: DateTime<Utc>,
    early_warning_filed: Option<DateTime<Utc>>,
    notification_filed: Option<DateTime<Utc>>,
) -> BTreeMap<ReportStage, Option<DateTime<Utc>>> {
    let notification_due = aware + Duration::hours(72);
    let final_from = notification_filed.unwrap_or(notification_due);
    BTreeMap::from([
        (ReportStage::EarlyWarning, Some(aware + Duration::hours(24))),
        (
            ReportStage::CsirtReply,
            early_warning_filed.map(|t| t + Duration::hours(24)),
        ),
        (ReportStage::Notification, Some(notification_due)),
        (
            ReportStage::Final,
            final_from.checked_add_months(Months::new(1)),
        ),
    ])
}

/// Every report, as it stands at `now`, in the order first filed.
pub fn reports(
    store: &dyn Store,
    attributor: &Attributor,
    now: DateTime<Utc>,
) -> Result<Vec<IncidentReport>, PipelineError> {
    let mut by_report: Vec<((String, String), Vec<ReportStageRecord>)> = Vec::new();
    for s in store.report_stages()? {
        let key = (s.organisation.clone(), s.reference.clone());
        match by_report.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(s),
            None => by_report.push((key, vec![s])),
        }
    }
    let mut out = Vec::with_capacity(by_report.len());
    for ((organisation, reference), stages) in by_report {
        out.push(read(
            store,
            attributor,
            organisation,
            reference,
            &stages,
            now,
        )?);
    }
    Ok(out)
}

fn read(
    store: &dyn Store,
    attributor: &Attributor,
    organisation: String,
    reference: String,
    stages: &[ReportStageRecord],
    now: DateTime<Utc>,
) -> Result<IncidentReport, PipelineError> {
    let docs: Vec<(&ReportStageRecord, Option<ReportDocument>)> = stages
        .iter()
        .map(|s| (s, serde_json::from_str::<ReportDocument>(&s.body).ok()))
        .collect();
    let aware = docs
        .iter()
        .find_map(|(_, d)| d.as_ref().and_then(|d| d.aware_at.as_deref()).and_then(utc))
        .unwrap_or_else(|| utc(&stages[0].at).unwrap_or(now));
    let first_filed = |stage: ReportStage| {
        stages
            .iter()
            .find(|s| ReportStage::parse(&s.stage) == Some(stage))
            .and_then(|s| utc(&s.at).map(|t| (t, s.by.clone())))
    };
    // a notification filed first covers the early warning
    let early =
        first_filed(ReportStage::EarlyWarning).or_else(|| first_filed(ReportStage::Notification));
    let notification = first_filed(ReportStage::Notification);
    let due = deadlines(
        aware,
        early.as_ref().map(|e| e.0),
        notification.as_ref().map(|n| n.0),
    );
    let mut views = Vec::new();
    for stage in [
        ReportStage::EarlyWarning,
        ReportStage::CsirtReply,
        ReportStage::Notification,
    ] {
        let filed = if stage == ReportStage::EarlyWarning {
            early.clone()
        } else {
            first_filed(stage)
        };
        let Some(Some(deadline)) = due.get(&stage).copied() else {
            // the CSIRT's reply is due once there is an early warning to answer
            continue;
        };
        views.push(StageView {
            stage,
            due: Some(stamp(deadline)),
            filed: filed.as_ref().map(|f| stamp(f.0)),
            status: status(deadline, filed.as_ref().map(|f| f.0), now),
            by: filed.map(|f| f.1),
        });
    }
    for s in stages
        .iter()
        .filter(|s| ReportStage::parse(&s.stage) == Some(ReportStage::Intermediate))
    {
        views.push(StageView {
            stage: ReportStage::Intermediate,
            due: None,
            filed: utc(&s.at).map(stamp),
            by: Some(s.by.clone()),
            status: StageStatus::Filed,
        });
    }
    if let Some(Some(deadline)) = due.get(&ReportStage::Final).copied() {
        let filed = first_filed(ReportStage::Final);
        views.push(StageView {
            stage: ReportStage::Final,
            due: Some(stamp(deadline)),
            filed: filed.as_ref().map(|f| stamp(f.0)),
            by: filed.as_ref().map(|f| f.1.clone()),
            status: status(deadline, filed.map(|f| f.0), now),
        });
    }

    let docs: Vec<&ReportDocument> = docs.iter().filter_map(|(_, d)| d.as_ref()).collect();
    let union = |f: fn(&ReportDocument) -> &Vec<String>| -> Vec<String> {
        let mut seen = BTreeSet::new();
        docs.iter()
            .flat_map(|d| f(d).iter())
            .filter(|v| seen.insert(v.to_string()))
            .cloned()
            .collect()
    };
    let mut incidents: Vec<String> = docs
        .iter()
        .flat_map(|d| d.cves.iter().chain(&d.advisories))
        .map(|i| i.to_ascii_lowercase())
        .collect();
    incidents.sort();
    incidents.dedup();
    let mut open_findings = 0;
    for incident in &incidents {
        open_findings += store
            .finding_records(&FindingQuery {
                incident: Some(incident.clone()),
                org: Some(organisation.clone()),
                ..FindingQuery::default()
            })?
            .iter()
            .filter(|f| f.state != FindingState::VerifiedFixed)
            .count() as u64;
    }
    let org = attributor.organisation(&OrgId(organisation.clone()));
    let overdue = views.iter().any(|v| v.status == StageStatus::Overdue);
    Ok(IncidentReport {
        name: org.map(|o| o.name.clone()),
        sector: org.and_then(|o| o.sector.clone()),
        vital: org.is_some_and(|o| o.vital),
        tlp: stages.last().map(|s| s.tlp.clone()).unwrap_or_default(),
        aware_at: stamp(aware),
        compromised: docs.iter().any(|d| d.compromised == Some(true)),
        suspected_cause: docs.iter().rev().find_map(|d| d.suspected_cause),
        cross_border: docs.iter().rev().find_map(|d| d.cross_border),
        services: union(|d| &d.services),
        users_affected: docs.iter().rev().find_map(|d| d.users_affected),
        iocs: union(|d| &d.iocs),
        mitigations: union(|d| &d.mitigations),
        summary: docs.iter().rev().find_map(|d| d.summary.clone()),
        incidents,
        open_findings,
        stages: views,
        overdue,
        organisation,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().to_utc()
    }

    #[test]
    fn deadlines_are_instants_across_midnight_and_daylight_saving() {
        // aware at 23:30 in Amsterdam on the night the clocks go forward (29 March 2026)
        let aware = at("2026-03-28T23:30:00+01:00");
        let d = deadlines(aware, Some(at("2026-03-29T20:00:00Z")), None);
        assert_eq!(
            d[&ReportStage::EarlyWarning],
            Some(at("2026-03-29T22:30:00Z")),
            "24 hours later: 00:30 CEST on the wall clock, 23 hours of wall time"
        );
        assert_eq!(
            d[&ReportStage::Notification],
            Some(at("2026-03-31T22:30:00Z"))
        );
        assert_eq!(
            d[&ReportStage::CsirtReply],
            Some(at("2026-03-30T20:00:00Z"))
        );
        // no notification yet: the final report is due a month after the notification's deadline
        assert_eq!(d[&ReportStage::Final], Some(at("2026-04-30T22:30:00Z")));
        // a calendar month from 31 January is the end of February
        let d = deadlines(
            at("2026-01-28T09:00:00Z"),
            None,
            Some(at("2026-01-31T10:00:00Z")),
        );
        assert_eq!(d[&ReportStage::Final], Some(at("2026-02-28T10:00:00Z")));
        assert_eq!(d[&ReportStage::CsirtReply], None, "nothing to answer yet");
    }

    #[test]
    fn a_stage_is_complete_late_overdue_or_due() {
        let due = at("2026-03-25T06:00:00Z");
        let now = at("2026-03-26T00:00:00Z");
        assert_eq!(
            status(due, Some(at("2026-03-25T05:59:59Z")), now),
            StageStatus::Complete
        );
        assert_eq!(status(due, Some(due), now), StageStatus::Complete);
        assert_eq!(
            status(due, Some(at("2026-03-25T06:00:01Z")), now),
            StageStatus::Late
        );
        assert_eq!(status(due, None, now), StageStatus::Overdue);
        assert_eq!(
            status(due, None, at("2026-03-25T05:00:00Z")),
            StageStatus::Due
        );
    }

    #[test]
    fn documents_are_read_as_json_or_toml_and_mistakes_named() {
        let toml = "organisation = \"org-a\"\nreference = \"A-1\"\nstage = \"early-warning\"\n\
                    aware_at = \"2026-03-24T06:00:00+01:00\"\nsuspected_cause = \"malicious\"\n\
                    cves = [\"CVE-2019-19781\"]\nusers_affected = 1200\n";
        let d = ReportDocument::parse(toml, "r.toml").unwrap();
        assert_eq!(d.users_affected, Some(1200));
        let float = "{\"organisation\":\"o\",\"reference\":\"r\",\"stage\":\"final\",\"users_affected\":12.0}";
        assert_eq!(
            ReportDocument::parse(float, "r.json")
                .unwrap()
                .users_affected,
            Some(12)
        );
        let half = float.replace("12.0", "12.5");
        assert!(
            ReportDocument::parse(&half, "r.json")
                .unwrap_err()
                .contains("not a count")
        );
        assert_eq!(d.stage, ReportStage::EarlyWarning);
        assert_eq!(d.suspected_cause, Some(SuspectedCause::Malicious));
        assert_eq!(d.label(), Tlp::Amber);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(ReportDocument::parse(&json, "r.json").unwrap(), d);
        for (bad, says) in [
            (toml.replace("early-warning", "early"), "r.toml"),
            (
                toml.replace(
                    "aware_at = \"2026-03-24T06:00:00+01:00\"",
                    "aware_at = \"yesterday\"",
                ),
                "aware_at",
            ),
            (toml.replace("CVE-2019-19781", "citrix"), "not a CVE id"),
            (format!("{toml}colour = \"red\"\n"), "colour"),
            (
                toml.replace("early-warning", "csirt-reply"),
                "CSIRT's own stage",
            ),
            (format!("{toml}tlp = \"PURPLE\"\n"), "tlp"),
        ] {
            let e = ReportDocument::parse(&bad, "r.toml").unwrap_err();
            assert!(e.contains(says) && e.starts_with("r.toml"), "{e}");
        }
    }
}
