//! Staff pages: sign-in, dashboard, clients, Login as Client start and end, tickets, orders,
//! invoices, the activity log, the Login as Client log and roles.

pub mod billing;
pub mod files;
pub mod impersonations;
pub mod outbox;
pub mod settings;
pub mod staff;
pub mod stores;
pub mod two_factor;
pub mod work;

use crate::auth::guards::{cookie, ClientInfo, StaffAuth, StaffEnrolling};
use crate::auth::{clear_cookie, hash_token, new_token, set_cookie, CLIENT_COOKIE, STAFF_COOKIE};
use crate::domain::impersonation::{
    decide_start, parse_consent_choice, Consent, EndReason, Refusal, StartAsk, TargetClient,
};
use crate::domain::modules::{Module, Modules};
use crate::domain::permissions::{self as perm, Grants};
use crate::domain::{format_date, format_money, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::activity::{ActivityFilter, ActivityRow};
use crate::store::impersonations::{ImpersonationFilter, NewImpersonation};
use crate::web::extract::{optional_id, page_number, Form, Id, Query};
use crate::web::forms::CsrfOnly;
use crate::web::layout::{admin_page, alert, csrf, pager};
use crate::web::login::{self, LoginForm, Side};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// `GET /admin/login`.
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login::login_page(Side::Staff, &headers, state.config.secure_cookies)
}

/// `POST /admin/login`: a fresh staff session on success.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    info: ClientInfo,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    login::sign_in_and_redirect(&state, Side::Staff, &headers, &info, &f).await
}

/// `POST /admin/logout`: ends the staff session and any live Login as Client session of this staff member.
pub async fn logout(
    State(state): State<AppState>,
    StaffEnrolling(auth): StaffEnrolling,
    Form(f): Form<CsrfOnly>,
) -> AppResult<Response> {
    auth.check_csrf(&f.csrf_token)?;
    state.store.end_staff_session(auth.session_id, auth.staff.id, &auth.info.ip).await?;
    Err(AppError::Redirect {
        to: "/admin/login".into(),
        cookies: vec![clear_cookie(STAFF_COOKIE, state.config.secure_cookies)],
    })
}

/// `GET /admin`.
pub async fn dashboard(State(state): State<AppState>, auth: StaffAuth) -> AppResult<Markup> {
    let (clients, live, open_tickets, unpaid) = state.store.admin_counts().await?;
    Ok(admin_page(
        &auth,
        "Dashboard",
        html! {
            h1 { "Welcome, " (auth.staff.name) }
            div.cards {
                div.card { div.figure { (clients) } "clients" }
                div.card { div.figure { (live) } "live Login as Client sessions" }
                div.card { div.figure { (open_tickets) } "open tickets" }
                div.card { div.figure { (unpaid) } "unpaid invoices" }
            }
            @if auth.grants.has(perm::CLIENTS_VIEW) { p { a href="/admin/clients" { "Find a client →" } } }
        },
    ))
}

/// Query of the client list.
#[derive(Debug, Deserialize)]
pub struct ClientListQuery {
    q: Option<String>,
    page: Option<String>,
}

/// `GET /admin/clients?q=&page=`.
pub async fn clients(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(q): Query<ClientListQuery>,
) -> AppResult<Markup> {
    auth.require(perm::CLIENTS_VIEW)?;
    let term: String = q.q.unwrap_or_default().chars().take(100).collect();
    let page = state.store.search_clients(&term, page_number(&q.page)?, 25).await?;
    let settings = state.store.settings().await?;
    let may = auth.grants.has(perm::CLIENTS_IMPERSONATE);
    let base =
        format!("/admin/clients?q={}", url::form_urlencoded::byte_serialize(term.as_bytes()).collect::<String>());
    Ok(admin_page(
        &auth,
        "Clients",
        html! {
            h1 { "Clients" }
            form.actions method="get" action="/admin/clients" {
                div { label for="q" { "Search by name or e-mail" } input #q type="search" name="q" value=(term); }
                button type="submit" { "Search" }
            }
            p.muted { (page.total) " clients" }
            table #clients {
                thead { tr { th { "Name" } th { "E-mail" } th { "Company" } th { "Status" } @if may { th { "" } } } }
                tbody {
                    @for c in &page.items {
                        tr {
                            td { a href=(format!("/admin/clients/{}", c.id)) { (c.name) } }
                            td { (c.email) }
                            td { (c.company) }
                            td { @if c.active == 1 { "active" } @else { "disabled" } }
                            @if may { td { (quick_login_button(&auth, &settings, c.id, c.active == 1, Consent::from_stored(&c.consent, c.consent_until), "/dashboard")) } }
                        }
                    }
                }
            }
            (pager(&base, page.page, page.pages()))
        },
    ))
}

/// Query of the client record: `ended` carries why a Login as Client session just ended.
#[derive(Debug, Deserialize)]
pub struct ClientQuery {
    ended: Option<String>,
}

/// `GET /admin/clients/{id}`.
pub async fn client(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Query(q): Query<ClientQuery>,
) -> AppResult<Markup> {
    auth.require(perm::CLIENTS_VIEW)?;
    let flash = q.ended.as_deref().and_then(EndReason::parse).map(|r| r.message());
    client_record(&state, &auth, id, flash, None, None).await
}

/// A compact Login as Client button for the places the admin side shows a client (list rows,
/// order, invoice and ticket pages). It posts to the same start endpoint as the record's form, so
/// the same rules apply: blocked here, it is disabled with the reason; when a reason or a store
/// must still be given, the endpoint answers with the record's full form and the message.
/// `next` is the portal page to open, such as `/invoices/7`.
pub fn quick_login_button(
    auth: &StaffAuth,
    settings: &crate::domain::settings::Settings,
    client_id: i64,
    active: bool,
    consent: Consent,
    next: &str,
) -> Markup {
    if !auth.grants.has(perm::CLIENTS_IMPERSONATE) {
        return html! {};
    }
    let blocker = impersonation_blocker(
        &auth.grants,
        settings.enabled,
        active,
        consent.lets_staff_in(settings.consent, crate::domain::now()),
    );
    html! {
        form.inline.quick-login method="post" action=(format!("/admin/clients/{client_id}/impersonate")) {
            (csrf(&auth.csrf_token))
            input type="hidden" name="next" value=(next);
            button.login-as-client type="submit" data-client=(client_id) disabled[blocker.is_some()] title=[blocker] { "Login as Client" }
        }
    }
}

/// The quick Login as Client button for one client, loading what it needs.
pub async fn quick_login_for(state: &AppState, auth: &StaffAuth, client_id: i64, next: &str) -> AppResult<Markup> {
    if !auth.grants.has(perm::CLIENTS_IMPERSONATE) {
        return Ok(html! {});
    }
    let c = state.store.client(client_id).await?;
    let settings = state.store.settings().await?;
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    Ok(quick_login_button(auth, &settings, c.id, c.active == 1, consent, next))
}

/// Why the Login as Client button is disabled, if it is.
fn impersonation_blocker(grants: &Grants, enabled: bool, active: bool, consent_ok: bool) -> Option<&'static str> {
    if !grants.has(perm::CLIENTS_IMPERSONATE) {
        None
    } else if !enabled {
        Some(Refusal::FeatureOff.message())
    } else if !active {
        Some(Refusal::ClientDisabled.message())
    } else if !consent_ok {
        Some(Refusal::NoConsent.message())
    } else {
        None
    }
}

async fn client_record(
    state: &AppState,
    auth: &StaffAuth,
    id: i64,
    flash: Option<&str>,
    error: Option<&str>,
    typed: Option<&StartForm>,
) -> AppResult<Markup> {
    let c = state.store.client(id).await?;
    let settings = state.store.settings().await?;
    let services = state.store.services(id).await?;
    let invoices = state.store.invoices(id, 1, 10).await?;
    let tickets = state.store.tickets(id, 1, 10).await?;
    let orders = state.store.orders(id, 1, 10).await?;
    let stores = state.store.client_stores(id).await?;
    let all_stores = state.store.all_stores().await?;
    let history =
        state.store.list_impersonations(&ImpersonationFilter { client: Some(id), ..Default::default() }, 1, 5).await?;
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    let modules = Modules::from_hidden(&c.hidden_modules);
    let now = crate::domain::now();
    let may = auth.grants.has(perm::CLIENTS_IMPERSONATE);
    let blocker = impersonation_blocker(
        &auth.grants,
        settings.enabled,
        c.active == 1,
        consent.lets_staff_in(settings.consent, now),
    );
    let can_write = auth.grants.has(perm::CLIENTS_IMPERSONATE_WRITE);
    let chosen_mode = typed.and_then(|t| t.mode.as_deref()).unwrap_or(settings.default_mode.as_str());
    Ok(admin_page(
        auth,
        &c.name,
        html! {
            @if let Some(f) = flash { p.notice role="status" #flash { (f) } }
            h1 { (c.name) }
            nav.subnav #client-sections {
                a href=(format!("/admin/clients/{id}/files")) { "Files" }
                a href=(format!("/admin/clients/{id}/tasks")) { "Tasks" }
                a href=(format!("/admin/clients/{id}/subscriptions")) { "Subscriptions" }
            }
            dl.details {
                dt { "E-mail" } dd { (c.email) }
                dt { "Company" } dd { (c.company) }
                dt { "Phone" } dd { (c.phone) }
                dt { "Status" } dd #client-status { @if c.active == 1 { "active" } @else { "disabled" } }
                dt { "Support access" } dd #consent-label { (consent_label(consent)) }
                dt { "Client since" } dd { (format_date(c.created_at)) }
                dt { "Last sign-in" } dd #last-login { (c.last_login_at.map(format_time).unwrap_or_else(|| "never".into())) }
            }
            @if auth.grants.has(perm::CLIENTS_CONSENT_MANAGE) {
                form.actions #admin-consent-form method="post" action=(format!("/admin/clients/{id}/consent")) {
                    (csrf(&auth.csrf_token))
                    div { label for="admin-consent" { "Support access" }
                        select #admin-consent name="consent" { option value="allow" { "Allowed" } option value="refuse" { "Refused" } option value="unset" { "Not set" } } }
                    div { label for="admin-consent-for" { "For" }
                        select #admin-consent-for name="for" { option value="24h" { "24 hours" } option value="7d" { "7 days" } option value="always" selected { "Until revoked" } } }
                    button #save-consent type="submit" { "Change support access" }
                }
            }
            (stores::client_stores_section(auth, id, &all_stores, &stores))
            @if auth.grants.has(perm::CLIENTS_MANAGE) {
                h2 { "Portal modules" }
                p.muted { "The client sees only the modules ticked here, in the sidebar and at their addresses; Login as Client shows the same." }
                form.actions #modules-form method="post" action=(format!("/admin/clients/{id}/modules")) {
                    (csrf(&auth.csrf_token))
                    @for m in Module::ALL {
                        label.checkbox { input type="checkbox" id=(format!("module-{}", m.key())) name=(format!("module.{}", m.key())) value="on" checked[modules.shows(m)]; " " (m.label()) }
                    }
                    button #save-modules type="submit" { "Save modules" }
                }
            } @else {
                p.muted #client-modules { "Portal modules: " (modules.visible().map(|m| m.label()).collect::<Vec<_>>().join(", ")) }
            }
            @if may {
                h2 { "Login as Client" }
                @if let Some(e) = error { (alert(e)) }
                @if let Some(b) = blocker { p.message #login-as-client-blocked { (b) } }
                form.actions method="post" action=(format!("/admin/clients/{id}/impersonate")) {
                    (csrf(&auth.csrf_token))
                    div {
                        label for="mode" { "Mode" }
                        select #mode name="mode" {
                            option value="read_only" selected[chosen_mode == "read_only" || !can_write] { "Read-only" }
                            @if can_write { option value="full" selected[chosen_mode == "full"] { "Full access" } }
                        }
                    }
                    @if stores.len() > 1 {
                        div {
                            label for="store" { "Store" }
                            select #store name="store" {
                                @if settings.manual_store { option value="" { "Choose a store…" } }
                                @for s in &stores { option value=(s.id) selected[typed.and_then(|t| t.store.as_deref()) == Some(s.id.to_string().as_str())] { (s.name) } }
                            }
                        }
                    }
                    div {
                        label for="reason" { "Reason" @if settings.require_reason { " (required)" } }
                        input #reason type="text" name="reason" value=(typed.map(|t| t.reason.as_str()).unwrap_or("")) placeholder="Ticket reference or why you need access" required[settings.require_reason];
                    }
                    @if let Some(next) = typed.and_then(|t| t.next.as_deref()) { input type="hidden" name="next" value=(next); }
                    button #login-as-client type="submit" disabled[blocker.is_some()] { "Login as Client" }
                }
            }
            h2 { "Services" }
            table { thead { tr { th { "Name" } th { "Product" } th { "Status" } th { "Price" } } }
                tbody { @for s in &services { tr { td { (s.name) } td { (s.product) } td { (s.status) } td { (format_money(s.price_cents, "USD")) " / " (s.billing_cycle) } } } } }
            h2 { "Invoices" span.muted { " (" (invoices.total) ")" } }
            table { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Issued" } } }
                tbody { @for i in &invoices.items { tr { td { @if auth.grants.has(perm::BILLING_MANAGE) { a href=(format!("/admin/invoices/{}", i.id)) { (i.number) } } @else { (i.number) } } td { (i.status) } td { (format_money(i.total_cents, &i.currency)) } td { (format_date(i.issued_at)) } } } } }
            h2 { "Tickets" span.muted { " (" (tickets.total) ")" } }
            table { thead { tr { th { "Subject" } th { "Status" } th { "Updated" } } }
                tbody { @for t in &tickets.items { tr { td { a href=(format!("/admin/tickets/{}", t.id)) { (t.subject) } } td { (t.status) } td { (format_time(t.updated_at)) } } } } }
            h2 { "Orders" span.muted { " (" (orders.total) ")" } }
            table { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Placed" } } }
                tbody { @for o in &orders.items { tr { td { @if auth.grants.has(perm::ORDERS_MANAGE) { a href=(format!("/admin/orders/{}", o.id)) { (o.number) } } @else { (o.number) } } td { (o.status) } td { (format_money(o.total_cents, &o.currency)) } td { (format_date(o.created_at)) } } } } }
            h2 { "Recent Login as Client sessions" }
            (impersonations::table(auth, &history.items))
        },
    ))
}

fn consent_label(c: Consent) -> String {
    match c {
        Consent::Unset => "not set".into(),
        Consent::Refused => "refused".into(),
        Consent::Allowed { until: None } => "allowed until revoked".into(),
        Consent::Allowed { until: Some(u) } => format!("allowed until {}", format_time(u)),
    }
}

/// The Login as Client start form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf_token: String,
    mode: Option<String>,
    #[serde(default)]
    reason: String,
    store: Option<String>,
    next: Option<String>,
    /// The step-up answer (code or password) when the session's last check is too old.
    reauth: Option<String>,
}

/// Keeps `next` only if it is a plain path of this site's portal: `/` followed by URL-safe
/// printable ASCII (after the form's decoding), never `//` or a backslash that browsers read as
/// another host, never a control or space character that would break or bend `Location`.
fn safe_next(next: Option<&str>) -> String {
    let plain = |n: &str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.starts_with("/admin")
            && n.len() < 500
            && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    };
    match next {
        Some(n) if plain(n) => n.to_string(),
        _ => "/dashboard".to_string(),
    }
}

/// `POST /admin/clients/{id}/impersonate`: Login as Client.
pub async fn impersonate(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    headers: HeaderMap,
    Form(f): Form<StartForm>,
) -> AppResult<Response> {
    auth.check_csrf(&f.csrf_token)?;
    auth.require(perm::CLIENTS_IMPERSONATE)?;
    let next = safe_next(f.next.as_deref());
    let client = state.store.client(id).await?;
    let settings = state.store.settings().await?;
    if let Some(ask) = two_factor::step_up(&state, &auth, &settings, id, &f).await? {
        return Ok(ask);
    }
    let stores = state.store.client_stores(id).await?;
    let store_ids: Vec<i64> = stores.iter().map(|s| s.id).collect();
    let store = match f.store.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, Refusal::StoreRequired.message().into())
        })?),
    };
    let target = TargetClient {
        active: client.active == 1,
        consent: Consent::from_stored(&client.consent, client.consent_until),
        stores: &store_ids,
    };
    let ask = StartAsk { mode: f.mode.as_deref(), reason: &f.reason, store };
    let decided = decide_start(&auth.grants, &settings, &target, &ask, crate::domain::now());
    if let Err(r) = &decided {
        metrics::counter!("behalf_impersonation_refusals_total", "reason" => r.code()).increment(1);
    }
    let decision = match decided {
        Ok(d) => d,
        Err(r) if r.status() == 422 => {
            return Err(AppError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                client_record(&state, &auth, id, None, Some(r.message()), Some(&f)).await?,
            ));
        }
        Err(r) => return Err(AppError::forbidden(r.message())),
    };
    let token = new_token();
    let token_hash = hash_token(&token);
    let old = cookie(&headers, CLIENT_COOKIE).map(|t| hash_token(&t));
    let store_name = stores.iter().find(|s| Some(s.id) == decision.store).map(|s| s.name.as_str());
    state
        .store
        .start_impersonation(&NewImpersonation {
            staff_id: auth.staff.id,
            staff_name: &auth.staff.name,
            client_id: id,
            client_name: &client.name,
            decision: &decision,
            store_name,
            ip: &auth.info.ip,
            user_agent: &auth.info.user_agent,
            token_hash: &token_hash,
            csrf_token: &new_token(),
            replaces_token_hash: old.as_deref(),
            notice: settings.notify_client.then(|| {
                crate::domain::impersonation::start_notice(
                    &client.name,
                    &client.email,
                    &auth.staff.name,
                    &decision,
                    crate::domain::now(),
                )
            }),
        })
        .await?;
    metrics::counter!("behalf_impersonation_starts_total").increment(1);
    Err(AppError::Redirect { to: next, cookies: vec![set_cookie(CLIENT_COOKIE, &token, state.config.secure_cookies)] })
}

/// The admin consent form.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    consent: String,
    #[serde(default, rename = "for")]
    duration: String,
}

/// `POST /admin/clients/{id}/consent`: staff with `clients.consent.manage` change the client's flag.
pub async fn set_consent(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Form(f): Form<ConsentForm>,
) -> AppResult<Response> {
    auth.check_csrf(&f.csrf_token)?;
    auth.require(perm::CLIENTS_CONSENT_MANAGE)?;
    let consent = parse_consent_choice(&f.consent, &f.duration, crate::domain::now())
        .map_err(|m| AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, m.into()))?;
    state.store.set_consent(id, consent, auth.actor(), &auth.info.ip).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
}

/// `POST /admin/clients/{id}/modules`: staff with `clients.manage` choose the client's portal
/// modules; fields are `module.KEY=on` for each module shown.
pub async fn set_modules(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    auth.check_csrf(f.get("csrf_token").map(String::as_str).unwrap_or(""))?;
    auth.require(perm::CLIENTS_MANAGE)?;
    let mut shown = Vec::new();
    for key in f.keys().filter(|k| k.as_str() != "csrf_token") {
        let m = key.strip_prefix("module.").and_then(Module::parse).ok_or_else(|| {
            AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, format!("There is no portal module called “{key}”."))
        })?;
        shown.push(m);
    }
    state.store.set_client_modules(id, Modules::from_visible(shown), auth.actor(), &auth.info.ip).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
}

/// `GET /admin/tickets/{id}`.
pub async fn ticket(State(state): State<AppState>, auth: StaffAuth, Id(id): Id) -> AppResult<Markup> {
    auth.require(perm::TICKETS_MANAGE)?;
    let (t, replies) = state.store.ticket(id, None).await?;
    let c = state.store.client(t.client_id).await?;
    let settings = state.store.settings().await?;
    Ok(admin_page(
        &auth,
        &t.subject,
        html! {
            h1 { "Ticket #" (t.id) ": " (t.subject) }
            p { "Client: " a href=(format!("/admin/clients/{}", c.id)) { (c.name) } " · Status: " (t.status) }
            (quick_login_button(&auth, &settings, c.id, c.active == 1, Consent::from_stored(&c.consent, c.consent_until), &format!("/tickets/{}", t.id)))
            @for r in &replies {
                div.reply {
                    div.meta.author { (crate::web::attribution::reply_author_admin(&c.name, r)) " · " (format_time(r.created_at)) }
                    div.body { (r.body) }
                }
            }
        },
    ))
}

/// Query of the activity log.
#[derive(Debug, Deserialize)]
pub struct ActivityQuery {
    group: Option<String>,
    actor: Option<String>,
    client: Option<String>,
    page: Option<String>,
}

/// The action groups the activity log knows.
pub const ACTIVITY_GROUPS: &[&str] =
    &["login_as_client", "tickets", "account", "security", "settings", "staff", "billing", "shop", "files", "tasks"];

/// How an activity row names who acted.
pub fn describe_actor(r: &ActivityRow) -> String {
    let staff = r.actor_staff_name.clone().unwrap_or_else(|| format!("staff #{}", r.actor_staff_id.unwrap_or(0)));
    match (r.actor_kind.as_str(), &r.subject_name, r.impersonation_id) {
        ("staff", Some(client), Some(_)) if r.group != "login_as_client" => {
            format!("{client} (by {staff} via Login as Client)")
        }
        ("staff", _, _) => format!("{staff} (staff)"),
        ("client", Some(client), _) => client.clone(),
        _ => "System".into(),
    }
}

/// `GET /admin/activity`.
pub async fn activity(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(q): Query<ActivityQuery>,
) -> AppResult<Markup> {
    auth.require(perm::IMPERSONATION_LOG_VIEW)?;
    let staff = state.store.list_staff().await?;
    let mut f = ActivityFilter {
        group: q.group.clone().filter(|g| !g.trim().is_empty()),
        client: optional_id(&q.client, "client")?,
        ..Default::default()
    };
    match q.actor.as_deref().map(str::trim) {
        None | Some("") => {}
        Some(a) => match a.split_once(':') {
            Some(("staff", id)) => f.actor_staff = optional_id(&Some(id.to_string()), "actor")?,
            Some(("client", id)) => f.actor_client = optional_id(&Some(id.to_string()), "actor")?,
            _ => return Err(AppError::bad_request("The actor filter must look like staff:ID or client:ID.")),
        },
    }
    let page = state.store.list_activity(&f, page_number(&q.page)?, 50).await?;
    let base = format!(
        "/admin/activity?group={}&actor={}&client={}",
        enc(q.group.as_deref()),
        enc(q.actor.as_deref()),
        enc(q.client.as_deref())
    );
    Ok(admin_page(
        &auth,
        "Activity",
        html! {
            h1 { "Activity log" }
            form.actions method="get" action="/admin/activity" {
                div { label for="group" { "Group" }
                    select #group name="group" {
                        option value="" { "All groups" }
                        @for g in ACTIVITY_GROUPS { option value=(g) selected[q.group.as_deref() == Some(*g)] { (g) } }
                    } }
                div { label for="actor" { "Actor" }
                    select #actor name="actor" {
                        option value="" { "Anyone" }
                        @if let Some(a) = q.actor.as_deref().filter(|a| a.starts_with("client:")) { option value=(a) selected { (a) } }
                        @for s in &staff { @let v = format!("staff:{}", s.id); option value=(v) selected[q.actor.as_deref() == Some(v.as_str())] { (s.name) " (staff)" } }
                    } }
                div { label for="client" { "Client id" } input #client type="text" name="client" value=(q.client.as_deref().unwrap_or("")); }
                button type="submit" { "Filter" }
            }
            p.muted { (page.total) " entries" }
            table #activity {
                thead { tr { th { "#" } th { "Time" } th { "Who" } th { "Client" } th { "Group" } th { "Action" } th { "Target" } th { "Details" } th { "Session" } th { "IP" } } }
                tbody {
                    @for r in &page.items {
                        tr {
                            td { (r.id) }
                            td { (format_time(r.at)) }
                            td.who { (describe_actor(r)) }
                            td.subject { @if let (Some(id), Some(name)) = (r.subject_client_id, &r.subject_name) { a href=(format!("/admin/clients/{id}")) { (name) } } }
                            td { (r.group) }
                            td.action { (r.action) }
                            td { (r.target) }
                            td.detail { (r.detail) }
                            td { @if let Some(i) = r.impersonation_id { "Login as Client #" (i) } }
                            td { (r.ip) }
                        }
                    }
                }
            }
            (pager(&base, page.page, page.pages()))
        },
    ))
}

fn enc(v: Option<&str>) -> String {
    url::form_urlencoded::byte_serialize(v.unwrap_or("").as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_same_site() {
        assert_eq!(safe_next(Some("/tickets/4")), "/tickets/4");
        assert_eq!(safe_next(Some("https://evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("//evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\\evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/admin/staff")), "/dashboard");
        assert_eq!(safe_next(None), "/dashboard");
        // Control and space characters that the form decoding gives back (%09, %0B, %20, %7F).
        for bad in ["/\t/evil.example", "/\u{b}/x", "/ /evil.example", "/x\u{7f}", "/\r\nSet-Cookie: a=b", "/é"] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/tickets?status=open&page=2")), "/tickets?status=open&page=2");
    }
}
