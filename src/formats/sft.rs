//! Training data for the next judge: `sft` (chat messages whose assistant turn is the
//! reviewed judgment in rubricate's native tags), `rm-r1-sft` (RM-R1's chain-of-rubrics
//! shape: `context_messages` and the reasoning as `winner`, the columns its distillation
//! stage trains on) and `rm-r1-rl` (`context_messages` and `winner` = `model_a`/`model_b`,
//! the columns its RL stage rewards against).
//!
//! Prompts and answers are written by the judge profiles' own renderer (one place for a
//! judge's contract): `sft` in the `rubricate` profile's, the RM-R1 formats in the `rm-r1`
//! profile's (its system prompt, `[Client Question]` and multi-turn layouts, `<type>`).

use super::export::{Reasoning, TraceApproval, write_json_line};
use crate::cli::ExportFormat;
use crate::domain::{Case, Message, Verdict};
use crate::judge::profile::{AnswerText, Profile};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use std::sync::OnceLock;

/// The built-in profile whose contract an export format is written in. Built-in, not a
/// user profile of the same name: a published format must not change with local files.
/// Built once per process (a profile is parsed from its files).
pub(super) fn contract(format: ExportFormat) -> &'static Profile {
    static RUBRICATE: OnceLock<Profile> = OnceLock::new();
    static RM_R1: OnceLock<Profile> = OnceLock::new();
    if format == ExportFormat::Sft {
        RUBRICATE.get_or_init(Profile::default_profile)
    } else {
        RM_R1.get_or_init(|| Profile::builtin("rm-r1").expect("rm-r1 is built in"))
    }
}

#[derive(Serialize)]
struct ChatRecord {
    messages: Vec<Message>,
    case_id: i64,
    /// `approved` (a human accepted the reasoning as shown), `own` (a human wrote it) or,
    /// only with `--include-unapproved-reasoning`, `unapproved`.
    reasoning: &'static str,
    reasoning_approved: bool,
    /// The case's category and difficulty, when its source has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    difficulty: Option<String>,
}

/// RM-R1's columns (`context_messages`, `winner`) for its OpenRLHF/verl pipeline, and
/// TRL's conversational prompt-completion columns (`prompt`, `completion`) holding the
/// same text, so SFTTrainer reads the same file.
#[derive(Serialize)]
struct RmR1SftRecord {
    context_messages: Vec<Message>,
    winner: String,
    prompt: Vec<Message>,
    completion: [Message; 1],
    case_id: i64,
    reasoning: &'static str,
    reasoning_approved: bool,
    /// The case's category and difficulty, when its source has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    difficulty: Option<String>,
}

#[derive(Serialize)]
struct RmR1RlRecord {
    context_messages: Vec<Message>,
    winner: String,
    case_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refined: Option<serde_json::Value>,
    /// The case's category and difficulty, when its source has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    difficulty: Option<String>,
}

/// A judgment trace as a training example, or why the judgment cannot be written in the
/// format's contract. When the reasoning was written about the swapped order, the case is
/// shown swapped and the verdict letter follows.
pub(super) fn write_trace(
    format: ExportFormat,
    case: &Case,
    verdict: Verdict,
    reasoning: &Reasoning,
    out: &mut dyn Write,
) -> Result<Result<(), &'static str>> {
    let (a, b, shown_verdict) = if reasoning.swapped {
        (&case.answer_b, &case.answer_a, verdict.swapped())
    } else {
        (&case.answer_a, &case.answer_b, verdict)
    };
    let profile = contract(format);
    let answer = AnswerText {
        judge_type: reasoning.judge_type.as_deref(),
        rubric: reasoning.rubric.as_deref(),
        solution: reasoning.solution.as_deref(),
        analysis: &reasoning.analysis,
    };
    let completion = match profile.render_answer(&answer, shown_verdict) {
        Ok(text) => text,
        Err(reason) => return Ok(Err(reason)),
    };
    let prompt = profile.render_verbatim(&case.prompt, a, b).messages();
    let reasoning_approved = reasoning.approval != TraceApproval::Unapproved;
    if format == ExportFormat::Sft {
        let mut messages = prompt;
        messages.push(Message::new("assistant", completion));
        write_json_line(
            out,
            &ChatRecord {
                messages,
                case_id: case.id,
                reasoning: reasoning.approval.as_str(),
                reasoning_approved,
                category: case.category.clone(),
                difficulty: case.difficulty.clone(),
            },
        )?;
    } else {
        write_json_line(
            out,
            &RmR1SftRecord {
                context_messages: prompt.clone(),
                completion: [Message::new("assistant", completion.clone())],
                prompt,
                winner: completion,
                case_id: case.id,
                reasoning: reasoning.approval.as_str(),
                reasoning_approved,
                category: case.category.clone(),
                difficulty: case.difficulty.clone(),
            },
        )?;
    }
    Ok(Ok(()))
}

/// RM-R1's RL stage: the case and which answer wins; no reasoning is carried. The
/// answers are the current texts (refined where a reviewer refined them, marked).
pub(super) fn write_rm_r1_rl(
    case: &Case,
    answers: (&str, &str),
    refined: Option<serde_json::Value>,
    verdict: Verdict,
    out: &mut dyn Write,
) -> Result<()> {
    let context_messages = contract(ExportFormat::RmR1Rl)
        .render_verbatim(&case.prompt, answers.0, answers.1)
        .messages();
    write_json_line(
        out,
        &RmR1RlRecord {
            context_messages,
            winner: if verdict == Verdict::A {
                "model_a"
            } else {
                "model_b"
            }
            .to_string(),
            case_id: case.id,
            refined,
            category: case.category.clone(),
            difficulty: case.difficulty.clone(),
        },
    )
}
