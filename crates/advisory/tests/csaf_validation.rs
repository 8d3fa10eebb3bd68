//! CSAF JSON schema validation and mandatory tests, against the shared examples and
//! documents broken on purpose.

mod common;

use baken_advisory::{Problem, checks, schema::CsafSchema, validate_csaf};
use serde_json::Value;

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
