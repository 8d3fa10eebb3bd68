//! Webhooks of parties: every new or changed finding a party may see is queued as a signed
//! event for its webhooks, and delivered with retries and exponential backoff from a queue
//! in the store that survives restarts. Each event has an id of its own (the finding, its
//! state and when it was last seen), so a receiver drops repeats.

use std::time::Duration;

use baken_deliver::webhook;
use baken_model::OrgId;
use baken_store::WebhookRecord;
use baken_store::audit::NewAuditEntry;
use serde::Serialize;

use crate::{App, AppError, Result, Viewer};

/// The longest wait between two attempts.
const MAX_BACKOFF: i64 = 6 * 3600;
/// The first wait after a failed attempt; it doubles with each failure.
const FIRST_BACKOFF: i64 = 30;

/// Sends one event: (url, secret, event id, timestamp, body) → the HTTP status, or why there
/// was none.
pub type SendEvent<'a> =
    dyn FnMut(&str, &str, &str, i64, &str) -> std::result::Result<u16, String> + 'a;

/// What a pass over the queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WebhookPass {
    /// Events queued now (new or changed findings).
    pub queued: usize,
    /// Events delivered now.
    pub delivered: usize,
    /// Attempts that failed (tried again later).
    pub failed: usize,
}

/// The wait before the next attempt after `attempts` failures: 30 s, doubling, at most 6 h.
pub fn backoff(attempts: u32) -> i64 {
    FIRST_BACKOFF
        .saturating_mul(1i64 << attempts.min(20))
        .min(MAX_BACKOFF)
}

impl App {
    /// Adds a webhook for `party` (a registry id) at `url` (http or https); returns it with
    /// its signing secret, which the receiver needs.
    pub fn add_webhook(&mut self, party: &str, url: &str) -> Result<WebhookRecord> {
        if self
            .attributor()?
            .organisation(&OrgId(party.into()))
            .is_none()
        {
            return Err(AppError::NotFound(format!(
                "{party}: no organisation with that id in the registry"
            )));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(AppError::Usage(format!(
                "{url:?}: a webhook is an http:// or https:// URL"
            )));
        }
        let secret = webhook::new_secret();
        let id = self.store.add_webhook(party, url, &secret)?;
        self.store.append_audit(&[NewAuditEntry {
            kind: "webhook-added".into(),
            subject: party.into(),
            body: serde_json::json!({"webhook": id, "url": url}).to_string(),
        }])?;
        self.store
            .webhooks()?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or_else(|| AppError::NotFound(format!("webhook {id} was stored but is gone")))
    }

    /// The webhooks, oldest first.
    pub fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        Ok(self.store.webhooks()?)
    }

    /// Removes webhook `id`; nothing more is sent to it.
    pub fn remove_webhook(&mut self, id: i64) -> Result<()> {
        if !self.store.remove_webhook(id)? {
            return Err(AppError::NotFound(format!("no webhook {id}")));
        }
        self.store.append_audit(&[NewAuditEntry {
            kind: "webhook-removed".into(),
            subject: id.to_string(),
            body: serde_json::json!({"webhook": id}).to_string(),
        }])?;
        Ok(())
    }

    /// Queues, for every webhook, an event for each finding its party may see under `policy`
    /// that is new or changed (state, last seen) since it was last queued; what is queued is
    /// audited as a disclosure to the party. Returns how many events were queued.
    pub fn queue_webhook_events(&mut self, policy: &str) -> Result<usize> {
        let mut queued = 0;
        for hook in self.store.webhooks()? {
            let viewer = Viewer::Party(OrgId(hook.party.clone()));
            let visible = self.visible_quietly(&viewer, None, policy)?;
            let mut sent = Vec::new();
            for f in visible.findings {
                let event_id = format!(
                    "finding-{}-{}-{}",
                    f.finding.id, f.finding.state, f.finding.last_seen
                );
                let mut payload = serde_json::json!({
                    "type": "finding.changed",
                    "timestamp": baken_store::now(),
                    "data": f,
                });
                // a drill's event says so, as its messages do
                if let Some(id) = baken_pipeline::exercise::exercise_of(&f.finding.incident) {
                    payload["exercise"] = id.into();
                }
                let payload = payload.to_string();
                if self
                    .store
                    .enqueue_webhook_event(hook.id, &event_id, &payload)?
                {
                    sent.push(f.finding.id);
                }
            }
            if !sent.is_empty() {
                queued += sent.len();
                self.store.append_audit(&[NewAuditEntry {
                    kind: "webhook-queued".into(),
                    subject: hook.party.clone(),
                    body:
                        serde_json::json!({"webhook": hook.id, "policy": policy, "findings": sent})
                            .to_string(),
                }])?;
            }
        }
        Ok(queued)
    }

    /// Delivers the events due at `now` (Unix seconds) through `send` (url, secret, event id,
    /// timestamp, body → HTTP status, or why none); a 2xx answer delivers an event, anything
    /// else leaves it queued for a later attempt after [`backoff`].
    pub fn deliver_webhook_events(
        &mut self,
        now: i64,
        send: &mut SendEvent<'_>,
    ) -> Result<WebhookPass> {
        let hooks = self.store.webhooks()?;
        let mut pass = WebhookPass::default();
        for d in self.store.due_webhook_events(now, 1000)? {
            let Some(hook) = hooks.iter().find(|h| h.id == d.webhook) else {
                continue;
            };
            match send(&hook.url, &hook.secret, &d.event_id, now, &d.payload) {
                Ok(status) if (200..300).contains(&status) => {
                    self.store.webhook_attempted(d.id, Ok(()))?;
                    pass.delivered += 1;
                }
                outcome => {
                    let why = match outcome {
                        Ok(status) => format!("answered {status}"),
                        Err(e) => e,
                    };
                    tracing::warn!(webhook = hook.id, event = %d.event_id, attempts = d.attempts + 1, error = %why, "webhook delivery failed");
                    self.store
                        .webhook_attempted(d.id, Err((&why, now + backoff(d.attempts))))?;
                    pass.failed += 1;
                }
            }
        }
        Ok(pass)
    }

    /// One pass: queue what changed, deliver what is due over HTTP.
    pub fn webhook_pass(&mut self, policy: &str, now: i64) -> Result<WebhookPass> {
        let queued = self.queue_webhook_events(policy)?;
        let mut pass = self.deliver_webhook_events(now, &mut |url, secret, id, ts, body| {
            webhook::post(url, secret, id, ts, body, Duration::from_secs(10))
        })?;
        pass.queued = queued;
        Ok(pass)
    }
}
