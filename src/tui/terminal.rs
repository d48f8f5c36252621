//! Taking over the terminal and always giving it back: on quit, on a panic of the UI
//! thread, on SIGTERM (through the event loop), and when llama.cpp aborts the process
//! (a SIGABRT handler that only makes async-signal-safe calls).

use anyhow::{Context as _, Result};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ThreadId;

/// Terminal modes before we changed them, for the signal handler.
static SAVED_TERMIOS: OnceLock<libc::termios> = OnceLock::new();
/// What the crash handlers print after restoring the terminal (preformatted: a signal
/// handler must not allocate).
static CRASH_NOTE: OnceLock<Vec<u8>> = OnceLock::new();
/// The thread that draws; a panic elsewhere (caught by the judge worker) must not
/// tear the screen down under a running UI.
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// Whether the terminal is currently ours.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leave the alternate screen, stop mouse reporting and bracketed paste, show the cursor.
const LEAVE: &[u8] =
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l\x1b[?25h\x1b[?1049l\r\n";

/// Restore the terminal from a signal handler: only `tcsetattr` and `write`.
fn restore_in_signal_handler() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    // SAFETY: tcsetattr and write are async-signal-safe; the buffers are 'static.
    unsafe {
        if let Some(t) = SAVED_TERMIOS.get() {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
        }
        libc::write(libc::STDOUT_FILENO, LEAVE.as_ptr().cast(), LEAVE.len());
        if let Some(note) = CRASH_NOTE.get() {
            libc::write(libc::STDOUT_FILENO, note.as_ptr().cast(), note.len());
        }
    }
}

/// Restore the terminal from normal code (quit, panic hook).
fn restore_normally() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

fn install_hooks_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if UI_THREAD.get() == Some(&std::thread::current().id()) {
                restore_normally();
                // stderr goes to the log file while the workbench runs; say it where
                // the reviewer looks.
                println!("rubricate crashed: {info}");
                if let Some(note) = CRASH_NOTE.get() {
                    let _ = io::stdout().write_all(note);
                }
            }
            previous(info);
        }));
        // SAFETY: the actions only call async-signal-safe functions (see
        // restore_in_signal_handler; emulate_default_handler is documented as such).
        unsafe {
            let _ = signal_hook::low_level::register(libc::SIGABRT, || {
                restore_in_signal_handler();
                let _ = signal_hook::low_level::emulate_default_handler(libc::SIGABRT);
            });
            // A crash inside llama.cpp: restore, then let the previous handler (Rust's
            // stack-overflow reporter) or the default action end the process.
            for sig in [libc::SIGSEGV, libc::SIGBUS] {
                let _ =
                    signal_hook_registry::register_signal_unchecked(sig, restore_in_signal_handler);
            }
        }
    });
}

/// The terminal in raw mode on the alternate screen with mouse reporting, until dropped.
pub struct TerminalGuard(());

impl TerminalGuard {
    pub fn enter(crash_note: String) -> Result<TerminalGuard> {
        let _ = UI_THREAD.set(std::thread::current().id());
        let _ = CRASH_NOTE.set(crash_note.into_bytes());
        // SAFETY: tcgetattr fills a plain C struct.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) == 0 {
                let _ = SAVED_TERMIOS.set(t);
            }
        }
        install_hooks_once();
        enable_raw_mode()
            .context("cannot switch the terminal to raw mode (is this a terminal?)")?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableMouseCapture,
            // A paste arrives as one event, not as thousands of keys (so the key after
            // a long paste is not held back, and a pasted newline is not Enter).
            EnableBracketedPaste,
            crossterm::cursor::Hide
        ) {
            restore_normally();
            return Err(e).context("cannot set up the terminal");
        }
        Ok(TerminalGuard(()))
    }

    pub fn restore(&mut self) {
        restore_normally();
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_normally();
    }
}

/// fd 2 pointed at a log file while the workbench runs: llama.cpp can write to stderr
/// past any logging callback, and that would scribble over the screen.
pub struct StderrToFile {
    saved: Option<OwnedFd>,
}

impl StderrToFile {
    pub fn redirect(path: &Path) -> Result<StderrToFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the log folder {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the log file {}", path.display()))?;
        // SAFETY: dup / dup2 on valid descriptors; the duplicate is owned from here on.
        unsafe {
            let saved = libc::dup(libc::STDERR_FILENO);
            if saved < 0 {
                return Err(io::Error::last_os_error()).context("cannot duplicate stderr");
            }
            let saved = OwnedFd::from_raw_fd(saved);
            if libc::dup2(file.as_raw_fd(), libc::STDERR_FILENO) < 0 {
                return Err(io::Error::last_os_error()).context("cannot redirect stderr");
            }
            Ok(StderrToFile { saved: Some(saved) })
        }
    }
}

impl Drop for StderrToFile {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            // SAFETY: both descriptors are valid; `saved` is closed when dropped.
            unsafe {
                libc::dup2(saved.as_raw_fd(), libc::STDERR_FILENO);
            }
        }
    }
}
