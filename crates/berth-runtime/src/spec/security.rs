//! `--security-opt` parsing and the seccomp filter choice (moby `parseSecurityOpt`,
//! `WithSeccomp`).

use oci_spec::runtime::{Capability, LinuxSeccomp};

use super::{ContainerConfig, HostInfo};
use crate::error::SpecError;
use crate::seccomp::{Profile, Target};

/// Which seccomp filter a container gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeccompChoice {
    /// Docker's default profile (`seccomp=builtin` or nothing).
    #[default]
    Default,
    /// No filter (`seccomp=unconfined`).
    Unconfined,
    /// A profile in Docker's JSON format (the CLI sends the file's content).
    Profile(String),
}

/// Parsed `--security-opt` values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    pub seccomp: SeccompChoice,
    pub no_new_privileges: bool,
    pub apparmor: Option<String>,
    /// SELinux `label=` options (recorded, not applied: no SELinux support).
    pub labels: Vec<String>,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub unconfined_system_paths: bool,
    /// `writable-cgroups=BOOL`; None means "as privileged".
    pub writable_cgroups: Option<bool>,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

impl SecurityOptions {
    /// Parses `--security-opt` entries with dockerd's errors
    /// (`invalid --security-opt 1: "..."`).
    pub fn parse(opts: &[String]) -> Result<Self, SpecError> {
        let mut out = SecurityOptions::default();
        for opt in opts {
            if opt == "no-new-privileges" {
                out.no_new_privileges = true;
                continue;
            }
            if opt == "disable" {
                out.labels.push("disable".into());
                continue;
            }
            let split = if opt.contains('=') {
                opt.split_once('=')
            } else {
                opt.split_once(':')
            };
            let Some((key, value)) = split else {
                return Err(SpecError::Invalid(format!(
                    "invalid --security-opt 1: \"{opt}\""
                )));
            };
            let bad2 = || SpecError::Invalid(format!("invalid --security-opt 2: \"{opt}\""));
            match key {
                "label" => out.labels.push(value.to_string()),
                "apparmor" => out.apparmor = Some(value.to_string()),
                "seccomp" => {
                    out.seccomp = match value {
                        "unconfined" => SeccompChoice::Unconfined,
                        "builtin" | "" => SeccompChoice::Default,
                        json => SeccompChoice::Profile(json.to_string()),
                    }
                }
                "no-new-privileges" => {
                    out.no_new_privileges = parse_bool(value).ok_or_else(bad2)?
                }
                "writable-cgroups" => {
                    out.writable_cgroups = Some(parse_bool(value).ok_or_else(bad2)?)
                }
                "systempaths" if value == "unconfined" => out.unconfined_system_paths = true,
                _ => return Err(bad2()),
            }
        }
        Ok(out)
    }
}

/// The seccomp filter of a container with bounding set `caps`, or None.
pub(super) fn seccomp_filter(
    config: &ContainerConfig,
    host: &HostInfo,
    security: &SecurityOptions,
    caps: &[Capability],
) -> Result<Option<LinuxSeccomp>, SpecError> {
    if security.seccomp == SeccompChoice::Unconfined || config.privileged {
        return Ok(None);
    }
    if !host.seccomp {
        if let SeccompChoice::Profile(_) = security.seccomp {
            return Err(SpecError::Invalid(
                "seccomp is not enabled in your kernel, cannot run a custom seccomp profile".into(),
            ));
        }
        return Ok(None);
    }
    let target = Target {
        arch: host.arch.clone(),
        caps: caps.to_vec(),
        kernel: host.kernel,
    };
    let profile = match &security.seccomp {
        SeccompChoice::Profile(json) => Profile::from_json(json)?,
        _ => Profile::docker_default(),
    };
    Ok(profile.resolve(&target)?)
}
