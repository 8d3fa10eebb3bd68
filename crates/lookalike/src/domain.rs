//! Domain names as the fuzzers and the scanner see them: normalised, split into the part
//! below the registered name, the registered label and the public suffix, and checked as
//! host names.

use std::borrow::Cow;

/// Second-level labels under which names are registered one level deeper (`example.co.uk`).
/// Without a public suffix list this is the rule dnstwist falls back on, and it is enough
/// for the registries a CERT watches: the label in front of the suffix is what imitates.
const SECOND_LEVEL: &[&str] = &[
    "ac", "biz", "co", "com", "edu", "gov", "info", "mil", "ne", "net", "nom", "org",
];

/// A name cut into the labels below the registered one, the registered label and the suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// Labels in front of the registered label, without the final dot (`www`, or empty).
    pub sub: &'a str,
    /// The registered label (`rivm` of `www.rivm.nl`).
    pub label: &'a str,
    /// The public suffix (`nl`, `co.uk`), or empty for a name of one label.
    pub suffix: &'a str,
}

impl<'a> Parts<'a> {
    /// The byte offset of the registered label in the name.
    pub fn label_start(&self) -> usize {
        if self.sub.is_empty() {
            0
        } else {
            self.sub.len() + 1
        }
    }
}

/// Splits a normalised name (no trailing dot) into its parts.
pub fn split(name: &str) -> Parts<'_> {
    let Some(last_dot) = name.rfind('.') else {
        return Parts {
            sub: "",
            label: name,
            suffix: "",
        };
    };
    let mut suffix_start = last_dot + 1;
    let head = &name[..last_dot];
    if let Some(dot) = head.rfind('.') {
        let second = &head[dot + 1..];
        if SECOND_LEVEL.contains(&second) {
            suffix_start = dot + 1;
        }
    }
    let head = &name[..suffix_start - 1];
    let (sub, label) = match head.rfind('.') {
        Some(dot) => (&head[..dot], &head[dot + 1..]),
        None => ("", head),
    };
    if label.is_empty() {
        // `co.uk` itself: the second-level label is the label
        return Parts {
            sub: "",
            label: head,
            suffix: &name[last_dot + 1..],
        };
    }
    Parts {
        sub,
        label,
        suffix: &name[suffix_start..],
    }
}

/// Joins parts into a name, leaving out the empty ones.
pub fn join(sub: &str, label: &str, suffix: &str) -> String {
    let mut s = String::with_capacity(sub.len() + label.len() + suffix.len() + 2);
    for part in [sub, label, suffix] {
        if part.is_empty() {
            continue;
        }
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(part);
    }
    s
}

/// Trims white space, a trailing dot and a certificate's wildcard label (`*.`), and
/// lowercases ASCII; `None` for an empty name.
pub fn normalise(raw: &str) -> Option<Cow<'_, str>> {
    let mut s = raw.trim();
    s = s.strip_suffix('.').unwrap_or(s);
    while let Some(rest) = s.strip_prefix("*.") {
        s = rest;
    }
    if s.is_empty() {
        return None;
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(s.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(s))
    }
}

/// A name in its ASCII (punycode) form: itself when it is ASCII, else by UTS #46;
/// `None` when IDNA refuses it.
pub fn to_ascii(name: &str) -> Option<Cow<'_, str>> {
    if name.is_ascii() {
        return Some(Cow::Borrowed(name));
    }
    idna::domain_to_ascii(name).ok().map(Cow::Owned)
}

/// The Unicode form of an ASCII name whose labels may be punycode (`xn--…`); `None` when
/// it has no such label or a label does not decode.
pub fn to_unicode(ascii: &str) -> Option<String> {
    if !ascii.contains("xn--") {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(ascii);
    result.ok().map(|()| unicode)
}

/// Whether an ASCII name is a host name a registry could delegate: 4 to 253 characters, at
/// least two labels of letters, digits and hyphens, none starting or ending with a hyphen
/// but the last, which has at least two characters (the test dnstwist applies to its output).
pub fn is_host_name(name: &str) -> bool {
    if !(4..=253).contains(&name.len()) {
        return false;
    }
    let Some((head, last)) = name.rsplit_once('.') else {
        return false;
    };
    let ldh = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if !(2..=63).contains(&last.len()) || !last.bytes().all(ldh) {
        return false;
    }
    head.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label.bytes().all(ldh)
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, sub: &str, label: &str, suffix: &str) {
        assert_eq!(split(name), Parts { sub, label, suffix }, "{name}");
    }

    #[test]
    fn splits_names() {
        check("rivm.nl", "", "rivm", "nl");
        check("www.rivm.nl", "www", "rivm", "nl");
        check("a.b.example.co.uk", "a.b", "example", "co.uk");
        check("co.uk", "", "co", "uk");
        check("localhost", "", "localhost", "");
        check("rivm.nl.login.example", "rivm.nl", "login", "example");
    }

    #[test]
    fn host_names() {
        assert!(is_host_name("rivm.nl"));
        assert!(is_host_name("xn--rvm-8cd.example"));
        assert!(!is_host_name("-rivm.nl"));
        assert!(!is_host_name("rivm-.nl"));
        assert!(!is_host_name("ri..nl"));
        assert!(!is_host_name("rivm.n"));
        assert!(!is_host_name("rivm"));
        assert!(!is_host_name("ri_m.nl"));
    }

    #[test]
    fn normalises() {
        assert_eq!(normalise(" *.RIVM.nl. ").as_deref(), Some("rivm.nl"));
        assert_eq!(normalise("  "), None);
    }
}
