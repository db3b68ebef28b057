//! The shop: each store's catalogue, the client's cart (keyed by client, per store), checkout
//! (order, lines, invoice and the emptied cart in one idempotent transaction) and order details.

use super::activity::{append, NewActivity};
use super::{id_by_key, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::{Acting, StoreInfo};
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;
use crate::domain::money::{self, MAX_QUANTITY};
use crate::domain::shop;

/// A product of a store's catalogue.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: i64,
    pub store_id: i64,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub billing_interval: String,
}
from_row!(Product { id, store_id, sku, name, description, price_cents, billing_interval });

/// One cart line with the product's current name and price.
#[derive(Debug, Clone)]
pub struct CartLine {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_cents: i64,
    pub billing_interval: String,
}
from_row!(CartLine { product_id, sku, name, quantity, unit_cents, billing_interval });

/// An order with everything its detail pages show. `internal_note` is for the admin side only.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub number: String,
    pub status: String,
    pub currency: String,
    pub total_cents: i64,
    pub created_at: i64,
    pub invoice_id: Option<i64>,
    pub client_note: String,
    pub internal_note: String,
    pub actor_staff_name: Option<String>,
    pub impersonation_id: Option<i64>,
    pub store_name: Option<String>,
}
from_row!(OrderDetail {
    id,
    client_id,
    client_name,
    number,
    status,
    currency,
    total_cents,
    created_at,
    invoice_id,
    client_note,
    internal_note,
    actor_staff_name,
    impersonation_id,
    store_name
});

/// One order line: the same columns as an invoice line.
pub type OrderLine = super::portal::InvoiceLine;

/// What a checkout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkout {
    /// A new order with this id.
    Placed(i64),
    /// The form was already submitted: the order it made.
    Existing(i64),
}

/// Longest idempotency key accepted from a form.
pub const MAX_KEY_CHARS: usize = 128;

const PRODUCT_COLS: &str = "SELECT id, store_id, sku, name, description, price_cents, billing_interval FROM products";

impl Store {
    /// The active products of one store, in catalogue order.
    pub async fn products(&self, store_id: i64) -> StoreResult<Vec<Product>> {
        Ok(query_as(format!("{PRODUCT_COLS} WHERE store_id = $1 AND active = 1 ORDER BY id"))
            .bind(store_id)
            .fetch_all(&self.db)
            .await?)
    }

    /// Remembers the store a client's own portal session browses; `NotFound` unless the client
    /// belongs to that store.
    pub async fn set_session_store(&self, session_id: i64, client_id: i64, store_id: i64) -> StoreResult<()> {
        let n = query(
            "UPDATE sessions SET store_id = $1 WHERE id = $2 AND client_id = $3 AND impersonation_id IS NULL
               AND EXISTS (SELECT 1 FROM client_stores cs WHERE cs.client_id = $3 AND cs.store_id = $1)",
        )
        .bind(store_id)
        .bind(session_id)
        .bind(client_id)
        .execute(self.db.writer())
        .await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The client's cart in one store, oldest line first.
    pub async fn cart(&self, client_id: i64, store_id: i64) -> StoreResult<Vec<CartLine>> {
        Ok(query_as(
            "SELECT ci.product_id, p.sku, p.name, ci.quantity, p.price_cents AS unit_cents, p.billing_interval
             FROM cart_items ci JOIN products p ON p.id = ci.product_id
             WHERE ci.client_id = $1 AND ci.store_id = $2 ORDER BY ci.added_at, ci.product_id",
        )
        .bind(client_id)
        .bind(store_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// Adds a product of the current store to the acting client's cart (to its line if there is
    /// one). `NotFound` for a product that is not sold in this store; `Conflict` when the line
    /// would pass the largest quantity.
    pub async fn add_to_cart(&self, acting: &Acting, store_id: i64, product_id: i64, quantity: i64) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let sold = query("SELECT id FROM products WHERE id = $1 AND store_id = $2 AND active = 1")
                .bind(product_id)
                .bind(store_id)
                .fetch_optional(&mut *tx)
                .await?;
            if sold.is_none() {
                return Err(StoreError::NotFound);
            }
            let current: i64 = query("SELECT quantity FROM cart_items WHERE client_id = $1 AND product_id = $2")
                .bind(acting.client_id)
                .bind(product_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0))
                .transpose()?
                .unwrap_or(0);
            let new = current.checked_add(quantity).filter(|q| *q <= MAX_QUANTITY).ok_or_else(|| {
                StoreError::Conflict(Conflict::CartLineFull { current })
            })?;
            query(
                "INSERT INTO cart_items (client_id, store_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (client_id, product_id) DO UPDATE SET quantity = $4",
            )
            .bind(acting.client_id)
            .bind(store_id)
            .bind(product_id)
            .bind(new)
            .bind(crate::domain::now())
            .execute(&mut *tx)
            .await?;
            let entry = cart_entry(acting, "Added to cart", product_id);
            Ok((tx, (), entry.with_detail(format!("quantity +{quantity} (now {new})"))))
        })
        .await
    }

    /// Sets the quantity of a line of the acting client's cart in this store; 0 removes it.
    pub async fn set_cart_quantity(
        &self,
        acting: &Acting,
        store_id: i64,
        product_id: i64,
        quantity: i64,
    ) -> StoreResult<()> {
        if quantity == 0 {
            return self.remove_from_cart(acting, store_id, product_id).await;
        }
        self.change(
            query("UPDATE cart_items SET quantity = $1 WHERE client_id = $2 AND store_id = $3 AND product_id = $4")
                .bind(quantity)
                .bind(acting.client_id)
                .bind(store_id)
                .bind(product_id),
            cart_entry(acting, "Changed a cart quantity", product_id).with_detail(format!("quantity {quantity}")),
        )
        .await
    }

    /// Removes a line from the acting client's cart in this store.
    pub async fn remove_from_cart(&self, acting: &Acting, store_id: i64, product_id: i64) -> StoreResult<()> {
        self.change(
            query("DELETE FROM cart_items WHERE client_id = $1 AND store_id = $2 AND product_id = $3")
                .bind(acting.client_id)
                .bind(store_id)
                .bind(product_id),
            cart_entry(acting, "Removed from cart", product_id),
        )
        .await
    }

    /// Places an order from the acting client's cart in `store`: the order and its lines, an
    /// unpaid invoice with the same lines, the emptied cart and the activity entry commit together.
    /// A key already used by this client returns its order instead (`Checkout::Existing`), also
    /// when two submits race: the unique index `orders_idempotency` decides, not a prior read.
    /// `Conflict` carries a message for an empty cart, a product no longer sold or an overflowing total.
    pub async fn checkout(&self, acting: &Acting, store: &StoreInfo, key: &str) -> StoreResult<Checkout> {
        let now = crate::domain::now();
        let mut tx = self.begin().await?;
        if let Some(id) = id_by_key(&mut *tx, "orders", acting.client_id, key).await? {
            return Ok(Checkout::Existing(id));
        }
        // Deleting first locks the cart rows, so a concurrent checkout cannot order them twice.
        let items: Vec<(i64, i64)> =
            query("DELETE FROM cart_items WHERE client_id = $1 AND store_id = $2 RETURNING product_id, quantity")
                .bind(acting.client_id)
                .bind(store.id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
        if items.is_empty() {
            // The same form may have just been placed by a racing submit that emptied the cart.
            if let Some(id) = id_by_key(&mut *tx, "orders", acting.client_id, key).await? {
                return Ok(Checkout::Existing(id));
            }
            return Err(StoreError::Conflict(Conflict::CartEmpty));
        }
        let mut lines = Vec::with_capacity(items.len());
        for (product_id, quantity) in items {
            let p: Product = query_as(format!("{PRODUCT_COLS} WHERE id = $1 AND store_id = $2 AND active = 1"))
                .bind(product_id)
                .bind(store.id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::Conflict(Conflict::ProductGone))?;
            let amount =
                money::line_amount(p.price_cents, quantity).map_err(|e| StoreError::Conflict(Conflict::Money(e)))?;
            lines.push((p, quantity, amount));
        }
        let total = money::total(lines.iter().map(|l| l.2)).map_err(|e| StoreError::Conflict(Conflict::Money(e)))?;
        let notes = shop::order_notes(&acting.actor);
        let inserted = query(
            "INSERT INTO orders (client_id, number, status, total_cents, created_at, store_id, currency, client_note,
                                 internal_note, actor_staff_id, impersonation_id, idempotency_key)
             VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(acting.client_id)
        .bind(format!("TMP-{}", crate::domain::token::new_token()))
        .bind(total)
        .bind(now)
        .bind(store.id)
        .bind(&store.currency)
        .bind(&notes.client)
        .bind(&notes.internal)
        .bind(acting.staff_id())
        .bind(acting.impersonation_id())
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            // A racing submit with the same key committed first; this one changes nothing.
            tx.rollback().await?;
            let id = id_by_key(self.db.writer(), "orders", acting.client_id, key).await?;
            return id.map(Checkout::Existing).ok_or(StoreError::NotFound);
        };
        let order_id: i64 = row.get(0)?;
        let invoice_id: i64 = query(
            "INSERT INTO invoices (client_id, number, status, currency, total_cents, issued_at, due_at, store_id)
             VALUES ($1, $2, 'unpaid', $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(acting.client_id)
        .bind(format!("TMP-{}", crate::domain::token::new_token()))
        .bind(&store.currency)
        .bind(total)
        .bind(now)
        .bind(shop::invoice_due_at(now))
        .bind(store.id)
        .fetch_scalar(&mut *tx)
        .await?;
        query("UPDATE invoices SET number = $1 WHERE id = $2")
            .bind(shop::invoice_number(invoice_id, now))
            .bind(invoice_id)
            .execute(&mut *tx)
            .await?;
        query("UPDATE orders SET number = $1, invoice_id = $2 WHERE id = $3")
            .bind(shop::order_number(order_id, now))
            .bind(invoice_id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        for (p, quantity, amount) in &lines {
            let description = shop::line_description(&p.name, &p.billing_interval);
            query(
                "INSERT INTO order_lines (order_id, product_id, description, quantity, unit_cents, amount_cents)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(order_id)
            .bind(p.id)
            .bind(&description)
            .bind(quantity)
            .bind(p.price_cents)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
            query(
                "INSERT INTO invoice_lines (invoice_id, description, quantity, unit_cents, amount_cents) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(invoice_id)
            .bind(&description)
            .bind(quantity)
            .bind(p.price_cents)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        }
        append(
            &mut tx,
            NewActivity::from_acting(acting, ActivityGroup::Shop, "Placed an order", format!("order #{order_id}"))
                .with_detail(format!(
                    "{} line(s), {}",
                    lines.len(),
                    crate::domain::format_money(total, &store.currency)
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(Checkout::Placed(order_id))
    }

    /// One order with its lines; `client_id` scopes it (None for staff, who may see any).
    pub async fn order_detail(&self, id: i64, client_id: Option<i64>) -> StoreResult<(OrderDetail, Vec<OrderLine>)> {
        let o: OrderDetail = query_as(
            "SELECT o.id, o.client_id, c.name AS client_name, o.number, o.status, o.currency, o.total_cents, o.created_at,
                    o.invoice_id, o.client_note, o.internal_note, s.name AS actor_staff_name, o.impersonation_id,
                    st.name AS store_name
             FROM orders o JOIN clients c ON c.id = o.client_id LEFT JOIN staff s ON s.id = o.actor_staff_id
             LEFT JOIN stores st ON st.id = o.store_id
             WHERE o.id = $1 AND ($2 IS NULL OR o.client_id = $2)",
        )
        .bind(id)
        .bind(client_id)
        .fetch_optional(&self.db)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((o, self.document_lines(super::portal::LinesOf::Order, id).await?))
    }
}

/// An entry about one product's line in the acting client's cart.
fn cart_entry(acting: &Acting, action: &'static str, product_id: i64) -> NewActivity {
    NewActivity::from_acting(acting, ActivityGroup::Shop, action, format!("product #{product_id}"))
}

/// Demo data: for a client with the full set, a cart with two items of `store_id`; for Jane
/// (`with_card`) also a saved test card.
pub(crate) async fn seed_demo_shop(
    tx: &mut Tx,
    client_id: i64,
    store_id: i64,
    full_set: bool,
    with_card: bool,
) -> StoreResult<()> {
    if !full_set {
        return Ok(());
    }
    query(
        "INSERT INTO cart_items (client_id, store_id, product_id, quantity, added_at)
         SELECT $1, store_id, id, 1, $3 FROM products WHERE store_id = $2 AND sku IN ('HOST-M', 'DOM-COM')",
    )
    .bind(client_id)
    .bind(store_id)
    .bind(crate::domain::now())
    .execute(&mut **tx)
    .await?;
    if with_card {
        super::billing::seed_demo_card(tx, client_id).await?;
    }
    Ok(())
}
