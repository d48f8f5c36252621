//! `rubricate judge`, `rubricate model` and `rubricate bench`.

use super::api::{JudgeMode, ModelInfo};
use super::batch::{BatchJob, BatchJudge, JudgeFailure};
use super::config::{Backend, backend_from_select};
use super::engine::LoadedModel;
use super::parse::{ParserSpec, parse_with};
use super::profile::{Profile, ProfileOrigin};
use super::prompt;
use crate::cli::{BenchArgs, JudgeArgs, ModelArgs, ProfilesArgs};
use crate::context::Context;
use crate::domain::{JudgeProvenance, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict};
use crate::paths;
use crate::sanitize;
use crate::store::{CaseFilter, Store};
use anyhow::{Context as _, Result, bail};
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

/// Most cases `judge --parallel` decodes at once (each needs its own share of the KV cache).
const MAX_PARALLEL: usize = 16;

pub fn run_judge(ctx: &Context, args: &JudgeArgs) -> Result<ExitCode> {
    let _log = crate::logging::init_logging();
    if let Some(file) = &args.import {
        return import_judgments(ctx, file, args.json);
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if !(1..=MAX_PARALLEL).contains(&args.parallel) {
        bail!("--parallel must be between 1 and {MAX_PARALLEL}");
    }
    // A wrong profile is reported even when nothing is left to judge.
    let profile = Profile::select(
        args.model.profile.as_deref(),
        &crate::config::Config::load()?,
    )?;
    let store = ctx.open_store()?;
    let jobs = plan_jobs(&store, ctx, args)?;
    if jobs.is_empty() {
        crate::errln!(
            "nothing to judge: every case already has a judgment{} (use --rejudge to judge again, or `rubricate import` to add cases)",
            if args.swap { " and a swap check" } else { "" }
        );
        if args.json {
            // Nothing was loaded, so the judge is only named by what was asked for.
            let summary = JudgeSummary {
                ok: true,
                judge: None,
                ..JudgeSummary::default()
            };
            crate::outln!("{}", serde_json::to_string_pretty(&summary)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut backend = backend_from_select(&args.model, args.seed, !args.no_grammar)?;
    match &mut backend {
        Backend::Local(c) => c.parallel = args.parallel as u32,
        Backend::Remote(_) if args.parallel > 1 => bail!(
            "--parallel is for the in-process model; with a judge server use --concurrency {}",
            args.parallel
        ),
        Backend::Remote(_) => {}
    }
    let interrupted = super::batch::interrupt_flag()?;
    let load_started = std::time::Instant::now();
    let pool = BatchJudge::start(backend, args.concurrency)?;
    let seconds_load = load_started.elapsed().as_secs_f64();
    let info = pool.info().clone();
    let grammar = if args.no_grammar {
        "no grammar"
    } else {
        "grammar"
    };
    match pool.server() {
        None => crate::errln!(
            "judge: {} ({} threads, {}template {}, profile {} {}, {})",
            info.file_name,
            info.threads,
            if args.parallel > 1 {
                format!("{} cases at once, ", args.parallel)
            } else {
                String::new()
            },
            info.template,
            profile.name,
            profile.short_hash(),
            if profile.grammar(&JudgeMode::Full).is_none() {
                "no grammar"
            } else {
                grammar
            },
        ),
        Some(engine) => crate::errln!(
            "judge: {} at {} ({}, {} case(s) in flight, profile {} {}, {})",
            sanitize::visible_line(&engine.server.model),
            engine.server.display_url,
            engine.server.flavor.name(),
            args.concurrency,
            profile.name,
            profile.short_hash(),
            if engine.sends_grammar() && profile.grammar(&JudgeMode::Full).is_some() {
                "grammar"
            } else {
                "no grammar"
            },
        ),
    }
    let jobs = jobs
        .into_iter()
        .map(|(case_id, swapped)| BatchJob {
            case_id,
            swapped,
            mode: JudgeMode::Full,
        })
        .collect();
    let out = pool.run(&store, jobs, &interrupted, |j| {
        store.insert_judgment(j)?;
        Ok(())
    })?;
    let tally = &out.tally;
    let was_interrupted = out.interrupted;
    let rate = out.tokens_per_second(pool.server().is_some() || args.parallel > 1);
    let exit = out.exit_code();
    if args.json {
        let judge = match pool.server() {
            None => JudgeUsed {
                backend: "local",
                model: info.file_name.clone(),
                model_sha256: Some(info.sha256.clone()),
                server: None,
                threads: Some(info.threads),
                // Cases decoded together (`--parallel`).
                concurrency: args.parallel,
                profile: profile.name.clone(),
                profile_hash: profile.hash.clone(),
                grammar: !args.no_grammar && profile.grammar(&JudgeMode::Full).is_some(),
            },
            Some(engine) => JudgeUsed {
                backend: "server",
                model: sanitize::visible_line(&engine.server.model),
                model_sha256: None,
                server: Some(engine.server.display_url.clone()),
                threads: None,
                concurrency: args.concurrency,
                profile: profile.name.clone(),
                profile_hash: profile.hash.clone(),
                grammar: engine.sends_grammar(),
            },
        };
        let summary = JudgeSummary {
            ok: out.ok(),
            interrupted: was_interrupted,
            planned: out.planned,
            saved: tally.saved,
            verdicts: VerdictCounts {
                a: tally.a,
                b: tally.b,
                tie: tally.tie,
                both_bad: tally.both_bad,
            },
            unparsed: tally.unparsed,
            failed: tally.failed,
            not_judged: out.left(),
            failures: out.failures.clone(),
            stopped: out.stopped.as_deref().map(sanitize::visible_line),
            seconds: out.seconds,
            seconds_load,
            tokens_generated: tally.tokens,
            tokens_per_second: rate,
            cases_per_minute: out.cases_per_minute(),
            judge: Some(judge),
        };
        crate::outln!("{}", serde_json::to_string_pretty(&summary)?);
        if let Some(line) = out.stopped_line() {
            crate::errln!("{line}");
        }
        return Ok(exit);
    }
    crate::errln!(
        "{} {} judgment(s) in {:.1} s: A {}, B {}, tie {}, unparsed {}, failed {}; {:.0} tokens/s, {:.1} cases/min{}",
        if was_interrupted {
            "interrupted after saving"
        } else {
            "saved"
        },
        tally.saved,
        out.seconds,
        tally.a,
        tally.b,
        tally.tie,
        tally.unparsed,
        tally.failed,
        rate,
        out.cases_per_minute(),
        if was_interrupted && !args.rejudge {
            " (run the same command again to go on)"
        } else {
            ""
        }
    );
    if let Some(line) = out.stopped_line() {
        crate::errln!("{line}");
    }
    Ok(exit)
}

/// `judge --json`: what a run did, for scripts (keys documented in docs/cli-json.md).
#[derive(Debug, Default, serde::Serialize)]
struct JudgeSummary {
    ok: bool,
    interrupted: bool,
    /// Judgments the run set out to make (cases × orders).
    planned: usize,
    saved: usize,
    verdicts: VerdictCounts,
    unparsed: usize,
    failed: usize,
    not_judged: usize,
    failures: Vec<JudgeFailure>,
    stopped: Option<String>,
    /// Judging, from the judge being ready to the last judgment saved.
    seconds: f64,
    /// Loading the model and creating its context (in-process), or connecting to the
    /// server, before judging: once per run, not per case.
    seconds_load: f64,
    tokens_generated: u64,
    tokens_per_second: f64,
    cases_per_minute: f64,
    judge: Option<JudgeUsed>,
}

#[derive(Debug, Default, serde::Serialize)]
struct VerdictCounts {
    #[serde(rename = "A")]
    a: usize,
    #[serde(rename = "B")]
    b: usize,
    tie: usize,
    both_bad: usize,
}

#[derive(Debug, serde::Serialize)]
struct JudgeUsed {
    backend: &'static str,
    model: String,
    model_sha256: Option<String>,
    server: Option<String>,
    threads: Option<u32>,
    concurrency: usize,
    profile: String,
    profile_hash: String,
    grammar: bool,
}

/// (case, swapped) pairs to judge, in case order, limited to `--limit` cases.
fn plan_jobs(store: &Store, ctx: &Context, args: &JudgeArgs) -> Result<Vec<(i64, bool)>> {
    let mut jobs = Vec::new();
    let mut cases = 0usize;
    for id in store.case_ids(CaseFilter::All, &ctx.reviewer, None)? {
        if args.limit.is_some_and(|l| cases >= l) {
            break;
        }
        let mut any = false;
        for swapped in [false, true] {
            if swapped && !args.swap {
                continue;
            }
            if args.rejudge || store.latest_judgment(id, swapped)?.is_none() {
                jobs.push((id, swapped));
                any = true;
            }
        }
        cases += usize::from(any);
    }
    Ok(jobs)
}

/// One line of `judge --import`: the case (by source id or content hash) and the judge's raw
/// text. Other keys a pipeline carries along are ignored.
#[derive(Debug, serde::Deserialize)]
struct ImportLine {
    source_id: Option<String>,
    content_hash: Option<String>,
    raw: String,
    /// The judged order had A and B exchanged; the verdict is mapped back.
    #[serde(default)]
    swapped: bool,
    /// Model file name (or name) of the judge that wrote it.
    model: Option<String>,
    model_sha256: Option<String>,
    template_version: Option<String>,
    seed: Option<u32>,
    /// The profile (prompt contract) the judge was run with, if known; recorded by name.
    profile: Option<String>,
}

fn import_judgments(ctx: &Context, file: &Path, json: bool) -> Result<ExitCode> {
    let shown = file.display();
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("cannot open {shown}"))?,
    );
    let store = ctx.open_store()?;
    let mut pending: Vec<NewJudgment> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("{shown}:{n}: cannot read the line"))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: ImportLine = serde_json::from_str(&line).with_context(|| {
            format!("{shown}:{n}: not a judgment record (expected JSON with \"source_id\" or \"content_hash\", and \"raw\")")
        })?;
        let key = match (&rec.source_id, &rec.content_hash) {
            (Some(k), _) | (None, Some(k)) => k.clone(),
            (None, None) => bail!(
                "{shown}:{n}: the record names no case: add \"source_id\" or \"content_hash\""
            ),
        };
        let Some(case) = store.find_case(&key)? else {
            bail!(
                "{shown}:{n}: no case with source id or content hash {:?}; import the cases first (rubricate import FILE)",
                sanitize::visible_line(&key)
            );
        };
        pending.push(imported_judgment(case.id, &rec));
    }
    let tx = store.conn().unchecked_transaction()?;
    let (mut added, mut known) = (0usize, 0usize);
    for j in &pending {
        let duplicate = store.judgments_for_case(j.case_id)?.iter().any(|old| {
            old.j.origin == JudgmentOrigin::Import
                && old.j.swapped == j.swapped
                && old.j.raw == j.raw
        });
        if duplicate {
            known += 1;
        } else {
            store.insert_judgment(j)?;
            added += 1;
        }
    }
    tx.commit()?;
    let unparsed = pending.iter().filter(|j| !j.parse_ok).count();
    if json {
        let v = serde_json::json!({
            "ok": true,
            "file": file.display().to_string(),
            "imported": added,
            "already_present": known,
            "unparsed": unparsed,
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    crate::errln!(
        "imported {added} judgment(s) from {shown} ({known} already present, {unparsed} that did not parse; their raw text is kept)"
    );
    Ok(ExitCode::SUCCESS)
}

fn imported_judgment(case_id: i64, rec: &ImportLine) -> NewJudgment {
    // Every known shape is read; a named profile adds its own verdict choices (e.g. [[C]] = tie).
    let mut spec = ParserSpec::tolerant();
    if let Some(p) = rec.profile.as_deref().and_then(Profile::builtin) {
        spec.verdict = p.verdict_slot();
    }
    let parsed = parse_with(&rec.raw, spec);
    let map = |v: Verdict| if rec.swapped { v.swapped() } else { v };
    NewJudgment {
        case_id,
        origin: JudgmentOrigin::Import,
        swapped: rec.swapped,
        rubric_given: false,
        model_file: rec.model.clone().unwrap_or_else(|| "unknown".into()),
        model_sha256: rec.model_sha256.clone().unwrap_or_default(),
        template_version: rec
            .template_version
            .clone()
            .unwrap_or_else(|| "import".into()),
        grammar: false,
        sampler: SamplerSettings::default(),
        seed: rec.seed,
        rubric: parsed.rubric,
        analysis: parsed.analysis,
        verdict: parsed.verdict.map(map),
        p_a: None,
        p_b: None,
        p_tie: None,
        parse_ok: parsed.error.is_none(),
        parse_error: parsed.error,
        raw: rec.raw.clone(),
        tokens_prompt: None,
        tokens_generated: None,
        ms_prefill: None,
        ms_generate: None,
        provenance: JudgeProvenance {
            profile: rec.profile.clone(),
            ..Default::default()
        },
        judge_type: parsed.judge_type,
        solution: parsed.solution,
        verdict_sampled: None,
    }
}

pub fn run_model(args: &ModelArgs) -> Result<ExitCode> {
    let _log = crate::logging::init_logging();
    let config = match backend_from_select(&args.model, 0, true)? {
        Backend::Local(c) => c,
        Backend::Remote(rc) => {
            let engine = rc.connect().map_err(anyhow::Error::msg)?;
            let s = &engine.server;
            if args.json {
                let v = serde_json::json!({
                    "server": s.display_url.to_string(),
                    "kind": s.flavor.name(),
                    "model": s.model,
                    "grammar_sent": engine.sends_grammar(),
                });
                crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            crate::out!(
                "server         {}\nkind           {}\nmodel          {}\ngrammar        {}\n",
                s.display_url,
                s.flavor.name(),
                sanitize::visible_line(&s.model),
                if engine.sends_grammar() {
                    "sent with each request"
                } else {
                    "not sent (this server takes none rubricate knows)"
                }
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let lm = LoadedModel::load(&config, |_| {}).map_err(anyhow::Error::msg)?;
    if args.json {
        let i = &lm.info;
        let v = serde_json::json!({
            "path": i.path,
            "file": i.file_name,
            "size_bytes": i.size_bytes,
            "sha256": i.sha256,
            "default_model_verified": i.sha256 == paths::DEFAULT_MODEL_SHA256,
            "architecture": i.architecture,
            "parameters": i.n_params,
            "quantization": i.quantization,
            "context_trained": i.n_ctx_train,
            "context_used": i.n_ctx,
            "chat_template": i.template,
            "judge_prompt": prompt::template_version(),
            "prefix_tokens": lm.prefix_len(),
            "cpu_features": super::cpu::compiled_for(),
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    crate::out!("{}", describe_model(&lm.info, lm.prefix_len()));
    Ok(ExitCode::SUCCESS)
}

fn describe_model(info: &ModelInfo, prefix_tokens: usize) -> String {
    let default_note = if info.sha256 == paths::DEFAULT_MODEL_SHA256 {
        " (the default model, verified)"
    } else {
        ""
    };
    let template = if info.template == "gguf" {
        "the model's own (from the GGUF)".to_string()
    } else {
        format!("{} (named fallback)", info.template)
    };
    format!(
        "file           {}\nsize           {:.1} MB\nsha256         {}{default_note}\narchitecture   {}\nparameters     {:.1} M\nquantization   {}\ncontext        {} tokens trained, {} used by the judge\nchat template  {template}\njudge prompt   {} ({} shared prefix tokens)\n",
        info.path.display(),
        info.size_bytes as f64 / 1e6,
        info.sha256,
        info.architecture,
        info.n_params as f64 / 1e6,
        info.quantization,
        info.n_ctx_train,
        info.n_ctx,
        prompt::template_version(),
        prefix_tokens,
    ) + &describe_cpu_kernels(&super::cpu::compiled_for(), super::cpu::linked_avx512())
}

/// `recorded`: what build.rs saw in the GGML_* switches; `linked_avx512`: what the linked ggml
/// says. They differ when a switch was set in a target folder that already held a llama.cpp
/// build: llama-cpp-sys-2 only watches the GGML_* variables that were set when it last built.
fn describe_cpu_kernels(recorded: &[&str], linked_avx512: bool) -> String {
    let note = match (recorded.contains(&"avx512f"), linked_avx512) {
        (true, true) => "AVX-512 build",
        (false, false) => "AVX-512 off; RUBRICATE_CPU=avx512 builds it, see docs/benchmarks.md",
        (true, false) => {
            "AVX-512 was switched on but llama.cpp was not rebuilt with it: build in a fresh target \
             folder (scripts/cpu-env.sh does)"
        }
        (false, true) => "llama.cpp was built with AVX-512 although the switch is off now",
    };
    format!("cpu kernels    {} ({note})\n", recorded.join(", "))
}

/// `rubricate profiles`: every profile with its origin and content hash; a broken user
/// profile is listed with its error (and makes the exit status non-zero).
pub fn run_profiles(args: &ProfilesArgs) -> Result<ExitCode> {
    let list = Profile::list();
    let broken = list.iter().filter(|p| p.is_err()).count();
    if args.json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|p| match p {
                Ok(p) => serde_json::json!({
                    "name": p.name,
                    "origin": match &p.origin {
                        ProfileOrigin::BuiltIn => "built-in".to_string(),
                        ProfileOrigin::File(path) => path.display().to_string(),
                    },
                    "hash": p.hash,
                    "description": p.description,
                    "grammar": p.grammar(&JudgeMode::Full).is_some(),
                    "verdict_choices": p.verdict.choices.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
                    "max_tokens": p.sampler.max_tokens,
                    "n_ctx": p.n_ctx,
                }),
                Err(e) => serde_json::json!({ "error": format!("{e:#}") }),
            })
            .collect();
        crate::outln!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        crate::outln!(
            "{:<18} {:<14} {:<12}  description",
            "name",
            "origin",
            "hash"
        );
        for p in &list {
            match p {
                Ok(p) => crate::outln!(
                    "{:<18} {:<14} {:<12}  {}",
                    sanitize::visible_line(&p.name),
                    sanitize::visible_line(&p.origin.to_string()),
                    p.short_hash(),
                    sanitize::visible_line(&p.description)
                ),
                Err(e) => crate::outln!("error: {}", sanitize::visible_line(&format!("{e:#}"))),
            }
        }
    }
    Ok(if broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run_bench(_ctx: &Context, args: &BenchArgs) -> Result<ExitCode> {
    let _log = crate::logging::init_logging();
    super::bench::run(args)
}

#[cfg(test)]
mod tests {
    use super::describe_cpu_kernels;

    #[test]
    fn the_model_summary_says_when_the_switch_and_the_linked_llama_cpp_disagree() {
        let portable = ["avx", "avx2"];
        assert!(describe_cpu_kernels(&portable, false).contains("AVX-512 off"));
        let avx512 = ["avx2", "avx512f"];
        assert!(describe_cpu_kernels(&avx512, true).contains("AVX-512 build"));
        assert!(describe_cpu_kernels(&avx512, false).contains("not rebuilt"));
        assert!(describe_cpu_kernels(&portable, true).contains("switch is off"));
    }
}
