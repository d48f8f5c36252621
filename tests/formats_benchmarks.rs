//! Benchmark imports in their published shapes: RM-Bench, RMB pairwise and best-of-N,
//! RewardBench sections; JSON arrays (pretty-printed or not) next to JSON Lines, gzip,
//! categories and difficulties, and records that are readable but not usable as cases.
//! Every file here is written by the test in the benchmark's shape, with made-up rows.

mod formats_common;

use formats_common::{ok, run, stderr, stdout};
use rubricate::domain::{Case, Verdict};
use rubricate::store::Store;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};

fn cases(db: &Path) -> Vec<Case> {
    let store = Store::open(db).unwrap();
    let mut out = Vec::new();
    store
        .for_each_case(|c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
    out
}

fn preferred(c: &Case) -> &str {
    match c.source_label {
        Some(Verdict::A) => &c.answer_a,
        Some(Verdict::B) => &c.answer_b,
        other => panic!("case {} has no winner label: {other:?}", c.id),
    }
}

fn other(c: &Case) -> &str {
    match c.source_label {
        Some(Verdict::A) => &c.answer_b,
        _ => &c.answer_a,
    }
}

/// RM-Bench items: three style variants per side, `subset` as in the per-domain files.
fn rm_bench_items() -> Vec<Value> {
    (0..2)
        .map(|i| {
            json!({
                "id": 100 + i,
                "subset": "alpacaeval",
                "prompt": format!("Question number {i}?"),
                "chosen": [
                    format!("right {i}"),
                    format!("Right answer {i}, explained at length."),
                    format!("**Right** answer {i}, explained at length.")
                ],
                "rejected": [
                    format!("wrong {i}"),
                    format!("Wrong answer {i}, explained at length."),
                    format!("**Wrong** answer {i}, explained at length.")
                ],
                "error_key": "right",
                "error": "made-up row"
            })
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn pretty(items: &[Value]) -> Vec<u8> {
    serde_json::to_vec_pretty(&items).unwrap()
}

fn lines(items: &[Value]) -> Vec<u8> {
    items
        .iter()
        .map(|v| serde_json::to_string(v).unwrap() + "\n")
        .collect::<String>()
        .into_bytes()
}

/// The style index of an answer text of the made-up RM-Bench rows.
fn style(text: &str) -> usize {
    if text.starts_with("**") {
        2
    } else if text.contains("explained") {
        1
    } else {
        0
    }
}

#[test]
fn rm_bench_items_become_nine_pairs_with_the_difficulty_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let file = write(dir.path(), "chat.json", &pretty(&rm_bench_items()));
    let out = ok(&db, &["import", file.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("chat.json (rm-bench, JSON array): 18 cases added, 0 duplicates"),
        "{}",
        stdout(&out)
    );
    let all = cases(&db);
    assert_eq!(all.len(), 18);
    for c in &all {
        assert_eq!(c.category.as_deref(), Some("chat"));
        let (cs, rs) = (style(preferred(c)), style(other(c)));
        assert!(
            preferred(c).to_lowercase().contains("right"),
            "label follows chosen"
        );
        // Upper triangle (chosen plainer) is hard, the diagonal normal, below easy.
        let want = match cs.cmp(&rs) {
            std::cmp::Ordering::Less => "hard",
            std::cmp::Ordering::Equal => "normal",
            std::cmp::Ordering::Greater => "easy",
        };
        assert_eq!(
            c.difficulty.as_deref(),
            Some(want),
            "chosen {cs} rejected {rs}"
        );
        assert_eq!(
            c.source_id.as_deref().unwrap().split(':').nth(1).unwrap(),
            format!("c{cs}r{rs}")
        );
        let styles = ["concise", "detailed", "detailed-markdown"];
        assert_eq!(c.meta["extra"]["chosen_style"], json!(styles[cs]));
        assert_eq!(c.meta["extra"]["rejected_style"], json!(styles[rs]));
        assert_eq!(c.meta["extra"]["error_key"], json!("right"));
    }
    let count = |d: &str| {
        all.iter()
            .filter(|c| c.difficulty.as_deref() == Some(d))
            .count()
    };
    assert_eq!((count("hard"), count("normal"), count("easy")), (6, 6, 6));
}

#[test]
fn arrays_lines_and_gzip_give_the_same_cases() {
    let dir = tempfile::tempdir().unwrap();
    let items = rm_bench_items();
    let compact = serde_json::to_vec(&items).unwrap();
    let shapes: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a.json", pretty(&items), "rm-bench, JSON array"),
        ("b.json", compact.clone(), "rm-bench, JSON array"),
        ("c.jsonl", lines(&items), "rm-bench"),
        (
            "d.json.gz",
            gzip(&pretty(&items)),
            "rm-bench, JSON array, gzip",
        ),
        ("e.jsonl.gz", gzip(&lines(&items)), "rm-bench, gzip"),
        // Content decides, not the name.
        ("f.jsonl", compact, "rm-bench, JSON array"),
        ("g.data", gzip(&lines(&items)), "rm-bench, gzip"),
    ];
    let mut reference: Option<Vec<(String, String, Option<String>)>> = None;
    for (name, bytes, how) in shapes {
        let db = dir.path().join(format!("{name}.db"));
        let file = write(dir.path(), name, &bytes);
        let out = ok(&db, &["import", "--source", "rm", file.to_str().unwrap()]);
        assert!(
            stdout(&out).contains(&format!("{name} ({how}): 18 cases added")),
            "{}",
            stdout(&out)
        );
        let got: Vec<_> = cases(&db)
            .into_iter()
            .map(|c| (c.content_hash, c.source_id.unwrap(), c.difficulty))
            .collect();
        match &reference {
            None => reference = Some(got),
            Some(r) => assert_eq!(&got, r, "{name}"),
        }
    }
}

#[test]
fn rmb_pairwise_and_best_of_n_import_with_their_category_paths() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let pairwise: Vec<Value> = (0..3)
        .map(|i| {
            json!({
                "pair_uid": format!("{i}"),
                "conversation_input": [
                    {"content": format!("made-up request {i}"), "language": "English", "role": "user"}
                ],
                "chosen": {"llm_name": "model-x", "answer": format!("helpful reply {i}")},
                "reject": {"llm_name": "model-y", "answer": format!("unhelpful reply {i}")},
                "category_path": "Pairwise_set/Helpfulness/Code/Documentation"
            })
        })
        .collect();
    let bon = vec![json!({
        "conversation_input": [
            {"content": "first turn", "language": "English", "role": "user"},
            {"content": "a reply", "role": "assistant"},
            {"content": "second turn", "language": "English", "role": "user"}
        ],
        "bon_best": {"llm_name": "model-a", "answer": "best"},
        "loser_list": [
            {"llm_name": "model-b", "answer": "worse 1"},
            {"llm_name": "model-c", "answer": "worse 2"}
        ],
        "bon_uid": "77",
        "category_path": "BoN_set/Harmlessness/S1"
    })];
    let p = write(dir.path(), "Documentation.json", &pretty(&pairwise));
    let b = write(dir.path(), "S1.json.gz", &gzip(&pretty(&bon)));
    let out = ok(&db, &["import", p.to_str().unwrap(), b.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("(rmb-pairwise, JSON array): 3 cases added"),
        "{text}"
    );
    assert!(
        text.contains("(rmb-bon, JSON array, gzip): 2 cases added"),
        "{text}"
    );
    let all = cases(&db);
    let pw: Vec<&Case> = all
        .iter()
        .filter(|c| c.source == "Documentation.json")
        .collect();
    assert_eq!(pw.len(), 3);
    for c in &pw {
        assert_eq!(
            c.category.as_deref(),
            Some("Helpfulness/Code/Documentation")
        );
        assert!(preferred(c).starts_with("helpful"));
        assert_eq!(c.difficulty, None);
    }
    let bn: Vec<&Case> = all.iter().filter(|c| c.source == "S1.json.gz").collect();
    assert_eq!(bn.len(), 2);
    for (i, c) in bn.iter().enumerate() {
        assert_eq!(c.category.as_deref(), Some("Harmlessness/S1"));
        assert_eq!(preferred(c), "best");
        assert_eq!(other(c), format!("worse {}", i + 1));
        assert_eq!(c.prompt.len(), 3, "earlier turns are kept");
        assert_eq!(c.source_id.as_deref(), Some(format!("77:{i}").as_str()));
    }
}

#[test]
fn rewardbench_subsets_become_their_sections() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let rows: Vec<Value> = [
        "alpacaeval-hard",
        "llmbar-adver-manual",
        "xstest-should-respond",
        "hep-go",
        "custom-subset",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| {
        json!({"prompt": format!("q{i}"), "chosen": "good", "chosen_model": "m1",
               "rejected": "bad", "rejected_model": "m2", "subset": s, "id": i})
    })
    .collect();
    let file = write(dir.path(), "rb.jsonl", &lines(&rows));
    ok(&db, &["import", file.to_str().unwrap()]);
    let got: Vec<_> = cases(&db)
        .into_iter()
        .map(|c| {
            (
                c.meta["extra"]["subset"].as_str().unwrap().to_string(),
                c.category,
            )
        })
        .collect();
    let want = [
        ("alpacaeval-hard", "Chat"),
        ("llmbar-adver-manual", "Chat Hard"),
        ("xstest-should-respond", "Safety"),
        ("hep-go", "Reasoning"),
        ("custom-subset", "custom-subset"),
    ];
    for ((subset, category), (ws, wc)) in got.iter().zip(want) {
        assert_eq!(subset, ws);
        assert_eq!(category.as_deref(), Some(wc));
    }
}

#[test]
fn bad_array_items_are_named_by_item_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut items = rm_bench_items();
    items[1]["rejected"] = json!(["only", "two"]);
    let file = write(dir.path(), "bad.json", &pretty(&items));
    let o = run(&db, &["import", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    // Item 1 starts on the line after item 0's closing brace.
    let text = String::from_utf8(pretty(&items)).unwrap();
    let line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "{")
        .nth(1)
        .unwrap()
        .0
        + 1;
    assert!(
        err.contains(&format!(
            "bad.json:{line}: item 1: `rejected` has 2 variants"
        )),
        "{err}"
    );
    assert!(err.contains("nothing from this file was imported"), "{err}");
    assert!(err.contains("9 cases from the good records"), "{err}");
    assert_eq!(cases(&db).len(), 0);

    // A syntax error inside a pretty-printed item names its own line.
    let broken = text.replacen("\"Question number 1?\"", "\"Question number 1?", 1);
    let bad_line = broken
        .lines()
        .position(|l| l.contains("Question number 1?"))
        .unwrap()
        + 1;
    let file = write(dir.path(), "syntax.json", broken.as_bytes());
    let err = stderr(&run(&db, &["import", file.to_str().unwrap()]));
    assert!(
        err.contains(&format!("syntax.json:{bad_line}: item 1: invalid JSON")),
        "{err}"
    );
}

#[test]
fn inputs_that_are_not_json_say_so_and_do_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let parquet = write(dir.path(), "train.parquet", b"PAR1\x15\x04\x15\x00");
    let csv = write(dir.path(), "data.csv", b"prompt,chosen,rejected\nq,a,b\n");
    let good = write(dir.path(), "good.json", &pretty(&rm_bench_items()));
    let o = run(
        &db,
        &[
            "import",
            parquet.to_str().unwrap(),
            csv.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(
            "train.parquet: this input is neither JSON Lines nor a JSON array: a Parquet file"
        ),
        "{err}"
    );
    assert!(err.contains("data.csv: this input is neither"), "{err}");
    assert!(stdout(&o).contains("good.json (rm-bench, JSON array): 18 cases added"));
    assert_eq!(cases(&db).len(), 18);
    // A pretty-printed object per "line" is explained, not reported as 5 broken lines only.
    let spread = write(
        dir.path(),
        "spread.jsonl",
        b"{\n  \"prompt\": \"q\",\n  \"chosen\": \"a\",\n  \"rejected\": \"b\"\n}\n",
    );
    let err = stderr(&run(&db, &["import", spread.to_str().unwrap()]));
    assert!(err.contains("spread.jsonl:1: a lone `{`"), "{err}");
}

#[test]
fn rows_invalid_as_data_are_counted_apart_and_skip_invalid_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let rows = [
        json!({"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"}),
        // Empty chosen answer.
        json!({"chosen": "\n\nHuman: hi\n\nAssistant:", "rejected": "\n\nHuman: hi\n\nAssistant: no"}),
        // The conversations differ before the last turn.
        json!({"chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
               "rejected": "\n\nHuman: a\n\nAssistant: X\n\nHuman: c\n\nAssistant: e"}),
        json!({"chosen": "\n\nHuman: 2+2?\n\nAssistant: 4", "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5"}),
    ];
    let mut text = String::from_utf8(lines(&rows)).unwrap();
    text.push_str("{not json\n");
    let file = write(dir.path(), "hh.jsonl", text.as_bytes());
    let o = run(&db, &["import", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("hh.jsonl:2: empty text in `chosen`"), "{err}");
    assert!(
        err.contains("hh.jsonl:3: `chosen` and `rejected` differ before their last"),
        "{err}"
    );
    assert!(err.contains("hh.jsonl:5: invalid JSON"), "{err}");
    assert!(
        err.contains("3 bad lines (1 not readable JSON, 2 readable but not a usable case)"),
        "{err}"
    );
    assert!(
        err.contains("--skip-invalid to import the rest (2 cases from the good records)"),
        "{err}"
    );
    assert_eq!(cases(&db).len(), 0, "all or nothing by default");
    let o = ok(&db, &["import", "--skip-invalid", file.to_str().unwrap()]);
    assert!(stdout(&o).contains("2 cases added, 0 duplicates skipped, 3 bad lines skipped"));
    assert_eq!(cases(&db).len(), 2);
}

#[test]
fn categories_narrow_the_selection_and_travel_into_exports() {
    use rubricate::cli::CaseSelect;
    use rubricate::domain::{NewReview, ReviewAction};
    use rubricate::store::CaseFilter;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let rmb: Vec<Value> = [
        "Helpfulness/Code/Documentation",
        "Helpfulness/Chat/Discussion",
        "Harmlessness/S1",
    ]
    .iter()
    .enumerate()
    .map(|(i, path)| {
        json!({
            "pair_uid": format!("u{i}"),
            "conversation_input": [{"content": format!("request {i}"), "role": "user"}],
            "chosen": {"llm_name": "x", "answer": format!("good {i}")},
            "reject": {"llm_name": "y", "answer": format!("bad {i}")},
            "category_path": format!("Pairwise_set/{path}")
        })
    })
    .collect();
    let rmb_file = write(dir.path(), "rmb.json", &pretty(&rmb));
    let rm_file = write(dir.path(), "rm.json", &pretty(&rm_bench_items()[..1]));
    ok(
        &db,
        &[
            "import",
            rmb_file.to_str().unwrap(),
            rm_file.to_str().unwrap(),
        ],
    );

    let store = Store::open(&db).unwrap();
    assert_eq!(
        store.categories(None).unwrap(),
        vec![
            ("Harmlessness/S1".to_string(), 1),
            ("Helpfulness/Chat/Discussion".to_string(), 1),
            ("Helpfulness/Code/Documentation".to_string(), 1),
            ("chat".to_string(), 9),
        ]
    );
    // The one selection the command line and the workbench queue both use.
    let select = |category: Option<&str>, source: Option<&str>| {
        rubricate::library::select_cases(
            &store,
            &CaseSelect {
                collection: None,
                category: category.map(str::to_string),
                source: source.map(str::to_string),
                filter: CaseFilter::All,
            },
            "ann",
        )
        .map(|ids| ids.len())
    };
    assert_eq!(select(None, None).unwrap(), 12);
    assert_eq!(select(Some("chat"), None).unwrap(), 9);
    // A parent selects the categories under it, and only at a `/`.
    assert_eq!(select(Some("Helpfulness"), None).unwrap(), 2);
    assert_eq!(select(Some("Helpfulness/Code"), None).unwrap(), 1);
    assert_eq!(select(Some("Helpfulness"), Some("rm")).unwrap(), 0);
    for missing in ["Helpful", "ch", "rmb"] {
        let e = select(Some(missing), None).unwrap_err().to_string();
        assert!(e.contains("no case has the category"), "{e}");
        assert!(e.contains("chat (9)"), "{e}");
    }

    // A decision and a judgment on an RM-Bench case: the exports carry its category and
    // difficulty.
    let case = cases(&db)
        .into_iter()
        .find(|c| c.difficulty.as_deref() == Some("hard"))
        .unwrap();
    store
        .append_review(&NewReview {
            case_id: case.id,
            reviewer: "ann".into(),
            action: Some(ReviewAction::Override),
            verdict: case.source_label,
            ..Default::default()
        })
        .unwrap();
    store
        .insert_judgment(&formats_common::judgment(case.id, Some(Verdict::A), false))
        .unwrap();
    drop(store);
    let export = |format: &str| -> Vec<Value> {
        let o = ok(&db, &["--reviewer", "ann", "export", "--format", format]);
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    for format in ["reviews", "judgments", "dpo", "dpo-chat"] {
        let rows = export(format);
        assert_eq!(rows.len(), 1, "{format}");
        assert_eq!(rows[0]["category"], json!("chat"), "{format}: {}", rows[0]);
        assert_eq!(rows[0]["difficulty"], json!("hard"), "{format}");
    }
    assert_eq!(export("dpo")[0]["chosen"], json!(preferred(&case)));
    let rl = export("rm-r1-rl");
    assert_eq!(rl[0]["category"], json!("chat"));

    // `review --category` with a name no case has is refused before any screen opens.
    let o = run(&db, &["review", "--category", "Helpful"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("no case has the category \"Helpful\""),
        "{err}"
    );
    assert!(err.contains("chat (9)"), "{err}");
}
