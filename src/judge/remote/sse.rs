//! Server-sent events as OpenAI-compatible servers stream them, and the chat completion
//! chunks they carry. Pure: bytes in, events and chunks out.

use serde_json::Value;

/// Splits a byte stream into SSE events (the joined `data:` lines of each event).
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of an incomplete line (a chunk may end anywhere, even inside a UTF-8 character).
    line: Vec<u8>,
    data: Vec<String>,
}

/// One event's payload; `Done` is the `[DONE]` sentinel that ends an OpenAI stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    Data(String),
    Done,
}

impl SseDecoder {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.line_done(&String::from_utf8_lossy(&line), &mut out);
            } else {
                self.line.push(b);
            }
        }
        out
    }

    /// The stream ended: an event not closed by a blank line still counts.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&String::from_utf8_lossy(&line), &mut out);
        }
        self.dispatch(&mut out);
        out
    }

    fn line_done(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
        } else if let Some(rest) = line.strip_prefix("data:") {
            self.data
                .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        }
        // Comments (`:` keep-alives), `event:`, `id:` and `retry:` carry nothing we use.
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        if data.trim() == "[DONE]" {
            out.push(SseEvent::Done);
        } else {
            out.push(SseEvent::Data(data));
        }
    }
}

/// One alternative at a generated position.
#[derive(Debug, Clone, PartialEq)]
pub struct TopLogprob {
    pub token: String,
    pub logprob: f64,
}

/// One generated token with its log probability and the most likely alternatives.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    pub top: Vec<TopLogprob>,
}

/// The server's own timing of a request (llama-server's `timings`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ServerTimings {
    pub prompt_n: u64,
    pub prompt_ms: f64,
    pub predicted_n: u64,
    pub predicted_ms: f64,
}

/// What one `chat.completion.chunk` carries that the judge uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chunk {
    /// Reasoning the server split off the answer (`reasoning_content`, DeepSeek-style models).
    pub reasoning: String,
    pub content: String,
    pub logprobs: Vec<TokenLogprob>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub timings: Option<ServerTimings>,
}

/// Read one event payload. An `error` object, or anything that is not a chunk, is an error
/// whose message says what the server sent.
pub fn parse_chunk(data: &str) -> Result<Chunk, String> {
    let v: Value = serde_json::from_str(data).map_err(|e| {
        format!(
            "the server sent an event that is not JSON ({e}): {}",
            excerpt(data)
        )
    })?;
    if let Some(err) = v.get("error") {
        return Err(format!("the server reported an error: {}", error_text(err)));
    }
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "the server sent an event that is not a completion chunk: {}",
            excerpt(data)
        ));
    };
    let choices = obj.get("choices").and_then(Value::as_array);
    if choices.is_none() && !obj.contains_key("usage") && !obj.contains_key("timings") {
        return Err(format!(
            "the server sent an event without choices: {}",
            excerpt(data)
        ));
    }
    let mut chunk = Chunk::default();
    if let Some(choice) = choices.and_then(|c| c.first()) {
        let delta = choice.get("delta");
        let text = |key: &str| {
            delta
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        chunk.content = text("content");
        chunk.reasoning = text("reasoning_content");
        if chunk.reasoning.is_empty() {
            // vLLM's newer name for the same field.
            chunk.reasoning = text("reasoning");
        }
        chunk.finish_reason = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(tokens) = choice
            .get("logprobs")
            .and_then(|l| l.get("content"))
            .and_then(Value::as_array)
        {
            chunk.logprobs = tokens.iter().filter_map(token_logprob).collect();
        }
    }
    if let Some(u) = obj.get("usage").filter(|u| u.is_object()) {
        chunk.prompt_tokens = u.get("prompt_tokens").and_then(Value::as_u64);
        chunk.completion_tokens = u.get("completion_tokens").and_then(Value::as_u64);
    }
    if let Some(t) = obj.get("timings").filter(|t| t.is_object()) {
        let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
        let ms = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        chunk.timings = Some(ServerTimings {
            prompt_n: n("prompt_n"),
            prompt_ms: ms("prompt_ms"),
            predicted_n: n("predicted_n"),
            predicted_ms: ms("predicted_ms"),
        });
    }
    Ok(chunk)
}

fn token_logprob(v: &Value) -> Option<TokenLogprob> {
    let token = v.get("token")?.as_str()?.to_string();
    let logprob = v.get("logprob")?.as_f64()?;
    let top = v
        .get("top_logprobs")
        .and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .filter_map(|a| {
                    Some(TopLogprob {
                        token: a.get("token")?.as_str()?.to_string(),
                        logprob: a.get("logprob")?.as_f64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TokenLogprob {
        token,
        logprob,
        top,
    })
}

/// The message of an OpenAI-style error object (or the whole value if it has none).
pub fn error_text(err: &Value) -> String {
    let msg = err
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| err.as_str().map(str::to_string))
        .unwrap_or_else(|| err.to_string());
    excerpt(&msg)
}

/// At most 300 characters of server text for a message (the caller sanitizes for display).
pub fn excerpt(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_and_done_ends() {
        let stream = b"data: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut d = SseDecoder::default();
            let mut got = d.push(&stream[..cut]);
            got.extend(d.push(&stream[cut..]));
            got.extend(d.finish());
            assert_eq!(
                got,
                vec![
                    SseEvent::Data("{\"a\":1}".into()),
                    SseEvent::Data("x\ny".into()),
                    SseEvent::Done
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_unterminated_last_event_still_counts() {
        let mut d = SseDecoder::default();
        assert!(d.push(b"data: {\"b\":2}").is_empty());
        assert_eq!(d.finish(), vec![SseEvent::Data("{\"b\":2}".into())]);
    }

    #[test]
    fn a_multibyte_character_split_across_reads_survives() {
        let text = "data: {\"c\":\"é\"}\n\n".as_bytes();
        let mut d = SseDecoder::default();
        let split = text.iter().position(|&b| b >= 0x80).unwrap() + 1;
        let mut got = d.push(&text[..split]);
        got.extend(d.push(&text[split..]));
        assert_eq!(got, vec![SseEvent::Data("{\"c\":\"é\"}".into())]);
    }

    #[test]
    fn chunk_fields_are_read() {
        let c = parse_chunk(
            r#"{"choices":[{"index":0,"delta":{"content":"<v"},"finish_reason":null,
               "logprobs":{"content":[{"token":"<v","logprob":-0.1,"top_logprobs":[{"token":"<v","logprob":-0.1},{"token":"x","logprob":-3.0}]}]}}]}"#,
        )
        .unwrap();
        assert_eq!(c.content, "<v");
        assert_eq!(c.logprobs.len(), 1);
        assert_eq!(c.logprobs[0].top[1].token, "x");
        let last = parse_chunk(
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5},
               "timings":{"prompt_n":12,"prompt_ms":30.5,"predicted_n":5,"predicted_ms":50.0}}"#,
        )
        .unwrap();
        assert_eq!(last.finish_reason.as_deref(), Some("stop"));
        assert_eq!(last.completion_tokens, Some(5));
        assert_eq!(last.timings.unwrap().predicted_ms, 50.0);
        let r = parse_chunk(r#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#).unwrap();
        assert_eq!(r.reasoning, "hmm");
    }

    #[test]
    fn malformed_and_error_events_are_errors() {
        let e = parse_chunk("{not json").unwrap_err();
        assert!(e.contains("not JSON") && e.contains("{not json"), "{e}");
        let e = parse_chunk(r#"{"error":{"message":"context too long","code":400}}"#).unwrap_err();
        assert!(e.contains("context too long"), "{e}");
        let e = parse_chunk(r#"{"hello":1}"#).unwrap_err();
        assert!(e.contains("without choices"), "{e}");
        assert!(parse_chunk("[1,2]").is_err());
    }
}
