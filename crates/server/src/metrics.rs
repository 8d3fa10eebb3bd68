//! `GET /metrics`: what the service and the record hold, in Prometheus' text format — rows
//! stored and quarantined, findings by state, messages by state, and the latency of every
//! route by status. Only an analyst's token reads them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State as Extract};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{Problem, State};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Requests seen, by route and status.
#[derive(Default)]
pub struct Requests {
    by: Mutex<BTreeMap<(String, u16), Latencies>>,
}

#[derive(Default, Clone)]
struct Latencies {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

impl Requests {
    fn record(&self, route: String, status: u16, seconds: f64) {
        let mut by = self.by.lock().unwrap_or_else(|e| e.into_inner());
        let l = by.entry((route, status)).or_default();
        l.count += 1;
        l.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                l.buckets[i] += 1;
            }
        }
    }
}

/// Times and logs every request, by the route it matched (never the raw path, which would
/// hold ids).
pub async fn timed(Extract(state): Extract<State>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    // one line a request: the route's pattern, never the path (it holds ids), nor the token
    tracing::info!(
        method = %method,
        route = %route,
        status,
        elapsed_ms = (seconds * 1000.0) as u64,
        "request"
    );
    state.requests.record(route, status, seconds);
    response
}

/// `GET /metrics`, for an analyst's token (the counts are the whole record's, not one
/// party's).
pub async fn metrics(
    Extract(state): Extract<State>,
    headers: axum::http::HeaderMap,
) -> Result<Response, Problem> {
    let token = crate::api::bearer(&headers)?;
    let requests = state.requests.clone();
    let mut out = state
        .with(move |app, _| {
            if app.authenticate(&token)? != baken_app::Viewer::Analyst {
                return Err(Problem::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "the metrics are the whole record's: they need an analyst's token",
                ));
            }
            let store = app.store();
            let totals = store.totals()?;
            let findings = store.finding_states()?;
            let messages = store.message_states()?;
            let mut out = String::new();
            let _ = writeln!(out, "# HELP baken_observations Observations stored (rows accepted).\n# TYPE baken_observations gauge\nbaken_observations {}", totals.observations);
            let _ = writeln!(out, "# HELP baken_quarantined Input rows quarantined with a reason.\n# TYPE baken_quarantined gauge\nbaken_quarantined {}", totals.quarantined);
            let _ = writeln!(out, "# HELP baken_findings Findings by lifecycle state.\n# TYPE baken_findings gauge");
            for (s, n) in findings {
                let _ = writeln!(out, "baken_findings{{state=\"{}\"}} {n}", s.as_str());
            }
            let _ = writeln!(out, "# HELP baken_messages Messages by delivery state.\n# TYPE baken_messages gauge");
            for (s, n) in messages {
                let _ = writeln!(out, "baken_messages{{state=\"{}\"}} {n}", s.as_str());
            }
            Ok(out)
        })
        .await?;
    let by = requests
        .by
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let _ = writeln!(
        out,
        "# HELP baken_http_request_duration_seconds Time to answer a request, by route and status.\n# TYPE baken_http_request_duration_seconds histogram"
    );
    for ((route, status), l) in by {
        let labels = format!("route=\"{route}\",status=\"{status}\"");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "baken_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                l.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "baken_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\nbaken_http_request_duration_seconds_sum{{{labels}}} {}\nbaken_http_request_duration_seconds_count{{{labels}}} {}",
            l.count, l.sum, l.count
        );
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
