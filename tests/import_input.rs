//! Import's reading edge: `-` for stdin, CR-only line endings, the `--format` hint only
//! when detection failed, identical answers warned about and left out of preference
//! exports, `--json`, and a progress line on a terminal only.

mod tmux_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl")
}

fn cmd(db: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("RUBRICATE_DB")
        .env_remove("RUBRICATE_REVIEWER")
        .arg("--db")
        .arg(db);
    c
}

fn run(db: &Path, args: &[&str]) -> Output {
    cmd(db).args(args).output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Run `import` with `input` on stdin.
fn import_stdin(db: &Path, input: &[u8], extra: &[&str]) -> Output {
    let mut child = cmd(db)
        .args(["import", "-"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn dash_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stdin.db");
    let o = import_stdin(&db, &std::fs::read(sample()).unwrap(), &[]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("stdin (pairwise): 34 cases added"),
        "{}",
        out(&o)
    );
    let stats = run(&db, &["stats", "--json"]);
    assert!(
        out(&stats).contains("\"stdin\""),
        "source is stdin: {}",
        out(&stats)
    );
    let o = run(&db, &["import", "-", "-"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("only once"), "{}", err(&o));
}

#[test]
fn cr_only_line_endings_are_read_as_lines_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cr.db");
    let file = dir.path().join("mac.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\":\"p1\",\"chosen\":\"a\",\"rejected\":\"b\"}\r{\"prompt\":\"p2\",\"chosen\":\"a\",\"rejected\":\"b\"}\r",
    )
    .unwrap();
    let o = run(&db, &["import", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("CR alone"), "{}", err(&o));
    assert!(out(&o).contains("2 cases added"), "{}", out(&o));
    // A bad record is named by its CR-separated line.
    std::fs::write(
        &file,
        "{\"prompt\":\"p3\",\"chosen\":\"a\",\"rejected\":\"b\"}\r{\"prompt\":\"p4\",\"chosen\":\"a\"\r",
    )
    .unwrap();
    let o = run(&db, &["import", file.to_str().unwrap()]);
    assert!(err(&o).contains("mac.jsonl:2:"), "{}", err(&o));
}

#[test]
fn the_format_hint_only_when_detection_failed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hint.db");
    let detected = dir.path().join("detected.jsonl");
    std::fs::write(
        &detected,
        "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}\n{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\n",
    )
    .unwrap();
    let o = run(&db, &["import", detected.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!err(&o).contains("name it with --format"), "{}", err(&o));
    let unknown = dir.path().join("unknown.jsonl");
    std::fs::write(&unknown, "{\"question\":\"p\",\"good\":\"a\"}\n").unwrap();
    let o = run(&db, &["import", unknown.to_str().unwrap()]);
    assert!(err(&o).contains("name it with --format"), "{}", err(&o));
}

#[test]
fn identical_answers_are_warned_about_and_left_out_of_preference_exports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("same.db");
    let file = dir.path().join("same.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\":\"p\",\"chosen\":\"same text\",\"rejected\":\"same text\"}\n{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\"}\n",
    )
    .unwrap();
    let o = run(&db, &["import", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["files"][0]["identical_answers"], 1);
    let o = run(&db, &["import", file.to_str().unwrap()]);
    assert!(out(&o).contains("1 with identical answers"), "{}", out(&o));
    for format in ["dpo", "dpo-chat", "rm-r1-rl"] {
        let o = run(&db, &["export", "--format", format, "--from", "labels"]);
        assert_eq!(out(&o).lines().count(), 1, "{format}");
        assert!(
            err(&o).contains("identical answers: 1"),
            "{format}: {}",
            err(&o)
        );
    }
}

#[test]
fn import_json_summary_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("json.db");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}\n{\"prompt\": 1\n",
    )
    .unwrap();
    let o = run(
        &db,
        &[
            "import",
            sample().to_str().unwrap(),
            bad.to_str().unwrap(),
            "missing.jsonl",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("stdout is one JSON document");
    assert_eq!(v["ok"], false);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli-json.md"))
            .unwrap();
    for key in files[0].as_object().unwrap().keys() {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/cli-json.md lacks `{key}`"
        );
    }
    assert_eq!(files[0]["added"], 34);
    assert_eq!(files[0]["committed"], true);
    assert_eq!(files[1]["committed"], false);
    assert_eq!(files[1]["bad_lines"], 1);
    assert!(files[2]["error"].is_string());
}

#[test]
fn progress_shows_on_a_terminal_after_a_second_and_never_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample();
    let s = sample.display();
    // Half the sample, a pause, the rest: an import that lasts over a second.
    let slow = format!("(head -n 17 '{s}'; sleep 3; tail -n +18 '{s}')");

    let db = dir.path().join("pipe.db");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!("{slow} | '{BIN}' --db '{}' import -", db.display()))
        .env_remove("RUBRICATE_DB")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        !err(&o).contains("rows/s"),
        "progress in a pipe: {}",
        err(&o)
    );

    let db = dir.path().join("tty.db");
    let log = dir.path().join("none.log");
    let tmux = tmux_support::Tmux::start(
        &format!(
            "{slow} | '{BIN}' --db '{}' import -; echo RUBRICATE-EXITED:$?; sleep 600",
            db.display()
        ),
        log,
    );
    tmux.wait("the progress line", |s| {
        // Rows parsed, not line breaks read ahead: exactly the 17 records before the pause.
        s.contains("rows/s") && s.contains("17 rows ·")
    });
    let done = tmux.wait("the end of the import", |s| {
        s.contains("RUBRICATE-EXITED:0")
    });
    assert!(done.contains("34 cases added"), "{done}");
    assert!(!done.contains("rows/s"), "the bar was not cleared: {done}");
}

#[test]
fn progress_counts_rows_not_line_breaks() {
    use rubricate::formats::import::{ImportOptions, import_reader_with};
    use std::sync::atomic::{AtomicU64, Ordering};
    let options = ImportOptions {
        format: None,
        source: "t".into(),
        seed: 0,
        skip_invalid: true,
    };
    let row = |i: usize| format!(r#"{{"prompt": "q{i}", "chosen": "a{i}", "rejected": "b{i}"}}"#);
    // A JSON array on one line: three rows, no line break at all.
    let array = format!("[{}, {}, {}]", row(1), row(2), row(3));
    // JSON Lines with blank lines and one bad row: 5 rows (the bad one was read too), 7 line
    // breaks.
    let lines = format!(
        "{}\n\n{}\nnot json\n\n{}\n{}\n",
        row(4),
        row(5),
        row(6),
        row(7)
    );
    for (input, rows_expected, added) in [(array.as_bytes(), 3, 3), (lines.as_bytes(), 5, 4)] {
        let mut store = rubricate::store::Store::open_in_memory().unwrap();
        let rows = AtomicU64::new(0);
        let report = import_reader_with(&mut store, input, "t", &options, &rows, |_| {}).unwrap();
        assert_eq!(report.added, added);
        assert_eq!(rows.load(Ordering::Relaxed), rows_expected);
    }
}

#[test]
fn zstd_input_is_named_with_what_to_do_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("z.db");
    let file = dir.path().join("train.jsonl.zst");
    // A zstd frame's magic number, then bytes that are not JSON.
    std::fs::write(&file, [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x11, 0x00]).unwrap();
    let o = run(&db, &["import", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = err(&o);
    assert!(e.contains("zstd") && e.contains("zstd -d"), "{e}");
    assert!(
        !e.contains("--format"),
        "the hint is for undetected formats: {e}"
    );
    let store = rubricate::store::Store::open(&db).unwrap();
    assert_eq!(store.case_count().unwrap(), 0);
}
