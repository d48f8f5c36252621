//! The status bar (top), the no-model banner and the hint line (bottom).

use crate::sanitize::visible_line;
use crate::tui::state::{App, Level, Mode, ModelState};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

fn sep() -> Span<'static> {
    Span::raw(" │ ").fg(Color::DarkGray)
}

/// Cut a one-line text to `max` characters, marking the cut.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let wide = area.width >= 120;
    let mut spans = vec![
        Span::raw(" rubricate ")
            .bold()
            .fg(Color::Black)
            .bg(Color::Cyan),
    ];
    // Most useful first: on a narrow terminal the end of the line is cut.
    let pos = if app.queue.is_empty() {
        "0/0".to_string()
    } else {
        format!("{}/{}", app.cursor + 1, app.queue.len())
    };
    spans.push(Span::raw(" "));
    spans.push(Span::raw(pos).bold());
    if let Some((done, total)) = app.progress {
        // This reviewer's decisions in force, over every case in the database.
        spans.push(Span::raw(format!(" · done {done}/{total}")));
    }
    spans.push(sep());
    spans.push(Span::raw(app.filter.as_str()).bold());
    // The narrowing in force, so a short queue is never mistaken for the whole set.
    if let Some(n) = crate::tui::narrow::describe(&app.narrow) {
        spans.push(
            Span::raw(format!(" · {}", short(&n, if wide { 60 } else { 28 }))).fg(Color::Yellow),
        );
    }
    spans.push(sep());
    spans.push(Span::raw(short(&visible_line(&app.reviewer), 16)).bold());
    spans.push(sep());
    match &app.model {
        ModelState::Loading(p) => {
            spans.push(Span::raw(format!("model loading {:.0}%", p * 100.0)).fg(Color::Yellow))
        }
        ModelState::Ready(info) => {
            let name = visible_line(&info.file_name);
            let name = name.strip_suffix(".gguf").unwrap_or(&name);
            spans.push(Span::raw(short(name, if wide { 48 } else { 22 })).bold());
            let mut state = match app.job.as_ref() {
                Some(j) if j.started.is_some() => format!(" judging #{}", j.case_id),
                Some(j) => format!(" queued #{}", j.case_id),
                None => " idle".to_string(),
            };
            // The second sequence's job (the next case, or this one's swapped order).
            if let Some(b) = &app.background {
                state.push_str(&format!(
                    " +#{}{}",
                    b.case_id,
                    if b.swapped { " swapped" } else { "" }
                ));
            }
            spans.push(Span::raw(state).fg(Color::Green));
        }
        ModelState::Unavailable(_) => spans.push(Span::raw("no model").fg(Color::Red).bold()),
    }
    if let Some(b) = &app.batch {
        spans.push(sep());
        spans.push(
            Span::raw(format!(
                "{} {}/{}",
                short(&visible_line(&b.label), 20),
                b.total - b.todo.len(),
                b.total
            ))
            .fg(Color::Cyan),
        );
    }
    if !app.pending.is_empty() {
        spans.push(sep());
        let n = app.pending.len();
        if app.pending.iter().any(|p| p.waiting) {
            spans.push(
                Span::raw(format!("saving… {n} (database busy, retrying)"))
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .bold(),
            );
        } else {
            spans.push(Span::raw(format!("saving… {n}")).fg(Color::Yellow));
        }
    }
    if app.blind {
        spans.push(sep());
        spans.push(Span::raw("blind").fg(Color::Magenta).bold());
    }
    if !app.auto_advance {
        spans.push(sep());
        spans.push(Span::raw("stay after deciding").fg(Color::Yellow));
    }
    spans.push(sep());
    let db = if wide {
        visible_line(&app.db_label)
    } else {
        let name = std::path::Path::new(&app.db_label)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| app.db_label.clone());
        visible_line(&name)
    };
    spans.push(Span::raw(format!("db {db}")));
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().bg(Color::Indexed(236))),
        area,
    );
}

pub fn draw_banner(f: &mut Frame, app: &App, area: Rect) {
    let ModelState::Unavailable(msg) = &app.model else {
        return;
    };
    let line = Line::from(vec![
        Span::raw(" ⚠ No model — manual review still works (1-4 decide, e n f u). ").bold(),
        Span::raw(visible_line(msg)),
    ]);
    f.render_widget(
        Paragraph::new(line).style(Style::new().fg(Color::White).bg(Color::Red)),
        area,
    );
}

pub fn draw_hints(f: &mut Frame, app: &App, area: Rect) {
    if let Mode::Library(v) = &app.mode
        && v.naming.is_some()
    {
        let line = Line::from(
            Span::raw(" rubric name: letters, digits, - _ .   Enter saves · Esc cancels")
                .fg(Color::DarkGray),
        );
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let prompt = match &app.mode {
        Mode::Search(q) => Some((
            " search: ",
            q,
            "   Enter searches · Ctrl-U clears · Esc closes",
        )),
        Mode::Jump(q) => Some((
            " go to case: ",
            q,
            "   number or source id · Enter goes · Esc closes",
        )),
        _ => None,
    };
    if let Some((label, q, help)) = prompt {
        // The end of a long query stays in view.
        let room = (area.width as usize)
            .saturating_sub(label.len() + help.len() + 2)
            .max(8);
        let shown = visible_line(q);
        let n = shown.chars().count();
        let tail: String = shown.chars().skip(n.saturating_sub(room)).collect();
        let line = Line::from(vec![
            Span::raw(label).bold().fg(Color::Yellow),
            Span::raw(tail),
            Span::raw("█").fg(Color::Yellow),
            Span::raw(help).fg(Color::DarkGray),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let line = match &app.message {
        Some(m) => {
            let color = match m.level {
                Level::Info => Color::Green,
                Level::Warn => Color::Yellow,
                Level::Error => Color::Red,
            };
            Line::from(Span::raw(format!(" {}", visible_line(&m.text))).fg(color))
        }
        None => {
            let keys: &[(&str, &str)] = match app.mode {
                Mode::Help => &[
                    ("?/Esc", "close"),
                    ("↓/↑", "scroll"),
                    ("Q", "queue"),
                    ("A", "auto-advance"),
                ],
                Mode::Stats => &[("S/Esc", "back")],
                Mode::Narrow(_) => &[
                    ("j/k", "choice"),
                    ("Enter", "narrow / lift"),
                    ("X", "lift all"),
                    ("T/Esc", "back"),
                ],
                Mode::Library(_) => &[
                    ("j/k", "rubric"),
                    ("[/]", "version"),
                    ("Enter", "apply here"),
                    ("A", "apply to queue"),
                    ("d", "diff"),
                    ("c", "compare"),
                    ("m", "mark base"),
                    ("r", "restore"),
                    ("s", "save case rubric"),
                    ("L/Esc", "back"),
                ],
                Mode::Edit(_) => &[("Ctrl-S", "keep"), ("Esc", "discard")],
                _ if app.case.is_none() && app.total_cases == Some(0) => &[("i", "import sample")],
                _ => &[
                    ("j/k", "case"),
                    ("a", "accept"),
                    ("1-4", "A/B/tie/both bad"),
                    ("e/E", "edit"),
                    ("R", "re-judge"),
                    ("g", "judge"),
                    ("u", "undo"),
                    ("/", "search"),
                    ("S", "stats"),
                ],
            };
            // "? help" and "q quit" always fit; the others as far as the width allows.
            let tail: &[(&str, &str)] = if matches!(app.mode, Mode::Review) {
                &[("?", "help"), ("q", "quit")]
            } else {
                &[]
            };
            let cost = |(k, w): &(&str, &str)| k.chars().count() + w.chars().count() + 3;
            let mut room =
                (area.width as usize).saturating_sub(1 + tail.iter().map(cost).sum::<usize>());
            let mut spans = vec![Span::raw(" ")];
            for (k, what) in keys
                .iter()
                .take_while(|e| {
                    let c = cost(e);
                    let fits = c <= room;
                    room = room.saturating_sub(c);
                    fits
                })
                .chain(tail.iter())
            {
                spans.push(Span::raw(*k).bold().fg(Color::Cyan));
                spans.push(Span::raw(format!(" {what}  ")).fg(Color::Gray));
            }
            Line::from(spans)
        }
    };
    f.render_widget(Paragraph::new(line), area);
}
