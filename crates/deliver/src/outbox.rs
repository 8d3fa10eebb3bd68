//! The outbox: one `<key>.eml` file per message in a directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::render::{build, formatted, message_id};
use crate::{DeliverError, OutgoingMessage, Receipt, Transport};

/// Writes each message as `<key>.eml` into a directory, for an operator to check and send by
/// hand, for a mail system that picks files up, or as an archive of what went out.
///
/// **Crash-safe:** the message is written to a temporary file in the same directory
/// (`.<key>.<pid>.<n>.tmp`), flushed to disk, then linked to `<key>.eml` and the directory
/// is flushed too; a crash leaves either no `<key>.eml` or a complete one, never a partial
/// file (at worst a stray `.tmp`, which readers of `*.eml` ignore).
///
/// **Idempotent:** if `<key>.eml` exists the message is not written again and the receipt
/// says `already_delivered: true`. The final step is a hard link, which unlike a rename never
/// replaces a file, so two processes delivering the same key at once write it once. On file
/// systems without hard links it falls back to a rename after checking the name is free.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
}

/// Makes temporary names unique within the process; the pid makes them unique across.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Outbox {
    /// An outbox writing into `dir`, which is created if missing.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, DeliverError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| DeliverError::io("create directory", &dir, e))?;
        Ok(Outbox { dir })
    }

    /// The directory messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the message with `key` is (or would be) written: `<dir>/<key>.eml`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.eml"))
    }
}

impl Transport for Outbox {
    fn deliver(&mut self, msg: &OutgoingMessage) -> Result<Receipt, DeliverError> {
        // Validates the key before it becomes part of a path.
        let message_id = message_id(msg)?;
        let receipt = |path: &Path, already| Receipt {
            message_id: message_id.clone(),
            destination: path.display().to_string(),
            already_delivered: already,
        };
        let path = self.path_for(&msg.key);
        if path
            .try_exists()
            .map_err(|e| DeliverError::io("check", &path, e))?
        {
            tracing::debug!(key = %msg.key, path = %path.display(), "already in the outbox");
            return Ok(receipt(&path, true));
        }
        let bytes = formatted(&build(msg)?);

        let temp = TempFile::create(&self.dir, &msg.key)?;
        temp.write(&bytes)?;
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
        sync_dir(&self.dir)?;
        tracing::info!(key = %msg.key, path = %path.display(), already, "written to the outbox");
        Ok(receipt(&path, already))
    }

    fn describe(&self) -> String {
        format!("outbox {}", self.dir.display())
    }
}

/// A temporary file that removes itself when dropped (a no-op once renamed away).
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
            .and_then(|()| self.file.sync_all())
            .map_err(|e| DeliverError::io("write", &self.path, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // After a hard link the temporary name is removed here; after a rename it is gone.
        let _ = fs::remove_file(&self.path);
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
