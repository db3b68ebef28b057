//! The account page: profile, password, e-mail address and deleting the account.

use super::{authorize, unprocessable};
use crate::auth::guards::PortalAuth;
use crate::auth::{clear_cookie, hash_password, verify_password, CLIENT_COOKIE};
use crate::domain::acting::WriteKind;
use crate::domain::format_time;
use crate::domain::impersonation::Consent;
use crate::error::{see_other, AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::Query;
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{alert, portal_page};
use crate::web::portal::controls::controls;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// `POST /account/delete` (sensitive): closes the account and signs out everywhere.
pub async fn delete_account(
    State(state): State<AppState>,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    state.store.close_client_account(&auth.acting).await?;
    Ok(see_other("/login", &[clear_cookie(CLIENT_COOKIE, state.config.secure_cookies)]))
}

/// `POST /account/email` (sensitive).
pub async fn change_email(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, EmailForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    let email = f.email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'))
        && !email.contains(char::is_whitespace);
    if !valid {
        return Err(unprocessable(&auth, "Change e-mail", "Enter a valid e-mail address."));
    }
    state.store.set_client_email(&auth.acting, &email).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(c) => unprocessable(&auth, "Change e-mail", &c.to_string()),
        e => e.into(),
    })?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// E-mail change.
#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /account/password` (sensitive).
pub async fn change_password(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, PasswordForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    let c = state.store.client(auth.acting.client_id).await?;
    if f.current_password.len() > 500 || !verify_password(f.current_password.clone(), Some(c.password_hash)).await {
        return Err(unprocessable(&auth, "Change password", "The current password is not right."));
    }
    let n = f.new_password.chars().count();
    if !(10..=200).contains(&n) {
        return Err(unprocessable(&auth, "Change password", "The new password must have 10 to 200 characters."));
    }
    let hash = hash_password(f.new_password).await?;
    state.store.set_client_password(&auth.acting, &hash, auth.session_id).await?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// Password change.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /account`: profile (name, phone).
pub async fn save_profile(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, ProfileForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Ordinary)?;
    let name = f.name.trim();
    let phone = f.phone.trim();
    if name.is_empty() || name.chars().count() > 200 || phone.chars().count() > 50 {
        let mut c = state.store.client(auth.acting.client_id).await?;
        c.name = f.name.clone();
        c.phone = f.phone.clone();
        let page =
            account_page(&auth, &c, None, Some("The name must have 1 to 200 characters and the phone at most 50."));
        return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, portal_page(&auth, "Account", page)));
    }
    state.store.update_profile(&auth.acting, name, phone).await?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

/// `GET /account`.
pub async fn account(
    State(state): State<AppState>,
    auth: PortalAuth,
    Query(q): Query<AccountQuery>,
) -> AppResult<Markup> {
    let c = state.store.client(auth.acting.client_id).await?;
    let notice = q.saved.as_deref().map(|_| "Saved.");
    Ok(portal_page(&auth, "Account", account_page(&auth, &c, notice, None)))
}

fn account_page(
    auth: &PortalAuth,
    c: &crate::store::people::Client,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    let (ordinary, sensitive) = (WriteKind::Ordinary, WriteKind::Sensitive);
    html! {
        h1 { "Account" }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if let Some(e) = error { (alert(e)) }
        h2 { "Profile" }
        form method="post" action="/account" {
            (controls(auth, ordinary, html! {
                label for="name" { "Name" }
                input #name type="text" name="name" value=(c.name) maxlength="200" required;
                label for="phone" { "Phone" }
                input #phone type="text" name="phone" value=(c.phone) maxlength="50";
                p { button #save-profile type="submit" { "Save profile" } }
            }))
        }
        p { a href="/account/access" { "Who has accessed my account" } }
        h2 { "Support access" }
        p { "Allow support staff to access my account: " strong #consent-state { (match consent {
            Consent::Unset => "not set".to_string(),
            Consent::Refused => "no".to_string(),
            Consent::Allowed { until: None } => "yes, until I revoke it".to_string(),
            Consent::Allowed { until: Some(u) } => format!("yes, until {}", format_time(u)),
        }) } }
        form.actions #consent-form method="post" action="/account/consent" {
            (controls(auth, sensitive, html! {
                input type="hidden" name="from_checkbox" value="1";
                div {
                    label.checkbox for="allow-support" {
                        input #allow-support type="checkbox" name="consent" value="allow" checked[matches!(consent, Consent::Allowed { .. })];
                        " Allow support staff to access my account"
                    }
                }
                div { label for="consent-for" { "For" }
                    select #consent-for name="for" { option value="24h" { "24 hours" } option value="7d" { "7 days" } option value="always" selected { "Until revoked" } } }
                button #save-consent type="submit" { "Save" }
            }))
        }
        form method="post" action="/account/end-support-access" {
            (controls(auth, sensitive, html! {
                p { button.danger #end-support-access type="submit" { "End support access" } " ends any support session open on your account now." }
            }))
        }
        h2 { "Security" }
        form method="post" action="/account/password" {
            (controls(auth, sensitive, html! {
                label for="current_password" { "Current password" }
                input #current_password type="password" name="current_password" autocomplete="current-password" required;
                label for="new_password" { "New password (at least 10 characters)" }
                input #new_password type="password" name="new_password" autocomplete="new-password" required;
                p { button type="submit" { "Change password" } }
            }))
        }
        form method="post" action="/account/email" {
            (controls(auth, sensitive, html! {
                label for="new_email" { "E-mail address" }
                input #new_email type="email" name="email" value=(c.email) required;
                p { button type="submit" { "Change e-mail" } }
            }))
        }
        p { a href="/account/payment-methods" { "Saved payment methods" } }
        form method="post" action="/account/delete" {
            (controls(auth, sensitive, html! {
                p { button.danger type="submit" { "Close my account" } }
            }))
        }
    }
}

/// Query of the account page.
#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    saved: Option<String>,
}
