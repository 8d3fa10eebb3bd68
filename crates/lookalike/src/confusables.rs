//! Characters that look like Latin letters or digits, and the *skeleton* of a name: each
//! such character replaced by what it looks like, so that `rіvm.nl` with a Cyrillic `і`
//! reads `rivm.nl`.
//!
//! The table is `data/confusables.txt`, written by `data/gen-confusables.py` from the
//! Unicode Character Database (Latin letters with marks, hooks, strokes, small capitals)
//! and Unicode's confusables.txt (UTS #39: Cyrillic, Greek and Armenian letters that pass
//! for Latin ones); the script says how each part is chosen.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/confusables.txt");

struct Tables {
    /// Character → the Latin letters (or digit) it looks like.
    base: HashMap<char, &'static str>,
    /// Latin letters (or digit) → the characters that look like them, in table order.
    glyphs: HashMap<&'static str, Vec<char>>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut base = HashMap::new();
        let mut glyphs: HashMap<&'static str, Vec<char>> = HashMap::new();
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let mut fields = line.split('\t');
            let (Some(_), Some(ch), Some(looks_like)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Some(ch) = ch.chars().next() else {
                continue;
            };
            base.insert(ch, looks_like);
            glyphs.entry(looks_like).or_default().push(ch);
        }
        Tables { base, glyphs }
    })
}

/// What a character looks like, when the table knows it.
pub fn looks_like(ch: char) -> Option<&'static str> {
    tables().base.get(&ch).copied()
}

/// The characters that look like `letters` (one letter, or a pair such as `ae`).
pub fn glyphs(letters: &str) -> &'static [char] {
    tables().glyphs.get(letters).map_or(&[], Vec::as_slice)
}

/// The skeleton of a Unicode name: every character of the table replaced by what it looks
/// like, the others kept.
pub fn skeleton(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.chars() {
        match (ch.is_ascii(), looks_like(ch)) {
            (false, Some(s)) => out.push_str(s),
            _ => out.push(ch),
        }
    }
    out
}

/// The script of a letter, as far as telling mixed scripts apart needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// ASCII letters and the Latin blocks.
    Latin,
    /// Cyrillic.
    Cyrillic,
    /// Greek.
    Greek,
    /// Armenian.
    Armenian,
    /// Any other letter.
    Other,
}

/// The script of `ch`, `None` for digits, hyphens and other non-letters.
pub fn script(ch: char) -> Option<Script> {
    let cp = ch as u32;
    Some(match cp {
        _ if ch.is_ascii_alphabetic() => Script::Latin,
        _ if ch.is_ascii() => return None,
        0x00C0..=0x024F | 0x0250..=0x02AF | 0x1D00..=0x1DBF | 0x1E00..=0x1EFF => Script::Latin,
        0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0530..=0x058F => Script::Armenian,
        _ if ch.is_alphabetic() => Script::Other,
        _ => return None,
    })
}

/// Whether one label mixes Latin letters with letters of another script (`rіvm` with a
/// Cyrillic `і`), or is written wholly in Cyrillic, Greek or Armenian letters that all look
/// Latin (`сео`): what an IDN homograph looks like.
pub fn mixed_script(label: &str) -> bool {
    let mut latin = false;
    let mut other = false;
    let mut all_confusable = true;
    for ch in label.chars() {
        match script(ch) {
            Some(Script::Latin) => latin = true,
            Some(_) => {
                other = true;
                all_confusable &= looks_like(ch).is_some();
            }
            None => {}
        }
    }
    other && (latin || all_confusable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons() {
        assert_eq!(skeleton("rіvm.nl"), "rivm.nl"); // Cyrillic і
        assert_eq!(skeleton("rivм.nl"), "rivm.nl"); // Cyrillic м
        assert_eq!(skeleton("gøvérnment"), "government");
        assert_eq!(skeleton("æon"), "aeon");
        assert_eq!(skeleton("rivm.nl"), "rivm.nl");
        assert_eq!(skeleton("中文"), "中文");
    }

    #[test]
    fn glyph_lists() {
        assert!(glyphs("a").contains(&'а')); // Cyrillic а
        assert!(glyphs("a").contains(&'á'));
        assert!(glyphs("ae").contains(&'æ'));
        assert!(glyphs("-").is_empty());
    }

    #[test]
    fn mixed_scripts() {
        assert!(mixed_script("rіvm")); // Latin and Cyrillic
        assert!(mixed_script("сео")); // all Cyrillic, all look Latin
        assert!(!mixed_script("rivm"));
        assert!(!mixed_script("gøvérnment")); // Latin only
        assert!(!mixed_script("пример")); // Cyrillic, not all confusable
    }
}
