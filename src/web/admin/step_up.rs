//! The step-up before Login as Client: a fresh code (or password) when the session's last check
//! is older than `impersonation.reauth_within`.

use super::impersonation_views::StartForm;
use super::two_factor::{
    account, locked, read_answer, used_message, MAX_ANSWER, SECOND_FACTOR_GATE, TOO_MANY, WRONG_PASSWORD,
};
use crate::auth::guards::StaffAuth;
use crate::auth::verify_password;
use crate::domain::now;
use crate::domain::settings::Settings;
use crate::domain::two_factor::needs_step_up;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::two_factor::{FailedProof, Proof};
use crate::web::layout::{admin_page, alert, csrf};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

fn step_up_markup(auth: &StaffAuth, client_id: i64, f: &StartForm, message: Option<&str>) -> Markup {
    admin_page(
        auth,
        "Confirm it is you",
        html! {
            h1 { "Confirm it is you" }
            @if let Some(m) = message { (alert(m)) }
            p { "Your last sign-in check was a while ago. Before you log in as this client, "
                @if auth.two_factor { "enter a code from your authenticator app (or a recovery code)." }
                @else { "enter your password again." } }
            form #step-up-form method="post" action=(format!("/admin/clients/{client_id}/impersonate")) {
                (csrf(&auth.csrf_token))
                input type="hidden" name="reason" value=(f.reason);
                @if let Some(mode) = &f.mode { input type="hidden" name="mode" value=(mode); }
                @if let Some(store) = &f.store { input type="hidden" name="store" value=(store); }
                @if let Some(next) = &f.next { input type="hidden" name="next" value=(next); }
                @if auth.two_factor {
                    label for="reauth" { "Code" }
                    input #reauth type="text" name="reauth" required autocomplete="one-time-code" maxlength="40";
                } @else {
                    label for="reauth" { "Password" }
                    input #reauth type="password" name="reauth" required autocomplete="current-password";
                }
                p { button #confirm-step-up type="submit" { "Confirm and log in as the client" } }
            }
        },
    )
}

/// The step-up before a Login as Client start. `None`: the session's last check is recent
/// enough, or the answer in the form (`reauth`) just passed and the session's check time was
/// refreshed, so the start goes on. `Some(page)`: the page asking for the code or password,
/// carrying the start's fields. A wrong answer counts against the sign-in limit.
pub(super) async fn step_up(
    state: &AppState,
    auth: &StaffAuth,
    settings: &Settings,
    client_id: i64,
    f: &StartForm,
) -> AppResult<Option<Response>> {
    if !needs_step_up(auth.verified_at, settings.reauth_within.seconds(), now()) {
        return Ok(None);
    }
    let answer: String = f.reauth.as_deref().unwrap_or("").trim().chars().take(MAX_ANSWER).collect();
    if answer.is_empty() {
        return Ok(Some(step_up_markup(auth, client_id, f, None).into_response()));
    }
    let again = |status: StatusCode, msg: &str| AppError::Page(status, step_up_markup(auth, client_id, f, Some(msg)));
    let _gate = SECOND_FACTOR_GATE.lock().await;
    if locked(state, &auth.staff.email, &auth.info.ip).await? {
        return Err(again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY));
    }
    let read = if auth.two_factor {
        let tf = state.store.two_factor_state(auth.staff.id).await?;
        let secret = tf.secret.unwrap_or_default();
        read_answer(auth.staff.id, &secret, tf.last_step, &answer)
    } else if verify_password(answer, Some(auth.staff.password_hash.clone())).await {
        Ok(Proof::Password)
    } else {
        Err(WRONG_PASSWORD)
    };
    let refusal = match read {
        Ok(proof) => {
            if state.store.staff_step_up(auth.session_id, auth.staff.id, &proof, &auth.acting).await? {
                return Ok(None);
            }
            used_message(&proof)
        }
        Err(msg) => msg,
    };
    let detail = format!("step-up before Login as Client of client #{client_id}: {refusal}");
    let failed = if auth.two_factor { FailedProof::SecondFactor } else { FailedProof::Password };
    state
        .store
        .record_second_factor_failure(&auth.acting, auth.staff.id, &account(&auth.staff.email), failed, detail)
        .await?;
    Err(again(StatusCode::UNAUTHORIZED, refusal))
}
