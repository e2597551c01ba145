//! The Sigma processing pipeline as data: which events a rule's `logsource` means and where each Sigma field name
//! is found in a Kuzet event. Format: `docs/formats/sigma-pipeline.md`; the shipped one is `pipelines/kuzet.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{DetectError, Result};

/// The format tag the first line of a pipeline file must carry.
pub const PIPELINE_FORMAT: &str = "kuzet-sigma-pipeline/1";

const BUILTIN: &str = include_str!("../pipelines/kuzet.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    format: String,
    #[serde(default)]
    products: BTreeMap<String, ProductSpec>,
    #[serde(default)]
    logsource: Vec<LogsourceSpec>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductSpec {
    #[serde(default)]
    templates: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourceSpec {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    when: Vec<ConditionSpec>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionSpec {
    field: String,
    #[serde(default)]
    equals: Vec<String>,
    exists: Option<bool>,
}

/// One condition of a [`Variant`] on an event field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The field's text equals one of these, compared in lower case (an array: any element).
    Equals { field: String, values: Vec<String> },
    /// The field is present (`true`) or absent (`false`).
    Exists { field: String, present: bool },
}

impl Condition {
    pub fn field(&self) -> &str {
        match self {
            Condition::Equals { field, .. } | Condition::Exists { field, .. } => field,
        }
    }
}

/// One alternative of a logsource: the events it means and the field names that differ for them.
#[derive(Debug, Clone)]
pub struct Variant {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
    pub when: Vec<Condition>,
    fields: BTreeMap<String, Vec<String>>,
}

impl Variant {
    /// `product/category/service` with `*` for what it leaves open, for reports.
    pub fn label(&self) -> String {
        let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "*".to_owned());
        format!(
            "{}/{}/{}",
            part(&self.product),
            part(&self.category),
            part(&self.service)
        )
    }
}

/// A rule's `logsource`, reduced to what routing uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Logsource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl Logsource {
    pub fn is_empty(&self) -> bool {
        self.product.is_none() && self.category.is_none() && self.service.is_none()
    }
}

impl std::fmt::Display for Logsource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (key, value) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(value) = value {
                parts.push(format!("{key}: {value}"));
            }
        }
        if parts.is_empty() {
            f.write_str("(any)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// A parsed pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    name: String,
    products: BTreeMap<String, ProductSpec>,
    variants: Vec<Variant>,
}

impl Pipeline {
    /// The pipeline shipped with Kuzet.
    pub fn builtin() -> Self {
        match Self::parse("builtin", BUILTIN) {
            Ok(pipeline) => pipeline,
            // The shipped file is parsed by a unit test in every build, so this arm is unreachable in a release.
            Err(error) => unreachable!("the builtin sigma pipeline is invalid: {error}"),
        }
    }

    /// Parses a pipeline file; `name` (a path, usually) names it in errors.
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let fail = |reason: String| DetectError::Pipeline {
            name: name.to_owned(),
            reason,
        };
        let file: PipelineFile = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
        if file.format != PIPELINE_FORMAT {
            return Err(fail(format!(
                "format is `{}`, expected `{PIPELINE_FORMAT}`",
                file.format
            )));
        }
        let mut variants = Vec::with_capacity(file.logsource.len());
        for (index, spec) in file.logsource.into_iter().enumerate() {
            let mut when = Vec::with_capacity(spec.when.len());
            for condition in spec.when {
                when.push(match (condition.exists, condition.equals.is_empty()) {
                    (Some(present), true) => Condition::Exists {
                        field: condition.field,
                        present,
                    },
                    (None, false) => Condition::Equals {
                        field: condition.field,
                        values: condition.equals.iter().map(|v| v.to_lowercase()).collect(),
                    },
                    _ => {
                        return Err(fail(format!(
                            "logsource {} condition on `{}`: give exactly one of `equals` (non-empty) or `exists`",
                            index + 1,
                            condition.field
                        )));
                    }
                });
            }
            if when.is_empty() {
                return Err(fail(format!(
                    "logsource {}: `when` is empty, so it would match every event",
                    index + 1
                )));
            }
            variants.push(Variant {
                product: spec.product,
                category: spec.category,
                service: spec.service,
                when,
                fields: spec.fields,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            products: file.products,
            variants,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The variants a rule's logsource means; empty when the pipeline does not know it. A rule without a product
    /// matches the entries of its category or service for any product; a key the rule leaves out must be absent
    /// from the entry (except the product).
    pub fn variants_for(&self, logsource: &Logsource) -> Vec<usize> {
        let same = |rule: &Option<String>, entry: &Option<String>, open: bool| match (rule, entry) {
            (Some(r), Some(e)) => r.eq_ignore_ascii_case(e),
            (None, None) => true,
            (None, Some(_)) => open,
            (Some(_), None) => false,
        };
        self.variants
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                same(&logsource.product, &v.product, true)
                    && same(&logsource.category, &v.category, false)
                    && same(&logsource.service, &v.service, false)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Where the Sigma field `name` is looked for in an event of `variant` (`None`: a rule with no logsource),
    /// in order: the variant's own mapping, the product's, the product's templates, the name itself.
    pub fn candidates(&self, variant: Option<usize>, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        fn push(out: &mut Vec<String>, candidate: String) {
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
        let variant = variant.and_then(|v| self.variants.get(v));
        if let Some(variant) = variant {
            for candidate in variant.fields.get(name).into_iter().flatten() {
                push(&mut out, candidate.clone());
            }
        }
        if let Some(product) = self.product_of(variant) {
            for candidate in product.fields.get(name).into_iter().flatten() {
                push(&mut out, candidate.clone());
            }
            // A template names a container of the product's own names, for names without a mapping; dotted
            // names are already full paths.
            let mapped = !out.is_empty();
            if !mapped && !name.contains('.') {
                for template in &product.templates {
                    push(&mut out, template.replace("{}", name));
                }
            }
        }
        push(&mut out, name.to_owned());
        out
    }

    /// The fields a Sigma `keywords` detection searches in events of `variant`.
    pub fn keyword_fields(&self, variant: Option<usize>) -> Vec<String> {
        let variant = variant.and_then(|v| self.variants.get(v));
        match self.product_of(variant) {
            Some(product) if !product.keywords.is_empty() => product.keywords.clone(),
            _ => vec![kuzet_model::fields::MESSAGE.to_owned()],
        }
    }

    fn product_of(&self, variant: Option<&Variant>) -> Option<&ProductSpec> {
        variant
            .and_then(|v| v.product.as_deref())
            .and_then(|p| self.products.get(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logsource(
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Logsource {
        Logsource {
            product: product.map(str::to_owned),
            category: category.map(str::to_owned),
            service: service.map(str::to_owned),
        }
    }

    #[test]
    fn the_builtin_pipeline_parses() {
        let pipeline = Pipeline::builtin();
        assert!(pipeline.variants().len() > 100);
    }

    #[test]
    fn process_creation_means_sysmon_1_and_security_4688() {
        let pipeline = Pipeline::builtin();
        let found =
            pipeline.variants_for(&logsource(Some("windows"), Some("process_creation"), None));
        assert_eq!(found.len(), 2);
        let security = found[1];
        assert_eq!(
            pipeline.candidates(Some(security), "Image"),
            vec!["winlog.event_data.NewProcessName", "Image"]
        );
        assert_eq!(
            pipeline.candidates(Some(found[0]), "Image"),
            vec!["winlog.event_data.Image", "winlog.user_data.Image", "Image"]
        );
        assert_eq!(
            pipeline.candidates(Some(found[0]), "EventID"),
            vec!["winlog.event_id", "EventID"]
        );
        assert_eq!(
            pipeline.candidates(Some(found[0]), "process.name"),
            vec!["process.name"]
        );
    }

    #[test]
    fn a_category_without_product_matches_every_product() {
        let pipeline = Pipeline::builtin();
        let all = pipeline.variants_for(&logsource(None, Some("process_creation"), None));
        assert_eq!(all.len(), 3, "windows sysmon, windows 4688, linux auditd");
        assert!(
            pipeline
                .variants_for(&logsource(Some("windows"), None, None))
                .len()
                == 1
        );
        assert!(
            pipeline
                .variants_for(&logsource(Some("nosuch"), None, None))
                .is_empty()
        );
        assert!(
            pipeline
                .variants_for(&logsource(Some("windows"), None, Some("nosuch")))
                .is_empty()
        );
    }

    #[test]
    fn bad_pipelines_are_refused_with_the_reason() {
        let error = Pipeline::parse("p.toml", "format = \"other/1\"").unwrap_err();
        assert_eq!(
            error.to_string(),
            "sigma pipeline p.toml: format is `other/1`, expected `kuzet-sigma-pipeline/1`"
        );
        let text =
            "format = \"kuzet-sigma-pipeline/1\"\n[[logsource]]\nproduct = \"x\"\nwhen = []\n";
        assert!(
            Pipeline::parse("p.toml", text)
                .unwrap_err()
                .to_string()
                .contains("`when` is empty")
        );
        let text = "format = \"kuzet-sigma-pipeline/1\"\n[[logsource]]\nproduct = \"x\"\nwhen = [{ field = \"a\" }]\n";
        assert!(
            Pipeline::parse("p.toml", text)
                .unwrap_err()
                .to_string()
                .contains("exactly one of")
        );
    }
}
