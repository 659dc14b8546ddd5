//! `/exec/{id}/...` routes.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::ApiError;
use serde::Deserialize;

use super::containers::hijack;
use super::params::Params;
use super::{AppState, HandlerResult};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
    tty: bool,
    console_size: Option<Vec<u16>>,
}

pub async fn by_id(
    State(state): State<AppState>,
    Path((id, verb)): Path<(String, String)>,
    params: Params,
    request: Request,
) -> HandlerResult<Response> {
    let engine = state.engine.clone();
    match (request.method().as_str(), verb.as_str()) {
        ("GET", "json") => Ok(Json(engine.exec_inspect(&id)?).into_response()),
        ("POST", "resize") => {
            let dimension = |key: &str| -> Result<u16, ApiError> {
                let raw = params.get(key).unwrap_or("0");
                raw.parse::<u16>()
                    .map_err(|_| ApiError::invalid(format!("invalid value for {key}: {raw:?}")))
            };
            engine
                .exec_resize(&id, dimension("h")?, dimension("w")?)
                .await?;
            Ok(StatusCode::OK.into_response())
        }
        ("POST", "start") => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .map_err(|e| ApiError::invalid(format!("reading the request body: {e}")))?;
            let start: StartBody = if bytes.is_empty() {
                StartBody::default()
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::invalid(format!("invalid JSON in the request body: {e}"))
                })?
            };
            let console = start
                .console_size
                .as_ref()
                .and_then(|s| Some((*s.first()?, *s.get(1)?)));
            // Resolve first so an unknown exec is a plain 404.
            let info = engine.exec_inspect(&id)?;
            if start.detach {
                engine.exec_start(&id, true, console).await?;
                return Ok(StatusCode::OK.into_response());
            }
            let tty = start.tty
                || info
                    .pointer("/ProcessConfig/tty")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
            let request = Request::from_parts(parts, axum::body::Body::empty());
            let opener = engine.clone();
            let exec_id = id.clone();
            let open = async move {
                opener
                    .exec_start(&exec_id, false, console)
                    .await?
                    .ok_or_else(|| ApiError::system("exec produced no stream"))
            };
            let finisher = engine.clone();
            let after = async move { finisher.exec_finished(&id).await };
            Ok(hijack(request, tty, open, after))
        }
        _ => Err(ApiError::not_found("page not found").into()),
    }
}
