//! Client portal pages. Every read is scoped by `acting.client_id`; every write goes through
//! `authorize`, which applies CSRF, read-only mode and the sensitive-action block.

pub mod billing;
pub mod files;
pub mod shop;
pub mod subscriptions;
pub mod tasks;

use crate::auth::guards::{ended_redirect, ClientInfo, PortalAuth};
use crate::auth::{clear_cookie, hash_password, verify_password, CLIENT_COOKIE};
use crate::domain::acting::WriteKind;
use crate::domain::impersonation::{parse_consent_choice, Consent, EndReason};
use crate::domain::modules::Module;
use crate::domain::{format_date, format_money, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::activity::ActivityActor;
use crate::store::impersonations::ImpersonationFilter;
use crate::store::portal::{Reply, MAX_BODY_CHARS, MAX_SUBJECT_CHARS};
use crate::web::extract::{page_number, Form, Id, Query};
use crate::web::forms::{checked_body, BodyForm, CsrfOnly, PageQuery};
use crate::web::layout::{alert, csrf, pager, portal_page};
use crate::web::login::{self, LoginForm, Side};
use crate::web::views::invoice_lines;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// Applies CSRF and the write rules of this session, refusing with a 403 page that keeps the banner.
pub(crate) fn authorize(auth: &PortalAuth, kind: WriteKind, token: &str) -> AppResult<()> {
    auth.check_csrf(token)?;
    auth.acting.authorize(kind).map_err(|r| {
        AppError::Page(
            StatusCode::FORBIDDEN,
            portal_page(auth, "Not allowed", html! { h1 { "Not allowed" } (alert(r.message())) }),
        )
    })
}

/// A 422 page inside the portal layout.
pub(crate) fn unprocessable(auth: &PortalAuth, title: &str, msg: &str) -> AppError {
    AppError::Page(
        StatusCode::UNPROCESSABLE_ENTITY,
        portal_page(
            auth,
            title,
            html! { h1 { (title) } (alert(msg)) p { a href="/dashboard" { "Back to the dashboard" } } },
        ),
    )
}

/// `GET /login`.
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login::login_page(Side::Client, &headers, state.config.secure_cookies)
}

/// `POST /login`: a fresh portal session on success; the browser's old portal session ends.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ClientInfo,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    login::sign_in_and_redirect(&state, Side::Client, &headers, &info, &f).await
}

/// `POST /logout`: signs the client out, or closes a Login as Client session.
pub async fn logout(State(state): State<AppState>, auth: PortalAuth, Form(f): Form<CsrfOnly>) -> AppResult<Response> {
    auth.check_csrf(&f.csrf_token)?;
    let secure = state.config.secure_cookies;
    match (&auth.acting.impersonation, auth.acting.staff_id()) {
        (Some(imp), Some(staff)) => {
            state
                .store
                .end_impersonation(imp.id, EndReason::Closed, ActivityActor::Staff(staff), &auth.info.ip)
                .await?;
            Err(ended_redirect(auth.acting.client_id, EndReason::Closed, secure))
        }
        _ => {
            state.store.end_client_session(auth.session_id, auth.acting.client_id, &auth.info.ip).await?;
            Err(AppError::Redirect { to: "/login".into(), cookies: vec![clear_cookie(CLIENT_COOKIE, secure)] })
        }
    }
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
    if let (Some(imp), Some(staff)) = (&auth.acting.impersonation, auth.acting.staff_id()) {
        state.store.end_impersonation(imp.id, EndReason::Returned, ActivityActor::Staff(staff), &auth.info.ip).await?;
    }
    Err(AppError::Redirect {
        to: format!("/admin/clients/{}", auth.acting.client_id),
        cookies: vec![clear_cookie(CLIENT_COOKIE, state.config.secure_cookies)],
    })
}

/// `GET /` sends people to the portal.
pub async fn home() -> Response {
    axum::response::Redirect::to("/dashboard").into_response()
}

/// `GET /dashboard`.
pub async fn dashboard(State(state): State<AppState>, auth: PortalAuth) -> AppResult<Markup> {
    let s = state.store.dashboard_summary(auth.acting.client_id).await?;
    let a = &auth.acting;
    // Only the client's own session sees (and may dismiss) the notices; staff never do.
    let notices = if s.unseen_access > 0 && auth.acting.impersonation.is_none() {
        state.store.unseen_access(auth.acting.client_id).await?
    } else {
        Vec::new()
    };
    Ok(portal_page(
        &auth,
        "Dashboard",
        html! {
            @if !notices.is_empty() {
                div.notice #access-notice role="status" {
                    p { strong { "Support staff accessed your account." } }
                    ul { @for i in &notices {
                        li { (i.staff_name) " on " (format_time(i.started_at)) ", " (mode_label(&i.mode)) ". Reason: " (reason_text(&i.reason)) "." }
                    } }
                    p { a href="/account/access" { "See what was done" } " · you can end support access at any time on " a href="/account" { "your account page" } "." }
                    form.inline method="post" action="/account/access/seen" {
                        (csrf(&auth.csrf_token))
                        button #dismiss-access-notice type="submit" { "Dismiss" }
                    }
                }
            }
            h1 { "Hello, " (auth.acting.client_name) }
            div.cards {
                @if a.shows(Module::Services) { div.card { div.figure #active-services { (s.active_services) } a href="/services" { "active services" } } }
                @if a.shows(Module::Invoices) {
                    div.card { div.figure #unpaid-invoices { (s.unpaid_invoices) } a href="/invoices" { "unpaid invoices" } }
                    div.card {
                        div.figure #amount-due {
                            @if s.due_currencies > 1 { "in " (s.due_currencies) " currencies" }
                            @else { (format_money(s.amount_due_cents, s.due_currency.as_deref().or(a.store.as_ref().map(|st| st.currency.as_str())).unwrap_or("USD"))) }
                        }
                        "amount due"
                    }
                }
                @if a.shows(Module::Tickets) { div.card { div.figure #open-tickets { (s.open_tickets) } a href="/tickets" { "open tickets" } } }
                @if a.shows(Module::Orders) { div.card { div.figure { (s.orders) } a href="/orders" { "orders" } } }
            }
        },
    ))
}

/// `GET /services`.
pub async fn services(State(state): State<AppState>, auth: PortalAuth) -> AppResult<Markup> {
    auth.require_module(Module::Services)?;
    let list = state.store.services(auth.acting.client_id).await?;
    Ok(portal_page(
        &auth,
        "Services",
        html! {
            h1 { "Services" }
            table #services { thead { tr { th { "Name" } th { "Product" } th { "Status" } th { "Price" } th { "Next due" } } }
                tbody { @for s in &list { tr { td { (s.name) } td { (s.product) } td { (s.status) } td { (format_money(s.price_cents, "USD")) " / " (s.billing_cycle) } td { (s.next_due_at.map(format_date).unwrap_or_default()) } } } } }
        },
    ))
}

/// `GET /invoices`.
pub async fn invoices(
    State(state): State<AppState>,
    auth: PortalAuth,
    Query(q): Query<PageQuery>,
) -> AppResult<Markup> {
    auth.require_module(Module::Invoices)?;
    let page = state.store.invoices(auth.acting.client_id, page_number(&q.page)?, 20).await?;
    Ok(portal_page(
        &auth,
        "Invoices",
        html! {
            h1 { "Invoices" }
            table #invoices { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Issued" } th { "Due" } } }
                tbody { @for i in &page.items { tr { td { a href=(format!("/invoices/{}", i.id)) { (i.number) } } td { (i.status) } td { (format_money(i.total_cents, &i.currency)) } td { (format_date(i.issued_at)) } td { (format_date(i.due_at)) } } } } }
            (pager("/invoices", page.page, page.pages()))
        },
    ))
}

fn new_ticket_form(auth: &PortalAuth, subject: &str, body: &str) -> Markup {
    html! {
        h2 { "Open a ticket" }
        form method="post" action="/tickets" {
            (csrf(&auth.csrf_token))
            label for="subject" { "Subject" }
            input #subject type="text" name="subject" value=(subject) maxlength=(MAX_SUBJECT_CHARS) required;
            label for="body" { "Message" }
            textarea #body name="body" required { (body) }
            p { button #open-ticket type="submit" { "Open ticket" } }
        }
    }
}

/// `GET /tickets`.
pub async fn tickets(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<PageQuery>) -> AppResult<Markup> {
    auth.require_module(Module::Tickets)?;
    let page = state.store.tickets(auth.acting.client_id, page_number(&q.page)?, 20).await?;
    Ok(portal_page(
        &auth,
        "Tickets",
        html! {
            h1 { "Tickets" }
            table #tickets { thead { tr { th { "Subject" } th { "Status" } th { "Updated" } } }
                tbody { @for t in &page.items { tr { td { a href=(format!("/tickets/{}", t.id)) { (t.subject) } } td { (t.status) } td { (format_time(t.updated_at)) } } } } }
            (pager("/tickets", page.page, page.pages()))
            (new_ticket_form(&auth, "", ""))
        },
    ))
}

/// A new ticket.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

/// `POST /tickets`.
pub async fn create_ticket(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<TicketForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Tickets)?;
    authorize(&auth, WriteKind::Ordinary, &f.csrf_token)?;
    let subject = f.subject.trim();
    let body = f.body.trim();
    let problem = if subject.is_empty() || body.is_empty() {
        Some("Give the ticket a subject and a message.".to_string())
    } else if subject.chars().count() > MAX_SUBJECT_CHARS || body.chars().count() > MAX_BODY_CHARS {
        Some(format!(
            "The subject may have at most {MAX_SUBJECT_CHARS} characters and the message at most {MAX_BODY_CHARS}."
        ))
    } else {
        None
    };
    if let Some(msg) = problem {
        return Err(AppError::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            portal_page(&auth, "Open a ticket", html! { (alert(&msg)) (new_ticket_form(&auth, &f.subject, &f.body)) }),
        ));
    }
    let id = state.store.create_ticket(&auth.acting, subject, body).await?;
    Ok(axum::response::Redirect::to(&format!("/tickets/{id}")).into_response())
}

fn ticket_page(
    auth: &PortalAuth,
    t: &crate::store::portal::Ticket,
    replies: &[Reply],
    draft: &str,
    error: Option<&str>,
) -> Markup {
    portal_page(
        auth,
        &t.subject,
        html! {
            h1 { (t.subject) }
            p.muted { "Ticket #" (t.id) " · " (t.status) }
            @for r in replies {
                div.reply {
                    div.meta.author { (crate::web::attribution::reply_author_portal(r)) " · " (format_time(r.created_at)) }
                    div.body { (r.body) }
                }
            }
            h2 { "Reply" }
            @if let Some(e) = error { (alert(e)) }
            form method="post" action=(format!("/tickets/{}/replies", t.id)) {
                (csrf(&auth.csrf_token))
                textarea #reply-body name="body" required { (draft) }
                p { button #send-reply type="submit" { "Send reply" } }
            }
        },
    )
}

/// `GET /tickets/{id}`.
pub async fn ticket(State(state): State<AppState>, auth: PortalAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require_module(Module::Tickets)?;
    let (t, replies) = state.store.ticket(id, Some(auth.acting.client_id)).await?;
    Ok(ticket_page(&auth, &t, &replies, "", None))
}

/// `POST /tickets/{id}/replies`.
pub async fn reply(
    State(state): State<AppState>,
    auth: PortalAuth,
    Id(id): Id,
    Form(f): Form<BodyForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Tickets)?;
    authorize(&auth, WriteKind::Ordinary, &f.csrf_token)?;
    let body = match checked_body(&f.body, MAX_BODY_CHARS, "reply") {
        Ok(body) => body,
        Err(msg) => {
            let (t, replies) = state.store.ticket(id, Some(auth.acting.client_id)).await?;
            let page = ticket_page(&auth, &t, &replies, &f.body, Some(&msg));
            return Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    state.store.reply_to_ticket(&auth.acting, id, body).await?;
    Ok(axum::response::Redirect::to(&format!("/tickets/{id}")).into_response())
}

/// Query of the account page.
#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    saved: Option<String>,
}

fn account_page(
    auth: &PortalAuth,
    c: &crate::store::people::Client,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let own = auth.acting.impersonation.is_none();
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    html! {
        h1 { "Account" }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if let Some(e) = error { (alert(e)) }
        h2 { "Profile" }
        form method="post" action="/account" {
            (csrf(&auth.csrf_token))
            label for="name" { "Name" }
            input #name type="text" name="name" value=(c.name) maxlength="200" required;
            label for="phone" { "Phone" }
            input #phone type="text" name="phone" value=(c.phone) maxlength="50";
            p { button #save-profile type="submit" { "Save profile" } }
        }
        p { a href="/account/access" { "Who has accessed my account" } }
        @if own {
            h2 { "Support access" }
            p { "Allow support staff to access my account: " strong #consent-state { (match consent {
                Consent::Unset => "not set".to_string(),
                Consent::Refused => "no".to_string(),
                Consent::Allowed { until: None } => "yes, until I revoke it".to_string(),
                Consent::Allowed { until: Some(u) } => format!("yes, until {}", format_time(u)),
            }) } }
            form.actions #consent-form method="post" action="/account/consent" {
                (csrf(&auth.csrf_token))
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
            }
            form method="post" action="/account/end-support-access" {
                (csrf(&auth.csrf_token))
                p { button.danger #end-support-access type="submit" { "End support access" } " ends any support session open on your account now." }
            }
            h2 { "Security" }
            form method="post" action="/account/password" {
                (csrf(&auth.csrf_token))
                label for="current_password" { "Current password" }
                input #current_password type="password" name="current_password" autocomplete="current-password" required;
                label for="new_password" { "New password (at least 10 characters)" }
                input #new_password type="password" name="new_password" autocomplete="new-password" required;
                p { button type="submit" { "Change password" } }
            }
            form method="post" action="/account/email" {
                (csrf(&auth.csrf_token))
                label for="new_email" { "E-mail address" }
                input #new_email type="email" name="email" value=(c.email) required;
                p { button type="submit" { "Change e-mail" } }
            }
            p { a href="/account/payment-methods" { "Saved payment methods" } }
            form method="post" action="/account/delete" {
                (csrf(&auth.csrf_token))
                p { button.danger type="submit" { "Close my account" } }
            }
        } @else {
            p.muted #sensitive-hidden { "Password, e-mail, payment methods, support access and account closure are available only to the client." }
        }
    }
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

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

/// `POST /account`: profile (name, phone).
pub async fn save_profile(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<ProfileForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Ordinary, &f.csrf_token)?;
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

fn mode_label(mode: &str) -> &'static str {
    crate::domain::impersonation::Mode::parse(mode).map(|m| m.label()).unwrap_or("unknown mode")
}

fn reason_text(reason: &str) -> &str {
    if reason.is_empty() {
        "no reason given"
    } else {
        reason
    }
}

/// `GET /account/access`: every Login as Client session of this account, with what was done.
pub async fn access(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<PageQuery>) -> AppResult<Markup> {
    let client = auth.acting.client_id;
    let f = ImpersonationFilter { client: Some(client), ..Default::default() };
    let page = state.store.list_impersonations(&f, page_number(&q.page)?, 20).await?;
    let ids: Vec<i64> = page.items.iter().map(|i| i.id).collect();
    let actions = state.store.impersonation_actions(client, &ids).await?;
    Ok(portal_page(
        &auth,
        "Account access",
        html! {
            h1 { "Who has accessed my account" }
            p { "Every time a member of staff used Login as Client on your account, it is listed here with what they did." }
            table #access { thead { tr { th { "Who" } th { "When" } th { "How long" } th { "Why" } th { "Mode" } th { "What was done" } } }
                tbody { @for i in &page.items { tr {
                    td { (i.staff_name) }
                    td { (format_time(i.started_at)) }
                    td { @if let Some(e) = i.ended_at { (crate::domain::duration::describe_remaining(e - i.started_at)) } @else { "still open" } }
                    td { (reason_text(&i.reason)) }
                    td { (mode_label(&i.mode)) }
                    td.actions-taken {
                        @let done: Vec<_> = actions.iter().filter(|a| a.0 == i.id).collect();
                        @if done.is_empty() { "Looked only; changed nothing." } @else {
                            ul { @for a in done { li { (format_time(a.1)) ": " (a.2) @if !a.3.is_empty() { " (" (a.3) ")" } } } }
                        }
                    }
                } } } }
            (pager("/account/access", page.page, page.pages()))
        },
    ))
}

/// `POST /account/access/seen`: the client dismisses the access notices.
pub async fn access_seen(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive, &f.csrf_token)?;
    state.store.mark_access_seen(&auth.acting).await?;
    Ok(axum::response::Redirect::to("/dashboard").into_response())
}

/// Password change.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /account/password` (sensitive).
pub async fn change_password(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive, &f.csrf_token)?;
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

/// E-mail change.
#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
}

/// `POST /account/email` (sensitive).
pub async fn change_email(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<EmailForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive, &f.csrf_token)?;
    let email = f.email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'))
        && !email.contains(char::is_whitespace);
    if !valid {
        return Err(unprocessable(&auth, "Change e-mail", "Enter a valid e-mail address."));
    }
    state.store.set_client_email(&auth.acting, &email).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(m) => unprocessable(&auth, "Change e-mail", &m),
        e => e.into(),
    })?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// Consent change: either the checkbox form (`from_checkbox=1`, `consent=allow` when ticked) or
/// an explicit `consent` of allow / refuse / unset.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    consent: Option<String>,
    #[serde(default, rename = "for")]
    duration: String,
    #[serde(default)]
    from_checkbox: String,
}

/// `POST /account/consent` (sensitive).
pub async fn set_consent(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<ConsentForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive, &f.csrf_token)?;
    // An unticked checkbox sends nothing: that is a refusal.
    let consent = f.consent.as_deref().unwrap_or(if f.from_checkbox == "1" { "refuse" } else { "" });
    let consent = parse_consent_choice(consent, &f.duration, crate::domain::now())
        .map_err(|m| unprocessable(&auth, "Support access", m))?;
    let client = auth.acting.client_id;
    state.store.set_consent(client, consent, ActivityActor::Client(client), &auth.info.ip).await?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// `POST /account/end-support-access` (sensitive): ends every live impersonation of this account.
pub async fn end_support_access(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive, &f.csrf_token)?;
    state.store.end_client_impersonations(auth.acting.client_id, &auth.info.ip).await?;
    Ok(axum::response::Redirect::to("/account?saved=1").into_response())
}

/// `POST /account/delete` (sensitive): closes the account and signs out everywhere.
pub async fn delete_account(
    State(state): State<AppState>,
    auth: PortalAuth,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive, &f.csrf_token)?;
    state.store.close_client_account(&auth.acting).await?;
    Err(AppError::Redirect {
        to: "/login".into(),
        cookies: vec![clear_cookie(CLIENT_COOKIE, state.config.secure_cookies)],
    })
}
