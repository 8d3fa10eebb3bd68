//! `baken serve --config baken.toml`: the service's settings in a file, so that a service
//! started by a unit file or a container says everything in one place. Each setting can also
//! be given on the command line, which wins.
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:8080"
//! policy = "nl-2020"            # or a policy file
//! intake = "intake"             # relative to this file
//! intake_every = 10             # seconds
//! webhook_every = 30            # seconds; 0 for none
//! max_failed_logins = 10        # a minute, per client address
//! secure_cookies = false        # true behind a TLS proxy that sends no X-Forwarded-Proto
//!
//! [notify]
//! every = 3600                  # seconds between rounds; 0 (the default): no mail
//! smtp = "smtps://relay.example:465"
//! from = "NCSC baken <baken@ncsc.example>"
//! daily = ["cert-zorg", "dtc"]  # parties told at most once a day
//! daily_at = "07:00"            # UTC; when a day's digest is due
//! sign_key = "keys/team.asc"    # relative to this file; passphrase: $BAKEN_SIGN_KEY_PASSPHRASE
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The settings file.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The service.
    #[serde(default)]
    pub serve: ServeSettings,
    /// Its notify rounds.
    #[serde(default)]
    pub notify: NotifySettings,
}

/// `[serve]`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// The address to listen on.
    pub listen: Option<String>,
    /// The sharing policy: a shipped name or a file.
    pub policy: Option<String>,
    /// The intake directory.
    pub intake: Option<PathBuf>,
    /// Seconds between two looks at it.
    pub intake_every: Option<u64>,
    /// Seconds between two webhook passes.
    pub webhook_every: Option<u64>,
    /// Refused tokens per client address a minute.
    pub max_failed_logins: Option<usize>,
    /// Mark session cookies Secure whatever the request says.
    pub secure_cookies: Option<bool>,
}

/// `[notify]`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// Seconds between two rounds; 0 for none.
    pub every: Option<u64>,
    /// The SMTP relay's URL; the outbox when absent.
    pub smtp: Option<String>,
    /// The sender.
    pub from: Option<String>,
    /// Parties told at most once a day.
    #[serde(default)]
    pub daily: Vec<String>,
    /// When a day's digest is due (UTC, `HH:MM`).
    pub daily_at: Option<String>,
    /// The team's OpenPGP secret key: every message is signed, and encrypted to contacts
    /// with a `pgp_key` (as `notify --sign-key`); its passphrase from
    /// `$BAKEN_SIGN_KEY_PASSPHRASE`. Relative to the file's directory.
    pub sign_key: Option<PathBuf>,
}

impl Config {
    /// Reads `path`; an error names the file, and the line and field at fault. Relative paths
    /// in it are taken from the file's directory.
    pub fn read(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(at) = &config.notify.daily_at {
            parse_time_of_day(at)
                .map_err(|e| format!("{}: notify.daily_at: {e}", path.display()))?;
        }
        if let Some(key) = &config.notify.sign_key
            && key.is_relative()
        {
            let base = path.parent().unwrap_or(Path::new("."));
            config.notify.sign_key = Some(base.join(key));
        }
        if let Some(dir) = &config.serve.intake
            && dir.is_relative()
        {
            let base = path.parent().unwrap_or(Path::new("."));
            config.serve.intake = Some(base.join(dir));
        }
        Ok(config)
    }
}

/// `HH:MM` (UTC) as a time of day.
pub fn parse_time_of_day(text: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("{text:?} is not a time of day; write HH:MM, e.g. 07:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_reads_and_mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baken.toml");
        let doc = include_str!("config.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! "))
            .skip_while(|l| !l.starts_with("[serve]"))
            .take_while(|l| !l.starts_with("```"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, &doc).unwrap();
        let c = Config::read(&path).unwrap();
        assert_eq!(c.serve.listen.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(c.serve.intake, Some(dir.path().join("intake")));
        assert_eq!(c.notify.daily, ["cert-zorg", "dtc"]);
        assert_eq!(c.notify.every, Some(3600));
        assert_eq!(c.notify.sign_key, Some(dir.path().join("keys/team.asc")));

        std::fs::write(&path, "[serve]\nlisten = \"127.0.0.1:8080\"\nlisen = 1\n").unwrap();
        let e = Config::read(&path).unwrap_err();
        assert!(
            e.contains("baken.toml") && e.contains("line 3") && e.contains("lisen"),
            "{e}"
        );
        std::fs::write(&path, "[notify]\ndaily_at = \"7 o'clock\"\n").unwrap();
        let e = Config::read(&path).unwrap_err();
        assert!(e.contains("notify.daily_at") && e.contains("HH:MM"), "{e}");
    }
}
