//! The handlers of API v1. Each authenticates, hands the question to the application core
//! and renders the answer; none decides what a party may see.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use baken_app::{App, AppError, Said, SaidOutcome, SaidResult, Viewer, VisibleFinding};
use baken_model::OrgId;
use baken_store::FindingState;
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Serialize)]
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
}

/// `GET /api/v1/me`.
pub async fn me(Extract(state): Extract<State>, headers: HeaderMap) -> Result<Json<Me>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, _| {
            let viewer = who(app, &token)?;
            let party = app
                .tokens()?
                .into_iter()
                .find(|t| t.hash == baken_app::token_hash(&token))
                .map(|t| t.party)
                .unwrap_or_default();
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
                party,
            }))
        })
        .await
}

/// The filters and page of `GET /api/v1/findings`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// Only this incident.
    pub incident: Option<String>,
    /// Only findings in this state.
    pub state: Option<String>,
    /// Only findings last seen at or after this time (RFC 3339 or a date).
    pub since: Option<String>,
    /// The page after this finding id (the `next` of the page before).
    pub after: Option<i64>,
    /// Findings per page (at most 1000).
    pub limit: Option<usize>,
}

/// One page of findings.
#[derive(Debug, Serialize)]
pub struct FindingsPage {
    /// The findings, by id.
    pub findings: Vec<VisibleFinding>,
    /// Counts the viewer may see only as aggregates (per incident and sector).
    pub counts: Vec<baken_app::VisibleCounts>,
    /// The `after` of the next page, when there is one.
    pub next: Option<i64>,
}

/// `GET /api/v1/findings`.
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
        .map(baken_app::parse_since)
        .transpose()
        .map_err(Problem::from)?;
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
                findings: selected,
                counts: visible.counts,
                next,
            }))
        })
        .await
}

/// `GET /api/v1/findings/{id}`.
pub async fn finding(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<VisibleFinding>, Problem> {
    let token = bearer(&headers)?;
    state
        .with(move |app, policy| {
            let viewer = who(app, &token)?;
            Ok(Json(app.visible_finding(
                &viewer,
                id,
                policy,
                "GET /api/v1/findings/{id}",
            )?))
        })
        .await
}

/// What a party says with a change: who (defaults to the party) and a note.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saying {
    /// Who says it (a name or address), recorded with the change.
    pub by: Option<String>,
    /// A note, recorded with the change.
    pub note: Option<String>,
}

async fn say(
    state: State,
    headers: HeaderMap,
    id: i64,
    to: Option<FindingState>,
    body: Option<Json<Saying>>,
) -> Result<Json<SaidOutcome>, Problem> {
    let token = bearer(&headers)?;
    let saying = body.map(|Json(s)| s).unwrap_or_default();
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
            match &outcome.result {
                SaidResult::NoSuchFinding => {
                    Err(AppError::NotFound(format!("no finding {id}")).into())
                }
                SaidResult::Refused { from, why } => Err(Problem::new(
                    StatusCode::CONFLICT,
                    format!("finding {id} is {}: {why}", from.as_str()),
                )),
                _ => Ok(Json(outcome)),
            }
        })
        .await
}

/// `POST /api/v1/findings/{id}/acknowledge`.
pub async fn acknowledge(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Option<Json<Saying>>,
) -> Result<Json<SaidOutcome>, Problem> {
    say(state, headers, id, Some(FindingState::Acknowledged), body).await
}

/// `POST /api/v1/findings/{id}/fixed`: the party says it is fixed (mitigation claimed; a
/// later report verifies it).
pub async fn fixed(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Option<Json<Saying>>,
) -> Result<Json<SaidOutcome>, Problem> {
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
pub async fn note(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Option<Json<Saying>>,
) -> Result<Json<SaidOutcome>, Problem> {
    say(state, headers, id, None, body).await
}

/// An incident and how many of its findings the viewer may see.
#[derive(Debug, Serialize)]
pub struct IncidentEntry {
    /// The incident.
    pub id: String,
    /// Findings the viewer may see.
    pub findings: usize,
}

/// `GET /api/v1/incidents`.
pub async fn incidents(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Json<BTreeMap<&'static str, Vec<IncidentEntry>>>, Problem> {
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
            Ok(Json(BTreeMap::from([(
                "incidents",
                by.into_iter()
                    .map(|(id, findings)| IncidentEntry { id, findings })
                    .collect(),
            )])))
        })
        .await
}
