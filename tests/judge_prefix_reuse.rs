//! Sequential judging keeps the previous case's prompt in the KV cache and reuses it up to
//! where the next prompt departs from it (as llama-server reuses its slot's longest common
//! prefix): the shared instructions always, plus the conversation for the other order of a
//! swap check and the whole prompt but its last token for a case judged again. Real default
//! model.

use rubricate::judge::bench::sample_cases;
use rubricate::judge::engine::{Engine, Flow, LoadedModel, RunOptions, RunOutcome};
use rubricate::judge::sampler::Decision;
use rubricate::judge::{JobId, JudgeConfig, JudgeMode, JudgeRequest, config_from_select};

fn config() -> JudgeConfig {
    let select = rubricate::cli::ModelSelect {
        threads: Some(2),
        ..Default::default()
    };
    let mut c = config_from_select(&select, 42, true).expect("model config");
    c.sampler.temperature = 0.0;
    c.sampler.max_tokens = 6;
    c
}

/// Scores of the same choice after the same prompt may differ this much between prefills cut
/// into other chunks (ggml's CPU attention rounds differently by batch size; see
/// tests/judge_parallel.rs). A stale or misplaced cache entry gives other candidates on top
/// and gaps of several units.
const SCORE_TOLERANCE: f32 = 1.5;

fn assert_same_first_choice(x: &RunOutcome, y: &RunOutcome, what: &str) {
    let (a, b): (&Decision, &Decision) = (&x.stats.trace[0], &y.stats.trace[0]);
    assert_eq!(a.top[0].0, b.top[0].0, "{what}: another best candidate");
    for (t, s) in &a.top[..8] {
        let other = b.top.iter().find(|(u, _)| u == t).map(|(_, s)| *s);
        let other = other.unwrap_or_else(|| panic!("{what}: token {t} missing from the other run"));
        assert!(
            (s - other).abs() <= SCORE_TOLERANCE,
            "{what}: token {t} scores {s} vs {other}"
        );
    }
}

#[test]
fn the_previous_prompt_is_reused_up_to_where_the_next_departs() {
    let cfg = config();
    let cases = sample_cases().unwrap();
    let (c, d) = (&cases[0], &cases[1]);
    let lm = LoadedModel::load(&cfg, |_| {}).expect("the default model loads");
    let n_prefix = lm.prefix_len();
    let mut engine = Engine::new(&lm, &cfg).unwrap();
    let mut opts = RunOptions::from_config(&cfg);
    opts.trace = true;
    let cold = RunOptions {
        reuse_prefix: false,
        ..opts.clone()
    };
    let mut run = |case: &rubricate::domain::Case, swapped: bool, opts: &RunOptions| {
        let req = JudgeRequest {
            job: JobId(1),
            case: case.clone(),
            mode: JudgeMode::Full,
            swapped,
        };
        engine
            .run(&req, opts, &mut |_| Flow::Continue)
            .unwrap_or_else(|_| panic!("case {} judged", case.id))
    };

    // The first run after loading evaluates everything.
    let plain = run(c, false, &opts);
    assert_eq!(plain.stats.tokens_prefilled, plain.stats.tokens_prompt);

    // The other order: instructions and conversation are the same tokens, the answers not.
    let swapped = run(c, true, &opts);
    let n = swapped.stats.tokens_prompt;
    assert_eq!(n, plain.stats.tokens_prompt, "the same tokens, reordered");
    let shared = n - swapped.stats.tokens_prefilled;
    assert!(
        shared >= n_prefix + 10,
        "only {shared} of {n} tokens reused (instructions {n_prefix}): the conversation was evaluated again"
    );
    assert!(
        swapped.stats.tokens_prefilled > 10,
        "the answers differ, yet only {} tokens were evaluated",
        swapped.stats.tokens_prefilled
    );

    // The same prompt again: everything but the last token (evaluated for its logits).
    let again = run(c, true, &opts);
    assert_eq!(again.stats.tokens_prefilled, 1);

    // Against the whole prompt evaluated from an empty cache: the same next-token scores.
    let reference = run(c, true, &cold);
    assert_eq!(reference.stats.tokens_prefilled, n);
    assert_same_first_choice(&reference, &swapped, "reused conversation");
    assert_same_first_choice(&reference, &again, "reused prompt");

    // Another case: the instructions and the opening the cases share, nothing of the answers.
    let next = run(d, false, &opts);
    let own = next.stats.tokens_prompt - n_prefix;
    assert!(
        next.stats.tokens_prefilled < own && next.stats.tokens_prefilled + 20 > own,
        "{} of the case's own {own} tokens evaluated",
        next.stats.tokens_prefilled
    );
    let next_cold = run(d, false, &cold);
    assert_eq!(
        next_cold.stats.tokens_prefilled,
        next_cold.stats.tokens_prompt
    );
    assert_same_first_choice(&next_cold, &next, "another case after a reused prompt");
}
