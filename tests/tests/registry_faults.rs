//! Pulls from a registry that misbehaves (issue 9): a test server (tests/src/registry.rs)
//! serves manifests and blobs the test builds, and wrong bytes, truncated blobs, a
//! stalled transfer, or nothing at all. Every failure must be a clear error that leaves
//! no image and no partial layer behind, and the next pull must succeed. Also: layer
//! formats (gzip, zstd, plain), OCI indexes and platforms, foreign layers, kill -9
//! during a pull, and two clients pulling one image at once.

use std::io::Write;
use std::process::Output;
use std::time::Duration;

use berth_tests::containers::TestDaemon;
use berth_tests::registry::{digest_of, FakeRegistry, Fault};
use berth_tests::{berth_command, output_with_deadline, TempDir};
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(120);
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn berth(test: &TestDaemon, args: &[&str]) -> Output {
    let config = TempDir::new("berth-dcfg");
    let mut command = berth_command();
    command
        .arg("-H")
        .arg(test.daemon.host())
        .args(args)
        .env("DOCKER_CONFIG", &config.path);
    output_with_deadline(command, DEADLINE)
}

fn berth_ok(test: &TestDaemon, args: &[&str]) -> String {
    let out = berth(test, args);
    assert!(
        out.status.success(),
        "berth {args:?}: {}\n{}",
        text(&out),
        test.log_tail()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A layer tar holding one file.
fn layer_tar(path: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append_data(&mut header, path, content).unwrap();
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Layers: (tar, stored bytes, media type).
struct Layer {
    tar: Vec<u8>,
    blob: Vec<u8>,
    media_type: String,
}

fn gz_layer(path: &str, content: &[u8]) -> Layer {
    let tar = layer_tar(path, content);
    Layer {
        blob: gzip(&tar),
        tar,
        media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
    }
}

/// Publishes an image (config + layers) and returns the manifest bytes and the
/// config digest (the image ID).
fn image_manifest(
    reg: &FakeRegistry,
    layers: &[Layer],
    arch: &str,
    media_type: &str,
) -> (Vec<u8>, String) {
    let diff_ids: Vec<String> = layers.iter().map(|l| digest_of(&l.tar)).collect();
    let config = json!({
        "architecture": arch, "os": "linux",
        "config": { "Cmd": ["/bin/sh"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": [],
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = reg.blob(config_bytes.clone());
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            let digest = reg.blob(l.blob.clone());
            json!({ "mediaType": l.media_type, "size": l.blob.len(), "digest": digest })
        })
        .collect();
    let config_type = if media_type == OCI_MANIFEST {
        "application/vnd.oci.image.config.v1+json"
    } else {
        "application/vnd.docker.container.image.v1+json"
    };
    let manifest = json!({
        "schemaVersion": 2, "mediaType": media_type,
        "config": { "mediaType": config_type, "size": config_bytes.len(), "digest": config_digest },
        "layers": layer_descs,
    });
    (serde_json::to_vec(&manifest).unwrap(), config_digest)
}

/// Publishes a one-layer docker image as `name:tag`; returns (layer blob digest, image ID).
fn publish_simple(reg: &FakeRegistry, name: &str, tag: &str, content: &[u8]) -> (String, String) {
    let layer = gz_layer("hello.txt", content);
    let layer_digest = digest_of(&layer.blob);
    let (manifest, id) = image_manifest(reg, &[layer], "amd64", DOCKER_MANIFEST);
    reg.manifest(name, tag, DOCKER_MANIFEST, manifest);
    (layer_digest, id)
}

/// The store holds no trace of a failed pull: no image, only the busybox layer, an
/// empty tmp/.
fn assert_clean(test: &TestDaemon, reference: &str) {
    let out = berth(test, &["image", "inspect", reference]);
    assert!(
        !out.status.success(),
        "{reference} exists after a failed pull"
    );
    let root = test.daemon.data_root();
    let layers = std::fs::read_dir(root.join("layers")).unwrap().count();
    assert_eq!(layers, 1, "only busybox's layer may remain");
    let tmp: Vec<_> = std::fs::read_dir(root.join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(tmp.is_empty(), "temporaries left: {tmp:?}");
}

fn fails_with(test: &TestDaemon, reference: &str, needle: &str) {
    let out = berth(test, &["pull", reference]);
    eprintln!(
        "pull {reference}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    assert!(
        !out.status.success(),
        "pull {reference} succeeded: {}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(needle),
        "expected {needle:?} in: {}",
        text(&out)
    );
}

#[test]
fn failed_pulls_leave_nothing_and_the_next_pull_works() {
    let reg = FakeRegistry::start();
    let test = TestDaemon::start();
    let name = "app";
    let (layer, _) = publish_simple(&reg, name, "v1", b"hello from the registry\n");
    let reference = format!("{}/{name}:v1", reg.host());

    // Wrong bytes for the layer.
    reg.fault(&layer, Some(Fault::WrongBytes));
    fails_with(&test, &reference, "verification failed");
    assert_clean(&test, &reference);

    // A truncated download (the registry closes the connection mid-blob).
    reg.fault(&layer, Some(Fault::Truncated));
    fails_with(&test, &reference, &layer);
    assert_clean(&test, &reference);

    // An unknown tag.
    fails_with(
        &test,
        &format!("{}/{name}:nope", reg.host()),
        "manifest for",
    );
    let out = berth(&test, &["pull", &format!("{}/{name}:nope", reg.host())]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        text(&out)
    );

    // Credentials demanded and none given.
    reg.fault(&layer, None);
    reg.state.lock().unwrap().require = Some("Basic eDp5".into());
    fails_with(&test, &reference, "unauthorized");
    reg.state.lock().unwrap().require = None;
    assert_clean(&test, &reference);

    // And now it works.
    let out = berth_ok(&test, &["pull", &reference]);
    assert!(out.contains("Pull complete"), "{out}");
    // The layer is unpacked (the image has no binaries to run, so look at the store).
    let unpacked = std::fs::read_dir(test.daemon.data_root().join("layers"))
        .unwrap()
        .flatten()
        .any(|e| {
            std::fs::read(e.path().join("diff/hello.txt"))
                .ok()
                .as_deref()
                == Some(&b"hello from the registry\n"[..])
        });
    assert!(unpacked, "hello.txt is not in any layer");
}

#[test]
fn registry_gone_is_a_clear_error() {
    let test = TestDaemon::start();
    let host = {
        let reg = FakeRegistry::start();
        reg.host()
    };
    // The server is stopped: nothing listens on its port any more.
    fails_with(&test, &format!("{host}/app:v1"), "connect");
    assert_clean(&test, &format!("{host}/app:v1"));
}

#[test]
fn formats_indexes_platforms_and_foreign_layers() {
    let reg = FakeRegistry::start();
    let test = TestDaemon::start();
    // Three layers: gzip, zstd, uncompressed; an OCI manifest under an OCI index that
    // also lists arm64.
    let tar_z = layer_tar("b.txt", b"zstd layer\n");
    let zst = zstd::encode_all(&tar_z[..], 3).unwrap();
    let tar_p = layer_tar("c.txt", b"plain layer\n");
    let layers = vec![
        gz_layer("a.txt", b"gzip layer\n"),
        Layer {
            tar: tar_z,
            blob: zst,
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
        },
        Layer {
            tar: tar_p.clone(),
            blob: tar_p,
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        },
    ];
    let (amd64, amd64_id) = image_manifest(&reg, &layers, "amd64", OCI_MANIFEST);
    let arm_layers = vec![gz_layer("arm.txt", b"arm\n")];
    let (arm64, arm64_id) = image_manifest(&reg, &arm_layers, "arm64", OCI_MANIFEST);
    let amd64_digest = reg.manifest("multi", "amd64-only", OCI_MANIFEST, amd64.clone());
    let arm64_digest = reg.manifest("multi", "arm64-only", OCI_MANIFEST, arm64.clone());
    let index = |entries: &[(&str, &[u8], &str)]| {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|(digest, bytes, arch)| {
                json!({
                    "mediaType": OCI_MANIFEST, "digest": digest, "size": bytes.len(),
                    "platform": { "architecture": arch, "os": "linux" },
                })
            })
            .collect();
        serde_json::to_vec(
            &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests }),
        )
        .unwrap()
    };
    let both = index(&[
        (&arm64_digest, &arm64, "arm64"),
        (&amd64_digest, &amd64, "amd64"),
    ]);
    let index_digest = reg.manifest("multi", "latest", OCI_INDEX, both);
    reg.manifest(
        "multi",
        "armonly",
        OCI_INDEX,
        index(&[(&arm64_digest, &arm64, "arm64")]),
    );

    let reference = format!("{}/multi:latest", reg.host());
    let out = berth_ok(&test, &["pull", &reference]);
    assert!(out.contains(&format!("Digest: {index_digest}")), "{out}");
    let inspect: Value =
        serde_json::from_str(&berth_ok(&test, &["image", "inspect", &reference])).unwrap();
    assert_eq!(inspect[0]["Id"], amd64_id.as_str());
    assert_eq!(inspect[0]["RootFS"]["Layers"].as_array().unwrap().len(), 3);
    let digests = inspect[0]["RepoDigests"].to_string();
    assert!(digests.contains(&index_digest), "{digests}");
    // Every layer's file is in the image.
    let layers_dir = test.daemon.data_root().join("layers");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&layers_dir).unwrap().flatten() {
        for f in ["a.txt", "b.txt", "c.txt"] {
            if entry.path().join("diff").join(f).is_file() {
                found.push(f);
            }
        }
    }
    found.sort();
    assert_eq!(found, ["a.txt", "b.txt", "c.txt"]);

    // --platform picks the other entry.
    let out = berth_ok(
        &test,
        &[
            "pull",
            "--platform",
            "linux/arm64",
            &format!("{}/multi:latest", reg.host()),
        ],
    );
    assert!(out.contains("Pull complete"), "{out}");
    let inspect: Value =
        serde_json::from_str(&berth_ok(&test, &["image", "inspect", &reference])).unwrap();
    assert_eq!(inspect[0]["Id"], arm64_id.as_str());
    assert_eq!(inspect[0]["Architecture"], "arm64");

    // An index without our platform.
    fails_with(
        &test,
        &format!("{}/multi:armonly", reg.host()),
        "no matching manifest for linux/amd64",
    );

    // Foreign layers are refused.
    let foreign = json!({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": digest_of(b"{}") },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "size": 10, "digest": digest_of(b"foreign"),
            "urls": ["https://example.invalid/layer"],
        }],
    });
    reg.manifest(
        "win",
        "latest",
        DOCKER_MANIFEST,
        serde_json::to_vec(&foreign).unwrap(),
    );
    fails_with(&test, &format!("{}/win:latest", reg.host()), "foreign");
}

#[test]
fn two_clients_share_one_download() {
    let reg = FakeRegistry::start();
    let test = TestDaemon::start();
    let (layer, id) = publish_simple(&reg, "shared", "v1", &vec![7u8; 2 << 20]);
    reg.state.lock().unwrap().delay = Duration::from_millis(300);
    let reference = format!("{}/shared:v1", reg.host());
    let host = test.daemon.host();
    let pulls: Vec<_> = (0..2)
        .map(|_| {
            let mut command = berth_command();
            command.args(["-H", &host, "pull", &reference]);
            std::thread::spawn(move || output_with_deadline(command, DEADLINE))
        })
        .collect();
    for pull in pulls {
        let out = pull.join().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(reg.gets(&layer), 1, "the layer was downloaded once");
    let listed = berth_ok(&test, &["images", "-q", "--no-trunc", &reference]);
    assert_eq!(listed.trim(), id);
}

#[test]
fn kill_9_during_a_pull_then_restart_and_pull_again() {
    let reg = FakeRegistry::start();
    let mut test = TestDaemon::start();
    let (layer, _) = publish_simple(&reg, "slow", "v1", &vec![9u8; 4 << 20]);
    reg.fault(&layer, Some(Fault::Stall));
    let reference = format!("{}/slow:v1", reg.host());
    let mut command = berth_command();
    command
        .args(["-H", &test.daemon.host(), "pull", &reference])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut pull = command.spawn().expect("berth pull");
    // Wait until the daemon asked for the blob.
    let deadline = std::time::Instant::now() + DEADLINE;
    while reg.gets(&layer) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pull never reached the blob"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    test.kill9();
    let _ = pull.wait();
    reg.state.lock().unwrap().released = true;
    reg.fault(&layer, None);
    test.start_again();
    assert_clean(&test, &reference);
    let out = berth_ok(&test, &["pull", &reference]);
    assert!(out.contains("Pull complete"), "{out}");
}
