//! Response plans as data: a template holds the eleven mandatory measures of R12 (each with its owner and due
//! time after confirmation), the escalation steps of levels 3–5, and tasks for some categories. Confirming an
//! incident instantiates the template into tasks. A template without all eleven measures is refused.

use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::{CasesError, Category, Incident};

/// The embedded default plan.
pub const DEFAULT_PLAN: &str = include_str!("../plans/default.toml");

/// The mandatory measures (R12), by number.
pub const MANDATORY_MEASURES: u8 = 11;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub en: String,
    pub ru: String,
    pub kk: String,
}

impl Title {
    /// The title in `lang`.
    pub fn pick(&self, lang: crate::Lang) -> &str {
        match lang {
            crate::Lang::En => &self.en,
            crate::Lang::Ru => &self.ru,
            crate::Lang::Kk => &self.kk,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskTemplate {
    #[serde(default)]
    number: Option<u8>,
    #[serde(default)]
    category: Option<String>,
    owner: String,
    due_after: String,
    title: Title,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    version: u32,
    name: String,
    measure: Vec<TaskTemplate>,
    #[serde(default)]
    escalation: Vec<TaskTemplate>,
    #[serde(default)]
    category_task: Vec<TaskTemplate>,
}

/// Where a task comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// Mandatory measure 1–11 of R12.
    Measure(u8),
    /// An escalation step of levels 3–5.
    Escalation,
    /// A task of the incident's category.
    Category,
}

impl TaskKind {
    /// `measure-1` … `measure-11`, `escalation`, `category`.
    pub fn name(self) -> String {
        match self {
            TaskKind::Measure(n) => format!("measure-{n}"),
            TaskKind::Escalation => "escalation".into(),
            TaskKind::Category => "category".into(),
        }
    }
}

/// One task of an instantiated plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTask {
    pub kind: TaskKind,
    pub title: Title,
    /// A role name: `analyst`, `tenant-owner`, `isoc-admin`.
    pub owner: String,
    pub due: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Task {
    kind: TaskKind,
    category: Option<Category>,
    owner: String,
    due_after: SignedDuration,
    title: Title,
}

/// A response plan template, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePlan {
    pub name: String,
    pub version: u32,
    tasks: Vec<Task>,
}

fn duration(text: &str) -> Result<SignedDuration, String> {
    if let Some(days) = text.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
        return Ok(SignedDuration::from_hours(days * 24));
    }
    SignedDuration::from_str(text).map_err(|e| format!("duration `{text}`: {e}"))
}

impl ResponsePlan {
    pub fn default_plan() -> Result<Self, CasesError> {
        Self::parse("default plan", DEFAULT_PLAN)
    }

    /// Parses and checks a plan template; `source_name` names it in errors.
    pub fn parse(source_name: &str, text: &str) -> Result<Self, CasesError> {
        let bad = |reason: String| CasesError::Data {
            kind: "response plan",
            source_name: source_name.to_owned(),
            reason,
        };
        let file: PlanFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if file.version != 1 {
            return Err(bad(format!(
                "format version {} is not supported (this build reads 1)",
                file.version
            )));
        }
        let mut tasks = Vec::new();
        let mut convert = |t: &TaskTemplate, kind: TaskKind| -> Result<(), CasesError> {
            if !matches!(t.owner.as_str(), "analyst" | "tenant-owner" | "isoc-admin") {
                return Err(bad(format!(
                    "owner `{}`: analyst, tenant-owner or isoc-admin",
                    t.owner
                )));
            }
            let due_after = duration(&t.due_after).map_err(bad)?;
            if due_after.is_negative() {
                return Err(bad(format!("due_after `{}` is negative", t.due_after)));
            }
            let category = match (&t.category, kind) {
                (Some(c), TaskKind::Category) => {
                    Some(Category::parse(c).map_err(|e| bad(e.to_string()))?)
                }
                (None, TaskKind::Category) => {
                    return Err(bad("a category task needs `category`".into()));
                }
                (Some(_), _) => return Err(bad("only category tasks have `category`".into())),
                (None, _) => None,
            };
            if [&t.title.en, &t.title.ru, &t.title.kk]
                .iter()
                .any(|s| s.trim().is_empty())
            {
                return Err(bad("every title needs en, ru and kk".into()));
            }
            tasks.push(Task {
                kind,
                category,
                owner: t.owner.clone(),
                due_after,
                title: t.title.clone(),
            });
            Ok(())
        };
        let mut seen = [false; MANDATORY_MEASURES as usize];
        for measure in &file.measure {
            let number = measure
                .number
                .ok_or_else(|| bad("a measure needs `number`".into()))?;
            if !(1..=MANDATORY_MEASURES).contains(&number)
                || std::mem::replace(&mut seen[usize::from(number - 1)], true)
            {
                return Err(bad(format!("measure {number}: not 1–11, or listed twice")));
            }
            convert(measure, TaskKind::Measure(number))?;
        }
        if let Some(missing) = seen.iter().position(|s| !s) {
            return Err(bad(format!(
                "misses mandatory measure {} (R12 requires all eleven)",
                missing + 1
            )));
        }
        for step in &file.escalation {
            convert(step, TaskKind::Escalation)?;
        }
        for task in &file.category_task {
            convert(task, TaskKind::Category)?;
        }
        Ok(Self {
            name: file.name,
            version: file.version,
            tasks,
        })
    }

    /// The plan's tasks for `incident` confirmed at `confirmed`: the eleven measures, the escalation steps when
    /// its level is 3–5, and the tasks of its category; each due its offset after confirmation.
    pub fn instantiate(
        &self,
        incident: &Incident,
        confirmed: Timestamp,
    ) -> Result<Vec<PlanTask>, CasesError> {
        let mut out = Vec::new();
        for task in &self.tasks {
            let applies = match task.kind {
                TaskKind::Measure(_) => true,
                TaskKind::Escalation => incident.escalates(),
                TaskKind::Category => task.category == Some(incident.category),
            };
            if applies {
                out.push(PlanTask {
                    kind: task.kind,
                    title: task.title.clone(),
                    owner: task.owner.clone(),
                    due: confirmed
                        .checked_add(task.due_after)
                        .map_err(|e| CasesError::Incident(e.to_string()))?,
                });
            }
        }
        Ok(out)
    }
}
