//! Database faults get their own message with the file and a next step: a named database
//! that does not exist, someone else's SQLite file, a failed migration, a lock held by
//! another process, a read-only file, a full disk; and the append-only rule holds against
//! REPLACE from any SQLite client.

use rubricate::formats::SourceFormat;
use rubricate::formats::import::{ImportOptions, import_reader};
use rubricate::store::{MIGRATIONS, Store, errors, migrate};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl")
}

/// The binary with its data and log folders inside `home`, so nothing touches the real ones.
fn rubricate(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("RUBRICATE_DB")
        .env_remove("RUBRICATE_REVIEWER")
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("HOME", home);
    cmd
}

fn run(home: &Path, args: &[&str]) -> Output {
    rubricate(home).args(args).output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn imported_db(dir: &Path) -> PathBuf {
    let db = dir.join("cases.db");
    let o = run(
        dir,
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            sample().to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    db
}

#[test]
fn a_named_database_that_does_not_exist_is_refused_by_reading_commands() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo/rubricat.db");
    let m = missing.to_str().unwrap();
    let judgments = dir.path().join("judgments.jsonl");
    std::fs::write(
        &judgments,
        "{\"source_id\": \"x\", \"raw\": \"<answer>[[A]]</answer>\"}\n",
    )
    .unwrap();
    let j = judgments.to_str().unwrap();
    for args in [
        vec!["--db", m, "stats"],
        vec!["--db", m, "stats", "--json"],
        vec!["--db", m, "export", "--format", "dpo"],
        vec!["--db", m, "judge"],
        vec!["--db", m, "judge", "--import", j],
    ] {
        let o = run(dir.path(), &args);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(
            e.contains(m) && e.contains("(named by --db)"),
            "{args:?}: {e}"
        );
        assert!(e.contains("import"), "says how to create one: {e}");
        assert!(
            !missing.parent().unwrap().exists(),
            "{args:?} created the folder"
        );
    }
    // The environment variable names it the same way.
    let o = rubricate(dir.path())
        .env("RUBRICATE_DB", &missing)
        .arg("stats")
        .output()
        .unwrap();
    assert!(err(&o).contains("(named by RUBRICATE_DB)"), "{}", err(&o));
    assert!(!missing.parent().unwrap().exists());
    // `import` creates it, and says so.
    let o = run(
        dir.path(),
        &["--db", m, "import", sample().to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("created a new database at"), "{}", err(&o));
    let o = run(dir.path(), &["--db", m, "stats", "--json"]);
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn the_default_database_is_still_created_on_a_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["stats", "--json"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(dir.path().join("data/rubricate/rubricate.db").exists());
}

#[test]
fn a_foreign_sqlite_file_is_refused_unless_init() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("other.db");
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let d = db.to_str().unwrap();
    for args in [
        vec!["--db", d, "stats"],
        vec!["--db", d, "import", sample().to_str().unwrap()],
    ] {
        let o = run(dir.path(), &args);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(
            e.contains("without rubricate's tables") && e.contains("--init"),
            "{e}"
        );
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the refused file was changed"
    );
    assert!(!dir.path().join("other.db-wal").exists(), "switched to WAL");
    let o = run(
        dir.path(),
        &["--db", d, "--init", "import", sample().to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", err(&o));
    let conn = Connection::open(&db).unwrap();
    let notes: String = conn
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(notes, "mine");
    let cases: i64 = conn
        .query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cases, 34);

    // Another program's own schema counter: refused even with --init.
    let counted = dir.path().join("counted.db");
    Connection::open(&counted)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 3;")
        .unwrap();
    let o = run(
        dir.path(),
        &["--db", counted.to_str().unwrap(), "--init", "stats"],
    );
    assert!(err(&o).contains("another program"), "{}", err(&o));

    // Not SQLite at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just text\n".repeat(100)).unwrap();
    let o = run(dir.path(), &["--db", text.to_str().unwrap(), "stats"]);
    assert!(err(&o).contains("is not a SQLite database"), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "just text\n".repeat(100)
    );
}

#[test]
fn a_failed_migration_names_itself_and_keeps_the_sql_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let index = MIGRATIONS
        .iter()
        .position(|(n, _)| n.starts_with("0007_"))
        .unwrap();
    {
        let mut conn = Connection::open(&db).unwrap();
        migrate(&mut conn, &MIGRATIONS[..index]).unwrap();
        // Someone added a table of that name by hand: migration 0007 cannot create it.
        conn.execute_batch("CREATE TABLE exports (x)").unwrap();
    }
    let o = run(dir.path(), &["--db", db.to_str().unwrap(), "stats"]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("migration 0007_append_only_replace_exports"),
        "{e}"
    );
    assert!(
        e.contains("already exists") && e.contains("Back the database up"),
        "{e}"
    );
    assert!(!e.contains("CREATE TRIGGER"), "SQL on the terminal: {e}");
    assert!(e.lines().count() <= 3, "{e}");
    let log =
        std::fs::read_to_string(dir.path().join("state/rubricate/logs/rubricate.log")).unwrap();
    assert!(
        log.contains("CREATE TRIGGER reviews_append_only_replace"),
        "{log}"
    );
    let version: i64 = Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version, index as i64,
        "the failed migration was half applied"
    );
}

#[test]
fn a_locked_database_waits_then_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported_db(dir.path());
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO rubrics (name, version, body) VALUES ('x', 1, 'y');",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let extra = dir.path().join("more.jsonl");
    std::fs::write(
        &extra,
        "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
    )
    .unwrap();
    let o = run(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            extra.to_str().unwrap(),
        ],
    );
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        started.elapsed().as_secs() >= errors::LOCK_WAIT_SECS,
        "did not wait"
    );
    assert!(
        e.contains("is locked by pid") && e.contains(&std::process::id().to_string()),
        "{e}"
    );
    assert!(e.contains("run this command again"), "{e}");
    conn.execute_batch("ROLLBACK").unwrap();
    let o = run(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            extra.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "after the lock: {}", err(&o));
}

#[test]
fn a_read_only_database_is_explained_not_blamed_on_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported_db(dir.path());
    // A real SQLite read-only failure (works as root too, unlike file permissions).
    let conn =
        Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let e = conn
        .execute(
            "INSERT INTO rubrics (name, version, body) VALUES ('x', 1, 'y')",
            [],
        )
        .unwrap_err();
    let msg = errors::explain(&anyhow::Error::new(e), &db).expect("explained");
    assert!(
        msg.contains("cannot be written") && msg.contains("chmod u+w"),
        "{msg}"
    );
    // Through the CLI where permissions bind (not as root).
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        let copy = ro.join("ro.db");
        std::fs::copy(&db, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o444)).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let o = run(
            dir.path(),
            &[
                "--db",
                copy.to_str().unwrap(),
                "import",
                sample().to_str().unwrap(),
            ],
        );
        assert!(err(&o).contains("cannot be written"), "{}", err(&o));
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_full_disk_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("full.db");
    let mut store = Store::open(&db).unwrap();
    // SQLite's own page limit gives the same SQLITE_FULL a full disk does. No page to
    // spare: the sample needs several (with 32-byte hashes it fits in two extra pages).
    let pages: i64 = store
        .conn()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    store
        .conn()
        .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
        .unwrap();
    let options = ImportOptions {
        format: Some(SourceFormat::Pairwise),
        source: "s".into(),
        seed: 0,
        skip_invalid: false,
    };
    let text = std::fs::read_to_string(sample()).unwrap();
    let e = import_reader(&mut store, text.as_bytes(), "sample", &options).unwrap_err();
    let msg = errors::explain(&e, &db).expect("explained");
    assert!(
        msg.contains("is full") && msg.contains("Free some space"),
        "{msg}"
    );
    assert_eq!(store.case_count().unwrap(), 0, "a partial import was kept");
}

fn review_rows(db: &Path) -> Vec<(i64, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, verdict FROM reviews ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn replace_cannot_rewrite_a_review_from_any_client() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported_db(dir.path());
    let plain = Connection::open(&db).unwrap();
    plain
        .execute(
            "INSERT INTO reviews (case_id, reviewer, action, verdict) VALUES (1, 'me', 'accept', 'A')",
            [],
        )
        .unwrap();
    let before = review_rows(&db);
    assert_eq!(before, vec![(1, "A".to_string())]);
    // A plain connection, as any SQLite client opens it (recursive_triggers off).
    for sql in [
        "REPLACE INTO reviews (id, case_id, reviewer, action, verdict) VALUES (1, 1, 'me', 'accept', 'B')",
        "INSERT OR REPLACE INTO reviews (id, case_id, reviewer, action, verdict) VALUES (1, 1, 'me', 'accept', 'B')",
        "INSERT INTO reviews (id, case_id, reviewer, action, verdict) VALUES (1, 1, 'me', 'accept', 'B') \
         ON CONFLICT (id) DO UPDATE SET verdict = 'B'",
        "UPDATE OR REPLACE reviews SET verdict = 'B' WHERE id = 1",
    ] {
        let e = plain.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    // The sqlite3 command-line shell, where installed.
    if let Ok(o) = Command::new("sqlite3")
        .arg(&db)
        .arg("REPLACE INTO reviews (id, case_id, reviewer, action, verdict) VALUES (1, 1, 'me', 'accept', 'B');")
        .output()
    {
        assert!(String::from_utf8_lossy(&o.stderr).contains("append-only"));
    }
    assert_eq!(review_rows(&db), before);
    // New rows still go in.
    plain
        .execute(
            "INSERT INTO reviews (case_id, reviewer, action, verdict) VALUES (1, 'me', 'override', 'B')",
            [],
        )
        .unwrap();
    assert_eq!(review_rows(&db).len(), 2);

    // The other append-only logs too.
    plain
        .execute_batch(
            "INSERT INTO collections (id, name, created_by) VALUES (7, 'keep', 'me');
             INSERT INTO collection_items (id, collection_id, case_id, added, author) VALUES (9, 7, 1, 1, 'me');
             INSERT INTO answer_revisions (id, case_id, side, body, author) VALUES (5, 1, 'A', 'text', 'me');",
        )
        .unwrap();
    for sql in [
        "REPLACE INTO collections (id, name, created_by) VALUES (7, 'renamed', 'me')",
        "REPLACE INTO collection_items (id, collection_id, case_id, added, author) VALUES (9, 7, 1, 0, 'me')",
        "REPLACE INTO answer_revisions (id, case_id, side, body, author) VALUES (5, 1, 'A', 'other', 'me')",
    ] {
        let e = plain.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    // Creating a collection that exists is still a quiet no-op for rubricate's own insert.
    plain
        .execute(
            "INSERT INTO collections (name, created_by) VALUES ('keep', 'me') ON CONFLICT (name) DO NOTHING",
            [],
        )
        .unwrap();
}
