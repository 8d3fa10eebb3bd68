//! Distributed ingest and notify: the parts of feed files handed to workers over NATS
//! JetStream and stored exactly once, and the recipients of a notify round divided among
//! the same workers (see [`Notifier`]).
//!
//! A coordinator (`baken ingest --via nats://…`) begins a run in the store for each file,
//! cuts the file into [parts](baken_pipeline::ingest::Split) of rows at the lines where the
//! parser starts a row, and publishes each part as a [`Chunk`] to a work-queue stream. Any
//! number of workers (`baken worker --via nats://…`), each its own process, pull chunks from
//! one durable consumer, parse and attribute them with the pipeline's code
//! ([`baken_pipeline::ingest::read_part`]), store them, report the counts on a results
//! subject and only then acknowledge the chunk. The coordinator waits until every part is
//! reported, then finishes the run as a local ingest does: totals, absences counted towards
//! verified fixes, timeline steps.
//!
//! **Effects happen once**, whatever is delivered twice or killed:
//!
//! * a chunk is stored as part *k* of its run ([`baken_store::Batch::part`]): the store
//!   records the part in the batch's transaction, and a part offered again stores nothing and
//!   answers the counts it was stored with;
//! * a part is published with `Nats-Msg-Id` `JOB:k` (`JOB` names the run), so that a publish
//!   retried after a lost acknowledgement is dropped by the stream;
//! * a worker acknowledges a chunk only after its batch is committed and its counts are
//!   reported; a worker killed before that leaves the chunk to be delivered again, after the
//!   consumer's ack wait, to whichever worker asks next;
//! * the coordinator counts each part once, by number; a part that failed at its last
//!   delivery, or that the server gave up on (its workers died on it as often as the
//!   consumer allows, said by the server's max-deliveries advisory), ends the coordinator
//!   with the reason, its run unfinished, as a killed local ingest leaves it.
//!
//! ```no_run
//! use baken_work::{Queue, Worker, WorkerOptions};
//! let queue = Queue::new("nats://127.0.0.1:4222", "baken")?;
//! let mut store = baken_store::SqliteStore::open("baken-data".as_ref())?;
//! let attributor = baken_pipeline::attributor_from_store(&store)?;
//! let worker = Worker::connect(&queue, &WorkerOptions::default())?;
//! let done = worker.run(&mut store, &attributor, &WorkerOptions::default(), None)?;
//! println!("{} chunks stored", done.chunks);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod coordinator;
mod notify;
mod protocol;
mod worker;

pub use coordinator::{Coordinator, DEFAULT_PART_ROWS, Watch};
pub use notify::{
    DEFAULT_PARTIES_PER_JOB, Notifier, NotifySetup, NotifyWatch, RoundSettings, TransportSpec,
};
pub use protocol::{Chunk, NotifyDone, NotifyJob, PartDone, Queue, QueueStatus};
pub use worker::{Worker, WorkerOptions, WorkerSummary};

/// What went wrong in a distributed ingest.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The NATS server could not be reached, or JetStream refused a request.
    #[error("{url}: {what}: {message}")]
    Nats {
        /// The server.
        url: String,
        /// What was asked of it.
        what: String,
        /// Its answer.
        message: String,
    },
    /// Reading a file or a part failed.
    #[error(transparent)]
    Pipeline(#[from] baken_pipeline::PipelineError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] baken_store::StoreError),
    /// A chunk message that cannot be read.
    #[error("chunk message: {0}")]
    Message(String),
    /// A part that no worker could store.
    #[error("{file}: part {part}: {message}")]
    Part {
        /// The file.
        file: String,
        /// The part.
        part: u64,
        /// Why.
        message: String,
    },
    /// The request cannot be carried out as given.
    #[error("{0}")]
    Usage(String),
}

/// Results of distributed ingest.
pub type Result<T> = std::result::Result<T, WorkError>;

/// A runtime for the client's futures, run to completion on the calling thread: the crate's
/// API blocks, as the store's does.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WorkError::Usage(format!("cannot start the NATS client's runtime: {e}")))
}
