//! Property: the prefilter never changes a result. Random rules (every text modifier, wildcards, negations,
//! quantifiers, numbers compared for equality or order) over random events (texts; numbers as integers, floats,
//! decimal and hexadecimal strings and arrays) give the same hits with the prefilter as with every routed rule
//! evaluated.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_detect::{Engine, Pipeline, RuleSet, sample_event};
use proptest::prelude::*;

const FIELDS: [&str; 3] = ["A", "B", "C"];
const MODIFIERS: [&str; 11] = [
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|contains|all",
    "|cased|contains",
    "|windash|contains",
    "|base64offset|contains",
    "|re",
    "|re|i",
    "|neq",
];
const CONDITIONS: [&str; 9] = [
    "sel1",
    "sel1 and sel2",
    "sel1 or not sel2",
    "1 of sel*",
    "not sel1 and sel2",
    "all of sel*",
    "(sel1 or sel2) and sel3",
    "sel1 and not (sel2 and sel3)",
    "sel3 or (sel1 and sel2)",
];

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAkK\u{212A}sſ/ ]{0,6}").unwrap()
}

fn pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAkKsſ/ *?]{1,4}").unwrap()
}

/// A number field `N` a rule compares with numbers.
const NUMBER_MODIFIERS: [&str; 4] = ["", "|neq", "|gt", "|lte"];

fn number_selection() -> impl Strategy<Value = String> {
    (
        0..NUMBER_MODIFIERS.len(),
        prop::collection::vec(0u8..20, 1..3),
    )
        .prop_map(|(m, values)| {
            let values: Vec<String> = values.iter().map(u8::to_string).collect();
            format!("{{ 'N{}': [{}] }}", NUMBER_MODIFIERS[m], values.join(", "))
        })
}

fn number_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    (0u8..20, 0..5).prop_map(|(n, form)| match form {
        0 => json!(n),
        1 => json!(format!("0x{n:x}")),
        2 => json!(n.to_string()),
        3 => json!(f64::from(n)),
        _ => json!([n.to_string(), n.saturating_add(1)]),
    })
}

fn selection() -> impl Strategy<Value = String> {
    prop_oneof![3 => text_selection(), 1 => number_selection()]
}

fn text_selection() -> impl Strategy<Value = String> {
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
                        "|re" | "|re|i" => v.replace(['*', '?'], "."),
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
    (selection(), selection(), selection(), 0..CONDITIONS.len()).prop_map(|(s1, s2, s3, c)| {
        format!(
            "title: r\nlogsource: {{}}\ndetection:\n  sel1: {s1}\n  sel2: {s2}\n  sel3: {s3}\n  condition: {}\n",
            CONDITIONS[c]
        )
    })
}

fn event() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::collection::vec(prop::option::of(text()), FIELDS.len()),
        prop::option::of(number_value()),
    )
        .prop_map(|(values, number)| {
            let mut map = serde_json::Map::new();
            for (name, value) in FIELDS.iter().zip(values) {
                if let Some(value) = value {
                    map.insert((*name).to_owned(), serde_json::Value::String(value));
                }
            }
            if let Some(number) = number {
                map.insert("N".to_owned(), number);
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

/// A number compared for equality is a needle: found as an integer, a float, a decimal or hexadecimal string or
/// in an array, and only there.
#[test]
fn numbers_are_needles() {
    let mut set = RuleSet::new();
    set.add_yaml("r.yml", "title: r\nlogsource: {}\ndetection:\n  sel1: { 'N': [16] }\n  sel2: { 'A|contains': ['ab'] }\n  condition: sel1 and sel2\n");
    let engine = Engine::build(&set, &Pipeline::builtin());
    assert_eq!(engine.stats().always, 0, "the rule has needles");
    let at = "2026-12-06T00:00:00Z".parse().unwrap();
    let mut scratch = engine.scratch();
    for (number, hit) in [
        (serde_json::json!(16), true),
        (serde_json::json!(16.0), true),
        (serde_json::json!("0x10"), true),
        (serde_json::json!(" 16"), true),
        (serde_json::json!(["1", 16]), true),
        (serde_json::json!(160), false),
        (serde_json::json!("116"), false),
    ] {
        let event = sample_event(&serde_json::json!({"A": "xaby", "N": number}), at);
        let expected: &[u32] = if hit { &[0] } else { &[] };
        assert_eq!(
            engine.matches(&event, &mut scratch),
            expected,
            "N = {number}"
        );
        assert_eq!(
            engine.matches_exhaustive(&event, &mut scratch),
            expected,
            "N = {number}"
        );
    }
}

/// A rule requiring more values than the prefilter keeps track of (eight groups): the ones it does not look for
/// are still evaluated, so missing any one of them still means no hit.
#[test]
fn a_rule_with_more_requirements_than_the_prefilter_tracks() {
    let names: Vec<String> = (0..12).map(|i| format!("F{i}")).collect();
    let selection: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("    {name}|endswith: 'value{i}'"))
        .collect();
    let rule = format!(
        "title: many\nlogsource: {{}}\ndetection:\n  sel:\n{}\n  condition: sel\n",
        selection.join("\n")
    );
    let mut set = RuleSet::new();
    set.add_yaml("many.yml", &rule);
    let engine = Engine::build(&set, &Pipeline::builtin());
    assert_eq!(engine.rules().len(), 1, "{:?}", engine.problems());
    let at = "2026-12-06T00:00:00Z".parse().unwrap();
    let all: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), format!("a value{i}").into()))
        .collect();
    let mut scratch = engine.scratch();
    let event = sample_event(&serde_json::Value::Object(all.clone()), at);
    assert_eq!(engine.matches(&event, &mut scratch), [0]);
    for name in &names {
        let mut missing = all.clone();
        missing.insert(name.clone(), "other".into());
        let event = sample_event(&serde_json::Value::Object(missing), at);
        assert!(engine.matches(&event, &mut scratch).is_empty(), "{name}");
        assert!(
            engine.matches_exhaustive(&event, &mut scratch).is_empty(),
            "{name}"
        );
    }
}
