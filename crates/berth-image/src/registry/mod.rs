//! The registry client and the pull/push pipelines, over the OCI distribution spec.
//!
//! [`Registries`] is the daemon's long-lived service: it knows the configuration
//! (mirrors, insecure registries, certificate folder), keeps one HTTP client per
//! registry host (connections are reused across pulls), remembers which hosts answered
//! only on plain HTTP, and makes concurrent pulls of the same layer share one download.
//! [`client::Repository`] is one repository on one endpoint with its credentials.

pub mod auth;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod login;
pub mod manifest;
pub mod progress;
pub mod pull;
pub mod push;
pub mod search;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_store::Digest;

pub use auth::AuthConfig;
pub use client::Repository;
pub use endpoint::Endpoint;
pub use error::RegistryError;
pub use manifest::Platform;
pub use progress::Progress;

use crate::reference::DEFAULT_DOMAIN;

/// The registry settings of the daemon (`daemon.json` / flags).
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Tried in order before Docker Hub for `docker.io` images.
    pub mirrors: Vec<String>,
    /// `host[:port]` or CIDR entries allowed over HTTP or with unverified TLS.
    pub insecure: Vec<String>,
    /// `<certs_dir>/<host:port>/ca.crt`, `client.cert`, `client.key`.
    pub certs_dir: PathBuf,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            mirrors: Vec::new(),
            insecure: Vec::new(),
            certs_dir: PathBuf::from("/etc/berth/certs.d"),
        }
    }
}

#[derive(Debug)]
pub struct Registries {
    config: RegistryConfig,
    clients: Mutex<HashMap<String, reqwest::Client>>,
    /// Hosts that turned out to speak plain HTTP (insecure ones only).
    plain_http: Mutex<HashMap<String, bool>>,
    /// One lock per layer being downloaded (by chain ID), so two pulls of one image
    /// download each layer once: the second waits and then finds it present.
    downloads: Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>,
    /// Recent authentications per (endpoint, repository, access, credentials), so a pull
    /// of an image already present costs one manifest request, not a ping and a token.
    sessions: Mutex<HashMap<SessionKey, (Session, Instant)>>,
}

type SessionKey = (String, String, bool, String);
type Session = (Option<String>, Option<auth::Challenge>);

/// How long a remembered authentication is reused. A token that expires sooner is
/// renewed when a request is refused with 401.
const SESSION_TTL: Duration = Duration::from_secs(50);

impl Registries {
    pub fn new(config: RegistryConfig) -> Registries {
        Registries {
            config,
            clients: Mutex::new(HashMap::new()),
            plain_http: Mutex::new(HashMap::new()),
            downloads: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// The HTTP client for a host (built once, with its certificates).
    pub fn http(&self, host: &str) -> Result<reqwest::Client, RegistryError> {
        let mut clients = self.clients.lock().unwrap();
        if let Some(client) = clients.get(host) {
            return Ok(client.clone());
        }
        let insecure = endpoint::is_insecure(host, &self.config.insecure);
        let client = endpoint::http_client(&self.config.certs_dir, host, insecure)?;
        clients.insert(host.to_string(), client.clone());
        Ok(client)
    }

    /// The endpoints serving a reference's domain, in the order to try them: the
    /// mirrors first for Docker Hub.
    pub fn endpoints(&self, domain: &str) -> Vec<Endpoint> {
        let mut out = Vec::new();
        if domain == DEFAULT_DOMAIN {
            for mirror in &self.config.mirrors {
                if let Some((base, host)) = endpoint::parse_mirror(mirror) {
                    let insecure = endpoint::is_insecure(&host, &self.config.insecure);
                    out.push(Endpoint {
                        base,
                        host,
                        mirror: true,
                        insecure,
                    });
                }
            }
            out.push(Endpoint {
                base: format!("https://{}", endpoint::DOCKER_HUB_REGISTRY),
                host: endpoint::DOCKER_HUB_REGISTRY.to_string(),
                mirror: false,
                insecure: false,
            });
        } else {
            let insecure = endpoint::is_insecure(domain, &self.config.insecure);
            let plain = insecure && self.plain_http.lock().unwrap().get(domain) == Some(&true);
            out.push(Endpoint {
                base: format!("{}://{domain}", if plain { "http" } else { "https" }),
                host: domain.to_string(),
                mirror: false,
                insecure,
            });
        }
        out
    }

    /// Connects to repository `name` on `endpoint`; an insecure HTTPS endpoint that
    /// cannot be reached over TLS is retried over plain HTTP (and remembered).
    pub async fn connect(
        &self,
        endpoint: &Endpoint,
        name: &str,
        auth: &AuthConfig,
        push: bool,
    ) -> Result<Repository, RegistryError> {
        let http = self.http(&endpoint.host)?;
        let remembered = self.endpoints(&endpoint.host).into_iter().next();
        let base = match remembered {
            // The plain-HTTP fallback learned earlier applies to this endpoint too.
            Some(e) if !endpoint.mirror && e.host == endpoint.host => e.base,
            _ => endpoint.base.clone(),
        };
        let key: SessionKey = (
            base.clone(),
            name.to_string(),
            push,
            serde_json::to_string(auth).unwrap_or_default(),
        );
        if !name.is_empty() {
            let cached = self.sessions.lock().unwrap().get(&key).cloned();
            if let Some((session, at)) = cached {
                if at.elapsed() < SESSION_TTL {
                    let endpoint = Endpoint {
                        base,
                        ..endpoint.clone()
                    };
                    return Ok(Repository::resume(
                        http,
                        endpoint,
                        name,
                        auth.clone(),
                        push,
                        session,
                    ));
                }
            }
        }
        let repo = self.connect_fresh(http, endpoint, name, auth, push).await?;
        if !name.is_empty() {
            let key = (repo.endpoint.base.clone(), key.1, key.2, key.3);
            let mut sessions = self.sessions.lock().unwrap();
            sessions.retain(|_, (_, at)| at.elapsed() < SESSION_TTL);
            sessions.insert(key, (repo.session(), Instant::now()));
        }
        Ok(repo)
    }

    async fn connect_fresh(
        &self,
        http: reqwest::Client,
        endpoint: &Endpoint,
        name: &str,
        auth: &AuthConfig,
        push: bool,
    ) -> Result<Repository, RegistryError> {
        let first =
            Repository::connect(http.clone(), endpoint.clone(), name, auth.clone(), push).await;
        match first {
            Err(RegistryError::Transport(message))
                if endpoint.insecure && endpoint.base.starts_with("https://") =>
            {
                let plain = Endpoint {
                    base: endpoint.base.replacen("https://", "http://", 1),
                    ..endpoint.clone()
                };
                match Repository::connect(http, plain, name, auth.clone(), push).await {
                    Ok(repo) => {
                        self.plain_http
                            .lock()
                            .unwrap()
                            .insert(endpoint.host.clone(), true);
                        Ok(repo)
                    }
                    Err(RegistryError::Transport(_)) => Err(RegistryError::Transport(message)),
                    Err(other) => Err(other),
                }
            }
            other => other,
        }
    }

    /// The lock shared by everyone downloading the layer `chain_id`.
    pub(crate) fn download_lock(&self, chain_id: &Digest) -> Arc<tokio::sync::Mutex<()>> {
        let mut downloads = self.downloads.lock().unwrap();
        downloads.retain(|_, lock| Arc::strong_count(lock) > 1);
        downloads
            .entry(chain_id.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
            .clone()
    }
}
