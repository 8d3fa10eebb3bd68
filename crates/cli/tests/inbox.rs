//! Replies close the loop, as a user runs it: notify, recipients answer, `baken inbox
//! import` reads their replies from a Maildir or an mbox and records what they said.

mod common;

use std::path::Path;

use common::{run, run_ok, s};
use mail_parser::MessageParser;
use serde_json::{Value, json};

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example", role = "security" }]

[[organisation]]
id = "org-b"
name = "Beta Energie NV"
sector = "energy"
vital = true
networks = ["198.18.2.0/24"]
contacts = [{ email = "csirt@beta.example", role = "security" }]

[[organisation]]
id = "org-c"
name = "Gamma Water NV"
sector = "water"
vital = true
networks = ["198.18.3.0/24"]
contacts = [{ email = "security@gamma.example", role = "security" }]
"#;

const HOSTS: [&str; 4] = ["198.18.1.1", "198.18.1.2", "198.18.2.1", "198.18.3.1"];

/// A registry, a day's Citrix scan of four hosts of three organisations, and the first
/// notices in the outbox.
fn world() -> (tempfile::TempDir, std::path::PathBuf, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let feed = dir.path().join("day1-intelmq.jsonl");
    let text: String = HOSTS
        .iter()
        .map(|ip| {
            let e = json!({
                "feed.name": "scan-citrix",
                "time.source": "2020-01-10T06:00:00+00:00",
                "source.ip": ip,
                "source.port": 443,
                "protocol.transport": "tcp",
                "classification.taxonomy": "vulnerable",
                "classification.type": "vulnerable-system",
                "classification.identifier": "citrix",
                "product.vulnerabilities": "CVE-2019-19781",
            });
            format!("{e}\n")
        })
        .collect();
    std::fs::write(&feed, text).unwrap();
    run_ok(&data, &["ingest", "--feed", "intelmq", s(&feed)]);
    let out = run_ok(&data, &["notify", "--json"]);
    let outcomes: Vec<Value> = serde_json::from_str(&out).unwrap();
    let digests: Vec<Value> = outcomes
        .iter()
        .flat_map(|o| o["digests"].as_array().unwrap().clone())
        .collect();
    assert_eq!(digests.len(), 3, "one notice per organisation: {digests:?}");
    (dir, data, digests)
}

/// The Message-ID (with angle brackets) and subject of the message to `party`, as its
/// recipient reads them.
fn sent_to(data: &Path, digests: &[Value], party: &str) -> (String, String, i64) {
    let d = digests.iter().find(|d| d["party"] == party).unwrap();
    let key = d["key"].as_str().unwrap();
    let raw = std::fs::read(data.join("outbox").join(format!("{key}.eml"))).unwrap();
    let mail = MessageParser::default().parse(&raw).unwrap();
    (
        format!("<{}>", mail.message_id().unwrap()),
        mail.subject().unwrap().to_string(),
        d["ticket"].as_i64().unwrap(),
    )
}

/// The replies, as (file name, text).
fn replies(data: &Path, digests: &[Value]) -> Vec<(&'static str, String)> {
    let (a_id, a_subject, _) = sent_to(data, digests, "org-a");
    let (b_id, b_subject, _) = sent_to(data, digests, "org-b");
    let (c_id, c_subject, _) = sent_to(data, digests, "org-c");
    vec![
        (
            "1.alpha",
            format!(
                "From: Alpha SOC <soc@alpha.example>\nTo: baken@ncsc.example\n\
                 Subject: Re: {a_subject}\nMessage-ID: <r1@alpha.example>\n\
                 In-Reply-To: {a_id}\nReferences: {a_id}\n\
                 Date: Tue, 14 Jan 2020 09:00:00 +0100\n\n\
                 We patched it yesterday.\n\n\
                 On Mon, 13 Jan 2020 at 10:00, NCSC baken <baken@ncsc.example> wrote:\n\
                 > Please tell us when it is not vulnerable any more?\n"
            ),
        ),
        (
            "2.beta",
            // the ticket reference only: no In-Reply-To, no References
            format!(
                "From: csirt@beta.example\nTo: baken@ncsc.example\n\
                 Subject: RE: {b_subject}\nMessage-ID: <r2@beta.example>\n\
                 Date: Tue, 14 Jan 2020 10:00:00 +0100\n\n\
                 Thanks, received. We are looking into it.\n"
            ),
        ),
        (
            "3.gamma",
            // from another address than the recipient's, by References
            format!(
                "From: IT Manager <it-manager@gamma.example>\nTo: baken@ncsc.example\n\
                 Subject: Re: {c_subject}\nMessage-ID: <r3@gamma.example>\n\
                 References: <unknown@elsewhere.example> {c_id}\n\
                 Date: Tue, 14 Jan 2020 11:00:00 +0100\n\n\
                 not yet patched, will update next week\n"
            ),
        ),
        (
            "4.auto",
            format!(
                "From: csirt@beta.example\nTo: baken@ncsc.example\n\
                 Subject: Automatic reply: {b_subject}\nMessage-ID: <r4@beta.example>\n\
                 In-Reply-To: {b_id}\nAuto-Submitted: auto-replied\n\
                 Date: Tue, 14 Jan 2020 08:00:00 +0100\n\n\
                 I am out of the office; it is fixed when I am back.\n"
            ),
        ),
        (
            "5.stranger",
            "From: someone@delta.example\nTo: baken@ncsc.example\n\
             Subject: Question about your scan\nMessage-ID: <r5@delta.example>\n\
             Date: Tue, 14 Jan 2020 12:00:00 +0100\n\n\
             Everything is patched here.\n"
                .to_string(),
        ),
    ]
}

fn write_maildir(dir: &Path, replies: &[(&str, String)]) -> std::path::PathBuf {
    let maildir = dir.join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for (i, (name, text)) in replies.iter().enumerate() {
        // some read already (cur/, with flags), some new
        let path = if i % 2 == 0 {
            maildir.join("cur").join(format!("{name}:2,S"))
        } else {
            maildir.join("new").join(name)
        };
        std::fs::write(path, text).unwrap();
    }
    maildir
}

fn write_mbox(dir: &Path, replies: &[(&str, String)]) -> std::path::PathBuf {
    let mbox = dir.join("replies.mbox");
    let mut text = String::new();
    for (_, reply) in replies {
        let from = reply.lines().next().unwrap();
        let sender = from
            .rsplit(['<', ' '])
            .next()
            .unwrap()
            .trim_end_matches('>');
        text.push_str(&format!("From {sender} Tue Jan 14 09:00:00 2020\n"));
        // mboxrd quoting of a body line that reads like a postmark
        text.push_str(&reply.replace("\nFrom ", "\n>From "));
        text.push('\n');
    }
    std::fs::write(&mbox, text).unwrap();
    mbox
}

fn import(data: &Path, path: &Path) -> Value {
    serde_json::from_str(&run_ok(data, &["inbox", "import", "--json", s(path)])).unwrap()
}

/// (address, value) pairs, sorted by address.
type ByAddress = Vec<(String, String)>;

/// (address, state) of every finding, and (address, id).
fn states(data: &Path) -> (ByAddress, ByAddress) {
    let out = run_ok(data, &["findings", "--json"]);
    let mut states = Vec::new();
    let mut ids = Vec::new();
    for l in out.lines() {
        let f: Value = serde_json::from_str(l).unwrap();
        let ip = f["source.ip"].as_str().unwrap().to_string();
        states.push((ip.clone(), f["state"].as_str().unwrap().to_string()));
        ids.push((ip, f["id"].to_string()));
    }
    states.sort();
    ids.sort();
    (states, ids)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn history(data: &Path, id: &str) -> Vec<Value> {
    let show: Value =
        serde_json::from_str(&run_ok(data, &["finding", "show", id, "--json"])).unwrap();
    show["history"].as_array().unwrap().clone()
}

fn reply<'a>(imported: &'a Value, place_end: &str) -> &'a Value {
    imported["replies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["place"].as_str().unwrap().contains(place_end))
        .unwrap_or_else(|| panic!("no reply at {place_end}: {imported:#}"))
}

#[test]
fn replies_acknowledge_or_claim_fixed_once() {
    let (dir, data, digests) = world();
    let (_, _, ticket_b) = sent_to(&data, &digests, "org-b");
    let replies = replies(&data, &digests);
    let maildir = write_maildir(dir.path(), &replies);
    let mbox = write_mbox(dir.path(), &replies);

    let imported = import(&data, &maildir);
    let totals = &imported["totals"];
    assert_eq!(
        totals,
        &json!({
            "read": 5, "applied": 2, "unclear": 1, "unmatched": 1, "auto_replies": 1,
            "unreadable": 0, "acknowledged": 2, "claimed_fixed": 2, "unchanged": 0,
            "incident_reports": 0, "reports_refused": 0
        }),
        "{imported:#}"
    );

    let alpha = reply(&imported, "1.alpha");
    assert_eq!(alpha["outcome"], "applied");
    assert_eq!(alpha["said"], "fixed");
    assert_eq!(alpha["matched"]["by"], "in-reply-to");
    assert_eq!(alpha["claimed_fixed"].as_array().unwrap().len(), 2);
    assert!(
        alpha["reason"]
            .as_str()
            .unwrap()
            .contains("\"We patched it yesterday.\""),
        "{alpha:#}"
    );
    assert_eq!(alpha["flags"], json!([]));

    let beta = reply(&imported, "2.beta");
    assert_eq!(beta["outcome"], "applied");
    assert_eq!(beta["said"], "acknowledged");
    assert_eq!(beta["matched"]["by"], "ticket");
    assert_eq!(beta["matched"]["ticket"], ticket_b);
    assert_eq!(beta["acknowledged"].as_array().unwrap().len(), 1);

    let gamma = reply(&imported, "3.gamma");
    assert_eq!(gamma["outcome"], "unclear");
    assert_eq!(gamma["matched"]["by"], "references");
    assert_eq!(
        gamma["reason"],
        "mentions a fix ('patched') but also 'not yet'"
    );
    assert_eq!(gamma["acknowledged"].as_array().unwrap().len(), 1);
    assert_eq!(
        gamma["flags"],
        json!(["from another address than the recipient (security@gamma.example)"])
    );

    let auto = reply(&imported, "4.auto");
    assert_eq!(auto["outcome"], "auto-reply");
    assert_eq!(auto["reason"], "Auto-Submitted: auto-replied");
    assert_eq!(auto["matched"], Value::Null);

    let stranger = reply(&imported, "5.stranger");
    assert_eq!(stranger["outcome"], "unmatched");
    assert_eq!(stranger["from"], "someone@delta.example");
    assert_eq!(stranger["subject"], "Question about your scan");
    assert_eq!(stranger["claimed_fixed"], json!([]));

    let (after, ids) = states(&data);
    assert_eq!(
        after,
        pairs(&[
            ("198.18.1.1", "mitigation-claimed"),
            ("198.18.1.2", "mitigation-claimed"),
            ("198.18.2.1", "acknowledged"),
            ("198.18.3.1", "acknowledged"),
        ])
    );

    // the history says who said it, in which reply
    let a1 = &ids[0].1;
    let last = history(&data, a1).last().unwrap().clone();
    assert_eq!(last["cause"], "reply");
    assert_eq!(last["from"], "notified");
    assert_eq!(last["to"], "mitigation-claimed");
    assert_eq!(last["by"], "soc@alpha.example");
    assert_eq!(last["reference"], "<r1@alpha.example>");
    let c1 = &ids[3].1;
    let last = history(&data, c1).last().unwrap().clone();
    assert_eq!(last["to"], "acknowledged");
    assert_eq!(last["by"], "it-manager@gamma.example");
    assert_eq!(last["reference"], "<r3@gamma.example>");
    assert!(
        last["note"].as_str().unwrap().contains("not yet"),
        "the doubt is kept for an analyst: {last}"
    );
    let lengths: Vec<usize> = ids.iter().map(|(_, id)| history(&data, id).len()).collect();

    // the same replies again, from the mbox and from the Maildir: nothing changes
    for again in [&mbox, &maildir] {
        let imported = import(&data, again);
        let totals = &imported["totals"];
        assert_eq!(totals["read"], 5);
        assert_eq!(totals["acknowledged"], 0, "{imported:#}");
        assert_eq!(totals["claimed_fixed"], 0, "{imported:#}");
        assert_eq!(totals["unchanged"], 4, "{imported:#}");
        assert_eq!(states(&data).0, after);
        let now: Vec<usize> = ids.iter().map(|(_, id)| history(&data, id).len()).collect();
        assert_eq!(now, lengths, "no history is added twice");
    }
    let mbox_import = import(&data, &mbox);
    let first = &mbox_import["replies"][0];
    assert!(
        first["place"].as_str().unwrap().ends_with("replies.mbox:1"),
        "{first}"
    );
    assert_eq!(
        first["unchanged"][0]["why"],
        "already recorded from this reply"
    );

    // the listing a person reads
    let text = run_ok(&data, &["inbox", "import", s(&maildir)]);
    assert!(
        text.contains(
            "5 replies read: 2 applied, 1 unclear (acknowledged, for an analyst to read), \
             1 unmatched, 1 auto-replies, 0 unreadable"
        ),
        "{text}"
    );
    assert!(
        text.contains("note: from another address than the recipient (security@gamma.example)"),
        "{text}"
    );
    assert!(text.contains("cur/5.stranger:2,S: unmatched"), "{text}");
    assert!(
        text.contains("from someone@delta.example, subject \"Question about your scan\""),
        "{text}"
    );

    let audit = run(&data, &["audit", "verify"]);
    assert!(audit.status.success(), "the audit log verifies");
}

#[test]
fn a_reply_that_cannot_be_read_is_named_and_fails_the_import() {
    let (dir, data, digests) = world();
    let replies = replies(&data, &digests);
    let emls = dir.path().join("emls");
    std::fs::create_dir(&emls).unwrap();
    std::fs::write(emls.join("a.eml"), &replies[0].1).unwrap();
    std::fs::write(emls.join("broken.eml"), "\n\njust text, no headers\n").unwrap();
    let out = run(&data, &["inbox", "import", s(&emls)]);
    assert!(!out.status.success(), "an unreadable message is a failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.eml"), "{err}");
    assert!(err.contains("1 message(s) could not be read"), "{err}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("1 unreadable"), "{said}");
    // the readable one was applied
    assert!(said.contains("claimed fixed: findings"), "{said}");

    let missing = dir.path().join("no-such.mbox");
    let out = run(&data, &["inbox", "import", s(&missing)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such.mbox"), "{err}");
}
