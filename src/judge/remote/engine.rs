//! One judgment through an OpenAI-compatible server: the request, the streamed sections,
//! the verdict probabilities and the stored judgment with its provenance.

use super::client::{ChatStream, Flavor, Server, StreamItem};
use super::sse::ServerTimings;
use super::verdict::{VerdictReader, gbnf_literal, server_grammar};
use crate::domain::{JudgeProvenance, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict};
use crate::judge::api::{JudgeMode, JudgeRequest, JudgeStamp, ModelInfo};
use crate::judge::engine::{Flow, Progress, RunError, argmax};
use crate::judge::parse::{Parsed, Segment, StreamParser};
use crate::judge::profile::{Profile, VerdictSlot};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// Recorded as the judgment's backend.
pub const BACKEND: &str = "openai";

/// How many alternatives to ask for at each position (the verdict position needs A, B and tie).
pub const TOP_LOGPROBS: u32 = 10;

/// Per-run choices for the remote judge.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The judge's contract: prompt layout, grammar, parser and verdict slot.
    pub profile: Profile,
    pub grammar: bool,
    pub sampler: SamplerSettings,
    pub seed: u32,
}

/// The profile's side of one request: messages, grammar, parser and where the verdict is read.
struct Contract {
    system: Option<String>,
    user: String,
    assistant_prefix: String,
    grammar: Option<String>,
    parser: StreamParser,
    slot: VerdictSlot,
    /// Generation starts inside `<think>` reasoning; the verdict counts only after `</think>`.
    think: bool,
}

impl Contract {
    fn reader(&self) -> VerdictReader {
        let choices: Vec<&str> = self.slot.choices.iter().map(|(c, _)| c.as_str()).collect();
        let r = VerdictReader::new(&self.slot.open, &choices);
        if self.think { r.after(THINK_CLOSE) } else { r }
    }
}

const THINK_CLOSE: &str = "</think>";

/// The verdict slot in GBNF: lead and opener, one of the choices, the closer.
fn slot_gbnf(slot: &VerdictSlot) -> String {
    format!(
        "{} ({}) {}",
        gbnf_literal(&format!("{}{}", slot.lead, slot.open)),
        slot.choices
            .iter()
            .map(|(c, _)| gbnf_literal(c))
            .collect::<Vec<_>>()
            .join(" | "),
        gbnf_literal(&slot.close)
    )
}

fn contract(profile: &Profile, req: &JudgeRequest, grammar: bool) -> Contract {
    let rendered = profile.render(&req.case, req.swapped, &req.mode);
    let slot = profile.verdict_slot();
    // Only profiles with a grammar get one (long-reasoning profiles have none: nothing may
    // force a shape on free reasoning). A grammar that stops before the verdict (the
    // in-process engine writes the opener itself there) gets the verdict slot appended,
    // as a server cannot be handed the opener halfway through a request.
    let grammar = if grammar {
        profile.grammar(&req.mode).map(|g| {
            let tail = profile.grammar_end.is_some().then(|| slot_gbnf(&slot));
            server_grammar(&g.text, &g.root, tail.as_deref())
        })
    } else {
        None
    };
    Contract {
        system: rendered.system,
        user: rendered.user,
        assistant_prefix: rendered.assistant_prefix,
        grammar,
        parser: profile.stream_parser(&req.mode),
        slot,
        think: profile.parser.think,
    }
}

/// What a remote run measured, beyond the judgment.
#[derive(Debug, Clone, Default)]
pub struct RemoteStats {
    pub tokens_generated: u64,
    /// From sending the request to the first streamed text.
    pub ms_first_token: f64,
    /// From the first streamed text to the end of the stream.
    pub ms_generate: f64,
    /// The server's own timing of the same request, where it reports one (llama-server).
    pub server: Option<ServerTimings>,
}

pub struct RemoteOutcome {
    pub judgment: NewJudgment,
    pub stats: RemoteStats,
}

/// A server and the settings every job uses.
pub struct RemoteEngine {
    pub server: Server,
    pub opts: RemoteOptions,
    info: ModelInfo,
}

impl RemoteEngine {
    pub fn new(server: Server, opts: RemoteOptions) -> RemoteEngine {
        let info = ModelInfo {
            path: PathBuf::from(&server.display_url),
            file_name: server.model.clone(),
            architecture: server.flavor.name().to_string(),
            template: "server".to_string(),
            // One request at a time (the workbench does not prefetch beside the open case).
            sequences: 1,
            stamp: Box::new(JudgeStamp {
                template_version: opts.profile.template_version(),
                backend: BACKEND.to_string(),
                profile: Some(opts.profile.name.clone()),
                profile_hash: Some(opts.profile.hash.clone()),
                server_model: Some(server.model.clone()),
            }),
            ..ModelInfo::default()
        };
        RemoteEngine { server, opts, info }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Whether this server takes the profile's grammar.
    pub fn sends_grammar(&self) -> bool {
        self.opts.grammar && self.server.flavor != Flavor::Other
    }

    /// The sampler as this server receives it, which is what a judgment records: servers
    /// that take no repetition penalty field get none (1.0), and vLLM's penalty covers the
    /// whole sequence (-1, as llama.cpp writes "the whole context").
    pub fn sent_sampler(&self) -> SamplerSettings {
        let mut s = self.opts.sampler.clone();
        match self.server.flavor {
            Flavor::LlamaCpp => {}
            Flavor::Vllm => s.repeat_last_n = -1,
            Flavor::Other => {
                s.repeat_penalty = 1.0;
                s.repeat_last_n = 0;
            }
        }
        s
    }

    /// The request body. `prefill` is the start of the judge's own turn (the server
    /// continues it); `grammar` is sent where the server takes one.
    fn body(&self, c: &Contract, prefill: &str, max_tokens: u32, grammar: Option<&str>) -> Value {
        let s = &self.opts.sampler;
        let mut messages = Vec::new();
        if let Some(sys) = &c.system {
            messages.push(json!({"role": "system", "content": sys}));
        }
        messages.push(json!({"role": "user", "content": c.user}));
        let prefill_given = !prefill.is_empty();
        if prefill_given {
            messages.push(json!({"role": "assistant", "content": prefill}));
        }
        let mut body = json!({
            "model": self.server.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "seed": self.opts.seed,
            "logprobs": true,
            "top_logprobs": TOP_LOGPROBS,
        });
        let obj = body.as_object_mut().expect("a JSON object");
        let grammar = grammar.filter(|_| self.sends_grammar());
        match self.server.flavor {
            Flavor::LlamaCpp => {
                // The samplers rubricate's own engine uses; llama-server's default min_p is off.
                obj.insert("repeat_penalty".into(), json!(s.repeat_penalty));
                obj.insert("repeat_last_n".into(), json!(s.repeat_last_n));
                obj.insert("min_p".into(), json!(0.0));
                obj.insert("cache_prompt".into(), json!(true));
                if let Some(g) = grammar {
                    obj.insert("grammar".into(), json!(g));
                }
                // A final assistant message is continued (llama-server's assistant prefill).
            }
            Flavor::Vllm => {
                obj.insert("repetition_penalty".into(), json!(s.repeat_penalty));
                if let Some(g) = grammar {
                    obj.insert("structured_outputs".into(), json!({"grammar": g}));
                }
                if prefill_given {
                    obj.insert("continue_final_message".into(), json!(true));
                    obj.insert("add_generation_prompt".into(), json!(false));
                }
            }
            Flavor::Other => {}
        }
        body
    }

    /// Judge one case. `on` sees progress and every section text as it streams; answering
    /// `Flow::Stop` closes the stream.
    ///
    /// As in the in-process engine, the stored verdict is the most probable choice at the
    /// verdict position (from the server's top logprobs there), the letter the server sampled
    /// is kept apart, and a judge that stops without writing the profile's verdict opener gets
    /// it appended: a second, one-token request continues the judge's turn after the opener,
    /// and the verdict is read there (the judgment is then marked as not parsed, saying so).
    pub fn run(
        &self,
        req: &JudgeRequest,
        on: &mut dyn FnMut(Progress) -> Flow,
    ) -> Result<RemoteOutcome, RunError> {
        let started = Instant::now();
        let mut c = contract(&self.opts.profile, req, self.opts.grammar);
        let body = self.body(
            &c,
            &c.assistant_prefix,
            self.opts.sampler.max_tokens,
            c.grammar.as_deref(),
        );
        let stream: ChatStream = self.server.stream_chat(body);
        if on(Progress::Prefill { done: 0, total: 1 }) == Flow::Stop {
            return Err(RunError::Stopped);
        }
        let mut reader = c.reader();
        let mut raw = String::new();
        let mut first: Option<Instant> = None;
        let mut in_reasoning = false;
        let mut counted = 0u64;
        let mut completion_tokens = None;
        let mut prompt_tokens = None;
        let mut timings = None;
        let mut finish_reason: Option<String> = None;
        let mut echo = EchoFilter::new(&c.assistant_prefix);
        let complete = loop {
            let item = match stream.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(i) => i,
                Err(RecvTimeoutError::Timeout) => {
                    if on(Progress::Tick) == Flow::Stop {
                        stream.cancel();
                        return Err(RunError::Stopped);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break false,
            };
            let chunk = match item {
                StreamItem::Chunk(ch) => ch,
                StreamItem::End { complete } => break complete,
                StreamItem::Failed(e) => return Err(RunError::Failed(e)),
            };
            let mut text = String::new();
            if !chunk.reasoning.is_empty() {
                // Reasoning split off by the server goes back in the shape profiles parse.
                if !in_reasoning {
                    // A think profile's generation starts inside the reasoning already.
                    if !(c.think && raw.is_empty()) {
                        text.push_str("<think>");
                    }
                    in_reasoning = true;
                }
                text.push_str(&chunk.reasoning);
            }
            let content = echo.take(&chunk.content);
            if !content.is_empty() {
                if in_reasoning {
                    text.push_str(THINK_CLOSE);
                    in_reasoning = false;
                    reader.open_gate();
                }
                text.push_str(&content);
            }
            for t in &chunk.logprobs {
                reader.push(t);
            }
            counted += chunk.logprobs.len() as u64;
            if let Some(n) = chunk.completion_tokens {
                completion_tokens = Some(n);
            }
            if let Some(n) = chunk.prompt_tokens {
                prompt_tokens = Some(n);
            }
            if chunk.timings.is_some() {
                timings = chunk.timings;
            }
            if chunk.finish_reason.is_some() {
                finish_reason = chunk.finish_reason.clone();
            }
            if !text.is_empty() {
                first.get_or_insert_with(Instant::now);
                raw.push_str(&text);
                if emit(c.parser.push(&text), on) == Flow::Stop {
                    stream.cancel();
                    return Err(RunError::Stopped);
                }
            } else if on(Progress::Tick) == Flow::Stop {
                stream.cancel();
                return Err(RunError::Stopped);
            }
        };
        drop(stream);
        let held = echo.finish();
        if !held.is_empty() {
            raw.push_str(&held);
            emit(c.parser.push(&held), on);
        }
        if in_reasoning && !c.think {
            raw.push_str(THINK_CLOSE);
            emit(c.parser.push(THINK_CLOSE), on);
            in_reasoning = false;
        }
        let closed = c.parser.is_done();
        if !complete && !closed {
            return Err(RunError::Failed(format!(
                "the judge server at {} closed the stream before the judgment was complete; check that it is still running",
                self.server.display_url
            )));
        }
        let hit_max = finish_reason.as_deref() == Some("length");
        let mut probs = reader.probabilities();
        let mut sampled_choice: Option<Verdict> = None;
        let mut forced: Option<String> = None;
        let mut extra_tokens = 0u64;
        if probs.is_none() && !c.parser.is_done() {
            // No opener: append it (after closing the reasoning, for a think profile that
            // stopped inside it) and ask the server for the one token after it.
            let slot = &c.slot;
            let unclosed = c.think && (in_reasoning || c.parser.in_reasoning());
            let lead = match (&slot.lead_unclosed, unclosed) {
                (Some(l), true) => l.as_str(),
                _ => slot.lead.as_str(),
            };
            let opener = format!("{lead}{}", slot.open);
            let prefill = format!("{}{raw}{opener}", c.assistant_prefix);
            let (p, pick, n) = self.read_after_opener(&c, &prefill, on)?;
            raw.push_str(&opener);
            emit(c.parser.push(&opener), on);
            probs = p;
            sampled_choice = pick;
            extra_tokens = n;
            forced = Some(format!(
                "the judge stopped ({}) without writing {:?}; rubricate appended it and read the verdict there",
                if hit_max {
                    format!("at the limit of {} tokens", self.opts.sampler.max_tokens)
                } else {
                    "end of text".to_string()
                },
                slot.open
            ));
            // The choice rubricate stores, written after the opener as the local engine does.
            let best = match &probs {
                Some(p) => Some(c.slot.choices[argmax(p)].0.clone()),
                None => pick.and_then(|v| c.slot.choice_of(v).map(str::to_string)),
            };
            if let Some(choice) = best {
                let tail = format!("{choice}{}", c.slot.close);
                raw.push_str(&tail);
                emit(c.parser.push(&tail), on);
            }
        }
        let done_at = Instant::now();
        let mut parsed: Parsed = c.parser.finish();
        if let Some(f) = forced {
            parsed.error = Some(match parsed.error {
                Some(e) => format!("{f}; {e}"),
                None => f,
            });
        } else if hit_max && parsed.error.is_some() {
            parsed.error = Some(format!(
                "{} (generation stopped at the limit of {} tokens)",
                parsed.error.unwrap_or_default(),
                self.opts.sampler.max_tokens
            ));
        }
        // What the model itself wrote at the verdict position (the sampled letter).
        let sampled = sampled_choice.or(parsed.verdict);
        let tokens_generated = completion_tokens.unwrap_or(counted) + extra_tokens;
        let ms_first_token = first.map_or(0.0, |f| ms(f - started));
        let ms_generate = first.map_or(0.0, |f| ms(done_at - f));
        let judgment = self.judgment(
            req,
            &c.slot,
            c.grammar.is_some(),
            parsed,
            probs,
            sampled,
            raw,
            prompt_tokens,
            tokens_generated,
            ms_first_token,
            ms_generate,
        );
        Ok(RemoteOutcome {
            judgment,
            stats: RemoteStats {
                tokens_generated,
                ms_first_token,
                ms_generate,
                server: timings,
            },
        })
    }

    /// One token after `prefill` (which ends with the verdict opener): the choices'
    /// probabilities from its top logprobs (None when the server gives none) and the choice
    /// the server sampled, if it is one. Also returns how many tokens it generated.
    fn read_after_opener(
        &self,
        c: &Contract,
        prefill: &str,
        on: &mut dyn FnMut(Progress) -> Flow,
    ) -> Result<AfterOpener, RunError> {
        let choices: Vec<&str> = c.slot.choices.iter().map(|(s, _)| s.as_str()).collect();
        let mut reader = VerdictReader::at_choice(&choices);
        let stream = self.server.stream_chat(self.body(c, prefill, 1, None));
        let mut first: Option<String> = None;
        let mut n = 0u64;
        loop {
            let item = match stream.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(i) => i,
                Err(RecvTimeoutError::Timeout) => {
                    if on(Progress::Tick) == Flow::Stop {
                        stream.cancel();
                        return Err(RunError::Stopped);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match item {
                StreamItem::Chunk(ch) => {
                    for t in &ch.logprobs {
                        if first.is_none() {
                            first = Some(t.token.clone());
                        }
                        reader.push(t);
                    }
                    n += ch.logprobs.len() as u64;
                    if let Some(k) = ch.completion_tokens {
                        n = k;
                    }
                }
                StreamItem::End { .. } => break,
                StreamItem::Failed(e) => return Err(RunError::Failed(e)),
            }
        }
        // The sampled token names a choice when it starts with one (`A]]`) or is its start.
        let pick = first.and_then(|t| {
            let t = t.trim();
            let fits: Vec<Verdict> = c
                .slot
                .choices
                .iter()
                .filter(|(s, _)| !t.is_empty() && (t.starts_with(s.as_str()) || s.starts_with(t)))
                .map(|(_, v)| *v)
                .collect();
            match fits.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        });
        Ok((reader.probabilities(), pick, n))
    }

    #[allow(clippy::too_many_arguments)]
    fn judgment(
        &self,
        req: &JudgeRequest,
        slot: &VerdictSlot,
        grammar: bool,
        parsed: Parsed,
        probs: Option<Vec<f64>>,
        sampled: Option<Verdict>,
        raw: String,
        prompt_tokens: Option<u64>,
        generated: u64,
        ms_first_token: f64,
        ms_generate: f64,
    ) -> NewJudgment {
        let map = |v: Verdict| if req.swapped { v.swapped() } else { v };
        // Probabilities in presented order A, B, tie, mapped back to the case's own letters.
        let mut p = [None, None, None];
        if let Some(ps) = &probs {
            for ((_, v), q) in slot.choices.iter().zip(ps) {
                let slot = match map(*v) {
                    Verdict::A => 0,
                    Verdict::B => 1,
                    Verdict::Tie => 2,
                    // Not a choice the judge writes.
                    Verdict::BothBad => continue,
                };
                p[slot] = Some(*q);
            }
        }
        // The stored verdict is the most probable choice at the verdict position when the
        // server reported the distribution there; otherwise what the model wrote.
        let verdict = match &probs {
            Some(ps) => Some(map(slot.choices[argmax(ps)].1)),
            None => parsed.verdict.map(map),
        };
        let given = match &req.mode {
            JudgeMode::RubricGiven(r) => Some(r.clone()),
            JudgeMode::Full => None,
        };
        NewJudgment {
            case_id: req.case.id,
            origin: JudgmentOrigin::Local,
            swapped: req.swapped,
            rubric_given: given.is_some(),
            model_file: self.server.model.clone(),
            model_sha256: String::new(),
            template_version: self.info.stamp.template_version.clone(),
            grammar: grammar && self.sends_grammar(),
            sampler: self.sent_sampler(),
            seed: Some(self.opts.seed),
            rubric: given.or(parsed.rubric),
            analysis: parsed.analysis,
            verdict,
            p_a: p[0],
            p_b: p[1],
            p_tie: p[2],
            parse_ok: parsed.error.is_none(),
            parse_error: parsed.error,
            raw,
            tokens_prompt: prompt_tokens.map(|n| n as u32),
            tokens_generated: Some(generated as u32),
            ms_prefill: Some(ms_first_token.round() as u32),
            ms_generate: Some(ms_generate.round() as u32),
            provenance: JudgeProvenance {
                profile: self.info.stamp.profile.clone(),
                profile_hash: self.info.stamp.profile_hash.clone(),
                backend: Some(self.info.stamp.backend.clone()),
                server_url: Some(self.server.display_url.clone()),
                server_model: self.info.stamp.server_model.clone(),
            },
            judge_type: parsed.judge_type,
            solution: parsed.solution,
            verdict_sampled: sampled.map(map),
        }
    }
}

/// What the one-token request after an appended opener gave: the choices' probabilities,
/// the choice the server sampled, and the tokens it generated.
type AfterOpener = (Option<Vec<f64>>, Option<Verdict>, u64);

/// Hand each parsed segment to `on`; `Stop` if any answer was `Stop`.
fn emit(segs: Vec<Segment>, on: &mut dyn FnMut(Progress) -> Flow) -> Flow {
    let mut flow = Flow::Continue;
    for s in &segs {
        if on(Progress::Token(s)) == Flow::Stop {
            flow = Flow::Stop;
        }
    }
    flow
}

/// llama-server streams a continued assistant message's given start back before the new
/// text; that echo is not the model's output and is dropped. Servers that do not echo
/// (vLLM) pass through unchanged.
struct EchoFilter {
    prefix: Option<String>,
    held: String,
}

impl EchoFilter {
    fn new(prefix: &str) -> EchoFilter {
        EchoFilter {
            prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
            held: String::new(),
        }
    }

    /// The part of `content` that is generated text (held back while it may still be echo).
    fn take(&mut self, content: &str) -> String {
        let Some(prefix) = &self.prefix else {
            return content.to_string();
        };
        self.held.push_str(content);
        if self.held.len() < prefix.len() && prefix.starts_with(self.held.as_str()) {
            return String::new();
        }
        let held = std::mem::take(&mut self.held);
        let out = held
            .strip_prefix(prefix.as_str())
            .unwrap_or(&held)
            .to_string();
        self.prefix = None;
        out
    }

    /// The stream ended: whatever was held is output after all.
    fn finish(&mut self) -> String {
        self.prefix = None;
        std::mem::take(&mut self.held)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::EchoFilter;

    #[test]
    fn an_echoed_prefix_is_dropped_in_any_split() {
        let prefix = "<rubric>\nR\n</rubric>\n";
        let stream = format!("{prefix}\n<analysis>");
        for cut in 0..stream.len() {
            let mut f = EchoFilter::new(prefix);
            let mut out = f.take(&stream[..cut]);
            out.push_str(&f.take(&stream[cut..]));
            out.push_str(&f.finish());
            assert_eq!(out, "\n<analysis>", "cut at {cut}");
        }
        // No echo: everything passes, also a start that looks like the prefix for a while.
        let mut f = EchoFilter::new(prefix);
        let mut out = f.take("<rub");
        out.push_str(&f.take("ber>"));
        assert_eq!(out, "<rubber>");
        let mut f = EchoFilter::new("");
        assert_eq!(f.take("x"), "x");
    }
}
