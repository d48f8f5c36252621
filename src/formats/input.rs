//! The reading edge of `import`: standard input as `-`, classic Mac (CR-only) line
//! endings, and a progress display on long imports. The parser itself (records.rs) only
//! ever sees a byte stream with `\n` line ends.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bytes read and records (rows) parsed so far, shared with the progress display. Rows are
/// counted by the parser, not by line breaks: a JSON array is one line of many rows, and
/// compressed input has no meaningful line breaks at all.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub bytes: Arc<AtomicU64>,
    pub rows: Arc<AtomicU64>,
}

/// A reader that counts what passes and, for a CR-only file, turns each `\r` into `\n`.
pub struct Counted<R> {
    inner: R,
    cr_to_lf: bool,
    counters: Counters,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let got = &mut out[..n];
        if self.cr_to_lf {
            for b in got.iter_mut() {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
        }
        self.counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const BUFFER: usize = 256 * 1024;

/// Whether the first bytes of a file say it uses CR alone for line breaks: a CR and no LF
/// in the first block. (JSON text has no raw CR inside strings, so a CR is a line break
/// or blank space either way.) Compressed input is left to the decompressor.
pub fn looks_cr_only(head: &[u8]) -> bool {
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    !gzip && head.contains(&b'\r') && !head.contains(&b'\n')
}

/// Wrap a raw input for the importer. Returns the reader and whether CR-only line endings
/// were found (and are being read as line breaks).
pub fn prepare<R: Read>(
    raw: R,
    counters: &Counters,
) -> io::Result<(BufReader<Counted<BufReader<R>>>, bool)> {
    let mut peek = BufReader::with_capacity(BUFFER, raw);
    let cr_only = looks_cr_only(peek.fill_buf()?);
    let counted = Counted {
        inner: peek,
        cr_to_lf: cr_only,
        counters: counters.clone(),
    };
    Ok((BufReader::with_capacity(BUFFER, counted), cr_only))
}

/// A progress line on stderr (rows and rows/s, and the share of the file when its size is
/// known, with the total number of rows estimated from the bytes read so far),
/// shown only on a terminal and only once an import has run for a second, so short
/// imports and logs stay clean.
pub struct Progress {
    bar: ProgressBar,
    done: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// How long an import runs before its progress is shown.
pub const SHOW_AFTER: Duration = Duration::from_secs(1);

impl Progress {
    pub fn start(counters: Counters, size: Option<u64>, name: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::hidden());
        let template = if size.is_some() {
            "{prefix} [{bar:24}] {percent:>3}% · {msg}"
        } else {
            "{prefix} {spinner} {msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid progress template")
                .progress_chars("=> "),
        );
        bar.set_prefix(crate::sanitize::visible_line(name));
        let done = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (bar, done) = (bar.clone(), done.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut shown = false;
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let elapsed = started.elapsed();
                    if !shown && elapsed >= SHOW_AFTER {
                        // stderr() draws nothing when stderr is not a terminal.
                        bar.set_draw_target(ProgressDrawTarget::stderr());
                        shown = true;
                    }
                    let rows = counters.rows.load(Ordering::Relaxed);
                    let bytes = counters.bytes.load(Ordering::Relaxed);
                    bar.set_position(bytes);
                    bar.set_message(progress_message(rows, bytes, size, elapsed));
                }
            })
        };
        Progress {
            bar,
            done,
            ticker: Some(ticker),
        }
    }

    /// Print a line above the bar without tearing it.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| crate::errln!("{line}"));
    }

    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// e.g. "1200 of ≈4000 rows · 950 rows/s · 1.2 MB". The total is an estimate (rows per
/// byte so far times the file's size) and says so; without a size (stdin) there is none.
pub fn progress_message(rows: u64, bytes: u64, size: Option<u64>, elapsed: Duration) -> String {
    let rate = rows as f64 / elapsed.as_secs_f64().max(1e-3);
    let done = match size {
        Some(size) if rows > 0 && bytes > 0 => {
            let total = (rows as f64 * size as f64 / bytes as f64).round() as u64;
            format!("{rows} of ≈{} rows", total.max(rows))
        }
        _ => format!("{rows} rows"),
    };
    format!("{done} · {rate:.0} rows/s · {:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr_only_input_is_read_as_lines_and_others_are_untouched() {
        let read = |bytes: &[u8]| {
            let c = Counters::default();
            let (mut r, cr) = prepare(bytes, &c).unwrap();
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            (s, cr, c.bytes.load(Ordering::Relaxed))
        };
        assert_eq!(
            read(b"{\"a\":1}\r{\"a\":2}\r"),
            ("{\"a\":1}\n{\"a\":2}\n".into(), true, 16)
        );
        // CRLF files keep their CR (the parser strips it), LF files are as they were.
        assert_eq!(
            read(b"{\"a\":1}\r\n{}\r\n"),
            ("{\"a\":1}\r\n{}\r\n".into(), false, 13)
        );
        assert_eq!(read(b"{}\n{}"), ("{}\n{}".into(), false, 5));
        assert!(!looks_cr_only(&[0x1f, 0x8b, b'\r']));
    }

    #[test]
    fn progress_counts_rows_and_estimates_the_total_from_the_bytes_read() {
        let second = Duration::from_secs(2);
        // A quarter of the file read, 1000 rows in it: about 4000 in all.
        assert_eq!(
            progress_message(1000, 250_000, Some(1_000_000), second),
            "1000 of ≈4000 rows · 500 rows/s · 0.2 MB"
        );
        // From stdin there is no size, so no total.
        assert_eq!(
            progress_message(30, 4_000_000, None, second),
            "30 rows · 15 rows/s · 4.0 MB"
        );
        // Nothing parsed yet: no estimate from zero.
        assert_eq!(
            progress_message(0, 0, Some(10), second),
            "0 rows · 0 rows/s · 0.0 MB"
        );
    }
}
