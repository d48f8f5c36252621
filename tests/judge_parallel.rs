//! Batched judging (`judge --parallel N`): several cases as sequences of one llama.cpp batch,
//! with the real default model. Each case must get the same kind of judgment as when it is
//! judged alone: one per case, every stored field filled, verdict = most probable choice.

use rubricate::domain::{Case, NewJudgment, Verdict};
use rubricate::judge::bench::sample_cases;
use rubricate::judge::engine::{Engine, Flow, LoadedModel, RunOptions, RunOutcome};
use rubricate::judge::sampler::Decision;
use rubricate::judge::{JobId, JudgeConfig, JudgeMode, JudgeRequest, config_from_select};
use rubricate::store::Store;
use std::collections::HashMap;
use std::process::Command;

fn config(parallel: u32) -> JudgeConfig {
    let select = rubricate::cli::ModelSelect {
        threads: Some(2),
        ..Default::default()
    };
    let mut c = config_from_select(&select, 42, true).expect("model config");
    c.parallel = parallel;
    c
}

fn request(job: u64, case: &Case, swapped: bool) -> JudgeRequest {
    JudgeRequest {
        job: JobId(job),
        case: case.clone(),
        mode: JudgeMode::Full,
        swapped,
    }
}

fn most_probable(j: &NewJudgment) -> Option<Verdict> {
    let mut best: Option<(Verdict, f64)> = None;
    for (v, p) in [
        (Verdict::A, j.p_a),
        (Verdict::B, j.p_b),
        (Verdict::Tie, j.p_tie),
    ] {
        if let Some(p) = p
            && best.is_none_or(|(_, b)| p > b)
        {
            best = Some((v, p));
        }
    }
    best.map(|(v, _)| v)
}

fn assert_complete(j: &NewJudgment) {
    assert!(j.parse_ok, "{:?}: {}", j.parse_error, j.raw);
    assert!(j.rubric.as_deref().is_some_and(|r| !r.trim().is_empty()));
    assert!(j.analysis.as_deref().is_some_and(|r| !r.trim().is_empty()));
    assert_stored_fields(j);
}

/// What every judgment stores, parsed or cut short.
fn assert_stored_fields(j: &NewJudgment) {
    let sum = j.p_a.unwrap() + j.p_b.unwrap() + j.p_tie.unwrap();
    assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    assert_eq!(j.verdict, most_probable(j));
    assert!(j.verdict_sampled.is_some());
    assert!(j.tokens_prompt.unwrap() > 0 && j.tokens_generated.unwrap() > 0);
    assert!(j.ms_prefill.is_some() && j.ms_generate.is_some());
    assert_eq!(j.provenance.profile.as_deref(), Some("rubricate"));
    assert_eq!(j.provenance.backend.as_deref(), Some("llama.cpp"));
    assert!(j.seed.is_some() && !j.model_sha256.is_empty());
}

/// Score of `token` among a choice's traced candidates.
fn score(d: &Decision, token: i32) -> Option<f32> {
    d.top.iter().find(|(t, _)| *t == token).map(|(_, s)| *s)
}

/// Largest score difference between two traced choices over the tokens both list.
fn score_gap(x: &Decision, y: &Decision) -> f32 {
    x.top
        .iter()
        .filter_map(|(t, s)| score(y, *t).map(|o| (s - o).abs()))
        .fold(0.0, f32::max)
}

/// Scores of two runs of one case may differ by this much. Logits are in the tens, and the
/// same token at the same position gets logits up to 0.9 apart depending only on how many
/// rows its decode call holds (ggml's CPU attention accumulates in F16 on the small-batch
/// path, in F32 on the tiled one: `cargo run --release --example batch_numerics`,
/// docs/benchmarks.md "Batched vs one at a time"). A wrong logits row, position or prefix
/// gives another distribution altogether: other tokens on top, gaps of several units.
const SCORE_TOLERANCE: f32 = 1.5;

/// The best candidates of two runs' choices must be the same tokens: each run's best is
/// among the other's listed candidates.
fn same_candidates(x: &Decision, y: &Decision) -> bool {
    let best = |d: &Decision| d.top.first().map(|(t, _)| *t);
    best(x).is_some_and(|t| score(y, t).is_some()) && best(y).is_some_and(|t| score(x, t).is_some())
}

/// Greedy decoding (temperature 0) makes a case's text a function of its logits, so a case
/// judged in a batch must write what it writes alone, token for token, for as long as its
/// logits agree with the sequential run's, which they do up to the kernel-path rounding of
/// [`SCORE_TOLERANCE`]. So the guarantee tested is: every choice has the same best
/// candidates with scores within that tolerance; the texts are identical up to the first
/// choice whose two candidates are within that tolerance of each other (a near-tie, where
/// rounding may pick either); where the texts never part, the verdict's log-odds agree within
/// twice the tolerance (and the verdict itself, unless that close). A batched run repeated
/// gives the same texts bit for bit. Three cases through two sequences (one is reused),
/// judgments cut at `max_tokens`, so the verdict is read after the opener rubricate appends
/// (the forced-opener path of both loops). Returns how many cases wrote identical texts.
fn batched_against_alone(max_tokens: u32) -> usize {
    let cases: Vec<Case> = sample_cases().unwrap().into_iter().take(3).collect();
    let mut cfg = config(2);
    cfg.sampler.temperature = 0.0;
    cfg.sampler.max_tokens = max_tokens;
    let lm = LoadedModel::load(&cfg, |_| {}).expect("the default model loads");
    let mut opts = RunOptions::from_config(&cfg);
    opts.trace = true;

    let mut one = Engine::new(
        &lm,
        &JudgeConfig {
            parallel: 1,
            ..cfg.clone()
        },
    )
    .unwrap();
    let mut alone = HashMap::new();
    for (i, c) in cases.iter().enumerate() {
        let swapped = i % 2 == 1;
        let out = one
            .run(&request(i as u64, c, swapped), &opts, &mut |_| {
                Flow::Continue
            })
            .unwrap_or_else(|_| panic!("case {} judged alone", c.id));
        alone.insert(i as u64, out);
    }
    drop(one);

    let batched = || {
        let mut many = Engine::new(&lm, &cfg).unwrap();
        assert_eq!(many.slots(), 2);
        let mut queue: Vec<JudgeRequest> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| request(i as u64, c, i % 2 == 1))
            .rev()
            .collect();
        let mut together: HashMap<u64, RunOutcome> = HashMap::new();
        let mut tokens_seen: HashMap<u64, usize> = HashMap::new();
        many.run_many(
            &opts,
            &mut || queue.pop(),
            &mut |req, p| {
                if let rubricate::judge::engine::Progress::Token(_) = p {
                    *tokens_seen.entry(req.job.0).or_default() += 1;
                }
                Flow::Continue
            },
            &mut |req, r| {
                let out = r.unwrap_or_else(|_| panic!("case {} judged in the batch", req.case.id));
                assert!(together.insert(req.job.0, out).is_none(), "judged twice");
            },
        )
        .unwrap();
        (together, tokens_seen)
    };
    let (together, tokens_seen) = batched();
    // The same cases through the same sequences form the same batches: the same texts, bit
    // for bit (what varies with the batch is its composition, not the run).
    let (again, _) = batched();
    for (job, out) in &together {
        assert_eq!(
            out.judgment.raw, again[job].judgment.raw,
            "job {job} repeated"
        );
        assert_eq!(
            out.stats.trace, again[job].stats.trace,
            "job {job} repeated"
        );
    }

    assert_eq!(together.len(), cases.len(), "one judgment per case");
    let mut identical = 0;
    for (job, out) in &together {
        let (j, a) = (&out.judgment, &alone[job].judgment);
        let (tb, ta) = (&out.stats.trace, &alone[job].stats.trace);
        assert_stored_fields(j);
        assert!(tokens_seen[job] > 0, "case {job} streamed nothing");
        assert_eq!(j.case_id, a.case_id);
        assert_eq!(j.swapped, a.swapped);
        assert_eq!(j.tokens_prompt, a.tokens_prompt, "same prompt");
        assert!(!ta.is_empty() && !tb.is_empty(), "traced");
        let parted = ta.iter().zip(tb).position(|(x, y)| x.token != y.token);
        let shared = parted.unwrap_or(ta.len().min(tb.len()));
        for k in 0..shared {
            assert!(
                same_candidates(&ta[k], &tb[k]),
                "case {}: choice {k} has other candidates batched than alone: {:?} vs {:?}",
                j.case_id,
                &ta[k].top[..ta[k].top.len().min(4)],
                &tb[k].top[..tb[k].top.len().min(4)]
            );
        }
        let worst = (0..shared)
            .map(|k| score_gap(&ta[k], &tb[k]))
            .fold(0.0, f32::max);
        eprintln!(
            "case {}: {} choices alone, {} batched, identical for {shared}, largest score difference {worst:.5}",
            j.case_id,
            ta.len(),
            tb.len()
        );
        assert!(
            worst <= SCORE_TOLERANCE,
            "case {}: scores differ by {worst} while the texts agree",
            j.case_id
        );
        match parted {
            Some(k) => {
                // Both runs must have been nearly tied between the two tokens they chose.
                let (x, y) = (&ta[k], &tb[k]);
                let alone_margin = score(x, x.token).zip(score(x, y.token)).map(|(p, q)| p - q);
                let batched_margin = score(y, y.token).zip(score(y, x.token)).map(|(p, q)| p - q);
                eprintln!(
                    "case {}: texts part at choice {k}: token {} alone (margin {alone_margin:?}), {} batched (margin {batched_margin:?})",
                    j.case_id, x.token, y.token
                );
                for m in [alone_margin, batched_margin] {
                    let m = m.expect("both chosen tokens among the best candidates of both runs");
                    assert!(
                        m.abs() <= SCORE_TOLERANCE,
                        "case {}: texts part at choice {k} with a margin of {m}, not a near-tie:\n{}\nvs\n{}",
                        j.case_id,
                        j.raw,
                        a.raw
                    );
                }
            }
            None => {
                identical += 1;
                assert_eq!(ta.len(), tb.len(), "case {}: same length", j.case_id);
                assert_eq!(j.raw, a.raw, "case {}: same text", j.case_id);
                // Probabilities over the choices: their log-ratios are logit differences.
                let p = |x: &NewJudgment| [x.p_a.unwrap(), x.p_b.unwrap(), x.p_tie.unwrap()];
                let (pj, pa) = (p(j), p(a));
                let lo = |x: [f64; 3], i: usize, k: usize| (x[i] / x[k]).ln();
                let tol = 2.0 * SCORE_TOLERANCE as f64;
                for (i, k) in [(0, 1), (0, 2), (1, 2)] {
                    let (x, y) = (lo(pj, i, k), lo(pa, i, k));
                    assert!(
                        (x - y).abs() <= tol,
                        "case {}: log-odds {x} batched vs {y} alone",
                        j.case_id
                    );
                }
                eprintln!(
                    "case {}: same text; P(A,B,tie) {pj:.3?} batched, {pa:.3?} alone",
                    j.case_id
                );
                let mut sorted = pa;
                sorted.sort_by(|x, y| y.total_cmp(x));
                if (sorted[0] / sorted[1]).ln() > tol {
                    assert_eq!(j.verdict, a.verdict, "case {}", j.case_id);
                }
            }
        }
    }
    identical
}

/// Full-length texts part at near-ties (see [`batched_against_alone`]).
#[test]
fn batched_judgments_match_one_at_a_time_under_greedy_decoding() {
    batched_against_alone(64);
}

/// Cut after 4 tokens, before any near-tie seen here, so the texts are the same and the
/// verdicts read after the appended opener can be compared.
#[test]
fn batched_forced_opener_reads_the_same_verdict_as_alone() {
    let identical = batched_against_alone(4);
    assert!(
        identical >= 1,
        "no case wrote the same 4 tokens in both runs"
    );
}

/// `rubricate judge --parallel 3 --swap`: every case in both orders, each exactly once, every
/// stored field filled, as sequential judging stores them.
#[test]
fn judge_parallel_stores_one_complete_judgment_per_case_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rubricate"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .expect("run rubricate")
    };
    assert!(run(&["import", sample]).status.success());
    let out = run(&[
        "judge",
        "--parallel",
        "3",
        "--swap",
        "--limit",
        "1",
        "--threads",
        "2",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("3 cases at once"), "{err}");
    assert!(err.contains("saved 2 judgment(s)"), "{err}");
    let store = Store::open(&db).unwrap();
    let ids: Vec<i64> = sample_cases()
        .unwrap()
        .iter()
        .take(1)
        .map(|c| c.id)
        .collect();
    for id in ids {
        let all = store.judgments_for_case(id).unwrap();
        assert_eq!(all.len(), 2, "case {id}: one judgment per order");
        for swapped in [false, true] {
            let j = store.latest_judgment(id, swapped).unwrap().expect("judged");
            assert_complete(&j.j);
        }
    }
    // Refused where it means nothing.
    let bad = run(&["judge", "--parallel", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--parallel must be between"));
}
