//! The reading edge of `import`: standard input as `-`, classic Mac (CR-only) line
//! endings, and a progress display on long imports. The parser itself (records.rs) only
//! ever sees a byte stream with `\n` line ends.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bytes and line breaks read so far, shared with the progress display.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub bytes: Arc<AtomicU64>,
    pub lines: Arc<AtomicU64>,
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
        let breaks = got.iter().filter(|&&b| b == b'\n').count() as u64;
        self.counters.lines.fetch_add(breaks, Ordering::Relaxed);
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

/// A progress line on stderr (lines/s, and the share of the file when its size is known),
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
                    let lines = counters.lines.load(Ordering::Relaxed);
                    let bytes = counters.bytes.load(Ordering::Relaxed);
                    bar.set_position(bytes);
                    bar.set_message(format!(
                        "{lines} lines read · {:.0} lines/s · {:.1} MB",
                        lines as f64 / elapsed.as_secs_f64().max(1e-3),
                        bytes as f64 / 1e6
                    ));
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
            (s, cr, c.lines.load(Ordering::Relaxed))
        };
        assert_eq!(
            read(b"{\"a\":1}\r{\"a\":2}\r"),
            ("{\"a\":1}\n{\"a\":2}\n".into(), true, 2)
        );
        // CRLF files keep their CR (the parser strips it), LF files are as they were.
        assert_eq!(
            read(b"{\"a\":1}\r\n{}\r\n"),
            ("{\"a\":1}\r\n{}\r\n".into(), false, 2)
        );
        assert_eq!(read(b"{}\n{}"), ("{}\n{}".into(), false, 1));
        assert!(!looks_cr_only(&[0x1f, 0x8b, b'\r']));
    }
}
