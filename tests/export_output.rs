//! `export --out` never clobbers what it should not: links, FIFOs and devices, read-only
//! files, files that are not an earlier export; it keeps a replaced file's mode, and `-`
//! is stdout.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rubricate");

fn sample_db(dir: &Path) -> PathBuf {
    let db = dir.join("out.db");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample/cases.jsonl");
    let o = Command::new(BIN)
        .env_remove("RUBRICATE_DB")
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg(sample)
        .output()
        .unwrap();
    assert!(o.status.success());
    db
}

fn export(db: &Path, out: &str, extra: &[&str]) -> Output {
    Command::new(BIN)
        .env_remove("RUBRICATE_DB")
        .env_remove("RUBRICATE_REVIEWER")
        .arg("--db")
        .arg(db)
        .args([
            "export", "--format", "dpo", "--from", "labels", "--out", out,
        ])
        .args(extra)
        .current_dir(db.parent().unwrap())
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

/// No `.rubricate-export-*` temp file is left behind in `dir`.
fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".rubricate-export-"),
            "left behind: {name}"
        );
    }
}

#[test]
fn an_earlier_export_is_replaced_anything_else_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let out = dir.path().join("dpo.jsonl");
    let first = export(&db, "dpo.jsonl", &[]);
    assert!(first.status.success(), "{}", err(&first));
    assert_eq!(lines(&out), 28);
    // The same export again replaces its own earlier output.
    let again = export(&db, "dpo.jsonl", &[]);
    assert!(again.status.success(), "{}", err(&again));

    // Edited since: refused, and left exactly as it was.
    std::fs::write(&out, "my notes\n").unwrap();
    let o = export(&db, "dpo.jsonl", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("not an earlier export") && err(&o).contains("--force"),
        "{}",
        err(&o)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my notes\n");
    no_temp_files(dir.path());

    // A file of the user's own with private permissions: --force replaces it, mode kept.
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = export(&db, "dpo.jsonl", &["--force"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(lines(&out), 28);
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The export of another database is not this one's: refused.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let other_db = sample_db(&other);
    let o = export(&other_db, out.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));

    // An empty file (from `touch` or `mktemp`) holds nothing to lose.
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    assert!(export(&db, "empty.jsonl", &[]).status.success());
    assert_eq!(lines(&empty), 28);
}

#[test]
fn a_read_only_file_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let out = dir.path().join("kept.jsonl");
    assert!(export(&db, "kept.jsonl", &[]).status.success());
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&out).unwrap();
    std::fs::write(dir.path().join("ignored"), "").unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let o = export(&db, "kept.jsonl", extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}");
        assert!(err(&o).contains("read-only"), "{}", err(&o));
    }
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o444
    );
    no_temp_files(dir.path());
}

#[test]
fn symbolic_links_to_files_are_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let target = dir.path().join("target.jsonl");
    assert!(export(&db, "target.jsonl", &[]).status.success());
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = export(&db, "link.jsonl", &["--force"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("symbolic link") && err(&o).contains("target.jsonl"),
        "{}",
        err(&o)
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A dangling link.
    let dangling = dir.path().join("dangling.jsonl");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let o = export(&db, "dangling.jsonl", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!dir.path().join("nowhere").exists());
    // A folder.
    let o = export(&db, ".", &[]);
    assert!(err(&o).contains("is a folder"), "{}", err(&o));
}

#[test]
fn fifos_and_devices_are_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = export(&db, "pipe", &[]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(reader.join().unwrap().lines().count(), 28);
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );

    // A full device is an error, and stays a device.
    let o = export(&db, "/dev/full", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("/dev/full") && err(&o).contains("No space"),
        "{}",
        err(&o)
    );
    assert!(
        std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(export(&db, "/dev/null", &[]).status.success());
    no_temp_files(Path::new("/dev"));
}

#[test]
fn dash_and_dev_stdout_mean_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample_db(dir.path());
    for out in ["-", "/dev/stdout"] {
        let o = Command::new(BIN)
            .env_remove("RUBRICATE_DB")
            .arg("--db")
            .arg(&db)
            .args([
                "export", "--format", "dpo", "--from", "labels", "--out", out,
            ])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert!(o.status.success(), "{out}: {}", err(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).lines().count(),
            28,
            "{out}"
        );
    }
    assert!(!dir.path().join("-").exists(), "wrote a file named -");
    assert!(
        std::fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
