//! Registry operations: pull (`POST /images/create?fromImage=`), push, login, search.
//! The pipelines live in `berth_image::registry`; this glue parses the API's
//! parameters, streams progress messages, and publishes docker's events.

use berth_api::ApiError;
use berth_image::registry::{self, AuthConfig, Platform, Progress};
use berth_image::Reference;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::Engine;

/// `POST /images/create?fromImage=&tag=&platform=` with its `X-Registry-Auth`.
#[derive(Debug, Default, Clone)]
pub struct PullRequest {
    pub from_image: String,
    pub tag: String,
    pub platform: Option<String>,
    pub auth_header: Option<String>,
}

/// Turns progress messages into lines for the response stream. Messages come from
/// async tasks and must never block them, so they go through an unbounded queue that a
/// forwarder drains into the (bounded) response channel.
pub(crate) fn progress_sink(out: mpsc::Sender<String>) -> (Progress, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let forwarder = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if out.send(message.to_string()).await.is_err() {
                // The client went away; keep draining so senders never notice.
                while rx.recv().await.is_some() {}
                return;
            }
        }
    });
    let sink = Progress::new(move |message| {
        let _ = tx.send(message);
    });
    (sink, forwarder)
}

/// Waits until every message of `sink` reached the response channel, so a stream that
/// ends right after its last message still carries it.
async fn flush(sink: Progress, forwarder: tokio::task::JoinHandle<()>) {
    drop(sink);
    let _ = forwarder.await;
}

pub(crate) fn parse_auth(header: Option<&str>) -> Result<AuthConfig, ApiError> {
    Ok(AuthConfig::from_header(header.unwrap_or(""))?)
}

impl Engine {
    /// Pulls `fromImage` (`:tag` / `@digest`, or every tag when neither the name nor
    /// `tag` names one). Progress messages (JSON text) go to `progress`.
    pub async fn image_pull(
        &self,
        request: PullRequest,
        progress: mpsc::Sender<String>,
    ) -> Result<(), ApiError> {
        let auth = parse_auth(request.auth_header.as_deref())?;
        let platform = request
            .platform
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(Platform::parse)
            .transpose()?;
        let base = Reference::parse_normalized(&request.from_image)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let tag = request.tag.trim();
        let references = if !tag.is_empty() {
            let target = if tag.contains(':') {
                base.with_digest(tag)
            } else {
                base.with_tag(tag)
            };
            vec![target.map_err(|e| ApiError::invalid(e.to_string()))?]
        } else if !base.is_name_only() {
            vec![base.clone().docker_ref()]
        } else {
            // Every tag of the repository (`pull --all-tags`).
            let endpoint = self
                .registries
                .endpoints(base.domain())
                .pop()
                .ok_or_else(|| ApiError::system("no registry endpoint"))?;
            let repo = self
                .registries
                .connect(&endpoint, base.path(), &auth, false)
                .await?;
            let mut tags = repo.tags().await?;
            tags.sort();
            tags.into_iter()
                .map(|t| {
                    base.with_tag(&t)
                        .map_err(|e| ApiError::invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let (sink, forwarder) = progress_sink(progress);
        let all_tags = references.len() > 1 || (tag.is_empty() && base.is_name_only());
        let mut any_downloaded = false;
        for reference in references {
            let request = registry::pull::PullRequest {
                reference: reference.clone(),
                platform: platform.clone(),
                auth: auth.clone(),
            };
            let pulled = registry::pull::pull(
                self.image_store(),
                self.registries.clone(),
                request,
                if all_tags {
                    quiet_status(&sink)
                } else {
                    sink.clone()
                },
            )
            .await?;
            any_downloaded |= pulled.downloaded;
            // docker's pull event names the reference, also as its ID.
            let name = reference.familiar_string();
            self.image_event("pull", &name, &name);
        }
        if all_tags {
            let name = base.familiar_name();
            sink.line(if any_downloaded {
                format!("Status: Downloaded newer image for {name}")
            } else {
                format!("Status: Image is up to date for {name}")
            });
        }
        flush(sink, forwarder).await;
        Ok(())
    }
}

/// For `--all-tags`: every message but the per-tag final status (one summary follows).
fn quiet_status(sink: &Progress) -> Progress {
    let sink = sink.clone();
    Progress::new(move |message| {
        let is_status = message
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("Status: "));
        if !is_status {
            sink.send(message);
        }
    })
}

/// `POST /images/{name}/push?tag=` with its `X-Registry-Auth`.
#[derive(Debug, Default, Clone)]
pub struct PushRequest {
    pub name: String,
    pub tag: String,
    pub auth_header: Option<String>,
}

impl Engine {
    /// Pushes one tag, or every tag of the repository when none is given.
    pub async fn image_push(
        &self,
        request: PushRequest,
        progress: mpsc::Sender<String>,
    ) -> Result<(), ApiError> {
        let auth = parse_auth(request.auth_header.as_deref())?;
        let named = Reference::parse_normalized(&request.name)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let tag = if !request.tag.is_empty() {
            Some(request.tag.clone())
        } else {
            named.tag().map(str::to_string)
        };
        let repository = named.trimmed();
        let store = self.image_store();
        let images: Vec<(String, berth_image::Image)> = match &tag {
            Some(tag) => {
                let reference = repository
                    .with_tag(tag)
                    .map_err(|e| ApiError::invalid(e.to_string()))?;
                let image = store.resolve(&reference.to_string()).map_err(|_| {
                    ApiError::not_found(format!(
                        "An image does not exist locally with the tag: {}",
                        reference.familiar_string()
                    ))
                })?;
                vec![(tag.clone(), image)]
            }
            None => {
                let mut found: Vec<(String, berth_image::Image)> = store
                    .list()
                    .into_iter()
                    .flat_map(|image| {
                        image
                            .repo_tags
                            .iter()
                            .filter(|r| r.trimmed() == repository)
                            .filter_map(|r| r.tag().map(|t| (t.to_string(), image.clone())))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                found.sort_by(|a, b| a.0.cmp(&b.0));
                if found.is_empty() {
                    return Err(ApiError::not_found(format!(
                        "An image does not exist locally with the tag: {}",
                        repository.familiar_name()
                    )));
                }
                found
            }
        };
        let (sink, forwarder) = progress_sink(progress);
        sink.line(format!(
            "The push refers to repository [{}]",
            repository.name()
        ));
        let pushed = registry::push::push(
            store,
            self.registries.clone(),
            &repository,
            images,
            auth,
            sink.clone(),
        )
        .await;
        flush(sink, forwarder).await;
        let pushed = pushed?;
        for tagged in pushed {
            let name = repository
                .with_tag(&tagged.tag)
                .map(|r| r.familiar_string())
                .unwrap_or_default();
            self.image_event("push", &name, &name);
        }
        Ok(())
    }
}

impl Engine {
    /// `POST /auth`: checks the credentials against their registry.
    pub async fn registry_login(&self, auth: AuthConfig) -> Result<(), ApiError> {
        Ok(registry::login::login(&self.registries, &auth).await?)
    }

    /// `GET /images/search?term=&limit=&filters=`.
    pub async fn image_search(
        &self,
        term: &str,
        limit: Option<usize>,
        filters: berth_api::Filters,
        auth_header: Option<&str>,
    ) -> Result<Vec<registry::search::SearchResult>, ApiError> {
        let auth = parse_auth(auth_header)?;
        filters.validate(&["stars", "is-automated", "is-official"])?;
        let limit = limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid(format!(
                "limit {limit} is outside the range of [1, 100]"
            )));
        }
        let mut min_stars = 0i64;
        for value in filters.get("stars") {
            let stars: i64 = value
                .parse()
                .map_err(|_| ApiError::invalid(format!("invalid filter 'stars={value}'")))?;
            min_stars = min_stars.max(stars);
        }
        let flag = |key: &str| -> Result<Option<bool>, ApiError> {
            match filters.get(key).first() {
                None => Ok(None),
                Some(v) => match v.as_str() {
                    "true" | "1" => Ok(Some(true)),
                    "false" | "0" => Ok(Some(false)),
                    other => Err(ApiError::invalid(format!("invalid filter '{key}={other}'"))),
                },
            }
        };
        let official = flag("is-official")?;
        let automated = flag("is-automated")?;
        let results = registry::search::search(&self.registries, term, limit, &auth).await?;
        Ok(results
            .into_iter()
            .filter(|r| r.star_count >= min_stars)
            .filter(|r| official.is_none_or(|o| r.is_official == o))
            .filter(|r| automated.is_none_or(|a| r.is_automated == a))
            .collect())
    }
}
