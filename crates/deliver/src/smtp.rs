//! Sending through an SMTP relay, with lettre's synchronous client.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::render::{build, formatted, message_id};
use crate::{DeliverError, OutgoingMessage, Receipt, Stage, Transport};

/// The environment variable read for the SMTP password when the URL names a user but no
/// password (keeps the password out of configuration files and process listings).
pub const PASSWORD_ENV: &str = "BAKEN_SMTP_PASSWORD";

/// Default time allowed for connecting and for each reply.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the relay is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `tls=none`: plain text, even if the server offers STARTTLS. Only for relays on a
    /// trusted network: the messages, and credentials if any, then travel unencrypted.
    None,
    /// `tls=starttls`, the default for `smtp://` (`tls=required` means the same): STARTTLS or
    /// fail. A server that does not offer STARTTLS, fails the handshake or shows an untrusted
    /// certificate is an error, never a reason to fall back to plain text; plain text takes
    /// an explicit `tls=none`.
    StartTls,
    /// `smtps://`: TLS from the first byte (implicit TLS, port 465).
    Implicit,
}

impl TlsMode {
    fn name(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
        }
    }
}

/// How one connection to the relay was actually encrypted, as the connection itself reports
/// it after the message was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    Plain,
    StartTls,
    Implicit,
}

impl Encryption {
    fn name(self) -> &'static str {
        match self {
            Encryption::Plain => "plain text",
            Encryption::StartTls => "STARTTLS",
            Encryption::Implicit => "implicit TLS",
        }
    }
}

/// Where and how to reach an SMTP relay; usually read from a URL by [`SmtpConfig::parse`].
///
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Host name or IP address of the relay (an IPv6 address without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// How the connection is encrypted.
    pub tls: TlsMode,
    /// Accept any certificate (self-signed, expired, other host name). **Dangerous:** anyone
    /// on the path can then read and change the mail and capture the password. Only for
    /// tests and lab relays.
    pub insecure: bool,
    /// Name to send in EHLO; `None` means this machine's host name.
    pub helo: Option<String>,
    /// User name for AUTH (PLAIN or LOGIN, whichever the server offers); `None` for none.
    pub user: Option<String>,
    /// Password for AUTH.
    pub password: Option<String>,
    /// Time allowed for connecting and for each reply of the server.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("insecure", &self.insecure)
            .field("helo", &self.helo)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpConfig {
    /// Reads a relay URL:
    ///
    /// ```text
    /// smtp://[user[:password]@]host[:port][?tls=starttls|required|none&insecure=true&helo=name&timeout=secs]
    /// smtps://[user[:password]@]host[:port][?insecure=true&helo=name&timeout=secs]
    /// ```
    ///
    /// - `smtp://` connects in plain text and upgrades with STARTTLS before anything else is
    ///   said: `tls=starttls` (the default) and `tls=required` refuse a relay that does not
    ///   offer it; only `tls=none` sends in plain text (and never upgrades). `smtps://` is TLS
    ///   from the start.
    /// - Default port: 465 for `smtps://`, 587 (submission) for `tls=required`, else 25.
    /// - User and password are percent-decoded (`%40` for `@`). Without a password in the
    ///   URL, [`Smtp::from_url`] takes it from [`PASSWORD_ENV`] (`BAKEN_SMTP_PASSWORD`);
    ///   this function does not read the environment.
    /// - `insecure=true` accepts any certificate: for tests and lab relays only (see
    ///   [`SmtpConfig::insecure`]).
    /// - `timeout` in whole seconds, default 30.
    ///
    /// Unknown parameters are errors. Error messages show the URL with the password
    /// replaced by `***`.
    pub fn parse(url: &str) -> Result<Self, DeliverError> {
        let fail = |reason: String| DeliverError::InvalidConfig {
            what: format!("smtp url {}", redact(url)),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| fail("expected smtp://host or smtps://host".into()))?;
        let implicit = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(fail(format!("scheme {other:?} is not smtp or smtps")));
            }
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.contains('/') {
            return Err(fail("an smtp url has no path".into()));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = percent_decode(user).map_err(|e| fail(format!("user name: {e}")))?;
                if user.is_empty() {
                    return Err(fail("the user name before `@` is empty".into()));
                }
                let password = password
                    .map(percent_decode)
                    .transpose()
                    .map_err(|e| fail(format!("password: {e}")))?;
                (Some(user), password)
            }
        };

        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (v6, after) = bracketed
                .split_once(']')
                .ok_or_else(|| fail("`[` without `]` around an IPv6 address".into()))?;
            v6.parse::<Ipv6Addr>()
                .map_err(|_| fail(format!("{v6:?} is not an IPv6 address")))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| fail(format!("unexpected {p:?} after the host")))?,
                ),
            };
            (v6.to_owned(), port)
        } else {
            let (host, port) = match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            };
            let valid = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !valid {
                return Err(fail(format!("{host:?} is not a host name or address")));
            }
            (host.to_owned(), port)
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| fail(format!("port {p:?} is not a number from 1 to 65535")))
            })
            .transpose()?;

        let mut tls = None;
        let mut insecure = None;
        let mut helo = None;
        let mut timeout = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).map_err(|e| fail(format!("{name}: {e}")))?;
            let duplicate = match name {
                "tls" => {
                    // `required` is `starttls` under its older name; it keeps its default
                    // port, 587
                    let mode = match value.as_str() {
                        "none" => (TlsMode::None, 25),
                        "starttls" => (TlsMode::StartTls, 25),
                        "required" => (TlsMode::StartTls, 587),
                        other => {
                            return Err(fail(format!(
                                "tls={other:?}: use starttls (or required), or none for plain text"
                            )));
                        }
                    };
                    tls.replace(mode).is_some()
                }
                "insecure" => {
                    let flag = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(fail(format!("insecure={other:?}: use true or false")));
                        }
                    };
                    insecure.replace(flag).is_some()
                }
                "helo" => {
                    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
                        return Err(fail(format!("helo={value:?} is not a host name")));
                    }
                    helo.replace(value).is_some()
                }
                "timeout" => {
                    let secs = value
                        .parse::<u64>()
                        .ok()
                        .filter(|&s| s > 0)
                        .ok_or_else(|| {
                            fail(format!("timeout={value:?}: give whole seconds, at least 1"))
                        })?;
                    timeout.replace(Duration::from_secs(secs)).is_some()
                }
                other => {
                    return Err(fail(format!(
                        "unknown parameter {other:?}; known: tls, insecure, helo, timeout"
                    )));
                }
            };
            if duplicate {
                return Err(fail(format!("parameter {name:?} is given twice")));
            }
        }

        let (tls, default_port) = match (implicit, tls) {
            (true, None) => (TlsMode::Implicit, 465),
            (true, Some(_)) => {
                return Err(fail(
                    "smtps:// always uses TLS from the start; drop `tls=` or use smtp://".into(),
                ));
            }
            (false, mode) => mode.unwrap_or((TlsMode::StartTls, 25)),
        };
        let port = port.unwrap_or(default_port);
        Ok(SmtpConfig {
            host,
            port,
            tls,
            insecure: insecure.unwrap_or(false),
            helo,
            user,
            password,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }

    /// `host:port`, with brackets around an IPv6 address; used in receipts and errors.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Sends messages through an SMTP relay, one connection per message.
///
/// Each delivery connects, upgrades or not according to [`TlsMode`], authenticates if a user
/// is configured, sends, and says QUIT. Nothing is sent over an unencrypted connection unless
/// the URL says `tls=none`: with the default `tls=starttls` and a server that offers no
/// STARTTLS, delivery fails with [`DeliverError::Incompatible`] naming `tls=none`.
///
/// Each receipt says how its connection was actually encrypted (`… over STARTTLS`, `… in
/// plain text`), and [`Transport::describe`] adds the count of messages sent each way.
///
/// Failures say which step failed on which server; [`DeliverError::is_permanent`] separates
/// 5xx replies and misconfiguration from connection problems and 4xx replies.
pub struct Smtp {
    config: SmtpConfig,
    tls: Option<TlsParameters>,
    /// Messages accepted so far, by how their connection was encrypted.
    sent: Vec<(Encryption, u64)>,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("config", &self.config)
            .finish()
    }
}

impl Smtp {
    /// Reads the URL (see [`SmtpConfig::parse`]); if it names a user but no password, the
    /// password is read from the environment variable [`PASSWORD_ENV`].
    pub fn from_url(url: &str) -> Result<Self, DeliverError> {
        Smtp::from_url_with_env(url, |name| std::env::var(name).ok())
    }

    /// [`Smtp::from_url`] with the environment as a function, for tests.
    fn from_url_with_env(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, DeliverError> {
        let mut config = SmtpConfig::parse(url)?;
        if config.user.is_some() && config.password.is_none() {
            config.password = env(PASSWORD_ENV);
        }
        Smtp::new(config)
    }

    /// A client for the given relay; fails if a user has no password or TLS cannot be set up.
    pub fn new(config: SmtpConfig) -> Result<Self, DeliverError> {
        let what = || format!("smtp relay {}", config.server());
        if let (Some(user), None) = (&config.user, &config.password) {
            return Err(DeliverError::InvalidConfig {
                what: what(),
                reason: format!(
                    "user {user:?} has no password: put it in the url (user:password@) or set \
                     {PASSWORD_ENV}"
                ),
            });
        }
        let tls = match config.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Implicit => Some(
                TlsParameters::builder(config.host.clone())
                    .dangerous_accept_invalid_certs(config.insecure)
                    .dangerous_accept_invalid_hostnames(config.insecure)
                    .build_rustls()
                    .map_err(|e| DeliverError::InvalidConfig {
                        what: what(),
                        reason: format!("cannot set up TLS: {e}"),
                    })?,
            ),
        };
        if config.insecure {
            tracing::warn!(
                server = %config.server(),
                "insecure=true: any TLS certificate is accepted; use only for tests and lab relays"
            );
        }
        Ok(Smtp {
            config,
            tls,
            sent: Vec::new(),
        })
    }

    /// The relay's configuration.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    fn hello_name(&self) -> ClientId {
        match &self.config.helo {
            None => ClientId::default(),
            Some(name) => {
                if let Ok(v4) = name.parse::<Ipv4Addr>() {
                    ClientId::Ipv4(v4)
                } else if let Ok(v6) = name.parse::<Ipv6Addr>() {
                    ClientId::Ipv6(v6)
                } else {
                    ClientId::Domain(name.clone())
                }
            }
        }
    }

    /// Turns lettre's error into ours, naming the server and the step.
    fn error(&self, stage: Stage, e: lettre::transport::smtp::Error) -> DeliverError {
        let server = self.config.server();
        if let Some(code) = e.status() {
            let message = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default();
            return DeliverError::Rejected {
                server,
                stage,
                code: code.into(),
                message,
            };
        }
        if e.is_tls() || tls_handshake_failed(stage, self.config.tls, &e) {
            let hint = match (self.config.tls, self.config.insecure) {
                (TlsMode::Implicit, _) if stage == Stage::Connect => {
                    "; smtps:// expects TLS from the first byte (usually port 465): check the \
                     port, or use smtp:// for STARTTLS; a lab relay with a self-signed \
                     certificate also needs insecure=true (never in production)"
                }
                (_, true) => "",
                (_, false) => {
                    "; a lab relay with a self-signed certificate needs insecure=true (never \
                     in production)"
                }
            };
            return DeliverError::Incompatible {
                server,
                stage,
                detail: format!("{e}{hint}"),
            };
        }
        if e.is_client() {
            return DeliverError::Incompatible {
                server,
                stage,
                detail: e.to_string(),
            };
        }
        DeliverError::Connection {
            server,
            stage,
            detail: e.to_string(),
        }
    }

    fn scheme(&self) -> &'static str {
        if self.config.tls == TlsMode::Implicit {
            "smtps"
        } else {
            "smtp"
        }
    }

    fn incompatible(&self, stage: Stage, detail: &str) -> DeliverError {
        DeliverError::Incompatible {
            server: self.config.server(),
            stage,
            detail: detail.to_owned(),
        }
    }

    /// Everything after the greeting: STARTTLS, AUTH, the message.
    fn converse(
        &self,
        conn: &mut SmtpConnection,
        hello: &ClientId,
        msg: &lettre::Message,
        bytes: &[u8],
    ) -> Result<(), DeliverError> {
        if let (TlsMode::StartTls, Some(params)) = (self.config.tls, &self.tls) {
            if !conn.can_starttls() {
                return Err(self.incompatible(
                    Stage::StartTls,
                    "the server does not offer STARTTLS, and messages are not sent in plain \
                     text unless the url says so; enable STARTTLS on the relay, use smtps:// \
                     if it speaks TLS from the first byte, or add tls=none to the url to send \
                     in plain text on a trusted network",
                ));
            }
            conn.starttls(params, hello)
                .map_err(|e| self.error(Stage::StartTls, e))?;
        }
        if let (Some(user), Some(password)) = (&self.config.user, &self.config.password) {
            if !conn.is_encrypted() && self.config.tls != TlsMode::None {
                return Err(self.incompatible(
                    Stage::Auth,
                    "the server does not offer STARTTLS, so the password would travel \
                     unencrypted; enable TLS on the relay, or say tls=none to allow this on a \
                     trusted network",
                ));
            }
            let credentials = Credentials::new(user.clone(), password.clone());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .map_err(|e| self.error(Stage::Auth, e))?;
        }
        // The message's final CRLF is the first half of the `CRLF . CRLF` that ends DATA,
        // which lettre writes itself; without this the relay would get one line more.
        let bytes = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
        conn.send(msg.envelope(), bytes)
            .map_err(|e| self.error(Stage::Send, e))?;
        Ok(())
    }
}

impl Transport for Smtp {
    fn deliver(&mut self, msg: &OutgoingMessage) -> Result<Receipt, DeliverError> {
        let message_id = message_id(msg)?;
        let message = build(msg)?;
        let bytes = formatted(&message);
        let hello = self.hello_name();
        let implicit = match self.config.tls {
            TlsMode::Implicit => self.tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.config.host.as_str(), self.config.port),
            Some(self.config.timeout),
            &hello,
            implicit,
            None,
        )
        .map_err(|e| self.error(Stage::Connect, e))?;
        let encryption = match self.converse(&mut conn, &hello, &message, &bytes) {
            Ok(()) => {
                // asked of the connection, not assumed from the url
                let encryption = match (conn.is_encrypted(), self.config.tls) {
                    (false, _) => Encryption::Plain,
                    (true, TlsMode::Implicit) => Encryption::Implicit,
                    (true, _) => Encryption::StartTls,
                };
                // The message is accepted; a failing QUIT changes nothing.
                let _ = conn.quit();
                encryption
            }
            Err(e) => {
                conn.abort();
                tracing::warn!(key = %msg.key, error = %e, "smtp delivery failed");
                return Err(e);
            }
        };
        match self.sent.iter_mut().find(|(e, _)| *e == encryption) {
            Some((_, n)) => *n += 1,
            None => self.sent.push((encryption, 1)),
        }
        tracing::info!(
            key = %msg.key,
            server = %self.config.server(),
            %message_id,
            encryption = encryption.name(),
            "sent"
        );
        Ok(Receipt {
            message_id,
            destination: format!(
                "{}://{} {} {}",
                self.scheme(),
                self.config.server(),
                if encryption == Encryption::Plain {
                    "in"
                } else {
                    "over"
                },
                encryption.name()
            ),
            already_delivered: false,
        })
    }

    fn describe(&self) -> String {
        let user = self
            .config
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let mut text = format!("{}://{user}{}", self.scheme(), self.config.server());
        if self.config.tls != TlsMode::Implicit {
            text.push_str(&format!(" (tls={})", self.config.tls.name()));
        }
        if self.config.insecure {
            text.push_str(" (insecure: any certificate accepted)");
        }
        if !self.sent.is_empty() {
            let counts: Vec<String> = self
                .sent
                .iter()
                .map(|(e, n)| {
                    let how = if *e == Encryption::Plain {
                        "in"
                    } else {
                        "over"
                    };
                    format!("{n} {how} {}", e.name())
                })
                .collect();
            text.push_str(&format!(", messages sent: {}", counts.join(", ")));
        }
        text
    }
}

/// Whether a network error is the TLS layer refusing the peer (untrusted certificate, not TLS
/// at all) rather than the network failing. lettre reports rustls' verdicts during the
/// handshake as I/O errors of kind `InvalidData`; resets and timeouts have other kinds and
/// stay transient.
fn tls_handshake_failed(stage: Stage, mode: TlsMode, e: &lettre::transport::smtp::Error) -> bool {
    let handshake =
        stage == Stage::StartTls || (stage == Stage::Connect && mode == TlsMode::Implicit);
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return handshake && io.kind() == std::io::ErrorKind::InvalidData;
        }
        source = err.source();
    }
    false
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("`%` must be followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes do not decode to UTF-8".to_owned())
}

/// The URL with the password replaced by `***`, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['?', '/']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `url` and compares the fields that matter.
    fn check(url: &str, host: &str, port: u16, tls: TlsMode, user: Option<&str>, pw: Option<&str>) {
        let c = SmtpConfig::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            (
                c.host.as_str(),
                c.port,
                c.tls,
                c.user.as_deref(),
                c.password.as_deref()
            ),
            (host, port, tls, user, pw),
            "{url}"
        );
    }

    fn check_err(url: &str, needle: &str) {
        let e = SmtpConfig::parse(url).expect_err(url).to_string();
        assert!(e.contains(needle), "{url}: {e:?} lacks {needle:?}");
        assert!(!e.contains("s3cret"), "{url}: password leaked in {e:?}");
        assert!(SmtpConfig::parse(url).unwrap_err().is_permanent());
    }

    #[test]
    fn parses_urls() {
        use TlsMode as T;
        check(
            "smtp://relay.example",
            "relay.example",
            25,
            T::StartTls,
            None,
            None,
        );
        check(
            "smtp://relay.example/",
            "relay.example",
            25,
            T::StartTls,
            None,
            None,
        );
        check(
            "SMTP://relay.example:2525",
            "relay.example",
            2525,
            T::StartTls,
            None,
            None,
        );
        check(
            "smtp://relay.example?tls=none",
            "relay.example",
            25,
            T::None,
            None,
            None,
        );
        check(
            "smtp://relay.example?tls=required",
            "relay.example",
            587,
            T::StartTls,
            None,
            None,
        );
        check(
            "smtps://relay.example",
            "relay.example",
            465,
            T::Implicit,
            None,
            None,
        );
        check("smtp://u@h:1", "h", 1, T::StartTls, Some("u"), None);
        check("smtp://u:p@h", "h", 25, T::StartTls, Some("u"), Some("p"));
        check(
            "smtp://u%40x.example:p%3A%40@h",
            "h",
            25,
            T::StartTls,
            Some("u@x.example"),
            Some("p:@"),
        );
        check(
            "smtp://u:p@ss@h",
            "h",
            25,
            T::StartTls,
            Some("u"),
            Some("p@ss"),
        );
        check("smtp://[::1]:2525", "::1", 2525, T::StartTls, None, None);
        check(
            "smtp://127.0.0.1?tls=starttls",
            "127.0.0.1",
            25,
            T::StartTls,
            None,
            None,
        );
        let c = SmtpConfig::parse("smtp://h?insecure=true&helo=me.example&timeout=5").unwrap();
        assert!(c.insecure);
        assert_eq!(c.helo.as_deref(), Some("me.example"));
        assert_eq!(c.timeout, Duration::from_secs(5));
        let c = SmtpConfig::parse("smtp://h").unwrap();
        assert!(!c.insecure);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(
            SmtpConfig::parse("smtp://[::1]").unwrap().server(),
            "[::1]:25"
        );
    }

    #[test]
    fn refuses_bad_urls_without_showing_the_password() {
        check_err("relay.example", "smtp://");
        check_err("http://u:s3cret@h", "scheme");
        check_err("smtp://u:s3cret@h:x", "port");
        check_err("smtp://u:s3cret@h:0", "port");
        check_err("smtp://u:s3cret@h:70000", "port");
        check_err("smtp://u:s3cret@h/path", "no path");
        check_err("smtp://u:s3cret@?tls=none", "host");
        check_err("smtp://:s3cret@h", "user name");
        check_err(
            "smtp://u:s3cret@h?tls=maybe",
            "use starttls (or required), or none",
        );
        check_err("smtp://u:s3cret@h?insecure=yes", "true or false");
        check_err("smtp://u:s3cret@h?port=1", "unknown parameter");
        check_err("smtp://u:s3cret@h?tls=none&tls=none", "twice");
        check_err("smtp://u:s3cret@h?timeout=0", "seconds");
        check_err("smtps://u:s3cret@h?tls=none", "smtps://");
        check_err("smtp://u:s3cret@[::1", "IPv6");
        check_err("smtp://u:s3cret@h%zz", "host");
        check_err("smtp://u%zz:s3cret@h", "hex");
    }

    #[test]
    fn password_comes_from_the_environment_when_the_url_has_none() {
        let env = |name: &str| (name == PASSWORD_ENV).then(|| "from-env".to_owned());
        let pw = |url| {
            Smtp::from_url_with_env(url, env)
                .unwrap()
                .config()
                .password
                .clone()
        };
        assert_eq!(pw("smtp://u@h").as_deref(), Some("from-env"));
        assert_eq!(pw("smtp://u:in-url@h").as_deref(), Some("in-url"));
        assert_eq!(pw("smtp://h"), None, "no user, no password");
        let err = Smtp::from_url_with_env("smtp://u@h", |_| None).unwrap_err();
        assert!(err.to_string().contains(PASSWORD_ENV), "{err}");
    }

    #[test]
    fn user_without_password_is_a_config_error() {
        let config = SmtpConfig::parse("smtp://u@h").unwrap();
        let e = Smtp::new(config).unwrap_err();
        assert!(e.to_string().contains(PASSWORD_ENV), "{e}");
    }

    #[test]
    fn describe_and_debug_hide_the_password() {
        let smtp =
            Smtp::new(SmtpConfig::parse("smtp://u:s3cret@h:2525?tls=required").unwrap()).unwrap();
        assert_eq!(smtp.describe(), "smtp://u@h:2525 (tls=starttls)");
        assert!(!format!("{smtp:?}").contains("s3cret"));
        let smtps = Smtp::new(SmtpConfig::parse("smtps://h?insecure=true").unwrap()).unwrap();
        assert_eq!(
            smtps.describe(),
            "smtps://h:465 (insecure: any certificate accepted)"
        );
    }
}
