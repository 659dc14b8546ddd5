//! `berth-bench extras`: the figures of the volumes and exec issues on berthd alone:
//! start time added by 10 volumes, copy-up throughput of a 100 MB image directory, and
//! `exec CTR true` latency (berth CLI, and the docker CLI against berthd).

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::client::{docker_cli, Client};
use crate::daemon::Berthd;
use crate::stats::{ms, report, Summary};
use crate::tempdir::TempDir;
use crate::Options;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/make-busybox-image.sh"
);
const VOLUME_GOAL_MS: f64 = 2.0;
const EXEC_GOAL_MS: f64 = 10.0;
/// Size of the image directory copied into each fresh volume.
const COPYUP_FILES: usize = 100;
const COPYUP_FILE_BYTES: usize = 1 << 20;

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-extras")?;
    let daemon = Berthd::start_in(bin_dir, "bv")?;
    let berth = Client::new(bin_dir.join("berth"), daemon.host());
    let image = work.join("busybox.tar");
    let out = Command::new("bash")
        .arg(FIXTURE)
        .arg(&image)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{FIXTURE} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    berth.run(&["load", "-i", &image.display().to_string()])?;
    let runs = options.runs.max(5);

    // Start time added by 10 named volumes (created by the first run, reused after).
    let plain = berth.timing(
        runs,
        &["run", "--rm", "--network", "none", "busybox", "true"],
    )?;
    let mut args: Vec<String> = ["run", "--rm", "--network", "none"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for i in 0..10 {
        args.push("-v".into());
        args.push(format!("benchvol{i}:/vol{i}"));
    }
    args.extend(["busybox".to_string(), "true".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let with_volumes = berth.timing(runs, &refs)?;
    report(
        "berthd run --rm busybox true (berth CLI, wall)",
        plain.line(),
    );
    report(
        "berthd run --rm with 10 volumes (berth CLI, wall)",
        with_volumes.line(),
    );
    let added = with_volumes.median.as_secs_f64() * 1000.0 - plain.median.as_secs_f64() * 1000.0;
    report(
        "start time added by 10 volumes (median difference)",
        format!("{added:.2} ms (goal <= {VOLUME_GOAL_MS} ms)"),
    );

    // Copy-up: an image with 100 MB under /data, a fresh named volume per run.
    let tar = work.join("copyup.tar");
    write_copyup_tar(&tar)?;
    berth.run(&["import", &tar.display().to_string(), "bench/copyup:latest"])?;
    let baseline = berth.timing(
        runs.min(5),
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "bench/copyup",
            "/bin/true",
        ],
    )?;
    let mut samples = Vec::new();
    for i in 0..runs.min(5) {
        let volume = format!("copyup{i}:/data");
        let (_, took) = berth.timed(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &volume,
            "bench/copyup",
            "/bin/true",
        ])?;
        samples.push(took);
        berth.run(&["volume", "rm", &format!("copyup{i}")])?;
    }
    let copyup = Summary::from_samples(samples);
    let extra = (copyup.median.as_secs_f64() - baseline.median.as_secs_f64()).max(1e-6);
    let megabytes = (COPYUP_FILES * COPYUP_FILE_BYTES) as f64 / 1e6;
    report(
        "berthd run with copy-up of 100 MB into a fresh volume (wall)",
        copyup.line(),
    );
    report(
        "copy-up throughput (100 MB / time added over the same run without a volume)",
        format!(
            "{:.0} MB/s ({} added)",
            megabytes / extra,
            ms(Duration::from_secs_f64(extra))
        ),
    );

    // exec latency.
    berth.run(&[
        "run",
        "-d",
        "--name",
        "benchexec",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ])?;
    let exec = berth.timing(runs.max(20), &["exec", "benchexec", "true"])?;
    report(
        "berthd exec CTR true (berth CLI, wall)",
        format!("{} (goal <= {EXEC_GOAL_MS} ms)", exec.line()),
    );
    if let Some(docker) = docker_cli() {
        let docker = Client::new(docker, daemon.host());
        let exec = docker.timing(runs.max(20), &["exec", "benchexec", "true"])?;
        report("berthd exec CTR true (docker CLI, wall)", exec.line());
    }
    introspection(&berth, &work, runs)?;
    berth.run(&["rm", "-f", "benchexec"])?;
    Ok(())
}

/// `stats --no-stream` over 100 running containers, `commit` of a 100 MB change, and
/// `cp` of a 100 MB file out of a container.
fn introspection(berth: &Client, work: &TempDir, runs: usize) -> Result<(), String> {
    const STATS_CONTAINERS: usize = 100;
    let mut ids = Vec::new();
    let result = (|| {
        for _ in 0..STATS_CONTAINERS {
            let id = berth.run(&["run", "-d", "--network", "none", "busybox", "sleep", "1000"])?;
            ids.push(id.trim().to_string());
        }
        let stats = berth.timing(runs.min(10), &["stats", "--no-stream"])?;
        report(
            &format!(
                "berthd stats --no-stream, {STATS_CONTAINERS} running containers (berth CLI, wall)"
            ),
            format!("{} (goal <= 50 ms)", stats.line()),
        );
        Ok::<_, String>(())
    })();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids.iter().map(String::as_str));
        berth.run(&args)?;
    }
    result?;

    berth.run(&[
        "run",
        "-d",
        "--name",
        "benchcommit",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "head -c 104857600 /dev/urandom > /big && sleep 1000",
    ])?;
    // The write is done once the file has its full size.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let size = berth
            .run(&["exec", "benchcommit", "stat", "-c", "%s", "/big"])
            .unwrap_or_default();
        if size.trim() == "104857600" {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err("the 100 MB file was not written within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, commit) = berth.timed(&["commit", "benchcommit", "bench/committed:latest"])?;
    report(
        "berthd commit of a 100 MB change (berth CLI, wall)",
        ms(commit),
    );
    let dest = work.join("big.out");
    let (_, copy) = berth.timed(&["cp", "benchcommit:/big", &dest.display().to_string()])?;
    report(
        "berthd cp of a 100 MB file out of a container (berth CLI, wall)",
        format!("{} ({:.0} MB/s)", ms(copy), 104.8576 / copy.as_secs_f64()),
    );
    berth.run(&["rm", "-f", "benchcommit"])?;
    berth.run(&["rmi", "bench/committed:latest"])?;
    Ok(())
}

/// A rootfs tar: busybox's `/bin/true` is not needed (the image only runs `/bin/true`
/// if present); `/data` holds `COPYUP_FILES` files of pseudo-random bytes.
fn write_copyup_tar(path: &Path) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut data = vec![0u8; COPYUP_FILE_BYTES];
    let busybox = std::fs::read("/bin/busybox").map_err(|e| format!("/bin/busybox: {e}"))?;
    append(&mut builder, "bin/true", &busybox, 0o755)?;
    for i in 0..COPYUP_FILES {
        for chunk in data.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        append(&mut builder, &format!("data/file{i:03}"), &data, 0o644)?;
    }
    builder
        .into_inner()
        .map_err(|e| e.to_string())?
        .flush()
        .map_err(|e| e.to_string())
}

fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
    mode: u32,
) -> Result<(), String> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    builder
        .append_data(&mut header, name, bytes)
        .map_err(|e| e.to_string())
}
