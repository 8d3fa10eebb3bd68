//! `security.txt` (RFC 9116) over HTTPS: `https://<domain>/.well-known/security.txt`, with
//! the rules of section 3: HTTPS only (plain http is refused, loopback included), redirects
//! followed only within the same host and at most [`MAX_REDIRECTS`] of them, a size limit
//! and timeouts. The bytes are handed back; reading them is `baken-attribute`'s.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// Redirects followed, each to the same host.
pub const MAX_REDIRECTS: usize = 3;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct WellKnownOptions {
    /// The largest file accepted, in bytes.
    pub max_size: u64,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request, start to last byte.
    pub timeout: Duration,
    /// Where a domain's file is: `{domain}` is replaced by the domain. Default
    /// `https://{domain}/.well-known/security.txt`; tests point it at a loopback server.
    pub url_template: String,
    /// Extra trusted root certificates (PEM), besides the Mozilla roots: for a test server's
    /// self-signed certificate only.
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl Default for WellKnownOptions {
    fn default() -> Self {
        WellKnownOptions {
            max_size: 32 * 1024,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            url_template: "https://{domain}/.well-known/security.txt".into(),
            extra_roots_pem: None,
        }
    }
}

/// Fetches security.txt files.
pub struct WellKnown {
    agent: ureq::Agent,
    options: WellKnownOptions,
}

impl WellKnown {
    /// An HTTPS client with `options`; fails on unreadable extra roots.
    pub fn new(options: WellKnownOptions) -> Result<Self, String> {
        let mut config = ureq::Agent::config_builder()
            .user_agent(concat!("baken/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(true);
        if let Some(pem) = &options.extra_roots_pem {
            let mut roots: Vec<ureq::tls::Certificate<'static>> = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                if let ureq::tls::PemItem::Certificate(c) =
                    item.map_err(|e| format!("unreadable root certificate: {e}"))?
                {
                    roots.push(c);
                }
            }
            if roots.is_empty() {
                return Err("the root certificate file holds no certificate".into());
            }
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                    .build(),
            );
        }
        Ok(WellKnown {
            agent: config.build().new_agent(),
            options,
        })
    }

    /// The file of `domain` and its final URL; `Ok(None)` when the server has none (404 or
    /// 410); `Err` says why it could not be fetched.
    pub fn fetch(&self, domain: &str) -> Result<Option<(Vec<u8>, String)>, String> {
        if domain.is_empty()
            || !domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(format!("{domain:?} is not a domain name"));
        }
        let first = Url::parse(&self.options.url_template.replace("{domain}", domain))
            .map_err(|e| format!("bad url for {domain}: {e}"))?;
        let mut url = first.clone();
        for _ in 0..=MAX_REDIRECTS {
            if url.scheme() != "https" {
                return Err(format!(
                    "refusing {url}: security.txt is read over https only"
                ));
            }
            if url.host() != first.host()
                || url.port_or_known_default() != first.port_or_known_default()
            {
                return Err(format!(
                    "refusing the redirect to {url}: RFC 9116 allows redirects within the same host only"
                ));
            }
            let response = self
                .agent
                .get(url.as_str())
                .call()
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| format!("{url}: redirect without a location"))?;
                url = url
                    .join(location)
                    .map_err(|e| format!("{url}: redirect to {location:?}: {e}"))?;
                continue;
            }
            if status == 404 || status == 410 {
                return Ok(None);
            }
            if status != 200 {
                return Err(format!("{url}: http status {status}"));
            }
            let body = response
                .into_body()
                .into_with_config()
                .limit(self.options.max_size)
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(n) => {
                        format!("{url}: larger than the limit of {n} bytes")
                    }
                    e => format!("{url}: {e}"),
                })?;
            return Ok(Some((body, url.to_string())));
        }
        Err(format!("{first}: more than {MAX_REDIRECTS} redirects"))
    }
}
