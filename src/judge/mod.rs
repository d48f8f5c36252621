//! The judge: prompt building, the worker thread that owns llama.cpp, the streaming
//! parser and the verdict probabilities.
//!
//! The workbench and the CLI talk to the worker only through [`JudgeHandle`]:
//! commands in, events out, every event tagged with the job it belongs to.

pub mod api;

pub use api::*;
pub mod cli;
