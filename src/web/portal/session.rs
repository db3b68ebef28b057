//! Portal sign-in and sign-out, the home redirect, and the way back to the admin side from Login as Client.

use crate::auth::guards::SessionCsrf;
use crate::auth::guards::{ended_path, PortalAuth};
use crate::auth::{clear_cookie, CLIENT_COOKIE};
use crate::domain::impersonation::EndReason;
use crate::error::{see_other, AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::forms::{CsrfOnly, Post};
use axum::extract::State;
use axum::response::{IntoResponse, Response};

/// `GET /` sends people to the portal.
pub async fn home() -> Response {
    axum::response::Redirect::to("/dashboard").into_response()
}

/// `POST /impersonation/return`: Return to Admin.
pub async fn return_to_admin(
    State(state): State<AppState>,
    auth: Result<PortalAuth, AppError>,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    let auth = auth
        .ok()
        .filter(|a| a.acting.impersonation.is_some())
        .ok_or_else(|| AppError::forbidden("There is no live Login as Client session to return from."))?;
    auth.check_csrf(&f.csrf_token)?;
    if let (Some(imp), Some(by)) = (&auth.acting.impersonation, auth.staff_acting()) {
        state.store.end_impersonation(imp.id, EndReason::Returned, &by).await?;
    }
    Ok(see_other(
        &format!("/admin/clients/{}", auth.acting.client_id),
        &[clear_cookie(CLIENT_COOKIE, state.config.secure_cookies)],
    ))
}

/// `POST /logout`: signs the client out, or closes a Login as Client session.
pub async fn logout(
    State(state): State<AppState>,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    let secure = state.config.secure_cookies;
    match (&auth.acting.impersonation, auth.staff_acting()) {
        (Some(imp), Some(by)) => {
            state.store.end_impersonation(imp.id, EndReason::Closed, &by).await?;
            Ok(see_other(&ended_path(auth.acting.client_id, EndReason::Closed), &[clear_cookie(CLIENT_COOKIE, secure)]))
        }
        _ => {
            state.store.end_client_session(&auth.acting, auth.session_id).await?;
            Ok(see_other("/login", &[clear_cookie(CLIENT_COOKIE, secure)]))
        }
    }
}
