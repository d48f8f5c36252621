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
    for t in [
        "cases",
        "judgments",
        "reviews",
        "rubrics",
        "answer_revisions",
        "case_links",
        "collections",
        "collection_items",
        "eval_runs",
    ] {
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
            category: None,
            difficulty: None,
        };
        insert_v1_case(&tx, &case);
        let id = tx.last_insert_rowid();
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

#[test]
fn old_overrides_without_a_model_verdict_become_decide_and_reviews_stay_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    // Every migration before this one (the list order is what counts).
    let v2 = MIGRATIONS
        .iter()
        .position(|(name, _)| *name == "0006_review_actions_blind")
        .unwrap();
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        migrate(&mut conn, &MIGRATIONS[..v2]).unwrap();
        let case = NewCase {
            source: "old".into(),
            source_id: Some("k-1".into()),
            prompt: vec![Message::user("2+2?")],
            answer_a: "4".into(),
            answer_b: "5".into(),
            source_label: Some(Verdict::A),
            meta: serde_json::json!({}),
            category: None,
            difficulty: None,
        };
        insert_v1_case(&conn, &case);
        let id = conn.last_insert_rowid();
        let judgment = "INSERT INTO judgments (id, case_id, model_file, model_sha256, template_version, grammar,
             sampler_json, verdict, parse_ok, raw) VALUES (?1, ?2, 'm.gguf', 'x', 'v1', 1, '{}', ?3, ?4, '')";
        conn.execute(judgment, rusqlite::params![10, id, "A", 1])
            .unwrap();
        conn.execute(judgment, rusqlite::params![11, id, None::<String>, 0])
            .unwrap();
        let review = "INSERT INTO reviews (id, case_id, reviewer, action, verdict, judgment_id, reverts_review_id)
             VALUES (?1, ?2, 'ann', ?3, ?4, ?5, ?6)";
        type Row<'a> = (i64, &'a str, Option<&'a str>, Option<i64>, Option<i64>);
        let rows: [Row; 5] = [
            (1, "override", Some("B"), None, None), // no judgment on screen
            (2, "override", Some("B"), Some(10), None), // the model said A
            (3, "override", Some("A"), Some(11), None), // the output did not parse
            (4, "accept", Some("A"), Some(10), None),
            (5, "revert", None, None, Some(4)),
        ];
        for (rid, action, verdict, j, reverts) in rows {
            conn.execute(
                review,
                rusqlite::params![rid, id, action, verdict, j, reverts],
            )
            .unwrap();
        }
        // Columns from earlier migrations survive the rebuild.
        conn.execute(
            "INSERT INTO reviews (id, case_id, reviewer, action, flagged, flag_reason)
             VALUES (6, ?1, 'ann', 'flag', 1, 'typo in A')",
            [id],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut stmt = store
        .conn()
        .prepare("SELECT id, action, reverts_review_id, blind FROM reviews ORDER BY id")
        .unwrap();
    let got: Vec<(i64, String, Option<i64>, Option<bool>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "decide".into(), None, None),
            (2, "override".into(), None, None),
            (3, "decide".into(), None, None),
            (4, "accept".into(), None, None),
            (5, "revert".into(), Some(4), None),
            (6, "flag".into(), None, None),
        ]
    );
    let reason: Option<String> = store
        .conn()
        .query_row("SELECT flag_reason FROM reviews WHERE id = 6", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(reason.as_deref(), Some("typo in A"));
    // The log is still append-only on the rebuilt table.
    for sql in [
        "UPDATE reviews SET verdict = 'A' WHERE id = 1",
        "DELETE FROM reviews WHERE id = 1",
    ] {
        let err = store.conn().execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    // The foreign keys still hold: a revert of a row that does not exist is refused.
    assert!(
        store
            .conn()
            .execute(
                "INSERT INTO reviews (case_id, reviewer, action, reverts_review_id) VALUES (1, 'ann', 'revert', 999)",
                [],
            )
            .is_err()
    );
    let fk: Vec<String> = store
        .conn()
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(fk.is_empty(), "{fk:?}");
}

#[test]
fn curation_upgrade_keeps_old_decisions_unapproved() {
    // A database at the schema just before curation with an `accept` row: after
    // the upgrade the row is kept as it was, its reasoning approval unknown (NULL), and
    // the new append-only tables refuse rewrites.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let before = MIGRATIONS
        .iter()
        .position(|(name, _)| *name == "0005_curation")
        .unwrap();
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..before]).unwrap();
        conn.execute_batch(
            "INSERT INTO cases (source, prompt_json, answer_a, answer_b, content_hash)
                 VALUES ('s', '[]', 'a', 'b', '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
             INSERT INTO reviews (case_id, reviewer, action, verdict) VALUES (1, 'ann', 'accept', 'A');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let state = store.review_state(1, "ann").unwrap();
    let d = state.decision.unwrap();
    assert_eq!(d.verdict, Some(Verdict::A));
    assert_eq!(d.reasoning, None);
    assert!(!d.reasoning_is_human());
    store
        .conn()
        .execute(
            "INSERT INTO answer_revisions (case_id, side, body, author) VALUES (1, 'A', 'x', 'ann')",
            [],
        )
        .unwrap();
    let err = store
        .conn()
        .execute("UPDATE answer_revisions SET body = 'y'", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn hex_content_hashes_become_32_byte_blobs_and_dedupe_still_works() {
    // A database as rubricate wrote it before 0009: the hash as 64 hex characters, a
    // judgment and a review pointing at the case.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    let before = MIGRATIONS
        .iter()
        .position(|(name, _)| *name == "0009_content_hash_blob")
        .unwrap();
    let case = NewCase {
        source: "old".into(),
        source_id: Some("k-9".into()),
        prompt: vec![Message::user("Capital of Peru?")],
        answer_a: "Lima.".into(),
        answer_b: "Cusco.".into(),
        source_label: Some(Verdict::A),
        meta: serde_json::json!({"format": "pairwise"}),
        category: Some("geo".into()),
        difficulty: None,
    };
    let hex_hash = case.content_hash();
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        migrate(&mut conn, &MIGRATIONS[..before]).unwrap();
        insert_v1_case(&conn, &case);
        conn.execute("UPDATE cases SET category = 'geo'", [])
            .unwrap();
        let id = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO judgments (case_id, model_file, model_sha256, template_version, grammar,
                 sampler_json, verdict, parse_ok, raw) VALUES (?1, 'm.gguf', 'x', 'v', 1, '{}', 'A', 1, 'raw')",
            [id],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO reviews (case_id, reviewer, action, verdict) VALUES (?1, 'ann', 'decide', 'A')",
            [id],
        )
        .unwrap();
        let kind: String = conn
            .query_row("SELECT typeof(content_hash) FROM cases", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kind, "text");
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let (kind, len): (String, i64) = store
        .conn()
        .query_row(
            "SELECT typeof(content_hash), length(content_hash) FROM cases",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), len), ("blob", 32));
    // Shown and looked up in hex as before; the rest of the row and its judgment and review kept.
    let stored = store
        .find_case(&hex_hash)
        .unwrap()
        .expect("found by its hex hash");
    assert_eq!(stored.content_hash, hex_hash);
    assert_eq!(stored.source_id.as_deref(), Some("k-9"));
    assert_eq!(stored.category.as_deref(), Some("geo"));
    assert_eq!(store.judgments_for_case(stored.id).unwrap().len(), 1);
    assert_eq!(
        store.review_state(stored.id, "ann").unwrap().verdict(),
        Some(Verdict::A)
    );
    // Dedupe: the same content again (answers swapped) is recognised; new content is not.
    let mut swapped = case.clone();
    std::mem::swap(&mut swapped.answer_a, &mut swapped.answer_b);
    assert_eq!(store.insert_case(&swapped).unwrap(), None);
    let mut other = case.clone();
    other.answer_b = "Arequipa.".into();
    assert!(store.insert_case(&other).unwrap().is_some());
    // Foreign keys are on again and hold: nothing refers to a missing case.
    let fk: i64 = store
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let dangling: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    let err = store
        .conn()
        .execute(
            "INSERT INTO judgments (case_id, model_file, model_sha256, template_version, grammar,
                 sampler_json, parse_ok, raw) VALUES (999, 'm', 'x', 'v', 1, '{}', 1, '')",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
}

#[test]
fn category_index_becomes_partial_and_the_category_list_still_uses_it() {
    // A database at schema 0009 (hash as a BLOB) with cases with and without a category.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v9.db");
    let before = MIGRATIONS
        .iter()
        .position(|(name, _)| *name == "0010_case_indexes")
        .unwrap();
    let index_sql = |conn: &Connection, name: &str| -> Option<String> {
        conn.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .ok()
    };
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..before]).unwrap();
        assert!(
            !index_sql(&conn, "cases_by_category")
                .unwrap()
                .contains("WHERE")
        );
        for (i, category) in [Some("Chat"), None, Some("Safety"), Some("Chat")]
            .into_iter()
            .enumerate()
        {
            conn.execute(
                "INSERT INTO cases (source, prompt_json, answer_a, answer_b, content_hash, category)
                 VALUES ('old', '[]', 'a', 'b', randomblob(32), ?1)",
                [category],
            )
            .unwrap();
            assert_eq!(conn.last_insert_rowid(), i as i64 + 1);
        }
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let conn = store.conn();
    assert!(index_sql(conn, "cases_by_source").is_some());
    let category = index_sql(conn, "cases_by_category").expect("category index kept");
    assert!(
        category.contains("WHERE category IS NOT NULL"),
        "{category}"
    );
    // The rows are untouched, and the category list is the same, through the index.
    assert_eq!(store.case_count().unwrap(), 4);
    assert_eq!(
        store.categories(None).unwrap(),
        vec![("Chat".to_string(), 2), ("Safety".to_string(), 1)]
    );
    assert_eq!(
        store.categories(Some("old")).unwrap(),
        vec![("Chat".to_string(), 2), ("Safety".to_string(), 1)]
    );
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT category, COUNT(*) FROM cases
             WHERE category IS NOT NULL AND (?1 IS NULL OR source = ?1)
             GROUP BY category ORDER BY category",
        )
        .unwrap()
        .query_map([None::<String>], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter().any(|p| p.contains("cases_by_category")),
        "{plan:?}"
    );
    // Dedupe by content hash is unchanged: the UNIQUE index still refuses a repeat.
    let hash: Vec<u8> = conn
        .query_row("SELECT content_hash FROM cases WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let err = conn
        .execute(
            "INSERT INTO cases (source, prompt_json, answer_a, answer_b, content_hash)
             VALUES ('new', '[]', 'x', 'y', ?1)",
            [hash],
        )
        .unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
}

#[test]
fn label_check_is_rewritten_without_an_in_list_and_keeps_its_rule() {
    // A database at schema 0010 with every kind of label, and a judgment pointing at a case.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v10.db");
    let before = MIGRATIONS
        .iter()
        .position(|(name, _)| *name == "0011_case_label_check")
        .unwrap();
    let labels = [Some("A"), Some("B"), Some("tie"), Some("both_bad"), None];
    {
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..before]).unwrap();
        for label in labels {
            conn.execute(
                "INSERT INTO cases (source, prompt_json, answer_a, answer_b, source_label, content_hash)
                 VALUES ('old', '[]', 'a', 'b', ?1, randomblob(32))",
                [label],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO judgments (case_id, model_file, model_sha256, template_version, grammar,
                 sampler_json, parse_ok, raw) VALUES (3, 'm', 'x', 'v', 1, '{}', 1, '')",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let conn = store.conn();
    // Rows, ids and the judgment's reference survive the rebuild.
    let stored: Vec<(i64, Option<String>)> = conn
        .prepare("SELECT id, source_label FROM cases ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<(i64, Option<String>)> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i as i64 + 1, l.map(String::from)))
        .collect();
    assert_eq!(stored, expected);
    let judged: i64 = conn
        .query_row("SELECT case_id FROM judgments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(judged, 3);
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    // The table's definition no longer has the IN list (the slow form) ...
    let table_sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'cases'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!table_sql.contains(" IN ("), "{table_sql}");
    // ... but the same rule: the four labels and NULL pass, anything else is refused.
    let insert = |label: Option<&str>| {
        conn.execute(
            "INSERT INTO cases (source, prompt_json, answer_a, answer_b, source_label, content_hash)
             VALUES ('new', '[]', 'x', 'y', ?1, randomblob(32))",
            [label],
        )
    };
    for label in labels {
        insert(label).unwrap();
    }
    for bad in ["a", "Tie", "", "both bad", "C"] {
        let err = insert(Some(bad)).unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{bad}: {err}");
    }
    // The content hash is still unique and 32 bytes, and the indexes are back.
    let err = conn
        .execute(
            "INSERT INTO cases (source, prompt_json, answer_a, answer_b, content_hash)
             SELECT 'new', '[]', 'p', 'q', content_hash FROM cases WHERE id = 1",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    let err = conn
        .execute(
            "INSERT INTO cases (source, prompt_json, answer_a, answer_b, content_hash)
             VALUES ('new', '[]', 'p', 'q', randomblob(31))",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
    let indexes: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases' AND sql IS NOT NULL ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(indexes.len(), 2, "{indexes:?}");
    assert!(
        indexes[0].contains("cases_by_category")
            && indexes[0].contains("WHERE category IS NOT NULL")
    );
    assert!(indexes[1].contains("cases_by_source"));
}
