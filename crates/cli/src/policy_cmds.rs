//! `baken why`, `whatif`, `coverage` and `prune`: reading the disclosure plan of an incident.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use baken_attribute::Attributor;
use baken_model::Tlp;
use baken_pipeline::notify::{delivered_coverage, plan_incident};
use baken_pipeline::plan::{Affected, Coverage, Plan};
use baken_pipeline::{attributor_from_store, load_policy};
use baken_store::{SqliteStore, prelude::*};

fn open(data: &Path) -> Result<SqliteStore> {
    Ok(SqliteStore::open(data)?)
}

fn load_plan(
    data: &Path,
    incident: &str,
    policy: &str,
    tlp: Tlp,
) -> Result<(SqliteStore, Attributor, Plan)> {
    let store = open(data)?;
    let attributor = attributor_from_store(&store)?;
    let policy = load_policy(policy)?;
    let plan = plan_incident(&store, &attributor, &policy, incident, tlp, &[])?;
    if plan.affected.is_empty() {
        bail!(
            "incident {incident:?} has no findings in {}; `baken ingest` a feed first",
            data.display()
        );
    }
    Ok((store, attributor, plan))
}

fn coverage_line(c: &Coverage) -> String {
    match c {
        Coverage::Reached { paths } => format!(
            "reached through {}",
            paths
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Coverage::Unreachable { reason } => format!("unreachable: {reason}"),
    }
}

/// `baken why TARGET --incident ID`.
pub fn why(data: &Path, target: &str, incident: &str, policy: &str, tlp: Tlp) -> Result<()> {
    let (store, attributor, plan) = load_plan(data, incident, policy, tlp)?;
    // A finding (store id or address) stands for the organisation it is about.
    let mut subject = target.to_string();
    let findings = baken_pipeline::findings::of_incident(&store, &attributor, incident)?;
    let finding = findings
        .iter()
        .find(|f| f.id.to_string() == target || f.event.get_str("source.ip") == Some(target));
    if let Some(f) = finding {
        println!(
            "finding {} ({}) is attributed by rule {}: {}",
            f.id,
            f.event.get_str("source.ip").unwrap_or("-"),
            f.attribution.rule.as_str(),
            f.attribution.reason
        );
        subject = match &f.attribution.owner {
            baken_model::Owner::Organisation { id } => id.0.clone(),
            baken_model::Owner::Abuse(c) => {
                format!("{}{}", baken_pipeline::plan::UNREGISTERED_PREFIX, c.email)
            }
            baken_model::Owner::Unknown => f.event.get_str("source.ip").unwrap_or(target).into(),
        };
    }
    let affected = delivered_coverage(&store, &plan)?;
    let about: Vec<_> = plan
        .decisions
        .iter()
        .filter(|d| d.subject == subject)
        .collect();
    let to: Vec<_> = plan
        .decisions
        .iter()
        .filter(|d| d.recipient == subject && d.subject != subject)
        .collect();
    if about.is_empty() && to.is_empty() && !affected.iter().any(|a| a.id == subject) {
        bail!(
            "{target} is neither affected by {incident} nor a recipient of anything about it under policy {}",
            plan.policy
        );
    }
    println!("policy {}, incident {}", plan.policy, plan.incident);
    if let Some(a) = affected.iter().find(|a| a.id == subject) {
        println!(
            "{} ({}): {} finding(s), {}",
            a.id,
            a.name,
            a.findings,
            coverage_line(&a.coverage)
        );
        let mut labels = std::collections::BTreeSet::new();
        for f in &findings {
            let about = match &f.attribution.owner {
                baken_model::Owner::Organisation { id } => id.0.clone(),
                baken_model::Owner::Abuse(c) => {
                    format!("{}{}", baken_pipeline::plan::UNREGISTERED_PREFIX, c.email)
                }
                baken_model::Owner::Unknown => String::new(),
            };
            if about == subject {
                let tlp = f
                    .tlp
                    .map(|t| t.label().to_string())
                    .unwrap_or_else(|| format!("{} (default)", tlp.label()));
                labels.insert(format!("{tlp} from {}", f.provenance));
            }
        }
        for l in labels {
            println!("  findings labelled {l}");
        }
    }
    if !about.is_empty() {
        println!("decisions about {subject}:");
    }
    for d in &about {
        let dd = &d.decision;
        println!(
            "  {:<10} {:<24} form {:<10} {}",
            d.path.as_str(),
            d.recipient,
            dd.form.to_string(),
            match &d.contact {
                Ok(c) => format!("<{c}>"),
                Err(e) => format!("({e})"),
            }
        );
        println!(
            "             rule {} · role {} · {} · class {}{}",
            dd.rule.as_deref().unwrap_or("-"),
            dd.role.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            dd.tlp.label(),
            dd.class,
            dd.invariant
                .map(|i| format!(" · limited by {}", i.as_str()))
                .unwrap_or_default()
        );
        println!("             basis: {}", dd.basis);
        println!("             {}", dd.explanation);
    }
    if !to.is_empty() {
        let mut forms: BTreeMap<String, usize> = BTreeMap::new();
        for d in &to {
            *forms.entry(d.decision.form.to_string()).or_default() += 1;
        }
        println!(
            "as recipient, {subject} was considered for {} organisations: {}",
            to.len(),
            forms
                .iter()
                .map(|(f, n)| format!("{n} × {f}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for d in to.iter().take(10) {
            println!(
                "  about {:<24} {:<10} rule {} — {}",
                d.subject,
                d.decision.form.to_string(),
                d.decision.rule.as_deref().unwrap_or("-"),
                d.decision.explanation
            );
        }
        more(to.len(), 10, "  ");
    }
    Ok(())
}

/// `baken whatif --policy OTHER --incident ID`.
pub fn whatif(
    data: &Path,
    other: &str,
    against: &str,
    incident: &str,
    tlp: Tlp,
    json: bool,
) -> Result<()> {
    let (_store, _, base) = load_plan(data, incident, against, tlp)?;
    let (_store, _, alt) = load_plan(data, incident, other, tlp)?;
    let paths = |a: &Affected| match &a.coverage {
        Coverage::Reached { paths } => paths.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        Coverage::Unreachable { .. } => Vec::new(),
    };
    let before: BTreeMap<&str, &Affected> =
        base.affected.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut gained = Vec::new();
    let mut lost = Vec::new();
    let mut changed = Vec::new();
    for a in &alt.affected {
        let Some(b) = before.get(a.id.as_str()) else {
            continue;
        };
        let (pb, pa) = (paths(b), paths(a));
        match (pb.is_empty(), pa.is_empty()) {
            (true, false) => gained.push((a, pa)),
            (false, true) => lost.push((*b, pb, a)),
            (false, false) if pb != pa => changed.push((a, pb, pa)),
            _ => {}
        }
    }
    let count = |p: &Plan| {
        p.affected
            .iter()
            .filter(|a| matches!(a.coverage, Coverage::Reached { .. }))
            .count()
    };
    if json {
        let v = serde_json::json!({
            "incident": base.incident,
            "against": base.policy,
            "policy": alt.policy,
            "affected": base.affected.len(),
            "reached_before": count(&base),
            "reached_after": count(&alt),
            "gained": gained.iter().map(|(a, p)| serde_json::json!({"id": a.id, "name": a.name, "through": p})).collect::<Vec<_>>(),
            "lost": lost.iter().map(|(b, p, a)| serde_json::json!({"id": b.id, "name": b.name, "was_through": p, "reason": coverage_line(&a.coverage)})).collect::<Vec<_>>(),
            "changed": changed.iter().map(|(a, pb, pa)| serde_json::json!({"id": a.id, "before": pb, "after": pa})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "incident {}: {} affected parties; {} reaches {}, {} reaches {} (nothing sent)",
        base.incident,
        base.affected.len(),
        base.policy,
        count(&base),
        alt.policy,
        count(&alt)
    );
    println!("gained under {}: {}", alt.policy, gained.len());
    let mut through: BTreeMap<String, usize> = BTreeMap::new();
    for (_, p) in &gained {
        *through.entry(p.join("+")).or_default() += 1;
    }
    for (p, n) in &through {
        println!("  {n:>6} through {p}");
    }
    for (a, p) in gained.iter().take(10) {
        println!("    {} ({}) through {}", a.id, a.name, p.join(", "));
    }
    more(gained.len(), 10, "    ");
    println!("lost under {}: {}", alt.policy, lost.len());
    for (b, p, a) in lost.iter().take(20) {
        println!(
            "    {} ({}) was reached through {}; now {}",
            b.id,
            b.name,
            p.join(", "),
            coverage_line(&a.coverage)
        );
    }
    more(lost.len(), 20, "    ");
    println!("reached along other paths: {}", changed.len());
    Ok(())
}

/// `baken coverage --incident ID`.
pub fn coverage(data: &Path, incident: &str, policy: &str, tlp: Tlp, json: bool) -> Result<()> {
    let (store, _, plan) = load_plan(data, incident, policy, tlp)?;
    let affected = delivered_coverage(&store, &plan)?;
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    let mut reached = 0;
    for a in &affected {
        if let Coverage::Reached { paths } = &a.coverage {
            reached += 1;
            for p in paths {
                *by_path.entry(p.as_str().into()).or_default() += 1;
            }
        }
    }
    let unreachable = affected.len() - reached;
    if json {
        let v = serde_json::json!({
            "incident": plan.incident,
            "policy": plan.policy,
            "affected": affected.len(),
            "reached": reached,
            "unreachable": unreachable,
            "by_path": by_path,
            "parties": affected,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "incident {} under {}: {} affected, {} reached, {} unreachable",
        plan.incident,
        plan.policy,
        affected.len(),
        reached,
        unreachable
    );
    for (p, n) in &by_path {
        println!("  reached through {p}: {n}");
    }
    for a in &affected {
        println!(
            "{:<36} {:<6} {:<18} {}",
            a.id,
            if a.vital { "vital" } else { "" },
            a.sector.as_deref().unwrap_or("-"),
            coverage_line(&a.coverage)
        );
    }
    Ok(())
}

/// `baken prune`.
pub fn prune(data: &Path, policy: &str, now: Option<&str>, dry_run: bool) -> Result<()> {
    let policy = load_policy(policy)?;
    let now = match now {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| anyhow::anyhow!("--now {t:?}: {e}; write e.g. 2026-12-01T00:00:00Z"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let cutoff = now - chrono::Duration::days(i64::from(policy.retention_days()));
    let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut store = open(data)?;
    let pruned = store.prune(&cutoff, dry_run)?;
    println!(
        "{} {} observations, {} findings, {} chunks of kept rows and {} quarantined rows \
         older than {cutoff} (policy {}: keep {} days){}",
        if dry_run { "would prune" } else { "pruned" },
        pruned.observations,
        pruned.findings,
        pruned.chunks,
        pruned.quarantined,
        policy.name(),
        policy.retention_days(),
        if dry_run { "; nothing changed" } else { "" },
    );
    Ok(())
}

/// Ends a list cut after `shown` of `total` items with how many were left out.
pub(crate) fn more(total: usize, shown: usize, indent: &str) {
    if total > shown {
        println!("{indent}… {} more (--json lists them all)", total - shown);
    }
}
