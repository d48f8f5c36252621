//! Curation keys in the workbench's pure update: what each decision key says about the
//! reasoning, refining an answer, tagging into a collection.

mod tui_support;

use crossterm::event::KeyCode;
use rubricate::domain::{ReasoningApproval, Verdict};
use rubricate::tui::state::{Effect, Focus, Mode};
use rubricate::tui::update::update;
use tui_support::*;

fn decisions(fx: &[Effect]) -> Vec<(Option<Verdict>, Option<ReasoningApproval>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::AppendReview(r) => Some((r.verdict, r.reasoning)),
            _ => None,
        })
        .collect()
}

#[test]
fn each_decision_key_records_what_it_says_about_the_reasoning() {
    let mut a = open_app(2, Some(Verdict::A));
    assert_eq!(
        decisions(&update(&mut a, key('a'))),
        [(Some(Verdict::A), Some(ReasoningApproval::Approved))]
    );
    let mut a = open_app(2, Some(Verdict::A));
    assert_eq!(
        decisions(&update(&mut a, key('1'))),
        [(Some(Verdict::A), Some(ReasoningApproval::VerdictOnly))],
        "a verdict key approves the verdict only, even when it matches the model"
    );
    let mut a = open_app(2, Some(Verdict::B));
    assert_eq!(
        decisions(&update(&mut a, key('w'))),
        [(Some(Verdict::B), Some(ReasoningApproval::Wrong))]
    );
    // A kept edit makes the reasoning the reviewer's own, whatever the key.
    let mut a = open_app(2, Some(Verdict::A));
    feed(&mut a, [key('E'), key('!'), ctrl('s')]);
    assert_eq!(
        decisions(&update(&mut a, key('2'))),
        [(Some(Verdict::B), Some(ReasoningApproval::Own))]
    );
    // No model verdict: `w` has nothing to keep.
    let mut a = open_app(2, None);
    assert!(decisions(&update(&mut a, key('w'))).is_empty());
    assert!(
        a.message
            .as_ref()
            .unwrap()
            .text
            .contains("no model verdict")
    );
}

#[test]
fn refine_edits_the_focused_answer_and_saves_a_revision() {
    let mut a = open_app(2, Some(Verdict::A));
    a.focus = Focus::AnswerB;
    update(&mut a, key('r'));
    assert!(
        matches!(&a.mode, Mode::Edit(e) if e.area.lines()[0].starts_with("Answer B for case 1"))
    );
    let fx = feed(&mut a, [code(KeyCode::End), key('!'), ctrl('s')]);
    let revisions: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::AddRevision {
                case_id,
                side,
                body,
            } => Some((*case_id, *side, body.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(revisions.len(), 1);
    assert_eq!((revisions[0].0, revisions[0].1), (1, Verdict::B));
    assert!(
        revisions[0].2.ends_with("I think.!"),
        "{:?}",
        revisions[0].2
    );
    // Unchanged text saves nothing.
    update(&mut a, key('r'));
    let fx = update(&mut a, ctrl('s'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::AddRevision { .. })));
}

#[test]
fn tag_puts_the_case_into_the_named_collection_and_remembers_the_name() {
    let mut a = open_app(2, None);
    let mut msgs = vec![key('t')];
    msgs.extend("gold".chars().map(key));
    msgs.push(ctrl('s'));
    let fx = feed(&mut a, msgs);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Tag { case_id: 1, collection } if collection == "gold"
    )));
    update(&mut a, key('t'));
    assert!(matches!(&a.mode, Mode::Edit(e) if e.area.lines()[0] == "gold"));
    update(&mut a, code(KeyCode::Esc));
    // An empty name tags nothing.
    a.last_collection = None;
    let fx = feed(&mut a, [key('t'), ctrl('s')]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Tag { .. })));
}

#[test]
fn flag_with_a_reason() {
    let mut a = open_app(2, None);
    let mut msgs = vec![key('!')];
    msgs.extend("prompt is ambiguous".chars().map(key));
    msgs.push(ctrl('s'));
    let fx = feed(&mut a, msgs);
    let flags: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::AppendReview(r) => Some((r.flagged, r.flag_reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        flags,
        [(Some(true), Some("prompt is ambiguous".to_string()))]
    );
    // No reason, no flag.
    let fx = feed(&mut a, [key('!'), ctrl('s')]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::AppendReview(_))));
}
