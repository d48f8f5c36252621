//! The part that talks to llama.cpp: load a model, prefill a case behind the cached shared
//! prefix, generate under the grammar, read the verdict probabilities.
//!
//! Everything here runs on one thread (the worker's, or the bench's): the context borrows
//! the model and neither may cross threads.

use super::api::{JobId, JudgeConfig, JudgeMode, JudgeRequest, JudgeStamp, ModelInfo};
use super::config;
use super::parse::{Parsed, Segment, StreamParser, Utf8Stream};
use super::profile::{Profile, RenderedPrompt};
use super::prompt::{self, PromptFrame};
use super::sampler::{self, JudgeSampler, SamplerStats};
use crate::domain::{JudgeProvenance, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

/// Tokens per decode call (the context's n_batch and n_ubatch). 512 is llama.cpp's own
/// default ubatch: a case's own prompt (typically 300–700 tokens after the shared prefix)
/// then goes in one or two full-size graph evaluations instead of 256 + a small, less
/// efficient tail. A cancel still lands within one chunk (about 1–2 s on 2 cores).
pub const PREFILL_CHUNK: usize = 512;

/// Most prompt tokens of a background case that share one batch with a watched case in
/// flight ([`Priority::chunk`]), so its stream goes on while the other case is prefilled.
/// Measured in docs/benchmarks.md ("Workbench prefetch on a second sequence").
pub const BACKGROUND_CHUNK: usize = 32;

/// Whether a background case waits while the watched one generates ([`Priority::hold`]).
/// It does not: the point of a second sequence is to judge it meanwhile. Holding it keeps
/// the watched stream's rate but then the second sequence saves nothing on 2 cores
/// (measured in docs/benchmarks.md).
pub const HOLD_BACKGROUND: bool = false;

/// llama.cpp's backend can be initialised once per process; every worker shares it.
pub fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // Before init, so that even the first messages go to the log file, not the terminal.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            super::cpu::check_this_cpu()?;
            LlamaBackend::init().map_err(|e| format!("llama.cpp failed to start: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A loaded model with what the prompt needs from it.
pub struct LoadedModel {
    pub model: LlamaModel,
    pub info: ModelInfo,
    frame: PromptFrame,
    /// The shared prefix, tokenized once; every case's prompt starts with exactly these.
    pub prefix_tokens: Vec<LlamaToken>,
    /// First token of each of the profile's verdict choices (A, B, and tie if it has one).
    verdict_tokens: Vec<LlamaToken>,
    pub profile: Profile,
}

/// Tokens kept free at the end of the context for the verdict opener, choice and closer.
const VERDICT_ROOM: usize = 32;

/// Names of llama.cpp's built-in chat templates offered as fallbacks.
pub const NAMED_TEMPLATES: &[&str] = &[
    "chatml",
    "gemma",
    "llama3",
    "llama2",
    "mistral-v7",
    "phi3",
    "phi4",
    "zephyr",
    "command-r",
    "deepseek3",
    "granite",
    "vicuna",
];

impl LoadedModel {
    /// Check the file, hash it, load it. `progress` sees values in 0..=1.
    pub fn load(
        config: &JudgeConfig,
        mut progress: impl FnMut(f32) + 'static,
    ) -> Result<LoadedModel, String> {
        let path = &config.model_path;
        progress(0.0);
        let summary = config::check_model_file(path)?;
        let sha256 = config::model_sha256(path).map_err(|e| format!("{e:#}"))?;
        config::verify_default_hash(path, &sha256)?;
        progress(0.1);
        let backend = backend()?;
        let params = LlamaModelParams::default().with_progress_callback(move |p| {
            progress(0.1 + 0.9 * p);
            true
        });
        let model = LlamaModel::load_from_file(backend, path, &params).map_err(|e| {
            format!(
                "llama.cpp could not load the judge model {}: {e}. The file may be damaged or of an \
                 architecture this llama.cpp does not know; pass --model PATH to use another GGUF file.",
                path.display()
            )
        })?;
        let (template, template_name) =
            choose_template(&model, config.template.as_deref(), summary.architecture())?;
        let profile = config.profile.clone();
        let frame = render_frame(&model, &template, profile.system.as_deref()).ok_or_else(|| {
            format!("the chat template {template_name:?} could not be applied; pass --template chatml (or another of {})", NAMED_TEMPLATES.join(", "))
        })?;
        let vocab = model.vocab();
        let prefix_tokens = vocab.tokenize(frame.prefix.as_bytes(), true, true);
        let first = |s: &str| vocab.tokenize(s.as_bytes(), false, false).first().copied();
        let verdict_tokens: Vec<LlamaToken> = profile
            .verdict
            .choices
            .iter()
            .filter_map(|(c, _)| first(c))
            .collect();
        let mut distinct = verdict_tokens.clone();
        distinct.sort_by_key(|t| t.0);
        distinct.dedup();
        if verdict_tokens.len() != profile.verdict.choices.len()
            || distinct.len() != verdict_tokens.len()
        {
            return Err(format!(
                "the model's vocabulary cannot tell the verdict choices {} of profile {} apart",
                profile
                    .verdict
                    .choices
                    .iter()
                    .map(|(c, _)| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                profile.name
            ));
        }
        let info = ModelInfo {
            path: path.clone(),
            file_name: file_name(path),
            sha256,
            size_bytes: summary.file_size,
            architecture: model
                .meta_val_str("general.architecture")
                .unwrap_or_else(|_| summary.architecture().unwrap_or("unknown").to_string()),
            n_params: model.n_params(),
            quantization: summary.quantization(),
            n_ctx_train: model.n_ctx_train(),
            n_ctx: config.n_ctx.min(model.n_ctx_train().max(512)),
            template: template_name,
            threads: config.threads,
            sequences: config.parallel.max(1),
            stamp: Box::new(JudgeStamp {
                template_version: profile.template_version(),
                backend: BACKEND.to_string(),
                profile: Some(profile.name.clone()),
                profile_hash: Some(profile.hash.clone()),
                server_model: None,
            }),
        };
        Ok(LoadedModel {
            model,
            info,
            frame,
            prefix_tokens,
            verdict_tokens,
            profile,
        })
    }

    /// The case-specific text that follows the shared prefix, for the loaded profile.
    pub fn case_text(&self, case: &crate::domain::Case, swapped: bool, mode: &JudgeMode) -> String {
        case_text(&self.frame, &self.profile.render(case, swapped, mode))
    }

    /// Tokens of the shared prefix (instructions), the same for every case.
    pub fn prefix_len(&self) -> usize {
        self.prefix_tokens.len()
    }

    pub fn frame(&self) -> &PromptFrame {
        &self.frame
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The GGUF's own template unless one is named; a named fallback when the file has none.
fn choose_template(
    model: &LlamaModel,
    requested: Option<&str>,
    architecture: Option<&str>,
) -> Result<(LlamaChatTemplate, String), String> {
    let named = |name: &str| -> Result<(LlamaChatTemplate, String), String> {
        let t = LlamaChatTemplate::new(name).map_err(|_| format!("bad template name {name:?}"))?;
        // llama.cpp knows a template by name only if it can render with it.
        let probe = [LlamaChatMessage::new("user".into(), "x".into()).map_err(|e| e.to_string())?];
        model.apply_chat_template(&t, &probe, true).map_err(|_| {
            format!(
                "unknown chat template {name:?}; use one of: {} (or leave --template out to use the model's own)",
                NAMED_TEMPLATES.join(", ")
            )
        })?;
        Ok((t, name.to_string()))
    };
    if let Some(name) = requested {
        return named(name);
    }
    match model.chat_template(None) {
        Ok(t) => Ok((t, "gguf".to_string())),
        Err(_) => {
            // No template in the file (e.g. the Gemma 3 270M GGUF): guess from the architecture.
            let guess = if architecture.is_some_and(|a| a.starts_with("gemma")) {
                "gemma"
            } else {
                "chatml"
            };
            named(guess)
        }
    }
}

/// The user turn, the end of the turn and the judge's turn header, and any prefill.
fn case_text(frame: &PromptFrame, rendered: &RenderedPrompt) -> String {
    let mut text = rendered.user.clone();
    text.push_str(&frame.suffix);
    text.push_str(&rendered.assistant_prefix);
    text
}

/// Render [system, user = sentinel] and split it; if the template drops the system turn,
/// the instructions open the user turn instead. A profile without a system prompt renders
/// the user turn alone.
fn render_frame(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    system: Option<&str>,
) -> Option<PromptFrame> {
    let msg = |role: &str, content: &str| LlamaChatMessage::new(role.into(), content.into()).ok();
    let Some(system) = system.map(str::trim_end) else {
        let r = model
            .apply_chat_template(template, &[msg("user", prompt::SENTINEL)?], true)
            .ok()?;
        return PromptFrame::split(&r);
    };
    let with_system = [msg("system", system)?, msg("user", prompt::SENTINEL)?];
    if let Ok(r) = model.apply_chat_template(template, &with_system, true)
        && let Some(f) = PromptFrame::split(&r)
        && f.prefix.contains(system)
    {
        return Some(f);
    }
    let inline = format!("{system}\n\n{}", prompt::SENTINEL);
    let r = model
        .apply_chat_template(template, &[msg("user", &inline)?], true)
        .ok()?;
    PromptFrame::split(&r)
}

/// Per-run choices (the bench varies them; the worker takes them from its config).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub grammar: bool,
    /// Keep the shared prefix in the KV cache between cases.
    pub reuse_prefix: bool,
    pub sampler: SamplerSettings,
    pub seed: u32,
    /// Apply the grammar to the whole vocabulary before every token (the plain chain,
    /// kept for the bench's comparison) instead of checking the sampled token first.
    pub grammar_first: bool,
    /// Keep every token choice's best candidates in [`RunStats::trace`] (for comparing runs).
    pub trace: bool,
}

impl RunOptions {
    pub fn from_config(c: &JudgeConfig) -> RunOptions {
        RunOptions {
            grammar: c.grammar,
            reuse_prefix: true,
            sampler: c.sampler.clone(),
            seed: c.seed,
            grammar_first: false,
            trace: false,
        }
    }
}

/// What the engine tells its caller while it runs; the answer says whether to go on.
pub enum Progress<'a> {
    Prefill {
        done: usize,
        total: usize,
    },
    Token(&'a Segment),
    /// Nothing to show; a chance to stop (between decode calls).
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

#[derive(Debug)]
pub enum RunError {
    /// The caller asked to stop.
    Stopped,
    Failed(String),
}

/// Timings and counts of one run, beyond what the judgment records.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub tokens_prompt: usize,
    /// Prompt tokens actually evaluated (the cached prefix is not).
    pub tokens_prefilled: usize,
    pub tokens_generated: usize,
    pub ms_prefill: f64,
    /// From the start of the run to the first generated token.
    pub ms_first_token: f64,
    pub ms_generate: f64,
    pub ms_total: f64,
    pub sampler: SamplerStats,
    pub hit_max_tokens: bool,
    /// Each token choice, when [`RunOptions::trace`] asked for it.
    pub trace: Vec<sampler::Decision>,
}

pub struct RunOutcome {
    pub judgment: NewJudgment,
    pub stats: RunStats,
}

pub struct Engine<'m> {
    lm: &'m LoadedModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    /// Tokens per decode call (the context's n_batch and n_ubatch).
    n_batch: usize,
    /// Cases that can be in flight at once (sequences besides the prefix's).
    slots: usize,
    /// Positions each case may use (its prompt and judgment).
    n_ctx_case: usize,
    /// How many prefix tokens are valid in the KV cache (sequence 0, from position 0).
    cached_prefix: usize,
    /// The case tokens valid in sequence 0 right after a complete cached prefix: the
    /// previous case's prompt (a case judged again, the other order of a swap check, or the
    /// next case sharing its opening) is reused up to where the new prompt departs from it,
    /// as llama-server reuses its slot's longest common prefix.
    cached_case: Vec<LlamaToken>,
}

impl<'m> Engine<'m> {
    pub fn new(lm: &'m LoadedModel, config: &JudgeConfig) -> Result<Engine<'m>, String> {
        let threads = config.threads.max(1) as i32;
        let n_batch = (config.n_batch.max(32)) as usize;
        let slots = config.parallel.max(1) as usize;
        let n_ctx_case = lm.info.n_ctx as usize;
        // Sequential judging uses sequence 0 alone; N cases at once use sequences 1..=N, each
        // starting from a copy of the prefix kept in sequence 0. One unified cache holds them
        // all, so the copied prefix is shared, not duplicated.
        let n_ctx = if slots == 1 {
            n_ctx_case
        } else {
            lm.prefix_tokens.len()
                + slots * (n_ctx_case - lm.prefix_tokens.len().min(n_ctx_case / 2))
        };
        let mut params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx as u32))
            .with_n_batch(n_batch as u32)
            .with_n_ubatch(n_batch as u32)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        if slots > 1 {
            params = params
                .with_n_seq_max(slots as u32 + 1)
                .with_kv_unified(true);
        }
        let ctx = lm
            .model
            .new_context(backend()?, params)
            .map_err(|e| format!("llama.cpp could not create a context of {n_ctx} tokens: {e}"))?;
        Ok(Engine {
            lm,
            ctx,
            batch: LlamaBatch::new(n_batch, slots as i32 + 1),
            n_batch,
            slots,
            n_ctx_case,
            cached_prefix: 0,
            cached_case: Vec::new(),
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.lm.info
    }

    /// How many cases [`Engine::run_many`] decodes together.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Decode `tokens` starting at position `pos` of sequence `seq`, in chunks; logits only
    /// for the last one.
    fn decode(
        &mut self,
        tokens: &[LlamaToken],
        pos: usize,
        seq: i32,
        on_chunk: &mut dyn FnMut(usize) -> Flow,
    ) -> Result<(), RunError> {
        let mut done = 0;
        for chunk in tokens.chunks(self.n_batch) {
            self.batch.clear();
            for (i, t) in chunk.iter().enumerate() {
                let last = done + i + 1 == tokens.len();
                self.batch
                    .add(*t, (pos + done + i) as i32, &[seq], last)
                    .map_err(|e| RunError::Failed(format!("batch: {e}")))?;
            }
            self.decode_batch()?;
            done += chunk.len();
            if on_chunk(done) == Flow::Stop {
                return Err(RunError::Stopped);
            }
        }
        Ok(())
    }

    fn decode_batch(&mut self) -> Result<(), RunError> {
        self.ctx.decode(&mut self.batch).map_err(|e| {
            self.cached_prefix = 0;
            RunError::Failed(format!("llama.cpp decode failed: {e}"))
        })
    }

    /// Index of the last token's logits in the current batch.
    fn last_logits(&self) -> i32 {
        self.batch.n_tokens() - 1
    }

    /// Make sure sequence 0 holds the shared prefix (and nothing after it unless `keep_rest`).
    fn ensure_prefix(&mut self, on: &mut dyn FnMut(usize) -> Flow) -> Result<(), RunError> {
        let n_prefix = self.lm.prefix_tokens.len();
        if self.cached_prefix == n_prefix {
            return Ok(());
        }
        self.ctx.clear_kv_cache();
        self.cached_prefix = 0;
        self.cached_case.clear();
        let prefix = self.lm.prefix_tokens.clone();
        self.decode(&prefix, 0, 0, on)?;
        self.cached_prefix = n_prefix;
        Ok(())
    }

    /// Judge one case. `on` sees prefill progress and every generated section text; it may stop the run.
    ///
    /// The verdict is read, never sampled: generation runs until the profile's verdict opener
    /// (`<verdict>`, `<answer>[[`, `[[`) — written by the model, or by rubricate once the
    /// grammar is complete — and the probabilities of the choices are read from the logits
    /// right after it. The stored verdict is the most probable choice; the choice the sampler
    /// would have drawn is kept apart. If the model stops (end of text or the token limit)
    /// without writing the opener, rubricate appends it, reads the verdict the same way and
    /// marks the judgment as not parsed, saying so.
    pub fn run(
        &mut self,
        req: &JudgeRequest,
        opts: &RunOptions,
        on: &mut dyn FnMut(Progress) -> Flow,
    ) -> Result<RunOutcome, RunError> {
        let started = Instant::now();
        let lm = self.lm;
        let case_tokens = self.case_tokens(req)?;
        let n_prefix = lm.prefix_tokens.len();
        let n_prompt = n_prefix + case_tokens.len();

        // Prefill: keep the cached prefix and as much of the previous case's prompt as this
        // one shares (at least one token is evaluated, for the logits); drop the rest.
        let reuse = opts.reuse_prefix && self.cached_prefix == n_prefix;
        let start = if reuse {
            let shared = common_prefix(&self.cached_case, &case_tokens)
                .min(case_tokens.len().saturating_sub(1));
            self.cached_case.truncate(shared);
            let start = n_prefix + shared;
            self.ctx
                .clear_kv_cache_seq(Some(0), Some(start as u32), None)
                .map_err(|e| RunError::Failed(format!("KV cache: {e}")))?;
            start
        } else {
            self.ctx.clear_kv_cache();
            self.cached_prefix = 0;
            self.cached_case.clear();
            0
        };
        let mut prompt_tokens = Vec::with_capacity(n_prompt);
        prompt_tokens.extend_from_slice(&lm.prefix_tokens);
        prompt_tokens.extend_from_slice(&case_tokens);
        let to_eval = prompt_tokens[start..].to_vec();
        let total = to_eval.len();
        on(Progress::Prefill { done: 0, total });
        let mut evaluated = 0;
        {
            let mut on_chunk = |done: usize| {
                evaluated = done;
                on(Progress::Prefill { done, total })
            };
            let r = self.decode(&to_eval, start, 0, &mut on_chunk);
            // A stop keeps what was evaluated (the prefix, if it got that far, and the case
            // tokens after it); a failed decode leaves the cache in doubt, so the next run
            // starts from scratch.
            let end = start + evaluated;
            match &r {
                Err(RunError::Failed(_)) => {
                    self.cached_prefix = 0;
                    self.cached_case.clear();
                }
                _ if end >= n_prefix => {
                    self.cached_prefix = n_prefix;
                    let from = start.max(n_prefix) - n_prefix;
                    self.cached_case
                        .extend_from_slice(&case_tokens[from..end - n_prefix]);
                }
                _ => {}
            }
            r?;
        }
        let mut case = CaseRun::new(lm, req, opts, started, n_prompt, total, self.n_ctx_case)?;
        let mut idx = self.last_logits();
        loop {
            match case.step(&self.ctx, idx, on)? {
                Step::Decode(token) => {
                    self.batch.clear();
                    self.batch
                        .add(token, case.pos as i32, &[0], true)
                        .map_err(|e| RunError::Failed(format!("batch: {e}")))?;
                    self.decode_batch()?;
                    case.pos += 1;
                    idx = 0;
                    if on(Progress::Tick) == Flow::Stop {
                        return Err(RunError::Stopped);
                    }
                }
                Step::Verdict(tail) => {
                    self.decode(&tail, case.pos, 0, &mut |_| Flow::Continue)?;
                    case.pos += tail.len();
                    case.probs = Some(self.read_choices(self.last_logits()));
                    break;
                }
                Step::End => break,
            }
        }
        if let Some(tokens) = case.forced_opener(on) {
            self.decode(&tokens, case.pos, 0, &mut |_| Flow::Continue)?;
            case.pos += tokens.len();
            let probs = self.read_choices(self.last_logits());
            case.opener_read(probs, on);
        }
        Ok(case.finish(on))
    }

    /// The case's own tokens (after the shared prefix), refused if the case cannot fit.
    fn case_tokens(&self, req: &JudgeRequest) -> Result<Vec<LlamaToken>, RunError> {
        let lm = self.lm;
        let case_text = lm.case_text(&req.case, req.swapped, &req.mode);
        let case_tokens = lm.model.vocab().tokenize(case_text.as_bytes(), false, true);
        let n_prompt = lm.prefix_tokens.len() + case_tokens.len();
        let n_ctx = self.n_ctx_case;
        // Room for at least a short judgment and the verdict.
        if n_prompt + 2 * VERDICT_ROOM > n_ctx {
            return Err(RunError::Failed(format!(
                "case {} is too long for the judge: {n_prompt} prompt tokens, the context holds {n_ctx}",
                req.case.id
            )));
        }
        Ok(case_tokens)
    }

    /// Probabilities of the profile's choices at batch position `idx`.
    fn read_choices(&self, idx: i32) -> Vec<f64> {
        sampler::choice_probabilities(self.ctx.get_logits_ith(idx), &self.lm.verdict_tokens)
    }

    /// Judge several cases at once: each in its own sequence (a copy of the cached prefix),
    /// all of them advanced by one llama.cpp batch per step, each with its own sampler,
    /// grammar and parser. A case that finishes frees its sequence for the next one from
    /// `next`, whose suffix is prefilled in the same batches as the others' next tokens.
    ///
    /// `next` hands out requests (None: nothing more to start now); `on` sees each case's
    /// progress (a Stop from it cancels that case only) and `done` each outcome.
    pub fn run_many(
        &mut self,
        opts: &RunOptions,
        next: &mut dyn FnMut() -> Option<JudgeRequest>,
        on: &mut dyn FnMut(&JudgeRequest, Progress) -> Flow,
        done: &mut dyn FnMut(JudgeRequest, Result<RunOutcome, RunError>),
    ) -> Result<(), String> {
        self.run_many_with(opts, None, next, on, done)
    }

    /// [`Engine::run_many`] with one case put first: `priority` names the job someone is
    /// watching (asked before every batch). Its next token and prompt go into each batch
    /// first, and while it is in flight any other case's prompt goes in at most `chunk`
    /// tokens per batch, so a case joining in the background does not freeze the watched
    /// case's stream for a whole prefill batch (512 tokens: about 1.5 s on 2 cores).
    pub fn run_many_with(
        &mut self,
        opts: &RunOptions,
        priority: Option<Priority<'_>>,
        next: &mut dyn FnMut() -> Option<JudgeRequest>,
        on: &mut dyn FnMut(&JudgeRequest, Progress) -> Flow,
        done: &mut dyn FnMut(JudgeRequest, Result<RunOutcome, RunError>),
    ) -> Result<(), String> {
        let n_prefix = self.lm.prefix_tokens.len();
        let mut slots: Vec<Option<Slot<'m>>> = (0..self.slots).map(|_| None).collect();
        loop {
            // Fill free sequences with whatever is waiting now.
            let mut exhausted = false;
            for (i, slot) in slots.iter_mut().enumerate() {
                if slot.is_some() || exhausted {
                    continue;
                }
                let Some(req) = next() else {
                    exhausted = true;
                    continue;
                };
                let started = Instant::now();
                match self.case_tokens(&req) {
                    Err(e) => done(req, Err(e)),
                    Ok(tokens) => {
                        if let Err(e) = self.ensure_prefix(&mut |_| Flow::Continue) {
                            let msg = match &e {
                                RunError::Failed(m) => m.clone(),
                                RunError::Stopped => "stopped".into(),
                            };
                            done(req, Err(e));
                            return Err(msg);
                        }
                        let seq = i as i32 + 1;
                        // The sequence's old case (if any) goes; the prefix is shared from sequence 0.
                        self.ctx
                            .clear_kv_cache_seq(Some(seq as u32), None, None)
                            .map_err(|e| format!("KV cache: {e}"))?;
                        self.ctx
                            .copy_kv_cache_seq(0, seq, Some(0), Some(n_prefix as u32))
                            .map_err(|e| format!("KV cache: {e}"))?;
                        on(
                            &req,
                            Progress::Prefill {
                                done: 0,
                                total: tokens.len(),
                            },
                        );
                        *slot = Some(Slot {
                            req,
                            started,
                            seq,
                            state: SlotState::Prefill { tokens, done: 0 },
                            case: None,
                            idx: -1,
                            held: false,
                        });
                    }
                }
            }
            if slots.iter().all(Option::is_none) {
                return Ok(());
            }
            // The watched case, if it is in flight here.
            let first = priority.as_ref().and_then(|p| {
                let job = (p.foreground)()?;
                slots
                    .iter()
                    .position(|s| s.as_ref().is_some_and(|s| s.req.job == job))
            });
            let limit = priority.as_ref().map_or(usize::MAX, |p| p.chunk.max(1));
            // With `hold`, the other cases wait while the watched one generates.
            let hold = priority.as_ref().is_some_and(|p| p.hold)
                && first.is_some_and(|f| slots[f].as_ref().is_some_and(|s| s.case.is_some()));
            // One batch: every generating case's next token first, then prompt tokens.
            self.batch.clear();
            let mut room = self.n_batch;
            for (i, slot) in slots.iter_mut().enumerate() {
                let Some(slot) = slot.as_mut() else {
                    continue;
                };
                slot.idx = -1;
                slot.held = hold && first != Some(i) && matches!(slot.state, SlotState::Token(_));
                if slot.held {
                    continue;
                }
                if let SlotState::Token(t) = slot.state {
                    let case = slot.case.as_mut().expect("a generating slot has its case");
                    self.batch
                        .add(t, case.pos as i32, &[slot.seq], true)
                        .map_err(|e| format!("batch: {e}"))?;
                    slot.idx = self.batch.n_tokens() - 1;
                    room -= 1;
                }
            }
            // The watched case's prompt first; the others' in small pieces while it is in flight.
            let order = first
                .into_iter()
                .chain((0..slots.len()).filter(|i| Some(*i) != first));
            for i in order {
                let Some(slot) = slots[i].as_mut() else {
                    continue;
                };
                let held_back = first.is_some_and(|f| f != i);
                let (tokens, from, pos0) = match &slot.state {
                    SlotState::Prefill { tokens, done } => (tokens, *done, n_prefix),
                    SlotState::Tail { tokens, done } => {
                        let case = slot.case.as_ref().expect("a verdict tail has its case");
                        (tokens, *done, case.pos - done)
                    }
                    SlotState::Token(_) => continue,
                };
                let mut take = (tokens.len() - from).min(room);
                if held_back && matches!(slot.state, SlotState::Prefill { .. }) {
                    take = take.min(limit);
                }
                if take == 0 {
                    continue;
                }
                for (k, t) in tokens[from..from + take].iter().enumerate() {
                    let last = from + k + 1 == tokens.len();
                    self.batch
                        .add(*t, (pos0 + from + k) as i32, &[slot.seq], last)
                        .map_err(|e| format!("batch: {e}"))?;
                }
                room -= take;
                let n = from + take;
                if n == tokens.len() {
                    slot.idx = self.batch.n_tokens() - 1;
                }
                match &mut slot.state {
                    SlotState::Prefill { done, .. } | SlotState::Tail { done, .. } => *done = n,
                    SlotState::Token(_) => {}
                }
                if let Some(c) = slot.case.as_mut()
                    && matches!(slot.state, SlotState::Tail { .. })
                {
                    c.pos += take;
                }
            }
            if let Err(RunError::Failed(e)) = self.decode_batch() {
                // The cache is in doubt: every case in flight fails, the prefix is rebuilt.
                for slot in slots.iter_mut() {
                    if let Some(s) = slot.take() {
                        done(s.req, Err(RunError::Failed(e.clone())));
                    }
                }
                self.cached_prefix = 0;
                continue;
            }
            // Read each case whose logits this batch produced.
            for slot_ref in slots.iter_mut() {
                let Some(slot) = slot_ref.as_mut().filter(|s| !s.held) else {
                    continue;
                };
                let result = self.advance(slot, opts, on);
                match result {
                    Ok(false) => {}
                    Ok(true) => {
                        let s = slot_ref.take().expect("slot present");
                        let case = s.case.expect("a finished slot has its case");
                        let req = s.req;
                        let mut on_case = |p: Progress| on(&req, p);
                        let out = case.finish(&mut on_case);
                        done(req, Ok(out));
                    }
                    Err(e) => {
                        let s = slot_ref.take().expect("slot present");
                        done(s.req, Err(e));
                    }
                }
            }
        }
    }

    /// After a batch: move one case on. Ok(true) when its judgment is complete.
    fn advance(
        &mut self,
        slot: &mut Slot<'m>,
        opts: &RunOptions,
        on: &mut dyn FnMut(&JudgeRequest, Progress) -> Flow,
    ) -> Result<bool, RunError> {
        let req = &slot.req;
        let mut on_case = |p: Progress| on(req, p);
        match &slot.state {
            SlotState::Prefill { tokens, done } => {
                let total = tokens.len();
                if on_case(Progress::Prefill { done: *done, total }) == Flow::Stop {
                    return Err(RunError::Stopped);
                }
                if *done < total || slot.idx < 0 {
                    return Ok(false);
                }
                let n_prompt = self.lm.prefix_tokens.len() + total;
                slot.case = Some(CaseRun::new(
                    self.lm,
                    req,
                    opts,
                    slot.started,
                    n_prompt,
                    total,
                    self.n_ctx_case,
                )?);
            }
            SlotState::Tail { tokens, done } => {
                if *done < tokens.len() || slot.idx < 0 {
                    return Ok(false);
                }
                let probs = self.read_choices(slot.idx);
                let case = slot.case.as_mut().expect("tail has its case");
                if case.probs.is_none() && case.forced.is_none() && case.pending_forced {
                    case.opener_read(probs, &mut on_case);
                } else {
                    case.probs = Some(probs);
                }
                return Ok(true);
            }
            SlotState::Token(_) => {
                if on_case(Progress::Tick) == Flow::Stop {
                    return Err(RunError::Stopped);
                }
                slot.case.as_mut().expect("generating").pos += 1;
            }
        }
        let case = slot.case.as_mut().expect("case started");
        match case.step(&self.ctx, slot.idx, &mut on_case)? {
            Step::Decode(t) => {
                slot.state = SlotState::Token(t);
                Ok(false)
            }
            Step::Verdict(tokens) => {
                slot.state = SlotState::Tail { tokens, done: 0 };
                Ok(false)
            }
            Step::End => match case.forced_opener(&mut on_case) {
                Some(tokens) => {
                    case.pending_forced = true;
                    slot.state = SlotState::Tail { tokens, done: 0 };
                    Ok(false)
                }
                None => Ok(true),
            },
        }
    }
}

/// Which case [`Engine::run_many_with`] puts first, and how much of another case's prompt
/// may share a batch with it.
pub struct Priority<'a> {
    /// The job being watched now, if any (it may change between batches).
    pub foreground: &'a dyn Fn() -> Option<JobId>,
    /// Most prompt tokens of any other case per batch while the watched case is in flight.
    pub chunk: usize,
    /// Other cases generate only while the watched case does not (their prompts still go
    /// in, `chunk` tokens per batch).
    pub hold: bool,
}

/// One sequence of [`Engine::run_many`].
struct Slot<'m> {
    req: JudgeRequest,
    started: Instant,
    seq: i32,
    state: SlotState,
    /// Set once the prompt is in the cache.
    case: Option<CaseRun<'m>>,
    /// Where this case's logits are in the batch just decoded (-1: none).
    idx: i32,
    /// Left out of the batch just decoded (waiting for the watched case).
    held: bool,
}

enum SlotState {
    /// The case's own tokens, `done` of them in the cache.
    Prefill {
        tokens: Vec<LlamaToken>,
        done: usize,
    },
    /// A sampled token to decode next.
    Token(LlamaToken),
    /// Tokens up to the verdict opener, then the verdict is read.
    Tail {
        tokens: Vec<LlamaToken>,
        done: usize,
    },
}

/// What a case needs decoded next.
enum Step {
    /// This token, at the case's next position, with logits.
    Decode(LlamaToken),
    /// These tokens (ending with the verdict opener); then read the verdict from the last.
    Verdict(Vec<LlamaToken>),
    /// Generation is over (end of text, the token limit, or the verdict section closed).
    End,
}

/// One case from its prefilled prompt to its judgment: sampler, grammar, parser, text so far.
/// The engine decodes what it asks for, in whatever batch and sequence it likes.
struct CaseRun<'m> {
    lm: &'m LoadedModel,
    req: JudgeRequest,
    opts: RunOptions,
    started: Instant,
    gen_started: Instant,
    n_prompt: usize,
    prefilled: usize,
    ms_prefill: f64,
    /// Next position to decode in the case's sequence.
    pos: usize,
    grammar: bool,
    grammar_end: Option<String>,
    sampler: JudgeSampler,
    parser: StreamParser,
    utf8: Utf8Stream,
    raw: String,
    generated: usize,
    ms_first_token: f64,
    probs: Option<Vec<f64>>,
    forced: Option<String>,
    /// A forced opener is being decoded; its verdict is read next.
    pending_forced: bool,
    max_new: usize,
    hit_max: bool,
    /// Positions the case may use.
    n_ctx: usize,
    piece: Vec<u8>,
}

impl<'m> CaseRun<'m> {
    fn new(
        lm: &'m LoadedModel,
        req: &JudgeRequest,
        opts: &RunOptions,
        started: Instant,
        n_prompt: usize,
        prefilled: usize,
        n_ctx: usize,
    ) -> Result<CaseRun<'m>, RunError> {
        let ms_prefill = ms_since(started);
        let gen_started = Instant::now();
        let profile = &lm.profile;
        let grammar = if opts.grammar {
            profile.grammar(&req.mode)
        } else {
            None
        };
        let grammar_end = grammar.as_ref().and(profile.grammar_end.clone());
        let mut sampler = JudgeSampler::new(
            &lm.model,
            &opts.sampler,
            opts.seed,
            opts.grammar_first,
            grammar.as_ref().map(|g| (g.text.as_str(), g.root.as_str())),
        )
        .map_err(RunError::Failed)?;
        if opts.trace {
            sampler.trace = Some(Vec::new());
        }
        Ok(CaseRun {
            lm,
            req: req.clone(),
            opts: opts.clone(),
            started,
            gen_started,
            n_prompt,
            prefilled,
            ms_prefill,
            pos: n_prompt,
            grammar: grammar.is_some(),
            grammar_end,
            sampler,
            parser: profile.stream_parser(&req.mode),
            utf8: Utf8Stream::default(),
            raw: String::new(),
            generated: 0,
            ms_first_token: 0.0,
            probs: None,
            forced: None,
            pending_forced: false,
            max_new: (opts.sampler.max_tokens as usize).min(n_ctx - n_prompt - VERDICT_ROOM),
            hit_max: false,
            n_ctx,
            piece: Vec::with_capacity(32),
        })
    }

    fn emit(segs: Vec<Segment>, on: &mut dyn FnMut(Progress) -> Flow) -> Flow {
        let mut flow = Flow::Continue;
        for s in &segs {
            if on(Progress::Token(s)) == Flow::Stop {
                flow = Flow::Stop;
            }
        }
        flow
    }

    /// Sample from the logits at batch position `idx` and say what to decode next.
    fn step(
        &mut self,
        ctx: &LlamaContext<'_>,
        idx: i32,
        on: &mut dyn FnMut(Progress) -> Flow,
    ) -> Result<Step, RunError> {
        if self.generated >= self.max_new {
            self.hit_max = true;
            return Ok(Step::End);
        }
        let token = self.sampler.sample(ctx, idx);
        if self.generated == 0 {
            self.ms_first_token = ms_since(self.started);
        }
        let vocab = self.lm.model.vocab();
        if vocab.is_eog(token) {
            return Ok(Step::End);
        }
        let slot = &self.lm.profile.verdict;
        self.generated += 1;
        self.piece.clear();
        vocab.token_to_piece_into(token, &mut self.piece, false, None);
        let mut text = self.utf8.push(&self.piece);
        // Did this token complete the verdict opener (possibly with more text after it)?
        let opener_end = find_opener(&self.raw, &text, &slot.open, self.lm.profile.parser.think);
        let whole_token = opener_end.is_none_or(|e| e == text.len());
        if let Some(end) = opener_end {
            text.truncate(end);
        }
        self.raw.push_str(&text);
        if Self::emit(self.parser.push(&text), on) == Flow::Stop {
            return Err(RunError::Stopped);
        }
        let grammar_done = self
            .grammar_end
            .as_deref()
            .is_some_and(|e| self.raw.ends_with(e));
        if opener_end.is_some() || grammar_done {
            // Bring the KV cache to "everything up to the opener" and read the logits there.
            let mut tail = Vec::new();
            if grammar_done {
                // The grammar is complete: rubricate writes the opener itself.
                tail.push(token);
                let opener = format!("{}{}", slot.lead, slot.open);
                tail.extend(vocab.tokenize(opener.as_bytes(), false, false));
                self.raw.push_str(&opener);
                Self::emit(self.parser.push(&opener), on);
            } else if whole_token {
                tail.push(token);
            } else {
                // The token ran past the opener: evaluate only its part up to the opener.
                tail.extend(vocab.tokenize(text.as_bytes(), false, false));
            }
            return Ok(Step::Verdict(tail));
        }
        if self.parser.is_done() {
            // The verdict section closed without the opener being seen: nothing more to read.
            return Ok(Step::End);
        }
        Ok(Step::Decode(token))
    }

    /// After generation ended without a verdict: the opener to append (and decode), if any.
    fn forced_opener(&mut self, on: &mut dyn FnMut(Progress) -> Flow) -> Option<Vec<LlamaToken>> {
        let rest = self.utf8.finish();
        if self.probs.is_none() && !rest.is_empty() {
            self.raw.push_str(&rest);
            Self::emit(self.parser.push(&rest), on);
        }
        if self.probs.is_some() || self.parser.is_done() {
            return None;
        }
        // The model stopped without the opener: append it and read the verdict there.
        let slot = &self.lm.profile.verdict;
        let lead = match (&slot.lead_unclosed, self.parser.in_reasoning()) {
            (Some(l), true) => l.as_str(),
            _ => slot.lead.as_str(),
        };
        let opener = format!("{lead}{}", slot.open);
        let tokens = self
            .lm
            .model
            .vocab()
            .tokenize(opener.as_bytes(), false, false);
        (self.pos + tokens.len() + 4 <= self.n_ctx).then_some(tokens)
    }

    /// The forced opener is decoded: record it and the verdict read after it.
    fn opener_read(&mut self, probs: Vec<f64>, on: &mut dyn FnMut(Progress) -> Flow) {
        let slot = &self.lm.profile.verdict;
        let lead = match (&slot.lead_unclosed, self.parser.in_reasoning()) {
            (Some(l), true) => l.as_str(),
            _ => slot.lead.as_str(),
        };
        let opener = format!("{lead}{}", slot.open);
        self.raw.push_str(&opener);
        Self::emit(self.parser.push(&opener), on);
        self.probs = Some(probs);
        self.forced = Some(format!(
            "the model stopped ({}) without writing {:?}; rubricate appended it and read the verdict there",
            if self.hit_max {
                format!("at the limit of {} tokens", self.max_new)
            } else {
                "end of text".to_string()
            },
            slot.open
        ));
    }

    fn finish(mut self, on: &mut dyn FnMut(Progress) -> Flow) -> RunOutcome {
        let slot = &self.lm.profile.verdict;
        let mut sampled = None;
        if let Some(p) = &self.probs {
            let best = argmax(p);
            sampled = Some(
                slot.choices[sampler::draw(
                    p,
                    self.opts.sampler.temperature,
                    sampler::uniform(self.opts.seed as u64, self.req.case.id as u64),
                )]
                .1,
            );
            let tail = format!("{}{}", slot.choices[best].0, slot.close);
            self.raw.push_str(&tail);
            Self::emit(self.parser.push(&tail), on);
            self.generated += 1;
        }
        let ms_generate = ms_since(self.gen_started);
        let mut parsed = self.parser.finish();
        if let Some(f) = self.forced.take() {
            parsed.error = Some(match parsed.error {
                Some(e) => format!("{f}; {e}"),
                None => f,
            });
        } else if self.hit_max && parsed.error.is_some() {
            parsed.error = Some(format!(
                "{} (generation stopped at the limit of {} tokens)",
                parsed.error.unwrap_or_default(),
                self.max_new
            ));
        }
        let raw = std::mem::take(&mut self.raw);
        let judgment = judgment(
            self.lm,
            &self.req,
            &self.opts,
            self.grammar,
            parsed,
            self.probs.clone(),
            sampled,
            raw,
            self.n_prompt,
            self.generated,
            self.ms_prefill,
            ms_generate,
        );
        RunOutcome {
            judgment,
            stats: RunStats {
                tokens_prompt: self.n_prompt,
                tokens_prefilled: self.prefilled,
                tokens_generated: self.generated,
                ms_prefill: self.ms_prefill,
                ms_first_token: self.ms_first_token,
                ms_generate,
                ms_total: ms_since(self.started),
                sampler: self.sampler.stats,
                trace: self.sampler.trace.take().unwrap_or_default(),
                hit_max_tokens: self.hit_max,
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn judgment(
    lm: &LoadedModel,
    req: &JudgeRequest,
    opts: &RunOptions,
    grammar: bool,
    parsed: Parsed,
    probs: Option<Vec<f64>>,
    sampled: Option<Verdict>,
    raw: String,
    n_prompt: usize,
    generated: usize,
    ms_prefill: f64,
    ms_generate: f64,
) -> NewJudgment {
    // The model saw the answers in presented order; store everything in the case's own letters.
    let map = |v: Verdict| if req.swapped { v.swapped() } else { v };
    // Probabilities by meaning (the profile's choice order is A, B, tie).
    let by = |v: Verdict| -> Option<f64> {
        let p = probs.as_ref()?;
        let i = lm
            .profile
            .verdict
            .choices
            .iter()
            .position(|(_, x)| *x == v)?;
        p.get(i).copied()
    };
    let (pa, pb, pt) = (by(Verdict::A), by(Verdict::B), by(Verdict::Tie));
    let (p_a, p_b, p_tie) = if req.swapped {
        (pb, pa, pt)
    } else {
        (pa, pb, pt)
    };
    // The stored verdict is the most probable choice (greedy), never a sample.
    let verdict = match &probs {
        Some(p) => Some(lm.profile.verdict.choices[argmax(p)].1),
        None => parsed.verdict,
    };
    let given = match &req.mode {
        JudgeMode::RubricGiven(r) => Some(r.clone()),
        JudgeMode::Full => None,
    };
    let info = &lm.info;
    NewJudgment {
        case_id: req.case.id,
        origin: JudgmentOrigin::Local,
        swapped: req.swapped,
        rubric_given: given.is_some(),
        model_file: info.file_name.clone(),
        model_sha256: info.sha256.clone(),
        template_version: info.stamp.template_version.clone(),
        grammar,
        sampler: opts.sampler.clone(),
        seed: Some(opts.seed),
        // In rubric-given mode the rubric is the reviewer's, verbatim.
        rubric: given.or(parsed.rubric),
        analysis: parsed.analysis,
        verdict: verdict.map(map),
        p_a,
        p_b,
        p_tie,
        parse_ok: parsed.error.is_none(),
        parse_error: parsed.error,
        raw,
        tokens_prompt: Some(n_prompt as u32),
        tokens_generated: Some(generated as u32),
        ms_prefill: Some(ms_prefill.round() as u32),
        ms_generate: Some(ms_generate.round() as u32),
        provenance: JudgeProvenance {
            profile: info.stamp.profile.clone(),
            profile_hash: info.stamp.profile_hash.clone(),
            backend: Some(info.stamp.backend.clone()),
            server_url: None,
            server_model: info.stamp.server_model.clone(),
        },
        judge_type: parsed.judge_type,
        solution: parsed.solution,
        verdict_sampled: sampled.map(map),
    }
}

/// The backend name recorded with in-process judgments.
pub const BACKEND: &str = "llama.cpp";

/// Index of the largest probability (the first one on a tie).
pub fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in p.iter().enumerate() {
        if *x > p[best] {
            best = i;
        }
    }
    best
}

/// Where the verdict opener ends inside `text` (the new token's text), if `raw + text`
/// now contains it and `raw` did not. With `think`, an opener inside the reasoning (the
/// model quoting the format while thinking) does not count: `</think>` must come first.
fn find_opener(raw: &str, text: &str, open: &str, think: bool) -> Option<usize> {
    if text.is_empty() || open.is_empty() {
        return None;
    }
    // Only the end of `raw` can hold the start of an opener that `text` completes.
    let mut from = raw.len().saturating_sub(open.len());
    while !raw.is_char_boundary(from) {
        from -= 1;
    }
    let carried = raw.len() - from;
    let window = format!("{}{}", &raw[from..], text);
    for (at, _) in window.match_indices(open) {
        let Some(end) = (at + open.len()).checked_sub(carried).filter(|e| *e > 0) else {
            continue;
        };
        if think {
            let before = from + at;
            let thought = format!("{raw}{text}");
            if !thought[..before].contains("</think>") {
                continue;
            }
        }
        return Some(end);
    }
    None
}

/// How many leading tokens `a` and `b` share.
fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_most_probable_choice() {
        assert_eq!(argmax(&[0.2, 0.7, 0.1]), 1);
        assert_eq!(argmax(&[0.55, 0.45]), 0);
        assert_eq!(argmax(&[0.1, 0.3, 0.6]), 2);
        assert_eq!(argmax(&[0.5, 0.5]), 0);
    }

    #[test]
    fn the_opener_is_found_across_tokens_and_cut_after_it() {
        // Completed exactly by the new token.
        assert_eq!(
            find_opener("x <answer>", "[[", "<answer>[[", false),
            Some(2)
        );
        // The new token runs past it: the cut keeps only the opener.
        assert_eq!(
            find_opener("x <ans", "wer>[[A", "<answer>[[", false),
            Some(6)
        );
        // Already seen earlier: not again.
        assert_eq!(find_opener("<answer>[[", "A", "<answer>[[", false), None);
        assert_eq!(find_opener("no", " opener", "<answer>[[", false), None);
        // While thinking, a quoted format does not count; after </think> it does.
        assert_eq!(
            find_opener("the format is ", "<answer>[[", "<answer>[[", true),
            None
        );
        assert_eq!(
            find_opener(
                "quoted <answer>[[A]]</answer>\n</think>\n\n",
                "<answer>[[",
                "<answer>[[",
                true
            ),
            Some(10)
        );
        // Multi-byte text before the opener.
        assert_eq!(find_opener("é‹", "[[", "[[", false), Some(2));
    }
}
