//! `rubricate rubrics ...` and `rubricate collections ...`: the rubric library and named
//! sets of cases on the command line. Applying a rubric is a batch of rubric-given
//! judgments (the in-process model or a judge server); each records the library version
//! it was given.

use crate::cli::{CaseSelect, CollectionsArgs, CollectionsCommand, RubricsArgs, RubricsCommand};
use crate::context::Context;
use crate::judge::JudgeMode;
use crate::judge::batch::{BatchJob, BatchJudge};
use crate::judge::config::{Backend, backend_from_select};
use crate::rubric_experiment;
use crate::sanitize::{visible, visible_line};
use crate::store::{Store, StoredRubric, check_rubric_name};
use crate::{errln, outln};
use anyhow::{Context as _, Result, bail};
use std::collections::HashSet;
use std::io::Read;
use std::process::ExitCode;

/// The ids of the cases a selection names, in id order.
pub fn select_cases(store: &Store, select: &CaseSelect, reviewer: &str) -> Result<Vec<i64>> {
    let mut ids = store.case_ids(select.filter, reviewer, select.source.as_deref())?;
    if let Some(name) = &select.collection {
        let members: HashSet<i64> = store.collection_case_ids(name)?.into_iter().collect();
        ids.retain(|id| members.contains(id));
    }
    if let Some(category) = &select.category {
        let members: HashSet<i64> = store.category_case_ids(category)?.into_iter().collect();
        if members.is_empty() {
            bail!(
                "no case has the category {:?}; {}",
                visible_line(category),
                known_categories(store)?
            );
        }
        ids.retain(|id| members.contains(id));
    }
    Ok(ids)
}

/// The categories there are, in words, for a message about a category that is not.
fn known_categories(store: &Store) -> Result<String> {
    let known = store.categories(None)?;
    if known.is_empty() {
        return Ok(
            "no case has a category (RM-Bench, RMB and RewardBench imports set one; so does a \
             `category` field)"
                .to_string(),
        );
    }
    let names: Vec<String> = known
        .iter()
        .take(20)
        .map(|(name, n)| format!("{} ({n})", visible_line(name)))
        .collect();
    let more = known.len() - names.len();
    Ok(format!(
        "the categories are: {}{}",
        names.join(", "),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    ))
}

/// A case named on the command line: its number, or a source id / content hash.
pub fn resolve_case(store: &Store, key: &str) -> Result<i64> {
    if let Ok(id) = key.parse::<i64>()
        && store.get_case(id)?.is_some()
    {
        return Ok(id);
    }
    match store.find_case(key)? {
        Some(c) => Ok(c.id),
        None => bail!(
            "no case {:?}: give a case number, a source id or a content hash",
            visible(key)
        ),
    }
}

/// A plain line diff of two texts (longest common subsequence of lines): rubrics are
/// short, so the quadratic table is small.
pub fn line_diff(before: &str, after: &str) -> Vec<(char, String)> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((' ', a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as unified diffs show a changed line.
            out.push(('-', a[i].to_string()));
            i += 1;
        } else {
            out.push(('+', b[j].to_string()));
            j += 1;
        }
    }
    out
}

pub fn run_rubrics(ctx: &Context, args: &RubricsArgs) -> Result<ExitCode> {
    let store = ctx.open_store()?;
    match &args.command {
        RubricsCommand::List { json, all } => {
            let lib = store.rubric_library(*all)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&lib)?);
            } else if lib.is_empty() {
                errln!(
                    "the rubric library is empty: save one with `rubricate rubrics add NAME --file F` \
                     or with L in the workbench"
                );
            } else {
                outln!(
                    "{:24}  {:>7}  {:>8}  {:>9}  updated",
                    "name",
                    "latest",
                    "versions",
                    "judgments"
                );
                for r in lib {
                    outln!(
                        "{:24}  {:>7}  {:>8}  {:>9}  {}",
                        visible_line(&r.name),
                        format!("v{}", r.latest_version),
                        r.versions,
                        r.judgments,
                        r.updated_at
                    );
                }
            }
        }
        RubricsCommand::Show {
            rubric,
            versions,
            json,
        } => {
            let found = store.find_rubric(rubric)?;
            let list = if *versions {
                store.rubric_versions(&found.name)?
            } else {
                vec![found]
            };
            if *json {
                outln!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for (n, r) in list.iter().enumerate() {
                    if n > 0 {
                        outln!();
                    }
                    outln!("{}", header(r));
                    outln!("{}", visible(&r.body));
                }
            }
        }
        RubricsCommand::Diff { from, to } => {
            let a = store.find_rubric(from)?;
            let b = store.find_rubric(to)?;
            outln!("--- {}\n+++ {}", a.label(), b.label());
            for (mark, line) in line_diff(&a.body, &b.body) {
                outln!("{mark}{}", visible_line(&line));
            }
        }
        RubricsCommand::Add {
            name,
            file,
            text,
            note,
        } => {
            check_rubric_name(name)?;
            let body = match (file, text) {
                (Some(path), _) => std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the rubric file {}", path.display()))?,
                (None, Some(t)) => t.clone(),
                (None, None) => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("cannot read the rubric from standard input")?;
                    s
                }
            };
            let saved = store.save_rubric_by(
                name,
                body.trim_end(),
                None,
                Some(&ctx.reviewer),
                note.as_deref(),
            )?;
            errln!("saved {}", visible_line(&saved.label()));
        }
        RubricsCommand::Restore { rubric } => {
            let old = store.find_rubric(rubric)?;
            let note = format!("restored from v{}", old.version);
            let saved = store.save_rubric_by(
                &old.name,
                &old.body,
                old.case_id,
                Some(&ctx.reviewer),
                Some(&note),
            )?;
            errln!(
                "saved {} (the text of {})",
                visible_line(&saved.label()),
                visible_line(&old.label())
            );
        }
        RubricsCommand::Apply {
            rubric,
            select,
            swap,
            limit,
            rejudge,
            seed,
            concurrency,
            model,
        } => {
            let rubric = store.find_rubric(rubric)?;
            let ids = select_cases(&store, select, &ctx.reviewer)?;
            return apply(&store, &rubric, &ids, *swap, *limit, *rejudge, || {
                Ok((backend_from_select(model, *seed, true)?, *concurrency))
            });
        }
        RubricsCommand::Compare {
            before,
            after,
            select,
            json,
        } => {
            let a = store.find_rubric(before)?;
            let b = store.find_rubric(after)?;
            let ids = select_cases(&store, select, &ctx.reviewer)?;
            let reviewer = ctx.reviewer_given.then_some(ctx.reviewer.as_str());
            let obs = rubric_experiment::load(&store, [&a, &b], &ids, reviewer)?;
            let e = rubric_experiment::compare([a.label(), b.label()], &obs);
            if *json {
                outln!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                for line in rubric_experiment::render(&e) {
                    outln!("{}", visible_line(&line));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn header(r: &StoredRubric) -> String {
    let mut h = format!("# {} · {}", visible_line(&r.label()), r.created_at);
    if let Some(a) = &r.author {
        h.push_str(&format!(" · {}", visible_line(a)));
    }
    if let Some(n) = &r.note {
        h.push_str(&format!(" · {}", visible_line(n)));
    }
    h
}

/// Judge `ids` with `rubric` given, skipping (unless `rejudge`) the orders already judged
/// with this version, so an interrupted run resumes where it stopped. The judging is the
/// batch loop `rubricate judge` uses (in-process model, or a server with `--concurrency`).
fn apply(
    store: &Store,
    rubric: &StoredRubric,
    ids: &[i64],
    swap: bool,
    limit: Option<usize>,
    rejudge: bool,
    judge: impl FnOnce() -> Result<(Backend, usize)>,
) -> Result<ExitCode> {
    let _log = crate::logging::init_logging();
    let done: HashSet<(i64, bool)> = {
        let mut stmt = store
            .conn()
            .prepare("SELECT case_id, swapped FROM judgments WHERE library_rubric_id = ?1")?;
        stmt.query_map([rubric.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut jobs = Vec::new();
    let mut cases = 0usize;
    for &id in ids {
        if limit.is_some_and(|l| cases >= l) {
            break;
        }
        let mut any = false;
        for swapped in [false, true] {
            if (swapped && !swap) || (!rejudge && done.contains(&(id, swapped))) {
                continue;
            }
            jobs.push(BatchJob {
                case_id: id,
                swapped,
                mode: JudgeMode::RubricGiven(rubric.body.clone()),
            });
            any = true;
        }
        cases += usize::from(any);
    }
    if jobs.is_empty() {
        errln!(
            "nothing to judge: {} of the selected cases are already judged with {} (--rejudge judges them again)",
            ids.len(),
            visible_line(&rubric.label())
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (backend, concurrency) = judge()?;
    let interrupted = crate::judge::batch::interrupt_flag()?;
    let pool = BatchJudge::start(backend, concurrency)?;
    let by = match pool.server() {
        Some(engine) => format!(
            "{} at {} ({} in flight)",
            visible_line(&engine.server.model),
            engine.server.display_url,
            pool.concurrency()
        ),
        None => visible_line(&pool.info().file_name),
    };
    errln!(
        "applying {} to {} case(s), {} judgment(s) with {by}",
        visible_line(&rubric.label()),
        cases,
        jobs.len(),
    );
    let out = pool.run(store, jobs, &interrupted, |j| {
        store.insert_judgment_with_rubric(j, Some(rubric.id))?;
        Ok(())
    })?;
    let t = &out.tally;
    errln!(
        "{} {} judgment(s) with {}: A {}, B {}, tie {}, both bad {}, unparsed {}; {} failed{}",
        if out.interrupted {
            "interrupted after saving"
        } else {
            "saved"
        },
        t.saved,
        visible_line(&rubric.label()),
        t.a,
        t.b,
        t.tie,
        t.both_bad,
        t.unparsed,
        t.failed,
        if out.interrupted {
            " (run the same command again to go on)"
        } else {
            ""
        }
    );
    if let Some(line) = out.stopped_line() {
        errln!("{line}");
    }
    Ok(out.exit_code())
}

pub fn run_collections(ctx: &Context, args: &CollectionsArgs) -> Result<ExitCode> {
    let store = ctx.open_store()?;
    match &args.command {
        CollectionsCommand::List { json } => {
            let all = store.collections()?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                errln!(
                    "no collections yet: `rubricate collections add NAME CASE...` or t in the workbench"
                );
            } else {
                for c in all {
                    outln!(
                        "{:24}  {:>6} case(s)  by {}  since {}",
                        visible_line(&c.name),
                        c.size,
                        visible_line(&c.created_by),
                        c.created_at
                    );
                }
            }
        }
        CollectionsCommand::Show { name, json } => {
            let ids = store.collection_case_ids(name)?;
            let summaries = store.case_summaries(&ids, &ctx.reviewer)?;
            if *json {
                let rows: Vec<serde_json::Value> = summaries
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "case_id": s.id,
                            "title": s.title,
                            "decided": s.decided.map(|v| v.as_str()),
                        })
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for s in summaries {
                    outln!(
                        "{:>6}  {:8}  {}",
                        s.id,
                        s.decided.map_or("-", |v| v.as_str()),
                        visible_line(&s.title)
                    );
                }
            }
        }
        CollectionsCommand::Add { name, cases } | CollectionsCommand::Remove { name, cases } => {
            let member = matches!(args.command, CollectionsCommand::Add { .. });
            let ids = cases
                .iter()
                .map(|k| resolve_case(&store, k))
                .collect::<Result<Vec<_>>>()?;
            let mut changed = 0;
            for id in &ids {
                changed +=
                    usize::from(store.set_in_collection(name, *id, member, &ctx.reviewer)?);
            }
            errln!(
                "{} {changed} case(s) {} {} ({} already {})",
                if member { "added" } else { "removed" },
                if member { "to" } else { "from" },
                visible_line(name),
                ids.len() - changed,
                if member { "in it" } else { "out of it" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_added_and_removed_lines() {
        let d = line_diff("correct\nbrief", "correct\ncites sources\nbrief");
        let marks: String = d.iter().map(|(m, _)| *m).collect();
        assert_eq!(marks, " + ");
        assert_eq!(d[1].1, "cites sources");
        let d = line_diff("1\nold\n3", "1\nnew\n3");
        let marks: String = d.iter().map(|(m, _)| *m).collect();
        assert_eq!(marks, " -+ ");
        let d = line_diff("a\nb", "b");
        assert_eq!(d, vec![('-', "a".into()), (' ', "b".into())]);
    }
}
