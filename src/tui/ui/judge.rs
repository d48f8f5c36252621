//! The judge pane: rubric and analysis (streaming while the model writes), then a
//! footer with the verdict, the A / B / tie confidence bar, the swap check and the
//! reviewer's own decision. The source's label is shown only once the reviewer decided.

use super::{doc_lines, pane_block};
use crate::domain::{Judgment, Verdict};
use crate::sanitize::visible_line;
use crate::tui::layout::Areas;
use crate::tui::state::{App, CaseView, Focus, Job, ModelState};
use ratatui::Frame;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Cells of the confidence bar.
const BAR: usize = 20;

fn rate(tokens: u32, secs: f64) -> Option<f64> {
    (secs > 0.05 && tokens > 0).then(|| tokens as f64 / secs)
}

fn job_status(app: &App, job: &Job) -> String {
    let what = if job.swapped {
        "swap check"
    } else if matches!(job.mode, crate::judge::JudgeMode::RubricGiven(_)) {
        "re-judging with your rubric"
    } else {
        "judging"
    };
    match (job.started, job.section, job.prefill) {
        (None, _, _) => format!("{what} · waiting for the model"),
        (Some(_), None, Some((done, total))) => format!("{what} · reading the case {done}/{total}"),
        (Some(_), None, None) => format!("{what} · reading the case"),
        (Some(t0), Some(section), _) => {
            let t1 = job.first_token.unwrap_or(t0);
            let secs = app.now.saturating_duration_since(t1).as_secs_f64();
            let section = match section {
                crate::judge::Section::Rubric => "rubric",
                crate::judge::Section::Analysis => "analysis",
                crate::judge::Section::Verdict => "verdict",
            };
            match rate(job.tokens.saturating_sub(1), secs) {
                Some(r) => format!("{what} · {section} · {} tok · {r:.0} tok/s", job.tokens),
                None => format!("{what} · {section} · {} tok", job.tokens),
            }
        }
    }
}

fn stored_status(j: &Judgment) -> String {
    let mut s = format!("judgment #{}", j.id);
    if j.j.rubric_given {
        s.push_str(" · rubric given");
    }
    if let (Some(n), Some(ms)) = (j.j.tokens_generated, j.j.ms_generate)
        && let Some(r) = rate(n, ms as f64 / 1000.0)
    {
        s.push_str(&format!(
            " · {n} tok in {:.1} s · {r:.0} tok/s",
            ms as f64 / 1000.0
        ));
    }
    s.push_str(&format!(" · {}", visible_line(&j.j.model_file)));
    s
}

fn verdict_color(v: Verdict) -> Color {
    match v {
        Verdict::A => Color::Blue,
        Verdict::B => Color::Magenta,
        Verdict::Tie => Color::Gray,
        Verdict::BothBad => Color::Red,
    }
}

fn confidence(j: &Judgment) -> Vec<Span<'static>> {
    let (Some(a), Some(b), Some(t)) = (j.j.p_a, j.j.p_b, j.j.p_tie) else {
        return vec![];
    };
    let sum = (a + b + t).max(f64::EPSILON);
    let cells = |p: f64| ((p / sum) * BAR as f64).round() as usize;
    let na = cells(a).min(BAR);
    let nb = cells(b).min(BAR - na);
    let nt = BAR - na - nb;
    vec![
        Span::raw("   confidence "),
        Span::raw("█".repeat(na)).fg(Color::Blue),
        Span::raw("█".repeat(nb)).fg(Color::Magenta),
        Span::raw("░".repeat(nt)).fg(Color::Gray),
        Span::raw(format!(" A {:.0}%", 100.0 * a / sum)).fg(Color::Blue),
        Span::raw(format!(" B {:.0}%", 100.0 * b / sum)).fg(Color::Magenta),
        Span::raw(format!(" tie {:.0}%", 100.0 * t / sum)),
    ]
}

fn verdict_line(app: &App, case: &CaseView, job: Option<&Job>) -> Line<'static> {
    let mut spans = vec![Span::raw("model verdict: ").bold()];
    if app.verdict_hidden(case.case.id) {
        let state = match (job.filter(|j| !j.swapped), &case.judgment) {
            (Some(_), _) => "judging",
            (None, Some(_)) => "judged",
            (None, None) => "not judged",
        };
        spans.push(
            Span::raw(format!("hidden until you decide (blind mode; {state})")).fg(Color::DarkGray),
        );
        return Line::from(spans);
    }
    match (job.filter(|j| !j.swapped), &case.judgment) {
        (Some(j), _) => {
            let v = j.verdict_text.trim();
            spans.push(Span::raw(if v.is_empty() {
                "…".to_string()
            } else {
                visible_line(v)
            }));
            spans.push(Span::raw(" (streaming)").fg(Color::DarkGray));
        }
        (None, Some(jd)) => match jd.j.verdict {
            Some(v) => {
                spans.push(Span::raw(v.as_str()).bold().fg(verdict_color(v)));
                spans.extend(confidence(jd));
            }
            None => spans.push(Span::raw("none (the output did not parse)").fg(Color::Red)),
        },
        (None, None) => spans.push(Span::raw("—").fg(Color::DarkGray)),
    }
    Line::from(spans)
}

fn decision_line(app: &App, case: &CaseView, job: Option<&Job>) -> Line<'static> {
    let mut spans = vec![Span::raw("swap: ")];
    let original = case.judgment.as_ref().and_then(|j| j.j.verdict);
    let hidden = app.verdict_hidden(case.case.id);
    match (job.filter(|j| j.swapped), &case.swap) {
        // The swap result would give the verdict away.
        (None, Some(_)) if hidden => spans.push(Span::raw("hidden").fg(Color::DarkGray)),
        (Some(_), _) => spans.push(Span::raw("running…").fg(Color::Yellow)),
        (None, Some(s)) => match (original, s.j.verdict) {
            (Some(o), Some(v)) if o == v => spans.push(Span::raw("consistent").fg(Color::Green)),
            (Some(_), Some(v)) => spans.push(
                Span::raw(format!("position bias ({v} with A and B exchanged)"))
                    .fg(Color::Red)
                    .bold(),
            ),
            (_, v) => spans.push(Span::raw(format!(
                "{} with A and B exchanged",
                v.map_or("no verdict", Verdict::as_str)
            ))),
        },
        (None, None) => spans.push(Span::raw("not checked (s)").fg(Color::DarkGray)),
    }
    spans.push(Span::raw(" │ ").fg(Color::DarkGray));
    if let Some(p) = app.pending_decision(case.case.id) {
        let a = p.action.map_or("-", |a| a.as_str());
        let v = p.verdict.map_or("-", Verdict::as_str);
        spans.push(
            Span::raw(format!("you: {a} {v} (saving…)"))
                .bold()
                .fg(Color::Yellow),
        );
    } else {
        match &case.review.decision {
            Some(d) => {
                let v = d.verdict.map_or("-", Verdict::as_str);
                spans.push(Span::raw(format!("you: {} {v}", d.action.as_str())).bold());
                spans.push(Span::raw(" │ ").fg(Color::DarkGray));
                spans.push(Span::raw(match case.case.source_label {
                    Some(l) => format!("source label: {l}"),
                    None => "source label: none".to_string(),
                }));
            }
            None => spans.push(Span::raw("undecided · source label hidden").fg(Color::DarkGray)),
        }
    }
    if case.review.flagged {
        spans.push(Span::raw(" │ ").fg(Color::DarkGray));
        spans.push(Span::raw("⚑ flagged").fg(Color::Red));
    }
    if let Some(n) = &case.review.note {
        spans.push(Span::raw(" │ note: ").fg(Color::DarkGray));
        spans.push(Span::raw(visible_line(n)));
    }
    Line::from(spans)
}

fn placeholder(app: &App, case: &CaseView) -> Vec<Line<'static>> {
    let text = match (&app.model, &case.failed) {
        (_, Some(e)) => format!("Judging failed: {e}. g tries again."),
        (ModelState::Unavailable(why), _) => format!(
            "No model, so no judgment. Decide with 1 / 2 / 3 / 4; e writes a rubric by hand.\n\n{}",
            visible_line(why)
        ),
        (ModelState::Loading(_), _) => {
            "The model is loading; judging starts when it is ready.".to_string()
        }
        (ModelState::Ready(_), _) if app.no_auto.contains(&case.case.id) => {
            "Judging was cancelled. g judges this case.".to_string()
        }
        (ModelState::Ready(_), _) => match app.visible_job() {
            Some(j) if j.started.is_some() => "The judge is reading the case…".to_string(),
            Some(_) => "Queued for the judge…".to_string(),
            None => "Waiting for the judge…".to_string(),
        },
    };
    text.lines()
        .map(|l| Line::from(Span::raw(l.to_string()).fg(Color::DarkGray)))
        .collect()
}

pub fn draw(f: &mut Frame, app: &App, case: &CaseView, areas: &Areas) {
    let job = app.visible_job();
    let title = match (job, &case.judgment) {
        (Some(j), _) => job_status(app, j),
        (None, Some(j)) => stored_status(j),
        (None, None) => "not judged".to_string(),
    };
    let focused = app.focus == Focus::Judge;
    f.render_widget(
        pane_block(&format!("Judge · {title}"), focused),
        areas.judge,
    );
    let text = areas.text(Focus::Judge);
    // A swap check streams in the background; the pane keeps showing the judgment.
    let pane = match job {
        Some(j) if !j.swapped => &j.pane,
        _ => &case.judge,
    };
    if app.reasoning_hidden(case.case.id) && !pane.doc.is_empty() {
        f.render_widget(
            Paragraph::new(Line::from(
                Span::raw(
                    "The model's rubric and analysis are hidden until you decide (blind mode; H in ? shows them).",
                )
                .fg(Color::DarkGray),
            ))
            .wrap(ratatui::widgets::Wrap { trim: false }),
            text,
        );
    } else if pane.doc.is_empty() {
        f.render_widget(
            Paragraph::new(placeholder(app, case)).wrap(ratatui::widgets::Wrap { trim: false }),
            text,
        );
    } else {
        f.render_widget(Paragraph::new(doc_lines(pane, text)), text);
    }
    let footer = areas.judge_footer();
    f.render_widget(
        Paragraph::new(vec![
            verdict_line(app, case, job),
            decision_line(app, case, job),
        ])
        .style(Style::new()),
        footer,
    );
}
