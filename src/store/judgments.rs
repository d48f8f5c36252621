use super::Store;
use crate::domain::{
    JudgeProvenance, Judgment, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict,
};
use crate::robust::{OrderVerdict, Robust, RobustBasis, combine, margin};
use anyhow::Result;
use rusqlite::{OptionalExtension, Row, params};

pub(super) const JUDGMENT_COLUMNS: &str = "id, created_at, case_id, origin, swapped, rubric_given, model_file, model_sha256, \
     template_version, grammar, sampler_json, seed, rubric, analysis, verdict, p_a, p_b, p_tie, parse_ok, \
     parse_error, raw, tokens_prompt, tokens_generated, ms_prefill, ms_generate, \
     profile, profile_hash, backend, server_url, server_model, judge_type, solution, verdict_sampled, \
     library_rubric_id";

pub(super) fn judgment_from_row(r: &Row) -> rusqlite::Result<Judgment> {
    let origin: String = r.get(3)?;
    let sampler_json: String = r.get(10)?;
    let verdict: Option<String> = r.get(14)?;
    let verdict_sampled: Option<String> = r.get(32)?;
    Ok(Judgment {
        id: r.get(0)?,
        created_at: r.get(1)?,
        library_rubric_id: r.get(33)?,
        j: NewJudgment {
            case_id: r.get(2)?,
            origin: if origin == "import" {
                JudgmentOrigin::Import
            } else {
                JudgmentOrigin::Local
            },
            swapped: r.get(4)?,
            rubric_given: r.get(5)?,
            model_file: r.get(6)?,
            model_sha256: r.get(7)?,
            template_version: r.get(8)?,
            grammar: r.get(9)?,
            sampler: serde_json::from_str::<SamplerSettings>(&sampler_json).unwrap_or_default(),
            seed: r.get(11)?,
            rubric: r.get(12)?,
            analysis: r.get(13)?,
            verdict: verdict.as_deref().and_then(Verdict::parse),
            p_a: r.get(15)?,
            p_b: r.get(16)?,
            p_tie: r.get(17)?,
            parse_ok: r.get(18)?,
            parse_error: r.get(19)?,
            raw: r.get(20)?,
            tokens_prompt: r.get(21)?,
            tokens_generated: r.get(22)?,
            ms_prefill: r.get(23)?,
            ms_generate: r.get(24)?,
            provenance: JudgeProvenance {
                profile: r.get(25)?,
                profile_hash: r.get(26)?,
                backend: r.get(27)?,
                server_url: r.get(28)?,
                server_model: r.get(29)?,
            },
            judge_type: r.get(30)?,
            solution: r.get(31)?,
            verdict_sampled: verdict_sampled.as_deref().and_then(Verdict::parse),
        },
    })
}

/// What the model said about a case: the newest judgment in each order and the
/// position-robust verdict of the two.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelView {
    pub original: Option<Judgment>,
    pub swapped: Option<Judgment>,
    pub robust: Robust,
}

/// Below this margin (most probable minus runner-up, probabilities summing to 1) a verdict
/// counts as "low margin": a nudge of a tenth either way would flip it.
pub const LOW_MARGIN: f64 = 0.2;

impl ModelView {
    pub fn new(original: Option<Judgment>, swapped: Option<Judgment>) -> ModelView {
        let o = original.as_ref().map(|j| OrderVerdict::of(&j.j));
        let s = swapped.as_ref().map(|j| OrderVerdict::of(&j.j));
        let robust = combine(o.as_ref(), s.as_ref());
        ModelView {
            original,
            swapped,
            robust,
        }
    }

    /// Both orders are judged, so the robust verdict (or its absence) is what counts.
    pub fn both_orders(&self) -> bool {
        self.robust.basis != RobustBasis::Incomplete
    }

    /// The model's verdict in force: the position-robust one when both orders are judged
    /// (`None` when they disagree without probabilities), otherwise the original order's.
    pub fn verdict(&self) -> Option<Verdict> {
        if self.both_orders() {
            self.robust.verdict
        } else {
            self.original.as_ref().and_then(|j| j.j.verdict)
        }
    }

    /// The margin of the verdict in force, when probabilities exist.
    pub fn margin(&self) -> Option<f64> {
        if self.robust.basis == RobustBasis::Probabilities {
            return self.robust.margin;
        }
        let j = &self.original.as_ref()?.j;
        margin([j.p_a?, j.p_b?, j.p_tie?])
    }

    /// The orders were both judged and their verdicts differ.
    pub fn inconsistent(&self) -> bool {
        self.robust.consistent == Some(false)
    }
}

impl Store {
    pub fn insert_judgment(&self, j: &NewJudgment) -> Result<i64> {
        self.insert_judgment_with_rubric(j, None)
    }

    /// Insert a judgment that was given a library rubric (row id of that name@version).
    pub fn insert_judgment_with_rubric(
        &self,
        j: &NewJudgment,
        library_rubric_id: Option<i64>,
    ) -> Result<i64> {
        self.conn().execute(
            "INSERT INTO judgments (case_id, origin, swapped, rubric_given, model_file, model_sha256, template_version,
                 grammar, sampler_json, seed, rubric, analysis, verdict, p_a, p_b, p_tie, parse_ok, parse_error, raw,
                 tokens_prompt, tokens_generated, ms_prefill, ms_generate,
                 profile, profile_hash, backend, server_url, server_model, judge_type, solution, verdict_sampled,
                 library_rubric_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
                 ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)",
            params![
                j.case_id,
                j.origin.as_str(),
                j.swapped,
                j.rubric_given,
                j.model_file,
                j.model_sha256,
                j.template_version,
                j.grammar,
                serde_json::to_string(&j.sampler)?,
                j.seed,
                j.rubric,
                j.analysis,
                j.verdict.map(Verdict::as_str),
                j.p_a,
                j.p_b,
                j.p_tie,
                j.parse_ok,
                j.parse_error,
                j.raw,
                j.tokens_prompt,
                j.tokens_generated,
                j.ms_prefill,
                j.ms_generate,
                j.provenance.profile,
                j.provenance.profile_hash,
                j.provenance.backend,
                j.provenance.server_url,
                j.provenance.server_model,
                j.judge_type,
                j.solution,
                j.verdict_sampled.map(Verdict::as_str),
                library_rubric_id,
            ],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn get_judgment(&self, id: i64) -> Result<Option<Judgment>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {JUDGMENT_COLUMNS} FROM judgments WHERE id = ?1"),
                [id],
                judgment_from_row,
            )
            .optional()?)
    }

    /// The newest judgment of a case in the given order (original or swapped).
    pub fn latest_judgment(&self, case_id: i64, swapped: bool) -> Result<Option<Judgment>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {JUDGMENT_COLUMNS} FROM judgments WHERE case_id = ?1 AND swapped = ?2 ORDER BY id DESC LIMIT 1"
                ),
                params![case_id, swapped],
                judgment_from_row,
            )
            .optional()?)
    }

    /// The newest judgment in each order and their position-robust combination.
    pub fn model_view(&self, case_id: i64) -> Result<ModelView> {
        let original = self.latest_judgment(case_id, false)?;
        let swapped = self.latest_judgment(case_id, true)?;
        Ok(ModelView::new(original, swapped))
    }

    pub fn judgments_for_case(&self, case_id: i64) -> Result<Vec<Judgment>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {JUDGMENT_COLUMNS} FROM judgments WHERE case_id = ?1 ORDER BY id"
        ))?;
        Ok(stmt
            .query_map([case_id], judgment_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Visit every judgment in id order without loading them all at once.
    pub fn for_each_judgment(&self, mut f: impl FnMut(Judgment) -> Result<()>) -> Result<()> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {JUDGMENT_COLUMNS} FROM judgments ORDER BY id"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(judgment_from_row(row)?)?;
        }
        Ok(())
    }

    /// Cases with no judgment in the original order yet.
    pub fn unjudged_case_ids(&self) -> Result<Vec<i64>> {
        let mut stmt = self.conn().prepare(
            "SELECT id FROM cases c WHERE NOT EXISTS
               (SELECT 1 FROM judgments j WHERE j.case_id = c.id AND j.swapped = 0) ORDER BY id",
        )?;
        Ok(stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}
