//! Which verdict is in force on a case: the human decision (folded from the append-only
//! review log) and the model's latest judgment. Shared by export and stats so both
//! count the same thing.

use crate::domain::{Review, Verdict, fold_reviews};
use crate::store::Store;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};

/// The human side of one case.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HumanState {
    /// The decision row in force (accept / edit / override), if any.
    pub decision: Option<Review>,
    pub flagged: bool,
}

impl HumanState {
    pub fn verdict(&self) -> Option<Verdict> {
        self.decision.as_ref().and_then(|r| r.verdict)
    }
}

/// The decision in force for `reviewer`; with `None`, the most recent decision of any
/// reviewer (each reviewer's log folded on its own, so one reviewer's undo never
/// touches another's), and flagged when any reviewer's flag is set.
pub fn human_state(store: &Store, case_id: i64, reviewer: Option<&str>) -> Result<HumanState> {
    if let Some(r) = reviewer {
        let state = store.review_state(case_id, r)?;
        return Ok(HumanState {
            decision: state.decision,
            flagged: state.flagged,
        });
    }
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT DISTINCT reviewer FROM reviews WHERE case_id = ?1")?;
    let reviewers: Vec<String> = stmt
        .query_map([case_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = HumanState::default();
    for reviewer in reviewers {
        let state = fold_reviews(&store.reviews_for_case(case_id, &reviewer)?);
        out.flagged |= state.flagged;
        if let Some(d) = state.decision
            && out.decision.as_ref().is_none_or(|cur| d.id > cur.id)
        {
            out.decision = Some(d);
        }
    }
    Ok(out)
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
