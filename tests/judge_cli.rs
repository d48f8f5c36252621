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

fn argmax_verdict(j: &rubricate::domain::NewJudgment) -> Option<Verdict> {
    let mut best: Option<(Verdict, f64)> = None;
    for (v, p) in [
        (Verdict::A, j.p_a),
        (Verdict::B, j.p_b),
        (Verdict::Tie, j.p_tie),
    ] {
        if let Some(p) = p
            && best.is_none_or(|(_, b)| p > b)
        {
            best = Some((v, p));
        }
    }
    best.map(|(v, _)| v)
}

/// `judge --profile rm-r1` and `--profile mt-bench-pair` with the default model: the tiny
/// model may write anything; what is checked is the pipeline — the stored profile and its
/// hash, a verdict that is the most probable choice, and an honest parse result.
#[test]
fn judges_with_the_rm_r1_and_mt_bench_profiles() {
    use rubricate::judge::profile::Profile;
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_cases(
        dir.path(),
        &[case(
            "p1",
            "Is 221 a prime number?",
            "No: 221 = 13 x 17.",
            "Yes, 221 is prime.",
        )],
    );
    for (name, has_tie) in [("rm-r1", false), ("mt-bench-pair", true)] {
        let out = rubricate(
            &db,
            &[
                "judge",
                "--rejudge",
                "--threads",
                "2",
                "--profile",
                name,
                "--max-tokens",
                "48",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {err}");
        assert!(err.contains(&format!("profile {name}")), "{err}");
        let store = Store::open(&db).unwrap();
        let id = store.find_case("p1").unwrap().unwrap().id;
        let j = store.latest_judgment(id, false).unwrap().unwrap().j;
        let profile = Profile::builtin(name).unwrap();
        assert_eq!(j.provenance.profile.as_deref(), Some(name));
        assert_eq!(
            j.provenance.profile_hash.as_deref(),
            Some(profile.hash.as_str())
        );
        assert_eq!(j.provenance.backend.as_deref(), Some("llama.cpp"));
        assert_eq!(j.template_version, format!("{name}+{}", &profile.hash[..8]));
        assert!(!j.grammar, "these profiles constrain nothing");
        assert_eq!(j.p_tie.is_some(), has_tie, "{name}: {j:?}");
        let (a, b, t) = (j.p_a.unwrap(), j.p_b.unwrap(), j.p_tie.unwrap_or(0.0));
        assert!((a + b + t - 1.0).abs() < 1e-6, "{a} {b} {t}");
        assert_eq!(
            j.verdict,
            argmax_verdict(&j),
            "{name}: the verdict is the most probable choice"
        );
        assert!(j.verdict_sampled.is_some());
        // The verdict slot is in the raw text, written as the profile writes it.
        assert!(j.raw.contains(&profile.verdict.open), "{name}: {}", j.raw);
        // Parse result recorded honestly: an error always says what went wrong.
        assert_eq!(
            j.parse_ok,
            j.parse_error.is_none(),
            "{name}: {:?}",
            j.parse_error
        );
        // A model stopped by --max-tokens before the opener: the verdict was read after
        // rubricate appended it, and the judgment says so.
        if j.tokens_generated.unwrap() > 48 {
            let e = j.parse_error.as_deref().unwrap_or_default();
            assert!(e.contains("appended"), "{name}: {e}");
        }
    }
    // Both are exported with their provenance.
    let out = rubricate(&db, &["export", "--format", "judgments"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"profile\":\"rm-r1\"") && text.contains("\"profile\":\"mt-bench-pair\""),
        "{text}"
    );
    assert!(text.contains("\"backend\":\"llama.cpp\""));
}

#[test]
fn profiles_lists_built_ins_and_the_users_own() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir
        .path()
        .join("rubricate")
        .join("profiles")
        .join("my-judge");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(
        mine.join("profile.toml"),
        "description = \"my judge\"\n[verdict]\nopen = \"Verdict: \"\nclose = \"\"\nA = \"A\"\nB = \"B\"\n",
    )
    .unwrap();
    std::fs::write(
        mine.join("user.txt"),
        "{question}\nA: {answer_a}\nB: {answer_b}",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rubricate"))
            .env("XDG_CONFIG_HOME", dir.path())
            .env_remove("RUBRICATE_PROFILE")
            .args(args)
            .output()
            .expect("run rubricate")
    };
    let out = run(&["profiles"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "rubricate",
        "rm-r1",
        "rm-r1-reasoning",
        "mt-bench-pair",
        "my-judge",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(
        text.contains("built-in") && text.contains(&mine.display().to_string()),
        "{text}"
    );
    let out = run(&["profiles", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["hash"].as_str().is_some_and(|h| h.len() == 64))
    );
    assert_eq!(rows[4]["origin"], mine.display().to_string());
    // A broken user profile is listed with its error and fails the command.
    std::fs::write(mine.join("profile.toml"), "[verdict]\nopen = 1\n").unwrap();
    let out = run(&["profiles"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("profile.toml:2"));
    // An unknown profile name says which ones exist.
    let out = run(&[
        "--db",
        dir.path().join("x.db").to_str().unwrap(),
        "judge",
        "--profile",
        "nope",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("rm-r1"), "{err}");
}

#[test]
fn imports_the_deepseek_distilled_shape_with_its_reasoning() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_cases(dir.path(), &[case("d1", "17 x 13?", "211", "221")]);
    let raw = "The Client wants 17 x 13. Chatbot A says 211; Chatbot B says 221. 17 x 13 = 170 + 51 = 221, so B.\n</think>\n\n<answer>[[B]]</answer>";
    let file = dir.path().join("ds.jsonl");
    std::fs::write(
        &file,
        format!("{}\n", serde_json::json!({"source_id": "d1", "raw": raw, "model": "RM-R1-DeepSeek-Distilled-Qwen-7B", "profile": "rm-r1-reasoning"})),
    )
    .unwrap();
    let out = rubricate(&db, &["judge", "--import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&db).unwrap();
    let id = store.find_case("d1").unwrap().unwrap().id;
    let j = store.latest_judgment(id, false).unwrap().unwrap().j;
    assert!(j.parse_ok, "{:?}", j.parse_error);
    assert_eq!(j.verdict, Some(Verdict::B));
    assert!(j.analysis.unwrap().starts_with("The Client wants 17 x 13."));
    assert_eq!(j.provenance.profile.as_deref(), Some("rm-r1-reasoning"));
}

#[test]
fn judge_json_summary_describes_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_cases(dir.path(), &[case("j1", "What is 7 x 8?", "56", "54")]);
    let out = rubricate(&db, &["judge", "--json", "--threads", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // stdout is the JSON document and nothing else; the summary line is not printed.
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert!(!err.contains("saved 1 judgment(s)"), "{err}");
    let store = Store::open(&db).unwrap();
    let id = store.find_case("j1").unwrap().unwrap().id;
    let stored = store.latest_judgment(id, false).unwrap().expect("judged");
    assert_eq!(v["ok"], true);
    assert_eq!(v["interrupted"], false);
    assert_eq!(
        (v["planned"].as_u64(), v["saved"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (v["failed"].as_u64(), v["not_judged"].as_u64()),
        (Some(0), Some(0))
    );
    let key = match stored.j.verdict {
        Some(Verdict::A) => "A",
        Some(Verdict::B) => "B",
        Some(Verdict::Tie) => "tie",
        Some(Verdict::BothBad) => "both_bad",
        None => "",
    };
    let counted: u64 = ["A", "B", "tie", "both_bad"]
        .iter()
        .map(|k| v["verdicts"][k].as_u64().unwrap())
        .sum();
    if key.is_empty() {
        assert_eq!(counted, 0, "{v}");
    } else {
        assert_eq!(v["verdicts"][key], 1, "{v}");
        assert_eq!(counted, 1, "{v}");
    }
    assert_eq!(v["unparsed"].as_u64(), Some(u64::from(!stored.j.parse_ok)));
    assert_eq!(
        v["tokens_generated"].as_u64(),
        stored.j.tokens_generated.map(u64::from)
    );
    assert!(v["seconds"].as_f64().unwrap() > 0.0, "{v}");
    // Loading the model is reported apart from judging (a real load takes tens of ms).
    assert!(v["seconds_load"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(v["judge"]["backend"], "local");
    assert_eq!(v["judge"]["model"], stored.j.model_file.as_str());
    assert_eq!(v["judge"]["model_sha256"], stored.j.model_sha256.as_str());
    assert_eq!(v["judge"]["threads"], 2);
    assert_eq!(v["judge"]["profile"], "rubricate");
    assert_eq!(v["failures"], serde_json::json!([]));

    // Run again: nothing left to judge is still a document, with nothing planned.
    let again = rubricate(&db, &["judge", "--json"]);
    assert!(again.status.success());
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(
        (
            v["ok"].as_bool(),
            v["planned"].as_u64(),
            v["saved"].as_u64()
        ),
        (Some(true), Some(0), Some(0))
    );
    assert!(v["judge"].is_null(), "no judge was loaded: {v}");
}

#[test]
fn judge_import_json_counts_what_was_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_cases(
        dir.path(),
        &[case("c1", "Capital of Australia?", "Sydney.", "Canberra.")],
    );
    let file = dir.path().join("j.jsonl");
    let lines = [
        serde_json::json!({"source_id": "c1", "raw": RM_R1}),
        serde_json::json!({"source_id": "c1", "raw": "no tags at all", "swapped": true}),
    ];
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = rubricate(&db, &["judge", "--import", f, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["imported"], 2);
    assert_eq!(v["already_present"], 0);
    assert_eq!(v["unparsed"], 1);
    let again = rubricate(&db, &["judge", "--import", f, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(
        (v["imported"].as_u64(), v["already_present"].as_u64()),
        (Some(0), Some(2))
    );
}
