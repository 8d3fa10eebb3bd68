//! Exports for peers (STIX 2.1, MISP, IntelMQ events): sinks of the same sharing decision as
//! a mail. What an export for a party holds is exactly what [`App::visible`] lets that party
//! see, in that form — its findings, or counts only — and every export is written to the
//! audit log as a disclosure (`kind` `export`), naming the format, the party, the policy and
//! the findings by id. An export for the analysts' own use sees everything and is audited
//! too.

use std::collections::BTreeMap;

use baken_exchange::misp::Distribution;
use baken_exchange::{Count, Cvss, Export, ExportedFinding, Remediation, Vulnerability};
use baken_model::{OrgId, Tlp};
use baken_store::FindingQuery;
use baken_store::audit::NewAuditEntry;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{App, AppError, Result, Viewer};

/// The formats baken exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A STIX 2.1 bundle (JSON).
    Stix,
    /// A MISP event (JSON).
    Misp,
    /// IntelMQ events (JSON lines).
    Intelmq,
}

impl ExportFormat {
    /// The name on the command line and in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Stix => "stix",
            ExportFormat::Misp => "misp",
            ExportFormat::Intelmq => "intelmq",
        }
    }
}

/// One export asked for.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The format.
    pub format: ExportFormat,
    /// The incident.
    pub incident: String,
    /// Whom it is for: a party of the registry, or the analysts themselves.
    pub viewer: Viewer,
    /// The sharing policy that decides what the party may see.
    pub policy: String,
    /// Only findings last seen (and, for IntelMQ, observations made) at or after this time
    /// (Unix seconds).
    pub since: Option<i64>,
    /// The producer's name, as the export names its author (`baken` when `None`).
    pub producer: Option<String>,
    /// Where it goes (a file name, standard output), for the audit log.
    pub destination: String,
}

/// An export made: its bytes and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The format.
    pub format: ExportFormat,
    /// The incident.
    pub incident: String,
    /// The party it is for (its key), or `analysts`.
    pub party: String,
    /// The policy that decided it.
    pub policy: String,
    /// The findings it holds, by id.
    pub findings: Vec<i64>,
    /// The observations it holds (IntelMQ; for the other formats, one per finding).
    pub records: usize,
    /// The sectors it holds counts of (for a party that may see only counts).
    pub counts: usize,
    /// Its TLP label: the most restrictive of what it carries.
    pub tlp: Tlp,
    /// The exported document.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl App {
    /// Makes the export `request` asks for: what [`App::visible`] lets its party see of the
    /// incident under the policy (the analysts: everything), in the party's form, written
    /// to the audit log before it is handed back.
    pub fn export(&mut self, request: &ExportRequest) -> Result<Exported> {
        let incident = request.incident.to_ascii_lowercase();
        let all = self.store.finding_records(&FindingQuery {
            incident: Some(incident.clone()),
            ..FindingQuery::default()
        })?;
        if all.is_empty() {
            return Err(AppError::NotFound(format!(
                "no findings of incident {incident}; `baken findings` lists them"
            )));
        }
        let attributor = self.attributor()?;
        if let Viewer::Party(id) = &request.viewer
            && attributor.organisation(id).is_none()
        {
            return Err(AppError::NotFound(format!(
                "no organisation {id} in the registry; an export is for a registered party, \
                 or --internal for the analysts"
            )));
        }
        let visible = self.visible_quietly(&request.viewer, Some(&incident), &request.policy)?;
        let since = request.since.unwrap_or(i64::MIN);
        let by_id: BTreeMap<i64, _> = all.iter().map(|r| (r.id, r.clone())).collect();
        let chosen: Vec<_> = visible
            .findings
            .iter()
            .filter_map(|v| by_id.get(&v.finding.id).map(|r| (v, r)))
            .filter(|(_, r)| r.last_seen >= since)
            .collect();
        let loaded = baken_pipeline::findings::with_events(
            &*self.store,
            &attributor,
            chosen.iter().map(|(_, r)| (*r).clone()).collect(),
        )?;
        let tlp_of: BTreeMap<i64, Tlp> = loaded
            .iter()
            .map(|f| (f.id, f.tlp.unwrap_or(Tlp::Amber)))
            .collect();
        let time = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        let findings: Vec<ExportedFinding> = chosen
            .iter()
            .map(|(v, r)| ExportedFinding {
                address: r.addr.clone(),
                port: (r.port != 0).then_some(r.port),
                transport: (!r.transport.is_empty()).then(|| r.transport.clone()),
                first_seen: time(r.first_seen),
                last_seen: time(r.last_seen),
                times_seen: r.times_seen,
                tlp: tlp_of.get(&r.id).copied().unwrap_or(Tlp::Amber),
                about: v.about.key(),
                form: v.form.as_str().to_string(),
            })
            .collect();
        let counts: Vec<Count> = visible
            .counts
            .iter()
            .map(|c| Count {
                sector: c.sector.clone(),
                organisations: c.organisations.clone(),
                findings: c.findings.clone(),
            })
            .collect();
        // counts carry the label of the feeds they count (AMBER unless a finding says more)
        let mut tlp = findings.iter().map(|f| f.tlp).max().unwrap_or(Tlp::Clear);
        if !counts.is_empty() {
            tlp = tlp.max(Tlp::Amber);
        }
        let distribution = match &request.viewer {
            Viewer::Analyst => Distribution::OrganisationOnly,
            Viewer::Party(_) => findings
                .iter()
                .map(|f| Distribution::of(&f.form, f.tlp))
                .chain([Distribution::of_tlp(tlp)])
                .min()
                .unwrap_or(Distribution::OrganisationOnly),
        };
        let vulnerability = self.advisory_context(&incident)?.map(|a| Vulnerability {
            title: a.title,
            score: a.score.map(|s| Cvss {
                version: s.version,
                base_score: s.base_score,
                severity: s.severity,
                vector: s.vector,
            }),
            remediations: a
                .remediations
                .into_iter()
                .map(|r| Remediation {
                    category: r.category,
                    details: r.details,
                    url: r.url,
                })
                .collect(),
        });
        let party = match &request.viewer {
            Viewer::Analyst => "analysts".to_string(),
            Viewer::Party(OrgId(id)) => id.clone(),
        };
        let export = Export {
            incident: incident.clone(),
            producer: request.producer.clone().unwrap_or_else(|| "baken".into()),
            recipient: matches!(request.viewer, Viewer::Party(_)).then(|| party.clone()),
            since: time(all.iter().map(|r| r.first_seen).min().unwrap_or(0)),
            generated_at: DateTime::parse_from_rfc3339(&baken_store::now())
                .map(|t| t.to_utc())
                .unwrap_or_else(|_| Utc::now()),
            vulnerability,
            findings,
            counts,
            distribution,
            tlp,
        };
        let ids: Vec<i64> = chosen.iter().map(|(_, r)| r.id).collect();
        let (bytes, records) = match request.format {
            ExportFormat::Stix => (pretty(&baken_exchange::stix::bundle(&export)), ids.len()),
            ExportFormat::Misp => (pretty(&baken_exchange::misp::event(&export)), ids.len()),
            ExportFormat::Intelmq => {
                let mut events = Vec::new();
                for id in &ids {
                    let detail = baken_pipeline::findings::detail(&*self.store, &attributor, *id)?
                        .ok_or_else(|| AppError::NotFound(format!("no finding {id}")))?;
                    for o in detail.observations {
                        let seen = o
                            .seen_at
                            .as_deref()
                            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                            .map(|t| t.timestamp());
                        if seen.is_none_or(|s| s >= since) {
                            events.push(o.event);
                        }
                    }
                }
                let n = events.len();
                events.extend(baken_exchange::intelmq::count_events(&export));
                (baken_exchange::intelmq::lines(&events), n)
            }
        };
        self.store.append_audit(&[NewAuditEntry {
            kind: "export".into(),
            subject: party.clone(),
            body: serde_json::json!({
                "format": request.format.name(),
                "incident": incident,
                "party": party,
                "policy": request.policy,
                "since": request.since,
                "destination": request.destination,
                "tlp": tlp.label(),
                "findings": ids,
                "records": records,
                "counts": export.counts.len(),
            })
            .to_string(),
        }])?;
        tracing::info!(
            format = request.format.name(),
            incident = %incident,
            party = %party,
            findings = ids.len(),
            counts = export.counts.len(),
            "exported"
        );
        Ok(Exported {
            format: request.format,
            incident,
            party,
            policy: request.policy.clone(),
            findings: ids,
            records,
            counts: export.counts.len(),
            tlp,
            bytes,
        })
    }
}

fn pretty(value: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}
