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

/// A run where the judge is right on `right` of `n` cases (all of category "c"), one order.
fn eval_numbers(right: usize, n: usize) -> serde_json::Value {
    use rubricate::eval::{EvalItem, JudgedOrder, compute};
    let items: Vec<EvalItem> = (0..n)
        .map(|i| EvalItem {
            category: Some("c".into()),
            label: Some(Verdict::A),
            len_a: 10,
            len_b: 10,
            original: Some(JudgedOrder {
                verdict: Some(if i < right { Verdict::A } else { Verdict::B }),
                probs: None,
                parse_ok: true,
                ms: Some(1),
            }),
            ..Default::default()
        })
        .collect();
    serde_json::to_value(compute(&items)).unwrap()
}

#[test]
fn the_judge_pane_shows_the_eval_run_of_the_loaded_profile_not_of_the_model() {
    use rubricate::judge::{JudgeStamp, ModelInfo};
    use rubricate::store::{JudgeIdentity, NewEvalRun};
    let (mut app, mut edge) = start();
    let identity = |profile: &str, hash: &str| JudgeIdentity {
        model_file: "m.gguf".into(),
        model_sha256: "f00d".into(),
        template_version: "t1".into(),
        backend: Some("llama.cpp".into()),
        profile: Some(profile.into()),
        profile_hash: Some(hash.into()),
        server_model: None,
    };
    let store_run = |edge: &mut Edge, judge: JudgeIdentity, right: usize| {
        edge.store
            .insert_eval_run(&NewEvalRun {
                judge,
                rubric: None,
                dataset: "source bench".into(),
                both_orders: false,
                n: 40,
                numbers: eval_numbers(right, 40),
            })
            .unwrap()
    };
    // Same model file: rubricate's run first (90 %), rm-r1's later (50 %).
    let rubricate_run = store_run(&mut edge, identity("rubricate", "aaaa"), 36);
    let rm_r1_run = store_run(&mut edge, identity("rm-r1", "bbbb"), 20);
    // The same profile name with another hash is another judge (an edited profile).
    store_run(&mut edge, identity("rubricate", "cccc"), 40);
    let info = |profile: &str, hash: &str| ModelInfo {
        file_name: "m.gguf".into(),
        sha256: "f00d".into(),
        stamp: Box::new(JudgeStamp {
            template_version: "t1".into(),
            backend: "llama.cpp".into(),
            profile: Some(profile.into()),
            profile_hash: Some(hash.into()),
            server_model: None,
        }),
        ..Default::default()
    };

    press(
        &mut app,
        &mut edge,
        [Msg::Judge(Event::Ready(info("rubricate", "aaaa")))],
    );
    assert_eq!(
        app.judge_eval.as_ref().map(|e| e.run_id),
        Some(rubricate_run)
    );
    press(
        &mut app,
        &mut edge,
        [Msg::Judge(Event::Ready(info("rm-r1", "bbbb")))],
    );
    assert_eq!(app.judge_eval.as_ref().map(|e| e.run_id), Some(rm_r1_run));
    // A server judge of the same name, or a profile never measured: no figures at all.
    let mut remote = info("rm-r1", "bbbb");
    remote.stamp.backend = "openai".into();
    remote.stamp.server_model = Some("m".into());
    press(&mut app, &mut edge, [Msg::Judge(Event::Ready(remote))]);
    assert!(app.judge_eval.is_none(), "{:?}", app.judge_eval);
    press(
        &mut app,
        &mut edge,
        [Msg::Judge(Event::Ready(info("mt-bench-pair", "dddd")))],
    );
    assert!(app.judge_eval.is_none());
}

#[test]
fn c_narrows_the_queue_to_each_category_through_the_command_line_selection() {
    use rubricate::domain::{Message, NewCase};
    let (mut app, mut edge) = start();
    app.filter = CaseFilter::All;
    for (i, cat) in [
        Some("Helpfulness/Code"),
        Some("chat"),
        None,
        Some("Helpfulness/Math"),
        Some("chat"),
    ]
    .into_iter()
    .enumerate()
    {
        edge.store
            .insert_case(&NewCase {
                source: "t".into(),
                source_id: Some(format!("c{i}")),
                prompt: vec![Message::user(format!("question {i}"))],
                answer_a: format!("a{i}"),
                answer_b: format!("b{i}"),
                source_label: Some(Verdict::A),
                meta: serde_json::Value::Null,
                category: cat.map(str::to_string),
                difficulty: (i == 1).then(|| "hard".to_string()),
            })
            .unwrap();
    }
    let ids = |app: &App| app.queue.iter().map(|q| q.id).collect::<Vec<_>>();
    let fx = app.load_queue(None);
    if let Some(m) = edge.execute(fx) {
        dispatch(&mut app, &mut edge, m);
    }
    assert_eq!(ids(&app), [1, 2, 3, 4, 5]);
    assert_eq!(app.queue[1].category.as_deref(), Some("chat"));
    assert_eq!(app.queue[1].difficulty.as_deref(), Some("hard"));
    // In name order: Helpfulness/Code, Helpfulness/Math, chat, then all again.
    press(&mut app, &mut edge, [key('C')]);
    assert_eq!(ids(&app), [1]);
    press(&mut app, &mut edge, [key('C')]);
    assert_eq!(ids(&app), [4]);
    press(&mut app, &mut edge, [key('C')]);
    assert_eq!(ids(&app), [2, 5]);
    assert!(render(&mut app, 160, 48).contains("Queue · all · chat"));
    press(&mut app, &mut edge, [key('C')]);
    assert_eq!(ids(&app), [1, 2, 3, 4, 5]);
    // A parent (as `review --category Helpfulness` gives it) selects what is below it.
    app.narrow.category = Some("Helpfulness".into());
    let fx = app.load_queue(None);
    if let Some(m) = edge.execute(fx) {
        dispatch(&mut app, &mut edge, m);
    }
    assert_eq!(ids(&app), [1, 4]);
    // A category no case has is an error naming the ones there are.
    app.narrow.category = Some("Help".into());
    let msg = edge.execute(app.load_queue(None));
    match msg {
        Some(Msg::Error(e)) => assert!(
            e.contains("no case has the category") && e.contains("chat (2)"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
}
