//! The key list: every key of issue 4 is bound, and docs/keys.md is the table in
//! src/tui/keymap.rs (set RUBRICATE_WRITE_DOCS=1 to regenerate the file).

mod tui_support;

use crossterm::event::{KeyCode, KeyModifiers};
use rubricate::domain::Verdict;
use rubricate::tui::keymap::{self, Action, KeyMode};
use tui_support::key_ev;

#[test]
fn every_key_of_the_issue_is_bound() {
    let c = |ch: char| {
        key_ev(
            KeyCode::Char(ch),
            if ch.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            },
        )
    };
    let k = |code| key_ev(code, KeyModifiers::NONE);
    let expected = [
        (c('j'), Action::NextCase),
        (k(KeyCode::Down), Action::NextCase),
        (c('k'), Action::PrevCase),
        (k(KeyCode::Up), Action::PrevCase),
        (k(KeyCode::Tab), Action::FocusNext),
        (k(KeyCode::PageUp), Action::PageUp),
        (k(KeyCode::PageDown), Action::PageDown),
        (c('g'), Action::Judge),
        (c('c'), Action::Cancel),
        (c('s'), Action::SwapCheck),
        (c('a'), Action::Accept),
        (c('1'), Action::Decide(Verdict::A)),
        (c('2'), Action::Decide(Verdict::B)),
        (c('3'), Action::Decide(Verdict::Tie)),
        (c('4'), Action::Decide(Verdict::BothBad)),
        (c('e'), Action::EditRubric),
        (c('E'), Action::EditAnalysis),
        (c('R'), Action::Rejudge),
        (c('n'), Action::Note),
        (c('f'), Action::Flag),
        (c('u'), Action::Undo),
        (c('/'), Action::Search),
        (k(KeyCode::Enter), Action::NextMatch),
        (c('F'), Action::CycleFilter),
        (c('S'), Action::Stats),
        (c('?'), Action::Help),
        (c('q'), Action::Quit),
    ];
    for (ev, action) in expected {
        assert_eq!(keymap::action(KeyMode::Review, &ev), Some(action), "{ev:?}");
    }
    let ctrl_s = key_ev(KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert_eq!(keymap::action(KeyMode::Editor, &ctrl_s), Some(Action::Keep));
    assert_eq!(
        keymap::action(KeyMode::Editor, &k(KeyCode::Esc)),
        Some(Action::Discard)
    );
}

#[test]
fn docs_keys_md_is_generated_from_the_keymap() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keys.md");
    let generated = keymap::markdown();
    if std::env::var_os("RUBRICATE_WRITE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/keys.md is out of date with src/tui/keymap.rs; regenerate it with\n  \
         RUBRICATE_WRITE_DOCS=1 cargo test --release --test tui_keys"
    );
}

#[test]
fn readme_lists_every_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let table = keymap::markdown();
    let missing: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| `") && !readme.contains(l))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md lacks these rows of the key table (copy them from docs/keys.md):\n{}",
        missing.join("\n")
    );
}
