use crate::cli::StatsArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(_ctx: &Context, _args: &StatsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("stats is not built yet")
}
