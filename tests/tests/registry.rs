//! Registries end to end (issue 9): push, pull, login, search against Debian's real
//! `docker-registry` on 127.0.0.1, with the berth CLI and the docker CLI; failures from a
//! misbehaving registry (a small test server): wrong bytes, truncation, a registry that
//! goes away, bad credentials, another platform only, an unknown tag.

use std::process::Output;
use std::time::Duration;

use berth_tests::containers::TestDaemon;
use berth_tests::registry::{Registry, RegistryAuth, TokenServer};
use berth_tests::{berth_command, docker_cli, output_with_deadline, TempDir};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(120);

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `berth -H <daemon> args` with its own docker config folder.
fn berth(test: &TestDaemon, config: &TempDir, args: &[&str]) -> Output {
    let mut command = berth_command();
    command
        .arg("-H")
        .arg(test.daemon.host())
        .args(args)
        .env("DOCKER_CONFIG", &config.path);
    output_with_deadline(command, DEADLINE)
}

fn berth_ok(test: &TestDaemon, config: &TempDir, args: &[&str]) -> String {
    let out = berth(test, config, args);
    assert!(
        out.status.success(),
        "berth {args:?} failed: {}\n{}",
        text(&out),
        test.log_tail()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn inspect(test: &TestDaemon, config: &TempDir, name: &str) -> Value {
    let out = berth_ok(test, config, &["image", "inspect", name]);
    let all: Value = serde_json::from_str(&out).expect("inspect json");
    all[0].clone()
}

/// Load busybox, tag it for the registry, push it: returns the pushed reference.
fn push_busybox(test: &TestDaemon, config: &TempDir, registry: &str) -> String {
    let name = format!("{registry}/busybox:latest");
    berth_ok(test, config, &["tag", "busybox:latest", &name]);
    let out = berth_ok(test, config, &["push", &name]);
    assert!(
        out.contains(&format!(
            "The push refers to repository [{registry}/busybox]"
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    assert!(out.contains("latest: digest: sha256:"), "{out}");
    name
}

#[test]
fn push_rmi_pull_run_round_trip() {
    if !Registry::available() {
        eprintln!("skipped: /usr/bin/docker-registry is not installed");
        return;
    }
    let registry = Registry::start();
    let test = TestDaemon::start();
    let config = TempDir::new("berth-dcfg");
    let name = push_busybox(&test, &config, &registry.host());
    let id = inspect(&test, &config, &name)["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let digests = inspect(&test, &config, &name)["RepoDigests"].clone();
    assert_eq!(digests.as_array().map(Vec::len), Some(1), "{digests}");

    // A second push finds every blob there already.
    let again = berth_ok(&test, &config, &["push", &name]);
    assert!(again.contains("Layer already exists"), "{again}");

    berth_ok(&test, &config, &["rmi", &name, "busybox:latest"]);
    let pulled = berth_ok(&test, &config, &["pull", &name]);
    assert!(pulled.contains("latest: Pulling from busybox"), "{pulled}");
    assert!(pulled.contains("Pull complete"), "{pulled}");
    assert!(pulled.contains("Digest: sha256:"), "{pulled}");
    assert!(
        pulled.contains(&format!("Status: Downloaded newer image for {name}")),
        "{pulled}"
    );
    assert!(pulled.trim_end().ends_with(&name), "{pulled}");
    let image = inspect(&test, &config, &name);
    assert_eq!(
        image["Id"],
        id.as_str(),
        "same image ID after the round trip"
    );
    let digest = image["RepoDigests"][0].as_str().unwrap().to_string();
    assert!(digest.starts_with(&format!("{}/busybox@sha256:", registry.host())));

    // Already present: up to date.
    let again = berth_ok(&test, &config, &["pull", &name]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {name}")),
        "{again}"
    );
    // `images --digests` shows the digest.
    let listed = berth_ok(
        &test,
        &config,
        &[
            "images",
            "--digests",
            "--format",
            "{{.Repository}} {{.Digest}}",
        ],
    );
    assert!(
        listed.contains(digest.split('@').nth(1).unwrap()),
        "{listed}"
    );

    // Pushed to another repository of the same registry: the layer is mounted, not
    // uploaded (the pulled blob was recorded, not kept).
    let other = format!("{}/copies/busybox:latest", registry.host());
    berth_ok(&test, &config, &["tag", &name, &other]);
    let out = berth_ok(&test, &config, &["push", &other]);
    assert!(out.contains("Mounted from busybox"), "{out}");

    // It runs.
    let out = berth_ok(
        &test,
        &config,
        &["run", "--rm", &name, "echo", "round trip"],
    );
    assert_eq!(out.trim(), "round trip");

    // Pull by digest after removing everything.
    berth_ok(&test, &config, &["rmi", "-f", &id]);
    let by_digest = berth_ok(&test, &config, &["pull", &digest]);
    assert!(by_digest.contains("Pull complete"), "{by_digest}");
    assert_eq!(inspect(&test, &config, &digest)["Id"], id.as_str());

    // run pulls a missing image.
    berth_ok(&test, &config, &["rmi", "-f", &id]);
    let run = berth(&test, &config, &["run", "--rm", &name, "true"]);
    assert!(run.status.success(), "{}", text(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("Unable to find image") || stderr.contains("Pull complete"),
        "{stderr}"
    );
    // --pull never refuses a missing image.
    berth_ok(&test, &config, &["rmi", "-f", &id]);
    let never = berth(
        &test,
        &config,
        &["run", "--rm", "--pull", "never", &name, "true"],
    );
    assert!(!never.status.success(), "{}", text(&never));
}

#[test]
fn docker_cli_pulls_and_pushes() {
    let Some(docker) = docker_cli() else {
        eprintln!("skipped: no docker CLI");
        return;
    };
    if !Registry::available() {
        eprintln!("skipped: /usr/bin/docker-registry is not installed");
        return;
    }
    let registry = Registry::start();
    let test = TestDaemon::start();
    let config = TempDir::new("berth-dcfg");
    let name = format!("{}/dbox:v1", registry.host());
    berth_ok(&test, &config, &["tag", "busybox:latest", &name]);
    let docker = |args: &[&str]| {
        let mut command = std::process::Command::new(&docker);
        command
            .arg("-H")
            .arg(test.daemon.host())
            .args(args)
            .env("DOCKER_CONFIG", &config.path)
            .env_remove("DOCKER_HOST");
        output_with_deadline(command, DEADLINE)
    };
    let out = docker(&["push", &name]);
    assert!(out.status.success(), "docker push: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("v1: digest: sha256:"), "{stdout}");
    let out = docker(&["rmi", &name, "busybox:latest"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = docker(&["pull", &name]);
    assert!(out.status.success(), "docker pull: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Pull complete"), "{stdout}");
    assert!(
        stdout.contains("Status: Downloaded newer image"),
        "{stdout}"
    );
    let out = docker(&["images", "--digests"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sha256:"),
        "{}",
        text(&out)
    );
}

/// Credentials in the docker config folder, as `login` stores them.
fn stored_auth(config: &TempDir, server: &str) -> Option<String> {
    let text = std::fs::read_to_string(config.join("config.json")).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    json["auths"][server]["auth"].as_str().map(str::to_string)
}

#[test]
fn basic_auth_login_push_pull_logout() {
    if !Registry::available() {
        eprintln!("skipped: /usr/bin/docker-registry is not installed");
        return;
    }
    let registry = Registry::start_with(RegistryAuth::Htpasswd {
        user: "alice".into(),
        password: "s3cret".into(),
    });
    let test = TestDaemon::start();
    let config = TempDir::new("berth-dcfg");
    let host = registry.host();
    let name = format!("{host}/private:1");
    berth_ok(&test, &config, &["tag", "busybox:latest", &name]);

    // Anonymous push: refused with a clear message.
    let out = berth(&test, &config, &["push", &name]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unauthorized"),
        "{}",
        text(&out)
    );

    // Wrong password: refused, nothing stored.
    let out = berth(
        &test,
        &config,
        &["login", "-u", "alice", "-p", "wrong", &host],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        text(&out)
    );
    assert_eq!(stored_auth(&config, &host), None);

    // Right password through stdin.
    let mut command = berth_command();
    command
        .args([
            "-H",
            &test.daemon.host(),
            "login",
            "-u",
            "alice",
            "--password-stdin",
            &host,
        ])
        .env("DOCKER_CONFIG", &config.path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("berth login");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));
    // base64("alice:s3cret")
    assert_eq!(
        stored_auth(&config, &host).as_deref(),
        Some("YWxpY2U6czNjcmV0")
    );

    berth_ok(&test, &config, &["push", &name]);
    berth_ok(&test, &config, &["rmi", &name]);
    let pulled = berth_ok(&test, &config, &["pull", &name]);
    assert!(pulled.contains("Status: "), "{pulled}");

    let out = berth_ok(&test, &config, &["logout", &host]);
    assert!(
        out.contains(&format!("Removing login credentials for {host}")),
        "{out}"
    );
    assert_eq!(stored_auth(&config, &host), None);
    berth_ok(&test, &config, &["rmi", &name]);
    let out = berth(&test, &config, &["pull", &name]);
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn bearer_token_login_push_pull() {
    if !Registry::available() {
        eprintln!("skipped: /usr/bin/docker-registry is not installed");
        return;
    }
    let tokens = TokenServer::start("bob", "hunter2");
    let registry = Registry::start_with(RegistryAuth::Token {
        realm: tokens.realm(),
        service: tokens.service.clone(),
        issuer: tokens.issuer.clone(),
        cert: tokens.cert.clone(),
    });
    let test = TestDaemon::start();
    let config = TempDir::new("berth-dcfg");
    let host = registry.host();
    let name = format!("{host}/team/app:2");
    berth_ok(&test, &config, &["tag", "busybox:latest", &name]);

    let out = berth(&test, &config, &["login", "-u", "bob", "-p", "nope", &host]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unauthorized"),
        "{}",
        text(&out)
    );
    berth_ok(
        &test,
        &config,
        &["login", "-u", "bob", "-p", "hunter2", &host],
    );
    let pushed = berth_ok(&test, &config, &["push", &name]);
    assert!(
        pushed.contains("2: digest: sha256:"),
        "{pushed}\n{}",
        registry.log()
    );
    berth_ok(&test, &config, &["rmi", &name, "busybox:latest"]);
    let pulled = berth_ok(&test, &config, &["pull", &name]);
    assert!(pulled.contains("Pull complete"), "{pulled}");
    let out = berth_ok(&test, &config, &["run", "--rm", &name, "echo", "tokens"]);
    assert_eq!(out.trim(), "tokens");
}

#[test]
fn all_tags_and_quiet() {
    if !Registry::available() {
        eprintln!("skipped: /usr/bin/docker-registry is not installed");
        return;
    }
    let registry = Registry::start();
    let test = TestDaemon::start();
    let config = TempDir::new("berth-dcfg");
    let repo = format!("{}/multi", registry.host());
    for tag in ["a", "b"] {
        berth_ok(
            &test,
            &config,
            &["tag", "busybox:latest", &format!("{repo}:{tag}")],
        );
    }
    let out = berth_ok(&test, &config, &["push", "-a", &repo]);
    assert!(
        out.contains("a: digest: sha256:") && out.contains("b: digest: sha256:"),
        "{out}"
    );
    let out = berth(&test, &config, &["push", "-a", &format!("{repo}:a")]);
    assert!(!out.status.success(), "{}", text(&out));

    berth_ok(
        &test,
        &config,
        &[
            "rmi",
            &format!("{repo}:a"),
            &format!("{repo}:b"),
            "busybox:latest",
        ],
    );
    let out = berth_ok(&test, &config, &["pull", "--all-tags", &repo]);
    assert!(
        out.contains("a: Pulling from multi") && out.contains("b: Pulling from multi"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {repo}")),
        "{out}"
    );
    let tags = berth_ok(&test, &config, &["images", "--format", "{{.Tag}}", &repo]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["a", "b"]);

    let out = berth_ok(&test, &config, &["pull", "-q", &format!("{repo}:a")]);
    assert_eq!(out.trim(), format!("{repo}:a"));
}

/// A build whose base image is only in the registry pulls it for `FROM`, shows the pull
/// in the build output, and the built image runs.
#[test]
fn build_pulls_a_missing_base_image_from_the_registry() {
    if !Registry::available() {
        eprintln!("skipped: /usr/bin/docker-registry is not installed");
        return;
    }
    let registry = Registry::start();
    let test = TestDaemon::start();
    let config = TempDir::new("berth-dcfg");
    let base = push_busybox(&test, &config, &registry.host());
    berth_ok(&test, &config, &["rmi", &base]);
    let context = TempDir::new("berth-bctx");
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nRUN echo built > /built.txt\nCMD [\"cat\", \"/built.txt\"]\n"),
    )
    .expect("write Dockerfile");
    let dir = context.path.display().to_string();
    let out = berth_ok(&test, &config, &["build", "-t", "from-registry:1", &dir]);
    assert!(out.contains("latest: Pulling from busybox"), "{out}");
    assert!(out.contains("Digest: sha256:"), "{out}");
    // The layers were present (busybox:latest) but the tag is new: docker's wording.
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {base}")),
        "{out}"
    );
    assert!(out.contains("Successfully tagged from-registry:1"), "{out}");
    assert!(
        !out.contains("Downloading"),
        "byte-count updates printed outside a terminal: {out}"
    );
    let run = berth_ok(&test, &config, &["run", "--rm", "from-registry:1"]);
    assert_eq!(run.trim(), "built");
    // The base image is now local: its RepoDigests name the registry.
    let pulled = inspect(&test, &config, &base);
    assert!(
        pulled["RepoDigests"][0]
            .as_str()
            .is_some_and(|d| d.starts_with(&format!("{}/busybox@sha256:", registry.host()))),
        "{pulled}"
    );
}
