//! The client's own data: services, invoices, orders and tickets; every read is scoped by client.

use super::activity::NewActivity;
use super::{changed, ClientTable, Page, Position, Positioned, Store, StoreError, StoreResult};
use crate::db::query::query_as;
use crate::db::query::{from_row, query};
use crate::domain::acting::{Acting, StaffActing};
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;
use crate::domain::impersonation::Consent;
use crate::domain::lists::{InvoiceStatus, TicketStatus};

/// A service (hosting plan, domain…).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Service {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    pub product: String,
    pub status: String,
    pub price_cents: i64,
    pub billing_cycle: String,
    pub next_due_at: Option<i64>,
}
from_row!(Service { id, client_id, name, product, status, price_cents, billing_cycle, next_due_at });

/// An invoice header.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Invoice {
    pub id: i64,
    pub client_id: i64,
    pub number: String,
    pub status: String,
    pub currency: String,
    pub total_cents: i64,
    pub issued_at: i64,
    pub due_at: i64,
}
from_row!(Invoice { id, client_id, number, status, currency, total_cents, issued_at, due_at });

/// One invoice line.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: i64,
    pub unit_cents: i64,
    pub amount_cents: i64,
}
from_row!(InvoiceLine { description, quantity, unit_cents, amount_cents });

/// An order.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: i64,
    pub client_id: i64,
    pub number: String,
    pub status: String,
    pub currency: String,
    pub total_cents: i64,
    pub created_at: i64,
}
from_row!(Order { id, client_id, number, status, currency, total_cents, created_at });

/// A ticket header.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub client_id: i64,
    pub subject: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}
from_row!(Ticket { id, client_id, subject, status, created_at, updated_at });

/// A ticket reply with the names needed to say who wrote it and who acted.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Reply {
    pub id: i64,
    pub author_kind: String,
    pub author_staff_name: Option<String>,
    pub actor_staff_name: Option<String>,
    pub impersonation_id: Option<i64>,
    pub body: String,
    pub created_at: i64,
}
from_row!(Reply { id, author_kind, author_staff_name, actor_staff_name, impersonation_id, body, created_at });

/// Figures for the client dashboard, read in one query.
#[derive(Debug, Clone)]
pub struct DashboardSummary {
    pub active_services: i64,
    pub unpaid_invoices: i64,
    pub amount_due_cents: i64,
    /// The currency of the unpaid invoices, when they share one.
    pub due_currency: Option<String>,
    /// How many currencies the unpaid invoices are in; above one, no single sum is shown.
    pub due_currencies: i64,
    pub open_tickets: i64,
    pub orders: i64,
    /// Impersonations the client was told about and has not acknowledged.
    pub unseen_access: i64,
}
from_row!(DashboardSummary {
    active_services,
    unpaid_invoices,
    amount_due_cents,
    due_currency,
    due_currencies,
    open_tickets,
    orders,
    unseen_access
});

/// The action recorded when support-access consent changes, from either side.
const CONSENT_CHANGED: &str = "Changed support access consent";

/// Longest ticket subject accepted.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest ticket message accepted.
pub const MAX_BODY_CHARS: usize = 20_000;

/// The documents [`Store::document_lines`] reads the lines of.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LinesOf {
    Invoice,
    Order,
}

const SERVICE_COLS: &str =
    "SELECT id, client_id, name, product, status, price_cents, billing_cycle, next_due_at FROM services";
const INVOICE_COLS: &str =
    "SELECT id, client_id, number, status, currency, total_cents, issued_at, due_at FROM invoices";
const ORDER_COLS: &str = "SELECT id, client_id, number, status, currency, total_cents, created_at FROM orders";
const TICKET_COLS: &str = "SELECT id, client_id, subject, status, created_at, updated_at FROM tickets";
/// Which invoices a status filter keeps.
fn invoice_condition(status: Option<InvoiceStatus>) -> Option<&'static str> {
    status.map(|s| match s {
        InvoiceStatus::Unpaid => "status = 'unpaid'",
        InvoiceStatus::Paid => "status = 'paid'",
        InvoiceStatus::Cancelled => "status = 'cancelled'",
    })
}

/// Which tickets a status filter keeps (`Open`: every ticket not closed, as the dashboard counts).
fn ticket_condition(status: Option<TicketStatus>) -> Option<&'static str> {
    status.map(|s| match s {
        TicketStatus::Open => "status <> 'closed'",
        TicketStatus::Closed => "status = 'closed'",
    })
}

impl Positioned for Invoice {
    fn position(&self) -> Position {
        Position { at: self.issued_at, id: self.id }
    }
}

impl Positioned for Order {
    fn position(&self) -> Position {
        Position { at: self.created_at, id: self.id }
    }
}

impl Positioned for Ticket {
    fn position(&self) -> Position {
        Position { at: self.updated_at, id: self.id }
    }
}

const INVOICES: ClientTable =
    ClientTable { select: INVOICE_COLS, table: "invoices", client_col: "client_id", id_col: "id", sort: "issued_at" };
const ORDERS: ClientTable =
    ClientTable { select: ORDER_COLS, table: "orders", client_col: "client_id", id_col: "id", sort: "created_at" };
const TICKETS: ClientTable =
    ClientTable { select: TICKET_COLS, table: "tickets", client_col: "client_id", id_col: "id", sort: "updated_at" };

impl Store {
    /// Dashboard figures for one client.
    pub async fn dashboard_summary(&self, client_id: i64) -> StoreResult<DashboardSummary> {
        Ok(query_as(
            "SELECT (SELECT COUNT(*) FROM services WHERE client_id = $1 AND status = 'active') AS active_services,
                    (SELECT COUNT(*) FROM invoices WHERE client_id = $1 AND status = 'unpaid') AS unpaid_invoices,
                    (SELECT CAST(COALESCE(SUM(total_cents), 0) AS BIGINT) FROM invoices WHERE client_id = $1 AND status = 'unpaid') AS amount_due_cents,
                    (SELECT MIN(currency) FROM invoices WHERE client_id = $1 AND status = 'unpaid') AS due_currency,
                    (SELECT COUNT(DISTINCT currency) FROM invoices WHERE client_id = $1 AND status = 'unpaid') AS due_currencies,
                    (SELECT COUNT(*) FROM tickets WHERE client_id = $1 AND status <> 'closed') AS open_tickets,
                    (SELECT COUNT(*) FROM orders WHERE client_id = $1) AS orders,
                    (SELECT COUNT(*) FROM impersonations WHERE client_id = $1 AND notify_client = 1
                       AND started_at >= (SELECT access_seen_at FROM clients WHERE id = $1)) AS unseen_access",
        )
        .bind(client_id)
        .fetch_one(&self.db)
        .await?)
    }

    /// A client's services.
    pub async fn services(&self, client_id: i64) -> StoreResult<Vec<Service>> {
        Ok(query_as(format!("{SERVICE_COLS} WHERE client_id = $1 ORDER BY id"))
            .bind(client_id)
            .fetch_all(&self.db)
            .await?)
    }

    /// A client's invoices, newest issued first, paged; only those with `status` when given.
    pub async fn invoices(
        &self,
        client_id: i64,
        status: Option<InvoiceStatus>,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Page<Invoice>> {
        self.client_page_where(&INVOICES, invoice_condition(status), client_id, page, per_page).await
    }

    /// [`Store::invoices`] after a cursor's position (the API).
    pub async fn invoices_after(
        &self,
        client_id: i64,
        status: Option<InvoiceStatus>,
        after: Option<Position>,
        limit: i64,
    ) -> StoreResult<Vec<Invoice>> {
        self.client_slice_where(&INVOICES, invoice_condition(status), client_id, after, limit).await
    }

    /// One invoice with its lines; `client_id` scopes it (None for staff, who may see any).
    pub async fn invoice(&self, id: i64, client_id: Option<i64>) -> StoreResult<(Invoice, Vec<InvoiceLine>)> {
        let inv: Invoice = self.client_row(&INVOICES, id, client_id).await?;
        Ok((inv, self.document_lines(LinesOf::Invoice, id).await?))
    }

    /// The lines of one invoice or order, in order.
    pub(crate) async fn document_lines(&self, of: LinesOf, id: i64) -> StoreResult<Vec<InvoiceLine>> {
        let sql = match of {
            LinesOf::Invoice => {
                "SELECT description, quantity, unit_cents, amount_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY id"
            }
            LinesOf::Order => {
                "SELECT description, quantity, unit_cents, amount_cents FROM order_lines WHERE order_id = $1 ORDER BY id"
            }
        };
        Ok(query_as(sql).bind(id).fetch_all(&self.db).await?)
    }

    /// A client's orders, newest placed first, paged.
    pub async fn orders(&self, client_id: i64, page: i64, per_page: i64) -> StoreResult<Page<Order>> {
        self.client_page(&ORDERS, client_id, page, per_page).await
    }

    /// [`Store::orders`] after a cursor's position (the API).
    pub async fn orders_after(&self, client_id: i64, after: Option<Position>, limit: i64) -> StoreResult<Vec<Order>> {
        self.client_slice_where(&ORDERS, None, client_id, after, limit).await
    }

    /// One order (staff view).
    pub async fn order(&self, id: i64) -> StoreResult<Order> {
        query_as(format!("{ORDER_COLS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// A client's tickets, most recently updated first, paged; only those with `status` when
    /// given (`Open`: every ticket not closed, as the dashboard counts them).
    pub async fn tickets(
        &self,
        client_id: i64,
        status: Option<TicketStatus>,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Page<Ticket>> {
        self.client_page_where(&TICKETS, ticket_condition(status), client_id, page, per_page).await
    }

    /// [`Store::tickets`] after a cursor's position (the API).
    pub async fn tickets_after(
        &self,
        client_id: i64,
        status: Option<TicketStatus>,
        after: Option<Position>,
        limit: i64,
    ) -> StoreResult<Vec<Ticket>> {
        self.client_slice_where(&TICKETS, ticket_condition(status), client_id, after, limit).await
    }

    /// One ticket with its replies; `client_id` scopes it (None for staff).
    pub async fn ticket(&self, id: i64, client_id: Option<i64>) -> StoreResult<(Ticket, Vec<Reply>)> {
        let t: Ticket = self.client_row(&TICKETS, id, client_id).await?;
        let replies = query_as(
            "SELECT r.id, r.author_kind, a.name AS author_staff_name, x.name AS actor_staff_name, r.impersonation_id, r.body, r.created_at
             FROM ticket_replies r LEFT JOIN staff a ON a.id = r.author_staff_id LEFT JOIN staff x ON x.id = r.actor_staff_id
             WHERE r.ticket_id = $1 ORDER BY r.id",
        )
        .bind(id)
        .fetch_all(&self.db)
        .await?;
        Ok((t, replies))
    }

    /// Opens a ticket as the acting client, with its first message and activity entry in one transaction.
    pub async fn create_ticket(&self, acting: &Acting, subject: &str, body: &str) -> StoreResult<i64> {
        let now = crate::domain::now();
        self.record(|mut tx| async move {
            let id: i64 = query(
                "INSERT INTO tickets (client_id, subject, status, created_at, updated_at, actor_staff_id, impersonation_id)
             VALUES ($1, $2, 'open', $3, $3, $4, $5) RETURNING id",
            )
            .bind(acting.client_id)
            .bind(subject)
            .bind(now)
            .bind(acting.staff_id())
            .bind(acting.impersonation_id())
            .fetch_scalar(&mut *tx).await?;
            insert_reply(&mut tx, acting, id, body, now).await?;
            Ok((
                tx,
                id,
                NewActivity::from_acting(acting, ActivityGroup::Tickets, "Opened a ticket", format!("ticket #{id}")),
            ))
        })
        .await
    }

    /// Replies to one of the acting client's tickets; the reply and its activity entry commit together.
    pub async fn reply_to_ticket(&self, acting: &Acting, ticket_id: i64, body: &str) -> StoreResult<i64> {
        let now = crate::domain::now();
        self.record(|mut tx| async move {
            changed(
                query("UPDATE tickets SET status = 'open', updated_at = $1 WHERE id = $2 AND client_id = $3")
                    .bind(now)
                    .bind(ticket_id)
                    .bind(acting.client_id)
                    .execute(&mut *tx)
                    .await?,
            )?;
            let id = insert_reply(&mut tx, acting, ticket_id, body, now).await?;
            Ok((
                tx,
                id,
                NewActivity::from_acting(
                    acting,
                    ActivityGroup::Tickets,
                    "Replied to a ticket",
                    format!("ticket #{ticket_id}"),
                ),
            ))
        })
        .await
    }

    /// Updates the acting client's profile (name, phone).
    pub async fn update_profile(&self, acting: &Acting, name: &str, phone: &str) -> StoreResult<()> {
        self.change(
            query("UPDATE clients SET name = $1, phone = $2 WHERE id = $3")
                .bind(name)
                .bind(phone)
                .bind(acting.client_id),
            NewActivity::on_account(acting, ActivityGroup::Account, "Updated the profile"),
        )
        .await
    }

    /// Changes the acting client's password hash (sensitive: the client's own session only).
    pub async fn set_client_password(
        &self,
        acting: &Acting,
        password_hash: &str,
        keep_session: i64,
    ) -> StoreResult<()> {
        self.record(|mut tx| async move {
            query("UPDATE clients SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(acting.client_id)
                .execute(&mut *tx)
                .await?;
            // Other sign-ins of this client end with a password change; this one stays.
            query(
                "DELETE FROM sessions WHERE client_id = $1 AND kind = 'client' AND impersonation_id IS NULL AND id <> $2",
            )
            .bind(acting.client_id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
            Ok((tx, (), NewActivity::on_account(acting, ActivityGroup::Security, "Changed the password")))
        })
        .await
    }

    /// Changes the acting client's e-mail (sensitive); fails with `Conflict` if it is taken.
    pub async fn set_client_email(&self, acting: &Acting, email: &str) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let taken = query("SELECT id FROM clients WHERE email = $1 AND id <> $2")
                .bind(email)
                .bind(acting.client_id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(Conflict::EmailInUse));
            }
            query("UPDATE clients SET email = $1 WHERE id = $2")
                .bind(email)
                .bind(acting.client_id)
                .execute(&mut *tx)
                .await?;
            let entry =
                NewActivity::from_acting(acting, ActivityGroup::Security, "Changed the e-mail address", email.into());
            Ok((tx, (), entry))
        })
        .await
    }

    /// The acting client's own support-access consent, set on `/account` (sensitive: never
    /// through Login as Client).
    pub async fn set_consent(&self, acting: &Acting, consent: Consent) -> StoreResult<()> {
        let entry = NewActivity::on_account(acting, ActivityGroup::LoginAsClient, CONSENT_CHANGED);
        self.write_consent(acting.client_id, consent, entry).await
    }

    /// A client's support-access consent, set by staff holding `clients.consent.manage`.
    pub async fn set_consent_as_staff(&self, by: &StaffActing, client_id: i64, consent: Consent) -> StoreResult<()> {
        let target = format!("client #{client_id}");
        let entry = NewActivity::by_staff(by, Some(client_id), ActivityGroup::LoginAsClient, CONSENT_CHANGED, target);
        self.write_consent(client_id, consent, entry).await
    }

    async fn write_consent(&self, client_id: i64, consent: Consent, entry: NewActivity) -> StoreResult<()> {
        let (value, until) = (consent.as_str(), consent.until());
        let detail = format!(
            "consent: {value}; until: {}",
            until.map(crate::domain::format_time).unwrap_or_else(|| "revoked by the client or staff".into())
        );
        self.change(
            query("UPDATE clients SET consent = $1, consent_until = $2 WHERE id = $3")
                .bind(value)
                .bind(until)
                .bind(client_id),
            NewActivity { detail, ..entry },
        )
        .await
    }

    /// Closes the acting client's account (sensitive): disables it and ends all its sessions.
    pub async fn close_client_account(&self, acting: &Acting) -> StoreResult<()> {
        self.record(|mut tx| async move {
            query("UPDATE clients SET active = 0 WHERE id = $1").bind(acting.client_id).execute(&mut *tx).await?;
            query("DELETE FROM sessions WHERE client_id = $1 AND impersonation_id IS NULL")
                .bind(acting.client_id)
                .execute(&mut *tx)
                .await?;
            super::impersonations::end_impersonations_where(
                &mut tx,
                crate::domain::session::Whose::Client(acting.client_id),
                crate::domain::impersonation::EndReason::ClientEnded,
                super::activity::ActivityActor::Client(acting.client_id),
                &acting.ip,
            )
            .await?;
            Ok((tx, (), NewActivity::on_account(acting, ActivityGroup::Security, "Closed the account")))
        })
        .await
    }
}

async fn insert_reply(tx: &mut super::Tx, acting: &Acting, ticket_id: i64, body: &str, now: i64) -> StoreResult<i64> {
    Ok(query(
        "INSERT INTO ticket_replies (ticket_id, author_kind, actor_staff_id, impersonation_id, body, created_at)
         VALUES ($1, 'client', $2, $3, $4, $5) RETURNING id",
    )
    .bind(ticket_id)
    .bind(acting.staff_id())
    .bind(acting.impersonation_id())
    .bind(body)
    .bind(now)
    .fetch_scalar(&mut **tx)
    .await?)
}
