//! The workbench's pure update: key sequences and judge events in, state and effects out.

mod tui_support;

use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
use rubricate::domain::{Judgment, ReviewAction, ReviewState, Verdict};
use rubricate::judge::{Event, JobId, JudgeMode, Section};
use rubricate::store::CaseFilter;
use rubricate::tui::state::{Effect, Mode, ModelState, Msg, QueueItem, RubricLink};
use rubricate::tui::update::update;
use tui_support::*;

fn loads(fx: &[Effect]) -> Vec<i64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::LoadCase(id) => Some(*id),
            _ => None,
        })
        .collect()
}

fn reviews(fx: &[Effect]) -> Vec<rubricate::domain::NewReview> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::AppendReview(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn saved(case_id: i64, action: ReviewAction, verdict: Verdict) -> Msg {
    let row = rubricate::domain::Review {
        id: 1,
        created_at: String::new(),
        case_id,
        reviewer: "alice".into(),
        action,
        verdict: Some(verdict),
        rubric: None,
        analysis: None,
        note: None,
        flagged: None,
        seconds_spent: None,
        judgment_id: None,
        reverts_review_id: None,
        reasoning: None,
        flag_reason: None,
        blind: None,
    };
    Msg::ReviewSaved {
        case_id,
        action,
        state: rubricate::domain::fold_reviews([&row]),
    }
}

#[test]
fn startup_loads_the_queue_then_the_first_case_then_judges_it() {
    let mut a = app();
    assert!(matches!(
        a.init().as_slice(),
        [Effect::LoadQueue {
            filter: CaseFilter::Unreviewed,
            keep: None,
            ..
        }]
    ));
    let fx = update(
        &mut a,
        Msg::QueueLoaded {
            items: vec![item(1), item(2)],
            total_cases: 2,
            keep: None,
        },
    );
    assert_eq!(loads(&fx), vec![1]);
    // The model is still loading: nothing to judge with yet.
    assert!(judges(&update(&mut a, loaded(case(1), None))).is_empty());
    let fx = update(&mut a, ready());
    assert_eq!(judges(&fx), vec![(1, 1, JudgeMode::Full, false)]);
    assert_eq!(a.current_id(), Some(1));
}

#[test]
fn tokens_stream_into_the_judge_pane_and_done_stores_then_prefetches_the_next_case() {
    let mut a = open_app(3, None);
    let fx = update(&mut a, ready());
    assert_eq!(judges(&fx), vec![(1, 1, JudgeMode::Full, false)]);
    feed(
        &mut a,
        [
            Msg::Judge(Event::Started { job: JobId(1) }),
            token(1, Section::Rubric, "1. Correct"),
            token(1, Section::Rubric, "ness"),
            token(1, Section::Analysis, "A is right."),
            token(1, Section::Verdict, "A"),
        ],
    );
    let job = a.visible_job().expect("job on the open case");
    assert_eq!(job.tokens, 4);
    assert_eq!(job.verdict_text, "A");
    assert!(job.pane.doc.as_str().contains("Rubric\n1. Correctness"));
    assert!(job.pane.doc.as_str().contains("Analysis\nA is right."));

    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(1),
            judgment: Box::new(new_judgment(1, Verdict::A, false)),
        }),
    );
    assert!(matches!(fx[0], Effect::StoreJudgment(ref j) if j.case_id == 1));
    // The open case is judged: the worker goes on with the next case while the reviewer reads.
    assert_eq!(judges(&fx), vec![(2, 2, JudgeMode::Full, false)]);
    assert!(a.queue[0].judged);
    update(
        &mut a,
        Msg::JudgmentStored(Box::new(judgment(7, 1, Verdict::A))),
    );
    assert_eq!(a.case.as_ref().unwrap().judgment.as_ref().unwrap().id, 7);
}

#[test]
fn stale_events_from_a_cancelled_job_are_ignored() {
    let mut a = open_app(5, None);
    update(&mut a, ready());
    feed(
        &mut a,
        [
            Msg::Judge(Event::Started { job: JobId(1) }),
            token(1, Section::Rubric, "first"),
        ],
    );
    // Jump two cases ahead (search, say): job 1 (case 1) is no longer needed.
    a.cursor = 2;
    let fx = update(&mut a, code(KeyCode::Down));
    assert_eq!(loads(&fx), vec![4]);
    assert_eq!(cancels(&fx), vec![1]);
    // Judging the new case starts at once, before it is even on screen.
    assert_eq!(judges(&fx), vec![(2, 4, JudgeMode::Full, false)]);
    assert!(judges(&update(&mut a, loaded(case(4), None))).is_empty());

    a.dirty = false;
    let late = feed(
        &mut a,
        [
            token(1, Section::Rubric, " late text"),
            Msg::Judge(Event::Done {
                job: JobId(1),
                judgment: Box::new(new_judgment(1, Verdict::B, false)),
            }),
            Msg::Judge(Event::Cancelled { job: JobId(1) }),
        ],
    );
    assert!(late.is_empty(), "stale events caused effects: {late:?}");
    assert!(!a.dirty, "stale events caused a redraw");
    let job = a.job.as_ref().unwrap();
    assert_eq!(job.id, JobId(2));
    assert!(!job.pane.doc.as_str().contains("late"));
    assert!(
        !a.queue[0].judged,
        "a cancelled job's result must not count"
    );
}

#[test]
fn moving_onto_the_prefetched_case_keeps_its_job_and_shows_the_stream() {
    let mut a = open_app(3, Some(Verdict::A));
    let fx = update(&mut a, ready());
    assert_eq!(judges(&fx), vec![(1, 2, JudgeMode::Full, false)]);
    feed(
        &mut a,
        [
            Msg::Judge(Event::Started { job: JobId(1) }),
            token(1, Section::Rubric, "criteria"),
        ],
    );
    assert!(a.visible_job().is_none());
    let fx = update(&mut a, key('j'));
    assert_eq!(loads(&fx), vec![2]);
    assert!(
        cancels(&fx).is_empty(),
        "prefetch of the case we move to was cancelled"
    );
    update(&mut a, loaded(case(2), None));
    assert_eq!(a.visible_job().unwrap().id, JobId(1));
    // Going back to case 1 keeps the job too: case 2 is the next one again.
    let fx = update(&mut a, key('k'));
    assert!(cancels(&fx).is_empty());
}

#[test]
fn accept_commits_the_models_verdict_with_provenance_and_opens_the_next_case() {
    let mut a = open_app(3, Some(Verdict::B));
    advance(&mut a, 12);
    let fx = update(&mut a, key('a'));
    let r = &reviews(&fx)[0];
    assert_eq!(r.action, Some(ReviewAction::Accept));
    assert_eq!(r.verdict, Some(Verdict::B));
    assert_eq!(r.reviewer, "alice");
    assert_eq!(r.judgment_id, Some(100));
    assert_eq!(r.rubric.as_deref(), Some("1. Correctness\n2. Clarity"));
    assert!(r.analysis.as_deref().unwrap().contains("B hedges"));
    assert_eq!(r.seconds_spent, Some(12.0));
    // The next case opens at once: the row carries its case id to the writer, and the
    // queue shows the decision as still being saved.
    assert_eq!(r.case_id, 1);
    assert_eq!(loads(&fx), vec![2]);
    assert_eq!(a.queue[0].decided, Some(Verdict::B));
    assert!(a.is_pending(1));
    let fx = update(&mut a, saved(1, ReviewAction::Accept, Verdict::B));
    assert!(loads(&fx).is_empty());
    assert!(!a.is_pending(1));
    assert_eq!(a.queue[0].decided, Some(Verdict::B));
}

#[test]
fn a_number_different_from_the_model_is_an_override_and_advance_can_be_off() {
    let mut a = open_app(3, Some(Verdict::A));
    a.auto_advance = false;
    let fx = update(&mut a, key('2'));
    let r = &reviews(&fx)[0];
    assert_eq!(r.action, Some(ReviewAction::Override));
    assert_eq!(r.verdict, Some(Verdict::B));
    let fx = update(&mut a, saved(1, ReviewAction::Override, Verdict::B));
    assert!(loads(&fx).is_empty());
    assert_eq!(a.current_id(), Some(1));
    // Both bad is a human-only verdict.
    let fx = update(&mut a, key('4'));
    assert_eq!(reviews(&fx)[0].verdict, Some(Verdict::BothBad));
}

#[test]
fn deciding_without_a_model_judgment_works() {
    let mut a = open_app(2, None);
    update(
        &mut a,
        Msg::Judge(Event::Unavailable("model file missing".into())),
    );
    assert!(matches!(a.model, ModelState::Unavailable(_)));
    assert!(judges(&update(&mut a, key('g'))).is_empty());
    let fx = update(&mut a, key('3'));
    let r = &reviews(&fx)[0];
    assert_eq!(r.action, Some(ReviewAction::Decide));
    assert_eq!(r.verdict, Some(Verdict::Tie));
    assert_eq!(r.judgment_id, None);
    // `a` has nothing to accept.
    assert!(reviews(&update(&mut a, key('a'))).is_empty());
}

#[test]
fn edit_rubric_keep_rejudge_and_decide_records_an_edit() {
    let mut a = open_app(2, Some(Verdict::A));
    update(&mut a, ready());
    let fx = update(&mut a, key('e'));
    assert!(fx.is_empty());
    assert!(matches!(a.mode, Mode::Edit(_)));
    // Typing goes to the editor, not to the key bindings ('q' and 'a' are text here).
    let fx = feed(
        &mut a,
        [
            code(KeyCode::Enter),
            key('3'),
            key('.'),
            key(' '),
            key('q'),
            key('a'),
        ],
    );
    assert!(fx.is_empty());
    let fx = update(&mut a, ctrl('s'));
    let body = match &fx[..] {
        [Effect::SaveRubric { case_id: 1, body }] => body.clone(),
        other => panic!("expected SaveRubric, got {other:?}"),
    };
    assert_eq!(body, "1. Correctness\n2. Clarity\n3. qa");
    assert!(matches!(a.mode, Mode::Review));
    assert!(a.has_unsaved_edits());
    let shown = a.case.as_ref().unwrap().judge.doc.as_str().to_string();
    assert!(shown.contains("Rubric · edited by alice\n1. Correctness\n2. Clarity\n3. qa"));

    let fx = update(&mut a, key('R'));
    let j = judges(&fx);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].2, JudgeMode::RubricGiven(body.clone()));
    let job = j[0].0;
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(job),
            judgment: Box::new({
                let mut n = new_judgment(1, Verdict::A, false);
                n.rubric_given = true;
                n.rubric = Some(body.clone());
                n
            }),
        }),
    );
    // The reviewer's rubric is recorded as a library rubric (this case's), its version on
    // the judgment.
    match &fx[0] {
        Effect::StoreLinkedJudgment {
            rubric:
                RubricLink::Save {
                    name,
                    body: b,
                    case_id: 1,
                },
            ..
        } => assert_eq!((name.as_str(), b), ("case-1", &body)),
        other => panic!("expected StoreLinkedJudgment, got {other:?}"),
    }
    let mut stored: Judgment = judgment(101, 1, Verdict::A);
    stored.j.rubric_given = true;
    stored.j.rubric = Some(body.clone());
    update(&mut a, Msg::JudgmentStored(Box::new(stored)));

    // q asks first: the edit is not part of a decision yet.
    let fx = update(&mut a, key('q'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Quit)));
    assert!(matches!(a.mode, Mode::ConfirmQuit));
    update(&mut a, key('n'));
    assert!(matches!(a.mode, Mode::Review));

    let fx = update(&mut a, key('a'));
    let r = &reviews(&fx)[0];
    assert_eq!(r.action, Some(ReviewAction::Edit));
    assert_eq!(r.rubric.as_deref(), Some(body.as_str()));
    assert_eq!(r.judgment_id, Some(101));
    update(&mut a, saved(1, ReviewAction::Edit, Verdict::A));
    assert!(!a.has_unsaved_edits());
}

#[test]
fn esc_discards_an_edit() {
    let mut a = open_app(2, Some(Verdict::A));
    feed(&mut a, [key('E'), key('x')]);
    let fx = update(&mut a, code(KeyCode::Esc));
    assert!(fx.is_empty());
    assert!(!a.has_unsaved_edits());
    let fx = update(&mut a, key('q'));
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
    assert!(a.quit);
}

#[test]
fn undo_flag_and_note_are_rows_too() {
    let mut a = open_app(2, Some(Verdict::A));
    assert!(matches!(
        update(&mut a, key('u'))[..],
        [Effect::Undo { case_id: 1 }]
    ));
    let r = &reviews(&update(&mut a, key('f')))[0];
    assert_eq!(r.action, Some(ReviewAction::Flag));
    assert_eq!(r.flagged, Some(true));
    feed(&mut a, [key('n'), key('h'), key('i')]);
    let r = &reviews(&update(&mut a, ctrl('s')))[0];
    assert_eq!(r.action, Some(ReviewAction::Note));
    assert_eq!(r.note.as_deref(), Some("hi"));
    // A note never moves on, and is no unsaved edit.
    let fx = update(
        &mut a,
        Msg::ReviewSaved {
            case_id: 1,
            action: ReviewAction::Note,
            state: ReviewState::default(),
        },
    );
    assert!(loads(&fx).is_empty());
    assert!(!a.has_unsaved_edits());
}

#[test]
fn cancel_stops_the_job_and_the_case_is_not_judged_again_on_its_own() {
    let mut a = open_app(1, None);
    update(&mut a, ready());
    let fx = update(&mut a, key('c'));
    assert_eq!(cancels(&fx), vec![1]);
    assert!(judges(&fx).is_empty());
    assert!(a.job.is_none());
    assert!(judges(&update(&mut a, Msg::Tick)).is_empty());
    // g asks again explicitly.
    assert_eq!(judges(&update(&mut a, key('g'))).len(), 1);
}

#[test]
fn swap_check_reports_position_bias() {
    let mut a = open_app(1, Some(Verdict::A));
    update(&mut a, ready());
    let fx = update(&mut a, key('s'));
    assert_eq!(judges(&fx), vec![(1, 1, JudgeMode::Full, true)]);
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(1),
            judgment: Box::new(new_judgment(1, Verdict::B, true)),
        }),
    );
    assert!(matches!(fx[0], Effect::StoreJudgment(ref j) if j.swapped));
    let mut stored = judgment(5, 1, Verdict::B);
    stored.j.swapped = true;
    update(&mut a, Msg::JudgmentStored(Box::new(stored)));
    assert!(a.case.as_ref().unwrap().swap.is_some());
    assert!(a.message.as_ref().unwrap().text.contains("position bias"));
    // The original judgment stays the one on screen.
    assert_eq!(a.case.as_ref().unwrap().judgment.as_ref().unwrap().id, 100);
}

#[test]
fn filter_search_and_empty_database() {
    let mut a = open_app(4, None);
    let fx = update(&mut a, key('F'));
    assert!(matches!(
        fx[..],
        [Effect::LoadQueue {
            filter: CaseFilter::All,
            keep: Some(1),
            ..
        }]
    ));
    feed(&mut a, [key('/'), key('B'), key('e'), key('t'), key('x')]);
    update(&mut a, code(KeyCode::Backspace));
    let fx = update(&mut a, code(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::Search { query }] if query == "Bet"));
    let fx = update(
        &mut a,
        Msg::SearchResult {
            query: "Bet".into(),
            matches: vec![1, 3],
        },
    );
    assert_eq!(loads(&fx), vec![3]);
    update(&mut a, loaded(case(3), None));
    // Enter goes on to the next match, wrapping around.
    assert_eq!(loads(&update(&mut a, code(KeyCode::Enter))), vec![1]);

    let mut e = app();
    update(
        &mut e,
        Msg::QueueLoaded {
            items: Vec::<QueueItem>::new(),
            total_cases: 0,
            keep: None,
        },
    );
    assert!(matches!(
        update(&mut e, key('i'))[..],
        [Effect::ImportSample]
    ));
    // A second press while importing does nothing.
    assert!(update(&mut e, key('i')).is_empty());
    let fx = update(&mut e, Msg::Imported("34 cases added".into()));
    assert!(matches!(fx[..], [Effect::LoadQueue { .. }]));
}

#[test]
fn key_releases_are_ignored_and_quit_cancels_the_running_job() {
    let mut a = open_app(2, None);
    update(&mut a, ready());
    let mut release = key_ev(KeyCode::Char('2'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert!(update(&mut a, Msg::Key(release)).is_empty());
    let fx = update(&mut a, key('q'));
    assert_eq!(cancels(&fx), vec![1]);
    assert!(matches!(fx.last(), Some(Effect::Quit)));
    let fx = update(&mut app(), Msg::Terminate);
    assert!(matches!(fx[..], [Effect::Quit]));
}

#[test]
fn page_down_scrolls_the_focused_answer_and_tab_moves_focus() {
    let mut a = app();
    let mut c = case(1);
    c.answer_a = (0..500).map(|i| format!("line {i}\n")).collect();
    update(
        &mut a,
        Msg::QueueLoaded {
            items: vec![item(1)],
            total_cases: 1,
            keep: None,
        },
    );
    update(&mut a, loaded(c, None));
    assert_eq!(a.focus, rubricate::tui::state::Focus::AnswerA);
    update(&mut a, code(KeyCode::PageDown));
    let top = a.case.as_ref().unwrap().answer_a.top;
    assert!(top.line > 5, "PgDn moved only to {top:?}");
    update(&mut a, code(KeyCode::PageUp));
    assert_eq!(a.case.as_ref().unwrap().answer_a.top.line, 0);
    update(&mut a, code(KeyCode::Tab));
    assert_eq!(a.focus, rubricate::tui::state::Focus::AnswerB);
}

#[test]
fn a_busy_database_keeps_decisions_queued_in_order_and_quitting_asks() {
    let mut a = open_app(3, None);
    let fx = update(&mut a, key('1'));
    assert_eq!(reviews(&fx)[0].case_id, 1);
    assert_eq!(loads(&fx), vec![2]);
    update(
        &mut a,
        Msg::WriteWaiting {
            case_id: Some(1),
            what: "decision decide A".into(),
        },
    );
    assert!(a.pending.iter().all(|p| p.waiting));
    update(&mut a, loaded(case(2), None));
    let fx = update(&mut a, key('2'));
    assert_eq!(reviews(&fx)[0].case_id, 2);
    assert_eq!(reviews(&fx)[0].verdict, Some(Verdict::B));
    assert_eq!(a.pending.len(), 2);
    // The frame says so.
    let screen = render(&mut a, 160, 48);
    assert!(screen.contains("database busy"), "{screen}");
    // Quitting with writes in flight asks first.
    let fx = update(&mut a, key('q'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Quit)));
    assert!(matches!(a.mode, Mode::ConfirmQuit));
    assert!(render(&mut a, 160, 48).contains("not written yet (case 1, 2)"));
    update(&mut a, key('n'));
    // The first is written; the second fails for good and says so, naming the case.
    update(&mut a, saved(1, ReviewAction::Decide, Verdict::A));
    assert_eq!(a.pending.len(), 1);
    let fx = update(
        &mut a,
        Msg::WriteFailed {
            case_id: Some(2),
            review: true,
            what: "decision decide B".into(),
            error: "disk I/O error".into(),
        },
    );
    assert!(a.pending.is_empty());
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadQueue { .. })),
        "the queue marks are read again"
    );
    let m = a.message.as_ref().unwrap();
    assert!(
        m.text.contains("NOT saved") && m.text.contains("case 2"),
        "{}",
        m.text
    );
}

#[test]
fn undo_after_auto_advance_goes_back_and_walks_back() {
    let mut a = open_app(3, None);
    let fx = update(&mut a, key('1'));
    assert_eq!(loads(&fx), vec![2]);
    update(&mut a, saved(1, ReviewAction::Decide, Verdict::A));
    update(&mut a, loaded(case(2), None));
    update(&mut a, key('2'));
    update(&mut a, saved(2, ReviewAction::Decide, Verdict::B));
    update(&mut a, loaded(case(3), None));
    assert_eq!(a.current_id(), Some(3));
    // u undoes case 2's decision, going back to it.
    let fx = update(&mut a, key('u'));
    assert_eq!(loads(&fx), vec![2]);
    assert!(matches!(fx.last(), Some(Effect::Undo { case_id: 2 })));
    update(&mut a, loaded(case(2), None));
    // Again: case 1.
    let fx = update(&mut a, key('u'));
    assert_eq!(loads(&fx), vec![1]);
    assert!(matches!(fx.last(), Some(Effect::Undo { case_id: 1 })));
}

#[test]
fn a_decided_edit_is_shown_and_edited_again_after_reopening_and_r_needs_your_rubric() {
    use rubricate::domain::{ReasoningApproval, Review, fold_reviews};
    let mut a = open_app(2, Some(Verdict::A));
    update(&mut a, ready());
    // R with no rubric of the reviewer's own: it says so and fixes nothing.
    let fx = update(&mut a, key('R'));
    assert!(judges(&fx).is_empty());
    assert!(
        a.message
            .as_ref()
            .unwrap()
            .text
            .contains("no rubric of your own")
    );

    // Reopened later: the decision in force carries the reviewer's rubric and analysis.
    let row = Review {
        id: 7,
        created_at: String::new(),
        case_id: 1,
        reviewer: "alice".into(),
        action: ReviewAction::Edit,
        verdict: Some(Verdict::A),
        rubric: Some("1. Cites a source".into()),
        analysis: Some("Only A cites.".into()),
        note: Some("check the date".into()),
        flagged: None,
        seconds_spent: None,
        judgment_id: Some(100),
        reverts_review_id: None,
        reasoning: Some(ReasoningApproval::Own),
        flag_reason: None,
        blind: None,
    };
    let mut l = match loaded(case(1), Some(judgment(100, 1, Verdict::A))) {
        Msg::CaseLoaded(l) => l,
        _ => unreachable!(),
    };
    l.review = fold_reviews([&row]);
    update(&mut a, Msg::CaseLoaded(l));
    let shown = a.case.as_ref().unwrap().judge.doc.as_str().to_string();
    assert!(
        shown.contains("Rubric · edited by alice\n1. Cites a source"),
        "{shown}"
    );
    assert!(shown.contains("Analysis · edited by alice\nOnly A cites."));
    assert!(
        !shown.contains("Correctness"),
        "the model's rubric is not shown: {shown}"
    );
    // The editor opens on the reviewer's text, not the model's.
    update(&mut a, key('e'));
    match &a.mode {
        Mode::Edit(e) => assert_eq!(e.area.lines().join("\n"), "1. Cites a source"),
        m => panic!("{m:?}"),
    }
    // Keeping it unchanged keeps it; a decision stores it again, as an edit of the reviewer's.
    update(&mut a, ctrl('s'));
    let fx = update(&mut a, key('a'));
    let r = &reviews(&fx)[0];
    assert_eq!(r.rubric.as_deref(), Some("1. Cites a source"));
    assert_eq!(r.analysis.as_deref(), Some("Only A cites."));
    assert_eq!(r.action, Some(ReviewAction::Edit));
    // R uses the reviewer's rubric now that there is one.
    update(&mut a, key('k'));
    let mut l = match loaded(case(1), Some(judgment(100, 1, Verdict::A))) {
        Msg::CaseLoaded(l) => l,
        _ => unreachable!(),
    };
    l.review = fold_reviews([&row]);
    update(&mut a, Msg::CaseLoaded(l));
    let fx = update(&mut a, key('R'));
    assert_eq!(
        judges(&fx).last().map(|j| j.2.clone()),
        Some(JudgeMode::RubricGiven("1. Cites a source".into()))
    );
}

#[test]
fn blind_mode_hides_verdict_confidence_and_lengths_until_the_reviewer_decides() {
    let mut a = open_app(2, Some(Verdict::B));
    a.blind = true;
    a.auto_advance = false;
    update(&mut a, ready());
    let screen = render(&mut a, 160, 48);
    assert!(screen.contains("hidden until you decide"), "{screen}");
    assert!(!screen.contains("model verdict: B"), "{screen}");
    assert!(!screen.contains("confidence"), "{screen}");
    assert!(!screen.contains(" chars"), "{screen}");
    assert!(
        screen.contains("B hedges"),
        "the reasoning shows unless H is set"
    );
    // `a` cannot accept what the reviewer has not seen.
    assert!(reviews(&update(&mut a, key('a'))).is_empty());
    let fx = update(&mut a, key('1'));
    let r = &reviews(&fx)[0];
    assert_eq!(r.blind, Some(true));
    assert_eq!(r.action, Some(ReviewAction::Override));
    update(&mut a, saved(1, ReviewAction::Override, Verdict::A));
    let screen = render(&mut a, 160, 48);
    assert!(screen.contains("model verdict: B"), "{screen}");
    assert!(screen.contains(" chars"), "{screen}");
    // The second setting hides the reasoning as well.
    a.blind_reasoning = true;
    a.queue[1].judged = true;
    a.queue[1].model = Some(Verdict::A);
    a.job = None; // the prefetch of case 2 is not what this test is about
    update(&mut a, key('j'));
    update(&mut a, loaded(case(2), Some(judgment(101, 2, Verdict::A))));
    let screen = render(&mut a, 160, 48);
    assert!(!screen.contains("B hedges"), "{screen}");
    assert!(
        screen.contains("rubric and analysis are hidden"),
        "{screen}"
    );
}

#[test]
fn home_end_space_and_shift_j_scroll_the_focused_pane_with_a_true_position() {
    let mut a = open_app(2, None);
    let mut c = case(1);
    c.answer_a = (1..=400).map(|i| format!("line {i}\n")).collect();
    update(&mut a, loaded(c, None));
    let screen = render(&mut a, 160, 48);
    assert!(
        screen.contains("· 0%"),
        "a position before any scrolling: {screen}"
    );
    update(&mut a, code(KeyCode::End));
    let screen = render(&mut a, 160, 48);
    assert!(screen.contains("· 100%"), "{screen}");
    assert!(screen.contains("line 400"), "{screen}");
    update(&mut a, code(KeyCode::Home));
    assert!(render(&mut a, 160, 48).contains("line 1\u{20}"));
    update(&mut a, key(' '));
    let paged = render(&mut a, 160, 48);
    assert!(!paged.contains("│line 1 "), "{paged}");
    update(&mut a, key('b'));
    update(&mut a, key('J'));
    let s = render(&mut a, 160, 48);
    assert!(s.contains("line 4") && !s.contains("│line 3 "), "{s}");
    // The prompt fits: no position shown for it.
    assert!(!s.contains("Prompt · case 1 · "), "{s}");
}

#[test]
fn both_orders_judges_the_swapped_order_before_prefetching() {
    let mut a = open_app(3, None);
    a.both_orders = true;
    let fx = update(&mut a, ready());
    assert_eq!(judges(&fx), vec![(1, 1, JudgeMode::Full, false)]);
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(1),
            judgment: Box::new(new_judgment(1, Verdict::A, false)),
        }),
    );
    // Not stored yet: the swapped order waits for it, the next case does not.
    assert_eq!(judges(&fx), vec![(2, 2, JudgeMode::Full, false)]);
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(2),
            judgment: Box::new(new_judgment(2, Verdict::A, false)),
        }),
    );
    assert!(judges(&fx).is_empty());
    let fx = update(
        &mut a,
        Msg::JudgmentStored(Box::new(judgment(7, 1, Verdict::A))),
    );
    assert_eq!(judges(&fx), vec![(3, 1, JudgeMode::Full, true)]);
    // Once stored, nothing more for this case.
    let mut swapped = judgment(8, 1, Verdict::B);
    swapped.j.swapped = true;
    let fx = update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(3),
            judgment: Box::new(swapped.j.clone()),
        }),
    );
    assert!(judges(&fx).is_empty(), "{:?}", judges(&fx));
    let fx = update(&mut a, Msg::JudgmentStored(Box::new(swapped)));
    assert!(judges(&fx).is_empty());
    assert!(a.case.as_ref().unwrap().swap.is_some());
}

#[test]
fn without_both_orders_no_swap_is_started_on_its_own() {
    let mut a = open_app(1, Some(Verdict::A));
    let fx = update(&mut a, ready());
    assert!(judges(&fx).is_empty());
}

#[test]
fn category_key_cycles_each_category_then_all() {
    let mut a = open_app(4, None);
    let fx = update(&mut a, key('C'));
    assert!(
        matches!(fx[..], [Effect::LoadCategories { source: None }]),
        "{fx:?}"
    );
    let list = vec![("Chat".to_string(), 3), ("Safety".to_string(), 1)];
    let queue_category = |fx: &[Effect]| match fx {
        [Effect::LoadQueue { narrow, .. }] => narrow.category.clone(),
        other => panic!("expected one LoadQueue, got {other:?}"),
    };
    let fx = update(&mut a, Msg::Categories(list.clone()));
    assert_eq!(queue_category(&fx).as_deref(), Some("Chat"));
    assert_eq!(a.narrow.category.as_deref(), Some("Chat"));
    let text = &a.message.as_ref().unwrap().text;
    assert!(text.contains("Chat (3 cases; 1 of 2"), "{text}");
    let fx = update(&mut a, Msg::Categories(list.clone()));
    assert_eq!(queue_category(&fx).as_deref(), Some("Safety"));
    let fx = update(&mut a, Msg::Categories(list.clone()));
    assert_eq!(queue_category(&fx), None, "after the last: all categories");
    assert_eq!(a.narrow.category, None);
    // The filter key keeps the category, and so does every other narrowing.
    a.narrow.collection = Some("keep".into());
    update(&mut a, Msg::Categories(list.clone()));
    let fx = update(&mut a, key('F'));
    assert_eq!(queue_category(&fx).as_deref(), Some("Chat"));
    assert!(
        matches!(&fx[..], [Effect::LoadQueue { narrow, .. }] if narrow.collection.as_deref() == Some("keep"))
    );
    // A parent given with --category (not in the list) goes on at the first category.
    a.narrow.category = Some("Helpfulness".into());
    let fx = update(&mut a, Msg::Categories(list));
    assert_eq!(queue_category(&fx).as_deref(), Some("Chat"));
    // No categories at all: said so, and the queue is not reloaded for nothing.
    let mut b = open_app(2, None);
    let fx = update(&mut b, Msg::Categories(Vec::new()));
    assert!(fx.is_empty());
    assert!(
        b.message
            .as_ref()
            .unwrap()
            .text
            .contains("no case has a category")
    );
}

#[test]
fn queue_rows_show_category_and_difficulty() {
    let mut a = open_app(3, None);
    let mut items = vec![item(1), item(2), item(3)];
    items[0].category = Some("chat".into());
    items[0].difficulty = Some("hard".into());
    items[1].category = Some("Helpfulness/Code/Documentation".into());
    // Untrusted text: made visible, never sent to the terminal as is.
    items[2].category = Some("x\u{1b}[31m".into());
    a.narrow.category = Some("chat".into());
    update(
        &mut a,
        Msg::QueueLoaded {
            items,
            total_cases: 3,
            keep: Some(1),
        },
    );
    let screen = render(&mut a, 160, 48);
    // The queue pane is narrow here: after the source id, the tag takes a quarter of it.
    assert!(screen.contains("sample-001 chat·h… "), "{screen}");
    assert!(screen.contains("sample-002 Helpfu… "), "{screen}");
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert!(screen.contains("Queue · unreviewed · chat"), "{screen}");
}
