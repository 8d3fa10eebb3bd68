//! Sessions of the web pages: a login exchanges a token for a random session id, sent back
//! as a cookie. The service keeps, per session, the token it stands for (so a revoked or
//! expired token ends its sessions at the next request) and the CSRF token its forms carry.
//! Sessions live in memory: a restart logs everyone out, and nothing of them is on disk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "baken_session";
/// The cookie that ties a login form to the browser that loaded it.
pub const LOGIN_COOKIE: &str = "baken_login";
/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// The most sessions kept at once; the longest idle go first.
const MAX_SESSIONS: usize = 10_000;

/// One logged-in browser.
#[derive(Clone)]
pub struct Session {
    /// The token it was opened with.
    pub token: String,
    /// The token its forms carry.
    pub csrf: String,
    last_seen: Instant,
}

/// The open sessions, by the SHA-256 of their id.
#[derive(Default)]
pub struct Sessions {
    by: Mutex<HashMap<String, Session>>,
}

/// A new random secret, hex.
pub fn secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sessions {
    /// Opens a session for `token`; returns its id.
    pub fn open(&self, token: String) -> String {
        let id = secret();
        let now = Instant::now();
        let mut by = self.by.lock().unwrap_or_else(|e| e.into_inner());
        by.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        if by.len() >= MAX_SESSIONS
            && let Some(oldest) = by
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        {
            by.remove(&oldest);
        }
        by.insert(
            key(&id),
            Session {
                token,
                csrf: secret(),
                last_seen: now,
            },
        );
        id
    }

    /// The session `id` names, when it is open; a request keeps it open.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut by = self.by.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(id);
        match by.get_mut(&k) {
            Some(s) if now.duration_since(s.last_seen) < IDLE => {
                s.last_seen = now;
                Some(s.clone())
            }
            Some(_) => {
                by.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.by
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(id));
    }
}

/// The value of cookie `name` in a request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, and Secure when the page was served
/// over TLS; `max_age` 0 removes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
    secure: bool,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_only_until_closed() {
        let sessions = Sessions::default();
        let id = sessions.open("baken_x".into());
        let s = sessions.get(&id).expect("open");
        assert_eq!(s.token, "baken_x");
        assert_eq!(s.csrf.len(), 64);
        assert!(sessions.get(&secret()).is_none());
        sessions.close(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "baken_session_x=1; baken_session=abc; other=2"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
