//! RMB (Reward Model Benchmark), both of its published sets:
//! - pairwise: `{pair_uid, conversation_input: [messages], chosen: {answer, llm_name},
//!   reject: {answer, llm_name}, category_path}`;
//! - best-of-N: `{bon_uid, conversation_input, bon_best: {answer, llm_name},
//!   loser_list: [{answer, llm_name}, …], category_path}`, which becomes one pair per
//!   loser (the best answer against each), so a judge's best-of-N accuracy is the share of
//!   items whose pairs it all gets right.
//!
//! The category is the `category_path` without its set folder, e.g.
//! `Harmlessness/S1` or `Helpfulness/Code/Documentation`.

use super::fields;
use super::{Answers, LineError, ParsedPair, SourceId};
use serde_json::{Map, Value};

pub fn looks_like_pairwise(record: &Map<String, Value>) -> bool {
    record.contains_key("conversation_input")
        && record.contains_key("chosen")
        && record.contains_key("reject")
}

pub fn looks_like_bon(record: &Map<String, Value>) -> bool {
    record.contains_key("conversation_input")
        && record.contains_key("bon_best")
        && record.contains_key("loser_list")
}

/// One answer object: its text and the model that wrote it.
fn answer(value: Value, field: &str) -> Result<(String, Map<String, Value>), LineError> {
    let mut obj = match value {
        Value::Object(o) => o,
        other => {
            return Err(fields::wrong_type(
                field,
                "an {answer, llm_name} object",
                &other,
            ));
        }
    };
    let text = fields::take_text(&mut obj, "answer").map_err(|e| match e {
        LineError::MissingField(_) => LineError::MissingField(format!("{field}.answer")),
        LineError::EmptyText(_) => LineError::EmptyText(format!("{field}.answer")),
        LineError::WrongType {
            expected, found, ..
        } => LineError::WrongType {
            field: format!("{field}.answer"),
            expected,
            found,
        },
        other => other,
    })?;
    let mut meta = Map::new();
    if let Some(model) = fields::take_opt(&mut obj, "llm_name") {
        meta.insert("model".into(), model);
    }
    // Anything else the answer object carried stays with the answer.
    meta.extend(obj);
    Ok((text, meta))
}

fn conversation(record: &mut Map<String, Value>) -> Result<Vec<crate::domain::Message>, LineError> {
    let value = fields::take_field(record, "conversation_input")?;
    let prompt = fields::messages(value, "conversation_input")?;
    if prompt.is_empty() {
        return Err(LineError::EmptyText("conversation_input".into()));
    }
    fields::check_prompt(&prompt, "conversation_input")?;
    Ok(prompt)
}

fn category(record: &Map<String, Value>) -> Option<String> {
    let Some(Value::String(path)) = record.get("category_path") else {
        return None;
    };
    let path = path.trim().trim_matches('/');
    let rest = path
        .split_once('/')
        .filter(|(set, _)| set.ends_with("_set"))
        .map_or(path, |(_, rest)| rest);
    (!rest.is_empty()).then(|| rest.to_string())
}

pub fn parse_pairwise(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "pair_uid")?;
    let prompt = conversation(&mut record)?;
    let (chosen, chosen_meta) = answer(fields::take_field(&mut record, "chosen")?, "chosen")?;
    let (rejected, rejected_meta) = answer(fields::take_field(&mut record, "reject")?, "reject")?;
    Ok(ParsedPair {
        prompt,
        answers: Answers::Ranked {
            chosen,
            rejected,
            chosen_meta,
            rejected_meta,
        },
        category: category(&record),
        source_id,
        extra: record,
        difficulty: None,
    })
}

pub fn parse_bon(mut record: Map<String, Value>) -> Result<Vec<ParsedPair>, LineError> {
    let uid = fields::take_id(&mut record, "bon_uid")?;
    let prompt = conversation(&mut record)?;
    let (best, best_meta) = answer(fields::take_field(&mut record, "bon_best")?, "bon_best")?;
    let losers = match fields::take_field(&mut record, "loser_list")? {
        Value::Array(items) if items.is_empty() => {
            return Err(LineError::EmptyText("loser_list".into()));
        }
        Value::Array(items) => items,
        other => {
            return Err(fields::wrong_type(
                "loser_list",
                "a list of answers",
                &other,
            ));
        }
    };
    let losers = losers
        .into_iter()
        .enumerate()
        .map(|(i, v)| answer(v, &format!("loser_list[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let category = category(&record);
    let n = losers.len();
    Ok(losers
        .into_iter()
        .enumerate()
        .map(|(i, (loser, loser_meta))| {
            let mut extra = record.clone();
            if let Some(uid) = &uid {
                extra.insert("bon_uid".into(), Value::from(uid.value.clone()));
            }
            extra.insert("loser_index".into(), Value::from(i));
            extra.insert("losers".into(), Value::from(n));
            ParsedPair {
                prompt: prompt.clone(),
                answers: Answers::Ranked {
                    chosen: best.clone(),
                    rejected: loser,
                    chosen_meta: best_meta.clone(),
                    rejected_meta: loser_meta,
                },
                source_id: uid.as_ref().map(|uid| SourceId {
                    key: "id",
                    value: format!("{}:{i}", uid.value),
                    numeric: false,
                }),
                extra,
                category: category.clone(),
                difficulty: None,
            }
        })
        .collect())
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
    fn pairwise_reads_answers_models_and_category() {
        let rec = obj(json!({
            "pair_uid": "41",
            "conversation_input": [
                {"role": "user", "content": "hello", "language": "English"},
                {"role": "assistant", "content": "hi"},
                {"role": "user", "content": "sum 2 and 2", "language": "English"}
            ],
            "chosen": {"llm_name": "m-good", "answer": "4"},
            "reject": {"llm_name": "m-bad", "answer": "5"},
            "category_path": "Pairwise_set/Helpfulness/Reasoning/Math"
        }));
        let p = parse_pairwise(rec).unwrap();
        assert_eq!(p.prompt.len(), 3);
        assert_eq!(p.prompt[2], Message::user("sum 2 and 2"));
        assert_eq!(p.source_id.unwrap().value, "41");
        assert_eq!(p.category.as_deref(), Some("Helpfulness/Reasoning/Math"));
        assert_eq!(
            p.extra["category_path"],
            json!("Pairwise_set/Helpfulness/Reasoning/Math")
        );
        match p.answers {
            Answers::Ranked {
                chosen,
                rejected,
                chosen_meta,
                rejected_meta,
            } => {
                assert_eq!((chosen.as_str(), rejected.as_str()), ("4", "5"));
                assert_eq!(chosen_meta["model"], json!("m-good"));
                assert_eq!(rejected_meta["model"], json!("m-bad"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pairwise_names_the_missing_answer() {
        let rec = obj(json!({
            "pair_uid": "1",
            "conversation_input": [{"role": "user", "content": "q"}],
            "chosen": {"llm_name": "m"},
            "reject": {"answer": "no"}
        }));
        assert_eq!(
            parse_pairwise(rec).unwrap_err(),
            LineError::MissingField("chosen.answer".into())
        );
        let rec = obj(json!({
            "conversation_input": [],
            "chosen": {"answer": "a"}, "reject": {"answer": "b"}
        }));
        assert_eq!(
            parse_pairwise(rec).unwrap_err(),
            LineError::EmptyText("conversation_input".into())
        );
    }

    #[test]
    fn best_of_n_becomes_one_pair_per_loser() {
        let rec = obj(json!({
            "bon_uid": "9",
            "conversation_input": [{"role": "user", "content": "q"}],
            "bon_best": {"llm_name": "best", "answer": "right"},
            "loser_list": [
                {"llm_name": "l0", "answer": "wrong 0"},
                {"llm_name": "l1", "answer": "wrong 1"},
                {"llm_name": "l2", "answer": "wrong 2"}
            ],
            "category_path": "BoN_set/Harmlessness/S3"
        }));
        let pairs = parse_bon(rec).unwrap();
        assert_eq!(pairs.len(), 3);
        for (i, p) in pairs.iter().enumerate() {
            assert_eq!(p.source_id.as_ref().unwrap().value, format!("9:{i}"));
            assert_eq!(p.category.as_deref(), Some("Harmlessness/S3"));
            assert_eq!(p.extra["loser_index"], json!(i));
            assert_eq!(p.extra["losers"], json!(3));
            match &p.answers {
                Answers::Ranked {
                    chosen,
                    rejected,
                    rejected_meta,
                    ..
                } => {
                    assert_eq!(chosen, "right");
                    assert_eq!(rejected, &format!("wrong {i}"));
                    assert_eq!(rejected_meta["model"], json!(format!("l{i}")));
                }
                other => panic!("{other:?}"),
            }
        }
        let rec = obj(json!({
            "conversation_input": [{"role": "user", "content": "q"}],
            "bon_best": {"answer": "x"}, "loser_list": []
        }));
        assert_eq!(
            parse_bon(rec).unwrap_err(),
            LineError::EmptyText("loser_list".into())
        );
    }
}
