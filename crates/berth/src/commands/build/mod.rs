//! `berth build` (the classic builder's client, as `DOCKER_BUILDKIT=0 docker build`) and
//! `berth builder prune`.

mod context;
pub mod prune;

use std::io::Write;
use std::sync::atomic::Ordering;

use clap::Args;
use serde_json::{json, Value};

use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list")]
    pub add_host: Vec<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "list")]
    pub build_arg: Vec<String>,
    /// Images to consider as cache sources
    #[arg(long = "cache-from", value_name = "strings")]
    pub cache_from: Vec<String>,
    /// Name of the Dockerfile (Default is 'PATH/Dockerfile')
    #[arg(short = 'f', long = "file", value_name = "string")]
    pub file: Option<String>,
    /// Always remove intermediate containers
    #[arg(long = "force-rm")]
    pub force_rm: bool,
    /// Write the image ID to the file
    #[arg(long = "iidfile", value_name = "string")]
    pub iidfile: Option<String>,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Set the networking mode for the RUN instructions during build (default "default")
    #[arg(long = "network", value_name = "string")]
    pub network: Option<String>,
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
    /// Always attempt to pull a newer version of the image
    #[arg(long = "pull")]
    pub pull: bool,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Remove intermediate containers after a successful build (default true)
    #[arg(long = "rm", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub rm: Option<String>,
    /// Name and optionally a tag in the 'name:tag' format
    #[arg(short = 't', long = "tag", value_name = "list")]
    pub tag: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long = "target", value_name = "string")]
    pub target: Option<String>,
    /// PATH | URL | -
    pub context: String,
}

pub async fn run(ctx: &mut Context, args: BuildArgs) -> client::Result<u8> {
    let rm = match args.rm.as_deref() {
        None => true,
        Some(v) => berth_api::query::parse_bool(v),
    };
    let prepared = context::prepare(&args.context, args.file.as_deref())?;
    let mut query = vec![format!("rm={}", rm as u8)];
    for tag in &args.tag {
        query.push(format!("t={}", encode(tag)));
    }
    if let Some(name) = &prepared.dockerfile {
        query.push(format!("dockerfile={}", encode(name)));
    }
    if !args.build_arg.is_empty() {
        let mut map = serde_json::Map::new();
        for arg in &args.build_arg {
            match arg.split_once('=') {
                Some((k, v)) => {
                    map.insert(k.to_string(), json!(v));
                }
                // `--build-arg NAME` takes the value from the environment (or none).
                None => {
                    let value = std::env::var(arg).ok();
                    if let Some(v) = value {
                        map.insert(arg.clone(), json!(v));
                    } else {
                        map.insert(arg.clone(), Value::Null);
                    }
                }
            }
        }
        query.push(format!(
            "buildargs={}",
            encode(&Value::Object(map).to_string())
        ));
    }
    if !args.label.is_empty() {
        let labels: serde_json::Map<String, Value> = args
            .label
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), json!(v)),
                None => (l.clone(), json!("")),
            })
            .collect();
        query.push(format!(
            "labels={}",
            encode(&Value::Object(labels).to_string())
        ));
    }
    if !args.cache_from.is_empty() {
        query.push(format!(
            "cachefrom={}",
            encode(&json!(args.cache_from).to_string())
        ));
    }
    for (flag, on) in [
        ("nocache", args.no_cache),
        ("pull", args.pull),
        ("q", args.quiet),
        ("forcerm", args.force_rm),
    ] {
        if on {
            query.push(format!("{flag}=1"));
        }
    }
    if let Some(target) = &args.target {
        query.push(format!("target={}", encode(target)));
    }
    if let Some(network) = &args.network {
        query.push(format!("networkmode={}", encode(network)));
    }
    for host in &args.add_host {
        query.push(format!("extrahosts={}", encode(host)));
    }
    if let Some(platform) = &args.platform {
        query.push(format!("platform={}", encode(platform)));
    }
    let sent = prepared.sent.clone();
    let response = ctx
        .client
        .send_body(
            http::Method::POST,
            &format!("/build?{}", query.join("&")),
            prepared.body,
            Some("application/x-tar"),
        )
        .await?;
    if let Some(e) = prepared.producer_error.lock().expect("error slot").take() {
        return Err(ClientError::Other(anyhow::anyhow!(e)));
    }
    let mut out = std::io::stdout();
    if !args.quiet {
        let size = sent.load(Ordering::Relaxed) as f64;
        writeln!(
            out,
            "Sending build context to Docker daemon  {}",
            output::human_size(size)
        )
        .map_err(|e| ClientError::Other(e.into()))?;
    }
    let mut failure: Option<(String, i64)> = None;
    let mut image_id: Option<String> = None;
    Client::read_json_lines(response, |message| {
        if let Some(error) = message.get("error").and_then(Value::as_str) {
            let code = message
                .pointer("/errorDetail/code")
                .and_then(Value::as_i64)
                .filter(|c| *c != 0)
                .unwrap_or(1);
            failure = Some((error.to_string(), code));
            return Ok(false);
        }
        if let Some(id) = message.pointer("/aux/ID").and_then(Value::as_str) {
            image_id = Some(id.to_string());
        }
        if let Some(text) = message.get("stream").and_then(Value::as_str) {
            if !args.quiet {
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
        } else if let Some(line) = pull_status_line(&message) {
            // A base image pulled for FROM: its state changes, as docker shows them
            // outside a terminal (byte-count updates are dropped).
            if !args.quiet {
                writeln!(out, "{line}")?;
                out.flush()?;
            }
        }
        Ok(true)
    })
    .await?;
    if let Some((message, code)) = failure {
        eprintln!("{message}");
        return Ok(code.clamp(1, 255) as u8);
    }
    let Some(id) = image_id else {
        return Err(ClientError::Other(anyhow::anyhow!(
            "the daemon did not report the built image"
        )));
    };
    if args.quiet {
        println!("{id}");
    }
    if let Some(path) = &args.iidfile {
        std::fs::write(path, &id)
            .map_err(|e| ClientError::Usage(format!("failed to write iidfile {path}: {e}")))?;
    }
    Ok(0)
}

/// The line a pull progress message of a build stream prints: `ID: Status`, or `None`
/// for a byte-count update.
fn pull_status_line(message: &Value) -> Option<String> {
    let status = message.get("status").and_then(Value::as_str)?;
    let counting = message
        .get("progressDetail")
        .and_then(Value::as_object)
        .is_some_and(|d| !d.is_empty());
    if counting {
        return None;
    }
    Some(match message.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("{id}: {status}"),
        _ => status.to_string(),
    })
}

#[cfg(test)]
mod pull_status_tests {
    use super::pull_status_line;
    use serde_json::json;

    #[test]
    fn state_changes_print_and_byte_counts_do_not() {
        let pulling =
            json!({"status": "Pulling fs layer", "id": "03e19c35bd58", "progressDetail": {}});
        assert_eq!(
            pull_status_line(&pulling).as_deref(),
            Some("03e19c35bd58: Pulling fs layer")
        );
        let digest = json!({"status": "Digest: sha256:ab"});
        assert_eq!(
            pull_status_line(&digest).as_deref(),
            Some("Digest: sha256:ab")
        );
        let bytes = json!({"status": "Downloading", "id": "03e19c35bd58",
            "progressDetail": {"current": 10, "total": 20}});
        assert_eq!(pull_status_line(&bytes), None);
        assert_eq!(pull_status_line(&json!({"stream": "Step 1/2"})), None);
    }
}
