//! Golden tests from `test_data/correlations.yml`: every Sigma v2 correlation type, windows and aliases, each fed
//! its events on a fresh state; plus the bounds of the state and its survival across a restart.

// A test binary: failing loudly on unreadable fixtures is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kuzet_detect::{Correlator, Engine, Limits, Pipeline, RuleSet, sample_event};

const TEXT: &str = include_str!("../test_data/correlations.yml");

fn build(limits: Limits) -> (Engine, Correlator) {
    let mut set = RuleSet::new();
    set.add_yaml("correlations.yml", TEXT);
    let pipeline = Pipeline::builtin();
    let engine = Engine::build(&set, &pipeline);
    let correlator = Correlator::build(&set, &engine, &pipeline, limits);
    assert!(engine.problems().is_empty(), "{:?}", engine.problems());
    assert!(
        correlator.problems().is_empty(),
        "{:?}",
        correlator.problems()
    );
    (engine, correlator)
}

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_796_000_000 + seconds).unwrap()
}

/// Feeds `events` (offset, document) and returns (event index, correlation id, value, group) of every hit.
fn feed(
    engine: &Engine,
    correlator: &mut Correlator,
    events: &[(i64, serde_json::Value)],
) -> Vec<(usize, String, f64, Vec<Option<String>>)> {
    let mut scratch = engine.scratch();
    let mut out = Vec::new();
    for (index, (offset, document)) in events.iter().enumerate() {
        let event = sample_event(document, at(*offset));
        let matched = engine.matches(&event, &mut scratch).to_vec();
        let mut hits = Vec::new();
        correlator.observe(&event, &matched, event.timestamp, &mut hits);
        for hit in hits {
            let id = correlator.rules()[hit.correlation as usize].id.clone();
            out.push((index, id, hit.value, hit.group));
        }
    }
    out
}

#[test]
fn every_correlation_type_fires_as_the_specification_says() {
    let documents: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(TEXT)
        .map(|d| serde_json::to_value(yaml_serde::Value::deserialize(d).unwrap()).unwrap())
        .collect();
    let mut types = std::collections::BTreeSet::new();
    let mut cases = 0;
    for document in documents.iter().filter(|d| d.get("golden").is_some()) {
        let id = document["id"].as_str().unwrap();
        types.insert(document["correlation"]["type"].as_str().unwrap().to_owned());
        let (engine, mut correlator) = build(Limits::default());
        let events: Vec<(i64, serde_json::Value)> = document["golden"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["at"].as_i64().unwrap(), e["event"].clone()))
            .collect();
        let got: Vec<_> = feed(&engine, &mut correlator, &events)
            .into_iter()
            .filter(|(_, c, _, _)| c == id)
            .map(|(i, _, v, g)| (i, v, g))
            .collect();
        let expected: Vec<_> = document["golden"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let group = h["group"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>();
                (
                    h["after"].as_u64().unwrap() as usize,
                    h["value"].as_f64().unwrap(),
                    group,
                )
            })
            .collect();
        assert_eq!(got, expected, "correlation {id}");
        cases += 1;
    }
    assert_eq!(cases, 10);
    let all: std::collections::BTreeSet<String> = [
        "event_count",
        "value_count",
        "temporal",
        "temporal_ordered",
        "value_sum",
        "value_avg",
        "value_percentile",
        "value_median",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(types, all);
}

use serde::Deserialize as _;

#[test]
fn state_is_bounded_and_every_eviction_is_counted() {
    let (engine, mut correlator) = build(Limits {
        groups: 2,
        entries: 2,
    });
    let events: Vec<(i64, serde_json::Value)> = (0..5)
        .map(|i| (i, serde_json::json!({ "event.action": "transfer", "user.name": format!("u{i}"), "bytes": 1 })))
        .chain((0..5).map(|i| (10 + i, serde_json::json!({ "event.action": "logon-failed", "source.ip": "10.9.9.9", "user.name": format!("v{i}") }))))
        .collect();
    feed(&engine, &mut correlator, &events);
    let stats = correlator.stats();
    assert!(stats.evicted_groups >= 3, "{stats:?}");
    assert!(stats.dropped_entries >= 1, "{stats:?}");
    assert!(stats.groups <= 2 * correlator.rules().len(), "{stats:?}");
}

#[test]
fn state_survives_a_restart() {
    let (engine, mut before) = build(Limits::default());
    let first: Vec<(i64, serde_json::Value)> = (0..2)
        .map(|i| {
            (
                i,
                serde_json::json!({ "event.action": "logon-failed", "source.ip": "10.0.0.5" }),
            )
        })
        .collect();
    assert!(
        !feed(&engine, &mut before, &first)
            .iter()
            .any(|(_, id, _, _)| id == "c-event-count")
    );
    let saved = before.snapshot();

    let (engine, mut after) = build(Limits::default());
    after.restore(&saved).unwrap();
    let third = vec![(
        30,
        serde_json::json!({ "event.action": "logon-failed", "source.ip": "10.0.0.5" }),
    )];
    let hits = feed(&engine, &mut after, &third);
    assert!(
        hits.iter()
            .any(|(_, id, value, _)| id == "c-event-count" && *value == 3.0),
        "{hits:?}"
    );

    // Without the snapshot the third failure alone does not fire.
    let (engine, mut fresh) = build(Limits::default());
    assert!(
        !feed(&engine, &mut fresh, &third)
            .iter()
            .any(|(_, id, _, _)| id == "c-event-count")
    );

    let error = after.restore(b"{\"format\":\"other/9\",\"stats\":{\"groups\":0,\"evicted_groups\":0,\"dropped_entries\":0,\"fired\":0},\"correlations\":[]}").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected `kuzet-correlation-state/1`"),
        "{error}"
    );
}

#[test]
fn a_correlation_naming_an_unloaded_rule_is_reported() {
    let mut set = RuleSet::new();
    set.add_yaml(
        "c.yml",
        "title: c\nid: c1\ncorrelation:\n  type: event_count\n  rules: [nosuch]\n  timespan: 1m\n  condition: { gte: 2 }\n",
    );
    let pipeline = Pipeline::builtin();
    let engine = Engine::build(&set, &pipeline);
    let correlator = Correlator::build(&set, &engine, &pipeline, Limits::default());
    assert_eq!(correlator.rules().len(), 0);
    assert_eq!(
        correlator.problems()[0].to_string(),
        "c.yml: rule c1: reference: names rules that are not loaded: nosuch"
    );
}
