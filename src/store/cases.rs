use super::Store;
use crate::domain::{Case, Message, NewCase, Verdict};
use anyhow::Result;
use rusqlite::{OptionalExtension, Row, Transaction, params};

/// Which cases the review queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CaseFilter {
    /// Cases the reviewer has not decided yet.
    #[default]
    Unreviewed,
    All,
    /// Cases where the reviewer's verdict differs from the model's.
    Disagree,
    Flagged,
    /// Cases whose swap check contradicts the original judgment.
    Inconsistent,
    /// Cases whose model verdict (position-robust when both orders are judged) differs
    /// from the source's label, or whose two orders disagree with no probabilities to settle it.
    ModelWrong,
    /// Cases whose model verdict is within `LOW_MARGIN` of flipping.
    LowMargin,
}

impl CaseFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseFilter::Unreviewed => "unreviewed",
            CaseFilter::All => "all",
            CaseFilter::Disagree => "disagree",
            CaseFilter::Flagged => "flagged",
            CaseFilter::Inconsistent => "inconsistent",
            CaseFilter::ModelWrong => "model-wrong",
            CaseFilter::LowMargin => "low-margin",
        }
    }
    pub fn next(self) -> CaseFilter {
        match self {
            CaseFilter::Unreviewed => CaseFilter::All,
            CaseFilter::All => CaseFilter::Disagree,
            CaseFilter::Disagree => CaseFilter::Flagged,
            CaseFilter::Flagged => CaseFilter::Inconsistent,
            CaseFilter::Inconsistent => CaseFilter::ModelWrong,
            CaseFilter::ModelWrong => CaseFilter::LowMargin,
            CaseFilter::LowMargin => CaseFilter::Unreviewed,
        }
    }
}

pub(super) const CASE_COLUMNS: &str = "id, source, source_id, prompt_json, answer_a, answer_b, source_label, content_hash, meta_json, category, difficulty";

pub(super) fn case_from_row(r: &Row) -> rusqlite::Result<Case> {
    let prompt_json: String = r.get(3)?;
    let label: Option<String> = r.get(6)?;
    let meta_json: String = r.get(8)?;
    // Stored as 32 bytes (migration 0009), shown as hex.
    let digest: Vec<u8> = r.get(7)?;
    Ok(Case {
        id: r.get(0)?,
        source: r.get(1)?,
        source_id: r.get(2)?,
        prompt: serde_json::from_str::<Vec<Message>>(&prompt_json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        answer_a: r.get(4)?,
        answer_b: r.get(5)?,
        source_label: label.as_deref().and_then(Verdict::parse),
        content_hash: hex::encode(digest),
        meta: serde_json::from_str(&meta_json).unwrap_or(serde_json::Value::Null),
        category: r.get(9)?,
        difficulty: r.get(10)?,
    })
}

/// A case with its columns already encoded as they are stored (JSON, digest), so a bulk
/// import can do that work on its parser thread and leave the writing thread only
/// SQLite's part. The parsed prompt and meta are dropped once encoded, on the thread that
/// made them: the writing thread frees only the strings it bound.
#[derive(Debug, Clone)]
pub struct EncodedCase {
    source: String,
    source_id: Option<String>,
    prompt_json: String,
    answer_a: String,
    answer_b: String,
    source_label: Option<Verdict>,
    digest: [u8; 32],
    meta_json: String,
    category: Option<String>,
    difficulty: Option<String>,
}

impl EncodedCase {
    /// `digest` must be `case.content_digest()` (passed in when already computed).
    pub fn new(case: NewCase, digest: [u8; 32]) -> Result<EncodedCase> {
        debug_assert_eq!(digest, case.content_digest());
        let NewCase {
            source,
            source_id,
            prompt,
            answer_a,
            answer_b,
            source_label,
            meta,
            category,
            difficulty,
        } = case;
        // Sized once from the text it will hold (JSON adds the keys and escapes), instead
        // of growing by doubling from 128 bytes: two to three reallocations a case less.
        let text: usize = prompt
            .iter()
            .map(|m| m.role.len() + m.content.len() + 32)
            .sum();
        let mut prompt_json = Vec::with_capacity(text + text / 16 + 2);
        serde_json::to_writer(&mut prompt_json, &prompt)?;
        Ok(EncodedCase {
            prompt_json: String::from_utf8(prompt_json)?,
            meta_json: serde_json::to_string(&meta)?,
            source,
            source_id,
            answer_a,
            answer_b,
            source_label,
            digest,
            category,
            difficulty,
        })
    }

    /// Chosen and rejected are the same text.
    pub fn answers_identical(&self) -> bool {
        self.answer_a == self.answer_b
    }

    /// The values of the stored columns, in the order of `INSERT INTO cases (source,
    /// source_id, prompt_json, answer_a, answer_b, source_label, content_hash, meta_json,
    /// category, difficulty, imported_at)`.
    pub fn columns<'a>(&'a self, imported_at: &'a str) -> impl rusqlite::Params + 'a {
        (
            &self.source,
            &self.source_id,
            &self.prompt_json,
            &self.answer_a,
            &self.answer_b,
            self.source_label.map(Verdict::as_str),
            &self.digest,
            &self.meta_json,
            &self.category,
            &self.difficulty,
            imported_at,
        )
    }
}

const INSERT_CASE: &str =
    "INSERT INTO cases (source, source_id, prompt_json, answer_a, answer_b, source_label,
                            content_hash, meta_json, category, difficulty, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (content_hash) DO NOTHING";

/// Bulk insert inside one transaction: one prepared statement for all rows, and one
/// import time for all of them (the column default would compute it per row).
pub struct CaseInserter<'tx> {
    stmt: rusqlite::Statement<'tx>,
    imported_at: String,
}

impl<'tx> CaseInserter<'tx> {
    pub fn new(tx: &'tx Transaction) -> Result<CaseInserter<'tx>> {
        Ok(CaseInserter {
            imported_at: super::now_timestamp(tx)?,
            stmt: tx.prepare(INSERT_CASE)?,
        })
    }

    /// The new case's id, or `None` when a case with the same content is stored already.
    pub fn insert(&mut self, row: &EncodedCase) -> Result<Option<i64>> {
        match self.stmt.insert(row.columns(&self.imported_at)) {
            Ok(id) => Ok(Some(id)),
            Err(rusqlite::Error::StatementChangedRows(0)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Insert one case inside an open transaction. Returns `None` when a case with the
/// same content is already stored (dedupe by content hash).
pub fn insert_case(tx: &Transaction, case: &NewCase) -> Result<Option<i64>> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO cases (source, source_id, prompt_json, answer_a, answer_b, source_label, content_hash, meta_json,
                            category, difficulty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (content_hash) DO NOTHING",
    )?;
    let changed = stmt.execute(params![
        case.source,
        case.source_id,
        serde_json::to_string(&case.prompt)?,
        case.answer_a,
        case.answer_b,
        case.source_label.map(Verdict::as_str),
        case.content_digest(),
        serde_json::to_string(&case.meta)?,
        case.category,
        case.difficulty,
    ])?;
    Ok((changed == 1).then(|| tx.last_insert_rowid()))
}

impl Store {
    pub fn insert_case(&mut self, case: &NewCase) -> Result<Option<i64>> {
        let tx = self.conn_mut().transaction()?;
        let id = insert_case(&tx, case)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn case_count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))?)
    }

    pub fn get_case(&self, id: i64) -> Result<Option<Case>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"),
                [id],
                case_from_row,
            )
            .optional()?)
    }

    /// Find a case by the source's own id or by content hash.
    pub fn find_case(&self, key: &str) -> Result<Option<Case>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {CASE_COLUMNS} FROM cases WHERE content_hash = unhex(?1) OR source_id = ?1 ORDER BY id LIMIT 1"
                ),
                [key],
                case_from_row,
            )
            .optional()?)
    }

    /// Visit every case in id order without loading them all at once.
    pub fn for_each_case(&self, mut f: impl FnMut(Case) -> Result<()>) -> Result<()> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {CASE_COLUMNS} FROM cases ORDER BY id"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(case_from_row(row)?)?;
        }
        Ok(())
    }

    /// Ids of the cases a filter selects for `reviewer`, in queue order.
    pub fn case_ids(
        &self,
        filter: CaseFilter,
        reviewer: &str,
        source: Option<&str>,
    ) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id FROM cases WHERE ?1 IS NULL OR source = ?1 ORDER BY id")?;
        let all: Vec<i64> = stmt
            .query_map([source], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if filter == CaseFilter::All {
            return Ok(all);
        }
        let mut ids = Vec::new();
        for id in all {
            if self.case_matches(id, filter, reviewer)? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Whether one case is selected by a filter (the queue re-checks this after each decision).
    pub fn case_matches(&self, case_id: i64, filter: CaseFilter, reviewer: &str) -> Result<bool> {
        Ok(match filter {
            CaseFilter::All => true,
            CaseFilter::Unreviewed => self.review_state(case_id, reviewer)?.decision.is_none(),
            CaseFilter::Flagged => self.review_state(case_id, reviewer)?.flagged,
            CaseFilter::Disagree => {
                let human = self.review_state(case_id, reviewer)?.verdict();
                let model = self
                    .latest_judgment(case_id, false)?
                    .and_then(|j| j.j.verdict);
                matches!((human, model), (Some(h), Some(m)) if h != m)
            }
            CaseFilter::Inconsistent => self.model_view(case_id)?.inconsistent(),
            CaseFilter::ModelWrong => {
                let label: Option<String> = self.conn().query_row(
                    "SELECT source_label FROM cases WHERE id = ?1",
                    [case_id],
                    |r| r.get(0),
                )?;
                match label.as_deref().and_then(Verdict::parse) {
                    None => false,
                    Some(l) => {
                        let view = self.model_view(case_id)?;
                        match view.verdict() {
                            Some(m) => m != l,
                            None => view.robust.basis == crate::robust::RobustBasis::Disagree,
                        }
                    }
                }
            }
            CaseFilter::LowMargin => self
                .model_view(case_id)?
                .margin()
                .is_some_and(|m| m < super::LOW_MARGIN),
        })
    }
}

/// Whether a case's category is selected by a `--category` name: the name itself, or a
/// parent of it in a path-like category (`Helpfulness` selects `Helpfulness/Code/Docs`,
/// as RMB nests its categories). [`Store::category_case_ids`] does the same in SQL.
pub fn category_matches(category: Option<&str>, wanted: &str) -> bool {
    category.is_some_and(|c| {
        c == wanted
            || c.strip_prefix(wanted)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

impl Store {
    /// The categories of the cases (of one source, or all), with how many cases each has,
    /// in name order. Cases without a category are not listed.
    pub fn categories(&self, source: Option<&str>) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT category, COUNT(*) FROM cases
             WHERE category IS NOT NULL AND (?1 IS NULL OR source = ?1)
             GROUP BY category ORDER BY category",
        )?;
        Ok(stmt
            .query_map([source], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The import sources of the cases with how many cases each has, in name order.
    pub fn sources(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT source, COUNT(*) FROM cases GROUP BY source ORDER BY source")?;
        Ok(stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Ids of the cases a `--category` name selects (see [`category_matches`]), in id order.
    pub fn category_case_ids(&self, wanted: &str) -> Result<Vec<i64>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id FROM cases
             WHERE category = ?1 OR substr(category, 1, length(?1) + 1) = ?1 || '/'
             ORDER BY id",
        )?;
        Ok(stmt
            .query_map([wanted], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

/// One queue row: what the workbench lists without loading whole cases.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSummary {
    pub id: i64,
    /// The source's own id for the case, if it had one (raw; callers make it visible).
    pub source_id: Option<String>,
    /// The start of the last prompt turn (raw text; callers make it visible).
    pub title: String,
    pub judged: bool,
    /// The latest model verdict in the original order.
    pub model: Option<Verdict>,
    /// The reviewer's decision in force.
    pub decided: Option<Verdict>,
    pub flagged: bool,
    /// The case's category and difficulty, if its source has them.
    pub category: Option<String>,
    pub difficulty: Option<String>,
}

impl Store {
    /// Summaries of the given cases for one reviewer, in the order of `ids`.
    /// Three queries in all, whatever the number of cases.
    pub fn case_summaries(&self, ids: &[i64], reviewer: &str) -> Result<Vec<CaseSummary>> {
        use std::collections::HashMap;
        let mut stmt = self.conn().prepare(
            "SELECT c.id, substr(COALESCE(json_extract(c.prompt_json, '$[#-1].content'), ''), 1, 240),
                    (SELECT j.verdict FROM judgments j WHERE j.case_id = c.id AND j.swapped = 0
                      ORDER BY j.id DESC LIMIT 1),
                    EXISTS (SELECT 1 FROM judgments j WHERE j.case_id = c.id AND j.swapped = 0),
                    c.category, c.difficulty
             FROM cases c",
        )?;
        let mut by_id: HashMap<i64, CaseSummary> = stmt
            .query_map([], |r| {
                let title: String = r.get(1)?;
                let model: Option<String> = r.get(2)?;
                Ok(CaseSummary {
                    id: r.get(0)?,
                    source_id: None,
                    title: title
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                    judged: r.get(3)?,
                    model: model.as_deref().and_then(Verdict::parse),
                    decided: None,
                    flagged: false,
                    category: r.get(4)?,
                    difficulty: r.get(5)?,
                })
            })?
            .map(|s| s.map(|s| (s.id, s)))
            .collect::<rusqlite::Result<_>>()?;
        let mut rows_by_case: HashMap<i64, Vec<crate::domain::Review>> = HashMap::new();
        self.for_each_review_of(reviewer, |r| {
            rows_by_case.entry(r.case_id).or_default().push(r);
            Ok(())
        })?;
        // Source ids, for the queue rows (a query of their own: one more, whatever the
        // number of cases).
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, source_id FROM cases WHERE source_id IS NOT NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(s) = by_id.get_mut(&r.get::<_, i64>(0)?) {
                s.source_id = r.get(1)?;
            }
        }
        for (case_id, rows) in rows_by_case {
            if let Some(s) = by_id.get_mut(&case_id) {
                let state = crate::domain::fold_reviews(&rows);
                s.decided = state.verdict();
                s.flagged = state.flagged;
            }
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Ids of the cases that contain `query` (ASCII letters compared without case), in id
    /// order: in a prompt turn, an answer, the source id, a judgment's rubric or analysis,
    /// a review's note, rubric, analysis or flag reason (any reviewer's), a rubric written
    /// for the case, or a refined answer; and the case whose id is `query`.
    pub fn search_cases(&self, query: &str) -> Result<Vec<i64>> {
        let escaped: String = query
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let id: Option<i64> = query.trim().trim_start_matches('#').parse().ok();
        let mut stmt = self.conn().prepare(
            "SELECT id FROM cases c
             WHERE c.id = ?2
                OR c.answer_a LIKE ?1 ESCAPE '\\' OR c.answer_b LIKE ?1 ESCAPE '\\'
                OR c.source_id LIKE ?1 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM json_each(c.prompt_json) t
                           WHERE json_extract(t.value, '$.content') LIKE ?1 ESCAPE '\\')
                OR EXISTS (SELECT 1 FROM judgments j WHERE j.case_id = c.id
                           AND (j.rubric LIKE ?1 ESCAPE '\\' OR j.analysis LIKE ?1 ESCAPE '\\'))
                OR EXISTS (SELECT 1 FROM reviews r WHERE r.case_id = c.id
                           AND (r.note LIKE ?1 ESCAPE '\\' OR r.rubric LIKE ?1 ESCAPE '\\'
                                OR r.analysis LIKE ?1 ESCAPE '\\' OR r.flag_reason LIKE ?1 ESCAPE '\\'))
                OR EXISTS (SELECT 1 FROM rubrics ru WHERE ru.case_id = c.id
                           AND ru.body LIKE ?1 ESCAPE '\\')
                OR EXISTS (SELECT 1 FROM answer_revisions v WHERE v.case_id = c.id
                           AND v.body LIKE ?1 ESCAPE '\\')
             ORDER BY id",
        )?;
        Ok(stmt
            .query_map(rusqlite::params![pattern, id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The case a reviewer means by `query`: its id (`12` or `#12`), else its source id
    /// (exactly, then without case). `None` when no case has it.
    pub fn go_to_case(&self, query: &str) -> Result<Option<i64>> {
        use rusqlite::OptionalExtension;
        let q = query.trim();
        if let Ok(id) = q.trim_start_matches('#').parse::<i64>() {
            let found: Option<i64> = self
                .conn()
                .query_row("SELECT id FROM cases WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM cases WHERE source_id = ?1 OR source_id = ?1 COLLATE NOCASE
                 ORDER BY source_id = ?1 DESC, id LIMIT 1",
                [q],
                |r| r.get(0),
            )
            .optional()?)
    }
}
