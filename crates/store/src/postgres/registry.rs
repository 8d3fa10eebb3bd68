//! The registry on PostgreSQL: organisations, the routing table and abuse records, each
//! replaced in one transaction that drops the saved attribution index.

use baken_model::{AbuseRecord, Organisation, RoutedPrefix};
use r2d2_postgres::postgres::Transaction;
use std::borrow::Cow;

use super::PostgresStore;
use super::retry::retried;
use crate::prelude::*;
use crate::sqlite::json;
use crate::{Result, StoreError};

/// The advisory lock held while the registry is replaced: two replacements at the same
/// moment go one after the other (each deletes what the other would insert).
const REGISTRY_LOCK: i64 = 0x6261_6b65_6e04;

impl PostgresStore {
    /// Runs `replace` in a transaction that holds the registry lock and drops the saved
    /// attribution index first.
    fn replace_registry(
        &self,
        replace: impl Fn(
            &mut Transaction<'_>,
        ) -> std::result::Result<(), r2d2_postgres::postgres::Error>,
    ) -> Result<()> {
        let wrap = self.wrap();
        retried("registry", || {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction().map_err(&wrap)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REGISTRY_LOCK])
                .map_err(&wrap)?;
            tx.execute("DELETE FROM attribution_index", &[])
                .map_err(&wrap)?;
            replace(&mut tx).map_err(&wrap)?;
            tx.commit().map_err(&wrap)
        })
    }

    /// The JSON bodies `sql` selects, read as `T`.
    fn query_json<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        what: &'static str,
    ) -> Result<Vec<T>> {
        let rows = self.conn()?.query(sql, &[]).map_err(self.wrap())?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get(0)).map_err(|e| StoreError::Corrupt {
                    what,
                    detail: e.to_string(),
                })
            })
            .collect()
    }
}

impl RegistryStore for PostgresStore {
    fn replace_organisations(
        &mut self,
        orgs: &mut dyn Iterator<Item = Cow<'_, Organisation>>,
    ) -> Result<()> {
        // held as text, since a transaction PostgreSQL cancels is tried again
        let (ids, bodies): (Vec<String>, Vec<String>) =
            orgs.map(|o| (o.id.0.clone(), json(&*o))).unzip();
        self.replace_registry(|tx| {
            tx.execute("DELETE FROM organisation", &[])?;
            tx.execute(
                "INSERT INTO organisation (id, body) SELECT * FROM unnest($1::text[], $2::text[])",
                &[&ids, &bodies],
            )
            .map(drop)
        })
    }

    fn organisations(&self) -> Result<Vec<Organisation>> {
        // ids in the order of their bytes, as the SQLite store sorts them
        self.query_json(
            r#"SELECT body FROM organisation ORDER BY id COLLATE "C""#,
            "organisation",
        )
    }

    fn replace_routing(&mut self, source: &str, prefixes: &[RoutedPrefix]) -> Result<()> {
        let nets: Vec<String> = prefixes.iter().map(|p| p.net.to_string()).collect();
        let asns: Vec<i64> = prefixes.iter().map(|p| i64::from(p.asn)).collect();
        self.replace_registry(|tx| {
            tx.execute("DELETE FROM routed_prefix WHERE source = $1", &[&source])?;
            tx.execute(
                "INSERT INTO routed_prefix (source, net, asn)
                 SELECT $1, n, a FROM unnest($2::text[], $3::bigint[]) AS t(n, a)",
                &[&source, &nets, &asns],
            )
            .map(drop)
        })
    }

    fn routing(&self) -> Result<Vec<RoutedPrefix>> {
        let rows = self
            .conn()?
            .query("SELECT net, asn FROM routed_prefix", &[])
            .map_err(self.wrap())?;
        rows.iter()
            .map(|r| {
                let (net, asn): (&str, i64) = (r.get(0), r.get(1));
                let corrupt = |detail: String| StoreError::Corrupt {
                    what: "routed prefix",
                    detail: format!("{net}: {detail}"),
                };
                Ok(RoutedPrefix {
                    net: net.parse().map_err(|e| corrupt(format!("{e}")))?,
                    asn: u32::try_from(asn).map_err(|_| corrupt(format!("AS {asn}")))?,
                })
            })
            .collect()
    }

    fn replace_abuse(&mut self, source: &str, records: &[AbuseRecord]) -> Result<()> {
        let bodies: Vec<String> = records.iter().map(json).collect();
        self.replace_registry(|tx| {
            tx.execute("DELETE FROM abuse_record WHERE source = $1", &[&source])?;
            tx.execute(
                "INSERT INTO abuse_record (source, body)
                 SELECT $1, b FROM unnest($2::text[]) WITH ORDINALITY AS t(b, n) ORDER BY n",
                &[&source, &bodies],
            )
            .map(drop)
        })
    }

    fn abuse_records(&self) -> Result<Vec<AbuseRecord>> {
        self.query_json("SELECT body FROM abuse_record ORDER BY id", "abuse record")
    }

    fn attribution_index(&self) -> Result<Option<Vec<u8>>> {
        let row = self
            .conn()?
            .query_opt("SELECT data FROM attribution_index WHERE id = 1", &[])
            .map_err(self.wrap())?;
        Ok(row.map(|r| r.get(0)))
    }

    fn put_attribution_index(&mut self, index: &[u8]) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO attribution_index (id, data) VALUES (1, $1)
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                &[&index],
            )
            .map_err(self.wrap())
            .map(drop)
    }
}
