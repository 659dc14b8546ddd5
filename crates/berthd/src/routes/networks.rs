//! `/networks/...` routes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::{ApiError, Filters};
use serde::Deserialize;

use super::params::Params;
use super::{AppState, HandlerResult};

fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("invalid JSON in the request body: {e}")))
}

pub async fn list(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let filters = Filters::parse(params.get("filters").unwrap_or(""))?;
    Ok(Json(state.engine.network_list(filters)?).into_response())
}

pub async fn create(State(state): State<AppState>, body: Bytes) -> HandlerResult<Response> {
    let request = json_body(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(state.engine.network_create(request)?),
    )
        .into_response())
}

pub async fn prune(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let filters = Filters::parse(params.get("filters").unwrap_or(""))?;
    Ok(Json(state.engine.network_prune(filters)?).into_response())
}

pub async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> HandlerResult<Response> {
    Ok(Json(state.engine.network_inspect(&id)?).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> HandlerResult<Response> {
    state.engine.network_remove(&id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConnectBody {
    container: String,
    #[serde(default)]
    endpoint_config: Option<serde_json::Value>,
    #[serde(default)]
    force: bool,
}

pub async fn connect(
    State(state): State<AppState>,
    Path((id, verb)): Path<(String, String)>,
    body: Bytes,
) -> HandlerResult<Response> {
    let request: ConnectBody = json_body(&body)?;
    match verb.as_str() {
        "connect" => {
            state
                .engine
                .network_connect(&id, &request.container, request.endpoint_config)
                .await?
        }
        "disconnect" => {
            state
                .engine
                .network_disconnect(&id, &request.container, request.force)
                .await?
        }
        _ => return Err(ApiError::not_found("page not found").into()),
    }
    Ok(StatusCode::OK.into_response())
}
