//! A transport that keeps what it is given in memory: [`Recorder`], for tests of what
//! delivers messages (the pipeline's notify rounds) without a directory, a server or Python.
//!
//! ```
//! use baken_deliver::memory::{Failure, Recorder};
//! use baken_deliver::{OutgoingMessage, Transport};
//!
//! let recorder = Recorder::new();
//! // the pipeline gets a clone (or `&mut` of this one); the test keeps a handle
//! let mut transport = recorder.clone();
//! recorder.fail("abuse@down.example", Failure::Transient);
//! let msg = |key: &str, to: &str| OutgoingMessage {
//!     key: key.into(),
//!     from: "baken <baken@ncsc.example>".into(),
//!     to: vec![to.into()],
//!     subject: "[TLP:AMBER] test".into(),
//!     text: "TLP:AMBER\n".into(),
//!     attachments: vec![],
//!     headers: vec![],
//!     date: None,
//!     openpgp: None,
//! };
//! transport.deliver(&msg("k1", "SOC <soc@up.example>")).unwrap();
//! let err = transport.deliver(&msg("k2", "abuse@down.example")).unwrap_err();
//! assert!(err.is_transient());
//! assert_eq!(recorder.delivered().len(), 1);
//! assert_eq!(recorder.refused(), ["k2"]);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{DeliverError, OutgoingMessage, Receipt, Stage, Transport, message_id, render};

/// How a recipient's messages fail, as a relay would refuse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Refused with `550` ([`DeliverError::is_permanent`]): an unknown mailbox.
    Permanent,
    /// Refused with `451` ([`DeliverError::is_transient`]): try again later.
    Transient,
}

/// A [`Transport`] that records every message it delivers, in order, and refuses the
/// recipients it was told to. Clones share one record: hand one to the code under test and
/// read the other afterwards.
///
/// Each message is rendered as the outbox and SMTP render it, so a message they would refuse
/// (a bad key, mailbox or header) is refused here too. Like SMTP, and unlike the outbox, it is
/// not idempotent: a key delivered twice is recorded twice, so a test sees a message sent
/// again (`NotifyOptions::idempotent_transport` should be false).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    shared: Arc<Mutex<Record>>,
}

#[derive(Debug, Default)]
struct Record {
    delivered: Vec<OutgoingMessage>,
    refused: Vec<String>,
    failing: HashMap<String, Failure>,
}

impl Recorder {
    /// A recorder that has delivered nothing and refuses nobody.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        // a test that panicked while holding the lock left a record that is still whole
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on, refuses every message to `address` (any case; a mailbox `Name <address>`
    /// in a message's `to` matches) as `failure` says.
    pub fn fail(&self, address: &str, failure: Failure) {
        self.record()
            .failing
            .insert(address.to_ascii_lowercase(), failure);
    }

    /// From now on, delivers to `address` again.
    pub fn recover(&self, address: &str) {
        self.record().failing.remove(&address.to_ascii_lowercase());
    }

    /// Every message delivered, in order (a key delivered twice appears twice).
    pub fn delivered(&self) -> Vec<OutgoingMessage> {
        self.record().delivered.clone()
    }

    /// The messages delivered so far, leaving the record empty: what one round delivered.
    pub fn take(&self) -> Vec<OutgoingMessage> {
        std::mem::take(&mut self.record().delivered)
    }

    /// The keys of the messages refused, in order.
    pub fn refused(&self) -> Vec<String> {
        self.record().refused.clone()
    }
}

/// The address of a mailbox: `Name <a@b.example>` or `a@b.example`, lower case.
fn address(mailbox: &str) -> String {
    let inner = match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => &mailbox[open + 1..close],
        _ => mailbox,
    };
    inner.trim().to_ascii_lowercase()
}

impl Transport for Recorder {
    fn deliver(&mut self, msg: &OutgoingMessage) -> Result<Receipt, DeliverError> {
        let message_id = message_id(msg)?;
        render(msg)?;
        let mut record = self.record();
        let refusal = msg.to.iter().find_map(|to| {
            let to = address(to);
            record.failing.get(&to).map(|&failure| (to, failure))
        });
        if let Some((to, failure)) = refusal {
            record.refused.push(msg.key.clone());
            let (code, message) = match failure {
                Failure::Permanent => (550, format!("<{to}>: mailbox unavailable")),
                Failure::Transient => (451, format!("<{to}>: try again later")),
            };
            return Err(DeliverError::Rejected {
                server: "memory".into(),
                stage: Stage::Send,
                code,
                message,
            });
        }
        record.delivered.push(msg.clone());
        Ok(Receipt {
            message_id,
            destination: "memory".into(),
            already_delivered: false,
        })
    }

    fn describe(&self) -> String {
        let record = self.record();
        format!(
            "memory recorder, messages delivered: {}, refused: {}",
            record.delivered.len(),
            record.refused.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(key: &str, to: &str) -> OutgoingMessage {
        OutgoingMessage {
            key: key.into(),
            from: "baken NCSC <baken@ncsc.example>".into(),
            to: vec![to.into()],
            subject: "[TLP:AMBER] 1 vulnerable host".into(),
            text: "TLP:AMBER\n\nDear colleagues,\n".into(),
            attachments: vec![crate::Attachment::csv("findings.csv", b"ip\n".to_vec())],
            headers: vec![crate::header::incident("cve-2019-19781")],
            date: None,
            openpgp: None,
        }
    }

    #[test]
    fn clones_share_one_record_of_every_delivery_in_order() {
        let recorder = Recorder::new();
        let mut transport = recorder.clone();
        let receipt = transport.deliver(&msg("k1", "soc@a.example")).unwrap();
        assert_eq!(receipt.message_id, "<k1@ncsc.example>");
        assert!(!receipt.already_delivered);
        transport.deliver(&msg("k2", "soc@b.example")).unwrap();
        transport.deliver(&msg("k1", "soc@a.example")).unwrap();
        let keys: Vec<String> = recorder.delivered().into_iter().map(|m| m.key).collect();
        assert_eq!(
            keys,
            ["k1", "k2", "k1"],
            "a key delivered twice is seen twice"
        );
        assert_eq!(recorder.delivered()[1], msg("k2", "soc@b.example"));
        assert!(transport.describe().contains("delivered: 3"));
        assert_eq!(recorder.take().len(), 3);
        assert!(recorder.delivered().is_empty(), "taken");
    }

    #[test]
    fn told_recipients_are_refused_permanently_or_for_now() {
        let recorder = Recorder::new();
        let mut transport = recorder.clone();
        recorder.fail("Gone@A.example", Failure::Permanent);
        recorder.fail("busy@b.example", Failure::Transient);
        let gone = transport
            .deliver(&msg("k1", "Security <gone@a.example>"))
            .unwrap_err();
        assert!(gone.is_permanent(), "{gone}");
        assert!(gone.to_string().contains("550"), "{gone}");
        let busy = transport.deliver(&msg("k2", "busy@b.example")).unwrap_err();
        assert!(busy.is_transient(), "{busy}");
        transport.deliver(&msg("k3", "soc@c.example")).unwrap();
        recorder.recover("busy@b.example");
        transport.deliver(&msg("k2", "busy@b.example")).unwrap();
        let keys: Vec<String> = recorder.delivered().into_iter().map(|m| m.key).collect();
        assert_eq!(keys, ["k3", "k2"]);
        assert_eq!(recorder.refused(), ["k1", "k2"]);
    }

    #[test]
    fn a_message_the_outbox_would_refuse_is_refused() {
        let mut recorder = Recorder::new();
        let err = recorder
            .deliver(&msg("no/slashes", "soc@a.example"))
            .unwrap_err();
        assert!(err.is_permanent());
        let mut no_recipient = msg("k1", "soc@a.example");
        no_recipient.to.clear();
        assert!(recorder.deliver(&no_recipient).is_err());
        assert!(recorder.delivered().is_empty());
        assert!(
            recorder.refused().is_empty(),
            "refused as invalid, not as told"
        );
    }
}
