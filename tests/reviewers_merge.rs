//! Several reviewers on one database: `stats` and `export` count one reviewer's decisions
//! (`--reviewer`, default the login name, as `--help` says) or every reviewer's merged by
//! a named policy (`--all-reviewers --merge latest|majority|unanimous`), and say which in
//! their output. Real SQLite file, real binary.

mod formats_common;

use formats_common::{imported, jsonl, ok, rubricate, run, stderr, stdout};
use rubricate::domain::{Case, NewReview, ReviewAction, Verdict};
use rubricate::store::Store;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn decide(store: &Store, case: &Case, who: &str, v: Verdict) -> i64 {
    store
        .append_review(&NewReview {
            case_id: case.id,
            reviewer: who.into(),
            action: Some(ReviewAction::Override),
            verdict: Some(v),
            ..Default::default()
        })
        .unwrap()
}

/// pairwise.jsonl's six cases, decided by ann, bob and cid (in this order of time):
/// - pw-1: ann A, bob A                 → every policy: A
/// - pw-2: ann A, bob B                 → latest B; majority and unanimous: none
/// - pw-3: ann A, bob B, cid A          → latest A (cid), majority A, unanimous none
/// - pw-4: bob B                        → B
/// - pw-5: ann A, undone; bob B         → B (ann's undo leaves bob alone)
/// - pw-6: ann flags it, no decision
fn setup() -> (tempfile::TempDir, PathBuf, Vec<Case>) {
    let (dir, db, store, cases) = imported("pairwise.jsonl");
    use Verdict::{A, B};
    let c = |i: usize| &cases[i];
    decide(&store, c(0), "ann", A);
    decide(&store, c(1), "ann", A);
    decide(&store, c(2), "ann", A);
    let undone = decide(&store, c(4), "ann", A);
    store
        .append_review(&NewReview {
            case_id: c(4).id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Revert),
            reverts_review_id: Some(undone),
            ..Default::default()
        })
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: c(5).id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Flag),
            flagged: Some(true),
            ..Default::default()
        })
        .unwrap();
    decide(&store, c(0), "bob", A);
    decide(&store, c(1), "bob", B);
    decide(&store, c(2), "bob", B);
    decide(&store, c(3), "bob", B);
    decide(&store, c(4), "bob", B);
    decide(&store, c(2), "cid", A);
    drop(store);
    (dir, db, cases)
}

fn stats_json(db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["stats", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&stdout(&ok(db, &all))).unwrap()
}

fn counts(v: &Value) -> (u64, u64, u64, u64) {
    (
        v["verdicts"]["A"].as_u64().unwrap(),
        v["verdicts"]["B"].as_u64().unwrap(),
        v["reviewed"].as_u64().unwrap(),
        v["unresolved"].as_u64().unwrap(),
    )
}

#[test]
fn stats_per_reviewer_and_under_each_merge_policy() {
    let (_dir, db, _) = setup();
    // One reviewer: only their own decisions (ann's undo on pw-5 holds).
    let ann = stats_json(&db, &["--reviewer", "ann"]);
    assert_eq!(counts(&ann), (3, 0, 3, 0));
    assert_eq!(ann["reviewer"], "ann");
    assert_eq!(ann["merge"], Value::Null);
    assert_eq!(ann["flagged"], 1);
    let bob = stats_json(&db, &["--reviewer", "bob"]);
    assert_eq!(counts(&bob), (1, 4, 5, 0));
    // The per-reviewer tally is there whatever the selection.
    assert_eq!(bob["decisions_by_reviewer"]["ann"], 3);
    assert_eq!(bob["decisions_by_reviewer"]["bob"], 5);
    assert_eq!(bob["decisions_by_reviewer"]["cid"], 1);

    let latest = stats_json(&db, &["--all-reviewers", "--merge", "latest"]);
    // pw-1 A, pw-2 B, pw-3 A, pw-4 B, pw-5 B.
    assert_eq!(counts(&latest), (2, 3, 5, 0));
    assert_eq!(latest["merge"], "latest");
    assert_eq!(latest["reviewer"], Value::Null);
    // The default policy is majority, as --help says.
    let majority = stats_json(&db, &["--all-reviewers"]);
    // pw-1 A, pw-2 unresolved, pw-3 A (2 of 3), pw-4 B, pw-5 B.
    assert_eq!(counts(&majority), (2, 2, 4, 1));
    assert_eq!(majority["merge"], "majority");
    let unanimous = stats_json(&db, &["--all-reviewers", "--merge", "unanimous"]);
    assert_eq!(counts(&unanimous), (1, 2, 3, 2));
    // Flags merge as "any reviewer's flag".
    assert_eq!(unanimous["flagged"], 1);

    // The text output says whose decisions and which policy, first thing.
    let text = stdout(&ok(
        &db,
        &["stats", "--all-reviewers", "--merge", "unanimous"],
    ));
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("decisions of all reviewers (3), merged by unanimous"),
        "{text}"
    );
    assert!(text.contains("unresolved"), "{text}");
    let text = stdout(&ok(&db, &["--reviewer", "bob", "stats"]));
    assert!(text.starts_with("decisions of reviewer bob\n"), "{text}");
    assert!(
        text.contains("other reviewers not counted: ann (3), cid (1)"),
        "{text}"
    );
}

#[test]
fn default_reviewer_is_the_login_name_and_says_what_to_do() {
    let (_dir, db, _) = setup();
    // No --reviewer and no RUBRICATE_REVIEWER: the login name, who decided nothing here.
    let login = whoami::username().unwrap_or_else(|_| "reviewer".into());
    let v = stats_json(&db, &[]);
    assert_eq!(v["reviewer"], login.as_str());
    assert_eq!(counts(&v), (0, 0, 0, 0));
    let text = stdout(&ok(&db, &["stats"]));
    assert!(
        text.contains(&format!("reviewer {login} has no decisions")),
        "{text}"
    );
    assert!(text.contains("--all-reviewers"), "{text}");
    // The environment names a reviewer too.
    let o = rubricate(&db)
        .env("RUBRICATE_REVIEWER", "cid")
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(counts(&v), (1, 0, 1, 0));
    // ... and --all-reviewers overrides the environment's reviewer, not a flag's.
    let o = rubricate(&db)
        .env("RUBRICATE_REVIEWER", "cid")
        .args(["stats", "--json", "--all-reviewers"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["merge"], "majority");
    let o = run(&db, &["--reviewer", "ann", "stats", "--all-reviewers"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("give one"), "{}", stderr(&o));
    // --merge without --all-reviewers is refused by the parser.
    let o = run(&db, &["stats", "--merge", "latest"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--all-reviewers"), "{}", stderr(&o));
}

/// Which case each DPO record came from, and the letter chosen.
fn chosen(records: &[Value], cases: &[Case]) -> Vec<(usize, Verdict)> {
    let mut out: Vec<(usize, Verdict)> = records
        .iter()
        .map(|r| {
            let chosen = r["chosen"].as_str().unwrap();
            let i = cases
                .iter()
                .position(|c| c.answer_a == chosen || c.answer_b == chosen)
                .unwrap();
            let v = if cases[i].answer_a == chosen {
                Verdict::A
            } else {
                Verdict::B
            };
            (i, v)
        })
        .collect();
    out.sort_by_key(|(i, _)| *i);
    out
}

#[test]
fn export_follows_the_policy_and_names_it() {
    let (_dir, db, cases) = setup();
    use Verdict::{A, B};
    let export = |args: &[&str]| {
        let mut all = vec!["export", "--format", "dpo"];
        all.extend_from_slice(args);
        let o = ok(&db, &all);
        (chosen(&jsonl(&stdout(&o)), &cases), stderr(&o))
    };
    let (recs, err) = export(&["--all-reviewers", "--merge", "latest"]);
    assert_eq!(recs, vec![(0, A), (1, B), (2, A), (3, B), (4, B)]);
    assert!(err.contains("(all reviewers, merged by latest)"), "{err}");
    let (recs, err) = export(&["--all-reviewers"]);
    assert_eq!(recs, vec![(0, A), (2, A), (3, B), (4, B)]);
    assert!(err.contains("(all reviewers, merged by majority)"), "{err}");
    assert!(err.contains("no majority: 1"), "{err}");
    let (recs, err) = export(&["--all-reviewers", "--merge", "unanimous"]);
    assert_eq!(recs, vec![(0, A), (3, B), (4, B)]);
    assert!(err.contains("reviewers disagree: 2"), "{err}");
    let (recs, err) = export(&["--reviewer", "ann"]);
    assert_eq!(recs, vec![(0, A), (1, A), (2, A)]);
    assert!(err.contains("(reviewer ann)"), "{err}");
    // The login name decided nothing: an empty export that says why and what to do.
    let (recs, err) = export(&[]);
    assert!(recs.is_empty());
    assert!(err.contains("has no decisions here"), "{err}");
    assert!(err.contains("ann (3), bob (5), cid (1)"), "{err}");

    // The reviews format: one reviewer's rows, or every reviewer's (no merging there).
    let rows = |args: &[&str]| {
        let mut all = vec!["export", "--format", "reviews"];
        all.extend_from_slice(args);
        jsonl(&stdout(&ok(&db, &all))).len()
    };
    assert_eq!(rows(&["--reviewer", "bob"]), 5);
    assert_eq!(rows(&["--all-reviewers"]), 12);
}

#[test]
fn stats_count_the_decisions_made_blind() {
    let (_dir, db, store, cases) = imported("pairwise.jsonl");
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    for (i, blind) in [Some(true), Some(false), None, Some(true)]
        .into_iter()
        .enumerate()
    {
        store
            .append_review(&NewReview {
                case_id: ids[i],
                reviewer: "ann".into(),
                action: Some(ReviewAction::Decide),
                verdict: Some(Verdict::A),
                blind,
                ..Default::default()
            })
            .unwrap();
    }
    // The last blind decision is undone: only decisions in force count.
    store.undo_last(ids[3], "ann").unwrap();
    drop(store);
    let v = stats_json(&db, &["--reviewer", "ann"]);
    assert_eq!(
        (v["reviewed"].as_u64(), v["blind_decisions"].as_u64()),
        (Some(3), Some(1))
    );
    let text = stdout(&ok(&db, &["--reviewer", "ann", "stats"]));
    assert!(text.contains("(1 made blind)"), "{text}");
}
