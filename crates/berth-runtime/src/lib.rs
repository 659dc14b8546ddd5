//! Berth's container runtime library: everything the engine needs to turn a Docker
//! container configuration into something `berth-shim` can run, with Docker's defaults.
//!
//! - [`spec`]: [`spec::ContainerConfig`] → OCI runtime spec ([`spec::build`]), with
//!   Docker's mounts, capabilities, masked/read-only paths, devices, namespaces, rlimits,
//!   sysctls and cgroup resources; bundle writing.
//! - [`seccomp`]: Docker's default seccomp profile as data, user profiles in Docker's JSON
//!   format, and their expansion for a given arch, capability set and kernel.
//! - [`caps`]: the default capability set, `--cap-add/--cap-drop`, host capabilities.
//! - [`user`]: `user[:group]` and `--group-add` against the image's passwd/group files.
//!
//! The OCI types are those of the `oci-spec` crate that libcontainer uses; it is
//! re-exported as [`oci_spec`] so callers use the same version.

pub mod caps;
pub mod error;
pub mod scoped;
pub mod seccomp;
pub mod spec;
pub mod user;

pub use error::SpecError;
pub use oci_spec;
