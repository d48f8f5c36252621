//! The judge worker: one thread owns llama.cpp (backend, model, context) and serves
//! commands; everything it reports is an [`Event`] tagged with its job.

use super::api::{Command, Event, JobId, JudgeConfig, JudgeMode, JudgeRequest, ModelInfo};
use super::engine::{
    BACKGROUND_CHUNK, Engine, Flow, HOLD_BACKGROUND, LoadedModel, Priority, Progress, RunError,
    RunOptions,
};
use crate::domain::{Case, NewJudgment};
use anyhow::{Result, anyhow, bail};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

pub use super::config::{config_from_select, resolve_model_path};

/// Events go to this callback, on the worker thread.
pub type Emit = Box<dyn Fn(Event) + Send + 'static>;

pub struct JudgeHandle {
    tx: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl JudgeHandle {
    /// Spawns the worker thread; it loads the model (emitting Loading/Ready or Unavailable)
    /// and then serves commands.
    pub fn spawn(config: JudgeConfig, emit: Emit) -> JudgeHandle {
        Self::spawn_thread(move |rx, emit| serve(&config, &rx, emit), emit)
    }

    /// Spawns a worker that judges through an OpenAI-compatible server: the same commands
    /// and events as the in-process worker.
    pub fn spawn_remote(config: super::remote::RemoteConfig, emit: Emit) -> JudgeHandle {
        Self::spawn_thread(
            move |rx, emit| super::remote::serve(&config, &rx, &*emit),
            emit,
        )
    }

    /// The in-process model or a server, as the backend choice says.
    pub fn spawn_backend(backend: super::Backend, emit: Emit) -> JudgeHandle {
        match backend {
            super::Backend::Local(c) => Self::spawn(c, emit),
            super::Backend::Remote(c) => Self::spawn_remote(c, emit),
        }
    }

    fn spawn_thread(
        serve: impl FnOnce(Receiver<Command>, Rc<dyn Fn(Event)>) + Send + 'static,
        emit: Emit,
    ) -> JudgeHandle {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("rubricate-judge".into())
            .spawn(move || worker_main(serve, rx, emit))
            .map_err(|e| tracing::error!("cannot start the judge thread: {e}"))
            .ok();
        JudgeHandle { tx, thread }
    }

    /// Never blocks, never panics if the worker is gone.
    pub fn send(&self, cmd: Command) {
        let _ = self.tx.send(cmd);
    }
}

impl Drop for JudgeHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn worker_main(
    serve: impl FnOnce(Receiver<Command>, Rc<dyn Fn(Event)>),
    rx: Receiver<Command>,
    emit: Emit,
) {
    let emit: Rc<dyn Fn(Event)> = Rc::from(emit as Box<dyn Fn(Event)>);
    let guarded = {
        let emit = emit.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || serve(rx, emit)))
    };
    if let Err(panic) = guarded {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown error".into());
        tracing::error!("judge worker panicked: {what}");
        emit(Event::Unavailable(format!(
            "the judge stopped after an internal error ({what}); restart rubricate (details in the log file)"
        )));
    }
}

/// What the worker does with commands that arrive while a job runs.
pub(crate) struct Inbox<'a> {
    rx: &'a Receiver<Command>,
    queue: VecDeque<JudgeRequest>,
    shutdown: bool,
    /// Running jobs asked to stop (several run at once in batched judging).
    stop: std::collections::HashSet<JobId>,
    /// The job the reviewer watches ([`Command::Prioritize`]).
    foreground: Option<JobId>,
}

impl Inbox<'_> {
    pub(crate) fn new(rx: &Receiver<Command>) -> Inbox<'_> {
        Inbox {
            rx,
            queue: VecDeque::new(),
            shutdown: false,
            stop: Default::default(),
            foreground: None,
        }
    }

    /// Take in everything waiting while several jobs run: a cancel of one that is not
    /// queued marks it to stop.
    pub(crate) fn poll_all(&mut self, emit: &dyn Fn(Event)) {
        loop {
            match self.rx.try_recv() {
                Ok(Command::Cancel(job)) => {
                    let before = self.queue.len();
                    self.queue.retain(|r| r.job != job);
                    if self.queue.len() != before {
                        emit(Event::Cancelled { job });
                    } else {
                        self.stop.insert(job);
                    }
                }
                Ok(cmd) => {
                    self.take(cmd, None, emit);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.shutdown = true;
                    break;
                }
            }
        }
    }

    /// Take in everything waiting; true if the running job `current` must stop.
    pub(crate) fn poll(&mut self, current: JobId, emit: &dyn Fn(Event)) -> bool {
        let mut stop = false;
        loop {
            match self.rx.try_recv() {
                Ok(cmd) => stop |= self.take(cmd, Some(current), emit),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.shutdown = true;
                    stop = true;
                    break;
                }
            }
        }
        stop || self.shutdown
    }

    /// Handle one command; true if it stops the running job.
    pub(crate) fn take(
        &mut self,
        cmd: Command,
        current: Option<JobId>,
        emit: &dyn Fn(Event),
    ) -> bool {
        match cmd {
            Command::Judge(req) => {
                self.queue.push_back(*req);
                false
            }
            Command::Cancel(job) if Some(job) == current => true,
            Command::Cancel(job) => {
                let before = self.queue.len();
                self.queue.retain(|r| r.job != job);
                if self.queue.len() != before {
                    emit(Event::Cancelled { job });
                }
                false
            }
            Command::Prioritize(job) => {
                self.foreground = Some(job);
                false
            }
            Command::Shutdown => {
                self.shutdown = true;
                true
            }
        }
    }
}

/// The event a job's progress becomes (nothing for a tick).
fn progress_event(job: JobId, p: &Progress) -> Option<Event> {
    match p {
        Progress::Prefill { done, total } => Some(Event::Prefill {
            job,
            done: *done,
            total: *total,
        }),
        Progress::Token(seg) => Some(Event::Token {
            job,
            section: seg.section,
            text: seg.text.clone(),
        }),
        Progress::Tick => None,
    }
}

/// The event that reports how a job ended.
fn outcome_event(job: JobId, r: Result<NewJudgment, RunError>) -> Event {
    match r {
        Ok(judgment) => Event::Done {
            job,
            judgment: Box::new(judgment),
        },
        Err(RunError::Stopped) => Event::Cancelled { job },
        Err(RunError::Failed(error)) => {
            tracing::warn!("judge job {} failed: {error}", job.0);
            Event::Failed { job, error }
        }
    }
}

fn serve(config: &JudgeConfig, rx: &Receiver<Command>, emit: Rc<dyn Fn(Event)>) {
    let progress_emit = emit.clone();
    let lm = match LoadedModel::load(config, move |progress| {
        progress_emit(Event::Loading { progress })
    }) {
        Ok(lm) => lm,
        Err(msg) => return serve_unavailable(rx, &*emit, msg),
    };
    let mut engine = match Engine::new(&lm, config) {
        Ok(e) => e,
        Err(msg) => return serve_unavailable(rx, &*emit, msg),
    };
    emit(Event::Ready(engine.info().clone()));
    let opts = RunOptions::from_config(config);
    if engine.slots() > 1 {
        return serve_many(rx, &*emit, &mut engine, &opts);
    }
    serve_jobs(rx, &*emit, &mut |req, on| {
        engine.run(req, &opts, on).map(|out| out.judgment)
    });
}

/// Several jobs at once, as sequences of one llama.cpp batch ([`Engine::run_many`]): a job
/// that arrives while others run joins at the next step; a cancel stops only its own job.
fn serve_many(
    rx: &Receiver<Command>,
    emit: &dyn Fn(Event),
    engine: &mut Engine,
    opts: &RunOptions,
) {
    let inbox = std::cell::RefCell::new(Inbox::new(rx));
    loop {
        {
            let mut ib = inbox.borrow_mut();
            if ib.shutdown {
                return;
            }
            if ib.queue.is_empty() {
                match rx.recv() {
                    Ok(cmd) => {
                        ib.take(cmd, None, emit);
                        continue;
                    }
                    Err(_) => return,
                }
            }
        }
        let mut next = || {
            let mut ib = inbox.borrow_mut();
            ib.poll_all(emit);
            if ib.shutdown {
                return None;
            }
            let req = ib.queue.pop_front()?;
            emit(Event::Started { job: req.job });
            Some(req)
        };
        let mut on = |req: &JudgeRequest, p: Progress| -> Flow {
            let job = req.job;
            if let Some(e) = progress_event(job, &p) {
                emit(e);
            }
            let ib = inbox.borrow();
            if ib.shutdown || ib.stop.contains(&job) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        };
        let mut done = |req: JudgeRequest, r: Result<super::engine::RunOutcome, RunError>| {
            let job = req.job;
            inbox.borrow_mut().stop.remove(&job);
            emit(outcome_event(job, r.map(|out| out.judgment)));
        };
        let foreground = || inbox.borrow().foreground;
        let priority = Priority {
            foreground: &foreground,
            chunk: BACKGROUND_CHUNK,
            hold: HOLD_BACKGROUND,
        };
        if let Err(e) = engine.run_many_with(opts, Some(priority), &mut next, &mut on, &mut done) {
            tracing::error!("batched judging stopped: {e}");
        }
    }
}

/// Judges one request, reporting progress to the callback and stopping when it says so.
pub(crate) type RunJob<'a> = dyn FnMut(&JudgeRequest, &mut dyn FnMut(Progress) -> Flow) -> Result<NewJudgment, RunError>
    + 'a;

/// One job after another until shutdown: the loop every backend shares. `run` judges one
/// request, reporting progress to `on` and stopping when `on` says so.
pub(crate) fn serve_jobs(rx: &Receiver<Command>, emit: &dyn Fn(Event), run: &mut RunJob<'_>) {
    let mut inbox = Inbox::new(rx);
    loop {
        if inbox.shutdown {
            return;
        }
        let req = match inbox.queue.pop_front() {
            Some(r) => r,
            None => match rx.recv() {
                Ok(cmd) => {
                    inbox.take(cmd, None, emit);
                    continue;
                }
                Err(_) => return,
            },
        };
        let job = req.job;
        emit(Event::Started { job });
        let mut on = |p: Progress| -> Flow {
            if let Some(e) = progress_event(job, &p) {
                emit(e);
            }
            if inbox.poll(job, emit) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        };
        emit(outcome_event(job, run(&req, &mut on)));
    }
}

/// The model cannot be used: say so once, then answer every job with the same reason.
pub(crate) fn serve_unavailable(rx: &Receiver<Command>, emit: &dyn Fn(Event), msg: String) {
    tracing::error!("judge unavailable: {msg}");
    emit(Event::Unavailable(msg.clone()));
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Command::Judge(req) => emit(Event::Failed {
                job: req.job,
                error: format!("the judge is not available: {msg}"),
            }),
            Command::Cancel(_) | Command::Prioritize(_) => {}
            Command::Shutdown => return,
        }
    }
}

/// How a blocking job ended.
#[derive(Debug)]
pub enum JobOutcome {
    Done(Box<NewJudgment>),
    Cancelled,
    Failed(String),
}

/// A worker driven synchronously, for the CLI, the bench and tests.
pub struct BlockingJudge {
    handle: JudgeHandle,
    rx: Receiver<Event>,
    info: ModelInfo,
    next_job: u64,
}

impl BlockingJudge {
    /// Start a worker and wait until its model is loaded; an unusable model is an error
    /// whose message says how to fix it.
    pub fn start(config: JudgeConfig) -> Result<BlockingJudge> {
        Self::start_backend(super::Backend::Local(config))
    }

    /// [`BlockingJudge::start`] for either backend (a server is asked who it is first).
    pub fn start_backend(backend: super::Backend) -> Result<BlockingJudge> {
        let (tx, rx) = mpsc::channel();
        let handle = JudgeHandle::spawn_backend(
            backend,
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        );
        loop {
            match rx.recv() {
                Ok(Event::Ready(info)) => {
                    return Ok(BlockingJudge {
                        handle,
                        rx,
                        info,
                        next_job: 1,
                    });
                }
                Ok(Event::Unavailable(msg)) => bail!("{msg}"),
                Ok(_) => {}
                Err(_) => bail!("the judge worker stopped while loading the model"),
            }
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn handle(&self) -> &JudgeHandle {
        &self.handle
    }

    /// Judge one case and wait for the result.
    pub fn judge(&mut self, case: Case, mode: JudgeMode, swapped: bool) -> Result<NewJudgment> {
        match self.judge_with(case, mode, swapped, |_| true)? {
            JobOutcome::Done(j) => Ok(*j),
            JobOutcome::Cancelled => Err(anyhow!("the judge job was cancelled")),
            JobOutcome::Failed(e) => Err(anyhow!("{e}")),
        }
    }

    /// Judge one case; `watch` sees every event of the job and is also called with `None`
    /// every 100 ms; returning false cancels the job.
    pub fn judge_with(
        &mut self,
        case: Case,
        mode: JudgeMode,
        swapped: bool,
        mut watch: impl FnMut(Option<&Event>) -> bool,
    ) -> Result<JobOutcome> {
        let job = JobId(self.next_job);
        self.next_job += 1;
        self.handle.send(Command::Judge(Box::new(JudgeRequest {
            job,
            case,
            mode,
            swapped,
        })));
        let mut cancel_sent = false;
        loop {
            let event = match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => bail!("the judge worker stopped"),
            };
            if let Some(e) = &event
                && e.job() != Some(job)
            {
                continue;
            }
            let go_on = watch(event.as_ref());
            if !go_on && !cancel_sent {
                self.handle.send(Command::Cancel(job));
                cancel_sent = true;
            }
            match event {
                Some(Event::Done { judgment, .. }) => return Ok(JobOutcome::Done(judgment)),
                Some(Event::Cancelled { .. }) => return Ok(JobOutcome::Cancelled),
                Some(Event::Failed { error, .. }) => return Ok(JobOutcome::Failed(error)),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn request(job: u64) -> Command {
        Command::Judge(Box::new(JudgeRequest {
            job: JobId(job),
            case: Case {
                id: job as i64,
                source: "t".into(),
                source_id: None,
                prompt: vec![],
                answer_a: String::new(),
                answer_b: String::new(),
                source_label: None,
                content_hash: String::new(),
                meta: serde_json::Value::Null,
                category: None,
                difficulty: None,
            },
            mode: JudgeMode::Full,
            swapped: false,
        }))
    }

    #[test]
    fn commands_during_a_job_queue_cancel_and_stop() {
        let (tx, rx) = mpsc::channel();
        let seen = RefCell::new(Vec::new());
        let emit = |e: Event| seen.borrow_mut().push(e);
        let mut inbox = Inbox::new(&rx);
        let running = JobId(1);
        // New jobs wait in order; cancelling a waiting one drops it and says so.
        tx.send(request(2)).unwrap();
        tx.send(request(3)).unwrap();
        tx.send(Command::Cancel(JobId(2))).unwrap();
        assert!(!inbox.poll(running, &emit));
        assert_eq!(
            inbox.queue.iter().map(|r| r.job).collect::<Vec<_>>(),
            vec![JobId(3)]
        );
        assert!(matches!(
            seen.borrow().as_slice(),
            [Event::Cancelled { job: JobId(2) }]
        ));
        // Cancelling an unknown job changes nothing.
        tx.send(Command::Cancel(JobId(99))).unwrap();
        assert!(!inbox.poll(running, &emit));
        assert_eq!(seen.borrow().len(), 1);
        // Naming the watched job stops nothing; the batched loop reads it before each batch.
        tx.send(Command::Prioritize(JobId(3))).unwrap();
        assert!(!inbox.poll(running, &emit));
        assert_eq!(inbox.foreground, Some(JobId(3)));
        assert_eq!(seen.borrow().len(), 1);
        // Cancelling the running job stops it; the queue stays.
        tx.send(Command::Cancel(running)).unwrap();
        assert!(inbox.poll(running, &emit));
        assert_eq!(inbox.queue.len(), 1);
        // Shutdown stops the job and the worker; so does a dropped handle.
        tx.send(Command::Shutdown).unwrap();
        assert!(inbox.poll(running, &emit) && inbox.shutdown);
        let (tx2, rx2) = mpsc::channel::<Command>();
        drop(tx2);
        let mut orphan = Inbox::new(&rx2);
        assert!(orphan.poll(running, &emit) && orphan.shutdown);
    }
}
