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
    let banner = matches!(app.model, ModelState::Unavailable(_));
    compute(Rect::new(0, 0, w, h), app.queue_visible(), banner)
}

pub fn compute(size: Rect, show_queue: bool, banner: bool) -> Areas {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(u16::from(banner)),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .split(size);
    let (status, banner_rect, main, hints) = (rows[0], rows[1], rows[2], rows[3]);
    let (queue, content) = if show_queue {
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
    let (prompt, answer_a, answer_b, judge) = if stacked {
        let v = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Percentage(16),
                Constraint::Percentage(22),
                Constraint::Percentage(22),
                Constraint::Min(JUDGE_FOOTER + 3),
            ])
            .split(content);
        (v[0], v[1], v[2], v[3])
    } else {
        let v = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Percentage(18),
                Constraint::Percentage(38),
                Constraint::Min(JUDGE_FOOTER + 3),
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
