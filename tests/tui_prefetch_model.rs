//! The workbench's prefetch on a second sequence with the real default model: the runtime
//! (`run::dispatch`, `run::Edge`, an in-memory database) drives a real judge worker that
//! decodes two cases at once. The reviewer opens case 1 and waits: case 2's judgment is
//! generated while case 1's is, and both are stored.

mod tui_support;

use rubricate::judge::{Event, JobId, JudgeHandle, config_from_select};
use rubricate::store::Store;
use rubricate::tui::run::{Edge, dispatch};
use rubricate::tui::state::{App, Msg};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tui_support::{key, settings};

#[test]
fn the_next_case_is_judged_beside_the_open_one_and_both_are_stored() {
    let select = rubricate::cli::ModelSelect {
        threads: Some(2),
        ..Default::default()
    };
    let mut config = config_from_select(&select, 42, true).expect("model config");
    config.parallel = 2;
    // Short judgments keep the test quick; a cut one is still read and stored.
    config.sampler.max_tokens = 96;
    let (tx, rx) = mpsc::channel::<Msg>();
    let handle = JudgeHandle::spawn(
        config,
        Box::new(move |e| {
            let _ = tx.send(Msg::Judge(e));
        }),
    );
    let mut app = App::new(settings(), Instant::now());
    app.size = (160, 48);
    let mut edge = Edge {
        store: Store::open_in_memory().unwrap(),
        judge: Some(&handle),
        reviewer: "alice".into(),
        writer: None,
        settings_file: None,
    };
    for fx in app.init() {
        if let Some(m) = edge.execute(fx) {
            dispatch(&mut app, &mut edge, m);
        }
    }
    dispatch(&mut app, &mut edge, key('i'));
    assert_eq!(app.current_id(), Some(1));

    // Which case each job judges, as the workbench asked for it.
    let mut case_of: HashMap<JobId, i64> = HashMap::new();
    let mut next_tokens_before_open_done = 0;
    let mut open_done = false;
    let mut sequences = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let both = edge.store.latest_judgment(1, false).unwrap().is_some()
            && edge.store.latest_judgment(2, false).unwrap().is_some();
        if both {
            break;
        }
        let msg = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the judge worker keeps reporting");
        match &msg {
            Msg::Judge(Event::Ready(info)) => sequences = info.sequences,
            Msg::Judge(Event::Unavailable(m)) => panic!("{m}"),
            Msg::Judge(Event::Failed { error, .. }) => panic!("{error}"),
            Msg::Judge(Event::Token { job, .. }) if case_of.get(job) == Some(&2) && !open_done => {
                next_tokens_before_open_done += 1
            }
            Msg::Judge(Event::Done { job, .. }) if case_of.get(job) == Some(&1) => open_done = true,
            _ => {}
        }
        dispatch(&mut app, &mut edge, msg);
        for j in app.jobs() {
            case_of.insert(j.id, j.case_id);
        }
    }
    assert_eq!(sequences, 2, "the worker says it judges two cases at once");
    assert_eq!(app.current_id(), Some(1), "the reviewer never moved");
    let open = edge.store.latest_judgment(1, false).unwrap();
    let next = edge.store.latest_judgment(2, false).unwrap();
    let (open, next) = (
        open.expect("case 1 judged and stored"),
        next.expect("case 2 judged and stored"),
    );
    assert!(
        next_tokens_before_open_done > 5,
        "case 2 streamed only {next_tokens_before_open_done} tokens while case 1 was judged"
    );
    for j in [&open, &next] {
        assert!(j.j.verdict.is_some(), "{:?}", j.j.raw);
        assert!(j.j.p_a.is_some() && j.j.p_b.is_some());
        assert!(!j.j.raw.is_empty());
    }
    // The queue shows both as judged without another load.
    assert!(app.queue[0].judged && app.queue[1].judged);
    // Case 1 on screen shows its stored judgment, not a stream.
    assert!(app.visible_job().is_none());
    assert_eq!(
        app.case.as_ref().unwrap().judgment.as_ref().map(|j| j.id),
        Some(open.id)
    );
}
