//! Schema migrations: a fresh database, an upgrade from version 1, and a database from a
//! newer rubricate.

use rubricate::domain::{Message, NewCase, Verdict};
use rubricate::store::{MIGRATIONS, SCHEMA_VERSION, Store, migrate};
use rusqlite::Connection;

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn empty_database_gets_every_migration() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("new.db")).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, MIGRATIONS.len() as i64);
    let names = tables(store.conn());
    for t in ["cases", "judgments", "reviews", "rubrics", "eval_runs"] {
        assert!(names.iter().any(|n| n == t), "table {t} missing: {names:?}");
    }
    let mode: String = store
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let fk: i64 = store
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
}

#[test]
fn version_1_database_is_upgraded_and_keeps_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let case = NewCase {
        source: "old".into(),
        source_id: Some("k-1".into()),
        prompt: vec![Message::user("Is the Earth round?")],
        answer_a: "Roughly: an oblate spheroid.".into(),
        answer_b: "No, it is flat.".into(),
        source_label: Some(Verdict::A),
        meta: serde_json::json!({"format": "pairwise"}),
        category: None,
        difficulty: None,
    };
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..1]).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
        assert!(
            !tables(&conn).iter().any(|t| t == "reviews"),
            "reviews come with migration 2"
        );
        // Version 1's own columns: today's insert_case writes columns added later.
        insert_v1_case(&conn, &case);
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.case_count().unwrap(), 1);
    let stored = store
        .find_case("k-1")
        .unwrap()
        .expect("the case survived the upgrade");
    assert_eq!(stored.prompt, case.prompt);
    assert_eq!(stored.answer_a, case.answer_a);
    assert_eq!(stored.source_label, Some(Verdict::A));
    assert_eq!(stored.content_hash, case.content_hash());
    assert!(tables(store.conn()).iter().any(|t| t == "reviews"));
    // Opening again changes nothing.
    drop(store);
    assert_eq!(Store::open(&path).unwrap().case_count().unwrap(), 1);
}

/// Insert a case with only the columns schema version 1 has.
fn insert_v1_case(conn: &Connection, case: &NewCase) {
    conn.execute(
        "INSERT INTO cases (source, source_id, prompt_json, answer_a, answer_b, source_label, content_hash, meta_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            case.source,
            case.source_id,
            serde_json::to_string(&case.prompt).unwrap(),
            case.answer_a,
            case.answer_b,
            case.source_label.map(Verdict::as_str),
            case.content_hash(),
            serde_json::to_string(&case.meta).unwrap(),
        ],
    )
    .unwrap();
}

#[test]
fn categories_are_filled_for_cases_imported_before_they_existed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let case = |id: &str, meta: serde_json::Value| NewCase {
        source: "old".into(),
        source_id: Some(id.into()),
        prompt: vec![Message::user(format!("question {id}"))],
        answer_a: "yes".into(),
        answer_b: "no".into(),
        source_label: Some(Verdict::A),
        meta,
        category: None,
        difficulty: None,
    };
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..2]).unwrap();
        for c in [
            case(
                "rb-known",
                serde_json::json!({"format": "rewardbench", "extra": {"subset": "llmbar-natural"}}),
            ),
            case(
                "rb-unknown",
                serde_json::json!({"format": "rewardbench", "extra": {"subset": "custom-set"}}),
            ),
            case(
                "trl-cat",
                serde_json::json!({"format": "trl", "extra": {"category": "coding"}}),
            ),
            // A subset outside RewardBench is not a category.
            case(
                "trl-subset",
                serde_json::json!({"format": "trl", "extra": {"subset": "x"}}),
            ),
            case("plain", serde_json::json!({"format": "pairwise"})),
        ] {
            insert_v1_case(&conn, &c);
        }
    }
    let store = Store::open(&path).unwrap();
    let category = |id: &str| store.find_case(id).unwrap().unwrap().category;
    assert_eq!(category("rb-known").as_deref(), Some("Chat Hard"));
    assert_eq!(category("rb-unknown").as_deref(), Some("custom-set"));
    assert_eq!(category("trl-cat").as_deref(), Some("coding"));
    assert_eq!(category("trl-subset"), None);
    assert_eq!(category("plain"), None);
    assert!(
        store
            .find_case("plain")
            .unwrap()
            .unwrap()
            .difficulty
            .is_none()
    );
}

#[test]
fn newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&path)
        .err()
        .expect("a newer schema must be refused");
    let msg = format!("{err:#}");
    assert!(msg.contains("99"), "{msg}");
    assert!(msg.contains("newer rubricate"), "{msg}");
    // Nothing was changed.
    let conn = Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);

    // The command line says the same and fails.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .env_remove("RUBRICATE_DB")
        .args(["--db", path.to_str().unwrap(), "stats"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("newer rubricate"));
}
