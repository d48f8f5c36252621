//! The review workbench: a terminal UI where judgments stream live and reviewers
//! accept, edit or override them.
//!
//! `state` + `update` are pure (message in, state and effects out); `ui` draws a
//! frame from the state; `run` is the only part that touches the terminal, the
//! database and the judge worker.

pub mod fold;
pub mod keymap;
pub mod layout;
pub mod library;
pub mod library_io;
pub mod narrow;
pub mod resume;
pub mod run;
pub mod state;
pub mod stats_view;
mod terminal;
pub mod text;
pub mod ui;
pub mod update;
pub mod writer;

use crate::cli::ReviewArgs;
use crate::context::Context;
use std::process::ExitCode;

/// Open the workbench on the database; returns when the reviewer quits.
pub fn run(ctx: &Context, args: &ReviewArgs) -> anyhow::Result<ExitCode> {
    // Logs (ours and llama.cpp's) go to a file: the screen belongs to the workbench.
    let _log = crate::logging::init_logging();
    run::run(ctx, args)
}
