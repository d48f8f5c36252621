//! TRL preference pairs: `dpo` (standard, strings) and `dpo-chat` (conversational).
//! The source's own fields (id, model names, scores, subset, ...) are given back next to
//! the pair, with per-answer fields following the answer they belong to.

use super::ANSWER_FIELDS;
use super::export::write_json_line;
use super::render::conversation_text;
use crate::domain::{Case, Message, Verdict};
use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Write;

#[derive(Serialize)]
struct Pair<P: Serialize, A: Serialize> {
    prompt: P,
    chosen: A,
    rejected: A,
    #[serde(flatten)]
    source_fields: Map<String, Value>,
}

const RESERVED: &[&str] = &["prompt", "chosen", "rejected"];

/// (chosen, rejected) for a verdict that names a winner.
fn ordered(case: &Case, verdict: Verdict) -> (&str, &str, bool) {
    if verdict == Verdict::A {
        (&case.answer_a, &case.answer_b, true)
    } else {
        (&case.answer_b, &case.answer_a, false)
    }
}

/// The source's fields to write back next to a record.
pub(super) fn source_fields(
    case: &Case,
    chosen_is_a: bool,
    reserved: &[&str],
) -> Map<String, Value> {
    let mut out = Map::new();
    let meta = case.meta.as_object();
    let get = |k: &str| meta.and_then(|m| m.get(k));
    if let (Some(Value::String(key)), Some(id)) = (get("id_key"), &case.source_id)
        && !reserved.contains(&key.as_str())
    {
        let numeric = get("id_numeric").and_then(Value::as_bool).unwrap_or(false);
        let value = match serde_json::from_str::<serde_json::Number>(id) {
            Ok(n) if numeric => Value::Number(n),
            _ => Value::String(id.clone()),
        };
        out.insert(key.clone(), value);
    }
    let (chosen_meta, rejected_meta) = if chosen_is_a {
        (get("a"), get("b"))
    } else {
        (get("b"), get("a"))
    };
    for (short, chosen_key, rejected_key) in ANSWER_FIELDS {
        if let Some(v) = chosen_meta.and_then(|m| m.get(*short)) {
            out.insert((*chosen_key).to_string(), v.clone());
        }
        if let Some(v) = rejected_meta.and_then(|m| m.get(*short)) {
            out.insert((*rejected_key).to_string(), v.clone());
        }
    }
    if let Some(Value::Object(extra)) = get("extra") {
        for (k, v) in extra {
            if !reserved.contains(&k.as_str()) && !out.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

pub(super) fn write_standard(case: &Case, verdict: Verdict, out: &mut dyn Write) -> Result<()> {
    let (chosen, rejected, chosen_is_a) = ordered(case, verdict);
    write_json_line(
        out,
        &Pair {
            prompt: conversation_text(&case.prompt),
            chosen,
            rejected,
            source_fields: source_fields(case, chosen_is_a, RESERVED),
        },
    )
}

pub(super) fn write_chat(case: &Case, verdict: Verdict, out: &mut dyn Write) -> Result<()> {
    let (chosen, rejected, chosen_is_a) = ordered(case, verdict);
    write_json_line(
        out,
        &Pair {
            prompt: &case.prompt,
            chosen: [Message::new("assistant", chosen)],
            rejected: [Message::new("assistant", rejected)],
            source_fields: source_fields(case, chosen_is_a, RESERVED),
        },
    )
}
