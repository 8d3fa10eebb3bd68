//! `baken`: from a vulnerability disclosure to a notification for every affected organisation.
//!
//! The binary parses arguments, shows progress and maps errors to exit codes; the work is
//! done by the library crates (see ARCHITECTURE.md).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use baken_app::{App, AppError, NotifyRequest, SaidResult, parse_since};
use baken_deliver::{Outbox, Smtp, Transport};
use baken_demo::{self as demo, DemoOptions, Params};
use baken_feeds::{FeedKind, Options};
use baken_model::Tlp;
use baken_pipeline::Progress;
use baken_pipeline::ingest::{self, Input};
use baken_store::FindingState;
use clap::{Parser, Subcommand, ValueEnum};

/// std's `println!`, except that a reader that stopped reading (`baken why … | head`) ends the
/// process quietly instead of with a panic: see `out.rs`. Defined before the modules so that
/// it is the `println!` of all of them.
macro_rules! println {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}

mod advisory_cmds;
mod alloc;
mod contacts_cmds;
mod dependencies_cmds;
mod exercise_cmds;
mod export_cmds;
mod inbox_cmds;
mod incident_report_cmds;
mod inventory_cmds;
mod lookalike_cmds;
mod mail_cmds;
use mail_cmds::{SIGN_KEY_PASSPHRASE_ENV, print_protection};
mod out;
mod policy_cmds;
mod report_cmds;
mod store_cmds;
mod work_cmds;
use indicatif::{ProgressBar, ProgressStyle};

/// baken turns a vulnerability disclosure into targeted notifications for every affected
/// organisation, and keeps the record of who was affected, who was told what and when.
#[derive(Parser)]
#[command(name = "baken", version, about, long_about = None)]
struct Cli {
    /// Data directory (database, outbox).
    #[arg(long, global = true, env = "BAKEN_DATA", default_value = "baken-data")]
    data: PathBuf,
    /// The store: `sqlite:PATH` (the default: sqlite:DATA/baken.db) or
    /// `postgres://USER@HOST:PORT/DB`. Files (outbox, keys, kept lists) stay in --data.
    #[arg(long, global = true, env = "BAKEN_STORE", value_parser = parse_store_url)]
    store: Option<StoreArg>,
    /// Log lines on standard error as text or as JSON objects (RUST_LOG sets what is
    /// logged, e.g. RUST_LOG=info; default warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a feed file and print one normalised event per line (IntelMQ field names).
    Parse {
        /// The feed.
        #[arg(long, value_parser = parse_feed)]
        feed: FeedKind,
        /// Shadowserver report type (e.g. scan_http_vulnerable); from the file name if omitted.
        #[arg(long)]
        report: Option<String>,
        /// Shadowserver schema file (default: ../shared/data/shadowserver/shadowserver-schema.json
        /// or $BAKEN_SHADOWSERVER_SCHEMA).
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Add IntelMQ's `raw` field (base64 of the input row).
        #[arg(long)]
        raw: bool,
        /// Threads parsing a Shadowserver report at once (the output keeps the file's
        /// order); default: one per processor core.
        #[arg(long)]
        threads: Option<usize>,
        /// Keep a row whose required field (e.g. `ip`) has no valid value as an event
        /// without that field, as IntelMQ 3.5.0 does, so that the output equals IntelMQ's.
        /// By default such a row is rejected, as `ingest` quarantines it.
        #[arg(long)]
        lenient: bool,
        /// Exit 0 even when rows were rejected (they are still listed on standard error).
        #[arg(long)]
        allow_rejected: bool,
        /// The file to parse.
        file: PathBuf,
    },
    /// The registry of organisations, and public routing and registry data for the fallback.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Parse, attribute and store feed files; every row is stored or quarantined.
    Ingest {
        /// The feed (guessed from the file name when omitted: .csv is Shadowserver).
        #[arg(long, value_parser = parse_feed)]
        feed: Option<FeedKind>,
        /// Shadowserver report type; from the file name if omitted.
        #[arg(long)]
        report: Option<String>,
        /// Shadowserver schema file.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Rows per transaction.
        #[arg(long, default_value_t = ingest::DEFAULT_BATCH)]
        batch: usize,
        /// TLP label every event of these files carries (Shadowserver reports: AMBER).
        #[arg(long, default_value = "AMBER", value_parser = parse_tlp)]
        tlp: Tlp,
        /// Who supplied the files, when not a feed of our own (e.g. a peer CSIRT).
        #[arg(long)]
        supplied_by: Option<String>,
        /// Sharing policy whose [lifecycle] says how many later reports without a finding
        /// verify its fix: nl-2020, nl-dtc-oktt, or a policy file.
        #[arg(long, default_value = "nl-2020")]
        policy: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Hand the files' rows to workers (`baken worker`) through this NATS server with
        /// JetStream, nats://host:port, in parts; wait until they stored them all.
        #[arg(long, value_name = "URL")]
        via: Option<String>,
        #[command(flatten)]
        work: work_cmds::WorkArgs,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Parse, attribute and store the parts of files that `ingest --via` hands out; run as
    /// many as there are cores to spare, on the coordinator's store.
    Worker(work_cmds::WorkerArgs),
    /// Send each recipient, per incident, what the sharing policy allows: one message each,
    /// at most once, every decision audited.
    Notify {
        /// Only this incident (e.g. cve-2019-19781); all incidents when omitted.
        #[arg(long)]
        incident: Option<String>,
        /// Deliver through this SMTP relay:
        /// smtp://[user[:password]@]host[:port][?tls=starttls|none&insecure=true], or smtps://
        /// for TLS from the first byte. STARTTLS is required unless tls=none allows plain text.
        /// The password may come from $BAKEN_SMTP_PASSWORD.
        #[arg(long, conflicts_with = "outbox")]
        smtp: Option<String>,
        /// Write .eml files into this directory (default: DATA/outbox).
        #[arg(long)]
        outbox: Option<PathBuf>,
        /// Sender address.
        #[arg(long, default_value = "NCSC baken <baken@ncsc.example>")]
        from: String,
        /// TLP label of findings stored without one (each ingest labels its events).
        #[arg(long, default_value = "AMBER", value_parser = parse_tlp)]
        tlp: Tlp,
        /// Sharing policy: nl-2020, nl-dtc-oktt, or a policy file.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        policy: String,
        /// A recipient the source named (an organisation id); TLP:RED findings go only to
        /// named recipients. Repeat for several.
        #[arg(long = "to", value_name = "PARTY")]
        to: Vec<String>,
        /// Re-send messages that a crash left mid-delivery over SMTP (may duplicate).
        #[arg(long)]
        resend_uncertain: bool,
        /// Sign every message (PGP/MIME) with this OpenPGP secret key, and encrypt to
        /// recipients whose contact has a `pgp_key`. Its passphrase comes from
        /// $BAKEN_SIGN_KEY_PASSPHRASE.
        #[arg(long, value_name = "FILE.asc")]
        sign_key: Option<PathBuf>,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
        /// Divide each round's recipients among workers (`baken worker`) through this NATS
        /// server with JetStream, nats://host:port; plan, audit and finish here.
        #[arg(long, value_name = "URL")]
        via: Option<String>,
        #[command(flatten)]
        work: work_cmds::NotifyWorkArgs,
    },
    /// What is known about an incident besides its findings.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Security advisories: CSAF 2.0, CVE JSON 5, OSV; CISA's KEV catalogue for exploitation
    /// dates.
    Advisory {
        #[command(subcommand)]
        command: AdvisoryCommand,
    },
    /// What organisations run: inventories and SBOMs.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// The substantiated exposure analysis of an advisory: affected organisations (vital,
    /// non-vital, by sector), hosts, evidence and severity. Records the matches as findings
    /// of the advisory, so `baken notify --incident ADVISORY` tells each organisation.
    Exposure {
        /// The advisory id.
        advisory: String,
        /// Do not record the matches (analysis only).
        #[arg(long)]
        no_record: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The store itself: copy an SQLite store into PostgreSQL.
    Store {
        #[command(subcommand)]
        command: store_cmds::StoreCommand,
    },
    /// The append-only audit log of disclosure decisions and deliveries.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Compute a CVSS v2, v3.0, v3.1 or v4.0 score from a vector and explain each metric.
    Cvss {
        /// The vector, e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H.
        vector: String,
        /// Print {"version", "base_score", "severity", "temporal_score", "environmental_score"}.
        #[arg(long)]
        json: bool,
    },
    /// Run a reference scenario on synthetic data through the whole chain.
    Demo {
        /// The scenario.
        #[arg(value_enum)]
        scenario: Scenario,
        /// Registered organisations to generate.
        #[arg(long, default_value_t = 10_000)]
        orgs: u32,
        /// Seed of the generator.
        #[arg(long, default_value_t = 2020)]
        seed: u64,
        /// Output directory (generated input, outbox, report.html, summary.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Deliver through this SMTP relay instead of the outbox.
        #[arg(long)]
        smtp: Option<String>,
        /// Sharing policy the messages are sent under (both shipped policies are compared).
        #[arg(long, default_value = "nl-2020")]
        policy: String,
        /// Replay the crisis day by day from 17 December 2019 (45 reaches 31 January 2020):
        /// daily reports, verification, replies, follow-ups, reminders, escalations and
        /// compromise checks, under both shipped policies side by side.
        #[arg(long, conflicts_with = "smtp")]
        days: Option<u32>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Explain every disclosure decision about an organisation or a finding: path, recipient,
    /// form, rule, role, TLP and legal basis.
    Why {
        /// An organisation id, a finding's source IP address, or a finding's store id.
        target: String,
        #[command(flatten)]
        plan: PlanArgs,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show, without sending anything, which parties another policy reaches or loses and
    /// through whom.
    Whatif {
        /// The other policy: a shipped name or a policy file.
        #[arg(long)]
        policy: String,
        /// The policy to compare against.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        against: String,
        /// The incident.
        #[arg(long)]
        incident: String,
        /// TLP label of the findings.
        #[arg(long, default_value = "AMBER", value_parser = parse_tlp)]
        tlp: Tlp,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every affected party of an incident: reached directly, through its CERT, the DTC or its
    /// hoster (by messages actually sent), or unreachable with the reason.
    Coverage {
        #[command(flatten)]
        plan: PlanArgs,
        /// Print {"affected", "reached", "unreachable", "by_path", "parties"}.
        #[arg(long)]
        json: bool,
    },
    /// List findings: one vulnerable or exposed service of one owner for one incident.
    Findings {
        /// Only this incident (e.g. cve-2019-19781).
        #[arg(long)]
        incident: Option<String>,
        /// Only findings of this organisation (its registry id).
        #[arg(long)]
        org: Option<String>,
        /// Only findings in this state (open).
        #[arg(long, value_parser = parse_state)]
        state: Option<baken_store::FindingState>,
        /// Only findings last seen at or after this time (RFC 3339, or a date such as 2026-03-24).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One finding with every observation, each as the IntelMQ event it was.
    Finding {
        #[command(subcommand)]
        command: FindingCommand,
    },
    /// Delete raw data older than the policy's retention period, by its own time
    /// (time.source): observations, findings last seen before it and left without one, kept
    /// rows left without one, and quarantined rows of runs started before it.
    Prune {
        /// Sharing policy whose retention_days applies.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        policy: String,
        /// Count from this time instead of now (RFC 3339).
        #[arg(long)]
        now: Option<String>,
        /// Print what would be deleted and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Evaluate an incident from the record: timeline from disclosure, affected = reached +
    /// unreachable, open findings per day, time to fix by path and sector, who was never
    /// reached and why.
    Report {
        /// The incident (e.g. cve-2019-19781).
        incident: String,
        /// Sharing policy whose plan gives the reasons of the unreachable.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        policy: String,
        /// TLP label of findings stored without one.
        #[arg(long, default_value = "AMBER", value_parser = parse_tlp)]
        tlp: Tlp,
        /// When exploitation began (RFC 3339, or a date): counts the findings fixed after it.
        #[arg(long)]
        exploited_since: Option<String>,
        /// Also write the report as one self-contained HTML page with SVG charts.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The recorded steps of an incident in time order: timeline steps, messages, finding
    /// transitions per day and cause, advisory revisions.
    Timeline {
        /// The incident (e.g. cve-2019-19781).
        incident: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Readiness indicators over all incidents, per sector and nationwide: time to notify,
    /// coverage, time to fix, share verified.
    Indicators {
        /// Only this sector (besides the nationwide figures).
        #[arg(long)]
        sector: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the API (see README) until SIGTERM or Ctrl-C.
    Serve {
        /// A settings file (TOML: `[serve]` and `[notify]`, as the README shows); a flag
        /// given here wins over it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<String>,
        /// The sharing policy that decides what each party sees: nl-2020, nl-dtc-oktt, or a
        /// policy file [default: nl-2020].
        #[arg(long, env = "BAKEN_POLICY")]
        policy: Option<String>,
        /// Seconds between two passes over the webhooks (queue what changed, deliver what is
        /// due); 0 for none [default: 30].
        #[arg(long)]
        webhook_every: Option<u64>,
        /// Refused tokens a client address may send a minute before it is answered 429
        /// [default: 10].
        #[arg(long)]
        max_failed_logins: Option<usize>,
        /// Seconds between two notify rounds over every incident (e.g. 3600); 0 (the
        /// default): the service sends no mail.
        #[arg(long)]
        notify_every: Option<u64>,
        /// Relay for those rounds, as for `notify --smtp`; without it they go to the outbox
        /// (DATA/outbox).
        #[arg(long, env = "BAKEN_SMTP")]
        smtp: Option<String>,
        /// Sender address of those rounds [default: NCSC baken <baken@ncsc.example>].
        #[arg(long)]
        from: Option<String>,
        /// A party (registry id) told at most once a day, in the first round after
        /// --daily-at; repeat for more.
        #[arg(long = "daily")]
        daily: Vec<String>,
        /// When a day's digest is due, HH:MM in UTC [default: 07:00].
        #[arg(long)]
        daily_at: Option<String>,
        /// A directory to take feeds and advisories in from: what is dropped in is
        /// ingested or imported and moved to DIR/ingested (or DIR/failed, with why).
        #[arg(long)]
        intake: Option<PathBuf>,
        /// Seconds between two looks at the intake directory [default: 10].
        #[arg(long)]
        intake_every: Option<u64>,
        /// Mark session cookies Secure (behind a TLS proxy that does not send
        /// X-Forwarded-Proto: https).
        #[arg(long)]
        secure_cookies: bool,
    },
    /// Webhooks of parties: each new or changed finding a party may see is POSTed, signed.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// API tokens of the service: each acts for one party, or for an analyst.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Recipients' replies: they acknowledge, or claim fixed, the findings of the messages
    /// they answer.
    Inbox {
        #[command(subcommand)]
        command: InboxCommand,
    },
    /// Incident reports of obligated organisations (NIS2 article 23): file a stage, list
    /// what is due or late, record the CSIRT's reply.
    IncidentReport {
        #[command(subcommand)]
        command: incident_report_cmds::IncidentReportCommand,
    },
    /// Lookalike domains: permutations of a name, and names that imitate protected ones.
    Lookalike {
        #[command(subcommand)]
        command: lookalike_cmds::LookalikeCommand,
    },
    /// The cyber dependency picture from declared inventories, the registry and routing data:
    /// vendors, countries, concentration, non-vital suppliers of vital providers; with
    /// --vendor, who would be affected and how they can be told.
    Dependencies(dependencies_cmds::DependenciesArgs),
    /// What a party may see of an incident as a STIX 2.1 bundle, a MISP event or IntelMQ
    /// events: the same sharing decision as a mail, audited as a disclosure.
    Export {
        #[command(subcommand)]
        command: export_cmds::ExportCommand,
    },
    /// Exercises: drills through the real chain, every message marked as one, measured per
    /// participant and sector.
    Exercise {
        #[command(subcommand)]
        command: exercise_cmds::ExerciseCommand,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Add a webhook for PARTY at URL; prints its signing secret as the last line.
    Add {
        /// The party (a registry id) whose findings it receives.
        party: String,
        /// Where events are POSTed (http:// or https://).
        url: String,
    },
    /// List the webhooks.
    List {
        /// Print them as JSON (with their secrets).
        #[arg(long)]
        json: bool,
    },
    /// Remove a webhook by its id.
    Remove {
        /// The id `webhook list` shows.
        id: i64,
    },
    /// Queue what changed and deliver what is due, once (`serve` does this every
    /// `--webhook-every` seconds).
    Deliver {
        /// The sharing policy that decides what each party receives.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        policy: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for PARTY (a registry id) and print it as the last line; it is stored
    /// only as a hash and cannot be shown again.
    Create {
        /// The party it acts for (with --analyst: the analyst's organisation).
        party: String,
        /// An analyst's token: sees everything.
        #[arg(long)]
        analyst: bool,
        /// How long it is valid: days (90d) or hours (12h); without it, until revoked.
        #[arg(long, value_parser = parse_validity)]
        expires: Option<chrono::Duration>,
    },
    /// List the tokens (never the tokens themselves).
    List {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The id `token list` shows.
        id: i64,
    },
}

/// `90d`, `12h`: how long a token is valid.
fn parse_validity(text: &str) -> Result<chrono::Duration, String> {
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("{text:?}: write a positive number of days or hours, e.g. 90d or 12h")
    })?;
    match unit {
        "d" => Ok(chrono::Duration::days(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        _ => Err(format!(
            "{text:?}: end with d (days) or h (hours), e.g. 90d or 12h"
        )),
    }
}

#[derive(Subcommand)]
enum InboxCommand {
    /// Read replies from a Maildir, an mbox file, a directory of .eml files or an .eml file;
    /// a reply matched to a message (In-Reply-To, References, or [baken#N] in the subject)
    /// acknowledges its findings, or claims them fixed when it plainly says so. Importing the
    /// same replies again changes nothing.
    Import {
        /// Maildir (with cur/ and new/), mbox file, directory of .eml files, or .eml file.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print every reply and the totals as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum FindingCommand {
    /// Show a finding, every observation of it, and its history.
    Show {
        /// The finding's id (from `baken findings`).
        id: i64,
        /// Print it as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Record that the recipient acknowledged these findings.
    Ack(Said),
    /// Record that the recipient says these findings are fixed (mitigation-claimed; a later
    /// scan without them makes them verified-fixed).
    Fixed(Said),
    /// Add a note to a finding's history.
    Note {
        /// The finding's id.
        id: i64,
        /// The note.
        text: String,
        /// Who wrote or said it.
        #[arg(long)]
        by: String,
    },
}

/// Findings and who said something about them.
#[derive(clap::Args)]
struct Said {
    /// The findings' ids (from `baken findings`).
    #[arg(required = true)]
    ids: Vec<i64>,
    /// Who said so: the analyst, or the recipient's contact.
    #[arg(long)]
    by: String,
    /// What was said, kept with the change.
    #[arg(long)]
    note: Option<String>,
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Replace the registry with the organisations in FILE (.toml, .json, .jsonl or .csv);
    /// prints how many were added, removed and changed. Refuses a file that would empty the
    /// registry or remove more than half of it, unless --replace-all.
    Import {
        /// The registry file.
        file: PathBuf,
        /// Replace the registry even if that empties it or removes more than half of it.
        #[arg(long)]
        replace_all: bool,
    },
    /// Import a prefix-to-AS table (CAIDA pfx2as, iptoasn, or prefix<TAB>asn).
    ImportRouting {
        /// The table files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Import RPSL split dumps (inetnum, inet6num, aut-num, role, organisation) for abuse contacts.
    ImportRpsl {
        /// The dump files, read together.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Record security contacts from the security.txt (RFC 9116) of registered domains of
    /// organisations that have none; each with its provenance and expiry, audited.
    DiscoverContacts(contacts_cmds::DiscoverArgs),
    /// Show who owns an IP address, AS number (AS64496) or domain name, and why.
    Lookup {
        /// The address, AS number or domain.
        query: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum IncidentCommand {
    /// Record when exploitation of an incident (or a CVE) began: findings still seen after
    /// it get, once fixed, a follow-up asking for a compromise assessment.
    Exploited {
        /// The incident or CVE (e.g. cve-2019-19781).
        incident: String,
        /// When exploitation began: an RFC 3339 time or a date (midnight UTC).
        #[arg(long)]
        since: String,
        /// Where that is known from.
        #[arg(long, default_value = "analyst")]
        source: String,
    },
}

#[derive(Subcommand)]
enum AdvisoryCommand {
    /// Import advisory files, or every .json file under a directory. CSAF documents are
    /// validated against the CSAF 2.0 schema and mandatory tests; a failing document is
    /// rejected whole with the JSON path of each problem. Every revision is kept.
    Import {
        /// CSAF 2.0 JSON schema (default: $BAKEN_CSAF_SCHEMA or ../shared/data/csaf/csaf_schema_2.0.json).
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show an advisory: title, publisher, TLP, CVEs, scores explained, products,
    /// remediations and the severity history of its revisions.
    Show {
        /// The advisory id (CSAF tracking id, CVE id, OSV id).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the stored advisories (latest revision of each).
    List,
    /// Follow CSAF 2.0 discovery from a provider (provider-metadata.json URL or domain):
    /// fetch what changed since the last sync, check each document's SHA-256/SHA-512 file
    /// and OpenPGP signature, import it, and report what was skipped or refused and why.
    Sync {
        /// provider-metadata.json URL, or a domain (https://DOMAIN/.well-known/csaf/provider-metadata.json).
        source: String,
        /// CSAF 2.0 JSON schema (default as for import).
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Import documents that have no hash file (they are skipped by default).
        #[arg(long)]
        accept_unhashed: bool,
        /// Allow plain http:// to hosts other than loopback.
        #[arg(long)]
        allow_http: bool,
        /// Refuse documents without an OpenPGP signature (they are imported with a
        /// warning by default; a signature that does not verify is always refused).
        #[arg(long)]
        require_signatures: bool,
    },
    /// Author a CSAF 2.0 advisory from a CVE and the products it affects (or an edited
    /// CSAF document with --from), validated and stored.
    New(advisory_cmds::NewArgs),
    /// Publish stored TLP:WHITE CSAF advisories as a CSAF 2.0 provider directory: the
    /// documents by year with hashes and OpenPGP signatures, index.txt, changes.csv, the
    /// ROLIE feed, the public key and provider-metadata.json.
    Publish(advisory_cmds::PublishArgs),
}

/// Which incident's plan, under which policy: shared by `why` and `coverage`.
#[derive(clap::Args)]
struct PlanArgs {
    /// The incident (e.g. cve-2019-19781).
    #[arg(long)]
    incident: String,
    /// Sharing policy: nl-2020, nl-dtc-oktt, or a policy file.
    #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
    policy: String,
    /// TLP label of findings stored without one.
    #[arg(long, default_value = "AMBER", value_parser = parse_tlp)]
    tlp: Tlp,
}

#[derive(Subcommand)]
enum InventoryCommand {
    /// Replace what ORG declared in FILE: CSV (cpe or purl, version, optional host/ip, name),
    /// CycloneDX 1.5/1.6 JSON, or SPDX 2.3 JSON. With --dir or --manifest, many
    /// organisations at once, in one transaction, all or nothing.
    Import {
        /// The organisation's registry id.
        #[arg(required_unless_present_any = ["dir", "manifest"], requires = "file")]
        org: Option<String>,
        /// The inventory file.
        file: Option<PathBuf>,
        /// A directory of inventories named after their organisations (org-42.csv,
        /// org-42.cdx.json, org-42.spdx.json).
        #[arg(long, conflicts_with_all = ["org", "manifest"])]
        dir: Option<PathBuf>,
        /// A manifest: CSV with the columns org,file or TOML with [[inventory]] org, file.
        #[arg(long, conflicts_with = "org")]
        manifest: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain, every signed checkpoint and the witnesses given; names the first
    /// edited, deleted, inserted or reordered entry, and entries removed from the end or
    /// rewritten since a checkpoint or witness. Prints the head.
    Verify {
        /// Also require this head hash (from an earlier verify or export).
        #[arg(long)]
        head: Option<String>,
        /// A head a recipient holds, SEQ:HASH (a message's X-Baken-Audit-Head); repeatable.
        #[arg(long, value_parser = parse_witness)]
        witness: Vec<baken_store::audit::Witness>,
        /// A delivered message (.eml) whose X-Baken-Audit-Head to check; repeatable.
        #[arg(long)]
        witness_eml: Vec<PathBuf>,
        /// Require every checkpoint to be signed by this Ed25519 public key (hex), kept
        /// elsewhere than the data directory.
        #[arg(long)]
        key: Option<String>,
    },
    /// Sign the log's current head with DATA/audit.key (made on first use) and keep the
    /// checkpoint in the store and in DATA/audit.checkpoints.
    Checkpoint,
    /// Write the log as JSON lines (to standard output, or FILE).
    Export {
        /// Output file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per line.
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// Citrix ADC / Gateway, CVE-2019-19781, January 2020.
    #[value(name = "citrix-2020")]
    Citrix2020,
}

fn parse_feed(s: &str) -> Result<FeedKind, String> {
    s.parse()
}

fn parse_tlp(s: &str) -> Result<Tlp, String> {
    s.parse()
        .map_err(|e: baken_model::ParseTlpError| e.to_string())
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }

    fn shows_total(&self) -> bool {
        !self.0.is_hidden()
    }

    fn expect(&self, n: u64) {
        match self.0.length() {
            // a spinner becomes a bar once there is a total
            None => {
                self.0.set_style(bar_style());
                self.0.set_length(n);
            }
            Some(_) => self.0.inc_length(n),
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
        .expect("valid template")
        .progress_chars("=> ")
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn bar(label: &str, total: Option<u64>) -> Box<dyn Progress> {
    let pb = match total {
        Some(n) => ProgressBar::new(n).with_style(bar_style()),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{prefix:>8} {spinner} {pos} {per_sec}")
                .expect("valid template"),
        ),
    };
    pb.set_prefix(label.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    Box::new(Bar(pb))
}

/// The variable that sets the clock for a replay or an exercise (see `baken_store::set_clock`).
const CLOCK_ENV: &str = "BAKEN_CLOCK";

/// Sets the replayed clock from `$BAKEN_CLOCK` (RFC 3339), saying so on standard error.
fn replay_clock() -> Result<()> {
    let Ok(text) = std::env::var(CLOCK_ENV) else {
        return Ok(());
    };
    let at = chrono::DateTime::parse_from_rfc3339(&text)
        .with_context(|| format!("${CLOCK_ENV}: {text:?} is not an RFC 3339 time"))?;
    baken_store::set_clock(Some(at.with_timezone(&chrono::Utc)));
    eprintln!("baken: the clock reads {text} (set by ${CLOCK_ENV}: a replay or an exercise)");
    Ok(())
}

/// How log lines are written.
#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Logs `tracing` events to standard error, filtered by `$RUST_LOG` (default: warnings and
/// errors only; a directive it cannot read is left out).
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(tracing_subscriber::filter::LevelFilter::WARN.into())
        .from_env_lossy();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// `--store`: a store URL, or nothing (`BAKEN_STORE=`) for the default.
#[derive(Clone)]
struct StoreArg(Option<baken_store::StoreUrl>);

fn parse_store_url(text: &str) -> std::result::Result<StoreArg, String> {
    if text.is_empty() {
        return Ok(StoreArg(None));
    }
    baken_store::StoreUrl::parse(text).map(|url| StoreArg(Some(url)))
}

fn main() {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    if let Err(e) = replay_clock().and_then(|()| run(cli)) {
        if out::is_closed_pipe(&e) {
            out::closed();
        }
        // Causes are printed once: many errors already quote their cause in their message.
        let mut message = e.to_string();
        for cause in e.chain().skip(1) {
            let cause = cause.to_string();
            if !message.contains(&cause) {
                message.push_str(": ");
                message.push_str(&cause);
            }
        }
        eprintln!("baken: error: {message}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let store = cli.store.clone().and_then(|s| s.0);
    if let Some(url) = &store {
        baken_app::select_store(url.clone());
    }
    match cli.command {
        Command::Parse {
            feed,
            report,
            schema,
            format: Format::Jsonl,
            raw,
            threads,
            lenient,
            allow_rejected,
            file,
        } => {
            let options = Options {
                report,
                schema,
                raw,
                observation_time: None,
                strict: !lenient,
            };
            cmd_parse(feed, &options, threads, allow_rejected, &file)
        }
        Command::Registry { command } => cmd_registry(&cli.data, command),
        Command::Ingest {
            feed,
            report,
            schema,
            batch,
            tlp,
            supplied_by,
            policy,
            json,
            via,
            work,
            files,
        } => {
            if batch == 0 {
                bail!("--batch must be at least 1");
            }
            alloc::streaming();
            let mut app = App::open(&cli.data)?;
            let label = baken_store::Label { tlp, supplied_by };
            let settings = app.ingest_settings(&policy, label, batch)?;
            let options = Options {
                report,
                schema,
                raw: false,
                observation_time: None,
                strict: false,
            };
            let mut ingest_one: work_cmds::IngestOne<'_> = match via {
                Some(url) => work_cmds::coordinator(&mut app, &url, &work, &options, &settings)?,
                None => Box::new(|input: &Input| {
                    let progress = bar("ingest", None);
                    Ok(app.ingest(input, &options, &settings, progress.as_ref())?)
                }),
            };
            cmd_ingest(&mut *ingest_one, feed, json, &files)
        }
        Command::Worker(args) => {
            alloc::streaming();
            work_cmds::worker(&cli.data, &args)
        }
        Command::Notify {
            incident,
            smtp,
            outbox,
            from,
            tlp,
            policy,
            to,
            resend_uncertain,
            sign_key,
            json,
            via,
            work,
        } => {
            let mut app = App::open(&cli.data)?;
            if let Some(path) = &sign_key {
                let passphrase = std::env::var(SIGN_KEY_PASSPHRASE_ENV).ok();
                app.set_signing_key(path, passphrase.as_deref())?;
            }
            // with --via the workers deliver, and nothing is sent from here
            let (mut transport, idempotent, described) = match &via {
                Some(_) => (
                    None,
                    smtp.is_none(),
                    work_cmds::described(smtp.as_deref(), outbox.as_deref(), &cli.data)?,
                ),
                None => {
                    let (t, idempotent) = transport(smtp.as_deref(), outbox.clone(), &cli.data)?;
                    let described = t.describe();
                    (Some(t), idempotent, described)
                }
            };
            let request = NotifyRequest {
                incident,
                from,
                tlp,
                policy,
                named: to,
                idempotent_transport: idempotent,
                resend_uncertain,
                daily: None,
            };
            let progress = bar("notify", None);
            // without --via a transport is made here; with it the workers deliver
            let report = match transport.as_mut() {
                Some(transport) => app
                    .notify(&request, transport.as_mut(), progress.as_ref())
                    .map_err(anyhow::Error::from),
                None => work_cmds::notify(
                    &mut app,
                    via.as_deref().unwrap_or_default(),
                    &work,
                    &request,
                    smtp.as_deref(),
                    outbox.as_deref(),
                    &cli.data,
                    progress.as_ref(),
                ),
            }
            .map_err(|e| match e.downcast::<AppError>() {
                // the flag that names the recipients
                Ok(AppError::NotFound(m)) => anyhow::anyhow!("--to {m}"),
                Ok(e) => e.into(),
                Err(e) => e,
            })?;
            drop(progress);
            if json {
                println!("{}", serde_json::to_string_pretty(&report.incidents)?);
            } else {
                for (o, in_all) in report.incidents.iter().zip(&report.sent_in_all) {
                    let new = o.digests.iter().filter(|d| d.delivered_now).count();
                    let follow_ups = o
                        .digests
                        .iter()
                        .filter(|d| d.delivered_now && d.kind == baken_store::MessageKind::FollowUp)
                        .count();
                    let unreachable: Vec<_> = o
                        .affected
                        .iter()
                        .filter_map(|a| Some((a, a.unreachable_reason()?)))
                        .collect();
                    println!(
                        "{} (policy {}): {} findings, {} parties affected, {new} messages sent now \
                         ({} first, {follow_ups} follow-ups; {in_all} in all), {} parties unreachable",
                        o.incident,
                        o.policy,
                        o.findings,
                        o.affected.len(),
                        new - follow_ups,
                        unreachable.len()
                    );
                    print_protection(o);
                    for d in o
                        .digests
                        .iter()
                        .filter(|d| d.state != baken_store::MessageState::Sent)
                    {
                        println!(
                            "  {} <{}>: {}: {}",
                            d.party,
                            d.recipient,
                            d.state.as_str(),
                            d.detail
                        );
                    }
                    for (a, reason) in unreachable.iter().take(20) {
                        println!("  unreachable {}: {reason} ({} findings)", a.id, a.findings);
                    }
                    if unreachable.len() > 20 {
                        println!(
                            "  … {} more; `baken coverage --incident {}` lists them all",
                            unreachable.len() - 20,
                            o.incident
                        );
                    }
                }
                println!(
                    "delivered through {}",
                    transport.as_ref().map_or(described, |t| t.describe())
                );
            }
            if !report.undelivered.is_empty() {
                bail!(
                    "{} message(s) not delivered:\n  {}",
                    report.undelivered.len(),
                    report.undelivered.join("\n  ")
                );
            }
            Ok(())
        }
        Command::Advisory { command } => cmd_advisory(&cli.data, command),
        Command::Incident {
            command:
                IncidentCommand::Exploited {
                    incident,
                    since,
                    source,
                },
        } => {
            let at = parse_since(&since).map_err(|e| anyhow::anyhow!("--since {e}"))?;
            let (recorded, from) = App::open(&cli.data)?.mark_exploited(&incident, at, &source)?;
            println!(
                "{}: exploitation began {} ({from})",
                incident.to_ascii_lowercase(),
                baken_store::keys::format_time(recorded)
            );
            Ok(())
        }
        Command::Cvss { vector, json } => cmd_cvss(&vector, json),
        Command::Audit { command } => cmd_audit(&cli.data, command),
        Command::Store { command } => store_cmds::cmd_store(&cli.data, store.as_ref(), command),
        Command::Inventory {
            command:
                InventoryCommand::Import {
                    org,
                    file,
                    dir,
                    manifest,
                },
        } => {
            let source = dir
                .map(baken_app::InventorySource::Dir)
                .or(manifest.map(baken_app::InventorySource::Manifest));
            let bar = || bar("files", Some(0));
            inventory_cmds::import(&cli.data, org.zip(file), source, &bar)
        }
        Command::Exposure {
            advisory,
            no_record,
            json,
        } => {
            let r = App::open(&cli.data)?.exposure(&advisory, !no_record)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "{} — {}",
                r.advisory,
                r.title.as_deref().unwrap_or("(no title)")
            );
            println!("  CVEs       {}", r.cves.join(", "));
            if let (Some(score), Some(vector)) = (r.highest_score, &r.vector) {
                println!(
                    "  severity   {score:.1} {} on a scale of 0.0 to 10.0 ({vector})",
                    r.severity.as_deref().unwrap_or("")
                );
            }
            println!(
                "  affected   {} organisations ({} vital, {} non-vital), {} hosts; {} more with matches of unknown status",
                r.affected_orgs, r.vital, r.non_vital, r.hosts, r.unknown_orgs
            );
            if r.unregistered_hosts + r.unattributed_hosts > 0 {
                println!(
                    "             and {} addresses nobody registered ({} with no known holder)",
                    r.unregistered_hosts + r.unattributed_hosts,
                    r.unattributed_hosts
                );
            }
            for (sector, n) in &r.by_sector {
                println!("             {sector:<18} {n:>5}");
            }
            println!("  evidence");
            for (kind, n) in &r.by_evidence {
                println!("             {kind:<18} {n:>5} matches");
            }
            if !no_record {
                println!(
                    "  recorded   {} new findings for incident {}; `baken notify --incident {}` tells each organisation",
                    r.recorded,
                    baken_pipeline::exposure::advisory_incident(&r.advisory),
                    baken_pipeline::exposure::advisory_incident(&r.advisory)
                );
            }
            Ok(())
        }
        Command::Demo {
            scenario: Scenario::Citrix2020,
            orgs,
            seed,
            out,
            smtp: _,
            policy,
            days: Some(days),
            json,
        } => cmd_demo_days(&cli.data, Params { orgs, seed }, days, out, &policy, json),
        Command::Demo {
            scenario: Scenario::Citrix2020,
            orgs,
            seed,
            out,
            smtp,
            policy,
            days: None,
            json,
        } => cmd_demo(&cli.data, orgs, seed, out, smtp.as_deref(), &policy, json),
        Command::Why { target, plan, json } => policy_cmds::why(
            &cli.data,
            &target,
            &plan.incident,
            &plan.policy,
            plan.tlp,
            json,
        ),
        Command::Whatif {
            policy,
            against,
            incident,
            tlp,
            json,
        } => policy_cmds::whatif(&cli.data, &policy, &against, &incident, tlp, json),
        Command::Coverage { plan, json } => {
            policy_cmds::coverage(&cli.data, &plan.incident, &plan.policy, plan.tlp, json)
        }
        Command::Prune {
            policy,
            now,
            dry_run,
        } => policy_cmds::prune(&cli.data, &policy, now.as_deref(), dry_run),
        Command::Token { command } => cmd_token(&cli.data, command),
        Command::Webhook { command } => cmd_webhook(&cli.data, command),
        Command::Serve {
            config,
            listen,
            policy,
            webhook_every,
            max_failed_logins,
            notify_every,
            smtp,
            from,
            daily,
            daily_at,
            intake,
            intake_every,
            secure_cookies,
        } => {
            let file = match &config {
                Some(path) => baken_server::Config::read(path).map_err(anyhow::Error::msg)?,
                None => baken_server::Config::default(),
            };
            let (serve, notify) = (file.serve, file.notify);
            let daily = if daily.is_empty() {
                notify.daily
            } else {
                daily
            };
            let daily_at = daily_at
                .or(notify.daily_at)
                .unwrap_or_else(|| "07:00".into());
            let at = baken_server::config::parse_time_of_day(&daily_at)
                .map_err(|e| anyhow::anyhow!("--daily-at: {e}"))?;
            cmd_serve(
                &cli.data,
                &listen
                    .or(serve.listen)
                    .unwrap_or_else(|| "127.0.0.1:8080".into()),
                &policy.or(serve.policy).unwrap_or_else(|| "nl-2020".into()),
                Schedule {
                    webhook_every: webhook_every.or(serve.webhook_every).unwrap_or(30),
                    max_failed_logins: max_failed_logins.or(serve.max_failed_logins).unwrap_or(10),
                    notify_every: notify_every.or(notify.every).unwrap_or(0),
                    smtp: smtp.or(notify.smtp),
                    from: from
                        .or(notify.from)
                        .unwrap_or_else(|| "NCSC baken <baken@ncsc.example>".into()),
                    daily: (!daily.is_empty())
                        .then_some(baken_app::DailyDigest { parties: daily, at }),
                    intake: intake.or(serve.intake),
                    intake_every: intake_every.or(serve.intake_every).unwrap_or(10),
                    secure_cookies: secure_cookies || serve.secure_cookies.unwrap_or(false),
                    sign_key: notify.sign_key,
                },
            )
        }
        Command::Inbox {
            command: InboxCommand::Import { paths, json },
        } => inbox_cmds::import(&cli.data, &paths, json),
        Command::Lookalike { command } => lookalike_cmds::run(&cli.data, command),
        Command::IncidentReport { command } => incident_report_cmds::run(&cli.data, command),
        Command::Dependencies(args) => dependencies_cmds::run(&cli.data, args),
        Command::Export { command } => export_cmds::run(&cli.data, command),
        Command::Exercise { command } => exercise_cmds::run(&cli.data, command),
        Command::Report {
            incident,
            policy,
            tlp,
            exploited_since,
            html,
            json,
        } => report_cmds::report(
            &cli.data,
            &incident,
            &policy,
            tlp,
            exploited_since.as_deref(),
            html.as_deref(),
            json,
        ),
        Command::Timeline { incident, json } => report_cmds::timeline(&cli.data, &incident, json),
        Command::Indicators { sector, json } => {
            report_cmds::indicators(&cli.data, sector.as_deref(), json)
        }
        Command::Findings {
            incident,
            org,
            state,
            since,
            json,
        } => cmd_findings(&cli.data, incident, org, state, since.as_deref(), json),
        Command::Finding { command } => match command {
            FindingCommand::Show { id, json } => cmd_finding_show(&cli.data, id, json),
            FindingCommand::Ack(said) => {
                cmd_finding_said(&cli.data, Some(FindingState::Acknowledged), said)
            }
            FindingCommand::Fixed(said) => {
                cmd_finding_said(&cli.data, Some(FindingState::MitigationClaimed), said)
            }
            FindingCommand::Note { id, text, by } => cmd_finding_said(
                &cli.data,
                None,
                Said {
                    ids: vec![id],
                    by,
                    note: Some(text),
                },
            ),
        },
    }
}

/// What `serve` does besides answering requests.
struct Schedule {
    webhook_every: u64,
    max_failed_logins: usize,
    notify_every: u64,
    smtp: Option<String>,
    from: String,
    daily: Option<baken_app::DailyDigest>,
    intake: Option<PathBuf>,
    intake_every: u64,
    secure_cookies: bool,
    sign_key: Option<PathBuf>,
}

fn cmd_serve(data: &Path, listen: &str, policy: &str, schedule: Schedule) -> Result<()> {
    let Schedule {
        webhook_every,
        max_failed_logins,
        notify_every,
        smtp,
        from,
        daily,
        intake,
        intake_every,
        secure_cookies,
        sign_key,
    } = schedule;
    if let Some(url) = &smtp {
        // a relay URL that cannot work fails here, not at the first round
        Smtp::from_url(url)?;
    }
    let mut app = App::open(data)?;
    // a policy that cannot be read fails here, not at the first request
    app.policy(policy)?;
    if let Some(path) = &sign_key {
        let passphrase = std::env::var(SIGN_KEY_PASSPHRASE_ENV).ok();
        app.set_signing_key(path, passphrase.as_deref())?;
    }
    if let Some(daily) = &daily {
        let attributor = app.attributor()?;
        for party in &daily.parties {
            if attributor
                .organisation(&baken_model::OrgId(party.clone()))
                .is_none()
            {
                anyhow::bail!("--daily {party}: no organisation with that id in the registry");
            }
        }
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the service's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        eprintln!(
            "baken serves {} (store {}) on http://{address}/ (pages; the API under /api/v1) under policy {policy}; stop with Ctrl-C or SIGTERM",
            data.display(),
            baken_app::store_url(data)?
        );
        let state = baken_server::State::new(app, policy)
            .with_failed_login_limit(max_failed_logins)
            .with_secure_cookies(secure_cookies);
        if let Some(dir) = intake {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the intake directory {}", dir.display()))?;
            tokio::spawn(baken_server::intake(
                state.clone(),
                dir,
                std::time::Duration::from_secs(intake_every.max(1)),
            ));
        }
        if notify_every > 0 {
            let delivery = match smtp {
                Some(url) => baken_server::Delivery::Smtp(url),
                None => baken_server::Delivery::Outbox(data.join("outbox")),
            };
            tokio::spawn(baken_server::notify_rounds(
                state.clone(),
                std::time::Duration::from_secs(notify_every),
                delivery,
                from,
                daily,
            ));
        }
        if webhook_every > 0 {
            tokio::spawn(baken_server::webhooks(
                state.clone(),
                std::time::Duration::from_secs(webhook_every),
            ));
        }
        baken_server::serve(listener, state).await.context("serving")
    })
}

fn cmd_webhook(data: &Path, command: WebhookCommand) -> Result<()> {
    let mut app = App::open(data)?;
    match command {
        WebhookCommand::Add { party, url } => {
            let hook = app.add_webhook(&party, &url)?;
            println!(
                "webhook {} for {} at {}; its signing secret (Standard Webhooks):",
                hook.id, hook.party, hook.url
            );
            println!("{}", hook.secret);
        }
        WebhookCommand::List { json } => {
            let hooks = app.webhooks()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hooks)?);
            } else {
                for h in &hooks {
                    println!(
                        "{:>4}  {:<24} {}  added {}",
                        h.id, h.party, h.url, h.created_at
                    );
                }
            }
        }
        WebhookCommand::Remove { id } => {
            app.remove_webhook(id)?;
            println!("webhook {id} removed");
        }
        WebhookCommand::Deliver { policy } => {
            let now = chrono::Utc::now().timestamp();
            let pass = app.webhook_pass(&policy, now)?;
            println!(
                "{} events queued, {} delivered, {} failed (tried again later)",
                pass.queued, pass.delivered, pass.failed
            );
        }
    }
    Ok(())
}

fn cmd_token(data: &Path, command: TokenCommand) -> Result<()> {
    let mut app = App::open(data)?;
    match command {
        TokenCommand::Create {
            party,
            analyst,
            expires,
        } => {
            let (record, token) = app.create_token(&party, analyst, expires)?;
            println!(
                "token {} for {}{}, {}; keep it now, it is not shown again:",
                record.id,
                record.party,
                if record.analyst { " (analyst)" } else { "" },
                match &record.expires_at {
                    Some(t) => format!("valid until {t}"),
                    None => "valid until revoked".into(),
                }
            );
            println!("{token}");
        }
        TokenCommand::List { json } => {
            let tokens = app.tokens()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                for t in &tokens {
                    println!(
                        "{:>4}  {:<24} {:<8} created {}  {}",
                        t.id,
                        t.party,
                        if t.analyst { "analyst" } else { "party" },
                        t.created_at,
                        match (&t.revoked_at, &t.expires_at) {
                            (Some(r), _) => format!("revoked {r}"),
                            (None, Some(e)) => format!("expires {e}"),
                            (None, None) => "no expiry".into(),
                        }
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            app.revoke_token(id)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

fn transport(
    smtp: Option<&str>,
    outbox: Option<PathBuf>,
    data: &Path,
) -> Result<(Box<dyn Transport>, bool)> {
    Ok(match smtp {
        Some(url) => (Box::new(Smtp::from_url(url)?), false),
        None => {
            let dir = outbox.unwrap_or_else(|| data.join("outbox"));
            (Box::new(Outbox::new(dir)?), true)
        }
    })
}

/// `baken parse`: events on standard output; each rejected row, then a summary (events,
/// rejected rows, what was altered as IntelMQ alters it) on standard error. Fails when a
/// row was rejected, unless `allow_rejected`.
fn cmd_parse(
    feed: FeedKind,
    options: &Options,
    threads: Option<usize>,
    allow_rejected: bool,
    file: &Path,
) -> Result<()> {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
    let (mut ok, mut bad) = (0u64, 0u64);
    let mut altered = baken_feeds::Alterations::default();
    let mut closed = false;
    // each chunk of rows becomes JSON lines and messages on a worker thread (one event and
    // one buffer refilled row after row); here they are written in the file's order
    baken_feeds::par_chunks(
        feed,
        file,
        options,
        threads,
        |rows| {
            let mut event = baken_feeds::Event::new();
            let mut lines = Vec::with_capacity(1 << 20);
            let mut errors = Vec::new();
            let mut n = 0u64;
            while let Some(row) = rows.next_into(&mut event) {
                match row.outcome {
                    Ok(()) => {
                        n += 1;
                        event.write_json_line(&mut lines);
                        lines.push(b'\n');
                    }
                    Err(e) => errors.push(format!("{}:{}: {e}", file.display(), row.line)),
                }
            }
            (lines, n, errors, rows.take_alterations())
        },
        |(lines, n, errors, chunk_altered)| {
            ok += n;
            bad += errors.len() as u64;
            altered.add(chunk_altered);
            for e in errors {
                eprintln!("{e}");
            }
            // stdout closed (e.g. piped into head): stop
            closed = out.write_all(&lines).is_err();
            !closed
        },
    )?;
    if !closed {
        out.flush().ok();
    }
    let mode = if options.strict { "strict" } else { "lenient" };
    eprintln!(
        "{}: {} events, {} rows rejected ({mode}){}",
        file.display(),
        ok,
        bad,
        ingest::altered_note(&altered)
    );
    if bad > 0 && !allow_rejected && !closed {
        let lenient = if options.strict {
            ", or --lenient to keep rows with an invalid required field as IntelMQ does"
        } else {
            ""
        };
        bail!(
            "{}: {bad} of {} rows rejected (listed above); pass --allow-rejected to accept \
             that{lenient}",
            file.display(),
            ok + bad
        );
    }
    Ok(())
}

fn cmd_registry(data: &Path, command: RegistryCommand) -> Result<()> {
    let mut app = App::open(data)?;
    match command {
        RegistryCommand::Import { file, replace_all } => {
            let r = match app.import_registry(&file, replace_all) {
                Err(AppError::Pipeline(
                    e @ baken_pipeline::PipelineError::RegistryShrinks { .. },
                )) => {
                    bail!("{e}; to replace the registry anyway, pass --replace-all")
                }
                r => r?,
            };
            println!(
                "{} organisations imported from {}: {} added, {} removed, {} changed, {} unchanged",
                r.organisations,
                file.display(),
                r.added,
                r.removed,
                r.changed,
                r.unchanged
            );
        }
        RegistryCommand::ImportRouting { files } => {
            for file in files {
                let r = app.import_routing(&file)?;
                println!(
                    "{}: {} prefixes imported, {} lines skipped",
                    file.display(),
                    r.entries,
                    r.skipped.len()
                );
                for s in r.skipped.iter().take(10) {
                    eprintln!("  skipped {s}");
                }
                if r.skipped.len() > 10 {
                    eprintln!("  … {} more skipped", r.skipped.len() - 10);
                }
            }
        }
        RegistryCommand::ImportRpsl { files } => {
            let r = app.import_rpsl(&files)?;
            println!(
                "{} abuse records imported, {} objects without an abuse mailbox, {} skipped",
                r.entries,
                r.without_contact,
                r.skipped.len()
            );
            for s in r.skipped.iter().take(10) {
                eprintln!("  skipped {s}");
            }
            if r.skipped.len() > 10 {
                eprintln!("  … {} more skipped", r.skipped.len() - 10);
            }
        }
        RegistryCommand::DiscoverContacts(args) => contacts_cmds::discover(&mut app, args)?,
        RegistryCommand::Lookup { query, json } => {
            let attributor = app.attributor()?;
            let lookup = attributor.lookup(&query)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&lookup_json(&attributor, &lookup))?
                );
            } else {
                print_lookup(&attributor, &lookup);
            }
        }
    }
    Ok(())
}

fn owner_line(attributor: &baken_attribute::Attributor, owner: &baken_model::Owner) -> String {
    match owner {
        baken_model::Owner::Organisation { id } => match attributor.organisation(id) {
            Some(o) => format!(
                "{id} {} ({}{}{})",
                o.name,
                o.sector.as_deref().unwrap_or("no sector"),
                if o.vital { ", vital" } else { "" },
                o.notification_contact()
                    .map(|c| format!(", contact {}", c.email))
                    .unwrap_or_else(|| ", no contact".into())
            ),
            None => id.to_string(),
        },
        baken_model::Owner::Abuse(c) => format!(
            "abuse contact {}{}",
            c.email,
            c.holder
                .as_deref()
                .map(|h| format!(" of {h}"))
                .unwrap_or_default()
        ),
        baken_model::Owner::Unknown => "nobody".into(),
    }
}

fn print_lookup(attributor: &baken_attribute::Attributor, lookup: &baken_attribute::Lookup) {
    println!("{}", lookup.query);
    println!(
        "  owner: {}",
        owner_line(attributor, &lookup.attribution.owner)
    );
    println!(
        "  rule:  {} — {}",
        lookup.attribution.rule.as_str(),
        lookup.attribution.reason
    );
    if !lookup.candidates.is_empty() {
        println!("  everything that matched, in rule order:");
        for c in &lookup.candidates {
            println!(
                "    {:<15} {:<28} {}: {}",
                c.rule.as_str(),
                c.matched,
                owner_line(attributor, &c.owner),
                c.note
            );
        }
    }
}

fn lookup_json(
    attributor: &baken_attribute::Attributor,
    lookup: &baken_attribute::Lookup,
) -> serde_json::Value {
    let org = match &lookup.attribution.owner {
        baken_model::Owner::Organisation { id } => attributor
            .organisation(id)
            .map(|o| serde_json::to_value(o).expect("organisations serialise")),
        _ => None,
    };
    let candidates: Vec<_> = lookup
        .candidates
        .iter()
        .map(|c| {
            serde_json::json!({
                "rule": c.rule, "matched": c.matched, "owner": c.owner, "note": c.note,
            })
        })
        .collect();
    serde_json::json!({
        "query": lookup.query.to_string(),
        "attribution": lookup.attribution,
        "organisation": org,
        "candidates": candidates,
    })
}

#[allow(clippy::too_many_arguments)] // one per command-line option
/// Ingests `files` one by one with `ingest_one` (here, or through workers) and prints what
/// each gave.
fn cmd_ingest(
    ingest_one: &mut dyn FnMut(&Input) -> Result<ingest::FileSummary>,
    feed: Option<FeedKind>,
    json: bool,
    files: &[PathBuf],
) -> Result<()> {
    let mut summaries = Vec::new();
    for file in files {
        let feed = match feed {
            Some(f) => f,
            None => ingest::guess_feed(file)?,
        };
        let summary = ingest_one(&Input {
            path: file.clone(),
            feed,
        })?;
        if !json {
            println!(
                "{}: read {} = stored {} + duplicate {} + quarantined {}; {} new findings",
                summary.file,
                summary.read,
                summary.stored,
                summary.duplicate,
                summary.quarantined,
                summary.new_findings
            );
            if summary.reopened + summary.missing > 0 {
                println!(
                    "  {} seen again after being fixed (reopened); {} earlier findings of this \
                     report type not in it, {} of them now verified fixed",
                    summary.reopened, summary.missing, summary.verified_fixed
                );
            }
            if !summary.altered.is_empty() {
                println!(
                    "  altered as IntelMQ alters them: {}",
                    summary.altered.phrases().join(", ")
                );
            }
            for q in &summary.quarantine_samples {
                println!("  quarantined {q}");
            }
        }
        summaries.push(summary);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    }
    let all_rejected: Vec<&str> = summaries
        .iter()
        .filter(|s| s.read > 0 && s.quarantined == s.read)
        .map(|s| s.file.as_str())
        .collect();
    if !all_rejected.is_empty() {
        bail!(
            "every row was quarantined in {}; check --feed and the reasons above (baken parse shows them all)",
            all_rejected.join(", ")
        );
    }
    Ok(())
}

fn parse_state(s: &str) -> Result<baken_store::FindingState, String> {
    baken_store::FindingState::parse(s).ok_or_else(|| {
        let all: Vec<&str> = baken_store::FindingState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        format!("unknown state {s:?}; use one of {}", all.join(", "))
    })
}

fn cmd_findings(
    data: &Path,
    incident: Option<String>,
    org: Option<String>,
    state: Option<baken_store::FindingState>,
    since: Option<&str>,
    json: bool,
) -> Result<()> {
    let query = baken_store::FindingQuery {
        incident,
        org,
        state,
        since: since
            .map(parse_since)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--since {e}"))?,
        id: None,
    };
    let views = App::open(data)?.findings(&query)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !json {
        writeln!(
            out,
            "{:>8}  {:<16} {:<28} {:<24} {:<6} {:<20} {:<20} {:>5}",
            "id", "incident", "address", "owner", "state", "first seen", "last seen", "seen"
        )?;
    }
    for view in &views {
        if json {
            serde_json::to_writer(&mut out, view)?;
            writeln!(out)?;
        } else {
            let host = view
                .source_ip
                .clone()
                .or(view.source_fqdn.clone())
                .unwrap_or_default();
            let addr = match (view.source_port, view.protocol_transport.as_deref()) {
                (None, _) => host,
                (Some(p), None) => format!("{host}:{p}"),
                (Some(p), Some(t)) => format!("{host}:{p}/{t}"),
            };
            let owner = view
                .org
                .clone()
                .or(view.abuse.clone().map(|a| format!("abuse {a}")))
                .unwrap_or_else(|| "unknown".into());
            writeln!(
                out,
                "{:>8}  {:<16} {:<28} {:<24} {:<6} {:<20} {:<20} {:>5}",
                view.id,
                view.incident,
                addr,
                owner,
                view.state,
                view.first_seen,
                view.last_seen,
                view.times_seen
            )?;
        }
    }
    if !json {
        writeln!(out, "{} finding(s)", views.len())?;
    }
    out.flush()?;
    Ok(())
}

/// `finding ack|fixed|note`: records what a recipient or analyst said, per finding; fails
/// when any finding is unknown or refuses the change (the others are recorded).
fn cmd_finding_said(data: &Path, to: Option<FindingState>, said: Said) -> Result<()> {
    let request = baken_app::Said {
        ids: said.ids,
        to,
        by: said.by,
        note: said.note,
    };
    let outcomes = App::open(data)?.said(&request)?;
    for o in &outcomes {
        let id = o.id;
        match &o.result {
            SaidResult::Applied { from, to: now } if to.is_some() => {
                println!("finding {id}: {} → {}", from.as_str(), now.as_str())
            }
            SaidResult::Applied { from, .. } => {
                println!("finding {id}: note added ({})", from.as_str())
            }
            SaidResult::Already { state, why } => {
                println!("finding {id}: unchanged ({}): {why}", state.as_str())
            }
            SaidResult::Refused { from, why } => {
                println!("finding {id}: unchanged ({}): {why}", from.as_str())
            }
            SaidResult::NoSuchFinding => {
                println!("finding {id}: no such finding; `baken findings` lists them")
            }
        }
    }
    let refused = outcomes.iter().filter(|o| o.failed()).count();
    if refused > 0 {
        bail!("{refused} of {} findings not changed", outcomes.len());
    }
    Ok(())
}

fn cmd_finding_show(data: &Path, id: i64, json: bool) -> Result<()> {
    let detail = App::open(data)?.finding(id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(());
    }
    let f = &detail.finding;
    println!("finding {} of {}", f.id, f.incident);
    let addr = f
        .source_ip
        .clone()
        .or(f.source_fqdn.clone())
        .unwrap_or_else(|| "-".into());
    let port = f.source_port.map(|p| format!(":{p}")).unwrap_or_default();
    let transport = f
        .protocol_transport
        .as_deref()
        .map(|t| format!("/{t}"))
        .unwrap_or_default();
    println!("  address     {addr}{port}{transport}");
    println!(
        "  owner       {} (rule {}: {})",
        f.org
            .clone()
            .or(f.abuse.clone())
            .unwrap_or_else(|| "unknown".into()),
        f.rule,
        detail.reason
    );
    println!("  state       {}", f.state);
    println!(
        "  seen        {} times, first {}, last {}",
        f.times_seen, f.first_seen, f.last_seen
    );
    println!("observations:");
    for o in &detail.observations {
        println!(
            "  {} {}:{} ({}{}, {}, run {})",
            o.seen_at.as_deref().unwrap_or("(no time.source)"),
            o.file,
            o.line,
            o.feed,
            o.report
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default(),
            o.tlp,
            o.run
        );
        println!("    {}", o.event.to_json_line());
    }
    if !detail.history.is_empty() {
        println!("history:");
        for t in &detail.history {
            let change = if t.from == t.to {
                format!("note ({})", t.to.as_str())
            } else {
                format!("{} → {}", t.from.as_str(), t.to.as_str())
            };
            let mut line = format!("  {} {change}, by {}", t.at, t.cause.as_str());
            if let Some(r) = &t.reference {
                line.push_str(&format!(" {r}"));
            }
            if let Some(by) = &t.by {
                line.push_str(&format!(" ({by})"));
            }
            if let Some(n) = &t.note {
                line.push_str(&format!(": {n}"));
            }
            println!("{line}");
        }
    }
    Ok(())
}

/// `demo citrix-2020 --days N`: the crisis replayed day by day under both policies.
fn cmd_demo_days(
    data: &Path,
    params: Params,
    days: u32,
    out: Option<PathBuf>,
    policy: &str,
    json: bool,
) -> Result<()> {
    if days == 0 {
        bail!("--days must be at least 1");
    }
    let options = demo::days::DaysOptions {
        params,
        days,
        out: out.unwrap_or_else(demo::default_out).join("days"),
        db_dir: data.join("demo").join("citrix-2020-days"),
        policy: policy.to_string(),
    };
    let s = demo::days::run(&options)?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(());
    }
    println!(
        "Citrix 2020, {} days replayed from 17 December 2019: {} vulnerable hosts at the disclosure",
        s.days, s.hosts
    );
    println!();
    println!(
        "policy         exposure (host-days)  non-vital  verified fixed  still open  never found  replies  messages"
    );
    for (name, p) in &s.policies {
        let messages = p
            .messages
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "  {name:<13} {:>20.0} {:>10.0} {:>15} {:>11} {:>12} {:>8}  {messages}",
            p.exposure_host_days,
            p.exposure_host_days_non_vital,
            p.verified_fixed,
            p.still_open,
            p.never_found,
            p.replies
        );
    }
    println!();
    println!("median hours from the first message to the verified fix, by path:");
    for (name, p) in &s.policies {
        let medians = p
            .median_hours_to_fix
            .iter()
            .map(|(path, h)| match h {
                Some(h) => format!("{path} {h:.0} h"),
                None => format!("{path} –"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        println!("  {name:<13} {medians}");
    }
    if let (Some(a), Some(b)) = (s.policies.get("nl-2020"), s.policies.get("nl-dtc-oktt")) {
        println!();
        println!(
            "had the DTC been an OKTT: {:.0} fewer host-days exposed ({:.0} of them of non-vital organisations)",
            a.exposure_host_days - b.exposure_host_days,
            a.exposure_host_days_non_vital - b.exposure_host_days_non_vital
        );
    }
    println!();
    println!("assumptions (the demo's model, not data):");
    for a in &s.assumptions {
        println!("  - {a}");
    }
    println!("report    {}", s.report);
    Ok(())
}

fn cmd_demo(
    data: &Path,
    orgs: u32,
    seed: u64,
    out: Option<PathBuf>,
    smtp: Option<&str>,
    policy: &str,
    json: bool,
) -> Result<()> {
    let out = out.unwrap_or_else(demo::default_out);
    let options = DemoOptions {
        params: Params { orgs, seed },
        out: out.clone(),
        db_dir: data.join("demo").join("citrix-2020"),
        policy: policy.to_string(),
    };
    let mut transport: Box<dyn Transport> = match smtp {
        Some(url) => Box::new(Smtp::from_url(url)?),
        None => {
            let outbox = out.join("outbox");
            if outbox.exists() {
                std::fs::remove_dir_all(&outbox)
                    .with_context(|| format!("clearing {}", outbox.display()))?;
            }
            Box::new(Outbox::new(outbox)?)
        }
    };
    let s = demo::run_citrix(&options, transport.as_mut(), &bar)?;
    if json {
        let mut v = serde_json::to_value(&s)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("timeline");
        }
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    println!("Citrix 2020 replay — {} (CVE-2019-19781)", s.advisory);
    println!();
    println!(
        "advisory  {} imported and validated; severity {}",
        s.advisory, s.severity
    );
    println!(
        "feed      {} rows read: {} stored, {} duplicate, {} quarantined",
        s.rows_read, s.rows_stored, s.rows_duplicate, s.rows_quarantined
    );
    for q in s.quarantine_samples.iter().take(5) {
        println!("            quarantined {q}");
    }
    if s.rows_quarantined > 5 {
        println!(
            "            … {} more quarantined rows (`baken ingest --json` lists the first 20)",
            s.rows_quarantined - 5
        );
    }
    println!(
        "exposure  {} organisations affected by scans and declared inventories ({}), {} more of unknown status",
        s.exposure_affected_orgs,
        s.exposure_by_evidence
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        s.exposure_unknown_orgs
    );
    println!(
        "affected  {} organisations ({} vital, {} non-vital), {} findings",
        s.affected_orgs, s.affected_vital, s.affected_non_vital, s.incident_findings
    );
    for (sector, r) in &s.by_sector {
        println!(
            "            {sector:<18} {:>5} affected {:>5} told {:>4} unreachable",
            r.affected, r.notified, r.unreachable
        );
    }
    let path = |p: &str| s.reached_by_path.get(p).copied().unwrap_or(0);
    println!(
        "reached   {} organisations under {}: {} directly, {} through their CERT, {} through the DTC, {} through their hoster",
        s.notified_orgs,
        s.policy,
        path("direct"),
        path("cert"),
        path("dtc"),
        path("hoster")
    );
    println!(
        "          {} of {} groups of unregistered addresses reached through their hosting provider",
        s.unregistered_reached, s.unregistered_holders
    );
    let groups_unreached = s.unregistered_holders - s.unregistered_reached;
    let total: u64 = s.unreachable_reasons.values().sum();
    println!(
        "unreach.  {total} in all: {} organisations, {groups_unreached} groups of unregistered addresses, {} addresses with no owner",
        s.unreachable_orgs, s.unattributed_hosts
    );
    // what an analyst can act on comes first: a party that may be told but has no address
    let mut reasons: Vec<_> = s.unreachable_reasons.iter().collect();
    let actionable = |r: &str| r.contains("has no contact address");
    reasons.sort_by(|a, b| {
        (actionable(b.0), b.1)
            .cmp(&(actionable(a.0), a.1))
            .then(a.0.cmp(b.0))
    });
    const SHOWN: usize = 8;
    for (reason, n) in reasons.iter().take(SHOWN) {
        let short: String = reason.chars().take(150).collect();
        println!(
            "          {}{n:>5} × {short}{}",
            if actionable(reason) {
                "ACTION "
            } else {
                "       "
            },
            if reason.chars().count() > 150 {
                "…"
            } else {
                ""
            }
        );
    }
    if reasons.len() > SHOWN {
        let rest: u64 = reasons[SHOWN..].iter().map(|(_, n)| **n).sum();
        println!(
            "                 … {} more reasons ({rest} parties); `baken coverage --incident {} --json` lists every party",
            reasons.len() - SHOWN,
            s.incident
        );
    }
    println!();
    println!(
        "policies  organisations  other  reached  registered  non-vital  direct  cert   dtc  hoster  unreachable"
    );
    for (name, r) in &s.policies {
        let p = |k: &str| r.by_path.get(k).copied().unwrap_or(0);
        println!(
            "  {:<13} {:>11} {:>6} {:>8} {:>11} {:>10} {:>7} {:>5} {:>5} {:>7} {:>12}{}",
            name,
            r.organisations,
            r.others,
            r.reached,
            r.registered_reached,
            r.non_vital_reached,
            p("direct"),
            p("cert"),
            p("dtc"),
            p("hoster"),
            r.unreachable,
            if *name == s.policy { "  (sent)" } else { "" }
        );
    }
    println!();
    println!("messages  {} written to {}", s.messages, s.outbox);
    println!(
        "time      {:.2} s from feed received to last digest ({:.2} s to ingest and attribute)",
        s.seconds_to_last_notification, s.seconds_to_ingested
    );
    println!("report    {}", s.report);
    Ok(())
}

fn cmd_cvss(vector: &str, json: bool) -> Result<()> {
    let score = baken_advisory::cvss::compute(vector)?;
    if json {
        println!("{}", score.to_json());
        return Ok(());
    }
    print_score(&score, "");
    Ok(())
}

fn print_score(score: &baken_advisory::cvss::CvssScore, indent: &str) {
    println!(
        "{indent}{} base score {:.1} ({}) on a scale of 0.0 to 10.0",
        score.version, score.base_score, score.severity
    );
    if let Some(t) = score.temporal_score {
        let label = if score.version == baken_advisory::cvss::CvssVersion::V4_0 {
            "threat"
        } else {
            "temporal"
        };
        println!("{indent}  {label} score {t:.1} ({})", score.rate(t));
    }
    if let Some(e) = score.environmental_score {
        println!("{indent}  environmental score {e:.1} ({})", score.rate(e));
    }
    for m in &score.metrics {
        println!("{indent}  {m}");
    }
    for n in &score.notes {
        println!("{indent}  note: {n}");
    }
}

fn cmd_advisory(data: &Path, command: AdvisoryCommand) -> Result<()> {
    use baken_pipeline::advisories::ImportOutcome;
    let mut app = App::open(data)?;
    match command {
        AdvisoryCommand::Import { schema, paths } => {
            let (mut imported, mut rejected) = (0, 0);
            for path in paths {
                for (file, outcome) in app.import_advisories(&path, schema.as_deref())? {
                    match outcome {
                        ImportOutcome::Imported {
                            id,
                            revision,
                            put,
                            warnings,
                        } => {
                            imported += 1;
                            println!(
                                "{}: {id} revision {} {}",
                                file.display(),
                                revision.as_deref().unwrap_or("-"),
                                match put {
                                    baken_store::AdvisoryPut::New => "imported",
                                    baken_store::AdvisoryPut::Revision =>
                                        "imported as a new revision",
                                    baken_store::AdvisoryPut::Unchanged => "already imported",
                                }
                            );
                            for w in warnings {
                                println!("  warning: {w}");
                            }
                        }
                        ImportOutcome::Skipped { reason } => {
                            println!("{}: skipped: {reason}", file.display());
                        }
                        other @ (ImportOutcome::Exploited { .. }
                        | ImportOutcome::Records { .. }) => {
                            imported += 1;
                            advisory_cmds::print_entries(&file, &other);
                        }
                        ImportOutcome::Rejected { problems } => {
                            rejected += 1;
                            eprintln!("{}: rejected, nothing imported:", file.display());
                            for p in problems {
                                eprintln!("  {p}");
                            }
                        }
                    }
                }
            }
            println!("{imported} imported, {rejected} rejected");
            if rejected > 0 {
                bail!("{rejected} document(s) rejected; see the problems above");
            }
        }
        AdvisoryCommand::Sync {
            source,
            schema,
            accept_unhashed,
            allow_http,
            require_signatures,
        } => {
            let options = baken_csaf_sync::Options {
                accept_unhashed,
                allow_http,
                require_signatures,
                ..Default::default()
            };
            let summary = app.sync_advisories(&source, schema.as_deref(), &options)?;
            println!("provider metadata {}", summary.provider_metadata);
            for (url, key) in &summary.keys {
                match key {
                    Ok(fingerprint) => println!("  key {url}: {fingerprint}"),
                    Err(problem) => println!("  key {url} not used: {problem}"),
                }
            }
            let mut rejected = 0;
            for (url, outcome) in &summary.fetched {
                match outcome {
                    ImportOutcome::Imported { id, revision, .. } => println!(
                        "  fetched {url}: {id} revision {}",
                        revision.as_deref().unwrap_or("-")
                    ),
                    ImportOutcome::Skipped { reason } => println!("  skipped {url}: {reason}"),
                    other @ (ImportOutcome::Exploited { .. } | ImportOutcome::Records { .. }) => {
                        advisory_cmds::print_entries(Path::new(url), other)
                    }
                    ImportOutcome::Rejected { problems } => {
                        rejected += 1;
                        println!("  rejected {url}:");
                        for p in problems {
                            println!("    {p}");
                        }
                    }
                }
            }
            for (url, reason) in &summary.skipped {
                println!("  skipped {url}: {reason}");
            }
            for (url, reason) in &summary.refused {
                println!("  refused {url}: {reason}");
            }
            for url in &summary.unsigned {
                eprintln!(
                    "warning: {url} has no OpenPGP signature (imported; --require-signatures refuses such documents)"
                );
            }
            println!(
                "{} fetched ({rejected} rejected), {} skipped, {} unchanged, {} refused for their signature, {} unsigned",
                summary.fetched.len(),
                summary.skipped.len(),
                summary.unchanged,
                summary.refused.len(),
                summary.unsigned.len()
            );
            if !summary.refused.is_empty() {
                bail!(
                    "{} document(s) refused for their OpenPGP signature and not imported; see above",
                    summary.refused.len()
                );
            }
        }
        AdvisoryCommand::List => {
            for a in app.advisories()? {
                println!(
                    "{:<28} rev {:<6} {:<5} {:>4} {}",
                    a.id,
                    a.revision.as_deref().unwrap_or("-"),
                    a.format,
                    a.highest_score
                        .map(|s| format!("{s:.1}"))
                        .unwrap_or_else(|| "-".into()),
                    a.title.as_deref().unwrap_or("")
                );
            }
        }
        AdvisoryCommand::New(args) => advisory_cmds::new(&mut app, args)?,
        AdvisoryCommand::Publish(args) => advisory_cmds::publish(&mut app, args)?,
        AdvisoryCommand::Show { id, json } => {
            let (a, history) = app.advisory(&id)?;
            if json {
                let history: Vec<_> = history
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "revision": r.revision, "released": r.released,
                            "highest_score": r.highest_score, "vector": r.highest_vector,
                            "source": r.source, "imported_at": r.imported_at,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"advisory": a, "history": history})
                    )?
                );
                return Ok(());
            }
            print_advisory(&a, &history);
        }
    }
    Ok(())
}

fn print_advisory(a: &baken_advisory::Advisory, history: &[baken_store::AdvisoryRecord]) {
    println!("{} — {}", a.id, a.title.as_deref().unwrap_or("(no title)"));
    println!("  format     {}", a.format);
    println!("  publisher  {}", a.publisher.as_deref().unwrap_or("-"));
    println!(
        "  TLP        {}",
        a.tlp
            .map(|t| t.label().to_string())
            .unwrap_or_else(|| "(none given)".into())
    );
    println!("  CVEs       {}", a.cves.join(", "));
    println!(
        "  revision   {} released {}",
        a.revision.as_deref().unwrap_or("-"),
        a.current_release
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| "-".into())
    );
    let names = |ps: &[baken_advisory::Product]| -> String {
        ps.iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    for v in &a.vulnerabilities {
        println!();
        println!(
            "  {} {}",
            v.cve.as_deref().unwrap_or("(no CVE)"),
            v.title.as_deref().unwrap_or("")
        );
        for s in &v.scores {
            println!(
                "    vector {}{}",
                s.vector,
                s.source
                    .as_deref()
                    .map(|x| format!(" (scored by {x})"))
                    .unwrap_or_default()
            );
            match &s.computed {
                Some(c) => print_score(c, "    "),
                None => println!(
                    "    stated base score {} (vector could not be scored)",
                    s.stated_base_score
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| "-".into())
                ),
            }
        }
        if !v.affected.is_empty() {
            println!("    affected      {}", names(&v.affected));
        }
        if !v.fixed.is_empty() {
            println!("    fixed         {}", names(&v.fixed));
        }
        if !v.not_affected.is_empty() {
            println!("    not affected  {}", names(&v.not_affected));
        }
        for r in &v.remediations {
            println!(
                "    {}: {}{}",
                r.category,
                r.details,
                r.url
                    .as_deref()
                    .map(|u| format!(" <{u}>"))
                    .unwrap_or_default()
            );
        }
    }
    println!();
    println!("  severity history (stored revisions):");
    for r in history {
        println!(
            "    rev {:<6} released {:<26} highest {} {}",
            r.revision.as_deref().unwrap_or("-"),
            r.released.as_deref().unwrap_or("-"),
            r.highest_score
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "-".into()),
            r.highest_vector.as_deref().unwrap_or("")
        );
    }
}

fn parse_witness(text: &str) -> Result<baken_store::audit::Witness, String> {
    text.parse()
}

fn cmd_audit(data: &Path, command: AuditCommand) -> Result<()> {
    let mut app = App::open(data)?;
    match command {
        AuditCommand::Verify {
            head,
            mut witness,
            witness_eml,
            key,
        } => {
            for eml in &witness_eml {
                witness.push(baken_pipeline::audit::witness_of_eml(eml)?);
            }
            let v = app.verify_audit(head.as_deref(), &witness, key.as_deref())?;
            for n in &v.notes {
                println!("note: {n}");
            }
            if !v.problems.is_empty() {
                for p in &v.problems {
                    eprintln!("baken: {p}");
                }
                bail!(
                    "the audit log does not verify: {} problem{} above",
                    v.problems.len(),
                    if v.problems.len() == 1 { "" } else { "s" }
                );
            }
            let (last, hash) = v.head.expect("a sound chain when nothing is wrong");
            println!(
                "audit log sound: {} entries, {} checkpoints and {} witnesses hold, head {last} {hash}",
                v.entries, v.checkpoints, v.witnesses
            );
        }
        AuditCommand::Checkpoint => {
            let c = app.checkpoint_audit()?;
            println!(
                "checkpoint of entry {} signed: hash {}, key {}",
                c.seq, c.hash, c.public_key
            );
        }
        AuditCommand::Export { out } => {
            let log = app.audit_log()?;
            let mut w: Box<dyn Write> = match &out {
                Some(p) => Box::new(BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(BufWriter::new(std::io::stdout().lock())),
            };
            for e in &log {
                writeln!(w, "{}", serde_json::to_string(e)?)?;
            }
            w.flush()?;
            if let Some(p) = out {
                eprintln!("{} entries written to {}", log.len(), p.display());
            }
        }
    }
    Ok(())
}
