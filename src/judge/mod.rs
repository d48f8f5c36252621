//! The judge: prompt building, the worker thread that owns llama.cpp, the streaming
//! parser and the verdict probabilities.
//!
//! The workbench and the CLI talk to the worker only through [`JudgeHandle`]:
//! commands in, events out, every event tagged with the job it belongs to.

pub mod api;
pub mod batch;
pub mod bench;
pub mod cli;
pub mod config;
pub mod cpu;
pub mod engine;
pub mod gguf;
pub mod parse;
pub mod profile;
pub mod prompt;
pub mod remote;
pub mod sampler;
pub mod worker;

pub use api::*;
pub use config::{Backend, backend_from_select};
pub use worker::{
    BlockingJudge, Emit, JobOutcome, JudgeHandle, config_from_select, resolve_model_path,
};
