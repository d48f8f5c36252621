//! Long untrusted texts as the panes show them. A text is made visible (control
//! characters become symbols, tabs become spaces) and split into logical lines once;
//! wrapping is lazy: only the lines a pane actually reaches are wrapped, and each
//! wrapped line is cached for the current width. A 200 KB answer therefore costs the
//! same per frame as a short one.

use crate::sanitize;
use std::cell::RefCell;
use std::rc::Rc;
use unicode_width::UnicodeWidthChar;

/// Tab stops every 4 columns, so code in answers keeps its shape.
const TAB_STOP: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Text,
    /// A section title the document itself inserted (a role, "Rubric", ...), never
    /// text from the case or the model.
    Heading,
}

/// A scroll position: logical line and wrapped row within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub row: usize,
}

/// Row starts of one wrapped line, as byte offsets into the line; the first is 0.
type Rows = Rc<[u32]>;

#[derive(Debug, Default)]
struct WrapCache {
    width: u16,
    lines: Vec<Option<Rows>>,
}

#[derive(Debug)]
pub struct Doc {
    text: String,
    /// Byte offset where each logical line starts. Every line but the last ends in '\n'.
    starts: Vec<usize>,
    kinds: Vec<LineKind>,
    /// Display width of the last line so far, for tab stops in appended text.
    last_width: usize,
    wrap: RefCell<WrapCache>,
}

impl Default for Doc {
    fn default() -> Self {
        Doc::new()
    }
}

impl Clone for Doc {
    fn clone(&self) -> Self {
        Doc {
            text: self.text.clone(),
            starts: self.starts.clone(),
            kinds: self.kinds.clone(),
            last_width: self.last_width,
            wrap: RefCell::default(),
        }
    }
}

impl Doc {
    pub fn new() -> Doc {
        Doc {
            text: String::new(),
            starts: vec![0],
            kinds: vec![LineKind::Text],
            last_width: 0,
            wrap: RefCell::default(),
        }
    }

    pub fn from_text(s: &str) -> Doc {
        let mut d = Doc::new();
        d.push(s);
        d
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The visible form of everything pushed so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Append untrusted text (it is made visible here, character by character, so an
    /// escape sequence split across two streamed tokens is still neutralised).
    pub fn push(&mut self, s: &str) {
        let first_touched = self.starts.len() - 1;
        let shown = sanitize::visible(s);
        self.text.reserve(shown.len());
        for c in shown.chars() {
            match c {
                '\n' => {
                    self.text.push('\n');
                    self.starts.push(self.text.len());
                    self.kinds.push(LineKind::Text);
                    self.last_width = 0;
                }
                '\t' => {
                    let n = TAB_STOP - self.last_width % TAB_STOP;
                    self.text.extend(std::iter::repeat_n(' ', n));
                    self.last_width += n;
                }
                c => {
                    self.text.push(c);
                    self.last_width += c.width().unwrap_or(0);
                }
            }
        }
        self.invalidate_from(first_touched);
    }

    /// Start a heading line (after a blank line unless the document is empty).
    pub fn push_heading(&mut self, title: &str) {
        if !self.text.is_empty() {
            if self.last_width > 0 {
                self.push("\n");
            }
            self.push("\n");
        }
        let line = self.starts.len() - 1;
        self.push(&sanitize::visible_line(title));
        self.kinds[line] = LineKind::Heading;
        self.push("\n");
    }

    fn invalidate_from(&self, line: usize) {
        let mut cache = self.wrap.borrow_mut();
        let n = self.starts.len();
        cache.lines.resize(n, None);
        for slot in cache.lines.iter_mut().skip(line) {
            *slot = None;
        }
    }

    pub fn kind(&self, line: usize) -> LineKind {
        self.kinds[line]
    }

    /// The text of one logical line, without its newline.
    pub fn line(&self, i: usize) -> &str {
        let start = self.starts[i];
        let end = match self.starts.get(i + 1) {
            Some(&next) => next - 1,
            None => self.text.len(),
        };
        &self.text[start..end]
    }

    /// Row starts of a logical line at `width` columns, wrapping it if not cached.
    fn rows(&self, i: usize, width: u16) -> Rows {
        let width = width.max(1);
        let mut cache = self.wrap.borrow_mut();
        if cache.width != width {
            cache.width = width;
            cache.lines.clear();
        }
        if cache.lines.len() < self.starts.len() {
            cache.lines.resize(self.starts.len(), None);
        }
        if let Some(rows) = &cache.lines[i] {
            return rows.clone();
        }
        let rows: Rows = wrap_line(self.line(i), width as usize).into();
        cache.lines[i] = Some(rows.clone());
        rows
    }

    fn row_count(&self, line: usize, width: u16) -> usize {
        self.rows(line, width).len()
    }

    /// The rows a pane of `width` × `height` shows from `top`, with each row's kind.
    pub fn visible(&self, top: Pos, width: u16, height: usize) -> Vec<(LineKind, &str)> {
        let mut out = Vec::with_capacity(height);
        let mut pos = top;
        while out.len() < height && pos.line < self.starts.len() {
            let line = self.line(pos.line);
            let rows = self.rows(pos.line, width);
            for (k, &start) in rows.iter().enumerate().skip(pos.row) {
                if out.len() == height {
                    break;
                }
                let end = rows.get(k + 1).map_or(line.len(), |&e| e as usize);
                out.push((self.kinds[pos.line], &line[start as usize..end]));
            }
            pos = Pos {
                line: pos.line + 1,
                row: 0,
            };
        }
        out
    }

    /// `n` rows further down, stopping at the last row.
    pub fn down(&self, mut pos: Pos, mut n: usize, width: u16) -> Pos {
        while n > 0 {
            let rows = self.row_count(pos.line, width);
            if pos.row + 1 < rows {
                let step = n.min(rows - 1 - pos.row);
                pos.row += step;
                n -= step;
            } else if pos.line + 1 < self.starts.len() {
                pos = Pos {
                    line: pos.line + 1,
                    row: 0,
                };
                n -= 1;
            } else {
                break;
            }
        }
        pos
    }

    /// `n` rows further up, stopping at the first row.
    pub fn up(&self, mut pos: Pos, mut n: usize, width: u16) -> Pos {
        while n > 0 {
            if pos.row > 0 {
                let step = n.min(pos.row);
                pos.row -= step;
                n -= step;
            } else if pos.line > 0 {
                pos.line -= 1;
                pos.row = self.row_count(pos.line, width) - 1;
                n -= 1;
            } else {
                break;
            }
        }
        pos
    }

    /// The top position that puts the last row at the bottom of a pane `height` rows high.
    pub fn bottom(&self, width: u16, height: usize) -> Pos {
        let last = self.starts.len() - 1;
        let end = Pos {
            line: last,
            row: self.row_count(last, width) - 1,
        };
        self.up(end, height.saturating_sub(1), width)
    }

    /// Keep `top` from scrolling past the point where the last row reaches the bottom.
    pub fn clamp(&self, top: Pos, width: u16, height: usize) -> Pos {
        let top = Pos {
            line: top.line.min(self.starts.len() - 1),
            row: top.row,
        };
        let top = Pos {
            row: top.row.min(self.row_count(top.line, width) - 1),
            ..top
        };
        top.min(self.bottom(width, height))
    }

    /// Rows the whole text takes at `width` columns, counting no further than `cap` (so
    /// sizing a pane to a 200 KB answer wraps only what the pane could show).
    pub fn rows_upto(&self, width: u16, cap: usize) -> usize {
        let mut n = 0;
        for line in 0..self.starts.len() {
            if n >= cap {
                return cap;
            }
            n += self.row_count(line, width);
        }
        n.min(cap)
    }

    /// Where a pane of `width` × `height` showing from `top` is, in percent of the way
    /// to the end (100 when the last row is on screen); `None` when the whole text fits.
    /// By bytes of the rows' starts: exact at both ends, close enough in between.
    pub fn position(&self, top: Pos, width: u16, height: usize) -> Option<u16> {
        let bottom = self.bottom(width, height);
        if bottom == Pos::default() {
            return None;
        }
        if top >= bottom {
            return Some(100);
        }
        let at = |p: Pos| self.starts[p.line] as u64 + self.rows(p.line, width)[p.row] as u64;
        let end = at(bottom).max(1);
        Some(((at(top) * 100) / end).min(99) as u16)
    }

    /// How far into the text `top` is, in percent (by bytes: cheap, and good enough
    /// for a position hint without wrapping the whole text).
    pub fn percent(&self, top: Pos) -> u16 {
        if self.text.is_empty() {
            return 100;
        }
        let at = self.starts[top.line.min(self.starts.len() - 1)];
        ((at as u64 * 100) / self.text.len() as u64) as u16
    }
}

/// Break one line into rows of at most `width` columns, at a space where there is one
/// in the row, else mid-word. Returns the byte offset where each row starts.
fn wrap_line(s: &str, width: usize) -> Vec<u32> {
    let mut rows = vec![0u32];
    let mut row_start = 0usize;
    let mut used = 0usize;
    // Byte offset just after the last space in this row, and the width up to there.
    let mut brk: Option<(usize, usize)> = None;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > width && i > row_start {
            if c == ' ' {
                // The overflowing space ends the row; it is clipped, not carried over.
                row_start = i + 1;
                used = 0;
                brk = None;
                rows.push(row_start as u32);
                continue;
            }
            match brk {
                Some((b, bw)) if b > row_start => {
                    row_start = b;
                    used -= bw;
                }
                _ => {
                    row_start = i;
                    used = 0;
                }
            }
            brk = None;
            rows.push(row_start as u32);
        }
        used += cw;
        if c == ' ' {
            brk = Some((i + 1, used));
        }
    }
    if rows.len() > 1 && *rows.last().unwrap() as usize == s.len() {
        rows.pop();
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(d: &Doc, width: u16, height: usize) -> Vec<String> {
        d.visible(Pos::default(), width, height)
            .into_iter()
            .map(|(_, s)| s.to_string())
            .collect()
    }

    #[test]
    fn wraps_at_spaces_and_mid_word() {
        let d = Doc::from_text("the quick brown fox\nabcdefghij");
        assert_eq!(
            shown(&d, 10, 10),
            vec!["the quick ", "brown fox", "abcdefghij"]
        );
        assert_eq!(
            shown(&d, 4, 10),
            vec![
                "the ", "quic", "k ", "brow", "n ", "fox", "abcd", "efgh", "ij"
            ]
        );
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let d = Doc::from_text("日本語のテキスト");
        assert_eq!(shown(&d, 6, 10), vec!["日本語", "のテキ", "スト"]);
    }

    #[test]
    fn scrolling_stays_in_bounds() {
        let d = Doc::from_text(&"word ".repeat(1000));
        let bottom = d.bottom(20, 5);
        assert_eq!(
            d.down(Pos::default(), 1_000_000, 20),
            Pos { line: 0, row: 249 }
        );
        assert_eq!(bottom, Pos { line: 0, row: 245 });
        assert_eq!(d.clamp(Pos { line: 7, row: 9999 }, 20, 5), bottom);
        assert_eq!(d.up(bottom, 1_000_000, 20), Pos::default());
    }

    #[test]
    fn only_reached_lines_are_wrapped() {
        let text: String = (0..10_000)
            .map(|i| format!("line {i} with some words\n"))
            .collect();
        let d = Doc::from_text(&text);
        let rows = d.visible(Pos { line: 5000, row: 0 }, 12, 3);
        assert_eq!(rows[0].1, "line 5000 ");
        let wrapped = d.wrap.borrow().lines.iter().filter(|l| l.is_some()).count();
        assert!(wrapped <= 3, "wrapped {wrapped} lines to show 3 rows");
    }

    #[test]
    fn control_characters_and_tabs_are_made_visible() {
        let mut d = Doc::new();
        d.push("a\x1b[2");
        d.push("J\tb\x07");
        assert_eq!(d.as_str(), "a␛[2J   b␇");
    }

    #[test]
    fn appending_rewraps_the_last_line() {
        let mut d = Doc::new();
        d.push("aaaa");
        assert_eq!(shown(&d, 6, 5), vec!["aaaa"]);
        d.push(" bbbb");
        assert_eq!(shown(&d, 6, 5), vec!["aaaa ", "bbbb"]);
        d.push_heading("Analysis");
        d.push("x");
        assert_eq!(d.kind(2), LineKind::Heading);
        assert_eq!(shown(&d, 20, 5), vec!["aaaa bbbb", "", "Analysis", "x"]);
    }

    #[test]
    fn rows_upto_counts_wrapped_rows_and_stops_at_the_cap() {
        let d = Doc::from_text("the quick brown fox\nabcdefghij");
        assert_eq!(d.rows_upto(10, 100), 3);
        assert_eq!(d.rows_upto(4, 100), 9);
        assert_eq!(d.rows_upto(4, 5), 5);
        let long: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        let d = Doc::from_text(&long);
        assert_eq!(d.rows_upto(40, 30), 30);
        let wrapped = d.wrap.borrow().lines.iter().filter(|l| l.is_some()).count();
        assert!(wrapped <= 30, "wrapped {wrapped} lines to count 30 rows");
    }
}
