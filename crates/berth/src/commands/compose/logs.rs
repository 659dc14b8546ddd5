//! `compose logs`, and the attached output of `up`: every container's log stream, line by
//! line, behind a coloured `name  | ` prefix (the container name without the project).

use std::io::Write;

use clap::Args;
use futures_util::future::{join_all, select_all};
use http_body_util::BodyExt;
use serde_json::Value;

use super::project::Options;
use super::state::{self, Container};
use crate::client::{self, encode, Client, ClientError};
use crate::commands::container::stream::{Demux, StreamKind};
use crate::commands::Context;
use crate::timespec;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Show timestamps
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(
        short = 'n',
        long = "tail",
        value_name = "string",
        default_value = "all"
    )]
    pub tail: String,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long = "since", value_name = "string")]
    pub since: Option<String>,
    /// Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long = "until", value_name = "string")]
    pub until: Option<String>,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// index of the container if service has multiple replicas
    #[arg(long = "index", value_name = "int")]
    pub index: Option<u32>,
    pub services: Vec<String>,
}

/// How to print the streams.
#[derive(Debug, Clone)]
pub struct Follow {
    pub colours: bool,
    pub prefix: bool,
    pub timestamps: bool,
    /// Unix seconds: only output since then.
    pub since: Option<i64>,
    pub tail: Option<String>,
    /// Print `name exited with code N` when a stream ends (`up`).
    pub exit_messages: bool,
}

const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// `web-1` for `proj-web-1`; other names as they are.
pub fn short_name(project: &str, c: &Container) -> String {
    c.name
        .strip_prefix(&format!("{project}-"))
        .unwrap_or(&c.name)
        .to_string()
}

struct Printer {
    prefix: String,
    pending: [Vec<u8>; 2],
}

impl Printer {
    fn write(&mut self, kind: StreamKind, data: &[u8]) -> std::io::Result<()> {
        let slot = usize::from(kind == StreamKind::Stderr);
        self.pending[slot].extend_from_slice(data);
        let mut out = std::io::stdout().lock();
        while let Some(end) = self.pending[slot].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending[slot].drain(..=end).collect();
            out.write_all(self.prefix.as_bytes())?;
            out.write_all(&line)?;
        }
        out.flush()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        for slot in 0..2 {
            if !self.pending[slot].is_empty() {
                out.write_all(self.prefix.as_bytes())?;
                out.write_all(&std::mem::take(&mut self.pending[slot]))?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()
    }
}

fn prefixes(project: &str, containers: &[Container], follow: &Follow) -> Vec<String> {
    let width = containers
        .iter()
        .map(|c| short_name(project, c).len())
        .max()
        .unwrap_or(0);
    containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if !follow.prefix {
                return String::new();
            }
            let name = format!("{:<width$} | ", short_name(project, c));
            if follow.colours {
                format!("\x1b[{}m{name}\x1b[0m", COLOURS[i % COLOURS.len()])
            } else {
                name
            }
        })
        .collect()
}

/// Streams one container's log to stdout with `prefix`; follows when `follow`.
async fn stream_one(
    mut client: Client,
    c: Container,
    prefix: String,
    options: Follow,
    follow: bool,
    until: Option<String>,
) -> client::Result<()> {
    let mut query = vec!["stdout=1".to_string(), "stderr=1".to_string()];
    if follow {
        query.push("follow=1".into());
    }
    if options.timestamps {
        query.push("timestamps=1".into());
    }
    if let Some(s) = options.since {
        query.push(format!("since={s}"));
    }
    if let Some(u) = until {
        query.push(format!("until={}", encode(&u)));
    }
    if let Some(t) = &options.tail {
        query.push(format!("tail={}", encode(t)));
    }
    let info = client
        .get_json(&format!("/containers/{}/json", c.id))
        .await?;
    let tty = info
        .pointer("/Config/Tty")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let response = client
        .send(
            http::Method::GET,
            &format!("/containers/{}/logs?{}", c.id, query.join("&")),
            None,
            None,
        )
        .await?;
    let response = Client::check(response).await?;
    let mut body = response.into_body();
    let mut printer = Printer {
        prefix: prefix.clone(),
        pending: [Vec::new(), Vec::new()],
    };
    let mut demux = Demux::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ClientError::Other(anyhow::anyhow!("error reading logs: {e}")))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if tty {
            printer
                .write(StreamKind::Stdout, data)
                .map_err(|e| ClientError::Other(e.into()))?;
        } else {
            demux
                .feed(data, &mut |kind, payload| printer.write(kind, payload))
                .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
        }
    }
    printer.finish().map_err(|e| ClientError::Other(e.into()))?;
    if options.exit_messages {
        let info = client
            .get_json(&format!("/containers/{}/json", c.id))
            .await?;
        if info.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
            let code = info
                .pointer("/State/ExitCode")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let plain = format!("{} exited with code {code}", short_name_from(&prefix));
            println!("{plain}");
        }
    }
    Ok(())
}

fn short_name_from(prefix: &str) -> String {
    // Strip colour codes and the ` | ` separator.
    let mut text = prefix.to_string();
    while let Some(start) = text.find('\x1b') {
        let end = text[start..]
            .find('m')
            .map(|e| start + e + 1)
            .unwrap_or(text.len());
        text.replace_range(start..end, "");
    }
    text.trim_end_matches(' ')
        .trim_end_matches('|')
        .trim()
        .to_string()
}

/// Follows every container until all streams end (or the first, with `first_only`).
pub async fn follow_all(
    base: &Client,
    containers: &[Container],
    options: &Follow,
    first_only: bool,
) {
    let project = containers
        .first()
        .map(|c| super::convergence::label_of(c, super::labels::PROJECT))
        .unwrap_or_default();
    let prefixes = prefixes(&project, containers, options);
    let streams: Vec<_> = containers
        .iter()
        .zip(prefixes)
        .map(|(c, prefix)| {
            Box::pin(stream_one(
                base.sibling(),
                c.clone(),
                prefix,
                options.clone(),
                true,
                None,
            ))
        })
        .collect();
    if streams.is_empty() {
        return;
    }
    if first_only {
        let _ = select_all(streams).await;
    } else {
        for r in join_all(streams).await {
            if let Err(e) = r {
                eprintln!("{e}");
            }
        }
    }
}

pub async fn run(ctx: &mut Context, options: &Options, args: LogsArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let mut list = state::of_services(
        state::containers(&mut ctx.client, &project, true).await?,
        &args.services,
        false,
    );
    if let Some(index) = args.index {
        list.retain(|c| c.number == index);
    }
    let now = chrono::Utc::now();
    let stamp = |value: &Option<String>, key: &str| -> client::Result<Option<String>> {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| {
                timespec::to_api_timestamp(v, now).map_err(|e| {
                    ClientError::Other(anyhow::anyhow!("invalid value for \"{key}\": {e}"))
                })
            })
            .transpose()
    };
    let since = stamp(&args.since, "since")?;
    let until = stamp(&args.until, "until")?;
    let follow = Follow {
        colours: options.colours() && !args.no_color,
        prefix: !args.no_log_prefix,
        timestamps: args.timestamps,
        since: since.and_then(|s| s.split('.').next().and_then(|s| s.parse().ok())),
        tail: Some(args.tail.clone()),
        exit_messages: false,
    };
    ctx.client.negotiated_version().await?;
    let prefixes = prefixes(&project, &list, &follow);
    if args.follow {
        let streams = list.iter().zip(prefixes).map(|(c, p)| {
            stream_one(
                ctx.client.sibling(),
                c.clone(),
                p,
                follow.clone(),
                true,
                until.clone(),
            )
        });
        for r in join_all(streams).await {
            r?;
        }
    } else {
        for (c, p) in list.iter().zip(prefixes) {
            stream_one(
                ctx.client.sibling(),
                c.clone(),
                p,
                follow.clone(),
                false,
                until.clone(),
            )
            .await?;
        }
    }
    Ok(0)
}
