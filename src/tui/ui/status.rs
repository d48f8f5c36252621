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

pub fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![Span::raw(" rubricate ").bold().fg(Color::Black).bg(Color::Cyan)];
    spans.push(Span::raw(" db "));
    spans.push(Span::raw(visible_line(&app.db_label)).bold());
    spans.push(sep());
    spans.push(Span::raw("model "));
    match &app.model {
        ModelState::Loading(p) => {
            spans.push(Span::raw(format!("loading {:.0}%", p * 100.0)).fg(Color::Yellow))
        }
        ModelState::Ready(info) => {
            spans.push(Span::raw(visible_line(&info.file_name)).bold());
            let state = match app.job.as_ref() {
                Some(j) if j.started.is_some() => format!(" judging case {}", j.case_id),
                Some(j) => format!(" queued case {}", j.case_id),
                None => " idle".to_string(),
            };
            spans.push(Span::raw(state).fg(Color::Green));
        }
        ModelState::Unavailable(_) => spans.push(Span::raw("unavailable").fg(Color::Red).bold()),
    }
    spans.push(sep());
    let pos = if app.queue.is_empty() {
        "0/0".to_string()
    } else {
        format!("{}/{}", app.cursor + 1, app.queue.len())
    };
    spans.push(Span::raw(pos).bold());
    spans.push(sep());
    spans.push(Span::raw("filter "));
    spans.push(Span::raw(app.filter.as_str()).bold());
    if let Some(s) = &app.source {
        spans.push(Span::raw(format!(" · source {}", visible_line(s))));
    }
    spans.push(sep());
    spans.push(Span::raw("reviewer "));
    spans.push(Span::raw(visible_line(&app.reviewer)).bold());
    if !app.auto_advance {
        spans.push(sep());
        spans.push(Span::raw("no auto-advance").fg(Color::Yellow));
    }
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
        Span::raw(" ⚠ No model: ").bold(),
        Span::raw(visible_line(msg)),
        Span::raw(" · Manual review still works: 1 2 3 4 decide, e n f u.").bold(),
    ]);
    f.render_widget(
        Paragraph::new(line).style(Style::new().fg(Color::White).bg(Color::Red)),
        area,
    );
}

pub fn draw_hints(f: &mut Frame, app: &App, area: Rect) {
    if let Mode::Search(q) = &app.mode {
        let line = Line::from(vec![
            Span::raw(" search: ").bold().fg(Color::Yellow),
            Span::raw(visible_line(q)),
            Span::raw("█").fg(Color::Yellow),
            Span::raw("   Enter searches · Esc closes").fg(Color::DarkGray),
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
                Mode::Help => &[("?/Esc", "close"), ("Q", "queue"), ("A", "auto-advance")],
                Mode::Stats => &[("S/Esc", "back")],
                _ if app.case.is_none() && app.total_cases == Some(0) => {
                    &[("i", "import sample"), ("?", "help"), ("q", "quit")]
                }
                _ => &[
                    ("j/k", "case"),
                    ("a", "accept"),
                    ("1/2/3/4", "A/B/tie/both bad"),
                    ("e/E", "edit"),
                    ("R", "re-judge"),
                    ("g", "judge"),
                    ("u", "undo"),
                    ("?", "help"),
                    ("q", "quit"),
                ],
            };
            let mut spans = vec![Span::raw(" ")];
            for (k, what) in keys {
                spans.push(Span::raw(*k).bold().fg(Color::Cyan));
                spans.push(Span::raw(format!(" {what}  ")).fg(Color::Gray));
            }
            Line::from(spans)
        }
    };
    f.render_widget(Paragraph::new(line), area);
}
