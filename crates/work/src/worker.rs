//! The worker: pulls chunks, stores them as parts of their runs, reports, acknowledges.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer};
use baken_attribute::Attributor;
use baken_feeds::{FeedKind, Options};
use baken_pipeline::ingest::{PartText, read_part};
use baken_store::{Batch, BatchCounts, Store};
use futures_util::StreamExt;

use crate::notify::{Loaded, NotifySetup};
use crate::protocol::{Chunk, NotifyDone, NotifyJob, PartDone, Queue};
use crate::{Result, WorkError};

/// How long a worker without work keeps the round it last delivered for.
const KEEP_ROUND: Duration = Duration::from_secs(30);

/// How long a worker waits for the server's answer to a request for work.
const UNANSWERED: Duration = Duration::from_secs(5);

/// How long a worker taking both kinds of work naps when neither has any.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Stop after this long without a chunk; `None`: run until killed.
    pub idle_exit: Option<Duration>,
    /// Stop after one chunk.
    pub once: bool,
    /// How long a chunk delivered to a worker waits for its acknowledgement before it is
    /// delivered again (set when the shared consumer is created).
    pub ack_wait: Duration,
    /// Deliveries of one chunk before the last try reports it as failed.
    pub max_deliver: i64,
    /// Exit the process right after the n-th chunk is committed, before reporting or
    /// acknowledging it (tests of redelivery).
    pub die_after_store: Option<u64>,
    /// Exit the process as soon as a chunk is received (tests of parts given up on).
    pub die_before_store: bool,
}

impl Default for WorkerOptions {
    /// Run until killed; a minute's ack wait; five deliveries.
    fn default() -> Self {
        WorkerOptions {
            idle_exit: None,
            once: false,
            ack_wait: Duration::from_secs(60),
            max_deliver: 5,
            die_after_store: None,
            die_before_store: false,
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Chunks handled and acknowledged (stored now or before).
    pub chunks: u64,
    /// Rows in them.
    pub rows: u64,
    /// What storing them did.
    pub counts: BatchCounts,
    /// Chunks that failed and were left to be delivered again (or reported as failed).
    pub failed: u64,
    /// Notify jobs done and acknowledged.
    pub notify_jobs: u64,
    /// Recipients in them.
    pub recipients: u64,
    /// Messages delivered now.
    pub messages: u64,
    /// Notify jobs that failed and were handed back (or reported as failed).
    pub notify_failed: u64,
}

/// The working side of a distributed ingest, connected to its queue.
pub struct Worker {
    rt: tokio::runtime::Runtime,
    queue: Queue,
    js: jetstream::Context,
    consumer: consumer::PullConsumer,
    notify_consumer: consumer::PullConsumer,
    name: String,
    /// The round last fetched, kept for the next job of the same round.
    round: std::cell::RefCell<Option<Loaded>>,
}

impl Worker {
    /// Connects to `queue`'s server and joins the consumer all workers share, creating the
    /// streams and the consumer where they do not exist.
    pub fn connect(queue: &Queue, options: &WorkerOptions) -> Result<Self> {
        let rt = crate::runtime()?;
        let (js, consumer, notify_consumer) = rt.block_on(async {
            let (_, js) = queue.connect().await?;
            let fail = queue.error("join the workers' consumer");
            let mut consumers = Vec::new();
            for (stream, name) in [
                (queue.chunk_stream(), queue.consumer()),
                (queue.notify_stream(), queue.notify_consumer()),
            ] {
                let stream = js.get_stream(stream).await.map_err(|e| fail(&e))?;
                let consumer = stream
                    .get_or_create_consumer(
                        &name,
                        consumer::pull::Config {
                            durable_name: Some(name.clone()),
                            ack_policy: consumer::AckPolicy::Explicit,
                            ack_wait: options.ack_wait,
                            max_deliver: options.max_deliver,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| fail(&e))?;
                consumers.push(consumer);
            }
            let notify_consumer = consumers.pop().expect("two consumers");
            let consumer = consumers.pop().expect("two consumers");
            Ok::<_, WorkError>((js, consumer, notify_consumer))
        })?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        Ok(Worker {
            rt,
            queue: queue.clone(),
            js,
            consumer,
            notify_consumer,
            name: format!("{host}:{}", std::process::id()),
            round: std::cell::RefCell::new(None),
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

    /// Handles chunks until `options` say to stop: each is parsed, attributed with
    /// `attributor`, stored in `store` as its part, reported, then acknowledged. With
    /// `notify`, it also takes notify jobs: each job's recipients are delivered to as the
    /// round says, reported, then the job is acknowledged.
    ///
    /// A chunk that fails (a store busy past its timeout, a part that cannot be read) is
    /// left to be delivered again, a little later, to any worker; the last delivery reports
    /// it as failed, which ends its coordinator's run with the reason. A chunk whose run this
    /// store does not hold (a worker given another store than its coordinator's) stops the
    /// worker.
    pub fn run(
        &self,
        store: &mut dyn Store,
        attributor: &Attributor,
        options: &WorkerOptions,
        notify: Option<&NotifySetup>,
    ) -> Result<WorkerSummary> {
        let mut summary = WorkerSummary::default();
        let mut idle_since = Instant::now();
        loop {
            let wait = match options.idle_exit {
                Some(idle) => {
                    let left = idle.saturating_sub(idle_since.elapsed());
                    if left.is_zero() {
                        tracing::info!(chunks = summary.chunks, "no chunk came; the worker stops");
                        return Ok(summary);
                    }
                    left.min(Duration::from_secs(5))
                }
                None => Duration::from_secs(5),
            };
            let Some(setup) = notify else {
                if let Some(message) = self.rt.block_on(self.next(&self.consumer, wait))? {
                    idle_since = Instant::now();
                    self.handle(store, attributor, options, &message, &mut summary)?;
                    if options.once {
                        return Ok(summary);
                    }
                }
                continue;
            };
            // with both kinds of work, each is asked for without waiting, and the worker
            // naps a little when neither has any: a long wait on one would leave the other
            // waiting as long
            if let Some(message) = self.rt.block_on(self.next_now(&self.consumer))? {
                idle_since = Instant::now();
                self.handle(store, attributor, options, &message, &mut summary)?;
            } else if let Some(message) = self.rt.block_on(self.next_now(&self.notify_consumer))? {
                idle_since = Instant::now();
                self.handle_notify(store, setup, options, &message, &mut summary)?;
            } else {
                // a round kept for its next job is let go once work stopped coming
                if idle_since.elapsed() > KEEP_ROUND {
                    self.round.borrow_mut().take();
                }
                std::thread::sleep(IDLE_POLL.min(wait));
                continue;
            }
            if options.once {
                return Ok(summary);
            }
        }
    }

    /// A message of `consumer` if one waits now. A request the server never answers (one
    /// sent as it went down) counts as none after a few seconds.
    async fn next_now(
        &self,
        consumer: &consumer::PullConsumer,
    ) -> Result<Option<jetstream::Message>> {
        let fail = self.queue.error("pull work");
        let ask = async {
            let mut batch = consumer
                .fetch()
                .max_messages(1)
                .messages()
                .await
                .map_err(|e| fail(&e))?;
            match batch.next().await {
                None => Ok(None),
                Some(Ok(m)) => Ok(Some(m)),
                Some(Err(e)) => Err(fail(&e)),
            }
        };
        match tokio::time::timeout(UNANSWERED, ask).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::warn!("the server did not answer a request for work; asking again");
                Ok(None)
            }
        }
    }

    async fn next(
        &self,
        consumer: &consumer::PullConsumer,
        wait: Duration,
    ) -> Result<Option<jetstream::Message>> {
        let fail = self.queue.error("pull work");
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(wait.max(Duration::from_millis(100)))
            .messages()
            .await
            .map_err(|e| fail(&e))?;
        match batch.next().await {
            None => Ok(None),
            Some(Ok(m)) => Ok(Some(m)),
            Some(Err(e)) => Err(fail(&e)),
        }
    }

    fn handle(
        &self,
        store: &mut dyn Store,
        attributor: &Attributor,
        options: &WorkerOptions,
        message: &jetstream::Message,
        summary: &mut WorkerSummary,
    ) -> Result<()> {
        let delivered = message.info().map_or(1, |i| i.delivered);
        if options.die_before_store {
            tracing::warn!(delivered, "stopping before the store (a test)");
            std::process::exit(3);
        }
        let chunk = match Chunk::decode(&message.payload) {
            Ok(chunk) => chunk,
            Err(e) => {
                // nobody can read it: it is dropped, and said so
                tracing::error!(error = %e, "a chunk message that cannot be read; dropped");
                self.ack(message, AckKind::Term)?;
                return Ok(());
            }
        };
        let _span =
            tracing::info_span!("chunk", file = %chunk.file, run = chunk.run, part = chunk.part)
                .entered();
        // the run must be this store's, else the worker serves another store than its
        // coordinator
        let belongs = store.run(chunk.run).map(|r| r.file == chunk.file);
        if !matches!(belongs, Ok(true)) {
            self.ack(message, AckKind::Nak(Some(Duration::from_secs(1))))?;
            return Err(WorkError::Usage(format!(
                "run {} of {} is not in this worker's store; start workers on the store \
                 the coordinator uses",
                chunk.run, chunk.file
            )));
        }
        match self.store_chunk(store, attributor, &chunk) {
            Ok((rows, counts)) => {
                summary.chunks += 1;
                summary.rows += rows;
                summary.counts += counts;
                if options.die_after_store == Some(summary.chunks) {
                    tracing::warn!("stopping after the store, before the report (a test)");
                    std::process::exit(3);
                }
                self.report(
                    &chunk,
                    &PartDone {
                        part: chunk.part,
                        rows,
                        counts: Some(counts),
                        error: None,
                        worker: self.name.clone(),
                    },
                )?;
                self.ack(message, AckKind::Ack)?;
                tracing::info!(
                    file = %chunk.file,
                    run = chunk.run,
                    part = chunk.part,
                    rows,
                    stored = counts.stored,
                    duplicate = counts.duplicate,
                    quarantined = counts.quarantined,
                    delivered,
                    "part stored"
                );
            }
            Err(e) if delivered < options.max_deliver => {
                summary.failed += 1;
                tracing::warn!(error = %e, delivered, "part not stored; it will come again");
                let delay = Duration::from_secs(delivered.clamp(1, 30) as u64);
                self.ack(message, AckKind::Nak(Some(delay)))?;
            }
            Err(e) => {
                summary.failed += 1;
                tracing::error!(error = %e, delivered, "part not stored, at its last delivery");
                self.report(
                    &chunk,
                    &PartDone {
                        part: chunk.part,
                        rows: 0,
                        counts: None,
                        error: Some(e.to_string()),
                        worker: self.name.clone(),
                    },
                )?;
                self.ack(message, AckKind::Term)?;
            }
        }
        Ok(())
    }

    fn handle_notify(
        &self,
        store: &mut dyn Store,
        setup: &NotifySetup,
        options: &WorkerOptions,
        message: &jetstream::Message,
        summary: &mut WorkerSummary,
    ) -> Result<()> {
        let delivered = message.info().map_or(1, |i| i.delivered);
        if options.die_before_store {
            tracing::warn!(delivered, "stopping before delivering (a test)");
            std::process::exit(3);
        }
        let job: NotifyJob = match serde_json::from_slice(&message.payload) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error = %e, "a notify job that cannot be read; dropped");
                self.ack(message, AckKind::Term)?;
                return Ok(());
            }
        };
        let _span = tracing::info_span!("notify job", incident = %job.incident, job = %job.job, number = job.number).entered();
        let result = (|| {
            let mut slot = self.round.borrow_mut();
            if !slot.as_ref().is_some_and(|l| Worker::is_round(l, &job.job)) {
                *slot = None;
                *slot = Some(self.load_round(&job.job, setup)?);
            }
            let loaded = slot.as_mut().expect("loaded above");
            self.deliver_job(store, loaded, &job, message)
        })();
        match result {
            Ok(deliveries) => {
                summary.notify_jobs += 1;
                summary.recipients += deliveries.len() as u64;
                let now = deliveries
                    .iter()
                    .flat_map(|d| &d.outcomes)
                    .filter(|o| o.delivered_now)
                    .count() as u64;
                summary.messages += now;
                if options.die_after_store == Some(summary.notify_jobs) {
                    tracing::warn!("stopping after delivering, before the report (a test)");
                    std::process::exit(3);
                }
                self.report_notify(
                    &job,
                    &NotifyDone {
                        number: job.number,
                        deliveries: Some(deliveries),
                        error: None,
                        worker: self.name.clone(),
                    },
                )?;
                self.ack(message, AckKind::Ack)?;
                tracing::info!(
                    incident = %job.incident,
                    number = job.number,
                    recipients = job.parties.len(),
                    messages = now,
                    delivered,
                    "notify job done"
                );
            }
            Err(e) if delivered < options.max_deliver => {
                summary.notify_failed += 1;
                tracing::warn!(error = %e, delivered, "notify job not done; it will come again");
                let delay = Duration::from_secs(delivered.clamp(1, 30) as u64);
                self.ack(message, AckKind::Nak(Some(delay)))?;
            }
            Err(e) => {
                summary.notify_failed += 1;
                tracing::error!(error = %e, delivered, "notify job not done, at its last delivery");
                self.report_notify(
                    &job,
                    &NotifyDone {
                        number: job.number,
                        deliveries: None,
                        error: Some(e.to_string()),
                        worker: self.name.clone(),
                    },
                )?;
                self.ack(message, AckKind::Term)?;
            }
        }
        Ok(())
    }

    /// Publishes a notify job's result, waiting for the stream to have it.
    fn report_notify(&self, job: &NotifyJob, done: &NotifyDone) -> Result<()> {
        let payload = serde_json::to_vec(done).expect("a result always serialises");
        self.publish_result(&job.job, &job.message_id(), payload)
            .map_err(|e| self.queue.error("report a notify job")(&e))
    }

    /// Parses, attributes and stores one chunk as its part: the rows read, and what storing
    /// did (or, for a part stored before, did then).
    fn store_chunk(
        &self,
        store: &mut dyn Store,
        attributor: &Attributor,
        chunk: &Chunk,
    ) -> Result<(u64, BatchCounts)> {
        let feed: FeedKind = chunk.feed.parse().map_err(WorkError::Message)?;
        let options = Options {
            report: chunk.report.clone(),
            schema: chunk.schema.clone(),
            raw: chunk.raw,
            observation_time: chunk.observation_time.clone(),
            strict: true,
        };
        let part = PartText {
            file: &chunk.file,
            feed,
            header: &chunk.header,
            header_lines: chunk.header_lines,
            first_line: chunk.first_line,
            text: &chunk.text,
            keep_text: chunk.keep_text,
        };
        let (batch, read) = read_part(attributor, part, &options)?;
        let batch = Batch {
            part: Some(chunk.part),
            ..batch
        };
        let counts = store.store_batch(chunk.run, &batch)?;
        Ok((read.rows, counts))
    }

    /// Publishes a part's result, waiting for the stream to have it.
    fn report(&self, chunk: &Chunk, done: &PartDone) -> Result<()> {
        let payload = serde_json::to_vec(done).expect("a result always serialises");
        self.publish_result(&chunk.job, &chunk.message_id(), payload)
            .map_err(|e| self.queue.error("report a part")(&e))
    }

    /// Publishes a result of job `job` under message id `id` (a result reported again is
    /// dropped by the stream), waiting for the stream to have it.
    fn publish_result(
        &self,
        job: &str,
        id: &str,
        payload: Vec<u8>,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let subject = self.queue.done_subject(job);
        self.rt.block_on(async {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
            self.js
                .publish_with_headers(subject, headers, payload.into())
                .await?
                .await?;
            Ok(())
        })
    }

    fn ack(&self, message: &jetstream::Message, kind: AckKind) -> Result<()> {
        self.rt
            .block_on(message.ack_with(kind))
            .map_err(|e| self.queue.error("acknowledge a chunk")(&e))
    }
}
