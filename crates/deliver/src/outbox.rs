//! The outbox: one `<key>.eml` file per message in a directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::render::{build, formatted, message_id};
use crate::{DeliverError, OutgoingMessage, Receipt, Staged, Transport};

/// Writes each message as `<key>.eml` into a directory, for an operator to check and send by
/// hand, for a mail system that picks files up, or as an archive of what went out.
///
/// **Crash-safe:** the message is written to a temporary file in the same directory
/// (`.<key>.<pid>.<n>.tmp`), flushed to disk, then linked to `<key>.eml` and the directory
/// is flushed too; a crash leaves either no `<key>.eml` or a complete one, never a partial
/// file (at worst a stray `.tmp`, which readers of `*.eml` ignore). [`Outbox::new`] removes
/// the temporary files such a crash left: only names of exactly that pattern, and only those
/// of a process that is gone (see [`Outbox::new`]).
///
/// **Grouped:** [`Transport::stage`] writes the temporary file and waits; [`Transport::flush`]
/// then makes the whole group durable with one flush of the file system (Linux's `syncfs`;
/// elsewhere each file's own), links every file into place and flushes the directory once.
/// Two flushes per message cost a few milliseconds each, which at ten thousand messages was
/// most of a national fan-out; the order (file, then name, then outcome) is the same.
///
/// **Idempotent:** if `<key>.eml` exists the message is not written again and the receipt
/// says `already_delivered: true`. The final step is a hard link, which unlike a rename never
/// replaces a file, so two processes delivering the same key at once write it once. On file
/// systems without hard links it falls back to a rename after checking the name is free.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    /// Staged messages waiting for [`Transport::flush`].
    waiting: Vec<Waiting>,
}

/// A staged message: its file written, not yet durable nor in place.
#[derive(Debug)]
struct Waiting {
    key: String,
    message_id: String,
    path: PathBuf,
    temp: TempFile,
}

/// Makes temporary names unique within the process; the pid makes them unique across.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Outbox {
    /// An outbox writing into `dir`, which is created if missing.
    ///
    /// Removes the temporary files an interrupted delivery left in `dir`: names of the form
    /// `.<key>.<pid>.<n>.tmp` that this crate writes, whose process is not this one and has
    /// ended (on Linux, no `/proc/<pid>`) or whose file was last written over an hour ago
    /// (elsewhere, or when the pid has been reused). Other files are never touched, and a
    /// temporary file that cannot be removed is logged and left.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, DeliverError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| DeliverError::io("create directory", &dir, e))?;
        remove_stale_temp_files(&dir);
        Ok(Outbox {
            dir,
            waiting: Vec::new(),
        })
    }

    /// The directory messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the message with `key` is (or would be) written: `<dir>/<key>.eml`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.eml"))
    }

    /// The receipt for a message of `path`.
    fn receipt(message_id: String, path: &Path, already: bool) -> Receipt {
        Receipt {
            message_id,
            destination: path.display().to_string(),
            already_delivered: already,
        }
    }

    /// Writes `msg` to a temporary file, not yet flushed; `Err(receipt)` when the outbox
    /// holds it already.
    fn write_temp(&self, msg: &OutgoingMessage) -> Result<Result<Waiting, Receipt>, DeliverError> {
        // Validates the key before it becomes part of a path.
        let message_id = message_id(msg)?;
        let path = self.path_for(&msg.key);
        if path
            .try_exists()
            .map_err(|e| DeliverError::io("check", &path, e))?
        {
            tracing::debug!(key = %msg.key, path = %path.display(), "already in the outbox");
            return Ok(Err(Self::receipt(message_id, &path, true)));
        }
        let bytes = formatted(&build(msg)?);
        let temp = TempFile::create(&self.dir, &msg.key)?;
        temp.write(&bytes)?;
        Ok(Ok(Waiting {
            key: msg.key.clone(),
            message_id,
            path,
            temp,
        }))
    }

    /// Links a written and flushed message into place: whether the outbox held it already.
    fn place(&self, w: Waiting) -> Result<Receipt, DeliverError> {
        let Waiting {
            key,
            message_id,
            path,
            temp,
        } = w;
        let already = match fs::hard_link(&temp.path, &path) {
            Ok(()) => false,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => true,
            Err(_) => {
                // No hard links on this file system: fall back to a rename, which is atomic
                // but could replace a file written by a concurrent process in between.
                if path
                    .try_exists()
                    .map_err(|e| DeliverError::io("check", &path, e))?
                {
                    true
                } else {
                    fs::rename(&temp.path, &path)
                        .map_err(|e| DeliverError::io("rename into place", &path, e))?;
                    false
                }
            }
        };
        drop(temp);
        tracing::info!(key = %key, path = %path.display(), already, "written to the outbox");
        Ok(Self::receipt(message_id, &path, already))
    }
}

impl Transport for Outbox {
    fn deliver(&mut self, msg: &OutgoingMessage) -> Result<Receipt, DeliverError> {
        let w = match self.write_temp(msg)? {
            Ok(w) => w,
            Err(already) => return Ok(already),
        };
        w.temp.sync()?;
        let receipt = self.place(w)?;
        sync_dir(&self.dir)?;
        Ok(receipt)
    }

    fn stage(&mut self, msg: &OutgoingMessage) -> Staged {
        match self.write_temp(msg) {
            Ok(Ok(w)) => {
                self.waiting.push(w);
                Staged::Waiting
            }
            Ok(Err(already)) => Staged::Done(Ok(already)),
            Err(e) => Staged::Done(Err(e)),
        }
    }

    fn flush(&mut self) -> Vec<(String, Result<Receipt, DeliverError>)> {
        let waiting = std::mem::take(&mut self.waiting);
        if waiting.is_empty() {
            return Vec::new();
        }
        let failed = |waiting: Vec<Waiting>, e: &DeliverError| {
            // the temporary files go with them: nothing was delivered
            waiting
                .into_iter()
                .map(|w| (w.key, Err(copy_io(e))))
                .collect()
        };
        if let Err(e) = sync_files(&self.dir, &waiting) {
            return failed(waiting, &e);
        }
        let mut out: Vec<(String, Result<Receipt, DeliverError>)> = waiting
            .into_iter()
            .map(|w| (w.key.clone(), self.place(w)))
            .collect();
        if let Err(e) = sync_dir(&self.dir) {
            // in place, perhaps not durable: not delivered; a later run finds them
            for (_, r) in &mut out {
                if r.is_ok() {
                    *r = Err(copy_io(&e));
                }
            }
        }
        tracing::debug!(dir = %self.dir.display(), messages = out.len(), "outbox flushed");
        out
    }

    fn describe(&self) -> String {
        format!("outbox {}", self.dir.display())
    }
}

/// The same outbox error again, for each message of a group it failed.
fn copy_io(e: &DeliverError) -> DeliverError {
    match e {
        DeliverError::Io {
            action,
            path,
            source,
        } => DeliverError::io(
            action,
            path,
            io::Error::new(source.kind(), source.to_string()),
        ),
        other => DeliverError::io("flush", "", io::Error::other(other.to_string())),
    }
}

/// Flushes the written files of `waiting` to disk: on Linux the file system holding `dir`
/// in one call, elsewhere file by file.
fn sync_files(dir: &Path, waiting: &[Waiting]) -> Result<(), DeliverError> {
    #[cfg(target_os = "linux")]
    {
        let _ = waiting;
        File::open(dir)
            .and_then(|d| rustix::fs::syncfs(&d).map_err(io::Error::from))
            .map_err(|e| DeliverError::io("flush to disk", dir, e))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        waiting.iter().try_for_each(|w| w.temp.sync())
    }
}

/// A temporary file that removes itself when dropped (a no-op once renamed away).
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    file: File,
}

impl TempFile {
    fn create(dir: &Path, key: &str) -> Result<Self, DeliverError> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| DeliverError::io("create", &path, e))?;
        Ok(TempFile { path, file })
    }

    fn write(&self, bytes: &[u8]) -> Result<(), DeliverError> {
        (&self.file)
            .write_all(bytes)
            .map_err(|e| DeliverError::io("write", &self.path, e))
    }

    fn sync(&self) -> Result<(), DeliverError> {
        self.file
            .sync_all()
            .map_err(|e| DeliverError::io("write", &self.path, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // After a hard link the temporary name is removed here; after a rename it is gone.
        let _ = fs::remove_file(&self.path);
    }
}

/// How old a temporary file must be before it is taken for stale whatever its pid says: a
/// delivery writes and links its file within seconds.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The pid in a temporary file name this crate writes, `.<key>.<pid>.<n>.tmp` with a valid
/// message key; `None` for every other name.
fn temp_file_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let (n, pid, key) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let key_ok = (1..=200).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !(key_ok && digits(n) && digits(pid)) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` may still be running: `false` only when the system says it is not
/// (Linux's `/proc`); elsewhere `true`, and the file's age decides.
fn may_be_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if cfg!(target_os = "linux") && proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    true
}

/// Removes the temporary files of deliveries that were interrupted (see [`Outbox::new`]).
/// Best effort: what cannot be listed or removed is logged and left.
fn remove_stale_temp_files(dir: &Path) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot look for stale temporary files");
            return;
        }
    };
    let own = std::process::id();
    let mut removed = 0u64;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_pid) else {
            continue;
        };
        // `file_type` does not follow symbolic links: only plain files are removed
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.file_type().is_file() || pid == own {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if !old && may_be_running(pid) {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale temporary file");
            }
        }
    }
    if removed > 0 {
        tracing::info!(dir = %dir.display(), removed, "removed temporary files of interrupted deliveries");
    }
}

/// Flushes the directory entry so a completed rename or link survives a crash.
fn sync_dir(dir: &Path) -> Result<(), DeliverError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| DeliverError::io("flush directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
