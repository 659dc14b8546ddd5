//! Query parameters as moby reads them, with errors that name the parameter.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use berth_api::{query, ApiError, Filters};

use super::HandlerError;

/// All query parameters of a request. A repeated key keeps every value (moby reads the
/// first with `Get` and all with `[]`).
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = HandlerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(raw) = parts.uri.query() {
            for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
                values
                    .entry(key.into_owned())
                    .or_default()
                    .push(value.into_owned());
            }
        }
        Ok(Params { values })
    }
}

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(query::parse_bool)
    }

    /// The `filters` parameter, refusing keys the endpoint does not support.
    pub fn filters(&self, allowed: &[&str]) -> Result<Filters, ApiError> {
        let filters = Filters::parse(self.get("filters").unwrap_or(""))?;
        filters.validate(allowed)?;
        Ok(filters)
    }

    /// A `since`/`until` style timestamp in nanoseconds: unix seconds with fraction, or an
    /// RFC 3339 date.
    pub fn timestamp(&self, key: &str) -> Result<Option<i128>, ApiError> {
        let Some(raw) = self.get(key).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if let Ok(date) = chrono::DateTime::parse_from_rfc3339(raw) {
            return Ok(Some(date.timestamp_nanos_opt().unwrap_or_default() as i128));
        }
        query::parse_timestamp(key, raw).map(Some)
    }
}
