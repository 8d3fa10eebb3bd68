//! The languages baken writes its messages in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language of messages: what a registry contact reads (`language = "nl"`) and what a
/// sharing policy's `[messages]` table sets as the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Dutch.
    Nl,
}

impl Language {
    /// Every language, in the order of their codes.
    pub const ALL: [Language; 2] = [Language::En, Language::Nl];

    /// The ISO 639-1 code, as registry files, policies and the `Content-Language` header
    /// write it: `en`, `nl`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Nl => "nl",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A string that names no language baken writes messages in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown message language {0:?} in field `language`; write \"en\" (English) or \"nl\" (Dutch), or leave the field out for the policy's default"
)]
pub struct ParseLanguageError(pub String);

impl FromStr for Language {
    type Err = ParseLanguageError;

    /// Reads `en` or `nl` (any case, surrounding white space ignored); nothing else, not
    /// even an empty string.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Language::En),
            "nl" => Ok(Language::Nl),
            _ => Err(ParseLanguageError(s.to_string())),
        }
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Language {
    /// Reads a code as [`FromStr`] does; the error names the field and what to write.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_nothing_else_is_a_language() {
        for l in Language::ALL {
            assert_eq!(l.code().parse::<Language>(), Ok(l));
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
        assert_eq!(" NL ".parse::<Language>(), Ok(Language::Nl));
        for bad in ["", "de", "dutch", "nl-NL"] {
            let e = bad.parse::<Language>().unwrap_err();
            assert!(e.to_string().contains("field `language`"), "{e}");
            assert!(serde_json::from_str::<Language>(&format!("{bad:?}")).is_err());
        }
    }
}
