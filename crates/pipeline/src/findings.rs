//! Findings with their events: each kept row read again as the event it was.
//!
//! The store keeps a finding's key, owner and times, and every row that saw it as part of a
//! compressed chunk of input text. [`RowReader`] parses a chunk again with the feed parser,
//! the run's header and its options (report type, observation time), and hands out the
//! rows; findings are read in chunk order so that each chunk is parsed once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use baken_attribute::Attributor;
use baken_feeds::{FeedKind, Options};
use baken_model::{Attribution, Event, Owner, Rule};
use baken_store::{
    ChunkKind, Finding, FindingQuery, FindingRecord, RowRef, RunRecord, Store, StoreError, keys,
};
use serde::Serialize;

use crate::PipelineError;

/// A kept row read again: the event and the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptRow {
    /// The ingest run it came in.
    pub run: i64,
    /// The line of the input file the row starts on.
    pub line: u64,
    /// The event, as it was ingested.
    pub event: Event,
}

/// Reads kept rows, a chunk at a time.
pub struct RowReader<'s> {
    store: &'s dyn Store,
    runs: HashMap<i64, RunRecord>,
}

impl<'s> RowReader<'s> {
    /// A reader over `store`.
    pub fn new(store: &'s dyn Store) -> Self {
        Self {
            store,
            runs: HashMap::new(),
        }
    }

    /// The ingest run `id`.
    pub fn run(&mut self, id: i64) -> Result<&RunRecord, PipelineError> {
        if !self.runs.contains_key(&id) {
            let run = self.store.run(id)?;
            self.runs.insert(id, run);
        }
        Ok(&self.runs[&id])
    }

    /// The row at `at`, as the event it was when ingested.
    pub fn row(&mut self, at: RowRef) -> Result<KeptRow, PipelineError> {
        let mut found = None;
        self.rows(at.chunk, &[at.row], |_, row| found = Some(row))?;
        found.ok_or_else(|| corrupt(at, "the kept text has no accepted row there"))
    }

    /// Reads the rows `wanted` (ascending places) of chunk `chunk` and hands each to `found`
    /// with its place. The chunk is parsed once, into one reused event; only the wanted rows
    /// are copied out. A wanted row the chunk does not give back is an error.
    pub fn rows(
        &mut self,
        chunk: i64,
        wanted: &[u32],
        mut found: impl FnMut(u32, KeptRow),
    ) -> Result<(), PipelineError> {
        let chunk = self.store.chunk(chunk)?;
        let mut next = wanted.iter().copied().peekable();
        let missing = |row: u32| {
            corrupt(
                RowRef {
                    chunk: chunk.id,
                    row,
                },
                "the kept text has no accepted row there",
            )
        };
        match chunk.kind {
            ChunkKind::Events => {
                let lines = chunk.data.split(|&b| b == b'\n').filter(|l| !l.is_empty());
                for (place, (line, text)) in (chunk.first_line..).zip(lines).enumerate() {
                    let place = place as u32;
                    if next.peek() != Some(&place) {
                        continue;
                    }
                    next.next();
                    let at = RowRef {
                        chunk: chunk.id,
                        row: place,
                    };
                    let event: Event = serde_json::from_slice(text)
                        .map_err(|e| corrupt(at, &format!("a kept event: {e}")))?;
                    found(
                        place,
                        KeptRow {
                            run: chunk.run,
                            line,
                            event,
                        },
                    );
                }
            }
            ChunkKind::Text => {
                let run = self.run(chunk.run)?.clone();
                let at = RowRef {
                    chunk: chunk.id,
                    row: 0,
                };
                let kind: FeedKind = run
                    .source
                    .feed
                    .parse()
                    .map_err(|e: String| corrupt(at, &e))?;
                let options = Options {
                    report: run.source.report.clone(),
                    raw: run.source.raw,
                    observation_time: run.source.observation_time.clone(),
                    strict: true,
                    ..Options::default()
                };
                let mut text = Vec::with_capacity(run.source.header.len() + chunk.data.len());
                text.extend_from_slice(run.source.header.as_bytes());
                // A report whose every line is one row: the wanted rows' lines alone are parsed.
                if kind == FeedKind::Shadowserver && chunk.skip == 0 {
                    let lines: Vec<&[u8]> = chunk.data.split_inclusive(|&b| b == b'\n').collect();
                    if lines.len() == chunk.rows as usize
                        && wanted.iter().all(|&w| (w as usize) < lines.len())
                    {
                        for &w in wanted {
                            text.extend_from_slice(lines[w as usize]);
                            if !lines[w as usize].ends_with(b"\n") {
                                text.push(b'\n');
                            }
                        }
                        let rows =
                            baken_feeds::read_text(kind, Path::new(&run.file), text, &options)?;
                        let mut given = 0;
                        for (row, &want) in rows.zip(wanted) {
                            given += 1;
                            let Ok(event) = row.outcome else {
                                return Err(missing(want));
                            };
                            found(
                                want,
                                KeptRow {
                                    run: chunk.run,
                                    line: chunk.first_line + u64::from(want),
                                    event,
                                },
                            );
                        }
                        if given != wanted.len() {
                            return Err(missing(wanted[given]));
                        }
                        return Ok(());
                    }
                }
                text.extend_from_slice(&chunk.data);
                let mut rows = baken_feeds::read_text(kind, Path::new(&run.file), text, &options)?;
                // lines of the text count from 1, its header first
                let offset = run.source.header_lines + 1;
                let mut event = Event::new();
                let mut place: u64 = 0;
                while let Some(&want) = next.peek() {
                    let Some(row) = rows.next_into(&mut event) else {
                        break;
                    };
                    // the rows of the chunk before come first
                    let Some(here) = place.checked_sub(u64::from(chunk.skip)) else {
                        place += 1;
                        continue;
                    };
                    place += 1;
                    if here != u64::from(want) {
                        continue;
                    }
                    next.next();
                    if row.outcome.is_err() {
                        return Err(missing(want));
                    }
                    found(
                        want,
                        KeptRow {
                            run: chunk.run,
                            line: row.line + chunk.first_line - offset,
                            event: event.clone(),
                        },
                    );
                }
            }
        }
        match next.next() {
            Some(row) => Err(missing(row)),
            None => Ok(()),
        }
    }
}

fn corrupt(at: RowRef, detail: &str) -> PipelineError {
    PipelineError::Store(StoreError::Corrupt {
        what: "kept row",
        detail: format!("chunk {} row {}: {detail}", at.chunk, at.row),
    })
}

/// The findings `query` selects, each with the event of its latest observation, its label,
/// provenance and the reason for its owner, in store order.
pub fn load(
    store: &dyn Store,
    attributor: &Attributor,
    query: &FindingQuery,
) -> Result<Vec<Finding>, PipelineError> {
    let records = store.finding_records(query)?;
    with_events(store, attributor, records)
}

/// The findings of an incident (any case), with their events.
pub fn of_incident(
    store: &dyn Store,
    attributor: &Attributor,
    incident: &str,
) -> Result<Vec<Finding>, PipelineError> {
    of_incident_keeping(store, attributor, incident, EventFields::All)
}

/// The findings of an incident (any case), with the `fields` of their events: a reader
/// that holds every finding of a national incident keeps only what it reads.
pub fn of_incident_keeping(
    store: &dyn Store,
    attributor: &Attributor,
    incident: &str,
    fields: EventFields,
) -> Result<Vec<Finding>, PipelineError> {
    let records = store.finding_records(&FindingQuery {
        incident: Some(incident.to_ascii_lowercase()),
        ..FindingQuery::default()
    })?;
    with_fields(store, attributor, records, fields)
}

/// Which fields of its event a finding read from the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFields {
    /// Every field: the event as it was ingested.
    All,
    /// What a message reads of a finding ([`crate::notify::is_message_field`]): its
    /// address, service, product and evidence, for the text, the CSV and X-ARF.
    Message,
    /// Its address and host names: what deciding who may be told needs.
    Address,
    /// What the exposure analysis reads: its address, CVEs, feed, and the product and version
    /// a scan saw.
    Exposure,
}

impl EventFields {
    /// Whether a field of this name is kept.
    pub fn keeps(self, name: &str) -> bool {
        match self {
            EventFields::All => true,
            EventFields::Message => crate::notify::is_message_field(name),
            EventFields::Address => {
                matches!(name, "source.ip" | "source.fqdn" | "source.reverse_dns")
            }
            EventFields::Exposure => matches!(
                name,
                "source.ip"
                    | "feed.name"
                    | "product.vulnerabilities"
                    | "product.product"
                    | "product.name"
                    | "product.vendor"
                    | "product.version"
                    | "extra.version"
                    | "extra.cpe"
            ),
        }
    }

    /// Whether the reason for a finding's owner (`owner`, as stored) is worked out again when
    /// it is read: for every reader of whole events or of what messages read; for a plan's
    /// findings ([`EventFields::Address`]) only where nobody owns them, which the plan says
    /// why of (a message says why a finding is its recipient's, and [`MessageFields`] works
    /// that out); never for the exposure analysis, which counts owners.
    pub fn reason_for(self, owner: &Owner) -> bool {
        match self {
            EventFields::All | EventFields::Message => true,
            EventFields::Address => *owner == Owner::Unknown,
            EventFields::Exposure => false,
        }
    }
}

/// Why `stored` (an owner and rule, as the store keeps them) holds for `event`: the reason
/// the registry gives now when it names the same owner by the same rule, else what was
/// decided when the finding was stored, with what the registry says now.
pub fn reason(attributor: &Attributor, stored: &Attribution, event: &Event) -> String {
    let owner = match &stored.owner {
        Owner::Organisation { id } => id.0.clone(),
        Owner::Abuse(c) => format!("abuse contact {}", c.email),
        Owner::Unknown => "nobody".into(),
    };
    if stored.rule == Rule::Lookalike {
        return crate::lookalikes::reason(&owner, event);
    }
    if stored.rule == Rule::Inventory {
        let detail = event.get_str("extra.match_detail").unwrap_or("-");
        return format!("{owner} declared it in its inventory: {detail}");
    }
    let now = attributor.attribute(event.source_ip(), event.source_asn(), event.source_domain());
    if now.owner == stored.owner && now.rule == stored.rule {
        now.reason
    } else {
        format!(
            "attributed to {owner} by rule {} when stored; the registry now says: {}",
            stored.rule.as_str(),
            now.reason
        )
    }
}

/// `records` with the events of their latest observations, in the order given.
pub fn with_events(
    store: &dyn Store,
    attributor: &Attributor,
    records: Vec<FindingRecord>,
) -> Result<Vec<Finding>, PipelineError> {
    with_fields(store, attributor, records, EventFields::All)
}

/// `records` with the `fields` of the events of their latest observations, in the order
/// given; the reason for each owner is worked out from the whole event first.
pub fn with_fields(
    store: &dyn Store,
    attributor: &Attributor,
    records: Vec<FindingRecord>,
    fields: EventFields,
) -> Result<Vec<Finding>, PipelineError> {
    let mut out: Vec<Option<Finding>> = vec![None; records.len()];
    each_with_fields(store, attributor, records, fields, &mut |i, finding| {
        out[i] = Some(finding);
        Ok(())
    })?;
    Ok(out.into_iter().flatten().collect())
}

/// [`with_fields`], each finding handed to `each` with its place in `records` as soon as it
/// is read, chunk by chunk rather than in the order given: a reader that folds a national
/// incident's findings into counts holds one chunk's events at a time, not every finding.
/// The reason for each owner is worked out where [`EventFields::reason_for`] says so; else
/// it stays as stored. An error of `each` ends the reading.
pub fn each_with_fields(
    store: &dyn Store,
    attributor: &Attributor,
    mut records: Vec<FindingRecord>,
    fields: EventFields,
    each: &mut dyn FnMut(usize, Finding) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let mut reader = RowReader::new(store);
    // one provenance per run, shared by its findings
    let mut provenance: HashMap<i64, Arc<str>> = HashMap::new();
    // read chunk by chunk, each parsed once
    let mut order: Vec<(RowRef, usize)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.last_row, i))
        .collect();
    order.sort_unstable();
    for group in order.chunk_by(|a, b| a.0.chunk == b.0.chunk) {
        let chunk = group[0].0.chunk;
        let mut wanted: Vec<u32> = group.iter().map(|(at, _)| at.row).collect();
        wanted.dedup();
        let mut events: HashMap<u32, Event> = HashMap::with_capacity(wanted.len());
        reader.rows(chunk, &wanted, |row, kept| {
            events.insert(row, kept.event);
        })?;
        for (k, &(at, i)) in group.iter().enumerate() {
            // the group is in row order: the last finding of a row takes its event
            let shared = group.get(k + 1).is_some_and(|&(next, _)| next == at);
            let event = if shared {
                events[&at.row].clone()
            } else {
                events.remove(&at.row).expect("every wanted row was read")
            };
            // what is handed on is taken, so that the records shrink as the findings go
            let r = &mut records[i];
            let run = reader.run(r.run)?;
            let tlp = run.label.tlp;
            let provenance = provenance
                .entry(r.run)
                .or_insert_with(|| run.provenance().into())
                .clone();
            let mut attribution = std::mem::replace(&mut r.attribution, Attribution::unknown(""));
            if fields.reason_for(&attribution.owner) {
                attribution.reason = reason(attributor, &attribution, &event);
            }
            r.incident = String::new();
            r.addr = String::new();
            r.transport = String::new();
            let mut event = event;
            if fields != EventFields::All {
                event.retain(|name| fields.keeps(name));
            }
            each(
                i,
                Finding {
                    id: r.id,
                    event,
                    partial: (fields != EventFields::All).then_some(at),
                    attribution,
                    tlp: Some(tlp),
                    provenance,
                    state: r.state,
                    first_seen: r.first_seen,
                    last_seen: r.last_seen,
                },
            )?;
        }
    }
    Ok(())
}

/// What messages read of findings whose plan kept less ([`Finding::partial`]): the
/// [`EventFields::Message`] of their events, read from the store in one pass over its chunks
/// and kept in one buffer until each message is written (per event a JSON array of its
/// fields' values, each with the field's place in [`crate::notify::message_fields`]: the
/// names took half the room), and the reason for the owner of those whose message says why
/// they are its recipient's. A national incident's
/// plan holds its findings' addresses only; this holds the rest in about a third of the
/// memory their events would take, and each message's findings are made whole as it is
/// written ([`MessageFields::fill`]).
#[derive(Debug, Default)]
pub struct MessageFields {
    text: Vec<u8>,
    at: HashMap<RowRef, (usize, usize)>,
    /// Where the reason for a finding's owner is in `text`, by finding id.
    reasons: HashMap<i64, (usize, usize)>,
}

impl MessageFields {
    /// Reads what messages read of `findings`, those that hold their events already aside;
    /// with `true`, a finding's message also says why it is the recipient's (the reason for
    /// its owner, worked out with `attributor` from the whole event).
    pub fn read<'a>(
        store: &dyn Store,
        attributor: &Attributor,
        findings: impl IntoIterator<Item = (&'a Finding, bool)>,
    ) -> Result<Self, PipelineError> {
        let mut wanted: Vec<RowRef> = Vec::new();
        let mut why: HashMap<RowRef, Vec<(i64, &Attribution)>> = HashMap::new();
        for (f, reason) in findings {
            let Some(at) = f.partial else { continue };
            wanted.push(at);
            if reason {
                why.entry(at).or_default().push((f.id, &f.attribution));
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut out = MessageFields {
            text: Vec::new(),
            at: HashMap::with_capacity(wanted.len()),
            reasons: HashMap::new(),
        };
        let mut reader = RowReader::new(store);
        for group in wanted.chunk_by(|a, b| a.chunk == b.chunk) {
            let rows: Vec<u32> = group.iter().map(|at| at.row).collect();
            let chunk = group[0].chunk;
            reader.rows(chunk, &rows, |row, kept| {
                let at = RowRef { chunk, row };
                for &(id, attribution) in why.get(&at).into_iter().flatten() {
                    let start = out.text.len();
                    let why = reason(attributor, attribution, &kept.event);
                    out.text.extend_from_slice(why.as_bytes());
                    out.reasons.insert(id, (start, why.len()));
                }
                let values: Vec<(usize, &serde_json::Value)> = kept
                    .event
                    .iter()
                    .filter_map(|(name, value)| {
                        let place = crate::notify::message_fields().position(|n| n == name);
                        place.map(|i| (i, value))
                    })
                    .collect();
                let start = out.text.len();
                serde_json::to_writer(&mut out.text, &values)
                    .expect("JSON values write to a buffer");
                out.at.insert(at, (start, out.text.len() - start));
            })?;
        }
        out.text.shrink_to_fit();
        Ok(out)
    }

    /// `findings`, each that holds less made whole with what was read for it. Findings that
    /// hold their events already are shared, not copied.
    pub fn fill(&self, findings: &[Arc<Finding>]) -> Result<Vec<Arc<Finding>>, PipelineError> {
        findings
            .iter()
            .map(|f| {
                let Some(at) = f.partial else {
                    return Ok(f.clone());
                };
                let &(start, len) = self
                    .at
                    .get(&at)
                    .ok_or_else(|| corrupt(at, "its fields were not read for its message"))?;
                let values: Vec<(usize, serde_json::Value)> =
                    serde_json::from_slice(&self.text[start..start + len]).map_err(|e| {
                        corrupt(at, &format!("its kept fields do not read back: {e}"))
                    })?;
                let mut event = Event::default();
                for (i, value) in values {
                    let name = crate::notify::message_fields()
                        .nth(i)
                        .ok_or_else(|| corrupt(at, &format!("no message field {i}")))?;
                    event.insert_static(name, value);
                }
                let mut whole = Finding::clone(f);
                whole.event = event;
                whole.partial = None;
                if let Some(&(start, len)) = self.reasons.get(&f.id) {
                    whole.attribution.reason = std::str::from_utf8(&self.text[start..start + len])
                        .expect("a reason is written as text")
                        .to_string();
                }
                Ok(Arc::new(whole))
            })
            .collect()
    }
}

/// A finding as `baken findings --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingView {
    /// Store id.
    pub id: i64,
    /// The incident.
    pub incident: String,
    /// The address (`source.ip`, else `source.fqdn`).
    #[serde(rename = "source.ip")]
    pub source_ip: Option<String>,
    /// The host name, when the finding has no address.
    #[serde(rename = "source.fqdn", skip_serializing_if = "Option::is_none")]
    pub source_fqdn: Option<String>,
    /// The port.
    #[serde(rename = "source.port")]
    pub source_port: Option<u16>,
    /// The transport.
    #[serde(rename = "protocol.transport")]
    pub protocol_transport: Option<String>,
    /// The organisation that owns it, when one is registered.
    pub org: Option<String>,
    /// The abuse contact it goes to, when nobody registered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abuse: Option<String>,
    /// The rule that attributed it.
    pub rule: String,
    /// Lifecycle state.
    pub state: String,
    /// First `time.source` seen (RFC 3339).
    pub first_seen: String,
    /// Last `time.source` seen (RFC 3339).
    pub last_seen: String,
    /// Observations.
    pub times_seen: u64,
}

impl From<&FindingRecord> for FindingView {
    fn from(r: &FindingRecord) -> Self {
        let is_ip = r.addr.parse::<std::net::IpAddr>().is_ok();
        let (org, abuse) = match &r.attribution.owner {
            baken_model::Owner::Organisation { id } => (Some(id.0.clone()), None),
            baken_model::Owner::Abuse(c) => (None, Some(c.email.clone())),
            baken_model::Owner::Unknown => (None, None),
        };
        FindingView {
            id: r.id,
            incident: r.incident.clone(),
            source_ip: is_ip.then(|| r.addr.clone()),
            source_fqdn: (!is_ip && !r.addr.is_empty()).then(|| r.addr.clone()),
            source_port: (r.port != 0).then_some(r.port),
            protocol_transport: (!r.transport.is_empty()).then(|| r.transport.clone()),
            org,
            abuse,
            rule: r.attribution.rule.as_str().to_string(),
            state: r.state.as_str().to_string(),
            first_seen: keys::format_time(r.first_seen),
            last_seen: keys::format_time(r.last_seen),
            times_seen: r.times_seen,
        }
    }
}

/// One observation of a finding, as `baken finding show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservationView {
    /// `time.source` (RFC 3339), when the row had one.
    pub seen_at: Option<String>,
    /// The ingest run.
    pub run: i64,
    /// The input file.
    pub file: String,
    /// The line of the row in it.
    pub line: u64,
    /// The feed.
    pub feed: String,
    /// The Shadowserver report type, when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// The TLP label of the input.
    pub tlp: String,
    /// The event, as ingested (IntelMQ field names).
    pub event: Event,
}

/// A finding with every observation, as `baken finding show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingDetail {
    /// The finding.
    #[serde(flatten)]
    pub finding: FindingView,
    /// Why it is attributed to its owner.
    pub reason: String,
    /// Every observation, oldest first.
    pub observations: Vec<ObservationView>,
    /// Every change of its state and every note, oldest first.
    pub history: Vec<baken_store::TransitionRecord>,
}

/// Finding `id` with every observation read again as the event it was; `None` when there is
/// no such finding.
pub fn detail(
    store: &dyn Store,
    attributor: &Attributor,
    id: i64,
) -> Result<Option<FindingDetail>, PipelineError> {
    let Some(record) = store
        .finding_records(&FindingQuery {
            id: Some(id),
            ..FindingQuery::default()
        })?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let mut reader = RowReader::new(store);
    let latest = reader.row(record.last_row)?;
    let why = reason(attributor, &record.attribution, &latest.event);
    let mut observations = Vec::new();
    for o in store.observations(id)? {
        let row = reader.row(o.row)?;
        let run = reader.run(row.run)?;
        observations.push(ObservationView {
            seen_at: (o.seen_at != 0).then(|| keys::format_time(o.seen_at)),
            run: run.id,
            file: run.file.clone(),
            line: row.line,
            feed: run.source.feed.clone(),
            report: run.source.report.clone(),
            tlp: run.label.tlp.label().to_string(),
            event: row.event,
        });
    }
    Ok(Some(FindingDetail {
        finding: FindingView::from(&record),
        reason: why,
        observations,
        history: store.transitions(id)?,
    }))
}
