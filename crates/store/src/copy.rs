//! Moving an installation up: every table of an embedded SQLite store copied into an empty
//! PostgreSQL database in one transaction, ids kept, then checked — the rows of every table
//! counted on both sides and the copied audit log verified up to the same head.

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use r2d2_postgres::postgres;
use rusqlite::types::ValueRef;
use serde::Serialize;

use crate::{PostgresStore, Result, SqliteStore, StoreError, audit};

/// The tables, their columns as both engines name them, and the SQLite expression read for
/// each (a column PostgreSQL keys by an id that SQLite keeps as the rowid reads `rowid`).
/// Parents come before the rows that refer to them.
const TABLES: &[(&str, &[(&str, &str)])] = &[
    ("organisation", &[("id", "id"), ("body", "body")]),
    (
        "routed_prefix",
        &[("source", "source"), ("net", "net"), ("asn", "asn")],
    ),
    (
        "abuse_record",
        &[("id", "rowid"), ("source", "source"), ("body", "body")],
    ),
    ("attribution_index", &[("id", "id"), ("data", "data")]),
    (
        "ingest_run",
        &[
            ("id", "id"),
            ("file", "file"),
            ("feed", "feed"),
            ("started_at", "started_at"),
            ("finished_at", "finished_at"),
            ("rows_read", "rows_read"),
            ("stored", "stored"),
            ("duplicate", "duplicate"),
            ("quarantined", "quarantined"),
            ("tlp", "tlp"),
            ("supplied_by", "supplied_by"),
            ("source", "source"),
            ("kind", "kind"),
            ("seen_from", "seen_from"),
            ("seen_until", "seen_until"),
        ],
    ),
    (
        "quarantine",
        &[
            ("id", "id"),
            ("fingerprint", "fingerprint"),
            ("run_id", "run_id"),
            ("file", "file"),
            ("line", "line"),
            ("field", "field"),
            ("reason", "reason"),
            ("raw", "raw"),
        ],
    ),
    ("incident", &[("id", "id"), ("name", "name")]),
    (
        "chunk",
        &[
            ("id", "id"),
            ("run_id", "run_id"),
            ("kind", "kind"),
            ("first_line", "first_line"),
            ("skip", "skip"),
            ("rows", "rows"),
            ("data", "data"),
        ],
    ),
    (
        "finding",
        &[
            ("id", "id"),
            ("incident_id", "incident_id"),
            ("addr", "addr"),
            ("port", "port"),
            ("transport", "transport"),
            ("owner_kind", "owner_kind"),
            ("owner", "owner"),
            ("rule", "rule"),
            ("first_seen", "first_seen"),
            ("last_seen", "last_seen"),
            ("times_seen", "times_seen"),
            ("state", "state"),
            ("last_chunk", "last_chunk"),
            ("last_row", "last_row"),
            ("misses", "misses"),
            ("checked_until", "checked_until"),
        ],
    ),
    (
        "observation",
        &[
            ("finding_id", "finding_id"),
            ("seen_at", "seen_at"),
            ("chunk_id", "chunk_id"),
            ("\"row\"", "row"),
        ],
    ),
    (
        "run_part",
        &[
            ("run_id", "run_id"),
            ("part", "part"),
            ("stored", "stored"),
            ("duplicate", "duplicate"),
            ("quarantined", "quarantined"),
            ("new_findings", "new_findings"),
            ("reopened", "reopened"),
        ],
    ),
    (
        "message",
        &[
            ("key", "key"),
            ("incident", "incident"),
            ("recipient", "recipient"),
            ("party", "party"),
            ("path", "path"),
            ("findings", "findings"),
            ("state", "state"),
            ("detail", "detail"),
            ("created_at", "created_at"),
            ("sent_at", "sent_at"),
            ("ticket", "ticket"),
            ("round", "round"),
            ("kind", "kind"),
        ],
    ),
    (
        "message_finding",
        &[
            ("message_key", "message_key"),
            ("finding_id", "finding_id"),
            ("form", "form"),
        ],
    ),
    (
        "ticket",
        &[("id", "id"), ("incident", "incident"), ("party", "party")],
    ),
    (
        "timeline",
        &[
            ("id", "id"),
            ("incident", "incident"),
            ("step", "step"),
            ("at", "at"),
            ("detail", "detail"),
        ],
    ),
    (
        "advisory",
        &[
            ("seq", "rowid"),
            ("id", "id"),
            ("sha256", "sha256"),
            ("revision", "revision"),
            ("format", "format"),
            ("released", "released"),
            ("title", "title"),
            ("tlp", "tlp"),
            ("highest_score", "highest_score"),
            ("highest_vector", "highest_vector"),
            ("source", "source"),
            ("imported_at", "imported_at"),
            ("document", "document"),
        ],
    ),
    (
        "audit",
        &[
            ("seq", "seq"),
            ("at", "at"),
            ("kind", "kind"),
            ("subject", "subject"),
            ("body", "body"),
            ("prev_hash", "prev_hash"),
            ("hash", "hash"),
        ],
    ),
    (
        "audit_checkpoint",
        &[
            ("id", "id"),
            ("seq", "seq"),
            ("hash", "hash"),
            ("at", "at"),
            ("signature", "signature"),
            ("public_key", "public_key"),
        ],
    ),
    (
        "decision_logged",
        &[
            ("incident", "incident"),
            ("subject", "subject"),
            ("recipient", "recipient"),
            ("digest", "digest"),
        ],
    ),
    (
        "sync_state",
        &[
            ("source", "source"),
            ("state", "state"),
            ("synced_at", "synced_at"),
        ],
    ),
    (
        "inventory",
        &[
            ("id", "rowid"),
            ("org", "org"),
            ("source", "source"),
            ("cpe", "cpe"),
            ("purl", "purl"),
            ("name", "name"),
            ("version", "version"),
            ("host", "host"),
            ("place", "place"),
            ("imported_at", "imported_at"),
        ],
    ),
    (
        "transition",
        &[
            ("id", "id"),
            ("finding_id", "finding_id"),
            ("at", "at"),
            ("from_state", "from_state"),
            ("to_state", "to_state"),
            ("cause", "cause"),
            ("reference", "reference"),
            ("\"by\"", "by"),
            ("note", "note"),
        ],
    ),
    (
        "exploitation",
        &[("name", "name"), ("since", "since"), ("source", "source")],
    ),
    (
        "api_token",
        &[
            ("id", "id"),
            ("party", "party"),
            ("analyst", "analyst"),
            ("hash", "hash"),
            ("created_at", "created_at"),
            ("expires_at", "expires_at"),
            ("revoked_at", "revoked_at"),
        ],
    ),
    (
        "webhook",
        &[
            ("id", "id"),
            ("party", "party"),
            ("url", "url"),
            ("secret", "secret"),
            ("created_at", "created_at"),
            ("removed_at", "removed_at"),
        ],
    ),
    (
        "webhook_delivery",
        &[
            ("id", "id"),
            ("webhook_id", "webhook_id"),
            ("event_id", "event_id"),
            ("payload", "payload"),
            ("attempts", "attempts"),
            ("next_attempt", "next_attempt"),
            ("delivered_at", "delivered_at"),
            ("last_error", "last_error"),
        ],
    ),
    (
        "incident_report_stage",
        &[
            ("id", "id"),
            ("fingerprint", "fingerprint"),
            ("organisation", "organisation"),
            ("reference", "reference"),
            ("stage", "stage"),
            ("at", "at"),
            ("\"by\"", "by"),
            ("tlp", "tlp"),
            ("body", "body"),
        ],
    ),
];

/// What a copy did: rows per table, the same on both sides, and the audit head both hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Copied {
    /// Rows copied, by table, in the order copied.
    pub tables: Vec<(String, u64)>,
    /// The audit log's last entry (sequence number and hash) on both sides; `None` when
    /// the log is empty.
    pub audit_head: Option<(i64, String)>,
}

impl Copied {
    /// Rows copied in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// One value on its way from SQLite to PostgreSQL, written as the target column's type.
#[derive(Debug)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Int(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Cell::Int(v) if *ty == Type::FLOAT8 => (*v as f64).to_sql(ty, out),
            Cell::Int(v) => v.to_sql(ty, out),
            Cell::Real(v) => v.to_sql(ty, out),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Bytes(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::INT8,
            Type::BOOL,
            Type::FLOAT8,
            Type::TEXT,
            Type::BYTEA,
        ]
        .contains(ty)
    }

    to_sql_checked!();
}

/// Copies every table of `from` into `to`, which must hold no data yet, in one transaction,
/// then checks the copy. `progress` hears of each table as it is done: its name, its rows.
pub fn sqlite_to_postgres(
    from: &SqliteStore,
    to: &PostgresStore,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Copied> {
    let lite = from.connection();
    let lite_err = |source| StoreError::Database {
        path: from.path().display().to_string(),
        source,
    };
    let pg_err = to.wrap();
    // one read transaction: the copy is of one moment of the source
    let read = lite.unchecked_transaction().map_err(lite_err)?;
    let mut conn = to.conn()?;
    let mut tx = conn.transaction().map_err(&pg_err)?;
    for (table, _) in TABLES {
        let held: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .map_err(&pg_err)?
            .get(0);
        if held > 0 {
            return Err(StoreError::Corrupt {
                what: "copy target",
                detail: format!(
                    "{} already holds {held} row(s) in {table}; copy into an empty database",
                    to.url()
                ),
            });
        }
    }
    let mut copied = Vec::new();
    for (table, columns) in TABLES {
        let target: Vec<&str> = columns.iter().map(|c| c.0).collect();
        let source: Vec<&str> = columns.iter().map(|c| c.1).collect();
        let types: Vec<Type> = tx
            .prepare(&format!(
                "SELECT {} FROM {table} LIMIT 0",
                target.join(", ")
            ))
            .map_err(&pg_err)?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({}) FROM STDIN (FORMAT binary)",
                target.join(", ")
            ))
            .map_err(&pg_err)?;
        let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
        let mut stmt = read
            .prepare(&format!("SELECT {} FROM {table}", source.join(", ")))
            .map_err(lite_err)?;
        let mut rows = stmt.query([]).map_err(lite_err)?;
        let mut n = 0u64;
        let mut cells: Vec<Cell> = Vec::with_capacity(columns.len());
        while let Some(row) = rows.next().map_err(lite_err)? {
            cells.clear();
            for (i, column) in source.iter().enumerate() {
                cells.push(match row.get_ref(i).map_err(lite_err)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(t) => {
                        Cell::Text(String::from_utf8(t.to_vec()).map_err(|_| {
                            StoreError::Corrupt {
                                what: "copy source",
                                detail: format!(
                                    "{table}.{column} of row {}: text that is not UTF-8",
                                    n + 1
                                ),
                            }
                        })?)
                    }
                    ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                });
            }
            let params: Vec<&(dyn ToSql + Sync)> =
                cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            writer.write(&params).map_err(&pg_err)?;
            n += 1;
        }
        writer.finish().map_err(&pg_err)?;
        // identities continue after the copied ids
        for (column, _) in columns.iter().filter(|(_, s)| *s == "rowid" || *s == "id") {
            let is_identity: bool = tx
                .query_one(
                    "SELECT pg_get_serial_sequence($1, $2) IS NOT NULL",
                    &[table, column],
                )
                .map_err(&pg_err)?
                .get(0);
            if is_identity {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                       COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )
                .map_err(&pg_err)?;
            }
        }
        progress(table, n);
        copied.push((table.to_string(), n));
    }
    // checked inside the transaction: a copy that does not match is never committed
    for (table, n) in &copied {
        let there: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .map_err(&pg_err)?
            .get(0);
        let here: i64 = read
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(lite_err)?;
        if there != here || there as u64 != *n {
            return Err(StoreError::Corrupt {
                what: "copy",
                detail: format!("{table}: {here} row(s) in the source, {there} copied"),
            });
        }
    }
    let entries: Vec<audit::AuditEntry> = tx
        .query(
            "SELECT seq, at, kind, subject, body, prev_hash, hash FROM audit ORDER BY seq",
            &[],
        )
        .map_err(&pg_err)?
        .iter()
        .map(|r| audit::AuditEntry {
            seq: r.get(0),
            at: r.get(1),
            kind: r.get(2),
            subject: r.get(3),
            body: r.get(4),
            prev_hash: r.get(5),
            hash: r.get(6),
        })
        .collect();
    audit::verify(&entries).map_err(|b| StoreError::Corrupt {
        what: "copied audit log",
        detail: format!("{b:?}"),
    })?;
    let head_there = entries.last().map(|e| (e.seq, e.hash.clone()));
    let head_here: Option<(i64, String)> = {
        use rusqlite::OptionalExtension;
        read.query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(lite_err)?
    };
    if head_there != head_here {
        return Err(StoreError::Corrupt {
            what: "copied audit log",
            detail: format!("its head is {head_there:?}, the source's {head_here:?}"),
        });
    }
    tx.commit().map_err(&pg_err)?;
    drop(read);
    Ok(Copied {
        tables: copied,
        audit_head: head_there,
    })
}
