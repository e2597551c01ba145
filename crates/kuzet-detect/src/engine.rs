//! All enabled rules compiled once into one shared matcher.
//!
//! Per event, three steps, each cheaper than the next one is precise:
//! 1. **Route**: the pipeline's logsource variants the event belongs to, found by one hash lookup per key field
//!    (`winlog.channel`, `event.dataset`, …) instead of testing every variant.
//! 2. **Prefilter**: every value a rule's match requires (its *needles*), of all rules at once: each field
//!    rules read has one Aho-Corasick automaton of the text needles of the leaves that read it, run once over the
//!    field's lower-cased text, and a table of the numbers leaves compare it with for equality (`EventID: 4624`),
//!    looked up once with the field's number. A text needle counts only in its place: the whole text for an
//!    equality, its start or end for `startswith` and `endswith`. A rule's needles come in groups, one per
//!    necessary part of its condition (up to eight, the most selective): `Image|endswith: \cmd.exe` *and*
//!    `CommandLine|contains: /c`. A regex's needles are the literals its matches start (or end) with. A rule is
//!    evaluated only when every group has a needle in the event. Rules without needles (ranges, negations alone,
//!    regexes without a literal) are always evaluated.
//! 3. **Evaluate** exactly: the rule's condition tree over its matchers, bound to the event fields of the variant.
//!
//! Every event field name the engine reads is interned at build time; per event, one pass over the event's
//! fields puts each such field in its slot (and runs the field's automaton), so that evaluation reads fields by
//! index instead of by name.
//!
//! The prefilter only skips rules that cannot match: `matches_exhaustive` evaluates every routed rule and the
//! property tests check that both give the same hits.

use std::borrow::Cow;
use std::sync::Arc;

use daachorse::{DoubleArrayAhoCorasick, DoubleArrayAhoCorasickBuilder, MatchKind};
use kuzet_model::{Event, Value, fields};
use rustc_hash::FxHashMap;

use crate::compile::{self, Expr, FieldSel, PredSpec};
use crate::matcher::{Matcher, NumOp, TextOp, any_number, each_text, fold, fold_into};
use crate::pipeline::{Condition, Pipeline};
use crate::rules::{ProblemKind, RuleMeta, RuleProblem, RuleSet};

/// An interned event field name: its index in [`Names`].
type Slot = u32;

/// Every event field name the engine reads, interned.
#[derive(Debug, Default)]
struct Names {
    ids: FxHashMap<Box<str>, Slot>,
    /// Slots of the typed hot fields an event does not keep in its field map.
    hot: Vec<(Slot, &'static str)>,
}

impl Names {
    fn intern(&mut self, name: &str) -> Slot {
        if let Some(&slot) = self.ids.get(name) {
            return slot;
        }
        let slot = Slot::try_from(self.ids.len()).unwrap_or(Slot::MAX);
        self.ids.insert(name.into(), slot);
        if let Some(hot) = [
            fields::EVENT_ORIGINAL,
            fields::TIMESTAMP,
            fields::ORGANIZATION_ID,
        ]
        .into_iter()
        .find(|h| *h == name)
        {
            self.hot.push((slot, hot));
        }
        slot
    }

    fn intern_all(&mut self, names: Vec<String>) -> Box<[Slot]> {
        names.iter().map(|n| self.intern(n)).collect()
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Where a leaf finds its value.
#[derive(Debug, Clone)]
enum Sel {
    /// A Sigma field: the first of these event fields that is present.
    First(Box<[Slot]>),
    /// `keywords`: any of these fields.
    Any(Box<[Slot]>),
}

impl Sel {
    fn slots(&self) -> &[Slot] {
        match self {
            Sel::First(slots) | Sel::Any(slots) => slots,
        }
    }
}

#[derive(Debug, Clone)]
struct Leaf {
    sel: Sel,
    matcher: Matcher,
    /// `fieldref`: the other field's candidates.
    reference: Option<Box<[Slot]>>,
}

/// One rule bound to one logsource variant.
#[derive(Debug)]
struct Unit {
    rule: u32,
    /// `None`: a rule without a logsource, for every event.
    variant: Option<u32>,
    tree: Expr<Leaf>,
}

/// A routing condition on an interned field.
#[derive(Debug)]
enum Route {
    /// The field's lower-cased text is one of `texts`; `integers` are those of them an integer field's decimal
    /// text can be, so that an event id is compared as a number.
    Equals {
        slot: Slot,
        texts: Vec<String>,
        integers: Vec<i64>,
    },
    Exists(Slot, bool),
}

/// Variants by the lower-cased value of their key field.
type VariantsByValue = FxHashMap<String, Vec<u32>>;

/// Finds the variants an event belongs to.
#[derive(Debug, Default)]
struct Router {
    conditions: Vec<Vec<Route>>,
    /// Variants whose first condition is `equals`, by that field and its lower-cased values.
    keyed: Vec<(Slot, VariantsByValue)>,
    /// The rest, tested one by one.
    unkeyed: Vec<u32>,
}

/// Per field slot, the automaton of the needles that may occur in it.
#[derive(Debug)]
struct Prefilter {
    /// Per field slot, the index of its needles in `fields` plus one (0: none): a dense table the event's fields
    /// index, which stays in cache, and a list of the few fields that have needles.
    field_of: Vec<u32>,
    fields: Vec<FieldNeedles>,
    /// Per unit, the bits of the groups of needles it requires (see [`requirements`]).
    required: Vec<u8>,
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
    names: Names,
    /// Units of rules without a logsource: every event.
    global: Vec<u32>,
    /// Units per pipeline variant.
    by_variant: Vec<Vec<u32>>,
    /// The units without a needle, which the prefilter cannot skip: of `global`, and per variant.
    always_global: Vec<u32>,
    always_by_variant: Vec<Vec<u32>>,
    router: Router,
    prefilter: Option<Prefilter>,
    problems: Vec<RuleProblem>,
}

/// Per-thread working memory, reused from event to event. Arrays indexed by unit, variant or slot hold the
/// generation (the event's number) they were last set in, so nothing is cleared between events. One scratch may
/// serve several engines in turn: it resizes to the engine it runs with, and every stamp is older than the event.
#[derive(Debug, Default)]
pub struct Scratch {
    generation: u32,
    /// `touched[unit] == generation`: `found[unit]` holds the unit's groups of needles found in this event.
    touched: Vec<u32>,
    found: Vec<u8>,
    /// The units all of whose groups were found.
    candidates: Vec<u32>,
    routed: Vec<u32>,
    variant_seen: Vec<u32>,
    /// `placed[slot] == (generation, i)`: the event has the field, at `i` in the event's values (one pair, so
    /// that reading a field touches one cache line).
    placed: Vec<(u32, u32)>,
    /// The event's values, emptied after each event: kept only for their allocation (see [`recycle`]).
    values: Vec<(Slot, Cow<'static, Value>)>,
    /// The lower-cased text of a string field, folded once per event (`lower_seen[slot] == generation`).
    lower_seen: Vec<u32>,
    lower: Vec<String>,
    /// A field's lower-cased text, for its automaton.
    folded: String,
    hits: Vec<u32>,
}

impl Scratch {
    fn next_generation(&mut self, units: usize, variants: usize, slots: usize) {
        self.touched.resize(units, 0);
        self.found.resize(units, 0);
        self.variant_seen.resize(variants, 0);
        self.placed.resize(slots, (0, 0));
        self.lower_seen.resize(slots, 0);
        self.lower.resize(slots, String::new());
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.touched.fill(0);
            self.variant_seen.fill(0);
            self.placed.fill((0, 0));
            self.lower_seen.fill(0);
            self.generation = 1;
        }
        self.candidates.clear();
        self.routed.clear();
        self.folded.clear();
        self.hits.clear();
    }
}

/// The event's fields by slot, for one evaluation.
struct View<'e, 's> {
    generation: u32,
    placed: &'s [(u32, u32)],
    values: &'s [(Slot, Cow<'e, Value>)],
}

impl View<'_, '_> {
    fn get(&self, slot: Slot) -> Option<&Value> {
        let (generation, at) = self.placed[slot as usize];
        (generation == self.generation)
            .then(|| self.values.get(at as usize).map(|(_, v)| &**v))
            .flatten()
    }

    fn first(&self, slots: &[Slot]) -> Option<(Slot, &Value)> {
        slots
            .iter()
            .find_map(|&slot| self.get(slot).map(|v| (slot, v)))
    }
}

/// Lower-cased string fields of the event, folded on first use.
struct Lower<'s> {
    generation: u32,
    seen: &'s mut [u32],
    text: &'s mut [String],
}

impl Lower<'_> {
    fn of(&mut self, slot: Slot, text: &str) -> &str {
        let slot = slot as usize;
        if self.seen[slot] != self.generation {
            self.seen[slot] = self.generation;
            self.text[slot].clear();
            fold_into(text, &mut self.text[slot]);
        }
        &self.text[slot]
    }
}

impl Engine {
    /// Compiles every rule of `set` for `pipeline`. A rule that cannot be compiled, or whose logsource the
    /// pipeline does not know, is reported in [`Engine::problems`] by id with the reason; the others load.
    pub fn build(set: &RuleSet, pipeline: &Pipeline) -> Self {
        let mut problems = set.problems.clone();
        let mut rules = Vec::with_capacity(set.rules.len());
        let mut units = Vec::new();
        let mut names = Names::default();
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
                    .try_map(&mut |spec| bind(spec, pipeline, *variant, &mut names))
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
                units.push(Unit {
                    rule: rule_index,
                    variant: variant.map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
                    tree,
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
        let router = Router::new(pipeline, &by_variant, &mut names);
        let prefilter = Prefilter::new(&units, &names);
        let (mut always_global, mut always_by_variant) =
            (Vec::new(), vec![Vec::new(); by_variant.len()]);
        for (index, unit) in units.iter().enumerate() {
            if prefilter.is_some() && requirements(&unit.tree).is_some() {
                continue;
            }
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match unit.variant {
                Some(v) => always_by_variant[v as usize].push(index),
                None => always_global.push(index),
            }
        }
        Self {
            names,
            always_global,
            always_by_variant,
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
            always: self.always_global.len()
                + self.always_by_variant.iter().map(Vec::len).sum::<usize>(),
            needles: self.prefilter.as_ref().map_or(0, Prefilter::patterns),
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
        scratch.next_generation(self.units.len(), self.by_variant.len(), self.names.len());
        let generation = scratch.generation;
        let prefilter = if prefilter {
            self.prefilter.as_ref()
        } else {
            None
        };
        // One pass over the event's fields puts those rules read in their slots.
        let mut values = recycle(std::mem::take(&mut scratch.values));
        for (name, value) in event.fields.iter() {
            if let Some(&slot) = self.names.ids.get(name) {
                place(scratch, slot, Cow::Borrowed(value), &mut values);
            }
        }
        for &(slot, name) in &self.names.hot {
            if scratch.placed[slot as usize].0 != generation
                && let Some(value) = hot_field(event, name)
            {
                place(scratch, slot, Cow::Owned(value), &mut values);
            }
        }
        let view = View {
            generation,
            placed: &scratch.placed,
            values: &values,
        };
        self.router.route(
            &view,
            &mut scratch.variant_seen,
            &mut scratch.routed,
            &mut scratch.folded,
            generation,
        );
        // Needles are looked for only in the fields that rules of the routed variants read.
        if let Some(prefilter) = prefilter {
            for (slot, value) in &values {
                if let Some(field) = prefilter.field(*slot)
                    && field.serves(&scratch.variant_seen, generation)
                {
                    field.mark(*slot, value, &prefilter.required, scratch);
                }
            }
        }
        let view = View {
            generation,
            placed: &scratch.placed,
            values: &values,
        };
        let mut lower = Lower {
            generation,
            seen: &mut scratch.lower_seen,
            text: &mut scratch.lower,
        };
        let hits = &mut scratch.hits;
        let mut evaluate = |unit: &Unit| {
            if eval(&unit.tree, &view, &mut lower) {
                hits.push(unit.rule);
            }
        };
        match prefilter {
            Some(_) => {
                for &unit in scratch
                    .routed
                    .iter()
                    .flat_map(|v| &self.always_by_variant[*v as usize])
                {
                    evaluate(&self.units[unit as usize]);
                }
                for &unit in &self.always_global {
                    evaluate(&self.units[unit as usize]);
                }
                for &unit in &scratch.candidates {
                    let unit = &self.units[unit as usize];
                    let routed = unit
                        .variant
                        .is_none_or(|v| scratch.variant_seen[v as usize] == generation);
                    if routed {
                        evaluate(unit);
                    }
                }
            }
            None => {
                for &unit in scratch
                    .routed
                    .iter()
                    .flat_map(|v| &self.by_variant[*v as usize])
                {
                    evaluate(&self.units[unit as usize]);
                }
                for &unit in &self.global {
                    evaluate(&self.units[unit as usize]);
                }
            }
        }
        scratch.values = recycle(values);
        scratch.hits.sort_unstable();
        scratch.hits.dedup();
        &scratch.hits
    }
}

/// Puts one field of the event in its slot.
fn place<'e>(
    scratch: &mut Scratch,
    slot: Slot,
    value: Cow<'e, Value>,
    values: &mut Vec<(Slot, Cow<'e, Value>)>,
) {
    let at = u32::try_from(values.len()).unwrap_or(u32::MAX);
    scratch.placed[slot as usize] = (scratch.generation, at);
    values.push((slot, value));
}

/// An emptied vector of values borrowed from one event, for the next: the same allocation (the element types
/// differ only in a lifetime, so collecting the empty vector's iterator reuses its buffer).
fn recycle<'a, 'b>(mut values: Vec<(Slot, Cow<'a, Value>)>) -> Vec<(Slot, Cow<'b, Value>)> {
    values.clear();
    values
        .into_iter()
        .map(|_| unreachable!("the vector was just emptied"))
        .collect()
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

fn bind(
    spec: PredSpec,
    pipeline: &Pipeline,
    variant: Option<usize>,
    names: &mut Names,
) -> Result<Leaf, String> {
    let sel = match &spec.field {
        FieldSel::Named(name) => Sel::First(names.intern_all(pipeline.candidates(variant, name))),
        FieldSel::Keywords => Sel::Any(names.intern_all(pipeline.keyword_fields(variant))),
    };
    let reference = spec
        .reference
        .as_deref()
        .map(|name| names.intern_all(pipeline.candidates(variant, name)));
    Ok(Leaf {
        sel,
        matcher: spec.matcher,
        reference,
    })
}

/// A typed hot field of the event that is not in its field map, as a value.
fn hot_field(event: &Event, name: &str) -> Option<Value> {
    match name {
        fields::EVENT_ORIGINAL => Some(Value::Str(event.original_lossy().into_owned())),
        fields::TIMESTAMP => Some(Value::Str(event.timestamp.to_string())),
        fields::ORGANIZATION_ID => Some(Value::Str(event.tenant.to_string())),
        _ => None,
    }
}

fn eval(expr: &Expr<Leaf>, view: &View<'_, '_>, lower: &mut Lower<'_>) -> bool {
    match expr {
        Expr::And(xs) => xs.iter().all(|x| eval(x, view, lower)),
        Expr::Or(xs) => xs.iter().any(|x| eval(x, view, lower)),
        Expr::Not(x) => !eval(x, view, lower),
        Expr::AtLeast(n, xs) => {
            let mut count = 0usize;
            for x in xs {
                if eval(x, view, lower) {
                    count += 1;
                    if count >= *n {
                        return true;
                    }
                }
            }
            false
        }
        Expr::Const(b) => *b,
        Expr::Leaf(leaf) => eval_leaf(leaf, view, lower),
    }
}

fn eval_leaf(leaf: &Leaf, view: &View<'_, '_>, lower: &mut Lower<'_>) -> bool {
    let other = leaf
        .reference
        .as_deref()
        .and_then(|slots| view.first(slots))
        .map(|(_, v)| v);
    match &leaf.sel {
        Sel::First(slots) => match view.first(slots) {
            Some((slot, value)) => test_value(leaf, slot, value, lower, other),
            None => matches!(leaf.matcher, Matcher::Null | Matcher::Exists(false)),
        },
        Sel::Any(slots) => slots.iter().any(|&slot| {
            view.get(slot)
                .is_some_and(|value| test_value(leaf, slot, value, lower, other))
        }),
    }
}

/// Runs a leaf's matcher on one present value, folding a string's case once per event and field.
fn test_value(
    leaf: &Leaf,
    slot: Slot,
    value: &Value,
    lower: &mut Lower<'_>,
    other: Option<&Value>,
) -> bool {
    match (value, leaf.matcher.folds_case()) {
        (Value::Str(text), true) => {
            let folded = lower.of(slot, text);
            leaf.matcher.matches(value, Some(folded), other)
        }
        _ => leaf.matcher.matches(value, None, other),
    }
}

/// What a needle is: a literal that occurs in the field's lower-cased text (the whole text, its start, its end or
/// anywhere), or a number the field equals.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Text(String, TextOp),
    Number(f64),
}

impl Key {
    /// A guess at how often the needle occurs in a field, for choosing which of a rule's requirements to look
    /// for: a longer literal is rarer, and a literal that must be the whole text (or its start or end) rarer than
    /// one anywhere in it; a number (an event id, a logon type) is shared by a class of events.
    fn odds(&self) -> f64 {
        match self {
            Key::Text(text, place) => {
                let place = match place {
                    TextOp::Exact => 0.1,
                    TextOp::Prefix | TextOp::Suffix => 0.3,
                    TextOp::Contains => 1.0,
                };
                place * 0.6f64.powi(i32::try_from(text.len().min(24)).unwrap_or(24))
            }
            Key::Number(_) => 0.1,
        }
    }
}

/// A value a unit needs and the fields it may occur in (those its leaf reads).
type Needle<'u> = (&'u [Slot], Key);

/// Needles one of which occurs whenever the unit matches.
type Group<'u> = Vec<Needle<'u>>;

/// At most this many groups are required of a unit (a bit each in [`Scratch::found`]).
const MAX_GROUPS: usize = 8;

/// How often a group is expected to be satisfied by chance (the sum of its needles' odds).
fn odds(group: &Group<'_>) -> f64 {
    group.iter().map(|(_, key)| key.odds()).sum()
}

/// Groups of needles that a matching event satisfies all of, one needle per group at least (a conjunction of
/// disjunctions, necessary for the unit to match); `None` when no such group is known.
fn requirements(expr: &Expr<Leaf>) -> Option<Vec<Group<'_>>> {
    match expr {
        Expr::Leaf(leaf) => {
            let keys = match &leaf.matcher {
                Matcher::Number {
                    op: NumOp::Eq,
                    value,
                } => vec![Key::Number(*value)],
                Matcher::Regex(_, literals) if !literals.is_empty() => literals
                    .iter()
                    .map(|literal| Key::Text(literal.clone(), TextOp::Contains))
                    .collect(),
                matcher => {
                    let (anchor, place) = matcher.anchor()?;
                    vec![Key::Text(fold(anchor, false).into_owned(), place)]
                }
            };
            let slots = leaf.sel.slots();
            Some(vec![keys.into_iter().map(|key| (slots, key)).collect()])
        }
        // Every child's groups are necessary for the conjunction; the most selective ones are kept.
        Expr::And(xs) => all_of(xs),
        Expr::AtLeast(0, _) => None,
        Expr::AtLeast(n, xs) if *n >= xs.len() => all_of(xs),
        // A disjunction needs one of its children: one group made of each child's most selective group.
        Expr::Or(xs) | Expr::AtLeast(_, xs) => {
            let mut any = Vec::new();
            for x in xs {
                let best = requirements(x)?
                    .into_iter()
                    .min_by(|a, b| odds(a).total_cmp(&odds(b)))?;
                any.extend(best);
            }
            Some(vec![any])
        }
        Expr::Not(_) | Expr::Const(true) => None,
        // Never satisfied: a group without needles.
        Expr::Const(false) => Some(vec![Vec::new()]),
    }
}

fn all_of<'u>(xs: &'u [Expr<Leaf>]) -> Option<Vec<Group<'u>>> {
    let mut groups: Vec<Group<'u>> = xs.iter().filter_map(requirements).flatten().collect();
    if groups.is_empty() {
        return None;
    }
    groups.sort_by(|a, b| odds(a).total_cmp(&odds(b)));
    groups.truncate(MAX_GROUPS);
    Some(groups)
}

/// The needles of one field while the engine is built, each with the units that need it.
#[derive(Debug, Default)]
struct PatternSet {
    ids: FxHashMap<String, u32>,
    units: Vec<Vec<Need>>,
    numbers: FxHashMap<u64, Vec<Need>>,
}

/// A unit's need of a needle: the group of the unit's requirements it satisfies, and where in the text it must
/// be found (numbers: the field equals it).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Need {
    unit: u32,
    group: u8,
    place: TextOp,
}

/// Adds an entry to a needle's list once (a unit adds its needles in a row).
fn push_once<T: PartialEq>(list: &mut Vec<T>, entry: T) {
    if list.last() != Some(&entry) {
        list.push(entry);
    }
}

/// A number as a table key: equal numbers (`0.0` and `-0.0` too) give equal keys.
fn number_key(n: f64) -> u64 {
    (n + 0.0).to_bits()
}

impl PatternSet {
    fn add(&mut self, key: &Key, unit: u32, group: u8) {
        match key {
            Key::Number(n) => push_once(
                self.numbers.entry(number_key(*n)).or_default(),
                Need {
                    unit,
                    group,
                    place: TextOp::Exact,
                },
            ),
            Key::Text(needle, place) => {
                let next = u32::try_from(self.units.len()).unwrap_or(u32::MAX);
                let id = *self.ids.entry(needle.clone()).or_insert(next);
                if id == next {
                    self.units.push(Vec::new());
                }
                push_once(
                    &mut self.units[id as usize],
                    Need {
                        unit,
                        group,
                        place: *place,
                    },
                );
            }
        }
    }

    /// The field's needles, compiled. Fields that read the same literals (one Sigma field bound to the names of
    /// several formats) share one automaton through `built`, keyed by the sorted literals: less memory, and
    /// fewer cache lines for the event's fields to walk.
    fn build(
        self,
        units: &[Unit],
        built: &mut FxHashMap<Vec<String>, Needles>,
    ) -> Option<FieldNeedles> {
        let mut variants: Vec<u32> = Vec::new();
        let mut global = false;
        for need in self.units.iter().chain(self.numbers.values()).flatten() {
            match units[need.unit as usize].variant {
                Some(v) => variants.push(v),
                None => global = true,
            }
        }
        variants.sort_unstable();
        variants.dedup();
        let mut ordered: Vec<(String, u32)> = self.ids.into_iter().collect();
        ordered.sort_unstable();
        let mut by_pattern = self.units;
        // A literal that must be the whole text is looked up with the whole text; the automaton searches for
        // the others.
        let mut exact: FxHashMap<Box<str>, Box<[Need]>> = FxHashMap::default();
        let mut needles = Vec::new();
        let mut pattern_units = Vec::new();
        for (needle, id) in ordered {
            let (whole, other): (Vec<Need>, Vec<Need>) =
                std::mem::take(&mut by_pattern[id as usize])
                    .into_iter()
                    .partition(|need| need.place == TextOp::Exact);
            if !whole.is_empty() {
                exact.insert(needle.as_str().into(), whole.into());
            }
            if !other.is_empty() {
                needles.push(needle);
                pattern_units.push(other);
            }
        }
        let automaton = if needles.is_empty() {
            None
        } else if let Some(shared) = built.get(&needles) {
            Some(shared.clone())
        } else {
            let automaton = Needles::new(&needles)?;
            built.insert(needles, automaton.clone());
            Some(automaton)
        };
        Some(FieldNeedles {
            automaton,
            units: pattern_units,
            exact,
            numbers: self.numbers,
            variants: variants.into(),
            global,
        })
    }
}

/// The literals of a field, found all at once, overlapping: a double-array Aho-Corasick automaton, whose
/// transitions are one array access each. Searching the fields of the EVTX samples with SigmaHQ's literals, it
/// takes two thirds of the instructions of a pointer-linked automaton (`aho-corasick`), with about as many misses
/// of the last-level cache (and 10–15 % more of the first level).
/// Shared by the fields that read the same literals.
#[derive(Clone)]
struct Needles {
    automaton: Arc<DoubleArrayAhoCorasick<u32>>,
    /// The shortest literal's length: a shorter text holds none (short values are common: `-`, a logon type).
    shortest: usize,
}

impl std::fmt::Debug for Needles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Needles")
            .field("states", &self.automaton.num_states())
            .field("shortest", &self.shortest)
            .finish()
    }
}

impl Needles {
    /// `None` past the automaton's size limits (billions of states) or for an empty literal (requirements need
    /// two bytes at least): without a prefilter every routed rule is evaluated, which is slower but still exact.
    fn new(literals: &[String]) -> Option<Self> {
        let shortest = literals.iter().map(String::len).min()?;
        if shortest == 0 {
            return None;
        }
        let automaton = DoubleArrayAhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build_with_values(literals.iter().zip(0u32..))
            .ok()?;
        Some(Self {
            automaton: Arc::new(automaton),
            shortest,
        })
    }
}

/// One field's needles: the automaton of the literals and the table of the numbers of the leaves that read it.
#[derive(Debug)]
struct FieldNeedles {
    automaton: Option<Needles>,
    /// Per pattern of the automaton, the units that need it.
    units: Vec<Vec<Need>>,
    /// Per literal that must be the whole text, the units that need it.
    exact: FxHashMap<Box<str>, Box<[Need]>>,
    /// Per number (see [`number_key`]), the units that need it.
    numbers: FxHashMap<u64, Vec<Need>>,
    /// The variants of those units, and whether one of them has no logsource.
    variants: Box<[u32]>,
    global: bool,
}

impl FieldNeedles {
    /// Whether a unit of a variant the event was routed to (or of no logsource) has needles here.
    fn serves(&self, variant_seen: &[u32], generation: u32) -> bool {
        self.global
            || self
                .variants
                .iter()
                .any(|&v| variant_seen[v as usize] == generation)
    }

    /// Marks the units whose needles occur in the field `slot`'s `value`.
    fn mark(&self, slot: Slot, value: &Value, required: &[u8], scratch: &mut Scratch) {
        let generation = scratch.generation;
        let Scratch {
            folded,
            touched,
            found,
            candidates,
            lower_seen,
            lower,
            ..
        } = scratch;
        let mut mark = |need: &Need| {
            let unit = need.unit as usize;
            if touched[unit] != generation {
                touched[unit] = generation;
                found[unit] = 0;
            }
            let before = found[unit];
            found[unit] |= 1 << need.group;
            if found[unit] == required[unit] && before != required[unit] {
                candidates.push(need.unit);
            }
        };
        if !self.numbers.is_empty() {
            any_number(value, &mut |n| {
                for need in self.numbers.get(&number_key(n)).into_iter().flatten() {
                    mark(need);
                }
                false
            });
        }
        if self.automaton.is_none() && self.exact.is_empty() {
            return;
        }
        match value {
            // A string is folded once per event: evaluation reads the same lower-cased text.
            Value::Str(text) => {
                let index = slot as usize;
                lower_seen[index] = generation;
                let folded = &mut lower[index];
                folded.clear();
                fold_into(text, folded);
                self.scan(folded, &mut mark);
            }
            other => each_text(other, &mut |text| {
                folded.clear();
                fold_into(text, folded);
                self.scan(folded, &mut mark);
            }),
        }
    }

    /// Hands `mark` the units of every literal that occurs in its place in the lower-cased `text`.
    fn scan(&self, text: &str, mark: &mut impl FnMut(&Need)) {
        if let Some(needs) = self.exact.get(text) {
            needs.iter().for_each(&mut *mark);
        }
        let Some(needles) = self.automaton.as_ref().filter(|n| text.len() >= n.shortest) else {
            return;
        };
        for found in needles.automaton.find_overlapping_iter(text) {
            let (start, end) = (found.start() == 0, found.end() == text.len());
            for need in &self.units[found.value() as usize] {
                let fits = match need.place {
                    TextOp::Contains => true,
                    TextOp::Prefix => start,
                    TextOp::Suffix => end,
                    TextOp::Exact => start && end,
                };
                if fits {
                    mark(need);
                }
            }
        }
    }
}

impl Prefilter {
    fn new(units: &[Unit], names: &Names) -> Option<Self> {
        let mut by_slot: FxHashMap<Slot, PatternSet> = FxHashMap::default();
        let mut required = vec![0u8; units.len()];
        for (index, unit) in units.iter().enumerate() {
            let Some(groups) = requirements(&unit.tree) else {
                continue;
            };
            // `requirements` gives at least one group and keeps at most `MAX_GROUPS` (8): a bit each of a `u8`.
            required[index] = u8::MAX >> (MAX_GROUPS - groups.len());
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            for (group, needles) in (0u8..).zip(groups) {
                for (slots, key) in needles {
                    for &slot in slots {
                        by_slot.entry(slot).or_default().add(&key, index, group);
                    }
                }
            }
        }
        let mut field_of = vec![0; names.len()];
        let mut fields = Vec::with_capacity(by_slot.len());
        let mut built = FxHashMap::default();
        for (slot, set) in by_slot {
            fields.push(set.build(units, &mut built)?);
            field_of[slot as usize] = u32::try_from(fields.len()).unwrap_or(u32::MAX);
        }
        Some(Self {
            field_of,
            fields,
            required,
        })
    }

    fn patterns(&self) -> usize {
        self.fields
            .iter()
            .map(|f| f.units.len() + f.exact.len() + f.numbers.len())
            .sum()
    }

    /// The needles of `slot`, if any leaf with needles reads it.
    fn field(&self, slot: Slot) -> Option<&FieldNeedles> {
        let index = self.field_of.get(slot as usize)?.checked_sub(1)?;
        self.fields.get(index as usize)
    }
}

impl Router {
    fn new(pipeline: &Pipeline, by_variant: &[Vec<u32>], names: &mut Names) -> Self {
        let mut router = Router::default();
        let mut keyed: FxHashMap<Slot, VariantsByValue> = FxHashMap::default();
        for (index, variant) in pipeline.variants().iter().enumerate() {
            let routes: Vec<Route> = variant
                .when
                .iter()
                .map(|condition| match condition {
                    Condition::Equals { field, values } => Route::Equals {
                        slot: names.intern(field),
                        texts: values.clone(),
                        integers: values
                            .iter()
                            .filter_map(|v| v.parse().ok().filter(|n: &i64| n.to_string() == *v))
                            .collect(),
                    },
                    Condition::Exists { field, present } => {
                        Route::Exists(names.intern(field), *present)
                    }
                })
                .collect();
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            if !by_variant[index as usize].is_empty() {
                match routes.first() {
                    Some(Route::Equals { slot, texts, .. }) => {
                        let by_value = keyed.entry(*slot).or_default();
                        for value in texts {
                            by_value.entry(value.clone()).or_default().push(index);
                        }
                    }
                    _ => router.unkeyed.push(index),
                }
            }
            router.conditions.push(routes);
        }
        let mut keyed: Vec<_> = keyed.into_iter().collect();
        keyed.sort_by_key(|(slot, _)| *slot);
        router.keyed = keyed;
        router
    }

    /// Puts the variants `view`'s event belongs to in `routed`; `text` is a buffer.
    fn route(
        &self,
        view: &View<'_, '_>,
        seen: &mut [u32],
        routed: &mut Vec<u32>,
        text: &mut String,
        generation: u32,
    ) {
        for (slot, by_value) in &self.keyed {
            let Some(value) = view.get(*slot) else {
                continue;
            };
            each_text(value, &mut |t| {
                text.clear();
                fold_into(t, text);
                for &variant in by_value.get(text.as_str()).into_iter().flatten() {
                    let seen = &mut seen[variant as usize];
                    if *seen != generation
                        && self.conditions[variant as usize][1..]
                            .iter()
                            .all(|c| holds(c, view))
                    {
                        *seen = generation;
                        routed.push(variant);
                    }
                }
            });
        }
        for &variant in &self.unkeyed {
            if self.conditions[variant as usize]
                .iter()
                .all(|c| holds(c, view))
            {
                seen[variant as usize] = generation;
                routed.push(variant);
            }
        }
    }
}

fn holds(route: &Route, view: &View<'_, '_>) -> bool {
    match route {
        Route::Exists(slot, present) => view.get(*slot).is_some() == *present,
        Route::Equals {
            slot,
            texts,
            integers,
        } => match view.get(*slot) {
            None => false,
            Some(Value::Int(n)) => integers.contains(n),
            Some(value) => {
                let mut found = false;
                each_text(value, &mut |text| {
                    if !found {
                        let text = fold(text, false);
                        found = texts.iter().any(|v| text == v.as_str());
                    }
                });
                found
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycling_values_keeps_their_allocation() {
        let text = Value::Str("a".into());
        let mut values = vec![(0, Cow::Borrowed(&text)); 40];
        values.push((1, Cow::Owned(Value::Str("b".into()))));
        let capacity = values.capacity();
        let recycled: Vec<(Slot, Cow<'static, Value>)> = recycle(values);
        assert!(recycled.is_empty());
        assert_eq!(recycled.capacity(), capacity);
    }

    /// A Sysmon event is routed by its channel and then its event id: an integer id is compared as a number,
    /// and matches exactly what its decimal text would.
    #[test]
    fn an_integer_event_id_routes_like_its_decimal_text() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "r.yml",
            "title: r\nlogsource: { product: windows, category: process_creation }\ndetection:\n  sel: { Image|endswith: '\\x.exe' }\n  condition: sel\n",
        );
        let engine = Engine::build(&set, &Pipeline::builtin());
        assert!(engine.problems().is_empty(), "{:?}", engine.problems());
        let at = "2026-12-06T00:00:00Z".parse().unwrap();
        let mut scratch = engine.scratch();
        for (id, routed) in [
            (serde_json::json!(1), true),
            (serde_json::json!("1"), true),
            (serde_json::json!(11), false),
            (serde_json::json!("01"), false),
        ] {
            let document = serde_json::json!({
                "winlog": {
                    "channel": "Microsoft-Windows-Sysmon/Operational",
                    "event_id": id,
                    "event_data": { "Image": "C:\\x.exe" },
                },
            });
            let hits = engine.matches(&crate::sample_event(&document, at), &mut scratch);
            assert_eq!(!hits.is_empty(), routed, "event id {id}");
        }
    }
}
