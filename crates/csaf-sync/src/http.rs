//! The HTTP side: one blocking `ureq` agent with timeouts, baken's User-Agent, a size cap
//! per response, and the URL policy (HTTPS, or plain HTTP to loopback only unless
//! [`Options::allow_http`](crate::Options::allow_http)) applied to every URL and every
//! redirect.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::Options;

/// Redirects followed per request, each checked against the URL policy.
const MAX_REDIRECTS: usize = 5;

/// Why a GET did not return a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// The server answered with this status (404 included).
    Status(u16),
    /// The URL (or a redirect target) is plain HTTP to a host that is not loopback.
    Insecure(String),
    /// The URL is neither http nor https, or a redirect target cannot be read.
    BadUrl(String),
    /// The body is larger than the limit (bytes).
    TooLarge(u64),
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects,
    /// Connection, TLS, timeout or protocol failure.
    Network(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(s) => write!(f, "http status {s}"),
            FetchError::Insecure(u) => write!(
                f,
                "refusing plain http to {u}: use https, or allow http explicitly"
            ),
            FetchError::BadUrl(e) => write!(f, "unusable url: {e}"),
            FetchError::TooLarge(n) => write!(f, "larger than the limit of {n} bytes"),
            FetchError::TooManyRedirects => write!(f, "more than {MAX_REDIRECTS} redirects"),
            FetchError::Network(e) => write!(f, "{e}"),
        }
    }
}

/// Checks a URL against the policy: https always; http only to loopback (127.0.0.0/8,
/// ::1, `localhost`) unless `allow_http`.
pub(crate) fn check_url(url: &Url, allow_http: bool) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        "http" => Err(FetchError::Insecure(url.to_string())),
        other => Err(FetchError::BadUrl(format!(
            "{url}: scheme {other:?} is not http or https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A configured agent.
pub(crate) struct Client {
    agent: ureq::Agent,
    allow_http: bool,
}

impl Client {
    pub(crate) fn new(options: &Options) -> Self {
        let mut config = ureq::Agent::config_builder()
            .user_agent(concat!("baken/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.timeout))
            // statuses and redirects are handled here, so 404 is a value and every
            // redirect target passes the URL policy
            .http_status_as_error(false)
            .max_redirects(0);
        if !options.use_env_proxy {
            config = config.proxy(None);
        }
        Client {
            agent: config.build().new_agent(),
            allow_http: options.allow_http,
        }
    }

    /// GETs `url`, following redirects, and returns the body if it is at most `limit`
    /// bytes.
    pub(crate) fn get(&self, url: &Url, limit: u64) -> Result<Vec<u8>, FetchError> {
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            check_url(&url, self.allow_http)?;
            let response = self
                .agent
                .get(url.as_str())
                .call()
                .map_err(|e| FetchError::Network(e.to_string()))?;
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        FetchError::BadUrl(format!("{url}: redirect without location"))
                    })?;
                url = url
                    .join(location)
                    .map_err(|e| FetchError::BadUrl(format!("redirect to {location:?}: {e}")))?;
                continue;
            }
            if status != 200 {
                return Err(FetchError::Status(status));
            }
            return response
                .into_body()
                .into_with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(n) => FetchError::TooLarge(n),
                    e => FetchError::Network(e.to_string()),
                });
        }
        Err(FetchError::TooManyRedirects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, allow_http: bool) -> bool {
        check_url(&Url::parse(url).unwrap(), allow_http).is_ok()
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check("https://csaf.example/x", false));
        assert!(check("http://127.0.0.1:8080/x", false));
        assert!(check("http://127.9.9.9/x", false));
        assert!(check("http://[::1]:80/x", false));
        assert!(check("http://localhost/x", false));
        assert!(!check("http://csaf.example/x", false));
        assert!(!check("http://198.18.0.1/x", false));
        assert!(check("http://csaf.example/x", true));
        assert!(!check("ftp://csaf.example/x", true));
        assert!(!check("file:///etc/passwd", true));
    }
}
