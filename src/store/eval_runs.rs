//! Stored `rubricate eval` runs (migration 0008).

use super::Store;
use crate::domain::NewJudgment;
use anyhow::Result;
use rusqlite::{Row, params};
use serde::Serialize;

/// What makes two judgments "the same judge": the model file's hash, the prompt contract and
/// the backend. A run measured with one judge says nothing about another.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct JudgeIdentity {
    pub model_file: String,
    pub model_sha256: String,
    pub template_version: String,
    pub backend: Option<String>,
    pub profile: Option<String>,
    pub profile_hash: Option<String>,
    pub server_model: Option<String>,
}

impl JudgeIdentity {
    pub fn of_judgment(j: &NewJudgment) -> JudgeIdentity {
        JudgeIdentity {
            model_file: j.model_file.clone(),
            model_sha256: j.model_sha256.clone(),
            template_version: j.template_version.clone(),
            backend: j.provenance.backend.clone(),
            profile: j.provenance.profile.clone(),
            profile_hash: j.provenance.profile_hash.clone(),
            server_model: j.provenance.server_model.clone(),
        }
    }

    /// Whether `j` was made by this judge (the file name may differ: the hash decides).
    pub fn made(&self, j: &NewJudgment) -> bool {
        self.same_judge(&JudgeIdentity::of_judgment(j))
    }

    /// Whether two identities name the same judge: model hash, prompt contract (template
    /// version and profile hash), backend and server model; names may differ.
    pub fn same_judge(&self, other: &JudgeIdentity) -> bool {
        self.model_sha256 == other.model_sha256
            && self.template_version == other.template_version
            && self.backend == other.backend
            && self.profile_hash == other.profile_hash
            && self.server_model == other.server_model
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewEvalRun {
    pub judge: JudgeIdentity,
    /// The fixed rubric, when the run used one.
    pub rubric: Option<String>,
    /// The selection, in words ("source sample, category math, limit 10").
    pub dataset: String,
    pub both_orders: bool,
    /// Cases evaluated.
    pub n: u64,
    /// The figures, with the keys of `eval --json` (`crate::eval::EvalNumbers`); kept as
    /// JSON here so the store does not depend on the evaluation code.
    pub numbers: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalRun {
    pub id: i64,
    pub created_at: String,
    #[serde(flatten)]
    pub run: NewEvalRun,
}

const COLUMNS: &str = "id, created_at, model_file, model_sha256, template_version, backend, profile, \
    profile_hash, server_model, rubric, dataset, both_orders, n, numbers_json";

fn from_row(r: &Row) -> rusqlite::Result<EvalRun> {
    let numbers_json: String = r.get(13)?;
    Ok(EvalRun {
        id: r.get(0)?,
        created_at: r.get(1)?,
        run: NewEvalRun {
            judge: JudgeIdentity {
                model_file: r.get(2)?,
                model_sha256: r.get(3)?,
                template_version: r.get(4)?,
                backend: r.get(5)?,
                profile: r.get(6)?,
                profile_hash: r.get(7)?,
                server_model: r.get(8)?,
            },
            rubric: r.get(9)?,
            dataset: r.get(10)?,
            both_orders: r.get(11)?,
            n: r.get::<_, i64>(12)? as u64,
            numbers: serde_json::from_str(&numbers_json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    13,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        },
    })
}

impl Store {
    pub fn insert_eval_run(&self, run: &NewEvalRun) -> Result<i64> {
        let j = &run.judge;
        self.conn().execute(
            "INSERT INTO eval_runs (model_file, model_sha256, template_version, backend, profile, profile_hash,
                 server_model, rubric, dataset, both_orders, n, numbers_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                j.model_file,
                j.model_sha256,
                j.template_version,
                j.backend,
                j.profile,
                j.profile_hash,
                j.server_model,
                run.rubric,
                run.dataset,
                run.both_orders,
                run.n as i64,
                serde_json::to_string(&run.numbers)?,
            ],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// The newest `limit` runs, newest first.
    pub fn latest_eval_runs(&self, limit: usize) -> Result<Vec<EvalRun>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM eval_runs ORDER BY id DESC LIMIT ?1"
        ))?;
        Ok(stmt
            .query_map([limit as i64], from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The newest runs of one model file (by hash), newest first; callers match the rest of
    /// the judge's identity.
    pub fn eval_runs_of_model(&self, model_sha256: &str) -> Result<Vec<EvalRun>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM eval_runs WHERE model_sha256 = ?1 ORDER BY id DESC"
        ))?;
        Ok(stmt
            .query_map([model_sha256], from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The runs of one judge (see [`JudgeIdentity::same_judge`]), newest first.
    pub fn eval_runs_of_judge(&self, judge: &JudgeIdentity) -> Result<Vec<EvalRun>> {
        let mut runs = self.eval_runs_of_model(&judge.model_sha256)?;
        runs.retain(|r| r.run.judge.same_judge(judge));
        Ok(runs)
    }

    pub fn get_eval_runs(&self, ids: &[i64]) -> Result<Vec<EvalRun>> {
        let mut out = Vec::new();
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM eval_runs WHERE id = ?1"))?;
        for id in ids {
            let mut rows = stmt.query_map([id], from_row)?;
            match rows.next() {
                Some(r) => out.push(r?),
                None => anyhow::bail!(
                    "no eval run #{id}; `rubricate eval --compare` lists the stored runs"
                ),
            }
        }
        Ok(out)
    }
}
