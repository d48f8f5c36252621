//! `rubricate stats`: counts, verdicts, agreement with Cohen's kappa, swap consistency,
//! length bias, flags.

mod formats_common;

use formats_common::{imported, judgment, ok, stdout};
use rubricate::domain::{Case, MergePolicy, NewReview, ReviewAction, ReviewerSelection, Verdict};
use rubricate::stats::compute;
use rubricate::store::Store;
use serde_json::Value;

fn review(
    store: &Store,
    case: &Case,
    reviewer: &str,
    action: ReviewAction,
    verdict: Option<Verdict>,
) {
    store
        .append_review(&NewReview {
            case_id: case.id,
            reviewer: reviewer.into(),
            action: Some(action),
            verdict,
            flagged: (action == ReviewAction::Flag).then_some(true),
            ..Default::default()
        })
        .unwrap();
}

/// pairwise.jsonl: pw-1 A (56 vs 54), pw-2 B, pw-3 tie, pw-4 tie, pw-5 both_bad, pw-6 unlabelled.
fn setup() -> (tempfile::TempDir, std::path::PathBuf, Vec<Case>) {
    let (dir, db, _, cases) = imported("pairwise.jsonl");
    (dir, db, cases)
}

#[test]
fn counts_agreement_swap_and_length_bias() {
    let (_dir, db, cases) = setup();
    let store = Store::open(&db).unwrap();
    let c = |i: usize| &cases[i];
    // Model: original order on pw-1..pw-4, swap check on pw-1 (consistent) and pw-2 (not).
    store
        .insert_judgment(&judgment(c(0).id, Some(Verdict::A), false))
        .unwrap();
    store
        .insert_judgment(&judgment(c(1).id, Some(Verdict::A), false))
        .unwrap();
    store
        .insert_judgment(&judgment(c(2).id, Some(Verdict::Tie), false))
        .unwrap();
    store
        .insert_judgment(&judgment(c(3).id, None, false))
        .unwrap();
    store
        .insert_judgment(&judgment(c(0).id, Some(Verdict::A), true))
        .unwrap();
    store
        .insert_judgment(&judgment(c(1).id, Some(Verdict::B), true))
        .unwrap();
    // Humans: ann decides pw-1 A, pw-2 B, pw-3 tie, pw-5 both_bad and flags pw-6.
    review(&store, c(0), "ann", ReviewAction::Accept, Some(Verdict::A));
    review(
        &store,
        c(1),
        "ann",
        ReviewAction::Override,
        Some(Verdict::B),
    );
    review(
        &store,
        c(2),
        "ann",
        ReviewAction::Accept,
        Some(Verdict::Tie),
    );
    review(
        &store,
        c(4),
        "ann",
        ReviewAction::Override,
        Some(Verdict::BothBad),
    );
    review(&store, c(5), "ann", ReviewAction::Flag, None);
    // Bob later disagrees on pw-1 only.
    review(
        &store,
        c(0),
        "bob",
        ReviewAction::Override,
        Some(Verdict::B),
    );

    let s = compute(&store, &ReviewerSelection::One("ann".into())).unwrap();
    assert_eq!(
        (s.cases, s.judged, s.judgments, s.parse_failures),
        (6, 4, 6, 1)
    );
    assert_eq!((s.reviewed, s.flagged), (4, 1));
    assert_eq!(
        (
            s.verdicts.a,
            s.verdicts.b,
            s.verdicts.tie,
            s.verdicts.both_bad
        ),
        (1, 1, 1, 1)
    );
    // ann vs labels: pw-1 A=A, pw-2 B=B, pw-3 tie=tie, pw-5 both_bad=both_bad.
    let hl = s.agreement.human_vs_label;
    assert_eq!((hl.agree, hl.n), (4, 4));
    assert!((hl.kappa.unwrap() - 1.0).abs() < 1e-9);
    // ann vs model: pw-1 A=A, pw-2 B≠A, pw-3 tie=tie (pw-4's judgment did not parse).
    let hm = s.agreement.human_vs_model;
    assert_eq!((hm.agree, hm.n), (2, 3));
    // model vs labels: pw-1 agree, pw-2 disagree, pw-3 agree.
    let ml = s.agreement.model_vs_label;
    assert_eq!((ml.agree, ml.n), (2, 3));
    assert_eq!(
        (s.swap_consistency.consistent, s.swap_consistency.n),
        (1, 2)
    );
    // Length: pw-1 "56" vs "54" same length (ignored); pw-2 B is longer and won.
    assert_eq!(
        (s.length_bias.human.longer_wins, s.length_bias.human.n),
        (1, 1)
    );
    // Model: pw-2 picked A, the shorter one.
    assert_eq!(
        (s.length_bias.model.longer_wins, s.length_bias.model.n),
        (0, 1)
    );

    // Merged by `latest`, bob's later decision on pw-1 is the one in force.
    let all = compute(&store, &ReviewerSelection::All(MergePolicy::Latest)).unwrap();
    assert_eq!((all.verdicts.a, all.verdicts.b), (0, 2));
    assert_eq!(all.agreement.human_vs_label.agree, 3);
    assert_eq!(all.flagged, 1);
}

#[test]
fn json_output_has_the_documented_keys() {
    let (_dir, db, _) = setup();
    let o = ok(&db, &["stats", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in [
        "cases",
        "judged",
        "reviewed",
        "verdicts",
        "agreement",
        "swap_consistency",
        "length_bias",
        "flagged",
    ] {
        assert!(v.get(key).is_some(), "stats --json lacks `{key}`");
    }
    for pair in ["human_vs_label", "human_vs_model", "model_vs_label"] {
        for k in ["rate", "agree", "n", "kappa"] {
            assert!(
                v["agreement"][pair].get(k).is_some(),
                "agreement.{pair}.{k}"
            );
        }
    }
    assert_eq!(v["cases"], 6);
    assert_eq!(v["verdicts"]["both_bad"], 0);
    assert_eq!(v["label_verdicts"]["tie"], 2);

    let text = stdout(&ok(&db, &["stats"]));
    assert!(text.contains("human vs label"), "{text}");
    assert!(text.contains("A 1  B 1  tie 2  both bad 1"), "{text}");
}
