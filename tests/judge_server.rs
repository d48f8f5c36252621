//! The OpenAI-compatible backend against a real llama-server (llama.cpp's own, built by
//! scripts/build-llama-server.sh) running the default model with 4 slots; a tiny fake
//! server adds what a real one will not do on request (malformed events, a 503 first).

use rubricate::domain::{Case, Message};
use rubricate::judge::profile::Profile;
use rubricate::judge::remote::RemoteConfig;
use rubricate::judge::{Backend, Command, Event, JobId, JudgeHandle, JudgeMode, JudgeRequest};
use rubricate::store::Store;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SERVER_VERSION: &str = "0.3.36";

fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("RUBRICATE_LLAMA_SERVER") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
    cache
        .join("rubricate")
        .join(format!("llama-server-{SERVER_VERSION}"))
        .join("bin")
        .join("llama-server")
}

fn default_model() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".local/share")
        });
    data.join("rubricate/models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A llama-server child process, killed when dropped.
struct LlamaServer {
    child: Child,
    port: u16,
}

impl LlamaServer {
    fn start(api_key: Option<&str>) -> LlamaServer {
        Self::start_on(free_port(), api_key)
    }

    fn start_on(port: u16, api_key: Option<&str>) -> LlamaServer {
        let bin = server_binary();
        assert!(
            bin.exists(),
            "llama-server is missing at {}: run scripts/build-llama-server.sh (it builds llama.cpp's server into the cache), or set RUBRICATE_LLAMA_SERVER",
            bin.display()
        );
        let model = default_model();
        assert!(
            model.exists(),
            "the default model is missing: run scripts/fetch-model.sh"
        );
        let mut cmd = Proc::new(&bin);
        cmd.arg("-m")
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-np", "4", "-c", "16384", "-t", "2", "-tb", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(k) = api_key {
            cmd.args(["--api-key", k]);
        }
        let child = cmd.spawn().expect("start llama-server");
        let server = LlamaServer { child, port };
        server.wait_ready();
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ =
                    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut head = String::new();
                let _ = s.read_to_string(&mut head);
                if head.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("llama-server did not become ready on port {}", self.port);
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn case() -> Case {
    Case {
        id: 7,
        source: "t".into(),
        source_id: None,
        prompt: vec![Message::user("What is the capital of Australia?")],
        answer_a: "Sydney is the capital of Australia.".into(),
        answer_b: "Canberra is the capital of Australia.".into(),
        source_label: None,
        content_hash: String::new(),
        meta: serde_json::Value::Null,
        category: None,
        difficulty: None,
    }
}

fn remote(url: &str, key: Option<&str>) -> RemoteConfig {
    RemoteConfig {
        url: url.to_string(),
        model: None,
        api_key: key.map(str::to_string),
        profile: rubricate::judge::profile::Profile::default_profile(),
        grammar: true,
        seed: 42,
        sampler: Default::default(),
    }
}

/// A worker on the backend, with its events on a channel.
fn spawn(config: RemoteConfig) -> (JudgeHandle, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel();
    let handle = JudgeHandle::spawn_backend(
        Backend::Remote(config),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    (handle, rx)
}

fn next(rx: &mpsc::Receiver<Event>) -> Event {
    rx.recv_timeout(Duration::from_secs(120))
        .expect("an event within 2 minutes")
}

fn judge(handle: &JudgeHandle, job: u64, mode: JudgeMode, swapped: bool) {
    handle.send(Command::Judge(Box::new(JudgeRequest {
        job: JobId(job),
        case: case(),
        mode,
        swapped,
    })));
}

#[test]
fn streams_a_judgment_through_the_worker_and_cancels_mid_stream() {
    let server = LlamaServer::start(None);
    let (handle, rx) = spawn(remote(&server.url(), None));
    let info = match next(&rx) {
        Event::Loading { .. } => match next(&rx) {
            Event::Ready(i) => i,
            e => panic!("expected Ready, got {e:?}"),
        },
        e => panic!("expected Loading, got {e:?}"),
    };
    assert!(info.file_name.contains("SmolLM2") || !info.file_name.is_empty());

    // A full judgment streams into sections and ends with a parsed verdict and probabilities.
    judge(&handle, 1, JudgeMode::Full, false);
    let mut sections = Vec::new();
    let judgment = loop {
        match next(&rx) {
            Event::Token { job, section, text } => {
                assert_eq!(job, JobId(1));
                assert!(!text.is_empty());
                if sections.last() != Some(&section) {
                    sections.push(section);
                }
            }
            Event::Done { job, judgment } => {
                assert_eq!(job, JobId(1));
                break judgment;
            }
            Event::Failed { error, .. } => panic!("failed: {error}"),
            _ => {}
        }
    };
    use rubricate::judge::Section;
    assert_eq!(
        sections,
        vec![Section::Rubric, Section::Analysis, Section::Verdict]
    );
    assert!(
        judgment.parse_ok,
        "{:?} {}",
        judgment.parse_error, judgment.raw
    );
    assert!(judgment.grammar);
    assert!(
        judgment
            .rubric
            .as_deref()
            .is_some_and(|r| r.contains("1. ("))
    );
    let (a, b, t) = (
        judgment.p_a.expect("P(A) from the server's logprobs"),
        judgment.p_b.unwrap(),
        judgment.p_tie.unwrap(),
    );
    assert!(((a + b + t) - 1.0).abs() < 1e-6, "{a} {b} {t}");
    // The stored verdict is the most probable choice.
    let best = [a, b, t].iter().cloned().fold(f64::MIN, f64::max);
    let want = if best == a {
        rubricate::domain::Verdict::A
    } else if best == b {
        rubricate::domain::Verdict::B
    } else {
        rubricate::domain::Verdict::Tie
    };
    assert_eq!(judgment.verdict, Some(want));
    assert!(judgment.tokens_generated.unwrap() > 10);
    assert_eq!(judgment.model_file, info.file_name);

    // Rubric given and swapped: the rubric is the reviewer's, the probabilities come back in
    // the case's own letters (the presented A is the case's B).
    let rubric = "1. (100%) Correct capital: names Canberra.";
    judge(&handle, 2, JudgeMode::RubricGiven(rubric.into()), true);
    let given = loop {
        match next(&rx) {
            Event::Token { section, .. } => assert_ne!(section, Section::Rubric),
            Event::Done { judgment, .. } => break judgment,
            Event::Failed { error, .. } => panic!("failed: {error}"),
            _ => {}
        }
    };
    assert!(given.rubric_given && given.swapped);
    assert_eq!(given.rubric.as_deref(), Some(rubric));
    assert!(given.parse_ok, "{:?} {}", given.parse_error, given.raw);
    assert!(given.p_a.is_some());

    // Cancel at the first streamed text: the job ends as Cancelled, and the worker judges on.
    judge(&handle, 3, JudgeMode::Full, false);
    loop {
        match next(&rx) {
            Event::Token { job: JobId(3), .. } => {
                handle.send(Command::Cancel(JobId(3)));
                break;
            }
            Event::Done { .. } => panic!("finished before the cancel"),
            _ => {}
        }
    }
    let started = Instant::now();
    loop {
        match next(&rx) {
            Event::Cancelled { job } => {
                assert_eq!(job, JobId(3));
                break;
            }
            Event::Done { .. } => panic!("a cancelled job finished"),
            _ => {}
        }
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    judge(&handle, 4, JudgeMode::Full, false);
    loop {
        match next(&rx) {
            Event::Done { job: JobId(4), .. } => break,
            Event::Failed { error, .. } => panic!("failed after a cancel: {error}"),
            _ => {}
        }
    }
}

/// The long-reasoning RM-R1 profiles through the server: the profile's prompt is sent, the
/// output streams into sections, the verdict is read from the top logprobs at the profile's
/// opener (appended by rubricate when the tiny model never writes it), and the judgment
/// records the profile, its hash, the server and the sampler that was sent.
#[test]
fn rm_r1_profiles_stream_through_the_server_with_their_provenance() {
    let server = LlamaServer::start(None);
    let url = server.url();

    // rm-r1-reasoning through the worker (the workbench's path).
    let reasoning = Profile::builtin("rm-r1-reasoning").unwrap();
    let mut config = remote(&url, None);
    config.profile = reasoning.clone();
    config.sampler = reasoning.sampler.clone();
    config.sampler.max_tokens = 40;
    let (handle, rx) = spawn(config);
    loop {
        match next(&rx) {
            Event::Ready(_) => break,
            Event::Unavailable(m) => panic!("{m}"),
            _ => {}
        }
    }
    judge(&handle, 1, JudgeMode::Full, false);
    let mut streamed = String::new();
    let mut sections = Vec::new();
    let j = loop {
        match next(&rx) {
            Event::Token { section, text, .. } => {
                streamed.push_str(&text);
                if sections.last() != Some(&section) {
                    sections.push(section);
                }
            }
            Event::Done { judgment, .. } => break judgment,
            Event::Failed { error, .. } => panic!("failed: {error}"),
            _ => {}
        }
    };
    use rubricate::judge::Section;
    assert_eq!(sections.first(), Some(&Section::Reasoning), "{sections:?}");
    assert!(!streamed.is_empty());
    check_provenance(&j, &reasoning, &url);
    assert_eq!(j.sampler.max_tokens, 40);
    assert_eq!(j.sampler.temperature, reasoning.sampler.temperature);
    assert!(!j.grammar, "no grammar on free reasoning");
    // The model wrote free text; the raw output ends with the appended answer.
    assert!(
        j.raw.ends_with("]]</answer>") && j.raw.contains("</think>"),
        "{}",
        j.raw
    );
    if !j.parse_ok {
        let e = j.parse_error.as_deref().unwrap_or_default();
        assert!(e.contains("appended"), "{e}");
    }
    check_verdict_is_argmax(&j);
    assert!(j.analysis.as_deref().is_some_and(|a| !a.is_empty()));
    drop(handle);

    // rm-r1 through the CLI, with --concurrency 2, then exported with its provenance.
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let out = rubricate(
        dir.path(),
        &db,
        &[
            "judge",
            "--judge-url",
            &url,
            "--profile",
            "rm-r1",
            "--max-tokens",
            "32",
            "--limit",
            "2",
            "--concurrency",
            "2",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rm_r1 = Profile::builtin("rm-r1").unwrap();
    assert!(err.contains("profile rm-r1"), "{err}");
    let export = rubricate(dir.path(), &db, &["export", "--format", "judgments"], &[]);
    assert!(export.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for j in &lines {
        assert_eq!(j["profile"], "rm-r1", "{j}");
        assert_eq!(j["profile_hash"], rm_r1.hash.as_str());
        assert_eq!(j["backend"], "openai");
        assert_eq!(j["server_url"], url.as_str());
        assert!(
            j["server_model"]
                .as_str()
                .is_some_and(|m| m.contains("SmolLM2"))
        );
        assert_eq!(j["sampler"]["max_tokens"], 32);
        assert_eq!(j["seed"], 42);
        assert!(j["raw"].as_str().unwrap().ends_with("]]</answer>"), "{j}");
        let (a, b) = (j["p_a"].as_f64().unwrap(), j["p_b"].as_f64().unwrap());
        assert!((a + b - 1.0).abs() < 1e-6 && j["p_tie"].is_null(), "{j}");
        assert_eq!(j["verdict"], if a >= b { "A" } else { "B" });
        assert!(!j["verdict_sampled"].is_null(), "{j}");
    }
}

fn check_provenance(j: &rubricate::domain::NewJudgment, profile: &Profile, url: &str) {
    assert_eq!(j.provenance.profile.as_deref(), Some(profile.name.as_str()));
    assert_eq!(
        j.provenance.profile_hash.as_deref(),
        Some(profile.hash.as_str())
    );
    assert_eq!(j.provenance.backend.as_deref(), Some("openai"));
    assert_eq!(j.provenance.server_url.as_deref(), Some(url));
    assert!(
        j.provenance
            .server_model
            .as_deref()
            .is_some_and(|m| m.contains("SmolLM2"))
    );
    assert_eq!(j.template_version, profile.template_version());
    assert_eq!(j.seed, Some(42));
}

/// Both letters' probabilities are there (no tie in RM-R1) and the stored verdict is the
/// more probable one; the letter the server sampled is kept apart.
fn check_verdict_is_argmax(j: &rubricate::domain::NewJudgment) {
    use rubricate::domain::Verdict;
    let (a, b) = (
        j.p_a.expect("P(A) from the top logprobs"),
        j.p_b.expect("P(B)"),
    );
    assert!(j.p_tie.is_none());
    assert!((a + b - 1.0).abs() < 1e-6, "{a} {b}");
    assert_eq!(
        j.verdict,
        Some(if a >= b { Verdict::A } else { Verdict::B })
    );
    assert!(j.verdict_sampled.is_some());
}

#[test]
fn the_api_key_is_used_but_never_stored_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let secret = "sk-rubricate-test-4d1f9c";
    let server = LlamaServer::start(Some(secret));
    let url = server.url();

    let out = rubricate(
        dir.path(),
        &db,
        &["judge", "--judge-url", &url, "--limit", "2"],
        &[("RUBRICATE_API_KEY", "wrong-key")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("401") && err.contains("RUBRICATE_API_KEY"),
        "{err}"
    );
    assert!(err.contains(&url), "{err}");
    assert!(!err.contains("wrong-key"), "{err}");

    // Credentials in the URL are used for nothing shown or stored either.
    let with_userinfo = url.replace("http://", "http://me:pw-in-url@");
    let out = rubricate(
        dir.path(),
        &db,
        &[
            "judge",
            "--judge-url",
            &with_userinfo,
            "--limit",
            "2",
            "--concurrency",
            "2",
        ],
        &[("RUBRICATE_API_KEY", secret)],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(judgment_count(&db), 2);
    let export = rubricate(dir.path(), &db, &["export", "--format", "judgments"], &[]);
    assert!(export.status.success());
    let exported = String::from_utf8_lossy(&export.stdout).to_string();
    assert!(
        exported.contains(&url),
        "the server URL is recorded: {exported}"
    );

    let mut everything = std::fs::read(&db).unwrap();
    for entry in walk(dir.path()) {
        everything.extend(std::fs::read(entry).unwrap_or_default());
    }
    everything.extend(exported.as_bytes());
    everything.extend(err.as_bytes());
    let hay = String::from_utf8_lossy(&everything);
    assert!(!hay.contains(secret), "the API key was written somewhere");
    assert!(
        !hay.contains("pw-in-url"),
        "URL credentials were written somewhere"
    );
}

/// Every file under `dir` (the database, its journal, logs, state).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A database with the 34 sample cases imported.
fn sample_db(dir: &Path) -> PathBuf {
    let db = dir.join("test.db");
    let out = rubricate(
        dir,
        &db,
        &[
            "import",
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl"),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// Run the binary with config, state and data dirs inside the test folder.
fn rubricate(dir: &Path, db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Proc::new(env!("CARGO_BIN_EXE_rubricate"));
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("RUBRICATE_JUDGE_URL")
        .env_remove("RUBRICATE_PROFILE")
        .env_remove("RUBRICATE_API_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run rubricate")
}

fn judgment_count(db: &Path) -> usize {
    let store = Store::open(db).unwrap();
    store
        .conn()
        .query_row("SELECT count(*) FROM judgments", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize
}
