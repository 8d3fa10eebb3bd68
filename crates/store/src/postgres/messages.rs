//! Outgoing messages, the findings each carried, and tickets on PostgreSQL. Recording a
//! message and giving a ticket are single `INSERT … ON CONFLICT` statements, so processes
//! doing either at the same moment end with one row, which all of them read back.

use r2d2_postgres::postgres::Row;

use super::PostgresStore;
use crate::prelude::*;
use crate::{
    Disclosure, MessageFinding, MessageKind, MessageRecord, MessageState, Result, StoreError, now,
};

const MESSAGE_COLUMNS: &str = "key, incident, recipient, party, path, findings, state, detail,
     created_at, sent_at, ticket, round, kind";

/// A message state as stored in the message `key`: a state that cannot be read is an error,
/// never `pending` (which would send again).
fn message_state(key: &str, state: &str) -> Result<MessageState> {
    MessageState::parse(state).ok_or_else(|| {
        StoreError::unreadable(
            "message state",
            "message",
            format!("key {key:?}"),
            "state",
            state,
        )
    })
}

/// A row of [`MESSAGE_COLUMNS`].
fn message_from_row(r: &Row) -> Result<MessageRecord> {
    let key: String = r.get(0);
    let state: String = r.get(6);
    let kind: String = r.get(12);
    let round: i64 = r.get(11);
    let findings: i64 = r.get(5);
    Ok(MessageRecord {
        incident: r.get(1),
        recipient: r.get(2),
        party: r.get(3),
        path: r.get(4),
        findings: u64::try_from(findings).map_err(|_| {
            StoreError::unreadable(
                "message",
                "message",
                format!("key {key:?}"),
                "findings",
                &findings.to_string(),
            )
        })?,
        state: message_state(&key, &state)?,
        detail: r.get(7),
        created_at: r.get(8),
        sent_at: r.get(9),
        ticket: r.get(10),
        round: u32::try_from(round).map_err(|_| {
            StoreError::unreadable(
                "message round",
                "message",
                format!("key {key:?}"),
                "round",
                &round.to_string(),
            )
        })?,
        kind: MessageKind::parse(&kind).ok_or_else(|| {
            StoreError::unreadable(
                "message kind",
                "message",
                format!("key {key:?}"),
                "kind",
                &kind,
            )
        })?,
        key,
    })
}

impl MessageStore for PostgresStore {
    fn message(&self, key: &str) -> Result<Option<MessageRecord>> {
        let wrap = self.wrap();
        let row = self
            .conn()?
            .query_opt(
                &format!("SELECT {MESSAGE_COLUMNS} FROM message WHERE key = $1"),
                &[&key],
            )
            .map_err(&wrap)?;
        row.as_ref().map(message_from_row).transpose()
    }

    fn record_message(
        &mut self,
        m: &MessageRecord,
        findings: &[MessageFinding],
    ) -> Result<MessageRecord> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(&wrap)?;
        // A concurrent transaction recording the same key makes this one wait for its end:
        // then nothing is inserted here, and the message read below is the one it stored.
        let added = tx
            .execute(
                "INSERT INTO message (key, incident, recipient, party, path, findings,
                     state, detail, created_at, sent_at, ticket, round, kind)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (key) DO NOTHING",
                &[
                    &m.key,
                    &m.incident,
                    &m.recipient,
                    &m.party,
                    &m.path,
                    &(m.findings as i64),
                    &m.state.as_str(),
                    &m.detail,
                    &m.created_at,
                    &m.sent_at,
                    &m.ticket,
                    &i64::from(m.round),
                    &m.kind.as_str(),
                ],
            )
            .map_err(&wrap)?;
        if added == 1 && !findings.is_empty() {
            let ids: Vec<i64> = findings.iter().map(|f| f.finding).collect();
            let forms: Vec<&str> = findings.iter().map(|f| f.form.as_str()).collect();
            // a finding named twice keeps its first form, as one insert after another would
            tx.execute(
                "INSERT INTO message_finding (message_key, finding_id, form)
                 SELECT $1, f, form FROM unnest($2::bigint[], $3::text[]) AS t(f, form)
                 ON CONFLICT (message_key, finding_id) DO NOTHING",
                &[&m.key, &ids, &forms],
            )
            .map_err(&wrap)?;
        }
        let stored = tx
            .query_one(
                &format!("SELECT {MESSAGE_COLUMNS} FROM message WHERE key = $1"),
                &[&m.key],
            )
            .map_err(&wrap)?;
        let stored = message_from_row(&stored)?;
        tx.commit().map_err(&wrap)?;
        Ok(stored)
    }

    fn message_findings(&self, key: &str) -> Result<Vec<MessageFinding>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                "SELECT finding_id, form FROM message_finding WHERE message_key = $1
                 ORDER BY finding_id",
                &[&key],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| MessageFinding {
                finding: r.get(0),
                form: r.get(1),
            })
            .collect())
    }

    fn disclosures(&self, incident: &str) -> Result<Vec<Disclosure>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                r#"SELECT m.key, m.party, mf.finding_id, mf.form, m.state
                   FROM message m JOIN message_finding mf ON mf.message_key = m.key
                   WHERE m.incident = $1
                   ORDER BY m.party COLLATE "C", mf.finding_id, m.key COLLATE "C""#,
                &[&incident],
            )
            .map_err(&wrap)?;
        rows.iter()
            .map(|r| {
                let message: String = r.get(0);
                let state: String = r.get(4);
                Ok(Disclosure {
                    party: r.get(1),
                    finding: r.get(2),
                    form: r.get(3),
                    state: message_state(&message, &state)?,
                    message,
                })
            })
            .collect()
    }

    fn ticket(&mut self, incident: &str, party: &str) -> Result<i64> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        // Two statements: the insert waits for a concurrent one of the same pair, and the
        // select, with a snapshot of its own, sees the row whichever of them stored it.
        conn.execute(
            "INSERT INTO ticket (incident, party) VALUES ($1, $2)
             ON CONFLICT (incident, party) DO NOTHING",
            &[&incident, &party],
        )
        .map_err(&wrap)?;
        let row = conn
            .query_one(
                "SELECT id FROM ticket WHERE incident = $1 AND party = $2",
                &[&incident, &party],
            )
            .map_err(&wrap)?;
        Ok(row.get(0))
    }

    fn ticket_messages(&self, ticket: i64) -> Result<Vec<MessageRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                &format!(
                    r#"SELECT {MESSAGE_COLUMNS} FROM message WHERE ticket = $1
                       ORDER BY round, created_at COLLATE "C", key COLLATE "C""#
                ),
                &[&ticket],
            )
            .map_err(&wrap)?;
        rows.iter().map(message_from_row).collect()
    }

    fn set_message_state(&mut self, key: &str, state: MessageState, detail: &str) -> Result<()> {
        let wrap = self.wrap();
        let sent_at = (state == MessageState::Sent).then(now);
        self.conn()?
            .execute(
                "UPDATE message SET state = $2, detail = $3, sent_at = COALESCE($4, sent_at)
                 WHERE key = $1",
                &[&key, &state.as_str(), &detail, &sent_at],
            )
            .map_err(&wrap)
            .map(drop)
    }

    fn messages(&self, incident: Option<&str>) -> Result<Vec<MessageRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                &format!(
                    r#"SELECT {MESSAGE_COLUMNS} FROM message
                       WHERE $1::text IS NULL OR incident = $1
                       ORDER BY created_at COLLATE "C", key COLLATE "C""#
                ),
                &[&incident],
            )
            .map_err(&wrap)?;
        rows.iter().map(message_from_row).collect()
    }

    fn message_states(&self) -> Result<Vec<(MessageState, u64)>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                r#"SELECT state, COUNT(*), MIN(key COLLATE "C") FROM message GROUP BY state"#,
                &[],
            )
            .map_err(&wrap)?;
        let order = [
            MessageState::Pending,
            MessageState::Sending,
            MessageState::Sent,
            MessageState::Failed,
        ];
        let mut out = Vec::new();
        for r in &rows {
            let (state, n, key): (String, i64, String) = (r.get(0), r.get(1), r.get(2));
            out.push((message_state(&key, &state)?, n as u64));
        }
        out.sort_by_key(|(s, _)| order.iter().position(|a| a == s));
        Ok(out)
    }
}
