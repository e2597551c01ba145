//! The query language onto a partition (`docs/query.md`, "How the index answers"): each condition becomes a
//! tantivy query that finds at least every event the reference semantics (`Query::matches`) accepts. Most
//! conditions translate exactly; the rest find a superset, which the search narrows by evaluating the query on
//! each event it reads. `exact` says which: it decides whether a count of candidates is a count of matches.

use std::net::IpAddr;
use std::ops::Bound as Edge;

use kuzet_query::{Bound, DEFAULT_FIELDS, Glob, Query, TEXT_FIELDS, Value, words};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query as TQuery, RangeQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use crate::schema::{
    Fields, HOT_FIELDS, LONG, MAX_TERM, MAX_WORD, NOT_CANONICAL, SEP, canonical_text, field_prefix,
    ip_term, is_time_field, keyword_term, micros, number_term, parse_instant, parse_number,
    text_term,
};

/// The most `nv` terms a pattern on a field reads back as integers in one partition; past it, every number of
/// the field is a candidate the search checks.
const MAX_ENUMERATED: usize = 1 << 20;

/// A translated condition.
pub(crate) struct Translated {
    pub query: Box<dyn TQuery>,
    /// Whether the query finds exactly the matching events (not a superset).
    pub exact: bool,
}

impl Translated {
    fn exact(query: Box<dyn TQuery>) -> Self {
        Self { query, exact: true }
    }
    fn all(exact: bool) -> Self {
        Self {
            query: Box::new(AllQuery),
            exact,
        }
    }
    fn none() -> Self {
        Self::exact(Box::new(EmptyQuery))
    }
}

pub(crate) struct Translator<'a> {
    pub fields: &'a Fields,
    /// The partition's searcher: asked whether any event holds a value too long to be a term.
    pub searcher: &'a Searcher,
}

impl Translator<'_> {
    pub fn translate(&self, query: &Query) -> Translated {
        match query {
            Query::All => Translated::all(true),
            Query::And(items) => self.combine(items, Occur::Must),
            Query::Or(items) => self.combine(items, Occur::Should),
            Query::Not(inner) => {
                let inner = self.translate(inner);
                if !inner.exact {
                    // The complement of a superset would miss events: read them all and let evaluation decide.
                    return Translated::all(false);
                }
                Translated::exact(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                    (Occur::MustNot, inner.query),
                ])))
            }
            Query::Exists { field } => {
                if HOT_FIELDS.contains(&field.as_str()) {
                    Translated::all(true)
                } else if TEXT_FIELDS.contains(&field.as_str()) {
                    Translated::exact(self.name_term(field))
                } else {
                    // Every value of a keyword field is a `kw` term under its name, a canonical integer's `nv`
                    // term, or marks the field long.
                    let prefix = format!("{field}{SEP}");
                    let kw = self.fields.kw;
                    let end = String::from_utf8(prefix_end(prefix.as_bytes())).unwrap_or_default();
                    Translated::exact(any(vec![
                        Box::new(RangeQuery::new(
                            Edge::Included(Term::from_field_text(kw, &prefix)),
                            Edge::Excluded(Term::from_field_text(kw, &end)),
                        )),
                        prefixed_range(self.fields.nv, field, Edge::Unbounded, Edge::Unbounded),
                        self.name_term(&format!("{field}{LONG}")),
                    ]))
                }
            }
            Query::Term { field: None, value } => {
                let mut parts = Vec::new();
                let mut exact = true;
                for field in DEFAULT_FIELDS {
                    let t = self.text_in(field, value);
                    exact &= t.exact;
                    parts.push(t.query);
                }
                // Free text asks `message` and `event.original` together, so a message found through the
                // original's words is a match, not a candidate.
                Translated {
                    query: any(parts),
                    exact,
                }
            }
            Query::Term {
                field: Some(field),
                value,
            } => {
                if TEXT_FIELDS.contains(&field.as_str()) {
                    let mut t = self.text(field, value);
                    if field == "message" {
                        // Found through the original's words too: a superset.
                        t.exact = false;
                    }
                    t
                } else {
                    self.keyword(field, value)
                }
            }
            Query::Range {
                field,
                lower,
                upper,
            } => self.range(field, lower, upper),
        }
    }

    fn combine(&self, items: &[Query], occur: Occur) -> Translated {
        let mut exact = true;
        let mut clauses = Vec::with_capacity(items.len());
        for item in items {
            let t = self.translate(item);
            exact &= t.exact;
            clauses.push((occur, t.query));
        }
        Translated {
            query: Box::new(BooleanQuery::new(clauses)),
            exact,
        }
    }

    fn name_term(&self, name: &str) -> Box<dyn TQuery> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.names, name),
            IndexRecordOption::Basic,
        ))
    }

    /// A word, pattern or phrase on a text field. `message` is also looked up among the original's words, where
    /// the index keeps the words of a message that is a run of them (`schema.rs`).
    fn text(&self, field: &str, value: &Value) -> Translated {
        let mut t = self.text_in(field, value);
        if field == "message" {
            let original = self.text_in("event.original", value);
            t = Translated {
                query: any(vec![t.query, original.query]),
                exact: t.exact && original.exact,
            };
        }
        t
    }

    fn text_in(&self, field: &str, value: &Value) -> Translated {
        let tx = self.fields.tx;
        match value {
            Value::Word(w) | Value::Phrase(w) => {
                let parts: Vec<String> = words(w).collect();
                let exact = parts.iter().all(|p| p.len() <= MAX_WORD);
                let terms: Vec<Term> = parts
                    .iter()
                    .map(|p| Term::from_field_text(tx, &text_term(field, p)))
                    .collect();
                let query: Box<dyn TQuery> = match terms.len() {
                    0 => Box::new(EmptyQuery),
                    1 => Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::Basic)),
                    _ => Box::new(PhraseQuery::new(terms)),
                };
                Translated { query, exact }
            }
            Value::Pattern(parts) => {
                let lowered = lowered(parts);
                let pattern = format!(
                    "{}{}",
                    regex_literal(&format!("{field}{SEP}")),
                    glob_regex(&lowered)
                );
                match RegexQuery::from_pattern(&pattern, tx) {
                    Ok(q) => Translated {
                        query: Box::new(q),
                        // A cut word can match a pattern its whole form does not, never the reverse.
                        exact: !has_literal_longer_than(parts, MAX_WORD),
                    },
                    // Cannot happen for an escaped pattern; if it did, read everything and evaluate.
                    Err(_) => Translated::all(false),
                }
            }
        }
    }

    /// A whole value on a keyword field: its lowercased text, and as a number or an address when it reads as one.
    fn keyword(&self, field: &str, value: &Value) -> Translated {
        if matches!(field, "@timestamp" | "event.ingested" | "event.id") {
            // Whole values of these typed fields are not terms: evaluated on each event.
            return Translated::all(false);
        }
        match value {
            Value::Word(w) | Value::Phrase(w) => {
                let mut parts: Vec<Box<dyn TQuery>> = Vec::new();
                let mut exact = true;
                if w.len() + field.len() < MAX_TERM {
                    parts.push(Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.kw, &keyword_term(field, w)),
                        IndexRecordOption::Basic,
                    )));
                } else {
                    parts.push(self.name_term(&format!("{field}{LONG}")));
                }
                if let Ok(net) = w.parse::<ipnet::IpNet>() {
                    parts.push(self.ip_range(field, net.network(), net.broadcast()));
                }
                if parse_number(w).is_some() && is_time_field(field) {
                    // Time fields index instants, not numbers: a numeric value there is found by evaluation.
                    parts.push(self.name_term(field));
                    exact = false;
                } else if let Some(n) = parse_number(w) {
                    // Equal as numbers: a canonical integer's term, or another spelling's (one byte longer).
                    let term = number_term(field, n);
                    let mut other = term.clone();
                    other.push(NOT_CANONICAL);
                    for bytes in [term, other] {
                        parts.push(Box::new(TermQuery::new(
                            Term::from_field_bytes(self.fields.nv, &bytes),
                            IndexRecordOption::Basic,
                        )));
                    }
                }
                Translated {
                    query: any(parts),
                    exact,
                }
            }
            Value::Pattern(parts) => {
                let lowered = lowered(parts);
                let pattern = format!(
                    "{}{}",
                    regex_literal(&format!("{field}{SEP}")),
                    glob_regex(&lowered)
                );
                let Ok(regex) = RegexQuery::from_pattern(&pattern, self.fields.kw) else {
                    return Translated::all(false);
                };
                let mut parts: Vec<Box<dyn TQuery>> = vec![Box::new(regex)];
                let mut exact = true;
                if !is_time_field(field) {
                    // Canonical integers have no `kw` term: their texts are read back from the `nv` terms.
                    match self.integers_matching(field, &lowered) {
                        Some(terms) if terms.is_empty() => {}
                        Some(terms) => parts.push(Box::new(TermSetQuery::new(terms))),
                        None => {
                            parts.push(prefixed_range(
                                self.fields.nv,
                                field,
                                Edge::Unbounded,
                                Edge::Unbounded,
                            ));
                            exact = false;
                        }
                    }
                }
                let long = format!("{field}{LONG}");
                let has_long = self
                    .searcher
                    .doc_freq(&Term::from_field_text(self.fields.names, &long))
                    .is_ok_and(|n| n > 0);
                if has_long {
                    // Values too long to be terms are candidates for every pattern.
                    parts.push(self.name_term(&long));
                    exact = false;
                }
                Translated {
                    query: any(parts),
                    exact,
                }
            }
        }
    }

    fn range(&self, field: &str, lower: &Bound, upper: &Bound) -> Translated {
        let ends = [lower, upper];
        let given: Vec<&str> = ends
            .iter()
            .filter_map(|b| match b {
                Bound::Inclusive(v) | Bound::Exclusive(v) => Some(v.as_str()),
                Bound::Unbounded => None,
            })
            .collect();
        if matches!(
            field,
            "event.id" | "event.ingested" | "event.original" | "organization.id" | "kuzet.source"
        ) {
            // Typed fields without number or address terms: evaluated on each event.
            return Translated::all(false);
        }
        if given.is_empty() {
            return self.translate(&Query::Exists {
                field: field.to_string(),
            });
        }
        if field == kuzet_model::fields::TIMESTAMP || is_time_field(field) {
            let Some(lo) = time_edge(lower) else {
                return Translated::none();
            };
            let Some(hi) = time_edge(upper) else {
                return Translated::none();
            };
            // Microseconds, rounded down: exact when the ends fall on whole microseconds.
            let exact = [lower, upper].iter().all(|b| match b {
                Bound::Inclusive(v) | Bound::Exclusive(v) => {
                    parse_instant(v).is_some_and(|t| t.subsec_nanosecond() % 1000 == 0)
                }
                Bound::Unbounded => true,
            });
            // An excluded end between two microseconds is included, rounded down: still a superset.
            let map = |e: Edge<jiff::Timestamp>| match e {
                Edge::Unbounded => Edge::Unbounded,
                Edge::Included(t) => Edge::Included(micros(t)),
                Edge::Excluded(t) if t.subsec_nanosecond() % 1000 == 0 => Edge::Excluded(micros(t)),
                Edge::Excluded(t) => Edge::Included(micros(t)),
            };
            let (lo, hi) = (map(lo), map(hi));
            if field == kuzet_model::fields::TIMESTAMP {
                return Translated {
                    query: ts_range(self.fields, lo, hi),
                    exact,
                };
            }
            return Translated {
                query: self.number_range(
                    field,
                    map_edge(lo, |m| m as f64),
                    map_edge(hi, |m| m as f64),
                ),
                exact,
            };
        }
        if given.iter().all(|v| v.parse::<IpAddr>().is_ok()) {
            let edge = |b: &Bound| match b {
                Bound::Unbounded => Edge::Unbounded,
                Bound::Inclusive(v) => v.parse::<IpAddr>().map_or(Edge::Unbounded, Edge::Included),
                Bound::Exclusive(v) => v.parse::<IpAddr>().map_or(Edge::Unbounded, Edge::Excluded),
            };
            return Translated::exact(self.ip_edges(field, edge(lower), edge(upper)));
        }
        if given.iter().all(|v| parse_number(v).is_some()) {
            let edge = |b: &Bound| match b {
                Bound::Unbounded => Edge::Unbounded,
                Bound::Inclusive(v) => parse_number(v).map_or(Edge::Unbounded, Edge::Included),
                Bound::Exclusive(v) => parse_number(v).map_or(Edge::Unbounded, Edge::Excluded),
            };
            return Translated::exact(self.number_range(field, edge(lower), edge(upper)));
        }
        // Text order is case-sensitive and the index keeps lowercased values: every event holding the field
        // is a candidate.
        let mut t = self.translate(&Query::Exists {
            field: field.to_string(),
        });
        t.exact = false;
        t
    }

    /// The eight-byte `nv` terms of `field` in this partition whose canonical integer's text matches the
    /// (lowercased) glob; `None` when there are more than [`MAX_ENUMERATED`] (then every number is a candidate).
    fn integers_matching(&self, field: &str, glob: &[Glob]) -> Option<Vec<Term>> {
        let prefix = field_prefix(field);
        let end = prefix_end(&prefix);
        let mut out = Vec::new();
        let mut seen = 0usize;
        for segment in self.searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.nv).ok()?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(&prefix)
                .lt(&end)
                .into_stream()
                .ok()?;
            while stream.advance() {
                seen += 1;
                if seen > MAX_ENUMERATED {
                    return None;
                }
                let Ok(sortable) = <[u8; 8]>::try_from(&stream.key()[prefix.len()..]) else {
                    continue; // not a canonical integer
                };
                if canonical_text(sortable).is_some_and(|text| kuzet_query::glob(glob, &text)) {
                    out.push(Term::from_field_bytes(self.fields.nv, stream.key()));
                }
            }
        }
        Some(out)
    }

    /// Numbers between two ends: a canonical integer's term is eight bytes after the prefix, another spelling's
    /// one byte more (`NOT_CANONICAL`, the smallest byte), so an included upper end and an excluded lower end
    /// take that byte too.
    fn number_range(&self, field: &str, lo: Edge<f64>, hi: Edge<f64>) -> Box<dyn TQuery> {
        let term = |n: f64| number_term(field, n);
        let longer = |n: f64| {
            let mut t = number_term(field, n);
            t.push(NOT_CANONICAL);
            t
        };
        let lo = match lo {
            Edge::Excluded(n) => Edge::Excluded(longer(n)),
            other => map_edge(other, term),
        };
        let hi = match hi {
            Edge::Included(n) => Edge::Included(longer(n)),
            other => map_edge(other, term),
        };
        prefixed_range(self.fields.nv, field, lo, hi)
    }

    fn ip_range(&self, field: &str, first: IpAddr, last: IpAddr) -> Box<dyn TQuery> {
        self.ip_edges(field, Edge::Included(first), Edge::Included(last))
    }

    fn ip_edges(&self, field: &str, lo: Edge<IpAddr>, hi: Edge<IpAddr>) -> Box<dyn TQuery> {
        let term = |ip: IpAddr| ip_term(field, ip);
        prefixed_range(
            self.fields.ip,
            field,
            map_edge(lo, term),
            map_edge(hi, term),
        )
    }
}

/// A range of `<field>␟…` byte terms of `index_field`; an open end stops at the field's first or last term, never
/// reaching another field's.
fn prefixed_range(
    index_field: tantivy::schema::Field,
    field: &str,
    lo: Edge<Vec<u8>>,
    hi: Edge<Vec<u8>>,
) -> Box<dyn TQuery> {
    let prefix = field_prefix(field);
    let term = |bytes: Vec<u8>| Term::from_field_bytes(index_field, &bytes);
    let lo = match lo {
        Edge::Unbounded => Edge::Included(term(prefix.clone())),
        other => map_edge(other, term),
    };
    let hi = match hi {
        Edge::Unbounded => Edge::Excluded(term(prefix_end(&prefix))),
        other => map_edge(other, term),
    };
    Box::new(RangeQuery::new(lo, hi))
}

/// The `@timestamp` range in microseconds.
pub(crate) fn ts_range(fields: &Fields, lo: Edge<i64>, hi: Edge<i64>) -> Box<dyn TQuery> {
    if matches!((&lo, &hi), (Edge::Unbounded, Edge::Unbounded)) {
        return Box::new(AllQuery);
    }
    let term = |m: i64| Term::from_field_i64(fields.ts, m);
    Box::new(RangeQuery::new(map_edge(lo, term), map_edge(hi, term)))
}

fn map_edge<T, U>(edge: Edge<T>, f: impl FnOnce(T) -> U) -> Edge<U> {
    match edge {
        Edge::Unbounded => Edge::Unbounded,
        Edge::Included(t) => Edge::Included(f(t)),
        Edge::Excluded(t) => Edge::Excluded(f(t)),
    }
}

/// An end of a time range, or `None` when it does not read as an instant (then nothing matches).
fn time_edge(bound: &Bound) -> Option<Edge<jiff::Timestamp>> {
    Some(match bound {
        Bound::Unbounded => Edge::Unbounded,
        Bound::Inclusive(v) => Edge::Included(parse_instant(v)?),
        Bound::Exclusive(v) => Edge::Excluded(parse_instant(v)?),
    })
}

/// The first byte string after every string that starts with `prefix` (whose last byte is the separator).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

fn any(mut parts: Vec<Box<dyn TQuery>>) -> Box<dyn TQuery> {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    Box::new(BooleanQuery::new(
        parts.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn lowered(parts: &[Glob]) -> Vec<Glob> {
    parts
        .iter()
        .map(|p| match p {
            Glob::Literal(s) => Glob::Literal(s.to_lowercase()),
            other => other.clone(),
        })
        .collect()
}

fn has_literal_longer_than(parts: &[Glob], max: usize) -> bool {
    parts
        .iter()
        .map(|p| match p {
            Glob::Literal(s) => s.len(),
            _ => 0,
        })
        .sum::<usize>()
        > max
}

/// Every character that is not an ASCII letter or digit as `\x{…}`: a literal in any regex dialect.
pub(crate) fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        }
    }
    out
}

/// A glob (`*` any run, `?` one character) as a whole-term regex (tantivy anchors its regexes).
pub(crate) fn glob_regex(parts: &[Glob]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Glob::Literal(s) => out.push_str(&regex_literal(s)),
            Glob::Any => out.push_str("(?s:.*)"),
            Glob::One => out.push_str("(?s:.)"),
        }
    }
    out
}
