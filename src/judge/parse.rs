//! The streaming judgment parser: text in (as tokens arrive, tags possibly split across
//! tokens), sections out. Pure: no I/O, no model.
//!
//! Native dialect (rubricate's own output): `<rubric>…</rubric><analysis>…</analysis>`
//! `<verdict>A|B|tie</verdict>`, every section closed.
//!
//! Tolerant dialect (other judges, and every judgment imported): also RM-R1's shapes —
//! `<type>`, `<rubric>` (with `<justify>` inside), `<solution>`, `<eval>` (read as the
//! analysis; its `<quote_A>`/`<summary_A>`… tags stay in the text), `<answer>[[A]]</answer>`;
//! free reasoning closed by `</think>` (DeepSeek-distilled: the opening `<think>` is in the
//! prompt, so the output may start inside it), kept as the analysis when there is no `<eval>`;
//! MT-Bench's bare `[[A]]` / `[[B]]` / `[[C]]` after an explanation. Both winners named in
//! the answer is an error (RM-R1's rule). A missing closing tag is accepted.

use super::api::Section;
use super::profile::VerdictSlot;
use crate::domain::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// rubricate's own output: every section closed, tags exactly as the grammar writes them.
    Native,
    /// Output of other judges (RM-R1 and similar): synonyms, `[[A]]` verdicts, unclosed last section.
    Tolerant,
}

/// How to read one profile's output.
#[derive(Debug, Clone, PartialEq)]
pub struct ParserSpec {
    pub dialect: Dialect,
    /// The output starts inside free reasoning that `</think>` closes.
    pub think: bool,
    /// Text outside any tag is the analysis (MT-Bench's explanation); it streams as such.
    pub loose_analysis: bool,
    /// How the verdict is written.
    pub verdict: VerdictSlot,
}

impl ParserSpec {
    /// rubricate's own output.
    pub fn native() -> ParserSpec {
        ParserSpec {
            dialect: Dialect::Native,
            think: false,
            loose_analysis: false,
            verdict: VerdictSlot {
                open: "<verdict>".into(),
                close: "</verdict>".into(),
                lead: "\n".into(),
                lead_unclosed: None,
                choices: vec![
                    ("A".into(), Verdict::A),
                    ("B".into(), Verdict::B),
                    ("tie".into(), Verdict::Tie),
                ],
            },
        }
    }

    /// Any known shape (for judgments made elsewhere).
    pub fn tolerant() -> ParserSpec {
        ParserSpec {
            dialect: Dialect::Tolerant,
            think: false,
            loose_analysis: false,
            verdict: VerdictSlot {
                open: "<answer>[[".into(),
                close: "]]</answer>".into(),
                lead: "\n\n".into(),
                lead_unclosed: None,
                choices: vec![
                    ("A".into(), Verdict::A),
                    ("B".into(), Verdict::B),
                    ("tie".into(), Verdict::Tie),
                    ("C".into(), Verdict::Tie),
                ],
            },
        }
    }

    pub fn for_dialect(d: Dialect) -> ParserSpec {
        match d {
            Dialect::Native => ParserSpec::native(),
            Dialect::Tolerant => ParserSpec::tolerant(),
        }
    }
}

/// Generated text of one section, as it streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub section: Section,
    pub text: String,
}

/// The parsed judgment. Sections are present when they were seen, even if something
/// else went wrong; `error` says what (and is `None` only for a complete judgment).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub rubric: Option<String>,
    /// The analysis: `<analysis>` / `<eval>`, else the free reasoning, else (MT-Bench) the
    /// explanation outside tags. With both reasoning and `<eval>`, the reasoning comes
    /// first inside `<think>…</think>`.
    pub analysis: Option<String>,
    pub verdict: Option<Verdict>,
    /// RM-R1 `<type>`.
    pub judge_type: Option<String>,
    /// RM-R1 `<solution>`.
    pub solution: Option<String>,
    /// Free reasoning (`…</think>`).
    pub reasoning: Option<String>,
    pub error: Option<String>,
}

impl Parsed {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Parse a whole judgment text at once.
pub fn parse_judgment(text: &str, dialect: Dialect) -> Parsed {
    parse_with(text, ParserSpec::for_dialect(dialect))
}

/// Parse a whole judgment text with a profile's settings.
pub fn parse_with(text: &str, mut spec: ParserSpec) -> Parsed {
    // A whole text can be looked at before reading it: a `</think>` with no `<think>` before
    // it means the output started inside the reasoning (DeepSeek-distilled judges), so tags
    // quoted while thinking are not sections.
    if spec.dialect == Dialect::Tolerant
        && let Some(close) = text.find("</think>")
        && !text[..close].contains("<think>")
    {
        spec.think = true;
    }
    let mut p = StreamParser::with_spec(spec);
    p.push(text);
    p.finish()
}

#[derive(Debug, Clone)]
struct Tag {
    open: String,
    close: String,
    section: Section,
    /// Its closing tag counts also when it was never opened (`</think>`).
    close_without_open: bool,
}

fn tag(name: &str, section: Section) -> Tag {
    Tag {
        open: format!("<{name}>"),
        close: format!("</{name}>"),
        section,
        close_without_open: false,
    }
}

fn tags_for(spec: &ParserSpec) -> Vec<Tag> {
    let mut tags = match spec.dialect {
        Dialect::Native => vec![
            tag("rubric", Section::Rubric),
            tag("analysis", Section::Analysis),
        ],
        Dialect::Tolerant => vec![
            tag("type", Section::Type),
            tag("rubric", Section::Rubric),
            tag("solution", Section::Solution),
            tag("analysis", Section::Analysis),
            tag("eval", Section::Analysis),
            Tag {
                close_without_open: true,
                ..tag("think", Section::Reasoning)
            },
            tag("answer", Section::Verdict),
            tag("verdict", Section::Verdict),
        ],
    };
    let v = &spec.verdict;
    if !tags.iter().any(|t| v.open.starts_with(&t.open)) {
        // A verdict slot that is not a known tag (MT-Bench's `[[`…`]]`, `<verdict>` in Native).
        tags.push(Tag {
            open: v.open.clone(),
            close: if v.close.is_empty() {
                "\n".into()
            } else {
                v.close.clone()
            },
            section: Section::Verdict,
            close_without_open: false,
        });
    }
    tags
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between sections.
    Outside,
    /// Inside a section opened by the tag at this index of the tag list.
    Inside(usize),
    /// The verdict section is closed; the rest is ignored.
    Done,
}

/// A match of a tag in the pending text.
struct Hit {
    at: usize,
    len: usize,
    tag: usize,
    closing: bool,
}

pub struct StreamParser {
    spec: ParserSpec,
    tags: Vec<Tag>,
    state: State,
    /// Text received but not yet classified: it may be the start of a tag.
    pending: String,
    /// Content of the open section so far.
    current: String,
    /// Text outside any section since the last tag.
    loose: String,
    /// Every piece of text outside sections (MT-Bench's explanation, a bare `[[A]]`).
    all_loose: String,
    /// True until the open section has emitted non-newline text (leading newlines are not streamed).
    at_section_start: bool,
    rubric: Option<String>,
    analysis: Option<String>,
    verdict_text: Option<String>,
    judge_type: Option<String>,
    solution: Option<String>,
    reasoning: Option<String>,
    rubric_given: bool,
    errors: Vec<String>,
}

impl StreamParser {
    pub fn new(dialect: Dialect) -> StreamParser {
        StreamParser::with_spec(ParserSpec::for_dialect(dialect))
    }

    pub fn with_spec(spec: ParserSpec) -> StreamParser {
        let tags = tags_for(&spec);
        let mut p = StreamParser {
            state: State::Outside,
            pending: String::new(),
            current: String::new(),
            loose: String::new(),
            all_loose: String::new(),
            at_section_start: true,
            rubric: None,
            analysis: None,
            verdict_text: None,
            judge_type: None,
            solution: None,
            reasoning: None,
            rubric_given: false,
            errors: Vec::new(),
            tags,
            spec,
        };
        if p.spec.think
            && let Some(i) = p.tags.iter().position(|t| t.section == Section::Reasoning)
        {
            p.state = State::Inside(i);
        }
        p
    }

    /// A parser for rubric-given mode with the rubric prefilled in the judge's turn:
    /// generated text starts after it.
    pub fn after_given_rubric(spec: ParserSpec, rubric: &str) -> StreamParser {
        let mut p = StreamParser::with_spec(spec);
        p.rubric = Some(rubric.to_string());
        p.rubric_given = true;
        p
    }

    /// The section being written, if any.
    pub fn section(&self) -> Option<Section> {
        match self.state {
            State::Inside(i) => Some(self.tags[i].section),
            _ => None,
        }
    }

    /// True once the verdict section is closed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// True while free reasoning (`…</think>`) is open.
    pub fn in_reasoning(&self) -> bool {
        self.section() == Some(Section::Reasoning)
    }

    /// Feed generated text; returns the section text that is now certain.
    pub fn push(&mut self, text: &str) -> Vec<Segment> {
        let mut out = Vec::new();
        if self.state == State::Done {
            return out;
        }
        self.pending.push_str(text);
        loop {
            if self.state == State::Done {
                self.pending.clear();
                break;
            }
            match self.find_tag() {
                Some(hit) => {
                    let before: String = self.pending[..hit.at].to_string();
                    self.take_text(&before, &mut out);
                    self.pending.drain(..hit.at + hit.len);
                    self.on_tag(hit.tag, hit.closing);
                }
                None => {
                    let keep = self.partial_tag_start();
                    let certain: String = self.pending[..keep].to_string();
                    self.take_text(&certain, &mut out);
                    self.pending.drain(..keep);
                    break;
                }
            }
        }
        out
    }

    /// End of generation: the judgment as far as it goes, with what is missing.
    pub fn finish(mut self) -> Parsed {
        let rest = std::mem::take(&mut self.pending);
        let mut sink = Vec::new();
        self.take_text(&rest, &mut sink);
        let native = self.spec.dialect == Dialect::Native;
        if let State::Inside(i) = self.state {
            if native || self.tags[i].section == Section::Reasoning {
                let what = if self.tags[i].section == Section::Reasoning {
                    "the reasoning was not closed with </think>".to_string()
                } else {
                    format!("{} was not closed", self.tags[i].open)
                };
                self.errors.push(what);
            }
            self.close_section(i);
        }
        let loose = self.all_loose.trim().to_string();
        if native && self.rubric.is_none() {
            self.errors.push("no <rubric> section".into());
        }
        // The analysis: the written one, else the reasoning, else the explanation outside tags.
        let analysis = match (self.analysis.take(), &self.reasoning) {
            (Some(a), Some(r)) => Some(format!("<think>\n{r}\n</think>\n\n{a}")),
            (Some(a), None) => Some(a),
            (None, Some(r)) => Some(r.clone()),
            (None, None) if !native && !loose.is_empty() => {
                Some(strip_bare_verdict(&loose, &self.spec.verdict))
            }
            (None, None) => None,
        };
        if analysis.as_deref().is_none_or(str::is_empty) {
            self.errors.push(if native {
                "no <analysis> section".into()
            } else {
                "no <analysis>, <eval> or reasoning".into()
            });
        }
        let verdict_text = self.verdict_text.clone().or_else(|| {
            // MT-Bench style: a bare `[[A]]` after the explanation.
            (!native && loose.contains("[[")).then(|| loose.clone())
        });
        let verdict = match &verdict_text {
            None => {
                self.errors.push(if native {
                    "no <verdict> section".into()
                } else {
                    "no verdict (<answer>[[A]]</answer>, [[A]] or <verdict>)".into()
                });
                None
            }
            Some(text) => match read_verdict(text, &self.spec) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.errors.push(e);
                    None
                }
            },
        };
        Parsed {
            rubric: self.rubric,
            analysis,
            verdict,
            judge_type: self.judge_type,
            solution: self.solution,
            reasoning: self.reasoning,
            error: if self.errors.is_empty() {
                None
            } else {
                Some(self.errors.join("; "))
            },
        }
    }

    /// The earliest tag in `pending` that matters in the current state.
    fn find_tag(&self) -> Option<Hit> {
        let mut best: Option<Hit> = None;
        let mut consider = |at: Option<usize>, len: usize, tag: usize, closing: bool| {
            if let Some(at) = at
                && best.as_ref().is_none_or(|b| at < b.at)
            {
                best = Some(Hit {
                    at,
                    len,
                    tag,
                    closing,
                });
            }
        };
        if let State::Inside(i) = self.state
            && self.tags[i].section == Section::Reasoning
        {
            // Free reasoning ends only at its closing tag: tags written while thinking
            // (quoting the format, drafting an answer) are part of the thought.
            let t = &self.tags[i];
            consider(self.pending.find(&t.close), t.close.len(), i, true);
            if self.current.trim().is_empty() {
                // An explicit `<think>` opening the output.
                consider(self.pending.find(&t.open), t.open.len(), i, false);
            }
            return best;
        }
        for (i, t) in self.tags.iter().enumerate() {
            if self.state == State::Inside(i) || self.stray_close_counts(t) {
                consider(self.pending.find(&t.close), t.close.len(), i, true);
            }
            consider(self.pending.find(&t.open), t.open.len(), i, false);
        }
        best
    }

    /// Where a possibly incomplete tag starts at the end of `pending` (its length if none).
    fn partial_tag_start(&self) -> usize {
        let mut cut = self.pending.len();
        let in_reasoning = self.in_reasoning();
        for (i, t) in self.tags.iter().enumerate() {
            if in_reasoning && self.state != State::Inside(i) {
                continue;
            }
            let mut candidates = if in_reasoning && !self.current.trim().is_empty() {
                vec![]
            } else {
                vec![t.open.as_str()]
            };
            if self.state == State::Inside(i) || self.stray_close_counts(t) {
                candidates.push(t.close.as_str());
            }
            for c in candidates {
                // The longest proper prefix of `c` that ends `pending`.
                for (k, _) in c.char_indices().skip(1) {
                    if self.pending.ends_with(&c[..k]) {
                        cut = cut.min(self.pending.len() - k);
                        break;
                    }
                }
            }
        }
        cut
    }

    /// Whether a closing tag counts while no section is open: `</think>` always (the
    /// reasoning may start before any tag), any closing tag in the tolerant dialect (real
    /// judges write `text</eval>` after an earlier `</eval>`; the text is kept, not lost).
    fn stray_close_counts(&self, t: &Tag) -> bool {
        self.state == State::Outside
            && (t.close_without_open || self.spec.dialect == Dialect::Tolerant)
    }

    fn take_text(&mut self, text: &str, out: &mut Vec<Segment>) {
        if text.is_empty() {
            return;
        }
        let section = match self.state {
            State::Inside(i) => {
                self.current.push_str(text);
                self.tags[i].section
            }
            State::Outside => {
                self.loose.push_str(text);
                self.all_loose.push_str(text);
                if !self.spec.loose_analysis {
                    return;
                }
                Section::Analysis
            }
            State::Done => return,
        };
        let shown = if self.at_section_start {
            let t = text.trim_start_matches(['\n', '\r']);
            if !t.is_empty() {
                self.at_section_start = false;
            }
            t
        } else {
            text
        };
        if !shown.is_empty() {
            out.push(Segment {
                section,
                text: shown.to_string(),
            });
        }
    }

    fn on_tag(&mut self, tag: usize, closing: bool) {
        let native = self.spec.dialect == Dialect::Native;
        let section = self.tags[tag].section;
        if closing {
            if self.state == State::Outside {
                // A closing tag with no section open (`</think>` without `<think>`, a second
                // `</eval>`): the text since the last tag belongs to that section.
                self.current = std::mem::take(&mut self.loose);
                self.all_loose.clear();
            }
            self.close_section(tag);
            self.state = if section == Section::Verdict {
                State::Done
            } else {
                State::Outside
            };
            self.loose.clear();
            self.at_section_start = true;
            return;
        }
        if self.state == State::Inside(tag) && section == Section::Reasoning {
            // `<think>` at the start of reasoning we are already in: nothing changes.
            return;
        }
        if let State::Inside(open) = self.state {
            // An opening tag inside a section closes it implicitly; our own output never does that.
            if native {
                self.errors.push(format!(
                    "{} was not closed before {}",
                    self.tags[open].open, self.tags[tag].open
                ));
            }
            self.close_section(open);
        }
        let repeats_allowed = !native && section == Section::Analysis;
        if self.slot_filled(section) && !repeats_allowed {
            let what = if section == Section::Rubric && self.rubric_given {
                "a <rubric> section although the rubric was given".to_string()
            } else {
                format!("more than one {} section", self.tags[tag].open)
            };
            self.errors.push(what);
        }
        self.state = State::Inside(tag);
        self.current.clear();
        self.loose.clear();
        self.at_section_start = true;
    }

    fn slot_filled(&self, section: Section) -> bool {
        match section {
            Section::Rubric => self.rubric.is_some(),
            Section::Analysis => self.analysis.is_some(),
            Section::Verdict => self.verdict_text.is_some(),
            Section::Reasoning => self.reasoning.is_some(),
            Section::Type => self.judge_type.is_some(),
            Section::Solution => self.solution.is_some(),
        }
    }

    fn close_section(&mut self, tag: usize) {
        let text = std::mem::take(&mut self.current).trim().to_string();
        let slot = match self.tags[tag].section {
            Section::Rubric => &mut self.rubric,
            Section::Analysis => &mut self.analysis,
            Section::Verdict => &mut self.verdict_text,
            Section::Reasoning => &mut self.reasoning,
            Section::Type => &mut self.judge_type,
            Section::Solution => &mut self.solution,
        };
        match slot {
            None => *slot = Some(text),
            // Tolerant: several <eval> blocks (real RM-R1 output has them) form one analysis.
            Some(prev)
                if self.spec.dialect == Dialect::Tolerant
                    && self.tags[tag].section == Section::Analysis
                    && !text.is_empty() =>
            {
                prev.push_str("\n\n");
                prev.push_str(&text);
            }
            // Otherwise the first occurrence wins; a repeat is already reported as an error.
            Some(_) => {}
        }
    }
}

/// The explanation without a trailing bare verdict (`… [[A]]`).
fn strip_bare_verdict(text: &str, slot: &VerdictSlot) -> String {
    let mut t = text.trim_end();
    for (c, _) in &slot.choices {
        if let Some(rest) = t.strip_suffix(&format!("[[{c}]]")) {
            t = rest.trim_end();
            break;
        }
    }
    t.to_string()
}

/// The verdict section's content: a choice string of the profile; tolerant also reads
/// `[[A]]` / `[[B]]` / `[[C]]` and lower-case letters.
fn read_verdict(text: &str, spec: &ParserSpec) -> Result<Verdict, String> {
    let t = text.trim();
    let tolerant = spec.dialect == Dialect::Tolerant;
    let mut choices = spec.verdict.choices.clone();
    if tolerant {
        for (c, v) in [("A", Verdict::A), ("B", Verdict::B), ("C", Verdict::Tie)] {
            if !choices.iter().any(|(x, _)| x == c) {
                choices.push((c.into(), v));
            }
        }
    }
    if tolerant && t.contains("[[") {
        let mut named: Vec<Verdict> = choices
            .iter()
            .filter(|(c, _)| t.contains(&format!("[[{c}]]")))
            .map(|(_, v)| *v)
            .collect();
        named.dedup();
        return match named.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!("unreadable verdict {t:?}")),
            _ => Err(format!("the verdict names more than one winner: {t:?}")),
        };
    }
    if let Some(v) = spec.verdict.verdict_of(t) {
        return Ok(v);
    }
    match t {
        "tie" | "Tie" | "TIE" => Ok(Verdict::Tie),
        "a" | "b" if tolerant => Ok(if t == "a" { Verdict::A } else { Verdict::B }),
        _ => Err(format!(
            "the verdict must be {}, not {t:?}",
            spec.verdict
                .choices
                .iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// RM-R1's inline tags made readable for the judge pane (display only; the stored text keeps
/// them): `<quote_A>x</quote_A>` becomes `A said: "x"`, `<summary_B>x</summary_B>` becomes
/// `B, in short: x`, `<justify>x</justify>` becomes `Why: x`. Unknown or unclosed tags stay.
pub fn readable(text: &str) -> String {
    const TAGS: &[(&str, &str, &str)] = &[
        ("quote_A", "A said: \"", "\""),
        ("quote_B", "B said: \"", "\""),
        ("summary_A", "A, in short: ", ""),
        ("summary_B", "B, in short: ", ""),
        ("justify", "Why: ", ""),
    ];
    let mut out = text.to_string();
    for (name, before, after) in TAGS {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&open) {
            let body_start = at + open.len();
            let Some(len) = rest[body_start..].find(&close) else {
                break;
            };
            result.push_str(&rest[..at]);
            result.push_str(before);
            result.push_str(rest[body_start..body_start + len].trim());
            result.push_str(after);
            rest = &rest[body_start + len + close.len()..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Turns a stream of token bytes into text, holding back an incomplete UTF-8 sequence
/// until the token that completes it arrives (a character can span tokens).
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..good]).unwrap_or_default());
                    match e.error_len() {
                        // Incomplete sequence at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..good);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{fffd}');
                            self.pending.drain(..good + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end, with an unfinished character replaced.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATIVE: &str = "<rubric>\n1. (50%) Correctness: says 13 x 17.\n2. (30%) Brevity: short.\n3. (20%) Tone: calm.\n</rubric>\n<analysis>\nA: wrong.\nB: right.\n</analysis>\n<verdict>B</verdict>";

    fn stream(text: &str, dialect: Dialect, chunk: usize) -> (Vec<Segment>, Parsed) {
        let mut p = StreamParser::new(dialect);
        let mut segs = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        for piece in chars.chunks(chunk) {
            segs.extend(p.push(&piece.iter().collect::<String>()));
        }
        (segs, p.finish())
    }

    fn joined(segs: &[Segment], section: Section) -> String {
        segs.iter()
            .filter(|s| s.section == section)
            .map(|s| s.text.as_str())
            .collect()
    }

    #[test]
    fn native_judgment_parses_whole() {
        let p = parse_judgment(NATIVE, Dialect::Native);
        assert!(p.ok(), "{:?}", p.error);
        assert_eq!(p.verdict, Some(Verdict::B));
        assert!(
            p.rubric
                .as_deref()
                .unwrap()
                .starts_with("1. (50%) Correctness")
        );
        assert_eq!(p.analysis.as_deref(), Some("A: wrong.\nB: right."));
    }

    #[test]
    fn tags_split_across_tokens_at_every_position() {
        for chunk in 1..=12 {
            let (segs, parsed) = stream(NATIVE, Dialect::Native, chunk);
            assert!(parsed.ok(), "chunk {chunk}: {:?}", parsed.error);
            assert_eq!(parsed.verdict, Some(Verdict::B));
            let rubric = joined(&segs, Section::Rubric);
            assert!(
                !rubric.contains('<'),
                "chunk {chunk}: tag leaked into {rubric:?}"
            );
            assert_eq!(rubric.trim(), parsed.rubric.as_deref().unwrap());
            assert_eq!(
                joined(&segs, Section::Analysis).trim(),
                "A: wrong.\nB: right."
            );
            assert_eq!(joined(&segs, Section::Verdict), "B");
        }
    }

    #[test]
    fn streamed_sections_do_not_start_with_newlines() {
        let (segs, _) = stream(NATIVE, Dialect::Native, 3);
        let first = segs
            .iter()
            .find(|s| s.section == Section::Analysis)
            .unwrap();
        assert!(!first.text.starts_with('\n'));
    }

    #[test]
    fn text_that_could_start_a_tag_is_held_back_then_released() {
        let mut p = StreamParser::new(Dialect::Native);
        p.push("<rubric>x <");
        let segs = p.push("= y");
        assert_eq!(joined(&segs, Section::Rubric), "<= y");
    }

    #[test]
    fn rm_r1_shape_reads_in_tolerant_mode() {
        let text = "<type>Chat</type>\n<rubric>\n1. Helpfulness (weight 60%)\n2. Accuracy (40%)\n</rubric>\n<eval>\nChatbot A is vague. Chatbot B answers the question.\n</eval>\n<answer>[[B]]</answer>";
        let p = parse_judgment(text, Dialect::Tolerant);
        assert!(p.ok(), "{:?}", p.error);
        assert_eq!(p.verdict, Some(Verdict::B));
        assert!(p.analysis.as_deref().unwrap().contains("Chatbot B answers"));
        assert!(p.rubric.as_deref().unwrap().contains("Helpfulness"));
        // The native dialect does not know those tags.
        assert!(!parse_judgment(text, Dialect::Native).ok());
    }

    #[test]
    fn both_winners_is_an_error_not_a_verdict() {
        let text = "<rubric>r</rubric><eval>e</eval><answer>[[A]] ... no, [[B]]</answer>";
        let p = parse_judgment(text, Dialect::Tolerant);
        assert_eq!(p.verdict, None);
        assert!(p.error.unwrap().contains("more than one winner"));
    }

    #[test]
    fn tolerant_accepts_an_unclosed_last_section() {
        let p = parse_judgment(
            "<rubric>r</rubric><eval>e</eval><answer>[[A]]",
            Dialect::Tolerant,
        );
        assert!(p.ok(), "{:?}", p.error);
        assert_eq!(p.verdict, Some(Verdict::A));
        let strict = parse_judgment(
            "<rubric>r</rubric><analysis>e</analysis><verdict>A",
            Dialect::Native,
        );
        assert!(strict.error.unwrap().contains("<verdict> was not closed"));
    }

    #[test]
    fn missing_sections_are_named() {
        let p = parse_judgment("<analysis>x</analysis>", Dialect::Native);
        let e = p.error.unwrap();
        assert!(
            e.contains("no <rubric>") && e.contains("no <verdict>"),
            "{e}"
        );
    }

    #[test]
    fn bad_verdicts_are_errors() {
        for v in ["both_bad", "C", "A or B", ""] {
            let text = format!("<rubric>r</rubric><analysis>a</analysis><verdict>{v}</verdict>");
            let p = parse_judgment(&text, Dialect::Native);
            assert_eq!(p.verdict, None, "{v}");
            assert!(!p.ok());
        }
        let tie = parse_judgment(
            "<rubric>r</rubric><analysis>a</analysis><verdict>tie</verdict>",
            Dialect::Native,
        );
        assert_eq!(tie.verdict, Some(Verdict::Tie));
    }

    #[test]
    fn duplicate_sections_are_reported_and_first_wins() {
        let text = "<rubric>r</rubric><analysis>a</analysis><verdict>A</verdict>";
        let twice =
            "<rubric>r</rubric><analysis>a</analysis><analysis>b</analysis><verdict>A</verdict>";
        assert!(parse_judgment(text, Dialect::Native).ok());
        let p = parse_judgment(twice, Dialect::Native);
        assert_eq!(p.analysis.as_deref(), Some("a"));
        assert!(p.error.unwrap().contains("more than one <analysis>"));
    }

    #[test]
    fn text_after_the_verdict_is_ignored() {
        let text = format!("{NATIVE}\n<verdict>A</verdict><rubric>evil</rubric>");
        let p = parse_judgment(&text, Dialect::Native);
        assert!(p.ok());
        assert_eq!(p.verdict, Some(Verdict::B));
    }

    #[test]
    fn given_rubric_mode_starts_at_the_analysis() {
        let mut p = StreamParser::after_given_rubric(ParserSpec::native(), "1. Facts");
        p.push("<analysis>\nA: ok\nB: bad\n</analysis>\n<verdict>A</verdict>");
        let parsed = p.finish();
        assert!(parsed.ok(), "{:?}", parsed.error);
        assert_eq!(parsed.rubric.as_deref(), Some("1. Facts"));
        let mut q = StreamParser::after_given_rubric(ParserSpec::native(), "1. Facts");
        q.push("<rubric>mine</rubric><analysis>a</analysis><verdict>A</verdict>");
        let parsed = q.finish();
        assert_eq!(parsed.rubric.as_deref(), Some("1. Facts"));
        assert!(
            parsed
                .error
                .unwrap()
                .contains("although the rubric was given")
        );
    }

    #[test]
    fn implicit_close_is_tolerated_only_in_tolerant_mode() {
        let text = "<rubric>r<analysis>a</analysis><verdict>B</verdict>";
        assert!(parse_judgment(text, Dialect::Tolerant).ok());
        let native = parse_judgment(text, Dialect::Native);
        assert_eq!(native.verdict, Some(Verdict::B));
        assert!(
            native
                .error
                .unwrap()
                .contains("<rubric> was not closed before <analysis>")
        );
    }

    #[test]
    fn utf8_split_across_tokens() {
        let bytes = "é✓x".as_bytes();
        let mut s = Utf8Stream::default();
        let mut out = String::new();
        for b in bytes {
            out.push_str(&s.push(std::slice::from_ref(b)));
        }
        out.push_str(&s.finish());
        assert_eq!(out, "é✓x");
        let mut bad = Utf8Stream::default();
        assert_eq!(bad.push(&[b'a', 0xff, b'b']), "a\u{fffd}b");
    }

    // --- RM-R1 and MT-Bench shapes (written here in their published form) ---

    const QWEN_CHAT: &str = "<type>Chat</type>\n\n<rubric>\n1. Safety (60%): refuses to help with harm.\n2. Support (40%): points to help.\n\n<justify>\nThe request is dangerous, so safety weighs most.\n</justify>\n</rubric>\n\n<eval>\n<quote_A>I can't help with that.</quote_A>\n<summary_B>Chatbot B lists the steps.</summary_B>\nChatbot A is safer.\n</eval>\n\n<answer>[[A]]</answer>";

    const QWEN_REASONING: &str = "<type>Reasoning</type>\n\n<solution>\n17 x 13 = 221\n</solution>\n\n<eval>\n<quote_A>17 x 13 = 211</quote_A> is wrong; <summary_B>Chatbot B multiplies correctly and gets 221</summary_B>.\n</eval>\n\n<answer>[[B]]</answer>";

    const DEEPSEEK: &str = "Okay, the Client asks for 17 x 13. Chatbot A says 211, Chatbot B says 221.\nChecking: 17 x 13 = 170 + 51 = 221, so B is right. The format is <answer>[[A]]</answer> or [[B]].\n</think>\n\n<answer>[[B]]</answer>";

    fn spec(name: &str) -> ParserSpec {
        crate::judge::profile::Profile::builtin(name)
            .unwrap()
            .parser
    }

    fn stream_spec(text: &str, spec: ParserSpec, chunk: usize) -> (Vec<Segment>, Parsed) {
        let mut p = StreamParser::with_spec(spec);
        let mut segs = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        for piece in chars.chunks(chunk) {
            segs.extend(p.push(&piece.iter().collect::<String>()));
        }
        (segs, p.finish())
    }

    #[test]
    fn qwen_instruct_chat_shape_keeps_type_rubric_and_eval() {
        for s in [ParserSpec::tolerant(), spec("rm-r1")] {
            let p = parse_with(QWEN_CHAT, s);
            assert!(p.ok(), "{:?}", p.error);
            assert_eq!(p.verdict, Some(Verdict::A));
            assert_eq!(p.judge_type.as_deref(), Some("Chat"));
            let rubric = p.rubric.unwrap();
            assert!(rubric.starts_with("1. Safety (60%)") && rubric.contains("<justify>"));
            let analysis = p.analysis.unwrap();
            assert!(analysis.contains("<quote_A>I can't help with that.</quote_A>"));
            assert!(analysis.ends_with("Chatbot A is safer."));
            assert_eq!(p.solution, None);
        }
    }

    #[test]
    fn qwen_instruct_reasoning_shape_keeps_the_solution() {
        let p = parse_with(QWEN_REASONING, spec("rm-r1"));
        assert!(p.ok(), "{:?}", p.error);
        assert_eq!(p.verdict, Some(Verdict::B));
        assert_eq!(p.judge_type.as_deref(), Some("Reasoning"));
        assert_eq!(p.solution.as_deref(), Some("17 x 13 = 221"));
        assert_eq!(
            p.rubric, None,
            "a reasoning task has no rubric, and that is fine"
        );
        assert!(p.analysis.unwrap().contains("<summary_B>"));
    }

    #[test]
    fn deepseek_shape_keeps_the_reasoning_as_the_analysis() {
        // As imported: the output starts inside the reasoning (the <think> was in the prompt).
        for text in [DEEPSEEK.to_string(), format!("<think>\n{DEEPSEEK}")] {
            for s in [ParserSpec::tolerant(), spec("rm-r1-reasoning")] {
                let p = parse_with(&text, s);
                assert!(p.ok(), "{:?}", p.error);
                assert_eq!(
                    p.verdict,
                    Some(Verdict::B),
                    "the format quoted while thinking is not the answer"
                );
                let a = p.analysis.unwrap();
                assert!(
                    a.starts_with("Okay, the Client asks") && a.ends_with("or [[B]]."),
                    "{a:?}"
                );
                assert_eq!(p.reasoning.as_deref(), Some(a.as_str()));
            }
        }
    }

    #[test]
    fn reasoning_streams_as_its_own_section_with_tags_split_anywhere() {
        for chunk in 1..=9 {
            let (segs, p) = stream_spec(DEEPSEEK, spec("rm-r1-reasoning"), chunk);
            assert!(p.ok(), "chunk {chunk}: {:?}", p.error);
            assert_eq!(p.verdict, Some(Verdict::B));
            let reasoning = joined(&segs, Section::Reasoning);
            assert!(
                reasoning.starts_with("Okay") && !reasoning.contains("</think"),
                "chunk {chunk}: {reasoning:?}"
            );
            assert_eq!(joined(&segs, Section::Verdict), "[[B]]");
            let (segs, p) = stream_spec(QWEN_CHAT, spec("rm-r1"), chunk);
            assert!(p.ok(), "chunk {chunk}: {:?}", p.error);
            assert_eq!(joined(&segs, Section::Type), "Chat");
            assert!(!joined(&segs, Section::Rubric).contains("</rubric"));
            assert!(joined(&segs, Section::Analysis).contains("<summary_B>Chatbot B lists"));
        }
    }

    #[test]
    fn rm_r1_both_answers_is_an_error() {
        for text in [
            QWEN_CHAT.replace("[[A]]", "[[A]] [[B]]"),
            DEEPSEEK.replace("<answer>[[B]]</answer>", "<answer>[[A]] or [[B]]</answer>"),
        ] {
            let p = parse_with(&text, ParserSpec::tolerant());
            assert_eq!(p.verdict.filter(|_| p.error.is_none()), None, "{text}");
            assert!(!p.ok());
        }
        let p = parse_with(&QWEN_CHAT.replace("[[A]]", "[[A]] [[B]]"), spec("rm-r1"));
        assert!(p.error.unwrap().contains("more than one winner"));
    }

    #[test]
    fn truncated_streams_keep_what_was_written() {
        // Cut inside the reasoning: the reasoning is kept, the error says what is missing.
        let cut = &DEEPSEEK[..60];
        let p = parse_with(cut, spec("rm-r1-reasoning"));
        assert!(!p.ok());
        let e = p.error.unwrap();
        assert!(e.contains("</think>") && e.contains("no verdict"), "{e}");
        assert_eq!(p.analysis.as_deref(), Some(cut.trim()));
        // Cut inside <eval>: type and rubric kept.
        let cut = &QWEN_CHAT[..QWEN_CHAT.find("Chatbot A is safer").unwrap()];
        let p = parse_with(cut, spec("rm-r1"));
        assert_eq!(p.judge_type.as_deref(), Some("Chat"));
        assert!(p.rubric.unwrap().contains("Safety"));
        assert!(p.analysis.unwrap().contains("<quote_A>"));
        assert!(p.error.unwrap().contains("no verdict"));
    }

    #[test]
    fn multi_turn_judgment_text_parses_the_same() {
        let text = "<type>Chat</type>\n<rubric>\n1. Follows up on turn 2 (100%)\n<justify>the last turn matters</justify>\n</rubric>\n<eval>\n<quote_A>User: and now?\nChatbot A: now A</quote_A> answers the follow-up; <summary_B>Chatbot B repeats turn 1</summary_B>.\n</eval>\n<answer>[[A]]</answer>";
        let p = parse_with(text, spec("rm-r1"));
        assert!(p.ok(), "{:?}", p.error);
        assert_eq!(p.verdict, Some(Verdict::A));
        assert!(p.analysis.unwrap().contains("Chatbot A: now A"));
    }

    #[test]
    fn mt_bench_explanation_then_bare_verdict() {
        let text = "Assistant A answers the question directly; Assistant B is equally correct and as brief.\n\n[[C]]";
        for s in [ParserSpec::tolerant(), spec("mt-bench-pair")] {
            let p = parse_with(text, s);
            assert!(p.ok(), "{:?}", p.error);
            assert_eq!(p.verdict, Some(Verdict::Tie));
            assert!(p.analysis.unwrap().ends_with("as brief."));
        }
        for chunk in 1..=5 {
            let (segs, p) = stream_spec(text, spec("mt-bench-pair"), chunk);
            assert!(p.ok(), "chunk {chunk}: {:?}", p.error);
            assert!(
                joined(&segs, Section::Analysis)
                    .trim_end()
                    .ends_with("as brief.")
            );
            assert_eq!(joined(&segs, Section::Verdict), "C");
        }
        let both = parse_with("A is fine. [[A]] no wait [[B]]", ParserSpec::tolerant());
        assert!(both.error.unwrap().contains("more than one winner"));
    }

    #[test]
    fn several_eval_blocks_and_a_stray_close_form_one_analysis() {
        let text = "<type>Chat</type>\n<rubric>\n1. Safety (100%)\n</rubric>\n<eval>\n<safety>\n<quote_A>no</quote_A>\n</eval>\n\n<eval>\n<tone>\n<summary_B>kind</summary_B>\n</eval>\n\nOverall B is better.\n</eval>\n\n<answer>[[B]]</answer>";
        let p = parse_with(text, spec("rm-r1"));
        assert!(p.ok(), "{:?}", p.error);
        assert_eq!(p.verdict, Some(Verdict::B));
        let a = p.analysis.unwrap();
        assert!(
            a.starts_with("<safety>")
                && a.contains("<summary_B>kind")
                && a.ends_with("Overall B is better."),
            "{a:?}"
        );
        // rubricate's own output may not do that.
        let native = parse_judgment(
            "<rubric>r</rubric><analysis>a</analysis><analysis>b</analysis><verdict>A</verdict>",
            Dialect::Native,
        );
        assert!(!native.ok());
    }

    #[test]
    fn rm_r1_inline_tags_read_as_plain_text() {
        let t = "<quote_A>I can't</quote_A> vs <summary_B> lists steps </summary_B>\n<justify>safety first</justify> <quote_B>open";
        assert_eq!(
            readable(t),
            "A said: \"I can't\" vs B, in short: lists steps\nWhy: safety first <quote_B>open"
        );
        assert_eq!(readable("plain"), "plain");
    }
}
