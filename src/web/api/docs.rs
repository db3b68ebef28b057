//! The API's OpenAPI 3.1 document, generated from the handlers' annotations (utoipa), served at
//! `/api/v1/openapi.json`, and the interactive docs page at `/api/docs` (Swagger UI, its files
//! inside the binary).

use super::{oauth, portal, staff};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Every `/api/v1` and `/oauth` operation, the security schemes and the problem types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Behalf API",
        description = "Login as Client over HTTP. A staff API key (`api_key`) is exchanged at `POST /oauth/token` \
            (RFC 8693) for a token (`token`) that acts as one client under the same rules as the Login as Client button: \
            consent, reason, store, modes, the maximum duration and idle timeout, and every way a session ends.\n\n\
            Errors of `/api/v1` are `application/problem+json` (RFC 9457). Their `type` is `urn:behalf:problem:` and one of: \
            `token-required`, `invalid-token`, `session-ended`, `key-required`, `invalid-key`, `two-factor-required`, \
            `permission-required`, `read-only`, `sensitive-action`, `bad-request`, `invalid-field`, `not-found`, `conflict`, \
            `too-large`, `unsupported-media-type`, `unavailable`, `internal`. `/oauth` errors are RFC 6749 JSON.",
    ),
    paths(
        oauth::token, oauth::revoke, oauth::introspect, oauth::jwks, oauth::metadata,
        portal::me, portal::services, portal::invoices, portal::invoice, portal::tickets, portal::ticket,
        portal::create_ticket, portal::reply, portal::orders, portal::subscriptions, portal::files,
        portal::download, portal::tasks, portal::task, portal::comment,
        staff::clients, staff::client, staff::impersonations, staff::end_impersonation, staff::activity,
        openapi_json,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "oauth", description = "Token exchange, revocation, introspection and keys"),
        (name = "client", description = "The client's portal, with a Login as Client token"),
        (name = "staff", description = "The staff side, with a staff API key"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A Login as Client token from POST /oauth/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A staff API key (bhk_…) from /admin/account/api-keys"))
                    .build(),
            ),
        );
    }
}

/// The document as JSON text, pretty-printed as `docs/openapi.json` keeps it.
pub fn openapi_text() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "oauth", responses((status = 200, description = "This document", body = Object)))]
pub async fn openapi_json() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// The docs page at `/api/docs`, reading the document from `/api/v1/openapi.json`.
/// It serves the page and its files only: the document itself is the route above.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/api/docs").config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json"))
}
