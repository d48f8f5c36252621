//! The review workbench.

use crate::cli::ReviewArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(_ctx: &Context, _args: &ReviewArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the workbench is not built yet")
}
