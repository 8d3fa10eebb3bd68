//! API tokens on PostgreSQL, kept as their hashes; revoked, never deleted.

use r2d2_postgres::postgres::Row;

use super::PostgresStore;
use crate::prelude::*;
use crate::{Result, TokenRecord, now};

const TOKEN_COLUMNS: &str = "id, party, analyst, hash, created_at, expires_at, revoked_at";

fn token_from_row(r: &Row) -> TokenRecord {
    TokenRecord {
        id: r.get(0),
        party: r.get(1),
        analyst: r.get(2),
        hash: r.get(3),
        created_at: r.get(4),
        expires_at: r.get(5),
        revoked_at: r.get(6),
    }
}

impl TokenStore for PostgresStore {
    fn add_token(
        &mut self,
        party: &str,
        analyst: bool,
        hash: &str,
        expires_at: Option<&str>,
    ) -> Result<i64> {
        let wrap = self.wrap();
        // a hash stored already violates its UNIQUE constraint: an error, as it must be
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO api_token (party, analyst, hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&party, &analyst, &hash, &now(), &expires_at],
            )
            .map_err(&wrap)?;
        Ok(row.get(0))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_token ORDER BY id"),
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows.iter().map(token_from_row).collect())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let wrap = self.wrap();
        let row = self
            .conn()?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_token WHERE hash = $1"),
                &[&hash],
            )
            .map_err(&wrap)?;
        Ok(row.as_ref().map(token_from_row))
    }

    fn revoke_token(&mut self, id: i64) -> Result<bool> {
        let wrap = self.wrap();
        let changed = self
            .conn()?
            .execute(
                "UPDATE api_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now()],
            )
            .map_err(&wrap)?;
        Ok(changed == 1)
    }
}
