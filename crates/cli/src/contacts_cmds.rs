//! `baken registry discover-contacts`: security contacts from security.txt files.

use std::path::PathBuf;

use anyhow::{Result, bail};
use baken_app::App;
use baken_app::contacts::{DirSource, FetchSource, SecurityTxtSource, read_keyring};
use baken_csaf_sync::wellknown::{WellKnown, WellKnownOptions};

/// The arguments of `registry discover-contacts`.
#[derive(clap::Args)]
pub(crate) struct DiscoverArgs {
    /// Read DIR/<domain>/security.txt (else DIR/<domain>.txt) for each domain.
    #[arg(long, value_name = "DIR", conflicts_with = "fetch")]
    from: Option<PathBuf>,
    /// Fetch https://<domain>/.well-known/security.txt for each domain (HTTPS only).
    #[arg(long)]
    fetch: bool,
    /// Armored OpenPGP public keys that signed files are checked against.
    #[arg(long, value_name = "FILE.asc")]
    keyring: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    /// Test only: trust this PEM root certificate too (a loopback test server's).
    #[arg(long, hide = true, value_name = "FILE.pem")]
    test_ca_cert: Option<PathBuf>,
    /// Test only: where a domain's file is fetched from, `{domain}` replaced.
    #[arg(long, hide = true, value_name = "URL")]
    test_url_template: Option<String>,
}

pub(crate) fn discover(app: &mut App, args: DiscoverArgs) -> Result<()> {
    let keyring = match &args.keyring {
        Some(path) => read_keyring(path)?,
        None => Vec::new(),
    };
    let source: Box<dyn SecurityTxtSource> = match (&args.from, args.fetch) {
        (Some(dir), _) => Box::new(DirSource(dir.clone())),
        (None, true) => {
            let mut options = WellKnownOptions::default();
            if let Some(pem) = &args.test_ca_cert {
                options.extra_roots_pem = Some(std::fs::read(pem)?);
            }
            if let Some(template) = args.test_url_template {
                options.url_template = template;
            }
            Box::new(FetchSource(
                WellKnown::new(options).map_err(anyhow::Error::msg)?,
            ))
        }
        (None, false) => bail!("say where the files come from: --from DIR or --fetch"),
    };
    let report = app.discover_contacts(source.as_ref(), &keyring)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} organisations without a security contact; {} security contacts recorded from security.txt",
        report.organisations_without_contact, report.added
    );
    for d in &report.domains {
        let signed = match &d.signature {
            None => String::new(),
            Some(s) => format!(" ({})", signature_text(s)),
        };
        match &d.skipped {
            None => println!(
                "  {} {}: added {}{signed}, until {}",
                d.organisation,
                d.domain,
                d.added.join(", "),
                d.expires
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default()
            ),
            Some(why) => println!("  {} {}: {why}{signed}", d.organisation, d.domain),
        }
        for note in &d.notes {
            println!("    {note}");
        }
    }
    Ok(())
}

fn signature_text(s: &baken_attribute::securitytxt::Signature) -> String {
    use baken_attribute::securitytxt::Signature;
    match s {
        Signature::Unsigned => "unsigned".into(),
        Signature::Good { fingerprint } => format!("signed by {fingerprint}"),
        Signature::UnknownKey => "signed by a key not in the keyring: not checked".into(),
        Signature::Bad { reason } => format!("badly signed: {reason}"),
    }
}
