//! Text shapes the export formats share: a conversation as one string, the judge's
//! prompt for a case, and the judge's answer in the native and RM-R1 tag shapes.

use crate::domain::{Message, Verdict};

const JUDGE_SYSTEM: &str = include_str!("../../assets/export/judge_system.txt");
const RM_R1_SYSTEM: &str = include_str!("../../assets/export/rm_r1_system.txt");
const CASE_USER: &str = include_str!("../../assets/export/case_user.txt");

/// The conversation as one string (TRL standard `prompt`): a single user turn is just
/// its text; anything longer is role-labelled turns separated by blank lines.
pub fn conversation_text(prompt: &[Message]) -> String {
    if let [only] = prompt
        && only.role == "user"
    {
        return only.content.clone();
    }
    let mut out = String::new();
    for (i, m) in prompt.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&role_label(&m.role));
        out.push_str(": ");
        out.push_str(&m.content);
    }
    out
}

fn role_label(role: &str) -> String {
    match role {
        "user" => "User".into(),
        "assistant" => "Assistant".into(),
        "system" => "System".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// Fill `{name}` placeholders in one pass, so text substituted in (which may itself
/// contain braces) is never expanded again.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v, close))
        });
        match hit {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Which judge shape an exported training example uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeShape {
    /// rubricate's own `<rubric>`, `<analysis>`, `<verdict>`.
    Native,
    /// RM-R1's chain of rubrics: `<rubric>`, `<eval>`, `<answer>[[A]]</answer>`.
    RmR1,
}

/// The judge's input for a case: a system message and the case as the user turn.
/// `a` and `b` are the answers in the order they are shown.
pub fn judge_messages(shape: JudgeShape, prompt: &[Message], a: &str, b: &str) -> Vec<Message> {
    let system = match shape {
        JudgeShape::Native => JUDGE_SYSTEM,
        JudgeShape::RmR1 => RM_R1_SYSTEM,
    };
    let multi_turn = prompt.len() > 1;
    let context = conversation_text(prompt);
    let user = fill(
        CASE_USER,
        &[
            (
                "context_title",
                if multi_turn {
                    "Conversation"
                } else {
                    "Question"
                },
            ),
            ("context", &context),
            ("answer_a", a),
            ("answer_b", b),
        ],
    );
    vec![
        Message::new("system", system.trim_end()),
        Message::user(user.trim_end()),
    ]
}

/// The judge's answer in the given shape. RM-R1 has no tie, so callers pass A or B there.
pub fn judge_answer(shape: JudgeShape, rubric: &str, analysis: &str, verdict: Verdict) -> String {
    match shape {
        JudgeShape::Native => format!(
            "<rubric>\n{}\n</rubric>\n<analysis>\n{}\n</analysis>\n<verdict>{}</verdict>",
            rubric.trim(),
            analysis.trim(),
            verdict.as_str()
        ),
        JudgeShape::RmR1 => format!(
            "<rubric>\n{}\n</rubric>\n\n<eval>\n{}\n</eval>\n\n<answer>[[{}]]</answer>",
            rubric.trim(),
            analysis.trim(),
            verdict.as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_turn_is_the_user_text() {
        assert_eq!(conversation_text(&[Message::user("hi")]), "hi");
        let multi = [
            Message::new("system", "be brief"),
            Message::user("q"),
            Message::new("assistant", "a"),
            Message::user("q2"),
        ];
        assert_eq!(
            conversation_text(&multi),
            "System: be brief\n\nUser: q\n\nAssistant: a\n\nUser: q2"
        );
    }

    #[test]
    fn fill_does_not_expand_substituted_text() {
        let out = fill("[{x}] {y} {unknown}", &[("x", "{y}"), ("y", "Y")]);
        assert_eq!(out, "[{y}] Y {unknown}");
    }

    #[test]
    fn judge_prompt_holds_both_answers() {
        let m = judge_messages(JudgeShape::RmR1, &[Message::user("q?")], "first", "second");
        assert_eq!(m[0].role, "system");
        assert!(m[0].content.contains("[[A]]"));
        assert!(m[1].content.starts_with("[Question]\nq?"));
        let a = m[1].content.find("first").unwrap();
        let b = m[1].content.find("second").unwrap();
        assert!(a < b);
    }

    #[test]
    fn answer_shapes() {
        assert_eq!(
            judge_answer(JudgeShape::RmR1, " r ", "e", Verdict::B),
            "<rubric>\nr\n</rubric>\n\n<eval>\ne\n</eval>\n\n<answer>[[B]]</answer>"
        );
        assert!(
            judge_answer(JudgeShape::Native, "r", "e", Verdict::Tie)
                .ends_with("<verdict>tie</verdict>")
        );
    }
}
