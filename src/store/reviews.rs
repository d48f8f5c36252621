use super::Store;
use crate::domain::{
    NewReview, ReasoningApproval, Review, ReviewAction, ReviewState, Verdict, fold_reviews,
};
use anyhow::{Result, anyhow};
use rusqlite::{Row, params};

pub(super) const REVIEW_COLUMNS: &str = "id, created_at, case_id, reviewer, action, verdict, rubric, analysis, note, \
     flagged, seconds_spent, judgment_id, reverts_review_id, reasoning, flag_reason, blind";

pub(super) fn review_from_row(r: &Row) -> rusqlite::Result<Review> {
    let action: String = r.get(4)?;
    let verdict: Option<String> = r.get(5)?;
    Ok(Review {
        id: r.get(0)?,
        created_at: r.get(1)?,
        case_id: r.get(2)?,
        reviewer: r.get(3)?,
        action: ReviewAction::parse(&action).unwrap_or(ReviewAction::Note),
        verdict: verdict.as_deref().and_then(Verdict::parse),
        rubric: r.get(6)?,
        analysis: r.get(7)?,
        note: r.get(8)?,
        flagged: r.get(9)?,
        seconds_spent: r.get(10)?,
        judgment_id: r.get(11)?,
        reverts_review_id: r.get(12)?,
        reasoning: r
            .get::<_, Option<String>>(13)?
            .as_deref()
            .and_then(ReasoningApproval::parse),
        flag_reason: r.get(14)?,
        blind: r.get(15)?,
    })
}

impl Store {
    /// Append one review row; it is committed before this returns.
    pub fn append_review(&self, r: &NewReview) -> Result<i64> {
        let action = r
            .action
            .ok_or_else(|| anyhow!("a review row needs an action"))?;
        self.conn().execute(
            "INSERT INTO reviews (case_id, reviewer, action, verdict, rubric, analysis, note, flagged,
                 seconds_spent, judgment_id, reverts_review_id, reasoning, flag_reason, blind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                r.case_id,
                r.reviewer,
                action.as_str(),
                r.verdict.map(Verdict::as_str),
                r.rubric,
                r.analysis,
                r.note,
                r.flagged,
                r.seconds_spent,
                r.judgment_id,
                r.reverts_review_id,
                r.reasoning.map(ReasoningApproval::as_str),
                r.flag_reason,
                r.blind,
            ],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// One reviewer's rows for a case, oldest first.
    pub fn reviews_for_case(&self, case_id: i64, reviewer: &str) -> Result<Vec<Review>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE case_id = ?1 AND reviewer = ?2 ORDER BY id"
        ))?;
        Ok(stmt
            .query_map(params![case_id, reviewer], review_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn review_state(&self, case_id: i64, reviewer: &str) -> Result<ReviewState> {
        Ok(fold_reviews(&self.reviews_for_case(case_id, reviewer)?))
    }

    /// Undo the reviewer's latest live row on a case by appending a revert row.
    /// Returns the new row's id, or `None` when there is nothing to undo.
    pub fn undo_last(&self, case_id: i64, reviewer: &str) -> Result<Option<i64>> {
        let state = self.review_state(case_id, reviewer)?;
        let Some(last) = state.live.last() else {
            return Ok(None);
        };
        let id = self.append_review(&NewReview {
            case_id,
            reviewer: reviewer.to_string(),
            action: Some(ReviewAction::Revert),
            reverts_review_id: Some(last.id),
            ..Default::default()
        })?;
        Ok(Some(id))
    }

    /// Visit every review row in id order (all reviewers).
    pub fn for_each_review(&self, mut f: impl FnMut(Review) -> Result<()>) -> Result<()> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY id"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(review_from_row(row)?)?;
        }
        Ok(())
    }

    /// The reviewers who have rows on a case, sorted.
    pub fn reviewers(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT DISTINCT reviewer FROM reviews ORDER BY reviewer")?;
        Ok(stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

impl Store {
    /// The flag reasons in force of one reviewer (folded as the workbench shows them),
    /// with how many cases each flags, in text order. A flag without a reason is not listed.
    pub fn flag_reasons(&self, reviewer: &str) -> Result<Vec<(String, i64)>> {
        let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
        let mut case: Vec<Review> = Vec::new();
        let mut tally = |rows: &mut Vec<Review>| {
            if let Some(reason) = fold_reviews(rows.iter()).flag_reason {
                *counts.entry(reason).or_default() += 1;
            }
            rows.clear();
        };
        self.for_each_review_of(reviewer, |r| {
            if case.first().is_some_and(|c| c.case_id != r.case_id) {
                tally(&mut case);
            }
            case.push(r);
            Ok(())
        })?;
        tally(&mut case);
        Ok(counts.into_iter().collect())
    }

    /// Visit one reviewer's rows, by case then id (the order `fold_reviews` needs).
    pub fn for_each_review_of(
        &self,
        reviewer: &str,
        mut f: impl FnMut(Review) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE reviewer = ?1 ORDER BY case_id, id"
        ))?;
        let mut rows = stmt.query([reviewer])?;
        while let Some(row) = rows.next()? {
            f(review_from_row(row)?)?;
        }
        Ok(())
    }

    /// Visit every review row by case, then reviewer, then id: each reviewer's rows of a
    /// case come together in the order `fold_reviews` needs (the `reviews_by_case` index).
    pub fn for_each_review_by_case(&self, mut f: impl FnMut(Review) -> Result<()>) -> Result<()> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY case_id, reviewer, id"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(review_from_row(row)?)?;
        }
        Ok(())
    }
}
