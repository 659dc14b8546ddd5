//! One repository on one registry endpoint: the distribution API calls pull and push
//! make, with authentication handled once up front (the `/v2/` ping) and again when a
//! token expires.

use std::sync::Mutex;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;

use berth_store::Digest;

use super::auth::{self, AuthConfig, Challenge};
use super::endpoint::Endpoint;
use super::error::{describe, RegistryError};
use super::manifest::MANIFEST_ACCEPT;

pub struct Repository {
    http: reqwest::Client,
    pub endpoint: Endpoint,
    /// The repository path on the registry (`library/busybox`).
    pub name: String,
    auth: AuthConfig,
    /// `pull` or `pull,push`.
    actions: &'static str,
    /// Extra scopes (a cross-repository mount source).
    extra_scopes: Mutex<Vec<String>>,
    authorization: Mutex<Option<String>>,
    challenge: Mutex<Option<Challenge>>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("endpoint", &self.endpoint)
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Reads a registry error answer as `code: message` (`manifest unknown: manifest unknown`),
/// as docker shows it.
pub(crate) async fn error_text(response: Response) -> String {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(&body) {
        let items: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| {
                let code = e.code.to_lowercase().replace('_', " ");
                if e.message.is_empty() {
                    code
                } else {
                    format!("{code}: {}", e.message)
                }
            })
            .collect();
        if !items.is_empty() {
            return items.join(", ");
        }
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    if text.is_empty() || text.len() > 200 {
        status.to_string()
    } else {
        format!("{status}: {text}")
    }
}

impl Repository {
    /// Connects to `name` on `endpoint` for `push` or pull only: pings `/v2/` and
    /// authenticates as the registry asks. An unreachable endpoint is a transport error.
    pub async fn connect(
        http: reqwest::Client,
        endpoint: Endpoint,
        name: &str,
        auth: AuthConfig,
        push: bool,
    ) -> Result<Repository, RegistryError> {
        let repo = Repository {
            http,
            endpoint,
            name: name.to_string(),
            auth,
            actions: if push { "pull,push" } else { "pull" },
            extra_scopes: Mutex::new(Vec::new()),
            authorization: Mutex::new(None),
            challenge: Mutex::new(None),
        };
        let url = format!("{}/v2/", repo.endpoint.base);
        let response =
            repo.http.get(&url).send().await.map_err(|e| {
                RegistryError::Transport(format!("Get \"{url}\": {}", describe(&e)))
            })?;
        match response.status() {
            status if status.is_success() => {}
            StatusCode::UNAUTHORIZED => repo.authenticate(&response).await?,
            // Some registries (and mirrors) do not serve /v2/ itself; carry on.
            StatusCode::NOT_FOUND => {}
            status => {
                return Err(RegistryError::protocol(format!(
                    "Get \"{url}\": the registry answered {status}"
                )))
            }
        }
        Ok(repo)
    }

    /// A repository connection rebuilt from an earlier one's authentication (no ping).
    pub(crate) fn resume(
        http: reqwest::Client,
        endpoint: Endpoint,
        name: &str,
        auth: AuthConfig,
        push: bool,
        session: (Option<String>, Option<Challenge>),
    ) -> Repository {
        Repository {
            http,
            endpoint,
            name: name.to_string(),
            auth,
            actions: if push { "pull,push" } else { "pull" },
            extra_scopes: Mutex::new(Vec::new()),
            authorization: Mutex::new(session.0),
            challenge: Mutex::new(session.1),
        }
    }

    /// What [`Repository::resume`] needs.
    pub(crate) fn session(&self) -> (Option<String>, Option<Challenge>) {
        (
            self.authorization.lock().unwrap().clone(),
            self.challenge.lock().unwrap().clone(),
        )
    }

    /// `repository:<name>:<actions>` plus any extra scopes.
    fn scopes(&self) -> Vec<String> {
        // No repository (a login): the token covers the account only.
        let mut scopes = if self.name.is_empty() {
            Vec::new()
        } else {
            vec![format!("repository:{}:{}", self.name, self.actions)]
        };
        scopes.extend(self.extra_scopes.lock().unwrap().iter().cloned());
        scopes
    }

    /// Adds pull access to another repository (the source of a cross-repository mount),
    /// taking effect at the next authentication.
    pub async fn add_pull_scope(&self, other: &str) -> Result<(), RegistryError> {
        let scope = format!("repository:{other}:pull");
        {
            let mut extra = self.extra_scopes.lock().unwrap();
            if extra.contains(&scope) {
                return Ok(());
            }
            extra.push(scope);
        }
        let challenge = self.challenge.lock().unwrap().clone();
        if let Some(challenge @ Challenge::Bearer { .. }) = challenge {
            let header =
                auth::fetch_token(&self.http, &challenge, &self.scopes(), &self.auth).await?;
            *self.authorization.lock().unwrap() = Some(header);
        }
        Ok(())
    }

    /// Answers a 401: parses its challenge and gets the matching credentials.
    async fn authenticate(&self, response: &Response) -> Result<(), RegistryError> {
        let challenge = response
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(Challenge::parse)
            .max_by_key(|c| matches!(c, Challenge::Bearer { .. }));
        let Some(challenge) = challenge else {
            return Err(RegistryError::Unauthorized(format!(
                "unauthorized: {} asks for authentication this client does not support",
                self.endpoint.host
            )));
        };
        let header = match &challenge {
            Challenge::Basic => {
                if self.auth.basic().is_none() {
                    *self.challenge.lock().unwrap() = Some(challenge);
                    return Ok(());
                }
                auth::basic_header(&self.auth)?
            }
            Challenge::Bearer { .. } => {
                auth::fetch_token(&self.http, &challenge, &self.scopes(), &self.auth).await?
            }
        };
        *self.challenge.lock().unwrap() = Some(challenge);
        *self.authorization.lock().unwrap() = Some(header);
        Ok(())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.endpoint.base, self.name)
    }

    /// Sends a request without a body (or with a small one), re-authenticating once on
    /// a 401.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<bytes::Bytes>,
    ) -> Result<Response, RegistryError> {
        let mut retried = false;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url)
                .headers(headers.clone());
            if let Some(header) = self.authorization.lock().unwrap().clone() {
                request = request.header(AUTHORIZATION, header);
            }
            if let Some(body) = &body {
                request = request.body(body.clone());
            }
            let response = request.send().await.map_err(|e| {
                RegistryError::Transport(format!("{method} \"{url}\": {}", describe(&e)))
            })?;
            if response.status() == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.authenticate(&response).await?;
                if self.authorization.lock().unwrap().is_some() {
                    continue;
                }
            }
            if response.status() == StatusCode::UNAUTHORIZED {
                let text = error_text(response).await;
                return Err(RegistryError::Unauthorized(format!(
                    "unauthorized to access repository {} on {}: {text}",
                    self.name, self.endpoint.host
                )));
            }
            return Ok(response);
        }
    }

    /// Sends a streamed body (no retry possible: the body is consumed).
    pub(crate) async fn send_stream(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<Response, RegistryError> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .headers(headers)
            .body(body);
        if let Some(header) = self.authorization.lock().unwrap().clone() {
            request = request.header(AUTHORIZATION, header);
        }
        let response = request.send().await.map_err(|e| {
            RegistryError::Transport(format!("{method} \"{url}\": {}", describe(&e)))
        })?;
        if response.status() == StatusCode::UNAUTHORIZED {
            let text = error_text(response).await;
            return Err(RegistryError::Unauthorized(format!(
                "unauthorized to push to {} on {}: {text}",
                self.name, self.endpoint.host
            )));
        }
        Ok(response)
    }

    /// `GET /v2/<name>/manifests/<reference>`: the bytes, their media type, and digest.
    pub async fn manifest(
        &self,
        reference: &str,
        shown: &str,
    ) -> Result<(bytes::Bytes, String, Digest), RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        let url = self.url(&format!("manifests/{reference}"));
        let response = self.send(Method::GET, &url, headers, None).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            let text = error_text(response).await;
            return Err(RegistryError::NotFound(format!(
                "manifest for {shown} not found: {text}"
            )));
        }
        if !status.is_success() {
            let text = error_text(response).await;
            return Err(RegistryError::protocol(format!(
                "fetching the manifest of {shown}: {text}"
            )));
        }
        let media_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
            .unwrap_or_default();
        let body = response.bytes().await.map_err(|e| {
            RegistryError::Transport(format!("reading the manifest of {shown}: {}", describe(&e)))
        })?;
        if body.len() > 4 << 20 {
            return Err(RegistryError::protocol(format!(
                "the manifest of {shown} is larger than 4 MiB"
            )));
        }
        let digest = Digest::of_bytes(&body);
        Ok((body, media_type, digest))
    }

    /// `GET /v2/<name>/blobs/<digest>` (redirects followed), the body unread.
    pub async fn blob(&self, digest: &Digest) -> Result<Response, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let response = self.send(Method::GET, &url, HeaderMap::new(), None).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound(format!(
                "blob {digest} not found in {}: blob unknown",
                self.name
            )));
        }
        if !status.is_success() {
            let text = error_text(response).await;
            return Err(RegistryError::protocol(format!(
                "fetching blob {digest}: {text}"
            )));
        }
        Ok(response)
    }

    /// A small blob (an image config) read whole and verified.
    pub async fn blob_bytes(
        &self,
        digest: &Digest,
        limit: u64,
    ) -> Result<bytes::Bytes, RegistryError> {
        let response = self.blob(digest).await?;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(RegistryError::protocol(format!(
                "blob {digest} is too large"
            )));
        }
        let body = response.bytes().await.map_err(|e| {
            RegistryError::Transport(format!("reading blob {digest}: {}", describe(&e)))
        })?;
        let actual = Digest::of_bytes(&body);
        if &actual != digest {
            return Err(RegistryError::protocol(format!(
                "blob {digest} does not match its digest: the registry sent content hashing to {actual}"
            )));
        }
        Ok(body)
    }

    /// `HEAD /v2/<name>/blobs/<digest>`: does the registry have it here?
    pub async fn has_blob(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let response = self
            .send(Method::HEAD, &url, HeaderMap::new(), None)
            .await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(RegistryError::protocol(format!(
                "checking blob {digest} on {}: the registry answered {s}",
                self.endpoint.host
            ))),
        }
    }

    /// Starts an upload, asking to mount `digest` from `from` when given. Returns
    /// `None` when the mount happened, else the upload location.
    pub async fn start_upload(
        &self,
        mount: Option<(&Digest, &str)>,
    ) -> Result<Option<String>, RegistryError> {
        let mut url = self.url("blobs/uploads/");
        if let Some((digest, from)) = mount {
            url.push_str(&format!("?mount={digest}&from={from}"));
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_LENGTH,
            HeaderValue::from_static("0"),
        );
        let response = self.send(Method::POST, &url, headers, None).await?;
        match response.status() {
            StatusCode::CREATED if mount.is_some() => Ok(None),
            StatusCode::ACCEPTED | StatusCode::CREATED => Ok(Some(self.location(&response)?)),
            _ => {
                let text = error_text(response).await;
                Err(RegistryError::protocol(format!(
                    "starting a blob upload to {}: {text}",
                    self.name
                )))
            }
        }
    }

    /// Resolves a `Location` header against the endpoint.
    pub(crate) fn location(&self, response: &Response) -> Result<String, RegistryError> {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::protocol("the registry sent no upload location"))?;
        let base = reqwest::Url::parse(&format!("{}/", self.endpoint.base))
            .map_err(|e| RegistryError::protocol(e.to_string()))?;
        base.join(location)
            .map(|u| u.to_string())
            .map_err(|e| RegistryError::protocol(format!("bad upload location {location:?}: {e}")))
    }

    /// `PUT /v2/<name>/manifests/<tag>`; returns the digest the registry reports (or
    /// the bytes' own).
    pub async fn put_manifest(
        &self,
        tag: &str,
        media_type: &str,
        body: bytes::Bytes,
    ) -> Result<Digest, RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(media_type)
                .map_err(|e| RegistryError::protocol(e.to_string()))?,
        );
        let own = Digest::of_bytes(&body);
        let url = self.url(&format!("manifests/{tag}"));
        let response = self.send(Method::PUT, &url, headers, Some(body)).await?;
        if !response.status().is_success() {
            let text = error_text(response).await;
            return Err(RegistryError::protocol(format!(
                "uploading the manifest of {}:{tag}: {text}",
                self.name
            )));
        }
        Ok(own)
    }

    /// `GET /v2/<name>/tags/list`.
    pub async fn tags(&self) -> Result<Vec<String>, RegistryError> {
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let url = self.url("tags/list");
        let response = self.send(Method::GET, &url, HeaderMap::new(), None).await?;
        if response.status() == StatusCode::NOT_FOUND {
            let text = error_text(response).await;
            return Err(RegistryError::NotFound(format!(
                "repository {} not found: {text}",
                self.name
            )));
        }
        if !response.status().is_success() {
            let text = error_text(response).await;
            return Err(RegistryError::protocol(format!(
                "listing tags of {}: {text}",
                self.name
            )));
        }
        let tags: Tags = response.json().await.map_err(|e| {
            RegistryError::protocol(format!("reading the tag list: {}", describe(&e)))
        })?;
        Ok(tags.tags.unwrap_or_default())
    }
}
