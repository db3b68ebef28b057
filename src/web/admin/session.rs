//! Staff sign-in and sign-out.

use crate::auth::guards::StaffEnrolling;
use crate::auth::{clear_cookie, STAFF_COOKIE};
use crate::error::{see_other, AppResult};
use crate::state::AppState;
use crate::web::forms::{CsrfOnly, Post};
use axum::extract::State;
use axum::response::Response;

/// `POST /admin/logout`: ends the staff session and any live Login as Client session of this staff member.
pub async fn logout(
    State(state): State<AppState>,
    Post { auth: StaffEnrolling(auth), form: _ }: Post<StaffEnrolling, CsrfOnly>,
) -> AppResult<Response> {
    state.store.end_staff_session(auth.session_id, auth.staff.id, &auth.acting).await?;
    Ok(see_other("/admin/login", &[clear_cookie(STAFF_COOKIE, state.config.secure_cookies)]))
}
