//! What the statistics view draws, independent of how `crate::stats` computes it.

/// Agreement of two raters on the cases both decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Agreement {
    pub label: String,
    /// Cases both raters decided.
    pub count: u64,
    pub agree: u64,
    pub rate: Option<f64>,
    pub kappa: Option<f64>,
}

/// How often the longer answer wins, for one rater.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LengthBias {
    pub label: String,
    pub decided: u64,
    pub longer_wins: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsView {
    pub cases: u64,
    pub judged: u64,
    pub reviewed: u64,
    pub flagged: u64,
    pub agreement: Vec<Agreement>,
    pub swap_checked: u64,
    pub swap_consistent: u64,
    pub length_bias: Vec<LengthBias>,
    /// Verdict counts (A, B, tie, both bad) of the humans.
    pub verdicts: Vec<(String, u64)>,
}
