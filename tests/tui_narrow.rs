//! Narrowing the queue in the workbench (`T` picker, `X` lifts): the pure state update
//! without a terminal, what the header and the picker draw (snapshots), and the same keys
//! against a real SQLite database through the runtime's effects.

mod tui_support;

use crossterm::event::KeyCode;
use rubricate::domain::{Message, NewCase};
use rubricate::store::{CaseFilter, Store};
use rubricate::tui::run::{Edge, dispatch};
use rubricate::tui::state::{App, Effect, Mode, Msg, NarrowKind, NarrowOption, QueueNarrowing};
use rubricate::tui::update::update;
use tui_support::*;

fn option(kind: NarrowKind, value: &str, cases: i64) -> NarrowOption {
    NarrowOption {
        kind,
        value: value.into(),
        cases,
    }
}

fn options() -> Vec<NarrowOption> {
    vec![
        option(NarrowKind::Collection, "gold", 2),
        option(NarrowKind::Collection, "hard-math", 5),
        option(NarrowKind::FlagReason, "reasoning contradicts verdict", 1),
        option(NarrowKind::Source, "rm-bench", 12),
        option(NarrowKind::Source, "sample", 34),
        option(NarrowKind::Category, "Chat", 3),
    ]
}

fn queued_narrowing(fx: &[Effect]) -> QueueNarrowing {
    match fx {
        [Effect::LoadQueue { narrow, .. }] => narrow.clone(),
        other => panic!("expected one LoadQueue, got {other:?}"),
    }
}

#[test]
fn the_picker_narrows_replaces_lifts_and_x_clears_everything() {
    let mut a = open_app(4, None);
    let fx = update(&mut a, key('T'));
    assert!(matches!(fx[..], [Effect::LoadNarrowOptions]), "{fx:?}");
    assert!(matches!(a.mode, Mode::Narrow(_)));
    // Enter before the options arrive narrows nothing.
    assert!(update(&mut a, code(KeyCode::Enter)).is_empty());
    assert!(matches!(a.mode, Mode::Narrow(_)));
    update(&mut a, Msg::NarrowOptions(options()));

    // The first option: collection gold.
    let fx = update(&mut a, code(KeyCode::Enter));
    assert_eq!(
        queued_narrowing(&fx),
        QueueNarrowing {
            collection: Some("gold".into()),
            ..Default::default()
        }
    );
    assert!(matches!(a.mode, Mode::Review));
    assert_eq!(a.narrow.collection.as_deref(), Some("gold"));

    // Another collection replaces it; a flag reason adds to it.
    feed(&mut a, [key('T'), Msg::NarrowOptions(options())]);
    let fx = feed(&mut a, [key('j'), code(KeyCode::Enter)]);
    assert_eq!(
        queued_narrowing(&fx).collection.as_deref(),
        Some("hard-math")
    );
    feed(&mut a, [key('T'), Msg::NarrowOptions(options())]);
    // The selection starts on the narrowing in force (hard-math, the second row).
    match &a.mode {
        Mode::Narrow(p) => assert_eq!(p.sel, 1),
        other => panic!("{other:?}"),
    }
    let fx = feed(&mut a, [key('j'), code(KeyCode::Enter)]);
    let n = queued_narrowing(&fx);
    assert_eq!(n.collection.as_deref(), Some("hard-math"));
    assert_eq!(
        n.flag_reason.as_deref(),
        Some("reasoning contradicts verdict")
    );
    // The source, then Enter on the one in force lifts it alone.
    feed(&mut a, [key('T'), Msg::NarrowOptions(options())]);
    let fx = feed(&mut a, [key('j'), key('j'), code(KeyCode::Enter)]);
    assert_eq!(queued_narrowing(&fx).source.as_deref(), Some("rm-bench"));
    feed(&mut a, [key('T'), Msg::NarrowOptions(options())]);
    match &a.mode {
        // The first narrowing in force in option order: hard-math.
        Mode::Narrow(p) => assert_eq!(p.sel, 1),
        other => panic!("{other:?}"),
    }
    let fx = feed(&mut a, [code(KeyCode::Enter)]);
    let n = queued_narrowing(&fx);
    assert_eq!(n.collection, None);
    assert_eq!(n.source.as_deref(), Some("rm-bench"));
    assert!(n.flag_reason.is_some());

    // Esc leaves the picker without touching the queue.
    let fx = feed(
        &mut a,
        [key('T'), Msg::NarrowOptions(options()), code(KeyCode::Esc)],
    );
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::LoadQueue { .. })),
        "{fx:?}"
    );
    assert!(matches!(a.mode, Mode::Review));

    // X lifts every narrowing at once (the filter stays).
    let fx = update(&mut a, key('X'));
    assert_eq!(queued_narrowing(&fx), QueueNarrowing::default());
    assert!(a.narrow.is_empty());
    assert_eq!(a.filter, CaseFilter::Unreviewed);
    // Nothing to lift: no reload, a word instead.
    assert!(update(&mut a, key('X')).is_empty());
    assert!(a.message.as_ref().unwrap().text.contains("not narrowed"));
    // X in the picker lifts them too.
    a.narrow.category = Some("Chat".into());
    let fx = feed(&mut a, [key('T'), Msg::NarrowOptions(options()), key('X')]);
    assert!(fx.iter().any(|f| matches!(
        f,
        Effect::LoadQueue { narrow, .. } if narrow.is_empty()
    )));
    assert!(matches!(a.mode, Mode::Review));
}

#[test]
fn the_command_line_source_starts_the_narrowing_and_c_lists_its_categories() {
    let mut s = settings();
    s.source = Some("rm-bench".into());
    let a = App::new(s, std::time::Instant::now());
    assert_eq!(a.narrow.source.as_deref(), Some("rm-bench"));
    match &a.init()[..] {
        [Effect::LoadQueue { narrow, .. }] => {
            assert_eq!(narrow.source.as_deref(), Some("rm-bench"))
        }
        other => panic!("{other:?}"),
    }
    let mut a = open_app(2, None);
    a.narrow.source = Some("sample".into());
    let fx = update(&mut a, key('C'));
    assert!(
        matches!(&fx[..], [Effect::LoadCategories { source: Some(s) }] if s == "sample"),
        "{fx:?}"
    );
}

#[test]
fn header_queue_title_and_picker_show_the_narrowing() {
    let mut a = open_app(3, None);
    a.narrow = QueueNarrowing {
        collection: Some("gold".into()),
        flag_reason: Some("contradicts".into()),
        source: Some("sample".into()),
        category: None,
    };
    let big = render(&mut a, 160, 48);
    let header = big.lines().next().unwrap();
    assert!(
        header.contains("collection gold · flag ~contradicts · source sample"),
        "{header}"
    );
    assert!(big.contains("Queue · unreviewed · gold · c"), "{big}");
    feed(&mut a, [key('T'), Msg::NarrowOptions(options())]);
    let small = render(&mut a, 80, 24);
    assert!(small.contains("Narrow the queue"), "{small}");
    // The one in force is marked.
    assert!(
        small
            .lines()
            .any(|l| l.contains("● gold") && l.contains("2 case(s)")),
        "{small}"
    );
    insta::assert_snapshot!("narrowed_header_160x48", big);
    insta::assert_snapshot!("narrow_picker_80x24", small);

    // Untrusted names are drawn made visible.
    let mut a = open_app(1, None);
    a.narrow.collection = Some("evil\u{1b}[2Jname".into());
    let shown = render(&mut a, 160, 48);
    assert!(!shown.contains('\u{1b}'));
}

#[test]
fn an_empty_narrowed_queue_says_how_to_lift_it() {
    let mut a = app();
    a.narrow.collection = Some("gold".into());
    feed(
        &mut a,
        [Msg::QueueLoaded {
            items: vec![],
            total_cases: 5,
            keep: None,
        }],
    );
    let shown = render(&mut a, 160, 48);
    assert!(
        shown.contains("and the narrowing: collection gold"),
        "{shown}"
    );
    assert!(shown.contains("X lifts the narrowing"), "{shown}");
}

// ---------------------------------------------------------------------------------
// The same keys against a real database.

fn start(store: Store) -> (App, Edge<'static>) {
    let mut app = App::new(settings(), std::time::Instant::now());
    app.size = (160, 48);
    let mut edge = Edge {
        store,
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

fn type_text(app: &mut App, edge: &mut Edge, text: &str) {
    press(app, edge, text.chars().map(key));
}

fn picker_options(app: &App) -> Vec<NarrowOption> {
    match &app.mode {
        Mode::Narrow(p) => p.options.clone().expect("options listed"),
        other => panic!("{other:?}"),
    }
}

/// Move the picker onto an option and press Enter.
fn pick(app: &mut App, edge: &mut Edge, kind: NarrowKind, value: &str) {
    press(app, edge, [key('T')]);
    let opts = picker_options(app);
    let at = opts
        .iter()
        .position(|o| o.kind == kind && o.value == value)
        .unwrap_or_else(|| panic!("{kind:?} {value} not offered in {opts:?}"));
    let Mode::Narrow(p) = &app.mode else {
        unreachable!()
    };
    let steps = at as isize - p.sel as isize;
    let k = if steps >= 0 { 'j' } else { 'k' };
    press(app, edge, (0..steps.unsigned_abs()).map(|_| key(k)));
    press(app, edge, [code(KeyCode::Enter)]);
}

fn queue_ids(app: &App) -> Vec<i64> {
    app.queue.iter().map(|q| q.id).collect()
}

#[test]
fn narrowing_by_collection_flag_reason_and_source_on_a_real_database() {
    let (mut app, mut edge) = start(Store::open_in_memory().unwrap());
    press(&mut app, &mut edge, [key('i')]);
    assert_eq!(app.queue.len(), 34);
    // A second source beside the bundled sample.
    let other = edge
        .store
        .insert_case(&NewCase {
            source: "hand".into(),
            source_id: Some("hand-1".into()),
            prompt: vec![Message::user("Is 221 prime?".to_string())],
            answer_a: "No: 13 × 17.".into(),
            answer_b: "Yes.".into(),
            source_label: None,
            meta: serde_json::Value::Null,
            category: None,
            difficulty: None,
        })
        .unwrap()
        .unwrap();
    let reload = app.load_queue(app.current_id());
    let m = edge.execute(reload).unwrap();
    dispatch(&mut app, &mut edge, m);
    assert_eq!(app.queue.len(), 35);
    let first = app.current_id().unwrap();

    // Tag the open case into "gold"; flag the next one with a reason.
    press(&mut app, &mut edge, [key('t')]);
    type_text(&mut app, &mut edge, "gold");
    press(&mut app, &mut edge, [ctrl('s')]);
    press(&mut app, &mut edge, [key('j')]);
    let flagged = app.current_id().unwrap();
    press(&mut app, &mut edge, [key('!')]);
    type_text(&mut app, &mut edge, "reasoning contradicts verdict");
    press(&mut app, &mut edge, [ctrl('s')]);
    assert!(edge.store.review_state(flagged, "alice").unwrap().flagged);

    // The picker lists what there is, with counts from the database.
    press(&mut app, &mut edge, [key('T')]);
    let opts = picker_options(&app);
    assert!(
        opts.contains(&option(NarrowKind::Collection, "gold", 1)),
        "{opts:?}"
    );
    assert!(
        opts.contains(&option(
            NarrowKind::FlagReason,
            "reasoning contradicts verdict",
            1
        )),
        "{opts:?}"
    );
    assert!(
        opts.contains(&option(NarrowKind::Source, "hand", 1)),
        "{opts:?}"
    );
    assert!(
        opts.contains(&option(NarrowKind::Source, "sample", 34)),
        "{opts:?}"
    );
    press(&mut app, &mut edge, [code(KeyCode::Esc)]);

    pick(&mut app, &mut edge, NarrowKind::Collection, "gold");
    assert_eq!(queue_ids(&app), [first]);
    assert!(
        render(&mut app, 160, 48)
            .lines()
            .next()
            .unwrap()
            .contains("collection gold")
    );

    // Collection and flag reason together: no case is both.
    pick(
        &mut app,
        &mut edge,
        NarrowKind::FlagReason,
        "reasoning contradicts verdict",
    );
    assert!(app.queue.is_empty());
    assert!(render(&mut app, 160, 48).contains("X lifts the narrowing"));
    // The collection lifted (Enter on it), the flag reason stays.
    pick(&mut app, &mut edge, NarrowKind::Collection, "gold");
    assert_eq!(queue_ids(&app), [flagged]);

    press(&mut app, &mut edge, [key('X')]);
    assert_eq!(app.queue.len(), 35);
    pick(&mut app, &mut edge, NarrowKind::Source, "hand");
    assert_eq!(queue_ids(&app), [other]);
    pick(&mut app, &mut edge, NarrowKind::Source, "sample");
    assert_eq!(app.queue.len(), 34);
    assert!(!queue_ids(&app).contains(&other));
    press(&mut app, &mut edge, [key('X')]);
    assert_eq!(app.queue.len(), 35);
}
