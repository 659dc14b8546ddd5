//! `POST /build` (the classic builder's API), `POST /build/prune`, `POST /build/cancel`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::ApiError;
use berth_engine::build::BuildRequest;
use serde_json::Value;
use tokio::sync::mpsc;

use super::params::Params;
use super::streams::{body_reader, channel_body, error_line, json_line, Chunk};
use super::{AppState, HandlerResult};

/// `POST /build`: the body is the context (a tar, maybe compressed, or a Dockerfile).
pub async fn build(
    State(state): State<AppState>,
    params: Params,
    body: Body,
) -> HandlerResult<Response> {
    let request = parse_request(&params)?;
    let (tx, mut rx) = mpsc::channel::<Value>(64);
    let engine = state.engine.clone();
    let reader = body_reader(body);
    let mut task = tokio::spawn(async move { engine.build(request, reader, tx).await });
    // Wait for the first message: a build that fails before printing anything (a bad
    // Dockerfile, a missing base image) answers with a real error status.
    let first = tokio::select! {
        message = rx.recv() => message,
        finished = &mut task => {
            finished
                .map_err(|e| ApiError::system(e.to_string()))?
                .map_err(|failure| failure.error)?;
            let mut body = Vec::new();
            while let Ok(message) = rx.try_recv() {
                body.extend_from_slice(&json_line(message));
            }
            let mut response = Body::from(body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Ok(response);
        }
    };
    let (out, chunks) = mpsc::channel::<Chunk>(16);
    tokio::spawn(async move {
        if let Some(message) = first {
            if out.send(Ok(json_line(message))).await.is_err() {
                return;
            }
        }
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => {
                        if out.send(Ok(json_line(message))).await.is_err() {
                            // The client went away: dropping `rx` cancels the build.
                            return;
                        }
                    }
                    None => break,
                },
                _ = out.closed() => return,
            }
        }
        let outcome = match task.await {
            Ok(outcome) => outcome,
            Err(e) => Err(ApiError::system(e.to_string()).into()),
        };
        if let Err(failure) = outcome {
            let line = match failure.code {
                // docker's CLI exits with the failed command's code.
                Some(code) => json_line(serde_json::json!({
                    "errorDetail": { "code": code, "message": failure.error.message },
                    "error": failure.error.message,
                })),
                None => error_line(&failure.error),
            };
            let _ = out.send(Ok(line)).await;
        }
    });
    Ok(channel_body(chunks, "application/json"))
}

fn parse_request(params: &Params) -> Result<BuildRequest, ApiError> {
    let json_param = |key: &str| -> Result<Option<Value>, ApiError> {
        match params.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => serde_json::from_str(text)
                .map(Some)
                .map_err(|e| ApiError::invalid(format!("invalid {key}: {e}"))),
        }
    };
    let mut request = BuildRequest {
        tags: params
            .all("t")
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect(),
        dockerfile: params.get("dockerfile").unwrap_or("").to_string(),
        no_cache: params.bool("nocache"),
        pull: params.bool("pull"),
        quiet: params.bool("q"),
        // docker's default is to remove intermediate containers.
        rm: params.get("rm").is_none_or(berth_api::query::parse_bool),
        force_rm: params.bool("forcerm"),
        target: params
            .get("target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        network_mode: params.get("networkmode").unwrap_or("").to_string(),
        extra_hosts: params
            .all("extrahosts")
            .iter()
            .flat_map(|h| h.split(','))
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect(),
        remote: params
            .get("remote")
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        ..Default::default()
    };
    if let Some(Value::Object(args)) = json_param("buildargs")? {
        for (k, v) in args {
            request.build_args.insert(k, v.as_str().map(str::to_string));
        }
    }
    if let Some(Value::Object(labels)) = json_param("labels")? {
        for (k, v) in labels {
            request
                .labels
                .insert(k, v.as_str().unwrap_or_default().to_string());
        }
    }
    if let Some(Value::Array(list)) = json_param("cachefrom")? {
        request.cache_from = list
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
    }
    Ok(request)
}

/// `POST /build/prune`.
pub async fn prune(State(state): State<AppState>) -> HandlerResult<Response> {
    Ok(Json(state.engine.build_prune().await?).into_response())
}

/// `POST /build/cancel`: a BuildKit call; classic builds end when their client leaves.
pub async fn cancel() -> HandlerResult<Response> {
    Ok(Json(serde_json::json!({})).into_response())
}
