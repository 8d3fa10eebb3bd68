//! Values as IntelMQ's Python code sees them, and the Python built-ins the parser relies on
//! (`str.strip`, `int()`, `float()`, `repr(float)`), reimplemented with the same results.

use std::borrow::Cow;

use serde_json::Value;

/// A value flowing from a CSV cell through a conversion function into `event.add()`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyVal<'a> {
    /// Python `None`.
    None,
    /// A `str`.
    Str(Cow<'a, str>),
    /// An `int` (Python's are unbounded; ours are `i64`).
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `bool`.
    Bool(bool),
}

impl<'a> PyVal<'a> {
    /// A borrowed string value.
    pub(crate) fn str(s: &'a str) -> Self {
        PyVal::Str(Cow::Borrowed(s))
    }

    /// An owned string value.
    pub(crate) fn string(s: String) -> Self {
        PyVal::Str(Cow::Owned(s))
    }

    pub(crate) fn is_none(&self) -> bool {
        matches!(self, PyVal::None)
    }

    /// Python truthiness.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            PyVal::None => false,
            PyVal::Str(s) => !s.is_empty(),
            PyVal::Int(i) => *i != 0,
            PyVal::Float(f) => *f != 0.0,
            PyVal::Bool(b) => *b,
        }
    }

    /// Python `str(value)`.
    pub(crate) fn py_str(&self) -> Cow<'_, str> {
        match self {
            PyVal::None => Cow::Borrowed("None"),
            PyVal::Str(s) => Cow::Borrowed(s),
            PyVal::Int(i) => Cow::Owned(i.to_string()),
            PyVal::Float(f) => Cow::Owned(float_repr(*f)),
            PyVal::Bool(true) => Cow::Borrowed("True"),
            PyVal::Bool(false) => Cow::Borrowed("False"),
        }
    }

    /// The value as JSON, as `json.dumps` followed by `json.loads` gives it.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            PyVal::None => Value::Null,
            PyVal::Str(s) => Value::String(s.to_string()),
            PyVal::Int(i) => Value::from(*i),
            // serde_json cannot hold NaN or infinities (Python writes them as NaN/Infinity)
            PyVal::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(float_repr(*f))),
            PyVal::Bool(b) => Value::Bool(*b),
        }
    }

    /// [`Self::to_json`], moving an owned string instead of copying it.
    pub(crate) fn into_json(self) -> Value {
        match self {
            PyVal::Str(s) => Value::String(s.into_owned()),
            other => other.to_json(),
        }
    }

    /// A value from JSON (the schema's constant fields).
    pub(crate) fn from_json(v: &'a Value) -> Self {
        match v {
            Value::Null => PyVal::None,
            Value::Bool(b) => PyVal::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => PyVal::Int(i),
                None => PyVal::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyVal::str(s),
            other => PyVal::string(other.to_string()),
        }
    }
}

/// Python's `str.isspace()` for one character.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `s.to_lowercase() == s` without allocating for ASCII text.
pub(crate) fn is_lowercase(s: &str) -> bool {
    if s.is_ascii() {
        !s.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        s.to_lowercase() == s
    }
}

/// `s.to_uppercase() == s` without allocating for ASCII text.
pub(crate) fn is_uppercase(s: &str) -> bool {
    if s.is_ascii() {
        !s.bytes().any(|b| b.is_ascii_lowercase())
    } else {
        s.to_uppercase() == s
    }
}

/// Python's `str.strip()` without arguments.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Removes single underscores between digits as Python's numeric literals allow them;
/// `None` when an underscore is misplaced.
fn without_underscores(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('_') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i > 0 && b[i - 1].is_ascii_digit();
            let after = i + 1 < b.len() && b[i + 1].is_ascii_digit();
            if !(before && after) {
                return None;
            }
        }
    }
    Some(Cow::Owned(s.replace('_', "")))
}

/// Python's `int(str)` in base 10; `None` where Python raises `ValueError` (and, unlike
/// Python, for values outside `i64`).
pub(crate) fn py_int(s: &str) -> Option<i64> {
    let t = py_strip(s);
    let t = without_underscores(t)?;
    let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok()
}

/// Python's `float(str)`; `None` where Python raises `ValueError`.
pub(crate) fn py_float(s: &str) -> Option<f64> {
    let t = py_strip(s);
    let t = without_underscores(t)?;
    let body = t.strip_prefix(['+', '-']).unwrap_or(&t);
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Python's `repr(float)`.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // shortest round-trip digits, as Python's repr uses
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').expect("LowerExp always has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}
