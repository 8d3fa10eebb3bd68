//! Traffic Light Protocol 2.0 labels (FIRST).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A TLP 2.0 label, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    /// Recipients may spread this to the world.
    #[serde(rename = "CLEAR")]
    Clear,
    /// Recipients may share within their community, not publicly.
    #[serde(rename = "GREEN")]
    Green,
    /// Recipients may share with their organisation and its clients on a need-to-know basis.
    #[serde(rename = "AMBER")]
    Amber,
    /// Recipients may share only within their own organisation.
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    /// For the eyes and ears of the individual recipients only.
    #[serde(rename = "RED")]
    Red,
}

impl Tlp {
    /// The label as FIRST writes it in a message: `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// FIRST's one-sentence definition of what a recipient may do with the information.
    pub fn sharing_rule(self) -> &'static str {
        match self {
            Tlp::Clear => {
                "Recipients can spread this to the world; there is no limit on disclosure."
            }
            Tlp::Green => {
                "Limited disclosure: recipients can spread this within their community, but not via publicly accessible channels."
            }
            Tlp::Amber => {
                "Limited disclosure: recipients can only spread this on a need-to-know basis within their organisation and its clients."
            }
            Tlp::AmberStrict => {
                "Limited disclosure: recipients can only spread this on a need-to-know basis within their organisation."
            }
            Tlp::Red => {
                "For the eyes and ears of individual recipients only, no further disclosure."
            }
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A string that is not a TLP 2.0 label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a TLP 2.0 label; use CLEAR, GREEN, AMBER, AMBER+STRICT or RED")]
pub struct ParseTlpError(String);

impl FromStr for Tlp {
    type Err = ParseTlpError;

    /// Accepts `AMBER`, `tlp:amber`, `TLP:AMBER+STRICT`; `WHITE` (TLP 1.0) reads as CLEAR.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("TLP:").unwrap_or(&upper);
        match bare {
            "CLEAR" | "WHITE" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(ParseTlpError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_and_tlp1_white() {
        assert_eq!("tlp:amber+strict".parse(), Ok(Tlp::AmberStrict));
        assert_eq!("WHITE".parse(), Ok(Tlp::Clear));
        assert!("PURPLE".parse::<Tlp>().is_err());
    }

    #[test]
    fn ordered_by_restriction() {
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
        assert_eq!(Tlp::AmberStrict.to_string(), "TLP:AMBER+STRICT");
    }
}
