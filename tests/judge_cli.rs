//! `rubricate judge` end to end: headless judging with the real model, and importing
//! judgments made elsewhere (RM-R1's shape).

use rubricate::domain::{JudgmentOrigin, Message, NewCase, Verdict};
use rubricate::store::Store;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn case(source_id: &str, question: &str, a: &str, b: &str) -> NewCase {
    NewCase {
        source: "test".into(),
        source_id: Some(source_id.into()),
        prompt: vec![Message::user(question)],
        answer_a: a.into(),
        answer_b: b.into(),
        source_label: None,
        meta: serde_json::json!({}),
        category: None,
        difficulty: None,
    }
}

fn db_with_cases(dir: &Path, cases: &[NewCase]) -> PathBuf {
    let path = dir.join("test.db");
    let mut store = Store::open(&path).unwrap();
    for c in cases {
        store.insert_case(c).unwrap().expect("new case");
    }
    path
}

fn rubricate(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run rubricate")
}

const RM_R1: &str = "<type>Chat</type>\n<rubric>\n1. Accuracy (weight 70%): names Canberra.\n2. Brevity (30%)\n</rubric>\n<eval>\nChatbot A says Sydney, which is wrong. Chatbot B says Canberra.\n</eval>\n<answer>[[B]]</answer>";

#[test]
fn imports_rm_r1_judgments_by_source_id_or_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = case("c1", "Capital of Australia?", "Sydney.", "Canberra.");
    let c2 = case("c2", "2 + 2?", "4", "5");
    let db = db_with_cases(dir.path(), &[c1, c2.clone()]);
    let file = dir.path().join("rm-r1.jsonl");
    let lines = [
        serde_json::json!({"source_id": "c1", "raw": RM_R1, "model": "RM-R1-7B", "extra": 1}),
        serde_json::json!({"content_hash": c2.content_hash(), "raw": "<rubric>r</rubric><eval>e</eval><answer>[[A]] or [[B]]</answer>", "swapped": true}),
        serde_json::json!({"source_id": "c2", "raw": "<rubric>r</rubric><eval>B is right</eval><answer>[[A]]</answer>", "swapped": true}),
    ];
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let out = rubricate(&db, &["judge", "--import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let store = Store::open(&db).unwrap();
    let c1_id = store.find_case("c1").unwrap().unwrap().id;
    let c2_id = store.find_case("c2").unwrap().unwrap().id;
    let j1 = store.latest_judgment(c1_id, false).unwrap().unwrap().j;
    assert_eq!(j1.origin, JudgmentOrigin::Import);
    assert!(j1.parse_ok, "{:?}", j1.parse_error);
    assert_eq!(j1.verdict, Some(Verdict::B));
    assert!(j1.rubric.unwrap().contains("Accuracy"));
    assert!(j1.analysis.unwrap().contains("Canberra"));
    assert_eq!(j1.model_file, "RM-R1-7B");
    assert_eq!(j1.raw, RM_R1);
    let c2_judgments = store.judgments_for_case(c2_id).unwrap();
    assert_eq!(c2_judgments.len(), 2);
    // Both winners named: kept for auditing, but no verdict.
    let both = &c2_judgments[0].j;
    assert!(!both.parse_ok && both.verdict.is_none());
    assert!(
        both.parse_error
            .as_deref()
            .unwrap()
            .contains("more than one winner")
    );
    // Judged with A and B exchanged: [[A]] there is the case's B.
    let swapped = &c2_judgments[1].j;
    assert!(swapped.swapped);
    assert_eq!(swapped.verdict, Some(Verdict::B));

    // Importing the same file again adds nothing.
    let again = rubricate(&db, &["judge", "--import", file.to_str().unwrap()]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("imported 0"));
    assert_eq!(store.judgments_for_case(c2_id).unwrap().len(), 2);
}

#[test]
fn import_names_the_bad_line_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_cases(dir.path(), &[case("c1", "q", "a", "b")]);
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            serde_json::json!({"source_id": "c1", "raw": RM_R1}),
            serde_json::json!({"source_id": "nope", "raw": RM_R1})
        ),
    )
    .unwrap();
    let out = rubricate(&db, &["judge", "--import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl:2") && err.contains("\"nope\""),
        "{err}"
    );
    let store = Store::open(&db).unwrap();
    let id = store.find_case("c1").unwrap().unwrap().id;
    assert!(store.judgments_for_case(id).unwrap().is_empty());

    std::fs::write(&file, "{not json\n").unwrap();
    let out = rubricate(&db, &["judge", "--import", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.jsonl:1"));
}

#[test]
fn judges_unjudged_cases_with_the_swap_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_cases(
        dir.path(),
        &[
            case("k1", "What is 7 x 8?", "56", "54"),
            case("k2", "Capital of France?", "Paris.", "Lyon."),
        ],
    );
    let out = rubricate(&db, &["judge", "--limit", "1", "--swap", "--threads", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("saved 2 judgment(s)"), "{err}");
    let store = Store::open(&db).unwrap();
    let k1 = store.find_case("k1").unwrap().unwrap().id;
    let k2 = store.find_case("k2").unwrap().unwrap().id;
    let plain = store
        .latest_judgment(k1, false)
        .unwrap()
        .expect("original order judged");
    let swapped = store
        .latest_judgment(k1, true)
        .unwrap()
        .expect("swap check judged");
    assert!(plain.j.parse_ok && swapped.j.parse_ok);
    assert_eq!(plain.j.origin, JudgmentOrigin::Local);
    assert!(
        store.judgments_for_case(k2).unwrap().is_empty(),
        "--limit 1 judged a second case"
    );
    // The model's text never reaches the terminal.
    assert!(!err.contains("<rubric>") && !err.contains("llama"), "{err}");
}

#[test]
fn a_case_too_long_for_the_context_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let long = "The answer repeats itself. ".repeat(1500);
    let db = db_with_cases(
        dir.path(),
        &[
            case("long", "Summarise this.", &long, "Short."),
            case("ok", "What is 7 x 8?", "56", "54"),
        ],
    );
    let out = rubricate(&db, &["judge", "--threads", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a failed case must show in the exit status"
    );
    assert!(err.contains("too long for the judge"), "{err}");
    assert!(
        err.contains("saved 1 judgment(s)") && err.contains("failed 1"),
        "{err}"
    );
    let store = Store::open(&db).unwrap();
    let ok = store.find_case("ok").unwrap().unwrap().id;
    let long_id = store.find_case("long").unwrap().unwrap().id;
    assert!(store.latest_judgment(ok, false).unwrap().is_some());
    assert!(store.latest_judgment(long_id, false).unwrap().is_none());
}

#[test]
fn a_bad_config_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("rubricate");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.toml");
    std::fs::write(
        &config,
        "# mine\ntemplate = \"chatml\"\nmodel = /no/quotes.gguf\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("RUBRICATE_MODEL")
        .arg("model")
        .output()
        .expect("run rubricate");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3:", config.display())),
        "the file and line are named: {err}"
    );
    // The model named in a good config file is the one used.
    std::fs::write(&config, "model = \"/nowhere/x.gguf\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("RUBRICATE_MODEL")
        .arg("model")
        .output()
        .expect("run rubricate");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("/nowhere/x.gguf"),
        "{err}"
    );
}
