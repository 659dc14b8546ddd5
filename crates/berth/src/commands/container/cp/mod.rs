//! `berth cp`: copies between a container and the local filesystem through
//! `HEAD|GET|PUT /containers/{id}/archive`, with docker's rules (file→file, dir→dir,
//! `dir/.` for contents, a missing destination created, `-` for tar streams on
//! stdin/stdout, `-L` to follow a source symlink, `-a` to keep owners). The daemon
//! resolves container paths as if chrooted; this side keeps local extraction inside the
//! destination.

mod pack;
mod paths;
mod unpack;

use std::io::Read;

use bytes::Bytes;
use clap::Args;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::client::{self, encode, Client, ClientError, RequestBody};
use crate::commands::Context;
use crate::output;
use paths::{CopyError, CopyInfo};

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long = "archive")]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed
    /// if no terminal is attached
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// CONTAINER:SRC_PATH or SRC_PATH|-
    #[arg(value_name = "SRC")]
    pub source: String,
    /// DEST_PATH|- or CONTAINER:DEST_PATH
    #[arg(value_name = "DEST")]
    pub destination: String,
}

/// Go's `os.FileMode` type bits in the stat header.
const MODE_DIR: u64 = 1 << 31;
const MODE_SYMLINK: u64 = 1 << 27;
const MODE_DEVICE: u64 = 1 << 26;
const MODE_IRREGULAR: u64 = 1 << 19;

/// The `X-Docker-Container-Path-Stat` header: base64 of `{name, size, mode, mtime,
/// linkTarget}`.
#[derive(Debug, Default, Clone)]
struct PathStat {
    name: String,
    size: u64,
    mode: u64,
    link_target: String,
}

impl PathStat {
    fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }

    fn is_symlink(&self) -> bool {
        self.mode & MODE_SYMLINK != 0
    }

    fn from_headers(headers: &http::HeaderMap) -> client::Result<PathStat> {
        let raw = headers
            .get("x-docker-container-path-stat")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let decoded = base64_decode(raw).ok_or_else(|| {
            ClientError::Other(anyhow::anyhow!(
                "unable to decode container path stat header"
            ))
        })?;
        let value: Value = serde_json::from_slice(&decoded).map_err(|e| {
            ClientError::Other(anyhow::anyhow!(
                "unable to decode container path stat header: {e}"
            ))
        })?;
        Ok(PathStat {
            name: value["name"].as_str().unwrap_or_default().to_string(),
            size: value["size"].as_u64().unwrap_or(0),
            mode: value["mode"].as_u64().unwrap_or(0),
            link_target: value["linkTarget"].as_str().unwrap_or_default().to_string(),
        })
    }
}

/// Standard base64 with or without padding.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.trim().trim_end_matches('=').bytes().collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let produced = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + produced]);
    }
    Some(out)
}

fn copy_error(e: CopyError) -> ClientError {
    ClientError::Other(anyhow::anyhow!("{e}"))
}

fn archive_path(container: &str, path: &str) -> String {
    format!(
        "/containers/{}/archive?path={}",
        encode(container),
        encode(path)
    )
}

/// `HEAD /containers/{id}/archive?path=`.
async fn stat_path(client: &mut Client, container: &str, path: &str) -> client::Result<PathStat> {
    let response = client
        .send(
            http::Method::HEAD,
            &archive_path(container, path),
            None,
            None,
        )
        .await?;
    let response = Client::check(response).await?;
    PathStat::from_headers(response.headers())
}

pub async fn run(ctx: &mut Context, args: CpArgs) -> client::Result<u8> {
    let fail = |m: &str| Err(ClientError::Other(anyhow::anyhow!(m.to_string())));
    if args.source.is_empty() {
        return fail("source can not be empty");
    }
    if args.destination.is_empty() {
        return fail("destination can not be empty");
    }
    let quiet = args.quiet || !std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (src_container, src_path) = paths::split_cp_arg(&args.source);
    let (dst_container, dst_path) = paths::split_cp_arg(&args.destination);
    match (src_container, dst_container) {
        (Some(container), None) => {
            copy_from_container(ctx, &args, container, src_path, dst_path, quiet).await
        }
        (None, Some(container)) => {
            copy_to_container(ctx, &args, container, src_path, dst_path, quiet).await
        }
        (Some(_), Some(_)) => fail("copying between containers is not supported"),
        (None, None) => fail("must specify at least one container source"),
    }
}

/// A response body handed to a blocking reader (the tar parser) chunk by chunk.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// A blocking writer (the tar builder) feeding a streaming request body.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buffer: Vec<u8>,
}

const CHUNK: usize = 64 * 1024;

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "upload ended"))
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn channel_body(rx: mpsc::Receiver<std::io::Result<Bytes>>) -> RequestBody {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|item| (item.map(hyper::body::Frame::data), rx))
    });
    http_body_util::StreamBody::new(stream).boxed()
}

fn print_summary(quiet: bool, bytes: u64, destination: &str) {
    if !quiet {
        eprintln!(
            "Successfully copied {} to {destination}",
            output::human_size(bytes as f64)
        );
    }
}

async fn copy_from_container(
    ctx: &mut Context,
    args: &CpArgs,
    container: &str,
    src_path: &str,
    dst_path: &str,
    quiet: bool,
) -> client::Result<u8> {
    let dst = if dst_path == "-" {
        dst_path.to_string()
    } else {
        let dst = paths::resolve_local_path(dst_path).map_err(copy_error)?;
        paths::validate_output_path(&dst).map_err(copy_error)?;
        dst
    };
    let mut src = src_path.to_string();
    let mut rebase_name = None;
    if args.follow_link {
        if let Ok(stat) = stat_path(&mut ctx.client, container, &src).await {
            if stat.is_symlink() {
                let (parent, _) = paths::split_path_dir_entry(&src);
                let target = paths::join(&parent, &stat.link_target);
                let (resolved, rebase) = paths::get_rebase_name(&src, &target);
                src = resolved;
                rebase_name = rebase;
            }
        }
    }
    let response = ctx
        .client
        .send(
            http::Method::GET,
            &archive_path(container, &src),
            None,
            None,
        )
        .await?;
    let response = Client::check(response).await?;
    let stat = PathStat::from_headers(response.headers())?;
    let mut body = response.into_body();
    if dst == "-" {
        let mut out = std::io::stdout().lock();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ClientError::Other(anyhow::anyhow!("error reading the archive: {e}"))
            })?;
            if let Some(data) = frame.data_ref() {
                if let Err(e) = std::io::Write::write_all(&mut out, data) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(0);
                    }
                    return Err(ClientError::Other(e.into()));
                }
            }
        }
        let _ = std::io::Write::flush(&mut out);
        return Ok(0);
    }
    let src_info = CopyInfo {
        path: src.clone(),
        exists: true,
        is_dir: stat.is_dir(),
        rebase_name,
    };
    let dst_info = paths::copy_info_destination_path(&dst).map_err(copy_error)?;
    let (dir, name) = paths::prepare_archive_copy(&src_info, &dst_info).map_err(copy_error)?;
    let dir = paths::clean(&dir);
    let target = if name == "." {
        std::path::PathBuf::from(&dir)
    } else {
        std::path::Path::new(&dir).join(&name)
    };
    let options = unpack::Unpack {
        target,
        top: stat.name.clone(),
        chown: args.archive,
    };
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(16);
    let extract = tokio::task::spawn_blocking(move || {
        unpack::unpack(
            ChannelReader {
                rx,
                current: Bytes::new(),
            },
            &options,
        )
    });
    let mut transferred = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    transferred += data.len() as u64;
                    if tx.send(Ok(data)).await.is_err() {
                        break; // the extraction failed; its error is reported below
                    }
                }
            }
            Err(e) => {
                let _ = tx
                    .send(Err(std::io::Error::other(format!(
                        "error reading the archive: {e}"
                    ))))
                    .await;
                break;
            }
        }
    }
    drop(tx);
    extract
        .await
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    let reported = if stat.is_dir() {
        transferred
    } else {
        stat.size
    };
    print_summary(quiet, reported, &dst);
    Ok(0)
}

async fn copy_to_container(
    ctx: &mut Context,
    args: &CpArgs,
    container: &str,
    src_path: &str,
    dst_path: &str,
    quiet: bool,
) -> client::Result<u8> {
    let src = if src_path == "-" {
        src_path.to_string()
    } else {
        paths::resolve_local_path(src_path).map_err(copy_error)?
    };
    let mut dst_info = CopyInfo {
        path: dst_path.to_string(),
        ..CopyInfo::default()
    };
    // What the destination is decides how the archive is shaped; when it cannot be
    // asked, its parent is assumed to exist (the extraction reports any conflict).
    if let Ok(first) = stat_path(&mut ctx.client, container, dst_path).await {
        let stat = if first.is_symlink() {
            let (parent, _) = paths::split_path_dir_entry(dst_path);
            let target = paths::join(&parent, &first.link_target);
            dst_info.path = target.clone();
            stat_path(&mut ctx.client, container, &target).await
        } else {
            Ok(first)
        };
        if let Ok(stat) = stat {
            let problem = if stat.mode & MODE_DEVICE != 0 {
                Some("got a device")
            } else if stat.mode & MODE_IRREGULAR != 0 {
                Some("got an irregular file")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(ClientError::Other(anyhow::anyhow!(
                    "destination \"{container}:{dst_path}\" must be a directory or a regular file: {problem}"
                )));
            }
            dst_info.exists = true;
            dst_info.is_dir = stat.is_dir();
        }
    }
    let (dst_dir, body, packer, content) = if src == "-" {
        if !dst_info.is_dir {
            return Err(ClientError::Other(anyhow::anyhow!(
                "destination \"{container}:{dst_path}\" must be a directory"
            )));
        }
        let body = client::body_reader(tokio::io::stdin());
        (dst_info.path.clone(), body, None, None)
    } else {
        let src_info = paths::copy_info_source_path(&src, args.follow_link).map_err(copy_error)?;
        let (dst_dir, name) =
            paths::prepare_archive_copy(&src_info, &dst_info).map_err(copy_error)?;
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(16);
        let source = std::path::PathBuf::from(&src_info.path);
        let error_tx = tx.clone();
        let packer = tokio::task::spawn_blocking(move || {
            let mut writer = ChannelWriter {
                tx,
                buffer: Vec::with_capacity(CHUNK),
            };
            let result = pack::write_tar(&source, &name, &mut writer)
                .and_then(|n| std::io::Write::flush(&mut writer).map(|()| n));
            if let Err(e) = &result {
                let _ = error_tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
            }
            result
        });
        let size = local_content_size(&src_info);
        (dst_dir, channel_body(rx), Some(packer), size)
    };
    let mut path = archive_path(container, &dst_dir);
    path.push_str("&noOverwriteDirNonDir=true");
    if args.archive {
        path.push_str("&copyUIDGID=true");
    }
    let sent = async {
        let response = ctx
            .client
            .send_body(http::Method::PUT, &path, body, Some("application/x-tar"))
            .await?;
        let response = Client::check(response).await?;
        Client::read_body(response).await.map(|_| ())
    }
    .await;
    let packed = match packer {
        Some(packer) => {
            // A local read failure explains a broken upload better than the upload
            // error does.
            let packed = packer
                .await
                .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?
                .map_err(|e| ClientError::Other(e.into()))?;
            Some(packed)
        }
        None => None,
    };
    sent?;
    let copied = content.or(packed).unwrap_or(0);
    print_summary(quiet, copied, &format!("{container}:{}", dst_info.path));
    Ok(0)
}

/// The bytes of regular-file content under the source (docker's summary size).
fn local_content_size(info: &CopyInfo) -> Option<u64> {
    fn walk(path: &std::path::Path) -> std::io::Result<u64> {
        let meta = std::fs::symlink_metadata(path)?;
        if meta.is_file() {
            return Ok(meta.len());
        }
        if !meta.is_dir() {
            return Ok(0);
        }
        let mut total = 0;
        for entry in std::fs::read_dir(path)? {
            total += walk(&entry?.path())?;
        }
        Ok(total)
    }
    walk(std::path::Path::new(&info.path)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_header() {
        // {"name":"passwd","size":5,"mode":420,"mtime":"x","linkTarget":""}
        let json = r#"{"name":"passwd","size":5,"mode":2147484141,"mtime":"x","linkTarget":"/y"}"#;
        let encoded = {
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = String::new();
            for chunk in json.as_bytes().chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
                for i in 0..=chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
                for _ in chunk.len()..3 {
                    out.push('=');
                }
            }
            out
        };
        assert_eq!(base64_decode(&encoded).unwrap(), json.as_bytes());
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-docker-container-path-stat",
            http::HeaderValue::from_str(&encoded).unwrap(),
        );
        let stat = PathStat::from_headers(&headers).unwrap();
        assert_eq!(stat.name, "passwd");
        assert!(stat.is_dir() && !stat.is_symlink());
        assert_eq!(stat.link_target, "/y");
        assert!(base64_decode("a").is_none());
    }
}
