//! Pairwise `{prompt, response_a, response_b}` with an optional `winner` (or `label`).
//! The source has already placed the answers, so they stay where they are and the label
//! is read against that placement.

use super::fields;
use super::{Answers, LineError, ParsedPair};
use crate::domain::Verdict;
use serde_json::{Map, Value};

pub fn parse(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "id")?;
    let prompt = fields::take_prompt(&mut record, "prompt")?;
    let a = fields::take_answer(&mut record, "response_a")?;
    let b = fields::take_answer(&mut record, "response_b")?;
    let label = match fields::take_opt(&mut record, "winner") {
        Some(v) => Some(label_value(v, "winner")?),
        None => match fields::take_opt(&mut record, "label") {
            Some(v) => Some(label_value(v, "label")?),
            None => None,
        },
    };
    Ok(ParsedPair {
        prompt,
        answers: Answers::Placed { a, b, label },
        source_id,
        extra: record,
        category: None,
        difficulty: None,
    })
}

/// The label spellings in use: rubricate's own (`A`, `B`, `tie`, `both_bad`) and
/// Chatbot Arena's (`model_a`, `model_b`, `tie`, `tie (bothbad)`).
pub fn parse_label(s: &str) -> Option<Verdict> {
    match s.trim() {
        "model_a" | "response_a" => Some(Verdict::A),
        "model_b" | "response_b" => Some(Verdict::B),
        "tie (bothbad)" | "both-bad" | "bothbad" => Some(Verdict::BothBad),
        other => Verdict::parse(other),
    }
}

fn label_value(v: Value, field: &str) -> Result<Verdict, LineError> {
    match v {
        Value::String(s) => parse_label(&s).ok_or_else(|| {
            LineError::Invalid(format!(
                "`{field}` is `{s}`; use A, B, tie or both_bad (or leave it out when there is no label)"
            ))
        }),
        other => Err(fields::wrong_type(field, "a string (A, B, tie or both_bad)", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn placement_and_label_are_kept() {
        let p = parse(obj(
            json!({"id": "c1", "prompt": "q", "response_a": "x", "response_b": "y",
                                 "winner": "B", "category": "math"}),
        ))
        .unwrap();
        assert_eq!(
            p.answers,
            Answers::Placed {
                a: "x".into(),
                b: "y".into(),
                label: Some(Verdict::B)
            }
        );
        assert_eq!(p.source_id.as_ref().map(|i| i.value.as_str()), Some("c1"));
        assert_eq!(p.extra, obj(json!({"category": "math"})));
    }

    #[test]
    fn label_spellings() {
        assert_eq!(parse_label("model_a"), Some(Verdict::A));
        assert_eq!(parse_label("tie (bothbad)"), Some(Verdict::BothBad));
        assert_eq!(parse_label("both_bad"), Some(Verdict::BothBad));
        assert_eq!(parse_label("tie"), Some(Verdict::Tie));
        assert_eq!(parse_label("C"), None);
        let e = parse(obj(
            json!({"prompt": "q", "response_a": "x", "response_b": "y", "label": "C"}),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("`label` is `C`"), "{e}");
    }

    #[test]
    fn no_label_is_fine() {
        let p = parse(obj(
            json!({"prompt": "q", "response_a": "x", "response_b": "y", "winner": null}),
        ))
        .unwrap();
        assert!(matches!(p.answers, Answers::Placed { label: None, .. }));
    }
}
