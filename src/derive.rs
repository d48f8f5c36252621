//! Deriving a case: fork a new case from a parent, with the same prompt, the model's
//! failure kept as the rejected answer and a reviewer-written answer as the chosen one,
//! linked to its parent (`case_links`). [`plan`] is pure; [`derive`] writes; the CLI
//! (`rubricate derive`) and the workbench (`D`) both go through [`derive`].

use crate::cli::{DeriveArgs, RejectedSide};
use crate::context::Context;
use crate::domain::{Case, NewCase, NewReview, ReviewAction, Verdict};
use crate::sanitize::visible_line;
use crate::store::Store;
use crate::{errln, outln};
use anyhow::{Context as _, Result, bail};
use std::io::Read as _;
use std::process::ExitCode;

/// The new case: the parent's prompt, the rejected answer kept in its own slot (A or B)
/// and the chosen text in the other, labelled chosen. `rejected_text` is the answer as
/// the model saw it (refined text where a reviewer refined it).
pub fn plan(parent: &Case, rejected: Verdict, rejected_text: &str, chosen: &str) -> NewCase {
    let (answer_a, answer_b, label) = match rejected {
        Verdict::A => (rejected_text, chosen, Verdict::B),
        _ => (chosen, rejected_text, Verdict::A),
    };
    NewCase {
        source: parent.source.clone(),
        source_id: None,
        prompt: parent.prompt.clone(),
        answer_a: answer_a.to_string(),
        answer_b: answer_b.to_string(),
        source_label: Some(label),
        meta: serde_json::json!({ "derived_from": parent.id }),
        category: parent.category.clone(),
        difficulty: parent.difficulty.clone(),
    }
}

/// The answer the model preferred on a case (its latest original-order verdict), the
/// "failure" a derived case keeps as rejected.
pub fn model_pick(store: &Store, case_id: i64) -> Result<Option<Verdict>> {
    Ok(store
        .latest_judgment(case_id, false)?
        .and_then(|j| j.j.verdict)
        .filter(|v| matches!(v, Verdict::A | Verdict::B)))
}

/// Fork `parent_id` with `chosen` against its `rejected` answer; the reviewer's
/// preference is recorded as a decision on the new case. Returns the new case's id.
pub fn derive(
    store: &mut Store,
    parent_id: i64,
    rejected: Verdict,
    chosen: &str,
    author: &str,
) -> Result<i64> {
    if !matches!(rejected, Verdict::A | Verdict::B) {
        bail!("the rejected answer is A or B");
    }
    let chosen = chosen.trim_end();
    if chosen.trim().is_empty() {
        bail!("the chosen answer is empty: write the better answer");
    }
    let parent = store
        .get_case(parent_id)?
        .with_context(|| format!("there is no case {parent_id} to derive from"))?;
    let now = store.current_answers(&parent)?;
    let rejected_text = if rejected == Verdict::A {
        &now.a
    } else {
        &now.b
    };
    if rejected_text.trim_end() == chosen {
        bail!("the chosen answer is the rejected answer itself: write a different one");
    }
    let case = plan(&parent, rejected, rejected_text, chosen);
    let label = case.source_label;
    let how = format!(
        "answer {} kept as rejected; chosen written by the reviewer",
        rejected.as_str()
    );
    let id = store.derive_case(parent_id, &case, author, &how)?;
    store.append_review(&NewReview {
        case_id: id,
        reviewer: author.to_string(),
        action: Some(ReviewAction::Decide),
        verdict: label,
        note: Some(format!("derived from case {parent_id}")),
        ..Default::default()
    })?;
    Ok(id)
}

pub fn run(ctx: &Context, args: &DeriveArgs) -> Result<ExitCode> {
    let mut store = ctx.open_store()?;
    let parent = crate::library::resolve_case(&store, &args.case)?;
    let rejected = match args.rejected {
        RejectedSide::A => Verdict::A,
        RejectedSide::B => Verdict::B,
        RejectedSide::Model => model_pick(&store, parent)?.with_context(|| {
            format!(
                "case {parent} has no model verdict for A or B to keep as the failure: \
                 say which answer is rejected with --rejected a or --rejected b"
            )
        })?,
    };
    let chosen = match (&args.chosen, &args.chosen_file) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) if path.as_os_str() != "-" => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the chosen answer from {}", path.display()))?,
        (None, _) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the chosen answer from standard input")?;
            s
        }
    };
    let id = derive(&mut store, parent, rejected, &chosen, &ctx.reviewer)?;
    outln!("{id}");
    errln!(
        "derived case {id} from case {parent}: answer {} kept as rejected, your answer chosen (recorded as {}'s decision)",
        rejected.as_str(),
        visible_line(&ctx.reviewer)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Message;

    #[test]
    fn the_failure_keeps_its_slot_and_the_chosen_takes_the_other() {
        let parent = Case {
            id: 7,
            source: "s".into(),
            source_id: Some("x-1".into()),
            prompt: vec![Message::user("Is 221 prime?")],
            answer_a: "Yes.".into(),
            answer_b: "No: 13 x 17.".into(),
            source_label: Some(Verdict::B),
            content_hash: String::new(),
            meta: serde_json::Value::Null,
            category: Some("math".into()),
            difficulty: None,
        };
        let c = plan(
            &parent,
            Verdict::A,
            "Yes.",
            "No. 221 = 13 × 17, so it is composite.",
        );
        assert_eq!(
            (c.answer_a.as_str(), c.source_label),
            ("Yes.", Some(Verdict::B))
        );
        assert!(c.answer_b.starts_with("No. 221"));
        assert_eq!(c.prompt, parent.prompt);
        assert_eq!(c.category.as_deref(), Some("math"));
        assert_eq!(c.meta["derived_from"], 7);
        let c = plan(&parent, Verdict::B, "No: 13 x 17.", "Better");
        assert_eq!(
            (c.answer_a.as_str(), c.answer_b.as_str(), c.source_label),
            ("Better", "No: 13 x 17.", Some(Verdict::A))
        );
    }
}
