//! `baken serve`: the API every party of the chain uses, over the application core.
//!
//! The server is a function, [`router`], from shared state to an axum `Router`; tests call
//! it without a socket. It does routing, authentication and rendering only: what a party
//! may see, and what its word does to a finding, is decided by `baken-app` — the same plan,
//! under the same policy, as the mail — and every read of findings by a party is written to
//! the audit log as a disclosure.
//!
//! Requests carry `Authorization: Bearer TOKEN` (made with `baken token create`). A party
//! sees its findings in the form the policy allows, a CERT its constituents' within its
//! mandate, the DTC and supervisors counts only; an analyst everything. A finding a party
//! may not see answers 404, exactly as one that does not exist. Errors are RFC 9457
//! problem details (`application/problem+json`). An address that sent too many refused
//! tokens is answered 429 for a while.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let app = baken_app::App::open("baken-data".as_ref())?;
//! let state = baken_server::State::new(app, "nl-2020");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, baken_server::router(state)).await?;
//! # Ok(()) }
//! ```

mod api;
pub mod config;
mod limit;
mod metrics;
pub mod openapi;
mod problem;
mod web;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use baken_app::App;

pub use config::Config;
pub use problem::Problem;

/// What every request shares: the application core (one at a time: a store connection is
/// not shared between threads) and the sharing policy that decides what parties see.
#[derive(Clone)]
pub struct State {
    app: Arc<Mutex<App>>,
    policy: Arc<str>,
    requests: Arc<metrics::Requests>,
    failures: Arc<limit::Failures>,
    sessions: Arc<web::Sessions>,
    secure_cookies: bool,
}

impl State {
    /// State over `app`, deciding under `policy` (a shipped policy's name or a file).
    pub fn new(app: App, policy: &str) -> State {
        State {
            app: Arc::new(Mutex::new(app)),
            policy: policy.into(),
            requests: Arc::default(),
            failures: Arc::default(),
            sessions: Arc::default(),
            secure_cookies: false,
        }
    }

    /// Marks session cookies Secure whatever the request says (for a service behind a TLS
    /// proxy that does not send `X-Forwarded-Proto: https`).
    pub fn with_secure_cookies(mut self, secure: bool) -> State {
        self.secure_cookies = secure;
        self
    }

    /// Allows `max` refused tokens per client address a minute (10 unless set) before the
    /// address is answered 429.
    pub fn with_failed_login_limit(mut self, max: usize) -> State {
        self.failures = Arc::new(limit::Failures::new(max));
        self
    }

    /// Runs `f` on the application core off the async reactor (store calls block).
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut App, &str) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let app = self.app.clone();
        let policy = self.policy.clone();
        tokio::task::spawn_blocking(move || {
            let mut app = app.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut app, &policy)
        })
        .await
        .map_err(|e| Problem::internal(&format!("a request's work stopped: {e}")))?
    }
}

/// Serves `router(state)` on `listener` until SIGTERM or Ctrl-C; requests under way are
/// answered before it returns.
pub async fn serve(listener: tokio::net::TcpListener, state: State) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
}

/// Every `every`, queues the findings that changed for each webhook and delivers what is
/// due; a failed pass is logged and the next one tries again. Runs until the process ends;
/// the queue is in the store, so nothing is lost when it does.
pub async fn webhooks(state: State, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let pass = state
            .with(|app, policy| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                Ok(app.webhook_pass(policy, now)?)
            })
            .await;
        match pass {
            Ok(p) if p.queued + p.delivered + p.failed > 0 => tracing::info!(
                queued = p.queued,
                delivered = p.delivered,
                failed = p.failed,
                "webhooks"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.detail, "webhook pass failed"),
        }
    }
}

/// Every `every`, takes in what was dropped into the intake directory `dir` (see
/// `baken_app::App::intake`): feeds ingested, advisories imported, names in `lookalike/`
/// scanned for lookalikes and recorded, unreadable files set aside with why.
pub async fn intake(state: State, dir: std::path::PathBuf, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let dir = dir.clone();
        let pass = state
            .with(move |app, policy| {
                Ok(app.intake(&dir, policy, &baken_store::Label::default())?)
            })
            .await;
        match pass {
            Ok(p)
                if !(p.ingested.is_empty()
                    && p.advisories.is_empty()
                    && p.lookalikes.is_empty()
                    && p.failed.is_empty()) =>
            {
                tracing::info!(
                    files = p.ingested.len(),
                    rows = p.ingested.iter().map(|s| s.read).sum::<u64>(),
                    advisories = p.advisories.len(),
                    lookalike_files = p.lookalikes.len(),
                    lookalikes_new = p
                        .lookalikes
                        .iter()
                        .map(|(_, r)| r.new_findings)
                        .sum::<u64>(),
                    failed = p.failed.len(),
                    "intake"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.detail, "intake pass failed"),
        }
    }
}

/// Where the scheduled notify rounds deliver.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// `.eml` files in a directory (idempotent: a message is never written twice).
    Outbox(std::path::PathBuf),
    /// An SMTP relay, by its `smtp://` or `smtps://` URL.
    Smtp(String),
}

/// Every `every`, runs a notify round over every incident under the service's policy, from
/// `from`, delivering through `delivery`: first notices, follow-ups, reminders, escalations,
/// each recipient told only what it has not been told; the parties of `daily` at most once
/// a day. A failed round is logged and the next one tries again; a message is never sent
/// twice.
pub async fn notify_rounds(
    state: State,
    every: std::time::Duration,
    delivery: Delivery,
    from: String,
    daily: Option<baken_app::DailyDigest>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let delivery = delivery.clone();
        let from = from.clone();
        let daily = daily.clone();
        let round = state
            .with(move |app, policy| {
                let (mut transport, idempotent): (Box<dyn baken_deliver::Transport>, bool) =
                    match &delivery {
                        Delivery::Outbox(dir) => (
                            Box::new(
                                baken_deliver::Outbox::new(dir)
                                    .map_err(|e| Problem::internal(&e.to_string()))?,
                            ),
                            true,
                        ),
                        Delivery::Smtp(url) => (
                            Box::new(
                                baken_deliver::Smtp::from_url(url)
                                    .map_err(|e| Problem::internal(&e.to_string()))?,
                            ),
                            false,
                        ),
                    };
                let request = baken_app::NotifyRequest {
                    incident: None,
                    from,
                    tlp: baken_model::Tlp::Amber,
                    policy: policy.to_string(),
                    named: Vec::new(),
                    idempotent_transport: idempotent,
                    resend_uncertain: false,
                    daily,
                };
                Ok(app.notify(&request, transport.as_mut(), &baken_pipeline::NoProgress)?)
            })
            .await;
        match round {
            Ok(report) => {
                let sent: usize = report
                    .incidents
                    .iter()
                    .map(|o| o.digests.iter().filter(|d| d.delivered_now).count())
                    .sum();
                if sent > 0 || !report.undelivered.is_empty() {
                    tracing::info!(
                        incidents = report.incidents.len(),
                        sent,
                        undelivered = report.undelivered.len(),
                        "notify round"
                    );
                }
                for u in &report.undelivered {
                    tracing::warn!(message = %u, "not delivered");
                }
            }
            Err(e) => tracing::warn!(error = %e.detail, "notify round failed"),
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: answering the requests under way");
}

/// The service's routes.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/incidents", get(api::incidents))
        .route("/api/v1/incidents/{id}/report", get(api::report))
        .route("/api/v1/advisories", get(api::advisories))
        .route(
            "/api/v1/feeds",
            // a day's report of a national feed runs to hundreds of megabytes
            post(api::upload).layer(axum::extract::DefaultBodyLimit::max(api::MAX_UPLOAD)),
        )
        .route(
            "/api/v1/incident-reports",
            get(api::reports).post(api::file_report),
        )
        .route("/api/v1/findings", get(api::findings))
        .route("/api/v1/findings/{id}", get(api::finding))
        .route("/api/v1/findings/{id}/acknowledge", post(api::acknowledge))
        .route("/api/v1/findings/{id}/fixed", post(api::fixed))
        .route("/api/v1/findings/{id}/notes", post(api::note))
        .merge(web::routes())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::limited,
        ))
        .layer(axum::middleware::from_fn(web::secure_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::timed,
        ))
        .with_state(state)
}
