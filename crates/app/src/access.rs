//! What a party may see of the record: decided by the same plan, under the same policy, as
//! what it may be sent by mail; every read written to the audit log as a disclosure.

use std::collections::BTreeMap;

use baken_model::{OrgId, Party, Tlp};
use baken_pipeline::findings::FindingView;
use baken_policy::{Form, Path};
use baken_store::FindingQuery;
use baken_store::audit::NewAuditEntry;
use serde::Serialize;

use crate::{App, AppError, Result};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// An analyst of the CSIRT that runs baken: sees everything.
    Analyst,
    /// A party of the registry: sees what the sharing policy lets it receive.
    Party(OrgId),
}

/// A finding a party may see, and why.
#[derive(Debug, Clone, Serialize)]
pub struct VisibleFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: FindingView,
    /// The party it is about.
    pub about: Party,
    /// How the viewer relates to that party (`direct` for its own).
    pub path: Path,
    /// The form the policy allows (`full` or `own-assets`).
    pub form: Form,
    /// The policy's rule that decided it (`rule` is the attribution's).
    pub policy_rule: Option<String>,
}

/// The counts of an incident a party may see only as an aggregate (the DTC, a supervisor):
/// per sector, how many organisations and findings, never which. Counts are published as
/// the mail publishes them: a number, or `<k` below the policy's small-count threshold k.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisibleCounts {
    /// The incident.
    pub incident: String,
    /// The sector (`-` when the registry names none).
    pub sector: String,
    /// Organisations affected (`12`, or `<5` below the threshold).
    pub organisations: String,
    /// Their findings (`12`, or `<5` below the threshold).
    pub findings: String,
}

/// `n` as published under the small-count threshold `k`.
fn published(n: usize, k: u32) -> String {
    if n < k as usize {
        format!("<{k}")
    } else {
        n.to_string()
    }
}

/// Everything a viewer may see of the findings, under one policy.
#[derive(Debug, Clone, Serialize)]
pub struct Visible {
    /// The findings it may see in full or as its own assets, by id.
    pub findings: Vec<VisibleFinding>,
    /// What it may see only as counts.
    pub counts: Vec<VisibleCounts>,
}

impl App {
    /// What `viewer` may see of `incident`'s findings (every incident's when `None`) under
    /// `policy`: an analyst everything; a party exactly the findings a notify round under
    /// that policy may send it, in that form, and the counts it may receive as aggregates.
    /// A party's read is written to the audit log as a disclosure (`kind` `api-read`,
    /// naming the findings by id); `purpose` says what was read (e.g. `GET
    /// /api/v1/findings`).
    pub fn visible(
        &mut self,
        viewer: &Viewer,
        incident: Option<&str>,
        policy: &str,
        purpose: &str,
    ) -> Result<Visible> {
        let visible = self.visible_quietly(viewer, incident, policy)?;
        if let Viewer::Party(id) = viewer {
            self.store.append_audit(&[NewAuditEntry {
                kind: "api-read".into(),
                subject: id.0.clone(),
                body: serde_json::json!({
                    "read": purpose,
                    "policy": policy,
                    "findings": visible.findings.iter().map(|f| f.finding.id).collect::<Vec<_>>(),
                    "counts": visible.counts.len(),
                })
                .to_string(),
            }])?;
        }
        Ok(visible)
    }

    /// [`App::visible`] without the audit entry, for callers that audit what they pass on
    /// themselves.
    pub(crate) fn visible_quietly(
        &mut self,
        viewer: &Viewer,
        incident: Option<&str>,
        policy: &str,
    ) -> Result<Visible> {
        let incidents: Vec<String> = match incident {
            Some(i) => vec![i.to_ascii_lowercase()],
            None => self
                .store
                .incidents()?
                .into_iter()
                .map(|(i, _)| i)
                .collect(),
        };
        let k = self.policy(policy)?.min_count();
        let mut findings = Vec::new();
        let mut counts = Vec::new();
        for incident in &incidents {
            let records: BTreeMap<i64, FindingView> = self
                .store
                .finding_records(&FindingQuery {
                    incident: Some(incident.clone()),
                    ..FindingQuery::default()
                })?
                .iter()
                .map(|r| (r.id, FindingView::from(r)))
                .collect();
            if records.is_empty() {
                continue;
            }
            match viewer {
                Viewer::Analyst => {
                    findings.extend(records.into_values().map(|f| VisibleFinding {
                        about: finding_party(&f),
                        finding: f,
                        path: Path::Direct,
                        form: Form::Full,
                        policy_rule: None,
                    }));
                }
                Viewer::Party(id) => {
                    let plan = self.plan_kept(incident, policy, Tlp::Amber)?;
                    let Some(digest) = plan.digests.get(&id.0) else {
                        continue;
                    };
                    for part in &digest.parts {
                        for f in &part.findings {
                            if let Some(view) = records.get(&f.id) {
                                findings.push(VisibleFinding {
                                    finding: view.clone(),
                                    about: part.subject.clone(),
                                    path: part.path,
                                    form: part.decision.form,
                                    policy_rule: part.decision.rule.clone(),
                                });
                            }
                        }
                    }
                    let mut by_sector: BTreeMap<String, (usize, usize)> = BTreeMap::new();
                    for (sector, _, counted) in digest.aggregate.iter().map(|a| &**a) {
                        let e = by_sector
                            .entry(sector.clone().unwrap_or_else(|| "-".into()))
                            .or_default();
                        e.0 += 1;
                        e.1 += counted.len();
                    }
                    counts.extend(by_sector.into_iter().map(|(sector, (o, f))| VisibleCounts {
                        incident: incident.clone(),
                        sector,
                        organisations: published(o, k),
                        findings: published(f, k),
                    }));
                }
            }
        }
        findings.sort_by_key(|f| f.finding.id);
        findings.dedup_by_key(|f| f.finding.id);
        Ok(Visible { findings, counts })
    }

    /// Finding `id` if `viewer` may see it under `policy`; [`AppError::NotFound`] when it
    /// does not exist or the viewer may not see it (the two are not told apart, so an id
    /// says nothing about another party's findings).
    pub fn visible_finding(
        &mut self,
        viewer: &Viewer,
        id: i64,
        policy: &str,
        purpose: &str,
    ) -> Result<VisibleFinding> {
        let not_found = || AppError::NotFound(format!("no finding {id}"));
        let incident = self
            .store
            .finding_records(&FindingQuery {
                id: Some(id),
                ..FindingQuery::default()
            })?
            .into_iter()
            .next()
            .ok_or_else(not_found)?
            .incident;
        self.visible(viewer, Some(&incident), policy, purpose)?
            .findings
            .into_iter()
            .find(|f| f.finding.id == id)
            .ok_or_else(not_found)
    }
}

fn finding_party(f: &FindingView) -> Party {
    match (&f.org, &f.abuse) {
        (Some(org), _) => Party::Registered(OrgId(org.clone())),
        (None, Some(abuse)) => Party::UnregisteredHolders {
            abuse: abuse.clone(),
        },
        (None, None) => Party::Unattributed {
            what: f
                .source_ip
                .clone()
                .or(f.source_fqdn.clone())
                .unwrap_or_else(|| format!("finding {}", f.id)),
        },
    }
}
