//! Core value types shared by the store, the formats, the judge and the workbench.
//! Pure data: no I/O here.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One turn of a conversation, as TRL and chat templates spell it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
}

/// Which answer is better. The model only ever says `A`, `B` or `Tie`;
/// `BothBad` is a human-only decision (and never becomes a preference pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    #[serde(rename = "A")]
    A,
    #[serde(rename = "B")]
    B,
    #[serde(rename = "tie")]
    Tie,
    #[serde(rename = "both_bad")]
    BothBad,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::A => "A",
            Verdict::B => "B",
            Verdict::Tie => "tie",
            Verdict::BothBad => "both_bad",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        match s.trim() {
            "A" | "a" => Some(Verdict::A),
            "B" | "b" => Some(Verdict::B),
            "tie" | "Tie" | "TIE" => Some(Verdict::Tie),
            "both_bad" => Some(Verdict::BothBad),
            _ => None,
        }
    }

    /// The same judgment seen with A and B exchanged.
    pub fn swapped(self) -> Verdict {
        match self {
            Verdict::A => Verdict::B,
            Verdict::B => Verdict::A,
            other => other,
        }
    }

    /// True when the verdict names a winner, so the case can become a preference pair.
    pub fn is_pair(self) -> bool {
        matches!(self, Verdict::A | Verdict::B)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case as an importer produces it, before it has a row id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    pub source: String,
    pub source_id: Option<String>,
    /// The conversation up to the point where A and B diverge (all turns kept).
    pub prompt: Vec<Message>,
    pub answer_a: String,
    pub answer_b: String,
    /// The source's own preference, already mapped onto the A/B placement.
    pub source_label: Option<Verdict>,
    /// Anything else the source carried (scores, model names, subset), kept for export.
    pub meta: serde_json::Value,
    /// The kind of case, as the source groups them (a benchmark section or domain), for
    /// filtering and per-category accuracy. `None` when the source has no such field.
    #[serde(default)]
    pub category: Option<String>,
    /// The source's own difficulty grade (RM-Bench: easy, normal, hard), if it has one.
    #[serde(default)]
    pub difficulty: Option<String>,
}

impl NewCase {
    /// Identity of the case's content, independent of A/B placement, so a
    /// re-import with another shuffle seed is still recognised as a duplicate.
    pub fn content_hash(&self) -> String {
        content_hash(&self.prompt, &self.answer_a, &self.answer_b)
    }

    /// The same identity as the 32 bytes the database stores.
    pub fn content_digest(&self) -> [u8; 32] {
        content_digest(&self.prompt, &self.answer_a, &self.answer_b)
    }
}

/// [`content_digest`] in hex, the form shown to users and accepted on the command line.
pub fn content_hash(prompt: &[Message], a: &str, b: &str) -> String {
    hex::encode(content_digest(prompt, a, b))
}

/// SHA-256 of the prompt and both answers, the answers in sorted order so that A/B
/// placement does not change it.
pub fn content_digest(prompt: &[Message], a: &str, b: &str) -> [u8; 32] {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut h = Sha256::new();
    for m in prompt {
        h.update(b"\x1erole\x1f");
        h.update(m.role.as_bytes());
        h.update(b"\x1econtent\x1f");
        h.update(m.content.as_bytes());
    }
    h.update(b"\x1danswer\x1f");
    h.update(first.as_bytes());
    h.update(b"\x1danswer\x1f");
    h.update(second.as_bytes());
    h.finalize().into()
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: i64,
    pub source: String,
    pub source_id: Option<String>,
    pub prompt: Vec<Message>,
    pub answer_a: String,
    pub answer_b: String,
    pub source_label: Option<Verdict>,
    pub content_hash: String,
    pub meta: serde_json::Value,
    /// See [`NewCase::category`].
    #[serde(default)]
    pub category: Option<String>,
    /// See [`NewCase::difficulty`].
    #[serde(default)]
    pub difficulty: Option<String>,
}

impl Case {
    /// The last user turn, which is what most views call "the prompt".
    pub fn last_user_text(&self) -> &str {
        self.prompt
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .or(self.prompt.last())
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }
}

/// Sampler settings recorded with every judgment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerSettings {
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    pub max_tokens: u32,
}

impl Default for SamplerSettings {
    fn default() -> Self {
        Self {
            temperature: 0.3,
            top_k: 40,
            top_p: 0.95,
            repeat_penalty: 1.3,
            repeat_last_n: 64,
            max_tokens: 512,
        }
    }
}

/// Where a judgment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JudgmentOrigin {
    /// Produced by rubricate's own judge worker.
    Local,
    /// Imported from a run elsewhere (`judge --import`).
    Import,
}

impl JudgmentOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            JudgmentOrigin::Local => "local",
            JudgmentOrigin::Import => "import",
        }
    }
}

/// A judgment with full provenance, before it has a row id.
/// `verdict` is always in the case's original A/B letters, also when `swapped`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJudgment {
    pub case_id: i64,
    pub origin: JudgmentOrigin,
    pub swapped: bool,
    /// Set in rubric-given mode: the rubric was fixed by the reviewer, not generated.
    pub rubric_given: bool,
    pub model_file: String,
    pub model_sha256: String,
    pub template_version: String,
    pub grammar: bool,
    pub sampler: SamplerSettings,
    pub seed: Option<u32>,
    pub rubric: Option<String>,
    pub analysis: Option<String>,
    pub verdict: Option<Verdict>,
    pub p_a: Option<f64>,
    pub p_b: Option<f64>,
    pub p_tie: Option<f64>,
    pub parse_ok: bool,
    pub parse_error: Option<String>,
    pub raw: String,
    pub tokens_prompt: Option<u32>,
    pub tokens_generated: Option<u32>,
    pub ms_prefill: Option<u32>,
    pub ms_generate: Option<u32>,
    /// Which judge contract and backend produced it.
    #[serde(flatten)]
    pub provenance: JudgeProvenance,
    /// RM-R1's task classification (`<type>Chat</type>` / `<type>Reasoning</type>`), as written.
    pub judge_type: Option<String>,
    /// The judge's own solution (`<solution>`), for reasoning tasks.
    pub solution: Option<String>,
    /// The choice drawn at the verdict position with the sampler's temperature (kept for
    /// comparison only); `verdict` is always the most probable choice there.
    pub verdict_sampled: Option<Verdict>,
}

/// Where a judgment came from beyond the model file: the profile (prompt contract) and
/// the backend that ran it. `None` in rows made before these were recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JudgeProvenance {
    /// Profile name (`rubricate profiles`).
    pub profile: Option<String>,
    /// SHA-256 of the profile's files, so an edited profile is told apart.
    pub profile_hash: Option<String>,
    /// `llama.cpp` (in-process) or the server kind, e.g. `openai`.
    pub backend: Option<String>,
    /// Base URL of the judge server, without credentials.
    pub server_url: Option<String>,
    /// The model id the server reports.
    pub server_model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    pub id: i64,
    pub created_at: String,
    /// The library rubric (its row id) this judgment was given, when it came from the library.
    #[serde(default)]
    pub library_rubric_id: Option<i64>,
    #[serde(flatten)]
    pub j: NewJudgment,
}

/// What a reviewer did. Every action is a new row; nothing is updated in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewAction {
    /// Gave a verdict where the model had none (not judged, or its output did not parse).
    Decide,
    /// Took the model's verdict (and its rubric and analysis) as they are.
    Accept,
    /// Kept a verdict but changed the rubric or the analysis.
    Edit,
    /// Chose a verdict different from the model's.
    Override,
    /// Set or cleared the flag.
    Flag,
    /// Attached a note.
    Note,
    /// Undid the reviewer's latest not-yet-undone row on this case.
    Revert,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Decide => "decide",
            ReviewAction::Accept => "accept",
            ReviewAction::Edit => "edit",
            ReviewAction::Override => "override",
            ReviewAction::Flag => "flag",
            ReviewAction::Note => "note",
            ReviewAction::Revert => "revert",
        }
    }
    pub fn parse(s: &str) -> Option<ReviewAction> {
        Some(match s {
            "decide" => ReviewAction::Decide,
            "accept" => ReviewAction::Accept,
            "edit" => ReviewAction::Edit,
            "override" => ReviewAction::Override,
            "flag" => ReviewAction::Flag,
            "note" => ReviewAction::Note,
            "revert" => ReviewAction::Revert,
            _ => return None,
        })
    }
    /// Actions that set the case's final verdict.
    pub fn is_decision(self) -> bool {
        matches!(
            self,
            ReviewAction::Decide
                | ReviewAction::Accept
                | ReviewAction::Edit
                | ReviewAction::Override
        )
    }
}

/// What a decision says about the judge's reasoning (rubric and analysis), as opposed to
/// its verdict. Only `Approved` and `Own` reasoning is training data by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningApproval {
    /// `a`: the verdict and the reasoning as shown were accepted.
    Approved,
    /// The reviewer kept their own edit of the rubric or analysis.
    Own,
    /// A verdict key: the verdict is the reviewer's, the reasoning was not vouched for.
    VerdictOnly,
    /// "Verdict right, reasoning wrong": the reasoning was read and rejected.
    Wrong,
}

impl ReasoningApproval {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningApproval::Approved => "approved",
            ReasoningApproval::Own => "own",
            ReasoningApproval::VerdictOnly => "verdict_only",
            ReasoningApproval::Wrong => "wrong",
        }
    }
    pub fn parse(s: &str) -> Option<ReasoningApproval> {
        Some(match s {
            "approved" => ReasoningApproval::Approved,
            "own" => ReasoningApproval::Own,
            "verdict_only" => ReasoningApproval::VerdictOnly,
            "wrong" => ReasoningApproval::Wrong,
            _ => return None,
        })
    }
    /// Whether a human vouched for (or wrote) the reasoning stored with the decision.
    pub fn is_human_reasoning(self) -> bool {
        matches!(self, ReasoningApproval::Approved | ReasoningApproval::Own)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewReview {
    pub case_id: i64,
    pub reviewer: String,
    pub action: Option<ReviewAction>,
    pub verdict: Option<Verdict>,
    pub rubric: Option<String>,
    pub analysis: Option<String>,
    pub note: Option<String>,
    /// For `Flag` rows: the flag's new value.
    pub flagged: Option<bool>,
    pub seconds_spent: Option<f64>,
    /// The judgment the decision refers to, if a model judgment was on screen.
    pub judgment_id: Option<i64>,
    /// For `Revert` rows: the row being undone.
    pub reverts_review_id: Option<i64>,
    /// For decisions: what the reviewer said about the reasoning (`None` on old rows).
    pub reasoning: Option<ReasoningApproval>,
    /// For `Flag` rows that set the flag: why.
    pub flag_reason: Option<String>,
    /// For decisions: whether the model's verdict, confidence and the answers' lengths
    /// were hidden from the reviewer until then (blind mode).
    pub blind: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub id: i64,
    pub created_at: String,
    pub case_id: i64,
    pub reviewer: String,
    pub action: ReviewAction,
    pub verdict: Option<Verdict>,
    pub rubric: Option<String>,
    pub analysis: Option<String>,
    pub note: Option<String>,
    pub flagged: Option<bool>,
    pub seconds_spent: Option<f64>,
    pub judgment_id: Option<i64>,
    pub reverts_review_id: Option<i64>,
    #[serde(default)]
    pub reasoning: Option<ReasoningApproval>,
    #[serde(default)]
    pub flag_reason: Option<String>,
    /// `None` on rows written before blind mode existed.
    #[serde(default)]
    pub blind: Option<bool>,
}

impl Review {
    /// Whether the rubric and analysis stored with this decision are a human's: approved
    /// as shown or written by the reviewer. Rows from before approval was recorded
    /// (`reasoning` unset) count only when they were edits, whose text the reviewer kept.
    pub fn reasoning_is_human(&self) -> bool {
        match self.reasoning {
            Some(r) => r.is_human_reasoning(),
            None => self.action == ReviewAction::Edit,
        }
    }
}

/// The current state of one case for one reviewer, folded from the append-only log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewState {
    /// The decision row in force (accept / edit / override), if any.
    pub decision: Option<Review>,
    pub flagged: bool,
    /// The reason given with the flag in force, if any.
    pub flag_reason: Option<String>,
    pub note: Option<String>,
    /// Rows still in force, oldest first; the last one is what `undo` reverts.
    pub live: Vec<Review>,
}

impl ReviewState {
    pub fn verdict(&self) -> Option<Verdict> {
        self.decision.as_ref().and_then(|r| r.verdict)
    }
}

/// Fold a reviewer's rows for one case (in id order) into the current state.
/// A revert removes the row it names (or, if it names none, the latest live row).
pub fn fold_reviews<'a>(rows: impl IntoIterator<Item = &'a Review>) -> ReviewState {
    let mut live: Vec<Review> = Vec::new();
    for r in rows {
        if r.action == ReviewAction::Revert {
            match r.reverts_review_id {
                Some(target) => live.retain(|x| x.id != target),
                None => {
                    live.pop();
                }
            }
        } else {
            live.push(r.clone());
        }
    }
    let decision = live.iter().rev().find(|r| r.action.is_decision()).cloned();
    let flag_row = live.iter().rev().find(|r| r.action == ReviewAction::Flag);
    let flagged = flag_row.and_then(|r| r.flagged).unwrap_or(false);
    let flag_reason = flag_row
        .filter(|_| flagged)
        .and_then(|r| r.flag_reason.clone());
    let note = live
        .iter()
        .rev()
        .find(|r| r.action == ReviewAction::Note)
        .and_then(|r| r.note.clone());
    ReviewState {
        decision,
        flagged,
        flag_reason,
        note,
        live,
    }
}

/// How the decisions of several reviewers on one case become one verdict (`stats` and
/// `export` with `--all-reviewers`). Each reviewer's own log is folded first
/// ([`fold_reviews`]), so one reviewer's undo never touches another's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MergePolicy {
    /// The most recent decision of any reviewer.
    Latest,
    /// The verdict held by more than half of the reviewers who decided the case.
    Majority,
    /// The verdict every reviewer who decided the case gave.
    Unanimous,
}

impl MergePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MergePolicy::Latest => "latest",
            MergePolicy::Majority => "majority",
            MergePolicy::Unanimous => "unanimous",
        }
    }
}

/// Whose decisions count in `stats` and `export`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewerSelection {
    /// One reviewer's decisions only.
    One(String),
    /// Every reviewer's, merged case by case.
    All(MergePolicy),
}

impl ReviewerSelection {
    /// The reviewer named, when there is one.
    pub fn reviewer(&self) -> Option<&str> {
        match self {
            ReviewerSelection::One(r) => Some(r),
            ReviewerSelection::All(_) => None,
        }
    }
    pub fn policy(&self) -> Option<MergePolicy> {
        match self {
            ReviewerSelection::One(_) => None,
            ReviewerSelection::All(p) => Some(*p),
        }
    }
    /// e.g. "reviewer ann" or "all reviewers, merged by majority" (raw: callers make the
    /// name visible before printing it).
    pub fn describe(&self) -> String {
        match self {
            ReviewerSelection::One(r) => format!("reviewer {r}"),
            ReviewerSelection::All(p) => format!("all reviewers, merged by {}", p.as_str()),
        }
    }
}

/// The human side of one case once the reviewers' states are merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergedReviews {
    /// The decision row in force under the policy: for `majority` and `unanimous`, the
    /// latest row that gave the winning verdict (its rubric and analysis go with it).
    pub decision: Option<Review>,
    /// Whether any reviewer's flag is set.
    pub flagged: bool,
    /// Reviewers with a decision in force on the case.
    pub deciders: u32,
    /// Set when reviewers decided the case but the policy reached no verdict: why.
    pub unresolved: Option<&'static str>,
}

/// Merge the folded states of the reviewers of one case (one state per reviewer) under
/// `policy`. A decision row without a verdict counts as no decision for `majority` and
/// `unanimous`.
pub fn merge_reviews<'a>(
    states: impl IntoIterator<Item = &'a ReviewState>,
    policy: MergePolicy,
) -> MergedReviews {
    let mut out = MergedReviews::default();
    let mut decisions: Vec<&Review> = Vec::new();
    for s in states {
        out.flagged |= s.flagged;
        if let Some(d) = &s.decision {
            decisions.push(d);
        }
    }
    out.deciders = decisions.len() as u32;
    let latest_with = |v: Option<Verdict>| {
        decisions
            .iter()
            .filter(|d| v.is_none() || d.verdict == v)
            .max_by_key(|d| d.id)
            .map(|d| (*d).clone())
    };
    match policy {
        MergePolicy::Latest => out.decision = latest_with(None),
        MergePolicy::Majority | MergePolicy::Unanimous => {
            let verdicts: Vec<Verdict> = decisions.iter().filter_map(|d| d.verdict).collect();
            if verdicts.is_empty() {
                return out;
            }
            let mut counts: Vec<(Verdict, usize)> = Vec::new();
            for v in &verdicts {
                match counts.iter_mut().find(|(w, _)| w == v) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((*v, 1)),
                }
            }
            let (top, n) = *counts.iter().max_by_key(|(_, n)| *n).expect("not empty");
            let wins = match policy {
                MergePolicy::Unanimous => counts.len() == 1,
                _ => 2 * n > verdicts.len(),
            };
            if wins {
                out.decision = latest_with(Some(top));
            } else {
                out.unresolved = Some(match policy {
                    MergePolicy::Unanimous => "reviewers disagree",
                    _ => "no majority",
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: i64,
        action: ReviewAction,
        verdict: Option<Verdict>,
        reverts: Option<i64>,
    ) -> Review {
        Review {
            id,
            created_at: String::new(),
            case_id: 1,
            reviewer: "r".into(),
            action,
            verdict,
            rubric: None,
            analysis: None,
            note: None,
            flagged: None,
            seconds_spent: None,
            judgment_id: None,
            reverts_review_id: reverts,
            reasoning: None,
            flag_reason: None,
            blind: None,
        }
    }

    #[test]
    fn revert_restores_previous_decision() {
        let rows = vec![
            row(1, ReviewAction::Accept, Some(Verdict::A), None),
            row(2, ReviewAction::Override, Some(Verdict::B), None),
            row(3, ReviewAction::Revert, None, Some(2)),
        ];
        assert_eq!(fold_reviews(&rows).verdict(), Some(Verdict::A));
        let rows2 = [
            rows.clone(),
            vec![row(4, ReviewAction::Revert, None, Some(1))],
        ]
        .concat();
        assert_eq!(fold_reviews(&rows2).verdict(), None);
        assert!(fold_reviews(&rows2).live.is_empty());
    }

    #[test]
    fn content_hash_ignores_placement() {
        let p = vec![Message::user("q")];
        assert_eq!(content_hash(&p, "x", "y"), content_hash(&p, "y", "x"));
        assert_ne!(content_hash(&p, "x", "y"), content_hash(&p, "x", "z"));
    }

    #[test]
    fn verdict_swap_roundtrip() {
        for v in [Verdict::A, Verdict::B, Verdict::Tie, Verdict::BothBad] {
            assert_eq!(v.swapped().swapped(), v);
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
    }

    fn state(id: i64, verdict: Option<Verdict>, flagged: bool) -> ReviewState {
        let mut rows = vec![row(id, ReviewAction::Override, verdict, None)];
        if flagged {
            let mut f = row(id + 1000, ReviewAction::Flag, None, None);
            f.flagged = Some(true);
            rows.push(f);
        }
        fold_reviews(&rows)
    }

    #[test]
    fn merge_policies_on_two_and_three_reviewers() {
        use MergePolicy::*;
        let ann_a = state(1, Some(Verdict::A), false);
        let bob_b = state(2, Some(Verdict::B), true);
        let cid_a = state(3, Some(Verdict::A), false);
        let none = ReviewState::default();
        let v = |states: &[&ReviewState], p| merge_reviews(states.iter().copied(), p);

        // Two reviewers who disagree: latest takes bob's later row; the others refuse.
        let m = v(&[&ann_a, &bob_b], Latest);
        assert_eq!(
            (m.decision.map(|d| d.id), m.flagged, m.deciders),
            (Some(2), true, 2)
        );
        let m = v(&[&ann_a, &bob_b], Majority);
        assert_eq!((m.decision, m.unresolved), (None, Some("no majority")));
        let m = v(&[&ann_a, &bob_b], Unanimous);
        assert_eq!(
            (m.decision, m.unresolved),
            (None, Some("reviewers disagree"))
        );
        assert!(m.flagged);

        // Two against one: majority takes the latest row of the winning verdict.
        let m = v(&[&ann_a, &bob_b, &cid_a], Majority);
        assert_eq!(m.decision.map(|d| d.id), Some(3));
        assert_eq!(v(&[&ann_a, &bob_b, &cid_a], Unanimous).decision, None);

        // Agreement and a reviewer without a decision (only a flag, or nothing).
        let m = v(&[&ann_a, &cid_a, &none], Unanimous);
        assert_eq!((m.decision.map(|d| d.id), m.deciders), (Some(3), 2));
        let m = v(&[&ann_a], Majority);
        assert_eq!(m.decision.map(|d| d.id), Some(1));
        let m = v(&[&none], Majority);
        assert_eq!((m.decision, m.unresolved, m.deciders), (None, None, 0));
    }
}
