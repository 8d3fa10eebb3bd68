//! The SQLite schema. Versioned with `PRAGMA user_version`; each step runs once.

/// Migrations, in order; `user_version` counts how many have run.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE organisation (
    id    TEXT PRIMARY KEY,
    body  TEXT NOT NULL            -- the Organisation as JSON
);
CREATE TABLE routed_prefix (
    source TEXT NOT NULL,
    net    TEXT NOT NULL,
    asn    INTEGER NOT NULL
);
CREATE INDEX routed_prefix_source ON routed_prefix(source);
CREATE TABLE abuse_record (
    source TEXT NOT NULL,
    body   TEXT NOT NULL           -- the AbuseRecord as JSON
);
CREATE INDEX abuse_record_source ON abuse_record(source);
CREATE TABLE ingest_run (
    id          INTEGER PRIMARY KEY,
    file        TEXT NOT NULL,
    feed        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    rows_read   INTEGER,
    stored      INTEGER,
    duplicate   INTEGER,
    quarantined INTEGER
);
CREATE TABLE event (
    id          INTEGER PRIMARY KEY,
    fingerprint BLOB NOT NULL UNIQUE,  -- SHA-256 of the event without time.observation
    run_id      INTEGER NOT NULL REFERENCES ingest_run(id),
    file        TEXT NOT NULL,
    line        INTEGER NOT NULL,
    source_ip   TEXT,
    owner_kind  TEXT NOT NULL,         -- organisation | abuse | unknown
    org_id      TEXT,
    abuse_email TEXT,
    rule        TEXT NOT NULL,
    attribution TEXT NOT NULL,         -- the Attribution as JSON
    stored_at   TEXT NOT NULL,
    body        TEXT NOT NULL          -- the Event as JSON
);
CREATE INDEX event_org ON event(org_id);
CREATE TABLE event_incident (
    incident TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES event(id),
    PRIMARY KEY (incident, event_id)
) WITHOUT ROWID;
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    fingerprint BLOB NOT NULL UNIQUE,  -- SHA-256 of file, line and raw row
    run_id      INTEGER NOT NULL REFERENCES ingest_run(id),
    file        TEXT NOT NULL,
    line        INTEGER NOT NULL,
    field       TEXT,
    reason      TEXT NOT NULL,
    raw         TEXT NOT NULL
);
CREATE TABLE message (
    key        TEXT PRIMARY KEY,
    incident   TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    party      TEXT NOT NULL,
    path       TEXT NOT NULL,
    findings   INTEGER NOT NULL,
    state      TEXT NOT NULL,
    detail     TEXT,
    created_at TEXT NOT NULL,
    sent_at    TEXT
);
CREATE INDEX message_incident ON message(incident);
CREATE TABLE timeline (
    id       INTEGER PRIMARY KEY,
    incident TEXT NOT NULL,
    step     TEXT NOT NULL,
    at       TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline(incident);
"#,
    // 2: advisories, every revision kept (severity history).
    r#"
CREATE TABLE advisory (
    id            TEXT NOT NULL,      -- CSAF tracking.id, CVE id, OSV id
    sha256        TEXT NOT NULL,      -- of the document as imported
    revision      TEXT,
    format        TEXT NOT NULL,
    released      TEXT,               -- current_release of this revision (RFC 3339)
    title         TEXT,
    tlp           TEXT,
    highest_score REAL,
    highest_vector TEXT,
    source        TEXT NOT NULL,      -- the file or URL it came from
    imported_at   TEXT NOT NULL,
    document      BLOB NOT NULL,      -- the original bytes: the advisory is re-read from them
    PRIMARY KEY (id, sha256)
);
"#,
    // 3: the audit log, append-only (hash-chained; triggers refuse updates and deletes).
    r#"
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    // 4: where each advisory source's last sync left off.
    r#"
CREATE TABLE sync_state (
    source    TEXT PRIMARY KEY,
    state     TEXT NOT NULL,      -- JSON, as the sync crate writes it
    synced_at TEXT NOT NULL
);
"#,
    // 5: what organisations declared they run (inventories, SBOMs).
    r#"
CREATE TABLE inventory (
    org         TEXT NOT NULL,
    source      TEXT NOT NULL,      -- the file it was imported from
    cpe         TEXT,
    purl        TEXT,
    name        TEXT,
    version     TEXT,
    host        TEXT,
    place       TEXT NOT NULL,      -- where in the file (line, JSON path)
    imported_at TEXT NOT NULL
);
CREATE INDEX inventory_org ON inventory(org, source);
"#,
    // 6: every ingested item carries a TLP label and who supplied it.
    r#"
ALTER TABLE ingest_run ADD COLUMN tlp TEXT;
ALTER TABLE ingest_run ADD COLUMN supplied_by TEXT;
"#,
    // 7: findings and observations replace one stored JSON event per row; the rows are
    // kept as compressed chunks of their input text. `migrate_events` moves the events of
    // a store written before into findings, then the old tables go.
    r#"
CREATE TABLE incident (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE chunk (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES ingest_run(id),
    kind       TEXT NOT NULL,        -- text | events
    first_line INTEGER NOT NULL,
    skip       INTEGER NOT NULL,     -- rows at its start that belong to the chunk before
    rows       INTEGER NOT NULL,     -- its own rows, accepted and quarantined
    data       BLOB NOT NULL         -- zstd
);
CREATE INDEX chunk_run ON chunk(run_id);
CREATE TABLE finding (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incident(id),
    addr        TEXT NOT NULL,       -- source.ip, else source.fqdn, else ''
    port        INTEGER NOT NULL,    -- source.port, else 0
    transport   TEXT NOT NULL,       -- protocol.transport, else ''
    owner_kind  TEXT NOT NULL,       -- organisation | abuse | unknown
    owner       TEXT,                -- the organisation id, or the abuse contact as JSON
    rule        TEXT NOT NULL,       -- the reason is worked out again when read
    first_seen  INTEGER NOT NULL,    -- time.source, Unix seconds
    last_seen   INTEGER NOT NULL,
    times_seen  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    last_chunk  INTEGER NOT NULL,    -- the row of the latest observation
    last_row    INTEGER NOT NULL
);
CREATE UNIQUE INDEX finding_key ON finding(incident_id, addr, port, transport);
CREATE TABLE observation (
    finding_id INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,     -- time.source, Unix seconds; 0 when the row had none
    chunk_id   INTEGER NOT NULL,
    row        INTEGER NOT NULL,
    PRIMARY KEY (finding_id, seen_at)
) WITHOUT ROWID;
CREATE TABLE attribution_index (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    data BLOB NOT NULL
);
ALTER TABLE ingest_run ADD COLUMN source TEXT;   -- RunSource as JSON
"#,
    // 8: the events of a store written before 7 become findings. They are moved by code
    // (`move_events`) after the last migration, which also drops the old tables, so that
    // they are stored as the current schema stores findings.
    r#"
SELECT 1;
"#,
    // 9: the lifecycle. Every change of a finding's state is recorded with its cause; a
    // report of a feed and type that no longer holds a finding counts towards its
    // verification; each message names the findings it carries, so that a recipient is
    // never told the same finding twice; an exchange with a recipient has a ticket.
    r#"
ALTER TABLE finding ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;  -- later reports in a row without it
ALTER TABLE finding ADD COLUMN checked_until INTEGER;             -- the latest such report's last time.source
ALTER TABLE ingest_run ADD COLUMN kind TEXT;         -- feed and report type: what a later run must match
ALTER TABLE ingest_run ADD COLUMN seen_from INTEGER; -- earliest and latest time.source of its rows
ALTER TABLE ingest_run ADD COLUMN seen_until INTEGER;
UPDATE ingest_run SET kind = json_extract(source, '$.feed') || ':' ||
    COALESCE(json_extract(source, '$.report'), '') WHERE source IS NOT NULL;
UPDATE ingest_run SET
    seen_from = (SELECT MIN(o.seen_at) FROM chunk c JOIN observation o ON o.chunk_id = c.id
                 WHERE c.run_id = ingest_run.id AND o.seen_at > 0),
    seen_until = (SELECT MAX(o.seen_at) FROM chunk c JOIN observation o ON o.chunk_id = c.id
                  WHERE c.run_id = ingest_run.id);
CREATE TABLE transition (
    id         INTEGER PRIMARY KEY,
    finding_id INTEGER NOT NULL,
    at         TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,     -- the same as from_state for a note
    cause      TEXT NOT NULL,     -- message | report | reply | analyst | deadline
    reference  TEXT,
    by         TEXT,
    note       TEXT
);
CREATE INDEX transition_finding ON transition(finding_id);
CREATE TABLE ticket (
    id       INTEGER PRIMARY KEY,
    incident TEXT NOT NULL,
    party    TEXT NOT NULL,
    UNIQUE (incident, party)
);
ALTER TABLE message ADD COLUMN ticket INTEGER;
ALTER TABLE message ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE message ADD COLUMN kind TEXT NOT NULL DEFAULT 'first';
CREATE INDEX message_ticket ON message(ticket);
CREATE TABLE exploitation (
    name   TEXT PRIMARY KEY,      -- a CVE id or an incident, lower case
    since  INTEGER NOT NULL,      -- when exploitation began, Unix seconds
    source TEXT NOT NULL          -- where that is known from (CISA KEV, an analyst)
);
CREATE TABLE message_finding (
    message_key TEXT NOT NULL,
    finding_id  INTEGER NOT NULL,
    form        TEXT NOT NULL,
    PRIMARY KEY (message_key, finding_id)
) WITHOUT ROWID;
"#,
    // 10: signed checkpoints of the audit log's head (`baken audit checkpoint`), append-only
    // as the log is.
    r#"
CREATE TABLE audit_checkpoint (
    id         INTEGER PRIMARY KEY,
    seq        INTEGER NOT NULL,   -- the audit entry signed (0: the log was empty)
    hash       TEXT NOT NULL,      -- its hash
    at         TEXT NOT NULL,      -- when it was signed
    signature  TEXT NOT NULL,      -- Ed25519, hex
    public_key TEXT NOT NULL       -- hex
);
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
"#,
    // 11: what was last written to the audit log per decision, so that a round deciding as
    // the one before writes nothing again.
    r#"
CREATE TABLE decision_logged (
    incident  TEXT NOT NULL,
    subject   TEXT NOT NULL,
    recipient TEXT NOT NULL,
    digest    TEXT NOT NULL,   -- SHA-256 of the entry's body
    PRIMARY KEY (incident, subject, recipient)
) WITHOUT ROWID;
"#,
    // 12: API tokens of `baken serve`, kept only as hashes; revoked, never deleted.
    r#"
CREATE TABLE api_token (
    id         INTEGER PRIMARY KEY,
    party      TEXT NOT NULL,          -- the registry id of the party it acts for
    analyst    INTEGER NOT NULL,       -- 1: an analyst of the CSIRT, who sees everything
    hash       TEXT NOT NULL UNIQUE,   -- SHA-256 of the token, hex
    created_at TEXT NOT NULL,
    expires_at TEXT,                   -- RFC 3339; NULL: never
    revoked_at TEXT
);
"#,
    // 13: webhooks of parties, and the queue of their deliveries (one row per webhook and
    // event id, so an event is queued once however often it is offered).
    r#"
CREATE TABLE webhook (
    id         INTEGER PRIMARY KEY,
    party      TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,          -- whsec_…, the key of the signatures
    created_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE webhook_delivery (
    id           INTEGER PRIMARY KEY,
    webhook_id   INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    payload      TEXT NOT NULL,        -- JSON, sent as it is
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,     -- Unix seconds
    delivered_at TEXT,
    last_error   TEXT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery(next_attempt) WHERE delivered_at IS NULL;
"#,
    // 14: incident reports of obligated organisations, stage by stage (appended only).
    r#"
CREATE TABLE incident_report_stage (
    id           INTEGER PRIMARY KEY,
    fingerprint  BLOB NOT NULL UNIQUE,  -- SHA-256 of organisation, reference, stage and body
    organisation TEXT NOT NULL,
    reference    TEXT NOT NULL,
    stage        TEXT NOT NULL,
    at           TEXT NOT NULL,
    by           TEXT NOT NULL,
    tlp          TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX incident_report_stage_report ON incident_report_stage(organisation, reference);
"#,
    // 15: the parts of a run stored so far, for batches that may be offered more than once
    // (a distributed ingest's chunks): a part is stored once, and answers its counts again.
    r#"
CREATE TABLE run_part (
    run_id       INTEGER NOT NULL,
    part         INTEGER NOT NULL,
    stored       INTEGER NOT NULL,
    duplicate    INTEGER NOT NULL,
    quarantined  INTEGER NOT NULL,
    new_findings INTEGER NOT NULL,
    reopened     INTEGER NOT NULL,
    PRIMARY KEY (run_id, part)
) WITHOUT ROWID;
"#,
];
