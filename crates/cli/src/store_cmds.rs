//! `baken store copy`: moving an installation from the embedded SQLite store to PostgreSQL.

use std::path::Path;

use anyhow::{Result, bail};
use baken_store::{PostgresStore, SqliteStore, StoreUrl};
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum StoreCommand {
    /// Copy every table of an SQLite store into an empty PostgreSQL database, in one
    /// transaction, ids kept; checked by the rows of every table and the audit log's chain
    /// and head before it is committed.
    Copy {
        /// The store to copy (default: --store, else sqlite:DATA/baken.db).
        #[arg(long, value_parser = parse_url)]
        from: Option<StoreUrl>,
        /// The PostgreSQL database to copy into (postgres://USER@HOST:PORT/DB); it must
        /// hold no data.
        #[arg(long, value_parser = parse_url)]
        to: StoreUrl,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_url(text: &str) -> std::result::Result<StoreUrl, String> {
    StoreUrl::parse(text)
}

pub(crate) fn cmd_store(
    data: &Path,
    current: Option<&StoreUrl>,
    command: StoreCommand,
) -> Result<()> {
    match command {
        StoreCommand::Copy { from, to, json } => {
            let from = from
                .or_else(|| current.cloned())
                .unwrap_or_else(|| StoreUrl::default_in(data));
            let (StoreUrl::Sqlite(path), StoreUrl::Postgres(url)) = (&from, &to) else {
                bail!(
                    "store copy copies an SQLite store into PostgreSQL: --from {from} --to {to} is not that"
                );
            };
            if !path.exists() {
                bail!("--from {from}: no such database file");
            }
            let source = SqliteStore::open_file(path)?;
            let target = PostgresStore::connect(url)?;
            let copied =
                baken_store::copy::sqlite_to_postgres(&source, &target, &mut |table, n| {
                    if !json {
                        eprintln!("  {table}: {n} row(s)");
                    }
                })?;
            if json {
                println!("{}", serde_json::to_string(&copied)?);
            } else {
                let head = match &copied.audit_head {
                    Some((seq, hash)) => format!("audit log verified up to entry {seq} ({hash})"),
                    None => "the audit log is empty".to_string(),
                };
                println!(
                    "copied {} row(s) in {} tables from {from} to {to}; every table's rows counted on both sides; {head}",
                    copied.rows(),
                    copied.tables.len()
                );
            }
            Ok(())
        }
    }
}
