//! The JSON Schema of the exchange, version 1 (`docs/formats/nccis-exchange-v1.schema.json`): checked on every
//! message before it is signed and on every message received.

use std::sync::OnceLock;

use crate::ExchangeError;

/// The schema's text, as published.
pub const SCHEMA_V1: &str = include_str!("../../../docs/formats/nccis-exchange-v1.schema.json");

/// How many schema errors a refusal lists.
const MAX_REPORTED: usize = 5;

fn validator() -> Result<&'static jsonschema::Validator, ExchangeError> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: serde_json::Value =
                serde_json::from_str(SCHEMA_V1).map_err(|e| e.to_string())?;
            jsonschema::validator_for(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ExchangeError::invalid("schema v1", e))
}

/// Checks `value` against the schema; the error lists where (a JSON pointer) and what is wrong.
pub fn check(value: &serde_json::Value, what: &str) -> Result<(), ExchangeError> {
    let errors: Vec<String> = validator()?
        .iter_errors(value)
        .take(MAX_REPORTED)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ExchangeError::invalid(what, errors.join("; ")))
    }
}
