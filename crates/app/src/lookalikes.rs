//! Lookalike domain names as findings and takedown requests (the work is
//! `baken_pipeline::lookalikes`): recording flagged names, checking whether they still
//! resolve, and asking their registrars and hosters to take them down as the policy allows.

use std::collections::BTreeMap;
use std::path::Path;

use baken_deliver::Transport;
use baken_model::Tlp;
use baken_pipeline::lookalikes::{
    self, Flagged, PlannedTakedown, Recheck, Recorded, Sighting, TakedownOutcome,
};
use baken_store::{Label, now};

use crate::{App, Result};

impl App {
    /// Records `flagged` names as findings of the `lookalike` incident, owned by their
    /// protected names' owners, with what `sightings` (when given) saw of them. `file` names
    /// the input; the findings carry `tlp` (lookalike names are public: TLP:CLEAR unless the
    /// list came from a confidential source).
    pub fn record_lookalikes(
        &mut self,
        flagged: &[Flagged],
        sightings: &[Sighting],
        file: &str,
        tlp: Tlp,
    ) -> Result<Recorded> {
        let attributor = self.attributor()?;
        let by_domain: BTreeMap<String, Sighting> = sightings
            .iter()
            .map(|s| (s.domain.clone(), s.clone()))
            .collect();
        Ok(lookalikes::record(
            &mut self.store,
            &attributor,
            flagged,
            &by_domain,
            file,
            &label(tlp),
            &now(),
        )?)
    }

    /// Checks the recorded lookalikes against what a check saw (see
    /// [`lookalikes::recheck`]): names still up are recorded again, names that no longer
    /// resolve or serve are closed as taken down.
    pub fn recheck_lookalikes(&mut self, sightings: &Path, tlp: Tlp) -> Result<Recheck> {
        let seen = lookalikes::read_sightings(sightings)?;
        let attributor = self.attributor()?;
        Ok(lookalikes::recheck(
            &mut self.store,
            &attributor,
            &seen,
            &sightings.display().to_string(),
            &label(tlp),
            &now(),
        )?)
    }

    /// The takedown requests for the open lookalike findings under `policy`, with the RDAP
    /// answers in `rdap` (`NAME.json`) for the registrars; nothing is sent.
    pub fn plan_takedowns(
        &mut self,
        policy: &str,
        rdap: Option<&Path>,
        tlp: Tlp,
    ) -> Result<Vec<PlannedTakedown>> {
        let attributor = self.attributor()?;
        let policy = self.policy(policy)?;
        Ok(lookalikes::plan_takedowns(
            &self.store,
            &attributor,
            &policy,
            rdap,
            tlp,
        )?)
    }

    /// Plans the takedown requests and sends those the policy allows through `transport`,
    /// each once; every request sent is a message of the `lookalike` incident and an audit
    /// entry.
    pub fn send_takedowns(
        &mut self,
        policy: &str,
        rdap: Option<&Path>,
        tlp: Tlp,
        transport: &mut dyn Transport,
        from: &str,
    ) -> Result<Vec<TakedownOutcome>> {
        let planned = self.plan_takedowns(policy, rdap, tlp)?;
        Ok(lookalikes::send_takedowns(
            &mut self.store,
            transport,
            planned,
            from,
        )?)
    }
}

/// Lookalikes are baken's own findings: supplied by nobody else.
fn label(tlp: Tlp) -> Label {
    Label {
        tlp,
        supplied_by: None,
    }
}
