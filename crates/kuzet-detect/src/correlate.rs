//! Sigma v2 correlation rules over the hits of the detection engine: `event_count`, `value_count`, `temporal`,
//! `temporal_ordered`, `value_sum`, `value_avg`, `value_percentile` and `value_median`, each with `group-by`,
//! `timespan` and the `sliding`, `tumbling` or `session` window.
//!
//! State is bounded: at most [`Limits::groups`] groups per correlation (the least recently seen is evicted) and
//! [`Limits::entries`] entries per group (the oldest is dropped); every eviction is counted, never silent. The
//! state survives a restart through [`Correlator::snapshot`] and [`Correlator::restore`]
//! (`docs/formats/correlation-state.md`). Pure: time comes with each event.

use std::collections::{BTreeSet, VecDeque};

use jiff::Timestamp;
use kuzet_model::{Event, EventId, Value, fields};
use rsigma_parser::{
    ConditionExpr, ConditionOperator, CorrelationCondition, CorrelationType, WindowMode,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{DetectError, Result};
use crate::matcher::each_text;
use crate::pipeline::Pipeline;
use crate::rules::{Level, ProblemKind, RuleProblem, RuleSet};

/// The version tag of a state snapshot.
pub const STATE_FORMAT: &str = "kuzet-correlation-state/1";

/// Bounds of the correlation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Groups kept per correlation rule.
    pub groups: usize,
    /// Entries (events) kept per group.
    pub entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            groups: 100_000,
            entries: 10_000,
        }
    }
}

/// What an alert says about the correlation rule that raised it.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationMeta {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub kind: &'static str,
    pub tags: Vec<String>,
    pub origin: String,
    /// The base rules, by index into [`Engine::rules`].
    pub rules: Vec<u32>,
    pub group_by: Vec<String>,
    pub timespan_seconds: u64,
    /// Sigma's `generate`: the base rules also raise their own alerts.
    pub generate: bool,
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationHit {
    /// Index into [`Correlator::rules`].
    pub correlation: u32,
    /// The group's values, in `group-by` order (`None`: the events lacked the field).
    pub group: Vec<Option<String>>,
    /// The aggregate the condition was checked on: the count, the number of distinct values or rules, the sum, …
    pub value: f64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// The events in the window that made it fire (at most [`Limits::entries`]).
    pub events: Vec<EventId>,
}

/// Counters of the state, for health and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationStats {
    pub groups: usize,
    /// Groups dropped because a correlation had [`Limits::groups`] groups.
    pub evicted_groups: u64,
    /// Entries dropped because a group had [`Limits::entries`] entries.
    pub dropped_entries: u64,
    pub fired: u64,
}

#[derive(Debug, Clone)]
enum Aggregate {
    Count,
    Distinct,
    Rules {
        ordered: bool,
        expr: Option<ConditionExpr>,
    },
    Sum,
    Avg,
    Percentile(f64),
}

#[derive(Debug)]
struct Compiled {
    aggregate: Aggregate,
    predicates: Vec<(ConditionOperator, f64)>,
    span: i64,
    window: WindowMode,
    gap: Option<i64>,
    /// Per position in `rules`: the event fields of each `group-by` field, and of the condition's field.
    group_fields: Vec<Vec<Vec<String>>>,
    value_fields: Vec<Vec<String>>,
    /// Rule names and ids by position, for `temporal` expressions.
    rule_names: Vec<Vec<String>>,
}

/// A group's values, in `group-by` order.
type GroupKey = Vec<Option<String>>;

/// One event in a group's window.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    at: i64,
    /// Position of the base rule in the correlation's `rules`.
    rule: u32,
    value: Option<String>,
    event: EventId,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Group {
    entries: VecDeque<Entry>,
    /// Start of the tumbling window; `None` before the group's first event.
    window_start: Option<i64>,
    last_seen: i64,
}

/// The correlation rules and their state.
#[derive(Debug)]
pub struct Correlator {
    rules: Vec<CorrelationMeta>,
    compiled: Vec<Compiled>,
    /// Per base rule (engine index): the (correlation, position) pairs it feeds.
    by_base: FxHashMap<u32, Vec<(u32, u32)>>,
    groups: Vec<FxHashMap<GroupKey, Group>>,
    limits: Limits,
    stats: CorrelationStats,
    problems: Vec<RuleProblem>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: String,
    stats: CorrelationStats,
    /// By correlation id: its groups.
    correlations: Vec<(String, Vec<(GroupKey, Group)>)>,
}

impl Correlator {
    /// Compiles the correlation rules of `set` over the base rules `engine` loaded. A correlation that names a
    /// rule not loaded, or cannot be compiled, is a problem; the others run.
    pub fn build(set: &RuleSet, engine: &Engine, pipeline: &Pipeline, limits: Limits) -> Self {
        let mut by_ref: FxHashMap<&str, u32> = FxHashMap::default();
        for (index, rule) in engine.rules().iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            by_ref.insert(rule.id.as_str(), index);
            if let Some(name) = &rule.name {
                by_ref.insert(name.as_str(), index);
            }
        }
        let mut out = Self {
            rules: Vec::new(),
            compiled: Vec::new(),
            by_base: FxHashMap::default(),
            groups: Vec::new(),
            limits,
            stats: CorrelationStats::default(),
            problems: Vec::new(),
        };
        for (origin, rule) in &set.correlations {
            let id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
            let fail = |kind: ProblemKind, reason: String| RuleProblem {
                origin: origin.clone(),
                rule: Some(id.clone()),
                kind,
                reason,
            };
            let mut bases = Vec::with_capacity(rule.rules.len());
            let mut missing = Vec::new();
            for reference in &rule.rules {
                match by_ref.get(reference.as_str()) {
                    Some(index) => bases.push(*index),
                    None => missing.push(reference.as_str()),
                }
            }
            if !missing.is_empty() {
                out.problems.push(fail(
                    ProblemKind::Reference,
                    format!("names rules that are not loaded: {}", missing.join(", ")),
                ));
                continue;
            }
            match compile(rule, &bases, engine, pipeline) {
                Ok(compiled) => {
                    let index = u32::try_from(out.rules.len()).unwrap_or(u32::MAX);
                    for (position, base) in bases.iter().enumerate() {
                        out.by_base
                            .entry(*base)
                            .or_default()
                            .push((index, u32::try_from(position).unwrap_or(u32::MAX)));
                    }
                    out.rules.push(CorrelationMeta {
                        id,
                        title: rule.title.clone(),
                        level: Level::of(rule.level),
                        kind: rule.correlation_type.as_str(),
                        tags: rule.tags.clone(),
                        origin: origin.clone(),
                        rules: bases,
                        group_by: rule.group_by.clone(),
                        timespan_seconds: rule.timespan.seconds,
                        generate: rule.generate,
                    });
                    out.compiled.push(compiled);
                    out.groups.push(FxHashMap::default());
                }
                Err(reason) => out.problems.push(fail(ProblemKind::Compile, reason)),
            }
        }
        out
    }

    pub fn rules(&self) -> &[CorrelationMeta] {
        &self.rules
    }

    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }

    pub fn stats(&self) -> CorrelationStats {
        CorrelationStats {
            groups: self.groups.iter().map(FxHashMap::len).sum(),
            ..self.stats
        }
    }

    /// Whether base rule `rule` feeds a correlation (its own alerts may then be suppressed, Sigma's `generate`).
    pub fn feeds(&self, rule: u32) -> bool {
        self.by_base.contains_key(&rule)
    }

    /// Whether base rule `rule`'s own hits are not alerts: it feeds correlations and none of them says
    /// `generate: true` (Sigma's default, so that a brute-force correlation is one alert, not ten).
    pub fn silences(&self, rule: u32) -> bool {
        self.by_base.get(&rule).is_some_and(|targets| {
            targets
                .iter()
                .all(|(correlation, _)| !self.rules[*correlation as usize].generate)
        })
    }

    /// Feeds one event and the base rules it matched (from [`Engine::matches`]); appends the correlations that
    /// fire. `at` is the event's time.
    pub fn observe(
        &mut self,
        event: &Event,
        matched: &[u32],
        at: Timestamp,
        out: &mut Vec<CorrelationHit>,
    ) {
        let at = at.as_second();
        for base in matched {
            let Some(targets) = self.by_base.get(base) else {
                continue;
            };
            for &(correlation, position) in targets {
                let compiled = &self.compiled[correlation as usize];
                let group: Vec<Option<String>> = compiled.group_fields[position as usize]
                    .iter()
                    .map(|candidates| text_of(event, candidates))
                    .collect();
                let value = match compiled.aggregate {
                    Aggregate::Count | Aggregate::Rules { .. } => None,
                    _ => text_of(event, &compiled.value_fields[position as usize]),
                };
                let entry = Entry {
                    at,
                    rule: position,
                    value,
                    event: event.id,
                };
                let groups = &mut self.groups[correlation as usize];
                if let Some(hit) = push(
                    compiled,
                    groups,
                    self.limits,
                    &mut self.stats,
                    correlation,
                    group,
                    entry,
                ) {
                    self.stats.fired += 1;
                    out.push(hit);
                }
            }
        }
    }
}

/// Adds one entry to its group and evaluates the group.
fn push(
    compiled: &Compiled,
    groups: &mut FxHashMap<GroupKey, Group>,
    limits: Limits,
    stats: &mut CorrelationStats,
    correlation: u32,
    key: Vec<Option<String>>,
    entry: Entry,
) -> Option<CorrelationHit> {
    if !groups.contains_key(&key) && groups.len() >= limits.groups {
        // The least recently seen group goes; a linear scan, paid only at the bound.
        if let Some(oldest) = groups
            .iter()
            .min_by_key(|(_, g)| g.last_seen)
            .map(|(k, _)| k.clone())
        {
            groups.remove(&oldest);
            stats.evicted_groups += 1;
        }
    }
    let group = groups.entry(key.clone()).or_default();
    let at = entry.at;
    match compiled.window {
        WindowMode::Sliding => {}
        WindowMode::Tumbling => {
            let span = compiled.span.max(1);
            let start = *group.window_start.get_or_insert(at);
            if at >= start + span {
                group.window_start = Some(start + (at - start) / span * span);
                group.entries.clear();
            }
        }
        WindowMode::Session => {
            let gap = compiled.gap.unwrap_or(compiled.span);
            if group.window_start.is_some() && at - group.last_seen > gap {
                group.entries.clear();
            }
            group.window_start.get_or_insert(at);
        }
    }
    group.last_seen = group.last_seen.max(at);
    // Keep entries in time order; events a little out of order are placed where they belong.
    let position = group.entries.partition_point(|e| e.at <= at);
    group.entries.insert(position, entry);
    if compiled.window == WindowMode::Sliding {
        let newest = group.entries.back().map_or(at, |e| e.at);
        while group
            .entries
            .front()
            .is_some_and(|e| e.at < newest - compiled.span)
        {
            group.entries.pop_front();
        }
    }
    while group.entries.len() > limits.entries {
        group.entries.pop_front();
        stats.dropped_entries += 1;
    }
    let value = compiled.evaluate(&group.entries)?;
    let hit = CorrelationHit {
        correlation,
        group: key,
        value,
        first: Timestamp::from_second(group.entries.front().map_or(at, |e| e.at)).ok()?,
        last: Timestamp::from_second(group.entries.back().map_or(at, |e| e.at)).ok()?,
        events: group.entries.iter().map(|e| e.event).collect(),
    };
    // Fired: the window starts over, so one burst is one alert.
    group.entries.clear();
    Some(hit)
}

impl Correlator {
    /// The state as bytes to keep across a restart.
    pub fn snapshot(&self) -> Vec<u8> {
        let snapshot = Snapshot {
            format: STATE_FORMAT.to_owned(),
            stats: self.stats,
            correlations: self
                .rules
                .iter()
                .zip(&self.groups)
                .map(|(meta, groups)| {
                    (
                        meta.id.clone(),
                        groups.iter().map(|(k, g)| (k.clone(), g.clone())).collect(),
                    )
                })
                .collect(),
        };
        // Serializing plain data (strings, numbers, ids) to JSON cannot fail.
        serde_json::to_vec(&snapshot).unwrap_or_default()
    }

    /// Restores state saved by [`Correlator::snapshot`]. Groups of correlations no longer loaded are dropped;
    /// a snapshot that cannot be read is an error and the state stays empty.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        let fail = |reason: String| DetectError::State { reason };
        let snapshot: Snapshot = serde_json::from_slice(bytes).map_err(|e| fail(e.to_string()))?;
        if snapshot.format != STATE_FORMAT {
            return Err(fail(format!(
                "format is `{}`, expected `{STATE_FORMAT}`",
                snapshot.format
            )));
        }
        self.stats = snapshot.stats;
        for (id, groups) in snapshot.correlations {
            let Some(index) = self.rules.iter().position(|r| r.id == id) else {
                continue;
            };
            self.groups[index] = groups.into_iter().collect();
        }
        Ok(())
    }
}

impl Compiled {
    /// The aggregate when the condition holds.
    fn evaluate(&self, entries: &VecDeque<Entry>) -> Option<f64> {
        let value = match &self.aggregate {
            Aggregate::Count => entries.len() as f64,
            Aggregate::Distinct => {
                let distinct: BTreeSet<&str> =
                    entries.iter().filter_map(|e| e.value.as_deref()).collect();
                distinct.len() as f64
            }
            Aggregate::Rules { ordered, expr } => {
                let seen: BTreeSet<u32> = entries.iter().map(|e| e.rule).collect();
                if let Some(expr) = expr {
                    return self.rules_expr(expr, &seen).then_some(seen.len() as f64);
                }
                if *ordered {
                    return in_order(entries, self.rule_names.len()).then_some(seen.len() as f64);
                }
                seen.len() as f64
            }
            Aggregate::Sum | Aggregate::Avg | Aggregate::Percentile(_) => {
                let mut numbers: Vec<f64> = entries
                    .iter()
                    .filter_map(|e| e.value.as_deref()?.trim().parse::<f64>().ok())
                    .filter(|x| x.is_finite())
                    .collect();
                if numbers.is_empty() {
                    return None;
                }
                match self.aggregate {
                    Aggregate::Sum => numbers.iter().sum(),
                    Aggregate::Avg => numbers.iter().sum::<f64>() / numbers.len() as f64,
                    Aggregate::Percentile(p) => {
                        numbers.sort_by(f64::total_cmp);
                        // Nearest rank.
                        let rank = ((p / 100.0) * numbers.len() as f64).ceil() as usize;
                        numbers[rank.clamp(1, numbers.len()) - 1]
                    }
                    _ => return None,
                }
            }
        };
        self.predicates
            .iter()
            .all(|(op, wanted)| compare(*op, value, *wanted))
            .then_some(value)
    }

    fn rules_expr(&self, expr: &ConditionExpr, seen: &BTreeSet<u32>) -> bool {
        match expr {
            ConditionExpr::And(xs) => xs.iter().all(|x| self.rules_expr(x, seen)),
            ConditionExpr::Or(xs) => xs.iter().any(|x| self.rules_expr(x, seen)),
            ConditionExpr::Not(x) => !self.rules_expr(x, seen),
            ConditionExpr::Identifier(name) => self
                .rule_names
                .iter()
                .position(|names| names.iter().any(|n| n == name))
                .is_some_and(|p| seen.contains(&u32::try_from(p).unwrap_or(u32::MAX))),
            ConditionExpr::Selector { .. } => false,
        }
    }
}

/// Whether the entries hold the rules 0, 1, …, n-1 in that order (each at or after the one before).
fn in_order(entries: &VecDeque<Entry>, rules: usize) -> bool {
    let mut next = 0u32;
    for entry in entries {
        if entry.rule == next {
            next += 1;
            if next as usize == rules {
                return true;
            }
        }
    }
    false
}

fn compare(op: ConditionOperator, have: f64, wanted: f64) -> bool {
    match op {
        ConditionOperator::Lt => have < wanted,
        ConditionOperator::Lte => have <= wanted,
        ConditionOperator::Gt => have > wanted,
        ConditionOperator::Gte => have >= wanted,
        ConditionOperator::Eq => have == wanted,
        ConditionOperator::Neq => have != wanted,
    }
}

/// The text of the first present field of `candidates` (an array: its elements joined by commas).
fn text_of(event: &Event, candidates: &[String]) -> Option<String> {
    for name in candidates {
        let value = match event.fields.get(name) {
            Some(value) => value.clone(),
            None => match name.as_str() {
                fields::TIMESTAMP => Value::Str(event.timestamp.to_string()),
                fields::ORGANIZATION_ID => Value::Str(event.tenant.to_string()),
                _ => continue,
            },
        };
        let mut parts = Vec::new();
        each_text(&value, &mut |t| parts.push(t.to_owned()));
        return Some(parts.join(","));
    }
    None
}

fn compile(
    rule: &rsigma_parser::CorrelationRule,
    bases: &[u32],
    engine: &Engine,
    pipeline: &Pipeline,
) -> std::result::Result<Compiled, String> {
    let (predicates, field, percentile, expr) = match &rule.condition {
        CorrelationCondition::Threshold {
            predicates,
            field,
            percentile,
        } => (
            predicates
                .iter()
                .map(|(op, n)| (*op, *n as f64))
                .collect::<Vec<_>>(),
            field.clone().and_then(|f| f.into_iter().next()),
            *percentile,
            None,
        ),
        CorrelationCondition::Extended(expr) => (Vec::new(), None, None, Some(expr.clone())),
    };
    let aggregate = match rule.correlation_type {
        CorrelationType::EventCount => Aggregate::Count,
        CorrelationType::ValueCount => Aggregate::Distinct,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => Aggregate::Rules {
            ordered: rule.correlation_type == CorrelationType::TemporalOrdered,
            expr,
        },
        CorrelationType::ValueSum => Aggregate::Sum,
        CorrelationType::ValueAvg => Aggregate::Avg,
        CorrelationType::ValuePercentile => Aggregate::Percentile(percentile.unwrap_or(50) as f64),
        CorrelationType::ValueMedian => Aggregate::Percentile(50.0),
    };
    let needs_field = !matches!(aggregate, Aggregate::Count | Aggregate::Rules { .. });
    if needs_field && field.is_none() {
        return Err(format!(
            "{} needs `condition.field`",
            rule.correlation_type.as_str()
        ));
    }
    if rule.timespan.seconds == 0 {
        return Err("timespan is zero".to_owned());
    }
    // Temporal rules without an explicit condition need every rule (the parser gives `gte: 1` for "none").
    let predicates = match (&aggregate, predicates.as_slice()) {
        (Aggregate::Rules { expr: None, .. }, [(ConditionOperator::Gte, n)]) if *n <= 1.0 => {
            vec![(ConditionOperator::Gte, bases.len() as f64)]
        }
        _ => predicates,
    };
    let rules = engine.rules();
    let mut group_fields = Vec::with_capacity(bases.len());
    let mut value_fields = Vec::with_capacity(bases.len());
    let mut rule_names = Vec::with_capacity(bases.len());
    for (position, base) in bases.iter().enumerate() {
        let meta = &rules[*base as usize];
        let reference = &rule.rules[position];
        // An alias names a field differently per rule.
        let field_of = |name: &str| -> Vec<String> {
            let actual = rule
                .aliases
                .iter()
                .find(|a| a.alias == name)
                .and_then(|a| a.mapping.get(reference).or_else(|| a.mapping.get(&meta.id)))
                .map_or(name, String::as_str);
            candidates(pipeline, &meta.logsource, actual)
        };
        group_fields.push(rule.group_by.iter().map(|g| field_of(g)).collect());
        value_fields.push(field.as_deref().map(field_of).unwrap_or_default());
        let mut names = vec![meta.id.clone(), reference.clone()];
        names.extend(meta.name.clone());
        rule_names.push(names);
    }
    Ok(Compiled {
        aggregate,
        predicates,
        span: i64::try_from(rule.timespan.seconds).unwrap_or(i64::MAX),
        window: rule.window,
        gap: rule
            .gap
            .as_ref()
            .map(|g| i64::try_from(g.seconds).unwrap_or(i64::MAX)),
        group_fields,
        value_fields,
        rule_names,
    })
}

/// Where a Sigma field of a rule with `logsource` is found: the candidates of each of its variants, in order.
fn candidates(
    pipeline: &Pipeline,
    logsource: &crate::pipeline::Logsource,
    name: &str,
) -> Vec<String> {
    let variants = pipeline.variants_for(logsource);
    let mut out: Vec<String> = Vec::new();
    let lists = if variants.is_empty() {
        vec![pipeline.candidates(None, name)]
    } else {
        variants
            .into_iter()
            .map(|v| pipeline.candidates(Some(v), name))
            .collect()
    };
    for candidate in lists.into_iter().flatten() {
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}
