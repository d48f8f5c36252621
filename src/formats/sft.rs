//! Training data for the next judge: `sft` (chat messages whose assistant turn is the
//! reviewed judgment in rubricate's native tags), `rm-r1-sft` (RM-R1's chain-of-rubrics
//! shape: `context_messages` and the reasoning as `winner`, the columns its distillation
//! stage trains on) and `rm-r1-rl` (`context_messages` and `winner` = `model_a`/`model_b`,
//! the columns its RL stage rewards against).

use super::export::{Reasoning, write_json_line};
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
}

#[derive(Serialize)]
struct RmR1Record {
    context_messages: Vec<Message>,
    winner: String,
    case_id: i64,
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
            },
        )
    } else {
        write_json_line(
            out,
            &RmR1Record {
                context_messages: judge_messages(JudgeShape::RmR1, &case.prompt, a, b),
                winner: judge_answer(
                    JudgeShape::RmR1,
                    &reasoning.rubric,
                    &reasoning.analysis,
                    shown_verdict,
                ),
                case_id: case.id,
            },
        )
    }
}

pub(super) fn write_rm_r1_rl(case: &Case, verdict: Verdict, out: &mut dyn Write) -> Result<()> {
    write_json_line(
        out,
        &RmR1Record {
            context_messages: judge_messages(
                JudgeShape::RmR1,
                &case.prompt,
                &case.answer_a,
                &case.answer_b,
            ),
            winner: if verdict == Verdict::A {
                "model_a"
            } else {
                "model_b"
            }
            .to_string(),
            case_id: case.id,
        },
    )
}
