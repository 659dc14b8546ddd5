//! Volumes and mounts end to end (issue 7): named and anonymous volumes, the image's
//! `VOLUME` with copy-up, binds (ro/rw, created or refused when missing), tmpfs,
//! `--volumes-from` and the backup pattern of the seeds, `rm -v`/`--rm`, `volume rm` of a
//! volume in use, prune, volumes with mount options, `system df`, events, bad input, and
//! symlinks that try to lead a mount outside the container. Every test has its own
//! daemon; containers, volumes and mounts are removed also when a test fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use berth_tests::containers::TestDaemon;
use berth_tests::{docker_cli, TempDir};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// helpers

/// A daemon with busybox loaded; on drop (also after a failed assertion) every container,
/// volume and mount it made is gone.
struct Env {
    daemon: TestDaemon,
}

impl Env {
    fn new() -> Env {
        Env {
            daemon: TestDaemon::start(),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        self.daemon.berth_ok(args)
    }

    /// Runs a command that must fail; returns its exit code and stderr.
    fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.daemon.berth(args);
        assert!(
            !out.status.success(),
            "berth {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn volumes(&self) -> Vec<String> {
        lines(&self.ok(&["volume", "ls", "-q"]))
    }

    fn containers(&self) -> Vec<String> {
        lines(&self.ok(&["ps", "-aq"]))
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.daemon.data_root().join("volumes").join(name)
    }

    fn inspect(&self, args: &[&str]) -> Value {
        let mut all = vec!["inspect"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        let value: Value = serde_json::from_str(&text).expect("inspect prints JSON");
        value[0].clone()
    }

    /// Events of `kind` since the daemon started, as (action, actor ID) pairs.
    fn events(&self, kind: &str) -> Vec<(String, String, Value)> {
        self.daemon
            .event_history()
            .into_iter()
            .filter(|e| e["Type"] == kind)
            .map(|e| {
                (
                    e["Action"].as_str().unwrap_or("").to_string(),
                    e["Actor"]["ID"].as_str().unwrap_or("").to_string(),
                    e["Actor"]["Attributes"].clone(),
                )
            })
            .collect()
    }

    /// Imports `tar` (made by [`image_tar`]) as `name` with `changes`.
    fn import(&self, dir: &TempDir, name: &str, entries: &[Entry], changes: &[&str]) {
        let path = dir.join(&format!("{name}.tar"));
        image_tar(&path, entries);
        let path = path.display().to_string();
        let mut args = vec!["import"];
        for change in changes {
            args.push("-c");
            args.push(change);
        }
        args.push(&path);
        args.push(name);
        self.ok(&args);
    }
}

impl Drop for Env {
    /// Removes every container and volume through the daemon; `TestDaemon` then stops
    /// it and sweeps whatever is still running or mounted below its folders.
    fn drop(&mut self) {
        let containers = self.daemon.berth(&["ps", "-aq"]);
        for id in lines(&String::from_utf8_lossy(&containers.stdout)) {
            let _ = self.daemon.berth(&["rm", "-f", "-v", &id]);
        }
        let volumes = self.daemon.berth(&["volume", "ls", "-q"]);
        for name in lines(&String::from_utf8_lossy(&volumes.stdout)) {
            let _ = self.daemon.berth(&["volume", "rm", "-f", &name]);
        }
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Mount points of this process at or below `dir`.
fn mounts_below(dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| p.replace("\\040", " "))
        .filter(|p| p.starts_with(&prefix))
        .collect()
}

/// One entry of a test image.
enum Entry<'a> {
    Dir(&'a str, u32, u32),
    File(&'a str, &'a [u8], u32, u32),
    Symlink(&'a str, &'a str),
}

/// A flat image tar: busybox with every applet, `/etc/passwd`, the usual folders, plus
/// `extra` (path, mode, uid/gid).
fn image_tar(path: &Path, extra: &[Entry]) {
    let busybox = std::env::var("BUSYBOX").unwrap_or_else(|_| "/bin/busybox".into());
    let binary = std::fs::read(&busybox).expect("read busybox (busybox-static)");
    let applets = std::process::Command::new(&busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    let mut builder = tar::Builder::new(std::fs::File::create(path).expect("create tar"));
    let header = |kind: tar::EntryType, name: &str, mode: u32, owner: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_path(name).expect("tar path");
        h.set_mode(mode);
        h.set_uid(owner as u64);
        h.set_gid(owner as u64);
        h.set_size(size);
        h.set_mtime(1_700_000_000);
        h
    };
    let add = |builder: &mut tar::Builder<std::fs::File>, entry: &Entry| match entry {
        Entry::Dir(name, mode, owner) => {
            let mut h = header(tar::EntryType::Directory, name, *mode, *owner, 0);
            h.set_cksum();
            builder.append(&h, std::io::empty()).expect("tar dir");
        }
        Entry::File(name, data, mode, owner) => {
            let mut h = header(
                tar::EntryType::Regular,
                name,
                *mode,
                *owner,
                data.len() as u64,
            );
            h.set_cksum();
            builder.append(&h, *data).expect("tar file");
        }
        Entry::Symlink(name, target) => {
            let mut h = header(tar::EntryType::Symlink, name, 0o777, 0, 0);
            h.set_link_name(target).expect("link name");
            h.set_cksum();
            builder.append(&h, std::io::empty()).expect("tar link");
        }
    };
    for dir in ["bin", "dev", "etc", "proc", "sys", "tmp", "root"] {
        add(&mut builder, &Entry::Dir(dir, 0o755, 0));
    }
    add(&mut builder, &Entry::File("bin/busybox", &binary, 0o755, 0));
    let passwd = b"root:x:0:0:root:/root:/bin/sh\n";
    add(&mut builder, &Entry::File("etc/passwd", passwd, 0o644, 0));
    for applet in String::from_utf8_lossy(&applets.stdout).split_whitespace() {
        if applet != "busybox" {
            let name = format!("bin/{applet}");
            add(&mut builder, &Entry::Symlink(&name, "busybox"));
        }
    }
    for entry in extra {
        add(&mut builder, entry);
    }
    builder
        .into_inner()
        .expect("finish tar")
        .flush()
        .expect("flush");
}

fn is_hex64(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------
// named and anonymous volumes

#[test]
fn named_volume_persists_across_containers() {
    let env = Env::new();
    assert_eq!(
        env.ok(&["volume", "create", "--label", "tier=db", "data1"]),
        "data1\n"
    );
    let dir = env.volume_dir("data1");
    assert!(dir.join("_data").is_dir(), "no _data in {}", dir.display());
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).expect("meta.json"))
            .expect("meta.json is JSON");
    assert_eq!(meta["Driver"], "local");
    assert_eq!(meta["Labels"]["tier"], "db");

    env.ok(&[
        "run",
        "--name",
        "writer",
        "-v",
        "data1:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "data1:/data:ro",
            "busybox",
            "cat",
            "/data/f"
        ]),
        "kept\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("_data/f")).expect("file on the host"),
        "kept\n"
    );
    // The container's Mounts name the volume; Source is its mountpoint.
    let inspected = env.inspect(&["writer"]);
    let mounts = inspected["Mounts"].as_array().expect("Mounts");
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0]["Type"], "volume");
    assert_eq!(mounts[0]["Name"], "data1");
    assert_eq!(mounts[0]["Driver"], "local");
    assert_eq!(mounts[0]["Destination"], "/data");
    assert_eq!(mounts[0]["RW"], true);
    assert_eq!(mounts[0]["Mode"], "z");
    let volume = env.inspect(&["--type", "volume", "data1"]);
    assert_eq!(mounts[0]["Source"], volume["Mountpoint"]);
    assert_eq!(volume["Scope"], "local");
    assert_eq!(volume["Labels"]["tier"], "db");
    assert_eq!(
        env.ok(&[
            "volume",
            "inspect",
            "--format",
            "{{.Name}} {{.Driver}} {{.Mountpoint}}",
            "data1"
        ]),
        format!("data1 local {}\n", dir.join("_data").display())
    );
    // ps --filter volume= finds the user.
    assert_eq!(
        env.ok(&[
            "ps",
            "-a",
            "--filter",
            "volume=data1",
            "--format",
            "{{.Names}}"
        ]),
        "writer\n"
    );

    // Removing the container (even with -v) keeps a named volume.
    env.ok(&["rm", "-v", "writer"]);
    assert_eq!(env.volumes(), vec!["data1"]);
    env.ok(&["volume", "rm", "data1"]);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(env.volumes().is_empty());

    let events: Vec<(String, String)> = env
        .events("volume")
        .into_iter()
        .map(|(action, id, _)| (action, id))
        .collect();
    for action in ["create", "mount", "unmount", "destroy"] {
        assert!(
            events.iter().any(|(a, id)| a == action && id == "data1"),
            "no volume {action} event for data1: {events:?}"
        );
    }
}

#[test]
fn anonymous_volume_from_dash_v() {
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "anon",
        "-v",
        "/data",
        "busybox",
        "sh",
        "-c",
        "echo x > /data/x",
    ]);
    let names = env.volumes();
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    assert!(is_hex64(name), "anonymous volume name {name}");
    let volume = env.inspect(&["--type", "volume", name]);
    assert_eq!(volume["Labels"]["com.docker.volume.anonymous"], "");
    let mounts = env.inspect(&["anon"])["Mounts"].clone();
    assert_eq!(mounts[0]["Name"], name.as_str());
    assert_eq!(mounts[0]["Mode"], "");
    assert_eq!(
        std::fs::read_to_string(env.volume_dir(name).join("_data/x")).unwrap(),
        "x\n"
    );
    // In use: dangling=true leaves it out.
    assert!(lines(&env.ok(&["volume", "ls", "-q", "--filter", "dangling=true"])).is_empty());
    // `rm -v` removes it.
    env.ok(&["rm", "-v", "anon"]);
    assert!(env.volumes().is_empty());
    assert!(!env.volume_dir(name).exists());

    // Without -v it stays, dangling.
    env.ok(&["run", "--name", "anon2", "-v", "/data", "busybox", "true"]);
    env.ok(&["rm", "anon2"]);
    let left = lines(&env.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]));
    assert_eq!(left.len(), 1);
}

#[test]
fn rm_v_and_auto_remove_take_anonymous_volumes_only() {
    let env = Env::new();
    env.ok(&["volume", "create", "keepme"]);
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "/anon",
        "-v",
        "keepme:/named",
        "--mount",
        "type=volume,target=/anon2",
        "busybox",
        "true",
    ]);
    assert_eq!(env.volumes(), vec!["keepme"]);
    assert!(env.containers().is_empty());
    // A volume another container still uses survives `rm -v` of the second user.
    env.ok(&["create", "--name", "first", "-v", "/shared", "busybox"]);
    env.ok(&[
        "create",
        "--name",
        "second",
        "--volumes-from",
        "first",
        "busybox",
    ]);
    let shared = lines(&env.ok(&["volume", "ls", "-q", "--filter", "dangling=false"]));
    assert_eq!(shared.len(), 1, "{shared:?}");
    env.ok(&["rm", "-v", "second"]);
    assert!(env.volumes().contains(&shared[0]));
    env.ok(&["rm", "-v", "first"]);
    assert_eq!(env.volumes(), vec!["keepme"]);
}

// ---------------------------------------------------------------------------------------
// copy-up from the image

#[test]
fn image_volume_is_filled_from_the_image() {
    let env = Env::new();
    let tmp = TempDir::new("berth-vol-image");
    env.import(
        &tmp,
        "volimg",
        &[
            Entry::Dir("data", 0o750, 1234),
            Entry::File("data/file", b"from the image\n", 0o640, 1234),
            Entry::Dir("data/sub", 0o700, 1234),
            Entry::Symlink("data/link", "file"),
        ],
        &["VOLUME /data", "CMD [\"sh\"]"],
    );
    // The image's VOLUME gets an anonymous volume holding the image's files.
    let out = env.ok(&[
        "run",
        "--name",
        "c1",
        "volimg",
        "sh",
        "-c",
        "cat /data/file; stat -c '%u:%g %a' /data /data/file; readlink /data/link",
    ]);
    assert_eq!(out, "from the image\n1234:1234 750\n1234:1234 640\nfile\n");
    let names = env.volumes();
    assert_eq!(names.len(), 1);
    let data = env.volume_dir(&names[0]).join("_data");
    assert_eq!(
        std::fs::read_to_string(data.join("file")).unwrap(),
        "from the image\n"
    );
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&data).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (1234, 1234, 0o750)
        );
    }
    // A named volume is filled on its first mount, then left alone.
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "filled:/data",
        "volimg",
        "sh",
        "-c",
        "echo changed > /data/file",
    ]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "filled:/data",
            "volimg",
            "cat",
            "/data/file"
        ]),
        "changed\n"
    );
    // volume-nocopy (and -v ...:nocopy) leave it empty.
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            "bare:/data:nocopy",
            "volimg",
            "ls",
            "-A",
            "/data"
        ]),
        ""
    );
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--mount",
            "type=volume,source=bare2,target=/data,volume-nocopy",
            "volimg",
            "ls",
            "-A",
            "/data"
        ]),
        ""
    );
    // A bind replaces the image's VOLUME without an anonymous volume.
    let host = tmp.join("hostdir");
    std::fs::create_dir(&host).unwrap();
    let bind = format!("{}:/data", host.display());
    env.ok(&["run", "--rm", "-v", &bind, "volimg", "true"]);
    assert_eq!(env.volumes().len(), 4, "{:?}", env.volumes());
    assert_eq!(
        std::fs::read_dir(&host).unwrap().count(),
        0,
        "a bind is never filled"
    );
}

// ---------------------------------------------------------------------------------------
// binds and tmpfs

#[test]
fn bind_mounts_read_write_and_read_only() {
    let env = Env::new();
    let tmp = TempDir::new("berth-vol-bind");
    let host = tmp.join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    let rw = format!("{}:/mnt", host.display());
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            &rw,
            "busybox",
            "sh",
            "-c",
            "cat /mnt/in; echo out > /mnt/out"
        ]),
        "from host\n"
    );
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "out\n");

    let ro = format!("{}:/mnt:ro", host.display());
    let out = env
        .daemon
        .berth(&["run", "--rm", "-v", &ro, "busybox", "touch", "/mnt/nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mount_ro = format!("type=bind,source={},target=/mnt,readonly", host.display());
    let out = env.daemon.berth(&[
        "run",
        "--rm",
        "--mount",
        &mount_ro,
        "busybox",
        "touch",
        "/mnt/nope",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"));
    assert!(!host.join("nope").exists());
    let inspected = {
        env.ok(&["create", "--name", "ro", "-v", &ro, "busybox"]);
        env.inspect(&["ro"])
    };
    let mount = &inspected["Mounts"][0];
    assert_eq!(mount["Type"], "bind");
    assert_eq!(mount["Source"], host.display().to_string());
    assert_eq!(mount["Mode"], "ro");
    assert_eq!(mount["RW"], false);
    assert_eq!(mount["Propagation"], "rprivate");

    // -v creates a missing host folder; --mount refuses it with docker's message.
    let missing = tmp.join("made/by/run");
    let spec = format!("{}:/m", missing.display());
    env.ok(&["run", "--rm", "-v", &spec, "busybox", "true"]);
    assert!(missing.is_dir());
    let absent = tmp.join("absent");
    let spec = format!("type=bind,source={},target=/m", absent.display());
    let before = env.containers().len();
    let (code, err) = env.fails(&["run", "--rm", "--mount", &spec, "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains(&format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            absent.display()
        )),
        "{err}"
    );
    assert!(!absent.exists());
    assert_eq!(
        env.containers().len(),
        before,
        "a refused create leaves no container"
    );
}

#[test]
fn tmpfs_mounts() {
    let env = Env::new();
    let out = env.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/scratch:size=1m",
        "busybox",
        "sh",
        "-c",
        "grep ' /scratch ' /proc/mounts",
    ]);
    assert!(out.starts_with("tmpfs /scratch tmpfs"), "{out}");
    assert!(out.contains("size=1024k"), "{out}");
    let out = env.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770",
        "busybox",
        "sh",
        "-c",
        "grep ' /t ' /proc/mounts; stat -c %a /t",
    ]);
    assert!(out.contains("size=2048k"), "{out}");
    assert!(out.ends_with("1770\n"), "{out}");
    // --tmpfs over an image VOLUME path replaces the anonymous volume.
    env.ok(&[
        "run", "--rm", "--tmpfs", "/t", "-v", "/t", "busybox", "true",
    ]);
    assert!(env.volumes().is_empty());
}

// ---------------------------------------------------------------------------------------
// --volumes-from and the seed's backup pattern

#[test]
fn volumes_from_backup_pattern() {
    let env = Env::new();
    let tmp = TempDir::new("berth-vol-backup");
    env.ok(&[
        "run",
        "-v",
        "/dbdata",
        "--name",
        "dbdata",
        "busybox",
        "sh",
        "-c",
        "echo row1 > /dbdata/table",
    ]);
    let backup = format!("{}:/backup", tmp.path.display());
    env.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata",
        "-v",
        &backup,
        "busybox",
        "tar",
        "cvf",
        "/backup/backup.tar",
        "/dbdata",
    ]);
    let file = std::fs::File::open(tmp.join("backup.tar")).expect("backup.tar written");
    let mut archive = tar::Archive::new(file);
    let mut found = None;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            == "dbdata/table"
        {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            found = Some(text);
        }
    }
    assert_eq!(found.as_deref(), Some("row1\n"));

    // Restore into a new data container, as the seed does.
    env.ok(&[
        "run", "-v", "/dbdata", "--name", "dbstore2", "busybox", "true",
    ]);
    env.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbstore2",
        "-v",
        &backup,
        "busybox",
        "sh",
        "-c",
        "cd /dbdata && tar xvf /backup/backup.tar --strip 1",
    ]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "dbstore2",
            "busybox",
            "cat",
            "/dbdata/table"
        ]),
        "row1\n"
    );
    // :ro makes the inherited mounts read-only.
    let out = env.daemon.berth(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata:ro",
        "busybox",
        "touch",
        "/dbdata/x",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"));
    // Unknown source container: docker's 404.
    let (code, err) = env.fails(&["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("No such container: nosuch"), "{err}");
}

// ---------------------------------------------------------------------------------------
// volume commands

#[test]
fn volume_rm_in_use_is_a_conflict() {
    let env = Env::new();
    env.ok(&["volume", "create", "busy"]);
    let id = env
        .ok(&["create", "-v", "busy:/b", "busybox"])
        .trim()
        .to_string();
    let (code, err) = env.fails(&["volume", "rm", "busy"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "Error response from daemon: remove busy: volume is in use - [{id}]"
        )),
        "{err}"
    );
    let response = env
        .daemon
        .raw("DELETE /v1.41/volumes/busy?force=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 409, "{}", response.text());
    assert_eq!(
        response.json()["message"],
        format!("remove busy: volume is in use - [{id}]")
    );
    let response = env.daemon.get("/volumes/nosuch");
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["message"], "get nosuch: no such volume");
    let (_, err) = env.fails(&["volume", "rm", "nosuch"]);
    assert!(err.contains("get nosuch: no such volume"), "{err}");
    // -f forgives a missing volume only.
    env.ok(&["volume", "rm", "-f", "nosuch"]);
    env.ok(&["rm", &id]);
    assert_eq!(env.ok(&["volume", "rm", "busy"]), "busy\n");
}

#[test]
fn volume_create_ls_inspect() {
    let env = Env::new();
    env.ok(&[
        "volume", "create", "--label", "a=1", "--label", "flag", "alpha",
    ]);
    env.ok(&["volume", "create", "--name", "beta"]);
    // Creating an existing volume returns it.
    assert_eq!(env.ok(&["volume", "create", "beta"]), "beta\n");
    let anon = env.ok(&["volume", "create"]).trim().to_string();
    assert!(is_hex64(&anon));
    let table = env.ok(&["volume", "ls"]);
    let rows = lines(&table);
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["DRIVER", "VOLUME", "NAME"]
    );
    assert!(rows[0].starts_with("DRIVER    VOLUME NAME"), "{table}");
    assert_eq!(rows.len(), 4, "{table}");
    let filtered = |filter: &str| lines(&env.ok(&["volume", "ls", "-q", "--filter", filter]));
    assert_eq!(filtered("name=alp"), vec!["alpha"]);
    assert_eq!(filtered("label=a=1"), vec!["alpha"]);
    assert_eq!(filtered("label=flag"), vec!["alpha"]);
    assert_eq!(filtered("driver=local").len(), 3);
    assert_eq!(filtered("dangling=true").len(), 3);
    assert_eq!(
        env.ok(&[
            "volume",
            "ls",
            "--filter",
            "name=beta",
            "--format",
            "{{.Name}}|{{.Driver}}|{{.Scope}}|{{.Labels}}"
        ]),
        "beta|local|local|\n"
    );
    assert_eq!(
        env.ok(&[
            "volume",
            "ls",
            "--filter",
            "name=alpha",
            "--format",
            "{{.Labels}} {{.Label \"a\"}}"
        ]),
        "a=1,flag= 1\n"
    );
    let (code, err) = env.fails(&["volume", "ls", "--filter", "bogus=1"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid filter 'bogus'"), "{err}");
    // inspect: found ones printed, then docker's error for the missing one.
    let out = env.daemon.berth(&["volume", "inspect", "alpha", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON array");
    assert_eq!(printed[0]["Name"], "alpha");
    assert_eq!(printed[0]["Labels"]["flag"], "");
    assert!(printed[0]["CreatedAt"]
        .as_str()
        .is_some_and(|t| t.len() >= 20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such volume: nosuch"));
    // Names: docker's rule; options: the local driver's.
    let (_, err) = env.fails(&["volume", "create", "a/b"]);
    assert!(
        err.contains("create a/b: \"a/b\" includes invalid characters for a local volume name"),
        "{err}"
    );
    let (_, err) = env.fails(&["volume", "create", "-o", "bogus=1", "gamma"]);
    assert!(
        err.contains("create gamma: invalid option: \"bogus\""),
        "{err}"
    );
    let (_, err) = env.fails(&["volume", "create", "-d", "nfs-plugin", "delta"]);
    assert!(err.contains("plugin \"nfs-plugin\" not found"), "{err}");
    assert_eq!(env.volumes().len(), 3, "failed creates leave nothing");
    assert!(!env.volume_dir("gamma").exists());
}

#[test]
fn prune_takes_unused_anonymous_volumes_unless_all() {
    let env = Env::new();
    env.ok(&["volume", "create", "named-unused"]);
    env.ok(&["volume", "create", "named-used"]);
    env.ok(&[
        "create",
        "--name",
        "user",
        "-v",
        "named-used:/u",
        "-v",
        "/anon-used",
        "busybox",
    ]);
    env.ok(&[
        "run",
        "--name",
        "gone",
        "-v",
        "/anon-unused",
        "busybox",
        "true",
    ]);
    env.ok(&["rm", "gone"]);
    assert_eq!(env.volumes().len(), 4);
    let out = env.ok(&["volume", "prune", "-f"]);
    assert!(out.starts_with("Deleted Volumes:\n"), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    let left = env.volumes();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&"named-unused".to_string()));
    // -a also takes unused named volumes, never used ones.
    env.ok(&["volume", "prune", "-a", "-f"]);
    let left = env.volumes();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"named-used".to_string()));
    // Old clients (API < 1.42) prune every unused volume.
    env.ok(&["volume", "create", "old-api"]);
    let response = berth_tests::images::post_body(
        &env.daemon.socket,
        "/v1.41/volumes/prune",
        "application/json",
        b"",
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json()["VolumesDeleted"],
        serde_json::json!(["old-api"])
    );
    assert!(env
        .events("volume")
        .iter()
        .any(|(action, _, attrs)| action == "prune" && attrs["reclaimed"].is_string()));
}

#[test]
fn volume_with_mount_options_is_mounted_while_used() {
    let env = Env::new();
    env.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2m",
        "ram",
    ]);
    let data = env.volume_dir("ram").join("_data");
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        "ram:/r",
        "busybox",
        "sh",
        "-c",
        "grep ' /r ' /proc/mounts",
    ]);
    assert!(
        out.starts_with("tmpfs /r tmpfs") && out.contains("size=2048k"),
        "{out}"
    );
    assert!(
        mounts_below(&data).is_empty(),
        "unmounted after the last user"
    );
    env.ok(&[
        "run", "-d", "--name", "holder", "-v", "ram:/r", "busybox", "sleep", "60",
    ]);
    assert_eq!(mounts_below(&data), vec![data.display().to_string()]);
    env.ok(&["rm", "-f", "holder"]);
    assert!(mounts_below(&data).is_empty());
    let volume = env.inspect(&["--type", "volume", "ram"]);
    assert_eq!(volume["Options"]["type"], "tmpfs");
    assert_eq!(volume["Options"]["o"], "size=2m");

    // A bind of a host folder, read-only.
    let tmp = TempDir::new("berth-vol-opts");
    std::fs::write(tmp.join("seen"), "yes\n").unwrap();
    let device = format!("device={}", tmp.path.display());
    env.ok(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        &device,
        "-o",
        "o=bind,ro",
        "hostro",
    ]);
    let out = env.daemon.berth(&[
        "run",
        "--rm",
        "-v",
        "hostro:/h",
        "busybox",
        "sh",
        "-c",
        "cat /h/seen; touch /h/x",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "yes\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"));
    env.ok(&["volume", "rm", "hostro"]);
    assert!(
        tmp.join("seen").exists(),
        "removing the volume keeps the host folder"
    );
    // Missing required options.
    let (_, err) = env.fails(&["volume", "create", "-o", "type=tmpfs", "broken"]);
    assert!(err.contains("missing required option: \"device\""), "{err}");
}

#[test]
fn system_df_counts_volumes() {
    let env = Env::new();
    env.ok(&["volume", "create", "sized"]);
    env.ok(&[
        "run",
        "--name",
        "sizer",
        "-v",
        "sized:/s",
        "busybox",
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /s/blob",
    ]);
    let usage = env.daemon.get("/system/df").json();
    let volume = usage["Volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["Name"] == "sized"))
        .expect("sized in /system/df")
        .clone();
    assert_eq!(volume["UsageData"]["Size"], 5000);
    assert_eq!(volume["UsageData"]["RefCount"], 1);
    let verbose = env.ok(&["system", "df", "-v"]);
    assert!(verbose.contains("Local Volumes space usage:"), "{verbose}");
    assert!(
        verbose
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["sized", "1", "5kB"]),
        "{verbose}"
    );
}

// ---------------------------------------------------------------------------------------
// bad input and safety

#[test]
fn bad_mounts_are_refused_before_anything_is_created() {
    let env = Env::new();
    let tmp = TempDir::new("berth-vol-bad");
    let host = tmp.path.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-v".into(), "rel/dir:/x".into()],
            "includes invalid characters for a local volume name",
        ),
        (
            vec!["-v".into(), format!("{host}:relative")],
            "invalid mount path: 'relative' mount path must be absolute",
        ),
        // The CLI catches this one itself, as docker's does.
        (
            vec!["-v".into(), format!("{host}:/a:/b:/c")],
            "too many colons",
        ),
        (
            vec!["-v".into(), format!("{host}:/x:rw,bogus")],
            "invalid mode: rw,bogus",
        ),
        (
            vec!["-v".into(), format!("{host}:/proc")],
            "\"/proc\" cannot be mounted",
        ),
        (vec!["-v".into(), "vol:/proc/sys".into()], "inside /proc"),
        (
            vec!["--tmpfs".into(), "/proc".into()],
            "\"/proc\" cannot be mounted",
        ),
        (
            vec![
                "-v".into(),
                "/anon".into(),
                "-v".into(),
                "bad/name:/y".into(),
            ],
            "includes invalid characters",
        ),
        (
            vec![
                "-v".into(),
                "a1:/same".into(),
                "-v".into(),
                "a2:/same".into(),
            ],
            "Duplicate mount point: /same",
        ),
        (
            vec!["--mount".into(), "type=volume,source=v1,target=rel".into()],
            "mount path must be absolute",
        ),
    ];
    for (flags, wanted) in cases {
        let mut args: Vec<&str> = vec!["run", "--rm"];
        args.extend(flags.iter().map(String::as_str));
        args.extend(["busybox", "true"]);
        let (code, err) = env.fails(&args);
        assert_eq!(code, 125, "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: wanted {wanted:?} in {err}");
        assert!(
            env.volumes().is_empty(),
            "{args:?} created {:?}",
            env.volumes()
        );
        assert!(env.containers().is_empty(), "{args:?} created a container");
    }
    assert_eq!(
        std::fs::read_dir(&tmp.path).unwrap().count(),
        0,
        "nothing made on the host"
    );
    // The same through the API, as docker-py would send it.
    let body = br#"{"Image":"busybox","HostConfig":{"Binds":["data:not-absolute"]}}"#;
    let response = berth_tests::images::post_body(
        &env.daemon.socket,
        "/containers/create",
        "application/json",
        body,
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["message"],
        "invalid volume specification: 'data:not-absolute': invalid mount config for type \"volume\": invalid mount path: 'not-absolute' mount path must be absolute"
    );
    assert!(env.volumes().is_empty());
    let body = br#"{"Image":"busybox","HostConfig":{"Binds":["/tmp:/a:ro:extra"]}}"#;
    let response = berth_tests::images::post_body(
        &env.daemon.socket,
        "/containers/create",
        "application/json",
        body,
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["message"],
        "invalid volume specification: '/tmp:/a:ro:extra'"
    );
}

#[test]
fn symlinks_cannot_lead_a_mount_outside_the_container() {
    let env = Env::new();
    let tmp = TempDir::new("berth-vol-escape");
    let marker = format!("berth-escape-{}", std::process::id());
    let host_marker = Path::new("/etc").join(&marker);
    let _ = std::fs::remove_file(&host_marker);
    // The image's /data is a symlink to /etc.
    env.import(
        &tmp,
        "linkimg",
        &[Entry::Symlink("data", "/etc")],
        &["CMD [\"sh\"]"],
    );
    let script = format!("touch /data/{marker} && grep ' /etc ' /proc/mounts | wc -l");
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        "esc:/data",
        "linkimg",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(
        out.trim(),
        "1",
        "the volume covers the container's own /etc"
    );
    assert!(
        !host_marker.exists(),
        "a container wrote {}",
        host_marker.display()
    );
    assert!(env.volume_dir("esc").join("_data").join(&marker).exists());
    // Copy-up followed the link inside the image: it copied the image's /etc.
    assert!(env.volume_dir("esc").join("_data/passwd").exists());

    // A symlink planted inside a volume, then used as a mount target.
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "planted:/v",
        "busybox",
        "ln",
        "-s",
        "/etc",
        "/v/link",
    ]);
    let script = format!("touch /v/link/{marker}");
    env.ok(&[
        "run",
        "--rm",
        "-v",
        "planted:/v",
        "-v",
        "inner:/v/link",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert!(
        !host_marker.exists(),
        "a container wrote {}",
        host_marker.display()
    );
    assert!(env.volume_dir("inner").join("_data").join(&marker).exists());
    let _ = std::fs::remove_file(&host_marker);
}

// ---------------------------------------------------------------------------------------
// the docker CLI

#[test]
fn docker_cli_drives_volumes() {
    let Some(docker) = docker_cli() else {
        eprintln!("docker CLI not installed; skipping");
        return;
    };
    let env = Env::new();
    let tmp = TempDir::new("berth-vol-docker");
    let docker_run = |args: &[&str]| {
        let out = std::process::Command::new(&docker)
            .arg("-H")
            .arg(env.daemon.host())
            .args(args)
            .env_remove("DOCKER_HOST")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run docker");
        out
    };
    let ok = |args: &[&str]| -> String {
        let out: Output = docker_run(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(ok(&["volume", "create", "dv"]), "dv\n");
    assert!(ok(&["volume", "ls"]).contains("local     dv"));
    ok(&[
        "run",
        "-v",
        "/dbdata",
        "--name",
        "dbdata",
        "busybox",
        "sh",
        "-c",
        "echo hi > /dbdata/f",
    ]);
    let backup = format!("{}:/backup", tmp.path.display());
    ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata",
        "-v",
        &backup,
        "busybox",
        "tar",
        "cf",
        "/backup/b.tar",
        "/dbdata",
    ]);
    assert!(tmp.join("b.tar").is_file());
    ok(&[
        "run",
        "--rm",
        "-v",
        "dv:/d",
        "busybox",
        "sh",
        "-c",
        "echo y > /d/y",
    ]);
    assert_eq!(
        ok(&["run", "--rm", "-v", "dv:/d", "busybox", "cat", "/d/y"]),
        "y\n"
    );
    let out = docker_run(&["volume", "rm", "dv"]);
    assert!(out.status.success());
    ok(&["create", "--name", "holder", "-v", "held:/h", "busybox"]);
    let out = docker_run(&["volume", "rm", "held"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("volume is in use"));
    ok(&["rm", "-v", "holder", "dbdata"]);
    let inspect = ok(&["volume", "inspect", "--format", "{{.Driver}}", "held"]);
    assert_eq!(inspect, "local\n");
}
