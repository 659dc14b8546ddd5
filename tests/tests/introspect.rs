//! Looking into and changing containers, through the berth CLI and the docker CLI when
//! one is installed: `commit` (then `run` shows the change), `export` then `import` then
//! `run`, `diff`, `cp` both ways (links, modes, owners; running and stopped containers;
//! `-`, `-L`, `dir/.`; never outside the container's root), `stats` (numbers that follow
//! the container's memory and CPU use, `--format`, `-a`, streaming), `top` with ps
//! options, and `update` writing the container's cgroup.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use berth_tests::containers::{for_each_client, Client, ClientKind, Pty, TestDaemon, SETTLE};
use berth_tests::introspect::{
    cgroup_v2, cgroup_value, eventually, eventually_within, parse_size, start_container,
};
use berth_tests::TempDir;

// ---------------------------------------------------------------------------------------
// commit, export/import, diff

#[test]
fn commit_then_run_shows_the_change() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("commit-src");
        start_container(c, &name, &[]);
        c.ok(&["exec", &name, "sh", "-c", "echo committed > /greeting"]);
        let image = format!("committed-{}:v1", c.label());
        let out = c.ok(&[
            "commit",
            "-m",
            "add a greeting",
            "-a",
            "Tester <tester@example.com>",
            "-c",
            "CMD [\"cat\", \"/greeting\"]",
            "-c",
            "ENV GREETING=hi",
            &name,
            &image,
        ]);
        let id = out.trim();
        assert!(
            id.starts_with("sha256:") && id.len() == 71,
            "commit prints the image ID: {out:?}"
        );
        // The new image runs with the change and the new config.
        assert_eq!(c.ok(&["run", "--rm", &image]), "committed\n");
        assert_eq!(
            c.ok(&["run", "--rm", &image, "sh", "-c", "echo $GREETING"]),
            "hi\n"
        );
        let inspect = c.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}}|{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}",
            &image,
        ]);
        assert_eq!(
            inspect.trim(),
            format!("{id}|Tester <tester@example.com>|add a greeting|[\"cat\",\"/greeting\"]")
        );
        let history = c.ok(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.Comment}}|{{.CreatedBy}}",
            &image,
        ]);
        assert_eq!(
            history.lines().next(),
            Some("add a greeting|sleep 600"),
            "{history}"
        );
        // The container keeps running (it was paused only for the commit).
        assert_eq!(d.inspect(&name)["State"]["Status"], "running");

        // Without a name, with --pause=false, from a stopped container.
        c.ok(&["exec", &name, "sh", "-c", "echo second > /second"]);
        let out = c.ok(&["commit", "--pause=false", &name]);
        let untagged = out.trim().to_string();
        assert!(untagged.starts_with("sha256:"), "{out:?}");
        c.ok(&["stop", "-t", "0", &name]);
        let stopped_image = format!("committed-{}:stopped", c.label());
        c.ok(&["commit", &name, &stopped_image]);
        assert_eq!(
            c.ok(&["run", "--rm", &stopped_image, "cat", "/second"]),
            "second\n"
        );
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn commit_of_a_missing_container_is_404() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let out = c.expect_code(&["commit", "no-such-container", "x:y"], 1);
        assert!(
            out.stderr
                .contains("Error response from daemon: No such container: no-such-container"),
            "{out:?}"
        );
    });
    let response = d.api("POST", "/commit?container=no-such-container", None);
    assert_eq!(response.status, 404, "{}", response.text());
}

/// Seed 000: `export` a container, `import` the tar as an image, run it.
#[test]
fn export_then_import_then_run() {
    let d = TestDaemon::start();
    let dir = TempDir::new("berth-export");
    for_each_client(&d, |c| {
        let name = c.name("export-src");
        start_container(c, &name, &[]);
        c.ok(&["exec", &name, "sh", "-c", "echo exported > /root/marker"]);
        let file = dir.join(&format!("{}.tar", c.label()));
        let file_arg = file.to_str().expect("utf-8 path");
        assert_eq!(c.ok(&["export", "-o", file_arg, &name]), "");
        let mode = std::fs::metadata(&file).expect("export file").mode() & 0o777;
        assert_eq!(mode, 0o600, "export -o writes a private file");
        let listing = tar_names(&std::fs::read(&file).expect("read export"));
        for wanted in ["bin/busybox", "etc/passwd", "root/marker"] {
            assert!(
                listing.iter().any(|n| n == wanted),
                "{wanted} in {listing:?}"
            );
        }
        // To stdout when it is not a terminal: the same archive.
        let out = c.command(&["export", &name]).output().expect("export");
        assert!(out.status.success());
        assert_eq!(tar_names(&out.stdout), listing);

        let image = format!("imported-{}:latest", c.label());
        let out = c.ok(&["import", file_arg, &image]);
        assert!(out.trim().starts_with("sha256:"), "{out:?}");
        assert_eq!(
            c.ok(&["run", "--rm", &image, "cat", "/root/marker"]),
            "exported\n"
        );
        assert_eq!(
            c.ok(&["run", "--rm", &image, "/bin/busybox", "echo", "runs"]),
            "runs\n"
        );
        // A stopped container exports too.
        c.ok(&["stop", "-t", "0", &name]);
        let stopped = dir.join(&format!("{}-stopped.tar", c.label()));
        c.ok(&["export", "--output", stopped.to_str().expect("path"), &name]);
        assert!(
            tar_names(&std::fs::read(&stopped).expect("read")).contains(&"root/marker".to_string())
        );
        // Never to a terminal.
        let mut pty = Pty::spawn(c.command(&["export", &name]));
        let status = pty.wait(SETTLE).expect("export refuses at once");
        assert_eq!(status.code(), Some(1), "{}", pty.output());
        assert!(
            pty.output()
                .contains("cowardly refusing to save to a terminal. Use the -o flag or redirect"),
            "{}",
            pty.output()
        );
        let out = c.expect_code(&["export", "no-such-container"], 1);
        assert!(
            out.stderr.contains("No such container: no-such-container"),
            "{out:?}"
        );
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn diff_lists_added_changed_and_deleted_paths() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("diff");
        start_container(c, &name, &[]);
        c.ok(&[
            "exec",
            &name,
            "sh",
            "-c",
            "mkdir -p /added/sub && echo x > /added/sub/file && rm /etc/group && echo more >> /etc/passwd",
        ]);
        let out = c.ok(&["diff", &name]);
        let lines: Vec<&str> = out.lines().collect();
        for wanted in [
            "A /added",
            "A /added/sub",
            "A /added/sub/file",
            "C /etc",
            "D /etc/group",
            "C /etc/passwd",
        ] {
            assert!(lines.contains(&wanted), "{wanted:?} in {lines:?}");
        }
        // The same after the container stopped.
        c.ok(&["stop", "-t", "0", &name]);
        assert_eq!(c.ok(&["diff", &name]), out);
        let out = c.expect_code(&["diff", "no-such-container"], 1);
        assert!(out.stderr.contains("No such container"), "{out:?}");
        c.ok(&["rm", "-f", &name]);
    });
}

// ---------------------------------------------------------------------------------------
// cp

/// Names of the entries of a tar, without a leading `./`.
fn tar_names(data: &[u8]) -> Vec<String> {
    tar_entries(data).into_keys().collect()
}

#[derive(Debug, Clone, PartialEq)]
struct TarEntry {
    kind: char,
    mode: u32,
    uid: u64,
    gid: u64,
    link: String,
    data: Vec<u8>,
}

/// name (no leading `./`, no trailing `/`) → entry.
fn tar_entries(data: &[u8]) -> BTreeMap<String, TarEntry> {
    let mut archive = tar::Archive::new(data);
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = name
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let header = entry.header().clone();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).expect("entry data");
        let kind = match header.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Fifo => 'p',
            _ => 'f',
        };
        out.insert(
            name,
            TarEntry {
                kind,
                mode: header.mode().expect("mode") & 0o7777,
                uid: header.uid().expect("uid"),
                gid: header.gid().expect("gid"),
                link: entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.display().to_string().trim_start_matches("./").to_string())
                    .unwrap_or_default(),
                data: content,
            },
        );
    }
    out
}

/// A local tree with what `cp` must keep: a symlink (relative and absolute), a hard
/// link, unusual modes (setgid dir, 0741 file, 0600 file), owners, a fifo and an empty
/// directory.
fn make_tree(root: &Path) {
    let chown = |p: &Path, uid: u32, gid: u32| {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid)).expect("chown");
    };
    let chmod = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    std::fs::create_dir_all(root.join("sub/empty")).expect("mkdir");
    std::fs::write(root.join("sub/data.txt"), b"some data\n").expect("write");
    std::fs::write(root.join("secret"), b"private\n").expect("write");
    std::fs::hard_link(root.join("sub/data.txt"), root.join("hardlink")).expect("link");
    std::os::unix::fs::symlink("sub/data.txt", root.join("rel-link")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", root.join("abs-link")).expect("symlink");
    let fifo = std::ffi::CString::new(root.join("fifo").to_str().expect("path")).expect("c");
    // SAFETY: creates a fifo at a path in our own temp folder.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0, "mkfifo");
    chmod(&root.join("fifo"), 0o640);
    chmod(&root.join("sub/data.txt"), 0o741);
    chmod(&root.join("secret"), 0o600);
    chmod(&root.join("sub"), 0o2750);
    chown(&root.join("sub/data.txt"), 1234, 5678);
    chown(&root.join("secret"), 4321, 8765);
    chown(&root.join("sub"), 1000, 1000);
    chown(&root.join("rel-link"), 77, 88);
}

/// Checks a copy of `make_tree` as `stat` sees it inside the container.
fn check_tree_in_container(c: &Client<'_>, name: &str, dir: &str, owners: bool) {
    let out = c.ok(&[
        "exec",
        name,
        "sh",
        "-c",
        &format!(
            "cd {dir} && stat -c '%n %F %a %u %g %h %i' sub sub/data.txt hardlink secret fifo sub/empty \
             && readlink rel-link && readlink abs-link && cat hardlink"
        ),
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let field = |line: usize, index: usize| -> String {
        let fields: Vec<&str> = lines[line].split_whitespace().collect();
        // `%F` may be two words ("regular file", "fifo"); count from the end.
        fields[fields.len() - 7 + index].to_string()
    };
    assert!(lines.len() >= 9, "{out}");
    assert!(lines[0].starts_with("sub directory"), "{out}");
    assert_eq!(field(0, 2), "2750", "{out}");
    assert_eq!(field(1, 2), "741", "{out}");
    assert_eq!(field(3, 2), "600", "{out}");
    assert!(
        lines[4].starts_with("fifo fifo"),
        "a fifo stays a fifo: {out}"
    );
    assert_eq!(field(4, 2), "640", "{out}");
    assert!(lines[5].starts_with("sub/empty directory"), "{out}");
    // The hard link is one inode with two names.
    assert_eq!(field(1, 5), "2", "{out}");
    assert_eq!(field(1, 6), field(2, 6), "hard link: {out}");
    if owners {
        assert_eq!(
            (field(0, 3), field(0, 4)),
            ("1000".into(), "1000".into()),
            "{out}"
        );
        assert_eq!(
            (field(1, 3), field(1, 4)),
            ("1234".into(), "5678".into()),
            "{out}"
        );
        assert_eq!(
            (field(3, 3), field(3, 4)),
            ("4321".into(), "8765".into()),
            "{out}"
        );
    } else {
        // Without -a the files belong to the container's root, as docker does.
        for line in 0..6 {
            assert_eq!(
                (field(line, 3), field(line, 4)),
                ("0".into(), "0".into()),
                "{out}"
            );
        }
    }
    assert_eq!(
        &lines[6..9],
        ["sub/data.txt", "/etc/passwd", "some data"],
        "{out}"
    );
}

/// Checks a local copy of `make_tree`.
fn check_tree_on_host(root: &Path, owners: bool) {
    let meta =
        |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert!(meta("sub").is_dir());
    assert_eq!(meta("sub").mode() & 0o7777, 0o2750);
    assert_eq!(meta("sub/data.txt").mode() & 0o7777, 0o741);
    assert_eq!(meta("secret").mode() & 0o7777, 0o600);
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &meta("fifo").file_type()
    ));
    assert!(meta("sub/empty").is_dir());
    assert_eq!(
        meta("hardlink").ino(),
        meta("sub/data.txt").ino(),
        "hard link kept"
    );
    assert_eq!(
        std::fs::read_link(root.join("rel-link")).expect("link"),
        Path::new("sub/data.txt")
    );
    assert_eq!(
        std::fs::read_link(root.join("abs-link")).expect("link"),
        Path::new("/etc/passwd")
    );
    assert_eq!(
        std::fs::read(root.join("hardlink")).expect("read"),
        b"some data\n"
    );
    if owners {
        assert_eq!((meta("sub").uid(), meta("sub").gid()), (1000, 1000));
        assert_eq!(
            (meta("sub/data.txt").uid(), meta("sub/data.txt").gid()),
            (1234, 5678)
        );
        assert_eq!((meta("secret").uid(), meta("secret").gid()), (4321, 8765));
        assert_eq!((meta("rel-link").uid(), meta("rel-link").gid()), (77, 88));
    }
}

#[test]
fn cp_a_directory_both_ways_keeps_links_modes_and_owners() {
    let d = TestDaemon::start();
    let dir = TempDir::new("berth-cp");
    let src = dir.join("src");
    make_tree(&src);
    let src_arg = src.to_str().expect("utf-8 path");
    for_each_client(&d, |c| {
        for running in [true, false] {
            let name = c.name(if running { "cp-running" } else { "cp-stopped" });
            start_container(c, &name, &[]);
            if !running {
                c.ok(&["stop", "-t", "0", &name]);
            }
            let check_inside = |dir: &str, owners: bool| {
                if !running {
                    c.ok(&["start", &name]);
                    d.wait_running(&name);
                }
                check_tree_in_container(c, &name, dir, owners);
                if !running {
                    c.ok(&["stop", "-t", "0", &name]);
                }
            };
            // Into an existing directory: under the source's name; -a keeps owners.
            c.ok(&["cp", "-a", src_arg, &format!("{name}:/tmp")]);
            check_inside("/tmp/src", true);
            // To a new name, without -a: root owns the copy.
            c.ok(&["cp", src_arg, &format!("{name}:/tmp/renamed")]);
            check_inside("/tmp/renamed", false);
            // `dir/.` copies the contents into an existing directory.
            c.ok(&[
                "cp",
                "-a",
                &format!("{src_arg}/."),
                &format!("{name}:/root"),
            ]);
            check_inside("/root", true);

            // And back: the archive keeps owners, modes and links ...
            let out = c
                .command(&["cp", &format!("{name}:/tmp/src"), "-"])
                .output()
                .expect("cp");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let entries = tar_entries(&out.stdout);
            assert_eq!(entries["src/sub"].kind, 'd');
            assert_eq!(entries["src/sub"].mode, 0o2750);
            assert_eq!(
                (entries["src/sub"].uid, entries["src/sub"].gid),
                (1000, 1000)
            );
            assert_eq!(entries["src/secret"].mode, 0o600);
            assert_eq!(
                (entries["src/secret"].uid, entries["src/secret"].gid),
                (4321, 8765)
            );
            assert_eq!(entries["src/rel-link"].kind, 'l');
            assert_eq!(entries["src/rel-link"].link, "sub/data.txt");
            assert_eq!(entries["src/fifo"].kind, 'p');
            let (first, second) = (&entries["src/hardlink"], &entries["src/sub/data.txt"]);
            assert!(
                (first.kind == 'f' && second.kind == 'h' && second.link == "src/hardlink")
                    || (second.kind == 'f'
                        && first.kind == 'h'
                        && first.link == "src/sub/data.txt"),
                "one content and one hard link entry: {first:?} {second:?}"
            );
            // ... and so does the local copy (owners with -a under berth; docker's own
            // client never changes owners on the local side).
            let local = dir.join(&format!("{name}-back"));
            let local_arg = local.to_str().expect("path");
            let copy_owners = c.kind == ClientKind::Berth;
            let mut args = vec!["cp"];
            if copy_owners {
                args.push("-a");
            }
            let from = format!("{name}:/tmp/src");
            args.extend_from_slice(&[&from, local_arg]);
            c.ok(&args);
            check_tree_on_host(&local, copy_owners);
            // `dir/.` into an existing local directory copies the contents.
            let contents = dir.join(&format!("{name}-contents"));
            std::fs::create_dir(&contents).expect("mkdir");
            c.ok(&[
                "cp",
                &format!("{name}:/tmp/src/."),
                contents.to_str().expect("path"),
            ]);
            check_tree_on_host(&contents, false);
            assert!(
                !contents.join("src").exists(),
                "contents, not the directory"
            );
            // `dir/.` to a new local name creates it with the contents.
            let fresh = dir.join(&format!("{name}-fresh"));
            c.ok(&[
                "cp",
                &format!("{name}:/tmp/src/."),
                fresh.to_str().expect("path"),
            ]);
            check_tree_on_host(&fresh, false);
            c.ok(&["rm", "-f", &name]);
        }
    });
}

#[test]
fn cp_files_follows_docker_rules() {
    let d = TestDaemon::start();
    let dir = TempDir::new("berth-cp-files");
    std::fs::write(dir.join("file.txt"), b"content\n").expect("write");
    std::os::unix::fs::symlink("file.txt", dir.join("link")).expect("symlink");
    let file_arg = dir.join("file.txt").display().to_string();
    for_each_client(&d, |c| {
        let name = c.name("cp-files");
        start_container(c, &name, &[]);
        let target = |p: &str| format!("{name}:{p}");
        // File into a directory, onto an existing file, to a new name.
        c.ok(&["cp", &file_arg, &target("/tmp/")]);
        c.ok(&["exec", &name, "sh", "-c", "echo old > /tmp/existing"]);
        c.ok(&["cp", &file_arg, &target("/tmp/existing")]);
        c.ok(&["cp", &file_arg, &target("/tmp/new-name")]);
        assert_eq!(
            c.ok(&[
                "exec",
                &name,
                "cat",
                "/tmp/file.txt",
                "/tmp/existing",
                "/tmp/new-name"
            ]),
            "content\ncontent\ncontent\n"
        );
        // A missing directory asserted by a trailing slash is an error.
        let out = c.run(&["cp", &file_arg, &target("/tmp/missing-dir/")]);
        assert_ne!(out.code, 0, "{out:?}");
        // A directory cannot replace a file.
        let out = c.run(&[
            "cp",
            dir.path.to_str().expect("path"),
            &target("/tmp/existing"),
        ]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(out.stderr.contains("cannot copy directory"), "{out:?}");
        // -L copies what a local symlink points to, under the link's name.
        let link_arg = dir.join("link").display().to_string();
        c.ok(&["cp", &link_arg, &target("/tmp/plain-link")]);
        c.ok(&["cp", "-L", &link_arg, &target("/tmp/followed")]);
        let out = c.ok(&[
            "exec",
            &name,
            "sh",
            "-c",
            "readlink /tmp/plain-link; cat /tmp/followed",
        ]);
        assert_eq!(out, "file.txt\ncontent\n");
        // A tar on stdin is extracted into a directory.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(6);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "from-stdin.txt", &b"stdin\n"[..])
            .expect("tar");
        let tarball = builder.into_inner().expect("tar");
        let out = c.run_with_stdin(&["cp", "-", &target("/tmp")], Some(&tarball));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            c.ok(&["exec", &name, "cat", "/tmp/from-stdin.txt"]),
            "stdin\n"
        );
        let out = c.run_with_stdin(&["cp", "-", &target("/tmp/existing")], Some(&tarball));
        assert_ne!(out.code, 0, "stdin needs a directory: {out:?}");
        // From the container: a file to a new local name and into a directory.
        let local = dir.join(&format!("{name}-passwd"));
        c.ok(&["cp", &target("/etc/passwd"), local.to_str().expect("path")]);
        assert!(std::fs::read_to_string(&local)
            .expect("read")
            .starts_with("root:x:0:0:"));
        let into = dir.join(&format!("{name}-dir"));
        std::fs::create_dir(&into).expect("mkdir");
        c.ok(&["cp", &target("/etc/passwd"), into.to_str().expect("path")]);
        assert!(into.join("passwd").is_file());
        // A container symlink: as a link, or followed with -L.
        c.ok(&["exec", &name, "ln", "-s", "/etc/passwd", "/tmp/pw-link"]);
        let plain = dir.join(&format!("{name}-plain"));
        c.ok(&["cp", &target("/tmp/pw-link"), plain.to_str().expect("path")]);
        assert_eq!(
            std::fs::read_link(&plain).expect("a link"),
            Path::new("/etc/passwd")
        );
        let followed = dir.join(&format!("{name}-followed"));
        c.ok(&[
            "cp",
            "-L",
            &target("/tmp/pw-link"),
            followed.to_str().expect("path"),
        ]);
        assert!(std::fs::read_to_string(&followed)
            .expect("a file")
            .starts_with("root:"));
        // Errors: missing path, missing container, two containers, no container.
        let out = c.expect_code(
            &[
                "cp",
                &target("/no/such/file"),
                dir.path.to_str().expect("p"),
            ],
            1,
        );
        assert!(
            out.stderr.contains("Could not find the file /no/such/file"),
            "{out:?}"
        );
        let out = c.expect_code(&["cp", "no-such-container:/etc/passwd", "-"], 1);
        assert!(
            out.stderr.contains("No such container: no-such-container"),
            "{out:?}"
        );
        let out = c.expect_code(&["cp", &target("/a"), &target("/b")], 1);
        assert!(
            out.stderr
                .contains("copying between containers is not supported"),
            "{out:?}"
        );
        let out = c.expect_code(&["cp", &file_arg, "/tmp/x"], 1);
        assert!(
            out.stderr
                .contains("must specify at least one container source"),
            "{out:?}"
        );
        c.ok(&["rm", "-f", &name]);
    });
}

/// Paths are resolved inside the container's root: `..` and symlinks (absolute or
/// relative) cannot lead to the host's files, in either direction.
#[test]
fn cp_stays_inside_the_container_root() {
    let d = TestDaemon::start();
    let dir = TempDir::new("berth-cp-escape");
    let marker_name = format!("berth-cp-marker-{}", std::process::id());
    let marker = dir.join(&marker_name);
    std::fs::write(&marker, b"inside\n").expect("write");
    let marker_arg = marker.to_str().expect("path");
    for_each_client(&d, |c| {
        let name = c.name("cp-escape");
        start_container(c, &name, &[]);
        c.ok(&["exec", &name, "sh", "-c", "ln -s / /tmp/evil && ln -s ../../../../../.. /tmp/up && echo container-only >> /etc/passwd"]);
        let target = |p: &str| format!("{name}:{p}");
        // Through a symlink to "/": lands in the container's /etc.
        c.ok(&["cp", marker_arg, &target("/tmp/evil/etc/")]);
        assert_eq!(
            c.ok(&["exec", &name, "cat", &format!("/etc/{marker_name}")]),
            "inside\n"
        );
        assert!(
            !Path::new("/etc").join(&marker_name).exists(),
            "written to the host's /etc"
        );
        // Through `..` and a relative symlink climbing out.
        c.ok(&["cp", marker_arg, &target("../../../../../tmp/")]);
        c.ok(&["cp", marker_arg, &target("/tmp/up/var/")]);
        assert_eq!(
            c.ok(&[
                "exec",
                &name,
                "cat",
                &format!("/tmp/{marker_name}"),
                &format!("/var/{marker_name}")
            ]),
            "inside\ninside\n"
        );
        assert!(
            !Path::new("/tmp").join(&marker_name).exists(),
            "written to the host's /tmp"
        );
        assert!(
            !Path::new("/var").join(&marker_name).exists(),
            "written to the host's /var"
        );
        // Reading through them returns the container's files.
        for path in [
            "/tmp/evil/etc/passwd",
            "../../../../etc/passwd",
            "/tmp/up/etc/passwd",
        ] {
            let out = c.command(&["cp", &target(path), "-"]).output().expect("cp");
            assert!(
                out.status.success(),
                "{path}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let entries = tar_entries(&out.stdout);
            let passwd = &entries["passwd"];
            let text = String::from_utf8_lossy(&passwd.data);
            assert!(
                text.contains("container-only"),
                "{path} gave the host's passwd: {text}"
            );
        }
        // -L follows an absolute link inside the root: the container's /etc.
        c.ok(&["exec", &name, "ln", "-s", "/etc", "/tmp/etc-link"]);
        let local = dir.join(&format!("{name}-etc"));
        c.ok(&[
            "cp",
            "-L",
            &target("/tmp/etc-link"),
            local.to_str().expect("path"),
        ]);
        assert!(std::fs::read_to_string(local.join("passwd"))
            .expect("read")
            .contains("container-only"));
        c.ok(&["rm", "-f", &name]);
    });
}

// ---------------------------------------------------------------------------------------
// stats

/// `stats --no-stream --format` fields of one container.
fn stats_row(c: &Client<'_>, name: &str) -> serde_json::Value {
    let out = c.ok(&["stats", "--no-stream", "--format", "json", name]);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("stats json {out:?}: {e}"))
}

fn memory_used(row: &serde_json::Value) -> f64 {
    let usage = row["MemUsage"].as_str().expect("MemUsage");
    parse_size(usage.split(" / ").next().expect("usage"))
}

fn percent(text: &serde_json::Value) -> f64 {
    text.as_str()
        .expect("a percentage")
        .trim_end_matches('%')
        .parse()
        .expect("number")
}

#[test]
fn stats_follow_memory_and_cpu_use() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("stats-mem");
        let id = start_container(c, &name, &[]);
        let before = stats_row(c, &name);
        assert_eq!(before["Name"], name.as_str());
        assert_eq!(before["ID"], &id[..12]);
        assert_eq!(before["Container"], name.as_str());
        assert_eq!(before["PIDs"], "1");
        let idle = memory_used(&before);
        // Hold 20 MiB in a shell variable.
        c.ok(&[
            "exec",
            "-d",
            &name,
            "sh",
            "-c",
            // The shell must outlive the sleep (`; echo`), or it would exec
            // `sleep` and free the string.
            "x=$(head -c 20m /dev/zero | tr '\\0' a); sleep 600; echo ${#x}",
        ]);
        let mut last = before.clone();
        eventually(&d, "memory use growing by 15 MiB", || {
            last = stats_row(c, &name);
            memory_used(&last) > idle + 15.0 * 1024.0 * 1024.0
        });
        assert!(percent(&last["MemPerc"]) > 0.0, "{last}");
        assert_ne!(last["PIDs"], "1", "{last}");
        // A busy loop shows as CPU use.
        c.ok(&["exec", "-d", &name, "sh", "-c", "while :; do :; done"]);
        eventually(&d, "CPU use above 10%", || {
            percent(&stats_row(c, &name)["CPUPerc"]) > 10.0
        });
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn stats_table_formats_and_container_sets() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let running = c.name("stats-a");
        let other = c.name("stats-b");
        let stopped = c.name("stats-stopped");
        let id = start_container(c, &running, &[]);
        start_container(c, &other, &[]);
        c.ok(&["create", "--name", &stopped, "busybox"]);

        // The default table, several containers in argument order.
        let out = c.ok(&["stats", "--no-stream", &running, &other]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        for title in [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
        ] {
            assert!(lines[0].contains(title), "{title} in {out}");
        }
        assert!(
            lines[1].starts_with(&id[..12]) && lines[1].contains(&running),
            "{out}"
        );
        assert!(lines[2].contains(&other), "{out}");
        // --no-trunc: full IDs; a custom table.
        let out = c.ok(&["stats", "--no-stream", "--no-trunc", &running]);
        assert!(out.contains(&id), "{out}");
        let out = c.ok(&[
            "stats",
            "--no-stream",
            "--format",
            "table {{.Container}}\t{{.Name}}\t{{.PIDs}}",
            &running,
        ]);
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["CONTAINER", "NAME", "PIDS"], "{out}");
        assert_eq!(lines[1], [running.as_str(), running.as_str(), "1"], "{out}");
        // Without names: the running ones; -a adds the stopped one.
        let names = |args: &[&str]| -> Vec<String> {
            let mut full = vec!["stats", "--no-stream", "--format", "{{.Name}}"];
            full.extend_from_slice(args);
            let mut v: Vec<String> = c.ok(&full).lines().map(str::to_string).collect();
            v.sort();
            v
        };
        let listed = names(&[]);
        assert!(
            listed.contains(&running) && listed.contains(&other),
            "{listed:?}"
        );
        assert!(!listed.contains(&stopped), "{listed:?}");
        assert!(names(&["-a"]).contains(&stopped));
        // A missing container fails the whole command.
        let out = c.expect_code(&["stats", "--no-stream", &running, "no-such-container"], 1);
        assert!(
            out.stderr.contains("No such container: no-such-container"),
            "{out:?}"
        );

        // Streaming: the table is redrawn in place until interrupted.
        let live = c.spawn(&["stats", &running]);
        live.wait_stdout("two redraws", SETTLE, |text| {
            text.matches("\u{1b}[H").count() >= 2 && text.contains(&running)
        });
        let text = live.stdout();
        assert!(
            text.contains("\u{1b}[K\n"),
            "lines end with erase-line: {text:?}"
        );
        assert!(
            text.contains("\u{1b}[J"),
            "frames end with erase-below: {text:?}"
        );
        drop(live);
        for name in [&running, &other, &stopped] {
            c.ok(&["rm", "-f", name]);
        }
    });
}

// ---------------------------------------------------------------------------------------
// top

#[test]
fn top_with_ps_options() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("top");
        start_container(c, &name, &["sh", "-c", "sleep 600 & sleep 601"]);
        let out = c.ok(&["top", &name]);
        let header: Vec<&str> = out
            .lines()
            .next()
            .expect("header")
            .split_whitespace()
            .collect();
        assert_eq!(
            header,
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            "{out}"
        );
        assert!(
            out.contains("sleep 600") && out.contains("sleep 601"),
            "{out}"
        );
        // Nothing from outside the container.
        assert!(!out.contains("berthd"), "{out}");

        let out = c.ok(&["top", &name, "-o", "pid,comm"]);
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["PID", "COMMAND"], "{out}");
        assert!(lines.iter().skip(1).all(|l| l.len() == 2), "{out}");
        assert!(lines.iter().any(|l| l.get(1) == Some(&"sleep")), "{out}");

        let out = c.ok(&["top", &name, "aux"]);
        let header = out.lines().next().expect("header");
        for title in [
            "USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "STAT", "COMMAND",
        ] {
            assert!(
                header.split_whitespace().any(|t| t == title),
                "{title} in {header}"
            );
        }
        assert!(out.contains("sleep 601"), "{out}");

        c.ok(&["stop", "-t", "0", &name]);
        let out = c.expect_code(&["top", &name], 1);
        assert!(out.stderr.contains("is not running"), "{out:?}");
        c.ok(&["rm", "-f", &name]);
    });
}

// ---------------------------------------------------------------------------------------
// update

#[test]
fn update_writes_the_cgroup_at_once() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("update");
        let id = start_container(c, &name, &[]);
        let out = c.ok(&[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--pids-limit",
            "50",
            "--restart",
            "on-failure:3",
            &name,
        ]);
        assert_eq!(out, format!("{name}\n"));
        let memory = || cgroup_value(&id, ("memory", "memory.limit_in_bytes"), "memory.max");
        assert_eq!(memory(), "67108864");
        if cgroup_v2() {
            assert_eq!(cgroup_value(&id, ("cpu", ""), "cpu.max"), "50000 100000");
        } else {
            assert_eq!(cgroup_value(&id, ("cpu", "cpu.cfs_quota_us"), ""), "50000");
            assert_eq!(cgroup_value(&id, ("cpu", "cpu.shares"), ""), "512");
        }
        assert_eq!(cgroup_value(&id, ("pids", "pids.max"), "pids.max"), "50");
        let host = &d.inspect(&name)["HostConfig"];
        assert_eq!(host["Memory"], 67108864, "{host}");
        assert_eq!(host["NanoCpus"], 500000000, "{host}");
        assert_eq!(host["PidsLimit"], 50, "{host}");
        assert_eq!(host["RestartPolicy"]["Name"], "on-failure", "{host}");
        assert_eq!(host["RestartPolicy"]["MaximumRetryCount"], 3, "{host}");

        // Changing one setting leaves the others (docker sends zeros for them).
        c.ok(&["update", "--cpu-shares", "256", &name]);
        assert_eq!(memory(), "67108864");
        assert_eq!(cgroup_value(&id, ("pids", "pids.max"), "pids.max"), "50");
        let host = &d.inspect(&name)["HostConfig"];
        assert_eq!(host["RestartPolicy"]["Name"], "on-failure", "{host}");
        assert_eq!(host["Memory"], 67108864, "{host}");

        // Errors: no flags, bad values, missing container (others still updated).
        let out = c.expect_code(&["update", &name], 1);
        assert!(
            out.stderr.contains("you must provide one or more flags"),
            "{out:?}"
        );
        let out = c.run(&["update", "--memory", "lots", &name]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(out.stderr.contains("invalid argument \"lots\""), "{out:?}");
        let out = c.expect_code(
            &["update", "--pids-limit", "40", &name, "no-such-container"],
            1,
        );
        assert_eq!(out.stdout, format!("{name}\n"), "{out:?}");
        assert!(
            out.stderr.contains("No such container: no-such-container"),
            "{out:?}"
        );
        eventually_within(&d, "pids.max 40", Duration::from_secs(5), || {
            cgroup_value(&id, ("pids", "pids.max"), "pids.max") == "40"
        });
        c.ok(&["rm", "-f", &name]);
    });
}
