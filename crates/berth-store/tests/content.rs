//! Content store: verified streaming writes, nothing partial ever visible.

mod common;

use std::io::Read;

use berth_store::{Digest, Store, StoreError};
use common::tree;

#[test]
fn put_open_list_delete() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let lease = store.lease();
    let data = vec![42u8; 3 * 1024 * 1024];
    let info = store.content().put(&lease, &data[..]).unwrap();
    assert_eq!(info.digest, Digest::of_bytes(&data));
    assert_eq!(info.size, data.len() as u64);
    assert!(store.content().exists(&info.digest));
    assert_eq!(
        store.content().size(&info.digest).unwrap(),
        data.len() as u64
    );
    let mut back = Vec::new();
    store
        .content()
        .open(&info.digest)
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, data);
    assert_eq!(store.content().list().unwrap(), vec![info.digest.clone()]);
    assert!(root
        .path()
        .join("blobs/sha256")
        .join(info.digest.hex())
        .is_file());

    // Same content again: same blob, no error.
    let again = store
        .content()
        .put_verified(&lease, &info.digest, &data[..])
        .unwrap();
    assert_eq!(again, info);

    store.content().delete(&info.digest).unwrap();
    assert!(!store.content().exists(&info.digest));
    assert!(matches!(
        store.content().open(&info.digest),
        Err(StoreError::BlobNotFound(_))
    ));
    store.content().delete(&info.digest).unwrap();
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn mismatching_content_is_never_stored() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let lease = store.lease();
    let claimed = Digest::of_bytes(b"what the manifest says");
    let err = store
        .content()
        .put_verified(&lease, &claimed, &b"what arrived"[..])
        .unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(claimed.as_str()));
    let err = store
        .content()
        .put_checked(
            &lease,
            &b"abc"[..],
            Some(&Digest::of_bytes(b"abc")),
            Some(4),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::SizeMismatch { .. }), "{err}");
    assert!(store.content().list().unwrap().is_empty());
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn dropped_writer_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    {
        use std::io::Write;
        let mut writer = store.content().writer().unwrap();
        writer.write_all(b"half a blob").unwrap();
        assert_eq!(writer.written(), 11);
    }
    assert!(store.content().list().unwrap().is_empty());
    assert!(tree(&root.path().join("tmp")).is_empty());
}

#[test]
fn read_verified_detects_tampering() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path()).unwrap();
    let lease = store.lease();
    let info = store.content().put_bytes(&lease, b"{\"a\":1}").unwrap();
    assert_eq!(
        store.content().read_verified(&info.digest).unwrap(),
        b"{\"a\":1}"
    );
    std::fs::write(store.content().path(&info.digest), b"{\"a\":2}").unwrap();
    assert!(matches!(
        store.content().read_verified(&info.digest),
        Err(StoreError::DigestMismatch { .. })
    ));
}
