//! `berth-shim`: the per-container supervisor of Berth (DESIGN.md section 2).
//!
//! The binary creates and starts one container through youki's libcontainer, owns its
//! stdio and json-file log, records its exit, and serves a control socket. This library
//! half holds what callers need without linking libcontainer (build with
//! `default-features = false`): the command line ([`options`]), the wire protocol and
//! state files ([`protocol`]), and a blocking [`client`].

pub mod client;
pub mod options;
pub mod protocol;

pub use client::{launch, read_exit_file, Client, ClientError};
pub use options::{ShimOptions, SyslogAddress, SyslogFormat, SyslogOptions};
pub use protocol::{
    ExecRequest, ExecState, ExitStatus, FailureKind, LaunchResult, Request, Response, State, Status,
};
