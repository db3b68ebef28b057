//! Sign-in for staff and clients: one flow with the same error for unknown e-mail and wrong password,
//! a failed-attempt limit per account and address, and a fresh session on success.

use crate::auth::guards::{check_csrf, cookie, ClientInfo};
use crate::auth::FreshSession;
use crate::auth::{
    hash_token, is_issued_token, new_token, set_cookie, verify_password, CLIENT_COOKIE, LOGIN_CSRF_COOKIE, STAFF_COOKIE,
};
use crate::domain::acting::StaffActing;
use crate::domain::session::Whose;
use crate::error::{see_other, AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::layout::{alert, csrf, public_page};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// Failed attempts allowed per account and address inside the window.
pub const MAX_FAILURES: i64 = 5;
/// The failed-attempt window, in seconds.
pub const FAILURE_WINDOW: i64 = 15 * 60;
/// How long a session lasts at most, in seconds.
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// How long a staff member has between the password and the two-factor code, in seconds.
pub const PENDING_SECONDS: i64 = 10 * 60;
const MAX_FIELD: usize = 500;

/// Which side is signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Staff,
    Client,
}

impl Side {
    fn action(self) -> &'static str {
        match self {
            Side::Staff => "/admin/login",
            Side::Client => "/login",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Side::Staff => "Staff sign-in",
            Side::Client => "Client sign-in",
        }
    }
}

/// The sign-in limit's key of an account: the side and the e-mail address as typed at sign-in.
pub fn limit_key(side: Side, email: &str) -> String {
    let side = match side {
        Side::Staff => "staff",
        Side::Client => "client",
    };
    format!("{side}:{}", email.trim().to_lowercase())
}

/// The sign-in form fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf_token: String,
}

fn login_markup(side: Side, token: &str, email: &str, message: Option<&str>) -> Markup {
    public_page(
        side.title(),
        html! {
            h1 { (side.title()) }
            @if let Some(m) = message { (alert(m)) }
            form method="post" action=(side.action()) {
                (csrf(token))
                label for="email" { "E-mail" }
                input #email type="email" name="email" value=(email) required autocomplete="username";
                label for="password" { "Password" }
                input #password type="password" name="password" required autocomplete="current-password";
                p { button #sign-in type="submit" { "Sign in" } }
            }
        },
    )
}

/// Which side a sign-in route serves, chosen in the route table (`login::page::<StaffSide>`), so
/// one pair of handlers serves both sign-in pages.
pub trait SignInSide {
    const SIDE: Side;
}

/// The staff sign-in at `/admin/login`.
pub enum StaffSide {}
impl SignInSide for StaffSide {
    const SIDE: Side = Side::Staff;
}

/// The client sign-in at `/login`.
pub enum ClientSide {}
impl SignInSide for ClientSide {
    const SIDE: Side = Side::Client;
}

/// `GET /admin/login` and `GET /login`.
pub async fn page<S: SignInSide>(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_page(S::SIDE, &headers, state.config.secure_cookies)
}

/// `POST /admin/login` and `POST /login`: a fresh session of that side on success; the
/// browser's old session of that side ends.
pub async fn submit<S: SignInSide>(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ClientInfo,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    sign_in_and_redirect(&state, S::SIDE, &headers, &info, &f).await
}

/// The sign-in page; sets the pre-session CSRF cookie when the browser has none.
fn login_page(side: Side, headers: &HeaderMap, secure: bool) -> Response {
    let existing = cookie(headers, LOGIN_CSRF_COOKIE).filter(|t| is_issued_token(t));
    let token = existing.clone().unwrap_or_else(new_token);
    let mut r = login_markup(side, &token, "", None).into_response();
    if existing.is_none() {
        if let Ok(v) = set_cookie(LOGIN_CSRF_COOKIE, &token, secure).parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Checks the sign-in and returns the account id; every refusal re-renders the form with a message.
async fn sign_in(
    state: &AppState,
    side: Side,
    headers: &HeaderMap,
    info: &ClientInfo,
    form: &LoginForm,
) -> AppResult<i64> {
    let token = cookie(headers, LOGIN_CSRF_COOKIE).filter(|t| is_issued_token(t)).unwrap_or_default();
    check_csrf(&token, &form.csrf_token)?;
    let email = form.email.trim().to_lowercase();
    let again = |code: StatusCode, msg: &str| AppError::Page(code, login_markup(side, &token, &email, Some(msg)));
    if email.is_empty() || form.password.is_empty() || email.len() > MAX_FIELD || form.password.len() > MAX_FIELD {
        return Err(again(StatusCode::UNPROCESSABLE_ENTITY, "Enter your e-mail address and password."));
    }
    let account = limit_key(side, &email);
    let now = crate::domain::now();
    if state.store.recent_login_failures(&account, &info.ip, now - FAILURE_WINDOW).await? >= MAX_FAILURES {
        return Err(again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins for this account. Wait 15 minutes and try again.",
        ));
    }
    let (id, hash, active, subject) = match side {
        Side::Staff => match state.store.staff_by_email(&email).await? {
            Some(s) => (s.id, Some(s.password_hash), s.active, None),
            None => (0, None, false, None),
        },
        Side::Client => match state.store.client_by_email(&email).await? {
            Some(c) => (c.id, Some(c.password_hash), c.active, Some(c.id)),
            None => (0, None, false, None),
        },
    };
    // A disabled account gets the same answer as a wrong password, so the answer never tells
    // whether a guess was right.
    if !verify_password(form.password.clone(), hash).await || !active {
        state.store.record_login_failure(&account, &info.ip, subject).await?;
        return Err(again(StatusCode::UNAUTHORIZED, "The e-mail address or password is not right."));
    }
    Ok(id)
}

/// The whole sign-in: check the form, then replace the browser's session of that side with a
/// fresh one (a new random token, so the session rotates) and redirect to the side's home.
async fn sign_in_and_redirect(
    state: &AppState,
    side: Side,
    headers: &HeaderMap,
    info: &ClientInfo,
    form: &LoginForm,
) -> AppResult<Response> {
    let id = sign_in(state, side, headers, info, form).await?;
    let fresh = FreshSession::new();
    let (hash, csrf_token) = (&fresh.token_hash, &fresh.csrf_token);
    let expires = crate::domain::now() + SESSION_SECONDS;
    let (cookie_name, home) = match side {
        Side::Staff => (STAFF_COOKIE, "/admin"),
        Side::Client => (CLIENT_COOKIE, "/dashboard"),
    };
    let old = cookie(headers, cookie_name).map(|t| hash_token(&t));
    match side {
        Side::Staff if state.store.two_factor_state(id).await?.secret.is_some() => {
            // The session stays half signed in (it opens only the code page) until the code.
            let expires = crate::domain::now() + PENDING_SECONDS;
            let by = StaffActing::staff(id, &info.ip, &info.user_agent);
            state.store.create_pending_staff_session(id, hash, csrf_token, expires, old.as_deref(), &by).await?;
            return Ok(see_other("/admin/login/2fa", &[fresh.cookie(cookie_name, state.config.secure_cookies)]));
        }
        Side::Staff => {
            state.store.create_session(Whose::Staff(id), hash, csrf_token, expires, old.as_deref(), &info.ip).await?
        }
        Side::Client => {
            state.store.create_session(Whose::Client(id), hash, csrf_token, expires, old.as_deref(), &info.ip).await?
        }
    }
    Ok(see_other(home, &[fresh.cookie(cookie_name, state.config.secure_cookies)]))
}
