//! CVSS v2.0, v3.0, v3.1 and v4.0: scores computed from a vector string, and explained.
//!
//! The arithmetic is RustSec's `cvss` crate; this module decides which scores a vector
//! has, maps the qualitative severity, and writes one plain-language line per metric so
//! that "9.8" never travels without its scale and its meaning.
//!
//! Which scores a vector has follows FIRST's calculators:
//!
//! * **v3.0 and v3.1**: base, temporal and environmental, always. The equations define all
//!   three for every vector (a metric left out counts as "not defined"), and they need not
//!   agree: in v3.1 a changed scope's impact is computed differently in the environmental
//!   equation (`MISS × 0.9731 − 0.02` to the 13th power where the base equation has
//!   `ISS − 0.02` to the 15th), so `CVSS:3.1/AV:P/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:H` has a base
//!   score of 7.0 and an environmental score of 7.1 with no environmental metric set.
//! * **v4.0**: CVSS-B from the base metrics; CVSS-BT and CVSS-BE/BTE only where the vector
//!   has a threat or environmental metric, as the version's nomenclature names them.
//! * **v2.0**: temporal and environmental only where the vector has such a metric (without
//!   them the v2.0 equations give the base score back).
//!
//! ```
//! use baken_advisory::cvss::{self, CvssVersion, Severity};
//! let score = cvss::compute("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
//! assert_eq!(score.version, CvssVersion::V3_1);
//! assert_eq!(score.base_score, 9.8);
//! assert_eq!(score.severity, Severity::Critical);
//! assert_eq!(score.environmental_score, Some(9.8));
//! assert!(score.metrics[0].to_string().starts_with("AV:N — "));
//!
//! let changed = cvss::compute("CVSS:3.1/AV:P/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:H").unwrap();
//! assert_eq!((changed.base_score, changed.environmental_score), (7.0, Some(7.1)));
//! assert!(changed.notes[0].contains("0.9731"));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A CVSS version: the scale a score is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    /// CVSS v2.0 (2007); vectors carry no prefix: `AV:N/AC:L/Au:N/C:P/I:P/A:P`.
    #[serde(rename = "2.0")]
    V2,
    /// CVSS v3.0 (2015): `CVSS:3.0/…`.
    #[serde(rename = "3.0")]
    V3_0,
    /// CVSS v3.1 (2019): `CVSS:3.1/…`.
    #[serde(rename = "3.1")]
    V3_1,
    /// CVSS v4.0 (2023): `CVSS:4.0/…`.
    #[serde(rename = "4.0")]
    V4_0,
}

impl CvssVersion {
    /// The version as written in vectors and CSAF/CVE JSON: `3.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CVSS v{}", self.as_str())
    }
}

/// The qualitative severity rating of a score.
///
/// v3.x and v4.0 use FIRST's scale (None 0.0, Low 0.1–3.9, Medium 4.0–6.9, High 7.0–8.9,
/// Critical 9.0–10.0). CVSS v2.0 defines no scale; NVD's is used (Low 0.0–3.9,
/// Medium 4.0–6.9, High 7.0–10.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// 0.0.
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9 (v2: 7.0–10.0).
    High,
    /// 9.0–10.0.
    Critical,
}

impl Severity {
    /// FIRST's rating of a v3.x or v4.0 score.
    pub fn from_score(score: f64) -> Self {
        if score < 0.1 {
            Severity::None
        } else if score < 4.0 {
            Severity::Low
        } else if score < 7.0 {
            Severity::Medium
        } else if score < 9.0 {
            Severity::High
        } else {
            Severity::Critical
        }
    }

    /// NVD's rating of a v2.0 score.
    pub fn from_score_v2(score: f64) -> Self {
        if score < 4.0 {
            Severity::Low
        } else if score < 7.0 {
            Severity::Medium
        } else {
            Severity::High
        }
    }

    /// The rating as CVSS JSON writes it: `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "NONE",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = CvssError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "NONE" => Ok(Severity::None),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            _ => Err(CvssError::Severity(s.to_string())),
        }
    }
}

/// A vector that cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// The vector string is malformed, names an unknown metric or value, or lacks a base metric.
    #[error(
        "invalid CVSS vector {vector:?}: {reason}; write it as FIRST does, e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    )]
    Vector {
        /// The vector as given.
        vector: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A severity name outside NONE, LOW, MEDIUM, HIGH, CRITICAL.
    #[error("{0:?} is not a CVSS severity; use NONE, LOW, MEDIUM, HIGH or CRITICAL")]
    Severity(String),
}

/// One metric of a vector and what it means, e.g. `AV:N — Attack Vector: Network — …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricLine {
    /// The metric's abbreviation: `AV`.
    pub metric: String,
    /// The value's abbreviation: `N`.
    pub value: String,
    /// The metric's name in the specification: `Attack Vector`.
    pub name: &'static str,
    /// What the value means, in plain language.
    pub meaning: String,
}

impl fmt::Display for MetricLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} — {}: {}",
            self.metric, self.value, self.name, self.meaning
        )
    }
}

/// The scores of one vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvssScore {
    /// The scale.
    pub version: CvssVersion,
    /// The vector in the canonical order of its version.
    pub vector: String,
    /// The base score (v4.0: CVSS-B, computed from the base metrics alone).
    pub base_score: f64,
    /// The rating of the base score.
    pub severity: Severity,
    /// v2/v3: the temporal score; v4.0: the threat score (CVSS-BT). Always there for v3.x;
    /// for v2.0 and v4.0 `None` unless the vector has a temporal/threat metric other than
    /// "not defined".
    pub temporal_score: Option<f64>,
    /// The environmental score (v4.0: CVSS-BE or CVSS-BTE). Always there for v3.x, where it
    /// can differ from the base score with no environmental metric set (see the module
    /// documentation); for v2.0 and v4.0 `None` unless the vector has an environmental
    /// metric other than "not defined".
    pub environmental_score: Option<f64>,
    /// One line per metric present in the vector, in the vector's order.
    pub metrics: Vec<MetricLine>,
    /// Why a score differs from what its metrics suggest, in plain language: e.g. an
    /// environmental score above the base score with no environmental metric set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl CvssScore {
    /// The JSON form: `{"version","base_score","severity","temporal_score","environmental_score"}`,
    /// absent scores as `null`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": self.version.as_str(),
            "base_score": self.base_score,
            "severity": self.severity.as_str(),
            "temporal_score": self.temporal_score,
            "environmental_score": self.environmental_score,
        })
    }

    /// The most specific score the vector has: environmental, else temporal/threat, else base.
    pub fn effective_score(&self) -> f64 {
        self.environmental_score
            .or(self.temporal_score)
            .unwrap_or(self.base_score)
    }

    /// The rating of a score on this vector's scale (NVD's for v2.0, FIRST's otherwise).
    pub fn rate(&self, score: f64) -> Severity {
        match self.version {
            CvssVersion::V2 => Severity::from_score_v2(score),
            _ => Severity::from_score(score),
        }
    }
}

/// Computes the scores of a vector string of any supported version.
///
/// v2 vectors are accepted bare (`AV:N/…`), in parentheses, or with a `CVSS:2.0/` prefix.
pub fn compute(vector: &str) -> Result<CvssScore, CvssError> {
    let trimmed = vector.trim();
    let bare_v2 = trimmed
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim_start_matches("CVSS:2.0/");
    let invalid = |reason: String| CvssError::Vector {
        vector: vector.to_string(),
        reason,
    };
    let parsed: cvss::Cvss = if trimmed.starts_with("CVSS:") && !trimmed.starts_with("CVSS:2.0/") {
        trimmed
            .parse()
            .map_err(|e: cvss::Error| invalid(e.to_string()))?
    } else {
        cvss::v2::Vector::from_str(bare_v2)
            .map(cvss::Cvss::CvssV20)
            .map_err(|e| invalid(e.to_string()))?
    };
    let canonical = parsed.to_string();
    let components = components(&canonical);
    let missing = |required: &[&str]| -> Result<(), CvssError> {
        match required
            .iter()
            .find(|k| !components.iter().any(|(m, _)| m == *k))
        {
            Some(k) => Err(invalid(format!("base metric {k} is missing"))),
            None => Ok(()),
        }
    };
    let defined = |keys: &[&str], undefined: &str| {
        components
            .iter()
            .any(|(k, v)| keys.contains(&k.as_str()) && v != undefined)
    };
    let (version, family) = match &parsed {
        cvss::Cvss::CvssV20(_) => (CvssVersion::V2, Family::V2),
        cvss::Cvss::CvssV30(_) => (CvssVersion::V3_0, Family::V3),
        cvss::Cvss::CvssV31(_) => (CvssVersion::V3_1, Family::V3),
        cvss::Cvss::CvssV40(_) => (CvssVersion::V4_0, Family::V4),
        _ => return Err(invalid("unsupported CVSS version".into())),
    };
    let (base_score, temporal_score, environmental_score) = match &parsed {
        cvss::Cvss::CvssV20(v) => {
            missing(&V2_BASE)?;
            (
                v.score().value(),
                defined(&["E", "RL", "RC"], "ND").then(|| v.temporal_score().value()),
                defined(&["CDP", "TD", "CR", "IR", "AR"], "ND")
                    .then(|| v.environmental_score().value()),
            )
        }
        cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => {
            missing(&V3_BASE)?;
            (
                v.base_score().value(),
                Some(v.temporal_score().value()),
                Some(v.environmental_score().value()),
            )
        }
        cvss::Cvss::CvssV40(v) => {
            missing(&V4_BASE)?;
            let subset = |keep: &dyn Fn(&str) -> bool| -> Result<f64, CvssError> {
                let mut s = String::from("CVSS:4.0");
                for (k, val) in &components {
                    if keep(k) {
                        s.push('/');
                        s.push_str(k);
                        s.push(':');
                        s.push_str(val);
                    }
                }
                let v: cvss::v4::Vector =
                    s.parse().map_err(|e: cvss::Error| invalid(e.to_string()))?;
                Ok(v.score().value())
            };
            let has_threat = defined(&["E"], "X");
            let has_env = defined(&V4_ENVIRONMENTAL, "X");
            let base = subset(&|k| V4_BASE.contains(&k))?;
            let threat = if has_threat {
                Some(subset(&|k| V4_BASE.contains(&k) || k == "E")?)
            } else {
                None
            };
            (base, threat, has_env.then(|| v.score().value()))
        }
        _ => return Err(invalid("unsupported CVSS version".into())),
    };
    let severity = match version {
        CvssVersion::V2 => Severity::from_score_v2(base_score),
        _ => Severity::from_score(base_score),
    };
    let metrics = components
        .iter()
        .map(|(k, v)| explain(family, k, v))
        .collect();
    let mut notes = Vec::new();
    if let (CvssVersion::V3_1, Some(t), Some(e)) = (version, temporal_score, environmental_score)
        && t != e
        && !defined(&V3_ENVIRONMENTAL, "X")
    {
        notes.push(format!(
            "the environmental score is {e:.1} where the temporal score is {t:.1} although no \
             environmental metric is set: for a changed scope CVSS 3.1 computes the impact as \
             7.52 × (MISS − 0.029) − 3.25 × (MISS × 0.9731 − 0.02)^13 in the environmental \
             equation and as 7.52 × (ISS − 0.029) − 3.25 × (ISS − 0.02)^15 in the base \
             equation; FIRST's calculator shows the same {e:.1}"
        ));
    }
    Ok(CvssScore {
        version,
        vector: canonical,
        base_score,
        severity,
        temporal_score,
        environmental_score,
        metrics,
        notes,
    })
}

const V2_BASE: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V3_ENVIRONMENTAL: [&str; 11] = [
    "CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA",
];
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];
const V4_ENVIRONMENTAL: [&str; 14] = [
    "CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA",
];

/// The `(metric, value)` pairs of a vector, without its `CVSS:x.y` prefix.
fn components(vector: &str) -> Vec<(String, String)> {
    vector
        .split('/')
        .filter(|c| !c.starts_with("CVSS:"))
        .filter_map(|c| c.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V2,
    V3,
    V4,
}

fn explain(family: Family, metric: &str, value: &str) -> MetricLine {
    let (name, meaning) = describe(family, metric, value);
    MetricLine {
        metric: metric.to_string(),
        value: value.to_string(),
        name,
        meaning,
    }
}

fn describe(family: Family, metric: &str, value: &str) -> (&'static str, String) {
    use Family::*;
    let not_defined = matches!((family, value), (V2, "ND") | (V3 | V4, "X"));
    if not_defined {
        return (
            metric_name(family, metric),
            "not defined (the value does not change the score)".into(),
        );
    }
    // Modified base metrics (environmental group) mean what their base metric means,
    // for this environment.
    if let Some(base) = metric.strip_prefix('M')
        && is_modifiable(family, base)
    {
        let (_, meaning) = describe(family, base, value);
        return (
            metric_name(family, metric),
            format!("in this environment, {meaning}"),
        );
    }
    let meaning: &str = match (family, metric, value) {
        (V2 | V3 | V4, "AV", "N") => "attackable over the network (from the internet)",
        (V2 | V3 | V4, "AV", "A") => {
            "attackable only from an adjacent network (same LAN segment, Wi-Fi, Bluetooth)"
        }
        (V2 | V3 | V4, "AV", "L") => {
            "needs local access (a logged-in session, or a user opening a malicious file)"
        }
        (V3 | V4, "AV", "P") => "needs physical access to the device",
        (V2, "AC", "L") => "no special conditions: the attack works reliably",
        (V2, "AC", "M") => "some special conditions must hold for the attack to work",
        (V2, "AC", "H") => "specialised conditions must hold; the attack is hard to pull off",
        (V3 | V4, "AC", "L") => "no special conditions: the attack works reliably",
        (V3 | V4, "AC", "H") => {
            "the attack depends on conditions beyond the attacker's control (e.g. defeating a protection)"
        }
        (V4, "AT", "N") => "no deployment or execution conditions are needed for the attack",
        (V4, "AT", "P") => {
            "the attack needs specific deployment or execution conditions (e.g. a race, a machine-in-the-middle position)"
        }
        (V2, "Au", "N") => "no authentication needed",
        (V2, "Au", "S") => "the attacker must log in once",
        (V2, "Au", "M") => "the attacker must authenticate two or more times",
        (V3 | V4, "PR", "N") => "no login needed",
        (V3 | V4, "PR", "L") => "needs an ordinary user account",
        (V3 | V4, "PR", "H") => "needs an administrator account",
        (V3, "UI", "N") => "no user needs to do anything",
        (V3, "UI", "R") => "a user must take some action (e.g. click a link, open a file)",
        (V4, "UI", "N") => "no user needs to do anything",
        (V4, "UI", "P") => "a user must take a limited, ordinary action (e.g. open a file)",
        (V4, "UI", "A") => "a user must actively and consciously help (e.g. dismiss a warning)",
        (V3, "S", "U") => "the impact stays within the vulnerable component",
        (V3, "S", "C") => {
            "the impact reaches beyond the vulnerable component (e.g. from a VM to its host)"
        }
        (V2, "C", "N") => "no loss of confidentiality",
        (V2, "C", "P") => "some information is disclosed",
        (V2, "C", "C") => "total information disclosure: all data on the system can be read",
        (V2, "I", "N") => "no loss of integrity",
        (V2, "I", "P") => "some files or data can be modified",
        (V2, "I", "C") => "total loss of integrity: anything on the system can be modified",
        (V2, "A", "N") => "no loss of availability",
        (V2, "A", "P") => "performance is reduced or service is interrupted in part",
        (V2, "A", "C") => "the system can be shut down completely",
        (V3, "C", "H") | (V4, "VC" | "SC", "H") => {
            "total loss of confidentiality: all data can be read"
        }
        (V3, "C", "L") | (V4, "VC" | "SC", "L") => "some data can be read",
        (V3, "C", "N") | (V4, "VC" | "SC", "N") => "no loss of confidentiality",
        (V3, "I", "H") | (V4, "VI" | "SI", "H") => {
            "total loss of integrity: anything can be modified"
        }
        (V3, "I", "L") | (V4, "VI" | "SI", "L") => "some data can be modified",
        (V3, "I", "N") | (V4, "VI" | "SI", "N") => "no loss of integrity",
        (V3, "A", "H") | (V4, "VA" | "SA", "H") => {
            "total loss of availability: the service can be shut down"
        }
        (V3, "A", "L") | (V4, "VA" | "SA", "L") => "performance is reduced or interrupted",
        (V3, "A", "N") | (V4, "VA" | "SA", "N") => "no loss of availability",
        (V4, "SI" | "SA", "S") => "the impact on other systems can harm human safety",
        (V2, "E", "U") | (V3, "E", "U") => "no exploit code is known",
        (V2, "E", "POC") | (V3, "E", "P") => "proof-of-concept exploit code exists",
        (V2, "E", "F") | (V3, "E", "F") => "working exploit code exists",
        (V2, "E", "H") | (V3, "E", "H") => {
            "exploitation is easy and widespread (automated or no exploit needed)"
        }
        (V4, "E", "A") => "attacks have been reported or exploitation is easy and widespread",
        (V4, "E", "P") => "a proof-of-concept exploit is public, no attacks reported",
        (V4, "E", "U") => "no exploit code or attack is known",
        (V2, "RL", "OF") | (V3, "RL", "O") => "an official fix is available",
        (V2, "RL", "TF") | (V3, "RL", "T") => "a temporary official fix is available",
        (V2, "RL", "W") | (V3, "RL", "W") => "an unofficial workaround is available",
        (V2, "RL", "U") | (V3, "RL", "U") => "no fix or workaround is available",
        (V2, "RC", "UC") | (V3, "RC", "U") => "the report is unconfirmed",
        (V2, "RC", "UR") | (V3, "RC", "R") => "the report is uncorroborated but reasonable",
        (V2, "RC", "C") | (V3, "RC", "C") => "the vulnerability is confirmed",
        (V2, "CDP", "N") => "no potential for loss of life, property or revenue",
        (V2, "CDP", "L") => "low potential for collateral damage",
        (V2, "CDP", "LM") => "low-medium potential for collateral damage",
        (V2, "CDP", "MH") => "medium-high potential for collateral damage",
        (V2, "CDP", "H") => "high potential for loss of life, property or revenue",
        (V2, "TD", "N") => "no systems in this environment are affected",
        (V2, "TD", "L") => "up to a quarter of the systems in this environment are affected",
        (V2, "TD", "M") => "a quarter to three quarters of the systems are affected",
        (V2, "TD", "H") => "most systems in this environment are affected",
        (_, "CR" | "IR" | "AR", "L") => "of low importance to this organisation",
        (_, "CR" | "IR" | "AR", "M") => "of medium importance to this organisation",
        (_, "CR" | "IR" | "AR", "H") => "of high importance to this organisation",
        (V4, "S", "N") => "negligible safety consequences",
        (V4, "S", "P") => "safety consequences are possible",
        (V4, "AU", "N") => "the attack cannot be fully automated",
        (V4, "AU", "Y") => "the attack can be automated end to end (wormable)",
        (V4, "R", "A") => "the system recovers by itself after an attack",
        (V4, "R", "U") => "the system needs a user to recover after an attack",
        (V4, "R", "I") => "the system cannot be recovered by the user",
        (V4, "V", "D") => "a rich target (e.g. a server with many resources)",
        (V4, "V", "C") => "a limited target (e.g. a single workstation)",
        (V4, "RE", "L") => "little effort to respond",
        (V4, "RE", "M") => "moderate effort to respond",
        (V4, "RE", "H") => "great effort to respond",
        (V4, "U", u) => {
            return (
                metric_name(family, metric),
                format!("the vendor rates the urgency {}", u.to_ascii_uppercase()),
            );
        }
        _ => "value not explained",
    };
    (metric_name(family, metric), meaning.to_string())
}

fn is_modifiable(family: Family, base: &str) -> bool {
    match family {
        Family::V2 => false,
        Family::V3 => V3_BASE.contains(&base),
        Family::V4 => V4_BASE.contains(&base),
    }
}

fn metric_name(family: Family, metric: &str) -> &'static str {
    use Family::*;
    match (family, metric) {
        (V2, "AV") => "Access Vector",
        (V2, "AC") => "Access Complexity",
        (V2, "Au") => "Authentication",
        (V2, "C") | (V3, "C") => "Confidentiality Impact",
        (V2, "I") | (V3, "I") => "Integrity Impact",
        (V2, "A") | (V3, "A") => "Availability Impact",
        (V2, "E") => "Exploitability",
        (V2, "RL") | (V3, "RL") => "Remediation Level",
        (V2, "RC") | (V3, "RC") => "Report Confidence",
        (V2, "CDP") => "Collateral Damage Potential",
        (V2, "TD") => "Target Distribution",
        (_, "CR") => "Confidentiality Requirement",
        (_, "IR") => "Integrity Requirement",
        (_, "AR") => "Availability Requirement",
        (_, "AV") => "Attack Vector",
        (_, "AC") => "Attack Complexity",
        (_, "AT") => "Attack Requirements",
        (_, "PR") => "Privileges Required",
        (_, "UI") => "User Interaction",
        (V3, "S") => "Scope",
        (V3, "E") => "Exploit Code Maturity",
        (V4, "VC") => "Confidentiality Impact to the Vulnerable System",
        (V4, "VI") => "Integrity Impact to the Vulnerable System",
        (V4, "VA") => "Availability Impact to the Vulnerable System",
        (V4, "SC") => "Confidentiality Impact to Subsequent Systems",
        (V4, "SI") => "Integrity Impact to Subsequent Systems",
        (V4, "SA") => "Availability Impact to Subsequent Systems",
        (V4, "E") => "Exploit Maturity",
        (V4, "S") => "Safety",
        (V4, "AU") => "Automatable",
        (V4, "R") => "Recovery",
        (V4, "V") => "Value Density",
        (V4, "RE") => "Vulnerability Response Effort",
        (V4, "U") => "Provider Urgency",
        (_, "MAV") => "Modified Attack Vector",
        (_, "MAC") => "Modified Attack Complexity",
        (_, "MAT") => "Modified Attack Requirements",
        (_, "MPR") => "Modified Privileges Required",
        (_, "MUI") => "Modified User Interaction",
        (_, "MS") => "Modified Scope",
        (_, "MC") => "Modified Confidentiality",
        (_, "MI") => "Modified Integrity",
        (_, "MA") => "Modified Availability",
        (_, "MVC") => "Modified Confidentiality Impact to the Vulnerable System",
        (_, "MVI") => "Modified Integrity Impact to the Vulnerable System",
        (_, "MVA") => "Modified Availability Impact to the Vulnerable System",
        (_, "MSC") => "Modified Confidentiality Impact to Subsequent Systems",
        (_, "MSI") => "Modified Integrity Impact to Subsequent Systems",
        (_, "MSA") => "Modified Availability Impact to Subsequent Systems",
        _ => "Unknown metric",
    }
}

#[cfg(test)]
mod tests;
