//! Queries over an incident's disclosure plan: `why`, `whatif` and `coverage`. Nothing is
//! sent and nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use baken_model::{Party, Tlp};
use baken_pipeline::notify::{delivered_coverage, plan_incident, reach_incident};
use baken_pipeline::plan::{Affected, Coverage, Plan, PlannedDecision};
use serde::Serialize;

use crate::{App, AppError, Result};

/// Why a party is (or is not) told what about an incident, under one policy.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    /// The policy.
    pub policy: String,
    /// The incident.
    pub incident: String,
    /// The finding the target named (by store id or address), when it named one.
    pub finding: Option<WhyFinding>,
    /// The party asked about: the target, or the party the named finding is about.
    pub party: Party,
    /// The party as affected, with its coverage as delivered so far; `None` when it is only a
    /// recipient.
    pub affected: Option<Affected>,
    /// The labels its findings carry and where they came from, e.g. `TLP:AMBER from
    /// shadowserver scan_citrix`; a label given by default says so.
    pub labels: Vec<String>,
    /// Every decision about the party: each recipient considered, in which form, by which
    /// rule, on which legal basis.
    pub about: Vec<PlannedDecision>,
    /// Every decision about other parties with this party as the recipient.
    pub as_recipient: Vec<PlannedDecision>,
}

/// The finding a `why` target named.
#[derive(Debug, Clone, Serialize)]
pub struct WhyFinding {
    /// Store id.
    pub id: i64,
    /// `source.ip`, when it has one.
    pub address: Option<String>,
    /// The attribution rule that named its owner.
    pub rule: String,
    /// Why the rule decided so.
    pub reason: String,
}

/// What another policy would change for an incident (nothing is sent).
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    /// The incident.
    pub incident: String,
    /// The policy compared against.
    pub against: String,
    /// The other policy.
    pub policy: String,
    /// Affected parties.
    pub affected: usize,
    /// Parties reached under `against`.
    pub reached_before: usize,
    /// Parties reached under `policy`.
    pub reached_after: usize,
    /// Parties reached only under `policy`.
    pub gained: Vec<Gained>,
    /// Parties reached only under `against`.
    pub lost: Vec<Lost>,
    /// Parties reached under both, along other paths.
    pub changed: Vec<Moved>,
}

/// A party the other policy reaches and the first does not.
#[derive(Debug, Clone, Serialize)]
pub struct Gained {
    /// The party.
    pub id: Party,
    /// Its name.
    pub name: String,
    /// The paths that reach it.
    pub through: Vec<&'static str>,
}

/// A party the first policy reaches and the other does not.
#[derive(Debug, Clone, Serialize)]
pub struct Lost {
    /// The party.
    pub id: Party,
    /// Its name.
    pub name: String,
    /// The paths that reached it.
    pub was_through: Vec<&'static str>,
    /// Why the other policy does not reach it.
    pub reason: String,
}

/// A party both policies reach, along different paths.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// The party.
    pub id: Party,
    /// The paths under the first policy.
    pub before: Vec<&'static str>,
    /// The paths under the other.
    pub after: Vec<&'static str>,
}

/// How every affected party of an incident fared: told along which paths, or why nobody
/// could tell it anything specific. Reached means a message that names it went out.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    /// The incident.
    pub incident: String,
    /// The policy.
    pub policy: String,
    /// Affected parties.
    pub affected: usize,
    /// Of those, reached.
    pub reached: usize,
    /// Of those, not reached.
    pub unreachable: usize,
    /// Reached parties per path (`direct`, `cert`, `dtc`, `hoster`); a party told along two
    /// paths counts under both.
    pub by_path: BTreeMap<String, usize>,
    /// Every affected party.
    pub parties: Vec<Affected>,
}

/// One line for a party's coverage: `reached through direct, cert` or `unreachable: why`.
pub fn coverage_line(a: &Affected) -> String {
    match &a.coverage {
        Coverage::Reached { paths } => format!(
            "reached through {}",
            paths
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Coverage::Unreachable { .. } => {
            format!(
                "unreachable: {}",
                a.unreachable_reason().unwrap_or_default()
            )
        }
    }
}

fn paths(a: &Affected) -> Vec<&'static str> {
    match &a.coverage {
        Coverage::Reached { paths } => paths.iter().map(|p| p.as_str()).collect(),
        Coverage::Unreachable { .. } => Vec::new(),
    }
}

fn reached(p: &Plan) -> usize {
    p.affected
        .iter()
        .filter(|a| matches!(a.coverage, Coverage::Reached { .. }))
        .count()
}

impl App {
    /// The plan of `incident` under `policy`; findings without a label count as `tlp`. Fails
    /// with [`AppError::NotFound`] when the incident has no findings.
    pub fn plan(&mut self, incident: &str, policy: &str, tlp: Tlp) -> Result<Plan> {
        let attributor = self.attributor()?;
        let policy = self.policy(policy)?;
        let plan = plan_incident(&*self.store, &attributor, &policy, incident, tlp, &[])?;
        if plan.affected.is_empty() {
            return Err(AppError::NotFound(format!(
                "incident {incident:?} has no findings in {}; `baken ingest` a feed first",
                self.data.display()
            )));
        }
        Ok(plan)
    }

    /// The affected parties of [`App::plan`] and how each fares, without the plan's
    /// decisions and digests: for comparing policies on a national incident.
    pub fn reach(&mut self, incident: &str, policy: &str, tlp: Tlp) -> Result<Vec<Affected>> {
        let attributor = self.attributor()?;
        let policy = self.policy(policy)?;
        let affected = reach_incident(&*self.store, &attributor, &policy, incident, tlp, &[])?;
        if affected.is_empty() {
            return Err(AppError::NotFound(format!(
                "incident {incident:?} has no findings in {}; `baken ingest` a feed first",
                self.data.display()
            )));
        }
        Ok(affected)
    }

    /// [`App::plan`], kept while the findings (their rows, observations and states), the
    /// attribution index and the policy stay as they were: the service's reads plan each
    /// incident once, not once a request.
    pub fn plan_kept(
        &mut self,
        incident: &str,
        policy: &str,
        tlp: Tlp,
    ) -> Result<std::sync::Arc<Plan>> {
        let stamp = self.store.findings_stamp()?;
        let attributor = self.attributor()?;
        let key = (incident.to_ascii_lowercase(), policy.to_string(), tlp);
        if let Some(kept) = self.plans.get(&key)
            && kept.stamp == stamp
            && std::sync::Arc::ptr_eq(&kept.attributor, &attributor)
        {
            return Ok(kept.plan.clone());
        }
        let plan = std::sync::Arc::new(self.plan(incident, policy, tlp)?);
        self.plans.insert(
            key,
            crate::PlanKept {
                stamp,
                attributor,
                plan: plan.clone(),
            },
        );
        Ok(plan)
    }

    /// Why `target` — a registry id, a stand-in's key, a finding's store id or its address —
    /// is or is not told what about `incident` under `policy`.
    pub fn why(&mut self, target: &str, incident: &str, policy: &str, tlp: Tlp) -> Result<Why> {
        let plan = self.plan(incident, policy, tlp)?;
        let attributor = self.attributor()?;
        let findings = baken_pipeline::findings::of_incident(&*self.store, &attributor, incident)?;
        // a finding (store id or address) stands for the party it is about
        let named = findings
            .iter()
            .find(|f| f.id.to_string() == target || f.event.get_str("source.ip") == Some(target));
        let party = match named {
            Some(f) => Party::owning(
                &f.attribution.owner,
                f.event.get_str("source.ip").unwrap_or(target),
            ),
            None => Party::from_key(target),
        };
        let finding = named.map(|f| WhyFinding {
            id: f.id,
            address: f.event.get_str("source.ip").map(str::to_string),
            rule: f.attribution.rule.as_str().to_string(),
            reason: f.attribution.reason.clone(),
        });
        let affected = delivered_coverage(&*self.store, &plan)?
            .into_iter()
            .find(|a| a.id == party);
        let about: Vec<PlannedDecision> = plan
            .decisions
            .iter()
            .filter(|d| d.subject == party)
            .cloned()
            .collect();
        let as_recipient: Vec<PlannedDecision> = plan
            .decisions
            .iter()
            .filter(|d| d.recipient == party && d.subject != party)
            .cloned()
            .collect();
        if about.is_empty() && as_recipient.is_empty() && affected.is_none() {
            return Err(AppError::NotFound(format!(
                "{target} is neither affected by {incident} nor a recipient of anything about it under policy {}",
                plan.policy
            )));
        }
        let mut labels = BTreeSet::new();
        if affected.is_some() {
            for f in &findings {
                if Party::owning(
                    &f.attribution.owner,
                    f.event.get_str("source.ip").unwrap_or(""),
                ) == party
                {
                    let label = f
                        .tlp
                        .map(|t| t.label().to_string())
                        .unwrap_or_else(|| format!("{} (default)", tlp.label()));
                    labels.insert(format!("{label} from {}", f.provenance));
                }
            }
        }
        Ok(Why {
            policy: plan.policy,
            incident: plan.incident,
            finding,
            party,
            affected,
            labels: labels.into_iter().collect(),
            about,
            as_recipient,
        })
    }

    /// What `other` would change against `against` for `incident`: who would be reached,
    /// who no longer, who along other paths.
    pub fn whatif(
        &mut self,
        other: &str,
        against: &str,
        incident: &str,
        tlp: Tlp,
    ) -> Result<WhatIf> {
        let base = self.plan(incident, against, tlp)?;
        let alt = self.plan(incident, other, tlp)?;
        let before: BTreeMap<&Party, &Affected> =
            base.affected.iter().map(|a| (&a.id, a)).collect();
        let mut gained = Vec::new();
        let mut lost = Vec::new();
        let mut changed = Vec::new();
        for a in &alt.affected {
            let Some(b) = before.get(&a.id) else {
                continue;
            };
            let (pb, pa) = (paths(b), paths(a));
            match (pb.is_empty(), pa.is_empty()) {
                (true, false) => gained.push(Gained {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    through: pa,
                }),
                (false, true) => lost.push(Lost {
                    id: b.id.clone(),
                    name: b.name.clone(),
                    was_through: pb,
                    reason: coverage_line(a),
                }),
                (false, false) if pb != pa => changed.push(Moved {
                    id: a.id.clone(),
                    before: pb,
                    after: pa,
                }),
                _ => {}
            }
        }
        Ok(WhatIf {
            affected: base.affected.len(),
            reached_before: reached(&base),
            reached_after: reached(&alt),
            incident: base.incident,
            against: base.policy,
            policy: alt.policy,
            gained,
            lost,
            changed,
        })
    }

    /// How every affected party of `incident` fared under `policy`, as delivered so far.
    pub fn coverage(&mut self, incident: &str, policy: &str, tlp: Tlp) -> Result<CoverageReport> {
        let plan = self.plan(incident, policy, tlp)?;
        let parties = delivered_coverage(&*self.store, &plan)?;
        let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
        let mut reached = 0;
        for a in &parties {
            if let Coverage::Reached { paths } = &a.coverage {
                reached += 1;
                for p in paths {
                    *by_path.entry(p.as_str().into()).or_default() += 1;
                }
            }
        }
        Ok(CoverageReport {
            incident: plan.incident,
            policy: plan.policy,
            affected: parties.len(),
            reached,
            unreachable: parties.len() - reached,
            by_path,
            parties,
        })
    }
}
