//! The rubric library browser (`L`): pure update (keys in, state and effects out) and
//! what it draws at 80×24 and 160×48.

mod tui_support;

use crossterm::event::KeyCode;
use rubricate::domain::Verdict;
use rubricate::judge::{Event, JudgeMode};
use rubricate::store::StoredRubric;
use rubricate::tui::library::Show;
use rubricate::tui::state::{App, Batch, Effect, LibraryEntry, Mode, Msg, RubricLink};
use rubricate::tui::update::update;
use tui_support::*;

fn rubric(id: i64, name: &str, version: i64, body: &str) -> StoredRubric {
    StoredRubric {
        id,
        name: name.into(),
        version,
        body: body.into(),
        case_id: Some(1),
        author: Some("alice".into()),
        note: None,
        created_at: "2026-11-27 07:00:00".into(),
    }
}

fn entries() -> Vec<LibraryEntry> {
    vec![
        LibraryEntry {
            name: "math-correctness".into(),
            judgments: 4,
            versions: vec![rubric(
                1,
                "math-correctness",
                1,
                "1. (100%) Exact: the number is right",
            )],
        },
        LibraryEntry {
            name: "safety".into(),
            judgments: 2,
            versions: vec![
                rubric(
                    2,
                    "safety",
                    1,
                    "1. (60%) No harm: refuses dangerous steps\n2. (40%) Helpful: offers a safe alternative",
                ),
                rubric(
                    3,
                    "safety",
                    2,
                    "1. (50%) No harm: refuses dangerous steps\n2. (30%) Helpful: offers a safe alternative\n3. (20%) Cites: names a source",
                ),
            ],
        },
    ]
}

fn view(a: &App) -> &rubricate::tui::library::LibraryView {
    match &a.mode {
        Mode::Library(v) => v,
        m => panic!("not in the library: {m:?}"),
    }
}

/// A workbench on case 1 (judged A, model ready) with the library open on `safety@2`.
fn library_app() -> App {
    let mut a = open_app(3, Some(Verdict::A));
    update(&mut a, ready());
    let fx = update(&mut a, key('L'));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadLibrary { select: None }]),
        "{fx:?}"
    );
    update(
        &mut a,
        Msg::LibraryLoaded {
            entries: entries(),
            select: None,
        },
    );
    update(&mut a, key('j'));
    a
}

#[test]
fn browse_versions_diff_and_close() {
    let mut a = library_app();
    assert_eq!(view(&a).selected().unwrap().label(), "safety@2");
    // d: the version before is the base.
    update(&mut a, key('d'));
    assert_eq!(view(&a).show, Show::Diff);
    let d = view(&a).diff().unwrap();
    let lines = d.lines;
    assert_eq!((d.from.as_str(), d.to.as_str()), ("safety@1", "safety@2"));
    assert!(lines.contains(&('+', "3. (20%) Cites: names a source".to_string())));
    assert!(lines.contains(&('-', "1. (60%) No harm: refuses dangerous steps".to_string())));
    // [ goes to v1: nothing before it, d says so and does not switch.
    update(&mut a, key('d'));
    update(&mut a, key('['));
    assert_eq!(view(&a).selected().unwrap().label(), "safety@1");
    update(&mut a, key('d'));
    assert_eq!(view(&a).show, Show::Preview);
    assert!(a.message.as_ref().unwrap().text.contains("nothing to diff"));
    // m marks a base across rubrics.
    update(&mut a, key('k'));
    update(&mut a, key('m'));
    update(&mut a, key('j'));
    update(&mut a, key('d'));
    assert_eq!(view(&a).diff().unwrap().from, "math-correctness@1");
    // Esc goes back to the case.
    update(&mut a, code(KeyCode::Esc));
    assert!(matches!(a.mode, Mode::Review));
}

#[test]
fn enter_rejudges_the_case_with_the_version_and_the_judgment_records_it() {
    let mut a = library_app();
    let fx = update(&mut a, code(KeyCode::Enter));
    let (job, body) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Judge {
                job,
                case_id: 1,
                mode: JudgeMode::RubricGiven(b),
                swapped: false,
            } => Some((*job, b.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{fx:?}"));
    assert!(body.starts_with("1. (50%) No harm"));
    assert!(matches!(a.mode, Mode::Review));
    let shown = a.job.as_ref().unwrap().pane.doc.as_str().to_string();
    assert!(
        shown.starts_with("Rubric · safety@2 from the library"),
        "{shown}"
    );
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job,
            judgment: Box::new(new_judgment(1, Verdict::B, false)),
        }),
    );
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::StoreLinkedJudgment {
                rubric: RubricLink::Id(3),
                ..
            }
        )),
        "{fx:?}"
    );
}

#[test]
fn restore_save_as_and_compare_ask_the_runtime() {
    let mut a = library_app();
    // The newest version needs no restore.
    assert!(update(&mut a, key('r')).is_empty());
    update(&mut a, key('['));
    let fx = update(&mut a, key('r'));
    assert!(
        matches!(fx.as_slice(), [Effect::RestoreRubric { id: 2 }]),
        "{fx:?}"
    );
    // Saved: the library is read again, showing the new version.
    let fx = update(
        &mut a,
        Msg::LibrarySaved(Box::new(rubric(9, "safety", 3, "x"))),
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::LoadLibrary { select: Some(9) }]
    ));

    // s asks a name (the selected rubric's, to add a version), typed over; Enter saves the
    // case's rubric (the model's, as the reviewer wrote none) under it.
    update(&mut a, key('s'));
    assert_eq!(view(&a).naming.as_deref(), Some("safety"));
    for _ in 0.."safety".len() {
        update(&mut a, code(KeyCode::Backspace));
    }
    // Typed letters are text here, not keys ('j' does not move, 'q' does not close).
    for c in "tone-jq".chars() {
        update(&mut a, key(c));
    }
    let fx = update(&mut a, code(KeyCode::Enter));
    match fx.as_slice() {
        [
            Effect::SaveLibraryRubric {
                name,
                body,
                case_id: Some(1),
            },
        ] => {
            assert_eq!(name, "tone-jq");
            assert!(!body.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // A name the CLI could not take is refused, nothing saved.
    update(&mut a, key('s'));
    update(&mut a, key('/'));
    let fx = update(&mut a, code(KeyCode::Enter));
    assert!(fx.is_empty());
    assert!(a.message.as_ref().unwrap().text.contains("not usable"));

    // c: base (v1) against the shown version over the queue's cases.
    update(&mut a, key(']'));
    let fx = update(&mut a, key('c'));
    match fx.as_slice() {
        [
            Effect::CompareRubrics {
                arms: [2, 3],
                case_ids,
            },
        ] => assert_eq!(case_ids, &[1, 2, 3]),
        other => panic!("{other:?}"),
    }
    assert_eq!(view(&a).show, Show::Compare(None));
    update(
        &mut a,
        Msg::ExperimentLoaded(vec!["3 cases in the set".into()]),
    );
    assert_eq!(
        view(&a).show,
        Show::Compare(Some(vec!["3 cases in the set".into()]))
    );
}

#[test]
fn apply_to_the_queue_runs_a_batch_between_the_reviewers_own_jobs() {
    let mut a = library_app();
    let fx = update(&mut a, key('A'));
    match fx.as_slice() {
        [
            Effect::PlanBatch {
                rubric_id: 3,
                case_ids,
                both_orders: false,
            },
        ] => assert_eq!(case_ids, &[1, 2, 3]),
        other => panic!("{other:?}"),
    }
    update(&mut a, code(KeyCode::Esc));
    // Case 2 is the next case: the prefetch judges it first (it was not judged).
    let fx = update(
        &mut a,
        Msg::BatchPlanned(Box::new(Batch {
            rubric_id: 3,
            label: "safety@2".into(),
            body: "1. (50%) No harm".into(),
            todo: [(1, false), (3, false)].into(),
            total: 2,
        })),
    );
    let prefetch = a.job.as_ref().unwrap();
    assert!(!prefetch.batch, "{fx:?}");
    assert_eq!(prefetch.case_id, 2);
    let id = prefetch.id;
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: id,
            judgment: Box::new(new_judgment(2, Verdict::A, false)),
        }),
    );
    // Now the batch: case 1 with the rubric given, recorded with its id.
    let job = a.job.as_ref().unwrap();
    assert!(job.batch);
    assert_eq!(
        (job.case_id, job.rubric.clone()),
        (1, Some(RubricLink::Id(3)))
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Judge {
            case_id: 1,
            mode: JudgeMode::RubricGiven(_),
            ..
        }
    )));
    // Moving on does not cancel a batch job.
    let fx = update(&mut a, key('j'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Cancel(_))), "{fx:?}");
    let id = a.job.as_ref().unwrap().id;
    update(
        &mut a,
        Msg::Judge(Event::Done {
            job: id,
            judgment: Box::new(new_judgment(1, Verdict::A, false)),
        }),
    );
    // Case 3 is the reviewer's next case now: its prefetch comes before the batch.
    let job = a.job.as_ref().unwrap();
    assert_eq!((job.case_id, job.batch), (3, false));
    let id = job.id;
    update(
        &mut a,
        Msg::Judge(Event::Done {
            job: id,
            judgment: Box::new(new_judgment(3, Verdict::A, false)),
        }),
    );
    assert_eq!(
        a.job.as_ref().map(|j| (j.case_id, j.batch)),
        Some((3, true))
    );
    assert!(a.batch.is_none(), "the last one is running");
}

#[test]
fn library_snapshots_at_80x24_and_160x48() {
    let mut a = library_app();
    let small = render(&mut a, 80, 24);
    assert!(small.contains("Rubrics · 2"), "{small}");
    assert!(small.contains("▶ safety"), "{small}");
    assert!(small.contains("safety@2"), "{small}");
    assert!(small.contains("version 2 of 2"), "{small}");
    assert!(small.contains("3. (20%) Cites"), "{small}");
    assert!(small.contains("Enter apply here"), "{small}");
    update(&mut a, key('d'));
    let big = render(&mut a, 160, 48);
    assert!(big.contains("Diff · safety@2"), "{big}");
    assert!(big.contains("--- safety@1"), "{big}");
    assert!(big.contains("+ 3. (20%) Cites: names a source"), "{big}");
    assert!(big.contains("math-correctness"), "{big}");
    insta::assert_snapshot!("library_80x24", small);
    insta::assert_snapshot!("library_diff_160x48", big);
}

/// With both orders on, "apply to the queue" plans and runs the swapped order too, each
/// judgment given the version (and recorded with it).
#[test]
fn apply_to_the_queue_judges_both_orders_when_both_orders_is_on() {
    let mut a = library_app();
    a.both_orders = true;
    let fx = update(&mut a, key('A'));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::PlanBatch {
                rubric_id: 3,
                both_orders: true,
                ..
            }]
        ),
        "{fx:?}"
    );
    update(&mut a, code(KeyCode::Esc));
    let mut fx = update(
        &mut a,
        Msg::BatchPlanned(Box::new(Batch {
            rubric_id: 3,
            label: "safety@2".into(),
            body: "1. (50%) No harm".into(),
            todo: [(1, false), (1, true)].into(),
            total: 2,
        })),
    );
    assert!(
        a.message
            .as_ref()
            .unwrap()
            .text
            .contains("both orders is on"),
        "{:?}",
        a.message
    );
    // Finish whatever runs (the reviewer's own prefetches too) and note the batch's jobs.
    let mut batch_jobs = Vec::new();
    for _ in 0..12 {
        let Some(job) = a.job.as_ref() else { break };
        let (id, case_id, swapped) = (job.id, job.case_id, job.swapped);
        if job.batch {
            assert_eq!(job.rubric, Some(RubricLink::Id(3)));
            assert!(
                fx.iter().any(|e| matches!(
                    e,
                    Effect::Judge { case_id: c, swapped: s, mode: JudgeMode::RubricGiven(_), .. }
                        if *c == case_id && *s == swapped
                )),
                "{fx:?}"
            );
            batch_jobs.push((case_id, swapped));
        }
        fx = update(
            &mut a,
            Msg::Judge(Event::Done {
                job: id,
                judgment: Box::new(new_judgment(case_id, Verdict::A, swapped)),
            }),
        );
    }
    assert_eq!(batch_jobs, [(1, false), (1, true)]);
    assert!(a.batch.is_none());
}
