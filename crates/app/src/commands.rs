//! Commands that change the record: notify rounds, what people say about findings, marking
//! exploitation, pruning; and the finding queries beside them.

use baken_deliver::Transport;
use baken_model::{OrgId, Tlp};
use baken_pipeline::Progress;
use baken_pipeline::findings::{FindingDetail, FindingView};
use baken_pipeline::notify::{self, IncidentOutcome, NotifyOptions};
use baken_store::{
    Cause, FindingQuery, FindingState, MessageState, Transition, TransitionOutcome, keys,
};
use serde::Serialize;

use crate::{App, AppError, Result};

/// What a notify round is asked to do.
#[derive(Debug, Clone)]
pub struct NotifyRequest {
    /// Only this incident; every incident when `None`.
    pub incident: Option<String>,
    /// The sender, e.g. `NCSC baken <baken@ncsc.example>`.
    pub from: String,
    /// The label of findings that came in without one.
    pub tlp: Tlp,
    /// The sharing policy (a shipped name or a file).
    pub policy: String,
    /// The recipients the source named (registry ids): the only ones TLP:RED findings may go
    /// to.
    pub named: Vec<String>,
    /// Whether the transport may be given a message twice without a second copy arriving
    /// (true for the outbox, false for SMTP).
    pub idempotent_transport: bool,
    /// Re-send messages a crash left in `sending`, even over a non-idempotent transport.
    pub resend_uncertain: bool,
    /// Parties told at most once a day, when that is due; `None` tells everyone at once.
    pub daily: Option<DailyDigest>,
}

/// Parties that asked for one digest a day: a round tells such a party only when no message
/// went to it since the day's digest time last passed (then everything it has not been told,
/// of every incident); other rounds hold its messages back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDigest {
    /// The parties (registry ids).
    pub parties: Vec<String>,
    /// The time of day (UTC) from which a day's digest is due.
    pub at: chrono::NaiveTime,
}

impl DailyDigest {
    /// The parties of `daily` that are not due at `now`, given when each was last sent a
    /// message (`last`, RFC 3339, by party).
    pub fn held(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        last: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeSet<String> {
        let today = now.date_naive().and_time(self.at).and_utc();
        let due_since = if now >= today {
            today
        } else {
            today - chrono::Duration::days(1)
        };
        self.parties
            .iter()
            .filter(|p| {
                last.get(p.as_str())
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= due_since)
            })
            .cloned()
            .collect()
    }
}

/// What a notify round did: per incident, the messages and how every affected party fared.
#[derive(Debug, Clone, Serialize)]
pub struct NotifyReport {
    /// One outcome per incident.
    pub incidents: Vec<IncidentOutcome>,
    /// Messages of each incident in state `sent`, this round's and earlier ones, in the
    /// order of `incidents`.
    pub sent_in_all: Vec<usize>,
    /// Every message that is not delivered, as `party <address> (key): why`.
    pub undelivered: Vec<String>,
}

/// What one person said about findings: `finding ack`, `finding fixed`, `finding note`.
#[derive(Debug, Clone)]
pub struct Said {
    /// The findings.
    pub ids: Vec<i64>,
    /// The state it moves them to (`None` for a note only).
    pub to: Option<FindingState>,
    /// Who said it (name or address), recorded with the change.
    pub by: String,
    /// A note, recorded with the change.
    pub note: Option<String>,
}

/// What became of one finding a person said something about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaidOutcome {
    /// The finding.
    pub id: i64,
    /// What happened.
    pub result: SaidResult,
}

/// What happened to a finding a person said something about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum SaidResult {
    /// The change (or note) was recorded.
    Applied {
        /// The state it was in.
        from: FindingState,
        /// The state it is in now.
        to: FindingState,
    },
    /// It is in that state already: nothing to record, and no failure.
    Already {
        /// Its state.
        state: FindingState,
        /// What the lifecycle says to it.
        why: String,
    },
    /// The lifecycle does not allow the change.
    Refused {
        /// Its state.
        from: FindingState,
        /// Why not.
        why: String,
    },
    /// There is no such finding.
    NoSuchFinding,
}

impl SaidOutcome {
    /// Whether this outcome is a failure of the request (a refused change, an unknown id).
    pub fn failed(&self) -> bool {
        matches!(
            self.result,
            SaidResult::Refused { .. } | SaidResult::NoSuchFinding
        )
    }
}

/// What pruning removed (or, in a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneOutcome {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The cut-off: what is older goes (RFC 3339).
    pub cutoff: String,
    /// The policy that sets the retention.
    pub policy: String,
    /// Its retention in days.
    pub retention_days: u32,
    /// Observations.
    pub observations: u64,
    /// Findings left with no observation.
    pub findings: u64,
    /// Chunks of kept input rows left with no observation.
    pub chunks: u64,
    /// Quarantined rows.
    pub quarantined: u64,
}

/// A time as a user writes it: RFC 3339, or a date (its midnight, UTC); as Unix seconds.
pub fn parse_since(text: &str) -> Result<i64> {
    if let Some(t) = keys::parse_time(text) {
        return Ok(t);
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| {
            AppError::Usage(format!(
                "{text:?} is not a time; write e.g. 2026-03-24 or 2026-03-24T06:00:00Z"
            ))
        })
}

impl App {
    /// Reads the sender's OpenPGP secret key from `path` (armored or binary), unlocked with
    /// `passphrase`, and signs every message of later notify rounds with it (PGP/MIME),
    /// encrypting to a recipient contact's `pgp_key` where it has one. A key that cannot sign
    /// now (a wrong passphrase, expired, revoked, no signing key) is refused, saying why.
    pub fn set_signing_key(
        &mut self,
        path: &std::path::Path,
        passphrase: Option<&str>,
    ) -> Result<String> {
        let bytes = std::fs::read(path).map_err(|e| {
            AppError::Usage(format!(
                "cannot read the signing key {}: {e}",
                path.display()
            ))
        })?;
        let key =
            baken_deliver::SigningKey::parse(&bytes, passphrase, std::time::SystemTime::now())
                .map_err(|e| AppError::Usage(format!("signing key {}: {e}", path.display())))?;
        let fingerprint = key.fingerprint().to_string();
        self.signer = Some(std::sync::Arc::new(key));
        Ok(fingerprint)
    }

    /// The key messages are signed with, when [`App::set_signing_key`] set one.
    pub fn signer(&self) -> Option<std::sync::Arc<baken_deliver::SigningKey>> {
        self.signer.clone()
    }

    /// One notify round over `transport`: first notices, follow-ups, reminders,
    /// escalations and compromise checks, each recipient told only what it has not been
    /// told. A named recipient that is not in the registry is refused with
    /// [`AppError::NotFound`] before anything is sent.
    pub fn notify(
        &mut self,
        request: &NotifyRequest,
        transport: &mut dyn Transport,
        progress: &dyn Progress,
    ) -> Result<NotifyReport> {
        self.notify_with(request, &mut notify::Here { transport }, progress)
    }

    /// [`App::notify`], each round's messages delivered by `deliver`: here, or by workers.
    pub fn notify_with(
        &mut self,
        request: &NotifyRequest,
        deliver: &mut dyn notify::Deliver,
        progress: &dyn Progress,
    ) -> Result<NotifyReport> {
        let attributor = self.attributor()?;
        for party in &request.named {
            if !attributor.is_registered(&OrgId(party.clone())) {
                return Err(AppError::NotFound(format!(
                    "{party}: no organisation with that id in the registry"
                )));
            }
        }
        let policy = self.policy(&request.policy)?;
        let mut options = NotifyOptions::new((*policy).clone(), self.pseudonym_key()?);
        options.incident = request.incident.clone();
        options.from = request.from.clone();
        options.tlp = request.tlp;
        options.idempotent_transport = request.idempotent_transport;
        options.resend_uncertain = request.resend_uncertain;
        options.named_recipients = request.named.iter().cloned().map(OrgId).collect();
        options.signer = self.signer.clone();
        if let Some(daily) = &request.daily {
            for party in &daily.parties {
                if !attributor.is_registered(&OrgId(party.clone())) {
                    return Err(AppError::NotFound(format!(
                        "{party} (a daily digest): no organisation with that id in the registry"
                    )));
                }
            }
            let mut last: std::collections::BTreeMap<String, String> = Default::default();
            for m in self.store.messages(None)? {
                let e = last.entry(m.party).or_default();
                if m.created_at > *e {
                    *e = m.created_at;
                }
            }
            let now = chrono::DateTime::parse_from_rfc3339(&baken_store::now())
                .map(|t| t.to_utc())
                .unwrap_or_else(|_| chrono::Utc::now());
            options.held = daily.held(now, &last);
        }
        let incidents =
            notify::notify_with(&mut *self.store, &attributor, deliver, &options, progress)?;
        let mut sent_in_all = Vec::new();
        for o in &incidents {
            sent_in_all.push(
                self.store
                    .messages(Some(&o.incident))?
                    .iter()
                    .filter(|m| m.state == MessageState::Sent)
                    .count(),
            );
        }
        let undelivered = incidents
            .iter()
            .flat_map(|o| &o.digests)
            .filter(|d| d.state != MessageState::Sent)
            .map(|d| format!("{} <{}> ({}): {}", d.party, d.recipient, d.key, d.detail))
            .collect();
        Ok(NotifyReport {
            incidents,
            sent_in_all,
            undelivered,
        })
    }

    /// Records what someone said about findings, each finding on its own: a change the
    /// lifecycle refuses, or an unknown id, leaves the others recorded.
    pub fn said(&mut self, said: &Said) -> Result<Vec<SaidOutcome>> {
        let changes: Vec<Transition> = said
            .ids
            .iter()
            .map(|&finding| Transition {
                finding,
                to: said.to,
                cause: Cause::Analyst,
                reference: None,
                by: Some(said.by.clone()),
                note: said.note.clone(),
            })
            .collect();
        let outcomes = self.store.transition(&changes)?;
        Ok(said
            .ids
            .iter()
            .zip(outcomes)
            .map(|(&id, outcome)| SaidOutcome {
                id,
                result: match outcome {
                    TransitionOutcome::Applied { from } => SaidResult::Applied {
                        from,
                        to: said.to.unwrap_or(from),
                    },
                    TransitionOutcome::Refused { from, why } if Some(from) == said.to => {
                        SaidResult::Already { state: from, why }
                    }
                    TransitionOutcome::Refused { from, why } => SaidResult::Refused { from, why },
                    TransitionOutcome::NoSuchFinding => SaidResult::NoSuchFinding,
                },
            })
            .collect())
    }

    /// The findings `query` selects, as front ends show them.
    pub fn findings(&self, query: &FindingQuery) -> Result<Vec<FindingView>> {
        let mut query = query.clone();
        query.incident = query.incident.map(|i| i.to_ascii_lowercase());
        Ok(self
            .store
            .finding_records(&query)?
            .iter()
            .map(FindingView::from)
            .collect())
    }

    /// Finding `id` with every observation and every change of its state.
    pub fn finding(&mut self, id: i64) -> Result<FindingDetail> {
        let attributor = self.attributor()?;
        baken_pipeline::findings::detail(&*self.store, &attributor, id)?.ok_or_else(|| {
            AppError::NotFound(format!("no finding {id}; `baken findings` lists them"))
        })
    }

    /// Records that exploitation of `incident` began at `since` (Unix seconds), on the word
    /// of `source`; returns the date recorded and its source (an earlier date stays).
    pub fn mark_exploited(
        &mut self,
        incident: &str,
        since: i64,
        source: &str,
    ) -> Result<(i64, String)> {
        self.store.put_exploitation(incident, since, source)?;
        self.store.exploitation(incident)?.ok_or_else(|| {
            AppError::Store(baken_store::StoreError::Corrupt {
                what: "exploitation date",
                detail: format!("the date of {incident} was recorded but cannot be read back"),
            })
        })
    }

    /// Removes observations, findings, kept rows and quarantined rows older than `policy`'s
    /// retention before `now`; a dry run only counts them.
    pub fn prune(
        &mut self,
        policy: &str,
        now: chrono::DateTime<chrono::Utc>,
        dry_run: bool,
    ) -> Result<PruneOutcome> {
        let policy = self.policy(policy)?;
        let cutoff = now - chrono::Duration::days(i64::from(policy.retention_days()));
        let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let pruned = self.store.prune(&cutoff, dry_run)?;
        Ok(PruneOutcome {
            dry_run,
            cutoff,
            policy: policy.name().to_string(),
            retention_days: policy.retention_days(),
            observations: pruned.observations,
            findings: pruned.findings,
            chunks: pruned.chunks,
            quarantined: pruned.quarantined,
        })
    }
}

impl App {
    /// Replaces the registry with the organisations in `path` (TOML, JSON, JSON lines or
    /// CSV); refuses a file that would remove more than half of it unless `replace_all`.
    pub fn import_registry(
        &mut self,
        path: &std::path::Path,
        replace_all: bool,
    ) -> Result<baken_pipeline::imports::RegistryImport> {
        let r = baken_pipeline::imports::import_registry(&mut *self.store, path, replace_all);
        self.registry_changed();
        Ok(r?)
    }

    /// Replaces the routing table of `path`'s source (prefix → origin AS).
    pub fn import_routing(
        &mut self,
        path: &std::path::Path,
    ) -> Result<baken_pipeline::imports::DataImport> {
        let r = baken_pipeline::imports::import_routing(&mut *self.store, path);
        self.registry_changed();
        Ok(r?)
    }

    /// Replaces the abuse contacts read from RPSL dumps.
    pub fn import_rpsl(
        &mut self,
        paths: &[std::path::PathBuf],
    ) -> Result<baken_pipeline::imports::DataImport> {
        let r = baken_pipeline::imports::import_rpsl(&mut *self.store, paths);
        self.registry_changed();
        Ok(r?)
    }

    /// How ingest stores what it reads: every item labelled `label`, `batch_size` rows a
    /// transaction, fixes verified after as many reports as `policy`'s lifecycle asks.
    pub fn ingest_settings(
        &mut self,
        policy: &str,
        label: baken_store::Label,
        batch_size: usize,
    ) -> Result<baken_pipeline::ingest::Settings> {
        if batch_size == 0 {
            return Err(AppError::Usage("a batch must hold at least 1 row".into()));
        }
        Ok(baken_pipeline::ingest::Settings {
            label,
            batch_size,
            verify_after_reports: self.policy(policy)?.lifecycle().verify_after_reports,
            timeline_incident: None,
        })
    }

    /// Parses, attributes and stores one input file; every row is stored, a duplicate, or
    /// quarantined with its reason, and the summary's counts reconcile.
    ///
    /// A file that labels its rows itself (a STIX bundle's TLP markings, a MISP event's
    /// `tlp:` tags) is stored under the most restrictive label it declares, and under the
    /// settings' label too when some rows carry none: the source sets the label.
    pub fn ingest(
        &mut self,
        input: &baken_pipeline::ingest::Input,
        options: &baken_feeds::Options,
        settings: &baken_pipeline::ingest::Settings,
        progress: &dyn Progress,
    ) -> Result<baken_pipeline::ingest::FileSummary> {
        let attributor = self.attributor()?;
        let settings = labelled(input, options, settings)?;
        Ok(baken_pipeline::ingest::ingest_file(
            &mut *self.store,
            &attributor,
            input,
            options,
            &settings,
            progress,
        )?)
    }
}

/// `settings` for ingesting `input`: a file that labels its rows itself (a STIX bundle's
/// TLP markings, a MISP event's `tlp:` tags) is stored under the most restrictive label it
/// declares, and under the settings' label too when some rows carry none.
pub fn labelled(
    input: &baken_pipeline::ingest::Input,
    options: &baken_feeds::Options,
    settings: &baken_pipeline::ingest::Settings,
) -> Result<baken_pipeline::ingest::Settings> {
    let declared = baken_feeds::declared_tlp(input.feed, &input.path, options)
        .map_err(baken_pipeline::PipelineError::from)?;
    let mut settings = settings.clone();
    if let Some(tlp) = declared.most_restrictive {
        settings.label.tlp = if declared.unlabelled > 0 {
            tlp.max(settings.label.tlp)
        } else {
            tlp
        };
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_party_is_due_once_the_days_digest_time_passed_without_a_message() {
        let daily = DailyDigest {
            parties: vec!["a".into(), "b".into(), "c".into()],
            at: chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        };
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let last: std::collections::BTreeMap<String, String> = [
            ("a", "2026-03-24T07:30:00Z"), // told after today's digest time
            ("b", "2026-03-24T06:59:00Z"), // told before it
        ]
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .into();
        // c was never told: due at once
        assert_eq!(
            daily.held(at("2026-03-24T09:00:00Z"), &last),
            ["a".to_string()].into()
        );
        // before today's digest time, yesterday's counts: b was told after it
        let yesterday: std::collections::BTreeMap<String, String> =
            [("b".to_string(), "2026-03-23T08:00:00Z".to_string())].into();
        assert_eq!(
            daily.held(at("2026-03-24T06:59:30Z"), &yesterday),
            ["b".to_string()].into()
        );
        // the next day everyone is due again
        assert!(daily.held(at("2026-03-25T07:00:00Z"), &last).is_empty());
    }
}
