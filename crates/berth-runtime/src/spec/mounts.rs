//! Mounts: Docker's default filesystems, `--init`, user binds/volumes/tmpfs, the
//! network files, and the `--read-only`/`--privileged` adjustments (moby `withMounts`).

use std::path::PathBuf;

use oci_spec::runtime::{Mount, MountBuilder};

use super::{ContainerConfig, MountPoint, DEFAULT_SHM_SIZE, INIT_PATH};
use crate::error::SpecError;

/// What a user mount is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountKind {
    #[default]
    Bind,
    /// A named or anonymous volume: a bind of its `_data` directory.
    Volume,
    Tmpfs,
}

fn opts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mount(dest: &str, typ: &str, source: &str, options: Vec<String>) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(PathBuf::from(dest))
        .typ(typ.to_string())
        .source(PathBuf::from(source))
        .options(options)
        .build()?)
}

/// Docker's default mounts, in Docker's order.
fn defaults(shm_size: i64) -> Result<Vec<Mount>, SpecError> {
    let shm = if shm_size > 0 {
        shm_size
    } else {
        DEFAULT_SHM_SIZE
    };
    Ok(vec![
        mount(
            "/proc",
            "proc",
            "proc",
            opts(&["nosuid", "noexec", "nodev"]),
        )?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            opts(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ]),
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            opts(&["nosuid", "noexec", "nodev", "ro"]),
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            opts(&["ro", "nosuid", "noexec", "nodev"]),
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            opts(&["nosuid", "noexec", "nodev"]),
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            vec![
                "nosuid".into(),
                "noexec".into(),
                "nodev".into(),
                "mode=1777".into(),
                format!("size={shm}"),
            ],
        )?,
    ])
}

/// Mount flags that cancel each other, and the propagation modes (only one may stay).
const FLAG_GROUPS: &[&[&str]] = &[
    &["ro", "rw"],
    &["exec", "noexec"],
    &["suid", "nosuid"],
    &["dev", "nodev"],
    &["sync", "async"],
    &["atime", "noatime"],
    &["diratime", "nodiratime"],
    &["relatime", "norelatime"],
    &["strictatime", "nostrictatime"],
    &["mand", "nomand"],
    &["dirsync"],
    &[
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
    ],
];
const TMPFS_DATA_KEYS: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// Merges tmpfs options so that later ones win (`noexec` then `exec` gives `exec`), like
/// moby's `MergeTmpfsOptions`.
pub fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    let mut seen_groups: Vec<usize> = Vec::new();
    let mut seen_keys: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" {
            continue;
        }
        if let Some(g) = FLAG_GROUPS
            .iter()
            .position(|g| g.contains(&option.as_str()))
        {
            if !seen_groups.contains(&g) {
                seen_groups.push(g);
                out.push(option.clone());
            }
            continue;
        }
        match option.split_once('=') {
            Some((k, _)) if TMPFS_DATA_KEYS.contains(&k) => {
                if !seen_keys.iter().any(|s| s == k) {
                    seen_keys.push(k.to_string());
                    out.push(option.clone());
                }
            }
            _ => {
                return Err(SpecError::Invalid(format!(
                    "invalid tmpfs option [\"{}\"]",
                    option.replace('=', "\" \"")
                )))
            }
        }
    }
    out.reverse();
    Ok(out)
}

fn depth(dest: &str) -> usize {
    dest.split('/').filter(|p| !p.is_empty()).count()
}

fn user_mount(m: &MountPoint) -> Result<Mount, SpecError> {
    if m.kind == MountKind::Tmpfs {
        let mut options = opts(&["noexec", "nosuid", "nodev", "rprivate"]);
        if let Some(data) = &m.tmpfs_options {
            options.extend(data.split(',').filter(|s| !s.is_empty()).map(String::from));
        }
        if m.read_only {
            options.push("ro".into());
        }
        return mount(
            &m.destination,
            "tmpfs",
            "tmpfs",
            merge_tmpfs_options(&options)?,
        );
    }
    let mut options = vec![if m.non_recursive { "bind" } else { "rbind" }.to_string()];
    if m.read_only {
        options.push("ro".into());
    }
    options.push(m.propagation.clone().unwrap_or_else(|| "rprivate".into()));
    Ok(MountBuilder::default()
        .destination(PathBuf::from(&m.destination))
        .typ("bind".to_string())
        .source(m.source.clone())
        .options(options)
        .build()?)
}

/// The container's mount list and, when a volume needs it, the rootfs propagation.
/// `writable_cgroups` (default: privileged) drops `ro` from the cgroup mount.
pub(super) fn build(
    config: &ContainerConfig,
    writable_cgroups: bool,
) -> Result<(Vec<Mount>, Option<String>), SpecError> {
    // User-supplied mounts, plus the network files and a shared /dev/shm, unless the
    // user mounted something at the same place.
    let mut users: Vec<MountPoint> = config.mounts.clone();
    let net_files = [
        (&config.resolv_conf_path, "/etc/resolv.conf"),
        (&config.hostname_path, "/etc/hostname"),
        (&config.hosts_path, "/etc/hosts"),
    ];
    for (src, dest) in net_files {
        if let Some(src) = src {
            if !users.iter().any(|m| m.destination == dest) {
                users.push(MountPoint::bind(src.clone(), dest, config.readonly_rootfs));
            }
        }
    }
    if let Some(shm) = &config.shm_path {
        if !config.ipc_none && !users.iter().any(|m| m.destination == "/dev/shm") {
            users.push(MountPoint::bind(shm.clone(), "/dev/shm", false));
        }
    }
    for m in &users {
        if !m.destination.starts_with('/') {
            return Err(SpecError::Invalid(format!(
                "invalid mount config: mount path must be absolute: {}",
                m.destination
            )));
        }
    }
    users.sort_by_key(|m| depth(&m.destination));
    let is_user = |dest: &str| {
        users
            .iter()
            .any(|m| m.destination.trim_end_matches('/') == dest)
    };
    let dev_mounted = is_user("/dev");

    let mut base = defaults(config.shm_size)?;
    if let Some(init) = &config.init_binary {
        if config.pid == super::NsMode::Private {
            base.push(
                MountBuilder::default()
                    .destination(PathBuf::from(INIT_PATH))
                    .typ("bind".to_string())
                    .source(init.clone())
                    .options(opts(&["bind", "ro"]))
                    .build()?,
            );
        }
    }
    let mut mounts: Vec<Mount> = Vec::new();
    for m in base {
        let dest = m.destination().to_string_lossy().to_string();
        if is_user(&dest) || (dev_mounted && dest.starts_with("/dev/")) {
            continue;
        }
        if dest == "/dev/shm" && config.ipc_none {
            continue;
        }
        mounts.push(m);
    }

    let mut propagation: Option<String> = None;
    for m in &users {
        match m.propagation.as_deref() {
            Some("shared") | Some("rshared") => propagation = Some("shared".into()),
            Some("slave") | Some("rslave") if propagation.is_none() => {
                propagation = Some("rslave".into())
            }
            _ => {}
        }
        mounts.push(user_mount(m)?);
    }

    if config.readonly_rootfs {
        for m in mounts.iter_mut() {
            let dest = m.destination().to_string_lossy().to_string();
            if matches!(
                dest.as_str(),
                "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
            ) || is_user(&dest)
            {
                continue;
            }
            let mut o = m.options().clone().unwrap_or_default();
            if !o.iter().any(|x| x == "ro") {
                o.push("ro".into());
                m.set_options(Some(o));
            }
        }
    }

    if config.privileged || writable_cgroups {
        for m in mounts.iter_mut() {
            let writable = (config.privileged && m.destination() == std::path::Path::new("/sys"))
                || (writable_cgroups && m.typ().as_deref() == Some("cgroup"));
            if writable {
                let o: Vec<String> = m
                    .options()
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|x| x != "ro")
                    .collect();
                m.set_options(Some(o));
            }
        }
    }
    Ok((mounts, propagation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn tmpfs_merge_keeps_the_last_word() {
        let merged = merge_tmpfs_options(&s(&[
            "noexec",
            "nosuid",
            "nodev",
            "rprivate",
            "exec",
            "size=64m",
            "size=1g",
            "mode=1777",
        ]))
        .unwrap();
        assert_eq!(
            merged,
            s(&[
                "nosuid",
                "nodev",
                "rprivate",
                "exec",
                "size=1g",
                "mode=1777"
            ])
        );
        assert!(merge_tmpfs_options(&s(&["bogus=1"])).is_err());
        assert!(merge_tmpfs_options(&s(&["defaults", "ro"])).unwrap() == s(&["ro"]));
    }
}
