//! Expected figures come from FIRST's documents, never from this code:
//! * v2.0: "A Complete Guide to the CVSS Version 2.0", section 3.3 (worked examples
//!   CVE-2002-0392, CVE-2003-0818, CVE-2003-0062: base, temporal, environmental);
//! * v3.0/v3.1: "CVSS v3.1: Examples" (phpMyAdmin, MySQL, POODLE, VMware, Heartbleed,
//!   Shellshock, Tomcat, iWork, Joomla, Sophos);
//! * v4.0: "CVSS v4.0: Examples" and FIRST's v4.0 calculator.
//!
//! Where a temporal or environmental figure is derived by hand from the specification's
//! equations, the arithmetic is written beside it.

use super::*;

fn check(vector: &str, base: f64, temporal: Option<f64>, environmental: Option<f64>) {
    let s = compute(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
    assert_eq!(s.base_score, base, "base score of {vector}");
    assert_eq!(s.temporal_score, temporal, "temporal score of {vector}");
    assert_eq!(
        s.environmental_score, environmental,
        "environmental of {vector}"
    );
}

#[test]
fn v2_guide_worked_examples() {
    // CVE-2002-0392 (Apache chunked encoding)
    check("AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, None, None);
    check(
        "AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:H",
        7.8,
        Some(6.4),
        Some(9.2),
    );
    // CVE-2003-0818 (Microsoft Windows ASN.1)
    check(
        "AV:N/AC:L/Au:N/C:C/I:C/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:L",
        10.0,
        Some(8.3),
        Some(9.0),
    );
    // CVE-2003-0062 (NOD32 antivirus)
    check(
        "AV:L/AC:H/Au:N/C:C/I:C/A:C/E:POC/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:M",
        6.2,
        Some(4.9),
        Some(7.5),
    );
}

#[test]
fn v2_accepts_parentheses_and_prefix() {
    for v in [
        "(AV:N/AC:L/Au:N/C:N/I:N/A:C)",
        "CVSS:2.0/AV:N/AC:L/Au:N/C:N/I:N/A:C",
    ] {
        let s = compute(v).unwrap();
        assert_eq!(
            (s.version, s.base_score, s.severity),
            (CvssVersion::V2, 7.8, Severity::High)
        );
    }
}

#[test]
fn v31_specification_examples() {
    for (vector, base, severity) in [
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            6.1,
            Severity::Medium,
        ), // CVE-2013-1937
        (
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N",
            6.4,
            Severity::Medium,
        ), // CVE-2013-0375
        (
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
            3.1,
            Severity::Low,
        ), // CVE-2014-3566
        (
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
            9.9,
            Severity::Critical,
        ), // CVE-2012-1516
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            7.5,
            Severity::High,
        ), // CVE-2014-0160
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            Severity::Critical,
        ), // CVE-2014-6271
        (
            "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L",
            4.2,
            Severity::Medium,
        ), // CVE-2009-0783
        (
            "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
            7.8,
            Severity::High,
        ), // CVE-2015-1098
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N",
            5.8,
            Severity::Medium,
        ), // CVE-2010-0467
        (
            "CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            6.8,
            Severity::Medium,
        ), // CVE-2014-2005
    ] {
        let s = compute(vector).unwrap();
        assert_eq!(
            (s.version, s.base_score, s.severity),
            (CvssVersion::V3_1, base, severity),
            "{vector}"
        );
        assert_eq!((s.temporal_score, s.environmental_score), (None, None));
        assert_eq!(s.metrics.len(), 8);
    }
}

#[test]
fn v30_specification_example() {
    let s = compute("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N").unwrap(); // CVE-2013-1937
    assert_eq!((s.version, s.base_score), (CvssVersion::V3_0, 6.1));
}

#[test]
fn v31_temporal_and_environmental_by_the_specification_equations() {
    // Temporal = Roundup(9.8 × E:U 0.91 × RL:O 0.95 × RC:C 1.0) = Roundup(8.4721) = 8.5
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C",
        9.8,
        Some(8.5),
        None,
    );
    // MAV:L: modified exploitability 8.22 × 0.55 × 0.77 × 0.85 × 0.85 = 2.5151;
    // MISS = 1 − 0.44³ = 0.9148; modified impact 6.42 × 0.9148 = 5.8731;
    // Roundup(8.3883) = 8.4 (the base score of the same vector with AV:L).
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MAV:L",
        9.8,
        None,
        Some(8.4),
    );
    // "not defined" values do not make a score appear
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/MAV:X",
        9.8,
        None,
        None,
    );
}

#[test]
fn v40_examples() {
    for (vector, base) in [
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            10.0,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            7.3,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            7.7,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N",
            8.3,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            4.6,
        ),
    ] {
        check(vector, base, None, None);
    }
    // threat metric E:U: CVSS-BT 5.2 on a CVSS-B 7.7 vector
    check(
        "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
        7.7,
        Some(5.2),
        None,
    );
    check(
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U",
        10.0,
        Some(9.1),
        None,
    );
    // environmental metrics: CVSS-BE 8.1 on a CVSS-B 8.3 vector
    check(
        "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L",
        8.3,
        None,
        Some(8.1),
    );
}

#[test]
fn json_form_has_nulls_for_absent_scores() {
    let s = compute("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
    assert_eq!(
        s.to_json().to_string(),
        r#"{"base_score":9.8,"environmental_score":null,"severity":"CRITICAL","temporal_score":null,"version":"3.1"}"#
    );
}

#[test]
fn every_metric_is_explained() {
    let s = compute("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
    assert_eq!(
        s.metrics[0].to_string(),
        "AV:N — Attack Vector: attackable over the network (from the internet)"
    );
    for v in [
        "CVSS:3.1/AV:A/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:H/E:P/RL:W/RC:R/CR:H/IR:L/AR:M/MAV:P/MAC:L/MPR:H/MUI:N/MS:U/MC:N/MI:H/MA:L",
        "AV:L/AC:M/Au:S/C:P/I:N/A:P/E:H/RL:TF/RC:UR/CDP:LM/TD:M/CR:L/IR:H/AR:ND",
        "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:H/SC:L/SI:H/SA:N/E:P/CR:M/IR:H/AR:L/MAV:A/MAC:L/MAT:N/MPR:N/MUI:P/MVC:N/MVI:L/MVA:H/MSC:N/MSI:S/MSA:S/S:P/AU:Y/R:I/V:C/RE:M/U:Amber",
    ] {
        let s = compute(v).unwrap();
        for line in &s.metrics {
            assert!(!line.meaning.contains("not explained"), "{v}: {line}");
            assert_ne!(line.name, "Unknown metric", "{v}: {line}");
        }
    }
}

#[test]
fn rejects_bad_vectors_with_a_reason() {
    for v in [
        "CVSS:3.1/AV:N/AC:L",
        "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:5.0/AV:N",
        "nonsense",
        "",
    ] {
        let err = compute(v).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid CVSS vector"),
            "{v}: {err}"
        );
    }
}
