//! A real registry for the registry tests: Debian's `docker-registry` (distribution 2.8)
//! on 127.0.0.1 and a free port, filesystem storage in a temp dir, deletes enabled;
//! optionally behind htpasswd basic auth or bearer tokens from [`TokenServer`]. Stopped
//! by its PID on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{free_port, TempDir};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const START_DEADLINE: Duration = Duration::from_secs(20);

/// How the registry checks clients.
pub enum RegistryAuth {
    None,
    /// `auth.htpasswd` with one user (the file holds a bcrypt hash).
    Htpasswd {
        user: String,
        password: String,
    },
    /// `auth.token` trusting the token server's certificate.
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert: PathBuf,
    },
}

pub struct Registry {
    pub port: u16,
    pub dir: TempDir,
    child: Option<Child>,
}

impl Registry {
    pub fn available() -> bool {
        std::path::Path::new(REGISTRY_BIN).exists()
    }

    pub fn start() -> Registry {
        Registry::start_with(RegistryAuth::None)
    }

    pub fn start_with(auth: RegistryAuth) -> Registry {
        Registry::start_full(auth, None)
    }

    /// With TLS: the server certificate and key, and the CA whose client certificates
    /// it demands (when given).
    pub fn start_full(
        auth: RegistryAuth,
        tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    ) -> Registry {
        let dir = TempDir::new("berth-registry");
        let port = free_port();
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage).expect("create registry storage");
        let auth_yaml = match &auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd { user, password } => {
                let hash = bcrypt::hash(password, 5).expect("bcrypt");
                let path = dir.join("htpasswd");
                std::fs::write(&path, format!("{user}:{hash}\n")).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    path.display()
                )
            }
            RegistryAuth::Token {
                realm,
                service,
                issuer,
                cert,
            } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let tls_yaml = match &tls {
            None => String::new(),
            Some((cert, key, client_ca)) => {
                let mut yaml = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    cert.display(),
                    key.display()
                );
                if let Some(ca) = client_ca {
                    yaml.push_str(&format!("    clientcas:\n      - {}\n", ca.display()));
                }
                yaml
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n{tls_yaml}{auth_yaml}",
            storage.display()
        );
        let tls_on = tls.is_some();
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.join("registry.log")).expect("registry log");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            port,
            dir,
            child: Some(child),
        };
        registry.wait_ready(tls_on);
        registry
    }

    fn wait_ready(&mut self, tls: bool) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if tls {
                // A TLS registry: the port accepting connections is enough.
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
                assert!(
                    Instant::now() < deadline,
                    "docker-registry did not listen:\n{}",
                    self.log()
                );
                continue;
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!(
                    "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                    self.port
                );
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.1")
                {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "docker-registry exited early with {status}:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer within {START_DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// Stops the registry now (a registry going away).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A plain HTTP GET against the registry (status line and body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path, None)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET path` on 127.0.0.1:port: (status, body).
pub fn http_get(port: u16, path: &str, authorization: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A tiny HTTP server on 127.0.0.1 for tests: a thread accepts connections and answers
/// each request with `handler(method, path, headers)`. Stopped on drop.
pub struct TestServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A request as the handler sees it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler does with the connection.
pub enum Reply {
    /// A full answer: status, headers, body.
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// Announce `length` bytes, send `body` (shorter), then close: a truncated answer.
    Truncated(u16, u64, Vec<u8>),
}

impl TestServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let handler = handler.clone();
                            std::thread::spawn(move || serve(stream, &*handler));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        TestServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &(dyn Fn(&Request) -> Reply + Send + Sync)) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request {
            method,
            path,
            headers,
        };
        match handler(&request) {
            Reply::Full(status, headers, body) => {
                let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                if request.method != "HEAD" && out.write_all(&body).is_err() {
                    return;
                }
            }
            Reply::Truncated(status, length, body) => {
                let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\n\r\n");
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&body);
                let _ = out.flush();
                return;
            }
        }
    }
}

/// A bearer token server for `auth.token`: an ES256 key and self-signed certificate
/// made with openssl, tokens granting whatever scope is asked for to `user:password`.
pub struct TokenServer {
    pub server: TestServer,
    pub cert: PathBuf,
    pub service: String,
    pub issuer: String,
    _dir: TempDir,
}

impl TokenServer {
    pub fn start(user: &str, password: &str) -> TokenServer {
        use base64::Engine as _;
        let dir = TempDir::new("berth-token");
        let key_pem = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=berth-token",
            ])
            .arg("-keyout")
            .arg(&key_pem)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(status.success(), "openssl req failed");
        let der = |args: &[&str]| -> Vec<u8> {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl");
            assert!(out.status.success(), "openssl {args:?} failed");
            out.stdout
        };
        let key_der = der(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-outform",
            "DER",
            "-in",
            key_pem.to_str().unwrap(),
        ]);
        let cert_der = der(&["x509", "-outform", "DER", "-in", cert.to_str().unwrap()]);
        let rng = ring::rand::SystemRandom::new();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_der,
            &rng,
        )
        .expect("load EC key");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let service = "berth-test-registry".to_string();
        let issuer = "berth-test-issuer".to_string();
        let x5c = base64::engine::general_purpose::STANDARD.encode(&cert_der);
        let (svc, iss) = (service.clone(), issuer.clone());
        let server = TestServer::start(move |request| {
            if request.header("authorization") != Some(expected.as_str()) {
                return Reply::Full(401, vec![], b"{\"details\":\"bad credentials\"}".to_vec());
            }
            let query = request.path.split_once('?').map(|(_, q)| q).unwrap_or("");
            let mut access = Vec::new();
            for pair in query.split('&') {
                if let Some(scope) = pair.strip_prefix("scope=") {
                    let scope = percent_decode(scope);
                    let parts: Vec<&str> = scope.splitn(3, ':').collect();
                    if let [kind, name, actions] = parts.as_slice() {
                        access.push(serde_json::json!({
                            "type": kind, "name": name,
                            "actions": actions.split(',').collect::<Vec<_>>(),
                        }));
                    }
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "x5c": [x5c] });
            let claims = serde_json::json!({
                "iss": iss, "sub": "tester", "aud": svc,
                "exp": now + 300, "nbf": now - 10, "iat": now,
                "jti": format!("{now}-{}", access.len()), "access": access,
            });
            let enc = |v: &serde_json::Value| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            let signing_input = format!("{}.{}", enc(&header), enc(&claims));
            let signature = key
                .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
                .expect("sign");
            let token = format!(
                "{signing_input}.{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.as_ref())
            );
            let body = serde_json::json!({ "token": token, "expires_in": 300 }).to_string();
            Reply::Full(
                200,
                vec![("Content-Type".into(), "application/json".into())],
                body.into_bytes(),
            )
        });
        TokenServer {
            server,
            cert,
            service,
            issuer,
            _dir: dir,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.server.port)
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a [`FakeRegistry`] misbehaves for one blob.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Serve other bytes of the same length.
    WrongBytes,
    /// Announce the full length, send half, close.
    Truncated,
    /// Send half, then hold the connection until released (for kill -9 tests).
    Stall,
}

/// A registry made up by the test (manifests, indexes and blobs it builds itself),
/// served by a [`TestServer`], with faults to inject per blob and a count of blob GETs.
pub struct FakeRegistry {
    pub server: TestServer,
    pub state: Arc<std::sync::Mutex<FakeState>>,
}

#[derive(Default)]
pub struct FakeState {
    /// `name/manifests/ref` → (media type, bytes).
    pub manifests: std::collections::HashMap<String, (String, Vec<u8>)>,
    /// `sha256:...` → bytes.
    pub blobs: std::collections::HashMap<String, Vec<u8>>,
    pub faults: std::collections::HashMap<String, Fault>,
    pub blob_gets: std::collections::HashMap<String, usize>,
    /// `Authorization` value required on everything (`None`: anonymous).
    pub require: Option<String>,
    /// Released stalls.
    pub released: bool,
    /// Delay before each blob answer (to make concurrent pulls overlap).
    pub delay: Duration,
}

/// sha256 digest string of bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

impl FakeRegistry {
    pub fn start() -> FakeRegistry {
        let state = Arc::new(std::sync::Mutex::new(FakeState::default()));
        let shared = state.clone();
        let server = TestServer::start(move |request| {
            let (required, delay) = {
                let s = shared.lock().unwrap();
                (s.require.clone(), s.delay)
            };
            if let Some(required) = required {
                if request.header("authorization") != Some(required.as_str()) {
                    return Reply::Full(
                        401,
                        vec![("WWW-Authenticate".into(), "Basic realm=\"fake\"".into())],
                        b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}".to_vec(),
                    );
                }
            }
            let path = request.path.split('?').next().unwrap_or("");
            if path == "/v2/" {
                return Reply::Full(200, vec![], b"{}".to_vec());
            }
            let Some(rest) = path.strip_prefix("/v2/") else {
                return Reply::Full(404, vec![], Vec::new());
            };
            if let Some((_, digest)) = rest.rsplit_once("/blobs/") {
                std::thread::sleep(delay);
                let (bytes, fault) = {
                    let mut s = shared.lock().unwrap();
                    *s.blob_gets.entry(digest.to_string()).or_default() += 1;
                    (s.blobs.get(digest).cloned(), s.faults.get(digest).cloned())
                };
                let Some(bytes) = bytes else {
                    return Reply::Full(404, vec![], b"{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}".to_vec());
                };
                return match fault {
                    None => Reply::Full(200, vec![], bytes),
                    Some(Fault::WrongBytes) => {
                        let mut wrong = bytes.clone();
                        for b in wrong.iter_mut() {
                            *b = b.wrapping_add(1);
                        }
                        Reply::Full(200, vec![], wrong)
                    }
                    Some(Fault::Truncated) => {
                        Reply::Truncated(200, bytes.len() as u64, bytes[..bytes.len() / 2].to_vec())
                    }
                    Some(Fault::Stall) => {
                        // Hold the answer until released, then send it truncated.
                        let deadline = Instant::now() + Duration::from_secs(60);
                        while !shared.lock().unwrap().released && Instant::now() < deadline {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Reply::Truncated(200, bytes.len() as u64, bytes[..bytes.len() / 2].to_vec())
                    }
                };
            }
            let s = shared.lock().unwrap();
            match s.manifests.get(rest) {
                Some((media_type, bytes)) => Reply::Full(
                    200,
                    vec![
                        ("Content-Type".into(), media_type.clone()),
                        ("Docker-Content-Digest".into(), digest_of(bytes)),
                    ],
                    bytes.clone(),
                ),
                None => Reply::Full(
                    404,
                    vec![],
                    b"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}".to_vec(),
                ),
            }
        });
        FakeRegistry { server, state }
    }

    pub fn host(&self) -> String {
        self.server.host()
    }

    /// Adds a blob; returns its digest.
    pub fn blob(&self, bytes: Vec<u8>) -> String {
        let digest = digest_of(&bytes);
        self.state
            .lock()
            .unwrap()
            .blobs
            .insert(digest.clone(), bytes);
        digest
    }

    /// Serves `bytes` as `name`'s manifest under `reference` (a tag, and its digest).
    pub fn manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> String {
        let digest = digest_of(&bytes);
        let mut s = self.state.lock().unwrap();
        s.manifests.insert(
            format!("{name}/manifests/{reference}"),
            (media_type.to_string(), bytes.clone()),
        );
        s.manifests.insert(
            format!("{name}/manifests/{digest}"),
            (media_type.to_string(), bytes),
        );
        digest
    }

    pub fn fault(&self, digest: &str, fault: Option<Fault>) {
        let mut s = self.state.lock().unwrap();
        match fault {
            Some(f) => {
                s.faults.insert(digest.to_string(), f);
            }
            None => {
                s.faults.remove(digest);
            }
        }
    }

    pub fn gets(&self, digest: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .blob_gets
            .get(digest)
            .copied()
            .unwrap_or(0)
    }
}
