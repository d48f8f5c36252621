//! A reviewer's day in a real terminal (tmux, the release binary, a real SQLite file,
//! no model so the tests need no model file): a database locked by another process
//! loses no decision, kept edits are shown again after reopening, undo follows the
//! reviewer after auto-advance.

mod tmux_support;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tmux_support::{Tmux, position};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

struct Bench {
    _dir: tempfile::TempDir,
    db: PathBuf,
    state: PathBuf,
    missing_model: PathBuf,
}

fn bench() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("day.db");
    let state = dir.path().join("state");
    let missing_model = dir.path().join("no-such-model.gguf");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl");
    let import = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "import", sample])
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    Bench {
        db,
        state,
        missing_model,
        _dir: dir,
    }
}

impl Bench {
    /// The workbench in tmux; `extra` goes after `review`.
    fn open(&self, extra: &str) -> Tmux {
        let cmd = format!(
            "env XDG_STATE_HOME='{}' XDG_CONFIG_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer day \
             review --model '{}' {extra}; echo RUBRICATE-EXITED:$?; sleep 600",
            self.state.display(),
            self.state.join("config").display(),
            self.db.display(),
            self.missing_model.display()
        );
        let tmux = Tmux::start(&cmd, self.state.join("rubricate/logs/rubricate.log"));
        tmux.wait("the workbench without a model", |s| {
            s.contains("no-such-model.gguf") && s.contains("Prompt · case")
        });
        tmux
    }
}

/// The case id in the prompt pane's title.
fn case_on_screen(screen: &str) -> Option<i64> {
    let rest = screen.split("Prompt · case ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The verdict in force for a case and reviewer, folded from the rows as the app does.
fn decision(db: &Path, case_id: i64) -> Option<(String, String)> {
    let store = rubricate::store::Store::open(db).unwrap();
    let state = store.review_state(case_id, "day").unwrap();
    state.decision.map(|d| {
        (
            d.action.as_str().to_string(),
            d.verdict.unwrap().to_string(),
        )
    })
}

#[test]
fn a_database_locked_by_another_process_loses_no_decision() {
    let b = bench();
    let tmux = b.open("");
    let s = tmux.wait("case 1 of 34", |s| position(s).as_deref() == Some("1/34"));
    let first = case_on_screen(&s).unwrap();

    // This test process is the other program: it holds the write lock for 8 s.
    let lock = Connection::open(&b.db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE; INSERT INTO rubrics (name, version, body) VALUES ('lock-holder', 1, 'x');")
        .unwrap();
    let held = Instant::now();

    tmux.keys(&["1"]);
    // The screen moves on at once and says the decision is waiting.
    let s = tmux.wait("case 2 while the lock is held", |s| {
        position(s).as_deref() == Some("2/34") && s.contains("saving…")
    });
    assert!(
        held.elapsed() < Duration::from_secs(4),
        "the screen froze while the database was locked"
    );
    let second = case_on_screen(&s).unwrap();
    assert_ne!(first, second);
    tmux.keys(&["2"]);
    let s = tmux.wait("case 3 and the busy notice", |s| {
        position(s).as_deref() == Some("3/34") && s.contains("database busy")
    });
    assert!(held.elapsed() < Duration::from_secs(8), "{s}");
    assert_eq!(decision(&b.db, first), None, "nothing written while locked");

    // Quitting now asks: two changes are not written yet.
    tmux.keys(&["q"]);
    tmux.wait("the quit question", |s| s.contains("not written yet"));
    tmux.keys(&["n"]);

    std::thread::sleep(Duration::from_secs(8).saturating_sub(held.elapsed()));
    lock.execute_batch("COMMIT").unwrap();
    tmux.wait("both decisions saved", |s| !s.contains("saving…"));
    assert_eq!(
        decision(&b.db, first),
        Some(("decide".to_string(), "A".to_string()))
    );
    assert_eq!(
        decision(&b.db, second),
        Some(("decide".to_string(), "B".to_string()))
    );
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
}

#[test]
fn a_kept_rubric_edit_is_on_screen_after_deciding_quitting_and_reopening() {
    let b = bench();
    let tmux = b.open("");
    let s = tmux.wait("case 1 of 34", |s| position(s).as_deref() == Some("1/34"));
    let first = case_on_screen(&s).unwrap();
    tmux.keys(&["e"]);
    tmux.wait("the rubric editor", |s| s.contains("Edit the rubric"));
    tmux.text("1. Must cite its source.");
    tmux.keys(&["C-s"]);
    tmux.wait("the kept rubric", |s| {
        s.contains("rubric kept as case-") && s.contains("Rubric · edited by day")
    });
    tmux.keys(&["1"]);
    tmux.wait("case 2 after deciding", |s| {
        position(s).as_deref() == Some("2/34") && s.contains("saved: case")
    });
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
    drop(tmux);

    let tmux = b.open("--filter all");
    if case_on_screen(&tmux.screen()) != Some(first) {
        tmux.keys(&["k"]);
    }
    let s = tmux.wait("the decided case with the reviewer's rubric", |s| {
        case_on_screen(s) == Some(first) && s.contains("Rubric · edited by day")
    });
    assert!(s.contains("Must cite its source."), "{s}");
    // The editor opens on it too.
    tmux.keys(&["e"]);
    let s = tmux.wait("the rubric editor", |s| s.contains("Edit the rubric"));
    assert!(s.contains("Must cite its source."), "{s}");
    tmux.keys(&["Escape"]);
    tmux.wait("the editor closed", |s| !s.contains("Edit the rubric"));
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
}

#[test]
fn blind_mode_hides_the_verdict_and_lengths_until_a_decision() {
    let b = bench();
    {
        // A stored judgment of case 1 (as `judge` would leave it): the model says A.
        let conn = Connection::open(&b.db).unwrap();
        conn.execute(
            "INSERT INTO judgments (case_id, model_file, model_sha256, template_version, grammar,
                 sampler_json, rubric, analysis, verdict, p_a, p_b, p_tie, parse_ok, raw)
             VALUES (1, 'm.gguf', 'x', 'v1', 1, '{}', '1. Honest', 'A is kinder.', 'A', 0.8, 0.15, 0.05, 1, '')",
            [],
        )
        .unwrap();
    }
    let tmux = b.open("--blind");
    let s = tmux.wait("case 1, judged, blind", |s| {
        case_on_screen(s) == Some(1) && s.contains("hidden until you decide")
    });
    assert!(!s.contains("model verdict: A"), "{s}");
    assert!(!s.contains("confidence"), "{s}");
    assert!(!s.contains(" chars"), "{s}");
    tmux.keys(&["2"]);
    tmux.wait("case 2", |s| case_on_screen(s) == Some(2));
    tmux.keys(&["k"]);
    let s = tmux.wait("case 1 decided: the verdict shows", |s| {
        case_on_screen(s) == Some(1) && s.contains("model verdict: A")
    });
    assert!(s.contains(" chars"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
    let conn = Connection::open(&b.db).unwrap();
    let (action, blind): (String, bool) = conn
        .query_row(
            "SELECT action, blind FROM reviews WHERE case_id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((action.as_str(), blind), ("override", true));
}

#[test]
fn reopening_lands_on_the_last_case_with_the_same_filter() {
    let b = bench();
    let tmux = b.open("--filter all");
    tmux.wait("case 1 of 34", |s| position(s).as_deref() == Some("1/34"));
    tmux.keys(&["j", "j", "j"]);
    let s = tmux.wait("case 4", |s| position(s).as_deref() == Some("4/34"));
    let fourth = case_on_screen(&s).unwrap();
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
    drop(tmux);

    // No --filter: the last session's filter and case.
    let tmux = b.open("");
    let s = tmux.wait("the case left off at", |s| {
        position(s).as_deref() == Some("4/34") && s.contains("back where you left off")
    });
    assert_eq!(case_on_screen(&s), Some(fourth));
    assert!(s.lines().next().unwrap().contains("all"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
}
