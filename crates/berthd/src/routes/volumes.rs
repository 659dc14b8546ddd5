//! `/volumes/...` routes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use berth_api::{ApiError, ApiVersion, ErrorKind, Filters};
use berth_engine::volumes::CreateRequest;

use super::params::Params;
use super::{AppState, HandlerResult};

/// `GET /volumes`.
pub async fn list(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let filters = Filters::parse(params.get("filters").unwrap_or(""))?;
    Ok(Json(state.engine.volume_list(&filters)?).into_response())
}

/// `POST /volumes/create`.
pub async fn create(State(state): State<AppState>, body: Bytes) -> HandlerResult<Response> {
    let request: CreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("invalid JSON in the request body: {e}")))?
    };
    let volume = state.engine.volume_create(request).await?;
    Ok((StatusCode::CREATED, Json(volume)).into_response())
}

/// `POST /volumes/prune`. Before API 1.42 prune took every unused volume, not only the
/// anonymous ones; older clients keep that meaning.
pub async fn prune(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> HandlerResult<Response> {
    let mut filters = Filters::parse(params.get("filters").unwrap_or(""))?;
    if version < ApiVersion::new(1, 42) && !filters.contains("all") {
        filters.add("all", "true");
    }
    Ok(Json(state.engine.volume_prune(filters).await?).into_response())
}

/// `GET|PUT|DELETE /volumes/{name}`.
pub async fn by_name(
    State(state): State<AppState>,
    method: axum::http::Method,
    Path(name): Path<String>,
    params: Params,
) -> HandlerResult<Response> {
    let engine = &state.engine;
    match method.as_str() {
        "GET" => Ok(Json(engine.volume_inspect(&name)?).into_response()),
        "DELETE" => {
            engine
                .volume_remove(&name, params.bool("force"))
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        // Only cluster volumes can be updated, and Berth has no swarm.
        "PUT" => Err(ApiError::new(
            ErrorKind::Unavailable,
            "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.",
        )
        .into()),
        _ => Err(ApiError::not_found("page not found").into()),
    }
}
