//! Anthropic HH-RLHF: `{chosen, rejected}`, each a whole transcript of
//! "\n\nHuman: …\n\nAssistant: …" turns. The turns both transcripts share are the
//! prompt (multi-turn context kept as messages); the last assistant turns are the answers.

use super::fields::{self, split_conversations};
use super::{Answers, LineError, ParsedPair};
use crate::domain::Message;
use serde_json::{Map, Value};

const HUMAN: &str = "Human:";
const ASSISTANT: &str = "Assistant:";

pub fn parse(mut record: Map<String, Value>) -> Result<ParsedPair, LineError> {
    let source_id = fields::take_id(&mut record, "id")?;
    let chosen = transcript(&mut record, "chosen")?;
    let rejected = transcript(&mut record, "rejected")?;
    let (prompt, chosen, rejected) = split_conversations(chosen, rejected, "chosen", "rejected")?;
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

fn transcript(record: &mut Map<String, Value>, key: &str) -> Result<Vec<Message>, LineError> {
    match fields::take_field(record, key)? {
        Value::String(s) => {
            split_turns(&s).map_err(|why| LineError::Invalid(format!("`{key}`: {why}")))
        }
        other => Err(fields::wrong_type(key, "a transcript string", &other)),
    }
}

/// Where the next turn marker starts (at the very start, or after a blank line): the
/// marker's start, where its turn's text begins, and the role. One pass over the line
/// breaks after `from` (imports split every transcript, so this is on the hot path).
fn next_marker(text: &str, from: usize) -> Option<(usize, usize, &'static str)> {
    const MARKERS: [(&str, &str); 2] = [(HUMAN, "user"), (ASSISTANT, "assistant")];
    if from == 0 {
        for (marker, role) in MARKERS {
            if text.starts_with(marker) {
                return Some((0, marker.len(), role));
            }
        }
    }
    let mut at = from;
    while let Some(i) = text[at..].find('\n') {
        let start = at + i;
        if let Some(rest) = text[start..].strip_prefix("\n\n") {
            for (marker, role) in MARKERS {
                if rest.starts_with(marker) {
                    return Some((start, start + 2 + marker.len(), role));
                }
            }
        }
        at = start + 1;
    }
    None
}

/// Split a transcript into turns; each turn's text is trimmed of the spaces and
/// newlines around it, which the format puts there as separators.
pub fn split_turns(text: &str) -> Result<Vec<Message>, String> {
    let Some((first, mut body_start, mut role)) = next_marker(text, 0) else {
        return Err("no \"Human:\" or \"Assistant:\" turns found".into());
    };
    if !text[..first].trim().is_empty() {
        return Err("text before the first \"Human:\" turn".into());
    }
    let mut turns = Vec::new();
    loop {
        let next = next_marker(text, body_start);
        let end = next.map_or(text.len(), |(start, _, _)| start);
        turns.push(Message::new(role, text[body_start..end].trim()));
        match next {
            Some((_, b, r)) => {
                body_start = b;
                role = r;
            }
            None => break,
        }
    }
    Ok(turns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn turns_are_split_and_trimmed() {
        let t =
            split_turns("\n\nHuman: hi there\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 4")
                .unwrap();
        assert_eq!(
            t,
            vec![
                Message::new("user", "hi there"),
                Message::new("assistant", "hello"),
                Message::new("user", "2+2?"),
                Message::new("assistant", "4"),
            ]
        );
        assert!(split_turns("no markers").is_err());
    }

    /// The marker search as first written (two substring searches per call), kept as the
    /// reference the one-pass version must agree with.
    fn next_marker_reference(text: &str, from: usize) -> Option<(usize, usize, &'static str)> {
        let mut best: Option<(usize, usize, &'static str)> = None;
        for (marker, role) in [(HUMAN, "user"), (ASSISTANT, "assistant")] {
            let found = if from == 0 && text.starts_with(marker) {
                Some((0, marker.len()))
            } else {
                text[from..]
                    .find(&format!("\n\n{marker}"))
                    .map(|i| (from + i, 2 + marker.len()))
            };
            if let Some((start, len)) = found
                && best.is_none_or(|(b, _, _)| start < b)
            {
                best = Some((start, start + len, role));
            }
        }
        best
    }

    #[test]
    fn marker_search_agrees_with_the_reference() {
        let texts = [
            "",
            "Human: hi",
            "Assistant: hi\n\nHuman: x",
            "\n\nHuman: a\n\nAssistant: b",
            "\n\n\nHuman: a\n\n\n\nAssistant: b\nHuman: not a marker\n\nHuman:",
            "text\nHuman: no\n\nAssistant:\n\nAssistant: two",
            "\n\nHuman: é ü 日本\n\nAssistant: ñ\n",
            "no markers at all\n\n",
            "\n\nHuman",
        ];
        for text in texts {
            for from in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                assert_eq!(
                    next_marker(text, from),
                    next_marker_reference(text, from),
                    "{text:?} from {from}"
                );
            }
        }
    }

    #[test]
    fn shared_prefix_is_the_prompt() {
        let rec = json!({
            "chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: good",
            "rejected": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: bad"
        });
        let p = parse(rec.as_object().unwrap().clone()).unwrap();
        assert_eq!(p.prompt.len(), 3);
        assert_eq!(p.prompt[2], Message::user("c"));
        assert!(matches!(p.answers, Answers::Ranked { ref chosen, .. } if chosen == "good"));
    }

    #[test]
    fn empty_last_turn_is_refused() {
        let rec = json!({"chosen": "\n\nHuman: a\n\nAssistant: ok", "rejected": "\n\nHuman: a\n\nAssistant:"});
        let e = parse(rec.as_object().unwrap().clone()).unwrap_err();
        assert_eq!(e, LineError::EmptyText("rejected".into()));
    }
}
