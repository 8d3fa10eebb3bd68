//! The web pages as a browser uses them, without a socket: logging in trades a token for a
//! cookie, forms need the login's CSRF token, and a party's pages show its own
//! findings and never another's.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

mod common;
use common::*;

/// A browser: its cookies and the last page's CSRF token.
struct Browser {
    router: axum::Router,
    cookies: Vec<(String, String)>,
}

/// An answer: status, headers and body text.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no form on the page:\n{}", self.body));
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

impl Browser {
    fn new(router: &axum::Router) -> Browser {
        Browser {
            router: router.clone(),
            cookies: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(header::COOKIE, jar.join("; "));
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        let request = match form {
            Some(fields) => request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(fields).unwrap())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body =
            String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes())
                .into_owned();
        let answer = Answer {
            status,
            headers,
            body,
        };
        for c in answer.set_cookies() {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() && !c.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        answer
    }

    async fn get(&mut self, uri: &str) -> Answer {
        self.send("GET", uri, None, &[]).await
    }

    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Answer {
        self.send("POST", uri, Some(form), &[]).await
    }

    /// Logs in with `token`; panics unless it worked.
    async fn log_in(&mut self, token: &str) {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.csrf();
        let answer = self
            .post("/login", &[("token", token), ("csrf", &csrf)])
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location(), "/");
    }
}

/// Ids of the findings a page links to.
fn linked_findings(body: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = body
        .match_indices("href=\"/findings/")
        .filter_map(|(at, m)| {
            let rest = &body[at + m.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn a_login_exchanges_a_token_for_a_strict_session_cookie() {
    let w = world();
    let mut b = Browser::new(&w.router);
    let page = b.get("/findings").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login");

    let login = b.get("/login").await;
    let csp = login.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(login.headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(!login.body.contains("<script"), "pages run no script");

    // a login form posted without the cookie its page set is refused
    let mut stranger = Browser::new(&w.router);
    let refused = stranger
        .post("/login", &[("token", &w.org_a), ("csrf", &login.csrf())])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(stranger.cookies.iter().all(|(k, _)| k != "baken_session"));

    // a token that is not valid (revoked, made up) opens no session
    for bad in [w.revoked.as_str(), "baken_0000", ""] {
        let csrf = b.get("/login").await.csrf();
        let answer = b.post("/login", &[("token", bad), ("csrf", &csrf)]).await;
        assert_ne!(answer.status, StatusCode::SEE_OTHER, "token {bad:?}");
        assert!(b.cookies.iter().all(|(k, _)| k != "baken_session"));
    }

    let csrf = b.get("/login").await.csrf();
    let answer = b
        .post("/login", &[("token", &w.org_a), ("csrf", &csrf)])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("baken_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "served without TLS: {cookie}");
    assert!(!cookie.contains(&w.org_a), "the cookie is not the token");
    assert_eq!(b.get("/").await.location(), "/findings");

    // behind a TLS proxy the cookie is Secure
    let mut tls = Browser::new(&w.router);
    let page = tls
        .send("GET", "/login", None, &[("x-forwarded-proto", "https")])
        .await;
    let answer = tls
        .send(
            "POST",
            "/login",
            Some(&[("token", &w.org_a), ("csrf", &page.csrf())]),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert!(
        answer.set_cookies().iter().all(|c| c.contains("; Secure")),
        "{:?}",
        answer.set_cookies()
    );

    // logging out ends the login, and needs the form's token
    let page = b.get("/findings").await;
    assert_eq!(
        b.post("/logout", &[("csrf", "forged")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(b.get("/findings").await.status, StatusCode::OK);
    let out = b.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.location(), "/login");
    assert_eq!(b.get("/findings").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_party_sees_and_changes_its_own_findings_only() {
    let w = world();
    let mut a = Browser::new(&w.router);
    a.log_in(&w.org_a).await;
    let page = a.get("/findings").await;
    assert_eq!(page.status, StatusCode::OK);
    for ip in &ADDRESSES[..3] {
        assert!(page.body.contains(ip), "its own {ip}");
    }
    for ip in &ADDRESSES[3..] {
        assert!(!page.body.contains(ip), "another's {ip}");
    }
    let own = linked_findings(&page.body);
    assert_eq!(own.len(), 3);

    // every other id, guessed, is not found; filters and downloads show nothing more
    let mut analyst = Browser::new(&w.router);
    analyst.log_in(&w.analyst).await;
    let all = linked_findings(&analyst.get("/findings").await.body);
    assert_eq!(all.len(), ADDRESSES.len());
    for id in all.iter().chain([&0, &999]) {
        let answer = a.get(&format!("/findings/{id}")).await;
        let expected = if own.contains(id) {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(answer.status, expected, "finding {id}");
        for ip in &ADDRESSES[3..] {
            assert!(!answer.body.contains(ip), "finding {id} shows {ip}");
        }
    }
    for uri in [
        "/findings?incident=cve-2019-19781&state=open",
        "/findings?after=0",
        "/findings.csv",
        "/findings.json?incident=CVE-2019-19781",
    ] {
        let answer = a.get(uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        for ip in &ADDRESSES[3..] {
            assert!(!answer.body.contains(ip), "{uri} shows {ip}");
        }
    }
    let csv = a.get("/findings.csv").await;
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(csv.body.lines().count(), 1 + own.len(), "{}", csv.body);

    // analysts' pages are not for parties
    for uri in [
        "/incidents",
        "/incidents/cve-2019-19781",
        "/why",
        "/whatif",
        "/registry",
        "/quarantine",
        "/audit",
    ] {
        assert_eq!(a.get(uri).await.status, StatusCode::FORBIDDEN, "{uri}");
    }

    // a change needs the login's form token and this site's origin
    let id = own[0];
    let page = a.get(&format!("/findings/{id}")).await;
    let csrf = page.csrf();
    let uri = format!("/findings/{id}/acknowledge");
    assert_eq!(
        a.post(&uri, &[("csrf", "forged")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(a.post(&uri, &[]).await.status, StatusCode::BAD_REQUEST);
    let cross = a
        .send(
            "POST",
            &uri,
            Some(&[("csrf", &csrf)]),
            &[
                ("origin", "https://evil.example"),
                ("host", "baken.example"),
            ],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(
        a.get(&format!("/findings/{id}"))
            .await
            .body
            .contains(">open<"),
        "nothing changed yet"
    );

    let done = a
        .post(
            &uri,
            &[("csrf", &csrf), ("by", "Jan"), ("note", "patching tonight")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = a.get(done.location()).await;
    assert!(page.body.contains(">acknowledged<"), "{}", page.body);
    assert!(page.body.contains("patching tonight"), "its own note");

    // another party's finding cannot be changed, by id or by form
    let others: Vec<i64> = all.iter().copied().filter(|i| !own.contains(i)).collect();
    for id in &others {
        for action in ["acknowledge", "fixed", "notes"] {
            let answer = a
                .post(
                    &format!("/findings/{id}/{action}"),
                    &[("csrf", &csrf), ("note", "mine now")],
                )
                .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{action} {id}");
        }
        let seen = analyst.get(&format!("/findings/{id}")).await;
        assert!(
            !seen.body.contains("mine now") && seen.body.contains(">open<"),
            "finding {id}"
        );
    }

    // the analyst sees the party's word; another party's page never shows it
    let seen = analyst.get(&format!("/findings/{id}")).await;
    assert!(seen.body.contains("patching tonight") && seen.body.contains("Jan (org-a, web)"));
    let mut b = Browser::new(&w.router);
    b.log_in(&w.org_b).await;
    assert_eq!(
        b.get(&format!("/findings/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!b.get("/findings").await.body.contains("patching tonight"));

    // every read of a party's findings is a disclosure in the audit log
    let audit = analyst.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(
        audit.body.contains("The audit log verifies"),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("api-read") && audit.body.contains("findings.csv (web page)"));
}

#[tokio::test]
async fn the_dtc_sees_counts_only() {
    let w = world();
    let mut dtc = Browser::new(&w.router);
    dtc.log_in(&w.dtc).await;
    let page = dtc.get("/findings").await;
    assert_eq!(page.status, StatusCode::OK);
    for ip in ADDRESSES {
        assert!(!page.body.contains(ip), "{ip}");
    }
    assert!(linked_findings(&page.body).is_empty());
}

#[tokio::test]
async fn analysts_see_every_incident_with_its_curve_and_can_ask_why() {
    let w = world();
    let mut a = Browser::new(&w.router);
    a.log_in(&w.analyst).await;
    assert_eq!(a.get("/").await.location(), "/incidents");
    let list = a.get("/incidents").await;
    assert!(
        list.body.contains("href=\"/incidents/cve-2019-19781\""),
        "{}",
        list.body
    );
    let incident = a.get("/incidents/cve-2019-19781").await;
    assert_eq!(incident.status, StatusCode::OK, "{}", incident.body);
    assert!(
        incident.body.contains("<svg"),
        "the remediation curve is drawn in the page"
    );
    assert!(incident.body.contains("Unreached"));
    assert_eq!(
        a.get("/incidents/cve-0000-0000").await.status,
        StatusCode::NOT_FOUND
    );

    let why = a.get("/why?incident=cve-2019-19781&party=org-a").await;
    assert_eq!(why.status, StatusCode::OK, "{}", why.body);
    assert!(why.body.contains("soc@alpha.example"), "{}", why.body);
    let whatif = a
        .get("/whatif?incident=cve-2019-19781&policy=nl-dtc-oktt")
        .await;
    assert_eq!(whatif.status, StatusCode::OK, "{}", whatif.body);
    assert!(whatif.body.contains("nl-2020 → nl-dtc-oktt"));
    // a page never makes the service read a policy file
    let file = a
        .get("/whatif?incident=cve-2019-19781&policy=/etc/passwd")
        .await;
    assert_eq!(file.status, StatusCode::BAD_REQUEST);
    assert!(file.body.contains("not a shipped policy"));

    let registry = a.get("/registry?q=beta").await;
    assert!(registry.body.contains("Beta Energie NV") && !registry.body.contains("Alpha Zorg"));
    assert_eq!(a.get("/quarantine").await.status, StatusCode::OK);
    // text from the record is escaped, never markup
    let hostile = a.get("/registry?q=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert!(!hostile.body.contains("<script>") && hostile.body.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn a_session_ends_with_its_token_and_failed_logins_are_limited() {
    let w = world();
    let mut a = Browser::new(&w.router);
    a.log_in(&w.expiring).await;
    assert_eq!(a.get("/findings").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let after = a.get("/findings").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the token expired");
    assert_eq!(after.location(), "/login");

    // ten refused tokens from one address, then every request is refused for a while
    let mut guesser = Browser::new(&w.router);
    for i in 0..10 {
        let csrf = guesser.get("/login").await.csrf();
        let answer = guesser
            .post(
                "/login",
                &[("token", &format!("baken_{i:064}")), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body.contains("not valid"));
    }
    let blocked = guesser.get("/login").await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.headers.contains_key(header::RETRY_AFTER));
}
