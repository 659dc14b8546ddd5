//! `/_ping`, `/version`, `/info`, `/events`, `/system/df`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::types::events::EventMessage;
use berth_api::ApiVersion;
use berth_engine::events::{event_matches, FILTER_KEYS};
use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::params::Params;
use super::{AppState, HandlerResult};

/// `GET|HEAD /_ping`: the headers clients negotiate with.
pub async fn ping() -> Response {
    let mut headers = HeaderMap::new();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(&mut headers, "api-version", &ApiVersion::MAX.to_string());
    set(&mut headers, "ostype", std::env::consts::OS);
    set(&mut headers, "docker-experimental", "false");
    // "1" is the classic builder, which is what `POST /build` implements.
    set(&mut headers, "builder-version", "1");
    set(&mut headers, "swarm", "inactive");
    set(
        &mut headers,
        "cache-control",
        "no-cache, no-store, must-revalidate",
    );
    set(&mut headers, "pragma", "no-cache");
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (headers, "OK").into_response()
}

pub async fn version(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.engine.version())
}

pub async fn info(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.engine.info())
}

pub async fn data_usage(State(state): State<AppState>) -> HandlerResult<Response> {
    Ok(Json(state.engine.data_usage().await?).into_response())
}

/// `GET /events`: replays history from `since`, then streams live events until `until`,
/// the client going away, or the daemon stopping.
pub async fn events(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let filters = params.filters(FILTER_KEYS)?;
    let since = params.timestamp("since")?;
    let until = params.timestamp("until")?;
    let (past, mut live) = state.engine.events.subscribe(since);
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let shutdown = state.shutdown.clone();

    tokio::spawn(async move {
        let wanted =
            |e: &EventMessage| event_matches(&filters, e) && until.is_none_or(|u| e.time_nano <= u);
        for event in past.iter().filter(|e| wanted(e)) {
            if tx.send(Ok(encode(event))).await.is_err() {
                return;
            }
        }
        let now = now_nanos();
        if until.is_some_and(|u| u <= now) {
            return;
        }
        let deadline = until
            .map(|u| tokio::time::Instant::now() + Duration::from_nanos((u - now).max(0) as u64));
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = sleep_until(deadline) => return,
                next = live.recv() => next,
            };
            match next {
                Ok(event) if wanted(&event) => {
                    if tx.send(Ok(encode(&event))).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("an events listener fell behind and lost {n} events");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });

    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn encode(event: &EventMessage) -> Bytes {
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn now_nanos() -> i128 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as i128
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
