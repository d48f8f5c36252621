//! The pure heart of the workbench: a message comes in, the state changes, and the
//! effects the runtime must carry out come back. No I/O happens here.

use super::fold;
use super::keymap::{self, Action, KeyMode};
use super::layout;
use super::state::*;
use super::text::{Doc, Pos};
use crate::domain::{Judgment, NewReview, ReasoningApproval, ReviewAction, Verdict};
use crate::judge::{Event, JobId, JudgeMode, Section};
use crate::sanitize;
use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use std::collections::HashSet;
use tui_textarea::TextArea;

/// Rows one wheel notch scrolls.
const WHEEL_ROWS: usize = 3;

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Tick => on_tick(app),
        Msg::Resize(w, h) => {
            app.size = (w, h);
            app.dirty = true;
        }
        Msg::Key(key) => {
            if key.kind != KeyEventKind::Release {
                app.keys_seen += 1;
                on_key(app, key, &mut fx);
                app.dirty = true;
            }
        }
        Msg::Paste(text) => {
            // Input like a key: drawn in the next frame.
            app.keys_seen += 1;
            on_paste(app, &text);
            app.dirty = true;
        }
        Msg::Mouse(m) => on_mouse(app, m, &mut fx),
        Msg::Judge(ev) => on_judge(app, ev, &mut fx),
        Msg::QueueLoaded {
            items,
            total_cases,
            keep,
        } => {
            on_queue(app, items, total_cases, keep, &mut fx);
            fx.push(Effect::LoadProgress);
        }
        Msg::CaseLoaded(loaded) => on_case(app, *loaded),
        Msg::JudgmentStored(j) => on_stored(app, *j),
        Msg::ReviewSaved {
            case_id,
            action,
            state,
        } => {
            if action.is_decision() {
                fx.push(Effect::LoadProgress);
            }
            on_review_saved(app, case_id, action, state)
        }
        Msg::Undone {
            case_id,
            undid,
            state,
        } => {
            fx.push(Effect::LoadProgress);
            settle(app, case_id);
            set_review_state(app, case_id, state);
            match undid {
                Some(a) => app.info(format!(
                    "undone on case {case_id}: {} (a revert row was added)",
                    a.as_str()
                )),
                None => app.warn(format!("nothing to undo on case {case_id}")),
            }
            app.dirty = true;
        }
        Msg::WriteWaiting { case_id, what } => {
            for p in app.pending.iter_mut() {
                p.waiting = true;
            }
            let n = app.pending.len();
            let whose = case_id.map_or(String::new(), |c| format!(" (case {c} first)"));
            app.warn(format!(
                "the database is busy (another program is writing): {what} waits{whose}; \
                 {n} change(s) queued, retrying — keep working"
            ));
            app.dirty = true;
        }
        Msg::WriteFailed {
            case_id,
            review,
            what,
            error,
        } => {
            if review && let Some(c) = case_id {
                settle(app, c);
                if let Some(at) = app.history.iter().rposition(|&h| h == c) {
                    app.history.remove(at);
                }
                // The optimistic marks may be wrong now: read the queue again.
                fx.push(app.load_queue(app.current_id()));
            }
            let on = case_id.map_or(String::new(), |c| format!(" on case {c}"));
            app.error(format!(
                "NOT saved: {what}{on}: {}; do it again",
                sanitize::visible_line(&error)
            ));
            app.dirty = true;
        }
        Msg::RubricSaved { name, version } => {
            app.info(format!(
                "rubric kept as {} v{version}; R re-judges with it, a/1-4 decide",
                sanitize::visible_line(&name)
            ));
            app.dirty = true;
        }
        Msg::Curated {
            case_id,
            text,
            reload,
        } => {
            app.info(text);
            if reload && app.current_id() == Some(case_id) {
                fx.push(Effect::LoadCase(case_id));
            }
            app.dirty = true;
        }
        Msg::Imported(summary) => {
            app.importing = false;
            app.info(summary);
            fx.push(app.load_queue(None));
            app.dirty = true;
        }
        Msg::Categories(list) => {
            on_categories(app, list, &mut fx);
        }
        Msg::NarrowOptions(options) => {
            if let Mode::Narrow(p) = &mut app.mode {
                p.loaded(options, &app.narrow);
            }
            app.dirty = true;
        }
        Msg::JudgeEvalLoaded(eval) => {
            app.judge_eval = eval.map(|e| *e);
            app.dirty = true;
        }
        Msg::LibraryLoaded { entries, select } => {
            if let Mode::Library(v) = &mut app.mode {
                v.loaded(entries, select);
            }
            app.dirty = true;
        }
        Msg::LibrarySaved(r) => {
            app.info(format!(
                "saved {} in the rubric library",
                sanitize::visible_line(&r.label())
            ));
            if matches!(app.mode, Mode::Library(_)) {
                fx.push(Effect::LoadLibrary { select: Some(r.id) });
            }
            app.dirty = true;
        }
        Msg::ExperimentLoaded(lines) => {
            if let Mode::Library(v) = &mut app.mode
                && v.show == super::library::Show::Compare(None)
            {
                v.show = super::library::Show::Compare(Some(lines));
            }
            app.dirty = true;
        }
        Msg::BatchPlanned(batch) => {
            super::library::batch_planned(app, *batch);
            app.dirty = true;
        }
        Msg::StatsLoaded(view) => {
            app.stats = Some(*view);
            app.dirty = true;
        }
        Msg::SearchResult { query, matches } => {
            app.matches = matches;
            if app.matches.is_empty() {
                app.warn(format!(
                    "no case contains \"{}\"",
                    sanitize::visible_line(&query)
                ));
            } else {
                jump_to_match(app, true, &mut fx);
            }
            app.dirty = true;
        }
        Msg::CaseFound { query, id } => {
            match id {
                Some(id) => go_to_case(app, id, &mut fx),
                None => app.warn(format!(
                    "no case has the number or source id \"{}\"",
                    sanitize::visible_line(&query)
                )),
            }
            app.dirty = true;
        }
        Msg::Progress { done, total } => {
            app.progress = Some((done, total));
            app.dirty = true;
        }
        Msg::Error(e) => {
            app.importing = false;
            app.error(e);
            app.dirty = true;
        }
        Msg::Terminate => quit(app, &mut fx),
    }
    if !app.quit {
        schedule(app, &mut fx);
    }
    fx
}

fn on_tick(app: &mut App) {
    if let Some(m) = &app.message
        && app.now.duration_since(m.at) >= MESSAGE_TTL
    {
        app.message = None;
        app.dirty = true;
    }
    // The tokens/s figure moves even between tokens.
    if app.visible_job().is_some_and(|j| j.started.is_some()) {
        app.dirty = true;
    }
}

fn quit(app: &mut App, fx: &mut Vec<Effect>) {
    for job in app.job.take().into_iter().chain(app.background.take()) {
        fx.push(Effect::Cancel(job.id));
    }
    app.quit = true;
    fx.push(Effect::Quit);
}

// ---------------------------------------------------------------------------------
// Keys

fn key_mode(app: &App) -> KeyMode {
    match app.mode {
        Mode::Review => KeyMode::Review,
        Mode::Edit(_) => KeyMode::Editor,
        Mode::Search(_) => KeyMode::Search,
        Mode::Jump(_) => KeyMode::Jump,
        Mode::Help => KeyMode::Help,
        Mode::Stats => KeyMode::Stats,
        Mode::Library(ref v) if v.naming.is_some() => KeyMode::LibraryName,
        Mode::Library(_) => KeyMode::Library,
        Mode::Narrow(_) => KeyMode::Narrow,
        Mode::ConfirmQuit => KeyMode::ConfirmQuit,
    }
}

fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    let action = keymap::action(key_mode(app), &key);
    match &mut app.mode {
        Mode::Edit(editor) => {
            match action {
                Some(Action::Keep) => keep_edit(app, fx),
                Some(Action::Discard) => {
                    app.mode = Mode::Review;
                    app.info("edit discarded");
                }
                _ => {
                    editor.area.input(key);
                }
            }
            return;
        }
        Mode::Search(query) => {
            match action {
                Some(Action::Keep) => {
                    let q = query.trim().to_string();
                    app.mode = Mode::Review;
                    if !q.is_empty() {
                        app.last_search = Some(q.clone());
                        fx.push(Effect::Search { query: q });
                    }
                }
                Some(Action::Discard) => app.mode = Mode::Review,
                Some(Action::ClearInput) => query.clear(),
                _ => line_input(query, &key),
            }
            return;
        }
        Mode::Jump(query) => {
            match action {
                Some(Action::Keep) => {
                    let q = query.trim().to_string();
                    app.mode = Mode::Review;
                    if !q.is_empty() {
                        fx.push(Effect::FindCase { query: q });
                    }
                }
                Some(Action::Discard) => app.mode = Mode::Review,
                Some(Action::ClearInput) => query.clear(),
                _ => line_input(query, &key),
            }
            return;
        }
        Mode::Library(v) if v.naming.is_some() => {
            let typed = match key.code {
                crossterm::event::KeyCode::Char(c) => Some(c),
                _ => None,
            };
            let backspace = key.code == crossterm::event::KeyCode::Backspace;
            super::library::on_name_key(app, action, typed, backspace, fx);
            return;
        }
        _ => {}
    }
    match action {
        Some(action) => on_action(app, action, fx),
        None if matches!(app.mode, Mode::Review)
            && key
                .modifiers
                .contains(crossterm::event::KeyModifiers::CONTROL)
            && key.code == crossterm::event::KeyCode::Char('c') =>
        {
            app.info("q quits (it asks first when an edit is unsaved)");
        }
        None => {}
    }
}

/// A paste arrives as one piece, so a long one costs one update and the key after it is
/// not held back. Terminals send line breaks in pastes as CR.
fn on_paste(app: &mut App, text: &str) {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    match &mut app.mode {
        Mode::Edit(editor) => {
            editor.area.insert_str(editor_form(&text));
        }
        Mode::Search(line) | Mode::Jump(line) => {
            line.push_str(text.trim_end_matches('\n').replace('\n', " ").as_str())
        }
        _ => app.info("a paste goes into the search (/), go to case (:) and the editors"),
    }
}

/// Typing into a one-line prompt (search, go to case).
fn line_input(line: &mut String, key: &KeyEvent) {
    use crossterm::event::{KeyCode, KeyModifiers};
    match key.code {
        KeyCode::Backspace => {
            line.pop();
        }
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            line.push(c)
        }
        _ => {}
    }
}

/// Open a case found by number or source id: in the queue if it is there, else the
/// filter widens to all cases (saying so) and the queue reloads on it.
fn go_to_case(app: &mut App, id: i64, fx: &mut Vec<Effect>) {
    if let Some(i) = app.queue.iter().position(|q| q.id == id) {
        app.info(format!("case {id}"));
        if i != app.cursor || app.case.as_ref().is_none_or(|c| c.case.id != id) {
            select(app, i, fx);
        }
        return;
    }
    let was = app.filter;
    app.filter = crate::store::CaseFilter::All;
    // The case may be outside the category or collection too: those go as well.
    let narrowed = app.narrow != QueueNarrowing::default();
    app.narrow = QueueNarrowing::default();
    app.info(format!(
        "case {id} is not in the {} queue: filter is now all{}",
        was.as_str(),
        if narrowed {
            ", with no collection, category, flag reason or source narrowing"
        } else {
            ""
        }
    ));
    fx.push(app.load_queue(Some(id)));
}

fn on_action(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    match app.mode {
        Mode::Help => {
            match action {
                Action::Close => app.mode = Mode::Review,
                Action::ToggleQueue => {
                    app.show_queue = Some(!app.queue_visible());
                    fx.push(Effect::SaveSettings(app.workbench_config()));
                }
                Action::ToggleAdvance => {
                    app.auto_advance = !app.auto_advance;
                    fx.push(Effect::SaveSettings(app.workbench_config()));
                }
                Action::ToggleBlind => {
                    app.blind = !app.blind;
                    refresh_judge_doc(app);
                    fx.push(Effect::SaveSettings(app.workbench_config()));
                }
                Action::ToggleBlindReasoning => {
                    app.blind_reasoning = !app.blind_reasoning;
                    fx.push(Effect::SaveSettings(app.workbench_config()));
                }
                Action::ToggleBothOrders => {
                    app.both_orders = !app.both_orders;
                    app.both_orders_changed = true;
                    app.info(if app.both_orders {
                        "both orders: every case is also judged with A and B exchanged"
                    } else {
                        "both orders: off (s still checks one case)"
                    });
                    fx.push(Effect::SaveSettings(app.workbench_config()));
                }
                Action::ScrollDown => app.help_scroll = app.help_scroll.saturating_add(1),
                Action::ScrollUp => app.help_scroll = app.help_scroll.saturating_sub(1),
                Action::PageDown => app.help_scroll = app.help_scroll.saturating_add(10),
                Action::PageUp => app.help_scroll = app.help_scroll.saturating_sub(10),
                _ => {}
            }
            return;
        }
        Mode::Stats => {
            if action == Action::Close {
                app.mode = Mode::Review;
            }
            return;
        }
        Mode::Library(_) => {
            super::library::on_action(app, action, fx);
            return;
        }
        Mode::Narrow(_) => {
            super::narrow::on_action(app, action, fx);
            return;
        }
        Mode::ConfirmQuit => {
            match action {
                Action::Yes => quit(app, fx),
                Action::No => app.mode = Mode::Review,
                _ => {}
            }
            return;
        }
        _ => {}
    }
    match action {
        Action::Quit => {
            if app.has_unsaved_edits() || !app.pending.is_empty() {
                app.mode = Mode::ConfirmQuit;
            } else {
                quit(app, fx);
            }
        }
        Action::Help => {
            app.mode = Mode::Help;
            app.help_scroll = 0;
        }
        Action::Library => super::library::open(app, fx),
        Action::Stats => {
            app.mode = Mode::Stats;
            app.stats = None;
            fx.push(Effect::LoadStats);
        }
        Action::CycleFilter => {
            app.filter = app.filter.next();
            app.info(format!("filter: {}", app.filter.as_str()));
            fx.push(app.load_queue(app.current_id()));
        }
        Action::CycleCategory => fx.push(Effect::LoadCategories {
            source: app.narrow.source.clone(),
        }),
        Action::Narrow => super::narrow::open(app, fx),
        Action::ClearNarrowing => super::narrow::clear(app, fx),
        // The last query is offered again (Ctrl-U clears it).
        Action::Search => app.mode = Mode::Search(app.last_search.clone().unwrap_or_default()),
        Action::GoTo => app.mode = Mode::Jump(String::new()),
        Action::NextMatch | Action::PrevMatch => {
            if app.matches.is_empty() {
                app.info("press / to search prompts, answers, rubrics, notes and ids");
            } else {
                jump_to_match(app, action == Action::NextMatch, fx);
            }
        }
        Action::ImportSample => {
            if app.total_cases == Some(0) && !app.importing {
                app.importing = true;
                app.info("importing the bundled sample…");
                fx.push(Effect::ImportSample);
            } else if app.total_cases.unwrap_or(0) > 0 {
                app.info(
                    "the database already has cases; import more with `rubricate import FILE`",
                );
            }
        }
        Action::NextCase => move_cursor(app, 1, fx),
        Action::PrevCase => move_cursor(app, -1, fx),
        Action::FocusNext => cycle_focus(app, 1),
        Action::FocusPrev => cycle_focus(app, -1),
        Action::PageDown => page(app, 1, fx),
        Action::PageUp => page(app, -1, fx),
        Action::ScrollDown => scroll(app, app.focus, WHEEL_ROWS as isize, fx),
        Action::ScrollUp => scroll(app, app.focus, -(WHEEL_ROWS as isize), fx),
        Action::Zoom => {
            app.zoom = !app.zoom && app.focus != Focus::Queue;
            if app.focus == Focus::Queue {
                app.info("Tab to a pane first: the queue does not zoom");
            }
        }
        Action::Unzoom => app.zoom = false,
        Action::Top => scroll(app, app.focus, isize::MIN / 2, fx),
        Action::Bottom => scroll(app, app.focus, isize::MAX / 2, fx),
        _ if app.case.is_none() => app.info("no case is open"),
        Action::Judge => judge_now(app, fx),
        Action::Cancel => cancel(app, fx),
        Action::SwapCheck => swap_check(app, fx),
        Action::Rejudge => rejudge(app, fx),
        Action::Accept => accept(app, fx),
        Action::ReasoningWrong => reasoning_wrong(app, fx),
        Action::Decide(v) => decide(app, v, fx),
        Action::Refine => {
            let side = if app.focus == Focus::AnswerB {
                Verdict::B
            } else {
                Verdict::A
            };
            open_editor(app, EditTarget::Answer(side))
        }
        Action::Tag => open_editor(app, EditTarget::Collection),
        Action::Derive => derive(app),
        Action::FlagWithReason => open_editor(app, EditTarget::FlagReason),
        Action::EditRubric => open_editor(app, EditTarget::Rubric),
        Action::EditAnalysis => open_editor(app, EditTarget::Analysis),
        Action::Note => open_editor(app, EditTarget::Note),
        Action::Flag => flag(app, fx),
        Action::Undo => undo(app, fx),
        Action::ToggleReasoning => toggle_reasoning(app),
        Action::Keep
        | Action::Discard
        | Action::Close
        | Action::ToggleQueue
        | Action::ToggleAdvance
        | Action::ToggleBlind
        | Action::ToggleBlindReasoning
        | Action::ToggleBothOrders
        | Action::ClearInput
        | Action::Yes
        | Action::No
        | Action::NextRubric
        | Action::PrevRubric
        | Action::OlderVersion
        | Action::NewerVersion
        | Action::MarkBase
        | Action::Diff
        | Action::Compare
        | Action::Restore
        | Action::ApplyHere
        | Action::ApplyQueue
        | Action::SaveAs => {}
    }
}

fn on_mouse(app: &mut App, m: MouseEvent, fx: &mut Vec<Effect>) {
    if !matches!(app.mode, Mode::Review) {
        return;
    }
    let areas = layout::areas(app);
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(f) = areas.hit(m.column, m.row) {
                app.focus = f;
                app.dirty = true;
                if f == Focus::Queue
                    && let Some(q) = areas.queue
                {
                    let row = m.row.saturating_sub(q.y + 1) as usize;
                    let top = queue_top(app.cursor, app.queue.len(), layout::inner(q).height);
                    let idx = top + row;
                    if m.row > q.y && idx < app.queue.len() && idx != app.cursor {
                        select(app, idx, fx);
                    }
                }
            }
        }
        _ => {
            if let Some(action) = keymap::mouse_action(KeyMode::Review, &m) {
                // The wheel scrolls the focused pane, as PgUp / PgDn do.
                on_action(app, action, fx);
                app.dirty = true;
            }
        }
    }
}

fn cycle_focus(app: &mut App, step: isize) {
    // While zoomed, Tab moves the zoom from pane to pane (the queue does not zoom).
    let order: Vec<Focus> = Focus::ALL
        .into_iter()
        .filter(|f| *f != Focus::Queue || (app.queue_visible() && !app.zoom))
        .collect();
    let at = order.iter().position(|f| *f == app.focus).unwrap_or(0) as isize;
    let n = order.len() as isize;
    app.focus = order[((at + step).rem_euclid(n)) as usize];
}

// ---------------------------------------------------------------------------------
// Queue and navigation

fn on_queue(
    app: &mut App,
    items: Vec<QueueItem>,
    total: i64,
    keep: Option<i64>,
    fx: &mut Vec<Effect>,
) {
    app.queue = items;
    app.total_cases = Some(total);
    app.dirty = true;
    if app.queue.is_empty() {
        app.cursor = 0;
        app.case = None;
        return;
    }
    app.cursor = keep
        .and_then(|k| app.queue.iter().position(|q| q.id == k))
        .unwrap_or(0);
    if let Some(r) = app.resume.take()
        && app.current_id() == Some(r)
    {
        app.info(format!(
            "back where you left off: case {r} (filter {})",
            app.filter.as_str()
        ));
    }
    if app.case.as_ref().map(|c| c.case.id) != app.current_id() {
        fx.push(Effect::LoadCase(app.queue[app.cursor].id));
    }
}

/// `C`: the next category after the current one, in name order; after the last, all of
/// them again. A category no case has any more (or a parent given with `--category`)
/// restarts at the first.
fn on_categories(app: &mut App, list: Vec<(String, i64)>, fx: &mut Vec<Effect>) {
    if list.is_empty() {
        app.info("no case has a category (benchmark imports set one: RM-Bench, RMB, RewardBench)");
        if app.narrow.category.take().is_none() {
            return;
        }
    } else {
        let next = match &app.narrow.category {
            None => Some(0),
            Some(current) => list
                .iter()
                .position(|(name, _)| name == current)
                .map_or(Some(0), |i| (i + 1 < list.len()).then_some(i + 1)),
        };
        app.narrow.category = next.map(|i| list[i].0.clone());
        app.info(match next {
            Some(i) => format!(
                "category: {} ({} cases; {} of {}, C for the next)",
                sanitize::visible_line(&list[i].0),
                list[i].1,
                i + 1,
                list.len()
            ),
            None => "category: all".to_string(),
        });
    }
    fx.push(app.load_queue(app.current_id()));
    app.dirty = true;
}

fn move_cursor(app: &mut App, step: isize, fx: &mut Vec<Effect>) {
    if app.queue.is_empty() {
        return;
    }
    let last = app.queue.len() as isize - 1;
    let to = (app.cursor as isize + step).clamp(0, last) as usize;
    if to == app.cursor {
        app.info(if step > 0 {
            "last case in the queue"
        } else {
            "first case in the queue"
        });
        return;
    }
    select(app, to, fx);
}

fn select(app: &mut App, idx: usize, fx: &mut Vec<Effect>) {
    app.cursor = idx;
    fx.push(Effect::LoadCase(app.queue[idx].id));
}

fn jump_to_match(app: &mut App, forward: bool, fx: &mut Vec<Effect>) {
    let set: HashSet<i64> = app.matches.iter().copied().collect();
    let n = app.queue.len();
    let found = (1..=n)
        .map(|k| {
            if forward {
                (app.cursor + k) % n
            } else {
                (app.cursor + n - k % n) % n
            }
        })
        .find(|&i| set.contains(&app.queue[i].id));
    match found {
        Some(i) => {
            let nth = app.queue[..=i]
                .iter()
                .filter(|q| set.contains(&q.id))
                .count();
            let total = app.queue.iter().filter(|q| set.contains(&q.id)).count();
            app.info(format!("match {nth} of {total} in this queue"));
            if i != app.cursor {
                select(app, i, fx);
            }
        }
        None => app.warn(format!(
            "{} case(s) match, none in this queue (filter: {}; F changes it)",
            app.matches.len(),
            app.filter.as_str()
        )),
    }
}

fn queue_item(app: &mut App, case_id: i64) -> Option<&mut QueueItem> {
    app.queue.iter_mut().find(|q| q.id == case_id)
}

fn on_case(app: &mut App, loaded: LoadedCase) {
    let id = loaded.case.id;
    if app.current_id() != Some(id) {
        // The reviewer has already moved on.
        return;
    }
    if let Some(q) = queue_item(app, id) {
        q.judged = loaded.judgment.is_some();
        q.model = loaded.judgment.as_ref().and_then(|j| j.j.verdict);
        q.decided = loaded.review.verdict();
        q.flagged = loaded.review.flagged;
    }
    if let Some(v) = app.pending_decision(id).and_then(|p| p.verdict)
        && let Some(q) = queue_item(app, id)
    {
        q.decided = Some(v);
    }
    let same = app.case.as_ref().is_some_and(|c| c.case.id == id);
    let mut prompt = Doc::new();
    let mut last_user = 0;
    for m in &loaded.case.prompt {
        prompt.push_heading(&m.role);
        if m.role == "user" {
            // The heading's line (push_heading ends by starting the next line).
            last_user = prompt.line_count() - 2;
        }
        prompt.push(&m.content);
    }
    // A multi-turn prompt opens on its last user turn (what the answers reply to); the
    // earlier turns are above it, and drawing pulls the top up where the turn is short.
    let mut prompt = Pane::new(prompt);
    prompt.top = Pos {
        line: last_user,
        row: 0,
    };
    let view = CaseView {
        prompt,
        answer_a: Pane::new(Doc::from_text(&loaded.case.answer_a)),
        answer_b: Pane::new(Doc::from_text(&loaded.case.answer_b)),
        judge: Pane::default(),
        opened_at: app.now,
        case: loaded.case,
        judgment: loaded.judgment,
        swap: loaded.swap,
        review: loaded.review,
        failed: None,
    };
    if same && let Some(old) = app.case.take() {
        // A reload of the same case keeps the reviewer's place and clock.
        let mut view = view;
        view.opened_at = old.opened_at;
        view.prompt.top = old.prompt.top;
        view.answer_a.top = old.answer_a.top;
        view.answer_b.top = old.answer_b.top;
        view.judge.top = old.judge.top;
        app.case = Some(view);
    } else {
        app.case = Some(view);
    }
    refresh_judge_doc(app);
    app.dirty = true;
}

/// The reviewer's own rubric and analysis on a case: edits kept in this session first,
/// else the text of the decision in force when the reviewer wrote it (not the model's
/// text they approved). What the judge pane shows, the editors load, decisions store
/// and `R` fixes.
#[derive(Debug, Default)]
struct OwnText {
    rubric: Option<String>,
    analysis: Option<String>,
}

impl OwnText {
    fn any(&self) -> bool {
        self.rubric.is_some() || self.analysis.is_some()
    }
}

fn own_text(c: &CaseView, draft: Option<&Draft>) -> OwnText {
    let model = c.judgment.as_ref().map(|j| &j.j);
    let decision = c.review.decision.as_ref().filter(|d| {
        d.reasoning == Some(ReasoningApproval::Own)
            || (d.reasoning.is_none() && d.action == ReviewAction::Edit)
    });
    let kept = |mine: Option<&String>, theirs: Option<&String>| {
        mine.filter(|m| !m.trim().is_empty() && Some(*m) != theirs)
            .cloned()
    };
    OwnText {
        rubric: draft.and_then(|d| d.rubric.clone()).or_else(|| {
            decision.and_then(|d| kept(d.rubric.as_ref(), model.and_then(|j| j.rubric.as_ref())))
        }),
        analysis: draft.and_then(|d| d.analysis.clone()).or_else(|| {
            decision
                .and_then(|d| kept(d.analysis.as_ref(), model.and_then(|j| j.analysis.as_ref())))
        }),
    }
}

/// The judge pane's text: the reviewer's own rubric and analysis where there are any,
/// else the stored judgment's; each heading says whose text it is.
fn judge_doc(j: Option<&Judgment>, own: &OwnText, reviewer: &str, expanded: bool) -> Doc {
    let mut d = Doc::new();
    let edited = format!("edited by {reviewer}");
    match (&own.rubric, j.and_then(|j| j.j.rubric.as_deref())) {
        (Some(r), _) => {
            d.push_heading(&format!("Rubric · {edited}"));
            d.push(r);
        }
        (None, Some(r)) => {
            d.push_heading(if j.is_some_and(|j| j.j.rubric_given) {
                "Rubric · given by the reviewer"
            } else {
                "Rubric · by the model"
            });
            d.push(r);
        }
        (None, None) => {}
    }
    match (&own.analysis, j.and_then(|j| j.j.analysis.as_deref())) {
        (Some(a), _) => {
            d.push_heading(&format!("Analysis · {edited}"));
            d.push(a);
        }
        (None, Some(a)) => {
            let raw = j.map_or("", |j| j.j.raw.as_str());
            let (reasoning, rest) = fold::split_reasoning(a, raw);
            if let Some(r) = reasoning {
                d.push_heading("Reasoning · by the model");
                push_reasoning(&mut d, r, expanded);
            }
            if reasoning.is_none() || !rest.trim().is_empty() {
                d.push_heading("Analysis · by the model");
                d.push(rest);
            }
        }
        (None, None) => {}
    }
    if let Some(j) = j
        && !j.j.parse_ok
    {
        d.push_heading(&format!(
            "Raw output (did not parse: {})",
            j.j.parse_error.as_deref().unwrap_or("unknown reason")
        ));
        match fold::raw_reasoning(&j.j.raw) {
            // The reasoning folds here too; what follows `</think>` is always shown.
            Some((r, after)) if fold::folds(r, expanded) => {
                d.push(&fold::fold_line(r));
                d.push("\n</think>");
                d.push(after);
            }
            _ => d.push(&j.j.raw),
        }
    }
    d
}

/// Free reasoning: in full, or its fold line when it is long and not expanded.
fn push_reasoning(d: &mut Doc, reasoning: &str, expanded: bool) {
    if fold::folds(reasoning, expanded) {
        d.push(&fold::fold_line(reasoning));
    } else {
        d.push(reasoning);
    }
}

/// The streaming judge pane from the text streamed so far.
fn stream_doc(mode: &JudgeMode, parts: &[(Section, String)], expanded: bool) -> Doc {
    let mut d = Doc::new();
    if let JudgeMode::RubricGiven(r) = mode {
        d.push_heading("Rubric · given by the reviewer");
        d.push(r);
    }
    for (section, text) in parts {
        let Some(h) = stream_heading(*section) else {
            continue;
        };
        d.push_heading(h);
        if *section == Section::Reasoning {
            push_reasoning(&mut d, text, expanded);
        } else {
            d.push(text);
        }
    }
    d
}

/// The heading a streamed section gets (the verdict is shown in the footer, not the pane).
fn stream_heading(section: Section) -> Option<&'static str> {
    Some(match section {
        Section::Rubric => "Rubric",
        Section::Analysis => "Analysis",
        Section::Reasoning => "Reasoning",
        Section::Type => "Task type",
        Section::Solution => "Judge's solution",
        Section::Verdict => return None,
    })
}

/// `o`: fold or expand free reasoning, in the streaming pane and the stored judgment.
fn toggle_reasoning(app: &mut App) {
    app.reasoning_expanded = !app.reasoning_expanded;
    let expanded = app.reasoning_expanded;
    for j in app.job.iter_mut().chain(app.background.iter_mut()) {
        rebuild_stream_pane(j, expanded);
    }
    refresh_judge_doc(app);
    app.info(if expanded {
        "reasoning expanded"
    } else {
        "long reasoning folded"
    });
    app.dirty = true;
}

fn rebuild_stream_pane(j: &mut Job, expanded: bool) {
    let (top, follow) = (j.pane.top, j.pane.follow);
    j.pane = Pane::new(stream_doc(&j.mode, &j.parts, expanded));
    j.pane.follow = follow;
    j.pane.top = top;
}

fn refresh_judge_doc(app: &mut App) {
    let Some(id) = app.case.as_ref().map(|c| c.case.id) else {
        return;
    };
    let draft = app.draft(id).cloned();
    let reviewer = sanitize::visible_line(&app.reviewer);
    let expanded = app.reasoning_expanded;
    if let Some(c) = app.case.as_mut() {
        let top = c.judge.top;
        let own = own_text(c, draft.as_ref());
        c.judge = Pane::new(judge_doc(c.judgment.as_ref(), &own, &reviewer, expanded));
        c.judge.top = top;
    }
}

// ---------------------------------------------------------------------------------
// Scrolling

fn pane_mut(app: &mut App, focus: Focus) -> Option<&mut Pane> {
    if focus == Focus::Judge {
        let case_id = app.case.as_ref()?.case.id;
        if let Some(job) = app
            .job
            .as_mut()
            .filter(|j| j.case_id == case_id && !j.swapped)
        {
            return Some(&mut job.pane);
        }
    }
    let c = app.case.as_mut()?;
    match focus {
        Focus::Queue => None,
        Focus::Prompt => Some(&mut c.prompt),
        Focus::AnswerA => Some(&mut c.answer_a),
        Focus::AnswerB => Some(&mut c.answer_b),
        Focus::Judge => Some(&mut c.judge),
    }
}

fn page(app: &mut App, dir: isize, fx: &mut Vec<Effect>) {
    let rect = layout::areas(app).text(app.focus);
    let rows = (rect.height as isize - 1).max(1);
    scroll(app, app.focus, dir * rows, fx);
}

fn scroll(app: &mut App, focus: Focus, rows: isize, fx: &mut Vec<Effect>) {
    if focus == Focus::Queue {
        if !app.queue.is_empty() {
            let to = (app.cursor as isize + rows).clamp(0, app.queue.len() as isize - 1) as usize;
            if to != app.cursor {
                select(app, to, fx);
            }
        }
        return;
    }
    let rect = layout::areas(app).text(focus);
    let (w, h) = (rect.width, rect.height as usize);
    let Some(pane) = pane_mut(app, focus) else {
        return;
    };
    let top = if pane.follow {
        pane.doc.bottom(w, h)
    } else {
        pane.doc.clamp(pane.top, w, h)
    };
    let moved = if rows >= 0 {
        pane.doc.down(top, rows as usize, w)
    } else {
        pane.doc.up(top, rows.unsigned_abs(), w)
    };
    let bottom = pane.doc.bottom(w, h);
    pane.top = moved.min(bottom);
    // Scrolled back to the end of a growing text: follow it again.
    pane.follow = rows > 0 && pane.top == bottom;
    app.dirty = true;
}

// ---------------------------------------------------------------------------------
// The judge

/// Start a job the reviewer asked for (or the open case's own): it becomes the first job.
/// The job it displaces goes on in the background when the worker judges two cases at
/// once and the background is free and judges something else; otherwise it is cancelled.
pub(super) fn new_job(
    app: &mut App,
    case_id: i64,
    mode: JudgeMode,
    swapped: bool,
    fx: &mut Vec<Effect>,
) {
    // The same case in the same order is judged again from the start: the old run goes.
    if let Some(b) = app
        .background
        .take_if(|b| b.case_id == case_id && b.swapped == swapped)
    {
        fx.push(Effect::Cancel(b.id));
    }
    if let Some(old) = app.job.take() {
        if app.judge_slots() > 1
            && app.background.is_none()
            && !(old.case_id == case_id && old.swapped == swapped)
        {
            app.background = Some(old);
        } else {
            fx.push(Effect::Cancel(old.id));
        }
    }
    let job = start_job(app, case_id, mode, swapped, fx);
    app.job = Some(job);
}

/// Ask the worker for a judgment; the job comes back for the caller to keep in a slot.
fn start_job(
    app: &mut App,
    case_id: i64,
    mode: JudgeMode,
    swapped: bool,
    fx: &mut Vec<Effect>,
) -> Job {
    let id = JobId(app.next_job);
    app.next_job += 1;
    let mut pane = Pane::new(Doc::new());
    pane.follow = true;
    if let JudgeMode::RubricGiven(r) = &mode {
        pane.doc.push_heading("Rubric · given by the reviewer");
        pane.doc.push(r);
    }
    fx.push(Effect::Judge {
        job: id,
        case_id,
        mode: mode.clone(),
        swapped,
    });
    app.failed_clear(case_id);
    app.dirty = true;
    Job {
        id,
        case_id,
        swapped,
        mode,
        started: None,
        first_token: None,
        prefill: None,
        tokens: 0,
        section: None,
        verdict_text: String::new(),
        parts: Vec::new(),
        pane,
        rubric: None,
        batch: false,
    }
}

impl App {
    fn failed_clear(&mut self, case_id: i64) {
        if let Some(c) = self.case.as_mut().filter(|c| c.case.id == case_id) {
            c.failed = None;
        }
    }

    fn is_judged(&self, case_id: i64) -> bool {
        self.queue
            .iter()
            .find(|q| q.id == case_id)
            .map(|q| q.judged)
            .or_else(|| {
                self.case
                    .as_ref()
                    .filter(|c| c.case.id == case_id)
                    .map(|c| c.judgment.is_some())
            })
            .unwrap_or(true)
    }

    fn wants_auto(&self, case_id: i64) -> bool {
        !self.is_judged(case_id)
            && !self.no_auto.contains(&case_id)
            && !self
                .case
                .as_ref()
                .is_some_and(|c| c.case.id == case_id && c.failed.is_some())
    }
}

/// Decide what the worker should be doing: judge the open case if it has no judgment,
/// else the next one in the queue while the reviewer reads; cancel work nobody needs.
///
/// A worker that judges two cases at once (its model info says how many) gets a second,
/// background job beside the first: the open case's swapped order when both orders are
/// on, else the next case. With one, this is the one-job-at-a-time rule: a running job is
/// kept while it is wanted, and the next wanted one starts when it ends.
fn schedule(app: &mut App, fx: &mut Vec<Effect>) {
    let slots = app.judge_slots();
    let current = app.current_id();
    let next = app.next_id();
    let current_wants = current.is_some_and(|c| app.model_ready() && app.wants_auto(c));
    // Nobody needs a job on a case that is neither open nor next (nor a library batch's); a
    // prefetch of the next case gives way to the open case when only one job runs at once.
    let needed = |j: &Job| {
        j.batch
            || Some(j.case_id) == current
            || (Some(j.case_id) == next && (slots > 1 || !current_wants))
    };
    for job in [
        app.job.take_if(|j| !needed(j)),
        app.background.take_if(|j| !needed(j)),
    ]
    .into_iter()
    .flatten()
    {
        fx.push(Effect::Cancel(job.id));
    }
    order_jobs(app);
    if app.model_ready() {
        while app.jobs().count() < slots {
            let Some((case_id, swapped)) = wanted(app) else {
                break;
            };
            let job = start_job(app, case_id, JudgeMode::Full, swapped, fx);
            match app.job {
                None => app.job = Some(job),
                Some(_) => app.background = Some(job),
            }
            order_jobs(app);
        }
        // The library's batch runs when the reviewer's own cases need nothing.
        if app.job.is_none() {
            super::library::schedule_batch(app, fx);
        }
    }
    // A worker with several sequences puts the first job's tokens first.
    if slots > 1
        && let Some(id) = app.job.as_ref().map(|j| j.id)
        && app.prioritized != Some(id)
    {
        app.prioritized = Some(id);
        fx.push(Effect::Prioritize(id));
    }
}

/// The first slot holds the job on the open case (its own order before the swapped one):
/// the one whose stream the judge pane shows. A background job on the case the reviewer
/// has just opened moves there and streams on from where it is.
fn order_jobs(app: &mut App) {
    if app.job.is_none() {
        app.job = app.background.take();
    }
    let current = app.current_id();
    let rank = |j: &Job| match (Some(j.case_id) == current, j.swapped) {
        (true, false) => 0,
        (true, true) => 1,
        _ => 2,
    };
    if let (Some(f), Some(b)) = (&app.job, &app.background)
        && rank(b) < rank(f)
    {
        std::mem::swap(&mut app.job, &mut app.background);
    }
}

/// The most wanted judgment no job is producing yet: the open case's, its swapped order
/// (both orders; once its own judgment is stored or running), then the next case's.
fn wanted(app: &App) -> Option<(i64, bool)> {
    let running = |case_id: i64, swapped: bool| {
        app.jobs()
            .any(|j| j.case_id == case_id && j.swapped == swapped)
    };
    let current = app.current_id();
    if let Some(c) = current.filter(|&c| app.wants_auto(c) && !running(c, false)) {
        return Some((c, false));
    }
    if app.both_orders
        && let Some(c) = app.case.as_ref()
        && Some(c.case.id) == current
        && (c.judgment.is_some()
            || app
                .jobs()
                .any(|j| j.case_id == c.case.id && !j.swapped && j.mode == JudgeMode::Full))
        && c.swap.is_none()
        && c.failed.is_none()
        && !app.no_auto.contains(&c.case.id)
        && !running(c.case.id, true)
    {
        return Some((c.case.id, true));
    }
    app.next_id()
        .filter(|&n| app.wants_auto(n) && !running(n, false))
        .map(|n| (n, false))
}

/// Which of the two job slots an event is about.
#[derive(Clone, Copy)]
enum Slot {
    First,
    Background,
}

fn slot_mut(app: &mut App, slot: Slot) -> Option<&mut Job> {
    match slot {
        Slot::First => app.job.as_mut(),
        Slot::Background => app.background.as_mut(),
    }
}

fn slot_take(app: &mut App, slot: Slot) -> Option<Job> {
    match slot {
        Slot::First => app.job.take(),
        Slot::Background => app.background.take(),
    }
}

fn on_judge(app: &mut App, ev: Event, fx: &mut Vec<Effect>) {
    let slot = match ev.job() {
        None => Slot::First,
        Some(id) if app.job.as_ref().is_some_and(|j| j.id == id) => Slot::First,
        Some(id) if app.background.as_ref().is_some_and(|j| j.id == id) => Slot::Background,
        // A cancelled or superseded job: its late events mean nothing now.
        Some(_) => return,
    };
    // Only the job streaming on screen redraws; a background one just keeps its text.
    let visible = match (slot, ev.job()) {
        (Slot::First, Some(id)) => app.visible_job().is_some_and(|j| j.id == id),
        (Slot::First, None) => app.visible_job().is_some(),
        (Slot::Background, _) => false,
    };
    match ev {
        Event::Loading { progress } => {
            app.model = ModelState::Loading(progress);
            app.dirty = true;
        }
        Event::Ready(info) => {
            fx.push(Effect::LoadJudgeEval {
                judge: Box::new(crate::eval::run::identity_of(&info)),
            });
            app.model = ModelState::Ready(info);
            app.dirty = true;
        }
        Event::Unavailable(msg) => {
            app.model = ModelState::Unavailable(msg);
            app.job = None;
            app.background = None;
            app.dirty = true;
        }
        Event::Started { .. } => {
            let now = app.now;
            if let Some(j) = slot_mut(app, slot) {
                j.started = Some(now);
            }
            app.dirty |= visible;
        }
        Event::Prefill { done, total, .. } => {
            if let Some(j) = slot_mut(app, slot) {
                j.prefill = Some((done, total));
            }
            app.dirty |= visible;
        }
        Event::Token { section, text, .. } => {
            let now = app.now;
            let expanded = app.reasoning_expanded;
            if let Some(j) = slot_mut(app, slot) {
                j.tokens += 1;
                j.first_token.get_or_insert(now);
                let new_section = j.section != Some(section);
                if new_section {
                    if let Some(h) = stream_heading(section) {
                        j.pane.doc.push_heading(h);
                    }
                    j.section = Some(section);
                }
                if section == Section::Verdict {
                    j.verdict_text.push_str(&text);
                } else {
                    let was_folded = !new_section
                        && section == Section::Reasoning
                        && j.parts
                            .last()
                            .is_some_and(|(_, t)| fold::folds(t, expanded));
                    match j.parts.last_mut() {
                        Some((s, t)) if *s == section && !new_section => t.push_str(&text),
                        _ => j.parts.push((section, text.clone())),
                    }
                    let reasoning = j.parts.last().map(|(_, t)| t.as_str()).unwrap_or("");
                    if section == Section::Reasoning && fold::folds(reasoning, expanded) {
                        // Folded: the fold line is redrawn as lines come (not per token).
                        if !was_folded || text.contains('\n') {
                            rebuild_stream_pane(j, expanded);
                        }
                    } else {
                        j.pane.doc.push(&text);
                    }
                }
            }
            app.dirty |= visible;
        }
        Event::Done { judgment, .. } => {
            let job = slot_take(app, slot).expect("job matched above");
            if !job.swapped
                && let Some(q) = queue_item(app, job.case_id)
            {
                q.judged = true;
                q.model = judgment.verdict;
            }
            // A swapped order shows at once (until its stored row replaces it), and counts as
            // done for the both-orders scheduling.
            if job.swapped
                && let Some(c) = app.case.as_mut().filter(|c| c.case.id == job.case_id)
            {
                c.swap = Some(Judgment {
                    id: 0,
                    created_at: String::new(),
                    library_rubric_id: None,
                    j: (*judgment).clone(),
                });
            }
            match job.rubric {
                Some(rubric) => fx.push(Effect::StoreLinkedJudgment { judgment, rubric }),
                None => fx.push(Effect::StoreJudgment(judgment)),
            }
            app.dirty = true;
        }
        Event::Failed { error, .. } => {
            let job = slot_take(app, slot).expect("job matched above");
            let shown = sanitize::visible_line(&error);
            if let Some(c) = app.case.as_mut().filter(|c| c.case.id == job.case_id) {
                c.failed = Some(shown.clone());
            } else {
                // A failed background job is not retried on its own either.
                app.no_auto.push(job.case_id);
            }
            app.error(format!(
                "judging case {} failed: {shown}; g retries",
                job.case_id
            ));
            app.dirty = true;
        }
        Event::Cancelled { .. } => {
            slot_take(app, slot);
            app.dirty = true;
        }
    }
}

fn on_stored(app: &mut App, j: Judgment) {
    let own_running = app.jobs().any(|r| r.case_id == j.j.case_id && !r.swapped);
    let Some(c) = app.case.as_mut().filter(|c| c.case.id == j.j.case_id) else {
        return;
    };
    if j.j.swapped {
        let msg = if c.judgment.is_none() && own_running {
            // Both orders on two sequences: the swapped one can end first.
            "swap check: A and B exchanged is judged; it is compared when this order's judgment ends"
                .to_string()
        } else {
            swap_message(c.judgment.as_ref(), &j)
        };
        c.swap = Some(j);
        app.info(msg);
    } else {
        let swap_first = c.judgment.is_none() && c.swap.is_some();
        c.judgment = Some(j);
        if swap_first && let Some(c) = app.case.as_ref() {
            let msg = swap_message(c.judgment.as_ref(), c.swap.as_ref().expect("checked"));
            app.info(msg);
        }
        refresh_judge_doc(app);
    }
    app.dirty = true;
}

/// What the swap check found: the verdict as shown against the one with A and B exchanged.
fn swap_message(own: Option<&Judgment>, swapped: &Judgment) -> String {
    match (own.and_then(|o| o.j.verdict), swapped.j.verdict) {
        (Some(o), Some(s)) if o == s => format!("swap check: consistent ({o} both ways)"),
        (Some(o), Some(s)) => {
            format!("swap check: position bias: {o} as shown, {s} with A and B exchanged")
        }
        _ => "swap check done (no verdict to compare)".to_string(),
    }
}

fn judge_now(app: &mut App, fx: &mut Vec<Effect>) {
    if !judge_available(app) {
        return;
    }
    let id = app.case.as_ref().expect("case open").case.id;
    if app
        .job
        .as_ref()
        .is_some_and(|j| j.case_id == id && !j.swapped && j.mode == JudgeMode::Full)
    {
        app.info("already judging this case");
        return;
    }
    app.no_auto.retain(|&c| c != id);
    new_job(app, id, JudgeMode::Full, false, fx);
}

fn cancel(app: &mut App, fx: &mut Vec<Effect>) {
    match app.job.take() {
        Some(job) => {
            fx.push(Effect::Cancel(job.id));
            // Until the reviewer asks again (g), this case is not judged on its own.
            app.no_auto.push(job.case_id);
            app.info(format!("cancelled judging case {}", job.case_id));
        }
        None => app.info("nothing is generating"),
    }
}

fn swap_check(app: &mut App, fx: &mut Vec<Effect>) {
    if !judge_available(app) {
        return;
    }
    let id = app.case.as_ref().expect("case open").case.id;
    if app.jobs().any(|j| j.case_id == id) {
        app.warn("wait until the running judgment of this case ends, then swap-check it");
        return;
    }
    app.info("swap check: judging again with A and B exchanged…");
    new_job(app, id, JudgeMode::Full, true, fx);
}

fn rejudge(app: &mut App, fx: &mut Vec<Effect>) {
    if !judge_available(app) {
        return;
    }
    let c = app.case.as_ref().expect("case open");
    let id = c.case.id;
    // Only the reviewer's own rubric: fixing the model's own rubric and calling it
    // "given by the reviewer" would record something that did not happen.
    let rubric = own_text(c, app.draft(id)).rubric;
    match rubric.filter(|r| !r.trim().is_empty()) {
        Some(r) => {
            app.no_auto.retain(|&c| c != id);
            app.focus = Focus::Judge;
            // The reviewer's rubric goes into the library (as this case's rubric, a new
            // version only when the text changed), and the judgment records which version.
            let link = RubricLink::Save {
                name: format!("case-{id}"),
                body: r.clone(),
                case_id: id,
            };
            new_job(app, id, JudgeMode::RubricGiven(r), false, fx);
            if let Some(j) = app.job.as_mut() {
                j.rubric = Some(link);
            }
        }
        None => app.warn(
            "you have no rubric of your own on this case: e edits one (Ctrl-S keeps it), then R re-judges with it",
        ),
    }
}

/// The reviewer's own rubric on a case (a kept edit or the decision's), if any.
pub(super) fn own_rubric(app: &App, case_id: i64) -> Option<String> {
    let c = app.case.as_ref().filter(|c| c.case.id == case_id)?;
    own_text(c, app.draft(case_id))
        .rubric
        .filter(|r| !r.trim().is_empty())
}

pub(super) fn judge_available(app: &mut App) -> bool {
    match &app.model {
        ModelState::Ready(_) => true,
        ModelState::Loading(_) => {
            app.warn("the model is still loading; it starts judging as soon as it is ready");
            false
        }
        ModelState::Unavailable(_) => {
            app.warn("no model: judging is off, manual review (1-4, e, n, f, u) still works");
            false
        }
    }
}

// ---------------------------------------------------------------------------------
// Decisions

fn seconds_spent(app: &App) -> Option<f64> {
    app.case
        .as_ref()
        .map(|c| app.now.saturating_duration_since(c.opened_at).as_secs_f64())
}

fn accept(app: &mut App, fx: &mut Vec<Effect>) {
    let c = app.case.as_ref().expect("case open");
    if app.verdict_hidden(c.case.id) {
        app.warn("blind mode: the model's verdict is hidden; decide with 1 / 2 / 3 / 4");
        return;
    }
    match c.judgment.as_ref().map(|j| j.j.verdict) {
        Some(Some(v)) => decide_with(app, v, ReasoningApproval::Approved, fx),
        Some(None) => app.warn("the model gave no verdict here: decide with 1 / 2 / 3 / 4"),
        None if app.visible_job().is_some() => {
            app.warn("no verdict yet: wait for it, or decide now with 1 / 2 / 3 / 4")
        }
        None => app.warn("no model judgment: g judges, 1 / 2 / 3 / 4 decide without one"),
    }
}

/// "Verdict right, reasoning wrong": the model's verdict stands, its reasoning is rejected.
fn reasoning_wrong(app: &mut App, fx: &mut Vec<Effect>) {
    let c = app.case.as_ref().expect("case open");
    match c.judgment.as_ref().map(|j| j.j.verdict) {
        Some(Some(v)) => decide_with(app, v, ReasoningApproval::Wrong, fx),
        _ => app.warn("no model verdict to keep: decide with 1 / 2 / 3 / 4"),
    }
}

/// A verdict key: the verdict is the reviewer's; the reasoning on screen is not vouched for.
fn decide(app: &mut App, verdict: Verdict, fx: &mut Vec<Effect>) {
    decide_with(app, verdict, ReasoningApproval::VerdictOnly, fx)
}

/// Record a decision. `reasoning` says what the key meant for the judge's reasoning; a
/// kept edit of the rubric or analysis makes it the reviewer's own whatever the key.
fn decide_with(
    app: &mut App,
    verdict: Verdict,
    reasoning: ReasoningApproval,
    fx: &mut Vec<Effect>,
) {
    let c = app.case.as_ref().expect("case open");
    let own = own_text(c, app.draft(c.case.id));
    let j = c.judgment.as_ref();
    let model = j.and_then(|j| j.j.verdict);
    let draft_kept = own.any();
    let edited = draft_kept || j.is_some_and(|j| j.j.rubric_given);
    let action = if model.is_none() {
        // Nothing to accept or override: the model gave no verdict (yet).
        ReviewAction::Decide
    } else if model != Some(verdict) {
        ReviewAction::Override
    } else if edited {
        ReviewAction::Edit
    } else {
        ReviewAction::Accept
    };
    let case_id = c.case.id;
    let label = c.case.source_label;
    let blind = app.verdict_hidden(case_id);
    let review = NewReview {
        case_id,
        reviewer: app.reviewer.clone(),
        action: Some(action),
        verdict: Some(verdict),
        rubric: own.rubric.or_else(|| j.and_then(|j| j.j.rubric.clone())),
        analysis: own
            .analysis
            .or_else(|| j.and_then(|j| j.j.analysis.clone())),
        note: None,
        flagged: None,
        seconds_spent: seconds_spent(app),
        judgment_id: j.map(|j| j.id),
        reverts_review_id: None,
        reasoning: Some(if draft_kept {
            ReasoningApproval::Own
        } else {
            reasoning
        }),
        flag_reason: None,
        blind: Some(blind),
    };
    append_review(app, review, fx);
    if let Some(p) = app.pending.back_mut() {
        p.source_label = label;
    }
    // The kept edits are part of this row now.
    app.drafts.remove(&case_id);
    refresh_judge_doc(app);
    if let Some(q) = queue_item(app, case_id) {
        q.decided = Some(verdict);
    }
    let mut msg = format!("case {case_id}: {} {verdict} · saving…", action.as_str());
    // The next case opens at once: the row is bound to its case already, and the
    // writer stores it in order even if the database is busy for a while.
    if app.auto_advance && app.current_id() == Some(case_id) {
        if app.cursor + 1 < app.queue.len() {
            select(app, app.cursor + 1, fx);
        } else {
            msg.push_str(" · end of the queue");
        }
    }
    app.info(msg);
}

/// Hand a review row to the writer and remember it until it is reported written.
fn append_review(app: &mut App, review: NewReview, fx: &mut Vec<Effect>) {
    app.pending.push_back(PendingWrite {
        case_id: review.case_id,
        action: review.action,
        verdict: review.verdict,
        source_label: None,
        waiting: false,
    });
    app.history.push(review.case_id);
    fx.push(Effect::AppendReview(review));
}

/// The writer reported the oldest pending write on a case (writes are done in order).
fn settle(app: &mut App, case_id: i64) -> Option<PendingWrite> {
    let at = app.pending.iter().position(|p| p.case_id == case_id)?;
    app.pending.remove(at)
}

/// Undo the reviewer's latest change: on the case of the last change made in this
/// session (going back to it), else on the case on screen.
fn undo(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(case_id) = app.history.pop().or(app.current_id()) else {
        app.info("nothing to undo");
        return;
    };
    if app.current_id() != Some(case_id) {
        match app.queue.iter().position(|q| q.id == case_id) {
            Some(i) => select(app, i, fx),
            None => app.info(format!(
                "undoing on case {case_id} (not in this queue; F changes the filter)"
            )),
        }
    }
    app.pending.push_back(PendingWrite {
        case_id,
        action: None,
        verdict: None,
        source_label: None,
        waiting: false,
    });
    fx.push(Effect::Undo { case_id });
}

fn flag(app: &mut App, fx: &mut Vec<Effect>) {
    let c = app.case.as_ref().expect("case open");
    let review = NewReview {
        case_id: c.case.id,
        reviewer: app.reviewer.clone(),
        action: Some(ReviewAction::Flag),
        flagged: Some(!c.review.flagged),
        seconds_spent: seconds_spent(app),
        judgment_id: c.judgment.as_ref().map(|j| j.id),
        ..Default::default()
    };
    append_review(app, review, fx);
}

fn set_review_state(app: &mut App, case_id: i64, state: crate::domain::ReviewState) {
    // A decision still on its way stays the one shown.
    let pending = app.pending_decision(case_id).and_then(|p| p.verdict);
    if let Some(q) = queue_item(app, case_id) {
        q.decided = pending.or(state.verdict());
        q.flagged = state.flagged;
    }
    if let Some(c) = app.case.as_mut().filter(|c| c.case.id == case_id) {
        c.review = state;
    }
}

fn on_review_saved(
    app: &mut App,
    case_id: i64,
    action: ReviewAction,
    state: crate::domain::ReviewState,
) {
    let done = settle(app, case_id);
    let verdict = state.verdict();
    let flagged = state.flagged;
    set_review_state(app, case_id, state);
    app.dirty = true;
    // An error about another write stays on screen until it expires.
    if app
        .message
        .as_ref()
        .is_some_and(|m| m.level == Level::Error)
    {
        return;
    }
    let mut msg = match action {
        ReviewAction::Flag if flagged => format!("case {case_id} flagged"),
        ReviewAction::Flag => format!("case {case_id}: flag cleared"),
        ReviewAction::Note => format!("case {case_id}: note saved"),
        _ => format!(
            "saved: case {case_id} {} {}",
            action.as_str(),
            verdict.map_or("-", Verdict::as_str)
        ),
    };
    if let Some(l) = done.and_then(|p| p.source_label) {
        msg.push_str(&format!(" (source label: {l})"));
    }
    if !app.pending.is_empty() {
        msg.push_str(&format!(" · {} more saving…", app.pending.len()));
    }
    app.info(msg);
    refresh_judge_doc(app);
}

// ---------------------------------------------------------------------------------
// Editing

/// `D`: the answer the model preferred is the failure kept as rejected; without a model
/// verdict, the one the reviewer decided against.
fn derive(app: &mut App) {
    let c = app.case.as_ref().expect("case open");
    let model = c.judgment.as_ref().and_then(|j| j.j.verdict);
    let human = c.review.decision.as_ref().and_then(|r| r.verdict);
    let rejected = match (model, human) {
        (Some(v @ (Verdict::A | Verdict::B)), _) => v,
        (_, Some(Verdict::A)) => Verdict::B,
        (_, Some(Verdict::B)) => Verdict::A,
        _ => {
            app.warn("no verdict to tell the failing answer: judge (g) or decide (1/2) first");
            return;
        }
    };
    open_editor(app, EditTarget::Derive { rejected });
    app.info(format!(
        "write the better answer; answer {} stays as the rejected one; Ctrl-S derives the case",
        rejected.as_str()
    ));
}

fn open_editor(app: &mut App, target: EditTarget) {
    let c = app.case.as_ref().expect("case open");
    let id = c.case.id;
    let own = own_text(c, app.draft(id));
    let j = c.judgment.as_ref().map(|j| &j.j);
    let text = match target {
        EditTarget::Rubric => own.rubric.or_else(|| j.and_then(|j| j.rubric.clone())),
        EditTarget::Analysis => own.analysis.or_else(|| j.and_then(|j| j.analysis.clone())),
        EditTarget::Note => c.review.note.clone(),
        // The loaded case already shows the newest refined text, if any.
        EditTarget::Answer(Verdict::B) => Some(c.case.answer_b.clone()),
        EditTarget::Answer(_) => Some(c.case.answer_a.clone()),
        EditTarget::Collection => app.last_collection.clone(),
        EditTarget::FlagReason => c.review.flag_reason.clone(),
        // Start from the other answer: the reviewer usually fixes what is there.
        EditTarget::Derive {
            rejected: Verdict::A,
        } => Some(c.case.answer_b.clone()),
        EditTarget::Derive { .. } => Some(c.case.answer_a.clone()),
    }
    .unwrap_or_default();
    let lines: Vec<String> = editor_form(&text).lines().map(str::to_string).collect();
    let mut area = TextArea::new(if lines.is_empty() {
        vec![String::new()]
    } else {
        lines
    });
    area.move_cursor(tui_textarea::CursorMove::Bottom);
    area.move_cursor(tui_textarea::CursorMove::End);
    app.mode = Mode::Edit(Box::new(Editor {
        target,
        case_id: id,
        area,
    }));
}

/// A text as the editor holds it. The model wrote it: what the editor shows must be
/// visible too; lines are joined back as the editor returns them.
fn editor_form(text: &str) -> String {
    sanitize::visible(text)
        .replace('\t', "    ")
        .lines()
        .collect::<Vec<_>>()
        .join("\n")
}

fn keep_edit(app: &mut App, fx: &mut Vec<Effect>) {
    let Mode::Edit(editor) = std::mem::replace(&mut app.mode, Mode::Review) else {
        return;
    };
    let text = editor.area.lines().join("\n");
    let id = editor.case_id;
    // What the editor opened with: the reviewer's own text, else the model's.
    let shown = app.case.as_ref().filter(|c| c.case.id == id).map(|c| {
        let own = own_text(c, app.draft(id));
        let j = c.judgment.as_ref().map(|j| &j.j);
        (
            own.rubric.or_else(|| j.and_then(|j| j.rubric.clone())),
            own.analysis.or_else(|| j.and_then(|j| j.analysis.clone())),
        )
    });
    let (shown_rubric, shown_analysis) = shown.unwrap_or_default();
    match editor.target {
        EditTarget::Answer(side) => {
            let current = app.case.as_ref().filter(|c| c.case.id == id).map(|c| {
                if side == Verdict::B {
                    &c.case.answer_b
                } else {
                    &c.case.answer_a
                }
            });
            if text.trim().is_empty() {
                app.warn("an answer cannot be empty: nothing saved");
            } else if current.is_some_and(|t| sanitize::visible(t).replace('\t', "    ") == text) {
                app.info("answer unchanged");
            } else {
                fx.push(Effect::AddRevision {
                    case_id: id,
                    side,
                    body: text,
                });
            }
            return;
        }
        EditTarget::Derive { rejected } => {
            if text.trim().is_empty() {
                app.warn("the chosen answer is empty: nothing derived");
            } else {
                fx.push(Effect::DeriveCase {
                    parent: id,
                    rejected,
                    chosen: text,
                });
            }
            return;
        }
        EditTarget::Collection => {
            let name = text.lines().next().unwrap_or("").trim().to_string();
            if name.is_empty() {
                app.warn("no collection name: nothing tagged");
            } else {
                app.last_collection = Some(name.clone());
                fx.push(Effect::Tag {
                    case_id: id,
                    collection: name,
                });
            }
            return;
        }
        EditTarget::FlagReason => {
            let reason = text.trim().to_string();
            if reason.is_empty() {
                app.warn("no reason given: f flags without one");
                return;
            }
            let c = app.case.as_ref().filter(|c| c.case.id == id);
            fx.push(Effect::AppendReview(NewReview {
                case_id: id,
                reviewer: app.reviewer.clone(),
                action: Some(ReviewAction::Flag),
                flagged: Some(true),
                flag_reason: Some(reason),
                seconds_spent: seconds_spent(app),
                judgment_id: c.and_then(|c| c.judgment.as_ref()).map(|j| j.id),
                ..Default::default()
            }));
            return;
        }
        EditTarget::Note => {
            let review = NewReview {
                case_id: id,
                reviewer: app.reviewer.clone(),
                action: Some(ReviewAction::Note),
                note: Some(text),
                seconds_spent: seconds_spent(app),
                judgment_id: app
                    .case
                    .as_ref()
                    .filter(|c| c.case.id == id)
                    .and_then(|c| c.judgment.as_ref())
                    .map(|j| j.id),
                ..Default::default()
            };
            append_review(app, review, fx);
            return;
        }
        // Unchanged leaves everything as it was (an earlier edit stays the reviewer's).
        EditTarget::Rubric => {
            if editor_form(shown_rubric.as_deref().unwrap_or("")) == text {
                app.info("rubric unchanged");
            } else {
                app.drafts.entry(id).or_default().rubric = Some(text.clone());
                fx.push(Effect::SaveRubric {
                    case_id: id,
                    body: text,
                });
            }
        }
        EditTarget::Analysis => {
            if editor_form(shown_analysis.as_deref().unwrap_or("")) == text {
                app.info("analysis unchanged");
            } else {
                app.drafts.entry(id).or_default().analysis = Some(text);
                app.info("analysis edit kept; a / 1-4 decide with it");
            }
        }
    }
    if app.drafts.get(&id).is_some_and(Draft::is_empty) {
        app.drafts.remove(&id);
    }
    refresh_judge_doc(app);
}

/// The position where a pane's text is drawn from, given whether it follows its end.
pub fn draw_top(pane: &Pane, width: u16, height: usize) -> Pos {
    if pane.follow {
        pane.doc.bottom(width, height)
    } else {
        pane.doc.clamp(pane.top, width, height)
    }
}

/// The first queue row shown: the selection stays in the middle of the pane once the
/// list is longer than the pane.
pub fn queue_top(cursor: usize, len: usize, height: u16) -> usize {
    let h = height as usize;
    if len <= h {
        return 0;
    }
    cursor.saturating_sub(h / 2).min(len - h)
}
