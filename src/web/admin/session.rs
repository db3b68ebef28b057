//! Staff sign-in and sign-out.

use crate::auth::guards::StaffEnrolling;
use crate::auth::{clear_cookie, STAFF_COOKIE};
use crate::error::{see_other, AppResult};
use crate::state::AppState;
use crate::web::extract::Form;
use crate::web::forms::CsrfOnly;
use axum::extract::State;
use axum::response::Response;

/// `POST /admin/logout`: ends the staff session and any live Login as Client session of this staff member.
pub async fn logout(
    State(state): State<AppState>,
    StaffEnrolling(auth): StaffEnrolling,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    auth.check_csrf(&f.csrf_token)?;
    state.store.end_staff_session(auth.session_id, auth.staff.id, &auth.info.ip).await?;
    Ok(see_other("/admin/login", &[clear_cookie(STAFF_COOKIE, state.config.secure_cookies)]))
}
