//! The store reads behind the rubric library browser (the runtime calls these; the
//! browser's state and keys are in `library.rs`).

use super::state::{Batch, LibraryEntry};
use crate::rubric_experiment;
use crate::store::Store;
use anyhow::{Context as _, Result};
use std::collections::HashSet;

/// Every named rubric with its versions. The workbench's automatic per-case rubrics
/// (`case-N`) come last: they are library versions too (`R` records them), but the
/// reviewer's named rubrics are what the browser is for.
pub fn read_library(store: &Store) -> Result<Vec<LibraryEntry>> {
    let mut out = Vec::new();
    for s in store.rubric_library(true)? {
        out.push(LibraryEntry {
            versions: store.rubric_versions(&s.name)?,
            judgments: s.judgments,
            name: s.name,
        });
    }
    out.sort_by_key(|e| crate::store::is_case_rubric_name(&e.name));
    Ok(out)
}

/// The judgments of `case_ids` not yet made with the version: the original order, and
/// the swapped one too with `both_orders`.
pub fn plan_batch(
    store: &Store,
    rubric_id: i64,
    case_ids: Vec<i64>,
    both_orders: bool,
) -> Result<Batch> {
    let rubric = store
        .rubric_by_id(rubric_id)?
        .with_context(|| format!("rubric {rubric_id} is no longer in the library"))?;
    let done: HashSet<(i64, bool)> = {
        let mut stmt = store
            .conn()
            .prepare("SELECT case_id, swapped FROM judgments WHERE library_rubric_id = ?1")?;
        stmt.query_map([rubric_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let orders: &[bool] = if both_orders {
        &[false, true]
    } else {
        &[false]
    };
    let todo: std::collections::VecDeque<(i64, bool)> = case_ids
        .into_iter()
        .flat_map(|c| orders.iter().map(move |&s| (c, s)))
        .filter(|job| !done.contains(job))
        .collect();
    Ok(Batch {
        rubric_id,
        label: rubric.label(),
        body: rubric.body,
        total: todo.len(),
        todo,
    })
}

/// The rubric experiment over `case_ids`: arm 0 (the base) against arm 1, scored against
/// this reviewer's decisions and the labels; report lines as the CLI prints them.
pub fn experiment(
    store: &Store,
    arms: [i64; 2],
    case_ids: &[i64],
    reviewer: &str,
) -> Result<Vec<String>> {
    let get = |id: i64| {
        store
            .rubric_by_id(id)?
            .with_context(|| format!("rubric {id} is no longer in the library"))
    };
    let (a, b) = (get(arms[0])?, get(arms[1])?);
    let obs = rubric_experiment::load(store, [&a, &b], case_ids, Some(reviewer))?;
    let e = rubric_experiment::compare([a.label(), b.label()], &obs);
    Ok(rubric_experiment::render(&e))
}
