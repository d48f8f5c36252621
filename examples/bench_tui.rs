//! Workbench speed, through the real update, draw and event loop on a test backend:
//!
//! 1. frame render time at 160×48 with three 200 KB texts (prompt, A, B) while the
//!    reviewer scrolls, cold and warm, with and without line breaks in the texts;
//! 2. frame render time while tokens stream into the judge pane;
//! 3. keystroke-to-frame latency while tokens stream at the model's rate (60 tokens/s,
//!    what SmolLM2-135M reaches under the grammar on these machines);
//! 4. CPU used by the idle loop.
//!
//! It prints figures and asserts nothing. Run:
//!     cargo run --release --example bench_tui

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rubricate::domain::{Message, NewCase, NewJudgment, Verdict};
use rubricate::judge::{Command, Event, ModelInfo, Section};
use rubricate::store::{CaseFilter, Store};
use rubricate::tui::run::{Edge, JudgeSink, dispatch, event_loop};
use rubricate::tui::state::{App, Msg, Settings};
use rubricate::tui::ui;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const W: u16 = 160;
const H: u16 = 48;
const TOKENS_PER_SEC: f64 = 60.0;

/// About `kb` KB of prose; with `breaks`, a line break every sentence or so.
fn big_text(kb: usize, seed: u64, breaks: bool) -> String {
    const WORDS: &[&str] = &[
        "the",
        "answer",
        "considers",
        "rubric",
        "criteria",
        "because",
        "evidence",
        "shows",
        "that",
        "a",
        "careful",
        "reviewer",
        "would",
        "prefer",
        "clarity",
        "over",
        "length",
        "résumé",
        "naïve",
        "日本語",
        "— and",
        "then",
        "tests",
        "it",
        "again,",
    ];
    let mut s = String::with_capacity(kb * 1024 + 64);
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut n = 0;
    while s.len() < kb * 1024 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(WORDS[(x >> 33) as usize % WORDS.len()]);
        n += 1;
        if breaks && n % 17 == 0 {
            s.push_str(".\n");
        } else {
            s.push(' ');
        }
    }
    s
}

fn settings() -> Settings {
    Settings {
        db_label: ":memory:".into(),
        reviewer: "bench".into(),
        filter: CaseFilter::All,
        source: None,
        auto_advance: true,
        blind: false,
        blind_reasoning: false,
        resume: None,
        narrow: Default::default(),
    }
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    })
}

fn store_with_big_cases(breaks: bool) -> Store {
    let mut store = Store::open_in_memory().expect("in-memory database");
    for i in 0..4u64 {
        let id = store
            .insert_case(&NewCase {
                source: "bench".into(),
                source_id: Some(format!("big-{i}")),
                prompt: vec![Message::user(big_text(200, 10 * i + 1, breaks))],
                answer_a: big_text(200, 10 * i + 2, breaks),
                answer_b: big_text(200, 10 * i + 3, breaks),
                source_label: Some(Verdict::A),
                meta: serde_json::Value::Null,
                category: None,
                difficulty: None,
            })
            .expect("insert")
            .expect("new case");
        if i == 0 {
            store
                .insert_judgment(&judgment(id, 2))
                .expect("insert judgment");
        }
    }
    store
}

fn judgment(case_id: i64, kb: usize) -> NewJudgment {
    NewJudgment {
        case_id,
        origin: rubricate::domain::JudgmentOrigin::Local,
        swapped: false,
        rubric_given: false,
        model_file: "bench.gguf".into(),
        model_sha256: String::new(),
        template_version: "bench".into(),
        grammar: true,
        sampler: Default::default(),
        seed: Some(1),
        rubric: Some(big_text(kb / 2, 99, true)),
        analysis: Some(big_text(kb / 2, 98, true)),
        verdict: Some(Verdict::A),
        p_a: Some(0.6),
        p_b: Some(0.3),
        p_tie: Some(0.1),
        parse_ok: true,
        parse_error: None,
        raw: String::new(),
        tokens_prompt: Some(1),
        tokens_generated: Some(1),
        ms_prefill: Some(1),
        ms_generate: Some(1),
        provenance: Default::default(),
        judge_type: None,
        solution: None,
        verdict_sampled: None,
    }
}

struct Figures(Vec<Duration>);

impl Figures {
    fn line(&mut self, what: &str) {
        self.0.sort();
        let n = self.0.len();
        let at = |q: f64| self.0[((n as f64 - 1.0) * q).round() as usize];
        let mean = self.0.iter().sum::<Duration>() / n as u32;
        println!(
            "{what:<58} n={n:<5} mean {:>7.3} ms  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
            ms(mean),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn open(store: Store) -> (App, Edge<'static>) {
    let mut app = App::new(settings(), Instant::now());
    app.size = (W, H);
    let mut edge = Edge {
        store,
        judge: None,
        reviewer: "bench".into(),
        writer: None,
        settings_file: None,
    };
    for fx in app.init() {
        if let Some(m) = edge.execute(fx) {
            dispatch(&mut app, &mut edge, m);
        }
    }
    (app, edge)
}

fn scrolling(breaks: bool) {
    let (mut app, mut edge) = open(store_with_big_cases(breaks));
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let t = Instant::now();
    term.draw(|f| ui::draw(f, &app)).unwrap();
    let cold = t.elapsed();
    let mut frames = Figures(Vec::new());
    for i in 0..600 {
        // Scroll down through all panes, switching pane every 40 frames.
        let msg = if i % 40 == 39 {
            key(KeyCode::Tab)
        } else {
            key(KeyCode::PageDown)
        };
        dispatch(&mut app, &mut edge, msg);
        let t = Instant::now();
        term.draw(|f| ui::draw(f, &app)).unwrap();
        frames.0.push(t.elapsed());
    }
    let what = if breaks {
        "with line breaks"
    } else {
        "one 200 KB line each"
    };
    println!(
        "render 160x48, three 200 KB texts ({what}): first frame {:.3} ms",
        ms(cold)
    );
    frames.line(&format!("  scrolling, frame render ({what})"));
}

/// Takes judge commands and does nothing: the benchmark feeds the tokens itself.
struct Quiet;

impl JudgeSink for Quiet {
    fn send(&self, _cmd: Command) {}
}

fn streaming_render() {
    let (mut app, mut edge) = open(store_with_big_cases(true));
    edge.judge = Some(&Quiet);
    // Case 2 has no judgment: once the model is ready it is judged at once.
    dispatch(&mut app, &mut edge, key(KeyCode::Char('j')));
    let info = ModelInfo {
        file_name: "bench.gguf".into(),
        ..Default::default()
    };
    dispatch(&mut app, &mut edge, Msg::Judge(Event::Ready(info)));
    let job = app.visible_job().expect("a job for the open case").id;
    dispatch(&mut app, &mut edge, Msg::Judge(Event::Started { job }));
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let mut frames = Figures(Vec::new());
    let words = big_text(64, 5, true);
    let mut it = words.split_inclusive(' ');
    for i in 0..900 {
        let section = if i < 150 {
            Section::Rubric
        } else {
            Section::Analysis
        };
        // Two tokens per frame: 60 tokens/s at 30 frames/s.
        for _ in 0..2 {
            let text = it.next().unwrap_or("x ").to_string();
            dispatch(
                &mut app,
                &mut edge,
                Msg::Judge(Event::Token { job, section, text }),
            );
        }
        let t = Instant::now();
        term.draw(|f| ui::draw(f, &app)).unwrap();
        frames.0.push(t.elapsed());
    }
    frames.line("render 160x48 while tokens stream (judge pane following)");
}

/// Streams tokens for each job at the model's rate from its own thread.
struct Injector {
    tx: Sender<Msg>,
    cancelled: Arc<AtomicU64>,
}

impl JudgeSink for Injector {
    fn send(&self, cmd: Command) {
        match cmd {
            Command::Judge(req) => {
                let tx = self.tx.clone();
                let cancelled = self.cancelled.clone();
                std::thread::spawn(move || {
                    let job = req.job;
                    let _ = tx.send(Msg::Judge(Event::Started { job }));
                    let text = big_text(8, job.0, true);
                    let start = Instant::now();
                    for (i, word) in text.split_inclusive(' ').take(1200).enumerate() {
                        let due = start + Duration::from_secs_f64(i as f64 / TOKENS_PER_SEC);
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        if cancelled.load(Ordering::SeqCst) == job.0 {
                            let _ = tx.send(Msg::Judge(Event::Cancelled { job }));
                            return;
                        }
                        let section = if i < 200 {
                            Section::Rubric
                        } else {
                            Section::Analysis
                        };
                        let ev = Event::Token {
                            job,
                            section,
                            text: word.to_string(),
                        };
                        if tx.send(Msg::Judge(ev)).is_err() {
                            return;
                        }
                    }
                });
            }
            Command::Cancel(job) => self.cancelled.store(job.0, Ordering::SeqCst),
            Command::Prioritize(_) | Command::Shutdown => {}
        }
    }
}

fn latency() {
    let (tx, rx) = mpsc::channel();
    let injector = Injector {
        tx: tx.clone(),
        cancelled: Arc::new(AtomicU64::new(0)),
    };
    let injector: &'static Injector = Box::leak(Box::new(injector));
    // The event loop loads the queue itself.
    let mut app = App::new(settings(), Instant::now());
    app.size = (W, H);
    let mut edge = Edge {
        store: store_with_big_cases(true),
        judge: Some(injector),
        reviewer: "bench".into(),
        writer: None,
        settings_file: None,
    };
    let info = ModelInfo {
        file_name: "bench.gguf".into(),
        ..Default::default()
    };
    tx.send(Msg::Judge(Event::Ready(info))).unwrap();
    // Open an unjudged case so its judgment streams on screen.
    tx.send(key(KeyCode::Char('j'))).unwrap();

    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let keys = {
        let tx = tx.clone();
        let sent = sent.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            for i in 0..60u32 {
                // Off the frame grid on purpose: 97 ms is no multiple of 33 ms.
                std::thread::sleep(Duration::from_millis(97));
                // Scroll the focused answer; the queue is never focused, so the open
                // case (and its streaming judgment) stays.
                let code = if i % 3 == 2 {
                    KeyCode::PageUp
                } else {
                    KeyCode::PageDown
                };
                sent.lock().unwrap().push(Instant::now());
                tx.send(key(code)).unwrap();
            }
            std::thread::sleep(Duration::from_millis(200));
            tx.send(Msg::Terminate).unwrap();
        })
    };
    let mut frames: Vec<(u64, Instant, u32)> = Vec::new();
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    // Keys pressed before the measured ones (the `j` above).
    let base = 1;
    let t0 = Instant::now();
    event_loop(&mut app, &mut edge, &rx, &mut term, &mut |a: &App| {
        let tokens = a.job.as_ref().map_or(0, |j| j.tokens);
        frames.push((a.keys_seen, Instant::now(), tokens));
    })
    .unwrap();
    let wall = t0.elapsed();
    keys.join().unwrap();
    let sent = sent.lock().unwrap();
    let mut lat = Figures(Vec::new());
    for (i, t) in sent.iter().enumerate() {
        let seq = base + i as u64 + 1;
        if let Some((_, at, _)) = frames.iter().find(|(k, _, _)| *k >= seq) {
            lat.0.push(at.saturating_duration_since(*t));
        }
    }
    let tokens = frames.iter().map(|f| f.2).max().unwrap_or(0);
    println!(
        "event loop, streaming at {TOKENS_PER_SEC} tok/s: {} frames in {:.1} s ({:.1} fps), {} tokens on screen, {} keys",
        frames.len(),
        wall.as_secs_f64(),
        frames.len() as f64 / wall.as_secs_f64(),
        tokens,
        sent.len()
    );
    lat.line("  keystroke-to-frame latency (frame tick 33 ms)");
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage fills a plain C struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn idle_cpu() {
    let (tx, rx) = mpsc::channel::<Msg>();
    let (mut app, mut edge) = open(store_with_big_cases(true));
    let idle = Duration::from_secs(3);
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(idle);
        let _ = tx.send(Msg::Terminate);
    });
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let mut frames = 0u32;
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    event_loop(&mut app, &mut edge, &rx, &mut term, &mut |_| frames += 1).unwrap();
    let cpu = cpu_time() - cpu0;
    let wall = t0.elapsed();
    stopper.join().unwrap();
    println!(
        "idle loop: {:.1} ms CPU in {:.1} s wall ({:.2}% of one core), {frames} frame(s) drawn",
        ms(cpu),
        wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
}

fn main() {
    scrolling(true);
    scrolling(false);
    streaming_render();
    latency();
    idle_cpu();
}
