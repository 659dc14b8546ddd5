//! `berth-bench network`: what networking costs and carries.
//!
//! 1. Network set-up added to `run --rm busybox true`: the default bridge against
//!    `--network none` (goal: at most 5 ms added).
//! 2. 100 containers, each publishing container port 80 on an ephemeral host port,
//!    started by `--parallel` CLI clients at once: wall time, then every port is checked
//!    to be distinct and to answer HTTP with its own container's text.
//! 3. Loopback throughput to a published port: busybox `httpd` in the container serves
//!    a sparse file of zeros, a client on the host reads `THROUGHPUT_MB` of it from
//!    127.0.0.1:PORT; the same read from the container's own address (no NAT, no
//!    proxy) is the baseline of what the server and the veth carry.
//!
//! berthd runs with its own bridge (`bbn…`, a free 10.214.X.0/24, private chains) and
//! publishes with kernel NAT; figure 3 is repeated on a berthd with `--iptables=false`
//! (its userland splice proxy). The private dockerd runs as everywhere in the bench
//! (`--bridge none --iptables=false`), so it gets a user network of its own (bridge
//! `bbd…`, another free /24, removed at the end) and publishes through docker-proxy: its
//! figures compare Berth's NAT path and Berth's proxy with docker-proxy, and its
//! bridge set-up cost with Berth's.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::{docker_cli, Client};
use crate::daemon::Berthd;
use crate::dockerd::Dockerd;
use crate::interrupt;
use crate::stats::{ms, ratio, ratio_of, report, Summary};
use crate::tempdir::TempDir;
use crate::Options;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/make-busybox-image.sh"
);
const SETUP_GOAL_MS: f64 = 5.0;
const PUBLISHERS: usize = 100;
const THROUGHPUT_MB: usize = 512;
const THROUGHPUT_RUNS: usize = 5;
/// The busybox server of figure 3: a sparse 2 GiB file of zeros over HTTP.
const ZERO_SERVER: &str = "mkdir -p /www && dd if=/dev/zero of=/www/zero bs=1 count=0 seek=2048M 2>/dev/null && exec httpd -f -p 5000 -h /www";

/// One engine driven through its CLI: its label and the `--network` its containers use
/// for a bridge (`bridge` on berthd, the bench's user network on dockerd).
struct Engine<'a> {
    label: &'static str,
    cli: Client,
    network: &'a str,
}

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-network")?;
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
    let image = image.display().to_string();
    let runs = options.runs.max(5);

    // berthd with kernel NAT.
    let subnet = free_subnet(&[])?;
    let bridge = format!("bbn{}", std::process::id() % 100_000);
    let daemon = Berthd::start_with(
        bin_dir,
        "bn",
        &[
            "--bridge".into(),
            bridge.clone(),
            "--bip".into(),
            format!("{subnet}.1/24"),
        ],
    )?;
    let berth = Engine {
        label: "berthd",
        cli: Client::new(bin_dir.join("berth"), daemon.host()),
        network: "bridge",
    };
    berth.cli.run(&["load", "-i", &image])?;
    let berth_setup = setup_time(&berth, runs)?;
    let berth_publish = publish_many(&berth, options.parallel)?;
    let berth_nat = throughput(&berth)?;
    drop(daemon);

    // berthd without firewall rules: the userland proxy.
    let subnet2 = free_subnet(&[&subnet])?;
    let daemon = Berthd::start_with(
        bin_dir,
        "bp",
        &[
            "--bridge".into(),
            format!("{bridge}p"),
            "--bip".into(),
            format!("{subnet2}.1/24"),
            "--iptables=false".into(),
        ],
    )?;
    let berth_plain = Engine {
        label: "berthd --iptables=false",
        cli: Client::new(bin_dir.join("berth"), daemon.host()),
        network: "bridge",
    };
    berth_plain.cli.run(&["load", "-i", &image])?;
    let berth_proxy = throughput(&berth_plain)?;
    drop(daemon);

    report(
        "berthd run --rm busybox true, --network none (berth CLI, wall)",
        berth_setup.0.line(),
    );
    report(
        "berthd run --rm busybox true, default bridge (berth CLI, wall)",
        berth_setup.1.line(),
    );
    report(
        "berthd network set-up added to run --rm (median difference)",
        format!("{} (goal <= {SETUP_GOAL_MS} ms)", added_line(&berth_setup)),
    );
    report(
        &format!(
            "berthd {PUBLISHERS} containers publishing a port, started {} at a time (wall)",
            options.parallel
        ),
        format!("{} ms, all ports distinct and answering", ms(berth_publish)),
    );
    report(
        &format!("berthd throughput from the container's address, no NAT ({THROUGHPUT_MB} MB reads, baseline)"),
        mb_line(&berth_nat.direct),
    );
    report(
        &format!(
            "berthd loopback throughput to a published port, kernel NAT ({THROUGHPUT_MB} MB reads)"
        ),
        mb_line(&berth_nat.published),
    );
    report(
        &format!("berthd --iptables=false loopback throughput, userland splice proxy ({THROUGHPUT_MB} MB reads)"),
        mb_line(&berth_proxy.published),
    );

    // The private dockerd, publishing through docker-proxy on a user network.
    let Some(binary) = Dockerd::binary() else {
        report("dockerd", "not installed; no ratios");
        return Ok(());
    };
    let Some(docker) = docker_cli() else {
        report("dockerd", "no docker CLI; no ratios");
        return Ok(());
    };
    let dockerd = Dockerd::start(&binary)?;
    let cli = Client::new(docker, dockerd.host());
    cli.run(&["load", "-i", &image])?;
    let subnet3 = free_subnet(&[&subnet, &subnet2])?;
    let net_name = "berthbench";
    let docker_bridge = format!("bbd{}", std::process::id() % 100_000);
    cli.run(&[
        "network",
        "create",
        "--subnet",
        &format!("{subnet3}.0/24"),
        "-o",
        &format!("com.docker.network.bridge.name={docker_bridge}"),
        net_name,
    ])?;
    let engine = Engine {
        label: "dockerd",
        cli,
        network: net_name,
    };
    let result = (|| {
        let setup = setup_time(&engine, runs)?;
        let publish = publish_many(&engine, options.parallel)?;
        let proxy = throughput(&engine)?;
        Ok::<_, String>((setup, publish, proxy))
    })();
    remove_network(&engine.cli, net_name);
    drop(dockerd);
    // dockerd keeps user networks across its restarts, bridge included: should the
    // removal above have failed, the bench's own bridge goes here.
    if Path::new("/sys/class/net").join(&docker_bridge).exists() {
        let _ = Command::new("ip")
            .args(["link", "del", &docker_bridge])
            .output();
    }
    let (setup, publish, proxy) = result?;

    report(
        "dockerd run --rm busybox true, --network none (docker CLI, wall)",
        setup.0.line(),
    );
    report(
        "dockerd run --rm busybox true, user bridge network (docker CLI, wall)",
        setup.1.line(),
    );
    report(
        "dockerd network set-up added to run --rm (median difference)",
        added_line(&setup),
    );
    if added(&berth_setup) > 0.5 {
        report(
            "ratio network set-up added dockerd/berthd",
            ratio_of(added(&setup), added(&berth_setup)),
        );
    }
    report(
        "ratio run --rm on a bridge dockerd/berthd",
        ratio(&setup.1, &berth_setup.1),
    );
    report(
        &format!(
            "dockerd {PUBLISHERS} containers publishing a port, started {} at a time (wall)",
            options.parallel
        ),
        format!("{} ms, all ports distinct and answering", ms(publish)),
    );
    report(
        "ratio 100 publishing containers dockerd/berthd",
        ratio_of(publish.as_secs_f64(), berth_publish.as_secs_f64()),
    );
    report(
        &format!("dockerd throughput from the container's address, no proxy ({THROUGHPUT_MB} MB reads, baseline)"),
        mb_line(&proxy.direct),
    );
    report(
        &format!("dockerd loopback throughput to a published port, docker-proxy ({THROUGHPUT_MB} MB reads)"),
        mb_line(&proxy.published),
    );
    report(
        "ratio throughput berthd NAT / dockerd docker-proxy",
        ratio_of(median(&berth_nat.published), median(&proxy.published)),
    );
    report(
        "ratio throughput berthd proxy / dockerd docker-proxy",
        ratio_of(median(&berth_proxy.published), median(&proxy.published)),
    );
    Ok(())
}

/// Removes the bench's network from the private dockerd, first removing whatever
/// container still holds an endpoint on it (`run --rm` removals finish asynchronously).
fn remove_network(cli: &Client, name: &str) {
    let mut last = String::new();
    for _ in 0..50 {
        match cli.run(&["network", "rm", name]) {
            Ok(_) => return,
            Err(e) => last = e,
        }
        if let Ok(ids) = cli.run(&["ps", "-aq"]) {
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids);
                let _ = cli.run(&args);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("berth-bench: could not remove dockerd's network {name}: {last}");
}

/// (`--network none`, bridge) timings of `run --rm busybox true`, interleaved so that a
/// change in the machine's load weighs on both alike.
fn setup_time(engine: &Engine<'_>, runs: usize) -> Result<(Summary, Summary), String> {
    let none = ["run", "--rm", "--network", "none", "busybox", "true"];
    let bridge = [
        "run",
        "--rm",
        "--network",
        engine.network,
        "busybox",
        "true",
    ];
    engine.cli.run(&none)?;
    engine.cli.run(&bridge)?;
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..runs {
        interrupt::check()?;
        a.push(engine.cli.timed(&none)?.1);
        b.push(engine.cli.timed(&bridge)?.1);
    }
    Ok((Summary::from_samples(a), Summary::from_samples(b)))
}

/// The bridge's median minus `--network none`'s, in ms (negative: below the noise).
fn added(pair: &(Summary, Summary)) -> f64 {
    (pair.1.median.as_secs_f64() - pair.0.median.as_secs_f64()) * 1000.0
}

/// An added time with a note when the difference drowns in the run-to-run spread.
fn added_line(pair: &(Summary, Summary)) -> String {
    let added = added(pair);
    if added <= 0.0 {
        format!("{added:.2} ms (no difference above the noise)")
    } else {
        format!("{added:.2} ms")
    }
}

/// Starts `PUBLISHERS` web servers with `-p 80` from `parallel` clients at once; checks
/// each host port is distinct and serves its own container's text; removes them.
fn publish_many(engine: &Engine<'_>, parallel: usize) -> Result<Duration, String> {
    let next = AtomicUsize::new(0);
    let ids: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= PUBLISHERS || !errors.lock().unwrap().is_empty() {
                    return;
                }
                let script = format!(
                    "mkdir -p /www && echo server-{i} > /www/index.html && exec httpd -f -p 80 -h /www"
                );
                match engine.cli.run(&[
                    "run", "-d", "--network", engine.network, "-p", "80", "busybox", "sh", "-c",
                    &script,
                ]) {
                    Ok(id) => ids.lock().unwrap().push((i, id.trim().to_string())),
                    Err(e) => errors.lock().unwrap().push(e),
                }
            });
        }
    });
    let took = started.elapsed();
    let ids = ids.into_inner().unwrap();
    let result = (|| {
        if let Some(e) = errors.into_inner().unwrap().into_iter().next() {
            return Err(format!("{}: {e}", engine.label));
        }
        let mut ports = Vec::new();
        for (i, id) in &ids {
            let out = engine.cli.run(&["port", id, "80/tcp"])?;
            let port: u16 = out
                .lines()
                .next()
                .and_then(|l| l.rsplit(':').next())
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| format!("{}: no host port for {id}: {out:?}", engine.label))?;
            ports.push((*i, port));
        }
        let mut distinct: Vec<u16> = ports.iter().map(|(_, p)| *p).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != PUBLISHERS {
            return Err(format!(
                "{}: {} distinct host ports for {PUBLISHERS} containers",
                engine.label,
                distinct.len()
            ));
        }
        for (i, port) in &ports {
            let body = http_get_until(*port, Duration::from_secs(20))
                .ok_or_else(|| format!("{}: port {port} does not answer", engine.label))?;
            if body.trim() != format!("server-{i}") {
                return Err(format!(
                    "{}: port {port} answered {body:?} instead of server-{i}",
                    engine.label
                ));
            }
        }
        Ok(took)
    })();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids.iter().map(|(_, id)| id.as_str()));
        engine.cli.run(&args)?;
    }
    result
}

fn http_get_until(port: u16, deadline: Duration) -> Option<String> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(body) = http_get(port) {
            return Some(body);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.contains(" 200 ").then(|| body.to_string())
}

/// Rates (MB/s) of reads of the zero file through the published port and straight from
/// the container's address.
struct Throughput {
    published: Vec<f64>,
    direct: Vec<f64>,
}

/// MB/s of `THROUGHPUT_RUNS` reads of `THROUGHPUT_MB` from the zero server, through
/// 127.0.0.1:PORT and from the container's address (timed from the first byte of the
/// body), after one warm-up read each.
fn throughput(engine: &Engine<'_>) -> Result<Throughput, String> {
    let id = engine
        .cli
        .run(&[
            "run",
            "-d",
            "--network",
            engine.network,
            "-p",
            "127.0.0.1::5000",
            "busybox",
            "sh",
            "-c",
            ZERO_SERVER,
        ])?
        .trim()
        .to_string();
    let result = (|| {
        let out = engine.cli.run(&["port", &id, "5000/tcp"])?;
        let port: u16 = out
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| format!("no host port: {out:?}"))?;
        let template = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            engine.network
        );
        let ip: Ipv4Addr = engine
            .cli
            .run(&["inspect", "-f", &template, &id])?
            .trim()
            .parse()
            .map_err(|e| format!("container address: {e}"))?;
        let rates = |addr: Ipv4Addr, port: u16| -> Result<Vec<f64>, String> {
            read_zeros(addr, port, 16 << 20)?;
            let mut rates = Vec::new();
            for _ in 0..THROUGHPUT_RUNS {
                interrupt::check()?;
                let took = read_zeros(addr, port, THROUGHPUT_MB << 20)?;
                rates.push(THROUGHPUT_MB as f64 * 1.048576 / took.as_secs_f64());
            }
            Ok(rates)
        };
        Ok(Throughput {
            published: rates(Ipv4Addr::LOCALHOST, port)?,
            direct: rates(ip, 5000)?,
        })
    })();
    engine.cli.run(&["rm", "-f", &id])?;
    result.map_err(|e: String| format!("{}: {e}", engine.label))
}

/// GETs the zero file and reads `bytes` of its body, retrying until the server answers;
/// the time from the first byte of the body to the last.
fn read_zeros(addr: Ipv4Addr, port: u16, bytes: usize) -> Result<Duration, String> {
    let end = Instant::now() + Duration::from_secs(30);
    let mut buf = vec![0u8; 1 << 18];
    loop {
        interrupt::check()?;
        if Instant::now() > end {
            return Err(format!("{addr}:{port} sends nothing"));
        }
        let Ok(mut stream) = TcpStream::connect((addr, port)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        if stream.write_all(b"GET /zero HTTP/1.0\r\n\r\n").is_err() {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        // Headers first; what follows them in the same read is body.
        let mut head = Vec::new();
        let body_start = loop {
            match stream.read(&mut buf) {
                Ok(n) if n > 0 => {
                    head.extend_from_slice(&buf[..n]);
                    if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(head.len() - (at + 4));
                    }
                }
                _ => break None,
            }
        };
        let Some(first) = body_start else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        if !head.starts_with(b"HTTP/1.")
            || !String::from_utf8_lossy(&head[..12.min(head.len())]).contains("200")
        {
            return Err(format!(
                "{addr}:{port}: {}",
                String::from_utf8_lossy(&head[..head.len().min(80)])
            ));
        }
        let started = Instant::now();
        let mut got = first;
        while got < bytes {
            match stream.read(&mut buf) {
                Ok(0) => return Err(format!("{addr}:{port} closed after {got} bytes")),
                Ok(n) => got += n,
                Err(e) => return Err(format!("reading {addr}:{port}: {e}")),
            }
        }
        return Ok(started.elapsed());
    }
}

fn median(rates: &[f64]) -> f64 {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn mb_line(rates: &[f64]) -> String {
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(0.0, f64::max);
    format!(
        "{:.0} ({:.0}-{:.0}) MB/s, n={}",
        median(rates),
        min,
        max,
        rates.len()
    )
}

/// `10.214.X` with no route or address of the host in 10.214.X.0/24, and not in `taken`.
fn free_subnet(taken: &[&str]) -> Result<String, String> {
    let ip = |args: &[&str]| -> String {
        Command::new("ip")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let used = ip(&["route"]) + &ip(&["-o", "addr"]);
    let start = std::process::id() % 200;
    (0..250u32)
        .map(|o| format!("10.214.{}", (start + o) % 250 + 1))
        .find(|s| !used.contains(&format!("{s}.")) && !taken.contains(&s.as_str()))
        .ok_or_else(|| "no free /24 in 10.214.0.0/16 for the bench's bridges".to_string())
}
