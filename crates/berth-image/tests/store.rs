//! Image store semantics: lookup, tag, rmi (docker's rules and texts), prune, import,
//! history, list filters, and recovery after a crash.

mod common;

use std::collections::HashMap;
use std::fs;

use berth_api::types::image::ImageDeleteResponseItem as Item;
use berth_api::{ErrorKind, Filters};
use berth_image::{
    ContainerUse, Digest, ImageError, ImageStore, ImportOptions, ListOptions, Reference,
    RemoveOptions,
};
use common::*;
use serde_json::json;

fn load(store: &ImageStore, images: &[SavedImage]) {
    store
        .load(&docker_archive(images)[..], &mut |_: &str| {})
        .unwrap();
}

fn reference(s: &str) -> Reference {
    Reference::parse_normalized(s).unwrap()
}

fn nobody(_: &Digest) -> Option<ContainerUse> {
    None
}

fn untagged(s: &str) -> Item {
    Item::untagged(s)
}

fn deleted(s: &str) -> Item {
    Item::deleted(s)
}

#[test]
fn resolves_by_name_id_prefix_and_digest() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let image = SavedImage::new(
        vec![layer("a")],
        &["busybox:latest", "localhost:5000/x/y:1"],
    );
    let id = image.id();
    load(&store, &[image]);
    for name in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox",
        "localhost:5000/x/y:1",
        &id,
        &id[7..],
        &id[7..19],
        &id[..14],
    ] {
        assert_eq!(store.resolve(name).unwrap().id.to_string(), id, "{name}");
    }
    let err = store.resolve("nothere").unwrap_err();
    assert_eq!(err.to_string(), "No such image: nothere:latest");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let missing = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        store.resolve(&missing).unwrap_err().to_string(),
        format!("No such image: {missing}")
    );
    let err = store.resolve("Busybox").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    assert!(err.to_string().contains("must be lowercase"), "{err}");
}

#[test]
fn ambiguous_prefix_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    // Find two images whose IDs share their first hex digit.
    let mut by_first: HashMap<char, SavedImage> = HashMap::new();
    let mut i = 0;
    let (a, b) = loop {
        let layers = vec![layer("x")];
        let cfg = config(&layers, json!({"comment": format!("variant {i}")}));
        let img = SavedImage {
            config: cfg,
            layers,
            tags: vec![],
        };
        let first = img.id().chars().nth(7).unwrap();
        if let Some(other) = by_first.remove(&first) {
            break (other, img);
        }
        by_first.insert(first, img);
        i += 1;
    };
    let prefix = a.id()[7..8].to_string();
    load(&store, &[a, b]);
    match store.resolve(&prefix).unwrap_err() {
        ImageError::Ambiguous { count, .. } => assert_eq!(count, 2),
        other => panic!("expected ambiguous, got {other}"),
    }
}

#[test]
fn tag_moves_and_sets_last_tag_time() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let one = SavedImage::new(vec![layer("1")], &["app:1"]);
    let two = SavedImage::new(vec![layer("2")], &["app:2"]);
    let (id1, id2) = (one.id(), two.id());
    load(&store, &[one, two]);
    assert_eq!(
        store.inspect("app:1").unwrap().metadata.last_tag_time,
        "0001-01-01T00:00:00Z"
    );
    store.tag("app:1", &reference("app:stable")).unwrap();
    store.tag(&id1, &reference("other/repo")).unwrap();
    assert_eq!(
        store.resolve("other/repo:latest").unwrap().id.to_string(),
        id1
    );
    assert_ne!(
        store.inspect("app:stable").unwrap().metadata.last_tag_time,
        "0001-01-01T00:00:00Z"
    );
    store.tag("app:2", &reference("app:stable")).unwrap();
    assert_eq!(store.resolve("app:stable").unwrap().id.to_string(), id2);
    let err = store
        .tag("app:1", &reference(&format!("app@{id1}")))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to create a tag with a digest reference"
    );
    let err = store.tag("app:1", &reference("sha256:abc")).unwrap_err();
    assert!(err.to_string().contains("ambiguous tag"), "{err}");
    assert!(matches!(
        store.tag("nope", &reference("x")),
        Err(ImageError::NotFound(_))
    ));
    // Survives reopening.
    drop(store);
    let store = open(root.path());
    assert_eq!(store.resolve("app:stable").unwrap().id.to_string(), id2);
    assert_eq!(store.resolve("other/repo").unwrap().id.to_string(), id1);
}

#[test]
fn rmi_untags_then_deletes_with_layers() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let image = SavedImage::new(vec![layer("a"), layer("b")], &["app:1", "app:2"]);
    let id = image.id();
    let chains = berth_store::chain_ids(
        &image
            .layers
            .iter()
            .map(|l| Digest::of_bytes(l))
            .collect::<Vec<_>>(),
    );
    load(&store, &[image]);

    // Two tags: removing one only untags.
    assert_eq!(
        store
            .remove("app:1", RemoveOptions::default(), &nobody)
            .unwrap(),
        vec![untagged("app:1")]
    );
    // The last one deletes the image and its layers (top first).
    let items = store
        .remove("app:2", RemoveOptions::default(), &nobody)
        .unwrap();
    assert_eq!(
        items,
        vec![
            untagged("app:2"),
            deleted(&id),
            deleted(chains[1].as_str()),
            deleted(chains[0].as_str())
        ]
    );
    assert_empty(&store);
}

#[test]
fn rmi_by_id_conflicts_like_docker() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let image = SavedImage::new(vec![layer("a")], &["one:1", "two:1"]);
    let id = image.id();
    let short = &id[7..19];
    load(&store, &[image]);
    let err = store
        .remove(short, RemoveOptions::default(), &nobody)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories")
    );
    let items = store
        .remove(
            short,
            RemoveOptions {
                force: true,
                noprune: false,
            },
            &nobody,
        )
        .unwrap();
    assert_eq!(items[..2], [untagged("one:1"), untagged("two:1")]);
    assert_eq!(items[2], deleted(&id));
    assert_empty(&store);
}

#[test]
fn rmi_with_containers() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let image = SavedImage::new(vec![layer("a")], &["used:1"]);
    let id = image.id();
    let short = &id[7..19];
    load(&store, &[image]);
    let stopped = |_: &Digest| {
        Some(ContainerUse {
            container_id: "abcdef0123456789abcdef".into(),
            running: false,
        })
    };
    let running = |_: &Digest| {
        Some(ContainerUse {
            container_id: "abcdef0123456789abcdef".into(),
            running: true,
        })
    };

    let err = store
        .remove("used:1", RemoveOptions::default(), &stopped)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to remove repository reference \"used:1\" (must force) - container abcdef012345 is using its referenced image {short}")
    );
    let err = store
        .remove(&id, RemoveOptions::default(), &stopped)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (must be forced) - image is being used by stopped container abcdef012345")
    );
    let err = store
        .remove(
            &id,
            RemoveOptions {
                force: true,
                noprune: false,
            },
            &running,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (cannot be forced) - image is being used by running container abcdef012345")
    );

    // Forced with a stopped container: gone for the user, kept for the container.
    let items = store
        .remove(
            &id,
            RemoveOptions {
                force: true,
                noprune: false,
            },
            &stopped,
        )
        .unwrap();
    assert_eq!(items, vec![untagged("used:1"), deleted(&id)]);
    assert!(store.list().is_empty());
    assert!(store.resolve(&id).is_err());
    let digest = Digest::parse(&id).unwrap();
    assert_eq!(
        store.layer_dirs(&digest).unwrap().len(),
        1,
        "the container can still mount it"
    );
    // Still kept across a restart, then released once no container uses it.
    drop(store);
    let store = open(root.path());
    assert!(store.get(&digest).is_some());
    store.collect_garbage(&stopped).unwrap();
    assert!(store.get(&digest).is_some());
    store.collect_garbage(&nobody).unwrap();
    assert_empty(&store);
}

#[test]
fn rmi_refuses_parent_with_children_and_prunes_parents() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let base_layers = vec![layer("base")];
    let base = SavedImage::new(base_layers.clone(), &[]);
    let base_id = base.id();
    let child_layers = vec![layer("base"), layer("child")];
    let child = SavedImage::new(child_layers, &["child:1"]);
    let child_id = child.id();
    // A docker-save manifest with a Parent link.
    let mut files = vec![
        (
            format!("blobs/sha256/{}", hex(&base.config)),
            base.config.clone(),
        ),
        (
            format!("blobs/sha256/{}", hex(&child.config)),
            child.config.clone(),
        ),
    ];
    for l in &child.layers {
        files.push((format!("blobs/sha256/{}", hex(l)), l.clone()));
    }
    let manifest = json!([
        {"Config": format!("blobs/sha256/{}", hex(&base.config)), "RepoTags": null, "Layers": [format!("blobs/sha256/{}", hex(&base.layers[0]))]},
        {"Config": format!("blobs/sha256/{}", hex(&child.config)), "RepoTags": ["child:1"], "Layers": child.layers.iter().map(|l| format!("blobs/sha256/{}", hex(l))).collect::<Vec<_>>(), "Parent": base_id},
    ]);
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    store.load(&archive(files)[..], &mut |_: &str| {}).unwrap();
    assert_eq!(
        store
            .resolve("child:1")
            .unwrap()
            .parent
            .unwrap()
            .to_string(),
        base_id
    );

    let err = store
        .remove(
            &base_id,
            RemoveOptions {
                force: true,
                noprune: false,
            },
            &nobody,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("(cannot be forced) - image has dependent child images"),
        "{err}"
    );
    // Without -a, the untagged parent is an intermediate image and not listed.
    let list = store.summaries(&ListOptions::default()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        store
            .summaries(&ListOptions {
                all: true,
                ..Default::default()
            })
            .unwrap()
            .len(),
        2
    );
    let history = store.history("child:1").unwrap();
    assert_eq!(history[0].id, child_id);
    assert_eq!(history[0].tags, Some(vec!["child:1".to_string()]));
    assert_eq!(history[1].id, base_id);
    assert_eq!(history[1].tags, None);

    // Removing the child prunes the untagged parent too.
    let items = store
        .remove("child:1", RemoveOptions::default(), &nobody)
        .unwrap();
    let ids: Vec<_> = items.iter().filter_map(|i| i.deleted.clone()).collect();
    assert!(
        ids.contains(&child_id) && ids.contains(&base_id),
        "{items:?}"
    );
    assert_empty(&store);
}

#[test]
fn prune_dangling_all_and_filters() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let dangling = SavedImage::new(vec![layer("d")], &[]);
    let tagged = SavedImage::new(vec![layer("t")], &["kept:1"]);
    let labelled_layers = vec![layer("l")];
    let labelled = SavedImage {
        config: config(
            &labelled_layers,
            json!({"config": {"Labels": {"tier": "test"}}, "created": "2020-01-01T00:00:00Z"}),
        ),
        layers: labelled_layers,
        tags: vec!["labelled:1".into()],
    };
    let used = SavedImage::new(vec![layer("u")], &["used:1"]);
    let (dangling_id, tagged_id, labelled_id, used_id) =
        (dangling.id(), tagged.id(), labelled.id(), used.id());
    load(&store, &[dangling, tagged, labelled, used]);
    let in_use = move |id: &Digest| {
        (id.as_str() == used_id).then(|| ContainerUse {
            container_id: "c0ffee".repeat(4),
            running: true,
        })
    };

    let report = store.prune(&Filters::default(), &in_use).unwrap();
    assert_eq!(report.images_deleted.unwrap()[0], deleted(&dangling_id));
    assert!(report.space_reclaimed > 0);

    let filters = Filters::parse(r#"{"dangling":["false"],"label":["tier=test"]}"#).unwrap();
    let report = store.prune(&filters, &in_use).unwrap();
    assert_eq!(
        report.images_deleted.unwrap()[..2],
        [untagged("labelled:1"), deleted(&labelled_id)]
    );

    let filters =
        Filters::parse(r#"{"dangling":["false"],"until":["2021-01-01T00:00:00Z"]}"#).unwrap();
    assert!(store
        .prune(&filters, &in_use)
        .unwrap()
        .images_deleted
        .is_none());

    let filters = Filters::parse(r#"{"dangling":["false"]}"#).unwrap();
    let report = store.prune(&filters, &in_use).unwrap();
    let items = report.images_deleted.unwrap();
    assert!(items.contains(&deleted(&tagged_id)), "{items:?}");
    assert_eq!(store.list().len(), 1, "the image a container uses stays");
    assert!(store
        .prune(&Filters::parse(r#"{"bogus":["1"]}"#).unwrap(), &in_use)
        .is_err());
}

#[test]
fn import_with_changes_and_message() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let rootfs = TarBuilder::new()
        .dir("bin/", 0o755)
        .file_with("bin/app", b"#!/bin/sh\n", 0o755, 0, 0)
        .finish();
    let id = store
        .import(
            &gzip(&rootfs)[..],
            ImportOptions {
                reference: Some(reference("imported:v1")),
                changes: vec![
                    "CMD [\"/bin/app\"]".into(),
                    "ENV A=1".into(),
                    "EXPOSE 8080".into(),
                    "WORKDIR /srv".into(),
                ],
                message: "Imported from -".into(),
                platform: None,
            },
        )
        .unwrap();
    let inspect = store.inspect("imported:v1").unwrap();
    assert_eq!(inspect.id, id.to_string());
    assert_eq!(inspect.comment, "Imported from -");
    let config = inspect.config.unwrap();
    assert_eq!(config.cmd.unwrap(), vec!["/bin/app"]);
    assert_eq!(config.env.unwrap(), vec!["A=1"]);
    assert!(config.exposed_ports.unwrap().contains_key("8080/tcp"));
    assert_eq!(config.working_dir, "/srv");
    assert_eq!(inspect.root_fs.layers.len(), 1);
    assert_eq!(inspect.os, "linux");
    let history = store.history("imported:v1").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].comment, "Imported from -");
    assert_eq!(history[0].size, 10);
    // The raw config hashes to the ID.
    assert_eq!(Digest::of_bytes(&store.raw_config(&id).unwrap()), id);

    let err = store
        .import(&b""[..], ImportOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    let err = store
        .import(
            &rootfs[..],
            ImportOptions {
                changes: vec!["RUN true".into()],
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "run is not a valid change command");
    let evil = TarBuilder::new().file("../../escape", b"x").finish();
    let err = store
        .import(&evil[..], ImportOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{err}");
    assert_eq!(store.list().len(), 1);
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn list_summaries_and_filters() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path());
    let old_layers = vec![layer("old")];
    let old = SavedImage {
        config: config(
            &old_layers,
            json!({"created": "2020-01-01T00:00:00Z", "config": {"Labels": {"a": "1"}}}),
        ),
        layers: old_layers,
        tags: vec!["old:1".into()],
    };
    let new = SavedImage::new(vec![layer("new")], &["new:1", "library/new:2"]);
    let dangling = SavedImage::new(vec![layer("dangling")], &[]);
    load(&store, &[old, new, dangling]);

    let all = store.summaries(&ListOptions::default()).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].created >= all[2].created, "newest first");
    let untagged = all.iter().find(|s| s.repo_tags.is_empty()).unwrap();
    assert_eq!(untagged.repo_digests, Vec::<String>::new());
    assert_eq!(untagged.shared_size, -1);
    assert_eq!(untagged.containers, -1);
    assert_eq!(untagged.labels, None);
    let json = serde_json::to_value(untagged).unwrap();
    assert_eq!(json["RepoTags"], json!([]));

    let list = |f: &str| {
        store
            .summaries(&ListOptions {
                all: false,
                filters: Filters::parse(f).unwrap(),
            })
            .unwrap()
            .into_iter()
            .map(|s| s.repo_tags.join(","))
            .collect::<Vec<_>>()
    };
    assert_eq!(list(r#"{"dangling":["true"]}"#), vec![""]);
    assert_eq!(list(r#"{"label":["a=1"]}"#), vec!["old:1"]);
    assert_eq!(list(r#"{"reference":["new:2"]}"#), vec!["new:2"]);
    assert_eq!(list(r#"{"reference":["n*"]}"#), vec!["new:1,new:2"]);
    assert_eq!(list(r#"{"before":["new:1"]}"#), vec!["old:1"]);
    assert_eq!(list(r#"{"since":["old:1"]}"#).len(), 2);
    assert!(store
        .summaries(&ListOptions {
            all: false,
            filters: Filters::parse(r#"{"x":["1"]}"#).unwrap()
        })
        .is_err());

    let inspect = store.inspect("old:1").unwrap();
    assert_eq!(inspect.created, "2020-01-01T00:00:00Z");
    let gd = inspect.graph_driver.unwrap();
    assert_eq!(gd.name, "overlay2");
    assert!(gd.data["UpperDir"].ends_with("/diff"));
    assert!(!gd.data.contains_key("LowerDir"));
}

#[test]
fn open_recovers_from_a_crash_mid_load() {
    let root = tempfile::tempdir().unwrap();
    let kept = SavedImage::new(vec![layer("kept")], &["kept:1"]);
    let kept_id = kept.id();
    {
        let store = open(root.path());
        load(&store, &[kept]);
    }
    // What a kill -9 between the steps of a second load leaves: a spool and a half
    // unpacked layer in tmp/, a committed layer and blob and image record that
    // refs.json never listed.
    let tmp = root.path().join("tmp");
    fs::create_dir_all(tmp.join("load-1-dead")).unwrap();
    fs::write(tmp.join("load-1-dead/f1"), b"spooled").unwrap();
    fs::create_dir_all(tmp.join("layer-1-dead/diff/etc")).unwrap();
    fs::write(tmp.join("write-1-dead"), b"{\"partial\":").unwrap();
    let orphan = SavedImage::new(vec![layer("orphan")], &["orphan:1"]);
    {
        let scratch = tempfile::tempdir().unwrap();
        let other = open(scratch.path());
        load(&other, &[orphan]);
        for dir in ["layers", "blobs/sha256", "images"] {
            for entry in fs::read_dir(scratch.path().join(dir)).unwrap() {
                let entry = entry.unwrap();
                let dest = root.path().join(dir).join(entry.file_name());
                if !dest.exists() {
                    fs::rename(entry.path(), dest).unwrap();
                }
            }
        }
    }
    let store = open(root.path());
    assert_eq!(store.list().len(), 1);
    assert_eq!(store.resolve("kept:1").unwrap().id.to_string(), kept_id);
    assert!(store.resolve("orphan:1").is_err());
    assert!(tree(&tmp).is_empty());
    assert_eq!(store.storage().layers().list().unwrap().len(), 1);
    assert_eq!(store.storage().content().list().unwrap().len(), 1);
    assert_eq!(fs::read_dir(root.path().join("images")).unwrap().count(), 1);
}

/// A child process loads images in a loop and is killed with SIGKILL at a random point;
/// the store must then open cleanly and hold only whole images.
#[test]
fn kill_9_during_load_leaves_a_consistent_store() {
    if let Ok(dir) = std::env::var("BERTH_CRASH_CHILD") {
        let store = ImageStore::open(&dir).unwrap();
        for i in 0.. {
            let big = TarBuilder::new()
                .file("blob", &vec![i as u8; 3_000_000])
                .file("n", format!("{i}").as_bytes())
                .finish();
            let image = SavedImage::new(vec![layer("base"), big], &[&format!("crash:{}", i % 3)]);
            store
                .load(&docker_archive(&[image])[..], &mut |_: &str| {})
                .unwrap();
            if i % 4 == 3 {
                let _ = store.remove(
                    &format!("crash:{}", (i + 1) % 3),
                    RemoveOptions::default(),
                    &nobody,
                );
            }
        }
        unreachable!();
    }
    let root = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    for round in 0..4u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "kill_9_during_load_leaves_a_consistent_store",
                "--nocapture",
            ])
            .env("BERTH_CRASH_CHILD", root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150 + round * 137));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = ImageStore::open(root.path()).unwrap();
        assert!(
            tree(&root.path().join("tmp")).is_empty(),
            "round {round}: tmp not cleaned"
        );
        for image in store.list() {
            let raw = store.raw_config(&image.id).unwrap();
            assert_eq!(Digest::of_bytes(&raw), image.id);
            let dirs = store.layer_dirs(&image.id).unwrap();
            assert_eq!(dirs.len(), 2);
            assert!(dirs.iter().all(|d| d.is_dir()));
            assert!(
                dirs[0].join("n").is_file(),
                "round {round}: top layer is whole"
            );
        }
        // Nothing unreferenced survives the open.
        let referenced: std::collections::HashSet<_> = store
            .list()
            .iter()
            .flat_map(|i| i.chain_ids.clone())
            .collect();
        for layer in store.storage().layers().list().unwrap() {
            assert!(
                referenced.contains(&layer.chain_id),
                "round {round}: orphan layer {}",
                layer.chain_id
            );
        }
    }
}
