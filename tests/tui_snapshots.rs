//! Screens of the workbench drawn on a test backend at 80×24 and 160×48.

mod tui_support;

use rubricate::domain::Verdict;
use rubricate::judge::{Event, JobId, Section};
use rubricate::tui::state::{Msg, QueueItem};
use rubricate::tui::stats_view::{Agreement, LengthBias, StatsView};
use rubricate::tui::update::update;
use tui_support::*;

fn judged_and_decided() -> rubricate::tui::state::App {
    let mut a = open_app(12, Some(Verdict::A));
    update(&mut a, ready());
    a
}

fn streaming() -> rubricate::tui::state::App {
    let mut a = open_app(12, None);
    update(&mut a, ready());
    a.now += std::time::Duration::from_secs(2);
    feed(
        &mut a,
        [
            Msg::Judge(Event::Started { job: JobId(1) }),
            token(
                1,
                Section::Rubric,
                "1. Names the right capital\n2. Is direct",
            ),
        ],
    );
    a.now += std::time::Duration::from_secs(2);
    feed(
        &mut a,
        [
            token(1, Section::Analysis, "A states Alpha City plainly. "),
            token(1, Section::Analysis, "B hedges and names the wrong town."),
        ],
    );
    a
}

#[test]
fn judged_case_80x24() {
    insta::assert_snapshot!(render(&mut judged_and_decided(), 80, 24));
}

#[test]
fn judged_case_160x48() {
    insta::assert_snapshot!(render(&mut judged_and_decided(), 160, 48));
}

#[test]
fn streaming_80x24() {
    insta::assert_snapshot!(render(&mut streaming(), 80, 24));
}

#[test]
fn streaming_160x48() {
    insta::assert_snapshot!(render(&mut streaming(), 160, 48));
}

#[test]
fn narrow_terminal_stacks_the_answers() {
    let mut a = judged_and_decided();
    let screen = render(&mut a, 60, 30);
    let row_a = screen.lines().position(|l| l.contains("Answer A")).unwrap();
    let row_b = screen.lines().position(|l| l.contains("Answer B")).unwrap();
    assert!(
        row_b > row_a,
        "B should be below A at 60 columns:\n{screen}"
    );
    let wide = render(&mut a, 160, 48);
    let line = wide.lines().find(|l| l.contains("Answer A")).unwrap();
    assert!(
        line.contains("Answer B"),
        "A and B side by side at 160 columns:\n{wide}"
    );
}

#[test]
fn source_label_hidden_until_decided() {
    let mut a = judged_and_decided();
    let before = render(&mut a, 160, 48);
    assert!(before.contains("source label hidden"));
    assert!(!before.contains("source label: A"));
    update(
        &mut a,
        Msg::ReviewSaved {
            case_id: 1,
            action: rubricate::domain::ReviewAction::Override,
            state: rubricate::domain::fold_reviews([&rubricate::domain::Review {
                id: 1,
                created_at: String::new(),
                case_id: 1,
                reviewer: "alice".into(),
                action: rubricate::domain::ReviewAction::Override,
                verdict: Some(Verdict::B),
                rubric: None,
                analysis: None,
                note: None,
                flagged: None,
                seconds_spent: None,
                judgment_id: None,
                reverts_review_id: None,
                reasoning: None,
                flag_reason: None,
                blind: None,
            }]),
        },
    );
    a.auto_advance = false;
    let after = render(&mut a, 160, 48);
    assert!(after.contains("you: override B"), "{after}");
    assert!(after.contains("source label: A"), "{after}");
}

#[test]
fn empty_database_offers_the_sample_80x24() {
    let mut a = app();
    update(
        &mut a,
        Msg::QueueLoaded {
            items: Vec::<QueueItem>::new(),
            total_cases: 0,
            keep: None,
        },
    );
    insta::assert_snapshot!(render(&mut a, 80, 24));
}

#[test]
fn no_model_banner_80x24() {
    let mut a = open_app(3, None);
    update(
        &mut a,
        Msg::Judge(Event::Unavailable(
            "model file not found: /models/x.gguf. Run scripts/fetch-model.sh".into(),
        )),
    );
    insta::assert_snapshot!(render(&mut a, 80, 24));
}

#[test]
fn help_overlay_160x48() {
    let mut a = judged_and_decided();
    update(&mut a, key('?'));
    insta::assert_snapshot!(render(&mut a, 160, 48));
}

#[test]
fn help_overlay_lists_every_key_at_80x24_when_scrolled() {
    let mut a = judged_and_decided();
    update(&mut a, key('?'));
    // Lines wrap at 80 columns: compare with borders and line breaks taken out.
    let flat = |s: &str| -> String {
        s.replace(['│', '╭', '╮', '╰', '╯', '─', '\n'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut seen = String::new();
    for _ in 0..14 {
        seen.push_str(&flat(&render(&mut a, 80, 24)));
        seen.push(' ');
        update(&mut a, code(crossterm::event::KeyCode::Down));
        update(&mut a, code(crossterm::event::KeyCode::PageDown));
    }
    for s in rubricate::tui::keymap::SECTIONS {
        for b in s.bindings {
            assert!(
                seen.contains(&flat(b.help)),
                "help overlay never shows {:?}",
                b.help
            );
        }
    }
}

#[test]
fn statistics_view_160x48() {
    let mut a = judged_and_decided();
    update(&mut a, key('S'));
    update(
        &mut a,
        Msg::StatsLoaded(Box::new(StatsView {
            cases: 34,
            judged: 20,
            reviewed: 12,
            blind: 7,
            flagged: 2,
            agreement: vec![
                Agreement {
                    label: "you vs model".into(),
                    count: 12,
                    agree: 9,
                    rate: Some(0.75),
                    kappa: Some(0.58),
                },
                Agreement {
                    label: "you vs label".into(),
                    count: 10,
                    agree: 8,
                    rate: Some(0.8),
                    kappa: Some(0.67),
                },
                Agreement {
                    label: "model vs label".into(),
                    count: 18,
                    agree: 10,
                    rate: Some(10.0 / 18.0),
                    kappa: Some(0.21),
                },
            ],
            swap_checked: 8,
            swap_consistent: 5,
            length_bias: vec![
                LengthBias {
                    label: "model".into(),
                    decided: 15,
                    longer_wins: 11,
                    rate: Some(11.0 / 15.0),
                },
                LengthBias {
                    label: "you".into(),
                    decided: 10,
                    longer_wins: 5,
                    rate: Some(0.5),
                },
            ],
            verdicts: vec![
                ("A".into(), 5),
                ("B".into(), 4),
                ("tie".into(), 2),
                ("both bad".into(), 1),
            ],
            eval_runs: vec![
                "#2 SmolLM2-135M-Instruct.Q4_1.gguf n 28 acc 46% [30–64], swap 0%".into(),
            ],
            rubric_experiments: vec![
                "safety@1 → safety@2: vs you 50% (2/4) → 75% (3/4) · vs labels 40% (2/5) → 80% (4/5) · swap n/a (0) → 100% (2/2) · changed 2 of 5".into(),
            ],
        })),
    );
    insta::assert_snapshot!(render(&mut a, 160, 48));
}

/// Case 1 (category "chat") judged in both orders by a judge that picks whatever is shown
/// first (A 0.9 as shown, the case's B 0.9 with A and B exchanged), and an eval run of that
/// judge: 20 of 40 right on chat, never swap-consistent.
fn at_chance_both_orders(measured_right: u64) -> rubricate::tui::state::App {
    use rubricate::eval::{EvalNumbers, Group, Rate};
    use rubricate::tui::state::{JudgeEval, LoadedCase};
    let mut a = app();
    let mut items: Vec<QueueItem> = (1..=3).map(item).collect();
    items[0].judged = true;
    items[0].model = Some(Verdict::A);
    feed(
        &mut a,
        [Msg::QueueLoaded {
            items,
            total_cases: 3,
            keep: None,
        }],
    );
    let mut c = case(1);
    c.category = Some("chat".into());
    let mut original = judgment(100, 1, Verdict::A);
    (original.j.p_a, original.j.p_b, original.j.p_tie) = (Some(0.9), Some(0.1), Some(0.0));
    let mut swap = judgment(101, 1, Verdict::B);
    swap.j.swapped = true;
    (swap.j.p_a, swap.j.p_b, swap.j.p_tie) = (Some(0.1), Some(0.9), Some(0.0));
    feed(
        &mut a,
        [Msg::CaseLoaded(Box::new(LoadedCase {
            case: c,
            judgment: Some(original),
            swap: Some(swap),
            review: Default::default(),
        }))],
    );
    update(&mut a, ready());
    let acc = Rate::new(measured_right, 40);
    let chat = Group {
        n: 40,
        accuracy: acc.rate,
        accuracy_ci: acc.ci,
        n_both_orders: 40,
        position_robust_accuracy: Some(0.0),
        position_robust_ci: Rate::new(0, 40).ci,
        swap_consistency: Some(0.0),
    };
    let numbers = EvalNumbers {
        n: 40,
        correct: measured_right,
        accuracy: acc.rate,
        accuracy_ci: acc.ci,
        by_category: [("chat".to_string(), chat)].into_iter().collect(),
        ..Default::default()
    };
    update(
        &mut a,
        Msg::JudgeEvalLoaded(Some(Box::new(JudgeEval {
            run_id: 1,
            dataset: "source rm-bench-chat".into(),
            numbers,
        }))),
    );
    a
}

#[test]
fn judge_at_chance_shows_both_orders_and_its_measured_accuracy_160x48() {
    let mut a = at_chance_both_orders(20);
    let screen = render(&mut a, 160, 48);
    assert!(screen.contains("no better than chance"), "{screen}");
    assert!(screen.contains("robust: tie"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn judge_at_chance_shows_both_orders_and_its_measured_accuracy_80x24() {
    insta::assert_snapshot!(render(&mut at_chance_both_orders(20), 80, 24));
}

/// The colours of the row holding `needle`.
fn row_colors(
    a: &rubricate::tui::state::App,
    w: u16,
    h: u16,
    needle: &str,
) -> Vec<ratatui::style::Color> {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| rubricate::tui::ui::draw(f, a)).unwrap();
    let buf = t.backend().buffer().clone();
    let y = (0..h)
        .find(|&y| {
            let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
            line.contains(needle)
        })
        .unwrap_or_else(|| panic!("no row with {needle:?}"));
    (0..w)
        .filter(|&x| buf[(x, y)].symbol() == "█")
        .map(|x| buf[(x, y)].fg)
        .collect()
}

#[test]
fn a_judge_at_chance_has_a_grey_bar_a_measured_one_a_coloured_bar() {
    use ratatui::style::Color;
    let mut chance = at_chance_both_orders(20);
    chance.size = (160, 48);
    let cells = row_colors(&chance, 160, 48, "model verdict");
    assert!(!cells.is_empty());
    assert!(cells.iter().all(|c| *c == Color::DarkGray), "{cells:?}");
    // 36 of 40: the interval (76 %–96 %) is clear of one half.
    let mut good = at_chance_both_orders(36);
    good.size = (160, 48);
    let screen = render(&mut good, 160, 48);
    assert!(!screen.contains("no better than chance"), "{screen}");
    assert!(screen.contains("this judge: 90% on chat"), "{screen}");
    let cells = row_colors(&good, 160, 48, "model verdict");
    assert!(cells.iter().all(|c| *c == Color::Blue), "{cells:?}");
}

/// A long multi-turn case (three turns before the answers), judged, no queue pane.
fn multi_turn(judged: bool) -> rubricate::tui::state::App {
    use rubricate::domain::Message;
    let mut a = app();
    let mut items: Vec<QueueItem> = (1..=4).map(item).collect();
    if judged {
        items[0].judged = true;
        items[0].model = Some(Verdict::B);
    }
    update(
        &mut a,
        Msg::QueueLoaded {
            items,
            total_cases: 4,
            keep: None,
        },
    );
    let mut c = case(1);
    c.prompt = vec![
        Message::new(
            "system",
            "You are a careful travel assistant. Answer briefly.",
        ),
        Message::user(
            "I am planning a trip to the north. Which cities have an old harbour worth seeing, and how do I get between them by train?",
        ),
        Message::new(
            "assistant",
            "Northport and Gullhaven both have old harbours. A regional train links them every hour; the ride takes about 40 minutes.",
        ),
        Message::user(
            "Which of the two is better for a day trip with children, and why? Keep it short.",
        ),
    ];
    c.answer_a = "Gullhaven: the harbour museum has a hands-on ship, the beach is a short walk from the station, and the trains back run late.".into();
    c.answer_b = "Northport. It is bigger.".into();
    update(
        &mut a,
        loaded(c, judged.then(|| judgment(100, 1, Verdict::B))),
    );
    update(&mut a, ready());
    a
}

#[test]
fn multi_turn_70x20() {
    let mut a = multi_turn(true);
    let screen = render(&mut a, 70, 20);
    // The last user turn is on screen, not only its role line.
    assert!(screen.contains("Which of the two is better"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn multi_turn_80x24() {
    let mut a = multi_turn(true);
    let screen = render(&mut a, 80, 24);
    assert!(screen.contains("Which of the two is better"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn multi_turn_160x48() {
    let mut a = multi_turn(true);
    let screen = render(&mut a, 160, 48);
    // Everything fits: every turn is on screen.
    assert!(screen.contains("careful travel assistant"), "{screen}");
    assert!(screen.contains("Which of the two is better"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn no_model_judge_pane_keeps_only_its_text() {
    let mut a = multi_turn(false);
    update(
        &mut a,
        Msg::Judge(Event::Unavailable("model file not found".into())),
    );
    let screen = render(&mut a, 160, 48);
    let rows: Vec<&str> = screen.lines().collect();
    let judge_top = rows
        .iter()
        .position(|l| l.contains("Judge · not judged"))
        .unwrap();
    let judge_rows = rows.len() - 1 - judge_top;
    // The placeholder, the footer and the borders: far from the 22 rows it used to keep.
    assert!(
        judge_rows <= 10,
        "judge pane has {judge_rows} rows:\n{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn zoom_fills_the_screen_with_the_focused_pane_80x24() {
    use crossterm::event::KeyCode;
    let mut a = multi_turn(true);
    a.size = (80, 24);
    update(&mut a, key('z'));
    let screen = render(&mut a, 80, 24);
    assert!(screen.contains("Answer A"), "{screen}");
    assert!(!screen.contains("Answer B"), "{screen}");
    assert!(!screen.contains("Judge ·"), "{screen}");
    assert!(screen.contains("zoom: z / Esc back"), "{screen}");
    insta::assert_snapshot!(screen);
    update(&mut a, code(KeyCode::Esc));
    let back = render(&mut a, 80, 24);
    assert!(
        back.contains("Answer B") && back.contains("Judge ·"),
        "{back}"
    );
}
