//! Golden tests from `test_data/modifiers.yml`: every Sigma modifier and value rule, with the events each rule
//! must and must not match, written from the Sigma specification.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_detect::{Engine, Pipeline, RuleSet};

const MODIFIERS: [&str; 29] = [
    "contains",
    "startswith",
    "endswith",
    "all",
    "base64",
    "base64offset",
    "wide",
    "utf16le",
    "utf16be",
    "utf16",
    "windash",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "cased",
    "exists",
    "fieldref",
    "gt",
    "gte",
    "lt",
    "lte",
    "neq",
    "minute",
    "hour",
    "day",
    "week",
    "month",
];

#[test]
fn every_modifier_behaves_as_the_specification_says() {
    let text = include_str!("../test_data/modifiers.yml");
    for modifier in MODIFIERS.iter().chain(&["year"]) {
        assert!(
            text.contains(&format!("|{modifier}:")) || text.contains(&format!("|{modifier}|")),
            "no golden for `{modifier}`"
        );
    }
    let mut set = RuleSet::new();
    set.add_yaml("modifiers.yml", text);
    let engine = Engine::build(&set, &Pipeline::builtin());
    assert!(engine.problems().is_empty(), "{:?}", engine.problems());
    let outcomes = engine.test_samples("2026-12-06T00:00:00Z".parse().unwrap());
    assert!(outcomes.len() > 60, "{} samples", outcomes.len());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| {
            let rule = &engine.rules()[o.rule as usize];
            let list = if o.expected { "match" } else { "no_match" };
            format!("{} ({}): samples.{list}[{}]", rule.id, rule.title, o.index)
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn placeholders_and_bad_modifiers_are_reported_by_rule_with_the_reason() {
    let mut set = RuleSet::new();
    set.add_yaml(
        "bad.yml",
        "title: placeholder\nid: p1\nlogsource: {}\ndetection:\n  sel: { User|expand: '%admins%' }\n  condition: sel\n\
         ---\ntitle: regex\nid: r1\nlogsource: {}\ndetection:\n  sel: { A|re: '(unclosed' }\n  condition: sel\n\
         ---\ntitle: unknown logsource\nid: l1\nlogsource: { product: nosuch }\ndetection:\n  sel: { A: 1 }\n  condition: sel\n\
         ---\ntitle: fine\nid: ok\nlogsource: {}\ndetection:\n  sel: { A: 1 }\n  condition: sel\n",
    );
    let engine = Engine::build(&set, &Pipeline::builtin());
    assert_eq!(engine.rules().len(), 1);
    let problems: Vec<String> = engine.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "bad.yml: rule p1: compile: detection `sel`: `User`: placeholder `%admins%`"
        ),
        "{}",
        problems[0]
    );
    assert!(
        problems[1]
            .starts_with("bad.yml: rule r1: compile: detection `sel`: `A`: regex `(unclosed`"),
        "{}",
        problems[1]
    );
    assert_eq!(
        problems[2],
        "bad.yml: rule l1: logsource: logsource `product: nosuch` is not in sigma pipeline `builtin`"
    );
}
