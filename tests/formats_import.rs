//! `rubricate import`: every format from fixtures, auto-detection, dedupe, the seeded A/B
//! shuffle, and all-or-nothing handling of malformed files.

mod formats_common;

use formats_common::{fixture, ok, run, stderr, stdout};
use rubricate::domain::{Case, Message, Verdict};
use rubricate::formats::import::{ImportOptions, import_bundled_sample, import_reader};
use rubricate::formats::{LineError, SourceFormat, parse_line};
use rubricate::store::Store;
use std::path::Path;

fn cases(db: &Path) -> Vec<Case> {
    let store = Store::open(db).unwrap();
    let mut out = Vec::new();
    store
        .for_each_case(|c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
    out
}

/// The text at the position the label names.
fn preferred(c: &Case) -> &str {
    match c.source_label {
        Some(Verdict::A) => &c.answer_a,
        Some(Verdict::B) => &c.answer_b,
        other => panic!("case {} has no winner label: {other:?}", c.id),
    }
}

#[test]
fn every_format_is_detected_and_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    for (file, format, n) in [
        ("trl_standard.jsonl", "trl", 4),
        ("trl_conversational.jsonl", "trl", 3),
        ("pairwise.jsonl", "pairwise", 6),
        ("hh_rlhf.jsonl", "hh-rlhf", 3),
        ("ultrafeedback.jsonl", "ultrafeedback", 3),
        ("rewardbench.jsonl", "rewardbench", 3),
    ] {
        let out = ok(&db, &["import", fixture(file).to_str().unwrap()]);
        let text = stdout(&out);
        assert!(
            text.contains(&format!(
                "({format}): {n} cases added, 0 duplicates skipped"
            )),
            "{file}: {text}"
        );
    }
    let all = cases(&db);
    assert_eq!(all.len(), 22);
    // The source name defaults to the file name.
    assert_eq!(
        all.iter()
            .filter(|c| c.source == "rewardbench.jsonl")
            .count(),
        3
    );
}

#[test]
fn explicit_format_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &[
            "import",
            "--format",
            "hh-rlhf",
            "--source",
            "hh",
            fixture("hh_rlhf.jsonl").to_str().unwrap(),
        ],
    );
    let all = cases(&db);
    assert!(all.iter().all(|c| c.source == "hh"));
    // A wrong explicit format refuses the file with a message about the missing field.
    let o = run(
        &db,
        &[
            "import",
            "--format",
            "pairwise",
            fixture("trl_standard.jsonl").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("trl_standard.jsonl:1: missing field `response_a`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn trl_cases_keep_prompt_turns_and_label() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &[
            "import",
            fixture("trl_conversational.jsonl").to_str().unwrap(),
        ],
    );
    let all = cases(&db);
    let multi = all
        .iter()
        .find(|c| c.prompt.len() == 4)
        .expect("the multi-turn case");
    assert_eq!(
        multi.prompt[0],
        Message::new("system", "You are a terse assistant.")
    );
    assert_eq!(
        multi.prompt[3],
        Message::user("And if I then buy a dozen more?")
    );
    assert_eq!(preferred(multi), "14.");
    let implicit = all
        .iter()
        .find(|c| c.last_user_text() == "Is a tomato a fruit?")
        .unwrap();
    assert_eq!(implicit.prompt.len(), 1);
    assert_eq!(
        preferred(implicit),
        "Botanically yes; in cooking it is treated as a vegetable."
    );
}

#[test]
fn hh_rlhf_prompt_is_the_shared_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&db, &["import", fixture("hh_rlhf.jsonl").to_str().unwrap()]);
    let all = cases(&db);
    let italian = all
        .iter()
        .find(|c| c.prompt.len() == 3)
        .expect("the multi-turn transcript");
    assert_eq!(
        italian.prompt,
        vec![
            Message::user("I want to learn a language."),
            Message::new("assistant", "Which one are you thinking about?"),
            Message::user("Italian. Where should I start?"),
        ]
    );
    assert_eq!(
        preferred(italian),
        "Start with the 500 most common words and a short daily listening habit, then add a weekly conversation with a tutor."
    );
    let other = if italian.answer_a == preferred(italian) {
        &italian.answer_b
    } else {
        &italian.answer_a
    };
    assert_eq!(other, "Just move to Italy.");
}

#[test]
fn pairwise_keeps_placement_and_every_label() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let all = cases(&db);
    let by_id = |id: &str| {
        all.iter()
            .find(|c| c.source_id.as_deref() == Some(id))
            .unwrap()
    };
    assert_eq!(by_id("pw-1").answer_a, "56");
    assert_eq!(by_id("pw-1").source_label, Some(Verdict::A));
    assert_eq!(by_id("pw-2").source_label, Some(Verdict::B));
    assert_eq!(by_id("pw-3").source_label, Some(Verdict::Tie));
    assert_eq!(by_id("pw-5").source_label, Some(Verdict::BothBad));
    assert_eq!(by_id("pw-6").source_label, None);
    assert_eq!(by_id("pw-6").prompt.len(), 3);
    assert_eq!(by_id("pw-1").meta["extra"]["category"], "math");
}

#[test]
fn source_fields_are_kept_in_meta() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("rewardbench.jsonl").to_str().unwrap()],
    );
    ok(
        &db,
        &["import", fixture("ultrafeedback.jsonl").to_str().unwrap()],
    );
    let all = cases(&db);
    let rb = all
        .iter()
        .find(|c| c.source_id.as_deref() == Some("31"))
        .unwrap();
    let chosen_side = if rb.source_label == Some(Verdict::A) {
        "a"
    } else {
        "b"
    };
    assert_eq!(rb.meta[chosen_side]["model"], "claude");
    assert_eq!(rb.meta["extra"]["subset"], "math-prm");
    let uf = all
        .iter()
        .find(|c| c.source_id.as_deref() == Some("uf-102"))
        .unwrap();
    let chosen_side = if uf.source_label == Some(Verdict::A) {
        "a"
    } else {
        "b"
    };
    assert_eq!(uf.meta[chosen_side]["score"], 9.0);
    assert_eq!(uf.meta["id_key"], "prompt_id");
}

#[test]
fn reimport_adds_nothing_whatever_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let file = fixture("trl_standard.jsonl");
    ok(&db, &["import", file.to_str().unwrap()]);
    for seed in ["0", "7"] {
        let out = ok(&db, &["import", "--seed", seed, file.to_str().unwrap()]);
        assert!(
            stdout(&out).contains("0 cases added, 4 duplicates skipped"),
            "{}",
            stdout(&out)
        );
    }
    assert_eq!(cases(&db).len(), 4);
}

fn generated_trl(n: usize) -> String {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "prompt": format!("Question number {i}: what is {i} + {i}?"),
                "chosen": format!("{}", i + i),
                "rejected": format!("{}", i + i + 1),
            })
            .to_string()
                + "\n"
        })
        .collect()
}

fn import_with_seed(text: &str, seed: u64) -> Vec<Case> {
    let mut store = Store::open_in_memory().unwrap();
    let options = ImportOptions {
        format: None,
        source: "gen".into(),
        seed,
        skip_invalid: false,
    };
    let report = import_reader(&mut store, text.as_bytes(), "gen", &options).unwrap();
    assert!(report.committed);
    let mut out = Vec::new();
    store
        .for_each_case(|c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn seeded_shuffle_records_the_original_label() {
    let text = generated_trl(64);
    let first = import_with_seed(&text, 1);
    let again = import_with_seed(&text, 1);
    let other = import_with_seed(&text, 2);
    assert_eq!(first.len(), 64);
    let mut in_a = 0;
    for (i, c) in first.iter().enumerate() {
        // Wherever the chosen answer went, the label points at it.
        assert_eq!(preferred(c), format!("{}", i + i), "case {i}");
        if c.source_label == Some(Verdict::A) {
            in_a += 1;
        }
    }
    // Both placements occur (each has probability 1/2 per case).
    assert!(
        in_a > 0 && in_a < 64,
        "chosen went to A {in_a} times out of 64"
    );
    // Same seed, same placement; another seed moves some cases.
    let placement = |cs: &[Case]| cs.iter().map(|c| c.source_label).collect::<Vec<_>>();
    assert_eq!(placement(&first), placement(&again));
    assert_ne!(placement(&first), placement(&other));
    for (c, o) in first.iter().zip(&other) {
        assert_eq!(preferred(c), preferred(o));
        assert_eq!(c.content_hash, o.content_hash);
    }
}

#[test]
fn malformed_file_names_its_lines_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = run(
        &db,
        &["import", fixture("malformed.jsonl").to_str().unwrap()],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("malformed.jsonl:3: invalid JSON"), "{err}");
    assert!(
        err.contains("malformed.jsonl:4: missing field `rejected`"),
        "{err}"
    );
    assert!(
        err.contains("malformed.jsonl:5: empty text in `chosen`"),
        "{err}"
    );
    assert!(
        !err.contains("malformed.jsonl:2:"),
        "a blank line is not an error: {err}"
    );
    assert!(err.contains("nothing from this file was imported"), "{err}");
    assert!(err.contains("--skip-invalid"), "{err}");
    assert_eq!(
        cases(&db).len(),
        0,
        "the good lines 1 and 6 must not be committed either"
    );
}

#[test]
fn skip_invalid_imports_the_good_lines_and_lists_the_bad() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = ok(
        &db,
        &[
            "import",
            "--skip-invalid",
            fixture("malformed.jsonl").to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    for line in [3, 4, 5] {
        assert!(err.contains(&format!("malformed.jsonl:{line}: ")), "{err}");
    }
    assert!(
        stdout(&o).contains("2 cases added, 0 duplicates skipped, 3 bad lines skipped"),
        "{}",
        stdout(&o)
    );
    assert_eq!(cases(&db).len(), 2);
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = run(
        &db,
        &[
            "import",
            fixture("malformed.jsonl").to_str().unwrap(),
            fixture("rewardbench.jsonl").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(stdout(&o).contains("rewardbench.jsonl (rewardbench): 3 cases added"));
    assert_eq!(cases(&db).len(), 3);
}

#[test]
fn unknown_fields_ask_for_a_format() {
    let e = parse_line(None, r#"{"question": "q", "answer": "a"}"#).unwrap_err();
    assert!(matches!(e, LineError::UnknownFormat(_)));
    assert!(e.to_string().contains("--format"), "{e}");
    let e = parse_line(None, "[1, 2]").unwrap_err();
    assert_eq!(e, LineError::NotObject("a list"));
    let e = parse_line(
        Some(SourceFormat::Trl),
        r#"{"prompt": "q", "chosen": "a", "#,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("invalid JSON: "), "{e}");
}

#[test]
fn bundled_sample_imports_once() {
    let mut store = Store::open_in_memory().unwrap();
    let first = import_bundled_sample(&mut store).unwrap();
    assert!(first.added >= 24, "the sample has at least 24 cases");
    assert_eq!(first.format, Some(SourceFormat::Pairwise));
    let second = import_bundled_sample(&mut store).unwrap();
    assert_eq!((second.added, second.duplicates), (0, first.added));
}

#[test]
fn a_bad_line_deep_in_a_large_file_still_refuses_it() {
    // Far more lines than the parser thread sends in one batch.
    let mut text = generated_trl(3000);
    text.push_str("{\"prompt\": \"q\", \"chosen\": \"a\"}\n");
    text.push_str(
        &generated_trl(3001)
            .lines()
            .last()
            .unwrap()
            .replace("3000", "x"),
    );
    let mut store = Store::open_in_memory().unwrap();
    let mut options = ImportOptions {
        format: None,
        source: "gen".into(),
        seed: 0,
        skip_invalid: false,
    };
    let report = import_reader(&mut store, text.as_bytes(), "big", &options).unwrap();
    assert!(!report.committed);
    assert_eq!(report.bad_total, 1);
    assert_eq!(report.bad_lines[0].line, 3001);
    assert_eq!(
        report.bad_lines[0].error,
        LineError::MissingField("rejected".into())
    );
    assert_eq!(store.case_count().unwrap(), 0);

    options.skip_invalid = true;
    let report = import_reader(&mut store, text.as_bytes(), "big", &options).unwrap();
    assert!(report.committed);
    assert_eq!((report.added, report.bad_total), (3001, 1));
    assert_eq!(store.case_count().unwrap(), 3001);
}
