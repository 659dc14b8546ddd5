//! `build` end to end: the classic builder through `berth build` and, when installed,
//! `DOCKER_BUILDKIT=0 docker build`. Instructions and the resulting image config and
//! history, the cache (also across a daemon restart, and `builder prune`), multi-stage
//! builds and `--target`, ADD of archives and URLs (a server on 127.0.0.1 started by the
//! test), ONBUILD, build args, the kinds of context (directory, stdin, git), and bad
//! input: each failure names what was wrong and leaves no image, container or mount.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_tests::containers::{for_each_client, primary, run_to_end, Client, Out, TestDaemon};
use berth_tests::{wait_for, TempDir};

/// Files of a context: (path, content).
type Files<'a> = &'a [(&'a str, &'a str)];

const BUILD_DEADLINE: Duration = Duration::from_secs(120);

fn build_command(c: &Client<'_>, dir: &Path, args: &[&str]) -> Command {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let mut command = c.command(&all);
    // docker 28 uses the classic builder's API only with BuildKit off.
    command.current_dir(dir).env("DOCKER_BUILDKIT", "0");
    command
}

fn build(c: &Client<'_>, dir: &Path, args: &[&str]) -> Out {
    build_with_stdin(c, dir, args, None)
}

fn build_with_stdin(c: &Client<'_>, dir: &Path, args: &[&str], input: Option<&[u8]>) -> Out {
    let mut command = build_command(c, dir, args);
    if input.is_some() {
        command.stdin(Stdio::piped());
    }
    run_to_end(command, input, BUILD_DEADLINE).expect("build finished in time")
}

fn build_ok(c: &Client<'_>, dir: &Path, args: &[&str]) -> Out {
    let out = build(c, dir, args);
    assert_eq!(
        out.code,
        0,
        "{} build {args:?} failed: {out:?}\n{}",
        c.label(),
        c.daemon.log_tail()
    );
    out
}

/// The 12-hex ID of `Successfully built <id>`.
fn built_id(out: &Out) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Successfully built "))
        .unwrap_or_else(|| panic!("no image ID in the output: {out:?}"))
        .trim()
        .to_string()
}

fn context(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new("berth-build-ctx");
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn inspect(c: &Client<'_>, image: &str, format: &str) -> String {
    c.ok(&["image", "inspect", "-f", format, image])
        .trim()
        .to_string()
}

fn no_containers_left(d: &TestDaemon) {
    let ids = d.all_ids();
    assert!(ids.is_empty(), "build containers left behind: {ids:?}");
}

#[test]
fn dockerfile_instructions_make_the_image_and_the_cache_reuses_every_step() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let ctx = context(&[
            ("hello.txt", "hello\n"),
            ("app/a.txt", "a\n"),
            ("app/sub/b.txt", "b\n"),
            (
                "Dockerfile",
                "# a comment\n\
                 FROM busybox\n\
                 LABEL client={client}\n\
                 MAINTAINER Tester <t@example.com>\n\
                 ENV GREETING=hi \\\n    OTHER=\"two words\"\n\
                 ENV LEGACY value with spaces\n\
                 LABEL version=\"1.0\" purpose=test\n\
                 WORKDIR /srv\n\
                 COPY hello.txt .\n\
                 COPY app /opt/app/\n\
                 RUN echo \"running $GREETING\" && cat hello.txt > out.txt && echo builder:x:1234:1234::/home:/bin/sh >> /etc/passwd\n\
                 RUN [\"sh\", \"-c\", \"echo exec form > /srv/exec.txt\"]\n\
                 USER builder\n\
                 VOLUME /data\n\
                 EXPOSE 80 53/udp\n\
                 STOPSIGNAL SIGUSR1\n\
                 HEALTHCHECK --interval=5s --retries=2 CMD true\n\
                 ONBUILD RUN echo triggered\n\
                 ENTRYPOINT [\"cat\"]\n\
                 CMD [\"/srv/out.txt\"]\n",
            ),
        ]);
        // Each client builds its own image (the label differs), so the cache counts
        // below hold for both.
        let dockerfile = std::fs::read_to_string(ctx.join("Dockerfile")).unwrap();
        std::fs::write(
            ctx.join("Dockerfile"),
            dockerfile.replace("{client}", c.label()),
        )
        .unwrap();
        let tag = format!("built-{}:v1", c.label());
        let out = build_ok(c, &ctx.path, &["-t", &tag, "."]);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(lines.contains(&"Step 1/19 : FROM busybox"), "{out:?}");
        assert!(
            lines.iter().any(|l| l.starts_with(" ---> Running in ")),
            "{out:?}"
        );
        assert!(
            lines.contains(&"running hi"),
            "RUN output is streamed: {out:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Removing intermediate container ")),
            "{out:?}"
        );
        assert!(
            lines.contains(&format!("Successfully tagged {tag}").as_str()),
            "{out:?}"
        );
        let id = built_id(&out);

        // The image runs with the built config.
        assert_eq!(c.ok(&["run", "--rm", &tag]), "hello\n");
        assert_eq!(
            c.ok(&[
                "run",
                "--rm",
                "--entrypoint",
                "cat",
                &tag,
                "/opt/app/sub/b.txt"
            ]),
            "b\n"
        );
        assert_eq!(
            c.ok(&["run", "--rm", "--entrypoint", "id", &tag, "-u"]),
            "1234\n"
        );
        assert_eq!(
            c.ok(&["run", "--rm", "--entrypoint", "cat", &tag, "/srv/exec.txt"]),
            "exec form\n"
        );
        let config = inspect(
            c,
            &tag,
            "{{json .Config.Cmd}}|{{json .Config.Entrypoint}}|{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{json .Config.Labels}}|{{.Config.StopSignal}}|{{json .Config.OnBuild}}|{{.Author}}",
        );
        assert_eq!(
            config,
            "[\"/srv/out.txt\"]|[\"cat\"]|builder|/srv|{\"53/udp\":{},\"80/tcp\":{}}|{\"/data\":{}}|{\"client\":\"CLIENT\",\"purpose\":\"test\",\"version\":\"1.0\"}|SIGUSR1|[\"RUN echo triggered\"]|Tester <t@example.com>"
                .replace("CLIENT", c.label())
        );
        let env = inspect(c, &tag, "{{json .Config.Env}}");
        assert!(
            env.contains("\"GREETING=hi\"")
                && env.contains("\"OTHER=two words\"")
                && env.contains("\"LEGACY=value with spaces\""),
            "{env}"
        );
        let health = inspect(c, &tag, "{{json .Config.Healthcheck}}");
        assert_eq!(
            health,
            "{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000,\"Retries\":2}"
        );

        // One layer per filesystem step (2 COPY + 2 RUN) on top of busybox's.
        let base_layers = inspect(c, "busybox", "{{len .RootFS.Layers}}")
            .parse::<usize>()
            .unwrap();
        let layers = inspect(c, &tag, "{{len .RootFS.Layers}}")
            .parse::<usize>()
            .unwrap();
        assert_eq!(layers, base_layers + 4);
        let history = c.ok(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag]);
        assert!(
            history.contains("/bin/sh -c #(nop)  CMD [\"/srv/out.txt\"]"),
            "{history}"
        );
        assert!(
            history.contains("/bin/sh -c #(nop) WORKDIR /srv"),
            "{history}"
        );
        assert!(
            history.contains("/bin/sh -c #(nop) COPY file:"),
            "{history}"
        );
        assert!(
            history.contains("/bin/sh -c echo \"running $GREETING\""),
            "{history}"
        );

        // Everything again: every step from the cache, the same image.
        let again = build_ok(c, &ctx.path, &["-t", &tag, "."]);
        assert_eq!(
            again.stdout.matches(" ---> Using cache").count(),
            18,
            "{again:?}"
        );
        assert_eq!(built_id(&again), id);
        // A changed source invalidates its step and the later ones only.
        std::fs::write(ctx.join("app/a.txt"), "changed\n").unwrap();
        let changed = build_ok(c, &ctx.path, &["-t", &tag, "."]);
        assert_eq!(
            changed.stdout.matches(" ---> Using cache").count(),
            7,
            "{changed:?}"
        );
        assert_ne!(built_id(&changed), id);
        no_containers_left(&d);
    });
}

#[test]
fn cache_survives_a_restart_and_builder_prune_clears_it() {
    let mut d = TestDaemon::start();
    let c = primary(&d);
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN echo one > /one\nCMD [\"cat\", \"/one\"]\n",
    )]);
    let first = build_ok(&c, &ctx.path, &["-t", "cached:1", "."]);
    drop(c);
    d.restart();
    let c = primary(&d);
    let second = build_ok(&c, &ctx.path, &["-t", "cached:1", "."]);
    assert_eq!(
        second.stdout.matches("Using cache").count(),
        2,
        "{second:?}"
    );
    assert_eq!(built_id(&first), built_id(&second));
    let pruned = c.ok(&["builder", "prune", "-f"]);
    assert!(pruned.contains("Total reclaimed space"), "{pruned}");
    let third = build_ok(&c, &ctx.path, &["-t", "cached:1", "."]);
    assert!(!third.stdout.contains("Using cache"), "{third:?}");
    // `system prune` clears it too.
    build_ok(&c, &ctx.path, &["-t", "cached:1", "."]);
    let pruned = c.ok(&["system", "prune", "-f"]);
    assert!(pruned.contains("Total reclaimed space"), "{pruned}");
    let after_system_prune = build_ok(&c, &ctx.path, &["-t", "cached:1", "."]);
    assert!(
        !after_system_prune.stdout.contains("Using cache"),
        "{after_system_prune:?}"
    );
    // --no-cache never uses it.
    let fourth = build_ok(&c, &ctx.path, &["--no-cache", "-t", "cached:1", "."]);
    assert!(!fourth.stdout.contains("Using cache"), "{fourth:?}");
}

#[test]
fn multi_stage_builds_copy_between_stages_and_skip_unused_ones() {
    let d = TestDaemon::start();
    let c = primary(&d);
    let ctx = context(&[(
        "Dockerfile",
        "ARG BASE=busybox\n\
         FROM ${BASE} AS builder\n\
         RUN mkdir -p /out && echo compiled > /out/app && chmod 755 /out/app\n\
         FROM busybox AS unused\n\
         RUN exit 1\n\
         FROM $BASE\n\
         COPY --from=builder /out/app /usr/local/bin/app\n\
         COPY --from=0 /out /copied/\n\
         COPY --from=busybox /bin/busybox /bb\n\
         CMD [\"cat\", \"/usr/local/bin/app\"]\n",
    )]);
    let out = build_ok(&c, &ctx.path, &["-t", "multi:1", "."]);
    assert!(
        !out.stdout.contains("RUN exit 1"),
        "the unused stage is skipped: {out:?}"
    );
    assert_eq!(c.ok(&["run", "--rm", "multi:1"]), "compiled\n");
    assert_eq!(
        c.ok(&["run", "--rm", "multi:1", "cat", "/copied/app"]),
        "compiled\n"
    );
    assert_eq!(
        c.ok(&[
            "run",
            "--rm",
            "multi:1",
            "stat",
            "-c",
            "%a",
            "/usr/local/bin/app"
        ]),
        "755\n"
    );
    let target = build_ok(
        &c,
        &ctx.path,
        &["--target", "builder", "-t", "multi:builder", "."],
    );
    assert!(!target.stdout.contains("COPY --from"), "{target:?}");
    assert_eq!(
        c.ok(&["run", "--rm", "multi:builder", "cat", "/out/app"]),
        "compiled\n"
    );
    let missing = build(&c, &ctx.path, &["--target", "nope", "."]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("failed to reach build target nope"),
        "{missing:?}"
    );
}

/// Serves `body` for every GET on 127.0.0.1 until the test process ends.
fn serve(body: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    port
}

fn make_tar(dir: &Path, name: &str, compress: Option<&str>) {
    let src = dir.join("tar-src");
    std::fs::create_dir_all(src.join("inner")).unwrap();
    std::fs::write(src.join("inner/file.txt"), "from the archive\n").unwrap();
    let status = Command::new("tar")
        .args([
            "-cf",
            dir.join(name).to_str().unwrap(),
            "-C",
            src.to_str().unwrap(),
            "inner",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    if let Some(tool) = compress {
        let status = Command::new(tool)
            .arg("-f")
            .arg(dir.join(name))
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::remove_dir_all(src).unwrap();
}

#[test]
fn add_unpacks_archives_downloads_urls_and_copy_takes_heredocs_chown_chmod() {
    let d = TestDaemon::start();
    let c = primary(&d);
    let port = serve(b"downloaded\n".to_vec());
    let ctx = context(&[("plain.txt", "plain\n")]);
    make_tar(&ctx.path, "a.tar", None);
    make_tar(&ctx.path, "b.tar", Some("gzip"));
    make_tar(&ctx.path, "c.tar", Some("bzip2"));
    make_tar(&ctx.path, "d.tar", Some("xz"));
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM busybox\n\
             ADD a.tar /a/\n\
             ADD b.tar.gz /b\n\
             ADD c.tar.bz2 d.tar.xz /cd/\n\
             ADD http://127.0.0.1:{port}/files/remote.txt /web/\n\
             ADD --chown=nobody:nogroup plain.txt /owned.txt\n\
             COPY --chmod=600 plain.txt /private.txt\n\
             COPY --link * /glob/\n\
             ENV WHO=world\n\
             COPY <<EOF /heredoc.txt\n\
             line $WHO\n\
             EOF\n\
             RUN <<EOF\n\
             echo from a heredoc > /run.txt\n\
             EOF\n"
        ),
    )
    .unwrap();
    let out = build_ok(&c, &ctx.path, &["-t", "adds:1", "."]);
    let run = |cmd: &str| c.ok(&["run", "--rm", "adds:1", "sh", "-c", cmd]);
    assert_eq!(
        run("cat /a/inner/file.txt /b/inner/file.txt"),
        "from the archive\nfrom the archive\n"
    );
    assert_eq!(run("cat /cd/inner/file.txt"), "from the archive\n");
    assert_eq!(
        run("cat /web/remote.txt; stat -c %a /web/remote.txt"),
        "downloaded\n600\n"
    );
    assert_eq!(run("stat -c %U:%G /owned.txt"), "nobody:nogroup\n");
    assert_eq!(run("stat -c %a /private.txt"), "600\n");
    assert_eq!(
        run("ls /glob | sort | tr '\\n' ' '"),
        "Dockerfile a.tar b.tar.gz c.tar.bz2 d.tar.xz plain.txt "
    );
    assert_eq!(run("cat /heredoc.txt"), "line world\n");
    assert_eq!(run("cat /run.txt"), "from a heredoc\n");
    drop(out);
    // The URL's content is part of the cache key: a cached rebuild downloads again and
    // still hits.
    let again = build_ok(&c, &ctx.path, &["-t", "adds:1", "."]);
    assert!(!again.stdout.contains("Running in"), "{again:?}");
}

#[test]
fn onbuild_triggers_run_in_the_child_build_and_build_args_apply() {
    let d = TestDaemon::start();
    let c = primary(&d);
    let parent = context(&[(
        "Dockerfile",
        "FROM busybox\nONBUILD RUN echo triggered > /triggered\nONBUILD ENV FROM_TRIGGER=yes\n",
    )]);
    build_ok(&c, &parent.path, &["-t", "onbuild-parent", "."]);
    let child = context(&[(
        "Dockerfile",
        "FROM onbuild-parent\nARG VERSION=default\nARG UNSET\nRUN echo \"$VERSION${UNSET:-none}\" > /version\n",
    )]);
    let out = build_ok(
        &c,
        &child.path,
        &[
            "--build-arg",
            "VERSION=2.0",
            "--build-arg",
            "HTTP_PROXY=http://proxy.invalid",
            "--build-arg",
            "EXTRA=1",
            "-t",
            "onbuild-child",
            ".",
        ],
    );
    assert!(
        out.stdout.contains("# Executing 2 build triggers"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("[Warning] One or more build-args [EXTRA] were not consumed"),
        "{out:?}"
    );
    assert_eq!(
        c.ok(&[
            "run",
            "--rm",
            "onbuild-child",
            "cat",
            "/triggered",
            "/version"
        ]),
        "triggered\n2.0none\n"
    );
    assert_eq!(
        inspect(&c, "onbuild-child", "{{json .Config.OnBuild}}"),
        "null"
    );
    let env = inspect(&c, "onbuild-child", "{{json .Config.Env}}");
    assert!(
        env.contains("FROM_TRIGGER=yes") && !env.contains("VERSION"),
        "{env}"
    );
    let history = c.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "onbuild-child",
    ]);
    assert!(
        history.contains("|1 VERSION=2.0 /bin/sh -c echo"),
        "{history}"
    );
    assert!(
        !history.contains("proxy.invalid"),
        "proxy args stay out of history: {history}"
    );
}

#[test]
fn contexts_from_stdin_git_and_dockerfiles_outside_with_dockerignore() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let empty = TempDir::new("berth-build-empty");
        // A Dockerfile on stdin: no context.
        let out = build_with_stdin(
            c,
            &empty.path,
            &["-t", "stdin-df", "-"],
            Some(b"FROM busybox\nRUN echo stdin > /s\n"),
        );
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(c.ok(&["run", "--rm", "stdin-df", "cat", "/s"]), "stdin\n");

        // A tarball on stdin.
        let ctx = context(&[
            ("Dockerfile", "FROM busybox\nCOPY f /f\n"),
            ("f", "from tar\n"),
        ]);
        let tar = Command::new("tar")
            .args(["-cf", "-", "-C", ctx.path.to_str().unwrap(), "."])
            .output()
            .unwrap();
        let out = build_with_stdin(c, &empty.path, &["-t", "stdin-tar", "-"], Some(&tar.stdout));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            c.ok(&["run", "--rm", "stdin-tar", "cat", "/f"]),
            "from tar\n"
        );

        // .dockerignore and a Dockerfile outside the context.
        let ctx = context(&[
            (".dockerignore", "*.log\nsecret\ndocs\n!docs/keep.md\n"),
            ("a.log", "x"),
            ("secret/key", "x"),
            ("docs/keep.md", "kept\n"),
            ("docs/drop.md", "x"),
            ("ok.txt", "ok\n"),
        ]);
        let outside = TempDir::new("berth-build-df");
        std::fs::write(
            outside.join("Dockerfile.custom"),
            "FROM busybox\nCOPY . /ctx/\n",
        )
        .unwrap();
        let df = outside.join("Dockerfile.custom");
        build_ok(
            c,
            &ctx.path,
            &["-f", df.to_str().unwrap(), "-t", "ignored", "."],
        );
        let listing = c.ok(&[
            "run",
            "--rm",
            "ignored",
            "sh",
            "-c",
            "cd /ctx && find . -type f | sort | tr '\\n' ' '",
        ]);
        assert_eq!(listing, "./.dockerignore ./docs/keep.md ./ok.txt ");

        // A git repository (file://, a branch and a subfolder); docker's CLI does not
        // take file:// URLs.
        if c.label() != "berth" {
            return;
        }
        let repo = TempDir::new("berth-build-git");
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        std::fs::write(repo.join("sub/Dockerfile"), "FROM busybox\nCOPY msg /msg\n").unwrap();
        std::fs::write(repo.join("sub/msg"), "from git\n").unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(args)
                .current_dir(&repo.path)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@e")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@e")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&["init", "-q", "-b", "main"]);
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "init"]);
        let url = format!("file://{}#main:sub", repo.path.display());
        build_ok(c, &empty.path, &["-t", "from-git", &url]);
        assert_eq!(
            c.ok(&["run", "--rm", "from-git", "cat", "/msg"]),
            "from git\n"
        );
        // A local path to the repository is a plain directory context.
        build_ok(
            c,
            &empty.path,
            &["-t", "from-git-path", repo.join("sub").to_str().unwrap()],
        );
    });
}

#[test]
fn quiet_iidfile_labels_and_several_tags() {
    let d = TestDaemon::start();
    let c = primary(&d);
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN echo noisy\n")]);
    let iid = ctx.join("iid");
    let out = build_ok(
        &c,
        &ctx.path,
        &[
            "-q",
            "--iidfile",
            iid.to_str().unwrap(),
            "--label",
            "team=core",
            "-t",
            "one:a",
            "-t",
            "two:b",
            ".",
        ],
    );
    let id = out.stdout.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out:?}");
    assert!(!out.stdout.contains("noisy"));
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    assert_eq!(inspect(&c, "one:a", "{{.Id}}"), id);
    assert_eq!(inspect(&c, "two:b", "{{.Id}}"), id);
    assert_eq!(inspect(&c, "two:b", "{{.Config.Labels.team}}"), "core");
    // --rm=false keeps the intermediate container, --force-rm removes a failed one.
    build_ok(&c, &ctx.path, &["--no-cache", "--rm=false", "."]);
    assert_eq!(d.all_ids().len(), 1);
    c.ok(&["rm", "-f", &d.all_ids()[0]]);
    let failing = context(&[("Dockerfile", "FROM busybox\nRUN exit 7\n")]);
    let out = build(&c, &failing.path, &["--force-rm", "."]);
    assert_eq!(out.code, 7, "{out:?}");
    no_containers_left(&d);
}

#[test]
fn bad_dockerfiles_and_contexts_fail_clearly_and_leave_nothing() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let images_before = c.ok(&["images", "-a", "-q"]);
        let cases: &[(&str, Files, &str)] = &[
            ("unknown instruction", &[("Dockerfile", "FROM busybox\n\nFOO bar\n")], "Dockerfile parse error line 3: unknown instruction: FOO"),
            ("bad syntax", &[("Dockerfile", "FROM busybox\nENV\n")], "Dockerfile parse error line 2: ENV requires at least one argument"),
            ("bad flag", &[("Dockerfile", "FROM busybox\nCOPY --nope=1 a b\n")], "Dockerfile parse error line 2: Unknown flag: nope"),
            ("missing file", &[("Dockerfile", "FROM busybox\nCOPY missing.txt /\n")], "COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist"),
            ("escaping path", &[("Dockerfile", "FROM busybox\nCOPY ../x /x\n")], "COPY failed: forbidden path outside the build context: ../x ()"),
            // A registry on loopback that is not there (tests never reach out further).
            ("missing base", &[("Dockerfile", "FROM 127.0.0.1:9/nosuchimage:1\n")], "127.0.0.1:9"),
            ("empty", &[("Dockerfile", "# only a comment\n")], "cannot be empty"),
        ];
        for (what, files, message) in cases {
            let ctx = context(files);
            let out = build(c, &ctx.path, &["-t", "never:tagged", "."]);
            assert_eq!(out.code, 1, "{what}: {out:?}");
            assert!(
                out.stderr.contains(message),
                "{what}: expected {message:?} in {out:?}"
            );
        }
        // A failing RUN: docker's message, and its code as the exit code.
        let ctx = context(&[("Dockerfile", "FROM busybox\nRUN echo before && exit 3\n")]);
        let out = build(c, &ctx.path, &["-t", "never:tagged", "."]);
        assert_eq!(out.code, 3, "{out:?}");
        assert!(out.stdout.contains("before"), "{out:?}");
        assert!(
            out.stderr.contains(
                "The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3"
            ),
            "{out:?}"
        );
        // docker keeps the failed container (without --force-rm); remove it.
        for id in d.all_ids() {
            c.ok(&["rm", "-f", &id]);
        }
        let missing_context = build(c, Path::new("/"), &["/nonexistent-context-dir"]);
        assert_eq!(missing_context.code, 1, "{missing_context:?}");
        assert!(
            c.run(&["image", "inspect", "never:tagged"]).code != 0,
            "nothing tagged"
        );
        assert_eq!(
            c.ok(&["images", "-a", "-q"]),
            images_before,
            "no images from failed parses"
        );
    });
    d.assert_nothing_running();
}

#[test]
fn a_build_killed_mid_way_leaves_no_container_mount_or_tag() {
    let d = TestDaemon::start();
    let c = primary(&d);
    let ctx = context(&[("Dockerfile", "FROM busybox\nRUN echo started && sleep 60\n")]);
    let mut command = build_command(&c, &ctx.path, &["-t", "killed:1", "."]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let streaming = berth_tests::containers::Streaming::spawn(command);
    streaming.wait_stdout("the RUN step", Duration::from_secs(60), |s| {
        s.lines().any(|l| l == "started")
    });
    assert_eq!(
        d.all_ids().len(),
        1,
        "the RUN container exists while it runs"
    );
    drop(streaming);
    let gone = wait_for(Duration::from_secs(30), || d.all_ids().is_empty());
    assert!(
        gone,
        "the build container is removed once the client is gone\n{}",
        d.log_tail()
    );
    d.assert_nothing_running();
    let builder_tmp = d.dir.join("data/builder/tmp");
    let empty = wait_for(Duration::from_secs(10), || {
        std::fs::read_dir(&builder_tmp)
            .map(|mut r| r.next().is_none())
            .unwrap_or(true)
    });
    assert!(empty, "the build's working folder is removed");
    assert!(c.run(&["image", "inspect", "killed:1"]).code != 0);
    // The cache is still consistent: the same Dockerfile with a quick RUN builds.
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo started\n").unwrap();
    build_ok(&c, &ctx.path, &["-t", "killed:1", "."]);
}
