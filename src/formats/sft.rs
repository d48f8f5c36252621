//! Training data for the next judge: `sft` (chat messages whose assistant turn is the
//! reviewed judgment in rubricate's native tags), `rm-r1-sft` (RM-R1's chain-of-rubrics
//! shape: `context_messages` and the reasoning as `winner`, the columns its distillation
//! stage trains on) and `rm-r1-rl` (`context_messages` and `winner` = `model_a`/`model_b`,
//! the columns its RL stage rewards against).

use super::export::{Reasoning, TraceApproval, write_json_line};
use super::render::{JudgeShape, judge_answer, judge_messages};
use crate::cli::ExportFormat;
use crate::domain::{Case, Message, Verdict};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

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

/// A judgment trace as a training example. When the reasoning was written about the
/// swapped order, the case is shown swapped and the verdict letter follows.
pub(super) fn write_trace(
    format: ExportFormat,
    case: &Case,
    verdict: Verdict,
    reasoning: &Reasoning,
    out: &mut dyn Write,
) -> Result<()> {
    let (a, b, shown_verdict) = if reasoning.swapped {
        (&case.answer_b, &case.answer_a, verdict.swapped())
    } else {
        (&case.answer_a, &case.answer_b, verdict)
    };
    if format == ExportFormat::Sft {
        let mut messages = judge_messages(JudgeShape::Native, &case.prompt, a, b);
        messages.push(Message::new(
            "assistant",
            judge_answer(
                JudgeShape::Native,
                &reasoning.rubric,
                &reasoning.analysis,
                shown_verdict,
            ),
        ));
        write_json_line(
            out,
            &ChatRecord {
                messages,
                case_id: case.id,
                reasoning: reasoning.approval.as_str(),
                reasoning_approved: reasoning.approval != TraceApproval::Unapproved,
                category: case.category.clone(),
                difficulty: case.difficulty.clone(),
            },
        )
    } else {
        let context_messages = judge_messages(JudgeShape::RmR1, &case.prompt, a, b);
        let winner = judge_answer(
            JudgeShape::RmR1,
            &reasoning.rubric,
            &reasoning.analysis,
            shown_verdict,
        );
        write_json_line(
            out,
            &RmR1SftRecord {
                prompt: context_messages.clone(),
                completion: [Message::new("assistant", winner.clone())],
                context_messages,
                winner,
                case_id: case.id,
                reasoning: reasoning.approval.as_str(),
                reasoning_approved: reasoning.approval != TraceApproval::Unapproved,
                category: case.category.clone(),
                difficulty: case.difficulty.clone(),
            },
        )
    }
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
    write_json_line(
        out,
        &RmR1RlRecord {
            context_messages: judge_messages(JudgeShape::RmR1, &case.prompt, answers.0, answers.1),
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
