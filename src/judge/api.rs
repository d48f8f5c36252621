//! The worker's contract: what goes in, what comes out.

use crate::domain::{Case, NewJudgment, SamplerSettings};
use std::path::PathBuf;

/// Identifies one judge job; events of cancelled or superseded jobs are dropped by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

#[derive(Debug, Clone, PartialEq)]
pub enum JudgeMode {
    /// The model writes rubric, analysis and verdict.
    Full,
    /// The reviewer's rubric is fixed in the prompt; the model writes analysis and verdict.
    RubricGiven(String),
}

#[derive(Debug, Clone)]
pub struct JudgeRequest {
    pub job: JobId,
    pub case: Case,
    pub mode: JudgeMode,
    /// Present B as A and A as B (the swap check). The resulting judgment's verdict
    /// and probabilities are mapped back to the original letters.
    pub swapped: bool,
}

#[derive(Debug, Clone)]
pub enum Command {
    Judge(Box<JudgeRequest>),
    /// Stop a job within one token or one prefill chunk; the worker is then idle.
    Cancel(JobId),
    /// The reviewer watches this job now. A worker decoding several cases at once
    /// ([`ModelInfo::sequences`] > 1) puts its tokens first and lets other cases' prompts in
    /// only in small pieces while it runs; a one-at-a-time worker has nothing to reorder.
    Prioritize(JobId),
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Rubric,
    Analysis,
    Verdict,
    /// Free reasoning before `</think>` (long-reasoning judges).
    Reasoning,
    /// RM-R1's `<type>` (Chat or Reasoning).
    Type,
    /// RM-R1's `<solution>`: the judge's own answer to a reasoning task.
    Solution,
}

/// What the worker knows about the loaded model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub architecture: String,
    pub n_params: u64,
    pub quantization: String,
    pub n_ctx_train: u32,
    pub n_ctx: u32,
    /// The chat template in use: "gguf" (from the file) or a named fallback.
    pub template: String,
    pub threads: u32,
    /// Jobs the worker judges at once (sequences of one llama.cpp batch); 0 or 1: one
    /// after another. The workbench prefetches the next case beside the open one when > 1.
    pub sequences: u32,
    /// Who judges, besides the model file: what every judgment of this worker records
    /// (boxed: events carry a `ModelInfo` and stay small).
    pub stamp: Box<JudgeStamp>,
}

/// The parts of a judgment's provenance that name the judge besides the model file and its
/// hash. Each engine fills them once and stamps every judgment from them, so an eval run
/// or the workbench can tell which stored judgments and eval runs are this judge's before
/// it has judged anything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JudgeStamp {
    pub template_version: String,
    pub backend: String,
    pub profile: Option<String>,
    pub profile_hash: Option<String>,
    /// The model id a server judged with (`None` in-process).
    pub server_model: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// Model loading; `progress` in 0..=1.
    Loading {
        progress: f32,
    },
    Ready(ModelInfo),
    /// The model could not be loaded; the message says how to fix it. No job runs after this.
    Unavailable(String),
    Started {
        job: JobId,
    },
    Prefill {
        job: JobId,
        done: usize,
        total: usize,
    },
    /// Generated text, already split by section (a token spanning a tag is split).
    Token {
        job: JobId,
        section: Section,
        text: String,
    },
    /// The finished judgment, with provenance; storing it is the receiver's business.
    Done {
        job: JobId,
        judgment: Box<NewJudgment>,
    },
    Failed {
        job: JobId,
        error: String,
    },
    Cancelled {
        job: JobId,
    },
}

impl Event {
    pub fn job(&self) -> Option<JobId> {
        match self {
            Event::Started { job }
            | Event::Prefill { job, .. }
            | Event::Token { job, .. }
            | Event::Done { job, .. }
            | Event::Failed { job, .. }
            | Event::Cancelled { job } => Some(*job),
            Event::Loading { .. } | Event::Ready(_) | Event::Unavailable(_) => None,
        }
    }
}

/// How the worker loads and runs the model.
#[derive(Debug, Clone)]
pub struct JudgeConfig {
    pub model_path: PathBuf,
    pub threads: u32,
    pub n_ctx: u32,
    /// Named chat template to use instead of (or when missing from) the GGUF's own.
    pub template: Option<String>,
    /// Use the profile's grammar, if it has one.
    pub grammar: bool,
    pub seed: u32,
    pub sampler: SamplerSettings,
    /// The judge contract: prompt layout, grammar, parser, verdict slot.
    pub profile: super::profile::Profile,
    /// Tokens per llama.cpp decode call (n_batch = n_ubatch).
    pub n_batch: u32,
    /// Cases decoded together as separate sequences of one batch (1: one at a time).
    pub parallel: u32,
}
