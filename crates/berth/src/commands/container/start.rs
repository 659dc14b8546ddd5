//! `berth start`: starts stopped containers; with `-a`/`-i` attaches to one first and
//! exits with its code, like `run` without the create.

use clap::Args;
use serde_json::Value;

use super::stream::{run_session, Session, SessionEnd};
use super::{
    attach_path, detach_keys, inspect_container, post_allow_not_modified, signals, tty, Waiter,
    REMOVAL_GRACE,
};
use crate::client::{self, encode, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long = "attach")]
    pub attach: bool,
    /// Restore from this checkpoint
    #[arg(long = "checkpoint", value_name = "string", hide = true)]
    pub checkpoint: Option<String>,
    /// Use a custom checkpoint storage directory
    #[arg(long = "checkpoint-dir", value_name = "string", hide = true)]
    pub checkpoint_dir: Option<String>,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Attach container's STDIN
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: StartArgs) -> client::Result<u8> {
    if args.checkpoint.is_some() || args.checkpoint_dir.is_some() {
        return Err(ClientError::Other(anyhow::anyhow!(
            "checkpoints are not supported by Berth"
        )));
    }
    if args.attach || args.interactive {
        return start_attached(ctx, args).await;
    }
    let mut failed = Vec::new();
    for name in &args.containers {
        let path = format!("/containers/{}/start", encode(name));
        match post_allow_not_modified(&mut ctx.client, &path).await {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("{e}");
                failed.push(name.clone());
            }
        }
    }
    if failed.is_empty() {
        return Ok(0);
    }
    eprintln!("Error: failed to start containers: {}", failed.join(", "));
    Ok(1)
}

async fn start_attached(ctx: &mut Context, args: StartArgs) -> client::Result<u8> {
    if args.containers.len() > 1 {
        return Err(ClientError::Other(anyhow::anyhow!(
            "you cannot start and attach multiple containers at once"
        )));
    }
    let container = inspect_container(&mut ctx.client, &args.containers[0]).await?;
    let id = container
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or(&args.containers[0])
        .to_string();
    let config = container.get("Config").cloned().unwrap_or(Value::Null);
    let flag = |v: &Value, key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
    let tty_mode = flag(&config, "Tty");
    let stdin = args.interactive && flag(&config, "OpenStdin");
    let auto_remove = container
        .get("HostConfig")
        .is_some_and(|h| flag(h, "AutoRemove"));
    if !tty_mode {
        signals::forward_all(&ctx.client, &id);
    }
    let keys = detach_keys(args.detach_keys.as_deref());
    let hijacked = ctx
        .client
        .hijack(
            http::Method::POST,
            &attach_path(&id, stdin, true, true, keys.as_deref()),
        )
        .await?;
    let condition = if auto_remove { "removed" } else { "next-exit" };
    let waiter = Waiter::register(ctx, &id, condition).await;
    let start = format!("/containers/{}/start", encode(&id));
    if let Err(e) = post_allow_not_modified(&mut ctx.client, &start).await {
        drop(hijacked);
        if auto_remove {
            // The daemon removes it; don't hang if it never says so.
            let _ = tokio::time::timeout(REMOVAL_GRACE, waiter.status()).await;
        }
        return Err(e);
    }
    if tty_mode && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        tty::monitor_size(ctx.client.sibling(), format!("/containers/{}", encode(&id)));
    }
    let end = run_session(
        hijacked,
        Session {
            tty: tty_mode,
            stdin,
            output: true,
            detach_keys: keys,
        },
    )
    .await?;
    if end == SessionEnd::Detached {
        return Ok(0);
    }
    Ok(waiter.status().await)
}
