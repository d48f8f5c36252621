//! `rubricate judge`, `rubricate model` and `rubricate bench`.

use super::api::{Command, Event, JobId, JudgeMode, JudgeRequest, ModelInfo};
use super::config::{Backend, backend_from_select};
use super::engine::LoadedModel;
use super::parse::{ParserSpec, parse_with};
use super::profile::{Profile, ProfileOrigin};
use super::prompt;
use super::worker::JudgeHandle;
use crate::cli::{BenchArgs, JudgeArgs, ModelArgs, ProfilesArgs};
use crate::context::Context;
use crate::domain::{JudgeProvenance, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict};
use crate::paths;
use crate::sanitize;
use crate::store::{CaseFilter, Store};
use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Most cases `judge --parallel` decodes at once (each needs its own share of the KV cache).
const MAX_PARALLEL: usize = 16;

/// Exit status after Ctrl-C, as shells report a SIGINT death.
const EXIT_INTERRUPTED: u8 = 130;

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
    // A server to ask whether it is still there when a job fails.
    let probe = match &backend {
        Backend::Local(_) if args.concurrency > 1 => bail!(
            "--concurrency {} needs a judge server (--judge-url URL): the in-process model judges one case at a time",
            args.concurrency
        ),
        Backend::Local(_) => None,
        Backend::Remote(rc) => Some(rc.connect().map_err(anyhow::Error::msg)?),
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C ends the process at once; the first one stops after the current save.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        EXIT_INTERRUPTED as i32,
        interrupted.clone(),
    )?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;

    let started = Instant::now();
    let pool = JudgePool::start(backend, args.concurrency)?;
    let info = pool.info.clone();
    let grammar = if args.no_grammar {
        "no grammar"
    } else {
        "grammar"
    };
    match &probe {
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
    let total = jobs.len();
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} cases · {msg} · ETA {eta}")
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let say = |line: String| {
        // A hidden bar (stderr is not a terminal) swallows println.
        if bar.is_hidden() {
            crate::errln!("{line}");
        } else {
            bar.println(line);
        }
    };

    let mut tally = Tally::default();
    let mut failures: Vec<JudgeFailure> = Vec::new();
    let mut queue = jobs.into_iter();
    // The in-process worker gets one case more than it decodes at once: the next case is
    // already waiting in its queue when one finishes, so storing a judgment here never
    // leaves the model idle.
    let mut free: Vec<usize> = match &probe {
        None => vec![0; args.parallel + 1],
        Some(_) => (0..pool.handles.len()).rev().collect(),
    };
    // job -> (worker, case, start)
    let mut in_flight: HashMap<JobId, (usize, i64, Instant)> = HashMap::new();
    let mut next_job = 1u64;
    let mut stopped: Option<String> = None;
    let mut cancel_sent = false;
    loop {
        let stopping = interrupted.load(Ordering::SeqCst) || stopped.is_some();
        while !stopping && let Some(&worker) = free.last() {
            let Some((case_id, swapped)) = queue.next() else {
                break;
            };
            let Some(case) = store.get_case(case_id)? else {
                continue;
            };
            free.pop();
            let job = JobId(next_job);
            next_job += 1;
            pool.handles[worker].send(Command::Judge(Box::new(JudgeRequest {
                job,
                case,
                mode: JudgeMode::Full,
                swapped,
            })));
            in_flight.insert(job, (worker, case_id, Instant::now()));
        }
        if in_flight.is_empty() {
            break;
        }
        if interrupted.load(Ordering::SeqCst) && !cancel_sent {
            for (job, (worker, _, _)) in &in_flight {
                pool.handles[*worker].send(Command::Cancel(*job));
            }
            cancel_sent = true;
        }
        let event = match pool.rx.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => {
                bar.set_message(progress_message(&tally, started));
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => bail!("the judge workers stopped"),
        };
        let Some(job) = event.job() else { continue };
        let Some(&(worker, case_id, _)) = in_flight.get(&job) else {
            continue;
        };
        match event {
            Event::Done { judgment, .. } => {
                in_flight.remove(&job);
                free.push(worker);
                store.insert_judgment(&judgment)?;
                tally.add(&judgment);
                bar.inc(1);
            }
            Event::Failed { error, .. } => {
                in_flight.remove(&job);
                free.push(worker);
                tally.failed += 1;
                // JSON escapes only C0 controls: what may reach a terminal is made visible here.
                failures.push(JudgeFailure {
                    case_id,
                    error: sanitize::visible_line(&error),
                });
                say(format!(
                    "case {case_id}: {}",
                    sanitize::visible_line(&error)
                ));
                bar.inc(1);
                // A failure because the server went away stops the run: the rest would fail too.
                if stopped.is_none()
                    && let Some(engine) = &probe
                    && let Err(e) = engine.server.models()
                {
                    stopped = Some(e);
                }
            }
            Event::Cancelled { .. } => {
                in_flight.remove(&job);
                free.push(worker);
            }
            _ => {}
        }
        bar.set_message(progress_message(&tally, started));
    }
    bar.finish_and_clear();
    let was_interrupted = interrupted.load(Ordering::SeqCst);
    let elapsed = started.elapsed().as_secs_f64();
    let rate = if (probe.is_some() || args.parallel > 1) && elapsed > 0.0 {
        // Several streams at once: what the batch achieved, not one stream's speed.
        tally.tokens as f64 / elapsed
    } else {
        tally.rate()
    };
    let left = total - tally.saved - tally.failed;
    let exit = if was_interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if tally.failed > 0 || stopped.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if args.json {
        let judge = match &probe {
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
            ok: !was_interrupted && tally.failed == 0 && stopped.is_none(),
            interrupted: was_interrupted,
            planned: total,
            saved: tally.saved,
            verdicts: VerdictCounts {
                a: tally.a,
                b: tally.b,
                tie: tally.tie,
                both_bad: tally.both_bad,
            },
            unparsed: tally.unparsed,
            failed: tally.failed,
            not_judged: left,
            failures,
            stopped: stopped.as_deref().map(sanitize::visible_line),
            seconds: elapsed,
            tokens_generated: tally.tokens,
            tokens_per_second: rate,
            cases_per_minute: tally.saved as f64 * 60.0 / elapsed.max(1e-9),
            judge: Some(judge),
        };
        crate::outln!("{}", serde_json::to_string_pretty(&summary)?);
        if let Some(why) = &stopped {
            crate::errln!(
                "stopped: {}; {left} case(s) not judged yet. Once the server is back, run the same command again to judge the rest.",
                sanitize::visible_line(why)
            );
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
        elapsed,
        tally.a,
        tally.b,
        tally.tie,
        tally.unparsed,
        tally.failed,
        rate,
        tally.saved as f64 * 60.0 / elapsed.max(1e-9),
        if was_interrupted && !args.rejudge {
            " (run the same command again to go on)"
        } else {
            ""
        }
    );
    if let Some(why) = &stopped {
        crate::errln!(
            "stopped: {}; {left} case(s) not judged yet. Once the server is back, run the same command again to judge the rest.",
            sanitize::visible_line(why)
        );
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
    seconds: f64,
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
struct JudgeFailure {
    case_id: i64,
    error: String,
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

/// Finished cases per minute and generated tokens per second since the start, all workers together.
fn progress_message(tally: &Tally, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    format!(
        "{:.1} cases/min · {:.0} tok/s",
        (tally.saved + tally.failed) as f64 * 60.0 / secs,
        tally.tokens as f64 / secs
    )
}

/// Workers that judge in parallel (one for the in-process model), with one event channel.
struct JudgePool {
    handles: Vec<JudgeHandle>,
    rx: Receiver<Event>,
    info: ModelInfo,
}

impl JudgePool {
    /// Start `n` workers and wait until each is ready; an unusable model or server is an
    /// error whose message says how to fix it.
    fn start(backend: Backend, n: usize) -> Result<JudgePool> {
        let (tx, rx) = mpsc::channel();
        let handles: Vec<JudgeHandle> = (0..n)
            .map(|_| {
                let tx = tx.clone();
                JudgeHandle::spawn_backend(
                    backend.clone(),
                    Box::new(move |e| {
                        let _ = tx.send(e);
                    }),
                )
            })
            .collect();
        drop(tx);
        let mut ready = 0;
        let mut info = ModelInfo::default();
        while ready < n {
            match rx.recv() {
                Ok(Event::Ready(i)) => {
                    info = i;
                    ready += 1;
                }
                Ok(Event::Unavailable(msg)) => bail!("{msg}"),
                Ok(_) => {}
                Err(_) => bail!("the judge worker stopped while loading the model"),
            }
        }
        Ok(JudgePool { handles, rx, info })
    }
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

#[derive(Default)]
struct Tally {
    saved: usize,
    a: usize,
    b: usize,
    tie: usize,
    both_bad: usize,
    unparsed: usize,
    failed: usize,
    tokens: u64,
    gen_ms: u64,
}

impl Tally {
    fn add(&mut self, j: &NewJudgment) {
        self.saved += 1;
        match j.verdict {
            Some(Verdict::A) => self.a += 1,
            Some(Verdict::B) => self.b += 1,
            Some(Verdict::Tie) => self.tie += 1,
            Some(Verdict::BothBad) => self.both_bad += 1,
            None => {}
        }
        if !j.parse_ok {
            self.unparsed += 1;
        }
        self.tokens += u64::from(j.tokens_generated.unwrap_or(0));
        self.gen_ms += u64::from(j.ms_generate.unwrap_or(0));
    }
    fn rate(&self) -> f64 {
        if self.gen_ms == 0 {
            0.0
        } else {
            self.tokens as f64 * 1000.0 / self.gen_ms as f64
        }
    }
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
    )
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
