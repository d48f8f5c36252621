//! `rubricate export`: reviewed cases as training data, one JSON object per line.
//!
//! Cases are streamed from the store one at a time and written as they are read, so
//! memory does not grow with the database. What a case's preference is comes from
//! `--from`: the human decision in force, the source's own label, or the model's latest
//! verdict. Cases that cannot become a record of the chosen format are left out and
//! counted by reason.

use super::decisions::{HumanState, human_states, latest_verdict};
use super::output::{self, Target};
use super::{dpo, reviews, sft};
use crate::cli::{ExportArgs, ExportFormat, ExportFrom, RefinedPairs};
use crate::context::Context;
use crate::domain::{Case, MergePolicy, Review, ReviewerSelection, Verdict};
use crate::robust::RobustBasis;
use crate::sanitize::visible_line;
use crate::store::{CurrentAnswers, Store};
use anyhow::Result;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub from: ExportFrom,
    /// Whose decisions (and, for `reviews`, rows) count: one reviewer's, or every
    /// reviewer's merged case by case under a policy.
    pub reviewers: ReviewerSelection,
    /// Only the cases in this collection.
    pub collection: Option<String>,
    /// Write judge traces whose reasoning no human approved or wrote (marked).
    pub include_unapproved_reasoning: bool,
    /// What refined answers do to preference pairs.
    pub refined: RefinedPairs,
}

impl ExportOptions {
    /// Every case, preferences from `from`, all reviewers merged by majority, refined text
    /// used, unapproved reasoning left out.
    pub fn new(format: ExportFormat, from: ExportFrom) -> ExportOptions {
        ExportOptions {
            format,
            from,
            reviewers: ReviewerSelection::All(MergePolicy::Majority),
            collection: None,
            include_unapproved_reasoning: false,
            refined: RefinedPairs::Use,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportReport {
    pub written: u64,
    /// Cases left out, by reason ("tie", "both_bad", "no decision", ...).
    pub left_out: BTreeMap<&'static str, u64>,
}

impl ExportReport {
    pub(super) fn leave_out(&mut self, reason: &'static str) {
        *self.left_out.entry(reason).or_default() += 1;
    }

    pub fn left_out_total(&self) -> u64 {
        self.left_out.values().sum()
    }

    /// e.g. "wrote 25 records; left out 9 (both_bad: 2, no label: 3, tie: 4)".
    pub fn summary(&self) -> String {
        let mut s = format!("wrote {} record{}", self.written, plural(self.written));
        let total = self.left_out_total();
        if total > 0 {
            let reasons: Vec<String> = self
                .left_out
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            s.push_str(&format!("; left out {total} ({})", reasons.join(", ")));
        } else {
            s.push_str("; left out 0");
        }
        s
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Dpo => "dpo",
        ExportFormat::DpoChat => "dpo-chat",
        ExportFormat::Sft => "sft",
        ExportFormat::RmR1Sft => "rm-r1-sft",
        ExportFormat::RmR1Rl => "rm-r1-rl",
        ExportFormat::Reviews => "reviews",
        ExportFormat::Judgments => "judgments",
    }
}

pub fn from_name(from: ExportFrom) -> &'static str {
    match from {
        ExportFrom::Reviews => "reviews",
        ExportFrom::Labels => "labels",
        ExportFrom::Model => "model",
        ExportFrom::ModelRobust => "model-robust",
    }
}

/// One record as one line of JSON (serde escapes every control character).
pub(super) fn write_json_line(out: &mut dyn Write, record: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Where a case's preference came from, kept so reasoning formats can find the rubric
/// and analysis that go with it.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Review(Box<Review>),
    Label,
    Judgment(i64),
}

#[derive(Debug, Clone)]
pub(super) struct Decided {
    /// In the case's own A/B letters.
    pub verdict: Verdict,
    pub origin: Origin,
}

/// The judge's reasoning that goes with a decision.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reasoning {
    /// The rubric; an RM-R1 judgment of a Reasoning task has a solution instead.
    pub rubric: Option<String>,
    pub analysis: String,
    /// RM-R1's `<type>` and `<solution>` of the judgment the reasoning comes from, kept so
    /// the trace is written in the shape that judge used.
    pub judge_type: Option<String>,
    pub solution: Option<String>,
    /// The judgment was made on the swapped order, so its text calls the case's B "A":
    /// the training example must show the answers in that order too.
    pub swapped: bool,
    /// Whose reasoning it is: a human approved it as shown, wrote it, or neither
    /// (only exported with `--include-unapproved-reasoning`, and marked).
    pub approval: TraceApproval,
}

/// What a human said about an exported trace's reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TraceApproval {
    Approved,
    Own,
    Unapproved,
}

impl TraceApproval {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceApproval::Approved => "approved",
            TraceApproval::Own => "own",
            TraceApproval::Unapproved => "unapproved",
        }
    }
}

/// The preference in force for a case, or why there is none.
/// `humans` holds the human side of every case with review rows (loaded once, see
/// [`human_states`]); a case's entry is taken out when used.
fn decide(
    store: &Store,
    case: &Case,
    options: &ExportOptions,
    humans: &mut HashMap<i64, HumanState>,
) -> Result<Result<Decided, &'static str>> {
    Ok(match options.from {
        ExportFrom::Labels => match case.source_label {
            Some(verdict) => Ok(Decided {
                verdict,
                origin: Origin::Label,
            }),
            None => Err("no label"),
        },
        ExportFrom::Model => match latest_verdict(store, case.id, false)? {
            None => Err("no judgment"),
            Some((_, None)) => Err("unparsed judgment"),
            Some((id, Some(verdict))) => Ok(Decided {
                verdict,
                origin: Origin::Judgment(id),
            }),
        },
        ExportFrom::ModelRobust => {
            let view = store.model_view(case.id)?;
            match (view.robust.verdict, view.robust.basis) {
                (Some(verdict), _) => {
                    // The reasoning shown with it is a judgment that reached the same verdict,
                    // the original order's first.
                    let agreeing = [&view.original, &view.swapped]
                        .into_iter()
                        .flatten()
                        .find(|j| j.j.verdict == Some(verdict))
                        .or(view.original.as_ref());
                    Ok(Decided {
                        verdict,
                        origin: Origin::Judgment(agreeing.map_or(0, |j| j.id)),
                    })
                }
                (None, RobustBasis::Disagree) => Err("orders disagree"),
                (None, _) if view.original.is_none() => Err("no judgment"),
                (None, _) => Err("not judged in both orders"),
            }
        }
        ExportFrom::Reviews => {
            let state = humans.remove(&case.id).unwrap_or_default();
            if let Some(why) = state.unresolved {
                return Ok(Err(why));
            }
            match state.decision {
                Some(review) => match review.verdict {
                    Some(verdict) => Ok(Decided {
                        verdict,
                        origin: Origin::Review(Box::new(review)),
                    }),
                    None => Err("no decision"),
                },
                None => Err("no decision"),
            }
        }
    })
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|t| !t.trim().is_empty())
}

/// The rubric and analysis that justify a decision, or why there are none.
///
/// By default only reasoning a human vouched for is returned: a decision that approved
/// the judgment's reasoning as shown (`a`), or the reviewer's own kept edit. A verdict
/// key, "reasoning wrong", a source label or a bare model verdict approve no reasoning;
/// with `include_unapproved` the model's reasoning is used for them where it argued for
/// the same verdict, marked unapproved.
pub(super) fn reasoning(
    store: &Store,
    case: &Case,
    decided: &Decided,
    include_unapproved: bool,
) -> Result<Result<Reasoning, &'static str>> {
    let human = match &decided.origin {
        Origin::Review(r) if r.reasoning_is_human() => Some(r),
        Origin::Review(r) if !include_unapproved => {
            return Ok(Err(
                if r.reasoning == Some(crate::domain::ReasoningApproval::Wrong) {
                    "reasoning judged wrong"
                } else {
                    "reasoning not approved"
                },
            ));
        }
        _ if !include_unapproved => return Ok(Err("reasoning not approved")),
        _ => None,
    };
    let judgment_id = match &decided.origin {
        Origin::Judgment(id) => Some(*id),
        Origin::Review(r) => r.judgment_id,
        // A source label has no reasoning of its own; the model's latest judgment is used
        // when it reached the same verdict (the rejection sampling RM-R1 distils with).
        Origin::Label => match latest_verdict(store, case.id, false)? {
            None => return Ok(Err("no judgment")),
            Some((_, None)) => return Ok(Err("unparsed judgment")),
            Some((_, v)) if v != Some(decided.verdict) => {
                return Ok(Err("judgment disagrees with label"));
            }
            Some((id, _)) => Some(id),
        },
    };
    let judgment = match judgment_id {
        Some(id) => store.get_judgment(id)?,
        None => None,
    };
    let swapped = judgment.as_ref().is_some_and(|j| j.j.swapped);
    if let Some(r) = human {
        // The decision row holds the text the reviewer approved or wrote. An approval
        // whose row predates that (older rows kept only edits) falls back to the judgment
        // it names, which is what was on screen.
        let approved_as_shown = r.reasoning == Some(crate::domain::ReasoningApproval::Approved);
        let shown = |take: fn(&crate::domain::Judgment) -> Option<String>| {
            judgment
                .as_ref()
                .filter(|_| approved_as_shown)
                .and_then(|j| nonempty(take(j)))
        };
        let rubric = nonempty(r.rubric.clone()).or_else(|| shown(|j| j.j.rubric.clone()));
        let analysis = nonempty(r.analysis.clone()).or_else(|| shown(|j| j.j.analysis.clone()));
        // The type and solution cannot be edited: they are what was on screen.
        let (judge_type, solution) = type_and_solution(judgment.as_ref());
        return Ok(match (rubric, analysis) {
            (rubric, Some(analysis)) if rubric.is_some() || solution.is_some() => Ok(Reasoning {
                rubric,
                analysis,
                judge_type,
                solution,
                swapped,
                approval: if approved_as_shown {
                    TraceApproval::Approved
                } else {
                    TraceApproval::Own
                },
            }),
            _ => Err("no reasoning"),
        });
    }
    // Unapproved, asked for: the model's analysis argues for the model's verdict, so it
    // can only stand in when the decision has that verdict.
    let (own_rubric, own_analysis) = match &decided.origin {
        Origin::Review(r) => (nonempty(r.rubric.clone()), nonempty(r.analysis.clone())),
        _ => (None, None),
    };
    let model_agrees = judgment
        .as_ref()
        .is_some_and(|j| j.j.verdict == Some(decided.verdict));
    let from_model = |take: fn(&crate::domain::Judgment) -> Option<String>| {
        judgment
            .as_ref()
            .filter(|_| model_agrees)
            .and_then(|j| nonempty(take(j)))
    };
    let (rubric, analysis) = if model_agrees {
        (
            own_rubric.or_else(|| from_model(|j| j.j.rubric.clone())),
            own_analysis.or_else(|| from_model(|j| j.j.analysis.clone())),
        )
    } else {
        (None, None)
    };
    let (judge_type, solution) = if model_agrees {
        type_and_solution(judgment.as_ref())
    } else {
        (None, None)
    };
    Ok(match (rubric, analysis) {
        (rubric, Some(analysis)) if rubric.is_some() || solution.is_some() => Ok(Reasoning {
            rubric,
            analysis,
            judge_type,
            solution,
            swapped,
            approval: TraceApproval::Unapproved,
        }),
        _ if judgment.as_ref().is_some_and(|j| !j.j.parse_ok) => Err("unparsed judgment"),
        _ => Err("no reasoning"),
    })
}

fn type_and_solution(
    judgment: Option<&crate::domain::Judgment>,
) -> (Option<String>, Option<String>) {
    judgment.map_or((None, None), |j| {
        (
            nonempty(j.j.judge_type.clone()),
            nonempty(j.j.solution.clone()),
        )
    })
}

/// Whether a verdict can become a record of `format`. Preference pairs and RM-R1 (which
/// has no tie) need a winner; native judge traces may also say tie.
fn admissible(format: ExportFormat, verdict: Verdict) -> Result<(), &'static str> {
    match verdict {
        Verdict::A | Verdict::B => Ok(()),
        Verdict::Tie if format == ExportFormat::Sft => Ok(()),
        Verdict::Tie => Err("tie"),
        Verdict::BothBad => Err("both_bad"),
    }
}

/// Write every record of `options.format` to `out`; the report counts what was written
/// and what was left out, by reason.
pub fn export_to(
    store: &Store,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport> {
    let mut report = ExportReport::default();
    // One read transaction, so every lookup below (the collection, which cases have
    // revisions, each case's decisions) sees the same snapshot as the case cursor even
    // while the workbench writes. Nothing is written; dropping it ends the read.
    let _snapshot = if store.conn().is_autocommit() {
        Some(store.conn().unchecked_transaction()?)
    } else {
        None
    };
    // A collection narrows every format to its cases; cases outside it are not
    // "left out" (they were never asked for), so they are not counted.
    let members: Option<HashSet<i64>> = match &options.collection {
        Some(name) => Some(store.collection_case_ids(name)?.into_iter().collect()),
        None => None,
    };
    let wanted = |case_id: i64| members.as_ref().is_none_or(|m| m.contains(&case_id));
    // Refined answers are rare: which cases have any is read once, and only those cases
    // are asked for their current texts (two queries each) below.
    let revised = match options.format {
        ExportFormat::Dpo | ExportFormat::DpoChat | ExportFormat::RmR1Rl => {
            store.revised_case_ids()?
        }
        _ => HashSet::new(),
    };
    let current_answers = |case: &Case| -> Result<CurrentAnswers> {
        if revised.contains(&case.id) {
            store.current_answers(case)
        } else {
            Ok(CurrentAnswers::original(case))
        }
    };
    // Every case's human side in one pass over the review log, not a query per case.
    let mut humans = match options.format {
        ExportFormat::Reviews | ExportFormat::Judgments => HashMap::new(),
        _ if options.from == ExportFrom::Reviews => human_states(store, &options.reviewers)?,
        _ => HashMap::new(),
    };
    match options.format {
        ExportFormat::Reviews => reviews::write_reviews(
            store,
            options.reviewers.reviewer(),
            &wanted,
            out,
            &mut report,
        )?,
        ExportFormat::Judgments => reviews::write_judgments(store, &wanted, out, &mut report)?,
        format => store.for_each_case(|case| {
            if !wanted(case.id) {
                return Ok(());
            }
            // chosen == rejected teaches nothing and contradicts itself as a pair or a
            // verdict; import warns about these, export leaves them out and counts them.
            if case.answer_a == case.answer_b {
                report.leave_out("identical answers");
                return Ok(());
            }
            let decided = match decide(store, &case, options, &mut humans)? {
                Ok(d) => d,
                Err(reason) => {
                    report.leave_out(reason);
                    return Ok(());
                }
            };
            if let Err(reason) = admissible(format, decided.verdict) {
                report.leave_out(reason);
                return Ok(());
            }
            match format {
                ExportFormat::Dpo | ExportFormat::DpoChat => {
                    let answers = current_answers(&case)?;
                    for pair in dpo::pairs(&case, &answers, decided.verdict, options.refined) {
                        if format == ExportFormat::Dpo {
                            dpo::write_standard(&case, &pair, out)?;
                        } else {
                            dpo::write_chat(&case, &pair, out)?;
                        }
                        report.written += 1;
                    }
                    return Ok(());
                }
                ExportFormat::RmR1Rl => {
                    let (a, b, refined) = if options.refined == RefinedPairs::Ignore {
                        (case.answer_a.clone(), case.answer_b.clone(), None)
                    } else {
                        let cur = current_answers(&case)?;
                        let mut m = serde_json::Map::new();
                        if let Some(r) = &cur.revision_a {
                            m.insert("a".into(), dpo::revision_json(r));
                        }
                        if let Some(r) = &cur.revision_b {
                            m.insert("b".into(), dpo::revision_json(r));
                        }
                        let refined = (!m.is_empty()).then_some(serde_json::Value::Object(m));
                        (cur.a, cur.b, refined)
                    };
                    sft::write_rm_r1_rl(&case, (&a, &b), refined, decided.verdict, out)?
                }
                ExportFormat::Sft | ExportFormat::RmR1Sft => {
                    match reasoning(store, &case, &decided, options.include_unapproved_reasoning)? {
                        Ok(r) => {
                            if let Err(reason) =
                                sft::write_trace(format, &case, decided.verdict, &r, out)?
                            {
                                report.leave_out(reason);
                                return Ok(());
                            }
                        }
                        Err(reason) => {
                            report.leave_out(reason);
                            return Ok(());
                        }
                    }
                }
                ExportFormat::Reviews | ExportFormat::Judgments => unreachable!("handled above"),
            }
            report.written += 1;
            Ok(())
        })?,
    }
    Ok(report)
}

/// Write to `--out` as [`super::output`] decides: stdout, a stream in place, or a
/// regular file by temp + rename (recorded, so the next export may replace it).
fn export_to_target(
    store: &Store,
    options: &ExportOptions,
    target: &Target,
) -> Result<Option<ExportReport>> {
    match target {
        Target::Stdout => {
            let mut w = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
            let result =
                export_to(store, options, &mut w).and_then(|r| Ok(w.flush().map(|_| r)?));
            match result {
                Ok(r) => Ok(Some(r)),
                // `export ... | head` closing the pipe is not a failure worth a message.
                Err(e) if is_broken_pipe(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
        Target::Stream(path) => {
            output::write_stream(path, |w| export_to(store, options, w)).map(Some)
        }
        Target::File { path, existing } => output::write_file(
            store,
            path,
            existing.as_ref(),
            format_name(options.format),
            |w| {
                let r = export_to(store, options, w)?;
                let n = r.written;
                Ok((r, n))
            },
        )
        .map(Some),
    }
}

pub fn run(ctx: &Context, args: &ExportArgs) -> Result<ExitCode> {
    let store = ctx.open_store()?;
    let options = ExportOptions {
        format: args.format,
        from: args.from,
        reviewers: ctx.reviewer_selection(&args.reviewers)?,
        collection: args.collection.clone(),
        include_unapproved_reasoning: args.include_unapproved_reasoning,
        refined: args.refined,
    };
    let target = match &args.out {
        Some(path) => output::decide(path, args.force, &store)?,
        None => Target::Stdout,
    };
    let Some(report) = export_to_target(&store, &options, &target)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let what = match args.format {
        ExportFormat::Reviews | ExportFormat::Judgments => format_name(args.format).to_string(),
        f => format!("{} from {}", format_name(f), from_name(args.from)),
    };
    let which = options
        .collection
        .as_deref()
        .map_or(String::new(), |c| format!(" (collection {c})"));
    // Whose decisions went in, always named (judgments and labels/model preferences
    // involve no reviewer).
    let by_reviewers = args.format == ExportFormat::Reviews
        || (args.format != ExportFormat::Judgments && args.from == ExportFrom::Reviews);
    let whose = if by_reviewers {
        let mut w = match (&options.reviewers, args.format) {
            // The reviews format writes rows, not merged decisions.
            (ReviewerSelection::All(_), ExportFormat::Reviews) => " (all reviewers)".to_string(),
            (sel, _) => format!(" ({})", sel.describe()),
        };
        if let ReviewerSelection::One(r) = &options.reviewers
            && report.written == 0
        {
            let others: Vec<String> = super::decisions::deciders(&store)?
                .into_iter()
                .filter(|(name, _)| name != r)
                .map(|(name, n)| format!("{name} ({n})"))
                .collect();
            if !others.is_empty() {
                w.push_str(&format!(
                    " [reviewer {r} has no decisions here; other reviewers have: {}. Name one with \
                     --reviewer NAME, or merge them with --all-reviewers --merge latest|majority|unanimous]",
                    others.join(", ")
                ));
            }
        }
        w
    } else {
        String::new()
    };
    let dest = match &target {
        Target::Stdout => String::new(),
        Target::Stream(p) | Target::File { path: p, .. } => format!(" to {}", p.display()),
    };
    crate::errln!(
        "{}",
        visible_line(&format!(
            "export {what}{which}{whose}{dest}: {}",
            report.summary()
        ))
    );
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
