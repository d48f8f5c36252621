//! Builders shared by the workbench tests: states, cases, judgments, keys, and a
//! frame rendered to text.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rubricate::domain::{
    Case, Judgment, JudgmentOrigin, Message, NewJudgment, ReviewState, SamplerSettings, Verdict,
};
use rubricate::judge::{Event, JobId, ModelInfo, Section};
use rubricate::store::CaseFilter;
use rubricate::tui::state::{App, Effect, LoadedCase, Msg, QueueItem, Settings};
use rubricate::tui::ui;
use rubricate::tui::update::update;
use std::time::{Duration, Instant};

pub fn settings() -> Settings {
    Settings {
        db_label: "/data/review.db".into(),
        reviewer: "alice".into(),
        filter: CaseFilter::Unreviewed,
        source: None,
        auto_advance: true,
        blind: false,
        blind_reasoning: false,
        resume: None,
        narrow: Default::default(),
    }
}

pub fn app() -> App {
    let mut a = App::new(settings(), Instant::now());
    a.size = (160, 48);
    a
}

pub fn case(id: i64) -> Case {
    Case {
        id,
        source: "sample".into(),
        source_id: Some(format!("sample-{id:03}")),
        prompt: vec![Message::user(format!(
            "What is the capital of country {id}?"
        ))],
        answer_a: format!("Answer A for case {id}: the capital is Alpha City."),
        answer_b: format!("Answer B for case {id}: it is Beta Town, I think."),
        source_label: Some(Verdict::A),
        content_hash: format!("hash{id}"),
        meta: serde_json::Value::Null,
        category: None,
        difficulty: None,
    }
}

pub fn new_judgment(case_id: i64, verdict: Verdict, swapped: bool) -> NewJudgment {
    NewJudgment {
        case_id,
        origin: JudgmentOrigin::Local,
        swapped,
        rubric_given: false,
        model_file: "SmolLM2-135M-Instruct.Q4_1.gguf".into(),
        model_sha256: "b179".into(),
        template_version: "v1".into(),
        grammar: true,
        sampler: SamplerSettings::default(),
        seed: Some(42),
        rubric: Some("1. Correctness\n2. Clarity".into()),
        analysis: Some("A names the right city. B hedges and is wrong.".into()),
        verdict: Some(verdict),
        p_a: Some(0.7),
        p_b: Some(0.2),
        p_tie: Some(0.1),
        parse_ok: true,
        parse_error: None,
        raw: String::new(),
        tokens_prompt: Some(134),
        tokens_generated: Some(120),
        ms_prefill: Some(370),
        ms_generate: Some(2000),
        provenance: Default::default(),
        judge_type: None,
        solution: None,
        verdict_sampled: None,
    }
}

pub fn judgment(id: i64, case_id: i64, verdict: Verdict) -> Judgment {
    Judgment {
        id,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        library_rubric_id: None,
        j: new_judgment(case_id, verdict, false),
    }
}

pub fn item(id: i64) -> QueueItem {
    QueueItem {
        id,
        source_id: Some(format!("sample-{id:03}")),
        title: format!("What is the capital of country {id}?"),
        model: None,
        judged: false,
        decided: None,
        flagged: false,
        category: None,
        difficulty: None,
    }
}

pub fn loaded(case: Case, judgment: Option<Judgment>) -> Msg {
    Msg::CaseLoaded(Box::new(LoadedCase {
        case,
        judgment,
        swap: None,
        review: ReviewState::default(),
    }))
}

pub fn model_info() -> ModelInfo {
    ModelInfo {
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf".into(),
        ..Default::default()
    }
}

pub fn ready() -> Msg {
    Msg::Judge(Event::Ready(model_info()))
}

pub fn token(job: u64, section: Section, text: &str) -> Msg {
    Msg::Judge(Event::Token {
        job: JobId(job),
        section,
        text: text.into(),
    })
}

pub fn key_ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent {
        code,
        modifiers,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

pub fn key(c: char) -> Msg {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(key_ev(KeyCode::Char(c), m))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(key_ev(c, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(key_ev(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Feed several messages; all their effects, in order.
pub fn feed(app: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    msgs.into_iter().flat_map(|m| update(app, m)).collect()
}

pub fn advance(app: &mut App, secs: u64) {
    app.now += Duration::from_secs(secs);
}

/// A workbench with `n` queued cases, the first open and (optionally) judged, model ready.
pub fn open_app(n: i64, judged_first: Option<Verdict>) -> App {
    let mut a = app();
    let mut items: Vec<QueueItem> = (1..=n).map(item).collect();
    if let Some(v) = judged_first {
        items[0].judged = true;
        items[0].model = Some(v);
    }
    feed(
        &mut a,
        [Msg::QueueLoaded {
            items,
            total_cases: n,
            keep: None,
        }],
    );
    feed(
        &mut a,
        [loaded(case(1), judged_first.map(|v| judgment(100, 1, v)))],
    );
    a
}

/// The frame as text, one string per row, trailing spaces removed.
pub fn render(app: &mut App, w: u16, h: u16) -> String {
    app.size = (w, h);
    let app = &*app;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The jobs the effects cancel, in order.
pub fn cancels(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Cancel(j) => Some(j.0),
            _ => None,
        })
        .collect()
}

/// The judge jobs the effects start: (job, case, mode, swapped), in order.
pub fn judges(fx: &[Effect]) -> Vec<(u64, i64, rubricate::judge::JudgeMode, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Judge {
                job,
                case_id,
                mode,
                swapped,
            } => Some((job.0, *case_id, mode.clone(), *swapped)),
            _ => None,
        })
        .collect()
}
