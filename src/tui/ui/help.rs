//! The `?` overlay: every key from the one table in keymap.rs, plus the settings.

use super::centered;
use crate::tui::keymap::{KeyMode, SECTIONS, Section};
use crate::tui::state::App;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

fn section_lines(s: &Section, key_w: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::raw(s.title).bold().fg(Color::Yellow))];
    for b in s.bindings {
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<key_w$}", b.shown)).fg(Color::Cyan),
            Span::raw(format!(" {}", b.help)),
        ]));
    }
    lines.push(Line::from(""));
    lines
}

fn settings_lines(app: &App) -> Vec<Line<'static>> {
    let onoff = |b: bool| if b { "on" } else { "off" };
    vec![
        Line::from(
            Span::raw("Settings (kept in the config file)")
                .bold()
                .fg(Color::Yellow),
        ),
        Line::from(format!(
            "  queue pane: {}   (Q)",
            onoff(app.queue_visible())
        )),
        Line::from(format!(
            "  open the next case after a decision: {}   (A)",
            onoff(app.auto_advance)
        )),
        Line::from(format!(
            "  blind mode (verdict, confidence, lengths hidden until you decide): {}   (B)",
            onoff(app.blind)
        )),
        Line::from(format!(
            "  blind mode hides the rubric and analysis too: {}   (H)",
            onoff(app.blind_reasoning)
        )),
    ]
}

pub fn draw(f: &mut Frame, app: &App, main: Rect) {
    // On a small terminal the list needs every cell; on a big one the case stays framed.
    let area = if main.width < 120 {
        main
    } else {
        centered(main, 96, 96)
    };
    f.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(" Keys · ?/Esc closes · ↓/↑ scroll ")
        .border_style(ratatui::style::Style::new().fg(Color::Yellow));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let key_w = 24;
    let review: Vec<Line> = SECTIONS
        .iter()
        .filter(|s| s.mode == KeyMode::Review)
        .flat_map(|s| section_lines(s, key_w))
        .collect();
    let mut others: Vec<Line> = SECTIONS
        .iter()
        .filter(|s| s.mode != KeyMode::Review)
        .flat_map(|s| section_lines(s, 18))
        .collect();
    others.extend(settings_lines(app));
    if inner.width >= 150 {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .areas(inner);
        for (lines, area) in [(review, l), (others, r)] {
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((app.help_scroll, 0)),
                area,
            );
        }
    } else {
        let mut all = review;
        all.extend(others);
        f.render_widget(
            Paragraph::new(all)
                .wrap(Wrap { trim: false })
                .scroll((app.help_scroll, 0)),
            inner,
        );
    }
}
