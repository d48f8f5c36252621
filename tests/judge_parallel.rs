//! Batched judging (`judge --parallel N`): several cases as sequences of one llama.cpp batch,
//! with the real default model. Each case must get the same kind of judgment as when it is
//! judged alone: one per case, every stored field filled, verdict = most probable choice.

use rubricate::domain::{Case, NewJudgment, Verdict};
use rubricate::judge::bench::sample_cases;
use rubricate::judge::engine::{Engine, Flow, LoadedModel, RunOptions};
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

/// Greedy decoding (temperature 0) makes a case's judgment a function of its logits, so the
/// batched run must reach the same verdicts as judging the cases one at a time. Three cases
/// through two sequences (one is reused). Judgments are cut at 64 tokens to keep the test
/// short on a loaded machine: the verdict is then read after the appended opener, the same
/// path in both runs.
#[test]
fn batched_judgments_match_one_at_a_time_under_greedy_decoding() {
    let cases: Vec<Case> = sample_cases().unwrap().into_iter().take(3).collect();
    let mut cfg = config(2);
    cfg.sampler.temperature = 0.0;
    cfg.sampler.max_tokens = 64;
    let lm = LoadedModel::load(&cfg, |_| {}).expect("the default model loads");
    let opts = RunOptions::from_config(&cfg);

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
        alone.insert(i as u64, out.judgment);
    }
    drop(one);

    let mut many = Engine::new(&lm, &cfg).unwrap();
    assert_eq!(many.slots(), 2);
    let mut queue: Vec<JudgeRequest> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| request(i as u64, c, i % 2 == 1))
        .rev()
        .collect();
    let mut together: HashMap<u64, NewJudgment> = HashMap::new();
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
            assert!(
                together.insert(req.job.0, out.judgment).is_none(),
                "judged twice"
            );
        },
    )
    .unwrap();

    assert_eq!(together.len(), cases.len(), "one judgment per case");
    for (job, j) in &together {
        let a = &alone[job];
        assert_stored_fields(j);
        assert!(tokens_seen[job] > 0, "case {job} streamed nothing");
        assert_eq!(j.case_id, a.case_id);
        assert_eq!(j.swapped, a.swapped);
        assert_eq!(j.tokens_prompt, a.tokens_prompt, "same prompt");
        assert_eq!(
            j.verdict, a.verdict,
            "case {}: {} vs {}",
            j.case_id, j.raw, a.raw
        );
        let (pa, pb) = (j.p_a.unwrap(), a.p_a.unwrap());
        assert!(
            (pa - pb).abs() < 0.05,
            "case {}: P(A) {pa} batched vs {pb} alone",
            j.case_id
        );
    }
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
