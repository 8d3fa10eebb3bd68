//! Software inventories on PostgreSQL, replaced whole per organisation and source.

use super::PostgresStore;
use crate::prelude::*;
use crate::{InventoryRecord, InventoryReplacement, Result, now};

/// The advisory lock held while inventories are replaced: two imports replacing the same
/// inventory at once would otherwise each delete only the rows they saw and both insert,
/// leaving the entries twice. Imports are rare; one at a time costs nothing.
const INVENTORY_LOCK: i64 = 0x6261_6b65_6e03;

impl InventoryStore for PostgresStore {
    fn replace_inventories(&mut self, inventories: &[InventoryReplacement<'_>]) -> Result<()> {
        if inventories.is_empty() {
            return Ok(());
        }
        let wrap = self.wrap();
        let at = now();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(&wrap)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INVENTORY_LOCK])
            .map_err(&wrap)?;
        let delete = tx
            .prepare("DELETE FROM inventory WHERE org = $1 AND source = $2")
            .map_err(&wrap)?;
        // one statement per inventory; the ids, given in order, keep the entries' order
        let insert = tx
            .prepare(
                "INSERT INTO inventory (org, source, cpe, purl, name, version, host, place, imported_at)
                 SELECT $1, $2, cpe, purl, name, version, host, place, $3
                 FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
                      WITH ORDINALITY AS t(cpe, purl, name, version, host, place, n)
                 ORDER BY n",
            )
            .map_err(&wrap)?;
        for InventoryReplacement {
            org,
            source,
            entries,
        } in inventories
        {
            tx.execute(&delete, &[org, source]).map_err(&wrap)?;
            if entries.is_empty() {
                continue;
            }
            let column = |f: fn(&InventoryRecord) -> Option<&str>| -> Vec<Option<&str>> {
                entries.iter().map(f).collect()
            };
            let places: Vec<&str> = entries.iter().map(|e| e.place.as_str()).collect();
            tx.execute(
                &insert,
                &[
                    org,
                    source,
                    &at,
                    &column(|e| e.cpe.as_deref()),
                    &column(|e| e.purl.as_deref()),
                    &column(|e| e.name.as_deref()),
                    &column(|e| e.version.as_deref()),
                    &column(|e| e.host.as_deref()),
                    &places,
                ],
            )
            .map_err(&wrap)?;
        }
        tx.commit().map_err(&wrap)
    }

    fn inventory(&self) -> Result<Vec<InventoryRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                r#"SELECT org, source, cpe, purl, name, version, host, place FROM inventory
                   ORDER BY org COLLATE "C", source COLLATE "C", id"#,
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| InventoryRecord {
                org: r.get(0),
                source: r.get(1),
                cpe: r.get(2),
                purl: r.get(3),
                name: r.get(4),
                version: r.get(5),
                host: r.get(6),
                place: r.get(7),
            })
            .collect())
    }
}
