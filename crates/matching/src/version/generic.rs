//! The generic scheme: numbers compare as numbers, letters only where equal.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part<'a> {
    Num(&'a str),
    Alpha(&'a str),
}

impl<'a> Part<'a> {
    fn text(self) -> &'a str {
        match self {
            Part::Num(s) | Part::Alpha(s) => s,
        }
    }
}

fn parts(s: &str) -> Result<Vec<Part<'_>>, String> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b'.' | b'-' | b'_' | b'+') {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &s[start..i];
            let trimmed = digits.trim_start_matches('0');
            out.push(Part::Num(if trimmed.is_empty() { "0" } else { trimmed }));
        } else if c.is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Part::Alpha(&s[start..i]));
        } else {
            return Err(format!(
                "character {:?} has no place in a generic version",
                s[i..].chars().next().unwrap_or_default()
            ));
        }
    }
    if out.is_empty() {
        return Err("empty version".to_string());
    }
    Ok(out)
}

fn num_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares; on failure, which side (0 = `a`, 1 = `b`) and why.
pub(super) fn compare(a: &str, b: &str) -> Result<Ordering, (u8, String)> {
    let pa = parts(a.trim()).map_err(|e| (0, e))?;
    let pb = parts(b.trim()).map_err(|e| (1, e))?;
    for (x, y) in pa.iter().zip(&pb) {
        match (x, y) {
            (Part::Num(x), Part::Num(y)) => match num_cmp(x, y) {
                Ordering::Equal => {}
                o => return Ok(o),
            },
            (Part::Alpha(x), Part::Alpha(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => {
                return Err((
                    0,
                    format!(
                        "cannot order {:?} against {:?} of {b:?} in the generic scheme",
                        x.text(),
                        y.text()
                    ),
                ));
            }
        }
    }
    let n = pa.len().min(pb.len());
    let (rest, sign) = if pa.len() > n {
        (&pa[n..], Ordering::Greater)
    } else {
        (&pb[n..], Ordering::Less)
    };
    for p in rest {
        match p {
            Part::Num("0") => {}
            Part::Num(_) => return Ok(sign),
            Part::Alpha(s) => {
                return Err((
                    0,
                    format!(
                        "cannot tell whether the suffix {s:?} makes {a:?} older or newer than {b:?}"
                    ),
                ));
            }
        }
    }
    Ok(Ordering::Equal)
}
