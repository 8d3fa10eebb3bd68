//! `baken lookalike`: permutations of a name, and names that imitate protected ones (the
//! work is `baken_lookalike`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use baken_lookalike::{Kind, Options, Protected, input, protect};
use baken_model::Tlp;
use baken_pipeline::lookalikes::{self, Flagged};
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum LookalikeCommand {
    /// List the permutations of NAME as dnstwist makes them, one name per line.
    Generate {
        /// The domain name (`rivm.nl`).
        name: String,
        /// Print each name with the kind that made it (a name made by several kinds comes once
        /// for each).
        #[arg(long)]
        kinds: bool,
        /// Only these kinds (comma-separated: addition, bitsquatting, homoglyph, hyphenation,
        /// insertion, omission, plural, repetition, replacement, subdomain, transposition,
        /// vowel-swap, dictionary, tld-swap, various).
        #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
        only: Vec<Kind>,
        /// Words for the dictionary kind, one a line (instead of the built-in list).
        #[arg(long)]
        dictionary: Option<PathBuf>,
        /// Top-level domains for the TLD swap, one a line (instead of the built-in list).
        #[arg(long)]
        tlds: Option<PathBuf>,
        /// One JSON object a line: `domain` and `kind`.
        #[arg(long)]
        json: bool,
    },
    /// Flag the names in INPUT that imitate a protected name: a plain list (one a line),
    /// certstream JSON lines, or zone-file lines or their difference; `-` reads standard
    /// input. Prints each flagged name with what it imitates, the rules that matched and a
    /// score; exits non-zero when a line could not be read.
    Scan {
        /// Files of protected names (`name [owner]` a line, `#` comments); without any, the
        /// list kept by `lookalike protect add`.
        #[arg(long)]
        protect: Vec<PathBuf>,
        /// A crisis keyword that raises a flagged name's score (repeatable).
        #[arg(long = "keyword")]
        keywords: Vec<String>,
        /// Never flag the domains the protected names' owners hold in the registry.
        #[arg(long)]
        registry_owned: bool,
        /// Words for the dictionary kind, one a line (instead of the built-in list).
        #[arg(long)]
        dictionary: Option<PathBuf>,
        /// One JSON object a line: `domain`, `protected`, `owner`, `kinds`, `keywords`,
        /// `score`.
        #[arg(long)]
        json: bool,
        /// Record the flagged names as findings of the `lookalike` incident, owned by the
        /// protected names' owners (for `notify` and `lookalike takedown`).
        #[arg(long)]
        record: bool,
        /// With --record: what a check saw of the names (dnstwist's JSON: domain, dns_a,
        /// dns_aaaa, dns_ns, dns_mx; optionally http_status and time), kept as evidence.
        #[arg(long, requires = "record")]
        seen: Option<PathBuf>,
        /// With --record: the TLP label of the findings.
        #[arg(long, default_value = "CLEAR", value_parser = crate::parse_tlp, requires = "record")]
        tlp: Tlp,
        /// Files of names to check; `-` for standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Check recorded lookalikes against what a check saw of them (dnstwist's JSON): names
    /// still resolving or serving are recorded again, names that no longer do are closed as
    /// taken down.
    Check {
        /// The check's output (JSON array or JSON lines).
        seen: PathBuf,
        /// TLP label of the observations.
        #[arg(long, default_value = "CLEAR", value_parser = crate::parse_tlp)]
        tlp: Tlp,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask the registrar's and the hoster's abuse desk of each recorded lookalike to take it
    /// down, as the policy's `takedown-request` rules allow; each request is sent once and
    /// audited.
    Takedown {
        /// RDAP answers for the names, as DIR/NAME.json: the registrar's abuse desk.
        #[arg(long)]
        rdap: Option<PathBuf>,
        /// Sharing policy: nl-2020, nl-dtc-oktt, or a policy file.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        policy: String,
        /// TLP label of findings stored without one.
        #[arg(long, default_value = "CLEAR", value_parser = crate::parse_tlp)]
        tlp: Tlp,
        /// Deliver through this SMTP relay (as for `notify`).
        #[arg(long, conflicts_with = "outbox")]
        smtp: Option<String>,
        /// Write .eml files into this directory (default: DATA/outbox).
        #[arg(long)]
        outbox: Option<PathBuf>,
        /// Sender address.
        #[arg(long, default_value = "NCSC baken <baken@ncsc.example>")]
        from: String,
        /// Sign each request with this OpenPGP secret key (PGP/MIME); the passphrase, if any,
        /// from $BAKEN_SIGN_KEY_PASSPHRASE.
        #[arg(long)]
        sign_key: Option<PathBuf>,
        /// Only show the requests and the policy's decisions; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// One JSON object a line per request.
        #[arg(long)]
        json: bool,
    },
    /// The protected names kept in the data directory.
    Protect {
        #[command(subcommand)]
        command: ProtectCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum ProtectCommand {
    /// Add names (or change their owner).
    Add {
        /// Domain names to protect.
        #[arg(required = true)]
        names: Vec<String>,
        /// Their owner's registry id.
        #[arg(long)]
        owner: Option<String>,
    },
    /// List the protected names and their owners.
    List {
        /// Print them as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    Kind::from_name(text).ok_or_else(|| {
        let names: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!("{text:?} is not a kind; the kinds are {}", names.join(", "))
    })
}

pub(crate) fn run(data: &Path, command: LookalikeCommand) -> Result<()> {
    match command {
        LookalikeCommand::Generate {
            name,
            kinds,
            only,
            dictionary,
            tlds,
            json,
        } => generate(
            &name,
            kinds,
            &only,
            dictionary.as_deref(),
            tlds.as_deref(),
            json,
        ),
        LookalikeCommand::Scan {
            protect,
            keywords,
            registry_owned,
            dictionary,
            json,
            record,
            seen,
            tlp,
            inputs,
        } => scan(
            data,
            &protect,
            keywords,
            registry_owned,
            dictionary.as_deref(),
            &inputs,
            json,
            record.then_some(Recording { seen, tlp }),
        ),
        LookalikeCommand::Check { seen, tlp, json } => check(data, &seen, tlp, json),
        LookalikeCommand::Takedown {
            rdap,
            policy,
            tlp,
            smtp,
            outbox,
            from,
            sign_key,
            dry_run,
            json,
        } => takedown(
            data,
            &Takedown {
                rdap,
                policy,
                tlp,
                smtp,
                outbox,
                from,
                sign_key,
                dry_run,
                json,
            },
        ),
        LookalikeCommand::Protect {
            command: ProtectCommand::Add { names, owner },
        } => protect_add(data, &names, owner),
        LookalikeCommand::Protect {
            command: ProtectCommand::List { json },
        } => protect_list(data, json),
    }
}

/// Words of a file, one a line (`#` comments), lowercased.
fn words(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect())
}

fn options(dictionary: Option<&Path>, tlds: Option<&Path>) -> Result<Options> {
    let mut options = Options::default();
    if let Some(p) = dictionary {
        options.dictionary = words(p)?;
    }
    if let Some(p) = tlds {
        options.tlds = words(p)?;
    }
    Ok(options)
}

fn generate(
    name: &str,
    kinds: bool,
    only: &[Kind],
    dictionary: Option<&Path>,
    tlds: Option<&Path>,
    json: bool,
) -> Result<()> {
    let all = baken_lookalike::generate_with(name, &options(dictionary, tlds)?);
    if all.is_empty() {
        bail!("{name:?} is not a domain name with a suffix (write e.g. rivm.nl)");
    }
    let mut seen = HashSet::new();
    for p in all
        .iter()
        .filter(|p| only.is_empty() || only.contains(&p.kind))
    {
        if json {
            println!("{}", serde_json::to_string(p)?);
        } else if kinds {
            println!("{}\t{}", p.kind, p.domain);
        } else if seen.insert(&p.domain) {
            println!("{}", p.domain);
        }
    }
    Ok(())
}

/// What `scan --record` keeps.
struct Recording {
    seen: Option<PathBuf>,
    tlp: Tlp,
}

#[allow(clippy::too_many_arguments)]
fn scan(
    data: &Path,
    protect: &[PathBuf],
    keywords: Vec<String>,
    registry_owned: bool,
    dictionary: Option<&Path>,
    inputs: &[PathBuf],
    json: bool,
    recording: Option<Recording>,
) -> Result<()> {
    let mut to_record: Vec<Flagged> = Vec::new();
    let scanner = baken_app::lookalike_scanner(
        data,
        protect,
        keywords,
        registry_owned,
        options(dictionary, None)?,
    )?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let (mut read, mut flagged) = (0u64, 0u64);
    let mut printed = HashSet::new();
    let mut problems = Vec::new();
    for path in inputs {
        let shown = path.display().to_string();
        let reader: Box<dyn BufRead> = if shown == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let file = std::fs::File::open(path).with_context(|| shown.clone())?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        let mut write_error = None;
        let errors = input::read_names(reader, |_, name| {
            read += 1;
            if write_error.is_some() {
                return;
            }
            if let Some(flag) = scanner.scan(name)
                && printed.insert(flag.domain.clone())
            {
                flagged += 1;
                if recording.is_some() {
                    to_record.push(baken_app::flagged(&flag));
                }
                let written = if json {
                    serde_json::to_writer(&mut out, &flag)
                        .map_err(std::io::Error::from)
                        .and_then(|()| out.write_all(b"\n"))
                } else {
                    let kinds: Vec<_> = flag.kinds.iter().map(|k| k.name()).collect();
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}",
                        flag.domain,
                        flag.protected,
                        flag.score,
                        kinds.join(",")
                    )
                };
                write_error = written.err();
            }
        })
        .with_context(|| shown.clone())?;
        if let Some(e) = write_error {
            return Err(e.into());
        }
        problems.extend(errors.into_iter().map(|e| format!("{shown}: {e}")));
    }
    out.flush()?;
    eprintln!(
        "{read} names read, {flagged} flagged, against {} protected names",
        scanner.len()
    );
    if let Some(r) = recording {
        let seen = match &r.seen {
            Some(p) => lookalikes::read_sightings(p)?,
            None => Vec::new(),
        };
        let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        let done = baken_app::App::open(data)?.record_lookalikes(
            &to_record,
            &seen,
            &format!("lookalike scan {}", names.join(" ")),
            r.tlp,
        )?;
        eprintln!(
            "recorded in incident {}: {} new findings, {} seen again, {} already recorded, \
             {} reopened",
            lookalikes::INCIDENT,
            done.new_findings,
            done.stored - done.new_findings.min(done.stored),
            done.duplicate,
            done.reopened
        );
    }
    if !problems.is_empty() {
        let shown: Vec<_> = problems.iter().take(20).cloned().collect();
        bail!(
            "{} line(s) could not be read (the others were scanned):\n{}{}",
            problems.len(),
            shown.join("\n"),
            if problems.len() > 20 { "\n…" } else { "" }
        );
    }
    Ok(())
}

fn protect_add(data: &Path, names: &[String], owner: Option<String>) -> Result<()> {
    let path = data.join(baken_app::PROTECT_FILE);
    let mut list = if path.exists() {
        baken_app::read_protected(&path)?
    } else {
        Vec::new()
    };
    let (new, errors) = protect::parse(&names.join("\n"));
    if let Some(e) = errors.first() {
        bail!(
            "{:?} is not a domain name (write e.g. rivm.nl)",
            names[e.line - 1]
        );
    }
    for n in new {
        let entry = Protected {
            owner: owner.clone(),
            ..n
        };
        match list.iter_mut().find(|p| p.name == entry.name) {
            Some(p) => *p = entry,
            None => list.push(entry),
        }
    }
    std::fs::create_dir_all(data).with_context(|| data.display().to_string())?;
    let tmp = path.with_extension("txt.tmp");
    std::fs::write(&tmp, protect::format(&list)).with_context(|| tmp.display().to_string())?;
    std::fs::rename(&tmp, &path).with_context(|| path.display().to_string())?;
    println!("{} protected names in {}", list.len(), path.display());
    Ok(())
}

fn protect_list(data: &Path, json: bool) -> Result<()> {
    let path = data.join(baken_app::PROTECT_FILE);
    let list = if path.exists() {
        baken_app::read_protected(&path)?
    } else {
        Vec::new()
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        for p in &list {
            println!("{}\t{}", p.name, p.owner.as_deref().unwrap_or("-"));
        }
    }
    Ok(())
}

fn check(data: &Path, seen: &Path, tlp: Tlp, json: bool) -> Result<()> {
    let done = baken_app::App::open(data)?.recheck_lookalikes(seen, tlp)?;
    if json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        println!(
            "{} still up (recorded again, {} reopened), {} taken down, {} not recorded",
            done.still_up.stored + done.still_up.duplicate,
            done.still_up.reopened,
            done.taken_down.len(),
            done.not_recorded.len()
        );
    }
    Ok(())
}

struct Takedown {
    rdap: Option<PathBuf>,
    policy: String,
    tlp: Tlp,
    smtp: Option<String>,
    outbox: Option<PathBuf>,
    from: String,
    sign_key: Option<PathBuf>,
    dry_run: bool,
    json: bool,
}

fn takedown(data: &Path, t: &Takedown) -> Result<()> {
    let mut app = baken_app::App::open(data)?;
    if let Some(path) = &t.sign_key {
        let passphrase = std::env::var(crate::SIGN_KEY_PASSPHRASE_ENV).ok();
        app.set_signing_key(path, passphrase.as_deref())?;
    }
    let outcomes: Vec<(String, String, lookalikes::PlannedTakedown)> = if t.dry_run {
        app.plan_takedowns(&t.policy, t.rdap.as_deref(), t.tlp)?
            .into_iter()
            .map(|p| {
                let what = if p.decision.form.as_str() == "nothing" {
                    "withheld"
                } else {
                    "would-send"
                };
                (what.to_string(), p.decision.explanation.clone(), p)
            })
            .collect()
    } else {
        let (mut transport, _) = crate::transport(t.smtp.as_deref(), t.outbox.clone(), data)?;
        app.send_takedowns(
            &t.policy,
            t.rdap.as_deref(),
            t.tlp,
            transport.as_mut(),
            &t.from,
        )?
        .into_iter()
        .map(|o| (o.outcome, o.detail, o.request))
        .collect()
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = 0;
    for (outcome, detail, p) in &outcomes {
        if matches!(outcome.as_str(), "failed" | "pending") {
            failed += 1;
        }
        if t.json {
            let mut v = serde_json::to_value(p)?;
            v["outcome"] = outcome.as_str().into();
            v["detail"] = detail.as_str().into();
            serde_json::to_writer(&mut out, &v).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(
                out,
                "{outcome}\t{}\t{} <{}> ({})\t{detail}",
                p.domain, p.desk.name, p.desk.email, p.desk.role
            )?;
        }
    }
    out.flush()?;
    let count = |w: &str| outcomes.iter().filter(|o| o.0 == w).count();
    eprintln!(
        "{} takedown requests: {} sent, {} sent before, {} withheld by the policy, {} would be sent, \
         {failed} failed or pending",
        outcomes.len(),
        count("sent"),
        count("already-sent"),
        count("withheld"),
        count("would-send"),
    );
    if failed > 0 {
        bail!("{failed} takedown request(s) could not be delivered (see above)");
    }
    Ok(())
}
