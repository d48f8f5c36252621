//! The position-robust verdict: one decision from a case judged in both orders. Pure value
//! logic next to `domain` (the store, the stats, the exports and the workbench all use it).
//!
//! A judge with position bias prefers whichever answer it is shown first. Judging the case
//! twice, once as stored and once with A and B exchanged, and combining the two cancels
//! that bias out: what is left is the preference that survives the swap.
//!
//! Rule (pure, no I/O):
//! - Both orders have P(A), P(B), P(tie) (always stored in the case's own letters, the
//!   swapped judgment's included): each order's three probabilities are normalised to sum
//!   to 1 so both orders weigh the same, then averaged; the verdict is the most probable
//!   of A, B and tie. When P(A) and P(B) are equal (within 1e-9) and above P(tie) neither
//!   answer is preferred, so the verdict is `tie`. The margin is the largest averaged
//!   probability minus the second largest.
//! - Otherwise (a server that returns no logprobs, an imported judgment, a judgment with
//!   no verdict token): the two parsed verdicts are compared. The same verdict in both
//!   orders is the robust verdict; different verdicts mean the judge followed the position,
//!   not the content, so there is no robust verdict (`None`, basis `Disagree`). No margin.
//! - Only one order judged, or a verdict missing in one order without probabilities:
//!   no robust verdict (basis `Incomplete`).

use crate::domain::Verdict;
use serde::Serialize;

/// One order's judgment, as far as the combination needs it. Letters are the case's own.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OrderVerdict {
    pub verdict: Option<Verdict>,
    /// P(A), P(B), P(tie) at the verdict position, when the backend gave them.
    pub probs: Option<[f64; 3]>,
}

impl OrderVerdict {
    pub fn new(
        verdict: Option<Verdict>,
        p_a: Option<f64>,
        p_b: Option<f64>,
        p_tie: Option<f64>,
    ) -> Self {
        // A profile without a tie choice (rm-r1's [[A]]/[[B]]) stores no P(tie): it is zero.
        let probs = match (p_a, p_b) {
            (Some(a), Some(b)) => Some([a, b, p_tie.unwrap_or(0.0)]),
            _ => None,
        };
        OrderVerdict { verdict, probs }
    }

    pub fn of(j: &crate::domain::NewJudgment) -> Self {
        OrderVerdict::new(j.verdict, j.p_a, j.p_b, j.p_tie)
    }
}

/// What the robust verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RobustBasis {
    /// Averaged probabilities of both orders.
    Probabilities,
    /// No probabilities; both orders gave the same verdict.
    Agreement,
    /// No probabilities; the orders gave different verdicts (position bias): no verdict.
    Disagree,
    /// One order is missing (not judged, or no verdict and no probabilities): no verdict.
    Incomplete,
}

impl RobustBasis {
    pub fn describe(self) -> &'static str {
        match self {
            RobustBasis::Probabilities => "averaged over both orders",
            RobustBasis::Agreement => "both orders agree (no probabilities)",
            RobustBasis::Disagree => "orders disagree (no probabilities)",
            RobustBasis::Incomplete => "needs both orders",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Robust {
    pub verdict: Option<Verdict>,
    pub basis: RobustBasis,
    /// Averaged P(A), P(B), P(tie) (basis `Probabilities` only).
    pub probs: Option<[f64; 3]>,
    /// Largest averaged probability minus the second largest (basis `Probabilities` only).
    pub margin: Option<f64>,
    /// Whether the two orders' own verdicts agree (`None` when one is missing).
    pub consistent: Option<bool>,
}

const EPS: f64 = 1e-9;

/// The three probabilities scaled to sum to 1; `None` when they are not usable numbers.
pub fn normalise(p: [f64; 3]) -> Option<[f64; 3]> {
    if p.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return None;
    }
    let sum: f64 = p.iter().sum();
    (sum > EPS).then(|| [p[0] / sum, p[1] / sum, p[2] / sum])
}

/// The most probable of A, B and tie; equal A and B above tie is a tie.
pub fn argmax(p: [f64; 3]) -> Verdict {
    let [a, b, t] = p;
    if (a - b).abs() <= EPS {
        // Equal chances for both answers: no preference between them.
        return Verdict::Tie;
    }
    let (best, pb) = if a > b {
        (Verdict::A, a)
    } else {
        (Verdict::B, b)
    };
    if t > pb + EPS { Verdict::Tie } else { best }
}

/// Largest minus second largest of the (normalised) probabilities: how far the verdict is
/// from flipping. `None` when the probabilities are not usable.
pub fn margin(p: [f64; 3]) -> Option<f64> {
    let mut n = normalise(p)?;
    n.sort_by(|x, y| y.total_cmp(x));
    Some(n[0] - n[1])
}

/// Combine the judgment in the original order with the one in the swapped order.
pub fn combine(original: Option<&OrderVerdict>, swapped: Option<&OrderVerdict>) -> Robust {
    let incomplete = Robust {
        verdict: None,
        basis: RobustBasis::Incomplete,
        probs: None,
        margin: None,
        consistent: None,
    };
    let (Some(o), Some(s)) = (original, swapped) else {
        return incomplete;
    };
    let consistent = match (o.verdict, s.verdict) {
        (Some(x), Some(y)) => Some(x == y),
        _ => None,
    };
    if let (Some(po), Some(ps)) = (o.probs.and_then(normalise), s.probs.and_then(normalise)) {
        let avg = [
            (po[0] + ps[0]) / 2.0,
            (po[1] + ps[1]) / 2.0,
            (po[2] + ps[2]) / 2.0,
        ];
        return Robust {
            verdict: Some(argmax(avg)),
            basis: RobustBasis::Probabilities,
            probs: Some(avg),
            margin: margin(avg),
            consistent,
        };
    }
    match consistent {
        Some(true) => Robust {
            verdict: o.verdict,
            basis: RobustBasis::Agreement,
            consistent,
            ..incomplete
        },
        Some(false) => Robust {
            basis: RobustBasis::Disagree,
            consistent,
            ..incomplete
        },
        None => incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ov(v: Verdict, a: f64, b: f64, t: f64) -> OrderVerdict {
        OrderVerdict {
            verdict: Some(v),
            probs: Some([a, b, t]),
        }
    }

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 1e-9
    }

    #[test]
    fn a_profile_without_a_tie_choice_still_has_probabilities() {
        // rm-r1 answers [[A]] or [[B]] only: its judgments store P(A) and P(B), no P(tie).
        let o = OrderVerdict::new(Some(Verdict::A), Some(0.8), Some(0.2), None);
        assert_eq!(o.probs, Some([0.8, 0.2, 0.0]));
        let none = OrderVerdict::new(Some(Verdict::A), Some(0.8), None, None);
        assert_eq!(none.probs, None);
    }

    #[test]
    fn pure_position_bias_cancels_out() {
        // Shown first wins each time: original says A 0.9, swapped (mapped back) says B 0.9.
        let r = combine(
            Some(&ov(Verdict::A, 0.9, 0.1, 0.0)),
            Some(&ov(Verdict::B, 0.1, 0.9, 0.0)),
        );
        assert_eq!(r.verdict, Some(Verdict::Tie));
        assert_eq!(r.basis, RobustBasis::Probabilities);
        assert_eq!(r.consistent, Some(false));
        assert!(close(r.margin.unwrap(), 0.0));
    }

    #[test]
    fn the_preference_that_survives_the_swap_wins() {
        // Position bias pulls towards the first answer, but A is preferred in both orders
        // on average: 0.95 first, 0.40 second -> mean 0.675.
        let r = combine(
            Some(&ov(Verdict::A, 0.95, 0.05, 0.0)),
            Some(&ov(Verdict::B, 0.40, 0.60, 0.0)),
        );
        assert_eq!(r.verdict, Some(Verdict::A));
        let p = r.probs.unwrap();
        assert!(close(p[0], 0.675) && close(p[1], 0.325));
        assert!(close(r.margin.unwrap(), 0.35));
        // And the mirror image.
        let r = combine(
            Some(&ov(Verdict::A, 0.55, 0.45, 0.0)),
            Some(&ov(Verdict::B, 0.1, 0.9, 0.0)),
        );
        assert_eq!(r.verdict, Some(Verdict::B));
    }

    #[test]
    fn each_order_is_normalised_before_averaging() {
        // The first order's three numbers sum to 0.5 (mass on other tokens): it must not
        // count half as much as the second.
        let r = combine(
            Some(&ov(Verdict::A, 0.4, 0.1, 0.0)),
            Some(&ov(Verdict::B, 0.3, 0.7, 0.0)),
        );
        let p = r.probs.unwrap();
        assert!(close(p[0], (0.8 + 0.3) / 2.0), "{p:?}");
        assert_eq!(r.verdict, Some(Verdict::A));
    }

    #[test]
    fn tie_wins_when_most_probable() {
        let r = combine(
            Some(&ov(Verdict::Tie, 0.2, 0.2, 0.6)),
            Some(&ov(Verdict::A, 0.5, 0.1, 0.4)),
        );
        assert_eq!(r.verdict, Some(Verdict::Tie));
        assert!(close(r.margin.unwrap(), 0.5 - 0.35));
    }

    #[test]
    fn without_probabilities_agreement_decides() {
        let plain = |v| OrderVerdict {
            verdict: Some(v),
            probs: None,
        };
        let r = combine(Some(&plain(Verdict::B)), Some(&plain(Verdict::B)));
        assert_eq!(
            (r.verdict, r.basis),
            (Some(Verdict::B), RobustBasis::Agreement)
        );
        assert_eq!(r.margin, None);
        let r = combine(Some(&plain(Verdict::A)), Some(&plain(Verdict::B)));
        assert_eq!((r.verdict, r.basis), (None, RobustBasis::Disagree));
        // One order with probabilities and one without: agreement, not half an average.
        let r = combine(
            Some(&ov(Verdict::A, 0.9, 0.1, 0.0)),
            Some(&plain(Verdict::A)),
        );
        assert_eq!(r.basis, RobustBasis::Agreement);
    }

    #[test]
    fn incomplete_without_both_orders() {
        let o = ov(Verdict::A, 0.9, 0.1, 0.0);
        assert_eq!(combine(Some(&o), None).basis, RobustBasis::Incomplete);
        assert_eq!(combine(None, Some(&o)).verdict, None);
        let unparsed = OrderVerdict::default();
        let r = combine(Some(&o), Some(&unparsed));
        assert_eq!((r.verdict, r.basis), (None, RobustBasis::Incomplete));
    }

    #[test]
    fn unusable_probabilities_fall_back() {
        let bad = ov(Verdict::A, f64::NAN, 0.1, 0.0);
        let r = combine(Some(&bad), Some(&ov(Verdict::A, 0.6, 0.4, 0.0)));
        assert_eq!(r.basis, RobustBasis::Agreement);
        let zero = ov(Verdict::A, 0.0, 0.0, 0.0);
        assert_eq!(normalise(zero.probs.unwrap()), None);
    }

    #[test]
    fn argmax_and_margin() {
        assert_eq!(argmax([0.5, 0.5, 0.0]), Verdict::Tie);
        assert_eq!(argmax([0.6, 0.3, 0.1]), Verdict::A);
        assert_eq!(argmax([0.3, 0.6, 0.1]), Verdict::B);
        assert_eq!(argmax([0.3, 0.3, 0.4]), Verdict::Tie);
        assert!(close(margin([0.6, 0.3, 0.1]).unwrap(), 0.3));
        assert!(close(margin([2.0, 1.0, 1.0]).unwrap(), 0.25));
    }
}
