//! The container process: argv (with `--init`), environment, working directory, user,
//! capabilities, rlimits, no-new-privileges, OOM score.

use std::path::PathBuf;

use oci_spec::runtime::{
    BoxBuilder, Capability, LinuxCapabilitiesBuilder, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType, Process, ProcessBuilder, UserBuilder,
};

use super::host::RLIMITS;
use super::{ContainerConfig, HostInfo, NsMode, SecurityOptions, DEFAULT_PATH_ENV, INIT_PATH};
use crate::caps::{self, CapRequest};
use crate::error::SpecError;
use crate::user;

/// The environment dockerd gives a container: `PATH`, `HOSTNAME` and (with a TTY)
/// `TERM=xterm` first, then `env`, where `KEY=value` replaces a default in place and a
/// bare `KEY` removes it.
pub fn docker_env(hostname: &str, tty: bool, env: &[String]) -> Vec<String> {
    let mut out = vec![
        format!("PATH={DEFAULT_PATH_ENV}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        out.push("TERM=xterm".into());
    }
    for entry in env {
        let key = entry.split_once('=').map(|(k, _)| k).unwrap_or(entry);
        let pos = out
            .iter()
            .position(|e| e.split_once('=').map(|(k, _)| k).unwrap_or(e) == key);
        match (pos, entry.contains('=')) {
            (Some(i), true) => out[i] = entry.clone(),
            (Some(i), false) => {
                out.remove(i);
            }
            (None, _) => out.push(entry.clone()),
        }
    }
    out
}

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "cpu" => RlimitCpu,
        "fsize" => RlimitFsize,
        "data" => RlimitData,
        "stack" => RlimitStack,
        "core" => RlimitCore,
        "rss" => RlimitRss,
        "nproc" => RlimitNproc,
        "nofile" => RlimitNofile,
        "memlock" => RlimitMemlock,
        "as" => RlimitAs,
        "locks" => RlimitLocks,
        "sigpending" => RlimitSigpending,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        _ => return None,
    })
}

fn as_rlim(v: i64) -> u64 {
    if v < 0 {
        u64::MAX
    } else {
        v as u64
    }
}

/// `--ulimit`s as OCI rlimits, clamped to the daemon's own hard limits (an unprivileged
/// process cannot raise a hard limit, and without CAP_SYS_RESOURCE neither can root).
pub(super) fn rlimits(
    config: &ContainerConfig,
    host: &HostInfo,
) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out = Vec::new();
    for ul in &config.ulimits {
        let name = ul.name.to_ascii_lowercase();
        let name = name.strip_prefix("rlimit_").unwrap_or(&name);
        let typ = rlimit_type(name)
            .ok_or_else(|| SpecError::Invalid(format!("invalid ulimit type: {}", ul.name)))?;
        let (soft, hard) = (as_rlim(ul.soft), as_rlim(ul.hard));
        if soft > hard {
            return Err(SpecError::Invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                ul.soft, ul.hard
            )));
        }
        let resource = RLIMITS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .unwrap_or(-1);
        let max = host.hard_limit(resource);
        let hard = hard.min(max);
        let soft = soft.min(hard);
        out.retain(|r: &PosixRlimit| r.typ() != typ);
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(soft)
                .hard(hard)
                .build()?,
        );
    }
    Ok(out)
}

/// Bounding = effective = permitted set of the container.
pub(super) fn capability_set(
    config: &ContainerConfig,
    host: &HostInfo,
) -> Result<Vec<Capability>, SpecError> {
    caps::tweak(
        &CapRequest {
            add: &config.cap_add,
            drop: &config.cap_drop,
            privileged: config.privileged,
        },
        &host.capabilities,
    )
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .map(|s| s.trim() == "Y")
        .unwrap_or(false)
}

pub(super) fn build(
    config: &ContainerConfig,
    host: &HostInfo,
    security: &SecurityOptions,
    caps: &[Capability],
) -> Result<Process, SpecError> {
    let resolved = user::resolve(&config.rootfs, &config.user, &config.group_add)?;

    let mut args = Vec::with_capacity(config.args.len() + 2);
    if config.init_binary.is_some() && config.pid == NsMode::Private {
        args.push(INIT_PATH.to_string());
        args.push("--".to_string());
    }
    args.extend(config.args.iter().cloned());

    let mut env = docker_env(&config.effective_hostname(), config.tty, &config.env);
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", resolved.home));
    }

    let cwd = if config.working_dir.is_empty() {
        "/".to_string()
    } else {
        config.working_dir.clone()
    };

    let set: oci_spec::runtime::Capabilities = caps.iter().copied().collect();
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .build()?;
    // oci-spec's defaults fill these; Docker leaves them empty.
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);

    let mut b = ProcessBuilder::default()
        .terminal(config.tty)
        .user(
            UserBuilder::default()
                .uid(resolved.uid)
                .gid(resolved.gid)
                .additional_gids(resolved.additional_gids.clone())
                .build()?,
        )
        .args(args)
        .env(env)
        .cwd(PathBuf::from(cwd))
        .capabilities(capabilities)
        .oom_score_adj(config.oom_score_adj);
    let limits = rlimits(config, host)?;
    if let (Some((h, w)), true) = (config.console_size, config.tty) {
        b = b.console_size(
            BoxBuilder::default()
                .height(h as u64)
                .width(w as u64)
                .build()?,
        );
    }
    if let Some(profile) = &security.apparmor {
        if profile != "unconfined" && apparmor_enabled() {
            b = b.apparmor_profile(profile.clone());
        }
    }
    let mut process = b.build()?;
    // The builder starts from oci-spec's defaults (nofile 1024, NNP on): reset both.
    process.set_rlimits(if limits.is_empty() {
        None
    } else {
        Some(limits)
    });
    // Only ever `Some(true)`: libcontainer loads seccomp late (after dropping
    // capabilities) whenever the field is present, which needs NNP to be on.
    process.set_no_new_privileges(security.no_new_privileges.then_some(true));
    Ok(process)
}
