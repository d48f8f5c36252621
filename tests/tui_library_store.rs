//! The store side of the rubric library browser, on a real SQLite file: reading the
//! library, planning a batch, the experiment lines, and the writes (a linked judgment,
//! a named save) as the workbench's writer performs them.

mod formats_common;

use formats_common::{imported, judgment};
use rubricate::domain::Verdict;
use rubricate::store::Store;
use rubricate::tui::library_io;
use rubricate::tui::state::{Msg, RubricLink};
use rubricate::tui::writer::{WriteOp, perform_inline};

fn setup() -> (tempfile::TempDir, Store, Vec<i64>) {
    let (dir, _db, store, cases) = imported("pairwise.jsonl");
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    (dir, store, ids)
}

#[test]
fn linked_judgments_record_the_version_and_r_reuses_an_unchanged_rubric() {
    let (_dir, mut store, ids) = setup();
    let c = ids[0];
    let op = |body: &str| WriteOp::LinkedJudgment {
        judgment: Box::new(judgment(c, Some(Verdict::A), false)),
        rubric: RubricLink::Save {
            name: format!("case-{c}"),
            body: body.into(),
            case_id: c,
        },
    };
    let stored = |m: Msg| match m {
        Msg::JudgmentStored(j) => *j,
        other => panic!("{other:?}"),
    };
    let j1 = stored(perform_inline(&mut store, "ann", &op("1. Exact")));
    let v1 = store
        .rubric_by_id(j1.library_rubric_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (v1.label(), v1.author.as_deref()),
        (format!("case-{c}@1"), Some("ann"))
    );
    // The same rubric again: the same version, no new one.
    let j2 = stored(perform_inline(&mut store, "ann", &op("1. Exact")));
    assert_eq!(j2.library_rubric_id, j1.library_rubric_id);
    let j3 = stored(perform_inline(&mut store, "ann", &op("1. Exact\n2. Brief")));
    let v2 = store
        .rubric_by_id(j3.library_rubric_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(v2.version, 2);
    // A library version applied from the browser.
    let named = store.save_rubric("math", "1. The product", None).unwrap();
    let j4 = stored(perform_inline(
        &mut store,
        "ann",
        &WriteOp::LinkedJudgment {
            judgment: Box::new(judgment(c, Some(Verdict::B), false)),
            rubric: RubricLink::Id(named.id),
        },
    ));
    assert_eq!(j4.library_rubric_id, Some(named.id));
    // Named rubrics first, the per-case ones after.
    let lib = library_io::read_library(&store).unwrap();
    let names: Vec<&str> = lib.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["math".to_string(), format!("case-{c}")]);
    assert_eq!(lib[1].versions.len(), 2);
    assert_eq!((lib[0].judgments, lib[1].judgments), (1, 3));
    // A named save from the browser.
    match perform_inline(
        &mut store,
        "ann",
        &WriteOp::LibraryRubric {
            name: "math".into(),
            body: "1. The product\n2. Shows work".into(),
            case_id: Some(c),
            note: None,
        },
    ) {
        Msg::LibrarySaved(r) => assert_eq!((r.label(), r.case_id), ("math@2".into(), Some(c))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn batch_skips_cases_judged_with_the_version_and_the_experiment_scores_both() {
    let (_dir, store, ids) = setup();
    let v1 = store.save_rubric("math", "1. Exact", None).unwrap();
    let v2 = store
        .save_rubric("math", "1. Exact\n2. Brief", None)
        .unwrap();
    // v1 judged every case A; v2 judged the first two B.
    for &c in &ids {
        store
            .insert_judgment_with_rubric(&judgment(c, Some(Verdict::A), false), Some(v1.id))
            .unwrap();
    }
    for &c in &ids[..2] {
        store
            .insert_judgment_with_rubric(&judgment(c, Some(Verdict::B), false), Some(v2.id))
            .unwrap();
    }
    let plan = library_io::plan_batch(&store, v2.id, ids.clone(), false).unwrap();
    assert_eq!(plan.label, "math@2");
    assert_eq!(
        plan.todo.iter().copied().collect::<Vec<_>>(),
        ids[2..].iter().map(|&c| (c, false)).collect::<Vec<_>>()
    );
    assert_eq!(plan.total, ids.len() - 2);
    // Both orders: every swapped order too (none is judged with v2 yet), the original
    // orders already judged still left out; once one is judged swapped, it is left out.
    store
        .insert_judgment_with_rubric(&judgment(ids[0], Some(Verdict::A), true), Some(v2.id))
        .unwrap();
    let plan = library_io::plan_batch(&store, v2.id, ids.clone(), true).unwrap();
    let mut want: Vec<(i64, bool)> = vec![(ids[1], true)];
    for &c in &ids[2..] {
        want.extend([(c, false), (c, true)]);
    }
    assert_eq!(plan.todo.iter().copied().collect::<Vec<_>>(), want);
    assert_eq!(plan.total, want.len());
    let lines = library_io::experiment(&store, [v1.id, v2.id], &ids, "ann").unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains(&format!("{} cases in the set", ids.len())),
        "{text}"
    );
    assert!(
        text.contains("verdict changed on 2 of 2 cases judged with both"),
        "{text}"
    );
    assert!(text.contains("math@1") && text.contains("math@2"), "{text}");
}

#[test]
fn statistics_compare_the_two_newest_judging_versions_of_each_named_rubric() {
    let (_dir, store, ids) = setup();
    let v1 = store.save_rubric("math", "1. Exact", None).unwrap();
    let v2 = store
        .save_rubric("math", "1. Exact\n2. Brief", None)
        .unwrap();
    // v3 never judged anything: the comparison stays v1 → v2.
    store.save_rubric("math", "1. Brief", None).unwrap();
    // A per-case rubric is no set to compare over.
    let c1 = store
        .save_rubric(&format!("case-{}", ids[0]), "x", None)
        .unwrap();
    let c2 = store
        .save_rubric(&format!("case-{}", ids[0]), "y", None)
        .unwrap();
    for (r, v) in [
        (&v1, Verdict::A),
        (&v2, Verdict::B),
        (&c1, Verdict::A),
        (&c2, Verdict::B),
    ] {
        store
            .insert_judgment_with_rubric(&judgment(ids[0], Some(v), false), Some(r.id))
            .unwrap();
    }
    store
        .insert_judgment_with_rubric(&judgment(ids[1], Some(Verdict::A), false), Some(v1.id))
        .unwrap();
    let e = rubricate::rubric_experiment::latest_experiments(&store, Some("ann")).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].cases, 2);
    let line = rubricate::rubric_experiment::summary_line(&e[0]);
    assert!(line.starts_with("math@1 → math@2: "), "{line}");
    assert!(line.ends_with("changed 1 of 1"), "{line}");
}
