//! The coordinator: cuts files into parts, publishes them, and finishes each run once its
//! parts are stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use baken_pipeline::ingest::{FileSummary, Input, Settings, Split};
use baken_store::{BatchCounts, Store};
use futures_util::StreamExt;

use crate::protocol::{Chunk, PartDone, Queue};
use crate::{Result, WorkError};

/// Rows per part unless told otherwise (a part is also kept under the server's largest
/// message).
pub const DEFAULT_PART_ROWS: u64 = 20_000;

/// Room left in a message for its JSON lines.
const MESSAGE_ROOM: usize = 16 * 1024;

/// How a coordinator shows the progress of a run.
pub trait Watch {
    /// Parts and rows published so far.
    fn published(&self, parts: u64, rows: u64);
    /// Parts and rows stored so far.
    fn stored(&self, parts: u64, rows: u64);
}

/// The coordinating side of a distributed ingest, connected to its queue.
pub struct Coordinator {
    rt: tokio::runtime::Runtime,
    queue: Queue,
    client: async_nats::Client,
    js: jetstream::Context,
    max_payload: usize,
}

impl Coordinator {
    /// Connects to `queue`'s server, creating its streams where they do not exist.
    pub fn connect(queue: &Queue) -> Result<Self> {
        let rt = crate::runtime()?;
        let (client, js) = rt.block_on(queue.connect())?;
        let max_payload = client.server_info().max_payload;
        Ok(Coordinator {
            rt,
            queue: queue.clone(),
            client,
            js,
            max_payload,
        })
    }

    pub(crate) fn rt(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    pub(crate) fn js(&self) -> &jetstream::Context {
        &self.js
    }

    pub(crate) fn queue(&self) -> &Queue {
        &self.queue
    }

    /// A subscription to the server's word that a message of `stream` was delivered to
    /// `consumer` as often as it allows and never acknowledged: its workers died on it.
    pub(crate) fn max_deliveries(
        &self,
        stream: &str,
        consumer: &str,
    ) -> Result<async_nats::Subscriber> {
        let advisory = format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}");
        self.rt
            .block_on(self.client.subscribe(advisory))
            .map_err(|e| self.queue.error("subscribe to advisories")(&e))
    }

    /// Ingests `input` through the workers: begins a run in `store`, publishes the file's
    /// parts of about `part_rows` rows, waits until workers stored them all, and finishes the
    /// run as a local ingest does. The summary is the one a local ingest of the file gives.
    pub fn ingest(
        &self,
        store: &mut dyn Store,
        input: &Input,
        options: &baken_feeds::Options,
        settings: &Settings,
        part_rows: u64,
        watch: &dyn Watch,
    ) -> Result<FileSummary> {
        let file = input.path.display().to_string();
        let mut split = Split::open(input, options, part_rows, usize::MAX)?;
        let budget = self
            .max_payload
            .saturating_sub(MESSAGE_ROOM + split.header.len());
        split.set_max_bytes(budget.max(1));
        let run = baken_pipeline::ingest::begin(store, &file, &split.source, settings)?;
        let job = job_name("r", run);
        tracing::info!(file = %file, run, job = %job, "distributed ingest started");
        let mut results = self.rt.block_on(self.results(&job))?;
        let mut advisories =
            self.max_deliveries(&self.queue.chunk_stream(), &self.queue.consumer())?;
        // the part of each chunk, by its sequence number in the stream
        let mut by_sequence: HashMap<u64, u64> = HashMap::new();
        let mut given_up: BTreeSet<u64> = BTreeSet::new();
        let template = Chunk {
            job: job.clone(),
            run,
            part: 0,
            file: file.clone(),
            feed: input.feed.name().into(),
            report: split.source.report.clone(),
            schema: options.schema.clone(),
            raw: split.source.raw,
            observation_time: split.source.observation_time.clone(),
            header: split.header.clone(),
            header_lines: split.header_lines(),
            first_line: 0,
            rows: 0,
            keep_text: split.keep_text,
            text: Vec::new(),
            attempt: 0,
        };
        // rows of each part published, by number
        let mut published: BTreeMap<u64, u64> = BTreeMap::new();
        let mut rows_published = 0;
        while let Some(part) = split.next_part()? {
            let chunk = Chunk {
                part: part.number,
                first_line: part.first_line,
                rows: part.rows,
                text: part.text,
                ..template.clone()
            };
            let sequence = self.rt.block_on(self.publish(&chunk))?;
            by_sequence.insert(sequence, part.number);
            published.insert(part.number, part.rows);
            rows_published += part.rows;
            watch.published(published.len() as u64, rows_published);
        }
        let read = split.read().clone();
        if read.rows != rows_published {
            return Err(WorkError::Usage(format!(
                "{file}: {} rows read but {rows_published} published in parts; this is a bug",
                read.rows
            )));
        }
        tracing::info!(file = %file, run, parts = published.len(), rows = rows_published, "parts published");
        // each part counted once, whoever reported it and however often
        let mut stored: BTreeMap<u64, BatchCounts> = BTreeMap::new();
        let mut rows_stored = 0;
        let mut lost = Lost::new();
        let mut failed_reads = 0;
        while stored.len() < published.len() {
            let next: Option<PartDone> =
                self.next_or_retry(&job, &mut results, &mut failed_reads)?;
            self.rt
                .block_on(given_up_on(&mut advisories, &by_sequence, &mut given_up));
            if next.is_none() && lost.check(self, &self.queue.chunk_stream())? {
                // the queue holds none of this run's parts, yet some are unreported: the
                // server lost them or their results (killed before it wrote them out); they
                // are published again under new ids, and a part stored before answers the
                // counts it was stored with
                let missing: BTreeSet<u64> = published
                    .keys()
                    .filter(|p| !stored.contains_key(p))
                    .copied()
                    .collect();
                tracing::warn!(
                    file = %file,
                    run,
                    missing = missing.len(),
                    attempt = lost.attempt,
                    "the queue is empty but parts are unreported: publishing them again"
                );
                let mut again = Split::open(input, options, part_rows, usize::MAX)?;
                again.set_max_bytes(budget.max(1));
                while let Some(part) = again.next_part()? {
                    if missing.contains(&part.number) {
                        let chunk = Chunk {
                            part: part.number,
                            first_line: part.first_line,
                            rows: part.rows,
                            text: part.text,
                            attempt: lost.attempt,
                            ..template.clone()
                        };
                        let sequence = self.rt.block_on(self.publish(&chunk))?;
                        by_sequence.insert(sequence, part.number);
                    }
                }
            }
            let Some(done) = next else {
                // no result pending: a part given up on will never be stored
                if let Some(&part) = given_up.iter().find(|p| !stored.contains_key(p)) {
                    return Err(WorkError::Part {
                        file,
                        part,
                        message: format!(
                            "delivered as often as the workers' consumer allows and never \
                             stored: the workers that took it died on it (their logs say why); \
                             its run {run} stays unfinished, ingest the file again once the \
                             cause is fixed (rows stored already count as duplicates)"
                        ),
                    });
                }
                continue;
            };
            let Some(&rows) = published.get(&done.part) else {
                tracing::warn!(
                    part = done.part,
                    "a result for a part this run did not publish"
                );
                continue;
            };
            if stored.contains_key(&done.part) {
                continue;
            }
            let counts = match (done.counts, done.error) {
                (Some(counts), _) => counts,
                (None, error) => {
                    return Err(WorkError::Part {
                        file,
                        part: done.part,
                        message: format!(
                            "no worker could store it ({}); its run {run} stays unfinished, \
                             ingest the file again once the cause is fixed (rows stored \
                             already count as duplicates)",
                            error.unwrap_or_default()
                        ),
                    });
                }
            };
            let counted = counts.stored + counts.duplicate + counts.quarantined;
            if done.rows != rows || counted != rows {
                return Err(WorkError::Part {
                    file,
                    part: done.part,
                    message: format!(
                        "{rows} rows published, but worker {} read {} and stored {counted}; \
                         do the workers run the same baken release?",
                        done.worker, done.rows
                    ),
                });
            }
            tracing::debug!(file = %file, run, part = done.part, worker = %done.worker, stored = counts.stored, duplicate = counts.duplicate, "part stored");
            stored.insert(done.part, counts);
            lost.progress();
            rows_stored += rows;
            watch.stored(stored.len() as u64, rows_stored);
        }
        let mut counts = BatchCounts::default();
        for c in stored.into_values() {
            counts += c;
        }
        let summary =
            baken_pipeline::ingest::finish(store, run, &file, input.feed, read, counts, settings)?;
        // the results are read: the stream need not keep them
        let subject = self.queue.done_subject(&job);
        let purged = self.rt.block_on(async {
            let stream = self.js.get_stream(self.queue.done_stream()).await?;
            stream.purge().filter(subject).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Err(e) = purged {
            tracing::warn!(job = %job, error = %e, "the run's results could not be purged");
        }
        Ok(summary)
    }

    /// Publishes one chunk, as [`Coordinator::ingest`] publishes each part: the stream keeps
    /// one message per [`Chunk::message_id`] however often it is published.
    pub fn publish_chunk(&self, chunk: &Chunk) -> Result<()> {
        self.rt.block_on(self.publish(chunk)).map(drop)
    }

    /// Publishes one chunk, waiting for the stream's acknowledgement; a publish that fails
    /// is tried again (the message id makes that safe). Answers its sequence number in the
    /// stream (the first one's, for a chunk published before).
    async fn publish(&self, chunk: &Chunk) -> Result<u64> {
        let payload = chunk.encode();
        if payload.len() > self.max_payload {
            return Err(WorkError::Part {
                file: chunk.file.clone(),
                part: chunk.part,
                message: format!(
                    "{} bytes, more than the server's largest message ({} bytes): a row this \
                     long, or a file read as one part (a STIX bundle, a MISP event, text with \
                     lone \\r line breaks), needs a larger max_payload in the NATS server's \
                     configuration, or an ingest without --via",
                    payload.len(),
                    self.max_payload
                ),
            });
        }
        self.publish_to(self.queue.chunk_subject(), chunk.message_id(), payload)
            .await
    }

    /// Publishes `payload` to `subject` with message id `id`, waiting for the stream's
    /// acknowledgement; a publish that fails is tried again (the id makes that safe).
    /// Answers its sequence number in the stream (the first one's, for a message published
    /// before).
    pub(crate) async fn publish_to(
        &self,
        subject: String,
        id: String,
        payload: Vec<u8>,
    ) -> Result<u64> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
            let sent = async {
                let ack = self
                    .js
                    .publish_with_headers(subject.clone(), headers, payload.clone().into())
                    .await?
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(ack.sequence)
            }
            .await;
            match sent {
                Ok(sequence) => return Ok(sequence),
                Err(e) if tries < 5 => {
                    tracing::warn!(id = %id, error = %e, "publish failed; trying again");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => return Err(self.queue.error("publish")(&e)),
            }
        }
    }

    /// The next result of job `job`, waiting a few seconds at most (`None`: none came). A
    /// failed read is tried again for about a minute (a server restarting, a missed
    /// heartbeat on a loaded machine), each time with the consumer made anew, before the
    /// error ends the job; `failed_reads` counts the failures in a row.
    pub(crate) fn next_or_retry<T: serde::de::DeserializeOwned>(
        &self,
        job: &str,
        results: &mut consumer::PullConsumer,
        failed_reads: &mut u32,
    ) -> Result<Option<T>> {
        match self.rt.block_on(next_result::<T>(results, &self.queue)) {
            Ok(next) => {
                *failed_reads = 0;
                Ok(next)
            }
            Err(e) if *failed_reads < READ_RETRIES => {
                *failed_reads += 1;
                tracing::warn!(error = %e, failed_reads = *failed_reads, "reading results failed; trying again");
                std::thread::sleep(Duration::from_secs(1));
                self.read_again(job, results);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces a consumer of job `job`'s results that fails (a restarted server may have
    /// lost it) with a new one reading from the first result; results count once each.
    pub(crate) fn read_again(&self, job: &str, results: &mut consumer::PullConsumer) {
        let fresh = self.rt.block_on(async {
            self.queue.streams(&self.js).await?;
            self.results(job).await
        });
        match fresh {
            Ok(fresh) => *results = fresh,
            Err(e) => tracing::warn!(error = %e, "the results cannot be read again yet"),
        }
    }

    /// A consumer of job `job`'s results, from the first.
    pub(crate) async fn results(&self, job: &str) -> Result<consumer::PullConsumer> {
        let fail = self.queue.error("read results");
        let stream = self
            .js
            .get_stream(self.queue.done_stream())
            .await
            .map_err(|e| fail(&e))?;
        stream
            .create_consumer(consumer::pull::Config {
                filter_subject: self.queue.done_subject(job),
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(3600),
                ..Default::default()
            })
            .await
            .map_err(|e| fail(&e))
    }
}

/// How long a coordinator waits for a result after the last one before it asks whether the
/// queue still holds its work.
const LOST_AFTER: Duration = Duration::from_secs(10);

/// Watches for work the queue lost: none of it waits in the stream or with a worker, yet
/// results are missing.
pub(crate) struct Lost {
    since: std::time::Instant,
    /// Times the missing work was published again.
    pub(crate) attempt: u32,
}

impl Lost {
    pub(crate) fn new() -> Self {
        Lost {
            since: std::time::Instant::now(),
            attempt: 0,
        }
    }

    /// A result came.
    pub(crate) fn progress(&mut self) {
        self.since = std::time::Instant::now();
    }

    /// Whether the work still missing was lost: no result for a while and `stream` empty
    /// (every message taken and acknowledged, and a worker reports before it acknowledges).
    /// When it was, the next attempt is counted and the wait starts again, doubled.
    pub(crate) fn check(&mut self, coordinator: &Coordinator, stream: &str) -> Result<bool> {
        let wait = LOST_AFTER * 2u32.pow(self.attempt.min(5));
        if self.since.elapsed() < wait {
            return Ok(false);
        }
        let drained = coordinator
            .rt
            .block_on(coordinator.queue.drained(&coordinator.js, stream))
            .unwrap_or(false);
        if drained {
            self.attempt += 1;
            self.since = std::time::Instant::now();
        }
        Ok(drained)
    }
}

/// Failed reads of results in a row before a run ends with the error.
const READ_RETRIES: u32 = 60;

/// The next result, waiting a few seconds at most (`None`: none came).
pub(crate) async fn next_result<T: serde::de::DeserializeOwned>(
    results: &mut consumer::PullConsumer,
    queue: &Queue,
) -> Result<Option<T>> {
    let fail = queue.error("read results");
    let mut batch = results
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .map_err(|e| fail(&e))?;
    match batch.next().await {
        None => Ok(None),
        Some(Err(e)) => Err(fail(&e)),
        Some(Ok(message)) => match serde_json::from_slice::<T>(&message.payload) {
            Ok(done) => Ok(Some(done)),
            Err(e) => {
                tracing::warn!(error = %e, "a result that cannot be read");
                Ok(None)
            }
        },
    }
}

/// Notes the parts that advisories say were delivered as often as allowed, without waiting.
pub(crate) async fn given_up_on(
    advisories: &mut async_nats::Subscriber,
    by_sequence: &HashMap<u64, u64>,
    given_up: &mut BTreeSet<u64>,
) {
    #[derive(serde::Deserialize)]
    struct MaxDeliveries {
        stream_seq: u64,
        deliveries: u64,
    }
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(1), advisories.next()).await
    {
        let Ok(advisory) = serde_json::from_slice::<MaxDeliveries>(&message.payload) else {
            continue;
        };
        if let Some(&part) = by_sequence.get(&advisory.stream_seq) {
            tracing::warn!(
                part,
                deliveries = advisory.deliveries,
                "a part was delivered as often as allowed and not acknowledged"
            );
            given_up.insert(part);
        }
    }
}

/// A name for work `n` (a run, a round) that another store's of the same number does not
/// share: `PREFIX` `n` and a stamp of this moment and process.
pub(crate) fn job_name(prefix: &str, n: i64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{prefix}{n}-{:x}",
        nanos ^ (u64::from(std::process::id()) << 40)
    )
}
