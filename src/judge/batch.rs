//! The batch judge loop, one for every command that judges a list of cases
//! (`rubricate judge`, `rubricate rubrics apply`): workers on the in-process model (one)
//! or on a judge server (`--concurrency N` in flight), a progress bar, each finished
//! judgment handed to the caller to save at once (so Ctrl-C keeps what is done), a run
//! stopped when the server goes away.

use super::api::{Command, Event, JobId, JudgeMode, JudgeRequest, ModelInfo};
use super::config::Backend;
use super::remote::RemoteEngine;
use super::worker::JudgeHandle;
use crate::domain::{NewJudgment, Verdict};
use crate::sanitize;
use crate::store::Store;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Exit status after Ctrl-C, as shells report a SIGINT death.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Ctrl-C sets the flag (the run stops after the judgments in flight are cancelled; every
/// one already finished is saved); a second Ctrl-C ends the process at once.
pub fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        EXIT_INTERRUPTED as i32,
        interrupted.clone(),
    )?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;
    Ok(interrupted)
}

/// One judgment to make.
#[derive(Debug, Clone)]
pub struct BatchJob {
    pub case_id: i64,
    pub swapped: bool,
    pub mode: JudgeMode,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct JudgeFailure {
    pub case_id: i64,
    pub error: String,
}

/// What a batch made, as it went.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub saved: usize,
    pub a: usize,
    pub b: usize,
    pub tie: usize,
    pub both_bad: usize,
    pub unparsed: usize,
    pub failed: usize,
    pub tokens: u64,
    pub gen_ms: u64,
}

impl Tally {
    fn add(&mut self, j: &NewJudgment) {
        self.saved += 1;
        match j.verdict {
            Some(Verdict::A) => self.a += 1,
            Some(Verdict::B) => self.b += 1,
            Some(Verdict::Tie) => self.tie += 1,
            Some(Verdict::BothBad) => self.both_bad += 1,
            None => {}
        }
        if !j.parse_ok {
            self.unparsed += 1;
        }
        self.tokens += u64::from(j.tokens_generated.unwrap_or(0));
        self.gen_ms += u64::from(j.ms_generate.unwrap_or(0));
    }

    /// One stream's generation speed (tokens over the time spent generating).
    pub fn rate(&self) -> f64 {
        if self.gen_ms == 0 {
            0.0
        } else {
            self.tokens as f64 * 1000.0 / self.gen_ms as f64
        }
    }
}

/// How a batch ended.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub planned: usize,
    pub tally: Tally,
    pub failures: Vec<JudgeFailure>,
    /// Why the run stopped early (the server went away), if it did.
    pub stopped: Option<String>,
    pub interrupted: bool,
    pub seconds: f64,
}

impl BatchOutcome {
    /// Judgments neither saved nor failed (interrupted or stopped before them).
    pub fn left(&self) -> usize {
        self.planned - self.tally.saved - self.tally.failed
    }

    pub fn ok(&self) -> bool {
        !self.interrupted && self.tally.failed == 0 && self.stopped.is_none()
    }

    pub fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            ExitCode::from(EXIT_INTERRUPTED)
        } else if self.ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    /// Generated tokens per second: over the wall clock with several streams at once (what
    /// the batch achieved), else one stream's speed.
    pub fn tokens_per_second(&self, concurrent: bool) -> f64 {
        if concurrent && self.seconds > 0.0 {
            self.tally.tokens as f64 / self.seconds
        } else {
            self.tally.rate()
        }
    }

    pub fn cases_per_minute(&self) -> f64 {
        self.tally.saved as f64 * 60.0 / self.seconds.max(1e-9)
    }

    /// The line that says why a run stopped early and what to do, if it did.
    pub fn stopped_line(&self) -> Option<String> {
        self.stopped.as_ref().map(|why| {
            format!(
                "stopped: {}; {} case(s) not judged yet. Once the server is back, run the same command again to judge the rest.",
                sanitize::visible_line(why),
                self.left()
            )
        })
    }
}

/// Finished cases per minute and generated tokens per second since the start, all workers together.
fn progress_message(tally: &Tally, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    format!(
        "{:.1} cases/min · {:.0} tok/s",
        (tally.saved + tally.failed) as f64 * 60.0 / secs,
        tally.tokens as f64 / secs
    )
}

/// Workers that judge in parallel (one for the in-process model), with one event channel.
pub struct BatchJudge {
    handles: Vec<JudgeHandle>,
    rx: Receiver<Event>,
    info: ModelInfo,
    /// The server, asked whether it is still there when a job fails.
    probe: Option<RemoteEngine>,
    /// Jobs each worker is given at once.
    per_worker: usize,
}

impl BatchJudge {
    /// Start `n` workers and wait until each is ready; an unusable model or server is an
    /// error whose message says how to fix it. More than one needs a server.
    pub fn start(backend: Backend, n: usize) -> Result<BatchJudge> {
        if n == 0 {
            bail!("--concurrency must be at least 1");
        }
        let probe = match &backend {
            Backend::Local(_) if n > 1 => bail!(
                "--concurrency {n} needs a judge server (--judge-url URL): the in-process model judges one case at a time"
            ),
            Backend::Local(_) => None,
            Backend::Remote(rc) => Some(rc.connect().map_err(anyhow::Error::msg)?),
        };
        let (tx, rx) = mpsc::channel();
        let handles: Vec<JudgeHandle> = (0..n)
            .map(|_| {
                let tx = tx.clone();
                JudgeHandle::spawn_backend(
                    backend.clone(),
                    Box::new(move |e| {
                        let _ = tx.send(e);
                    }),
                )
            })
            .collect();
        drop(tx);
        let mut ready = 0;
        let mut info = ModelInfo::default();
        while ready < n {
            match rx.recv() {
                Ok(Event::Ready(i)) => {
                    info = i;
                    ready += 1;
                }
                Ok(Event::Unavailable(msg)) => bail!("{msg}"),
                Ok(_) => {}
                Err(_) => bail!("the judge worker stopped while loading the model"),
            }
        }
        // The in-process worker gets one case more than it decodes at once (`--parallel`):
        // the next case is already waiting in its queue when one finishes, so saving a
        // judgment never leaves the model idle. A server request is one case.
        let per_worker = match &backend {
            Backend::Local(c) => c.parallel.max(1) as usize + 1,
            Backend::Remote(_) => 1,
        };
        Ok(BatchJudge {
            handles,
            rx,
            info,
            probe,
            per_worker,
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The judge server, when judging through one.
    pub fn server(&self) -> Option<&RemoteEngine> {
        self.probe.as_ref()
    }

    pub fn concurrency(&self) -> usize {
        self.handles.len()
    }

    /// Judge every job, as many at once as there are workers, handing each finished
    /// judgment to `save` at once. Ctrl-C (`interrupted`) cancels what is in flight and
    /// returns; a failure because the server went away stops the run (the rest would
    /// fail too).
    pub fn run(
        &self,
        store: &Store,
        jobs: Vec<BatchJob>,
        interrupted: &AtomicBool,
        mut save: impl FnMut(&NewJudgment) -> Result<()>,
    ) -> Result<BatchOutcome> {
        let started = Instant::now();
        let total = jobs.len();
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} cases · {msg} · ETA {eta}",
            )
            .expect("valid progress template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let say = |line: String| {
            // A hidden bar (stderr is not a terminal) swallows println.
            if bar.is_hidden() {
                crate::errln!("{line}");
            } else {
                bar.println(line);
            }
        };

        let mut out = BatchOutcome {
            planned: total,
            ..Default::default()
        };
        let mut queue = jobs.into_iter();
        let mut free: Vec<usize> = (0..self.handles.len())
            .rev()
            .flat_map(|w| std::iter::repeat_n(w, self.per_worker))
            .collect();
        // job -> (worker, case)
        let mut in_flight: HashMap<JobId, (usize, i64)> = HashMap::new();
        let mut next_job = 1u64;
        let mut cancel_sent = false;
        loop {
            let stopping = interrupted.load(Ordering::SeqCst) || out.stopped.is_some();
            while !stopping && let Some(&worker) = free.last() {
                let Some(job_spec) = queue.next() else {
                    break;
                };
                let Some(case) = store.get_case(job_spec.case_id)? else {
                    continue;
                };
                free.pop();
                let job = JobId(next_job);
                next_job += 1;
                self.handles[worker].send(Command::Judge(Box::new(JudgeRequest {
                    job,
                    case,
                    mode: job_spec.mode,
                    swapped: job_spec.swapped,
                })));
                in_flight.insert(job, (worker, job_spec.case_id));
            }
            if in_flight.is_empty() {
                break;
            }
            if interrupted.load(Ordering::SeqCst) && !cancel_sent {
                for (job, (worker, _)) in &in_flight {
                    self.handles[*worker].send(Command::Cancel(*job));
                }
                cancel_sent = true;
            }
            let event = match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    bar.set_message(progress_message(&out.tally, started));
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => bail!("the judge workers stopped"),
            };
            let Some(job) = event.job() else { continue };
            let Some(&(worker, case_id)) = in_flight.get(&job) else {
                continue;
            };
            match event {
                Event::Done { judgment, .. } => {
                    in_flight.remove(&job);
                    free.push(worker);
                    save(&judgment)?;
                    out.tally.add(&judgment);
                    bar.inc(1);
                }
                Event::Failed { error, .. } => {
                    in_flight.remove(&job);
                    free.push(worker);
                    out.tally.failed += 1;
                    // JSON escapes only C0 controls: what may reach a terminal is made visible here.
                    let error = sanitize::visible_line(&error);
                    say(format!("case {case_id}: {error}"));
                    out.failures.push(JudgeFailure { case_id, error });
                    bar.inc(1);
                    if out.stopped.is_none()
                        && let Some(engine) = &self.probe
                        && let Err(e) = engine.server.models()
                    {
                        out.stopped = Some(e);
                    }
                }
                Event::Cancelled { .. } => {
                    in_flight.remove(&job);
                    free.push(worker);
                }
                _ => {}
            }
            bar.set_message(progress_message(&out.tally, started));
        }
        bar.finish_and_clear();
        out.interrupted = interrupted.load(Ordering::SeqCst);
        out.seconds = started.elapsed().as_secs_f64();
        Ok(out)
    }
}
