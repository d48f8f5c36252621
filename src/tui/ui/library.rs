//! The rubric library browser (`L`): the rubrics on the left, the shown version (its
//! preview, a diff against the base, or the experiment report) on the right.

use crate::sanitize::{visible, visible_line};
use crate::tui::library::{LibraryView, Show};
use crate::tui::state::App;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

fn block(title: String, focused: bool) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .title(title)
        .border_style(Style::new().fg(if focused {
            Color::Cyan
        } else {
            Color::DarkGray
        }))
}

pub fn draw(f: &mut Frame, app: &App, v: &LibraryView, area: Rect) {
    let Some(entries) = &v.entries else {
        f.render_widget(
            Paragraph::new("Reading the rubric library…")
                .block(block(" Rubric library ".into(), true)),
            area,
        );
        return;
    };
    if entries.is_empty() {
        f.render_widget(
            Paragraph::new(vec![
                Line::from("The rubric library is empty."),
                Line::from(""),
                Line::from("s saves the current case's rubric here under a name;"),
                Line::from("R (re-judge with your rubric) keeps it as this case's rubric;"),
                Line::from("`rubricate rubrics add NAME --file F` adds one from a file."),
            ])
            .block(block(" Rubric library ".into(), true)),
            area,
        );
        return;
    }
    let list_width = (area.width / 3).clamp(24, 44);
    let [left, right] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(20)]).areas(area);
    draw_list(f, v, left);
    draw_shown(f, app, v, right);
}

fn draw_list(f: &mut Frame, v: &LibraryView, area: Rect) {
    let entries = v.entries.as_deref().unwrap_or_default();
    let height = area.height.saturating_sub(2) as usize;
    let top = crate::tui::update::queue_top(v.sel, entries.len(), height as u16);
    let width = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = entries
        .iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, e)| {
            let latest = e.versions.last().map_or(0, |r| r.version);
            let tail = format!(" v{latest} · {}j", e.judgments);
            let room = width.saturating_sub(tail.chars().count() + 2);
            let mut name: String = visible_line(&e.name).chars().take(room).collect();
            let pad = room.saturating_sub(name.chars().count());
            name.push_str(&" ".repeat(pad));
            let marker = if i == v.sel { "▶ " } else { "  " };
            let style = if i == v.sel {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(format!("{marker}{name}"), style),
                Span::styled(tail, style.fg(Color::DarkGray)),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block(format!(" Rubrics · {} ", entries.len()), true)),
        area,
    );
}

fn draw_shown(f: &mut Frame, app: &App, v: &LibraryView, area: Rect) {
    let Some(r) = v.selected() else {
        return;
    };
    let n = v.entry().map_or(0, |e| e.versions.len());
    let mut lines: Vec<Line> = Vec::new();
    let mut meta = format!(
        "{} · {}",
        r.created_at,
        visible_line(r.author.as_deref().unwrap_or("-"))
    );
    if let Some(c) = r.case_id {
        meta.push_str(&format!(" · written on case {c}"));
    }
    if let Some(note) = &r.note {
        meta.push_str(&format!(" · {}", visible_line(note)));
    }
    lines.push(Line::from(meta).fg(Color::DarkGray));
    let base = v.base_rubric().map(|b| b.label());
    lines.push(
        Line::from(format!(
            "version {} of {n}{}",
            r.version,
            base.as_deref()
                .map_or(String::new(), |b| format!(" · base {}", visible_line(b)))
        ))
        .fg(Color::DarkGray),
    );
    lines.push(Line::from(""));
    let title = match &v.show {
        Show::Preview => {
            for l in visible(&r.body).lines() {
                lines.push(Line::from(l.to_string()));
            }
            format!(" {} ", visible_line(&r.label()))
        }
        Show::Diff => {
            if let Some(d) = v.diff() {
                lines.push(Line::from(format!("--- {}", visible_line(&d.from))).fg(Color::Red));
                lines.push(Line::from(format!("+++ {}", visible_line(&d.to))).fg(Color::Green));
                for (mark, text) in d.lines {
                    let color = match mark {
                        '-' => Color::Red,
                        '+' => Color::Green,
                        _ => Color::Reset,
                    };
                    lines.push(Line::from(format!("{mark} {}", visible_line(&text))).fg(color));
                }
            }
            format!(" Diff · {} ", visible_line(&r.label()))
        }
        Show::Compare(report) => {
            match report {
                None => lines.push(Line::from("Comparing over the queue…")),
                Some(report) => {
                    lines.push(
                        Line::from(format!(
                            "Over the {} case(s) in the queue ({}), this reviewer's decisions and the labels:",
                            app.queue.len(),
                            app.filter.as_str()
                        ))
                        .fg(Color::DarkGray),
                    );
                    for l in report {
                        lines.push(Line::from(visible_line(l)));
                    }
                    lines.push(Line::from(""));
                    lines.push(
                        Line::from("A judges the queue with the version shown; c again refreshes.")
                            .fg(Color::DarkGray),
                    );
                }
            }
            format!(" Experiment · {} ", visible_line(&r.label()))
        }
    };
    if let Some(name) = &v.naming {
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::raw("Save this case's rubric as: ")
                .bold()
                .fg(Color::Yellow),
            Span::raw(visible_line(name)),
            Span::raw("█").fg(Color::Yellow),
        ]));
    }
    // The experiment report is a table: wrapping would break its columns.
    let wrap = !matches!(v.show, Show::Compare(_));
    let mut p = Paragraph::new(lines)
        .block(block(title, false))
        .scroll((v.scroll, 0));
    if wrap {
        p = p.wrap(Wrap { trim: false });
    }
    f.render_widget(p, area);
}
