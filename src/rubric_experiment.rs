//! Rubric experiments: what changing a rubric did to the judge over a set of cases.
//!
//! Each arm is one library rubric version; its judgments are the ones recorded as given
//! that version (`judgments.library_rubric_id`), newest per case and order. An arm is
//! scored against the reviewers' decisions and the source labels, for swap consistency
//! (where both orders were judged with it), and the cases whose verdict differs between
//! the two arms are listed. [`compare`] is pure; [`load`] reads the store.

use crate::domain::Verdict;
use crate::formats::decisions::human_state;
use crate::store::{Store, StoredRubric};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one case looks like under both arms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseObs {
    pub case_id: i64,
    pub human: Option<Verdict>,
    pub label: Option<Verdict>,
    /// Per arm: (original-order verdict, swapped-order verdict), `Some(None)` when that
    /// order was judged but did not parse.
    pub arms: [ArmObs; 2],
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmObs {
    pub original: Option<Option<Verdict>>,
    pub swapped: Option<Option<Verdict>>,
}

/// A rate with its counts, so "n/a" is never shown as 0 %.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Rate {
    pub agree: u64,
    pub n: u64,
}

impl Rate {
    fn add(&mut self, agree: bool) {
        self.n += 1;
        self.agree += u64::from(agree);
    }
    pub fn percent(&self) -> Option<f64> {
        (self.n > 0).then(|| 100.0 * self.agree as f64 / self.n as f64)
    }
    pub fn show(&self) -> String {
        match self.percent() {
            Some(p) => format!("{p:.0}% ({}/{})", self.agree, self.n),
            None => "n/a (0)".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ArmReport {
    pub rubric: String,
    /// Cases of the set judged in the original order with this version.
    pub judged: u64,
    pub unparsed: u64,
    pub vs_reviewers: Rate,
    pub vs_labels: Rate,
    /// Both orders judged with this version and both parsed: same verdict?
    pub swap_consistent: Rate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changed {
    pub case_id: i64,
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
    pub human: Option<Verdict>,
    pub label: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub cases: u64,
    pub arms: [ArmReport; 2],
    /// Cases judged (and parsed) with both versions whose original-order verdict changed.
    pub changed: Vec<Changed>,
    /// Cases judged with both versions (the base of `changed`).
    pub judged_by_both: u64,
}

/// Score two arms over the observed cases.
pub fn compare(names: [String; 2], cases: &[CaseObs]) -> Experiment {
    let mut arms: [ArmReport; 2] = names.map(|rubric| ArmReport {
        rubric,
        ..Default::default()
    });
    let mut changed = Vec::new();
    let mut judged_by_both = 0;
    for c in cases {
        for (arm, obs) in arms.iter_mut().zip(&c.arms) {
            let Some(original) = obs.original else {
                continue;
            };
            arm.judged += 1;
            let Some(v) = original else {
                arm.unparsed += 1;
                continue;
            };
            if let Some(h) = c.human {
                arm.vs_reviewers.add(v == h);
            }
            if let Some(l) = c.label {
                arm.vs_labels.add(v == l);
            }
            if let Some(Some(s)) = obs.swapped {
                arm.swap_consistent.add(v == s);
            }
        }
        if let (Some(before), Some(after)) = (c.arms[0].original, c.arms[1].original) {
            judged_by_both += 1;
            if before != after {
                changed.push(Changed {
                    case_id: c.case_id,
                    before,
                    after,
                    human: c.human,
                    label: c.label,
                });
            }
        }
    }
    Experiment {
        cases: cases.len() as u64,
        arms,
        changed,
        judged_by_both,
    }
}

/// Read what the two versions' judgments said about `case_ids`. `reviewer` picks whose
/// decisions count (`None`: the most recent decision of any reviewer).
pub fn load(
    store: &Store,
    arms: [&StoredRubric; 2],
    case_ids: &[i64],
    reviewer: Option<&str>,
) -> Result<Vec<CaseObs>> {
    // Newest judgment per (case, order) for each version, in one pass per version.
    let mut per_arm: [BTreeMap<(i64, bool), Option<Verdict>>; 2] = Default::default();
    for (slot, rubric) in per_arm.iter_mut().zip(arms) {
        let mut stmt = store.conn().prepare(
            "SELECT case_id, swapped, verdict FROM judgments WHERE library_rubric_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([rubric.id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in rows {
            let (case_id, swapped, verdict) = row?;
            slot.insert(
                (case_id, swapped),
                verdict.as_deref().and_then(Verdict::parse),
            );
        }
    }
    let mut out = Vec::with_capacity(case_ids.len());
    for &case_id in case_ids {
        let Some(case) = store.get_case(case_id)? else {
            continue;
        };
        let arm = |i: usize| ArmObs {
            original: per_arm[i].get(&(case_id, false)).copied(),
            swapped: per_arm[i].get(&(case_id, true)).copied(),
        };
        out.push(CaseObs {
            case_id,
            human: human_state(store, case_id, reviewer)?.verdict(),
            label: case.source_label,
            arms: [arm(0), arm(1)],
        });
    }
    Ok(out)
}

/// One line for the statistics view: the two versions' agreement with the reviewer and
/// the labels, swap consistency, and how many verdicts the change moved.
pub fn summary_line(e: &Experiment) -> String {
    let [a, b] = &e.arms;
    format!(
        "{} → {}: vs you {} → {} · vs labels {} → {} · swap {} → {} · changed {} of {}",
        a.rubric,
        b.rubric,
        a.vs_reviewers.show(),
        b.vs_reviewers.show(),
        a.vs_labels.show(),
        b.vs_labels.show(),
        a.swap_consistent.show(),
        b.swap_consistent.show(),
        e.changed.len(),
        e.judged_by_both
    )
}

/// For each named rubric with at least two versions that judged something: its two newest
/// such versions compared over every case either of them judged (in the original order).
/// Per-case rubrics (`case-N`) are left out: one case is no set to compare over.
pub fn latest_experiments(store: &Store, reviewer: Option<&str>) -> Result<Vec<Experiment>> {
    let mut out = Vec::new();
    for summary in store.rubric_library(false)? {
        let versions = store.rubric_versions(&summary.name)?;
        let mut used: Vec<(&StoredRubric, Vec<i64>)> = Vec::new();
        for r in versions.iter().rev() {
            let mut stmt = store.conn().prepare_cached(
                "SELECT DISTINCT case_id FROM judgments WHERE library_rubric_id = ?1 AND swapped = 0",
            )?;
            let ids: Vec<i64> = stmt
                .query_map([r.id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if !ids.is_empty() {
                used.push((r, ids));
            }
            if used.len() == 2 {
                break;
            }
        }
        let [(newer, ids_b), (older, ids_a)] = match <[_; 2]>::try_from(used) {
            Ok(pair) => pair,
            Err(_) => continue,
        };
        let mut ids: Vec<i64> = ids_a.into_iter().chain(ids_b).collect();
        ids.sort_unstable();
        ids.dedup();
        let obs = load(store, [older, newer], &ids, reviewer)?;
        out.push(compare([older.label(), newer.label()], &obs));
    }
    Ok(out)
}

/// The report as text lines (the CLI prints them; the workbench shows them).
pub fn render(e: &Experiment) -> Vec<String> {
    let [a, b] = &e.arms;
    let w = a.rubric.len().max(b.rubric.len()).max(8);
    let mut lines = vec![
        format!("{} cases in the set", e.cases),
        format!(
            "{:w$}  {:>7}  {:>8}  {:>18}  {:>18}  {:>18}",
            "rubric", "judged", "unparsed", "vs reviewers", "vs labels", "swap-consistent"
        ),
    ];
    for arm in [a, b] {
        lines.push(format!(
            "{:w$}  {:>7}  {:>8}  {:>18}  {:>18}  {:>18}",
            arm.rubric,
            arm.judged,
            arm.unparsed,
            arm.vs_reviewers.show(),
            arm.vs_labels.show(),
            arm.swap_consistent.show()
        ));
    }
    lines.push(format!(
        "verdict changed on {} of {} cases judged with both",
        e.changed.len(),
        e.judged_by_both
    ));
    let v = |v: Option<Verdict>| v.map_or("-", Verdict::as_str);
    for c in &e.changed {
        lines.push(format!(
            "  case {:>5}: {} -> {}  (reviewer {}, label {})",
            c.case_id,
            v(c.before),
            v(c.after),
            v(c.human),
            v(c.label)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{A, B, Tie};

    fn obs(o: Option<Option<Verdict>>, s: Option<Option<Verdict>>) -> ArmObs {
        ArmObs {
            original: o,
            swapped: s,
        }
    }

    #[test]
    fn arms_are_scored_and_changes_listed() {
        let cases = vec![
            // v1 wrong, v2 right, both swap-consistent in v2 only.
            CaseObs {
                case_id: 1,
                human: Some(A),
                label: Some(A),
                arms: [
                    obs(Some(Some(B)), Some(Some(A))),
                    obs(Some(Some(A)), Some(Some(A))),
                ],
            },
            // both right; v1 unjudged in swapped order.
            CaseObs {
                case_id: 2,
                human: None,
                label: Some(B),
                arms: [obs(Some(Some(B)), None), obs(Some(Some(B)), None)],
            },
            // only v1 judged; v1 unparsed.
            CaseObs {
                case_id: 3,
                human: Some(Tie),
                label: None,
                arms: [obs(Some(None), None), obs(None, None)],
            },
        ];
        let e = compare(["r@1".into(), "r@2".into()], &cases);
        let [a, b] = &e.arms;
        assert_eq!((a.judged, a.unparsed, b.judged), (3, 1, 2));
        assert_eq!(a.vs_reviewers, Rate { agree: 0, n: 1 });
        assert_eq!(b.vs_reviewers, Rate { agree: 1, n: 1 });
        assert_eq!(a.vs_labels, Rate { agree: 1, n: 2 });
        assert_eq!(b.vs_labels, Rate { agree: 2, n: 2 });
        assert_eq!(a.swap_consistent, Rate { agree: 0, n: 1 });
        assert_eq!(b.swap_consistent, Rate { agree: 1, n: 1 });
        assert_eq!(e.judged_by_both, 2);
        assert_eq!(e.changed.len(), 1);
        assert_eq!(
            (e.changed[0].before, e.changed[0].after),
            (Some(B), Some(A))
        );
        let line = summary_line(&e);
        assert!(
            line.starts_with(
                "r@1 → r@2: vs you 0% (0/1) → 100% (1/1) · vs labels 50% (1/2) → 100% (2/2)"
            ),
            "{line}"
        );
        assert!(line.ends_with("changed 1 of 2"), "{line}");
        let text = render(&e).join("\n");
        assert!(text.contains("case     1: B -> A"), "{text}");
        assert!(
            text.contains("n/a (0)") || !text.contains("0% (0/0)"),
            "{text}"
        );
    }
}
