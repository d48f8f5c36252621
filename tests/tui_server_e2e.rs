//! End to end, in a real terminal, against a real llama-server: the workbench started with
//! `--judge-url` streams a judgment into the judge pane (the default `rubricate` profile,
//! then `--profile rm-r1`), shows the verdict read from the server's logprobs, quits
//! cleanly, and the stored judgments carry the profile and the server they came from.
//!
//! Needs tmux, the default model and llama-server (scripts/build-llama-server.sh).

mod server_support;
mod tmux_support;

use rusqlite::Connection;
use server_support::LlamaServer;
use std::path::Path;
use std::process::Command;
use tmux_support::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

/// The final (not streaming) model verdict on screen, if any.
fn verdict_on_screen(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains("model verdict: "))?;
    if line.contains("(streaming)") {
        return None;
    }
    let rest = line.split("model verdict: ").nth(1)?;
    let v = rest.split_whitespace().next()?;
    ["A", "B", "tie"].contains(&v).then(|| v.to_string())
}

/// The judge pane's title while a judgment streams: "judging · <section> · N tok".
fn streaming_section(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains("Judge · judging · "))?;
    let rest = line.split("Judge · judging · ").nth(1)?;
    let mut parts = rest.split(" · ");
    let section = parts.next()?.trim().to_string();
    let tok = parts.next()?;
    tok.contains(" tok").then_some(section)
}

fn import_sample(dir: &Path, db: &Path) {
    let out = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args([
            "import",
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample/cases.jsonl"),
        ])
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workbench_streams_from_a_real_llama_server_with_the_default_and_rm_r1_profiles() {
    let server = LlamaServer::start(None);
    let url = server.url();
    for (profile, extra) in [("rubricate", ""), ("rm-r1", "--max-tokens 48")] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e2e.db");
        import_sample(dir.path(), &db);
        let state = dir.path().join("state");
        let log = state.join("rubricate/logs/rubricate.log");
        let cmd = format!(
            "env -u RUBRICATE_API_KEY -u RUBRICATE_PROFILE XDG_STATE_HOME='{}' XDG_CONFIG_HOME='{}' TERM=xterm-256color \
             '{BIN}' --db '{}' --reviewer e2e review --judge-url '{url}' --profile {profile} {extra}; \
             echo RUBRICATE-EXITED:$?; sleep 600",
            state.display(),
            dir.path().join("config").display(),
            db.display(),
        );
        let tmux = Tmux::start(&cmd, log);
        // Text streams into the judge pane (its title names the section and counts tokens).
        let s = tmux.wait("a judgment streaming from the server", |s| {
            streaming_section(s).is_some() || verdict_on_screen(s).is_some()
        });
        if let Some(section) = streaming_section(&s) {
            assert!(!section.is_empty(), "{s}");
        }
        let s = tmux.wait("the verdict from the server", |s| {
            verdict_on_screen(s).is_some()
        });
        // The verdict comes with the probabilities read from the server's top logprobs.
        let line = s.lines().find(|l| l.contains("model verdict: ")).unwrap();
        assert!(
            line.contains("A ") && line.contains('%') && !line.contains("no probabilities"),
            "{profile}: {s}"
        );
        tmux.keys(&["q"]);
        let end = tmux.wait("a clean exit", |s| s.contains("RUBRICATE-EXITED:"));
        assert!(end.contains("RUBRICATE-EXITED:0"), "exit status:\n{end}");

        let conn = Connection::open(&db).unwrap();
        let (p, backend, server_url, hash): (String, String, String, String) = conn
            .query_row(
                "SELECT profile, backend, server_url, profile_hash FROM judgments ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(p, profile);
        assert_eq!(backend, "openai");
        assert_eq!(server_url, url);
        assert_eq!(
            hash,
            rubricate::judge::profile::Profile::builtin(profile)
                .unwrap()
                .hash
        );
    }
}
