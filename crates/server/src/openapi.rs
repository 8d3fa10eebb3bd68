//! The API's OpenAPI 3.1 document, generated from the handlers' annotations and the types
//! they return, served at `GET /api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "baken API",
        description = "What each party of the chain may see of the findings, and what it says about them. A party sees exactly what the sharing policy lets baken send it.",
    ),
    paths(
        api::healthz,
        api::me,
        api::incidents,
        api::report,
        api::advisories,
        api::upload,
        api::findings,
        api::finding,
        api::acknowledge,
        api::fixed,
        api::note,
        api::reports,
        api::file_report,
    ),
    components(schemas(crate::Problem, api::StateName)),
    modifiers(&Bearer),
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // every request may meet the limit on refused tokens
        let too_many = utoipa::openapi::ResponseBuilder::new()
            .description("too many refused tokens from this address; see Retry-After")
            .content(
                "application/problem+json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                op.responses
                    .responses
                    .insert("429".into(), too_many.clone().into());
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a token made with `baken token create`"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
