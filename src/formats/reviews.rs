//! Provenance exports: `reviews` (every review row, with the case it is about and the
//! judgment that was on screen) and `judgments` (every judgment with its provenance).

use super::export::{ExportReport, write_json_line};
use crate::domain::{Judgment, Review};
use crate::store::Store;
use anyhow::Result;
use rusqlite::OptionalExtension;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct ReviewRecord<'a> {
    /// `id` is the review row's id; `reverts_review_id` names the row an undo removed.
    #[serde(flatten)]
    review: &'a Review,
    source: Option<String>,
    source_id: Option<String>,
    content_hash: Option<String>,
    /// The case's category and difficulty (benchmark section, RM-Bench difficulty).
    category: Option<String>,
    difficulty: Option<String>,
    /// The judgment the decision refers to, with its full provenance.
    judgment: Option<Judgment>,
    /// The note this reviewer has in force on the case now (notes are also rows of their
    /// own; this puts the note next to every decision it explains).
    case_note: Option<String>,
    /// The collections the case is in now.
    collections: Vec<String>,
    /// For a derived case: the case it was forked from.
    parent_case_id: Option<i64>,
}

#[derive(Serialize)]
struct JudgmentRecord<'a> {
    #[serde(flatten)]
    judgment: &'a Judgment,
    source: Option<String>,
    source_id: Option<String>,
    category: Option<String>,
    difficulty: Option<String>,
}

/// What the provenance exports repeat of a case.
#[derive(Default)]
struct CaseKeys {
    source: Option<String>,
    source_id: Option<String>,
    content_hash: Option<String>,
    category: Option<String>,
    difficulty: Option<String>,
}

/// The keys of a case (all `None` for a case that is gone).
fn case_keys(store: &Store, case_id: i64) -> Result<CaseKeys> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT source, source_id, lower(hex(content_hash)), category, difficulty FROM cases WHERE id = ?1",
    )?;
    Ok(stmt
        .query_row([case_id], |r| {
            Ok(CaseKeys {
                source: r.get(0)?,
                source_id: r.get(1)?,
                content_hash: r.get(2)?,
                category: r.get(3)?,
                difficulty: r.get(4)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

pub(super) fn write_reviews(
    store: &Store,
    reviewer: Option<&str>,
    wanted: &dyn Fn(i64) -> bool,
    out: &mut dyn Write,
    report: &mut ExportReport,
) -> Result<()> {
    store.for_each_review(|review| {
        if !wanted(review.case_id) {
            return Ok(());
        }
        if reviewer.is_some_and(|r| r != review.reviewer) {
            report.leave_out("other reviewer");
            return Ok(());
        }
        let keys = case_keys(store, review.case_id)?;
        let judgment = match review.judgment_id {
            Some(id) => store.get_judgment(id)?,
            None => None,
        };
        let case_note = store.review_state(review.case_id, &review.reviewer)?.note;
        write_json_line(
            out,
            &ReviewRecord {
                review: &review,
                source: keys.source,
                source_id: keys.source_id,
                content_hash: keys.content_hash,
                category: keys.category,
                difficulty: keys.difficulty,
                judgment,
                case_note,
                collections: store.case_collections(review.case_id)?,
                parent_case_id: store.case_parent(review.case_id)?.map(|l| l.parent_id),
            },
        )?;
        report.written += 1;
        Ok(())
    })
}

pub(super) fn write_judgments(
    store: &Store,
    wanted: &dyn Fn(i64) -> bool,
    out: &mut dyn Write,
    report: &mut ExportReport,
) -> Result<()> {
    store.for_each_judgment(|judgment| {
        if !wanted(judgment.j.case_id) {
            return Ok(());
        }
        let keys = case_keys(store, judgment.j.case_id)?;
        write_json_line(
            out,
            &JudgmentRecord {
                judgment: &judgment,
                source: keys.source,
                source_id: keys.source_id,
                category: keys.category,
                difficulty: keys.difficulty,
            },
        )?;
        report.written += 1;
        Ok(())
    })
}
