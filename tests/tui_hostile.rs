//! Hostile text is shown, never executed: escape sequences and control characters in
//! prompts, answers, model output and names reach the screen as visible symbols.

mod tui_support;

use rubricate::domain::{Message, Verdict};
use rubricate::judge::{Event, JobId, Section};
use rubricate::tui::state::Msg;
use rubricate::tui::update::update;
use tui_support::*;

const CLEAR: &str = "\x1b[2J";
const BELL: &str = "\x07";
const OSC_TITLE: &str = "\x1b]0;pwned\x07";
const CSI_8BIT: &str = "\u{9b}31m";
const BIDI: &str = "\u{202e}evil";

fn hostile() -> String {
    format!("red{CLEAR}alert{BELL}title{OSC_TITLE}csi{CSI_8BIT}bidi{BIDI}\ttab\rcr")
}

fn is_control(c: char) -> bool {
    c.is_control()
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[test]
fn escape_sequences_in_case_model_and_names_are_rendered_as_symbols() {
    let mut s = settings();
    s.reviewer = format!("eve{CLEAR}");
    s.db_label = format!("/tmp/x{OSC_TITLE}.db");
    let mut a = rubricate::tui::state::App::new(s, std::time::Instant::now());
    let mut c = case(1);
    c.prompt = vec![
        Message::new("system", format!("sys{BELL}")),
        Message::user(hostile()),
    ];
    c.answer_a = hostile();
    c.answer_b = format!("B{OSC_TITLE}");
    let mut q = item(1);
    q.title = hostile();
    update(
        &mut a,
        Msg::QueueLoaded {
            items: vec![q, item(2)],
            total_cases: 2,
            keep: None,
        },
    );
    update(&mut a, loaded(c, None));
    update(&mut a, ready());
    update(&mut a, Msg::Judge(Event::Started { job: JobId(1) }));
    // An escape sequence split across two streamed tokens.
    update(&mut a, token(1, Section::Rubric, "rubric\x1b"));
    update(&mut a, token(1, Section::Rubric, "[2Jmore"));
    update(&mut a, token(1, Section::Analysis, &hostile()));
    update(&mut a, token(1, Section::Verdict, &format!("A{BELL}")));
    a.message = None;

    for (w, h) in [(160, 48), (80, 24)] {
        let screen = render(&mut a, w, h);
        let bad: Vec<char> = screen
            .chars()
            .filter(|&c| c != '\n' && is_control(c))
            .collect();
        assert!(
            bad.is_empty(),
            "control characters reached the screen: {bad:?}\n{screen}"
        );
        assert!(
            screen.contains("red␛[2Jalert␇title␛]0;pwned␇csi�31mbidi�evil "),
            "{screen}"
        );
        assert!(screen.contains(" tab␍cr"), "{screen}");
        assert!(screen.contains("rubric␛[2Jmore"), "{screen}");
        assert!(screen.contains("eve␛[2J"), "{screen}");
        if w == 160 {
            assert!(screen.contains("B␛]0;pwned␇"), "{screen}");
            assert!(screen.contains("sys␇"), "{screen}");
            assert!(screen.contains("x␛]0;pwned␇.db"), "{screen}");
        }
    }

    // And once stored, the judgment's own text, through the same path.
    let mut j = judgment(9, 1, Verdict::A);
    j.j.rubric = Some(format!("r{CLEAR}"));
    j.j.analysis = Some(hostile());
    j.j.model_file = format!("m{OSC_TITLE}.gguf");
    update(
        &mut a,
        Msg::Judge(Event::Done {
            job: JobId(1),
            judgment: Box::new(j.j.clone()),
        }),
    );
    update(&mut a, Msg::JudgmentStored(Box::new(j)));
    a.message = None;
    let screen = render(&mut a, 160, 48);
    assert!(
        !screen.chars().any(|c| c != '\n' && is_control(c)),
        "{screen}"
    );
    assert!(screen.contains("r␛[2J"), "{screen}");
    assert!(screen.contains("m␛]0;pwned␇.gguf"), "{screen}");
}

#[test]
fn the_editor_shows_model_text_made_visible() {
    let mut a = open_app(1, Some(Verdict::A));
    let mut j = judgment(100, 1, Verdict::A);
    j.j.rubric = Some(format!("keep{OSC_TITLE}"));
    update(&mut a, Msg::JudgmentStored(Box::new(j)));
    update(&mut a, key('e'));
    let screen = render(&mut a, 80, 24);
    assert!(
        !screen.chars().any(|c| c != '\n' && is_control(c)),
        "{screen}"
    );
    assert!(screen.contains("keep␛]0;pwned␇"), "{screen}");
}
