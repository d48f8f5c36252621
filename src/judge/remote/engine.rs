//! One judgment through an OpenAI-compatible server: the request, the streamed sections,
//! the verdict probabilities and the stored judgment with its provenance.

use super::client::{ChatStream, Flavor, Server, StreamItem};
use super::sse::ServerTimings;
use super::verdict::{VerdictReader, gbnf_literal, server_grammar};
use crate::domain::{JudgeProvenance, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict};
use crate::judge::api::{JudgeMode, JudgeRequest, JudgeStamp, ModelInfo};
use crate::judge::engine::{Flow, Progress, RunError};
use crate::judge::parse::{Dialect, Parsed, ParserSpec, Segment, StreamParser};
use crate::judge::prompt;
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
    pub grammar: bool,
    pub sampler: SamplerSettings,
    pub seed: u32,
}

/// The profile's side of a request: messages, grammar, parser and where the verdict is read.
struct Contract {
    system: String,
    user: String,
    assistant_prefix: String,
    grammar: Option<String>,
    parser: StreamParser,
    opener: &'static str,
    /// Choices as written after the opener, in the order A, B, tie.
    choices: [(&'static str, Verdict); 3],
}

fn contract(req: &JudgeRequest, grammar: bool) -> Contract {
    let given = match &req.mode {
        JudgeMode::Full => None,
        JudgeMode::RubricGiven(r) => Some(r.as_str()),
    };
    let choices = [("A", Verdict::A), ("B", Verdict::B), ("tie", Verdict::Tie)];
    let slot = format!(
        "{} ({}) {}",
        gbnf_literal(prompt::VERDICT_OPEN),
        choices
            .iter()
            .map(|(c, _)| gbnf_literal(c))
            .collect::<Vec<_>>()
            .join(" | "),
        gbnf_literal(prompt::VERDICT_CLOSE)
    );
    let root = if given.is_some() {
        prompt::GRAMMAR_ROOT_GIVEN
    } else {
        prompt::GRAMMAR_ROOT_FULL
    };
    Contract {
        system: prompt::SYSTEM_PROMPT.trim_end().to_string(),
        user: prompt::user_message(&req.case, req.swapped),
        assistant_prefix: given.map(prompt::rubric_prefill).unwrap_or_default(),
        grammar: grammar.then(|| server_grammar(prompt::GRAMMAR, root, Some(&slot))),
        parser: match given {
            Some(r) => StreamParser::after_given_rubric(ParserSpec::native(), r),
            None => StreamParser::new(Dialect::Native),
        },
        opener: "<verdict>",
        choices,
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
            stamp: Box::new(JudgeStamp {
                template_version: prompt::template_version(),
                backend: BACKEND.to_string(),
                profile: None,
                profile_hash: None,
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

    fn body(&self, c: &Contract) -> Value {
        let s = &self.opts.sampler;
        let mut messages = vec![
            json!({"role": "system", "content": c.system}),
            json!({"role": "user", "content": c.user}),
        ];
        let prefill = !c.assistant_prefix.is_empty();
        if prefill {
            messages.push(json!({"role": "assistant", "content": c.assistant_prefix}));
        }
        let mut body = json!({
            "model": self.server.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "seed": self.opts.seed,
            "logprobs": true,
            "top_logprobs": TOP_LOGPROBS,
        });
        let obj = body.as_object_mut().expect("a JSON object");
        match self.server.flavor {
            Flavor::LlamaCpp => {
                // The samplers rubricate's own engine uses; llama-server's default min_p is off.
                obj.insert("repeat_penalty".into(), json!(s.repeat_penalty));
                obj.insert("repeat_last_n".into(), json!(s.repeat_last_n));
                obj.insert("min_p".into(), json!(0.0));
                obj.insert("cache_prompt".into(), json!(true));
                if let Some(g) = c.grammar.as_ref().filter(|_| self.sends_grammar()) {
                    obj.insert("grammar".into(), json!(g));
                }
                // A final assistant message is continued (llama-server's assistant prefill).
            }
            Flavor::Vllm => {
                obj.insert("repetition_penalty".into(), json!(s.repeat_penalty));
                if let Some(g) = c.grammar.as_ref().filter(|_| self.sends_grammar()) {
                    obj.insert("structured_outputs".into(), json!({"grammar": g}));
                }
                if prefill {
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
    pub fn run(
        &self,
        req: &JudgeRequest,
        on: &mut dyn FnMut(Progress) -> Flow,
    ) -> Result<RemoteOutcome, RunError> {
        let started = Instant::now();
        let mut c = contract(req, self.opts.grammar);
        let stream: ChatStream = self.server.stream_chat(self.body(&c));
        if on(Progress::Prefill { done: 0, total: 1 }) == Flow::Stop {
            return Err(RunError::Stopped);
        }
        let mut reader = VerdictReader::new(c.opener, &c.choices.map(|(s, _)| s));
        let mut raw = String::new();
        let mut first: Option<Instant> = None;
        let mut in_reasoning = false;
        let mut counted = 0u64;
        let mut completion_tokens = None;
        let mut prompt_tokens = None;
        let mut timings = None;
        let mut finish_reason: Option<String> = None;
        let mut echo = EchoFilter::new(&c.assistant_prefix);
        let emit = |segs: Vec<Segment>, on: &mut dyn FnMut(Progress) -> Flow| -> Flow {
            let mut flow = Flow::Continue;
            for s in &segs {
                if on(Progress::Token(s)) == Flow::Stop {
                    flow = Flow::Stop;
                }
            }
            flow
        };
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
                    text.push_str("<think>");
                    in_reasoning = true;
                }
                text.push_str(&chunk.reasoning);
            }
            let content = echo.take(&chunk.content);
            if !content.is_empty() {
                if in_reasoning {
                    text.push_str("</think>");
                    in_reasoning = false;
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
        let held = echo.finish();
        if !held.is_empty() {
            raw.push_str(&held);
            emit(c.parser.push(&held), on);
        }
        if in_reasoning {
            raw.push_str("</think>");
            emit(c.parser.push("</think>"), on);
        }
        let done_at = Instant::now();
        let closed = c.parser.is_done();
        if !complete && !closed {
            return Err(RunError::Failed(format!(
                "the judge server at {} closed the stream before the judgment was complete; check that it is still running",
                self.server.display_url
            )));
        }
        let mut parsed: Parsed = c.parser.finish();
        let hit_max = finish_reason.as_deref() == Some("length");
        if hit_max && parsed.error.is_some() {
            parsed.error = Some(format!(
                "{} (generation stopped at the limit of {} tokens)",
                parsed.error.unwrap_or_default(),
                self.opts.sampler.max_tokens
            ));
        }
        let tokens_generated = completion_tokens.unwrap_or(counted);
        let ms_first_token = first.map_or(0.0, |f| ms(f - started));
        let ms_generate = first.map_or(0.0, |f| ms(done_at - f));
        let probs = reader.probabilities();
        let judgment = self.judgment(
            req,
            &c.choices,
            parsed,
            probs,
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

    #[allow(clippy::too_many_arguments)]
    fn judgment(
        &self,
        req: &JudgeRequest,
        choices: &[(&str, Verdict); 3],
        parsed: Parsed,
        probs: Option<Vec<f64>>,
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
            for ((_, v), q) in choices.iter().zip(ps) {
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
        let sampled = parsed.verdict.map(map);
        // The stored verdict is the most probable choice at the verdict position when the
        // server reported the distribution there; otherwise what the model wrote.
        let most_probable = probs.as_ref().and_then(|_| {
            let cands = [(Verdict::A, p[0]), (Verdict::B, p[1]), (Verdict::Tie, p[2])];
            cands
                .iter()
                .filter_map(|(v, q)| q.map(|q| (*v, q)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(v, _)| v)
        });
        let verdict = match (sampled, most_probable) {
            (Some(_), Some(best)) => Some(best),
            (s, _) => s,
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
            grammar: self.sends_grammar(),
            sampler: self.opts.sampler.clone(),
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
            judge_type: None,
            solution: None,
            verdict_sampled: sampled,
        }
    }
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
