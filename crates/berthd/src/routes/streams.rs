//! Bridges between HTTP bodies and the engine's blocking readers and writers, and the
//! newline-delimited JSON progress streams docker clients read.

use std::io::{Read, Write};

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use berth_api::ApiError;
use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// The request body as a blocking reader, for engine calls on the blocking pool.
pub fn body_reader(body: Body) -> Box<dyn Read + Send> {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(stream);
    Box::new(DrainOnDrop(tokio_util::io::SyncIoBridge::new(reader)))
}

/// At most this much of an upload is read and discarded after a failure.
const DRAIN_LIMIT: u64 = 1 << 30;

/// Reads what the client still sends once the engine stops reading (a rejected
/// archive), so the client gets to read the error answer instead of a reset
/// connection. Runs where the reader is dropped: on the blocking pool.
struct DrainOnDrop<R: Read>(R);

impl<R: Read> Read for DrainOnDrop<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Drop for DrainOnDrop<R> {
    fn drop(&mut self) {
        let _ = std::io::copy(&mut (&mut self.0).take(DRAIN_LIMIT), &mut std::io::sink());
    }
}

pub type Chunk = Result<Bytes, std::io::Error>;

/// A blocking writer whose bytes become the response body.
pub struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
}

impl ChannelWriter {
    pub fn new(tx: mpsc::Sender<Chunk>) -> Self {
        ChannelWriter { tx }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A streaming response body fed by a channel.
pub fn channel_body(rx: mpsc::Receiver<Chunk>, content_type: &'static str) -> Response {
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// One JSON progress message line.
pub fn json_line(value: serde_json::Value) -> Bytes {
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    Bytes::from(line)
}

/// docker's in-stream error message, for failures after the response has started.
pub fn error_line(error: &ApiError) -> Bytes {
    json_line(serde_json::json!({
        "errorDetail": { "message": error.message },
        "error": error.message,
    }))
}

/// Runs `work` (which reports progress lines on its channel) and answers with a JSON
/// message stream. The response waits for the first line: if `work` fails before
/// reporting anything, the client gets a real error status instead of a 200 stream.
pub async fn progress_response<F>(
    work: F,
    mut progress: mpsc::Receiver<String>,
    to_message: fn(String) -> serde_json::Value,
) -> Result<Response, ApiError>
where
    F: std::future::Future<Output = Result<Vec<String>, ApiError>> + Send + 'static,
{
    let mut task = tokio::spawn(work);
    let first = tokio::select! {
        Some(line) = progress.recv() => Some(line),
        finished = &mut task => {
            let trailing = finished.map_err(|e| ApiError::system(e.to_string()))??;
            let mut lines: Vec<String> = Vec::new();
            while let Ok(line) = progress.try_recv() {
                lines.push(line);
            }
            lines.extend(trailing);
            let body: Vec<u8> = lines
                .into_iter()
                .flat_map(|l| json_line(to_message(l)).to_vec())
                .collect();
            let mut response = Body::from(body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Ok(response);
        }
    };
    let (tx, rx) = mpsc::channel::<Chunk>(16);
    tokio::spawn(async move {
        if let Some(line) = first {
            let _ = tx.send(Ok(json_line(to_message(line)))).await;
        }
        while let Some(line) = progress.recv().await {
            if tx.send(Ok(json_line(to_message(line)))).await.is_err() {
                return;
            }
        }
        let outcome = match task.await {
            Ok(outcome) => outcome,
            Err(e) => Err(ApiError::system(e.to_string())),
        };
        match outcome {
            Ok(trailing) => {
                for line in trailing {
                    let _ = tx.send(Ok(json_line(to_message(line)))).await;
                }
            }
            Err(error) => {
                let _ = tx.send(Ok(error_line(&error))).await;
            }
        }
    });
    Ok(channel_body(rx, "application/json"))
}
