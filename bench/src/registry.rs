//! Registry figures: Debian's `docker-registry` on 127.0.0.1 (a free port, filesystem
//! storage in a temp dir) holds the generated 200 MB, 5-layer image, pushed by berth;
//! then berthd and a private dockerd each pull that same image (fresh, `rmi` and `sync`
//! between runs), the already-present pull, and push times (berth's first push gzips
//! the layers; dockerd's push of the same image does too).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::imagegen::{self, BigImage};
use crate::images::{figure, sync_disks, Engine, Pair};
use crate::stats::{measure_parts, report};
use crate::tempdir::TempDir;
use crate::Options;

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const START_DEADLINE: Duration = Duration::from_secs(30);
const MB: f64 = 1_000_000.0;
const PRESENT_GOAL_MS: f64 = 20.0;

/// A private `docker-registry`, stopped by PID on drop.
struct Registry {
    port: u16,
    child: Option<Child>,
    _dir: TempDir,
}

impl Registry {
    fn start() -> Result<Registry, String> {
        if !Path::new(REGISTRY_BIN).exists() {
            return Err(format!(
                "{REGISTRY_BIN} is not installed (apt-get install docker-registry)"
            ));
        }
        let dir = TempDir::new("berth-bench-registry")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("free port: {e}"))?;
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-bench\n",
            dir.join("storage").display()
        );
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("registry.log")).map_err(|e| e.to_string())?;
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {REGISTRY_BIN}: {e}"))?;
        let registry = Registry {
            port,
            child: Some(child),
            _dir: dir,
        };
        let deadline = Instant::now() + START_DEADLINE;
        while !registry.answers() {
            if Instant::now() > deadline {
                return Err("docker-registry did not answer in time".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(registry)
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-registry-images")?;
    let big = imagegen::generate_big(work.path())?;
    let registry = Registry::start()?;
    report(
        "registry",
        format!("docker-registry on {}", registry.host()),
    );
    let pair = Pair::start(bin_dir)?;
    let file = big.path.to_string_lossy().into_owned();
    for engine in &pair.engines {
        engine.client()?.run(&["load", "-i", &file])?;
    }
    push_figures(&pair.engines, &registry, &big)?;
    pull_figures(&pair.engines, &registry, &big, options)
}

/// `push` of the big image to a new repository per engine (the registry holds none of
/// its blobs under that engine's compression), once.
fn push_figures(engines: &[Engine], registry: &Registry, big: &BigImage) -> Result<(), String> {
    figure(
        engines,
        &format!(
            "push of the {:.0} MB {}-layer image to an empty repository (CLI, wall)",
            big.file_bytes as f64 / MB,
            imagegen::BIG_LAYERS
        ),
        None,
        |engine| {
            let client = engine.client()?;
            let target = format!("{}/push-{}/big:latest", registry.host(), engine.daemon);
            client.run(&["tag", &big.reference, &target])?;
            measure_parts(1, |_| {
                sync_disks();
                let (out, took) = client.timed(&["push", &target])?;
                if !out.contains("latest: digest: sha256:") {
                    return Err(format!("push did not report a digest: {out}"));
                }
                Ok(took)
            })
        },
    )?;
    Ok(())
}

/// Both engines pull the image berth pushed (same blobs, same gzip) `runs` times from
/// nothing, then once more when it is present.
fn pull_figures(
    engines: &[Engine],
    registry: &Registry,
    big: &BigImage,
    options: &Options,
) -> Result<(), String> {
    let source = format!("{}/push-berthd/big:latest", registry.host());
    let compressed = compressed_size(registry.port)?;
    report(
        "registry image",
        format!(
            "{source}: {:.1} MB compressed in {} layers ({:.1} MB of layer tars)",
            compressed as f64 / MB,
            imagegen::BIG_LAYERS,
            big.layer_bytes as f64 / MB
        ),
    );
    // Nothing of the image may remain locally before a fresh pull.
    let clear = |engine: &Engine| -> Result<(), String> {
        let client = engine.client()?;
        for name in [
            big.reference.clone(),
            source.clone(),
            format!("{}/push-{}/big:latest", registry.host(), engine.daemon),
        ] {
            let _ = client.command(&["rmi", "-f", &name]).output();
        }
        Ok(())
    };
    let pulls = figure(
        engines,
        &format!(
            "pull of the {:.0} MB {}-layer image from docker-registry on 127.0.0.1 (CLI, wall)",
            big.file_bytes as f64 / MB,
            imagegen::BIG_LAYERS
        ),
        Some("goal: >= 2x dockerd's throughput".into()),
        |engine| {
            let client = engine.client()?;
            measure_parts(options.image_runs, |_| {
                clear(engine)?;
                sync_disks();
                let (out, took) = client.timed(&["pull", &source])?;
                if !out.contains("Downloaded newer image") {
                    return Err(format!("the pull did not download: {out}"));
                }
                Ok(took)
            })
        },
    )?;
    for (engine, summary) in engines.iter().zip(&pulls) {
        if let Some(summary) = summary {
            report(
                &format!("{} pull throughput", engine.daemon),
                format!(
                    "{:.0} MB/s of compressed blobs, {:.0} MB/s of layer tars (median)",
                    compressed as f64 / MB / summary.median.as_secs_f64(),
                    big.layer_bytes as f64 / MB / summary.median.as_secs_f64()
                ),
            );
        }
    }
    figure(
        engines,
        "pull of an image already present (CLI, wall)",
        Some(format!("goal <= {PRESENT_GOAL_MS} ms")),
        |engine| {
            let client = engine.client()?;
            let (out, _) = client.timed(&["pull", &source])?;
            if !out.contains("Image is up to date") {
                return Err(format!("the image is not up to date: {out}"));
            }
            client.timing(options.runs, &["pull", &source])
        },
    )?;
    Ok(())
}

/// Sum of the layer sizes in the pushed manifest.
fn compressed_size(port: u16) -> Result<u64, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("registry: {e}"))?;
    let request = format!(
        "GET /v2/push-berthd/big/manifests/latest HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let manifest: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("manifest: {e}: {body}"))?;
    Ok(manifest["layers"]
        .as_array()
        .map(|layers| layers.iter().filter_map(|l| l["size"].as_u64()).sum())
        .unwrap_or(0))
}
