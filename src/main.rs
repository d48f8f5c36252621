use clap::Parser;
use rubricate::cli::{Cli, Command, ReviewArgs};
use rubricate::context::Context;
use rubricate::{cli_docs, eval, formats, judge, library, sanitize, stats, store, tui};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors can quote dataset or model text: keep it from driving the terminal.
            rubricate::errln!("error: {}", sanitize::visible(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // These need no database: answer them before a data folder is looked up.
    match &cli.command {
        Some(Command::Completions(args)) => return cli_docs::run_completions(args),
        Some(Command::Man(args)) => return cli_docs::run_man(args),
        _ => {}
    }
    let ctx = Context::from_args(&cli.global)?;
    let result = match cli.command {
        Some(Command::Import(args)) => formats::import::run(&ctx, &args),
        Some(Command::Export(args)) => formats::export::run(&ctx, &args),
        Some(Command::Stats(args)) => stats::run(&ctx, &args),
        Some(Command::Judge(args)) => judge::cli::run_judge(&ctx, &args),
        Some(Command::Eval(args)) => eval::run::run(&ctx, &args),
        Some(Command::Model(args)) => judge::cli::run_model(&args),
        Some(Command::Bench(args)) => judge::cli::run_bench(&ctx, &args),
        Some(Command::Review(args)) => tui::run(&ctx, &args),
        Some(Command::Profiles(args)) => judge::cli::run_profiles(&args),
        Some(Command::Rubrics(args)) => library::run_rubrics(&ctx, &args),
        Some(Command::Collections(args)) => library::run_collections(&ctx, &args),
        Some(Command::Derive(args)) => rubricate::derive::run(&ctx, &args),
        None => tui::run(&ctx, &ReviewArgs::default()),
        Some(Command::Completions(_) | Command::Man(_)) => unreachable!("answered above"),
    };
    // A database failure with a known cause (locked, full disk, read-only...) is explained
    // first, naming the file and the next step; the original chain follows for reports.
    result.map_err(|e| match store::errors::explain(&e, &ctx.db_path) {
        Some(explained) => anyhow::anyhow!("{explained}\n  details: {e:#}"),
        None => e,
    })
}
