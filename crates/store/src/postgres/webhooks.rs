//! Webhooks and the queue of their deliveries on PostgreSQL. An event is queued with
//! `INSERT … ON CONFLICT DO NOTHING`, so processes offering it at the same moment queue it
//! once.

use super::PostgresStore;
use crate::prelude::*;
use crate::{Result, StoreError, WebhookDelivery, WebhookRecord, now};

impl WebhookStore for PostgresStore {
    fn add_webhook(&mut self, party: &str, url: &str, secret: &str) -> Result<i64> {
        let wrap = self.wrap();
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO webhook (party, url, secret, created_at) VALUES ($1, $2, $3, $4)
                 RETURNING id",
                &[&party, &url, &secret, &now()],
            )
            .map_err(&wrap)?;
        Ok(row.get(0))
    }

    fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                "SELECT id, party, url, secret, created_at FROM webhook
                 WHERE removed_at IS NULL ORDER BY id",
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| WebhookRecord {
                id: r.get(0),
                party: r.get(1),
                url: r.get(2),
                secret: r.get(3),
                created_at: r.get(4),
            })
            .collect())
    }

    fn remove_webhook(&mut self, id: i64) -> Result<bool> {
        let wrap = self.wrap();
        let changed = self
            .conn()?
            .execute(
                "UPDATE webhook SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL",
                &[&id, &now()],
            )
            .map_err(&wrap)?;
        Ok(changed == 1)
    }

    fn enqueue_webhook_event(
        &mut self,
        webhook: i64,
        event_id: &str,
        payload: &str,
    ) -> Result<bool> {
        let wrap = self.wrap();
        let added = self
            .conn()?
            .execute(
                "INSERT INTO webhook_delivery (webhook_id, event_id, payload, next_attempt)
                 VALUES ($1, $2, $3, 0) ON CONFLICT (webhook_id, event_id) DO NOTHING",
                &[&webhook, &event_id, &payload],
            )
            .map_err(&wrap)?;
        Ok(added == 1)
    }

    fn due_webhook_events(&self, now: i64, limit: usize) -> Result<Vec<WebhookDelivery>> {
        let wrap = self.wrap();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .conn()?
            .query(
                "SELECT d.id, d.webhook_id, d.event_id, d.payload, d.attempts
                 FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id
                 WHERE d.delivered_at IS NULL AND w.removed_at IS NULL AND d.next_attempt <= $1
                 ORDER BY d.id LIMIT $2",
                &[&now, &limit],
            )
            .map_err(&wrap)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let attempts: i64 = r.get(4);
                Ok(WebhookDelivery {
                    id,
                    webhook: r.get(1),
                    event_id: r.get(2),
                    payload: r.get(3),
                    attempts: u32::try_from(attempts).map_err(|_| {
                        StoreError::unreadable(
                            "webhook delivery",
                            "webhook_delivery",
                            id,
                            "attempts",
                            &attempts.to_string(),
                        )
                    })?,
                })
            })
            .collect()
    }

    fn webhook_attempted(
        &mut self,
        delivery: i64,
        outcome: std::result::Result<(), (&str, i64)>,
    ) -> Result<()> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        match outcome {
            Ok(()) => conn.execute(
                "UPDATE webhook_delivery SET attempts = attempts + 1, delivered_at = $2,
                 last_error = NULL WHERE id = $1",
                &[&delivery, &now()],
            ),
            Err((error, retry_at)) => conn.execute(
                "UPDATE webhook_delivery SET attempts = attempts + 1, last_error = $2,
                 next_attempt = $3 WHERE id = $1",
                &[&delivery, &error, &retry_at],
            ),
        }
        .map_err(&wrap)
        .map(drop)
    }
}
