//! Where each pane goes for a terminal size. Pure, so the update (page sizes, mouse
//! clicks) and the drawing agree on the same rectangles.

use super::state::{App, Focus, ModelState};
use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// Below this many columns for the case area, A and B are stacked instead of side by side.
pub const SIDE_BY_SIDE_MIN: u16 = 80;
/// Lines at the bottom of the judge pane: verdict and confidence, both orders and the
/// position-robust verdict, the judge's measured accuracy, the reviewer's decision.
pub const JUDGE_FOOTER: u16 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub status: Rect,
    pub banner: Option<Rect>,
    pub queue: Option<Rect>,
    pub prompt: Rect,
    pub answer_a: Rect,
    pub answer_b: Rect,
    pub judge: Rect,
    pub hints: Rect,
    /// The whole area below the status bar and above the hints.
    pub main: Rect,
    pub stacked: bool,
}

impl Areas {
    pub fn pane(&self, focus: Focus) -> Option<Rect> {
        match focus {
            Focus::Queue => self.queue,
            Focus::Prompt => Some(self.prompt),
            Focus::AnswerA => Some(self.answer_a),
            Focus::AnswerB => Some(self.answer_b),
            Focus::Judge => Some(self.judge),
        }
    }

    /// The scrollable text inside a pane (inside the border, above the judge footer).
    pub fn text(&self, focus: Focus) -> Rect {
        let Some(r) = self.pane(focus) else {
            return Rect::default();
        };
        let inner = inner(r);
        if focus == Focus::Judge {
            Rect {
                height: inner.height.saturating_sub(JUDGE_FOOTER),
                ..inner
            }
        } else {
            inner
        }
    }

    pub fn judge_footer(&self) -> Rect {
        let inner = inner(self.judge);
        let h = JUDGE_FOOTER.min(inner.height);
        Rect {
            y: inner.y + inner.height - h,
            height: h,
            ..inner
        }
    }

    /// The pane under a screen cell.
    pub fn hit(&self, col: u16, row: u16) -> Option<Focus> {
        Focus::ALL.into_iter().find(|f| {
            self.pane(*f)
                .is_some_and(|r| r.contains(ratatui::layout::Position { x: col, y: row }))
        })
    }
}

/// Inside a one-cell border.
pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

pub fn areas(app: &App) -> Areas {
    let (w, h) = app.size;
    areas_in(Rect::new(0, 0, w, h), app)
}

/// The panes of the workbench in `size`, sized to what the case on screen holds.
pub fn areas_in(size: Rect, app: &App) -> Areas {
    let banner = matches!(app.model, ModelState::Unavailable(_));
    let zoom = app.zoom.then_some(app.focus).filter(|f| *f != Focus::Queue);
    compute_sized(size, app.queue_visible(), banner, zoom, |focus, width| {
        wanted_rows(app, focus, width)
    })
}

/// Text rows a pane would fill at `width` columns (`None`: as many as it can get, for a
/// judge pane that is about to stream). Capped: a pane never needs more than a screen.
fn wanted_rows(app: &App, focus: Focus, width: u16) -> Option<usize> {
    const CAP: usize = 400;
    let case = app.case.as_ref()?;
    let pane = match focus {
        Focus::Queue => return None,
        Focus::Prompt => &case.prompt,
        Focus::AnswerA => &case.answer_a,
        Focus::AnswerB => &case.answer_b,
        Focus::Judge => {
            let id = case.case.id;
            if app.visible_job().is_some_and(|j| !j.swapped) {
                return None;
            }
            let judged = case.judgment.is_some();
            let failed = case.failed.is_some() || app.no_auto.contains(&id);
            if app.model_ready() && !judged && !failed {
                // Judging starts on its own: keep the room it will stream into, so the
                // answers do not jump when the first token arrives.
                return None;
            }
            if case.judge.doc.is_empty() {
                // The placeholder (why there is no judgment) is a short paragraph.
                let words = match &app.model {
                    ModelState::Unavailable(why) => 90 + why.chars().count(),
                    _ => 60,
                };
                return Some(2 + words / usize::from(width.max(20)));
            }
            if app.reasoning_hidden(id) {
                return Some(2);
            }
            &case.judge
        }
    };
    Some(pane.doc.rows_upto(width, CAP))
}

/// Split `total` rows among panes: each gets its minimum, then the rest is shared by
/// weight, a pane never getting more than it wants (`None`: no limit); rows nobody
/// wants go to `sink`.
pub fn share(total: u16, panes: &[(Option<u16>, u16, u16)], sink: usize) -> Vec<u16> {
    let n = panes.len();
    let mut alloc = vec![0u16; n];
    let mut left = total;
    for (i, &(want, min, _)) in panes.iter().enumerate() {
        let m = min.min(want.unwrap_or(u16::MAX)).min(left);
        alloc[i] = m;
        left -= m;
    }
    let mut active: Vec<usize> = (0..n)
        .filter(|&i| panes[i].0.is_none_or(|w| w > alloc[i]))
        .collect();
    while left > 0 && !active.is_empty() {
        let weights: u32 = active.iter().map(|&i| u32::from(panes[i].2.max(1))).sum();
        let fair = |i: usize| (u32::from(left) * u32::from(panes[i].2.max(1)) / weights) as u16;
        let satisfied: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&i| panes[i].0.is_some_and(|w| w - alloc[i] <= fair(i)))
            .collect();
        if !satisfied.is_empty() {
            for &i in &satisfied {
                let need = panes[i].0.unwrap_or(0) - alloc[i];
                alloc[i] += need;
                left -= need;
            }
            active.retain(|i| !satisfied.contains(i));
            continue;
        }
        let shares: Vec<u16> = active.iter().map(|&i| fair(i)).collect();
        for (k, &i) in active.iter().enumerate() {
            alloc[i] += shares[k];
            left -= shares[k];
        }
        // Rounding leftovers, one row each, heaviest first.
        let mut by_weight = active.clone();
        by_weight.sort_by_key(|&i| std::cmp::Reverse(panes[i].2));
        for &i in by_weight.iter().cycle().take(usize::from(left)) {
            alloc[i] += 1;
        }
        left = 0;
    }
    if left > 0 && sink < n {
        alloc[sink] += left;
    }
    alloc
}

/// The layout for `size`; `rows(pane, width)` says how many text rows a pane would fill
/// at that width (`None`: as many as it can get). A short prompt gives its rows to the
/// answers; a judge pane with nothing to stream keeps only what it shows. With `zoom`,
/// that pane takes the whole area below the status bar.
pub fn compute_sized(
    size: Rect,
    show_queue: bool,
    banner: bool,
    zoom: Option<Focus>,
    rows: impl Fn(Focus, u16) -> Option<usize>,
) -> Areas {
    let rows_for = |f: Focus, width: u16, extra: u16| {
        rows(f, width.saturating_sub(2)).map(|r| (r.min(2000) as u16).saturating_add(2 + extra))
    };
    let v = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(u16::from(banner)),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .split(size);
    let (status, banner_rect, main, hints) = (v[0], v[1], v[2], v[3]);
    let (queue, content) = if show_queue && zoom.is_none() {
        let qw = (main.width / 5).clamp(24, 36).min(main.width / 2);
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Length(qw), Constraint::Min(0)])
            .split(main);
        (Some(cols[0]), cols[1])
    } else {
        (None, main)
    };
    let stacked = content.width < SIDE_BY_SIDE_MIN;
    if let Some(z) = zoom {
        let none = Rect {
            height: 0,
            width: 0,
            ..content
        };
        let pick = |f: Focus| if f == z { content } else { none };
        return Areas {
            status,
            banner: banner.then_some(banner_rect),
            queue,
            prompt: pick(Focus::Prompt),
            answer_a: pick(Focus::AnswerA),
            answer_b: pick(Focus::AnswerB),
            judge: pick(Focus::Judge),
            hints,
            main,
            stacked,
        };
    }
    let judge_min = JUDGE_FOOTER + 3;
    let prompt_want = rows_for(Focus::Prompt, content.width, 0);
    // Two text rows at least: a role line and the start of what it says.
    let prompt_min = prompt_want.unwrap_or(4).min(4);
    let judge_want = rows_for(Focus::Judge, content.width, JUDGE_FOOTER);
    let (prompt, answer_a, answer_b, judge) = if stacked {
        let a_want = rows_for(Focus::AnswerA, content.width, 0);
        let b_want = rows_for(Focus::AnswerB, content.width, 0);
        let h = share(
            content.height,
            &[
                (prompt_want, prompt_min, 1),
                (a_want, 3, 2),
                (b_want, 3, 2),
                (judge_want, judge_min, 2),
            ],
            1,
        );
        let v = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Length(h[0]),
                Constraint::Length(h[1]),
                Constraint::Length(h[2]),
                Constraint::Min(0),
            ])
            .split(content);
        (v[0], v[1], v[2], v[3])
    } else {
        let half = content.width / 2;
        let a_want = rows_for(Focus::AnswerA, half, 0);
        let b_want = rows_for(Focus::AnswerB, content.width - half, 0);
        let ab_want = match (a_want, b_want) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        let h = share(
            content.height,
            &[
                (prompt_want, prompt_min, 1),
                (ab_want, 3, 3),
                (judge_want, judge_min, 2),
            ],
            1,
        );
        let v = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Length(h[0]),
                Constraint::Length(h[1]),
                Constraint::Min(0),
            ])
            .split(content);
        let ab = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(v[1]);
        (v[0], ab[0], ab[1], v[2])
    };
    Areas {
        status,
        banner: banner.then_some(banner_rect),
        queue,
        prompt,
        answer_a,
        answer_b,
        judge,
        hints,
        main,
        stacked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_gives_short_panes_what_they_want_and_the_rest_by_weight() {
        // Everything fits: each gets its want, the sink takes the rest.
        assert_eq!(
            share(30, &[(Some(4), 4, 1), (Some(6), 3, 3), (Some(8), 7, 2)], 1),
            vec![4, 18, 8]
        );
        // A long prompt and long answers: the prompt gets a weighted share only.
        let h = share(22, &[(Some(40), 4, 1), (Some(40), 3, 3), (None, 7, 2)], 1);
        assert_eq!(h.iter().sum::<u16>(), 22);
        assert!(h[1] > h[0], "{h:?}");
        assert!(h[0] >= 4 && h[2] >= 7, "{h:?}");
        // A judge with little to show keeps little.
        let h = share(22, &[(Some(4), 4, 1), (Some(40), 3, 3), (Some(9), 7, 2)], 1);
        assert_eq!(h, vec![4, 9, 9]);
        // Too small for the minimums: what there is, in order.
        assert_eq!(
            share(6, &[(Some(9), 4, 1), (Some(9), 3, 3), (None, 7, 2)], 1),
            vec![4, 2, 0]
        );
        // A pane that wants less than its minimum gets only what it wants.
        assert_eq!(share(20, &[(Some(3), 4, 1), (None, 3, 3)], 1), vec![3, 17]);
    }
}
