//! End to end, in a real terminal: the release binary runs in tmux with the real
//! default model. Import the sample from the empty-database screen, wait for a streamed
//! verdict, accept it, override the next case with 2, edit a rubric and re-judge with
//! R, decide, go back and undo, quit; then check the rows in the database and the
//! `export --format dpo` output.
//!
//! Needs tmux and the model file (`scripts/fetch-model.sh`, or RUBRICATE_MODEL).

use rusqlite::Connection;
mod tmux_support;

use std::path::Path;
use std::process::Command;
use tmux_support::{Tmux, model_path};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

/// The final (not streaming) model verdict on screen, if any.
fn verdict_on_screen(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains("model verdict: "))?;
    if line.contains("(streaming)") {
        return None;
    }
    let rest = line.split("model verdict: ").nth(1)?;
    let v = rest.split_whitespace().next()?;
    ["A", "B", "tie"].contains(&v).then(|| v.to_string())
}

fn position(screen: &str) -> Option<String> {
    let status = screen.lines().next()?;
    status
        .split_whitespace()
        .find(|w| w.contains('/') && w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
}

#[derive(Debug)]
struct Row {
    id: i64,
    case_id: i64,
    action: String,
    verdict: Option<String>,
    rubric: Option<String>,
    seconds: Option<f64>,
    judgment_id: Option<i64>,
    reverts: Option<i64>,
    reviewer: String,
}

fn reviews(db: &Path) -> Vec<Row> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, case_id, action, verdict, rubric, seconds_spent, judgment_id, reverts_review_id, reviewer
             FROM reviews ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            id: r.get(0)?,
            case_id: r.get(1)?,
            action: r.get(2)?,
            verdict: r.get(3)?,
            rubric: r.get(4)?,
            seconds: r.get(5)?,
            judgment_id: r.get(6)?,
            reverts: r.get(7)?,
            reviewer: r.get(8)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn review_session_in_tmux_with_the_real_model() {
    let model = model_path();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let state = dir.path().join("state");
    let log = state.join("rubricate/logs/rubricate.log");
    let cmd = format!(
        "env XDG_STATE_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer e2e review --model '{}'; \
         echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        db.display(),
        model.display()
    );
    let tmux = Tmux::start(&cmd, log);

    // Empty database: the workbench offers the sample.
    tmux.wait("the empty-database screen", |s| {
        s.contains("This database has no cases yet")
    });
    tmux.keys(&["i"]);
    tmux.wait("the imported queue", |s| {
        position(s).as_deref() == Some("1/34")
    });

    // Case 1: the judgment streams in; accept it.
    let s = tmux.wait("a streamed verdict on case 1", |s| {
        verdict_on_screen(s).is_some()
    });
    let first_verdict = verdict_on_screen(&s).unwrap();
    tmux.keys(&["a"]);
    tmux.wait("case 2 after accepting", |s| {
        position(s).as_deref() == Some("2/34")
    });

    // Case 2: override with B (whatever the model says or is still saying).
    tmux.keys(&["2"]);
    tmux.wait("case 3 after deciding", |s| {
        position(s).as_deref() == Some("3/34")
    });

    // Case 3: edit the rubric, keep it, re-judge with it fixed, accept that judgment.
    tmux.keys(&["e"]);
    tmux.wait("the rubric editor", |s| s.contains("Edit the rubric"));
    tmux.keys(&["Enter"]);
    tmux.text("9. Must cite its source.");
    tmux.keys(&["C-s"]);
    tmux.wait("the kept rubric", |s| s.contains("rubric kept as case-"));
    tmux.keys(&["R"]);
    tmux.wait("a verdict judged with the given rubric", |s| {
        s.contains("rubric given") && verdict_on_screen(s).is_some()
    });
    tmux.keys(&["a"]);
    tmux.wait("case 4 after the edit", |s| {
        position(s).as_deref() == Some("4/34")
    });

    // Back to case 3 and undo the edit decision; then quit (nothing unsaved: no question).
    tmux.keys(&["k"]);
    tmux.wait("case 3 again", |s| position(s).as_deref() == Some("3/34"));
    tmux.keys(&["u"]);
    tmux.wait("the undo message", |s| {
        s.contains("undone on case") && s.contains(": edit")
    });
    tmux.keys(&["q"]);
    let end = tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:"));
    assert!(end.contains("RUBRICATE-EXITED:0"), "exit status:\n{end}");
    // The terminal was given back: the shell's line is on the normal screen.
    assert!(
        !end.contains("rubricate │"),
        "the workbench is still on screen:\n{end}"
    );

    // The rows.
    let rows = reviews(&db);
    assert!(rows.iter().all(|r| r.reviewer == "e2e"));
    let decisions: Vec<&Row> = rows.iter().filter(|r| r.action != "revert").collect();
    assert_eq!(decisions.len(), 3, "{rows:#?}");
    let (r1, r2, r3) = (decisions[0], decisions[1], decisions[2]);
    assert_eq!(r1.action, "accept");
    assert_eq!(r1.verdict.as_deref(), Some(first_verdict.as_str()));
    assert!(r1.judgment_id.is_some() && r1.rubric.is_some());
    assert!(r1.seconds.is_some_and(|s| s > 0.0));
    assert_eq!(r2.verdict.as_deref(), Some("B"));
    let conn = Connection::open(&db).unwrap();
    let model_verdict_2: Option<String> = r2.judgment_id.and_then(|j| {
        conn.query_row("SELECT verdict FROM judgments WHERE id = ?1", [j], |r| {
            r.get(0)
        })
        .unwrap()
    });
    // Decided while the verdict was still streaming (or unparsed): nothing to override.
    let expected_2 = match model_verdict_2.as_deref() {
        None => "decide",
        Some("B") => "accept",
        Some(_) => "override",
    };
    assert_eq!(
        r2.action, expected_2,
        "{r2:?}, model said {model_verdict_2:?}"
    );
    assert_eq!(r3.action, "edit");
    assert!(
        r3.rubric
            .as_deref()
            .unwrap()
            .contains("Must cite its source.")
    );
    let (given, judged_rubric): (bool, String) = conn
        .query_row(
            "SELECT rubric_given, rubric FROM judgments WHERE id = ?1",
            [r3.judgment_id.expect("edit refers to the re-judgment")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(given, "the re-judgment ran in rubric-given mode");
    assert!(judged_rubric.contains("Must cite its source."));
    let reverts: Vec<&Row> = rows.iter().filter(|r| r.action == "revert").collect();
    assert_eq!(reverts.len(), 1, "{rows:#?}");
    assert_eq!(reverts[0].reverts, Some(r3.id));
    assert_eq!(reverts[0].case_id, r3.case_id);
    let saved_rubrics: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM rubrics WHERE case_id = ?1 AND body LIKE '%Must cite its source.%'",
            [r3.case_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(saved_rubrics, 1);

    // The DPO export: case 2 (B better), case 1 if its verdict named a winner, never case 3.
    let out = Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "--reviewer",
            "e2e",
            "export",
            "--format",
            "dpo",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected = 1 + usize::from(first_verdict != "tie");
    assert_eq!(lines.len(), expected, "{lines:#?}");
    let (a2, b2): (String, String) = conn
        .query_row(
            "SELECT answer_a, answer_b FROM cases WHERE id = ?1",
            [r2.case_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["chosen"] == b2.as_str() && l["rejected"] == a2.as_str()),
        "case 2 is not exported with B chosen: {lines:#?}"
    );
    for l in &lines {
        assert!(l["prompt"].is_string() && l["chosen"].is_string() && l["rejected"].is_string());
    }
}
