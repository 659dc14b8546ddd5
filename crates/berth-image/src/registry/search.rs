//! `docker search`: the registry's `GET /v1/search?q=&n=` (Docker Hub's index, or a
//! registry named in the term). Registries without the endpoint get a clear error.

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{describe, RegistryError};
use super::{AuthConfig, Registries};
use crate::reference::DEFAULT_DOMAIN;

/// One result, with the API's field names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    #[serde(default)]
    pub star_count: i64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_automated: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(default)]
    results: Vec<SearchResult>,
}

/// Splits `host:5000/term` into (registry host, term); plain terms go to Docker Hub.
pub fn split_term(term: &str) -> (String, String) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains('.') || first.contains(':') || first == "localhost" {
            let host = match first {
                "index.docker.io" | "registry-1.docker.io" | "docker.io" => DEFAULT_DOMAIN,
                other => other,
            };
            return (host.to_string(), rest.to_string());
        }
    }
    (DEFAULT_DOMAIN.to_string(), term.to_string())
}

pub async fn search(
    registries: &Registries,
    term: &str,
    limit: usize,
    auth: &AuthConfig,
) -> Result<Vec<SearchResult>, RegistryError> {
    let (host, query) = split_term(term);
    let (host, insecure) = if host == DEFAULT_DOMAIN {
        ("index.docker.io".to_string(), false)
    } else {
        let insecure = registries
            .endpoints(&host)
            .first()
            .is_some_and(|e| e.insecure);
        (host, insecure)
    };
    let http = registries.http(&host)?;
    let schemes: &[&str] = if insecure {
        &["https", "http"]
    } else {
        &["https"]
    };
    let mut last = None;
    for scheme in schemes {
        let url = format!("{scheme}://{host}/v1/search");
        let mut request = http
            .get(&url)
            .query(&[("q", query.as_str()), ("n", &limit.to_string())]);
        if let Some((user, pass)) = auth.basic() {
            request = request.basic_auth(user, Some(pass));
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                last = Some(RegistryError::Transport(format!(
                    "Get \"{url}\": {}",
                    describe(&e)
                )));
                continue;
            }
        };
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
            return Err(RegistryError::NotFound(format!(
                "the registry {host} does not support search: GET {url} answered {status} (only registries with the v1 search API, such as Docker Hub, can be searched)"
            )));
        }
        if status == StatusCode::UNAUTHORIZED {
            return Err(RegistryError::Unauthorized(format!(
                "unauthorized: searching {host} needs credentials (log in with 'berth login {host}')"
            )));
        }
        if !status.is_success() {
            return Err(RegistryError::protocol(format!(
                "Unexpected status code {}: GET {url}",
                status.as_u16()
            )));
        }
        let body: SearchResponse = response.json().await.map_err(|e| {
            RegistryError::protocol(format!(
                "the search answer of {host} is not valid: {}",
                describe(&e)
            ))
        })?;
        let mut results = body.results;
        results.truncate(limit);
        return Ok(results);
    }
    Err(last.unwrap_or_else(|| RegistryError::protocol("search failed")))
}

#[cfg(test)]
mod tests {
    use super::split_term;

    #[test]
    fn terms() {
        assert_eq!(
            split_term("busybox"),
            ("docker.io".into(), "busybox".into())
        );
        assert_eq!(
            split_term("127.0.0.1:5000/busy"),
            ("127.0.0.1:5000".into(), "busy".into())
        );
        assert_eq!(
            split_term("user/app"),
            ("docker.io".into(), "user/app".into())
        );
    }
}
