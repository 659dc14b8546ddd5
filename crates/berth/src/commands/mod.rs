//! One module per command. Each `run` returns the process exit code.

pub mod build;
pub mod compose;
pub mod container;
pub mod events;
pub mod image;
pub mod info;
pub mod network;
pub mod system_df;
pub mod system_prune;
pub mod version;
pub mod volume;

use crate::client::{self, host, Client, ConnectionFlags};

/// What every command needs: the client for the chosen daemon.
pub struct Context {
    pub client: Client,
}

impl Context {
    pub fn new(flags: &ConnectionFlags) -> client::Result<Context> {
        let target = host::resolve(flags)?;
        Ok(Context {
            client: Client::new(target),
        })
    }
}
