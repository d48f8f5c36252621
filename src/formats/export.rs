use crate::cli::ExportArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(_ctx: &Context, _args: &ExportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("export is not built yet")
}
