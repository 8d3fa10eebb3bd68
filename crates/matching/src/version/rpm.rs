//! RPM version comparison: rpmvercmp over `[epoch:]version[-release]`, as rpm 4.x does it.

use std::cmp::Ordering;

/// An RPM epoch-version-release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Evr<'a> {
    epoch: u64,
    version: &'a str,
    release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Splits `[epoch:]version[-release]`; the release follows the last `-`.
    pub(super) fn parse(s: &'a str) -> Result<Self, String> {
        let s = s.trim();
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => (
                e.parse::<u64>()
                    .map_err(|_| format!("epoch {e:?} is not a number"))?,
                rest,
            ),
            None => (0, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (rest, None),
        };
        if let Some(c) = rest
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !matches!(c, '.' | '_' | '+' | '~' | '^' | '-'))
        {
            return Err(format!("character {c:?} has no place in an RPM version"));
        }
        if !version.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err("an RPM version needs at least one letter or digit".to_string());
        }
        Ok(Evr {
            epoch,
            version,
            release,
        })
    }

    /// Epoch first, then version, then release where both have one (a missing release
    /// matches any, as rpm's range checks do).
    pub(super) fn compare(&self, other: &Evr<'_>) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(self.version, other.version))
            .then_with(|| match (self.release, other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                _ => Ordering::Equal,
            })
    }
}

/// rpm's `rpmvercmp`: alternating runs of digits and letters, digits numerically and newer
/// than letters, `~` before everything (even the end), `^` after the end but before more.
pub(super) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    let skip = |s: &[u8]| -> usize {
        s.iter()
            .take_while(|c| !c.is_ascii_alphanumeric() && **c != b'~' && **c != b'^')
            .count()
    };
    loop {
        x = &x[skip(x)..];
        y = &y[skip(y)..];
        let (fx, fy) = (x.first().copied(), y.first().copied());
        if fx == Some(b'~') || fy == Some(b'~') {
            if fx != Some(b'~') {
                return Ordering::Greater;
            }
            if fy != Some(b'~') {
                return Ordering::Less;
            }
            x = &x[1..];
            y = &y[1..];
            continue;
        }
        if fx == Some(b'^') || fy == Some(b'^') {
            if x.is_empty() {
                return Ordering::Less;
            }
            if y.is_empty() {
                return Ordering::Greater;
            }
            if fx != Some(b'^') {
                return Ordering::Greater;
            }
            if fy != Some(b'^') {
                return Ordering::Less;
            }
            x = &x[1..];
            y = &y[1..];
            continue;
        }
        if x.is_empty() || y.is_empty() {
            break;
        }
        let numeric = x[0].is_ascii_digit();
        let run = |s: &[u8]| -> usize {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (nx, ny) = (run(x), run(y));
        if ny == 0 {
            // different kinds of segment: numbers are newer than letters
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sx, sy) = (&x[..nx], &y[..ny]);
        let ord = if numeric {
            let tx = trim_zeros(sx);
            let ty = trim_zeros(sy);
            tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
        } else {
            sx.cmp(sy)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        x = &x[nx..];
        y = &y[ny..];
    }
    match (x.is_empty(), y.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n..]
}
