//! `rubricate eval`: how good is the judge on a labelled set?
//!
//! This module is the pure part: [`compute`] turns what was judged ([`EvalItem`]s, one per
//! labelled case) into [`EvalNumbers`], the figures the RM-R1 paper reports and the ones a
//! reviewer needs to know how far to trust the judge; [`render_text`] draws them as a table
//! and [`render_compare`] puts stored runs side by side. The judging and the store are in
//! [`run`].
//!
//! Definitions (also the meaning of the `--json` keys, see docs/eval.md):
//! - A case counts when its source label is A or B (tie and both-bad labels have no winner
//!   to find) and it has a judgment in the original order. A verdict that did not parse,
//!   or a tie, is a wrong answer.
//! - `accuracy`: original-order verdict = label. `position_robust_accuracy`: the
//!   position-robust verdict (`crate::robust`) = label, over the cases judged in both orders;
//!   no robust verdict (orders disagree without probabilities) is wrong.
//! - `swap_consistency`: both orders gave the same verdict (in the case's own letters), over
//!   the cases with a parsed verdict in both orders.
//! - `first_position_rate`: of all A/B verdicts, in either order, the share that picked the
//!   answer shown first. An unbiased judge on shuffled data is near 0.5.
//! - `length_bias`: among cases whose answers differ in length, how often the judge's A/B
//!   verdict (original order) picked the longer answer, against how often the label does.
//! - Every rate has a 95 % Wilson interval (`*_ci`, `[low, high]`).

pub mod run;

use crate::domain::Verdict;
use crate::robust::{OrderVerdict, RobustBasis, combine};
use crate::stats::wilson;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One order's judgment, reduced to what the evaluation needs (letters are the case's own).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JudgedOrder {
    pub verdict: Option<Verdict>,
    pub probs: Option<[f64; 3]>,
    pub parse_ok: bool,
    /// Prefill plus generation time.
    pub ms: Option<u64>,
}

impl JudgedOrder {
    pub fn of(j: &crate::domain::NewJudgment) -> JudgedOrder {
        let ov = OrderVerdict::of(j);
        JudgedOrder {
            verdict: ov.verdict,
            probs: ov.probs,
            parse_ok: j.parse_ok,
            ms: match (j.ms_prefill, j.ms_generate) {
                (None, None) => None,
                (p, g) => Some(u64::from(p.unwrap_or(0)) + u64::from(g.unwrap_or(0))),
            },
        }
    }
    fn order(&self) -> OrderVerdict {
        OrderVerdict {
            verdict: self.verdict,
            probs: self.probs,
        }
    }
}

/// One labelled case and the judge's judgments of it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalItem {
    pub category: Option<String>,
    pub difficulty: Option<String>,
    pub label: Option<Verdict>,
    /// Answer lengths in characters.
    pub len_a: usize,
    pub len_b: usize,
    pub original: Option<JudgedOrder>,
    pub swapped: Option<JudgedOrder>,
}

/// A count, its rate and the rate's 95 % Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rate {
    pub k: u64,
    pub n: u64,
    pub rate: Option<f64>,
    pub ci: Option<[f64; 2]>,
}

impl Rate {
    pub fn new(k: u64, n: u64) -> Rate {
        Rate {
            k,
            n,
            rate: (n > 0).then(|| k as f64 / n as f64),
            ci: wilson(k, n).map(|(lo, hi)| [lo, hi]),
        }
    }

    /// The interval contains one half: on two answers, no better (nor worse) than a coin.
    pub fn at_chance(&self) -> bool {
        self.ci.is_none_or(|[lo, hi]| lo <= 0.5 && 0.5 <= hi)
    }
}

/// Accuracy of one slice (a category, a difficulty).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Group {
    pub n: u64,
    pub accuracy: Option<f64>,
    pub accuracy_ci: Option<[f64; 2]>,
    /// Cases judged in both orders.
    pub n_both_orders: u64,
    pub position_robust_accuracy: Option<f64>,
    pub position_robust_ci: Option<[f64; 2]>,
    pub swap_consistency: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LengthBias {
    /// Share of the judge's A/B verdicts (original order, answers of different length) that
    /// picked the longer answer.
    pub judge_longer_rate: Option<f64>,
    pub judge_n: u64,
    /// Share of the labels, over the same kind of cases, that prefer the longer answer.
    pub label_longer_rate: Option<f64>,
    pub label_n: u64,
}

/// The figures of one evaluation. Field names are the stable `--json` keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvalNumbers {
    /// Cases evaluated: label A or B, judged in the original order.
    pub n: u64,
    pub correct: u64,
    pub accuracy: Option<f64>,
    pub accuracy_ci: Option<[f64; 2]>,
    /// Cases judged in both orders.
    pub n_both_orders: u64,
    pub position_robust_correct: u64,
    pub position_robust_accuracy: Option<f64>,
    pub position_robust_ci: Option<[f64; 2]>,
    /// Among the robust verdicts, how many rest on probabilities (the rest on agreement).
    pub position_robust_from_probabilities: u64,
    pub swap_consistency: Option<f64>,
    pub swap_consistency_ci: Option<[f64; 2]>,
    pub swap_n: u64,
    pub first_position_rate: Option<f64>,
    pub first_position_ci: Option<[f64; 2]>,
    pub first_position_n: u64,
    pub length_bias: LengthBias,
    /// Judgment rows counted (both orders).
    pub judgments: u64,
    pub tie_rate: Option<f64>,
    pub parse_failures: u64,
    /// Judge time (prefill + generation) per evaluated case, both orders included.
    pub seconds_per_case: Option<f64>,
    pub by_category: BTreeMap<String, Group>,
    pub by_difficulty: BTreeMap<String, Group>,
    /// Cases selected but not counted, by reason ("label tie", "not judged", ...).
    pub skipped: BTreeMap<String, u64>,
}

impl EvalNumbers {
    pub fn accuracy_rate(&self) -> Rate {
        Rate::new(self.correct, self.n)
    }
}

/// Category name used for cases without one.
pub const NO_CATEGORY: &str = "(none)";

#[derive(Default)]
struct GroupCounter {
    n: u64,
    correct: u64,
    both: u64,
    robust_correct: u64,
    swap_n: u64,
    swap_consistent: u64,
}

impl GroupCounter {
    fn finish(&self) -> Group {
        let acc = Rate::new(self.correct, self.n);
        let robust = Rate::new(self.robust_correct, self.both);
        Group {
            n: self.n,
            accuracy: acc.rate,
            accuracy_ci: acc.ci,
            n_both_orders: self.both,
            position_robust_accuracy: robust.rate,
            position_robust_ci: robust.ci,
            swap_consistency: Rate::new(self.swap_consistent, self.swap_n).rate,
        }
    }
}

/// The figures for a set of judged, labelled cases.
pub fn compute(items: &[EvalItem]) -> EvalNumbers {
    let mut out = EvalNumbers::default();
    let mut all = GroupCounter::default();
    let mut cats: BTreeMap<String, GroupCounter> = BTreeMap::new();
    let mut diffs: BTreeMap<String, GroupCounter> = BTreeMap::new();
    let (mut first, mut first_n) = (0u64, 0u64);
    let (mut ties, mut ms_total, mut ms_seen) = (0u64, 0u64, false);
    let (mut judge_longer, mut judge_len_n, mut label_longer, mut label_len_n) = (0, 0, 0, 0);
    let mut from_probs = 0u64;
    let mut skip = |why: &str| *out.skipped.entry(why.to_string()).or_default() += 1;
    let mut counted: Vec<(&EvalItem, Verdict, &JudgedOrder)> = Vec::new();
    for item in items {
        let label = match item.label {
            Some(l @ (Verdict::A | Verdict::B)) => l,
            Some(Verdict::Tie) => {
                skip("label tie");
                continue;
            }
            Some(Verdict::BothBad) => {
                skip("label both_bad");
                continue;
            }
            None => {
                skip("no label");
                continue;
            }
        };
        let Some(original) = &item.original else {
            skip("not judged");
            continue;
        };
        counted.push((item, label, original));
    }
    for (item, label, original) in counted {
        let correct = original.verdict == Some(label);
        let robust = combine(
            Some(&original.order()),
            item.swapped.as_ref().map(JudgedOrder::order).as_ref(),
        );
        let both = item.swapped.is_some();
        let robust_correct = both && robust.verdict == Some(label);
        if both && robust.basis == RobustBasis::Probabilities {
            from_probs += 1;
        }
        let consistent = robust.consistent;
        for counter in [
            Some(&mut all),
            Some(
                cats.entry(
                    item.category
                        .clone()
                        .unwrap_or_else(|| NO_CATEGORY.to_string()),
                )
                .or_default(),
            ),
            item.difficulty.clone().map(|d| diffs.entry(d).or_default()),
        ]
        .into_iter()
        .flatten()
        {
            counter.n += 1;
            counter.correct += u64::from(correct);
            counter.both += u64::from(both);
            counter.robust_correct += u64::from(robust_correct);
            if let Some(c) = consistent {
                counter.swap_n += 1;
                counter.swap_consistent += u64::from(c);
            }
        }
        for (j, swapped) in [(Some(original), false), (item.swapped.as_ref(), true)] {
            let Some(j) = j else { continue };
            out.judgments += 1;
            if !j.parse_ok {
                out.parse_failures += 1;
            }
            if let Some(ms) = j.ms {
                ms_total += ms;
                ms_seen = true;
            }
            match j.verdict {
                Some(Verdict::Tie) => ties += 1,
                Some(v @ (Verdict::A | Verdict::B)) => {
                    first_n += 1;
                    // Shown first: A in the original order, the case's B when swapped.
                    let shown_first = if swapped { Verdict::B } else { Verdict::A };
                    first += u64::from(v == shown_first);
                }
                _ => {}
            }
        }
        if item.len_a != item.len_b {
            let longer = if item.len_a > item.len_b {
                Verdict::A
            } else {
                Verdict::B
            };
            label_len_n += 1;
            label_longer += u64::from(label == longer);
            if let Some(v @ (Verdict::A | Verdict::B)) = original.verdict {
                judge_len_n += 1;
                judge_longer += u64::from(v == longer);
            }
        }
    }
    let acc = Rate::new(all.correct, all.n);
    let robust = Rate::new(all.robust_correct, all.both);
    let swap = Rate::new(all.swap_consistent, all.swap_n);
    let firsts = Rate::new(first, first_n);
    out.n = all.n;
    out.correct = all.correct;
    out.accuracy = acc.rate;
    out.accuracy_ci = acc.ci;
    out.n_both_orders = all.both;
    out.position_robust_correct = all.robust_correct;
    out.position_robust_accuracy = robust.rate;
    out.position_robust_ci = robust.ci;
    out.position_robust_from_probabilities = from_probs;
    out.swap_consistency = swap.rate;
    out.swap_consistency_ci = swap.ci;
    out.swap_n = swap.n;
    out.first_position_rate = firsts.rate;
    out.first_position_ci = firsts.ci;
    out.first_position_n = first_n;
    out.length_bias = LengthBias {
        judge_longer_rate: Rate::new(judge_longer, judge_len_n).rate,
        judge_n: judge_len_n,
        label_longer_rate: Rate::new(label_longer, label_len_n).rate,
        label_n: label_len_n,
    };
    out.tie_rate = Rate::new(ties, out.judgments).rate;
    out.seconds_per_case = (ms_seen && out.n > 0).then(|| ms_total as f64 / 1000.0 / out.n as f64);
    out.by_category = cats.iter().map(|(k, c)| (k.clone(), c.finish())).collect();
    out.by_difficulty = diffs.iter().map(|(k, c)| (k.clone(), c.finish())).collect();
    out
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |r| format!("{:.1}%", r * 100.0))
}

fn ci(x: Option<[f64; 2]>) -> String {
    x.map_or(String::new(), |[lo, hi]| {
        format!("[{:.1}, {:.1}]", lo * 100.0, hi * 100.0)
    })
}

fn chance_note(ci_: Option<[f64; 2]>) -> &'static str {
    match ci_ {
        Some([lo, hi]) if lo <= 0.5 && 0.5 <= hi => "  no better than chance",
        _ => "",
    }
}

/// The figures as an RM-R1-style table (plain text; names are made visible).
pub fn render_text(n: &EvalNumbers) -> String {
    use crate::sanitize::visible_line;
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(format!(
        "{:<26}{:>6}{:>9}  {:<16}",
        "", "n", "accuracy", "95% interval"
    ));
    line(format!(
        "{:<26}{:>6}{:>9}  {:<16}{}",
        "overall",
        n.n,
        pct(n.accuracy),
        ci(n.accuracy_ci),
        chance_note(n.accuracy_ci)
    ));
    let group = |name: &str, g: &Group| {
        format!(
            "  {:<24}{:>6}{:>9}  {:<16}{}",
            visible_line(name),
            g.n,
            pct(g.accuracy),
            ci(g.accuracy_ci),
            if g.n_both_orders > 0 {
                format!(
                    "robust {} of {}, swap-consistent {}",
                    pct(g.position_robust_accuracy),
                    g.n_both_orders,
                    pct(g.swap_consistency)
                )
            } else {
                String::new()
            }
        )
    };
    if !n.by_category.is_empty() {
        line("by category".into());
        for (k, g) in &n.by_category {
            line(group(k, g));
        }
    }
    if !n.by_difficulty.is_empty() {
        line("by difficulty".into());
        for (k, g) in &n.by_difficulty {
            line(group(k, g));
        }
    }
    line(String::new());
    if n.n_both_orders > 0 {
        line(format!(
            "{:<26}{:>6}{:>9}  {:<16}{}",
            "position-robust accuracy",
            n.n_both_orders,
            pct(n.position_robust_accuracy),
            ci(n.position_robust_ci),
            chance_note(n.position_robust_ci)
        ));
        line(format!(
            "{:<26}{:>6}{:>9}  {:<16}(same verdict with A and B exchanged)",
            "swap consistency",
            n.swap_n,
            pct(n.swap_consistency),
            ci(n.swap_consistency_ci)
        ));
    } else {
        line("position-robust accuracy  – (judge both orders: --both-orders)".into());
    }
    line(format!(
        "{:<26}{:>6}{:>9}  {:<16}(picked the answer shown first; unbiased ≈ 50%)",
        "first-position rate",
        n.first_position_n,
        pct(n.first_position_rate),
        ci(n.first_position_ci)
    ));
    line(format!(
        "{:<26}{:>6}{:>9}  labels prefer the longer answer {} of {}",
        "longer answer wins",
        n.length_bias.judge_n,
        pct(n.length_bias.judge_longer_rate),
        pct(n.length_bias.label_longer_rate),
        n.length_bias.label_n
    ));
    line(format!(
        "{:<26}{:>6}{:>9}",
        "tie rate",
        n.judgments,
        pct(n.tie_rate)
    ));
    line(format!(
        "{:<26}{:>6}   of {} judgments",
        "parse failures", n.parse_failures, n.judgments
    ));
    line(format!(
        "{:<26}{:>15}",
        "seconds per case",
        n.seconds_per_case
            .map_or("–".into(), |s| format!("{s:.2} s"))
    ));
    if !n.skipped.is_empty() {
        let parts: Vec<String> = n.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        line(format!("not counted: {}", parts.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(v: Verdict, p: Option<[f64; 3]>) -> JudgedOrder {
        JudgedOrder {
            verdict: Some(v),
            probs: p,
            parse_ok: true,
            ms: Some(1000),
        }
    }

    fn item(cat: &str, label: Verdict, o: JudgedOrder, s: Option<JudgedOrder>) -> EvalItem {
        EvalItem {
            category: Some(cat.into()),
            difficulty: None,
            label: Some(label),
            len_a: 10,
            len_b: 20,
            original: Some(o),
            swapped: s,
        }
    }

    #[test]
    fn a_judge_that_always_picks_the_first_answer() {
        use Verdict::*;
        // Labels half A, half B; the judge always says "first shown" with 0.9.
        let first = |swapped: bool| {
            if swapped {
                order(B, Some([0.1, 0.9, 0.0]))
            } else {
                order(A, Some([0.9, 0.1, 0.0]))
            }
        };
        let items: Vec<EvalItem> = (0..10)
            .map(|i| {
                item(
                    "chat",
                    if i % 2 == 0 { A } else { B },
                    first(false),
                    Some(first(true)),
                )
            })
            .collect();
        let n = compute(&items);
        assert_eq!((n.n, n.correct), (10, 5));
        assert_eq!(n.accuracy, Some(0.5));
        assert!(Rate::new(n.correct, n.n).at_chance());
        // Averaged over the orders, nothing is left: every robust verdict is a tie, all wrong.
        assert_eq!(n.position_robust_accuracy, Some(0.0));
        assert_eq!(n.position_robust_from_probabilities, 10);
        assert_eq!(n.swap_consistency, Some(0.0));
        assert_eq!(n.first_position_rate, Some(1.0));
        assert_eq!(n.first_position_n, 20);
        assert_eq!(n.judgments, 20);
        assert_eq!(n.tie_rate, Some(0.0));
        // B is the longer answer here; the judge picks it in the original order never.
        assert_eq!(n.length_bias.judge_longer_rate, Some(0.0));
        assert_eq!(n.length_bias.label_longer_rate, Some(0.5));
        assert_eq!(n.seconds_per_case, Some(2.0));
        assert_eq!(n.by_category["chat"].n, 10);
        let text = render_text(&n);
        assert!(text.contains("no better than chance"), "{text}");
    }

    #[test]
    fn a_good_judge_per_category_and_difficulty() {
        use Verdict::*;
        let mut items = vec![
            item("math", A, order(A, None), Some(order(A, None))),
            item("math", B, order(B, None), Some(order(A, None))),
            item("chat", B, order(A, None), None),
            item("chat", B, order(Tie, None), None),
        ];
        items[0].difficulty = Some("hard".into());
        items[1].difficulty = Some("hard".into());
        // Not counted.
        items.push(EvalItem {
            label: Some(Tie),
            ..items[0].clone()
        });
        items.push(EvalItem {
            original: None,
            ..items[0].clone()
        });
        items.push(EvalItem {
            original: Some(JudgedOrder {
                verdict: None,
                parse_ok: false,
                ..Default::default()
            }),
            ..items[2].clone()
        });
        let n = compute(&items);
        assert_eq!(n.n, 5);
        assert_eq!(n.correct, 2);
        assert_eq!(n.parse_failures, 1);
        assert_eq!(n.skipped["label tie"], 1);
        assert_eq!(n.skipped["not judged"], 1);
        let math = n.by_category["math"];
        assert_eq!((math.n, math.accuracy), (2, Some(1.0)));
        assert_eq!(math.n_both_orders, 2);
        // math-2: the orders disagree and there are no probabilities: no robust verdict.
        assert_eq!(math.position_robust_accuracy, Some(0.5));
        assert_eq!(math.swap_consistency, Some(0.5));
        assert_eq!(n.by_category["chat"].accuracy, Some(0.0));
        assert_eq!(n.by_difficulty["hard"].n, 2);
        assert_eq!(n.by_difficulty.len(), 1);
        // One tie among 7 judgment rows (5 original + 2 swapped).
        assert_eq!(n.judgments, 7);
        assert!((n.tie_rate.unwrap() - 1.0 / 7.0).abs() < 1e-12);
        // First position: A/B verdicts A, B, A (original), A, A (swapped: shown first is B) -> 2/5.
        assert_eq!((n.first_position_n, n.first_position_rate), (5, Some(0.4)));
    }

    #[test]
    fn empty_set_has_no_rates() {
        let n = compute(&[]);
        assert_eq!(n.n, 0);
        assert_eq!(n.accuracy, None);
        assert_eq!(n.accuracy_ci, None);
        assert!(render_text(&n).contains("overall"));
    }
}
