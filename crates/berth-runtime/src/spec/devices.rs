//! Device nodes and the device cgroup allowlist.
//!
//! Unprivileged containers get the runtime's default nodes (null, zero, full, random,
//! urandom, tty, console, ptmx → pts/ptmx, which libcontainer creates itself), plus
//! `--device` mappings; the cgroup denies everything but Docker's list. Privileged
//! containers get every device node of the host and an allow-all rule.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use super::ContainerConfig;
use crate::error::SpecError;

/// A rule of the device cgroup: (allow, type, major, minor, access).
type Rule = (
    bool,
    Option<LinuxDeviceType>,
    Option<i64>,
    Option<i64>,
    &'static str,
);

/// Docker's default device cgroup rules: deny all, then allow zero, null, urandom,
/// random, tty, console; and explicitly deny fuse (10:229). libcontainer appends full,
/// ptmx, pts, tun and the generic mknod rights on its own.
const DOCKER_DEVICE_RULES: &[Rule] = &[
    (false, None, None, None, "rwm"),
    (true, Some(LinuxDeviceType::C), Some(1), Some(5), "rwm"),
    (true, Some(LinuxDeviceType::C), Some(1), Some(3), "rwm"),
    (true, Some(LinuxDeviceType::C), Some(1), Some(9), "rwm"),
    (true, Some(LinuxDeviceType::C), Some(1), Some(8), "rwm"),
    (true, Some(LinuxDeviceType::C), Some(5), Some(0), "rwm"),
    (true, Some(LinuxDeviceType::C), Some(5), Some(1), "rwm"),
    (false, Some(LinuxDeviceType::C), Some(10), Some(229), "rwm"),
];

fn rule(r: &Rule) -> Result<LinuxDeviceCgroup, SpecError> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(r.0)
        .access(r.4.to_string());
    if let Some(t) = r.1 {
        b = b.typ(t);
    }
    if let Some(m) = r.2 {
        b = b.major(m);
    }
    if let Some(m) = r.3 {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

/// Directories of /dev that hold no device to copy (or that the runtime mounts itself).
const SKIP_DIRS: &[&str] = &["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
/// Nodes the runtime provides itself.
const SKIP_FILES: &[&str] = &["console", "ptmx"];

/// Major/minor of a `st_rdev` (glibc's encoding).
fn major_minor(rdev: u64) -> (i64, i64) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & 0xffff_f000);
    let minor = (rdev & 0xff) | ((rdev >> 12) & 0xffff_ff00);
    (major as i64, minor as i64)
}

/// A device node at `host` as it should appear at `container`, or None if not a device.
fn device_at(host: &Path, container: &Path) -> Result<Option<LinuxDevice>, SpecError> {
    let meta = std::fs::metadata(host).map_err(|e| SpecError::io(host, e))?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else if ft.is_fifo() {
        LinuxDeviceType::P
    } else {
        return Ok(None);
    };
    let (major, minor) = major_minor(meta.rdev());
    Ok(Some(
        LinuxDeviceBuilder::default()
            .path(container.to_path_buf())
            .typ(typ)
            .major(major)
            .minor(minor)
            .file_mode(meta.mode() & 0o777)
            .uid(meta.uid())
            .gid(meta.gid())
            .build()?,
    ))
}

/// Every device node under `dir` (recursively), mapped under `target`.
fn walk(dir: &Path, target: &Path, top: bool, out: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return Err(SpecError::io(dir, e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_symlink() {
            continue;
        }
        if ft.is_dir() {
            if top && SKIP_DIRS.contains(&name_s.as_ref()) {
                continue;
            }
            walk(&entry.path(), &target.join(&name), false, out)?;
            continue;
        }
        if top && SKIP_FILES.contains(&name_s.as_ref()) {
            continue;
        }
        // Nodes can vanish while we walk (hotplug); that is not an error.
        if let Ok(Some(dev)) = device_at(&entry.path(), &target.join(&name)) {
            out.push(dev);
        }
    }
    Ok(())
}

/// All device nodes of the host (for `--privileged`), sorted by path.
pub fn host_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    let mut out = Vec::new();
    walk(Path::new("/dev"), Path::new("/dev"), true, &mut out)?;
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

/// `--device` entries (a directory meaning every device below it), each with the
/// cgroup permissions asked for it.
fn mapped_devices(config: &ContainerConfig) -> Result<Vec<(LinuxDevice, String)>, SpecError> {
    let mut all = Vec::new();
    for d in &config.devices {
        let mut out = Vec::new();
        let host = d.path_on_host.as_path();
        let target = if d.path_in_container.is_empty() {
            host.to_path_buf()
        } else {
            PathBuf::from(&d.path_in_container)
        };
        let meta = std::fs::metadata(host).map_err(|e| {
            SpecError::Invalid(format!(
                "error gathering device information while adding custom device \"{}\": {e}",
                host.display()
            ))
        })?;
        if meta.is_dir() {
            walk(host, &target, false, &mut out)?;
        } else if let Some(dev) = device_at(host, &target)? {
            out.push(dev);
        } else {
            return Err(SpecError::Invalid(format!(
                "error gathering device information while adding custom device \"{}\": not a device node",
                host.display()
            )));
        }
        all.extend(
            out.into_iter()
                .map(|dev| (dev, d.cgroup_permissions.clone())),
        );
    }
    Ok(all)
}

/// `linux.devices`.
pub(super) fn linux_devices(config: &ContainerConfig) -> Result<Vec<LinuxDevice>, SpecError> {
    let mut devices = if config.privileged {
        host_devices()?
    } else {
        Vec::new()
    };
    for (dev, _) in mapped_devices(config)? {
        if config.privileged && devices.iter().any(|d| d.path() == dev.path()) {
            continue;
        }
        devices.push(dev);
    }
    Ok(devices)
}

/// `linux.resources.devices`.
pub(super) fn cgroup_rules(config: &ContainerConfig) -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    if config.privileged {
        return Ok(vec![LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rwm".to_string())
            .build()?]);
    }
    let mut rules = DOCKER_DEVICE_RULES
        .iter()
        .map(rule)
        .collect::<Result<Vec<_>, _>>()?;
    for (dev, requested) in mapped_devices(config)? {
        let perms: String = requested
            .chars()
            .filter(|c| matches!(c, 'r' | 'w' | 'm'))
            .collect();
        rules.push(
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(dev.typ())
                .major(dev.major())
                .minor(dev.minor())
                .access(if perms.is_empty() {
                    "rwm".into()
                } else {
                    perms
                })
                .build()?,
        );
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's makedev.
    fn makedev(major: u64, minor: u64) -> u64 {
        (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
    }

    #[test]
    fn rdev_decoding() {
        assert_eq!(major_minor(makedev(1, 3)), (1, 3));
        assert_eq!(major_minor(makedev(259, 65536)), (259, 65536));
        assert_eq!(major_minor(makedev(4096, 7)), (4096, 7));
    }

    #[test]
    fn host_scan_finds_null_and_skips_pts() {
        let devs = host_devices().unwrap();
        let null = devs
            .iter()
            .find(|d| d.path() == Path::new("/dev/null"))
            .expect("/dev/null");
        assert_eq!((null.major(), null.minor()), (1, 3));
        assert!(devs.iter().all(|d| !d.path().starts_with("/dev/pts")));
        assert!(devs.iter().all(|d| d.path() != Path::new("/dev/console")));
    }
}
