//! The judge pane: rubric and analysis (streaming while the model writes), then a
//! footer with the verdict, the A / B / tie confidence bar, the swap check and the
//! reviewer's own decision. The source's label is shown only once the reviewer decided.

use super::{doc_lines, pane_block};
use crate::domain::{Judgment, Verdict};
use crate::eval::Rate;
use crate::robust::{OrderVerdict, RobustBasis, combine, margin};
use crate::sanitize::visible_line;
use crate::store::LOW_MARGIN;
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
                crate::judge::Section::Reasoning => "reasoning",
                crate::judge::Section::Type => "type",
                crate::judge::Section::Solution => "solution",
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

/// The measured trust in the loaded judge for this case: its eval run's figures for the
/// case's category (or overall when the category was not measured).
struct Trust {
    /// What was measured: the category, or the run's dataset.
    on: String,
    accuracy: Rate,
    swap_consistency: Option<f64>,
}

impl Trust {
    fn of(app: &App, case: &CaseView) -> Option<Trust> {
        let e = app.judge_eval.as_ref()?;
        let n = &e.numbers;
        let by_cat = case
            .case
            .category
            .as_ref()
            .and_then(|c| n.by_category.get(c).filter(|g| g.n > 0).map(|g| (c, g)));
        Some(match by_cat {
            Some((c, g)) => Trust {
                on: c.clone(),
                accuracy: rate_of(g.accuracy, g.n),
                swap_consistency: g.swap_consistency,
            },
            None => Trust {
                on: e.dataset.clone(),
                accuracy: Rate::new(n.correct, n.n),
                swap_consistency: n.swap_consistency,
            },
        })
    }

    /// Measured, and the 95 % interval contains one half.
    fn at_chance(&self) -> bool {
        self.accuracy.at_chance()
    }
}

/// A group's accuracy back as a count over n (the stored figures keep the rate).
fn rate_of(accuracy: Option<f64>, n: u64) -> Rate {
    let k = accuracy.map_or(0, |a| (a * n as f64).round() as u64);
    Rate::new(k, n)
}

fn confidence(j: &Judgment, dim: bool) -> Vec<Span<'static>> {
    let (Some(a), Some(b)) = (j.j.p_a, j.j.p_b) else {
        return vec![Span::raw("   no probabilities from this judge").fg(Color::DarkGray)];
    };
    // A profile without a tie choice (rm-r1's [[A]]/[[B]]) stores no P(tie): it is zero.
    let t = j.j.p_tie.unwrap_or(0.0);
    let sum = (a + b + t).max(f64::EPSILON);
    let cells = |p: f64| ((p / sum) * BAR as f64).round() as usize;
    let na = cells(a).min(BAR);
    let nb = cells(b).min(BAR - na);
    let nt = BAR - na - nb;
    // A judge measured at chance gets a grey bar: its probabilities are not confidence.
    let (ca, cb) = if dim {
        (Color::DarkGray, Color::DarkGray)
    } else {
        (Color::Blue, Color::Magenta)
    };
    let mut spans = Vec::new();
    // The margin first: on a narrow screen it is what must stay visible.
    if let Some(m) = margin([a, b, t]) {
        spans.push(
            Span::raw(format!("  margin {m:.2} ")).fg(if m < LOW_MARGIN {
                Color::Yellow
            } else {
                Color::Reset
            }),
        );
    }
    spans.extend([
        Span::raw("█".repeat(na)).fg(ca),
        Span::raw("▒".repeat(nb)).fg(cb),
        Span::raw("░".repeat(nt)).fg(Color::DarkGray),
        Span::raw(format!(" A {:.0}%", 100.0 * a / sum)).fg(ca),
        Span::raw(format!(" B {:.0}%", 100.0 * b / sum)).fg(cb),
        Span::raw(format!(" tie {:.0}%", 100.0 * t / sum)).fg(Color::DarkGray),
    ]);
    spans
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
    let dim = Trust::of(app, case).is_some_and(|t| t.at_chance());
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
                let shown = Span::raw(v.as_str()).bold();
                spans.push(if dim {
                    shown.fg(Color::DarkGray)
                } else {
                    shown.fg(verdict_color(v))
                });
                spans.extend(confidence(jd, dim));
            }
            None => spans.push(Span::raw("none (the output did not parse)").fg(Color::Red)),
        },
        (None, None) => spans.push(Span::raw("—").fg(Color::DarkGray)),
    }
    Line::from(spans)
}

/// The swapped order and the position-robust verdict of both.
fn orders_line(app: &App, case: &CaseView, job: Option<&Job>) -> Line<'static> {
    let mut spans = vec![Span::raw("orders: ")];
    let original = case.judgment.as_ref().and_then(|j| j.j.verdict);
    let hidden = app.verdict_hidden(case.case.id);
    match (job.filter(|j| j.swapped), &case.swap) {
        // The swap result would give the verdict away.
        (None, Some(_)) if hidden => spans.push(Span::raw("hidden").fg(Color::DarkGray)),
        (Some(_), _) => spans.push(Span::raw("judging with A and B swapped…").fg(Color::Yellow)),
        (None, Some(s)) => {
            let sv = s.j.verdict;
            match (original, sv) {
                (Some(o), Some(v)) if o == v => spans.push(
                    Span::raw(format!("{o} as shown, {v} swapped · consistent")).fg(Color::Green),
                ),
                (Some(o), Some(v)) => spans.push(
                    Span::raw(format!("{o} as shown, {v} swapped · position bias"))
                        .fg(Color::Red)
                        .bold(),
                ),
                (_, v) => spans.push(Span::raw(format!(
                    "{} with A and B swapped",
                    v.map_or("no verdict", Verdict::as_str)
                ))),
            }
            let r = combine(
                case.judgment
                    .as_ref()
                    .map(|j| OrderVerdict::of(&j.j))
                    .as_ref(),
                Some(&OrderVerdict::of(&s.j)),
            );
            spans.push(Span::raw(" → robust: ").bold());
            match r.verdict {
                Some(v) => spans.push(
                    Span::raw(v.as_str().to_string())
                        .bold()
                        .fg(verdict_color(v)),
                ),
                None => spans.push(Span::raw("none").fg(Color::Red)),
            }
            let how = match (r.basis, r.margin) {
                (RobustBasis::Probabilities, Some(m)) => format!(" (margin {m:.2})"),
                (basis, _) => format!(" ({})", basis.describe()),
            };
            spans.push(Span::raw(how).fg(Color::DarkGray));
        }
        (None, None) if app.both_orders => {
            spans.push(Span::raw("the swapped order follows").fg(Color::DarkGray))
        }
        (None, None) => {
            spans.push(Span::raw("swapped order not judged (s judges it)").fg(Color::DarkGray))
        }
    }
    Line::from(spans)
}

/// How far to trust this judge, from its eval run.
fn trust_line(app: &App, case: &CaseView) -> Line<'static> {
    let Some(t) = Trust::of(app, case) else {
        return Line::from(
            Span::raw("this judge: not measured; `rubricate eval` tells how far to trust it")
                .fg(Color::DarkGray),
        );
    };
    let mut spans = vec![Span::raw(format!(
        "this judge: {} on {}",
        t.accuracy
            .rate
            .map_or("–".to_string(), |r| format!("{:.0}%", r * 100.0)),
        visible_line(&t.on),
    ))];
    // The warning before the details, so a narrow screen still shows it.
    if t.at_chance() {
        spans.push(
            Span::raw(" · no better than chance")
                .fg(Color::Yellow)
                .bold(),
        );
    }
    if let Some(s) = t.swap_consistency {
        spans.push(Span::raw(format!(" · swap-consistent {:.0}%", s * 100.0)));
    }
    if let Some([lo, hi]) = t.accuracy.ci {
        spans.push(
            Span::raw(format!(
                " (n {}, 95% {:.0}–{:.0}%)",
                t.accuracy.n,
                lo * 100.0,
                hi * 100.0
            ))
            .fg(Color::DarkGray),
        );
    }
    Line::from(spans)
}

fn decision_line(app: &App, case: &CaseView) -> Line<'static> {
    let mut spans = Vec::new();
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
    if areas.judge.height == 0 {
        // Another pane is zoomed.
        return;
    }
    let job = app.visible_job();
    let title = match (job, &case.judgment) {
        (Some(j), _) => job_status(app, j),
        (None, Some(j)) => stored_status(j),
        (None, None) => "not judged".to_string(),
    };
    let focused = app.focus == Focus::Judge;
    let zoomed = if app.zoom {
        " · zoom: z / Esc back"
    } else {
        ""
    };
    f.render_widget(
        pane_block(&format!("Judge · {title}{zoomed}"), focused),
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
        f.render_widget(Paragraph::new(doc_lines(pane, text, app.highlight())), text);
    }
    let footer = areas.judge_footer();
    f.render_widget(
        Paragraph::new(vec![
            verdict_line(app, case, job),
            orders_line(app, case, job),
            trust_line(app, case),
            decision_line(app, case),
        ])
        .style(Style::new()),
        footer,
    );
}
