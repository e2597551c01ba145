//! Property: the prefilter never changes a result. Random rules (every text modifier, wildcards, negations,
//! quantifiers) over random events give the same hits with the prefilter as with every routed rule evaluated.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_detect::{Engine, Pipeline, RuleSet, sample_event};
use proptest::prelude::*;

const FIELDS: [&str; 3] = ["A", "B", "C"];
const MODIFIERS: [&str; 10] = [
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|contains|all",
    "|cased|contains",
    "|windash|contains",
    "|base64offset|contains",
    "|re",
    "|neq",
];
const CONDITIONS: [&str; 5] = [
    "sel1",
    "sel1 and sel2",
    "sel1 or not sel2",
    "1 of sel*",
    "not sel1 and sel2",
];

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAB/ -]{0,6}").unwrap()
}

fn pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAB/ *?-]{1,5}").unwrap()
}

fn selection() -> impl Strategy<Value = String> {
    (
        0..FIELDS.len(),
        0..MODIFIERS.len(),
        prop::collection::vec(pattern(), 1..3),
    )
        .prop_map(|(f, m, values)| {
            let values: Vec<String> = values
                .iter()
                .map(|v| {
                    // A regex of the pattern's letters only (wildcards have no regex meaning here).
                    // and base64 of a wildcard means nothing: both get the pattern's letters.
                    let v = match MODIFIERS[m] {
                        "|re" => v.replace(['*', '?'], "."),
                        "|base64offset|contains" => format!("x{}", v.replace(['*', '?'], "")),
                        _ => v.clone(),
                    };
                    format!("'{}'", v.replace('\'', "''"))
                })
                .collect();
            format!(
                "{{ '{}{}': [{}] }}",
                FIELDS[f],
                MODIFIERS[m],
                values.join(", ")
            )
        })
}

fn rule() -> impl Strategy<Value = String> {
    (selection(), selection(), 0..CONDITIONS.len()).prop_map(|(s1, s2, c)| {
        format!(
            "title: r\nlogsource: {{}}\ndetection:\n  sel1: {s1}\n  sel2: {s2}\n  condition: {}\n",
            CONDITIONS[c]
        )
    })
}

fn event() -> impl Strategy<Value = serde_json::Value> {
    prop::collection::vec(prop::option::of(text()), FIELDS.len()).prop_map(|values| {
        let mut map = serde_json::Map::new();
        for (name, value) in FIELDS.iter().zip(values) {
            if let Some(value) = value {
                map.insert((*name).to_owned(), serde_json::Value::String(value));
            }
        }
        serde_json::Value::Object(map)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn the_prefilter_never_changes_a_result(
        rules in prop::collection::vec(rule(), 1..12),
        events in prop::collection::vec(event(), 1..16),
    ) {
        let mut set = RuleSet::new();
        for (i, rule) in rules.iter().enumerate() {
            set.add_yaml(&format!("r{i}.yml"), rule);
        }
        let engine = Engine::build(&set, &Pipeline::builtin());
        prop_assert!(!engine.rules().is_empty(), "{:?}", engine.problems());
        let mut fast = engine.scratch();
        let mut exhaustive = engine.scratch();
        let at = "2026-12-06T00:00:00Z".parse().unwrap();
        for document in &events {
            let event = sample_event(document, at);
            let a = engine.matches(&event, &mut fast).to_vec();
            let b = engine.matches_exhaustive(&event, &mut exhaustive).to_vec();
            prop_assert_eq!(a, b, "event {}", document);
        }
    }
}

/// The generators above do produce hits, with and without needles: the property is not vacuous.
#[test]
fn generated_shapes_hit() {
    let mut set = RuleSet::new();
    set.add_yaml("r.yml", "title: r\nlogsource: {}\ndetection:\n  sel1: { 'A|windash|contains': ['-b'] }\n  sel2: { 'B|neq': ['x'] }\n  condition: 1 of sel*\n");
    let engine = Engine::build(&set, &Pipeline::builtin());
    let at = "2026-12-06T00:00:00Z".parse().unwrap();
    let mut scratch = engine.scratch();
    for document in [
        serde_json::json!({"A": "a /B"}),
        serde_json::json!({"B": "y"}),
    ] {
        assert_eq!(
            engine.matches(&sample_event(&document, at), &mut scratch),
            [0]
        );
        assert_eq!(
            engine.matches_exhaustive(&sample_event(&document, at), &mut scratch),
            [0]
        );
    }
    assert!(
        engine
            .matches(
                &sample_event(&serde_json::json!({"A": "ab", "B": "x"}), at),
                &mut scratch
            )
            .is_empty()
    );
}
