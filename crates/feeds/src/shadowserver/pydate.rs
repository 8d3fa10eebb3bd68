//! IntelMQ's `DateTime.sanitize`: `from_isoformat` (two `strptime` formats), else
//! `dateutil.parser.parse(value, fuzzy=True)` converted to UTC.
//!
//! dateutil's fuzzy parser accepts nearly anything; this module covers what Shadowserver
//! data contains: `YYYY-MM-DD`, optionally `T` or spaces and `H:M[:S[.f]]`, time zone names
//! (`UTC`, `GMT`, `Z`, other upper-case abbreviations, which dateutil ignores), numeric
//! offsets (`+HH:MM`, `+HHMM`, `+HH`, including dateutil's inverted sign after a name as in
//! `UTC+02:00`), weekday names and other words (skipped, as fuzzy mode does). Inputs outside
//! that grammar are rejected (`None`), where dateutil might still find a date.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// `DateTime.sanitize(value)` for a string: the value itself when `from_isoformat` accepts
/// it, else the parsed time as `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`; `None` when invalid.
pub(crate) fn sanitize(value: &str) -> Option<String> {
    if from_isoformat_ok(value) {
        return Some(value.to_string());
    }
    fuzzy_parse(value).map(|dt| iso(&dt))
}

/// `DateTime.is_valid(value)` without sanitising: the value must come back unchanged.
pub(crate) fn is_valid(value: &str) -> bool {
    !value.is_empty() && sanitize(value).as_deref() == Some(value)
}

/// Python's `datetime.isoformat()` of an aware UTC time.
pub(crate) fn iso(dt: &NaiveDateTime) -> String {
    let micros = dt.and_utc().timestamp_subsec_micros();
    if micros == 0 {
        format!("{}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
    } else {
        format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// Matches `s` against `strptime`'s regex alternatives for one directive, returning each
/// possible (value, rest) split.
fn directive<'a>(s: &'a str, alts: &[&str]) -> Vec<(u32, &'a str)> {
    // alternatives given as digit-class patterns: 'd' any digit, ' ' a space, others literal
    // character ranges written as "a-b" are expanded by the caller into explicit patterns
    let mut out = Vec::new();
    for alt in alts {
        let pat: Vec<&str> = alt.split(',').collect();
        if s.len() < pat.len() {
            continue;
        }
        let mut ok = true;
        let mut value = 0u32;
        for (i, p) in pat.iter().enumerate() {
            let c = s.as_bytes()[i];
            let (lo, hi) = match p.as_bytes() {
                [a, b'-', b] => (*a, *b),
                [a] => (*a, *a),
                _ => (b'0', b'9'),
            };
            if c == b' ' && lo == b' ' {
                continue;
            }
            if !(c.is_ascii_digit() && c >= lo && c <= hi) {
                ok = false;
                break;
            }
            value = value * 10 + u32::from(c - b'0');
        }
        if ok {
            out.push((value, &s[pat.len()..]));
        }
    }
    out
}

/// Whether `datetime.strptime(value, '%Y-%m-%dT%H:%M:%S+00:00')` (or the `.%f` variant)
/// succeeds.
fn from_isoformat_ok(value: &str) -> bool {
    const Y: &[&str] = &["0-9,0-9,0-9,0-9"];
    const M: &[&str] = &["1,0-2", "0,1-9", "1-9"];
    const D: &[&str] = &["3,0-1", "1-2,0-9", "0,1-9", "1-9", " ,1-9"];
    const H: &[&str] = &["2,0-3", "0-1,0-9", "0-9"];
    const MI: &[&str] = &["0-5,0-9", "0-9"];
    const S: &[&str] = &["6,0-1", "0-5,0-9", "0-9"];
    fn lit<'a>(s: &'a str, l: &str) -> Option<&'a str> {
        s.strip_prefix(l)
    }
    for (y, r) in directive(value, Y) {
        let Some(r) = lit(r, "-") else { continue };
        for (m, r) in directive(r, M) {
            let Some(r) = lit(r, "-") else { continue };
            for (d, r) in directive(r, D) {
                let Some(r) = lit(r, "T") else { continue };
                for (h, r) in directive(r, H) {
                    let Some(r) = lit(r, ":") else { continue };
                    for (mi, r) in directive(r, MI) {
                        let Some(r) = lit(r, ":") else { continue };
                        for (sec, r) in directive(r, S) {
                            let tail_ok = r == "+00:00"
                                || r.strip_prefix('.')
                                    .and_then(|f| f.strip_suffix("+00:00"))
                                    .is_some_and(|f| {
                                        (1..=6).contains(&f.len())
                                            && f.bytes().all(|c| c.is_ascii_digit())
                                    });
                            if tail_ok
                                && y >= 1
                                && NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
                                && NaiveTime::from_hms_opt(h, mi, sec).is_some()
                            {
                                return true;
                            }
                        }
                    }
                }
            }
        }
    }
    false
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Space,
    Num(&'a str),
    Word(&'a str),
    Other(char),
}

/// A simplified `dateutil.parser._timelex`: runs of digits (with inner dots), runs of
/// letters, white space, single other characters.
fn lex(s: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        let start = i;
        if c.is_whitespace() {
            while i < s.len() && s[i..].chars().next().is_some_and(char::is_whitespace) {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
            out.push(Tok::Space);
        } else if c.is_ascii_digit() {
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || (b[i] == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            out.push(Tok::Num(&s[start..i]));
        } else if c.is_alphabetic() {
            while i < s.len() && s[i..].chars().next().is_some_and(char::is_alphabetic) {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
            out.push(Tok::Word(&s[start..i]));
        } else {
            i += c.len_utf8();
            out.push(Tok::Other(c));
        }
    }
    out
}

const UTC_ZONES: &[&str] = &["UTC", "GMT", "Z", "z"];
const MEANINGFUL_WORDS: &[&str] = &[
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
    "am",
    "a",
    "pm",
    "p",
    "h",
    "hour",
    "hours",
    "m",
    "minute",
    "minutes",
    "s",
    "second",
    "seconds",
    "of",
];

fn num<'a>(t: Option<&Tok<'a>>) -> Option<&'a str> {
    match t {
        Some(Tok::Num(n)) => Some(n),
        _ => None,
    }
}

/// The subset of `dateutil.parser.parse(value, fuzzy=True)` described in the module docs,
/// converted to naive UTC.
fn fuzzy_parse(value: &str) -> Option<NaiveDateTime> {
    let toks = lex(value);
    let mut ymd: Option<(i32, u32, u32)> = None;
    let mut hms: Option<(u32, u32, u32, u32)> = None;
    let mut tzname: Option<&str> = None;
    let mut tzoffset: Option<i64> = None;
    let mut invert_next_sign = false;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Space => i += 1,
            Tok::Num(n) => {
                if ymd.is_none()
                    && n.len() == 4
                    && !n.contains('.')
                    && toks.get(i + 1) == Some(&Tok::Other('-'))
                    && toks.get(i + 3) == Some(&Tok::Other('-'))
                {
                    let (m, d) = (num(toks.get(i + 2))?, num(toks.get(i + 4))?);
                    if m.contains('.') || d.contains('.') || m.len() > 2 || d.len() > 2 {
                        return None;
                    }
                    ymd = Some((n.parse().ok()?, m.parse().ok()?, d.parse().ok()?));
                    i += 5;
                } else if hms.is_none() && toks.get(i + 1) == Some(&Tok::Other(':')) {
                    let h: u32 = if n.contains('.') {
                        return None;
                    } else {
                        n.parse().ok()?
                    };
                    let mi = num(toks.get(i + 2))?;
                    if mi.contains('.') {
                        return None;
                    }
                    let mi: u32 = mi.parse().ok()?;
                    let (mut s, mut us) = (0, 0);
                    i += 3;
                    if toks.get(i) == Some(&Tok::Other(':')) {
                        let sec = num(toks.get(i + 1))?;
                        let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
                        s = whole.parse().ok()?;
                        let mut f: String = frac.chars().take(6).collect();
                        while f.len() < 6 {
                            f.push('0');
                        }
                        us = f.parse().ok()?;
                        i += 2;
                    }
                    hms = Some((h, mi, s, us));
                } else {
                    return None;
                }
            }
            Tok::Word(w) => {
                let could_be_tzname = hms.is_some()
                    && tzname.is_none()
                    && tzoffset.is_none()
                    && w.chars().count() <= 5
                    && (w.chars().all(|c| c.is_ascii_uppercase()) || UTC_ZONES.contains(w));
                if could_be_tzname {
                    tzname = Some(w);
                    tzoffset = UTC_ZONES.contains(w).then_some(0);
                    let next_sign = matches!(toks.get(i + 1), Some(Tok::Other('+' | '-')));
                    if next_sign {
                        invert_next_sign = true;
                        tzoffset = None;
                        if UTC_ZONES.contains(w) {
                            tzname = None;
                        }
                    }
                } else if MEANINGFUL_WORDS.contains(&w.to_lowercase().as_str()) {
                    return None;
                }
                i += 1;
            }
            Tok::Other(c @ ('+' | '-')) if hms.is_some() => {
                let mut positive = *c == '+';
                if invert_next_sign {
                    positive = !positive;
                    invert_next_sign = false;
                }
                let n = num(toks.get(i + 1))?;
                let (h, m) = if n.len() == 4 {
                    (n[..2].parse::<i64>().ok()?, n[2..].parse::<i64>().ok()?)
                } else if toks.get(i + 2) == Some(&Tok::Other(':')) {
                    let m = num(toks.get(i + 3))?;
                    i += 2;
                    (n.parse::<i64>().ok()?, m.parse::<i64>().ok()?)
                } else if n.len() <= 2 {
                    (n.parse::<i64>().ok()?, 0)
                } else {
                    return None;
                };
                let off = h * 3600 + m * 60;
                tzoffset = Some(if positive { off } else { -off });
                i += 2;
            }
            Tok::Other(_) => i += 1,
        }
    }
    if ymd.is_none() && hms.is_none() && tzname.is_none() && tzoffset.is_none() {
        return None;
    }
    let (y, m, d) = match ymd {
        Some(v) => v,
        None => {
            use chrono::Datelike;
            let today = chrono::Local::now().date_naive();
            (today.year(), today.month(), today.day())
        }
    };
    let (h, mi, s, us) = hms.unwrap_or((0, 0, 0, 0));
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let time = NaiveTime::from_hms_micro_opt(h, mi, s, us)?;
    let dt = NaiveDateTime::new(date, time);
    let _ = tzname;
    Some(match tzoffset {
        Some(off) => dt.checked_sub_signed(Duration::seconds(off))?,
        None => dt,
    })
}
