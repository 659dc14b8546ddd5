//! `berth wait`: blocks until each container stops and prints its exit code.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: WaitArgs) -> client::Result<u8> {
    let mut errors = Vec::new();
    for name in &args.containers {
        let path = format!("/containers/{}/wait", encode(name));
        match ctx.client.post_json(&path, None).await {
            Ok(result) => {
                if let Some(message) = result
                    .get("Error")
                    .and_then(|e| e.get("Message"))
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                {
                    errors.push(message.to_string());
                    continue;
                }
                let code = result
                    .get("StatusCode")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                println!("{code}");
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        return Ok(0);
    }
    eprintln!("{}", errors.join("\n"));
    Ok(1)
}
