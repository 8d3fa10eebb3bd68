//! `baken export stix|misp|intelmq` and `ingest --feed stix|misp`, driven as a user would.
//!
//! The oracles are the formats' own tools, from the test virtualenv (`scripts/test-venv.sh`;
//! the tests find its Python in `BAKEN_TEST_PYTHON`): OASIS's `stix2-validator` must find
//! every bundle valid (in strict mode), and PyMISP must load every event and
//! see the attributes, objects and tags written, without a warning; IntelMQ's own `Event`
//! must accept every exported IntelMQ event. What an export holds is the sharing
//! decision of a mail: the tests name the exact addresses each party gets, so an export that
//! let out one more (or one less) fails them.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use baken_model::Tlp;
use common::{run, run_ok, s};
use serde_json::Value;

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
supervisor = "igj"
networks = ["198.18.1.0/24", "2001:db8:1::/48"]
contacts = [{ email = "soc@alpha.example", role = "security" }]

[[organisation]]
id = "org-b"
name = "Beta Winkels BV"
sector = "retail"
vital = false
networks = ["198.18.2.0/24"]
contacts = [{ email = "it@beta.example", role = "security" }]

[[organisation]]
id = "org-c"
name = "Gamma Energie BV"
sector = "energy"
vital = true
networks = ["198.18.3.0/24"]
contacts = [{ email = "soc@gamma.example", role = "security" }]

[[organisation]]
id = "igj"
name = "Inspectie Gezondheidszorg"
kind = "supervisor"
contacts = [{ email = "meldingen@igj.example", role = "security" }]
"#;

/// org-a's services: what org-a may see of the incident under nl-2020.
const ORG_A: [&str; 3] = [
    "198.18.1.1|443|tcp",
    "198.18.1.2|443|tcp",
    "2001:db8:1::7|443|tcp",
];
/// Everybody's.
const ALL: [&str; 5] = [
    "198.18.1.1|443|tcp",
    "198.18.1.2|443|tcp",
    "198.18.2.1|443|tcp",
    "198.18.3.1|443|tcp",
    "2001:db8:1::7|443|tcp",
];

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BAKEN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python");
    assert!(
        p.exists(),
        "no Python with stix2-validator and PyMISP: {} is missing; run scripts/test.sh (it \
         creates the test virtualenv) or set BAKEN_TEST_PYTHON",
        p.display()
    );
    p
}

fn py(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .args(["-c", script])
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
}

fn registry(dir: &Path, data: &Path) {
    let registry = dir.join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    run_ok(data, &["registry", "import", s(&registry)]);
}

/// org-a (vital, health, supervised by igj) with three vulnerable services, org-b (non-vital)
/// and org-c (vital, energy) with one each; seen on two days; the advisory imported.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    registry(dir.path(), &data);
    let advisory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/src/advisory.json");
    run_ok(&data, &["advisory", "import", s(&advisory)]);
    for (day, ips) in [
        (
            "2020-01-10",
            vec![
                "198.18.1.1",
                "198.18.1.2",
                "198.18.2.1",
                "198.18.3.1",
                "2001:db8:1::7",
            ],
        ),
        ("2020-01-12", vec!["198.18.1.1", "198.18.3.1"]),
    ] {
        let file = dir.path().join(format!("{day}-intelmq.jsonl"));
        let text: String = ips
            .iter()
            .map(|ip| {
                format!(
                    "{}\n",
                    common::scan_event(ip, &format!("{day}T06:00:00+00:00"), None)
                )
            })
            .collect();
        std::fs::write(&file, text).unwrap();
        run_ok(&data, &["ingest", "--feed", "intelmq", s(&file)]);
    }
    World {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        data,
    }
}

fn export(w: &World, format: &str, who: &[&str], name: &str) -> (PathBuf, Value) {
    let out = w.dir.join(name);
    let mut args = vec![
        "export",
        format,
        "--incident",
        "CVE-2019-19781",
        "--out",
        s(&out),
        "--json",
    ];
    args.extend_from_slice(who);
    let summary = run_ok(&w.data, &args);
    (out.clone(), serde_json::from_str(&summary).unwrap())
}

/// The services a STIX bundle's sightings name: `address|port|transport`.
fn stix_services(bundle: &Value) -> BTreeSet<String> {
    let objects = bundle["objects"].as_array().unwrap();
    let by_id = |id: &str| objects.iter().find(|o| o["id"] == id).unwrap().clone();
    let mut out = BTreeSet::new();
    for sighting in objects.iter().filter(|o| o["type"] == "sighting") {
        for od in sighting["observed_data_refs"].as_array().unwrap() {
            for r in by_id(od.as_str().unwrap())["object_refs"]
                .as_array()
                .unwrap()
            {
                let x = by_id(r.as_str().unwrap());
                if x["type"] == "network-traffic" {
                    let addr = by_id(x["dst_ref"].as_str().unwrap());
                    out.insert(format!(
                        "{}|{}|{}",
                        addr["value"].as_str().unwrap(),
                        x["dst_port"],
                        x["protocols"][0].as_str().unwrap()
                    ));
                }
            }
        }
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const VALIDATE: &str = r#"
import json, sys
from stix2validator import validate_file, ValidationOptions
# strict: every "should" of the specification is an error, except three baken departs from
# on purpose: 103, ids of domain objects are UUIDv5 over stable keys (in baken's namespace, as
# section 2.9 allows) so that a re-export names the same objects; 301, a scan sees the
# service's port, not the source port of its own probe; 302, an advisory's URL is referred to
# without a hash of a page that changes
r = validate_file(sys.argv[1], ValidationOptions(version="2.1", strict=True, disabled=["103", "301", "302"]))
out = {"valid": r.is_valid, "errors": [], "warnings": []}
for o in r.object_results:
    out["errors"] += [str(e) for e in o.errors]
    out["warnings"] += [str(w) for w in o.warnings]
print(json.dumps(out))
"#;

fn validate_stix(path: &Path) {
    let wrong: Value = serde_json::from_str(&py(STIX2_IDS, &[s(path)])).unwrap();
    assert_eq!(
        wrong,
        serde_json::json!([]),
        "observables' ids differ from stix2's"
    );
    let verdict: Value = serde_json::from_str(&py(VALIDATE, &[s(path)])).unwrap();
    assert_eq!(
        verdict["valid"],
        true,
        "stix2-validator rejects {}: {verdict:#}",
        path.display()
    );
    assert_eq!(verdict["errors"], serde_json::json!([]), "{verdict:#}");
    assert_eq!(verdict["warnings"], serde_json::json!([]), "{verdict:#}");
}

/// OASIS's stix2 library: parses the bundle, and computes each observable's id by its own
/// implementation of STIX 2.1's rule (section 2.9); prints the observables whose id differs.
const STIX2_IDS: &str = r#"
import json, sys, stix2
text = open(sys.argv[1]).read()
stix2.parse(text, allow_custom=False)
wrong = []
for o in json.loads(text)["objects"]:
    if o["type"] == "ipv4-addr":
        want = stix2.v21.IPv4Address(value=o["value"]).id
    elif o["type"] == "ipv6-addr":
        want = stix2.v21.IPv6Address(value=o["value"]).id
    elif o["type"] == "network-traffic":
        want = stix2.v21.NetworkTraffic(**{k: o[k] for k in ("dst_ref", "dst_port", "protocols") if k in o}).id
    else:
        continue
    if want != o["id"]:
        wrong.append([o["id"], want])
print(json.dumps(wrong))
"#;

const MISP_LOAD: &str = r#"
import json, sys, warnings
from pymisp import MISPEvent
# anything PyMISP warns about while loading (an unknown template, a bad value) fails the test
warnings.simplefilter("error")
e = MISPEvent()
e.load(open(sys.argv[1]).read())
print(json.dumps({
    "distribution": int(e.distribution),
    "tags": sorted(t.name for t in e.tags),
    "attributes": sorted([a.type, a.value] for a in e.attributes),
    "objects": sorted(
        [o.name, sorted([a.object_relation, a.type, str(a.value), sorted(t.name for t in a.tags)] for a in o.attributes)]
        for o in e.objects
    ),
}))
"#;

fn load_misp(path: &Path) -> Value {
    serde_json::from_str(&py(MISP_LOAD, &[s(path)])).unwrap()
}

/// The services of a MISP event's ip-port objects as PyMISP reads them.
fn misp_services(loaded: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in loaded["objects"].as_array().unwrap() {
        if o[0] != "ip-port" {
            continue;
        }
        let attr = |rel: &str| {
            o[1].as_array()
                .unwrap()
                .iter()
                .find(|a| a[0] == rel)
                .map(|a| a[2].as_str().unwrap().to_string())
                .unwrap_or_default()
        };
        out.insert(format!(
            "{}|{}|{}",
            attr("ip"),
            attr("dst-port"),
            attr("protocol")
        ));
    }
    out
}

fn audit_exports(data: &Path) -> Vec<Value> {
    let out = data.join("../audit.jsonl");
    run_ok(data, &["audit", "export", "--out", s(&out)]);
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "export")
        .map(|mut e| {
            // the body is kept as the JSON text that was hashed
            e["body"] = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
            e
        })
        .collect()
}

/// IntelMQ's own `Event` over each line: every key and value checked against its
/// harmonisation (an unknown key, a bad address or label raises).
const INTELMQ_LOAD: &str = r#"
import json, os, sys, importlib.util, tempfile, shutil
pkg = os.path.dirname(importlib.util.find_spec('intelmq').origin)
root = tempfile.mkdtemp()
os.makedirs(os.path.join(root, 'etc'))
shutil.copyfile(os.path.join(pkg, 'etc', 'harmonization.conf'), os.path.join(root, 'etc', 'harmonization.conf'))
os.environ['INTELMQ_ROOT_DIR'] = root
from intelmq.lib.message import Event
harmonization = json.load(open(os.path.join(pkg, 'etc', 'harmonization.conf')))
n = 0
for line in open(sys.argv[1]):
    Event(json.loads(line), harmonization=harmonization)
    n += 1
print(n)
"#;

fn load_intelmq(path: &Path) -> usize {
    py(INTELMQ_LOAD, &[s(path)]).trim().parse().unwrap()
}

#[test]
fn a_stix_bundle_for_a_party_holds_its_findings_and_is_valid() {
    let w = world();
    let (path, summary) = export(&w, "stix", &["--for", "org-a"], "org-a.stix.json");
    validate_stix(&path);
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stix_services(&bundle), set(&ORG_A));
    let objects = bundle["objects"].as_array().unwrap();
    let of = |t: &'static str| objects.iter().filter(move |o| o["type"] == t);
    // the addresses: org-a's only
    let addresses: BTreeSet<&str> = of("ipv4-addr")
        .chain(of("ipv6-addr"))
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        BTreeSet::from(["198.18.1.1", "198.18.1.2", "2001:db8:1::7"])
    );
    // the vulnerability with its CVE and CVSS, the remediations, the producer, TLP 2.0
    let v = of("vulnerability").next().unwrap();
    assert_eq!(v["name"], "CVE-2019-19781");
    let refs = v["external_references"].as_array().unwrap();
    assert!(
        refs.iter()
            .any(|r| r["source_name"] == "cve" && r["external_id"] == "CVE-2019-19781")
    );
    assert!(refs.iter().any(|r| r["source_name"] == "cvss"
        && r["external_id"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"));
    assert_eq!(of("course-of-action").count(), 2);
    assert!(of("relationship").any(|r| r["relationship_type"] == "remediates"));
    assert_eq!(of("identity").count(), 1);
    let markings: BTreeSet<&str> = of("marking-definition")
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(markings, BTreeSet::from(["TLP:AMBER", "TLP:CLEAR"]));
    let sighting = of("sighting")
        .find(|s| s["first_seen"] == "2020-01-10T06:00:00.000Z")
        .unwrap();
    assert_eq!(
        sighting["object_marking_refs"][0],
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    );
    // 198.18.1.1 was seen on both days
    assert!(
        of("sighting").any(|s| s["count"] == 2 && s["last_seen"] == "2020-01-12T06:00:00.000Z")
    );
    // the same export again names the same objects
    let (again, _) = export(&w, "stix", &["--for", "org-a"], "org-a.again.json");
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    let ids = |b: &Value| -> BTreeSet<String> {
        b["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&bundle), ids(&again));
    assert_eq!(bundle["id"], again["id"]);
    // audited: format, party, policy, the findings by id
    assert_eq!(summary["party"], "org-a");
    let audit = audit_exports(&w.data);
    assert_eq!(audit.len(), 2);
    let body = &audit[0]["body"];
    assert_eq!(body["format"], "stix");
    assert_eq!(body["party"], "org-a");
    assert_eq!(body["policy"], "nl-2020");
    assert_eq!(body["findings"], summary["findings"]);
    assert_eq!(body["findings"].as_array().unwrap().len(), 3);
}

#[test]
fn a_supervisor_gets_counts_never_addresses() {
    let w = world();
    let (path, summary) = export(&w, "stix", &["--for", "igj"], "igj.stix.json");
    validate_stix(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(summary["findings"], serde_json::json!([]));
    assert_eq!(summary["counts"], 1);
    for ip in [
        "198.18.1.1",
        "198.18.1.2",
        "2001:db8:1::7",
        "198.18.2.1",
        "198.18.3.1",
    ] {
        assert!(!text.contains(ip), "{ip} in the supervisor's bundle");
    }
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let notes: Vec<&Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "note")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0]["abstract"], "sector health: <5 organisations affected, <5 findings",
        "published as the mail publishes them: below nl-2020's threshold of 5"
    );

    let (path, _) = export(&w, "misp", &["--for", "igj"], "igj.misp.json");
    let loaded = load_misp(&path);
    assert!(misp_services(&loaded).is_empty());
    assert!(
        loaded["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a[0] == "text"
                && a[1] == "sector health: <5 organisations affected, <5 findings")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("198.18."));

    let (path, summary) = export(&w, "intelmq", &["--for", "igj"], "igj.intelmq.jsonl");
    let events: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(summary["records"], 0);
    assert_eq!(events.len(), 1);
    assert_eq!(load_intelmq(&path), 1);
    assert!(events[0].get("source.ip").is_none());
    assert_eq!(events[0]["extra.sector"], "health");
    assert_eq!(events[0]["extra.findings"], "<5");

    // a non-vital organisation under nl-2020 is told nothing specific, and exports say so
    let (path, summary) = export(&w, "stix", &["--for", "org-b"], "org-b.stix.json");
    assert_eq!(summary["findings"], serde_json::json!([]));
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("198.18.2.1")
    );
    // every export is audited, also those that let nothing out
    let audit = audit_exports(&w.data);
    let parties: Vec<&str> = audit
        .iter()
        .map(|e| e["body"]["party"].as_str().unwrap())
        .collect();
    assert_eq!(parties, ["igj", "igj", "igj", "org-b"]);
}

#[test]
fn a_misp_event_for_a_party_loads_in_pymisp() {
    let w = world();
    let (path, summary) = export(&w, "misp", &["--for", "org-a"], "org-a.misp.json");
    let loaded = load_misp(&path);
    assert_eq!(misp_services(&loaded), set(&ORG_A));
    assert_eq!(loaded["tags"], serde_json::json!(["tlp:amber"]));
    assert_eq!(
        loaded["distribution"], 0,
        "own assets stay in the organisation"
    );
    assert!(
        loaded["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a[0] == "vulnerability" && a[1] == "CVE-2019-19781")
    );
    let vulnerability = loaded["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o[0] == "vulnerability")
        .unwrap();
    let relations: BTreeSet<&str> = vulnerability[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].as_str().unwrap())
        .collect();
    assert!(relations.is_superset(&BTreeSet::from(["id", "cvss-score", "cvss-string"])));
    // every ip-port attribute carries its finding's label
    for o in loaded["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[0] == "ip-port")
    {
        for a in o[1].as_array().unwrap() {
            assert_eq!(a[3], serde_json::json!(["tlp:amber"]), "{o}");
        }
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("198.18.2.1") && !text.contains("198.18.3.1"));
    assert_eq!(summary["findings"].as_array().unwrap().len(), 3);
    assert_eq!(audit_exports(&w.data)[0]["body"]["format"], "misp");
}

#[test]
fn intelmq_events_are_the_stored_observations_the_party_may_see() {
    let w = world();
    let (path, summary) = export(&w, "intelmq", &["--for", "org-a"], "org-a.jsonl");
    let events: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 198.18.1.1 twice, .2 and the IPv6 host once
    assert_eq!(events.len(), 4);
    assert_eq!(load_intelmq(&path), 4);
    assert_eq!(summary["records"], 4);
    let ips: BTreeSet<&str> = events
        .iter()
        .map(|e| e["source.ip"].as_str().unwrap())
        .collect();
    assert_eq!(
        ips,
        BTreeSet::from(["198.18.1.1", "198.18.1.2", "2001:db8:1::7"])
    );
    assert!(events.iter().all(|e| e["feed.name"] == "scan-citrix"));
    // --since: the second day's only
    let out = w.dir.join("since.jsonl");
    run_ok(
        &w.data,
        &[
            "export",
            "intelmq",
            "--incident",
            "cve-2019-19781",
            "--for",
            "org-a",
            "--since",
            "2020-01-11",
            "--out",
            s(&out),
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains("198.18.1.1") && text.contains("2020-01-12T06:00:00"));
    // and they read back as IntelMQ events
    run_ok(&w.data, &["parse", "--feed", "intelmq", s(&path)]);
}

#[test]
fn an_export_for_nobody_in_particular_must_say_it_is_internal() {
    let w = world();
    let out = run(&w.data, &["export", "stix", "--incident", "cve-2019-19781"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--for"));
    let (path, summary) = export(&w, "stix", &["--internal"], "all.stix.json");
    validate_stix(&path);
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stix_services(&bundle), set(&ALL));
    assert_eq!(summary["party"], "analysts");
    let audit = audit_exports(&w.data);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["subject"], "analysts");
    assert_eq!(audit[0]["body"]["findings"].as_array().unwrap().len(), 5);
}

/// What `findings --json` lists: `incident|address|port|transport|first|last`.
fn findings(data: &Path) -> BTreeSet<String> {
    run_ok(data, &["findings", "--json"])
        .lines()
        .map(|l| {
            let f: Value = serde_json::from_str(l).unwrap();
            format!(
                "{}|{}|{}|{}|{}|{}",
                f["incident"].as_str().unwrap(),
                f["source.ip"].as_str().unwrap(),
                f["source.port"],
                f["protocol.transport"].as_str().unwrap(),
                f["first_seen"].as_str().unwrap(),
                f["last_seen"].as_str().unwrap(),
            )
        })
        .collect()
}

/// An export ingested by a peer (a fresh store with the same registry) gives the same
/// findings: hosts, ports, transports, CVE, first and last seen.
fn round_trip(format: &str) {
    let w = world();
    let (path, _) = export(&w, format, &["--internal"], &format!("all.{format}.json"));
    let peer = w.dir.join("peer");
    registry(&w.dir, &peer);
    let out = run_ok(
        &peer,
        &[
            "ingest",
            "--json",
            "--feed",
            format,
            "--supplied-by",
            "cert-x",
            s(&path),
        ],
    );
    let summary: Value = serde_json::from_str::<Value>(&out).unwrap()[0].clone();
    assert_eq!(summary["quarantined"], 0, "{summary:#}");
    assert_eq!(summary["new_findings"], 5, "{summary:#}");
    assert_eq!(findings(&peer), findings(&w.data));
    // the label came with the document
    let shown = run_ok(&peer, &["finding", "show", "1", "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["observations"][0]["tlp"], "TLP:AMBER");
}

#[test]
fn stix_round_trip() {
    round_trip("stix");
}

#[test]
fn misp_round_trip() {
    round_trip("misp");
}

#[test]
fn a_bundle_labelled_green_is_stored_green() {
    let w = world();
    let (path, _) = export(&w, "stix", &["--internal"], "all.json");
    // the peer marks every object TLP:GREEN (the official id, its definition left out)
    let mut bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for o in bundle["objects"].as_array_mut().unwrap() {
        if o.get("object_marking_refs").is_some() {
            o["object_marking_refs"] =
                serde_json::json!(["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]);
        }
    }
    std::fs::write(&path, serde_json::to_string(&bundle).unwrap()).unwrap();
    let peer = w.dir.join("peer");
    registry(&w.dir, &peer);
    run_ok(&peer, &["ingest", "--feed", "stix", s(&path)]);
    let shown: Value =
        serde_json::from_str(&run_ok(&peer, &["finding", "show", "1", "--json"])).unwrap();
    assert_eq!(shown["observations"][0]["tlp"], "TLP:GREEN");
}

#[test]
fn bad_objects_are_quarantined_with_file_and_object() {
    let w = world();
    let (path, _) = export(&w, "stix", &["--internal"], "all.json");
    let mut bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // one address that is a network, one sighting of observed data the bundle lacks
    let objects = bundle["objects"].as_array_mut().unwrap();
    let v4 = objects
        .iter_mut()
        .find(|o| o["value"] == "198.18.2.1")
        .unwrap();
    v4["value"] = "198.18.2.0/24".into();
    let sighting = objects
        .iter()
        .find(|o| o["type"] == "sighting")
        .unwrap()
        .clone();
    let mut broken = sighting.clone();
    broken["id"] = "sighting--00000000-0000-4000-8000-000000000001".into();
    broken["observed_data_refs"] =
        serde_json::json!(["observed-data--00000000-0000-4000-8000-000000000002"]);
    objects.push(broken);
    std::fs::write(&path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
    let peer = w.dir.join("peer");
    registry(&w.dir, &peer);
    let out = run_ok(&peer, &["ingest", "--json", "--feed", "stix", s(&path)]);
    let summary: Value = serde_json::from_str::<Value>(&out).unwrap()[0].clone();
    assert_eq!(summary["quarantined"], 2, "{summary:#}");
    assert_eq!(summary["new_findings"], 4);
    assert_eq!(
        summary["read"],
        summary["stored"].as_u64().unwrap()
            + summary["duplicate"].as_u64().unwrap()
            + summary["quarantined"].as_u64().unwrap()
    );
    let samples: Vec<&str> = summary["quarantine_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        samples
            .iter()
            .any(|q| q.contains(s(&path)) && q.contains(".value") && q.contains("198.18.2.0/24")),
        "{samples:?}"
    );
    assert!(
        samples.iter().any(|q| q
            .contains("sighting--00000000-0000-4000-8000-000000000001.observed_data_refs")
            && q.contains("observed-data--00000000-0000-4000-8000-000000000002")),
        "{samples:?}"
    );

    // a file that is no bundle or event at all fails the command, naming the file
    let junk = w.dir.join("junk.json");
    std::fs::write(&junk, "{\"type\": \"bundle\", \"objects\": [").unwrap();
    for feed in ["stix", "misp"] {
        let out = run(&peer, &["ingest", "--feed", feed, s(&junk)]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("junk.json") && !err.contains("panicked"),
            "{err}"
        );
    }
    // a MISP event whose every element is bad stores nothing and fails the command
    let bad = w.dir.join("bad-misp.json");
    std::fs::write(
        &bad,
        r#"{"Event": {"uuid": "e-1", "Attribute": [{"uuid": "a-1", "type": "ip-dst", "value": "no-address"}]}}"#,
    )
    .unwrap();
    let out = run(&peer, &["ingest", "--feed", "misp", s(&bad)]);
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("a-1.ip-dst"), "{text}");
}

#[test]
fn tlp_red_goes_to_no_party_and_is_marked_red_for_the_analysts() {
    let w = world();
    // a peer's TLP:RED report of another of org-a's hosts
    let file = w.dir.join("red-intelmq.jsonl");
    let event = common::scan_event("198.18.1.9", "2020-01-11T06:00:00+00:00", None);
    std::fs::write(&file, format!("{event}\n")).unwrap();
    run_ok(
        &w.data,
        &["ingest", "--feed", "intelmq", "--tlp", "RED", s(&file)],
    );

    // org-a's item now carries TLP:RED, which the source named nobody for
    let (path, summary) = export(&w, "stix", &["--for", "org-a"], "org-a.red.json");
    assert_eq!(summary["findings"], serde_json::json!([]));
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("198.18.1.")
    );
    let (path, _) = export(&w, "misp", &["--for", "org-a"], "org-a.red.misp.json");
    assert!(misp_services(&load_misp(&path)).is_empty());

    // the analysts see it, marked as it came in
    let (path, _) = export(&w, "stix", &["--internal"], "all.red.json");
    validate_stix(&path);
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let red = Tlp::Red.stix_marking_id();
    let marked_red: Vec<&Value> = objects
        .iter()
        .filter(|o| o["type"] == "sighting" && o["object_marking_refs"][0] == red)
        .collect();
    assert_eq!(marked_red.len(), 1);
    assert!(
        objects
            .iter()
            .any(|o| o["id"] == red && o["name"] == "TLP:RED")
    );
    let (path, _) = export(&w, "misp", &["--internal"], "all.red.misp.json");
    let loaded = load_misp(&path);
    assert_eq!(loaded["tags"], serde_json::json!(["tlp:red"]));
    let red_objects: Vec<&Value> = loaded["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[0] == "ip-port" && o[1][0][3] == serde_json::json!(["tlp:red"]))
        .collect();
    assert_eq!(red_objects.len(), 1, "{loaded:#}");
}
