use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, Mount, PosixRlimitType, Spec,
};

use super::*;
use crate::caps::DOCKER_DEFAULT;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Fixture {
    _dir: tempfile::TempDir,
    rootfs: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www:/var/www:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\nwww-data:x:33:\naudio:x:29:www-data\n",
    )
    .unwrap();
    Fixture { _dir: dir, rootfs }
}

fn config(f: &Fixture) -> ContainerConfig {
    ContainerConfig {
        id: ID.into(),
        rootfs: f.rootfs.clone(),
        args: vec!["sh".into(), "-c".into(), "true".into()],
        ..Default::default()
    }
}

/// A host like the CI machine: no CAP_SYS_RESOURCE, nofile hard limit 20000,
/// no blkio weight file.
fn host() -> HostInfo {
    let mut h = HostInfo::permissive();
    h.capabilities = crate::caps::caps_from_mask(0x1fffeffffff);
    h.blkio_weight = false;
    h.rlimit_hard = h
        .rlimit_hard
        .iter()
        .map(|(r, v)| {
            if *r == libc::RLIMIT_NOFILE as i32 {
                (*r, 20000)
            } else {
                (*r, *v)
            }
        })
        .collect();
    h
}

fn build_ok(c: &ContainerConfig) -> Spec {
    build(c, &host()).unwrap().spec
}

fn mount<'a>(s: &'a Spec, dest: &str) -> Option<&'a Mount> {
    s.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(dest))
}

fn options(s: &Spec, dest: &str) -> Vec<String> {
    mount(s, dest)
        .unwrap()
        .options()
        .clone()
        .unwrap_or_default()
}

fn ns_types(s: &Spec) -> Vec<LinuxNamespaceType> {
    s.linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect()
}

fn caps_of(s: &Spec) -> oci_spec::runtime::Capabilities {
    s.process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap()
}

#[test]
fn defaults_match_docker() {
    let f = fixture();
    let s = build_ok(&config(&f));
    let p = s.process().as_ref().unwrap();
    let linux = s.linux().as_ref().unwrap();

    assert_eq!(s.hostname().as_deref(), Some("0123456789ab"));
    assert_eq!(s.root().as_ref().unwrap().path(), &f.rootfs);
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(false));
    assert_eq!(p.args().as_ref().unwrap(), &vec!["sh", "-c", "true"]);
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!(
        p.env().as_ref().unwrap(),
        &vec![
            format!("PATH={DEFAULT_PATH_ENV}"),
            "HOSTNAME=0123456789ab".to_string(),
            "HOME=/root".to_string()
        ]
    );
    assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    assert_eq!(p.user().additional_gids().as_ref().unwrap(), &vec![0]);
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(p.no_new_privileges(), None);
    assert!(p.rlimits().is_none());
    assert_eq!(p.oom_score_adj(), Some(0));

    let caps = p.capabilities().as_ref().unwrap();
    let want: oci_spec::runtime::Capabilities = DOCKER_DEFAULT.iter().copied().collect();
    assert_eq!(caps.bounding().as_ref().unwrap(), &want);
    assert_eq!(caps.effective().as_ref().unwrap(), &want);
    assert_eq!(caps.permitted().as_ref().unwrap(), &want);
    assert!(caps.inheritable().is_none() && caps.ambient().is_none());

    let dests: Vec<_> = s
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        dests,
        vec![
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    assert_eq!(
        options(&s, "/dev/shm"),
        vec!["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );
    assert!(options(&s, "/sys").contains(&"ro".to_string()));
    assert!(options(&s, "/sys/fs/cgroup").contains(&"ro".to_string()));
    assert_eq!(
        mount(&s, "/dev/pts").unwrap().typ().as_deref(),
        Some("devpts")
    );

    assert_eq!(
        ns_types(&s),
        vec![
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc
        ]
    );
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new(&format!("/berth/{ID}")))
    );
    let masked = linux.masked_paths().as_ref().unwrap();
    for m in [
        "/proc/kcore",
        "/proc/keys",
        "/sys/firmware",
        "/proc/interrupts",
    ] {
        assert!(masked.iter().any(|x| x == m), "{m}");
    }
    assert_eq!(
        linux.readonly_paths().as_ref().unwrap(),
        &docker_readonly_paths()
    );
    assert!(linux.devices().as_ref().unwrap().is_empty());
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(rules.len(), 8);
    assert!(!rules[0].allow() && rules[0].typ().is_none());
    assert_eq!(
        (rules[7].allow(), rules[7].major(), rules[7].minor()),
        (false, Some(10), Some(229))
    );
    let sysctl = linux.sysctl().as_ref().unwrap();
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");
    assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "0");

    let sc = linux.seccomp().as_ref().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert!(sc
        .syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .all(|r| !r.names().contains(&"mount".to_string())));

    // The JSON uses the OCI field names libcontainer reads.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["ociVersion"], oci_spec::runtime::VERSION);
    assert_eq!(json["linux"]["cgroupsPath"], format!("/berth/{ID}"));
    assert!(json["linux"]["seccomp"]["syscalls"].is_array());
}

#[test]
fn privileged_gets_host_caps_devices_and_no_confinement() {
    let f = fixture();
    let mut c = config(&f);
    c.privileged = true;
    let s = build_ok(&c);
    let linux = s.linux().as_ref().unwrap();
    let caps = caps_of(&s);
    assert_eq!(caps.len(), 40);
    assert!(caps.contains(&Capability::SysAdmin));
    assert!(
        !caps.contains(&Capability::SysResource),
        "never more than the host has"
    );
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().as_ref().unwrap().is_empty());
    assert!(linux.readonly_paths().as_ref().unwrap().is_empty());
    assert!(!options(&s, "/sys").contains(&"ro".to_string()));
    assert!(!options(&s, "/sys/fs/cgroup").contains(&"ro".to_string()));
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow() && rules[0].typ().is_none());
    assert!(linux
        .devices()
        .as_ref()
        .unwrap()
        .iter()
        .any(|d| d.path() == Path::new("/dev/null")));
}

#[test]
fn cap_add_drop() {
    let f = fixture();
    let mut c = config(&f);
    c.cap_drop = vec!["ALL".into()];
    c.cap_add = vec!["net_bind_service".into()];
    let caps = caps_of(&build_ok(&c));
    assert_eq!(caps.len(), 1);
    assert!(caps.contains(&Capability::NetBindService));

    c.cap_drop = vec!["NET_RAW".into()];
    c.cap_add = vec!["SYS_ADMIN".into()];
    let s = build_ok(&c);
    let caps = caps_of(&s);
    assert!(caps.contains(&Capability::SysAdmin) && !caps.contains(&Capability::NetRaw));
    // With CAP_SYS_ADMIN the seccomp profile unlocks mount.
    let sc = s.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert!(sc
        .syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .any(|r| r.names().contains(&"mount".to_string())));

    c.cap_add = vec!["SYS_RESOURCE".into()];
    let err = build(&c, &host()).unwrap_err();
    assert!(err.is_invalid_parameter());
}

#[test]
fn host_and_joined_namespaces() {
    let f = fixture();
    let mut c = config(&f);
    c.network = NsMode::Host;
    c.pid = NsMode::Host;
    c.uts = NsMode::Host;
    c.ipc = NsMode::Path("/proc/42/ns/ipc".into());
    let s = build_ok(&c);
    assert_eq!(
        ns_types(&s),
        vec![LinuxNamespaceType::Mount, LinuxNamespaceType::Ipc]
    );
    let ipc = &s.linux().as_ref().unwrap().namespaces().as_ref().unwrap()[1];
    assert_eq!(ipc.path().as_deref(), Some(Path::new("/proc/42/ns/ipc")));
    assert!(
        s.hostname().is_none(),
        "no hostname in the host UTS namespace"
    );
    assert!(s
        .linux()
        .as_ref()
        .unwrap()
        .sysctl()
        .as_ref()
        .unwrap()
        .is_empty());

    let mut c = config(&f);
    c.network = NsMode::Path("/run/berth/netns/x".into());
    c.cgroupns_private = true;
    let s = build_ok(&c);
    let nss = s.linux().as_ref().unwrap().namespaces().clone().unwrap();
    let net = nss
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap();
    assert_eq!(net.path().as_deref(), Some(Path::new("/run/berth/netns/x")));
    assert_eq!(nss.last().unwrap().typ(), LinuxNamespaceType::Cgroup);
}

#[test]
fn shm_ipc_none_and_dev_override() {
    let f = fixture();
    let mut c = config(&f);
    c.shm_size = 128 * 1024 * 1024;
    let s = build_ok(&c);
    assert!(options(&s, "/dev/shm").contains(&"size=134217728".to_string()));

    c.ipc_none = true;
    assert!(mount(&build_ok(&c), "/dev/shm").is_none());

    let mut c = config(&f);
    c.mounts.push(MountPoint::bind("/dev", "/dev", false));
    let s = build_ok(&c);
    for gone in ["/dev/pts", "/dev/shm", "/dev/mqueue"] {
        assert!(mount(&s, gone).is_none(), "{gone}");
    }
    assert_eq!(mount(&s, "/dev").unwrap().typ().as_deref(), Some("bind"));
}

#[test]
fn read_only_rootfs() {
    let f = fixture();
    let mut c = config(&f);
    c.readonly_rootfs = true;
    c.hosts_path = Some("/tmp/hosts".into());
    c.mounts.push(MountPoint::bind("/data", "/data", false));
    let s = build_ok(&c);
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    assert!(!options(&s, "/proc").contains(&"ro".to_string()));
    assert!(!options(&s, "/dev/shm").contains(&"ro".to_string()));
    assert!(options(&s, "/sys").contains(&"ro".to_string()));
    assert_eq!(options(&s, "/etc/hosts"), vec!["rbind", "ro", "rprivate"]);
    assert_eq!(
        options(&s, "/data"),
        vec!["rbind", "rprivate"],
        "user mounts keep their mode"
    );
}

#[test]
fn user_mounts() {
    let f = fixture();
    let mut c = config(&f);
    c.mounts = vec![
        MountPoint::tmpfs("/run/x", Some("size=1m,exec")),
        MountPoint {
            propagation: Some("rshared".into()),
            ..MountPoint::bind("/srv/vol", "/a/b", true)
        },
        MountPoint::bind("/srv/a", "/a", false),
    ];
    c.resolv_conf_path = Some("/var/lib/berth/containers/x/resolv.conf".into());
    let s = build_ok(&c);
    assert_eq!(
        options(&s, "/run/x"),
        vec!["nosuid", "nodev", "rprivate", "size=1m", "exec"]
    );
    assert_eq!(options(&s, "/a/b"), vec!["rbind", "ro", "rshared"]);
    let dests: Vec<_> = s
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().to_string_lossy().to_string())
        .collect();
    let pos = |d: &str| dests.iter().position(|x| x == d).unwrap();
    assert!(pos("/a") < pos("/a/b"), "parents first");
    assert_eq!(
        s.linux().as_ref().unwrap().rootfs_propagation().as_deref(),
        Some("shared")
    );
    assert_eq!(options(&s, "/etc/resolv.conf"), vec!["rbind", "rprivate"]);

    c.mounts = vec![MountPoint::bind("/x", "relative", false)];
    assert!(build(&c, &host()).is_err());
}

#[test]
fn rlimits_are_clamped_to_the_hard_limit() {
    let f = fixture();
    let mut c = config(&f);
    c.ulimits = vec![
        Ulimit {
            name: "nofile".into(),
            soft: 100_000,
            hard: 100_000,
        },
        Ulimit {
            name: "nproc".into(),
            soft: 512,
            hard: 1024,
        },
        Ulimit {
            name: "core".into(),
            soft: -1,
            hard: -1,
        },
    ];
    let s = build_ok(&c);
    let rl = s.process().as_ref().unwrap().rlimits().clone().unwrap();
    let get = |t: PosixRlimitType| rl.iter().find(|r| r.typ() == t).unwrap();
    let nofile = get(PosixRlimitType::RlimitNofile);
    assert_eq!((nofile.soft(), nofile.hard()), (20000, 20000));
    let nproc = get(PosixRlimitType::RlimitNproc);
    assert_eq!((nproc.soft(), nproc.hard()), (512, 1024));
    let core = get(PosixRlimitType::RlimitCore);
    assert_eq!((core.soft(), core.hard()), (u64::MAX, u64::MAX));

    c.ulimits = vec![Ulimit {
        name: "bogus".into(),
        soft: 1,
        hard: 1,
    }];
    assert_eq!(
        build(&c, &host()).unwrap_err().to_string(),
        "invalid ulimit type: bogus"
    );
    c.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 10,
        hard: 5,
    }];
    assert!(build(&c, &host()).is_err());
}

#[test]
fn sysctls_are_namespace_checked() {
    let f = fixture();
    let mut c = config(&f);
    c.sysctls = BTreeMap::from([
        ("net.core.somaxconn".to_string(), "1024".to_string()),
        ("kernel.shmmax".to_string(), "1000000".to_string()),
        ("net.ipv4.ping_group_range".to_string(), "1 1".to_string()),
    ]);
    let s = build_ok(&c);
    let sysctl = s.linux().as_ref().unwrap().sysctl().clone().unwrap();
    assert_eq!(sysctl["net.core.somaxconn"], "1024");
    assert_eq!(
        sysctl["net.ipv4.ping_group_range"], "1 1",
        "user value wins"
    );

    c.ipc = NsMode::Host;
    assert_eq!(
        build(&c, &host()).unwrap_err().to_string(),
        "sysctl \"kernel.shmmax\" not allowed in host IPC namespace"
    );
    let mut c = config(&f);
    c.sysctls = BTreeMap::from([("vm.swappiness".to_string(), "1".to_string())]);
    assert_eq!(
        build(&c, &host()).unwrap_err().to_string(),
        "sysctl \"vm.swappiness\" is not in a separate kernel namespace"
    );
    let mut c = config(&f);
    c.network = NsMode::Host;
    c.sysctls = BTreeMap::from([("net.ipv4.ip_forward".to_string(), "1".to_string())]);
    assert!(build(&c, &host()).is_err());
}

#[test]
fn resources_in_oci_form() {
    let f = fixture();
    let mut c = config(&f);
    c.resources = Resources {
        memory: 64 << 20,
        memory_reservation: 32 << 20,
        nano_cpus: 1_500_000_000,
        cpu_shares: 512,
        cpuset_cpus: "0-1".into(),
        pids_limit: Some(20),
        oom_kill_disable: Some(true),
        blkio_weight: 300,
        ..Default::default()
    };
    c.cgroup_parent = "custom".into();
    let built = build(&c, &host()).unwrap();
    let linux = built.spec.linux().clone().unwrap();
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new(&format!("/custom/{ID}")))
    );
    let r = linux.resources().clone().unwrap();
    let m = r.memory().unwrap();
    assert_eq!(m.limit(), Some(64 << 20));
    assert_eq!(
        m.swap(),
        Some(128 << 20),
        "swap defaults to twice the memory"
    );
    assert_eq!(m.reservation(), Some(32 << 20));
    assert_eq!(m.disable_oom_killer(), Some(true));
    let cpu = r.cpu().clone().unwrap();
    assert_eq!(cpu.period(), Some(100_000));
    assert_eq!(cpu.quota(), Some(150_000));
    assert_eq!(cpu.shares(), Some(512));
    assert_eq!(cpu.cpus().as_deref(), Some("0-1"));
    assert_eq!(r.pids().unwrap().limit(), 20);
    assert!(r.block_io().is_none(), "weight unsupported on this host");
    assert_eq!(
        built.warnings,
        vec!["Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."]
    );

    c.resources = Resources {
        memory: -1,
        memory_swap: -1,
        pids_limit: Some(0),
        ..Default::default()
    };
    c.resources.memory = 0;
    let r = build_ok(&c)
        .linux()
        .clone()
        .unwrap()
        .resources()
        .clone()
        .unwrap();
    assert_eq!(r.pids().unwrap().limit(), -1);
    assert!(r.memory().is_none());
}

#[test]
fn resource_errors_use_dockers_wording() {
    let f = fixture();
    let cases: Vec<(Resources, &str)> = vec![
        (
            Resources {
                memory: 1 << 20,
                ..Default::default()
            },
            "Minimum memory limit allowed is 6MB",
        ),
        (
            Resources {
                memory: 64 << 20,
                memory_swap: 32 << 20,
                ..Default::default()
            },
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            Resources {
                memory_swap: 64 << 20,
                ..Default::default()
            },
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            Resources {
                nano_cpus: 9_000_000_000,
                ..Default::default()
            },
            "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available",
        ),
        (
            Resources {
                nano_cpus: 1_000_000_000,
                cpu_quota: 5000,
                ..Default::default()
            },
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            Resources {
                cpuset_cpus: "7".into(),
                ..Default::default()
            },
            "Requested CPUs are not available - requested 7, available: 0-3",
        ),
        (
            Resources {
                memory_swappiness: Some(101),
                ..Default::default()
            },
            "Invalid value: 101, valid memory swappiness range is 0-100",
        ),
    ];
    for (res, msg) in cases {
        let mut c = config(&f);
        c.resources = res;
        let err = build(&c, &HostInfo::permissive()).unwrap_err();
        assert_eq!(err.to_string(), msg);
        assert!(err.is_invalid_parameter());
    }
    let mut h = HostInfo::permissive();
    h.blkio_weight = true;
    let mut c = config(&f);
    c.resources.blkio_weight = 5;
    assert_eq!(
        build(&c, &h).unwrap_err().to_string(),
        "Range of blkio weight is from 10 to 1000"
    );
    c.resources.blkio_weight = 500;
    let s = build(&c, &h).unwrap().spec;
    let bio = s.linux().clone().unwrap().resources().clone().unwrap();
    assert_eq!(bio.block_io().as_ref().unwrap().weight(), Some(500));
}

#[test]
fn security_options() {
    let f = fixture();
    let mut c = config(&f);
    c.security_opt = vec!["no-new-privileges".into(), "seccomp=unconfined".into()];
    let s = build_ok(&c);
    assert_eq!(
        s.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
    assert!(s.linux().as_ref().unwrap().seccomp().is_none());

    c.security_opt = vec![
        "no-new-privileges=false".into(),
        r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#.into(),
    ];
    let s = build_ok(&c);
    assert_eq!(s.process().as_ref().unwrap().no_new_privileges(), None);
    let sc = s.linux().clone().unwrap().seccomp().clone().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);

    c.security_opt = vec!["systempaths=unconfined".into()];
    let s = build_ok(&c);
    assert!(s
        .linux()
        .as_ref()
        .unwrap()
        .masked_paths()
        .as_ref()
        .unwrap()
        .is_empty());

    for bad in ["bogus", "foo=bar", "no-new-privileges=maybe"] {
        c.security_opt = vec![bad.into()];
        assert!(build(&c, &host()).is_err(), "{bad}");
    }
    c.security_opt = vec!["bogus".into()];
    assert_eq!(
        build(&c, &host()).unwrap_err().to_string(),
        "invalid --security-opt 1: \"bogus\""
    );
}

#[test]
fn user_env_workdir_and_init() {
    let f = fixture();
    let mut c = config(&f);
    c.user = "www-data".into();
    c.group_add = vec!["audio".into(), "1234".into()];
    c.working_dir = "/srv".into();
    c.tty = true;
    c.console_size = Some((40, 120));
    c.env = vec![
        "PATH=/custom/bin".into(),
        "FOO=bar".into(),
        "HOSTNAME".into(),
    ];
    c.init_binary = Some("/usr/libexec/berth-init".into());
    let s = build_ok(&c);
    let p = s.process().as_ref().unwrap();
    assert_eq!((p.user().uid(), p.user().gid()), (33, 33));
    assert_eq!(
        p.user().additional_gids().as_ref().unwrap(),
        &vec![33, 29, 29, 1234],
        "dockerd does not dedup --group-add against the user's groups"
    );
    assert_eq!(
        p.env().as_ref().unwrap(),
        &vec![
            "PATH=/custom/bin".to_string(),
            "TERM=xterm".to_string(),
            "FOO=bar".to_string(),
            "HOME=/var/www".to_string()
        ]
    );
    assert_eq!(p.cwd(), Path::new("/srv"));
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(
        p.console_size().map(|b| (b.height(), b.width())),
        Some((40, 120))
    );
    assert_eq!(
        p.args().as_ref().unwrap(),
        &vec![INIT_PATH, "--", "sh", "-c", "true"]
    );
    let init = mount(&s, INIT_PATH).unwrap();
    assert_eq!(
        init.source().as_deref(),
        Some(Path::new("/usr/libexec/berth-init"))
    );
    assert_eq!(options(&s, INIT_PATH), vec!["bind", "ro"]);

    c.pid = NsMode::Host;
    let s = build_ok(&c);
    assert_eq!(
        s.process().as_ref().unwrap().args().as_ref().unwrap()[0],
        "sh"
    );
    assert!(mount(&s, INIT_PATH).is_none());

    c.user = "nobody".into();
    assert_eq!(
        build(&c, &host()).unwrap_err().to_string(),
        "unable to find user nobody: no matching entries in passwd file"
    );
}

#[test]
fn docker_env_rules() {
    assert_eq!(
        docker_env("h", false, &["A=1".into(), "A=2".into(), "PATH".into()]),
        vec!["HOSTNAME=h".to_string(), "A=2".to_string()]
    );
}

#[test]
fn bundle_and_workdir_on_disk() {
    let f = fixture();
    let s = build_ok(&config(&f));
    let bundle = f.rootfs.parent().unwrap().join("bundle");
    let path = write_bundle(&bundle, &s).unwrap();
    let back: Spec = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(back, s);

    ensure_working_dir(&f.rootfs, "/app/data", 33, 33).unwrap();
    assert!(f.rootfs.join("app/data").is_dir());
    std::fs::write(f.rootfs.join("afile"), "").unwrap();
    assert_eq!(
        ensure_working_dir(&f.rootfs, "/afile", 0, 0)
            .unwrap_err()
            .to_string(),
        "Cannot mkdir: /afile is not a directory"
    );
}

#[test]
fn detected_host_is_sane() {
    let h = HostInfo::detect();
    assert!(!h.capabilities.is_empty());
    assert!(h.ncpu >= 1);
    assert!(h.hard_limit(libc::RLIMIT_NOFILE as i32) > 0);
}
