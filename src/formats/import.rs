use crate::cli::ImportArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(_ctx: &Context, _args: &ImportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("import is not built yet")
}
