//! `vers:` version range specifiers (package-url/vers-spec), evaluated three-valued.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::{Scheme, Verdict};

/// A comparator of a `vers` constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `=` (or no comparator).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Comparator {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Comparator::Eq => o == Ordering::Equal,
            Comparator::Ne => o != Ordering::Equal,
            Comparator::Lt => o == Ordering::Less,
            Comparator::Le => o != Ordering::Greater,
            Comparator::Gt => o == Ordering::Greater,
            Comparator::Ge => o != Ordering::Less,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

/// One constraint: a comparator and a version (percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Constraint {
    /// How the version compares.
    pub comparator: Comparator,
    /// The version.
    pub version: String,
}

/// A parsed `vers:` specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vers {
    /// The scheme name as written (lower-cased): `semver`, `deb`, `rpm`, `generic`, `npm`, …
    pub scheme_name: String,
    /// The scheme baken compares it by; `None` for a scheme it does not know.
    pub scheme: Option<Scheme>,
    /// The constraints; empty for `*` (every version).
    pub constraints: Vec<Constraint>,
}

/// A `vers:` string that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vers {input:?}: {reason}")]
pub struct VersError {
    /// The input.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl FromStr for Vers {
    type Err = VersError;

    fn from_str(s: &str) -> Result<Self, VersError> {
        let err = |reason: &str| VersError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let rest = compact
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("vers:"))
            .map(|_| &compact[5..])
            .ok_or_else(|| err("must start with `vers:`"))?;
        let (scheme_name, constraints) = rest
            .split_once('/')
            .ok_or_else(|| err("must name a scheme followed by `/`"))?;
        if scheme_name.is_empty() {
            return Err(err("the scheme is empty"));
        }
        let scheme_name = scheme_name.to_ascii_lowercase();
        let constraints = constraints.trim_matches('|');
        if constraints.is_empty() {
            return Err(err("no constraints"));
        }
        let mut out = Vec::new();
        if constraints != "*" {
            for c in constraints.split('|') {
                let (comparator, v) = [
                    (">=", Comparator::Ge),
                    ("<=", Comparator::Le),
                    ("!=", Comparator::Ne),
                    ("<", Comparator::Lt),
                    (">", Comparator::Gt),
                    ("=", Comparator::Eq),
                ]
                .iter()
                .find_map(|(p, cmp)| c.strip_prefix(p).map(|v| (*cmp, v)))
                .unwrap_or((Comparator::Eq, c));
                if v.is_empty() {
                    return Err(err("a constraint has no version"));
                }
                if v == "*" {
                    return Err(err("`*` must stand alone"));
                }
                out.push(Constraint {
                    comparator,
                    version: percent_decode(v),
                });
            }
        }
        Ok(Vers {
            scheme: Scheme::from_name(&scheme_name),
            scheme_name,
            constraints: out,
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && hex.bytes().all(|c| c.is_ascii_hexdigit())
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for Vers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vers:{}/", self.scheme_name)?;
        if self.constraints.is_empty() {
            return f.write_str("*");
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            write!(f, "{}{}", c.comparator.symbol(), c.version)?;
        }
        Ok(())
    }
}

impl Vers {
    /// Whether `version` is in the range, by the vers-spec algorithm: `!=` excludes, `=`
    /// includes, and the remaining bounds, sorted, form intervals.
    pub fn contains(&self, version: &str) -> Verdict {
        let Some(scheme) = self.scheme else {
            return Verdict::Unknown(format!(
                "vers scheme {:?} cannot be compared by baken",
                self.scheme_name
            ));
        };
        if let Err(e) = scheme.validate(version) {
            return Verdict::Unknown(e.to_string());
        }
        if self.constraints.is_empty() {
            return Verdict::Affected;
        }
        let mut ords = Vec::with_capacity(self.constraints.len());
        for c in &self.constraints {
            match scheme.compare(version, &c.version) {
                Ok(o) => ords.push(o),
                Err(e) => return Verdict::Unknown(e.to_string()),
            }
        }
        let pairs = || self.constraints.iter().zip(ords.iter().copied());
        if pairs().any(|(c, o)| c.comparator == Comparator::Ne && o == Ordering::Equal) {
            return Verdict::NotAffected;
        }
        if pairs().any(|(c, o)| c.comparator == Comparator::Eq && o == Ordering::Equal) {
            return Verdict::Affected;
        }
        let mut bounds: Vec<(&Constraint, Ordering)> = pairs()
            .filter(|(c, _)| !matches!(c.comparator, Comparator::Eq | Comparator::Ne))
            .collect();
        if bounds.is_empty() {
            let only_ne = self
                .constraints
                .iter()
                .all(|c| c.comparator == Comparator::Ne);
            return if only_ne {
                Verdict::Affected
            } else {
                Verdict::NotAffected
            };
        }
        let mut sort_error = None;
        bounds.sort_by(|a, b| {
            scheme
                .compare(&a.0.version, &b.0.version)
                .unwrap_or_else(|e| {
                    sort_error.get_or_insert(e.to_string());
                    Ordering::Equal
                })
        });
        if let Some(e) = sort_error {
            return Verdict::Unknown(e);
        }
        let holds = |(c, o): (&Constraint, Ordering)| c.comparator.holds(o);
        let is_lower = |c: &Constraint| matches!(c.comparator, Comparator::Gt | Comparator::Ge);
        let yes = if bounds.len() == 1 {
            holds(bounds[0])
        } else {
            let last = bounds.len() - 2;
            bounds.windows(2).enumerate().any(|(i, w)| {
                let (cur, next) = (w[0], w[1]);
                (i == 0 && !is_lower(cur.0) && holds(cur))
                    || (i == last && is_lower(next.0) && holds(next))
                    || (is_lower(cur.0) && !is_lower(next.0) && holds(cur) && holds(next))
            })
        };
        if yes {
            Verdict::Affected
        } else {
            Verdict::NotAffected
        }
    }
}
