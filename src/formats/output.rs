//! Where `export --out` writes, decided before anything is written.
//!
//! - `-` is standard output.
//! - A FIFO, a character device (`/dev/null`, a terminal, `/dev/stdout`) or a socket is a
//!   stream: it is opened and written directly, never replaced by a regular file. A link
//!   that leads to one (`/dev/stdout` -> `/proc/self/fd/1` -> a pipe) is written through,
//!   since nothing is replaced.
//! - A regular file is written to a temporary file next to it and renamed into place, so an
//!   interrupted export never leaves half a file. An existing file keeps its permissions.
//!   It is replaced only when it is empty, or exactly what an earlier export from this
//!   database wrote there (path and SHA-256 recorded in the `exports` table), or with
//!   `--force`. A read-only file is never replaced.
//! - A symbolic link to a regular file, a dangling link, a directory and a block device are
//!   refused: replacing the link would leave its target untouched and the link gone.

use crate::store::Store;
use crate::store::exports::ExportRecord;
use anyhow::{Context as _, Result, bail};
use sha2::{Digest, Sha256};
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A decided destination.
#[derive(Debug)]
pub enum Target {
    Stdout,
    /// A FIFO, character device or socket, written in place.
    Stream(PathBuf),
    /// A regular file (new or replaced), written by temp + rename.
    File {
        path: PathBuf,
        /// The file being replaced, whose permissions the new one keeps.
        existing: Option<Metadata>,
    },
}

#[cfg(unix)]
fn is_stream(m: &Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    t.is_fifo() || t.is_char_device() || t.is_socket()
}

#[cfg(not(unix))]
fn is_stream(_m: &Metadata) -> bool {
    false
}

#[cfg(unix)]
fn is_block_device(m: &Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    m.file_type().is_block_device()
}

#[cfg(not(unix))]
fn is_block_device(_m: &Metadata) -> bool {
    false
}

/// SHA-256 (hex) of a file's content, read in chunks.
pub fn file_sha256(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The absolute form of a path for the `exports` table (the file need not exist yet).
pub fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let name = path.file_name().map(|n| n.to_os_string());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (dir.canonicalize(), name) {
        (Ok(d), Some(n)) => d.join(n),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Decide where `out` writes, or refuse with what to do instead. Nothing is written here.
pub fn decide(out: &Path, force: bool, store: &Store) -> Result<Target> {
    if out.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    let shown = out.display();
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Target::File {
                path: out.to_path_buf(),
                existing: None,
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot look at {shown}")),
    };
    if meta.file_type().is_symlink() {
        return match std::fs::metadata(out) {
            Ok(t) if is_stream(&t) => Ok(Target::Stream(out.to_path_buf())),
            Ok(t) if t.is_file() => {
                let target = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
                bail!(
                    "{shown} is a symbolic link to the file {}; rubricate does not replace links \
                     (the link would become a file and its target stay as it was). Nothing was written. \
                     Pass that file's own path to --out.",
                    target.display()
                )
            }
            Ok(_) => bail!(
                "{shown} is a symbolic link to a folder or device rubricate does not write to; nothing was written. \
                 Pass a file path to --out."
            ),
            Err(_) => bail!(
                "{shown} is a symbolic link to something that does not exist; nothing was written. \
                 Pass the path of the file you want to --out, or remove the link."
            ),
        };
    }
    if meta.is_dir() {
        bail!("{shown} is a folder; pass a file path to --out (e.g. {shown}/export.jsonl).");
    }
    if is_block_device(&meta) {
        bail!(
            "{shown} is a block device; rubricate does not write training data onto a disk. Pass a file path to --out."
        );
    }
    if is_stream(&meta) {
        return Ok(Target::Stream(out.to_path_buf()));
    }
    if meta.permissions().readonly() {
        bail!(
            "{shown} is read-only; rubricate does not replace a read-only file, --force or not. Nothing was written. \
             Make it writable (chmod u+w) if you mean to replace it, or choose another path."
        );
    }
    if !force && meta.len() > 0 {
        let hash = file_sha256(out).with_context(|| format!("cannot read {shown}"))?;
        if !store.is_previous_export(&absolute(out), &hash)? {
            bail!(
                "{shown} already exists and is not an earlier export from this database (or it was changed \
                 since); nothing was written. Pass --force to replace it, or choose another path."
            );
        }
    }
    Ok(Target::File {
        path: out.to_path_buf(),
        existing: Some(meta),
    })
}

/// Counts bytes and hashes them on their way to the file, so the export can be recorded
/// without reading the file back.
pub struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hash.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Write a regular file by temp + rename with `write`, keep the replaced file's
/// permissions, and record the result in the `exports` table. `write` returns the number
/// of records written. A failure to record is a warning: the file is written either way.
pub fn write_file<T>(
    store: &Store,
    path: &Path,
    existing: Option<&Metadata>,
    format: &str,
    write: impl FnOnce(&mut dyn Write) -> Result<(T, u64)>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rubricate-export-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A new file gets the usual 0666 less the umask, like any program's output.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    if let Some(old) = existing {
        // fchmod, not subject to the umask: a mode-600 file stays 600.
        tmp.as_file()
            .set_permissions(old.permissions())
            .with_context(|| format!("cannot set the permissions of the new {}", path.display()))?;
    }
    let mut w = Hashing::new(io::BufWriter::with_capacity(256 * 1024, tmp));
    let (value, records) = write(&mut w)?;
    let (buffered, sha256, bytes) = w.finish();
    let tmp = buffered.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let record = ExportRecord {
        path: &absolute(path),
        sha256: &sha256,
        bytes,
        records,
        format,
    };
    if let Err(e) = store.record_export(&record) {
        crate::errln!(
            "warning: {} was written, but the database could not record it ({e:#}); replacing it later needs --force",
            crate::sanitize::visible_line(&path.display().to_string())
        );
    }
    Ok(value)
}

/// Write to a FIFO or device in place (no temp file, no rename, nothing recorded).
pub fn write_stream<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {} for writing", path.display()))?;
    let mut w = io::BufWriter::with_capacity(256 * 1024, f);
    let value = write(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(value)
}
