//! Webhooks as the Standard Webhooks specification describes them: a JSON event POSTed with
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, the signature an
//! HMAC-SHA256 over `id.timestamp.body` with the webhook's secret (`whsec_` and base64).
//! The id is the event's and stays the same on every attempt, so a receiver drops repeats.
//!
//! ```
//! use baken_deliver::webhook;
//! let secret = webhook::new_secret();
//! let signed = webhook::sign(&secret, "evt_1", 1_700_000_000, "{}").unwrap();
//! assert!(signed.starts_with("v1,"));
//! assert!(webhook::verify(&secret, "evt_1", 1_700_000_000, "{}", &signed));
//! assert!(!webhook::verify(&secret, "evt_2", 1_700_000_000, "{}", &signed));
//! ```

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: 24 random bytes, as `whsec_` and base64.
pub fn new_secret() -> String {
    let key: [u8; 24] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// The `webhook-signature` value of `body` sent as event `id` at `timestamp` (Unix
/// seconds): `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. `None` when the secret
/// is not base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)?).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `signature` (one or more space-separated `v1,…` values) signs `body` as event
/// `id` at `timestamp`; what a receiver checks.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &str, signature: &str) -> bool {
    let Some(key) = key_of(secret) else {
        return false;
    };
    signature.split(' ').any(|s| {
        let Some(given) = s.strip_prefix("v1,").and_then(|b| STANDARD.decode(b).ok()) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        mac.verify_slice(&given).is_ok()
    })
}

/// POSTs `body` to `url` as event `id`, signed with `secret`, at `timestamp`; the status of
/// the answer, or why there was none. Waits at most `timeout` for the receiver.
pub fn post(
    url: &str,
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
    timeout: Duration,
) -> Result<u16, String> {
    let signature = sign(secret, id, timestamp, body)
        .ok_or_else(|| "the webhook's secret is not base64".to_string())?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    agent
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", &timestamp.to_string())
        .header("webhook-signature", &signature)
        .send(body)
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}
