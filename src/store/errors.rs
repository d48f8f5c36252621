//! SQLite failures turned into messages that say what happened to which file and what to
//! do next. The raw SQLite text stays in the message as the last part, for reports.

use rusqlite::ErrorCode;
use std::path::{Path, PathBuf};

/// Seconds SQLite waits for another connection's lock before giving up (the busy timeout).
pub const LOCK_WAIT_SECS: u64 = 5;

/// A rusqlite error's own message, without the SQL text some variants carry.
pub fn short_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { error, msg, .. } => format!("{msg} ({error})"),
        rusqlite::Error::SqliteFailure(f, Some(msg)) => format!("{msg} ({f})"),
        other => other.to_string(),
    }
}

/// The SQLite failure in an error chain, if any: primary code and extended code.
fn sqlite_failure(e: &anyhow::Error) -> Option<(ErrorCode, i32)> {
    e.chain()
        .find_map(|c| match c.downcast_ref::<rusqlite::Error>() {
            Some(rusqlite::Error::SqliteFailure(f, _)) => Some((f.code, f.extended_code)),
            _ => None,
        })
}

// Extended I/O error codes that mean a write could not get disk space (see sqlite3.h).
const SQLITE_IOERR_WRITE: i32 = 10 | (3 << 8);
const SQLITE_IOERR_FSYNC: i32 = 10 | (4 << 8);
const SQLITE_IOERR_TRUNCATE: i32 = 10 | (6 << 8);
const SQLITE_IOERR_SHMSIZE: i32 = 10 | (19 << 8);
const SQLITE_IOERR_SHMMAP: i32 = 10 | (21 << 8);

/// If `e` is a database failure with a known cause, the message to show instead of
/// SQLite's own ("disk I/O error: Error code 4874"), naming `db` and the next step.
pub fn explain(e: &anyhow::Error, db: &Path) -> Option<String> {
    let (code, extended) = sqlite_failure(e)?;
    let shown = db.display();
    Some(match code {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            let holders = lock_holders(db);
            let who = if holders.is_empty() {
                "another program".to_string()
            } else {
                holders.join(", ")
            };
            format!(
                "the database {shown} is locked by {who}: waited {LOCK_WAIT_SECS} s for it. \
                 The write that waited was not made; what was saved before is intact. Let that program \
                 finish (or close it), then run this command again."
            )
        }
        ErrorCode::DiskFull => disk_full(db),
        ErrorCode::SystemIoFailure
            if matches!(
                extended,
                SQLITE_IOERR_WRITE
                    | SQLITE_IOERR_FSYNC
                    | SQLITE_IOERR_TRUNCATE
                    | SQLITE_IOERR_SHMSIZE
                    | SQLITE_IOERR_SHMMAP
            ) && free_bytes(db).is_some_and(|b| b < 1 << 20) =>
        {
            disk_full(db)
        }
        ErrorCode::SystemIoFailure => format!(
            "reading or writing the database {shown} failed at the operating-system level (SQLite \
             extended code {extended}): the disk may be full, failing or disconnected. Check free space \
             (`df`) and the system log, then run the command again; what was committed before is intact."
        ),
        ErrorCode::ReadOnly => {
            let dir = folder(db);
            format!(
                "the database {shown} cannot be written: the file, its folder {} (SQLite creates \
                 {name}-wal and {name}-shm there) or the disk is read-only. Nothing was changed. \
                 Make them writable (`chmod u+w`), or copy the database to a writable place and pass --db.",
                dir.display(),
                name = db.file_name().map_or("".into(), |n| n.to_string_lossy()),
            )
        }
        ErrorCode::CannotOpen => format!(
            "cannot open the database {shown}: the folder {} may not exist or not be accessible. \
             Check the path and its permissions, or pass --db with another path.",
            folder(db).display()
        ),
        ErrorCode::NotADatabase => format!(
            "{shown} is not a SQLite database (or it is encrypted or damaged); nothing was changed. \
             Point --db at a rubricate database, or at a new path to create one."
        ),
        ErrorCode::DatabaseCorrupt => format!(
            "the database {shown} is damaged (SQLite reports corruption). Keep a copy of the file; \
             `sqlite3 {shown} .recover` can often rescue its contents into a new database."
        ),
        _ => return None,
    })
}

fn folder(db: &Path) -> PathBuf {
    match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn disk_full(db: &Path) -> String {
    let free = free_bytes(db).map_or(String::new(), |b| format!(" ({} KiB free)", b / 1024));
    format!(
        "the disk holding the database {} is full{free}; the transaction was rolled back and what was \
         committed before is intact. Free some space there, then run the command again.",
        db.display()
    )
}

/// Free bytes for an unprivileged user on the file system holding `db`.
#[cfg(unix)]
fn free_bytes(db: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = folder(db);
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_db: &Path) -> Option<u64> {
    None
}

/// Other processes that have the database (or its WAL) open, as "pid 123 (rubricate review)".
/// Linux only (read from /proc); elsewhere, or without permission, the list is empty.
pub fn lock_holders(db: &Path) -> Vec<String> {
    let Ok(target) = db.canonicalize() else {
        return Vec::new();
    };
    let wal = PathBuf::from(format!("{}-wal", target.display()));
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let open = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|l| l == target || l == wal);
        if open {
            let cmd = std::fs::read(p.path().join("cmdline"))
                .map(|b| {
                    b.split(|&c| c == 0)
                        .filter(|a| !a.is_empty())
                        .take(3)
                        .enumerate()
                        .map(|(i, a)| {
                            let a = String::from_utf8_lossy(a);
                            // The program's file name, not its whole path.
                            match i {
                                0 => a.rsplit('/').next().unwrap_or(&a).to_string(),
                                _ => a.into_owned(),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            found.push(format!(
                "pid {pid} ({})",
                crate::sanitize::visible_line(&cmd)
            ));
        }
    }
    found
}
