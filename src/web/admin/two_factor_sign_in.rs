//! The second step of a staff sign-in: the code page, the code, and cancelling back to the
//! password.

use super::two_factor::{
    account, locked, read_answer, used_message, CodeForm, MAX_ANSWER, SECOND_FACTOR_GATE, TOO_MANY,
};
use crate::auth::guards::PendingStaff;
use crate::auth::FreshSession;
use crate::auth::{clear_cookie, STAFF_COOKIE};
use crate::error::{see_other, AppError, AppResult};
use crate::state::AppState;
use crate::store::two_factor::FailedProof;
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{alert, csrf, public_page};
use crate::web::login::SESSION_SECONDS;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

fn code_markup(csrf_token: &str, message: Option<&str>) -> Markup {
    public_page(
        "Two-factor sign-in",
        html! {
            h1 { "Two-factor sign-in" }
            @if let Some(m) = message { (alert(m)) }
            p { "Enter the 6-digit code from your authenticator app, or one of your recovery codes." }
            form #two-factor-sign-in method="post" action="/admin/login/2fa" {
                (csrf(csrf_token))
                label for="code" { "Code" }
                input #code type="text" name="code" required autocomplete="one-time-code" maxlength="40";
                p { button #verify-code type="submit" { "Verify" } }
            }
            form.inline method="post" action="/admin/login/2fa/cancel" {
                (csrf(csrf_token))
                button #cancel-2fa type="submit" { "Cancel and start again" }
            }
        },
    )
}

/// `GET /admin/login/2fa`: the code page of a half-signed-in staff member.
pub async fn code_page(p: PendingStaff) -> Markup {
    code_markup(&p.row.csrf_token, None)
}

/// `POST /admin/login/2fa` (`code`: an authenticator code or a recovery code): the second step
/// of the sign-in, limited like passwords; on success a new session token replaces the half one.
pub async fn code(
    State(state): State<AppState>,
    Post { auth: p, form: f }: Post<PendingStaff, CodeForm>,
) -> AppResult<Response> {
    let again = |status: StatusCode, msg: &str| AppError::Page(status, code_markup(&p.row.csrf_token, Some(msg)));
    let _gate = SECOND_FACTOR_GATE.lock().await;
    if locked(&state, &p.row.email, &p.info.ip).await? {
        return Err(again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY));
    }
    let answer: String = f.code.trim().chars().take(MAX_ANSWER).collect();
    let fresh = FreshSession::new();
    let new = fresh.staff_session(SESSION_SECONDS);
    let refusal = match read_answer(p.row.staff_id, &p.row.secret, p.row.last_step, &answer) {
        Ok(proof) => {
            if state.store.complete_staff_sign_in(p.row.session_id, p.row.staff_id, &proof, &new, &p.acting).await? {
                return Ok(see_other("/admin", &[fresh.cookie(STAFF_COOKIE, state.config.secure_cookies)]));
            }
            used_message(&proof)
        }
        Err(msg) => msg,
    };
    state
        .store
        .record_second_factor_failure(
            &p.acting,
            p.row.staff_id,
            &account(&p.row.email),
            FailedProof::SecondFactor,
            format!("sign-in: {refusal}"),
        )
        .await?;
    Err(again(StatusCode::UNAUTHORIZED, refusal))
}

/// `POST /admin/login/2fa/cancel`: drops the half-signed-in session.
pub async fn cancel(
    State(state): State<AppState>,
    Post { auth: p, form: _ }: Post<PendingStaff, CsrfOnly>,
) -> AppResult<Response> {
    state.store.cancel_pending_staff_session(p.row.session_id, p.row.staff_id, &p.acting).await?;
    Ok(see_other("/admin/login", &[clear_cookie(STAFF_COOKIE, state.config.secure_cookies)]))
}
