//! What this build is: the version both binaries report.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("BERTH_GIT_COMMIT");
/// Commit date (RFC 3339) of the build; empty outside a git checkout.
pub const BUILD_TIME: &str = env!("BERTH_BUILD_TIME");
/// Where docker reports its Go version, Berth reports the Rust compiler's.
pub const RUSTC_VERSION: &str = env!("BERTH_RUSTC_VERSION");

/// The architecture in Go's naming, which every Docker client expects (`amd64`, not `x86_64`).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
