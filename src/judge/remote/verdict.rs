//! P(A)/P(B)/P(tie) from the top log probabilities a server reports at the verdict position,
//! and the server grammar (the profile's grammar with the verdict slot appended). Pure.

use super::sse::TokenLogprob;

/// Follows the generated tokens and, at the first token after the verdict opener (e.g.
/// `<verdict>`), reads the probabilities of the choices from that token's alternatives.
#[derive(Debug, Clone)]
pub struct VerdictReader {
    opener: String,
    choices: Vec<String>,
    text: String,
    state: State,
    probs: Option<Vec<f64>>,
    /// For long-reasoning profiles: the opener counts only after this text (`</think>`), so
    /// the model quoting the answer format while it reasons is not taken for its verdict.
    gate: Option<String>,
    /// Where the search for the opener starts in `text` (past the gate once it is seen).
    search_from: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// The opener has not been completed yet.
    Before,
    /// The opener ended exactly at a token boundary: the next token is the choice.
    NextToken,
    Read,
}

impl VerdictReader {
    pub fn new(opener: &str, choices: &[&str]) -> VerdictReader {
        VerdictReader {
            opener: opener.to_string(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            text: String::new(),
            state: State::Before,
            probs: None,
            gate: None,
            search_from: Some(0),
        }
    }

    /// The opener counts only once `gate` (e.g. `</think>`) has been generated.
    pub fn after(mut self, gate: &str) -> VerdictReader {
        self.gate = Some(gate.to_string());
        self.search_from = None;
        self
    }

    /// A reader for a request whose prompt already ends with the opener: the first
    /// generated token is the choice.
    pub fn at_choice(choices: &[&str]) -> VerdictReader {
        let mut r = VerdictReader::new("", choices);
        r.state = State::NextToken;
        r
    }

    /// The server reported the end of the reasoning apart from the tokens (its
    /// `reasoning_content` stopped): from here on the opener counts.
    pub fn open_gate(&mut self) {
        if self.search_from.is_none() {
            self.search_from = Some(self.text.len());
        }
    }

    pub fn push(&mut self, tok: &TokenLogprob) {
        match self.state {
            State::Read => {}
            State::NextToken => {
                self.read_at(tok, "");
                self.state = State::Read;
            }
            State::Before => {
                let before = self.text.len();
                self.text.push_str(&tok.token);
                if self.search_from.is_none()
                    && let Some(g) = &self.gate
                    && let Some(at) = self.text.find(g.as_str())
                {
                    self.search_from = Some(at + g.len());
                }
                let Some(from) = self.search_from else {
                    return;
                };
                let Some(found) = self.text[from..].find(&self.opener).map(|i| i + from) else {
                    return;
                };
                let end = found + self.opener.len();
                if end == self.text.len() {
                    self.state = State::NextToken;
                } else {
                    // The opener ends inside this token: the choice starts in it too, and
                    // the alternatives count only when they begin with the same opener part.
                    let shared = &tok.token[..end.saturating_sub(before).min(tok.token.len())];
                    let shared = shared.to_string();
                    self.read_at(tok, &shared);
                    self.state = State::Read;
                }
            }
        }
    }

    /// Normalised probabilities of the choices (in the order given), or `None` when the
    /// server reported no alternatives at that position or none of them is a choice.
    pub fn probabilities(&self) -> Option<Vec<f64>> {
        self.probs.clone()
    }

    fn read_at(&mut self, tok: &TokenLogprob, shared: &str) {
        let mut mass = vec![0.0f64; self.choices.len()];
        let mut seen_sampled = false;
        let add = |token: &str, logprob: f64, mass: &mut Vec<f64>| {
            let Some(rest) = token.strip_prefix(shared) else {
                return;
            };
            if let Some(i) = self.choice_of(rest) {
                mass[i] += logprob.exp();
            }
        };
        for alt in &tok.top {
            if alt.token == tok.token {
                seen_sampled = true;
            }
            add(&alt.token, alt.logprob, &mut mass);
        }
        if tok.top.is_empty() {
            // Without alternatives there is no distribution to read, only the pick.
            return;
        }
        if !seen_sampled {
            add(&tok.token, tok.logprob, &mut mass);
        }
        let total: f64 = mass.iter().sum();
        if total > 0.0 && total.is_finite() {
            self.probs = Some(mass.iter().map(|m| m / total).collect());
        }
    }

    /// Which choice a token starts: it is a prefix of the choice (`t` of `tie`) or the choice
    /// followed by more text (`A]]`). A token that fits two choices counts for neither.
    fn choice_of(&self, token: &str) -> Option<usize> {
        if token.is_empty() {
            return None;
        }
        let fits: Vec<usize> = self
            .choices
            .iter()
            .enumerate()
            .filter(|(_, c)| c.starts_with(token) || token.starts_with(c.as_str()))
            .map(|(i, _)| i)
            .collect();
        match fits.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// The grammar to send a server: llama.cpp's GBNF starts at the rule named `root`, so the
/// profile's chosen start rule is renamed into place, and `tail` (the verdict slot, in GBNF)
/// is appended after it when the profile's grammar stops before the verdict.
pub fn server_grammar(gbnf: &str, start: &str, tail: Option<&str>) -> String {
    const OLD_ROOT: &str = "rubricate-old-root";
    let text = rename_rule(gbnf, "root", OLD_ROOT);
    let start = if start == "root" { OLD_ROOT } else { start };
    let body = match tail {
        Some(t) => format!("{start} {t}"),
        None => start.to_string(),
    };
    format!("{text}\n\nroot ::= {body}\n")
}

/// Rename a rule (definitions and references) outside strings, character classes and comments.
fn rename_rule(gbnf: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(gbnf.len() + 64);
    let mut chars = gbnf.chars().peekable();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                out.push(c);
                for n in chars.by_ref() {
                    out.push(n);
                    if n == '\n' {
                        break;
                    }
                }
            }
            '"' | '[' => {
                let close = if c == '"' { '"' } else { ']' };
                out.push(c);
                while let Some(n) = chars.next() {
                    out.push(n);
                    if n == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if n == close {
                        break;
                    }
                }
            }
            c if is_name(c) => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if !is_name(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push_str(if word == from { to } else { &word });
            }
            _ => out.push(c),
        }
    }
    out
}

/// GBNF for a literal string.
pub fn gbnf_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::super::sse::TopLogprob;
    use super::*;

    fn tok(token: &str, logprob: f64, top: &[(&str, f64)]) -> TokenLogprob {
        TokenLogprob {
            token: token.into(),
            logprob,
            top: top
                .iter()
                .map(|(t, l)| TopLogprob {
                    token: t.to_string(),
                    logprob: *l,
                })
                .collect(),
        }
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn probabilities_at_the_token_after_the_opener() {
        let mut r = VerdictReader::new("<verdict>", &["A", "B", "tie"]);
        // A decoy before the opener is not the verdict position.
        r.push(&tok("A", -0.1, &[("A", -0.1), ("B", -3.0)]));
        r.push(&tok("\n<", 0.0, &[]));
        r.push(&tok("verdict", 0.0, &[]));
        r.push(&tok(">", 0.0, &[]));
        assert!(r.probabilities().is_none());
        let (a, b, t) = (0.6f64, 0.3f64, 0.1f64);
        r.push(&tok(
            "A",
            a.ln(),
            &[("A", a.ln()), ("B", b.ln()), ("t", t.ln()), ("x", -9.0)],
        ));
        // Later tokens change nothing.
        r.push(&tok("B", 0.0, &[("B", 0.0)]));
        assert!(close(&r.probabilities().unwrap(), &[0.6, 0.3, 0.1]));
    }

    #[test]
    fn opener_ending_inside_a_token_and_bracket_choices() {
        let mut r = VerdictReader::new("<answer>[[", &["A", "B"]);
        r.push(&tok("<answer>", 0.0, &[]));
        r.push(&tok(
            "[[B",
            (0.8f64).ln(),
            &[("[[B", (0.8f64).ln()), ("[[A", (0.2f64).ln()), ("[", -5.0)],
        ));
        assert!(close(&r.probabilities().unwrap(), &[0.2, 0.8]));
    }

    #[test]
    fn with_a_gate_an_opener_inside_the_reasoning_does_not_count() {
        let mut r = VerdictReader::new("<answer>[[", &["A", "B"]).after("</think>");
        r.push(&tok("maybe <answer>[[", 0.0, &[]));
        r.push(&tok("A", -0.1, &[("A", -0.1), ("B", -2.3)]));
        assert!(r.probabilities().is_none(), "quoted while reasoning");
        r.push(&tok("]]</answer>.</th", 0.0, &[]));
        r.push(&tok("ink>\n<answer>[[", 0.0, &[]));
        r.push(&tok(
            "B",
            (0.7f64).ln(),
            &[("B", (0.7f64).ln()), ("A", (0.3f64).ln())],
        ));
        assert!(close(&r.probabilities().unwrap(), &[0.3, 0.7]));
        // Reasoning the server split off: the engine opens the gate itself.
        let mut r = VerdictReader::new("<answer>[[", &["A", "B"]).after("</think>");
        r.push(&tok("<answer>[[", 0.0, &[]));
        r.open_gate();
        r.push(&tok("A", -0.1, &[("A", -0.1)]));
        assert!(
            r.probabilities().is_none(),
            "the opener was before the gate"
        );
        r.push(&tok("]]</answer>\n<answer>[[", 0.0, &[]));
        r.push(&tok("B", -0.1, &[("B", -0.1), ("A", -2.4)]));
        assert!(r.probabilities().is_some());
    }

    #[test]
    fn at_choice_reads_the_first_token() {
        let mut r = VerdictReader::at_choice(&["A", "B", "C"]);
        r.push(&tok(
            "C",
            (0.5f64).ln(),
            &[("C", (0.5f64).ln()), ("A", (0.5f64).ln())],
        ));
        assert!(close(&r.probabilities().unwrap(), &[0.5, 0.0, 0.5]));
    }

    #[test]
    fn no_alternatives_means_unavailable() {
        let mut r = VerdictReader::new("<verdict>", &["A", "B", "tie"]);
        r.push(&tok("<verdict>", 0.0, &[]));
        r.push(&tok("A", -0.2, &[]));
        assert!(r.probabilities().is_none());
        let mut r = VerdictReader::new("<verdict>", &["A", "B", "tie"]);
        r.push(&tok("<verdict>", 0.0, &[]));
        r.push(&tok("Z", -0.2, &[("Z", -0.2), ("Q", -2.0)]));
        assert!(r.probabilities().is_none());
    }

    #[test]
    fn the_sampled_token_counts_when_missing_from_the_alternatives() {
        let mut r = VerdictReader::new(">", &["A", "B", "tie"]);
        r.push(&tok(">", 0.0, &[]));
        r.push(&tok("tie", (0.25f64).ln(), &[("A", (0.75f64).ln())]));
        assert!(close(&r.probabilities().unwrap(), &[0.75, 0.0, 0.25]));
    }

    #[test]
    fn grammar_root_renamed_and_tail_appended() {
        let g = "# root comment\nroot ::= rubric \"root\" [root]\ngiven ::= analysis\nrubric ::= \"x\"\nanalysis ::= \"y\"\n";
        let full = server_grammar(g, "root", Some("\"\\n<verdict>\" (\"A\" | \"B\")"));
        assert!(full.contains("# root comment"));
        assert!(full.contains("rubricate-old-root ::= rubric \"root\" [root]"));
        assert!(full.ends_with("root ::= rubricate-old-root \"\\n<verdict>\" (\"A\" | \"B\")\n"));
        let given = server_grammar(g, "given", None);
        assert!(given.ends_with("\nroot ::= given\n"));
        assert_eq!(gbnf_literal("a\"\n"), "\"a\\\"\\n\"");
    }
}
