//! Portal billing pages: an invoice with its payments and the pay form, and the client's saved
//! payment methods (sensitive: only the client may change them, never through Login as Client).

use super::controls::{controls, page_note, row_controls};
use super::{authorize, invoice_lines};
use crate::auth::guards::PortalAuth;
use crate::domain::acting::WriteKind;
use crate::domain::format_money;
use crate::domain::format_time;
use crate::domain::modules::Module;
use crate::domain::payments::{self, ChargeStatus};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::billing::{PayResult, Payment, PaymentMethod, MAX_LABEL_CHARS};
use crate::store::StoreError;
use crate::web::attribution::on_your_behalf;
use crate::web::extract::{Id, Query};
use crate::web::forms::idempotency_key;
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{alert, portal_page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// The payments table of an invoice as the client sees it: staff who paid for them are named.
fn payments_portal(payments: &[Payment]) -> Markup {
    html! {
        @if !payments.is_empty() {
            h2 { "Payments" }
            table #payments tabindex="0" { thead { tr { th { "When" } th { "Amount" } th { "Result" } th { "By" } th { "Reference" } } }
                tbody { @for p in payments { tr {
                    td { (format_time(p.created_at)) }
                    td { (format_money(p.amount_cents, &p.currency)) }
                    td { (p.status) @if p.status != "succeeded" && !p.message.is_empty() { ": " (p.message) } }
                    td.author { "You" (on_your_behalf(p.actor_staff_name.as_deref())) }
                    td { code { (p.provider_reference) } }
                } } } }
        }
    }
}

async fn invoice_page(
    state: &AppState,
    auth: &PortalAuth,
    id: i64,
    notice: Option<&str>,
    error: Option<&str>,
) -> AppResult<Markup> {
    let (inv, lines) = state.store.invoice(id, Some(auth.acting.client_id)).await?;
    let payments = state.store.invoice_payments(id).await?;
    let paid_at = state.store.invoice_paid_at(id).await?;
    let cards = state.store.payment_methods(auth.acting.client_id).await?;
    Ok(portal_page(
        auth,
        &inv.number,
        html! {
            h1 { "Invoice " (inv.number) }
            p #invoice-status { "Status: " strong { (inv.status) } " · Issued " (crate::domain::format_date(inv.issued_at)) " · Due " (crate::domain::format_date(inv.due_at))
                @if let Some(t) = paid_at { " · Paid " (format_time(t)) } }
            @if let Some(n) = notice { p.notice role="status" #payment-notice { (n) } }
            @if let Some(e) = error { (alert(e)) }
            (invoice_lines(&inv, &lines))
            @if inv.status == "unpaid" {
                h2 { "Pay this invoice" }
                form #pay-form method="post" action=(format!("/invoices/{}/pay", inv.id)) {
                    (controls(auth, WriteKind::Ordinary, html! {
                        // One key per rendering: a double click or a retry charges once.
                        input type="hidden" name="idempotency_key" value=(crate::auth::new_token());
                        label for="payment_method_id" { "Pay with" }
                        select #payment_method_id name="payment_method_id" {
                            option value="" { "Test checkout (no saved card)" }
                            @for c in &cards { option value=(c.id) { (c.label) " ending " (c.last4) } }
                        }
                        p { button #pay type="submit" { "Pay " (format_money(inv.total_cents, &inv.currency)) } }
                    }))
                }
            }
            (payments_portal(&payments))
        },
    ))
}

/// Query of the invoice page.
#[derive(Debug, Deserialize)]
pub struct InvoiceQuery {
    paid: Option<String>,
}

/// `GET /invoices/{id}`: only the acting client's own invoice; any other id is 404.
pub async fn invoice(
    State(state): State<AppState>,
    auth: PortalAuth,
    Id(id): Id,
    Query(q): Query<InvoiceQuery>,
) -> AppResult<Markup> {
    auth.require_module(Module::Invoices)?;
    let notice = q.paid.as_deref().map(|_| "Thank you: the payment was recorded.");
    invoice_page(&state, &auth, id, notice, None).await
}

/// The pay form.
#[derive(Debug, Deserialize)]
pub struct PayForm {
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    payment_method_id: String,
}

/// `POST /invoices/{id}/pay`: charges one of the acting client's unpaid invoices. The same form
/// submitted again charges nothing and leads back to the invoice.
pub async fn pay(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<PortalAuth, PayForm>,
) -> AppResult<Response> {
    auth.require_module(Module::Invoices)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let refuse = |status: StatusCode, msg: &str| {
        let state = state.clone();
        let auth = auth.clone();
        let msg = msg.to_string();
        async move { Ok::<_, AppError>(AppError::Page(status, invoice_page(&state, &auth, id, None, Some(&msg)).await?)) }
    };
    let Some(key) = idempotency_key(&f.idempotency_key) else {
        let msg = "This payment form is incomplete. The invoice has been reloaded: press Pay again.";
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, msg).await?);
    };
    let card = match f.payment_method_id.trim() {
        "" => None,
        raw => match raw.parse::<i64>().ok().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "Choose one of your saved cards.").await?),
        },
    };
    match state.store.pay_invoice(&auth.acting, id, card, key, payments::provider()).await {
        Ok(PayResult::Charged { outcome, .. }) if outcome.status == ChargeStatus::Declined => {
            Err(refuse(StatusCode::PAYMENT_REQUIRED, &outcome.message).await?)
        }
        Ok(PayResult::Charged { .. }) => Ok(Redirect::to(&format!("/invoices/{id}?paid=1")).into_response()),
        Ok(PayResult::Existing { .. }) => Ok(Redirect::to(&format!("/invoices/{id}")).into_response()),
        Err(StoreError::Conflict(c)) => Err(refuse(StatusCode::CONFLICT, &c.to_string()).await?),
        Err(e) => Err(e.into()),
    }
}

fn payment_methods_body(
    auth: &PortalAuth,
    cards: &[PaymentMethod],
    typed_label: &str,
    error: Option<&str>,
    saved: bool,
) -> Markup {
    let own = auth.acting.impersonation.is_none();
    html! {
        h1 { "Saved payment methods" }
        @if !own {
            (alert("Only the client can add or remove saved payment methods; they are shown here read-only."))
        }
        @if saved { p.notice role="status" { "Saved." } }
        @if let Some(e) = error { (alert(e)) }
        (page_note(auth, WriteKind::Sensitive))
        @if cards.is_empty() {
            p #no-payment-methods { "You have no saved payment methods." }
        } @else {
            table #payment-methods tabindex="0" { thead { tr { th { "Card" } th { "Provider" } th { "Added" } th { span.visually-hidden { "Remove" } } } }
                tbody { @for c in cards { tr data-method=(c.id) {
                    td { (c.label) " ending " (c.last4) }
                    td { (c.provider) }
                    td { (format_time(c.created_at)) }
                    td {
                        form.inline method="post" action=(format!("/account/payment-methods/{}/delete", c.id)) {
                            (row_controls(auth, WriteKind::Sensitive, html! { button.danger type="submit" { "Remove" } }))
                        }
                    }
                } } } }
        }
        h2 { "Add a card" }
        p.muted { "Only the last four digits are kept. With the built-in test provider, a card ending 0002 is always declined." }
        form #add-payment-method method="post" action="/account/payment-methods" {
            (controls(auth, WriteKind::Sensitive, html! {
                label for="label" { "Name on the list (e.g. Visa, company card)" }
                input #label type="text" name="label" value=(typed_label) maxlength=(MAX_LABEL_CHARS) required;
                label for="card_number" { "Card number" }
                input #card_number type="text" name="card_number" inputmode="numeric" autocomplete="cc-number" maxlength="30" required;
                p { button #save-payment-method type="submit" { "Save card" } }
            }))
        }
    }
}

/// Query of the payment methods page.
#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /account/payment-methods`. Through Login as Client the list is shown read-only with a 403,
/// as for every sensitive page.
pub async fn payment_methods(
    State(state): State<AppState>,
    auth: PortalAuth,
    Query(q): Query<SavedQuery>,
) -> AppResult<Response> {
    let cards = state.store.payment_methods(auth.acting.client_id).await?;
    let page = portal_page(&auth, "Payment methods", payment_methods_body(&auth, &cards, "", None, q.saved.is_some()));
    let status = if auth.acting.impersonation.is_some() { StatusCode::FORBIDDEN } else { StatusCode::OK };
    Ok((status, page).into_response())
}

/// A new saved card.
#[derive(Debug, Deserialize)]
pub struct CardForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    card_number: String,
}

/// `POST /account/payment-methods` (sensitive): saves a test card, keeping only its last four digits.
pub async fn save_payment_method(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<PortalAuth, CardForm>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    let label = f.label.trim();
    let checked = if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        Err(format!("Give the card a name of 1 to {MAX_LABEL_CHARS} characters."))
    } else {
        payments::card_last4(&f.card_number).map_err(str::to_string)
    };
    let refused = match checked {
        Ok(last4) => {
            match state.store.add_payment_method(&auth.acting, payments::provider().name(), label, &last4).await {
                Ok(_) => None,
                Err(StoreError::Conflict(c)) => Some(c.to_string()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(msg) => Some(msg),
    };
    match refused {
        None => Ok(Redirect::to("/account/payment-methods?saved=1").into_response()),
        Some(msg) => {
            let cards = state.store.payment_methods(auth.acting.client_id).await?;
            // The typed card number is never echoed back into the page.
            let body = payment_methods_body(&auth, &cards, &f.label, Some(&msg), false);
            Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, portal_page(&auth, "Payment methods", body)))
        }
    }
}

/// `POST /account/payment-methods/{id}/delete` (sensitive).
pub async fn delete_payment_method(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    authorize(&auth, WriteKind::Sensitive)?;
    state.store.delete_payment_method(&auth.acting, id).await?;
    Ok(Redirect::to("/account/payment-methods?saved=1").into_response())
}
