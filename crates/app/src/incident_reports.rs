//! Incident reports: filed by an obligated organisation (or its CERT on its behalf, or an
//! analyst who took it by phone), read back with their deadlines, answered by the CSIRT, and
//! shown to other parties only as the sharing policy allows — the same decision as for a
//! finding about that organisation, audited as a disclosure.

use std::collections::BTreeMap;

use baken_model::{OrgId, Tlp};
use baken_pipeline::incident_reports::{self, IncidentReport, ReportDocument};
use baken_policy::{Form, Item, Provenance, Recipient, decide};
use baken_store::audit::NewAuditEntry;
use chrono::{DateTime, Utc};

use crate::{App, AppError, Result, Viewer};

/// The incident reports a viewer may read, and those it may know of only as counts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VisibleReports {
    /// The reports it may read in full.
    pub reports: Vec<IncidentReport>,
    /// Reports it may see only counted, by the reporting organisation's sector (a supervisor
    /// under a policy that gives supervisors aggregates).
    pub counts: BTreeMap<String, u64>,
}

/// A report the caller got wrong is the caller's to fix, not a failure of the chain.
fn usage(e: baken_pipeline::PipelineError) -> AppError {
    match e {
        baken_pipeline::PipelineError::Usage(m) => AppError::Usage(m),
        other => other.into(),
    }
}

/// The store's clock (a replay's, when one is set).
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&baken_store::now())
        .map(|t| t.to_utc())
        .unwrap_or_else(|_| Utc::now())
}

impl App {
    /// Files one stage of a report for `viewer` (`channel` says how: `API`, `CLI`, `mail`):
    /// an organisation files its own reports, a CERT those of its constituents, an analyst
    /// any. Returns the report as it stands and whether the document was new.
    pub fn submit_incident_report(
        &mut self,
        doc: &ReportDocument,
        viewer: &Viewer,
        by: &str,
    ) -> Result<(IncidentReport, bool)> {
        let attributor = self.attributor()?;
        if attributor
            .organisation(&OrgId(doc.organisation.clone()))
            .is_none()
        {
            return Err(AppError::NotFound(format!(
                "organisation {:?}: no organisation with that id in the registry",
                doc.organisation
            )));
        }
        doc.check().map_err(AppError::Usage)?;
        if let Viewer::Party(party) = viewer {
            let subject = attributor.organisation(&OrgId(doc.organisation.clone()));
            let allowed = party.0 == doc.organisation
                || subject.is_some_and(|s| s.cert.as_deref() == Some(party.0.as_str()));
            if !allowed {
                return Err(AppError::Usage(format!(
                    "{} files reports about itself, or as CERT about its constituents; not about {}",
                    party.0, doc.organisation
                )));
            }
        }
        incident_reports::submit(&mut *self.store, &attributor, doc, by, now()).map_err(usage)
    }

    /// Records the CSIRT's reply to a report.
    pub fn reply_incident_report(
        &mut self,
        organisation: &str,
        reference: &str,
        by: &str,
        note: Option<&str>,
    ) -> Result<IncidentReport> {
        let attributor = self.attributor()?;
        if !self
            .store
            .report_stages()?
            .iter()
            .any(|s| s.organisation == organisation && s.reference == reference)
        {
            return Err(AppError::NotFound(format!(
                "no report {reference} of {organisation}; `baken incident-report list` lists them"
            )));
        }
        incident_reports::reply(
            &mut *self.store,
            &attributor,
            organisation,
            reference,
            by,
            note,
            now(),
        )
        .map_err(usage)
    }

    /// Every report, as it stands now, for an analyst or the command line.
    pub fn all_incident_reports(&mut self) -> Result<Vec<IncidentReport>> {
        let attributor = self.attributor()?;
        Ok(incident_reports::reports(&*self.store, &attributor, now())?)
    }

    /// Every report `viewer` may read, as it stands now: an analyst all; a party its own, those
    /// it filed as CERT, and those the sharing policy `policy` lets it receive in full as a
    /// finding about the reporting organisation without addresses (a supervisor those of the
    /// organisations it supervises, as the policy's rules and the report's TLP allow). A
    /// party's read is audited (`report-read`, naming the reports).
    pub fn incident_reports(
        &mut self,
        viewer: &Viewer,
        policy: &str,
        purpose: &str,
    ) -> Result<VisibleReports> {
        let all = self.all_incident_reports()?;
        let attributor = self.attributor()?;
        let Viewer::Party(party) = viewer else {
            return Ok(VisibleReports {
                reports: all,
                counts: BTreeMap::new(),
            });
        };
        let policy = self.policy(policy)?;
        let filed_by_party: std::collections::BTreeSet<(String, String)> = self
            .store
            .report_stages()?
            .into_iter()
            .filter(|s| filed_by(&s.by, &party.0))
            .map(|s| (s.organisation, s.reference))
            .collect();
        let me = attributor.organisation(party);
        // what the policy lets the party receive of a finding about the reporting
        // organisation, under the report's label; its own and those it filed, in full
        let form_of = |r: &IncidentReport| -> Form {
            if r.organisation == party.0
                || filed_by_party.contains(&(r.organisation.clone(), r.reference.clone()))
            {
                return Form::Full;
            }
            let (Some(me), Some(subject)) =
                (me, attributor.organisation(&OrgId(r.organisation.clone())))
            else {
                return Form::Nothing;
            };
            let item = Item::finding(
                subject,
                r.tlp.parse().unwrap_or(Tlp::Amber),
                Provenance {
                    source: format!("incident report {}", r.reference),
                    supplied_by: Some(r.organisation.clone()),
                },
                [],
            );
            decide(
                &policy,
                &item,
                &Recipient::for_subject(&policy, me, subject),
            )
            .form
        };
        let mut reports = Vec::new();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for r in all {
            match form_of(&r) {
                Form::Full | Form::OwnAssets => reports.push(r),
                Form::Aggregate => {
                    *counts
                        .entry(r.sector.clone().unwrap_or_else(|| "(none)".into()))
                        .or_default() += 1
                }
                Form::Nothing => {}
            }
        }
        self.store.append_audit(&[NewAuditEntry {
            kind: "report-read".into(),
            subject: party.0.clone(),
            body: serde_json::json!({
                "read": purpose,
                "reports": reports
                    .iter()
                    .map(|r| format!("{}/{}", r.organisation, r.reference))
                    .collect::<Vec<_>>(),
                "counts": counts,
            })
            .to_string(),
        }])?;
        Ok(VisibleReports { reports, counts })
    }
}

/// Whether `by`, as recorded with a stage, names `party` as who filed it: the service writes
/// `PARTY (CHANNEL)`, or `NAME (PARTY, CHANNEL)` after a name the party gave.
pub fn filed_by(by: &str, party: &str) -> bool {
    ["API", "web", "mail"]
        .iter()
        .any(|ch| by == format!("{party} ({ch})") || by.ends_with(&format!(" ({party}, {ch})")))
}
