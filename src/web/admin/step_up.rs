//! The step-up before Login as Client, and before making an API key (which can start it): a
//! fresh code (or password) when the session's last check is older than
//! `impersonation.reauth_within`.

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

/// What the step-up guards: where the confirmed form goes again, with which fields, and what it
/// does.
pub(super) struct Guarded<'a> {
    /// The form's action.
    pub action: String,
    /// The fields the form carries on, as they were sent.
    pub fields: Vec<(&'static str, &'a str)>,
    /// "log in as this client", "make an API key".
    pub doing: &'static str,
    /// The button: "Confirm and log in as the client".
    pub button: &'static str,
    /// The answer the form carried (`reauth`), if any.
    pub answer: Option<&'a str>,
    /// For the record of a wrong answer: "Login as Client of client #3".
    pub what: String,
}

impl<'a> Guarded<'a> {
    /// A Login as Client start.
    pub fn start(client_id: i64, f: &'a StartForm) -> Self {
        let mut fields = vec![("reason", f.reason.as_str())];
        for (name, v) in [("mode", &f.mode), ("store", &f.store), ("next", &f.next)] {
            if let Some(v) = v {
                fields.push((name, v.as_str()));
            }
        }
        Guarded {
            action: format!("/admin/clients/{client_id}/impersonate"),
            fields,
            doing: "log in as this client",
            button: "Confirm and log in as the client",
            answer: f.reauth.as_deref(),
            what: format!("Login as Client of client #{client_id}"),
        }
    }
}

fn step_up_markup(auth: &StaffAuth, g: &Guarded, message: Option<&str>) -> Markup {
    admin_page(
        auth,
        "Confirm it is you",
        html! {
            h1 { "Confirm it is you" }
            @if let Some(m) = message { (alert(m)) }
            p { "Your last sign-in check was a while ago. Before you " (g.doing) ", "
                @if auth.two_factor { "enter a code from your authenticator app (or a recovery code)." }
                @else { "enter your password again." } }
            form #step-up-form method="post" action=(g.action) {
                (csrf(&auth.csrf_token))
                @for (name, value) in &g.fields { input type="hidden" name=(name) value=(value); }
                @if auth.two_factor {
                    label for="reauth" { "Code" }
                    input #reauth type="text" name="reauth" required autocomplete="one-time-code" maxlength="40";
                } @else {
                    label for="reauth" { "Password" }
                    input #reauth type="password" name="reauth" required autocomplete="current-password";
                }
                p { button #confirm-step-up type="submit" { (g.button) } }
            }
        },
    )
}

/// The step-up before what `g` guards. `None`: the session's last check is recent enough, or the
/// answer in the form (`reauth`) just passed and the session's check time was refreshed, so the
/// action goes on. `Some(page)`: the page asking for the code or password, carrying the form's
/// fields. A wrong answer counts against the sign-in limit.
pub(super) async fn step_up(
    state: &AppState,
    auth: &StaffAuth,
    settings: &Settings,
    g: &Guarded<'_>,
) -> AppResult<Option<Response>> {
    if !needs_step_up(auth.verified_at, settings.reauth_within.seconds(), now()) {
        return Ok(None);
    }
    let answer: String = g.answer.unwrap_or("").trim().chars().take(MAX_ANSWER).collect();
    if answer.is_empty() {
        return Ok(Some(step_up_markup(auth, g, None).into_response()));
    }
    let again = |status: StatusCode, msg: &str| AppError::Page(status, step_up_markup(auth, g, Some(msg)));
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
    let detail = format!("step-up before {}: {refusal}", g.what);
    let failed = if auth.two_factor { FailedProof::SecondFactor } else { FailedProof::Password };
    state
        .store
        .record_second_factor_failure(&auth.acting, auth.staff.id, &account(&auth.staff.email), failed, detail)
        .await?;
    Err(again(StatusCode::UNAUTHORIZED, refusal))
}
