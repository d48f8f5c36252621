//! The OpenAI-compatible backend against a real llama-server (llama.cpp's own, built by
//! scripts/build-llama-server.sh) running the default model with 4 slots; a tiny fake
//! server adds what a real one will not do on request (malformed events, a 503 first).

use rubricate::judge::profile::Profile;
use rubricate::judge::{Command, Event, JobId, JudgeHandle, JudgeMode, JudgeRequest};
use rubricate::store::Store;

use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Output, Stdio};
use std::time::{Duration, Instant};

mod remote_support;
use remote_support::{case, next, remote, spawn};

/// How long a test waits for the worker's next event.
const WAIT: Duration = Duration::from_secs(120);

mod server_support;
use server_support::LlamaServer;

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
    let info = match next(&rx, WAIT) {
        Event::Loading { .. } => match next(&rx, WAIT) {
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
        match next(&rx, WAIT) {
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
        match next(&rx, WAIT) {
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
        match next(&rx, WAIT) {
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
        match next(&rx, WAIT) {
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
        match next(&rx, WAIT) {
            Event::Done { job: JobId(4), .. } => break,
            Event::Failed { error, .. } => panic!("failed after a cancel: {error}"),
            _ => {}
        }
    }
}

/// `rubricate eval --judge-url` judges two labelled sample cases in both orders through
/// the real server and stores the run under the server's identity (backend, server model),
/// the same identity its judgments carry.
#[test]
fn eval_through_a_real_server_stores_the_server_judge() {
    let server = LlamaServer::start(None);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl");
    let rubricate = |args: &[&str]| {
        let o = Proc::new(env!("CARGO_BIN_EXE_rubricate"))
            .env_remove("RUBRICATE_DB")
            .env_remove("RUBRICATE_PROFILE")
            .env_remove("RUBRICATE_MODEL")
            .env_remove("RUBRICATE_API_KEY")
            .env("XDG_CONFIG_HOME", dir.path())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "rubricate {args:?}: {err}");
        (String::from_utf8_lossy(&o.stdout).into_owned(), err)
    };
    rubricate(&["import", sample.to_str().unwrap()]);
    let url = server.url();
    let (out, err) = rubricate(&[
        "eval",
        "--judge-url",
        &url,
        "--limit",
        "2",
        "--both-orders",
        "--json",
    ]);
    assert!(err.contains("4 judgment(s) to make"), "{err}");
    assert!(!err.contains("announced itself"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["n"], 2, "{report}");
    assert_eq!(report["judge"]["backend"], "openai", "{report}");
    let served = report["judge"]["server_model"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!served.is_empty());
    assert!(report["accuracy"].is_number(), "{report}");
    assert!(report.get("swap_consistency").is_some(), "{report}");
    // Every judgment went through the server and names it.
    let (exported, _) = rubricate(&["export", "--format", "judgments"]);
    let lines: Vec<serde_json::Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for j in &lines {
        assert_eq!(j["backend"], "openai", "{j}");
        assert_eq!(j["server_model"].as_str(), Some(served.as_str()));
        assert_eq!(j["server_url"].as_str(), Some(url.as_str()));
    }
    // Again: the server's judgments are this judge's, so nothing is judged twice.
    let (_, err) = rubricate(&[
        "eval",
        "--judge-url",
        &url,
        "--limit",
        "2",
        "--both-orders",
        "--json",
    ]);
    assert!(err.contains("0 judgment(s) to make"), "{err}");
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
        match next(&rx, WAIT) {
            Event::Ready(_) => break,
            Event::Unavailable(m) => panic!("{m}"),
            _ => {}
        }
    }
    judge(&handle, 1, JudgeMode::Full, false);
    let mut streamed = String::new();
    let mut sections = Vec::new();
    let j = loop {
        match next(&rx, WAIT) {
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
fn judge_concurrency_4_survives_a_killed_server_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let mut server = LlamaServer::start(None);
    let url = server.url();
    const LIMIT: usize = 8;
    let child = Proc::new(env!("CARGO_BIN_EXE_rubricate"))
        .arg("--db")
        .arg(&db)
        .args(["judge", "--judge-url", &url, "--concurrency", "4"])
        .args(["--limit", &LIMIT.to_string()])
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("RUBRICATE_API_KEY")
        .env_remove("RUBRICATE_JUDGE_URL")
        .env_remove("RUBRICATE_PROFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the server once a few judgments are saved (the others are in flight).
    let deadline = Instant::now() + Duration::from_secs(600);
    while judgment_count(&db) < 2 {
        assert!(
            Instant::now() < deadline,
            "no judgments saved in 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let saved = judgment_count(&db);
    assert!((2..LIMIT).contains(&saved), "{saved} saved\n{err}");
    assert!(err.contains("stopped:") && err.contains(&url), "{err}");
    assert!(err.contains("run the same command again"), "{err}");

    // A new server: the next run judges only what is missing.
    let server = LlamaServer::start(None);
    let out = rubricate(
        dir.path(),
        &db,
        &[
            "judge",
            "--judge-url",
            &server.url(),
            "--concurrency",
            "4",
            // `--limit` counts cases still to judge: the rest of the first LIMIT cases.
            "--limit",
            &(LIMIT - saved).to_string(),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("saved {} judgment(s)", LIMIT - saved)),
        "{err}"
    );
    assert_eq!(judgment_count(&db), LIMIT);
    let store = Store::open(&db).unwrap();
    // Exactly the first LIMIT cases, each judged once: nothing judged twice, nothing skipped.
    let (distinct, max_case): (i64, i64) = store
        .conn()
        .query_row(
            "SELECT count(DISTINCT case_id), max(case_id) - min(case_id) + 1 FROM judgments",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((distinct, max_case), (LIMIT as i64, LIMIT as i64));
    let unparsed: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM judgments WHERE parse_ok = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unparsed, 0);
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
