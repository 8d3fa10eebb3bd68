//! Failed authentications are rate-limited per client address: after
//! [`MAX_FAILURES`] (or the configured number of) refused tokens within [`WINDOW`], every request from that address is
//! answered 429 until the window has passed, so tokens cannot be guessed at speed.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State as Extract};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{Problem, State};

/// Refused tokens an address may send within [`WINDOW`], unless the service is told
/// otherwise (`baken serve --max-failed-logins`).
pub const MAX_FAILURES: usize = 10;
/// The window of [`MAX_FAILURES`].
pub const WINDOW: Duration = Duration::from_secs(60);

/// Recent failed authentications, by client address.
pub struct Failures {
    by: Mutex<HashMap<String, VecDeque<Instant>>>,
    max: usize,
}

impl Default for Failures {
    fn default() -> Self {
        Failures::new(MAX_FAILURES)
    }
}

impl Failures {
    /// A limit of `max` refused tokens per address within [`WINDOW`].
    pub fn new(max: usize) -> Failures {
        Failures {
            by: Mutex::default(),
            max: max.max(1),
        }
    }

    /// Seconds until `client` may try again, when it is over the limit.
    fn blocked(&self, client: &str, now: Instant) -> Option<u64> {
        let mut by = self.by.lock().unwrap_or_else(|e| e.into_inner());
        let seen = by.get_mut(client)?;
        while seen
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            seen.pop_front();
        }
        if seen.is_empty() {
            by.remove(client);
            return None;
        }
        (seen.len() >= self.max).then(|| {
            let oldest = *seen.front().expect("not empty");
            (WINDOW.saturating_sub(now.duration_since(oldest))).as_secs() + 1
        })
    }

    fn failed(&self, client: String, now: Instant) {
        let mut by = self.by.lock().unwrap_or_else(|e| e.into_inner());
        // bounded: an address keeps at most its last `max` failures
        let seen = by.entry(client).or_default();
        seen.push_back(now);
        while seen.len() > self.max {
            seen.pop_front();
        }
    }
}

/// Refuses a client over the limit; counts each 401 answered to it.
pub async fn limited(Extract(state): Extract<State>, request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    let now = Instant::now();
    if let Some(wait) = state.failures.blocked(&client, now) {
        let mut response = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many refused tokens from this address; try again in {wait} s"),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        tracing::warn!(client = %client, "refused: too many failed authentications");
        return response;
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        state.failures.failed(client, now);
    }
    response
}
