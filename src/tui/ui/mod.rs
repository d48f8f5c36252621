//! Drawing. Reads the state, writes a frame; never changes anything but the wrap
//! caches. Every piece of untrusted text reaches a `Span` through `crate::sanitize`
//! (the documents in `text.rs` are already made visible when they are built).

mod help;
mod judge;
mod library;
mod narrow;
mod queue;
mod stats;
mod status;

use super::layout::{self, Areas};
use super::state::{App, EditTarget, Focus, Mode, Pane};
use super::text::LineKind;
use super::update::draw_top;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

pub fn draw(f: &mut Frame, app: &App) {
    let areas = layout::areas_in(f.area(), app);
    status::draw_status(f, app, areas.status);
    if let Some(b) = areas.banner {
        status::draw_banner(f, app, b);
    }
    status::draw_hints(f, app, areas.hints);
    match &app.mode {
        Mode::Stats => stats::draw(f, app, areas.main),
        Mode::Library(v) => library::draw(f, app, v, areas.main),
        _ => draw_review(f, app, &areas),
    }
    match &app.mode {
        Mode::Help => help::draw(f, app, areas.main),
        Mode::Narrow(p) => narrow::draw(f, app, p, areas.main),
        Mode::Edit(editor) => {
            let title = match editor.target {
                EditTarget::Rubric => " Edit the rubric · Ctrl-S keeps · Esc discards ",
                EditTarget::Analysis => " Edit the analysis · Ctrl-S keeps · Esc discards ",
                EditTarget::Note => " Note on this case · Ctrl-S saves · Esc discards ",
                EditTarget::Answer(crate::domain::Verdict::B) => {
                    " Refine answer B (the original is kept) · Ctrl-S saves · Esc discards "
                }
                EditTarget::Answer(_) => {
                    " Refine answer A (the original is kept) · Ctrl-S saves · Esc discards "
                }
                EditTarget::Collection => {
                    " Tag into collection (name) · Ctrl-S tags · Esc discards "
                }
                EditTarget::FlagReason => " Why flag this case? · Ctrl-S flags · Esc discards ",
                EditTarget::Derive {
                    rejected: crate::domain::Verdict::A,
                } => {
                    " Derive a case: your chosen answer (A stays as rejected) · Ctrl-S derives · Esc discards "
                }
                EditTarget::Derive { .. } => {
                    " Derive a case: your chosen answer (B stays as rejected) · Ctrl-S derives · Esc discards "
                }
            };
            let area = centered(areas.main, 90, 80);
            f.render_widget(Clear, area);
            let mut ta = editor.area.clone();
            ta.set_block(
                Block::bordered()
                    .border_type(BorderType::Rounded)
                    .title(title)
                    .border_style(Style::new().fg(Color::Yellow)),
            );
            ta.set_cursor_line_style(Style::new());
            f.render_widget(&ta, area);
        }
        Mode::ConfirmQuit => {
            let n = app.drafts.values().filter(|d| !d.is_empty()).count();
            let mut lines = Vec::new();
            if n > 0 {
                lines.push(Line::from(format!(
                    "Unsaved edits on {n} case(s) would be lost."
                )));
            }
            if !app.pending.is_empty() {
                let mut cases: Vec<String> =
                    app.pending.iter().map(|p| p.case_id.to_string()).collect();
                cases.dedup();
                lines.push(Line::from(format!(
                    "{} change(s) not written yet (case {}): the database is busy.",
                    app.pending.len(),
                    cases.join(", ")
                )));
                lines.push(Line::from("Staying lets the writer finish them."));
            }
            let area = centered_fixed(areas.main, 72, lines.len() as u16 + 3);
            f.render_widget(Clear, area);
            f.render_widget(
                Paragraph::new(
                    lines
                        .into_iter()
                        .chain([Line::from(vec![
                            Span::raw("Quit anyway? "),
                            Span::raw("y").bold(),
                            Span::raw(" quit · "),
                            Span::raw("n").bold(),
                            Span::raw(" stay"),
                        ])])
                        .collect::<Vec<_>>(),
                )
                .alignment(Alignment::Center)
                .block(
                    Block::bordered()
                        .border_type(BorderType::Rounded)
                        .title(" Quit ")
                        .border_style(Style::new().fg(Color::Yellow)),
                ),
                area,
            );
        }
        _ => {}
    }
}

fn draw_review(f: &mut Frame, app: &App, areas: &Areas) {
    if let Some(q) = areas.queue {
        queue::draw(f, app, q);
    }
    let Some(case) = &app.case else {
        draw_empty(f, app, areas);
        return;
    };
    let zoomed = if app.zoom {
        " · zoom: z / Esc back"
    } else {
        ""
    };
    let turns = case.case.prompt.len();
    let turns = if turns > 1 {
        format!(" · {turns} turns")
    } else {
        String::new()
    };
    text_pane(
        f,
        areas.prompt,
        &case.prompt,
        &format!("Prompt · case {}{turns}{zoomed}", case.case.id),
        app.focus == Focus::Prompt,
        app.highlight(),
    );
    // Blind mode: lengths invite "the longer one is better" before reading.
    let len = |s: &str| {
        if app.verdict_hidden(case.case.id) {
            String::new()
        } else {
            format!(" · {} chars", s.chars().count())
        }
    };
    text_pane(
        f,
        areas.answer_a,
        &case.answer_a,
        &format!("Answer A{}{zoomed}", len(&case.case.answer_a)),
        app.focus == Focus::AnswerA,
        app.highlight(),
    );
    text_pane(
        f,
        areas.answer_b,
        &case.answer_b,
        &format!("Answer B{}{zoomed}", len(&case.case.answer_b)),
        app.focus == Focus::AnswerB,
        app.highlight(),
    );
    judge::draw(f, app, case, areas);
}

fn draw_empty(f: &mut Frame, app: &App, areas: &Areas) {
    let area = Rect {
        x: areas.queue.map_or(areas.main.x, |q| q.x + q.width),
        width: areas.main.width - areas.queue.map_or(0, |q| q.width),
        ..areas.main
    };
    let lines: Vec<Line> = match app.total_cases {
        None => vec![Line::from("Loading…")],
        Some(0) if app.importing => vec![Line::from("Importing the bundled sample…")],
        Some(0) => vec![
            Line::from("This database has no cases yet.".bold()),
            Line::from(""),
            Line::from(vec![
                Span::raw("Press "),
                Span::raw("i").bold().fg(Color::Yellow),
                Span::raw(" to import the bundled sample (34 cases with known traps),"),
            ]),
            Line::from("or quit (q) and run:  rubricate import FILE.jsonl"),
        ],
        Some(_) if !app.narrow.is_empty() => vec![
            Line::from(
                format!(
                    "No case matches the filter \"{}\" and the narrowing: {}.",
                    app.filter.as_str(),
                    crate::tui::narrow::describe(&app.narrow).unwrap_or_default()
                )
                .bold(),
            ),
            Line::from(""),
            Line::from(vec![
                Span::raw("X").bold().fg(Color::Yellow),
                Span::raw(" lifts the narrowing, "),
                Span::raw("T").bold().fg(Color::Yellow),
                Span::raw(" changes it, "),
                Span::raw("F").bold().fg(Color::Yellow),
                Span::raw(" cycles the filter."),
            ]),
        ],
        Some(_) => vec![
            Line::from(format!("No case matches the filter \"{}\".", app.filter.as_str()).bold()),
            Line::from(""),
            Line::from(vec![
                Span::raw("F").bold().fg(Color::Yellow),
                Span::raw(
                    " cycles the filter: unreviewed, all, disagree, flagged, inconsistent, model-wrong, low-margin.",
                ),
            ]),
        ],
    };
    let w = area.width.min(80);
    // Rows after wrapping (a long narrowing wraps), so the box never cuts the last line.
    let room = w.saturating_sub(2).max(1) as usize;
    let h = lines
        .iter()
        .map(|l| l.width().div_ceil(room).max(1) as u16)
        .sum::<u16>()
        + 2;
    let boxed = centered_fixed(area, w, h);
    f.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().border_type(BorderType::Rounded)),
        boxed,
    );
}

fn border_style(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

pub(super) fn pane_block(title: &str, focused: bool) -> Block<'static> {
    let t = if focused {
        Span::raw(format!(" {title} ")).bold().fg(Color::Cyan)
    } else {
        Span::raw(format!(" {title} "))
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(border_style(focused))
        .title(t)
}

/// The rows of a document that fit in `area` (only those are wrapped).
/// With `highlight`, its occurrences in a row (ASCII letters without case, as the
/// search compares them) are marked; one split across two rows is not.
pub(super) fn doc_lines<'a>(pane: &'a Pane, area: Rect, highlight: Option<&str>) -> Vec<Line<'a>> {
    let top = draw_top(pane, area.width, area.height as usize);
    pane.doc
        .visible(top, area.width, area.height as usize)
        .into_iter()
        .map(|(kind, s)| match kind {
            LineKind::Heading => Line::from(Span::styled(
                s,
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )),
            LineKind::Text => match highlight {
                Some(q) => Line::from(marked(s, q)),
                None => Line::from(Span::raw(s)),
            },
        })
        .collect()
}

/// The row as spans, the occurrences of `query` marked. The query is compared after
/// being made visible the way the document's text was.
pub fn marked<'a>(row: &'a str, query: &str) -> Vec<Span<'a>> {
    let needle = crate::sanitize::visible_line(query).to_ascii_lowercase();
    if needle.is_empty() {
        return vec![Span::raw(row)];
    }
    // ASCII lowering keeps every byte offset, so matches index the row itself.
    let hay = row.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut at = 0;
    for (i, _) in hay.match_indices(&needle) {
        if i < at {
            continue;
        }
        if i > at {
            spans.push(Span::raw(&row[at..i]));
        }
        let end = i + needle.len();
        spans.push(Span::styled(
            &row[i..end],
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
        at = end;
    }
    if at < row.len() {
        spans.push(Span::raw(&row[at..]));
    }
    spans
}

fn text_pane(
    f: &mut Frame,
    area: Rect,
    pane: &Pane,
    title: &str,
    focused: bool,
    highlight: Option<&str>,
) {
    if area.height == 0 {
        // Another pane is zoomed.
        return;
    }
    let inner = layout::inner(area);
    let top = draw_top(pane, inner.width, inner.height as usize);
    let title = match pane.doc.position(top, inner.width, inner.height as usize) {
        Some(pct) => format!("{title} · {pct}%"),
        None => title.to_string(),
    };
    f.render_widget(pane_block(&title, focused), area);
    f.render_widget(Paragraph::new(doc_lines(pane, inner, highlight)), inner);
}

pub(super) fn centered(area: Rect, pct_w: u16, pct_h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Percentage(pct_h)])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Percentage(pct_w)])
        .flex(Flex::Center)
        .areas(v);
    h
}

pub(super) fn centered_fixed(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}
