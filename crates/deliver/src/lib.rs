//! Delivery channels: turn a composed digest into an e-mail and hand it on.
//!
//! The pipeline composes what an organisation receives (subject, plain text body, a CSV of its
//! findings, the TLP label); this crate turns that [`OutgoingMessage`] into RFC 5322 bytes
//! ([`render`]) and delivers it through a [`Transport`]:
//!
//! - [`Outbox`] writes `<key>.eml` into a directory, crash-safe and idempotent: a key that is
//!   already there is not written again.
//! - [`Smtp`] sends through a relay named by an `smtp://` or `smtps://` URL (see
//!   [`SmtpConfig::parse`] for the syntax, TLS modes and where the password comes from).
//! - [`webhook`] signs and POSTs events to a party's webhook (Standard Webhooks).
//! - [`memory::Recorder`] keeps every message in memory and refuses the recipients it is told
//!   to, for tests of what delivers.
//!
//! Every message carries a Message-ID made from its key (`<key@domain-of-from>`), so the same
//! notification sent twice, for instance after a crash between "sent" and "recorded as sent",
//! can be recognised as a duplicate by a relay or a recipient.
//!
//! ```
//! use baken_deliver::{Attachment, Outbox, OutgoingMessage, Transport, header};
//! use baken_model::Tlp;
//!
//! let msg = OutgoingMessage {
//!     key: "cve-2019-19781--org-17--a1b2c3".into(),
//!     from: "baken NCSC <baken@ncsc.example>".into(),
//!     to: vec!["abuse@org17.example".into()],
//!     subject: "[TLP:AMBER] 3 vulnerable Citrix ADC hosts (CVE-2019-19781)".into(),
//!     text: "TLP:AMBER\n\nDear colleagues, …".into(),
//!     attachments: vec![Attachment::csv("findings.csv", b"ip,port\n192.0.2.1,443\n".to_vec())],
//!     headers: vec![header::tlp(Tlp::Amber), header::incident("cve-2019-19781")],
//!     date: None,
//!     openpgp: None,
//! };
//! let dir = tempfile::tempdir().unwrap();
//! let mut outbox = Outbox::new(dir.path()).unwrap();
//! let first = outbox.deliver(&msg).unwrap();
//! assert_eq!(first.message_id, "<cve-2019-19781--org-17--a1b2c3@ncsc.example>");
//! assert!(!first.already_delivered);
//! // Delivering the same key again does not write it again.
//! assert!(outbox.deliver(&msg).unwrap().already_delivered);
//! ```
//!
//! With [`OutgoingMessage::openpgp`] set, [`render`] makes a PGP/MIME message (RFC 3156): the
//! content signed with the sender's key (`multipart/signed`), and, when a recipient key is
//! given, that signed message encrypted to it (`multipart/encrypted`). Every transport renders
//! through [`render`], so each gets the same signed message.
//!
//! **Architecture Invariant:** the bytes of a message depend only on the [`OutgoingMessage`]
//! (with `date` set): the outbox and SMTP deliver the same bytes, and rendering twice gives the
//! same bytes — signatures included (EdDSA and RSA signatures are deterministic, made at
//! `date`); only an encrypted message differs from one rendering to the next, in its random
//! message key. Nothing here decides *who* receives *what*; that is the policy's job.

mod error;
pub mod memory;
mod outbox;
mod render;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

use std::sync::Arc;
use std::time::SystemTime;

pub use baken_openpgp::{KeyError, PublicKey, SigningKey};

pub use error::{DeliverError, Stage};
pub use outbox::Outbox;
pub use render::{header, message_id, render};
pub use smtp::{PASSWORD_ENV, Smtp, SmtpConfig, TlsMode};

/// One e-mail to one organisation, as the pipeline composed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Stable idempotency key, 1 to 200 characters from `[A-Za-z0-9_-]`, e.g.
    /// `cve-2019-19781--org-17--a1b2c3`. The same notification must always get the same key:
    /// it names the outbox file and makes the Message-ID.
    pub key: String,
    /// Sender mailbox, e.g. `baken NCSC <baken@ncsc.example>`; also the SMTP envelope sender.
    pub from: String,
    /// Recipient mailboxes (`abuse@org.example` or `Name <abuse@org.example>`); at least one.
    pub to: Vec<String>,
    /// Subject line, UTF-8; encoded as RFC 2047 words when not ASCII. No line breaks.
    pub subject: String,
    /// The `text/plain` body, UTF-8.
    pub text: String,
    /// Files attached after the body; with any, the message is `multipart/mixed`.
    pub attachments: Vec<Attachment>,
    /// Extra header fields, in order, e.g. [`header::tlp`] and [`header::incident`]. Names are
    /// ASCII without spaces or colons; values have no line breaks. Fields that [`render`] writes
    /// itself (From, To, Subject, Date, Message-ID, MIME-Version, Content-* but
    /// Content-Language, Auto-Submitted, X-Baken-Key) cannot be given here.
    pub headers: Vec<(String, String)>,
    /// Fixed `Date`, for reproducible output; `None` means the time of rendering.
    pub date: Option<SystemTime>,
    /// Sign the message as PGP/MIME with the sender's key and, with a recipient key, encrypt
    /// it (RFC 3156); `None`: a plain message.
    pub openpgp: Option<OpenPgp>,
}

impl OutgoingMessage {
    /// What [`render`] makes of this message: plain, signed, or signed and encrypted.
    pub fn protection(&self) -> Protection {
        match &self.openpgp {
            None => Protection::Plain,
            Some(OpenPgp {
                encrypt_to: None, ..
            }) => Protection::Signed,
            Some(_) => Protection::SignedEncrypted,
        }
    }
}

/// The keys of a PGP/MIME message: the sender's, and the recipient's to encrypt to.
#[derive(Debug, Clone)]
pub struct OpenPgp {
    /// The sender's unlocked secret key; shared by every message of a round.
    pub signer: Arc<SigningKey>,
    /// The recipient's key, checked for encryption; `None`: signed only.
    pub encrypt_to: Option<Arc<PublicKey>>,
}

impl PartialEq for OpenPgp {
    fn eq(&self, other: &Self) -> bool {
        self.signer.fingerprint() == other.signer.fingerprint()
            && self.encrypt_to.as_ref().map(|k| k.fingerprint())
                == other.encrypt_to.as_ref().map(|k| k.fingerprint())
    }
}

impl Eq for OpenPgp {}

/// How a message is protected, as recorded with it and counted in a round's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protection {
    /// Neither signed nor encrypted.
    Plain,
    /// Signed with the sender's key (`multipart/signed`).
    Signed,
    /// Signed, then encrypted to the recipient's key (`multipart/encrypted`).
    SignedEncrypted,
}

impl Protection {
    /// `plain`, `signed`, `signed+encrypted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::Plain => "plain",
            Protection::Signed => "signed",
            Protection::SignedEncrypted => "signed+encrypted",
        }
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name the recipient sees, e.g. `findings.csv`; UTF-8 allowed, no path separators.
    pub filename: String,
    /// MIME type, e.g. `text/csv; charset=utf-8`.
    pub content_type: String,
    /// The file's bytes; sent base64- or quoted-printable-encoded, received unchanged.
    pub body: Vec<u8>,
}

impl Attachment {
    /// A UTF-8 CSV file (`text/csv; charset=utf-8`).
    pub fn csv(filename: impl Into<String>, body: Vec<u8>) -> Self {
        Attachment {
            filename: filename.into(),
            content_type: "text/csv; charset=utf-8".into(),
            body,
        }
    }
}

/// What a transport did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message's Message-ID, angle brackets included: `<key@domain-of-from>`.
    pub message_id: String,
    /// Where it went: the `.eml` file's path, or the relay and how this message's connection
    /// was encrypted, e.g. `smtp://relay.example:25 over STARTTLS`, `smtps://relay.example:465
    /// over implicit TLS`, `smtp://relay.example:25 in plain text` (never credentials).
    pub destination: String,
    /// True when the transport knew the key and did nothing (the outbox already had the file).
    /// SMTP cannot know and always says false; a relay may still drop the duplicate by its
    /// Message-ID.
    pub already_delivered: bool,
}

/// What [`Transport::stage`] did with a message.
#[derive(Debug)]
pub enum Staged {
    /// Delivered now, or refused now.
    Done(Result<Receipt, DeliverError>),
    /// Handed over; [`Transport::flush`] gives the outcome.
    Waiting,
}

/// A delivery channel.
pub trait Transport {
    /// Delivers one message, or explains why not; see [`DeliverError::is_permanent`] to decide
    /// whether to try again later.
    fn deliver(&mut self, msg: &OutgoingMessage) -> Result<Receipt, DeliverError>;

    /// Hands a message over without waiting for it to be durable, where the channel can do a
    /// group of messages at once more cheaply than each alone (the outbox flushes a group to
    /// disk in one step): [`Staged::Waiting`] until [`Transport::flush`] gives its outcome.
    /// A message staged and never flushed was not delivered. Channels that cannot group
    /// deliver it now, the default.
    fn stage(&mut self, msg: &OutgoingMessage) -> Staged {
        Staged::Done(self.deliver(msg))
    }

    /// Delivers every message staged and waiting: the outcome of each, by message key, in
    /// the order they were staged. Nothing waits afterwards.
    fn flush(&mut self) -> Vec<(String, Result<Receipt, DeliverError>)> {
        Vec::new()
    }

    /// One line naming the channel for logs, e.g. `outbox /var/lib/baken/outbox` or
    /// `smtp://baken@relay.example:587 (tls=starttls)`, followed once messages went out by how
    /// they were sent (`, messages sent: 12 over STARTTLS`); never contains a password.
    fn describe(&self) -> String;
}
