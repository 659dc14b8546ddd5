//! Loading archives: formats and compressions, every kind of bad input (each must fail
//! with a clear error and leave nothing behind), concurrency, and save → load round trips.

mod common;

use std::fs;
use std::path::Path;

use berth_api::ErrorKind;
use berth_image::{ImageError, ImageStore};
use common::*;
use serde_json::json;

fn load(store: &ImageStore, data: &[u8]) -> Result<Vec<String>, ImageError> {
    let mut lines = Vec::new();
    store.load(data, &mut |l: &str| lines.push(l.to_string()))?;
    Ok(lines)
}

/// Loads `data` into a fresh store, expects failure, checks nothing remains; returns the
/// error text.
fn refuse(data: &[u8]) -> String {
    let root = tempfile::tempdir().unwrap();
    let store = open(&root.path().join("data"));
    let err = load(&store, data).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{err}");
    assert_empty(&store);
    // Reopening finds nothing either.
    drop(store);
    assert_empty(&open(&root.path().join("data")));
    err.to_string()
}

#[test]
fn loads_docker_save_archive() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let image = SavedImage::new(
        vec![layer("a"), layer("b")],
        &["example/app:1", "example/app:2"],
    );
    let lines = load(&store, &docker_archive(&[image])).unwrap();
    assert_eq!(
        lines,
        vec!["Loaded image: example/app:1", "Loaded image: example/app:2"]
    );
    let found = store.resolve("example/app:2").unwrap();
    assert_eq!(found.chain_ids.len(), 2);
    let dirs = store.layer_dirs(&found.id).unwrap();
    assert!(dirs[0].join("etc/b").is_file() && dirs[1].join("etc/a").is_file());

    // Loading it again is a no-op with the same messages.
    let image = SavedImage::new(
        vec![layer("a"), layer("b")],
        &["example/app:1", "example/app:2"],
    );
    assert_eq!(load(&store, &docker_archive(&[image])).unwrap().len(), 2);
    assert_eq!(store.list().len(), 1);
}

#[test]
fn untagged_images_report_their_id_and_moved_tags_say_so() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let first = SavedImage::new(vec![layer("a")], &["app:latest"]);
    let first_id = first.id();
    load(&store, &docker_archive(&[first])).unwrap();
    let second = SavedImage::new(vec![layer("b")], &["app:latest"]);
    let lines = load(&store, &docker_archive(&[second])).unwrap();
    assert_eq!(
        lines,
        vec![
            format!("The image app:latest already exists, renaming the old one with ID {first_id} to empty string"),
            "Loaded image: app:latest".to_string()
        ]
    );
    let untagged = SavedImage::new(vec![layer("c")], &[]);
    let id = untagged.id();
    assert_eq!(
        load(&store, &docker_archive(&[untagged])).unwrap(),
        vec![format!("Loaded image ID: {id}")]
    );
    // The first image is now dangling but still there.
    assert!(store.resolve(&first_id).unwrap().repo_tags.is_empty());
}

#[test]
fn loads_compressed_uploads() {
    let image = SavedImage::new(vec![layer("z")], &["zipped:1"]);
    let plain = docker_archive(&[image]);
    for data in [gzip(&plain), zstd::encode_all(&plain[..], 3).unwrap()] {
        let root = tempfile::tempdir().unwrap();
        let store = open(root.path());
        load(&store, &data).unwrap();
        store.resolve("zipped:1").unwrap();
    }
}

#[test]
fn loads_oci_layout_with_gzip_layers() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let (data, id) = oci_archive(
        &[layer("o1"), layer("o2")],
        "registry.example.com:5000/team/app:v1",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    let lines = load(&store, &data).unwrap();
    assert_eq!(
        lines,
        vec!["Loaded image: registry.example.com:5000/team/app:v1"]
    );
    let image = store
        .resolve("registry.example.com:5000/team/app:v1")
        .unwrap();
    assert_eq!(image.id.to_string(), id);
    // A gzip layer is reproduced uncompressed on save, with the config's diff IDs.
    let mut saved = Vec::new();
    store
        .save(
            &["registry.example.com:5000/team/app:v1".into()],
            &mut saved,
        )
        .unwrap();
    let other = tempfile::tempdir().unwrap();
    let store2 = open(other.path());
    load(&store2, &saved).unwrap();
    assert_eq!(
        store2
            .resolve("registry.example.com:5000/team/app:v1")
            .unwrap()
            .id
            .to_string(),
        id
    );
}

#[test]
fn refuses_zero_byte_upload() {
    let msg = refuse(b"");
    assert!(msg.contains("empty (0 bytes)"), "{msg}");
}

#[test]
fn refuses_truncated_and_corrupt_archives() {
    let data = docker_archive(&[SavedImage::new(
        vec![TarBuilder::new().file("big", &vec![7u8; 50_000]).finish()],
        &["t:1"],
    )]);
    let msg = refuse(&data[..20_000]);
    assert!(msg.contains("truncated"), "{msg}");
    let mut corrupt = data.clone();
    corrupt[600] ^= 0x55; // header of the second entry
    corrupt[700] ^= 0x55;
    let msg = refuse(&corrupt);
    assert!(
        msg.contains("invalid tar archive") || msg.contains("does not match"),
        "{msg}"
    );
    let msg = refuse(&b"garbage that is not a tar".repeat(40));
    assert!(msg.contains("invalid tar archive"), "{msg}");
    // Truncated gzip stream.
    let gz = gzip(&data);
    let msg = refuse(&gz[..gz.len() / 2]);
    assert!(
        msg.contains("truncated") || msg.contains("invalid tar"),
        "{msg}"
    );
}

#[test]
fn refuses_layer_that_does_not_match_its_name() {
    let good = layer("a");
    let evil = layer("evil");
    let cfg = config(std::slice::from_ref(&good), json!({}));
    let data = archive(vec![
        (format!("blobs/sha256/{}", hex(&cfg)), cfg.clone()),
        (format!("blobs/sha256/{}", hex(&good)), evil),
        (
            "manifest.json".into(),
            serde_json::to_vec(&json!([{"Config": format!("blobs/sha256/{}", hex(&cfg)), "RepoTags": ["x:1"], "Layers": [format!("blobs/sha256/{}", hex(&good))]}])).unwrap(),
        ),
    ]);
    let msg = refuse(&data);
    assert!(
        msg.contains("does not match the digest in its name"),
        "{msg}"
    );
}

#[test]
fn refuses_layer_that_does_not_match_the_config() {
    let claimed = layer("claimed");
    let actual = layer("actual");
    let cfg = config(&[claimed], json!({}));
    let data = archive(vec![
        (format!("{}.json", hex(&cfg)), cfg.clone()),
        ("abc/layer.tar".into(), actual),
        (
            "manifest.json".into(),
            serde_json::to_vec(&json!([{"Config": format!("{}.json", hex(&cfg)), "RepoTags": ["x:1"], "Layers": ["abc/layer.tar"]}])).unwrap(),
        ),
    ]);
    let msg = refuse(&data);
    assert!(msg.contains("does not match the image config"), "{msg}");
}

#[test]
fn refuses_missing_layer_and_config() {
    let l = layer("a");
    let cfg = config(std::slice::from_ref(&l), json!({}));
    let manifest = json!([{"Config": format!("blobs/sha256/{}", hex(&cfg)), "RepoTags": ["x:1"], "Layers": [format!("blobs/sha256/{}", hex(&l))]}]);
    let data = archive(vec![
        (format!("blobs/sha256/{}", hex(&cfg)), cfg.clone()),
        (
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
    ]);
    let msg = refuse(&data);
    assert!(
        msg.contains("names layer") && msg.contains("not in the archive"),
        "{msg}"
    );
    let data = archive(vec![(
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    )]);
    let msg = refuse(&data);
    assert!(msg.contains("names config"), "{msg}");
    let msg = refuse(&archive(vec![("hello.txt".into(), b"hi".to_vec())]));
    assert!(msg.contains("neither manifest.json"), "{msg}");
    let msg = refuse(&archive(vec![(
        "manifest.json".into(),
        b"{not json".to_vec(),
    )]));
    assert!(msg.contains("manifest.json is not a valid"), "{msg}");
}

#[test]
fn refuses_unknown_media_types() {
    let (data, _) = oci_archive(&[layer("a")], "x:1", "application/vnd.example.not-a-layer");
    let msg = refuse(&data);
    assert!(
        msg.contains("unknown media type") && msg.contains("application/vnd.example.not-a-layer"),
        "{msg}"
    );
}

fn malicious(layer_tar: Vec<u8>) -> String {
    refuse(&docker_archive(&[SavedImage::new(
        vec![layer("base"), layer_tar],
        &["evil:1"],
    )]))
}

#[test]
fn refuses_layer_with_dotdot_paths() {
    let target = std::env::temp_dir().join(format!("berth-load-escape-{}", std::process::id()));
    let name = format!("../../../../../../../..{}", target.display());
    let msg = malicious(TarBuilder::new().file(&name, b"pwned").finish());
    assert!(msg.contains("climbs out of the layer"), "{msg}");
    assert!(!target.exists());
}

#[test]
fn absolute_paths_stay_inside_the_layer() {
    // Docker strips the leading '/'; the file lands inside the layer, never on the host.
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let target = format!("/tmp/berth-abs-{}", std::process::id());
    let tar = TarBuilder::new().file(&target, b"inside").finish();
    load(
        &store,
        &docker_archive(&[SavedImage::new(vec![tar], &["abs:1"])]),
    )
    .unwrap();
    assert!(!Path::new(&target).exists());
    let image = store.resolve("abs:1").unwrap();
    let dir = &store.layer_dirs(&image.id).unwrap()[0];
    assert_eq!(
        fs::read(dir.join(target.trim_start_matches('/'))).unwrap(),
        b"inside"
    );
}

#[test]
fn refuses_writing_through_symlink_out_of_the_layer() {
    let outside = tempfile::tempdir().unwrap();
    let tar = TarBuilder::new()
        .symlink("escape", outside.path().to_str().unwrap())
        .file("escape/pwned", b"pwned")
        .finish();
    let msg = malicious(tar);
    assert!(msg.contains("refusing to write through it"), "{msg}");
    assert!(!outside.path().join("pwned").exists());
}

#[test]
fn refuses_hard_link_to_outside() {
    let msg = malicious(
        TarBuilder::new()
            .hardlink("shadow", "../../../../../../etc/shadow")
            .finish(),
    );
    assert!(msg.contains("outside the layer"), "{msg}");
    let msg = malicious(TarBuilder::new().hardlink("passwd", "/etc/passwd").finish());
    assert!(msg.contains("not a file in this layer"), "{msg}");
}

#[test]
fn concurrent_loads_of_the_same_image() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let big = TarBuilder::new()
        .file("data", &vec![9u8; 2_000_000])
        .finish();
    let data = docker_archive(&[SavedImage::new(vec![layer("base"), big], &["same:1"])]);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| load(&store, &data).unwrap()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), vec!["Loaded image: same:1"]);
        }
    });
    assert_eq!(store.list().len(), 1);
    assert_eq!(store.storage().layers().list().unwrap().len(), 2);
    assert_eq!(store.storage().content().list().unwrap().len(), 1);
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn save_load_round_trip_is_byte_stable() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let one = SavedImage::new(vec![layer("shared"), layer("one")], &["rt/one:latest"]);
    let two = SavedImage::new(
        vec![layer("shared"), layer("two")],
        &["rt/two:a", "rt/two:b"],
    );
    let ids = (one.id(), two.id());
    load(&store, &docker_archive(&[one, two])).unwrap();

    let mut first = Vec::new();
    store
        .save(&["rt/one".into(), "rt/two".into()], &mut first)
        .unwrap();
    let mut again = Vec::new();
    store
        .save(&["rt/one".into(), "rt/two".into()], &mut again)
        .unwrap();
    assert_eq!(first, again, "save is deterministic");

    let other = tempfile::tempdir().unwrap();
    let store2 = open(other.path());
    let lines = load(&store2, &first).unwrap();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(store2.resolve("rt/one").unwrap().id.to_string(), ids.0);
    assert_eq!(store2.resolve("rt/two:b").unwrap().id.to_string(), ids.1);
    let mut third = Vec::new();
    store2
        .save(&["rt/one".into(), "rt/two".into()], &mut third)
        .unwrap();
    assert_eq!(first, third, "a reloaded image saves to the same bytes");

    // The archive is also a valid OCI layout.
    let mut archive = tar::Archive::new(&first[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    for required in [
        "oci-layout",
        "index.json",
        "manifest.json",
        "repositories",
        "blobs/sha256/",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} missing: {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    // An OCI-only copy (manifest.json removed) loads through index.json.
    let mut oci_only = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(&first[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        if path == "manifest.json" || path == "repositories" {
            continue;
        }
        let header = entry.header().clone();
        oci_only.append(&header, &mut entry).unwrap();
    }
    let oci_only = oci_only.into_inner().unwrap();
    let third_root = tempfile::tempdir().unwrap();
    let store3 = open(third_root.path());
    let lines = load(&store3, &oci_only).unwrap();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(store3.resolve("rt/two:a").unwrap().id.to_string(), ids.1);
}

#[test]
fn save_by_id_has_no_tags() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let image = SavedImage::new(vec![layer("x")], &["byid:1"]);
    let id = image.id();
    load(&store, &docker_archive(&[image])).unwrap();
    let mut out = Vec::new();
    store.save(&[id[7..19].to_string()], &mut out).unwrap();
    let other = tempfile::tempdir().unwrap();
    let store2 = open(other.path());
    assert_eq!(
        load(&store2, &out).unwrap(),
        vec![format!("Loaded image ID: {id}")]
    );
    let err = store.save(&["nope:1".into()], &mut Vec::new()).unwrap_err();
    assert_eq!(err.to_string(), "No such image: nope:1");
}

#[test]
fn busybox_fixture_loads_and_runs_as_a_rootfs() {
    if !Path::new("/bin/busybox").exists() {
        eprintln!("skipping: /bin/busybox is missing (install busybox-static)");
        return;
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/make-busybox-image.sh");
    let work = tempfile::tempdir().unwrap();
    let make = |name: &str| {
        let out = work.path().join(name);
        let status = std::process::Command::new("bash")
            .arg(&script)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{} failed", script.display());
        fs::read(out).unwrap()
    };
    let tar_a = make("a.tar");
    let tar_b = make("b.tar");
    assert_eq!(tar_a, tar_b, "the fixture is reproducible");

    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    assert_eq!(
        load(&store, &tar_a).unwrap(),
        vec!["Loaded image: busybox:latest"]
    );
    let image = store.resolve("busybox").unwrap();
    assert_eq!(image.familiar_tags(), vec!["busybox:latest"]);
    let dirs = store.layer_dirs(&image.id).unwrap();
    let diff = &dirs[0];
    assert_eq!(
        fs::read_link(diff.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert!(diff.join("bin/busybox").is_file());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(diff.join("tmp")).unwrap().permissions().mode() & 0o7777,
        0o1777
    );
    assert!(fs::read_to_string(diff.join("etc/passwd"))
        .unwrap()
        .starts_with("root:x:0:0:"));
    let inspect = store.inspect("busybox:latest").unwrap();
    assert_eq!(inspect.config.unwrap().cmd, Some(vec!["sh".to_string()]));
    assert_eq!(inspect.created, "2024-01-01T00:00:00Z");

    // The busybox in the layer runs.
    let output = std::process::Command::new(diff.join("bin/busybox"))
        .arg("echo")
        .arg("hello")
        .output()
        .unwrap();
    assert_eq!(output.stdout, b"hello\n");

    // Saving gives back the fixture's layer and config byte for byte.
    let mut saved = Vec::new();
    store.save(&["busybox".into()], &mut saved).unwrap();
    let other = tempfile::tempdir().unwrap();
    let store2 = open(other.path());
    load(&store2, &saved).unwrap();
    assert_eq!(store2.resolve("busybox").unwrap().id, image.id);
}
