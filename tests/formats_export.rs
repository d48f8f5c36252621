//! `rubricate export`: round trips from every import format, where preferences come from
//! (labels, reviews, model), what is left out and why, and the judge-training formats.

mod formats_common;

use formats_common::{fixture, jsonl, judgment, ok, read_jsonl, rubricate, run, stderr, stdout};
use rubricate::domain::{Case, NewReview, ReasoningApproval, ReviewAction, Verdict};
use rubricate::judge::api::JudgeMode;
use rubricate::judge::profile::Profile;
use rubricate::store::Store;
use serde_json::{Value, json};
use std::path::Path;

/// The (chosen, rejected) texts a fixture file holds, read straight from its records.
fn expected_pairs(file: &str) -> Vec<(String, String)> {
    let last_content = |v: &Value| {
        v.as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let hh_last = |v: &Value| {
        v.as_str()
            .unwrap()
            .rsplit("\n\nAssistant:")
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    read_jsonl(&fixture(file))
        .iter()
        .filter_map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            Some(match file {
                "trl_standard.jsonl" | "rewardbench.jsonl" => (s("chosen"), s("rejected")),
                "trl_conversational.jsonl" | "ultrafeedback.jsonl" => {
                    (last_content(&r["chosen"]), last_content(&r["rejected"]))
                }
                "hh_rlhf.jsonl" => (hh_last(&r["chosen"]), hh_last(&r["rejected"])),
                "pairwise.jsonl" => match r["winner"].as_str() {
                    Some("A") => (s("response_a"), s("response_b")),
                    Some("B") => (s("response_b"), s("response_a")),
                    _ => return None,
                },
                other => panic!("no expectation for {other}"),
            })
        })
        .collect()
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

fn export(db: &Path, args: &[&str]) -> (Vec<Value>, String) {
    let mut full = vec!["export"];
    full.extend_from_slice(args);
    let o = ok(db, &full);
    (jsonl(&stdout(&o)), stderr(&o))
}

const ALL_FORMATS: &[&str] = &[
    "trl_standard.jsonl",
    "trl_conversational.jsonl",
    "pairwise.jsonl",
    "hh_rlhf.jsonl",
    "ultrafeedback.jsonl",
    "rewardbench.jsonl",
];

#[test]
fn import_then_export_from_labels_gives_back_the_texts() {
    for file in ALL_FORMATS {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        ok(
            &db,
            &["import", "--seed", "3", fixture(file).to_str().unwrap()],
        );
        let want = sorted(expected_pairs(file));

        let (dpo, _) = export(&db, &["--format", "dpo", "--from", "labels"]);
        let got: Vec<_> = dpo
            .iter()
            .map(|r| {
                (
                    r["chosen"].as_str().unwrap().to_string(),
                    r["rejected"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(sorted(got), want, "dpo from {file}");

        let (chat, _) = export(&db, &["--format", "dpo-chat", "--from", "labels"]);
        let got: Vec<_> = chat
            .iter()
            .map(|r| {
                assert_eq!(r["chosen"][0]["role"], "assistant");
                assert_eq!(r["chosen"].as_array().unwrap().len(), 1);
                (
                    r["chosen"][0]["content"].as_str().unwrap().to_string(),
                    r["rejected"][0]["content"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(sorted(got), want, "dpo-chat from {file}");
    }
}

#[test]
fn trl_standard_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("trl_standard.jsonl").to_str().unwrap()],
    );
    let (dpo, _) = export(&db, &["--format", "dpo", "--from", "labels"]);
    assert_eq!(dpo, read_jsonl(&fixture("trl_standard.jsonl")));
}

#[test]
fn rewardbench_and_ultrafeedback_fields_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("rewardbench.jsonl").to_str().unwrap()],
    );
    let (mut dpo, _) = export(&db, &["--format", "dpo", "--from", "labels"]);
    // The section each subset is reported under is added as `category` ...
    let sections: Vec<Value> = dpo
        .iter_mut()
        .map(|r| r.as_object_mut().unwrap().remove("category").unwrap())
        .collect();
    assert_eq!(
        sections,
        [json!("Chat"), json!("Reasoning"), json!("Safety")]
    );
    // ... and every RewardBench field, the numeric id included, comes back as it was.
    assert_eq!(dpo, read_jsonl(&fixture("rewardbench.jsonl")));

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("ultrafeedback.jsonl").to_str().unwrap()],
    );
    let (dpo, _) = export(&db, &["--format", "dpo", "--from", "labels"]);
    let source = read_jsonl(&fixture("ultrafeedback.jsonl"));
    for (got, src) in dpo.iter().zip(&source) {
        assert_eq!(got["prompt"], src["prompt"]);
        assert_eq!(got["prompt_id"], src["prompt_id"]);
        assert_eq!(got["score_chosen"], src["score_chosen"]);
        assert_eq!(got["score_rejected"], src["score_rejected"]);
    }
}

#[test]
fn dpo_chat_keeps_earlier_turns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &[
            "import",
            fixture("trl_conversational.jsonl").to_str().unwrap(),
        ],
    );
    let (chat, _) = export(&db, &["--format", "dpo-chat", "--from", "labels"]);
    let source = read_jsonl(&fixture("trl_conversational.jsonl"));
    assert_eq!(chat[1]["prompt"], source[1]["prompt"]);
    assert_eq!(chat[1]["prompt"].as_array().unwrap().len(), 4);
    // Standard dpo renders the same conversation as one string with its turns labelled.
    let (dpo, _) = export(&db, &["--format", "dpo", "--from", "labels"]);
    let prompt = dpo[1]["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("System: You are a terse assistant.\n\nUser: I have 3 apples"),
        "{prompt}"
    );
    assert!(
        prompt.ends_with("User: And if I then buy a dozen more?"),
        "{prompt}"
    );
}

#[test]
fn ties_and_both_bad_are_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    for format in ["dpo", "dpo-chat", "rm-r1-rl"] {
        let (records, err) = export(&db, &["--format", format, "--from", "labels"]);
        assert_eq!(records.len(), 2, "{format}");
        assert!(
            err.contains("wrote 2 records; left out 4 (both_bad: 1, no label: 1, tie: 2)"),
            "{format}: {err}"
        );
    }
}

fn load(db: &Path) -> (Store, Vec<Case>) {
    let store = Store::open(db).unwrap();
    let mut cases = Vec::new();
    store
        .for_each_case(|c| {
            cases.push(c);
            Ok(())
        })
        .unwrap();
    (store, cases)
}

fn by_id<'a>(cases: &'a [Case], id: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.source_id.as_deref() == Some(id))
        .unwrap()
}

fn decide(
    store: &Store,
    case: &Case,
    reviewer: &str,
    action: ReviewAction,
    verdict: Verdict,
) -> i64 {
    store
        .append_review(&NewReview {
            case_id: case.id,
            reviewer: reviewer.into(),
            action: Some(action),
            verdict: Some(verdict),
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn from_reviews_takes_the_decision_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let (store, cases) = load(&db);
    decide(
        &store,
        by_id(&cases, "pw-1"),
        "ann",
        ReviewAction::Override,
        Verdict::A,
    );
    decide(
        &store,
        by_id(&cases, "pw-2"),
        "ann",
        ReviewAction::Override,
        Verdict::A,
    );
    decide(
        &store,
        by_id(&cases, "pw-3"),
        "ann",
        ReviewAction::Override,
        Verdict::Tie,
    );
    decide(
        &store,
        by_id(&cases, "pw-5"),
        "ann",
        ReviewAction::Override,
        Verdict::BothBad,
    );
    decide(
        &store,
        by_id(&cases, "pw-6"),
        "ann",
        ReviewAction::Override,
        Verdict::B,
    );
    store.undo_last(by_id(&cases, "pw-6").id, "ann").unwrap();
    // Bob decided pw-1 later, the other way.
    decide(
        &store,
        by_id(&cases, "pw-1"),
        "bob",
        ReviewAction::Override,
        Verdict::B,
    );
    drop(store);

    // Every reviewer, merged by `latest`: the most recent decision of anyone.
    let (dpo, err) = export(
        &db,
        &["--format", "dpo", "--all-reviewers", "--merge", "latest"],
    );
    assert!(err.contains("(all reviewers, merged by latest)"), "{err}");
    assert!(
        err.contains("wrote 2 records; left out 4 (both_bad: 1, no decision: 2, tie: 1)"),
        "{err}"
    );
    let seven_eight = dpo
        .iter()
        .find(|r| r["prompt"] == "What is 7 × 8?")
        .unwrap();
    assert_eq!(seven_eight["chosen"], "54", "bob's later decision wins");
    let austen = dpo.iter().find(|r| r["id"] == "pw-2").unwrap();
    assert_eq!(
        austen["chosen"], "Charlotte Brontë.",
        "ann overrode the label"
    );

    // Naming a reviewer filters, on the command line or through the environment.
    let (dpo, err) = export(&db, &["--reviewer", "ann", "--format", "dpo"]);
    assert!(err.contains("(reviewer ann)"), "{err}");
    let seven_eight = dpo
        .iter()
        .find(|r| r["prompt"] == "What is 7 × 8?")
        .unwrap();
    assert_eq!(seven_eight["chosen"], "56");
    let o = rubricate(&db)
        .env("RUBRICATE_REVIEWER", "bob")
        .args(["export", "--format", "dpo"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(jsonl(&stdout(&o)).len(), 1);
    assert!(
        stderr(&o).contains("wrote 1 record; left out 5 (no decision: 5)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn from_model_uses_the_latest_original_order_judgment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let (store, cases) = load(&db);
    let id = |s: &str| by_id(&cases, s).id;
    store
        .insert_judgment(&judgment(id("pw-1"), Some(Verdict::A), false))
        .unwrap();
    store
        .insert_judgment(&judgment(id("pw-2"), None, false))
        .unwrap();
    store
        .insert_judgment(&judgment(id("pw-3"), Some(Verdict::Tie), false))
        .unwrap();
    store
        .insert_judgment(&judgment(id("pw-5"), Some(Verdict::B), false))
        .unwrap();
    store
        .insert_judgment(&judgment(id("pw-6"), Some(Verdict::B), false))
        .unwrap();
    store
        .insert_judgment(&judgment(id("pw-6"), Some(Verdict::A), false))
        .unwrap();
    // A swapped judgment is the swap check, not the model's verdict.
    store
        .insert_judgment(&judgment(id("pw-6"), Some(Verdict::B), true))
        .unwrap();
    drop(store);

    let (dpo, err) = export(&db, &["--format", "dpo", "--from", "model"]);
    assert_eq!(dpo.len(), 3);
    assert!(
        err.contains("left out 3 (no judgment: 1, tie: 1, unparsed judgment: 1)"),
        "{err}"
    );
    let book = dpo.iter().find(|r| r["id"] == "pw-6").unwrap();
    assert_eq!(
        book["chosen"],
        "Try 'The Left Hand of Darkness' by Ursula K. Le Guin."
    );

    // A bare model verdict approves no reasoning: left out by default, counted.
    let (sft, err) = export(&db, &["--format", "sft", "--from", "model"]);
    assert!(sft.is_empty());
    assert!(err.contains("reasoning not approved: 4"), "{err}");
    // Native traces may say tie; RM-R1 has no tie.
    let (sft, err) = export(
        &db,
        &[
            "--format",
            "sft",
            "--from",
            "model",
            "--include-unapproved-reasoning",
        ],
    );
    assert_eq!(sft.len(), 4, "{err}");
    assert!(
        sft.iter()
            .all(|r| r["reasoning_approved"] == false && r["reasoning"] == "unapproved")
    );
    let rubricate_profile = Profile::default_profile();
    for r in &sft {
        let m = r["messages"].as_array().unwrap();
        assert_eq!(m.len(), 3);
        // The rubricate judge profile's own prompt.
        assert_eq!(m[0]["content"], rubricate_profile.system.clone().unwrap());
        assert!(
            m[1]["content"]
                .as_str()
                .unwrap()
                .starts_with("<conversation>\n")
        );
        assert_eq!(
            (
                m[0]["role"].as_str(),
                m[1]["role"].as_str(),
                m[2]["role"].as_str()
            ),
            (Some("system"), Some("user"), Some("assistant"))
        );
        let answer = m[2]["content"].as_str().unwrap();
        assert!(answer.starts_with("<rubric>\n1. correctness"), "{answer}");
        assert!(answer.contains("</rubric>\n<analysis>\n"), "{answer}");
    }
    let tie = sft.iter().find(|r| r["case_id"] == id("pw-3")).unwrap();
    assert!(
        tie["messages"][2]["content"]
            .as_str()
            .unwrap()
            .ends_with("<verdict>tie</verdict>")
    );

    let (rm, _) = export(
        &db,
        &[
            "--format",
            "rm-r1-sft",
            "--from",
            "model",
            "--include-unapproved-reasoning",
        ],
    );
    assert_eq!(rm.len(), 3);
    let book = rm.iter().find(|r| r["case_id"] == id("pw-6")).unwrap();
    let winner = book["winner"].as_str().unwrap();
    // RM-R1's Chat shape: the rubric makes the type.
    assert!(
        winner.starts_with("<type>Chat</type>\n\n<rubric>\n"),
        "{winner}"
    );
    assert!(winner.contains("<eval>\nAnswer A is correct"), "{winner}");
    assert!(
        winner.ends_with("</eval>\n\n<answer>[[A]]</answer>"),
        "{winner}"
    );
    // The prompt is the rm-r1 judge profile's, as the judge renders it (case text verbatim).
    let ctx = book["context_messages"].as_array().unwrap();
    let rm_r1 = Profile::builtin("rm-r1").unwrap();
    assert_eq!(ctx[0]["role"], "system");
    assert_eq!(ctx[0]["content"], rm_r1.system.clone().unwrap());
    let user = ctx[1]["content"].as_str().unwrap();
    assert!(
        user.starts_with(
            "[The Start of the Conversation between Chatbot A and the Client]\nUser: Recommend a book.\nChatbot A: What genres do you like?\nUser: Science fiction.\nChatbot A: Try 'The Left Hand"
        ),
        "{user}"
    );
    // pw-6 has nothing to neutralize, so it is exactly what the live judge is shown.
    assert_eq!(
        user,
        rm_r1
            .render(by_id(&cases, "pw-6"), false, &JudgeMode::Full)
            .user
    );

    let (rl, _) = export(&db, &["--format", "rm-r1-rl", "--from", "model"]);
    let winners: Vec<_> = rl
        .iter()
        .map(|r| (r["case_id"].as_i64().unwrap(), r["winner"].clone()))
        .collect();
    assert!(winners.contains(&(id("pw-1"), json!("model_a"))));
    assert!(winners.contains(&(id("pw-5"), json!("model_b"))));
}

#[test]
fn traces_follow_the_reviewed_judgment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let (store, cases) = load(&db);
    let austen = by_id(&cases, "pw-2");
    let spider = by_id(&cases, "pw-1");
    let haiku = by_id(&cases, "pw-6");
    // pw-2: the model got it wrong in the original order...
    store
        .insert_judgment(&judgment(austen.id, Some(Verdict::A), false))
        .unwrap();
    // ...and right on the swapped order, where Jane Austen (the case's B) was shown as A.
    let swapped = store
        .insert_judgment(&judgment(austen.id, Some(Verdict::B), true))
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: austen.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Accept),
            verdict: Some(Verdict::B),
            judgment_id: Some(swapped),
            reasoning: Some(ReasoningApproval::Approved),
            ..Default::default()
        })
        .unwrap();
    // pw-1: the reviewer rewrote the reasoning.
    let j = store
        .insert_judgment(&judgment(spider.id, Some(Verdict::A), false))
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: spider.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Edit),
            verdict: Some(Verdict::A),
            rubric: Some("1. The product must be exactly 56 (weight 5)".into()),
            analysis: Some("A says 56, which is right; B says 54.".into()),
            judgment_id: Some(j),
            ..Default::default()
        })
        .unwrap();
    // pw-6: overriding the model without writing an analysis approves no reasoning.
    let j = store
        .insert_judgment(&judgment(haiku.id, Some(Verdict::B), false))
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: haiku.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Override),
            verdict: Some(Verdict::A),
            judgment_id: Some(j),
            ..Default::default()
        })
        .unwrap();
    drop(store);

    let (sft, err) = export(&db, &["--format", "sft", "--all-reviewers"]);
    assert!(
        err.contains("wrote 2 records; left out 4 (no decision: 3, reasoning not approved: 1)"),
        "{err}"
    );
    let a = sft.iter().find(|r| r["case_id"] == austen.id).unwrap();
    let user = a["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.find("Jane Austen").unwrap() < user.find("Charlotte Brontë").unwrap(),
        "{user}"
    );
    assert!(
        a["messages"][2]["content"]
            .as_str()
            .unwrap()
            .ends_with("<verdict>A</verdict>")
    );
    let s = sft.iter().find(|r| r["case_id"] == spider.id).unwrap();
    let answer = s["messages"][2]["content"].as_str().unwrap();
    assert!(
        answer.contains("exactly 56") && answer.contains("B says 54"),
        "{answer}"
    );

    assert_eq!(a["reasoning"], "approved");
    assert_eq!(s["reasoning"], "own");
    // Even asked for, the model's reasoning never stands in for a verdict it argued against.
    let (sft, err) = export(
        &db,
        &[
            "--format",
            "sft",
            "--all-reviewers",
            "--include-unapproved-reasoning",
        ],
    );
    assert!(
        err.contains("wrote 2 records; left out 4 (no decision: 3, no reasoning: 1)"),
        "{err}"
    );
    assert!(sft.iter().all(|r| r["reasoning_approved"] == true));

    // A label approves no reasoning.
    let (_, err) = export(&db, &["--format", "rm-r1-sft", "--from", "labels"]);
    assert!(err.contains("wrote 0 records;"), "{err}");
    // Asked for, labels borrow the model's reasoning only where the model reached the same verdict.
    let (_, err) = export(
        &db,
        &[
            "--format",
            "rm-r1-sft",
            "--from",
            "labels",
            "--include-unapproved-reasoning",
        ],
    );
    assert!(err.contains("wrote 1 record;"), "{err}");
    assert!(err.contains("judgment disagrees with label: 1"), "{err}");
}

/// An approved RM-R1 judgment of a Reasoning task keeps its `<type>` and `<solution>` in
/// `rm-r1-sft`; rubricate's native `sft` has no place for a solution and says so.
#[test]
fn rm_r1_reasoning_traces_keep_type_and_solution() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let (store, cases) = load(&db);
    let case = by_id(&cases, "pw-1");
    let mut j = judgment(case.id, Some(Verdict::A), true);
    j.rubric = None;
    j.judge_type = Some("Reasoning".into());
    j.solution = Some("7 × 8 = 56".into());
    j.analysis = Some("<quote_A>56</quote_A> matches my solution.".into());
    j.provenance.profile = Some("rm-r1".into());
    let jid = store.insert_judgment(&j).unwrap();
    store
        .append_review(&NewReview {
            case_id: case.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Accept),
            verdict: Some(Verdict::A),
            reasoning: Some(ReasoningApproval::Approved),
            analysis: j.analysis.clone(),
            judgment_id: Some(jid),
            ..Default::default()
        })
        .unwrap();
    drop(store);
    let (rm, err) = export(&db, &["--reviewer", "ann", "--format", "rm-r1-sft"]);
    assert_eq!(rm.len(), 1, "{err}");
    // Judged in the swapped order: shown swapped, the verdict letter follows.
    assert_eq!(
        rm[0]["winner"],
        "<type>Reasoning</type>\n\n<solution>\n7 × 8 = 56\n</solution>\n\n<eval>\n<quote_A>56</quote_A> matches my solution.\n</eval>\n\n<answer>[[B]]</answer>"
    );
    let user = rm[0]["context_messages"][1]["content"].as_str().unwrap();
    assert!(user.starts_with("[Client Question]\n"), "{user}");
    let (sft, err) = export(&db, &["--reviewer", "ann", "--format", "sft"]);
    assert!(sft.is_empty());
    assert!(
        err.contains("left out 6 (no decision: 5, no rubric: 1)"),
        "{err}"
    );
}

#[test]
fn reviews_and_judgments_carry_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let (store, cases) = load(&db);
    let case = by_id(&cases, "pw-1");
    let j = store
        .insert_judgment(&judgment(case.id, Some(Verdict::A), false))
        .unwrap();
    store
        .insert_judgment(&judgment(case.id, Some(Verdict::A), true))
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: case.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Accept),
            verdict: Some(Verdict::A),
            judgment_id: Some(j),
            seconds_spent: Some(12.5),
            ..Default::default()
        })
        .unwrap();
    store.undo_last(case.id, "ann").unwrap();
    decide(&store, case, "bob", ReviewAction::Override, Verdict::B);
    drop(store);

    let (rows, err) = export(&db, &["--format", "reviews", "--all-reviewers"]);
    assert_eq!(rows.len(), 3, "{err}");
    assert_eq!(rows[0]["action"], "accept");
    assert_eq!(rows[0]["source_id"], "pw-1");
    assert_eq!(rows[0]["seconds_spent"], 12.5);
    assert_eq!(
        rows[0]["judgment"]["model_sha256"],
        judgment(0, None, false).model_sha256
    );
    assert_eq!(rows[1]["action"], "revert");
    assert_eq!(rows[1]["reverts_review_id"], rows[0]["id"]);
    let (rows, _) = export(&db, &["--reviewer", "bob", "--format", "reviews"]);
    assert_eq!(rows.len(), 1);

    let (judgments, _) = export(&db, &["--format", "judgments"]);
    assert_eq!(judgments.len(), 2);
    for key in [
        "case_id",
        "swapped",
        "model_file",
        "model_sha256",
        "template_version",
        "grammar",
        "rubric",
        "analysis",
        "verdict",
        "p_a",
        "p_b",
        "p_tie",
        "parse_ok",
        "raw",
        "tokens_prompt",
        "tokens_generated",
        "ms_prefill",
        "ms_generate",
    ] {
        assert!(
            judgments[0].get(key).is_some(),
            "judgments export lacks `{key}`"
        );
    }
    assert_eq!(judgments[1]["swapped"], true);
}

#[test]
fn out_file_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("trl_standard.jsonl").to_str().unwrap()],
    );
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("dpo.jsonl");
    let o = ok(
        &db,
        &[
            "export",
            "--format",
            "dpo",
            "--from",
            "labels",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(stdout(&o).is_empty(), "records go to the file, not stdout");
    assert_eq!(read_jsonl(&out).len(), 4);
    let names: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("dpo.jsonl")],
        "no temporary file left behind"
    );

    let missing = dir.path().join("no-such-dir").join("x.jsonl");
    let o = run(
        &db,
        &[
            "export",
            "--format",
            "dpo",
            "--from",
            "labels",
            "--out",
            missing.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no-such-dir"), "{}", stderr(&o));
    assert!(!missing.exists());
}
