//! A `RUN` step: a real container from the current image (entrypoint cleared, the step's
//! environment, the build's network settings), its output streamed live, its upper
//! directory committed as the step's layer. A client that goes away kills and removes
//! the container.

use std::pin::pin;

use berth_api::types::container::CreateRequest;
use berth_api::ApiError;
use berth_build::StageState;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::short_id;
use super::steps::{parent_digest, Build};
use crate::containers::{AttachOptions, WaitCondition};

pub(crate) async fn step(
    build: &mut Build<'_>,
    state: &mut StageState,
    cmd: Vec<String>,
    env: Vec<String>,
    created_by: String,
) -> Result<(), ApiError> {
    let key = berth_build::cache::key(
        state.image.as_deref(),
        &state.config,
        state.author.as_deref(),
        &created_by,
        &env.join("\n"),
    );
    if let Some(id) = build.cached(&key).await {
        build.use_cached(state, id).await;
        return Ok(());
    }
    let parent = build.ensure_image(state).await?;
    let engine = build.engine.clone();
    let network_mode = match build.request.network_mode.as_str() {
        "" | "default" => String::new(),
        mode => mode.to_string(),
    };
    let body = json!({
        "Image": parent,
        "Cmd": cmd,
        "Entrypoint": [""],
        "Env": env,
        "User": state.config.user.clone().unwrap_or_default(),
        "WorkingDir": state.config.working_dir.clone().unwrap_or_default(),
        "AttachStdout": true,
        "AttachStderr": true,
        "Healthcheck": { "Test": ["NONE"] },
        "HostConfig": {
            "NetworkMode": network_mode,
            "ExtraHosts": build.request.extra_hosts,
            "LogConfig": { "Type": "none", "Config": {} },
        },
    });
    let request: CreateRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::system(format!("build container: {e}")))?;
    let id = engine.container_create(None, request).await?.id;
    build
        .out(format!(" ---> Running in {}\n", short_id(&id)))
        .await;

    let outcome = run_container(build, &id).await;
    let remove = match &outcome {
        Ok(0) => build.request.rm || build.request.force_rm,
        Ok(_) => build.request.force_rm,
        // Cancelled or broken: never leave it behind.
        Err(_) => true,
    };
    let result = match outcome {
        Ok(0) => {
            let container = engine.containers.get(&id)?;
            let child = build.child_image(state, created_by);
            let committed = crate::containers::introspect::commit_dir(
                engine.image_store(),
                container.dir.join("upper"),
                parent_digest(state)?,
                child,
            )
            .await;
            committed.map(|d| d.as_str().to_string())
        }
        Ok(code) => {
            build.exit_code = Some(code);
            Err(ApiError::invalid(format!(
                "The command '{}' returned a non-zero code: {code}",
                cmd.join(" ")
            )))
        }
        Err(e) => Err(e),
    };
    if remove {
        if result.is_ok() {
            build
                .out(format!(
                    "Removing intermediate container {}\n",
                    short_id(&id)
                ))
                .await;
        }
        if let Err(e) = engine.container_remove(&id, true, true).await {
            tracing::warn!("removing build container {id}: {}", e.message);
        }
    }
    let image = result?;
    build.finish_step(state, key, image).await;
    Ok(())
}

/// Attaches, starts, streams the output and waits; returns the exit code.
async fn run_container(build: &Build<'_>, id: &str) -> Result<i64, ApiError> {
    let engine = build.engine.clone();
    let options = AttachOptions {
        stdin: false,
        stdout: true,
        stderr: true,
    };
    let mut attach = pin!(engine.container_attach(id, options));
    // One poll registers the attacher before the start hands the shim over.
    let early = tokio::select! {
        biased;
        result = &mut attach => Some(result),
        _ = async {} => None,
    };
    let starter = engine.clone();
    let start_id = id.to_string();
    let mut start = pin!(tokio::spawn(async move {
        starter.container_start(&start_id).await
    }));
    let mut stream = match early {
        Some(result) => {
            let s = result?;
            (&mut start)
                .await
                .map_err(|e| ApiError::system(e.to_string()))??;
            s
        }
        None => {
            let mut started = false;
            loop {
                tokio::select! {
                    result = &mut attach => {
                        let s = result?;
                        if !started {
                            (&mut start).await.map_err(|e| ApiError::system(e.to_string()))??;
                        }
                        break s;
                    }
                    result = &mut start, if !started => {
                        result.map_err(|e| ApiError::system(e.to_string()))??;
                        started = true;
                    }
                }
            }
        }
    };
    // Demultiplex the output into stream messages as it comes.
    let mut pending: Vec<u8> = std::mem::take(&mut stream.buffered);
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        while let Some((payload, used)) = next_frame(&pending, stream.tty) {
            if !payload.is_empty() {
                build
                    .out(String::from_utf8_lossy(&payload).into_owned())
                    .await;
            }
            pending.drain(..used);
        }
        let read = tokio::select! {
            n = stream.stream.read(&mut buf) => n.map_err(|e| ApiError::system(e.to_string()))?,
            _ = build.progress.closed() => {
                return Err(ApiError::system("the build was cancelled: the client went away"));
            }
        };
        if read == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..read]);
    }
    let waited = tokio::select! {
        w = engine.container_wait(id, WaitCondition::NotRunning) => w?,
        _ = build.progress.closed() => {
            return Err(ApiError::system("the build was cancelled: the client went away"));
        }
    };
    Ok(waited.status_code)
}

/// The next complete frame of a multiplexed stream (or all bytes of a raw one), and
/// how many bytes it used.
fn next_frame(data: &[u8], tty: bool) -> Option<(Vec<u8>, usize)> {
    if data.is_empty() {
        return None;
    }
    if tty {
        return Some((data.to_vec(), data.len()));
    }
    if data.len() < 8 {
        return None;
    }
    let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
    if data.len() < 8 + len {
        return None;
    }
    Some((data[8..8 + len].to_vec(), 8 + len))
}
