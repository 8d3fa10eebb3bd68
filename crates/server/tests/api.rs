//! API v1 as its callers use it, without a socket: a party's token reads and changes its own
//! findings and never another's, whatever it tries; an analyst's reads everything.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::*;

/// Sends a request; returns the status, the content type and the body as JSON (or text).
async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    call_raw(
        router,
        method,
        uri,
        token,
        body.map(|b| b.to_string().into_bytes()),
        "application/json",
    )
    .await
}

/// As [`call`], with a body of any type.
async fn call_raw(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    content_type: &str,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let request = match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(b)),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, kind, value)
}

fn addresses(page: &Value) -> Vec<String> {
    page["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source.ip"].as_str().unwrap().to_string())
        .collect()
}

fn ids(page: &Value) -> Vec<i64> {
    page["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_party_reads_and_changes_its_own_findings_and_never_anothers() {
    let w = world();
    let r = &w.router;

    // everything there is, as the analyst sees it
    let (status, _, all) = call(r, "GET", "/api/v1/findings", Some(&w.analyst), None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(addresses(&all), ADDRESSES);
    let id_of = |ip: &str| -> i64 {
        all["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["source.ip"] == ip)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let b_id = id_of("198.18.2.5");
    let a_id = id_of("198.18.1.5");

    // org-a sees its three, with what the issue names
    let (status, _, mine) = call(r, "GET", "/api/v1/findings", Some(&w.org_a), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(addresses(&mine), ["198.18.1.5", "198.18.1.6", "198.18.1.7"]);
    let first = &mine["findings"][0];
    for key in [
        "id",
        "incident",
        "source.ip",
        "source.port",
        "org",
        "state",
        "first_seen",
        "last_seen",
    ] {
        assert!(!first[key].is_null(), "{key} missing: {first}");
    }
    assert_eq!(first["org"], "org-a");
    assert_eq!(first["form"], "full");

    // guessed ids, another party's ids, tampered filters, cursors: nothing of org-b's
    for uri in [
        format!("/api/v1/findings/{b_id}"),
        "/api/v1/findings/999999".to_string(),
    ] {
        let (status, kind, problem) = call(r, "GET", &uri, Some(&w.org_a), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {problem}");
        assert_eq!(kind, "application/problem+json");
        assert_eq!(problem["status"], 404);
        assert!(!problem.to_string().contains("198.18.2"), "{problem}");
    }
    for uri in [
        "/api/v1/findings?incident=cve-2019-19781".to_string(),
        format!("/api/v1/findings?after={}", b_id - 1),
        "/api/v1/findings?after=-5&limit=1000".to_string(),
        "/api/v1/findings?state=open".to_string(),
        "/api/v1/findings?since=2019-01-01T00:00:00Z".to_string(),
    ] {
        let (status, _, page) = call(r, "GET", &uri, Some(&w.org_a), None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {page}");
        assert!(
            addresses(&page).iter().all(|a| a.starts_with("198.18.1.")),
            "{uri}: {page}"
        );
    }
    for verb in ["acknowledge", "fixed", "notes"] {
        let (status, _, problem) = call(
            r,
            "POST",
            &format!("/api/v1/findings/{b_id}/{verb}"),
            Some(&w.org_a),
            Some(json!({"note": "not yours"})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{verb}: {problem}");
    }
    let (_, _, b_seen) = call(
        r,
        "GET",
        &format!("/api/v1/findings/{b_id}"),
        Some(&w.org_b),
        None,
    )
    .await;
    assert_eq!(
        b_seen["state"], "open",
        "org-a changed nothing of org-b's: {b_seen}"
    );

    // its own: acknowledged, then claimed fixed, with who said it
    let (status, _, said) = call(
        r,
        "POST",
        &format!("/api/v1/findings/{a_id}/acknowledge"),
        Some(&w.org_a),
        Some(json!({"by": "soc@alpha.example"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    assert_eq!(said["result"], "applied");
    assert_eq!(
        (&said["from"], &said["to"]),
        (&json!("open"), &json!("acknowledged"))
    );
    let (status, _, said) = call(
        r,
        "POST",
        &format!("/api/v1/findings/{a_id}/fixed"),
        Some(&w.org_a),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    let (_, _, now) = call(
        r,
        "GET",
        &format!("/api/v1/findings/{a_id}"),
        Some(&w.org_a),
        None,
    )
    .await;
    assert_eq!(now["state"], "mitigation-claimed");
    // a move the lifecycle refuses is a conflict
    let (status, _, problem) = call(
        r,
        "POST",
        &format!("/api/v1/findings/{a_id}/acknowledge"),
        Some(&w.org_a),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    // a note needs text
    let (status, _, _) = call(
        r,
        "POST",
        &format!("/api/v1/findings/{a_id}/notes"),
        Some(&w.org_a),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // paging: every finding once, in id order
    let mut seen = Vec::new();
    let mut uri = "/api/v1/findings?limit=2".to_string();
    loop {
        let (_, _, page) = call(r, "GET", &uri, Some(&w.analyst), None).await;
        seen.extend(ids(&page));
        match page["next"].as_i64() {
            Some(next) => uri = format!("/api/v1/findings?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all));

    // the DTC sees counts, never findings
    let (_, _, dtc) = call(r, "GET", "/api/v1/findings", Some(&w.dtc), None).await;
    assert!(ids(&dtc).is_empty(), "{dtc}");
    assert!(!dtc["counts"].as_array().unwrap().is_empty(), "{dtc}");
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_and_errors_are_problem_details() {
    let w = world();
    let r = &w.router;
    for token in [
        None,
        Some("baken_guess"),
        Some(w.revoked.as_str()),
        Some(""),
    ] {
        let (status, kind, problem) = call(r, "GET", "/api/v1/findings", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {problem}");
        assert_eq!(kind, "application/problem+json");
        assert_eq!(problem["status"], 401);
        assert!(problem["detail"].is_string());
    }
    let (status, _, problem) =
        call(r, "GET", "/api/v1/findings?limit=0", Some(&w.org_a), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, _, _) = call(
        r,
        "GET",
        "/api/v1/findings?state=lost",
        Some(&w.org_a),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(r, "GET", "/api/v1/findings?org=org-b", Some(&w.org_a), None).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unknown filter is refused, not ignored"
    );
    let (status, kind, _) = call(r, "GET", "/nowhere", None, None).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );

    // the record's counts and the service's latencies, for analysts only
    let (status, _, _) = call(r, "GET", "/metrics", Some(&w.org_a), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, kind, metrics) = call(r, "GET", "/metrics", Some(&w.analyst), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = metrics.as_str().unwrap();
    for line in [
        "baken_observations 6",
        "baken_quarantined 0",
        "baken_findings{state=\"open\"} 6",
        "baken_http_request_duration_seconds_count{route=\"/api/v1/findings\",status=\"401\"} 4",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    assert!(
        !text.contains("/api/v1/findings/1"),
        "routes are labelled by pattern, never by id"
    );

    let (status, _, health) = call(r, "GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health, Value::String("ok\n".into()));

    let (_, _, me) = call(r, "GET", "/api/v1/me", Some(&w.org_b), None).await;
    assert_eq!(me["party"], "org-b");
    assert_eq!(me["analyst"], false);
    assert_eq!(me["contacts"], json!(["csirt@beta.example"]));
    assert_eq!(me["webhooks"], json!([]));

    // advisories: a party sees the shareable ones, an analyst all
    let ids = |v: &Value| -> Vec<String> {
        v["advisories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, _, party) = call(r, "GET", "/api/v1/advisories", Some(&w.org_b), None).await;
    assert_eq!(ids(&party), ["DEMO-2020-0001"]);
    let (_, _, analyst) = call(r, "GET", "/api/v1/advisories", Some(&w.analyst), None).await;
    assert_eq!(ids(&analyst), ["DEMO-2020-0001", "DEMO-2020-0002"]);

    // an incident's report is for analysts
    let uri = "/api/v1/incidents/cve-2019-19781/report";
    let (status, _, _) = call(r, "GET", uri, Some(&w.org_b), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, report) = call(r, "GET", uri, Some(&w.analyst), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["incident"], "cve-2019-19781");
    let (status, _, _) = call(
        r,
        "GET",
        "/api/v1/incidents/cve-1999-0001/report",
        Some(&w.analyst),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, _, incidents) = call(r, "GET", "/api/v1/incidents", Some(&w.org_b), None).await;
    assert_eq!(
        incidents["incidents"],
        json!([{"id": "cve-2019-19781", "findings": 2}])
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_served() {
    let w = world();
    let (status, kind, doc) = call(&w.router, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("application/json"), "{kind}");
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/api/v1/me", "get"),
        ("/api/v1/incidents", "get"),
        ("/api/v1/incidents/{id}/report", "get"),
        ("/api/v1/advisories", "get"),
        ("/api/v1/findings", "get"),
        ("/api/v1/findings/{id}", "get"),
        ("/api/v1/findings/{id}/acknowledge", "post"),
        ("/api/v1/findings/{id}/fixed", "post"),
        ("/api/v1/findings/{id}/notes", "post"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} is not described"
        );
        assert!(
            paths[path][method]["responses"]["429"].is_object(),
            "{method} {path}: the limit on refused tokens is not described"
        );
    }
    let finding = &doc["components"]["schemas"]["ApiFinding"]["properties"];
    for key in [
        "id",
        "incident",
        "source.ip",
        "source.port",
        "org",
        "state",
        "first_seen",
        "last_seen",
    ] {
        assert!(finding[key].is_object(), "ApiFinding lacks {key}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // the state filter's documented names are the lifecycle's states
    let names: Vec<&str> = doc["components"]["schemas"]["StateName"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let states: Vec<&str> = baken_store::FindingState::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(names, states);
}

#[tokio::test]
async fn guessing_tokens_is_slowed_down() {
    let w = world();
    let r = &w.router;
    // the failures so far count; the tenth refused token closes the door for a while
    for i in 0..10 {
        let (status, _, _) = call(
            r,
            "GET",
            "/api/v1/me",
            Some(&format!("baken_guess{i}")),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (status, kind, problem) = call(r, "GET", "/api/v1/me", Some("baken_guess"), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert_eq!(kind, "application/problem+json");
    // even a valid token waits: the limit is the address's
    let (status, _, _) = call(r, "GET", "/api/v1/me", Some(&w.org_a), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn analysts_and_peer_certs_upload_feeds_and_organisations_do_not() {
    let w = world();
    let r = &w.router;
    let feed = scan("198.18.2.9").into_bytes();
    let upload = |name: &str, tlp: &str| format!("/api/v1/feeds?name={name}&tlp={tlp}");

    // an organisation does not upload feeds
    let (status, _, _) = call_raw(
        r,
        "POST",
        &upload("day-intelmq.jsonl", "GREEN"),
        Some(&w.org_a),
        Some(feed.clone()),
        "application/octet-stream",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // a name that names no feed, a label that is none
    for uri in [
        upload("notes.txt", "GREEN"),
        upload("day-intelmq.jsonl", "PURPLE"),
    ] {
        let (status, kind, problem) = call_raw(
            r,
            "POST",
            &uri,
            Some(&w.analyst),
            Some(feed.clone()),
            "application/octet-stream",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {problem}");
        assert_eq!(kind, "application/problem+json");
    }
    // a peer CERT's upload is ingested
    let (status, _, ingested) = call_raw(
        r,
        "POST",
        &upload("day-intelmq.jsonl", "GREEN"),
        Some(&w.cert),
        Some(feed.clone()),
        "application/octet-stream",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ingested}");
    assert_eq!(
        (ingested["read"].as_u64(), ingested["stored"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(ingested["feed"], "intelmq");
    // the same file again stores nothing twice
    let (_, _, again) = call_raw(
        r,
        "POST",
        &upload("day-intelmq.jsonl", "GREEN"),
        Some(&w.analyst),
        Some(feed),
        "application/octet-stream",
    )
    .await;
    assert_eq!(
        (again["stored"].as_u64(), again["duplicate"].as_u64()),
        (Some(0), Some(1))
    );
    let (_, _, all) = call(r, "GET", "/api/v1/findings", Some(&w.analyst), None).await;
    assert!(addresses(&all).contains(&"198.18.2.9".to_string()));
    // the uploads are not kept beside the store
    let uploads = w._dir.path().join("data/uploads");
    assert_eq!(std::fs::read_dir(uploads).unwrap().count(), 0);
}

#[tokio::test]
async fn an_organisation_files_its_incident_report_and_only_whom_the_policy_allows_reads_it() {
    let w = world();
    let aware = "2020-01-11T08:00:00+01:00";
    let report = json!({
        "organisation": "org-a", "reference": "AZ-1", "stage": "early-warning",
        "aware_at": aware, "suspected_cause": "malicious", "compromised": true,
        "cves": ["CVE-2019-19781"]
    });
    let (status, _, body) = call(
        &w.router,
        "POST",
        "/api/v1/incident-reports",
        Some(&w.org_a),
        Some(report.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["new"], true);
    assert_eq!(body["report"]["stages"][0]["stage"], "early-warning");
    assert_eq!(body["report"]["stages"][0]["due"], "2020-01-12T07:00:00Z");
    assert_eq!(body["report"]["stages"][0]["by"], "org-a (API)");

    // another organisation may not file for it; an unknown one is not found
    let (status, _, _) = call(
        &w.router,
        "POST",
        "/api/v1/incident-reports",
        Some(&w.org_b),
        Some(report.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut unknown = report.clone();
    unknown["organisation"] = json!("org-zz");
    let (status, _, _) = call(
        &w.router,
        "POST",
        "/api/v1/incident-reports",
        Some(&w.analyst),
        Some(unknown),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, kind, _) = call(
        &w.router,
        "POST",
        "/api/v1/incident-reports",
        Some(&w.org_a),
        Some(json!({"stage": "final"})),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );

    let refs = |body: &Value| -> Vec<String> {
        body["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reference"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, _, mine) = call(
        &w.router,
        "GET",
        "/api/v1/incident-reports",
        Some(&w.org_a),
        None,
    )
    .await;
    assert_eq!(refs(&mine), ["AZ-1"]);
    let (_, _, other) = call(
        &w.router,
        "GET",
        "/api/v1/incident-reports",
        Some(&w.org_b),
        None,
    )
    .await;
    assert!(refs(&other).is_empty(), "{other}");
    assert_eq!(other["counts"], json!({}));
    let (_, _, all) = call(
        &w.router,
        "GET",
        "/api/v1/incident-reports",
        Some(&w.analyst),
        None,
    )
    .await;
    assert_eq!(refs(&all), ["AZ-1"]);
}
