//! Import against the SQLite limit: `rubricate import`'s code path against a bare SQLite
//! insert of the same rows, timed in the same process, alternating.
//!
//!     cargo run --release --example bench_import_sqlite -- [ROWS=100000] [ROUNDS=3] [ONLY]
//!
//! ONLY (`bare`, `schema` or `import`) times that one alone, e.g. under `perf record`; then
//! no ratio is printed.
//!
//! Rows are generated in the shape of Anthropic HH-RLHF (`{"chosen", "rejected"}`, each a
//! whole "\n\nHuman: …\n\nAssistant: …" transcript, one to three turns, the two sharing
//! everything but the last answer). No row repeats.
//!
//! The baseline ("bare") is the least SQLite work that stores what rubricate stores for
//! those rows: the very column values the import writes (source, source id, prompt JSON,
//! the two placed answers, label, 32-byte content hash, meta JSON, import time, category,
//! difficulty), computed beforehand by the import's own parsing code and held in memory,
//! bound to one prepared `INSERT` into a plain rowid table with those columns and nothing
//! else (no index, no UNIQUE, no CHECK, no trigger); one transaction; a fresh database file
//! with 8 KiB pages, WAL and `synchronous = FULL`; commit (and the WAL checkpoint it
//! triggers) included.
//!
//! "schema" is the import's writing half alone, and the baseline the first figure
//! (0.6–0.8×) was measured against: the same in-memory values through
//! `store::CaseInserter` (one prepared `INSERT … ON CONFLICT (content_hash) DO NOTHING`)
//! into a fresh database opened with `Store::open` (rubricate's schema: the UNIQUE
//! content-hash index, the category index, the CHECK constraints), with the import's page
//! cache, one transaction, commit included. It separates what the schema costs from what
//! reading and parsing cost.
//!
//! The import is `formats::import::import_reader` on the file (reading, parsing, the A/B
//! shuffle, hashing, dedupe by content hash, one transaction), into a fresh database
//! opened with `Store::open`, commit included. All start from a warm page cache for the
//! input.

use rubricate::formats::import::{ImportOptions, import_reader};
use rubricate::formats::{SourceFormat, parse_line};
use rubricate::store::{CaseInserter, EncodedCase, Store};
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

/// Encode the rows as the import does (same parser, placement, hash, JSON), outside any timing.
fn encode_rows(input: &Path) -> anyhow::Result<Vec<EncodedCase>> {
    let mut rows = Vec::new();
    for line in BufReader::new(File::open(input)?).lines() {
        let (format, pairs) = parse_line(Some(SourceFormat::HhRlhf), &line?)
            .map_err(|e| anyhow::anyhow!("generated row does not parse: {e}"))?;
        for pair in pairs {
            let (case, digest) = pair.into_case_with_digest(format, "bench", 0);
            rows.push(EncodedCase::new(case, digest)?);
        }
    }
    Ok(rows)
}

/// The baseline: the least SQLite work that stores the same values (see the module comment).
fn bare_insert(db: &Path, rows: &[EncodedCase]) -> anyhow::Result<f64> {
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "page_size", 8192)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    anyhow::ensure!(mode.eq_ignore_ascii_case("wal"));
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, source TEXT NOT NULL, source_id TEXT,
             prompt_json TEXT NOT NULL, answer_a TEXT NOT NULL, answer_b TEXT NOT NULL,
             source_label TEXT, content_hash BLOB NOT NULL, meta_json TEXT NOT NULL,
             imported_at TEXT NOT NULL, category TEXT, difficulty TEXT)",
    )?;
    let imported_at = "2026-01-01T00:00:00.000Z";
    let t = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO cases (source, source_id, prompt_json, answer_a, answer_b, source_label,
                                content_hash, meta_json, category, difficulty, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for r in rows {
            stmt.execute(r.columns(imported_at))?;
        }
    }
    tx.commit()?;
    Ok(t.elapsed().as_secs_f64())
}

/// "schema": the import's writing half alone, which is also the first baseline
/// (see the module comment).
fn schema_insert(db: &Path, rows: &[EncodedCase]) -> anyhow::Result<f64> {
    let mut store = Store::open(db)?;
    store.conn().pragma_update(None, "cache_size", -65536)?;
    let t = Instant::now();
    let tx = store.conn_mut().transaction()?;
    let mut added = 0;
    {
        let mut inserter = CaseInserter::new(&tx)?;
        for r in rows {
            added += inserter.insert(r)?.is_some() as usize;
        }
    }
    tx.commit()?;
    let s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        added == rows.len(),
        "schema insert went wrong: {added} added"
    );
    Ok(s)
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
    let only = args.next();
    if let Some(o) = &only {
        anyhow::ensure!(
            ["bare", "schema", "import"].contains(&o.as_str()),
            "ONLY is bare, schema or import, not {o:?}"
        );
    }
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("hh.jsonl");
    let mut w = BufWriter::new(File::create(&input)?);
    for i in 0..n {
        w.write_all(row(i).as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    // The rows of the baseline and the schema insert, encoded once, outside their timing.
    // Timed too: it is the work of the import's parser thread (reading, parsing, placement,
    // hashing, encoding), done here on one thread; the import overlaps it with the writer.
    let t = Instant::now();
    let rows = encode_rows(&input)?;
    let encode = t.elapsed().as_secs_f64();
    anyhow::ensure!(rows.len() == n);
    println!(
        "rows {n}, input {:.1} MiB, encoding them as the import's parser thread does: {encode:.3} s",
        std::fs::metadata(&input)?.len() as f64 / 1048576.0
    );
    let size = |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1048576.0);
    let mut ratios = Vec::new();
    let mut schema_ratios = Vec::new();
    for round in 1..=rounds {
        let db = |what: &str| dir.path().join(format!("{what}{round}.db"));
        // Rotate which goes first, so none always gets the warmer (or cooler) machine.
        let mut secs = [0.0; 3];
        for k in 0..3 {
            let which = (round + k) % 3;
            let name = ["bare", "schema", "import"][which];
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            secs[which] = match which {
                0 => bare_insert(&db("bare"), &rows)?,
                1 => schema_insert(&db("schema"), &rows)?,
                _ => rubricate_import(&db("import"), &input, n)?,
            };
        }
        let [bare, schema, ours] = secs;
        let rate = |s: f64| n as f64 / s;
        if let Some(o) = &only {
            let s = secs[["bare", "schema", "import"]
                .iter()
                .position(|x| x == o)
                .unwrap()];
            println!("round {round}: {o} {s:.3} s ({:.0} rows/s)", rate(s));
            let _ = std::fs::remove_file(db(o));
            continue;
        }
        println!(
            "round {round}: bare {bare:.3} s ({:.0} rows/s, {:.1} MiB)   schema {schema:.3} s ({:.0} rows/s)   \
             import {ours:.3} s ({:.0} rows/s, {:.1} MiB)   import/bare {:.2}x   import/schema {:.2}x   \
             schema/bare {:.2}x",
            rate(bare),
            size(&db("bare")),
            rate(schema),
            rate(ours),
            size(&db("import")),
            bare / ours,
            schema / ours,
            bare / schema,
        );
        ratios.push(bare / ours);
        schema_ratios.push(schema / ours);
        for what in ["bare", "schema", "import"] {
            let _ = std::fs::remove_file(db(what));
        }
    }
    if only.is_some() {
        return Ok(());
    }
    // Both ratios, as speeds (1.0 = as fast as the baseline; the goal of issue 11 item 6 is
    // import/bare >= 0.9): median and range over the rounds.
    let summary = |mut r: Vec<f64>| {
        r.sort_by(f64::total_cmp);
        format!(
            "median {:.2}x (range {:.2}-{:.2}x)",
            r[r.len() / 2],
            r[0],
            r[r.len() - 1]
        )
    };
    println!(
        "import/bare   {}   bare = the same column values into a plain table, no index (the goal's baseline)",
        summary(ratios)
    );
    println!(
        "import/schema {}   schema = the same values through the import's own writer into rubricate's schema",
        summary(schema_ratios)
    );
    Ok(())
}
