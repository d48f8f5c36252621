//! The OpenAI-compatible backend against servers that misbehave on purpose: a tiny fake
//! server (malformed events, a stream cut short, a 503 first, no logprobs) and no server at all.
//! The real llama-server tests are in judge_server.rs.

use rubricate::judge::{Command, Event, JobId, JudgeMode, JudgeRequest};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Output};
use std::time::{Duration, Instant};

mod remote_support;
use remote_support::{case, next, remote, spawn};

/// How long a test waits for the worker's next event.
const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rubricate(dir: &Path, db: &Path, args: &[&str]) -> Output {
    Proc::new(env!("CARGO_BIN_EXE_rubricate"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("RUBRICATE_JUDGE_URL")
        .env_remove("RUBRICATE_API_KEY")
        .output()
        .expect("run rubricate")
}

fn sample_db(dir: &Path) -> PathBuf {
    let db = dir.join("test.db");
    let out = rubricate(
        dir,
        &db,
        &[
            "import",
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

#[test]
fn a_wrong_url_fails_fast_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let url = format!("http://127.0.0.1:{}/v1", free_port());
    let started = Instant::now();
    let out = rubricate(dir.path(), &db, &["judge", "--judge-url", &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&url) && err.contains("cannot reach"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let out = rubricate(dir.path(), &db, &["judge", "--judge-url", "127.0.0.1:8080"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("http://"));
    // The worker says the same as Unavailable, as the workbench shows it.
    let (_h, rx) = spawn(remote(&url, None));
    loop {
        match next(&rx, WAIT) {
            Event::Unavailable(m) => {
                assert!(m.contains(&url), "{m}");
                break;
            }
            Event::Ready(_) => panic!("ready without a server"),
            _ => {}
        }
    }
}

/// A one-connection-at-a-time HTTP server: `/v1/models` lists one model, and each chat
/// request gets the next of `answers` (status, body) as it is.
fn fake_server(answers: Vec<(u16, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let (status, text, kind) = if request_line.contains("/v1/models") {
                (
                    200,
                    r#"{"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"llamacpp"}]}"#
                        .to_string(),
                    "application/json",
                )
            } else {
                match answers.next() {
                    Some((s, t)) => (s, t, "text/event-stream"),
                    None => return,
                }
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/v1")
}

fn sse(content: &[&str]) -> String {
    let mut s = String::new();
    for c in content {
        let chunk =
            serde_json::json!({"choices":[{"index":0,"delta":{"content":c},"finish_reason":null}]});
        s.push_str(&format!("data: {chunk}\n\n"));
    }
    s.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    s
}

fn run_one(url: &str) -> Event {
    let (handle, rx) = spawn(remote(url, None));
    loop {
        match next(&rx, WAIT) {
            Event::Ready(_) => break,
            Event::Unavailable(m) => panic!("unavailable: {m}"),
            _ => {}
        }
    }
    handle.send(Command::Judge(Box::new(JudgeRequest {
        job: JobId(1),
        case: case(),
        mode: JudgeMode::Full,
        swapped: false,
    })));
    loop {
        if let e @ (Event::Done { .. } | Event::Failed { .. }) = next(&rx, WAIT) {
            return e;
        }
    }
}

#[test]
fn malformed_events_fail_the_job_with_a_clear_message() {
    let url = fake_server(vec![(
        200,
        "data: {\"choices\":[{\"delta\":{\"content\":\"<rub\"}}]}\n\ndata: {oops\n\n".into(),
    )]);
    match run_one(&url) {
        Event::Failed { error, .. } => {
            assert!(
                error.contains("malformed") && error.contains(&url),
                "{error}"
            )
        }
        e => panic!("expected a failure, got {e:?}"),
    }
    // A stream that ends without finishing is an error too, not a half judgment.
    let url = fake_server(vec![(
        200,
        "data: {\"choices\":[{\"delta\":{\"content\":\"<rubric>\\n1.\"}}]}\n\n".into(),
    )]);
    match run_one(&url) {
        Event::Failed { error, .. } => assert!(error.contains("closed the stream"), "{error}"),
        e => panic!("expected a failure, got {e:?}"),
    }
}

#[test]
fn a_503_is_retried_and_a_server_without_logprobs_gives_no_probabilities() {
    let body = sse(&[
        "<rubric>\n1. (100%) Capital: names the right city.\n",
        "</rubric>\n<analysis>\nA: Sydney is wrong here.\nB: Canberra is right.\n</analysis>\n<verdict>",
        "B</verdict>",
    ]);
    let url = fake_server(vec![
        (503, "{\"error\":{\"message\":\"loading\"}}".into()),
        (200, body),
    ]);
    match run_one(&url) {
        Event::Done { judgment, .. } => {
            assert!(judgment.parse_ok, "{:?}", judgment.parse_error);
            assert_eq!(judgment.verdict, Some(rubricate::domain::Verdict::B));
            assert_eq!(
                (judgment.p_a, judgment.p_b, judgment.p_tie),
                (None, None, None)
            );
            assert_eq!(judgment.model_file, "fake-model");
        }
        e => panic!("expected a judgment, got {e:?}"),
    }
}
