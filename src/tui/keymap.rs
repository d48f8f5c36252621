//! Every key of the workbench, in one table. Input handling looks keys up here, the
//! `?` overlay is drawn from it, and `docs/keys.md` is generated from it (a test keeps
//! the file in step), so the three can never disagree.

use crate::domain::Verdict;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NextCase,
    PrevCase,
    FocusNext,
    FocusPrev,
    PageUp,
    PageDown,
    ScrollUp,
    ScrollDown,
    Top,
    Bottom,
    /// The focused pane fills the screen, or goes back.
    Zoom,
    /// Back from a zoomed pane.
    Unzoom,
    Judge,
    Cancel,
    SwapCheck,
    Accept,
    /// Keep the model's verdict, reject its reasoning.
    ReasoningWrong,
    Decide(Verdict),
    /// Write a refined text of the focused answer (A unless B has focus).
    Refine,
    /// Tag the case into a collection.
    Tag,
    /// Fork the case with a reviewer-written chosen answer.
    Derive,
    /// Flag the case with a reason.
    FlagWithReason,
    EditRubric,
    EditAnalysis,
    Rejudge,
    Note,
    Flag,
    Undo,
    Search,
    NextMatch,
    PrevMatch,
    /// Open the "go to case" prompt.
    GoTo,
    /// Empty the one-line prompt (search, go to case).
    ClearInput,
    CycleFilter,
    CycleCategory,
    /// Open the picker that narrows the queue by collection, flag reason, source or category.
    Narrow,
    /// Lift every narrowing of the queue.
    ClearNarrowing,
    Stats,
    /// Open the rubric library browser.
    Library,
    Help,
    Quit,
    ImportSample,
    // Rubric library browser.
    NextRubric,
    PrevRubric,
    OlderVersion,
    NewerVersion,
    /// Mark the shown version as the base of diff and compare.
    MarkBase,
    Diff,
    /// Rubric experiment: the base against the shown version over the queue.
    Compare,
    Restore,
    /// Re-judge the current case with the shown version given.
    ApplyHere,
    /// Judge every case in the queue with the shown version given.
    ApplyQueue,
    /// Save the current case's rubric into the library under a name.
    SaveAs,
    // Text input (editor, note, search).
    Keep,
    Discard,
    // Overlays.
    Close,
    ToggleQueue,
    ToggleAdvance,
    ToggleBlind,
    ToggleBlindReasoning,
    ToggleBothOrders,
    /// Fold / expand the judge's free reasoning (`…</think>`) in the judge pane.
    ToggleReasoning,
    // Quit confirmation.
    Yes,
    No,
}

/// A key (or mouse wheel direction) as the table spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Up,
    Down,
    Tab,
    BackTab,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    WheelUp,
    WheelDown,
}

impl Key {
    fn matches(self, ev: &KeyEvent) -> bool {
        let plain = !ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match (self, ev.code) {
            (Key::Char(k), KeyCode::Char(c)) => plain && k == c,
            (Key::Ctrl(k), KeyCode::Char(c)) => {
                ev.modifiers.contains(KeyModifiers::CONTROL) && c.eq_ignore_ascii_case(&k)
            }
            (Key::Up, KeyCode::Up) => plain,
            (Key::Down, KeyCode::Down) => plain,
            (Key::Tab, KeyCode::Tab) => plain,
            (Key::BackTab, KeyCode::BackTab) => plain,
            (Key::PageUp, KeyCode::PageUp) => plain,
            (Key::PageDown, KeyCode::PageDown) => plain,
            (Key::Home, KeyCode::Home) => plain,
            (Key::End, KeyCode::End) => plain,
            (Key::Enter, KeyCode::Enter) => plain,
            (Key::Esc, KeyCode::Esc) => true,
            _ => false,
        }
    }

    fn matches_mouse(self, ev: &MouseEvent) -> bool {
        matches!(
            (self, ev.kind),
            (Key::WheelUp, MouseEventKind::ScrollUp) | (Key::WheelDown, MouseEventKind::ScrollDown)
        )
    }
}

/// Where a set of keys applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    Review,
    Editor,
    Search,
    Jump,
    Help,
    Stats,
    Library,
    LibraryName,
    Narrow,
    ConfirmQuit,
}

pub struct Binding {
    /// How the keys are written in the help overlay and docs/keys.md.
    pub shown: &'static str,
    /// The keys this row binds; empty for a row that only explains (typing in the editor).
    pub keys: &'static [(Key, Action)],
    pub help: &'static str,
}

pub struct Section {
    pub mode: KeyMode,
    pub title: &'static str,
    pub bindings: &'static [Binding],
}

use Action as A;
use Key as K;

pub const SECTIONS: &[Section] = &[
    Section {
        mode: KeyMode::Review,
        title: "Reviewing",
        bindings: &[
            Binding {
                shown: "j / k  or  ↓ / ↑",
                keys: &[
                    (K::Char('j'), A::NextCase),
                    (K::Down, A::NextCase),
                    (K::Char('k'), A::PrevCase),
                    (K::Up, A::PrevCase),
                ],
                help: "next / previous case in the queue",
            },
            Binding {
                shown: "Tab  (Shift-Tab)",
                keys: &[(K::Tab, A::FocusNext), (K::BackTab, A::FocusPrev)],
                help: "cycle focus: queue, prompt, answer A, answer B, judge",
            },
            Binding {
                shown: "PgUp / PgDn, b / Space, mouse wheel",
                keys: &[
                    (K::PageUp, A::PageUp),
                    (K::PageDown, A::PageDown),
                    (K::Char('b'), A::PageUp),
                    (K::Char(' '), A::PageDown),
                    (K::WheelUp, A::ScrollUp),
                    (K::WheelDown, A::ScrollDown),
                ],
                help: "page the focused pane up / down",
            },
            Binding {
                shown: "K / J",
                keys: &[(K::Char('K'), A::ScrollUp), (K::Char('J'), A::ScrollDown)],
                help: "scroll the focused pane a few rows up / down",
            },
            Binding {
                shown: "Home / End",
                keys: &[(K::Home, A::Top), (K::End, A::Bottom)],
                help: "start / end of the focused pane (first / last case in the queue)",
            },
            Binding {
                shown: "z  (Esc)",
                keys: &[(K::Char('z'), A::Zoom), (K::Esc, A::Unzoom)],
                help: "zoom: the focused pane fills the screen; z or Esc goes back",
            },
            Binding {
                shown: "g",
                keys: &[(K::Char('g'), A::Judge)],
                help: "judge (or re-judge) this case",
            },
            Binding {
                shown: "c",
                keys: &[(K::Char('c'), A::Cancel)],
                help: "cancel generation",
            },
            Binding {
                shown: "s",
                keys: &[(K::Char('s'), A::SwapCheck)],
                help: "swap check: judge again with A and B exchanged",
            },
            Binding {
                shown: "a",
                keys: &[(K::Char('a'), A::Accept)],
                help: "accept the verdict and approve its reasoning",
            },
            Binding {
                shown: "w",
                keys: &[(K::Char('w'), A::ReasoningWrong)],
                help: "verdict right, reasoning wrong (reasoning not exported)",
            },
            Binding {
                shown: "1",
                keys: &[(K::Char('1'), A::Decide(Verdict::A))],
                help: "A is better (verdict only)",
            },
            Binding {
                shown: "2",
                keys: &[(K::Char('2'), A::Decide(Verdict::B))],
                help: "B is better",
            },
            Binding {
                shown: "3",
                keys: &[(K::Char('3'), A::Decide(Verdict::Tie))],
                help: "tie",
            },
            Binding {
                shown: "4",
                keys: &[(K::Char('4'), A::Decide(Verdict::BothBad))],
                help: "both bad",
            },
            Binding {
                shown: "e",
                keys: &[(K::Char('e'), A::EditRubric)],
                help: "edit the rubric",
            },
            Binding {
                shown: "E",
                keys: &[(K::Char('E'), A::EditAnalysis)],
                help: "edit the analysis",
            },
            Binding {
                shown: "R",
                keys: &[(K::Char('R'), A::Rejudge)],
                help: "re-judge with the edited rubric fixed (rubric-given mode)",
            },
            Binding {
                shown: "o",
                keys: &[(K::Char('o'), A::ToggleReasoning)],
                help: "fold / expand the judge's free reasoning (long reasoning starts folded to one line)",
            },
            Binding {
                shown: "n",
                keys: &[(K::Char('n'), A::Note)],
                help: "note",
            },
            Binding {
                shown: "r",
                keys: &[(K::Char('r'), A::Refine)],
                help: "refine the focused answer (the original is kept)",
            },
            Binding {
                shown: "D",
                keys: &[(K::Char('D'), A::Derive)],
                help: "derive a case: same prompt, the answer the model preferred as rejected, yours as chosen",
            },
            Binding {
                shown: "t",
                keys: &[(K::Char('t'), A::Tag)],
                help: "tag the case into a collection",
            },
            Binding {
                shown: "f",
                keys: &[(K::Char('f'), A::Flag)],
                help: "flag (or unflag)",
            },
            Binding {
                shown: "!",
                keys: &[(K::Char('!'), A::FlagWithReason)],
                help: "flag with a reason (review --flag-reason TEXT lists them)",
            },
            Binding {
                shown: "u",
                keys: &[(K::Char('u'), A::Undo)],
                help: "undo your last change (goes back to its case); again walks back",
            },
            Binding {
                shown: "/",
                keys: &[(K::Char('/'), A::Search)],
                help: "search prompts, answers, rubrics, analyses, notes, case and source ids (offers the last query; matches are highlighted)",
            },
            Binding {
                shown: "Enter / N",
                keys: &[(K::Enter, A::NextMatch), (K::Char('N'), A::PrevMatch)],
                help: "jump to the next / previous match",
            },
            Binding {
                shown: ":",
                keys: &[(K::Char(':'), A::GoTo)],
                help: "go to a case by its number or source id",
            },
            Binding {
                shown: "F",
                keys: &[(K::Char('F'), A::CycleFilter)],
                help: "cycle filter: unreviewed, all, disagree, flagged, inconsistent, model-wrong, low-margin",
            },
            Binding {
                shown: "C",
                keys: &[(K::Char('C'), A::CycleCategory)],
                help: "cycle category: each one, then all",
            },
            Binding {
                shown: "T",
                keys: &[(K::Char('T'), A::Narrow)],
                help: "narrow the queue by collection, flag reason, source or category (a picker)",
            },
            Binding {
                shown: "X",
                keys: &[(K::Char('X'), A::ClearNarrowing)],
                help: "lift every narrowing of the queue (collection, flag reason, source, category)",
            },
            Binding {
                shown: "S",
                keys: &[(K::Char('S'), A::Stats)],
                help: "statistics view",
            },
            Binding {
                shown: "L",
                keys: &[(K::Char('L'), A::Library)],
                help: "rubric library: browse, diff, restore, apply, compare versions",
            },
            Binding {
                shown: "?",
                keys: &[(K::Char('?'), A::Help)],
                help: "help and settings",
            },
            Binding {
                shown: "q",
                keys: &[(K::Char('q'), A::Quit)],
                help: "quit (asks if an edit or a write is pending)",
            },
            Binding {
                shown: "i",
                keys: &[(K::Char('i'), A::ImportSample)],
                help: "import the bundled sample cases (offered on an empty database)",
            },
        ],
    },
    Section {
        mode: KeyMode::Editor,
        title: "Editing a rubric, an analysis or a note",
        bindings: &[
            Binding {
                shown: "Ctrl-S",
                keys: &[(K::Ctrl('s'), A::Keep)],
                help: "keep the edit",
            },
            Binding {
                shown: "Esc",
                keys: &[(K::Esc, A::Discard)],
                help: "discard the edit",
            },
            Binding {
                shown: "other keys",
                keys: &[],
                help: "edit the text (arrows move, Enter breaks the line, Ctrl-Z / Ctrl-Y undo / redo)",
            },
        ],
    },
    Section {
        mode: KeyMode::Search,
        title: "Search prompt",
        bindings: &[
            Binding {
                shown: "Enter",
                keys: &[(K::Enter, A::Keep)],
                help: "search and jump to the first match after this case",
            },
            Binding {
                shown: "Esc",
                keys: &[(K::Esc, A::Discard)],
                help: "close the search prompt",
            },
            Binding {
                shown: "Ctrl-U",
                keys: &[(K::Ctrl('u'), A::ClearInput)],
                help: "clear the query",
            },
        ],
    },
    Section {
        mode: KeyMode::Jump,
        title: "Go-to-case prompt",
        bindings: &[
            Binding {
                shown: "Enter",
                keys: &[(K::Enter, A::Keep)],
                help: "open the case with this number or source id (the filter widens to all if it is not in the queue)",
            },
            Binding {
                shown: "Esc",
                keys: &[(K::Esc, A::Discard)],
                help: "close the prompt",
            },
            Binding {
                shown: "Ctrl-U",
                keys: &[(K::Ctrl('u'), A::ClearInput)],
                help: "clear what was typed",
            },
        ],
    },
    Section {
        mode: KeyMode::Help,
        title: "Help overlay (settings)",
        bindings: &[
            Binding {
                shown: "Q",
                keys: &[(K::Char('Q'), A::ToggleQueue)],
                help: "show / hide the queue pane",
            },
            Binding {
                shown: "A",
                keys: &[(K::Char('A'), A::ToggleAdvance)],
                help: "open the next case after a decision: on / off (also --no-advance)",
            },
            Binding {
                shown: "B",
                keys: &[(K::Char('B'), A::ToggleBlind)],
                help: "blind mode: hide the model's verdict, confidence and answer lengths until you decide (also --blind)",
            },
            Binding {
                shown: "H",
                keys: &[(K::Char('H'), A::ToggleBlindReasoning)],
                help: "in blind mode, hide the model's rubric and analysis too",
            },
            Binding {
                shown: "O",
                keys: &[(K::Char('O'), A::ToggleBothOrders)],
                help: "judge every case in both orders: on / off (also --both-orders)",
            },
            Binding {
                shown: "↓ / ↑, PgDn / PgUp",
                keys: &[
                    (K::Down, A::ScrollDown),
                    (K::Up, A::ScrollUp),
                    (K::PageDown, A::PageDown),
                    (K::PageUp, A::PageUp),
                ],
                help: "scroll this list",
            },
            Binding {
                shown: "?, Esc, q",
                keys: &[
                    (K::Char('?'), A::Close),
                    (K::Esc, A::Close),
                    (K::Char('q'), A::Close),
                ],
                help: "close the overlay",
            },
        ],
    },
    Section {
        mode: KeyMode::Stats,
        title: "Statistics view",
        bindings: &[Binding {
            shown: "S, Esc, q",
            keys: &[
                (K::Char('S'), A::Close),
                (K::Esc, A::Close),
                (K::Char('q'), A::Close),
            ],
            help: "back to the case",
        }],
    },
    Section {
        mode: KeyMode::Library,
        title: "Rubric library",
        bindings: &[
            Binding {
                shown: "j / k  or  ↓ / ↑",
                keys: &[
                    (K::Char('j'), A::NextRubric),
                    (K::Down, A::NextRubric),
                    (K::Char('k'), A::PrevRubric),
                    (K::Up, A::PrevRubric),
                ],
                help: "next / previous rubric",
            },
            Binding {
                shown: "[ / ]",
                keys: &[
                    (K::Char('['), A::OlderVersion),
                    (K::Char(']'), A::NewerVersion),
                ],
                help: "older / newer version",
            },
            Binding {
                shown: "PgUp / PgDn",
                keys: &[(K::PageUp, A::PageUp), (K::PageDown, A::PageDown)],
                help: "scroll the preview",
            },
            Binding {
                shown: "m",
                keys: &[(K::Char('m'), A::MarkBase)],
                help: "mark this version as the base for diff and compare",
            },
            Binding {
                shown: "d",
                keys: &[(K::Char('d'), A::Diff)],
                help: "diff: the base (marked, else the version before) against this version",
            },
            Binding {
                shown: "c",
                keys: &[(K::Char('c'), A::Compare)],
                help: "compare over the queue: agreement with reviewers and labels, base vs this version",
            },
            Binding {
                shown: "r",
                keys: &[(K::Char('r'), A::Restore)],
                help: "restore: save this version's text again as the newest",
            },
            Binding {
                shown: "Enter",
                keys: &[(K::Enter, A::ApplyHere)],
                help: "apply to the current case: re-judge it with this version given",
            },
            Binding {
                shown: "A",
                keys: &[(K::Char('A'), A::ApplyQueue)],
                help: "apply to every case in the queue, in both orders when both orders is on (O in ?); runs while you review, skips what is already judged with it",
            },
            Binding {
                shown: "s",
                keys: &[(K::Char('s'), A::SaveAs)],
                help: "save the current case's rubric into the library (asks a name)",
            },
            Binding {
                shown: "L, Esc, q",
                keys: &[
                    (K::Char('L'), A::Close),
                    (K::Esc, A::Close),
                    (K::Char('q'), A::Close),
                ],
                help: "back to the case",
            },
        ],
    },
    Section {
        mode: KeyMode::LibraryName,
        title: "Naming a rubric",
        bindings: &[
            Binding {
                shown: "Enter",
                keys: &[(K::Enter, A::Keep)],
                help: "save under this name (a new version if the name exists)",
            },
            Binding {
                shown: "Esc",
                keys: &[(K::Esc, A::Discard)],
                help: "cancel",
            },
        ],
    },
    Section {
        mode: KeyMode::Narrow,
        title: "Narrowing the queue",
        bindings: &[
            Binding {
                shown: "j / k  or  ↓ / ↑, PgDn / PgUp",
                keys: &[
                    (K::Char('j'), A::NextCase),
                    (K::Down, A::NextCase),
                    (K::Char('k'), A::PrevCase),
                    (K::Up, A::PrevCase),
                    (K::PageDown, A::PageDown),
                    (K::PageUp, A::PageUp),
                ],
                help: "next / previous choice",
            },
            Binding {
                shown: "Enter",
                keys: &[(K::Enter, A::Keep)],
                help: "narrow to it (replacing one of its kind; on the one in force, lift it)",
            },
            Binding {
                shown: "X",
                keys: &[(K::Char('X'), A::ClearNarrowing)],
                help: "lift every narrowing",
            },
            Binding {
                shown: "T, Esc, q",
                keys: &[
                    (K::Char('T'), A::Close),
                    (K::Esc, A::Close),
                    (K::Char('q'), A::Close),
                ],
                help: "back to the case",
            },
        ],
    },
    Section {
        mode: KeyMode::ConfirmQuit,
        title: "Quit with edits or writes pending",
        bindings: &[
            Binding {
                shown: "y",
                keys: &[(K::Char('y'), A::Yes)],
                help: "quit and drop them",
            },
            Binding {
                shown: "n, Esc",
                keys: &[(K::Char('n'), A::No), (K::Esc, A::No)],
                help: "stay",
            },
        ],
    },
];

fn section(mode: KeyMode) -> &'static Section {
    SECTIONS
        .iter()
        .find(|s| s.mode == mode)
        .expect("every key mode has a section in SECTIONS")
}

/// How the review key for an action is written (for hints such as the fold line).
pub fn shown_for(action: Action) -> Option<&'static str> {
    section(KeyMode::Review)
        .bindings
        .iter()
        .find(|b| b.keys.iter().any(|(_, a)| *a == action))
        .map(|b| b.shown)
}

/// The action a key press means in a mode.
pub fn action(mode: KeyMode, ev: &KeyEvent) -> Option<Action> {
    section(mode)
        .bindings
        .iter()
        .flat_map(|b| b.keys.iter())
        .find(|(k, _)| k.matches(ev))
        .map(|&(_, a)| a)
}

/// The action a mouse event means in a mode (only the wheel is bound).
pub fn mouse_action(mode: KeyMode, ev: &MouseEvent) -> Option<Action> {
    section(mode)
        .bindings
        .iter()
        .flat_map(|b| b.keys.iter())
        .find(|(k, _)| k.matches_mouse(ev))
        .map(|&(_, a)| a)
}

/// The key list as Markdown: the content of `docs/keys.md` and of the README's key section.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Keys\n\n<!-- Generated from src/tui/keymap.rs; `cargo test --release --test tui_keys` checks it. -->\n",
    );
    for s in SECTIONS {
        out.push_str(&format!(
            "\n## {}\n\n| keys | what they do |\n| --- | --- |\n",
            s.title
        ));
        for b in s.bindings {
            out.push_str(&format!(
                "| `{}` | {} |\n",
                b.shown.replace('|', "\\|"),
                b.help
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEventKind, KeyEventState};

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        for s in SECTIONS {
            let keys: Vec<Key> = s
                .bindings
                .iter()
                .flat_map(|b| b.keys.iter().map(|k| k.0))
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(
                    !keys[i + 1..].contains(k),
                    "{k:?} bound twice in {:?}",
                    s.mode
                );
            }
        }
    }

    #[test]
    fn shifted_letters_and_ctrl_keys_resolve() {
        let shift_r = key(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(action(KeyMode::Review, &shift_r), Some(Action::Rejudge));
        let ctrl_s = key(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(action(KeyMode::Editor, &ctrl_s), Some(Action::Keep));
        // Ctrl-S is not the swap check.
        assert_eq!(action(KeyMode::Review, &ctrl_s), None);
        assert_eq!(
            action(
                KeyMode::Review,
                &key(KeyCode::Char('2'), KeyModifiers::NONE)
            ),
            Some(Action::Decide(Verdict::B))
        );
    }
}
