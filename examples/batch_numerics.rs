//! Why a case judged in a batch (`judge --parallel N`) may write a different greedy text than
//! the same case judged alone: the logits of one token at one position, computed three ways
//! in ONE sequence of ONE context (no other sequence involved), differ only by how many
//! tokens the decode call holds, i.e. by which of ggml's CPU attention kernels runs.
//!
//!     cargo run --release --example batch_numerics -- [CASES=3]
//!
//! For each sample case: prefill the prompt, take the most likely next token `t`, then get
//! the logits after `t` by decoding
//! - `t` alone (1 row: the decode path, which accumulates attention in F16),
//! - the last prompt token again with `t` (2 rows: the same small-batch kernel),
//! - the last 63 prompt tokens again with `t` (64 rows: the tiled kernel, F32 accumulators),
//!
//! and print the largest logit difference between them and the margin between the two best
//! tokens. In a batch, a case's next token shares the decode call with other cases' tokens
//! (64+ rows whenever another case is being prefilled), so it goes through whichever kernel
//! the batch as a whole selects. See docs/benchmarks.md, "Batched vs one at a time".

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;
use rubricate::judge::JudgeMode;
use rubricate::judge::bench::sample_cases;
use rubricate::judge::config_from_select;
use rubricate::judge::engine::{LoadedModel, PREFILL_CHUNK, backend};
use std::num::NonZeroU32;

fn main() -> Result<(), String> {
    let n_cases: usize = std::env::args()
        .nth(1)
        .map(|a| {
            a.parse()
                .map_err(|_| format!("CASES must be a number, not {a:?}"))
        })
        .transpose()?
        .unwrap_or(3);
    let select = rubricate::cli::ModelSelect {
        threads: Some(2),
        ..Default::default()
    };
    let cfg = config_from_select(&select, 42, true).map_err(|e| e.to_string())?;
    let lm = LoadedModel::load(&cfg, |_| {})?;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(lm.info.n_ctx))
        .with_n_batch(PREFILL_CHUNK as u32)
        .with_n_ubatch(PREFILL_CHUNK as u32)
        .with_n_threads(2)
        .with_n_threads_batch(2);
    let mut ctx = lm
        .model
        .new_context(backend()?, params)
        .map_err(|e| e.to_string())?;
    let mut batch = LlamaBatch::new(PREFILL_CHUNK, 1);
    let cases = sample_cases().map_err(|e| e.to_string())?;
    println!(
        "| case | prompt tokens | max abs diff 1 vs 2 rows | 1 vs 64 rows | 2 vs 64 rows | top-2 margin (1 row) | same argmax |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for case in cases.iter().take(n_cases) {
        let text = lm.case_text(case, false, &JudgeMode::Full);
        let mut prompt = lm.prefix_tokens.clone();
        prompt.extend(lm.model.vocab().tokenize(text.as_bytes(), false, true));
        let n = prompt.len();
        // Drop the cache from `pos` on, decode `tokens` there in chunks; the last token's logits.
        let mut run = |tokens: &[LlamaToken], pos: usize| -> Result<Vec<f32>, String> {
            ctx.clear_kv_cache_seq(Some(0), Some(pos as u32), None)
                .map_err(|e| e.to_string())?;
            let mut done = 0;
            for chunk in tokens.chunks(PREFILL_CHUNK) {
                batch.clear();
                for (i, t) in chunk.iter().enumerate() {
                    let last = done + i + 1 == tokens.len();
                    batch
                        .add(*t, (pos + done + i) as i32, &[0], last)
                        .map_err(|e| e.to_string())?;
                }
                ctx.decode(&mut batch).map_err(|e| e.to_string())?;
                done += chunk.len();
            }
            Ok(ctx.get_logits_ith(batch.n_tokens() - 1).to_vec())
        };
        let first = run(&prompt, 0)?;
        let t = LlamaToken::new(argmax(&first) as i32);
        // 1 row: `t` after the cached prompt.
        let one = run(&[t], n)?;
        // 2 rows: the last prompt token again, then `t`.
        let two = run(&[prompt[n - 1], t], n - 1)?;
        // 64 rows: the last 63 prompt tokens again, then `t`.
        let mut tail = prompt[n - 63..].to_vec();
        tail.push(t);
        let wide = run(&tail, n - 63)?;
        let (b1, m1) = top2(&one);
        println!(
            "| {} | {n} | {:.4} | {:.4} | {:.4} | {m1:.4} | {} |",
            case.id,
            max_diff(&one, &two),
            max_diff(&one, &wide),
            max_diff(&two, &wide),
            if b1 == argmax(&wide) && b1 == argmax(&two) {
                "yes"
            } else {
                "no"
            }
        );
    }
    Ok(())
}

fn argmax(x: &[f32]) -> usize {
    top2(x).0
}

/// Index of the largest value and its margin over the second largest.
fn top2(x: &[f32]) -> (usize, f32) {
    let (mut best, mut second) = (0, usize::MAX);
    for i in 1..x.len() {
        if x[i] > x[best] {
            second = best;
            best = i;
        } else if second == usize::MAX || x[i] > x[second] {
            second = i;
        }
    }
    (best, x[best] - x[second])
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
