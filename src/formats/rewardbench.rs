//! RewardBench: `{prompt, chosen, chosen_model, rejected, rejected_model, subset, id}`,
//! all strings except the numeric `id`.

use super::fields;
use super::{Answers, LineError, ParsedPair};
use serde_json::{Map, Value};

pub fn parse(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "id")?;
    let prompt = fields::take_prompt(&mut record, "prompt")?;
    let chosen = fields::take_answer(&mut record, "chosen")?;
    let rejected = fields::take_answer(&mut record, "rejected")?;
    let mut chosen_meta = Map::new();
    let mut rejected_meta = Map::new();
    if let Some(m) = fields::take_opt(&mut record, "chosen_model") {
        chosen_meta.insert("model".into(), m);
    }
    if let Some(m) = fields::take_opt(&mut record, "rejected_model") {
        rejected_meta.insert("model".into(), m);
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
        // `subset` stays here and is given back verbatim.
        extra: record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn models_follow_their_answers() {
        let rec = json!({"prompt": "q", "chosen": "good", "chosen_model": "m1", "rejected": "bad",
                         "rejected_model": "m2", "subset": "math-prm", "id": 17});
        let p = parse(rec.as_object().unwrap().clone()).unwrap();
        assert_eq!(p.source_id.as_ref().map(|i| i.value.as_str()), Some("17"));
        assert_eq!(p.extra["subset"], json!("math-prm"));
        match p.answers {
            Answers::Ranked {
                chosen_meta,
                rejected_meta,
                ..
            } => {
                assert_eq!(chosen_meta["model"], json!("m1"));
                assert_eq!(rejected_meta["model"], json!("m2"));
            }
            other => panic!("{other:?}"),
        }
    }
}
