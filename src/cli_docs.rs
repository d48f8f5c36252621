//! `rubricate completions` and `rubricate man`: generated from the clap definitions in
//! `cli.rs`, so they cannot drift from `--help`.

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use anyhow::{Result, bail};
use clap::CommandFactory;
use std::process::ExitCode;

/// The completion script for one shell.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "rubricate", &mut buf);
    buf
}

/// The roff page of the program, or of one subcommand (`rubricate-import(1)`).
pub fn man_page(subcommand: Option<&str>) -> Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match subcommand {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => {
                let sub = sub.clone();
                let full = format!("rubricate-{}", sub.get_name());
                sub.display_name(full).version(env!("CARGO_PKG_VERSION"))
            }
            None => {
                let known: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                bail!(
                    "no subcommand named {name:?}; pages exist for: {}",
                    known.join(", ")
                );
            }
        },
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    Ok(buf)
}

pub fn run_completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let text = completions(args.shell);
    crate::out!("{}", String::from_utf8_lossy(&text));
    Ok(ExitCode::SUCCESS)
}

pub fn run_man(args: &ManArgs) -> Result<ExitCode> {
    let text = man_page(args.subcommand.as_deref())?;
    crate::out!("{}", String::from_utf8_lossy(&text));
    Ok(ExitCode::SUCCESS)
}
