//! The terminal is given back when the workbench is killed: SIGTERM ends it cleanly,
//! and on SIGABRT (what llama.cpp's GGML_ABORT raises) the handler restores the
//! terminal before the process dies. Runs the release binary in tmux; no model needed.

use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux must be installed for this test");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait(socket: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let s = tmux(socket, &["capture-pane", "-p", "-t", "t"]);
        if ok(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Start the workbench (empty database, no model) in tmux, send `signal`, and return
/// the screen after it ended: its exit status and the terminal's line discipline.
fn killed_with(signal: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("rubricate-restore-{}-{signal}", std::process::id());
    let cmd = format!(
        "env XDG_STATE_HOME='{}' '{BIN}' --db '{}' review --model '{}'; echo EXITED:$?; \
         stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo STTY-DONE; sleep 600",
        dir.path().join("state").display(),
        dir.path().join("t.db").display(),
        dir.path().join("missing.gguf").display(),
    );
    Command::new("tmux")
        .args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
            "-s",
            "t",
        ])
        .arg(&cmd)
        .status()
        .unwrap();
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .status();
        }
    }
    let _kill = Kill(socket.clone());
    wait(&socket, "the workbench", |s| {
        s.contains("This database has no cases yet")
    });
    let shell = tmux(&socket, &["display", "-p", "-t", "t", "#{pane_pid}"]);
    let children = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        shell.trim(),
        shell.trim()
    ))
    .unwrap();
    let pid = children
        .split_whitespace()
        .next()
        .expect("the workbench process");
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), pid])
        .status()
        .unwrap();
    assert!(ok.success());
    wait(&socket, "the shell after the workbench", |s| {
        s.contains("STTY-DONE")
    })
}

fn assert_restored(screen: &str) {
    assert!(
        !screen.contains("rubricate "),
        "the workbench is still on screen:\n{screen}"
    );
    assert!(
        screen.contains("icanon") && !screen.contains("-icanon"),
        "raw mode left on:\n{screen}"
    );
    assert!(
        screen.contains("echo") && !screen.contains("-echo"),
        "echo left off:\n{screen}"
    );
}

#[test]
fn sigterm_quits_cleanly_and_restores_the_terminal() {
    let screen = killed_with("TERM");
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert_restored(&screen);
}

#[test]
fn sigabrt_restores_the_terminal_before_the_process_dies() {
    let screen = killed_with("ABRT");
    // 128 + SIGABRT (6): the process still died of the abort.
    assert!(screen.contains("EXITED:134"), "{screen}");
    assert!(screen.contains("stopped unexpectedly"), "{screen}");
    assert_restored(&screen);
}
