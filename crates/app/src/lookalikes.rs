//! Lookalike domain names as findings and takedown requests (the work is
//! `baken_pipeline::lookalikes`): recording flagged names, checking whether they still
//! resolve, and asking their registrars and hosters to take them down as the policy allows.

use std::collections::{BTreeMap, HashSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use baken_deliver::Transport;
use baken_model::Tlp;
use baken_pipeline::lookalikes::{
    self, Flagged, PlannedTakedown, Recheck, Recorded, Sighting, TakedownOutcome,
};
use baken_store::{Label, now};

use crate::{App, AppError, Result};

/// The protected list `baken lookalike protect` keeps in the data directory.
pub const PROTECT_FILE: &str = "lookalike-protect.txt";

/// Crisis keywords, one a line, kept beside it: they raise the score of names the intake
/// directory's `lookalike/` files flag.
pub const KEYWORDS_FILE: &str = "lookalike-keywords.txt";

/// Reads a protected list, failing with every line it could not read.
pub fn read_protected(path: &Path) -> Result<Vec<baken_lookalike::Protected>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::Usage(format!("{}: {e}", path.display())))?;
    let (names, errors) = baken_lookalike::protect::parse(&text);
    if !errors.is_empty() {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {e}", path.display()))
            .collect();
        return Err(AppError::Usage(format!(
            "the protected list could not be read:\n{}",
            lines.join("\n")
        )));
    }
    Ok(names)
}

/// The scanner for `protect` (the files given, else the list kept in `data`), raising the
/// score for `keywords`; with `registry_owned`, the domains the protected names' owners hold
/// in the registry of `data` are never flagged (an owner not in the registry is an error).
/// `data`'s store is opened only for `registry_owned`.
pub fn lookalike_scanner(
    data: &Path,
    protect: &[PathBuf],
    keywords: Vec<String>,
    registry_owned: bool,
    permutations: baken_lookalike::Options,
) -> Result<baken_lookalike::Scanner> {
    let mut protected = Vec::new();
    if protect.is_empty() {
        let kept = data.join(PROTECT_FILE);
        if !kept.exists() {
            return Err(AppError::Usage(
                "no protected names: add some with `baken lookalike protect add NAME --owner ORG` \
                 or pass --protect FILE"
                    .into(),
            ));
        }
        protected = read_protected(&kept)?;
    }
    for p in protect {
        protected.extend(read_protected(p)?);
    }
    let mut allowed = Vec::new();
    if registry_owned {
        let domains = App::open(data)?.registered_domains()?;
        for p in &protected {
            let Some(owner) = &p.owner else { continue };
            let Some(held) = domains.get(owner) else {
                return Err(AppError::Usage(format!(
                    "protected name {}: its owner {owner:?} is not in the registry \
                     (import it with `baken registry import`, or correct the owner)",
                    p.name
                )));
            };
            allowed.extend(held.iter().cloned());
        }
    }
    let config = baken_lookalike::Config {
        keywords,
        allowed,
        permutations,
    };
    baken_lookalike::Scanner::new(&protected, &config)
        .map_err(|e| AppError::Usage(format!("the protected list: {e}")))
}

/// A flagged name as the pipeline records it.
pub fn flagged(flag: &baken_lookalike::Flag) -> Flagged {
    Flagged {
        domain: flag.domain.clone(),
        unicode: flag.unicode.clone(),
        protected: flag.protected.clone(),
        owner: flag.owner.clone(),
        kinds: flag.kinds.iter().map(|k| k.name().to_string()).collect(),
        keywords: flag.keywords.clone(),
        score: flag.score,
    }
}

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
            &mut *self.store,
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
            &mut *self.store,
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
            &*self.store,
            &attributor,
            &policy,
            rdap,
            tlp,
        )?)
    }

    /// Plans the takedown requests and sends those the policy allows through `transport`,
    /// each once, signed with the key [`App::set_signing_key`] loaded, if any; every request
    /// sent is a message of the `lookalike` incident and an audit entry.
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
            &mut *self.store,
            transport,
            planned,
            from,
            self.signer.as_ref(),
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

impl App {
    /// Scans one file of names (a list, certstream JSON lines or a zone difference) with the
    /// kept protected list and keywords, never flagging what the owners hold, and records
    /// what it flags as TLP:CLEAR (names from such sources are public). A line that cannot
    /// be read fails the file, naming it; nothing of a failed file is recorded.
    pub fn intake_lookalikes(&mut self, path: &Path) -> Result<Recorded> {
        let keywords = match std::fs::read_to_string(self.data.join(KEYWORDS_FILE)) {
            Ok(text) => text
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
            Err(_) => Vec::new(),
        };
        let scanner = lookalike_scanner(
            &self.data,
            &[],
            keywords,
            true,
            baken_lookalike::Options::default(),
        )?;
        let shown = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| AppError::Usage(format!("{shown}: {e}")))?;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let errors = baken_lookalike::input::read_names(BufReader::new(file), |_, name| {
            if let Some(flag) = scanner.scan(name)
                && seen.insert(flag.domain.clone())
            {
                found.push(flagged(&flag));
            }
        })
        .map_err(|e| AppError::Usage(format!("{shown}: {e}")))?;
        if let Some(e) = errors.first() {
            return Err(AppError::Usage(format!(
                "{shown}: {e} ({} line(s) could not be read)",
                errors.len()
            )));
        }
        self.record_lookalikes(&found, &[], &format!("intake {shown}"), Tlp::Clear)
    }
}
