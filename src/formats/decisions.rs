//! Which verdict is in force on a case: the human decision (folded from the append-only
//! review log) and the model's latest judgment. Shared by export and stats so both
//! count the same thing.

use crate::domain::{
    MergePolicy, MergedReviews, Review, ReviewState, ReviewerSelection, Verdict, fold_reviews,
    merge_reviews,
};
use crate::store::Store;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

/// The human side of one case.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HumanState {
    /// The decision row in force (accept / edit / override), if any.
    pub decision: Option<Review>,
    pub flagged: bool,
    /// Set when reviewers decided the case but the merge policy reached no verdict: why
    /// ("no majority", "reviewers disagree").
    pub unresolved: Option<&'static str>,
}

impl HumanState {
    pub fn verdict(&self) -> Option<Verdict> {
        self.decision.as_ref().and_then(|r| r.verdict)
    }
    /// Whether this state counts decisions made blind (all of them, when merged).
    pub fn blind(&self) -> bool {
        self.decision
            .as_ref()
            .is_some_and(|r| r.blind == Some(true))
    }
}

impl From<MergedReviews> for HumanState {
    fn from(m: MergedReviews) -> Self {
        HumanState {
            decision: m.decision,
            flagged: m.flagged,
            unresolved: m.unresolved,
        }
    }
}

/// The decision in force for `reviewer`; with `None`, the most recent decision of any
/// reviewer (merge policy `latest`), and flagged when any reviewer's flag is set.
/// One case; for whole-store passes use [`human_states`].
pub fn human_state(store: &Store, case_id: i64, reviewer: Option<&str>) -> Result<HumanState> {
    if let Some(r) = reviewer {
        let state = store.review_state(case_id, r)?;
        return Ok(HumanState {
            decision: state.decision,
            flagged: state.flagged,
            unresolved: None,
        });
    }
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT DISTINCT reviewer FROM reviews WHERE case_id = ?1")?;
    let reviewers: Vec<String> = stmt
        .query_map([case_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut states = Vec::with_capacity(reviewers.len());
    for reviewer in reviewers {
        states.push(fold_reviews(&store.reviews_for_case(case_id, &reviewer)?));
    }
    Ok(merge_reviews(&states, MergePolicy::Latest).into())
}

/// The human side of every case that has review rows under `selection`, in one pass
/// over the review log (one query, whatever the number of cases). Cases without rows
/// are absent. Only the folded state is kept, not the rows.
pub fn human_states(
    store: &Store,
    selection: &ReviewerSelection,
) -> Result<HashMap<i64, HumanState>> {
    let mut out = HashMap::new();
    match selection {
        ReviewerSelection::One(reviewer) => {
            let mut current: Option<i64> = None;
            let mut rows: Vec<Review> = Vec::new();
            let mut flush = |case: Option<i64>, rows: &mut Vec<Review>| {
                if let Some(case) = case {
                    let state = fold_reviews(rows.iter());
                    out.insert(
                        case,
                        HumanState {
                            decision: state.decision,
                            flagged: state.flagged,
                            unresolved: None,
                        },
                    );
                }
                rows.clear();
            };
            store.for_each_review_of(reviewer, |r| {
                if current != Some(r.case_id) {
                    flush(current, &mut rows);
                    current = Some(r.case_id);
                }
                rows.push(r);
                Ok(())
            })?;
            flush(current, &mut rows);
        }
        ReviewerSelection::All(policy) => {
            // Rows come by case, then reviewer, then id: each reviewer's run is folded on
            // its own, and a case's states are merged when the next case begins.
            let mut current: Option<(i64, String)> = None;
            let mut rows: Vec<Review> = Vec::new();
            let mut states: Vec<ReviewState> = Vec::new();
            let end_reviewer = |rows: &mut Vec<Review>, states: &mut Vec<ReviewState>| {
                if !rows.is_empty() {
                    states.push(fold_reviews(rows.iter()));
                    rows.clear();
                }
            };
            let mut end_case = |case: i64, states: &mut Vec<ReviewState>| {
                out.insert(case, merge_reviews(states.iter(), *policy).into());
                states.clear();
            };
            store.for_each_review_by_case(|r| {
                match &current {
                    Some((case, who)) if *case == r.case_id && *who == r.reviewer => {}
                    Some((case, _)) => {
                        let case = *case;
                        end_reviewer(&mut rows, &mut states);
                        if case != r.case_id {
                            end_case(case, &mut states);
                        }
                        current = Some((r.case_id, r.reviewer.clone()));
                    }
                    None => current = Some((r.case_id, r.reviewer.clone())),
                }
                rows.push(r);
                Ok(())
            })?;
            if let Some((case, _)) = current {
                end_reviewer(&mut rows, &mut states);
                end_case(case, &mut states);
            }
        }
    }
    Ok(out)
}

/// The reviewers with a decision in force on at least one case, with how many cases
/// each: what to suggest when the selected reviewer has none.
pub fn deciders(store: &Store) -> Result<Vec<(String, u64)>> {
    let mut per: std::collections::BTreeMap<String, u64> = Default::default();
    let mut current: Option<(i64, String)> = None;
    let mut rows: Vec<Review> = Vec::new();
    let mut end = |who: &(i64, String), rows: &mut Vec<Review>| {
        if fold_reviews(rows.iter()).decision.is_some() {
            *per.entry(who.1.clone()).or_default() += 1;
        }
        rows.clear();
    };
    store.for_each_review_by_case(|r| {
        let key = (r.case_id, r.reviewer.clone());
        if let Some(cur) = &current
            && *cur != key
        {
            end(cur, &mut rows);
        }
        current = Some(key);
        rows.push(r);
        Ok(())
    })?;
    if let Some(cur) = &current {
        end(cur, &mut rows);
    }
    Ok(per.into_iter().collect())
}

/// The newest judgment of a case in one order: its id and verdict (`None` when the
/// output did not parse). `None` when the case has no such judgment.
pub fn latest_verdict(
    store: &Store,
    case_id: i64,
    swapped: bool,
) -> Result<Option<(i64, Option<Verdict>)>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT id, verdict FROM judgments WHERE case_id = ?1 AND swapped = ?2 ORDER BY id DESC LIMIT 1",
    )?;
    let row: Option<(i64, Option<String>)> = stmt
        .query_row(params![case_id, swapped], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(id, v)| (id, v.as_deref().and_then(Verdict::parse))))
}
