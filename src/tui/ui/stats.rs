//! The statistics view (`S`): progress, agreement, swap consistency, length bias and
//! the verdict mix, as charts with the numbers next to them.

use crate::sanitize::visible_line;
use crate::tui::state::App;
use crate::tui::stats_view::StatsView;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, BorderType, Gauge, Paragraph};

fn block(title: &str) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .title(format!(" {title} "))
        .border_style(Style::new().fg(Color::DarkGray))
}

fn ratio(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        (n as f64 / of as f64).clamp(0.0, 1.0)
    }
}

fn gauge(f: &mut Frame, area: Rect, title: &str, n: u64, of: u64, color: Color) {
    let r = ratio(n, of);
    f.render_widget(
        Gauge::default()
            .block(block(title))
            .gauge_style(Style::new().fg(color).bg(Color::Indexed(236)))
            .ratio(r)
            .label(format!("{n} / {of}  ({:.0}%)", r * 100.0)),
        area,
    );
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |x| format!("{:.0}%", x * 100.0))
}

/// Bars of rates in percent, each labelled and carrying its own figure.
fn rate_chart<'a>(title: &str, rows: &[(String, Option<f64>, String)], width: u16) -> BarChart<'a> {
    let n = rows.len().max(1) as u16;
    let bar_width = ((width.saturating_sub(2)) / n)
        .saturating_sub(2)
        .clamp(3, 24);
    let bars: Vec<Bar> = rows
        .iter()
        .map(|(label, rate, text)| {
            Bar::default()
                .value((rate.unwrap_or(0.0) * 100.0).round() as u64)
                .label(Line::from(visible_line(label)))
                .text_value(text.clone())
        })
        .collect();
    BarChart::default()
        .block(block(title))
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(2)
        .max(100)
        .bar_style(Style::new().fg(Color::Cyan))
        .value_style(Style::new().fg(Color::Black).bg(Color::Cyan).bold())
}

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let Some(s) = &app.stats else {
        f.render_widget(
            Paragraph::new("Computing statistics…").block(block("Statistics")),
            area,
        );
        return;
    };
    draw_stats(f, s, area);
}

fn draw_stats(f: &mut Frame, s: &StatsView, area: Rect) {
    // Rubric experiments get rows at the bottom when there are any (two at least, so one
    // line shows on a small terminal; at most six).
    let experiments = if s.rubric_experiments.is_empty() {
        0
    } else {
        (s.rubric_experiments.len() as u16).min(6) + 2
    };
    let [progress, middle, bottom, rubrics] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Percentage(50),
        Constraint::Min(6),
        Constraint::Length(experiments),
    ])
    .areas(area);
    if experiments > 0 {
        let lines: Vec<Line> = s
            .rubric_experiments
            .iter()
            .map(|l| Line::from(visible_line(l)))
            .collect();
        f.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(block(
                    "Rubric experiments: older → newer version (L then c for the detail)",
                )),
            rubrics,
        );
    }
    let [p1, p2, p3] = Layout::horizontal([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .areas(progress);
    gauge(f, p1, "Reviewed by you", s.reviewed, s.cases, Color::Green);
    gauge(f, p2, "Judged by the model", s.judged, s.cases, Color::Blue);
    gauge(
        f,
        p3,
        "Swap-consistent",
        s.swap_consistent,
        s.swap_checked,
        Color::Magenta,
    );

    let [agree, agree_table] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    let rows: Vec<(String, Option<f64>, String)> = s
        .agreement
        .iter()
        .map(|a| (a.label.clone(), a.rate, pct(a.rate)))
        .collect();
    f.render_widget(rate_chart("Agreement (rate)", &rows, agree.width), agree);
    let mut lines = vec![Line::from("pair            agree/n    κ".bold())];
    for a in &s.agreement {
        lines.push(Line::from(format!(
            "{:<16}{:>4}/{:<4} {:>6}",
            visible_line(&a.label),
            a.agree,
            a.count,
            a.kappa.map_or("—".to_string(), |k| format!("{k:.2}"))
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "swap checks: {} consistent of {} ({})",
        s.swap_consistent,
        s.swap_checked,
        pct((s.swap_checked > 0).then(|| ratio(s.swap_consistent, s.swap_checked)))
    )));
    lines.push(Line::from(format!(
        "decided blind: {} of {}",
        s.blind, s.reviewed
    )));
    lines.push(Line::from(format!("flagged cases: {}", s.flagged)));
    lines.push(Line::from(""));
    if s.eval_runs.is_empty() {
        lines.push(Line::from("judge not measured yet: rubricate eval"));
    } else {
        lines.push(Line::from("latest eval runs".bold()));
        for r in &s.eval_runs {
            lines.push(Line::from(visible_line(r)));
        }
    }
    f.render_widget(
        Paragraph::new(lines).block(block("Agreement (counts, Cohen's κ)")),
        agree_table,
    );

    let [bias, verdicts] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let rows: Vec<(String, Option<f64>, String)> = s
        .length_bias
        .iter()
        .map(|b| {
            (
                b.label.clone(),
                b.rate,
                format!("{} {}/{}", pct(b.rate), b.longer_wins, b.decided),
            )
        })
        .collect();
    f.render_widget(
        rate_chart("Length bias: the longer answer wins", &rows, bias.width),
        bias,
    );
    let total: u64 = s.verdicts.iter().map(|(_, n)| n).sum();
    let rows: Vec<(String, Option<f64>, String)> = s
        .verdicts
        .iter()
        .map(|(label, n)| {
            (
                label.clone(),
                (total > 0).then(|| ratio(*n, total)),
                n.to_string(),
            )
        })
        .collect();
    f.render_widget(rate_chart("Your verdicts", &rows, verdicts.width), verdicts);
}
