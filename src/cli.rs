//! Command-line surface (clap definitions only; dispatch lives in main.rs).

use crate::store::CaseFilter;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "rubricate",
    version,
    about = "Audit a reasoning reward model's judgments and curate preference data",
    long_about = "rubricate is a terminal workbench: a local GGUF judge writes a rubric, an analysis and \
                  a verdict for each case (prompt, answer A, answer B); you accept, edit or override it; \
                  every decision is kept in SQLite and exports as training data.\n\n\
                  Run without a subcommand to open the review workbench."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// SQLite database file [default: rubricate.db in the platform data dir]
    #[arg(long, global = true, env = "RUBRICATE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Add rubricate's tables to an existing SQLite file that holds other tables (refused without it)
    #[arg(long, global = true)]
    pub init: bool,
    /// Reviewer name recorded with every decision, and whose decisions `stats` and `export`
    /// count (unless --all-reviewers) [default: your login name]
    #[arg(long, global = true, env = "RUBRICATE_REVIEWER", value_name = "NAME")]
    pub reviewer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import cases from JSONL files (TRL, pairwise, HH-RLHF, UltraFeedback, RewardBench)
    Import(ImportArgs),
    /// Export reviewed data as training data (JSONL)
    Export(ExportArgs),
    /// Counts, verdicts and agreement rates
    Stats(StatsArgs),
    /// Judge cases with the local GGUF model, or import judgments made elsewhere
    Judge(JudgeArgs),
    /// Measure the judge on labelled cases: accuracy per category and difficulty, position bias,
    /// swap consistency; each run is stored (`--compare` shows runs side by side)
    Eval(EvalArgs),
    /// Describe a GGUF model: architecture, size, quantization, chat template, SHA-256
    Model(ModelArgs),
    /// Benchmark the judge: prefill, generation with and without grammar, prefix reuse
    Bench(BenchArgs),
    /// Open the review workbench (the default when no subcommand is given)
    Review(ReviewArgs),
    /// List the judge profiles: name, origin (built-in or file path), content hash
    Profiles(ProfilesArgs),
    /// The rubric library: named, versioned rubrics; apply one to a set of cases; compare versions
    Rubrics(RubricsArgs),
    /// Named sets of cases: list, show, add, remove
    Collections(CollectionsArgs),
    /// Fork a case: the same prompt, the model's failure kept as the rejected answer, your
    /// answer as the chosen one; linked to its parent. Prints the new case's number
    Derive(DeriveArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Install, e.g.:\n  rubricate completions bash > ~/.local/share/bash-completion/completions/rubricate\n  rubricate completions zsh > ~/.zfunc/_rubricate   (with fpath+=~/.zfunc before compinit)\n  rubricate completions fish > ~/.config/fish/completions/rubricate.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), generated from the same definitions as --help
    #[command(
        after_help = "Read it with: rubricate man | man -l -\nInstall: rubricate man > ~/.local/share/man/man1/rubricate.1"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand's own page (e.g. `import`) instead of the main page
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Auto,
    Trl,
    Pairwise,
    HhRlhf,
    Ultrafeedback,
    Rewardbench,
    /// RM-Bench: chosen/rejected as 3 style variants; 9 pairs per item
    RmBench,
    /// RMB pairwise set: conversation_input, chosen.answer, reject.answer
    RmbPairwise,
    /// RMB best-of-N set: bon_best against each of loser_list
    RmbBon,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import: JSON Lines or JSON arrays, optionally gzip-compressed; `-` reads standard input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Input format; auto detects it per file from the first record's fields
    #[arg(long, value_enum, default_value_t = ImportFormat::Auto)]
    pub format: ImportFormat,
    /// Source name stored with each case [default: the file name]
    #[arg(long)]
    pub source: Option<String>,
    /// Seed of the A/B placement shuffle for labelled pairs
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Import the good lines and list the bad ones instead of refusing the whole file
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print a JSON summary of every file on stdout instead of the summary lines (docs/cli-json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Dpo,
    DpoChat,
    Sft,
    RmR1Sft,
    RmR1Rl,
    Reviews,
    Judgments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ExportFrom {
    /// The latest human decision per case
    #[default]
    Reviews,
    /// The source dataset's own preference label
    Labels,
    /// The latest model verdict
    Model,
    /// The position-robust model verdict (both orders judged, combined); cases judged in
    /// one order only, or whose orders disagree without probabilities, are left out
    ModelRobust,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Where the preference comes from
    #[arg(long, value_enum, default_value_t = ExportFrom::Reviews)]
    pub from: ExportFrom,
    /// Output file, or `-` for stdout [default: stdout]. An existing file is replaced only
    /// if it is empty or an earlier export from this database, unchanged since
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file that is not an earlier export (never a read-only file)
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Only the cases in this collection
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// Also write judge traces (sft, rm-r1-sft) whose reasoning no human approved or wrote,
    /// marked `"reasoning_approved": false` [default: left out, counted]
    #[arg(long)]
    pub include_unapproved_reasoning: bool,
    /// How refined answers enter preference pairs (dpo, dpo-chat, rm-r1-rl)
    #[arg(long, value_enum, default_value_t = RefinedPairs::Use)]
    pub refined: RefinedPairs,
    #[command(flatten)]
    pub reviewers: ReviewerArgs,
}

/// What a refined (reviewer-rewritten) answer does to a preference pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RefinedPairs {
    /// The refined text replaces the original in the pair (marked in `refined`)
    #[default]
    Use,
    /// As `use`, plus a second pair: the refined chosen against the original chosen
    AlsoVsOriginal,
    /// Only the original texts
    Ignore,
}

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    /// Print machine-readable JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print machine-readable JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub reviewers: ReviewerArgs,
}

/// Whose decisions count in `stats` and `export`: the reviewer (--reviewer, default your
/// login name) or every reviewer's, merged case by case under a named policy.
#[derive(Debug, Args, Clone, Default)]
pub struct ReviewerArgs {
    /// Count every reviewer's decisions, merged case by case by --merge, instead of one
    /// reviewer's (--reviewer, default your login name)
    #[arg(long)]
    pub all_reviewers: bool,
    /// How --all-reviewers merges several reviewers' decisions on a case: `latest` (the most
    /// recent decision), `majority` (more than half of those who decided agree), `unanimous`
    /// (all who decided agree); cases without a verdict are counted as unresolved
    /// [default: majority]
    #[arg(long, value_enum, value_name = "POLICY", requires = "all_reviewers")]
    pub merge: Option<crate::domain::MergePolicy>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ModelSelect {
    /// GGUF model file [default: $RUBRICATE_MODEL, the config file, then the bundled default path]
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Chat template to use when the GGUF has none (or to override it): chatml, gemma, llama3, ...
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// CPU threads for the judge [default: all cores]
    #[arg(long)]
    pub threads: Option<u32>,
    /// Judge profile (prompt contract): rubricate, rm-r1, rm-r1-reasoning, mt-bench-pair or one
    /// of yours [default: $RUBRICATE_PROFILE, the config file's `profile`, then rubricate]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Most tokens the judge may write per judgment [default: the profile's, e.g. 512 for
    /// rubricate, 4096 for rm-r1]; a judge stopped by it gets its verdict read after the
    /// appended verdict opener and is marked as not parsed
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Judge through an OpenAI-compatible server (llama-server, vLLM) at this base URL,
    /// ending in /v1, instead of the in-process model; the API key comes from
    /// RUBRICATE_API_KEY [default: the config file's judge_url]
    #[arg(long, env = "RUBRICATE_JUDGE_URL", value_name = "URL")]
    pub judge_url: Option<String>,
    /// The model id to ask the server for [default: the config file's judge_model, then the
    /// first model the server lists]
    #[arg(long, value_name = "ID")]
    pub judge_model: Option<String>,
}

#[derive(Debug, Args)]
pub struct JudgeArgs {
    #[command(flatten)]
    pub model: ModelSelect,
    /// Judge at most N cases
    #[arg(long)]
    pub limit: Option<usize>,
    /// Judge every case in both orders (as stored, then A and B exchanged): the swap check,
    /// and what the position-robust verdict combines
    #[arg(long, visible_alias = "both-orders")]
    pub swap: bool,
    /// Judge cases again even if they already have a judgment
    #[arg(long)]
    pub rejudge: bool,
    /// Generate without the GBNF grammar (the output may then fail to parse)
    #[arg(long)]
    pub no_grammar: bool,
    /// Sampling seed
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Cases in flight at once against a judge server (--judge-url); its batching does the rest
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,
    /// In-process model: judge N cases at once as separate sequences of one llama.cpp batch,
    /// sharing the cached instructions (more cases per minute on the same cores; each case
    /// gets the same kind of judgment as one at a time)
    #[arg(
        long,
        default_value_t = 1,
        value_name = "N",
        conflicts_with = "concurrency"
    )]
    pub parallel: usize,
    /// Import judgments produced elsewhere (JSONL: case source id or content hash, raw judge text)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["limit", "swap", "rejudge", "no_grammar", "concurrency", "parallel"])]
    pub import: Option<PathBuf>,
    /// Print the summary as JSON on stdout instead of the summary line (keys in docs/cli-json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub model: ModelSelect,
    /// Only cases from this source (the name given at import)
    #[arg(long)]
    pub source: Option<String>,
    /// Only cases of this category
    #[arg(long)]
    pub category: Option<String>,
    /// Evaluate at most N labelled cases (the first N by import order)
    #[arg(long)]
    pub limit: Option<usize>,
    /// Judge every case in both orders: adds position-robust accuracy and swap consistency
    #[arg(long)]
    pub both_orders: bool,
    /// Judge again even where this judge already judged the case (otherwise its stored
    /// judgments are reused, so an interrupted run resumes)
    #[arg(long)]
    pub rejudge: bool,
    /// Generate without the GBNF grammar
    #[arg(long)]
    pub no_grammar: bool,
    /// Sampling seed
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Print the figures as JSON (keys documented in docs/eval.md)
    #[arg(long)]
    pub json: bool,
    /// Judge with this library rubric version given (rubric-given mode) instead of the
    /// judge's own rubric; the run is stored as its own, to set beside another with --compare
    #[arg(long, value_name = "NAME[@V]")]
    pub rubric: Option<String>,
    /// Judge nothing: show stored runs side by side (the given run ids, or the latest four),
    /// then each against the first: agreement with reviewers and labels, swap consistency,
    /// the cases whose verdict changed
    #[arg(long, num_args = 0.., value_name = "RUN_ID", conflicts_with_all = ["both_orders", "rejudge", "limit", "source", "category", "rubric"])]
    pub compare: Option<Vec<i64>>,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(flatten)]
    pub model: ModelSelect,
    /// Print the description as JSON (keys in docs/cli-json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelSelect,
    /// Number of sample cases to time
    #[arg(long, default_value_t = 6)]
    pub cases: usize,
    /// Write the judge prompts of those cases, the grammar and the sampler settings to DIR
    /// (to run the same workload through another llama.cpp program) instead of timing
    #[arg(long, value_name = "DIR")]
    pub dump_prompts: Option<std::path::PathBuf>,
    /// Only the grammar runs without and with prefix reuse (skip the unconstrained and
    /// grammar-first comparisons)
    #[arg(long)]
    pub quick: bool,
    /// Tokens per llama.cpp decode call (n_batch = n_ubatch) [default: 512]
    #[arg(long, value_name = "N")]
    pub batch: Option<u32>,
    /// Print one JSON object per case and one summary object instead of the table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Default)]
pub struct ReviewArgs {
    /// Which cases the queue shows [default: the filter of your last session on this
    /// database, else unreviewed]. The workbench reopens on the case you left off at.
    #[arg(long, value_enum)]
    pub filter: Option<CaseFilter>,
    /// Only cases from this source
    #[arg(long)]
    pub source: Option<String>,
    /// Only cases in this collection
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// Only cases of this category
    #[arg(long, value_name = "NAME")]
    pub category: Option<String>,
    /// Only cases you flagged with a reason containing this text
    #[arg(long, value_name = "TEXT")]
    pub flag_reason: Option<String>,
    /// Stay on a case after deciding it instead of opening the next one (also a setting in `?`)
    #[arg(long)]
    pub no_advance: bool,
    /// Judge every case in both orders and show the position-robust verdict (also the
    /// config file's `[workbench] both_orders`)
    #[arg(long)]
    pub both_orders: bool,
    /// Blind review: hide the model's verdict, confidence and the answers' lengths until
    /// you decide (also a setting in `?`, kept in the config file)
    #[arg(long)]
    pub blind: bool,
    /// Cases the in-process judge decodes at once: 2 judges the next case (or the open one's
    /// swapped order) beside the open one, 1 judges one after the other; 2 needs about twice
    /// the KV cache and, on 2 cores, slows the open case's stream (see docs/benchmarks.md). A
    /// judge server takes one request at a time either way [default: the config file's
    /// `[workbench] prefetch_sequences`, then 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub prefetch_sequences: Option<u32>,
    #[command(flatten)]
    pub model: ModelSelect,
}

/// Which cases a library command works on. With none given: every case.
#[derive(Debug, Args, Clone, Default)]
pub struct CaseSelect {
    /// Only the cases in this collection
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// Only the cases of this category
    #[arg(long, value_name = "NAME")]
    pub category: Option<String>,
    /// Only the cases from this source
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Only the cases this queue filter selects (for --reviewer)
    #[arg(long, value_enum, default_value_t = CaseFilter::All)]
    pub filter: CaseFilter,
}

#[derive(Debug, Args)]
pub struct RubricsArgs {
    #[command(subcommand)]
    pub command: RubricsCommand,
}

#[derive(Debug, Subcommand)]
pub enum RubricsCommand {
    /// List the library: each rubric name with its newest version
    List {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
        /// Also list the per-case rubrics the workbench saves (case-N)
        #[arg(long)]
        all: bool,
    },
    /// Print a rubric: NAME (newest version) or NAME@V
    Show {
        #[arg(value_name = "NAME[@V]")]
        rubric: String,
        /// Every version, oldest first
        #[arg(long)]
        versions: bool,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// What changed between two versions, line by line
    Diff {
        #[arg(value_name = "NAME@V")]
        from: String,
        #[arg(value_name = "NAME[@V]")]
        to: String,
    },
    /// Save a rubric as the next version of NAME (text from --file, --text or standard input)
    Add {
        name: String,
        /// Read the rubric from this file
        #[arg(long, value_name = "FILE", conflicts_with = "text")]
        file: Option<PathBuf>,
        /// The rubric text itself
        #[arg(long)]
        text: Option<String>,
        /// Why this version (kept with it)
        #[arg(long)]
        note: Option<String>,
    },
    /// Save an old version again as the newest
    Restore {
        #[arg(value_name = "NAME@V")]
        rubric: String,
    },
    /// Judge a set of cases again with this rubric given (a batch job with the local model);
    /// each judgment records the rubric's name and version
    Apply {
        #[arg(value_name = "NAME[@V]")]
        rubric: String,
        #[command(flatten)]
        select: CaseSelect,
        /// Also judge each case with A and B exchanged (for swap consistency)
        #[arg(long)]
        swap: bool,
        /// At most N cases
        #[arg(long)]
        limit: Option<usize>,
        /// Judge again cases that already have a judgment with this version
        #[arg(long)]
        rejudge: bool,
        /// Sampling seed
        #[arg(long, default_value_t = 42)]
        seed: u32,
        /// Cases in flight at once against a judge server (--judge-url); its batching does the rest
        #[arg(long, default_value_t = 1, value_name = "N")]
        concurrency: usize,
        #[command(flatten)]
        model: ModelSelect,
    },
    /// Compare two versions over a set of cases: agreement with reviewers and labels, swap
    /// consistency and the cases whose verdict changed
    Compare {
        #[arg(value_name = "NAME@V")]
        before: String,
        #[arg(value_name = "NAME@V")]
        after: String,
        #[command(flatten)]
        select: CaseSelect,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// The case to fork: its number, source id or content hash
    pub case: String,
    /// The better answer, as text
    #[arg(long, value_name = "TEXT", conflicts_with = "chosen_file")]
    pub chosen: Option<String>,
    /// The better answer, from a file (`-`: standard input, also the default when neither is given)
    #[arg(long, value_name = "FILE")]
    pub chosen_file: Option<PathBuf>,
    /// Which answer is kept as the rejected one: the one the model preferred (its latest
    /// verdict), or A or B
    #[arg(long, value_enum, default_value_t = RejectedSide::Model)]
    pub rejected: RejectedSide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RejectedSide {
    /// The answer the model's latest verdict preferred (its failure)
    Model,
    A,
    B,
}

#[derive(Debug, Args)]
pub struct CollectionsArgs {
    #[command(subcommand)]
    pub command: CollectionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum CollectionsCommand {
    /// Every collection with its size
    List {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// The cases in a collection
    Show {
        name: String,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Put cases into a collection (created on first use); CASE is a case number or source id
    Add {
        name: String,
        #[arg(required = true, value_name = "CASE")]
        cases: Vec<String>,
    },
    /// Take cases out of a collection
    Remove {
        name: String,
        #[arg(required = true, value_name = "CASE")]
        cases: Vec<String>,
    },
}
