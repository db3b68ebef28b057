//! The client list and the client record, with the consent and module settings staff change there.

use super::client_header::{client_header, Header};
use super::impersonation_views::{quick_login_button, StartForm};
use crate::auth::guards::StaffAuth;
use crate::domain::impersonation::{parse_consent_choice, Consent, EndReason, LiveLimits};
use crate::domain::modules::{Module, Modules};
use crate::domain::permissions::Permission;
use crate::domain::{format_date, format_money, format_time};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::impersonations::ImpersonationFilter;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::Post;
use crate::web::layout::{admin_page, csrf, pager};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// `POST /admin/clients/{id}/modules`: staff with `clients.manage` choose the client's portal
/// modules; fields are `module.KEY=on` for each module shown.
pub async fn set_modules(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<StaffAuth, std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    let mut shown = Vec::new();
    for key in f.keys().filter(|k| k.as_str() != "csrf_token") {
        let m = key.strip_prefix("module.").and_then(Module::parse).ok_or_else(|| {
            AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, format!("There is no portal module called “{key}”."))
        })?;
        shown.push(m);
    }
    state.store.set_client_modules(id, Modules::from_visible(shown), &auth.acting).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
}

/// `POST /admin/clients/{id}/consent`: staff with `clients.consent.manage` change the client's flag.
pub async fn set_consent(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<StaffAuth, ConsentForm>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsConsentManage)?;
    let consent = parse_consent_choice(&f.consent, &f.duration, crate::domain::now())
        .map_err(|m| AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, m.into()))?;
    state.store.set_consent_as_staff(&auth.acting, id, consent).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
}

/// The admin consent form.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    consent: String,
    #[serde(default, rename = "for")]
    duration: String,
}

pub(crate) async fn client_record(
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
    let invoices = state.store.invoices(id, None, 1, 10).await?;
    let tickets = state.store.tickets(id, None, 1, 10).await?;
    let orders = state.store.orders(id, 1, 10).await?;
    let stores = state.store.client_stores(id).await?;
    let all_stores = state.store.all_stores().await?;
    let history =
        state.store.list_impersonations(&ImpersonationFilter { client: Some(id), ..Default::default() }, 1, 5).await?;
    let consent = Consent::from_stored(&c.consent, c.consent_until);
    let modules = Modules::from_hidden(&c.hidden_modules);
    let now = crate::domain::now();
    let live = state.store.live_impersonations_of(id, LiveLimits::from_settings(&settings), now).await?;
    let header = Header { client: &c, consent, settings: &settings, stores: &stores, live: &live, now };
    Ok(admin_page(
        auth,
        &c.name,
        html! {
            @if let Some(f) = flash { p.notice role="status" #flash { (f) } }
            (client_header(auth, &header, error, typed))
            nav.subnav #client-sections aria-label="Sections of this record" {
                a href=(format!("/admin/clients/{id}/files")) { "Files" }
                a href=(format!("/admin/clients/{id}/tasks")) { "Tasks" }
                a href=(format!("/admin/clients/{id}/subscriptions")) { "Subscriptions" }
                a href="#client-settings" { "Settings" }
            }
            dl.details {
                dt { "E-mail" } dd { (c.email) }
                dt { "Company" } dd { (c.company) }
                dt { "Phone" } dd { (c.phone) }
                dt { "Client since" } dd { (format_date(c.created_at)) }
                dt { "Last sign-in" } dd #last-login { (c.last_login_at.map(format_time).unwrap_or_else(|| "never".into())) }
            }
            h2 { "Services" }
            table tabindex="0" { thead { tr { th { "Name" } th { "Product" } th { "Status" } th { "Price" } } }
                tbody { @for s in &services { tr { td { (s.name) } td { (s.product) } td { (s.status) } td { (format_money(s.price_cents, "USD")) " / " (s.billing_cycle) } } } } }
            h2 { "Invoices" span.muted { " (" (invoices.total) ")" } }
            table tabindex="0" { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Issued" } } }
                tbody { @for i in &invoices.items { tr { td { @if auth.grants.has(Permission::BillingManage) { a href=(format!("/admin/invoices/{}", i.id)) { (i.number) } } @else { (i.number) } } td { (i.status) } td { (format_money(i.total_cents, &i.currency)) } td { (format_date(i.issued_at)) } } } } }
            h2 { "Tickets" span.muted { " (" (tickets.total) ")" } }
            table tabindex="0" { thead { tr { th { "Subject" } th { "Status" } th { "Updated" } } }
                tbody { @for t in &tickets.items { tr { td { a href=(format!("/admin/tickets/{}", t.id)) { (t.subject) } } td { (t.status) } td { (format_time(t.updated_at)) } } } } }
            h2 { "Orders" span.muted { " (" (orders.total) ")" } }
            table tabindex="0" { thead { tr { th { "Number" } th { "Status" } th { "Total" } th { "Placed" } } }
                tbody { @for o in &orders.items { tr { td { @if auth.grants.has(Permission::OrdersManage) { a href=(format!("/admin/orders/{}", o.id)) { (o.number) } } @else { (o.number) } } td { (o.status) } td { (format_money(o.total_cents, &o.currency)) } td { (format_date(o.created_at)) } } } } }
            h2 { "Recent Login as Client sessions" }
            (super::impersonation_views::table(auth, &history.items))
            section.record-settings #client-settings {
                h2 { "Settings" }
                @if auth.grants.has(Permission::ClientsConsentManage) {
                    h3 { "Support access" }
                    form.actions #admin-consent-form method="post" action=(format!("/admin/clients/{id}/consent")) {
                        (csrf(&auth.csrf_token))
                        div { label for="admin-consent" { "Support access" }
                            select #admin-consent name="consent" { option value="allow" { "Allowed" } option value="refuse" { "Refused" } option value="unset" { "Not set" } } }
                        div { label for="admin-consent-for" { "For" }
                            select #admin-consent-for name="for" { option value="24h" { "24 hours" } option value="7d" { "7 days" } option value="always" selected { "Until revoked" } } }
                        button #save-consent type="submit" { "Change support access" }
                    }
                }
                (super::stores::client_stores_section(auth, id, &all_stores, &stores))
                h3 { "Portal modules" }
                @if auth.grants.has(Permission::ClientsManage) {
                    p.muted { "The client sees only the modules ticked here, in the sidebar and at their addresses; Login as Client shows the same." }
                    form.actions #modules-form method="post" action=(format!("/admin/clients/{id}/modules")) {
                        (csrf(&auth.csrf_token))
                        @for m in Module::ALL {
                            label.checkbox { input type="checkbox" id=(format!("module-{}", m.key())) name=(format!("module.{}", m.key())) value="on" checked[modules.shows(m)]; " " (m.label()) }
                        }
                        button #save-modules type="submit" { "Save modules" }
                    }
                } @else {
                    p.muted #client-modules { (modules.visible().map(|m| m.label()).collect::<Vec<_>>().join(", ")) }
                }
            }
        },
    ))
}

/// `GET /admin/clients/{id}`.
pub async fn client(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Query(q): Query<ClientQuery>,
) -> AppResult<Markup> {
    auth.require(Permission::ClientsView)?;
    let flash = q.ended.as_deref().and_then(EndReason::parse).map(|r| r.message());
    client_record(&state, &auth, id, flash, None, None).await
}

/// Query of the client record: `ended` carries why a Login as Client session just ended.
#[derive(Debug, Deserialize)]
pub struct ClientQuery {
    ended: Option<String>,
}

/// `GET /admin/clients?q=&page=`.
pub async fn clients(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(q): Query<ClientListQuery>,
) -> AppResult<Markup> {
    auth.require(Permission::ClientsView)?;
    let term: String = q.q.unwrap_or_default().chars().take(100).collect();
    let page = state.store.search_clients(&term, page_number(&q.page)?, 25).await?;
    let settings = state.store.settings().await?;
    let may = auth.grants.has(Permission::ClientsImpersonate);
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
            table #clients tabindex="0" {
                thead { tr { th { "Name" } th { "E-mail" } th { "Company" } th { "Status" } @if may { th { span.visually-hidden { "Login as Client" } } } } }
                tbody {
                    @for c in &page.items {
                        tr {
                            td { a href=(format!("/admin/clients/{}", c.id)) { (c.name) } }
                            td { (c.email) }
                            td { (c.company) }
                            td { @if c.active { "active" } @else { "disabled" } }
                            @if may { td { (quick_login_button(&auth, &settings, c.id, c.active, Consent::from_stored(&c.consent, c.consent_until), "/dashboard")) } }
                        }
                    }
                }
            }
            (pager(&base, page.page, page.pages()))
        },
    ))
}

/// Query of the client list.
#[derive(Debug, Deserialize)]
pub struct ClientListQuery {
    q: Option<String>,
    page: Option<String>,
}
