//! The criticality rubric: an incident's facts scored into a level 0–5. The default follows the public national
//! scale the regulation notes describe (functional and information impact, recoverability, scope, facility class,
//! attack stage); the operator may replace it with a versioned TOML file of the same shape. Every assessment
//! explains itself: each factor's points and the thresholds applied.

use serde::Deserialize;

use kuzet_model::Criticality;

use crate::CasesError;

/// The facts the rubric scores. Each factor names one of its values in the rubric file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `none`, `low`, `medium`, `high`: how much of the service is lost.
    pub functional_impact: String,
    /// `none`, `personal`, `proprietary`, `restricted`.
    pub information_impact: String,
    /// `regular`, `supplemented`, `extended`, `not_recoverable`.
    pub recoverability: String,
    /// `one_facility`, `several_facilities`, `several_organizations`.
    pub scope: String,
    /// The most demanding facility class concerned (1–3), and whether one is critical infrastructure.
    pub facility_class: u8,
    pub critical_infrastructure: bool,
    /// `attempt`, `ongoing`, `succeeded`.
    pub stage: String,
    /// An imminent threat to lives or to wide-scale critical services: level 5 whatever the score.
    pub threat_to_life: bool,
    /// Not substantiated (or of no consequence): level 0 whatever the score.
    pub unsubstantiated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub version: u32,
    pub functional_impact: std::collections::BTreeMap<String, u32>,
    pub information_impact: std::collections::BTreeMap<String, u32>,
    pub recoverability: std::collections::BTreeMap<String, u32>,
    pub scope: std::collections::BTreeMap<String, u32>,
    pub stage: std::collections::BTreeMap<String, u32>,
    /// Points for facility class 1, 2, 3.
    pub facility_class: [u32; 3],
    pub critical_infrastructure: u32,
    /// The lowest score of levels 1, 2, 3, 4 and 5; strictly increasing.
    pub thresholds: [u32; 5],
}

/// The default rubric, as a file an operator can copy and change.
pub const DEFAULT_RUBRIC: &str = include_str!("../rubric/default.toml");

/// A level and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub level: Criticality,
    pub score: u32,
    /// (factor, value, points), in rubric order.
    pub contributions: Vec<(&'static str, String, u32)>,
    pub rubric_version: u32,
    pub explanation: String,
}

impl Rubric {
    pub fn parse(source_name: &str, text: &str) -> Result<Self, CasesError> {
        let bad = |reason: String| CasesError::Data {
            kind: "rubric",
            source_name: source_name.to_owned(),
            reason,
        };
        let rubric: Rubric = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if rubric.thresholds.windows(2).any(|w| w[0] >= w[1]) || rubric.thresholds[0] == 0 {
            return Err(bad(format!(
                "thresholds {:?} must be positive and strictly increasing",
                rubric.thresholds
            )));
        }
        Ok(rubric)
    }

    pub fn default_rubric() -> Result<Self, CasesError> {
        Self::parse("default rubric", DEFAULT_RUBRIC)
    }

    pub fn assess(&self, facts: &Facts) -> Result<Assessment, CasesError> {
        let mut contributions = Vec::new();
        let mut pick = |factor: &'static str,
                        table: &std::collections::BTreeMap<String, u32>,
                        value: &str|
         -> Result<u32, CasesError> {
            let points = *table.get(value).ok_or_else(|| {
                let known: Vec<_> = table.keys().map(String::as_str).collect();
                CasesError::Incident(format!(
                    "{factor} `{value}`: unknown (one of {})",
                    known.join(", ")
                ))
            })?;
            contributions.push((factor, value.to_owned(), points));
            Ok(points)
        };
        let mut score = pick(
            "functional_impact",
            &self.functional_impact,
            &facts.functional_impact,
        )? + pick(
            "information_impact",
            &self.information_impact,
            &facts.information_impact,
        )? + pick(
            "recoverability",
            &self.recoverability,
            &facts.recoverability,
        )? + pick("scope", &self.scope, &facts.scope)?
            + pick("stage", &self.stage, &facts.stage)?;
        let class_points = match facts.facility_class {
            1..=3 => self.facility_class[usize::from(facts.facility_class - 1)],
            other => {
                return Err(CasesError::Incident(format!(
                    "facility class {other}: must be 1, 2 or 3"
                )));
            }
        };
        contributions.push((
            "facility_class",
            facts.facility_class.to_string(),
            class_points,
        ));
        score += class_points;
        if facts.critical_infrastructure {
            contributions.push((
                "critical_infrastructure",
                "yes".into(),
                self.critical_infrastructure,
            ));
            score += self.critical_infrastructure;
        }
        let by_score = self.thresholds.iter().filter(|t| score >= **t).count() as u8;
        let (level, why) = if facts.unsubstantiated {
            (
                0,
                "unsubstantiated or of no consequence: level 0".to_owned(),
            )
        } else if facts.threat_to_life {
            (
                5,
                "imminent threat to lives or wide-scale critical services: level 5".to_owned(),
            )
        } else {
            (
                by_score,
                format!("score {score} against thresholds {:?}", self.thresholds),
            )
        };
        let parts: Vec<String> = contributions
            .iter()
            .map(|(f, v, p)| format!("{f}={v} (+{p})"))
            .collect();
        Ok(Assessment {
            // 0..=5 by construction: at most five thresholds are passed, and the two overrides are 0 and 5.
            level: Criticality::new(level).map_err(|e| CasesError::Incident(e.to_string()))?,
            score,
            explanation: format!("{}; {why}; rubric v{}", parts.join(", "), self.version),
            contributions,
            rubric_version: self.version,
        })
    }
}
