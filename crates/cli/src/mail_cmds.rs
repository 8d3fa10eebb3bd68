//! What `notify` prints about signed and encrypted mail, and where its key's passphrase
//! comes from.

use baken_pipeline::notify::IncidentOutcome;

/// The environment variable that holds the passphrase of `notify --sign-key`.
pub(crate) const SIGN_KEY_PASSPHRASE_ENV: &str = "BAKEN_SIGN_KEY_PASSPHRASE";

/// One line counting this round's messages by protection (`2 signed+encrypted, 5 signed`),
/// and each message that could not be encrypted with why; nothing for plain rounds.
pub(crate) fn print_protection(o: &IncidentOutcome) {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in o.digests.iter().filter(|d| d.delivered_now) {
        if let Some(p) = &d.protection {
            let kind = p.split(" (").next().unwrap_or(p);
            *counts.entry(kind).or_default() += 1;
        }
    }
    if counts.keys().all(|k| *k == "plain") {
        return;
    }
    let line: Vec<String> = counts
        .iter()
        .rev()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    println!("  OpenPGP: {}", line.join(", "));
    for d in o.digests.iter().filter(|d| d.delivered_now) {
        if let Some(p) = &d.protection
            && p.contains("not encrypted")
        {
            println!("  {} <{}>: {p}", d.party, d.recipient);
        }
    }
}
