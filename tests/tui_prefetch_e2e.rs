//! End to end in tmux with the real default model and `review --prefetch-sequences 2`: while
//! case 1 streams, case 2 is judged beside it (the status line says `+#2`); moving onto case
//! 2 mid-stream shows its stream at once and starts case 3 beside it; both stored.
//!
//! Needs tmux and the model file (`scripts/fetch-model.sh`, or RUBRICATE_MODEL).

mod tmux_support;

use rusqlite::Connection;
use tmux_support::{Tmux, model_path, position};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

#[test]
fn the_next_case_streams_beside_the_open_one_in_tmux() {
    let model = model_path();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let state = dir.path().join("state");
    let log = state.join("rubricate/logs/rubricate.log");
    let cmd = format!(
        "env XDG_STATE_HOME='{}' TERM=xterm-256color '{BIN}' --db '{}' --reviewer e2e review \
         --prefetch-sequences 2 --threads 2 --model '{}'; echo RUBRICATE-EXITED:$?; sleep 600",
        state.display(),
        db.display(),
        model.display()
    );
    let tmux = Tmux::start(&cmd, log);
    tmux.wait("the empty-database screen", |s| {
        s.contains("This database has no cases yet")
    });
    tmux.keys(&["i"]);
    // Case 1 is judged and case 2 beside it.
    tmux.wait("two jobs at once", |s| {
        position(s).as_deref() == Some("1/34") && s.contains("#1 +#2")
    });
    // Onto case 2 while it is being judged: its job becomes the visible one, case 3 starts.
    tmux.keys(&["j"]);
    tmux.wait("case 2 first, case 3 beside it", |s| {
        position(s).as_deref() == Some("2/34")
            && (s.contains("#2 +#3") || s.contains("model verdict: "))
    });
    tmux.wait("case 2's verdict", |s| {
        s.lines()
            .any(|l| l.contains("model verdict: ") && !l.contains("(streaming)"))
    });
    tmux.keys(&["q"]);
    let end = tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:"));
    assert!(end.contains("RUBRICATE-EXITED:0"), "exit status:\n{end}");
    let conn = Connection::open(&db).unwrap();
    let judged: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM judgments WHERE case_id = 2 AND swapped = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(judged, 1, "case 2 judged once and stored");
}
