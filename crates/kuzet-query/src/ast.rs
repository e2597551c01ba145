//! The parsed form of a query, and its canonical text (what golden tests compare and errors quote).

use std::fmt;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Every event (the empty query, or `*`).
    All,
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
    /// `field:value`, or free text (`field` is `None`): a word, a pattern or a phrase.
    Term {
        field: Option<String>,
        value: Value,
    },
    /// `field:[a TO b]`, `field:{a TO b}`, `field >= a`, …
    Range {
        field: String,
        lower: Bound,
        upper: Bound,
    },
    /// `field:*` or `_exists_:field`.
    Exists {
        field: String,
    },
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Unbounded,
    Inclusive(String),
    Exclusive(String),
}

/// What a term matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A bare word without wildcards (a CIDR such as `10.0.0.0/8` on an address field).
    Word(String),
    /// A bare word with `*` (any run of characters) or `?` (one character).
    Pattern(Vec<Glob>),
    /// A quoted phrase: its words in this order.
    Phrase(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Glob {
    Literal(String),
    /// `*`
    Any,
    /// `?`
    One,
}

/// Characters that end a bare word or must be escaped inside one.
pub(crate) const SPECIAL: &[char] = &[
    '(', ')', '[', ']', '{', '}', '"', ':', '<', '>', '=', '\\', '*', '?',
];

fn escaped(text: &str, keep_colon: bool) -> String {
    let mut out = escaped_inner(text, keep_colon);
    // An operator spelled as a word, or a word starting with `-` (which would read as `NOT`), is escaped.
    if matches!(out.as_str(), "AND" | "OR" | "NOT" | "TO") || out.starts_with('-') {
        out.insert(0, '\\');
    }
    out
}

/// Escapes the special characters of a part of a word (not its start).
fn escaped_inner(text: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (SPECIAL.contains(&c) && !(keep_colon && c == ':')) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Value {
    /// The value as written: after `field:` (`after_field`) a `:` needs no escape; in free text it does.
    pub fn render(&self, after_field: bool) -> String {
        match self {
            Value::Word(w) => escaped(w, after_field),
            Value::Phrase(p) => quoted(p),
            Value::Pattern(parts) => {
                let mut out = String::new();
                for (i, part) in parts.iter().enumerate() {
                    match part {
                        // Only a word's first part can read as `-` (NOT) or an operator.
                        Glob::Literal(text) if i == 0 => out.push_str(&escaped(text, after_field)),
                        Glob::Literal(text) => out.push_str(&escaped_inner(text, after_field)),
                        Glob::Any => out.push('*'),
                        Glob::One => out.push('?'),
                    }
                }
                out
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(true))
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Unbounded => f.write_str("*"),
            Bound::Inclusive(v) | Bound::Exclusive(v) if v.is_empty() => f.write_str("\"\""),
            Bound::Inclusive(v) | Bound::Exclusive(v) => f.write_str(&escaped(v, true)),
        }
    }
}

/// The canonical text: every group in parentheses, operators spelled out, so that a query reads back to itself.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Query], op: &str| {
            f.write_str("(")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(")")
        };
        match self {
            Query::All => f.write_str("*"),
            Query::And(items) => list(f, items, "AND"),
            Query::Or(items) => list(f, items, "OR"),
            Query::Not(inner) => write!(f, "NOT {inner}"),
            Query::Term { field: None, value } => f.write_str(&value.render(false)),
            Query::Term {
                field: Some(field),
                value,
            } => write!(f, "{}:{value}", escaped(field, false)),
            Query::Exists { field } => write!(f, "{}:*", escaped(field, false)),
            Query::Range {
                field,
                lower,
                upper,
            } => {
                let open = if matches!(lower, Bound::Exclusive(_)) {
                    '{'
                } else {
                    '['
                };
                let close = if matches!(upper, Bound::Exclusive(_)) {
                    '}'
                } else {
                    ']'
                };
                write!(
                    f,
                    "{}:{open}{lower} TO {upper}{close}",
                    escaped(field, false)
                )
            }
        }
    }
}
