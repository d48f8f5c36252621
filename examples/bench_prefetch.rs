//! The workbench's prefetch on a second sequence (issue 11 item 7), with the real default
//! model and 2 threads. The reviewer opens case N and waits; the workbench wants case N's
//! judgment (the visible, "foreground" job) and case N+1's (the prefetch, "background").
//!
//! 1. Through the judge worker, as the workbench drives it: `Judge(N)`, `Prioritize(N)`,
//!    `Judge(N+1)` at once. With 1 sequence the worker judges N+1 after N (the workbench
//!    sends it only once N is done, so this is if anything kind to 1 sequence); with 2 both
//!    are sequences of one batch and N+1's prompt joins in `BACKGROUND_CHUNK` pieces.
//! 2. Through the engine directly, the same two cases with other background chunk sizes
//!    (what picked `BACKGROUND_CHUNK`; 512 is "no priority", a whole prefill batch), the
//!    next case joining once the open case has streamed 20 tokens (as when the reviewer
//!    moves onto the prefetched case and the new next case starts beside it).
//!
//! Per pair it records: when the next case's judgment is complete, when the open case's is,
//! the open case's generation rate (tokens generated / time from its first to its last
//! token) and its longest gap between two streamed tokens. It prints figures and asserts
//! nothing. Run:
//!     cargo run --release --example bench_prefetch -- [PAIRS] [CHUNKS] [engine]
//! e.g. `-- 3 512,32,32h` (3 pairs of sample cases; chunk sizes for part 2, `h`: the
//! background case also waits while the open one generates; `engine`: part 2 only).

use rubricate::domain::Case;
use rubricate::judge::bench::sample_cases;
use rubricate::judge::engine::{
    BACKGROUND_CHUNK, Engine, Flow, HOLD_BACKGROUND, LoadedModel, Priority, Progress, RunOptions,
};
use rubricate::judge::{
    Command, Event, JobId, JudgeConfig, JudgeHandle, JudgeMode, JudgeRequest, config_from_select,
};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn config(sequences: u32) -> JudgeConfig {
    let select = rubricate::cli::ModelSelect {
        threads: Some(2),
        ..Default::default()
    };
    let mut c = config_from_select(&select, 42, true).expect("model config");
    c.parallel = sequences;
    c
}

fn request(job: u64, case: &Case) -> JudgeRequest {
    JudgeRequest {
        job: JobId(job),
        case: case.clone(),
        mode: JudgeMode::Full,
        swapped: false,
    }
}

/// One pair's timings, in seconds from the moment both jobs were asked for.
#[derive(Default, Clone)]
struct Pair {
    fg_first: f64,
    fg_done: f64,
    bg_done: f64,
    fg_tokens: usize,
    fg_gap: f64,
}

impl Pair {
    fn rate(&self) -> f64 {
        self.fg_tokens as f64 / (self.fg_done - self.fg_first).max(1e-9)
    }
}

/// Streamed-token times of the open case → (first, longest gap).
fn gaps(times: &[f64]) -> (f64, f64) {
    let first = times.first().copied().unwrap_or(0.0);
    let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    (first, gap)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn report(label: &str, pairs: &[Pair]) {
    let m = |f: fn(&Pair) -> f64| median(pairs.iter().map(f).collect());
    println!(
        "{label:<34} next case done {:>5.2} s | open case: first token {:>4.2} s, done {:>5.2} s, \
         {:>5.1} tok/s, longest gap {:>4.0} ms  (medians of {})",
        m(|p| p.bg_done),
        m(|p| p.fg_first),
        m(|p| p.fg_done),
        m(|p| p.rate()),
        m(|p| p.fg_gap * 1000.0),
        pairs.len()
    );
    for (i, p) in pairs.iter().enumerate() {
        println!(
            "    pair {i}: next {:.2} s, open {:.2} s (first token {:.2} s, {} tokens, {:.1} tok/s, gap {:.0} ms)",
            p.bg_done,
            p.fg_done,
            p.fg_first,
            p.fg_tokens,
            p.rate(),
            p.fg_gap * 1000.0
        );
    }
}

/// Part 1: through the worker thread, as the workbench talks to it.
fn through_worker(sequences: u32, cases: &[Case], pairs: usize) -> Vec<Pair> {
    let (tx, rx) = mpsc::channel::<(Instant, Event)>();
    let handle = JudgeHandle::spawn(
        config(sequences),
        Box::new(move |e| {
            let _ = tx.send((Instant::now(), e));
        }),
    );
    loop {
        match rx.recv().expect("worker alive").1 {
            Event::Ready(info) => {
                assert_eq!(info.sequences, sequences);
                break;
            }
            Event::Unavailable(m) => panic!("{m}"),
            _ => {}
        }
    }
    let mut job = 0u64;
    let wait_done = |handle: &JudgeHandle, reqs: Vec<JudgeRequest>, fg: JobId| {
        let t0 = Instant::now();
        let ids: Vec<JobId> = reqs.iter().map(|r| r.job).collect();
        for (i, r) in reqs.into_iter().enumerate() {
            handle.send(Command::Judge(Box::new(r)));
            if i == 0 && sequences > 1 {
                handle.send(Command::Prioritize(fg));
            }
        }
        let mut p = Pair::default();
        let mut times = Vec::new();
        let mut left = ids.len();
        while left > 0 {
            let (at, e) = rx.recv_timeout(Duration::from_secs(120)).expect("event");
            let t = at.duration_since(t0).as_secs_f64();
            match e {
                Event::Token { job, .. } if job == fg => times.push(t),
                Event::Done { job, judgment } => {
                    left -= 1;
                    if job == fg {
                        p.fg_done = t;
                        p.fg_tokens = judgment.tokens_generated.unwrap_or(0) as usize;
                    } else {
                        p.bg_done = t;
                    }
                }
                Event::Failed { error, .. } => panic!("{error}"),
                _ => {}
            }
        }
        (p.fg_first, p.fg_gap) = gaps(&times);
        p
    };
    // Warm-up: the shared prefix goes into the cache, as after the workbench's first case.
    job += 1;
    wait_done(&handle, vec![request(job, &cases[0])], JobId(job));
    let mut out = Vec::new();
    for k in 0..pairs {
        let (open, next) = (&cases[2 * k + 1], &cases[2 * k + 2]);
        let fg = JobId(job + 1);
        let reqs = vec![request(job + 1, open), request(job + 2, next)];
        job += 2;
        out.push(wait_done(&handle, reqs, fg));
    }
    out
}

/// Part 2: the engine's batched loop with a given background chunk.
fn through_engine(
    chunk: usize,
    hold: bool,
    join_after: usize,
    cases: &[Case],
    pairs: usize,
) -> Vec<Pair> {
    let cfg = config(2);
    let lm = LoadedModel::load(&cfg, |_| {}).expect("the default model loads");
    let mut engine = Engine::new(&lm, &cfg).expect("context");
    let opts = RunOptions::from_config(&cfg);
    let fg_job = std::cell::Cell::new(None::<JobId>);
    let foreground = || fg_job.get();
    let mut run = |reqs: Vec<JudgeRequest>| -> Pair {
        fg_job.set(Some(reqs[0].job));
        let fg = reqs[0].job;
        let mut queue: Vec<JudgeRequest> = reqs.into_iter().rev().collect();
        let t0 = Instant::now();
        let times = std::cell::RefCell::new(Vec::new());
        // The open case's request goes first; the next one once it has streamed
        // `join_after` tokens (0: at once, as when the reviewer opens a case).
        let mut next = || {
            if queue.len() == 1 && times.borrow().len() < join_after {
                return None;
            }
            queue.pop()
        };
        let mut p = Pair::default();
        engine
            .run_many_with(
                &opts,
                Some(Priority {
                    foreground: &foreground,
                    chunk,
                    hold,
                }),
                &mut next,
                &mut |req, prog| {
                    if req.job == fg && matches!(prog, Progress::Token(_)) {
                        times.borrow_mut().push(t0.elapsed().as_secs_f64());
                    }
                    Flow::Continue
                },
                &mut |req, r| {
                    let out = r.unwrap_or_else(|_| panic!("case {} judged", req.case.id));
                    let t = t0.elapsed().as_secs_f64();
                    if req.job == fg {
                        p.fg_done = t;
                        p.fg_tokens = out.stats.tokens_generated;
                    } else {
                        p.bg_done = t;
                    }
                },
            )
            .expect("batched judging");
        (p.fg_first, p.fg_gap) = gaps(&times.borrow());
        p
    };
    run(vec![request(1, &cases[0])]);
    (0..pairs)
        .map(|k| {
            run(vec![
                request(10 + 2 * k as u64, &cases[2 * k + 1]),
                request(11 + 2 * k as u64, &cases[2 * k + 2]),
            ])
        })
        .collect()
}

fn through_worker_report(cases: &[Case], pairs: usize) {
    println!("1. through the judge worker (the workbench's protocol):");
    let one = through_worker(1, cases, pairs);
    report("1 sequence (one after the other)", &one);
    let two = through_worker(2, cases, pairs);
    report(
        &format!(
            "2 sequences (chunk {BACKGROUND_CHUNK}{})",
            if HOLD_BACKGROUND { ", held" } else { "" }
        ),
        &two,
    );
    let m = |v: &[Pair], f: fn(&Pair) -> f64| median(v.iter().map(f).collect());
    println!(
        "   ratios 2 vs 1 sequence: next case done {:.2}x sooner; open case done {:.2}x later; \
         open case's rate {:.2}x",
        m(&one, |p| p.bg_done) / m(&two, |p| p.bg_done),
        m(&two, |p| p.fg_done) / m(&one, |p| p.fg_done),
        m(&two, |p| p.rate()) / m(&one, |p| p.rate()),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pairs: usize = args.first().map_or(3, |a| a.parse().expect("PAIRS"));
    // "32h": chunk 32, and the background case waits while the open one generates.
    let chunks: Vec<(usize, bool)> =
        args.get(1)
            .map_or(vec![(512, false), (32, false), (32, true)], |a| {
                a.split(',')
                    .map(|c| {
                        let hold = c.ends_with('h');
                        (c.trim_end_matches('h').parse().expect("CHUNKS"), hold)
                    })
                    .collect()
            });
    let cases = sample_cases().expect("sample cases");
    assert!(cases.len() > 2 * pairs, "not enough sample cases");
    println!(
        "default model, 2 threads; the reviewer opens a case and waits; {pairs} pairs of sample cases"
    );
    // A third argument `engine` skips part 1 (to keep each run under a few minutes).
    let worker = args.get(2).is_none_or(|a| a != "engine");
    if worker {
        through_worker_report(&cases, pairs);
    }
    println!(
        "2. through the engine, background chunk sizes (512: no priority); the next case joins \
         once the open case has streamed 20 tokens (the reviewer moved on and a new next case starts):"
    );
    for (c, hold) in chunks {
        let label = format!("2 sequences, chunk {c}{}", if hold { ", held" } else { "" });
        report(&label, &through_engine(c, hold, 20, &cases, pairs));
    }
}
