//! The review workbench: a terminal UI where judgments stream live and reviewers
//! accept, edit or override them.
//!
//! `state` + `update` are pure (message in, state and effects out); `ui` draws a
//! frame from the state; `run` is the only part that touches the terminal, the
//! database and the judge worker.

pub mod keymap;
pub mod layout;
pub mod state;
pub mod stats_view;
mod terminal;
pub mod text;
pub mod ui;
pub mod update;

use crate::cli::ReviewArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(_ctx: &Context, _args: &ReviewArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the workbench is not built yet")
}
