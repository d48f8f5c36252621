//! Reading and finding cases in a real terminal (tmux, the release binary, a real SQLite
//! file, no model): go to a case by source id, its last user turn on screen at 80×24,
//! search with next / previous match, zoom, and the header's done/total.

mod tmux_support;

use std::path::PathBuf;
use std::process::Command;
use tmux_support::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

fn open() -> (tempfile::TempDir, Tmux, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("read.db");
    let state = dir.path().join("state");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl");
    let import = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "import", sample])
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    let cmd = format!(
        "env XDG_STATE_HOME='{}' XDG_CONFIG_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer reader \
         review --model '{}'; echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        state.join("config").display(),
        db.display(),
        dir.path().join("no-such-model.gguf").display()
    );
    let tmux = Tmux::start(&cmd, state.join("rubricate/logs/rubricate.log"));
    tmux.wait("the workbench without a model", |s| {
        s.contains("no-such-model.gguf") && s.contains("Prompt · case")
    });
    (dir, tmux, db)
}

/// "match K of N" in the hint line.
fn match_no(screen: &str) -> Option<(u32, u32)> {
    let rest = screen.split("match ").nth(1)?;
    let mut nums = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty());
    let k = nums.next()?.parse().ok()?;
    let n = nums.next()?.parse().ok()?;
    rest.contains(" of ").then_some((k, n))
}

fn case_on_screen(screen: &str) -> Option<i64> {
    let rest = screen.split("Prompt · case ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn status(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

#[test]
fn go_to_search_zoom_and_progress_in_a_real_terminal() {
    let (_dir, tmux, _db) = open();
    tmux.wait("done 0/34 in the header", |s| {
        status(s).contains("done 0/34")
    });

    // Go to the multi-turn Lisbon case by its source id.
    tmux.keys(&[":"]);
    tmux.wait("the go-to prompt", |s| s.contains("go to case:"));
    tmux.text("sample-023");
    tmux.keys(&["Enter"]);
    tmux.wait("the Lisbon case", |s| {
        s.contains("Lisbon") || s.contains("vegetarian")
    });
    // At 80×24 the last user turn is on screen, not just a role line.
    tmux.resize(80, 24);
    tmux.wait("the last user turn at 80x24", |s| {
        s.lines().count() <= 25 && s.contains("I'm vegetarian. Will I struggle")
    });
    tmux.resize(160, 48);

    // Search, next and previous match.
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search:"));
    tmux.text("python");
    tmux.keys(&["Enter"]);
    let s = tmux.wait("a match", |s| match_no(s).is_some());
    let (k, n) = match_no(&s).unwrap();
    assert!(n >= 2, "{s}");
    let before = case_on_screen(&s);
    tmux.keys(&["N"]);
    let prev = if k == 1 { n } else { k - 1 };
    let s = tmux.wait("the previous match", |s| match_no(s) == Some((prev, n)));
    assert_ne!(case_on_screen(&s), before, "{s}");
    tmux.keys(&["Enter"]);
    tmux.wait("the next match again", |s| match_no(s) == Some((k, n)));
    // `/` offers the last query again.
    tmux.keys(&["/"]);
    tmux.wait("the last query offered", |s| s.contains("search: python"));
    tmux.keys(&["Escape"]);
    tmux.wait("the prompt closed", |s| !s.contains("search: python"));

    // Zoom the focused answer, and back.
    tmux.keys(&["z"]);
    tmux.wait("the zoomed pane", |s| {
        s.contains("zoom: z / Esc back") && !s.contains("Judge ·")
    });
    tmux.keys(&["Escape"]);
    tmux.wait("all panes again", |s| {
        !s.contains("zoom: z / Esc back") && s.contains("Judge ·")
    });

    // A decision counts in the header once it is written.
    tmux.keys(&["1"]);
    tmux.wait("done 1/34", |s| status(s).contains("done 1/34"));
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
}

#[test]
fn a_long_paste_arrives_whole_and_the_next_key_is_not_held_back() {
    let (_dir, tmux, db) = open();
    // 10k characters into the search prompt, then Enter: the search runs at once.
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search:"));
    let long: String = (0..1000).map(|i| format!("q{:08}", i)).collect();
    assert_eq!(long.len(), 9_000);
    let long = format!("{long}{}", "z".repeat(1_000));
    tmux.paste(&long);
    tmux.wait("the paste in the prompt", |s| s.contains("zzzzzzzzzz█"));
    tmux.keys(&["Enter"]);
    tmux.wait("the search result right after the paste", |s| {
        s.contains("no case contains")
    });
    // Esc after a paste closes the prompt at once.
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search:"));
    tmux.keys(&["C-u"]);
    tmux.paste(&"y".repeat(10_000));
    tmux.wait("the second paste", |s| s.contains("yyyyyyyyyy█"));
    tmux.keys(&["Escape"]);
    tmux.wait("the prompt closed", |s| !s.contains("search:"));

    // A multi-line paste into the note editor is kept whole, line breaks included.
    let note: String = (0..200)
        .map(|i| format!("line {i:03} of the pasted note\n"))
        .collect();
    tmux.keys(&["n"]);
    tmux.wait("the note editor", |s| s.contains("Note on this case"));
    tmux.paste(&note);
    tmux.keys(&["C-s"]);
    tmux.wait("the note saved", |s| !s.contains("Note on this case"));
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:0"));
    let store = rubricate::store::Store::open(&db).unwrap();
    let mut notes = Vec::new();
    store
        .for_each_review(|r| {
            if let Some(n) = r.note {
                notes.push(n);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].trim_end(), note.trim_end());
}
