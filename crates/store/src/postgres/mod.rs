//! The PostgreSQL store: the system of record beyond one machine. It keeps the same
//! [`Store`](crate::Store) contract as the embedded SQLite store (`tests/contract_postgres.rs`
//! runs the contract's checks on it, part by part) and the same data, in the schema of
//! `schema.rs`. One module per part of the store.
//!
//! Every method is one transaction on a connection taken from a small pool, so reads through
//! `&self` and several processes (workers, the service, ingest) share one database. What must
//! be serial across processes is made so by PostgreSQL: appends to the audit log take a
//! transaction-scoped advisory lock, so the hash chain stays one chain under concurrent
//! writers; migrations take another. What several processes may record at once and must be
//! recorded once (a message by its key, the ticket of an incident and party, a webhook event,
//! a report stage) is one `INSERT … ON CONFLICT`: the later transaction waits for the earlier
//! and then stores nothing.
//!
//! Results come in the order SQLite gives them: text is ordered byte by byte (`COLLATE "C"`),
//! whatever the database's collation, and rows SQLite gives in the order they were added come
//! in order of their id.

mod advisories;
mod audit;
mod batch;
mod findings;
mod incident_reports;
mod inventory;
mod messages;
mod registry;
mod retry;
mod schema;
mod sync_state;
mod timeline;
mod tokens;
mod webhooks;

use std::collections::HashMap;
use std::sync::Mutex;

use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::{self, NoTls, Transaction};

use crate::audit::NewAuditEntry;
use crate::{Result, StoreError, now};
use schema::MIGRATIONS;

/// The advisory lock (`pg_advisory_xact_lock`) held while the audit log is appended to.
pub(crate) const AUDIT_LOCK: i64 = 0x6261_6b65_6e01;
/// The advisory lock held while the schema is migrated.
const MIGRATION_LOCK: i64 = 0x6261_6b65_6e02;
/// Connections a store keeps at most.
const POOL_SIZE: u32 = 4;

/// A pooled connection.
pub(crate) type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
    /// The URL without its password, for messages.
    shown: String,
    /// Incident ids by name, as stored (an incident, once stored, keeps its id).
    pub(crate) incidents: Mutex<HashMap<String, i64>>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, or any form the
    /// `postgres` crate accepts) and migrates its schema.
    pub fn connect(url: &str) -> Result<Self> {
        let config: postgres::Config = url.parse().map_err(|source| StoreError::Postgres {
            url: shown_url(url),
            source,
        })?;
        Self::with_config(config, shown_url(url))
    }

    /// Connects with a parsed configuration; `shown` names the database in messages.
    pub fn with_config(config: postgres::Config, shown: String) -> Result<Self> {
        // One connection first, so that a server that is down or refuses says so at once
        // (the pool would retry until its timeout); it migrates the schema.
        let mut first = config
            .connect(NoTls)
            .map_err(|source| StoreError::Postgres {
                url: shown.clone(),
                source,
            })?;
        migrate(&mut first, &shown)?;
        drop(first);
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_secs(30))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            shown,
            incidents: Mutex::new(HashMap::new()),
        })
    }

    /// The database, as a URL without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// A connection from the pool.
    pub(crate) fn conn(&self) -> Result<Conn> {
        self.pool.get().map_err(|e| StoreError::Pool {
            url: self.shown.clone(),
            detail: e.to_string(),
        })
    }

    /// Turns a database error into the store's error, naming this database; holds no borrow
    /// of the store, so it can be used while a transaction is open.
    pub(crate) fn wrap(&self) -> impl Fn(postgres::Error) -> StoreError + use<> {
        let url = self.shown.clone();
        move |source| StoreError::Postgres {
            url: url.clone(),
            source,
        }
    }
}

/// Brings the schema of the database `conn` is connected to up to date.
fn migrate(conn: &mut postgres::Client, shown: &str) -> Result<()> {
    let wrap = |source| StoreError::Postgres {
        url: shown.to_string(),
        source,
    };
    let mut tx = conn.transaction().map_err(&wrap)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(&wrap)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS baken_schema (version BIGINT NOT NULL)")
        .map_err(&wrap)?;
    let version: i64 = match tx
        .query_opt("SELECT version FROM baken_schema", &[])
        .map_err(&wrap)?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO baken_schema (version) VALUES (0)", &[])
                .map_err(&wrap)?;
            0
        }
    };
    let version = version as usize;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Corrupt {
            what: "schema version",
            detail: format!(
                "{} has schema version {version}, newer than this baken knows ({}); use the baken release that wrote it",
                shown,
                MIGRATIONS.len()
            ),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(sql).map_err(&wrap)?;
        tx.execute("UPDATE baken_schema SET version = $1", &[&((i + 1) as i64)])
            .map_err(&wrap)?;
        tracing::debug!(url = %shown, version = i + 1, "schema migration applied");
    }
    tx.commit().map_err(&wrap)?;
    if version < MIGRATIONS.len() {
        tracing::info!(url = %shown, from = version, to = MIGRATIONS.len(), "store schema migrated");
    }
    Ok(())
}

/// `url` without the password it may hold.
pub fn shown_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Appends audit entries inside `tx`, chained to the last one. The advisory lock makes
/// appends of concurrent transactions one after the other: each reads the head the one
/// before it committed.
pub(crate) fn append_audit_in(
    tx: &mut Transaction<'_>,
    entries: &[NewAuditEntry],
    wrap: &dyn Fn(postgres::Error) -> StoreError,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .map_err(wrap)?;
    let (mut seq, mut prev): (i64, String) = tx
        .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
        .map_err(wrap)?
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or((0, crate::audit::GENESIS.to_string()));
    let insert = tx
        .prepare(
            "INSERT INTO audit (seq, at, kind, subject, body, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .map_err(wrap)?;
    for e in entries {
        seq += 1;
        let at = now();
        let hash = crate::audit::entry_hash(&prev, seq, &at, &e.kind, &e.subject, &e.body);
        tx.execute(
            &insert,
            &[&seq, &at, &e.kind, &e.subject, &e.body, &prev, &hash],
        )
        .map_err(wrap)?;
        prev = hash;
    }
    Ok(())
}

/// Fresh PostgreSQL databases for tests: each created on the server that
/// `$BAKEN_TEST_POSTGRES` names (default `postgres://postgres@127.0.0.1:5432/postgres`),
/// dropped when dropped.
pub mod testing {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// The server tests use: `$BAKEN_TEST_POSTGRES`, else the local one.
    pub fn admin_url() -> String {
        std::env::var("BAKEN_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
    }

    /// A database of its own on the test server, dropped (with its connections) when this
    /// is dropped: a schema of the server's database, which the URL makes the only one on
    /// the search path, so that a store on it sees nothing else. A schema is made in a few
    /// milliseconds, where a database takes a second.
    pub struct TempDatabase {
        name: String,
        admin: String,
        url: String,
    }

    impl TempDatabase {
        /// Creates a new, empty schema whose name starts with `baken_test_` and names this
        /// process and `label`.
        pub fn new(label: &str) -> std::result::Result<Self, String> {
            static N: AtomicU32 = AtomicU32::new(0);
            let admin = admin_url();
            let clean: String = label
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .take(24)
                .collect();
            let name = format!(
                "baken_test_{}_{}_{clean}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let mut client = postgres::Client::connect(&admin, NoTls)
                .map_err(|e| format!("the test PostgreSQL server {admin}: {e}"))?;
            client
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .map_err(|e| format!("CREATE SCHEMA {name}: {e}"))?;
            let sep = if admin.contains('?') { '&' } else { '?' };
            let url = format!("{admin}{sep}options=-csearch_path%3D{name}");
            Ok(Self { name, admin, url })
        }

        /// The database's URL.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// A store on it.
        pub fn store(&self) -> Result<PostgresStore> {
            PostgresStore::connect(&self.url)
        }
    }

    impl Drop for TempDatabase {
        fn drop(&mut self) {
            if let Ok(mut client) = postgres::Client::connect(&self.admin, NoTls) {
                let _ =
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        }
    }

    /// `url` with its database name replaced by `db`.
    pub fn with_dbname(url: &str, db: &str) -> String {
        let (base, query) = match url.find('?') {
            Some(q) => (&url[..q], &url[q..]),
            None => (url, ""),
        };
        let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
        let base = match base[after_scheme..].find('/') {
            Some(slash) => &base[..after_scheme + slash],
            None => base,
        };
        format!("{base}/{db}{query}")
    }
}
