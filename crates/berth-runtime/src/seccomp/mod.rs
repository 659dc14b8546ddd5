//! Seccomp profiles in Docker's JSON format and their expansion into an OCI
//! [`LinuxSeccomp`] for one container.
//!
//! A Docker profile extends the OCI structure with conditions: `archMap` (native arch →
//! compat arches), and per rule `includes`/`excludes` filters on the host architecture,
//! the container's capabilities (bounding set) and the host kernel version. [`Profile::resolve`]
//! evaluates them, exactly as dockerd does when it builds a container's spec.

mod default;

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscallBuilder,
};
use serde::{Deserialize, Serialize};

pub use default::{always_allowed, CLONE_NAMESPACE_FLAGS};

use crate::caps::cap_name;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("Decoding seccomp profile failed: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")]
    ArchitecturesAndArchMap,
    #[error("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'")]
    NameAndNames,
    #[error("the seccomp profile has syscall rules but no defaultAction")]
    NoDefaultAction,
    #[error("invalid kernel version: {0}, expected \"<kernel>.<major>\"")]
    KernelVersion(String),
    #[error("building seccomp filter: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

/// A kernel version as `<kernel>.<major>` (`4.8`); minor revisions are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct KernelVersion {
    pub kernel: u64,
    pub major: u64,
}

impl KernelVersion {
    /// Parses `uname -r` style text (`6.1.0-18-amd64`, `3.12-rc5`) or `4.8`.
    pub fn parse_release(release: &str) -> Option<Self> {
        let mut parts = release.splitn(3, '.');
        let kernel = parts.next()?.trim().parse().ok()?;
        let major_text = parts.next()?;
        let digits: String = major_text
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        Some(KernelVersion {
            kernel,
            major: digits.parse().ok()?,
        })
    }

    /// The running kernel's version (from `uname`).
    pub fn host() -> Option<Self> {
        // SAFETY: `utsname` is plain old data; uname fills it and we read the
        // NUL-terminated `release` field only after a successful return.
        let release = unsafe {
            let mut uts: libc::utsname = std::mem::zeroed();
            if libc::uname(&mut uts) != 0 {
                return None;
            }
            std::ffi::CStr::from_ptr(uts.release.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        Self::parse_release(&release)
    }
}

impl Serialize for KernelVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}.{}", self.kernel, self.major))
    }
}

impl<'de> Deserialize<'de> for KernelVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "invalid kernel version: {text}, expected \"<kernel>.<major>\""
            ))
        };
        let (k, m) = text.split_once('.').ok_or_else(bad)?;
        let v = KernelVersion {
            kernel: k.parse::<u8>().map_err(|_| bad())? as u64,
            major: m.parse::<u8>().map_err(|_| bad())? as u64,
        };
        if v.kernel == 0 && v.major == 0 {
            return Err(bad());
        }
        Ok(v)
    }
}

/// Condition of a rule: on host arches (libseccomp names such as `amd64`), on the
/// container's capabilities (`CAP_*`), on a minimum kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<KernelVersion>,
}

/// One syscall argument comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleArg {
    pub index: usize,
    pub value: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_two: Option<u64>,
    pub op: LinuxSeccompOperator,
}

/// One syscall rule of a Docker profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Legacy single-name form; exclusive with `names`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<RuleArg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes: Option<Filter>,
}

/// `archMap` entry: a native arch and the sub-arches its filter must also cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMapEntry {
    pub architecture: Arch,
    #[serde(default)]
    pub sub_architectures: Vec<Arch>,
}

/// A seccomp profile in Docker's JSON format (`docker run --security-opt seccomp=FILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<LinuxSeccompAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<Arch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMapEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub syscalls: Vec<Rule>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Rule>, D::Error> {
    Ok(Option::<Vec<Rule>>::deserialize(d)?.unwrap_or_default())
}

/// What a profile is resolved for: the host's native arch (libseccomp name, e.g. `amd64`),
/// the container's bounding capabilities, and the host kernel.
#[derive(Debug, Clone)]
pub struct Target {
    pub arch: String,
    pub caps: Vec<Capability>,
    pub kernel: KernelVersion,
}

impl Target {
    /// The running host, for a container holding `caps`.
    pub fn host(caps: &[Capability]) -> Self {
        Target {
            arch: native_arch().to_string(),
            caps: caps.to_vec(),
            kernel: KernelVersion::host().unwrap_or_default(),
        }
    }
}

/// libseccomp's name for the architecture this crate was built for.
pub fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "s390x" => "s390x",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mipsel64",
        "mips64" => "mips64",
        other => other,
    }
}

/// The seccomp arch constant of a libseccomp native arch name.
fn seccomp_arch(native: &str) -> Option<Arch> {
    Some(match native {
        "x86" => Arch::ScmpArchX86,
        "amd64" => Arch::ScmpArchX86_64,
        "arm" => Arch::ScmpArchArm,
        "arm64" => Arch::ScmpArchAarch64,
        "loong64" => Arch::ScmpArchLoongarch64,
        "mips64" => Arch::ScmpArchMips64,
        "mips64n32" => Arch::ScmpArchMips64n32,
        "mipsel64" => Arch::ScmpArchMipsel64,
        "mipsel64n32" => Arch::ScmpArchMipsel64n32,
        "mipsle" => Arch::ScmpArchMipsel,
        "ppc" => Arch::ScmpArchPpc,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        _ => return None,
    })
}

impl Profile {
    /// Docker's default profile.
    pub fn docker_default() -> Self {
        default::profile()
    }

    /// Parses a profile in Docker's JSON format.
    pub fn from_json(text: &str) -> Result<Self, SeccompError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Evaluates the profile's conditions for `target`. `None` means "no filter"
    /// (a profile without default action and rules disables seccomp, as in Docker).
    pub fn resolve(&self, target: &Target) -> Result<Option<LinuxSeccomp>, SeccompError> {
        if self.default_action.is_none() && self.syscalls.is_empty() {
            return Ok(None);
        }
        let default_action = self.default_action.ok_or(SeccompError::NoDefaultAction)?;
        if !self.architectures.is_empty() && !self.arch_map.is_empty() {
            return Err(SeccompError::ArchitecturesAndArchMap);
        }
        let mut arches = self.architectures.clone();
        if let Some(native) = seccomp_arch(&target.arch) {
            if let Some(entry) = self.arch_map.iter().find(|e| e.architecture == native) {
                arches.push(entry.architecture);
                arches.extend(entry.sub_architectures.iter().copied());
            }
        }
        let cap_names: Vec<String> = target.caps.iter().map(|c| cap_name(*c)).collect();
        let has_cap = |c: &String| cap_names.iter().any(|n| n == c);

        let mut syscalls = Vec::new();
        for rule in &self.syscalls {
            let names = match (&rule.name, rule.names.is_empty()) {
                (Some(_), false) => return Err(SeccompError::NameAndNames),
                (Some(n), true) => vec![n.clone()],
                (None, _) => rule.names.clone(),
            };
            if let Some(ex) = &rule.excludes {
                if ex.arches.contains(&target.arch)
                    || ex.caps.iter().any(has_cap)
                    || ex.min_kernel.is_some_and(|k| target.kernel >= k)
                {
                    continue;
                }
            }
            if let Some(inc) = &rule.includes {
                if (!inc.arches.is_empty() && !inc.arches.contains(&target.arch))
                    || !inc.caps.iter().all(has_cap)
                    || inc.min_kernel.is_some_and(|k| target.kernel < k)
                {
                    continue;
                }
            }
            let mut b = LinuxSyscallBuilder::default()
                .names(names)
                .action(rule.action);
            if let Some(errno) = rule.errno_ret {
                b = b.errno_ret(errno);
            }
            if !rule.args.is_empty() {
                let mut args = Vec::with_capacity(rule.args.len());
                for a in &rule.args {
                    let mut ab = LinuxSeccompArgBuilder::default()
                        .index(a.index)
                        .value(a.value)
                        .op(a.op);
                    if let Some(two) = a.value_two {
                        ab = ab.value_two(two);
                    }
                    args.push(ab.build()?);
                }
                b = b.args(args);
            }
            syscalls.push(b.build()?);
        }

        let mut out = LinuxSeccompBuilder::default()
            .default_action(default_action)
            .syscalls(syscalls);
        if let Some(errno) = self.default_errno_ret {
            out = out.default_errno_ret(errno);
        }
        if !arches.is_empty() {
            out = out.architectures(arches);
        }
        if !self.flags.is_empty() {
            out = out.flags(self.flags.clone());
        }
        if let Some(p) = &self.listener_path {
            out = out.listener_path(p);
        }
        if let Some(m) = &self.listener_metadata {
            out = out.listener_metadata(m.clone());
        }
        Ok(Some(out.build()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::DOCKER_DEFAULT;

    fn target(arch: &str, caps: &[Capability]) -> Target {
        Target {
            arch: arch.into(),
            caps: caps.to_vec(),
            kernel: KernelVersion {
                kernel: 6,
                major: 1,
            },
        }
    }

    fn allowed(sc: &LinuxSeccomp, name: &str) -> Vec<oci_spec::runtime::LinuxSyscall> {
        sc.syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|r| r.names().iter().any(|n| n == name))
            .cloned()
            .collect()
    }

    #[test]
    fn default_profile_shape() {
        let p = Profile::docker_default();
        assert_eq!(p.default_action, Some(LinuxSeccompAction::ScmpActErrno));
        assert_eq!(p.default_errno_ret, Some(libc::EPERM as u32));
        assert_eq!(always_allowed().len(), 361);
        for must in [
            "read",
            "write",
            "execve",
            "futex",
            "wait4",
            "rt_sigreturn",
            "statx",
        ] {
            assert!(always_allowed().contains(&must), "{must}");
        }
        for never in [
            "mount",
            "unshare",
            "socket",
            "clone",
            "personality",
            "ptrace",
            "bpf",
        ] {
            assert!(!always_allowed().contains(&never), "{never}");
        }
    }

    #[test]
    fn default_for_amd64_without_sys_admin() {
        let sc = Profile::docker_default()
            .resolve(&target("amd64", DOCKER_DEFAULT))
            .unwrap()
            .unwrap();
        assert_eq!(
            sc.architectures().as_ref().unwrap(),
            &vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        assert!(allowed(&sc, "mount").is_empty());
        assert!(allowed(&sc, "reboot").is_empty());
        assert_eq!(
            allowed(&sc, "chroot").len(),
            1,
            "SYS_CHROOT is a default cap"
        );
        assert_eq!(allowed(&sc, "arch_prctl").len(), 1);
        assert!(allowed(&sc, "cacheflush").is_empty());
        assert_eq!(allowed(&sc, "personality").len(), 5);
        assert_eq!(allowed(&sc, "socket").len(), 3);
        assert_eq!(allowed(&sc, "ptrace").len(), 1, "kernel >= 4.8 rule");

        let clone = allowed(&sc, "clone");
        assert_eq!(clone.len(), 1);
        let a = &clone[0].args().as_ref().unwrap()[0];
        assert_eq!(a.index(), 0);
        assert_eq!(a.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(a.value(), CLONE_NAMESPACE_FLAGS);
        assert_eq!(a.value(), 0x7e02_0000);
        assert_eq!(a.value_two(), Some(0));

        let clone3 = allowed(&sc, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(libc::ENOSYS as u32));
    }

    #[test]
    fn sys_admin_unlocks_namespaces() {
        let mut caps = DOCKER_DEFAULT.to_vec();
        caps.push(Capability::SysAdmin);
        let sc = Profile::docker_default()
            .resolve(&target("amd64", &caps))
            .unwrap()
            .unwrap();
        assert_eq!(allowed(&sc, "mount").len(), 1);
        let clone = allowed(&sc, "clone");
        assert_eq!(clone.len(), 1);
        assert!(
            clone[0].args().is_none(),
            "unrestricted clone with SYS_ADMIN"
        );
        let clone3 = allowed(&sc, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActAllow);
    }

    #[test]
    fn s390_clone_uses_second_argument() {
        let sc = Profile::docker_default()
            .resolve(&target("s390x", DOCKER_DEFAULT))
            .unwrap()
            .unwrap();
        let clone = allowed(&sc, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].args().as_ref().unwrap()[0].index(), 1);
        assert_eq!(allowed(&sc, "s390_runtime_instr").len(), 1);
        assert_eq!(
            sc.architectures().as_ref().unwrap(),
            &vec![Arch::ScmpArchS390x, Arch::ScmpArchS390]
        );
    }

    #[test]
    fn old_kernels_lose_ptrace() {
        let mut t = target("amd64", DOCKER_DEFAULT);
        t.kernel = KernelVersion {
            kernel: 4,
            major: 4,
        };
        let sc = Profile::docker_default().resolve(&t).unwrap().unwrap();
        assert!(allowed(&sc, "ptrace").is_empty());
    }

    #[test]
    fn json_round_trip_keeps_the_profile() {
        let p = Profile::docker_default();
        let text = serde_json::to_string_pretty(&p).unwrap();
        assert!(text.contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""));
        assert!(text.contains("\"SCMP_ARCH_X86_64\""));
        assert!(text.contains("\"minKernel\": \"4.8\""));
        assert_eq!(Profile::from_json(&text).unwrap(), p);
    }

    #[test]
    fn user_profile_in_docker_format() {
        let text = r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
                {"name": "mkdir", "action": "SCMP_ACT_ERRNO"},
                {"names": ["chmod", "fchmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                 "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]},
                {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
                {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "5.0"}}
            ]
        }"#;
        let sc = Profile::from_json(text)
            .unwrap()
            .resolve(&target("amd64", DOCKER_DEFAULT))
            .unwrap()
            .unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert_eq!(
            sc.architectures().as_ref().unwrap(),
            &vec![Arch::ScmpArchX86_64]
        );
        let rules = sc.syscalls().as_ref().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].names(), &vec!["mkdir".to_string()]);
        assert_eq!(rules[1].errno_ret(), Some(13));
    }

    #[test]
    fn invalid_profiles() {
        assert!(matches!(
            Profile::from_json("{nope"),
            Err(SeccompError::Decode(_))
        ));
        let both = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}],"syscalls":[]}"#;
        assert!(matches!(
            Profile::from_json(both)
                .unwrap()
                .resolve(&target("amd64", &[])),
            Err(SeccompError::ArchitecturesAndArchMap)
        ));
        let names = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}"#;
        assert!(matches!(
            Profile::from_json(names)
                .unwrap()
                .resolve(&target("amd64", &[])),
            Err(SeccompError::NameAndNames)
        ));
        let empty = r#"{"syscalls": null}"#;
        assert!(Profile::from_json(empty)
            .unwrap()
            .resolve(&target("amd64", &[]))
            .unwrap()
            .is_none());
        assert!(Profile::from_json(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[],"archMap":[],"x":1, "minKernel":"0.0"}"#).is_ok());
        assert!(Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}"#
        )
        .is_err());
    }

    #[test]
    fn kernel_release_parsing() {
        assert_eq!(
            KernelVersion::parse_release("6.18.44-fc-v669"),
            Some(KernelVersion {
                kernel: 6,
                major: 18
            })
        );
        assert_eq!(
            KernelVersion::parse_release("3.12-rc5"),
            Some(KernelVersion {
                kernel: 3,
                major: 12
            })
        );
        assert!(KernelVersion::host().is_some());
    }
}
