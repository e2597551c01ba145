//! The reference semantics: what each kind of condition matches in an event, and properties of the parser.

// A failure is a broken expectation: panicking with the case is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_model::{Event, EventId, SourceId, TenantId};
use kuzet_query::{Bound, Glob, Query, Value, parse};
use proptest::prelude::*;

fn event() -> Event {
    let mut e = Event::new(
        EventId::from_u128(7),
        TenantId::new("akimat").unwrap(),
        SourceId::new("dc").unwrap(),
        "2026-12-01T10:00:00Z".parse().unwrap(),
        b"<38>Dec 1 15:00:00 dc-01 sshd[811]: Failed password for root from 198.51.100.7 port 50022 ssh2".to_vec(),
    );
    e.timestamp = "2026-12-01T09:59:58Z".parse().unwrap();
    e.fields.insert(
        "message",
        "Failed password for root from 198.51.100.7 port 50022 ssh2",
    );
    e.fields.insert("user.name", "Root");
    e.fields.insert("host.name", "dc-01");
    e.fields.insert("source.ip", "198.51.100.7");
    e.fields.insert("source.port", 50022i64);
    e.fields.insert("event.outcome", "failure");
    e.fields.insert("process.name", "sshd");
    e.fields.insert(
        "related.user",
        kuzet_model::Value::Array(vec!["root".into(), "admin".into()]),
    );
    e
}

fn hit(query: &str) -> bool {
    parse(query).unwrap().matches(&event())
}

#[test]
fn each_kind_of_condition_matches_as_documented() {
    let cases = [
        ("", true),
        ("*", true),
        ("user.name:root", true), // keyword values compare case-insensitively
        ("user.name:alice", false),
        ("user.name:ro*", true),
        ("user.name:r??t", true),
        ("user.name:r?t", false),
        ("related.user:admin", true), // any element of an array
        ("host.name:dc-01", true),
        ("host.name:dc", false), // a keyword matches whole
        ("failed", true),        // free text: a word of the message
        ("FAILED password", true),
        ("\"password for root\"", true),
        ("\"root for password\"", false),
        ("pass*", true),
        ("message:198.51.100.7", true), // a word with punctuation is a phrase of its parts
        ("source.ip:198.51.100.0/24", true),
        ("source.ip:10.0.0.0/8", false),
        // A range compares by what its ends are: numbers compare only numbers, addresses only addresses.
        ("host.name:[1 TO 9]", false),
        ("host.name:[a TO e]", true),
        ("process.name:[1 TO *]", false),
        ("source.port:[50000 TO 60000]", true),
        ("source.ip:[198.51.100.1 TO 198.51.100.9]", true),
        ("source.port:[198.51.100.1 TO *]", false),
        ("user.name:[R TO S]", true), // text order is byte order, case-sensitive
        ("user.name:[r TO s]", false),
        ("source.port:50022", true),
        ("source.port >= 50000", true),
        ("source.port:[1 TO 1024]", false),
        ("source.port:{50022 TO *]", false),
        ("source.port:[50022 TO *]", true),
        ("source.ip:[198.51.100.0 TO 198.51.100.255]", true),
        ("@timestamp >= 2026-12-01", true),
        (
            "@timestamp:[2026-12-01T09:00:00Z TO 2026-12-01T09:59:58Z}",
            false,
        ),
        (
            "@timestamp:[2026-12-01T09:00:00Z TO 2026-12-01T09:59:58Z]",
            true,
        ),
        ("process.command_line:*", false),
        ("_exists_:process.name", true),
        ("organization.id:akimat", true),
        ("event.original:sshd", true),
        ("user.name:(alice OR root)", true),
        ("user.name:(alice OR bob)", false),
        ("event.outcome:failure AND NOT user.name:root", false),
        ("-user.name:alice", true),
        ("user.name:alice OR host.name:dc-01", true),
    ];
    let failed: Vec<_> = cases
        .iter()
        .filter(|(q, want)| hit(q) != *want)
        .map(|(q, want)| format!("{q}: expected {want}"))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn errors_point_at_the_character() {
    let query = "user.name:alice AND (host.name:dc-01";
    let err = parse(query).unwrap_err();
    assert_eq!(
        err.to_string(),
        "query: at character 37: expected `)` to close the group opened at character 21, found the end of the query"
    );
    assert_eq!(err.pointer(query).lines().nth(1).unwrap().len(), 37);
}

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._/-]{1,8}".prop_filter("not an operator", |w| {
        !matches!(w.as_str(), "AND" | "OR" | "NOT" | "TO") && !w.starts_with('-')
    })
}

fn field() -> impl Strategy<Value = String> {
    "[a-z]{1,6}(\\.[a-z]{1,6}){0,2}"
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::Word),
        "[a-z ]{1,12}".prop_map(Value::Phrase),
        (word(), any::<bool>()).prop_map(|(w, one)| Value::Pattern(vec![
            Glob::Literal(w),
            if one { Glob::One } else { Glob::Any }
        ])),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    let leaf = prop_oneof![
        (prop::option::of(field()), value())
            .prop_map(|(field, value)| Query::Term { field, value }),
        field().prop_map(|field| Query::Exists { field }),
        (field(), word(), word()).prop_map(|(field, a, b)| Query::Range {
            field,
            lower: Bound::Inclusive(a),
            upper: Bound::Exclusive(b)
        }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Query::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Query::Or),
            inner.prop_map(|q| Query::Not(Box::new(q))),
        ]
    })
}

proptest! {
    #[test]
    fn a_query_reads_back_from_its_canonical_text(q in query()) {
        let text = q.to_string();
        prop_assert_eq!(parse(&text).map_err(|e| format!("{text}: {e}")), Ok(q));
    }

    #[test]
    fn no_text_panics_the_parser_and_errors_point_inside_it(text in "\\PC{0,64}") {
        if let Err(e) = parse(&text) {
            prop_assert!(e.at <= text.chars().count(), "{e}");
        }
    }
}
