//! rubricate: audit a reasoning reward model's judgments and curate preference data.

pub mod cli;
pub mod cli_docs;
pub mod config;
pub mod context;
pub mod derive;
pub mod domain;
pub mod eval;
pub mod formats;
pub mod judge;
pub mod library;
pub mod logging;
pub mod out;
pub mod paths;
pub mod robust;
pub mod rubric_experiment;
pub mod sanitize;
pub mod stats;
pub mod store;
pub mod tui;
