//! Helpers shared by the formats, stats and migration tests.
#![allow(dead_code)]

use rubricate::domain::{Case, JudgmentOrigin, NewJudgment, SamplerSettings, Verdict};
use rubricate::store::Store;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The real binary with a clean environment: no database or reviewer from the caller.
pub fn rubricate(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rubricate"));
    cmd.env_remove("RUBRICATE_DB")
        .env_remove("RUBRICATE_REVIEWER")
        .arg("--db")
        .arg(db);
    cmd
}

pub fn run(db: &Path, args: &[&str]) -> Output {
    rubricate(db)
        .args(args)
        .output()
        .expect("the rubricate binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run and insist on success, showing stderr when it fails.
pub fn ok(db: &Path, args: &[&str]) -> Output {
    let o = run(db, args);
    assert!(
        o.status.success(),
        "rubricate {args:?} failed:\n{}",
        stderr(&o)
    );
    o
}

/// A fresh database in its own folder with the fixture `name` imported through the real
/// binary: the folder (kept alive by the caller), the database's path, the store opened on
/// it, and the cases in id order.
pub fn imported(name: &str) -> (tempfile::TempDir, PathBuf, Store, Vec<Case>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&db, &["import", fixture(name).to_str().unwrap()]);
    let store = Store::open(&db).unwrap();
    let mut cases = Vec::new();
    store
        .for_each_case(|c| {
            cases.push(c);
            Ok(())
        })
        .unwrap();
    (dir, db, store, cases)
}

pub fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    jsonl(&std::fs::read_to_string(path).unwrap())
}

/// A parsed judgment as the judge worker would store it.
pub fn judgment(case_id: i64, verdict: Option<Verdict>, swapped: bool) -> NewJudgment {
    NewJudgment {
        case_id,
        origin: JudgmentOrigin::Local,
        swapped,
        rubric_given: false,
        model_file: "SmolLM2-135M-Instruct.Q4_1.gguf".into(),
        model_sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53".into(),
        template_version: "test-1".into(),
        grammar: true,
        sampler: SamplerSettings::default(),
        seed: Some(42),
        rubric: verdict.map(|_| format!("1. correctness (weight 3) [case {case_id}]")),
        analysis: verdict
            .map(|v| format!("Answer {v} is correct [case {case_id}, swapped {swapped}]")),
        verdict,
        p_a: Some(0.6),
        p_b: Some(0.3),
        p_tie: Some(0.1),
        parse_ok: verdict.is_some(),
        parse_error: verdict.is_none().then(|| "no verdict".to_string()),
        raw: "<rubric>…</rubric><analysis>…</analysis><verdict>A</verdict>".into(),
        tokens_prompt: Some(412),
        tokens_generated: Some(96),
        ms_prefill: Some(120),
        ms_generate: Some(900),
        provenance: Default::default(),
        judge_type: None,
        solution: None,
        verdict_sampled: None,
    }
}
