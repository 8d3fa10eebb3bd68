//! The web pages of `baken serve`: server-rendered HTML over the same application core as
//! the API, for the parties (their findings, evidence and what to do; acknowledge, mark
//! fixed, add a note; downloads; their contacts and webhooks) and for analysts (incidents
//! with their remediation curve and timeline, coverage and the unreached, `why`, `whatif`,
//! the registry, the quarantine, the audit log).
//!
//! Every page works without JavaScript and none is served: the Content-Security-Policy
//! allows the service's own stylesheet and nothing else. A login exchanges a token for a
//! session cookie (HttpOnly, SameSite=Strict, Secure over TLS); every form carries a CSRF
//! token bound to the login, and a POST whose `Origin` names another site is refused.
//! What a party sees is what the API shows it — [`App::visible`] decides, and every read of
//! findings is audited as a disclosure.

mod session;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Form, Path, Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use baken_app::{App, AppError, Said, SaidResult, Viewer, VisibleFinding};
use baken_model::{OrgId, Tlp};
use baken_store::{FindingState, TransitionRecord};
use minijinja::{Environment, Value, context};
use serde::{Deserialize, Serialize};

pub use session::Sessions;
use session::{COOKIE, LOGIN_COOKIE};

use crate::api::ApiFinding;
use crate::{Problem, State};

/// Findings a page lists.
const PAGE: usize = 200;

/// The pages' templates, embedded at compile time.
const TEMPLATES: [(&str, &str); 13] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "findings.html",
        include_str!("../../templates/findings.html"),
    ),
    ("finding.html", include_str!("../../templates/finding.html")),
    ("me.html", include_str!("../../templates/me.html")),
    (
        "incidents.html",
        include_str!("../../templates/incidents.html"),
    ),
    (
        "incident.html",
        include_str!("../../templates/incident.html"),
    ),
    ("why.html", include_str!("../../templates/why.html")),
    ("whatif.html", include_str!("../../templates/whatif.html")),
    (
        "registry.html",
        include_str!("../../templates/registry.html"),
    ),
    (
        "quarantine.html",
        include_str!("../../templates/quarantine.html"),
    ),
    ("audit.html", include_str!("../../templates/audit.html")),
];

/// The stylesheet, the one resource pages load.
const STYLESHEET: &str = include_str!("../../static/baken.css");

/// What every page answer carries: nothing may load from elsewhere, nothing may run, no form
/// may post elsewhere, and no other site may frame the page.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // a drill's incident is marked as one wherever a page names it
    env.add_function("exercise_of", |incident: &str| {
        baken_pipeline::exercise::exercise_of(incident).map(str::to_string)
    });
    for (name, text) in TEMPLATES {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("page template {name} does not parse: {e:#}"));
    }
    env
});

/// A page's context: each value given as what it serialises to.
macro_rules! page {
    ($($key:ident => $value:expr),* $(,)?) => {
        context! { $($key => Value::from(minijinja::value::Serde(&$value))),* }
    };
}

/// The pages' routes.
pub(crate) fn routes() -> Router<State> {
    Router::new()
        .route("/", get(index))
        .route("/static/baken.css", get(stylesheet))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/findings", get(findings_page))
        .route("/findings.csv", get(findings_csv))
        .route("/findings.json", get(findings_json))
        .route("/findings/{id}", get(finding_page))
        .route("/findings/{id}/{action}", post(finding_action))
        .route("/me", get(me_page))
        .route("/incidents", get(incidents_page))
        .route("/incidents/{id}", get(incident_page))
        .route("/why", get(why_page))
        .route("/whatif", get(whatif_page))
        .route("/registry", get(registry_page))
        .route("/quarantine", get(quarantine_page))
        .route("/audit", get(audit_page))
}

/// Adds the headers every answer of the service carries (pages and API alike).
pub(crate) async fn secure_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Why a page is not shown.
#[derive(Debug)]
pub(crate) enum WebError {
    /// No session (or its token is no longer valid): log in first.
    Login,
    /// Another failure, with its status and what to tell the reader.
    Page(StatusCode, String),
}

impl From<Problem> for WebError {
    fn from(p: Problem) -> WebError {
        if p.status == StatusCode::UNAUTHORIZED.as_u16() {
            WebError::Login
        } else {
            WebError::Page(
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                p.detail,
            )
        }
    }
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> WebError {
        Problem::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Login => see_other("/login", Vec::new()),
            WebError::Page(status, detail) => {
                let ctx = page! {
                    status => status.as_u16(),
                    title => status.canonical_reason().unwrap_or("error"),
                    detail => detail,
                };
                match render("error.html", ctx) {
                    Ok(html) => (status, html).into_response(),
                    Err(_) => (status, detail).into_response(),
                }
            }
        }
    }
}

/// A 303 to `to`, setting `cookies`.
fn see_other(to: &str, cookies: Vec<String>) -> Response {
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn render(name: &str, ctx: Value) -> Result<Html<String>, Problem> {
    ENVIRONMENT
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| Problem::internal(&format!("page {name}: {e:#}")))
}

/// Whether the page was served over TLS (by a proxy in front that says so), so that cookies
/// are marked Secure.
fn over_tls(state: &State, headers: &HeaderMap) -> bool {
    state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A browser's session, or [`WebError::Login`].
fn session(state: &State, headers: &HeaderMap) -> Result<(String, session::Session), WebError> {
    let id = session::cookie(headers, COOKIE).ok_or(WebError::Login)?;
    let s = state.sessions.get(&id).ok_or(WebError::Login)?;
    Ok((id, s))
}

/// Refuses a form that does not carry the login's CSRF token, or that another site
/// posted (its `Origin` names another host).
fn check_form(headers: &HeaderMap, expected: &str, given: &str) -> Result<(), WebError> {
    let refused = || {
        WebError::Page(
            StatusCode::FORBIDDEN,
            "the form was not sent from this service's own page (or it expired); load the page again and resend".into(),
        )
    };
    if !session::same(expected, given) {
        return Err(refused());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if origin != "null" && !origin_host.eq_ignore_ascii_case(host) {
            return Err(refused());
        }
    }
    Ok(())
}

/// Who a session acts for.
#[derive(Debug, Clone, Serialize)]
struct Who {
    /// The party (registry id), or the analyst's organisation.
    party: String,
    /// Its name in the registry.
    name: Option<String>,
    /// Whether an analyst.
    analyst: bool,
    #[serde(skip)]
    viewer: Viewer,
}

fn who(app: &mut App, token: &str) -> Result<Who, Problem> {
    let viewer = app.authenticate(token)?;
    let party = app.token_party(token)?;
    let name = app
        .attributor()?
        .organisation(&OrgId(party.clone()))
        .map(|o| o.name.clone());
    Ok(Who {
        analyst: viewer == Viewer::Analyst,
        party,
        name,
        viewer,
    })
}

/// Runs `f` on the application core for the logged-in viewer (an analyst only when
/// `analysts_only`), with the service's policy and the login's CSRF token; without a valid
/// session, the answer is the login page.
async fn as_viewer<T: Send + 'static>(
    state: &State,
    headers: &HeaderMap,
    analysts_only: bool,
    f: impl FnOnce(&mut App, &str, Who, String) -> Result<T, Problem> + Send + 'static,
) -> Result<T, WebError> {
    let (_, s) = session(state, headers)?;
    Ok(state
        .with(move |app, policy| {
            let w = who(app, &s.token)?;
            if analysts_only {
                analyst(&w)?;
            }
            f(app, policy, w, s.csrf)
        })
        .await?)
}

fn analyst(who: &Who) -> Result<(), Problem> {
    if who.analyst {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "this page covers every party: it is for analysts",
        ))
    }
}

/// A form's empty field is no filter.
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, WebError> {
    q.map(|Query(q)| q)
        .map_err(|e| WebError::Page(StatusCode::BAD_REQUEST, e.body_text()))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn index(Extract(state): Extract<State>, headers: HeaderMap) -> Response {
    let Ok((_, s)) = session(&state, &headers) else {
        return see_other("/login", Vec::new());
    };
    match state.with(move |app, _| who(app, &s.token)).await {
        Ok(w) if w.analyst => see_other("/incidents", Vec::new()),
        Ok(_) => see_other("/findings", Vec::new()),
        Err(_) => see_other("/login", Vec::new()),
    }
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
    csrf: String,
}

/// The login page, tied to this browser by a cookie its form must send back.
fn login_page(
    state: &State,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let nonce = session::secret();
    let ctx = page! { csrf => nonce.clone(), error => error };
    match render("login.html", ctx) {
        Ok(html) => {
            let mut response = (status, html).into_response();
            let c = session::set_cookie(
                LOGIN_COOKIE,
                &nonce,
                "/login",
                Some(3600),
                over_tls(state, headers),
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(p) => WebError::from(p).into_response(),
    }
}

async fn login_form(Extract(state): Extract<State>, headers: HeaderMap) -> Response {
    if let Ok((_, s)) = session(&state, &headers)
        && state.with(move |app, _| who(app, &s.token)).await.is_ok()
    {
        return see_other("/", Vec::new());
    }
    login_page(&state, &headers, StatusCode::OK, None)
}

async fn login(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            Some("The form was incomplete; paste your token and log in."),
        );
    };
    let nonce = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if nonce.is_empty() || !session::same(&nonce, &form.csrf) {
        return login_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            Some("The login form expired or was not this service's own; log in again."),
        );
    }
    let token = form.token.trim().to_string();
    let checked = {
        let token = token.clone();
        state.with(move |app, _| who(app, &token)).await
    };
    match checked {
        Ok(w) => {
            tracing::info!(party = %w.party, analyst = w.analyst, "web login");
            let id = state.sessions.open(token);
            let tls = over_tls(&state, &headers);
            see_other(
                "/",
                vec![
                    session::set_cookie(COOKIE, &id, "/", None, tls),
                    session::set_cookie(LOGIN_COOKIE, "", "/login", Some(0), tls),
                ],
            )
        }
        // a 401 is counted by the limiter, as a refused token of the API is
        Err(p) if p.status == StatusCode::UNAUTHORIZED.as_u16() => login_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("That token is not valid: it is unknown, revoked or expired."),
        ),
        Err(p) => WebError::from(p).into_response(),
    }
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let (id, s) = session(&state, &headers)?;
    let Ok(Form(form)) = form else {
        return Err(WebError::Page(
            StatusCode::BAD_REQUEST,
            "the form was incomplete".into(),
        ));
    };
    check_form(&headers, &s.csrf, &form.csrf)?;
    state.sessions.close(&id);
    Ok(see_other(
        "/login",
        vec![session::set_cookie(
            COOKIE,
            "",
            "/",
            Some(0),
            over_tls(&state, &headers),
        )],
    ))
}

/// The filters of the findings page and its downloads.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    incident: Option<String>,
    state: Option<String>,
    after: Option<i64>,
}

/// What a viewer may see, filtered by incident and state; also the counts by state before
/// the state filter.
struct Listed {
    findings: Vec<VisibleFinding>,
    by_state: Vec<(String, usize)>,
    incidents: Vec<String>,
    counts: Vec<crate::api::ApiCounts>,
}

fn listed(
    app: &mut App,
    who: &Who,
    policy: &str,
    q: &ListQuery,
    purpose: &str,
) -> Result<Listed, Problem> {
    let incident = given(q.incident.clone());
    let wanted = match given(q.state.clone()) {
        Some(s) => Some(FindingState::parse(&s).ok_or_else(|| {
            Problem::new(StatusCode::BAD_REQUEST, format!("unknown state {s:?}"))
        })?),
        None => None,
    };
    let all_incidents: Vec<String> = if who.analyst {
        baken_store::FindingStore::incidents(app.store())?
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    } else {
        Vec::new()
    };
    let visible = app.visible(&who.viewer, incident.as_deref(), policy, purpose)?;
    let mut by_state: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    let mut incidents: Vec<String> = all_incidents;
    for f in &visible.findings {
        let s = f.finding.state.clone();
        let order = FindingState::parse(&s)
            .and_then(|st| FindingState::ALL.iter().position(|a| *a == st))
            .unwrap_or(usize::MAX);
        by_state.entry(order).or_insert((s, 0)).1 += 1;
        if !incidents.contains(&f.finding.incident) {
            incidents.push(f.finding.incident.clone());
        }
    }
    incidents.sort();
    let findings = visible
        .findings
        .into_iter()
        .filter(|f| wanted.is_none_or(|s| f.finding.state == s.as_str()))
        .collect();
    Ok(Listed {
        findings,
        by_state: by_state.into_values().collect(),
        incidents,
        counts: visible.counts.into_iter().map(Into::into).collect(),
    })
}

async fn findings_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, WebError> {
    let q = query(q)?;
    as_viewer(&state, &headers, false, move |app, policy, w, csrf| {
        let l = listed(app, &w, policy, &q, "GET /findings (web page)")?;
        let total = l.findings.len();
        let mut page: Vec<ApiFinding> = l
            .findings
            .into_iter()
            .filter(|f| q.after.is_none_or(|a| f.finding.id > a))
            .take(PAGE + 1)
            .map(ApiFinding::from)
            .collect();
        let next = (page.len() > PAGE).then(|| page[PAGE - 1].id);
        page.truncate(PAGE);
        let mut grouped: Vec<(String, Vec<ApiFinding>)> = Vec::new();
        for f in page {
            match grouped.last_mut() {
                Some((i, list)) if *i == f.incident => list.push(f),
                _ => grouped.push((f.incident.clone(), vec![f])),
            }
        }
        grouped.sort_by(|a, b| a.0.cmp(&b.0));
        let incident = given(q.incident.clone());
        let wanted = given(q.state.clone());
        let filter = serde_urlencoded::to_string([
            ("incident", incident.clone().unwrap_or_default()),
            ("state", wanted.clone().unwrap_or_default()),
        ])
        .unwrap_or_default();
        render(
            "findings.html",
            page! {
                me => w,
                csrf => csrf,
                groups => grouped,
                total => total,
                next => next,
                filter => filter,
                by_state => l.by_state,
                incidents => l.incidents,
                counts => l.counts,
                incident => incident,
                state => wanted,
                states => FindingState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            },
        )
    })
    .await
}

fn download_name(q: &ListQuery, ext: &str) -> String {
    let incident = given(q.incident.clone()).unwrap_or_else(|| "all".into());
    let safe: String = incident
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("baken-findings-{safe}.{ext}")
}

fn attachment(body: Vec<u8>, content_type: &'static str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /findings.csv`: the findings of the page's filter (every page), as CSV whose cells
/// a spreadsheet will not run as formulas.
async fn findings_csv(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = query(q)?;
    let name = download_name(&q, "csv");
    let body = as_viewer(&state, &headers, false, move |app, policy, w, _csrf| {
        let l = listed(app, &w, policy, &q, "GET /findings.csv (web page)")?;
        let mut out = csv::Writer::from_writer(Vec::new());
        let cell = baken_pipeline::notify::csv_cell;
        let write = |out: &mut csv::Writer<Vec<u8>>, row: Vec<String>| {
            out.write_record(&row)
                .map_err(|e| Problem::internal(&e.to_string()))
        };
        write(
            &mut out,
            [
                "id",
                "incident",
                "source.ip",
                "source.fqdn",
                "source.port",
                "protocol.transport",
                "org",
                "state",
                "first_seen",
                "last_seen",
                "times_seen",
                "path",
                "form",
            ]
            .map(String::from)
            .to_vec(),
        )?;
        for f in l.findings.into_iter().map(ApiFinding::from) {
            write(
                &mut out,
                vec![
                    f.id.to_string(),
                    cell(&f.incident),
                    cell(f.source_ip.as_deref().unwrap_or("")),
                    cell(f.source_fqdn.as_deref().unwrap_or("")),
                    f.source_port.map(|p| p.to_string()).unwrap_or_default(),
                    cell(f.protocol_transport.as_deref().unwrap_or("")),
                    cell(f.org.as_deref().unwrap_or("")),
                    f.state,
                    f.first_seen,
                    f.last_seen,
                    f.times_seen.to_string(),
                    f.path,
                    f.form,
                ],
            )?;
        }
        out.into_inner()
            .map_err(|e| Problem::internal(&e.to_string()))
    })
    .await?;
    Ok(attachment(body, "text/csv; charset=utf-8", name))
}

/// `GET /findings.json`: the same as JSON, shaped as the API's `{"findings": [...]}`.
async fn findings_json(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = query(q)?;
    let name = download_name(&q, "json");
    let body = as_viewer(&state, &headers, false, move |app, policy, w, _csrf| {
        let l = listed(app, &w, policy, &q, "GET /findings.json (web page)")?;
        let findings: Vec<ApiFinding> = l.findings.into_iter().map(ApiFinding::from).collect();
        serde_json::to_vec_pretty(&serde_json::json!({"findings": findings, "counts": l.counts}))
            .map_err(|e| Problem::internal(&e.to_string()))
    })
    .await?;
    Ok(attachment(body, "application/json", name))
}

/// Whether a recorded note or change was said by `party` (through the API or these pages):
/// the service writes the party's id into `by` itself, after whatever name was given.
fn said_by(t: &TransitionRecord, party: &str) -> bool {
    t.by.as_deref().is_some_and(|by| {
        ["API", "web"]
            .iter()
            .any(|ch| by == format!("{party} ({ch})") || by.ends_with(&format!(" ({party}, {ch})")))
    })
}

/// One observation as a page shows it.
#[derive(Debug, Serialize)]
struct Seen {
    seen_at: Option<String>,
    feed: String,
    report: Option<String>,
    tlp: String,
    /// The input file and line: analysts only (a path on the CSIRT's machine).
    file: Option<String>,
    fields: Vec<(String, String)>,
}

/// Observations a page lists (the latest).
const OBSERVATIONS: usize = 10;

async fn finding_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
    said: Result<Query<BTreeMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, WebError> {
    let id: i64 = id
        .parse()
        .map_err(|_| WebError::Page(StatusCode::NOT_FOUND, format!("no finding {id:?}")))?;
    let said = said.ok().and_then(|Query(q)| q.get("said").cloned());
    as_viewer(&state, &headers, false, move |app, policy, w, csrf| {
        let visible =
            app.visible_finding(&w.viewer, id, policy, "GET /findings/{id} (web page)")?;
        let detail = app.finding(id)?;
        let advisory = app.advisory_context(&visible.finding.incident)?;
        let history: Vec<serde_json::Value> = detail
            .history
            .iter()
            .filter_map(|t| {
                let own = w.analyst || said_by(t, &w.party);
                // a party sees every change of state, but only its own notes
                if t.from == t.to && !own {
                    return None;
                }
                Some(serde_json::json!({
                    "at": t.at,
                    "from": t.from.as_str(),
                    "to": t.to.as_str(),
                    "cause": t.cause,
                    "by": if own { t.by.clone() } else { None },
                    "note": if own { t.note.clone() } else { None },
                }))
            })
            .collect();
        let total_seen = detail.observations.len();
        let seen: Vec<Seen> = detail
            .observations
            .iter()
            .rev()
            .take(OBSERVATIONS)
            .map(|o| Seen {
                seen_at: o.seen_at.clone(),
                feed: o.feed.clone(),
                report: o.report.clone(),
                tlp: o.tlp.clone(),
                file: w.analyst.then(|| format!("{}:{}", o.file, o.line)),
                fields: match serde_json::to_value(&o.event) {
                    Ok(serde_json::Value::Object(m)) => m
                        .into_iter()
                        .map(|(k, v)| {
                            let text = match v {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            };
                            (k, text)
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect();
        let state_now = FindingState::parse(&visible.finding.state);
        let can = |to: FindingState| state_now.is_some_and(|s| s.may_become(to).is_ok());
        render(
            "finding.html",
            page! {
                me => w,
                csrf => csrf,
                f => ApiFinding::from(visible),
                reason => detail.reason,
                history => history,
                seen => seen,
                total_seen => total_seen,
                advisory => advisory,
                said => said,
                can_acknowledge => can(FindingState::Acknowledged),
                can_fix => can(FindingState::MitigationClaimed),
            },
        )
    })
    .await
}

/// What an action form sends.
#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    by: Option<String>,
    note: Option<String>,
}

async fn finding_action(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let (_, s) = session(&state, &headers)?;
    let Ok(Form(form)) = form else {
        return Err(WebError::Page(
            StatusCode::BAD_REQUEST,
            "the form was incomplete".into(),
        ));
    };
    check_form(&headers, &s.csrf, &form.csrf)?;
    let id: i64 = id
        .parse()
        .map_err(|_| WebError::Page(StatusCode::NOT_FOUND, format!("no finding {id:?}")))?;
    let (to, done) = match action.as_str() {
        "acknowledge" => (Some(FindingState::Acknowledged), "acknowledged"),
        "fixed" => (Some(FindingState::MitigationClaimed), "fixed"),
        "notes" => (None, "noted"),
        _ => {
            return Err(WebError::Page(
                StatusCode::NOT_FOUND,
                "no such action".into(),
            ));
        }
    };
    let note = given(form.note);
    if to.is_none() && note.is_none() {
        return Err(WebError::Page(
            StatusCode::BAD_REQUEST,
            "a note needs its text".into(),
        ));
    }
    let by = given(form.by);
    state
        .with(move |app, policy| {
            let w = who(app, &s.token)?;
            // a party changes only findings it may see; others are not found
            app.visible_finding(&w.viewer, id, policy, "POST /findings/{id} (web page)")?;
            let by = match (w.analyst, by) {
                (true, Some(by)) => format!("{by} (analyst, web)"),
                (true, None) => "analyst (web)".into(),
                (false, Some(by)) => format!("{by} ({}, web)", w.party),
                (false, None) => format!("{} (web)", w.party),
            };
            let outcome = app
                .said(&Said {
                    ids: vec![id],
                    to,
                    by,
                    note,
                })?
                .into_iter()
                .next()
                .ok_or_else(|| Problem::internal("a change was asked for but none was answered"))?;
            match outcome.result {
                SaidResult::NoSuchFinding => Err(Problem::not_found(format!("no finding {id}"))),
                SaidResult::Refused { from, why } => Err(Problem::new(
                    StatusCode::CONFLICT,
                    format!("finding {id} is {}: {why}", from.as_str()),
                )),
                SaidResult::Applied { .. } | SaidResult::Already { .. } => Ok(()),
            }
        })
        .await?;
    Ok(see_other(
        &format!("/findings/{id}?said={done}"),
        Vec::new(),
    ))
}

async fn me_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    as_viewer(&state, &headers, false, move |app, _, w, csrf| {
        let org = app
            .attributor()?
            .organisation(&OrgId(w.party.clone()))
            .cloned();
        let webhooks: Vec<_> = app
            .webhooks()?
            .into_iter()
            .filter(|h| h.party == w.party)
            .map(|h| serde_json::json!({"id": h.id, "url": h.url, "created_at": h.created_at}))
            .collect();
        render(
            "me.html",
            page! { me => w, csrf => csrf, org => org, webhooks => webhooks },
        )
    })
    .await
}

async fn incidents_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    as_viewer(&state, &headers, true, move |app, policy, w, csrf| {
        let store = app.store();
        let incidents = baken_store::FindingStore::incidents(store)?;
        let states: Vec<(String, u64)> = baken_store::FindingStore::finding_states(store)?
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect();
        let messages: Vec<(String, u64)> = baken_store::MessageStore::message_states(store)?
            .into_iter()
            .map(|(s, n)| (format!("{s:?}").to_lowercase(), n))
            .collect();
        render(
            "incidents.html",
            page! {
                me => w,
                csrf => csrf,
                incidents => incidents,
                states => states,
                messages => messages,
                policy => policy,
            },
        )
    })
    .await
}

/// Parties a page lists before it says how many more there are.
const LISTED: usize = 100;

async fn incident_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    as_viewer(&state, &headers, true, move |app, policy, w, csrf| {
        let id = id.to_ascii_lowercase();
        if !baken_store::FindingStore::incidents(app.store())?
            .iter()
            .any(|(i, _)| *i == id)
        {
            return Err(Problem::not_found(format!("no incident {id:?}")));
        }
        let report = app.report(
            &id,
            policy,
            &baken_pipeline::report::ReportOptions::default(),
        )?;
        let curve = Value::from_safe_string(baken_pipeline::report::html::curve_svg(&report.curve));
        let mut timeline = app.timeline(&id)?;
        let timeline_total = timeline.len();
        if timeline.len() > LISTED {
            timeline.drain(..timeline.len() - LISTED);
        }
        let unreachable_total = report.unreachable.len();
        let unreachable: Vec<_> = report.unreachable.iter().take(LISTED).cloned().collect();
        let advisory = app.advisory_context(&id)?;
        render(
            "incident.html",
            context! { curve => curve, ..page! {
                me => w,
                csrf => csrf,
                id => id,
                policy => policy,
                reach => report.reach,
                findings => report.findings,
                stamps => report.timeline,
                timeline => timeline,
                timeline_total => timeline_total,
                unreachable => unreachable,
                unreachable_total => unreachable_total,
                advisory => advisory,
                time_to_fix => report.time_to_fix,
                policies => baken_policy::Policy::builtin_names().collect::<Vec<_>>() },
            },
        )
    })
    .await
}

/// The `why` form: a party (registry id, address or finding id) and an incident.
#[derive(Debug, Default, Deserialize)]
struct WhyQuery {
    incident: Option<String>,
    party: Option<String>,
}

async fn why_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    q: Result<Query<WhyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = query(q)?;
    as_viewer(&state, &headers, true, move |app, policy, w, csrf| {
        let incidents = baken_store::FindingStore::incidents(app.store())?;
        let (incident, party) = (given(q.incident), given(q.party));
        let (why, error, status) = match (&incident, &party) {
            (Some(i), Some(p)) => match app.why(p, i, policy, Tlp::Amber) {
                Ok(why) => (Some(why), None, StatusCode::OK),
                Err(AppError::NotFound(m) | AppError::Usage(m)) => {
                    (None, Some(m), StatusCode::NOT_FOUND)
                }
                Err(e) => return Err(e.into()),
            },
            _ => (None, None, StatusCode::OK),
        };
        let html = render(
            "why.html",
            page! {
                me => w,
                csrf => csrf,
                policy => policy,
                incidents => incidents,
                incident => incident,
                party => party,
                why => why,
                error => error,
            },
        )?;
        Ok((status, html).into_response())
    })
    .await
}

/// The `whatif` form: an incident and a shipped policy to compare with the service's.
#[derive(Debug, Default, Deserialize)]
struct WhatIfQuery {
    incident: Option<String>,
    policy: Option<String>,
}

async fn whatif_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    q: Result<Query<WhatIfQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = query(q)?;
    as_viewer(&state, &headers, true, move |app, policy, w, csrf| {
        let incidents = baken_store::FindingStore::incidents(app.store())?;
        let policies: Vec<&str> = baken_policy::Policy::builtin_names().collect();
        let (incident, other) = (given(q.incident), given(q.policy));
        let (whatif, error, status) = match (&incident, &other) {
            // only a shipped policy: a page may not make the service read a file
            (Some(_), Some(o)) if !policies.contains(&o.as_str()) => (
                None,
                Some(format!(
                    "{o:?} is not a shipped policy ({})",
                    policies.join(", ")
                )),
                StatusCode::BAD_REQUEST,
            ),
            (Some(i), Some(o)) => match app.whatif(o, policy, i, Tlp::Amber) {
                Ok(r) => (Some(r), None, StatusCode::OK),
                Err(AppError::NotFound(m) | AppError::Usage(m)) => {
                    (None, Some(m), StatusCode::NOT_FOUND)
                }
                Err(e) => return Err(e.into()),
            },
            _ => (None, None, StatusCode::OK),
        };
        let html = render(
            "whatif.html",
            page! {
                me => w,
                csrf => csrf,
                policy => policy,
                policies => policies,
                incidents => incidents,
                incident => incident,
                other => other,
                whatif => whatif,
                error => error,
            },
        )?;
        Ok((status, html).into_response())
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn registry_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, WebError> {
    let q = query(q)?;
    as_viewer(&state, &headers, true, move |app, _, w, csrf| {
        let text = given(q.q).unwrap_or_default();
        let (found, total) = app.search_registry(&text, LISTED)?;
        render(
            "registry.html",
            page! { me => w, csrf => csrf, q => text, found => found, total => total },
        )
    })
    .await
}

async fn quarantine_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    as_viewer(&state, &headers, true, move |app, _, w, csrf| {
        let (rows, total) = app.quarantined(LISTED * 2)?;
        render(
            "quarantine.html",
            page! { me => w, csrf => csrf, rows => rows, total => total },
        )
    })
    .await
}

async fn audit_page(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    as_viewer(&state, &headers, true, move |app, _, w, csrf| {
        let verified = app.verify_audit(None, &[], None)?;
        let mut latest = app.audit_log()?;
        let skip = latest.len().saturating_sub(50);
        latest.drain(..skip);
        latest.reverse();
        render(
            "audit.html",
            page! { me => w, csrf => csrf, verified => verified, latest => latest },
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            ENVIRONMENT.get_template(name).expect(name);
        }
    }

    #[test]
    fn an_exercise_incident_is_marked_as_one() {
        let html = render(
            "incidents.html",
            page! {
                me => serde_json::json!({"party": "ncsc", "analyst": true}),
                csrf => "x",
                incidents => vec![("exercise-drill1-cve-2019-19781", 2), ("cve-2019-19781", 3)],
                states => Vec::<(String, u64)>::new(),
                messages => Vec::<(String, u64)>::new(),
                policy => "nl-2020",
            },
        )
        .unwrap()
        .0;
        assert_eq!(html.matches("EXERCISE drill1").count(), 1, "{html}");
    }

    #[test]
    fn a_party_sees_its_own_words_only() {
        let t = |by: &str| TransitionRecord {
            finding: 1,
            at: "2026-03-24T06:00:00Z".into(),
            from: FindingState::Notified,
            to: FindingState::Notified,
            cause: baken_store::Cause::Analyst,
            reference: None,
            by: Some(by.into()),
            note: Some("n".into()),
        };
        assert!(said_by(&t("org-1 (web)"), "org-1"));
        assert!(said_by(&t("Jan (org-1, API)"), "org-1"));
        assert!(
            !said_by(&t("org-1 (org-2, web)"), "org-1"),
            "a name given by org-2"
        );
        assert!(!said_by(&t("x (org-1, web) (org-2, web)"), "org-1"));
        assert!(!said_by(&t("org-10 (web)"), "org-1"));
    }
}
