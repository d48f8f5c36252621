//! Writes to the database off the UI thread, in the order they were asked for.
//!
//! Another program (a long import, a second workbench) may hold SQLite's write lock for
//! seconds. The UI must keep drawing and taking keys meanwhile, and no decision may be
//! lost or land on the wrong case: every write carries its case id from the moment of
//! the key press, the writer retries a busy database until the write goes through, and
//! it reports each outcome (done, waiting, failed for good) back as a message.
//! Reads stay on the UI thread: in WAL mode readers are never blocked by a writer.

use super::state::Msg;
use crate::domain::{NewJudgment, NewReview};
use crate::sanitize::visible_line;
use crate::store::Store;
use anyhow::{Context as _, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one try waits for the lock before the writer reports "waiting".
const TRY_WAIT: Duration = Duration::from_millis(150);
/// The pause between two tries while the database stays busy.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One write, with everything it needs bound at the time it was asked for.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Review(NewReview),
    Undo {
        case_id: i64,
    },
    Rubric {
        case_id: i64,
        body: String,
    },
    Judgment(Box<NewJudgment>),
    /// A judgment given a library rubric (saved first when it is the reviewer's own).
    LinkedJudgment {
        judgment: Box<NewJudgment>,
        rubric: super::state::RubricLink,
    },
    /// A named rubric version (the library browser's save and restore).
    LibraryRubric {
        name: String,
        body: String,
        case_id: Option<i64>,
        note: Option<String>,
    },
    ImportSample,
    /// A refined text of one answer (curation).
    Revision {
        case_id: i64,
        side: crate::domain::Verdict,
        body: String,
    },
    /// Fork a case (curation).
    Derive {
        parent: i64,
        rejected: crate::domain::Verdict,
        chosen: String,
    },
    /// Put a case into a collection (curation).
    Tag {
        case_id: i64,
        collection: String,
    },
}

impl WriteOp {
    pub fn case_id(&self) -> Option<i64> {
        match self {
            WriteOp::Review(r) => Some(r.case_id),
            WriteOp::Undo { case_id } | WriteOp::Rubric { case_id, .. } => Some(*case_id),
            WriteOp::Judgment(j) => Some(j.case_id),
            WriteOp::LinkedJudgment { judgment, .. } => Some(judgment.case_id),
            WriteOp::LibraryRubric { .. } => None,
            WriteOp::Derive { parent, .. } => Some(*parent),
            WriteOp::Revision { case_id, .. } | WriteOp::Tag { case_id, .. } => Some(*case_id),
            WriteOp::ImportSample => None,
        }
    }

    /// A row of the reviews table (the app tracks those as pending).
    pub fn is_review(&self) -> bool {
        matches!(self, WriteOp::Review(_) | WriteOp::Undo { .. })
    }

    /// What the write is, for messages.
    pub fn describe(&self) -> String {
        match self {
            WriteOp::Review(r) => match (r.action, r.verdict) {
                (Some(a), Some(v)) => format!("decision {} {v}", a.as_str()),
                (Some(a), None) => a.as_str().to_string(),
                (None, _) => "review".to_string(),
            },
            WriteOp::Undo { .. } => "undo".to_string(),
            WriteOp::Rubric { .. } => "the edited rubric".to_string(),
            WriteOp::Judgment(_) | WriteOp::LinkedJudgment { .. } => {
                "the model's judgment".to_string()
            }
            WriteOp::LibraryRubric { name, .. } => {
                format!("the rubric {}", visible_line(name))
            }
            WriteOp::ImportSample => "the sample import".to_string(),
            WriteOp::Revision { side, .. } => format!("the refined answer {side}"),
            WriteOp::Tag { .. } => "the collection tag".to_string(),
            WriteOp::Derive { .. } => "the derived case".to_string(),
        }
    }
}

/// True when an error only means "someone else holds the lock right now".
pub fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

/// Carry out one write and read back what the app needs to show. The write itself is
/// one statement or one transaction, so a busy failure has stored nothing; the read
/// after it is retried on its own (`retry`), so a write is never done twice.
#[allow(clippy::type_complexity)] // `retry` runs one step of the write until done
pub fn perform(
    store: &mut Store,
    reviewer: &str,
    op: &WriteOp,
    retry: &mut dyn FnMut(&mut dyn FnMut() -> Result<()>) -> Result<()>,
) -> Result<Msg> {
    match op {
        WriteOp::Review(r) => {
            let action = r.action.context("a review row needs an action")?;
            retry(&mut || store.append_review(r).map(|_| ()))?;
            let mut state = None;
            retry(&mut || {
                state = Some(store.review_state(r.case_id, reviewer)?);
                Ok(())
            })?;
            Ok(Msg::ReviewSaved {
                case_id: r.case_id,
                action,
                state: state.expect("set by a successful try"),
            })
        }
        WriteOp::Undo { case_id } => {
            let mut undid = None;
            retry(&mut || {
                let before = store.review_state(*case_id, reviewer)?;
                undid = match store.undo_last(*case_id, reviewer)? {
                    Some(_) => before.live.last().map(|r| r.action),
                    None => None,
                };
                Ok(())
            })?;
            let mut state = None;
            retry(&mut || {
                state = Some(store.review_state(*case_id, reviewer)?);
                Ok(())
            })?;
            Ok(Msg::Undone {
                case_id: *case_id,
                undid,
                state: state.expect("set by a successful try"),
            })
        }
        WriteOp::Rubric { case_id, body } => {
            let mut saved = None;
            retry(&mut || {
                saved =
                    Some(store.save_rubric(&format!("case-{case_id}"), body, Some(*case_id))?);
                Ok(())
            })?;
            let saved = saved.expect("set by a successful try");
            Ok(Msg::RubricSaved {
                name: saved.name,
                version: saved.version,
            })
        }
        WriteOp::Judgment(j) => {
            let mut id = 0;
            retry(&mut || {
                id = store.insert_judgment(j)?;
                Ok(())
            })?;
            let mut stored = None;
            retry(&mut || {
                stored = store.get_judgment(id)?;
                Ok(())
            })?;
            let stored = stored.context("the judgment just stored cannot be read back")?;
            Ok(Msg::JudgmentStored(Box::new(stored)))
        }
        WriteOp::LinkedJudgment { judgment, rubric } => {
            let mut id = 0;
            retry(&mut || {
                // One transaction: the rubric version and the judgment that names it.
                let tx = store.conn().unchecked_transaction()?;
                let rubric_id = match rubric {
                    super::state::RubricLink::Id(id) => *id,
                    super::state::RubricLink::Save {
                        name,
                        body,
                        case_id,
                    } => {
                        store
                            .save_rubric_unless_same(name, body, Some(*case_id), Some(reviewer))?
                            .id
                    }
                };
                id = store.insert_judgment_with_rubric(judgment, Some(rubric_id))?;
                tx.commit()?;
                Ok(())
            })?;
            let mut stored = None;
            retry(&mut || {
                stored = store.get_judgment(id)?;
                Ok(())
            })?;
            let stored = stored.context("the judgment just stored cannot be read back")?;
            Ok(Msg::JudgmentStored(Box::new(stored)))
        }
        WriteOp::LibraryRubric {
            name,
            body,
            case_id,
            note,
        } => {
            let mut saved = None;
            retry(&mut || {
                saved = Some(store.save_rubric_by(
                    name,
                    body,
                    *case_id,
                    Some(reviewer),
                    note.as_deref(),
                )?);
                Ok(())
            })?;
            Ok(Msg::LibrarySaved(Box::new(
                saved.expect("set by a successful try"),
            )))
        }
        WriteOp::Derive {
            parent,
            rejected,
            chosen,
        } => {
            let mut id = 0;
            retry(&mut || {
                id = crate::derive::derive(store, *parent, *rejected, chosen, reviewer)?;
                Ok(())
            })?;
            Ok(Msg::Curated {
                case_id: *parent,
                text: format!(
                    "derived case {id} from case {parent}: answer {} kept as rejected, yours chosen (: {id} opens it)",
                    rejected.as_str()
                ),
                reload: false,
            })
        }
        WriteOp::Revision {
            case_id,
            side,
            body,
        } => {
            let mut rev = None;
            retry(&mut || {
                rev = Some(store.add_revision(*case_id, *side, body, reviewer, None)?);
                Ok(())
            })?;
            let rev = rev.expect("set by a successful try");
            Ok(Msg::Curated {
                case_id: *case_id,
                text: format!(
                    "answer {side} refined (revision {}); exports use your text, the original is kept",
                    rev.id
                ),
                reload: true,
            })
        }
        WriteOp::Tag {
            case_id,
            collection,
        } => {
            let mut added = false;
            retry(&mut || {
                added = store.set_in_collection(collection, *case_id, true, reviewer)?;
                Ok(())
            })?;
            let name = crate::sanitize::visible_line(collection);
            Ok(Msg::Curated {
                case_id: *case_id,
                text: if added {
                    format!("tagged into {name}")
                } else {
                    format!("already in {name}")
                },
                reload: false,
            })
        }
        WriteOp::ImportSample => {
            let mut summary = String::new();
            retry(&mut || {
                summary = crate::formats::import::import_bundled_sample(store)?.summary();
                Ok(())
            })?;
            Ok(Msg::Imported(summary))
        }
    }
}

/// The message for a write that failed for good.
pub fn failed(op: &WriteOp, e: &anyhow::Error) -> Msg {
    Msg::WriteFailed {
        case_id: op.case_id(),
        review: op.is_review(),
        what: op.describe(),
        error: visible_line(&format!("{e:#}")),
    }
}

/// The writer thread and its queue.
pub struct Writer {
    tx: Option<Sender<WriteOp>>,
    thread: Option<JoinHandle<()>>,
    /// Set when the app leaves: a write still waiting for the lock gives up.
    abandon: Arc<AtomicBool>,
    done: Receiver<()>,
}

impl Writer {
    /// Start the writer on its own connection to the same database file.
    pub fn spawn(mut store: Store, reviewer: String, out: Sender<Msg>) -> Result<Writer> {
        // Short tries: the UI hears about a busy database within a fraction of a second.
        store.conn().busy_timeout(TRY_WAIT)?;
        let (tx, rx) = mpsc::channel::<WriteOp>();
        let (done_tx, done) = mpsc::channel();
        let abandon = Arc::new(AtomicBool::new(false));
        let stop = abandon.clone();
        let thread = std::thread::Builder::new()
            .name("rubricate-writer".into())
            .spawn(move || {
                for op in rx {
                    let msg = run_one(&mut store, &reviewer, &op, &out, &stop);
                    if out.send(msg).is_err() {
                        break;
                    }
                }
                let _ = done_tx.send(());
            })
            .context("cannot start the database writer thread")?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            abandon,
            done,
        })
    }

    pub fn send(&self, op: WriteOp) {
        if let Some(tx) = &self.tx {
            // The thread only ends when this sender is dropped.
            let _ = tx.send(op);
        }
    }

    /// Finish the queued writes, waiting at most `grace`; returns whether all were done.
    pub fn finish(mut self, grace: Duration) -> bool {
        self.tx = None;
        let ok = self.done.recv_timeout(grace).is_ok();
        if ok {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        } else {
            // Still waiting for the lock: let the thread give up; do not wait for it.
            self.abandon.store(true, Ordering::SeqCst);
        }
        ok
    }
}

fn run_one(
    store: &mut Store,
    reviewer: &str,
    op: &WriteOp,
    out: &Sender<Msg>,
    abandon: &AtomicBool,
) -> Msg {
    let mut told = false;
    let started = Instant::now();
    let mut retry = |f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        loop {
            match f() {
                Err(e) if is_busy(&e) && !abandon.load(Ordering::SeqCst) => {
                    if !told {
                        told = true;
                        let _ = out.send(Msg::WriteWaiting {
                            case_id: op.case_id(),
                            what: op.describe(),
                        });
                    }
                    std::thread::sleep(RETRY_PAUSE);
                }
                other => return other,
            }
        }
    };
    match perform(store, reviewer, op, &mut retry) {
        Ok(m) => {
            if told {
                tracing::info!(
                    "{} written after waiting {:.1} s for the database",
                    op.describe(),
                    started.elapsed().as_secs_f64()
                );
            }
            m
        }
        Err(e) => {
            tracing::error!("write failed: {}: {e:#}", op.describe());
            failed(op, &e)
        }
    }
}

/// Run a write on the calling thread, one try (tests and the benchmark, which use an
/// in-memory database that a second connection cannot share).
pub fn perform_inline(store: &mut Store, reviewer: &str, op: &WriteOp) -> Msg {
    let mut once = |f: &mut dyn FnMut() -> Result<()>| f();
    match perform(store, reviewer, op, &mut once) {
        Ok(m) => m,
        Err(e) => failed(op, &e),
    }
}
