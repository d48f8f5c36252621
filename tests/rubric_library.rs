//! The rubric library and collections on the command line (real binary, real database):
//! add, list, show, diff, restore, collections; and `rubrics apply` + `rubrics compare`
//! with the real default model on a small collection.

mod formats_common;

use formats_common::{fixture, ok, rubricate, run, stderr, stdout};

mod server_support;
use serde_json::Value;
use server_support::LlamaServer;

#[test]
fn library_versions_collections_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    let v1 = "1. The answer is correct (weight 5)\n2. The answer is brief (weight 1)";
    let v2 = "1. The answer is correct (weight 5)\n2. The answer shows its work (weight 2)";
    ok(&db, &["rubrics", "add", "math", "--text", v1]);
    let file = dir.path().join("v2.txt");
    std::fs::write(&file, format!("{v2}\n")).unwrap();
    let o = ok(
        &db,
        &[
            "rubrics",
            "add",
            "math",
            "--file",
            file.to_str().unwrap(),
            "--note",
            "work",
        ],
    );
    assert!(stderr(&o).contains("saved math@2"), "{}", stderr(&o));

    let list: Value =
        serde_json::from_str(&stdout(&ok(&db, &["rubrics", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["name"], "math");
    assert_eq!(list[0]["latest_version"], 2);
    assert_eq!(list[0]["versions"], 2);

    assert!(stdout(&ok(&db, &["rubrics", "show", "math@1"])).contains("brief"));
    let shown = stdout(&ok(&db, &["rubrics", "show", "math"]));
    assert!(shown.contains("math@2") && shown.contains("work") && !shown.contains("brief"));
    let diff = stdout(&ok(&db, &["rubrics", "diff", "math@1", "math@2"]));
    assert!(
        diff.contains(
            "-2. The answer is brief (weight 1)\n+2. The answer shows its work (weight 2)"
        ),
        "{diff}"
    );
    let o = ok(&db, &["rubrics", "restore", "math@1"]);
    assert!(
        stderr(&o).contains("saved math@3 (the text of math@1)"),
        "{}",
        stderr(&o)
    );
    let versions: Value = serde_json::from_str(&stdout(&ok(
        &db,
        &["rubrics", "show", "math", "--versions", "--json"],
    )))
    .unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 3);
    assert_eq!(versions[2]["body"], v1);
    assert_eq!(versions[2]["note"], "restored from v1");

    // Errors say what exists and what to do.
    let o = run(&db, &["rubrics", "show", "math@9"]);
    assert!(
        !o.status.success() && stderr(&o).contains("versions 1 to 3"),
        "{}",
        stderr(&o)
    );
    let o = run(&db, &["rubrics", "add", "bad name", "--text", "x"]);
    assert!(
        !o.status.success() && stderr(&o).contains("not usable"),
        "{}",
        stderr(&o)
    );
    let o = run(&db, &["rubrics", "apply", "nope"]);
    assert!(
        !o.status.success() && stderr(&o).contains("rubrics list"),
        "{}",
        stderr(&o)
    );
    // Several cases in flight need a server: said before any model loads.
    let o = run(&db, &["rubrics", "apply", "math", "--concurrency", "2"]);
    assert!(
        !o.status.success() && stderr(&o).contains("--concurrency 2 needs a judge server"),
        "{}",
        stderr(&o)
    );
    // A server that is not there is named (without its credentials), never silently
    // replaced by the local model.
    let o = run(
        &db,
        &[
            "rubrics",
            "apply",
            "math",
            "--judge-url",
            "http://user:secret@127.0.0.1:9/v1",
        ],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("127.0.0.1:9") && !stderr(&o).contains("secret"),
        "{}",
        stderr(&o)
    );
    let judged: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM judgments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(judged, 0);

    // Collections: by source id or case number; adding twice changes nothing.
    let o = ok(&db, &["collections", "add", "gold", "pw-1", "pw-2"]);
    assert!(
        stderr(&o).contains("added 2 case(s) to gold"),
        "{}",
        stderr(&o)
    );
    let o = ok(&db, &["collections", "add", "gold", "1"]);
    assert!(stderr(&o).contains("added 0 case(s)"), "{}", stderr(&o));
    let shown: Value = serde_json::from_str(&stdout(&ok(
        &db,
        &["collections", "show", "gold", "--json"],
    )))
    .unwrap();
    assert_eq!(shown.as_array().unwrap().len(), 2);
    ok(&db, &["collections", "remove", "gold", "pw-2"]);
    let all: Value =
        serde_json::from_str(&stdout(&ok(&db, &["collections", "list", "--json"]))).unwrap();
    assert_eq!(all[0]["size"], 1);
    let o = run(&db, &["collections", "add", "gold", "no-such-case"]);
    assert!(
        !o.status.success() && stderr(&o).contains("no case"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &db,
        &[
            "rubrics",
            "compare",
            "math@1",
            "math@2",
            "--collection",
            "silver",
        ],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("gold"),
        "{}",
        stderr(&o)
    );
}

/// The real model, two versions applied to a one-case collection in both orders, then
/// compared. Slow under load (four short generations with the 135M model).
#[test]
fn apply_two_versions_then_compare() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    ok(
        &db,
        &["import", fixture("pairwise.jsonl").to_str().unwrap()],
    );
    ok(
        &db,
        &[
            "rubrics",
            "add",
            "math",
            "--text",
            "1. The product is right (weight 5)",
        ],
    );
    ok(
        &db,
        &[
            "rubrics",
            "add",
            "math",
            "--text",
            "1. The product is right (weight 5)\n2. Brief (weight 1)",
        ],
    );
    ok(&db, &["collections", "add", "gold", "pw-1"]);
    for v in ["math@1", "math@2"] {
        let o = ok(
            &db,
            &[
                "rubrics",
                "apply",
                v,
                "--collection",
                "gold",
                "--swap",
                "--threads",
                "2",
            ],
        );
        assert!(
            stderr(&o).contains(&format!("saved 2 judgment(s) with {v}")),
            "{}",
            stderr(&o)
        );
    }
    // Resumable: nothing left to do for a version already applied.
    let o = ok(
        &db,
        &[
            "rubrics",
            "apply",
            "math@1",
            "--collection",
            "gold",
            "--swap",
        ],
    );
    assert!(stderr(&o).contains("nothing to judge"), "{}", stderr(&o));

    let judgments = stdout(&ok(&db, &["export", "--format", "judgments"]));
    let rows: Vec<Value> = judgments
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r["rubric_given"] == true && r["library_rubric_id"].is_i64())
    );
    assert!(
        rows[0]["rubric"]
            .as_str()
            .unwrap()
            .contains("The product is right")
    );

    let e: Value = serde_json::from_str(&stdout(&ok(
        &db,
        &[
            "rubrics",
            "compare",
            "math@1",
            "math@2",
            "--collection",
            "gold",
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(e["cases"], 1);
    assert_eq!(e["judged_by_both"], 1);
    for arm in 0..2 {
        assert_eq!(e["arms"][arm]["judged"], 1);
        // pw-1 has a source label, so the arm is scored against it (if it parsed).
        let parsed = e["arms"][arm]["unparsed"] == 0;
        assert_eq!(e["arms"][arm]["vs_labels"]["n"], u64::from(parsed));
    }
    let text = stdout(&ok(
        &db,
        &[
            "rubrics",
            "compare",
            "math@1",
            "math@2",
            "--collection",
            "gold",
        ],
    ));
    assert!(
        text.contains("math@1") && text.contains("math@2") && text.contains("vs labels"),
        "{text}"
    );
    let list: Value =
        serde_json::from_str(&stdout(&ok(&db, &["rubrics", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["judgments"], 4);
}

/// `rubrics apply` through a real llama-server (4 slots) with two cases in flight: every
/// judgment records the library version and the server; Ctrl-C keeps what is finished and
/// the same command goes on from there; `RUBRICATE_JUDGE_URL` names the server too.
#[test]
fn apply_through_a_real_llama_server_with_concurrency_and_resume() {
    let server = LlamaServer::start(None);
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl");
    ok(&db, &["import", sample.to_str().unwrap()]);
    ok(
        &db,
        &[
            "rubrics",
            "add",
            "careful",
            "--text",
            "1. Correct (weight 3)\n2. Safe (weight 2)",
        ],
    );
    // A set of four cases (so a rerun's selection is the same set, not the next four).
    ok(&db, &["collections", "add", "four", "1", "2", "3", "4"]);
    let count = |sql: &str| -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let linked =
        "SELECT count(*) FROM judgments WHERE library_rubric_id IS NOT NULL AND rubric_given = 1";

    // Interrupted: start on the 4 cases in both orders, Ctrl-C once some are saved.
    let mut child = rubricate(&db)
        .env("XDG_CONFIG_HOME", dir.path())
        .args([
            "rubrics",
            "apply",
            "careful",
            "--collection",
            "four",
            "--swap",
            "--judge-url",
            &url,
            "--concurrency",
            "2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while count(linked) < 2 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(300),
            "no judgment saved within 5 minutes"
        );
        assert!(child.try_wait().unwrap().is_none(), "apply ended early");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    let kept = count(linked);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted after saving"), "{err}");
    assert!((2..8).contains(&kept), "{kept} saved of 8; {err}");

    // The same command goes on: only what is missing, through the server named by the env.
    let o = rubricate(&db)
        .env("XDG_CONFIG_HOME", dir.path())
        .env("RUBRICATE_JUDGE_URL", &url)
        .args([
            "rubrics",
            "apply",
            "careful",
            "--collection",
            "four",
            "--swap",
            "--concurrency",
            "2",
        ])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("{} judgment(s) with", 8 - kept)) && err.contains("2 in flight"),
        "{err}"
    );
    assert!(
        err.contains(&format!("saved {} judgment(s) with careful@1", 8 - kept)),
        "{err}"
    );
    assert_eq!(count(linked), 8);
    // Every case of the 4 in both orders, once each.
    assert_eq!(
        count("SELECT count(DISTINCT case_id || '-' || swapped) FROM judgments"),
        8
    );
    let judgments = stdout(&ok(&db, &["export", "--format", "judgments"]));
    for line in judgments.lines() {
        let j: Value = serde_json::from_str(line).unwrap();
        assert_eq!(j["backend"], "openai", "{j}");
        assert_eq!(j["server_url"].as_str(), Some(url.as_str()), "{j}");
        assert_eq!(j["rubric_given"], true, "{j}");
        assert!(j["rubric"].as_str().unwrap().contains("Correct"), "{j}");
    }
    let o = ok(
        &db,
        &[
            "rubrics",
            "apply",
            "careful",
            "--collection",
            "four",
            "--swap",
            "--judge-url",
            &url,
        ],
    );
    assert!(stderr(&o).contains("nothing to judge"), "{}", stderr(&o));
}
