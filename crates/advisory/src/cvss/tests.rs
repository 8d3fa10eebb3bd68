//! Expected figures come from FIRST's documents, never from this code:
//! * v2.0: "A Complete Guide to the CVSS Version 2.0", section 3.3 (worked examples
//!   CVE-2002-0392, CVE-2003-0818, CVE-2003-0062: base, temporal, environmental);
//! * v3.0/v3.1: "CVSS v3.1: Examples" (phpMyAdmin, MySQL, POODLE, VMware, Heartbleed,
//!   Shellshock, Tomcat, iWork, Joomla, Sophos);
//! * v4.0: "CVSS v4.0: Examples" and FIRST's v4.0 calculator.
//!
//! Where a temporal or environmental figure is derived by hand from the specification's
//! equations, the arithmetic is written beside it.

use std::collections::HashMap;

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
        // no temporal metric: the temporal score is the base score
        assert_eq!(s.temporal_score, Some(base), "{vector}");
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
    // Temporal = Roundup(9.8 × E:U 0.91 × RL:O 0.95 × RC:C 1.0) = Roundup(8.4721) = 8.5;
    // the environmental equation applies the same factors to the unmodified base: 8.5
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C",
        9.8,
        Some(8.5),
        Some(8.5),
    );
    // MAV:L: modified exploitability 8.22 × 0.55 × 0.77 × 0.85 × 0.85 = 2.5151;
    // MISS = 1 − 0.44³ = 0.9148; modified impact 6.42 × 0.9148 = 5.8731;
    // Roundup(8.3883) = 8.4 (the base score of the same vector with AV:L).
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MAV:L",
        9.8,
        Some(9.8),
        Some(8.4),
    );
    // "not defined" values change nothing: every score is the base score
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/MAV:X",
        9.8,
        Some(9.8),
        Some(9.8),
    );
}

#[test]
fn v31_environmental_score_of_a_changed_scope_differs_from_the_base_score() {
    // ISS = MISS = 1 − 0.44³ = 0.914816; exploitability 8.22 × 0.2 × 0.77 × 0.5 × 0.62
    // = 0.3924. Base: impact 7.52 × 0.885816 − 3.25 × 0.894816^15 = 6.0477,
    // Roundup(1.08 × 6.4402) = Roundup(6.9554) = 7.0. Environmental (3.1): modified impact
    // 7.52 × 0.885816 − 3.25 × (0.914816 × 0.9731 − 0.02)^13 = 6.1280,
    // Roundup(1.08 × 6.5204) = Roundup(7.0421) = 7.1.
    let v = "CVSS:3.1/AV:P/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:H";
    check(v, 7.0, Some(7.0), Some(7.1));
    let s = compute(v).unwrap();
    assert_eq!(s.effective_score(), 7.1);
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    assert!(s.notes[0].contains("7.1") && s.notes[0].contains("0.9731"));
    // CVSS 3.0's environmental equation has the base equation's exponent: 7.0 both
    check(
        "CVSS:3.0/AV:P/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:H",
        7.0,
        Some(7.0),
        Some(7.0),
    );
    // CVE-2012-1516 (VMware): base 9.9; environmental 1.08 × (6.1280 + 3.1096) = 9.98
    // → 10.0
    check(
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        9.9,
        Some(9.9),
        Some(10.0),
    );
    // an environmental scope change on an unchanged base (MS:C): modified impact 6.1280,
    // modified exploitability 8.22 × 0.55 × 0.77 × 0.68 × 0.85 = 2.0121,
    // Roundup(1.08 × 8.1401) = Roundup(8.7913) = 8.8
    check(
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/MS:C",
        7.8,
        Some(7.8),
        Some(8.8),
    );
    // where the scope is unchanged, no note is added
    assert!(
        compute("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/MS:C")
            .unwrap()
            .notes
            .is_empty()
    );
}

#[test]
fn v31_environmental_score_with_modified_metrics_and_requirements() {
    // Temporal: Roundup(9.8 × E:P 0.94 × RL:O 0.95) = Roundup(8.7514) = 8.8.
    // MISS = 1 − (1 − 1.5 × 0.56)(1 − 1.5 × 0.22)(1 − 0.5 × 0) = 0.8928;
    // modified impact 6.42 × 0.8928 = 5.7318; modified exploitability
    // 8.22 × 0.62 × 0.77 × 0.62 × 0.85 = 2.0681; Roundup(7.7999) = 7.8;
    // Roundup(7.8 × 0.94 × 0.95) = Roundup(6.9654) = 7.0
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/IR:H/AR:L/MAV:A/MPR:L/MC:H/MI:L/MA:N",
        9.8,
        Some(8.8),
        Some(7.0),
    );
}

#[test]
fn v3_scores_agree_with_the_specification_equations_on_random_vectors() {
    let mut rng = Lcg(0x5eed_cafe);
    for i in 0..20_000 {
        let minor = if i % 2 == 0 { "3.0" } else { "3.1" };
        let mut vector = format!("CVSS:{minor}");
        for (metric, values) in V3_VALUES {
            let v = values[rng.below(values.len())];
            if v != "-" {
                vector.push_str(&format!("/{metric}:{v}"));
            }
        }
        let s = compute(&vector).unwrap();
        let (base, temporal, environmental) = reference_v3(&vector);
        assert_eq!(
            (s.base_score, s.temporal_score, s.environmental_score),
            (base, Some(temporal), Some(environmental)),
            "{vector}"
        );
    }
}

/// Every v3 metric and its values; `-` leaves the metric out of the vector.
const V3_VALUES: [(&str, &[&str]); 19] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
    ("E", &["-", "X", "H", "F", "P", "U"]),
    ("RL", &["-", "X", "U", "W", "T", "O"]),
    ("RC", &["-", "X", "C", "R", "U"]),
    ("CR", &["-", "X", "H", "M", "L"]),
    ("MAV", &["-", "X", "N", "A", "L", "P"]),
    ("MAC", &["-", "X", "L", "H"]),
    ("MPR", &["-", "X", "N", "L", "H"]),
    ("MUI", &["-", "X", "N", "R"]),
    ("MS", &["-", "X", "U", "C"]),
    ("MC", &["-", "X", "H", "L", "N"]),
    ("MA", &["-", "X", "H", "L", "N"]),
];

/// A small deterministic generator, so that a failure names a vector that fails again.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The v3.0/v3.1 equations as the specifications write them (sections 7.1–7.3 of v3.1,
/// 8.1–8.3 of v3.0), with the weights of their tables: `(base, temporal, environmental)`.
fn reference_v3(vector: &str) -> (f64, f64, f64) {
    let v31 = vector.starts_with("CVSS:3.1/");
    let m: HashMap<&str, &str> = vector
        .split('/')
        .skip(1)
        .filter_map(|c| c.split_once(':'))
        .collect();
    let get = |k: &str| m.get(k).copied().unwrap_or("X");
    // a modified metric that is not defined takes its base metric's value
    let modified = |k: &str| match get(&format!("M{k}")) {
        "X" => get(k),
        v => v,
    };
    let roundup = |x: f64| -> f64 {
        if v31 {
            // Appendix A of v3.1
            let i = (x * 100_000.0).round() as i64;
            if i % 10_000 == 0 {
                i as f64 / 100_000.0
            } else {
                ((i / 10_000) as f64 + 1.0) / 10.0
            }
        } else {
            (x * 10.0).ceil() / 10.0
        }
    };
    let av = |v| match v {
        "N" => 0.85_f64,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2,
    };
    let ac = |v| if v == "L" { 0.77_f64 } else { 0.44 };
    let pr = |v, changed: bool| match (v, changed) {
        ("N", _) => 0.85_f64,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    };
    let ui = |v| if v == "N" { 0.85_f64 } else { 0.62 };
    let cia = |v| match v {
        "H" => 0.56_f64,
        "L" => 0.22,
        _ => 0.0,
    };
    let requirement = |v| match v {
        "H" => 1.5_f64,
        "L" => 0.5,
        _ => 1.0,
    };
    let e = match get("E") {
        "F" => 0.97,
        "P" => 0.94,
        "U" => 0.91,
        _ => 1.0,
    };
    let rl = match get("RL") {
        "W" => 0.97,
        "T" => 0.96,
        "O" => 0.95,
        _ => 1.0,
    };
    let rc = match get("RC") {
        "R" => 0.96,
        "U" => 0.92,
        _ => 1.0,
    };

    let changed = get("S") == "C";
    let iss = 1.0 - (1.0 - cia(get("C"))) * (1.0 - cia(get("I"))) * (1.0 - cia(get("A")));
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability =
        8.22 * av(get("AV")) * ac(get("AC")) * pr(get("PR"), changed) * ui(get("UI"));
    let base = if impact <= 0.0 {
        0.0
    } else if changed {
        roundup((1.08 * (impact + exploitability)).min(10.0))
    } else {
        roundup((impact + exploitability).min(10.0))
    };
    let temporal = roundup(base * e * rl * rc);

    let m_changed = modified("S") == "C";
    let miss = (1.0
        - (1.0 - requirement(get("CR")) * cia(modified("C")))
            * (1.0 - requirement(get("IR")) * cia(modified("I")))
            * (1.0 - requirement(get("AR")) * cia(modified("A"))))
    .min(0.915);
    let m_impact = match (m_changed, v31) {
        (false, _) => 6.42 * miss,
        (true, true) => 7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powi(13),
        (true, false) => 7.52 * (miss - 0.029) - 3.25 * (miss - 0.02).powi(15),
    };
    let m_exploitability = 8.22
        * av(modified("AV"))
        * ac(modified("AC"))
        * pr(modified("PR"), m_changed)
        * ui(modified("UI"));
    let factor = if m_changed { 1.08 } else { 1.0 };
    let environmental = if m_impact <= 0.0 {
        0.0
    } else {
        roundup(roundup((factor * (m_impact + m_exploitability)).min(10.0)) * e * rl * rc)
    };
    (base, temporal, environmental)
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
        r#"{"base_score":9.8,"environmental_score":9.8,"severity":"CRITICAL","temporal_score":9.8,"version":"3.1"}"#
    );
    let s = compute("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
    assert_eq!(
        s.to_json().to_string(),
        r#"{"base_score":9.3,"environmental_score":null,"severity":"CRITICAL","temporal_score":null,"version":"4.0"}"#
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
