//! The streaming judgment parser: text in (as tokens arrive, tags possibly split across
//! tokens), sections out. Pure: no I/O, no model.
//!
//! Native dialect: `<rubric>…</rubric><analysis>…</analysis><verdict>A|B|tie</verdict>`.
//! Tolerant dialect (for judgments made elsewhere) also reads RM-R1's `<eval>` as the
//! analysis and `<answer>[[A]]</answer>` as the verdict, and accepts a missing closing tag.

use super::api::Section;
use crate::domain::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// rubricate's own output: every section closed, tags exactly as the grammar writes them.
    Native,
    /// Output of other judges (RM-R1 and similar): synonyms, `[[A]]` verdicts, unclosed last section.
    Tolerant,
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
    pub analysis: Option<String>,
    pub verdict: Option<Verdict>,
    pub error: Option<String>,
}

impl Parsed {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Parse a whole judgment text at once.
pub fn parse_judgment(text: &str, dialect: Dialect) -> Parsed {
    let mut p = StreamParser::new(dialect);
    p.push(text);
    p.finish()
}

struct Tag {
    name: &'static str,
    section: Section,
}

const NATIVE_TAGS: &[Tag] = &[
    Tag {
        name: "rubric",
        section: Section::Rubric,
    },
    Tag {
        name: "analysis",
        section: Section::Analysis,
    },
    Tag {
        name: "verdict",
        section: Section::Verdict,
    },
];

const TOLERANT_TAGS: &[Tag] = &[
    Tag {
        name: "rubric",
        section: Section::Rubric,
    },
    Tag {
        name: "analysis",
        section: Section::Analysis,
    },
    Tag {
        name: "eval",
        section: Section::Analysis,
    },
    Tag {
        name: "verdict",
        section: Section::Verdict,
    },
    Tag {
        name: "answer",
        section: Section::Verdict,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between sections (text here is ignored).
    Outside,
    /// Inside a section opened by the tag at this index of the dialect's tag list.
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
    dialect: Dialect,
    tags: &'static [Tag],
    state: State,
    /// Text received but not yet classified: it may be the start of a tag.
    pending: String,
    /// Content of the open section so far.
    current: String,
    /// True until the open section has emitted non-newline text (leading newlines are not streamed).
    at_section_start: bool,
    rubric: Option<String>,
    analysis: Option<String>,
    verdict_text: Option<String>,
    rubric_given: bool,
    errors: Vec<String>,
}

impl StreamParser {
    pub fn new(dialect: Dialect) -> StreamParser {
        StreamParser {
            dialect,
            tags: match dialect {
                Dialect::Native => NATIVE_TAGS,
                Dialect::Tolerant => TOLERANT_TAGS,
            },
            state: State::Outside,
            pending: String::new(),
            current: String::new(),
            at_section_start: false,
            rubric: None,
            analysis: None,
            verdict_text: None,
            rubric_given: false,
            errors: Vec::new(),
        }
    }

    /// A parser for rubric-given mode: the rubric was fixed in the prompt (not generated),
    /// so generated text starts at the analysis.
    pub fn after_given_rubric(dialect: Dialect, rubric: &str) -> StreamParser {
        let mut p = StreamParser::new(dialect);
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
        if let State::Inside(i) = self.state {
            let tag = self.tags[i].name;
            if self.dialect == Dialect::Native {
                self.errors.push(format!("<{tag}> was not closed"));
            }
            self.close_section(i);
        }
        if self.rubric.is_none() {
            self.errors.push("no <rubric> section".into());
        }
        if self.analysis.is_none() {
            self.errors.push(match self.dialect {
                Dialect::Native => "no <analysis> section".into(),
                Dialect::Tolerant => "no <analysis> or <eval> section".into(),
            });
        }
        let verdict = match &self.verdict_text {
            None => {
                self.errors.push(match self.dialect {
                    Dialect::Native => "no <verdict> section".into(),
                    Dialect::Tolerant => "no <verdict> or <answer> section".into(),
                });
                None
            }
            Some(text) => match read_verdict(text, self.dialect) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.errors.push(e);
                    None
                }
            },
        };
        Parsed {
            rubric: self.rubric,
            analysis: self.analysis,
            verdict,
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
        for (i, t) in self.tags.iter().enumerate() {
            let open = format!("<{}>", t.name);
            consider(self.pending.find(&open), open.len(), i, false);
            if self.state == State::Inside(i) {
                let close = format!("</{}>", t.name);
                consider(self.pending.find(&close), close.len(), i, true);
            }
        }
        best
    }

    /// Where a possibly incomplete tag starts at the end of `pending` (its length if none).
    fn partial_tag_start(&self) -> usize {
        let Some(lt) = self.pending.rfind('<') else {
            return self.pending.len();
        };
        let tail = &self.pending[lt..];
        let could_be = self.tags.iter().enumerate().any(|(i, t)| {
            let open = format!("<{}>", t.name);
            let close = format!("</{}>", t.name);
            open.starts_with(tail) || (self.state == State::Inside(i) && close.starts_with(tail))
        });
        if could_be { lt } else { self.pending.len() }
    }

    fn take_text(&mut self, text: &str, out: &mut Vec<Segment>) {
        let State::Inside(i) = self.state else {
            return;
        };
        if text.is_empty() {
            return;
        }
        self.current.push_str(text);
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
                section: self.tags[i].section,
                text: shown.to_string(),
            });
        }
    }

    fn on_tag(&mut self, tag: usize, closing: bool) {
        let name = self.tags[tag].name;
        if closing {
            self.close_section(tag);
            self.state = if self.tags[tag].section == Section::Verdict {
                State::Done
            } else {
                State::Outside
            };
            return;
        }
        if let State::Inside(open) = self.state {
            // An opening tag inside a section closes it implicitly; our own output never does that.
            if self.dialect == Dialect::Native {
                self.errors.push(format!(
                    "<{}> was not closed before <{name}>",
                    self.tags[open].name
                ));
            }
            self.close_section(open);
        }
        if self.slot(self.tags[tag].section).is_some() {
            let what = if self.tags[tag].section == Section::Rubric && self.rubric_given {
                "a <rubric> section although the rubric was given".to_string()
            } else {
                format!("more than one <{name}> section")
            };
            self.errors.push(what);
        }
        self.state = State::Inside(tag);
        self.current.clear();
        self.at_section_start = true;
    }

    fn slot(&self, section: Section) -> Option<&String> {
        match section {
            Section::Rubric => self.rubric.as_ref(),
            Section::Analysis => self.analysis.as_ref(),
            Section::Verdict => self.verdict_text.as_ref(),
        }
    }

    fn close_section(&mut self, tag: usize) {
        let text = std::mem::take(&mut self.current).trim().to_string();
        let slot = match self.tags[tag].section {
            Section::Rubric => &mut self.rubric,
            Section::Analysis => &mut self.analysis,
            Section::Verdict => &mut self.verdict_text,
        };
        // The first occurrence wins; a repeat is already reported as an error.
        if slot.is_none() {
            *slot = Some(text);
        }
    }
}

/// The verdict section's content: `A`, `B` or `tie`; tolerant also reads `[[A]]` / `[[B]]`.
fn read_verdict(text: &str, dialect: Dialect) -> Result<Verdict, String> {
    let t = text.trim();
    if dialect == Dialect::Tolerant && t.contains("[[") {
        let a = t.contains("[[A]]");
        let b = t.contains("[[B]]");
        let tie = t.contains("[[tie]]") || t.contains("[[C]]");
        return match (a, b, tie) {
            (true, false, false) => Ok(Verdict::A),
            (false, true, false) => Ok(Verdict::B),
            (false, false, true) => Ok(Verdict::Tie),
            (false, false, false) => Err(format!("unreadable verdict {t:?}")),
            _ => Err(format!("the verdict names more than one winner: {t:?}")),
        };
    }
    match t {
        "A" => Ok(Verdict::A),
        "B" => Ok(Verdict::B),
        "tie" | "Tie" | "TIE" => Ok(Verdict::Tie),
        "a" | "b" if dialect == Dialect::Tolerant => {
            Ok(if t == "a" { Verdict::A } else { Verdict::B })
        }
        _ => Err(format!("the verdict must be A, B or tie, not {t:?}")),
    }
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
        let mut p = StreamParser::after_given_rubric(Dialect::Native, "1. Facts");
        p.push("<analysis>\nA: ok\nB: bad\n</analysis>\n<verdict>A</verdict>");
        let parsed = p.finish();
        assert!(parsed.ok(), "{:?}", parsed.error);
        assert_eq!(parsed.rubric.as_deref(), Some("1. Facts"));
        let mut q = StreamParser::after_given_rubric(Dialect::Native, "1. Facts");
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
}
