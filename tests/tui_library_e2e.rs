//! In a real terminal (tmux, release binary, real database, the real default model): the
//! rubric library browser end to end. Edit a case's rubric and save it under a name (two
//! versions), narrow the queue to a collection (`T`), apply each version to the narrowed
//! queue (`A`), compare them (`c`); the database and the screen are checked.

mod formats_common;
mod tmux_support;

use formats_common::ok;
use std::path::Path;
use std::time::{Duration, Instant};
use tmux_support::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

fn query(db: &Path, sql: &str) -> Vec<(i64, i64, String)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut stmt = c.prepare(sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// (case, swapped, rubric version) of every judgment given a `crisp` version.
fn crisp_judgments(db: &Path) -> Vec<(i64, i64, String)> {
    query(
        db,
        "SELECT j.case_id, j.swapped, 'crisp@' || r.version FROM judgments j
         JOIN rubrics r ON r.id = j.library_rubric_id
         WHERE r.name = 'crisp' AND j.rubric_given = 1 ORDER BY r.version, j.case_id",
    )
}

fn judged(s: &str) -> bool {
    ["model verdict: A", "model verdict: B", "model verdict: tie"]
        .iter()
        .any(|v| s.contains(v))
}

/// `s` in the browser: the name prompt starts with the selected rubric's name; replace it.
fn save_as(tmux: &Tmux, name: &str) {
    tmux.keys(&["s"]);
    tmux.wait("the name prompt", |s| s.contains("rubric name:"));
    for _ in 0..16 {
        tmux.keys(&["BSpace"]);
    }
    tmux.text(name);
    tmux.keys(&["Enter"]);
}

fn edit_rubric(tmux: &Tmux, line: &str) {
    tmux.keys(&["e"]);
    tmux.wait("the rubric editor", |s| s.contains("Edit the rubric"));
    tmux.keys(&["C-End", "Enter"]);
    tmux.text(line);
    tmux.keys(&["C-s"]);
    tmux.wait("the editor closed", |s| !s.contains("Edit the rubric"));
}

#[test]
fn save_a_rubric_apply_it_to_a_narrowed_queue_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pairwise.jsonl");
    ok(&db, &["import", fixture]);
    ok(&db, &["collections", "add", "gold", "pw-2", "pw-3"]);
    let state = dir.path().join("state");
    let log = state.join("rubricate/logs/rubricate.log");
    // The default model, short judgments (the verdict is read after the appended opener
    // when the budget runs out).
    let cmd = format!(
        "env XDG_STATE_HOME='{}' XDG_CONFIG_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer e2e review \
         --threads 2 --max-tokens 96; echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        dir.path().join("config").display(),
        db.display(),
    );
    let tmux = Tmux::start(&cmd, log);
    tmux.wait("case 1 judged", |s| s.contains("What is 7") && judged(s));

    // The reviewer's rubric, saved under a name: version 1, then an edit, version 2.
    edit_rubric(&tmux, "9. Names the exact number");
    tmux.keys(&["L"]);
    tmux.wait("the library", |s| s.contains("Rubrics ·"));
    save_as(&tmux, "crisp");
    tmux.wait("crisp@1 saved", |s| s.contains("saved crisp@1"));
    tmux.keys(&["Escape"]);
    edit_rubric(&tmux, "10. Stays brief");
    tmux.keys(&["L"]);
    tmux.wait("the library", |s| s.contains("Rubrics ·"));
    save_as(&tmux, "crisp");
    tmux.wait("crisp@2 saved", |s| s.contains("saved crisp@2"));
    tmux.keys(&["Escape"]);

    // Narrow the queue to the collection with the picker.
    tmux.keys(&["T"]);
    tmux.wait("the picker", |s| {
        s.contains("Narrow the queue") && s.contains("gold")
    });
    tmux.keys(&["Enter"]);
    tmux.wait("the narrowed queue", |s| {
        s.contains("collection gold") && s.contains(" 1/2 ")
    });

    // Apply version 1 to the narrowed queue, then version 2 once the first batch is out.
    tmux.keys(&["L"]);
    tmux.wait("the library on crisp@2", |s| {
        s.contains("Rubrics ·") && s.contains("crisp@2")
    });
    tmux.keys(&["["]);
    tmux.wait("crisp@1 shown", |s| s.contains("version 1 of 2"));
    tmux.keys(&["A"]);
    tmux.wait("the batch of crisp@1", |s| {
        s.contains("with crisp@1")
            && (s.contains("judging 2 judgment(s)") || s.contains("last of 2"))
    });
    let start = Instant::now();
    while crisp_judgments(&db).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "crisp@1 never judged"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The last job of the batch is running once nothing is left planned.
    tmux.wait("the last crisp@1 job", |s| !s.contains("crisp@1 1/2"));
    tmux.keys(&["]"]);
    tmux.wait("crisp@2 shown", |s| s.contains("version 2 of 2"));
    tmux.keys(&["A"]);
    let start = Instant::now();
    while crisp_judgments(&db).len() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the batches did not finish: {:?}",
            crisp_judgments(&db)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Exactly the collection's cases, original order, once per version.
    let gold: Vec<i64> = query(
        &db,
        "SELECT id, id, source_id FROM cases WHERE source_id IN ('pw-2', 'pw-3') ORDER BY id",
    )
    .into_iter()
    .map(|r| r.0)
    .collect();
    let want: Vec<(i64, i64, String)> = ["crisp@1", "crisp@2"]
        .iter()
        .flat_map(|v| gold.iter().map(move |&c| (c, 0, v.to_string())))
        .collect();
    assert_eq!(crisp_judgments(&db), want);
    // The versions hold the reviewer's edits, and the judgments were given them.
    let bodies = query(
        &db,
        "SELECT version, version, body FROM rubrics WHERE name = 'crisp' ORDER BY version",
    );
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].2.contains("Names the exact number") && !bodies[0].2.contains("Stays brief"));
    assert!(bodies[1].2.contains("Stays brief"));
    let given = query(
        &db,
        "SELECT j.case_id, r.version, j.rubric FROM judgments j JOIN rubrics r ON r.id = j.library_rubric_id
         WHERE r.name = 'crisp'",
    );
    for (_, version, rubric) in &given {
        assert_eq!(rubric.contains("Stays brief"), *version == 2, "{rubric}");
    }

    // Compare: the version before (crisp@1) against the shown one over the queue.
    tmux.keys(&["c"]);
    let screen = tmux.wait("the comparison", |s| {
        s.contains("2 cases in the set") && s.contains("cases judged with both")
    });
    assert!(
        screen.contains("crisp@1") && screen.contains("crisp@2"),
        "{screen}"
    );
    assert!(screen.contains("verdict changed on"), "{screen}");

    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    let s = tmux.wait("the exit or the question", |s| {
        s.contains("RUBRICATE-EXITED:") || s.contains("Quit anyway?")
    });
    if s.contains("Quit anyway?") {
        tmux.keys(&["y"]);
    }
    tmux.wait("the exit", |s| s.contains("RUBRICATE-EXITED:0"));
}
