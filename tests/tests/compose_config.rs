//! `berth compose config` (no daemon needed): file lookup in parent folders, the override
//! file, `-f` merging, version-1 and version-2 layouts, `.env`/`--env-file`
//! interpolation, profiles, project names, and the errors bad files give.

use std::path::Path;

use berth_tests::{berth_command, TempDir};

fn config(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = berth_command();
    command
        .arg("compose")
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run berth");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let (code, out, err) = config(dir, args, env);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

#[test]
fn lookup_override_and_project_name() {
    let root = TempDir::new("bczc");
    let project_dir = root.join("My_App.1");
    std::fs::create_dir_all(project_dir.join("sub/deeper")).unwrap();
    std::fs::write(
        project_dir.join("docker-compose.yml"),
        "version: \"2\"\nservices:\n  web:\n    image: busybox\n    ports: [\"8080:80\"]\n    environment: [A=1, B=2]\n",
    )
    .unwrap();
    std::fs::write(
        project_dir.join("docker-compose.override.yml"),
        "services:\n  web:\n    environment:\n      B: \"3\"\n    ports: [\"8443:443\"]\n",
    )
    .unwrap();
    // Found from a sub-folder; the name is the folder's, normalised.
    let out = ok(&project_dir.join("sub/deeper"), &["config"], &[]);
    assert!(out.starts_with("name: my_app1\n"), "{out}");
    assert!(out.contains("A: '1'") && out.contains("B: '3'"), "{out}");
    assert!(
        out.contains("published: '8080'") && out.contains("published: '8443'"),
        "{out}"
    );
    // -p and COMPOSE_PROJECT_NAME.
    assert!(ok(&project_dir, &["-p", "other", "config"], &[]).starts_with("name: other\n"));
    assert!(ok(
        &project_dir,
        &["config"],
        &[("COMPOSE_PROJECT_NAME", "envname")]
    )
    .starts_with("name: envname\n"));
    assert_eq!(ok(&project_dir, &["config", "--services"], &[]), "web\n");
}

#[test]
fn merge_interpolation_profiles_and_v1() {
    let dir = TempDir::new("bczc");
    std::fs::write(
        dir.join("base.yml"),
        r#"
services:
  web:
    image: "busybox:${TAG:-latest}"
    command: echo ${MSG-unset} $$HOME
    volumes: ["data:/data", "./src:/src:ro"]
    depends_on: [db]
  db:
    image: busybox
  debug:
    image: busybox
    profiles: [debug]
volumes:
  data: {}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("extra.yml"),
        "services:\n  web:\n    command: [\"sh\", \"-c\", \"echo ${MSG}\"]\n    labels: {tier: front}\n",
    )
    .unwrap();
    std::fs::write(dir.join("vars.env"), "TAG=1.36\nMSG=from-file\n").unwrap();
    let out = ok(
        &dir.path,
        &[
            "-f",
            "base.yml",
            "-f",
            "extra.yml",
            "--env-file",
            "vars.env",
            "config",
        ],
        &[],
    );
    assert!(out.contains("image: busybox:1.36"), "{out}");
    assert!(out.contains("- echo from-file"), "{out}");
    assert!(out.contains("tier: front"), "{out}");
    assert!(
        out.contains(&format!("source: {}/src", dir.path.display())),
        "{out}"
    );
    assert!(!out.contains("debug:"), "{out}");
    // The process environment wins over the env file; `$$` is a literal `$`.
    let out = ok(
        &dir.path,
        &["-f", "base.yml", "--env-file", "vars.env", "config"],
        &[("MSG", "from-env")],
    );
    assert!(
        out.contains("- from-env") && out.contains("- $HOME"),
        "{out}"
    );
    // Profiles.
    let services = ok(
        &dir.path,
        &[
            "-f",
            "base.yml",
            "--profile",
            "debug",
            "config",
            "--services",
        ],
        &[],
    );
    assert_eq!(services, "db\ndebug\nweb\n");
    assert_eq!(
        ok(&dir.path, &["-f", "base.yml", "config", "--volumes"], &[]),
        "data\n"
    );
    // COMPOSE_FILE.
    let out = ok(
        &dir.path,
        &["config", "--services"],
        &[("COMPOSE_FILE", "base.yml")],
    );
    assert_eq!(out, "db\nweb\n");
    // Version 1: services at the top level.
    std::fs::write(
        dir.join("v1.yml"),
        "web:\n  image: busybox\n  links: [redis]\nredis:\n  image: busybox\n",
    )
    .unwrap();
    assert_eq!(
        ok(&dir.path, &["-f", "v1.yml", "config", "--services"], &[]),
        "redis\nweb\n"
    );
}

#[test]
fn bad_files_name_what_is_wrong() {
    let dir = TempDir::new("bczc");
    let cases: &[(&str, &[&str])] = &[
        (
            "services:\n  web:\n    image: busybox\n    ports: [\"x:80\"]\n",
            &["services.web.ports[0]", "invalid port"],
        ),
        (
            "services:\n  web:\n    image: busybox\n    networks: [nope]\n",
            &["undefined network nope"],
        ),
        (
            "services:\n  web:\n    image: busybox\n    volumes: [\"nope:/data\"]\n",
            &["undefined volume nope"],
        ),
        (
            "services:\n  web:\n    image: busybox\n    depends_on: [ghost]\n",
            &["ghost"],
        ),
        (
            "services:\n  web:\n    build: {context: ., bogus: 1}\n",
            &["services.web.build", "bogus"],
        ),
        (
            "services:\n  web:\n    command: x\n",
            &["neither an image nor a build"],
        ),
        (
            "services:\n  web:\n    image: \"${UNCLOSED\"\n",
            &["invalid interpolation format"],
        ),
        ("bogus_top: 1\nservices: {}\n", &["bogus_top"]),
    ];
    for (yaml, needles) in cases {
        std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
        let (code, out, err) = config(&dir.path, &["config"], &[]);
        assert_ne!(code, 0, "{yaml}: {out}");
        for needle in *needles {
            assert!(err.contains(needle), "{yaml}: expected {needle:?} in {err}");
        }
    }
    let empty = TempDir::new("bczc");
    let (code, _, err) = config(&empty.path, &["config"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("no configuration file provided"), "{err}");
}
