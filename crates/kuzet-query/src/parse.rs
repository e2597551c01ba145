//! The query parser: recursive descent over characters, so that every error names the character it stopped at
//! and what it expected there.

use crate::QueryError;
use crate::ast::{Bound, Glob, Query, SPECIAL, Value};

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 16 * 1024;
/// The deepest nesting of groups and `NOT`s accepted.
pub const MAX_DEPTH: usize = 64;

/// Parses a query. The empty query (or only spaces) is [`Query::All`].
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(QueryError::new(
            MAX_QUERY_CHARS,
            format!("the query is longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut p = Parser {
        chars,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(Query::All);
    }
    let query = p.or()?;
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.error(if c == ')' {
            "`)` closes no group".to_string()
        } else {
            format!(
                "expected an operator or the end of the query, found {}",
                p.found()
            )
        }));
    }
    Ok(query)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

/// What a bare word read was: its text and glob parts (wildcards only when unescaped).
struct Word {
    start: usize,
    text: String,
    parts: Vec<Glob>,
    wildcard: bool,
    /// Whether any character was escaped (an escaped `AND` is a word, not an operator).
    escaped: bool,
}

impl Word {
    fn value(self) -> Value {
        if self.wildcard {
            Value::Pattern(self.parts)
        } else {
            Value::Word(self.text)
        }
    }

    fn keyword(&self) -> Option<&str> {
        (!self.escaped && matches!(self.text.as_str(), "AND" | "OR" | "NOT" | "TO"))
            .then_some(self.text.as_str())
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(self.pos, message)
    }

    /// How the character at the cursor is named in an error.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the query".into(),
            Some(c) => format!("`{c}`"),
        }
    }

    /// Whether an unescaped keyword starts at the cursor (followed by a space, a parenthesis or the end).
    fn keyword_ahead(&self, keyword: &str) -> bool {
        let n = keyword.chars().count();
        let matches = keyword
            .chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c));
        matches
            && self
                .peek_at(n)
                .is_none_or(|c| c.is_whitespace() || c == '(' || c == ')' || c == '"')
    }

    fn nest(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("groups nest deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut items = vec![self.and()?];
        loop {
            self.skip_ws();
            if !self.keyword_ahead("OR") {
                break;
            }
            self.pos += 2;
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') {
                return Err(self.error(format!(
                    "expected a condition after `OR`, found {}",
                    self.found()
                )));
            }
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Query::Or(items)
        })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut items = vec![self.unary()?];
        loop {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') || self.keyword_ahead("OR") {
                break;
            }
            if self.keyword_ahead("AND") {
                self.pos += 3;
                self.skip_ws();
                if self.at_end() || self.peek() == Some(')') || self.keyword_ahead("OR") {
                    return Err(self.error(format!(
                        "expected a condition after `AND`, found {}",
                        self.found()
                    )));
                }
            }
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Query::And(items)
        })
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        self.skip_ws();
        if self.keyword_ahead("NOT") {
            self.pos += 3;
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') {
                return Err(self.error(format!(
                    "expected a condition after `NOT`, found {}",
                    self.found()
                )));
            }
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Query::Not(Box::new(inner)));
        }
        if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| !c.is_whitespace()) {
            self.pos += 1;
            self.nest()?;
            let inner = self.primary()?;
            self.depth -= 1;
            return Ok(Query::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.error("expected a condition, found the end of the query")),
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(')') {
                    return Err(self.error("expected a condition inside `( )`, found `)`"));
                }
                self.nest()?;
                let inner = self.or()?;
                self.depth -= 1;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error(format!(
                        "expected `)` to close the group opened at character {}, found {}",
                        open + 1,
                        self.found()
                    )));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some('"') => Ok(Query::Term {
                field: None,
                value: Value::Phrase(self.phrase()?),
            }),
            Some(c) if matches!(c, ')' | ']' | '}' | ':' | '<' | '>' | '=' | '[' | '{') => {
                Err(self.error(format!("expected a condition, found `{c}`")))
            }
            Some(_) => {
                let word = self.word(false)?;
                if let Some(keyword) = word.keyword() {
                    return Err(QueryError::new(
                        word.start,
                        format!(
                            "expected a condition, found the operator `{keyword}` (write `\\{keyword}` to search for the word)"
                        ),
                    ));
                }
                // `field >= value` may have spaces around the operator.
                let after_word = self.pos;
                self.skip_ws();
                if !matches!(self.peek(), Some('<' | '>')) {
                    self.pos = after_word;
                }
                match self.peek() {
                    Some(':') => {
                        self.pos += 1;
                        self.field_value(word)
                    }
                    Some('<' | '>') => self.comparison(word),
                    Some('=') => Err(self.error(format!(
                        "expected `:` after the field `{}` (`field:value`), found `=`",
                        word.text
                    ))),
                    _ => {
                        if word.text == "*" && word.wildcard {
                            return Ok(Query::All);
                        }
                        Ok(Query::Term {
                            field: None,
                            value: word.value(),
                        })
                    }
                }
            }
        }
    }

    /// A field name: letters, digits and `_ . @ -` (ECS names and the fields of JSON sources).
    fn field_name(&self, word: &Word) -> Result<String, QueryError> {
        let valid = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-');
        if word.wildcard || word.text.is_empty() || !word.text.chars().all(valid) {
            return Err(QueryError::new(
                word.start,
                format!("`{}` is not a field name", word.text),
            ));
        }
        Ok(word.text.clone())
    }

    /// After `field:`.
    fn field_value(&mut self, field_word: Word) -> Result<Query, QueryError> {
        let field = self.field_name(&field_word)?;
        self.skip_ws();
        match self.peek() {
            None => Err(self.error(format!(
                "expected a value after `{field}:`, found the end of the query"
            ))),
            Some('"') => Ok(Query::Term {
                field: Some(field),
                value: Value::Phrase(self.phrase()?),
            }),
            Some('[' | '{') => self.range(field),
            Some('(') => {
                // `field:(a OR b c)`: the same field for every value of the group.
                let open = self.pos;
                self.pos += 1;
                self.nest()?;
                let group = self.value_group(&field)?;
                self.depth -= 1;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error(format!(
                        "expected `)` to close the values opened at character {}, found {}",
                        open + 1,
                        self.found()
                    )));
                }
                self.pos += 1;
                Ok(group)
            }
            Some(c) if matches!(c, ')' | ']' | '}' | '<' | '>' | '=') => {
                Err(self.error(format!("expected a value after `{field}:`, found `{c}`")))
            }
            Some(_) => {
                let word = self.word(true)?;
                if field == "_exists_" {
                    return Ok(Query::Exists {
                        field: self.field_name(&word)?,
                    });
                }
                if word.text == "*" && word.wildcard {
                    return Ok(Query::Exists { field });
                }
                Ok(Query::Term {
                    field: Some(field),
                    value: word.value(),
                })
            }
        }
    }

    /// The values of `field:( … )`: words and phrases joined by `OR`, `AND` (or nothing: `AND`), `NOT`.
    fn value_group(&mut self, field: &str) -> Result<Query, QueryError> {
        let mut ors = Vec::new();
        let mut ands = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')') => break,
                _ => {}
            }
            if self.keyword_ahead("OR") {
                if ands.is_empty() {
                    return Err(self.error("expected a value before `OR`"));
                }
                self.pos += 2;
                ors.push(and_of(std::mem::take(&mut ands)));
                continue;
            }
            if self.keyword_ahead("AND") {
                self.pos += 3;
                continue;
            }
            let negate = if self.keyword_ahead("NOT") {
                self.pos += 3;
                self.skip_ws();
                true
            } else {
                false
            };
            let value = match self.peek() {
                Some('"') => Value::Phrase(self.phrase()?),
                Some(c) if matches!(c, '(' | '[' | '{' | ':' | '<' | '>' | '=') => {
                    return Err(self.error(format!("expected a value of `{field}`, found `{c}`")));
                }
                None | Some(')') => {
                    return Err(self.error(format!(
                        "expected a value of `{field}`, found {}",
                        self.found()
                    )));
                }
                Some(_) => self.word(true)?.value(),
            };
            // `*` alone means "present", as after `field:`.
            let term = if value == Value::Pattern(vec![Glob::Any]) {
                Query::Exists {
                    field: field.to_owned(),
                }
            } else {
                Query::Term {
                    field: Some(field.to_owned()),
                    value,
                }
            };
            ands.push(if negate {
                Query::Not(Box::new(term))
            } else {
                term
            });
        }
        if ands.is_empty() {
            return Err(self.error(format!(
                "expected a value of `{field}`, found {}",
                self.found()
            )));
        }
        ors.push(and_of(ands));
        Ok(if ors.len() == 1 {
            ors.remove(0)
        } else {
            Query::Or(ors)
        })
    }

    /// `field >= value`, `field < value`, …
    fn comparison(&mut self, field_word: Word) -> Result<Query, QueryError> {
        let field = self.field_name(&field_word)?;
        let op_start = self.pos;
        let greater = self.peek() == Some('>');
        self.pos += 1;
        let inclusive = if self.peek() == Some('=') {
            self.pos += 1;
            true
        } else {
            false
        };
        self.skip_ws();
        let value = match self.peek() {
            Some('"') => self.phrase()?,
            Some(c) if !SPECIAL.contains(&c) || c == '\\' || c == ':' => {
                let word = self.word(true)?;
                if word.wildcard {
                    return Err(QueryError::new(
                        word.start,
                        "a comparison takes a value without wildcards",
                    ));
                }
                word.text
            }
            _ => {
                let op: String = self.chars[op_start..self.pos]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_owned();
                return Err(self.error(format!(
                    "expected a value after `{field} {op}`, found {}",
                    self.found()
                )));
            }
        };
        let bound = if inclusive {
            Bound::Inclusive(value)
        } else {
            Bound::Exclusive(value)
        };
        let (lower, upper) = if greater {
            (bound, Bound::Unbounded)
        } else {
            (Bound::Unbounded, bound)
        };
        Ok(Query::Range {
            field,
            lower,
            upper,
        })
    }

    /// `[a TO b]`, `{a TO b}`, mixed brackets, `*` for an open end.
    fn range(&mut self, field: String) -> Result<Query, QueryError> {
        let open = self.pos;
        let lower_inclusive = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let lower = self.range_end(&field, "the lower end")?;
        self.skip_ws();
        if !self.keyword_ahead("TO") {
            return Err(self.error(format!(
                "expected `TO` in the range opened at character {}, found {}",
                open + 1,
                self.found()
            )));
        }
        self.pos += 2;
        self.skip_ws();
        let upper = self.range_end(&field, "the upper end")?;
        self.skip_ws();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(self.error(format!(
                    "expected `]` or `}}` to close the range opened at character {}, found {}",
                    open + 1,
                    self.found()
                )));
            }
        };
        self.pos += 1;
        let bound = |value: Option<String>, inclusive: bool| match value {
            None => Bound::Unbounded,
            Some(v) if inclusive => Bound::Inclusive(v),
            Some(v) => Bound::Exclusive(v),
        };
        Ok(Query::Range {
            field,
            lower: bound(lower, lower_inclusive),
            upper: bound(upper, upper_inclusive),
        })
    }

    /// One end of a range: a value, or `*` (`None`) for an open end.
    fn range_end(&mut self, field: &str, which: &str) -> Result<Option<String>, QueryError> {
        match self.peek() {
            Some('"') => Ok(Some(self.phrase()?)),
            Some(c) if c == '\\' || !SPECIAL.contains(&c) || c == '*' || c == ':' => {
                let word = self.word(true)?;
                if word.keyword() == Some("TO") {
                    return Err(QueryError::new(
                        word.start,
                        format!("expected {which} of the range of `{field}`, found `TO`"),
                    ));
                }
                match (word.wildcard, word.text.as_str()) {
                    (true, "*") => Ok(None),
                    (true, _) => Err(QueryError::new(
                        word.start,
                        "a range end takes a value without wildcards, or `*` for no bound",
                    )),
                    _ => Ok(Some(word.text)),
                }
            }
            _ => Err(self.error(format!(
                "expected {which} of the range of `{field}`, found {}",
                self.found()
            ))),
        }
    }

    /// A quoted phrase; the cursor is on its opening quote.
    fn phrase(&mut self) -> Result<String, QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(QueryError::new(
                        open,
                        "the quote opened here is never closed",
                    ));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => out.push(c),
                        None => return Err(self.error("expected a character after `\\`")),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A bare word. In value position (`value`) a word may hold `:` (times, IPv6 addresses) and runs to a space,
    /// `)` or `]`/`}`; a field name or free-text word stops at `:` `<` `>` `=` too.
    fn word(&mut self, value: bool) -> Result<Word, QueryError> {
        let start = self.pos;
        let mut word = Word {
            start,
            text: String::new(),
            parts: Vec::new(),
            wildcard: false,
            escaped: false,
        };
        let mut literal = String::new();
        while let Some(c) = self.peek() {
            let ends = c.is_whitespace()
                || matches!(c, '(' | ')' | '"' | '[' | ']' | '{' | '}')
                || (!value && matches!(c, ':' | '<' | '>' | '='));
            if ends {
                break;
            }
            self.pos += 1;
            match c {
                '\\' => {
                    let Some(next) = self.peek() else {
                        return Err(self.error("expected a character after `\\`"));
                    };
                    self.pos += 1;
                    word.escaped = true;
                    word.text.push(next);
                    literal.push(next);
                }
                '*' | '?' => {
                    word.wildcard = true;
                    word.text.push(c);
                    if !literal.is_empty() {
                        word.parts.push(Glob::Literal(std::mem::take(&mut literal)));
                    }
                    word.parts
                        .push(if c == '*' { Glob::Any } else { Glob::One });
                }
                _ => {
                    word.text.push(c);
                    literal.push(c);
                }
            }
        }
        if !literal.is_empty() {
            word.parts.push(Glob::Literal(literal));
        }
        if word.text.is_empty() {
            return Err(self.error(format!("expected a word, found {}", self.found())));
        }
        Ok(word)
    }
}

fn and_of(mut items: Vec<Query>) -> Query {
    if items.len() == 1 {
        items.remove(0)
    } else {
        Query::And(items)
    }
}
