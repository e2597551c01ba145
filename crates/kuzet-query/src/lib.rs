//! The analyst query language (`docs/query.md`): `field:value`, wildcards, quoted phrases, ranges, CIDR,
//! `exists`, `AND`/`OR`/`NOT`, parentheses and free text. `parse` gives a [`Query`] or an error that names the
//! character it stopped at and what it expected there; [`Query::matches`] evaluates it against one event (the
//! reference semantics the index must agree with). Pure: no I/O, no clock.

mod ast;
mod eval;
mod parse;

pub use ast::{Bound, Glob, Query, Value};
pub use eval::{DEFAULT_FIELDS, TEXT_FIELDS, field_values, glob, words};
pub use parse::{MAX_DEPTH, MAX_QUERY_CHARS, parse};

/// Why a query does not parse: where (a character index from 0) and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query: at character {}: {message}", .at + 1)]
pub struct QueryError {
    /// Index of the character (not byte) the parser stopped at.
    pub at: usize,
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(at: usize, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
        }
    }

    /// The query with a caret under the character the error names, for a terminal.
    pub fn pointer(&self, query: &str) -> String {
        let line: String = query
            .chars()
            .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
            .collect();
        format!("{line}\n{}^", " ".repeat(self.at))
    }
}
