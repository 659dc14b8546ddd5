//! Volume commands: `volume create`, `volume ls`, `volume inspect`, `volume rm`,
//! `volume prune`.

pub mod create;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

use std::collections::BTreeMap;

use crate::client::{self, ClientError};

/// `KEY=VALUE` flags (`--label`, `-o`) into a map; a bare `KEY` maps to `""`, as docker.
pub fn key_values(flags: &[String]) -> BTreeMap<String, String> {
    flags
        .iter()
        .map(|flag| match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (flag.clone(), String::new()),
        })
        .collect()
}

/// `--filter` values that must be `KEY=VALUE`.
pub fn checked_filters(flags: &[String]) -> client::Result<berth_api::Filters> {
    crate::output::parse_filter_flags(flags).map_err(|_| {
        ClientError::Other(anyhow::anyhow!(
            "bad format of filter (expected name=value)"
        ))
    })
}
