//! `baken inbox import`: presents what recipients' replies did (the work is
//! `baken_pipeline::inbox`).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use baken_pipeline::inbox::{MatchedBy, Outcome, Reply, Said};

/// Imports the replies at `paths` and lists each with what it did, then the totals; fails,
/// naming them, when any message could not be read (the others are applied).
pub(crate) fn import(data: &Path, paths: &[PathBuf], json: bool) -> Result<()> {
    let imported = baken_app::App::open(data)?.import_replies(paths)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&imported)?);
    } else {
        for reply in &imported.replies {
            print_reply(reply);
        }
        let t = &imported.totals;
        println!(
            "{} replies read: {} applied, {} unclear (acknowledged, for an analyst to read), \
             {} unmatched, {} auto-replies, {} unreadable",
            t.read, t.applied, t.unclear, t.unmatched, t.auto_replies, t.unreadable
        );
        println!(
            "findings: {} acknowledged, {} claimed fixed, {} unchanged",
            t.acknowledged, t.claimed_fixed, t.unchanged
        );
        if t.incident_reports + t.reports_refused > 0 {
            println!(
                "incident reports: {} stages filed, {} refused",
                t.incident_reports, t.reports_refused
            );
        }
    }
    let unreadable: Vec<String> = imported
        .replies
        .iter()
        .filter(|r| r.outcome == Outcome::Unreadable)
        .map(|r| {
            format!(
                "{} ({})",
                r.place,
                r.reason.as_deref().unwrap_or("unreadable")
            )
        })
        .collect();
    if !unreadable.is_empty() {
        bail!(
            "{} message(s) could not be read and changed nothing: {}",
            unreadable.len(),
            unreadable.join("; ")
        );
    }
    Ok(())
}

fn print_reply(r: &Reply) {
    let outcome = match (r.outcome, r.said) {
        (Outcome::Applied, Some(Said::Fixed)) => "claims fixed",
        (Outcome::Applied, _) => "acknowledges",
        (Outcome::Unclear, _) => "unclear",
        (Outcome::Unmatched, _) => "unmatched",
        (Outcome::AutoReply, _) => "auto-reply",
        (Outcome::Unreadable, _) => "unreadable",
        (Outcome::IncidentReport, _) => "incident report filed",
        (Outcome::ReportRefused, _) => "incident report refused",
    };
    println!("{}: {outcome}", r.place);
    if r.from.is_some() || r.subject.is_some() {
        println!(
            "  from {}, subject {:?}",
            r.from.as_deref().unwrap_or("-"),
            r.subject.as_deref().unwrap_or("")
        );
    }
    if let Some(m) = &r.matched {
        let by = match m.by {
            MatchedBy::InReplyTo => "In-Reply-To",
            MatchedBy::References => "References",
            MatchedBy::Ticket => "ticket in the subject",
        };
        let ticket = m
            .ticket
            .map(|t| format!(", {}", baken_pipeline::notify::ticket_reference(t)))
            .unwrap_or_default();
        println!(
            "  answers {} ({}{ticket}, by {by})",
            m.messages.join(", "),
            m.incident
        );
    }
    if let Some(reason) = &r.reason {
        println!("  {reason}");
    }
    if !r.acknowledged.is_empty() {
        println!("  acknowledged: findings {}", ids(&r.acknowledged));
    }
    if !r.claimed_fixed.is_empty() {
        println!("  claimed fixed: findings {}", ids(&r.claimed_fixed));
    }
    for u in &r.unchanged {
        let state = u.state.map(|s| s.as_str()).unwrap_or("gone");
        println!("  unchanged: finding {} ({state}): {}", u.finding, u.why);
    }
    for flag in &r.flags {
        println!("  note: {flag}");
    }
}

fn ids(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
