//! The runtime's effects against a real (in-memory) database, without a terminal or a
//! model: keys go through `run::dispatch`, which applies `update` and carries out its
//! effects with `run::Edge`, exactly as the event loop does.

mod tui_support;

use crossterm::event::KeyCode;
use rubricate::domain::{ReviewAction, Verdict};
use rubricate::judge::Event;
use rubricate::store::{CaseFilter, Store};
use rubricate::tui::run::{Edge, dispatch};
use rubricate::tui::state::{App, Msg};
use tui_support::{code, ctrl, key, render, settings};

fn start() -> (App, Edge<'static>) {
    let mut app = App::new(settings(), std::time::Instant::now());
    app.size = (160, 48);
    let mut edge = Edge {
        store: Store::open_in_memory().unwrap(),
        judge: None,
        reviewer: "alice".into(),
        source: None,
        narrow: Default::default(),
        writer: None,
        settings_file: None,
    };
    for fx in app.init() {
        if let Some(m) = edge.execute(fx) {
            dispatch(&mut app, &mut edge, m);
        }
    }
    (app, edge)
}

fn press(app: &mut App, edge: &mut Edge, msgs: impl IntoIterator<Item = Msg>) {
    for m in msgs {
        dispatch(app, edge, m);
    }
}

#[test]
fn a_session_without_a_model_writes_every_decision_to_the_database() {
    let (mut app, mut edge) = start();
    assert_eq!(app.total_cases, Some(0));
    assert!(render(&mut app, 80, 24).contains("This database has no cases yet"));

    press(&mut app, &mut edge, [key('i')]);
    assert_eq!(app.queue.len(), 34);
    assert_eq!(app.current_id(), Some(1));
    assert!(
        app.case
            .as_ref()
            .unwrap()
            .case
            .last_user_text()
            .contains("quit my stressful job")
    );
    press(
        &mut app,
        &mut edge,
        [Msg::Judge(Event::Unavailable("no model file".into()))],
    );

    // A decision is a committed row, then the next case opens.
    press(&mut app, &mut edge, [key('2')]);
    assert_eq!(app.current_id(), Some(2));
    let rows = edge.store.reviews_for_case(1, "alice").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, ReviewAction::Decide);
    assert_eq!(rows[0].verdict, Some(Verdict::B));
    assert!(rows[0].seconds_spent.is_some());
    assert_eq!(app.queue[0].decided, Some(Verdict::B));

    // Back, undo (a revert row), flag.
    press(&mut app, &mut edge, [key('k'), key('u'), key('f')]);
    let state = edge.store.review_state(1, "alice").unwrap();
    assert_eq!(state.decision, None);
    assert!(state.flagged);
    let rows = edge.store.reviews_for_case(1, "alice").unwrap();
    assert_eq!(
        rows.iter().map(|r| r.action).collect::<Vec<_>>(),
        [
            ReviewAction::Decide,
            ReviewAction::Revert,
            ReviewAction::Flag
        ]
    );
    assert_eq!(rows[1].reverts_review_id, Some(rows[0].id));
    assert!(app.queue[0].flagged && app.queue[0].decided.is_none());

    // A hand-written rubric is kept in the rubric library at once.
    press(&mut app, &mut edge, [key('e')]);
    press(&mut app, &mut edge, "1. Safe".chars().map(key));
    press(&mut app, &mut edge, [ctrl('s')]);
    let kept = edge.store.latest_rubric("case-1").unwrap().unwrap();
    assert_eq!(kept.body, "1. Safe");
    // ... and goes into the decision row with the verdict.
    press(&mut app, &mut edge, [key('1')]);
    let state = edge.store.review_state(1, "alice").unwrap();
    assert_eq!(state.verdict(), Some(Verdict::A));
    assert_eq!(
        state.decision.unwrap().rubric.as_deref(),
        Some("1. Safe"),
        "the kept rubric is part of the decision"
    );

    // Search jumps to the case that mentions Canberra.
    press(&mut app, &mut edge, [key('/')]);
    press(&mut app, &mut edge, "canberra".chars().map(key));
    press(&mut app, &mut edge, [code(KeyCode::Enter)]);
    assert!(
        app.case
            .as_ref()
            .unwrap()
            .case
            .answer_a
            .to_lowercase()
            .contains("canberra")
            || app
                .case
                .as_ref()
                .unwrap()
                .case
                .answer_b
                .to_lowercase()
                .contains("canberra")
    );

    // Statistics come from crate::stats.
    press(&mut app, &mut edge, [key('S')]);
    let stats = app.stats.as_ref().expect("statistics loaded");
    assert_eq!(stats.cases, 34);
    assert_eq!(stats.reviewed, 1);
    assert_eq!(stats.flagged, 1);
    assert!(render(&mut app, 160, 48).contains("Length bias"));
    press(&mut app, &mut edge, [code(KeyCode::Esc)]);

    // Another filter keeps the open case.
    let open = app.current_id();
    press(&mut app, &mut edge, [key('F')]);
    assert_eq!(app.filter, CaseFilter::All);
    assert_eq!(app.current_id(), open);
    press(&mut app, &mut edge, [key('F'), key('F')]);
    assert_eq!(app.filter, CaseFilter::Flagged);
    assert_eq!(app.queue.iter().map(|q| q.id).collect::<Vec<_>>(), [1]);
}
