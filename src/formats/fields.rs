//! Field extraction shared by the import formats. Fields are *taken* out of the record,
//! so whatever is left over afterwards is exactly the source's extra fields.

use super::{LineError, SourceId};
use crate::domain::Message;
use serde_json::{Map, Value};

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub fn into_object(value: Value) -> Result<Map<String, Value>, LineError> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(LineError::NotObject(kind(&other))),
    }
}

/// serde_json's message without its "at line 1 column N" tail (every record is one
/// line, so only the column means anything to the user).
pub fn json_error(e: &serde_json::Error) -> LineError {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    LineError::InvalidJson(format!("{message} (column {})", e.column()))
}

pub fn wrong_type(field: &str, expected: &'static str, found: &Value) -> LineError {
    LineError::WrongType {
        field: field.to_string(),
        expected,
        found: kind(found),
    }
}

fn take(record: &mut Map<String, Value>, key: &str) -> Result<Value, LineError> {
    match record.remove(key) {
        None | Some(Value::Null) => Err(LineError::MissingField(key.to_string())),
        Some(v) => Ok(v),
    }
}

/// Take a field that may be absent or null.
pub fn take_opt(record: &mut Map<String, Value>, key: &str) -> Option<Value> {
    record.remove(key).filter(|v| !v.is_null())
}

fn nonempty(text: String, field: &str) -> Result<String, LineError> {
    if text.trim().is_empty() {
        Err(LineError::EmptyText(field.to_string()))
    } else {
        Ok(text)
    }
}

pub fn take_text(record: &mut Map<String, Value>, key: &str) -> Result<String, LineError> {
    match take(record, key)? {
        Value::String(s) => nonempty(s, key),
        other => Err(wrong_type(key, "a string", &other)),
    }
}

/// The source's own id: a string or a number, kept as text.
pub fn take_id(
    record: &mut Map<String, Value>,
    key: &'static str,
) -> Result<Option<SourceId>, LineError> {
    let (value, numeric) = match take_opt(record, key) {
        None => return Ok(None),
        Some(Value::String(s)) => (s, false),
        Some(Value::Number(n)) => (n.to_string(), true),
        Some(other) => return Err(wrong_type(key, "a string or a number", &other)),
    };
    Ok(Some(SourceId {
        key,
        value,
        numeric,
    }))
}

/// A list of `{role, content}` objects.
pub fn messages(value: Value, field: &str) -> Result<Vec<Message>, LineError> {
    let Value::Array(items) = value else {
        return Err(wrong_type(field, "a string or a list of messages", &value));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| message(item, &format!("{field}[{i}]")))
        .collect()
}

fn message(item: Value, field: &str) -> Result<Message, LineError> {
    let mut obj = match item {
        Value::Object(o) => o,
        other => return Err(wrong_type(field, "a {role, content} object", &other)),
    };
    let role = match take(&mut obj, "role")
        .map_err(|_| LineError::MissingField(format!("{field}.role")))?
    {
        Value::String(s) if !s.trim().is_empty() => s,
        Value::String(_) => return Err(LineError::EmptyText(format!("{field}.role"))),
        other => return Err(wrong_type(&format!("{field}.role"), "a string", &other)),
    };
    let content = match take(&mut obj, "content")
        .map_err(|_| LineError::MissingField(format!("{field}.content")))?
    {
        Value::String(s) => s,
        other => return Err(wrong_type(&format!("{field}.content"), "a string", &other)),
    };
    Ok(Message { role, content })
}

/// A prompt: a plain string (one user turn) or a list of messages.
pub fn take_prompt(record: &mut Map<String, Value>, key: &str) -> Result<Vec<Message>, LineError> {
    let prompt = match take(record, key)? {
        Value::String(s) => vec![Message::user(nonempty(s, key)?)],
        other => messages(other, key)?,
    };
    check_prompt(&prompt, key)?;
    Ok(prompt)
}

pub fn check_prompt(prompt: &[Message], field: &str) -> Result<(), LineError> {
    if prompt.iter().all(|m| m.content.trim().is_empty()) {
        return Err(LineError::EmptyText(field.to_string()));
    }
    Ok(())
}

/// One answer: a string, or (TRL conversational) a list holding one assistant message.
pub fn answer(value: Value, field: &str) -> Result<String, LineError> {
    match value {
        Value::String(s) => nonempty(s, field),
        Value::Array(_) => {
            let mut msgs = messages(value, field)?;
            if msgs.len() != 1 {
                return Err(LineError::Invalid(format!(
                    "`{field}` has {} messages; each answer must be one assistant message \
                     (put earlier turns in `prompt`)",
                    msgs.len()
                )));
            }
            let m = msgs.remove(0);
            if m.role != "assistant" {
                return Err(LineError::Invalid(format!(
                    "`{field}[0]` has role `{}`; an answer must be an assistant message",
                    m.role
                )));
            }
            nonempty(m.content, &format!("{field}[0].content"))
        }
        other => Err(wrong_type(field, "a string or a list of messages", &other)),
    }
}

pub fn take_answer(record: &mut Map<String, Value>, key: &str) -> Result<String, LineError> {
    let value = take(record, key)?;
    answer(value, key)
}

pub fn take_field(record: &mut Map<String, Value>, key: &str) -> Result<Value, LineError> {
    take(record, key)
}

/// Two full conversations that share their beginning: the shared turns are the prompt,
/// and what follows must be one assistant turn on each side.
pub fn split_conversations(
    chosen: Vec<Message>,
    rejected: Vec<Message>,
    chosen_field: &str,
    rejected_field: &str,
) -> Result<(Vec<Message>, String, String), LineError> {
    let shared = chosen
        .iter()
        .zip(rejected.iter())
        .take_while(|(c, r)| c == r)
        .count();
    if shared == chosen.len() && shared == rejected.len() {
        return Err(LineError::Invalid(format!(
            "`{chosen_field}` and `{rejected_field}` are the same conversation"
        )));
    }
    let last_answer = |mut conv: Vec<Message>,
                       field: &str|
     -> Result<(Vec<Message>, String), LineError> {
        if conv.len() != shared + 1 {
            return Err(LineError::Invalid(format!(
                "`{chosen_field}` and `{rejected_field}` differ before their last assistant turn; \
                 only the last turn may differ"
            )));
        }
        let last = conv.pop().expect("length checked above");
        if last.role != "assistant" {
            return Err(LineError::Invalid(format!(
                "the last turn of `{field}` has role `{}`; it must be the assistant's answer",
                last.role
            )));
        }
        Ok((conv, nonempty(last.content, field)?))
    };
    let (prompt, chosen_text) = last_answer(chosen, chosen_field)?;
    let (_, rejected_text) = last_answer(rejected, rejected_field)?;
    if prompt.is_empty() {
        return Err(LineError::Invalid(format!(
            "`{chosen_field}` and `{rejected_field}` share no turns, so there is no prompt"
        )));
    }
    check_prompt(&prompt, chosen_field)?;
    Ok((prompt, chosen_text, rejected_text))
}
