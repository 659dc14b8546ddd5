//! The config hash Compose puts on containers (`com.docker.compose.config-hash`): a
//! SHA-256 of the service's resolved configuration, so `up` recreates exactly the
//! containers whose service changed. Replica count and profiles do not count: scaling
//! a service must not recreate its existing containers.

use sha2::{Digest, Sha256};

use crate::model::Service;

pub fn config_hash(service: &Service) -> String {
    let mut copy = service.clone();
    copy.scale = 1;
    copy.profiles.clear();
    copy.build = None;
    // Dependencies decide start order, not what runs inside the container.
    copy.depends_on.clear();
    let json = serde_json::to_vec(&copy).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}
