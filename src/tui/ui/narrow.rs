//! The queue narrowing picker (`T`): a box over the case listing what the queue can be
//! narrowed by, grouped by kind, the narrowing in force marked.

use super::centered_fixed;
use crate::sanitize::visible_line;
use crate::tui::narrow::NarrowPicker;
use crate::tui::state::App;
use crate::tui::update::queue_top;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

pub fn draw(f: &mut Frame, app: &App, p: &NarrowPicker, main: Rect) {
    // As tall as the choices (headings included), within the screen.
    let rows = p.options.as_ref().map_or(1, |o| {
        let kinds = o.windows(2).filter(|w| w[0].kind != w[1].kind).count() + 1;
        (o.len() + kinds).max(4)
    });
    let height = (rows as u16 + 2).min(main.height.saturating_sub(2)).max(3);
    let area = centered_fixed(main, 72, height);
    f.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(" Narrow the queue · Enter narrows / lifts · X lifts all · Esc back ")
        .border_style(Style::new().fg(Color::Yellow));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines: Vec<Line> = match &p.options {
        None => vec![Line::from("Reading…")],
        Some(options) if options.is_empty() => vec![
            Line::from("Nothing to narrow by yet."),
            Line::from(""),
            Line::from("t tags a case into a collection, ! flags it with a reason;"),
            Line::from("imports set the source and (benchmarks) the category."),
        ],
        Some(options) => {
            // One row per option, a kind heading before each group; the selected row stays
            // in view (the headings count as rows).
            let mut rows: Vec<(Option<usize>, Line)> = Vec::new();
            let mut last = None;
            for (i, o) in options.iter().enumerate() {
                if last != Some(o.kind) {
                    last = Some(o.kind);
                    rows.push((
                        None,
                        Line::from(Span::raw(o.kind.label()).bold().fg(Color::Yellow)),
                    ));
                }
                let active = app.narrow.get(o.kind) == Some(&o.value);
                let mark = if active { "● " } else { "  " };
                let style = if i == p.sel {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else {
                    Style::new()
                };
                rows.push((
                    Some(i),
                    Line::from(vec![
                        Span::raw(format!("  {mark}")).fg(Color::Green),
                        Span::raw(visible_line(&o.value)),
                        Span::raw(format!("  {} case(s)", o.cases)).fg(Color::DarkGray),
                    ])
                    .style(style),
                ));
            }
            let at = rows
                .iter()
                .position(|(i, _)| *i == Some(p.sel))
                .unwrap_or(0);
            let top = queue_top(at, rows.len(), inner.height);
            rows.into_iter()
                .skip(top)
                .take(inner.height as usize)
                .map(|(_, l)| l)
                .collect()
        }
    };
    f.render_widget(Paragraph::new(lines), inner);
}
