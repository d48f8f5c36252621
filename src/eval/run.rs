//! The I/O side of `rubricate eval`: select the labelled cases, judge what this judge has
//! not judged yet (judgments are stored like any other, so the failures can be reviewed),
//! compute the figures from the stored judgments, store the run and print it.

use super::{EvalItem, EvalNumbers, JudgedOrder, compute, render_text};
use crate::cli::EvalArgs;
use crate::context::Context;
use crate::domain::{Case, Judgment, Verdict};
use crate::judge::batch::{EXIT_INTERRUPTED, interrupt_flag};
use crate::judge::profile::Profile;
use crate::judge::worker::{BlockingJudge, JobOutcome};
use crate::judge::{JudgeMode, ModelInfo, backend_from_select};
use crate::sanitize::{self, visible_line};
use crate::store::{EvalRun, JudgeIdentity, NewEvalRun, Store, category_matches};
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The `--json` document: the run's identity, then the figures' keys at the top level.
#[derive(Debug, Serialize)]
pub struct EvalReport<'a> {
    /// The stored run's id (`None` when the run was interrupted and not stored).
    pub run_id: Option<i64>,
    pub judge: &'a JudgeIdentity,
    pub dataset: &'a str,
    pub both_orders: bool,
    /// The library rubric version given to the judge (`--rubric`), `None`: its own rubric.
    pub rubric: Option<&'a str>,
    #[serde(flatten)]
    pub numbers: &'a EvalNumbers,
}

/// Each case's verdicts in a run, kept with the run (under `case_verdicts` in its stored
/// figures) so `--compare` can say which verdicts another run changed. A verdict is its
/// letter (original letters in both orders), `unparsed`, or absent when not judged.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CaseVerdicts {
    pub case_id: i64,
    pub original: Option<String>,
    pub swapped: Option<String>,
}

/// The key of the per-case verdicts in a stored run's figures.
const CASE_VERDICTS: &str = "case_verdicts";

/// The identity every judgment of the loaded judge records (see [`crate::judge::JudgeStamp`]):
/// what eval stores with its run and what the workbench matches runs with.
pub fn identity_of(info: &ModelInfo) -> JudgeIdentity {
    JudgeIdentity {
        model_file: info.file_name.clone(),
        model_sha256: info.sha256.clone(),
        template_version: info.stamp.template_version.clone(),
        backend: Some(info.stamp.backend.clone()),
        profile: info.stamp.profile.clone(),
        profile_hash: info.stamp.profile_hash.clone(),
        server_model: info.stamp.server_model.clone(),
    }
}

/// The judge in words: model (and hash), profile, backend.
pub fn describe_judge(j: &JudgeIdentity) -> String {
    let mut s = visible_line(&j.model_file);
    if let Some(h) = j.model_sha256.get(..12) {
        s.push_str(&format!(" (sha256 {h}…)"));
    }
    if let Some(p) = &j.profile {
        s.push_str(&format!(
            ", profile {} {}",
            visible_line(p),
            j.profile_hash
                .as_deref()
                .and_then(|h| h.get(..8))
                .unwrap_or("")
        ));
    }
    if let Some(b) = &j.backend {
        s.push_str(&format!(", backend {}", visible_line(b)));
    }
    s
}

/// The selection in words, as stored with the run.
pub fn describe_dataset(
    source: Option<&str>,
    category: Option<&str>,
    limit: Option<usize>,
) -> String {
    let mut parts = Vec::new();
    match source {
        Some(s) => parts.push(format!("source {s}")),
        None => parts.push("all sources".to_string()),
    }
    if let Some(c) = category {
        parts.push(format!("category {c}"));
    }
    if let Some(l) = limit {
        parts.push(format!("first {l} labelled"));
    }
    parts.join(", ")
}

/// The cases of the selection, in import order: every case of the source and category,
/// with at most `limit` whose label is A or B (the others are only counted as skipped).
pub fn select_cases(
    store: &Store,
    source: Option<&str>,
    category: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<Case>> {
    let mut out = Vec::new();
    let mut labelled = 0usize;
    store.for_each_case(|case| {
        if source.is_some_and(|s| s != case.source)
            || category.is_some_and(|c| !category_matches(case.category.as_deref(), c))
        {
            return Ok(());
        }
        let eligible = matches!(case.source_label, Some(Verdict::A | Verdict::B));
        if eligible {
            if limit.is_some_and(|l| labelled >= l) {
                return Ok(());
            }
            labelled += 1;
        }
        out.push(case);
        Ok(())
    })?;
    Ok(out)
}

/// The newest judgment of `case` in one order made by `judge`: with the judge's own rubric
/// (`rubric` `None`), or given that library rubric version (its row id).
fn own_judgment(
    store: &Store,
    judge: &JudgeIdentity,
    case_id: i64,
    swapped: bool,
    rubric: Option<i64>,
) -> Result<Option<Judgment>> {
    Ok(store
        .judgments_for_case(case_id)?
        .into_iter()
        .rev()
        .find(|j| {
            j.j.swapped == swapped
                && judge.made(&j.j)
                && match rubric {
                    None => !j.j.rubric_given,
                    Some(id) => j.library_rubric_id == Some(id),
                }
        }))
}

/// The verdicts `judge` gave each case (see [`CaseVerdicts`]).
fn case_verdicts(
    store: &Store,
    judge: &JudgeIdentity,
    cases: &[Case],
    both_orders: bool,
    rubric: Option<i64>,
) -> Result<Vec<CaseVerdicts>> {
    let shown = |j: Option<Judgment>| {
        j.map(|j| j.j.verdict.map_or("unparsed", Verdict::as_str).to_string())
    };
    let mut out = Vec::new();
    for case in cases {
        let original = shown(own_judgment(store, judge, case.id, false, rubric)?);
        let swapped = if both_orders {
            shown(own_judgment(store, judge, case.id, true, rubric)?)
        } else {
            None
        };
        if original.is_some() || swapped.is_some() {
            out.push(CaseVerdicts {
                case_id: case.id,
                original,
                swapped,
            });
        }
    }
    Ok(out)
}

/// The items of the evaluation, from the stored judgments of `judge`.
pub fn items(
    store: &Store,
    judge: &JudgeIdentity,
    cases: &[Case],
    both_orders: bool,
    rubric: Option<i64>,
) -> Result<Vec<EvalItem>> {
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let original = own_judgment(store, judge, case.id, false, rubric)?;
        let swapped = if both_orders {
            own_judgment(store, judge, case.id, true, rubric)?
        } else {
            None
        };
        out.push(EvalItem {
            category: case.category.clone(),
            difficulty: case.difficulty.clone(),
            label: case.source_label,
            len_a: case.answer_a.chars().count(),
            len_b: case.answer_b.chars().count(),
            original: original.map(|j| JudgedOrder::of(&j.j)),
            swapped: swapped.map(|j| JudgedOrder::of(&j.j)),
        });
    }
    Ok(out)
}

pub fn run(ctx: &Context, args: &EvalArgs) -> Result<ExitCode> {
    let _log = crate::logging::init_logging();
    let store = ctx.open_store()?;
    if let Some(ids) = &args.compare {
        let reviewer = ctx.reviewer_given.then_some(ctx.reviewer.as_str());
        return compare(&store, ids, args.json, reviewer);
    }
    // The rubric is looked up before anything loads: a wrong name is said at once.
    let rubric = args
        .rubric
        .as_deref()
        .map(|r| store.find_rubric(r))
        .transpose()?;
    let rubric_id = rubric.as_ref().map(|r| r.id);
    let rubric_label = rubric.as_ref().map(|r| r.label());
    let mode = match &rubric {
        Some(r) => JudgeMode::RubricGiven(r.body.clone()),
        None => JudgeMode::Full,
    };
    let cases = select_cases(
        &store,
        args.source.as_deref(),
        args.category.as_deref(),
        args.limit,
    )?;
    let labelled: Vec<&Case> = cases
        .iter()
        .filter(|c| matches!(c.source_label, Some(Verdict::A | Verdict::B)))
        .collect();
    if labelled.is_empty() {
        bail!(
            "no case with an A or B label in {}: import a labelled set first (rubricate import FILE; \
             RewardBench, RM-Bench, HH-RLHF and pairwise files with a winner carry labels)",
            describe_dataset(args.source.as_deref(), args.category.as_deref(), args.limit)
        );
    }
    // The profile asked for (flag, environment, config file) is checked before anything
    // loads; the backend (in-process model or `--judge-url` server) is chosen as `judge` does.
    let asked = Profile::select(
        args.model.profile.as_deref(),
        &crate::config::Config::load()?,
    )?;
    let backend = backend_from_select(&args.model, args.seed, !args.no_grammar)?;
    let interrupted = interrupt_flag()?;
    let mut judge = BlockingJudge::start_backend(backend)?;
    let info = judge.info().clone();
    // The identity every judgment of this judge records, so its stored judgments are found
    // (and reused) before it makes a new one, and the run is stored under it.
    let mut identity = identity_of(&info);
    if info.stamp.profile.as_deref() != Some(asked.name.as_str()) {
        eprintln!(
            "eval: profile {} was asked for, but this backend judges with {}; the run is stored as such",
            visible_line(&asked.name),
            info.stamp
                .profile
                .as_deref()
                .map_or("its own built-in prompt".to_string(), visible_line)
        );
    }
    let orders: &[bool] = if args.both_orders {
        &[false, true]
    } else {
        &[false]
    };
    let mut jobs = Vec::new();
    for case in &labelled {
        for &swapped in orders {
            if args.rejudge
                || own_judgment(&store, &identity, case.id, swapped, rubric_id)?.is_none()
            {
                jobs.push(((*case).clone(), swapped));
            }
        }
    }
    eprintln!(
        "eval: {} labelled case(s) in {}; {} judgment(s) to make, {} reused; judge {}{}",
        labelled.len(),
        describe_dataset(args.source.as_deref(), args.category.as_deref(), args.limit),
        jobs.len(),
        labelled.len() * orders.len() - jobs.len(),
        describe_judge(&identity),
        rubric_label.as_deref().map_or(String::new(), |l| format!(
            ", rubric {} given",
            visible_line(l)
        ))
    );
    let bar = ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} judgments · ETA {eta}")
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let say = |line: String| {
        // A hidden bar (stderr is not a terminal) swallows println.
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
    };
    let mut failed = 0usize;
    let mut made_one = false;
    for (case, swapped) in jobs {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        let case_id = case.id;
        let outcome = judge.judge_with(case, mode.clone(), swapped, |_| {
            !interrupted.load(Ordering::SeqCst)
        })?;
        match outcome {
            JobOutcome::Done(j) => {
                if !made_one {
                    // The engine stamps judgments from the same fields as its info; were they
                    // ever to differ, the judgments decide (the figures are computed from them).
                    if !identity.made(&j) {
                        say(format!(
                            "eval: the judge announced itself as {} but stamps its judgments as {}; \
                             the judgments' identity is used",
                            describe_judge(&identity),
                            describe_judge(&JudgeIdentity::of_judgment(&j))
                        ));
                    }
                    identity = JudgeIdentity::of_judgment(&j);
                    made_one = true;
                }
                store.insert_judgment_with_rubric(&j, rubric_id)?;
            }
            JobOutcome::Cancelled => break,
            JobOutcome::Failed(e) => {
                failed += 1;
                say(format!("case {case_id}: {}", sanitize::visible_line(&e)));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    drop(judge);
    let was_interrupted = interrupted.load(Ordering::SeqCst);
    let numbers = compute(&items(
        &store,
        &identity,
        &cases,
        args.both_orders,
        rubric_id,
    )?);
    let dataset = describe_dataset(args.source.as_deref(), args.category.as_deref(), args.limit);
    // An interrupted run measured fewer cases than asked: shown, but not stored as a run.
    let run_id = if was_interrupted {
        None
    } else {
        let mut stored = serde_json::to_value(&numbers)?;
        stored[CASE_VERDICTS] = serde_json::to_value(case_verdicts(
            &store,
            &identity,
            &cases,
            args.both_orders,
            rubric_id,
        )?)?;
        Some(store.insert_eval_run(&NewEvalRun {
            judge: identity.clone(),
            rubric: rubric_label.clone(),
            dataset: dataset.clone(),
            both_orders: args.both_orders,
            n: numbers.n,
            numbers: stored,
        })?)
    };
    if args.json {
        let report = EvalReport {
            run_id,
            judge: &identity,
            dataset: &dataset,
            both_orders: args.both_orders,
            rubric: rubric_label.as_deref(),
            numbers: &numbers,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "judge {}, {}{}{}",
            describe_judge(&identity),
            visible_line(&dataset),
            if args.both_orders {
                ", both orders"
            } else {
                ""
            },
            rubric_label.as_deref().map_or(String::new(), |l| format!(
                ", rubric {} given",
                visible_line(l)
            ))
        );
        print!("{}", render_text(&numbers));
        match run_id {
            Some(id) => println!("stored as eval run #{id} (rubricate eval --compare)"),
            None => println!(
                "interrupted: figures over the cases judged so far, not stored (run the same command again to go on)"
            ),
        }
    }
    if failed > 0 {
        eprintln!("{failed} judgment(s) failed (listed above); those cases count as not judged");
    }
    Ok(if was_interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The figures of a stored run (a run from a newer rubricate with unknown keys still reads).
pub fn numbers_of(run: &EvalRun) -> EvalNumbers {
    serde_json::from_value(run.run.numbers.clone()).unwrap_or_default()
}

fn compare(store: &Store, ids: &[i64], json: bool, reviewer: Option<&str>) -> Result<ExitCode> {
    let mut runs = if ids.is_empty() {
        store.latest_eval_runs(4)?
    } else {
        store.get_eval_runs(ids)?
    };
    if ids.is_empty() {
        runs.reverse();
    }
    if runs.is_empty() {
        bail!("no eval runs stored yet: run `rubricate eval` first");
    }
    // Each run after the first against the first, where both kept their verdicts.
    let mut experiments = Vec::new();
    for run in runs.iter().skip(1) {
        experiments.push(versus(store, &runs[0], run, reviewer)?);
    }
    if json {
        let mut out = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter().enumerate() {
            let mut v = serde_json::to_value(run)?;
            if i > 0 {
                v["versus_first"] = serde_json::to_value(&experiments[i - 1])?;
            }
            out.push(v);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", render_compare(&runs));
        for (run, e) in runs.iter().skip(1).zip(&experiments) {
            println!();
            match e {
                Some(e) => {
                    println!("run #{} against run #{}:", run.id, runs[0].id);
                    for line in crate::rubric_experiment::render(e) {
                        println!("  {}", visible_line(&line));
                    }
                }
                None => println!(
                    "run #{} against run #{}: no per-case verdicts stored with one of them (runs from before they were kept); run that eval again to compare case by case",
                    run.id, runs[0].id
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The name of a run in a comparison: its number and the rubric it was given.
fn arm_name(run: &EvalRun) -> String {
    format!(
        "#{} {}",
        run.id,
        run.run.rubric.as_deref().unwrap_or("own rubric")
    )
}

fn stored_verdicts(run: &EvalRun) -> Option<Vec<CaseVerdicts>> {
    serde_json::from_value(run.run.numbers.get(CASE_VERDICTS)?.clone()).ok()
}

/// Two runs case by case (the rubric experiment's report): agreement with the reviewers
/// (their decisions now) and the labels, swap consistency, and the verdicts that changed.
/// `None` when a run has no per-case verdicts stored.
fn versus(
    store: &Store,
    first: &EvalRun,
    other: &EvalRun,
    reviewer: Option<&str>,
) -> Result<Option<crate::rubric_experiment::Experiment>> {
    use crate::rubric_experiment::{ArmObs, CaseObs};
    let (Some(a), Some(b)) = (stored_verdicts(first), stored_verdicts(other)) else {
        return Ok(None);
    };
    let obs = |v: &Option<String>| v.as_deref().map(Verdict::parse);
    let mut by_case: std::collections::BTreeMap<i64, [ArmObs; 2]> = Default::default();
    for (arm, list) in [a, b].iter().enumerate() {
        for c in list {
            by_case.entry(c.case_id).or_default()[arm] = ArmObs {
                original: obs(&c.original),
                swapped: obs(&c.swapped),
            };
        }
    }
    let mut cases = Vec::with_capacity(by_case.len());
    for (case_id, arms) in by_case {
        // A case deleted since is left out (nothing to show of it).
        let Some(case) = store.get_case(case_id)? else {
            continue;
        };
        cases.push(CaseObs {
            case_id,
            human: crate::formats::decisions::human_state(store, case_id, reviewer)?.verdict(),
            label: case.source_label,
            arms,
        });
    }
    Ok(Some(crate::rubric_experiment::compare(
        [arm_name(first), arm_name(other)],
        &cases,
    )))
}

/// Stored runs side by side, one column each (oldest first).
pub fn render_compare(runs: &[EvalRun]) -> String {
    const W: usize = 22;
    let numbers: Vec<EvalNumbers> = runs.iter().map(numbers_of).collect();
    let mut out = String::new();
    let mut row = |name: &str, cells: Vec<String>| {
        let mut l = format!("{name:<26}");
        for c in cells {
            let c: String = c.chars().take(W - 1).collect();
            l.push_str(&format!("{c:>W$}"));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    let pct = |x: Option<f64>| x.map_or("–".into(), |r| format!("{:.1}%", r * 100.0));
    let with_ci = |x: Option<f64>, ci: Option<[f64; 2]>| match (x, ci) {
        (Some(r), Some([lo, hi])) => {
            format!("{:.0}% [{:.0}-{:.0}]", r * 100.0, lo * 100.0, hi * 100.0)
        }
        _ => "–".into(),
    };
    row("run", runs.iter().map(|r| format!("#{}", r.id)).collect());
    row(
        "date",
        runs.iter()
            .map(|r| {
                r.created_at
                    .get(..16)
                    .unwrap_or(&r.created_at)
                    .replace('T', " ")
            })
            .collect(),
    );
    row(
        "model",
        runs.iter()
            .map(|r| visible_line(&r.run.judge.model_file))
            .collect(),
    );
    row(
        "profile",
        runs.iter()
            .map(|r| visible_line(r.run.judge.profile.as_deref().unwrap_or("–")))
            .collect(),
    );
    row(
        "backend",
        runs.iter()
            .map(|r| visible_line(r.run.judge.backend.as_deref().unwrap_or("llama.cpp")))
            .collect(),
    );
    row(
        "dataset",
        runs.iter().map(|r| visible_line(&r.run.dataset)).collect(),
    );
    row(
        "rubric given",
        runs.iter()
            .map(|r| visible_line(r.run.rubric.as_deref().unwrap_or("– (own)")))
            .collect(),
    );
    row("n", numbers.iter().map(|n| n.n.to_string()).collect());
    row(
        "accuracy [95%]",
        numbers
            .iter()
            .map(|n| with_ci(n.accuracy, n.accuracy_ci))
            .collect(),
    );
    row(
        "position-robust acc.",
        numbers
            .iter()
            .map(|n| with_ci(n.position_robust_accuracy, n.position_robust_ci))
            .collect(),
    );
    row(
        "swap consistency",
        numbers.iter().map(|n| pct(n.swap_consistency)).collect(),
    );
    row(
        "first-position rate",
        numbers.iter().map(|n| pct(n.first_position_rate)).collect(),
    );
    row(
        "longer answer wins",
        numbers
            .iter()
            .map(|n| {
                format!(
                    "{} (labels {})",
                    pct(n.length_bias.judge_longer_rate),
                    pct(n.length_bias.label_longer_rate)
                )
            })
            .collect(),
    );
    row(
        "tie rate",
        numbers.iter().map(|n| pct(n.tie_rate)).collect(),
    );
    row(
        "parse failures",
        numbers
            .iter()
            .map(|n| format!("{}/{}", n.parse_failures, n.judgments))
            .collect(),
    );
    row(
        "seconds per case",
        numbers
            .iter()
            .map(|n| n.seconds_per_case.map_or("–".into(), |s| format!("{s:.2}")))
            .collect(),
    );
    let mut cats: Vec<&String> = numbers.iter().flat_map(|n| n.by_category.keys()).collect();
    cats.sort();
    cats.dedup();
    for c in cats {
        row(
            &format!("  {}", visible_line(c)),
            numbers
                .iter()
                .map(|n| {
                    n.by_category
                        .get(c)
                        .map_or("–".into(), |g| format!("{} of {}", pct(g.accuracy), g.n))
                })
                .collect(),
        );
    }
    out
}
