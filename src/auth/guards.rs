//! Request guards: `StaffAuth` for admin pages and `PortalAuth` (which builds `Acting`) for the portal.

use super::{clear_cookie, hash_token, read_cookie, CLIENT_COOKIE, STAFF_COOKIE};
use crate::domain::acting::{Acting, Actor, ImpersonationInfo, StaffActing, StoreInfo};
use crate::domain::api::Channel;
use crate::domain::impersonation::{check_live, live_mode, should_touch, EndReason, LiveLimits, LiveState, Mode};
use crate::domain::modules::{Module, Modules};
use crate::domain::permissions::{Grants, Permission};
use crate::domain::session::SessionKind;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::people::Staff;
use crate::store::two_factor::PendingStaffRow;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};

/// The caller's address and user agent, for records.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// Reads them from the request.
    pub fn from_parts(parts: &Parts) -> Self {
        // The one address of the request, resolved through trusted proxies by `attach_peer`.
        let ip =
            parts.extensions.get::<super::peer::Peer>().map(|p| p.ip.to_string()).unwrap_or_else(|| "unknown".into());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        ClientInfo { ip, user_agent }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo::from_parts(parts))
    }
}

/// The raw value of a cookie, if the browser sent it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| read_cookie(h, name).map(str::to_string))
        .filter(|v| !v.is_empty())
}

/// A signed-in, active staff member with their current permissions.
#[derive(Debug, Clone)]
pub struct StaffAuth {
    pub session_id: i64,
    pub csrf_token: String,
    pub staff: Staff,
    pub grants: Grants,
    pub info: ClientInfo,
    /// The context every staff-side write of this request takes.
    pub acting: StaffActing,
    /// When this session last checked a password or code (for the step-up before Login as Client).
    pub verified_at: i64,
    /// Whether the staff member has two-factor.
    pub two_factor: bool,
    /// Whether `security.staff_2fa` requires two-factor of this staff member.
    pub two_factor_required: bool,
}

impl StaffAuth {
    /// Refuses with 403 unless the permission is held.
    pub fn require(&self, perm: Permission) -> Result<(), AppError> {
        if self.grants.has(perm) {
            Ok(())
        } else {
            Err(AppError::forbidden(perm.missing()))
        }
    }
}

/// Compares a submitted CSRF token with the session's.
pub fn check_csrf(expected: &str, submitted: &str) -> Result<(), AppError> {
    if !expected.is_empty() && super::constant_time_eq(expected, submitted) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "The form has expired or did not come from this site. Go back, reload the page and try again.",
        ))
    }
}

/// A signed-in session that carries a CSRF token: every form post checks against it, through
/// `web::forms::Post`, before its handler runs.
pub trait SessionCsrf {
    /// Refuses with 403 unless `token` is this session's.
    fn check_csrf(&self, token: &str) -> Result<(), AppError>;
}

impl SessionCsrf for StaffAuth {
    fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        check_csrf(&self.csrf_token, token)
    }
}

impl SessionCsrf for StaffEnrolling {
    fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        check_csrf(&self.0.csrf_token, token)
    }
}

impl SessionCsrf for PendingStaff {
    fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        check_csrf(&self.row.csrf_token, token)
    }
}

impl SessionCsrf for PortalAuth {
    fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        check_csrf(&self.csrf_token, token)
    }
}

/// Reads the full staff session; a half-signed-in one (code still owed) goes to the code page.
async fn staff_session(parts: &Parts, state: &AppState) -> Result<StaffAuth, AppError> {
    let token = cookie(&parts.headers, STAFF_COOKIE).ok_or_else(|| AppError::redirect("/admin/login"))?;
    let hash = hash_token(&token);
    let now = crate::domain::now();
    let Some(row) = state.store.staff_session(&hash, now).await? else {
        if state.store.pending_staff_session(&hash, now).await?.is_some() {
            return Err(AppError::redirect("/admin/login/2fa"));
        }
        return Err(AppError::Redirect {
            to: "/admin/login".into(),
            cookies: vec![clear_cookie(STAFF_COOKIE, state.config.secure_cookies)],
        });
    };
    let grants = row.grants;
    let info = ClientInfo::from_parts(parts);
    Ok(StaffAuth {
        acting: StaffActing::staff(row.staff.id, &info.ip, &info.user_agent),
        session_id: row.session_id,
        csrf_token: row.csrf_token,
        staff: row.staff,
        two_factor_required: row.staff_2fa.applies_to(&grants),
        grants,
        info,
        verified_at: row.verified_at,
        two_factor: row.two_factor,
    })
}

/// Every admin page: a staff member whom `security.staff_2fa` requires to have two-factor and
/// who has not set it up is sent to the setup page.
impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let auth = staff_session(parts, state).await?;
        if auth.two_factor_required && !auth.two_factor {
            return Err(AppError::redirect("/admin/2fa/setup"));
        }
        Ok(auth)
    }
}

/// A signed-in staff member who may still owe the two-factor setup: only for the setup page
/// and sign-out.
#[derive(Debug, Clone)]
pub struct StaffEnrolling(pub StaffAuth);

impl FromRequestParts<AppState> for StaffEnrolling {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(StaffEnrolling(staff_session(parts, state).await?))
    }
}

/// A half-signed-in staff session: the password was right and the code is still owed. It
/// answers only the code page; anything else sends it to sign in again.
#[derive(Debug, Clone)]
pub struct PendingStaff {
    pub row: PendingStaffRow,
    pub info: ClientInfo,
    /// The context of the sign-in steps' writes: the staff member signing in.
    pub acting: StaffActing,
}

impl FromRequestParts<AppState> for PendingStaff {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = cookie(&parts.headers, STAFF_COOKIE).ok_or_else(|| AppError::redirect("/admin/login"))?;
        let row = state.store.pending_staff_session(&hash_token(&token), crate::domain::now()).await?;
        let row = row.ok_or_else(|| AppError::redirect("/admin/login"))?;
        let info = ClientInfo::from_parts(parts);
        let acting = StaffActing::staff(row.staff_id, &info.ip, &info.user_agent);
        Ok(PendingStaff { row, info, acting })
    }
}

/// A live portal session: the acting identity plus the session's CSRF token.
#[derive(Debug, Clone)]
pub struct PortalAuth {
    pub session_id: i64,
    pub csrf_token: String,
    pub acting: Acting,
    pub info: ClientInfo,
    /// In the client's own session only: the staff member who is in this client's portal now
    /// through Login as Client, named on every page beside **End support access**.
    pub live_support: Option<String>,
}

impl PortalAuth {
    /// Answers 404 when staff have hidden this module from the client, exactly as for a page
    /// that does not exist, so a Login as Client session sees what the client sees.
    pub fn require_module(&self, m: Module) -> Result<(), AppError> {
        if self.acting.shows(m) {
            Ok(())
        } else {
            Err(AppError::not_found())
        }
    }

    /// The staff member behind a Login as Client session, as the context of the staff-side
    /// writes it makes (returning to the admin side, closing the session).
    pub fn staff_acting(&self) -> Option<StaffActing> {
        self.acting.staff_id().map(|id| StaffActing::staff(id, &self.info.ip, &self.info.user_agent))
    }

    /// The current store, or a 404 for a client who belongs to no store.
    pub fn store(&self) -> Result<&StoreInfo, AppError> {
        self.acting.store.as_ref().ok_or_else(AppError::not_found)
    }
}

/// Where a staff member lands when their impersonation ends outside their control.
pub fn ended_redirect(client_id: i64, reason: EndReason, secure: bool) -> AppError {
    AppError::Redirect { to: ended_path(client_id, reason), cookies: vec![clear_cookie(CLIENT_COOKIE, secure)] }
}

/// The client record that tells staff why their Login as Client session ended.
pub fn ended_path(client_id: i64, reason: EndReason) -> String {
    format!("/admin/clients/{client_id}?ended={}", reason.as_str())
}

/// Why a portal session (a cookie's or an API token's) opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No such session, or it expired, or the client's own session of a disabled client.
    NoSession,
    /// Its Login as Client session has ended, now or earlier, for this reason.
    Ended { client_id: i64, reason: EndReason },
    /// A Login as Client session whose staff member is gone.
    Invalid,
}

/// What opening a portal session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// A request made with the session: it counts as activity (the idle timer restarts), and a
    /// session found past its limits is ended and recorded.
    Use,
    /// A look at the session from outside (token introspection): nothing is written.
    Inspect,
}

/// Opens the portal session with this token hash: builds `Acting` once, checking that a Login as
/// Client session behind it is live (deadline, idle limit, the staff member still active and
/// permitted) and, for a use, ending it, recorded, when it is not. Cookies and API tokens both
/// come here, so every rule holds for both.
pub async fn open_portal(
    state: &AppState,
    token_hash: &str,
    kind: SessionKind,
    info: ClientInfo,
    opening: Opening,
) -> Result<Result<PortalAuth, Closed>, AppError> {
    let using = opening == Opening::Use;
    let now = crate::domain::now();
    let Some(row) = state.store.portal_session(token_hash, kind, now).await? else {
        return Ok(Err(Closed::NoSession));
    };
    let limits = LiveLimits::from_stored(row.max_duration.as_deref(), row.idle_timeout.as_deref());
    let impersonation = match row.impersonation_id {
        None => {
            if !row.client_active {
                return Ok(Err(Closed::NoSession));
            }
            None
        }
        Some(imp_id) => {
            if let Some(ended) = row.end_reason.as_deref().and_then(EndReason::parse) {
                if using {
                    state.store.delete_session(row.session_id).await?;
                }
                return Ok(Err(Closed::Ended { client_id: row.client_id, reason: ended }));
            }
            let idle = limits.idle_timeout;
            let live = LiveState {
                started_at: row.started_at.unwrap_or(0),
                ends_by: row.ends_by.unwrap_or(0),
                last_seen_at: row.last_seen_at.unwrap_or(0),
                staff_active: row.staff_active,
                staff_may_impersonate: row.staff_may_impersonate,
            };
            if let Err(reason) = check_live(&live, limits, now) {
                if using {
                    let by = StaffActing::system_at(&info.ip, &info.user_agent);
                    state.store.end_impersonation(imp_id, reason, &by).await?;
                    state.store.delete_session(row.session_id).await?;
                }
                return Ok(Err(Closed::Ended { client_id: row.client_id, reason }));
            }
            if using && should_touch(live.last_seen_at, idle, now) {
                state.store.touch_impersonation(imp_id, now).await?;
            }
            Some(ImpersonationInfo {
                id: imp_id,
                mode: live_mode(
                    row.mode.as_deref().and_then(Mode::parse).unwrap_or(Mode::ReadOnly),
                    row.staff_may_write,
                ),
                ends_by: limits.deadline(live.started_at, live.ends_by),
                reason: row.reason.clone().unwrap_or_default(),
                store_name: row.store_name.clone(),
                several_stores: row.store_count > 1,
                channel: Channel::parse(row.channel.as_deref().unwrap_or("")),
            })
        }
    };
    let live_support = match (&impersonation, row.live_support_name) {
        (None, Some(name)) => match (row.live_support_started_at, row.live_support_ends_by, row.live_support_seen_at) {
            (Some(started), Some(ends_by), Some(seen)) => limits.is_live(started, ends_by, seen, now).then_some(name),
            _ => None,
        },
        _ => None,
    };
    let actor = match (&impersonation, row.staff_id, row.staff_name) {
        (Some(_), Some(id), Some(name)) => Actor::Staff { id, name },
        (Some(_), _, _) => return Ok(Err(Closed::Invalid)),
        (None, _, _) => Actor::Client,
    };
    Ok(Ok(PortalAuth {
        session_id: row.session_id,
        csrf_token: row.csrf_token,
        acting: Acting {
            client_id: row.client_id,
            client_name: row.client_name,
            client_email: row.client_email,
            actor,
            impersonation,
            ip: info.ip.clone(),
            modules: Modules::from_hidden(&row.hidden_modules),
            store: match (row.store_id, row.store_name, row.store_color, row.store_currency) {
                (Some(id), Some(name), Some(color), Some(currency)) => Some(StoreInfo { id, name, color, currency }),
                _ => None,
            },
        },
        info,
        live_support,
    }))
}

impl FromRequestParts<AppState> for PortalAuth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let secure = state.config.secure_cookies;
        let token = cookie(&parts.headers, CLIENT_COOKIE).ok_or_else(|| AppError::redirect("/login"))?;
        let info = ClientInfo::from_parts(parts);
        match open_portal(state, &hash_token(&token), SessionKind::Client, info, Opening::Use).await? {
            Ok(auth) => Ok(auth),
            Err(Closed::NoSession) => {
                Err(AppError::Redirect { to: "/login".into(), cookies: vec![clear_cookie(CLIENT_COOKIE, secure)] })
            }
            Err(Closed::Ended { client_id, reason }) => Err(ended_redirect(client_id, reason, secure)),
            Err(Closed::Invalid) => {
                Err(AppError::Status(StatusCode::FORBIDDEN, "This session is no longer valid.".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff_auth(grants: Grants) -> StaffAuth {
        StaffAuth {
            session_id: 1,
            csrf_token: "t".into(),
            staff: Staff {
                id: 1,
                email: "s@example.com".into(),
                name: "S".into(),
                password_hash: String::new(),
                role_id: 1,
                role_name: "support".into(),
                active: true,
            },
            grants,
            info: ClientInfo { ip: "127.0.0.1".into(), user_agent: String::new() },
            acting: StaffActing::staff(1, "127.0.0.1", ""),
            verified_at: 0,
            two_factor: false,
            two_factor_required: false,
        }
    }

    #[test]
    fn require_names_the_missing_permission_by_its_stored_name() {
        let auth = staff_auth(Grants::from_iter([Permission::ClientsImpersonate]));
        assert!(auth.require(Permission::ClientsImpersonate).is_ok());
        match auth.require(Permission::ClientsImpersonateWrite) {
            Err(AppError::Status(status, msg)) => {
                assert_eq!(status, StatusCode::FORBIDDEN);
                assert_eq!(msg, "You do not have the clients.impersonate.write permission needed here.");
            }
            other => panic!("expected a 403, got {other:?}"),
        }
    }
}
