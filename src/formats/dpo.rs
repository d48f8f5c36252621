//! TRL preference pairs: `dpo` (standard, strings) and `dpo-chat` (conversational).
//! The source's own fields (id, model names, scores, subset, ...) are given back next to
//! the pair, with per-answer fields following the answer they belong to.

use super::ANSWER_FIELDS;
use super::export::write_json_line;
use crate::cli::RefinedPairs;
use crate::domain::{Case, Message, Verdict};
use crate::store::{AnswerRevision, CurrentAnswers};
use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Write;

#[derive(Serialize)]
struct Pair<P: Serialize, A: Serialize> {
    prompt: P,
    chosen: A,
    rejected: A,
    /// Present when a reviewer's refined text is in the pair: which revision, by whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    refined: Option<Value>,
    #[serde(flatten)]
    source_fields: Map<String, Value>,
}

const RESERVED: &[&str] = &["prompt", "chosen", "rejected", "refined"];

/// The two texts of a preference pair and where they came from.
pub(super) struct PairTexts<'a> {
    pub chosen: &'a str,
    pub rejected: &'a str,
    pub chosen_is_a: bool,
    /// Provenance of refined text in the pair (`None` when both texts are the originals).
    pub refined: Option<Value>,
    /// The pair is the refined chosen against the original chosen: per-answer source
    /// fields (model, score) of the rejected side would be wrong and are left out.
    pub vs_original: bool,
}

/// The provenance of one refined side, as written in `refined`.
pub(super) fn revision_json(r: &AnswerRevision) -> Value {
    serde_json::json!({
        "revision_id": r.id,
        "side": r.side.as_str(),
        "author": r.author,
        "created_at": r.created_at,
    })
}

/// The pairs a decided case becomes: the current texts (refined where refined, unless
/// `mode` ignores refinements), plus, with `also-vs-original`, the refined chosen against
/// its own original.
pub(super) fn pairs<'a>(
    case: &'a Case,
    answers: &'a CurrentAnswers,
    verdict: Verdict,
    mode: RefinedPairs,
) -> Vec<PairTexts<'a>> {
    let chosen_is_a = verdict == Verdict::A;
    let (orig_chosen, orig_rejected) = if chosen_is_a {
        (&case.answer_a, &case.answer_b)
    } else {
        (&case.answer_b, &case.answer_a)
    };
    if mode == RefinedPairs::Ignore {
        return vec![PairTexts {
            chosen: orig_chosen,
            rejected: orig_rejected,
            chosen_is_a,
            refined: None,
            vs_original: false,
        }];
    }
    let (chosen, rejected, rev_chosen, rev_rejected) = if chosen_is_a {
        (
            &answers.a,
            &answers.b,
            &answers.revision_a,
            &answers.revision_b,
        )
    } else {
        (
            &answers.b,
            &answers.a,
            &answers.revision_b,
            &answers.revision_a,
        )
    };
    let mut out = Vec::new();
    let refined = (rev_chosen.is_some() || rev_rejected.is_some()).then(|| {
        let mut m = Map::new();
        m.insert("pair".into(), Value::from("refined_vs_rejected"));
        if let Some(r) = rev_chosen {
            m.insert("chosen".into(), revision_json(r));
        }
        if let Some(r) = rev_rejected {
            m.insert("rejected".into(), revision_json(r));
        }
        Value::Object(m)
    });
    out.push(PairTexts {
        chosen,
        rejected,
        chosen_is_a,
        refined,
        vs_original: false,
    });
    if mode == RefinedPairs::AlsoVsOriginal
        && let Some(r) = rev_chosen
        && r.body != *orig_chosen
    {
        out.push(PairTexts {
            chosen,
            rejected: orig_chosen,
            chosen_is_a,
            refined: Some(serde_json::json!({
                "pair": "refined_vs_original",
                "chosen": revision_json(r),
            })),
            vs_original: true,
        });
    }
    out
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
    // The category and difficulty rubricate derived (a RewardBench section, an RM-Bench
    // cell), unless the source had fields of those names, which were given back above.
    for (key, value) in [
        ("category", &case.category),
        ("difficulty", &case.difficulty),
    ] {
        if let Some(v) = value
            && !reserved.contains(&key)
            && !out.contains_key(key)
        {
            out.insert(key.to_string(), Value::from(v.as_str()));
        }
    }
    out
}

fn fields_for(case: &Case, p: &PairTexts) -> Map<String, Value> {
    let mut fields = source_fields(case, p.chosen_is_a, RESERVED);
    if p.vs_original {
        for (_, _, rejected_key) in ANSWER_FIELDS {
            fields.remove(*rejected_key);
        }
    }
    fields
}

pub(super) fn write_standard(case: &Case, p: &PairTexts, out: &mut dyn Write) -> Result<()> {
    write_json_line(
        out,
        &Pair {
            prompt: conversation_text(&case.prompt),
            chosen: p.chosen,
            rejected: p.rejected,
            refined: p.refined.clone(),
            source_fields: fields_for(case, p),
        },
    )
}

pub(super) fn write_chat(case: &Case, p: &PairTexts, out: &mut dyn Write) -> Result<()> {
    write_json_line(
        out,
        &Pair {
            prompt: &case.prompt,
            chosen: [Message::new("assistant", p.chosen)],
            rejected: [Message::new("assistant", p.rejected)],
            refined: p.refined.clone(),
            source_fields: fields_for(case, p),
        },
    )
}

/// The conversation as one string (TRL's standard `prompt`): a single user turn is just
/// its text; anything longer is role-labelled turns separated by blank lines.
fn conversation_text(prompt: &[Message]) -> String {
    if let [only] = prompt
        && only.role == "user"
    {
        return only.content.clone();
    }
    let mut out = String::new();
    for (i, m) in prompt.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&role_label(&m.role));
        out.push_str(": ");
        out.push_str(&m.content);
    }
    out
}

fn role_label(role: &str) -> String {
    match role {
        "user" => "User".into(),
        "assistant" => "Assistant".into(),
        "system" => "System".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_turn_is_the_user_text() {
        assert_eq!(conversation_text(&[Message::user("hi")]), "hi");
        let multi = [
            Message::new("system", "be brief"),
            Message::user("q"),
            Message::new("assistant", "a"),
            Message::user("q2"),
        ];
        assert_eq!(
            conversation_text(&multi),
            "System: be brief\n\nUser: q\n\nAssistant: a\n\nUser: q2"
        );
    }
}
