//! `baken lookalike`: permutations of a name, and names that imitate protected ones (the
//! work is `baken_lookalike`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use baken_lookalike::{Config, Kind, Options, Protected, Scanner, input, protect};
use clap::Subcommand;

/// The protected list kept in the data directory.
const PROTECT_FILE: &str = "lookalike-protect.txt";

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
        /// Files of names to check; `-` for standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
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
            inputs,
        } => scan(
            data,
            &protect,
            keywords,
            registry_owned,
            dictionary.as_deref(),
            &inputs,
            json,
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

/// Reads a protected list, failing with every line it could not read.
fn read_protected(path: &Path) -> Result<Vec<Protected>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let (names, errors) = protect::parse(&text);
    if !errors.is_empty() {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {e}", path.display()))
            .collect();
        bail!(
            "the protected list could not be read:\n{}",
            lines.join("\n")
        );
    }
    Ok(names)
}

fn scan(
    data: &Path,
    protect: &[PathBuf],
    keywords: Vec<String>,
    registry_owned: bool,
    dictionary: Option<&Path>,
    inputs: &[PathBuf],
    json: bool,
) -> Result<()> {
    let kept = data.join(PROTECT_FILE);
    let mut protected = Vec::new();
    if protect.is_empty() {
        if !kept.exists() {
            bail!(
                "no protected names: add some with `baken lookalike protect add NAME --owner ORG` \
                 or pass --protect FILE"
            );
        }
        protected = read_protected(&kept)?;
    }
    for p in protect {
        protected.extend(read_protected(p)?);
    }
    let mut allowed = Vec::new();
    if registry_owned {
        let domains = baken_app::App::open(data)?.registered_domains()?;
        for p in &protected {
            let Some(owner) = &p.owner else { continue };
            let Some(held) = domains.get(owner) else {
                bail!(
                    "protected name {}: its owner {owner:?} is not in the registry \
                     (import it with `baken registry import`, or correct the owner)",
                    p.name
                );
            };
            allowed.extend(held.iter().cloned());
        }
    }
    let config = Config {
        keywords,
        allowed,
        permutations: options(dictionary, None)?,
    };
    let scanner = Scanner::new(&protected, &config).context("the protected list")?;
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
    let path = data.join(PROTECT_FILE);
    let mut list = if path.exists() {
        read_protected(&path)?
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
    let path = data.join(PROTECT_FILE);
    let list = if path.exists() {
        read_protected(&path)?
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
