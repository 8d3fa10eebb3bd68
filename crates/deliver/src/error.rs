//! The one error type of this crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a message was not delivered.
///
/// [`is_permanent`](DeliverError::is_permanent) tells the caller whether trying the same message
/// again through the same transport can help. Messages name the message key, file or server
/// (`host:port`), never a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The message cannot be turned into an e-mail: a bad key, mailbox, header or file name.
    /// Permanent.
    #[error("message {key:?}: {reason}")]
    InvalidMessage {
        /// The message's key, as given.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The transport's configuration is unusable, e.g. a malformed SMTP URL. Permanent.
    #[error("{what}: {reason}")]
    InvalidConfig {
        /// What was being configured, e.g. `smtp url smtp://relay.example:x`, password removed.
        what: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Reading or writing the outbox failed. Transient: a full disk or a missing mount can
    /// be fixed while messages wait.
    #[error("outbox: cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `write`, `rename into place`.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The SMTP server answered with an error reply. Permanent for 5xx (unknown mailbox,
    /// authentication failed, message refused), transient for 4xx (try again later).
    #[error("smtp {server}: {stage}: server replied {code} {message}")]
    Rejected {
        /// `host:port` of the server.
        server: String,
        /// The step that was refused.
        stage: Stage,
        /// The reply code, e.g. 550.
        code: u16,
        /// The server's reply text.
        message: String,
    },
    /// The SMTP server could not be reached or the conversation broke off (connection
    /// refused, name not found, timeout, garbled reply). Transient.
    #[error("smtp {server}: {stage}: {detail}")]
    Connection {
        /// `host:port` of the server.
        server: String,
        /// The step that failed.
        stage: Stage,
        /// What went wrong, from the network layer.
        detail: String,
    },
    /// The SMTP server and our configuration do not fit together: STARTTLS required but not
    /// offered, an untrusted certificate, no common authentication mechanism, credentials
    /// that would travel unencrypted. Permanent until an operator changes one side.
    #[error("smtp {server}: {stage}: {detail}")]
    Incompatible {
        /// `host:port` of the server.
        server: String,
        /// The step that failed.
        stage: Stage,
        /// What does not fit and what to change.
        detail: String,
    },
}

impl DeliverError {
    /// True when sending the same message again through the same transport will fail the
    /// same way: a bad message or address, a 5xx reply, a misconfiguration. False for
    /// transient failures worth retrying later: connection problems, 4xx replies, outbox IO.
    pub fn is_permanent(&self) -> bool {
        match self {
            DeliverError::InvalidMessage { .. }
            | DeliverError::InvalidConfig { .. }
            | DeliverError::Incompatible { .. } => true,
            DeliverError::Rejected { code, .. } => *code >= 500,
            DeliverError::Io { .. } | DeliverError::Connection { .. } => false,
        }
    }

    /// The opposite of [`is_permanent`](Self::is_permanent): worth trying again later.
    pub fn is_transient(&self) -> bool {
        !self.is_permanent()
    }

    pub(crate) fn invalid(key: &str, reason: impl Into<String>) -> Self {
        DeliverError::InvalidMessage {
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        DeliverError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The step of an SMTP conversation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Opening the connection, the implicit TLS handshake (`smtps://`), greeting and EHLO.
    Connect,
    /// STARTTLS and its handshake.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM, RCPT TO, DATA and the message itself.
    Send,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::StartTls => "starttls",
            Stage::Auth => "authentication",
            Stage::Send => "sending",
        })
    }
}
