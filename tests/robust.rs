//! The position-robust verdict in the store: the filters (inconsistent, model wrong vs
//! label, low margin), `export --from model-robust` and the stats section, on a real
//! database file and through the real binary.

mod formats_common;

use formats_common::{imported, judgment, ok, stderr, stdout};
use rubricate::domain::{Case, Verdict};
use rubricate::domain::{MergePolicy, ReviewerSelection};
use rubricate::stats::compute;
use rubricate::store::{CaseFilter, Store};
use serde_json::Value;

type Probs = Option<(f64, f64, f64)>;

fn judge(store: &Store, case: &Case, v: Verdict, swapped: bool, p: Probs) {
    let mut j = judgment(case.id, Some(v), swapped);
    (j.p_a, j.p_b, j.p_tie) = match p {
        Some((a, b, t)) => (Some(a), Some(b), Some(t)),
        None => (None, None, None),
    };
    store.insert_judgment(&j).unwrap();
}

/// pairwise.jsonl: pw-1 A, pw-2 B, pw-3 tie, pw-4 tie, pw-5 both_bad, pw-6 unlabelled.
/// Verdicts and probabilities are in the case's own letters (the swapped ones mapped back).
fn setup() -> (tempfile::TempDir, std::path::PathBuf, Vec<Case>) {
    let (dir, db, store, cases) = imported("pairwise.jsonl");
    let c = |i: usize| &cases[i];
    use Verdict::*;
    // pw-1: pure position bias (first shown wins at 0.9 both times): robust tie, margin 0.
    judge(&store, c(0), A, false, Some((0.9, 0.1, 0.0)));
    judge(&store, c(0), B, true, Some((0.1, 0.9, 0.0)));
    // pw-2: A narrowly first, B clearly when swapped: robust B (0.675), margin 0.35.
    judge(&store, c(1), A, false, Some((0.55, 0.45, 0.0)));
    judge(&store, c(1), B, true, Some((0.1, 0.9, 0.0)));
    // pw-3: one order only, margin 0.3.
    judge(&store, c(2), A, false, Some((0.6, 0.3, 0.1)));
    // pw-4: no probabilities, both orders say A: robust A by agreement.
    judge(&store, c(3), A, false, None);
    judge(&store, c(3), A, true, None);
    // pw-5: no probabilities, the orders disagree: no robust verdict.
    judge(&store, c(4), A, false, None);
    judge(&store, c(4), B, true, None);
    // pw-6: one order, margin 0.1 (low).
    judge(&store, c(5), B, false, Some((0.45, 0.55, 0.0)));
    (dir, db, cases)
}

fn source_ids(store: &Store, filter: CaseFilter) -> Vec<String> {
    store
        .case_ids(filter, "alice", None)
        .unwrap()
        .into_iter()
        .map(|id| store.get_case(id).unwrap().unwrap().source_id.unwrap())
        .collect()
}

#[test]
fn filters_use_the_robust_verdict() {
    let (_dir, db, _cases) = setup();
    let store = Store::open(&db).unwrap();
    assert_eq!(
        source_ids(&store, CaseFilter::Inconsistent),
        ["pw-1", "pw-2", "pw-5"]
    );
    // pw-1 robust tie vs A; pw-3 A vs tie (one order); pw-4 A vs tie; pw-5 undecided.
    // pw-2 robust B = label B although the original order alone said A.
    assert_eq!(
        source_ids(&store, CaseFilter::ModelWrong),
        ["pw-1", "pw-3", "pw-4", "pw-5"]
    );
    assert_eq!(source_ids(&store, CaseFilter::LowMargin), ["pw-1", "pw-6"]);
    // The filters are reachable by F cycling and by name on the command line.
    let mut f = CaseFilter::Inconsistent;
    f = f.next();
    assert_eq!(f, CaseFilter::ModelWrong);
    assert_eq!(f.next(), CaseFilter::LowMargin);
    assert_eq!(f.next().next(), CaseFilter::Unreviewed);
}

#[test]
fn export_from_model_robust() {
    let (dir, db, cases) = setup();
    let out = dir.path().join("dpo.jsonl");
    let o = ok(
        &db,
        &[
            "export",
            "--format",
            "dpo",
            "--from",
            "model-robust",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let rows = formats_common::read_jsonl(&out);
    // pw-2 (robust B) and pw-4 (agreement A) only.
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["chosen"], Value::String(cases[1].answer_b.clone()));
    assert_eq!(
        rows[0]["rejected"],
        Value::String(cases[1].answer_a.clone())
    );
    assert_eq!(rows[1]["chosen"], Value::String(cases[3].answer_a.clone()));
    let err = stderr(&o);
    for reason in ["orders disagree", "not judged in both orders", "tie"] {
        assert!(err.contains(reason), "summary lacks {reason:?}: {err}");
    }
    // The robust verdict reuses the reasoning of the order that reached it: pw-2's swapped run.
    // No human approved that reasoning, so it is exported only when asked for (and marked).
    let sft = dir.path().join("sft.jsonl");
    ok(
        &db,
        &[
            "export",
            "--format",
            "sft",
            "--from",
            "model-robust",
            "--include-unapproved-reasoning",
            "--out",
            sft.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&sft).unwrap();
    assert!(
        text.contains(&format!("case {}, swapped true", cases[1].id)),
        "{text}"
    );
}

#[test]
fn stats_count_robust_verdicts() {
    let (_dir, db, _cases) = setup();
    let store = Store::open(&db).unwrap();
    let s = compute(&store, &ReviewerSelection::All(MergePolicy::Latest)).unwrap();
    let r = s.position_robust;
    assert_eq!(r.cases, 4);
    assert_eq!((r.verdicts.a, r.verdicts.b, r.verdicts.tie), (1, 1, 1));
    assert_eq!(r.undecided, 1);
    // pw-1 tie vs A, pw-2 B vs B, pw-4 A vs tie.
    assert_eq!((r.vs_label.agree, r.vs_label.n), (1, 3));
    assert_eq!(r.low_margin, 2);
    let o = ok(&db, &["stats", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["position_robust"]["cases"], 4);
    let text = stdout(&ok(&db, &["stats"]));
    assert!(text.contains("position-robust"), "{text}");
}
