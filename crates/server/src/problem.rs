//! RFC 9457 problem details: the one error type of the service. It never carries another
//! party's data, and a server-side failure is logged in full but answered in general terms.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baken_app::AppError;
use serde::Serialize;

/// An error answer: `{"type", "title", "status", "detail"}` as `application/problem+json`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do.
    pub detail: String,
}

impl Problem {
    /// A problem with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("error").into(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// A failure of the service itself: logged with `what`, answered without it.
    pub fn internal(what: &str) -> Problem {
        tracing::error!(error = what, "request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the service could not answer; the operators' log says why",
        )
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, detail)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        match e {
            AppError::NotFound(m) => Problem::not_found(m),
            AppError::Usage(m) => Problem::new(StatusCode::BAD_REQUEST, m),
            AppError::Unauthorized(m) => Problem::unauthorized(m),
            other => Problem::internal(&other.to_string()),
        }
    }
}

impl From<baken_store::StoreError> for Problem {
    fn from(e: baken_store::StoreError) -> Problem {
        Problem::internal(&e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"baken\""),
            );
        }
        response
    }
}
