//! The I/O edge of the workbench: the terminal, an input thread, the judge worker, the
//! database, and one loop that turns all of it into messages for `update`.
//!
//! The loop drains every pending message before drawing, draws only when something
//! changed — at once after a key press, else at most once per frame tick (streamed
//! tokens) — and blocks when idle (no busy polling).

use super::state::{
    App, Effect, JudgeEval, LoadedCase, Msg, NarrowKind, NarrowOption, QueueItem, QueueNarrowing,
    Settings,
};
use super::stats_view::StatsView;
use super::terminal::{StderrToFile, TerminalGuard};
use super::writer::{WriteOp, Writer, perform_inline};
use super::{ui, update};
use crate::cli::ReviewArgs;
use crate::context::Context;
use crate::judge::{self, Command, Event, JudgeHandle, JudgeRequest};
use crate::sanitize::visible_line;
use crate::store::Store;
use anyhow::{Context as _, Result};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// One frame per tick at most for everything but keys: 30 frames per second.
pub const FRAME: Duration = Duration::from_millis(33);
/// How long the loop sleeps when nothing happens (then it ticks to expire messages).
const IDLE: Duration = Duration::from_secs(1);
/// How long quitting waits for writes still queued.
const FLUSH_GRACE: Duration = Duration::from_secs(2);
/// Seed of the judge's sampler in the workbench.
const SEED: u32 = 42;

pub fn run(ctx: &Context, args: &ReviewArgs) -> Result<ExitCode> {
    let store = ctx.open_store_creating()?;
    // A mistyped collection or category is said on the command line, not inside the screen.
    if args.collection.is_some() || args.category.is_some() {
        crate::library::select_cases(
            &store,
            &crate::cli::CaseSelect {
                collection: args.collection.clone(),
                category: args.category.clone(),
                source: None,
                filter: crate::store::CaseFilter::All,
            },
            &ctx.reviewer,
        )?;
    }
    let log_path = log_file()?;
    let (tx, rx) = mpsc::channel::<Msg>();

    // Settings: the command line over the config file over the defaults. A broken config
    // file is reported and the defaults are used (the reviewer can still work).
    let (config, config_error) = match crate::config::Config::load() {
        Ok(c) => (c, None),
        Err(e) => (crate::config::Config::default(), Some(format!("{e:#}"))),
    };
    let wb = &config.workbench;
    // Where this reviewer left off in this database (the filter too, unless given).
    let resume_file = super::resume::file().ok();
    let place = resume_file
        .as_deref()
        .and_then(|f| super::resume::load(f, &ctx.db_path, &ctx.reviewer));
    let settings = Settings {
        db_label: ctx.db_path.display().to_string(),
        reviewer: ctx.reviewer.clone(),
        filter: args.filter.or(place.map(|p| p.filter)).unwrap_or_default(),
        source: args.source.clone(),
        auto_advance: !args.no_advance && wb.auto_advance.unwrap_or(true),
        blind: args.blind || wb.blind.unwrap_or(false),
        blind_reasoning: wb.blind_reasoning.unwrap_or(false),
        resume: place.map(|p| p.case_id),
        narrow: QueueNarrowing {
            collection: args.collection.clone(),
            category: args.category.clone(),
            flag_reason: args.flag_reason.clone(),
            source: args.source.clone(),
        },
    };
    let mut app = App::new(settings, Instant::now());
    app.show_queue = wb.show_queue;
    let config_ok = config_error.is_none();
    if let Some(e) = config_error {
        app.warn(format!("{e}; settings will not be saved"));
    }
    app.both_orders = args.both_orders || wb.both_orders.unwrap_or(false);

    // stderr goes to the log before llama.cpp starts: it writes there directly, and that
    // would scribble over the screen. Without a log file the workbench still runs.
    let stderr = match StderrToFile::redirect(&log_path) {
        Ok(r) => Some(r),
        Err(e) => {
            app.warn(format!("{e:#}; llama.cpp messages may disturb the screen"));
            None
        }
    };
    let note = format!(
        "rubricate: the workbench stopped unexpectedly; details are in {}\r\n",
        log_path.display()
    );
    // The terminal first: if this is no terminal, no model is loaded for nothing.
    let mut guard = TerminalGuard::enter(note)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
        .context("cannot draw on this terminal")?;
    terminal.clear()?;
    let size = terminal.size()?;
    app.size = (size.width, size.height);

    let sequences = args
        .prefetch_sequences
        .or(wb.prefetch_sequences)
        .unwrap_or(crate::config::DEFAULT_PREFETCH_SEQUENCES);
    let judge = match judge::backend_from_select(&args.model, SEED, true) {
        Ok(mut backend) => {
            // The in-process judge decodes the next wanted case beside the open one; a
            // server is asked one request at a time (the worker says which in Ready).
            if let judge::Backend::Local(c) = &mut backend {
                c.parallel = sequences;
            }
            let tx = tx.clone();
            Some(JudgeHandle::spawn_backend(
                backend,
                Box::new(move |ev| {
                    let _ = tx.send(Msg::Judge(ev));
                }),
            ))
        }
        Err(e) => {
            let _ = tx.send(Msg::Judge(Event::Unavailable(format!("{e:#}"))));
            None
        }
    };
    spawn_input(tx.clone());
    spawn_signals(tx.clone())?;

    // Writes go through their own connection on their own thread, so a database locked
    // by another program never freezes the screen or loses a key.
    let writer = Writer::spawn(ctx.open_store()?, ctx.reviewer.clone(), tx.clone())?;
    let mut edge = Edge {
        store,
        judge: judge.as_ref().map(|j| j as &dyn JudgeSink),
        reviewer: ctx.reviewer.clone(),
        writer: Some(writer),
        settings_file: crate::paths::config_file().ok().filter(|_| config_ok),
    };
    let result = event_loop(&mut app, &mut edge, &rx, &mut terminal, &mut |_| {});
    // Writes already handed over get a moment to finish (the reviewer was asked before
    // quitting with writes still waiting for a busy database).
    let unwritten = edge.writer.take().is_some_and(|w| !w.finish(FLUSH_GRACE));
    if let (Some(f), Some(case_id)) = (&resume_file, app.current_id()) {
        let place = super::resume::Place {
            case_id,
            filter: app.filter,
        };
        if let Err(e) = super::resume::save(f, &ctx.db_path, &ctx.reviewer, place) {
            tracing::warn!("cannot keep where the reviewer left off: {e:#}");
        }
    }
    drop(terminal);
    guard.restore();
    if unwritten {
        eprintln!(
            "rubricate: the database stayed busy; {} change(s) were not saved",
            app.pending.len()
        );
    }
    // The worker stops within one token or prefill chunk.
    drop(judge);
    drop(stderr);
    result.map(|()| ExitCode::SUCCESS)
}

/// The log file that also takes stderr (the one `crate::logging` writes).
fn log_file() -> Result<PathBuf> {
    Ok(crate::paths::log_dir()?.join(crate::logging::LOG_FILE))
}

fn spawn_input(tx: Sender<Msg>) {
    use crossterm::event::{self, Event as TermEvent, MouseEventKind};
    let spawned = std::thread::Builder::new()
        .name("rubricate-input".into())
        .spawn(move || {
            loop {
                let msg = match event::read() {
                    Ok(TermEvent::Key(k)) => Msg::Key(k),
                    // Motion reports would flood the channel and change nothing.
                    Ok(TermEvent::Mouse(m))
                        if !matches!(m.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)) =>
                    {
                        Msg::Mouse(m)
                    }
                    Ok(TermEvent::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(TermEvent::Paste(text)) => Msg::Paste(text),
                    Ok(_) => continue,
                    Err(e) => {
                        // The terminal is gone (hang-up): nothing more can be read or shown.
                        tracing::error!("cannot read the terminal: {e}");
                        let _ = tx.send(Msg::Terminate);
                        return;
                    }
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the input thread: {e}");
    }
}

fn spawn_signals(tx: Sender<Msg>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])
        .context("cannot install the signal handlers")?;
    std::thread::Builder::new()
        .name("rubricate-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                let _ = tx.send(Msg::Terminate);
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// Where judge commands go: the worker, or (in the benchmark) a token injector.
pub trait JudgeSink {
    fn send(&self, cmd: Command);
}

impl JudgeSink for JudgeHandle {
    fn send(&self, cmd: Command) {
        JudgeHandle::send(self, cmd);
    }
}

/// Run until the app quits or every sender is gone. `after_draw` sees the state of
/// each frame just drawn (the benchmark measures latency with it).
pub fn event_loop<B: Backend>(
    app: &mut App,
    edge: &mut Edge,
    rx: &Receiver<Msg>,
    terminal: &mut Terminal<B>,
    after_draw: &mut dyn FnMut(&App),
) -> Result<()> {
    let mut last_draw: Option<Instant> = None;
    // Keys handled by the last frame: a key press is drawn at once, without waiting for
    // the frame tick, while streamed tokens stay coalesced to one frame per tick.
    let mut drawn_keys = app.keys_seen;
    for fx in app.init() {
        if let Some(m) = edge.execute(fx) {
            dispatch(app, edge, m);
        }
    }
    while !app.quit {
        if app.dirty {
            let due = if app.keys_seen != drawn_keys {
                Duration::ZERO
            } else {
                last_draw.map_or(Duration::ZERO, |t| FRAME.saturating_sub(t.elapsed()))
            };
            if due.is_zero() {
                terminal
                    .draw(|f| ui::draw(f, app))
                    .map_err(|e| anyhow::anyhow!("cannot draw: {e}"))?;
                app.dirty = false;
                drawn_keys = app.keys_seen;
                last_draw = Some(Instant::now());
                after_draw(app);
                continue;
            }
            match rx.recv_timeout(due) {
                Ok(m) => dispatch(app, edge, m),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv_timeout(IDLE) {
                Ok(m) => dispatch(app, edge, m),
                Err(RecvTimeoutError::Timeout) => dispatch(app, edge, Msg::Tick),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        // Coalesce: everything already waiting goes into the same frame.
        while !app.quit {
            match rx.try_recv() {
                Ok(m) => dispatch(app, edge, m),
                Err(_) => break,
            }
        }
    }
    Ok(())
}

/// Apply one message and, depth first, the messages its effects produce, so that a key
/// that opens a case is fully handled before the next key is looked at.
pub fn dispatch(app: &mut App, edge: &mut Edge, msg: Msg) {
    let mut queue = VecDeque::from([msg]);
    while let Some(m) = queue.pop_front() {
        app.now = Instant::now();
        for fx in update::update(app, m) {
            if let Some(result) = edge.execute(fx) {
                queue.push_back(result);
            }
        }
    }
}

/// What effects act on: the database and the judge worker.
pub struct Edge<'a> {
    pub store: Store,
    pub judge: Option<&'a dyn JudgeSink>,
    pub reviewer: String,
    /// `None`: writes run on the calling thread (tests, benchmark).
    pub writer: Option<Writer>,
    /// Where settings changed in the workbench are kept; `None`: not kept (tests).
    pub settings_file: Option<PathBuf>,
}

/// Keep the ids that pass every narrowing given: collection and category through
/// [`crate::library::select_cases`] (the command line's selection), then the flag reason.
fn narrow_ids(
    store: &Store,
    reviewer: &str,
    narrow: &QueueNarrowing,
    ids: Vec<i64>,
) -> Result<Vec<i64>> {
    let mut ids = if narrow.collection.is_some() || narrow.category.is_some() {
        let select = crate::cli::CaseSelect {
            collection: narrow.collection.clone(),
            category: narrow.category.clone(),
            source: None,
            filter: crate::store::CaseFilter::All,
        };
        let keep: std::collections::HashSet<i64> =
            crate::library::select_cases(store, &select, reviewer)?
                .into_iter()
                .collect();
        ids.into_iter().filter(|id| keep.contains(id)).collect()
    } else {
        ids
    };
    if let Some(text) = &narrow.flag_reason {
        let needle = text.to_lowercase();
        let mut kept = Vec::new();
        for id in ids {
            let state = store.review_state(id, reviewer)?;
            if state
                .flag_reason
                .is_some_and(|r| r.to_lowercase().contains(&needle))
            {
                kept.push(id);
            }
        }
        ids = kept;
    }
    Ok(ids)
}

/// Everything the `T` picker offers, each with the number of cases it selects alone:
/// the collections, this reviewer's flag reasons in force, the sources, the categories.
fn narrow_options(store: &Store, reviewer: &str) -> Result<Vec<NarrowOption>> {
    let mut out = Vec::new();
    for c in store.collections()? {
        out.push(NarrowOption {
            kind: NarrowKind::Collection,
            value: c.name,
            cases: c.size,
        });
    }
    for (value, cases) in store.flag_reasons(reviewer)? {
        out.push(NarrowOption {
            kind: NarrowKind::FlagReason,
            value,
            cases,
        });
    }
    for (value, cases) in store.sources()? {
        out.push(NarrowOption {
            kind: NarrowKind::Source,
            value,
            cases,
        });
    }
    for (value, cases) in store.categories(None)? {
        out.push(NarrowOption {
            kind: NarrowKind::Category,
            value,
            cases,
        });
    }
    Ok(out)
}

impl Edge<'_> {
    /// A write goes to the writer thread (its outcome comes back later as a message),
    /// or is done here and now without one.
    fn write(&mut self, op: WriteOp) -> Option<Msg> {
        match &self.writer {
            Some(w) => {
                w.send(op);
                None
            }
            None => Some(perform_inline(&mut self.store, &self.reviewer, &op)),
        }
    }

    /// Carry out one effect; its outcome comes back as a message.
    pub fn execute(&mut self, fx: Effect) -> Option<Msg> {
        match self.try_execute(fx) {
            Ok(m) => m,
            Err(e) => Some(Msg::Error(visible_line(&format!("{e:#}")))),
        }
    }

    fn try_execute(&mut self, fx: Effect) -> Result<Option<Msg>> {
        Ok(match fx {
            Effect::LoadQueue {
                filter,
                narrow,
                keep,
            } => {
                let ids = self
                    .store
                    .case_ids(filter, &self.reviewer, narrow.source.as_deref())?;
                let ids = narrow_ids(&self.store, &self.reviewer, &narrow, ids)?;
                let items = self
                    .store
                    .case_summaries(&ids, &self.reviewer)?
                    .into_iter()
                    .map(|s| QueueItem {
                        id: s.id,
                        source_id: s.source_id,
                        title: s.title,
                        model: s.model,
                        judged: s.judged,
                        decided: s.decided,
                        flagged: s.flagged,
                        category: s.category,
                        difficulty: s.difficulty,
                    })
                    .collect();
                Some(Msg::QueueLoaded {
                    items,
                    total_cases: self.store.case_count()?,
                    keep,
                })
            }
            Effect::LoadCategories { source } => {
                Some(Msg::Categories(self.store.categories(source.as_deref())?))
            }
            Effect::LoadNarrowOptions => Some(Msg::NarrowOptions(narrow_options(
                &self.store,
                &self.reviewer,
            )?)),
            Effect::LoadCase(id) => {
                let case = current_case(&self.store, id)?;
                Some(Msg::CaseLoaded(Box::new(LoadedCase {
                    judgment: self.store.latest_judgment(id, false)?,
                    swap: self.store.latest_judgment(id, true)?,
                    review: self.store.review_state(id, &self.reviewer)?,
                    case,
                })))
            }
            Effect::Judge {
                job,
                case_id,
                mode,
                swapped,
            } => {
                let Some(judge) = self.judge else {
                    return Ok(Some(Msg::Judge(Event::Failed {
                        job,
                        error: "no model is loaded".into(),
                    })));
                };
                let case = current_case(&self.store, case_id)?;
                judge.send(Command::Judge(Box::new(JudgeRequest {
                    job,
                    case,
                    mode,
                    swapped,
                })));
                None
            }
            Effect::Cancel(job) => {
                if let Some(judge) = self.judge {
                    judge.send(Command::Cancel(job));
                }
                None
            }
            Effect::Prioritize(job) => {
                if let Some(judge) = self.judge {
                    judge.send(Command::Prioritize(job));
                }
                None
            }
            Effect::StoreJudgment(j) => self.write(WriteOp::Judgment(j)),
            Effect::StoreLinkedJudgment { judgment, rubric } => {
                self.write(WriteOp::LinkedJudgment { judgment, rubric })
            }
            Effect::LoadLibrary { select } => Some(Msg::LibraryLoaded {
                entries: super::library_io::read_library(&self.store)?,
                select,
            }),
            Effect::SaveLibraryRubric {
                name,
                body,
                case_id,
            } => self.write(WriteOp::LibraryRubric {
                name,
                body,
                case_id,
                note: None,
            }),
            Effect::RestoreRubric { id } => {
                let old = self
                    .store
                    .rubric_by_id(id)?
                    .with_context(|| format!("rubric {id} is no longer in the library"))?;
                self.write(WriteOp::LibraryRubric {
                    note: Some(format!("restored from v{}", old.version)),
                    name: old.name,
                    body: old.body,
                    case_id: old.case_id,
                })
            }
            Effect::PlanBatch {
                rubric_id,
                case_ids,
                both_orders,
            } => Some(Msg::BatchPlanned(Box::new(super::library_io::plan_batch(
                &self.store,
                rubric_id,
                case_ids,
                both_orders,
            )?))),
            Effect::CompareRubrics { arms, case_ids } => Some(Msg::ExperimentLoaded(
                super::library_io::experiment(&self.store, arms, &case_ids, &self.reviewer)?,
            )),
            Effect::AppendReview(r) => self.write(WriteOp::Review(r)),
            Effect::Undo { case_id } => self.write(WriteOp::Undo { case_id }),
            Effect::SaveRubric { case_id, body } => self.write(WriteOp::Rubric { case_id, body }),
            Effect::ImportSample => self.write(WriteOp::ImportSample),
            Effect::LoadJudgeEval { judge } => {
                // The latest run of this very judge: model, profile, backend (a run of the
                // same model under another profile says nothing about this one).
                // A run with a library rubric given measured that rubric, not the judge as it
                // judges in the workbench.
                let run = self
                    .store
                    .eval_runs_of_judge(&judge)?
                    .into_iter()
                    .find(|r| r.run.rubric.is_none());
                Some(Msg::JudgeEvalLoaded(run.map(|r| {
                    Box::new(JudgeEval {
                        run_id: r.id,
                        dataset: r.run.dataset.clone(),
                        numbers: crate::eval::run::numbers_of(&r),
                    })
                })))
            }
            Effect::SaveSettings(wb) => {
                if let Some(path) = &self.settings_file {
                    crate::config::Config::save_workbench_to(path, &wb)?;
                }
                None
            }
            Effect::AddRevision {
                case_id,
                side,
                body,
            } => self.write(WriteOp::Revision {
                case_id,
                side,
                body,
            }),
            Effect::DeriveCase {
                parent,
                rejected,
                chosen,
            } => self.write(WriteOp::Derive {
                parent,
                rejected,
                chosen,
            }),
            Effect::Tag {
                case_id,
                collection,
            } => self.write(WriteOp::Tag {
                case_id,
                collection,
            }),
            Effect::LoadStats => {
                let stats = crate::stats::compute(
                    &self.store,
                    &crate::domain::ReviewerSelection::One(self.reviewer.clone()),
                )?;
                let mut view = StatsView::from_stats(&stats);
                view.eval_runs = self
                    .store
                    .latest_eval_runs(3)?
                    .iter()
                    .map(super::stats_view::eval_run_line)
                    .collect();
                view.rubric_experiments = crate::rubric_experiment::latest_experiments(
                    &self.store,
                    Some(&self.reviewer),
                )?
                .iter()
                .map(crate::rubric_experiment::summary_line)
                .collect();
                Some(Msg::StatsLoaded(Box::new(view)))
            }
            Effect::FindCase { query } => Some(Msg::CaseFound {
                id: self.store.go_to_case(&query)?,
                query,
            }),
            Effect::LoadProgress => {
                // One pass over this reviewer's rows, folded as stats folds them.
                let selection = crate::domain::ReviewerSelection::One(self.reviewer.clone());
                let done = crate::formats::decisions::human_states(&self.store, &selection)?
                    .values()
                    .filter(|h| h.verdict().is_some())
                    .count() as i64;
                Some(Msg::Progress {
                    done,
                    total: self.store.case_count()?,
                })
            }
            Effect::Search { query } => Some(Msg::SearchResult {
                matches: self.store.search_cases(&query)?,
                query,
            }),
            Effect::Quit => None,
        })
    }
}

/// A case as the reviewer and the judge see it: with the newest refined text of each
/// answer in place of the original (the original stays in the database).
fn current_case(store: &Store, id: i64) -> Result<crate::domain::Case> {
    let mut case = store
        .get_case(id)?
        .with_context(|| format!("case {id} is no longer in the database"))?;
    let now = store.current_answers(&case)?;
    case.answer_a = now.a;
    case.answer_b = now.b;
    Ok(case)
}
