//! Folding a judge's free reasoning (`…</think>`) in the judge pane. Long-reasoning judges
//! (RM-R1 DeepSeek-distilled) write hundreds of lines before their verdict; the pane shows
//! one line in their place until the reviewer expands them. Pure.

use super::keymap::{self, Action};

/// Reasoning of at least this many lines is folded (unless expanded); shorter reasoning
/// takes no more room than its fold line would.
pub const FOLD_MIN_LINES: usize = 4;

const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

/// Lines of a text as the pane would count them (a trailing line break ends the last one).
pub fn line_count(text: &str) -> usize {
    let t = text.trim_end_matches('\n');
    if t.is_empty() {
        0
    } else {
        t.split('\n').count()
    }
}

/// Whether reasoning of this text is shown folded.
pub fn folds(reasoning: &str, expanded: bool) -> bool {
    !expanded && line_count(reasoning.trim()) >= FOLD_MIN_LINES
}

/// The one line shown in place of folded reasoning.
pub fn fold_line(reasoning: &str) -> String {
    format!(
        "reasoning: {} lines, {} to expand",
        line_count(reasoning.trim()),
        keymap::shown_for(Action::ToggleReasoning).unwrap_or("?")
    )
}

/// The reasoning part of raw judge output: the text before the first `</think>` (a leading
/// `<think>` dropped), if the output has one.
pub fn raw_reasoning(raw: &str) -> Option<(&str, &str)> {
    let close = raw.find(THINK_CLOSE)?;
    let before = raw[..close].trim_start();
    let before = before.strip_prefix(THINK_OPEN).unwrap_or(before);
    Some((before, &raw[close + THINK_CLOSE.len()..]))
}

/// A stored analysis split into the free reasoning and the rest. The parser keeps
/// reasoning as the analysis in two shapes: `<think>\nR\n</think>\n\nA` when the judge also
/// wrote an evaluation, or the bare reasoning when it wrote none (recognised by the raw
/// output, where it ends at `</think>`).
pub fn split_reasoning<'a>(analysis: &'a str, raw: &str) -> (Option<&'a str>, &'a str) {
    if let Some(rest) = analysis.strip_prefix(THINK_OPEN)
        && let Some(close) = rest.find(THINK_CLOSE)
    {
        return (
            Some(rest[..close].trim_matches('\n')),
            rest[close + THINK_CLOSE.len()..].trim_start_matches('\n'),
        );
    }
    match raw_reasoning(raw) {
        Some((r, _)) if !r.trim().is_empty() && r.trim() == analysis.trim() => (Some(analysis), ""),
        _ => (None, analysis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_stored_shapes_split() {
        let a = "<think>\nstep 1\nstep 2\n</think>\n\n<eval>B is right</eval>";
        assert_eq!(
            split_reasoning(a, ""),
            (Some("step 1\nstep 2"), "<eval>B is right</eval>")
        );
        let raw = "step 1\nstep 2\n</think>\n\n<answer>[[B]]</answer>";
        assert_eq!(
            split_reasoning("step 1\nstep 2", raw),
            (Some("step 1\nstep 2"), "")
        );
        // An analysis that is not the reasoning stays whole.
        assert_eq!(split_reasoning("A: fine", raw), (None, "A: fine"));
        assert_eq!(split_reasoning("A: fine", "A: fine"), (None, "A: fine"));
    }

    #[test]
    fn only_long_reasoning_folds() {
        assert!(!folds("one\ntwo\nthree", false));
        assert!(folds("one\ntwo\nthree\nfour\n", false));
        assert!(!folds("one\ntwo\nthree\nfour", true));
        assert_eq!(line_count("a\nb\n"), 2);
        assert_eq!(line_count(""), 0);
        assert_eq!(
            fold_line("1\n2\n3\n4\n5"),
            format!(
                "reasoning: 5 lines, {} to expand",
                keymap::shown_for(Action::ToggleReasoning).unwrap()
            )
        );
        assert_eq!(
            raw_reasoning("<think>\nx\n</think>\nrest"),
            Some(("\nx\n", "\nrest"))
        );
    }
}
