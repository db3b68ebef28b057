//! Stores (brands or storefronts): their list with catalogues for staff, client membership and
//! the colours the portal is drawn in.

use super::activity::NewActivity;
use super::{Store, StoreError, StoreResult};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;

/// A store with its figures, for the admin stores page.
#[derive(Debug, Clone)]
pub struct StoreSummary {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub currency: String,
    pub products: i64,
    pub clients: i64,
}
from_row!(StoreSummary { id, name, color, currency, products, clients });

/// A catalogue entry as staff see it (inactive ones included).
#[derive(Debug, Clone)]
pub struct CatalogueEntry {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub billing_interval: String,
    pub active: bool,
}
from_row!(CatalogueEntry { id, sku, name, price_cents, billing_interval, active });

/// Whether a stored colour is a plain `#rrggbb`, the only form ever written into CSS.
pub fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
}

impl Store {
    /// Every store with its product and client counts.
    pub async fn store_summaries(&self) -> StoreResult<Vec<StoreSummary>> {
        Ok(query_as(
            "SELECT st.id, st.name, st.color, st.currency,
                    (SELECT COUNT(*) FROM products p WHERE p.store_id = st.id) AS products,
                    (SELECT COUNT(*) FROM client_stores cs WHERE cs.store_id = st.id) AS clients
             FROM stores st ORDER BY st.id",
        )
        .fetch_all(&self.db)
        .await?)
    }

    /// Every store, for choosing a client's stores.
    pub async fn all_stores(&self) -> StoreResult<Vec<super::people::StoreRow>> {
        Ok(query_as("SELECT id, name FROM stores ORDER BY id").fetch_all(&self.db).await?)
    }

    /// A store's whole catalogue for staff.
    pub async fn store_catalogue(&self, store_id: i64) -> StoreResult<Vec<CatalogueEntry>> {
        Ok(query_as(
            "SELECT id, sku, name, price_cents, billing_interval, active FROM products WHERE store_id = $1 ORDER BY id",
        )
        .bind(store_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// `(id, colour)` of every store whose colour is a valid `#rrggbb`.
    pub async fn store_colors(&self) -> StoreResult<Vec<(i64, String)>> {
        let rows: Vec<(i64, String)> = query_as("SELECT id, color FROM stores ORDER BY id").fetch_all(&self.db).await?;
        Ok(rows.into_iter().filter(|(_, c)| is_hex_color(c)).collect())
    }

    /// Sets the stores a client belongs to (at least one, each existing); records old and new.
    pub async fn set_client_stores(&self, client_id: i64, store_ids: &[i64], by: &StaffActing) -> StoreResult<()> {
        if store_ids.is_empty() {
            return Err(StoreError::Conflict(Conflict::ClientNeedsAStore));
        }
        self.record(|mut tx| async move {
            super::client_exists(&mut tx, client_id).await?;
            let mut names = Vec::new();
            for id in store_ids {
                let row = query("SELECT name FROM stores WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
                let Some(row) = row else {
                    return Err(StoreError::Conflict(Conflict::NoSuchStore(*id)));
                };
                names.push(row.get::<String>(0)?);
            }
            let old: Vec<(String,)> = query_as(
                "SELECT st.name FROM stores st JOIN client_stores cs ON cs.store_id = st.id WHERE cs.client_id = $1 ORDER BY st.id",
            )
            .bind(client_id)
            .fetch_all(&mut *tx)
            .await?;
            query("DELETE FROM client_stores WHERE client_id = $1").bind(client_id).execute(&mut *tx).await?;
            for id in store_ids {
                query("INSERT INTO client_stores (client_id, store_id) VALUES ($1, $2)")
                    .bind(client_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            // A client's own session browsing a store they no longer belong to falls back to their first.
            query(
                "UPDATE sessions SET store_id = NULL WHERE client_id = $1 AND store_id IS NOT NULL
                   AND store_id NOT IN (SELECT store_id FROM client_stores WHERE client_id = $1)",
            )
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
            let old = old.into_iter().map(|(n,)| n).collect::<Vec<_>>().join(", ");
            let target = format!("client #{client_id}");
            let entry =
                NewActivity::by_staff(by, Some(client_id), ActivityGroup::Account, "Changed the client's stores", target);
            Ok((tx, (), entry.with_detail(format!("stores: {old} -> {}", names.join(", ")))))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::is_hex_color;

    #[test]
    fn only_plain_hex_colours_reach_css() {
        assert!(is_hex_color("#2b5797"));
        assert!(!is_hex_color("red"));
        assert!(!is_hex_color("#2b5797;}body{display:none"));
        assert!(!is_hex_color("#12345"));
    }
}
