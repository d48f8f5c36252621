//! HTTP to an OpenAI-compatible server: the model list and streamed chat completions.
//! Blocking I/O on plain threads (ureq): one reader thread per stream hands parsed chunks
//! to the caller through a channel, so a cancel never waits for the network.

use super::sse::{Chunk, SseDecoder, SseEvent, error_text, excerpt, parse_chunk};
use serde_json::Value;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

/// Environment variable holding the API key; it is never stored, logged or exported.
pub const API_KEY_ENV: &str = "RUBRICATE_API_KEY";
pub const URL_ENV: &str = "RUBRICATE_JUDGE_URL";

/// Waiting for a connection; a server that does not accept within this is unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence while waiting for the first token or between two tokens: a busy server
/// may queue a request behind others, and a long prompt takes a while to prefill.
pub const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Retries after 429 and 5xx answers (before any token has streamed), with doubling waits.
pub const RETRIES: u32 = 4;
/// Fresh-connection tries after a pooled connection turned out to be closed.
const STALE_RETRIES: u32 = 2;
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Which server answers: decides how the grammar and an assistant prefix are passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    LlamaCpp,
    Vllm,
    /// Any other OpenAI-compatible server: no grammar field is sent.
    Other,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::LlamaCpp => "llama-server",
            Flavor::Vllm => "vLLM",
            Flavor::Other => "OpenAI-compatible server",
        }
    }
}

/// A server to judge with. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Server {
    agent: ureq::Agent,
    /// Base URL as requests use it (may carry userinfo for basic auth), without a trailing slash.
    base: String,
    /// The same without credentials: what messages show and judgments record.
    pub display_url: String,
    api_key: Option<String>,
    pub model: String,
    pub flavor: Flavor,
}

impl std::fmt::Debug for Server {
    // Never prints the key or credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.display_url)
            .field("model", &self.model)
            .field("flavor", &self.flavor)
            .finish()
    }
}

/// A URL without `user:password@`, for display and storage.
pub fn strip_credentials(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    let Some(scheme_end) = trimmed.find("://") else {
        return trimmed.to_string();
    };
    let after = &trimmed[scheme_end + 3..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    match after[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &trimmed[..scheme_end + 3], &after[at + 1..]),
        None => trimmed.to_string(),
    }
}

/// Check the shape of a base URL; the message says what is expected.
pub fn check_base_url(url: &str) -> Result<(), String> {
    let shown = strip_credentials(url);
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "the judge URL {shown:?} must start with http:// or https:// (for example http://127.0.0.1:8080/v1)"
        ));
    }
    if !shown.ends_with("/v1") {
        return Err(format!(
            "the judge URL {shown:?} should be the server's OpenAI base URL, ending in /v1 (for example http://127.0.0.1:8080/v1)"
        ));
    }
    Ok(())
}

impl Server {
    /// Ask the server for its models; `model` picks one (default: the first it lists).
    /// Every error message names the URL and says what to do.
    pub fn connect(
        url: &str,
        api_key: Option<String>,
        model: Option<&str>,
    ) -> Result<Server, String> {
        check_base_url(url)?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .timeout_write(Duration::from_secs(60))
            .user_agent(concat!("rubricate/", env!("CARGO_PKG_VERSION")))
            .build();
        let base = url.trim().trim_end_matches('/').to_string();
        let display_url = strip_credentials(&base);
        let api_key = api_key.filter(|k| !k.is_empty());
        let mut server = Server {
            agent,
            base,
            display_url,
            api_key,
            model: String::new(),
            flavor: Flavor::Other,
        };
        let (ids, flavor) = server.models()?;
        server.flavor = flavor;
        server.model = match model {
            Some(m) => m.to_string(),
            None => ids.into_iter().next().ok_or_else(|| {
                format!(
                    "the judge server at {} lists no model; start it with a model loaded, or name one with --judge-model",
                    server.display_url
                )
            })?,
        };
        Ok(server)
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let r = self.agent.request(method, &format!("{}{path}", self.base));
        match &self.api_key {
            Some(k) => r.set("Authorization", &format!("Bearer {k}")),
            None => r,
        }
    }

    /// GET /models: the model ids and which server this is.
    pub fn models(&self) -> Result<(Vec<String>, Flavor), String> {
        let resp = self
            .request("GET", "/models")
            .timeout(Duration::from_secs(30))
            .call()
            .map_err(|e| self.http_error(e))?;
        let v: Value = resp
            .into_string()
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or_else(|| {
                format!(
                    "{}/models did not answer with a model list; is this an OpenAI-compatible server (the URL should end in /v1)?",
                    self.display_url
                )
            })?;
        let data = v
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ids: Vec<String> = data
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let owner = data
            .first()
            .and_then(|m| m.get("owned_by"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let flavor = match owner {
            "llamacpp" => Flavor::LlamaCpp,
            "vllm" => Flavor::Vllm,
            _ => Flavor::Other,
        };
        Ok((ids, flavor))
    }

    /// A message for a failed request: names the URL (without credentials) and the fix.
    fn http_error(&self, e: ureq::Error) -> String {
        let url = &self.display_url;
        match e {
            ureq::Error::Status(code, resp) => {
                let body = resp.into_string().unwrap_or_default();
                let detail = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").map(error_text))
                    .unwrap_or_else(|| excerpt(&body));
                status_message(url, code, &detail)
            }
            ureq::Error::Transport(t) => {
                // The transport's own Display includes the URL with any credentials: not used.
                let what = t
                    .message()
                    .map(str::to_string)
                    .or_else(|| std::error::Error::source(&t).map(|s| s.to_string()))
                    .unwrap_or_else(|| format!("{:?}", t.kind()));
                format!(
                    "cannot reach the judge server at {url} ({what}); start the server (see docs/backends.md) or fix --judge-url / {URL_ENV}"
                )
            }
        }
    }

    /// Start a streamed chat completion. The returned stream delivers chunks as they come;
    /// retries on 429/5xx happen inside, before anything has streamed.
    pub fn stream_chat(&self, body: Value) -> ChatStream {
        let (tx, rx) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let server = self.clone();
        let flag = cancel.clone();
        let spawned = std::thread::Builder::new()
            .name("rubricate-stream".into())
            .spawn(move || server.read_stream(&body, &flag, &tx));
        if let Err(e) = spawned {
            let (tx, rx2) = mpsc::channel();
            let _ = tx.send(StreamItem::Failed(format!(
                "cannot start the stream thread: {e}"
            )));
            return ChatStream { rx: rx2, cancel };
        }
        ChatStream { rx, cancel }
    }

    fn read_stream(&self, body: &Value, cancel: &AtomicBool, tx: &Sender<StreamItem>) {
        let text = body.to_string();
        let mut wait = FIRST_BACKOFF;
        let mut attempt = 0;
        let mut stale_retries = 0;
        let resp = loop {
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            match self
                .request("POST", "/chat/completions")
                .set("Content-Type", "application/json")
                .set("Accept", "text/event-stream")
                .send_string(&text)
            {
                Ok(r) => break r,
                Err(ureq::Error::Status(code, resp))
                    if (code == 429 || code >= 500) && attempt < RETRIES =>
                {
                    attempt += 1;
                    let hinted = resp
                        .header("Retry-After")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    // Read the body so the connection goes back to the pool.
                    let _ = resp.into_string();
                    let pause = hinted.unwrap_or(wait).min(Duration::from_secs(30));
                    tracing::warn!(
                        "judge server {} answered {code}; retry {attempt}/{RETRIES} in {:?}",
                        self.display_url,
                        pause
                    );
                    if sleep_unless(cancel, pause) {
                        return;
                    }
                    wait *= 2;
                }
                // A pooled keep-alive connection that the server had already closed fails
                // with an I/O error before any byte of the answer: nothing has streamed,
                // so a fresh connection is tried (an unreachable server fails as
                // ConnectionFailed and is reported at once).
                Err(ureq::Error::Transport(t))
                    if t.kind() == ureq::ErrorKind::Io && stale_retries < STALE_RETRIES =>
                {
                    stale_retries += 1;
                    tracing::warn!(
                        "judge server {}: connection closed before the answer ({}); retrying on a new connection",
                        self.display_url,
                        t.message().unwrap_or("I/O error")
                    );
                }
                Err(e) => {
                    let _ = tx.send(StreamItem::Failed(self.http_error(e)));
                    return;
                }
            }
        };
        let mut reader = resp.into_reader();
        let mut decoder = SseDecoder::default();
        let mut buf = [0u8; 8192];
        let mut done = false;
        loop {
            if cancel.load(Ordering::SeqCst) {
                // Dropping the reader closes the connection: the server stops generating.
                return;
            }
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(StreamItem::Failed(format!(
                        "the judge server at {} broke off the stream ({e}); check that it is still running",
                        self.display_url
                    )));
                    return;
                }
            };
            for ev in decoder.push(&buf[..n]) {
                if !self.forward(ev, tx, &mut done) {
                    return;
                }
            }
        }
        for ev in decoder.finish() {
            if !self.forward(ev, tx, &mut done) {
                return;
            }
        }
        let _ = tx.send(StreamItem::End { complete: done });
    }

    /// Hand one event on; false when the stream is over (error, or nobody listens).
    fn forward(&self, ev: SseEvent, tx: &Sender<StreamItem>, done: &mut bool) -> bool {
        match ev {
            SseEvent::Done => {
                *done = true;
                true
            }
            SseEvent::Data(d) => match parse_chunk(&d) {
                Ok(c) => {
                    if c.finish_reason.is_some() {
                        *done = true;
                    }
                    tx.send(StreamItem::Chunk(Box::new(c))).is_ok()
                }
                Err(e) => {
                    let _ = tx.send(StreamItem::Failed(format!(
                        "the judge server at {} sent a malformed stream: {e}",
                        self.display_url
                    )));
                    false
                }
            },
        }
    }
}

/// The message for an HTTP error status.
pub fn status_message(url: &str, code: u16, detail: &str) -> String {
    let hint = match code {
        401 | 403 => format!(
            "the server refused the API key: set {API_KEY_ENV} to the key the server expects"
        ),
        404 => "nothing answers at that path: the URL should be the OpenAI base URL ending in /v1, and the model id must be one the server lists".to_string(),
        429 => "the server is overloaded: lower --concurrency or try again later".to_string(),
        c if c >= 500 => "the server failed: see its log".to_string(),
        _ => "the server rejected the request".to_string(),
    };
    if detail.is_empty() {
        format!("the judge server at {url} answered HTTP {code}; {hint}")
    } else {
        format!("the judge server at {url} answered HTTP {code} ({detail}); {hint}")
    }
}

/// Sleep in small steps; true if cancelled meanwhile.
fn sleep_unless(cancel: &AtomicBool, total: Duration) -> bool {
    let end = Instant::now() + total;
    while Instant::now() < end {
        if cancel.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cancel.load(Ordering::SeqCst)
}

#[derive(Debug)]
pub enum StreamItem {
    Chunk(Box<Chunk>),
    /// The connection closed; `complete` if the server said the answer was finished.
    End {
        complete: bool,
    },
    Failed(String),
}

/// A stream in progress. Dropping or cancelling it closes the connection at the next chunk.
pub struct ChatStream {
    pub rx: Receiver<StreamItem>,
    cancel: Arc<AtomicBool>,
}

impl ChatStream {
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}

impl Drop for ChatStream {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_survive_in_the_shown_url() {
        assert_eq!(
            strip_credentials("https://user:secret@example.com:8443/v1/"),
            "https://example.com:8443/v1"
        );
        assert_eq!(
            strip_credentials("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1"
        );
        // An @ after the host is part of the path, not credentials.
        assert_eq!(strip_credentials("http://h/v1/a@b"), "http://h/v1/a@b");
    }

    #[test]
    fn base_url_shape_is_checked() {
        assert!(check_base_url("http://127.0.0.1:8080/v1").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/v1/").is_ok());
        let e = check_base_url("127.0.0.1:8080/v1").unwrap_err();
        assert!(e.contains("http://"), "{e}");
        let e = check_base_url("http://u:pw@127.0.0.1:8080").unwrap_err();
        assert!(e.contains("/v1") && !e.contains("pw"), "{e}");
    }

    #[test]
    fn status_messages_say_what_to_do() {
        let m = status_message("http://h/v1", 401, "Invalid API Key");
        assert!(
            m.contains("401") && m.contains(API_KEY_ENV) && m.contains("Invalid API Key"),
            "{m}"
        );
        assert!(status_message("http://h/v1", 404, "").contains("/v1"));
        assert!(status_message("http://h/v1", 503, "").contains("log"));
    }
}
