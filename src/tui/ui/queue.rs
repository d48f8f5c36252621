//! The queue: one row per case in the filter, the open one highlighted.

use super::pane_block;
use crate::domain::Verdict;
use crate::sanitize::visible_line;
use crate::tui::layout;
use crate::tui::state::{App, Focus, QueueItem};
use crate::tui::update::queue_top;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::A => "A",
        Verdict::B => "B",
        Verdict::Tie => "=",
        Verdict::BothBad => "✗",
    }
}

/// Cut a one-line text to `width` columns.
fn clip(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            out.pop();
            out.push('…');
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

fn row<'a>(q: &QueueItem, selected: bool, pending: bool, blind: bool, width: usize) -> Line<'a> {
    let decided = match q.decided {
        // Blind mode: judged, but the verdict is not shown before the reviewer's own.
        None if blind && q.judged => Span::raw("· ").fg(Color::Blue),
        // Not in the database yet: the writer is still on it.
        Some(v) if pending => Span::raw(format!("…{}", verdict_mark(v))).fg(Color::Yellow),
        Some(v) => Span::raw(format!("✓{}", verdict_mark(v))).fg(Color::Green),
        None => match (q.judged, q.model) {
            (true, Some(v)) => Span::raw(format!("·{}", verdict_mark(v))).fg(Color::Blue),
            (true, None) => Span::raw("·?").fg(Color::Blue),
            (false, _) => Span::raw("  "),
        },
    };
    let flag = if q.flagged {
        Span::raw("⚑").fg(Color::Red)
    } else {
        Span::raw(" ")
    };
    let id = format!("{:>4} ", q.id);
    // The source id, short, so a case can be found again by it (`:`).
    let sid = q.source_id.as_deref().map_or(String::new(), |s| {
        format!("{} ", clip(&visible_line(s), 12))
    });
    let sid_w = sid.chars().count();
    // The category (and difficulty) after it, at most a quarter of the row.
    let tag = match (&q.category, &q.difficulty) {
        (Some(c), Some(d)) => format!("{}·{}", visible_line(c), visible_line(d)),
        (Some(c), None) => visible_line(c),
        (None, Some(d)) => visible_line(d),
        (None, None) => String::new(),
    };
    let mut tag = clip(&tag, (width / 4).min(20));
    if !tag.is_empty() {
        tag.push(' ');
    }
    let tag_w: usize = tag.chars().map(|c| c.width().unwrap_or(0)).sum();
    let title_w = width.saturating_sub(id.len() + 4 + sid_w + tag_w);
    let title = clip(&visible_line(&q.title), title_w);
    let style = if selected {
        Style::new()
            .bg(Color::Indexed(24))
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    Line::from(vec![
        Span::raw(id).fg(Color::DarkGray),
        decided,
        flag,
        Span::raw(" "),
        Span::raw(sid).fg(Color::Cyan),
        Span::raw(tag).fg(Color::Green),
        Span::raw(title),
    ])
    .style(style)
}

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Queue;
    // The pane is narrow: the values alone (the status bar names their kinds).
    let mut title = format!("Queue · {}", app.filter.as_str());
    for (_, value) in app.narrow.parts() {
        title.push_str(&format!(" · {}", visible_line(value)));
    }
    f.render_widget(pane_block(&title, focused), area);
    let inner = layout::inner(area);
    let top = queue_top(app.cursor, app.queue.len(), inner.height);
    let lines: Vec<Line> = app
        .queue
        .iter()
        .enumerate()
        .skip(top)
        .take(inner.height as usize)
        .map(|(i, q)| {
            row(
                q,
                i == app.cursor,
                app.is_pending(q.id),
                app.blind,
                inner.width as usize,
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
