//! `berth-bench build`: the classic builder against dockerd's in the same run. A 6-step
//! Dockerfile on the test image built cold (`--no-cache`) and fully cached, and a cached
//! build of a context of 10,000 small files (its cost is the context's transfer, unpacking
//! and checksumming). berthd is driven by the berth CLI and by the docker CLI, dockerd by
//! the docker CLI with `DOCKER_BUILDKIT=0`.

use std::path::Path;
use std::process::Command;

use crate::client::{docker_cli, Client};
use crate::daemon::Berthd;
use crate::dockerd::Dockerd;
use crate::stats::{measure, ratio, report, Summary};
use crate::tempdir::TempDir;
use crate::Options;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/make-busybox-image.sh"
);
const DOCKERFILE: &str = "FROM busybox\n\
ENV APP=/app\n\
WORKDIR /app\n\
COPY file.txt .\n\
RUN echo built > /app/built.txt\n\
CMD [\"cat\", \"/app/built.txt\"]\n";
const MANY_FILES: usize = 10_000;

struct Target {
    label: String,
    client: Client,
}

impl Target {
    fn build(&self, context: &Path, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["build", "-q"];
        all.extend_from_slice(args);
        let context = context.display().to_string();
        all.push(&context);
        let out = self
            .client
            .command(&all)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} build failed: {}",
                self.label,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn timing(&self, runs: usize, context: &Path, args: &[&str]) -> Result<Summary, String> {
        measure(runs, 1, || self.build(context, args))
    }
}

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-build")?;
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
    let small = work.join("small");
    std::fs::create_dir_all(&small).map_err(|e| e.to_string())?;
    std::fs::write(small.join("Dockerfile"), DOCKERFILE).map_err(|e| e.to_string())?;
    std::fs::write(small.join("file.txt"), "payload\n").map_err(|e| e.to_string())?;
    let many = work.join("many");
    for i in 0..MANY_FILES {
        let dir = many.join(format!("d{:03}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(
            dir.join(format!("f{i:05}.txt")),
            format!("file {i}\n{}\n", "x".repeat(64)),
        )
        .map_err(|e| e.to_string())?;
    }
    std::fs::write(many.join("Dockerfile"), "FROM busybox\nCOPY . /data/\n")
        .map_err(|e| e.to_string())?;

    let berthd = Berthd::start_in(bin_dir, "bb")?;
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
                "not measured: no private dockerd (BENCH_DOCKERD)",
            );
            None
        }
    };
    let image_arg = image.display().to_string();
    let mut targets = vec![Target {
        label: "berthd (berth CLI)".into(),
        client: Client::new(bin_dir.join("berth"), berthd.host()),
    }];
    targets[0].client.run(&["load", "-i", &image_arg])?;
    if let Some(docker) = docker_cli() {
        targets.push(Target {
            label: "berthd (docker CLI)".into(),
            client: Client::new(&docker, berthd.host()),
        });
        if let Some(d) = &dockerd {
            let target = Target {
                label: "dockerd (docker CLI)".into(),
                client: Client::new(&docker, d.host()),
            };
            target.client.run(&["load", "-i", &image_arg])?;
            targets.push(target);
        }
    }
    let runs = options.runs.clamp(3, 10);
    let mut rows: Vec<(String, Summary, Summary, Summary)> = Vec::new();
    for target in &targets {
        let cold = target.timing(runs, &small, &["--no-cache", "-t", "bench/build:cold"])?;
        report(
            &format!("build 6 steps cold, {}", target.label),
            format!("{} (goal <= 300 ms)", cold.line()),
        );
        let cached = target.timing(runs, &small, &["-t", "bench/build:cached"])?;
        report(
            &format!("build 6 steps cached, {}", target.label),
            format!("{} (goal <= 30 ms)", cached.line()),
        );
        let context = target.timing(runs, &many, &["-t", "bench/build:many"])?;
        report(
            &format!(
                "build context of {MANY_FILES} files (cached COPY), {}",
                target.label
            ),
            context.line(),
        );
        rows.push((target.label.clone(), cold, cached, context));
    }
    if let (Some(ours), Some(theirs)) = (
        rows.iter().find(|r| r.0 == "berthd (berth CLI)"),
        rows.iter().find(|r| r.0 == "dockerd (docker CLI)"),
    ) {
        report("ratio build cold dockerd/berthd", ratio(&theirs.1, &ours.1));
        report(
            "ratio build cached dockerd/berthd",
            ratio(&theirs.2, &ours.2),
        );
        report(
            &format!("ratio build context {MANY_FILES} files dockerd/berthd (goal >= 3x)"),
            ratio(&theirs.3, &ours.3),
        );
    }
    if let (Some(ours), Some(theirs)) = (
        rows.iter().find(|r| r.0 == "berthd (docker CLI)"),
        rows.iter().find(|r| r.0 == "dockerd (docker CLI)"),
    ) {
        report(
            "ratio build cold, docker CLI on both, dockerd/berthd",
            ratio(&theirs.1, &ours.1),
        );
        report(
            "ratio build cached, docker CLI on both, dockerd/berthd",
            ratio(&theirs.2, &ours.2),
        );
        report(
            &format!("ratio build context {MANY_FILES} files, docker CLI on both, dockerd/berthd"),
            ratio(&theirs.3, &ours.3),
        );
    }
    drop(berthd);
    drop(dockerd);
    Ok(())
}
