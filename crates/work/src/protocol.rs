//! The protocol: where chunks and results go, and how they are written.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use baken_store::BatchCounts;
use serde::{Deserialize, Serialize};

use crate::{Result, WorkError};

/// Where a distributed ingest's work goes: a NATS server with JetStream, and a name that
/// keeps one deployment's (or one test's) streams apart from another's.
///
/// Chunks go to subject `NAME.chunks` of the work-queue stream `NAME_CHUNKS` (upper case),
/// taken by the durable pull consumer `NAME-workers` that all workers share; each run's
/// results go to `NAME.done.JOB` of the stream `NAME_DONE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// The server, `nats://host:port`.
    pub url: String,
    /// The name: letters, digits, `-` and `_`.
    pub name: String,
}

/// How long the chunk stream drops a part published again with the same id.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How long results are kept for a coordinator that reads them late.
const RESULTS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

impl Queue {
    /// The queue `name` on the server at `url`.
    pub fn new(url: &str, name: &str) -> Result<Self> {
        if !url.starts_with("nats://") {
            return Err(WorkError::Usage(format!(
                "--via {url}: a NATS server is named nats://host:port"
            )));
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(WorkError::Usage(format!(
                "queue name {name:?}: use letters, digits, - and _"
            )));
        }
        Ok(Queue {
            url: url.to_string(),
            name: name.to_string(),
        })
    }

    fn upper(&self) -> String {
        self.name.to_ascii_uppercase().replace('-', "_")
    }

    /// The work-queue stream of chunks.
    pub fn chunk_stream(&self) -> String {
        format!("{}_CHUNKS", self.upper())
    }

    /// The subject chunks are published to.
    pub fn chunk_subject(&self) -> String {
        format!("{}.chunks", self.name)
    }

    /// The stream of results.
    pub fn done_stream(&self) -> String {
        format!("{}_DONE", self.upper())
    }

    /// The subject the results of job `job` go to.
    pub fn done_subject(&self, job: &str) -> String {
        format!("{}.done.{job}", self.name)
    }

    /// The durable consumer all workers share.
    pub fn consumer(&self) -> String {
        format!("{}-workers", self.name)
    }

    /// The work-queue stream of notify jobs.
    pub fn notify_stream(&self) -> String {
        format!("{}_NOTIFY", self.upper())
    }

    /// The subject notify jobs are published to.
    pub fn notify_subject(&self) -> String {
        format!("{}.notify", self.name)
    }

    /// The durable consumer of notify jobs all workers share.
    pub fn notify_consumer(&self) -> String {
        format!("{}-notifiers", self.name)
    }

    /// The object store bucket where a notify round waits for its workers.
    pub fn rounds_bucket(&self) -> String {
        format!("{}_ROUNDS", self.upper())
    }

    /// A failure of the server or of JetStream, doing `what`.
    pub(crate) fn error(&self, what: &str) -> impl Fn(&dyn std::fmt::Display) -> WorkError {
        let (url, what) = (self.url.clone(), what.to_string());
        move |e| WorkError::Nats {
            url: url.clone(),
            what: what.clone(),
            message: e.to_string(),
        }
    }

    /// Connects, and creates the streams where they do not exist.
    pub(crate) async fn connect(&self) -> Result<(async_nats::Client, jetstream::Context)> {
        let client = async_nats::ConnectOptions::new()
            .name("baken")
            .connect(&self.url)
            .await
            .map_err(|e| self.error("connect")(&e))?;
        let js = jetstream::new(client.clone());
        self.streams(&js).await?;
        Ok((client, js))
    }

    /// Creates the queue's streams where they do not exist (a server may have lost them).
    pub(crate) async fn streams(&self, js: &jetstream::Context) -> Result<()> {
        self.stream(
            js,
            stream::Config {
                name: self.chunk_stream(),
                subjects: vec![self.chunk_subject()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            },
            "create the chunk stream",
        )
        .await?;
        self.stream(
            js,
            stream::Config {
                name: self.notify_stream(),
                subjects: vec![self.notify_subject()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            },
            "create the notify stream",
        )
        .await?;
        self.stream(
            js,
            stream::Config {
                name: self.done_stream(),
                subjects: vec![format!("{}.done.*", self.name)],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                max_age: RESULTS_KEPT,
                ..Default::default()
            },
            "create the results stream",
        )
        .await
    }

    /// Creates the stream `config` names unless it exists. A coordinator and its workers
    /// often start together, and each creates what is missing: the server may then refuse
    /// one creation because another process's stream of the same name took the subjects a
    /// moment before (it checks the name and the subjects at different moments). That
    /// stream is the one wanted, so a refusal is an error only while no stream of the name
    /// is there.
    async fn stream(
        &self,
        js: &jetstream::Context,
        config: stream::Config,
        what: &str,
    ) -> Result<()> {
        let name = config.name.clone();
        let mut attempt = 0;
        loop {
            let refused = match js.get_or_create_stream(config.clone()).await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if js.get_stream(&name).await.is_ok() {
                return Ok(());
            }
            attempt += 1;
            if attempt == 3 {
                return Err(self.error(what)(&refused));
            }
            tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
        }
    }

    /// Whether every message published to `stream` was taken and acknowledged (a
    /// work-queue stream keeps a message until its worker acknowledges it).
    pub(crate) async fn drained(&self, js: &jetstream::Context, stream: &str) -> Result<bool> {
        let fail = self.error("read the queue's state");
        let mut stream = js.get_stream(stream).await.map_err(|e| fail(&e))?;
        Ok(stream.info().await.map_err(|e| fail(&e))?.state.messages == 0)
    }

    /// What the queue holds now: chunks published and not yet acknowledged, and of those
    /// the ones a worker holds and the ones delivered more than once.
    pub fn status(&self) -> Result<QueueStatus> {
        let rt = crate::runtime()?;
        rt.block_on(async {
            let client = async_nats::connect(&self.url)
                .await
                .map_err(|e| self.error("connect")(&e))?;
            let js = jetstream::new(client);
            let fail = self.error("read the queue's state");
            // no stream: nothing was ever published to the queue, and nobody joined it
            let Ok(mut stream) = js.get_stream(self.chunk_stream()).await else {
                return Ok(QueueStatus::default());
            };
            let chunks = stream.info().await.map_err(|e| fail(&e))?.state.messages;
            // no consumer yet: no worker ever joined
            let (held, redelivered, workers_waiting) =
                match stream.consumer_info(self.consumer()).await {
                    Ok(info) => (
                        info.num_ack_pending as u64,
                        info.num_redelivered as u64,
                        info.num_waiting as u64,
                    ),
                    Err(_) => (0, 0, 0),
                };
            let (notify_jobs, notify_held) = match js.get_stream(self.notify_stream()).await {
                Ok(mut stream) => {
                    let jobs = stream.info().await.map_err(|e| fail(&e))?.state.messages;
                    let held = match stream.consumer_info(self.notify_consumer()).await {
                        Ok(info) => info.num_ack_pending as u64,
                        Err(_) => 0,
                    };
                    (jobs, held)
                }
                Err(_) => (0, 0),
            };
            Ok(QueueStatus {
                chunks,
                held,
                redelivered,
                workers_waiting,
                notify_jobs,
                notify_held,
            })
        })
    }

    /// Deletes the queue's streams and everything in them (tests; a deployment taken down).
    pub fn delete(&self) -> Result<()> {
        let rt = crate::runtime()?;
        rt.block_on(async {
            let client = async_nats::connect(&self.url)
                .await
                .map_err(|e| self.error("connect")(&e))?;
            let js = jetstream::new(client);
            let rounds = format!("OBJ_{}", self.rounds_bucket());
            for name in [
                self.chunk_stream(),
                self.done_stream(),
                self.notify_stream(),
                rounds,
            ] {
                // a stream that is not there is deleted already
                if js.get_stream(&name).await.is_ok() {
                    js.delete_stream(&name)
                        .await
                        .map_err(|e| self.error("delete a stream")(&e))?;
                }
            }
            Ok(())
        })
    }
}

/// What a queue holds ([`Queue::status`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// Chunks published and not yet acknowledged by a worker.
    pub chunks: u64,
    /// Of those, the ones delivered to a worker that has not acknowledged them yet.
    pub held: u64,
    /// Of those, the ones delivered more than once (their worker died or failed).
    pub redelivered: u64,
    /// Workers waiting for a chunk now.
    pub workers_waiting: u64,
    /// Notify jobs published and not yet acknowledged.
    pub notify_jobs: u64,
    /// Of those, the ones a worker holds.
    pub notify_held: u64,
}

/// One part of a file, as published: what a worker needs to parse, attribute and store it
/// without the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The coordinator's name for the run's work, which its results subject carries.
    pub job: String,
    /// The store's run the part belongs to.
    pub run: i64,
    /// The part's number in its run: 0, 1, …
    pub part: u64,
    /// The file, as named to the run.
    pub file: String,
    /// Its feed (`shadowserver`, …).
    pub feed: String,
    /// The Shadowserver report type, when named.
    pub report: Option<String>,
    /// The Shadowserver schema file, when named (a path the workers must see too).
    pub schema: Option<PathBuf>,
    /// Whether events carry IntelMQ's `raw` field.
    pub raw: bool,
    /// `time.observation` of the run's events.
    pub observation_time: Option<String>,
    /// The lines before the file's first row, put before the part's text to parse it.
    #[serde(skip)]
    pub header: Vec<u8>,
    /// How many lines `header` holds.
    pub header_lines: u64,
    /// The line the part's text starts on.
    pub first_line: u64,
    /// The rows the coordinator read in it.
    pub rows: u64,
    /// Whether rows are kept as their input text.
    pub keep_text: bool,
    /// The part's lines.
    #[serde(skip)]
    pub text: Vec<u8>,
    /// 0 when first published; n when published again the n-th time because the queue
    /// lost it or its result.
    #[serde(default)]
    pub attempt: u32,
}

/// What a chunk message's JSON line says of the bytes after it.
#[derive(Serialize, Deserialize)]
struct Framing {
    header_len: usize,
    text_len: usize,
}

impl Chunk {
    /// The message id that lets the stream drop the part published again (and its result
    /// reported again); a part published anew after a loss has an id of its own.
    pub fn message_id(&self) -> String {
        attempt_id(&format!("{}:{}", self.job, self.part), self.attempt)
    }

    /// The message: one JSON line of the fields, one of the byte lengths, then the header
    /// and text bytes as they are.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).expect("a chunk always serialises");
        out.push(b'\n');
        let framing = Framing {
            header_len: self.header.len(),
            text_len: self.text.len(),
        };
        out.extend(serde_json::to_vec(&framing).expect("lengths always serialise"));
        out.push(b'\n');
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.text);
        out
    }

    /// Reads a message [`Chunk::encode`] wrote.
    pub fn decode(message: &[u8]) -> Result<Chunk> {
        let bad = |what: &str| WorkError::Message(what.to_string());
        let line = |bytes: &[u8]| -> Result<usize> {
            memchr_newline(bytes).ok_or_else(|| bad("a chunk message starts with two JSON lines"))
        };
        let end = line(message)?;
        let mut chunk: Chunk =
            serde_json::from_slice(&message[..end]).map_err(|e| bad(&format!("fields: {e}")))?;
        let rest = &message[end + 1..];
        let end = line(rest)?;
        let framing: Framing =
            serde_json::from_slice(&rest[..end]).map_err(|e| bad(&format!("lengths: {e}")))?;
        let bytes = &rest[end + 1..];
        if bytes.len() != framing.header_len + framing.text_len {
            return Err(bad(&format!(
                "{} bytes of header and text, the lengths say {}",
                bytes.len(),
                framing.header_len + framing.text_len
            )));
        }
        chunk.header = bytes[..framing.header_len].to_vec();
        chunk.text = bytes[framing.header_len..].to_vec();
        Ok(chunk)
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// A worker's report on one part, published on the run's results subject after the part's
/// batch was committed (or after the last try failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartDone {
    /// The part.
    pub part: u64,
    /// Rows the worker read in it.
    pub rows: u64,
    /// What storing it did (the counts it was first stored with, when it was stored
    /// before); `None` when it could not be stored.
    pub counts: Option<BatchCounts>,
    /// Why it could not be stored, after the last try.
    pub error: Option<String>,
    /// The worker (host and process id), for the log.
    pub worker: String,
}

/// One notify job: some recipients of a round, for one worker to deliver to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyJob {
    /// The round's name: its object in the rounds bucket, and its results subject.
    pub job: String,
    /// The job's number in its round: 0, 1, …
    pub number: u64,
    /// The incident (for the log).
    pub incident: String,
    /// The recipients, by party key.
    pub parties: Vec<String>,
    /// 0 when first published; n when published again the n-th time because the queue
    /// lost it or its result.
    #[serde(default)]
    pub attempt: u32,
}

impl NotifyJob {
    /// The message id that lets the stream drop the job published again (and its result
    /// reported again); a job published anew after a loss has an id of its own.
    pub fn message_id(&self) -> String {
        attempt_id(&format!("{}:{}", self.job, self.number), self.attempt)
    }
}

fn attempt_id(id: &str, attempt: u32) -> String {
    if attempt == 0 {
        id.to_string()
    } else {
        format!("{id}.{attempt}")
    }
}

/// A worker's report on one notify job, published after its recipients were dealt with (or
/// after the last try failed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyDone {
    /// The job.
    pub number: u64,
    /// What happened to each of its recipients; `None` when the job failed.
    pub deliveries: Option<Vec<baken_pipeline::notify::PartyDelivery>>,
    /// Why it failed, after the last try.
    pub error: Option<String>,
    /// The worker (host and process id), for the log.
    pub worker: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_reads_back_as_written() {
        let chunk = Chunk {
            job: "r7-1f".into(),
            run: 7,
            part: 3,
            file: "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv".into(),
            feed: "shadowserver".into(),
            report: None,
            schema: None,
            raw: false,
            observation_time: Some("2026-03-24T10:00:00+00:00".into()),
            header: b"\"timestamp\",\"ip\"\n".to_vec(),
            header_lines: 1,
            first_line: 41,
            rows: 2,
            keep_text: true,
            text: b"\"2026-03-24 00:00:01\",\"198.18.0.1\"\n\"x\n\"\n".to_vec(),
            attempt: 0,
        };
        assert_eq!(Chunk::decode(&chunk.encode()).unwrap(), chunk);
        assert_eq!(chunk.message_id(), "r7-1f:3");
        let again = Chunk {
            attempt: 2,
            ..chunk.clone()
        };
        assert_eq!(again.message_id(), "r7-1f:3.2");
        let mut cut = chunk.encode();
        cut.pop();
        assert!(Chunk::decode(&cut).is_err());
    }

    #[test]
    fn queue_names_are_checked() {
        assert!(Queue::new("nats://127.0.0.1:4222", "baken-test_1").is_ok());
        assert!(Queue::new("nats://127.0.0.1:4222", "a.b").is_err());
        assert!(Queue::new("http://127.0.0.1:4222", "baken").is_err());
        let q = Queue::new("nats://127.0.0.1:4222", "t-1").unwrap();
        assert_eq!(q.chunk_stream(), "T_1_CHUNKS");
        assert_eq!(q.done_subject("r1-a"), "t-1.done.r1-a");
    }
}
