//! The timeline of incidents on PostgreSQL: steps appended, read back in order of time.

use super::PostgresStore;
use crate::prelude::*;
use crate::{Result, TimelineStep};

impl TimelineStore for PostgresStore {
    fn add_step(&mut self, s: &TimelineStep) -> Result<()> {
        let wrap = self.wrap();
        self.conn()?
            .execute(
                "INSERT INTO timeline (incident, step, at, detail) VALUES ($1, $2, $3, $4)",
                &[&s.incident, &s.step, &s.at, &s.detail],
            )
            .map_err(&wrap)
            .map(drop)
    }

    fn timeline(&self, incident: &str) -> Result<Vec<TimelineStep>> {
        let wrap = self.wrap();
        // times compare as the text they are, byte by byte, whatever the database's collation
        let rows = self
            .conn()?
            .query(
                r#"SELECT incident, step, at, detail FROM timeline
                   WHERE incident = $1 OR incident = '*' ORDER BY at COLLATE "C", id"#,
                &[&incident],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| TimelineStep {
                incident: r.get(0),
                step: r.get(1),
                at: r.get(2),
                detail: r.get(3),
            })
            .collect())
    }
}
