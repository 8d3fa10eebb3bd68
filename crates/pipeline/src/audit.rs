//! Evidence that survives its keeper: signed checkpoints of the audit log's head, and the
//! heads recipients hold.
//!
//! The chain of [`baken_store::audit`] finds an edited entry, but not the last entries
//! deleted, nor a log rewritten with every hash recomputed: both leave a sound chain. They
//! are found against a head written down elsewhere:
//!
//! * [`checkpoint`] signs the current head with the Ed25519 key in `DATA/audit.key` (made on
//!   first use, readable by its owner only) and keeps the signed checkpoint in the store and
//!   in the append-only file `DATA/audit.checkpoints` (one JSON object a line), which can be
//!   copied elsewhere as it grows;
//! * every outgoing message carries the head it was sent under (`X-Baken-Audit-Head: SEQ
//!   HASH`), so each recipient holds a witness ([`witness_of_eml`]).
//!
//! [`verify`] checks the chain, every checkpoint's signature and entry, and the witnesses
//! given. A checkpoint proves nothing against someone who also holds the key: pin its public
//! key (`--key`) from a copy kept elsewhere, or rely on the recipients' witnesses.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = baken_store::SqliteStore::open(dir.path()).unwrap();
//! let c = baken_pipeline::audit::checkpoint(&mut store, dir.path()).unwrap();
//! assert_eq!(c.seq, 0);
//! let report = baken_pipeline::audit::verify(&store, dir.path(), &[], None).unwrap();
//! assert!(report.problems.is_empty());
//! assert_eq!(report.checkpoints, 1);
//! ```

use std::io::Write;
use std::path::Path;

use baken_store::Store;
use baken_store::audit::{self, Checkpoint, Verified, Witness};
use ed25519_dalek::SigningKey;

use crate::{PipelineError, io_error};

/// The signing key's file in the data directory.
pub const KEY_FILE: &str = "audit.key";
/// The append-only file of checkpoints in the data directory.
pub const CHECKPOINT_FILE: &str = "audit.checkpoints";

/// The key that signs checkpoints, from `DATA/audit.key` (32 bytes; made on first use with
/// permissions 0600).
pub fn signing_key(data: &Path) -> Result<SigningKey, PipelineError> {
    let path = data.join(KEY_FILE);
    if let Ok(bytes) = std::fs::read(&path) {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            PipelineError::Usage(format!(
                "{}: an Ed25519 key is 32 bytes; restore the file from a copy (a new key \
                 cannot vouch for earlier checkpoints)",
                path.display()
            ))
        })?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    std::fs::create_dir_all(data).map_err(io_error(data))?;
    let secret: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io_error(&path))?;
    file.write_all(&secret).map_err(io_error(&path))?;
    file.sync_all().map_err(io_error(&path))?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Signs the audit log's current head and keeps the checkpoint in the store and in
/// `DATA/audit.checkpoints`.
pub fn checkpoint(store: &mut dyn Store, data: &Path) -> Result<Checkpoint, PipelineError> {
    let key = signing_key(data)?;
    let head = match store.audit_head()? {
        Some((seq, hash)) => Witness { seq, hash },
        None => Witness {
            seq: 0,
            hash: audit::GENESIS.into(),
        },
    };
    let c = Checkpoint::sign(&key, &head, &baken_store::now());
    let path = data.join(CHECKPOINT_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_error(&path))?;
    let line = serde_json::to_string(&c).expect("a checkpoint is JSON");
    writeln!(file, "{line}").map_err(io_error(&path))?;
    file.sync_all().map_err(io_error(&path))?;
    store.add_audit_checkpoint(&c)?;
    tracing::info!(seq = c.seq, hash = %c.hash, "audit checkpoint signed");
    Ok(c)
}

/// The checkpoints of `DATA/audit.checkpoints` (none when there is no such file).
pub fn file_checkpoints(data: &Path) -> Result<Vec<Checkpoint>, PipelineError> {
    let path = data.join(CHECKPOINT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&path)(e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                PipelineError::Usage(format!(
                    "{}:{}: not a checkpoint ({e}); the file was edited",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// What [`verify`] found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The chain, when it is sound.
    pub chain: Option<Verified>,
    /// Checkpoints checked (in the store, and in the file but not the store).
    pub checkpoints: usize,
    /// Witnesses checked.
    pub witnesses: usize,
    /// Everything wrong, one sentence each; empty when the log is sound.
    pub problems: Vec<String>,
}

/// Checks the audit log: its chain; every checkpoint of the store and of
/// `DATA/audit.checkpoints` (signature, and that the log still holds its entry with its
/// hash); each of `witnesses`. With `key` (hex), every checkpoint must be signed by it.
pub fn verify(
    store: &dyn Store,
    data: &Path,
    witnesses: &[Witness],
    key: Option<&str>,
) -> Result<Report, PipelineError> {
    let log = store.audit_log()?;
    let mut problems = Vec::new();
    let chain = match audit::verify(&log) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let mut checkpoints = store.audit_checkpoints()?;
    let stored = checkpoints.len();
    for (i, c) in file_checkpoints(data)?.into_iter().enumerate() {
        if !checkpoints.contains(&c) {
            problems.push(format!(
                "checkpoint {} of {} (entry {}) is missing from the store: checkpoints were removed",
                i + 1,
                data.join(CHECKPOINT_FILE).display(),
                c.seq
            ));
            checkpoints.push(c);
        }
    }
    for (i, c) in checkpoints.iter().enumerate() {
        let n = i + 1;
        let origin = if i < stored { "" } else { " (from the file)" };
        if let Some(k) = key
            && !c.public_key.eq_ignore_ascii_case(k.trim())
        {
            problems.push(format!(
                "checkpoint {n}{origin} is signed by key {}, not by the key given",
                c.public_key
            ));
        }
        if let Err(e) = audit::check_checkpoint(&log, c, n) {
            problems.push(format!("{e}{origin}"));
        }
    }
    for w in witnesses {
        if let Err(e) = audit::check_witness(&log, w) {
            problems.push(e.to_string());
        }
    }
    Ok(Report {
        chain,
        checkpoints: checkpoints.len(),
        witnesses: witnesses.len(),
        problems,
    })
}

/// The head a delivered message was sent under: its `X-Baken-Audit-Head` header.
pub fn witness_of_eml(path: &Path) -> Result<Witness, PipelineError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let text = String::from_utf8_lossy(&bytes);
    let name = baken_deliver::header::AUDIT_HEAD;
    let mut value: Option<String> = None;
    for line in text.lines() {
        if line.is_empty() {
            break; // the end of the header
        }
        if let Some(v) = value.as_mut()
            && line.starts_with([' ', '\t'])
        {
            v.push_str(line); // a folded header line
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((field, v)) = line.split_once(':')
            && field.eq_ignore_ascii_case(name)
        {
            value = Some(v.to_string());
        }
    }
    let value = value.ok_or_else(|| {
        PipelineError::Usage(format!(
            "{}: no {name} header: the message was not sent by baken, or before messages carried it",
            path.display()
        ))
    })?;
    value
        .trim()
        .parse()
        .map_err(|e: String| PipelineError::Usage(format!("{}: {name}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = signing_key(dir.path()).unwrap();
        let b = signing_key(dir.path()).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_head_is_read_from_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let eml = dir.path().join("m.eml");
        std::fs::write(
            &eml,
            "From: a@b.example\r\nX-Baken-Audit-Head: 12\r\n abcd\r\nSubject: x\r\n\r\nX-Baken-Audit-Head: 1 ff\r\n",
        )
        .unwrap();
        let w = witness_of_eml(&eml).unwrap();
        assert_eq!((w.seq, w.hash.as_str()), (12, "abcd"));
        std::fs::write(&eml, "Subject: x\r\n\r\nX-Baken-Audit-Head: 1 ff\r\n").unwrap();
        assert!(witness_of_eml(&eml).is_err(), "the body is not the header");
    }
}
