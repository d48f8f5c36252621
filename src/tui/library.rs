//! The rubric library browser (`L`): named rubrics and their versions, a preview, a diff
//! of two versions, restore, apply to the current case or to the whole queue, save the
//! case's rubric under a name, and the rubric experiment (base vs shown version over the
//! queue). Pure state and update logic; the runtime reads and writes the store.

use super::keymap::Action;
use super::state::{App, Batch, Effect, Focus, LibraryEntry, Mode, RubricLink};
use super::update::{judge_available, new_job, own_rubric};
use crate::judge::JudgeMode;
use crate::sanitize;
use crate::store::StoredRubric;

/// What the right-hand side shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    Preview,
    /// The base against the shown version.
    Diff,
    /// The experiment report (`None` while it is computed).
    Compare(Option<Vec<String>>),
}

/// Two versions' line diff: `(mark, line)` with `-`, `+` or a space.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionDiff {
    pub from: String,
    pub to: String,
    pub lines: Vec<(char, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LibraryView {
    /// `None` until the library is read.
    pub entries: Option<Vec<LibraryEntry>>,
    /// The rubric (name) selected.
    pub sel: usize,
    /// The version shown: an index into the selected rubric's versions.
    pub version: usize,
    /// The version marked as the base of diff and compare (a rubric row id).
    pub base: Option<i64>,
    pub show: Show,
    /// The name being typed for "save the case's rubric" (`s`).
    pub naming: Option<String>,
    /// First line of the preview shown.
    pub scroll: u16,
}

impl LibraryView {
    pub fn new() -> LibraryView {
        LibraryView {
            entries: None,
            sel: 0,
            version: 0,
            base: None,
            show: Show::Preview,
            naming: None,
            scroll: 0,
        }
    }

    pub fn entry(&self) -> Option<&LibraryEntry> {
        self.entries.as_ref()?.get(self.sel)
    }

    /// The version shown.
    pub fn selected(&self) -> Option<&StoredRubric> {
        self.entry()?.versions.get(self.version)
    }

    fn find(&self, id: i64) -> Option<&StoredRubric> {
        self.entries
            .as_ref()?
            .iter()
            .flat_map(|e| e.versions.iter())
            .find(|r| r.id == id)
    }

    /// The base of diff and compare: the marked version, else the one before the shown one.
    pub fn base_rubric(&self) -> Option<&StoredRubric> {
        if let Some(r) = self.base.and_then(|id| self.find(id)) {
            return Some(r);
        }
        let e = self.entry()?;
        self.version.checked_sub(1).and_then(|i| e.versions.get(i))
    }

    /// The diff of the base against the shown version.
    pub fn diff(&self) -> Option<VersionDiff> {
        let (a, b) = (self.base_rubric()?, self.selected()?);
        Some(VersionDiff {
            from: a.label(),
            to: b.label(),
            lines: crate::library::line_diff(&a.body, &b.body),
        })
    }

    /// Put the freshly read library in, keeping the selection where it can: on `select`
    /// (a rubric row id) when given, else on the same name, else the first.
    pub fn loaded(&mut self, entries: Vec<LibraryEntry>, select: Option<i64>) {
        let keep_name = self.entry().map(|e| e.name.clone());
        let keep_version = self.selected().map(|r| r.id);
        let at = |id: i64| {
            entries
                .iter()
                .enumerate()
                .find_map(|(i, e)| e.versions.iter().position(|r| r.id == id).map(|v| (i, v)))
        };
        let (sel, version) = select
            .and_then(at)
            .or_else(|| keep_version.and_then(at))
            .or_else(|| {
                let i = entries
                    .iter()
                    .position(|e| Some(&e.name) == keep_name.as_ref())?;
                Some((i, entries[i].versions.len().saturating_sub(1)))
            })
            .unwrap_or((
                0,
                entries
                    .first()
                    .map_or(0, |e| e.versions.len().saturating_sub(1)),
            ));
        self.entries = Some(entries);
        self.sel = sel;
        self.version = version;
        if self.base.is_some_and(|id| self.find(id).is_none()) {
            self.base = None;
        }
    }

    fn select_rubric(&mut self, step: isize) {
        let n = self.entries.as_ref().map_or(0, Vec::len);
        if n == 0 {
            return;
        }
        self.sel = (self.sel as isize + step).clamp(0, n as isize - 1) as usize;
        self.version = self
            .entry()
            .map_or(0, |e| e.versions.len().saturating_sub(1));
        self.scroll = 0;
        if matches!(self.show, Show::Compare(_)) {
            self.show = Show::Preview;
        }
    }

    fn select_version(&mut self, step: isize) {
        let n = self.entry().map_or(0, |e| e.versions.len());
        if n == 0 {
            return;
        }
        self.version = (self.version as isize + step).clamp(0, n as isize - 1) as usize;
        self.scroll = 0;
        if matches!(self.show, Show::Compare(_)) {
            self.show = Show::Preview;
        }
    }
}

impl Default for LibraryView {
    fn default() -> Self {
        LibraryView::new()
    }
}

/// Open the browser and ask for the library.
pub fn open(app: &mut App, fx: &mut Vec<Effect>) {
    app.mode = Mode::Library(Box::default());
    fx.push(Effect::LoadLibrary { select: None });
}

fn view(app: &mut App) -> Option<&mut LibraryView> {
    match &mut app.mode {
        Mode::Library(v) => Some(v),
        _ => None,
    }
}

/// A key of the browser.
pub fn on_action(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    let Some(v) = view(app) else {
        return;
    };
    match action {
        Action::Close => app.mode = Mode::Review,
        Action::NextRubric => v.select_rubric(1),
        Action::PrevRubric => v.select_rubric(-1),
        Action::OlderVersion => v.select_version(-1),
        Action::NewerVersion => v.select_version(1),
        Action::PageDown => v.scroll = v.scroll.saturating_add(10),
        Action::PageUp => v.scroll = v.scroll.saturating_sub(10),
        Action::MarkBase => {
            let Some(r) = v.selected() else {
                return;
            };
            let (id, label) = (r.id, r.label());
            v.base = Some(id);
            app.info(format!(
                "{} is the base: d diffs and c compares it with the version shown",
                sanitize::visible_line(&label)
            ));
        }
        Action::Diff => {
            if v.show == Show::Diff {
                v.show = Show::Preview;
            } else if v.base_rubric().is_some() {
                v.show = Show::Diff;
                v.scroll = 0;
            } else {
                app.info(
                    "nothing to diff with: this is version 1 (m marks another version as the base)",
                );
            }
        }
        Action::Compare => compare(app, fx),
        Action::Restore => {
            let Some(r) = v.selected() else {
                return;
            };
            let latest = v.entry().and_then(|e| e.versions.last()).map(|l| l.id);
            if latest == Some(r.id) {
                app.info("this is already the newest version");
            } else {
                fx.push(Effect::RestoreRubric { id: r.id });
            }
        }
        Action::ApplyHere => apply_here(app, fx),
        Action::ApplyQueue => apply_queue(app, fx),
        Action::SaveAs => {
            let name = v.entry().map(|e| e.name.clone()).unwrap_or_default();
            if app.case.is_none() {
                app.info("no case is open: its rubric is what s saves");
            } else if let Some(v) = view(app) {
                v.naming = Some(name);
            }
        }
        _ => {}
    }
}

/// A key while the name for `s` is typed.
pub fn on_name_key(
    app: &mut App,
    action: Option<Action>,
    typed: Option<char>,
    backspace: bool,
    fx: &mut Vec<Effect>,
) {
    let Some(v) = view(app) else {
        return;
    };
    let Some(name) = v.naming.as_mut() else {
        return;
    };
    match action {
        Some(Action::Keep) => {
            let name = name.trim().to_string();
            v.naming = None;
            save_named(app, name, fx);
        }
        Some(Action::Discard) => v.naming = None,
        _ if backspace => {
            name.pop();
        }
        _ => {
            if let Some(c) = typed.filter(|c| !c.is_control()) {
                name.push(c);
            }
        }
    }
}

/// Save the current case's rubric (the reviewer's own, else the model's shown) as `name`.
fn save_named(app: &mut App, name: String, fx: &mut Vec<Effect>) {
    if let Err(e) = crate::store::check_rubric_name(&name) {
        app.warn(format!("{e}"));
        return;
    }
    let Some(c) = app.case.as_ref() else {
        return;
    };
    let id = c.case.id;
    let body = own_rubric(app, id).or_else(|| {
        c.judgment
            .as_ref()
            .and_then(|j| j.j.rubric.clone())
            .filter(|r| !r.trim().is_empty())
    });
    match body {
        Some(body) => fx.push(Effect::SaveLibraryRubric {
            name,
            body,
            case_id: Some(id),
        }),
        None => app.warn("this case has no rubric yet: e writes one (or g judges the case)"),
    }
}

fn apply_here(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(r) = view(app).and_then(|v| v.selected().cloned()) else {
        return;
    };
    let Some(case_id) = app.case.as_ref().map(|c| c.case.id) else {
        app.info("no case is open");
        return;
    };
    if !judge_available(app) {
        return;
    }
    app.mode = Mode::Review;
    app.focus = Focus::Judge;
    app.no_auto.retain(|&c| c != case_id);
    start_library_job(app, (case_id, false), &r.label(), r.id, &r.body, false, fx);
}

/// Start a rubric-given job whose judgment records library rubric `id`.
pub fn start_library_job(
    app: &mut App,
    (case_id, swapped): (i64, bool),
    label: &str,
    id: i64,
    body: &str,
    batch: bool,
    fx: &mut Vec<Effect>,
) {
    new_job(
        app,
        case_id,
        JudgeMode::RubricGiven(body.to_string()),
        swapped,
        fx,
    );
    if let Some(j) = app.job.as_mut() {
        j.rubric = Some(RubricLink::Id(id));
        j.batch = batch;
        let mut doc = super::text::Doc::new();
        doc.push_heading(&format!(
            "Rubric · {} from the library",
            sanitize::visible_line(label)
        ));
        doc.push(body);
        j.pane.doc = doc;
    }
}

fn apply_queue(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(r) = view(app).and_then(|v| v.selected().cloned()) else {
        return;
    };
    if app.queue.is_empty() {
        app.info("the queue is empty");
        return;
    }
    if !judge_available(app) {
        return;
    }
    let case_ids: Vec<i64> = app.queue.iter().map(|q| q.id).collect();
    fx.push(Effect::PlanBatch {
        rubric_id: r.id,
        case_ids,
        both_orders: app.both_orders,
    });
}

/// The runtime left out the cases already judged with the version: start the batch.
pub fn batch_planned(app: &mut App, batch: Batch) {
    let label = sanitize::visible_line(&batch.label);
    if batch.todo.is_empty() {
        app.info(format!(
            "every case in the queue is already judged with {label}; c compares versions"
        ));
        return;
    }
    let swapped = batch.todo.iter().filter(|(_, s)| *s).count();
    app.info(format!(
        "judging {} judgment(s) with {label} while you work{}; the status bar counts them",
        batch.todo.len(),
        if swapped > 0 {
            format!(" ({swapped} of them with A and B exchanged: both orders is on)")
        } else {
            String::new()
        }
    ));
    app.batch = Some(batch);
}

fn compare(app: &mut App, fx: &mut Vec<Effect>) {
    let case_ids: Vec<i64> = app.queue.iter().map(|q| q.id).collect();
    let Some(v) = view(app) else {
        return;
    };
    let (Some(base), Some(shown)) = (v.base_rubric(), v.selected()) else {
        app.info(
            "nothing to compare with: this is version 1 (m marks another version as the base)",
        );
        return;
    };
    if base.id == shown.id {
        app.info("the base is the version shown: pick another version with [ / ]");
        return;
    }
    let arms = [base.id, shown.id];
    v.show = Show::Compare(None);
    v.scroll = 0;
    fx.push(Effect::CompareRubrics { arms, case_ids });
}

/// Start the next batch job when the worker is free. Returns whether one started.
pub fn schedule_batch(app: &mut App, fx: &mut Vec<Effect>) -> bool {
    if app.job.is_some() || !app.model_ready() {
        return false;
    }
    let Some(b) = app.batch.as_mut() else {
        return false;
    };
    let Some(job) = b.todo.pop_front() else {
        app.batch = None;
        return false;
    };
    let (label, id, body) = (b.label.clone(), b.rubric_id, b.body.clone());
    if b.todo.is_empty() {
        let total = b.total;
        app.batch = None;
        app.info(format!(
            "last of {total} judgment(s) with {} is running; L then c compares versions",
            sanitize::visible_line(&label)
        ));
    }
    start_library_job(app, job, &label, id, &body, true, fx);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubric(id: i64, name: &str, version: i64, body: &str) -> StoredRubric {
        StoredRubric {
            id,
            name: name.into(),
            version,
            body: body.into(),
            case_id: None,
            author: None,
            note: None,
            created_at: "2026-01-01 00:00:00".into(),
        }
    }

    fn entries() -> Vec<LibraryEntry> {
        vec![
            LibraryEntry {
                name: "math".into(),
                judgments: 0,
                versions: vec![rubric(1, "math", 1, "1. exact")],
            },
            LibraryEntry {
                name: "safety".into(),
                judgments: 3,
                versions: vec![
                    rubric(2, "safety", 1, "1. no harm"),
                    rubric(3, "safety", 2, "1. no harm\n2. cite"),
                    rubric(4, "safety", 3, "1. cite"),
                ],
            },
        ]
    }

    #[test]
    fn selection_moves_and_survives_a_reload() {
        let mut v = LibraryView::new();
        v.loaded(entries(), None);
        assert_eq!(v.selected().unwrap().id, 1);
        v.select_rubric(1);
        assert_eq!(v.selected().unwrap().label(), "safety@3", "newest first");
        v.select_version(-1);
        v.select_version(-1);
        v.select_version(-1);
        assert_eq!(v.selected().unwrap().label(), "safety@1", "clamped");
        // Reloaded (after a restore): the shown row stays shown.
        v.loaded(entries(), None);
        assert_eq!(v.selected().unwrap().id, 2);
        v.loaded(entries(), Some(4));
        assert_eq!(v.selected().unwrap().id, 4);
        v.select_rubric(5);
        assert_eq!(v.sel, 1);
    }

    #[test]
    fn diff_base_is_the_mark_else_the_version_before() {
        let mut v = LibraryView::new();
        v.loaded(entries(), Some(4));
        let d = v.diff().unwrap();
        let lines = d.lines;
        assert_eq!((d.from.as_str(), d.to.as_str()), ("safety@2", "safety@3"));
        assert_eq!(
            lines,
            crate::library::line_diff("1. no harm\n2. cite", "1. cite")
        );
        assert!(lines.contains(&('-', "1. no harm".to_string())));
        v.base = Some(1);
        assert_eq!(v.diff().unwrap().from, "math@1");
        v.select_version(-2);
        v.base = None;
        assert!(v.diff().is_none(), "version 1 has nothing before it");
    }
}
