//! The `filters` query parameter: JSON mapping a key to accepted values.
//!
//! Clients send two shapes: `{"type":{"container":true}}` (docker CLI, moby's own
//! encoding) and `{"type":["container"]}` (API < 1.22 style, still sent by docker-py).

use std::collections::BTreeMap;

use crate::error::ApiError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    entries: BTreeMap<String, Vec<String>>,
}

impl Filters {
    /// Parses the raw query value; empty means no filters.
    pub fn parse(raw: &str) -> Result<Filters, ApiError> {
        let mut filters = Filters::default();
        if raw.trim().is_empty() {
            return Ok(filters);
        }
        let value: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::invalid(format!("invalid filter: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| ApiError::invalid("invalid filter: expected a JSON object"))?;
        for (key, accepted) in object {
            let values: Vec<String> = match accepted {
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(k, _)| k.clone())
                    .collect(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        serde_json::Value::String(s) => Ok(s.clone()),
                        other => Err(ApiError::invalid(format!(
                            "invalid filter: value for {key:?} must be a string, got {other}"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(ApiError::invalid(format!(
                        "invalid filter: value for {key:?} must be an object or a list, got {other}"
                    )))
                }
            };
            filters.entries.insert(key.clone(), values);
        }
        Ok(filters)
    }

    /// Refuses keys the endpoint does not know, with moby's message.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for key in self.entries.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(ApiError::invalid(format!("invalid filter '{key}'")));
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> &[String] {
        self.entries.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.get(key).is_some_and(|v| !v.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.values().all(Vec::is_empty)
    }

    pub fn add(&mut self, key: &str, value: &str) {
        self.entries
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }

    /// True when `key` has no values, or `candidate` is one of them.
    pub fn matches(&self, key: &str, candidate: &str) -> bool {
        let accepted = self.get(key);
        accepted.is_empty() || accepted.iter().any(|a| a == candidate)
    }

    /// Label filters: each value is `key` or `key=value`; all must match.
    pub fn matches_labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).iter().all(|want| match want.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|actual| actual == v),
            None => labels.contains_key(want),
        })
    }

    /// Encodes in moby's own `{"key":{"value":true}}` form, as the docker CLI sends it.
    pub fn to_json(&self) -> String {
        let mut out = serde_json::Map::new();
        for (key, values) in &self.entries {
            let inner: serde_json::Map<String, serde_json::Value> = values
                .iter()
                .map(|v| (v.clone(), serde_json::Value::Bool(true)))
                .collect();
            out.insert(key.clone(), serde_json::Value::Object(inner));
        }
        serde_json::Value::Object(out).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_encodings() {
        let a = Filters::parse(r#"{"type":{"container":true}}"#).unwrap();
        let b = Filters::parse(r#"{"type":["container"]}"#).unwrap();
        assert_eq!(a, b);
        assert!(a.matches("type", "container"));
        assert!(!a.matches("type", "image"));
        assert!(a.matches("event", "anything"));
    }

    #[test]
    fn rejects_garbage_and_unknown_keys() {
        assert!(Filters::parse("{").is_err());
        assert!(Filters::parse("[1]").is_err());
        let f = Filters::parse(r#"{"bogus":["x"]}"#).unwrap();
        assert_eq!(
            f.validate(&["type"]).unwrap_err().message,
            "invalid filter 'bogus'"
        );
    }

    #[test]
    fn labels() {
        let mut labels = BTreeMap::new();
        labels.insert("a".to_string(), "1".to_string());
        let f = Filters::parse(r#"{"label":["a=1","a"]}"#).unwrap();
        assert!(f.matches_labels("label", &labels));
        let f = Filters::parse(r#"{"label":["a=2"]}"#).unwrap();
        assert!(!f.matches_labels("label", &labels));
        let round = Filters::parse(&f.to_json()).unwrap();
        assert_eq!(round, f);
    }
}
