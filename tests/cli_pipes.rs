//! Every subcommand exits quietly when the reader of its output goes away
//! (`rubricate stats --json | head -1`), instead of panicking with status 101.

use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rubricate"));
    cmd.env_remove("RUBRICATE_DB")
        .env_remove("RUBRICATE_REVIEWER");
    cmd
}

/// Run with stdout (and with `close_stderr`, stderr too) connected to a pipe whose reading
/// end is already closed, so the first write fails with EPIPE. Returns the exit code and
/// what stderr said (empty when stderr was closed too).
fn with_closed_pipe(args: &[&str], db: &Path, close_stderr: bool) -> (Option<i32>, String) {
    let mut child = bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rubricate runs");
    drop(child.stdout.take());
    if close_stderr {
        drop(child.stderr.take());
    }
    let out = child.wait_with_output().expect("rubricate ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The same through a shell pipeline into `head -1`, as a user would type it.
fn through_head(args: &str, db: &Path) -> (String, String) {
    let bin = env!("CARGO_BIN_EXE_rubricate");
    let script = format!(
        "'{bin}' --db '{}' {args} 2>err.txt | head -1; echo \"status ${{PIPESTATUS[0]}}\" >&2; cat err.txt >&2",
        db.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(db.parent().unwrap())
        .output()
        .expect("bash runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sample_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("pipes.db");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg(&sample)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn assert_quiet(what: &str, (code, err): (Option<i32>, String)) {
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{what}: {err}"
    );
    assert_eq!(code, Some(0), "{what} exited with {code:?}: {err}");
}

#[test]
fn every_subcommand_survives_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl");
    let sample = sample.to_str().unwrap();
    let runs: &[&[&str]] = &[
        &["stats"],
        &["stats", "--json"],
        &["export", "--format", "dpo", "--from", "labels"],
        &["export", "--format", "rm-r1-rl", "--from", "labels"],
        &["export", "--format", "reviews"],
        &["import", sample],
        &["--help"],
        &["import", "--help"],
        &["--version"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in runs {
        assert_quiet(&format!("{args:?}"), with_closed_pipe(args, &db, false));
        // With stderr gone too, nothing is left to complain to: still no panic.
        let (code, _) = with_closed_pipe(args, &db, true);
        assert_eq!(code, Some(0), "{args:?} with stderr closed");
    }
}

#[test]
fn a_failed_import_with_closed_output_still_says_nothing_was_imported_by_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"prompt\": \"p\"}\nnot json\n").unwrap();
    let (code, err) = with_closed_pipe(&["import", bad.to_str().unwrap()], &db, true);
    assert_eq!(code, Some(1), "{err}");
}

#[test]
fn piping_into_head_prints_one_line_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    for args in [
        "stats --json",
        "stats",
        "export --format dpo --from labels",
        "export --format judgments",
    ] {
        let (out, err) = through_head(args, &db);
        assert!(out.lines().count() <= 1, "{args}: {out}");
        assert!(err.contains("status 0"), "{args}: {err}");
        assert!(!err.contains("panicked"), "{args}: {err}");
    }
}

#[test]
fn the_model_description_survives_a_closed_stdout() {
    let model = rubricate::paths::default_model().unwrap();
    assert!(
        model.exists(),
        "the default model is needed at {} (scripts/setup.sh fetches it)",
        model.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    assert_quiet("model", with_closed_pipe(&["model"], &db, false));
    assert_quiet(
        "model --json",
        with_closed_pipe(&["model", "--json"], &db, false),
    );
    // The JSON form has the documented keys and the verified default model.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .args(["model", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["default_model_verified"], true);
    assert!(v["prefix_tokens"].as_u64().unwrap() > 0);
    // The kernels the linked llama.cpp was built for: on x86-64 at least the portable AVX2 set.
    let cpu: Vec<&str> = v["cpu_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    if cfg!(target_arch = "x86_64") {
        assert!(cpu.contains(&"avx2") || cpu.contains(&"avx512f"), "{cpu:?}");
    }
    // The build switch this test run was compiled under (scripts/cpu-env.sh exports
    // GGML_AVX512=ON for RUBRICATE_CPU=avx512, and scripts/test.sh runs this test both ways):
    // what build.rs recorded and what the linked ggml reports must both follow it.
    let switched_on = std::env::var("GGML_AVX512").is_ok_and(|v| v == "ON");
    assert_eq!(cpu.contains(&"avx512f"), switched_on, "{cpu:?}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_rubricate"))
        .arg("model")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let kernels = text
        .lines()
        .find(|l| l.starts_with("cpu kernels"))
        .unwrap_or_else(|| panic!("no cpu kernels line in:\n{text}"));
    let expected = if switched_on {
        "(AVX-512 build)"
    } else {
        "(AVX-512 off;"
    };
    assert!(kernels.contains(expected), "{kernels}");
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli-json.md"))
            .unwrap();
    for key in v.as_object().unwrap().keys() {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/cli-json.md lacks `{key}`"
        );
    }
}
