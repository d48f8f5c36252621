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
}

/// (source, source_id, content_hash) of a case.
fn case_keys(store: &Store, case_id: i64) -> Result<Option<(String, Option<String>, String)>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT source, source_id, lower(hex(content_hash)) FROM cases WHERE id = ?1",
    )?;
    Ok(stmt
        .query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
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
        let (source, source_id, content_hash) = match keys {
            Some((s, id, h)) => (Some(s), id, Some(h)),
            None => (None, None, None),
        };
        let case_note = store.review_state(review.case_id, &review.reviewer)?.note;
        write_json_line(
            out,
            &ReviewRecord {
                review: &review,
                source,
                source_id,
                content_hash,
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
        let (source, source_id) = match keys {
            Some((s, id, _)) => (Some(s), id),
            None => (None, None),
        };
        write_json_line(
            out,
            &JudgmentRecord {
                judgment: &judgment,
                source,
                source_id,
            },
        )?;
        report.written += 1;
        Ok(())
    })
}
