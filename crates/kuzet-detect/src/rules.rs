//! Sigma documents read from YAML text: detection rules with the metadata alerts carry, filters, correlation rules,
//! and the problems of documents that could not be read. No I/O: the caller reads the files and names them.

use std::fmt;

use rsigma_parser::{CorrelationRule, FilterRule, SigmaRule};

use crate::pipeline::Logsource;

/// How severe a rule says its matches are (Sigma `level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub(crate) fn of(level: Option<rsigma_parser::Level>) -> Self {
        match level {
            Some(rsigma_parser::Level::Informational) => Level::Informational,
            Some(rsigma_parser::Level::Low) => Level::Low,
            // The Sigma specification leaves a missing level open; medium is what a triage queue can work with.
            Some(rsigma_parser::Level::Medium) | None => Level::Medium,
            Some(rsigma_parser::Level::High) => Level::High,
            Some(rsigma_parser::Level::Critical) => Level::Critical,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an alert says about the rule that raised it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleMeta {
    /// The rule's `id` (a UUID in SigmaHQ), else its title.
    pub id: String,
    /// The rule's `name`, by which correlation rules may refer to it.
    pub name: Option<String>,
    pub title: String,
    pub level: Level,
    pub status: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub logsource: Logsource,
    /// Where the rule was read from (a path, usually).
    pub origin: String,
    /// Sample events shipped with the rule (the `samples` attribute), run by `kuzet rules test`.
    #[serde(skip)]
    pub samples: Samples,
}

/// Events a rule must match and events it must not, as JSON documents (nested or with dotted names), in the
/// rule's own file:
///
/// ```yaml
/// samples:
///   match:
///     - { winlog.channel: Security, winlog.event_id: 1102 }
///   no_match:
///     - { winlog.channel: Security, winlog.event_id: 4624 }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub matching: Vec<serde_json::Value>,
    pub not_matching: Vec<serde_json::Value>,
}

impl Samples {
    pub fn is_empty(&self) -> bool {
        self.matching.is_empty() && self.not_matching.is_empty()
    }

    fn of(rule: &SigmaRule) -> Result<Self, String> {
        let Some(value) = rule.custom_attributes.get("samples") else {
            return Ok(Self::default());
        };
        let value = serde_json::to_value(value).map_err(|e| format!("samples: {e}"))?;
        let Some(map) = value.as_object() else {
            return Err("samples: expected a mapping with `match` and `no_match` lists".to_owned());
        };
        let mut samples = Self::default();
        for (key, list) in map {
            let target = match key.as_str() {
                "match" => &mut samples.matching,
                "no_match" => &mut samples.not_matching,
                other => {
                    return Err(format!(
                        "samples: unknown key `{other}`, expected `match` or `no_match`"
                    ));
                }
            };
            let Some(items) = list.as_array() else {
                return Err(format!("samples.{key}: expected a list of events"));
            };
            for (index, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(format!(
                        "samples.{key}[{index}]: expected an event (a mapping)"
                    ));
                }
                target.push(item.clone());
            }
        }
        Ok(samples)
    }
}

/// Why a document was not loaded, or not fully.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The YAML or the Sigma structure is invalid.
    Parse,
    /// The rule's logsource is not in the pipeline, so no event could ever reach it.
    Logsource,
    /// A detection, modifier or value the engine cannot compile.
    Compile,
    /// A filter that names no loaded rule, or a correlation rule that names no loaded rule.
    Reference,
}

impl ProblemKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProblemKind::Parse => "parse",
            ProblemKind::Logsource => "logsource",
            ProblemKind::Compile => "compile",
            ProblemKind::Reference => "reference",
        }
    }
}

/// One document that was not loaded, named by where it came from and its id, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleProblem {
    pub origin: String,
    /// The rule's id or title, when the document got that far.
    pub rule: Option<String>,
    pub kind: ProblemKind,
    pub reason: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(
                f,
                "{}: rule {rule}: {}: {}",
                self.origin,
                self.kind.as_str(),
                self.reason
            ),
            None => write!(
                f,
                "{}: {}: {}",
                self.origin,
                self.kind.as_str(),
                self.reason
            ),
        }
    }
}

/// Sigma documents read from any number of YAML texts.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    pub(crate) rules: Vec<(RuleMeta, SigmaRule)>,
    pub(crate) filters: Vec<(String, FilterRule)>,
    pub(crate) correlations: Vec<(String, CorrelationRule)>,
    pub(crate) problems: Vec<RuleProblem>,
}

impl RuleSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every document of one YAML text (`---`-separated, with Sigma's `action: global` collections).
    /// `origin` names the text in problems. A bad document is a problem; the others load.
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
        let collection = match rsigma_parser::parse_sigma_yaml(text) {
            Ok(collection) => collection,
            Err(error) => {
                self.problem(
                    origin,
                    None,
                    ProblemKind::Parse,
                    one_line(&error.to_string()),
                );
                return;
            }
        };
        for error in collection.errors {
            self.problem(origin, None, ProblemKind::Parse, one_line(&error));
        }
        for rule in collection.rules {
            let mut meta = meta_of(origin, &rule);
            match Samples::of(&rule) {
                Ok(samples) => meta.samples = samples,
                Err(reason) => {
                    self.problem(origin, Some(meta.id.clone()), ProblemKind::Parse, reason);
                    continue;
                }
            }
            self.rules.push((meta, rule));
        }
        for filter in collection.filters {
            self.filters.push((origin.to_owned(), filter));
        }
        for correlation in collection.correlations {
            self.correlations.push((origin.to_owned(), correlation));
        }
    }

    pub(crate) fn problem(
        &mut self,
        origin: &str,
        rule: Option<String>,
        kind: ProblemKind,
        reason: String,
    ) {
        self.problems.push(RuleProblem {
            origin: origin.to_owned(),
            rule,
            kind,
            reason,
        });
    }

    /// Detection rules read so far.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }

    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    /// Documents that could not be read.
    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }
}

fn meta_of(origin: &str, rule: &SigmaRule) -> RuleMeta {
    RuleMeta {
        id: rule.id.clone().unwrap_or_else(|| rule.title.clone()),
        name: rule.name.clone(),
        title: rule.title.clone(),
        level: Level::of(rule.level),
        status: rule.status.map(|s| format!("{s:?}").to_lowercase()),
        description: rule.description.clone(),
        author: rule.author.clone(),
        tags: rule.tags.clone(),
        references: rule.references.clone(),
        falsepositives: rule.falsepositives.clone(),
        logsource: Logsource {
            product: rule.logsource.product.clone(),
            category: rule.logsource.category.clone(),
            service: rule.logsource.service.clone(),
        },
        origin: origin.to_owned(),
        samples: Samples::default(),
    }
}

pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_document_is_a_problem_and_the_others_load() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "a.yml",
            "title: good\nid: r1\nlogsource: {product: windows}\ndetection: {sel: {EventID: 1}, condition: sel}\nlevel: high\n",
        );
        set.add_yaml("b.yml", "title: [unclosed\n");
        set.add_yaml(
            "c.yml",
            "title: no detection\nlogsource: {product: windows}\n",
        );
        assert_eq!(set.rule_count(), 1);
        assert_eq!(set.rules[0].0.level, Level::High);
        assert_eq!(set.rules[0].0.id, "r1");
        let origins: Vec<_> = set.problems().iter().map(|p| p.origin.as_str()).collect();
        assert_eq!(origins, ["b.yml", "c.yml"]);
        assert!(set.problems().iter().all(|p| p.kind == ProblemKind::Parse));
    }
}
