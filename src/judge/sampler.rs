//! Token selection under the grammar, without paying for the grammar on every token.
//!
//! Logically the grammar comes first: no token it rejects is ever chosen. Applying it to
//! the whole vocabulary (49k tokens) for every token halves the generation rate, though,
//! and most tokens the model picks on its own are allowed anyway. So, in the spirit of
//! llama.cpp's own sampler (sample first, check, resample only on rejection), in tiers:
//! 1. sample from the normal chain (penalties, top-k, top-p, temperature, draw);
//! 2. check that one token against the grammar; if allowed, take it;
//! 3. if not, draw among the chain's surviving candidates that the grammar allows;
//! 4. if none, apply the grammar to the best [`WIDE`] tokens and run the chain on those
//!    it allows;
//! 5. only if none of those is allowed, apply the grammar to the whole vocabulary.
//!
//! Step 1 also skips work the chain would throw away: top-k keeps the best `k` tokens
//! after the repetition penalty, and the penalty only lowers the logits of the last
//! `repeat_last_n` tokens, so the best `k + repeat_last_n` raw logits always contain
//! them; the chain runs on those instead of the whole vocabulary.
//!
//! Every chosen token is accepted exactly once by the grammar and once by the chain
//! (a second accept corrupts llama.cpp's grammar state and aborts the process).

use crate::domain::SamplerSettings;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

/// Candidates the grammar sees in step 4.
pub const WIDE: usize = 1024;

/// How many of the best scored candidates a [`Decision`] keeps.
pub const TRACE_TOP: usize = 32;

/// One token choice as the sampler saw it, kept only when tracing (to compare two runs of
/// the same case: where their texts part, were the candidates nearly tied?).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub token: i32,
    /// The best candidates after the repetition penalty (before top-k, top-p and the
    /// grammar), best first: (token, score).
    pub top: Vec<(i32, f32)>,
}

/// How often each path of [`JudgeSampler::sample`] was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SamplerStats {
    /// The chain's own pick was allowed by the grammar (or there is no grammar).
    pub direct: u32,
    /// Rejected, then drawn among the chain's surviving candidates the grammar allows.
    pub rescued: u32,
    /// Rejected, and chosen among the best [`WIDE`] tokens the grammar allows.
    pub wide: u32,
    /// The grammar had to be applied to the whole vocabulary.
    pub full: u32,
}

impl SamplerStats {
    pub fn total(&self) -> u32 {
        self.direct + self.rescued + self.wide + self.full
    }
}

pub struct JudgeSampler {
    /// The repetition penalty (the chain's first part, apart so a trace sees its scores).
    penalties: Option<LlamaSampler>,
    /// The rest of the chain: top-k, top-p, temperature, draw.
    chain: LlamaSampler,
    /// Draws among the candidates the grammar left in step 3.
    redraw: LlamaSampler,
    grammar: Option<LlamaSampler>,
    /// Apply the grammar to the whole vocabulary at every token (for comparison only).
    grammar_first: bool,
    /// How many of the best raw logits step 1 needs (`None`: all of them).
    shortlist: Option<usize>,
    /// End of generation, should nothing else be selectable.
    eos: LlamaToken,
    /// Every token's logit at the current position (one entry per vocabulary token).
    all: Vec<LlamaTokenData>,
    /// Each choice's candidates, when the caller asked for them.
    pub trace: Option<Vec<Decision>>,
    /// The scored candidates of the current choice (filled while tracing).
    scored: Vec<(i32, f32)>,
    /// Reused buffer for the subsets handed to llama.cpp.
    work: Vec<LlamaTokenData>,
    pub stats: SamplerStats,
}

impl JudgeSampler {
    /// `grammar`: GBNF text and root rule; `None` samples unconstrained.
    pub fn new(
        model: &LlamaModel,
        settings: &SamplerSettings,
        seed: u32,
        grammar_first: bool,
        grammar: Option<(&str, &str)>,
    ) -> Result<JudgeSampler, String> {
        let grammar = match grammar {
            Some((text, root)) => Some(
                LlamaSampler::grammar(model, text, root)
                    .map_err(|e| format!("the judge grammar does not load: {e}"))?,
            ),
            None => None,
        };
        let penalised = if penalties_on(settings) {
            usize::try_from(settings.repeat_last_n).ok()
        } else {
            Some(0)
        };
        let shortlist = match (settings.top_k, penalised) {
            (k, Some(n)) if k > 0 => Some(k as usize + n),
            _ => None,
        };
        let n_vocab = model.n_vocab().max(0) as usize;
        // At temperature 0 a rejected pick is replaced by the best allowed one, not a draw:
        // greedy decoding stays a function of the logits.
        let redraw = if settings.temperature > 0.0 {
            LlamaSampler::dist(seed ^ 0x9e37_79b9)
        } else {
            LlamaSampler::greedy()
        };
        Ok(JudgeSampler {
            penalties: penalties_on(settings).then(|| {
                LlamaSampler::penalties(
                    model.n_vocab(),
                    settings.repeat_last_n,
                    settings.repeat_penalty,
                    0.0,
                    0.0,
                )
            }),
            chain: chain(settings, seed),
            redraw,
            grammar,
            grammar_first,
            shortlist,
            eos: model.vocab().eos(),
            all: Vec::with_capacity(n_vocab),
            trace: None,
            scored: Vec::new(),
            work: Vec::with_capacity(WIDE),
            stats: SamplerStats::default(),
        })
    }

    /// The best `n` tokens of `all` (unordered), or all of them.
    fn best(&mut self, n: Option<usize>) -> LlamaTokenDataArray {
        let mut data = std::mem::take(&mut self.work);
        data.clear();
        match n {
            Some(n) if n > 0 && n < self.all.len() => {
                self.all
                    .select_nth_unstable_by(n - 1, |a, b| b.logit().total_cmp(&a.logit()));
                data.extend_from_slice(&self.all[..n]);
            }
            _ => data.extend_from_slice(&self.all),
        }
        LlamaTokenDataArray::new(data, false)
    }

    fn give_back(&mut self, arr: LlamaTokenDataArray) {
        self.work = arr.data;
    }

    fn allowed(grammar: &mut LlamaSampler, token: LlamaToken) -> bool {
        let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        one.apply_sampler(grammar);
        one.data[0].logit() != f32::NEG_INFINITY
    }

    /// Keep only what the grammar allows. llama.cpp marks the rest -inf, and its `dist`
    /// takes the first entry of a sorted array as the maximum, so they must go.
    fn filter(grammar: &mut LlamaSampler, arr: &mut LlamaTokenDataArray) {
        arr.selected = None;
        arr.apply_sampler(grammar);
        arr.data.retain(|d| d.logit() != f32::NEG_INFINITY);
    }

    /// Choose the next token from the logits of batch position `idx` and accept it.
    pub fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        self.all.clear();
        self.all.extend(
            ctx.get_logits_ith(idx)
                .iter()
                .enumerate()
                .map(|(i, &logit)| LlamaTokenData::new(LlamaToken::new(i as i32), logit, 0.0)),
        );
        self.scored.clear();
        let token = self.choose().unwrap_or(self.eos);
        if let Some(t) = self.trace.as_mut() {
            t.push(Decision {
                token: token.0,
                top: std::mem::take(&mut self.scored),
            });
        }
        self.accept(token);
        token
    }

    /// Keep the best scored candidates of the current choice (tracing only).
    fn note(&mut self, arr: &LlamaTokenDataArray) {
        if self.trace.is_none() || !self.scored.is_empty() {
            return;
        }
        let mut v: Vec<(i32, f32)> = arr.data.iter().map(|d| (d.id().0, d.logit())).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(TRACE_TOP);
        self.scored = v;
    }

    fn choose(&mut self) -> Option<LlamaToken> {
        if self.grammar_first && self.grammar.is_some() {
            self.stats.full += 1;
            return self.full();
        }
        // Steps 1 and 2.
        let mut arr = self.best(self.shortlist);
        self.apply_chain(&mut arr);
        let token = arr.selected_token();
        let Some(grammar) = self.grammar.as_mut() else {
            self.stats.direct += 1;
            self.give_back(arr);
            return token;
        };
        if token.is_some_and(|t| Self::allowed(grammar, t)) {
            self.stats.direct += 1;
            self.give_back(arr);
            return token;
        }
        // Step 3: the chain's survivors (top-k, top-p, temperature applied).
        Self::filter(grammar, &mut arr);
        if !arr.data.is_empty() {
            arr.apply_sampler(&mut self.redraw);
            self.stats.rescued += 1;
            let token = arr.selected_token();
            self.give_back(arr);
            return token;
        }
        self.give_back(arr);
        // Step 4: the best WIDE tokens.
        let mut arr = self.best(Some(WIDE));
        if let Some(grammar) = self.grammar.as_mut() {
            Self::filter(grammar, &mut arr);
        }
        if !arr.data.is_empty() {
            self.apply_chain(&mut arr);
            self.stats.wide += 1;
            let token = arr.selected_token();
            self.give_back(arr);
            return token;
        }
        self.give_back(arr);
        self.stats.full += 1;
        self.full()
    }

    /// Step 5 (and the grammar-first comparison): grammar over everything, then the chain.
    fn full(&mut self) -> Option<LlamaToken> {
        let mut arr = LlamaTokenDataArray::new(std::mem::take(&mut self.all), false);
        if let Some(grammar) = self.grammar.as_mut() {
            arr.apply_sampler(grammar);
        }
        self.apply_chain(&mut arr);
        let token = arr.selected_token();
        self.all = arr.data;
        token
    }

    /// Record a token that was chosen (or forced) so penalties and grammar follow it.
    pub fn accept(&mut self, token: LlamaToken) {
        if let Some(g) = self.grammar.as_mut() {
            g.accept(token);
        }
        if let Some(p) = self.penalties.as_mut() {
            p.accept(token);
        }
        self.chain.accept(token);
    }

    /// The whole chain: penalties (noting the scores when tracing), then the rest.
    fn apply_chain(&mut self, arr: &mut LlamaTokenDataArray) {
        if let Some(p) = self.penalties.as_mut() {
            arr.apply_sampler(p);
        }
        self.note(arr);
        arr.apply_sampler(&mut self.chain);
    }
}

fn penalties_on(s: &SamplerSettings) -> bool {
    s.repeat_penalty != 1.0 && s.repeat_last_n != 0
}

/// The sampler chain for the settings after the penalties: top-k, top-p, temperature, draw.
fn chain(s: &SamplerSettings, seed: u32) -> LlamaSampler {
    let mut parts = Vec::new();
    if s.top_k > 0 {
        parts.push(LlamaSampler::top_k(s.top_k));
    }
    if s.top_p < 1.0 {
        parts.push(LlamaSampler::top_p(s.top_p, 1));
    }
    if s.temperature > 0.0 {
        parts.push(LlamaSampler::temp(s.temperature));
        parts.push(LlamaSampler::dist(seed));
    } else {
        parts.push(LlamaSampler::greedy());
    }
    LlamaSampler::chain_simple(parts)
}

/// Probabilities of the given tokens at one position, normalised over just those tokens.
pub fn choice_probabilities(logits: &[f32], tokens: &[LlamaToken]) -> Vec<f64> {
    let picked: Vec<f64> = tokens
        .iter()
        .map(|t| {
            logits
                .get(t.0 as usize)
                .copied()
                .unwrap_or(f32::NEG_INFINITY) as f64
        })
        .collect();
    softmax(&picked)
}

pub fn softmax(xs: &[f64]) -> Vec<f64> {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return vec![1.0 / xs.len() as f64; xs.len()];
    }
    let exps: Vec<f64> = xs.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Draw an index from `probs` sharpened by `temperature` (0 or less: the most likely),
/// with a deterministic uniform number `u` in [0, 1).
pub fn draw(probs: &[f64], temperature: f32, u: f64) -> usize {
    let best = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    if temperature <= 0.0 {
        return best;
    }
    let logs: Vec<f64> = probs
        .iter()
        .map(|p| p.max(f64::MIN_POSITIVE).ln() / temperature as f64)
        .collect();
    let sharpened = softmax(&logs);
    let mut acc = 0.0;
    for (i, p) in sharpened.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    best
}

/// A uniform number in [0, 1) from a seed and a salt (splitmix64), for reproducible draws.
pub fn uniform(seed: u64, salt: u64) -> f64 {
    let mut z = seed.wrapping_add(salt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_sum_to_one_and_follow_logits() {
        let logits = [0.0f32, 2.0, 1.0, -5.0];
        let p = choice_probabilities(&logits, &[LlamaToken(1), LlamaToken(2), LlamaToken(3)]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[0] > p[1] && p[1] > p[2]);
    }

    #[test]
    fn draw_is_greedy_at_zero_temperature_and_covers_all_otherwise() {
        let p = [0.2, 0.5, 0.3];
        assert_eq!(draw(&p, 0.0, 0.99), 1);
        let mut seen = [0usize; 3];
        for i in 0..3000 {
            seen[draw(&p, 1.0, uniform(7, i))] += 1;
        }
        assert!(seen.iter().all(|&n| n > 300), "{seen:?}");
        // A low temperature sharpens towards the most likely choice.
        let sharp = (0..1000)
            .filter(|&i| draw(&p, 0.3, uniform(7, i)) == 1)
            .count();
        assert!(sharp > 800, "{sharp}");
    }

    #[test]
    fn uniform_is_in_range_and_deterministic() {
        for i in 0..1000 {
            let u = uniform(42, i);
            assert!((0.0..1.0).contains(&u));
            assert_eq!(u, uniform(42, i));
        }
        assert_ne!(uniform(1, 0), uniform(2, 0));
    }
}
