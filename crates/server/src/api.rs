//! The handlers of API v1. Each authenticates, hands the question to the application core
//! and renders the answer; none decides what a party may see.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use baken_app::{App, AppError, Said, SaidResult, Viewer, VisibleCounts, VisibleFinding};
use baken_model::OrgId;
use baken_store::FindingState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Problem, State};

/// The most findings one page holds.
const MAX_PAGE: usize = 1000;
/// Findings a page holds unless the request asks for fewer.
const DEFAULT_PAGE: usize = 100;

/// The token of a request, or 401.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<String, Problem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Problem::unauthorized(
                "send Authorization: Bearer TOKEN (made with `baken token create`)",
            )
        })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Problem::unauthorized("the Authorization header must be `Bearer TOKEN`"))?;
    Ok(token.to_string())
}

fn who(app: &App, token: &str) -> Result<Viewer, Problem> {
    Ok(app.authenticate(token)?)
}

/// `GET /healthz`: the service answers and its store can be read.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "the service answers and its store can be read", body = String, content_type = "text/plain")))]
pub async fn healthz(Extract(state): Extract<State>) -> Result<&'static str, Problem> {
    state
        .with(|app, _| {
            app.tokens()?;
            Ok("ok\n")
        })
        .await
}

/// Any route not served.
pub async fn not_found() -> Problem {
    Problem::not_found("no such resource; the API lives under /api/v1")
}

/// Who a token acts for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The party (registry id), or the analyst's organisation.
    pub party: String,
    /// Whether it is an analyst, who sees everything.
    pub analyst: bool,
    /// The party's name in the registry.
    pub name: Option<String>,
    /// Its kind (organisation, cert, hoster, supervisor, dtc, national-csirt).
    pub kind: Option<String>,
    /// Its contact addresses.
    pub contacts: Vec<String>,
    /// Its webhooks (never their secrets).
    pub webhooks: Vec<MyWebhook>,
}

/// A webhook of the caller's party.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyWebhook {
    /// Its id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// When it was added.
    pub created_at: String,
}

/// `GET /api/v1/me`: who the token acts for.
#[utoipa::path(get, path = "/api/v1/me", tag = "parties", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn me(Extract(state): Extract<State>, headers: HeaderMap) -> Result<Json<Me>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, _| {
            let viewer = who(app, &token)?;
            let party = app.token_party(&token)?;
            let attributor = app.attributor()?;
            let org = attributor.organisation(&OrgId(party.clone()));
            Ok(Json(Me {
                analyst: viewer == Viewer::Analyst,
                name: org.map(|o| o.name.clone()),
                kind: org.and_then(|o| {
                    serde_json::to_value(o.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                }),
                contacts: org
                    .map(|o| o.contacts.iter().map(|c| c.email.clone()).collect())
                    .unwrap_or_default(),
                webhooks: app
                    .webhooks()?
                    .into_iter()
                    .filter(|w| w.party == party)
                    .map(|w| MyWebhook {
                        id: w.id,
                        url: w.url,
                        created_at: w.created_at,
                    })
                    .collect(),
                party,
            }))
        })
        .await
}

/// The filters and page of `GET /api/v1/findings`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingsQuery {
    /// Only this incident.
    pub incident: Option<String>,
    /// Only findings in this state.
    #[param(value_type = Option<StateName>)]
    pub state: Option<String>,
    /// Only findings last seen at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// The page after this finding id (the `next` of the page before).
    pub after: Option<i64>,
    /// Findings per page.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// A finding's lifecycle state, as the `state` filter takes it.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code)] // the names are documentation; the filter is parsed by `FindingState`
pub enum StateName {
    /// Found, nobody told yet.
    Open,
    /// Told.
    Notified,
    /// Its owner said it is being handled.
    Acknowledged,
    /// Its owner said it is fixed.
    MitigationClaimed,
    /// A later report no longer holds it.
    VerifiedFixed,
    /// Seen again after it was fixed.
    Reopened,
    /// Still seen after the policy's deadline.
    Overdue,
    /// Still seen well after it.
    Escalated,
}

/// One page of findings.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingsPage {
    /// The findings, by id.
    pub findings: Vec<ApiFinding>,
    /// Counts the viewer may see only as aggregates (per incident and sector).
    pub counts: Vec<ApiCounts>,
    /// The `after` of the next page, when there is one.
    pub next: Option<i64>,
}

/// A finding as the API shows it: what `baken findings --json` prints, and how the caller
/// may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiFinding {
    /// Store id.
    pub id: i64,
    /// The incident (a CVE id in lower case, or a classification).
    pub incident: String,
    /// The address.
    #[serde(rename = "source.ip")]
    pub source_ip: Option<String>,
    /// The host name, when the finding has no address.
    #[serde(rename = "source.fqdn", skip_serializing_if = "Option::is_none")]
    pub source_fqdn: Option<String>,
    /// The port.
    #[serde(rename = "source.port")]
    pub source_port: Option<u16>,
    /// The transport.
    #[serde(rename = "protocol.transport")]
    pub protocol_transport: Option<String>,
    /// The registered organisation that owns it.
    pub org: Option<String>,
    /// The abuse contact it goes to, when nobody registered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abuse: Option<String>,
    /// The rule that attributed it.
    pub rule: String,
    /// Its lifecycle state.
    pub state: String,
    /// First seen (RFC 3339).
    pub first_seen: String,
    /// Last seen (RFC 3339).
    pub last_seen: String,
    /// Observations.
    pub times_seen: u64,
    /// The party it is about (its key).
    pub about: String,
    /// How the caller relates to that party: direct, cert, dtc, hoster, supervisor.
    pub path: String,
    /// The form the policy allows: full or own-assets.
    pub form: String,
    /// The policy's rule that decided it.
    pub policy_rule: Option<String>,
}

/// The text a unit enum serialises to.
fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl From<VisibleFinding> for ApiFinding {
    fn from(v: VisibleFinding) -> Self {
        let f = v.finding;
        ApiFinding {
            id: f.id,
            incident: f.incident,
            source_ip: f.source_ip,
            source_fqdn: f.source_fqdn,
            source_port: f.source_port,
            protocol_transport: f.protocol_transport,
            org: f.org,
            abuse: f.abuse,
            rule: f.rule,
            state: f.state,
            first_seen: f.first_seen,
            last_seen: f.last_seen,
            times_seen: f.times_seen,
            about: v.about.key(),
            path: text(&v.path),
            form: text(&v.form),
            policy_rule: v.policy_rule,
        }
    }
}

/// What a caller may see of an incident only as counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiCounts {
    /// The incident.
    pub incident: String,
    /// The sector (`-` when the registry names none).
    pub sector: String,
    /// Organisations affected, as the mail publishes it: `12`, or `<5` below the policy's
    /// small-count threshold.
    pub organisations: String,
    /// Their findings, published the same way.
    pub findings: String,
}

impl From<VisibleCounts> for ApiCounts {
    fn from(c: VisibleCounts) -> Self {
        ApiCounts {
            incident: c.incident,
            sector: c.sector,
            organisations: c.organisations,
            findings: c.findings,
        }
    }
}

/// `GET /api/v1/findings`: the findings the caller may see, filtered, in pages by id.
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings", params(FindingsQuery), security(("bearer" = [])),
    responses((status = 200, body = FindingsPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn findings(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    query: Result<Query<FindingsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FindingsPage>, Problem> {
    let token = bearer(&headers)?;
    let Query(q) = query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let wanted_state = q
        .state
        .as_deref()
        .map(|s| {
            FindingState::parse(s).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown state {s:?}; use open, notified, acknowledged, mitigation-claimed, verified-fixed, reopened, overdue or escalated"),
                )
            })
        })
        .transpose()?;
    let since = q
        .since
        .as_deref()
        .map(|t| {
            baken_store::keys::parse_time(t).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("since={t:?} is not an RFC 3339 time; write e.g. 2026-03-24T06:00:00Z"),
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            let visible = app.visible(
                &viewer,
                q.incident.as_deref(),
                policy,
                "GET /api/v1/findings",
            )?;
            let mut selected: Vec<VisibleFinding> = visible
                .findings
                .into_iter()
                .filter(|f| q.after.is_none_or(|a| f.finding.id > a))
                .filter(|f| wanted_state.is_none_or(|s| f.finding.state == s.as_str()))
                .filter(|f| {
                    since.is_none_or(|t| {
                        baken_store::keys::parse_time(&f.finding.last_seen).is_some_and(|l| l >= t)
                    })
                })
                .collect();
            let next = (selected.len() > limit).then(|| selected[limit - 1].finding.id);
            selected.truncate(limit);
            Ok(Json(FindingsPage {
                findings: selected.into_iter().map(ApiFinding::from).collect(),
                counts: visible.counts.into_iter().map(ApiCounts::from).collect(),
                next,
            }))
        })
        .await
}

/// `GET /api/v1/findings/{id}`: one finding the caller may see; 404 for any other.
#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "findings", security(("bearer" = [])),
    params(("id" = i64, Path, description = "the finding's store id")),
    responses((status = 200, body = ApiFinding),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn finding(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ApiFinding>, Problem> {
    let token = bearer(&headers)?;
    let id = finding_id(&id)?;
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            Ok(Json(ApiFinding::from(app.visible_finding(
                &viewer,
                id,
                policy,
                "GET /api/v1/findings/{id}",
            )?)))
        })
        .await
}

/// What a party says with a change: who (defaults to the party) and a note.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Saying {
    /// Who says it (a name or address), recorded with the change.
    pub by: Option<String>,
    /// A note, recorded with the change.
    pub note: Option<String>,
}

/// A note on a finding, and who says it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// Who says it (a name or address).
    pub by: Option<String>,
    /// The note: some text that is not only white space.
    #[schema(pattern = r"\S")]
    pub note: String,
}

/// What a change did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changed {
    /// The finding.
    pub id: i64,
    /// `applied`, or `already` when it was in that state.
    pub result: String,
    /// The state it was in.
    pub from: String,
    /// The state it is in now.
    pub to: String,
}

/// A finding id from the path: an id that is no number names no finding.
fn finding_id(text: &str) -> Result<i64, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found(format!("no finding {text:?}")))
}

/// The body of a change: empty or `null` for none, else a JSON object.
fn saying(body: &[u8]) -> Result<Saying, Problem> {
    let body = body.trim_ascii();
    if body.is_empty() || body == b"null" {
        return Ok(Saying::default());
    }
    object(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not {{\"by\": \"…\", \"note\": \"…\"}}: {e}"),
        )
    })
}

/// A JSON object as `T` (serde would also take a struct from an array, which the API's
/// schema does not allow).
fn object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => {
            serde_json::from_value(v).map_err(|e| e.to_string())
        }
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The body of a note: `{"note": "…", "by": "…"}`.
fn note_of(body: &[u8]) -> Result<Saying, Problem> {
    let note: Note = object(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("a note is {{\"note\": \"…\", \"by\": \"…\"}}: {e}"),
        )
    })?;
    Ok(Saying {
        by: note.by,
        note: Some(note.note),
    })
}

async fn say(
    state: State,
    headers: HeaderMap,
    id: String,
    to: Option<FindingState>,
    body: Bytes,
) -> Result<Json<Changed>, Problem> {
    let token = bearer(&headers)?;
    let id = finding_id(&id)?;
    let saying = match to {
        Some(_) => saying(&body)?,
        None => note_of(&body)?,
    };
    if to.is_none() && saying.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "a note needs its text: {\"note\": \"…\"}",
        ));
    }
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            // a party changes only findings it may see; others are not found
            let party = match &viewer {
                Viewer::Party(p) => {
                    app.visible_finding(&viewer, id, policy, "POST /api/v1/findings/{id}")?;
                    p.0.clone()
                }
                Viewer::Analyst => "analyst".into(),
            };
            let by = match saying.by {
                Some(by) => format!("{by} ({party}, API)"),
                None => format!("{party} (API)"),
            };
            let outcome = app
                .said(&Said {
                    ids: vec![id],
                    to,
                    by,
                    note: saying.note,
                })?
                .into_iter()
                .next()
                .ok_or_else(|| Problem::internal("a change was asked for but none was answered"))?;
            match outcome.result {
                SaidResult::NoSuchFinding => {
                    Err(AppError::NotFound(format!("no finding {id}")).into())
                }
                SaidResult::Refused { from, why } => Err(Problem::new(
                    StatusCode::CONFLICT,
                    format!("finding {id} is {}: {why}", from.as_str()),
                )),
                SaidResult::Applied { from, to } => Ok(Json(Changed {
                    id,
                    result: "applied".into(),
                    from: from.as_str().into(),
                    to: to.as_str().into(),
                })),
                SaidResult::Already { state, .. } => Ok(Json(Changed {
                    id,
                    result: "already".into(),
                    from: state.as_str().into(),
                    to: state.as_str().into(),
                })),
            }
        })
        .await
}

/// `POST /api/v1/findings/{id}/acknowledge`.
#[utoipa::path(post, path = "/api/v1/findings/{id}/acknowledge", tag = "findings", security(("bearer" = [])),
    params(("id" = i64, Path, description = "the finding's store id")),
    request_body(content = Option<Saying>, description = "who says it, and a note"),
    responses((status = 200, body = Changed),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn acknowledge(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Changed>, Problem> {
    say(state, headers, id, Some(FindingState::Acknowledged), body).await
}

/// `POST /api/v1/findings/{id}/fixed`: the party says it is fixed (mitigation claimed; a
/// later report verifies it).
#[utoipa::path(post, path = "/api/v1/findings/{id}/fixed", tag = "findings", security(("bearer" = [])),
    params(("id" = i64, Path, description = "the finding's store id")),
    request_body(content = Option<Saying>, description = "who says it, and a note"),
    responses((status = 200, body = Changed),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn fixed(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Changed>, Problem> {
    say(
        state,
        headers,
        id,
        Some(FindingState::MitigationClaimed),
        body,
    )
    .await
}

/// `POST /api/v1/findings/{id}/notes`.
#[utoipa::path(post, path = "/api/v1/findings/{id}/notes", tag = "findings", security(("bearer" = [])),
    params(("id" = i64, Path, description = "the finding's store id")),
    request_body(content = Note, description = "the note, and who says it"),
    responses((status = 200, body = Changed),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn note(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Changed>, Problem> {
    say(state, headers, id, None, body).await
}

/// An incident and how many of its findings the viewer may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentEntry {
    /// The incident.
    pub id: String,
    /// Findings the viewer may see.
    pub findings: usize,
}

/// The incidents a caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Incidents {
    /// Each incident with findings (or counts) the caller may see.
    pub incidents: Vec<IncidentEntry>,
}

/// `GET /api/v1/incidents`.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "findings", security(("bearer" = [])),
    responses((status = 200, body = Incidents), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn incidents(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Json<Incidents>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            let visible = app.visible(&viewer, None, policy, "GET /api/v1/incidents")?;
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for f in &visible.findings {
                *by.entry(f.finding.incident.clone()).or_default() += 1;
            }
            for c in &visible.counts {
                by.entry(c.incident.clone()).or_default();
            }
            Ok(Json(Incidents {
                incidents: by
                    .into_iter()
                    .map(|(id, findings)| IncidentEntry { id, findings })
                    .collect(),
            }))
        })
        .await
}

/// An advisory as the API lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAdvisory {
    /// Its id (a CSAF tracking id, a CVE id).
    pub id: String,
    /// Its latest revision.
    pub revision: Option<String>,
    /// When that revision was released.
    pub released: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Its TLP label, when it has one.
    pub tlp: Option<String>,
    /// The highest CVSS base score it gives.
    pub highest_score: Option<f64>,
    /// That score's vector.
    pub highest_vector: Option<String>,
}

/// The advisories a caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Advisories {
    /// Each advisory's latest revision.
    pub advisories: Vec<ApiAdvisory>,
}

/// `GET /api/v1/advisories`: an analyst sees every advisory; a party those labelled
/// TLP:CLEAR (or WHITE) or TLP:GREEN; an advisory without a label is not shown to parties.
#[utoipa::path(get, path = "/api/v1/advisories", tag = "advisories", security(("bearer" = [])),
    responses((status = 200, body = Advisories), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn advisories(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Json<Advisories>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, _| {
            let viewer = who(app, &token)?;
            let shareable = |tlp: &Option<String>| {
                tlp.as_deref()
                    .and_then(|t| t.parse::<baken_model::Tlp>().ok())
                    .is_some_and(|t| t <= baken_model::Tlp::Green)
            };
            Ok(Json(Advisories {
                advisories: app
                    .advisories()?
                    .into_iter()
                    .filter(|a| viewer == Viewer::Analyst || shareable(&a.tlp))
                    .map(|a| ApiAdvisory {
                        id: a.id,
                        revision: a.revision,
                        released: a.released,
                        title: a.title,
                        tlp: a.tlp,
                        highest_score: a.highest_score,
                        highest_vector: a.highest_vector,
                    })
                    .collect(),
            }))
        })
        .await
}

/// `GET /api/v1/incidents/{id}/report`: the evaluation of an incident (`baken report
/// --json`), for analysts: it covers every party.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/report", tag = "incidents", security(("bearer" = [])),
    params(("id" = String, Path, description = "the incident, e.g. cve-2019-19781")),
    responses((status = 200, description = "the report, as `baken report --json` prints it", body = Object),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn report(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, policy| {
            if who(app, &token)? != Viewer::Analyst {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "an incident's report covers every party: it needs an analyst's token",
                ));
            }
            if !baken_store::FindingStore::incidents(app.store())?
                .iter()
                .any(|(i, _)| i.eq_ignore_ascii_case(&id))
            {
                return Err(Problem::not_found(format!("no incident {id:?}")));
            }
            let report = app.report(
                &id,
                policy,
                &baken_pipeline::report::ReportOptions::default(),
            )?;
            serde_json::to_value(report)
                .map(Json)
                .map_err(|e| Problem::internal(&e.to_string()))
        })
        .await
}

/// The largest feed file `POST /api/v1/feeds` takes (it is held in memory while stored).
pub const MAX_UPLOAD: usize = 512 << 20;

/// Where an uploaded feed file comes from and how it is labelled.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Upload {
    /// The file's name, by which its feed is recognised (e.g.
    /// `2026-03-24-scan_http_vulnerable-nl-geo-asn.csv`, `results-nuclei.jsonl`).
    pub name: String,
    /// The TLP label every item of it carries: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.
    pub tlp: String,
}

/// What ingesting an uploaded file did; `read = stored + duplicate + quarantined`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ingested {
    /// The feed it was read as.
    pub feed: String,
    /// Rows read.
    pub read: u64,
    /// Rows stored.
    pub stored: u64,
    /// Rows already stored.
    pub duplicate: u64,
    /// Rows quarantined, each with a reason.
    pub quarantined: u64,
    /// New findings.
    pub new_findings: u64,
}

/// `POST /api/v1/feeds?name=FILE&tlp=LABEL`: an analyst or a peer CERT uploads a feed file
/// (the body, as it is); it is ingested with its label, as supplied by the caller.
#[utoipa::path(post, path = "/api/v1/feeds", tag = "feeds", params(Upload), security(("bearer" = [])),
    request_body(content = String, content_type = "application/octet-stream", description = "the feed file"),
    responses((status = 200, body = Ingested),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn upload(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    query: Result<Query<Upload>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Json<Ingested>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            let Query(q) =
                query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, e.body_text()))?;
            let party = app.token_party(&token)?;
            if let Viewer::Party(id) = &viewer {
                let kind = app.attributor()?.organisation(id).map(|o| o.kind);
                if !matches!(
                    kind,
                    Some(baken_model::OrgKind::Cert | baken_model::OrgKind::NationalCsirt)
                ) {
                    return Err(Problem::new(
                        StatusCode::FORBIDDEN,
                        "feeds are uploaded by analysts and peer CERTs",
                    ));
                }
            }
            let tlp: baken_model::Tlp = q.tlp.parse().map_err(|e| {
                Problem::new(StatusCode::BAD_REQUEST, format!("tlp={:?}: {e}", q.tlp))
            })?;
            // the name only names the feed; the file is kept under a name of our own
            let name = std::path::Path::new(&q.name)
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| !n.starts_with('.') && !n.is_empty())
                .ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, "name= needs a file name"))?
                .to_string();
            let feed = baken_feeds::FeedKind::guess(std::path::Path::new(&name)).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("{name:?}: cannot tell the feed from the name (.csv for Shadowserver, or a name containing nuclei, zgrab or intelmq)"),
                )
            })?;
            let uploads = app.data().join("uploads");
            std::fs::create_dir_all(&uploads).map_err(|e| Problem::internal(&e.to_string()))?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let path = uploads.join(format!("{stamp}-{name}"));
            std::fs::write(&path, &body).map_err(|e| Problem::internal(&e.to_string()))?;
            let label = baken_store::Label {
                tlp,
                supplied_by: (viewer != Viewer::Analyst).then_some(party),
            };
            let settings = app.ingest_settings(policy, label, baken_pipeline::ingest::DEFAULT_BATCH)?;
            let ingested = app.ingest(
                &baken_pipeline::ingest::Input {
                    path: path.clone(),
                    feed,
                },
                &baken_feeds::Options::default(),
                &settings,
                &baken_pipeline::NoProgress,
            );
            // the store keeps the rows it took (and quarantines the rest with reasons); the
            // upload itself is not kept
            let _ = std::fs::remove_file(&path);
            let summary = ingested
                .map_err(|e| match e {
                    AppError::Pipeline(baken_pipeline::PipelineError::Feed(f)) => {
                        Problem::new(StatusCode::BAD_REQUEST, f.to_string())
                    }
                    other => other.into(),
                })?;
            Ok(Json(Ingested {
                feed: summary.feed,
                read: summary.read,
                stored: summary.stored,
                duplicate: summary.duplicate,
                quarantined: summary.quarantined,
                new_findings: summary.new_findings,
            }))
        })
        .await
}

/// The incident reports a caller may read.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentReports {
    /// Each report with its stages' deadlines, in the order first filed.
    pub reports: Vec<baken_pipeline::incident_reports::IncidentReport>,
    /// Reports the caller may know of only as counts, by sector.
    pub counts: BTreeMap<String, u64>,
}

/// What filing a stage did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Filed {
    /// Whether the document was new (the same document filed again changes nothing).
    pub new: bool,
    /// The report as it stands.
    pub report: baken_pipeline::incident_reports::IncidentReport,
}

/// `POST /api/v1/incident-reports`: an obligated organisation files one stage of an
/// incident report (its CERT may file for it; an analyst for anyone).
#[utoipa::path(post, path = "/api/v1/incident-reports", tag = "incident reports", security(("bearer" = [])),
    request_body(content = baken_pipeline::incident_reports::ReportDocument, description = "one stage of the report"),
    responses((status = 200, body = Filed),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn file_report(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Filed>, Problem> {
    let token = bearer(&headers)?;
    let doc: baken_pipeline::incident_reports::ReportDocument = object(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not an incident report document: {e}"),
        )
    })?;
    state
        .with(move |app, _| {
            let viewer = who(app, &token)?;
            let party = app.token_party(&token)?;
            let by = match &viewer {
                Viewer::Analyst => "analyst (API)".to_string(),
                Viewer::Party(_) => format!("{party} (API)"),
            };
            let (report, new) = app.submit_incident_report(&doc, &viewer, &by)?;
            Ok(Json(Filed { new, report }))
        })
        .await
}

/// `GET /api/v1/incident-reports`: the reports the caller may read — its own, those it filed
/// as CERT, and those the sharing policy lets it receive (a supervisor those of the
/// organisations it supervises, as the policy and each report's TLP allow); an analyst all.
#[utoipa::path(get, path = "/api/v1/incident-reports", tag = "incident reports", security(("bearer" = [])),
    responses((status = 200, body = IncidentReports),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn reports(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Json<IncidentReports>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            let visible = app.incident_reports(&viewer, policy, "GET /api/v1/incident-reports")?;
            Ok(Json(IncidentReports {
                reports: visible.reports,
                counts: visible.counts,
            }))
        })
        .await
}
