use crate::cli::{BenchArgs, JudgeArgs, ModelArgs};
use crate::context::Context;
use std::process::ExitCode;

pub fn run_judge(_ctx: &Context, _args: &JudgeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("judge is not built yet")
}

pub fn run_model(_args: &ModelArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("model is not built yet")
}

pub fn run_bench(_ctx: &Context, _args: &BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bench is not built yet")
}
