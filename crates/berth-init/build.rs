//! Links `berth-init` statically (static-pie against glibc's archives), because it is
//! bind-mounted into arbitrary images that may have no libc at all.
//!
//! Cargo cannot set `-C target-feature=+crt-static` for one binary only, and the
//! standard library asks the linker for shared libraries (`-Bdynamic -lgcc_s -lc ...`).
//! We put tiny linker scripts named like those shared libraries first on the search
//! path, each pointing at the static archive (`libc.so` → `INPUT(.../libc.a)`), and ask
//! for a static PIE. If an archive is missing, the binary stays dynamic (with a warning).

use std::path::PathBuf;
use std::process::Command;

/// (library the linker is asked for, static archive that provides it)
const LIBS: &[(&str, &str)] = &[
    ("gcc_s", "libgcc_eh.a"),
    ("c", "libc.a"),
    ("m", "libm.a"),
    ("rt", "librt.a"),
    ("pthread", "libpthread.a"),
    ("dl", "libdl.a"),
    ("util", "libutil.a"),
];

fn archive(cc: &str, name: &str) -> Option<PathBuf> {
    let out = Command::new(cc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // cc echoes the bare name back when it does not find the file.
    (path.is_absolute() && path.exists()).then_some(path)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.contains("linux-gnu") {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut scripts = Vec::new();
    for (lib, file) in LIBS {
        match archive(&cc, file) {
            Some(path) => scripts.push((lib, path)),
            None => {
                println!("cargo:warning=berth-init: {file} not found, building a dynamic binary");
                return;
            }
        }
    }
    let dir = out.join("static-libs");
    std::fs::create_dir_all(&dir).expect("create static-libs dir");
    for (lib, path) in scripts {
        std::fs::write(
            dir.join(format!("lib{lib}.so")),
            format!("INPUT({})\n", path.display()),
        )
        .expect("write linker script");
    }
    // As link arguments of the binary only: tests must keep linking normally. The
    // linker collects every -L before resolving -l, and -L dirs come before the
    // system's, so the scripts win even though they are passed last.
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bins=-static-pie");
}
