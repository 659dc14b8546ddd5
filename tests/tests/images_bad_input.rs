//! Hostile and broken archives for `POST /images/load` and `berth load` (issue 4's bad
//! input list), concurrent loads of one image, and `kill -9` of berthd in the middle of a
//! load. Each rejected archive must get an error naming the problem, and afterwards there
//! is no image, no temporary under `<data-root>/tmp`, no new layer or blob, and nothing
//! outside the data root.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use berth_tests::images::{busybox_bytes, busybox_tar, json_lines, post_body, Upload};
use berth_tests::{berth_command, output_with_deadline, wait_for, Daemon, TempDir};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// archive building

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// One entry of a layer tar. Names and link targets are written into the header as
/// raw bytes, so `../` and absolute names get through (the tar crate refuses them).
enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

fn raw_header(name: &str, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    {
        let gnu = header.as_gnu_mut().expect("gnu header");
        assert!(
            name.len() < gnu.name.len(),
            "name too long for the test: {name}"
        );
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_704_067_200);
    header
}

fn set_link(header: &mut tar::Header, target: &str) {
    let gnu = header.as_gnu_mut().expect("gnu header");
    assert!(target.len() < gnu.linkname.len(), "link too long: {target}");
    gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
}

fn layer(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header;
        let data: &[u8] = match entry {
            Entry::Dir(name) => {
                header = raw_header(name, tar::EntryType::Directory, 0o755, 0);
                &[]
            }
            Entry::File(name, data) => {
                header = raw_header(name, tar::EntryType::Regular, 0o644, data.len() as u64);
                data
            }
            Entry::Symlink(name, target) => {
                header = raw_header(name, tar::EntryType::Symlink, 0o777, 0);
                set_link(&mut header, target);
                &[]
            }
            Entry::HardLink(name, target) => {
                header = raw_header(name, tar::EntryType::Link, 0o644, 0);
                set_link(&mut header, target);
                &[]
            }
        };
        header.set_cksum();
        builder.append(&header, data).expect("append");
    }
    builder.into_inner().expect("finish layer")
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn config_json(diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": host_arch(),
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": { "Cmd": ["sh"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    }))
    .expect("config")
}

/// The files of a docker-save archive (Docker 25+ layout: `blobs/sha256/<hex>` and
/// `manifest.json`) holding one image with `layers`, tagged `tag`. `diff_ids` replaces
/// the config's diff IDs (by default the layers' digests).
fn docker_files(
    layers: &[Vec<u8>],
    diff_ids: Option<Vec<String>>,
    tag: &str,
) -> Vec<(String, Vec<u8>)> {
    let diff_ids = diff_ids.unwrap_or_else(|| {
        layers
            .iter()
            .map(|l| format!("sha256:{}", sha256_hex(l)))
            .collect()
    });
    let config = config_json(&diff_ids);
    let config_name = format!("blobs/sha256/{}", sha256_hex(&config));
    let mut files = vec![(config_name.clone(), config)];
    let mut layer_names = Vec::new();
    for l in layers {
        let name = format!("blobs/sha256/{}", sha256_hex(l));
        layer_names.push(name.clone());
        files.push((name, l.clone()));
    }
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": layer_names,
    }]))
    .expect("manifest");
    files.push(("manifest.json".into(), manifest));
    files
}

/// The files of an OCI layout (no `manifest.json`) with one image; the layer descriptors
/// get `layer_media_type`, the config `config_media_type`.
fn oci_files(
    layers: &[Vec<u8>],
    layer_media_type: &str,
    config_media_type: &str,
) -> Vec<(String, Vec<u8>)> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = config_json(&diff_ids);
    let mut files = vec![(
        format!("blobs/sha256/{}", sha256_hex(&config)),
        config.clone(),
    )];
    let mut descriptors = Vec::new();
    for l in layers {
        files.push((format!("blobs/sha256/{}", sha256_hex(l)), l.clone()));
        descriptors.push(json!({
            "mediaType": layer_media_type,
            "digest": format!("sha256:{}", sha256_hex(l)),
            "size": l.len(),
        }));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": config_media_type,
            "digest": format!("sha256:{}", sha256_hex(&config)),
            "size": config.len(),
        },
        "layers": descriptors,
    }))
    .expect("manifest");
    let manifest_digest = format!("sha256:{}", sha256_hex(&manifest));
    files.push((
        format!("blobs/sha256/{}", sha256_hex(&manifest)),
        manifest.clone(),
    ));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": { "io.containerd.image.name": "docker.io/library/oci-evil:latest" },
        }],
    }))
    .expect("index");
    files.push(("index.json".into(), index));
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion": "1.0.0"}"#.to_vec(),
    ));
    files
}

/// Packs files into the outer (plain) tar.
fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).expect("path");
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, &data[..]).expect("append");
    }
    builder.into_inner().expect("finish archive")
}

fn replace(files: &mut [(String, Vec<u8>)], name: &str, data: Vec<u8>) {
    let slot = files
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in the archive"));
    slot.1 = data;
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

// ---------------------------------------------------------------------------------------
// checking

/// A folder outside every data root that a hostile layer tries to reach.
struct Outside {
    dir: TempDir,
}

impl Outside {
    fn new() -> Outside {
        let dir = TempDir::new("berth-outside");
        std::fs::write(dir.join("secret"), "secret\n").expect("write secret");
        Outside { dir }
    }

    /// The folder's absolute path without its leading `/`.
    fn rel(&self) -> String {
        self.dir
            .path
            .display()
            .to_string()
            .trim_start_matches('/')
            .to_string()
    }

    /// `../` enough times to climb from any layer folder to `/`, then the folder.
    fn climb(&self) -> String {
        format!("{}{}", "../".repeat(12), self.rel())
    }

    fn abs(&self) -> String {
        self.dir.path.display().to_string()
    }

    /// Asserts nothing was created, linked or changed in the folder.
    fn assert_untouched(&self) {
        assert_eq!(
            berth_tests::images::dir_names(&self.dir.path),
            ["secret"],
            "something was written outside the data root, in {}",
            self.dir.path.display()
        );
        let secret = self.dir.join("secret");
        assert_eq!(
            std::fs::read_to_string(&secret).expect("secret"),
            "secret\n"
        );
        let meta = std::fs::metadata(&secret).expect("secret");
        assert_eq!(meta.nlink(), 1, "the outside file got a hard link");
    }
}

/// What a daemon holds before a rejected load: it must hold exactly that afterwards.
struct Snapshot {
    images: Vec<String>,
    layers: Vec<String>,
    blobs: Vec<String>,
}

fn snapshot(daemon: &Daemon) -> Snapshot {
    let mut images: Vec<String> = daemon
        .image_list()
        .iter()
        .map(|i| i["Id"].as_str().unwrap_or_default().to_string())
        .collect();
    images.sort();
    Snapshot {
        images,
        layers: daemon.layer_dirs(),
        blobs: daemon.blob_files(),
    }
}

fn assert_unchanged(daemon: &Daemon, before: &Snapshot, what: &str) {
    let after = snapshot(daemon);
    assert_eq!(after.images, before.images, "{what}: images changed");
    let quiet: Vec<String> = daemon
        .berth_ok(&["images", "-q", "--no-trunc"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        quiet.len(),
        before.images.len(),
        "{what}: `images -q` shows {quiet:?}"
    );
    // Temporaries go before the answer is sent; a short poll covers a slow unlink.
    assert!(
        wait_for(Duration::from_secs(10), || daemon.tmp_entries().is_empty()),
        "{what}: leftovers in <data-root>/tmp: {:?}",
        daemon.tmp_entries()
    );
    assert_eq!(after.layers, before.layers, "{what}: layers/ changed");
    assert_eq!(after.blobs, before.blobs, "{what}: blobs/ changed");
}

/// The error of a failed load: moby answers with an error status (400 for bad input)
/// and a JSON `message` when the failure comes before any progress was sent, which is
/// always the case for a rejected archive (progress is only `Loaded image: ...`).
fn load_error(response: &berth_tests::http::RawResponse, what: &str) -> String {
    assert_eq!(
        response.status,
        400,
        "{what}: expected 400 with a JSON message: {}",
        response.text()
    );
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{what}: {:?}",
        response.headers
    );
    let body = response.json();
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: error without message: {body}"))
        .to_string()
}

fn berth_load(daemon: &Daemon, file: &Path) -> Output {
    let mut command = berth_command();
    command
        .arg("-H")
        .arg(daemon.host())
        .args(["load", "-i"])
        .arg(file)
        .stdin(Stdio::null());
    output_with_deadline(command, DEADLINE)
}

/// Loads `archive` through the API and through `berth load -i`; both must fail with a
/// message containing every one of `needles`, and leave the daemon as it was.
fn assert_rejected(daemon: &Daemon, archive: &[u8], needles: &[&str], what: &str) -> String {
    let before = snapshot(daemon);
    let response = post_body(&daemon.socket, "/images/load", "application/x-tar", archive);
    let message = load_error(&response, what);
    eprintln!("{what}: HTTP {}: {message}", response.status);
    for needle in needles {
        assert!(
            message.contains(needle),
            "{what}: API error should mention {needle:?}: {message}"
        );
    }
    assert_unchanged(daemon, &before, &format!("{what} (API)"));

    let dir = TempDir::new("berth-bad");
    let file = dir.join("bad.tar");
    std::fs::write(&file, archive).expect("write archive");
    let out = berth_load(daemon, &file);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: berth load must exit 1:\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(!stdout.contains("Loaded image"), "{what}: {stdout}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{what}: berth load should mention {needle:?}:\n{stderr}"
        );
    }
    assert_unchanged(daemon, &before, &format!("{what} (CLI)"));
    message
}

// ---------------------------------------------------------------------------------------
// broken archives

#[test]
fn truncated_archives_are_rejected() {
    let daemon = Daemon::start();
    let full = busybox_bytes();
    // Where the last entry's content lies (the archive ends with padding after it).
    let last_entry_data = {
        let mut archive = tar::Archive::new(&full[..]);
        let mut last = 0;
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            last = entry.raw_file_position() + entry.size() / 2;
        }
        last as usize
    };
    // Cut inside the big layer file, inside the last file, and inside a header.
    for cut in [full.len() / 2, last_entry_data, 700] {
        let message = assert_rejected(
            &daemon,
            &full[..cut],
            &["invalid tar archive", "truncated"],
            &format!("tar cut at {cut} bytes"),
        );
        assert!(!message.is_empty());
    }
    // Cut right after the first header: a tar reader cannot tell this from an archive
    // without end blocks, but it holds no manifest.
    assert_rejected(
        &daemon,
        &full[..512],
        &["neither manifest.json", "index.json"],
        "tar cut after its first header",
    );
    // Garbage that is not a tar at all.
    let garbage: Vec<u8> = b"this is not a tar archive\n".repeat(100);
    assert_rejected(&daemon, &garbage, &["invalid tar archive"], "garbage");
}

#[test]
fn corrupt_compressed_archives_are_rejected() {
    let daemon = Daemon::start();
    let compressed = gzip(&busybox_bytes());

    // The gzip trailer (CRC32 and length) is wrong: every tar entry reads fine.
    let mut bad_crc = compressed.clone();
    let n = bad_crc.len();
    for byte in &mut bad_crc[n - 8..n - 4] {
        *byte ^= 0xff;
    }
    assert_rejected(
        &daemon,
        &bad_crc,
        &["invalid tar archive"],
        "gzip with a bad CRC",
    );

    // The deflate stream is damaged near its end.
    let mut damaged = compressed.clone();
    let at = damaged.len() - damaged.len() / 20;
    for byte in &mut damaged[at..at + 64] {
        *byte ^= 0x5a;
    }
    assert_rejected(
        &daemon,
        &damaged,
        &["invalid tar archive"],
        "damaged deflate stream",
    );

    // The compressed stream stops early.
    let cut = &compressed[..compressed.len() * 9 / 10];
    assert_rejected(&daemon, cut, &["invalid tar archive"], "truncated gzip");

    // zstd cut short.
    let zst = zstd::encode_all(&busybox_bytes()[..], 3).expect("zstd");
    assert_rejected(
        &daemon,
        &zst[..zst.len() * 9 / 10],
        &["invalid tar archive"],
        "truncated zstd",
    );
}

#[test]
fn empty_upload_is_rejected() {
    let daemon = Daemon::start();
    let message = assert_rejected(&daemon, &[], &["empty"], "0-byte upload");
    assert!(message.contains("0 bytes"), "{message}");
    // An archive with no files at all (only the end-of-archive blocks).
    let empty_tar = tar::Builder::new(Vec::new()).into_inner().expect("tar");
    assert_rejected(&daemon, &empty_tar, &["no files"], "empty tar");
}

#[test]
fn layer_digest_mismatches_are_rejected() {
    let daemon = Daemon::start();
    let good = layer(&[Entry::Dir("etc/"), Entry::File("etc/hello", b"hello\n")]);
    let other = layer(&[Entry::File("etc/other", b"other\n")]);

    // The config's diff ID names other content than the layer holds.
    let files = docker_files(
        std::slice::from_ref(&good),
        Some(vec![format!("sha256:{}", sha256_hex(&other))]),
        "mismatch:1",
    );
    assert_rejected(
        &daemon,
        &pack(&files),
        &["does not match the image config", &sha256_hex(&good)],
        "config diff ID mismatch",
    );

    // The blob's name claims a digest its content does not have.
    let mut files = docker_files(std::slice::from_ref(&good), None, "mismatch:2");
    let name = format!("blobs/sha256/{}", sha256_hex(&good));
    replace(&mut files, &name, other.clone());
    assert_rejected(
        &daemon,
        &pack(&files),
        &["does not match the digest in its name", &name],
        "layer blob name mismatch",
    );

    // The config blob's name does not match its content.
    let mut files = docker_files(std::slice::from_ref(&good), None, "mismatch:3");
    let config_name = files[0].0.clone();
    files[0].1.extend_from_slice(b" ");
    assert_rejected(
        &daemon,
        &pack(&files),
        &["does not match the digest in its name", &config_name],
        "config blob name mismatch",
    );

    // Fewer layers than the config lists.
    let files = docker_files(
        std::slice::from_ref(&good),
        Some(vec![
            format!("sha256:{}", sha256_hex(&good)),
            format!("sha256:{}", sha256_hex(&other)),
        ]),
        "mismatch:4",
    );
    assert_rejected(
        &daemon,
        &pack(&files),
        &["diff_ids"],
        "layer count mismatch",
    );
}

#[test]
fn a_wrong_layer_is_refused_even_when_the_claimed_layer_exists() {
    // busybox is loaded; a second archive claims busybox's diff ID for a different tar.
    let daemon = Daemon::start();
    daemon.berth_ok(&["load", "-i", busybox_tar().to_str().expect("path")]);
    let busybox_diff = {
        let image: Value = serde_json::from_str(&daemon.berth_ok(&["image", "inspect", "busybox"]))
            .expect("inspect");
        image[0]["RootFS"]["Layers"][0]
            .as_str()
            .expect("layer")
            .to_string()
    };
    let evil = layer(&[Entry::File("bin/sh", b"#!/evil\n")]);
    let files = docker_files(
        std::slice::from_ref(&evil),
        Some(vec![busybox_diff.clone()]),
        "busybox:latest",
    );
    assert_rejected(
        &daemon,
        &pack(&files),
        &["does not match the image config"],
        "existing layer claimed by a different tar",
    );
    let image: Value =
        serde_json::from_str(&daemon.berth_ok(&["image", "inspect", "busybox"])).expect("inspect");
    assert_eq!(image[0]["RootFS"]["Layers"][0], busybox_diff.as_str());
}

#[test]
fn missing_files_are_rejected() {
    let daemon = Daemon::start();
    let good = layer(&[Entry::File("hello", b"hello\n")]);

    let mut files = docker_files(std::slice::from_ref(&good), None, "missing:1");
    let layer_name = format!("blobs/sha256/{}", sha256_hex(&good));
    files.retain(|(n, _)| n != &layer_name);
    assert_rejected(
        &daemon,
        &pack(&files),
        &[
            "manifest.json names layer",
            &layer_name,
            "not in the archive",
        ],
        "manifest naming a missing layer",
    );

    let mut files = docker_files(std::slice::from_ref(&good), None, "missing:2");
    let config_name = files[0].0.clone();
    files.remove(0);
    assert_rejected(
        &daemon,
        &pack(&files),
        &["config", &config_name, "not in the archive"],
        "manifest naming a missing config",
    );

    // OCI: the manifest names a layer blob that is absent.
    let mut files = oci_files(
        std::slice::from_ref(&good),
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.config.v1+json",
    );
    files.retain(|(n, _)| n != &layer_name);
    assert_rejected(
        &daemon,
        &pack(&files),
        &[&sha256_hex(&good), "not in the archive"],
        "OCI manifest naming a missing layer",
    );

    // Neither manifest.json nor index.json.
    let files = vec![("hello.txt".to_string(), b"hi".to_vec())];
    assert_rejected(
        &daemon,
        &pack(&files),
        &["neither manifest.json", "index.json"],
        "archive without a manifest",
    );
}

#[test]
fn garbage_manifests_and_unknown_media_types_are_rejected() {
    let daemon = Daemon::start();
    let good = layer(&[Entry::File("hello", b"hello\n")]);

    let mut files = docker_files(std::slice::from_ref(&good), None, "garbage:1");
    replace(&mut files, "manifest.json", b"{ this is not json".to_vec());
    assert_rejected(
        &daemon,
        &pack(&files),
        &["manifest.json"],
        "garbage manifest.json",
    );

    let mut files = docker_files(std::slice::from_ref(&good), None, "garbage:2");
    replace(&mut files, "manifest.json", b"[]".to_vec());
    assert_rejected(
        &daemon,
        &pack(&files),
        &["manifest.json lists no images"],
        "empty manifest.json",
    );

    let mut files = docker_files(std::slice::from_ref(&good), None, "garbage:3");
    let config_name = files[0].0.clone();
    let bad_config = b"{\"rootfs\": 42}".to_vec();
    let bad_name = format!("blobs/sha256/{}", sha256_hex(&bad_config));
    files[0] = (bad_name.clone(), bad_config);
    let manifest = String::from_utf8(files.last().expect("manifest").1.clone())
        .expect("utf8")
        .replace(&config_name, &bad_name);
    replace(&mut files, "manifest.json", manifest.into_bytes());
    assert_rejected(
        &daemon,
        &pack(&files),
        &["config", &bad_name],
        "garbage config",
    );

    let files = oci_files(
        std::slice::from_ref(&good),
        "application/vnd.example.unknown.layer",
        "application/vnd.oci.image.config.v1+json",
    );
    assert_rejected(
        &daemon,
        &pack(&files),
        &[
            "unknown media type",
            "application/vnd.example.unknown.layer",
        ],
        "unknown layer media type",
    );

    let files = oci_files(
        std::slice::from_ref(&good),
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.example.not-a-config",
    );
    assert_rejected(
        &daemon,
        &pack(&files),
        &["unknown media type", "application/vnd.example.not-a-config"],
        "unknown config media type",
    );

    let mut files = oci_files(
        std::slice::from_ref(&good),
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.config.v1+json",
    );
    let index = String::from_utf8(
        files
            .iter()
            .find(|(n, _)| n == "index.json")
            .expect("index")
            .1
            .clone(),
    )
    .expect("utf8")
    .replace(
        "\"application/vnd.oci.image.manifest.v1+json\",\"digest\"",
        "\"application/vnd.example.mystery\",\"digest\"",
    );
    assert!(index.contains("vnd.example.mystery"), "{index}");
    replace(&mut files, "index.json", index.into_bytes());
    assert_rejected(
        &daemon,
        &pack(&files),
        &["unknown media type", "application/vnd.example.mystery"],
        "unknown manifest media type",
    );

    let mut files = oci_files(
        std::slice::from_ref(&good),
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.config.v1+json",
    );
    replace(&mut files, "index.json", b"\x00\x01garbage".to_vec());
    assert_rejected(
        &daemon,
        &pack(&files),
        &["index.json"],
        "garbage index.json",
    );

    // A layer that is not a tar, though its digest is right.
    let not_tar = b"definitely not a tar stream, just some bytes".repeat(20);
    let files = docker_files(std::slice::from_ref(&not_tar), None, "garbage:4");
    assert_rejected(
        &daemon,
        &pack(&files),
        &[&format!("layer blobs/sha256/{}", sha256_hex(&not_tar))],
        "layer that is not a tar",
    );
}

// ---------------------------------------------------------------------------------------
// layers that try to leave their folder

#[test]
fn layer_with_dotdot_path_is_rejected() {
    let daemon = Daemon::start();
    let outside = Outside::new();
    let climb = format!("{}/dotdot-file", outside.climb());
    let evil = layer(&[Entry::Dir("etc/"), Entry::File(&climb, b"escaped\n")]);
    let files = docker_files(std::slice::from_ref(&evil), None, "dotdot:1");
    assert_rejected(&daemon, &pack(&files), &["dotdot-file"], "../ path");
    outside.assert_untouched();

    // `..` in the middle that still climbs out.
    let sneaky = format!("etc/../../{}/dotdot-2", outside.climb());
    let evil = layer(&[Entry::Dir("etc/"), Entry::File(&sneaky, b"escaped\n")]);
    let files = docker_files(std::slice::from_ref(&evil), None, "dotdot:2");
    assert_rejected(&daemon, &pack(&files), &["dotdot-2"], "etc/../../ path");
    outside.assert_untouched();
}

#[test]
fn writing_through_a_symlink_that_leaves_the_layer_is_rejected() {
    let daemon = Daemon::start();
    let outside = Outside::new();
    let cases = [
        ("absolute symlink", outside.abs()),
        ("relative symlink", outside.climb()),
    ];
    for (what, target) in &cases {
        // A file written through the link.
        let evil = layer(&[
            Entry::Symlink("escape", target),
            Entry::File("escape/pwned", b"pwned\n"),
        ]);
        let files = docker_files(std::slice::from_ref(&evil), None, "symlink:1");
        assert_rejected(
            &daemon,
            &pack(&files),
            &["escape/pwned", "outside the layer"],
            &format!("{what}, then a file through it"),
        );
        outside.assert_untouched();

        // A folder created through it, then a file below.
        let evil = layer(&[
            Entry::Symlink("escape", target),
            Entry::Dir("escape/sub/"),
            Entry::File("escape/sub/pwned", b"pwned\n"),
        ]);
        let files = docker_files(std::slice::from_ref(&evil), None, "symlink:2");
        assert_rejected(
            &daemon,
            &pack(&files),
            &["escape/sub", "outside the layer"],
            &format!("{what}, then a folder through it"),
        );
        outside.assert_untouched();

        // A symlink to a folder inside the layer that is itself a link out.
        let evil = layer(&[
            Entry::Dir("a/"),
            Entry::Symlink("a/up", target),
            Entry::Symlink("b", "a/up"),
            Entry::File("b/pwned", b"pwned\n"),
        ]);
        let files = docker_files(std::slice::from_ref(&evil), None, "symlink:3");
        assert_rejected(
            &daemon,
            &pack(&files),
            &["b/pwned", "outside the layer"],
            &format!("{what}, reached through a second link"),
        );
        outside.assert_untouched();
    }
}

#[test]
fn hard_links_to_outside_files_are_rejected() {
    let daemon = Daemon::start();
    let outside = Outside::new();
    let secret_abs = format!("{}/secret", outside.abs());
    let secret_climb = format!("{}/secret", outside.climb());
    for (what, target) in [("absolute", &secret_abs), ("climbing", &secret_climb)] {
        let evil = layer(&[Entry::Dir("etc/"), Entry::HardLink("etc/stolen", target)]);
        let files = docker_files(std::slice::from_ref(&evil), None, "hardlink:1");
        assert_rejected(
            &daemon,
            &pack(&files),
            &["etc/stolen", "hard link"],
            &format!("{what} hard link to an outside file"),
        );
        outside.assert_untouched();
    }
    // A hard link through a symlink that points outside.
    let evil = layer(&[
        Entry::Symlink("out", &outside.abs()),
        Entry::HardLink("stolen", "out/secret"),
    ]);
    let files = docker_files(std::slice::from_ref(&evil), None, "hardlink:2");
    assert_rejected(
        &daemon,
        &pack(&files),
        &["stolen", "outside the layer"],
        "hard link through an outside symlink",
    );
    outside.assert_untouched();
}

#[test]
fn absolute_paths_and_links_stay_inside_the_layer() {
    // Legal but tricky: absolute entry names land inside the layer (as docker does), a
    // symlink to an outside file is stored as a link, a hard link to that symlink links
    // the symlink, and a file written over the hard link replaces it.
    let daemon = Daemon::start();
    let outside = Outside::new();
    let abs_name = format!("{}/abs-file", outside.abs());
    let secret = format!("{}/secret", outside.abs());
    let tricky = layer(&[
        Entry::File(&abs_name, b"inside\n"),
        Entry::Symlink("lnk", &secret),
        Entry::HardLink("hl", "lnk"),
        Entry::File("hl", b"replaced\n"),
    ]);
    let diff = sha256_hex(&tricky);
    let files = docker_files(std::slice::from_ref(&tricky), None, "tricky:1");
    let response = post_body(
        &daemon.socket,
        "/images/load",
        "application/x-tar",
        &pack(&files),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let lines = json_lines(&response.body);
    assert!(
        lines
            .iter()
            .any(|l| l["stream"] == "Loaded image: tricky:1\n"),
        "{lines:?}"
    );
    outside.assert_untouched();
    let diff_dir = daemon.data_root().join("layers").join(&diff).join("diff");
    assert_eq!(
        std::fs::read_to_string(diff_dir.join(outside.rel()).join("abs-file")).expect("abs file"),
        "inside\n"
    );
    assert_eq!(
        std::fs::read_link(diff_dir.join("lnk")).expect("symlink"),
        PathBuf::from(&secret)
    );
    assert_eq!(
        std::fs::read_to_string(diff_dir.join("hl")).expect("hl"),
        "replaced\n"
    );
    assert!(daemon.tmp_entries().is_empty());
}

// ---------------------------------------------------------------------------------------
// concurrency

#[test]
fn four_clients_loading_the_same_image_at_once() {
    let daemon = Daemon::start();
    let archive = Arc::new(busybox_bytes());
    let barrier = Arc::new(Barrier::new(4));
    let socket = daemon.socket.clone();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let archive = Arc::clone(&archive);
            let barrier = Arc::clone(&barrier);
            let socket = socket.clone();
            std::thread::spawn(move || {
                barrier.wait();
                post_body(&socket, "/images/load", "application/x-tar", &archive)
            })
        })
        .collect();
    for handle in handles {
        let response = handle.join().expect("client thread");
        assert_eq!(response.status, 200, "{}", response.text());
        let lines = json_lines(&response.body);
        assert!(
            lines.iter().all(|l| l.get("error").is_none()),
            "a concurrent load failed: {lines:?}\n{}",
            daemon.log()
        );
        assert!(
            lines
                .iter()
                .any(|l| l["stream"] == "Loaded image: busybox:latest\n"),
            "{lines:?}"
        );
    }
    let list = daemon.image_list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["RepoTags"], json!(["busybox:latest"]));
    assert_eq!(daemon.layer_dirs().len(), 1, "{:?}", daemon.layer_dirs());
    assert_eq!(daemon.blob_files().len(), 1, "{:?}", daemon.blob_files());
    assert!(
        daemon.tmp_entries().is_empty(),
        "{:?}",
        daemon.tmp_entries()
    );

    // The same with four CLI processes, after removing the image.
    daemon.berth_ok(&["rmi", "busybox"]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut command = berth_command();
            command
                .arg("-H")
                .arg(daemon.host())
                .args(["load", "-i"])
                .arg(busybox_tar())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command.spawn().expect("spawn berth load")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("berth load");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Loaded image: busybox:latest\n"
        );
    }
    assert_eq!(daemon.image_list().len(), 1);
    assert_eq!(daemon.layer_dirs().len(), 1);
    assert!(
        daemon.tmp_entries().is_empty(),
        "{:?}",
        daemon.tmp_entries()
    );
}

#[test]
fn concurrent_loads_of_images_sharing_a_layer() {
    // Two different images (configs) over one layer, each loaded twice at once.
    let daemon = Daemon::start();
    let shared = layer(&[
        Entry::Dir("data/"),
        Entry::File("data/blob", &vec![3u8; 300_000]),
    ]);
    let a = pack(&docker_files(
        std::slice::from_ref(&shared),
        None,
        "shared-a:1",
    ));
    let b = {
        let mut files = docker_files(std::slice::from_ref(&shared), None, "shared-b:1");
        // A different config (different ID) for the same layer.
        let diff = format!("sha256:{}", sha256_hex(&shared));
        let config = serde_json::to_vec(&json!({
            "architecture": host_arch(),
            "os": "linux",
            "config": { "Cmd": ["other"] },
            "rootfs": { "type": "layers", "diff_ids": [diff] },
        }))
        .expect("config");
        let name = format!("blobs/sha256/{}", sha256_hex(&config));
        let manifest = String::from_utf8(files.last().expect("manifest").1.clone())
            .expect("utf8")
            .replace(&files[0].0, &name);
        files[0] = (name, config);
        replace(&mut files, "manifest.json", manifest.into_bytes());
        pack(&files)
    };
    let archives = Arc::new([a.clone(), b, a.clone(), a]);
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let archives = Arc::clone(&archives);
            let barrier = Arc::clone(&barrier);
            let socket = daemon.socket.clone();
            std::thread::spawn(move || {
                barrier.wait();
                post_body(&socket, "/images/load", "application/x-tar", &archives[i])
            })
        })
        .collect();
    for handle in handles {
        let response = handle.join().expect("client");
        assert_eq!(response.status, 200, "{}", response.text());
        let lines = json_lines(&response.body);
        assert!(lines.iter().all(|l| l.get("error").is_none()), "{lines:?}");
    }
    let mut tags: Vec<String> = daemon
        .image_list()
        .iter()
        .flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    tags.sort();
    assert_eq!(tags, ["shared-a:1", "shared-b:1"]);
    assert_eq!(
        daemon.layer_dirs(),
        [sha256_hex(&shared)],
        "one shared layer"
    );
    assert!(
        daemon.tmp_entries().is_empty(),
        "{:?}",
        daemon.tmp_entries()
    );

    // Removing one image keeps the layer for the other.
    daemon.berth_ok(&["rmi", "shared-a:1"]);
    assert_eq!(daemon.layer_dirs(), [sha256_hex(&shared)]);
    daemon.berth_ok(&["rmi", "shared-b:1"]);
    assert!(daemon.layer_dirs().is_empty());
    assert!(daemon.blob_files().is_empty());
}

// ---------------------------------------------------------------------------------------
// crash safety

/// A one-layer image with a large random file, as a docker-save tar (layer blob first,
/// manifest last, as docker writes it), with its image ID and layer diff ID (hex).
fn big_image(megabytes: usize) -> (Vec<u8>, String, String) {
    let mut random = vec![0u8; megabytes << 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .expect("random bytes");
    let big = layer(&[
        Entry::Dir("data/"),
        Entry::File("data/random.bin", &random),
        Entry::File("data/small", b"small\n"),
    ]);
    let mut files = docker_files(std::slice::from_ref(&big), None, "big:1");
    // Layer first, so that most of the upload comes before the config and manifest.
    files.swap(0, 1);
    let config_hex = files[1].0.trim_start_matches("blobs/sha256/").to_string();
    (pack(&files), config_hex, sha256_hex(&big))
}

/// Waits until `check` holds, polling every millisecond (the windows here are short).
fn poll(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Total bytes of the files under `dir` (recursively).
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => bytes_under(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// The store after a restart holds exactly the images it lists: one config blob per
/// image, one layer folder per layer (all single-layer here), nothing in tmp/.
fn assert_consistent(daemon: &Daemon, expected_layers: &[(String, String)]) {
    assert!(
        daemon.tmp_entries().is_empty(),
        "tmp/ not emptied at start: {:?}",
        daemon.tmp_entries()
    );
    let mut blobs: Vec<String> = Vec::new();
    let mut layers: Vec<String> = Vec::new();
    for image in daemon.image_list() {
        let id = image["Id"].as_str().unwrap_or_default();
        let (config, layer) = expected_layers
            .iter()
            .find(|(config, _)| id == format!("sha256:{config}"))
            .unwrap_or_else(|| panic!("unexpected image after restart: {image}"));
        blobs.push(config.clone());
        layers.push(layer.clone());
        let layer_dir = daemon.data_root().join("layers").join(layer);
        assert!(
            layer_dir.join("meta.json").is_file(),
            "image {id} lists a layer that is not complete: {}",
            layer_dir.display()
        );
    }
    blobs.sort();
    layers.sort();
    assert_eq!(
        daemon.blob_files(),
        blobs,
        "blobs/ holds only image configs"
    );
    assert_eq!(
        daemon.layer_dirs(),
        layers,
        "layers/ holds only used layers"
    );
}

#[test]
fn kill_9_during_a_load_leaves_no_partial_image() {
    let mut daemon = Daemon::start();
    daemon.berth_ok(&["load", "-i", busybox_tar().to_str().expect("path")]);
    let busybox: Value =
        serde_json::from_str(&daemon.berth_ok(&["image", "inspect", "busybox"])).expect("inspect");
    let busybox_config = busybox[0]["Id"]
        .as_str()
        .expect("Id")
        .trim_start_matches("sha256:")
        .to_string();
    let busybox_layer = busybox[0]["RootFS"]["Layers"][0]
        .as_str()
        .expect("layer")
        .trim_start_matches("sha256:")
        .to_string();
    let (archive, big_config, big_layer) = big_image(48);
    let known = [
        (busybox_config.clone(), busybox_layer.clone()),
        (big_config.clone(), big_layer.clone()),
    ];

    // 1. Killed while the upload is being spooled: half the archive sent, the daemon
    //    visibly writing it under tmp/.
    let mut upload = Upload::start(
        &daemon.socket,
        "/images/load",
        "application/x-tar",
        archive.len() as u64,
    )
    .expect("start upload");
    upload
        .send(&archive[..archive.len() / 2])
        .expect("send first half");
    let tmp = daemon.data_root().join("tmp");
    assert!(
        poll(Duration::from_secs(30), || bytes_under(&tmp) > 8 << 20),
        "the daemon did not spool the upload into tmp/: {:?}",
        daemon.tmp_entries()
    );
    daemon.kill_and_restart();
    drop(upload);
    assert_consistent(&daemon, &known);
    let ids: Vec<String> = daemon
        .image_list()
        .iter()
        .map(|i| i["Id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        ids,
        [format!("sha256:{busybox_config}")],
        "only busybox after the crash"
    );
    assert_eq!(daemon.layer_dirs(), std::slice::from_ref(&busybox_layer));
    assert!(
        daemon.log().contains("removed leftover temporaries"),
        "the restart should report the cleanup:\n{}",
        daemon.log()
    );

    // A new load works, the big one included.
    let response = post_body(
        &daemon.socket,
        "/images/load",
        "application/x-tar",
        &archive,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        response.text().contains("Loaded image: big:1"),
        "{}",
        response.text()
    );
    assert_consistent(&daemon, &known);
    daemon.berth_ok(&["rmi", "big:1"]);
    assert_eq!(daemon.layer_dirs(), std::slice::from_ref(&busybox_layer));

    // 2. Killed after the whole upload, while the layer is unpacked (or, if that was too
    //    quick to see, right after): the image is either absent or complete.
    let mut upload = Upload::start(
        &daemon.socket,
        "/images/load",
        "application/x-tar",
        archive.len() as u64,
    )
    .expect("start upload");
    upload.send(&archive).expect("send archive");
    let mut seen = "nothing";
    poll(Duration::from_secs(30), || {
        if daemon.layer_dirs().contains(&big_layer) {
            seen = "the layer committed";
            return true;
        }
        if daemon.tmp_entries().iter().any(|e| e.starts_with("layer-")) {
            seen = "the layer being unpacked";
            return true;
        }
        false
    });
    daemon.kill_and_restart();
    drop(upload);
    assert_consistent(&daemon, &known);
    let present = daemon
        .image_list()
        .iter()
        .any(|i| i["Id"] == format!("sha256:{big_config}").as_str());
    eprintln!("killed after seeing {seen}; image present after restart: {present}");
    if present {
        // Complete: it saves back to the same layer bytes.
        let response = daemon.get("/images/big:1/get");
        assert_eq!(response.status, 200, "{}", response.text());
    } else {
        let response = post_body(
            &daemon.socket,
            "/images/load",
            "application/x-tar",
            &archive,
        );
        assert_eq!(response.status, 200, "{}", response.text());
        assert!(
            response.text().contains("Loaded image: big:1"),
            "{}",
            response.text()
        );
    }
    assert_consistent(&daemon, &known);
    assert_eq!(daemon.image_list().len(), 2);

    // 3. The fixture loads again after all this.
    daemon.berth_ok(&["rmi", "busybox"]);
    assert_eq!(
        daemon.berth_ok(&["load", "-i", busybox_tar().to_str().expect("path")]),
        "Loaded image: busybox:latest\n"
    );
    assert_consistent(&daemon, &known);
}
