//! Staff two-factor pages: setup (secret, QR code, first code, recovery codes), the code step
//! of the sign-in, and the step-up a stale session passes before Login as Client.

use crate::auth::guards::{StaffAuth, StaffEnrolling};
use crate::auth::two_factor::{hash_recovery_code, new_recovery_codes, new_secret};
use crate::auth::FreshSession;
use crate::auth::STAFF_COOKIE;
use crate::domain::two_factor::{
    check_code, display_recovery, is_code_shaped, normalize_recovery, otpauth_uri, CodeCheck,
};
use crate::domain::{format_time, now};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::two_factor::Proof;
use crate::web::forms::Post;
use crate::web::layout::{admin_page, alert, csrf};
use crate::web::login::{limit_key, Side, FAILURE_WINDOW, MAX_FAILURES, SESSION_SECONDS};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

pub(super) const WRONG_CODE: &str = "That code is not right. Check your authenticator app and try again.";
pub(super) const USED_CODE: &str = "That code was already used. Wait for the next one and try again.";
pub(super) const WRONG_RECOVERY: &str = "That recovery code is not right or was already used.";
pub(super) const WRONG_PASSWORD: &str = "That password is not right.";
pub(super) const TOO_MANY: &str = "Too many failed attempts for this account. Wait 15 minutes and try again.";
pub(super) const MAX_ANSWER: usize = 500;

/// A form with a code (authenticator or recovery).
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub(super) code: String,
}

/// Reads an answer as an authenticator code or a recovery code, before it is used up.
pub(super) fn read_answer(
    staff_id: i64,
    secret: &str,
    last_step: Option<i64>,
    answer: &str,
) -> Result<Proof, &'static str> {
    if is_code_shaped(answer) {
        match check_code(secret, answer, now(), last_step) {
            CodeCheck::Accepted(step) => Ok(Proof::Code(step)),
            CodeCheck::Wrong => Err(WRONG_CODE),
            CodeCheck::Replayed => Err(USED_CODE),
        }
    } else if let Some(code) = normalize_recovery(answer) {
        Ok(Proof::Recovery(hash_recovery_code(staff_id, &code)))
    } else {
        Err(WRONG_CODE)
    }
}

/// Why a proof that read well could not be used up (someone used it first).
pub(super) fn used_message(proof: &Proof) -> &'static str {
    match proof {
        Proof::Recovery(_) => WRONG_RECOVERY,
        Proof::Code(_) => USED_CODE,
        Proof::Password => WRONG_PASSWORD,
    }
}

/// Codes are checked one at a time on a node, so a burst of parallel guesses cannot all pass the
/// limit before any failure is recorded. Second factors are rare (sign-ins, step-ups), so one
/// gate for the node costs nothing.
pub(super) static SECOND_FACTOR_GATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether the limit has locked this account's second factor: the sign-in limit of this address
/// (SPEC §5), or twice that many wrong codes from all addresses together, so an attacker who has
/// the password cannot guess codes from many addresses (wrong passwords do not count there, so
/// guessing passwords cannot lock a staff member out of their codes).
pub(super) async fn locked(state: &AppState, email: &str, ip: &str) -> AppResult<bool> {
    let since = now() - FAILURE_WINDOW;
    let here = state.store.recent_login_failures(&account(email), ip, since).await?;
    let everywhere = state
        .store
        .recent_login_failures_anywhere(&crate::store::two_factor::second_factor_account(&account(email)), since)
        .await?;
    Ok(here >= MAX_FAILURES || everywhere >= 2 * MAX_FAILURES)
}

/// The sign-in limit's key for a staff member, the same one the password uses.
pub(super) fn account(email: &str) -> String {
    limit_key(Side::Staff, email)
}

fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).build();
    // Inline in HTML the XML declaration has no place; the <svg> element is all that is needed.
    svg.find("<svg").map(|i| svg[i..].to_string())
}

fn setup_markup(auth: &StaffAuth, secret: &str, message: Option<&str>) -> Markup {
    let uri = otpauth_uri(secret, &auth.staff.email);
    admin_page(
        auth,
        "Set up two-factor",
        html! {
            h1 { "Set up two-factor sign-in" }
            @if let Some(m) = message { (alert(m)) }
            @if auth.two_factor_required {
                p.notice role="status" #two-factor-required { "Your role must use two-factor sign-in. Set it up to continue." }
            }
            ol {
                li { "Scan this QR code with an authenticator app (such as FreeOTP, Aegis or Google Authenticator)." }
                li { "Or type this key into the app: " code #totp-secret { (secret) } " (time-based, 6 digits, 30 seconds)." }
                li { "Enter the 6-digit code the app shows." }
            }
            @if let Some(svg) = qr_svg(&uri) {
                // The SVG comes from the QR encoder: only numbers and fixed markup.
                div #totp-qr role="img" aria-label="QR code of the two-factor key" { (PreEscaped(svg)) }
            }
            form #two-factor-setup method="post" action="/admin/2fa/setup" {
                (csrf(&auth.csrf_token))
                label for="code" { "Code from the app" }
                input #code type="text" name="code" required autocomplete="one-time-code" inputmode="numeric" maxlength="10";
                p { button #enable-2fa type="submit" { "Turn on two-factor" } }
            }
        },
    )
}

/// `GET /admin/2fa/setup`: the secret (bound to this staff member on the server) and its QR
/// code; or, when two-factor is already on, its state.
pub async fn setup_page(State(state): State<AppState>, StaffEnrolling(auth): StaffEnrolling) -> AppResult<Markup> {
    let tf = state.store.two_factor_state(auth.staff.id).await?;
    if tf.secret.is_some() {
        return Ok(admin_page(
            &auth,
            "Two-factor",
            html! {
                h1 { "Two-factor sign-in" }
                p #two-factor-status {
                    "Two-factor sign-in is on"
                    @if let Some(at) = tf.enabled_at { " since " (format_time(at)) }
                    ". " (tf.recovery_left) " recovery codes are left."
                }
                p.muted { "To move it to a new device or get new recovery codes, ask an operator to run "
                    code { "behalf staff reset-2fa " (auth.staff.email) } ", then set it up again." }
            },
        ));
    }
    let secret = match tf.pending {
        Some(p) => p,
        None => {
            let s = new_secret();
            state.store.set_pending_secret(auth.staff.id, &s).await?;
            s
        }
    };
    Ok(setup_markup(&auth, &secret, None))
}

/// `POST /admin/2fa/setup` (`code`): the first code confirms the pending secret; two-factor
/// goes on, the session rotates, and the ten recovery codes are shown this once.
pub async fn setup(
    State(state): State<AppState>,
    Post { auth: StaffEnrolling(auth), form: f }: Post<StaffEnrolling, CodeForm>,
) -> AppResult<Response> {
    let tf = state.store.two_factor_state(auth.staff.id).await?;
    if tf.secret.is_some() {
        return Err(AppError::Status(StatusCode::CONFLICT, "Two-factor sign-in is already on.".into()));
    }
    let Some(secret) = tf.pending else {
        return Err(AppError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Open the two-factor setup page first, then enter the code your app shows.".into(),
        ));
    };
    let step = match check_code(&secret, f.code.trim(), now(), None) {
        CodeCheck::Accepted(step) => step,
        _ => {
            return Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                setup_markup(
                    &auth,
                    &secret,
                    Some("That code is not right. Check the key and your device's clock, then try again."),
                ),
            ))
        }
    };
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| hash_recovery_code(auth.staff.id, c)).collect();
    let fresh = FreshSession::new();
    let new = fresh.staff_session(SESSION_SECONDS);
    if !state.store.enable_two_factor(auth.staff.id, &secret, step, &hashes, &new, &auth.acting).await? {
        return Err(AppError::Status(
            StatusCode::CONFLICT,
            "The two-factor key changed meanwhile (another tab?). Open the setup page again.".into(),
        ));
    }
    let rotated = StaffAuth { csrf_token: fresh.csrf_token.clone(), two_factor: true, ..auth };
    let page = admin_page(
        &rotated,
        "Two-factor is on",
        html! {
            h1 { "Two-factor sign-in is on" }
            p.notice role="status" #two-factor-enabled { "From now on you sign in with your password and a code from your app. Your other sessions were signed out." }
            h2 { "Recovery codes" }
            p { "Each of these codes signs you in once in place of a code, if you lose your device. Keep them somewhere safe: they are shown only now." }
            ol #recovery-codes { @for c in &codes { li { code { (display_recovery(c)) } } } }
            p { a #continue href="/admin" { "Continue to the admin" } }
        },
    );
    let cookie = fresh.cookie(STAFF_COOKIE, state.config.secure_cookies);
    Ok((StatusCode::OK, [(header::SET_COOKIE, cookie)], page).into_response())
}
