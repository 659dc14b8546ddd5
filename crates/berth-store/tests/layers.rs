//! Layer store: unpacking (metadata, whiteouts, links), reproducing the original tar,
//! refusing unsafe tars without leaving anything behind, and garbage collection.

mod common;

use std::collections::HashSet;
use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_store::tar::{write_dir_tar, TarOptions};
use berth_store::{Digest, Store, StoreError};
use common::{tree, TarBuilder};

fn xattr(path: &Path, key: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let k = CString::new(key).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the given length.
    let n = unsafe { libc::lgetxattr(p.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        None
    } else {
        buf.truncate(n as usize);
        Some(buf)
    }
}

fn assert_clean(store: &Store) {
    assert!(
        store.layers().list().unwrap().is_empty(),
        "no layer may remain"
    );
    assert!(
        tree(&store.root().join("tmp")).is_empty(),
        "tmp/ must be empty: {:?}",
        tree(&store.root().join("tmp"))
    );
}

#[test]
fn unpacks_with_metadata_links_devices_and_whiteouts() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let tar = TarBuilder::new()
        .dir("bin/", 0o755)
        .file_with("bin/tool", b"#!/bin/sh\necho hi\n", 0o4755, 1000, 1001)
        .symlink("bin/sh", "tool")
        .hardlink("bin/tool2", "bin/tool")
        .dir("tmp/", 0o1777)
        .device("dev/null", tar::EntryType::Char, 1, 3)
        .device("dev/fifo", tar::EntryType::Fifo, 0, 0)
        .xattr_file("etc/x", b"x", "user.berth", b"test")
        .file("etc/.wh.removed", b"")
        .dir("var/", 0o755)
        .file("var/.wh..wh..opq", b"")
        .file("/abs/file", b"absolute paths land inside the layer")
        .finish();
    let lease = store.lease();
    let record = store
        .layers()
        .apply_tar(&lease, None, None, &tar[..])
        .unwrap();
    assert_eq!(record.diff_id, Digest::of_bytes(&tar));
    assert_eq!(record.chain_id, record.diff_id);
    assert_eq!(record.tar_size, tar.len() as u64);
    let diff = store.layers().diff_dir(&record.chain_id);

    let tool = fs::symlink_metadata(diff.join("bin/tool")).unwrap();
    assert_eq!(tool.mode() & 0o7777, 0o4755);
    assert_eq!((tool.uid(), tool.gid()), (1000, 1001));
    assert_eq!(tool.mtime(), 1_600_000_000);
    assert_eq!(tool.nlink(), 2, "bin/tool2 is a hard link");
    assert_eq!(
        fs::read_link(diff.join("bin/sh")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(
        fs::metadata(diff.join("tmp")).unwrap().permissions().mode() & 0o7777,
        0o1777
    );
    assert_eq!(
        fs::metadata(diff.join("bin")).unwrap().mtime(),
        1_600_000_000,
        "folder times set last"
    );

    let null = fs::symlink_metadata(diff.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    assert!(fs::symlink_metadata(diff.join("dev/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        xattr(&diff.join("etc/x"), "user.berth").as_deref(),
        Some(&b"test"[..])
    );

    let whiteout = fs::symlink_metadata(diff.join("etc/removed")).unwrap();
    assert!(whiteout.file_type().is_char_device());
    assert_eq!(whiteout.rdev(), 0);
    assert!(!diff.join("etc/.wh.removed").exists());
    assert_eq!(
        xattr(&diff.join("var"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!diff.join("var/.wh..wh..opq").exists());
    assert!(diff.join("abs/file").is_file());

    // The original stream comes back byte for byte.
    let mut replay = Vec::new();
    store
        .layers()
        .tar_stream(&record.chain_id)
        .unwrap()
        .read_to_end(&mut replay)
        .unwrap();
    assert_eq!(replay, tar);

    // Writing the folder back converts whiteouts to their portable form.
    let out = write_dir_tar(
        &diff,
        Vec::new(),
        &TarOptions {
            convert_whiteouts: true,
        },
    )
    .unwrap();
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(&out[..]);
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
        if entry.path_bytes().as_ref() == b"bin/tool2" || entry.path_bytes().as_ref() == b"bin/tool"
        {
            assert!(matches!(
                entry.header().entry_type(),
                tar::EntryType::Regular | tar::EntryType::Link
            ));
        }
    }
    for expected in [
        "etc/.wh.removed",
        "var/.wh..wh..opq",
        "bin/sh",
        "dev/null",
        "tmp/",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names.first().map(String::as_str), Some("abs/"));

    // A re-applied export of the folder gives the same tree.
    let again = store
        .layers()
        .apply_tar(&lease, None, None, &out[..])
        .unwrap();
    let diff2 = store.layers().diff_dir(&again.chain_id);
    assert!(fs::symlink_metadata(diff2.join("etc/removed"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(
        xattr(&diff2.join("var"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        xattr(&diff2.join("etc/x"), "user.berth").as_deref(),
        Some(&b"test"[..])
    );
    assert_eq!(
        fs::symlink_metadata(diff2.join("bin/tool"))
            .unwrap()
            .nlink(),
        2
    );
}

#[test]
fn stacked_layers_and_diff_dirs() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let lease = store.lease();
    let base = TarBuilder::new().file("a", b"1").finish();
    let top = TarBuilder::new().file("b", b"2").finish();
    let l1 = store
        .layers()
        .apply_tar(&lease, None, None, &base[..])
        .unwrap();
    let l2 = store
        .layers()
        .apply_tar(&lease, Some(&l1.chain_id), None, &top[..])
        .unwrap();
    assert_eq!(
        l2.chain_id,
        berth_store::chain_id(Some(&l1.chain_id), &l2.diff_id)
    );
    let dirs = store.layers().diff_dirs(&l2.chain_id).unwrap();
    assert_eq!(
        dirs,
        vec![
            store.layers().diff_dir(&l2.chain_id),
            store.layers().diff_dir(&l1.chain_id)
        ]
    );
    // A missing parent is an error.
    let bogus = Digest::of_bytes(b"nope");
    assert!(matches!(
        store
            .layers()
            .apply_tar(&lease, Some(&bogus), None, &top[..]),
        Err(StoreError::LayerNotFound(_))
    ));
}

fn refuse(tar: Vec<u8>, outside: &[&Path]) -> StoreError {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path().join("data")).unwrap();
    let lease = store.lease();
    let err = store
        .layers()
        .apply_tar(&lease, None, None, &tar[..])
        .unwrap_err();
    for path in outside {
        assert!(
            fs::symlink_metadata(path).is_err(),
            "{} was written outside the layer",
            path.display()
        );
    }
    drop(lease);
    assert_clean(&store);
    err
}

fn unique(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "berth-escape-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ))
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn refuses_dotdot_paths() {
    let target = unique("dotdot");
    let name = format!("../../../../../../../..{}", target.display());
    let err = refuse(TarBuilder::new().file(&name, b"pwned").finish(), &[&target]);
    assert!(matches!(err, StoreError::UnsafeEntry { .. }), "{err}");
    assert!(err.to_string().contains("climbs out of the layer"), "{err}");
}

#[test]
fn refuses_writing_through_an_escaping_symlink() {
    let outside = unique("symlink-dir");
    fs::create_dir(&outside).unwrap();
    let tar = TarBuilder::new()
        .symlink("evil", outside.to_str().unwrap())
        .file("evil/pwned", b"pwned")
        .finish();
    let err = refuse(tar, &[&outside.join("pwned")]);
    assert!(
        err.to_string().contains("refusing to write through it"),
        "{err}"
    );
    // A relative symlink that climbs out is refused as well.
    let tar = TarBuilder::new()
        .symlink("up", "../../../../../../../../../../tmp")
        .file("up/berth-pwned", b"pwned")
        .finish();
    let err = refuse(tar, &[Path::new("/tmp/berth-pwned")]);
    assert!(matches!(err, StoreError::UnsafeEntry { .. }), "{err}");
    fs::remove_dir_all(&outside).unwrap();
}

#[test]
fn refuses_hard_links_out_of_the_layer() {
    let err = refuse(
        TarBuilder::new()
            .hardlink("passwd", "../../../../../../etc/passwd")
            .finish(),
        &[],
    );
    assert!(err.to_string().contains("outside the layer"), "{err}");
    let err = refuse(
        TarBuilder::new().hardlink("passwd", "/etc/passwd").finish(),
        &[],
    );
    assert!(
        err.to_string().contains("is not a file in this layer"),
        "{err}"
    );
    // Through a symlink that leaves the layer.
    let tar = TarBuilder::new()
        .symlink("etc", "/etc")
        .hardlink("passwd", "etc/passwd")
        .finish();
    let err = refuse(tar, &[]);
    assert!(
        err.to_string().contains("resolves outside the layer"),
        "{err}"
    );
}

#[test]
fn refuses_truncated_and_corrupt_tars() {
    let good = TarBuilder::new()
        .file("big", &vec![1u8; 10_000])
        .file("small", b"x")
        .finish();
    let err = refuse(good[..3000].to_vec(), &[]);
    assert!(matches!(err, StoreError::BadTar(_)), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");

    let mut corrupt = good.clone();
    corrupt[100] ^= 0xff; // inside the first header: checksum no longer matches
    let err = refuse(corrupt, &[]);
    assert!(matches!(err, StoreError::BadTar(_)), "{err}");

    let err = refuse(
        b"this is not a tar archive at all, just some text".repeat(20),
        &[],
    );
    assert!(matches!(err, StoreError::BadTar(_)), "{err}");
}

#[test]
fn refuses_wrong_diff_id_before_commit() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let tar = TarBuilder::new().file("a", b"1").finish();
    let lease = store.lease();
    let wrong = Digest::of_bytes(b"something else");
    let err = store
        .layers()
        .apply_tar(&lease, None, Some(&wrong), &tar[..])
        .unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    drop(lease);
    assert_clean(&store);
}

#[test]
fn same_layer_from_many_threads() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let tar = TarBuilder::new().file("a", &vec![3u8; 200_000]).finish();
    let records: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let lease = store.lease();
                    store
                        .layers()
                        .apply_tar(&lease, None, None, &tar[..])
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(records.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(store.layers().list().unwrap().len(), 1);
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn gc_keeps_roots_parents_and_leases() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let lease = store.lease();
    let l1 = store
        .layers()
        .apply_tar(
            &lease,
            None,
            None,
            &TarBuilder::new().file("a", b"1").finish()[..],
        )
        .unwrap();
    let l2 = store
        .layers()
        .apply_tar(
            &lease,
            Some(&l1.chain_id),
            None,
            &TarBuilder::new().file("b", b"2").finish()[..],
        )
        .unwrap();
    let orphan = store
        .layers()
        .apply_tar(
            &lease,
            None,
            None,
            &TarBuilder::new().file("c", b"3").finish()[..],
        )
        .unwrap();
    let blob = store.content().put_bytes(&lease, b"config").unwrap();
    let stray = store.content().put_bytes(&lease, b"stray").unwrap();

    // While leased, nothing goes.
    let report = store.gc(&HashSet::new(), &HashSet::new()).unwrap();
    assert!(report.layers.is_empty() && report.blobs.is_empty());
    drop(lease);

    let roots: HashSet<Digest> = [l2.chain_id.clone()].into();
    let blobs: HashSet<Digest> = [blob.digest.clone()].into();
    let report = store.gc(&roots, &blobs).unwrap();
    assert_eq!(
        report
            .layers
            .iter()
            .map(|l| &l.chain_id)
            .collect::<Vec<_>>(),
        vec![&orphan.chain_id]
    );
    assert_eq!(report.blobs, vec![stray.digest]);
    assert!(
        store.layers().exists(&l1.chain_id),
        "a root keeps its parent"
    );
    assert!(store.content().exists(&blob.digest));
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn open_removes_half_done_temporaries() {
    let root = tempfile::tempdir().unwrap();
    {
        let store = Store::open(root.path()).unwrap();
        let lease = store.lease();
        store
            .layers()
            .apply_tar(
                &lease,
                None,
                None,
                &TarBuilder::new().file("a", b"1").finish()[..],
            )
            .unwrap();
    }
    // What a kill -9 in the middle of an unpack and a blob write leaves.
    let tmp = root.path().join("tmp");
    fs::create_dir_all(tmp.join("layer-1-dead/diff/usr/bin")).unwrap();
    fs::write(tmp.join("layer-1-dead/diff/usr/bin/half"), b"half").unwrap();
    fs::write(tmp.join("blob-1-dead"), b"partial").unwrap();
    std::os::unix::fs::symlink("/etc", tmp.join("layer-1-dead/diff/etc")).unwrap();
    let store = Store::open(root.path()).unwrap();
    assert!(tree(&tmp).is_empty());
    assert!(Path::new("/etc/passwd").exists());
    assert_eq!(store.layers().list().unwrap().len(), 1);
}
