//! All enabled rules compiled once into one shared matcher.
//!
//! Per event, three steps, each cheaper than the next one is precise:
//! 1. **Route**: the pipeline's logsource variants the event belongs to, found by one hash lookup per key field
//!    (`winlog.channel`, `event.dataset`, …) instead of testing every variant.
//! 2. **Prefilter**: every literal a rule's match requires (its *needles*) of all rules at once, found in one
//!    Aho-Corasick pass over the lower-cased text of the fields rules look at. A rule none of whose needles occur
//!    cannot match and is not evaluated. Rules without needles (numbers, regexes, negations alone) are always
//!    evaluated.
//! 3. **Evaluate** exactly: the rule's condition tree over its matchers, bound to the event fields of the variant.
//!
//! The prefilter only skips rules that cannot match: `matches_exhaustive` evaluates every routed rule and the
//! property tests check that both give the same hits.

use std::borrow::Cow;

use aho_corasick::AhoCorasick;
use kuzet_model::{Event, Value, fields};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::compile::{self, Expr, FieldSel, PredSpec};
use crate::matcher::{Matcher, each_text, fold, fold_into};
use crate::pipeline::{Condition, Pipeline};
use crate::rules::{ProblemKind, RuleMeta, RuleProblem, RuleSet};

/// Where a leaf finds its value.
#[derive(Debug, Clone)]
enum Sel {
    /// A Sigma field: the first of these event fields that is present.
    First(Box<[Box<str>]>),
    /// `keywords`: any of these fields.
    Any(Box<[Box<str>]>),
}

impl Sel {
    fn names(&self) -> &[Box<str>] {
        match self {
            Sel::First(names) | Sel::Any(names) => names,
        }
    }
}

#[derive(Debug, Clone)]
struct Leaf {
    sel: Sel,
    matcher: Matcher,
    /// `fieldref`: the other field's candidates.
    reference: Option<Box<[Box<str>]>>,
}

/// One rule bound to one logsource variant.
#[derive(Debug)]
struct Unit {
    rule: u32,
    tree: Expr<Leaf>,
    /// No needle: evaluated whenever its variant is routed.
    always: bool,
}

/// Variants by the lower-cased value of their key field.
type VariantsByValue = FxHashMap<String, Vec<u32>>;

/// Finds the variants an event belongs to.
#[derive(Debug, Default)]
struct Router {
    conditions: Vec<Vec<Condition>>,
    /// Variants whose first condition is `equals`, by that field and its lower-cased values.
    keyed: Vec<(Box<str>, VariantsByValue)>,
    /// The rest, tested one by one.
    unkeyed: Vec<u32>,
}

#[derive(Debug)]
struct Prefilter {
    automaton: AhoCorasick,
    /// Per pattern, the units that need it.
    units: Vec<Vec<u32>>,
    /// The fields whose text is searched.
    fields: FxHashSet<Box<str>>,
}

/// Counts that say how the rules were compiled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineStats {
    pub rules: usize,
    /// (rule, variant) pairs.
    pub units: usize,
    /// Units without a needle, evaluated for every routed event.
    pub always: usize,
    pub needles: usize,
    pub problems: usize,
}

/// The compiled rules. Immutable and `Sync`: threads share one engine, each with its own [`Scratch`].
#[derive(Debug)]
pub struct Engine {
    rules: Vec<RuleMeta>,
    units: Vec<Unit>,
    /// Units of rules without a logsource: every event.
    global: Vec<u32>,
    /// Units per pipeline variant.
    by_variant: Vec<Vec<u32>>,
    router: Router,
    prefilter: Option<Prefilter>,
    problems: Vec<RuleProblem>,
}

/// Per-thread working memory, reused from event to event.
#[derive(Debug, Default)]
pub struct Scratch {
    generation: u32,
    /// `candidate[unit] == generation`: a needle of the unit occurs in this event.
    candidate: Vec<u32>,
    routed: Vec<u32>,
    variant_seen: Vec<u32>,
    haystack: String,
    lower: FxHashMap<usize, String>,
    hits: Vec<u32>,
}

impl Scratch {
    fn next_generation(&mut self, units: usize, variants: usize) {
        self.candidate.resize(units, 0);
        self.variant_seen.resize(variants, 0);
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.candidate.fill(0);
            self.variant_seen.fill(0);
            self.generation = 1;
        }
        self.routed.clear();
        self.haystack.clear();
        self.lower.clear();
        self.hits.clear();
    }
}

impl Engine {
    /// Compiles every rule of `set` for `pipeline`. A rule that cannot be compiled, or whose logsource the
    /// pipeline does not know, is reported in [`Engine::problems`] by id with the reason; the others load.
    pub fn build(set: &RuleSet, pipeline: &Pipeline) -> Self {
        let mut problems = set.problems.clone();
        let mut rules = Vec::with_capacity(set.rules.len());
        let mut units = Vec::new();
        let mut global = Vec::new();
        let mut by_variant: Vec<Vec<u32>> = vec![Vec::new(); pipeline.variants().len()];
        let mut filter_used = vec![false; set.filters.len()];

        for (meta, rule) in &set.rules {
            let fail = |kind: ProblemKind, reason: String| RuleProblem {
                origin: meta.origin.clone(),
                rule: Some(meta.id.clone()),
                kind,
                reason,
            };
            let mut tree = match compile::detections(&rule.detection) {
                Ok(tree) => tree,
                Err(reason) => {
                    problems.push(fail(ProblemKind::Compile, reason));
                    continue;
                }
            };
            // Filters (Sigma meta-filters) narrow the rules they name without editing them.
            let mut filter_error = None;
            for (index, (origin, filter)) in set.filters.iter().enumerate() {
                if !filter_applies(filter, meta) {
                    continue;
                }
                filter_used[index] = true;
                match compile::detections(&filter.detection) {
                    Ok(condition) => tree = Expr::And(vec![tree, condition]),
                    Err(reason) => {
                        filter_error =
                            Some(format!("filter `{}` ({origin}): {reason}", filter.title));
                    }
                }
            }
            if let Some(reason) = filter_error {
                problems.push(fail(ProblemKind::Compile, reason));
                continue;
            }
            let variants: Vec<Option<usize>> = if meta.logsource.is_empty() {
                vec![None]
            } else {
                pipeline
                    .variants_for(&meta.logsource)
                    .into_iter()
                    .map(Some)
                    .collect()
            };
            if variants.is_empty() {
                problems.push(fail(
                    ProblemKind::Logsource,
                    format!(
                        "logsource `{}` is not in sigma pipeline `{}`",
                        meta.logsource,
                        pipeline.name()
                    ),
                ));
                continue;
            }
            let rule_index = u32::try_from(rules.len()).unwrap_or(u32::MAX);
            let mut bound = Vec::with_capacity(variants.len());
            let mut bind_error = None;
            for variant in &variants {
                match tree
                    .clone()
                    .try_map(&mut |spec| bind(spec, pipeline, *variant))
                {
                    Ok(tree) => bound.push((*variant, tree)),
                    Err(reason) => bind_error = Some(reason),
                }
            }
            if let Some(reason) = bind_error {
                problems.push(fail(ProblemKind::Compile, reason));
                continue;
            }
            rules.push(meta.clone());
            for (variant, tree) in bound {
                let unit = u32::try_from(units.len()).unwrap_or(u32::MAX);
                let always = needles(&tree).is_none();
                units.push(Unit {
                    rule: rule_index,
                    tree,
                    always,
                });
                match variant {
                    Some(v) => by_variant[v].push(unit),
                    None => global.push(unit),
                }
            }
        }
        for (index, (origin, filter)) in set.filters.iter().enumerate() {
            if !filter_used[index] {
                problems.push(RuleProblem {
                    origin: origin.clone(),
                    rule: Some(filter.id.clone().unwrap_or_else(|| filter.title.clone())),
                    kind: ProblemKind::Reference,
                    reason: "filter applies to no loaded rule".to_owned(),
                });
            }
        }
        for (origin, correlation) in &set.correlations {
            problems.push(RuleProblem {
                origin: origin.clone(),
                rule: Some(
                    correlation
                        .id
                        .clone()
                        .unwrap_or_else(|| correlation.title.clone()),
                ),
                kind: ProblemKind::Compile,
                reason: format!(
                    "correlation rules ({}) are not run by this version",
                    correlation.correlation_type.as_str()
                ),
            });
        }
        let router = Router::new(pipeline, &by_variant);
        let prefilter = Prefilter::new(&units);
        Self {
            rules,
            units,
            global,
            by_variant,
            router,
            prefilter,
            problems,
        }
    }

    /// The loaded rules; hits name them by index.
    pub fn rules(&self) -> &[RuleMeta] {
        &self.rules
    }

    /// Documents and rules that were not loaded, with the reason.
    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            rules: self.rules.len(),
            units: self.units.len(),
            always: self.units.iter().filter(|u| u.always).count(),
            needles: self.prefilter.as_ref().map_or(0, |p| p.units.len()),
            problems: self.problems.len(),
        }
    }

    pub fn scratch(&self) -> Scratch {
        Scratch::default()
    }

    /// The indexes (into [`Engine::rules`]) of the rules `event` matches, in ascending order, each once.
    pub fn matches<'s>(&self, event: &Event, scratch: &'s mut Scratch) -> &'s [u32] {
        self.run(event, scratch, true)
    }

    /// Like [`Engine::matches`] but evaluates every routed rule, needles or not: the reference the prefilter is
    /// tested against.
    pub fn matches_exhaustive<'s>(&self, event: &Event, scratch: &'s mut Scratch) -> &'s [u32] {
        self.run(event, scratch, false)
    }

    fn run<'s>(&self, event: &Event, scratch: &'s mut Scratch, prefilter: bool) -> &'s [u32] {
        scratch.next_generation(self.units.len(), self.by_variant.len());
        self.router.route(event, scratch);
        let prefilter = if prefilter {
            self.prefilter.as_ref()
        } else {
            None
        };
        if let Some(prefilter) = prefilter {
            prefilter.mark(event, scratch);
        }
        let generation = scratch.generation;
        let routed = std::mem::take(&mut scratch.routed);
        let lists = routed
            .iter()
            .map(|v| &self.by_variant[*v as usize])
            .chain(std::iter::once(&self.global));
        for list in lists {
            for &unit_index in list {
                let unit = &self.units[unit_index as usize];
                let candidate = prefilter.is_none()
                    || unit.always
                    || scratch.candidate[unit_index as usize] == generation;
                if candidate && eval(&unit.tree, event, &mut scratch.lower) {
                    scratch.hits.push(unit.rule);
                }
            }
        }
        scratch.routed = routed;
        scratch.hits.sort_unstable();
        scratch.hits.dedup();
        &scratch.hits
    }
}

/// One sample event of a rule and whether the rule did what the sample says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SampleOutcome {
    /// Index into [`Engine::rules`].
    pub rule: u32,
    /// `true`: a `match` sample; `false`: a `no_match` one.
    pub expected: bool,
    /// Its position in its list.
    pub index: usize,
    pub matched: bool,
}

impl SampleOutcome {
    pub fn passed(&self) -> bool {
        self.expected == self.matched
    }
}

/// A sample document as an event: its fields flattened to dotted names, its JSON text as `event.original`,
/// `at` as its time (unless it gives `@timestamp`).
pub fn sample_event(document: &serde_json::Value, at: jiff::Timestamp) -> Event {
    let mut event = Event::new(
        kuzet_model::EventId::from_u128(0),
        kuzet_model::TenantId::audit_trail(),
        // A slug literal: always a valid id.
        kuzet_model::SourceId::new("sample")
            .unwrap_or_else(|_| unreachable!("`sample` is a valid slug")),
        at,
        document.to_string().into_bytes(),
    );
    event.fields.insert_json("", document);
    if let Some(timestamp) = event
        .fields
        .get_str(fields::TIMESTAMP)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    {
        event.timestamp = timestamp;
    }
    event
}

impl Engine {
    /// Runs every loaded rule's sample events (see [`crate::Samples`]), `at` standing for their time.
    pub fn test_samples(&self, at: jiff::Timestamp) -> Vec<SampleOutcome> {
        let mut scratch = self.scratch();
        let mut out = Vec::new();
        for (rule, meta) in self.rules.iter().enumerate() {
            let rule = u32::try_from(rule).unwrap_or(u32::MAX);
            let lists = [
                (true, &meta.samples.matching),
                (false, &meta.samples.not_matching),
            ];
            for (expected, list) in lists {
                for (index, document) in list.iter().enumerate() {
                    let event = sample_event(document, at);
                    let matched = self.matches(&event, &mut scratch).contains(&rule);
                    out.push(SampleOutcome {
                        rule,
                        expected,
                        index,
                        matched,
                    });
                }
            }
        }
        out
    }
}

/// Whether `filter` applies to the rule `meta`: it names the rule by id or title (or applies to all), and its
/// logsource, when it gives one, agrees with the rule's.
fn filter_applies(filter: &rsigma_parser::FilterRule, meta: &RuleMeta) -> bool {
    let named = match &filter.rules {
        rsigma_parser::FilterRuleTarget::Any => true,
        rsigma_parser::FilterRuleTarget::Specific(names) => {
            names.iter().any(|n| *n == meta.id || *n == meta.title)
        }
    };
    let agrees = |wanted: &Option<String>, have: &Option<String>| match wanted {
        Some(w) => have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        None => true,
    };
    named
        && filter.logsource.as_ref().is_none_or(|ls| {
            agrees(&ls.product, &meta.logsource.product)
                && agrees(&ls.category, &meta.logsource.category)
                && agrees(&ls.service, &meta.logsource.service)
        })
}

fn boxed(names: Vec<String>) -> Box<[Box<str>]> {
    names.into_iter().map(String::into_boxed_str).collect()
}

fn bind(spec: PredSpec, pipeline: &Pipeline, variant: Option<usize>) -> Result<Leaf, String> {
    let sel = match &spec.field {
        FieldSel::Named(name) => Sel::First(boxed(pipeline.candidates(variant, name))),
        FieldSel::Keywords => Sel::Any(boxed(pipeline.keyword_fields(variant))),
    };
    let reference = spec
        .reference
        .as_deref()
        .map(|name| boxed(pipeline.candidates(variant, name)));
    Ok(Leaf {
        sel,
        matcher: spec.matcher,
        reference,
    })
}

/// A field of the event by its ECS name: the open map, then the typed hot fields.
fn lookup<'e>(event: &'e Event, name: &str) -> Option<Cow<'e, Value>> {
    if let Some(value) = event.fields.get(name) {
        return Some(Cow::Borrowed(value));
    }
    match name {
        fields::EVENT_ORIGINAL => Some(Cow::Owned(Value::Str(event.original_lossy().into_owned()))),
        fields::TIMESTAMP => Some(Cow::Owned(Value::Str(event.timestamp.to_string()))),
        fields::ORGANIZATION_ID => Some(Cow::Owned(Value::Str(event.tenant.to_string()))),
        _ => None,
    }
}

fn first<'e>(event: &'e Event, names: &[Box<str>]) -> Option<Cow<'e, Value>> {
    names.iter().find_map(|name| lookup(event, name))
}

fn eval(expr: &Expr<Leaf>, event: &Event, lower: &mut FxHashMap<usize, String>) -> bool {
    match expr {
        Expr::And(xs) => xs.iter().all(|x| eval(x, event, lower)),
        Expr::Or(xs) => xs.iter().any(|x| eval(x, event, lower)),
        Expr::Not(x) => !eval(x, event, lower),
        Expr::AtLeast(n, xs) => {
            let mut count = 0usize;
            for x in xs {
                if eval(x, event, lower) {
                    count += 1;
                    if count >= *n {
                        return true;
                    }
                }
            }
            false
        }
        Expr::Const(b) => *b,
        Expr::Leaf(leaf) => eval_leaf(leaf, event, lower),
    }
}

fn eval_leaf(leaf: &Leaf, event: &Event, lower: &mut FxHashMap<usize, String>) -> bool {
    let other = leaf
        .reference
        .as_deref()
        .and_then(|names| first(event, names));
    let other = other.as_deref();
    match &leaf.sel {
        Sel::First(names) => match first(event, names) {
            Some(value) => test_value(leaf, value, lower, other),
            None => matches!(leaf.matcher, Matcher::Null | Matcher::Exists(false)),
        },
        Sel::Any(names) => names.iter().any(|name| {
            lookup(event, name).is_some_and(|value| test_value(leaf, value, lower, other))
        }),
    }
}

/// Runs a leaf's matcher on one present value, folding a string's case once per event and field.
fn test_value(
    leaf: &Leaf,
    value: Cow<'_, Value>,
    lower: &mut FxHashMap<usize, String>,
    other: Option<&Value>,
) -> bool {
    match (&value, leaf.matcher.folds_case()) {
        // Keyed by the value's address: the event is borrowed, unchanged, for the whole evaluation.
        (Cow::Borrowed(borrowed @ Value::Str(s)), true) => {
            let key = std::ptr::from_ref(*borrowed) as usize;
            let folded = lower
                .entry(key)
                .or_insert_with(|| fold(s, false).into_owned());
            leaf.matcher.matches(borrowed, Some(folded), other)
        }
        _ => leaf.matcher.matches(&value, None, other),
    }
}

/// Literals one of which occurs (lower-cased) in the text of the fields a unit looks at whenever it matches;
/// `None` when no such set is known.
fn needles(expr: &Expr<Leaf>) -> Option<Vec<String>> {
    match expr {
        Expr::Leaf(leaf) => {
            let (anchor, _) = leaf.matcher.anchor()?;
            Some(vec![fold(anchor, false).into_owned()])
        }
        // Any child's needles are necessary for the conjunction; the fewest, longest needles filter best.
        Expr::And(xs) => xs.iter().filter_map(needles).min_by_key(|set| {
            (
                set.len(),
                std::cmp::Reverse(set.iter().map(String::len).min().unwrap_or(0)),
            )
        }),
        Expr::Or(xs) | Expr::AtLeast(_, xs) => {
            let mut all = Vec::new();
            for x in xs {
                all.extend(needles(x)?);
            }
            Some(all)
        }
        Expr::Not(_) | Expr::Const(true) => None,
        Expr::Const(false) => Some(Vec::new()),
    }
}

/// The fields the needles of a unit may occur in: those of its anchored leaves.
fn anchored_fields<'a>(expr: &'a Expr<Leaf>, out: &mut Vec<&'a str>) {
    let mut leaves = Vec::new();
    expr.leaves(&mut leaves);
    for leaf in leaves {
        if leaf.matcher.anchor().is_some() {
            out.extend(leaf.sel.names().iter().map(|n| &**n));
        }
    }
}

impl Prefilter {
    fn new(units: &[Unit]) -> Option<Self> {
        let mut patterns: FxHashMap<String, u32> = FxHashMap::default();
        let mut pattern_units: Vec<Vec<u32>> = Vec::new();
        let mut fields: FxHashSet<Box<str>> = FxHashSet::default();
        for (index, unit) in units.iter().enumerate() {
            let Some(set) = needles(&unit.tree) else {
                continue;
            };
            let mut names = Vec::new();
            anchored_fields(&unit.tree, &mut names);
            fields.extend(names.into_iter().map(Box::from));
            for needle in set {
                let next = u32::try_from(pattern_units.len()).unwrap_or(u32::MAX);
                let id = *patterns.entry(needle).or_insert(next);
                if id == next {
                    pattern_units.push(Vec::new());
                }
                pattern_units[id as usize].push(u32::try_from(index).unwrap_or(u32::MAX));
            }
        }
        let mut ordered = vec![String::new(); pattern_units.len()];
        for (needle, id) in patterns {
            ordered[id as usize] = needle;
        }
        // Building fails only past the automaton's size limits (billions of states); without a prefilter every
        // routed rule is evaluated, which is slower but still exact.
        let automaton = AhoCorasick::builder().build(&ordered).ok()?;
        Some(Self {
            automaton,
            units: pattern_units,
            fields,
        })
    }

    fn mark(&self, event: &Event, scratch: &mut Scratch) {
        let haystack = &mut scratch.haystack;
        for (name, value) in event.fields.iter() {
            if self.fields.contains(name) {
                each_text(value, &mut |text| {
                    fold_into(text, haystack);
                    haystack.push('\0');
                });
            }
        }
        for special in [
            fields::EVENT_ORIGINAL,
            fields::TIMESTAMP,
            fields::ORGANIZATION_ID,
        ] {
            if !self.fields.contains(special) || event.fields.get(special).is_some() {
                continue;
            }
            if let Some(value) = lookup(event, special) {
                each_text(&value, &mut |text| {
                    fold_into(text, haystack);
                    haystack.push('\0');
                });
            }
        }
        for found in self.automaton.find_overlapping_iter(haystack.as_str()) {
            for &unit in &self.units[found.pattern().as_usize()] {
                scratch.candidate[unit as usize] = scratch.generation;
            }
        }
    }
}

impl Router {
    fn new(pipeline: &Pipeline, by_variant: &[Vec<u32>]) -> Self {
        let mut router = Router {
            conditions: pipeline.variants().iter().map(|v| v.when.clone()).collect(),
            ..Router::default()
        };
        let mut keyed: FxHashMap<String, FxHashMap<String, Vec<u32>>> = FxHashMap::default();
        for (index, variant) in pipeline.variants().iter().enumerate() {
            if by_variant[index].is_empty() {
                continue;
            }
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match variant.when.first() {
                Some(Condition::Equals { field, values }) => {
                    let by_value = keyed.entry(field.clone()).or_default();
                    for value in values {
                        by_value.entry(value.clone()).or_default().push(index);
                    }
                }
                _ => router.unkeyed.push(index),
            }
        }
        let mut keyed: Vec<_> = keyed
            .into_iter()
            .map(|(field, map)| (field.into_boxed_str(), map))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        router.keyed = keyed;
        router
    }

    fn route(&self, event: &Event, scratch: &mut Scratch) {
        let generation = scratch.generation;
        let mut text = String::new();
        for (field, by_value) in &self.keyed {
            let Some(value) = lookup(event, field) else {
                continue;
            };
            each_text(&value, &mut |t| {
                text.clear();
                fold_into(t, &mut text);
                for &variant in by_value.get(text.as_str()).into_iter().flatten() {
                    let seen = &mut scratch.variant_seen[variant as usize];
                    if *seen != generation
                        && self.conditions[variant as usize][1..]
                            .iter()
                            .all(|c| holds(c, event))
                    {
                        *seen = generation;
                        scratch.routed.push(variant);
                    }
                }
            });
        }
        for &variant in &self.unkeyed {
            if self.conditions[variant as usize]
                .iter()
                .all(|c| holds(c, event))
            {
                scratch.routed.push(variant);
            }
        }
    }
}

fn holds(condition: &Condition, event: &Event) -> bool {
    match condition {
        Condition::Exists { field, present } => lookup(event, field).is_some() == *present,
        Condition::Equals { field, values } => {
            let Some(value) = lookup(event, field) else {
                return false;
            };
            let mut found = false;
            each_text(&value, &mut |text| {
                found = found || values.iter().any(|v| fold(text, false) == v.as_str());
            });
            found
        }
    }
}
