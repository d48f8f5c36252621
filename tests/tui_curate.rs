//! Curation keys of the workbench: `D` derives a case (pure update, then the writer on a
//! real database file).

mod formats_common;
mod tui_support;

use crossterm::event::KeyCode;
use formats_common::{fixture, ok};
use rubricate::domain::Verdict;
use rubricate::store::Store;
use rubricate::tui::state::{EditTarget, Effect, Mode, Msg};
use rubricate::tui::update::update;
use rubricate::tui::writer::{WriteOp, perform_inline};
use tui_support::*;

#[test]
fn d_opens_the_chosen_answer_on_the_other_side_and_ctrl_s_derives() {
    // The model preferred A: A stays as the rejected answer, the editor starts from B.
    let mut a = open_app(2, Some(Verdict::A));
    update(&mut a, key('D'));
    match &a.mode {
        Mode::Edit(e) => {
            assert_eq!(
                e.target,
                EditTarget::Derive {
                    rejected: Verdict::A
                }
            );
            assert_eq!(
                e.area.lines().join("\n"),
                a.case.as_ref().unwrap().case.answer_b
            );
        }
        m => panic!("{m:?}"),
    }
    update(&mut a, code(KeyCode::End));
    update(&mut a, key('!'));
    let fx = update(&mut a, ctrl('s'));
    match fx.as_slice() {
        [
            Effect::DeriveCase {
                parent: 1,
                rejected: Verdict::A,
                chosen,
            },
        ] => assert!(chosen.ends_with('!'), "{chosen}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(a.mode, Mode::Review));
    // No verdict at all: it says what to do and opens nothing.
    let mut a = open_app(2, None);
    update(&mut a, key('D'));
    assert!(matches!(a.mode, Mode::Review));
    assert!(
        a.message
            .as_ref()
            .unwrap()
            .text
            .contains("judge (g) or decide")
    );
}

#[test]
fn the_writer_derives_and_says_how_to_open_the_new_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let mut store = Store::open(&db).unwrap();
    let parent = store.find_case("pw-1").unwrap().unwrap();
    let msg = perform_inline(
        &mut store,
        "ann",
        &WriteOp::Derive {
            parent: parent.id,
            rejected: Verdict::B,
            chosen: "56, because 7 × 8 = 56.".into(),
        },
    );
    let text = match msg {
        Msg::Curated { text, .. } => text,
        other => panic!("{other:?}"),
    };
    let children = store.case_children(parent.id).unwrap();
    assert_eq!(children.len(), 1);
    let id = children[0].case_id;
    assert!(text.contains(&format!(": {id} opens it")), "{text}");
    let state = store.review_state(id, "ann").unwrap();
    assert_eq!(state.verdict(), Some(Verdict::A));
    // An empty answer is refused by the writer too, nothing stored.
    let msg = perform_inline(
        &mut store,
        "ann",
        &WriteOp::Derive {
            parent: parent.id,
            rejected: Verdict::B,
            chosen: "  ".into(),
        },
    );
    assert!(matches!(msg, Msg::WriteFailed { .. }), "{msg:?}");
    assert_eq!(store.case_children(parent.id).unwrap().len(), 1);
}
