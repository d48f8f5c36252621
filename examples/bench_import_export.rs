//! Import / export throughput and peak memory.
//!
//!     cargo run --release --example bench_import_export -- [CASES]     (default 100000)
//!
//! Generates a TRL standard file with CASES preference pairs, imports it through
//! `formats::import::import_reader` into a fresh SQLite file (one transaction, the same
//! code path as `rubricate import`), exports it as `dpo --from labels` through
//! `formats::export::export_to`, and prints both rates and the process's peak resident
//! memory (VmHWM). Run it with two sizes to see that memory does not grow with the file.

use rubricate::cli::{ExportFormat, ExportFrom};
use rubricate::formats::export::{ExportOptions, export_to};
use rubricate::formats::import::{ImportOptions, import_reader};
use rubricate::store::Store;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
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

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// One record of realistic size (a question and two paragraph-long answers).
fn record(i: usize) -> String {
    let topic = TOPICS[i % TOPICS.len()];
    let prompt = format!(
        "Question {i}: I keep having trouble with {topic}. What should I check first, and what is the usual mistake?"
    );
    let chosen = format!(
        "Start with the basics for {topic}: check the conditions you can measure, change one thing at a time, \
         and write down what you changed so you can tell what helped. The usual mistake is changing several \
         things at once. If case {i} still fails after that, look at the less obvious causes, and ask someone \
         who has done it before to look at your setup; a second pair of eyes finds most problems quickly."
    );
    let rejected = format!(
        "Honestly {topic} is just hard and there is not much you can do. Try again and hope it works this \
         time (attempt {i}); most people give up anyway, so do not worry about it too much."
    );
    serde_json::json!({"prompt": prompt, "chosen": chosen, "rejected": rejected}).to_string()
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("trl.jsonl");
    let db_path = dir.path().join("bench.db");
    let output = dir.path().join("dpo.jsonl");

    let mut w = BufWriter::new(File::create(&input)?);
    for i in 0..n {
        w.write_all(record(i).as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    let input_bytes = std::fs::metadata(&input)?.len();
    let rss_before = peak_rss_kib();

    let mut store = Store::open(&db_path)?;
    if let Ok(c) = std::env::var("BENCH_CACHE") {
        store
            .conn()
            .pragma_update(None, "cache_size", c.parse::<i64>()?)?;
    }
    let options = ImportOptions {
        format: None,
        source: "bench".into(),
        seed: 0,
        skip_invalid: false,
    };
    let t = Instant::now();
    let report = import_reader(
        &mut store,
        BufReader::with_capacity(256 * 1024, File::open(&input)?),
        "trl.jsonl",
        &options,
    )?;
    let import_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.committed && report.added == n as u64,
        "import went wrong: {report:?}"
    );
    let rss_import = peak_rss_kib();

    let t = Instant::now();
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(&output)?);
    let export = export_to(
        &store,
        &ExportOptions::new(ExportFormat::Dpo, ExportFrom::Labels),
        &mut out,
    )?;
    out.flush()?;
    drop(out);
    let export_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(export.written == n as u64, "export went wrong: {export:?}");
    let rss_export = peak_rss_kib();

    println!("cases            {n}");
    println!("input file       {:.1} MiB", input_bytes as f64 / 1048576.0);
    println!(
        "database         {:.1} MiB",
        std::fs::metadata(&db_path)?.len() as f64 / 1048576.0
    );
    println!(
        "import           {import_s:.3} s  = {:.0} cases/s",
        n as f64 / import_s
    );
    println!(
        "export dpo       {export_s:.3} s  = {:.0} cases/s",
        n as f64 / export_s
    );
    println!(
        "peak RSS         after generating {}, after import {}, after export {}",
        mib(rss_before),
        mib(rss_import),
        mib(rss_export)
    );
    Ok(())
}
