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
    /// Of `reviewed`, decisions made in blind mode.
    pub blind: u64,
    pub flagged: u64,
    pub agreement: Vec<Agreement>,
    pub swap_checked: u64,
    pub swap_consistent: u64,
    pub length_bias: Vec<LengthBias>,
    /// Verdict counts (A, B, tie, both bad) of the humans.
    pub verdicts: Vec<(String, u64)>,
    /// Rubric experiments: per named rubric, its two newest judging versions compared
    /// ([`crate::rubric_experiment::summary_line`]), one line each.
    pub rubric_experiments: Vec<String>,
    /// The latest `rubricate eval` runs, newest first, one line each.
    pub eval_runs: Vec<String>,
}

/// One line for an eval run: id, model, n, accuracy with its interval, swap consistency.
pub fn eval_run_line(run: &crate::store::EvalRun) -> String {
    let n = crate::eval::run::numbers_of(run);
    let acc = match (n.accuracy, n.accuracy_ci) {
        (Some(a), Some([lo, hi])) => {
            format!("{:.0}% [{:.0}–{:.0}]", a * 100.0, lo * 100.0, hi * 100.0)
        }
        _ => "–".to_string(),
    };
    let swap = n
        .swap_consistency
        .map_or(String::new(), |s| format!(", swap {:.0}%", s * 100.0));
    format!(
        "#{} {} n {} acc {acc}{swap}",
        run.id, run.run.judge.model_file, n.n
    )
}

impl StatsView {
    /// The view of `crate::stats` figures (computed for the reviewer at the keyboard).
    pub fn from_stats(s: &crate::stats::Stats) -> StatsView {
        let agreement = |label: &str, a: &crate::stats::AgreementStats| Agreement {
            label: label.to_string(),
            count: a.n,
            agree: a.agree,
            rate: a.rate,
            kappa: a.kappa,
        };
        let bias = |label: &str, b: &crate::stats::LengthBiasStats| LengthBias {
            label: label.to_string(),
            decided: b.n,
            longer_wins: b.longer_wins,
            rate: b.rate,
        };
        StatsView {
            cases: s.cases,
            judged: s.judged,
            reviewed: s.reviewed,
            blind: s.blind_decisions,
            flagged: s.flagged,
            agreement: vec![
                agreement("you vs model", &s.agreement.human_vs_model),
                agreement("you vs label", &s.agreement.human_vs_label),
                agreement("model vs label", &s.agreement.model_vs_label),
            ],
            swap_checked: s.swap_consistency.n,
            swap_consistent: s.swap_consistency.consistent,
            length_bias: vec![
                bias("model", &s.length_bias.model),
                bias("you", &s.length_bias.human),
                bias("source label", &s.length_bias.label),
            ],
            verdicts: vec![
                ("A".into(), s.verdicts.a),
                ("B".into(), s.verdicts.b),
                ("tie".into(), s.verdicts.tie),
                ("both bad".into(), s.verdicts.both_bad),
            ],
            eval_runs: Vec::new(),
            rubric_experiments: Vec::new(),
        }
    }
}
