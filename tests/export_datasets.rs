//! Every export format loads with Hugging Face `datasets` and has the shape its trainer
//! reads (TRL's dataset-type rules, RM-R1's columns), checked by tests/python/check_exports.py.
//! The Python environment comes from scripts/setup.sh (pinned `datasets`, no torch).

mod formats_common;

use formats_common::{imported, judgment, ok};
use rubricate::domain::{NewReview, ReasoningApproval, ReviewAction, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The interpreter with `datasets` installed: `RUBRICATE_TEST_PYTHON`, else the venv that
/// scripts/setup.sh creates.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("RUBRICATE_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
    let p = cache.join("rubricate/py/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh (it installs the pinned `datasets` these checks load \
         exports with), or point RUBRICATE_TEST_PYTHON at a Python that has it",
        p.display()
    );
    p
}

fn check(files: &[(&str, &Path)]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_exports.py");
    let o = Command::new(python())
        .arg(script)
        .args(files.iter().map(|(f, p)| format!("{f}={}", p.display())))
        // Keep the datasets cache inside the test's own folder, and offline.
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_DATASETS_OFFLINE", "1")
        .env(
            "HF_DATASETS_CACHE",
            files[0].1.parent().unwrap().join("hf-cache"),
        )
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn every_export_loads_with_datasets_in_its_trainers_shape() {
    let (dir, db, store, cases) = imported("pairwise.jsonl");
    // Every case judged; decisions of every kind, so each format has rows and the
    // default trace exports hold approved and own reasoning only.
    for (n, c) in cases.iter().enumerate() {
        let v = if n % 2 == 0 { Verdict::A } else { Verdict::B };
        let j = store
            .insert_judgment(&judgment(c.id, Some(v), false))
            .unwrap();
        let jj = store.get_judgment(j).unwrap().unwrap().j;
        let (action, reasoning, rubric, analysis) = match n % 3 {
            0 => (
                ReviewAction::Accept,
                ReasoningApproval::Approved,
                jj.rubric,
                jj.analysis,
            ),
            1 => (
                ReviewAction::Edit,
                ReasoningApproval::Own,
                Some("1. Names the right author (weight 5)".to_string()),
                Some(format!("Answer {v} names the right author.")),
            ),
            _ => (
                ReviewAction::Accept,
                ReasoningApproval::VerdictOnly,
                jj.rubric,
                jj.analysis,
            ),
        };
        store
            .append_review(&NewReview {
                case_id: c.id,
                reviewer: "ann".into(),
                action: Some(action),
                verdict: Some(v),
                rubric,
                analysis,
                judgment_id: Some(j),
                reasoning: Some(reasoning),
                ..Default::default()
            })
            .unwrap();
    }
    store
        .add_revision(cases[0].id, Verdict::A, "A refined answer.", "ann", None)
        .unwrap();
    store
        .set_in_collection("gold", cases[1].id, true, "ann")
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: cases[1].id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Note),
            note: Some("kept for the gold set".into()),
            ..Default::default()
        })
        .unwrap();
    drop(store);

    let formats = [
        "dpo",
        "dpo-chat",
        "sft",
        "rm-r1-sft",
        "rm-r1-rl",
        "reviews",
        "judgments",
    ];
    let mut files = Vec::new();
    for f in formats {
        let out = dir.path().join(format!("{f}.jsonl"));
        ok(
            &db,
            &[
                "--reviewer",
                "ann",
                "export",
                "--format",
                f,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        files.push((f, out));
    }
    let refs: Vec<(&str, &Path)> = files.iter().map(|(f, p)| (*f, p.as_path())).collect();
    let (passed, text) = check(&refs);
    eprintln!("{text}");
    assert!(passed, "{text}");
    for f in formats {
        assert!(
            text.contains(&format!("ok {f}:")),
            "{f} not checked: {text}"
        );
    }
    assert!(
        text.contains("ok rm-r1-sft: ") && text.contains("prompt-completion"),
        "{text}"
    );

    // The checker catches what broke TRL before: RM-R1's own columns alone give
    // SFTTrainer nothing to read (its `KeyError: 'text'`).
    let bare = dir.path().join("bare.jsonl");
    std::fs::write(
        &bare,
        "{\"context_messages\": [{\"role\": \"user\", \"content\": \"q\"}], \"winner\": \"<answer>[[A]]</answer>\"}\n",
    )
    .unwrap();
    let (passed, text) = check(&[("rm-r1-sft", &bare)]);
    assert!(!passed, "{text}");
    assert!(text.contains("SFTTrainer finds none"), "{text}");

    // ... and a prompt in another layout than RM-R1's (as the old paraphrased `[Question]`).
    let msgs = serde_json::json!([
        {"role": "system", "content": "<type>Reasoning</type>"},
        {"role": "user", "content": "[Question]\nq"}
    ]);
    let winner = "<type>Chat</type>\n<answer>[[A]]</answer>";
    let row = serde_json::json!({
        "context_messages": msgs, "prompt": msgs, "winner": winner,
        "completion": [{"role": "assistant", "content": winner}],
        "reasoning": "approved", "reasoning_approved": true,
    });
    let other = dir.path().join("other.jsonl");
    std::fs::write(&other, format!("{row}\n")).unwrap();
    let (passed, text) = check(&[("rm-r1-sft", &other)]);
    assert!(!passed, "{text}");
    assert!(text.contains("the user turn must open with"), "{text}");
}
