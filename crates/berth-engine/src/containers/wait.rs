//! `POST /containers/{id}/wait?condition=`.

use berth_api::types::container::WaitResponse;
use berth_api::ApiError;

use crate::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Returns at once for a container that is not running (docker's default).
    NotRunning,
    /// Waits for the next exit, even of a container not started yet.
    NextExit,
    /// Waits until the container is removed.
    Removed,
}

impl WaitCondition {
    pub fn parse(text: &str) -> Result<WaitCondition, ApiError> {
        match text {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(ApiError::invalid(format!("invalid condition: \"{other}\""))),
        }
    }
}

impl Engine {
    pub async fn container_wait(
        &self,
        reference: &str,
        condition: WaitCondition,
    ) -> Result<WaitResponse, ApiError> {
        let container = self.containers.get(reference)?;
        let mut changes = container.subscribe();
        let first_finish = container.snapshot().state.finished_at;
        loop {
            let record = container.snapshot();
            let exited = !record.state.status.is_live()
                && record.state.status != super::Status::Restarting
                && record.state.status != super::Status::Removing;
            let done = match condition {
                WaitCondition::NotRunning => exited,
                WaitCondition::NextExit => exited && record.state.finished_at != first_finish,
                WaitCondition::Removed => self.containers.get(&record.id).is_err(),
            };
            if done {
                return Ok(WaitResponse {
                    status_code: record.state.exit_code,
                    error: None,
                });
            }
            if changes.changed().await.is_err() {
                return Ok(WaitResponse {
                    status_code: record.state.exit_code,
                    error: None,
                });
            }
        }
    }
}
