//! `rubricate import`: stream JSON Lines or JSON array files (gzip or not) into the store,
//! one transaction per file.
//!
//! A file is read record by record (memory does not grow with its size, see
//! [`super::records`]). Every record is parsed and inserted inside one transaction; without
//! `skip_invalid` a single bad record rolls the whole file back, so a file is imported
//! completely or not at all.

use super::input;
use super::records::{self, Layout, Next, Position};
use super::{LineError, SourceFormat, fields, parse_json};
use crate::cli::{ImportArgs, ImportFormat};
use crate::context::Context;
use crate::sanitize::visible_line;
use crate::store::{CaseInserter, EncodedCase, Store};
use anyhow::{Context as _, Result};
use std::fs::File;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

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
    /// For a JSON array, the 0-based index of the item (which starts at or before `line`).
    pub item: Option<u64>,
    pub error: LineError,
}

impl BadLine {
    /// The reason, prefixed by the item for JSON arrays ("item 12: missing field …").
    pub fn reason(&self) -> String {
        match self.item {
            Some(item) => format!("item {item}: {}", self.error),
            None => self.error.to_string(),
        }
    }

    /// True when the text was readable JSON but not a usable case (an empty answer, two
    /// conversations that differ before their last turn, a missing field).
    pub fn is_data_problem(&self) -> bool {
        !matches!(
            self.error,
            LineError::InvalidJson(_)
                | LineError::NotUtf8
                | LineError::NotObject(_)
                | LineError::Layout(_)
                | LineError::UnknownFormat(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    /// The file (or stream) name used in messages.
    pub name: String,
    /// The format used (detected or given); `None` when no record could be read.
    pub format: Option<SourceFormat>,
    /// JSON Lines or a JSON array; `None` before the input was opened.
    pub layout: Option<Layout>,
    /// The input was gzip-compressed.
    pub gzip: bool,
    /// Cases the good records hold (also counted when the file is refused, so the
    /// message can say what `--skip-invalid` would import).
    pub valid_cases: u64,
    pub added: u64,
    /// Records whose content is already stored (re-imports, repeated records).
    pub duplicates: u64,
    /// The first bad lines (all of them with `skip_invalid`, else up to [`MAX_LISTED_BAD_LINES`]).
    pub bad_lines: Vec<BadLine>,
    pub bad_total: u64,
    /// Valid cases whose two answers are the same text (chosen == rejected): kept for
    /// review, left out of preference exports.
    pub identical: u64,
    /// Whether the cases were committed. False when a bad line refused the file; then
    /// nothing from it is in the store.
    pub committed: bool,
}

impl ImportReport {
    /// One line for the user, e.g. "cases.jsonl (trl): 120 cases added, 3 duplicates skipped".
    /// A JSON array or gzip input is named after the format: "(rm-bench, JSON array, gzip)".
    pub fn summary(&self) -> String {
        let mut how: Vec<String> = self.format.iter().map(|f| f.to_string()).collect();
        if self.layout == Some(Layout::Array) {
            how.push(Layout::Array.name().into());
        }
        if self.gzip {
            how.push("gzip".into());
        }
        let format = if how.is_empty() {
            String::new()
        } else {
            format!(" ({})", how.join(", "))
        };
        let mut s = format!(
            "{}{format}: {} cases added, {} duplicates skipped",
            self.name, self.added, self.duplicates
        );
        if self.committed && self.bad_total > 0 {
            s.push_str(&format!(", {} bad lines skipped", self.bad_total));
        }
        if self.committed && self.identical > 0 {
            s.push_str(&format!(
                "; warning: {} with identical answers (chosen == rejected), left out of preference exports",
                self.identical
            ));
        }
        s
    }

    /// Why nothing was imported, how the bad lines split into unreadable JSON and records
    /// that are not usable cases, and what to do (only meaningful when not committed).
    /// The split counts the listed lines, which are all of them up to
    /// [`MAX_LISTED_BAD_LINES`]; past that it is left out rather than guessed.
    pub fn refusal(&self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!(
            "{}: {}",
            self.name,
            plural(self.bad_total, "bad line", "bad lines")
        );
        if self.bad_lines.len() as u64 == self.bad_total {
            let data = self
                .bad_lines
                .iter()
                .filter(|b| b.is_data_problem())
                .count() as u64;
            if data > 0 && data < self.bad_total {
                s.push_str(&format!(
                    " ({} not readable JSON, {data} readable but not a usable case)",
                    self.bad_total - data
                ));
            } else if data > 0 {
                s.push_str(" (readable JSON, but not usable as cases)");
            }
        }
        s.push_str(&format!(
            "; nothing from this file was imported. Fix the line{} above, or pass --skip-invalid \
             to import the rest",
            if self.bad_total == 1 { "" } else { "s" }
        ));
        if self.valid_cases > 0 {
            s.push_str(&format!(
                " ({} from the good records)",
                plural(self.valid_cases, "case", "cases")
            ));
        }
        s.push('.');
        s
    }
}

/// One parsed line on its way from the parser thread to the database thread.
enum Parsed {
    Case {
        line: u64,
        format: SourceFormat,
        /// Parsed, placed, hashed and serialised on the parser thread: the writing thread
        /// only binds and steps. Held inline (the batch vectors are reused), so a case
        /// costs no extra allocation.
        case: EncodedCase,
        /// Chosen and rejected are the same text, found where the strings are still in
        /// this thread's cache.
        identical: bool,
    },
    Bad(BadLine),
}

/// Lines per message between the threads, and messages in flight: together they bound
/// the memory the pipeline holds, whatever the file's size.
const BATCH: usize = 512;
const BATCHES_IN_FLIGHT: usize = 4;

/// Read, parse and place every record, sending the results on in batches. Runs on its own
/// thread so parsing overlaps with SQLite's work. Stops early when the receiver is gone.
/// The writing thread hands stored batches `back`: they are emptied here, so the cases'
/// strings are freed on the thread that allocated them (cheaper for the allocator, and off
/// the writing thread, which is the slower of the two), and their vectors reused.
fn parse_records(
    mut input: records::Records<impl BufRead>,
    options: &ImportOptions,
    rows: &AtomicU64,
    out: &SyncSender<Vec<Parsed>>,
    back: &Receiver<Vec<Parsed>>,
) -> std::io::Result<()> {
    let mut format = options.format;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut batch = Vec::with_capacity(BATCH);
    let layout = input.layout();
    loop {
        let pos = match input.next(&mut buf)? {
            Next::End => break,
            Next::Bad(pos, error) => {
                rows.fetch_add(1, Ordering::Relaxed);
                batch.push(Parsed::Bad(bad_at(pos, 0, error)));
                continue;
            }
            Next::Record(pos) => pos,
        };
        rows.fetch_add(1, Ordering::Relaxed);
        match parse_record_text(format, &buf, pos, layout) {
            Ok((f, pairs)) => {
                // The first valid record fixes the format for the rest of the file.
                format = Some(f);
                for pair in pairs {
                    let (case, digest) =
                        pair.into_case_with_digest(f, &options.source, options.seed);
                    let case = EncodedCase::new(case, digest)
                        .map_err(|e| std::io::Error::other(format!("cannot encode a case: {e}")))?;
                    batch.push(Parsed::Case {
                        line: pos.line,
                        format: f,
                        identical: case.answers_identical(),
                        case,
                    });
                }
            }
            Err(bad) => batch.push(Parsed::Bad(bad)),
        }
        if batch.len() >= BATCH {
            let next = match back.try_recv() {
                Ok(mut stored) => {
                    stored.clear();
                    stored
                }
                Err(_) => Vec::with_capacity(BATCH),
            };
            if out.send(std::mem::replace(&mut batch, next)).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = out.send(batch);
    }
    Ok(())
}

/// serde_json's message without its position (the caller says where).
fn serde_json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    }
}

fn bad_at(pos: Position, line_offset: u64, error: LineError) -> BadLine {
    BadLine {
        line: pos.line + line_offset,
        item: pos.item,
        error,
    }
}

/// Parse one record's text. A JSON syntax error inside a pretty-printed array item is
/// reported on the line of the item where it is, not the line where the item starts.
fn parse_record_text(
    format: Option<SourceFormat>,
    text: &[u8],
    pos: Position,
    layout: Layout,
) -> Result<(SourceFormat, Vec<super::ParsedPair>), BadLine> {
    let text = std::str::from_utf8(text).map_err(|_| bad_at(pos, 0, LineError::NotUtf8))?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        // serde_json puts an error found at a line break at column 0 of the next line.
        let (offset, at_break) = match (e.line(), e.column()) {
            (line, 0) if line > 1 => ((line - 2) as u64, true),
            (line, _) => (line.saturating_sub(1) as u64, false),
        };
        let error = if layout == Layout::Lines && text.trim() == "{" {
            LineError::Invalid(
                "a lone `{`: this looks like a JSON object spread over several lines, but JSON \
                 Lines needs each object on one line. Write one object per line (e.g. `jq -c . \
                 FILE`), or put the objects in a JSON array `[{…}, {…}]`, which may be \
                 pretty-printed"
                    .into(),
            )
        } else if at_break && e.is_syntax() {
            LineError::InvalidJson(format!(
                "{} (at the end of the line: is a string not closed, or a comma missing?)",
                serde_json_message(&e)
            ))
        } else {
            fields::json_error(&e)
        };
        bad_at(pos, offset, error)
    })?;
    parse_json(format, value).map_err(|error| bad_at(pos, 0, error))
}

/// Import one stream (JSON Lines or a JSON array, gzip or not) in one transaction. Bad lines are reported to `on_bad_line` as
/// they are found (so a caller can list every one without collecting them) and the first
/// ones are kept in the report.
/// `rows` counts the records (JSON lines or array items, good or bad) read so far, for a
/// progress display.
pub fn import_reader_with(
    store: &mut Store,
    reader: impl BufRead + Send,
    name: &str,
    options: &ImportOptions,
    rows: &AtomicU64,
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
    let result = import_in_transaction(store, reader, name, options, rows, &mut on_bad_line);
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
    rows: &AtomicU64,
    on_bad_line: &mut impl FnMut(&BadLine),
) -> Result<ImportReport> {
    let mut report = ImportReport {
        name: name.to_string(),
        format: options.format,
        ..Default::default()
    };
    let input = match records::open(reader).with_context(|| format!("{name}: read failed"))? {
        Ok(input) => input,
        Err(why) => anyhow::bail!("{name}: {why}"),
    };
    report.layout = Some(input.layout());
    report.gzip = input.gzip();
    let tx = store
        .conn_mut()
        .transaction()
        .context("cannot start a transaction")?;
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = sync_channel::<Vec<Parsed>>(BATCHES_IN_FLIGHT);
        // Room for every batch in flight, so handing one back never waits.
        let (give_back, back) = sync_channel::<Vec<Parsed>>(BATCHES_IN_FLIGHT + 2);
        let parser = scope.spawn(move || parse_records(input, options, rows, &send, &back));
        let mut store_batches = || -> Result<()> {
            let mut inserter = CaseInserter::new(&tx)?;
            for batch in receive.iter() {
                for item in &batch {
                    match item {
                        Parsed::Bad(bad) => {
                            on_bad_line(bad);
                            report.bad_total += 1;
                            if options.skip_invalid || report.bad_lines.len() < MAX_LISTED_BAD_LINES
                            {
                                report.bad_lines.push(bad.clone());
                            }
                        }
                        &Parsed::Case {
                            line,
                            format,
                            ref case,
                            identical,
                        } => {
                            report.format = Some(format);
                            report.valid_cases += 1;
                            if identical {
                                report.identical += 1;
                            }
                            // Once the file is refused, the remaining lines are only checked.
                            if report.bad_total > 0 && !options.skip_invalid {
                                continue;
                            }
                            match inserter
                                .insert(case)
                                .with_context(|| format!("{name}:{line}: cannot store the case"))?
                            {
                                Some(_) => report.added += 1,
                                None => report.duplicates += 1,
                            }
                        }
                    }
                }
                // Freed on the parser thread (see `parse_records`); if it is done, here.
                let _ = give_back.try_send(batch);
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
    import_reader_with(store, reader, name, options, &AtomicU64::new(0), |_| {})
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
            bad.reason()
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
    if args.files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        anyhow::bail!("`-` (standard input) can be named only once");
    }
    let existed = ctx.db_path.exists();
    let mut store = ctx.open_store_creating()?;
    if !existed {
        crate::errln!(
            "created a new database at {}",
            visible_line(&ctx.db_path.display().to_string())
        );
    }
    let mut failed = false;
    let mut json_files = Vec::new();
    for path in &args.files {
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            "stdin".to_string()
        } else {
            path.display().to_string()
        };
        let (raw, size): (Box<dyn std::io::Read + Send>, Option<u64>) = if stdin {
            (Box::new(std::io::stdin()), None)
        } else {
            match File::open(path) {
                Ok(f) => {
                    let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                    (Box::new(f), size)
                }
                Err(e) => {
                    crate::errln!("error: cannot read {}: {e}", visible_line(&name));
                    failed = true;
                    json_files.push(serde_json::json!({"name": name, "committed": false, "error": e.to_string()}));
                    continue;
                }
            }
        };
        let counters = input::Counters::default();
        let (reader, cr_only) = match input::prepare(raw, &counters) {
            Ok(r) => r,
            Err(e) => {
                crate::errln!("error: cannot read {}: {e}", visible_line(&name));
                failed = true;
                json_files.push(
                    serde_json::json!({"name": name, "committed": false, "error": e.to_string()}),
                );
                continue;
            }
        };
        if cr_only {
            crate::errln!(
                "note: {}: lines end with CR alone (classic Mac line endings); each CR is read as a line break",
                visible_line(&name)
            );
        }
        let options = ImportOptions {
            format: SourceFormat::from_cli(args.format),
            source: args.source.clone().unwrap_or_else(|| {
                if stdin {
                    "stdin".to_string()
                } else {
                    default_source(path)
                }
            }),
            seed: args.seed,
            skip_invalid: args.skip_invalid,
        };
        let rows = counters.rows.clone();
        let progress = input::Progress::start(counters, size, &name);
        let mut shown = 0usize;
        let result = import_reader_with(&mut store, reader, &name, &options, &rows, |bad| {
            if args.skip_invalid || shown < MAX_LISTED_BAD_LINES {
                progress.println(&format!(
                    "{}:{}: {}",
                    visible_line(&name),
                    bad.line,
                    visible_line(&bad.reason())
                ));
            }
            shown += 1;
        });
        progress.finish();
        // A file that cannot be read at all (not JSON, a read error) fails alone: the
        // files before it stay imported and the ones after it are still tried.
        let report = match result {
            Ok(report) => report,
            // A database fault (locked, full disk, read-only) would fail every file: stop,
            // and let main explain it.
            Err(e) if crate::store::errors::explain(&e, &ctx.db_path).is_some() => return Err(e),
            Err(e) => {
                crate::errln!("error: {}", visible_line(&format!("{e:#}")));
                failed = true;
                json_files.push(serde_json::json!({"name": name, "committed": false, "error": format!("{e:#}")}));
                continue;
            }
        };
        json_files.push(report_json(&report, cr_only));
        if report.committed {
            if !args.json {
                crate::outln!("{}", visible_line(&report.summary()));
            }
        } else {
            failed = true;
            let more = report.bad_total.saturating_sub(MAX_LISTED_BAD_LINES as u64);
            if more > 0 {
                crate::errln!("{}: … and {more} more bad lines", visible_line(&name));
            }
            // Only when detection is what failed: a detected format with bad records needs
            // the records fixed, not a --format.
            let undetected = report
                .bad_lines
                .iter()
                .any(|b| matches!(b.error, LineError::UnknownFormat(_)));
            let hint = if undetected && args.format == ImportFormat::Auto {
                " If the format was not recognised, name it with --format."
            } else {
                ""
            };
            crate::errln!("error: {}{hint}", visible_line(&report.refusal()));
        }
    }
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": !failed,
                "files": json_files,
            }))?
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One file's outcome for `import --json` (keys documented in docs/cli-json.md).
fn report_json(r: &ImportReport, cr_only: bool) -> serde_json::Value {
    serde_json::json!({
        "name": r.name,
        "format": r.format.map(|f| f.name()),
        "committed": r.committed,
        "added": r.added,
        "duplicates": r.duplicates,
        "identical_answers": r.identical,
        "bad_lines": r.bad_total,
        "valid_cases": r.valid_cases,
        "gzip": r.gzip,
        "json_array": r.layout == Some(Layout::Array),
        "cr_line_endings": cr_only,
    })
}
