//! A tmux server of the test's own, for driving the release binary in a real terminal.
#![allow(dead_code)] // each test binary uses the part of the helper it needs

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The model the end-to-end tests run (RUBRICATE_MODEL or the default), insisting it is there.
pub fn model_path() -> PathBuf {
    let path = std::env::var_os("RUBRICATE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| rubricate::paths::default_model().expect("a home directory"));
    assert!(
        path.is_file(),
        "the end-to-end test needs the model at {}: run scripts/fetch-model.sh or set RUBRICATE_MODEL",
        path.display()
    );
    path
}

/// The queue position on the status line ("3/34"), if shown.
pub fn position(screen: &str) -> Option<String> {
    let status = screen.lines().next()?;
    status
        .split_whitespace()
        .find(|w| w.contains('/') && w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
}

/// Generous: a judgment takes seconds on two cores, and CI machines are slow.
pub const DEADLINE: Duration = Duration::from_secs(180);

/// A tmux server of our own (unique socket), killed when the test ends either way.
pub struct Tmux {
    socket: String,
    log: PathBuf,
}

/// Tests in one binary run in parallel: each gets its own server.
static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Tmux {
    pub fn start(command: &str, log: PathBuf) -> Tmux {
        let socket = format!(
            "rubricate-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let t = Tmux { socket, log };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "48",
            ])
            .args(["-s", "e2e", command])
            .status()
            .expect("tmux must be installed for the end-to-end test");
        assert!(ok.success(), "tmux new-session failed");
        t
    }

    pub fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "e2e"])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success(), "tmux send-keys {keys:?} failed");
    }

    pub fn text(&self, text: &str) {
        self.keys(&["-l", text]);
    }

    /// Resize the terminal (the workbench gets a resize event).
    pub fn resize(&self, w: u16, h: u16) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "resize-window", "-t", "e2e"])
            .args(["-x", &w.to_string(), "-y", &h.to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "tmux resize-window failed");
    }

    /// Put `text` in a paste buffer and paste it the way a terminal pastes: bracketed
    /// (ESC [200~ … ESC [201~) when the program asked for it.
    pub fn paste(&self, text: &str) {
        let ok = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "set-buffer",
                "-b",
                "e2e-paste",
                "--",
                text,
            ])
            .status()
            .unwrap();
        assert!(ok.success(), "tmux set-buffer failed");
        let ok = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "paste-buffer",
                "-p",
                "-d",
                "-b",
                "e2e-paste",
                "-t",
                "e2e",
            ])
            .status()
            .unwrap();
        assert!(ok.success(), "tmux paste-buffer failed");
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "e2e"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll the screen until `ok` holds; on timeout fail with the screen and the log.
    pub fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            let exited = s.contains("RUBRICATE-EXITED:");
            if exited || start.elapsed() > DEADLINE {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
                let why = if exited {
                    "the workbench exited"
                } else {
                    "timed out"
                };
                panic!(
                    "{why} while waiting for {what}; screen:\n{s}\nlog (last lines, newest first):\n{tail}"
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
