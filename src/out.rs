//! Printing for the command-line tools without panicking on I/O errors.
//!
//! `println!` panics when stdout is gone (`rubricate stats | head -1` closes the pipe after
//! one line). These macros write the same text but handle the failure: a closed pipe ends
//! the process quietly with status 0, as the reader chose to stop reading and nothing went
//! wrong on our side (the database work is transactional, so stopping there loses nothing
//! that was reported saved); any other stdout failure (a full disk behind `> file`) ends it
//! with one line on stderr and status 1. Writes to stderr are best effort: a closed stderr
//! is no reason to abandon an import or a judge run.

use std::fmt;
use std::io::{self, Write};

/// Exit status when stdout could not be written for a reason other than a closed pipe.
pub const EXIT_STDOUT_FAILED: i32 = 1;

/// Write formatted text to stdout and flush it; on failure end the process (see the module doc).
pub fn stdout_fmt(args: fmt::Arguments) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        stdout_failed(&e);
    }
}

/// Write formatted text to stderr, ignoring failures.
pub fn stderr_fmt(args: fmt::Arguments) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
}

/// Whether an error means the reader of our output went away.
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Whether any error in an `anyhow` chain is a closed pipe.
pub fn chain_has_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<io::Error>().is_some_and(is_closed_pipe))
}

/// End the process after stdout failed.
pub fn stdout_failed(e: &io::Error) -> ! {
    if is_closed_pipe(e) {
        std::process::exit(0);
    }
    stderr_fmt(format_args!(
        "error: cannot write to standard output: {e}\n"
    ));
    std::process::exit(EXIT_STDOUT_FAILED);
}

/// `println!` that does not panic: see [`stdout_fmt`].
#[macro_export]
macro_rules! outln {
    () => { $crate::out::stdout_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stdout_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that does not panic: see [`stdout_fmt`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::stdout_fmt(format_args!($($arg)*)) };
}

/// `eprintln!` that ignores a closed or failing stderr.
#[macro_export]
macro_rules! errln {
    () => { $crate::out::stderr_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stderr_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
