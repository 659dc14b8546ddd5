//! `POST /auth`: checks credentials against a registry the way its `/v2/` endpoint
//! asks (basic auth, or a bearer token fetched with them), without any repository scope.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use super::client::error_text;
use super::error::RegistryError;
use super::{AuthConfig, Registries};
use crate::reference::DEFAULT_DOMAIN;

/// `https://index.docker.io/v1/`, `127.0.0.1:5000`, `http://host:5000/` → the registry
/// host (`docker.io` for Docker Hub).
pub fn server_host(server: &str) -> String {
    let trimmed = server
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = trimmed.split('/').next().unwrap_or("");
    match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DEFAULT_DOMAIN.to_string(),
        other => other.to_string(),
    }
}

/// Verifies `auth` against its `serveraddress`. Ok means the registry accepted them.
pub async fn login(registries: &Registries, auth: &AuthConfig) -> Result<(), RegistryError> {
    if auth.basic().is_none() && auth.identitytoken.is_empty() {
        return Err(RegistryError::Unsupported(
            "Username and password are required to log in".into(),
        ));
    }
    let host = server_host(&auth.serveraddress);
    let endpoint = registries
        .endpoints(&host)
        .into_iter()
        .find(|e| !e.mirror)
        .ok_or_else(|| RegistryError::protocol("no registry endpoint"))?;
    let repo = registries.connect(&endpoint, "", auth, false).await?;
    let url = format!("{}/v2/", repo.endpoint.base);
    let response = repo.send(Method::GET, &url, HeaderMap::new(), None).await;
    match response {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) if response.status() == StatusCode::NOT_FOUND => Ok(()),
        Ok(response) => {
            let status = response.status();
            let _ = error_text(response).await;
            Err(RegistryError::Unauthorized(format!(
                "login attempt to {url} failed with status: {status}"
            )))
        }
        Err(RegistryError::Unauthorized(_)) => Err(RegistryError::Unauthorized(format!(
            "login attempt to {url} failed with status: 401 Unauthorized"
        ))),
        Err(other) => Err(other),
    }
}
