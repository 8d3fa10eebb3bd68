//! `baken ingest --via` and `baken worker`: ingest handed to workers over NATS JetStream.

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use baken_app::{App, NotifyReport, NotifyRequest};
use baken_feeds::Options;
use baken_pipeline::Progress;
use baken_pipeline::ingest::{FileSummary, Input, Settings};
use baken_work::{
    Coordinator, Notifier, NotifySetup, NotifyWatch, Queue, TransportSpec, Watch, Worker,
    WorkerOptions,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `ingest --via` besides the server.
#[derive(clap::Args)]
pub struct WorkArgs {
    /// The queue's name on the NATS server (its streams are NAME_CHUNKS and NAME_DONE):
    /// deployments sharing a server keep theirs apart. Workers must name the same.
    #[arg(long, env = "BAKEN_QUEUE", default_value = "baken")]
    pub queue: String,
    /// Rows per part handed to a worker (fewer where the server's largest message holds
    /// fewer).
    #[arg(long, value_name = "ROWS", default_value_t = baken_work::DEFAULT_PART_ROWS)]
    pub part_rows: u64,
}

/// Options of `notify --via` besides the server.
#[derive(clap::Args)]
pub struct NotifyWorkArgs {
    /// The queue's name on the NATS server (its streams are NAME_NOTIFY and NAME_DONE, its
    /// bucket NAME_ROUNDS): workers must name the same.
    #[arg(long, env = "BAKEN_QUEUE", default_value = "baken")]
    pub queue: String,
    /// Recipients per job handed to a worker.
    #[arg(long, value_name = "N", default_value_t = baken_work::DEFAULT_PARTIES_PER_JOB)]
    pub parties_per_job: usize,
}

/// `baken worker`.
#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The NATS server with JetStream that `ingest --via` publishes to, nats://host:port.
    #[arg(long, value_name = "URL")]
    via: String,
    /// The queue's name on the server, as `ingest --queue` names it.
    #[arg(long, env = "BAKEN_QUEUE", default_value = "baken")]
    queue: String,
    /// Stop after one chunk.
    #[arg(long)]
    once: bool,
    /// Stop after this many seconds without a chunk (default: run until killed).
    #[arg(long, value_name = "SECS")]
    idle_exit: Option<u64>,
    /// Seconds a chunk given to a worker waits for its acknowledgement before it goes to
    /// another (a killed worker's chunk comes back after this); set when the workers'
    /// consumer is first created.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    ack_wait: u64,
    /// Print what the queue holds (chunks waiting, held by workers, delivered again) and
    /// exit.
    #[arg(long)]
    status: bool,
    /// The OpenPGP secret key `notify --via --sign-key` signs with: a worker delivers
    /// signed rounds only with it. Its passphrase comes from $BAKEN_SIGN_KEY_PASSPHRASE.
    #[arg(long, value_name = "FILE.asc")]
    sign_key: Option<std::path::PathBuf>,
    /// Take no notify jobs, only parts of files.
    #[arg(long)]
    no_notify: bool,
    /// Delete the queue's streams and bucket from the server and exit; refused while work
    /// waits in it.
    #[arg(long, conflicts_with = "status")]
    delete_queue: bool,
    /// Exit right after the n-th chunk is stored, before reporting or acknowledging it:
    /// tests of redelivery.
    #[arg(long, hide = true)]
    die_after_store: Option<u64>,
    /// Exit as soon as a chunk is received: tests of parts given up on.
    #[arg(long, hide = true)]
    die_before_store: bool,
    /// Deliveries of one chunk before it is given up on; set when the workers' consumer is
    /// first created.
    #[arg(long, hide = true, default_value_t = 5)]
    max_deliver: i64,
}

/// What ingests one file, here or through workers.
pub type IngestOne<'a> = Box<dyn FnMut(&Input) -> Result<FileSummary> + 'a>;

/// What ingests one file through the workers of `url`, for `cmd_ingest`.
pub fn coordinator<'a>(
    app: &'a mut App,
    url: &str,
    work: &WorkArgs,
    options: &'a Options,
    settings: &'a Settings,
) -> Result<IngestOne<'a>> {
    if work.part_rows == 0 {
        anyhow::bail!("--part-rows must be at least 1");
    }
    let queue = Queue::new(url, &work.queue)?;
    let coordinator = Coordinator::connect(&queue)
        .context("ingest --via needs a NATS server with JetStream (nats-server -js)")?;
    let part_rows = work.part_rows;
    Ok(Box::new(move |input: &Input| {
        let settings = baken_app::labelled(input, options, settings)?;
        let watch = PartsBar::new();
        let summary = coordinator.ingest(
            app.store_mut(),
            input,
            options,
            &settings,
            part_rows,
            &watch,
        )?;
        watch.bar.finish_and_clear();
        Ok(summary)
    }))
}

/// `baken worker`: takes chunks until told to stop, then says what it stored; with
/// `--status`, what the queue holds (the store is not opened).
pub fn worker(data: &Path, args: &WorkerArgs) -> Result<()> {
    let queue = Queue::new(&args.via, &args.queue)?;
    if args.status || args.delete_queue {
        let s = queue.status()?;
        if args.delete_queue {
            if s.chunks + s.notify_jobs > 0 {
                anyhow::bail!(
                    "{}: {} chunks and {} notify jobs still wait in the queue; delete it once \
                     they are done (`baken worker --status`)",
                    queue.name,
                    s.chunks,
                    s.notify_jobs
                );
            }
            queue.delete()?;
            println!("{}: the queue's streams and bucket are deleted", queue.name);
            return Ok(());
        }
        println!(
            "{}: {} chunks not yet stored, {} of them held by a worker, {} delivered more than \
             once; {} workers waiting; {} notify jobs not yet done, {} of them held by a worker",
            queue.name,
            s.chunks,
            s.held,
            s.redelivered,
            s.workers_waiting,
            s.notify_jobs,
            s.notify_held
        );
        return Ok(());
    }
    let app = &mut App::open(data)?;
    if let Some(path) = &args.sign_key {
        let passphrase = std::env::var(crate::mail_cmds::SIGN_KEY_PASSPHRASE_ENV).ok();
        app.set_signing_key(path, passphrase.as_deref())?;
    }
    let setup = if args.no_notify {
        None
    } else {
        Some(NotifySetup {
            secret: app.pseudonym_key()?,
            signer: app.signer(),
        })
    };
    // loaded once: every chunk is attributed with the index as it was when the worker started
    let attributor = app.attributor()?;
    let options = WorkerOptions {
        idle_exit: args.idle_exit.map(Duration::from_secs),
        once: args.once,
        ack_wait: Duration::from_secs(args.ack_wait.max(1)),
        die_after_store: args.die_after_store,
        die_before_store: args.die_before_store,
        max_deliver: args.max_deliver.max(1),
    };
    let worker = Worker::connect(&queue, &options)
        .context("baken worker needs a NATS server with JetStream (nats-server -js)")?;
    tracing::info!(queue = %queue.name, url = %queue.url, "worker started");
    let done = worker.run(app.store_mut(), &attributor, &options, setup.as_ref())?;
    println!(
        "worker: {} chunks, {} rows: stored {} + duplicate {} + quarantined {}; {} new findings{}",
        done.chunks,
        done.rows,
        done.counts.stored,
        done.counts.duplicate,
        done.counts.quarantined,
        done.counts.new_findings,
        if done.failed > 0 {
            format!("; {} tries failed and were handed back", done.failed)
        } else {
            String::new()
        }
    );
    if setup.is_some() {
        println!(
            "worker: {} notify jobs, {} recipients, {} messages sent{}",
            done.notify_jobs,
            done.recipients,
            done.messages,
            if done.notify_failed > 0 {
                format!("; {} tries failed and were handed back", done.notify_failed)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Where `notify --via`'s workers deliver: the relay, or the outbox directory (absolute, as
/// every worker must find it).
fn transport_spec(smtp: Option<&str>, outbox: Option<&Path>, data: &Path) -> Result<TransportSpec> {
    Ok(match smtp {
        Some(url) => TransportSpec::smtp(url)?,
        None => {
            let dir = outbox.map_or_else(|| data.join("outbox"), Path::to_path_buf);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot make the outbox {}", dir.display()))?;
            let dir = dir
                .canonicalize()
                .with_context(|| format!("the outbox {}", dir.display()))?;
            TransportSpec::Outbox { dir }
        }
    })
}

/// Where `notify --via`'s workers deliver, for the summary.
pub fn described(smtp: Option<&str>, outbox: Option<&Path>, data: &Path) -> Result<String> {
    Ok(match transport_spec(smtp, outbox, data)? {
        TransportSpec::Outbox { dir } => format!("the workers, into {}", dir.display()),
        TransportSpec::Smtp { url } => format!("the workers, through {url}"),
    })
}

/// `notify --via`: each round planned, audited and finished here, its recipients divided
/// among the workers of `url`.
#[allow(clippy::too_many_arguments)]
pub fn notify(
    app: &mut App,
    url: &str,
    work: &NotifyWorkArgs,
    request: &NotifyRequest,
    smtp: Option<&str>,
    outbox: Option<&Path>,
    data: &Path,
    progress: &dyn Progress,
) -> Result<NotifyReport> {
    if work.parties_per_job == 0 {
        anyhow::bail!("--parties-per-job must be at least 1");
    }
    let queue = Queue::new(url, &work.queue)?;
    let coordinator = Coordinator::connect(&queue)
        .context("notify --via needs a NATS server with JetStream (nats-server -js)")?;
    let policy_text = baken_pipeline::policy_text(&request.policy)?;
    let spec = transport_spec(smtp, outbox, data)?;
    let watch = JobsLog;
    let mut notifier = Notifier::new(
        &coordinator,
        policy_text,
        spec,
        work.parties_per_job,
        &watch,
    );
    Ok(app.notify_with(request, &mut notifier, progress)?)
}

/// Says in the log how a round's jobs go.
struct JobsLog;

impl NotifyWatch for JobsLog {
    fn published(&self, jobs: u64, parties: u64) {
        tracing::info!(jobs, parties, "notify jobs published");
    }

    fn done(&self, jobs: u64, parties: u64) {
        tracing::debug!(jobs, parties, "notify jobs done");
    }
}

/// The progress of a distributed ingest: rows stored of rows published, and parts.
struct PartsBar {
    bar: ProgressBar,
    /// Parts published and stored so far.
    parts: Cell<(u64, u64)>,
}

impl PartsBar {
    fn new() -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{bar:40}] {pos}/{len} rows stored, {msg} {per_sec} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix("ingest");
        bar.enable_steady_tick(Duration::from_millis(200));
        PartsBar {
            bar,
            parts: Cell::new((0, 0)),
        }
    }

    fn show(&self) {
        let (published, stored) = self.parts.get();
        self.bar
            .set_message(format!("parts {stored}/{published} stored"));
    }
}

impl Watch for PartsBar {
    fn published(&self, parts: u64, rows: u64) {
        self.parts.set((parts, self.parts.get().1));
        self.bar.set_length(rows);
        self.show();
    }

    fn stored(&self, parts: u64, rows: u64) {
        self.parts.set((self.parts.get().0, parts));
        self.bar.set_position(rows);
        self.show();
        tracing::info!(parts, rows, "parts stored");
    }
}
