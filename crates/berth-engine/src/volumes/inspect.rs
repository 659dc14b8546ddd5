//! `GET /volumes/{name}`.

use berth_api::ApiError;
use serde_json::Value;

use crate::Engine;

impl Engine {
    pub fn volume_inspect(&self, name: &str) -> Result<Value, ApiError> {
        Ok(self.volumes.get(name)?.to_json())
    }
}
