//! In a real terminal (tmux, release binary, real database; no model needed): refine an
//! answer, tag the case into a collection, decide, quit; then `export --collection` gives
//! the pair with the refined text and its provenance.

mod formats_common;
mod tmux_support;

use formats_common::ok;
use std::process::Command;
use tmux_support::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

#[test]
fn refine_tag_decide_then_export_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pairwise.jsonl");
    ok(&db, &["import", fixture]);
    let state = dir.path().join("state");
    let log = state.join("rubricate/logs/rubricate.log");
    let cmd = format!(
        "env XDG_STATE_HOME='{}' XDG_CONFIG_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer e2e review \
         --model '{}'; echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        dir.path().join("config").display(),
        db.display(),
        dir.path().join("no-model.gguf").display()
    );
    let tmux = Tmux::start(&cmd, log);
    tmux.wait("case 1 open", |s| s.contains("What is 7"));

    // Refine answer A (focused by default): the editor holds the current text "56".
    tmux.keys(&["r"]);
    tmux.wait("the answer editor", |s| s.contains("Refine answer A"));
    tmux.text(" (7 x 8 = 56, checked)");
    tmux.keys(&["C-s"]);
    tmux.wait("the saved revision", |s| s.contains("answer A refined"));
    tmux.wait("the refined text on screen", |s| {
        s.contains("56 (7 x 8 = 56, checked)")
    });

    // Tag it into a new collection.
    tmux.keys(&["t"]);
    tmux.wait("the collection prompt", |s| {
        s.contains("Tag into collection")
    });
    tmux.text("gold");
    tmux.keys(&["C-s"]);
    tmux.wait("the tag", |s| s.contains("tagged into gold"));

    // Decide A and quit.
    tmux.keys(&["1"]);
    tmux.wait("the decision", |s| s.contains("saved:"));
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("RUBRICATE-EXITED:0"));

    let o = ok(
        &db,
        &[
            "--reviewer",
            "e2e",
            "export",
            "--format",
            "dpo",
            "--collection",
            "gold",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["id"], "pw-1");
    assert_eq!(rows[0]["chosen"], "56 (7 x 8 = 56, checked)");
    assert_eq!(rows[0]["rejected"], "54");
    assert_eq!(rows[0]["refined"]["chosen"]["author"], "e2e");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("wrote 1 record; left out 0"), "{err}");
    // The decision was a verdict key: no reasoning was approved.
    let o = ok(&db, &["--reviewer", "e2e", "export", "--format", "reviews"]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decision = rows.iter().find(|r| r["verdict"] == "A").unwrap();
    assert_eq!(decision["reasoning"], "verdict_only");
    assert_eq!(decision["collections"], serde_json::json!(["gold"]));
    drop(tmux);

    // The queue narrowed to the collection holds that case only.
    let cmd = format!(
        "env XDG_STATE_HOME='{}' XDG_CONFIG_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer e2e review \
         --filter all --collection gold --model '{}'; echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        dir.path().join("config").display(),
        db.display(),
        dir.path().join("no-model.gguf").display()
    );
    let tmux = Tmux::start(&cmd, state.join("rubricate/logs/rubricate.log"));
    let s = tmux.wait("the collection's queue", |s| s.contains("What is 7"));
    assert!(!s.contains("Pride and Prejudice"), "{s}");
    assert!(s.contains("56 (7 x 8 = 56, checked)"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("RUBRICATE-EXITED:0"));
    // A collection that does not exist is refused before the screen opens.
    let o = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["review", "--collection", "silver"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("gold"));
}
