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
