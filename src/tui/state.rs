//! The workbench's state, the messages that change it and the effects it asks for.
//! Plain data: no terminal, no database, no threads. `update.rs` is the only writer.

use super::stats_view::StatsView;
use super::text::{Doc, Pos};
use crate::domain::{Case, Judgment, NewJudgment, NewReview, ReviewAction, ReviewState, Verdict};
use crate::judge::{Event, JobId, JudgeMode, ModelInfo};
use crate::store::CaseFilter;
use crossterm::event::{KeyEvent, MouseEvent};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tui_textarea::TextArea;

/// How long a status message stays in the hint line.
pub const MESSAGE_TTL: Duration = Duration::from_secs(6);

/// Everything that can happen to the workbench.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal, whole (bracketed paste).
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Time passed without other input (expires messages, refreshes rates).
    Tick,
    /// From the judge worker.
    Judge(Event),
    QueueLoaded {
        items: Vec<QueueItem>,
        total_cases: i64,
        /// The case to keep selected if it is still in the queue.
        keep: Option<i64>,
    },
    CaseLoaded(Box<LoadedCase>),
    JudgmentStored(Box<Judgment>),
    ReviewSaved {
        case_id: i64,
        action: ReviewAction,
        state: ReviewState,
    },
    Undone {
        case_id: i64,
        /// What the revert row undid; `None` when there was nothing to undo.
        undid: Option<ReviewAction>,
        state: ReviewState,
    },
    RubricSaved {
        name: String,
        version: i64,
    },
    Imported(String),
    /// The categories the cases have (name, number of cases), in name order, for `C`.
    Categories(Vec<(String, i64)>),
    /// The collections, flag reasons, sources and categories there are (for `T`).
    NarrowOptions(Vec<NarrowOption>),
    /// A write is waiting for the database (another process holds its write lock);
    /// the writer keeps retrying it.
    WriteWaiting {
        case_id: Option<i64>,
        what: String,
    },
    /// A write failed for good (not a busy database): nothing was stored.
    WriteFailed {
        case_id: Option<i64>,
        /// A review row (decision, flag, note, undo): it was in `App::pending`.
        review: bool,
        what: String,
        error: String,
    },
    /// A curation record was saved (revision, collection tag); `reload` when the case's
    /// text changed and must be read again.
    Curated {
        case_id: i64,
        text: String,
        reload: bool,
    },
    StatsLoaded(Box<StatsView>),
    /// The rubric library, read for the browser; `select`: the rubric row to show.
    LibraryLoaded {
        entries: Vec<LibraryEntry>,
        select: Option<i64>,
    },
    /// A rubric version was saved into the library (named save or restore).
    LibrarySaved(Box<crate::store::StoredRubric>),
    BatchPlanned(Box<Batch>),
    /// A rubric experiment over the queue, as report lines.
    ExperimentLoaded(Vec<String>),
    /// The latest eval run of the loaded judge (`None`: never measured).
    JudgeEvalLoaded(Option<Box<JudgeEval>>),
    SearchResult {
        query: String,
        matches: Vec<i64>,
    },
    /// The case a "go to case" query names (`None`: no case has that id or source id).
    CaseFound {
        query: String,
        id: Option<i64>,
    },
    /// This reviewer's decisions in force, and the number of cases.
    Progress {
        done: i64,
        total: i64,
    },
    Error(String),
    /// SIGTERM / SIGHUP: leave now, restoring the terminal.
    Terminate,
}

/// What narrows the queue beyond the filter: the command line sets it, keys change it
/// (`C` the category, `T` any of them, `X` clears them all), and every queue load
/// carries it. The runtime applies it through [`crate::library::select_cases`], as the
/// command line does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueNarrowing {
    pub collection: Option<String>,
    /// A category, or a parent of path-like ones (`Helpfulness` selects
    /// `Helpfulness/Code`), as `--category` selects everywhere.
    pub category: Option<String>,
    /// Text the reviewer's flag reason in force must contain.
    pub flag_reason: Option<String>,
    /// The import source the cases came from (`--source`).
    pub source: Option<String>,
}

/// One way to narrow the queue, as the `T` picker offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NarrowKind {
    Collection,
    FlagReason,
    Source,
    Category,
}

impl NarrowKind {
    pub fn label(self) -> &'static str {
        match self {
            NarrowKind::Collection => "collection",
            NarrowKind::FlagReason => "flag reason",
            NarrowKind::Source => "source",
            NarrowKind::Category => "category",
        }
    }
}

/// A value the picker offers, with the number of cases it selects on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrowOption {
    pub kind: NarrowKind,
    pub value: String,
    pub cases: i64,
}

impl QueueNarrowing {
    pub fn is_empty(&self) -> bool {
        *self == QueueNarrowing::default()
    }

    pub fn get(&self, kind: NarrowKind) -> Option<&String> {
        match kind {
            NarrowKind::Collection => self.collection.as_ref(),
            NarrowKind::FlagReason => self.flag_reason.as_ref(),
            NarrowKind::Source => self.source.as_ref(),
            NarrowKind::Category => self.category.as_ref(),
        }
    }

    pub fn slot(&mut self, kind: NarrowKind) -> &mut Option<String> {
        match kind {
            NarrowKind::Collection => &mut self.collection,
            NarrowKind::FlagReason => &mut self.flag_reason,
            NarrowKind::Source => &mut self.source,
            NarrowKind::Category => &mut self.category,
        }
    }

    /// The narrowings in force, each as "kind value" (raw text: made visible when drawn).
    pub fn parts(&self) -> Vec<(NarrowKind, &str)> {
        [
            NarrowKind::Collection,
            NarrowKind::Category,
            NarrowKind::FlagReason,
            NarrowKind::Source,
        ]
        .into_iter()
        .filter_map(|k| self.get(k).map(|v| (k, v.as_str())))
        .collect()
    }
}

/// What `update` asks the runtime to do.
#[derive(Debug)]
pub enum Effect {
    LoadQueue {
        filter: CaseFilter,
        narrow: QueueNarrowing,
        keep: Option<i64>,
    },
    /// List the categories of the cases (of `source`, when given), answered with
    /// [`Msg::Categories`] (for `C`).
    LoadCategories {
        source: Option<String>,
    },
    /// List what the queue can be narrowed by, answered with [`Msg::NarrowOptions`] (`T`).
    LoadNarrowOptions,
    LoadCase(i64),
    /// Send the case to the worker (the runtime reads the case from the store).
    Judge {
        job: JobId,
        case_id: i64,
        mode: JudgeMode,
        swapped: bool,
    },
    Cancel(JobId),
    /// Tell a worker that judges several cases at once which job the reviewer watches.
    Prioritize(JobId),
    StoreJudgment(Box<NewJudgment>),
    /// Store a judgment that was given a library rubric, recording its id and version.
    StoreLinkedJudgment {
        judgment: Box<NewJudgment>,
        rubric: RubricLink,
    },
    /// Read the rubric library (the browser); `select`: the rubric row to show.
    LoadLibrary {
        select: Option<i64>,
    },
    /// Save a rubric as the next version of `name` (a new name starts at version 1).
    SaveLibraryRubric {
        name: String,
        body: String,
        case_id: Option<i64>,
    },
    /// Save an old version's text again as its rubric's newest version.
    RestoreRubric {
        id: i64,
    },
    /// Leave out the orders already judged with library rubric `rubric_id`; the rest
    /// become a batch (the swapped order too with `both_orders`).
    PlanBatch {
        rubric_id: i64,
        case_ids: Vec<i64>,
        both_orders: bool,
    },
    /// Compare two library versions' judgments over the cases (`arms`: rubric row ids).
    CompareRubrics {
        arms: [i64; 2],
        case_ids: Vec<i64>,
    },
    AppendReview(NewReview),
    Undo {
        case_id: i64,
    },
    SaveRubric {
        case_id: i64,
        body: String,
    },
    ImportSample,
    /// Keep the settings in the config file's `[workbench]` table.
    SaveSettings(crate::config::WorkbenchConfig),
    /// Save a refined text of one answer.
    AddRevision {
        case_id: i64,
        side: Verdict,
        body: String,
    },
    /// Fork the case: `rejected` kept, `chosen` written by the reviewer (`D`).
    DeriveCase {
        parent: i64,
        rejected: Verdict,
        chosen: String,
    },
    /// Put a case into a collection (created on first use).
    Tag {
        case_id: i64,
        collection: String,
    },
    LoadStats,
    /// Find the latest `rubricate eval` run of the judge that just loaded (its identity as
    /// `eval` stores it: model hash, profile and its hash, backend, server model).
    LoadJudgeEval {
        judge: Box<crate::store::JudgeIdentity>,
    },
    Search {
        query: String,
    },
    /// Find the case with this id or source id.
    FindCase {
        query: String,
    },
    /// Count this reviewer's decisions (the header's done/total).
    LoadProgress,
    Quit,
}

/// The library rubric a rubric-given judgment was given, so the judgment records its id
/// and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RubricLink {
    /// A version already in the library (applied from the browser).
    Id(i64),
    /// The reviewer's own rubric (`R`): saved as the next version of `name` unless that
    /// name's newest version already has this text, which is then used.
    Save {
        name: String,
        body: String,
        case_id: i64,
    },
}

/// One named rubric and its versions, oldest first, as the browser lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryEntry {
    pub name: String,
    /// Judgments given any version of it.
    pub judgments: i64,
    pub versions: Vec<crate::store::StoredRubric>,
}

/// A batch of rubric-given judgments the workbench runs between the reviewer's own work
/// (the browser's "apply to every case in the queue").
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rubric_id: i64,
    pub label: String,
    pub body: String,
    /// Judgments still to make, in queue order: (case, swapped). Both orders of a case
    /// when the workbench judges both (`[workbench] both_orders`, `--both-orders`).
    pub todo: std::collections::VecDeque<(i64, bool)>,
    /// Judgments the batch set out to make.
    pub total: usize,
}

/// A review row (decision, flag, note or undo) handed to the writer and not yet
/// reported written. The writer works in order, so reports come back in this order.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingWrite {
    pub case_id: i64,
    /// `None` for an undo.
    pub action: Option<ReviewAction>,
    pub verdict: Option<Verdict>,
    /// The case's source label, told once the decision is saved.
    pub source_label: Option<Verdict>,
    /// The database was busy at the last try.
    pub waiting: bool,
}

/// One row of the queue pane.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub id: i64,
    /// The source's own id for the case (raw; made visible when drawn).
    pub source_id: Option<String>,
    /// The last user turn, first line (raw; made visible when drawn).
    pub title: String,
    /// The model's latest verdict in the original order, if judged.
    pub model: Option<Verdict>,
    pub judged: bool,
    /// This reviewer's decision in force.
    pub decided: Option<Verdict>,
    pub flagged: bool,
    /// The case's category and difficulty (raw; made visible when drawn).
    pub category: Option<String>,
    pub difficulty: Option<String>,
}

/// A case with everything the panes show, as the runtime loads it.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub case: Case,
    pub judgment: Option<Judgment>,
    pub swap: Option<Judgment>,
    pub review: ReviewState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Queue,
    Prompt,
    AnswerA,
    AnswerB,
    Judge,
}

impl Focus {
    pub const ALL: [Focus; 5] = [
        Focus::Queue,
        Focus::Prompt,
        Focus::AnswerA,
        Focus::AnswerB,
        Focus::Judge,
    ];
}

/// A scrollable text pane.
#[derive(Debug, Clone, Default)]
pub struct Pane {
    pub doc: Doc,
    pub top: Pos,
    /// Stick to the end while text streams in (until the reviewer scrolls up).
    pub follow: bool,
}

impl Pane {
    pub fn new(doc: Doc) -> Pane {
        Pane {
            doc,
            top: Pos::default(),
            follow: false,
        }
    }
}

/// The case on screen.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case: Case,
    pub judgment: Option<Judgment>,
    pub swap: Option<Judgment>,
    pub review: ReviewState,
    pub prompt: Pane,
    pub answer_a: Pane,
    pub answer_b: Pane,
    /// The stored judgment (or the reviewer's draft over it); a running job on this
    /// case draws its own stream instead.
    pub judge: Pane,
    /// When the case was opened: the start of "seconds spent".
    pub opened_at: Instant,
    /// The last generation on this case failed: do not retry on our own.
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    pub rubric: Option<String>,
    pub analysis: Option<String>,
}

impl Draft {
    pub fn is_empty(&self) -> bool {
        self.rubric.is_none() && self.analysis.is_none()
    }
}

/// The job the worker is running for us (at most one at a time: the worker runs
/// jobs one after the other, so the next is sent only when this one ends).
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub case_id: i64,
    pub swapped: bool,
    pub mode: JudgeMode,
    pub started: Option<Instant>,
    /// When the first token came: generation speed is counted from here, not from the
    /// start of the prompt's prefill.
    pub first_token: Option<Instant>,
    pub prefill: Option<(usize, usize)>,
    /// Token events received so far (a token that spans a tag counts twice; close enough
    /// for a rate).
    pub tokens: u32,
    pub section: Option<crate::judge::Section>,
    pub verdict_text: String,
    /// The streamed text by section, in order (consecutive text of a section merged): the
    /// pane is rebuilt from it when reasoning folds or unfolds.
    pub parts: Vec<(crate::judge::Section, String)>,
    /// The streamed rubric and analysis as the judge pane shows them.
    pub pane: Pane,
    /// The library rubric this rubric-given job was given, recorded with its judgment.
    pub rubric: Option<RubricLink>,
    /// Part of a batch: kept running while the reviewer moves on.
    pub batch: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    Loading(f32),
    Ready(ModelInfo),
    Unavailable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTarget {
    Rubric,
    Analysis,
    Note,
    /// The reviewer's refined text of answer A or B (a new revision; the original stays).
    Answer(Verdict),
    /// The name of the collection to tag the case into.
    Collection,
    /// Why the case is flagged (saving flags it).
    FlagReason,
    /// The chosen answer of a case derived from this one; `rejected` (the model's
    /// failure) is kept as the other answer.
    Derive {
        rejected: Verdict,
    },
}

#[derive(Debug, Clone)]
pub struct Editor {
    pub target: EditTarget,
    pub case_id: i64,
    pub area: TextArea<'static>,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Review,
    Edit(Box<Editor>),
    Search(String),
    /// The "go to case" prompt: a case number or a source id.
    Jump(String),
    Help,
    Stats,
    /// The rubric library browser.
    Library(Box<super::library::LibraryView>),
    /// The queue narrowing picker (`T`).
    Narrow(Box<super::narrow::NarrowPicker>),
    ConfirmQuit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub text: String,
    pub level: Level,
    pub at: Instant,
}

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db_label: String,
    pub reviewer: String,
    pub filter: CaseFilter,
    /// `--source`: where the queue starts narrowed to (it goes into `narrow.source`).
    pub source: Option<String>,
    pub auto_advance: bool,
    /// Hide the model's verdict, confidence and the answers' lengths until decided.
    pub blind: bool,
    /// While blind, hide the model's rubric and analysis too.
    pub blind_reasoning: bool,
    /// The case to open first (where the reviewer left off), if it is in the queue.
    pub resume: Option<i64>,
    /// `--collection`, `--category`, `--flag-reason`.
    pub narrow: QueueNarrowing,
}

/// The latest eval run of the loaded judge (same model file hash and prompt contract).
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeEval {
    pub run_id: i64,
    pub dataset: String,
    pub numbers: crate::eval::EvalNumbers,
}

#[derive(Debug)]
pub struct App {
    /// The time as of the message being handled; the runtime sets it, tests pin it.
    pub now: Instant,
    pub db_label: String,
    pub reviewer: String,
    pub filter: CaseFilter,
    /// What narrows the queue besides the filter (`C`, `T` and `X` change it).
    pub narrow: QueueNarrowing,
    pub auto_advance: bool,
    pub blind: bool,
    pub blind_reasoning: bool,
    pub resume: Option<i64>,
    /// `None`: shown when the terminal is wide enough.
    pub show_queue: Option<bool>,
    pub size: (u16, u16),
    /// `None` until the first queue load.
    pub total_cases: Option<i64>,
    pub queue: Vec<QueueItem>,
    pub cursor: usize,
    pub case: Option<CaseView>,
    pub model: ModelState,
    /// The job the reviewer sees stream when it is on the open case (else the most wanted one).
    pub job: Option<Job>,
    /// A second job beside it, when the worker judges two cases at once: the open case's
    /// swapped order (both orders) or the next case. It streams into its own pane, shown
    /// when the reviewer opens its case.
    pub background: Option<Job>,
    /// The job last named to the worker with [`Effect::Prioritize`].
    pub prioritized: Option<JobId>,
    pub next_job: u64,
    /// Cases whose automatic judging the reviewer cancelled with `c`.
    pub no_auto: Vec<i64>,
    /// Review rows on their way to the database, oldest first.
    pub pending: std::collections::VecDeque<PendingWrite>,
    /// Cases this reviewer changed in this session, oldest first: `u` walks back along it.
    pub history: Vec<i64>,
    /// Edits kept with Ctrl-S but not yet part of a decision, per case.
    pub drafts: HashMap<i64, Draft>,
    /// The collection `t` tagged into last (offered again).
    pub last_collection: Option<String>,
    pub focus: Focus,
    /// The focused pane fills the screen (`z`; `z` or Esc goes back).
    pub zoom: bool,
    pub mode: Mode,
    pub message: Option<Message>,
    /// The last search, offered again by `/` and highlighted in the panes.
    pub last_search: Option<String>,
    pub matches: Vec<i64>,
    /// This reviewer's decided cases and all cases, for the header.
    pub progress: Option<(i64, i64)>,
    /// `both_orders` was changed in the workbench (so it is saved with the settings).
    pub both_orders_changed: bool,
    pub stats: Option<StatsView>,
    /// Judge every case in both orders (the `[workbench] both_orders` setting, `--both-orders`).
    pub both_orders: bool,
    /// What `rubricate eval` measured of the loaded judge, if it was ever measured.
    pub judge_eval: Option<JudgeEval>,
    /// Rubric-given judgments still to run for the library browser's "apply to the queue".
    pub batch: Option<Batch>,
    /// First line of the help overlay shown (it scrolls on small terminals).
    pub help_scroll: u16,
    pub importing: bool,
    /// Long free reasoning (`…</think>`) shown in full instead of one fold line.
    pub reasoning_expanded: bool,
    /// Key presses handled so far (the benchmark matches frames to keys with it).
    pub keys_seen: u64,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
}

impl App {
    pub fn new(settings: Settings, now: Instant) -> App {
        App {
            now,
            db_label: settings.db_label,
            reviewer: settings.reviewer,
            filter: settings.filter,
            narrow: QueueNarrowing {
                source: settings.narrow.source.or(settings.source),
                ..settings.narrow
            },
            auto_advance: settings.auto_advance,
            blind: settings.blind,
            blind_reasoning: settings.blind_reasoning,
            resume: settings.resume,
            show_queue: None,
            size: (80, 24),
            total_cases: None,
            queue: Vec::new(),
            cursor: 0,
            case: None,
            model: ModelState::Loading(0.0),
            job: None,
            background: None,
            prioritized: None,
            next_job: 1,
            no_auto: Vec::new(),
            pending: Default::default(),
            history: Vec::new(),
            drafts: HashMap::new(),
            last_collection: None,
            focus: Focus::AnswerA,
            zoom: false,
            mode: Mode::Review,
            message: None,
            last_search: None,
            matches: Vec::new(),
            progress: None,
            both_orders_changed: false,
            stats: None,
            both_orders: false,
            judge_eval: None,
            batch: None,
            help_scroll: 0,
            importing: false,
            reasoning_expanded: false,
            keys_seen: 0,
            dirty: true,
            quit: false,
        }
    }

    /// The effects to run once at start.
    pub fn init(&self) -> Vec<Effect> {
        vec![self.load_queue(self.resume)]
    }

    /// Reload the queue as the filter and the narrowing say, staying on `keep` if it is in it.
    pub fn load_queue(&self, keep: Option<i64>) -> Effect {
        Effect::LoadQueue {
            filter: self.filter,
            narrow: self.narrow.clone(),
            keep,
        }
    }

    pub fn current_id(&self) -> Option<i64> {
        self.queue.get(self.cursor).map(|q| q.id)
    }

    /// The case after the current one in the queue: the one to judge in the background.
    pub fn next_id(&self) -> Option<i64> {
        self.queue.get(self.cursor + 1).map(|q| q.id)
    }

    /// The settings as the config file keeps them.
    pub fn workbench_config(&self) -> crate::config::WorkbenchConfig {
        crate::config::WorkbenchConfig {
            auto_advance: Some(self.auto_advance),
            show_queue: self.show_queue,
            blind: Some(self.blind),
            blind_reasoning: Some(self.blind_reasoning),
            // Saved only once changed here: `--both-orders` is for one session.
            both_orders: self.both_orders_changed.then_some(self.both_orders),
            // Set in the file or on the command line only.
            prefetch_sequences: None,
        }
    }

    pub fn queue_visible(&self) -> bool {
        self.show_queue.unwrap_or(self.size.0 >= 120)
    }

    pub fn has_unsaved_edits(&self) -> bool {
        self.drafts.values().any(|d| !d.is_empty())
            || matches!(&self.mode, Mode::Edit(e) if e.target != EditTarget::Note)
    }

    /// The decision waiting to be written for a case, if any (the newest one).
    pub fn pending_decision(&self, case_id: i64) -> Option<&PendingWrite> {
        self.pending
            .iter()
            .rev()
            .find(|p| p.case_id == case_id && p.action.is_some_and(ReviewAction::is_decision))
    }

    /// Writes still on their way to the database for a case.
    pub fn is_pending(&self, case_id: i64) -> bool {
        self.pending.iter().any(|p| p.case_id == case_id)
    }

    /// Blind mode hides the model's verdict on this case: it is not decided yet.
    pub fn verdict_hidden(&self, case_id: i64) -> bool {
        if !self.blind || self.pending_decision(case_id).is_some() {
            return false;
        }
        match self.case.as_ref().filter(|c| c.case.id == case_id) {
            Some(c) => c.review.decision.is_none(),
            None => self
                .queue
                .iter()
                .find(|q| q.id == case_id)
                .is_none_or(|q| q.decided.is_none()),
        }
    }

    /// Blind mode hides the model's rubric and analysis on this case too.
    pub fn reasoning_hidden(&self, case_id: i64) -> bool {
        self.blind_reasoning && self.verdict_hidden(case_id)
    }

    /// The text to highlight in the panes: the last search, while the case on screen is
    /// one of its matches.
    pub fn highlight(&self) -> Option<&str> {
        let id = self.case.as_ref()?.case.id;
        self.last_search
            .as_deref()
            .filter(|q| !q.is_empty() && self.matches.contains(&id))
    }

    pub fn draft(&self, case_id: i64) -> Option<&Draft> {
        self.drafts.get(&case_id).filter(|d| !d.is_empty())
    }

    /// The job streaming into the judge pane of the case on screen, if any.
    pub fn visible_job(&self) -> Option<&Job> {
        let id = self.case.as_ref()?.case.id;
        self.job.as_ref().filter(|j| j.case_id == id)
    }

    /// The jobs in flight: the first one, then the background one.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.job.iter().chain(self.background.iter())
    }

    /// How many jobs the worker runs at once (its sequences; 1 when it says nothing).
    pub fn judge_slots(&self) -> usize {
        match &self.model {
            ModelState::Ready(info) => info.sequences.max(1) as usize,
            _ => 1,
        }
    }

    pub fn model_ready(&self) -> bool {
        matches!(self.model, ModelState::Ready(_))
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.say(text, Level::Info);
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.say(text, Level::Warn);
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.say(text, Level::Error);
    }

    fn say(&mut self, text: impl Into<String>, level: Level) {
        self.message = Some(Message {
            text: text.into(),
            level,
            at: self.now,
        });
    }
}
