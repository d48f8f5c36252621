//! The queue narrowing picker (`T`): the collections, flag reasons, sources and
//! categories there are, each with its number of cases; Enter narrows the queue to the
//! one selected (or lifts it when it is the one in force), `X` lifts them all. Pure
//! state and update logic; the runtime lists the options and reloads the queue.

use super::keymap::Action;
use super::state::{App, Effect, Mode, NarrowKind, NarrowOption};
use crate::sanitize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrowPicker {
    /// `None` until the runtime has listed them.
    pub options: Option<Vec<NarrowOption>>,
    pub sel: usize,
}

impl NarrowPicker {
    pub fn selected(&self) -> Option<&NarrowOption> {
        self.options.as_ref()?.get(self.sel)
    }

    /// The options arrive: the selection starts on the first narrowing in force, so
    /// Enter lifts it at once, else on the first option.
    pub fn loaded(
        &mut self,
        options: Vec<NarrowOption>,
        app_narrow: &super::state::QueueNarrowing,
    ) {
        self.sel = options
            .iter()
            .position(|o| app_narrow.get(o.kind) == Some(&o.value))
            .unwrap_or(0);
        self.options = Some(options);
    }

    fn step(&mut self, by: isize) {
        let n = self.options.as_ref().map_or(0, Vec::len);
        if n > 0 {
            self.sel = (self.sel as isize + by).clamp(0, n as isize - 1) as usize;
        }
    }
}

/// `T`: open the picker and ask the runtime what there is.
pub fn open(app: &mut App, fx: &mut Vec<Effect>) {
    app.mode = Mode::Narrow(Box::new(NarrowPicker {
        options: None,
        sel: 0,
    }));
    fx.push(Effect::LoadNarrowOptions);
    app.dirty = true;
}

/// `X` (in the queue or the picker): lift every narrowing.
pub fn clear(app: &mut App, fx: &mut Vec<Effect>) {
    if app.narrow.is_empty() {
        app.info("the queue is not narrowed (T narrows it)");
        return;
    }
    app.narrow = Default::default();
    app.info(format!(
        "narrowing lifted: the {} queue",
        app.filter.as_str()
    ));
    fx.push(app.load_queue(app.current_id()));
    app.dirty = true;
}

/// Narrow by one option, replacing another of its kind; the one in force is lifted instead.
pub fn choose(app: &mut App, option: &NarrowOption, fx: &mut Vec<Effect>) {
    let slot = app.narrow.slot(option.kind);
    if slot.as_ref() == Some(&option.value) {
        *slot = None;
        app.info(format!("{}: any", option.kind.label()));
    } else {
        *slot = Some(option.value.clone());
        app.info(format!(
            "{}: {} ({} case(s) before the {} filter; X lifts every narrowing)",
            option.kind.label(),
            sanitize::visible_line(&option.value),
            option.cases,
            app.filter.as_str()
        ));
    }
    fx.push(app.load_queue(app.current_id()));
    app.dirty = true;
}

pub fn on_action(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    let Mode::Narrow(p) = &mut app.mode else {
        return;
    };
    match action {
        Action::NextCase => p.step(1),
        Action::PrevCase => p.step(-1),
        Action::PageDown => p.step(10),
        Action::PageUp => p.step(-10),
        Action::Keep => {
            let Some(option) = p.selected().cloned() else {
                app.info(
                    "nothing to narrow by: no collection, flag reason, source or category yet",
                );
                return;
            };
            app.mode = Mode::Review;
            choose(app, &option, fx);
        }
        Action::ClearNarrowing => {
            app.mode = Mode::Review;
            clear(app, fx);
        }
        Action::Close => app.mode = Mode::Review,
        _ => return,
    }
    app.dirty = true;
}

/// What the status bar and the queue title say about the narrowing in force.
pub fn describe(narrow: &super::state::QueueNarrowing) -> Option<String> {
    let parts: Vec<String> = narrow
        .parts()
        .into_iter()
        .map(|(kind, value)| {
            let value = sanitize::visible_line(value);
            match kind {
                // A flag reason narrows by containing the text.
                NarrowKind::FlagReason => format!("flag ~{value}"),
                _ => format!("{} {value}", kind.label()),
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}
