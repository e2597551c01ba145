//! The partition schema (`docs/formats/index.md`) and how an event becomes one document.
//!
//! Every value is indexed under its field name, so one small fixed schema holds every ECS field and the long tail
//! (`winlog.event_data.*`, JSON fields) alike:
//! - `kw`: each value of a keyword field, lowercased, as the term `<field>\x1f<value>`;
//! - `tx`: each word of a text field (`kuzet_query::TEXT_FIELDS`) as `<field>\x1f<word>`, with positions, so
//!   phrases match words in a row; the elements of an array are one position apart more, so no phrase spans two;
//! - `nv`: each value that reads as a number (or, on time fields, as an instant in microseconds), as
//!   `<field>\x1f` and eight bytes that sort as the numbers do — ranges are term ranges. A value that is a
//!   *canonical integer* (`-?(0|[1-9][0-9]{0,14})`, the text its number prints as) is only this term, not a `kw`
//!   term too: identifiers, ports, sizes and codes are most of a dictionary's distinct terms. Any other number
//!   keeps its `kw` term and its `nv` term ends with one more byte, `0`, so the eight-byte terms are exactly the
//!   canonical integers (what a pattern on their text enumerates; `translate.rs`);
//! - `ip`: each value that reads as an address, as `<field>\x1f`, `4` or `6`, and its bytes — CIDRs and address
//!   ranges are term ranges in `IpAddr` order;
//! - `fn`: the name of each field the event holds (for `exists`), and `<field>\x1elong` when one of its values is
//!   longer than a term may be;
//! - `ts` (`@timestamp` in microseconds) and `pos` (the event's position in its tenant's sealed log), both fast
//!   fields only: what a hit is — the event itself is read from the archive. Time ranges read the `ts` column (a
//!   term per event would be most of the dictionary).

use std::net::IpAddr;

use kuzet_model::{Event, fields};
use kuzet_query::{TEXT_FIELDS, field_values, words};
use tantivy::TantivyDocument;
use tantivy::schema::{
    BytesOptions, FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The schema version a partition's `kuzet-index.json` names; a partition of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 6;
/// Separates a field name from its value in a term.
pub(crate) const SEP: char = '\u{1f}';
/// Marks, in `fn`, a field with a value too long to be a term.
pub(crate) const LONG: &str = "\u{1e}long";
/// The longest value indexed as a term (bytes); a longer one is marked instead.
pub const MAX_TERM: usize = 16 * 1024;
/// The longest word indexed (bytes); a longer one is cut to this length.
pub const MAX_WORD: usize = 256;

/// Fields the event holds in typed form (`Event`), reachable by their ECS names.
pub(crate) const HOT_FIELDS: &[&str] = &[
    fields::TIMESTAMP,
    "event.ingested",
    "event.id",
    "event.original",
    "organization.id",
    "kuzet.source",
];

#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub schema: Schema,
    pub kw: Field,
    pub tx: Field,
    pub nv: Field,
    pub ip: Field,
    pub names: Field,
    pub ts: Field,
    pub pos: Field,
}

impl Fields {
    pub fn new() -> Self {
        let mut b = Schema::builder();
        // No scoring: no field norms (a byte per document and field otherwise).
        let terms = |option| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_fieldnorms(false)
                    .set_index_option(option),
            )
        };
        let kw = b.add_text_field("kw", terms(IndexRecordOption::Basic));
        let tx = b.add_text_field(
            "tx",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(FIELD_WORDS)
                    .set_fieldnorms(false)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        let bytes = BytesOptions::default().set_indexed();
        let nv = b.add_bytes_field("nv", bytes.clone());
        let ip = b.add_bytes_field("ip", bytes);
        let names = b.add_text_field("fn", terms(IndexRecordOption::Basic));
        let ts = b.add_i64_field("ts", FAST);
        let pos = b.add_u64_field("pos", FAST);
        Self {
            schema: b.build(),
            kw,
            tx,
            nv,
            ip,
            names,
            ts,
            pos,
        }
    }

    /// The document of `event` at `position`.
    pub fn document(&self, position: u64, event: &Event) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_i64(self.ts, micros(event.timestamp));
        doc.add_u64(self.pos, position);
        doc.add_text(
            self.kw,
            keyword_term("organization.id", event.tenant.as_str()),
        );
        doc.add_text(self.kw, keyword_term("kuzet.source", event.source.as_str()));
        let original = event.original_lossy();
        let original_words: Vec<String> = words(&original).collect();
        doc.add_text(self.tx, format!("event.original{SEP}{original}"));
        for (name, _) in &event.fields {
            if HOT_FIELDS.contains(&name.as_str()) {
                continue;
            }
            let values = field_values(event, name);
            if values.is_empty() {
                continue;
            }
            if TEXT_FIELDS.contains(&name.as_str()) {
                // A text may hold no word: its presence is a term of its own. A keyword field's presence is
                // any of its `kw` terms (or the long-value mark).
                doc.add_text(self.names, name);
                for value in &values {
                    // A message that is a run of the original's words is found through the original's words
                    // (`translate.rs` asks both): most messages are, and this halves the text the index holds.
                    if name == "message"
                        && contains_run(&original_words, &words(value).collect::<Vec<_>>())
                    {
                        continue;
                    }
                    doc.add_text(self.tx, format!("{name}{SEP}{value}"));
                }
                continue;
            }
            let time = is_time_field(name);
            for value in &values {
                let canonical = if time { None } else { canonical_integer(value) };
                if let Some(n) = canonical {
                    doc.add_bytes(self.nv, &number_term(name, n));
                    continue;
                }
                if value.len() > MAX_TERM {
                    doc.add_text(self.names, format!("{name}{LONG}"));
                } else {
                    doc.add_text(self.kw, keyword_term(name, value));
                }
                if time {
                    if let Some(t) = parse_instant(value) {
                        doc.add_bytes(self.nv, &number_term(name, micros(t) as f64));
                    }
                } else if let Some(n) = parse_number(value) {
                    let mut term = number_term(name, n);
                    term.push(NOT_CANONICAL);
                    doc.add_bytes(self.nv, &term);
                }
                if let Ok(ip) = value.parse::<IpAddr>() {
                    doc.add_bytes(self.ip, &ip_term(name, ip));
                }
            }
        }
        doc
    }
}

/// The byte after a number's eight in the `nv` term of a value that is not a canonical integer.
pub(crate) const NOT_CANONICAL: u8 = 0;

/// The number of a value that is a canonical integer: `-?(0|[1-9][0-9]{0,14})` (not `-0`), the text the number
/// prints as. At most 15 digits, so every such integer is exact in an `f64`.
pub(crate) fn canonical_integer(value: &str) -> Option<f64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let valid = !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && value != "-0";
    valid.then(|| value.parse::<f64>().ok()).flatten()
}

/// The text of the canonical integer an eight-byte `nv` number (the bytes after `<field>\x1f`) stands for.
pub(crate) fn canonical_text(sortable: [u8; 8]) -> Option<String> {
    let sortable = u64::from_be_bytes(sortable);
    let bits = if sortable >> 63 == 1 {
        sortable & !(1 << 63)
    } else {
        !sortable
    };
    let n = f64::from_bits(bits);
    (n.fract() == 0.0 && n.abs() < 1e15).then(|| format!("{}", n as i64))
}

/// The tokenizer of `tx`: a value is `<field>\x1f<text>`, its tokens `<field>\x1f<word>` for each word of the
/// text as `kuzet_query::words` cuts it (runs of letters and digits, lowercased), cut at [`MAX_WORD`] bytes, at
/// consecutive positions. tantivy puts the values of a document one position apart more, so no phrase spans two.
pub(crate) const FIELD_WORDS: &str = "kuzet-field-words";

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FieldWords;

pub(crate) struct FieldWordStream<'a> {
    prefix: &'a str,
    rest: &'a str,
    /// Byte offset of `rest` in the value.
    offset: usize,
    token: Token,
}

impl Tokenizer for FieldWords {
    type TokenStream<'a> = FieldWordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> FieldWordStream<'a> {
        let split = text.find(SEP).map_or(0, |i| i + SEP.len_utf8());
        FieldWordStream {
            prefix: &text[..split],
            rest: &text[split..],
            offset: split,
            token: Token {
                position: usize::MAX,
                ..Token::default()
            },
        }
    }
}

impl TokenStream for FieldWordStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(start) = self.rest.find(char::is_alphanumeric) else {
            self.rest = "";
            return false;
        };
        let from = &self.rest[start..];
        let len = from
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(from.len());
        let word = &from[..len];
        self.token.text.clear();
        self.token.text.push_str(self.prefix);
        // `str::to_lowercase`, as the query side lowercases (final sigma and all).
        self.token
            .text
            .push_str(truncate(&word.to_lowercase(), MAX_WORD));
        self.token.offset_from = self.offset + start;
        self.token.offset_to = self.offset + start + len;
        self.token.position = self.token.position.wrapping_add(1);
        self.token.position_length = 1;
        self.offset += start + len;
        self.rest = &from[len..];
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Whether `needle` occurs as consecutive words of `haystack`.
pub(crate) fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// `@timestamp`, `*.ingested` and `*.created` order as instants (the query language's rule).
pub(crate) fn is_time_field(field: &str) -> bool {
    field == fields::TIMESTAMP || field.ends_with(".ingested") || field.ends_with(".created")
}

/// An instant as the query language reads one: an RFC 3339 time, or a date (midnight UTC).
pub(crate) fn parse_instant(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

/// A number as the query language reads one (`f64`), never NaN.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| !n.is_nan())
}

/// Microseconds since the epoch, rounded down.
pub(crate) fn micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

/// Cuts `text` to at most `max` bytes at a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub(crate) fn keyword_term(field: &str, value: &str) -> String {
    format!("{field}{SEP}{}", value.to_lowercase())
}

pub(crate) fn text_term(field: &str, word: &str) -> String {
    format!("{field}{SEP}{}", truncate(word, MAX_WORD))
}

/// `<field>\x1f` and the number's bits, ordered as the numbers are (`-0` is `0`).
pub(crate) fn number_term(field: &str, n: f64) -> Vec<u8> {
    let n = if n == 0.0 { 0.0 } else { n };
    let bits = n.to_bits();
    let sortable = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    let mut out = field_prefix(field);
    out.extend_from_slice(&sortable.to_be_bytes());
    out
}

/// `<field>\x1f`, `4` or `6`, and the address's bytes: byte order is `IpAddr` order.
pub(crate) fn ip_term(field: &str, ip: IpAddr) -> Vec<u8> {
    let mut out = field_prefix(field);
    match ip {
        IpAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    }
    out
}

pub(crate) fn field_prefix(field: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len() + 17);
    out.extend_from_slice(field.as_bytes());
    out.push(SEP as u8);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_terms_sort_as_numbers() {
        let mut numbers = vec![
            -1e300,
            -2.5,
            -1.0,
            -0.0,
            0.0,
            1e-9,
            1.0,
            2.0,
            80.0,
            1e300,
            f64::INFINITY,
        ];
        numbers.push(f64::NEG_INFINITY);
        let mut by_term = numbers.clone();
        by_term.sort_by_key(|n| number_term("f", *n));
        numbers.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        assert_eq!(by_term, numbers);
    }

    proptest::proptest! {
        #[test]
        fn canonical_integers_are_the_texts_their_numbers_print_as(n in -999_999_999_999_999i64..=999_999_999_999_999, junk in "[-+0-9.e ]{0,6}") {
            let text = n.to_string();
            let number = canonical_integer(&text).unwrap();
            let term = number_term("f", number);
            let bytes: [u8; 8] = term[2..].try_into().unwrap();
            proptest::prop_assert_eq!(canonical_text(bytes), Some(text.clone()));
            // Any other spelling of a number is not canonical.
            for other in [format!("0{text}"), format!("+{text}"), format!("{text}.0"), format!("{text}{junk}")] {
                if other != text {
                    proptest::prop_assert!(canonical_integer(&other).is_none_or(|m| m.to_string() == other), "{other}");
                }
            }
        }
    }

    #[test]
    fn non_integers_and_long_integers_are_not_canonical() {
        for text in [
            "-0",
            "1.5",
            "1e3",
            "0x10",
            "1234567890123456",
            " 1",
            "",
            "-",
            "00",
        ] {
            assert_eq!(canonical_integer(text), None, "{text}");
        }
        assert_eq!(canonical_integer("0"), Some(0.0));
        assert_eq!(canonical_integer("-42"), Some(-42.0));
    }

    #[test]
    fn address_terms_sort_as_addresses() {
        let mut ips: Vec<IpAddr> = [
            "10.0.0.2",
            "9.255.255.255",
            "::1",
            "10.0.0.10",
            "2001:db8::1",
            "255.0.0.0",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let mut by_term = ips.clone();
        by_term.sort_by_key(|ip| ip_term("f", *ip));
        ips.sort();
        assert_eq!(by_term, ips);
    }

    #[test]
    fn field_words_are_the_query_languages_words_under_the_field() {
        let text = "message\u{1f}Failed PASSWORD for Σίσυφος, from 10.0.0.1";
        let mut tokenizer = FieldWords;
        let mut stream = tokenizer.token_stream(text);
        let mut got = Vec::new();
        while stream.advance() {
            got.push((stream.token().text.clone(), stream.token().position));
        }
        let expected: Vec<(String, usize)> = words("Failed PASSWORD for Σίσυφος, from 10.0.0.1")
            .enumerate()
            .map(|(i, w)| (text_term("message", &w), i))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("жжж", 5), "жж");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
