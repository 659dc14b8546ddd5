//! `/containers/...` routes.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::types::container::CreateRequest;
use berth_api::{ApiError, Filters};
use berth_engine::containers::{AttachOptions, ListOptions, LogOptions, WaitCondition};
use berth_engine::Engine;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::params::Params;
use super::streams::{channel_body, Chunk};
use super::{AppState, HandlerResult};

/// `POST /containers/create?name=`.
pub async fn create(
    State(state): State<AppState>,
    params: Params,
    body: Bytes,
) -> HandlerResult<Response> {
    let request: CreateRequest = if body.is_empty() {
        return Err(
            ApiError::invalid("config cannot be empty in order to create a container").into(),
        );
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("invalid JSON in the request body: {e}")))?
    };
    let created = state
        .engine
        .container_create(params.get("name"), request)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /containers/json`.
pub async fn list(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let limit = params
        .get("limit")
        .filter(|v| !v.is_empty())
        .map(|v| berth_api::query::parse_i64("limit", v))
        .transpose()?
        .filter(|n| *n > 0)
        .map(|n| n as usize);
    let options = ListOptions {
        all: params.bool("all") || limit.is_some(),
        limit,
        size: params.bool("size"),
        filters: Filters::parse(params.get("filters").unwrap_or(""))?,
    };
    Ok(Json(state.engine.container_list(&options)?).into_response())
}

/// Routes `/containers/{id}/{verb}` and `DELETE /containers/{id}`.
pub async fn by_id(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    params: Params,
    request: Request,
) -> HandlerResult<Response> {
    let method = request.method().clone();
    if method == axum::http::Method::DELETE && params.bool("link") {
        // A link name has the form `parent/alias`, so the whole rest names it.
        state.engine.container_remove_link(&rest).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let (id, verb) = match rest.split_once('/') {
        Some((id, verb)) => (id.to_string(), verb.to_string()),
        None => (rest.clone(), String::new()),
    };
    let engine = state.engine.clone();
    let no_content = || StatusCode::NO_CONTENT.into_response();
    let timeout = || -> Result<Option<i64>, ApiError> {
        params
            .get("t")
            .or_else(|| params.get("timeout"))
            .filter(|v| !v.is_empty())
            .map(|v| berth_api::query::parse_i64("t", v))
            .transpose()
    };
    match (method.as_str(), verb.as_str()) {
        ("GET", "json") => {
            Ok(Json(engine.container_inspect(&id, params.bool("size"))?).into_response())
        }
        ("POST", "start") => {
            engine.container_start(&id).await?;
            Ok(no_content())
        }
        ("POST", "stop") => {
            engine
                .container_stop(&id, timeout()?, params.get("signal"))
                .await?;
            Ok(no_content())
        }
        ("POST", "restart") => {
            engine
                .container_restart(&id, timeout()?, params.get("signal"))
                .await?;
            Ok(no_content())
        }
        ("POST", "kill") => {
            engine.container_kill(&id, params.get("signal")).await?;
            Ok(no_content())
        }
        ("POST", "pause") => {
            engine.container_pause(&id, true).await?;
            Ok(no_content())
        }
        ("POST", "unpause") => {
            engine.container_pause(&id, false).await?;
            Ok(no_content())
        }
        ("POST", "rename") => {
            let name = params.get("name").unwrap_or("");
            engine.container_rename(&id, name)?;
            Ok(no_content())
        }
        ("POST", "resize") => {
            let dimension = |key: &str| -> Result<u16, ApiError> {
                let raw = params.get(key).unwrap_or("0");
                raw.parse::<u16>()
                    .map_err(|_| ApiError::invalid(format!("invalid value for {key}: {raw:?}")))
            };
            engine
                .container_resize(&id, dimension("h")?, dimension("w")?)
                .await?;
            Ok(StatusCode::OK.into_response())
        }
        ("POST", "wait") => wait(engine, id, &params).await,
        ("GET", "stats") => stats(engine, id, &params).await,
        ("GET", "top") => {
            let ps_args = params.get("ps_args").unwrap_or("");
            Ok(Json(engine.container_top(&id, ps_args).await?).into_response())
        }
        ("POST", "update") => {
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .map_err(|e| ApiError::invalid(format!("reading the request body: {e}")))?;
            let update: berth_engine::containers::UpdateRequest = serde_json::from_slice(&body)
                .map_err(|e| ApiError::invalid(format!("invalid JSON in the request body: {e}")))?;
            Ok(Json(engine.container_update(&id, update).await?).into_response())
        }
        ("GET", "changes") => Ok(Json(engine.container_changes(&id).await?).into_response()),
        ("GET", "export") => export(engine, id).await,
        ("HEAD", "archive") => {
            let path = archive_path(&params)?;
            let stat = engine.container_path_stat(&id, &path).await?;
            let mut response = StatusCode::OK.into_response();
            set_stat_header(&mut response, &stat.header);
            Ok(response)
        }
        ("GET", "archive") => archive_get(engine, id, &params).await,
        ("PUT", "archive") => {
            let path = archive_path(&params)?;
            let no_overwrite = params.bool("noOverwriteDirNonDir");
            let copy_uid_gid = params.bool("copyUIDGID");
            let reader = super::streams::body_reader(request.into_body());
            engine
                .container_archive_put(&id, &path, reader, no_overwrite, copy_uid_gid)
                .await?;
            Ok(StatusCode::OK.into_response())
        }
        ("GET", "logs") => logs(&engine, &id, &params),
        ("POST", "attach") => attach(engine, id, &params, request).await,
        ("POST", "exec") => {
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .map_err(|e| ApiError::invalid(format!("reading the request body: {e}")))?;
            let config: berth_engine::containers::exec::ExecConfig = serde_json::from_slice(&body)
                .map_err(|e| ApiError::invalid(format!("invalid JSON in the request body: {e}")))?;
            let exec_id = engine.exec_create(&id, config)?;
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({ "Id": exec_id })),
            )
                .into_response())
        }
        ("DELETE", "") => {
            engine
                .container_remove(&id, params.bool("force"), params.bool("v"))
                .await?;
            Ok(no_content())
        }
        _ => Err(ApiError::not_found("page not found").into()),
    }
}

/// `POST /containers/prune`.
pub async fn prune(State(state): State<AppState>, params: Params) -> HandlerResult<Response> {
    let filters = Filters::parse(params.get("filters").unwrap_or(""))?;
    Ok(Json(state.engine.container_prune(filters).await?).into_response())
}

/// Headers go out at once (clients register the wait before starting the container),
/// the body when the condition is met.
async fn wait(engine: Arc<Engine>, id: String, params: &Params) -> HandlerResult<Response> {
    let condition = WaitCondition::parse(params.get("condition").unwrap_or(""))?;
    // Resolve now so a missing container is a 404, not a broken stream.
    engine.container_tty(&id)?;
    let (tx, rx) = mpsc::channel::<Chunk>(1);
    let waiting = {
        let engine = engine.clone();
        let id = id.clone();
        tokio::spawn(async move { engine.container_wait(&id, condition).await })
    };
    tokio::spawn(async move {
        let body = match waiting.await {
            Ok(Ok(response)) => serde_json::to_vec(&response).unwrap_or_default(),
            Ok(Err(e)) => serde_json::to_vec(&serde_json::json!({
                "StatusCode": -1, "Error": {"Message": e.message}
            }))
            .unwrap_or_default(),
            Err(e) => serde_json::to_vec(&serde_json::json!({
                "StatusCode": -1, "Error": {"Message": e.to_string()}
            }))
            .unwrap_or_default(),
        };
        let mut body = body;
        body.push(b'\n');
        let _ = tx.send(Ok(bytes::Bytes::from(body))).await;
    });
    Ok(channel_body(rx, "application/json"))
}

fn logs(engine: &Engine, id: &str, params: &Params) -> HandlerResult<Response> {
    let tail = match params.get("tail") {
        None | Some("") | Some("all") => None,
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("invalid value for tail: {n:?}")))?,
        ),
    };
    let options = LogOptions {
        stdout: params.bool("stdout"),
        stderr: params.bool("stderr"),
        follow: params.bool("follow"),
        timestamps: params.bool("timestamps"),
        tail,
        since: params.timestamp("since")?.filter(|s| *s > 0),
        until: params.timestamp("until")?.filter(|u| *u > 0),
    };
    let (tty, mut lines) = engine.container_logs(id, options)?;
    let (tx, rx) = mpsc::channel::<Chunk>(64);
    tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            let chunk = if tty {
                line.data
            } else {
                frame(line.stream, &line.data)
            };
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
    });
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(channel_body(rx, content_type))
}

/// docker's multiplexed frame: stream id, three zero bytes, big-endian length, payload.
fn frame(stream: u8, data: &[u8]) -> bytes::Bytes {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&berth_shim::protocol::frame_header(stream, data.len()));
    out.extend_from_slice(data);
    bytes::Bytes::from(out)
}

/// `POST /containers/{id}/attach`: answers 101 (or 200 for clients that did not ask to
/// `POST /containers/{id}/attach`: answers 101 (or 200 for clients that did not ask to
/// upgrade), then proxies the hijacked connection to the container's shim.
async fn attach(
    engine: Arc<Engine>,
    id: String,
    params: &Params,
    request: Request,
) -> HandlerResult<Response> {
    let options = AttachOptions {
        stdin: params.bool("stdin"),
        stdout: params.bool("stdout"),
        stderr: params.bool("stderr"),
    };
    let tty = engine.container_tty(&id)?;
    let opener = engine.clone();
    let attached_id = id.clone();
    let open = async move { opener.container_attach(&attached_id, options).await };
    // The output ends when the process exits; the stream closes once berthd has recorded
    // that, so a client that inspects or removes the container next sees it stopped.
    let after = async move { engine.container_wait_stopped(&id).await };
    Ok(hijack(request, tty, open, after))
}

/// Answers a hijack request (101 with `Upgrade: tcp`, else 200) and, once the connection
/// is upgraded, proxies it to the stream `open` yields; `after` runs when the output
/// ends. An error opening the stream is written to the client as docker does.
pub fn hijack<O, A>(request: Request, tty: bool, open: O, after: A) -> Response
where
    O: std::future::Future<Output = Result<berth_engine::containers::AttachStream, ApiError>>
        + Send
        + 'static,
    A: std::future::Future<Output = ()> + Send + 'static,
{
    let upgrade_requested = request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
    let upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let client = match upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(e) => {
                tracing::debug!("hijack upgrade failed: {e}");
                return;
            }
        };
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let shim = match open.await {
            Ok(shim) => shim,
            Err(e) => {
                let text = format!("{}\r\n", e.message);
                let bytes = if tty {
                    bytes::Bytes::from(text)
                } else {
                    frame(1, text.as_bytes())
                };
                let _ = client_write.write_all(&bytes).await;
                let _ = client_write.shutdown().await;
                after.await;
                return;
            }
        };
        let (mut shim_read, mut shim_write) = shim.stream.into_split();
        if !shim.buffered.is_empty() && client_write.write_all(&shim.buffered).await.is_err() {
            return;
        }
        let to_client = async {
            let _ = tokio::io::copy(&mut shim_read, &mut client_write).await;
        };
        let from_client = async {
            let _ = tokio::io::copy(&mut client_read, &mut shim_write).await;
            // The client closed its side (stdin EOF): let the shim close the process's
            // stdin too.
            let _ = shim_write.shutdown().await;
        };
        // Output ending (the process exited) ends the session; stdin ending does not.
        tokio::select! {
            _ = to_client => {}
            _ = async { from_client.await; std::future::pending::<()>().await } => {}
        }
        // Record the exit before the client sees the end of the stream: clients inspect
        // the exit code right after.
        after.await;
        let _ = client_write.shutdown().await;
    });
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let mut response = if upgrade_requested {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        r.headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("tcp"));
        r
    } else {
        Response::new(Body::empty())
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `GET /containers/{id}/stats`: one document with `stream=false` (or `one-shot`), else
/// one per second until the client leaves or the container stops.
async fn stats(engine: Arc<Engine>, id: String, params: &Params) -> HandlerResult<Response> {
    let stream = params
        .get("stream")
        .is_none_or(berth_api::query::parse_bool);
    let one_shot = params.bool("one-shot");
    let first = engine.container_stats(&id, one_shot).await?;
    if !stream {
        return Ok(Json(first).into_response());
    }
    let (tx, rx) = mpsc::channel::<Chunk>(2);
    tokio::spawn(async move {
        let mut next = Some(first);
        loop {
            let Some(document) = next.take() else { return };
            let mut line = serde_json::to_vec(&document).unwrap_or_default();
            line.push(b'\n');
            if tx.send(Ok(bytes::Bytes::from(line))).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match engine.container_stats(&id, false).await {
                Ok(document) => next = Some(document),
                Err(_) => return,
            }
        }
    });
    Ok(channel_body(rx, "application/json"))
}

/// `GET /containers/{id}/export`.
async fn export(engine: Arc<Engine>, id: String) -> HandlerResult<Response> {
    engine.container_tty(&id)?;
    let (tx, rx) = mpsc::channel::<Chunk>(16);
    tokio::spawn(async move {
        let writer = std::io::BufWriter::with_capacity(
            256 * 1024,
            super::streams::ChannelWriter::new(tx.clone()),
        );
        if let Err(e) = engine.container_export(&id, Box::new(writer)).await {
            let _ = tx.send(Err(std::io::Error::other(e.message))).await;
        }
    });
    Ok(channel_body(rx, "application/x-tar"))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&changes=&pause=`.
pub async fn commit(
    State(state): State<AppState>,
    params: Params,
    body: Bytes,
) -> HandlerResult<Response> {
    let config = if body.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice::<serde_json::Value>(&body)
                .map_err(|e| ApiError::invalid(format!("invalid JSON in the request body: {e}")))?,
        )
    };
    let request = berth_engine::containers::CommitRequest {
        container: params.get("container").unwrap_or("").to_string(),
        repo: params.get("repo").unwrap_or("").to_string(),
        tag: params.get("tag").unwrap_or("").to_string(),
        comment: params.get("comment").unwrap_or("").to_string(),
        author: params.get("author").unwrap_or("").to_string(),
        changes: params.all("changes").to_vec(),
        pause: params.get("pause").is_none_or(berth_api::query::parse_bool),
        config: config.filter(|c| !c.is_null()),
    };
    let id = state.engine.container_commit(request).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "Id": id }))).into_response())
}

fn archive_path(params: &Params) -> Result<String, ApiError> {
    match params.get("path") {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(ApiError::invalid(
            "path is required: the path parameter cannot be empty",
        )),
    }
}

fn set_stat_header(response: &mut Response, header_value: &str) {
    if let Ok(value) = HeaderValue::from_str(header_value) {
        response
            .headers_mut()
            .insert("x-docker-container-path-stat", value);
    }
}

/// `GET /containers/{id}/archive?path=`: the stat header, then the tar.
async fn archive_get(engine: Arc<Engine>, id: String, params: &Params) -> HandlerResult<Response> {
    let path = archive_path(params)?;
    let (tx, rx) = mpsc::channel::<Chunk>(16);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let writer = std::io::BufWriter::with_capacity(
            256 * 1024,
            super::streams::ChannelWriter::new(tx.clone()),
        );
        if let Err(e) = engine
            .container_archive_get(&id, &path, Box::new(writer), ready_tx)
            .await
        {
            let _ = tx.send(Err(std::io::Error::other(e.message))).await;
        }
    });
    let stat = ready_rx
        .await
        .map_err(|_| ApiError::system("the archive task ended early"))??;
    let mut response = channel_body(rx, "application/x-tar");
    set_stat_header(&mut response, &stat.header);
    Ok(response)
}

/// `DELETE /containers/json`: the list route's path is also the removal path of a
/// container named `json`.
pub async fn remove_named_json(
    State(state): State<AppState>,
    params: Params,
) -> HandlerResult<Response> {
    state
        .engine
        .container_remove("json", params.bool("force"), params.bool("v"))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
