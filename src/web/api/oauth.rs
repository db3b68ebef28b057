//! Login as Client by token exchange (RFC 8693) at `POST /oauth/token`, revocation (RFC 7009),
//! introspection (RFC 7662), the public keys (JWKS) and the server's metadata (RFC 8414).

use super::ProblemBody;
use super::{two_factor_ready, ApiStaff};
use crate::auth::api_keys::key_holder;
use crate::auth::guards::{open_portal, ClientInfo, Closed, Opening};
use crate::auth::login_as_client::{self, Start, StartError};
use crate::auth::{hash_token, FreshSession};
use crate::domain::api::{
    ActorClaim, Channel, OAuthError, Scope, TokenClaims, AUDIENCE, GRANT_TOKEN_EXCHANGE, ISSUED_TOKEN_TYPE,
    TOKEN_TYPE_API_KEY, TOKEN_TYPE_CLIENT_ID,
};
use crate::domain::impersonation::{EndReason, Refusal, StartAsk};
use crate::domain::permissions::Permission;
use crate::domain::session::SessionKind;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::StoreError;
use crate::web::extract::form_bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// An OAuth refusal as RFC 6749 §5.2 writes it.
pub struct OAuthRefusal(pub OAuthError);

/// An OAuth error as sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_grant`, `invalid_scope`, `access_denied`, `unsupported_grant_type`, …
    pub error: &'static str,
    /// What a person reads.
    pub error_description: String,
    /// For a Login as Client refusal, its stable name: `feature_off`, `no_permission`,
    /// `client_disabled`, `no_consent`, `full_mode_not_allowed`, `reason_required`,
    /// `reason_too_long`, `store_required`, `unknown_mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<&'static str>,
}

impl IntoResponse for OAuthRefusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body =
            OAuthErrorBody { error: self.0.error, error_description: self.0.description, refusal: self.0.refusal };
        (status, Json(body)).into_response()
    }
}

impl From<OAuthError> for OAuthRefusal {
    fn from(e: OAuthError) -> Self {
        OAuthRefusal(e)
    }
}

/// Failures below the policy (the database) keep their page statuses (503, 500) as JSON; an
/// internal one is logged as a page's is.
impl From<AppError> for OAuthRefusal {
    fn from(e: AppError) -> Self {
        let status = match e {
            AppError::Unavailable => 503,
            AppError::Status(s, _) => s.as_u16(),
            internal => {
                let _ = internal.into_response();
                500
            }
        };
        let error = if status == 503 { "temporarily_unavailable" } else { "server_error" };
        OAuthRefusal(OAuthError::other(error, status, "The server could not answer; try again."))
    }
}

impl From<StoreError> for OAuthRefusal {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// A form-encoded OAuth request body; anything else is `invalid_request`.
pub struct OAuthForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OAuthForm<T> {
    type Rejection = OAuthRefusal;
    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthRefusal> {
        let bytes = form_bytes(req, state).await.map_err(|e| match e {
            AppError::Status(s, msg) => OAuthRefusal(OAuthError::other("invalid_request", s.as_u16(), msg)),
            _ => OAuthRefusal(OAuthError::invalid_request("The form could not be read.")),
        })?;
        serde_urlencoded::from_bytes(&bytes)
            .map(OAuthForm)
            .map_err(|e| OAuthRefusal(OAuthError::invalid_request(format!("The form is malformed: {e}."))))
    }
}

/// `POST /oauth/token`, form-encoded.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `urn:ietf:params:oauth:grant-type:token-exchange`
    grant_type: Option<String>,
    /// A staff API key (`bhk_…`).
    actor_token: Option<String>,
    /// `urn:behalf:token-type:api-key`
    actor_token_type: Option<String>,
    /// The client's id.
    subject_token: Option<String>,
    /// `urn:behalf:token-type:client-id`
    subject_token_type: Option<String>,
    /// `portal:read` (the default) or `portal:write`.
    scope: Option<String>,
    /// Why, when `impersonation.require_reason` is on (10 to 500 characters).
    #[serde(default)]
    reason: String,
    /// A store id, when `impersonation.store_selection` is `manual` and the client is in several.
    store: Option<String>,
}

/// A token that acts as the client.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// An EdDSA JWT.
    pub access_token: String,
    /// `urn:ietf:params:oauth:token-type:access_token`
    pub issued_token_type: &'static str,
    /// `Bearer`
    pub token_type: &'static str,
    /// Seconds until it expires, at the session's maximum duration.
    pub expires_in: i64,
    pub scope: String,
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("The {name} parameter is missing.")))
}

/// `POST /oauth/token`: a staff API key (the actor) exchanged for a token that acts as one
/// client (the subject), by the same policy and the same start as the Login as Client button.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "`invalid_request` (a reason or store to give, an unknown client), `invalid_grant` (not a live key), `invalid_scope`, `unsupported_grant_type`", body = OAuthErrorBody),
        (status = 403, description = "`access_denied`: the policy refuses (permission, feature off, disabled client, consent, full mode, two-factor owed)", body = OAuthErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    info: ClientInfo,
    OAuthForm(f): OAuthForm<TokenRequest>,
) -> Result<Response, OAuthRefusal> {
    if required(&f.grant_type, "grant_type")? != GRANT_TOKEN_EXCHANGE {
        return Err(OAuthError::other(
            "unsupported_grant_type",
            400,
            format!("Only the token exchange grant ({GRANT_TOKEN_EXCHANGE}) is supported."),
        )
        .into());
    }
    if required(&f.actor_token_type, "actor_token_type")? != TOKEN_TYPE_API_KEY {
        return Err(OAuthError::invalid_request(format!("actor_token_type must be {TOKEN_TYPE_API_KEY}.")).into());
    }
    if required(&f.subject_token_type, "subject_token_type")? != TOKEN_TYPE_CLIENT_ID {
        return Err(OAuthError::invalid_request(format!("subject_token_type must be {TOKEN_TYPE_CLIENT_ID}.")).into());
    }
    let key = required(&f.actor_token, "actor_token")?;
    let client_id = required(&f.subject_token, "subject_token")?
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| OAuthError::invalid_request("subject_token must be a client id (a positive number)."))?;
    let scope = Scope::parse(f.scope.as_deref())
        .ok_or_else(|| OAuthError::other("invalid_scope", 400, "scope must be portal:read or portal:write."))?;
    let store = match f.store.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| OAuthError::invalid_request("store must be a store id."))?),
    };
    let holder = key_holder(&state.store, key, info)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("The actor token is not a live API key of an active staff member."))?;
    two_factor_ready(&holder).map_err(|p| OAuthError::access_denied(p.detail))?;
    // The permission first, as for the button: without it, nothing about clients is told.
    if !holder.has(Permission::ClientsImpersonate) {
        return Err(OAuthError::from_refusal(&Refusal::NoPermission).into());
    }
    let client = match state.store.client(client_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(OAuthError::invalid_request(format!("There is no client with id {client_id}.")).into())
        }
        Err(e) => return Err(e.into()),
    };
    let settings = state.store.settings().await?;
    let session = FreshSession::new();
    let started = login_as_client::start(
        &state.store,
        &settings,
        Start {
            staff: &holder.staff,
            grants: &holder.grants,
            by: &holder.acting,
            client: &client,
            ask: StartAsk { mode: Some(scope.mode().as_str()), reason: &f.reason, store },
            channel: Channel::Api,
            api_key_id: Some(holder.key_id),
            session: &session,
            replaces_token_hash: None,
        },
    )
    .await
    .map_err(|e| match e {
        StartError::Refused(r) => OAuthRefusal(OAuthError::from_refusal(&r)),
        StartError::Store(e) => e.into(),
    })?;
    let now = crate::domain::now();
    let claims = TokenClaims {
        iss: state.tokens.issuer.clone(),
        aud: AUDIENCE.into(),
        sub: client.id.to_string(),
        act: ActorClaim { sub: TokenClaims::staff_subject(holder.staff.id), email: holder.staff.email.clone() },
        imp: started.impersonation_id,
        scope: Scope::of_mode(started.decision.mode).as_str().into(),
        iat: now,
        // Never after the session's maximum duration, nor after the key that made it expires.
        exp: holder.expires_at.map_or(started.decision.ends_by, |k| k.min(started.decision.ends_by)),
        // The session row keeps only this value's SHA-256, as for a cookie's token.
        jti: session.token,
    };
    let access_token = state.tokens.sign(&claims).map_err(|e| {
        tracing::error!(error = format!("{e:#}"), "signing a token failed");
        OAuthRefusal(OAuthError::other("server_error", 500, "The token could not be signed."))
    })?;
    Ok(Json(TokenResponse {
        access_token,
        issued_token_type: ISSUED_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: (claims.exp - now).max(0),
        scope: claims.scope,
    })
    .into_response())
}

/// `POST /oauth/revoke` and `POST /oauth/introspect`: the token asked about.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    /// A Login as Client token.
    token: Option<String>,
    /// Ignored: the only kind is an access token.
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009): ends the Login as Client session of the token, recorded as
/// the staff member's return. Holding the token is the right to end it; an unknown, expired or
/// already ended token answers 200 as well, as the RFC asks.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Ended, or nothing to end"), (status = 400, description = "No token given", body = OAuthErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    info: ClientInfo,
    OAuthForm(f): OAuthForm<TokenForm>,
) -> Result<Response, OAuthRefusal> {
    let token = required(&f.token, "token")?;
    if let Some((auth, _)) = live_session(&state, token, info).await? {
        if let (Some(imp), Some(by)) = (auth.acting.impersonation_id(), auth.staff_acting()) {
            state.store.end_impersonation(imp, EndReason::Returned, &by).await?;
        }
    }
    Ok(StatusCode::OK.into_response())
}

/// What introspection answers: only `active: false` for a token that is not live or not the
/// caller's to see.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<ActorClaim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

/// `POST /oauth/introspect` (RFC 7662), with a staff API key: whether the token's session is live
/// now, and whose it is. Staff see their own tokens; `impersonation.log.view` sees every one.
/// Introspecting is not activity: it restarts no idle timer and ends nothing.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth", security(("api_key" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = Introspection),
        (status = 400, description = "No token given", body = OAuthErrorBody),
        (status = 401, description = "No live staff API key", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    ApiStaff(holder): ApiStaff,
    info: ClientInfo,
    OAuthForm(f): OAuthForm<TokenForm>,
) -> Result<Response, OAuthRefusal> {
    let token = required(&f.token, "token")?;
    let inactive = || Json(Introspection::default()).into_response();
    let Some((_, claims)) = live_session(&state, token, info).await? else { return Ok(inactive()) };
    let own = claims.act.sub == TokenClaims::staff_subject(holder.staff.id);
    if !own && !holder.has(Permission::ImpersonationLogView) {
        return Ok(inactive());
    }
    Ok(Json(Introspection {
        active: true,
        sub: Some(claims.sub),
        act: Some(claims.act),
        imp: Some(claims.imp),
        scope: Some(claims.scope),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        aud: Some(claims.aud),
        token_type: Some("Bearer"),
    })
    .into_response())
}

/// The live Login as Client session a token acts in, looked at from outside (revocation,
/// introspection: nothing is written, no idle timer restarts), with the token's claims; `None`
/// for a token that does not verify or whose session is not live.
async fn live_session(
    state: &AppState,
    token: &str,
    info: ClientInfo,
) -> Result<Option<(crate::auth::guards::PortalAuth, TokenClaims)>, AppError> {
    let Ok(claims) = state.tokens.verify(token, crate::domain::now()) else { return Ok(None) };
    let opened = open_portal(state, &hash_token(&claims.jti), SessionKind::Api, info, Opening::Inspect).await?;
    Ok(match opened {
        Ok(auth) if auth.acting.impersonation_id() == Some(claims.imp) => Some((auth, claims)),
        Ok(_) | Err(Closed::NoSession | Closed::Invalid | Closed::Ended { .. }) => None,
    })
}

/// `GET /.well-known/jwks.json`: the public keys tokens are signed with, the retired ones
/// included until their last token expires.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth", responses((status = 200, description = "A JWK set of Ed25519 keys (`kty` OKP)", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    public_json(state.tokens.jwks())
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth", responses((status = 200, description = "The authorization server's metadata", body = Object)))]
pub async fn metadata(State(state): State<AppState>) -> Response {
    let base = &state.tokens.issuer;
    public_json(json!({
        "issuer": base,
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": [GRANT_TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "scopes_supported": [Scope::PortalRead.as_str(), Scope::PortalWrite.as_str()],
        "response_types_supported": [],
        "service_documentation": format!("{base}/api/docs"),
    }))
}

/// Public, cacheable JSON (keys and metadata change only with a restart).
fn public_json(v: serde_json::Value) -> Response {
    let mut r = Json(v).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
