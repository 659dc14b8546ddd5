//! `/images/...` routes.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use berth_api::{ApiError, ApiVersion};
use berth_engine::images::{ImportRequest, PullRequest, PushRequest};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::params::Params;
use super::streams::{self, body_reader, channel_body, ChannelWriter};
use super::{AppState, HandlerResult};

/// `GET /images/json`.
pub async fn list(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> HandlerResult<Response> {
    let filters = berth_api::Filters::parse(params.get("filters").unwrap_or(""))?;
    let summaries = state.engine.image_list(params.bool("all"), filters).await?;
    let mut body: Vec<Value> = summaries.iter().map(|s| s.to_json(version)).collect();
    if !params.bool("digests") && version < ApiVersion::new(1, 24) {
        body.iter_mut().for_each(|v| {
            v.as_object_mut().map(|o| o.remove("RepoDigests"));
        });
    }
    Ok(Json(body).into_response())
}

/// `GET|POST|DELETE /images/{name}/...`: image names contain slashes, so the verb is the
/// last path segment.
pub async fn by_name(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    method: axum::http::Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    params: Params,
) -> HandlerResult<Response> {
    let (name, verb) = match rest.rsplit_once('/') {
        Some((name, verb)) => (name.to_string(), verb),
        None => (rest.clone(), ""),
    };
    let engine = &state.engine;
    match (method.as_str(), verb) {
        ("GET", "json") => {
            Ok(Json(engine.image_inspect(&name).await?.to_json(version)).into_response())
        }
        ("GET", "history") => Ok(Json(engine.image_history(&name).await?).into_response()),
        ("GET", "get") => save(state, vec![name]).await,
        ("POST", "tag") => {
            let repo = params.get("repo").unwrap_or("");
            let tag = params.get("tag").unwrap_or("");
            engine.image_tag(&name, repo, tag).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        ("POST", "push") => {
            let request = PushRequest {
                name: name.clone(),
                tag: params.get("tag").unwrap_or("").to_string(),
                auth_header: registry_auth(&headers),
            };
            let (tx, rx) = mpsc::channel::<String>(64);
            let engine = state.engine.clone();
            let work = async move { engine.image_push(request, tx).await.map(|()| Vec::new()) };
            Ok(streams::progress_response(work, rx, raw_message).await?)
        }
        ("DELETE", _) => {
            let items = engine
                .image_remove(&rest, params.bool("force"), params.bool("noprune"))
                .await?;
            Ok(Json(items).into_response())
        }
        _ => Err(ApiError::not_found("page not found").into()),
    }
}

/// `GET /images/get?names=a&names=b`.
pub async fn save_many(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let names: Vec<String> = params
        .all("names")
        .iter()
        .flat_map(|n| n.split(','))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Err(ApiError::invalid("no images specified: use the names parameter").into());
    }
    save(state, names).await
}

async fn save(state: AppState, names: Vec<String>) -> HandlerResult<Response> {
    state.engine.image_save_check(&names).await?;
    let (tx, rx) = mpsc::channel(16);
    let engine = state.engine.clone();
    tokio::spawn(async move {
        let writer = std::io::BufWriter::with_capacity(256 * 1024, ChannelWriter::new(tx.clone()));
        if let Err(e) = engine.image_save(names, Box::new(writer)).await {
            tracing::warn!("image save failed: {}", e.message);
            // Breaking the body tells the client the archive is incomplete.
            let _ = tx.send(Err(std::io::Error::other(e.message))).await;
        }
    });
    Ok(channel_body(rx, "application/x-tar"))
}

/// `POST /images/load`.
pub async fn load(State(state): State<AppState>, body: Body) -> HandlerResult<Response> {
    let (tx, rx) = mpsc::channel::<String>(16);
    let engine = state.engine.clone();
    let reader = body_reader(body);
    let work = async move { engine.image_load(reader, tx).await.map(|()| Vec::new()) };
    Ok(
        streams::progress_response(work, rx, |line| json!({ "stream": format!("{line}\n") }))
            .await?,
    )
}

/// `POST /images/create`: `fromSrc` imports a tarball; `fromImage` pulls.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Params,
    body: Body,
) -> HandlerResult<Response> {
    if let Some(image) = params.get("fromImage").filter(|v| !v.is_empty()) {
        let request = PullRequest {
            from_image: image.to_string(),
            tag: params.get("tag").unwrap_or("").to_string(),
            platform: params.get("platform").map(str::to_string),
            auth_header: registry_auth(&headers),
        };
        let (tx, rx) = mpsc::channel::<String>(64);
        let engine = state.engine.clone();
        let work = async move { engine.image_pull(request, tx).await.map(|()| Vec::new()) };
        return Ok(streams::progress_response(work, rx, raw_message).await?);
    }
    let source = params.get("fromSrc").unwrap_or("");
    if source != "-" {
        return Err(ApiError::invalid(if source.is_empty() {
            "either fromImage or fromSrc must be given".to_string()
        } else {
            format!("importing from a URL ({source}) is not supported yet; download it and use fromSrc=-")
        })
        .into());
    }
    let request = ImportRequest {
        repo: params.get("repo").unwrap_or("").to_string(),
        tag: params.get("tag").unwrap_or("").to_string(),
        changes: params.all("changes").to_vec(),
        message: params.get("message").unwrap_or("").to_string(),
        platform: params.get("platform").map(str::to_string),
    };
    let (_tx, rx) = mpsc::channel::<String>(1);
    let engine = state.engine.clone();
    let reader = body_reader(body);
    let work = async move {
        engine
            .image_import(reader, request)
            .await
            .map(|id| vec![id])
    };
    Ok(streams::progress_response(work, rx, |id| json!({ "status": id })).await?)
}

/// `POST /images/prune`.
pub async fn prune(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let filters = berth_api::Filters::parse(params.get("filters").unwrap_or(""))?;
    Ok(Json(state.engine.image_prune(filters).await?).into_response())
}

/// The `X-Registry-Auth` header, if any.
pub(super) fn registry_auth(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Progress lines that are already JSON messages.
fn raw_message(line: String) -> Value {
    serde_json::from_str(&line).unwrap_or_else(|_| json!({ "status": line }))
}
