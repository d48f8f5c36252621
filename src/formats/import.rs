//! `rubricate import`: stream JSONL files into the store, one transaction per file.
//!
//! A file is read line by line (memory does not grow with its size). Every line is
//! parsed and inserted inside one transaction; without `skip_invalid` a single bad line
//! rolls the whole file back, so a file is imported completely or not at all.

use super::{LineError, SourceFormat, parse_line};
use crate::cli::{ImportArgs, ImportFormat};
use crate::context::Context;
use crate::domain::NewCase;
use crate::sanitize::visible_line;
use crate::store::{Store, insert_case};
use anyhow::{Context as _, Result};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::{SyncSender, sync_channel};

/// The bundled sample cases (pairwise format), compiled in so the workbench can offer them
/// on an empty database.
pub const BUNDLED_SAMPLE: &str = include_str!("../../assets/sample/cases.jsonl");

/// Bad lines listed when the file is refused; the rest are only counted.
pub const MAX_LISTED_BAD_LINES: usize = 20;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `None` detects the format from the file's first valid record.
    pub format: Option<SourceFormat>,
    /// Stored as each case's `source`.
    pub source: String,
    /// Seed of the A/B placement shuffle.
    pub seed: u64,
    /// Import the good lines and skip the bad ones instead of refusing the file.
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// 1-based line number in the file.
    pub line: u64,
    pub error: LineError,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    /// The file (or stream) name used in messages.
    pub name: String,
    /// The format used (detected or given); `None` when no record could be read.
    pub format: Option<SourceFormat>,
    pub added: u64,
    /// Records whose content is already stored (re-imports, repeated records).
    pub duplicates: u64,
    /// The first bad lines (all of them with `skip_invalid`, else up to [`MAX_LISTED_BAD_LINES`]).
    pub bad_lines: Vec<BadLine>,
    pub bad_total: u64,
    /// Whether the cases were committed. False when a bad line refused the file; then
    /// nothing from it is in the store.
    pub committed: bool,
}

impl ImportReport {
    /// One line for the user, e.g. "cases.jsonl (trl): 120 cases added, 3 duplicates skipped".
    pub fn summary(&self) -> String {
        let format = self.format.map_or(String::new(), |f| format!(" ({f})"));
        let mut s = format!(
            "{}{format}: {} cases added, {} duplicates skipped",
            self.name, self.added, self.duplicates
        );
        if self.committed && self.bad_total > 0 {
            s.push_str(&format!(", {} bad lines skipped", self.bad_total));
        }
        s
    }
}

/// One parsed line on its way from the parser thread to the database thread.
enum Parsed {
    Case {
        line: u64,
        format: SourceFormat,
        case: NewCase,
    },
    Bad(BadLine),
}

/// Lines per message between the threads, and messages in flight: together they bound
/// the memory the pipeline holds, whatever the file's size.
const BATCH: usize = 512;
const BATCHES_IN_FLIGHT: usize = 4;

/// Read, parse and place every line, sending the results on in batches. Runs on its own
/// thread so parsing overlaps with SQLite's work. Stops early when the receiver is gone.
fn parse_lines(
    mut reader: impl BufRead,
    options: &ImportOptions,
    out: &SyncSender<Vec<Parsed>>,
) -> std::io::Result<()> {
    let mut format = options.format;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut batch = Vec::with_capacity(BATCH);
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        let mut line: &[u8] = &buf;
        if line_no == 1 {
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|_| LineError::NotUtf8)
            .and_then(|text| parse_line(format, text));
        batch.push(match parsed {
            Ok((f, pair)) => {
                // The first valid record fixes the format for the rest of the file.
                format = Some(f);
                Parsed::Case {
                    line: line_no,
                    format: f,
                    case: pair.into_case(f, &options.source, options.seed),
                }
            }
            Err(error) => Parsed::Bad(BadLine {
                line: line_no,
                error,
            }),
        });
        if batch.len() == BATCH
            && out
                .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = out.send(batch);
    }
    Ok(())
}

/// Import one JSONL stream in one transaction. Bad lines are reported to `on_bad_line` as
/// they are found (so a caller can list every one without collecting them) and the first
/// ones are kept in the report.
pub fn import_reader_with(
    store: &mut Store,
    reader: impl BufRead + Send,
    name: &str,
    options: &ImportOptions,
    mut on_bad_line: impl FnMut(&BadLine),
) -> Result<ImportReport> {
    // A bigger page cache for the length of the import keeps the content-hash index (random
    // keys) in memory; it is a fixed bound, so memory still does not grow with the file.
    let cache_before: i64 = store
        .conn()
        .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    store
        .conn()
        .pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    let result = import_in_transaction(store, reader, name, options, &mut on_bad_line);
    store
        .conn()
        .pragma_update(None, "cache_size", cache_before)?;
    result
}

/// Page cache during an import, in KiB (SQLite takes a negative number as KiB).
const IMPORT_CACHE_KIB: i64 = -65536;

fn import_in_transaction(
    store: &mut Store,
    reader: impl BufRead + Send,
    name: &str,
    options: &ImportOptions,
    on_bad_line: &mut impl FnMut(&BadLine),
) -> Result<ImportReport> {
    let mut report = ImportReport {
        name: name.to_string(),
        format: options.format,
        ..Default::default()
    };
    let tx = store
        .conn_mut()
        .transaction()
        .context("cannot start a transaction")?;
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = sync_channel::<Vec<Parsed>>(BATCHES_IN_FLIGHT);
        let parser = scope.spawn(move || parse_lines(reader, options, &send));
        let mut store_batches = || -> Result<()> {
            for item in receive.iter().flatten() {
                match item {
                    Parsed::Bad(bad) => {
                        on_bad_line(&bad);
                        report.bad_total += 1;
                        if options.skip_invalid || report.bad_lines.len() < MAX_LISTED_BAD_LINES {
                            report.bad_lines.push(bad);
                        }
                    }
                    Parsed::Case { line, format, case } => {
                        report.format = Some(format);
                        // Once the file is refused, the remaining lines are only checked.
                        if report.bad_total > 0 && !options.skip_invalid {
                            continue;
                        }
                        match insert_case(&tx, &case)
                            .with_context(|| format!("{name}:{line}: cannot store the case"))?
                        {
                            Some(_) => report.added += 1,
                            None => report.duplicates += 1,
                        }
                    }
                }
            }
            Ok(())
        };
        let stored = store_batches();
        // Dropping the receiver (on error) makes the parser stop at its next send.
        drop(receive);
        let parsed = parser
            .join()
            .map_err(|_| anyhow::anyhow!("{name}: the parser thread panicked"))?;
        stored?;
        parsed.with_context(|| format!("{name}: read failed"))?;
        Ok(())
    })?;
    if report.bad_total > 0 && !options.skip_invalid {
        tx.rollback()?;
        report.added = 0;
        report.duplicates = 0;
        report.committed = false;
    } else {
        tx.commit()
            .with_context(|| format!("{name}: cannot commit the import"))?;
        report.committed = true;
    }
    Ok(report)
}

/// [`import_reader_with`] without a bad-line callback.
pub fn import_reader(
    store: &mut Store,
    reader: impl BufRead + Send,
    name: &str,
    options: &ImportOptions,
) -> Result<ImportReport> {
    import_reader_with(store, reader, name, options, |_| {})
}

/// Import the bundled sample cases (source `sample`). Importing them again adds nothing.
pub fn import_bundled_sample(store: &mut Store) -> Result<ImportReport> {
    let options = ImportOptions {
        format: Some(SourceFormat::Pairwise),
        source: "sample".into(),
        seed: 0,
        skip_invalid: false,
    };
    let report = import_reader(store, BUNDLED_SAMPLE.as_bytes(), "bundled sample", &options)?;
    if let Some(bad) = report.bad_lines.first() {
        anyhow::bail!(
            "the bundled sample has a bad line {}: {}",
            bad.line,
            bad.error
        );
    }
    Ok(report)
}

/// The source name for a file when `--source` is not given: its file name.
fn default_source(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub fn run(ctx: &Context, args: &ImportArgs) -> Result<ExitCode> {
    let existed = ctx.db_path.exists();
    let mut store = ctx.open_store_creating()?;
    if !existed {
        crate::errln!(
            "created a new database at {}",
            visible_line(&ctx.db_path.display().to_string())
        );
    }
    let mut failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                crate::errln!("error: cannot read {}: {e}", visible_line(&name));
                failed = true;
                continue;
            }
        };
        let options = ImportOptions {
            format: SourceFormat::from_cli(args.format),
            source: args.source.clone().unwrap_or_else(|| default_source(path)),
            seed: args.seed,
            skip_invalid: args.skip_invalid,
        };
        let mut shown = 0usize;
        let report = import_reader_with(
            &mut store,
            BufReader::with_capacity(256 * 1024, file),
            &name,
            &options,
            |bad| {
                if args.skip_invalid || shown < MAX_LISTED_BAD_LINES {
                    crate::errln!(
                        "{}:{}: {}",
                        visible_line(&name),
                        bad.line,
                        visible_line(&bad.error.to_string())
                    );
                }
                shown += 1;
            },
        )?;
        if report.committed {
            crate::outln!("{}", visible_line(&report.summary()));
        } else {
            failed = true;
            let more = report.bad_total.saturating_sub(MAX_LISTED_BAD_LINES as u64);
            if more > 0 {
                crate::errln!("{}: … and {more} more bad lines", visible_line(&name));
            }
            let hint = if report.format.is_none() && args.format == ImportFormat::Auto {
                " If the format was not recognised, name it with --format."
            } else {
                ""
            };
            crate::errln!(
                "error: {}: {} bad line{}; nothing from this file was imported. Fix the line{} above, \
                 or pass --skip-invalid to import the good lines.{hint}",
                visible_line(&name),
                report.bad_total,
                if report.bad_total == 1 { "" } else { "s" },
                if report.bad_total == 1 { "" } else { "s" },
            );
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
