//! Schema migrations: a fresh database, an upgrade from version 1, and a database from a
//! newer rubricate.

use rubricate::domain::{Message, NewCase, Verdict};
use rubricate::store::{MIGRATIONS, SCHEMA_VERSION, Store, insert_case, migrate};
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
    for t in ["cases", "judgments", "reviews", "rubrics"] {
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
        let tx = conn.transaction().unwrap();
        insert_case(&tx, &case).unwrap().expect("inserted");
        tx.commit().unwrap();
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

#[test]
fn version_2_judgments_are_kept_and_new_ones_record_their_profile() {
    use rubricate::domain::{JudgeProvenance, JudgmentOrigin, NewJudgment, SamplerSettings};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..2]).unwrap();
        let tx = conn.transaction().unwrap();
        let case = NewCase {
            source: "old".into(),
            source_id: Some("k-2".into()),
            prompt: vec![Message::user("2+2?")],
            answer_a: "4".into(),
            answer_b: "5".into(),
            source_label: None,
            meta: serde_json::json!({}),
        };
        let id = insert_case(&tx, &case).unwrap().expect("inserted");
        // A judgment row as rubricate wrote it before migration 3.
        tx.execute(
            "INSERT INTO judgments (case_id, model_file, model_sha256, template_version, grammar,
                 sampler_json, verdict, parse_ok, raw) VALUES (?1, 'm.gguf', 'x', 'judge-v1+abc', 1, '{}', 'A', 1, 'raw')",
            [id],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let id = store.find_case("k-2").unwrap().unwrap().id;
    let old = store.latest_judgment(id, false).unwrap().unwrap().j;
    assert_eq!(old.verdict, Some(Verdict::A));
    assert_eq!(old.provenance, JudgeProvenance::default());
    assert_eq!(old.verdict_sampled, None);

    let new = NewJudgment {
        case_id: id,
        origin: JudgmentOrigin::Local,
        swapped: false,
        rubric_given: false,
        model_file: "m.gguf".into(),
        model_sha256: "x".into(),
        template_version: "rm-r1+12345678".into(),
        grammar: false,
        sampler: SamplerSettings::default(),
        seed: Some(1),
        rubric: None,
        analysis: Some("thinking".into()),
        verdict: Some(Verdict::B),
        p_a: Some(0.2),
        p_b: Some(0.8),
        p_tie: None,
        parse_ok: true,
        parse_error: None,
        raw: "raw".into(),
        tokens_prompt: None,
        tokens_generated: None,
        ms_prefill: None,
        ms_generate: None,
        provenance: JudgeProvenance {
            profile: Some("rm-r1".into()),
            profile_hash: Some("ab".repeat(32)),
            backend: Some("llama.cpp".into()),
            server_url: None,
            server_model: None,
        },
        judge_type: Some("Reasoning".into()),
        solution: Some("x = 4".into()),
        verdict_sampled: Some(Verdict::A),
    };
    store.insert_judgment(&new).unwrap();
    let back = store.latest_judgment(id, false).unwrap().unwrap().j;
    assert_eq!(back, new);
}
