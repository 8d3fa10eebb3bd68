//! Distributed notify: an incident's round divided among workers by recipient.
//!
//! The coordinator (`baken notify --via nats://…`) plans each incident, audits its decisions
//! and begins its round as a local notify does ([`baken_pipeline::notify::begin_round`]).
//! It then puts the round — every due recipient's digest, with what writing the messages
//! needs — into the queue's object store bucket under the round's job name, and publishes
//! jobs of a few recipients each to the notify work-queue stream. A worker fetches the round
//! once, delivers to the job's recipients with the pipeline's code
//! ([`baken_pipeline::notify::deliver_round`]) over the transport the coordinator names,
//! reports what happened on the round's results subject, and only then acknowledges the
//! job. The coordinator finishes the round once every job is reported, as a local notify
//! does.
//!
//! A message is recorded in the store before it is sent and keyed by incident, recipient
//! and round, so a job delivered again (its worker died) sends only what was not sent: over
//! the outbox, which keeps one file per key, a message a dead worker left mid-delivery is
//! written again; over SMTP it is reported as uncertain, as a local notify reports it.
//!
//! No secret travels: the workers read the pseudonym key from their own data directory and
//! the SMTP password from `$BAKEN_SMTP_PASSWORD`, and sign with the key they were started
//! with; the round carries only digests and fingerprints to check them against.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, object_store};
use baken_deliver::{Outbox, SigningKey, Smtp, Transport};
use baken_model::Tlp;
use baken_pipeline::notify::{Deliver, NotifyOptions, PartyDelivery, Round};
use baken_pipeline::{PipelineError, Progress};
use baken_policy::{Policy, Pseudonymiser};
use baken_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::coordinator::Coordinator;
use crate::protocol::{NotifyDone, NotifyJob, Queue};
use crate::{Result, WorkError};

/// How long putting or fetching a round may take before it counts as failed.
const OBJECT_TIMEOUT: Duration = Duration::from_secs(30);

/// `work`, or an error when it takes longer than [`OBJECT_TIMEOUT`] (run inside the
/// runtime, whose timer it needs).
async fn in_time<T>(
    work: impl std::future::Future<Output = T>,
) -> std::result::Result<T, tokio::time::error::Elapsed> {
    tokio::time::timeout(OBJECT_TIMEOUT, work).await
}

/// Recipients per notify job unless told otherwise.
pub const DEFAULT_PARTIES_PER_JOB: usize = 25;

/// Where a round's messages go, as every worker must reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportSpec {
    /// `.eml` files in this directory (a path every worker sees).
    Outbox {
        /// The directory.
        dir: PathBuf,
    },
    /// This SMTP relay; a password comes from each worker's `$BAKEN_SMTP_PASSWORD`.
    Smtp {
        /// `smtp://[user@]host[:port][?…]` without a password.
        url: String,
    },
}

impl TransportSpec {
    /// The relay `url`, refused when it holds a password: that would travel through the
    /// queue and stay in its stream.
    pub fn smtp(url: &str) -> Result<Self> {
        let config = baken_deliver::SmtpConfig::parse(url)
            .map_err(|e| WorkError::Usage(format!("--smtp {e}")))?;
        if config.password.is_some() {
            return Err(WorkError::Usage(
                "--smtp with --via: leave the password out of the URL and set \
                 $BAKEN_SMTP_PASSWORD for every worker; the URL travels to the workers"
                    .into(),
            ));
        }
        Ok(TransportSpec::Smtp {
            url: url.to_string(),
        })
    }

    /// The transport, and whether it is idempotent (the outbox is).
    pub fn open(&self) -> Result<(Box<dyn Transport>, bool)> {
        Ok(match self {
            TransportSpec::Outbox { dir } => (
                Box::new(Outbox::new(dir.clone()).map_err(PipelineError::from)?),
                true,
            ),
            TransportSpec::Smtp { url } => (
                Box::new(Smtp::from_url(url).map_err(PipelineError::from)?),
                false,
            ),
        })
    }
}

/// What every worker of a round must deliver alike, besides the round itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundSettings {
    /// The sharing policy's text, parsed by each worker.
    pub policy_text: String,
    /// The sender.
    pub from: String,
    /// The TLP label of findings stored without one.
    pub tlp: Tlp,
    /// Re-send messages a crash left mid-delivery over a non-idempotent transport.
    pub resend_uncertain: bool,
    /// Where messages go.
    pub transport: TransportSpec,
    /// SHA-256 of the pseudonym key (hex): a worker with another key refuses the round.
    pub pseudonym_key_sha256: String,
    /// Fingerprint of the key messages are signed with, if any: a worker started without
    /// it refuses the round.
    pub signer: Option<String>,
}

impl RoundSettings {
    /// The settings of `options`, delivered over `transport`.
    pub fn new(options: &NotifyOptions, policy_text: String, transport: TransportSpec) -> Self {
        RoundSettings {
            policy_text,
            from: options.from.clone(),
            tlp: options.tlp,
            resend_uncertain: options.resend_uncertain,
            transport,
            pseudonym_key_sha256: sha256_hex(&options.secret),
            signer: options.signer.as_ref().map(|k| k.fingerprint().to_string()),
        }
    }
}

/// A round as it waits in the object store.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RoundObject {
    round: Round,
    settings: RoundSettings,
}

impl RoundObject {
    fn encode(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self).expect("a round always serialises");
        zstd::encode_all(&json[..], 3)
            .map_err(|e| WorkError::Message(format!("compressing a round: {e}")))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let json = zstd::decode_all(bytes)
            .map_err(|e| WorkError::Message(format!("a round that cannot be read: {e}")))?;
        serde_json::from_slice(&json)
            .map_err(|e| WorkError::Message(format!("a round that cannot be read: {e}")))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a coordinator shows the progress of a round.
pub trait NotifyWatch {
    /// Jobs published, recipients in them.
    fn published(&self, jobs: u64, parties: u64);
    /// Jobs reported so far, recipients in them.
    fn done(&self, jobs: u64, parties: u64);
}

/// Delivery by the workers of a queue: [`Deliver`] for
/// [`baken_pipeline::notify::notify_with`].
pub struct Notifier<'a> {
    coordinator: &'a Coordinator,
    policy_text: String,
    transport: TransportSpec,
    parties_per_job: usize,
    watch: &'a dyn NotifyWatch,
}

impl<'a> Notifier<'a> {
    /// Rounds delivered by `coordinator`'s workers over `transport`, `parties_per_job`
    /// recipients a job; `policy_text` is the text of the policy the rounds are planned
    /// under.
    pub fn new(
        coordinator: &'a Coordinator,
        policy_text: String,
        transport: TransportSpec,
        parties_per_job: usize,
        watch: &'a dyn NotifyWatch,
    ) -> Self {
        Notifier {
            coordinator,
            policy_text,
            transport,
            parties_per_job: parties_per_job.max(1),
            watch,
        }
    }
}

impl Deliver for Notifier<'_> {
    fn deliver(
        &mut self,
        store: &mut dyn Store,
        attributor: &baken_attribute::Attributor,
        options: &NotifyOptions,
        _pseudonymiser: &Pseudonymiser,
        round: &Round,
        progress: &dyn Progress,
    ) -> std::result::Result<Vec<PartyDelivery>, PipelineError> {
        let settings =
            RoundSettings::new(options, self.policy_text.clone(), self.transport.clone());
        if Policy::parse(&self.policy_text)
            .map(|p| p.name().to_string())
            .ok()
            .as_deref()
            != Some(options.policy.name())
        {
            return Err(PipelineError::Usage(format!(
                "the policy text given to the workers is not policy {}",
                options.policy.name()
            )));
        }
        // the workers get what every message reads: they need not hold the store's rows
        let fields = baken_pipeline::findings::MessageFields::read(
            &*store,
            attributor,
            round
                .digests
                .values()
                .flat_map(baken_pipeline::notify::message_findings),
        )?;
        let mut whole = round.clone();
        for digest in whole.digests.values_mut() {
            let read = match baken_pipeline::notify::with_message_fields(&fields, digest)? {
                std::borrow::Cow::Owned(read) => Some(read),
                std::borrow::Cow::Borrowed(_) => None,
            };
            if let Some(read) = read {
                *digest = read;
            }
        }
        let object = RoundObject {
            round: whole,
            settings,
        };
        self.coordinator
            .notify_round(
                &object.encode().map_err(usage)?,
                round,
                self.parties_per_job,
                self.watch,
                progress,
            )
            .map_err(usage)
    }
}

fn usage(e: WorkError) -> PipelineError {
    PipelineError::Usage(e.to_string())
}

impl Coordinator {
    /// Puts a round into the bucket, publishes its jobs, and waits until every one is
    /// reported: what happened to each recipient.
    fn notify_round(
        &self,
        encoded: &[u8],
        round: &Round,
        parties_per_job: usize,
        watch: &dyn NotifyWatch,
        progress: &dyn Progress,
    ) -> Result<Vec<PartyDelivery>> {
        let job = crate::coordinator::job_name("n", round.digests.len() as i64);
        let queue = self.queue().clone();
        let bucket = self.put_round(&job, encoded)?;
        tracing::info!(incident = %round.incident, job = %job, bytes = encoded.len(), "round put for the workers");
        let parties: Vec<&String> = round.digests.keys().collect();
        let mut jobs: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for (number, group) in parties.chunks(parties_per_job).enumerate() {
            jobs.insert(number as u64, group.iter().map(|p| p.to_string()).collect());
        }
        let mut results = self.rt().block_on(self.results(&job))?;
        let mut advisories =
            self.max_deliveries(&queue.notify_stream(), &queue.notify_consumer())?;
        // publishes job `number` (attempt `attempt`): its sequence number in the stream
        let publish = |number: u64, parties: &Vec<String>, attempt: u32| {
            let message = NotifyJob {
                job: job.clone(),
                number,
                incident: round.incident.clone(),
                parties: parties.clone(),
                attempt,
            };
            self.rt().block_on(self.publish_to(
                queue.notify_subject(),
                message.message_id(),
                serde_json::to_vec(&message).expect("a job always serialises"),
            ))
        };
        let mut by_sequence: HashMap<u64, u64> = HashMap::new();
        for (&number, parties) in &jobs {
            by_sequence.insert(publish(number, parties, 0)?, number);
        }
        watch.published(jobs.len() as u64, parties.len() as u64);
        let mut done: BTreeMap<u64, Vec<PartyDelivery>> = BTreeMap::new();
        let mut given_up: BTreeSet<u64> = BTreeSet::new();
        let mut lost = crate::coordinator::Lost::new();
        let mut failed_reads = 0;
        let mut parties_done = 0;
        while done.len() < jobs.len() {
            let next: Option<NotifyDone> =
                self.next_or_retry(&job, &mut results, &mut failed_reads)?;
            self.rt().block_on(crate::coordinator::given_up_on(
                &mut advisories,
                &by_sequence,
                &mut given_up,
            ));
            if next.is_none() && lost.check(self, &queue.notify_stream())? {
                // the queue holds none of the round's jobs, yet some are unreported: the
                // server lost them or their results; they are published again under new
                // ids, and a recipient dealt with before gets nothing twice; the round is put
                // into the bucket again, which the server may have lost with them
                let again = self.put_round(&job, encoded);
                if let Err(e) = again {
                    tracing::warn!(error = %e, "the round could not be put again");
                }
                for (&number, parties) in jobs.iter().filter(|(n, _)| !done.contains_key(n)) {
                    tracing::warn!(
                        number,
                        attempt = lost.attempt,
                        "a notify job unreported while the queue is empty: publishing it again"
                    );
                    by_sequence.insert(publish(number, parties, lost.attempt)?, number);
                }
            }
            let Some(report) = next else {
                if let Some(&number) = given_up.iter().find(|n| !done.contains_key(n)) {
                    return Err(WorkError::Usage(format!(
                        "{}: notify job {number} ({}) was delivered as often as the workers' \
                         consumer allows and never finished: the workers that took it died on \
                         it (their logs say why); run notify again once the cause is fixed \
                         (what was sent is not sent again)",
                        round.incident,
                        jobs[&number].join(", ")
                    )));
                }
                continue;
            };
            let Some(expected) = jobs.get(&report.number) else {
                tracing::warn!(
                    number = report.number,
                    "a result for a job this round did not publish"
                );
                continue;
            };
            if done.contains_key(&report.number) {
                continue;
            }
            let deliveries = match (report.deliveries, report.error) {
                (Some(d), _) => d,
                (None, error) => {
                    return Err(WorkError::Usage(format!(
                        "{}: no worker could deliver notify job {} ({}): {}; run notify again \
                         once the cause is fixed (what was sent is not sent again)",
                        round.incident,
                        report.number,
                        expected.join(", "),
                        error.unwrap_or_default()
                    )));
                }
            };
            let answered: Vec<&str> = deliveries.iter().map(|d| d.party.as_str()).collect();
            if answered != expected.iter().map(String::as_str).collect::<Vec<_>>() {
                return Err(WorkError::Usage(format!(
                    "worker {} answered job {} for {answered:?}, not for {expected:?}; do the \
                     workers run the same baken release?",
                    report.worker, report.number
                )));
            }
            tracing::debug!(number = report.number, worker = %report.worker, "job done");
            lost.progress();
            parties_done += deliveries.len() as u64;
            progress.advance(deliveries.len() as u64);
            done.insert(report.number, deliveries);
            watch.done(done.len() as u64, parties_done);
        }
        // the round is delivered: neither the bucket nor the results stream need keep it
        let cleaned = self.rt().block_on(async {
            bucket.delete(job.as_str()).await?;
            let stream = self.js().get_stream(queue.done_stream()).await?;
            stream.purge().filter(queue.done_subject(&job)).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Err(e) = cleaned {
            tracing::warn!(job = %job, error = %e, "the round's object or results could not be removed");
        }
        Ok(done.into_values().flatten().collect())
    }
}

impl Coordinator {
    /// Puts round `job` into the queue's bucket (created where it does not exist); the
    /// bucket.
    fn put_round(&self, job: &str, encoded: &[u8]) -> Result<object_store::ObjectStore> {
        let queue = self.queue();
        let fail = || queue.error("put a round into the bucket");
        self.rt()
            .block_on(in_time(async {
                let bucket = rounds_bucket(self.js(), queue).await?;
                bucket
                    .put(job, &mut &encoded[..])
                    .await
                    .map_err(|e| fail()(&e))?;
                Ok::<_, WorkError>(bucket)
            }))
            .map_err(|_| fail()(&"no answer"))?
    }
}

/// The queue's bucket of rounds, created where it does not exist.
async fn rounds_bucket(
    js: &jetstream::Context,
    queue: &Queue,
) -> Result<object_store::ObjectStore> {
    if let Ok(bucket) = js.get_object_store(queue.rounds_bucket()).await {
        return Ok(bucket);
    }
    let created = js
        .create_object_store(object_store::Config {
            bucket: queue.rounds_bucket(),
            description: Some("baken notify rounds waiting for their workers".into()),
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await;
    match created {
        Ok(bucket) => Ok(bucket),
        // another process created it a moment before (see `Queue::stream`)
        Err(refused) => js
            .get_object_store(queue.rounds_bucket())
            .await
            .map_err(|_| queue.error("create the rounds bucket")(&refused)),
    }
}

/// What a worker needs to deliver rounds: its own pseudonym key and signing key.
pub struct NotifySetup {
    /// The pseudonym key, from the worker's data directory.
    pub secret: Vec<u8>,
    /// The key it signs with, if it was given one.
    pub signer: Option<Arc<SigningKey>>,
}

/// A round a worker fetched, ready to deliver.
pub(crate) struct Loaded {
    job: String,
    round: Round,
    options: NotifyOptions,
    pseudonymiser: Pseudonymiser,
    transport: Box<dyn Transport>,
}

impl crate::worker::Worker {
    /// Fetches round `job` and makes it ready with `setup`; a round this worker cannot
    /// deliver alike (another pseudonym key, no signing key) is refused.
    pub(crate) fn load_round(&self, job: &str, setup: &NotifySetup) -> Result<Loaded> {
        let queue = self.queue();
        let fetch = async {
            let bucket = rounds_bucket(self.js(), queue).await?;
            let mut object = bucket
                .get(job)
                .await
                .map_err(|e| queue.error(&format!("fetch round {job}"))(&e))?;
            let mut bytes = Vec::new();
            object
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| queue.error(&format!("read round {job}"))(&e))?;
            Ok::<_, WorkError>(bytes)
        };
        // a read the server stopped answering (it went down mid-way) fails the job, which
        // comes back to be tried again
        let bytes = self
            .rt()
            .block_on(in_time(fetch))
            .map_err(|_| queue.error(&format!("fetch round {job}"))(&"no answer"))??;
        let RoundObject { round, settings } = RoundObject::decode(&bytes)?;
        if sha256_hex(&setup.secret) != settings.pseudonym_key_sha256 {
            return Err(WorkError::Usage(
                "this worker's pseudonym key (DATA/pseudonym.key) is not the coordinator's: \
                 give every worker the installation's key, or aggregates would name \
                 organisations by other pseudonyms"
                    .into(),
            ));
        }
        let signer = match (&settings.signer, &setup.signer) {
            (None, _) => None,
            (Some(wanted), Some(key)) if key.fingerprint() == wanted => Some(key.clone()),
            (Some(wanted), _) => {
                return Err(WorkError::Usage(format!(
                    "the round is signed with key {wanted}: start the worker with \
                     --sign-key naming that key"
                )));
            }
        };
        let policy = Policy::parse(&settings.policy_text).map_err(PipelineError::from)?;
        let (transport, idempotent) = settings.transport.open()?;
        let mut options = NotifyOptions::new(policy, setup.secret.clone());
        options.incident = Some(round.incident.clone());
        options.from = settings.from;
        options.tlp = settings.tlp;
        options.idempotent_transport = idempotent;
        options.resend_uncertain = settings.resend_uncertain;
        options.signer = signer;
        let pseudonymiser = Pseudonymiser::new(&setup.secret)
            .map_err(|e| WorkError::Usage(format!("the pseudonym key is too short: {e}")))?;
        Ok(Loaded {
            job: job.to_string(),
            round,
            options,
            pseudonymiser,
            transport,
        })
    }

    /// Delivers one job's recipients of `loaded`, telling the server after each that the
    /// job is still being worked on.
    pub(crate) fn deliver_job(
        &self,
        store: &mut dyn Store,
        loaded: &mut Loaded,
        job: &NotifyJob,
        message: &jetstream::Message,
    ) -> Result<Vec<PartyDelivery>> {
        debug_assert_eq!(loaded.job, job.job);
        let alive = StillWorking {
            worker: self,
            message,
        };
        // fetching the round may have taken a while
        alive.advance(0);
        Ok(baken_pipeline::notify::deliver_round(
            store,
            loaded.transport.as_mut(),
            None,
            &loaded.options,
            &loaded.pseudonymiser,
            &loaded.round,
            &job.parties,
            &alive,
        )?)
    }

    /// Whether `loaded` is round `job`.
    pub(crate) fn is_round(loaded: &Loaded, job: &str) -> bool {
        loaded.job == job
    }
}

/// Progress that tells the server a job is still being worked on, so that a slow relay does
/// not make it go to a second worker.
struct StillWorking<'a> {
    worker: &'a crate::worker::Worker,
    message: &'a jetstream::Message,
}

impl Progress for StillWorking<'_> {
    fn advance(&self, _n: u64) {
        if let Err(e) = self
            .worker
            .rt()
            .block_on(self.message.ack_with(AckKind::Progress))
        {
            tracing::warn!(error = %e, "could not tell the server the job is in progress");
        }
    }
}
