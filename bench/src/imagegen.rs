//! Deterministic test images written as `docker save` archives (the legacy layout docker
//! 20.10 writes: `<id>/layer.tar` uncompressed, `<config digest>.json`, `manifest.json`,
//! `repositories`), so both berthd and dockerd load exactly the same bytes:
//!
//! - `big.tar`: `bench/big:latest`, 5 layers of 40 MB of incompressible pseudo-random file
//!   data each (200 MB), in files of many sizes (most small, most bytes in large ones);
//! - `many.tar`: `bench/img:0` .. `bench/img:499`, 500 images whose configs differ only by
//!   a label (so 500 image IDs) and which share one small layer, stored once.
//!
//! The same seed gives the same bytes on every run and machine.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tar::{Builder, EntryType, Header};

pub const BIG_REPO: &str = "bench/big";
pub const BIG_TAG: &str = "latest";
pub const BIG_LAYERS: usize = 5;
/// File bytes per layer of the big image (decimal MB, as docker prints sizes).
pub const BIG_LAYER_FILE_BYTES: u64 = 40_000_000;
pub const MANY_REPO: &str = "bench/img";
pub const MANY_COUNT: usize = 500;

/// All entries get this modification time, so layers hash the same on every run.
const MTIME: u64 = 1_700_000_000;
const CREATED: &str = "2023-11-14T22:13:20Z";
const DIRS_PER_LAYER: usize = 16;

pub struct BigImage {
    pub path: PathBuf,
    pub reference: String,
    /// `sha256:<hex>` of the config, which is the image ID.
    pub id: String,
    pub files: usize,
    pub file_bytes: u64,
    /// Sum of the uncompressed layer tars: what a load hashes and unpacks.
    pub layer_bytes: u64,
    pub tar_bytes: u64,
}

pub struct ManyImages {
    pub path: PathBuf,
    pub count: usize,
    /// Image ID of `bench/img:0`.
    pub first_id: String,
    pub tar_bytes: u64,
}

pub struct Generated {
    pub big: BigImage,
    pub many: ManyImages,
    pub took: Duration,
}

/// Writes `big.tar` and `many.tar` into `dir`.
pub fn generate(dir: &Path) -> Result<Generated, String> {
    let started = Instant::now();
    let big = big_image(dir).map_err(|e| format!("generating the 200 MB image: {e}"))?;
    let many = many_images(dir).map_err(|e| format!("generating the 500 images: {e}"))?;
    Ok(Generated {
        big,
        many,
        took: started.elapsed(),
    })
}

/// Writes only `big.tar` into `dir` (the registry figures need no more).
pub fn generate_big(dir: &Path) -> Result<BigImage, String> {
    big_image(dir).map_err(|e| format!("generating the 200 MB image: {e}"))
}

fn big_image(dir: &Path) -> io::Result<BigImage> {
    let path = dir.join("big.tar");
    let mut archive = Builder::new(BufWriter::with_capacity(1 << 20, File::create(&path)?));
    let mut diff_ids = Vec::new();
    let mut layer_paths = Vec::new();
    let mut parent: Option<String> = None;
    let (mut files, mut file_bytes, mut layer_bytes) = (0, 0, 0);
    for layer in 1..=BIG_LAYERS {
        let scratch = dir.join(format!("layer{layer}.tar"));
        let (diff_id, size, stats) = write_layer(&scratch, |b| big_layer_entries(b, layer))?;
        files += stats.files;
        file_bytes += stats.file_bytes;
        layer_bytes += size;
        let v1_id = sha256_hex(format!("{} {diff_id}", parent.as_deref().unwrap_or("")));
        append_layer_dir(&mut archive, &v1_id, parent.as_deref(), &scratch, size)?;
        std::fs::remove_file(&scratch)?;
        layer_paths.push(format!("{v1_id}/layer.tar"));
        diff_ids.push(diff_id);
        parent = Some(v1_id);
    }
    let history: Vec<Value> = (1..=BIG_LAYERS)
        .map(|n| json!({"created": CREATED, "created_by": format!("berth-bench: layer {n} of {BIG_LAYERS}, 40 MB of random files")}))
        .collect();
    let config = image_config(&diff_ids, history, json!({"org.berth.bench": "big"}));
    let id = sha256_hex(&config);
    append_bytes(&mut archive, &format!("{id}.json"), &config)?;
    let reference = format!("{BIG_REPO}:{BIG_TAG}");
    let manifest =
        json!([{"Config": format!("{id}.json"), "RepoTags": [reference], "Layers": layer_paths}]);
    append_bytes(&mut archive, "manifest.json", &to_json(&manifest))?;
    let top = parent.unwrap_or_default();
    let repositories = json!({ BIG_REPO: { BIG_TAG: top } });
    append_bytes(&mut archive, "repositories", &to_json(&repositories))?;
    archive.into_inner()?.flush()?;
    Ok(BigImage {
        tar_bytes: std::fs::metadata(&path)?.len(),
        path,
        reference,
        id: format!("sha256:{id}"),
        files,
        file_bytes,
        layer_bytes,
    })
}

fn many_images(dir: &Path) -> io::Result<ManyImages> {
    let path = dir.join("many.tar");
    let mut archive = Builder::new(BufWriter::with_capacity(1 << 20, File::create(&path)?));
    let scratch = dir.join("shared-layer.tar");
    let (diff_id, size, _) = write_layer(&scratch, shared_layer_entries)?;
    let v1_id = sha256_hex(format!("shared {diff_id}"));
    append_layer_dir(&mut archive, &v1_id, None, &scratch, size)?;
    std::fs::remove_file(&scratch)?;
    let mut manifest = Vec::with_capacity(MANY_COUNT);
    let mut tags = serde_json::Map::new();
    let mut first_id = String::new();
    for n in 0..MANY_COUNT {
        let history = vec![json!({"created": CREATED, "created_by": "berth-bench: shared layer"})];
        let labels = json!({"org.berth.bench": "many", "org.berth.bench.index": n.to_string()});
        let config = image_config(std::slice::from_ref(&diff_id), history, labels);
        let id = sha256_hex(&config);
        if n == 0 {
            first_id = format!("sha256:{id}");
        }
        append_bytes(&mut archive, &format!("{id}.json"), &config)?;
        manifest.push(json!({
            "Config": format!("{id}.json"),
            "RepoTags": [format!("{MANY_REPO}:{n}")],
            "Layers": [format!("{v1_id}/layer.tar")],
        }));
        tags.insert(n.to_string(), Value::String(v1_id.clone()));
    }
    append_bytes(
        &mut archive,
        "manifest.json",
        &to_json(&Value::Array(manifest)),
    )?;
    let repositories = json!({ MANY_REPO: tags });
    append_bytes(&mut archive, "repositories", &to_json(&repositories))?;
    archive.into_inner()?.flush()?;
    Ok(ManyImages {
        tar_bytes: std::fs::metadata(&path)?.len(),
        path,
        count: MANY_COUNT,
        first_id,
    })
}

/// An image config as docker writes it, with the layers' `diff_ids`.
fn image_config(diff_ids: &[String], history: Vec<Value>, labels: Value) -> Vec<u8> {
    let diff_ids: Vec<String> = diff_ids.iter().map(|d| format!("sha256:{d}")).collect();
    to_json(&json!({
        "architecture": go_arch(),
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Labels": labels,
        },
        "created": CREATED,
        "history": history,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn to_json(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail: its map keys are strings.
    serde_json::to_vec(value).unwrap_or_default()
}

fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    format!("{:x}", Sha256::digest(data.as_ref()))
}

#[derive(Default)]
struct LayerStats {
    files: usize,
    file_bytes: u64,
}

type LayerBuilder = Builder<HashingWriter<BufWriter<File>>>;

/// Writes one uncompressed layer tar to `path`; returns its diff ID (hex), size and what
/// it holds.
fn write_layer(
    path: &Path,
    entries: impl FnOnce(&mut LayerBuilder) -> io::Result<LayerStats>,
) -> io::Result<(String, u64, LayerStats)> {
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut builder = Builder::new(HashingWriter::new(file));
    let stats = entries(&mut builder)?;
    let mut writer = builder.into_inner()?;
    writer.flush()?;
    Ok((
        format!("{:x}", writer.hasher.finalize()),
        writer.bytes,
        stats,
    ))
}

/// Layer N of the big image: `bench/layerN/dXX/fNNNNN.bin` files spread over 16 folders,
/// sizes drawn from four classes (70% up to 16 KiB, 25% up to 128 KiB, 4.5% up to 1 MiB,
/// 0.5% up to 16 MiB) until the layer holds exactly 40 MB, and one symlink.
fn big_layer_entries(b: &mut LayerBuilder, layer: usize) -> io::Result<LayerStats> {
    let mut sizes = Rng::new(0xB16_0000 + layer as u64);
    let root = format!("bench/layer{layer}");
    append_dir(b, "bench")?;
    append_dir(b, &root)?;
    for d in 0..DIRS_PER_LAYER {
        append_dir(b, &format!("{root}/d{d:02}"))?;
    }
    let mut stats = LayerStats::default();
    while stats.file_bytes < BIG_LAYER_FILE_BYTES {
        let class = sizes.below(1000);
        let (low, high) = match class {
            0..=699 => (1, 16 << 10),
            700..=949 => (16 << 10, 128 << 10),
            950..=994 => (128 << 10, 1 << 20),
            _ => (1 << 20, 16 << 20),
        };
        let size = (low + sizes.below(high - low + 1)).min(BIG_LAYER_FILE_BYTES - stats.file_bytes);
        let n = stats.files;
        let name = format!("{root}/d{:02}/f{n:05}.bin", n % DIRS_PER_LAYER);
        let mode = if n % 7 == 0 { 0o755 } else { 0o644 };
        let seed = ((layer as u64) << 32) | n as u64;
        append_file(b, &name, mode, size, RandomData::new(seed, size))?;
        stats.files += 1;
        stats.file_bytes += size;
    }
    let mut link = header(EntryType::Symlink, 0o777, 0);
    b.append_link(&mut link, format!("{root}/first"), "d00/f00000.bin")?;
    Ok(stats)
}

/// The layer the 500 images share: a few small files.
fn shared_layer_entries(b: &mut LayerBuilder) -> io::Result<LayerStats> {
    append_dir(b, "bench")?;
    append_dir(b, "bench/shared")?;
    let mut stats = LayerStats::default();
    for n in 0..8u64 {
        let size = 512 + n * 1000;
        let data = RandomData::new(0x5EED_0000 + n, size);
        append_file(b, &format!("bench/shared/f{n}.bin"), 0o644, size, data)?;
        stats.files += 1;
        stats.file_bytes += size;
    }
    Ok(stats)
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}

fn append_dir<W: Write>(b: &mut Builder<W>, path: &str) -> io::Result<()> {
    let mut h = header(EntryType::Directory, 0o755, 0);
    b.append_data(&mut h, path, io::empty())
}

fn append_file<W: Write>(
    b: &mut Builder<W>,
    path: &str,
    mode: u32,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut h = header(EntryType::Regular, mode, size);
    b.append_data(&mut h, path, data)
}

fn append_bytes<W: Write>(b: &mut Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    append_file(b, path, 0o644, data.len() as u64, data)
}

/// `<v1 id>/` with `VERSION`, `json` and `layer.tar`, as docker save lays out a layer.
fn append_layer_dir<W: Write>(
    b: &mut Builder<W>,
    v1_id: &str,
    parent: Option<&str>,
    layer: &Path,
    size: u64,
) -> io::Result<()> {
    append_dir(b, v1_id)?;
    append_bytes(b, &format!("{v1_id}/VERSION"), b"1.0")?;
    let mut v1 = json!({"id": v1_id, "created": CREATED, "os": "linux"});
    if let Some(parent) = parent {
        v1["parent"] = Value::String(parent.to_string());
    }
    append_bytes(b, &format!("{v1_id}/json"), &to_json(&v1))?;
    append_file(
        b,
        &format!("{v1_id}/layer.tar"),
        0o644,
        size,
        File::open(layer)?,
    )
}

/// Counts and hashes what passes through, for diff IDs.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SplitMix64: small, fast, and its output does not compress.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for picking sizes.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const BLOCK: usize = 64 << 10;

/// `len` pseudo-random bytes from `seed`, generated a block at a time so the stream is the
/// same whatever sizes it is read in.
struct RandomData {
    rng: Rng,
    remaining: u64,
    block: Vec<u8>,
    pos: usize,
}

impl RandomData {
    fn new(seed: u64, len: u64) -> RandomData {
        RandomData {
            rng: Rng::new(seed),
            remaining: len,
            block: vec![0; BLOCK],
            pos: BLOCK,
        }
    }
}

impl Read for RandomData {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        if self.pos == BLOCK {
            for word in self.block.chunks_exact_mut(8) {
                word.copy_from_slice(&self.rng.next().to_le_bytes());
            }
            self.pos = 0;
        }
        let n = buf
            .len()
            .min(BLOCK - self.pos)
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut r: impl Read, chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn random_data_ignores_read_sizes() {
        let a = read_all(RandomData::new(7, 200_000), 3);
        let b = read_all(RandomData::new(7, 200_000), 65_537);
        assert_eq!(a.len(), 200_000);
        assert_eq!(a, b);
        assert_ne!(a, read_all(RandomData::new(8, 200_000), 4096));
    }

    #[test]
    fn shared_layer_is_reproducible() {
        let dir = crate::tempdir::TempDir::new("berth-bench-gen-test").unwrap();
        let (first, size, stats) = write_layer(&dir.join("a.tar"), shared_layer_entries).unwrap();
        let (second, _, _) = write_layer(&dir.join("b.tar"), shared_layer_entries).unwrap();
        assert_eq!(first, second);
        assert_eq!(size, std::fs::metadata(dir.join("a.tar")).unwrap().len());
        assert_eq!(first, sha256_hex(std::fs::read(dir.join("a.tar")).unwrap()));
        assert_eq!(stats.files, 8);
    }
}
