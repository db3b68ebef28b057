//! Client portal pages. Every read is scoped by `acting.client_id`; every write goes through
//! `authorize`, which applies CSRF, read-only mode and the sensitive-action block.

pub mod access;
pub mod account;
pub mod billing;
pub mod controls;
pub mod dashboard;
pub mod files;
pub mod orders;
pub mod session;
pub mod shop;
pub mod subscriptions;
pub mod tasks;
pub mod tickets;

use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::error::{AppError, AppResult};
use crate::web::forms::PageQuery;
use crate::web::layout::{alert, portal_page};
use crate::web::views::invoice_lines;
use axum::http::StatusCode;
use maud::html;

/// Applies the write rules of this session (read-only mode, the sensitive-action block), refusing
/// with a 403 page that keeps the banner. The CSRF token was checked by `Post` already.
pub(crate) fn authorize(auth: &PortalAuth, kind: WriteKind) -> AppResult<()> {
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
