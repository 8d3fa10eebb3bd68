//! IntelMQ's `DateTime.sanitize`: `from_isoformat` (two `strptime` formats), else
//! `dateutil.parser.parse(value, fuzzy=True)` converted to UTC.
//!
//! dateutil's fuzzy parser accepts nearly anything; this module covers what Shadowserver
//! data contains: `YYYY-MM-DD`, optionally `T` or spaces and `H:M[:S[.f]]`, time zone names
//! (`UTC`, `GMT`, `Z`, other upper-case abbreviations, which dateutil ignores), numeric
//! offsets (`+HH:MM`, `+HHMM`, `+HH`, including dateutil's inverted sign after a name as in
//! `UTC+02:00`), weekday names and other words (skipped, as fuzzy mode does), and dates with a
//! month name as HTTP `Date` headers write them (`Fri, 20 Mar 2026 10:11:12 GMT`, `20 Mar 2026`,
//! `March 20, 2026`, asctime's `Fri Mar 20 10:11:12 2026`). Inputs outside that grammar are
//! rejected (`None`), where dateutil might still find a date.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// `DateTime.sanitize(value)` for a string: the value itself when `from_isoformat` accepts
/// it, else the parsed time as `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`; `None` when invalid.
pub(crate) fn sanitize(value: &str) -> Option<String> {
    if from_isoformat_ok(value) {
        return Some(value.to_string());
    }
    let dt = match plain_utc(value) {
        Some(parsed) => parsed?,
        None => match http_date(value) {
            Some(dt) => dt,
            None => fuzzy_parse(value)?,
        },
    };
    Some(iso(&dt))
}

/// `DateTime.is_valid(value)` without sanitising: the value must come back unchanged.
pub(crate) fn is_valid(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    if from_isoformat_ok(value) {
        return true;
    }
    let dt = match plain_utc(value) {
        Some(parsed) => parsed,
        None => fuzzy_parse(value),
    };
    dt.is_some_and(|dt| iso(&dt) == value)
}

/// Python's `datetime.isoformat()` of an aware UTC time.
pub(crate) fn iso(dt: &NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let micros = dt.and_utc().timestamp_subsec_micros();
    let year = dt.year();
    if !(0..=9999).contains(&year) || micros >= 1_000_000 {
        return if micros == 0 {
            format!("{}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
        } else {
            format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
        };
    }
    // what the chrono format above gives for four-digit years, without parsing a format
    let mut out = [0u8; 32];
    let mut n = 0;
    let mut put = |v: u32, width: usize, sep: u8| {
        let mut v = v;
        for i in (0..width).rev() {
            out[n + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        n += width;
        if sep != 0 {
            out[n] = sep;
            n += 1;
        }
    };
    put(year as u32, 4, b'-');
    put(dt.month(), 2, b'-');
    put(dt.day(), 2, b'T');
    put(dt.hour(), 2, b':');
    put(dt.minute(), 2, b':');
    if micros != 0 {
        put(dt.second(), 2, b'.');
        put(micros, 6, 0);
    } else {
        put(dt.second(), 2, 0);
    }
    let mut s = String::with_capacity(n + 6);
    // only ASCII digits and separators were written
    s.extend(out[..n].iter().map(|&b| char::from(b)));
    s.push_str("+00:00");
    s
}

/// Fast path of the fuzzy parser for the forms Shadowserver writes:
/// `YYYY-MM-DD HH:MM:SS` (or with `T`), optionally followed by ` UTC` or `+00:00`.
///
/// `None` when `value` has another form (the caller falls back to [`fuzzy_parse`]);
/// `Some(result)` is exactly what [`fuzzy_parse`] gives for it.
fn plain_utc(value: &str) -> Option<Option<NaiveDateTime>> {
    let b = value.as_bytes();
    let tail_ok = match b.len() {
        19 => true,
        23 => &b[19..] == b" UTC",
        25 => &b[19..] == b"+00:00",
        _ => false,
    };
    if !tail_ok {
        return None;
    }
    let digit = |i: usize| b[i].is_ascii_digit();
    let shape = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .iter()
        .all(|&i| digit(i))
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
        && b[16] == b':';
    if !shape {
        return None;
    }
    let n = |i: usize, len: usize| {
        b[i..i + len]
            .iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let date = NaiveDate::from_ymd_opt(n(0, 4) as i32, n(5, 2), n(8, 2));
    let time = NaiveTime::from_hms_micro_opt(n(11, 2), n(14, 2), n(17, 2), 0);
    Some(date.zip(time).map(|(d, t)| NaiveDateTime::new(d, t)))
}

/// What `DateTime.sanitize` makes of `add_UTC_to_timestamp(cell)` when `cell` is a plain
/// `YYYY-MM-DD HH:MM:SS` (or with `T`) naming a real date of a four-digit year from 1000 and
/// a real time: that time in IntelMQ's ISO form (the form `sanitize` gives, which `is_valid`
/// accepts), appended to `out`. `false` (and `out` as it was) for anything else, which the
/// general path decides. The ISO form of such a time is its own digits with `T` between date and time and
/// `+00:00` after, so only the date and time need checking.
pub(crate) fn plain_timestamp_iso_into(cell: &str, out: &mut String) -> bool {
    const DATE: Shape = Shape::new(b"####-##-");
    const DAY_HOUR: Shape = Shape::new(b"##_##:##");
    const TIME: Shape = Shape::new(b"##:##:##");
    let Ok(b) = <&[u8; 19]>::try_from(cell.as_bytes()) else {
        return false;
    };
    if !(DATE.fits(le8(b, 0)) && DAY_HOUR.fits(le8(b, 8)) && TIME.fits(le8(b, 11)))
        || !(b[10] == b' ' || b[10] == b'T')
    {
        return false;
    }
    // all digits where digits belong, so the fields compare as their two-byte texts do
    if b[0] == b'0'
        || !(be2(b"01")..=be2(b"12")).contains(&be2(&[b[5], b[6]]))
        || !real_time(b, 11)
        || !day_in_month(b, 8, || (number(b, 0, 4), number(b, 5, 2)))
    {
        return false;
    }
    push_iso_timestamp(cell, out);
    true
}

/// The ISO form of a plain time stamp `cell` checked by [`plain_timestamp_iso_into`]: the
/// date, `T`, the time and the offset, pieces of the cell (ASCII, checked), appended to `out`.
#[inline]
fn push_iso_timestamp(cell: &str, out: &mut String) {
    out.push_str(&cell[..10]);
    out.push('T');
    out.push_str(&cell[11..]);
    out.push_str("+00:00");
}

/// What eight bytes must be, read as one little-endian `u64`: a byte of the pattern given to
/// [`Shape::new`] is `#` for an ASCII digit, `_` for any byte, else the byte itself.
struct Shape {
    /// the bits that matter: the high half of a digit's byte, all of a literal's
    mask: u64,
    /// those bits as they must be: `3` for a digit's high half, a literal's own byte
    want: u64,
    /// 6 added to each digit: `0`–`9` stay in `0x30..=0x3f`, `:` to `?` leave it
    add: u64,
}

impl Shape {
    const fn new(pattern: &[u8; 8]) -> Shape {
        let mut shape = Shape {
            mask: 0,
            want: 0,
            add: 0,
        };
        let mut i = 0;
        while i < 8 {
            let at = 8 * i;
            match pattern[i] {
                b'#' => {
                    shape.mask |= 0xf0 << at;
                    shape.want |= 0x30 << at;
                    shape.add |= 0x06 << at;
                }
                b'_' => {}
                literal => {
                    shape.mask |= 0xff << at;
                    shape.want |= (literal as u64) << at;
                }
            }
            i += 1;
        }
        shape
    }

    /// Whether the bytes of `x` fit. A carry out of a byte (a digit's byte from `0xfa`)
    /// can spoil only the bytes above it, and that byte itself fails the first check.
    #[inline]
    fn fits(&self, x: u64) -> bool {
        (x & self.mask) == self.want && (x.wrapping_add(self.add) & self.mask) == self.want
    }
}

/// The eight bytes at `b[at..at + 8]` as one little-endian number.
#[inline]
fn le8(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Two bytes as one big-endian number: for two ASCII digits, in the order of their values.
#[inline]
const fn be2(two: &[u8; 2]) -> u16 {
    u16::from_be_bytes(*two)
}

/// Whether `hh:mm:ss` at `b[at..]` (digits the caller checked) is a time of day.
#[inline]
fn real_time(b: &[u8], at: usize) -> bool {
    be2(&[b[at], b[at + 1]]) <= be2(b"23")
        && be2(&[b[at + 3], b[at + 4]]) <= be2(b"59")
        && be2(&[b[at + 6], b[at + 7]]) <= be2(b"59")
}

/// Whether the day `dd` at `b[at..]` (digits the caller checked) is in its month:
/// days 1 to 28 are in every month; a later one asks `year_month`, a valid month.
#[inline]
fn day_in_month(b: &[u8], at: usize, year_month: impl FnOnce() -> (u32, u32)) -> bool {
    let day = be2(&[b[at], b[at + 1]]);
    if !(be2(b"01")..=be2(b"31")).contains(&day) {
        return false;
    }
    day <= be2(b"28") || {
        let (year, month) = year_month();
        real_date(year, month, number(b, at, 2))
    }
}

/// The number of the ASCII digits at `b[at..at + len]`, which the caller checked.
fn number(b: &[u8], at: usize, len: usize) -> u32 {
    b[at..at + len]
        .iter()
        .fold(0, |acc, &c| acc * 10 + u32::from(c - b'0'))
}

/// Three ASCII letters as one number, for comparing names of days and months.
const fn tag3(name: &[u8; 3]) -> u32 {
    u32::from_le_bytes([name[0], name[1], name[2], 0])
}

/// Whether `year-month-day` is a date of the proleptic Gregorian calendar.
fn real_date(year: u32, month: u32, day: u32) -> bool {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// What [`sanitize`] gives for an RFC 9110 HTTP date (`Tue, 24 Mar 2026 10:11:12 GMT`)
/// naming a real date and time: neither the ISO check nor the plain form applies to that
/// shape, so `sanitize` reaches [`http_date`]. Appended to `out`; `false` (and `out` as it
/// was) for anything else.
#[inline]
pub(crate) fn http_date_iso_into(cell: &str, out: &mut String) -> bool {
    const DAYS: NameTable<8> = NameTable::new(&DAY_NAMES, 0xb337_ff2d);
    const MONTHS: NameTable<16> = NameTable::new(&MONTH_NAMES, 0xcf24_cf6f);
    // the form [`http_date`] reads, checked the same way without building a date
    const DAY: Shape = Shape::new(b"___, ## ");
    const YEAR: Shape = Shape::new(b"___ ####");
    const HOUR: Shape = Shape::new(b" ##:##:#");
    const SECOND: Shape = Shape::new(b"#:## GMT");
    let Ok(b) = <&[u8; 29]>::try_from(cell.as_bytes()) else {
        return false;
    };
    let (day_part, year_part) = (le8(b, 0), le8(b, 8));
    let fits = DAY.fits(day_part) && YEAR.fits(year_part);
    if !(fits && HOUR.fits(le8(b, 16)) && SECOND.fits(le8(b, 21))) {
        return false;
    }
    // the low three bytes of each part: the name's letters
    let (day_name, month_name) = (day_part as u32 & 0xff_ffff, year_part as u32 & 0xff_ffff);
    let Some(month) = MONTHS.find(month_name) else {
        return false;
    };
    if DAYS.find(day_name).is_none() {
        return false;
    }
    // all digits where digits belong, so the fields compare as their two-byte texts do;
    // dateutil's years before 1000 and Python's year 0 are left to the general parser
    if b[12] == b'0'
        || !real_time(b, 17)
        || !day_in_month(b, 5, || (number(b, 12, 4), month as u32 + 1))
    {
        return false;
    }
    // a real date from the year 1000 on, a real time: the ISO form is these digits, pieces
    // of the cell (ASCII, checked above) and the month's number
    const MONTH_NUMBERS: [&str; 12] = [
        "-01-", "-02-", "-03-", "-04-", "-05-", "-06-", "-07-", "-08-", "-09-", "-10-", "-11-",
        "-12-",
    ];
    out.push_str(&cell[12..16]);
    out.push_str(MONTH_NUMBERS[month]);
    out.push_str(&cell[5..7]);
    out.push('T');
    out.push_str(&cell[17..25]);
    out.push_str("+00:00");
    true
}

/// Names of three ASCII letters (as [`tag3`] numbers), each in the slot its tag multiplied
/// by a constant picks (the top bits of the product): one look instead of a search.
struct NameTable<const SLOTS: usize> {
    /// the tag in each slot; `u32::MAX`, which no tag is, in empty ones
    tags: [u32; SLOTS],
    /// the index in the names of the tag in each slot
    index: [u8; SLOTS],
    multiplier: u32,
}

impl<const SLOTS: usize> NameTable<SLOTS> {
    /// The table of `names`; does not compile when two of them share a slot.
    const fn new(names: &[&[u8; 3]], multiplier: u32) -> Self {
        let mut table = NameTable {
            tags: [u32::MAX; SLOTS],
            index: [0; SLOTS],
            multiplier,
        };
        let mut i = 0;
        while i < names.len() {
            let tag = tag3(names[i]);
            let slot = table.slot(tag);
            assert!(table.tags[slot] == u32::MAX, "two names share a slot");
            table.tags[slot] = tag;
            table.index[slot] = i as u8;
            i += 1;
        }
        table
    }

    #[inline]
    const fn slot(&self, tag: u32) -> usize {
        (tag.wrapping_mul(self.multiplier) >> (32 - SLOTS.trailing_zeros())) as usize
    }

    /// The index of the name whose tag is `tag`, if one is.
    #[inline]
    fn find(&self, tag: u32) -> Option<usize> {
        let slot = self.slot(tag);
        (self.tags[slot] == tag).then_some(usize::from(self.index[slot]))
    }
}

/// The day names of RFC 9110 dates.
const DAY_NAMES: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// The month names of RFC 9110 dates.
const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The HTTP date of RFC 9110 (`Tue, 24 Mar 2026 10:11:12 GMT`, what `http_date` columns
/// hold), parsed without the fuzzy parser: the time it gives, when `value` has exactly that
/// form and names a real date and time; `None` leaves the value to [`fuzzy_parse`].
/// dateutil ignores the day name when the date is given, as here.
fn http_date(value: &str) -> Option<NaiveDateTime> {
    // `http_date_iso_into` checks the same form (tests compare both)
    let b = value.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let digits = [5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24];
    let shape = digits.iter().all(|&i| b[i].is_ascii_digit())
        && b[7] == b' '
        && b[11] == b' '
        && b[16] == b' '
        && b[19] == b':'
        && b[22] == b':'
        && DAY_NAMES.iter().any(|d| &b[..3] == *d);
    if !shape {
        return None;
    }
    let month = MONTH_NAMES.iter().position(|m| &b[8..11] == *m)? as u32 + 1;
    let n = |i: usize, len: usize| {
        b[i..i + len]
            .iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let year = n(12, 4);
    // dateutil's years before 1000 and Python's year 0 are left to the general parser
    if year < 1000 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, n(5, 2))?;
    let time = NaiveTime::from_hms_opt(n(17, 2), n(20, 2), n(23, 2))?;
    Some(NaiveDateTime::new(date, time))
}

/// One `strptime` regex alternative: per character an inclusive byte range; `(b' ', b' ')`
/// is a literal space, which adds nothing to the value.
type Alt = &'static [(u8, u8)];

/// Matches `s` against `strptime`'s regex alternatives for one directive: each possible
/// (value, rest) split, in the order of the alternatives, without allocating.
fn directive<'a>(s: &'a str, alts: &[Alt]) -> impl Iterator<Item = (u32, &'a str)> {
    alts.iter().filter_map(move |alt| {
        let b = s.as_bytes();
        if b.len() < alt.len() {
            return None;
        }
        let mut value = 0u32;
        for (&c, &(lo, hi)) in b.iter().zip(alt.iter()) {
            if c == b' ' && lo == b' ' {
                continue;
            }
            if !(c.is_ascii_digit() && c >= lo && c <= hi) {
                return None;
            }
            value = value * 10 + u32::from(c - b'0');
        }
        // every matched byte is ASCII, so this is a character boundary
        Some((value, &s[alt.len()..]))
    })
}

const DIGIT: (u8, u8) = (b'0', b'9');

/// Whether `datetime.strptime(value, '%Y-%m-%dT%H:%M:%S+00:00')` (or the `.%f` variant)
/// succeeds.
fn from_isoformat_ok(value: &str) -> bool {
    let b = value.as_bytes();
    // `%Y-%m-%dT`: four digits, a dash, one or two for the month, a dash, one or two (or a
    // space and one) for the day, so the literal `T` is at 8, 9 or 10
    if !b.get(8..11).is_some_and(|t| t.contains(&b'T')) {
        return false;
    }
    // the form IntelMQ writes (`2026-03-24T10:11:12+00:00`) can only be read one way
    if b.len() == 25 && &b[19..] == b"+00:00" {
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
        if digits.iter().all(|&i| b[i].is_ascii_digit())
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
        {
            let n = |i: usize, len: usize| {
                b[i..i + len]
                    .iter()
                    .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
            };
            let y = n(0, 4);
            return y >= 1
                && NaiveDate::from_ymd_opt(y as i32, n(5, 2), n(8, 2)).is_some()
                && NaiveTime::from_hms_opt(n(11, 2), n(14, 2), n(17, 2)).is_some();
        }
    }
    from_isoformat_general(value)
}

/// [`from_isoformat_ok`] by `strptime`'s regular expressions, alternative by alternative.
fn from_isoformat_general(value: &str) -> bool {
    const Y: &[Alt] = &[&[DIGIT, DIGIT, DIGIT, DIGIT]];
    const M: &[Alt] = &[
        &[(b'1', b'1'), (b'0', b'2')],
        &[(b'0', b'0'), (b'1', b'9')],
        &[(b'1', b'9')],
    ];
    const D: &[Alt] = &[
        &[(b'3', b'3'), (b'0', b'1')],
        &[(b'1', b'2'), DIGIT],
        &[(b'0', b'0'), (b'1', b'9')],
        &[(b'1', b'9')],
        &[(b' ', b' '), (b'1', b'9')],
    ];
    const H: &[Alt] = &[
        &[(b'2', b'2'), (b'0', b'3')],
        &[(b'0', b'1'), DIGIT],
        &[DIGIT],
    ];
    const MI: &[Alt] = &[&[(b'0', b'5'), DIGIT], &[DIGIT]];
    const S: &[Alt] = &[
        &[(b'6', b'6'), (b'0', b'1')],
        &[(b'0', b'5'), DIGIT],
        &[DIGIT],
    ];
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

/// The month a name or its three-letter abbreviation stands for (`Mar`, `march`, `Sept`).
fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            *m == w || (w.len() == 3 && m.starts_with(&w)) || (w == "sept" && *m == "september")
        })
        .map(|i| i as u32 + 1)
}

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
    // a date written with a month name (`Fri, 20 Mar 2026 10:11:12 GMT`, RFC 7231's HTTP date)
    let (mut year, mut month, mut day): (Option<i32>, Option<u32>, Option<u32>) =
        (None, None, None);
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
                } else if !n.contains('.') && n.len() == 4 && year.is_none() && ymd.is_none() {
                    // a year written apart: `20 Mar 2026`, `Fri Mar 20 10:11:12 2026`
                    year = Some(n.parse().ok()?);
                    i += 1;
                } else if !n.contains('.') && n.len() <= 2 && day.is_none() && ymd.is_none() {
                    // a day of the month: `Fri, 20 Mar 2026`, `March 20, 2026`
                    day = Some(n.parse().ok()?);
                    i += 1;
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
                } else if let Some(m) = month_number(w).filter(|_| month.is_none() && ymd.is_none())
                {
                    month = Some(m);
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
    let named = year.is_some() || month.is_some() || day.is_some();
    if ymd.is_none() && hms.is_none() && tzname.is_none() && tzoffset.is_none() && !named {
        return None;
    }
    let (y, m, d) = match ymd {
        Some(v) => v,
        None => {
            // dateutil takes what is missing from today
            use chrono::Datelike;
            let today = chrono::Local::now().date_naive();
            (
                year.unwrap_or(today.year()),
                month.unwrap_or(today.month()),
                day.unwrap_or(today.day()),
            )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shadowserver::tests::every_char;

    /// The slow general code the fast paths stand in for.
    fn iso_by_chrono(dt: &NaiveDateTime) -> String {
        let micros = dt.and_utc().timestamp_subsec_micros();
        if micros == 0 {
            format!("{}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
        } else {
            format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
        }
    }

    #[test]
    fn fast_iso_equals_chrono_format() {
        for (y, mo, d, h, mi, s, us) in [
            (2026, 3, 24, 0, 0, 0, 0),
            (1, 1, 1, 0, 0, 0, 1),
            (0, 12, 31, 23, 59, 59, 999_999),
            (9999, 2, 28, 7, 8, 9, 120_000),
            (2024, 2, 29, 12, 0, 1, 5),
        ] {
            let dt = NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_micro_opt(h, mi, s, us)
                .unwrap();
            assert_eq!(iso(&dt), iso_by_chrono(&dt), "{dt:?}");
        }
    }

    #[test]
    fn isoformat_fast_paths_equal_the_general_check() {
        let dates = [
            "2026-03-24",
            "0000-01-01",
            "0001-01-01",
            "2024-02-29",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-3-24",
        ];
        let times = [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "12:00:61", "07:08:09",
            "7:08:09",
        ];
        let seps = ["T", " ", "t"];
        let tails = [
            "+00:00",
            ".5+00:00",
            ".123456+00:00",
            "",
            " UTC",
            "+01:00",
            "+00:00 ",
        ];
        let mut fast = 0;
        for d in dates {
            for t in times {
                for sep in seps {
                    for tail in tails {
                        let v = format!("{d}{sep}{t}{tail}");
                        fast += usize::from(v.len() == 25 || !v[8..].starts_with('T'));
                        assert_eq!(from_isoformat_ok(&v), from_isoformat_general(&v), "{v:?}");
                    }
                }
            }
        }
        assert!(fast > 300, "{fast}");
    }

    #[test]
    fn http_date_fast_path_equals_fuzzy_parser() {
        let days = ["Tue", "Mon", "Xyz", "tue", "Tuesday"];
        let dates = [
            "24 Mar 2026",
            "31 Dec 2026",
            "30 Nov 2026",
            "31 Nov 2026",
            "29 Feb 2000",
            "29 Feb 2100",
            "1 Mar 2026",
            "01 Mar 026x",
            "29 Feb 2024",
            "29 Feb 2023",
            "31 Apr 2026",
            "00 Jan 2026",
            "01 Foo 2026",
            "01 mar 2026",
            "15 Dec 0999",
            "15 Dec 1000",
            "15 Dec 9999",
        ];
        let times = [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:08:09",
        ];
        let tails = [" GMT", " UTC", " gmt", "", " GMT ", " +0000"];
        let mut fast = 0;
        for day in days {
            for date in dates {
                for time in times {
                    for tail in tails {
                        let v = format!("{day}, {date} {time}{tail}");
                        if let Some(got) = http_date(&v) {
                            fast += 1;
                            assert_eq!(Some(got), fuzzy_parse(&v), "{v:?}");
                        }
                        // the ISO form written without building a date is chrono's
                        let mut iso_text = String::new();
                        let written = http_date_iso_into(&v, &mut iso_text).then_some(iso_text);
                        assert_eq!(written, http_date(&v).map(|d| iso(&d)), "{v:?}");
                    }
                }
            }
        }
        // 2 day names x 7 valid dates (month ends, leap days and the two four-digit year
        // edges) x 3 valid times x one tail
        assert_eq!(fast, 2 * 7 * 3);
    }

    #[test]
    fn plain_utc_fast_path_equals_fuzzy_parser() {
        let dates = [
            "2026-03-24",
            "0000-01-01",
            "2024-02-29",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
        ];
        let times = [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:08:09",
        ];
        let seps = [" ", "T", "  ", "t", "_"];
        let tails = [
            "", " UTC", "+00:00", " GMT", "+01:00", "Z", " utc", "+0000", ".5", " ",
        ];
        let mut fast = 0;
        for d in dates {
            for t in times {
                for sep in seps {
                    for tail in tails {
                        let v = format!("{d}{sep}{t}{tail}");
                        if let Some(got) = plain_utc(&v) {
                            fast += 1;
                            assert_eq!(got, fuzzy_parse(&v), "{v:?}");
                        }
                        // and the public functions agree with the general code
                        let general = if from_isoformat_ok(&v) {
                            Some(v.clone())
                        } else {
                            fuzzy_parse(&v).map(|dt| iso_by_chrono(&dt))
                        };
                        assert_eq!(sanitize(&v), general, "{v:?}");
                        assert_eq!(
                            is_valid(&v),
                            general.as_deref() == Some(v.as_str()),
                            "{v:?}"
                        );
                    }
                }
            }
        }
        // the fast path was taken: 7 dates x 6 times x 2 separators x 3 tails
        assert_eq!(fast, 7 * 6 * 2 * 3);
    }

    /// `plain_timestamp_iso_into` as it was before it read eight bytes at a time: field by
    /// field, each number parsed and compared.
    fn plain_timestamp_by_fields(cell: &str, out: &mut String) -> bool {
        let b = cell.as_bytes();
        if b.len() != 19
            || !(b[4] == b'-' && b[7] == b'-' && (b[10] == b' ' || b[10] == b'T'))
            || !(b[13] == b':' && b[16] == b':')
        {
            return false;
        }
        let field = |at: usize, len: usize| {
            b[at..at + len].iter().try_fold(0, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            field(0, 4),
            field(5, 2),
            field(8, 2),
            field(11, 2),
            field(14, 2),
            field(17, 2),
        ) else {
            return false;
        };
        if year < 1000 || !real_date(year, month, day) || hour > 23 || minute > 59 || second > 59 {
            return false;
        }
        push_iso_timestamp(cell, out);
        true
    }

    /// `cell` with the character at byte `at` replaced by `c`.
    fn with_char_at(cell: &str, at: usize, c: char) -> String {
        let mut v = cell.to_string();
        v.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
        v
    }

    /// Checks `plain_timestamp_iso_into` against its field by field form and, where it
    /// writes, against `sanitize` of the cell with ` UTC` appended (what the general path
    /// does); whether it wrote.
    fn check_plain_timestamp(cell: &str) -> bool {
        let (mut fast, mut by_fields) = (String::from("x"), String::from("x"));
        let written = plain_timestamp_iso_into(cell, &mut fast);
        assert_eq!(
            (written, &fast),
            (plain_timestamp_by_fields(cell, &mut by_fields), &by_fields),
            "{cell:?}"
        );
        if written {
            let general = sanitize(&format!("{cell} UTC")).expect("a plain timestamp");
            assert_eq!(fast[1..], general, "{cell:?}");
            assert!(is_valid(&general), "{cell:?}");
        } else {
            assert_eq!(fast, "x", "{cell:?}");
        }
        written
    }

    #[test]
    fn plain_timestamp_fast_path_equals_its_fields_and_sanitize() {
        let years = [
            "0000", "0001", "0999", "1000", "1582", "1899", "1900", "2000", "2023", "2024", "2100",
            "2400", "9999",
        ];
        let times = [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "99:99:99",
        ];
        let mut written = 0;
        // every month and day number from 0 to the first invalid one, at the year edges
        for year in years {
            for month in 0..=13 {
                for day in 0..=32 {
                    for (sep, time) in [(" ", times[0]), ("T", times[1])] {
                        let cell = format!("{year}-{month:02}-{day:02}{sep}{time}");
                        written += usize::from(check_plain_timestamp(&cell));
                    }
                }
            }
        }
        // 10 years from 1000 x 365 days, and the leap days of 2000, 2024 and 2400 (not of
        // 1900 or 2100), x 2 times
        assert_eq!(written, (10 * 365 + 3) * 2);
        // every hour, minute and second from 0 to 99
        every_time(|time| format!("2026-03-24 {time}"), check_plain_timestamp);
        // every character in every place, and the lengths around
        for cell in [
            "2026-03-24 10:11:12",
            "2024-02-29T23:59:59",
            "1000-01-01 00:00:00",
        ] {
            every_char_around(cell, check_plain_timestamp);
        }
    }

    /// `check` on a cell of every hour, minute and second from 0 to 99 (`cell` puts the
    /// time into its form): true exactly for the real times.
    fn every_time(cell: impl Fn(&str) -> String, check: fn(&str) -> bool) {
        for n in 0..=99 {
            for time in [
                format!("{n:02}:00:00"),
                format!("00:{n:02}:00"),
                format!("00:00:{n:02}"),
            ] {
                let cell = cell(&time);
                assert_eq!(
                    check(&cell),
                    n < 24 || (n < 60 && !time.starts_with(&format!("{n:02}"))),
                    "{cell}"
                );
            }
        }
    }

    /// `check` on a valid `cell` (true), on it with every character in every place (each
    /// check compares with the general path), cut short, and with a character before or
    /// after it (false).
    fn every_char_around(cell: &str, check: fn(&str) -> bool) {
        assert!(check(cell));
        for at in 0..cell.len() {
            for c in every_char() {
                check(&with_char_at(cell, at, c));
            }
        }
        for cut in 0..cell.len() {
            assert!(!check(&cell[..cut]));
        }
        for c in every_char() {
            assert!(!check(&format!("{cell}{c}")));
            assert!(!check(&format!("{c}{cell}")));
        }
    }

    /// Checks `http_date_iso_into` against `http_date` formatted as `iso`; whether it wrote.
    fn check_http_date(cell: &str) -> bool {
        let mut fast = String::from("x");
        let written = http_date_iso_into(cell, &mut fast);
        let general = http_date(cell).map(|d| format!("x{}", iso(&d)));
        assert_eq!(
            written.then_some(fast.as_str()),
            general.as_deref(),
            "{cell:?}"
        );
        if !written {
            assert_eq!(fast, "x", "{cell:?}");
        }
        written
    }

    #[test]
    fn http_date_fast_path_equals_http_date_everywhere() {
        let years = [
            "0000", "0999", "1000", "1900", "2000", "2023", "2024", "2100", "9999",
        ];
        let mut written = 0;
        // every day name, month name and day number from 0 to 32, at the year edges
        for day_name in DAY_NAMES {
            let day_name = std::str::from_utf8(day_name).unwrap();
            for month in MONTH_NAMES {
                let month = std::str::from_utf8(month).unwrap();
                for year in years {
                    for day in 0..=32 {
                        let cell = format!("{day_name}, {day:02} {month} {year} 23:59:59 GMT");
                        written += usize::from(check_http_date(&cell));
                    }
                }
            }
        }
        // 7 day names x (7 years from 1000 x 365 days, and the leap days of 2000 and 2024)
        assert_eq!(written, 7 * (7 * 365 + 2));
        // every hour, minute and second from 0 to 99
        every_time(
            |time| format!("Tue, 24 Mar 2026 {time} GMT"),
            check_http_date,
        );
        // names that are no day's or month's, however near
        for name in [
            "Moo", "Tu ", "\0\0\0", "MON", "mon", "Ja ", "Janu", "Dez", "Sept",
        ] {
            assert!(!check_http_date(&format!(
                "{name}, 24 Mar 2026 10:11:12 GMT"
            )));
            assert!(!check_http_date(&format!(
                "Tue, 24 {name} 2026 10:11:12 GMT"
            )));
        }
        // every character in every place, and the lengths around
        for cell in [
            "Tue, 24 Mar 2026 10:11:12 GMT",
            "Thu, 29 Feb 2024 00:00:00 GMT",
        ] {
            every_char_around(cell, check_http_date);
        }
    }
}
