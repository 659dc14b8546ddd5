//! `exec`: extra processes in a running container, through the berth CLI and the docker
//! CLI when one is installed. Flags (`-e`, `--env-file`, `-w`, `-u`, `-i`, `-d`), exit
//! codes (the command's own, 126/127 when it cannot run, docker's messages), refusals
//! for stopped, paused and missing containers, the exec inspect document, and an
//! interactive shell on a terminal (raw mode, size, resize, detach keys).

use berth_tests::containers::{for_each_client, terminal_lines, Pty, TestDaemon, SETTLE};
use berth_tests::introspect::{
    client_pids, eventually, resize_terminal_of, start_container, type_key,
};

#[test]
fn exec_runs_commands_with_flags() {
    let d = TestDaemon::start();
    let env_file = d.dir.join("exec.env");
    std::fs::write(&env_file, "# a comment\nFROM_FILE=yes\nSPACED=a b\n").expect("env file");
    for_each_client(&d, |c| {
        let name = c.name("exec-flags");
        start_container(c, &name, &[]);

        let out = c.ok(&["exec", &name, "echo", "hello"]);
        assert_eq!(out, "hello\n");

        // stdout and stderr stay apart; the command's exit code is the client's.
        let out = c.expect_code(
            &["exec", &name, "sh", "-c", "echo out; echo err >&2; exit 3"],
            3,
        );
        assert_eq!(out.stdout, "out\n", "{out:?}");
        assert_eq!(out.stderr, "err\n", "{out:?}");

        // Flags after the container belong to the command.
        let out = c.ok(&["exec", &name, "sh", "-c", "echo $0 $1", "-x", "-e"]);
        assert_eq!(out, "-x -e\n");

        let env = env_file.to_str().expect("utf-8 path");
        let out = c.ok(&[
            "exec",
            "-e",
            "FOO=bar",
            "--env-file",
            env,
            "-w",
            "/tmp",
            "-u",
            "65534:65534",
            &name,
            "sh",
            "-c",
            "echo \"$FOO|$FROM_FILE|$SPACED|$(pwd)|$(id -u):$(id -g)\"",
        ]);
        assert_eq!(out, "bar|yes|a b|/tmp|65534:65534\n");
        // A user name resolves through the container's /etc/passwd.
        let out = c.ok(&["exec", "-u", "nobody", &name, "id", "-un"]);
        assert_eq!(out.trim(), "nobody");
        // The container's environment is inherited.
        let out = c.ok(&["exec", &name, "sh", "-c", "echo $PATH"]);
        assert!(out.contains("/bin"), "{out:?}");

        // -i feeds our stdin; without -i the command sees none.
        let out = c.run_with_stdin(&["exec", "-i", &name, "cat"], Some(b"piped\ninput\n"));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, "piped\ninput\n");
        let out = c.run_with_stdin(&["exec", &name, "cat"], Some(b"ignored\n"));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, "");

        // -t without a terminal: one raw stream, stderr folded into stdout.
        let out = c.ok(&[
            "exec",
            "-t",
            &name,
            "sh",
            "-c",
            "echo tty-out; echo tty-err >&2",
        ]);
        assert!(
            out.contains("tty-out") && out.contains("tty-err"),
            "{out:?}"
        );

        // -d returns at once; the command runs on.
        let out = c.ok(&[
            "exec",
            "-d",
            &name,
            "sh",
            "-c",
            "echo detached > /tmp/detached",
        ]);
        assert_eq!(out, "");
        eventually(&d, "the detached exec's file", || {
            c.run(&["exec", &name, "cat", "/tmp/detached"]).stdout == "detached\n"
        });
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn exec_exit_codes_for_commands_that_cannot_run() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("exec-codes");
        start_container(c, &name, &[]);
        let out = c.expect_code(&["exec", &name, "no-such-binary"], 127);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains("OCI runtime exec failed")
                && text.contains("exec: \"no-such-binary\": executable file not found in $PATH"),
            "{out:?}"
        );
        let out = c.expect_code(&["exec", &name, "/no/such/path"], 127);
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains("no such file or directory"),
            "{out:?}"
        );
        // A file that is not executable, and a directory: 126.
        let out = c.expect_code(&["exec", &name, "/etc/passwd"], 126);
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains("permission denied"),
            "{out:?}"
        );
        c.expect_code(&["exec", &name, "/tmp"], 126);
        // Killed by a signal: 128 + the signal, as a shell reports it.
        c.expect_code(&["exec", &name, "sh", "-c", "kill -9 $$"], 137);
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn exec_refuses_stopped_paused_and_missing_containers() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("exec-state");
        let id = start_container(c, &name, &[]);

        c.ok(&["pause", &name]);
        let out = c.expect_code(&["exec", &name, "true"], 1);
        assert!(
            out.stderr.contains(&format!(
                "Error response from daemon: Container {id} is paused, unpause the container before exec"
            )),
            "{out:?}"
        );
        c.ok(&["unpause", &name]);
        c.ok(&["exec", &name, "true"]);

        c.ok(&["stop", "-t", "0", &name]);
        let out = c.expect_code(&["exec", &name, "true"], 1);
        assert!(
            out.stderr.contains(&format!(
                "Error response from daemon: container {id} is not running"
            )),
            "{out:?}"
        );
        let create = d.api(
            "POST",
            &format!("/containers/{id}/exec"),
            Some(&serde_json::json!({"Cmd": ["true"]})),
        );
        assert_eq!(create.status, 409, "{}", create.text());

        let out = c.expect_code(&["exec", "no-such-container", "true"], 1);
        assert!(
            out.stderr
                .contains("Error response from daemon: No such container: no-such-container"),
            "{out:?}"
        );
        // A missing command is a usage error.
        let out = c.run(&["exec", &name]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains("requires at least 2 arguments"),
            "{out:?}"
        );
        // -it without a terminal on stdin.
        c.ok(&["start", &name]);
        d.wait_running(&name);
        let out = c.expect_code(&["exec", "-it", &name, "sh"], 1);
        assert!(
            out.stderr.contains("the input device is not a TTY"),
            "{out:?}"
        );
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn exec_inspect_and_events() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("exec-inspect");
        let id = start_container(c, &name, &[]);
        let since = berth_tests::unix_now();
        c.expect_code(&["exec", &name, "sh", "-c", "exit 5"], 5);
        let actions = d.container_actions(&since, &id);
        for wanted in ["exec_create: sh -c exit 5", "exec_start: sh -c exit 5"] {
            assert!(actions.iter().any(|a| a == wanted), "{actions:?}");
        }
        assert!(
            actions.iter().any(|a| a == "exec_die: sh -c exit 5"),
            "{actions:?}"
        );
        let die = d
            .events_since(&since)
            .into_iter()
            .find(|e| e["Action"] == "exec_die: sh -c exit 5")
            .expect("exec_die event");
        assert_eq!(die["Actor"]["Attributes"]["exitCode"], "5", "{die}");
        let exec_id = die["Actor"]["Attributes"]["execID"]
            .as_str()
            .expect("execID")
            .to_string();
        let inspect = d.get(&format!("/exec/{exec_id}/json")).json();
        assert_eq!(inspect["ExitCode"], 5, "{inspect}");
        assert_eq!(inspect["Running"], false, "{inspect}");
        assert_eq!(inspect["ContainerID"], id.as_str(), "{inspect}");
        assert_eq!(inspect["ProcessConfig"]["entrypoint"], "sh", "{inspect}");
        c.ok(&["rm", "-f", &name]);
    });
}

/// `exec -it CTR sh` on a terminal: a real shell with our size, following resizes,
/// exiting with the shell's code; ctrl-p ctrl-q (or `--detach-keys`) detaches.
#[test]
fn exec_interactive_shell_on_a_terminal() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("exec-tty");
        start_container(c, &name, &[]);

        let mut pty = Pty::spawn(c.command(&["exec", "-it", &name, "sh"]));
        pty.expect("# ", SETTLE);
        pty.send("stty size; echo $((6*7))\r");
        pty.expect("24 80", SETTLE);
        pty.expect("42", SETTLE);
        // The window grows: the client forwards the new size to the exec's terminal.
        let needle = format!("exec -it {name} sh");
        assert!(
            resize_terminal_of(&needle, 33, 101),
            "no client process for {needle:?}"
        );
        // The size travels asynchronously (SIGWINCH, then a resize request): ask the
        // shell until it sees it. Each probe waits for its own answer; `pro""beN` keeps
        // the echoed command line from matching.
        let deadline = std::time::Instant::now() + SETTLE;
        let mut probe = 0;
        while !pty.output().contains("33 101") {
            assert!(
                std::time::Instant::now() < deadline,
                "the resize did not reach the shell:\n{}",
                pty.output()
            );
            probe += 1;
            pty.send(&format!("stty size; echo pro\"\"be{probe}\r"));
            pty.expect(&format!("probe{probe}"), SETTLE);
        }
        pty.send("exit 7\r");
        let status = pty.wait(SETTLE).expect("exec exits with the shell");
        assert_eq!(status.code(), Some(7), "{}", pty.output());
        // Typed input was echoed by the container's terminal, not by ours.
        let lines = terminal_lines(&pty.output());
        assert!(lines.iter().any(|l| l == "42"), "{lines:?}");

        // Detach with the default keys: the shell keeps running in the container.
        let mut pty = Pty::spawn(c.command(&["exec", "-it", &name, "sh"]));
        pty.expect("# ", SETTLE);
        pty.send("echo attached\r");
        pty.expect("attached", SETTLE);
        // Each key in its own read, as typed: docker's escape proxy ignores pastes.
        type_key(&mut pty, &needle, "\x10");
        pty.send("\x11");
        let status = pty.wait(SETTLE).expect("the client detaches");
        assert_eq!(status.code(), Some(1), "{}", pty.output());
        assert!(
            pty.output().contains("read escape sequence"),
            "{}",
            pty.output()
        );

        // Custom detach keys.
        let mut pty =
            Pty::spawn(c.command(&["exec", "-it", "--detach-keys", "ctrl-a,x", &name, "sh"]));
        pty.expect("# ", SETTLE);
        type_key(&mut pty, &format!("ctrl-a,x {name} sh"), "\x01");
        pty.send("x");
        let status = pty.wait(SETTLE).expect("the client detaches");
        assert_eq!(status.code(), Some(1), "{}", pty.output());
        assert!(client_pids(&needle).is_empty());
        c.ok(&["rm", "-f", &name]);
    });
}
