//! Matching one Sigma value against one event value: the semantics of every modifier, with no knowledge of rules
//! or of how candidates are chosen. The engine (`engine.rs`) decides which of these to run.

use std::net::IpAddr;

use ipnet::IpNet;
use kuzet_model::Value;
use memchr::memmem::Finder;
use regex::Regex;

/// How a literal is compared with a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TextOp {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

impl TextOp {
    pub(crate) fn holds(self, haystack: &str, needle: &str) -> bool {
        match self {
            TextOp::Exact => haystack == needle,
            TextOp::Prefix => haystack.starts_with(needle),
            TextOp::Suffix => haystack.ends_with(needle),
            TextOp::Contains => haystack.contains(needle),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum GlobPart {
    Literal(String),
    /// `*`: any run of characters, possibly empty.
    Any,
    /// `?`: exactly one character.
    One,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NumOp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// One compiled value. Text needles of case-insensitive matchers are stored in lower case and compared with the
/// lower-cased text of the field (Unicode lower case, so Cyrillic and Kazakh letters fold too).
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Text {
        op: TextOp,
        needle: String,
        cased: bool,
        /// The needle's searcher, built once (`contains` is the commonest modifier).
        finder: Box<Finder<'static>>,
    },
    /// Wildcards: matches the whole text.
    Glob {
        parts: Vec<GlobPart>,
        cased: bool,
    },
    /// A regex, and literals one of which each of its matches contains (lower case; empty: none known).
    Regex(Regex, Box<[String]>),
    Cidr(IpNet),
    Number {
        op: NumOp,
        value: f64,
    },
    Bool(bool),
    /// The field is absent or empty.
    Null,
    Exists(bool),
    /// Compares with the value of another field of the same event (`fieldref`); the engine resolves the field.
    FieldRef {
        op: TextOp,
        cased: bool,
    },
    TimePart {
        part: TimePart,
        op: NumOp,
        value: f64,
    },
    /// `neq`: the field is present and does not match.
    Not(Box<Matcher>),
}

impl Matcher {
    pub(crate) fn text(op: TextOp, needle: String, cased: bool) -> Self {
        let finder = Box::new(Finder::new(needle.as_bytes()).into_owned());
        Matcher::Text {
            op,
            needle,
            cased,
            finder,
        }
    }

    /// The literal every matching text contains (in the needle's case) and where in the text it must be: the
    /// engine finds these for all rules in one Aho-Corasick pass per field and evaluates a matcher only where its
    /// anchor occurs in its place. `None`: the matcher has to be evaluated without that shortcut.
    pub(crate) fn anchor(&self) -> Option<(&str, TextOp)> {
        const MIN_ANCHOR: usize = 2;
        let (anchor, place) = match self {
            Matcher::Text { needle, op, .. } => (needle.as_str(), *op),
            Matcher::Glob { parts, .. } => {
                let (index, longest) = parts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| match p {
                        GlobPart::Literal(s) => Some((i, s.as_str())),
                        _ => None,
                    })
                    .max_by_key(|(_, s)| s.len())?;
                // A glob matches the whole text: its first literal part starts it, its last one ends it.
                let place = match (index == 0, index + 1 == parts.len()) {
                    (true, true) => TextOp::Exact,
                    (true, false) => TextOp::Prefix,
                    (false, true) => TextOp::Suffix,
                    (false, false) => TextOp::Contains,
                };
                (longest, place)
            }
            _ => return None,
        };
        (anchor.len() >= MIN_ANCHOR).then_some((anchor, place))
    }

    /// Whether the matcher needs the lower-cased text of the field.
    pub(crate) fn folds_case(&self) -> bool {
        match self {
            Matcher::Text { cased, .. }
            | Matcher::Glob { cased, .. }
            | Matcher::FieldRef { cased, .. } => !cased,
            Matcher::Not(inner) => inner.folds_case(),
            _ => false,
        }
    }

    /// Matches a present field. `lower` is the field's lower-cased text when it is a string and the caller has
    /// it; `other` is the referenced field for `fieldref`.
    pub(crate) fn matches(
        &self,
        value: &Value,
        lower: Option<&str>,
        other: Option<&Value>,
    ) -> bool {
        match self {
            Matcher::Exists(present) => *present,
            Matcher::Null => is_empty(value),
            Matcher::Not(inner) => !inner.matches(value, lower, other),
            Matcher::FieldRef { op, cased } => {
                let Some(other) = other else { return false };
                let mut found = false;
                each_text(other, &mut |reference| {
                    if !found {
                        let reference = fold(reference, *cased);
                        found = self.any_text(value, lower, |text| op.holds(text, &reference));
                    }
                });
                found
            }
            Matcher::Number { op, value: wanted } => {
                any_number(value, &mut |n| compare(*op, n, *wanted))
            }
            Matcher::Bool(wanted) => match value {
                Value::Bool(b) => b == wanted,
                Value::Str(s) => s.eq_ignore_ascii_case(if *wanted { "true" } else { "false" }),
                Value::Array(items) => items.iter().any(|v| self.matches(v, None, other)),
                _ => false,
            },
            Matcher::Cidr(net) => {
                let mut found = false;
                each_text(value, &mut |text| {
                    found = found
                        || text
                            .trim()
                            .parse::<IpAddr>()
                            .is_ok_and(|ip| net.contains(&ip));
                });
                found
            }
            Matcher::Regex(regex, _) => {
                let mut found = false;
                each_text(value, &mut |text| found = found || regex.is_match(text));
                found
            }
            Matcher::TimePart {
                part,
                op,
                value: wanted,
            } => {
                let mut found = false;
                each_text(value, &mut |text| {
                    found =
                        found || time_part(text, *part).is_some_and(|n| compare(*op, n, *wanted));
                });
                found
            }
            Matcher::Text {
                op: TextOp::Contains,
                cased,
                finder,
                ..
            } => self.any_text_folded(value, lower, *cased, |text| {
                finder.find(text.as_bytes()).is_some()
            }),
            Matcher::Text {
                op, needle, cased, ..
            } => self.any_text_folded(value, lower, *cased, |text| op.holds(text, needle)),
            Matcher::Glob { parts, cased } => {
                self.any_text_folded(value, lower, *cased, |text| glob_matches(parts, text))
            }
        }
    }

    fn any_text(&self, value: &Value, lower: Option<&str>, test: impl Fn(&str) -> bool) -> bool {
        self.any_text_folded(value, lower, !self.folds_case(), test)
    }

    fn any_text_folded(
        &self,
        value: &Value,
        lower: Option<&str>,
        cased: bool,
        test: impl Fn(&str) -> bool,
    ) -> bool {
        if let (Value::Str(s), false) = (value, cased) {
            return match lower {
                Some(lower) => test(lower),
                None => test(&fold(s, false)),
            };
        }
        let mut found = false;
        each_text(value, &mut |text| {
            found = found || test(&fold(text, cased));
        });
        found
    }
}

/// The text of a value: strings as they are, numbers in decimal, booleans as `true`/`false`; arrays element by
/// element.
pub(crate) fn each_text(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::Str(s) => f(s),
        Value::Int(n) => f(itoa::Buffer::new().format(*n)),
        Value::Float(x) => f(&x.to_string()),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Array(items) => {
            for item in items {
                each_text(item, f);
            }
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Str(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Whether `f` holds for a number of the value: integers and floats as they are, strings parsed (decimal, or
/// `0x` hexadecimal), arrays element by element.
pub(crate) fn any_number(value: &Value, f: &mut dyn FnMut(f64) -> bool) -> bool {
    match value {
        Value::Int(n) => f(*n as f64),
        Value::Float(x) => f(*x),
        Value::Str(s) => parse_number(s).is_some_and(f),
        Value::Array(items) => items.iter().any(|v| any_number(v, f)),
        Value::Bool(_) => false,
    }
}

/// Decimal, or hexadecimal with `0x` as Windows writes ids.
fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn compare(op: NumOp, have: f64, wanted: f64) -> bool {
    match op {
        NumOp::Eq => have == wanted,
        NumOp::Gt => have > wanted,
        NumOp::Gte => have >= wanted,
        NumOp::Lt => have < wanted,
        NumOp::Lte => have <= wanted,
    }
}

fn time_part(text: &str, part: TimePart) -> Option<f64> {
    let timestamp: jiff::Timestamp = text.trim().parse().ok()?;
    let utc = timestamp.to_zoned(jiff::tz::TimeZone::UTC);
    let n = match part {
        TimePart::Minute => i64::from(utc.minute()),
        TimePart::Hour => i64::from(utc.hour()),
        TimePart::Day => i64::from(utc.day()),
        TimePart::Week => i64::from(utc.date().iso_week_date().week()),
        TimePart::Month => i64::from(utc.month()),
        TimePart::Year => i64::from(utc.year()),
    };
    Some(n as f64)
}

/// Lower-cases `text` unless `cased`.
pub(crate) fn fold(text: &str, cased: bool) -> std::borrow::Cow<'_, str> {
    if cased || !text.chars().any(char::is_uppercase) {
        std::borrow::Cow::Borrowed(text)
    } else {
        let mut out = String::with_capacity(text.len());
        fold_into(text, &mut out);
        std::borrow::Cow::Owned(out)
    }
}

/// Appends the lower case of `text` to `out`; ASCII text takes the fast path.
pub(crate) fn fold_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        // Safe on a String: ASCII lower-casing keeps it valid UTF-8.
        out[start..].make_ascii_lowercase();
    } else {
        for c in text.chars() {
            out.extend(c.to_lowercase());
        }
    }
}

/// Whether `parts` match the whole of `text`: the classic two-pointer wildcard match, linear in practice and
/// quadratic at worst, with no allocation.
pub(crate) fn glob_matches(parts: &[GlobPart], text: &str) -> bool {
    // Work on (part index, byte offset); remember the last `*` to backtrack to.
    let mut p = 0usize;
    let mut t = 0usize;
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < parts.len() {
            match &parts[p] {
                GlobPart::Any => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                GlobPart::One => {
                    if let Some(c) = text[t..].chars().next() {
                        t += c.len_utf8();
                        p += 1;
                        continue;
                    }
                }
                GlobPart::Literal(lit) => {
                    if text[t..].starts_with(lit.as_str()) {
                        t += lit.len();
                        p += 1;
                        continue;
                    }
                }
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more character.
        match star {
            Some((sp, st)) => match text[st..].chars().next() {
                Some(c) => {
                    let next = st + c.len_utf8();
                    star = Some((sp, next));
                    p = sp + 1;
                    t = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Vec<GlobPart> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        for c in pattern.chars() {
            match c {
                '*' | '?' => {
                    if !lit.is_empty() {
                        parts.push(GlobPart::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(if c == '*' {
                        GlobPart::Any
                    } else {
                        GlobPart::One
                    });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(GlobPart::Literal(lit));
        }
        parts
    }

    #[test]
    fn globs_match_whole_texts() {
        assert!(glob_matches(&glob("*\\cmd.exe"), "c:\\windows\\cmd.exe"));
        assert!(!glob_matches(&glob("*\\cmd.exe"), "c:\\windows\\cmd.exe2"));
        assert!(glob_matches(&glob("a*b*c"), "aXbYbZc"));
        assert!(glob_matches(&glob("a?c"), "aбc"));
        assert!(!glob_matches(&glob("a?c"), "ac"));
        assert!(glob_matches(&glob("*"), ""));
        assert!(glob_matches(&glob(""), ""));
        assert!(!glob_matches(&glob(""), "x"));
        assert!(glob_matches(&glob("*a*a*a*"), "aaa"));
        assert!(!glob_matches(&glob("*a*a*a*b"), "aaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn case_folds_cyrillic() {
        assert_eq!(fold("Администратор", false), "администратор");
        assert_eq!(fold("ÄB", true), "ÄB");
    }

    #[test]
    fn numbers_compare_across_types() {
        let m = Matcher::Number {
            op: NumOp::Eq,
            value: 4625.0,
        };
        assert!(m.matches(&Value::Int(4625), None, None));
        assert!(m.matches(&Value::Str("4625".into()), None, None));
        assert!(!m.matches(&Value::Str("x4625".into()), None, None));
        let gt = Matcher::Number {
            op: NumOp::Gt,
            value: 15.0,
        };
        assert!(gt.matches(&Value::Str("0x10".into()), None, None));
        assert!(gt.matches(
            &Value::Array(vec![Value::Int(1), Value::Int(16)]),
            None,
            None
        ));
    }

    #[test]
    fn cidr_and_null() {
        let m = Matcher::Cidr("10.0.0.0/8".parse().unwrap());
        assert!(m.matches(&Value::Str("10.1.2.3".into()), None, None));
        assert!(!m.matches(&Value::Str("11.1.2.3".into()), None, None));
        assert!(!m.matches(&Value::Str("not an ip".into()), None, None));
        assert!(Matcher::Null.matches(&Value::Str(String::new()), None, None));
        assert!(!Matcher::Null.matches(&Value::Str("x".into()), None, None));
    }

    #[test]
    fn time_parts() {
        let m = Matcher::TimePart {
            part: TimePart::Hour,
            op: NumOp::Eq,
            value: 3.0,
        };
        assert!(m.matches(&Value::Str("2026-12-04T03:15:00Z".into()), None, None));
        assert!(!m.matches(&Value::Str("2026-12-04T04:15:00Z".into()), None, None));
    }
}
