//! Page layouts: public, admin and portal. The portal layout takes `PortalAuth`, so the
//! impersonation banner is on every portal page by construction.

use crate::auth::guards::{PortalAuth, StaffAuth};
use crate::domain::duration::describe_remaining;
use crate::domain::lists::StatusFilter;
use crate::domain::modules::Module;
use crate::domain::permissions::Permission;
use crate::page::head;
pub use crate::page::{message_page, public_page};
use maud::{html, Markup, PreEscaped};

/// A hidden CSRF field.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(token); }
}

/// The phone's Menu button, which shows and hides `#site-menu` through a checkbox and CSS alone
/// (the CSP allows no inline script); on a wide screen both are hidden and the menu always shows.
/// `autocomplete="off"` keeps a reloaded page from restoring the menu open.
fn menu_button() -> Markup {
    html! {
        input.menu-toggle #menu-toggle type="checkbox" autocomplete="off" aria-controls="site-menu";
        label.menu-button for="menu-toggle" { "Menu" }
    }
}

/// An admin page with navigation that shows only what the staff member may open.
pub fn admin_page(auth: &StaffAuth, title: &str, body: Markup) -> Markup {
    let g = &auth.grants;
    html! {
        (head(title))
        body.admin {
            header.topbar {
                a.brand href="/admin" { "Behalf Admin" }
                (menu_button())
                div.menu #site-menu {
                    nav aria-label="Main" {
                        a href="/admin" { "Dashboard" }
                        @if g.has(Permission::ClientsView) { a href="/admin/clients" { "Clients" } }
                        @if g.has(Permission::ClientsView) { a href="/admin/stores" { "Stores" } }
                        @if g.has(Permission::ImpersonationLogView) { a href="/admin/impersonations" { "Login as Client log" } }
                        @if g.has(Permission::ImpersonationLogView) { a href="/admin/activity" { "Activity" } }
                        @if g.has(Permission::SettingsManage) { a href="/admin/settings" { "Settings" } }
                        @if g.has(Permission::SettingsManage) { a href="/admin/outbox" { "Mail outbox" } }
                        @if g.has(Permission::SettingsManage) { a href="/admin/webhooks" { "Webhooks" } }
                        @if g.has(Permission::StaffManage) { a href="/admin/staff" { "Staff" } }
                        @if g.has(Permission::StaffManage) { a href="/admin/roles" { "Roles" } }
                    }
                    a href="/admin/2fa/setup" { "Two-factor" }
                    a href="/admin/account/api-keys" { "API keys" }
                    form.inline method="post" action="/admin/logout" {
                        span.who { (auth.staff.name) " (" (auth.staff.role_name) ")" }
                        (csrf(&auth.csrf_token))
                        button type="submit" { "Sign out" }
                    }
                }
            }
            main { (body) }
        }
    }
}

/// A portal page; while impersonating it starts with the banner, and in the client's own session
/// while staff are in their portal, with the live-support notice.
pub fn portal_page(auth: &PortalAuth, title: &str, body: Markup) -> Markup {
    let a = &auth.acting;
    html! {
        (head(title))
        body class=(a.store.as_ref().map(|s| format!("portal store-{}", s.id)).unwrap_or_else(|| "portal".into())) {
            @if let Some(imp) = &a.impersonation {
                div #impersonation-banner role="status" title=(if imp.reason.is_empty() { "No reason given".to_string() } else { format!("Reason: {}", imp.reason) }) {
                    span.banner-text { "You are viewing the portal as: " strong { (a.client_name) " (" (a.client_email) ")" } }
                    @if imp.several_stores { @if let Some(store) = &imp.store_name { span.banner-item { "Store: " (store) } } }
                    span.banner-item #impersonation-mode { "Mode: " (imp.mode.label()) }
                    span.banner-item #impersonation-time-left { "Time left: " (describe_remaining(imp.ends_by - crate::domain::now())) }
                    form.inline method="post" action="/impersonation/return" {
                        (csrf(&auth.csrf_token))
                        button #return-to-admin type="submit" { "Return to Admin" }
                    }
                }
            }
            @if let Some(staff) = &auth.live_support {
                div #live-support role="status" {
                    span { strong { (staff) } " from support is viewing your account now." }
                    form.inline method="post" action="/account/end-support-access" {
                        (csrf(&auth.csrf_token))
                        button.danger #live-support-end type="submit" { "End support access" }
                    }
                }
            }
            header.topbar {
                a.brand href="/dashboard" { "Client Portal" }
                (menu_button())
                div.menu #site-menu {
                    nav aria-label="Main" {
                        a href="/dashboard" { "Dashboard" }
                        @for m in a.modules.visible() { a href=(m.path()) data-module=(m.key()) { (m.label()) } }
                        @if a.shows(Module::Shop) { a href="/cart" { "Cart" } }
                        a href="/account" { "Account" }
                    }
                    form.inline method="post" action="/logout" {
                        span.who { (a.client_name) }
                        (csrf(&auth.csrf_token))
                        button type="submit" { @if a.impersonation.is_some() { "Close session" } @else { "Sign out" } }
                    }
                }
            }
            main { (body) }
        }
    }
}

/// Pagination links for a list page; `base` is the path with any other query already in it.
pub fn pager(base: &str, page: i64, pages: i64) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 { a rel="prev" href=(format!("{base}{sep}page={}", page - 1)) { "← Previous" } }
                span { "Page " (page) " of " (pages) }
                @if page < pages { a rel="next" href=(format!("{base}{sep}page={}", page + 1)) { "Next →" } }
            }
        }
    }
}

/// The links that filter a list by status: "All", then each status, the one shown marked.
pub fn status_links<F: StatusFilter + PartialEq>(base: &str, shown: Option<F>) -> Markup {
    html! {
        nav.filters #status-filter aria-label="Filter by status" {
            @if shown.is_none() { strong { "All" } } @else { a href=(base) { "All" } }
            @for f in F::ALL {
                " · "
                @if shown == Some(*f) { strong { (f.as_str()) } }
                @else { a href=(filtered(base, Some(*f))) { (f.as_str()) } }
            }
        }
    }
}

/// The address of a list showing only `shown` (the list itself when `None`), for its pager.
pub fn filtered<F: StatusFilter>(base: &str, shown: Option<F>) -> String {
    match shown {
        Some(f) => format!("{base}?status={}", f.as_str()),
        None => base.to_string(),
    }
}

/// An alert paragraph for a flash or error message.
pub fn alert(msg: &str) -> Markup {
    html! { p.message role="alert" { (msg) } }
}

/// Marks text as already-safe HTML (used only for constant strings).
pub fn raw(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}
