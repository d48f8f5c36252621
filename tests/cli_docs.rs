//! `rubricate completions` and `rubricate man` come from the same clap definitions as
//! `--help`: every subcommand and flag is in them, and the scripts are valid for their shell.

use clap::CommandFactory;
use rubricate::cli::Cli;
use std::process::Command;

fn rubricate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .args(args)
        .env_remove("RUBRICATE_DB")
        .output()
        .expect("rubricate runs")
}

fn text(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Every subcommand name and every long flag the CLI defines.
fn names() -> (Vec<String>, Vec<String>) {
    let cmd = Cli::command();
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut flags = Vec::new();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                flags.push(format!("--{long}"));
            }
        }
    }
    (subs, flags)
}

#[test]
fn completions_cover_every_subcommand_and_flag() {
    let (subs, flags) = names();
    assert!(flags.iter().any(|f| f == "--skip-invalid"));
    for shell in ["bash", "zsh", "fish"] {
        let script = text(&rubricate(&["completions", shell]));
        for s in subs.iter().filter(|s| *s != "help") {
            assert!(
                script.contains(s.as_str()),
                "{shell}: subcommand {s} missing"
            );
        }
        for f in &flags {
            // fish writes `-l skip-invalid` rather than `--skip-invalid`.
            let bare = f.trim_start_matches('-');
            assert!(script.contains(bare), "{shell}: flag {f} missing");
        }
    }
}

#[test]
fn bash_completion_script_parses_and_completes_subcommands() {
    let script = text(&rubricate(&["completions", "bash"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rubricate.bash");
    std::fs::write(&file, script).unwrap();
    // Load it and ask for the completions of `rubricate exp`, as bash would on Tab.
    let probe = format!(
        "source '{}'; COMP_WORDS=(rubricate exp); COMP_CWORD=1; _rubricate rubricate exp rubricate; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(words.lines().any(|w| w == "export"), "completions: {words}");
}

#[test]
fn man_page_lists_every_subcommand_and_each_has_its_own_page() {
    let (subs, _) = names();
    let page = text(&rubricate(&["man"]));
    assert!(page.contains(".TH rubricate 1"), "{page}");
    for s in subs.iter().filter(|s| *s != "help") {
        assert!(page.contains(s.as_str()), "main page lacks {s}");
        let sub = text(&rubricate(&["man", s]));
        assert!(sub.contains(&format!(".TH rubricate-{s} 1")), "{s}: {sub}");
    }
    let import = text(&rubricate(&["man", "import"]));
    assert!(import.contains("skip\\-invalid"), "{import}");
    let unknown = rubricate(&["man", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("import, export"));
}
