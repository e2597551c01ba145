//! Field values and the open field map of an event.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A field value. Nested objects do not exist here: they are flattened into dotted field names, the way ECS
/// names them (`winlog.event_data.TargetUserName`), so detection and search address every field the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Converts a JSON value. Objects become `None`: callers flatten them first (see [`Fields::insert_json`]).
    pub fn from_json(value: &serde_json::Value) -> Option<Value> {
        Some(match value {
            serde_json::Value::Null | serde_json::Value::Object(_) => return None,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64()?),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().filter_map(Value::from_json).collect())
            }
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<u16> for Value {
    fn from(i: u16) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// The open map of an event's fields, keyed by dotted ECS names, sorted so that serialization is deterministic
/// (the sealed archive hashes it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fields(BTreeMap<String, Value>);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// Inserts only when the field is not set yet: parsers layer specific knowledge over generic one.
    pub fn insert_default(&mut self, name: &str, value: impl Into<Value>) {
        if !self.0.contains_key(name) {
            self.0.insert(name.to_owned(), value.into());
        }
    }

    /// Inserts a string unless it is empty or `-` (the usual placeholder for "no value" in logs).
    pub fn insert_text(&mut self, name: &str, value: &str) {
        let value = value.trim();
        if !value.is_empty() && value != "-" {
            self.0.insert(name.to_owned(), Value::Str(value.to_owned()));
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Flattens a JSON value under `prefix` (empty for the document root): objects become dotted names, nulls
    /// are skipped, arrays of scalars are kept as arrays; arrays of objects are kept as their JSON text.
    pub fn insert_json(&mut self, prefix: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    self.insert_json(&name, child);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::Array(items) if items.iter().any(|v| v.is_object()) => {
                if !prefix.is_empty() {
                    self.insert(prefix, value.to_string());
                }
            }
            other => {
                if let (false, Some(v)) = (prefix.is_empty(), Value::from_json(other)) {
                    self.0.insert(prefix.to_owned(), v);
                }
            }
        }
    }

    /// The fields as a nested JSON object (ECS document shape). A name that is both a leaf and a prefix of
    /// another name (`a` and `a.b`) keeps the leaf under the dotted key, as Elasticsearch does with `subobjects`.
    pub fn to_nested_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut root = serde_json::Map::new();
        for (name, value) in &self.0 {
            insert_nested(&mut root, name, value.to_json());
        }
        root
    }
}

fn insert_nested(
    root: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    value: serde_json::Value,
) {
    let mut node = root;
    let mut parts = name.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return;
        }
        if matches!(node.get(part), Some(v) if !v.is_object()) {
            // `part` already holds a leaf: keep the remainder under a dotted key beside it.
            let rest: Vec<&str> = parts.collect();
            node.insert(format!("{part}.{}", rest.join(".")), value);
            return;
        }
        let entry = node
            .entry(part.to_owned())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        match entry {
            serde_json::Value::Object(child) => node = child,
            // Checked just above: the entry is an object or was created as one.
            _ => return,
        }
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_flattens_and_nests_back() {
        let doc = json!({"host": {"name": "web-1", "ip": ["10.0.0.1"]}, "event": {"code": 4625}, "x": null});
        let mut fields = Fields::new();
        fields.insert_json("", &doc);
        assert_eq!(fields.get_str("host.name"), Some("web-1"));
        assert_eq!(fields.get("event.code"), Some(&Value::Int(4625)));
        assert!(!fields.contains("x"));
        assert_eq!(
            serde_json::Value::Object(fields.to_nested_json()),
            json!({"host": {"name": "web-1", "ip": ["10.0.0.1"]}, "event": {"code": 4625}})
        );
    }

    #[test]
    fn leaf_and_prefix_collide_without_loss() {
        let mut fields = Fields::new();
        fields.insert("a", "leaf");
        fields.insert("a.b", "child");
        let nested = serde_json::Value::Object(fields.to_nested_json());
        assert_eq!(nested, json!({"a": "leaf", "a.b": "child"}));
    }

    #[test]
    fn text_placeholders_are_skipped() {
        let mut fields = Fields::new();
        fields.insert_text("user.name", "-");
        fields.insert_text("user.id", "  ");
        assert!(fields.is_empty());
    }
}
