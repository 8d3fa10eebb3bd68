//! Where each advisory source's sync left off, on PostgreSQL: one row per source.

use super::PostgresStore;
use crate::prelude::*;
use crate::{Result, now};

impl SyncStateStore for PostgresStore {
    fn sync_state(&self, source: &str) -> Result<Option<String>> {
        let wrap = self.wrap();
        let row = self
            .conn()?
            .query_opt("SELECT state FROM sync_state WHERE source = $1", &[&source])
            .map_err(&wrap)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn put_sync_state(&mut self, source: &str, state: &str) -> Result<()> {
        let wrap = self.wrap();
        self.conn()?
            .execute(
                "INSERT INTO sync_state (source, state, synced_at) VALUES ($1, $2, $3)
                 ON CONFLICT (source) DO UPDATE
                 SET state = excluded.state, synced_at = excluded.synced_at",
                &[&source, &state, &now()],
            )
            .map_err(&wrap)
            .map(drop)
    }
}
