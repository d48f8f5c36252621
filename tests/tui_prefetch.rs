//! The workbench's prefetch on a second sequence (issue 11 item 7), through the pure
//! update: a worker that judges two cases at once (its Ready says `sequences: 2`) gets the
//! open case's job and a background one (the next case, or the open case's swapped order
//! when both orders are on); a worker that says nothing or 1 gets one job at a time.

mod tui_support;

use rubricate::domain::Verdict;
use rubricate::judge::{Event, JobId, JudgeMode, ModelInfo, Section};
use rubricate::tui::state::{Effect, Msg};
use rubricate::tui::update::update;
use tui_support::*;

fn ready_with(sequences: u32) -> Msg {
    Msg::Judge(Event::Ready(ModelInfo {
        sequences,
        ..model_info()
    }))
}

/// The jobs started, all full judgments: (job, case, swapped).
fn judges(fx: &[Effect]) -> Vec<(u64, i64, bool)> {
    tui_support::judges(fx)
        .into_iter()
        .map(|(job, case_id, mode, swapped)| {
            assert_eq!(mode, JudgeMode::Full);
            (job, case_id, swapped)
        })
        .collect()
}

fn prioritized(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Prioritize(j) => Some(j.0),
            _ => None,
        })
        .collect()
}

fn done(job: u64, case_id: i64, swapped: bool) -> Msg {
    Msg::Judge(Event::Done {
        job: JobId(job),
        judgment: Box::new(new_judgment(case_id, Verdict::A, swapped)),
    })
}

fn ids(a: &rubricate::tui::state::App) -> (Option<u64>, Option<u64>) {
    (
        a.job.as_ref().map(|j| j.id.0),
        a.background.as_ref().map(|j| j.id.0),
    )
}

#[test]
fn two_sequences_judge_the_open_case_and_the_next_one_at_once() {
    let mut a = open_app(3, None);
    let fx = update(&mut a, ready_with(2));
    // The open case first (the worker is told to put it first), the next case beside it.
    assert_eq!(judges(&fx), vec![(1, 1, false), (2, 2, false)]);
    assert_eq!(prioritized(&fx), vec![1]);
    assert_eq!(ids(&a), (Some(1), Some(2)));
    assert_eq!(a.visible_job().unwrap().id, JobId(1));

    // The background job's tokens are kept, not drawn; the open case's are drawn.
    a.dirty = false;
    let fx = feed(
        &mut a,
        [
            Msg::Judge(Event::Started { job: JobId(2) }),
            token(2, Section::Rubric, "next case's rubric"),
        ],
    );
    assert!(fx.is_empty(), "{fx:?}");
    assert!(!a.dirty, "a background token redrew the screen");
    assert_eq!(a.background.as_ref().unwrap().tokens, 1);
    update(&mut a, token(1, Section::Rubric, "open case's rubric"));
    assert!(a.dirty);
    let shown = a.visible_job().unwrap().pane.doc.as_str().to_string();
    assert!(shown.contains("open case's rubric") && !shown.contains("next case"));

    // The next case ends first: it is stored, and nothing else is wanted yet (case 3 is
    // not next until the reviewer moves on).
    let fx = update(&mut a, done(2, 2, false));
    assert!(matches!(fx[0], Effect::StoreJudgment(ref j) if j.case_id == 2));
    assert!(judges(&fx).is_empty());
    assert!(a.queue[1].judged);
    assert_eq!(ids(&a), (Some(1), None));
}

#[test]
fn moving_onto_the_prefetched_case_makes_its_job_the_visible_one_without_restarting() {
    let mut a = open_app(4, None);
    update(&mut a, ready_with(2));
    feed(
        &mut a,
        [
            Msg::Judge(Event::Started { job: JobId(1) }),
            Msg::Judge(Event::Started { job: JobId(2) }),
            token(1, Section::Rubric, "case one"),
            token(2, Section::Rubric, "criteria so far"),
        ],
    );
    let fx = update(&mut a, key('j'));
    // Case 1 is neither open nor next now: its job goes. Case 2's goes on, first now, and
    // case 3 (the new next one) starts beside it.
    assert_eq!(cancels(&fx), vec![1]);
    assert_eq!(judges(&fx), vec![(3, 3, false)]);
    assert_eq!(prioritized(&fx), vec![2]);
    assert_eq!(ids(&a), (Some(2), Some(3)));
    update(&mut a, loaded(case(2), None));
    let job = a.visible_job().expect("case 2's job streams on screen");
    assert_eq!(job.id, JobId(2));
    assert!(job.started.is_some());
    assert!(job.pane.doc.as_str().contains("criteria so far"));
    // It goes on streaming where it was; a late event of the cancelled job changes nothing.
    a.dirty = false;
    let fx = feed(
        &mut a,
        [token(1, Section::Rubric, " late"), done(1, 1, false)],
    );
    assert!(fx.is_empty(), "{fx:?}");
    assert!(!a.dirty);
    assert!(
        !a.queue[0].judged,
        "a cancelled job's result must not count"
    );
    update(&mut a, token(2, Section::Analysis, "B is wrong"));
    assert!(a.dirty);
    let text = a.visible_job().unwrap().pane.doc.as_str().to_string();
    assert!(text.contains("criteria so far") && text.contains("B is wrong"));
}

#[test]
fn jumping_away_cancels_both_jobs_and_going_back_one_keeps_them() {
    let mut a = open_app(6, None);
    update(&mut a, ready_with(2));
    assert_eq!(ids(&a), (Some(1), Some(2)));
    // Back from case 2 to case 1 would keep both; a jump to case 4 needs neither.
    a.cursor = 2;
    let fx = update(&mut a, code(crossterm::event::KeyCode::Down));
    assert_eq!(a.current_id(), Some(4));
    let mut gone = cancels(&fx);
    gone.sort();
    assert_eq!(gone, vec![1, 2]);
    assert_eq!(judges(&fx), vec![(3, 4, false), (4, 5, false)]);
    assert_eq!(prioritized(&fx), vec![3]);
    // Back to case 3: case 4 is its next case, so both jobs stay (case 4's moves to the
    // background; case 3, unjudged, would need a job, but two are running already).
    let fx = update(&mut a, key('k'));
    assert_eq!(cancels(&fx), vec![4], "case 5 is not needed from case 3");
    assert_eq!(judges(&fx), vec![(5, 3, false)]);
    assert_eq!(ids(&a), (Some(5), Some(3)));
    assert_eq!(prioritized(&fx), vec![5]);
}

#[test]
fn cancelling_stops_the_visible_job_and_leaves_the_prefetch() {
    let mut a = open_app(3, None);
    update(&mut a, ready_with(2));
    let fx = update(&mut a, key('c'));
    assert_eq!(cancels(&fx), vec![1]);
    // The prefetch of case 2 goes on, first now; case 1 is not judged on its own again.
    assert!(judges(&fx).is_empty(), "{fx:?}");
    assert_eq!(ids(&a), (Some(2), None));
    assert!(a.visible_job().is_none());
}

#[test]
fn both_orders_judges_the_swapped_order_beside_the_open_case() {
    let mut a = open_app(3, None);
    a.both_orders = true;
    let fx = update(&mut a, ready_with(2));
    assert_eq!(judges(&fx), vec![(1, 1, false), (2, 1, true)]);
    assert_eq!(ids(&a), (Some(1), Some(2)));
    // The swapped order can end first: it shows, and is compared once the own order ends.
    let fx = update(&mut a, done(2, 1, true));
    assert!(a.case.as_ref().unwrap().swap.is_some());
    // Now the next case is prefetched beside the open case's own order.
    assert_eq!(judges(&fx), vec![(3, 2, false)]);
    let mut swapped = judgment(8, 1, Verdict::A);
    swapped.j.swapped = true;
    update(&mut a, Msg::JudgmentStored(Box::new(swapped)));
    let msg = a.message.as_ref().unwrap().text.clone();
    assert!(msg.contains("compared when"), "{msg}");
    update(&mut a, done(1, 1, false));
    update(
        &mut a,
        Msg::JudgmentStored(Box::new(judgment(9, 1, Verdict::A))),
    );
    let msg = a.message.as_ref().unwrap().text.clone();
    assert_eq!(msg, "swap check: consistent (A both ways)");
}

#[test]
fn one_sequence_judges_one_case_at_a_time_as_before() {
    for ready in [ready(), ready_with(1)] {
        let mut a = open_app(3, None);
        let fx = update(&mut a, ready);
        assert_eq!(judges(&fx), vec![(1, 1, false)]);
        assert!(
            prioritized(&fx).is_empty(),
            "a one-job worker is told nothing"
        );
        assert_eq!(ids(&a), (Some(1), None));
        // The next case waits for the open one's judgment.
        let fx = update(&mut a, done(1, 1, false));
        assert_eq!(judges(&fx), vec![(2, 2, false)]);
        assert_eq!(ids(&a), (Some(2), None));
        // A new wanted job on the open case replaces a prefetch rather than joining it.
        let fx = update(&mut a, key('g'));
        assert_eq!(cancels(&fx), vec![2]);
        assert_eq!(judges(&fx), vec![(3, 1, false)]);
        assert_eq!(ids(&a), (Some(3), None));
    }
}

#[test]
fn a_rejudge_with_two_sequences_keeps_the_prefetch_in_the_background() {
    let mut a = open_app(3, Some(Verdict::A));
    let fx = update(&mut a, ready_with(2));
    // The open case is judged: only the next case is wanted.
    assert_eq!(judges(&fx), vec![(1, 2, false)]);
    assert_eq!(ids(&a), (Some(1), None));
    let fx = update(&mut a, key('g'));
    assert!(cancels(&fx).is_empty(), "{fx:?}");
    assert_eq!(judges(&fx), vec![(2, 1, false)]);
    assert_eq!(prioritized(&fx), vec![2]);
    assert_eq!(ids(&a), (Some(2), Some(1)));
}
