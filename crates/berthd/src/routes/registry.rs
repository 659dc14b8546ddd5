//! `POST /auth` and `GET /images/search`: the registry calls that are not image verbs.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::ApiError;
use berth_engine::images::AuthConfig;
use serde_json::json;

use super::images::registry_auth;
use super::params::Params;
use super::{AppState, HandlerResult};

/// `POST /auth` with an `AuthConfig` body.
pub async fn login(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> HandlerResult<Response> {
    let auth: AuthConfig = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("invalid authentication request: {e}")))?;
    state.engine.registry_login(auth).await?;
    Ok(Json(json!({ "Status": "Login Succeeded", "IdentityToken": "" })).into_response())
}

/// `GET /images/search?term=&limit=&filters=`.
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Params,
) -> HandlerResult<Response> {
    let term = params.get("term").unwrap_or("").to_string();
    if term.is_empty() {
        return Err(ApiError::invalid("a search term is required (term=...)").into());
    }
    let limit = match params.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("invalid limit {l:?}")))?,
        ),
        None => None,
    };
    let filters = berth_api::Filters::parse(params.get("filters").unwrap_or(""))?;
    let auth = registry_auth(&headers);
    let results = state
        .engine
        .image_search(&term, limit, filters, auth.as_deref())
        .await?;
    Ok(Json(results).into_response())
}
