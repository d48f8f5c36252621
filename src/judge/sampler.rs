//! Token selection under the grammar, without paying for the grammar on every token.
//!
//! Logically the grammar comes first: no token it rejects is ever chosen. Applying it to
//! the whole vocabulary (49k tokens) for every token halves the generation rate, though,
//! and most tokens the model picks on its own are allowed anyway. So, as llama.cpp's own
//! sampler does:
//! 1. sample from the normal chain (penalties, top-k, top-p, temperature, dist);
//! 2. check that one token against the grammar; if allowed, take it;
//! 3. if not, try the grammar on the chain's surviving candidates (at most top-k of them)
//!    and draw among the allowed ones;
//! 4. only if none of those is allowed, apply the grammar to the full vocabulary and run
//!    the chain again.
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

/// How often each path of [`JudgeSampler::sample`] was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SamplerStats {
    /// The chain's own pick was allowed by the grammar (or there is no grammar).
    pub direct: u32,
    /// Rejected, then resampled among the chain's surviving candidates.
    pub rescued: u32,
    /// Rejected, and the grammar had to be applied to the full vocabulary.
    pub full: u32,
}

pub struct JudgeSampler {
    chain: LlamaSampler,
    /// Draws among the candidates the grammar left in step 3.
    redraw: LlamaSampler,
    grammar: Option<LlamaSampler>,
    /// Skip the check-first shortcut (for comparison only).
    grammar_first: bool,
    /// End of generation, should nothing else be selectable.
    eos: LlamaToken,
    /// Reused candidate buffer (one entry per vocabulary token).
    buf: Vec<LlamaTokenData>,
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
        Ok(JudgeSampler {
            chain: chain(model, settings, seed),
            redraw: LlamaSampler::dist(seed ^ 0x9e37_79b9),
            grammar,
            grammar_first,
            eos: model.vocab().eos(),
            buf: Vec::with_capacity(model.n_vocab().max(0) as usize),
            stats: SamplerStats::default(),
        })
    }

    fn candidates(
        buf: &mut Vec<LlamaTokenData>,
        ctx: &LlamaContext<'_>,
        idx: i32,
    ) -> LlamaTokenDataArray {
        let mut data = std::mem::take(buf);
        data.clear();
        data.extend(
            ctx.get_logits_ith(idx)
                .iter()
                .enumerate()
                .map(|(i, &logit)| LlamaTokenData::new(LlamaToken::new(i as i32), logit, 0.0)),
        );
        LlamaTokenDataArray::new(data, false)
    }

    fn allowed(grammar: &mut LlamaSampler, token: LlamaToken) -> bool {
        let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        one.apply_sampler(grammar);
        one.data[0].logit() != f32::NEG_INFINITY
    }

    /// Choose the next token from the logits of batch position `idx` and accept it.
    pub fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        let mut cur = Self::candidates(&mut self.buf, ctx, idx);
        if self.grammar_first
            && let Some(grammar) = self.grammar.as_mut()
        {
            cur.apply_sampler(grammar);
            cur.apply_sampler(&mut self.chain);
            let token = cur.selected_token().unwrap_or(self.eos);
            self.buf = std::mem::take(&mut cur.data);
            self.stats.full += 1;
            self.accept(token);
            return token;
        }
        cur.apply_sampler(&mut self.chain);
        let mut token = cur.selected_token();
        if let Some(grammar) = self.grammar.as_mut() {
            if token.is_some_and(|t| Self::allowed(grammar, t)) {
                self.stats.direct += 1;
            } else {
                // Step 3: the chain's survivors, filtered by the grammar.
                cur.selected = None;
                cur.apply_sampler(grammar);
                // Drop the rejected (-inf) entries: llama.cpp's `dist` takes the first entry of
                // a sorted array as the maximum, which would be -inf here.
                cur.data.retain(|d| d.logit() != f32::NEG_INFINITY);
                token = if !cur.data.is_empty() {
                    cur.apply_sampler(&mut self.redraw);
                    cur.selected_token()
                } else {
                    None
                };
                if token.is_some() {
                    self.stats.rescued += 1;
                } else {
                    // Step 4: grammar first over the whole vocabulary, then the chain.
                    self.buf = std::mem::take(&mut cur.data);
                    cur = Self::candidates(&mut self.buf, ctx, idx);
                    cur.apply_sampler(grammar);
                    cur.apply_sampler(&mut self.chain);
                    token = cur.selected_token();
                    self.stats.full += 1;
                }
            }
        } else {
            self.stats.direct += 1;
        }
        self.buf = std::mem::take(&mut cur.data);
        // The chain ends with `dist`, which always selects while any candidate is finite;
        // the grammar always leaves at least one (end of generation once it is complete).
        let token = token.unwrap_or(self.eos);
        self.accept(token);
        token
    }

    /// Record a token that was chosen (or forced) so penalties and grammar follow it.
    pub fn accept(&mut self, token: LlamaToken) {
        if let Some(g) = self.grammar.as_mut() {
            g.accept(token);
        }
        self.chain.accept(token);
    }
}

/// The sampler chain for the settings: penalties, top-k, top-p, temperature, draw.
fn chain(model: &LlamaModel, s: &SamplerSettings, seed: u32) -> LlamaSampler {
    let mut parts = Vec::new();
    if s.repeat_penalty != 1.0 && s.repeat_last_n != 0 {
        parts.push(LlamaSampler::penalties(
            model.n_vocab(),
            s.repeat_last_n,
            s.repeat_penalty,
            0.0,
            0.0,
        ));
    }
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
