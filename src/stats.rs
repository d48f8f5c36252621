//! Counts, verdicts and agreement: `rubricate stats` and the workbench's statistics view.
//!
//! [`compute`] reads the store once, case by case, and returns a plain [`Stats`] value
//! (serialisable as the `--json` output); [`render_text`] draws it as a table.

use crate::cli::StatsArgs;
use crate::context::Context;
use crate::domain::{MergePolicy, ReviewerSelection, Verdict};
use crate::formats::decisions::{deciders, human_states, latest_verdict};
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

/// Counts per verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct VerdictCounts {
    #[serde(rename = "A")]
    pub a: u64,
    #[serde(rename = "B")]
    pub b: u64,
    pub tie: u64,
    pub both_bad: u64,
}

impl VerdictCounts {
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::A => self.a += 1,
            Verdict::B => self.b += 1,
            Verdict::Tie => self.tie += 1,
            Verdict::BothBad => self.both_bad += 1,
        }
    }
    pub fn total(&self) -> u64 {
        self.a + self.b + self.tie + self.both_bad
    }
}

/// How often two raters give the same verdict on the cases both rated.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct AgreementStats {
    /// `agree / n`; `None` when no case was rated by both.
    pub rate: Option<f64>,
    pub agree: u64,
    pub n: u64,
    /// Cohen's kappa: agreement corrected for chance. `None` when undefined (no cases,
    /// or both raters always gave one and the same verdict).
    pub kappa: Option<f64>,
}

/// Collects verdict pairs for [`AgreementStats`].
#[derive(Debug, Clone, Default)]
pub struct AgreementCounter {
    pairs: HashMap<(Verdict, Verdict), u64>,
}

impl AgreementCounter {
    pub fn add(&mut self, x: Verdict, y: Verdict) {
        *self.pairs.entry((x, y)).or_default() += 1;
    }

    pub fn finish(&self) -> AgreementStats {
        let n: u64 = self.pairs.values().sum();
        let agree: u64 = self
            .pairs
            .iter()
            .filter(|((x, y), _)| x == y)
            .map(|(_, c)| c)
            .sum();
        AgreementStats {
            rate: ratio(agree, n),
            agree,
            n,
            kappa: cohens_kappa(self.pairs.iter().map(|(&(x, y), &c)| (x, y, c))),
        }
    }
}

/// Cohen's kappa for two raters, from (rating of rater 1, rating of rater 2, count)
/// cells of their confusion matrix: (p_o − p_e) / (1 − p_e), where p_o is the observed
/// agreement and p_e the agreement expected from each rater's own label frequencies.
/// `None` when there are no ratings or p_e = 1 (both used one and the same label only).
pub fn cohens_kappa<L: Eq + std::hash::Hash + Copy>(
    cells: impl IntoIterator<Item = (L, L, u64)>,
) -> Option<f64> {
    let mut n = 0u64;
    let mut agree = 0u64;
    let mut first: HashMap<L, u64> = HashMap::new();
    let mut second: HashMap<L, u64> = HashMap::new();
    for (x, y, c) in cells {
        n += c;
        if x == y {
            agree += c;
        }
        *first.entry(x).or_default() += c;
        *second.entry(y).or_default() += c;
    }
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let p_o = agree as f64 / nf;
    let p_e: f64 = first
        .iter()
        .map(|(label, c1)| {
            (*c1 as f64 / nf) * (second.get(label).copied().unwrap_or(0) as f64 / nf)
        })
        .sum();
    if (1.0 - p_e).abs() < 1e-12 {
        return None;
    }
    Some((p_o - p_e) / (1.0 - p_e))
}

/// The 95 % Wilson score interval of a proportion `k / n` (a binomial rate), as (low, high).
/// Unlike the normal approximation it stays inside [0, 1] and is honest for small `n` and
/// for rates near 0 or 1. `None` when `n` is 0.
pub fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    wilson_z(k, n, 1.959_963_984_540_054)
}

/// [`wilson`] for any z (1.96 for 95 %).
pub fn wilson_z(k: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 || k > n {
        return None;
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Agreements {
    pub human_vs_label: AgreementStats,
    pub human_vs_model: AgreementStats,
    pub model_vs_label: AgreementStats,
}

/// The swap check: does the verdict on the swapped order (mapped back) match the original?
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SwapConsistency {
    pub rate: Option<f64>,
    pub consistent: u64,
    /// Cases with a parsed verdict in both orders.
    pub n: u64,
}

/// Among A/B decisions on answers of different length, how often the longer one won.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LengthBiasStats {
    pub longer_wins: u64,
    pub n: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LengthBias {
    pub model: LengthBiasStats,
    pub human: LengthBiasStats,
    pub label: LengthBiasStats,
}

/// The position-robust verdict (see `crate::robust`) over the cases judged in both orders.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RobustStats {
    /// Cases with a judgment in each order.
    pub cases: u64,
    /// Robust verdicts reached.
    pub verdicts: VerdictCounts,
    /// Cases whose orders disagree and no probabilities settle it (no robust verdict).
    pub undecided: u64,
    /// Robust verdict against the source label.
    pub vs_label: AgreementStats,
    /// Cases whose verdict in force is within `store::LOW_MARGIN` of flipping.
    pub low_margin: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Stats {
    /// Whose decisions count: the reviewer named, or `None` with `merge` set (all
    /// reviewers' decisions merged case by case under that policy).
    pub reviewer: Option<String>,
    /// The merge policy when every reviewer's decisions count (`--all-reviewers`).
    pub merge: Option<MergePolicy>,
    /// Cases that reviewers decided but the merge policy gave no verdict (not in `reviewed`).
    pub unresolved: u64,
    /// Decisions in force that were made in blind mode (part of `reviewed`).
    pub blind_decisions: u64,
    /// Every reviewer with decisions in force, and on how many cases (whatever the selection).
    pub decisions_by_reviewer: BTreeMap<String, u64>,
    pub cases: u64,
    /// Cases with at least one judgment in the original order.
    pub judged: u64,
    /// Judgment rows, swapped ones included.
    pub judgments: u64,
    /// Judgment rows whose output did not parse.
    pub parse_failures: u64,
    /// Cases with a human decision in force.
    pub reviewed: u64,
    pub flagged: u64,
    /// Final human verdicts.
    pub verdicts: VerdictCounts,
    /// Latest model verdicts (original order).
    pub model_verdicts: VerdictCounts,
    /// Source labels.
    pub label_verdicts: VerdictCounts,
    pub agreement: Agreements,
    pub swap_consistency: SwapConsistency,
    pub length_bias: LengthBias,
    /// The position-robust verdict, where both orders are judged.
    pub position_robust: RobustStats,
    /// Cases per source.
    pub sources: BTreeMap<String, u64>,
}

#[derive(Default)]
struct LengthCounter(LengthBiasStats);

impl LengthCounter {
    fn add(&mut self, verdict: Verdict, len_a: usize, len_b: usize) {
        if !verdict.is_pair() || len_a == len_b {
            return;
        }
        self.0.n += 1;
        if (verdict == Verdict::A) == (len_a > len_b) {
            self.0.longer_wins += 1;
        }
    }
    fn finish(mut self) -> LengthBiasStats {
        self.0.rate = ratio(self.0.longer_wins, self.0.n);
        self.0
    }
}

/// Statistics over the whole store; human decisions are those of `selection` (one
/// reviewer's, or all reviewers' merged by a policy).
pub fn compute(store: &Store, selection: &ReviewerSelection) -> Result<Stats> {
    let mut s = Stats {
        reviewer: selection.reviewer().map(str::to_string),
        merge: selection.policy(),
        decisions_by_reviewer: deciders(store)?.into_iter().collect(),
        ..Default::default()
    };
    // One pass over the review log for every case's human side.
    let mut humans = human_states(store, selection)?;
    let (judgments, parse_failures): (i64, i64) = store.conn().query_row(
        "SELECT COUNT(*), COALESCE(SUM(parse_ok = 0), 0) FROM judgments",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    s.judgments = judgments as u64;
    s.parse_failures = parse_failures as u64;
    let mut human_vs_label = AgreementCounter::default();
    let mut human_vs_model = AgreementCounter::default();
    let mut model_vs_label = AgreementCounter::default();
    let mut swap = SwapConsistency::default();
    let mut robust = RobustStats::default();
    let mut robust_vs_label = AgreementCounter::default();
    let (mut len_model, mut len_human, mut len_label) = (
        LengthCounter::default(),
        LengthCounter::default(),
        LengthCounter::default(),
    );

    store.for_each_case(|case| {
        s.cases += 1;
        *s.sources.entry(case.source.clone()).or_default() += 1;
        let len_a = case.answer_a.chars().count();
        let len_b = case.answer_b.chars().count();

        let original = latest_verdict(store, case.id, false)?;
        if original.is_some() {
            s.judged += 1;
        }
        let model = original.and_then(|(_, v)| v);
        if let (Some(m), Some((_, Some(sw)))) = (model, latest_verdict(store, case.id, true)?) {
            swap.n += 1;
            if m == sw {
                swap.consistent += 1;
            }
        }
        let view = store.model_view(case.id)?;
        if view.both_orders() {
            robust.cases += 1;
            match view.robust.verdict {
                Some(v) => {
                    robust.verdicts.add(v);
                    if let Some(l) = case.source_label {
                        robust_vs_label.add(v, l);
                    }
                }
                None => robust.undecided += 1,
            }
        }
        if view.margin().is_some_and(|m| m < crate::store::LOW_MARGIN) {
            robust.low_margin += 1;
        }
        let human_state = humans.remove(&case.id).unwrap_or_default();
        if human_state.flagged {
            s.flagged += 1;
        }
        if human_state.unresolved.is_some() {
            s.unresolved += 1;
        }
        if human_state.verdict().is_some() && human_state.blind() {
            s.blind_decisions += 1;
        }
        let human = human_state.verdict();
        let label = case.source_label;

        if let Some(h) = human {
            s.reviewed += 1;
            s.verdicts.add(h);
            len_human.add(h, len_a, len_b);
        }
        if let Some(m) = model {
            s.model_verdicts.add(m);
            len_model.add(m, len_a, len_b);
        }
        if let Some(l) = label {
            s.label_verdicts.add(l);
            len_label.add(l, len_a, len_b);
        }
        if let (Some(h), Some(l)) = (human, label) {
            human_vs_label.add(h, l);
        }
        if let (Some(h), Some(m)) = (human, model) {
            human_vs_model.add(h, m);
        }
        if let (Some(m), Some(l)) = (model, label) {
            model_vs_label.add(m, l);
        }
        Ok(())
    })?;

    s.agreement = Agreements {
        human_vs_label: human_vs_label.finish(),
        human_vs_model: human_vs_model.finish(),
        model_vs_label: model_vs_label.finish(),
    };
    swap.rate = ratio(swap.consistent, swap.n);
    robust.vs_label = robust_vs_label.finish();
    s.position_robust = robust;
    s.swap_consistency = swap;
    s.length_bias = LengthBias {
        model: len_model.finish(),
        human: len_human.finish(),
        label: len_label.finish(),
    };
    Ok(s)
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or("–".into(), |r| format!("{:.1}%", r * 100.0))
}

fn num(x: Option<f64>) -> String {
    x.map_or("–".into(), |k| format!("{k:.2}"))
}

fn counts(v: &VerdictCounts) -> String {
    format!(
        "A {}  B {}  tie {}  both bad {}",
        v.a, v.b, v.tie, v.both_bad
    )
}

/// The statistics as a readable table (plain text, no colour).
pub fn render_text(s: &Stats) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    for l in header(s) {
        line(l);
    }
    line(String::new());
    line(format!("{:<18}{:>8}", "cases", s.cases));
    line(format!("{:<18}{:>8}", "judged", s.judged));
    line(format!(
        "{:<18}{:>8}   ({} parse failures)",
        "judgments", s.judgments, s.parse_failures
    ));
    line(format!(
        "{:<18}{:>8}   ({} made blind)",
        "reviewed", s.reviewed, s.blind_decisions
    ));
    if s.merge.is_some() {
        line(format!(
            "{:<18}{:>8}   (decided, but no verdict under the merge policy)",
            "unresolved", s.unresolved
        ));
    }
    line(format!("{:<18}{:>8}", "flagged", s.flagged));
    line(String::new());
    line(format!("{:<18}{}", "human verdicts", counts(&s.verdicts)));
    line(format!(
        "{:<18}{}",
        "model verdicts",
        counts(&s.model_verdicts)
    ));
    line(format!(
        "{:<18}{}",
        "source labels",
        counts(&s.label_verdicts)
    ));
    line(String::new());
    line(format!(
        "{:<18}{:>8}{:>12}{:>8}",
        "agreement", "rate", "agree/n", "kappa"
    ));
    for (name, a) in [
        ("human vs label", &s.agreement.human_vs_label),
        ("human vs model", &s.agreement.human_vs_model),
        ("model vs label", &s.agreement.model_vs_label),
    ] {
        line(format!(
            "{:<18}{:>8}{:>12}{:>8}",
            name,
            pct(a.rate),
            format!("{}/{}", a.agree, a.n),
            num(a.kappa)
        ));
    }
    line(String::new());
    line(format!(
        "{:<18}{:>8}{:>12}",
        "swap consistency",
        pct(s.swap_consistency.rate),
        format!("{}/{}", s.swap_consistency.consistent, s.swap_consistency.n)
    ));
    let r = &s.position_robust;
    line(format!(
        "{:<18}{:>8}   (both orders judged; {} without a verdict: orders disagree)",
        "position-robust", r.cases, r.undecided
    ));
    line(format!("{:<18}{}", "  verdicts", counts(&r.verdicts)));
    line(format!(
        "{:<18}{:>8}{:>12}{:>8}",
        "  vs label",
        pct(r.vs_label.rate),
        format!("{}/{}", r.vs_label.agree, r.vs_label.n),
        num(r.vs_label.kappa)
    ));
    line(format!(
        "{:<18}{:>8}   (margin under {:.2})",
        "low margin",
        r.low_margin,
        crate::store::LOW_MARGIN
    ));
    line(format!(
        "{:<18}{:>8}{:>12}",
        "longer answer won", "rate", "wins/n"
    ));
    for (name, l) in [
        ("  model", &s.length_bias.model),
        ("  human", &s.length_bias.human),
        ("  label", &s.length_bias.label),
    ] {
        line(format!(
            "{:<18}{:>8}{:>12}",
            name,
            pct(l.rate),
            format!("{}/{}", l.longer_wins, l.n)
        ));
    }
    if !s.sources.is_empty() {
        line(String::new());
        line("sources".to_string());
        for (src, n) in &s.sources {
            line(format!(
                "  {:<16}{:>8}",
                crate::sanitize::visible_line(src),
                n
            ));
        }
    }
    out
}

/// Whose decisions the figures are, first thing in the text output: the reviewer or the
/// merge policy, never silent; and what to do when the reviewer has decided nothing
/// while others have.
pub fn header(s: &Stats) -> Vec<String> {
    let vis = crate::sanitize::visible_line;
    let mut out = Vec::new();
    match (&s.reviewer, s.merge) {
        (Some(r), _) => out.push(format!("decisions of reviewer {}", vis(r))),
        (None, Some(p)) => out.push(format!(
            "decisions of all reviewers ({}), merged by {}: {}",
            s.decisions_by_reviewer.len(),
            p.as_str(),
            policy_meaning(p)
        )),
        (None, None) => out.push("decisions of all reviewers".to_string()),
    }
    if let Some(r) = &s.reviewer {
        let others: Vec<String> = s
            .decisions_by_reviewer
            .iter()
            .filter(|(name, _)| *name != r)
            .map(|(name, n)| format!("{} ({n})", vis(name)))
            .collect();
        if s.reviewed == 0 && !others.is_empty() {
            out.push(format!(
                "reviewer {} has no decisions; other reviewers have: {}. Name one with --reviewer NAME, \
                 or merge them with --all-reviewers --merge latest|majority|unanimous",
                vis(r),
                others.join(", ")
            ));
        } else if !others.is_empty() {
            out.push(format!(
                "(other reviewers not counted: {}; --all-reviewers merges them)",
                others.join(", ")
            ));
        }
    }
    out
}

/// One line on what a merge policy does, for headers.
pub fn policy_meaning(p: MergePolicy) -> &'static str {
    match p {
        MergePolicy::Latest => "the most recent decision of any reviewer",
        MergePolicy::Majority => "the verdict of more than half of the reviewers who decided",
        MergePolicy::Unanimous => "only verdicts every reviewer who decided agrees on",
    }
}

pub fn run(ctx: &Context, args: &StatsArgs) -> Result<ExitCode> {
    let store = ctx.open_store()?;
    let selection = ctx.reviewer_selection(&args.reviewers)?;
    let stats = compute(&store, &selection)?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        crate::out!("{}", render_text(&stats));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: Option<f64>, want: f64) -> bool {
        x.is_some_and(|k| (k - want).abs() < 1e-9)
    }

    #[test]
    fn wilson_reference_values() {
        // Reference values computed separately (Python, the textbook formula, z = 1.959964).
        let (lo, hi) = wilson(50, 100).unwrap();
        assert!(
            (lo - 0.403_832).abs() < 1e-5 && (hi - 0.596_168).abs() < 1e-5,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(lo == 0.0 && (hi - 0.277_533).abs() < 1e-5, "{lo} {hi}");
        let (lo, hi) = wilson(10, 10).unwrap();
        assert!(
            (lo - 0.722_467).abs() < 1e-5 && (hi - 1.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(1, 3).unwrap();
        assert!(
            (lo - 0.061_492).abs() < 1e-5 && (hi - 0.792_340).abs() < 1e-5,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(4, 3), None);
        // Symmetric around one half, and narrowing as n grows.
        let (a, b) = wilson(3, 10).unwrap();
        let (c, d) = wilson(7, 10).unwrap();
        assert!((a - (1.0 - d)).abs() < 1e-12 && (b - (1.0 - c)).abs() < 1e-12);
        let (lo1, hi1) = wilson(30, 100).unwrap();
        let (lo2, hi2) = wilson(300, 1000).unwrap();
        assert!(hi2 - lo2 < hi1 - lo1);
    }

    #[test]
    fn kappa_textbook_example() {
        // 50 items: both yes 20, yes/no 5, no/yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4.
        let cells = [
            ("y", "y", 20),
            ("y", "n", 5),
            ("n", "y", 10),
            ("n", "n", 15),
        ];
        assert!(close(cohens_kappa(cells), 0.4));
    }

    #[test]
    fn kappa_perfect_chance_and_undefined() {
        assert!(close(cohens_kappa([(1, 1, 5), (2, 2, 5)]), 1.0));
        // Agreement exactly at chance level.
        assert!(close(
            cohens_kappa([(1, 1, 1), (1, 2, 1), (2, 1, 1), (2, 2, 1)]),
            0.0
        ));
        // Worse than chance.
        assert!(cohens_kappa([(1, 2, 5), (2, 1, 5)]).unwrap() < 0.0);
        assert_eq!(cohens_kappa::<u8>([]), None);
        assert_eq!(cohens_kappa([(1, 1, 7)]), None);
    }

    #[test]
    fn counter_reports_rate_and_counts() {
        let mut c = AgreementCounter::default();
        c.add(Verdict::A, Verdict::A);
        c.add(Verdict::B, Verdict::A);
        c.add(Verdict::B, Verdict::B);
        c.add(Verdict::Tie, Verdict::B);
        let s = c.finish();
        assert_eq!((s.agree, s.n), (2, 4));
        assert!(close(s.rate, 0.5));
        assert!(s.kappa.is_some());
    }

    #[test]
    fn length_bias_ignores_ties_and_equal_lengths() {
        let mut l = LengthCounter::default();
        l.add(Verdict::A, 10, 5); // longer won
        l.add(Verdict::B, 10, 5); // shorter won
        l.add(Verdict::Tie, 10, 5);
        l.add(Verdict::A, 5, 5);
        let s = l.finish();
        assert_eq!((s.longer_wins, s.n), (1, 2));
    }
}
