//! CPE names: CPE 2.3 formatted strings and CPE 2.2 URIs, compared per NISTIR 7696.
//!
//! A name has eleven attributes (part, vendor, product, version, update, edition, language,
//! sw_edition, target_sw, target_hw, other). Each is ANY (`*`), NA (`-`), a literal, or — in
//! a source name — a literal with wildcards: an unquoted `*` (any number of characters) or
//! `?` (exactly one character). Values compare case-insensitively; `\` quotes the next
//! character in a formatted string (`foo\:bar` is one value `foo:bar`, `\*` a literal star).
//!
//! [`compare`] gives the relation of a source name (an advisory's) to a target name (an
//! inventory's): the source is a [`Relation::Superset`] of, [`Relation::Equal`] to, a
//! [`Relation::Subset`] of, or [`Relation::Disjoint`] from the target, or the relation is
//! [`Relation::Undefined`] (the target has wildcards, or attributes disagree in direction).
//!
//! ```
//! use baken_matching::cpe::{Cpe, Relation, compare};
//! let advisory: Cpe = "cpe:2.3:a:citrix:application_delivery_controller:13.0:*:*:*:*:*:*:*".parse().unwrap();
//! let installed: Cpe = "cpe:/a:citrix:application_delivery_controller:13.0".parse().unwrap();
//! assert_eq!(compare(&advisory, &installed), Relation::Equal);
//! let family: Cpe = "cpe:2.3:a:citrix:application_delivery_*:*:*:*:*:*:*:*:*".parse().unwrap();
//! assert_eq!(compare(&family, &installed), Relation::Superset);
//! ```

use std::fmt;
use std::str::FromStr;

/// The attribute names, in binding order.
pub const ATTRIBUTES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

/// Index of the version attribute in [`Cpe::attributes`].
pub const VERSION: usize = 3;

/// One piece of a value with wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    /// A literal character (lower-cased).
    Char(char),
    /// Unquoted `*`: any number of characters.
    Star,
    /// Unquoted `?`: exactly one character.
    One,
}

/// The value of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Value {
    /// `*`: any value.
    #[default]
    Any,
    /// `-`: not applicable.
    Na,
    /// A literal value, lower-cased and unquoted.
    Literal(String),
    /// A value with wildcards.
    Pattern(Vec<Token>),
}

impl Value {
    /// The literal text, where this is a literal.
    pub fn literal(&self) -> Option<&str> {
        match self {
            Value::Literal(s) => Some(s),
            _ => None,
        }
    }

    fn from_tokens(tokens: Vec<Token>) -> Value {
        if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
            Value::Literal(
                tokens
                    .into_iter()
                    .map(|t| match t {
                        Token::Char(c) => c,
                        _ => unreachable!("all tokens are characters"),
                    })
                    .collect(),
            )
        } else {
            Value::Pattern(tokens)
        }
    }

    /// Whether this value, as a source, matches a literal target text.
    pub fn matches_text(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        match self {
            Value::Any => true,
            Value::Na => false,
            Value::Literal(s) => *s == text,
            Value::Pattern(p) => glob(p, &text.chars().collect::<Vec<_>>()),
        }
    }
}

/// Whether the pattern `p` matches all of `t`. Greedy, going back only to the last `*`:
/// at most `p.len() × t.len()` steps. (Trying every split at every `*` in turn, as the plain
/// definition does, took minutes for a name of a few dozen wildcards found by the `cpe`
/// fuzz target; `tests::glob_plain` is that definition, and a property test holds the two
/// equal.)
fn glob(p: &[Token], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    // after the last `*` seen: where the pattern goes on, and where in the text it tried
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Token::Star) => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(Token::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Token::Char(c)) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // let the last `*` take one more character, and try again after it
                Some((after, tried)) => {
                    pi = after;
                    ti = tried + 1;
                    star = Some((after, tried + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Token::Star)
}

/// A CPE name: eleven attribute values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpe {
    /// The values, in the order of [`ATTRIBUTES`].
    pub attributes: [Value; 11],
}

impl Cpe {
    /// `part`: `a` (application), `o` (operating system), `h` (hardware).
    pub fn part(&self) -> &Value {
        &self.attributes[0]
    }
    /// `vendor`.
    pub fn vendor(&self) -> &Value {
        &self.attributes[1]
    }
    /// `product`.
    pub fn product(&self) -> &Value {
        &self.attributes[2]
    }
    /// `version`.
    pub fn version(&self) -> &Value {
        &self.attributes[VERSION]
    }
}

/// A string that is not a CPE name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CPE {input:?}: {reason}")]
pub struct CpeError {
    /// The input.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl FromStr for Cpe {
    type Err = CpeError;

    /// Parses a CPE 2.3 formatted string (`cpe:2.3:…`) or a CPE 2.2 URI (`cpe:/…`).
    fn from_str(s: &str) -> Result<Self, CpeError> {
        let err = |reason: String| CpeError {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        let lower_prefix = t.get(..8).map(str::to_ascii_lowercase);
        if lower_prefix.as_deref() == Some("cpe:2.3:") {
            parse_fs(&t[8..]).map_err(err)
        } else if t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("cpe:/")) {
            parse_uri(&t[5..]).map_err(err)
        } else {
            Err(err(
                "must start with `cpe:2.3:` (CPE 2.3) or `cpe:/` (CPE 2.2)".to_string(),
            ))
        }
    }
}

fn parse_fs(body: &str) -> Result<Cpe, String> {
    let mut fields: Vec<Vec<Token>> = vec![Vec::new()];
    let mut raw: Vec<String> = vec![String::new()];
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("at least one field");
        let raw_field = raw.last_mut().expect("at least one field");
        match c {
            '\\' => {
                let q = chars
                    .next()
                    .ok_or_else(|| "a `\\` ends the name".to_string())?;
                field.extend(q.to_lowercase().map(Token::Char));
                raw_field.push('\\');
                raw_field.push(q);
            }
            ':' => {
                fields.push(Vec::new());
                raw.push(String::new());
            }
            '*' => {
                field.push(Token::Star);
                raw_field.push('*');
            }
            '?' => {
                field.push(Token::One);
                raw_field.push('?');
            }
            c => {
                field.extend(c.to_lowercase().map(Token::Char));
                raw_field.push(c);
            }
        }
    }
    if fields.len() > 11 {
        return Err(format!("{} attributes, at most 11", fields.len()));
    }
    let mut attributes: [Value; 11] = Default::default();
    for (i, (tokens, raw)) in fields.into_iter().zip(raw).enumerate() {
        attributes[i] = match raw.as_str() {
            "*" | "" => Value::Any,
            "-" => Value::Na,
            _ => Value::from_tokens(tokens),
        };
    }
    check_part(&attributes[0])?;
    Ok(Cpe { attributes })
}

fn parse_uri(body: &str) -> Result<Cpe, String> {
    let fields: Vec<&str> = body.split(':').collect();
    if fields.len() > 7 {
        return Err(format!(
            "{} components, a CPE 2.2 URI has at most 7",
            fields.len()
        ));
    }
    let mut attributes: [Value; 11] = Default::default();
    for (i, f) in fields.iter().enumerate() {
        if i == 5 && f.starts_with('~') {
            // packed edition: ~edition~sw_edition~target_sw~target_hw~other
            let packed: Vec<&str> = f[1..].split('~').collect();
            if packed.len() != 5 {
                return Err("a packed edition needs five `~`-separated parts".to_string());
            }
            for (j, p) in packed.into_iter().enumerate() {
                attributes[[5, 7, 8, 9, 10][j]] = uri_value(p)?;
            }
        } else {
            attributes[i] = uri_value(f)?;
        }
    }
    check_part(&attributes[0])?;
    Ok(Cpe { attributes })
}

fn uri_value(s: &str) -> Result<Value, String> {
    match s {
        "" => return Ok(Value::Any),
        "-" => return Ok(Value::Na),
        _ => {}
    }
    let mut tokens = Vec::new();
    let mut bytes = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    let flush = |bytes: &mut Vec<u8>, tokens: &mut Vec<Token>| {
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        tokens.extend(text.chars().map(Token::Char));
        bytes.clear();
    };
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            let v = u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
            match v {
                1 => {
                    flush(&mut bytes, &mut tokens);
                    tokens.push(Token::One);
                }
                2 => {
                    flush(&mut bytes, &mut tokens);
                    tokens.push(Token::Star);
                }
                v => bytes.push(v),
            }
            i += 3;
        } else {
            bytes.push(b[i]);
            i += 1;
        }
    }
    flush(&mut bytes, &mut tokens);
    Ok(Value::from_tokens(tokens))
}

fn check_part(part: &Value) -> Result<(), String> {
    match part {
        Value::Any => Ok(()),
        Value::Literal(p) if matches!(p.as_str(), "a" | "o" | "h") => Ok(()),
        other => Err(format!("part must be a, o, h or *, not {other:?}")),
    }
}

impl fmt::Display for Cpe {
    /// The CPE 2.3 formatted string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3")?;
        for v in &self.attributes {
            f.write_str(":")?;
            match v {
                Value::Any => f.write_str("*")?,
                Value::Na => f.write_str("-")?,
                Value::Literal(s) if s == "-" => f.write_str("\\-")?,
                Value::Literal(s) => write_escaped(f, s.chars().map(Token::Char))?,
                Value::Pattern(p) => write_escaped(f, p.iter().cloned())?,
            }
        }
        Ok(())
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, tokens: impl Iterator<Item = Token>) -> fmt::Result {
    use fmt::Write;
    for t in tokens {
        match t {
            Token::Star => f.write_char('*')?,
            Token::One => f.write_char('?')?,
            Token::Char(c) if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') => {
                f.write_char(c)?
            }
            Token::Char(c) => {
                f.write_char('\\')?;
                f.write_char(c)?
            }
        }
    }
    Ok(())
}

/// How a source name relates to a target name, or one value to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The source covers more than the target (and all of it).
    Superset,
    /// Both name the same.
    Equal,
    /// The source covers less than the target.
    Subset,
    /// Nothing in common.
    Disjoint,
    /// NISTIR 7696 defines no relation (the target has wildcards), or attributes disagree.
    Undefined,
}

/// The relation of a source value to a target value (NISTIR 7696, table 6-2).
pub fn compare_values(source: &Value, target: &Value) -> Relation {
    use Relation::*;
    match (source, target) {
        (_, Value::Pattern(_)) => Undefined,
        (Value::Any, Value::Any) | (Value::Na, Value::Na) => Equal,
        (Value::Any, _) => Superset,
        (Value::Na, Value::Any) => Subset,
        (Value::Na, Value::Literal(_)) => Disjoint,
        (Value::Literal(_) | Value::Pattern(_), Value::Any) => Subset,
        (Value::Literal(_) | Value::Pattern(_), Value::Na) => Disjoint,
        (Value::Literal(a), Value::Literal(b)) => {
            if a == b {
                Equal
            } else {
                Disjoint
            }
        }
        (Value::Pattern(p), Value::Literal(b)) => {
            if glob(p, &b.chars().collect::<Vec<_>>()) {
                Superset
            } else {
                Disjoint
            }
        }
    }
}

/// The relation of a source name to a target name: disjoint if any attribute is, equal if
/// all are, a superset (subset) if all are supersets (subsets) or equal, else undefined.
pub fn compare(source: &Cpe, target: &Cpe) -> Relation {
    compare_attributes(source, target, |_| true)
}

/// [`compare`] over the attributes whose index `include` accepts (the matcher leaves out
/// the version, which it compares by version scheme).
pub fn compare_attributes(source: &Cpe, target: &Cpe, include: impl Fn(usize) -> bool) -> Relation {
    let (mut sup, mut sub, mut undefined) = (false, false, false);
    for (i, (s, t)) in source.attributes.iter().zip(&target.attributes).enumerate() {
        if !include(i) {
            continue;
        }
        match compare_values(s, t) {
            Relation::Disjoint => return Relation::Disjoint,
            Relation::Superset => sup = true,
            Relation::Subset => sub = true,
            Relation::Undefined => undefined = true,
            Relation::Equal => {}
        }
    }
    match (sup, sub, undefined) {
        (_, _, true) | (true, true, _) => Relation::Undefined,
        (true, false, false) => Relation::Superset,
        (false, true, false) => Relation::Subset,
        (false, false, false) => Relation::Equal,
    }
}

/// Whether the source name covers the target: superset or equal.
pub fn matches(source: &Cpe, target: &Cpe) -> bool {
    matches!(
        compare(source, target),
        Relation::Superset | Relation::Equal
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cpe(s: &str) -> Cpe {
        s.parse().unwrap()
    }

    fn check(source: &str, target: &str, expected: Relation) {
        assert_eq!(
            compare(&cpe(source), &cpe(target)),
            expected,
            "{source} vs {target}"
        );
    }

    #[test]
    fn parses_escapes_and_any_na() {
        let c = cpe(r"cpe:2.3:a:foo\:bar:pro\*duct:1.0\-beta:-:*:*:*:*:*:*");
        assert_eq!(c.vendor(), &Value::Literal("foo:bar".into()));
        assert_eq!(c.product(), &Value::Literal("pro*duct".into()));
        assert_eq!(c.version(), &Value::Literal("1.0-beta".into()));
        assert_eq!(c.attributes[4], Value::Na);
        assert_eq!(c.attributes[5], Value::Any);
        assert_eq!(
            c.to_string(),
            r"cpe:2.3:a:foo\:bar:pro\*duct:1.0-beta:-:*:*:*:*:*:*"
        );
    }

    #[test]
    fn parses_uri_with_packed_edition_and_wildcards() {
        let c = cpe("cpe:/a:Microsoft:Internet_Explorer:8.%02::~~~windows~x64~");
        assert_eq!(c.vendor(), &Value::Literal("microsoft".into()));
        assert!(matches!(c.version(), Value::Pattern(_)));
        assert_eq!(c.attributes[8], Value::Literal("windows".into()));
        assert_eq!(c.attributes[9], Value::Literal("x64".into()));
        assert_eq!(c.attributes[7], Value::Any);
    }

    #[test]
    fn rejects_what_is_not_a_cpe() {
        for bad in [
            "cpe:2.4:a:x:y",
            "pkg:npm/x",
            "cpe:2.3:x:v:p",
            "cpe:2.3:a:v:p:1:2:3:4:5:6:7:8:9",
            r"cpe:2.3:a:v:p\",
        ] {
            assert!(bad.parse::<Cpe>().is_err(), "{bad}");
        }
    }

    #[test]
    fn relations_per_nistir_7696() {
        use Relation::*;
        let base = "cpe:2.3:a:citrix:adc";
        check(&format!("{base}:*"), &format!("{base}:*"), Equal);
        check(&format!("{base}:*"), &format!("{base}:-"), Superset);
        check(&format!("{base}:*"), &format!("{base}:13.0"), Superset);
        check(&format!("{base}:-"), &format!("{base}:*"), Subset);
        check(&format!("{base}:-"), &format!("{base}:13.0"), Disjoint);
        check(&format!("{base}:13.0"), &format!("{base}:13.0"), Equal);
        check(&format!("{base}:13.0"), &format!("{base}:13.1"), Disjoint);
        check(&format!("{base}:13.0"), &format!("{base}:-"), Disjoint);
        check(&format!("{base}:13.0"), &format!("{base}:*"), Subset);
        check(&format!("{base}:13.*"), &format!("{base}:13.1"), Superset);
        check(&format!("{base}:13.?"), &format!("{base}:13.1"), Superset);
        check(&format!("{base}:13.?"), &format!("{base}:13.10"), Disjoint);
        check(&format!("{base}:*13"), &format!("{base}:12"), Disjoint);
        check(&format!("{base}:13.*"), &format!("{base}:*"), Subset);
        check(&format!("{base}:13.*"), &format!("{base}:-"), Disjoint);
        check(&format!("{base}:13.0"), &format!("{base}:13.*"), Undefined);
        check(&format!("{base}:*"), &format!("{base}:13.*"), Undefined);
        // mixed directions
        check(
            "cpe:2.3:a:citrix:*:13.0",
            "cpe:2.3:a:citrix:adc:*",
            Undefined,
        );
        // case-insensitive; an escaped star is a literal, not a wildcard
        check("cpe:2.3:a:CITRIX:ADC", "cpe:2.3:a:citrix:adc", Equal);
        check(r"cpe:2.3:a:x:a\*", "cpe:2.3:a:x:ab", Disjoint);
        check(r"cpe:2.3:a:x:a\*", r"cpe:2.3:a:x:a\*", Equal);
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-z0-9_]{1,8}"
    }

    /// The definition of a wildcard match, every split at every `*` tried in turn: the
    /// oracle of `glob`.
    fn glob_plain(p: &[Token], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((Token::Star, rest)) => (0..=t.len()).any(|i| glob_plain(rest, &t[i..])),
            Some((Token::One, rest)) => !t.is_empty() && glob_plain(rest, &t[1..]),
            Some((Token::Char(c), rest)) => t.first() == Some(c) && glob_plain(rest, &t[1..]),
        }
    }

    fn tokens(pattern: &str) -> Vec<Token> {
        pattern
            .chars()
            .map(|c| match c {
                '*' => Token::Star,
                '?' => Token::One,
                c => Token::Char(c),
            })
            .collect()
    }

    /// Found by the `cpe` fuzz target: a value of many `?` and `*` against a long text that
    /// does not match took minutes (every split at every `*` tried).
    #[test]
    fn many_wildcards_against_a_long_text_answer_at_once() {
        let source = cpe("cpe:2.3:o:ci???????********?????????tr*:*:*");
        let target = cpe(&format!("cpe:2.3:o:cit{}:*:*", "o".repeat(200)));
        assert_eq!(compare(&source, &target), Relation::Disjoint);
        let pattern = tokens(&"*a".repeat(30));
        let text: Vec<char> = "a".repeat(29).chars().collect();
        assert!(!glob(&pattern, &text));
        let text: Vec<char> = format!("{}b", "a".repeat(300)).chars().collect();
        assert!(!glob(&tokens(&format!("{}c", "*a".repeat(30))), &text));
        assert!(glob(&tokens(&"*a".repeat(30)), &text[..300]));
    }

    proptest! {
        #[test]
        fn any_is_superset_of_every_literal(v in word(), p in word()) {
            let target = cpe(&format!("cpe:2.3:a:{v}:{p}:1.0"));
            prop_assert_eq!(compare(&cpe("cpe:2.3:a:*:*:*"), &target), Relation::Superset);
            prop_assert_eq!(compare(&target, &target), Relation::Equal);
            prop_assert_eq!(compare(&cpe(&format!("cpe:2.3:a:{v}:{p}:-")), &target), Relation::Disjoint);
        }

        #[test]
        fn prefix_and_suffix_wildcards_match_their_extensions(a in word(), b in word()) {
            let target = cpe(&format!("cpe:2.3:a:v:{a}{b}"));
            let prefix = cpe(&format!("cpe:2.3:a:v:{a}*"));
            let suffix = cpe(&format!("cpe:2.3:a:v:*{b}"));
            let ones = cpe(&format!("cpe:2.3:a:v:{a}{}", "?".repeat(b.chars().count())));
            let more = cpe(&format!("cpe:2.3:a:v:{a}{}", "?".repeat(b.chars().count() + 1)));
            prop_assert!(matches(&prefix, &target));
            prop_assert!(matches(&suffix, &target));
            prop_assert!(matches(&ones, &target));
            prop_assert!(!matches(&more, &target));
        }

        #[test]
        fn glob_equals_the_plain_definition(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
            let text: Vec<char> = t.chars().collect();
            prop_assert_eq!(glob(&tokens(&p), &text), glob_plain(&tokens(&p), &text), "{} against {}", p, t);
        }

        #[test]
        fn formatted_strings_round_trip(v in "[a-z0-9_:*?.!\\-]{1,10}", p in word()) {
            let literal = Cpe { attributes: {
                let mut a: [Value; 11] = Default::default();
                a[0] = Value::Literal("a".into());
                a[1] = Value::Literal(v.clone());
                a[2] = Value::Literal(p.clone());
                a
            }};
            let reparsed = cpe(&literal.to_string());
            prop_assert_eq!(reparsed, literal);
        }
    }
}
