//! Images move between berthd and a real dockerd unchanged: `berth save | docker load`
//! and `docker save | berth load`, keeping image IDs, and the moved image runs in dockerd.

use std::io::Write;
use std::process::{Command, Stdio};

use berth_tests::dockerd::Dockerd;
use berth_tests::{bin, Daemon, TempDir};

fn build_busybox(dir: &TempDir) -> std::path::PathBuf {
    let out = dir.join("busybox.tar");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/make-busybox-image.sh"
    );
    let status = Command::new("bash")
        .arg(script)
        .arg(&out)
        .status()
        .expect("fixture script");
    assert!(status.success(), "make-busybox-image.sh failed");
    out
}

/// Pipes `from`'s stdout into `to`'s stdin and asserts both succeed.
fn pipe(mut from: Command, mut to: Command) -> String {
    let producer = from.stdout(Stdio::piped()).output().expect("producer");
    assert!(
        producer.status.success(),
        "producer failed: {}",
        String::from_utf8_lossy(&producer.stderr)
    );
    let mut consumer = to
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("consumer");
    consumer
        .stdin
        .take()
        .expect("stdin")
        .write_all(&producer.stdout)
        .expect("feed consumer");
    let out = consumer.wait_with_output().expect("consumer output");
    assert!(
        out.status.success(),
        "consumer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn save_and_load_round_trip_with_dockerd() {
    let Some(dockerd) = Dockerd::start() else {
        return;
    };
    let Some(docker) = berth_tests::docker_cli() else {
        eprintln!("note: no docker CLI; skipping");
        return;
    };
    let work = TempDir::new("berth-compat");
    let tar = build_busybox(&work);
    let berthd = Daemon::start();
    berthd.berth_ok(&["load", "-i", tar.to_str().unwrap()]);
    berthd.berth_ok(&["tag", "busybox", "compat/from-berth:1"]);
    let berth_id = berthd.berth_ok(&["inspect", "--format", "{{.Id}}", "compat/from-berth:1"]);

    // berth save | docker load
    let mut save = Command::new(bin("berth"));
    save.args(["-H", &berthd.host(), "save", "compat/from-berth:1"]);
    let mut load = Command::new(&docker);
    load.args(["-H", &dockerd.host(), "load"]);
    let loaded = pipe(save, load);
    assert!(
        loaded.contains("Loaded image: compat/from-berth:1"),
        "{loaded}"
    );
    let docker_id = dockerd.docker(&["inspect", "--format", "{{.Id}}", "compat/from-berth:1"]);
    assert_eq!(
        String::from_utf8_lossy(&docker_id.stdout),
        berth_id,
        "image ID changed in dockerd"
    );
    let ran = dockerd.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "compat/from-berth:1",
        "echo",
        "ran-in-dockerd",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        "ran-in-dockerd",
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );

    // docker save | berth load
    let tagged = dockerd.docker(&["tag", "compat/from-berth:1", "compat/from-docker:2"]);
    assert!(tagged.status.success());
    let mut save = Command::new(&docker);
    save.args(["-H", &dockerd.host(), "save", "compat/from-docker:2"]);
    let mut load = Command::new(bin("berth"));
    load.args(["-H", &berthd.host(), "load"]);
    let loaded = pipe(save, load);
    assert!(
        loaded.contains("Loaded image: compat/from-docker:2"),
        "{loaded}"
    );
    let id = berthd.berth_ok(&["inspect", "--format", "{{.Id}}", "compat/from-docker:2"]);
    assert_eq!(id, berth_id);
    let history = berthd.berth_ok(&["history", "-q", "compat/from-docker:2"]);
    assert!(history.lines().count() >= 2, "{history}");
}
