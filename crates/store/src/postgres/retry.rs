//! Transactions tried again when PostgreSQL gives up on them for a concurrent one: a
//! serialization failure or a deadlock (SQLSTATE 40001, 40P01) says nothing about the data,
//! only that another process touched the same rows at the same moment.

use r2d2_postgres::postgres::error::SqlState;

use crate::{Result, StoreError};

/// How often a transaction is tried in all.
const ATTEMPTS: u32 = 5;

/// Whether `error` is PostgreSQL cancelling a transaction for a concurrent one.
pub(crate) fn is_transient(error: &StoreError) -> bool {
    match error {
        StoreError::Postgres { source, .. } => matches!(
            source.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
        ),
        _ => false,
    }
}

/// Runs `transaction` (which opens, does and commits one transaction) until it succeeds, fails
/// for a reason of its own, or has been tried [`ATTEMPTS`] times; between tries it waits a
/// little longer each time, so that the transaction it met can finish.
pub(crate) fn retried<T>(
    what: &'static str,
    mut transaction: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut attempt = 1;
    loop {
        match transaction() {
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tracing::debug!(what, attempt, error = %e, "transaction tried again");
                std::thread::sleep(std::time::Duration::from_millis(
                    5 * u64::from(attempt * attempt),
                ));
                attempt += 1;
            }
            done => return done,
        }
    }
}
