//! HTTP routes of the Engine API. Handlers parse, call one engine method, shape the answer.

pub mod build;
pub mod containers;
pub mod exec;
pub mod images;
pub mod networks;
pub mod params;
pub mod registry;
pub mod streams;
pub mod system;
pub mod version;
pub mod volumes;

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use berth_api::ApiError;
use berth_engine::Engine;
use tokio_util::sync::CancellationToken;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Cancelled when the daemon stops; long-lived streams end on it.
    pub shutdown: CancellationToken,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/system/df", get(system::data_usage))
        .route("/containers/create", post(containers::create))
        .route(
            "/containers/json",
            get(containers::list).delete(containers::remove_named_json),
        )
        .route("/containers/prune", post(containers::prune))
        .route("/commit", post(containers::commit))
        .route("/build", post(build::build))
        .route("/build/prune", post(build::prune))
        .route("/build/cancel", post(build::cancel))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/networks/{id}/{verb}", post(networks::connect))
        .route("/exec/{id}/{verb}", get(exec::by_id).post(exec::by_id))
        .route(
            "/containers/{*rest}",
            get(containers::by_id)
                .post(containers::by_id)
                .put(containers::by_id)
                .delete(containers::by_id),
        )
        .route("/images/json", get(images::list))
        .route("/images/load", post(images::load))
        .route("/images/get", get(images::save_many))
        .route("/images/create", post(images::create))
        .route("/images/search", get(registry::search))
        .route("/auth", post(registry::login))
        .route("/images/prune", post(images::prune))
        .route(
            "/images/{*rest}",
            get(images::by_name)
                .post(images::by_name)
                .delete(images::by_name),
        )
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::by_name)
                .put(volumes::by_name)
                .delete(volumes::by_name),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    error_response(&ApiError::not_found("page not found"))
}

/// moby's error body: `{"message": "..."}` with the kind's status code.
pub fn error_response(error: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::NOT_MODIFIED {
        return status.into_response();
    }
    let mut response = (status, error.to_json()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Handler error type: anything convertible into an `ApiError`.
pub struct HandlerError(pub ApiError);

impl From<ApiError> for HandlerError {
    fn from(e: ApiError) -> Self {
        HandlerError(e)
    }
}

impl IntoResponse for HandlerError {
    fn into_response(self) -> Response {
        if self.0.kind == berth_api::ErrorKind::System {
            tracing::error!("request failed: {}", self.0.message);
        }
        error_response(&self.0)
    }
}

pub type HandlerResult<T> = Result<T, HandlerError>;
