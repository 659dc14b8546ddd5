//! Helpers for the image-store end-to-end tests: the busybox fixture (built once per test
//! binary and removed when it exits), request bodies uploaded over the unix socket (whole
//! or streamed piece by piece), the daemon's data-root folders, the event history, and a
//! restart on the same roots after the daemon was killed.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::http::{self, RawResponse};
use crate::{output_with_deadline, unix_now, Daemon};

/// How long building the fixture may take.
const FIXTURE_DEADLINE: Duration = Duration::from_secs(120);
/// How long a daemon may take to exit after SIGKILL.
const KILL_DEADLINE: Duration = Duration::from_secs(20);
/// Read timeout for uploads (a load of a few tens of MB takes well under this).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// The folder holding the fixture; removed by an `atexit` handler.
static FIXTURE_DIR: OnceLock<PathBuf> = OnceLock::new();
static FIXTURE: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_fixture_dir() {
    if let Some(dir) = FIXTURE_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `busybox:latest` as a docker-save tar, built by `tests/fixtures/make-busybox-image.sh`
/// the first time it is asked for in this test binary (it is reproducible, so every
/// test sees the same bytes and image ID). The file is removed when the binary exits.
pub fn busybox_tar() -> &'static Path {
    FIXTURE.get_or_init(|| {
        let dir = FIXTURE_DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("berth-fixture-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create fixture dir");
            // SAFETY: registers a plain `extern "C" fn` without arguments; it only reads a
            // OnceLock that is set before registration and never changes afterwards.
            unsafe {
                libc::atexit(remove_fixture_dir);
            }
            dir
        });
        let out = dir.join("busybox.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/make-busybox-image.sh");
        let mut command = Command::new(&script);
        command.arg(&out).stdin(Stdio::null());
        let result = output_with_deadline(command, FIXTURE_DEADLINE);
        assert!(
            result.status.success() && out.is_file(),
            "{} failed ({}):\n{}",
            script.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        );
        out
    })
}

/// The fixture's bytes.
pub fn busybox_bytes() -> Vec<u8> {
    std::fs::read(busybox_tar()).expect("read busybox fixture")
}

/// `POST path` (e.g. `/images/load`) with `body` as the request body over the daemon's
/// socket. If the daemon answers before it has read the whole body (an early error), the
/// write error is ignored and its answer returned.
pub fn post_body(socket: &Path, path: &str, content_type: &str, body: &[u8]) -> RawResponse {
    let mut upload = Upload::start(socket, path, content_type, body.len() as u64)
        .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()));
    let _ = upload.send(body);
    upload
        .finish()
        .unwrap_or_else(|e| panic!("POST {path}: no answer: {e}"))
}

/// A request whose body is sent piece by piece under a fixed `Content-Length`, so a test
/// can act (kill the daemon, look at its data root) while the daemon is still reading.
pub struct Upload {
    stream: UnixStream,
}

impl Upload {
    pub fn start(
        socket: &Path,
        path: &str,
        content_type: &str,
        content_length: u64,
    ) -> std::io::Result<Upload> {
        let mut stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(UPLOAD_TIMEOUT))?;
        stream.set_write_timeout(Some(UPLOAD_TIMEOUT))?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: {content_type}\r\nContent-Length: {content_length}\r\n\r\n"
        )?;
        Ok(Upload { stream })
    }

    pub fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(data)
    }

    /// Reads the whole answer (the daemon closes the connection after it).
    pub fn finish(mut self) -> std::io::Result<RawResponse> {
        let _ = self.stream.flush();
        let mut raw = Vec::new();
        self.stream.read_to_end(&mut raw)?;
        http::parse(&raw)
    }
}

/// The messages of a docker JSON progress stream (one object per line).
pub fn json_lines(body: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON message ({e}): {l}"))
        })
        .collect()
}

/// Sorted names in `dir` (empty when it does not exist).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

impl Daemon {
    /// Entries of `<data-root>/tmp` (half-done work; empty when the daemon is idle).
    pub fn tmp_entries(&self) -> Vec<String> {
        dir_names(&self.data_root().join("tmp"))
    }

    /// Folders of `<data-root>/layers` (one per unpacked layer, by chain ID).
    pub fn layer_dirs(&self) -> Vec<String> {
        dir_names(&self.data_root().join("layers"))
    }

    /// Files of `<data-root>/blobs/sha256`.
    pub fn blob_files(&self) -> Vec<String> {
        dir_names(&self.data_root().join("blobs/sha256"))
    }

    /// `GET /images/json` as JSON (asserts 200).
    pub fn image_list(&self) -> Vec<serde_json::Value> {
        let response = self.get("/images/json");
        assert_eq!(
            response.status,
            200,
            "GET /images/json: {}",
            response.text()
        );
        response
            .json()
            .as_array()
            .cloned()
            .expect("GET /images/json answers an array")
    }

    /// Every event since the daemon started, up to now (`since=0&until=<now>`).
    pub fn event_history(&self) -> Vec<serde_json::Value> {
        let response = self.get(&format!("/events?since=0&until={}", unix_now()));
        assert_eq!(response.status, 200, "GET /events: {}", response.text());
        json_lines(&response.body)
    }

    /// Sends SIGKILL, waits for the daemon to die, and starts it again with the same
    /// command line on the same roots (as after a crash: pidfile and socket are left).
    pub fn kill_and_restart(&mut self) {
        self.signal(libc::SIGKILL);
        let status = self.wait_exit(KILL_DEADLINE);
        assert!(
            status.is_some(),
            "berthd did not die within {KILL_DEADLINE:?} of SIGKILL"
        );
        self.launch();
    }
}
