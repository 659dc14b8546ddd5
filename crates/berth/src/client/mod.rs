//! A small Engine API client over one HTTP/1.1 connection: negotiates the API version with
//! `/_ping` like the docker CLI, sends JSON, and hands back bodies as JSON, bytes or a stream.

pub mod host;
mod transport;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;

pub use host::{ConnectionFlags, Target};
pub use transport::ConnectError;

use berth_api::ApiVersion;

/// Errors a command reports: the daemon's own message, or why it could not be reached.
#[derive(Debug)]
pub enum ClientError {
    /// The daemon answered with an error status and `{"message": ...}`.
    Daemon {
        status: StatusCode,
        message: String,
    },
    Connect(ConnectError),
    /// An `error` message inside a JSON progress stream (load, pull, build, ...).
    Stream(String),
    /// A message printed as is, prefixed `Error: ` like docker's client-side errors.
    Usage(String),
    Other(anyhow::Error),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Daemon { message, .. } => {
                write!(f, "Error response from daemon: {message}")
            }
            ClientError::Connect(e) => write!(f, "{e}"),
            ClientError::Stream(message) => write!(f, "{message}"),
            ClientError::Usage(message) => write!(f, "Error: {message}"),
            ClientError::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<anyhow::Error> for ClientError {
    fn from(e: anyhow::Error) -> Self {
        ClientError::Other(e)
    }
}

impl From<ConnectError> for ClientError {
    fn from(e: ConnectError) -> Self {
        ClientError::Connect(e)
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A request body: small ones are built in memory, uploads (load, import, build contexts)
/// stream from a file or stdin.
pub type RequestBody = BoxBody<Bytes, std::io::Error>;

pub fn body_bytes(bytes: Vec<u8>) -> RequestBody {
    Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed()
}

/// Streams an `AsyncRead` (a file, stdin) as the request body in 64 KiB chunks.
pub fn body_reader(reader: impl tokio::io::AsyncRead + Send + Sync + 'static) -> RequestBody {
    let stream = tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024)
        .map_ok(hyper::body::Frame::data);
    http_body_util::StreamBody::new(stream).boxed()
}

pub struct Client {
    target: Target,
    sender: Option<SendRequest<RequestBody>>,
    /// Negotiated on first use: min(server's API-Version, ours), or `DOCKER_API_VERSION`.
    version: Option<String>,
    /// `X-Registry-Auth` sent with every request while set (pull, push).
    registry_auth: Option<String>,
}

impl Client {
    /// Sends `X-Registry-Auth: value` with the following requests (`None` stops it).
    pub fn set_registry_auth(&mut self, value: Option<String>) {
        self.registry_auth = value;
    }

    pub fn new(target: Target) -> Self {
        let version = std::env::var("DOCKER_API_VERSION")
            .ok()
            .filter(|v| !v.is_empty());
        Client {
            target,
            sender: None,
            version,
            registry_auth: None,
        }
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<RequestBody>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = transport::connect(&self.target).await?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| ClientError::Other(anyhow::anyhow!("error during connect: {e}")))?;
            tokio::spawn(async move {
                let _ = connection.with_upgrades().await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connection just set"))
    }

    /// Sends one request; `path` has no version prefix. Errors statuses are returned as
    /// responses, for callers that care (`ping`, `inspect` of maybe-missing objects).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<http::Response<Incoming>> {
        let body = body_bytes(body.unwrap_or_default());
        self.send_body(method, path, body, content_type).await
    }

    /// Like `send`, with a streaming body.
    pub async fn send_body(
        &mut self,
        method: Method,
        path: &str,
        body: RequestBody,
        content_type: Option<&str>,
    ) -> Result<http::Response<Incoming>> {
        let version = self.negotiated_version().await?;
        self.send_raw(method, &format!("/v{version}{path}"), body, content_type)
            .await
    }

    async fn send_raw(
        &mut self,
        method: Method,
        uri: &str,
        body: RequestBody,
        content_type: Option<&str>,
    ) -> Result<http::Response<Incoming>> {
        let host_header = match &self.target.endpoint {
            host::Endpoint::Unix(_) => "api.moby.localhost".to_string(),
            host::Endpoint::Tcp { host, port } => format!("{host}:{port}"),
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host_header)
            .header(
                "user-agent",
                concat!("Berth-Client/", env!("CARGO_PKG_VERSION"), " (linux)"),
            );
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        if let Some(auth) = &self.registry_auth {
            builder = builder.header("x-registry-auth", auth.as_str());
        }
        let request = builder
            .body(body)
            .map_err(|e| ClientError::Other(e.into()))?;
        let sender = self.connection().await?;
        sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Other(anyhow::anyhow!("error during request: {e}")))
    }

    /// The API version to put in paths: asks `/_ping` once per process.
    pub async fn negotiated_version(&mut self) -> Result<String> {
        if let Some(v) = &self.version {
            return Ok(v.clone());
        }
        let response = self
            .send_raw(Method::GET, "/_ping", body_bytes(Vec::new()), None)
            .await?;
        let server = response
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(ApiVersion::parse);
        let _ = response.into_body().collect().await;
        let version = match server {
            Some(server) if server < ApiVersion::MAX => server,
            // Daemons too old to say which version they speak get the oldest we know.
            None => ApiVersion::new(1, 24),
            _ => ApiVersion::MAX,
        }
        .to_string();
        self.version = Some(version.clone());
        Ok(version)
    }

    /// Turns an error status into `ClientError::Daemon` with the daemon's message.
    pub async fn check(response: http::Response<Incoming>) -> Result<http::Response<Incoming>> {
        let status = response.status();
        if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(response);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        let message = if message.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("unknown error")
                .to_string()
        } else {
            message
        };
        Err(ClientError::Daemon { status, message })
    }

    pub async fn read_body(response: http::Response<Incoming>) -> Result<Bytes> {
        response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| ClientError::Other(anyhow::anyhow!("error reading response: {e}")))
    }

    /// GET returning JSON, with error statuses turned into errors.
    pub async fn get_json(&mut self, path: &str) -> Result<Value> {
        let response = self.send(Method::GET, path, None, None).await?;
        let response = Self::check(response).await?;
        let body = Self::read_body(response).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::Other(anyhow::anyhow!("invalid JSON from daemon: {e}")))
    }

    /// POST with an optional JSON body, returning the parsed JSON answer (or Null).
    pub async fn post_json(&mut self, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let content_type = body.map(|_| "application/json");
        let response = self.send(Method::POST, path, bytes, content_type).await?;
        let response = Self::check(response).await?;
        let body = Self::read_body(response).await?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::Other(anyhow::anyhow!("invalid JSON from daemon: {e}")))
    }

    /// Calls `each` for every newline-delimited JSON value of a streaming response
    /// (`/events`, progress streams) until the daemon ends the stream or `each` says stop.
    pub async fn stream_json(
        &mut self,
        method: Method,
        path: &str,
        each: impl FnMut(Value) -> anyhow::Result<bool>,
    ) -> Result<()> {
        let response = self.send(method, path, None, None).await?;
        Self::read_json_lines(response, each).await
    }

    /// Reads a newline-delimited JSON response, calling `each` per value.
    pub async fn read_json_lines(
        response: http::Response<Incoming>,
        mut each: impl FnMut(Value) -> anyhow::Result<bool>,
    ) -> Result<()> {
        let response = Self::check(response).await?;
        let mut body = response.into_body();
        let mut pending: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| ClientError::Other(anyhow::anyhow!("error reading stream: {e}")))?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            pending.extend_from_slice(data);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = &line[..line.len() - 1];
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let value: Value = serde_json::from_slice(line).map_err(|e| {
                    ClientError::Other(anyhow::anyhow!("invalid JSON in stream: {e}"))
                })?;
                if !each(value)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A hijacked connection (attach, exec start): the raw bidirectional byte stream left after
/// the daemon's `101 UPGRADED` (or plain `200 OK`) answer.
/// Whether the stream is framed is the caller's to know (the container's `Tty`): daemons
/// before API 1.42 label both kinds `application/vnd.docker.raw-stream`.
pub struct Hijacked {
    pub stream: HijackedStream,
}

/// The two shapes a hijack answer can take: an upgraded connection (read and write), or an
/// old-style `200 OK` whose body carries the output (read only; stdin cannot be sent).
pub enum HijackedStream {
    Upgraded(TokioIo<hyper::upgrade::Upgraded>),
    ReadOnly(Incoming),
}

impl Client {
    /// A second client for the same daemon with its own connection, sharing the negotiated
    /// API version. Long requests (`wait`, attach, parallel stops) each need one, since a
    /// connection carries one request at a time.
    pub fn sibling(&self) -> Client {
        Client {
            target: self.target.clone(),
            sender: None,
            version: self.version.clone(),
            registry_auth: self.registry_auth.clone(),
        }
    }

    /// Sends `method path` on a fresh connection with `Connection: Upgrade` and
    /// `Upgrade: tcp`, and hands back the raw stream once the daemon answers 101 (or 200).
    /// Error statuses become `ClientError::Daemon` with the daemon's message.
    pub async fn hijack(&mut self, method: Method, path: &str) -> Result<Hijacked> {
        self.hijack_with_body(method, path, None).await
    }

    /// Like `hijack`, with a JSON request body (`POST /exec/{id}/start` takes
    /// `{"Detach": false, "Tty": ..., "ConsoleSize": [h, w]}`).
    pub async fn hijack_with_body(
        &mut self,
        method: Method,
        path: &str,
        json: Option<&Value>,
    ) -> Result<Hijacked> {
        let version = self.negotiated_version().await?;
        let stream = transport::connect(&self.target).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Other(anyhow::anyhow!("error during connect: {e}")))?;
        tokio::spawn(async move {
            let _ = connection.with_upgrades().await;
        });
        let host_header = match &self.target.endpoint {
            host::Endpoint::Unix(_) => "api.moby.localhost".to_string(),
            host::Endpoint::Tcp { host, port } => format!("{host}:{port}"),
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("/v{version}{path}"))
            .header("host", host_header)
            .header(
                "user-agent",
                concat!("Berth-Client/", env!("CARGO_PKG_VERSION"), " (linux)"),
            )
            .header(
                "content-type",
                if json.is_some() {
                    "application/json"
                } else {
                    "text/plain"
                },
            )
            .header("connection", "Upgrade")
            .header("upgrade", "tcp")
            .body(body_bytes(
                json.map(|j| j.to_string().into_bytes()).unwrap_or_default(),
            ))
            .map_err(|e| ClientError::Other(e.into()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Other(anyhow::anyhow!("error during request: {e}")))?;
        let response = Self::check(response).await?;
        let stream = if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let upgraded = hyper::upgrade::on(response)
                .await
                .map_err(|e| ClientError::Other(anyhow::anyhow!("error during hijack: {e}")))?;
            HijackedStream::Upgraded(TokioIo::new(upgraded))
        } else {
            HijackedStream::ReadOnly(response.into_body())
        };
        Ok(Hijacked { stream })
    }
}
