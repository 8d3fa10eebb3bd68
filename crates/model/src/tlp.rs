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

    /// The id of the official STIX 2.1 marking definition of the label: OASIS's TLP 2.0
    /// marking definitions (`extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`).
    pub fn stix_marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The label of an official STIX marking definition's id: TLP 2.0, or TLP 1.0 (STIX 2.1
    /// section 7.2.1.4; WHITE reads as CLEAR); `None` for any other id.
    pub fn from_stix_marking(id: &str) -> Option<Tlp> {
        const TLP1: [(&str, Tlp); 4] = [
            (
                "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
                Tlp::Clear,
            ),
            (
                "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                Tlp::Green,
            ),
            (
                "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                Tlp::Amber,
            ),
            (
                "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
                Tlp::Red,
            ),
        ];
        [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ]
        .into_iter()
        .find(|t| t.stix_marking_id() == id)
        .or_else(|| TLP1.iter().find(|(m, _)| *m == id).map(|(_, t)| *t))
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
    fn stix_markings_read_back() {
        for tlp in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(Tlp::from_stix_marking(tlp.stix_marking_id()), Some(tlp));
        }
        // TLP 1.0's WHITE
        assert_eq!(
            Tlp::from_stix_marking("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(Tlp::from_stix_marking("marking-definition--x"), None);
    }

    #[test]
    fn ordered_by_restriction() {
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
        assert_eq!(Tlp::AmberStrict.to_string(), "TLP:AMBER+STRICT");
    }
}
