//! Subscriptions: recurring products a client pays per interval, and cancelling (or resuming)
//! them at the end of the current period; every read is scoped by client.

use super::activity::NewActivity;
use super::{ClientTable, Page, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, Row};
use crate::domain::acting::Acting;
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;

/// A subscription with the name of the staff member who cancelled it through Login as Client.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub client_id: i64,
    pub store_id: Option<i64>,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub billing_interval: String,
    pub status: String,
    pub started_at: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub cancelled_at: Option<i64>,
    pub cancelled_by_staff_id: Option<i64>,
    pub cancelled_by_staff_name: Option<String>,
    pub cancel_impersonation_id: Option<i64>,
}
from_row!(Subscription {
    id,
    client_id,
    store_id,
    name,
    price_cents,
    currency,
    billing_interval,
    status,
    started_at,
    current_period_end,
    cancel_at_period_end,
    cancelled_at,
    cancelled_by_staff_id,
    cancelled_by_staff_name,
    cancel_impersonation_id
});

impl Subscription {
    /// The status as of `now`: a subscription set to cancel has ended once its period is over,
    /// even before anything rewrites the stored status.
    pub fn status_at(&self, now: i64) -> &str {
        if self.cancel_at_period_end && self.current_period_end <= now {
            "cancelled"
        } else {
            &self.status
        }
    }

    /// Whether it is still running and set to end with the current period.
    pub fn cancelling(&self, now: i64) -> bool {
        self.cancel_at_period_end && self.current_period_end > now && self.status == "active"
    }
}

const SUBSCRIPTION_COLS: &str =
    "SELECT s.id, s.client_id, s.store_id, s.name, s.price_cents, s.currency, s.billing_interval,
        s.status, s.started_at, s.current_period_end, s.cancel_at_period_end, s.cancelled_at,
        s.cancelled_by_staff_id, x.name AS cancelled_by_staff_name, s.cancel_impersonation_id
     FROM subscriptions s LEFT JOIN staff x ON x.id = s.cancelled_by_staff_id";

const SUBSCRIPTIONS: ClientTable = ClientTable {
    select: SUBSCRIPTION_COLS,
    table: "subscriptions",
    client_col: "s.client_id",
    id_col: "s.id",
    sort: "s.started_at",
};

impl Store {
    /// A client's subscriptions, newest first, paged.
    pub async fn subscriptions(&self, client_id: i64, page: i64, per_page: i64) -> StoreResult<Page<Subscription>> {
        self.client_page(&SUBSCRIPTIONS, client_id, page, per_page).await
    }

    /// [`Store::subscriptions`] after a cursor's position (the API).
    pub async fn subscriptions_after(
        &self,
        client_id: i64,
        after: Option<super::Position>,
        limit: i64,
    ) -> StoreResult<Vec<Subscription>> {
        self.client_slice_where(&SUBSCRIPTIONS, None, client_id, after, limit).await
    }

    /// One subscription; `client_id` scopes it (None for staff).
    pub async fn subscription(&self, id: i64, client_id: Option<i64>) -> StoreResult<Subscription> {
        self.client_row(&SUBSCRIPTIONS, id, client_id).await
    }

    /// Cancels one of the acting client's subscriptions at the end of its period: it stays active
    /// until then. The change, its actor and the activity entry commit together. Answers
    /// `Conflict` when it is already cancelling or has ended.
    pub async fn cancel_subscription(&self, acting: &Acting, id: i64) -> StoreResult<()> {
        let now = crate::domain::now();
        let query = query(
            "UPDATE subscriptions SET cancel_at_period_end = 1, cancelled_at = $1, cancelled_by_staff_id = $2,
                    cancel_impersonation_id = $3
             WHERE id = $4 AND client_id = $5 AND status = 'active' AND cancel_at_period_end = 0
               AND current_period_end > $1",
        )
        .bind(now)
        .bind(acting.staff_id())
        .bind(acting.impersonation_id())
        .bind(id)
        .bind(acting.client_id);
        let entry = NewActivity::from_acting(
            acting,
            ActivityGroup::Billing,
            "Cancelled a subscription at period end",
            format!("subscription #{id}"),
        );
        self.change_or(
            query,
            entry,
            |mut tx| async move { why_not_cancelled(&mut tx, acting.client_id, id, now).await },
        )
        .await
    }

    /// Undoes a cancellation at period end while the period still runs.
    pub async fn resume_subscription(&self, acting: &Acting, id: i64) -> StoreResult<()> {
        let query = query(
            "UPDATE subscriptions SET cancel_at_period_end = 0, cancelled_at = NULL, cancelled_by_staff_id = NULL,
                    cancel_impersonation_id = NULL
             WHERE id = $1 AND client_id = $2 AND status = 'active' AND cancel_at_period_end = 1
               AND current_period_end > $3",
        )
        .bind(id)
        .bind(acting.client_id)
        .bind(crate::domain::now());
        let entry = NewActivity::from_acting(
            acting,
            ActivityGroup::Billing,
            "Resumed a subscription",
            format!("subscription #{id}"),
        );
        self.change_or(query, entry, |mut tx| async move { why_not_resumed(&mut tx, acting.client_id, id).await }).await
    }
}

/// The subscription's `(cancel_at_period_end, current_period_end, status)` if it is the client's.
async fn period_state(tx: &mut Tx, client_id: i64, id: i64) -> Result<Option<Row>, sqlx::Error> {
    query("SELECT cancel_at_period_end, current_period_end, status FROM subscriptions WHERE id = $1 AND client_id = $2")
        .bind(id)
        .bind(client_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Explains why resuming changed nothing: unknown id (404), not cancelling or already ended (409).
async fn why_not_resumed(tx: &mut Tx, client_id: i64, id: i64) -> StoreError {
    let cancelling = match period_state(tx, client_id, id).await {
        Ok(None) => return StoreError::NotFound,
        Ok(Some(r)) => r.get::<i64>(0),
        Err(e) => return e.into(),
    };
    match cancelling {
        Ok(0) => StoreError::Conflict(Conflict::NothingToResume),
        Ok(_) => StoreError::Conflict(Conflict::EndedCannotResume),
        Err(e) => e.into(),
    }
}

/// Explains why a cancellation changed nothing: unknown id (404) or already cancelling or ended (409).
async fn why_not_cancelled(tx: &mut Tx, client_id: i64, id: i64, now: i64) -> StoreError {
    let row = match period_state(tx, client_id, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return StoreError::NotFound,
        Err(e) => return e.into(),
    };
    let cancelling = row.get::<bool>(0).unwrap_or(false);
    let end: i64 = row.get(1).unwrap_or(0);
    let status: String = row.get(2).unwrap_or_default();
    if status != "active" || end <= now {
        StoreError::Conflict(Conflict::SubscriptionEnded)
    } else if cancelling {
        StoreError::Conflict(Conflict::AlreadyCancelling { on: end })
    } else {
        StoreError::Conflict(Conflict::NotCancellable)
    }
}

/// Demo subscriptions for one client, made from the catalogue: an active monthly hosting plan and,
/// cancelling at period end, the Website care plan for a client of the second store or else a
/// yearly domain. Two statements, no round trip per product.
pub(crate) async fn seed_demo_subscriptions(tx: &mut Tx, client_id: i64, now: i64) -> StoreResult<()> {
    let day = 86_400;
    query(
        "INSERT INTO subscriptions (client_id, store_id, product_id, name, price_cents, currency, billing_interval,
                status, started_at, current_period_end)
         SELECT $1, p.store_id, p.id, p.name, p.price_cents, st.currency, p.billing_interval, 'active', $2, $3
         FROM products p JOIN stores st ON st.id = p.store_id WHERE p.sku = 'HOST-M' AND st.name = 'Behalf Hosting'",
    )
    .bind(client_id)
    .bind(now - 95 * day)
    .bind(now + 25 * day)
    .execute(&mut **tx)
    .await?;
    query(
        "INSERT INTO subscriptions (client_id, store_id, product_id, name, price_cents, currency, billing_interval,
                status, started_at, current_period_end, cancel_at_period_end, cancelled_at)
         SELECT $1, p.store_id, p.id, p.name, p.price_cents, st.currency, p.billing_interval, 'active', $2, $3, 1, $4
         FROM products p JOIN stores st ON st.id = p.store_id
         JOIN client_stores cs ON cs.store_id = p.store_id AND cs.client_id = $1
         WHERE p.sku IN ('CARE', 'DOM-COM')
         ORDER BY CASE p.sku WHEN 'CARE' THEN 0 ELSE 1 END LIMIT 1",
    )
    .bind(client_id)
    .bind(now - 50 * day)
    .bind(now + 10 * day)
    .bind(now - 2 * day)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl super::Positioned for Subscription {
    fn position(&self) -> super::Position {
        super::Position { at: self.started_at, id: self.id }
    }
}
