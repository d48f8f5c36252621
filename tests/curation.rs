//! Curation through the real binary and a real database file: approved reasoning only in
//! every export, refined answers in pairs, collections, notes and flag reasons in the
//! `reviews` export.

mod formats_common;

use formats_common::{imported, jsonl, judgment, ok, run, stderr, stdout};
use rubricate::domain::{Case, NewReview, ReasoningApproval, ReviewAction, Verdict};
use rubricate::store::Store;
use serde_json::Value;
use std::path::Path;

/// Every decision here is ann's: export hers (the default would be the login name's).
fn export(db: &Path, args: &[&str]) -> (Vec<Value>, String) {
    let mut full = vec!["--reviewer", "ann", "export"];
    full.extend_from_slice(args);
    let o = ok(db, &full);
    (jsonl(&stdout(&o)), stderr(&o))
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, Vec<Case>) {
    let (dir, db, _, cases) = imported("pairwise.jsonl");
    (dir, db, cases)
}

fn by<'a>(cases: &'a [Case], source_id: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.source_id.as_deref() == Some(source_id))
        .unwrap()
}

fn decision(
    case: &Case,
    action: ReviewAction,
    verdict: Verdict,
    judgment_id: i64,
    reasoning: ReasoningApproval,
) -> NewReview {
    NewReview {
        case_id: case.id,
        reviewer: "ann".into(),
        action: Some(action),
        verdict: Some(verdict),
        judgment_id: Some(judgment_id),
        reasoning: Some(reasoning),
        ..Default::default()
    }
}

/// Four decided cases, all agreeing with the model's verdict, one per kind of approval:
/// pw-1 `a` (approved), pw-2 a kept edit (own), pw-5 a verdict key, pw-6 "reasoning wrong".
fn four_approvals(db: &Path, cases: &[Case]) {
    let store = Store::open(db).unwrap();
    let add = |id: &str, v: Verdict, action, reasoning, own: bool| {
        let c = by(cases, id);
        let j = store
            .insert_judgment(&judgment(c.id, Some(v), false))
            .unwrap();
        let mut r = decision(c, action, v, j, reasoning);
        if own {
            r.rubric = Some(format!("reviewer rubric for {id}"));
            r.analysis = Some(format!("reviewer analysis for {id}"));
        } else {
            let jj = store.get_judgment(j).unwrap().unwrap();
            r.rubric = jj.j.rubric;
            r.analysis = jj.j.analysis;
        }
        store.append_review(&r).unwrap();
    };
    add(
        "pw-1",
        Verdict::A,
        ReviewAction::Accept,
        ReasoningApproval::Approved,
        false,
    );
    add(
        "pw-2",
        Verdict::B,
        ReviewAction::Edit,
        ReasoningApproval::Own,
        true,
    );
    add(
        "pw-5",
        Verdict::B,
        ReviewAction::Accept,
        ReasoningApproval::VerdictOnly,
        false,
    );
    add(
        "pw-6",
        Verdict::B,
        ReviewAction::Accept,
        ReasoningApproval::Wrong,
        false,
    );
}

#[test]
fn traces_carry_only_reasoning_a_human_approved_or_wrote() {
    let (_dir, db, cases) = setup();
    four_approvals(&db, &cases);
    let approved_ids = [by(&cases, "pw-1").id, by(&cases, "pw-2").id];
    for format in ["sft", "rm-r1-sft"] {
        let (records, err) = export(&db, &["--format", format]);
        let ids: Vec<i64> = records
            .iter()
            .map(|r| r["case_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, approved_ids, "{format}: {err}");
        assert!(
            err.contains("reasoning judged wrong: 1") && err.contains("reasoning not approved: 1"),
            "{format}: {err}"
        );
        let text = serde_json::to_string(&records).unwrap();
        assert!(text.contains("reviewer analysis for pw-2"), "{format}");
        assert!(
            !text.contains(&format!("[case {}", by(&cases, "pw-5").id))
                && !text.contains(&format!("[case {}", by(&cases, "pw-6").id)),
            "{format} leaked unapproved reasoning: {text}"
        );
        assert!(records.iter().all(|r| r["reasoning_approved"] == true));
        assert_eq!(records[0]["reasoning"], "approved");
        assert_eq!(records[1]["reasoning"], "own");

        // Asked for, the rest come too, marked.
        let (all, err) = export(&db, &["--format", format, "--include-unapproved-reasoning"]);
        assert_eq!(all.len(), 4, "{format}: {err}");
        let marked: Vec<i64> = all
            .iter()
            .filter(|r| r["reasoning_approved"] == false)
            .map(|r| r["case_id"].as_i64().unwrap())
            .collect();
        assert_eq!(marked, [by(&cases, "pw-5").id, by(&cases, "pw-6").id]);
    }
    // rm-r1-sft also carries TRL's conversational prompt/completion with the same text.
    let (rm, _) = export(&db, &["--format", "rm-r1-sft"]);
    for r in &rm {
        assert_eq!(r["prompt"], r["context_messages"]);
        assert_eq!(r["completion"][0]["role"], "assistant");
        assert_eq!(r["completion"][0]["content"], r["winner"]);
    }
    // Preference pairs and the RL format carry no reasoning: every decided pair goes out,
    // and no judge text is in them.
    for format in ["dpo", "dpo-chat", "rm-r1-rl"] {
        let (records, err) = export(&db, &["--format", format]);
        assert_eq!(records.len(), 4, "{format}: {err}");
        let text = serde_json::to_string(&records).unwrap();
        assert!(!text.contains("correctness (weight 3)"), "{format}: {text}");
        assert!(!text.contains("reviewer analysis"), "{format}: {text}");
    }
    // reviews keeps every row with its approval, so nothing is hidden from the audit trail.
    let (rows, _) = export(&db, &["--format", "reviews"]);
    let kinds: Vec<&str> = rows
        .iter()
        .map(|r| r["reasoning"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["approved", "own", "verdict_only", "wrong"]);
}

#[test]
fn pairs_use_the_refined_text_with_provenance() {
    let (_dir, db, cases) = setup();
    let spider = by(&cases, "pw-1"); // A: "56", B: "54"
    let store = Store::open(&db).unwrap();
    let rev = store
        .add_revision(spider.id, Verdict::A, "7 × 8 = 56.", "ann", None)
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: spider.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Override),
            verdict: Some(Verdict::A),
            reasoning: Some(ReasoningApproval::VerdictOnly),
            ..Default::default()
        })
        .unwrap();
    drop(store);

    let (dpo, _) = export(&db, &["--format", "dpo"]);
    assert_eq!(dpo.len(), 1);
    assert_eq!(dpo[0]["chosen"], "7 × 8 = 56.");
    assert_eq!(dpo[0]["rejected"], "54");
    assert_eq!(dpo[0]["refined"]["pair"], "refined_vs_rejected");
    assert_eq!(dpo[0]["refined"]["chosen"]["revision_id"], rev.id);
    assert_eq!(dpo[0]["refined"]["chosen"]["author"], "ann");

    let (both, err) = export(
        &db,
        &["--format", "dpo-chat", "--refined", "also-vs-original"],
    );
    assert_eq!(both.len(), 2, "{err}");
    assert!(err.contains("wrote 2 records"), "{err}");
    assert_eq!(both[1]["chosen"][0]["content"], "7 × 8 = 56.");
    assert_eq!(both[1]["rejected"][0]["content"], "56");
    assert_eq!(both[1]["refined"]["pair"], "refined_vs_original");

    let (orig, _) = export(&db, &["--format", "dpo", "--refined", "ignore"]);
    assert_eq!(orig[0]["chosen"], "56");
    assert!(orig[0].get("refined").is_none());

    let (rl, _) = export(&db, &["--format", "rm-r1-rl"]);
    let user = rl[0]["context_messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("7 × 8 = 56."), "{user}");
    assert_eq!(rl[0]["refined"]["a"]["revision_id"], rev.id);
}

#[test]
fn collection_export_notes_and_flag_reasons() {
    let (_dir, db, cases) = setup();
    let store = Store::open(&db).unwrap();
    for c in &cases {
        store
            .append_review(&NewReview {
                case_id: c.id,
                reviewer: "ann".into(),
                action: Some(ReviewAction::Override),
                verdict: Some(Verdict::A),
                reasoning: Some(ReasoningApproval::VerdictOnly),
                ..Default::default()
            })
            .unwrap();
    }
    let pw2 = by(&cases, "pw-2");
    let pw5 = by(&cases, "pw-5");
    store
        .set_in_collection("gold", pw2.id, true, "ann")
        .unwrap();
    store
        .set_in_collection("gold", pw5.id, true, "ann")
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: pw2.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Note),
            note: Some("B is the answer; the date is right".into()),
            ..Default::default()
        })
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: pw5.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Flag),
            flagged: Some(true),
            flag_reason: Some("prompt is ambiguous".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store
            .review_state(pw5.id, "ann")
            .unwrap()
            .flag_reason
            .as_deref(),
        Some("prompt is ambiguous")
    );
    drop(store);

    let (dpo, err) = export(&db, &["--format", "dpo", "--collection", "gold"]);
    let ids: Vec<&str> = dpo.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["pw-2", "pw-5"], "{err}");
    assert!(err.contains("collection gold"), "{err}");
    assert!(err.contains("wrote 2 records; left out 0"), "{err}");

    let (rows, _) = export(&db, &["--format", "reviews", "--collection", "gold"]);
    assert!(
        rows.iter()
            .all(|r| r["case_id"] == pw2.id || r["case_id"] == pw5.id)
    );
    let decision = rows
        .iter()
        .find(|r| r["case_id"] == pw2.id && r["action"] == "override")
        .unwrap();
    assert_eq!(decision["case_note"], "B is the answer; the date is right");
    assert_eq!(decision["collections"], serde_json::json!(["gold"]));
    let flag = rows.iter().find(|r| r["action"] == "flag").unwrap();
    assert_eq!(flag["flag_reason"], "prompt is ambiguous");

    // An unknown collection is an error that names the ones there are.
    let o = run(
        &db,
        &["export", "--format", "dpo", "--collection", "silver"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("gold"), "{}", stderr(&o));
}

/// `rubricate derive`: the model's failure kept as rejected, the reviewer's answer chosen,
/// the new case linked to its parent and decided by the reviewer, so it exports as a pair.
#[test]
fn derive_forks_a_case_with_the_reviewers_answer() {
    let (_dir, db, cases) = setup();
    let pw1 = by(&cases, "pw-1");
    // No judgment yet: "the model's failure" is unknown, and the error says what to do.
    let o = run(
        &db,
        &["--reviewer", "ann", "derive", "pw-1", "--chosen", "x"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--rejected a or --rejected b"),
        "{}",
        stderr(&o)
    );
    // The model preferred B ("54"): B stays, the reviewer's answer takes A.
    let store = Store::open(&db).unwrap();
    store
        .insert_judgment(&judgment(pw1.id, Some(Verdict::B), false))
        .unwrap();
    drop(store);
    let o = ok(
        &db,
        &[
            "--reviewer",
            "ann",
            "derive",
            "pw-1",
            "--chosen",
            "7 × 8 = 56, since 7 × 8 = 7 × 10 − 7 × 2.",
        ],
    );
    let id: i64 = stdout(&o).trim().parse().unwrap();
    assert!(stderr(&o).contains(&format!("derived case {id} from case {}", pw1.id)));
    let store = Store::open(&db).unwrap();
    let c = store.get_case(id).unwrap().unwrap();
    assert_eq!(c.prompt, pw1.prompt);
    assert_eq!(c.answer_b, "54");
    assert!(c.answer_a.starts_with("7 × 8 = 56"));
    assert_eq!(c.source_label, Some(Verdict::A));
    assert_eq!(store.case_parent(id).unwrap().unwrap().parent_id, pw1.id);
    drop(store);
    // The same fork again is refused (same content), naming the case.
    let o = run(
        &db,
        &[
            "--reviewer",
            "ann",
            "derive",
            "pw-1",
            "--chosen",
            "7 × 8 = 56, since 7 × 8 = 7 × 10 − 7 × 2.",
        ],
    );
    assert!(
        stderr(&o).contains(&format!("case {id} already has")),
        "{}",
        stderr(&o)
    );
    // Decided by ann: the default export has the pair, the reviews export the link.
    let (dpo, _) = export(&db, &["--format", "dpo"]);
    let pair = dpo
        .iter()
        .find(|r| r["rejected"] == "54" && r["chosen"] != "56")
        .unwrap();
    assert!(pair["chosen"].as_str().unwrap().starts_with("7 × 8 = 56,"));
    let (rows, _) = export(&db, &["--format", "reviews"]);
    let row = rows.iter().find(|r| r["case_id"] == id).unwrap();
    assert_eq!(row["parent_case_id"], pw1.id);
    assert_eq!(row["verdict"], "A");
    // --rejected a picks the other side; the chosen text from standard input.
    let mut child = formats_common::rubricate(&db)
        .args(["--reviewer", "ann", "derive", "pw-1", "--rejected", "a"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Fifty-six.\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let id2: i64 = stdout(&o).trim().parse().unwrap();
    let c2 = Store::open(&db).unwrap().get_case(id2).unwrap().unwrap();
    assert_eq!(
        (c2.answer_a.as_str(), c2.answer_b.as_str()),
        ("56", "Fifty-six.")
    );
    assert_eq!(c2.source_label, Some(Verdict::B));
}
