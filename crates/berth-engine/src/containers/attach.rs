//! Attaching to a container's stdio through its shim. `docker run` attaches before it
//! starts the container, so a start first launches the shim with the container created
//! but not started, lets waiting attachers connect, and only then starts the process:
//! no early output is lost.

use std::sync::Arc;
use std::time::Duration;

use berth_api::ApiError;
use berth_shim::Request;
use tokio::sync::oneshot;

use super::Container;
use crate::Engine;

/// How long a start waits for pending attachers to connect to the shim.
const ATTACH_HANDOFF: Duration = Duration::from_secs(5);

/// A waiting attacher is handed an acknowledgement sender once the shim is ready; it
/// connects, then acknowledges.
pub(crate) type AttachWaiter = oneshot::Sender<oneshot::Sender<()>>;

#[derive(Debug, Clone, Copy)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// The shim connection in attach mode, plus bytes it had already sent.
pub struct AttachStream {
    pub stream: tokio::net::UnixStream,
    pub buffered: Vec<u8>,
    pub tty: bool,
}

impl Engine {
    /// Attaches to a running container, or waits for its next start.
    pub async fn container_attach(
        &self,
        reference: &str,
        options: AttachOptions,
    ) -> Result<AttachStream, ApiError> {
        let container = self.containers.get(reference)?;
        let tty = container.snapshot().config.tty;
        let ready: Option<oneshot::Sender<()>> = if container.status().is_live() {
            None
        } else {
            let (tx, rx) = oneshot::channel();
            container
                .attach_waiters
                .lock()
                .expect("attach waiters poisoned")
                .push(tx);
            let ack = rx
                .await
                .map_err(|_| ApiError::conflict("container was removed before it started"))?;
            Some(ack)
        };
        let state_dir = container.state_dir.clone();
        let id = container.id.clone();
        let (stream, buffered) = tokio::task::spawn_blocking(move || {
            let mut client = berth_shim::Client::connect(&state_dir)?;
            let response = client.call(&Request::Attach {
                stdin: options.stdin,
                stdout: options.stdout,
                stderr: options.stderr,
            })?;
            Ok::<_, berth_shim::ClientError>((response, client.into_stream()))
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?
        .map_err(|e| ApiError::system(format!("attaching to {id}: {e}")))
        .and_then(|(response, stream)| {
            if response.ok {
                Ok(stream)
            } else {
                Err(ApiError::conflict(response.error.unwrap_or_default()))
            }
        })?;
        if let Some(ack) = ready {
            let _ = ack.send(());
        }
        stream
            .set_nonblocking(true)
            .map_err(|e| ApiError::system(e.to_string()))?;
        let stream = tokio::net::UnixStream::from_std(stream)
            .map_err(|e| ApiError::system(e.to_string()))?;
        self.container_event(&container.snapshot(), "attach", &[]);
        Ok(AttachStream {
            stream,
            buffered,
            tty,
        })
    }

    /// Waits (bounded) until the container is no longer running, after its attached
    /// output ended.
    pub async fn container_wait_stopped(&self, reference: &str) {
        if let Ok(container) = self.containers.get(reference) {
            self.wait_not_live(&container, Some(Duration::from_secs(5)))
                .await;
        }
    }

    /// Lets attachers waiting for this start connect to the freshly created shim.
    pub(crate) async fn hand_over_attachers(&self, container: &Arc<Container>) {
        let waiters: Vec<AttachWaiter> = std::mem::take(
            &mut *container
                .attach_waiters
                .lock()
                .expect("attach waiters poisoned"),
        );
        let mut acks = Vec::new();
        for waiter in waiters {
            let (ack_tx, ack_rx) = oneshot::channel();
            if waiter.send(ack_tx).is_ok() {
                acks.push(ack_rx);
            }
        }
        for ack in acks {
            let _ = tokio::time::timeout(ATTACH_HANDOFF, ack).await;
        }
    }

    /// `POST /containers/{id}/resize`.
    pub async fn container_resize(
        &self,
        reference: &str,
        height: u16,
        width: u16,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        if !container.status().is_live() {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                container.id
            )));
        }
        self.shim_call(
            &container,
            Request::Resize {
                height,
                width,
                exec_id: None,
            },
        )
        .await?;
        Ok(())
    }
}
