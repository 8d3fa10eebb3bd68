//! CSAF JSON schema validation and mandatory tests, against the shared examples and
//! documents broken on purpose.

mod common;

use baken_advisory::{Problem, checks, schema::CsafSchema, validate_csaf, validate_csaf_report};
use serde_json::{Value, json};

fn schema() -> CsafSchema {
    CsafSchema::new(&common::csaf_schema()).expect("the CSAF 2.0 schema compiles")
}

fn found(problems: &[Problem]) -> Vec<(&str, &str)> {
    problems
        .iter()
        .map(|p| (p.test.as_str(), p.path.as_str()))
        .collect()
}

fn citrix() -> Value {
    common::fixture("csaf-CVE-2019-19781.json")
}

#[test]
fn shared_examples_and_the_citrix_fixture_pass() {
    let schema = schema();
    let mut docs = common::csaf_examples();
    docs.push(("csaf-CVE-2019-19781.json".into(), citrix()));
    for (name, doc) in docs {
        let problems = validate_csaf(&schema, &doc);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

#[test]
fn schema_problems_carry_their_json_path() {
    let schema = schema();
    let mut doc = citrix();
    doc["document"]["tracking"]["current_release_date"] = "16 January 2020".into();
    doc["document"]["distribution"]["tlp"]["label"] = "PURPLE".into();
    doc["document"].as_object_mut().unwrap().remove("title");
    let problems = schema.validate(&doc);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/document",
            "/document/distribution/tlp/label",
            "/document/tracking/current_release_date"
        ],
        "{problems:#?}"
    );
    assert!(problems.iter().all(|p| p.test == "schema"));
    assert!(problems[0].message.contains("title"), "{}", problems[0]);
}

#[test]
fn missing_product_id_6_1_1() {
    let mut doc = citrix();
    doc["vulnerabilities"][0]["product_status"]["known_affected"][1] = "GW-99".into();
    doc["product_tree"]["product_groups"][0]["product_ids"][0] = "ADC-99".into();
    assert_eq!(
        found(&checks::run(&doc)),
        [
            ("6.1.1", "/product_tree/product_groups/0/product_ids/0"),
            (
                "6.1.1",
                "/vulnerabilities/0/product_status/known_affected/1"
            ),
        ]
    );
}

#[test]
fn multiple_product_id_definitions_6_1_2() {
    let mut doc = citrix();
    doc["product_tree"]["branches"][0]["branches"][1]["branches"][0]["product"]["product_id"] =
        "ADC-13.0".into();
    let problems = checks::run(&doc);
    assert!(
        found(&problems).contains(&(
            "6.1.2",
            "/product_tree/branches/0/branches/1/branches/0/product/product_id"
        )),
        "{problems:#?}"
    );
    assert!(problems.iter().any(|p| {
        p.message
            .contains("/product_tree/branches/0/branches/0/branches/0/product/product_id")
    }));
}

#[test]
fn product_group_ids_6_1_4_and_6_1_5() {
    let mut doc = citrix();
    doc["vulnerabilities"][0]["remediations"][0]["group_ids"][0] = "NOPE".into();
    let group = doc["product_tree"]["product_groups"][0].clone();
    doc["product_tree"]["product_groups"]
        .as_array_mut()
        .unwrap()
        .push(group);
    assert_eq!(
        found(&checks::run(&doc)),
        [
            ("6.1.4", "/vulnerabilities/0/remediations/0/group_ids/0"),
            ("6.1.5", "/product_tree/product_groups/1/group_id"),
        ]
    );
}

#[test]
fn invalid_cvss_6_1_8() {
    let mut doc = citrix();
    let c = &mut doc["vulnerabilities"][0]["scores"][0]["cvss_v3"];
    c["version"] = "3.0".into();
    c.as_object_mut().unwrap().remove("baseSeverity");
    assert_eq!(
        found(&checks::run(&doc)),
        [
            ("6.1.8", "/vulnerabilities/0/scores/0/cvss_v3/baseSeverity"),
            ("6.1.8", "/vulnerabilities/0/scores/0/cvss_v3/version"),
        ]
    );
    doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["vectorString"] =
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Z".into();
    assert!(
        found(&checks::run(&doc))
            .contains(&("6.1.8", "/vulnerabilities/0/scores/0/cvss_v3/vectorString"))
    );
}

#[test]
fn invalid_cvss_computation_6_1_9() {
    let mut doc = citrix();
    let c = &mut doc["vulnerabilities"][0]["scores"][0]["cvss_v3"];
    // "9.8 on a scale of 1 to 10" stated as 10 and HIGH: both wrong for this vector
    c["baseScore"] = 10.0.into();
    c["baseSeverity"] = "HIGH".into();
    // a temporal score without temporal metrics equals the base score (9.8), not 9.0
    c["temporalScore"] = 9.0.into();
    let problems = checks::run(&doc);
    assert_eq!(
        found(&problems),
        [
            ("6.1.9", "/vulnerabilities/0/scores/0/cvss_v3/baseScore"),
            ("6.1.9", "/vulnerabilities/0/scores/0/cvss_v3/baseSeverity"),
            ("6.1.9", "/vulnerabilities/0/scores/0/cvss_v3/temporalScore"),
        ],
        "{problems:#?}"
    );
    assert!(
        problems[1].message.contains("rates CRITICAL"),
        "{}",
        problems[1]
    );
}

#[test]
fn v2_scores_are_checked_too() {
    let mut doc = citrix();
    doc["vulnerabilities"][0]["scores"][0]["cvss_v2"] = serde_json::json!({
        "version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:N/I:N/A:C", "baseScore": 7.8
    });
    assert!(checks::run(&doc).is_empty());
    doc["vulnerabilities"][0]["scores"][0]["cvss_v2"]["baseScore"] = 7.5.into();
    assert_eq!(
        found(&checks::run(&doc)),
        [("6.1.9", "/vulnerabilities/0/scores/0/cvss_v2/baseScore")]
    );
}

/// Where test `id` fails once `change` is applied to the Citrix fixture: errors for the
/// mandatory tests (6.1), warnings for the optional ones (6.2).
fn failing(id: &str, change: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut doc = citrix();
    change(&mut doc);
    let report = checks::report(&doc);
    let problems = if id.starts_with("6.1.") {
        report.errors
    } else {
        report.warnings
    };
    problems
        .into_iter()
        .filter(|p| p.test == id)
        .map(|p| p.path)
        .collect()
}

/// Test `id` fails at `paths` once `change` is applied, and nowhere on the fixture itself.
fn check(id: &str, change: impl FnOnce(&mut Value), paths: &[&str]) {
    assert_eq!(
        failing(id, |_| {}),
        Vec::<String>::new(),
        "{id} on the fixture"
    );
    assert_eq!(failing(id, change), paths, "{id}");
}

/// Test `id` passes once `change` is applied.
fn passes(id: &str, change: impl FnOnce(&mut Value)) {
    assert_eq!(failing(id, change), Vec::<String>::new(), "{id}");
}

fn vulnerability(doc: &mut Value) -> &mut Value {
    &mut doc["vulnerabilities"][0]
}

fn tracking(doc: &mut Value) -> &mut Value {
    &mut doc["document"]["tracking"]
}

/// The product identification helper of Citrix Gateway 13.0.
fn helper(doc: &mut Value) -> &mut Value {
    &mut doc.pointer_mut(GW).unwrap()["product"]["product_identification_helper"]
}

/// The revision history `(number, date)` and the document version.
fn history(doc: &mut Value, numbers: &[(&str, &str)], version: &str) {
    tracking(doc)["revision_history"] = numbers
        .iter()
        .map(|(n, d)| json!({"number": n, "date": d, "summary": "revision"}))
        .collect();
    tracking(doc)["version"] = version.into();
}

const ADC: &str = "/product_tree/branches/0/branches/0/branches/0";
const GW: &str = "/product_tree/branches/0/branches/1/branches/0";

#[test]
fn the_fixture_has_no_errors_and_one_warning() {
    let report = validate_csaf_report(&schema(), &citrix());
    assert!(report.is_valid(), "{:#?}", report.errors);
    assert_eq!(
        found(&report.warnings),
        [("6.2.11", "/document/references")]
    );
}

#[test]
fn circular_product_id_6_1_3() {
    check(
        "6.1.3",
        |d| {
            d["product_tree"]["relationships"] = json!([
                {"category": "installed_on", "product_reference": "REL-2",
                 "relates_to_product_reference": "GW-13.0",
                 "full_product_name": {"name": "one", "product_id": "REL-1"}},
                {"category": "installed_on", "product_reference": "REL-1",
                 "relates_to_product_reference": "GW-13.0",
                 "full_product_name": {"name": "two", "product_id": "REL-2"}},
            ]);
        },
        &[
            "/product_tree/relationships/0/full_product_name/product_id",
            "/product_tree/relationships/1/full_product_name/product_id",
        ],
    );
    passes("6.1.3", |d| {
        d["product_tree"]["relationships"] = json!([
            {"category": "installed_on", "product_reference": "ADC-13.0",
             "relates_to_product_reference": "GW-13.0",
             "full_product_name": {"name": "one", "product_id": "REL-1"}}]);
    });
}

#[test]
fn product_status_and_scores_6_1_6_and_6_1_7() {
    check(
        "6.1.6",
        |d| vulnerability(d)["product_status"]["known_not_affected"] = json!(["GW-13.0"]),
        &["/vulnerabilities/0/product_status/known_not_affected/0"],
    );
    // recommended contradicts nothing
    passes("6.1.6", |d| {
        vulnerability(d)["product_status"]["recommended"] = json!(["ADC-13.0"]);
    });
    let v31 = json!({"products": ["GW-13.0"], "cvss_v3": {"version": "3.1",
        "vectorString": "CVSS:3.1/AV:L/AC:L/PR:H/UI:R/S:U/C:H/I:H/A:H",
        "baseScore": 6.5, "baseSeverity": "MEDIUM"}});
    check(
        "6.1.7",
        |d| vulnerability(d)["scores"].as_array_mut().unwrap().push(v31),
        &["/vulnerabilities/0/scores/1/products/0"],
    );
    // another version for the same product is fine
    passes("6.1.7", |d| {
        vulnerability(d)["scores"]
            .as_array_mut()
            .unwrap()
            .push(json!({
            "products": ["GW-13.0"], "cvss_v2": {"version": "2.0",
            "vectorString": "AV:N/AC:L/Au:N/C:C/I:C/A:C", "baseScore": 10.0}}));
    });
}

#[test]
fn inconsistent_cvss_6_1_10() {
    check(
        "6.1.10",
        |d| {
            let c = &mut vulnerability(d)["scores"][0]["cvss_v3"];
            c["attackVector"] = "LOCAL".into();
            c["scope"] = "UNCHANGED".into();
        },
        &["/vulnerabilities/0/scores/0/cvss_v3/attackVector"],
    );
    // a metric the vector leaves out is added, not contradicted
    passes("6.1.10", |d| {
        vulnerability(d)["scores"][0]["cvss_v3"]["exploitCodeMaturity"] = "HIGH".into();
    });
}

#[test]
fn cwe_language_and_purl_6_1_11_to_6_1_13() {
    check(
        "6.1.11",
        |d| vulnerability(d)["cwe"] = json!({"id": "CWE-022", "name": "Path Traversal"}),
        &["/vulnerabilities/0/cwe/id"],
    );
    passes("6.1.11", |d| {
        vulnerability(d)["cwe"] = json!({"id": "CWE-22",
            "name": "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')"});
    });
    // EZ is the region "Eurozone", not a language
    for bad in ["EZ", "en-", "en-US-US", "english"] {
        check(
            "6.1.12",
            |d| d["document"]["lang"] = bad.into(),
            &["/document/lang"],
        );
    }
    for good in [
        "de",
        "en-US",
        "zh-Hant-TW",
        "de-CH-1996",
        "sgn-BE-FR",
        "nds",
        "x-klingon",
    ] {
        passes("6.1.12", |d| d["document"]["lang"] = good.into());
    }
    let purl = format!("{ADC}/product/product_identification_helper/purl");
    for bad in [
        "pkg:maven/@1.3.4",
        "maven/org.apache/log4j@2.14",
        "pkg:1x/name",
        "pkg:npm/foo@",
        "pkg:npm/foo?arch",
        "pkg:npm/foo%2",
    ] {
        check(
            "6.1.13",
            |d| {
                d.pointer_mut(ADC).unwrap()["product"]["product_identification_helper"]["purl"] =
                    bad.into()
            },
            &[purl.as_str()],
        );
    }
    passes("6.1.13", |d| {
        d.pointer_mut(ADC).unwrap()["product"]["product_identification_helper"]["purl"] =
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie#src".into();
    });
}

const DAY_1: &str = "2019-12-17T18:00:00Z";
const DAY_2: &str = "2020-01-16T09:00:00+01:00";

#[test]
fn revision_history_6_1_14_to_6_1_22() {
    let rev = |i: usize| format!("/document/tracking/revision_history/{i}/number");
    check(
        "6.1.14",
        |d| history(d, &[("2", DAY_1), ("1", DAY_2)], "1"),
        &["/document/tracking/revision_history/1"],
    );
    // equal dates are ordered by number
    passes("6.1.14", |d| history(d, &[("2", DAY_1), ("1", DAY_1)], "2"));
    check(
        "6.1.15",
        |d| d["document"]["publisher"]["category"] = "translator".into(),
        &["/document/source_lang"],
    );
    passes("6.1.15", |d| {
        d["document"]["publisher"]["category"] = "translator".into();
        d["document"]["source_lang"] = "de".into();
    });
    check(
        "6.1.16",
        |d| tracking(d)["version"] = "1".into(),
        &["/document/tracking/version"],
    );
    // build metadata is ignored; so is a draft's pre-release part
    passes("6.1.16", |d| {
        history(d, &[("1.0.0", DAY_1), ("2.0.0+b.1", DAY_2)], "2.0.0+b.2");
    });
    passes("6.1.16", |d| {
        history(d, &[("1.0.0", DAY_1), ("2.0.0", DAY_2)], "2.0.0-rc.1");
        tracking(d)["status"] = "draft".into();
    });
    check(
        "6.1.17",
        |d| history(d, &[("0.9.0", DAY_1)], "0.9.0"),
        &["/document/tracking/status"],
    );
    check(
        "6.1.18",
        |d| history(d, &[("0", DAY_1), ("1", DAY_2)], "1"),
        &[rev(0).as_str()],
    );
    passes("6.1.18", |d| {
        history(d, &[("0", DAY_1), ("1", DAY_2)], "1");
        tracking(d)["status"] = "draft".into();
    });
    check(
        "6.1.19",
        |d| history(d, &[("1.0.0", DAY_1), ("2.0.0-rc.1", DAY_2)], "2.0.0"),
        &[rev(1).as_str()],
    );
    check(
        "6.1.20",
        |d| {
            history(d, &[("1.0.0", DAY_1), ("2.0.0", DAY_2)], "2.0.0-alpha");
            tracking(d)["status"] = "interim".into();
        },
        &["/document/tracking/version"],
    );
    check(
        "6.1.21",
        |d| history(d, &[("1", DAY_1), ("3", DAY_2)], "3"),
        &[rev(1).as_str()],
    );
    check(
        "6.1.21",
        |d| history(d, &[("2.0.0", DAY_1), ("2.1.0", DAY_2)], "2.1.0"),
        &[rev(0).as_str()],
    );
    // semantic versioning: only the major version counts
    passes("6.1.21", |d| {
        history(d, &[("1.0.0", DAY_1), ("1.4.0", DAY_2)], "1.4.0");
    });
    check(
        "6.1.22",
        |d| history(d, &[("1", DAY_1), ("1", DAY_2)], "1"),
        &[rev(1).as_str()],
    );
    check(
        "6.1.30",
        |d| history(d, &[("1.0.0", DAY_1), ("2", DAY_2)], "2"),
        &[rev(1).as_str(), "/document/tracking/version"],
    );
}

#[test]
fn cves_involvements_and_hashes_6_1_23_to_6_1_25() {
    check(
        "6.1.23",
        |d| {
            let v = d["vulnerabilities"][0].clone();
            d["vulnerabilities"].as_array_mut().unwrap().push(v);
        },
        &["/vulnerabilities/1/cve"],
    );
    // the same instant written in two time zones
    check(
        "6.1.24",
        |d| {
            vulnerability(d)["involvements"] = json!([
                {"party": "vendor", "status": "completed", "date": "2020-01-16T09:00:00+01:00"},
                {"party": "vendor", "status": "in_progress", "date": "2020-01-16T08:00:00Z"},
            ]);
        },
        &["/vulnerabilities/0/involvements/1"],
    );
    passes("6.1.24", |d| {
        vulnerability(d)["involvements"] = json!([
            {"party": "vendor", "status": "in_progress", "date": DAY_1},
            {"party": "vendor", "status": "completed", "date": DAY_2},
            {"party": "coordinator", "status": "completed", "date": DAY_2},
        ]);
    });
    let hashes = |algorithms: &[&str]| {
        let file_hashes: Vec<Value> = algorithms
            .iter()
            .map(|a| json!({"algorithm": a, "value": "0123456789abcdef0123456789abcdef"}))
            .collect();
        json!([{"filename": "ns.tgz", "file_hashes": file_hashes}])
    };

    check(
        "6.1.25",
        |d| helper(d)["hashes"] = hashes(&["sha256", "sha512", "SHA256"]),
        &[
            format!("{GW}/product/product_identification_helper/hashes/0/file_hashes/2/algorithm")
                .as_str(),
        ],
    );
    let list = format!("{GW}/product/product_identification_helper/hashes/0/file_hashes");
    check(
        "6.2.8",
        |d| helper(d)["hashes"] = hashes(&["md5"]),
        &[list.as_str()],
    );
    check(
        "6.2.9",
        |d| helper(d)["hashes"] = hashes(&["sha1"]),
        &[list.as_str()],
    );
    passes("6.2.9", |d| {
        helper(d)["hashes"] = hashes(&["sha1", "sha256"])
    });
}

#[test]
fn document_category_6_1_26() {
    for bad in [
        "Security_Incident_Response",
        "V_eX",
        "Security      Advisory",
        "csaf_a",
    ] {
        check(
            "6.1.26",
            |d| d["document"]["category"] = bad.into(),
            &["/document/category"],
        );
    }
    for good in ["csaf_base", "Generic Report", "vex_like"] {
        passes("6.1.26", |d| d["document"]["category"] = good.into());
    }
}

#[test]
fn profile_tests_6_1_27() {
    let category = |d: &mut Value, c: &str| d["document"]["category"] = c.into();
    check(
        "6.1.27.1",
        |d| {
            category(d, "csaf_security_incident_response");
            d["document"]["notes"][0]["category"] = "legal_disclaimer".into();
        },
        &["/document/notes"],
    );
    check(
        "6.1.27.2",
        |d| {
            category(d, "csaf_informational_advisory");
            d["document"]["references"][0]["category"] = "self".into();
        },
        &["/document/references"],
    );
    check(
        "6.1.27.3",
        |d| category(d, "csaf_informational_advisory"),
        &["/vulnerabilities"],
    );
    check(
        "6.1.27.4",
        |d| {
            d.as_object_mut().unwrap().remove("product_tree");
        },
        &["/product_tree"],
    );
    check(
        "6.1.27.5",
        |d| {
            vulnerability(d).as_object_mut().unwrap().remove("notes");
        },
        &["/vulnerabilities/0/notes"],
    );
    check(
        "6.1.27.6",
        |d| {
            vulnerability(d)
                .as_object_mut()
                .unwrap()
                .remove("product_status");
        },
        &["/vulnerabilities/0/product_status"],
    );
    check(
        "6.1.27.7",
        |d| {
            category(d, "csaf_vex");
            vulnerability(d)["product_status"] = json!({"recommended": ["ADC-13.0.47.24"]});
        },
        &["/vulnerabilities/0/product_status"],
    );
    check(
        "6.1.27.8",
        |d| {
            category(d, "csaf_vex");
            vulnerability(d).as_object_mut().unwrap().remove("cve");
        },
        &["/vulnerabilities/0"],
    );
    let not_affected = |d: &mut Value| {
        category(d, "csaf_vex");
        vulnerability(d)["product_status"] = json!({"known_affected": ["ADC-13.0", "GW-13.0"], "known_not_affected": ["ADC-13.0.47.24"]});
    };
    check(
        "6.1.27.9",
        not_affected,
        &["/vulnerabilities/0/product_status/known_not_affected/0"],
    );
    passes("6.1.27.9", |d| {
        not_affected(d);
        vulnerability(d)["threats"] = json!([{"category": "impact",
            "details": "The fixed build does not have the flaw.", "product_ids": ["ADC-13.0.47.24"]}]);
    });
    // the group remediation covers both affected products; without it, GW-13.0 has none
    check(
        "6.1.27.10",
        |d| {
            category(d, "csaf_vex");
            vulnerability(d)["remediations"]
                .as_array_mut()
                .unwrap()
                .remove(0);
        },
        &["/vulnerabilities/0/product_status/known_affected/1"],
    );
    check(
        "6.1.27.11",
        |d| {
            d.as_object_mut().unwrap().remove("vulnerabilities");
        },
        &["/vulnerabilities"],
    );
}

#[test]
fn translation_remediations_versions_and_flags_6_1_28_to_6_1_33() {
    check(
        "6.1.28",
        |d| d["document"]["source_lang"] = "EN".into(),
        &["/document/source_lang"],
    );
    passes("6.1.28", |d| d["document"]["source_lang"] = "en-GB".into());
    check(
        "6.1.29",
        |d| {
            vulnerability(d)["remediations"][1]
                .as_object_mut()
                .unwrap()
                .remove("product_ids");
        },
        &["/vulnerabilities/0/remediations/1"],
    );
    let name = format!("{GW}/name");
    for bad in ["13.0 and earlier", "<13.1", "all", "Prior to 13.1"] {
        check(
            "6.1.31",
            |d| d.pointer_mut(GW).unwrap()["name"] = bad.into(),
            &[name.as_str()],
        );
    }
    passes("6.1.31", |d| {
        d.pointer_mut(GW).unwrap()["name"] = "Afterburner-13.0".into()
    });
    check(
        "6.1.32",
        |d| vulnerability(d)["flags"] = json!([{"label": "component_not_present"}]),
        &["/vulnerabilities/0/flags/0"],
    );
    check(
        "6.1.33",
        |d| {
            vulnerability(d)["flags"] = json!([
                {"label": "component_not_present", "group_ids": ["CITRIX-VULNERABLE"]},
                {"label": "vulnerable_code_not_present", "product_ids": ["ADC-13.0.47.24"]},
                {"label": "vulnerable_code_not_in_execute_path", "product_ids": ["GW-13.0"]},
            ]);
        },
        &["/vulnerabilities/0/flags/2"],
    );
}

#[test]
fn optional_tests_are_warnings_6_2() {
    // a warning leaves the document valid
    let mut doc = citrix();
    doc["document"].as_object_mut().unwrap().remove("lang");
    let report = validate_csaf_report(&schema(), &doc);
    assert!(report.is_valid(), "{:#?}", report.errors);
    assert!(found(&report.warnings).contains(&("6.2.12", "/document/lang")));

    check(
        "6.2.1",
        |d| {
            d["product_tree"]["full_product_names"] =
                json!([{"name": "Unused", "product_id": "U-1"}])
        },
        &["/product_tree/full_product_names/0/product_id"],
    );
    check(
        "6.2.2",
        |d| {
            vulnerability(d)
                .as_object_mut()
                .unwrap()
                .remove("remediations");
        },
        &[
            "/vulnerabilities/0/product_status/known_affected/0",
            "/vulnerabilities/0/product_status/known_affected/1",
        ],
    );
    check(
        "6.2.3",
        |d| vulnerability(d)["scores"][0]["products"] = json!(["ADC-13.0"]),
        &["/vulnerabilities/0/product_status/known_affected/1"],
    );
    check(
        "6.2.4",
        |d| history(d, &[("1.0.0", DAY_1), ("2.0.0+build.5", DAY_2)], "2.0.0"),
        &["/document/tracking/revision_history/1/number"],
    );
    check(
        "6.2.5",
        |d| tracking(d)["initial_release_date"] = "2019-12-01T00:00:00Z".into(),
        &["/document/tracking/initial_release_date"],
    );
    // 09:00 in +01:00 is 08:00 UTC: 08:30 UTC is not older
    check(
        "6.2.6",
        |d| tracking(d)["current_release_date"] = "2020-01-16T07:59:59Z".into(),
        &["/document/tracking/current_release_date"],
    );
    passes("6.2.6", |d| {
        tracking(d)["current_release_date"] = "2020-01-16T08:30:00Z".into();
    });
    check(
        "6.2.7",
        |d| vulnerability(d)["involvements"] = json!([{"party": "vendor", "status": "completed"}]),
        &["/vulnerabilities/0/involvements/0"],
    );
    check(
        "6.2.10",
        |d| {
            d["document"]["distribution"]
                .as_object_mut()
                .unwrap()
                .remove("tlp");
        },
        &["/document/distribution/tlp/label"],
    );
    let self_ref = |url: &str| json!({"category": "self", "summary": "this document", "url": url});
    assert_eq!(
        failing("6.2.11", |d| d["document"]["references"]
            .as_array_mut()
            .unwrap()
            .push(self_ref(
                "https://csirt.example/.well-known/csaf/amber/2019/syn-2019-0001.json"
            ))),
        Vec::<String>::new()
    );
    assert_eq!(
        failing("6.2.11", |d| d["document"]["references"]
            .as_array_mut()
            .unwrap()
            .push(self_ref("http://csirt.example/syn-2019-0001.json"))),
        ["/document/references"]
    );
    check(
        "6.2.14",
        |d| d["document"]["lang"] = "qtx".into(),
        &["/document/lang"],
    );
    check(
        "6.2.14",
        |d| d["document"]["lang"] = "en-x-internal".into(),
        &["/document/lang"],
    );
    check(
        "6.2.15",
        |d| d["document"]["lang"] = "i-default".into(),
        &["/document/lang"],
    );
    let gw_product = format!("{GW}/product");
    check(
        "6.2.16",
        |d| {
            d.pointer_mut(GW).unwrap()["product"]
                .as_object_mut()
                .unwrap()
                .remove("product_identification_helper");
        },
        &[gw_product.as_str()],
    );
    check(
        "6.2.17",
        |d| vulnerability(d)["ids"] = json!([{"system_name": "GHSA", "text": "CVE-2019-19781"}]),
        &["/vulnerabilities/0/ids/0"],
    );
    let adc_name = format!("{ADC}/name");
    check(
        "6.2.18",
        |d| d.pointer_mut(ADC).unwrap()["name"] = "<13.0.47.24".into(),
        &[adc_name.as_str()],
    );
    let fixed_score = |vector: &str| {
        json!({"products": ["ADC-13.0.47.24"], "cvss_v3": {"version": "3.1",
            "vectorString": vector, "baseScore": 9.8, "baseSeverity": "CRITICAL"}})
    };
    check(
        "6.2.19",
        |d| {
            vulnerability(d)["scores"]
                .as_array_mut()
                .unwrap()
                .push(fixed_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"));
        },
        &["/vulnerabilities/0/product_status/fixed/0"],
    );
    // the fix is expressed by modified impacts of none, in the vector or as properties
    passes("6.2.19", |d| {
        vulnerability(d)["scores"]
            .as_array_mut()
            .unwrap()
            .push(fixed_score(
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MC:N/MI:N/MA:N",
            ));
    });
    passes("6.2.19", |d| {
        let mut s = fixed_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        for p in [
            "modifiedConfidentialityImpact",
            "modifiedIntegrityImpact",
            "modifiedAvailabilityImpact",
        ] {
            s["cvss_v3"][p] = "NONE".into();
        }
        vulnerability(d)["scores"].as_array_mut().unwrap().push(s);
    });
}
