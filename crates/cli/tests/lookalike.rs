//! `baken lookalike`: generate, scan and the protected list, driven as a user would, and the
//! dnstwist oracle — every permutation dnstwist lists for a set of names is flagged by `scan`.
//!
//! The oracle needs dnstwist 20250130 in the test virtualenv (`scripts/test-venv.sh`; the
//! tests find its Python in `BAKEN_TEST_PYTHON`). dnstwist only makes permutations here: it
//! resolves nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run, run_ok, s};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BAKEN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python");
    assert!(
        p.exists(),
        "no Python with dnstwist for the oracle: {} is missing; run scripts/test.sh (it \
         creates the test virtualenv) or set BAKEN_TEST_PYTHON",
        p.display()
    );
    p
}

/// What `dnstwist --format list --dictionary DICT --tld TLDS NAME` lists, with the fuzzer
/// that made each name (through dnstwist's own `Fuzzer`, which is what that command prints).
fn dnstwist(name: &str, dictionary: &Path, tlds: &Path) -> Vec<(String, String)> {
    let script = r#"
import sys, dnstwist
name, dictionary, tlds = sys.argv[1:4]
words = [w.strip() for w in open(dictionary) if w.strip()]
tld = [w.strip() for w in open(tlds) if w.strip()]
f = dnstwist.Fuzzer(dnstwist.UrlParser(name).domain, dictionary=words, tld_dictionary=tld)
f.generate()
for p in f.domains:
    print(p['fuzzer'] + '\t' + p['domain'])
"#;
    let out = Command::new(python())
        .args(["-c", script, name, s(dictionary), s(tlds)])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "dnstwist failed for {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(fuzzer, _)| *fuzzer != "*original")
        .map(|(f, d)| (f.to_string(), d.to_string()))
        .collect()
}

#[test]
fn every_permutation_dnstwist_lists_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let names = [
        "rivm.nl",
        "government.example",
        "ministerie-vws.test",
        "www.belastingdienst.example",
        "rijksoverheid.nl",
        "ing.test",
        "space.example", // every letter has a Cyrillic look-alike: dnstwist's cyrillic fuzzer
    ];
    let dictionary = dir.path().join("words.txt");
    std::fs::write(&dictionary, "corona\nlogin\nmondkapje\nvaccin\n").unwrap();
    let tlds = dir.path().join("tlds.txt");
    std::fs::write(&tlds, "com\nnet\norg\ninfo\neu\nxyz\n").unwrap();
    let protect = dir.path().join("protect.txt");
    std::fs::write(&protect, names.join("\n")).unwrap();

    let mut listed: BTreeMap<String, (String, String)> = BTreeMap::new(); // domain → (name, fuzzer)
    for name in names {
        for (fuzzer, domain) in dnstwist(name, &dictionary, &tlds) {
            listed.entry(domain).or_insert((name.to_string(), fuzzer));
        }
    }
    let input = dir.path().join("names.txt");
    let text: Vec<&str> = listed.keys().map(String::as_str).collect();
    std::fs::write(&input, text.join("\n")).unwrap();

    let out = run_ok(
        &data,
        &[
            "lookalike",
            "scan",
            "--protect",
            s(&protect),
            "--dictionary",
            s(&dictionary),
            "--json",
            s(&input),
        ],
    );
    let flagged: BTreeSet<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["domain"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();

    // recall per fuzzer; what is missed are protected names themselves and their subdomains,
    // which are never flagged
    let mut per_fuzzer: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    for (domain, (name, fuzzer)) in &listed {
        let e = per_fuzzer.entry(fuzzer).or_default();
        e.0 += 1;
        if flagged.contains(domain) {
            e.1 += 1;
        } else if !names
            .iter()
            .any(|n| domain == n || domain.ends_with(&format!(".{n}")))
        {
            missed.push(format!("{domain} ({fuzzer} of {name})"));
        }
    }
    let total = listed.len();
    let found = flagged
        .intersection(&listed.keys().cloned().collect())
        .count();
    let recall = found as f64 / total as f64;
    eprintln!(
        "dnstwist recall: {found} of {total} ({:.3}%)",
        recall * 100.0
    );
    for (fuzzer, (n, f)) in &per_fuzzer {
        eprintln!("  {fuzzer:14} {f:6} of {n:6}");
    }
    assert!(total > 10_000, "dnstwist listed only {total} names");
    assert!(missed.is_empty(), "{} missed: {missed:?}", missed.len());
}

#[test]
fn generate_lists_names_and_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let plain = run_ok(&data, &["lookalike", "generate", "rivm.nl"]);
    let lines: Vec<&str> = plain.lines().collect();
    assert!(lines.contains(&"rivn.nl") && lines.contains(&"rivm.com"));
    assert_eq!(
        lines.len(),
        lines.iter().collect::<BTreeSet<_>>().len(),
        "each name once"
    );
    let kinds = run_ok(
        &data,
        &[
            "lookalike",
            "generate",
            "rivm.nl",
            "--kinds",
            "--only",
            "omission",
        ],
    );
    assert_eq!(
        kinds,
        "omission\tivm.nl\nomission\trim.nl\nomission\triv.nl\nomission\trvm.nl\n"
    );
    let json = run_ok(
        &data,
        &[
            "lookalike",
            "generate",
            "rivm.nl",
            "--json",
            "--only",
            "tld-swap",
        ],
    );
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"], "tld-swap");
    let bad = run(
        &data,
        &["lookalike", "generate", "rivm.nl", "--only", "typo"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("the kinds are addition"));
    let bad = run(&data, &["lookalike", "generate", "not a name"]);
    assert!(!bad.status.success());
}

#[test]
fn scan_reads_lists_certstream_and_zone_differences() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(
        &data,
        &["lookalike", "protect", "add", "rivm.nl", "--owner", "rivm"],
    );
    run_ok(
        &data,
        &["lookalike", "protect", "add", "government.example"],
    );
    let list = run_ok(&data, &["lookalike", "protect", "list"]);
    assert_eq!(list, "rivm.nl\trivm\ngovernment.example\t-\n");

    let names = dir.path().join("names.txt");
    std::fs::write(
        &names,
        "rivm-info-corona.example\nwww.rivm.nl\nunrelated.test\n",
    )
    .unwrap();
    let certstream = dir.path().join("ct.jsonl");
    std::fs::write(
        &certstream,
        concat!(
            r#"{"message_type":"certificate_update","data":{"leaf_cert":{"all_domains":["rivm.nl.login.example","*.gövernment.example"]}}}"#,
            "\n"
        ),
    )
    .unwrap();
    let zone = dir.path().join("zone.diff");
    std::fs::write(&zone, "--- a\n+++ b\n@@ -1 +1,2 @@\n+rivn 3600 IN NS ns1.host.test.\n-rivmm 3600 IN NS ns1.host.test.\n")
        .unwrap();
    let mut zone_text = String::from("$ORIGIN nl.\n");
    zone_text.push_str(&std::fs::read_to_string(&zone).unwrap());
    std::fs::write(&zone, zone_text).unwrap();

    let out = run_ok(
        &data,
        &[
            "lookalike",
            "scan",
            "--keyword",
            "corona",
            "--json",
            s(&names),
            s(&certstream),
            s(&zone),
        ],
    );
    let flags: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let domains: Vec<&str> = flags
        .iter()
        .map(|f| f["domain"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        [
            "rivm-info-corona.example",
            "rivm.nl.login.example",
            "xn--gvernment-07a.example",
            "rivn.nl"
        ]
    );
    assert_eq!(flags[0]["protected"], "rivm.nl");
    assert_eq!(flags[0]["owner"], "rivm");
    assert_eq!(
        flags[0]["kinds"],
        serde_json::json!(["embedded", "keyword"])
    );
    assert_eq!(flags[2]["unicode"], "gövernment.example");
    assert!(
        flags[2]["kinds"]
            .as_array()
            .unwrap()
            .contains(&"homograph".into())
    );

    // standard input, text output
    let mut child = common::baken()
        .args(["--data", s(&data), "lookalike", "scan", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"irvm.nl\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "irvm.nl\trivm.nl\t80\ttransposition,edit-distance\n"
    );
}

#[test]
fn owners_registered_domains_are_never_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.json");
    std::fs::write(
        &registry,
        r#"[{"id": "rivm", "name": "RIVM", "domains": ["rivm.example", "rivm-corona.test"]}]"#,
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let protect = dir.path().join("protect.txt");
    std::fs::write(&protect, "# names we watch\nrivm.nl rivm\n").unwrap();
    let names = dir.path().join("names.txt");
    std::fs::write(
        &names,
        "rivm.example\nwww.rivm-corona.test\nrivm-corona.example\n",
    )
    .unwrap();

    let without = run_ok(
        &data,
        &["lookalike", "scan", "--protect", s(&protect), s(&names)],
    );
    assert_eq!(without.lines().count(), 3);
    let with = run_ok(
        &data,
        &[
            "lookalike",
            "scan",
            "--registry-owned",
            "--protect",
            s(&protect),
            s(&names),
        ],
    );
    let flagged: Vec<&str> = with
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(flagged, ["rivm-corona.example"]);

    // an owner the registry does not hold is an error, naming both
    std::fs::write(&protect, "rivm.nl nobody\n").unwrap();
    let out = run(
        &data,
        &[
            "lookalike",
            "scan",
            "--registry-owned",
            "--protect",
            s(&protect),
            s(&names),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rivm.nl") && err.contains("nobody"), "{err}");
}

#[test]
fn errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let names = dir.path().join("names.txt");
    std::fs::write(&names, "rivn.nl\n").unwrap();

    // no protected names at all
    let out = run(&data, &["lookalike", "scan", s(&names)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lookalike protect add"));

    // a bad protected list
    let protect = dir.path().join("protect.txt");
    std::fs::write(&protect, "rivm.nl\nri vm nl x\nbad_name\n").unwrap();
    let out = run(
        &data,
        &["lookalike", "scan", "--protect", s(&protect), s(&names)],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: line 2, field owner", protect.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: line 3, field name", protect.display())),
        "{err}"
    );

    // a bad input line: the rest is scanned, the exit is non-zero
    std::fs::write(&protect, "rivm.nl\n").unwrap();
    let ct = dir.path().join("ct.jsonl");
    std::fs::write(
        &ct,
        "rivn.nl\n{\"message_type\":\"certificate_update\",\"data\":{}}\n",
    )
    .unwrap();
    let out = run(
        &data,
        &["lookalike", "scan", "--protect", s(&protect), s(&ct)],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rivn.nl\t"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}: line 2, field data.leaf_cert.all_domains",
            ct.display()
        )),
        "{err}"
    );

    // a missing input file
    let out = run(
        &data,
        &[
            "lookalike",
            "scan",
            "--protect",
            s(&protect),
            "/nonexistent/names.txt",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/names.txt"));

    // protect add refuses what is not a name
    let out = run(&data, &["lookalike", "protect", "add", "not_a_name"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_a_name"));
}

/// The whole lookalike chain as a user runs it: flagged names recorded, the owner told in a
/// notify round in words of its own, takedown requests to the hoster RPSL names, and names
/// that are gone closed by a later check.
#[test]
fn flagged_names_become_findings_takedown_requests_and_are_closed_when_gone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        r#"
[[organisation]]
id = "rivm"
name = "Rijksinstituut Voorbeeld"
vital = true
domains = ["rivm.example"]
contacts = [{ email = "security@rivm.example", role = "security" }]
"#,
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let rpsl = dir.path().join("ripe.db");
    std::fs::write(
        &rpsl,
        "inetnum:        198.18.4.0 - 198.18.4.255\nnetname:        HOSTER-CUST-NET\n\
         abuse-c:        AR2-TEST\nsource:         RIPE\n\n\
         role:           Hoster Abuse Desk\nnic-hdl:        AR2-TEST\n\
         abuse-mailbox:  abuse@hoster.test\nsource:         RIPE\n",
    )
    .unwrap();
    run_ok(&data, &["registry", "import-rpsl", s(&rpsl)]);
    run_ok(
        &data,
        &[
            "lookalike",
            "protect",
            "add",
            "rivm.example",
            "--owner",
            "rivm",
        ],
    );
    let names = dir.path().join("ct.txt");
    std::fs::write(
        &names,
        "rivm-corona.example\nrivm.example\nunrelated.example\n",
    )
    .unwrap();
    let seen = dir.path().join("dnstwist.json");
    std::fs::write(
        &seen,
        r#"[{"fuzzer": "*original", "domain": "rivm-corona.example", "dns_a": ["198.18.4.20"],
             "dns_mx": ["mx.rivm-corona.example"], "time": "2020-03-14T09:00:00+00:00"}]"#,
    )
    .unwrap();
    let out = run(
        &data,
        &[
            "lookalike",
            "scan",
            "--record",
            "--seen",
            s(&seen),
            s(&names),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 new findings"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = run_ok(&data, &["findings", "--incident", "lookalike", "--json"]);
    let f: serde_json::Value = serde_json::from_str(findings.lines().next().unwrap()).unwrap();
    assert_eq!(f["org"], "rivm");
    assert_eq!(f["state"], "open");

    // the owner is told, in the lookalike's own words
    let outbox = dir.path().join("outbox");
    run_ok(
        &data,
        &["notify", "--incident", "lookalike", "--outbox", s(&outbox)],
    );
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1);
    let unfolded = mails[0].replace("=\r\n", "").replace("\r\n", "\n");
    assert!(unfolded.contains("To: security@rivm.example"), "{unfolded}");
    assert!(unfolded.contains("  - rivm-corona.example\n"), "{unfolded}");
    assert!(unfolded.contains("take it down"), "{unfolded}");

    // the hoster's abuse desk from RPSL is asked once
    let dry = run_ok(&data, &["lookalike", "takedown", "--dry-run", "--json"]);
    let request: serde_json::Value = serde_json::from_str(dry.trim()).unwrap();
    assert_eq!(request["outcome"], "would-send");
    assert_eq!(request["desk"]["email"], "abuse@hoster.test");
    assert_eq!(request["decision"]["rule"], "takedown-to-abuse-desk");
    let takedowns = dir.path().join("takedowns");
    // signed with the CSIRT's key, as notifications are
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deliver/tests/data/sender.sec.asc");
    let out = common::baken()
        .arg("--data")
        .arg(&data)
        .args([
            "lookalike",
            "takedown",
            "--outbox",
            s(&takedowns),
            "--sign-key",
            s(&key),
        ])
        .env("BAKEN_SIGN_KEY_PASSPHRASE", "test-passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sent = String::from_utf8_lossy(&out.stdout);
    assert!(sent.starts_with("sent\trivm-corona.example\t"), "{sent}");
    let again = run_ok(&data, &["lookalike", "takedown", "--outbox", s(&takedowns)]);
    assert!(again.starts_with("already-sent\t"), "{again}");
    let eml: Vec<String> = std::fs::read_dir(&takedowns)
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .replace("=\r\n", "")
        })
        .collect();
    assert_eq!(eml.len(), 1);
    assert!(eml[0].contains("To: abuse@hoster.test"), "{}", eml[0]);
    assert!(eml[0].contains("multipart/signed"), "{}", eml[0]);
    assert!(
        eml[0].contains("-----BEGIN PGP SIGNATURE-----"),
        "{}",
        eml[0]
    );
    assert!(eml[0].contains("resolves to: 198.18.4.20"), "{}", eml[0]);
    assert!(
        eml[0].contains("mail: mx.rivm-corona.example"),
        "{}",
        eml[0]
    );

    // gone: closed as taken down, and no request follows
    std::fs::write(&seen, r#"{"domain": "rivm-corona.example", "dns_a": []}"#).unwrap();
    let check = run_ok(&data, &["lookalike", "check", s(&seen), "--json"]);
    let check: serde_json::Value = serde_json::from_str(check.trim()).unwrap();
    assert_eq!(check["taken_down"].as_array().unwrap().len(), 1);
    let findings = run_ok(&data, &["findings", "--incident", "lookalike", "--json"]);
    assert!(
        findings.contains("\"state\":\"verified-fixed\""),
        "{findings}"
    );
    let none = run_ok(&data, &["lookalike", "takedown", "--dry-run"]);
    assert!(none.is_empty(), "{none}");

    // a check file that is not dnstwist's JSON names the file and line
    std::fs::write(&seen, "{\"domain\": \"a.example\"}\n{\"dns_a\": 5}\n").unwrap();
    let bad = run(&data, &["lookalike", "check", s(&seen)]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(&format!("{}:2:", seen.display())), "{err}");
}
