//! TRL preference data: standard `{prompt, chosen, rejected}` with strings, conversational
//! with lists of `{role, content}`, and the implicit-prompt form `{chosen, rejected}` where
//! both are full conversations sharing their first turns.

use super::fields::{self, split_conversations};
use super::{Answers, LineError, ParsedPair};
use serde_json::{Map, Value};

pub fn parse(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "id")?;
    let whole_conversation = |k: &str| {
        record
            .get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1)
    };
    let (prompt, chosen, rejected) = if record.get("prompt").is_some_and(|p| !p.is_null())
        && !(whole_conversation("chosen") && whole_conversation("rejected"))
    {
        let prompt = fields::take_prompt(&mut record, "prompt")?;
        let chosen = fields::take_answer(&mut record, "chosen")?;
        let rejected = fields::take_answer(&mut record, "rejected")?;
        (prompt, chosen, rejected)
    } else {
        // Some datasets repeat the prompt inside whole `chosen`/`rejected` conversations;
        // those conversations (which hold every earlier turn) are then the source of truth.
        record.remove("prompt");
        let chosen = conversation(&mut record, "chosen")?;
        let rejected = conversation(&mut record, "rejected")?;
        split_conversations(chosen, rejected, "chosen", "rejected")?
    };
    Ok(ParsedPair {
        prompt,
        answers: Answers::Ranked {
            chosen,
            rejected,
            chosen_meta: Map::new(),
            rejected_meta: Map::new(),
        },
        source_id,
        extra: record,
        category: None,
        difficulty: None,
    })
}

fn conversation(
    record: &mut Map<String, Value>,
    key: &str,
) -> Result<Vec<crate::domain::Message>, LineError> {
    match fields::take_field(record, key)? {
        v @ Value::Array(_) => fields::messages(v, key),
        // A string answer needs a `prompt` next to it.
        Value::String(_) => Err(LineError::MissingField("prompt".into())),
        other => Err(fields::wrong_type(key, "a list of messages", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Message;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn standard_strings() {
        let p = parse(obj(
            json!({"prompt": "q", "chosen": "good", "rejected": "bad", "x": 1}),
        ))
        .unwrap();
        assert_eq!(p.prompt, vec![Message::user("q")]);
        assert!(
            matches!(p.answers, Answers::Ranked { ref chosen, ref rejected, .. } if chosen == "good" && rejected == "bad")
        );
        assert_eq!(p.extra, obj(json!({"x": 1})));
    }

    #[test]
    fn conversational_keeps_earlier_turns() {
        let p = parse(obj(json!({
            "prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                       {"role": "assistant", "content": "hello"}, {"role": "user", "content": "2+2?"}],
            "chosen": [{"role": "assistant", "content": "4"}],
            "rejected": [{"role": "assistant", "content": "5"}]
        })))
        .unwrap();
        assert_eq!(p.prompt.len(), 4);
        assert_eq!(p.prompt[0].role, "system");
    }

    #[test]
    fn implicit_prompt_is_the_shared_prefix() {
        let p = parse(obj(json!({
            "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a1"}],
            "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a2"}]
        })))
        .unwrap();
        assert_eq!(p.prompt, vec![Message::user("q")]);
    }

    #[test]
    fn prompt_repeated_inside_whole_conversations() {
        let p = parse(obj(json!({
            "prompt": "q",
            "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a1"}],
            "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a2"}]
        })))
        .unwrap();
        assert_eq!(p.prompt, vec![Message::user("q")]);
        assert!(p.extra.is_empty());
        assert!(matches!(p.answers, Answers::Ranked { ref rejected, .. } if rejected == "a2"));
    }

    #[test]
    fn faults_name_the_field() {
        let e = parse(obj(json!({"prompt": "q", "chosen": "a"}))).unwrap_err();
        assert_eq!(e, LineError::MissingField("rejected".into()));
        let e = parse(obj(json!({"prompt": "q", "chosen": "  ", "rejected": "b"}))).unwrap_err();
        assert_eq!(e, LineError::EmptyText("chosen".into()));
        let e = parse(obj(json!({"prompt": "q", "chosen": 3, "rejected": "b"}))).unwrap_err();
        assert!(e.to_string().contains("`chosen`"), "{e}");
        let e = parse(obj(
            json!({"prompt": "q", "chosen": [{"role": "user", "content": "x"}], "rejected": "b"}),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("assistant"), "{e}");
    }
}
