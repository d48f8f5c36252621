//! Reading long cases: panes sized to their content, zoom, the last user turn of a
//! multi-turn prompt, search and jumping to a case. Pure state, no terminal.

mod tui_support;

use crossterm::event::KeyCode;
use rubricate::domain::{Message, Verdict};
use rubricate::judge::Event;
use rubricate::tui::layout;
use rubricate::tui::state::{Focus, Msg, QueueItem};
use rubricate::tui::update::{draw_top, update};
use tui_support::*;

fn multi_turn_app() -> rubricate::tui::state::App {
    let mut a = app();
    update(
        &mut a,
        Msg::QueueLoaded {
            items: (1..=3).map(item).collect::<Vec<QueueItem>>(),
            total_cases: 3,
            keep: None,
        },
    );
    let mut c = case(1);
    c.prompt = (0..6)
        .flat_map(|i| {
            [
                Message::user(format!("question {i}: {}", "and more words ".repeat(8))),
                Message::new("assistant", format!("reply {i}: {}", "text ".repeat(12))),
            ]
        })
        .chain([Message::user("the final question the answers reply to")])
        .collect();
    update(&mut a, loaded(c, Some(judgment(100, 1, Verdict::A))));
    a
}

#[test]
fn a_multi_turn_prompt_opens_on_its_last_user_turn() {
    let mut a = multi_turn_app();
    for (w, h) in [(70, 20), (80, 24), (160, 48)] {
        a.size = (w, h);
        let rect = layout::areas(&a).text(Focus::Prompt);
        let pane = &a.case.as_ref().unwrap().prompt;
        let shown: Vec<String> = pane
            .doc
            .visible(
                draw_top(pane, rect.width, rect.height as usize),
                rect.width,
                rect.height as usize,
            )
            .into_iter()
            .map(|(_, s)| s.to_string())
            .collect();
        assert!(
            shown.iter().any(|l| l.contains("the final question")),
            "{w}x{h}: {shown:?}"
        );
        assert!(rect.height >= 2, "{w}x{h}: prompt has {} rows", rect.height);
    }
}

#[test]
fn short_texts_give_their_rows_away_and_no_model_shrinks_the_judge() {
    let mut a = open_app(3, None);
    a.size = (100, 40);
    update(
        &mut a,
        Msg::Judge(Event::Unavailable("no model file".into())),
    );
    let areas = layout::areas(&a);
    // One-line prompt: its role line, its text and the borders.
    assert_eq!(areas.prompt.height, 4);
    // The judge pane keeps its placeholder and footer only; the answers get the rest.
    assert!(areas.judge.height <= 10, "{areas:?}");
    assert!(areas.answer_a.height >= 20, "{areas:?}");
    // A long answer takes its rows back from nothing else than what is spare.
    let mut c = case(1);
    c.prompt = vec![Message::user("p ".repeat(2000))];
    update(&mut a, loaded(c, None));
    let long = layout::areas(&a);
    assert!(long.prompt.height > 4, "{long:?}");
    assert!(
        long.answer_a.height >= 3 && long.judge.height >= 7,
        "{long:?}"
    );
}

#[test]
fn z_zooms_the_focused_pane_tab_moves_the_zoom_esc_goes_back() {
    let mut a = multi_turn_app();
    a.size = (80, 24);
    assert_eq!(a.focus, Focus::AnswerA);
    update(&mut a, key('z'));
    assert!(a.zoom);
    let areas = layout::areas(&a);
    assert_eq!(areas.answer_a, areas.main);
    assert_eq!(areas.answer_b.height, 0);
    assert_eq!(areas.judge.height, 0);
    // Paging a zoomed pane pages by its full height.
    update(&mut a, code(KeyCode::Tab));
    assert_eq!(a.focus, Focus::AnswerB);
    assert!(a.zoom);
    assert_eq!(layout::areas(&a).answer_b, layout::areas(&a).main);
    update(&mut a, code(KeyCode::Esc));
    assert!(!a.zoom);
    update(&mut a, key('z'));
    update(&mut a, key('z'));
    assert!(!a.zoom, "z again goes back");
    // The queue does not zoom.
    a.size = (160, 48);
    a.focus = Focus::Queue;
    update(&mut a, key('z'));
    assert!(!a.zoom);
    assert!(a.message.as_ref().unwrap().text.contains("queue"));
}

fn search_app() -> rubricate::tui::state::App {
    let mut a = open_app(6, None);
    a.size = (160, 48);
    a
}

#[test]
fn search_offers_the_last_query_previous_match_and_highlights() {
    use rubricate::tui::state::{Effect, Mode};
    let mut a = search_app();
    feed(&mut a, [key('/'), key('B'), key('e'), key('t')]);
    let fx = update(&mut a, code(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::Search { query }] if query == "Bet"));
    let fx = update(
        &mut a,
        Msg::SearchResult {
            query: "Bet".into(),
            matches: vec![2, 4, 5],
        },
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadCase(2))));
    update(&mut a, loaded(case(2), None));
    // N goes back, wrapping to the last match in the queue.
    let fx = update(&mut a, key('N'));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadCase(5))),
        "{fx:?}"
    );
    update(&mut a, loaded(case(5), None));
    let fx = update(&mut a, key('N'));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadCase(4))),
        "{fx:?}"
    );
    update(&mut a, loaded(case(4), None));
    assert!(a.message.as_ref().unwrap().text.contains("match 2 of 3"));
    // The matches are highlighted in the panes of a matching case.
    assert_eq!(a.highlight(), Some("Bet"));
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
    t.draw(|f| rubricate::tui::ui::draw(f, &a)).unwrap();
    let buf = t.backend().buffer().clone();
    let marked: String = (0..48u16)
        .flat_map(|y| (0..160u16).map(move |x| (x, y)))
        .filter(|&p| buf[p].bg == ratatui::style::Color::Yellow)
        .map(|p| buf[p].symbol().to_string())
        .collect();
    // "Beta Town" in answer B: "Bet" is marked, only there.
    assert_eq!(marked, "Bet", "highlighted cells: {marked:?}");
    // `/` offers the last query again; Ctrl-U clears it.
    update(&mut a, key('/'));
    assert!(matches!(&a.mode, Mode::Search(q) if q == "Bet"));
    update(&mut a, ctrl('u'));
    assert!(matches!(&a.mode, Mode::Search(q) if q.is_empty()));
    update(&mut a, code(KeyCode::Esc));
    assert!(matches!(a.mode, Mode::Review));
}

#[test]
fn go_to_a_case_by_number_or_source_id() {
    use rubricate::store::CaseFilter;
    use rubricate::tui::state::{Effect, Mode};
    let mut a = search_app();
    update(&mut a, key(':'));
    assert!(matches!(a.mode, Mode::Jump(_)));
    feed(&mut a, [key('s'), key('-'), key('4')]);
    let fx = update(&mut a, code(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::FindCase { query }] if query == "s-4"));
    // In the queue: opened there.
    let fx = update(
        &mut a,
        Msg::CaseFound {
            query: "s-4".into(),
            id: Some(4),
        },
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadCase(4))),
        "{fx:?}"
    );
    assert_eq!(a.cursor, 3);
    // Not in this queue: the filter widens to all and the queue reloads on the case.
    let fx = update(
        &mut a,
        Msg::CaseFound {
            query: "99".into(),
            id: Some(99),
        },
    );
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::LoadQueue {
                filter: CaseFilter::All,
                keep: Some(99),
                ..
            }
        )),
        "{fx:?}"
    );
    assert!(
        a.message
            .as_ref()
            .unwrap()
            .text
            .contains("filter is now all")
    );
    // Nothing has it: said so, nothing moves.
    let fx = update(
        &mut a,
        Msg::CaseFound {
            query: "nope".into(),
            id: None,
        },
    );
    assert!(fx.iter().all(|e| !matches!(e, Effect::LoadCase(_))));
    assert!(a.message.as_ref().unwrap().text.contains("no case has"));
}

#[test]
fn header_shows_done_over_total_and_o_toggles_both_orders() {
    use rubricate::tui::state::Effect;
    let mut a = search_app();
    // The queue load asks for the count; a decision saved asks again.
    let fx = update(
        &mut a,
        Msg::QueueLoaded {
            items: (1..=6).map(item).collect(),
            total_cases: 6,
            keep: Some(1),
        },
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadProgress)));
    update(&mut a, Msg::Progress { done: 2, total: 9 });
    let screen = render(&mut a, 160, 48);
    assert!(
        screen.lines().next().unwrap().contains("done 2/9"),
        "{screen}"
    );

    assert!(!a.both_orders);
    update(&mut a, key('?'));
    let fx = update(&mut a, key('O'));
    assert!(a.both_orders);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::SaveSettings(wb) if wb.both_orders == Some(true))),
        "{fx:?}"
    );
}

#[test]
fn a_paste_arrives_whole_in_the_editor_and_the_prompts() {
    use rubricate::tui::state::{Effect, Mode};
    let mut a = search_app();
    // Terminals send a pasted line break as CR.
    update(&mut a, key('n'));
    update(
        &mut a,
        Msg::Paste("first line\rsecond\r\nthird\x1b[2J".into()),
    );
    match &a.mode {
        Mode::Edit(e) => assert_eq!(e.area.lines(), ["first line", "second", "third␛[2J"]),
        m => panic!("not editing: {m:?}"),
    }
    update(&mut a, code(KeyCode::Esc));
    // A long paste into the search prompt, then Enter at once.
    update(&mut a, key('/'));
    let long = "x".repeat(10_000);
    update(&mut a, Msg::Paste(format!("{long}\r")));
    let fx = update(&mut a, code(KeyCode::Enter));
    assert!(
        matches!(&fx[..], [Effect::Search { query }] if query.len() == 10_000),
        "{fx:?}"
    );
    // Outside a prompt or an editor a paste changes nothing, and says where it goes.
    let before = a.cursor;
    update(&mut a, Msg::Paste("jjj".into()));
    assert_eq!(a.cursor, before);
    assert!(a.message.as_ref().unwrap().text.contains("paste"));
}
