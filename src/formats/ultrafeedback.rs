//! UltraFeedback binarized: `{prompt, prompt_id, chosen, rejected, messages, score_chosen,
//! score_rejected}`; `chosen` and `rejected` are whole conversations ending in the answer.
//! `messages` repeats `chosen` and is not kept.

use super::fields::{self, split_conversations};
use super::{Answers, LineError, ParsedPair};
use crate::domain::Message;
use serde_json::{Map, Value};

pub fn parse(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "prompt_id")?;
    let prompt_text = fields::take_text(&mut record, "prompt")?;
    let chosen = fields::take_field(&mut record, "chosen")?;
    let rejected = fields::take_field(&mut record, "rejected")?;
    let (prompt, chosen, rejected) = match (chosen, rejected) {
        (c @ Value::Array(_), r @ Value::Array(_)) => split_conversations(
            fields::messages(c, "chosen")?,
            fields::messages(r, "rejected")?,
            "chosen",
            "rejected",
        )?,
        (c, r) => (
            vec![Message::user(prompt_text)],
            fields::answer(c, "chosen")?,
            fields::answer(r, "rejected")?,
        ),
    };
    record.remove("messages");
    let mut chosen_meta = Map::new();
    let mut rejected_meta = Map::new();
    if let Some(s) = fields::take_opt(&mut record, "score_chosen") {
        chosen_meta.insert("score".into(), s);
    }
    if let Some(s) = fields::take_opt(&mut record, "score_rejected") {
        rejected_meta.insert("score".into(), s);
    }
    Ok(ParsedPair {
        prompt,
        answers: Answers::Ranked {
            chosen,
            rejected,
            chosen_meta,
            rejected_meta,
        },
        source_id,
        extra: record,
        category: None,
        difficulty: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversations_and_scores() {
        let rec = json!({
            "prompt": "q", "prompt_id": "abc",
            "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}],
            "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}],
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}],
            "score_chosen": 8.5, "score_rejected": 3.0
        });
        let p = parse(rec.as_object().unwrap().clone()).unwrap();
        assert_eq!(p.prompt, vec![Message::user("q")]);
        assert_eq!(p.source_id.as_ref().map(|i| i.value.as_str()), Some("abc"));
        assert!(p.extra.is_empty());
        match p.answers {
            Answers::Ranked {
                chosen,
                chosen_meta,
                rejected_meta,
                ..
            } => {
                assert_eq!(chosen, "good");
                assert_eq!(chosen_meta["score"], json!(8.5));
                assert_eq!(rejected_meta["score"], json!(3.0));
            }
            other => panic!("{other:?}"),
        }
    }
}
