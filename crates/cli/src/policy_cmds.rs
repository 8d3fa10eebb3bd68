//! `baken why`, `whatif`, `coverage` and `prune`: the plan of an incident and the retention,
//! as the application core answers them, printed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use baken_app::{App, coverage_line};
use baken_model::Tlp;

/// `baken why TARGET --incident ID`.
pub fn why(
    data: &Path,
    target: &str,
    incident: &str,
    policy: &str,
    tlp: Tlp,
    json: bool,
) -> Result<()> {
    let w = App::open(data)?.why(target, incident, policy, tlp)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&w)?);
        return Ok(());
    }
    if let Some(f) = &w.finding {
        println!(
            "finding {} ({}) is attributed by rule {}: {}",
            f.id,
            f.address.as_deref().unwrap_or("-"),
            f.rule,
            f.reason
        );
    }
    println!("policy {}, incident {}", w.policy, w.incident);
    if let Some(a) = &w.affected {
        println!(
            "{} ({}): {} finding(s), {}",
            a.id,
            a.name,
            a.findings,
            coverage_line(a)
        );
        for l in &w.labels {
            println!("  findings labelled {l}");
        }
    }
    if !w.about.is_empty() {
        println!("decisions about {}:", w.party);
    }
    for d in &w.about {
        let dd = &d.decision;
        println!(
            "  {:<10} {:<24} form {:<10} {}",
            d.path.as_str(),
            d.recipient.to_string(),
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
        if let Some(source) = &d.contact_source {
            println!("             contact from {source}");
        }
        println!("             {}", dd.explanation);
    }
    let to = &w.as_recipient;
    if !to.is_empty() {
        let mut forms: BTreeMap<String, usize> = BTreeMap::new();
        for d in to {
            *forms.entry(d.decision.form.to_string()).or_default() += 1;
        }
        println!(
            "as recipient, {} was considered for {} organisations: {}",
            w.party,
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
                d.subject.to_string(),
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
    let w = App::open(data)?.whatif(other, against, incident, tlp)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&w)?);
        return Ok(());
    }
    println!(
        "incident {}: {} affected parties; {} reaches {}, {} reaches {} (nothing sent)",
        w.incident, w.affected, w.against, w.reached_before, w.policy, w.reached_after
    );
    println!("gained under {}: {}", w.policy, w.gained.len());
    let mut through: BTreeMap<String, usize> = BTreeMap::new();
    for g in &w.gained {
        *through.entry(g.through.join("+")).or_default() += 1;
    }
    for (p, n) in &through {
        println!("  {n:>6} through {p}");
    }
    for g in w.gained.iter().take(10) {
        println!("    {} ({}) through {}", g.id, g.name, g.through.join(", "));
    }
    more(w.gained.len(), 10, "    ");
    println!("lost under {}: {}", w.policy, w.lost.len());
    for l in w.lost.iter().take(20) {
        println!(
            "    {} ({}) was reached through {}; now {}",
            l.id,
            l.name,
            l.was_through.join(", "),
            l.reason
        );
    }
    more(w.lost.len(), 20, "    ");
    println!("reached along other paths: {}", w.changed.len());
    Ok(())
}

/// `baken coverage --incident ID`.
pub fn coverage(data: &Path, incident: &str, policy: &str, tlp: Tlp, json: bool) -> Result<()> {
    let c = App::open(data)?.coverage(incident, policy, tlp)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    println!(
        "incident {} under {}: {} affected, {} reached, {} unreachable",
        c.incident, c.policy, c.affected, c.reached, c.unreachable
    );
    for (p, n) in &c.by_path {
        println!("  reached through {p}: {n}");
    }
    for a in &c.parties {
        println!(
            "{:<36} {:<6} {:<18} {}",
            a.id.to_string(),
            if a.vital { "vital" } else { "" },
            a.sector.as_deref().unwrap_or("-"),
            coverage_line(a)
        );
    }
    Ok(())
}

/// `baken prune`.
pub fn prune(data: &Path, policy: &str, now: Option<&str>, dry_run: bool) -> Result<()> {
    let now = match now {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| anyhow::anyhow!("--now {t:?}: {e}; write e.g. 2026-12-01T00:00:00Z"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let p = App::open(data)?.prune(policy, now, dry_run)?;
    println!(
        "{} {} observations, {} findings, {} chunks of kept rows and {} quarantined rows \
         older than {} (policy {}: keep {} days){}",
        if p.dry_run { "would prune" } else { "pruned" },
        p.observations,
        p.findings,
        p.chunks,
        p.quarantined,
        p.cutoff,
        p.policy,
        p.retention_days,
        if p.dry_run { "; nothing changed" } else { "" },
    );
    Ok(())
}

/// Ends a list cut after `shown` of `total` items with how many were left out.
pub(crate) fn more(total: usize, shown: usize, indent: &str) {
    if total > shown {
        println!("{indent}… {} more (--json lists them all)", total - shown);
    }
}
