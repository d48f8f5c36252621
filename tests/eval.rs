//! `rubricate eval`: a real-model run over a few sample cases whose `--json` figures are
//! recomputed here, independently, from `export --format judgments` and the sample file's
//! own labels; stored runs and `--compare`; a clear error without labelled cases.

mod formats_common;

use formats_common::{ok, run, stderr, stdout};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn sample_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl")
}

/// The sample's records in file order: (id, category, winner, len_a, len_b).
fn sample_labels() -> Vec<(String, String, String, usize, usize)> {
    std::fs::read_to_string(sample_file())
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["category"].as_str().unwrap().to_string(),
                v["winner"].as_str().unwrap_or("").to_string(),
                v["response_a"].as_str().unwrap().chars().count(),
                v["response_b"].as_str().unwrap().chars().count(),
            )
        })
        .collect()
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

#[test]
fn real_model_eval_matches_the_exported_judgments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&db, &["import", sample_file().to_str().unwrap()]);
    let limit = 2usize;
    let o = ok(
        &db,
        &[
            "eval",
            "--limit",
            &limit.to_string(),
            "--both-orders",
            "--threads",
            "2",
            "--json",
        ],
    );
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!(
            "eval --json is not JSON ({e}):\n{}\n{}",
            stdout(&o),
            stderr(&o)
        )
    });
    for key in [
        "n",
        "accuracy",
        "accuracy_ci",
        "position_robust_accuracy",
        "swap_consistency",
        "first_position_rate",
        "by_category",
        "by_difficulty",
        "tie_rate",
        "parse_failures",
        "seconds_per_case",
        "length_bias",
        "run_id",
        "judge",
    ] {
        assert!(
            report.get(key).is_some(),
            "eval --json lacks `{key}`: {report}"
        );
    }

    // The cases eval chose: the first `limit` sample records labelled A or B.
    let chosen: Vec<_> = sample_labels()
        .into_iter()
        .filter(|r| r.2 == "A" || r.2 == "B")
        .take(limit)
        .collect();
    // Judgments as exported, keyed by (source_id, swapped).
    let export = ok(&db, &["export", "--format", "judgments"]);
    let mut by_key: HashMap<(String, bool), Value> = HashMap::new();
    for j in formats_common::jsonl(&stdout(&export)) {
        let key = (
            j["source_id"].as_str().unwrap().to_string(),
            j["swapped"].as_bool().unwrap(),
        );
        by_key.insert(key, j);
    }
    assert_eq!(by_key.len(), 2 * limit, "one judgment per case and order");

    let verdict = |j: &Value| j["verdict"].as_str().map(str::to_string);
    let probs = |j: &Value| -> Option<[f64; 3]> {
        Some([j["p_a"].as_f64()?, j["p_b"].as_f64()?, j["p_tie"].as_f64()?])
    };
    let (mut correct, mut consistent, mut swap_n, mut robust_correct) = (0, 0, 0, 0);
    let (mut first, mut first_n) = (0, 0);
    let mut per_cat: HashMap<String, (u32, u32)> = HashMap::new();
    for (id, cat, label, _, _) in &chosen {
        let o = &by_key[&(id.clone(), false)];
        let s = &by_key[&(id.clone(), true)];
        let hit = verdict(o).as_deref() == Some(label.as_str());
        correct += u32::from(hit);
        let e = per_cat.entry(cat.clone()).or_default();
        e.0 += 1;
        e.1 += u32::from(hit);
        if let (Some(x), Some(y)) = (verdict(o), verdict(s)) {
            swap_n += 1;
            consistent += u32::from(x == y);
        }
        // Shown first: A in the original order, the case's B in the swapped one.
        for (j, first_letter) in [(o, "A"), (s, "B")] {
            if let Some(v) = verdict(j).filter(|v| v == "A" || v == "B") {
                first_n += 1;
                first += u32::from(v == first_letter);
            }
        }
        // Robust: mean of each order's normalised probabilities, the larger of A and B
        // (an exact A = B, or tie most probable, is no winner).
        let robust = match (probs(o), probs(s)) {
            (Some(p), Some(q)) => {
                let n = |x: [f64; 3]| {
                    let t = x[0] + x[1] + x[2];
                    [x[0] / t, x[1] / t, x[2] / t]
                };
                let (p, q) = (n(p), n(q));
                let (a, b, t) = (
                    (p[0] + q[0]) / 2.0,
                    (p[1] + q[1]) / 2.0,
                    (p[2] + q[2]) / 2.0,
                );
                if a > b && a >= t {
                    Some("A".to_string())
                } else if b > a && b >= t {
                    Some("B".to_string())
                } else {
                    Some("tie".to_string())
                }
            }
            _ => match (verdict(o), verdict(s)) {
                (Some(x), Some(y)) if x == y => Some(x),
                _ => None,
            },
        };
        robust_correct += u32::from(robust.as_deref() == Some(label.as_str()));
    }
    let n = chosen.len() as f64;
    assert_eq!(report["n"], limit);
    assert!(close(&report["accuracy"], correct as f64 / n), "{report}");
    assert!(
        close(
            &report["position_robust_accuracy"],
            robust_correct as f64 / n
        ),
        "{report}"
    );
    if swap_n > 0 {
        assert!(close(
            &report["swap_consistency"],
            consistent as f64 / swap_n as f64
        ));
    }
    if first_n > 0 {
        assert!(close(
            &report["first_position_rate"],
            first as f64 / first_n as f64
        ));
    }
    for (cat, (cn, cc)) in &per_cat {
        let g = &report["by_category"][cat];
        assert_eq!(g["n"], *cn, "{cat}: {report}");
        assert!(close(&g["accuracy"], *cc as f64 / *cn as f64), "{cat}");
    }
    // The Wilson interval is around the accuracy.
    let ci = report["accuracy_ci"].as_array().unwrap();
    let acc = report["accuracy"].as_f64().unwrap();
    assert!(ci[0].as_f64().unwrap() <= acc && acc <= ci[1].as_f64().unwrap());

    // Running again reuses the stored judgments (no new rows) and stores a second run.
    let again = ok(&db, &["eval", "--limit", "2", "--both-orders", "--json"]);
    let second: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert!(
        stderr(&again).contains("0 judgment(s) to make"),
        "{}",
        stderr(&again)
    );
    assert_eq!(second["accuracy"], report["accuracy"]);
    assert_ne!(second["run_id"], report["run_id"]);
    let cmp = stdout(&ok(&db, &["eval", "--compare"]));
    assert!(
        cmp.contains("accuracy [95%]") && cmp.contains("position-robust"),
        "{cmp}"
    );
}

#[test]
fn eval_without_labelled_cases_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&db, &["import", sample_file().to_str().unwrap()]);
    let o = run(&db, &["eval", "--category", "no-such-category"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no case with an A or B label"), "{err}");
    assert!(err.contains("rubricate import"), "{err}");
    let o = run(&db, &["eval", "--compare"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no eval runs stored yet"));
}

/// `eval` judges with the profile asked for (here RM-R1's contract on the default model,
/// in-process) and stores the run under that profile: its judgments are not taken for the
/// rubricate profile's, and the two runs stay apart.
#[test]
fn eval_with_the_rm_r1_profile_records_that_judge() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&db, &["import", sample_file().to_str().unwrap()]);
    let eval = |args: &[&str]| {
        let o = formats_common::rubricate(&db)
            // No profile, server or model from the caller's settings.
            .env("XDG_CONFIG_HOME", dir.path())
            .env_remove("RUBRICATE_PROFILE")
            .env_remove("RUBRICATE_JUDGE_URL")
            .env_remove("RUBRICATE_MODEL")
            .args(["eval", "--limit", "2", "--threads", "2", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "eval {args:?}: {}", stderr(&o));
        let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
        (report, stderr(&o))
    };
    let profiles: Value = serde_json::from_str(&stdout(&ok(&db, &["profiles", "--json"]))).unwrap();
    let hash_of = |name: &str| {
        profiles
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["hash"]
            .clone()
    };
    // RM-R1's contract lets the model reason at length; a few tokens are enough here (the
    // verdict is then read after the appended opener).
    let (rm, err) = eval(&["--profile", "rm-r1", "--max-tokens", "48"]);
    assert_eq!(rm["judge"]["profile"], "rm-r1", "{rm}");
    assert_eq!(rm["judge"]["profile_hash"], hash_of("rm-r1"));
    assert_eq!(rm["judge"]["backend"], "llama.cpp");
    assert_eq!(rm["n"], 2);
    assert!(err.contains("2 judgment(s) to make"), "{err}");
    assert!(err.contains("profile rm-r1"), "{err}");
    // Its judgments carry the profile, and a verdict with probabilities is their argmax.
    let export = ok(&db, &["export", "--format", "judgments"]);
    let judgments = formats_common::jsonl(&stdout(&export));
    assert_eq!(judgments.len(), 2);
    for j in &judgments {
        assert_eq!(j["profile"], "rm-r1", "{j}");
        if let (Some(a), Some(b)) = (j["p_a"].as_f64(), j["p_b"].as_f64()) {
            let best = if b > a { "B" } else { "A" };
            assert_eq!(j["verdict"], best, "{j}");
        }
    }

    // The default profile is another judge: nothing reused, a separate run.
    let (def, err) = eval(&[]);
    assert!(err.contains("2 judgment(s) to make"), "{err}");
    assert_eq!(def["judge"]["profile"], "rubricate");
    assert_eq!(def["judge"]["profile_hash"], hash_of("rubricate"));
    assert_ne!(def["run_id"], rm["run_id"]);
    // Asking for rm-r1 again reuses its own judgments.
    let (again, err) = eval(&["--profile", "rm-r1", "--max-tokens", "48"]);
    assert!(err.contains("0 judgment(s) to make"), "{err}");
    assert_eq!(again["accuracy"], rm["accuracy"]);
    let cmp = stdout(&ok(&db, &["eval", "--compare"]));
    assert!(cmp.contains("rm-r1") && cmp.contains("rubricate"), "{cmp}");
}

/// `eval --rubric NAME@V`: the eval set judged with a library rubric version given, stored
/// as its own run (its judgments linked to the version, reused on a rerun), and `--compare`
/// setting it beside the run with the judge's own rubric: agreement with the reviewer and
/// the labels, swap consistency and the cases whose verdict changed, recomputed here from
/// the exported judgments.
#[test]
fn eval_with_a_library_rubric_is_its_own_run_and_compare_shows_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(&db, &["import", sample_file().to_str().unwrap()]);
    ok(
        &db,
        &[
            "rubrics",
            "add",
            "careful",
            "--text",
            "1. The answer is factually correct (weight 3)\n2. It is safe (weight 1)",
        ],
    );
    let eval = |args: &[&str]| {
        let o = formats_common::rubricate(&db)
            .env("XDG_CONFIG_HOME", dir.path())
            .env_remove("RUBRICATE_PROFILE")
            .env_remove("RUBRICATE_JUDGE_URL")
            .env_remove("RUBRICATE_MODEL")
            .args([
                "eval",
                "--limit",
                "2",
                "--both-orders",
                "--threads",
                "2",
                "--max-tokens",
                "64",
                "--json",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "eval {args:?}: {}", stderr(&o));
        let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
        (report, stderr(&o))
    };
    // A rubric that does not exist is said before any model loads.
    let o = run(&db, &["eval", "--rubric", "nope"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("rubrics list"), "{}", stderr(&o));

    let (own, _) = eval(&[]);
    assert_eq!(own["rubric"], Value::Null);
    let (given, err) = eval(&["--rubric", "careful@1"]);
    assert!(err.contains("4 judgment(s) to make"), "{err}");
    assert!(err.contains("rubric careful@1 given"), "{err}");
    assert_eq!(given["rubric"], "careful@1");
    assert_eq!(given["n"], 2);
    assert_ne!(given["run_id"], own["run_id"]);
    // Again: its own judgments are reused, not the judge's own ones.
    let (again, err) = eval(&["--rubric", "careful"]);
    assert!(err.contains("0 judgment(s) to make"), "{err}");
    assert_eq!(again["accuracy"], given["accuracy"]);

    // The judgments: 4 with the judge's own rubric, 4 given careful@1.
    let judgments = formats_common::jsonl(&stdout(&ok(&db, &["export", "--format", "judgments"])));
    assert_eq!(judgments.len(), 8);
    let (linked, plain): (Vec<&Value>, Vec<&Value>) = judgments
        .iter()
        .partition(|j| j["library_rubric_id"].is_i64());
    assert_eq!((linked.len(), plain.len()), (4, 4));
    assert!(linked.iter().all(|j| j["rubric_given"] == true
        && j["rubric"].as_str().unwrap().contains("factually correct")));
    assert!(plain.iter().all(|j| j["rubric_given"] == false));
    let verdict_of = |set: &[&Value], case: i64, swapped: bool| {
        set.iter()
            .find(|j| j["case_id"] == case && j["swapped"] == swapped)
            .map(|j| j["verdict"].as_str().map(str::to_string))
    };
    let mut cases: Vec<i64> = plain
        .iter()
        .map(|j| j["case_id"].as_i64().unwrap())
        .collect();
    cases.sort_unstable();
    cases.dedup();
    assert_eq!(cases.len(), 2);

    // The reviewer decided the first case: A.
    let store = rubricate::store::Store::open(&db).unwrap();
    store
        .append_review(&rubricate::domain::NewReview {
            case_id: cases[0],
            reviewer: "ann".into(),
            action: Some(rubricate::domain::ReviewAction::Decide),
            verdict: Some(rubricate::domain::Verdict::A),
            ..Default::default()
        })
        .unwrap();
    drop(store);

    let ids = [own["run_id"].to_string(), given["run_id"].to_string()];
    let o = formats_common::rubricate(&db)
        .args([
            "--reviewer",
            "ann",
            "eval",
            "--compare",
            &ids[0],
            &ids[1],
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let runs: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(runs[1]["rubric"], "careful@1", "{runs}");
    let e = &runs[1]["versus_first"];
    assert_eq!(e["arms"][0]["rubric"], format!("#{} own rubric", ids[0]));
    assert_eq!(e["arms"][1]["rubric"], format!("#{} careful@1", ids[1]));
    assert_eq!(e["judged_by_both"], 2, "{e}");
    // Each arm against the reviewer (one decided case), from the exported verdicts.
    for (arm, set) in [(0, &plain), (1, &linked)] {
        let v = verdict_of(set, cases[0], false).unwrap();
        let agree = u64::from(v.as_deref() == Some("A"));
        assert_eq!(e["arms"][arm]["vs_reviewers"]["n"], 1, "{e}");
        assert_eq!(e["arms"][arm]["vs_reviewers"]["agree"], agree, "{e}");
        let consistent = cases
            .iter()
            .filter_map(
                |&c| match (verdict_of(set, c, false)?, verdict_of(set, c, true)?) {
                    (Some(o), Some(s)) => Some(o == s),
                    _ => None,
                },
            )
            .collect::<Vec<bool>>();
        assert_eq!(
            e["arms"][arm]["swap_consistent"]["n"],
            consistent.len() as u64,
            "{e}"
        );
    }
    let changed: Vec<i64> = cases
        .iter()
        .copied()
        .filter(|&c| verdict_of(&plain, c, false) != verdict_of(&linked, c, false))
        .collect();
    let listed: Vec<i64> = e["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, changed, "{e}");

    let text = stdout(&ok(&db, &["eval", "--compare", &ids[0], &ids[1]]));
    assert!(
        text.contains("rubric given") && text.contains("careful@1"),
        "{text}"
    );
    assert!(
        text.contains(&format!("run #{} against run #{}", ids[1], ids[0])),
        "{text}"
    );
    assert!(text.contains("verdict changed on"), "{text}");
    // --compare judges nothing, so a rubric does not go with it.
    let o = run(&db, &["eval", "--compare", "--rubric", "careful"]);
    assert!(!o.status.success());
}
