//! Import against the SQLite limit: `rubricate import`'s code path against a bare SQLite
//! insert of the same rows, timed in the same process, alternating.
//!
//!     cargo run --release --example bench_import_sqlite -- [ROWS=100000] [ROUNDS=3]
//!
//! Rows are generated in the shape of Anthropic HH-RLHF (`{"chosen", "rejected"}`, each a
//! whole "\n\nHuman: …\n\nAssistant: …" transcript, one to three turns, the two sharing
//! everything but the last answer). No row repeats.
//!
//! The baseline is the least SQLite work that stores those rows: the two transcripts of
//! each row, already parsed out of the JSON and held in memory, bound to one prepared
//! `INSERT INTO hh (chosen, rejected) VALUES (?1, ?2)` into a rowid table without any
//! other index; one transaction; a fresh database file with 8 KiB pages, WAL and
//! `synchronous = FULL`; commit (and the WAL checkpoint it triggers) included. The import
//! is `formats::import::import_reader` on the file (reading, parsing, the A/B shuffle,
//! hashing, dedupe by content hash, one transaction), into a fresh database opened with
//! `Store::open`, commit included. Both start from a warm page cache for the input.

use rubricate::formats::import::{ImportOptions, import_reader};
use rubricate::store::Store;
use rusqlite::Connection;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

const TOPICS: &[&str] = &[
    "sourdough starter",
    "a leaking tap",
    "Rust lifetimes",
    "compound interest",
    "jet lag",
    "a job interview",
    "tomato blight",
    "SQL indexes",
    "a marathon plan",
    "learning Italian",
];

/// One HH-RLHF-shaped row: 1–3 turns, a shared context, two different last answers.
fn row(i: usize) -> String {
    let topic = TOPICS[i % TOPICS.len()];
    let turns = 1 + i % 3;
    let mut context = String::new();
    for t in 0..turns - 1 {
        context.push_str(&format!(
            "\n\nHuman: About {topic} (row {i}, turn {t}): what should I look at first?\n\nAssistant: \
             Look at what you can measure, change one thing at a time and note what changed."
        ));
    }
    context.push_str(&format!(
        "\n\nHuman: Row {i}: I still have trouble with {topic}. What is the usual mistake, and how do I avoid it?"
    ));
    let chosen = format!(
        "{context}\n\nAssistant: The usual mistake with {topic} is changing several things at once, so you \
         cannot tell which change helped. Change one thing, wait long enough to see its effect, and keep notes; \
         if it still fails, ask someone who has done it before to look at your setup (case {i})."
    );
    let rejected = format!(
        "{context}\n\nAssistant: Honestly, {topic} is just hard. Try again and hope it works this time \
         (attempt {i})."
    );
    serde_json::json!({"chosen": chosen, "rejected": rejected}).to_string()
}

/// The least SQLite work that stores the rows (see the module comment).
fn bare_insert(db: &Path, rows: &[(String, String)]) -> anyhow::Result<f64> {
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "page_size", 8192)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    anyhow::ensure!(mode.eq_ignore_ascii_case("wal"));
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE hh (id INTEGER PRIMARY KEY, chosen TEXT NOT NULL, rejected TEXT NOT NULL)",
    )?;
    let t = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare("INSERT INTO hh (chosen, rejected) VALUES (?1, ?2)")?;
        for (c, r) in rows {
            stmt.execute((c, r))?;
        }
    }
    tx.commit()?;
    Ok(t.elapsed().as_secs_f64())
}

fn rubricate_import(db: &Path, input: &Path, n: usize) -> anyhow::Result<f64> {
    let mut store = Store::open(db)?;
    let options = ImportOptions {
        format: None,
        source: "bench".into(),
        seed: 0,
        skip_invalid: false,
    };
    let t = Instant::now();
    let report = import_reader(
        &mut store,
        BufReader::with_capacity(256 * 1024, File::open(input)?),
        "hh.jsonl",
        &options,
    )?;
    let s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.committed && report.added == n as u64,
        "import went wrong: {report:?}"
    );
    Ok(s)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("hh.jsonl");
    let mut w = BufWriter::new(File::create(&input)?);
    for i in 0..n {
        w.write_all(row(i).as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    // The baseline's rows, parsed once, outside its timing.
    let mut rows = Vec::with_capacity(n);
    for line in BufReader::new(File::open(&input)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        rows.push((
            v["chosen"].as_str().unwrap_or_default().to_string(),
            v["rejected"].as_str().unwrap_or_default().to_string(),
        ));
    }
    println!(
        "rows {n}, input {:.1} MiB",
        std::fs::metadata(&input)?.len() as f64 / 1048576.0
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let bare_db = dir.path().join(format!("bare{round}.db"));
        let ours_db = dir.path().join(format!("ours{round}.db"));
        // Alternate which goes first, so neither always gets the warmer machine.
        let (bare, ours) = if round % 2 == 1 {
            let b = bare_insert(&bare_db, &rows)?;
            (b, rubricate_import(&ours_db, &input, n)?)
        } else {
            let o = rubricate_import(&ours_db, &input, n)?;
            (bare_insert(&bare_db, &rows)?, o)
        };
        let size = |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1048576.0);
        println!(
            "round {round}: bare insert {bare:.3} s ({:.0} rows/s, {:.1} MiB)   rubricate import {ours:.3} s ({:.0} rows/s, {:.1} MiB)   import/bare speed {:.2}x",
            n as f64 / bare,
            size(&bare_db),
            n as f64 / ours,
            size(&ours_db),
            bare / ours
        );
        ratios.push(bare / ours);
        let _ = std::fs::remove_file(&bare_db);
        let _ = std::fs::remove_file(&ours_db);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median import/bare speed {:.2}x (1.0 = as fast as the bare insert)",
        ratios[ratios.len() / 2]
    );
    Ok(())
}
