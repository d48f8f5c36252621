//! The judge's free reasoning (`…</think>`) folds to one line in the judge pane and the
//! fold key expands it, for a stored judgment and while it streams (ratatui test backend).

mod tui_support;

use rubricate::domain::Verdict;
use rubricate::judge::{Event, JobId, Section};
use rubricate::tui::keymap::{Action, shown_for};
use rubricate::tui::state::{App, Msg};
use rubricate::tui::update::update;
use tui_support::*;

const REASONING: &str = "The client asks for the capital.\nChatbot A says Alpha City.\nChatbot B says Beta Town.\nAlpha City is the capital, so A is right.\nB is wrong.";

fn fold_key() -> char {
    shown_for(Action::ToggleReasoning)
        .and_then(|s| s.chars().next())
        .unwrap()
}

/// A stored RM-R1 DeepSeek-distilled judgment: the analysis is the bare reasoning.
fn stored_reasoning() -> App {
    let mut j = judgment(100, 1, Verdict::A);
    j.j.rubric = None;
    j.j.analysis = Some(REASONING.into());
    j.j.raw = format!("{REASONING}\n</think>\n\n<answer>[[A]]</answer>");
    with_judgment(j)
}

fn with_judgment(j: rubricate::domain::Judgment) -> App {
    let mut a = app();
    feed(
        &mut a,
        [
            Msg::QueueLoaded {
                items: (1..=3).map(item).collect(),
                total_cases: 3,
                keep: None,
            },
            loaded(case(1), Some(j)),
            ready(),
        ],
    );
    a
}

#[test]
fn stored_reasoning_folded_then_expanded_160x48() {
    let mut a = stored_reasoning();
    let folded = render(&mut a, 160, 48);
    let line = format!("reasoning: 5 lines, {} to expand", fold_key());
    assert!(folded.contains(&line), "{folded}");
    assert!(!folded.contains("Chatbot B says"), "{folded}");
    insta::assert_snapshot!("stored_folded", folded);
    update(&mut a, key(fold_key()));
    let expanded = render(&mut a, 160, 48);
    assert!(!expanded.contains(&line), "{expanded}");
    assert!(expanded.contains("Chatbot B says Beta Town."), "{expanded}");
    insta::assert_snapshot!("stored_expanded", expanded);
    // The same key folds it again.
    update(&mut a, key(fold_key()));
    assert!(render(&mut a, 160, 48).contains(&line));
}

#[test]
fn reasoning_and_evaluation_split_and_short_reasoning_is_not_folded() {
    let mut j = judgment(100, 1, Verdict::B);
    j.j.analysis = Some(format!(
        "<think>\n{REASONING}\n</think>\n\n<eval>B names the capital.</eval>"
    ));
    let mut a = with_judgment(j);
    let s = render(&mut a, 160, 48);
    assert!(s.contains("reasoning: 5 lines"), "{s}");
    assert!(s.contains("B names the capital."), "{s}");
    let mut j = judgment(100, 1, Verdict::B);
    j.j.analysis = Some("<think>\nshort\n</think>\n\nB is better.".into());
    feed(&mut a, [loaded(case(1), Some(j))]);
    let s = render(&mut a, 160, 48);
    assert!(s.contains("short") && !s.contains("reasoning: "), "{s}");
}

#[test]
fn streaming_reasoning_folded_then_expanded_160x48() {
    let mut a = open_app(3, None);
    update(&mut a, ready());
    feed(&mut a, [Msg::Judge(Event::Started { job: JobId(1) })]);
    for line in REASONING.lines() {
        update(&mut a, token(1, Section::Reasoning, line));
        update(&mut a, token(1, Section::Reasoning, "\n"));
    }
    // Three lines in: still shown (short reasoning is not folded).
    let mut b = open_app(3, None);
    update(&mut b, ready());
    feed(&mut b, [Msg::Judge(Event::Started { job: JobId(1) })]);
    update(&mut b, token(1, Section::Reasoning, "one\ntwo\nthree"));
    assert!(render(&mut b, 160, 48).contains("three"));

    let folded = render(&mut a, 160, 48);
    assert!(folded.contains("reasoning: 5 lines"), "{folded}");
    assert!(!folded.contains("Chatbot B says"), "{folded}");
    insta::assert_snapshot!("streaming_folded", folded);
    update(&mut a, key(fold_key()));
    // Text streamed after expanding lands in the expanded pane.
    update(&mut a, token(1, Section::Reasoning, "Done thinking."));
    let expanded = render(&mut a, 160, 48);
    assert!(
        expanded.contains("Chatbot B says") && expanded.contains("Done thinking."),
        "{expanded}"
    );
    insta::assert_snapshot!("streaming_expanded", expanded);
}
