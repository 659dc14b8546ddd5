//! Image figures: `load` and `save` of a generated 200 MB, 5-layer image (with the layer
//! unpack throughput), and `images`, `GET /images/json` and daemon RSS with 500 images,
//! for berthd and for a private dockerd started in the same run, with ratios.
//!
//! Each part starts fresh daemons, so one part's leftovers do not weigh on the next.

use std::path::Path;
use std::time::Instant;

use crate::client::{docker_cli, Client};
use crate::daemon::Berthd;
use crate::dockerd::{Dockerd, TreeRss};
use crate::http::{self, Endpoint, KeepAlive};
use crate::imagegen::{self, BigImage, ManyImages};
use crate::interrupt;
use crate::stats::{measure, measure_parts, ratio, ratio_of, report, Summary};
use crate::tempdir::TempDir;
use crate::Options;

const LIST_GOAL_MS: f64 = 20.0;
const RSS_GOAL_MB: f64 = 30.0;
/// Decimal megabytes, as docker prints image sizes.
const MB: f64 = 1_000_000.0;

/// One engine under test: a daemon, the CLI that drives it, and where its memory is.
pub(crate) struct Engine {
    pub(crate) daemon: &'static str,
    pub(crate) client: Option<Client>,
    pub(crate) endpoint: Endpoint,
    pub(crate) pid: u32,
}

impl Engine {
    pub(crate) fn client(&self) -> Result<&Client, String> {
        self.client
            .as_ref()
            .ok_or_else(|| "no docker CLI on PATH".to_string())
    }

    fn rss(&self) -> Option<TreeRss> {
        TreeRss::of(self.daemon, self.pid)
    }
}

/// A fresh berthd and, when dockerd is installed, a fresh private dockerd.
pub(crate) struct Pair {
    // Kept only to run while the engines are measured, and to be stopped on drop.
    _berthd: Berthd,
    _dockerd: Option<Dockerd>,
    pub(crate) engines: Vec<Engine>,
}

impl Pair {
    pub(crate) fn start(bin_dir: &Path) -> Result<Pair, String> {
        let berthd = Berthd::start(bin_dir)?;
        let mut engines = vec![Engine {
            daemon: "berthd",
            client: Some(Client::new(bin_dir.join("berth"), berthd.host())),
            endpoint: berthd.endpoint(),
            pid: berthd.pid(),
        }];
        let dockerd = match Dockerd::binary() {
            Some(binary) => match Dockerd::start(&binary) {
                Ok(d) => Some(d),
                Err(e) => {
                    report("dockerd", format!("not measured: {e}"));
                    None
                }
            },
            None => {
                report(
                    "dockerd",
                    "not measured: image figures need a private dockerd (/usr/sbin/dockerd not installed, or BENCH_DOCKERD=none)",
                );
                None
            }
        };
        if let Some(d) = &dockerd {
            report(
                "dockerd",
                format!(
                    "private, {} (pid {}, started in {:.0} ms)",
                    d.host(),
                    d.pid(),
                    d.started_in.as_secs_f64() * 1000.0
                ),
            );
            engines.push(Engine {
                daemon: "dockerd",
                client: docker_cli().map(|cli| Client::new(cli, d.host())),
                endpoint: d.endpoint(),
                pid: d.pid(),
            });
        }
        Ok(Pair {
            _berthd: berthd,
            _dockerd: dockerd,
            engines,
        })
    }
}

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-images")?;
    let generated = imagegen::generate(work.path())?;
    let big = &generated.big;
    report(
        "generated images",
        format!(
            "{} ({} layers, {} files, {:.1} MB of file data, {:.1} MB tar); {} x {}:N ({:.1} MB tar); in {:.0} ms",
            big.reference,
            imagegen::BIG_LAYERS,
            big.files,
            big.file_bytes as f64 / MB,
            big.tar_bytes as f64 / MB,
            generated.many.count,
            imagegen::MANY_REPO,
            generated.many.tar_bytes as f64 / MB,
            generated.took.as_secs_f64() * 1000.0,
        ),
    );

    {
        let pair = Pair::start(bin_dir)?;
        load_and_save(
            &pair.engines,
            big,
            &work.join("saved.tar"),
            options.image_runs,
        )?;
    }
    let pair = Pair::start(bin_dir)?;
    many(&pair.engines, &generated.many, options)
}

/// Prints `berthd NAME`, `dockerd NAME` and `ratio NAME dockerd/berthd`; a figure that
/// cannot be taken is printed as `not measured`.
pub(crate) fn figure(
    engines: &[Engine],
    name: &str,
    goal: Option<String>,
    mut measure_one: impl FnMut(&Engine) -> Result<Summary, String>,
) -> Result<Vec<Option<Summary>>, String> {
    let mut results = Vec::new();
    for engine in engines {
        let label = format!("{} {name}", engine.daemon);
        let measured = measure_one(engine);
        interrupt::check()?;
        match measured {
            Ok(summary) => {
                match (&goal, engine.daemon) {
                    (Some(goal), "berthd") => {
                        report(&label, format!("{} ({goal})", summary.line()))
                    }
                    _ => report(&label, summary.line()),
                }
                results.push(Some(summary));
            }
            Err(e) => {
                report(&label, format!("not measured: {e}"));
                results.push(None);
            }
        }
    }
    if let [Some(ours), Some(theirs)] = results.as_slice() {
        report(&format!("ratio {name} dockerd/berthd"), ratio(theirs, ours));
    }
    Ok(results)
}

pub(crate) fn sync_disks() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// `load` of the big image `runs` times (`rmi` and `sync` between runs, not timed), then
/// `save -o` of it `runs` times (the output removed and `sync` between runs).
fn load_and_save(
    engines: &[Engine],
    big: &BigImage,
    out: &Path,
    runs: usize,
) -> Result<(), String> {
    disk_reference(big, out, runs)?;
    let file = big.path.to_string_lossy().into_owned();
    let reference = big.reference.as_str();
    let load_name = format!(
        "load {:.0} MB {}-layer image (CLI load -i, wall)",
        big.file_bytes as f64 / MB,
        imagegen::BIG_LAYERS
    );
    let loads = figure(engines, &load_name, None, |engine| {
        let client = engine.client()?;
        measure_parts(runs, |i| {
            if i > 0 {
                client.run(&["rmi", reference])?;
            }
            sync_disks();
            let (stdout, took) = client.timed(&["load", "-i", &file])?;
            if i == 0 {
                if !stdout.contains(reference) {
                    return Err(format!("`load` did not report {reference}: {stdout}"));
                }
                check_image(&engine.endpoint, reference, &big.id)?;
            }
            Ok(took)
        })
    })?;
    for (engine, summary) in engines.iter().zip(&loads) {
        if let Some(summary) = summary {
            report(
                &format!("{} layer unpack throughput", engine.daemon),
                format!(
                    "{:.0} MB/s ({:.1} MB of layer tars / median load wall time)",
                    big.layer_bytes as f64 / MB / summary.median.as_secs_f64(),
                    big.layer_bytes as f64 / MB
                ),
            );
        }
    }

    let out_arg = out.to_string_lossy().into_owned();
    let save_name = format!(
        "save -o of the {:.0} MB image (CLI, wall)",
        big.file_bytes as f64 / MB
    );
    figure(engines, &save_name, None, |engine| {
        let client = engine.client()?;
        if !image_exists(&engine.endpoint, reference) {
            client.run(&["load", "-i", &file])?;
        }
        measure_parts(runs, |i| {
            let _ = std::fs::remove_file(out);
            sync_disks();
            let (_, took) = client.timed(&["save", "-o", &out_arg, reference])?;
            let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
            if i == 0 && size < big.layer_bytes {
                return Err(format!(
                    "`save` wrote {size} bytes, less than the {} bytes of layers",
                    big.layer_bytes
                ));
            }
            Ok(took)
        })
    })?;
    let _ = std::fs::remove_file(out);
    Ok(())
}

/// What this disk does with the same bytes and no daemon: the big tar copied within the
/// temporary folder and fsynced, as a yardstick for "disk-bound" load and save figures.
fn disk_reference(big: &BigImage, out: &Path, runs: usize) -> Result<(), String> {
    let summary = measure_parts(runs, |_| {
        let _ = std::fs::remove_file(out);
        sync_disks();
        let started = Instant::now();
        std::fs::copy(&big.path, out)
            .and_then(|_| std::fs::File::open(out)?.sync_all())
            .map_err(|e| format!("copying {}: {e}", big.path.display()))?;
        Ok(started.elapsed())
    })?;
    let _ = std::fs::remove_file(out);
    report(
        "disk reference: copy of the image tar + fsync",
        format!(
            "{} ({:.0} MB/s)",
            summary.line(),
            big.tar_bytes as f64 / MB / summary.median.as_secs_f64()
        ),
    );
    Ok(())
}

/// With the 500 images loaded: `images` through the CLI, `GET /images/json` raw, and RSS.
fn many(engines: &[Engine], many: &ManyImages, options: &Options) -> Result<(), String> {
    let file = many.path.to_string_lossy().into_owned();
    let count = many.count;
    figure(
        engines,
        &format!("load {count} images sharing a layer (one tar, CLI load -i, wall)"),
        None,
        |engine| {
            let client = engine.client()?;
            let tags: Vec<String> = (0..count)
                .map(|n| format!("{}:{n}", imagegen::MANY_REPO))
                .collect();
            let mut rmi: Vec<&str> = vec!["rmi"];
            rmi.extend(tags.iter().map(String::as_str));
            measure_parts(options.image_runs, |i| {
                if i > 0 {
                    client.run(&rmi)?;
                }
                sync_disks();
                let (_, took) = client.timed(&["load", "-i", &file])?;
                let listed = list_len(&engine.endpoint)?;
                if listed < count {
                    return Err(format!(
                        "/images/json lists {listed} images after the load, expected {count}"
                    ));
                }
                check_image(&engine.endpoint, &tags[0], &many.first_id)?;
                Ok(took)
            })
        },
    )?;

    figure(
        engines,
        &format!("images, {count} images (CLI, wall)"),
        Some(format!("goal <= {LIST_GOAL_MS} ms")),
        |engine| {
            let client = engine.client()?;
            holds_images(engine, count)?;
            let stdout = client.run(&["images"])?;
            let rows = stdout
                .lines()
                .filter(|l| l.starts_with(imagegen::MANY_REPO))
                .count();
            if rows < count {
                return Err(format!(
                    "`images` printed {rows} {} rows, expected {count}",
                    imagegen::MANY_REPO
                ));
            }
            client.timing(options.runs, &["images"])
        },
    )?;

    let n = options.list_requests;
    figure(
        engines,
        &format!("GET /images/json, {count} images (new connection)"),
        None,
        |engine| {
            holds_images(engine, count)?;
            measure(n, 5, || list_len(&engine.endpoint).map(drop))
        },
    )?;
    figure(
        engines,
        &format!("GET /images/json, {count} images (keep-alive)"),
        None,
        |engine| {
            holds_images(engine, count)?;
            let mut conn = KeepAlive::open(&engine.endpoint)
                .map_err(|e| format!("{}: {e}", engine.endpoint.display()))?;
            measure(n, 5, || {
                expect_ok(conn.get("/images/json"), "/images/json").map(drop)
            })
        },
    )?;

    let rss: Vec<Result<TreeRss, String>> = engines
        .iter()
        .map(|engine| {
            holds_images(engine, count)?;
            engine
                .rss()
                .ok_or_else(|| "cannot read /proc/PID/status".to_string())
        })
        .collect();
    for (engine, rss) in engines.iter().zip(&rss) {
        match rss {
            Ok(rss) if engine.daemon == "berthd" => report(
                &format!("berthd RSS with {count} images"),
                format!("{} (goal <= {RSS_GOAL_MB} MB)", rss.line()),
            ),
            Ok(rss) => report(
                &format!("{} RSS with {count} images", rss.label()),
                rss.line(),
            ),
            Err(e) => report(
                &format!("{} RSS with {count} images", engine.daemon),
                format!("not measured: {e}"),
            ),
        }
    }
    if let [Ok(ours), Ok(theirs)] = rss.as_slice() {
        report(
            &format!("ratio RSS with {count} images {}/berthd", theirs.label()),
            ratio_of(theirs.total_kib() as f64, ours.total_kib() as f64),
        );
    }
    Ok(())
}

/// The later figures are only meaningful with the images loaded.
fn holds_images(engine: &Engine, count: usize) -> Result<(), String> {
    match list_len(&engine.endpoint)? {
        n if n >= count => Ok(()),
        n => Err(format!(
            "{} lists {n} images, not {count}: the load did not work",
            engine.daemon
        )),
    }
}

fn expect_ok(result: std::io::Result<(u16, Vec<u8>)>, path: &str) -> Result<Vec<u8>, String> {
    match result {
        Ok((200, body)) => Ok(body),
        Ok((status, body)) => Err(format!(
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body).trim()
        )),
        Err(e) => Err(format!("GET {path}: {e}")),
    }
}

/// `GET /images/json` on a new connection; the number of images it lists.
fn list_len(endpoint: &Endpoint) -> Result<usize, String> {
    let body = expect_ok(http::request_once(endpoint, "/images/json"), "/images/json")?;
    let list: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("/images/json is not JSON: {e}"))?;
    list.as_array()
        .map(Vec::len)
        .ok_or_else(|| "/images/json is not a list".to_string())
}

pub(crate) fn image_exists(endpoint: &Endpoint, reference: &str) -> bool {
    matches!(
        http::request_once(endpoint, &format!("/images/{reference}/json")),
        Ok((200, _))
    )
}

/// The image `reference` exists with the expected ID (the digest of the generated config).
pub(crate) fn check_image(endpoint: &Endpoint, reference: &str, id: &str) -> Result<(), String> {
    let path = format!("/images/{reference}/json");
    let body = expect_ok(http::request_once(endpoint, &path), &path)?;
    let image: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("{path} is not JSON: {e}"))?;
    match image.get("Id").and_then(|v| v.as_str()) {
        Some(found) if found == id => Ok(()),
        found => Err(format!(
            "{reference} has ID {found:?} after the load, expected {id}"
        )),
    }
}
