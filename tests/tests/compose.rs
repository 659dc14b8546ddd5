//! `berth compose` end to end: the seed's web + redis app (docker-compose.yml in the old
//! version-1 layout, `links`, a published port answered on 127.0.0.1, a bind mount),
//! scaling, idempotent `up`, recreation of a changed service, `down -v` leaving nothing,
//! and the same app driven by the Python docker-compose 1.29 against berthd.

mod network_common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::{berth_command, TempDir};
use network_common::{bridge_of, free_port, free_subnet, json, unique, NetDaemon, Out};

/// A daemon whose project networks get /26 subnets of a /24 no one else uses.
fn daemon() -> NetDaemon {
    let pool = free_subnet();
    NetDaemon::start_with(
        &format!(r#"{{"default-address-pools": [{{"base": "{pool}.0/24", "size": 26}}]}}"#),
        &[],
    )
}

fn output(command: &mut Command) -> Out {
    let out = command.output().expect("run");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `berth compose ARGS` in `dir` against `d`.
fn compose(d: &NetDaemon, dir: &Path, args: &[&str]) -> Out {
    let mut command = berth_command();
    command
        .arg("-H")
        .arg(d.daemon().host())
        .arg("compose")
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE");
    output(&mut command)
}

fn compose_ok(d: &NetDaemon, dir: &Path, args: &[&str]) -> String {
    let out = compose(d, dir, args);
    assert_eq!(out.code, 0, "compose {args:?}: {out:?}\n{}", d.log_tail());
    out.stdout
}

/// The seed's app: `web` serves a CGI script that asks `redis` (a busybox `nc` loop) over
/// the link; version-1 layout, as in the tutorial.
fn write_app(dir: &Path, port: u16) {
    std::fs::create_dir_all(dir.join("cgi-bin")).unwrap();
    std::fs::write(
        dir.join("cgi-bin/hello"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"hello; redis says: $(echo PING | nc db 6379)\"\n",
    )
    .unwrap();
    let script = dir.join("cgi-bin/hello");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            r#"web:
  image: busybox
  command: httpd -f -p 80 -h /compose
  ports:
    - "127.0.0.1:{port}:80"
  volumes:
    - .:/compose
  links:
    - redis:db
redis:
  image: busybox
  command: ["sh", "-c", "echo redis ready; while true; do echo PONG | nc -l -p 6379; done"]
worker:
  image: busybox
  command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
"#
        ),
    )
    .unwrap();
}

/// curl on the host, retried until the server answers.
fn curl(url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = output(Command::new("curl").args(["-s", "--max-time", "3", url]));
        if out.code == 0 && out.stdout.contains("PONG") {
            return out.stdout;
        }
        assert!(Instant::now() < deadline, "no answer from {url}: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Records the project's bridges and the containers' veths for the leftover check.
fn record(d: &NetDaemon, project: &str) {
    let filter = format!("label=com.docker.compose.project={project}");
    for net in d
        .ok(&["network", "ls", "-q", "--filter", &filter])
        .split_whitespace()
    {
        let inspect = json(&d.ok(&["network", "inspect", net]));
        d.record_link(&bridge_of(&inspect[0]));
    }
    for id in d.ok(&["ps", "-aq", "--filter", &filter]).split_whitespace() {
        d.record_veths(id);
    }
}

fn ids(d: &NetDaemon, project: &str, service: &str) -> Vec<String> {
    let mut list: Vec<String> = d
        .ok(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ])
        .split_whitespace()
        .map(str::to_string)
        .collect();
    list.sort();
    list
}

/// Nothing of the project is left: containers, networks, volumes.
fn assert_gone(d: &NetDaemon, project: &str) {
    let filter = format!("label=com.docker.compose.project={project}");
    assert_eq!(d.ok(&["ps", "-aq", "--filter", &filter]).trim(), "");
    assert_eq!(
        d.ok(&["network", "ls", "-q", "--filter", &filter]).trim(),
        ""
    );
    assert_eq!(
        d.ok(&["volume", "ls", "-q", "--filter", &filter]).trim(),
        ""
    );
}

#[test]
fn seed_app_up_ps_logs_scale_recreate_down() {
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("seed");
    let port = free_port();
    write_app(&dir.path, port);
    let p = ["-p", project.as_str()];
    let with = |args: &[&str]| -> Vec<String> {
        p.iter().chain(args.iter()).map(|s| s.to_string()).collect()
    };
    let run = |args: &[&str]| {
        let full = with(args);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        compose_ok(&d, &dir.path, &refs)
    };

    run(&["up", "-d"]);
    record(&d, &project);
    let body = curl(&format!("http://127.0.0.1:{port}/cgi-bin/hello"));
    assert!(body.contains("hello; redis says: PONG"), "{body}");

    // ps: the three services, by their compose names, with the published port.
    let ps = run(&["ps"]);
    for service in ["web", "redis", "worker"] {
        assert!(ps.contains(&format!("{project}-{service}-1")), "{ps}");
    }
    assert!(ps.contains(&format!("127.0.0.1:{port}->80/tcp")), "{ps}");
    assert_eq!(run(&["ps", "-q"]).lines().count(), 3);
    assert_eq!(
        run(&["ps", "--services"]).lines().collect::<Vec<_>>(),
        ["redis", "web", "worker"]
    );
    let net = json(&d.ok(&["network", "inspect", &format!("{project}_default")]));
    assert_eq!(net[0]["Labels"]["com.docker.compose.network"], "default");
    let inspect = json(&d.ok(&["inspect", &format!("{project}-web-1")]));
    let labels = &inspect[0]["Config"]["Labels"];
    assert_eq!(labels["com.docker.compose.project"], project.as_str());
    assert_eq!(labels["com.docker.compose.service"], "web");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert_eq!(
        labels["com.docker.compose.config-hash"]
            .as_str()
            .unwrap_or("")
            .len(),
        64
    );

    // logs: prefixed lines of the service's output.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = run(&["logs", "--no-color", "redis"]);
        if logs.contains("redis-1 | redis ready") {
            break;
        }
        assert!(Instant::now() < deadline, "{logs}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Services find each other by name on the project network.
    let ping = d.exec(
        &format!("{project}-worker-1"),
        &["sh", "-c", "echo PING | nc redis 6379"],
    );
    assert!(ping.stdout.contains("PONG"), "{ping:?}");

    // up again: nothing changes.
    let before: Vec<Vec<String>> = ["web", "redis", "worker"]
        .iter()
        .map(|s| ids(&d, &project, s))
        .collect();
    run(&["up", "-d"]);
    let after: Vec<Vec<String>> = ["web", "redis", "worker"]
        .iter()
        .map(|s| ids(&d, &project, s))
        .collect();
    assert_eq!(before, after);

    // Scale worker to 3: two more, the first one kept.
    run(&["up", "-d", "--scale", "worker=3"]);
    record(&d, &project);
    let workers = ids(&d, &project, "worker");
    assert_eq!(workers.len(), 3);
    assert!(workers.contains(&before[2][0]));
    assert!(run(&["ps"]).contains(&format!("{project}-worker-3")));

    // Change web's command: web is recreated, redis is not.
    let file = dir.join("docker-compose.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("httpd -f -p 80", "httpd -f -v -p 80")).unwrap();
    run(&["up", "-d", "--scale", "worker=3"]);
    record(&d, &project);
    assert_ne!(ids(&d, &project, "web"), before[0]);
    assert_eq!(ids(&d, &project, "redis"), before[1]);
    curl(&format!("http://127.0.0.1:{port}/cgi-bin/hello"));

    // stop, then start again.
    run(&["stop", "-t", "1"]);
    assert_eq!(run(&["ps", "-q"]).trim(), "");
    assert_eq!(run(&["ps", "-aq"]).lines().count(), 5);
    run(&["start"]);
    assert_eq!(run(&["ps", "-q"]).lines().count(), 5);
    record(&d, &project);

    run(&["down", "-v", "-t", "1"]);
    assert_gone(&d, &project);
    d.finish();
}

#[test]
fn volumes_networks_run_exec_and_down_v() {
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("vol");
    std::fs::write(
        dir.join("compose.yaml"),
        r#"
services:
  app:
    image: busybox
    command: ["sh", "-c", "echo $$GREETING > /data/hello; trap 'exit 0' TERM; while true; do sleep 1; done"]
    environment:
      GREETING: ${GREETING:-hi}
    volumes:
      - data:/data
      - /scratch
    networks:
      back:
        aliases: [store]
  client:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    depends_on:
      app:
        condition: service_started
    networks: [back]
networks:
  back: {}
volumes:
  data: {}
"#,
    )
    .unwrap();
    std::fs::write(dir.join(".env"), "GREETING=from-dotenv\n").unwrap();
    let c = |args: &[&str]| {
        let mut full = vec!["-p", project.as_str()];
        full.extend_from_slice(args);
        compose_ok(&d, &dir.path, &full)
    };
    c(&["up", "-d"]);
    record(&d, &project);
    assert!(d
        .ok(&["volume", "ls", "-q"])
        .contains(&format!("{project}_data")));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = c(&["exec", "-T", "app", "cat", "/data/hello"]);
        if out.contains("from-dotenv") {
            break;
        }
        assert!(Instant::now() < deadline, "{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The alias and the service name resolve on the project network.
    let out = d.exec(
        &format!("{project}-client-1"),
        &["ping", "-c1", "-W2", "store"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    // A one-off container sees the volume, and is removed with --rm.
    let out = c(&["run", "--rm", "-T", "app", "cat", "/data/hello"]);
    assert!(out.contains("from-dotenv"), "{out}");
    assert_eq!(c(&["ps", "-aq"]).lines().count(), 2);
    c(&["down", "-v", "-t", "1"]);
    assert_gone(&d, &project);
    d.finish();
}

#[test]
fn bad_input_is_refused_before_anything_starts() {
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("bad");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "services:\n  web:\n    image: busybox\n   command: [\n",
            "",
            &["line 4, column 4"],
        ),
        (
            "services:\n  web:\n    image: busybox\n    comand: sh\n",
            "",
            &["services.web", "comand"],
        ),
        (
            "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n",
            "",
            &["cycle", "a -> b -> a"],
        ),
        (
            "services:\n  web:\n    image: ${IMAGE:?IMAGE must be set in .env}\n",
            "OTHER=1\n",
            &["IMAGE", "IMAGE must be set in .env"],
        ),
    ];
    for (yaml, env, needles) in cases {
        std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
        std::fs::write(dir.join(".env"), env).unwrap();
        let out = compose(&d, &dir.path, &["-p", &project, "up", "-d"]);
        assert_ne!(out.code, 0, "{yaml}: {out:?}");
        for needle in *needles {
            assert!(
                out.stderr.contains(needle),
                "{yaml}: expected {needle:?} in {out:?}"
            );
        }
        assert_gone(&d, &project);
    }
    d.finish();
}

/// The Python docker-compose 1.29 against berthd: up, ps, logs, stop, down.
#[test]
fn docker_compose_v1_against_berthd() {
    if !Path::new("/usr/bin/docker-compose").exists() {
        eprintln!("skipped: /usr/bin/docker-compose is not installed (scripts/install-deps.sh)");
        return;
    }
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("py");
    let port = free_port();
    write_app(&dir.path, port);
    let host = d.daemon().host();
    let dc = |args: &[&str]| {
        let out = output(
            Command::new("docker-compose")
                .args(["-p", &project])
                .args(args)
                .current_dir(&dir.path)
                .env("DOCKER_HOST", &host)
                .env_remove("DOCKER_TLS_VERIFY")
                .env_remove("COMPOSE_PROJECT_NAME")
                .stdin(std::process::Stdio::null()),
        );
        assert_eq!(
            out.code,
            0,
            "docker-compose {args:?}: {out:?}\n{}",
            d.log_tail()
        );
        out.stdout + &out.stderr
    };
    dc(&["up", "-d"]);
    for id in d.ok(&["ps", "-aq"]).split_whitespace() {
        d.record_veths(id);
    }
    let body = curl(&format!("http://127.0.0.1:{port}/cgi-bin/hello"));
    assert!(body.contains("redis says: PONG"), "{body}");
    let ps = dc(&["ps"]);
    assert!(
        ps.contains(&format!("{project}_web_1")) && ps.contains("Up"),
        "{ps}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = dc(&["logs", "--no-color", "redis"]);
        if logs.contains("redis ready") {
            break;
        }
        assert!(Instant::now() < deadline, "{logs}");
        std::thread::sleep(Duration::from_millis(100));
    }
    dc(&["up", "-d"]);
    dc(&["stop", "-t", "1"]);
    assert_eq!(d.ok(&["ps", "-q"]).trim(), "");
    dc(&["down", "-v"]);
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "");

    // A version "2" file whose web image is built (docker-py's POST /build).
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nCOPY cgi-bin /www/cgi-bin\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            "version: \"2\"\nservices:\n  web:\n    build: .\n    ports: [\"127.0.0.1:{port}:80\"]\n    links: [\"redis:db\"]\n  redis:\n    image: busybox\n    command: [\"sh\", \"-c\", \"while true; do echo PONG | nc -l -p 6379; done\"]\n"
        ),
    )
    .unwrap();
    dc(&["up", "-d", "--build"]);
    for id in d.ok(&["ps", "-aq"]).split_whitespace() {
        d.record_veths(id);
    }
    for net in d
        .ok(&[
            "network",
            "ls",
            "-q",
            "--filter",
            "label=com.docker.compose.network=default",
        ])
        .split_whitespace()
    {
        d.record_link(&bridge_of(&json(&d.ok(&["network", "inspect", net]))[0]));
    }
    let body = curl(&format!("http://127.0.0.1:{port}/cgi-bin/hello"));
    assert!(body.contains("redis says: PONG"), "{body}");
    dc(&["down", "-t", "1", "--rmi", "local"]);
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "");
    assert_ne!(
        d.berth(&["image", "inspect", &format!("{project}_web")])
            .code,
        0
    );
    d.finish();
}

/// `depends_on: condition: service_healthy` waits for the health check (the daemon's
/// runner), `service_completed_successfully` for a clean exit, and `up --wait` returns
/// once everything runs and is healthy.
#[test]
fn depends_on_conditions_and_up_wait() {
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("hc");
    std::fs::write(
        dir.join("compose.yaml"),
        r#"
services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 1; touch /ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/ready"]
      interval: 300ms
      retries: 20
  migrate:
    image: busybox
    command: ["sh", "-c", "echo migrated"]
    depends_on:
      db:
        condition: service_healthy
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
"#,
    )
    .unwrap();
    let out = compose(&d, &dir.path, &["-p", &project, "up", "-d", "--wait"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", d.log_tail());
    record(&d, &project);
    // db was healthy before migrate started; app started after migrate exited 0.
    let health = d.ok(&[
        "inspect",
        "-f",
        "{{.State.Health.Status}}",
        &format!("{project}-db-1"),
    ]);
    assert_eq!(health.trim(), "healthy");
    let started = |name: &str| {
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.StartedAt}}",
            &format!("{project}-{name}-1"),
        ])
        .trim()
        .to_string()
    };
    let finished = d.ok(&[
        "inspect",
        "-f",
        "{{.State.FinishedAt}}",
        &format!("{project}-migrate-1"),
    ]);
    assert!(started("app").as_str() >= finished.trim(), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("Container {project}-db-1  Healthy")),
        "{out:?}"
    );

    // An unhealthy dependency stops `up` with a clear error.
    std::fs::write(
        dir.join("compose.yaml"),
        r#"
services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 200ms
      retries: 2
  app:
    image: busybox
    command: ["sleep", "60"]
    depends_on:
      db:
        condition: service_healthy
"#,
    )
    .unwrap();
    let out = compose(
        &d,
        &dir.path,
        &["-p", &project, "up", "-d", "--remove-orphans"],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("is unhealthy"), "{out:?}");
    record(&d, &project);
    compose_ok(&d, &dir.path, &["-p", &project, "down", "-t", "1"]);
    assert_gone(&d, &project);
    d.finish();
}

/// `up` without `-d`: `name | line` output of every container (coloured with
/// `--ansi always`), and Ctrl-C (SIGINT) stops the containers.
#[test]
fn attached_up_prefixes_output_and_ctrl_c_stops() {
    use std::io::Read;
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("att");
    std::fs::write(
        dir.join("compose.yaml"),
        r#"
services:
  talker:
    image: busybox
    command: ["sh", "-c", "echo hello from talker; trap 'exit 0' TERM; while true; do sleep 1; done"]
  quiet:
    image: busybox
    command: ["sh", "-c", "echo quiet here; trap 'exit 0' TERM; while true; do sleep 1; done"]
"#,
    )
    .unwrap();
    let mut child = berth_command()
        .arg("-H")
        .arg(d.daemon().host())
        .args(["compose", "--ansi", "always", "-p", &project, "up"])
        .current_dir(&dir.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn berth compose up");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(seen.contains("hello from talker") && seen.contains("quiet here")) {
        assert!(
            Instant::now() < deadline,
            "no output: {seen:?}\n{}",
            d.log_tail()
        );
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(
        seen.contains("talker-1 | \x1b[0mhello from talker"),
        "{seen:?}"
    );
    assert!(seen.contains("\x1b[3"), "{seen:?}");
    record(&d, &project);
    // SAFETY: SIGINT to the berth process this test spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    let running = d.ok(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    assert_eq!(running.trim(), "");
    compose_ok(&d, &dir.path, &["-p", &project, "down"]);
    assert_gone(&d, &project);
    d.finish();
}

/// The other verbs: pause/unpause, kill, restart, top, port, images, ls, events, rm.
#[test]
fn lifecycle_and_listing_commands() {
    use std::io::{BufRead, BufReader};
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("life");
    let port = free_port();
    std::fs::write(
        dir.join("compose.yaml"),
        format!(
            r#"
services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    ports: ["127.0.0.1:{port}:80"]
"#
        ),
    )
    .unwrap();
    let c = |args: &[&str]| {
        let mut full = vec!["-p", project.as_str()];
        full.extend_from_slice(args);
        compose_ok(&d, &dir.path, &full)
    };
    c(&["up", "-d"]);
    record(&d, &project);
    let name = format!("{project}-web-1");
    let state = |d: &NetDaemon| {
        d.ok(&["inspect", "-f", "{{.State.Status}}", &name])
            .trim()
            .to_string()
    };

    // events: one JSON object per line, for this project's containers.
    let mut events = berth_command()
        .arg("-H")
        .arg(d.daemon().host())
        .args(["compose", "-p", &project, "events", "--json"])
        .current_dir(&dir.path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn events");
    let stdout = events.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));

    c(&["pause"]);
    assert_eq!(state(&d), "paused");
    c(&["unpause"]);
    assert_eq!(state(&d), "running");
    let event = rx.recv_timeout(Duration::from_secs(10)).expect("an event");
    let event = json(&event);
    assert_eq!(event["action"], "pause");
    assert_eq!(event["service"], "web");
    // SAFETY: SIGTERM to the events process this test spawned.
    unsafe {
        libc::kill(events.id() as i32, libc::SIGTERM);
    }
    let _ = events.wait();

    assert_eq!(
        c(&["port", "web", "80"]).trim(),
        format!("127.0.0.1:{port}")
    );
    let top = c(&["top"]);
    assert!(top.contains(&name) && top.contains("sleep 1000"), "{top}");
    let images = c(&["images"]);
    assert!(
        images.contains(&name) && images.contains("busybox"),
        "{images}"
    );
    let ls = c(&["ls"]);
    assert!(ls.contains(&project) && ls.contains("running(1)"), "{ls}");
    let started = d.ok(&["inspect", "-f", "{{.State.StartedAt}}", &name]);
    c(&["restart", "-t", "1"]);
    assert_ne!(
        d.ok(&["inspect", "-f", "{{.State.StartedAt}}", &name]),
        started
    );
    c(&["kill", "-s", "KILL"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(&d) != "exited" {
        assert!(Instant::now() < deadline, "still {}", state(&d));
        std::thread::sleep(Duration::from_millis(50));
    }
    c(&["rm", "-f"]);
    assert_eq!(c(&["ps", "-aq"]).trim(), "");
    c(&["down"]);
    assert_gone(&d, &project);
    d.finish();
}

/// The seed's `build: .`: the web image built from a Dockerfile through `POST /build`,
/// not rebuilt or recreated by a second `up`, rebuilt with `--build` after a change (and
/// then recreated), removed by `down --rmi local`.
#[test]
fn build_from_dockerfile_and_rebuild() {
    let d = daemon();
    let dir = TempDir::new("bcz");
    let project = unique("bld");
    let port = free_port();
    write_app(&dir.path, port);
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nCOPY cgi-bin /www/cgi-bin\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join(".dockerignore"), "docker-compose.yml\n").unwrap();
    let file = dir.join("docker-compose.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text
        .replace(
            "web:\n  image: busybox\n  command: httpd -f -p 80 -h /compose\n",
            "web:\n  build: .\n",
        )
        .replace("  volumes:\n    - .:/compose\n", "");
    std::fs::write(&file, &text).unwrap();
    let c = |args: &[&str]| {
        let mut full = vec!["-p", project.as_str()];
        full.extend_from_slice(args);
        compose_ok(&d, &dir.path, &full)
    };
    c(&["up", "-d"]);
    record(&d, &project);
    let image = format!("{project}-web");
    let first_image = d.ok(&["image", "inspect", "-f", "{{.Id}}", &image]);
    let body = curl(&format!("http://127.0.0.1:{port}/cgi-bin/hello"));
    assert!(body.contains("redis says: PONG"), "{body}");
    let web = ids(&d, &project, "web");

    c(&["up", "-d"]);
    assert_eq!(ids(&d, &project, "web"), web);

    std::fs::write(
        dir.join("cgi-bin/hello"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"v2; redis says: $(echo PING | nc db 6379)\"\n",
    )
    .unwrap();
    c(&["up", "-d", "--build"]);
    record(&d, &project);
    assert_ne!(
        d.ok(&["image", "inspect", "-f", "{{.Id}}", &image]),
        first_image
    );
    assert_ne!(ids(&d, &project, "web"), web);
    let body = curl(&format!("http://127.0.0.1:{port}/cgi-bin/hello"));
    assert!(body.contains("v2; redis says: PONG"), "{body}");

    c(&["down", "-v", "--rmi", "local", "-t", "1"]);
    assert_gone(&d, &project);
    assert_ne!(d.berth(&["image", "inspect", &image]).code, 0);
    d.finish();
}
