//! Without a model, in a real terminal: the workbench opens with a banner, manual review
//! works, and a decision reported saved survives the process being killed outright.

mod tmux_support;

use rusqlite::Connection;
use std::process::Command;
use tmux_support::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

#[test]
fn killed_workbench_keeps_its_saved_decision_and_works_without_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let state = dir.path().join("state");
    let missing_model = dir.path().join("no-such-model.gguf");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl");
    let import = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "import", sample])
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");

    let cmd = format!(
        "env XDG_STATE_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer crash review --model '{}'; \
         echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        db.display(),
        missing_model.display()
    );
    let tmux = Tmux::start(&cmd, state.join("rubricate/logs/rubricate.log"));

    // The banner names the missing file and says what to do; the case is still shown.
    let screen = tmux.wait("the no-model banner", |s| s.contains("no-such-model.gguf"));
    assert!(screen.contains("1/34"), "the queue opened:\n{screen}");
    assert!(
        screen.contains("fetch-model") || screen.contains("--model"),
        "the banner says how to fix it:\n{screen}"
    );

    // A manual decision, then a hard kill before any orderly shutdown could flush anything.
    tmux.keys(&["2"]);
    tmux.wait("the decision to be reported saved", |s| s.contains("saved"));
    let pid = Command::new("pgrep")
        .args(["-f", &format!("{BIN} --db {}", db.display())])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout)
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .expect("the workbench process is running");
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait("the process to die", |s| s.contains("RUBRICATE-EXITED:137"));

    let conn = Connection::open(&db).unwrap();
    let (action, verdict, reviewer): (String, String, String) = conn
        .query_row(
            "SELECT action, verdict, reviewer FROM reviews ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the saved decision is in the database after the kill");
    assert_eq!(
        (action.as_str(), verdict.as_str(), reviewer.as_str()),
        ("decide", "B", "crash")
    );
}
