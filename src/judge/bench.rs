//! `rubricate bench`: how fast the judge is on this machine, on the bundled sample cases.
//!
//! Every case is run without prefix reuse (the KV cache cleared, the whole prompt
//! prefilled), all cases first; then each in turn with prefix reuse (only what its prompt
//! does not share with the case before it is prefilled: the shared instructions and the
//! opening the cases have in common stay cached) and, back to back with that run so that
//! machine noise hits them alike, without the grammar. A fourth run applies the grammar to
//! the whole vocabulary at every token, the plain grammar-first chain, for comparison.

use super::api::{JobId, JudgeConfig, JudgeMode, JudgeRequest};
use super::config::config_from_select;
use super::engine::{Engine, Flow, LoadedModel, RunError, RunOptions, RunStats};
use crate::cli::BenchArgs;
use crate::domain::Case;
use crate::formats::import::import_bundled_sample;
use crate::store::Store;
use anyhow::{Context as _, Result, anyhow};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Unconstrained runs stop here: about the length of a grammar-bound judgment, so the rates
/// compare generation at similar context lengths.
const FREE_MAX_TOKENS: u32 = 256;

/// The bundled sample cases as the importer stores them (ids from 1, A/B placed by its
/// seeded shuffle), read back from an in-memory database: the bench's fixed workload.
pub fn sample_cases() -> Result<Vec<Case>> {
    let mut store = Store::open_in_memory()?;
    import_bundled_sample(&mut store)?;
    let mut cases = Vec::new();
    store.for_each_case(|c| {
        cases.push(c);
        Ok(())
    })?;
    Ok(cases)
}

fn run_once(engine: &mut Engine, case: &Case, opts: &RunOptions) -> Result<RunStats> {
    let req = JudgeRequest {
        job: JobId(case.id as u64),
        case: case.clone(),
        mode: JudgeMode::Full,
        swapped: false,
    };
    match engine.run(&req, opts, &mut |_| Flow::Continue) {
        Ok(out) => Ok(out.stats),
        Err(RunError::Failed(e)) => Err(anyhow!("case {}: {e}", case.id)),
        Err(RunError::Stopped) => Err(anyhow!("case {}: stopped", case.id)),
    }
}

struct Row {
    id: String,
    cold: RunStats,
    warm: RunStats,
    free: RunStats,
    naive: RunStats,
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

fn rate(
    runs: &[&RunStats],
    tokens: impl Fn(&RunStats) -> usize,
    ms: impl Fn(&RunStats) -> f64,
) -> f64 {
    let t: usize = runs.iter().map(|r| tokens(r)).sum();
    let m: f64 = runs.iter().map(|r| ms(r)).sum();
    if m > 0.0 { t as f64 * 1000.0 / m } else { 0.0 }
}

/// Peak resident memory of this process (Linux `VmHWM`), in MB.
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The bench's workload as files: `<case>.txt` (the whole prompt text, special tokens
/// written out), `grammar.gbnf` and `sampler.json`.
fn dump_prompts(
    lm: &LoadedModel,
    config: &JudgeConfig,
    cases: &[Case],
    dir: &Path,
) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    for case in cases {
        let id = case
            .source_id
            .clone()
            .unwrap_or_else(|| case.id.to_string());
        write(
            &format!("{id}.txt"),
            &format!(
                "{}{}",
                lm.frame().prefix,
                lm.case_text(case, false, &super::api::JudgeMode::Full)
            ),
        )?;
    }
    if let Some(g) = lm.profile.grammar(&super::api::JudgeMode::Full) {
        write("grammar.gbnf", &g.text)?;
    }
    let settings = serde_json::json!({ "sampler": config.sampler, "seed": config.seed });
    write("sampler.json", &serde_json::to_string_pretty(&settings)?)?;
    crate::outln!(
        "wrote {} prompts, grammar.gbnf and sampler.json to {}",
        cases.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let mut config = config_from_select(&args.model, 42, true)?;
    if let Some(b) = args.batch {
        anyhow::ensure!(b >= 32, "--batch must be at least 32");
        config.n_batch = b;
    }
    let say = |line: String| {
        if !args.json {
            crate::outln!("{line}");
        }
    };
    let load_start = Instant::now();
    let lm = LoadedModel::load(&config, |_| {}).map_err(anyhow::Error::msg)?;
    let load_ms = load_start.elapsed().as_secs_f64() * 1000.0;
    let mut engine = Engine::new(&lm, &config).map_err(anyhow::Error::msg)?;
    let cases: Vec<Case> = sample_cases()?
        .into_iter()
        .take(args.cases.max(1))
        .collect();
    if let Some(dir) = &args.dump_prompts {
        return dump_prompts(&lm, &config, &cases, dir);
    }
    let info = lm.info.clone();
    say(format!(
        "model {} ({}, {}), {} threads, batch {}, {} sample cases, shared prefix {} tokens, load {:.0} ms",
        info.file_name,
        info.quantization,
        info.template,
        info.threads,
        config.n_batch,
        cases.len(),
        lm.prefix_len(),
        load_ms
    ));

    let base = RunOptions::from_config(&config);
    let cold_opts = RunOptions {
        reuse_prefix: false,
        ..base.clone()
    };
    let warm_opts = base.clone();
    let mut free_opts = RunOptions {
        grammar: false,
        ..base.clone()
    };
    free_opts.sampler.max_tokens = FREE_MAX_TOKENS;
    let naive_opts = RunOptions {
        grammar_first: true,
        ..base.clone()
    };
    // One unmeasured run: first decodes allocate buffers.
    run_once(&mut engine, &cases[0], &warm_opts)?;

    say(format!(
        "{:<11} {:>6} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>6}",
        "case",
        "prompt",
        "ttft-cold",
        "ttft-warm",
        "case-cold",
        "case-warm",
        "gram/s",
        "free/s",
        "naive/s",
        "tokens"
    ));
    // Every cold run first, then the warm ones in order, so that each warm case follows
    // another case (as a job's cases do): what it reuses from the KV cache is the shared
    // prefix and whatever its prompt has in common with the case before it, never its own
    // prompt left by its cold run.
    let mut colds = Vec::with_capacity(cases.len());
    for case in &cases {
        colds.push(run_once(&mut engine, case, &cold_opts)?);
    }
    let mut rows = Vec::new();
    for (case, cold) in cases.iter().zip(colds) {
        let warm = run_once(&mut engine, case, &warm_opts)?;
        let (free, naive) = if args.quick {
            (RunStats::default(), RunStats::default())
        } else {
            (
                run_once(&mut engine, case, &free_opts)?,
                run_once(&mut engine, case, &naive_opts)?,
            )
        };
        let row = Row {
            id: case
                .source_id
                .clone()
                .unwrap_or_else(|| case.id.to_string()),
            cold,
            warm,
            free,
            naive,
        };
        let gen_rate = |r: &RunStats| r.tokens_generated as f64 * 1000.0 / r.ms_generate.max(1e-9);
        if args.json {
            let run = |r: &RunStats| {
                serde_json::json!({
                    "prompt_tokens": r.tokens_prompt,
                    "prefilled_tokens": r.tokens_prefilled,
                    "generated_tokens": r.tokens_generated,
                    "ms_prefill": r.ms_prefill,
                    "ms_first_token": r.ms_first_token,
                    "ms_generate": r.ms_generate,
                    "ms_total": r.ms_total,
                })
            };
            crate::outln!(
                "{}",
                serde_json::json!({"case": row.id, "cold": run(&row.cold), "warm": run(&row.warm)})
            );
        }
        if !args.json {
            crate::outln!(
                "{:<11} {:>6} {:>7.0}ms {:>7.0}ms {:>7.0}ms {:>7.0}ms {:>7.1} {:>7.1} {:>7.1} {:>6}",
                row.id,
                row.cold.tokens_prompt,
                row.cold.ms_first_token,
                row.warm.ms_first_token,
                row.cold.ms_total,
                row.warm.ms_total,
                gen_rate(&row.warm),
                gen_rate(&row.free),
                gen_rate(&row.naive),
                row.warm.tokens_generated,
            );
        }
        rows.push(row);
    }

    let colds: Vec<&RunStats> = rows.iter().map(|r| &r.cold).collect();
    let warms: Vec<&RunStats> = rows.iter().map(|r| &r.warm).collect();
    let frees: Vec<&RunStats> = rows.iter().map(|r| &r.free).collect();
    let naives: Vec<&RunStats> = rows.iter().map(|r| &r.naive).collect();
    let grammar_runs: Vec<&RunStats> = colds.iter().chain(warms.iter()).copied().collect();
    let prefill = rate(&colds, |r| r.tokens_prefilled, |r| r.ms_prefill);
    let gen_grammar = rate(&grammar_runs, |r| r.tokens_generated, |r| r.ms_generate);
    let gen_free = rate(&frees, |r| r.tokens_generated, |r| r.ms_generate);
    let gen_naive = rate(&naives, |r| r.tokens_generated, |r| r.ms_generate);
    let ttft_cold = median(colds.iter().map(|r| r.ms_first_token).collect());
    let ttft_warm = median(warms.iter().map(|r| r.ms_first_token).collect());
    let case_cold = median(colds.iter().map(|r| r.ms_total).collect());
    let case_warm = median(warms.iter().map(|r| r.ms_total).collect());
    let (direct, rescued, wide, full) =
        grammar_runs
            .iter()
            .fold((0u32, 0u32, 0u32, 0u32), |acc, r| {
                (
                    acc.0 + r.sampler.direct,
                    acc.1 + r.sampler.rescued,
                    acc.2 + r.sampler.wide,
                    acc.3 + r.sampler.full,
                )
            });
    let picks = (direct + rescued + wide + full).max(1) as f64;
    let reduction = if ttft_cold > 0.0 {
        100.0 * (1.0 - ttft_warm / ttft_cold)
    } else {
        0.0
    };

    let warm_prefill = rate(&warms, |r| r.tokens_prefilled, |r| r.ms_prefill);
    if args.json {
        crate::outln!(
            "{}",
            serde_json::json!({
                "summary": true,
                "batch": config.n_batch,
                "threads": info.threads,
                "cases": rows.len(),
                "prefix_tokens": lm.prefix_len(),
                "prefill_cold_tok_s": prefill,
                "prefill_warm_tok_s": warm_prefill,
                "generation_grammar_tok_s": gen_grammar,
                "ttft_cold_ms_median": ttft_cold,
                "ttft_warm_ms_median": ttft_warm,
                "case_cold_ms_median": case_cold,
                "case_warm_ms_median": case_warm,
                "load_ms": load_ms,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    crate::outln!();
    crate::outln!(
        "prefill                          {prefill:>8.1} tokens/s (whole prompt, cache cleared)"
    );
    crate::outln!(
        "prefill, case's own tokens       {warm_prefill:>8.1} tokens/s (after the cached prefix)"
    );
    crate::outln!("generation, unconstrained        {gen_free:>8.1} tokens/s");
    crate::outln!(
        "generation, grammar             {gen_grammar:>8.1} tokens/s ({:.2}x unconstrained)",
        gen_grammar / gen_free.max(1e-9)
    );
    crate::outln!(
        "generation, grammar-first chain  {gen_naive:>8.1} tokens/s (grammar over the whole vocabulary at every token)"
    );
    crate::outln!(
        "grammar checks                   {:.1}% taken as sampled, {:.1}% redrawn among the chain's candidates, {:.1}% among the best {}, {:.1}% full vocabulary",
        100.0 * direct as f64 / picks,
        100.0 * rescued as f64 / picks,
        100.0 * wide as f64 / picks,
        super::sampler::WIDE,
        100.0 * full as f64 / picks
    );
    crate::outln!(
        "time to first token (median)     {ttft_cold:>8.0} ms without prefix reuse, {ttft_warm:.0} ms with ({reduction:.0}% less)"
    );
    crate::outln!(
        "time per case (median)           {case_cold:>8.0} ms without prefix reuse, {case_warm:.0} ms with"
    );
    let capped = grammar_runs.iter().filter(|r| r.hit_max_tokens).count();
    crate::outln!("grammar runs that hit max_tokens {capped:>8}");
    match peak_memory_mb() {
        Some(mb) => crate::outln!("peak memory (VmHWM)              {mb:>8.1} MB"),
        None => crate::outln!("peak memory (VmHWM)              not available on this platform"),
    }
    Ok(ExitCode::SUCCESS)
}
